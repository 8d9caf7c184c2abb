//! Pure reduction of a parsed result to the one number a policy uses, or the
//! typed reason there is none.

use std::time::Duration;

use spillway_core::config::SeriesMode;

use super::parse::{InstantData, Parsed, RangeData, Sample};
use crate::error::{SourceError, snippet};

/// How far a sample's timestamp may be from the evaluation time asked for.
/// Prometheus stamps instant-query samples with the evaluation time, so a
/// distance means a caching proxy, a broken server or a `timestamp()` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// A sample older than the evaluation time by more than this is stale.
    pub max_age: Duration,
    /// A sample newer than the evaluation time by more than this is skewed.
    pub max_future_skew: Duration,
    /// Whether a result with warnings may still be used.
    pub accept_warnings: bool,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            max_age: Duration::from_secs(60),
            max_future_skew: Duration::from_secs(5),
            accept_warnings: false,
        }
    }
}

/// The number an instant query yields under the policy's `series` mode.
pub fn reduce_instant(
    parsed: &Parsed<InstantData>,
    mode: SeriesMode,
    eval_ms: i64,
    fresh: &Freshness,
) -> Result<f64, SourceError> {
    check_warnings(&parsed.warnings, fresh)?;
    match &parsed.data {
        InstantData::Scalar(s) => {
            check_time(s.timestamp_ms, eval_ms, fresh)?;
            finite(s.value, String::new())
        }
        InstantData::Matrix { series } => Err(SourceError::Matrix { series: *series }),
        InstantData::String => Err(SourceError::Unsupported("a string result is not a number".into())),
        InstantData::Vector(v) => {
            if v.series == 0 {
                return Err(SourceError::Empty);
            }
            if v.histograms > 0 {
                return Err(SourceError::Unsupported(format!(
                    "{} series hold native histograms; use histogram_quantile, histogram_sum, ...",
                    v.histograms
                )));
            }
            if mode == SeriesMode::Single && v.series > 1 {
                let mut examples = v.examples.join(", ");
                if v.series > v.examples.len() {
                    examples.push_str(", …");
                }
                return Err(SourceError::MultipleSeries {
                    count: v.series,
                    examples,
                });
            }
            if let Some((value, labels)) = &v.non_finite {
                return finite(*value, labels.clone().unwrap_or_default());
            }
            if let Some(o) = v.oldest_ms {
                check_time(o, eval_ms, fresh)?;
            }
            if let Some(n) = v.newest_ms {
                check_time(n, eval_ms, fresh)?;
            }
            let value = match mode {
                SeriesMode::Single => v.first.map_or(f64::NAN, |s| s.value),
                SeriesMode::Sum => v.sum,
            };
            // A sum of finite values can still overflow.
            finite(value, String::new())
        }
    }
}

/// A range result reduced to one series of points: the only series under
/// `single`, the per-timestamp sum under `sum`. Non-finite points are
/// errors; points missing in some series at a timestamp are summed over the
/// series present, as PromQL's `sum` would.
pub fn reduce_range(
    parsed: &Parsed<RangeData>,
    mode: SeriesMode,
    fresh: &Freshness,
) -> Result<Vec<Sample>, SourceError> {
    check_warnings(&parsed.warnings, fresh)?;
    let series = &parsed.data.series;
    if series.is_empty() {
        return Err(SourceError::Empty);
    }
    if mode == SeriesMode::Single && series.len() > 1 {
        let examples = series
            .iter()
            .take(3)
            .map(|s| format!("{:?}", s.labels))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(SourceError::MultipleSeries {
            count: series.len(),
            examples: snippet(&examples, 300),
        });
    }
    let mut sums: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
    for s in series {
        for p in &s.points {
            if !p.value.is_finite() {
                return Err(SourceError::NotFinite {
                    value: p.value,
                    series: format!(" at {} ms in {:?}", p.timestamp_ms, s.labels),
                });
            }
            *sums.entry(p.timestamp_ms).or_insert(0.0) += p.value;
        }
    }
    let out: Vec<Sample> = sums
        .into_iter()
        .map(|(timestamp_ms, value)| Sample { timestamp_ms, value })
        .collect();
    if let Some(bad) = out.iter().find(|p| !p.value.is_finite()) {
        return Err(SourceError::NotFinite {
            value: bad.value,
            series: format!(" (sum at {} ms)", bad.timestamp_ms),
        });
    }
    Ok(out)
}

