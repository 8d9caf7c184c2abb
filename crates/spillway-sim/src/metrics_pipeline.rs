//! What the controller's metric sources would return: demand as seen through
//! Prometheus scrapes and a `rate()` window, and per-pod CPU as seen through
//! metrics-server's resolution. Both lag real demand; outages read as missing.

use spillway_core::config::{MetricSpec, Policy, ResourceName};
use spillway_core::metrics::{MetricReading, MetricSample, PodMetric};
use spillway_core::resources::Resources;
use spillway_core::time::Timestamp;

use crate::demand::Demand;
use crate::scenario::MetricsPipelineSpec;
use crate::world::{Phase, Place, World};

pub struct MetricsPipeline<'a> {
    demand: &'a Demand,
    scrape: u64,
    window: u64,
    resolution: u64,
    outages: Vec<(u64, u64)>,
    capacity_per_replica: f64,
}

impl<'a> MetricsPipeline<'a> {
    pub fn new(demand: &'a Demand, spec: &MetricsPipelineSpec, capacity_per_replica: f64) -> Self {
        MetricsPipeline {
            demand,
            scrape: spec.scrape_interval.as_secs().max(1),
            window: spec.rate_window.as_secs().max(1),
            resolution: spec.resource_resolution.as_secs().max(1),
            outages: spec
                .outages
                .iter()
                .map(|o| (o.start.as_secs(), o.start.as_secs() + o.duration.as_secs()))
                .collect(),
            capacity_per_replica,
        }
    }

    fn in_outage(&self, t: u64) -> bool {
        self.outages.iter().any(|(a, b)| (*a..*b).contains(&t))
    }

    /// Mean demand over the window ending at the last scrape at or before `t`.
    pub fn lagged(&self, t: u64, every: u64, window: u64) -> f64 {
        let scrape = t - t % every;
        let start = scrape.saturating_sub(window);
        self.demand.mean(start as usize, scrape as usize)
    }

    /// `sum(rate(...[window]))` at `t`.
    pub fn prometheus_value(&self, t: u64) -> f64 {
        self.lagged(t, self.scrape, self.window)
    }

    /// One sample per metric of the policy, observed at `t`.
    pub fn samples(&self, policy: &Policy, t: u64, world: &World, requests: &Resources) -> Vec<MetricSample> {
        let at = Timestamp::from_secs(t as i64);
        policy
            .metrics
            .iter()
            .enumerate()
            .map(|(index, spec)| MetricSample {
                index,
                reading: self.reading(spec, t, world, requests),
                observed_at: at,
            })
            .collect()
    }

    /// What one metric's source answers at `t`.
    pub fn reading(&self, spec: &MetricSpec, t: u64, world: &World, requests: &Resources) -> MetricReading {
        if self.in_outage(t) {
            return MetricReading::Missing {
                reason: "metric source unavailable (simulated outage)".into(),
            };
        }
        match spec {
            MetricSpec::Prometheus(_) => MetricReading::Value {
                value: self.prometheus_value(t),
            },
            MetricSpec::Resource(r) => {
                let request = match r.name {
                    ResourceName::Cpu => requests.cpu_millis as f64,
                    ResourceName::Memory => requests.memory_bytes as f64,
                };
                MetricReading::Pods {
                    pods: self.pod_metrics(t, world, request),
                }
            }
        }
    }

    /// Each serving replica takes an equal share of the (lagged) demand; usage
    /// is that share over one replica's capacity, times the request.
    fn pod_metrics(&self, t: u64, world: &World, request: f64) -> Vec<PodMetric> {
        let seen = self.lagged(t, self.resolution, self.resolution);
        let serving = world.serving().max(1);
        let usage = seen / f64::from(serving) / self.capacity_per_replica * request;
        world
            .pods
            .phases()
            .map(|(phase, place)| match phase {
                Phase::Ready => PodMetric {
                    usage: Some(usage),
                    request,
                    ready: true,
                },
                Phase::Starting if !matches!(place, Place::Unbound) => PodMetric {
                    usage: Some(0.0),
                    request,
                    ready: false,
                },
                _ => PodMetric {
                    usage: None,
                    request,
                    ready: false,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_lags_a_step() {
        let mut s = vec![100.0; 200];
        s[100..].fill(200.0);
        let d = Demand::from_series(s, "x").expect("valid");
        let p = MetricsPipeline::new(&d, &MetricsPipelineSpec::default(), 10.0);
        assert_eq!(
            p.prometheus_value(100),
            100.0,
            "last scrape at 90 saw only the old level"
        );
        assert!(
            (p.prometheus_value(110) - 6500.0 / 60.0).abs() < 1e-9,
            "scrape at 105: 5 of 60 s new"
        );
        assert_eq!(
            p.prometheus_value(165),
            200.0,
            "the window ending at 165 is all new"
        );
    }
}
