//! The Prometheus HTTP API response parser (`/api/v1/query` and
//! `/api/v1/query_range` bodies) and the reduction to one number, on
//! arbitrary bytes: never panics, respects the series/point limits, and
//! every error renders. Each input goes through both entry points, with the
//! default limits and with tight ones, so a seed is a plain response body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spillway_core::config::SeriesMode;
use spillway_metrics::prometheus::parse::{InstantData, Limits, parse_instant, parse_range};
use spillway_metrics::prometheus::reduce::{Freshness, reduce_instant, reduce_range};

const EVAL_MS: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let tight = Limits {
        max_body_bytes: 4096,
        max_series: 3,
        max_points: 8,
    };
    let lenient = Freshness {
        accept_warnings: true,
        ..Freshness::default()
    };
    for limits in [Limits::default(), tight] {
        match parse_instant(data, &limits) {
            Ok(parsed) => {
                if let InstantData::Vector(v) = &parsed.data {
                    assert!(v.series <= limits.max_series, "series limit not enforced");
                    assert!(v.examples.len() <= v.series);
                }
                let mut evals = vec![EVAL_MS];
                match &parsed.data {
                    InstantData::Scalar(s) => evals.push(s.timestamp_ms),
                    InstantData::Vector(v) => evals.extend(v.first.map(|s| s.timestamp_ms)),
                    _ => {}
                }
                for eval in evals {
                    for mode in [SeriesMode::Single, SeriesMode::Sum] {
                        for fresh in [Freshness::default(), lenient] {
                            match reduce_instant(&parsed, mode, eval, &fresh) {
                                Ok(v) => assert!(v.is_finite(), "reduced to a non-finite value"),
                                Err(e) => drop(e.to_string()),
                            }
                        }
                    }
                }
            }
            Err(e) => drop(e.to_string()),
        }
        match parse_range(data, &limits) {
            Ok(parsed) => {
                let series = &parsed.data.series;
                assert!(series.len() <= limits.max_series, "series limit not enforced");
                let points: usize = series.iter().map(|s| s.points.len()).sum();
                assert!(points <= limits.max_points, "point limit not enforced");
                for mode in [SeriesMode::Single, SeriesMode::Sum] {
                    for fresh in [Freshness::default(), lenient] {
                        match reduce_range(&parsed, mode, &fresh) {
                            Ok(out) => assert!(out.iter().all(|p| p.value.is_finite())),
                            Err(e) => drop(e.to_string()),
                        }
                    }
                }
            }
            Err(e) => drop(e.to_string()),
        }
    }
});
