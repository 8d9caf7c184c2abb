//! Demand as a piecewise-constant function of the simulated second: one
//! segment per run of equal per-second values (a trace row is one segment,
//! a noisy synthetic second is one), with prefix sums over segments, so that
//! memory grows with the trace's rows, not with its seconds, and any window
//! average is O(log segments).

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::SimError;
use crate::dist::standard_normal;
use crate::scenario::{Scenario, Synthetic};
use crate::trace::read_trace;

/// Demand in units per second for each simulated second `0..len`.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// First second of each segment: `starts[0] == 0`, strictly increasing.
    starts: Vec<u64>,
    /// Demand per second within each segment.
    rates: Vec<f64>,
    /// `prefix[i]` = demand summed over seconds `[0, starts[i])`; one more
    /// entry than segments, the last being the total over `[0, len)`.
    prefix: Vec<f64>,
    len: u64,
    /// Where it came from, for the report.
    pub source: String,
}

/// Builds a [`Demand`] from runs of seconds in time order.
#[derive(Debug, Default)]
pub struct DemandBuilder {
    starts: Vec<u64>,
    rates: Vec<f64>,
    len: u64,
}

impl DemandBuilder {
    /// Appends `seconds` seconds of `rate` per second (merged with the
    /// previous run when equal).
    pub fn push(&mut self, seconds: u64, rate: f64) -> Result<(), SimError> {
        if !rate.is_finite() || rate < 0.0 {
            return Err(SimError::Demand(format!(
                "demand at second {} is {rate}; it must be a finite number ≥ 0",
                self.len
            )));
        }
        if seconds == 0 {
            return Ok(());
        }
        if self.rates.last().is_none_or(|r| r.to_bits() != rate.to_bits()) {
            self.starts.push(self.len);
            self.rates.push(rate);
        }
        self.len += seconds;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self, source: impl Into<String>) -> Result<Demand, SimError> {
        if self.len == 0 {
            return Err(SimError::Demand("the demand series is empty".into()));
        }
        let mut prefix = Vec::with_capacity(self.rates.len() + 1);
        prefix.push(0.0);
        let mut acc = 0.0;
        for (i, rate) in self.rates.iter().enumerate() {
            let end = self.starts.get(i + 1).copied().unwrap_or(self.len);
            acc += rate * (end - self.starts[i]) as f64;
            prefix.push(acc);
        }
        Ok(Demand {
            starts: self.starts,
            rates: self.rates,
            prefix,
            len: self.len,
            source: source.into(),
        })
    }
}

