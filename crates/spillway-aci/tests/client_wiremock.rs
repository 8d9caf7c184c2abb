//! The ARM client over loopback HTTP against wiremock: request shape, LROs,
//! paging, error kinds, retries and `Retry-After`, concurrency, pacing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::arm::*;
use serde_json::json;
use spillway_aci::{AciError, DeleteOutcome, Operation};
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn op_url(server: &MockServer, id: &str) -> String {
    format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/{id}?api-version=2018-06-01",
        server.uri()
    )
}

/// Answers from a list, repeating the last one.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Sequence {
    fn new(v: Vec<ResponseTemplate>) -> Self {
        Sequence(std::sync::Mutex::new(v))
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut v = self.0.lock().unwrap();
        if v.len() > 1 { v.remove(0) } else { v[0].clone() }
    }
}

#[tokio::test]
async fn create_follows_azure_async_operation_to_succeeded() {
    let server = MockServer::start().await;
    let name = "c1-web-0";
    Mock::given(method("PUT"))
        .and(path(group_path(name)))
        .and(query_param("api-version", "2026-05-01"))
        .and(header("authorization", "Bearer token-1"))
        .and(header("content-type", "application/json"))
        .and(header_exists("x-ms-client-request-id"))
        .and(body_json(serde_json::to_value(request_body()).unwrap()))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(group_json(name, "Pending"))
                .insert_header("Azure-AsyncOperation", op_url(&server, "op1"))
                .insert_header(
                    "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m",
                    "42",
                )
                .insert_header(
                    "x-ms-ratelimit-remaining-subscription-resource-requests-pt1h",
                    "250",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/op1"
        )))
        .and(query_param("api-version", "2018-06-01"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(
                json!({"id": group_path(name), "status": "Pending", "properties": {"events": []}}),
            ),
            ResponseTemplate::new(200).set_body_json(json!({"status": "Creating"})),
            ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path(name)))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(name, "Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let (c, _, rec) = client(fast_config(&server.uri()));
    let g = c.create_or_update(name, &request_body()).await.unwrap();
    assert_eq!(g.ip(), Some("10.1.0.4"));
    assert_eq!(g.properties.provisioning_state.as_deref(), Some("Succeeded"));
    // The server's remaining-count header tightened the create budget.
    assert_eq!(c.pacing_headroom().creates, 42);
    assert_eq!(
        rec.summary(),
        vec![
            (Operation::CreateOrUpdate, Some(201)),
            (Operation::PollOperation, Some(200)),
            (Operation::PollOperation, Some(200)),
            (Operation::PollOperation, Some(200)),
            (Operation::Get, Some(200)),
        ]
    );
}

#[tokio::test]
async fn create_follows_location_as_the_spec_documents() {
    let server = MockServer::start().await;
    let name = "c1-web-1";
    let loc = format!("{}/location-poll/abc", server.uri());
    Mock::given(method("PUT"))
        .and(path(group_path(name)))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(group_json(name, "Pending"))
                .insert_header("Location", loc.as_str())
                .insert_header("Retry-After", "0"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/location-poll/abc"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(202),
            ResponseTemplate::new(200).set_body_json(group_json(name, "Succeeded")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path(name)))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json(name, "Succeeded")))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    assert_eq!(
        c.create_or_update(name, &request_body()).await.unwrap().ip(),
        Some("10.1.0.4")
    );
}

#[tokio::test]
async fn create_without_operation_headers_polls_the_resource() {
    let server = MockServer::start().await;
    let name = "c1-web-2";
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).set_body_json(group_json(name, "Pending")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path(name)))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(group_json(name, "Creating")),
            ResponseTemplate::new(200).set_body_json(group_json(name, "Succeeded")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    assert_eq!(
        c.create_or_update(name, &request_body()).await.unwrap().ip(),
        Some("10.1.0.4")
    );
}

