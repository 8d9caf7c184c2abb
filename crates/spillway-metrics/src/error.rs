//! Why a metric could not be read. Every failure is a typed outcome that the
//! poller turns into `MetricReading::Missing`, never into a number.

use std::time::Duration;

/// The typed outcome of a failed read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("query failed ({error_type}): {message}")]
    Query { error_type: String, message: String },
    #[error("response body exceeds the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("response has more than {limit} series")]
    TooManySeries { limit: usize },
    #[error("response has more than {limit} points")]
    TooManyPoints { limit: usize },
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("empty result: the query matched no series")]
    Empty,
    #[error("query returned {count} series where `series: single` expects one: {examples}")]
    MultipleSeries { count: usize, examples: String },
    #[error("query returned a matrix ({series} series): an instant query must yield a vector or a scalar")]
    Matrix { series: usize },
    #[error("unsupported result: {0}")]
    Unsupported(String),
    #[error("value {value} is not a finite number{series}")]
    NotFinite { value: f64, series: String },
    #[error("sample at {sample_ms} ms is {age_ms} ms older than the evaluation time (limit {limit_ms} ms)")]
    Stale {
        sample_ms: i64,
        age_ms: i64,
        limit_ms: i64,
    },
    #[error("sample at {sample_ms} ms is {skew_ms} ms after the evaluation time (limit {limit_ms} ms)")]
    Skewed {
        sample_ms: i64,
        skew_ms: i64,
        limit_ms: i64,
    },
    #[error("the server returned warnings: {0}")]
    Warnings(String),
    #[error("authentication: {0}")]
    Auth(String),
    #[error("client configuration: {0}")]
    Config(String),
    #[error("Kubernetes API: {0}")]
    Kube(String),
    #[error("no pods match the target's selector")]
    NoPods,
    #[error("missing request for {resource} in container {container} of pod {pod}")]
    MissingRequest {
        resource: String,
        container: String,
        pod: String,
    },
    #[error("no {0} source is configured")]
    NotConfigured(&'static str),
}

impl SourceError {
    /// A short, bounded label for metrics (`errors_total{error=...}`).
    pub fn metric_label(&self) -> &'static str {
        match self {
            SourceError::Timeout(_) => "timeout",
            SourceError::Unreachable(_) => "unreachable",
            SourceError::Http { .. } => "http_status",
            SourceError::Query { .. } => "query_error",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::TooManySeries { .. } => "too_many_series",
            SourceError::TooManyPoints { .. } => "too_many_points",
            SourceError::Malformed(_) => "malformed",
            SourceError::Empty => "empty",
            SourceError::MultipleSeries { .. } => "multiple_series",
            SourceError::Matrix { .. } => "matrix",
            SourceError::Unsupported(_) => "unsupported",
            SourceError::NotFinite { .. } => "not_finite",
            SourceError::Stale { .. } => "stale",
            SourceError::Skewed { .. } => "skewed",
            SourceError::Warnings(_) => "warnings",
            SourceError::Auth(_) => "auth",
            SourceError::Config(_) => "config",
            SourceError::Kube(_) => "kube",
            SourceError::NoPods => "no_pods",
            SourceError::MissingRequest { .. } => "missing_request",
            SourceError::NotConfigured(_) => "not_configured",
        }
    }

    /// Every label [`metric_label`](Self::metric_label) can return, for pre-registering series.
    pub const LABELS: &'static [&'static str] = &[
        "timeout",
        "unreachable",
        "http_status",
        "query_error",
        "too_large",
        "too_many_series",
        "too_many_points",
        "malformed",
        "empty",
        "multiple_series",
        "matrix",
        "unsupported",
        "not_finite",
        "stale",
        "skewed",
        "warnings",
        "auth",
        "config",
        "kube",
        "no_pods",
        "missing_request",
        "not_configured",
    ];
}

/// Renders an error with its `source()` chain, e.g. `error sending request: connection refused`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

/// Cuts server-provided text to a bounded, single-line snippet for messages.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max + 1)
        .collect();
    if one_line.chars().count() > max {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_listed_and_distinct() {
        let samples = [
            SourceError::Timeout(Duration::from_secs(1)),
            SourceError::Empty,
            SourceError::NoPods,
            SourceError::NotConfigured("prometheus"),
        ];
        for e in &samples {
            assert!(SourceError::LABELS.contains(&e.metric_label()), "{e}");
        }
        let mut sorted = SourceError::LABELS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), SourceError::LABELS.len());
    }

    #[test]
    fn snippet_is_bounded_and_single_line() {
        assert_eq!(snippet("a\nb", 10), "a b");
        assert_eq!(snippet(&"x".repeat(50), 5), "xxxxx…");
    }
}
