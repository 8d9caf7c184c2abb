//! The five strategies of a run and the loop that drives one world. The
//! planner-driven strategies run the controller's own tick
//! (`spillway_controller::Controller::tick`) every policy interval, over the
//! seams in [`crate::seams`]; none of them decides anything here.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{Controller, ControllerOptions, LeaderGate, ManualClock, Parts, PolicyRuntime};
use spillway_core::config::Policy;
use spillway_core::plan::Plan;
use spillway_core::time::Timestamp;

use crate::figures::{Figures, Point, Recorder, Sample};
use crate::replay::{Replay, TickOutcome};
use crate::seams::{SharedWorld, SimBackend, SimCluster, SimMetrics, lock};
use crate::world::{World, WorldConfig};
use crate::{RunOptions, Simulation};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Strategy {
    /// The policy as configured.
    Spillway,
    /// The same policy with burst disabled: HPA + cluster autoscaler.
    VmOnly,
    /// HPA; every pod that fits no node goes to the ACI virtual node at once.
    VirtualNode,
    /// A fixed VM pool and replica count sized for the demand's peak.
    StaticPeak,
    /// A clairvoyant lower bound on cost at zero unserved demand.
    Oracle,
    /// `spillway` with a standby pool (`simulate --standby-pool`), run only
    /// when one is asked for.
    SpillwayStandby,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::Spillway,
        Strategy::VmOnly,
        Strategy::VirtualNode,
        Strategy::StaticPeak,
        Strategy::Oracle,
        Strategy::SpillwayStandby,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Spillway => "spillway",
            Strategy::VmOnly => "vm-only",
            Strategy::VirtualNode => "virtual-node",
            Strategy::StaticPeak => "static-peak",
            Strategy::Oracle => "oracle",
            Strategy::SpillwayStandby => "spillway-standby",
        }
    }
}

/// One decision of the planner, kept when `RunOptions::timeline` is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanRecord {
    pub t: u64,
    pub desired: u32,
    pub deployment_replicas: u32,
    pub burst_target: u32,
    pub creates: Vec<String>,
    pub drains: Vec<String>,
    pub deletes: Vec<String>,
    pub reasons: Vec<String>,
}

/// Everything one strategy produced.
#[derive(Debug, Clone)]
pub struct StrategyRun {
    pub strategy: Strategy,
    pub figures: Figures,
    pub series: Vec<Point>,
    pub timeline: Option<Vec<Sample>>,
    pub plans: Option<Vec<PlanRecord>>,
    /// Controller ticks run and skipped at a fixed point (`crate::replay`).
    pub ticks: TickCount,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickCount {
    pub run: u64,
    pub skipped: u64,
}

/// The policy a strategy runs, if it runs one; `standby` is the pool of
/// `spillway-standby`.
pub fn policy_for(
    strategy: Strategy,
    policy: &Arc<Policy>,
    standby: Option<&spillway_core::config::StandbyPool>,
) -> Option<Arc<Policy>> {
    match strategy {
        Strategy::Spillway => Some(policy.clone()),
        Strategy::SpillwayStandby => {
            let mut p = Policy::clone(policy);
            if let Some(b) = p.burst.as_mut() {
                b.standby_pool = standby.cloned();
            }
            Some(Arc::new(p))
        }
        Strategy::VmOnly | Strategy::VirtualNode => {
            let mut p = Policy::clone(policy);
            p.burst = None;
            // The HPA they stand for has no forecast, holds no warm
            // replicas and reads only the metric's own query.
            p.predict.mode = spillway_core::config::PredictMode::Off;
            p.headroom = spillway_core::config::Headroom::default();
            for m in &mut p.metrics {
                if let spillway_core::config::MetricSpec::Prometheus(q) = m {
                    q.scale_up_query = None;
                    q.scale_up_min_rise_percent = 0;
                }
            }
            Some(Arc::new(p))
        }
        Strategy::StaticPeak | Strategy::Oracle => None,
    }
}

pub(crate) fn world_config(strategy: Strategy, sim: &Simulation) -> WorldConfig {
    let s = &sim.scenario;
    let fixed = strategy == Strategy::StaticPeak;
    let mut initial_nodes: Vec<u32> = s.pools.iter().map(|p| p.spec.initial_nodes).collect();
    if fixed {
        initial_nodes = vec![0; s.pools.len()];
        initial_nodes[0] = sim.static_peak_replicas.div_ceil(s.pools[0].slots);
    }
    let virtual_location = s
        .policy
        .burst
        .as_ref()
        .and_then(|b| b.locations.first().cloned())
        .unwrap_or_else(|| "virtual-node".to_string());
    WorldConfig {
        pools: s.pools.clone(),
        initial_nodes,
        initial_replicas: if fixed {
            sim.static_peak_replicas
        } else {
            sim.initial_replicas
        },
        template: sim.template.clone(),
        deployment: s.policy.target.name.clone(),
        start_latency: s.workload.start_latency.clone(),
        autoscaler: (!fixed && s.autoscaler.enabled).then(|| s.autoscaler.clone()),
        aci: s.aci.clone(),
        pricing: s.policy.pricing.clone(),
        virtual_node: (strategy == Strategy::VirtualNode).then_some(virtual_location),
        seed: s.seed,
    }
}

/// The shipped controller, ticking one policy in virtual time.
struct Ticking {
    controller: Controller<()>,
    runtime: PolicyRuntime,
    clock: ManualClock,
    /// Runs the tick's futures; every seam answers at once, so a tick never
    /// waits on anything but itself.
    executor: tokio::runtime::Runtime,
    interval: u64,
    decisions: u64,
    ticks_run: u64,
    plans: Option<Vec<PlanRecord>>,
    metrics: Arc<SimMetrics>,
    backend: Arc<SimBackend>,
    replay: Replay,
}

impl Ticking {
    fn new(
        policy: Arc<Policy>,
        world: &Arc<Mutex<World>>,
        sim: &Simulation,
        opts: &RunOptions,
    ) -> Option<Self> {
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .ok()?;
        let clock = ManualClock::new(Timestamp::from_secs(0));
        let metrics = Arc::new(SimMetrics::for_simulation(world.clone(), sim));
        let backend = Arc::new(SimBackend::new(world.clone(), &policy));
        let interval = policy.interval.as_secs().max(1);
        let options = ControllerOptions::default();
        let parts = Parts {
            cluster: Arc::new(SimCluster::new(
                world.clone(),
                policy.target.clone(),
                sim.template.clone(),
            )),
            metrics_source: metrics.clone(),
            backend: backend.clone(),
            telemetry: Metrics::new().ok()?,
            status: Arc::new(StatusBoard::new("simulator")),
            leader: LeaderGate::always(),
            clock: clock.clock(),
            rebuild: None,
        };
        Some(Ticking {
            // Inside the runtime: the controller's semaphores and timers
            // belong to it.
            controller: executor.block_on(async { Controller::new(parts, options.clone()) }),
            interval,
            replay: Replay::new(&policy, interval, !opts.per_second, options.list_ttl),
            runtime: PolicyRuntime::new(policy),
            clock,
            executor,
            decisions: 0,
            ticks_run: 0,
            plans: opts.timeline.then(Vec::new),
            metrics,
            backend,
        })
    }