#[tokio::test]
async fn failed_operations_are_typed_from_their_events() {
    let server = MockServer::start().await;
    for (name, op, events, error) in [
        (
            "c1-web-3",
            "cap",
            json!([{"name": "InsufficientCapacity.", "message": "The requested resource is not available in the location 'westeurope' at this moment."}]),
            json!({"code": "Failed", "message": "x"}),
        ),
        (
            "c1-web-4",
            "pull",
            json!([{"name": "Failed", "type": "Warning", "message": "Failed to pull image \"nope:1\": rpc error: not found"}]),
            json!({"code": "Failed", "message": "y"}),
        ),
        (
            "c1-web-5",
            "other",
            json!([]),
            json!({"code": "SomethingElse", "message": "z"}),
        ),
    ] {
        Mock::given(method("PUT"))
            .and(path(group_path(name)))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(group_json(name, "Pending"))
                    .insert_header("Azure-AsyncOperation", op_url(&server, op)),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/{op}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"status": "Failed", "properties": {"events": events}, "error": error}),
            ))
            .mount(&server)
            .await;
    }
    let (c, _, _) = client(fast_config(&server.uri()));
    let e = c.create_or_update("c1-web-3", &request_body()).await.unwrap_err();
    assert!(matches!(e, AciError::CapacityUnavailable { .. }), "{e:?}");
    let e = c.create_or_update("c1-web-4", &request_body()).await.unwrap_err();
    assert!(matches!(e, AciError::ImageInaccessible { .. }), "{e:?}");
    let e = c.create_or_update("c1-web-5", &request_body()).await.unwrap_err();
    assert!(
        matches!(&e, AciError::OperationFailed { code, .. } if code == "SomethingElse"),
        "{e:?}"
    );
}

#[tokio::test]
async fn delete_accepts_202_204_404_and_200() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(group_path("g-202")))
        .respond_with(
            ResponseTemplate::new(202).insert_header("azure-asyncoperation", op_url(&server, "del1")),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/del1"
        )))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"status": "Deleting"})),
            ResponseTemplate::new(200).set_body_json(json!({"status": "Succeeded"})),
        ]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("g-202")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "gone"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(group_path("g-204")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(group_path("g-404")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": "x"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(group_path("g-200")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("g-200", "Succeeded")))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    assert_eq!(c.delete("g-202").await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(c.delete("g-204").await.unwrap(), DeleteOutcome::AlreadyGone);
    assert_eq!(c.delete("g-404").await.unwrap(), DeleteOutcome::AlreadyGone);
    assert_eq!(c.delete("g-200").await.unwrap(), DeleteOutcome::Deleted);
    assert_eq!(c.begin_delete("g-202").await.unwrap(), DeleteOutcome::InProgress);
    // Only the 200/202 deletes count against the delete budget.
    assert_eq!(c.pacing_headroom().deletes, 97);
}

#[tokio::test]
async fn list_follows_next_link_verbatim() {
    let server = MockServer::start().await;
    let page = |names: &[&str], next: Option<String>| {
        let mut b = json!({"value": names.iter().map(|n| group_json(n, "Succeeded")).collect::<Vec<_>>()});
        if let Some(n) = next {
            b["nextLink"] = n.into();
        }
        ResponseTemplate::new(200).set_body_json(b)
    };
    let next1 = format!(
        "{}{}?api-version=2026-05-01&$skipToken=opaque%2B1",
        server.uri(),
        list_path()
    );
    let next2 = format!(
        "{}{}?api-version=2026-05-01&$skipToken=opaque%2B2",
        server.uri(),
        list_path()
    );
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skipToken", "opaque+1"))
        .respond_with(page(&["b1", "b2"], Some(next2)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("$skipToken", "opaque+2"))
        .respond_with(page(&["c1"], None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(list_path()))
        .and(query_param("api-version", "2026-05-01"))
        .respond_with(page(&["a1", "a2"], Some(next1)))
        .expect(1)
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let names: Vec<String> = c
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|g| g.name)
        .collect();
    assert_eq!(names, ["a1", "a2", "b1", "b2", "c1"]);
}

#[tokio::test]
async fn next_link_to_another_host_or_in_a_loop_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(list_path()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [], "nextLink": "https://evil.example/steal"})),
        )
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let e = c.list().await.unwrap_err();
    assert!(
        matches!(&e, AciError::Malformed(m) if m.contains("refusing")),
        "{e:?}"
    );

    let server = MockServer::start().await;
    let me = format!("{}{}?api-version=2026-05-01", server.uri(), list_path());
    Mock::given(method("GET"))
        .and(path(list_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [], "nextLink": me})))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let e = c.list().await.unwrap_err();
    assert!(
        matches!(&e, AciError::Malformed(m) if m.contains("loops")),
        "{e:?}"
    );
}

