//! `t_seconds,value` CSV traces (see `../shared/traces/SOURCES.md`): values
//! are arrivals per interval; replay spreads each interval's arrivals evenly
//! over it and integrates them into 1 s bins, never reshaping the series.

use std::collections::BTreeMap;
use std::path::Path;

use crate::SimError;
use crate::demand::{Demand, DemandBuilder};

/// One row: the interval starting at `t` holds `value` arrivals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub t: f64,
    pub value: f64,
}

/// A parsed trace: rows in time order and the regular interval length.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub rows: Vec<Row>,
    /// The most common gap between rows; a longer gap is a period without data (zero).
    pub step: f64,
}

pub fn read_trace(path: &Path) -> Result<Trace, SimError> {
    let text = std::fs::read(path).map_err(|source| SimError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_trace(&text, &path.display().to_string())
}

pub fn parse_trace(bytes: &[u8], shown: &str) -> Result<Trace, SimError> {
    let line_err = |line: u64, message: String| SimError::TraceLine {
        path: shown.to_string(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| line_err(1, format!("unreadable header: {e}")))?
        .clone();
    let names: Vec<&str> = headers.iter().collect();
    if names != ["t_seconds", "value"] {
        return Err(line_err(
            1,
            format!(
                "the header must be `t_seconds,value`, found `{}`",
                names.join(",")
            ),
        ));
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            line_err(line, format!("malformed CSV: {e}"))
        })?;
        if !more {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue; // blank line
        }
        if record.len() != 2 {
            return Err(line_err(
                line,
                format!("expected 2 fields `t_seconds,value`, found {}", record.len()),
            ));
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        let t: f64 = field(0)
            .parse()
            .map_err(|_| line_err(line, format!("t_seconds {:?} is not a number", field(0))))?;
        let value: f64 = field(1)
            .parse()
            .map_err(|_| line_err(line, format!("value {:?} is not a number", field(1))))?;
        if !t.is_finite() || t < 0.0 {
            return Err(line_err(
                line,
                format!("t_seconds {t} must be a finite number ≥ 0"),
            ));
        }
        if value.is_nan() {
            return Err(line_err(line, "value is NaN; demand must be a number ≥ 0".into()));
        }
        if !value.is_finite() || value < 0.0 {
            return Err(line_err(
                line,
                format!("value {value} is negative or infinite; demand must be a finite number ≥ 0"),
            ));
        }
        if let Some(prev) = rows.last()
            && t <= prev.t
        {
            return Err(line_err(
                line,
                format!(
                    "t_seconds {t} is not after the previous row's {}; rows must be sorted",
                    prev.t
                ),
            ));
        }
        rows.push(Row { t, value });
    }
    if rows.is_empty() {
        return Err(SimError::Trace {
            path: shown.to_string(),
            message: "the trace is empty (no data rows after the header)".into(),
        });
    }
    Ok(Trace {
        step: regular_step(&rows),
        rows,
    })
}

/// The most common gap between consecutive rows (1 s for a single row); ties go to the shorter.
fn regular_step(rows: &[Row]) -> f64 {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for w in rows.windows(2) {
        let gap_ms = ((w[1].t - w[0].t) * 1000.0).round() as u64;
        *counts.entry(gap_ms).or_default() += 1;
    }
    let best = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(g, _)| *g);
    best.map(|g| g as f64 / 1000.0)
        .filter(|g| *g > 0.0)
        .unwrap_or(1.0)
}

