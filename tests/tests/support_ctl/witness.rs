//! The crash tests' witness: what the emulator and the demo's `/status`
//! showed across every process of a run, the SIGKILLs with what was alive at
//! each, and the invariants checked on the emulator's write log at the end
//! (no duplicate, no re-create of an adopted group, no leak).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DemoProc, EmuState, EmulatorProc, last_tick, policy};

const POLL: Duration = Duration::from_millis(200);

/// One SIGKILL: what was alive at that moment and where the write log stood.
pub struct Kill {
    pub label: String,
    /// Groups alive (not deleted, not deleting) right after the kill.
    pub alive: BTreeSet<String>,
    /// Index into the emulator's write log of the first write after the kill.
    pub writes_at: usize,
}

/// Everything seen while polling, across every process.
pub struct Witness {
    pub policy: &'static str,
    /// `burst.maxReplicas` of the policy: never more live groups than this.
    pub burst_max: u32,
    /// Prefix of the policy's group names (`<prefix>N`).
    pub name_prefix: &'static str,
    pub max_burst_target: u64,
    pub max_live: usize,
    pub kills: Vec<Kill>,
}

impl Witness {
    pub fn new(policy: &'static str, burst_max: u32, name_prefix: &'static str) -> Witness {
        Witness {
            policy,
            burst_max,
            name_prefix,
            max_burst_target: 0,
            max_live: 0,
            kills: Vec::new(),
        }
    }

    /// One sample: the emulator first, then `/status` (a plan is on the
    /// board before its creates are sent, so every group seen in the
    /// emulator has its plan on the board by the time `/status` is read).
    pub fn sample(&mut self, emu: &EmulatorProc, demo: &mut DemoProc) -> (EmuState, Value) {
        let state = emu.state();
        let status = demo.status();
        if let Some(t) = policy(&status, self.policy)["lastPlan"]["burstTarget"].as_u64() {
            self.max_burst_target = self.max_burst_target.max(t);
        }
        let live = state.live().len();
        self.max_live = self.max_live.max(live);
        assert!(
            live <= self.burst_max as usize,
            "{live} live groups exceed burst.maxReplicas {}\n{}",
            self.burst_max,
            state.dump()
        );
        (state, status)
    }

    /// Polls until `done` says so; panics after `timeout`.
    pub fn until(
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
                policy(&status, self.policy),
                state.dump(),
                demo.proc.logs()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Until the burst has converged on the plan: as many live groups as the
    /// burst target, every one Succeeded.
    pub fn until_converged(
        &mut self,
        emu: &EmulatorProc,
        demo: &mut DemoProc,
        timeout: Duration,
    ) -> (EmuState, Value) {
        let name = self.policy;
        self.until(
            "the burst converging on the plan (every group Succeeded, as many as the burst target)",
            emu,
            demo,
            timeout,
            |s, st| {
                let target = policy(st, name)["lastPlan"]["burstTarget"].as_u64().unwrap_or(0);
                target > 0 && s.live().len() as u64 == target && s.count_state("Succeeded") as u64 == target
            },
        )
    }

    /// Until every group ever created is deleted and the last plan counts
    /// no burst replica.
    pub fn until_all_deleted(
        &mut self,
        emu: &EmulatorProc,
        demo: &mut DemoProc,
        timeout: Duration,
    ) -> (EmuState, Value) {
        let name = self.policy;
        self.until(
            "every group deleted and the plan at zero burst replicas",
            emu,
            demo,
            timeout,
            |s, st| {
                !s.groups.is_empty()
                    && s.groups.iter().all(|g| g.deleted_at.is_some())
                    && last_tick(st, name).is_some()
                    && burst_total(st, name) == 0
            },
        )
    }

    /// SIGKILL, then record what survived it. Returns the emulator's state
    /// right after.
    pub fn kill(&mut self, label: impl Into<String>, emu: &EmulatorProc, demo: &mut DemoProc) -> EmuState {
        let label = label.into();
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
        state
    }

    /// Adoption, as the restarted process's first plan shows it: it counts
    /// the groups alive at the kill and creates none of them.
    pub fn check_adoption(&mut self, emu: &EmulatorProc, demo: &mut DemoProc) {
        let kill = self.kills.last().expect("a kill before a restart");
        let (alive, label, writes_at) = (kill.alive.clone(), kill.label.clone(), kill.writes_at);
        let name = self.policy;
        let (state, status) = self.until(
            "the restarted process's first plan",
            emu,
            demo,
            Duration::from_secs(20),
            |_, st| last_tick(st, name).is_some(),
        );
        let plan = &policy(&status, name)["lastPlan"];
        let seen = burst_total(&status, name);
        let deleted_since = state.writes[writes_at.min(state.writes.len())..]
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
    }

    /// The invariants over the whole run, on the emulator's final state:
    /// every group write succeeded; names are `<prefix>N` with contiguous
    /// ordinals; never more groups live at once than any plan wanted;
    /// no group alive at a kill was PUT again before it was deleted; one PUT
    /// per group ever created; nothing left alive.
    pub fn check_history(&self, state: &EmuState) {
        let dump = state.dump();
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

        let mut ordinals = BTreeSet::new();
        for g in &state.groups {
            let n: u32 = g
                .name
                .strip_prefix(self.name_prefix)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected group name {}\n{dump}", g.name));
            assert_eq!(
                g.ordinal_tag.as_deref(),
                Some(n.to_string().as_str()),
                "{}: ordinal tag does not match the name",
                g.name
            );
            // Names go to the lowest free ordinals, and a group still being
            // deleted keeps its name: at most maxReplicas live plus as many
            // deleting.
            assert!(
                n < 2 * self.burst_max,
                "{}: ordinal beyond twice burst.maxReplicas",
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
            self.max_live as u64 <= self.max_burst_target,
            "{} groups were alive at once; no plan wanted more than {}\n{dump}",
            self.max_live,
            self.max_burst_target
        );

        // A PUT to a live group would be answered 200, an update: none was
        // warranted here (the template never changes and no group fails), so
        // any is a restarted process re-creating what it should have adopted.
        for kill in &self.kills {
            let mut released: BTreeSet<&str> = BTreeSet::new();
            let mut rewritten: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for w in &state.writes[kill.writes_at.min(state.writes.len())..] {
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

        let leaked: Vec<&str> = state
            .groups
            .iter()
            .filter(|g| g.deleted_at.is_none())
            .map(|g| g.name.as_str())
            .collect();
        assert!(leaked.is_empty(), "groups left behind: {leaked:?}\n{dump}");
    }
}

/// Burst replicas the policy's last plan counts (ready, provisioning, draining, failed).
pub fn burst_total(status: &Value, name: &str) -> u64 {
    let b = &policy(status, name)["lastPlan"]["burst"];
    ["ready", "provisioning", "draining", "failed"]
        .iter()
        .map(|k| b[k].as_u64().unwrap_or(0))
        .sum()
}
