//! `predict`: the forecast's replicas for this tick, from the readings the
//! policy took (Holt's trend) and the history the caller read (seasons).
//! Rules learnt from predictive autoscalers: a forecast only ever *adds*
//! replicas on top of the HPA's answer (reactive recommendation, behavior,
//! stabilization), so it can never be the reason for a scale-in, and it is
//! not recorded as a recommendation, so a forecast that passed or was wrong
//! costs no scale-down window; what it adds is capped (`maxAddPercent`,
//! `maxAddReplicas`); and while its recent error is large
//! (`maxErrorPercent`) it does not act.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Lookahead;
use super::replicas::{MetricRecommendation, ReplicaContext, recommend};
use crate::config::{MetricSpec, Policy, PredictMode};
use crate::forecast::{self, SeasonHistory};
use crate::metrics::{MetricReading, MetricSample};
use crate::plan::{Reason, ReasonCode};
use crate::time::Timestamp;

/// Smoothing of the level and the trend: a fresh ramp shows within two
/// readings, one noisy reading moves the trend only a little.
const ALPHA: f64 = 0.5;
const BETA: f64 = 0.3;
/// Weight of the newest error in the running error.
const ERROR_WEIGHT: f64 = 0.3;
/// A running error below 0.1 % is none: without the floor, exact forecasts
/// of a steady metric would shrink the error by 30 % a tick for thousands
/// of ticks before it reached zero, and the state would never settle (the
/// simulator skips ticks only at a settled state). The floor is a tenth of
/// the smallest `maxErrorPercent` (1); dropping an error below it moves the
/// next running errors by at most 0.07 percentage points, so it can decide
/// whether a forecast acts only when the error sits that close to
/// `maxErrorPercent`.
const ERROR_FLOOR: f64 = 1e-3;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastState {
    /// Recent readings of each Prometheus metric, oldest first.
    readings: BTreeMap<usize, VecDeque<(Timestamp, f64)>>,
    /// Forecasts waiting for the reading they can be checked against:
    /// (due, metric, predicted value).
    open: VecDeque<(Timestamp, usize, f64)>,
    /// Running mean of the relative error of checked forecasts.
    error: Option<f64>,
}

impl ForecastState {
    pub fn error(&self) -> Option<f64> {
        self.error
    }
    /// Moves every reading and due time `by` later.
    pub(crate) fn shift(&mut self, by: Duration) {
        for readings in self.readings.values_mut() {
            readings.iter_mut().for_each(|(t, _)| *t = *t + by);
        }
        self.open.iter_mut().for_each(|(due, _, _)| *due = *due + by);
    }
}

/// What the forecast says this tick.
pub struct Boost {
    /// The forecast's replicas, capped; above the reactive recommendation.
    pub replicas: u32,
    /// Whether to act on it (`act` mode, error small enough).
    pub act: bool,
    pub reason: Reason,
}

/// Records this tick's readings, checks due forecasts, and returns what
/// the forecast or the scale-up signal wants when it exceeds the reactive,
/// stabilized `raw`. The scale-up signal is a reading, not a forecast: it
/// acts whatever `predict.mode` says, and its error is not tracked.
pub fn boost(
    policy: &Policy,
    samples: &[MetricSample],
    lookahead: Lookahead<'_>,
    ctx: ReplicaContext,
    raw: u32,
    now: Timestamp,
    state: &mut ForecastState,
) -> Option<Boost> {
    let p = &policy.predict;
    if !p.enabled() {
        *state = ForecastState::default();
    }
    let mut forecast_best: Option<(u32, usize, f64)> = None;
    let mut signal_best: Option<(u32, usize, f64)> = None;
    for (index, spec) in policy.metrics.iter().enumerate() {
        let MetricSpec::Prometheus(prom) = spec else {
            continue;
        };
        if prom.scale_up_query.is_some()
            && let Some(value) = newest_value(lookahead.scale_up, index)
            && rises_enough(value, prom.scale_up_min_rise_percent, || {
                newest_value(samples, index)
            })
        {
            keep_highest(&mut signal_best, spec, value, index, ctx);
        }
        if p.enabled()
            && let Some(predicted) = forecast_value(policy, samples, lookahead.history, index, now, state)
        {
            keep_highest(&mut forecast_best, spec, predicted, index, ctx);
        }
    }
    // Forecasts that can no longer be checked (their metric went missing).
    let keep = p.trend_window.max(p.horizon) + policy.interval * 2;
    while state
        .open
        .front()
        .is_some_and(|(due, _, _)| now.since(*due) > keep)
    {
        state.open.pop_front();
    }
    let forecast = forecast_best.and_then(|best| forecast_boost(policy, best, raw, state));
    let signal = signal_best.and_then(|best| signal_boost(policy, best, raw));
    match (forecast, signal) {
        (Some(f), Some(s)) if !f.act || s.replicas > f.replicas => Some(s),
        (Some(f), _) => Some(f),
        (None, s) => s,
    }
}

