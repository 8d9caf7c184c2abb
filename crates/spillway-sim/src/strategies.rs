//! The five strategies of a run and the loop that drives one world. The
//! planner-driven strategies call `spillway_core::plan` every policy
//! interval, exactly as the controller does; none of them decides anything
//! here.

use std::sync::Arc;

use serde::Serialize;
use spillway_core::config::Policy;
use spillway_core::plan::{PlanInput, PolicyState};
use spillway_core::snapshot::ClusterSnapshot;
use spillway_core::time::Timestamp;

use crate::figures::{Figures, Point, Recorder, Sample};
use crate::metrics_pipeline::MetricsPipeline;
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
}

impl Strategy {
    pub const ALL: [Strategy; 5] = [
        Strategy::Spillway,
        Strategy::VmOnly,
        Strategy::VirtualNode,
        Strategy::StaticPeak,
        Strategy::Oracle,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Spillway => "spillway",
            Strategy::VmOnly => "vm-only",
            Strategy::VirtualNode => "virtual-node",
            Strategy::StaticPeak => "static-peak",
            Strategy::Oracle => "oracle",
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
}

/// The policy a strategy runs, if it runs one.
pub fn policy_for(strategy: Strategy, policy: &Arc<Policy>) -> Option<Arc<Policy>> {
    match strategy {
        Strategy::Spillway => Some(policy.clone()),
        Strategy::VmOnly | Strategy::VirtualNode => {
            let mut p = Policy::clone(policy);
            p.burst = None;
            Some(Arc::new(p))
        }
        Strategy::StaticPeak | Strategy::Oracle => None,
    }
}

fn world_config(strategy: Strategy, sim: &Simulation) -> WorldConfig {
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

struct Controller {
    policy: Arc<Policy>,
    state: PolicyState,
    interval: u64,
    locations: Vec<String>,
    snapshot: ClusterSnapshot,
    decisions: u64,
    plans: Option<Vec<PlanRecord>>,
}

impl Controller {
    fn tick(&mut self, world: &mut World, pipeline: &MetricsPipeline<'_>, sim: &Simulation, t: u64) {
        let samples = pipeline.samples(&self.policy, t, world, &sim.scenario.requests);
        if world.nodes.dirty {
            self.snapshot = world.nodes.snapshot(&world.pods.status().template);
        }
        let now = Timestamp::from_secs(t as i64);
        let inventory = world.aci.inventory(t as i64, &self.locations);
        let input = PlanInput {
            policy: &self.policy,
            samples: &samples,
            cluster: &self.snapshot,
            workload: world.pods.status(),
            inventory,
            now,
        };
        let (plan, next) = spillway_core::plan(&input, &self.state);
        self.state = next;
        if !plan.is_noop() {
            self.decisions += 1;
        }
        if plan.deployment_replicas != world.pods.spec_replicas() {
            world.set_replicas(plan.deployment_replicas);
        }
        world.apply_burst(&plan);
        if let Some(plans) = &mut self.plans
            && (!plan.is_noop() || plan.desired_replicas != world.pods.spec_replicas())
        {
            plans.push(PlanRecord {
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
            });
        }
    }
}

/// Simulates one strategy (not the oracle) over the whole demand.
pub fn run_world(
    strategy: Strategy,
    sim: &Simulation,
    opts: &RunOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> StrategyRun {
    let s = &sim.scenario;
    let mut world = World::new(world_config(strategy, sim));
    let pipeline = MetricsPipeline::new(&sim.demand, &s.metrics, s.demand.capacity_per_replica);
    let mut controller = policy_for(strategy, &s.policy).map(|policy| Controller {
        interval: policy.interval.as_secs().max(1),
        locations: policy
            .burst
            .as_ref()
            .map(|b| b.locations.clone())
            .unwrap_or_default(),
        policy,
        state: PolicyState::default(),
        snapshot: ClusterSnapshot::default(),
        decisions: 0,
        plans: opts.timeline.then(Vec::new),
    });
    let n = sim.demand.len() as u64;
    let mut recorder = Recorder::new(s.demand.capacity_per_replica, n, opts.timeline);
    const REPORT_EVERY: u64 = 3600;
    for t in 0..n {
        world.advance_to(t as i64);
        if let Some(c) = controller.as_mut()
            && t % c.interval == 0
        {
            c.tick(&mut world, &pipeline, sim, t);
        }
        world.schedule();
        world.autoscale();
        world.accrue();
        recorder.record(t, sim.demand.at(t as usize), &world);
        if t % REPORT_EVERY == REPORT_EVERY - 1 {
            progress(REPORT_EVERY);
        }
    }
    progress(n % REPORT_EVERY);
    let decisions = controller.as_ref().map(|c| c.decisions).unwrap_or(0);
    let (figures, series, timeline) = recorder.finish(&world, decisions);
    StrategyRun {
        strategy,
        figures,
        series,
        timeline,
        plans: controller.and_then(|c| c.plans),
    }
}
