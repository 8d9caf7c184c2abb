//! The figures of one strategy, measured second by second, and the
//! downsampled series the report draws.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::demand::Cursor;
use crate::world::World;

/// The figures, in SI units and the configuration's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// ∫max(0, demand − served capacity) / ∫demand.
    pub unserved_fraction: f64,
    /// ∫max(0, demand − served capacity)/capacityPerReplica dt.
    pub shortfall_replica_seconds: f64,
    /// 99th percentile over seconds of the shortfall in replicas.
    pub p99_shortfall_replicas: f64,
    /// Mean length of shortfall episodes (see README).
    pub mean_time_to_recover_seconds: f64,
    pub cost_total: f64,
    pub cost_vm: f64,
    /// Burst container groups (claimed ones included, from their claim).
    pub cost_aci: f64,
    /// Running standby pool instances not (yet) claimed (issue 16).
    pub cost_pool: f64,
    /// Creates served from the standby pool, and those it could not serve.
    pub pool_hits: u64,
    pub pool_misses: u64,
    pub container_groups_created: u64,
    pub peak_burst_replicas: u64,
    pub decisions: u64,
    /// The largest difference between two zones' burst replicas seen after
    /// any decision, with `burst.zones` set (issue 17); 0 without zones. A
    /// burst replica outside the zones makes it the whole burst count.
    pub max_zone_skew: u32,
}

/// One point of the report's series: a bucket of seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Point {
    pub t: f64,
    pub demand: f64,
    /// Served capacity of Ready VM replicas (demand units per second).
    pub capacity_vm: f64,
    /// Served capacity of ACI replicas (burst groups, or virtual-node pods).
    pub capacity_aci: f64,
    pub burst_replicas: f64,
    pub pending_pods: f64,
    pub nodes: f64,
    pub cost_cumulative: f64,
}

/// The world's state at one second, kept only when asked (tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sample {
    pub t: u64,
    pub demand: f64,
    pub vm_ready: u32,
    pub vm_starting: u32,
    pub pending: u32,
    pub unschedulable: u32,
    pub burst_live: u32,
    pub burst_serving: u32,
    pub nodes_ready: u32,
    pub nodes_booting: u32,
    pub spec_replicas: u32,
    /// Hourly price of every container group billed now.
    pub aci_hourly: f64,
}

/// What one second adds to the figures; seconds with equal ones form a run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Second {
    demand: f64,
    short: f64,
    short_replicas: f64,
    burst: u64,
    capacity_vm: f64,
    capacity_aci: f64,
    pending: f64,
    nodes: f64,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    n: u64,
    second: Second,
}

/// Episodes closer than this are one episode (a replica flapping is not a recovery).
const EPISODE_MERGE_SECS: u64 = 30;

pub struct Recorder {
    capacity_per_replica: f64,
    demand_total: f64,
    unserved: f64,
    shortfall_rs: f64,
    shortfall: Histogram,
    episode_start: Option<u64>,
    last_short: u64,
    episodes: u64,
    episode_secs: u64,
    peak_burst: u64,
    bucket: u64,
    acc: Point,
    in_bucket: u64,
    /// Seconds accounted but not yet added (see [`Recorder::record`]).
    run: Option<Run>,
    pub series: Vec<Point>,
    pub timeline: Option<Vec<Sample>>,
    /// The zones burst replicas spread over (none: no spread to watch).
    zones: Vec<String>,
    max_zone_skew: u32,
}

impl Recorder {
    pub fn new(capacity_per_replica: f64, seconds: u64, timeline: bool) -> Self {
        Recorder {
            capacity_per_replica,
            demand_total: 0.0,
            unserved: 0.0,
            shortfall_rs: 0.0,
            shortfall: Histogram::default(),
            episode_start: None,
            last_short: 0,
            episodes: 0,
            episode_secs: 0,
            peak_burst: 0,
            bucket: bucket_for(seconds),
            acc: Point::default(),
            in_bucket: 0,
            run: None,
            series: Vec::new(),
            timeline: timeline.then(Vec::new),
            zones: Vec::new(),
            max_zone_skew: 0,
        }
    }

    /// Watch the spread of burst replicas over these zones.
    pub fn with_zones(mut self, zones: Vec<String>) -> Self {
        self.zones = zones;
        self
    }

