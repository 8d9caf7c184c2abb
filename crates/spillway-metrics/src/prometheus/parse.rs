//! Pure parsing of Prometheus HTTP API response bodies (`/api/v1/query`,
//! `/api/v1/query_range`).
//!
//! The caller has already capped the body size ([`Limits::max_body_bytes`]).
//! The parser then streams through the bytes without building a JSON tree: an
//! instant vector is folded into a handful of numbers as it is read, so memory
//! does not grow with the number of series, and a range result stops at the
//! series and point limits. Every failure is a typed [`SourceError`].

use serde::de::{self, DeserializeSeed};
use std::collections::BTreeMap;

use crate::error::{SourceError, snippet};

/// Bounds on what one response may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bodies larger than this are rejected before parsing.
    pub max_body_bytes: usize,
    /// Series in one result.
    pub max_series: usize,
    /// Points over all series of a range result.
    pub max_points: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 << 20,
            max_series: 50_000,
            max_points: 1_000_000,
        }
    }
}

/// One sample: milliseconds since the epoch and the value (NaN/±Inf kept as such).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub timestamp_ms: i64,
    pub value: f64,
}

/// A successful response and the warnings the server attached to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub data: T,
    pub warnings: Vec<String>,
}

/// An instant query's result, as read.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantData {
    Vector(VectorStats),
    Scalar(Sample),
    /// A range vector (`foo[5m]`): never usable as one number.
    Matrix {
        series: usize,
    },
    /// A string result (`"foo"`).
    String,
}

/// An instant vector folded while it was parsed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VectorStats {
    pub series: usize,
    /// Sum of every value (NaN if any is NaN).
    pub sum: f64,
    /// The first series' sample.
    pub first: Option<Sample>,
    /// Label sets of the first few series, rendered `{a="b"}`, for messages.
    pub examples: Vec<String>,
    /// The first value that is NaN or ±Inf, with its labels if they were kept.
    pub non_finite: Option<(f64, Option<String>)>,
    pub oldest_ms: Option<i64>,
    pub newest_ms: Option<i64>,
    /// Series carrying a native histogram instead of a float.
    pub histograms: usize,
}

/// A range query's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RangeData {
    pub series: Vec<RangeSeries>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RangeSeries {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<Sample>,
}

const EXAMPLES_KEPT: usize = 3;
const WARNINGS_KEPT: usize = 8;

/// Parses an `/api/v1/query` body.
pub fn parse_instant(body: &[u8], limits: &Limits) -> Result<Parsed<InstantData>, SourceError> {
    check_size(body, limits)?;
    let mut ctx = Ctx {
        sink: InstantSink {
            stats: VectorStats::default(),
            max_series: limits.max_series,
            with_range_points: 0,
            without_value: 0,
        },
        failure: None,
    };
    let env = run(body, &mut ctx)?;
    let result = success(env)?;
    let sink = ctx.sink;
    let data = match (result.result_type.as_str(), result.shape) {
        ("vector", Shape::List) => {
            if sink.with_range_points > 0 || sink.without_value > 0 {
                return Err(SourceError::Malformed(
                    "a vector result holds series without a single `value`".into(),
                ));
            }
            InstantData::Vector(sink.stats)
        }
        ("scalar", Shape::Pair(ts, raw)) => InstantData::Scalar(sample(ts, &raw)?),
        ("matrix", Shape::List) => InstantData::Matrix {
            series: sink.stats.series,
        },
        ("string", Shape::Pair(..)) => InstantData::String,
        (t @ ("vector" | "scalar" | "matrix" | "string"), _) => {
            return Err(SourceError::Malformed(format!(
                "`result` does not have the shape of resultType {t}"
            )));
        }
        (other, _) => {
            return Err(SourceError::Unsupported(format!(
                "result type {:?}",
                snippet(other, 40)
            )));
        }
    };
    Ok(Parsed {
        data,
        warnings: result.warnings,
    })
}

