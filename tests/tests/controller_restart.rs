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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support_ctl::{DemoProc, EmuState, EmulatorProc, last_tick, policy, write_trace};

const POLICY: &str = "web";
const BURST_MAX_REPLICAS: u32 = 30; // burst.maxReplicas of the demo's config
const PEAK: f64 = 3500.0;
const BASE: f64 = 400.0;
const POLL: Duration = Duration::from_millis(200);

/// One SIGKILL: what was alive at that moment and where the write log stood.
struct Kill {
    label: &'static str,
    /// Groups alive (not deleted, not deleting) right after the kill.
    alive: BTreeSet<String>,
    /// Index into the emulator's write log of the first write after the kill.
    writes_at: usize,
}

/// What the test saw while polling, across every process.
#[derive(Default)]
struct Seen {
    max_burst_target: u64,
    max_live: usize,
    kills: Vec<Kill>,
}

impl Seen {
    /// One sample: the emulator first, then `/status` (a plan is on the
    /// board before its creates are sent, so every group seen in the
    /// emulator has its plan on the board by the time `/status` is read).
    fn sample(&mut self, emu: &EmulatorProc, demo: &mut DemoProc) -> (EmuState, Value) {
        let state = emu.state();
        let status = demo.status();
        if let Some(t) = policy(&status, POLICY)["lastPlan"]["burstTarget"].as_u64() {
            self.max_burst_target = self.max_burst_target.max(t);
        }
        let live = state.live().len();
        self.max_live = self.max_live.max(live);
        assert!(
            live <= BURST_MAX_REPLICAS as usize,
            "{live} live groups exceed burst.maxReplicas {BURST_MAX_REPLICAS}\n{}",
            state.dump()
        );
        (state, status)
    }