/// The replicas `value` of `spec` asks for, kept when above the best so far.
fn keep_highest(
    best: &mut Option<(u32, usize, f64)>,
    spec: &MetricSpec,
    value: f64,
    index: usize,
    ctx: ReplicaContext,
) {
    if let MetricRecommendation::Replicas { replicas, .. } =
        recommend(spec, &MetricReading::Value { value }, ctx)
        && best.is_none_or(|(r, _, _)| replicas > r)
    {
        *best = Some((replicas, index, value));
    }
}

/// At most the larger of `maxAddPercent` of the reactive `raw` and
/// `maxAddReplicas` over it, and never above `maxReplicas`.
fn capped(policy: &Policy, wanted: u32, raw: u32) -> u32 {
    let p = &policy.predict;
    let by_percent = (f64::from(raw) * f64::from(p.max_add_percent) / 100.0).ceil() as u32;
    wanted
        .min(raw.saturating_add(by_percent.max(p.max_add_replicas)))
        .min(policy.max_replicas)
}

fn cap_note(policy: &Policy, wanted: u32, capped: u32) -> String {
    if capped < wanted {
        format!(
            ", capped to {capped} (predict.maxAddPercent {}, maxAddReplicas {})",
            policy.predict.max_add_percent, policy.predict.max_add_replicas
        )
    } else {
        String::new()
    }
}

/// Records the reading of `metrics[index]`, scores due forecasts against it
/// and returns the forecast over the horizon (trend, seasons: the higher).
fn forecast_value(
    policy: &Policy,
    samples: &[MetricSample],
    history: &[SeasonHistory],
    index: usize,
    now: Timestamp,
    state: &mut ForecastState,
) -> Option<f64> {
    let p = &policy.predict;
    let keep = p.trend_window.max(p.horizon) + policy.interval * 2;
    let value = newest_value(samples, index)?;
    check_due(state, index, value, now);
    let readings = state.readings.entry(index).or_default();
    // Planning again at the same instant replaces, not repeats, a reading.
    if readings.back().is_some_and(|(t, _)| *t == now) {
        readings.pop_back();
    }
    readings.push_back((now, value));
    while readings.front().is_some_and(|(t, _)| now.since(*t) > keep) {
        readings.pop_front();
    }
    let trend = p
        .trend
        .then(|| trend_value(readings, now, p.trend_window, p.horizon, policy.interval))
        .flatten();
    let seasonal = history
        .iter()
        .filter(|h| h.index == index)
        .find_map(|h| forecast::seasonal_naive(&h.windows, p.percentile));
    let predicted = [trend, seasonal].into_iter().flatten().reduce(f64::max)?;
    if !state
        .open
        .iter()
        .any(|(due, i, _)| *i == index && *due == now + p.horizon)
    {
        state.open.push_back((now + p.horizon, index, predicted));
    }
    Some(predicted)
}

