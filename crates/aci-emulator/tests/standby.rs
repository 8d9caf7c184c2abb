//! Container group profiles and standby pools: revisions, pool lifecycle, runtime views, claims
//! (hit, miss fallback, fail on reuse failure), refill, drains on profile change.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use aci_emulator::{EmulatorConfig, StandbyConfig};
use common::*;
use serde_json::{Value, json};

const POOL_API: &str = "api-version=2026-04-01";
const REFILL: Duration = Duration::from_millis(400);

fn standby_config() -> EmulatorConfig {
    EmulatorConfig {
        standby: StandbyConfig {
            refill_delay: REFILL,
            claim_latency: Duration::from_millis(30),
            drain_delay: Duration::from_millis(200),
            operation_latency: Duration::from_millis(30),
        },
        ..fast_config()
    }
}

fn rg_prefix(env: &Env, provider: &str) -> String {
    format!(
        "{}/subscriptions/{SUB}/resourceGroups/rg/providers/{provider}",
        env.base()
    )
}

fn profile_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroupProfiles/{name}"
    )
}

fn pool_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.StandbyPool/standbyContainerGroupPools/{name}"
    )
}

fn profile_url(env: &Env, name: &str) -> String {
    format!(
        "{}/containerGroupProfiles/{name}?{API}",
        rg_prefix(env, "Microsoft.ContainerInstance")
    )
}

fn pool_url(env: &Env, name: &str) -> String {
    format!(
        "{}/standbyContainerGroupPools/{name}?{POOL_API}",
        rg_prefix(env, "Microsoft.StandbyPool")
    )
}

fn view_url(env: &Env, pool: &str, view: &str) -> String {
    format!(
        "{}/standbyContainerGroupPools/{pool}/runtimeViews/{view}?{POOL_API}",
        rg_prefix(env, "Microsoft.StandbyPool")
    )
}