impl Trace {
    /// The replayed demand, after stretching time by `time_scale` and cutting
    /// it at `limit` seconds: the same 1 s bins as [`Trace::per_second`], but
    /// built as segments (one per row, plus the bins rows share), never as a
    /// vector of seconds.
    pub fn demand(&self, time_scale: f64, limit: Option<u64>, source: String) -> Result<Demand, SimError> {
        let end = self
            .rows
            .last()
            .map(|r| (r.t + self.step) * time_scale)
            .unwrap_or(0.0);
        let mut len = end.ceil().max(0.0) as u64;
        if let Some(l) = limit {
            len = len.min(l);
        }
        let mut bins = Bins {
            out: DemandBuilder::default(),
            open: None,
            len,
        };
        for (i, row) in self.rows.iter().enumerate() {
            let next = self.rows.get(i + 1).map(|r| r.t).unwrap_or(f64::INFINITY);
            let span = (next - row.t).min(self.step);
            let (a, b) = (row.t * time_scale, (row.t + span) * time_scale);
            if a >= len as f64 {
                break;
            }
            if row.value == 0.0 || b <= a {
                continue;
            }
            let rate = row.value / (b - a);
            let last = (b.ceil() as u64).min(len);
            let mut s = a.floor() as u64;
            while s < last {
                let (lo, hi) = (a.max(s as f64), b.min(s as f64 + 1.0));
                if lo == s as f64 && hi == s as f64 + 1.0 {
                    // Whole bins: only this row touches them.
                    let whole_end = (b.floor() as u64).min(last).max(s + 1);
                    bins.whole(s, whole_end, rate * 1.0)?;
                    s = whole_end;
                    continue;
                }
                if hi > lo {
                    bins.part(s, rate * (hi - lo))?;
                }
                s += 1;
            }
        }
        bins.finish(source)
    }

    /// Arrivals per 1 s bin, after stretching time by `time_scale`
    /// (values untouched: the same arrivals over a shorter or longer interval).
    pub fn per_second(&self, time_scale: f64) -> Vec<f64> {
        let end = self
            .rows
            .last()
            .map(|r| (r.t + self.step) * time_scale)
            .unwrap_or(0.0);
        let mut out = vec![0.0; end.ceil().max(0.0) as usize];
        for (i, row) in self.rows.iter().enumerate() {
            let next = self.rows.get(i + 1).map(|r| r.t).unwrap_or(f64::INFINITY);
            let len = (next - row.t).min(self.step);
            let (a, b) = (row.t * time_scale, (row.t + len) * time_scale);
            if row.value == 0.0 || b <= a {
                continue;
            }
            let rate = row.value / (b - a);
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(out.len());
            for (s, slot) in out.iter_mut().enumerate().take(last).skip(first) {
                let lo = a.max(s as f64);
                let hi = b.min(s as f64 + 1.0);
                if hi > lo {
                    *slot += rate * (hi - lo);
                }
            }
        }
        out
    }
}

/// Accumulates 1 s bins in time order, as `per_second` adds into its vector:
/// a bin two rows share sums their parts in row order.
struct Bins {
    out: DemandBuilder,
    /// The bin being summed and its sum so far.
    open: Option<(u64, f64)>,
    len: u64,
}

