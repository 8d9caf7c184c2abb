//! The pipeline without HTTP: explicit time, seeded randomness.

use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
}

fn req(method: Method, path: &str, body: serde_json::Value) -> ArmRequest {
    ArmRequest {
        method,
        path: path.to_owned(),
        query: vec![("api-version".into(), "2026-05-01".into())],
        body: bytes::Bytes::from(body.to_string()),
        base_url: "http://emu".into(),
        authorization: None,
        user_agent: Some("unit".into()),
        client_request_id: None,
    }
}

fn engine(seed: u64) -> Engine {
    Engine::new(&EmulatorConfig {
        seed,
        require_auth: false,
        ..EmulatorConfig::default()
    })
}

fn body() -> serde_json::Value {
    json!({"location": "westeurope", "properties": {"osType": "Linux",
        "containers": [{"name": "c", "properties": {"image": "nginx", "resources": {"requests": {"cpu": 1, "memoryInGB": 1}}}}],
        "ipAddress": {"type": "Public", "ports": [{"port": 80}]}}})
}

fn path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/{name}"
    )
}

#[test]
fn provisioning_follows_explicit_time_and_the_seed() {
    let run = |seed| {
        let mut e = engine(seed);
        let r = e.handle(&req(Method::PUT, &path("a"), body()), t(0));
        assert_eq!(r.status, StatusCode::CREATED);
        let get = req(Method::GET, &path("a"), json!(null));
        let mut states = Vec::new();
        for ms in (0..=1500).step_by(100) {
            let b = e.handle(&get, t(ms)).body.unwrap();
            states.push(b["properties"]["provisioningState"].as_str().unwrap().to_owned());
        }
        (states, r.body.unwrap()["properties"]["ipAddress"]["ip"].clone())
    };
    let (a, ip_a) = run(3);
    assert_eq!(a, run(3).0, "same seed, same timeline");
    assert_eq!(a.first().map(String::as_str), Some("Pending"));
    assert_eq!(
        a.last().map(String::as_str),
        Some("Succeeded"),
        "default latencies end within 1.2 s"
    );
    assert!(a.iter().any(|s| s == "Creating"));
    assert_eq!(ip_a, json!("20.40.0.4"));
}

#[test]
fn writes_are_recorded_even_when_refused() {
    let mut e = Engine::new(&EmulatorConfig::default()); // auth required
    let r = e.handle(&req(Method::DELETE, &path("a"), json!(null)), t(0));
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let s = e.snapshot(t(1));
    assert_eq!(s.writes.len(), 1);
    assert_eq!(s.writes[0].status, 401);
    assert_eq!(s.writes[0].user_agent.as_deref(), Some("unit"));
}

#[test]
fn async_delete_completes_on_the_clock_and_frees_the_record() {
    let mut e = engine(1);
    e.handle(&req(Method::PUT, &path("a"), body()), t(0));
    let r = e.handle(&req(Method::DELETE, &path("a"), json!(null)), t(2000));
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let during = e.handle(&req(Method::GET, &path("a"), json!(null)), t(2001));
    assert_eq!(
        during.body.unwrap()["properties"]["provisioningState"],
        "Deleting"
    );
    let later = t(2000) + SignedDuration::from_secs(5);
    assert_eq!(
        e.handle(&req(Method::GET, &path("a"), json!(null)), later).status,
        StatusCode::NOT_FOUND
    );
    let s = e.snapshot(later);
    assert!(s.groups[0].deleted_at.is_some_and(|d| d <= later));
    assert_eq!(s.live_groups().count(), 0);
}
