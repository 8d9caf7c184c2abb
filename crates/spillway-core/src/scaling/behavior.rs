//! HPA `behavior`: stabilization windows and rate policies
//! (normalizeDesiredReplicasWithBehaviors in the HPA controller).

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::{ScalingPolicyKind, ScalingRules, SelectPolicy};
use crate::plan::ReasonCode;
use crate::time::Timestamp;

pub struct BehaviorInput<'a> {
    pub raw: u32,
    pub current: u32,
    pub min: u32,
    pub max: u32,
    pub up: &'a ScalingRules,
    pub down: &'a ScalingRules,
    pub now: Timestamp,
}

/// Records `replicas` as this tick's recommendation and forgets those older
/// than both stabilization windows.
pub fn remember(
    recommendations: &mut VecDeque<(Timestamp, u32)>,
    now: Timestamp,
    replicas: u32,
    up: &ScalingRules,
    down: &ScalingRules,
) {
    recommendations.push_back((now, replicas));
    let keep = up.stabilization_window.max(down.stabilization_window);
    let cutoff = now.saturating_sub(keep);
    while recommendations
        .front()
        .is_some_and(|&(t, _)| t <= cutoff && keep > Duration::ZERO)
    {
        recommendations.pop_front();
    }
    if keep == Duration::ZERO {
        recommendations.clear();
    }
}

/// Applies stabilization then rate limits then min/max. Records `raw` into
/// `recommendations`; the caller records the resulting change into `events`.
pub fn normalize(
    input: &BehaviorInput<'_>,
    recommendations: &mut VecDeque<(Timestamp, u32)>,
    events: &VecDeque<(Timestamp, i64)>,
) -> (u32, Vec<ReasonCode>) {
    let mut reasons = Vec::new();
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
    let mut stabilized = input.current.max(up_rec);
    if stabilized > down_rec {
        stabilized = down_rec;
    }
    if stabilized > input.raw && input.raw < input.current {
        reasons.push(ReasonCode::ScaleDownStabilized);
    }
    remember(recommendations, input.now, input.raw, input.up, input.down);

    let current = input.current;
    let desired = stabilized;
    let result = if desired > current {
        let limit = scale_up_limit(current, events, input.up, input.now).max(current);
        let allowed = input.max.min(limit);
        if desired > allowed {
            reasons.push(if allowed < input.max {
                ReasonCode::ScaleUpLimited
            } else {
                ReasonCode::ClampedToMax
            });
            allowed
        } else {
            desired
        }
    } else if desired < current {
        let limit = scale_down_limit(current, events, input.down, input.now).min(current);
        let allowed = input.min.max(limit);
        if desired < allowed {
            reasons.push(if allowed > input.min {
                ReasonCode::ScaleDownLimited
            } else {
                ReasonCode::ClampedToMin
            });
            allowed
        } else {
            desired
        }
    } else {
        desired
    };
    let clamped = result.clamp(input.min, input.max);
    if clamped > result {
        reasons.push(ReasonCode::ClampedToMin);
    } else if clamped < result {
        reasons.push(ReasonCode::ClampedToMax);
    }
    (clamped, reasons)
}

/// Sum of changes in one direction within `period` before `now`.
fn change_in_period(events: &VecDeque<(Timestamp, i64)>, period: Duration, now: Timestamp, up: bool) -> i64 {
    let cutoff = now.saturating_sub(period);
    events
        .iter()
        .filter(|(t, d)| *t > cutoff && if up { *d > 0 } else { *d < 0 })
        .map(|(_, d)| d.abs())
        .sum()
}

fn scale_up_limit(
    current: u32,
    events: &VecDeque<(Timestamp, i64)>,
    rules: &ScalingRules,
    now: Timestamp,
) -> u32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    let proposals = rules.policies.iter().map(|p| {
        let start = i64::from(current) - change_in_period(events, p.period, now, true);
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

fn scale_down_limit(
    current: u32,
    events: &VecDeque<(Timestamp, i64)>,
    rules: &ScalingRules,
    now: Timestamp,
) -> u32 {
    if rules.select_policy == SelectPolicy::Disabled {
        return current;
    }
    let proposals = rules.policies.iter().map(|p| {
        let start = i64::from(current) + change_in_period(events, p.period, now, false);
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
pub fn prune_events(
    events: &mut VecDeque<(Timestamp, i64)>,
    up: &ScalingRules,
    down: &ScalingRules,
    now: Timestamp,
) {
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
