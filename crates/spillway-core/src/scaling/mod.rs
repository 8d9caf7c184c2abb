//! Desired replicas from metric samples with HPA autoscaling/v2 semantics:
//! per-metric recommendations, the maximum over metrics, tolerance,
//! `behavior`, min/max, and `onMetricsMissing` (never towards zero because a
//! source failed).

pub mod behavior;
pub mod predict;
mod replicas;

pub use replicas::{Held, MetricRecommendation, ReplicaContext, recommend};

use behavior::Limit;

use crate::config::Policy;
use crate::metrics::MetricSample;
use crate::plan::{PolicyState, Reason, ReasonCode};
use crate::time::Timestamp;

/// D and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub replicas: u32,
    pub reasons: Vec<Reason>,
    /// The forecast's replicas over `predict.horizon` when it is above the
    /// reactive answer, acted on or not (`report`); sizes a standby pool.
    pub forecast: Option<u32>,
}

/// Computes D for this tick and records the history it needs in `state`.
pub fn desired_replicas(
    policy: &Policy,
    samples: &[MetricSample],
    current: u32,
    ready: u32,
    now: Timestamp,
    state: &mut PolicyState,
) -> Desired {
    desired_replicas_with_history(policy, samples, Lookahead::default(), current, ready, now, state)
}

/// What can raise the replicas above the HPA's answer: the past seasons
/// `predict.seasons` looks at, and the readings of `scaleUpQuery`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookahead<'a> {
    pub history: &'a [crate::forecast::SeasonHistory],
    pub scale_up: &'a [MetricSample],
}

