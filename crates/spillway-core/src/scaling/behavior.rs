//! HPA `behavior`: stabilization windows and rate policies, as
//! `normalizeDesiredReplicasWithBehaviors` in k8s.io/kubernetes
//! pkg/controller/podautoscaler/horizontal.go does them. Public so the
//! conformance suite (tests/hpa_conformance) can drive each step with the
//! upstream tables' recommendation and event logs.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::{ScalingPolicyKind, ScalingRules, SelectPolicy};
use crate::plan::ReasonCode;
use crate::time::Timestamp;

/// Raw (pre-stabilization) recommendations, oldest first.
pub type Recommendations = VecDeque<(Timestamp, u32)>;
/// Changes of the replica count, oldest first: positive for a scale-up,
/// negative for a scale-down. The HPA keeps two lists of magnitudes; one
/// signed list carries the same information.
pub type ScaleEvents = VecDeque<(Timestamp, i64)>;

pub struct BehaviorInput<'a> {
    /// The metrics' recommendation before stabilization (HPA `prenormalizedDesiredReplicas`).
    pub raw: u32,
    pub current: u32,
    pub min: u32,
    pub max: u32,
    pub up: &'a ScalingRules,
    pub down: &'a ScalingRules,
    pub now: Timestamp,
}

/// Why the rate step changed the stabilized recommendation (the HPA's
/// `ScalingLimited` reasons; `DesiredWithinRange` is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `ScaleUpLimit`: a `behavior.scaleUp` policy.
    ScaleUp,
    /// `TooManyReplicas`: `maxReplicas`.
    Max,
    /// `ScaleDownLimit`: a `behavior.scaleDown` policy.
    ScaleDown,
    /// `TooFewReplicas`: `minReplicas`.
    Min,
}

impl Limit {
    pub fn code(self) -> ReasonCode {
        match self {
            Limit::ScaleUp => ReasonCode::ScaleUpLimited,
            Limit::Max => ReasonCode::ClampedToMax,
            Limit::ScaleDown => ReasonCode::ScaleDownLimited,
            Limit::Min => ReasonCode::ClampedToMin,
        }
    }
}

/// The outcome of [`normalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Normalized {
    /// After stabilization, before rate limits and min/max.
    pub stabilized: u32,
    pub replicas: u32,
    pub limit: Option<Limit>,
}

/// Records `replicas` as this tick's recommendation and forgets those older
/// than both stabilization windows (the HPA reuses such slots instead; what
/// the windows see is the same).
pub fn remember(
    recommendations: &mut Recommendations,
    now: Timestamp,
    replicas: u32,
    up: &ScalingRules,
    down: &ScalingRules,
) {
    recommendations.push_back((now, replicas));
    let keep = up.stabilization_window.max(down.stabilization_window);
    if keep == Duration::ZERO {
        recommendations.clear();
        return;
    }
    let cutoff = now.saturating_sub(keep);
    while recommendations.front().is_some_and(|&(t, _)| t <= cutoff) {
        recommendations.pop_front();
    }
    forget_dominated(recommendations, now.saturating_sub(up.stabilization_window));
}

/// Forgets the recommendations no window can choose again. The scale-down
/// window takes the highest, so an entry with a newer one at least as high
/// never decides it (the newer one is in every window the older one is
/// in); the scale-up window takes the lowest, so the same holds with a
/// newer one at most as high, or for an entry already out of that window
/// (`t ≤ up_cutoff`). Every window sees the same highest and lowest as
/// with the full list; a steady recommendation leaves one entry, so a
/// steady policy's state stops changing (the simulator skips ticks then).
fn forget_dominated(recommendations: &mut Recommendations, up_cutoff: Timestamp) {
    let Some(&(_, newest)) = recommendations.back() else {
        return;
    };
    let (mut highest, mut lowest) = (newest, newest);
    for i in (0..recommendations.len() - 1).rev() {
        let (t, v) = recommendations[i];
        let dominated = highest >= v && (lowest <= v || t <= up_cutoff);
        highest = highest.max(v);
        lowest = lowest.min(v);
        if dominated {
            recommendations.remove(i);
        }
    }
}

