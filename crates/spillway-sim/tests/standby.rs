//! Standby pools in the simulator (issue 16): `spillway-standby` runs the
//! same controller with a pool; a step's first burst replicas are claimed
//! from it and start in seconds, the pool's Running instances are billed
//! apart, and everything stays deterministic per seed.

mod common;

use std::path::Path;

use common::*;
use spillway_core::config::{SizeFrom, StandbyPool};
use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, Simulation, Strategy};

fn with_pool(k: &Knobs, cap: u32) -> Outcome {
    let scenario = Scenario::from_yaml(&yaml(k), "test", Path::new(".")).expect("valid scenario");
    let mut sim = Simulation::new(scenario, &DemandOverrides::default(), None).expect("demand");
    sim.standby = Some(StandbyPool {
        name: "test-web".into(),
        max_ready_capacity: cap,
        size_from: SizeFrom::Fixed,
        floor: Vec::new(),
    });
    sim.run(
        &RunOptions {
            timeline: true,
            ..Default::default()
        },
        &|_| {},
    )
}

#[test]
fn a_pool_serves_the_first_burst_replicas_in_seconds_and_is_billed_apart() {
    // ACI takes 20 s here without a pool; claims from the pool take 1-2 s.
    let k = Knobs {
        down: Some(2400),
        ..Knobs::default()
    };
    let o = with_pool(&k, 6);
    let plain = run(&o, Strategy::Spillway);
    let pooled = run(&o, Strategy::SpillwayStandby);
    assert_eq!(
        plain.figures.pool_hits + plain.figures.pool_misses,
        0,
        "no pool: no claims"
    );
    assert_eq!(plain.figures.cost_pool, 0.0);
    assert!(pooled.figures.pool_hits >= 6, "{:?}", pooled.figures);
    assert!(pooled.figures.cost_pool > 0.0);
    assert!(
        (pooled.figures.cost_total
            - (pooled.figures.cost_vm + pooled.figures.cost_aci + pooled.figures.cost_pool))
            .abs()
            < 1e-9
    );
    assert!(
        pooled.figures.shortfall_replica_seconds < plain.figures.shortfall_replica_seconds,
        "the pool shortens the gap: {} vs {}",
        pooled.figures.shortfall_replica_seconds,
        plain.figures.shortfall_replica_seconds
    );
    // Deterministic per seed.
    let again = with_pool(&k, 6);
    assert_eq!(run(&again, Strategy::SpillwayStandby).figures, pooled.figures);
    assert!(o.to_json()["strategies"]["spillway-standby"]["pool_hits"].as_u64() >= Some(6));
}

#[test]
fn without_a_pool_the_strategy_is_not_run() {
    let o = simulate(&Knobs {
        duration: 900,
        ..Knobs::default()
    });
    assert!(o.get(Strategy::SpillwayStandby).is_none());
}
