//! A configuration change while running (issue 7, "Must show" 3):
//! `spillway demo --config FILE` during a sustained spike, against a
//! standalone `aci-emulator`.
//!
//! 1. A valid change (`burst.maxReplicas` 30 → 2) takes effect on the next
//!    tick: the plan's burst target drops to ≤ 2 with the reason
//!    `burstCappedMaxReplicas`, and the emulator's live groups fall to ≤ 2.
//! 2. An invalid document (broken YAML) is reported — `/status` says
//!    `configValid: false` with its errors — and the last good configuration
//!    keeps running: ticks go on, still capped at 2.
//! 3. A policy-level error (`burst.maxReplicas` above `maxReplicas`)
//!    disables that policy with its reason. What happens to its container
//!    groups (asserted here): nothing. They are kept as they are — no tick
//!    scales them, no garbage collection deletes them (the policy still
//!    exists by name) — until the policy is fixed, when they are adopted.
//! 4. Fixing the policy re-enables it; it adopts the groups (no PUT to them).

mod support_ctl;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use support_ctl::{DemoProc, EmulatorProc, has_reason, last_tick, policy, replace_file, wait_for};

const POLICY: &str = "web";
const POLL: Duration = Duration::from_millis(200);
const INTERVAL: Duration = Duration::from_secs(5); // `interval` of the demo's config

fn with_burst_max(base: &Value, n: u64) -> String {
    let mut doc = base.clone();
    doc["policies"][0]["burst"]["maxReplicas"] = Value::from(n);
    // The demo keeps a standby pool, which may not outgrow the burst.
    let pool = &mut doc["policies"][0]["burst"]["standbyPool"];
    if let Some(cap) = pool["maxReadyCapacity"].as_u64() {
        pool["maxReadyCapacity"] = Value::from(cap.min(n));
    }
    serde_json::to_string_pretty(&doc).expect("JSON")
}

fn burst_target(status: &Value) -> Option<u64> {
    policy(status, POLICY)["lastPlan"]["burstTarget"].as_u64()
}

