//! The controller's three seams over the simulated world, so that the
//! simulator runs `spillway_controller::Controller::tick` — the loop that
//! ships, with its create backoff, unavailable locations, shared listing and
//! executor — in virtual time (docs/architecture.md). Every call answers at
//! once; time moves only when the simulator moves it.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use spillway_controller::{
    BurstBackend, BurstEndpoint, ClusterBuild, ClusterView, CreateRequest, Disabled, ListedGroup,
    MetricRequest, MetricSource, PoolObserved, PoolSync, SeamError, TemplateRefs, Workload, ZonesAnswer,
};
use spillway_core::burst::BurstHeadroom;
use spillway_core::config::{AciPriority, MetricSpec, Policy, TargetRef};
use spillway_core::metrics::MetricReading;
use spillway_core::plan::Plan;
use spillway_core::resources::Resources;
use spillway_core::snapshot::{ClusterSnapshot, PodTemplate};
use spillway_core::time::Timestamp;

use crate::demand::Demand;
use crate::metrics_pipeline::MetricsPipeline;
use crate::scenario::MetricsPipelineSpec;
use crate::world::{Refusal, World};

/// The world one strategy runs in, shared by the seams and the simulator's
/// per-second loop (which holds the lock only between ticks).
pub type SharedWorld = Arc<Mutex<World>>;

pub fn lock(world: &SharedWorld) -> MutexGuard<'_, World> {
    unpoisoned(world)
}

fn unpoisoned<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn seconds(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}

/// The cluster: nodes and pods of the world, the Deployment's scale.
pub struct SimCluster {
    world: SharedWorld,
    target: TargetRef,
    template: PodTemplate,
    /// Rebuilt only when nodes or bound pods changed, as the kube adapter's
    /// incremental snapshot would.
    snapshot: Mutex<Arc<ClusterSnapshot>>,
}

impl SimCluster {
    pub fn new(world: SharedWorld, target: TargetRef, template: PodTemplate) -> Self {
        SimCluster {
            world,
            target,
            template,
            snapshot: Mutex::new(Arc::new(ClusterSnapshot::default())),
        }
    }
}

impl ClusterView for SimCluster {
    /// The simulated template lives in the world; creates need nothing more.
    type Template = ();

    fn ready(&self) -> bool {
        true
    }

    fn snapshot(&self) -> ClusterBuild {
        let mut w = lock(&self.world);
        let mut cached = match self.snapshot.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if w.nodes.dirty {
            *cached = Arc::new(w.nodes.snapshot(&self.template));
        }
        ClusterBuild {
            snapshot: cached.clone(),
            skipped: Vec::new(),
        }
    }

    fn workload(&self, target: &TargetRef) -> Result<Workload<()>, Disabled> {
        if *target != self.target {
            return Err(Disabled::TargetMissing {
                kind: target.kind.clone(),
                namespace: target.namespace.clone(),
                name: target.name.clone(),
            });
        }
        Ok(Workload {
            status: lock(&self.world).pods.status_shared(),
            template: Arc::new(()),
        })
    }

    fn resolve_refs<'a>(&'a self, _: &'a str, _: &'a ()) -> BoxFuture<'a, Result<TemplateRefs, SeamError>> {
        Box::pin(async { Ok(TemplateRefs::default()) })
    }

    fn scale<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            let mut w = lock(&self.world);
            if w.pods.spec_replicas() != replicas {
                w.set_replicas(replicas);
            }
            Ok(())
        })
    }

    /// A burst replica left out of the EndpointSlice stops serving at once.
    fn publish_endpoints<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        _: &'a str,
        endpoints: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            let mut w = lock(&self.world);
            for e in endpoints.iter().filter(|e| e.draining) {
                w.aci.drain(&e.name);
            }
            Ok(())
        })
    }

    fn remove_endpoints<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, SeamError>> {
        Box::pin(async { Ok(false) })
    }

    fn record<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        _: &'a Plan,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async { Ok(()) })
    }
}

/// ACI as the ARM backend would see it: the world's container groups, its
/// rate windows and quota, refusals as the client reports them.
pub struct SimBackend {
    world: SharedWorld,
    policy: String,
    locations: Vec<String>,
    /// The last listing and the replicas' generation it was built from.
    listed: Mutex<Option<(u64, Arc<Vec<ListedGroup>>)>>,
    /// The last headroom answered, and when, for [`crate::replay`].
    headroom: Mutex<Option<(i64, BurstHeadroom)>>,
}

