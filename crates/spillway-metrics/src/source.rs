//! The `MetricSource` seam (DESIGN.md §9): one metric of one policy, read at
//! a given time. The controller plugs in [`Sources`] (Prometheus and
//! metrics.k8s.io); the simulator plugs in its model.

use std::sync::Arc;

use futures::future::BoxFuture;
use spillway_core::config::{MetricSpec, TargetRef};
use spillway_core::metrics::MetricReading;
use spillway_core::time::Timestamp;

use crate::error::SourceError;
use crate::prometheus::PrometheusClient;
use crate::resource::ResourceSource;

/// What to read: `policy.metrics[index]` for `target`, evaluated at `at`.
#[derive(Debug, Clone, Copy)]
pub struct MetricRequest<'a> {
    pub policy: &'a str,
    pub target: &'a TargetRef,
    pub index: usize,
    pub spec: &'a MetricSpec,
    pub at: Timestamp,
}

/// Reads one metric. An implementation returns a reading or a typed error;
/// it never invents a number for a failure.
pub trait MetricSource: Send + Sync {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SourceError>>;
}

impl<T: MetricSource + ?Sized> MetricSource for Arc<T> {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SourceError>> {
        (**self).read(req)
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

/// The real sources, dispatched on the metric's kind. A kind without a
/// configured source reads as [`SourceError::NotConfigured`].
#[derive(Clone, Default)]
pub struct Sources {
    pub prometheus: Option<PrometheusClient>,
    pub resource: Option<ResourceSource>,
}

impl MetricSource for Sources {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SourceError>> {
        Box::pin(async move {
            match req.spec {
                MetricSpec::Prometheus(p) => {
                    let client = self
                        .prometheus
                        .as_ref()
                        .ok_or(SourceError::NotConfigured("prometheus"))?;
                    let value = client.instant(&p.query, p.series, req.at).await?;
                    Ok(MetricReading::Value { value })
                }
                MetricSpec::Resource(r) => {
                    let source = self
                        .resource
                        .as_ref()
                        .ok_or(SourceError::NotConfigured("metrics.k8s.io"))?;
                    let pods = source.read(req.target, r, req.at).await?;
                    Ok(MetricReading::Pods { pods })
                }
            }
        })
    }
}
