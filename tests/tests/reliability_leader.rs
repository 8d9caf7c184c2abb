//! Leader failover (issue 8): two `spillway demo` processes elect a leader on
//! one Lease (the Lease API in `support_ctl::lease_api`, answering as the
//! Kubernetes API server documents) and act on one `aci-emulator`, which
//! logs every write with the writer's User-Agent (`spillway/x (<identity>)`).
//!
//! 1. `a` leads and bursts; `b` follows and writes nothing.
//! 2. `a` is frozen (SIGSTOP: a GC pause, a partition): `b` takes the Lease
//!    once it expires and carries on; `a`, thawed, must not write again.
//! 3. The demand falls; `b` scales in and is killed (SIGKILL) mid-way; `a`
//!    takes over and deletes the rest.
//!
//! Throughout, every write to ARM comes from the replica holding the Lease
//! at that moment (by the Lease API's history), never from two at once, and
//! each takeover happens within the lease duration of the old leader's last
//! chance to renew (plus the candidate's retry period and the release jitter).

mod support_ctl;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use support_ctl::lease_api::{LeaseApi, parse_utc};
use support_ctl::witness::{Kill, Witness};
use support_ctl::{DemoProc, EmulatorProc, policy, write_trace};

const POLICY: &str = "web";
const LEASE_DURATION: Duration = Duration::from_secs(4);
/// kube-lease-manager sleeps until the expiry, force-releases, waits up to
/// 1 s of jitter, then locks: expiry + retry + jitter + a scheduling margin.
const TAKEOVER_SLACK: Duration = Duration::from_millis(2500);

fn start(name: &str, emu: &EmulatorProc, lease: &LeaseApi, trace: &str, logs: &std::path::Path) -> DemoProc {
    DemoProc::start(
        name,
        &[
            "--arm-endpoint",
            &emu.url,
            "--lease-api",
            &lease.url,
            "--identity",
            name,
            "--lease-duration",
            "4s",
            "--lease-renew-before",
            "2s",
            "--lease-retry-period",
            "500ms",
            "--lease-safety",
            "500ms",
            "--trace",
            trace,
            "--speed",
            "2",
            "--seed",
            "7",
            "--duration",
            "3m",
        ],
        logs,
    )
}

fn is_leader(demo: &DemoProc) -> Option<bool> {
    demo.try_status().ok().and_then(|s| s["leader"].as_bool())
}

/// The identity in a `spillway/x (<identity>)` User-Agent.
fn writer(user_agent: &str) -> &str {
    user_agent
        .rsplit_once('(')
        .map(|(_, r)| r.trim_end_matches(')'))
        .unwrap_or(user_agent)
}

fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

/// When the Lease API recorded `identity` becoming the holder after `since`.
fn acquired_after(lease: &LeaseApi, identity: &str, since: SystemTime) -> Option<SystemTime> {
    lease
        .state()
        .holders
        .iter()
        .find(|(t, h)| *t >= since && h.as_deref() == Some(identity))
        .map(|(t, _)| *t)
}