impl SimBackend {
    pub fn new(world: SharedWorld, policy: &Policy) -> Self {
        SimBackend {
            world,
            policy: policy.name.clone(),
            locations: policy
                .burst
                .as_ref()
                .map(|b| b.locations.clone())
                .unwrap_or_default(),
            listed: Mutex::new(None),
            headroom: Mutex::new(None),
        }
    }

    fn headroom_now(&self, world: &mut World) -> BurstHeadroom {
        let now = world.now;
        world.aci.inventory(now, &self.locations).headroom
    }

    /// The headroom answered at second `t`; `None` when none was asked then.
    pub fn headroom_at(&self, t: i64) -> Option<BurstHeadroom> {
        unpoisoned(&self.headroom)
            .as_ref()
            .filter(|(at, _)| *at == t)
            .map(|(_, h)| *h)
    }

    /// Whether the headroom answered at `t` would be `answered` (a policy
    /// without a location never asks: `None`).
    pub fn same_headroom(&self, answered: Option<BurstHeadroom>, world: &mut World) -> bool {
        answered.is_none_or(|h| self.headroom_now(world) == h)
    }
}

/// Every listed group gets an address, so the executor publishes it.
fn sim_ip(ordinal: u32) -> String {
    format!("10.250.{}.{}", (ordinal >> 8) & 0xff, ordinal & 0xff)
}

impl BurstBackend<()> for SimBackend {
    fn list<'a>(
        &'a self,
        _: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Arc<Vec<ListedGroup>>, SeamError>> {
        Box::pin(async move {
            let mut w = lock(&self.world);
            let generation = w.aci.replicas_generation();
            let inventory = w.aci.inventory(seconds(now), &self.locations);
            let mut listed = unpoisoned(&self.listed);
            if let Some((g, groups)) = listed.as_ref()
                && *g == generation
            {
                return Ok(groups.clone());
            }
            let groups: Arc<Vec<ListedGroup>> = Arc::new(
                inventory
                    .replicas
                    .iter()
                    .map(|r| ListedGroup {
                        policy: Some(self.policy.clone()),
                        ip: Some(sim_ip(r.ordinal)),
                        replica: r.clone(),
                    })
                    .collect(),
            );
            *listed = Some((generation, groups.clone()));
            Ok(groups)
        })
    }

    fn create<'a>(&'a self, req: CreateRequest<'a, ()>) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            match lock(&self.world).create_group(req.group, req.standby.is_some()) {
                Ok(()) => Ok(()),
                Err(Refusal::Quota) => Err(SeamError::location_unavailable(
                    "quota_reached",
                    "container group quota reached (simulated)",
                )),
                Err(Refusal::RateLimited) => Err(SeamError::new(
                    "throttled",
                    "subscription create rate exceeded (simulated)",
                )),
            }
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            lock(&self.world).aci.delete(name);
            Ok(())
        })
    }

    /// The scenario's `aci.zones`, the same in every location, never failing.
    fn zones<'a>(&'a self, _: &'a str, _: Timestamp) -> BoxFuture<'a, ZonesAnswer> {
        Box::pin(async move {
            ZonesAnswer {
                zones: Some(lock(&self.world).aci.zones().to_vec()),
                error: None,
            }
        })
    }

    fn headroom<'a>(&'a self, _: &'a str, _: AciPriority) -> BoxFuture<'a, BurstHeadroom> {
        Box::pin(async move {
            let mut w = lock(&self.world);
            let h = self.headroom_now(&mut w);
            *unpoisoned(&self.headroom) = Some((w.now, h));
            h
        })
    }

    /// The world's pool: the controller's size becomes its target at once
    /// (a PATCH), and it reports its counts and the claims since the last
    /// sync. The simulated template never changes: the pool is in step as
    /// soon as it exists.
    fn sync_pool<'a>(&'a self, req: PoolSync<'a, ()>) -> BoxFuture<'a, Result<PoolObserved, SeamError>> {
        Box::pin(async move {
            let mut w = lock(&self.world);
            if req.write {
                w.sync_pool(req.desired);
            }
            let (hit, miss) = w.pool.take_unreported();
            let p = &w.pool;
            Ok(PoolObserved {
                exists: p.exists,
                max_ready_capacity: p.target,
                ready: p.ready,
                creating: p.creating(),
                revision: Some(1),
                in_step: p.exists,
                provisioning_state: p.exists.then(|| "Succeeded".to_string()),
                wrote: if req.write {
                    vec!["pool_update"]
                } else {
                    Vec::new()
                },
                claims_hit: hit,
                claims_miss: miss,
            })
        })
    }
}