fn profile_body(image: &str) -> Value {
    json!({"location": "westeurope", "properties": {"osType": "Linux", "containers": [{"name": "app",
        "properties": {"image": image, "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}})
}

fn pool_body(profile: &str, revision: Option<u32>, max_ready: u64) -> Value {
    let mut reference = json!({"id": profile_id(profile)});
    if let Some(r) = revision {
        reference["revision"] = json!(r);
    }
    json!({"location": "westeurope", "tags": {}, "properties": {
        "elasticityProfile": {"maxReadyCapacity": max_ready, "refillPolicy": "always"},
        "containerGroupProperties": {"containerGroupProfile": reference}}})
}

fn claim_body(profile: &str, revision: u32, pool: &str, fail: bool) -> Value {
    json!({"location": "westeurope", "properties": {
        "containerGroupProfile": {"id": profile_id(profile), "revision": revision},
        "containers": [{"name": "app", "properties": {"configMap": {"keyValuePairs": {"k": "v"}}}}],
        "standbyPoolProfile": {"id": pool_id(pool), "failContainerGroupCreateOnReuseFailure": fail}}})
}

async fn send(env: &Env, method: reqwest::Method, url: &str, body: Option<&Value>) -> reqwest::Response {
    let mut r = env.http.request(method, url).bearer_auth(&env.token);
    if let Some(b) = body {
        r = r.json(b);
    }
    r.send().await.unwrap()
}

async fn put_json(env: &Env, url: &str, body: &Value) -> (u16, Value) {
    let r = send(env, reqwest::Method::PUT, url, Some(body)).await;
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// (running, creating, deleting) summed over zones.
async fn counts(env: &Env, pool: &str) -> (u64, u64, u64) {
    let (status, v) = env.get_json(&view_url(env, pool, "latest")).await;
    assert_eq!(status, 200, "{v}");
    let mut out = (0, 0, 0);
    for z in v["properties"]["instanceCountSummary"].as_array().unwrap() {
        for s in z["instanceCountsByState"].as_array().unwrap() {
            let n = s["count"].as_u64().unwrap();
            match s["state"].as_str().unwrap() {
                "Running" => out.0 += n,
                "Creating" => out.1 += n,
                "Deleting" => out.2 += n,
                other => panic!("state {other}"),
            }
        }
    }
    out
}

/// A profile and a pool of `max_ready`, created and left to fill.
async fn ready_pool(env: &Env, max_ready: u64) {
    ready_pool_in_zones(env, max_ready, &[]).await;
}

/// [`ready_pool`] with its instances spread over `zones` (none: no zones).
async fn ready_pool_in_zones(env: &Env, max_ready: u64, zones: &[&str]) {
    assert_eq!(
        put_json(env, &profile_url(env, "cgp"), &profile_body("nginx"))
            .await
            .0,
        201
    );
    let mut body = pool_body("cgp", Some(1), max_ready);
    if !zones.is_empty() {
        body["properties"]["zones"] = json!(zones);
    }
    let r = send(env, reqwest::Method::PUT, &pool_url(env, "pool-1"), Some(&body)).await;
    assert_eq!(r.status().as_u16(), 201);
    let op = header(&r, "azure-asyncoperation").expect("Azure-AsyncOperation");
    assert!(op.starts_with(env.base()), "{op}");
    assert_eq!(env.wait_op(&op).await["status"], "Succeeded");
    tokio::time::sleep(REFILL + Duration::from_millis(100)).await;
}

#[tokio::test]
async fn profile_puts_register_revisions() {
    let env = start(standby_config()).await;
    let url = profile_url(&env, "cgp");
    let (status, v) = put_json(&env, &url, &profile_body("nginx")).await;
    assert_eq!(
        (status, v["properties"]["revision"].clone()),
        (201, json!(1)),
        "{v}"
    );
    let (status, v) = put_json(&env, &url, &profile_body("nginx")).await;
    assert_eq!(
        (status, v["properties"]["revision"].clone()),
        (200, json!(1)),
        "same body, same revision"
    );
    let (_, v) = put_json(&env, &url, &profile_body("nginx:2")).await;
    assert_eq!(v["properties"]["revision"], 2);
    assert_eq!(v["properties"]["registeredRevisions"], json!([1, 2]));
    let base = rg_prefix(&env, "Microsoft.ContainerInstance");
    let (_, r1) = env
        .get_json(&format!("{base}/containerGroupProfiles/cgp/revisions/1?{API}"))
        .await;
    assert_eq!(r1["properties"]["containers"][0]["properties"]["image"], "nginx");
    let (_, all) = env
        .get_json(&format!("{base}/containerGroupProfiles/cgp/revisions?{API}"))
        .await;
    assert_eq!(all["value"].as_array().map(Vec::len), Some(2));
    let (status, _) = env
        .get_json(&format!("{base}/containerGroupProfiles/cgp/revisions/9?{API}"))
        .await;
    assert_eq!(status, 404);
    let r = send(
        &env,
        reqwest::Method::PATCH,
        &url,
        Some(&json!({"tags": {"a": "b"}})),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["tags"]["a"].as_str(), v["properties"]["revision"].as_u64()),
        (Some("b"), Some(2))
    );
    let (_, list) = env
        .get_json(&format!("{base}/containerGroupProfiles?{API}"))
        .await;
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    let sub_list = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroupProfiles?{API}",
        env.base()
    );
    assert_eq!(
        env.get_json(&sub_list).await.1["value"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        send(&env, reqwest::Method::DELETE, &url, None)
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        send(&env, reqwest::Method::DELETE, &url, None)
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(env.get_json(&url).await.0, 404);
}

#[tokio::test]
async fn pool_fills_and_reports_runtime_views() {
    let env = start(standby_config()).await;
    assert_eq!(
        put_json(&env, &profile_url(&env, "cgp"), &profile_body("nginx"))
            .await
            .0,
        201
    );
    let mut body = pool_body("cgp", None, 3);
    body["properties"]["zones"] = json!(["1", "2"]);
    let (status, v) = put_json(&env, &pool_url(&env, "pool-1"), &body).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["properties"]["provisioningState"], "Succeeded");
    assert_eq!(counts(&env, "pool-1").await, (0, 3, 0));
    let (_, view) = env.get_json(&view_url(&env, "pool-1", "latest")).await;
    let zones: Vec<i64> = view["properties"]["instanceCountSummary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["zone"].as_i64().unwrap())
        .collect();
    assert_eq!(zones, [1, 2]);
    tokio::time::sleep(REFILL + Duration::from_millis(100)).await;
    assert_eq!(counts(&env, "pool-1").await, (3, 0, 0));
    let (status, v) = env.get_json(&view_url(&env, "pool-1", "yesterday")).await;
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("NotFound")));
    let list = format!(
        "{}/standbyContainerGroupPools/pool-1/runtimeViews?{POOL_API}",
        rg_prefix(&env, "Microsoft.StandbyPool")
    );
    assert_eq!(env.get_json(&list).await.1["value"][0]["name"], "latest");
    let sub_list = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.StandbyPool/standbyContainerGroupPools?{POOL_API}",
        env.base()
    );
    assert_eq!(
        env.get_json(&sub_list).await.1["value"].as_array().map(Vec::len),
        Some(1)
    );
    // Shrink by PATCH.
    let r = send(
        &env,
        reqwest::Method::PATCH,
        &pool_url(&env, "pool-1"),
        Some(&json!({"properties": {"elasticityProfile": {"maxReadyCapacity": 1}}})),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(counts(&env, "pool-1").await, (1, 0, 2));
}

#[tokio::test]
async fn a_claim_is_served_from_the_pool_and_refilled() {
    let env = start(standby_config()).await;
    ready_pool(&env, 2).await;
    assert_eq!(counts(&env, "pool-1").await, (2, 0, 0));
    let r = env
        .put("rg", "claimed", &claim_body("cgp", 1, "pool-1", true))
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let op = header(&r, "azure-asyncoperation").unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["properties"]["isCreatedFromStandbyPool"], true, "{v}");
    let c = &v["properties"]["containers"][0]["properties"];
    assert_eq!(
        (c["image"].as_str(), c["configMap"]["keyValuePairs"]["k"].as_str()),
        (Some("nginx"), Some("v"))
    );
    let started = tokio::time::Instant::now();
    assert_eq!(env.wait_op(&op).await["status"], "Succeeded");
    assert!(started.elapsed() < Duration::from_millis(300), "a claim is fast");
    assert_eq!(counts(&env, "pool-1").await, (1, 1, 0), "the taken slot refills");
    tokio::time::sleep(REFILL + Duration::from_millis(100)).await;
    assert_eq!(counts(&env, "pool-1").await, (2, 0, 0));
    let state = env.emu.state();
    assert!(
        state
            .groups
            .iter()
            .any(|g| g.name == "claimed" && g.from_standby_pool)
    );
    assert_eq!(state.pools[0].claims, 1);
}

#[tokio::test]
async fn a_claimed_group_keeps_its_pool_instance_zone_and_dns() {
    let env = start(standby_config()).await;
    ready_pool_in_zones(&env, 2, &["1", "2"]).await;
    // The claim asks for a zone and DNS settings the warm instance does not have.
    let mut claim = claim_body("cgp", 1, "pool-1", true);
    claim["zones"] = json!(["3"]);
    claim["properties"]["dnsConfig"] = json!({"nameServers": ["10.0.0.10"]});
    let r = env.put("rg", "claimed", &claim).await;
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["properties"]["isCreatedFromStandbyPool"], true, "{v}");
    let zones = v["zones"].as_array().cloned().unwrap_or_default();
    assert!(
        zones == [json!("1")] || zones == [json!("2")],
        "a pool instance of zone 1 or 2, not the claim's 3: {v}"
    );
    assert!(v["properties"]["dnsConfig"].is_null(), "{v}");
    // A miss is an ordinary create: the body's zone and DNS hold.
    let mut miss = claim_body("cgp", 1, "pool-1", false);
    miss["zones"] = json!(["3"]);
    miss["properties"]["dnsConfig"] = json!({"nameServers": ["10.0.0.10"]});
    let _ = env
        .put("rg", "second", &claim_body("cgp", 1, "pool-1", true))
        .await;
    let r = env.put("rg", "third", &miss).await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["properties"]["isCreatedFromStandbyPool"], false, "{v}");
    assert_eq!(v["zones"], json!(["3"]), "{v}");
    assert_eq!(v["properties"]["dnsConfig"]["nameServers"], json!(["10.0.0.10"]));
}

#[tokio::test]
async fn an_empty_pool_falls_back_or_fails_on_request() {
    let env = start(standby_config()).await;
    ready_pool(&env, 1).await;
    assert_eq!(
        env.put("rg", "first", &claim_body("cgp", 1, "pool-1", false))
            .await
            .status()
            .as_u16(),
        201
    );
    // The pool's only instance is refilling now.
    let r = env
        .put("rg", "second", &claim_body("cgp", 1, "pool-1", false))
        .await;
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["properties"]["isCreatedFromStandbyPool"], false,
        "an ordinary create"
    );
    assert_eq!(v["properties"]["provisioningState"], "Pending");
    let r = env
        .put("rg", "third", &claim_body("cgp", 1, "pool-1", true))
        .await;
    assert_eq!(error_code(r).await, (409, "ContainerGroupReuseFailed".to_owned()));
    assert_eq!(
        env.get_json(&env.group_url("rg", "third")).await.0,
        404,
        "nothing was created"
    );
}

#[tokio::test]
async fn a_profile_change_drains_the_pool_and_mismatches_are_refused() {
    let env = start(standby_config()).await;
    ready_pool(&env, 2).await;
    // The pool pins revision 1; a claim naming revision 2 is refused once it exists.
    assert_eq!(
        put_json(&env, &profile_url(&env, "cgp"), &profile_body("nginx:2"))
            .await
            .0,
        200
    );
    let r = env
        .put("rg", "wrong", &claim_body("cgp", 2, "pool-1", false))
        .await;
    assert_eq!(
        error_code(r).await,
        (400, "StandbyPoolProfileMismatch".to_owned())
    );
    assert_eq!(
        counts(&env, "pool-1").await,
        (2, 0, 0),
        "a pinned pool keeps its instances"
    );
    // Following the latest revision: the pool drains and replaces its instances.
    let r = send(
        &env,
        reqwest::Method::PUT,
        &pool_url(&env, "pool-1"),
        Some(&pool_body("cgp", None, 2)),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(counts(&env, "pool-1").await, (0, 2, 2));
    assert_eq!(
        put_json(&env, &profile_url(&env, "cgp"), &profile_body("nginx:3"))
            .await
            .0,
        200
    );
    assert_eq!(env.emu.state().pools[0].profile_revision, 3);
    let r = env.put("rg", "old", &claim_body("cgp", 2, "pool-1", false)).await;
    assert_eq!(
        error_code(r).await,
        (400, "StandbyPoolProfileMismatch".to_owned())
    );
}

#[tokio::test]
async fn pool_validation_and_delete() {
    let env = start(standby_config()).await;
    assert_eq!(
        put_json(&env, &profile_url(&env, "cgp"), &profile_body("nginx"))
            .await
            .0,
        201
    );
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("ab", pool_body("cgp", None, 1), 400, "InvalidResourceName"),
        ("pool-1", pool_body("cgp", None, 2001), 400, "BadRequest"),
        (
            "pool-1",
            pool_body("nope", None, 1),
            400,
            "ContainerGroupProfileNotFound",
        ),
        (
            "pool-1",
            pool_body("cgp", Some(7), 1),
            400,
            "ContainerGroupProfileRevisionNotFound",
        ),
    ];
    for (name, body, status, code) in cases {
        let r = send(&env, reqwest::Method::PUT, &pool_url(&env, name), Some(&body)).await;
        assert_eq!(error_code(r).await, (status, code.to_owned()), "{name} {body}");
    }
    let mut elsewhere = pool_body("cgp", None, 1);
    elsewhere["location"] = json!("northeurope");
    let r = send(
        &env,
        reqwest::Method::PUT,
        &pool_url(&env, "pool-1"),
        Some(&elsewhere),
    )
    .await;
    assert_eq!(
        error_code(r).await.0,
        400,
        "profile and pool must share a location"
    );

    let r = send(
        &env,
        reqwest::Method::PUT,
        &pool_url(&env, "pool-1"),
        Some(&pool_body("cgp", None, 2)),
    )
    .await;
    assert_eq!(r.status().as_u16(), 201);
    let r = send(&env, reqwest::Method::DELETE, &pool_url(&env, "pool-1"), None).await;
    assert_eq!(r.status().as_u16(), 202);
    let location = header(&r, "location").expect("Location");
    assert!(header(&r, "retry-after").is_some());
    assert_eq!(
        counts(&env, "pool-1").await,
        (0, 0, 2),
        "deleting the pool deletes its instances"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = env.get(&location).await.status().as_u16();
        if status == 204 {
            break;
        }
        assert_eq!(status, 202);
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(env.get_json(&pool_url(&env, "pool-1")).await.0, 404);
    let r = send(&env, reqwest::Method::DELETE, &pool_url(&env, "pool-1"), None).await;
    assert_eq!(r.status().as_u16(), 204);
}
