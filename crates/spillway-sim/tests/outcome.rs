//! Determinism, the oracle's bound, and scenario errors.

mod common;

use std::path::Path;

use common::*;
use proptest::prelude::*;
use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, SimError, Simulation, Strategy};

fn default_sim(seed: Option<u64>) -> Simulation {
    Simulation::new(
        Scenario::embedded_default().expect("default scenario is valid"),
        &DemandOverrides::default(),
        seed,
    )
    .expect("demand")
}

fn assert_oracle_is_a_lower_bound(o: &Outcome) {
    let oracle = o.get(Strategy::Oracle).expect("oracle").figures.cost_total;
    assert!(oracle > 0.0);
    for r in &o.runs {
        if r.figures.unserved_fraction == 0.0 {
            assert!(
                r.figures.cost_total + 1e-9 >= oracle,
                "{} served everything for {} < oracle {}",
                r.strategy.name(),
                r.figures.cost_total,
                oracle
            );
        }
    }
    assert_eq!(
        o.get(Strategy::StaticPeak)
            .expect("static-peak")
            .figures
            .unserved_fraction,
        0.0
    );
}

#[test]
fn same_scenario_and_seed_give_byte_identical_json() {
    let a = default_sim(None)
        .run(&RunOptions::default(), &|_| {})
        .json_string();
    let b = default_sim(None)
        .run(
            &RunOptions {
                sequential: true,
                ..Default::default()
            },
            &|_| {},
        )
        .json_string();
    assert_eq!(a, b);
    let c = default_sim(Some(99))
        .run(&RunOptions::default(), &|_| {})
        .json_string();
    assert_ne!(a, c, "another seed changes the run");
    let v: serde_json::Value = serde_json::from_str(&a).expect("json");
    for key in ["scenario", "seed", "simulated_seconds"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    for s in ["spillway", "vm-only", "virtual-node", "static-peak", "oracle"] {
        for f in [
            "unserved_fraction",
            "shortfall_replica_seconds",
            "p99_shortfall_replicas",
            "mean_time_to_recover_seconds",
            "cost_total",
            "cost_vm",
            "cost_aci",
            "container_groups_created",
            "peak_burst_replicas",
            "decisions",
        ] {
            assert!(v["strategies"][s][f].is_number(), "strategies.{s}.{f}");
        }
    }
}

#[test]
fn the_oracle_bounds_every_strategy_that_serves_everything() {
    for seed in [1, 2] {
        assert_oracle_is_a_lower_bound(&default_sim(Some(seed)).run(&RunOptions::default(), &|_| {}));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn the_oracle_is_a_lower_bound_on_random_steps(base in 100.0f64..900.0, add in 0.0f64..2500.0, up in 0u64..900, nodes in 1u32..4, ca in any::<bool>()) {
        let k = Knobs { base, add, up, down: Some(up + 900), duration: 2400, nodes, max_nodes: 8, autoscaler: ca, vm_overflow: if ca { "pending" } else { "cap" }, ..Knobs::default() };
        assert_oracle_is_a_lower_bound(&simulate(&k));
    }
}

#[test]
fn an_invalid_policy_reports_the_validator_messages() {
    let bad = yaml(&Knobs {
        burst_max: 500,
        ..Knobs::default()
    });
    let e = Scenario::from_yaml(&bad, "bad.yaml", Path::new(".")).expect_err("invalid");
    assert!(matches!(e, SimError::Policy { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("policies[0].burst.maxReplicas: 500 exceeds maxReplicas 60"),
        "{e}"
    );
}

#[test]
fn a_missing_trace_is_a_clear_error() {
    let s = Scenario::embedded_default().expect("default");
    let missing = Path::new("/nonexistent/trace.csv");
    let e = Simulation::new(
        s,
        &DemandOverrides {
            trace: Some(missing),
            ..Default::default()
        },
        None,
    )
    .expect_err("missing");
    assert!(e.to_string().contains("/nonexistent/trace.csv"), "{e}");
}

#[test]
fn peak_replicas_scales_a_trace_to_its_peak() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "t_seconds,value\n0,600\n60,1200\n120,300\n").expect("write");
    let s = Scenario::embedded_default().expect("default");
    let cpr = s.demand.capacity_per_replica;
    let sim = Simulation::new(
        s,
        &DemandOverrides {
            trace: Some(&path),
            peak_replicas: Some(40.0),
            duration_secs: None,
        },
        None,
    )
    .expect("sim");
    assert_eq!(sim.demand.len(), 180);
    assert!((sim.demand.peak() - 40.0 * cpr).abs() < 1e-6);
    let s = Scenario::embedded_default().expect("default");
    let pool = s.initial_pool_replicas() as f64;
    let sim = Simulation::new(
        s,
        &DemandOverrides {
            trace: Some(&path),
            duration_secs: Some(100),
            ..Default::default()
        },
        None,
    )
    .expect("sim");
    assert_eq!(sim.demand.len(), 100);
    assert!(
        (sim.demand.peak() - 2.5 * pool * cpr).abs() < 1e-6,
        "default peak: 2.5x the initial pool"
    );
}