/// The metric sources: demand through Prometheus' scrape and `rate()`
/// window, per-pod usage through metrics-server's resolution.
pub struct SimMetrics {
    pub world: SharedWorld,
    pub demand: Arc<Demand>,
    pub spec: MetricsPipelineSpec,
    pub capacity_per_replica: f64,
    pub requests: Resources,
    /// What the last tick read, for [`crate::replay`].
    pub reads: Mutex<ReadLog>,
}

/// The reads of one tick: each metric asked for and its answer, and
/// whether it read history (a forecast's seasons).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadLog {
    pub at: u64,
    pub reads: Vec<(MetricSpec, MetricReading)>,
    pub history: bool,
}

impl ReadLog {
    /// The log for a read at `t`: a read at a later second starts a new one.
    fn at(&mut self, t: u64) -> &mut Self {
        if self.at != t {
            *self = ReadLog {
                at: t,
                ..ReadLog::default()
            };
        }
        self
    }
}

impl SimMetrics {
    /// The metric source of `sim`'s scenario over `world`.
    pub fn for_simulation(world: SharedWorld, sim: &crate::Simulation) -> Self {
        let s = &sim.scenario;
        SimMetrics {
            world,
            demand: sim.demand.clone(),
            spec: s.metrics.clone(),
            capacity_per_replica: s.demand.capacity_per_replica,
            requests: s.requests.clone(),
            reads: Mutex::new(ReadLog::default()),
        }
    }

    /// The reads of the last tick, if it took place at `t`.
    pub fn reads_at(&self, t: u64) -> Option<ReadLog> {
        let log = unpoisoned(&self.reads);
        (log.at == t).then(|| log.clone())
    }

    /// Until when every read of `log` answers the same over the same world
    /// (see [`MetricsPipeline::same_demand_until`]; `log.at`: no promise).
    pub fn same_answers_until(&self, log: &ReadLog) -> u64 {
        if log.history {
            return log.at;
        }
        MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica).same_demand_until(log.at)
    }

    /// Whether every read of `log` would answer the same at `t` over `world`.
    pub fn same_answers(&self, log: &ReadLog, t: u64, world: &World) -> bool {
        let pipeline = MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica);
        !log.history
            && log
                .reads
                .iter()
                .all(|(spec, reading)| pipeline.reading(spec, t, world, &self.requests) == *reading)
    }
}

impl MetricSource for SimMetrics {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        Box::pin(async move {
            let pipeline = MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica);
            let t = u64::try_from(seconds(req.at)).unwrap_or(0);
            let w = lock(&self.world);
            let reading = pipeline.reading(req.spec, t, &w, &self.requests);
            unpoisoned(&self.reads)
                .at(t)
                .reads
                .push((req.spec.clone(), reading.clone()));
            Ok(reading)
        })
    }

    /// What Prometheus recorded of the replayed demand: never past `req.at`,
    /// so a forecast sees only the part of the trace already replayed.
    fn history<'a>(
        &'a self,
        req: MetricRequest<'a>,
        start: Timestamp,
        end: Timestamp,
        step: std::time::Duration,
    ) -> BoxFuture<'a, Result<Vec<f64>, SeamError>> {
        Box::pin(async move {
            unpoisoned(&self.reads)
                .at(u64::try_from(seconds(req.at)).unwrap_or(0))
                .history = true;
            if !matches!(req.spec, spillway_core::config::MetricSpec::Prometheus(_)) {
                return Ok(Vec::new());
            }
            let pipeline = MetricsPipeline::new(&self.demand, &self.spec, self.capacity_per_replica);
            let (start, end) = (seconds(start).max(0), seconds(end.min(req.at)));
            let step = i64::try_from(step.as_secs().max(1)).unwrap_or(i64::MAX);
            let mut out = Vec::new();
            let mut t = start;
            while t <= end {
                out.push(pipeline.prometheus_value(t as u64));
                t += step;
            }
            Ok(out)
        })
    }
}