/// Parses an `/api/v1/query_range` body.
pub fn parse_range(body: &[u8], limits: &Limits) -> Result<Parsed<RangeData>, SourceError> {
    check_size(body, limits)?;
    let mut ctx = Ctx {
        sink: RangeSink {
            data: RangeData::default(),
            limits: *limits,
            points: 0,
        },
        failure: None,
    };
    let env = run(body, &mut ctx)?;
    let result = success(env)?;
    match (result.result_type.as_str(), result.shape) {
        ("matrix", Shape::List) => Ok(Parsed {
            data: ctx.sink.data,
            warnings: result.warnings,
        }),
        ("matrix", _) => Err(SourceError::Malformed(
            "`result` does not have the shape of resultType matrix".into(),
        )),
        (other, _) => Err(SourceError::Unsupported(format!(
            "a range query returned result type {:?}",
            snippet(other, 40)
        ))),
    }
}

/// Parses a sample value as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
pub fn parse_value(raw: &str) -> Result<f64, SourceError> {
    match raw {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => raw.parse::<f64>().map_err(|_| {
            SourceError::Malformed(format!("sample value {:?} is not a number", snippet(raw, 40)))
        }),
    }
}

fn check_size(body: &[u8], limits: &Limits) -> Result<(), SourceError> {
    if body.len() > limits.max_body_bytes {
        return Err(SourceError::TooLarge {
            limit: limits.max_body_bytes,
        });
    }
    Ok(())
}

fn sample(ts_secs: f64, raw: &str) -> Result<Sample, SourceError> {
    Ok(Sample {
        timestamp_ms: timestamp_ms(ts_secs)?,
        value: parse_value(raw)?,
    })
}

fn timestamp_ms(ts_secs: f64) -> Result<i64, SourceError> {
    let ms = (ts_secs * 1000.0).round();
    // ±2^53 ms is far beyond any real timestamp and still exact in an f64.
    if !ms.is_finite() || ms.abs() > 9_007_199_254_740_992.0 {
        return Err(SourceError::Malformed(format!(
            "timestamp {ts_secs} out of range"
        )));
    }
    Ok(ms as i64)
}

/// The parts of a successful envelope that matter once the sink has the series.
struct SuccessResult {
    result_type: String,
    shape: Shape,
    warnings: Vec<String>,
}

fn success(env: Envelope) -> Result<SuccessResult, SourceError> {
    match env.status.as_deref() {
        Some("success") => {}
        Some("error") => {
            return Err(SourceError::Query {
                error_type: snippet(env.error_type.as_deref().unwrap_or("unknown"), 40),
                message: snippet(env.error.as_deref().unwrap_or(""), 300),
            });
        }
        Some(other) => {
            return Err(SourceError::Malformed(format!(
                "unknown status {:?}",
                snippet(other, 40)
            )));
        }
        None => return Err(SourceError::Malformed("no `status` field".into())),
    }
    let data = env
        .data
        .ok_or_else(|| SourceError::Malformed("`status: success` without `data`".into()))?;
    let result_type = data
        .result_type
        .ok_or_else(|| SourceError::Malformed("no `data.resultType`".into()))?;
    let shape = data
        .shape
        .ok_or_else(|| SourceError::Malformed("no `data.result`".into()))?;
    Ok(SuccessResult {
        result_type,
        shape,
        warnings: env.warnings,
    })
}

fn run<S: Sink>(body: &[u8], ctx: &mut Ctx<S>) -> Result<Envelope, SourceError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = EnvelopeSeed(ctx).deserialize(&mut de).and_then(|env| {
        de.end()?;
        Ok(env)
    });
    match parsed {
        Ok(env) => Ok(env),
        Err(e) => Err(ctx.failure.take().unwrap_or_else(|| json_error(&e))),
    }
}

fn json_error(e: &serde_json::Error) -> SourceError {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "truncated JSON",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected JSON structure",
        Category::Io => "I/O error",
    };
    SourceError::Malformed(format!("{what}: {}", snippet(&e.to_string(), 200)))
}