fn check_warnings(warnings: &[String], fresh: &Freshness) -> Result<(), SourceError> {
    if warnings.is_empty() || fresh.accept_warnings {
        return Ok(());
    }
    Err(SourceError::Warnings(snippet(&warnings.join("; "), 300)))
}

fn check_time(sample_ms: i64, eval_ms: i64, fresh: &Freshness) -> Result<(), SourceError> {
    let max_age = millis(fresh.max_age);
    let max_skew = millis(fresh.max_future_skew);
    let delta = sample_ms.saturating_sub(eval_ms);
    if delta > max_skew {
        return Err(SourceError::Skewed {
            sample_ms,
            skew_ms: delta,
            limit_ms: max_skew,
        });
    }
    if -delta > max_age {
        return Err(SourceError::Stale {
            sample_ms,
            age_ms: -delta,
            limit_ms: max_age,
        });
    }
    Ok(())
}

fn finite(value: f64, labels: String) -> Result<f64, SourceError> {
    if value.is_finite() {
        Ok(value)
    } else {
        let series = if labels.is_empty() {
            String::new()
        } else {
            format!(" in series {labels}")
        };
        Err(SourceError::NotFinite { value, series })
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prometheus::parse::{Limits, parse_instant, parse_range};

    const T: i64 = 1_700_000_000_000;

    fn instant(body: &str) -> Parsed<InstantData> {
        parse_instant(body.as_bytes(), &Limits::default()).expect("parses")
    }

    fn vector(values: &[(&str, &str)], ts: f64) -> String {
        let series: Vec<String> = values
            .iter()
            .map(|(pod, v)| format!(r#"{{"metric":{{"pod":"{pod}"}},"value":[{ts},"{v}"]}}"#))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            series.join(",")
        )
    }

    fn run(body: &str, mode: SeriesMode) -> Result<f64, SourceError> {
        reduce_instant(&instant(body), mode, T, &Freshness::default())
    }

    #[test]
    fn single_series_single_mode() {
        assert_eq!(
            run(&vector(&[("a", "12.5")], 1_700_000_000.0), SeriesMode::Single),
            Ok(12.5)
        );
    }

    #[test]
    fn several_series_single_mode_is_an_error_with_examples() {
        let err = run(
            &vector(&[("a", "1"), ("b", "2")], 1_700_000_000.0),
            SeriesMode::Single,
        )
        .expect_err("two series");
        let SourceError::MultipleSeries { count, examples } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(*count, 2);
        assert!(
            examples.contains(r#"pod="a""#) && examples.contains(r#"pod="b""#),
            "{examples}"
        );
    }

    #[test]
    fn several_series_sum_mode_adds_them() {
        let body = vector(&[("a", "1"), ("b", "2.5"), ("c", "-0.5")], 1_700_000_000.0);
        assert_eq!(run(&body, SeriesMode::Sum), Ok(3.0));
    }

    #[test]
    fn empty_vector_is_empty_in_both_modes() {
        let body = vector(&[], 1_700_000_000.0);
        assert_eq!(run(&body, SeriesMode::Single), Err(SourceError::Empty));
        assert_eq!(run(&body, SeriesMode::Sum), Err(SourceError::Empty));
    }

    #[test]
    fn nan_and_infinities_are_not_numbers() {
        for raw in ["NaN", "+Inf", "-Inf"] {
            let body = vector(&[("a", "1"), ("b", raw)], 1_700_000_000.0);
            let err = run(&body, SeriesMode::Sum).expect_err(raw);
            assert_eq!(err.metric_label(), "not_finite", "{raw}: {err}");
            assert!(err.to_string().contains(r#"pod="b""#), "{err}");
        }
    }

    #[test]
    fn a_sum_that_overflows_is_not_a_number() {
        let body = vector(&[("a", "1e308"), ("b", "1e308")], 1_700_000_000.0);
        assert_eq!(
            run(&body, SeriesMode::Sum).map_err(|e| e.metric_label()),
            Err("not_finite")
        );
    }

    #[test]
    fn stale_and_skewed_samples_are_rejected() {
        let old = vector(&[("a", "1")], 1_700_000_000.0 - 61.0);
        assert_eq!(
            run(&old, SeriesMode::Single).map_err(|e| e.metric_label()),
            Err("stale")
        );
        let future = vector(&[("a", "1")], 1_700_000_000.0 + 6.0);
        assert_eq!(
            run(&future, SeriesMode::Single).map_err(|e| e.metric_label()),
            Err("skewed")
        );
        let close = vector(&[("a", "1")], 1_700_000_000.0 - 59.0);
        assert_eq!(run(&close, SeriesMode::Single), Ok(1.0));
    }

    #[test]
    fn scalar_results_are_numbers_when_finite() {
        let ok = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#;
        assert_eq!(run(ok, SeriesMode::Single), Ok(42.0));
        let nan = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"NaN"]}}"#;
        assert!(
            run(nan, SeriesMode::Sum)
                .expect_err("NaN")
                .to_string()
                .contains("NaN")
        );
    }

    #[test]
    fn matrix_and_string_results_are_rejected() {
        let m = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[1700000000,"1"],[1700000001,"2"]]}]}}"#;
        assert_eq!(run(m, SeriesMode::Sum), Err(SourceError::Matrix { series: 1 }));
        let s = r#"{"status":"success","data":{"resultType":"string","result":[1700000000,"hello"]}}"#;
        assert_eq!(
            run(s, SeriesMode::Single).map_err(|e| e.metric_label()),
            Err("unsupported")
        );
    }

    #[test]
    fn warnings_make_the_reading_missing_unless_accepted() {
        let body = r#"{"status":"success","warnings":["partial response"],
            "data":{"resultType":"scalar","result":[1700000000,"7"]}}"#;
        let parsed = instant(body);
        let strict = reduce_instant(&parsed, SeriesMode::Single, T, &Freshness::default());
        assert_eq!(strict, Err(SourceError::Warnings("partial response".into())));
        let lenient = Freshness {
            accept_warnings: true,
            ..Freshness::default()
        };
        assert_eq!(reduce_instant(&parsed, SeriesMode::Single, T, &lenient), Ok(7.0));
    }

    #[test]
    fn native_histograms_are_unsupported() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{},"histogram":[1700000000,{"count":"1","sum":"1","buckets":[]}]}]}}"#;
        assert_eq!(
            run(body, SeriesMode::Sum).map_err(|e| e.metric_label()),
            Err("unsupported")
        );
    }

    #[test]
    fn range_results_reduce_per_timestamp() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"a":"1"},"values":[[10,"1"],[20,"2"]]},
            {"metric":{"a":"2"},"values":[[10,"10"],[30,"30"]]}]}}"#;
        let parsed = parse_range(body.as_bytes(), &Limits::default()).expect("parses");
        let sum = reduce_range(&parsed, SeriesMode::Sum, &Freshness::default()).expect("sum");
        let pts: Vec<(i64, f64)> = sum.iter().map(|s| (s.timestamp_ms, s.value)).collect();
        assert_eq!(pts, vec![(10_000, 11.0), (20_000, 2.0), (30_000, 30.0)]);
        let single = reduce_range(&parsed, SeriesMode::Single, &Freshness::default());
        assert_eq!(single.map_err(|e| e.metric_label()), Err("multiple_series"));
    }

    #[test]
    fn range_nan_points_are_errors() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[10,"1"],[20,"NaN"]]}]}}"#;
        let parsed = parse_range(body.as_bytes(), &Limits::default()).expect("parses");
        let err = reduce_range(&parsed, SeriesMode::Single, &Freshness::default()).expect_err("NaN");
        assert_eq!(err.metric_label(), "not_finite");
    }
}
