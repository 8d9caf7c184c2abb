//! Decision Events on the target Deployment (and configuration Warnings on
//! the ConfigMap) through kube-rs's events `Recorder`, rate-limited per
//! (object, reason) so a flapping metric does not flood the API.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Client,
    runtime::events::{Event, EventType, Recorder, Reporter},
};
use spillway_core::plan::{Plan, ReasonCode};
use tokio::time::Instant;

use crate::lease::LeaderGate;

/// One Event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub warning: bool,
    /// PascalCase, at most 128 characters.
    pub reason: String,
    pub action: String,
    pub note: String,
}

/// At most one Event per key per `interval`; the suppressed count goes into
/// the next Event's note. Pure apart from the `now` it is given.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    last: HashMap<(String, String), (Instant, u32)>,
}

/// The limiter's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Publish; this many were suppressed since the last one.
    Publish {
        suppressed: u32,
    },
    Suppress,
}

impl RateLimiter {
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            last: HashMap::new(),
        }
    }

    pub fn admit(&mut self, scope: &str, reason: &str, now: Instant) -> Admit {
        let key = (scope.to_string(), reason.to_string());
        match self.last.get_mut(&key) {
            Some((at, suppressed)) if now.duration_since(*at) < self.interval => {
                *suppressed += 1;
                Admit::Suppress
            }
            Some((at, suppressed)) => {
                let n = std::mem::take(suppressed);
                *at = now;
                Admit::Publish { suppressed: n }
            }
            None => {
                self.last.insert(key, (now, 0));
                // Bound the map: forget keys quiet for ten intervals.
                if self.last.len() > 4096 {
                    let horizon = self.interval * 10;
                    self.last.retain(|_, (at, _)| now.duration_since(*at) < horizon);
                }
                Admit::Publish { suppressed: 0 }
            }
        }
    }
}

fn pascal(code: ReasonCode) -> String {
    format!("{code:?}")
}

/// The Events a plan deserves: one for a scale change, one for burst
/// creates, one for drains and deletes. Each carries the planner's reasons.
pub fn plan_notices(plan: &Plan) -> Vec<Notice> {
    let why = plan
        .reasons
        .iter()
        .map(|r| format!("{}: {}", r.code.as_str(), r.message))
        .collect::<Vec<_>>()
        .join("; ");
    let first = |prefer: &[ReasonCode], fallback: &str| {
        plan.reasons
            .iter()
            .map(|r| r.code)
            .find(|c| prefer.contains(c))
            .map_or_else(|| fallback.to_string(), pascal)
    };
    let mut out = Vec::new();
    if let Some(s) = plan.scale {
        out.push(Notice {
            warning: false,
            reason: first(
                &[
                    ReasonCode::ScaleUp,
                    ReasonCode::ScaleDown,
                    ReasonCode::MetricsMissingFallback,
                    ReasonCode::ClampedToMin,
                    ReasonCode::ClampedToMax,
                    ReasonCode::VmCapped,
                    ReasonCode::OverflowPending,
                    ReasonCode::Headroom,
                ],
                "Scale",
            ),
            action: "Scale".into(),
            note: truncate(format!(
                "deployment replicas {} -> {} (desired {}): {why}",
                s.from, s.to, plan.desired_replicas
            )),
        });
    }
    if !plan.creates.is_empty() {
        out.push(Notice {
            warning: false,
            reason: first(
                &[ReasonCode::Burst, ReasonCode::ReplaceFailed, ReasonCode::Rollout],
                "Burst",
            ),
            action: "Spill".into(),
            note: truncate(format!(
                "creating {} burst replica(s), burst target {}: {why}",
                plan.creates.len(),
                plan.burst_target
            )),
        });
    }
    if !plan.drains.is_empty() || !plan.deletes.is_empty() {
        out.push(Notice {
            warning: false,
            reason: first(
                &[
                    ReasonCode::Backfill,
                    ReasonCode::BurstScaleIn,
                    ReasonCode::Drain,
                    ReasonCode::Rollout,
                ],
                "BurstScaleIn",
            ),
            action: "Unspill".into(),
            note: truncate(format!(
                "draining {} and deleting {} burst replica(s), burst target {}: {why}",
                plan.drains.len(),
                plan.deletes.len(),
                plan.burst_target
            )),
        });
    }
    for code in [
        ReasonCode::NoLocationAvailable,
        ReasonCode::TemplateNotExpressible,
    ] {
        if let Some(r) = plan.reasons.iter().find(|r| r.code == code) {
            out.push(Notice {
                warning: true,
                reason: pascal(code),
                action: "Spill".into(),
                note: truncate(r.message.clone()),
            });
        }
    }
    out
}