    /// Polls until `done` says so; panics after `timeout`.
    fn until(
        &mut self,
        what: &str,
        emu: &EmulatorProc,
        demo: &mut DemoProc,
        timeout: Duration,
        mut done: impl FnMut(&EmuState, &Value) -> bool,
    ) -> (EmuState, Value) {
        let deadline = Instant::now() + timeout;
        loop {
            let (state, status) = self.sample(emu, demo);
            if done(&state, &status) {
                return (state, status);
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}\nstatus: {}\n{}\n{}",
                policy(&status, POLICY),
                state.dump(),
                demo.proc.logs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILL, then record what survived it.
    fn kill(&mut self, label: &'static str, emu: &EmulatorProc, demo: &mut DemoProc) {
        demo.kill9();
        // A request the dead process had already sent may still be answered.
        std::thread::sleep(Duration::from_millis(300));
        let state = emu.state();
        eprintln!(
            "killed {label}: {} live groups ({} Succeeded), {} writes so far",
            state.live().len(),
            state.count_state("Succeeded"),
            state.writes.len()
        );
        self.kills.push(Kill {
            label,
            alive: state.live_names(),
            writes_at: state.writes.len(),
        });
    }

    /// Adoption, as the restarted process's first plan shows it: it counts
    /// the groups alive at the kill and creates none of them.
    fn check_adoption(&mut self, emu: &EmulatorProc, demo: &mut DemoProc) {
        let kill = self.kills.last().expect("a kill before a restart");
        let (alive, label, writes_at) = (kill.alive.clone(), kill.label, kill.writes_at);
        let (state, status) = self.until(
            "the restarted process's first plan",
            emu,
            demo,
            Duration::from_secs(20),
            |_, st| last_tick(st, POLICY).is_some(),
        );
        let plan = &policy(&status, POLICY)["lastPlan"];
        let burst = &plan["burst"];
        let seen: u64 = ["ready", "provisioning", "draining", "failed"]
            .iter()
            .map(|k| burst[k].as_u64().unwrap_or(0))
            .sum();
        let deleted_since = state.writes[writes_at..]
            .iter()
            .filter(|w| w.is_delete() && w.group().is_some_and(|g| alive.contains(g)))
            .count();
        assert!(
            seen + deleted_since as u64 >= alive.len() as u64,
            "after the kill {label}, {} groups were alive ({alive:?}) but the restarted process's \
             first plan counts {seen} burst replicas: it did not adopt them\nplan: {plan}",
            alive.len()
        );
        let recreated: Vec<&str> = plan["creates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .filter(|n| alive.contains(*n))
            .collect();
        assert!(
            recreated.is_empty(),
            "after the kill {label}, the restarted process's first plan creates groups that \
             already exist: {recreated:?}\nplan: {plan}"
        );
        eprintln!(
            "restart after the kill {label}: first plan (lastTick {:?}) counts {seen} burst replicas of {} alive",
            last_tick(&status, POLICY),
            alive.len()
        );
    }
}

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

fn burst_total(status: &Value) -> u64 {
    let b = &policy(status, POLICY)["lastPlan"]["burst"];
    ["ready", "provisioning", "draining", "failed"]
        .iter()
        .map(|k| b[k].as_u64().unwrap_or(0))
        .sum()
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

    let mut seen = Seen::default();

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
    seen.until(
        "the burst converging on the plan (every group Succeeded, as many as the burst target)",
        &emu,
        &mut demo,
        Duration::from_secs(30),
        |s, st| {
            let target = policy(st, POLICY)["lastPlan"]["burstTarget"]
                .as_u64()
                .unwrap_or(0);
            target > 0 && s.live().len() as u64 == target && s.count_state("Succeeded") as u64 == target
        },
    );
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
    seen.until(
        "every group deleted and the plan at zero burst replicas",
        &emu,
        &mut demo,
        Duration::from_secs(60),
        |s, st| {
            !s.groups.is_empty()
                && s.groups.iter().all(|g| g.deleted_at.is_some())
                && last_tick(st, POLICY).is_some()
                && burst_total(st) == 0
        },
    );
    demo.kill9();
    drop(demo);

    let state = emu.state();
    let dump = state.dump();

    // Every write to a container group succeeded (no 409 from a PUT racing a delete, no 4xx/5xx).
    let failed: Vec<String> = state
        .group_writes()
        .iter()
        .filter(|w| !(200..300).contains(&w.status))
        .map(|w| {
            format!(
                "{} {} {} -> {}",
                w.at,
                w.method,
                w.group().unwrap_or_default(),
                w.status
            )
        })
        .collect();
    assert!(failed.is_empty(), "writes failed: {failed:?}\n{dump}");

    // Names are deterministic and ordinals contiguous from 0; no more names
    // than the largest burst target ever planned.
    let mut ordinals = BTreeSet::new();
    for g in &state.groups {
        let n: u32 = g
            .name
            .strip_prefix("demo-web-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected group name {}\n{dump}", g.name));
        assert_eq!(
            g.ordinal_tag.as_deref(),
            Some(n.to_string().as_str()),
            "{}: ordinal tag does not match the name",
            g.name
        );
        assert!(
            n < BURST_MAX_REPLICAS,
            "{}: ordinal beyond burst.maxReplicas",
            g.name
        );
        ordinals.insert(n);
    }
    let k = ordinals.len() as u32;
    assert!(k > 0, "no group was ever created\n{dump}");
    assert_eq!(
        ordinals,
        (0..k).collect::<BTreeSet<_>>(),
        "ordinals are not contiguous from 0: a restarted process picked new names\n{dump}"
    );
    assert!(
        u64::from(k) <= seen.max_burst_target,
        "{k} distinct groups were created but no plan ever wanted more than {} burst replicas\n{dump}",
        seen.max_burst_target
    );
    assert!(
        seen.max_live as u64 <= seen.max_burst_target,
        "{} groups were alive at once; no plan wanted more than {}\n{dump}",
        seen.max_live,
        seen.max_burst_target
    );

    // No PUT reached a group that had been alive since before a kill, until
    // that group was DELETEd: the restarted processes adopted, not re-created
    // (a PUT to a live group would be answered 200, an update: none was
    // warranted here, the template never changed and no group failed).
    for kill in &seen.kills {
        let mut released: BTreeSet<&str> = BTreeSet::new();
        let mut rewritten: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for w in &state.writes[kill.writes_at..] {
            let Some(g) = w.group() else { continue };
            if w.is_delete() {
                released.insert(g);
            } else if w.is_put() && kill.alive.contains(g) && !released.contains(g) {
                rewritten
                    .entry(g)
                    .or_default()
                    .push(format!("{} -> {}", w.at, w.status));
            }
        }
        assert!(
            rewritten.is_empty(),
            "after the kill {}, groups alive at the kill were PUT again: {rewritten:?}\n{dump}",
            kill.label
        );
    }
    let puts = state.group_writes().iter().filter(|w| w.is_put()).count();
    assert_eq!(
        puts,
        state.groups.len(),
        "every PUT must have created a group (one PUT per group ever created)\n{dump}"
    );

    // No leak.
    let leaked: Vec<&str> = state
        .groups
        .iter()
        .filter(|g| g.deleted_at.is_none())
        .map(|g| g.name.as_str())
        .collect();
    assert!(leaked.is_empty(), "groups left behind: {leaked:?}\n{dump}");

    eprintln!(
        "{} groups created (peak burst target {}), {} writes, {} kills, {:.0}s",
        state.groups.len(),
        seen.max_burst_target,
        state.writes.len(),
        seen.kills.len(),
        t0.elapsed().as_secs_f64()
    );
}