#[test]
fn the_lease_holder_alone_writes_and_a_follower_takes_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);
    let lease = LeaseApi::start();
    let trace = logs.join("trace.csv");
    // Demand seconds at --speed 2: the peak from 5 s to 45 s of wall time.
    write_trace(
        &trace,
        900,
        |t| if (10..90).contains(&t) { 3500.0 } else { 400.0 },
    );
    let trace = trace.to_str().expect("utf-8 temp path").to_string();
    let mut seen = Witness::new(POLICY, 30, "demo-web-");

    // 1. `a` leads, `b` follows.
    let mut a = start("a", &emu, &lease, &trace, logs);
    wait("a to lead", Duration::from_secs(20), || {
        is_leader(&a) == Some(true)
    });
    let mut b = start("b", &emu, &lease, &trace, logs);
    seen.until("a's burst", &emu, &mut a, Duration::from_secs(60), |s, _| {
        s.live().len() >= 5
    });
    assert_eq!(is_leader(&b), Some(false), "b leads beside a");

    // 2. Freeze `a`; `b` takes over.
    let stopped = SystemTime::now();
    a.proc.signal("STOP");
    let state = emu.state();
    seen.kills.push(Kill {
        label: "a frozen".into(),
        alive: state.live_names(),
        writes_at: state.writes.len(),
    });
    wait(
        "b to lead",
        LEASE_DURATION + TAKEOVER_SLACK + Duration::from_secs(5),
        || is_leader(&b) == Some(true),
    );
    let took = acquired_after(&lease, "b", stopped)
        .and_then(|t| t.duration_since(stopped).ok())
        .expect("the Lease API recorded b as holder");
    eprintln!("b took the Lease {:.2}s after a froze", took.as_secs_f64());
    assert!(
        took <= LEASE_DURATION + TAKEOVER_SLACK,
        "b took over {took:?} after a froze (lease duration {LEASE_DURATION:?})"
    );
    // `b` adopts and keeps the burst; then `a` thaws and must stay quiet.
    seen.until(
        "b's first plan",
        &emu,
        &mut b,
        Duration::from_secs(10),
        |_, st| policy(st, POLICY)["lastTick"].as_i64().is_some(),
    );
    a.proc.signal("CONT");
    let thawed = Instant::now();
    wait("a to see it lost the Lease", Duration::from_secs(10), || {
        is_leader(&a) == Some(false)
    });
    eprintln!(
        "a, thawed, stood down after {:.2}s",
        thawed.elapsed().as_secs_f64()
    );

    // 3. The demand falls; kill `b` once it has deleted something.
    let since = emu.state().writes.len();
    let (state, _) = seen.until(
        "b deleting groups",
        &emu,
        &mut b,
        Duration::from_secs(90),
        |s, _| s.writes[since..].iter().any(|w| w.is_delete()),
    );
    assert!(!state.live().is_empty() || state.groups.iter().any(|g| g.deleted_at.is_none()));
    let killed = SystemTime::now();
    seen.kill("b, mid scale-in", &emu, &mut b);
    wait(
        "a to lead again",
        LEASE_DURATION + TAKEOVER_SLACK + Duration::from_secs(5),
        || is_leader(&a) == Some(true),
    );
    let took = acquired_after(&lease, "a", killed)
        .and_then(|t| t.duration_since(killed).ok())
        .expect("the Lease API recorded a as holder again");
    eprintln!(
        "a took the Lease back {:.2}s after b was killed",
        took.as_secs_f64()
    );
    assert!(
        took <= LEASE_DURATION + TAKEOVER_SLACK,
        "a took over {took:?} after b died"
    );
    seen.until(
        "every group deleted",
        &emu,
        &mut a,
        Duration::from_secs(90),
        |s, st: &Value| {
            s.groups.iter().all(|g| g.deleted_at.is_some())
                && policy(st, POLICY)["lastPlan"]["burstTarget"] == 0
        },
    );
    a.kill9();

    // Every write came from the holder of the moment.
    let state = emu.state();
    let mut by_writer: BTreeMap<String, usize> = BTreeMap::new();
    for w in &state.writes {
        let who = writer(&w.user_agent).to_string();
        let at = parse_utc(&w.at).unwrap_or_else(|| panic!("unparsable write time {}", w.at));
        let holder = lease.holder_at(at);
        assert_eq!(
            holder.as_deref(),
            Some(who.as_str()),
            "{} {} at {} came from {who:?} while {holder:?} held the Lease\nholders: {:?}",
            w.method,
            w.path,
            w.at,
            lease.state().holders
        );
        *by_writer.entry(who).or_default() += 1;
    }
    eprintln!(
        "writes by replica: {by_writer:?}; Lease requests: {:?}",
        lease.state().requests
    );
    assert!(by_writer.get("a").is_some_and(|n| *n > 0), "a never wrote");
    assert!(by_writer.get("b").is_some_and(|n| *n > 0), "b never wrote");
    seen.check_history(&state);
}
