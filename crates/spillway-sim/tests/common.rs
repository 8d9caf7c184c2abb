//! Small scenarios for the behaviour tests.

#![allow(dead_code)]

use std::path::Path;

use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, Simulation, Strategy, StrategyRun};

/// A scenario with a demand step: `base` from 0, `+add` at `up`, `-add` at `down` (seconds).
pub struct Knobs {
    pub base: f64,
    pub add: f64,
    pub up: u64,
    pub down: Option<u64>,
    pub duration: u64,
    pub nodes: u32,
    pub max_nodes: u32,
    pub autoscaler: bool,
    pub vm_overflow: &'static str,
    pub max_hourly_cost: Option<f64>,
    pub burst_max: u32,
    pub aci_failure: f64,
    /// A node's price per hour in the policy's `pricing.vm` (what
    /// `vmOverflow: auto` compares ACI with); none: no VM prices.
    pub vm_price: Option<f64>,
    /// `headroom: {maxAddReplicas, minNodes}` of the policy; none: off.
    pub headroom: Option<(u32, u32)>,
    /// The pool's `minNodes`; none: `nodes` (the pool never shrinks).
    pub min_nodes: Option<u32>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            base: 500.0,
            add: 1000.0,
            up: 600,
            down: Some(2400),
            duration: 3600,
            nodes: 2,
            max_nodes: 2,
            autoscaler: false,
            vm_overflow: "cap",
            max_hourly_cost: None,
            burst_max: 30,
            aci_failure: 0.0,
            vm_price: None,
            headroom: None,
            min_nodes: None,
        }
    }
}

pub const SCRAPE: u64 = 15;
pub const WINDOW: u64 = 60;
pub const INTERVAL: u64 = 15;
pub const SCALE_IN_STABILIZATION: u64 = 120;
pub const DRAIN_GRACE: u64 = 15;
pub const CAPACITY_PER_REPLICA: f64 = 100.0;

pub fn yaml(k: &Knobs) -> String {
    let down = k
        .down
        .map(|d| format!("\n    - {{ at: {d}, add: {} }}", -k.add))
        .unwrap_or_default();
    let budget = k
        .max_hourly_cost
        .map(|c| format!("\n      maxHourlyCost: {c}"))
        .unwrap_or_default();
    let headroom = k
        .headroom
        .map(|(max, min)| format!("\n    headroom: {{ maxAddReplicas: {max}, minNodes: {min} }}"))
        .unwrap_or_default();
    let pricing = k
        .vm_price
        .map(|p| format!("\n  pricing: {{ vm: [{{ pricePerHour: {p} }}] }}"))
        .unwrap_or_default();
    format!(
        r#"
name: step
seed: 3
duration: {duration}
demand:
  capacityPerReplica: {CAPACITY_PER_REPLICA}
  synthetic:
    base: {base}
    steps:
    - {{ at: {up}, add: {add} }}{down}
workload:
  requests: {{ cpu: 500m, memory: 512Mi }}
  startLatency: {{ fixed: 20s }}
cluster:
  nodePools:
  - name: pool
    allocatable: {{ cpu: 2500m, memory: 8Gi, pods: 110 }}
    initialNodes: {nodes}
    minNodes: {min_nodes}
    maxNodes: {max_nodes}
    pricePerHour: 0.1
  autoscaler:
    enabled: {autoscaler}
aci:
  provisioning: {{ fixed: 20s }}
  imageSizeGb: 0
  failureProbability: {aci_failure}
metrics:
  scrapeInterval: {SCRAPE}s
  rateWindow: {WINDOW}s
config:
  cluster: {{ id: test }}
  azure:
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    location: westeurope{pricing}
  metricSources:
    prometheus: {{ url: "http://prometheus:9090" }}
  interval: {INTERVAL}s
  policies:
  - name: web
    target: {{ namespace: shop, name: web }}
    minReplicas: 2
    maxReplicas: 60
    metrics:
    - prometheus: {{ query: "sum(rate(x[1m]))", targetAverageValue: 80 }}
    behavior:
      scaleDown: {{ stabilizationWindow: 0s }}{headroom}
    burst:
      enabled: true
      maxReplicas: {burst_max}
      vmOverflow: {vm_overflow}
      scaleInStabilization: {SCALE_IN_STABILIZATION}s
      drainGrace: {DRAIN_GRACE}s{budget}
"#,
        duration = k.duration,
        base = k.base,
        up = k.up,
        add = k.add,
        nodes = k.nodes,
        min_nodes = k.min_nodes.unwrap_or(k.nodes),
        max_nodes = k.max_nodes,
        autoscaler = k.autoscaler,
        aci_failure = k.aci_failure,
        burst_max = k.burst_max,
        vm_overflow = k.vm_overflow,
    )
}

pub fn simulate(k: &Knobs) -> Outcome {
    let scenario = Scenario::from_yaml(&yaml(k), "test", Path::new(".")).expect("valid scenario");
    let sim = Simulation::new(scenario, &DemandOverrides::default(), None).expect("demand");
    sim.run(
        &RunOptions {
            timeline: true,
            ..Default::default()
        },
        &|_| {},
    )
}

pub fn run(o: &Outcome, s: Strategy) -> &StrategyRun {
    o.get(s).expect("strategy ran")
}
