//! ARM faults during a burst (issue 8, "ARM faults"): `spillway demo`
//! against a standalone `aci-emulator` whose faults are set by flags or
//! through `PATCH /_emulator/faults`, through a spike of demand (a `--trace`
//! whose peak is 35 replicas: 14 fit the VM pool, about 21 burst).
//!
//! * `capacity_errors_in_the_primary_location_fall_back`: `westeurope` has
//!   no capacity (`409 ServiceUnavailable`): the groups are created in the
//!   fallback `northeurope`, `/status` gives the reason `location_fallback`,
//!   no group ever lives in `westeurope`, and every group is deleted after
//!   the spike.
//! * `burst_survives_a_storm_of_5xx_and_long_429_and_recovers`: while the burst
//!   grows, 20 % random 5xx and a forced 429 with `Retry-After: 120` (above
//!   the client's cap, so it is not slept on): no group is deleted (no
//!   DELETE is accepted during the storm, every group alive when it started
//!   is still alive when it ends), `/status` reports the errors; once the
//!   faults are cleared the burst reaches its target, and after the spike
//!   every group is deleted.
//! * `lros_that_never_finish_are_adopted_and_cleaned_up`: every create's
//!   operation stays `Pending` forever: the groups are seen through the list
//!   (the plan counts them, none is PUT twice) and all are deleted at the end.
//!
//! Everywhere: never more live groups than `burst.maxReplicas` (30).

mod support_ctl;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support_ctl::{DemoProc, EmuState, EmulatorProc, last_tick, policy, reason_codes, write_trace};

const POLICY: &str = "web";
const BURST_MAX_REPLICAS: usize = 30; // burst.maxReplicas of the demo's config
const PEAK: f64 = 3500.0;
const BASE: f64 = 400.0;
const POLL: Duration = Duration::from_millis(250);

/// The peak from 10 s to `until` (demand seconds), the base before and after.
fn spike(until: u32) -> impl Fn(u32) -> f64 {
    move |t| if (10..until).contains(&t) { PEAK } else { BASE }
}

/// An emulator and a demo against it, sampled together.
struct Run {
    emu: EmulatorProc,
    demo: DemoProc,
    max_live: usize,
    max_target: u64,
    reasons: BTreeSet<String>,
    ticks: BTreeSet<i64>,
    _dir: tempfile::TempDir,
}

impl Run {
    /// `demand(t)` for `t` in demand seconds, played at `--speed 2`.
    fn start(
        emu_flags: &[&str],
        demand: impl Fn(u32) -> f64,
        before_demo: impl FnOnce(&EmulatorProc),
    ) -> Run {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = dir.path();
        let emu = EmulatorProc::start_with(logs, emu_flags);
        before_demo(&emu);
        let trace = logs.join("spike.csv");
        write_trace(&trace, 900, demand);
        let path = |p: &Path| p.to_str().expect("utf-8 temp path").to_string();
        let trace_arg = path(&trace);
        let demo = DemoProc::start(
            "demo",
            &[
                "--arm-endpoint",
                &emu.url,
                "--trace",
                &trace_arg,
                "--speed",
                "2",
                "--seed",
                "7",
                "--duration",
                "5m",
            ],
            logs,
        );
        Run {
            emu,
            demo,
            max_live: 0,
            max_target: 0,
            reasons: BTreeSet::new(),
            ticks: BTreeSet::new(),
            _dir: dir,
        }
    }

    /// One sample, with the invariant that holds everywhere: live ≤ cap.
    fn sample(&mut self) -> (EmuState, Value) {
        let state = self.emu.state();
        let status = self.demo.status();
        let live = state.live().len();
        self.max_live = self.max_live.max(live);
        assert!(
            live <= BURST_MAX_REPLICAS,
            "{live} live groups exceed burst.maxReplicas {BURST_MAX_REPLICAS}\n{}",
            state.dump()
        );
        if let Some(t) = last_tick(&status, POLICY) {
            self.ticks.insert(t);
        }
        if let Some(t) = burst_target(&status) {
            self.max_target = self.max_target.max(t);
        }
        self.reasons.extend(reason_codes(&status, POLICY));
        (state, status)
    }

