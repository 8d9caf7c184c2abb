//! Restart in the middle of a burst (issue 7, "Must show" 2; groundwork for
//! issue 8's crash tests): `spillway demo` against a standalone
//! `aci-emulator` is killed with SIGKILL three times — while container groups
//! are being created (mid-LRO), while they are being drained, and while they
//! are being deleted — and restarted each time against the same emulator.
//! The emulator's inventory and write log are the witness:
//!
//! * adoption: each restarted process's first plan counts the groups that
//!   were alive at the kill and plans no create of any of them;
//! * no duplicate: no PUT ever reaches a group that is alive since before a
//!   kill (until that group has been DELETEd), every group name ever created
//!   is `demo-web-N` with contiguous ordinals `0..K`, and `K` is at most the
//!   largest burst target any plan asked for;
//! * no leak: once demand has fallen, every group ever created is deleted.
//!
//! The demand is a `--trace` per process so that a restarted process sees
//! the demand where the killed one left it (the demo's clock starts at 0 on
//! every start). Every trace holds the same peak value (3500/s, scaled by the
//! demo to 2.5 × the 14-replica VM pool = 35 replicas), so the scaling is the
//! same in every run: 35 desired at the peak, about 14 on VMs, about 21 burst
//! replicas.

mod support_ctl;

use std::path::Path;
use std::time::{Duration, Instant};

use support_ctl::witness::Witness;
use support_ctl::{DemoProc, EmulatorProc, policy, write_trace};

const POLICY: &str = "web";
const BURST_MAX_REPLICAS: u32 = 30; // burst.maxReplicas of the demo's config
const PEAK: f64 = 3500.0;
const BASE: f64 = 400.0;

fn start(name: &str, emu: &EmulatorProc, trace: &Path, logs: &Path) -> DemoProc {
    let trace = trace.to_str().expect("utf-8 temp path");
    DemoProc::start(
        name,
        &[
            "--arm-endpoint",
            &emu.url,
            "--speed",
            "2",
            "--seed",
            "7",
            "--trace",
            trace,
            "--duration",
            "3m",
        ],
        logs,
    )
}

#[test]
fn kill_9_mid_burst_adopts_without_duplicates_or_leaks() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);

    // Demand seconds (the demo plays them at --speed 2).
    let rise = logs.join("rise.csv");
    write_trace(&rise, 900, |t| if t < 10 { BASE } else { PEAK });
    let fall = logs.join("fall.csv");
    write_trace(&fall, 900, |t| if t < 20 { PEAK } else { BASE });
    // Medium demand (20 replicas: 14 on VMs, 6 burst), then low demand; the one peak row far beyond the test's end only keeps the
    // trace's scale identical to the others.
    let medium = logs.join("medium.csv");
    write_trace(&medium, 901, |t| if t < 900 { 2000.0 } else { PEAK });
    let low = logs.join("low.csv");
    write_trace(&low, 901, |t| if t < 900 { BASE } else { PEAK });

    let mut seen = Witness::new(POLICY, BURST_MAX_REPLICAS, "demo-web-");

    // 1. The spike rises; kill while groups are still provisioning.
    let mut demo = start("demo-1", &emu, &rise, logs);
    seen.until(
        "burst groups, some Succeeded and some still provisioning",
        &emu,
        &mut demo,
        Duration::from_secs(60),
        |s, _| {
            let ok = s.count_state("Succeeded");
            s.live().len() >= 5 && ok > 0 && s.live().len() > ok
        },
    );
    seen.kill("during creates", &emu, &mut demo);
    drop(demo);

    // 2. Restart at the peak: adopt, converge, then the demand falls; kill while draining.
    let mut demo = start("demo-2", &emu, &fall, logs);
    seen.check_adoption(&emu, &mut demo);
    seen.until_converged(&emu, &mut demo, Duration::from_secs(30));
    seen.until(
        "burst replicas draining",
        &emu,
        &mut demo,
        Duration::from_secs(60),
        |_, st| {
            let plan = &policy(st, POLICY)["lastPlan"];
            plan["burst"]["draining"].as_u64().unwrap_or(0) > 0
                || plan["drains"].as_array().is_some_and(|d| !d.is_empty())
        },
    );
    seen.kill("during drains", &emu, &mut demo);
    drop(demo);

    // 3. Restart at a lower demand: it must drain the excess again (drains
    //    were in memory) and delete it; kill as soon as the first DELETE
    //    reaches the emulator, with the groups still wanted alive.
    let mut demo = start("demo-3", &emu, &medium, logs);
    seen.check_adoption(&emu, &mut demo);
    let since = seen.kills.last().map(|k| k.writes_at).unwrap_or(0);
    seen.until(
        "a DELETE from the restarted process",
        &emu,
        &mut demo,
        Duration::from_secs(45),
        |s, _| {
            s.writes[since.min(s.writes.len())..]
                .iter()
                .any(|w| w.is_delete())
        },
    );
    seen.kill("during deletes", &emu, &mut demo);
    drop(demo);
    assert!(
        seen.kills.last().is_some_and(|k| !k.alive.is_empty()),
        "the scale-in to the medium demand should have left groups alive"
    );

    // 4. Restart at low demand and let it finish the scale-in.
    let mut demo = start("demo-4", &emu, &low, logs);
    seen.check_adoption(&emu, &mut demo);
    seen.until_all_deleted(&emu, &mut demo, Duration::from_secs(60));
    demo.kill9();
    drop(demo);

    let state = emu.state();
    seen.check_history(&state);

    eprintln!(
        "{} groups created (peak burst target {}), {} writes, {} kills, {:.0}s",
        state.groups.len(),
        seen.max_burst_target,
        state.writes.len(),
        seen.kills.len(),
        t0.elapsed().as_secs_f64()
    );
}