/// `stabilizeRecommendationWithBehaviors`: the current replicas brought
/// within [lowest recommendation in the scale-up window, highest in the
/// scale-down window], both windows including `raw`; then records `raw`.
pub fn stabilize(input: &BehaviorInput<'_>, recommendations: &mut Recommendations) -> u32 {
    let up_cutoff = input.now.saturating_sub(input.up.stabilization_window);
    let down_cutoff = input.now.saturating_sub(input.down.stabilization_window);
    let mut up_rec = input.raw;
    let mut down_rec = input.raw;
    for &(t, v) in recommendations.iter() {
        if t > up_cutoff {
            up_rec = up_rec.min(v);
        }
        if t > down_cutoff {
            down_rec = down_rec.max(v);
        }
    }
    let stabilized = input.current.max(up_rec).min(down_rec);
    remember(recommendations, input.now, input.raw, input.up, input.down);
    stabilized
}

/// `convertDesiredReplicasWithBehaviorRate`: `desired` limited by the
/// direction's policies (over the events of *both* directions in each
/// policy's period) and by min/max.
pub fn limit_rate(input: &BehaviorInput<'_>, desired: u32, events: &ScaleEvents) -> (u32, Option<Limit>) {
    let current = input.current;
    if desired > current {
        // Never below current: after a policy change the formula can say so.
        let limit = scale_up_limit(current, events, input.up, input.now).max(current);
        let (allowed, why) = if input.max > limit {
            (limit, Limit::ScaleUp)
        } else {
            (input.max, Limit::Max)
        };
        if desired > allowed {
            return (allowed, Some(why));
        }
    } else if desired < current {
        let limit = scale_down_limit(current, events, input.down, input.now).min(current);
        let (allowed, why) = if input.min < limit {
            (limit, Limit::ScaleDown)
        } else {
            (input.min, Limit::Min)
        };
        if desired < allowed {
            return (allowed, Some(why));
        }
    }
    (desired, None)
}

/// Stabilization, then rate limits and min/max. Records `raw` into
/// `recommendations`; the caller records the resulting change into `events`.
pub fn normalize(
    input: &BehaviorInput<'_>,
    recommendations: &mut Recommendations,
    events: &ScaleEvents,
) -> Normalized {
    let stabilized = stabilize(input, recommendations);
    let (replicas, limit) = limit_rate(input, stabilized, events);
    Normalized {
        stabilized,
        replicas,
        limit,
    }
}

/// `getReplicasChangePerPeriod` over both directions: the net change
/// (added − removed) within `period` before `now`.
fn net_change_in_period(events: &ScaleEvents, period: Duration, now: Timestamp) -> i64 {
    let cutoff = now.saturating_sub(period);
    events.iter().filter(|(t, _)| *t > cutoff).map(|(_, d)| d).sum()
}

/// `calculateScaleUpLimitWithScalingRules`: per policy, the replicas at the
/// start of its period are `current − added + removed`.
fn scale_up_limit(current: u32, events: &ScaleEvents, rules: &ScalingRules, now: Timestamp) -> u32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    let proposals = rules.policies.iter().map(|p| {
        let start = i64::from(current) - net_change_in_period(events, p.period, now);
        match p.kind {
            ScalingPolicyKind::Pods => start + i64::from(p.value),
            ScalingPolicyKind::Percent => (start as f64 * (1.0 + f64::from(p.value) / 100.0)).ceil() as i64,
        }
    });
    let limit = match rules.select_policy {
        SelectPolicy::Min => proposals.min(),
        _ => proposals.max(),
    };
    to_u32(limit.unwrap_or(i64::from(current)))
}