impl Demand {
    pub fn from_series(per_second: Vec<f64>, source: impl Into<String>) -> Result<Demand, SimError> {
        let mut b = DemandBuilder::default();
        for v in per_second {
            b.push(1, v)?;
        }
        b.finish(source)
    }

    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Number of constant segments (what the memory grows with).
    pub fn segment_count(&self) -> usize {
        self.rates.len()
    }
    /// The segment holding second `t` (the last one past the end).
    fn segment_of(&self, t: u64) -> usize {
        self.starts.partition_point(|s| *s <= t).saturating_sub(1)
    }
    /// `(start, end, rate)` of segment `i`.
    pub fn segment(&self, i: usize) -> Option<(u64, u64, f64)> {
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(self.len);
        Some((start, end, self.rates[i]))
    }
    /// Every segment as `(start, end, rate)`, in time order.
    pub fn segments(&self) -> impl Iterator<Item = (u64, u64, f64)> + '_ {
        (0..self.rates.len()).filter_map(|i| self.segment(i))
    }
    pub fn at(&self, t: usize) -> f64 {
        let t = t as u64;
        if t >= self.len {
            return 0.0;
        }
        self.rates[self.segment_of(t)]
    }
    /// Demand summed over seconds `[0, t)`, `t ≤ len`.
    fn integral(&self, t: u64) -> f64 {
        let i = self.segment_of(t);
        if t >= self.len {
            return self.total();
        }
        self.prefix[i] + self.rates[i] * (t - self.starts[i]) as f64
    }
    /// Every second's demand, expanded (tests and small runs only).
    pub fn series(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len());
        for (a, b, r) in self.segments() {
            out.extend(std::iter::repeat_n(r, (b - a) as usize));
        }
        out
    }
    pub fn total(&self) -> f64 {
        self.prefix.last().copied().unwrap_or(0.0)
    }
    pub fn peak(&self) -> f64 {
        self.rates.iter().copied().fold(0.0, f64::max)
    }
    /// True when every second of `[start, end)` (clamped to the series)
    /// has the same demand.
    pub fn constant_over(&self, start: u64, end: u64) -> bool {
        let end = end.min(self.len);
        end <= start || self.segment_of(start) == self.segment_of(end - 1)
    }
    /// Mean over seconds `[start, end)`, clamped to the series; `at(start)` if empty.
    pub fn mean(&self, start: usize, end: usize) -> f64 {
        let end = end.min(self.len());
        if end <= start {
            return self.at(start.min(self.len().saturating_sub(1)));
        }
        // Within one segment the mean is its rate, exactly: a difference of
        // prefix sums would differ in the last bits from window to window,
        // and a steady metric must read the same at every tick.
        let first = self.segment_of(start as u64);
        if self.starts.get(first + 1).is_none_or(|next| *next >= end as u64) {
            return self.rates[first];
        }
        (self.integral(end as u64) - self.integral(start as u64)) / (end - start) as f64
    }
    pub fn truncate(&mut self, len: usize) {
        let len = len as u64;
        if len > 0 && len < self.len {
            let keep = self.segment_of(len - 1) + 1;
            self.starts.truncate(keep);
            self.rates.truncate(keep);
            self.prefix.truncate(keep);
            let last = keep - 1;
            self.prefix
                .push(self.prefix[last] + self.rates[last] * (len - self.starts[last]) as f64);
            self.len = len;
        }
    }
    /// Multiplies every value by `k ≥ 0`.
    pub fn scale(&mut self, k: f64) {
        for v in &mut self.rates {
            *v *= k;
        }
        for v in &mut self.prefix {
            *v *= k;
        }
    }
    /// A reader for a walk forward in time: O(1) per call when `t` never decreases.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor { demand: self, i: 0 }
    }
}

/// Reads a [`Demand`] at non-decreasing seconds.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    demand: &'a Demand,
    i: usize,
}

impl Cursor<'_> {
    fn seek(&mut self, t: u64) {
        let d = self.demand;
        if d.starts.get(self.i).is_some_and(|s| *s > t) {
            self.i = d.segment_of(t);
        }
        while d.starts.get(self.i + 1).is_some_and(|s| *s <= t) {
            self.i += 1;
        }
    }
    /// The demand at second `t` (0 past the end).
    pub fn at(&mut self, t: u64) -> f64 {
        if t >= self.demand.len {
            return 0.0;
        }
        self.seek(t);
        self.demand.rates[self.i]
    }
    /// The first second after `t` whose demand may differ from `t`'s.
    pub fn constant_until(&mut self, t: u64) -> u64 {
        if t >= self.demand.len {
            return u64::MAX;
        }
        self.seek(t);
        self.demand
            .starts
            .get(self.i + 1)
            .copied()
            .unwrap_or(self.demand.len)
    }
}

/// Overrides of the command line, applied on top of the scenario.
#[derive(Debug, Clone, Default)]
pub struct DemandOverrides<'a> {
    pub trace: Option<&'a Path>,
    pub peak_replicas: Option<f64>,
    pub duration_secs: Option<u64>,
}

