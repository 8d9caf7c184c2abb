//! The run loop skips the seconds where the world cannot change; the figures
//! must equal, bit for bit, those of stepping the world through every second
//! (`RunOptions::per_second`).

mod common;

use std::io::Write;
use std::path::Path;

use common::{Knobs, yaml};
use proptest::prelude::*;
use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, Simulation};

fn both(sim: &Simulation) -> (Outcome, Outcome) {
    let jumps = sim.run(
        &RunOptions {
            timeline: true,
            ..Default::default()
        },
        &|_| {},
    );
    let per_second = sim.run(
        &RunOptions {
            timeline: true,
            per_second: true,
            ..Default::default()
        },
        &|_| {},
    );
    (jumps, per_second)
}

fn assert_same(jumps: &Outcome, per_second: &Outcome) {
    assert_eq!(jumps.json_string(), per_second.json_string());
    for (a, b) in jumps.runs.iter().zip(&per_second.runs) {
        assert_eq!(a.strategy, b.strategy);
        assert_eq!(a.figures, b.figures, "{}", a.strategy.name());
        assert_eq!(a.series, b.series, "{}: report series", a.strategy.name());
        assert_eq!(a.timeline, b.timeline, "{}: per-second states", a.strategy.name());
        assert_eq!(a.plans, b.plans, "{}: plans", a.strategy.name());
    }
}

#[test]
fn the_default_scenario_gives_the_same_figures_either_way() {
    let mut sim = Simulation::load(None, &DemandOverrides::default(), None).expect("default");
    // Six hours with the flash crowd's hours kept small for a debug build.
    let mut d = spillway_sim::Demand::clone(&sim.demand);
    d.truncate(6 * 3600);
    sim.demand = std::sync::Arc::new(d);
    let (a, b) = both(&sim);
    assert_same(&a, &b);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Steps up and down (long constant segments, so the loop does jump),
    /// with and without the autoscaler, failing container groups and a small pool.
    #[test]
    fn random_steps_give_the_same_figures_either_way(
        base in 100.0f64..900.0,
        add in 0.0f64..2500.0,
        up in 0u64..1800,
        down in proptest::option::of(1800u64..3000),
        nodes in 1u32..4,
        ca in any::<bool>(),
        failure in prop_oneof![Just(0.0f64), Just(0.3)],
    ) {
        let k = Knobs { base, add, up, down, nodes, max_nodes: nodes + 3, autoscaler: ca, aci_failure: failure, ..Knobs::default() };
        let scenario = Scenario::from_yaml(&yaml(&k), "test", Path::new(".")).expect("valid scenario");
        let sim = Simulation::new(scenario, &DemandOverrides::default(), None).expect("demand");
        let (a, b) = both(&sim);
        assert_same(&a, &b);
    }

    /// Random traces (rows of 1 min, gaps without data), cut by `--duration`.
    #[test]
    fn random_traces_give_the_same_figures_either_way(
        rows in proptest::collection::vec((0u32..3, 0.0f64..200_000.0), 5..60),
        duration in proptest::option::of(1800u64..4000),
        seed in 0u64..1000,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.csv");
        let mut f = std::fs::File::create(&path).expect("create");
        writeln!(f, "t_seconds,value").expect("write");
        let mut t = 0u64;
        for (gap, v) in &rows {
            writeln!(f, "{t},{}", v.round()).expect("write");
            t += 60 * u64::from(1 + gap / 2);
        }
        drop(f);
        let o = DemandOverrides { trace: Some(&path), peak_replicas: None, duration_secs: duration };
        let scenario = Scenario::from_yaml(&yaml(&Knobs { autoscaler: true, max_nodes: 6, ..Knobs::default() }), "test", Path::new(".")).expect("valid scenario");
        let sim = Simulation::new(scenario, &o, Some(seed)).expect("demand");
        let (a, b) = both(&sim);
        assert_same(&a, &b);
    }
}
