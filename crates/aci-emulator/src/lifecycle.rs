//! The provisioning state machine, pure over time: a [`Timeline`] is drawn when a group is created
//! (or updated, started, restarted), and every state — provisioning state, operation status,
//! group and container instance views — is derived from it at the moment of a read.
//!
//! `Pending` → `Creating` → `Succeeded` | `Failed`; `Canceled` is frozen onto an operation when the
//! group is deleted (or replaced) before its operation ended.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::validate::RestartPolicy;

/// How the provisioning attempt ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Containers run.
    Succeed,
    /// The image of container `container` cannot be pulled.
    PullFails { container: String, image: String },
    /// The region had no capacity (`InsufficientCapacity.`).
    NoCapacity { message: String },
}

/// A container that keeps exiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crash {
    /// Run time before each exit.
    pub every: Duration,
    /// Exit code.
    pub exit_code: i32,
}

/// One provisioning attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// When the attempt started (the PUT).
    pub started: Timestamp,
    /// When `Creating` begins; `None` for an operation that never finishes.
    pub creating_at: Option<Timestamp>,
    /// When the attempt ends; `None` for an operation that never finishes.
    pub done_at: Option<Timestamp>,
    /// How it ends.
    pub outcome: Outcome,
    /// Per container (same order as the body), an optional crash loop.
    pub crashes: Vec<Option<Crash>>,
    /// Restart policy of the group.
    pub restart_policy: RestartPolicy,
}

/// `properties.provisioningState` values the emulator produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for infrastructure.
    Pending,
    /// Mounting volumes, pulling images, getting an IP.
    Creating,
    /// Running.
    Succeeded,
    /// Failed (the group stays, as on ACI).
    Failed,
}

impl Phase {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Creating => "Creating",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }

    /// `Succeeded` or `Failed`.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

impl Timeline {
    /// Builds a timeline from the phase durations; `None` durations mean "never finishes".
    pub fn new(
        started: Timestamp,
        phases: Option<(Duration, Duration)>,
        outcome: Outcome,
        crashes: Vec<Option<Crash>>,
        restart_policy: RestartPolicy,
    ) -> Self {
        let (creating_at, done_at) = match phases {
            Some((pending, creating)) => {
                let c = add(started, pending);
                (Some(c), Some(add(c, creating)))
            }
            None => (None, None),
        };
        Timeline {
            started,
            creating_at,
            done_at,
            outcome,
            crashes,
            restart_policy,
        }
    }

    /// The provisioning state at `now`.
    pub fn phase(&self, now: Timestamp) -> Phase {
        match (self.creating_at, self.done_at) {
            (_, Some(done)) if now >= done => match self.outcome {
                Outcome::Succeed => Phase::Succeeded,
                _ => Phase::Failed,
            },
            (Some(c), _) if now >= c => Phase::Creating,
            _ => Phase::Pending,
        }
    }

    /// The container state at `now` of container `index` (only meaningful once `Succeeded`).
    pub fn container_run(&self, index: usize, now: Timestamp) -> ContainerRun {
        let Some(start) = self.done_at.filter(|d| now >= *d) else {
            return ContainerRun::Waiting;
        };
        let Some(crash) = self
            .crashes
            .get(index)
            .copied()
            .flatten()
            .filter(|c| !c.every.is_zero())
        else {
            return ContainerRun::Running {
                since: start,
                restarts: 0,
                previous: None,
            };
        };
        let elapsed = now.duration_since(start).as_secs_f64();
        let exits = (elapsed / crash.every.as_secs_f64()).floor() as u64;
        let restarts_allowed = match self.restart_policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => crash.exit_code != 0,
            RestartPolicy::Never => false,
        };
        let nth = |n: u64| {
            add(
                start,
                crash.every.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)),
            )
        };
        if exits == 0 {
            return ContainerRun::Running {
                since: start,
                restarts: 0,
                previous: None,
            };
        }
        if !restarts_allowed {
            return ContainerRun::Terminated {
                started: start,
                finished: nth(1),
                exit_code: crash.exit_code,
            };
        }
        let previous = Terminated {
            started: nth(exits - 1),
            finished: nth(exits),
            exit_code: crash.exit_code,
        };
        ContainerRun::Running {
            since: nth(exits),
            restarts: exits,
            previous: Some(previous),
        }
    }
}

/// A finished run of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminated {
    /// Start of the run.
    pub started: Timestamp,
    /// End of the run.
    pub finished: Timestamp,
    /// Exit code.
    pub exit_code: i32,
}

