//! The demo's metric source: the replayed demand as Prometheus would report
//! it (scrape interval and rate window lag), through `spillway-sim`'s
//! metrics pipeline. With `--prometheus`, the demand is instead exported as
//! the workload's request counter for a real Prometheus to scrape.

use std::sync::Arc;

use futures::future::BoxFuture;
use spillway_controller::SeamError;
use spillway_controller::{MetricRequest, MetricSource};
use spillway_core::metrics::MetricReading;
use spillway_sim::Demand;
use spillway_sim::metrics_pipeline::MetricsPipeline;
use spillway_sim::scenario::MetricsPipelineSpec;

use super::cluster::SimWorld;

pub struct DemandSource {
    pub demand: Arc<Demand>,
    pub spec: MetricsPipelineSpec,
    pub capacity_per_replica: f64,
    /// Demand seconds per wall second.
    pub speed: f64,
    pub world: Arc<SimWorld>,
}

impl DemandSource {
    /// The demand's clock: wall seconds since start × speed.
    pub fn demand_secs(&self, world: &spillway_sim::world::World) -> u64 {
        (world.now.max(0) as f64 * self.speed) as u64
    }

    /// The workload's `http_requests_total`: the demand integrated over
    /// wall time, so that Prometheus's `rate()` of it is the demand (at
    /// `--speed` k, k demand seconds pass per wall second).
    pub fn requests_total(&self) -> f64 {
        let t = self.world.elapsed().as_secs_f64() * self.speed;
        let whole = t.floor() as usize;
        let last = self.demand.len().saturating_sub(1);
        let served: f64 = (0..whole).map(|i| self.demand.at(i.min(last))).sum();
        (served + (t - t.floor()) * self.demand.at(whole.min(last))) / self.speed
    }

    pub fn current_demand(&self) -> f64 {
        let w = self.world.now();
        let t = self.demand_secs(&w) as usize;
        self.demand.at(t.min(self.demand.len().saturating_sub(1)))
    }
}

impl MetricSource for DemandSource {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        Box::pin(async move {
            let w = self.world.now();
            let t = self.demand_secs(&w);
            let pipeline = MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica);
            Ok(pipeline.reading(req.spec, t, &w, &self.world.template.requests))
        })
    }
}

/// `GET /workload/metrics`: the simulated workload's own metrics, in the
/// Prometheus text format, labelled `service="<service>"`.
pub fn workload_router(source: Arc<DemandSource>, service: String) -> axum::Router {
    use axum::http::header;
    use axum::routing::get;
    axum::Router::new().route(
        "/workload/metrics",
        get(move || {
            let text = format!(
                "# HELP http_requests_total Requests served by the simulated workload (the demo's replayed demand).\n\
                 # TYPE http_requests_total counter\n\
                 http_requests_total{{service=\"{service}\"}} {}\n",
                source.requests_total()
            );
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text) }
        }),
    )
}

/// The real sources on the demo's clock: the demo counts milliseconds from
/// its start, Prometheus from the Unix epoch, so every request's evaluation
/// time is moved by the epoch time of the demo's start.
pub struct EpochShifted<S> {
    pub inner: S,
    /// Epoch milliseconds at the demo's start.
    pub started_at_ms: i64,
}

impl<S: MetricSource> MetricSource for EpochShifted<S> {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        let at = spillway_core::time::Timestamp::from_millis(self.started_at_ms + req.at.millis());
        self.inner.read(MetricRequest { at, ..req })
    }
}
