//! For a caller that replays ticks in virtual time (the simulator): what a
//! tick leaves behind, so that it can tell when further ticks over the same
//! world would change nothing but the age of what the runtime remembers.
//!
//! When a tick planned nothing, and the runtime it left equals the one the
//! tick an interval earlier left, moved by that interval, the tick map is at
//! a fixed point: a next tick that sees the same world (the same pods,
//! nodes and groups, all older than [`spillway_core::plan::world_age_horizon`])
//! and the same readings plans nothing again and leaves the runtime moved
//! by one more interval. Such ticks may be skipped and the runtime
//! [`PolicyRuntime::shift`]ed instead; the simulator checks, bit for bit,
//! that its figures are those of ticking every interval.

use std::collections::BTreeMap;
use std::time::Duration;

use spillway_core::plan::PolicyState;
use spillway_core::time::Timestamp;

use crate::controller::{Controller, PolicyRuntime};

/// Everything a policy's runtime carries from one tick to the next that
/// the next tick reads.
#[derive(Debug, Clone, PartialEq)]
pub struct TickMemory {
    state: PolicyState,
    last_tick: Option<Timestamp>,
    create_failures: u32,
    /// Only while it still blocks creates: one that has passed reads as none.
    creates_blocked_until: Option<Timestamp>,
    provisioning: BTreeMap<String, Timestamp>,
    claim: Option<(String, Option<i64>)>,
    zones_error: Option<String>,
}

impl TickMemory {
    /// The same memory, `by` later.
    pub fn shifted(mut self, by: Duration) -> TickMemory {
        self.state.shift(by);
        shift_times(
            by,
            &mut self.last_tick,
            &mut self.creates_blocked_until,
            &mut self.provisioning,
        );
        self
    }
}

impl PolicyRuntime {
    /// What the runtime remembers at `now`.
    pub fn memory(&self, now: Timestamp) -> TickMemory {
        TickMemory {
            state: self.state.clone(),
            last_tick: self.last_tick,
            create_failures: self.create_failures,
            creates_blocked_until: self.creates_blocked_until.filter(|t| *t > now),
            provisioning: self.provisioning.clone(),
            claim: self.claim.clone(),
            zones_error: self.zones_error.clone(),
        }
    }

    /// Moves every time the runtime remembers `by` later: the runtime the
    /// skipped ticks of a fixed point would have left.
    pub fn shift(&mut self, by: Duration) {
        self.state.shift(by);
        shift_times(
            by,
            &mut self.last_tick,
            &mut self.creates_blocked_until,
            &mut self.provisioning,
        );
    }
}

/// The runtime's own times (beside its planner state), `by` later: one
/// place for the runtime and its memory, so that the two cannot differ.
fn shift_times(
    by: Duration,
    last_tick: &mut Option<Timestamp>,
    creates_blocked_until: &mut Option<Timestamp>,
    provisioning: &mut BTreeMap<String, Timestamp>,
) {
    let later = |t: &mut Timestamp| *t = *t + by;
    last_tick.iter_mut().for_each(later);
    creates_blocked_until.iter_mut().for_each(later);
    provisioning.values_mut().for_each(later);
}

impl<T> Controller<T> {
    /// True when the controller itself remembers something that time alone
    /// changes (a location kept out of creates until its period ends): no
    /// tick may be skipped then.
    pub fn holds_timed_state(&self, now: Timestamp) -> bool {
        self.inventory.any_unavailable(now)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use spillway_core::config::Policy;

    fn runtime() -> PolicyRuntime {
        let yaml = "cluster: {id: c1}\nmetricSources: {prometheus: {url: 'http://prom:9090'}}\npolicies:\n- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 10\n  metrics:\n  - prometheus: {query: q, targetAverageValue: 100}\n";
        let loaded = spillway_core::config::load(yaml).expect("a valid config");
        let policy: Arc<Policy> = loaded.policies[0].result.clone().expect("a valid policy");
        PolicyRuntime::new(policy)
    }

    #[test]
    fn a_shifted_memory_is_the_memory_of_the_shifted_runtime() {
        let mut rt = runtime();
        rt.last_tick = Some(Timestamp::from_secs(100));
        rt.creates_blocked_until = Some(Timestamp::from_secs(130));
        rt.provisioning.insert("g-1".into(), Timestamp::from_secs(90));
        let before = rt.memory(Timestamp::from_secs(100));
        rt.shift(Duration::from_secs(15));
        assert_eq!(
            rt.memory(Timestamp::from_secs(115)),
            before.clone().shifted(Duration::from_secs(15))
        );
        assert_ne!(
            rt.memory(Timestamp::from_secs(115)),
            before,
            "a shift moves every time"
        );
    }

    #[test]
    fn a_block_that_has_passed_is_none() {
        let mut rt = runtime();
        rt.creates_blocked_until = Some(Timestamp::from_secs(100));
        let blocked = rt.memory(Timestamp::from_secs(99));
        let passed = rt.memory(Timestamp::from_secs(100));
        rt.creates_blocked_until = None;
        assert_ne!(blocked, rt.memory(Timestamp::from_secs(99)));
        assert_eq!(passed, rt.memory(Timestamp::from_secs(100)));
    }
}