/// `calculateScaleDownLimitWithBehaviors`.
fn scale_down_limit(current: u32, events: &ScaleEvents, rules: &ScalingRules, now: Timestamp) -> u32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    let proposals = rules.policies.iter().map(|p| {
        let start = i64::from(current) - net_change_in_period(events, p.period, now);
        match p.kind {
            ScalingPolicyKind::Pods => start - i64::from(p.value),
            // Truncation, as the HPA's int32(float64(...)) conversion does.
            ScalingPolicyKind::Percent => (start as f64 * (1.0 - f64::from(p.value) / 100.0)) as i64,
        }
    });
    // Max selects the policy that allows the biggest change: the lowest limit.
    let limit = match rules.select_policy {
        SelectPolicy::Min => proposals.max(),
        _ => proposals.min(),
    };
    to_u32(limit.unwrap_or(i64::from(current)))
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

/// Drops events older than the longest policy period.
pub fn prune_events(events: &mut ScaleEvents, up: &ScalingRules, down: &ScalingRules, now: Timestamp) {
    let longest = up
        .policies
        .iter()
        .chain(&down.policies)
        .map(|p| p.period)
        .max()
        .unwrap_or(Duration::ZERO);
    let cutoff = now.saturating_sub(longest);
    while events.front().is_some_and(|&(t, _)| t <= cutoff) {
        events.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::config::ScalingRules;

    fn rules(window: u64) -> ScalingRules {
        ScalingRules {
            stabilization_window: Duration::from_secs(window),
            ..crate::config::model::defaults::scale_up()
        }
    }

    /// The stabilization as upstream does it, over every recommendation
    /// of the longest window.
    fn reference(log: &mut Recommendations, input: &BehaviorInput<'_>) -> u32 {
        let up_cutoff = input.now.saturating_sub(input.up.stabilization_window);
        let down_cutoff = input.now.saturating_sub(input.down.stabilization_window);
        let up_rec = log
            .iter()
            .filter(|(t, _)| *t > up_cutoff)
            .map(|(_, v)| *v)
            .fold(input.raw, u32::min);
        let down_rec = log
            .iter()
            .filter(|(t, _)| *t > down_cutoff)
            .map(|(_, v)| *v)
            .fold(input.raw, u32::max);
        log.push_back((input.now, input.raw));
        let keep = input.up.stabilization_window.max(input.down.stabilization_window);
        log.retain(|(t, _)| *t > input.now.saturating_sub(keep));
        input.current.max(up_rec).min(down_rec)
    }

    proptest! {
        /// Forgetting dominated recommendations never changes what the
        /// windows choose, tick after tick.
        #[test]
        fn forgetting_dominated_recommendations_changes_no_decision(
            up_window in prop_oneof![Just(0u64), 1u64..400],
            down_window in prop_oneof![Just(0u64), 1u64..400],
            ticks in proptest::collection::vec((1i64..60, 0u32..20, 0u32..20), 1..80),
        ) {
            let (up, down) = (rules(up_window), rules(down_window));
            let (mut pruned, mut full) = (Recommendations::new(), Recommendations::new());
            let mut now = Timestamp::from_secs(1000);
            for (dt, raw, current) in ticks {
                now = now + Duration::from_secs(dt as u64);
                let input = BehaviorInput { raw, current, min: 0, max: 100, up: &up, down: &down, now };
                let want = reference(&mut full, &input);
                prop_assert_eq!(stabilize(&input, &mut pruned), want);
                prop_assert!(pruned.len() <= full.len().max(1));
            }
        }
    }

    #[test]
    fn a_steady_recommendation_leaves_one_entry() {
        let (up, down) = (rules(0), rules(300));
        let mut log = Recommendations::new();
        for (i, raw) in [33, 33, 35, 35, 35, 34, 35].into_iter().enumerate() {
            let now = Timestamp::from_secs(15 * i as i64);
            let input = BehaviorInput {
                raw,
                current: 33,
                min: 0,
                max: 100,
                up: &up,
                down: &down,
                now,
            };
            stabilize(&input, &mut log);
        }
        assert_eq!(log, VecDeque::from([(Timestamp::from_secs(90), 35)]));
    }
}
