//! The client against `aci-emulator` over real HTTP on loopback: Entra ID
//! client credentials at the emulator's token endpoint, then create → poll →
//! Succeeded with an IP, delete, paging, every error kind, 429 with the
//! server's delay, token refresh, failed image pulls, a never-ending LRO.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aci_emulator::{
    CapacityFault, CapacityMode, Emulator, EmulatorConfig, EmulatorHandle, ForcedThrottle, ImageFault,
    ImageFaultMode, LatencyDist, ProvisioningLatency, ThrottleScope,
};
use azure_auth::{CachedTokenProvider, ClientSecretCredential, ManualClock, SecretSource, TokenProvider};
use common::arm::{Recorder, fast_config};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use spillway_aci::inventory::{HealthRules, Owned, inventory};
use spillway_aci::model::ContainerGroup;
use spillway_aci::translate::{GroupSpec, MapResolver, Network, translate};
use spillway_aci::{AciClient, AciError, DeleteOutcome, Operation};
use spillway_core::burst::BurstState;
use spillway_core::config::AciPriority;
use spillway_core::time::Timestamp;

const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
const RG: &str = "burst-rg";

fn emu_config() -> EmulatorConfig {
    EmulatorConfig {
        latency: ProvisioningLatency {
            pending: LatencyDist::uniform_ms(20, 60),
            creating: LatencyDist::uniform_ms(20, 60),
            deleting: LatencyDist::uniform_ms(10, 30),
        },
        ..EmulatorConfig::default()
    }
}

struct Env {
    emu: EmulatorHandle,
    client: AciClient,
    tokens: Arc<CachedTokenProvider<ClientSecretCredential>>,
    rec: Arc<Recorder>,
    clock: Arc<ManualClock>,
}

async fn start(cfg: EmulatorConfig) -> Env {
    start_with(cfg, |_| {}).await
}

async fn start_with(cfg: EmulatorConfig, tweak: impl FnOnce(&mut spillway_aci::AciConfig)) -> Env {
    let emu = Emulator::start(cfg).await.expect("emulator starts");
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    // The real client-credentials flow against the emulator's token endpoint (plain HTTP).
    let cred = ClientSecretCredential::new(
        "tenant-1",
        "spillway-test",
        SecretSource::Value("any-secret".into()),
    )
    .with_authority(emu.base_url());
    let tokens = Arc::new(CachedTokenProvider::new(cred).with_clock(clock.clone()));
    let mut acfg = fast_config(emu.base_url());
    acfg.subscription_id = SUB.into();
    acfg.resource_group = RG.into();
    tweak(&mut acfg);
    let rec = Arc::new(Recorder::default());
    let client = AciClient::with_observer(acfg, tokens.clone(), rec.clone()).unwrap();
    Env {
        emu,
        client,
        tokens,
        rec,
        clock,
    }
}

fn template(image: &str) -> PodTemplateSpec {
    serde_json::from_value(serde_json::json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": image,
            "ports": [{"containerPort": 8080}],
            "env": [{"name": "MODE", "value": "burst"}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}
    }))
    .unwrap()
}

fn body(ordinal: u32, image: &str) -> (String, ContainerGroup) {
    let spec = GroupSpec {
        cluster_id: "c1".into(),
        policy: "web".into(),
        ordinal,
        template_hash: "h1".into(),
        namespace: "shop".into(),
        location: "westeurope".into(),
        network: Network::Public { dns_name_label: None },
        priority: AciPriority::Regular,
        limits: None,
        zone: None,
        cluster_dns: None,
    };
    let t = translate(&template(image), &spec, &MapResolver::default()).unwrap();
    (t.name, t.body)
}

