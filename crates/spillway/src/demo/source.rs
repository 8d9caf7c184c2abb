//! The demo's metric source: the replayed demand as Prometheus would report
//! it (scrape interval and rate window lag), through `spillway-sim`'s
//! metrics pipeline.

use std::sync::Arc;

use futures::future::BoxFuture;
use spillway_core::metrics::MetricReading;
use spillway_metrics::error::SourceError;
use spillway_metrics::source::{MetricRequest, MetricSource};
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

    pub fn current_demand(&self) -> f64 {
        let w = self.world.now();
        let t = self.demand_secs(&w) as usize;
        self.demand.at(t.min(self.demand.len().saturating_sub(1)))
    }
}

impl MetricSource for DemandSource {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SourceError>> {
        Box::pin(async move {
            let w = self.world.now();
            let t = self.demand_secs(&w);
            let pipeline = MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica);
            Ok(pipeline.reading(req.spec, t, &w, &self.world.template.requests))
        })
    }
}