/// [`desired_replicas`] with what the forecast and the scale-up signal
/// need. Either may raise the HPA's answer (after behavior and
/// stabilization) and neither is recorded as a recommendation, so neither
/// can be the reason for a scale-in.
pub fn desired_replicas_with_history(
    policy: &Policy,
    samples: &[MetricSample],
    lookahead: Lookahead<'_>,
    current: u32,
    ready: u32,
    now: Timestamp,
    state: &mut PolicyState,
) -> Desired {
    let mut reasons = Vec::new();
    if state.last_desired.is_none() {
        // recordInitialRecommendation: the first reconcile (a start, a
        // restart, a new leader) counts the current replicas as a
        // recommendation, so the scale-down stabilization window holds from
        // here and history lost with the process does not turn into an
        // immediate scale-down.
        state.recommendations.push_back((now, current));
    }
    // As the HPA, a count outside [min, max] goes to the bound at once,
    // before metrics, behavior or stabilization.
    if current > policy.max_replicas || current < policy.min_replicas {
        let (replicas, code, side) = if current > policy.max_replicas {
            (policy.max_replicas, ReasonCode::ClampedToMax, "above maxReplicas")
        } else {
            (policy.min_replicas, ReasonCode::ClampedToMin, "below minReplicas")
        };
        reasons.push(reason(
            code,
            format!("current {current} replicas {side}: {replicas}"),
        ));
        push_direction(&mut reasons, current, replicas);
        record_change(state, current, replicas, now);
        return Desired {
            replicas,
            reasons,
            forecast: None,
        };
    }
    let (tolerance_up, tolerance_down) = policy.tolerances();
    let ctx = ReplicaContext {
        current,
        ready,
        tolerance_up,
        tolerance_down,
    };
    let mut best: Option<(u32, usize, f64, Held)> = None;
    let mut missing: Vec<String> = Vec::new();
    for (i, spec) in policy.metrics.iter().enumerate() {
        // The newest sample for this metric wins.
        let sample = samples
            .iter()
            .filter(|s| s.index == i)
            .max_by_key(|s| s.observed_at);
        let rec = match sample {
            Some(s) => recommend(spec, &s.reading, ctx),
            None => MetricRecommendation::Missing("no sample".into()),
        };
        match rec {
            MetricRecommendation::Replicas {
                replicas,
                ratio,
                held,
            } => {
                if best.is_none_or(|(r, _, _, _)| replicas > r) {
                    best = Some((replicas, i, ratio, held));
                }
            }
            MetricRecommendation::Missing(why) => missing.push(format!("metrics[{i}]: {why}")),
        }
    }

    let raw = match best {
        None => {
            let since = *state.metrics_missing_since.get_or_insert(now);
            let oms = &policy.on_metrics_missing;
            let target = match oms.fallback_replicas {
                Some(f) if now.since(since) >= oms.after => {
                    reasons.push(reason(
                        ReasonCode::MetricsMissingFallback,
                        format!(
                            "no metric for {}s: fallback to {f} replicas ({})",
                            now.since(since).as_secs(),
                            missing.join("; ")
                        ),
                    ));
                    f
                }
                _ => {
                    reasons.push(reason(
                        ReasonCode::MetricsMissingHold,
                        format!("no metric: holding {current} replicas ({})", missing.join("; ")),
                    ));
                    current
                }
            };
            // A hold bypasses behavior's limits, but is remembered as a
            // recommendation: once readings return, a scale-down waits out
            // the stabilization window from the last held tick. Right after
            // an outage, `rate()` over a window with few fresh samples reads
            // low; without this the first reading would scale straight down.
            let replicas = target.clamp(policy.min_replicas, policy.max_replicas);
            behavior::remember(
                &mut state.recommendations,
                now,
                replicas,
                &policy.behavior.scale_up,
                &policy.behavior.scale_down,
            );
            record_change(state, current, replicas, now);
            return Desired {
                replicas,
                reasons,
                forecast: None,
            };
        }
        Some((replicas, index, ratio, held)) => {
            state.metrics_missing_since = None;
            if !missing.is_empty() && replicas <= current {
                // As the HPA: with a metric unavailable, only scale up.
                reasons.push(reason(
                    ReasonCode::MetricsPartial,
                    format!("holding at {current}: {} unavailable", missing.join("; ")),
                ));
                current
            } else {
                match held {
                    Held::Tolerance => reasons.push(reason(
                        ReasonCode::WithinTolerance,
                        format!(
                            "metrics[{index}] ratio {ratio:.3} within tolerance (up {tolerance_up}, down {tolerance_down})"
                        ),
                    )),
                    Held::MissingPods => reasons.push(reason(
                        ReasonCode::MissingPodsHold,
                        format!(
                            "metrics[{index}] ratio {ratio:.3} after counting missing/unready pods conservatively: holding {current}"
                        ),
                    )),
                    Held::No => {}
                }
                replicas
            }
        }
    };

    behavior::prune_events(
        &mut state.scale_events,
        &policy.behavior.scale_up,
        &policy.behavior.scale_down,
        now,
    );
    let input = behavior::BehaviorInput {
        raw,
        current,
        min: policy.min_replicas,
        max: policy.max_replicas,
        up: &policy.behavior.scale_up,
        down: &policy.behavior.scale_down,
        now,
    };
    let out = behavior::normalize(&input, &mut state.recommendations, &state.scale_events);
    // The forecast adds on top of the HPA's answer and is not one of its
    // recommendations: once it passes, the replicas go back to what the
    // reactive, stabilized path wants (never below it), and a wrong
    // forecast does not linger for a whole scale-down window.
    let mut replicas = out.replicas;
    let mut forecast_reason = None;
    let mut forecast = None;
    if let Some(b) = predict::boost(
        policy,
        samples,
        lookahead,
        ctx,
        replicas,
        now,
        &mut state.forecast,
    ) {
        if b.act {
            replicas = b.replicas;
        }
        forecast = Some(b.replicas);
        forecast_reason = Some(b.reason);
    }
    if out.stabilized > raw {
        reasons.push(reason(
            ReasonCode::ScaleDownStabilized,
            format!(
                "recommendation {raw} held at {} by the scale-down stabilization window ({}s)",
                out.stabilized,
                policy.behavior.scale_down.stabilization_window.as_secs()
            ),
        ));
    } else if out.stabilized < raw {
        reasons.push(reason(
            ReasonCode::ScaleUpStabilized,
            format!(
                "recommendation {raw} held at {} by the scale-up stabilization window ({}s)",
                out.stabilized,
                policy.behavior.scale_up.stabilization_window.as_secs()
            ),
        ));
    }
    if let Some(limit) = out.limit {
        let stabilized = out.stabilized;
        let message = match limit {
            Limit::ScaleUp => {
                format!("scale-up to {stabilized} limited to {replicas} by behavior.scaleUp policies")
            }
            Limit::ScaleDown => {
                format!("scale-down to {stabilized} limited to {replicas} by behavior.scaleDown policies")
            }
            Limit::Min => format!("{stabilized} raised to minReplicas {}", policy.min_replicas),
            Limit::Max => format!("{stabilized} capped at maxReplicas {}", policy.max_replicas),
        };
        reasons.push(reason(limit.code(), message));
    }
    reasons.extend(forecast_reason);
    push_direction(&mut reasons, current, replicas);
    record_change(state, current, replicas, now);
    Desired {
        replicas,
        reasons,
        forecast,
    }
}

fn push_direction(reasons: &mut Vec<Reason>, current: u32, replicas: u32) {
    if replicas > current {
        reasons.push(reason(
            ReasonCode::ScaleUp,
            format!("{current} → {replicas} replicas"),
        ));
    } else if replicas < current {
        reasons.push(reason(
            ReasonCode::ScaleDown,
            format!("{current} → {replicas} replicas"),
        ));
    }
}

fn record_change(state: &mut PolicyState, current: u32, replicas: u32, now: Timestamp) {
    if replicas != current {
        state
            .scale_events
            .push_back((now, i64::from(replicas) - i64::from(current)));
    }
    state.last_desired = Some(replicas);
}

fn reason(code: ReasonCode, message: String) -> Reason {
    Reason { code, message }
}

#[cfg(test)]
mod tests;
