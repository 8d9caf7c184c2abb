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

    /// How far back of `t` a reading at `t` looks, at most.
    fn reach(&self) -> u64 {
        self.scrape.max(self.resolution) + self.window.max(self.resolution)
    }

    /// The first second from which a reading may answer otherwise than at
    /// `t` (for the same world): where the demand next changes, if every
    /// window at `t` sees one constant stretch and no outage is planned;
    /// `t` otherwise (no promise).
    pub fn same_demand_until(&self, t: u64) -> u64 {
        if !self.outages.is_empty() || !self.demand.constant_over(t.saturating_sub(self.reach()), t + 1) {
            return t;
        }
        self.demand.cursor().constant_until(t)
    }

    /// Mean demand over the window ending at the last scrape at or before `t`.
    pub fn lagged(&self, t: u64, every: u64, window: u64) -> f64 {
        let scrape = t - t % every;
        let start = scrape.saturating_sub(window);
        self.demand.mean(start as usize, scrape as usize)
    }

    /// The scenario's `rateWindow`, unless the query's own range selector
    /// (`[30s]`, as a `scaleUpQuery` has) is shorter: the scenario models
    /// the policy's main query, a shorter window sees a rise sooner.
    fn window_of(&self, query: &str) -> u64 {
        range_selector(query)
            .filter(|w| *w < self.window)
            .unwrap_or(self.window)
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
            MetricSpec::Prometheus(p) => MetricReading::Value {
                value: self.lagged(t, self.scrape, self.window_of(&p.query)),
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

/// The seconds of the last range selector in a PromQL query (`[30s]`,
/// `[1m]`, the range of a subquery `[5m:30s]`), if it parses.
fn range_selector(query: &str) -> Option<u64> {
    let open = query.rfind('[')?;
    let inner = &query[open + 1..open + query[open..].find(']')?];
    let range = inner.split(':').next()?.trim();
    humantime::parse_duration(range).ok().map(|d| d.as_secs().max(1))
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

    #[test]
    fn range_selectors_parse_and_a_shorter_window_sees_a_step_sooner() {
        assert_eq!(range_selector("sum(rate(x[30s]))"), Some(30));
        assert_eq!(range_selector("max_over_time(rate(x[1m])[5m:30s])"), Some(300));
        assert_eq!(range_selector("sum(x)"), None);
        assert_eq!(range_selector("rate(x[oops])"), None);

        let mut s = vec![100.0; 200];
        s[100..].fill(200.0);
        let d = Demand::from_series(s, "x").expect("valid");
        let p = MetricsPipeline::new(&d, &MetricsPipelineSpec::default(), 10.0);
        assert_eq!(p.window_of("sum(rate(x[30s]))"), 30);
        assert_eq!(
            p.window_of("sum(rate(x[5m]))"),
            60,
            "never longer than the scenario's window"
        );
        assert_eq!(p.lagged(135, 15, p.window_of("rate(x[30s])")), 200.0);
        assert!(
            p.prometheus_value(135) < 200.0,
            "the 1m window still averages the old level"
        );
    }
}
