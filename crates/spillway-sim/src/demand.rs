//! Demand per second, with prefix sums so any window average is O(1).

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::SimError;
use crate::dist::standard_normal;
use crate::scenario::{Scenario, Synthetic};
use crate::trace::read_trace;

/// Demand in units per second for each simulated second.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    per_second: Vec<f64>,
    /// `prefix[i]` = sum of `per_second[..i]`.
    prefix: Vec<f64>,
    /// Where it came from, for the report.
    pub source: String,
}

impl Demand {
    pub fn from_series(per_second: Vec<f64>, source: impl Into<String>) -> Result<Demand, SimError> {
        if per_second.is_empty() {
            return Err(SimError::Demand("the demand series is empty".into()));
        }
        if let Some((i, v)) = per_second
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(SimError::Demand(format!(
                "demand at second {i} is {v}; it must be a finite number ≥ 0"
            )));
        }
        let mut prefix = Vec::with_capacity(per_second.len() + 1);
        let mut acc = 0.0;
        prefix.push(0.0);
        for v in &per_second {
            acc += v;
            prefix.push(acc);
        }
        Ok(Demand {
            per_second,
            prefix,
            source: source.into(),
        })
    }

    pub fn len(&self) -> usize {
        self.per_second.len()
    }
    pub fn is_empty(&self) -> bool {
        self.per_second.is_empty()
    }
    pub fn at(&self, t: usize) -> f64 {
        self.per_second.get(t).copied().unwrap_or(0.0)
    }
    pub fn series(&self) -> &[f64] {
        &self.per_second
    }
    pub fn total(&self) -> f64 {
        self.prefix.last().copied().unwrap_or(0.0)
    }
    pub fn peak(&self) -> f64 {
        self.per_second.iter().copied().fold(0.0, f64::max)
    }
    /// Mean over seconds `[start, end)`, clamped to the series; `at(start)` if empty.
    pub fn mean(&self, start: usize, end: usize) -> f64 {
        let end = end.min(self.len());
        if end <= start {
            return self.at(start.min(self.len().saturating_sub(1)));
        }
        (self.prefix[end] - self.prefix[start]) / (end - start) as f64
    }
    pub fn truncate(&mut self, len: usize) {
        if len > 0 && len < self.per_second.len() {
            self.per_second.truncate(len);
            self.prefix.truncate(len + 1);
        }
    }
    /// Multiplies every value by `k ≥ 0`.
    pub fn scale(&mut self, k: f64) {
        for v in &mut self.per_second {
            *v *= k;
        }
        for v in &mut self.prefix {
            *v *= k;
        }
    }
}

/// Overrides of the command line, applied on top of the scenario.
#[derive(Debug, Clone, Default)]
pub struct DemandOverrides<'a> {
    pub trace: Option<&'a Path>,
    pub peak_replicas: Option<f64>,
    pub duration_secs: Option<u64>,
}

/// Builds the demand of a scenario, with `--trace`, `--peak-replicas` and `--duration` applied.
pub fn build_demand(scenario: &Scenario, o: &DemandOverrides<'_>) -> Result<Demand, SimError> {
    let cpr = scenario.demand.capacity_per_replica;
    let default_peak = 2.5 * scenario.initial_pool_replicas() as f64;
    let (mut demand, peak_replicas, cap) = if let Some(path) = o.trace {
        let trace = read_trace(path)?;
        let d = Demand::from_series(trace.per_second(1.0), path.display().to_string())?;
        (d, Some(o.peak_replicas.unwrap_or(default_peak)), None)
    } else if let Some(t) = &scenario.demand.trace {
        let path = scenario.base_dir.join(&t.file);
        let trace = read_trace(&path)?;
        let mut d = Demand::from_series(trace.per_second(t.time_scale), path.display().to_string())?;
        if t.peak_replicas.is_none() && o.peak_replicas.is_none() {
            d.scale(t.value_scale);
        }
        (
            d,
            o.peak_replicas.or(t.peak_replicas),
            Some(scenario.duration_secs),
        )
    } else if let Some(s) = &scenario.demand.synthetic {
        let d = synthetic(s, scenario.duration_secs, scenario.seed)?;
        (d, o.peak_replicas, None)
    } else {
        return Err(SimError::Demand("the scenario has no demand".into()));
    };
    if let Some(limit) = o.duration_secs.or(cap) {
        demand.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    if let Some(n) = peak_replicas {
        if !(n.is_finite() && n > 0.0) {
            return Err(SimError::Demand(format!("--peak-replicas {n} must be above 0")));
        }
        let peak = demand.peak();
        if peak <= 0.0 {
            return Err(SimError::Demand(
                "the trace has no demand at all (every value is 0); it cannot be scaled to a peak".into(),
            ));
        }
        demand.scale(n * cpr / peak);
    }
    Ok(demand)
}

const DAY: f64 = 86_400.0;

/// `base + daily + spikes + steps`, with multiplicative noise, floored at 0.
pub fn synthetic(s: &Synthetic, duration_secs: u64, seed: u64) -> Result<Demand, SimError> {
    let n = usize::try_from(duration_secs).map_err(|_| SimError::Demand("duration too long".into()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    let mut steps: Vec<(f64, f64)> = s.steps.iter().map(|st| (st.at.as_secs_f64(), st.add)).collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::with_capacity(n);
    let mut level = s.base;
    let mut next_step = 0;
    for sec in 0..n {
        let t = sec as f64;
        while next_step < steps.len() && steps[next_step].0 <= t {
            level += steps[next_step].1;
            next_step += 1;
        }
        let mut v = level;
        if let Some(d) = &s.daily {
            v += d.amplitude * (std::f64::consts::TAU * (t - d.peak_at.as_secs_f64()) / DAY).cos();
        }
        for sp in &s.spikes {
            v += sp.height
                * trapezoid(
                    t,
                    sp.at.as_secs_f64(),
                    sp.rise.as_secs_f64(),
                    sp.hold.as_secs_f64(),
                    sp.fall.as_secs_f64(),
                );
        }
        if s.noise > 0.0 {
            v *= 1.0 + s.noise * standard_normal(&mut rng);
        }
        out.push(v.max(0.0));
    }
    Demand::from_series(out, "synthetic")
}

fn trapezoid(t: f64, at: f64, rise: f64, hold: f64, fall: f64) -> f64 {
    let x = t - at;
    if x < 0.0 {
        0.0
    } else if x < rise {
        x / rise
    } else if x < rise + hold {
        1.0
    } else if x < rise + hold + fall {
        1.0 - (x - rise - hold) / fall
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_means_use_prefix_sums() {
        let d = Demand::from_series(vec![1.0, 2.0, 3.0, 4.0], "x").expect("valid");
        assert_eq!(d.mean(0, 4), 2.5);
        assert_eq!(d.mean(2, 10), 3.5);
        assert_eq!(d.mean(3, 3), 4.0);
        assert!(Demand::from_series(vec![1.0, f64::NAN], "x").is_err());
        assert!(Demand::from_series(vec![], "x").is_err());
    }

    #[test]
    fn spike_shape() {
        assert_eq!(trapezoid(5.0, 0.0, 10.0, 10.0, 10.0), 0.5);
        assert_eq!(trapezoid(15.0, 0.0, 10.0, 10.0, 10.0), 1.0);
        assert_eq!(trapezoid(35.0, 0.0, 10.0, 10.0, 10.0), 0.0);
        assert_eq!(trapezoid(0.0, 0.0, 0.0, 10.0, 0.0), 1.0);
    }
}
