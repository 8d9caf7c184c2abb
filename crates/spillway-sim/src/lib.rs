//! Spillway's virtual-time simulator: the real planner
//! (`spillway_core::plan`), called every policy interval as the controller
//! calls it, against a modelled world (demand, metrics lag, VM nodes,
//! kube-scheduler, cluster autoscaler, pod start latency, ACI), next to the
//! baselines users would otherwise run. See README.md for the scenario
//! format, the strategies, the figures and the cited defaults.

pub mod demand;
pub mod dist;
mod error;
pub mod figures;
pub mod metrics_pipeline;
pub mod oracle;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod seams;
pub mod strategies;
pub mod trace;
pub mod world;

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use spillway_core::snapshot::PodTemplate;

pub use demand::{Demand, DemandOverrides};
pub use error::SimError;
pub use figures::{Figures, Point, Sample};
pub use scenario::Scenario;
pub use strategies::{PlanRecord, Strategy, StrategyRun, TickCount};

/// A scenario with its demand built and its initial state decided.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub scenario: Scenario,
    pub demand: Arc<Demand>,
    pub template: PodTemplate,
    /// Ready replicas at t = 0 for every strategy but static-peak.
    pub initial_replicas: u32,
    /// static-peak's fixed replica count: the demand's peak, in replicas.
    pub static_peak_replicas: u32,
    /// The pool of the `spillway-standby` strategy (`simulate
    /// --standby-pool`); `None`: that strategy is not run.
    pub standby: Option<spillway_core::config::StandbyPool>,
}

/// What to keep besides the figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep every second's state and every plan (tests; memory grows with the run).
    pub timeline: bool,
    /// Simulate the strategies one after another instead of in parallel.
    pub sequential: bool,
    /// Step the world through every second, even those where nothing can
    /// happen (the reference the default loop is tested against; slower).
    pub per_second: bool,
}

/// The result of a run: one entry per strategy, in [`Strategy::ALL`] order.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub scenario: String,
    pub seed: u64,
    pub simulated_seconds: u64,
    pub currency: String,
    pub unit: String,
    pub demand_source: String,
    pub capacity_per_replica: f64,
    pub runs: Vec<StrategyRun>,
}

impl Simulation {
    pub fn new(
        mut scenario: Scenario,
        overrides: &DemandOverrides<'_>,
        seed: Option<u64>,
    ) -> Result<Simulation, SimError> {
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        let demand = demand::build_demand(&scenario, overrides)?;
        let cpr = scenario.demand.capacity_per_replica;
        let policy = &scenario.policy;
        let replicas_for = |d: f64| (d / cpr - 1e-9).ceil().max(0.0).min(f64::from(u32::MAX)) as u32;
        let initial_replicas = scenario.workload.initial_replicas.unwrap_or_else(|| {
            replicas_for(demand.mean(0, 60)).clamp(policy.min_replicas, policy.max_replicas)
        });
        let static_peak_replicas = replicas_for(demand.peak()).max(policy.min_replicas).max(1);
        let template = PodTemplate {
            namespace: policy.target.namespace.clone(),
            labels: scenario.workload.labels.clone(),
            requests: scenario.requests.clone(),
            hash: format!("sim-{}", scenario.name.len()),
            ..PodTemplate::default()
        };
        Ok(Simulation {
            scenario,
            demand: Arc::new(demand),
            template,
            initial_replicas,
            static_peak_replicas,
            standby: None,
        })
    }

    /// Loads a scenario file (or the embedded default) and applies the command line.
    pub fn load(
        scenario: Option<&Path>,
        overrides: &DemandOverrides<'_>,
        seed: Option<u64>,
    ) -> Result<Simulation, SimError> {
        let s = match scenario {
            Some(path) => Scenario::from_file(path)?,
            None => Scenario::embedded_default()?,
        };
        Simulation::new(s, overrides, seed)
    }

    /// Runs every strategy on the same demand and seed. `progress` receives
    /// simulated seconds as they complete (summed over strategies).
    /// The world `strategy` starts in: for tests that drive the controller
    /// over [`seams`] themselves.
    pub fn world(&self, strategy: Strategy) -> world::World {
        world::World::new(strategies::world_config(strategy, self))
    }

