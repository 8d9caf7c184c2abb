//! Container group profiles and standby pools against wiremock (issue 16):
//! the request shapes validate against both saved specs, the spec's example
//! responses parse, and the backend's sync writes only what differs (a new
//! profile revision is followed by a PATCH of the pool to it). The examples
//! are read from `../shared/aci-spec` at test time: skipped when absent,
//! except under `CI=true`, where their absence fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::arm::*;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::{Value, json};
use spillway_aci::DeleteOutcome;
use spillway_aci::backend::AciBackend;
use spillway_controller::{BurstBackend, PoolKeep, PoolSync, TemplateRefs};
use spillway_core::config::{AciPriority, SizeFrom, StandbyPool};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TYPES_URI: &str = "https://specs.invalid/specification/common-types/resource-management/v5/types.json";
const POOL_SPEC_URI: &str = "https://specs.invalid/specification/standbypool/resource-manager/Microsoft.StandbyPool/StandbyPool/stable/2026-04-01/standbypool.json";

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/aci-spec");
    if dir.join("standbypool/standbypool.json").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/aci-spec/standbypool is missing under CI=true"
    );
    eprintln!("SKIPPED: ../shared/aci-spec/standbypool is missing");
    None
}

fn example(dir: &std::path::Path, rel: &str) -> Value {
    common::read_json(&dir.join(rel))
}

/// Errors of `instance` against a definition of the StandbyPool spec.
fn pool_spec_errors(dir: &std::path::Path, definition: &str, instance: &Value) -> Vec<String> {
    let spec = common::read_json(&dir.join("standbypool/standbypool.json"));
    let types = common::read_json(&dir.join("common-types/resource-management/v5/types.json"));
    let registry = jsonschema::Registry::new()
        .draft(jsonschema::Draft::Draft4)
        .add(POOL_SPEC_URI, spec)
        .unwrap()
        .add(TYPES_URI, types)
        .unwrap()
        .prepare()
        .unwrap();
    let schema = json!({"$ref": format!("{POOL_SPEC_URI}#/definitions/{definition}")});
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_registry(&registry)
        .offline()
        .build(&schema)
        .unwrap();
    v.iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn pool_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.StandbyPool/standbyContainerGroupPools/{name}"
    )
}

fn profile_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroupProfiles/{name}"
    )
}

fn template() -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
            "ports": [{"containerPort": 80}],
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}
    }))
    .unwrap()
}

fn pool(name: &str) -> StandbyPool {
    StandbyPool {
        name: name.into(),
        max_ready_capacity: 10,
        size_from: SizeFrom::Fixed,
        floor: Vec::new(),
    }
}

fn profile_json(name: &str, hash: &str, revision: i64) -> Value {
    json!({
        "id": profile_path(name), "name": name, "type": "Microsoft.ContainerInstance/containerGroupProfiles",
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "c1", "spillway.io/policy": "web", "spillway.io/template-hash": hash, "spillway.io/role": "standby"},
        "properties": {"revision": revision, "osType": "Linux",
            "containers": [{"name": "app", "properties": {"image": "nginx:1.27", "resources": {"requests": {"cpu": 0.5, "memoryInGB": 1.0}}}}]}
    })
}

fn pool_json(name: &str, capacity: i64, revision: i64) -> Value {
    json!({
        "id": pool_path(name), "name": name, "type": "Microsoft.StandbyPool/standbyContainerGroupPools",
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "c1", "spillway.io/policy": "web", "spillway.io/role": "standby"},
        "properties": {"provisioningState": "Succeeded",
            "elasticityProfile": {"maxReadyCapacity": capacity, "refillPolicy": "always"},
            "containerGroupProperties": {"containerGroupProfile": {"id": format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroupProfiles/{name}"), "revision": revision}}}
    })
}

fn sync_req<'a>(
    pool: &'a StandbyPool,
    t: &'a PodTemplateSpec,
    refs: &'a TemplateRefs,
    hash: &'a str,
    desired: u32,
) -> PoolSync<'a, PodTemplateSpec> {
    PoolSync {
        cluster_id: "c1",
        policy: "web",
        namespace: "shop",
        pool,
        desired,
        template: t,
        template_hash: hash,
        refs,
        location: "westeurope",
        subnet_id: None,
        priority: AciPriority::Regular,
        write: true,
    }
}

