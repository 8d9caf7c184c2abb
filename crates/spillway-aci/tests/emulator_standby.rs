//! The standby pool flow end to end against `aci-emulator` over loopback
//! HTTP (issue 16): the backend creates the profile and the pool, reads the
//! runtime view as the pool fills, claims from it (a hit, served in about a
//! second), moves the pool to a new profile revision on a template change,
//! and the sweep deletes the pool, then its profile, once no policy wants it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aci_emulator::{Emulator, EmulatorConfig, LatencyDist, ProvisioningLatency, StandbyConfig};
use azure_auth::{CachedTokenProvider, ClientSecretCredential, ManualClock, SecretSource};
use common::arm::fast_config;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use spillway_aci::AciClient;
use spillway_aci::backend::AciBackend;
use spillway_controller::{BurstBackend, CreateRequest, PoolKeep, PoolSync, StandbyClaim, TemplateRefs};
use spillway_core::config::{AciPriority, SizeFrom, StandbyPool};

const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
const RG: &str = "burst-rg";

fn template(image: &str) -> PodTemplateSpec {
    serde_json::from_value(serde_json::json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": image,
            "ports": [{"containerPort": 8080}],
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}
    }))
    .unwrap()
}

fn sync<'a>(
    pool: &'a StandbyPool,
    t: &'a PodTemplateSpec,
    refs: &'a TemplateRefs,
    hash: &'a str,
) -> PoolSync<'a, PodTemplateSpec> {
    PoolSync {
        cluster_id: "c1",
        policy: "web",
        namespace: "shop",
        pool,
        desired: 2,
        template: t,
        template_hash: hash,
        refs,
        location: "westeurope",
        subnet_id: None,
        priority: AciPriority::Regular,
        write: true,
    }
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn pool_lifecycle_against_the_emulator() {
    let cfg = EmulatorConfig {
        latency: ProvisioningLatency {
            pending: LatencyDist::uniform_ms(20, 60),
            creating: LatencyDist::uniform_ms(20, 60),
            deleting: LatencyDist::uniform_ms(10, 30),
        },
        standby: StandbyConfig {
            refill_delay: Duration::from_millis(300),
            claim_latency: Duration::from_millis(50),
            drain_delay: Duration::from_millis(50),
            operation_latency: Duration::from_millis(50),
        },
        ..EmulatorConfig::default()
    };
    let emu = Emulator::start(cfg).await.expect("emulator starts");
    let cred = ClientSecretCredential::new("tenant-1", "spillway-test", SecretSource::Value("s".into()))
        .with_authority(emu.base_url());
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let tokens = Arc::new(CachedTokenProvider::new(cred).with_clock(clock));
    let mut acfg = fast_config(emu.base_url());
    acfg.subscription_id = SUB.into();
    acfg.resource_group = RG.into();
    let backend = AciBackend::new(AciClient::new(acfg.clone(), tokens.clone()).unwrap());
    let client = AciClient::new(acfg, tokens).unwrap();

    let pool = StandbyPool {
        name: "c1-web".into(),
        max_ready_capacity: 2,
        size_from: SizeFrom::Fixed,
        floor: Vec::new(),
    };
    let (t1, refs) = (template("nginx:1.27"), TemplateRefs::default());
    let first = backend.sync_pool(sync(&pool, &t1, &refs, "h1")).await.unwrap();
    assert_eq!(first.wrote, ["profile", "pool_create"], "{first:?}");
    until("the pool to fill", || async {
        let seen = backend.sync_pool(sync(&pool, &t1, &refs, "h1")).await.unwrap();
        seen.in_step && seen.ready == 2 && seen.wrote.is_empty()
    })
    .await;
    let revision = client
        .get_pool("c1-web")
        .await
        .unwrap()
        .expect("pool")
        .profile()
        .revision;

    // A create that claims from the pool is served from it.
    let group = spillway_core::plan::CreateGroup {
        name: "c1-web-0".into(),
        ordinal: 0,
        location: "westeurope".into(),
        zone: None,
        template_hash: "h1".into(),
        requests: spillway_core::aci::GroupRequests {
            cpu_centi: 50,
            memory_deci_gb: 10,
        },
    };
    backend
        .create(CreateRequest {
            cluster_id: "c1",
            policy: "web",
            namespace: "shop",
            group: &group,
            template: &t1,
            refs: &refs,
            subnet_id: None,
            priority: AciPriority::Regular,
            dns: None,
            standby: Some(StandbyClaim {
                pool: "c1-web",
                revision,
            }),
        })
        .await
        .unwrap();
    until("the claimed group to be served from the pool", || async {
        client
            .get("c1-web-0")
            .await
            .unwrap()
            .is_some_and(|g| g.properties.is_created_from_standby_pool == Some(true))
    })
    .await;
    let seen = backend.sync_pool(sync(&pool, &t1, &refs, "h1")).await.unwrap();
    assert_eq!((seen.claims_hit, seen.claims_miss), (1, 0), "{seen:?}");

    // A template change: a new profile revision, and the pool moved to it.
    let t2 = template("nginx:1.28");
    let changed = backend.sync_pool(sync(&pool, &t2, &refs, "h2")).await.unwrap();
    assert_eq!(changed.wrote, ["profile", "pool_update"], "{changed:?}");
    let moved = client.get_pool("c1-web").await.unwrap().expect("pool");
    assert!(moved.profile().revision > revision, "{moved:?}");

    // The policy is gone: the pool goes, then (next pass) its profile.
    until("the pool and then its profile to be deleted", || async {
        backend.sweep_pools("c1", &PoolKeep::new()).await.unwrap();
        client.get_pool("c1-web").await.unwrap().is_none()
            && client.get_profile("c1-web").await.unwrap().is_none()
    })
    .await;
}