#[tokio::test]
async fn create_poll_succeeded_with_ip_then_delete() {
    let env = start(emu_config()).await;
    let (name, b) = body(0, "nginx:1.27");
    let g = env.client.create_or_update(&name, &b).await.unwrap();
    assert_eq!(g.properties.provisioning_state.as_deref(), Some("Succeeded"));
    let ip = g.ip().expect("an IP once Succeeded");
    assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
    // The LRO was followed through the operation URL, then the resource.
    let ops: Vec<Operation> = env.rec.summary().into_iter().map(|(o, _)| o).collect();
    assert_eq!(ops.first(), Some(&Operation::CreateOrUpdate));
    assert!(ops.contains(&Operation::PollOperation), "{ops:?}");
    assert_eq!(ops.last(), Some(&Operation::Get));
    // A GET with instance view maps to a Ready replica of ours.
    let got = env.client.get(&name).await.unwrap().unwrap();
    match &inventory(&[got], "c1", HealthRules::default(), Timestamp(0))[..] {
        [Owned::Replica { policy, replica }] => {
            assert_eq!(
                (policy.as_str(), replica.ordinal, replica.state),
                ("web", 0, BurstState::Ready)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.client.delete(&name).await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(env.client.get(&name).await.unwrap(), None);
    assert_eq!(
        env.client.delete(&name).await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    let state = env.emu.state();
    let rec = state.groups.iter().find(|g| g.name == name).unwrap();
    assert!(rec.deleted_at.is_some());
    // Every write carried our User-Agent and a client request id.
    assert!(!state.writes.is_empty());
    for w in &state.writes {
        assert!(
            w.user_agent
                .as_deref()
                .is_some_and(|u| u.starts_with("spillway-aci/")),
            "{w:?}"
        );
        assert!(
            w.client_request_id.as_deref().is_some_and(|id| id.len() == 36),
            "{w:?}"
        );
    }
}

#[tokio::test]
async fn list_across_pages_and_only_our_groups() {
    let env = start(EmulatorConfig {
        page_size: 3,
        latency: ProvisioningLatency::instant(),
        ..emu_config()
    })
    .await;
    for i in 0..7 {
        let (name, b) = body(i, "nginx:1.27");
        env.client.begin_create_or_update(&name, &b).await.unwrap();
    }
    // Someone else's group in the same resource group: listed, never ours.
    let (_, mut foreign) = body(99, "nginx:1.27");
    foreign
        .tags
        .insert("spillway.io/cluster".into(), "other-cluster".into());
    env.client
        .begin_create_or_update("someone-else", &foreign)
        .await
        .unwrap();
    let groups = env.client.list().await.unwrap();
    assert_eq!(groups.len(), 8);
    let pages = env
        .rec
        .summary()
        .iter()
        .filter(|(o, _)| *o == Operation::List)
        .count();
    assert_eq!(pages, 3, "8 groups at 3 per page");
    let ours = inventory(&groups, "c1", HealthRules::default(), Timestamp(0));
    assert_eq!(ours.len(), 7);
    let mut ordinals: Vec<u32> = ours
        .iter()
        .map(|o| match o {
            Owned::Replica { replica, .. } => replica.ordinal,
            other => panic!("{other:?}"),
        })
        .collect();
    ordinals.sort();
    assert_eq!(ordinals, (0..7).collect::<Vec<_>>());
}

#[tokio::test]
async fn each_error_kind_is_mapped() {
    let env = start(emu_config()).await;
    // Quota: one group allowed in the region.
    env.emu.update_limits(|l| l.quota.container_groups = 1);
    let (n0, b0) = body(0, "nginx:1.27");
    env.client.begin_create_or_update(&n0, &b0).await.unwrap();
    let (n1, b1) = body(1, "nginx:1.27");
    let e = env.client.begin_create_or_update(&n1, &b1).await.unwrap_err();
    assert!(matches!(e, AciError::QuotaReached { .. }), "{e:?}");
    assert!(e.makes_location_unavailable());
    env.emu.update_limits(|l| l.quota.container_groups = 100);

    // Capacity, answered at once (409 ServiceUnavailable) and through the operation.
    env.emu.update_faults(|f| {
        f.capacity = vec![CapacityFault {
            region: "westeurope".into(),
            mode: CapacityMode::Sync,
        }]
    });
    let (n2, b2) = body(2, "nginx:1.27");
    let e = env.client.create_or_update(&n2, &b2).await.unwrap_err();
    assert!(matches!(e, AciError::CapacityUnavailable { .. }), "{e:?}");
    env.emu
        .update_faults(|f| f.capacity[0].mode = CapacityMode::Async);
    let e = env.client.create_or_update(&n2, &b2).await.unwrap_err();
    assert!(matches!(e, AciError::CapacityUnavailable { .. }), "{e:?}");
    env.emu.update_faults(|f| f.capacity.clear());

    // Image refused at once.
    env.emu.update_faults(|f| {
        f.failing_images = vec![ImageFault {
            pattern: "private.example/secret:*".into(),
            mode: ImageFaultMode::Inaccessible,
        }]
    });
    let (n3, b3) = body(3, "private.example/secret:1");
    let e = env.client.create_or_update(&n3, &b3).await.unwrap_err();
    assert!(matches!(e, AciError::ImageInaccessible { .. }), "{e:?}");

    // Invalid request: a body the service rejects (no osType).
    let (n4, mut b4) = body(4, "nginx:1.27");
    b4.properties.os_type = None;
    let e = env.client.begin_create_or_update(&n4, &b4).await.unwrap_err();
    assert!(
        matches!(&e, AciError::InvalidRequest { status: 400, code, .. } if !code.is_empty()),
        "{e:?}"
    );

    // Conflict: the name exists in another region.
    let mut moved = b0.clone();
    moved.location = Some("northeurope".into());
    let e = env.client.begin_create_or_update(&n0, &moved).await.unwrap_err();
    assert!(matches!(e, AciError::Conflict { .. }), "{e:?}");

    // Not found.
    assert_eq!(env.client.get("never-created").await.unwrap(), None);
    assert_eq!(
        env.client.delete("never-created").await.unwrap(),
        DeleteOutcome::AlreadyGone
    );

    // Transient: every call fails with 5xx; retried, then typed.
    env.emu.update_faults(|f| f.error_5xx_rate = 1.0);
    let t0 = Instant::now();
    let e = env.client.list().await.unwrap_err();
    assert!(matches!(e, AciError::Transient { .. }), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    env.emu.update_faults(|f| f.error_5xx_rate = 0.0);

    // Auth: a revoked token is refused (401), refreshed once, and the call succeeds.
    env.emu.revoke_tokens();
    env.client.list().await.unwrap();
    let auth_fails = env.rec.summary().iter().filter(|(_, s)| *s == Some(401)).count();
    assert_eq!(auth_fails, 1);
}

#[tokio::test]
async fn throttling_with_the_servers_retry_after() {
    let env = start(emu_config()).await;
    env.emu.update_faults(|f| {
        f.force_throttle = Some(ForcedThrottle {
            count: 1,
            retry_after_secs: 1,
            scope: ThrottleScope::Writes,
        })
    });
    let (name, b) = body(0, "nginx:1.27");
    let t0 = Instant::now();
    env.client.begin_create_or_update(&name, &b).await.unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "did not wait Retry-After: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    let statuses: Vec<Option<u16>> = env.rec.summary().into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, [Some(429), Some(201)]);
    // An endless Retry-After is reported, not waited for.
    env.emu.update_faults(|f| {
        f.force_throttle = Some(ForcedThrottle {
            count: 100,
            retry_after_secs: 3600,
            scope: ThrottleScope::All,
        })
    });
    let t0 = Instant::now();
    let e = env.client.get(&name).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(e, AciError::Throttled { retry_after: Some(d), local: false, .. } if d == Duration::from_secs(3600)),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_token_is_refreshed_before_it_expires() {
    let env = start(emu_config()).await;
    env.client.list().await.unwrap();
    let first = env.tokens.token(azure_auth::ARM_SCOPE).await.unwrap();
    // Half the lifetime (3599 s) later: a new token, while the old one is still valid.
    env.clock.advance(Duration::from_secs(1800));
    assert!(SystemTime::now() + Duration::from_secs(1800) < first.expires_at + Duration::from_secs(60));
    env.client.list().await.unwrap();
    let second = env.tokens.token(azure_auth::ARM_SCOPE).await.unwrap();
    assert_ne!(first.secret(), second.secret(), "refreshed ahead of expiry");
    assert!(second.expires_at > first.expires_at);
    let issued: u64 = env.emu.state().tokens_issued.values().sum();
    assert_eq!(issued, 2, "one fetch at start, one refresh; none per request");
}

#[tokio::test]
async fn a_failed_image_pull_surfaces_as_its_kind() {
    let env = start(emu_config()).await;
    env.emu.update_faults(|f| {
        f.failing_images = vec![ImageFault {
            pattern: "registry.example/missing:*".into(),
            mode: ImageFaultMode::PullFails,
        }]
    });
    let (name, b) = body(0, "registry.example/missing:v1");
    let e = env.client.create_or_update(&name, &b).await.unwrap_err();
    assert!(matches!(e, AciError::ImageInaccessible { .. }), "{e:?}");
    // The group is left as ARM keeps it (Failed); the inventory marks it Failed for replacement.
    let g = env
        .client
        .get(&name)
        .await
        .unwrap()
        .expect("a failed group stays until deleted");
    match &inventory(&[g], "c1", HealthRules::default(), Timestamp(0))[..] {
        [Owned::Replica { replica, .. }] => assert_eq!(replica.state, BurstState::Failed),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_never_finishing_operation_hits_the_deadline_and_is_reported() {
    let env = start_with(emu_config(), |c| c.lro.deadline = Duration::from_millis(800)).await;
    env.emu.update_faults(|f| f.lro_never_finish = true);
    let (name, b) = body(0, "nginx:1.27");
    let t0 = Instant::now();
    let e = env.client.create_or_update(&name, &b).await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    match &e {
        AciError::DeadlineExceeded { resource, .. } => assert_eq!(resource, &name),
        other => panic!("{other:?}"),
    }
    // Not half-created silently: the group exists, the error names it, and
    // the inventory shows it as still provisioning (ours to adopt or delete).
    let listed = env.client.list().await.unwrap();
    match &inventory(&listed, "c1", HealthRules::default(), Timestamp(0))[..] {
        [Owned::Replica { replica, .. }] => {
            assert_eq!(replica.name, name);
            assert_eq!(replica.state, BurstState::Provisioning);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn workload_identity_against_the_emulator_token_endpoint() {
    let emu = Emulator::start(emu_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "eyJhbGciOiJSUzI1NiJ9.projected.sa-token").unwrap();
    let file_s = file.display().to_string();
    let base = emu.base_url().to_string();
    let env = |k: &str| match k {
        "AZURE_CLIENT_ID" => Some("wi-client".to_string()),
        "AZURE_TENANT_ID" => Some("wi-tenant".to_string()),
        "AZURE_FEDERATED_TOKEN_FILE" => Some(file_s.clone()),
        "AZURE_AUTHORITY_HOST" => Some(format!("{base}/")),
        _ => None,
    };
    let cred = azure_auth::WorkloadIdentityCredential::from_lookup(env).unwrap();
    let mut cfg = fast_config(emu.base_url());
    cfg.subscription_id = SUB.into();
    let client = AciClient::new(cfg, Arc::new(CachedTokenProvider::new(cred))).unwrap();
    assert!(client.list().await.unwrap().is_empty());
    let issued = emu.state().tokens_issued;
    assert_eq!(issued.values().sum::<u64>(), 1, "{issued:?}");
}

/// Issue 17: a group for a VNet policy with `burst.dns` and a zone is
/// accepted by the emulator (which validates `zones` and `dnsConfig` per the
/// spec), keeps its zone, and maps back to a replica in that zone.
#[tokio::test]
async fn a_vnet_group_carries_its_zone_and_the_cluster_dns() {
    let env = start(emu_config()).await;
    let spec = GroupSpec {
        cluster_id: "c1".into(),
        policy: "web".into(),
        ordinal: 3,
        template_hash: "h1".into(),
        namespace: "shop".into(),
        location: "westeurope".into(),
        network: Network::Private {
            subnet_id: format!(
                "/subscriptions/{SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"
            ),
        },
        priority: AciPriority::Regular,
        limits: None,
        zone: Some("2".into()),
        cluster_dns: Some(spillway_core::config::ClusterDns {
            name_server: "10.0.0.10".into(),
            cluster_domain: "cluster.local".into(),
        }),
    };
    let t = translate(&template("nginx:1.27"), &spec, &MapResolver::default()).unwrap();
    let sent = serde_json::to_value(&t.body).unwrap();
    assert_eq!(
        sent["properties"]["dnsConfig"],
        serde_json::json!({"nameServers": ["10.0.0.10"],
            "searchDomains": "shop.svc.cluster.local svc.cluster.local cluster.local", "options": "ndots:5"})
    );
    env.client.create_or_update(&t.name, &t.body).await.unwrap();
    let got = env.client.get(&t.name).await.unwrap().unwrap();
    assert_eq!(got.zones, ["2"]);
    match &inventory(&[got], "c1", HealthRules::default(), Timestamp(0))[..] {
        [Owned::Replica { replica, .. }] => assert_eq!(replica.zone.as_deref(), Some("2")),
        other => panic!("{other:?}"),
    }
    // The emulator refuses a dnsConfig without nameServers, as the spec requires.
    let mut bad = sent.clone();
    bad["properties"]["dnsConfig"] = serde_json::json!({"searchDomains": "cluster.local"});
    let bad: ContainerGroup = serde_json::from_value(bad).unwrap();
    match env.client.create_or_update("c1-web-4", &bad).await {
        Err(AciError::InvalidRequest { code, .. }) => assert_eq!(code, "InvalidRequestContent"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn zones_of_reads_the_emulators_provider() {
    let env = start(EmulatorConfig {
        locations: vec!["westeurope".into(), "westcentralus".into()],
        region_zones: [("westcentralus".to_owned(), Vec::new())].into_iter().collect(),
        ..emu_config()
    })
    .await;
    assert_eq!(env.client.zones_of("westeurope").await.unwrap(), ["1", "2", "3"]);
    assert!(env.client.zones_of("westcentralus").await.unwrap().is_empty());
    assert!(matches!(
        env.client.zones_of("northeurope").await.unwrap_err(),
        AciError::NotFound { .. }
    ));
    assert!(
        env.rec
            .summary()
            .iter()
            .all(|(op, _)| *op == Operation::ProviderRead)
    );
}
