//! The oracle: a clairvoyant lower bound on the cost of serving the demand
//! with zero unserved seconds (README "How the oracle is computed").
//!
//! Any strategy with no unserved demand has, at every second, at least
//! `r(t) = ⌈demand(t)/capacityPerReplica⌉` ready replicas. Each ready replica
//! costs at least `p = min(VM node price per slot, ACI price per replica)`
//! per second, and each replica that *becomes* ready was billed for at least
//! `c = min(p_vm × minimum pod start, p_aci × minimum ACI start)` before.
//! Decompose `r` into levels k = 1, 2, …: level k is needed whenever
//! `r(t) ≥ k`. Between two needed intervals of a level, any strategy either
//! keeps a replica (≥ p per second of the gap) or starts a new one (≥ c), so
//! the level costs at least `p × needed time + Σ min(p × gap, c)`, and a
//! level's first interval costs `c` unless an initial replica covers it.
//! Summed over levels this bounds every zero-unserved strategy from below.
//! Node granularity is relaxed to a price per slot, which keeps it a bound.
//!
//! Every strategy runs on the same cluster, whose node pools never shrink
//! below `minNodes`: those nodes are paid for the whole run whatever
//! happens (`F`), and their `S0` slots (counted without other pods or node
//! overhead, so never too few) hold the first `S0` levels at no further
//! cost. The bound is `F + Σ_{k > S0} cost(level k)`: still below every
//! zero-unserved strategy on this cluster, and no longer blind to the part
//! of the bill that no placement can avoid.

use spillway_core::aci::GroupRequests;
use spillway_core::cost::aci_replica_hourly;

use crate::Simulation;
use crate::demand::Demand;
use crate::figures::Figures;

/// Inputs of the bound, exposed for tests and the report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OracleInputs {
    pub vm_per_replica_sec: f64,
    pub aci_per_replica_sec: f64,
    pub min_pod_start_secs: f64,
    pub min_aci_start_secs: f64,
    pub initial_replicas: u32,
    /// `S0`: replicas the pools' minimum nodes hold.
    pub min_pool_replicas: u32,
    /// The pools' minimum nodes' price per second (`F` over the run).
    pub min_pool_per_sec: f64,
}

impl OracleInputs {
    pub fn from_simulation(sim: &Simulation) -> Self {
        let s = &sim.scenario;
        let mut aci_hourly =
            aci_replica_hourly(&GroupRequests::from_template(&s.requests), &s.policy.pricing);
        if let Some(r) = s.policy.burst.as_ref().and_then(|b| b.requests.as_ref()) {
            aci_hourly = aci_hourly.min(aci_replica_hourly(
                &GroupRequests::from_override(r),
                &s.policy.pricing,
            ));
        }
        OracleInputs {
            vm_per_replica_sec: s.vm_replica_hourly() / 3600.0,
            aci_per_replica_sec: aci_hourly / 3600.0,
            // The world never makes anything ready in under a second.
            min_pod_start_secs: s.workload.start_latency.min_secs().ceil().max(1.0),
            min_aci_start_secs: (s.aci.provisioning.min_secs()
                + (s.aci.image_size_gb * s.aci.pull_seconds_per_gb).ceil())
            .max(1.0),
            initial_replicas: sim.initial_replicas,
            min_pool_replicas: 0,
            min_pool_per_sec: 0.0,
        }
        .with_min_pool(sim)
    }

    /// Counts the pools' minimum nodes (`F`, `S0`), unless the static-peak
    /// strategy's fixed pool costs less than they do: that strategy does
    /// not keep them, and the bound must stay below it too, so the oracle
    /// is then the per-slot bound alone.
    fn with_min_pool(mut self, sim: &Simulation) -> Self {
        let pools = &sim.scenario.pools;
        let per_sec: f64 = pools
            .iter()
            .map(|p| f64::from(p.spec.min_nodes) * p.spec.price_per_hour / 3600.0)
            .sum();
        let static_per_sec = pools.first().map_or(0.0, |p| {
            f64::from(sim.static_peak_replicas.div_ceil(p.slots.max(1))) * p.spec.price_per_hour / 3600.0
        });
        if static_per_sec >= per_sec {
            self.min_pool_per_sec = per_sec;
            self.min_pool_replicas = pools
                .iter()
                .map(|p| p.spec.min_nodes.saturating_mul(p.slots))
                .fold(0, u32::saturating_add);
        }
        self
    }
}