fn bodies(requests: &[Request], m: &str, p: &str) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn the_spec_examples_parse_and_the_runtime_view_counts() {
    let Some(dir) = shared() else { return };
    let server = MockServer::start().await;
    let get = example(&dir, "standbypool/examples/StandbyContainerGroupPools_Get.json");
    let view = example(
        &dir,
        "standbypool/examples/StandbyContainerGroupPoolRuntimeViews_Get.json",
    );
    Mock::given(method("GET"))
        .and(path(pool_path("pool")))
        .and(query_param("api-version", "2026-04-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&get["responses"]["200"]["body"]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/runtimeViews/latest", pool_path("pool"))))
        .and(query_param("api-version", "2026-04-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&view["responses"]["200"]["body"]))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(pool_path("pool")))
        .respond_with(
            ResponseTemplate::new(202).insert_header("Azure-AsyncOperation", format!("{}/op", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(pool_path("gone")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let p = c.get_pool("pool").await.unwrap().expect("pool");
    assert!(p.max_ready_capacity() > 0);
    assert!(p.profile().id.contains("/containerGroupProfiles/"));
    let counts = c.pool_runtime_view("pool").await.unwrap().expect("view").counts();
    // The example: Running 20 + 500 + 20, Creating 3 × 100, over three zones.
    assert_eq!((counts.running, counts.creating, counts.deleting), (540, 300, 48));
    assert_eq!(c.get_pool("absent").await.unwrap(), None);
    assert_eq!(
        c.begin_delete_pool("pool").await.unwrap(),
        DeleteOutcome::InProgress
    );
    assert_eq!(
        c.begin_delete_pool("gone").await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    assert!(
        c.get_pool("a_b").await.is_err(),
        "ARM's name rule is checked before sending"
    );
}

#[tokio::test]
async fn a_new_pool_gets_a_profile_then_a_pool_that_validate_against_the_specs() {
    let Some(dir) = shared() else { return };
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(profile_path("c1-web")))
        .and(query_param("api-version", "2026-05-01"))
        .respond_with(ResponseTemplate::new(201).set_body_json(profile_json("c1-web", "h1", 1)))
        .expect(1)
        .mount(&server)
        .await;
    let created = example(
        &dir,
        "standbypool/examples/StandbyContainerGroupPools_CreateOrUpdate.json",
    );
    Mock::given(method("PUT"))
        .and(path(pool_path("c1-web")))
        .and(query_param("api-version", "2026-04-01"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(pool_json("c1-web", 4, 1))
                .insert_header("Azure-AsyncOperation", format!("{}/op", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/runtimeViews/latest", pool_path("c1-web"))))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"properties": {"instanceCountSummary": [
            {"instanceCountsByState": [{"state": "Creating", "count": 4}]}]}})),
        )
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let backend = AciBackend::new(c);
    let (p, t, refs) = (pool("c1-web"), template(), TemplateRefs::default());
    let seen = backend.sync_pool(sync_req(&p, &t, &refs, "h1", 4)).await.unwrap();
    assert!(seen.exists && seen.in_step, "{seen:?}");
    assert_eq!(
        (seen.max_ready_capacity, seen.revision, seen.creating),
        (4, Some(1), 4)
    );
    assert_eq!(seen.wrote, ["profile", "pool_create"]);

    let requests = server.received_requests().await.unwrap();
    let pool_body = bodies(&requests, "PUT", &pool_path("c1-web")).remove(0);
    let e = pool_spec_errors(&dir, "StandbyContainerGroupPoolResource", &pool_body);
    assert!(e.is_empty(), "{e:#?}\n{pool_body:#}");
    // The same shape as the spec's own example request.
    let want = &created["parameters"]["resource"]["properties"];
    for key in ["elasticityProfile", "containerGroupProperties"] {
        assert!(
            want.get(key).is_some() && pool_body["properties"].get(key).is_some(),
            "{key}"
        );
    }
    assert_eq!(
        pool_body["properties"]["elasticityProfile"]["maxReadyCapacity"],
        4
    );
    assert_eq!(
        pool_body["properties"]["containerGroupProperties"]["containerGroupProfile"]["revision"],
        1
    );
    assert_eq!(pool_body["tags"]["spillway.io/role"], "standby");

    let profile_body = bodies(&requests, "PUT", &profile_path("c1-web")).remove(0);
    let spec = common::Spec::load().expect("ACI spec");
    spec.assert_valid_request("ContainerGroupProfile", &profile_body);
    assert_eq!(profile_body["tags"]["spillway.io/template-hash"], "h1");
    assert!(profile_body["properties"].get("subnetIds").is_none());
}

#[tokio::test]
async fn a_template_change_makes_a_new_revision_and_patches_the_pool_to_it() {
    let Some(dir) = shared() else { return };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(profile_path("c1-web")))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile_json("c1-web", "old", 1)))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(profile_path("c1-web")))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile_json("c1-web", "h2", 2)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(pool_path("c1-web")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool_json("c1-web", 3, 1)))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(pool_path("c1-web")))
        .and(query_param("api-version", "2026-04-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool_json("c1-web", 5, 2)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{}/runtimeViews/latest", pool_path("c1-web"))))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "NotFound", "message": "x"}})),
        )
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let backend = AciBackend::new(c);
    let (p, t, refs) = (pool("c1-web"), template(), TemplateRefs::default());
    let seen = backend.sync_pool(sync_req(&p, &t, &refs, "h2", 5)).await.unwrap();
    assert_eq!(seen.wrote, ["profile", "pool_update"]);
    assert!(seen.in_step);
    assert_eq!(seen.revision, Some(2));
    let requests = server.received_requests().await.unwrap();
    let patch = bodies(&requests, "PATCH", &pool_path("c1-web")).remove(0);
    let e = pool_spec_errors(&dir, "StandbyContainerGroupPoolResourceUpdate", &patch);
    assert!(e.is_empty(), "{e:#?}\n{patch:#}");
    assert_eq!(
        patch["properties"]["containerGroupProperties"]["containerGroupProfile"]["revision"],
        2
    );
    assert_eq!(patch["properties"]["elasticityProfile"]["maxReadyCapacity"], 5);

    // In step: a second sync only reads.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(profile_path("c1-web")))
        .respond_with(ResponseTemplate::new(200).set_body_json(profile_json("c1-web", "h2", 2)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(pool_path("c1-web")))
        .respond_with(ResponseTemplate::new(200).set_body_json(pool_json("c1-web", 5, 2)))
        .mount(&server)
        .await;
    let seen = backend.sync_pool(sync_req(&p, &t, &refs, "h2", 5)).await.unwrap();
    assert!(seen.wrote.is_empty() && seen.in_step, "{seen:?}");
    let writes = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .count();
    assert_eq!(writes, 0);
}