/// What a container is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRun {
    /// Not started yet (or never will: failed pull).
    Waiting,
    /// Running since `since`, after `restarts` restarts.
    Running {
        /// Start of the current run.
        since: Timestamp,
        /// Restart count.
        restarts: u64,
        /// The previous run, if any.
        previous: Option<Terminated>,
    },
    /// Exited and will not be restarted.
    Terminated {
        /// Start of the run.
        started: Timestamp,
        /// End of the run.
        finished: Timestamp,
        /// Exit code.
        exit_code: i32,
    },
}

/// The group-level `instanceView.state` at `now`.
pub fn group_state(timeline: &Timeline, now: Timestamp, stopped: bool) -> &'static str {
    if stopped {
        return "Stopped";
    }
    match timeline.phase(now) {
        Phase::Pending | Phase::Creating | Phase::Failed => "Pending",
        Phase::Succeeded => {
            let runs: Vec<ContainerRun> = (0..timeline.crashes.len())
                .map(|i| timeline.container_run(i, now))
                .collect();
            let all_done =
                !runs.is_empty() && runs.iter().all(|r| matches!(r, ContainerRun::Terminated { .. }));
            if all_done {
                let failed = runs
                    .iter()
                    .any(|r| matches!(r, ContainerRun::Terminated { exit_code, .. } if *exit_code != 0));
                if failed { "Failed" } else { "Succeeded" }
            } else {
                "Running"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    fn timeline(outcome: Outcome, crash: Option<Crash>, policy: RestartPolicy) -> Timeline {
        Timeline::new(
            t(0),
            Some((Duration::from_millis(100), Duration::from_millis(200))),
            outcome,
            vec![crash],
            policy,
        )
    }

    #[test]
    fn phases_advance_with_time() {
        let tl = timeline(Outcome::Succeed, None, RestartPolicy::Always);
        assert_eq!(tl.phase(t(0)), Phase::Pending);
        assert_eq!(tl.phase(t(99)), Phase::Pending);
        assert_eq!(tl.phase(t(100)), Phase::Creating);
        assert_eq!(tl.phase(t(300)), Phase::Succeeded);
        assert_eq!(group_state(&tl, t(300), false), "Running");
        assert_eq!(group_state(&tl, t(50), false), "Pending");
        assert_eq!(group_state(&tl, t(400), true), "Stopped");
        let failed = timeline(
            Outcome::PullFails {
                container: "c".into(),
                image: "bad".into(),
            },
            None,
            RestartPolicy::Always,
        );
        assert_eq!(failed.phase(t(300)), Phase::Failed);
        assert_eq!(
            failed.container_run(0, t(1000)),
            ContainerRun::Running {
                since: t(300),
                restarts: 0,
                previous: None
            }
        );
    }

    #[test]
    fn never_finishing_timeline_stays_pending() {
        let tl = Timeline::new(t(0), None, Outcome::Succeed, vec![None], RestartPolicy::Always);
        assert_eq!(tl.phase(t(i64::from(u32::MAX))), Phase::Pending);
    }

    #[test]
    fn crash_loops_count_restarts() {
        let crash = Crash {
            every: Duration::from_millis(1000),
            exit_code: 2,
        };
        let tl = timeline(Outcome::Succeed, Some(crash), RestartPolicy::Always);
        assert!(matches!(
            tl.container_run(0, t(1299)),
            ContainerRun::Running { restarts: 0, .. }
        ));
        match tl.container_run(0, t(3300)) {
            ContainerRun::Running {
                restarts,
                since,
                previous: Some(prev),
            } => {
                assert_eq!(restarts, 3);
                assert_eq!(since, t(3300));
                assert_eq!(prev.exit_code, 2);
                assert_eq!(prev.finished, t(3300));
            }
            other => panic!("unexpected {other:?}"),
        }
        let never = timeline(Outcome::Succeed, Some(crash), RestartPolicy::Never);
        assert_eq!(
            never.container_run(0, t(5000)),
            ContainerRun::Terminated {
                started: t(300),
                finished: t(1300),
                exit_code: 2
            }
        );
        assert_eq!(group_state(&never, t(5000), false), "Failed");
        let clean = timeline(
            Outcome::Succeed,
            Some(Crash {
                exit_code: 0,
                ..crash
            }),
            RestartPolicy::OnFailure,
        );
        assert_eq!(group_state(&clean, t(5000), false), "Succeeded");
    }
}