#[tokio::test]
async fn error_envelopes_map_to_kinds() {
    let server = MockServer::start().await;
    let err = |status: u16, code: &str| {
        ResponseTemplate::new(status)
            .set_body_json(json!({"error": {"code": code, "message": format!("{code} happened")}}))
    };
    let cases = [
        ("q", err(400, "ContainerGroupQuotaReached")),
        ("cap", err(409, "ServiceUnavailable")),
        ("img", err(400, "InaccessibleImage")),
        ("os", err(400, "InvalidOsType")),
        ("busy", err(409, "Conflict")),
        ("auth", err(403, "AuthorizationFailed")),
        ("boom", err(500, "InternalServerError")),
        (
            "nojson",
            ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"),
        ),
    ];
    for (name, resp) in cases {
        Mock::given(method("PUT"))
            .and(path(group_path(name)))
            .respond_with(resp)
            .mount(&server)
            .await;
    }
    // A 5xx on PUT is checked with a GET before any resend: not there.
    Mock::given(method("GET"))
        .respond_with(err(404, "ResourceNotFound"))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let body = request_body();
    let kind = |e: AciError| e.metric_label();
    assert_eq!(
        kind(c.begin_create_or_update("q", &body).await.unwrap_err()),
        "quota_reached"
    );
    assert_eq!(
        kind(c.begin_create_or_update("cap", &body).await.unwrap_err()),
        "capacity_unavailable"
    );
    assert_eq!(
        kind(c.begin_create_or_update("img", &body).await.unwrap_err()),
        "image_inaccessible"
    );
    let e = c.begin_create_or_update("os", &body).await.unwrap_err();
    assert!(
        matches!(&e, AciError::InvalidRequest { status: 400, code, .. } if code == "InvalidOsType"),
        "{e:?}"
    );
    assert_eq!(
        kind(c.begin_create_or_update("busy", &body).await.unwrap_err()),
        "conflict"
    );
    assert_eq!(
        kind(c.begin_create_or_update("auth", &body).await.unwrap_err()),
        "auth"
    );
    let e = c.begin_create_or_update("boom", &body).await.unwrap_err();
    assert!(matches!(&e, AciError::Transient { status: 500, .. }), "{e:?}");
    let e = c.begin_create_or_update("nojson", &body).await.unwrap_err();
    assert!(
        matches!(&e, AciError::Transient { status: 502, message, .. } if message.contains("bad gateway")),
        "{e:?}"
    );
    assert_eq!(c.get("missing").await.unwrap(), None);
    // Refused creates (4xx) gave their budget slot back; the two whose
    // outcome is unknown (5xx, even after the GET check) keep theirs.
    assert_eq!(c.pacing_headroom().creates, 98);
}

#[tokio::test]
async fn put_after_5xx_checks_before_resending() {
    let server = MockServer::start().await;
    // First name: the PUT failed but went through; the GET finds the group.
    Mock::given(method("PUT"))
        .and(path(group_path("went-through")))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("went-through")))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("went-through", "Succeeded")))
        .mount(&server)
        .await;
    // Second name: not there, so the PUT is sent once more.
    Mock::given(method("PUT"))
        .and(path(group_path("lost")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(201).set_body_json(group_json("lost", "Succeeded")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("lost")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "ResourceNotFound", "message": ""}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let a = c
        .begin_create_or_update("went-through", &request_body())
        .await
        .unwrap();
    assert_eq!(a.status, None);
    assert_eq!(c.wait_provisioned(&a).await.unwrap().ip(), Some("10.1.0.4"));
    let b = c.begin_create_or_update("lost", &request_body()).await.unwrap();
    assert_eq!(b.status, Some(201));
}

#[tokio::test]
async fn throttling_honours_retry_after_and_caps_endless_ones() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(group_path("slow")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(
                    json!({"error": {"code": "SubscriptionRequestsThrottled", "message": "slow down"}}),
                ),
            ResponseTemplate::new(201).set_body_json(group_json("slow", "Succeeded")),
        ]))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("never")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "86400")
                .set_body_json(
                    json!({"error": {"code": "TooManyRequests", "message": "come back tomorrow"}}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (c, _, rec) = client(fast_config(&server.uri()));
    let t0 = Instant::now();
    c.begin_create_or_update("slow", &request_body()).await.unwrap();
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "resent before Retry-After: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(
        rec.retries.lock().unwrap()[0],
        (Operation::CreateOrUpdate, Duration::from_secs(1), "throttled")
    );
    let t0 = Instant::now();
    let e = c.get("never").await.unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "an endless Retry-After must not be waited for"
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86400)));
    assert!(matches!(e, AciError::Throttled { local: false, .. }));
}