    /// The tick due at `t`, unless it would change nothing ([`Replay`]).
    fn tick_or_skip(&mut self, t: u64, world: &SharedWorld) {
        if self
            .replay
            .may_skip(t, &mut lock(world), &self.metrics, &self.backend)
        {
            self.replay.skipped += 1;
            return;
        }
        if let Some(by) = self.replay.catch_up(t) {
            self.runtime.shift(by);
        }
        let world_before = lock(world).version();
        let settled = self.tick(t);
        let now = Timestamp::from_secs(t as i64);
        let outcome = TickOutcome {
            at: t,
            settled,
            world_before,
            world_after: lock(world).version(),
            memory: self.runtime.memory(now),
            timed: self.controller.holds_timed_state(now),
        };
        self.replay.ran(outcome, &self.metrics, &self.backend);
    }

    /// Runs the tick at `t`; true when it planned nothing and nothing in
    /// it waits on time alone.
    fn tick(&mut self, t: u64) -> bool {
        self.ticks_run += 1;
        self.clock.set(Timestamp::from_secs(t as i64));
        let Ticking {
            controller,
            runtime,
            executor,
            ..
        } = self;
        let Ok(plan) = executor.block_on(controller.tick(runtime)) else {
            return false;
        };
        if !plan.is_noop() {
            self.decisions += 1;
        }
        if let Some(plans) = &mut self.plans
            && (!plan.is_noop() || plan.scale.is_some())
        {
            plans.push(record(t, &plan));
        }
        plan.is_noop() && !plan.overflow_age_matters
    }
}

fn record(t: u64, plan: &Plan) -> PlanRecord {
    PlanRecord {
        t,
        desired: plan.desired_replicas,
        deployment_replicas: plan.deployment_replicas,
        burst_target: plan.burst_target,
        creates: plan.creates.iter().map(|c| c.name.clone()).collect(),
        drains: plan.drains.clone(),
        deletes: plan.deletes.iter().map(|d| d.name.clone()).collect(),
        reasons: plan
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.code.as_str(), r.message))
            .collect(),
    }
}