impl Bins {
    fn close(&mut self) -> Result<(), SimError> {
        if let Some((bin, v)) = self.open.take() {
            self.fill_to(bin)?;
            self.out.push(1, v)?;
        }
        Ok(())
    }
    /// Seconds no row touched are 0.
    fn fill_to(&mut self, bin: u64) -> Result<(), SimError> {
        let gap = bin.saturating_sub(self.out.len());
        self.out.push(gap, 0.0)
    }
    fn part(&mut self, bin: u64, v: f64) -> Result<(), SimError> {
        match &mut self.open {
            Some((b, acc)) if *b == bin => *acc += v,
            _ => {
                self.close()?;
                self.open = Some((bin, 0.0 + v));
            }
        }
        Ok(())
    }
    fn whole(&mut self, from: u64, to: u64, rate: f64) -> Result<(), SimError> {
        self.close()?;
        self.fill_to(from)?;
        self.out.push(to - from, 0.0 + rate)
    }
    fn finish(mut self, source: String) -> Result<Demand, SimError> {
        self.close()?;
        let len = self.len;
        self.fill_to(len)?;
        self.out.finish(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Trace, SimError> {
        parse_trace(s.as_bytes(), "t.csv")
    }

    #[test]
    fn resamples_by_integration() {
        let t = parse("t_seconds,value\n0,60\n60,120\n120,0\n").expect("valid");
        assert_eq!(t.step, 60.0);
        let s = t.per_second(1.0);
        assert_eq!(s.len(), 180);
        assert!((s[0] - 1.0).abs() < 1e-12 && (s[59] - 1.0).abs() < 1e-12);
        assert!((s[60] - 2.0).abs() < 1e-12);
        assert!((s.iter().sum::<f64>() - 180.0).abs() < 1e-9);
        // Twice as fast: same arrivals in half the time.
        let f = t.per_second(0.5);
        assert_eq!(f.len(), 90);
        assert!((f[0] - 2.0).abs() < 1e-12);
        assert!((f.iter().sum::<f64>() - 180.0).abs() < 1e-9);
    }

    #[test]
    fn a_gap_is_no_data_not_a_long_interval() {
        let t = parse("t_seconds,value\n0,60\n60,60\n120,60\n600,60\n").expect("valid");
        let s = t.per_second(1.0);
        assert_eq!(s.len(), 660);
        assert_eq!(s[200], 0.0);
        assert!((s.iter().sum::<f64>() - 240.0).abs() < 1e-9);
    }

    fn rows_csv(rows: &[(f64, f64)]) -> String {
        let mut s = String::from("t_seconds,value\n");
        for (t, v) in rows {
            s.push_str(&format!("{t},{v}\n"));
        }
        s
    }

    proptest::proptest! {
        /// The segments hold exactly the 1 s bins the per-second expansion
        /// computes, gaps, shared bins and cuts included.
        #[test]
        fn segments_equal_the_per_second_expansion(
            raw in proptest::collection::vec((1u32..4, 0u32..5, 0.0f64..500.0), 1..60),
            step in proptest::prop_oneof![proptest::strategy::Just(60.0f64), proptest::strategy::Just(1.0), proptest::strategy::Just(7.5), proptest::strategy::Just(3600.0)],
            time_scale in proptest::prop_oneof![proptest::strategy::Just(1.0f64), 0.05f64..3.0],
            zero_every in 2usize..9,
            limit in proptest::option::of(1u64..20_000),
        ) {
            let mut t = 0.0;
            let mut rows = Vec::new();
            for (i, (gap, jitter, v)) in raw.iter().enumerate() {
                let value = if i % zero_every == 0 { 0.0 } else { v.round() };
                rows.push((t, value));
                // Mostly regular, sometimes a gap (no data), sometimes a shorter row.
                t += step * f64::from(*gap).min(if *jitter == 0 { 3.0 } else { 1.0 }) * if *jitter == 4 { 0.5 } else { 1.0 };
            }
            let trace = parse(&rows_csv(&rows)).expect("valid");
            let mut expected = trace.per_second(time_scale);
            if let Some(l) = limit {
                expected.truncate(l as usize);
            }
            let got = trace.demand(time_scale, limit, "t".into());
            if expected.is_empty() {
                proptest::prop_assert!(got.is_err());
            } else {
                let got = got.expect("demand").series();
                proptest::prop_assert_eq!(got.len(), expected.len());
                for (i, (a, b)) in got.iter().zip(&expected).enumerate() {
                    proptest::prop_assert_eq!(a.to_bits(), b.to_bits(), "second {}: {} vs {}", i, a, b);
                }
            }
        }
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("t_seconds,value\n0,1\n60,abc\n").expect_err("bad");
        assert!(e.to_string().contains("t.csv:3"), "{e}");
        let e = parse("t_seconds,value\n0,1\n60,-5\n").expect_err("neg");
        assert!(
            e.to_string().contains(":3") && e.to_string().contains("negative"),
            "{e}"
        );
        let e = parse("t_seconds,value\n0,NaN\n").expect_err("nan");
        assert!(
            e.to_string().contains(":2") && e.to_string().contains("NaN"),
            "{e}"
        );
        let e = parse("t_seconds,value\n").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");
        let e = parse("time,value\n0,1\n").expect_err("header");
        assert!(e.to_string().contains("header"), "{e}");
        let e = parse("t_seconds,value\n0,1\n0,2\n").expect_err("order");
        assert!(e.to_string().contains(":3"), "{e}");
        let e = parse("t_seconds,value\n0,1,2\n").expect_err("fields");
        assert!(e.to_string().contains(":2"), "{e}");
    }
}