#[tokio::test]
async fn a_claim_names_the_profile_and_the_pool_and_counts_hits() {
    let Some(dir) = shared() else { return };
    let example = example(&dir, "examples/ContainerGroupCreateOrUpdateStandbyPool.json");
    let server = MockServer::start().await;
    let name = "c1-web-0";
    let mut answer = group_json(name, "Succeeded");
    answer["properties"]["isCreatedFromStandbyPool"] = json!(true);
    Mock::given(method("PUT"))
        .and(path(group_path(name)))
        .respond_with(ResponseTemplate::new(201).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    for p in [profile_path("c1-web"), pool_path("c1-web")] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(
                ResponseTemplate::new(404)
                    .set_body_json(json!({"error": {"code": "NotFound", "message": "x"}})),
            )
            .mount(&server)
            .await;
    }
    let (c, _, _) = client(fast_config(&server.uri()));
    let backend = AciBackend::new(c);
    let t = template();
    let refs = TemplateRefs::default();
    let group = spillway_core::plan::CreateGroup {
        name: name.into(),
        ordinal: 0,
        location: "westeurope".into(),
        zone: None,
        template_hash: "h".into(),
        requests: spillway_core::aci::GroupRequests {
            cpu_centi: 50,
            memory_deci_gb: 10,
        },
    };
    backend
        .create(spillway_controller::CreateRequest {
            cluster_id: "c1",
            policy: "web",
            namespace: "shop",
            group: &group,
            template: &t,
            refs: &refs,
            subnet_id: None,
            priority: AciPriority::Regular,
            dns: None,
            standby: Some(spillway_controller::StandbyClaim {
                pool: "c1-web",
                revision: Some(3),
            }),
        })
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let body = bodies(&requests, "PUT", &group_path(name)).remove(0);
    let props = &body["properties"];
    let want = &example["parameters"]["containerGroup"]["properties"];
    for key in ["containerGroupProfile", "standbyPoolProfile"] {
        assert!(want.get(key).is_some(), "the example has {key}");
    }
    assert_eq!(
        props["containerGroupProfile"]["id"],
        format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroupProfiles/c1-web"
        )
    );
    assert_eq!(props["containerGroupProfile"]["revision"], 3);
    assert_eq!(
        props["standbyPoolProfile"]["id"],
        format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.StandbyPool/standbyContainerGroupPools/c1-web"
        )
    );
    common::Spec::load()
        .expect("ACI spec")
        .assert_valid_request("ContainerGroup", &body);
    // The hit is reported with the next sync (the pool is gone here: nothing to write with write=false).
    let p = pool("c1-web");
    let seen = backend
        .sync_pool(PoolSync {
            write: false,
            ..sync_req(&p, &t, &refs, "h", 1)
        })
        .await
        .unwrap();
    assert_eq!((seen.claims_hit, seen.claims_miss), (1, 0));
}

#[tokio::test]
async fn the_sweep_deletes_pools_then_profiles_no_policy_wants() {
    let server = MockServer::start().await;
    let mut mine = pool_json("c1-gone", 2, 1);
    mine["tags"]["spillway.io/policy"] = json!("gone");
    let kept = pool_json("c1-web", 2, 1);
    let mut other = pool_json("c2-web", 2, 1);
    other["tags"]["spillway.io/cluster"] = json!("c2");
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.StandbyPool/standbyContainerGroupPools")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [mine, kept, other]})))
        .mount(&server)
        .await;
    let mut orphan_profile = profile_json("c1-old", "h", 1);
    orphan_profile["tags"]["spillway.io/policy"] = json!("web");
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroupProfiles")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [profile_json("c1-web", "h", 1), orphan_profile, {
            "name": "c1-gone", "tags": {"spillway.io/cluster": "c1", "spillway.io/policy": "gone", "spillway.io/role": "standby"},
            "properties": {"osType": "Linux", "containers": []}}]})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(pool_path("c1-gone")))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(profile_path("c1-old")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let backend = AciBackend::new(c);
    let keep = PoolKeep::from([("web".to_string(), Some("c1-web".to_string()))]);
    let deleted = backend.sweep_pools("c1", &keep).await.unwrap();
    // c1-gone's profile waits until its pool is gone (next pass).
    assert_eq!(deleted, ["pool/c1-gone", "profile/c1-old"]);
}