/// Simulates one strategy (not the oracle) over the whole demand.
///
/// Every second the world moves (due events), the controller ticks if an
/// interval begins, the scheduler and the autoscaler run, costs accrue and
/// the figures record the second. Between the seconds where something can
/// happen (a due event, a tick, an autoscaler scan, pods to schedule) the
/// world cannot change, so that span is accounted at once against the same
/// world; it gives the same figures, bit for bit, as stepping the world
/// through its seconds (`RunOptions::per_second`, tested).
pub fn run_world(
    strategy: Strategy,
    sim: &Simulation,
    opts: &RunOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> StrategyRun {
    let s = &sim.scenario;
    let shared = Arc::new(Mutex::new(World::new(world_config(strategy, sim))));
    let policy = policy_for(strategy, &s.policy, sim.standby.as_ref());
    let zones = match policy.as_ref().and_then(|p| p.burst.as_ref()) {
        Some(b) if b.zones_auto => lock(&shared).aci.zones().to_vec(),
        Some(b) => b.zones.clone(),
        None => Vec::new(),
    };
    let mut controller = policy.and_then(|policy| Ticking::new(policy, &shared, sim, opts));
    let n = sim.demand.len() as u64;
    let mut recorder = Recorder::new(s.demand.capacity_per_replica, n, opts.timeline).with_zones(zones);
    let mut demand = sim.demand.cursor();
    let scan = s.autoscaler.scan_interval.as_secs().max(1);
    const REPORT_EVERY: u64 = 3600;
    let mut t = 0;
    while t < n {
        lock(&shared).advance_to(t as i64);
        if let Some(c) = controller.as_mut() {
            c.replay.observe_world(t, &lock(&shared));
            if t % c.interval == 0 {
                c.tick_or_skip(t, &shared);
            }
        }
        let mut world = lock(&shared);
        world.schedule();
        world.autoscale();
        if let Some(c) = controller.as_mut() {
            c.replay.observe_world(t, &world);
        }
        recorder.observe_zones(&world);
        world.accrue(1);
        recorder.record(t, 1, demand.at(t), &world);
        if t % REPORT_EVERY == REPORT_EVERY - 1 {
            progress(REPORT_EVERY);
        }
        t += 1;
        if opts.per_second {
            continue;
        }
        // The next second at which the world may change.
        let mut until = n;
        if world.autoscaler_enabled() {
            until = until.min(next_multiple(t, scan));
        }
        if let Some(c) = &controller {
            until = until.min(next_multiple(t, c.interval));
        }
        if let Some(at) = world.next_event_at() {
            until = until.min(u64::try_from(at).unwrap_or(0));
        }
        if !world.scheduler_idle() {
            until = t;
        }
        if t < until {
            recorder.account_span(t, until, &mut demand, &mut world);
            let hours = until / REPORT_EVERY - t / REPORT_EVERY;
            if hours > 0 {
                progress(hours * REPORT_EVERY);
            }
            t = until;
        }
    }
    progress(n % REPORT_EVERY);
    let decisions = controller.as_ref().map(|c| c.decisions).unwrap_or(0);
    let ticks = controller
        .as_ref()
        .map(|c| TickCount {
            run: c.ticks_run,
            skipped: c.replay.skipped,
        })
        .unwrap_or_default();
    let (figures, series, timeline) = recorder.finish(&lock(&shared), decisions);
    StrategyRun {
        strategy,
        figures,
        series,
        timeline,
        plans: controller.and_then(|c| c.plans),
        ticks,
    }
}

/// The first multiple of `every` at or after `t`.
fn next_multiple(t: u64, every: u64) -> u64 {
    t.div_ceil(every).saturating_mul(every)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::config::{MetricSpec, PredictMode};

    /// The baselines stand for a plain HPA: whatever the scenario's policy
    /// says about forecasts and scale-up queries, they run without.
    #[test]
    fn baselines_run_the_plain_hpa() {
        let scenario = crate::scenario::Scenario::embedded_default().expect("default scenario");
        let policy = &scenario.policy;
        assert!(
            policy
                .metrics
                .iter()
                .any(|m| matches!(m, MetricSpec::Prometheus(q) if q.scale_up_query.is_some())),
            "the default scenario uses a scaleUpQuery"
        );
        for s in [Strategy::VmOnly, Strategy::VirtualNode] {
            let p = policy_for(s, policy, None).expect("a policy");
            assert_eq!(p.predict.mode, PredictMode::Off, "{}", s.name());
            assert!(p.burst.is_none(), "{}", s.name());
            assert!(!p.headroom.enabled(), "{}", s.name());
            assert!(
                p.metrics
                    .iter()
                    .all(|m| !matches!(m, MetricSpec::Prometheus(q) if q.scale_up_query.is_some())),
                "{}",
                s.name()
            );
        }
        let own = policy_for(Strategy::Spillway, policy, None).expect("a policy");
        assert_eq!(own.metrics, policy.metrics);
    }
}