    /// Called when the world may have changed (a tick, an event), not every
    /// second: the spread only moves with creates, drains and deletes.
    pub fn observe_zones(&mut self, world: &World) {
        if self.zones.is_empty() || world.aci.live == 0 {
            return;
        }
        let (counts, elsewhere) = world.aci.per_zone(&self.zones);
        let (lo, hi) = counts
            .iter()
            .fold((u32::MAX, 0), |(lo, hi), &c| (lo.min(c), hi.max(c)));
        let skew = if elsewhere > 0 {
            elsewhere + counts.iter().sum::<u32>()
        } else {
            hi.saturating_sub(lo)
        };
        self.max_zone_skew = self.max_zone_skew.max(skew);
    }

    /// Accounts the seconds `[t, until)` against the world as it is now
    /// (nothing in it changes before `until`), accruing its costs on the
    /// way: one run per stretch of equal demand within a bucket.
    pub fn account_span(&mut self, mut t: u64, until: u64, demand: &mut Cursor<'_>, world: &mut World) {
        while t < until {
            let d = demand.at(t);
            let end = until
                .min(demand.constant_until(t))
                .min(t + (self.bucket - self.in_bucket));
            world.accrue(end - t);
            self.record(t, end - t, d, world);
            t = end;
        }
    }

    /// Accounts the `n` seconds from `t`, each with `demand`, against the
    /// world as it is now, its costs accrued through `t + n − 1`. They must
    /// not cross the end of the report's bucket ([`Recorder::account_span`]
    /// splits there).
    pub fn record(&mut self, t: u64, n: u64, demand: f64, world: &World) {
        debug_assert!(n >= 1 && self.in_bucket + n <= self.bucket);
        let cpr = self.capacity_per_replica;
        let c = world.pods.counts;
        let short = (demand - f64::from(world.serving()) * cpr).max(0.0);
        let second = Second {
            demand,
            short,
            short_replicas: short / cpr,
            burst: u64::from(world.aci.live),
            capacity_vm: f64::from(c.ready_vm) * cpr,
            capacity_aci: f64::from(c.ready_virtual + world.aci.serving) * cpr,
            pending: f64::from(c.pending),
            nodes: f64::from(world.nodes.ready_count() + world.nodes.booting_count()),
        };
        match &mut self.run {
            Some(run) if run.second == second && run.start + run.n == t => run.n += n,
            _ => {
                self.close_run();
                self.run = Some(Run { start: t, n, second });
            }
        }
        self.in_bucket += n;
        if let Some(tl) = &mut self.timeline {
            tl.extend((t..t + n).map(|t| Sample {
                t,
                demand,
                vm_ready: c.ready_vm,
                vm_starting: c.starting,
                pending: c.pending,
                unschedulable: c.unschedulable,
                burst_live: world.aci.live,
                burst_serving: world.aci.serving,
                nodes_ready: world.nodes.ready_count(),
                nodes_booting: world.nodes.booting_count(),
                spec_replicas: world.pods.spec_replicas(),
                aci_hourly: world.aci.billed_hourly(),
            }));
        }
        if self.in_bucket == self.bucket {
            self.close_run();
            self.flush(t + n - self.bucket, world.costs.total());
        }
    }

    /// Adds the open run of equal seconds to the figures, once: the same
    /// sums whether its seconds came one by one or as a span.
    fn close_run(&mut self) {
        let Some(Run { start, n, second: s }) = self.run.take() else {
            return;
        };
        let k = n as f64;
        self.demand_total += s.demand * k;
        self.unserved += s.short * k;
        self.shortfall_rs += s.short_replicas * k;
        self.shortfall.add_n(s.short_replicas as f32, n);
        if s.short > 1e-9 {
            self.track_episode(start, true);
            self.last_short = start + n - 1;
        }
        self.peak_burst = self.peak_burst.max(s.burst);
        let a = &mut self.acc;
        a.demand += s.demand * k;
        a.capacity_vm += s.capacity_vm * k;
        a.capacity_aci += s.capacity_aci * k;
        a.burst_replicas = a.burst_replicas.max(s.burst as f64);
        a.pending_pods = a.pending_pods.max(s.pending);
        a.nodes += s.nodes * k;
    }