fn forecast_boost(
    policy: &Policy,
    (wanted, index, predicted): (u32, usize, f64),
    raw: u32,
    state: &ForecastState,
) -> Option<Boost> {
    let p = &policy.predict;
    let capped = capped(policy, wanted, raw);
    if capped <= raw {
        return None;
    }
    let horizon = p.horizon.as_secs();
    let what = format!(
        "metrics[{index}] forecast {predicted:.1} at +{horizon}s: {wanted} replicas{} over the reactive {raw}",
        cap_note(policy, wanted, capped)
    );
    let too_wrong = state
        .error
        .is_some_and(|e| e * 100.0 > f64::from(p.max_error_percent));
    let (code, act, message) = if too_wrong {
        (
            ReasonCode::ForecastFallback,
            false,
            format!(
                "{what}; not acted on: recent forecast error {:.0}% > maxErrorPercent {}",
                state.error.unwrap_or_default() * 100.0,
                p.max_error_percent
            ),
        )
    } else if p.mode == PredictMode::Report {
        (
            ReasonCode::ForecastReport,
            false,
            format!("{what} (predict.mode: report, not acted on)"),
        )
    } else {
        (ReasonCode::ForecastUp, true, what)
    };
    Some(Boost {
        replicas: capped,
        act,
        reason: Reason { code, message },
    })
}

fn signal_boost(policy: &Policy, (wanted, index, value): (u32, usize, f64), raw: u32) -> Option<Boost> {
    let capped = capped(policy, wanted, raw);
    if capped <= raw {
        return None;
    }
    Some(Boost {
        replicas: capped,
        act: true,
        reason: Reason {
            code: ReasonCode::ScaleUpSignal,
            message: format!(
                "metrics[{index}] scaleUpQuery reads {value:.1}: {wanted} replicas{} over the reactive {raw}",
                cap_note(policy, wanted, capped)
            ),
        },
    })
}

/// Whether the scale-up signal reads far enough above the metric's own
/// query to act. With a threshold but no usable reading of the query, a
/// rise cannot be told from noise: the signal does not act.
/// The query's reading is looked up only when there is a threshold.
fn rises_enough(signal: f64, min_rise_percent: u32, main: impl FnOnce() -> Option<f64>) -> bool {
    if min_rise_percent == 0 {
        return true;
    }
    // Scaled by 100 rather than multiplied by 1.1 etc.: exact at the bound.
    main().is_some_and(|main| signal * 100.0 >= main * (100.0 + f64::from(min_rise_percent)))
}

fn newest_value(samples: &[MetricSample], index: usize) -> Option<f64> {
    match &samples
        .iter()
        .filter(|s| s.index == index)
        .max_by_key(|s| s.observed_at)?
        .reading
    {
        MetricReading::Value { value } if value.is_finite() && *value >= 0.0 => Some(*value),
        _ => None,
    }
}

/// Scores the forecasts of `index` that fell due against this reading.
fn check_due(state: &mut ForecastState, index: usize, value: f64, now: Timestamp) {
    let mut still_open = VecDeque::with_capacity(state.open.len());
    for (due, i, predicted) in state.open.drain(..) {
        if i == index && due <= now {
            let e = forecast::relative_error(predicted, value);
            let running = match state.error {
                Some(prev) => ERROR_WEIGHT * e + (1.0 - ERROR_WEIGHT) * prev,
                None => e,
            };
            state.error = Some(if running < ERROR_FLOOR { 0.0 } else { running });
        } else {
            still_open.push_back((due, i, predicted));
        }
    }
    state.open = still_open;
}

/// Holt over the readings inside the trend window, `horizon` ahead.
fn trend_value(
    readings: &VecDeque<(Timestamp, f64)>,
    now: Timestamp,
    window: Duration,
    horizon: Duration,
    interval: Duration,
) -> Option<f64> {
    let values: Vec<f64> = readings
        .iter()
        .filter(|(t, _)| now.since(*t) <= window)
        .map(|(_, v)| *v)
        .collect();
    let steps = horizon.as_secs_f64() / interval.as_secs_f64().max(1.0);
    forecast::holt(&values, ALPHA, BETA, steps).map(|v| v.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::rises_enough;

    #[test]
    fn a_minimum_rise_needs_a_reading_of_the_query_to_compare_with() {
        assert!(rises_enough(1.0, 0, || None), "no threshold: as before");
        assert!(!rises_enough(1000.0, 10, || None), "nothing to compare with");
        assert!(!rises_enough(1099.0, 10, || Some(1000.0)));
        assert!(rises_enough(1100.0, 10, || Some(1000.0)), "at least 10 %");
        assert!(rises_enough(1.0, 10, || Some(0.0)), "any rise over zero");
    }
}
