//! Leader election against a stateful fake Lease API over a mocked
//! transport: acquire (creating the Lease), renew, lose to another holder,
//! and a hung API server: the gate closes before the Lease can expire.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use common::{Recorded, Reply, fake, status};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::MicroTime, jiff::Timestamp};
use serde_json::{Value, json};
use spillway_kube::lease::{self, LeaderGate, LeaseConfig};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/spillway-system/leases";

#[derive(Default)]
struct World {
    lease: Option<Value>,
    rv: u64,
    hang: bool,
    /// Virtual time of the last successful write of our renewTime.
    last_renew: Option<Instant>,
}

fn merge(target: &mut Value, patch: &Value) {
    if let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else if v.is_object() && t.get(k).is_some_and(Value::is_object) {
                merge(t.get_mut(k).unwrap(), v);
            } else {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

fn serve(world: &Arc<Mutex<World>>, r: &Recorded) -> Reply {
    let mut w = world.lock().unwrap();
    if w.hang {
        return Reply::Hang;
    }
    let named = r.path == format!("{PATH}/spillway-leader");
    match (r.method.as_str(), named) {
        ("GET", true) => match &w.lease {
            Some(l) => Reply::Json(200, l.clone()),
            None => Reply::Json(
                404,
                status(
                    404,
                    "NotFound",
                    "leases.coordination.k8s.io \"spillway-leader\" not found",
                ),
            ),
        },
        ("POST", false) if r.path == PATH => {
            if w.lease.is_some() {
                return Reply::Json(
                    409,
                    status(
                        409,
                        "AlreadyExists",
                        "leases.coordination.k8s.io \"spillway-leader\" already exists",
                    ),
                );
            }
            w.rv += 1;
            let mut l = r.body.clone();
            l["metadata"]["namespace"] = json!("spillway-system");
            l["metadata"]["resourceVersion"] = json!(format!("{}", 70000 + w.rv));
            l["metadata"]["uid"] = json!("3c9a2b1d-0000-4000-8000-000000000009");
            w.lease = Some(l.clone());
            Reply::Json(201, l)
        }
        ("PATCH", true) => {
            let Some(mut l) = w.lease.clone() else {
                return Reply::Json(404, status(404, "NotFound", "not found"));
            };
            merge(&mut l, &r.body);
            w.rv += 1;
            l["metadata"]["resourceVersion"] = json!(format!("{}", 70000 + w.rv));
            if r.body["spec"]["renewTime"].is_string() && l["spec"]["holderIdentity"] == "spillway-0" {
                w.last_renew = Some(Instant::now());
            }
            w.lease = Some(l.clone());
            Reply::Json(200, l)
        }
        _ => Reply::Json(404, status(404, "NotFound", "unexpected")),
    }
}

fn config() -> LeaseConfig {
    LeaseConfig {
        name: "spillway-leader".into(),
        namespace: "spillway-system".into(),
        identity: "spillway-0".into(),
        duration: Duration::from_secs(15),
        renew_before: Duration::from_secs(5),
        retry_period: Duration::from_secs(2),
        safety: Duration::from_secs(2),
    }
}

async fn wait_for(gate: &LeaderGate, want: bool, within: Duration) -> Option<Instant> {
    let step = Duration::from_millis(50);
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if gate.is_leader() == want {
            return Some(Instant::now());
        }
        tokio::time::sleep(step).await;
    }
    None
}

#[tokio::test(start_paused = true)]
async fn acquire_renew_and_lose_to_another_holder() {
    let world = Arc::new(Mutex::new(World::default()));
    let w = world.clone();
    let (client, server) = fake(move |r| serve(&w, r));
    config().validate().unwrap();
    let cancel = CancellationToken::new();
    let (gate, task) = lease::run(client, config(), cancel.clone());
    assert!(!gate.is_leader());

    // Acquire: the Lease did not exist, so it is created, then claimed.
    wait_for(&gate, true, Duration::from_secs(30))
        .await
        .expect("acquired");
    let reqs = server.recorded();
    assert!(reqs.iter().any(|r| r.method == "POST" && r.path == PATH));
    let claim = reqs
        .iter()
        .find(|r| r.method == "PATCH" && r.body["spec"]["holderIdentity"] == "spillway-0")
        .expect("claim patch");
    assert_eq!(
        claim.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(
        claim.query.contains("fieldManager=spillway-spillway-0"),
        "{}",
        claim.query
    );
    assert_eq!(claim.body["spec"]["leaseDurationSeconds"], 15);

    // Renew: time passes, the holder keeps renewing and stays leader.
    let patches_before = server.recorded().iter().filter(|r| r.method == "PATCH").count();
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(gate.is_leader(), "lost leadership while renewals succeed");
    }
    let renewals: Vec<_> = server
        .recorded()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .skip(patches_before)
        .collect();
    assert!(renewals.len() >= 2, "{} renewals in 30s", renewals.len());
    assert!(renewals.iter().all(|r| r.body["spec"]["renewTime"].is_string()
        && r.content_type.as_deref() == Some("application/strategic-merge-patch+json")));

    // Lose: another replica takes the Lease; writes stop within the fence period.
    {
        let mut w = world.lock().unwrap();
        let l = w.lease.as_mut().unwrap();
        l["spec"]["holderIdentity"] = json!("spillway-1");
        l["spec"]["renewTime"] = serde_json::to_value(MicroTime(Timestamp::now())).unwrap();
    }
    let stolen_at = Instant::now();
    let closed = wait_for(&gate, false, Duration::from_secs(10))
        .await
        .expect("gate closed");
    assert!(
        closed - stolen_at <= Duration::from_secs(3),
        "closed after {:?}",
        closed - stolen_at
    );

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops")
        .unwrap();
}

/// Real time (a few seconds): the fence compares the Lease's wall-clock
/// renewTime with the monotonic clock, which paused tokio time would skew.
#[tokio::test]
async fn hung_api_server_closes_the_gate_before_the_lease_expires() {
    let world = Arc::new(Mutex::new(World::default()));
    let w = world.clone();
    let (client, _server) = fake(move |r| serve(&w, r));
    let cancel = CancellationToken::new();
    let short = LeaseConfig {
        duration: Duration::from_secs(3),
        renew_before: Duration::from_secs(2),
        retry_period: Duration::from_millis(400),
        safety: Duration::from_millis(500),
        ..config()
    };
    short.validate().unwrap();
    let (gate, task) = lease::run(client, short, cancel.clone());
    wait_for(&gate, true, Duration::from_secs(10))
        .await
        .expect("acquired");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(gate.is_leader());

    // Every request from now on hangs: renewals never complete.
    let last_renew = {
        let mut w = world.lock().unwrap();
        w.hang = true;
        w.last_renew.expect("renewed at least once")
    };
    let closed = wait_for(&gate, false, Duration::from_secs(10))
        .await
        .expect("gate closed");
    // Another replica may take the Lease at last_renew + 3s; we stopped before.
    assert!(
        closed < last_renew + Duration::from_secs(3),
        "closed {:?} after the last renewal",
        closed - last_renew
    );
    // And it stays closed.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!gate.is_leader());
    }
    task.abort();
}
