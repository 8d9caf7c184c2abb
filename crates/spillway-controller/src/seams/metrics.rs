//! The `MetricSource` seam: one metric of one policy, read at a given time.
//! `spillway-metrics` implements it over Prometheus and metrics.k8s.io; the
//! simulator over its replayed demand.

use std::time::Duration;

use futures::future::BoxFuture;
use spillway_core::config::{MetricSpec, TargetRef};
use spillway_core::metrics::MetricReading;
use spillway_core::time::Timestamp;

use super::SeamError;

/// What to read: `policy.metrics[index]` for `target`, evaluated at `at`.
#[derive(Debug, Clone, Copy)]
pub struct MetricRequest<'a> {
    pub policy: &'a str,
    pub target: &'a TargetRef,
    pub index: usize,
    pub spec: &'a MetricSpec,
    pub at: Timestamp,
}

/// Reads one metric. An implementation returns a reading or an error; it
/// never invents a number for a failure.
pub trait MetricSource: Send + Sync {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>>;

    /// The metric's past values over `[start, end]` every `step` (for
    /// `predict.seasons`), read from the source's own history: nothing is
    /// kept locally, so a restarted controller forecasts at once. A source
    /// without history answers an empty list: no seasonal forecast.
    fn history<'a>(
        &'a self,
        _req: MetricRequest<'a>,
        _start: Timestamp,
        _end: Timestamp,
        _step: Duration,
    ) -> BoxFuture<'a, Result<Vec<f64>, SeamError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Which backend serves a metric; the label of per-source metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    Prometheus,
    MetricsK8s,
}

impl SourceKind {
    pub fn of(spec: &MetricSpec) -> SourceKind {
        match spec {
            MetricSpec::Prometheus(_) => SourceKind::Prometheus,
            MetricSpec::Resource(_) => SourceKind::MetricsK8s,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Prometheus => "prometheus",
            SourceKind::MetricsK8s => "metrics.k8s.io",
        }
    }
}
