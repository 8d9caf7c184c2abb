//! The real implementation of the controller's `MetricSource` seam
//! (`spillway_controller::MetricSource`): Prometheus and metrics.k8s.io,
//! dispatched on the metric's kind.

use std::time::Duration;

use futures::future::BoxFuture;
use spillway_controller::SeamError;
use spillway_core::config::MetricSpec;
use spillway_core::metrics::MetricReading;
use spillway_core::time::Timestamp;

use crate::error::SourceError;
use crate::prometheus::PrometheusClient;
use crate::resource::ResourceSource;

pub use spillway_controller::{MetricRequest, MetricSource, SourceKind};

/// The real sources, dispatched on the metric's kind. A kind without a
/// configured source reads as [`SourceError::NotConfigured`].
#[derive(Clone, Default)]
pub struct Sources {
    pub prometheus: Option<PrometheusClient>,
    pub resource: Option<ResourceSource>,
}

impl Sources {
    /// One reading with the source's typed error. A value that is not a
    /// finite number is an error, never a reading.
    pub async fn read_typed(&self, req: MetricRequest<'_>) -> Result<MetricReading, SourceError> {
        self.read_raw(req).await.and_then(checked)
    }

    async fn read_raw(&self, req: MetricRequest<'_>) -> Result<MetricReading, SourceError> {
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
    }
}

fn checked(reading: MetricReading) -> Result<MetricReading, SourceError> {
    match &reading {
        MetricReading::Value { value } if !value.is_finite() => Err(SourceError::NotFinite {
            value: *value,
            series: String::new(),
        }),
        _ => Ok(reading),
    }
}

impl MetricSource for Sources {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        Box::pin(async move {
            self.read_typed(req)
                .await
                .map_err(|e| SeamError::new(e.metric_label(), e))
        })
    }

    /// A Prometheus range query of the metric's own query.
    fn history<'a>(
        &'a self,
        req: MetricRequest<'a>,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> BoxFuture<'a, Result<Vec<f64>, SeamError>> {
        Box::pin(async move {
            let (MetricSpec::Prometheus(p), Some(client)) = (req.spec, self.prometheus.as_ref()) else {
                return Ok(Vec::new());
            };
            let samples = client
                .range(&p.query, start, end, step, p.series)
                .await
                .map_err(|e| SeamError::new(e.metric_label(), e))?;
            Ok(samples
                .into_iter()
                .map(|s| s.value)
                .filter(|v| v.is_finite())
                .collect())
        })
    }
}