/// Builds the demand of a scenario, with `--trace`, `--peak-replicas` and
/// `--duration` applied. The duration cuts the trace before it is replayed.
pub fn build_demand(scenario: &Scenario, o: &DemandOverrides<'_>) -> Result<Demand, SimError> {
    let cpr = scenario.demand.capacity_per_replica;
    let default_peak = 2.5 * scenario.initial_pool_replicas() as f64;
    // A limit of 0 means none (as `truncate` always did).
    let limit = |cap: Option<u64>| o.duration_secs.or(cap).filter(|l| *l > 0);
    let (mut demand, peak_replicas) = if let Some(path) = o.trace {
        let trace = read_trace(path)?;
        let d = trace.demand(1.0, limit(None), path.display().to_string())?;
        (d, Some(o.peak_replicas.unwrap_or(default_peak)))
    } else if let Some(t) = &scenario.demand.trace {
        let path = scenario.base_dir.join(&t.file);
        let trace = read_trace(&path)?;
        let mut d = trace.demand(
            t.time_scale,
            limit(Some(scenario.duration_secs)),
            path.display().to_string(),
        )?;
        if t.peak_replicas.is_none() && o.peak_replicas.is_none() {
            d.scale(t.value_scale);
        }
        (d, o.peak_replicas.or(t.peak_replicas))
    } else if let Some(s) = &scenario.demand.synthetic {
        let secs = match limit(None) {
            Some(l) => l.min(scenario.duration_secs),
            None => scenario.duration_secs,
        };
        (synthetic(s, secs, scenario.seed)?, o.peak_replicas)
    } else {
        return Err(SimError::Demand("the scenario has no demand".into()));
    };
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
    let mut out = DemandBuilder::default();
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
        out.push(1, v.max(0.0))?;
    }
    out.finish("synthetic")
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
    fn equal_seconds_share_a_segment() {
        let d = Demand::from_series(vec![1.0, 1.0, 1.0, 2.0, 2.0, 0.0], "x").expect("valid");
        assert_eq!(d.segment_count(), 3);
        assert_eq!(d.series(), vec![1.0, 1.0, 1.0, 2.0, 2.0, 0.0]);
        let mut c = d.cursor();
        assert_eq!((c.at(0), c.constant_until(0)), (1.0, 3));
        assert_eq!((c.at(4), c.constant_until(4)), (2.0, 5));
        assert_eq!((c.at(6), c.constant_until(6)), (0.0, u64::MAX));
        assert_eq!(c.at(1), 1.0, "a cursor may go back");
    }

    proptest::proptest! {
        /// Segments answer as the per-second vector and its prefix sums did.
        #[test]
        fn segments_answer_as_the_per_second_series(
            runs in proptest::collection::vec((1usize..50, 0.0f64..1000.0), 1..40),
            windows in proptest::collection::vec((0usize..2500, 0usize..300), 1..20),
            cut in 0usize..2500,
            k in 0.0f64..4.0,
        ) {
            let series: Vec<f64> = runs.iter().flat_map(|(n, v)| std::iter::repeat_n(v.round(), *n)).collect();
            let mut d = Demand::from_series(series.clone(), "x").expect("valid");
            d.truncate(cut);
            d.scale(k);
            let mut s: Vec<f64> = series.iter().map(|v| v * k).collect();
            if cut > 0 && cut < s.len() {
                s.truncate(cut);
            }
            proptest::prop_assert_eq!(d.len(), s.len());
            proptest::prop_assert_eq!(d.series(), s.clone());
            let mut c = d.cursor();
            for (t, v) in s.iter().enumerate() {
                proptest::prop_assert_eq!(d.at(t), *v);
                proptest::prop_assert_eq!(c.at(t as u64), *v);
            }
            proptest::prop_assert_eq!(d.peak(), s.iter().copied().fold(0.0, f64::max));
            for (a, len) in windows {
                let b = a + len;
                let (ca, cb) = (a.min(s.len()), b.min(s.len()));
                let expected = if cb <= a {
                    s[a.min(s.len() - 1)]
                } else {
                    s[ca..cb].iter().sum::<f64>() / (cb - a) as f64
                };
                let got = d.mean(a, b);
                proptest::prop_assert!((got - expected).abs() <= 1e-9 * expected.abs().max(1.0), "mean({}, {}) = {} vs {}", a, b, got, expected);
            }
        }
    }

    #[test]
    fn spike_shape() {
        assert_eq!(trapezoid(5.0, 0.0, 10.0, 10.0, 10.0), 0.5);
        assert_eq!(trapezoid(15.0, 0.0, 10.0, 10.0, 10.0), 1.0);
        assert_eq!(trapezoid(35.0, 0.0, 10.0, 10.0, 10.0), 0.0);
        assert_eq!(trapezoid(0.0, 0.0, 0.0, 10.0, 0.0), 1.0);
    }
}