    /// Samples until `done`; panics after `timeout`.
    fn until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&EmuState, &Value) -> bool,
    ) -> (EmuState, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let (state, status) = self.sample();
            if done(&state, &status) {
                return (state, status);
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}\nstatus: {}\n{}\n{}",
                policy(&status, POLICY),
                state.dump(),
                self.demo.proc.logs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// After the spike: every group ever created is deleted (no leak), and
    /// the last plan wants no burst replica.
    fn until_no_leak(&mut self, timeout: Duration) -> EmuState {
        let (state, _) = self.until("every group deleted after the spike", timeout, |s, st| {
            s.groups.iter().all(|g| g.deleted_at.is_some()) && burst_target(st) == Some(0)
        });
        state
    }
}

fn burst_target(status: &Value) -> Option<u64> {
    policy(status, POLICY)["lastPlan"]["burstTarget"].as_u64()
}

fn errors(status: &Value) -> Vec<String> {
    policy(status, POLICY)["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// Groups the last plan counts (ready + provisioning + draining + failed).
fn counted(status: &Value) -> u64 {
    let burst = &policy(status, POLICY)["lastPlan"]["burst"];
    ["ready", "provisioning", "draining", "failed"]
        .iter()
        .map(|k| burst[k].as_u64().unwrap_or(0))
        .sum()
}

/// Accepted PUTs per group name.
fn accepted_puts(state: &EmuState) -> BTreeMap<String, usize> {
    let mut puts = BTreeMap::new();
    for w in state.group_writes() {
        if w.is_put() && (200..300).contains(&w.status) {
            *puts.entry(w.group().unwrap_or_default().to_string()).or_insert(0) += 1;
        }
    }
    puts
}

#[test]
fn capacity_errors_in_the_primary_location_fall_back() {
    let t0 = Instant::now();
    let mut run = Run::start(&["--capacity-unavailable", "westeurope"], spike(50), |_| {});

    let (state, _) = run.until(
        "at least 5 live groups in northeurope",
        Duration::from_secs(60),
        |s, _| s.live().iter().filter(|g| g.location == "northeurope").count() >= 5,
    );
    let refused = state
        .group_writes()
        .iter()
        .filter(|w| w.is_put() && w.status == 409)
        .count();
    assert!(
        refused >= 1,
        "no create was refused in westeurope: was the primary location tried at all?\n{}",
        state.dump()
    );
    assert!(
        run.reasons.contains("location_fallback"),
        "no plan gave the reason location_fallback (reasons seen: {:?})",
        run.reasons
    );
    let st = run.demo.status();
    assert!(
        errors(&st).iter().any(|e| e.contains("create")),
        "the refused create is not reported in /status errors: {:?}",
        errors(&st)
    );

    let state = run.until_no_leak(Duration::from_secs(120));
    let elsewhere: Vec<String> = state
        .groups
        .iter()
        .filter(|g| g.location != "northeurope")
        .map(|g| format!("{} in {}", g.name, g.location))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "groups outside the fallback location: {elsewhere:?}"
    );
    eprintln!(
        "capacity fallback: {} groups created in northeurope ({refused} refused in westeurope at first), \
         up to {} live, burst target up to {}, all deleted after {:.0}s",
        state.groups.len(),
        run.max_live,
        run.max_target,
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn burst_survives_a_storm_of_5xx_and_long_429_and_recovers() {
    let t0 = Instant::now();
    // A first step (2000/s: 20 replicas, about 6 burst) from 10 s, the peak
    // (35 replicas) from 60 s to 150 s: the storm starts during the first
    // step, so the creates of the peak are attempted under it.
    let mut run = Run::start(
        &[],
        |t| match t {
            10..60 => 2000.0,
            60..150 => PEAK,
            _ => BASE,
        },
        |_| {},
    );

    // The burst is under way.
    let (state, st) = run.until("at least 3 live groups", Duration::from_secs(60), |s, _| {
        s.live().len() >= 3
    });
    assert!(
        burst_target(&st).unwrap_or(0) < 10,
        "the peak was already planned before the storm: {}",
        policy(&st, POLICY)["lastPlan"]
    );
    let errors_before = errors(&st).len();
    let alive_before = state.live_names();
    let writes_before = state.writes.len();

    // The storm: 20 % 5xx on every request, and every write throttled with
    // a Retry-After the client will not sleep on, for at least 15 s and
    // until two ticks planned creates under it.
    run.emu.patch_faults(&json!({
        "error5xxRate": 0.2,
        "forceThrottle": { "count": 1_000_000, "retryAfterSecs": 120, "scope": "writes" }
    }));
    let storm = Instant::now();
    // The tick seen as the storm begins ran before it (its creates went out
    // unthrottled): only later ticks count as ticks of the storm.
    let before_storm = last_tick(&run.sample().1, POLICY);
    let mut ticks_in_storm = BTreeSet::new();
    let mut ticks_with_creates = BTreeSet::new();
    while storm.elapsed() < Duration::from_secs(15) || ticks_with_creates.len() < 2 {
        let (state, st) = run.sample();
        if let Some(t) = last_tick(&st, POLICY).filter(|t| before_storm.is_none_or(|b| *t > b)) {
            ticks_in_storm.insert(t);
            if policy(&st, POLICY)["lastPlan"]["creates"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
            {
                ticks_with_creates.insert(t);
            }
        }
        let deletes: Vec<String> = state.writes[writes_before..]
            .iter()
            .filter(|w| w.is_delete())
            .map(|w| format!("{} {} -> {}", w.at, w.path, w.status))
            .collect();
        assert!(deletes.is_empty(), "deletes tried during the storm: {deletes:?}");
        assert!(
            storm.elapsed() < Duration::from_secs(40),
            "no two ticks planned creates during the storm (ticks {ticks_in_storm:?})\n{}",
            policy(&st, POLICY)
        );
        std::thread::sleep(POLL);
    }
    // The plan is published before its creates are sent (the standby pool
    // is synced in between): wait for them to reach the server.
    let (state, st) = run.until(
        "a create answered 429 during the storm",
        Duration::from_secs(20),
        |s, _| {
            s.writes[writes_before..]
                .iter()
                .any(|w| w.is_put() && w.status == 429)
        },
    );
    let alive_after = state.live_names();
    let gone: Vec<&String> = alive_before.difference(&alive_after).collect();
    assert!(
        gone.is_empty(),
        "groups lost during the storm: {gone:?}\n{}",
        state.dump()
    );
    let throttled_puts = state.writes[writes_before..]
        .iter()
        .filter(|w| w.is_put() && w.status == 429)
        .count();
    assert!(
        throttled_puts > 0,
        "no create was tried during the storm\n{}",
        state.dump()
    );
    let storm_errors = errors(&st);
    assert!(
        storm_errors.len() > errors_before || storm_errors.iter().any(|e| e.contains("throttled")),
        "the storm is not reported in /status errors: {storm_errors:?}"
    );
    assert!(
        ticks_in_storm.len() >= 3,
        "the controller stopped ticking during the storm: {ticks_in_storm:?}"
    );
    eprintln!(
        "storm of {:.0}s: {} ticks ({} with creates), {throttled_puts} creates answered 429, \
         live {} -> {}, last error: {:?}",
        storm.elapsed().as_secs_f64(),
        ticks_in_storm.len(),
        ticks_with_creates.len(),
        alive_before.len(),
        alive_after.len(),
        storm_errors.last()
    );

    // Recovery: the faults cleared, the burst reaches its target (the
    // peak's), still without deleting anything.
    run.emu
        .patch_faults(&json!({ "error5xxRate": 0.0, "forceThrottle": null }));
    let cleared = Instant::now();
    let (state, st) = run.until(
        "the burst at its target after the storm",
        Duration::from_secs(60),
        |s, st| {
            let target = burst_target(st).unwrap_or(0) as usize;
            target >= 15 && s.count_state("Succeeded") >= target
        },
    );
    let deletes = state.writes[writes_before..]
        .iter()
        .filter(|w| w.is_delete())
        .count();
    assert_eq!(deletes, 0, "deletes before the spike ended\n{}", state.dump());
    eprintln!(
        "recovered {:.0}s after the faults were cleared: {} groups Succeeded, burst target {}",
        cleared.elapsed().as_secs_f64(),
        state.count_state("Succeeded"),
        burst_target(&st).unwrap_or(0)
    );

    let state = run.until_no_leak(Duration::from_secs(120));
    let dup: Vec<(String, usize)> = accepted_puts(&state)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        dup.is_empty(),
        "groups PUT more than once: {dup:?}\n{}",
        state.dump()
    );
    eprintln!(
        "storm: {} groups created, up to {} live, all deleted after {:.0}s",
        state.groups.len(),
        run.max_live,
        t0.elapsed().as_secs_f64()
    );
}

#[test]
fn lros_that_never_finish_are_adopted_and_cleaned_up() {
    let t0 = Instant::now();
    let mut run = Run::start(&[], spike(60), |emu| {
        emu.patch_faults(&json!({ "lroNeverFinish": true }))
    });

    let (state, _) = run.until("at least 5 groups created", Duration::from_secs(60), |s, _| {
        s.live().len() >= 5
    });
    let stuck: Vec<String> = state
        .live()
        .iter()
        .filter(|g| g.provisioning_state != "Succeeded")
        .map(|g| g.name.clone())
        .collect();
    assert_eq!(
        stuck.len(),
        state.live().len(),
        "with lroNeverFinish no group should finish provisioning\n{}",
        state.dump()
    );
    // The next full tick lists them: the plan counts every one of them.
    let seen_at = run.sample().1;
    let after = last_tick(&seen_at, POLICY);
    let (state, st) = run.until(
        "a tick that counts the stuck groups",
        Duration::from_secs(15),
        |s, st| last_tick(st, POLICY) != after && counted(st) as usize >= s.live().len().min(stuck.len()),
    );
    eprintln!(
        "never-finishing LROs: {} groups live, plan counts {} ({})",
        state.live().len(),
        counted(&st),
        policy(&st, POLICY)["lastPlan"]["burst"]
    );

    // Deletes must finish for the clean-up to be visible: the fault is
    // cleared (the groups already created stay Pending for ever).
    run.emu.patch_faults(&json!({ "lroNeverFinish": false }));
    let state = run.until_no_leak(Duration::from_secs(120));
    let puts = accepted_puts(&state);
    let dup: Vec<(&String, &usize)> = puts
        .iter()
        .filter(|(n, c)| **c > 1 && stuck.contains(n))
        .collect();
    assert!(
        dup.is_empty(),
        "never-finishing groups PUT again (not adopted): {dup:?}\n{}",
        state.dump()
    );
    for name in &stuck {
        assert!(
            state
                .group_writes()
                .iter()
                .any(|w| w.is_delete() && w.group() == Some(name) && (200..300).contains(&w.status)),
            "{name} was never deleted\n{}",
            state.dump()
        );
    }
    eprintln!(
        "never-finishing LROs: {} groups created, {} stuck in Pending, all deleted after {:.0}s",
        state.groups.len(),
        stuck.len(),
        t0.elapsed().as_secs_f64()
    );
}