    pub fn run(&self, opts: &RunOptions, progress: &(dyn Fn(u64) + Sync)) -> Outcome {
        let mut worlds = vec![
            Strategy::Spillway,
            Strategy::VmOnly,
            Strategy::VirtualNode,
            Strategy::StaticPeak,
        ];
        if self.standby.is_some() && self.scenario.policy.burst.is_some() {
            worlds.push(Strategy::SpillwayStandby);
        }
        let mut runs: Vec<StrategyRun> = if opts.sequential {
            worlds
                .iter()
                .map(|s| strategies::run_world(*s, self, opts, progress))
                .collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = worlds
                    .iter()
                    .map(|s| scope.spawn(move || strategies::run_world(*s, self, opts, progress)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let k = oracle::OracleInputs::from_simulation(self);
        runs.push(StrategyRun {
            strategy: Strategy::Oracle,
            figures: oracle::oracle(&self.demand, self.scenario.demand.capacity_per_replica, &k),
            series: Vec::new(),
            timeline: None,
            plans: None,
            ticks: Default::default(),
        });
        runs.sort_by_key(|r| Strategy::ALL.iter().position(|s| *s == r.strategy));
        Outcome {
            scenario: self.scenario.name.clone(),
            seed: self.scenario.seed,
            simulated_seconds: self.demand.len() as u64,
            currency: self.scenario.policy.pricing.currency.clone(),
            unit: self.scenario.demand.unit.clone(),
            demand_source: self.demand.source.clone(),
            capacity_per_replica: self.scenario.demand.capacity_per_replica,
            runs,
        }
    }
}

impl Outcome {
    pub fn get(&self, s: Strategy) -> Option<&StrategyRun> {
        self.runs.iter().find(|r| r.strategy == s)
    }

    /// The `--json` document: `scenario`, `seed`, `simulated_seconds` and
    /// `strategies.<name>.<figure>`. Deterministic for a scenario and seed.
    pub fn to_json(&self) -> Value {
        let mut strategies = Map::new();
        for r in &self.runs {
            let f = &r.figures;
            strategies.insert(
                r.strategy.name().to_string(),
                json!({
                    "unserved_fraction": f.unserved_fraction,
                    "shortfall_replica_seconds": f.shortfall_replica_seconds,
                    "p99_shortfall_replicas": f.p99_shortfall_replicas,
                    "mean_time_to_recover_seconds": f.mean_time_to_recover_seconds,
                    "cost_total": f.cost_total,
                    "cost_vm": f.cost_vm,
                    "cost_aci": f.cost_aci,
                    "cost_pool": f.cost_pool,
                    "pool_hits": f.pool_hits,
                    "pool_misses": f.pool_misses,
                    "container_groups_created": f.container_groups_created,
                    "peak_burst_replicas": f.peak_burst_replicas,
                    "decisions": f.decisions,
                }),
            );
        }
        json!({
            "scenario": self.scenario,
            "seed": self.seed,
            "simulated_seconds": self.simulated_seconds,
            "strategies": strategies,
        })
    }

    /// [`Outcome::to_json`] as pretty text with a final newline.
    pub fn json_string(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.to_json()).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Spillway's standing against the others, as ratios.
    pub fn verdict(&self) -> String {
        let f = |s: Strategy| self.get(s).map(|r| r.figures.clone()).unwrap_or_default();
        let (sp, vm, peak, orc) = (
            f(Strategy::Spillway),
            f(Strategy::VmOnly),
            f(Strategy::StaticPeak),
            f(Strategy::Oracle),
        );
        let r = |a: f64, b: f64| {
            if b > 0.0 {
                format!("{:.2}", a / b)
            } else if a > 0.0 {
                "inf".into()
            } else {
                "n/a".into()
            }
        };
        format!(
            "spillway: unserved {} x vm-only's; cost {} x static-peak's, {} x the oracle's",
            r(sp.unserved_fraction, vm.unserved_fraction),
            r(sp.cost_total, peak.cost_total),
            r(sp.cost_total, orc.cost_total)
        )
    }

    /// The comparison table printed on stdout.
    pub fn table(&self) -> String {
        let cur = &self.currency;
        let mut rows = vec![vec![
            "strategy".to_string(),
            "unserved".into(),
            "shortfall r·s".into(),
            "p99 short".into(),
            "MTTR s".into(),
            format!("cost {cur}"),
            format!("VM {cur}"),
            format!("ACI {cur}"),
            format!("pool {cur}"),
            "hits/misses".into(),
            "groups".into(),
            "peak burst".into(),
            "decisions".into(),
        ]];
        for r in &self.runs {
            let f = &r.figures;
            rows.push(vec![
                r.strategy.name().to_string(),
                format!("{:.3}%", f.unserved_fraction * 100.0),
                format!("{:.0}", f.shortfall_replica_seconds),
                format!("{:.1}", f.p99_shortfall_replicas),
                format!("{:.0}", f.mean_time_to_recover_seconds),
                format!("{:.2}", f.cost_total),
                format!("{:.2}", f.cost_vm),
                format!("{:.2}", f.cost_aci),
                format!("{:.2}", f.cost_pool),
                format!("{}/{}", f.pool_hits, f.pool_misses),
                f.container_groups_created.to_string(),
                f.peak_burst_replicas.to_string(),
                f.decisions.to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for (i, row) in rows.iter().enumerate() {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    if c == 0 {
                        format!("{v:<w$}", w = widths[c])
                    } else {
                        format!("{v:>w$}", w = widths[c])
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
            if i == 0 {
                out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
                out.push('\n');
            }
        }
        out
    }
}