#[tokio::test]
async fn transient_reads_are_retried_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(group_path("flaky")))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(500),
            ResponseTemplate::new(200).set_body_json(group_json("flaky", "Succeeded")),
        ]))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("down")))
        .respond_with(ResponseTemplate::new(500))
        .expect(4) // first attempt + max_retries (3)
        .mount(&server)
        .await;
    let (c, _, rec) = client(fast_config(&server.uri()));
    assert!(c.get("flaky").await.unwrap().is_some());
    let e = c.get("down").await.unwrap_err();
    assert!(matches!(e, AciError::Transient { status: 500, .. }));
    let attempts: Vec<u32> = rec.events.lock().unwrap().iter().map(|e| e.attempt).collect();
    assert_eq!(attempts, [0, 1, 2, 0, 1, 2, 3]);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"error": {"code": "ExpiredAuthenticationToken", "message": "expired"}}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group_json("g", "Succeeded")))
        .expect(1)
        .mount(&server)
        .await;
    let (c, tokens, _) = client(fast_config(&server.uri()));
    assert!(c.get("g").await.unwrap().is_some());
    assert_eq!(tokens.fetched.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bad_server_input_gives_typed_errors_in_bounded_time() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(group_path("truncated")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"name":"truncated","properties":{"provisioningSt"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut extra = group_json("extra", "Succeeded");
    extra["brandNewField"] = json!({"nested": [1, 2, 3]});
    extra["properties"]["containers"][0]["properties"]["futureThing"] = json!(true);
    Mock::given(method("GET"))
        .and(path(group_path("extra")))
        .respond_with(ResponseTemplate::new(200).set_body_json(extra))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("ok-but-error")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": {"code": "InternalError", "message": "oops"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("ok-but-quota")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"error": {"code": "ContainerGroupQuotaReached", "message": "full"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(group_path("not-an-object")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([1, 2])))
        .mount(&server)
        .await;
    // A create whose operation never finishes.
    Mock::given(method("PUT"))
        .and(path(group_path("forever")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(group_json("forever", "Pending"))
                .insert_header("Azure-AsyncOperation", op_url(&server, "forever")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/forever")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Retry-After", "3600")
                .set_body_json(json!({"status": "Pending"})),
        )
        .mount(&server)
        .await;
    let mut cfg = fast_config(&server.uri());
    cfg.lro.deadline = Duration::from_millis(600);
    let (c, _, _) = client(cfg);
    let e = c.get("truncated").await.unwrap_err();
    assert!(
        matches!(&e, AciError::Malformed(m) if m.contains("not valid JSON")),
        "{e:?}"
    );
    let g = c.get("extra").await.unwrap().unwrap();
    assert_eq!(g.extra["brandNewField"], json!({"nested": [1, 2, 3]}));
    let e = c.get("ok-but-error").await.unwrap_err();
    assert!(
        matches!(&e, AciError::Malformed(m) if m.contains("InternalError")),
        "{e:?}"
    );
    let e = c.get("ok-but-quota").await.unwrap_err();
    assert!(matches!(e, AciError::QuotaReached { .. }), "{e:?}");
    assert!(matches!(
        c.get("not-an-object").await.unwrap_err(),
        AciError::Malformed(_)
    ));
    let t0 = Instant::now();
    let e = c.create_or_update("forever", &request_body()).await.unwrap_err();
    let took = t0.elapsed();
    match &e {
        AciError::DeadlineExceeded {
            resource, operation, ..
        } => {
            assert_eq!((resource.as_str(), *operation), ("forever", "create_or_update"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("forever"),
        "the report names what may be left behind: {e}"
    );
    assert!(took < Duration::from_secs(2), "deadline 600 ms, took {took:?}");
}

#[tokio::test]
async fn per_request_timeout_and_unreachable_server() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let mut cfg = fast_config(&server.uri());
    cfg.request_timeout = Duration::from_millis(150);
    cfg.retry.max_retries = 1;
    let (c, _, _) = client(cfg);
    let t0 = Instant::now();
    let e = c.get("slow").await.unwrap_err();
    assert!(
        matches!(&e, AciError::Transport(m) if m.contains("timed out")),
        "{e:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (c, _, _) = client(fast_config(&format!("http://127.0.0.1:{port}")));
    let e = c.list().await.unwrap_err();
    assert!(
        matches!(&e, AciError::Transport(m) if m.contains("connection")),
        "{e:?}"
    );
}

#[tokio::test]
async fn reads_are_bounded_by_the_read_concurrency() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(group_json("g", "Succeeded"))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(6)
        .mount(&server)
        .await;
    let mut cfg = fast_config(&server.uri());
    cfg.read_concurrency = 2;
    let (c, _, _) = client(cfg);
    let t0 = Instant::now();
    let gets = (0..6).map(|i| {
        let c = &c;
        async move { c.get(&format!("g-{i}")).await }
    });
    for r in futures_join_all(gets).await {
        assert!(r.unwrap().is_some());
    }
    let took = t0.elapsed();
    // 6 requests, 2 at a time, 200 ms each: three rounds.
    assert!(took >= Duration::from_millis(600), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

async fn futures_join_all<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = fs.collect();
    let mut out = Vec::new();
    // Poll all concurrently on this task.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(done.into_iter().map(|d| d.unwrap()));
    out
}

#[tokio::test]
async fn the_create_budget_is_enforced_locally() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201).set_body_json(group_json("x", "Succeeded")))
        .expect(2)
        .mount(&server)
        .await;
    let mut cfg = fast_config(&server.uri());
    cfg.pacing.creates_per_5m = 2;
    let (c, _, _) = client(cfg);
    c.begin_create_or_update("a", &request_body()).await.unwrap();
    c.begin_create_or_update("b", &request_body()).await.unwrap();
    let e = c.begin_create_or_update("c", &request_body()).await.unwrap_err();
    match e {
        AciError::Throttled {
            local: true,
            retry_after: Some(d),
            ..
        } => assert!(d > Duration::from_secs(290)),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.pacing_headroom().creates, 0);
}

#[tokio::test]
async fn usages_become_headroom() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/usages")))
        .and(query_param("api-version", "2026-05-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"name": {"value": "ContainerGroups", "localizedValue": "Container Groups"}, "currentValue": 30, "limit": 100, "unit": "Count"},
            {"name": {"value": "StandardCores", "localizedValue": "Standard Cores"}, "currentValue": 64, "limit": 100, "unit": "Count"}
        ]})))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    let h = c
        .headroom("westeurope", spillway_core::config::AciPriority::Regular)
        .await
        .unwrap();
    assert_eq!(
        (h.creates, h.deletes, h.groups, h.cores_millis),
        (Some(100), Some(100), Some(70), Some(36_000))
    );
}

#[tokio::test]
async fn invalid_names_are_not_sent() {
    let server = MockServer::start().await;
    let (c, _, rec) = client(fast_config(&server.uri()));
    for bad in ["Upper", "a--b", "-x", "../../x"] {
        assert!(
            matches!(c.get(bad).await.unwrap_err(), AciError::InvalidArgument(_)),
            "{bad}"
        );
    }
    assert!(rec.events.lock().unwrap().is_empty());
}
