//! `predict`: the forecast's replicas for this tick, from the readings the
//! policy took (Holt's trend) and the history the caller read (seasons).
//! Rules learnt from predictive autoscalers: a forecast only ever *adds*
//! replicas on top of the HPA's answer (reactive recommendation, behavior,
//! stabilization), so it can never be the reason for a scale-in, and it is
//! not recorded as a recommendation, so a forecast that passed or was wrong
//! costs no scale-down window; what it adds is capped (`maxAddPercent`);
//! and while its recent error is large (`maxErrorPercent`) it does not act.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
}

/// What the forecast says this tick.
pub struct Boost {
    /// The forecast's replicas, capped; above the reactive recommendation.
    pub replicas: u32,
    /// Whether to act on it (`act` mode, error small enough).
    pub act: bool,
    pub reason: Reason,
}

/// Records this tick's readings, checks due forecasts, and returns the
/// forecast's replicas when they exceed the reactive, stabilized `raw`.
pub fn boost(
    policy: &Policy,
    samples: &[MetricSample],
    history: &[SeasonHistory],
    ctx: ReplicaContext,
    raw: u32,
    now: Timestamp,
    state: &mut ForecastState,
) -> Option<Boost> {
    let p = &policy.predict;
    if !p.enabled() {
        *state = ForecastState::default();
        return None;
    }
    let keep = p.trend_window.max(p.horizon) + policy.interval * 2;
    let mut best: Option<(u32, usize, f64)> = None;
    for (index, spec) in policy.metrics.iter().enumerate() {
        if !matches!(spec, MetricSpec::Prometheus(_)) {
            continue;
        }
        let Some(value) = newest_value(samples, index) else {
            continue;
        };
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
        let Some(predicted) = [trend, seasonal].into_iter().flatten().reduce(f64::max) else {
            continue;
        };
        if !state
            .open
            .iter()
            .any(|(due, i, _)| *i == index && *due == now + p.horizon)
        {
            state.open.push_back((now + p.horizon, index, predicted));
        }
        if let MetricRecommendation::Replicas { replicas, .. } =
            recommend(spec, &MetricReading::Value { value: predicted }, ctx)
            && best.is_none_or(|(r, _, _)| replicas > r)
        {
            best = Some((replicas, index, predicted));
        }
    }
    // Forecasts that can no longer be checked (their metric went missing).
    while state
        .open
        .front()
        .is_some_and(|(due, _, _)| now.since(*due) > keep)
    {
        state.open.pop_front();
    }
    let (wanted, index, predicted) = best?;
    let room = (f64::from(raw) * f64::from(p.max_add_percent) / 100.0).ceil() as u32;
    let capped = wanted
        .min(raw.saturating_add(room.max(1)))
        .min(policy.max_replicas);
    if capped <= raw {
        return None;
    }
    let horizon = p.horizon.as_secs();
    let what = format!(
        "metrics[{index}] forecast {predicted:.1} at +{horizon}s: {wanted} replicas{} over the reactive {raw}",
        if capped < wanted {
            format!(", capped to {capped} (maxAddPercent {})", p.max_add_percent)
        } else {
            String::new()
        }
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
            state.error = Some(match state.error {
                Some(prev) => ERROR_WEIGHT * e + (1.0 - ERROR_WEIGHT) * prev,
                None => e,
            });
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