/// The bound and how it splits; costs in the configuration's currency.
/// One pass over the demand's constant segments: `r` changes only where a
/// segment starts.
pub fn oracle(demand: &Demand, capacity_per_replica: f64, k: &OracleInputs) -> Figures {
    let aci_cheaper_rate = k.aci_per_replica_sec < k.vm_per_replica_sec;
    let p = k.vm_per_replica_sec.min(k.aci_per_replica_sec);
    let c_vm = k.vm_per_replica_sec * k.min_pod_start_secs;
    let c_aci = k.aci_per_replica_sec * k.min_aci_start_secs;
    let aci_cheaper_start = c_aci < c_vm;
    let c = c_vm.min(c_aci);
    const NEVER: i64 = -1;
    let mut last_end: Vec<i64> = Vec::new();
    let mut prev: usize = 0;
    let mut run_cost = 0.0;
    let mut start_cost = 0.0;
    let mut starts: u64 = 0;
    let mut peak: usize = 0;
    let m0 = k.initial_replicas as usize;
    let free = k.min_pool_replicas as usize;
    let mut duration = 0;
    for (start, end, d) in demand.segments() {
        let r = (d / capacity_per_replica - 1e-9).ceil().max(0.0) as usize;
        if r > last_end.len() {
            last_end.resize(r, NEVER);
        }
        let t = start as i64;
        for level in (prev + 1).max(free + 1)..=r {
            let end = last_end[level - 1];
            let keep = if end == NEVER {
                if level <= m0 { Some(p * t as f64) } else { None }
            } else {
                Some(p * (t - end) as f64)
            };
            match keep {
                Some(kc) if kc <= c => start_cost += kc,
                _ => {
                    start_cost += c;
                    starts += 1;
                }
            }
        }
        for slot in last_end.iter_mut().take(prev).skip(r) {
            *slot = t;
        }
        run_cost += p * r.saturating_sub(free) as f64 * (end - start) as f64;
        duration = duration.max(end);
        peak = peak.max(r);
        prev = r;
    }
    // Idle bridging is billed at the running rate's type.
    let (mut cost_vm, mut cost_aci) = if aci_cheaper_rate {
        (0.0, run_cost)
    } else {
        (run_cost, 0.0)
    };
    if aci_cheaper_start {
        cost_aci += start_cost;
    } else {
        cost_vm += start_cost;
    }
    cost_vm += k.min_pool_per_sec * duration as f64;
    Figures {
        unserved_fraction: 0.0,
        shortfall_replica_seconds: 0.0,
        p99_shortfall_replicas: 0.0,
        mean_time_to_recover_seconds: 0.0,
        cost_total: cost_vm + cost_aci,
        cost_vm,
        cost_aci,
        cost_pool: 0.0,
        pool_hits: 0,
        pool_misses: 0,
        container_groups_created: if aci_cheaper_start { starts } else { 0 },
        peak_burst_replicas: if aci_cheaper_rate { peak as u64 } else { 0 },
        decisions: 0,
        max_zone_skew: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(v: Vec<f64>) -> Demand {
        Demand::from_series(v, "test").expect("valid")
    }

    fn k(m0: u32) -> OracleInputs {
        OracleInputs {
            vm_per_replica_sec: 1.0,
            aci_per_replica_sec: 2.0,
            min_pod_start_secs: 10.0,
            min_aci_start_secs: 30.0,
            initial_replicas: m0,
            min_pool_replicas: 0,
            min_pool_per_sec: 0.0,
        }
    }

    /// One minimum node (price 3/s) holding 2 replicas: the first two
    /// levels cost nothing beyond the node, the third is paid as before.
    #[test]
    fn the_minimum_pool_is_paid_once_and_holds_its_levels() {
        let mut d = vec![20.0; 10];
        d.extend([30.0; 10]);
        let inputs = OracleInputs {
            min_pool_replicas: 2,
            min_pool_per_sec: 3.0,
            ..k(2)
        };
        let f = oracle(&series(d), 10.0, &inputs);
        // F = 3 × 20 s; level 3: 10 s at 1/s plus its start (10).
        assert!(
            (f.cost_total - (60.0 + 10.0 + 10.0)).abs() < 1e-9,
            "{}",
            f.cost_total
        );
        assert!(
            (f.cost_vm - f.cost_total).abs() < 1e-9,
            "VM is the cheaper rate and start here"
        );
    }

    #[test]
    fn constant_demand_costs_its_running_price() {
        let f = oracle(&series(vec![100.0; 60]), 10.0, &k(10));
        assert!((f.cost_total - 600.0).abs() < 1e-9);
    }

    #[test]
    fn short_dips_are_bridged_long_ones_restarted() {
        // 1 replica, 5 s dip (bridge, 5), 100 s dip (restart, c = 10).
        let mut d = vec![10.0; 10];
        d.extend([0.0; 5]);
        d.extend([10.0; 10]);
        d.extend([0.0; 100]);
        d.extend([10.0; 10]);
        let d = series(d);
        let f = oracle(&d, 10.0, &k(1));
        assert!(
            (f.cost_total - (30.0 + 5.0 + 10.0)).abs() < 1e-9,
            "{}",
            f.cost_total
        );
        // Without an initial replica the first interval pays a start too.
        let g = oracle(&d, 10.0, &k(0));
        assert!(
            (g.cost_total - (30.0 + 5.0 + 20.0)).abs() < 1e-9,
            "{}",
            g.cost_total
        );
    }
}