fn config_errors(status: &Value) -> Vec<String> {
    status["configErrors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{}: {}",
                e["path"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Waits until the policy has ticked `n` more times after `after` and checks
/// every tick seen on the way with `check`.
fn next_ticks(demo: &mut DemoProc, after: Option<i64>, n: usize, mut check: impl FnMut(&Value)) -> i64 {
    let mut seen = BTreeSet::new();
    let mut last = after;
    let deadline = Instant::now() + INTERVAL * (n as u32 + 1) + Duration::from_secs(3);
    loop {
        let st = demo.status();
        if let Some(t) = last_tick(&st, POLICY)
            && Some(t) != last
        {
            check(&st);
            seen.insert(t);
            last = Some(t);
            if seen.len() >= n {
                return t;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the policy ticked {} times, not {n}, after lastTick {after:?}\n{}",
            seen.len(),
            policy(&st, POLICY)
        );
        std::thread::sleep(POLL);
    }
}

#[test]
fn config_changes_valid_invalid_and_policy_error_while_running() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);

    let base = support_ctl::demo_config();
    assert_eq!(base["policies"][0]["name"], POLICY);
    assert_eq!(base["policies"][0]["burst"]["maxReplicas"], 30);
    let (mut demo, cfg) = support_ctl::start_demo_with_config(&emu.url, &base, logs);
    let st = wait_for(
        "the configuration loaded",
        Duration::from_secs(5),
        POLL,
        || demo.try_status().ok().filter(|st| st["configLoaded"] == true),
        || format!("{}", demo.try_status().unwrap_or_default()),
    );
    assert_eq!(st["configValid"], true, "{st}");
    assert!(config_errors(&st).is_empty(), "{st}");

    // The spike: more than 2 burst replicas planned and created.
    wait_for(
        "a burst of more than 2 groups",
        Duration::from_secs(60),
        POLL,
        || {
            let st = demo.try_status().ok()?;
            (burst_target(&st)? > 2 && emu.state().live().len() > 2).then_some(())
        },
        || format!("{}\n{}", emu.state().dump(), demo.proc.logs()),
    );

    // 1. A valid change: burst.maxReplicas 30 → 2.
    let before = last_tick(&demo.status(), POLICY);
    let written = Instant::now();
    replace_file(&cfg, &with_burst_max(&base, 2));
    let mut uncapped_ticks = 0;
    let mut capped_after = None;
    let deadline = written + INTERVAL + Duration::from_secs(3);
    let mut last = before;
    while capped_after.is_none() {
        let st = demo.status();
        let t = last_tick(&st, POLICY);
        if t != last {
            last = t;
            if burst_target(&st).is_some_and(|b| b <= 2)
                && has_reason(&st, POLICY, "burst_capped_max_replicas")
            {
                capped_after = Some(written.elapsed());
            } else {
                // At most the one tick that may run before the file is re-read.
                uncapped_ticks += 1;
            }
        }
        assert!(
            uncapped_ticks <= 1 && Instant::now() < deadline,
            "burst.maxReplicas 2 not in effect {:?} after the change ({uncapped_ticks} ticks without it)\n{}",
            written.elapsed(),
            policy(&st, POLICY)
        );
        std::thread::sleep(POLL);
    }
    eprintln!(
        "maxReplicas 2 in effect {:.1}s after the write ({uncapped_ticks} tick before it)",
        capped_after.map(|d| d.as_secs_f64()).unwrap_or_default()
    );

    // 2. An invalid document: reported; the last good one keeps running.
    replace_file(&cfg, "cluster: { id: demo\npolicies: [ { name: web,\n");
    let st = wait_for(
        "configValid false with the document's errors",
        Duration::from_secs(5),
        POLL,
        || {
            let st = demo.try_status().ok()?;
            (st["configValid"] == false && !config_errors(&st).is_empty()).then_some(st)
        },
        || format!("{}", demo.try_status().unwrap_or_default()),
    );
    eprintln!("invalid YAML reported: {:?}", config_errors(&st));
    assert_eq!(st["configLoaded"], true, "{st}");
    assert_eq!(policy(&st, POLICY)["enabled"], true, "{st}");
    let after_invalid = next_ticks(&mut demo, last_tick(&st, POLICY), 2, |st| {
        assert!(
            burst_target(st).is_some_and(|b| b <= 2) && has_reason(st, POLICY, "burst_capped_max_replicas"),
            "the last good configuration (burst.maxReplicas 2) is no longer in effect\n{}",
            policy(st, POLICY)
        );
        assert_eq!(st["configValid"], false, "{st}");
    });
    // …and in the emulator: the excess groups drain and go.
    let scale_in = Instant::now();
    let survivors = wait_for(
        "at most 2 live groups",
        Duration::from_secs(45),
        POLL,
        || {
            let s = emu.state();
            (s.live().len() <= 2 && s.groups.iter().all(|g| g.live() || g.deleted_at.is_some()))
                .then(|| s.live_names())
        },
        || emu.state().dump(),
    );
    eprintln!(
        "scaled in to {} groups {:.0}s after the invalid document",
        survivors.len(),
        scale_in.elapsed().as_secs_f64()
    );
    let st = demo.status();
    assert_eq!(st["configValid"], false, "{st}");
    assert!(
        last_tick(&st, POLICY) >= Some(after_invalid),
        "{}",
        policy(&st, POLICY)
    );
    assert!(
        !survivors.is_empty(),
        "the cap is 2, not 0\n{}",
        emu.state().dump()
    );

    // 3. A policy-level error: burst.maxReplicas 100 above maxReplicas 60.
    replace_file(&cfg, &with_burst_max(&base, 100));
    let st = wait_for(
        "the policy disabled",
        Duration::from_secs(5),
        POLL,
        || {
            let st = demo.try_status().ok()?;
            (policy(&st, POLICY)["enabled"] == false).then_some(st)
        },
        || format!("{}", demo.try_status().unwrap_or_default()),
    );
    let reasons: Vec<String> = policy(&st, POLICY)["disabledReasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("burst.maxReplicas")),
        "disabledReasons should name burst.maxReplicas: {reasons:?}"
    );
    assert_eq!(st["configValid"], false, "{st}");
    assert!(
        config_errors(&st)
            .iter()
            .any(|e| e.starts_with("policies[0].burst.maxReplicas")),
        "configErrors: {:?}",
        config_errors(&st)
    );
    eprintln!("policy disabled: {reasons:?}");
    // A tick that had already begun may still finish.
    std::thread::sleep(Duration::from_secs(1));
    let frozen_tick = last_tick(&demo.status(), POLICY);
    let frozen = emu.state();
    // Two intervals and a garbage-collection pass (every 10 s in the demo).
    std::thread::sleep(Duration::from_secs(12));
    let st = demo.status();
    assert_eq!(
        last_tick(&st, POLICY),
        frozen_tick,
        "a disabled policy must not tick\n{}",
        policy(&st, POLICY)
    );
    let now = emu.state();
    let new_writes: Vec<String> = now.group_writes()[frozen.group_writes().len()..]
        .iter()
        .map(|w| format!("{} {} {}", w.method, w.group().unwrap_or_default(), w.status))
        .collect();
    assert!(
        new_writes.is_empty(),
        "a disabled policy's groups must be left alone, but: {new_writes:?}"
    );
    assert_eq!(
        now.live_names(),
        survivors,
        "a disabled policy's groups are kept as they are"
    );

    // 4. Fixed again: re-enabled, ticking, and it adopts its groups.
    let writes_before = now.writes.len();
    replace_file(&cfg, &with_burst_max(&base, 2));
    let st = wait_for(
        "the policy enabled and ticking again",
        Duration::from_secs(10),
        POLL,
        || {
            let st = demo.try_status().ok()?;
            (policy(&st, POLICY)["enabled"] == true
                && st["configValid"] == true
                && last_tick(&st, POLICY) != frozen_tick)
                .then_some(st)
        },
        || format!("{}", demo.try_status().unwrap_or_default()),
    );
    assert!(config_errors(&st).is_empty(), "{st}");
    assert!(
        burst_target(&st).is_some_and(|b| b <= 2),
        "{}",
        policy(&st, POLICY)
    );
    next_ticks(&mut demo, last_tick(&st, POLICY), 1, |_| {});
    let after = emu.state();
    let rewritten: Vec<String> = after.writes[writes_before..]
        .iter()
        .filter(|w| w.is_put() && w.group().is_some_and(|g| survivors.contains(g)))
        .map(|w| format!("{} {} -> {}", w.at, w.group().unwrap_or_default(), w.status))
        .collect();
    assert!(
        rewritten.is_empty(),
        "the re-enabled policy PUT its existing groups again: {rewritten:?}"
    );
    assert_eq!(after.live_names(), survivors, "{}", after.dump());

    demo.kill9();
    eprintln!("config test: {:.0}s", t0.elapsed().as_secs_f64());
}
