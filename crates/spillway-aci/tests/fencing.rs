//! Writes are fenced by the leader gate, retries included: a client whose
//! Lease runs out while it is retrying a PUT or DELETE sends nothing more,
//! and a retry that would come due after the Lease ends is not attempted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::arm::*;
use spillway_aci::{AciError, WriteGate};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers 503 and remembers when each request arrived.
#[derive(Clone, Default)]
struct Unavailable(Arc<Mutex<Vec<Instant>>>);

impl Respond for Unavailable {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(503).set_body_json(serde_json::json!({
            "error": {"code": "ServiceUnavailable", "message": "try again"}
        }))
    }
}

/// A gate that closes at `until` or when `lost` is set.
fn gate(until: Instant, lost: Arc<AtomicBool>) -> WriteGate {
    Arc::new(move || {
        let now = Instant::now();
        (!lost.load(Ordering::SeqCst) && now < until).then(|| until - now)
    })
}

#[tokio::test]
async fn a_delete_stops_retrying_when_the_lease_is_lost() {
    let server = MockServer::start().await;
    let seen = Unavailable::default();
    Mock::given(method("DELETE"))
        .and(path(group_path("c1-web-0")))
        .respond_with(seen.clone())
        .mount(&server)
        .await;
    let mut cfg = fast_config(&server.uri());
    cfg.retry.max_retries = 50;
    cfg.retry.min_delay = Duration::from_millis(100);
    cfg.retry.max_delay = Duration::from_millis(100);
    cfg.retry.total_budget = Duration::from_secs(30);
    let lost = Arc::new(AtomicBool::new(false));
    let (client, _, _) = client(cfg);
    let client = client.with_write_gate(gate(Instant::now() + Duration::from_secs(60), lost.clone()));

    // The leader is frozen mid-retry and another replica takes the Lease.
    let flip = lost.clone();
    let lost_at = Arc::new(Mutex::new(None));
    let lost_at_w = lost_at.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(350)).await;
        flip.store(true, Ordering::SeqCst);
        *lost_at_w.lock().unwrap() = Some(Instant::now());
    });
    let err = client.begin_delete("c1-web-0").await.expect_err("never succeeds");
    assert!(matches!(err, AciError::NotLeader), "{err}");
    let lost_at = lost_at.lock().unwrap().expect("the lease was lost");
    let sent = seen.0.lock().unwrap().clone();
    assert!(
        sent.len() >= 2,
        "it was retrying before the loss: {} requests",
        sent.len()
    );
    let after: Vec<_> = sent.iter().filter(|t| **t > lost_at).collect();
    assert!(
        after.is_empty(),
        "{} DELETEs sent after the Lease was lost",
        after.len()
    );
}

#[tokio::test]
async fn a_retry_due_after_the_lease_ends_is_not_sent() {
    let server = MockServer::start().await;
    let seen = Unavailable::default();
    Mock::given(method("PUT"))
        .and(path(group_path("c1-web-0")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "2")
                .set_body_json(
                    serde_json::json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
                ),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(seen.clone())
        .mount(&server)
        .await;
    let cfg = fast_config(&server.uri());
    // One second of Lease left: a Retry-After of 2 s would fall after it.
    let until = Instant::now() + Duration::from_secs(1);
    let (client, _, recorder) = client(cfg);
    let client = client.with_write_gate(gate(until, Arc::new(AtomicBool::new(false))));
    let started = Instant::now();
    let err = client
        .begin_create_or_update("c1-web-0", &request_body())
        .await
        .expect_err("throttled");
    assert!(matches!(err, AciError::Throttled { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the client did not wait for a retry it may not send: {:?}",
        started.elapsed()
    );
    assert_eq!(
        recorder.summary().len(),
        1,
        "one PUT, no retry: {:?}",
        recorder.summary()
    );

    // After the Lease ended nothing is sent at all.
    tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
    let err = client.begin_delete("c1-web-0").await.expect_err("not leader");
    assert!(matches!(err, AciError::NotLeader), "{err}");
    assert!(seen.0.lock().unwrap().is_empty(), "no DELETE left the process");
}