    fn flush(&mut self, start: u64, cost: f64) {
        let n = self.in_bucket as f64;
        let a = self.acc;
        self.series.push(Point {
            t: start as f64,
            demand: a.demand / n,
            capacity_vm: a.capacity_vm / n,
            capacity_aci: a.capacity_aci / n,
            burst_replicas: a.burst_replicas,
            pending_pods: a.pending_pods,
            nodes: a.nodes / n,
            cost_cumulative: cost,
        });
        self.acc = Point::default();
        self.in_bucket = 0;
    }

    fn track_episode(&mut self, t: u64, short: bool) {
        if short {
            match self.episode_start {
                Some(_) if t - self.last_short > EPISODE_MERGE_SECS => {
                    self.close_episode();
                    self.episode_start = Some(t);
                }
                Some(_) => {}
                None => self.episode_start = Some(t),
            }
            self.last_short = t;
        }
    }

    fn close_episode(&mut self) {
        if let Some(start) = self.episode_start.take() {
            self.episodes += 1;
            self.episode_secs += self.last_short + 1 - start;
        }
    }

    /// The figures, with the world's costs and counters.
    pub fn finish(mut self, world: &World, decisions: u64) -> (Figures, Vec<Point>, Option<Vec<Sample>>) {
        self.close_run();
        if self.in_bucket > 0 {
            let start = self.series.len() as u64 * self.bucket;
            self.flush(start, world.costs.total());
        }
        self.close_episode();
        let figures = Figures {
            unserved_fraction: ratio(self.unserved, self.demand_total),
            shortfall_replica_seconds: self.shortfall_rs,
            p99_shortfall_replicas: self.shortfall.percentile(0.99),
            mean_time_to_recover_seconds: ratio(self.episode_secs as f64, self.episodes as f64),
            cost_total: world.costs.total(),
            cost_vm: world.costs.vm(),
            cost_aci: world.costs.aci(),
            cost_pool: world.costs.pool(),
            pool_hits: world.pool.hits,
            pool_misses: world.pool.misses,
            container_groups_created: world.aci.created_total,
            peak_burst_replicas: self.peak_burst,
            decisions,
            max_zone_skew: self.max_zone_skew,
        };
        (figures, self.series, self.timeline)
    }
}

/// Bucket length so that a run has at most ~1,500 points.
pub fn bucket_for(seconds: u64) -> u64 {
    seconds.div_ceil(1500).max(1)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Every second's shortfall, as counts of distinct values: the same
/// nearest-rank percentile as a vector of seconds, in memory that grows with
/// the distinct values (mostly one: zero).
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    zeros: u64,
    /// Counts by the bits of a positive `f32` (their order is the values' order).
    counts: BTreeMap<u32, u64>,
    n: u64,
}

impl Histogram {
    /// Adds one value `≥ 0`.
    pub fn add(&mut self, v: f32) {
        self.add_n(v, 1);
    }
    /// Adds `n` equal values `≥ 0`.
    pub fn add_n(&mut self, v: f32, n: u64) {
        self.n += n;
        if v > 0.0 {
            *self.counts.entry(v.to_bits()).or_default() += n;
        } else {
            self.zeros += n;
        }
    }
    pub fn len(&self) -> u64 {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Nearest-rank percentile; 0 for an empty set.
    pub fn percentile(&self, q: f64) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n) - 1;
        let mut seen = self.zeros;
        if rank < seen {
            return 0.0;
        }
        for (bits, count) in &self.counts {
            seen += count;
            if rank < seen {
                return f64::from(f32::from_bits(*bits));
            }
        }
        0.0
    }
}

/// Nearest-rank percentile; 0 for an empty set.
pub fn percentile(values: &mut [f32], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
    let (_, v, _) = values.select_nth_unstable_by(rank, |a, b| a.total_cmp(b));
    f64::from(*v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentile() {
        let mut v: Vec<f32> = (1..=100).map(|x| x as f32).collect();
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        let mut z = vec![0.0f32; 1000];
        z[0] = 5.0;
        assert_eq!(percentile(&mut z, 0.99), 0.0);
        assert_eq!(percentile(&mut [], 0.99), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn histogram_percentile_equals_the_vector_one(
            values in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(0.0f32), 0.0f32..50.0], 0..400),
            q in 0.0f64..1.0,
        ) {
            let mut h = Histogram::default();
            for v in &values {
                h.add(*v);
            }
            let mut v = values.clone();
            proptest::prop_assert_eq!(h.percentile(q).to_bits(), percentile(&mut v, q).to_bits());
        }
    }
}