/// Receives series one at a time.
trait Sink {
    fn wants_labels(&self) -> bool;
    /// How many more points may be kept; `None` when points are only counted.
    fn point_budget(&self) -> Option<usize>;
    fn max_points(&self) -> usize;
    fn series(&mut self, s: RawSeries) -> Result<(), SourceError>;
}

struct Ctx<S> {
    sink: S,
    /// A typed failure behind a serde error raised to stop parsing.
    failure: Option<SourceError>,
}

impl<S> Ctx<S> {
    fn fail<E: de::Error>(&mut self, e: SourceError) -> E {
        let msg = e.to_string();
        self.failure = Some(e);
        E::custom(msg)
    }
}

#[derive(Default)]
struct RawSeries {
    labels: Option<BTreeMap<String, String>>,
    value: Option<Sample>,
    values: Vec<Sample>,
    values_seen: usize,
    histogram: bool,
}

struct InstantSink {
    stats: VectorStats,
    max_series: usize,
    with_range_points: usize,
    without_value: usize,
}

impl Sink for InstantSink {
    fn wants_labels(&self) -> bool {
        self.stats.examples.len() < EXAMPLES_KEPT
    }
    fn point_budget(&self) -> Option<usize> {
        None
    }
    fn max_points(&self) -> usize {
        0
    }
    fn series(&mut self, s: RawSeries) -> Result<(), SourceError> {
        let st = &mut self.stats;
        st.series += 1;
        if st.series > self.max_series {
            return Err(SourceError::TooManySeries {
                limit: self.max_series,
            });
        }
        let rendered = s.labels.as_ref().map(render_labels);
        if let Some(r) = &rendered
            && st.examples.len() < EXAMPLES_KEPT
        {
            st.examples.push(r.clone());
        }
        if s.values_seen > 0 {
            self.with_range_points += 1;
        }
        match s.value {
            Some(v) => {
                if !v.value.is_finite() && st.non_finite.is_none() {
                    st.non_finite = Some((v.value, rendered));
                }
                st.sum += v.value;
                st.first.get_or_insert(v);
                st.oldest_ms = Some(st.oldest_ms.map_or(v.timestamp_ms, |o| o.min(v.timestamp_ms)));
                st.newest_ms = Some(st.newest_ms.map_or(v.timestamp_ms, |n| n.max(v.timestamp_ms)));
            }
            None if s.histogram => st.histograms += 1,
            None if s.values_seen > 0 => {}
            None => self.without_value += 1,
        }
        Ok(())
    }
}

struct RangeSink {
    data: RangeData,
    limits: Limits,
    points: usize,
}

impl Sink for RangeSink {
    fn wants_labels(&self) -> bool {
        true
    }
    fn point_budget(&self) -> Option<usize> {
        Some(self.limits.max_points.saturating_sub(self.points))
    }
    fn max_points(&self) -> usize {
        self.limits.max_points
    }
    fn series(&mut self, s: RawSeries) -> Result<(), SourceError> {
        if self.data.series.len() >= self.limits.max_series {
            return Err(SourceError::TooManySeries {
                limit: self.limits.max_series,
            });
        }
        if s.value.is_some() || (s.histogram && s.values.is_empty()) {
            return Err(SourceError::Malformed(
                "a matrix result holds a series without `values`".into(),
            ));
        }
        self.points += s.values.len();
        self.data.series.push(RangeSeries {
            labels: s.labels.unwrap_or_default(),
            points: s.values,
        });
        Ok(())
    }
}

/// `{a="b", c="d"}`, bounded in length.
fn render_labels(labels: &BTreeMap<String, String>) -> String {
    let body = labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    snippet(&format!("{{{body}}}"), 200)
}

mod visit;

use visit::{Envelope, EnvelopeSeed, Shape};

#[cfg(test)]
mod tests;