/// Events are at most 1 kB of note.
fn truncate(mut s: String) -> String {
    if s.len() > 1000 {
        let mut end = 997;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// Publishes Notices, rate-limited and only while leader.
pub struct EventSink {
    recorder: Recorder,
    limiter: Mutex<RateLimiter>,
    gate: LeaderGate,
}

/// What happened to a Notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    Sent,
    RateLimited,
    NotLeader,
}

impl EventSink {
    pub fn new(client: Client, instance: Option<String>, interval: Duration, gate: LeaderGate) -> Self {
        let reporter = Reporter {
            controller: "spillway".into(),
            instance,
        };
        EventSink {
            recorder: Recorder::new(client, reporter),
            limiter: Mutex::new(RateLimiter::new(interval)),
            gate,
        }
    }

    /// `scope` is the rate-limit key's first half (the policy name, or the ConfigMap).
    pub async fn publish(
        &self,
        scope: &str,
        regarding: &ObjectReference,
        notice: &Notice,
    ) -> Result<Published, kube::Error> {
        if !self.gate.is_leader() {
            return Ok(Published::NotLeader);
        }
        let admit = match self.limiter.lock() {
            Ok(mut l) => l.admit(scope, &notice.reason, Instant::now()),
            Err(poisoned) => poisoned.into_inner().admit(scope, &notice.reason, Instant::now()),
        };
        let Admit::Publish { suppressed } = admit else {
            return Ok(Published::RateLimited);
        };
        let note = if suppressed > 0 {
            truncate(format!("{} (+{suppressed} similar suppressed)", notice.note))
        } else {
            notice.note.clone()
        };
        let event = Event {
            type_: if notice.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: notice.reason.clone(),
            note: Some(note),
            action: notice.action.clone(),
            secondary: None,
        };
        self.recorder.publish(&event, regarding).await?;
        Ok(Published::Sent)
    }
}

/// A reference to a namespaced object for `regarding`.
pub fn object_ref(
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        uid: uid.map(str::to_string),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_key_per_interval_with_the_suppressed_count() {
        let mut l = RateLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(l.admit("web", "ScaleUp", t0), Admit::Publish { suppressed: 0 });
        assert_eq!(
            l.admit("web", "ScaleUp", t0 + Duration::from_secs(10)),
            Admit::Suppress
        );
        assert_eq!(
            l.admit("web", "ScaleUp", t0 + Duration::from_secs(59)),
            Admit::Suppress
        );
        // Other reasons and other policies have their own budget.
        assert_eq!(
            l.admit("web", "ScaleDown", t0 + Duration::from_secs(10)),
            Admit::Publish { suppressed: 0 }
        );
        assert_eq!(
            l.admit("api", "ScaleUp", t0 + Duration::from_secs(10)),
            Admit::Publish { suppressed: 0 }
        );
        assert_eq!(
            l.admit("web", "ScaleUp", t0 + Duration::from_secs(60)),
            Admit::Publish { suppressed: 2 }
        );
        assert_eq!(
            l.admit("web", "ScaleUp", t0 + Duration::from_secs(61)),
            Admit::Suppress
        );
    }

    #[test]
    fn long_notes_are_truncated_on_a_char_boundary() {
        let s = truncate("é".repeat(800));
        assert!(s.len() <= 1000 && s.ends_with("..."));
    }
}
