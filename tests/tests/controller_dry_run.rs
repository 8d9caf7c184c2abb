//! `--dry-run` performs no write (issue 7, "Must show" 4): `spillway demo
//! --dry-run --speed 4` through the demo's whole spike against a standalone
//! `aci-emulator`. The emulator records no PUT, PATCH, POST or DELETE on a
//! container group and holds no group, while `/status` shows that the
//! controller did plan creates during the spike (so it was listing the
//! emulator and planning, not idle or failing).

mod support_ctl;

use std::time::{Duration, Instant};

use support_ctl::{DemoProc, EmulatorProc, last_tick, policy};

const POLICY: &str = "web";

#[test]
fn dry_run_plans_creates_through_the_spike_and_writes_nothing() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);
    // The demo's own demand: a spike from 20 s to about 110 s of demand
    // time, i.e. 5 s to about 28 s of wall time at --speed 4.
    let mut demo = DemoProc::start(
        "demo",
        &[
            "--arm-endpoint",
            &emu.url,
            "--dry-run",
            "--speed",
            "4",
            "--seed",
            "7",
            "--duration",
            "2m",
        ],
        logs,
    );

    let started = Instant::now();
    let through_spike = Duration::from_secs(36);
    let mut ticks = std::collections::BTreeSet::new();
    let mut max_creates = 0usize;
    let mut max_target = 0u64;
    let mut spike_over = false;
    while started.elapsed() < through_spike || !spike_over {
        assert!(
            started.elapsed() < through_spike + Duration::from_secs(20),
            "the spike never ended: burst target still {max_target}\n{}",
            policy(&demo.status(), POLICY)
        );
        let st = demo.status();
        let p = policy(&st, POLICY);
        if let Some(t) = last_tick(&st, POLICY) {
            ticks.insert(t);
            assert_eq!(p["dryRun"], true, "{p}");
            let plan = &p["lastPlan"];
            let creates = plan["creates"].as_array().map(Vec::len).unwrap_or(0);
            let target = plan["burstTarget"].as_u64().unwrap_or(0);
            max_creates = max_creates.max(creates);
            max_target = max_target.max(target);
            spike_over = max_target > 0 && target == 0 && creates == 0;
        }
        // Checked all along, not only at the end.
        let state = emu.state();
        let writes: Vec<String> = state
            .group_writes()
            .iter()
            .map(|w| format!("{} {} {} -> {}", w.at, w.method, w.path, w.status))
            .collect();
        assert!(writes.is_empty(), "--dry-run wrote: {writes:?}");
        assert!(
            state.groups.is_empty(),
            "--dry-run created groups\n{}",
            state.dump()
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    let st = demo.status();
    let p = policy(&st, POLICY);
    assert!(
        max_creates > 0 && max_target > 0,
        "no plan during the spike asked for burst replicas (max creates {max_creates}, burst target {max_target})"
    );
    assert!(
        ticks.len() >= 5,
        "only {} ticks in {:?}",
        ticks.len(),
        started.elapsed()
    );
    // Every tick listed the emulator successfully: a failed list is an error, not a plan.
    assert!(
        p["errors"].as_array().is_none_or(|e| e.is_empty()),
        "errors: {}",
        p["errors"]
    );
    let state = emu.state();
    let writes: Vec<&str> = state
        .writes
        .iter()
        .filter(|w| w.is_put() || w.is_delete())
        .map(|w| w.path.as_str())
        .collect();
    assert!(writes.is_empty(), "--dry-run wrote: {writes:?}");
    demo.kill9();
    eprintln!(
        "dry run: {} ticks, up to {max_creates} creates planned (burst target up to {max_target}), \
         0 writes, {:.0}s",
        ticks.len(),
        t0.elapsed().as_secs_f64()
    );
}
