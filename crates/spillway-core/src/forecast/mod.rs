//! Forecasters: history in, forecast out. Pure, like the rest of the core:
//! the controller feeds them readings it took and history it read from
//! Prometheus (range queries: nothing local to lose on a restart), the
//! simulator the part of the trace it has already replayed, never the future.
//!
//! * [`holt`]: Holt's linear (double exponential) smoothing of the recent
//!   readings: level plus trend, extrapolated over the horizon. It sees a
//!   ramp one or two readings after it starts, where the averaged metric
//!   alone needs the whole `rate()` window to show it.
//! * [`seasonal_naive`]: the load at the same time in past seasons (a day,
//!   a week ago), a high percentile over several of them.

#[cfg(test)]
mod tests;

/// What the metric source returned of one metric's past seasons:
/// `windows[k]` holds the readings over `[now − s·(k+1), now − s·(k+1) + horizon]`
/// for each configured season `s` (all seasons' windows together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeasonHistory {
    pub index: usize,
    pub windows: Vec<Vec<f64>>,
}

/// Holt's linear smoothing of evenly spaced `values` (oldest first), then
/// `steps` steps ahead. `None` with fewer than three values.
pub fn holt(values: &[f64], alpha: f64, beta: f64, steps: f64) -> Option<f64> {
    if values.len() < 3 || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut level = values[0];
    let mut trend = values[1] - values[0];
    for &v in &values[1..] {
        let previous = level;
        level = alpha * v + (1.0 - alpha) * (level + trend);
        trend = beta * (level - previous) + (1.0 - beta) * trend;
    }
    Some(level + trend * steps)
}

/// The `percentile` (nearest rank, 1–100) over past seasons of each
/// season's peak within the horizon. `windows[k]` holds the values of one
/// past season over `[now − season·(k+1), now − season·(k+1) + horizon]`.
/// `None` when no window holds a value.
pub fn seasonal_naive(windows: &[Vec<f64>], percentile: u32) -> Option<f64> {
    let mut peaks: Vec<f64> = windows
        .iter()
        .filter_map(|w| w.iter().copied().filter(|v| v.is_finite()).reduce(f64::max))
        .collect();
    if peaks.is_empty() {
        return None;
    }
    peaks.sort_by(f64::total_cmp);
    let rank = (f64::from(percentile.clamp(1, 100)) / 100.0 * peaks.len() as f64).ceil() as usize;
    peaks.get(rank.saturating_sub(1)).copied()
}

/// Relative error of a forecast against what was then observed, bounded so
/// one wild miss cannot dominate the running average.
pub fn relative_error(predicted: f64, observed: f64) -> f64 {
    ((predicted - observed).abs() / observed.abs().max(1e-9)).min(10.0)
}
