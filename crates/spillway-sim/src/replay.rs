//! Skipping the controller's ticks at a fixed point (issue 12: five years of
//! hourly data in seconds). When a tick planned nothing, changed nothing in
//! the world, and left the runtime the tick an interval earlier left, only
//! older (`spillway_controller::replay`), the next tick over the same world
//! and the same readings would do the same again. So until the world
//! changes or a reading or the ACI headroom would answer otherwise, ticks
//! are skipped; the next tick that runs first moves the runtime by the
//! skipped span. `RunOptions::per_second` ticks every interval instead, and
//! the figures of both are the same, bit for bit (tests/jumps.rs).

use std::time::Duration;

use spillway_controller::replay::TickMemory;
use spillway_core::burst::BurstHeadroom;
use spillway_core::config::Policy;

use crate::seams::{ReadLog, SimBackend, SimMetrics};
use crate::world::World;

/// The last tick that ran, as the fixed-point test needs it.
struct LastTick {
    at: u64,
    memory: TickMemory,
}

/// What the tick at a fixed point saw, which later ticks must see too.
struct Steady {
    world_version: u64,
    reads: ReadLog,
    /// Before this second every read answers as in `reads`.
    reads_until: u64,
    headroom: Option<BurstHeadroom>,
}

/// One strategy's tick skipping.
pub struct Replay {
    interval: u64,
    /// Past this age, the world's own times read alike at every tick.
    age_horizon: u64,
    /// Policies whose ticks depend on the time of day or on history, or
    /// that tick more often than the controller lists, are never skipped.
    eligible: bool,
    last: Option<LastTick>,
    steady: Option<Steady>,
    /// When the world's version last changed, and to what.
    world_seen: (u64, u64),
    pub skipped: u64,
}

/// What a tick that ran left and saw, for [`Replay::ran`].
pub struct TickOutcome {
    pub at: u64,
    /// The tick planned nothing, and its plan does not wait on time alone
    /// (`Plan::overflow_age_matters`).
    pub settled: bool,
    pub world_before: u64,
    pub world_after: u64,
    pub memory: TickMemory,
    /// The controller keeps a location out of creates for a while.
    pub timed: bool,
}

impl Replay {
    /// `list_ttl`: how long the controller reuses a container-group list.
    pub fn new(policy: &Policy, interval: u64, enabled: bool, list_ttl: Duration) -> Replay {
        let seasons = policy.predict.enabled() && !policy.predict.seasons.is_empty();
        let standby = policy.burst.as_ref().is_some_and(|b| b.standby_pool.is_some());
        // With ticks closer than the list's TTL a tick may see the list an
        // earlier tick made, which the runtime's memory does not hold.
        let own_list = Duration::from_secs(interval) >= list_ttl;
        Replay {
            interval,
            age_horizon: spillway_core::plan::world_age_horizon(policy)
                .as_secs()
                .saturating_add(1),
            eligible: enabled && !seasons && !standby && own_list,
            last: None,
            steady: None,
            world_seen: (0, 0),
            skipped: 0,
        }
    }

    /// Notes the world's version at second `t` (once per second the world
    /// may have changed in).
    pub fn observe_world(&mut self, t: u64, world: &World) {
        let v = world.version();
        if v != self.world_seen.1 {
            self.world_seen = (t, v);
        }
    }

    /// Whether the tick due at `t` would plan nothing and change nothing but
    /// the runtime's age.
    pub fn may_skip(&self, t: u64, world: &mut World, metrics: &SimMetrics, backend: &SimBackend) -> bool {
        let Some(s) = &self.steady else { return false };
        world.version() == s.world_version
            && (t < s.reads_until || metrics.same_answers(&s.reads, t, world))
            && backend.same_headroom(s.headroom, world)
    }

    /// How far to move the runtime before the tick at `t` runs: the span of
    /// the ticks skipped since the last one that ran.
    pub fn catch_up(&mut self, t: u64) -> Option<Duration> {
        let last = self.last.as_mut()?;
        let due = t.checked_sub(self.interval)?;
        if last.at >= due {
            return None;
        }
        let by = Duration::from_secs(due - last.at);
        last.memory = last.memory.clone().shifted(by);
        last.at = due;
        Some(by)
    }

    /// Whether the tick that ran is at a fixed point: it planned nothing
    /// that time alone changes, left the world as it was, saw a world older
    /// than the age horizon, and left the runtime the tick before left,
    /// only older.
    fn at_fixed_point(&self, tick: &TickOutcome) -> bool {
        let interval = Duration::from_secs(self.interval);
        self.eligible
            && tick.settled
            && !tick.timed
            && tick.world_before == tick.world_after
            && tick.at.saturating_sub(self.world_seen.0) >= self.age_horizon
            && self.last.as_ref().is_some_and(|l| {
                l.at + self.interval == tick.at && l.memory.clone().shifted(interval) == tick.memory
            })
    }

    /// After a tick ran: from here on, ticks that see what it saw are skipped.
    pub fn ran(&mut self, tick: TickOutcome, metrics: &SimMetrics, backend: &SimBackend) {
        let fixed = self.at_fixed_point(&tick);
        self.steady = if fixed {
            metrics.reads_at(tick.at).map(|reads| Steady {
                world_version: tick.world_after,
                reads_until: metrics.same_answers_until(&reads),
                reads,
                headroom: backend.headroom_at(tick.at as i64),
            })
        } else {
            None
        };
        self.last = Some(LastTick {
            at: tick.at,
            memory: tick.memory,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use spillway_controller::PolicyRuntime;
    use spillway_core::time::Timestamp;

    use super::*;

    fn setup() -> (Replay, PolicyRuntime) {
        let scenario = crate::Scenario::embedded_default().expect("default scenario");
        let policy: Arc<Policy> = scenario.policy.clone();
        (
            Replay::new(&policy, 15, true, Duration::from_secs(2)),
            PolicyRuntime::new(policy),
        )
    }

    fn tick(rt: &PolicyRuntime, at: u64) -> TickOutcome {
        TickOutcome {
            at,
            settled: true,
            world_before: 7,
            world_after: 7,
            memory: rt.memory(Timestamp::from_secs(at as i64)),
            timed: false,
        }
    }

    #[test]
    fn a_world_younger_than_the_age_horizon_is_no_fixed_point() {
        let (mut replay, rt) = setup();
        // pendingGrace 20s: a pod created at 100 is fresh until 120.
        assert_eq!(replay.age_horizon, 21);
        replay.last = Some(LastTick {
            at: 105,
            memory: tick(&rt, 105).memory,
        });
        replay.world_seen = (100, 7);
        assert!(
            !replay.at_fixed_point(&tick(&rt, 120)),
            "a pod 20 s old may still count as fresh"
        );
        replay.world_seen = (99, 7);
        assert!(replay.at_fixed_point(&tick(&rt, 120)));
    }

    #[test]
    fn only_a_settled_tick_that_changed_nothing_right_after_the_last_is_a_fixed_point() {
        let (mut replay, rt) = setup();
        replay.last = Some(LastTick {
            at: 105,
            memory: tick(&rt, 105).memory,
        });
        assert!(replay.at_fixed_point(&tick(&rt, 120)));
        let unsettled = TickOutcome {
            settled: false,
            ..tick(&rt, 120)
        };
        assert!(!replay.at_fixed_point(&unsettled));
        let wrote = TickOutcome {
            world_after: 8,
            ..tick(&rt, 120)
        };
        assert!(!replay.at_fixed_point(&wrote));
        let timed = TickOutcome {
            timed: true,
            ..tick(&rt, 120)
        };
        assert!(!replay.at_fixed_point(&timed));
        assert!(
            !replay.at_fixed_point(&tick(&rt, 135)),
            "a tick between was not seen"
        );
        replay.eligible = false;
        assert!(!replay.at_fixed_point(&tick(&rt, 120)));
    }

    #[test]
    fn ticks_closer_than_the_list_ttl_are_never_skipped() {
        let scenario = crate::Scenario::embedded_default().expect("default scenario");
        let policy = scenario.policy.clone();
        assert!(Replay::new(&policy, 2, true, Duration::from_secs(2)).eligible);
        assert!(!Replay::new(&policy, 1, true, Duration::from_secs(2)).eligible);
    }
}
