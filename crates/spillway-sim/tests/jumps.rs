//! The run loop skips the seconds where the world cannot change, and the
//! controller's ticks at a fixed point (`spillway_sim::replay`); the figures
//! must equal, bit for bit, those of stepping the world through every second
//! and ticking every interval (`RunOptions::per_second`).

mod common;

use std::io::Write;
use std::path::Path;

use common::{Knobs, yaml};
use proptest::prelude::*;
use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, Simulation, Strategy};

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
        assert_eq!(
            b.ticks.skipped,
            0,
            "{}: the reference ticks every interval",
            a.strategy.name()
        );
        assert_eq!(
            a.ticks.run + a.ticks.skipped,
            b.ticks.run,
            "{}: every interval is a tick, run or skipped",
            a.strategy.name()
        );
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

/// Twelve hours of hourly steps, as a five-year hourly trace has them, on
/// the default scenario with `pricing.vm` set to `vm_price`.
fn hourly_steps(vm_price: &str) -> Simulation {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hourly.csv");
    let mut f = std::fs::File::create(&path).expect("create");
    writeln!(f, "t_seconds,value").expect("write");
    for hour in 0..12u64 {
        // A daily shape with a dip and a peak, beyond the pool at its top.
        let v = [40_000, 55_000, 90_000, 160_000, 240_000, 200_000][(hour % 6) as usize];
        writeln!(f, "{},{v}", hour * 3600).expect("write");
    }
    drop(f);
    let default_price = "vm: [{ pricePerHour: 0.192 }]";
    assert!(spillway_sim::scenario::DEFAULT_SCENARIO_YAML.contains(default_price));
    let yaml = spillway_sim::scenario::DEFAULT_SCENARIO_YAML
        .replace(default_price, &format!("vm: [{{ pricePerHour: {vm_price} }}]"));
    let scenario = Scenario::from_yaml(&yaml, "hourly", Path::new(".")).expect("valid scenario");
    let o = DemandOverrides {
        trace: Some(&path),
        peak_replicas: None,
        duration_secs: None,
    };
    Simulation::new(scenario, &o, Some(3)).expect("demand")
}

fn assert_mostly_skipped(o: &Outcome) {
    for s in [Strategy::Spillway, Strategy::VmOnly, Strategy::VirtualNode] {
        let run = o.runs.iter().find(|r| r.strategy == s).expect("a run");
        assert!(
            run.ticks.skipped > 2 * run.ticks.run,
            "{}: {:?}",
            s.name(),
            run.ticks
        );
    }
}

/// Most ticks are skipped, and the figures are still those of ticking
/// every interval.
#[test]
fn hourly_steps_skip_most_ticks_and_give_the_same_figures() {
    let (a, b) = both(&hourly_steps("0.192"));
    assert_same(&a, &b);
    assert_mostly_skipped(&a);
}

/// With VM slots a little cheaper than ACI, `vmOverflow: auto` keeps an
/// overflow on ACI for its first ~20 minutes (the break-even age), then
/// leaves it to new nodes: a change that time alone brings, with the world
/// and the readings as they were. No tick may be skipped before it.
#[test]
fn an_overflow_that_ages_into_new_nodes_is_not_skipped_over() {
    let (a, b) = both(&hourly_steps("0.098"));
    assert_same(&a, &b);
    let plans = a
        .runs
        .iter()
        .find(|r| r.strategy == Strategy::Spillway)
        .and_then(|r| r.plans.as_ref())
        .expect("plans");
    assert!(
        plans
            .iter()
            .any(|p| p.reasons.iter().any(|r| r.contains("past the"))),
        "an overflow outlasted the break-even age"
    );
}

/// The figures, accounted a run of equal seconds at a time, are what the
/// seconds of the timeline say, summed one by one.
#[test]
fn the_figures_are_what_the_seconds_say() {
    let sim = hourly_steps("0.098");
    let cpr = sim.scenario.demand.capacity_per_replica;
    let (a, _) = both(&sim);
    for s in [Strategy::Spillway, Strategy::VmOnly] {
        let run = a.runs.iter().find(|r| r.strategy == s).expect("a run");
        let seconds = run.timeline.as_ref().expect("timeline");
        let (mut demand, mut unserved) = (0.0, 0.0);
        let mut shortfalls = Vec::new();
        let (mut episodes, mut episode_secs, mut open): (u64, u64, Option<(u64, u64)>) = (0, 0, None);
        for x in seconds {
            let short = (x.demand - f64::from(x.vm_ready + x.burst_serving) * cpr).max(0.0);
            demand += x.demand;
            unserved += short;
            shortfalls.push(short / cpr);
            if short > 1e-9 {
                open = match open {
                    Some((start, last)) if x.t - last > 30 => {
                        episodes += 1;
                        episode_secs += last + 1 - start;
                        Some((x.t, x.t))
                    }
                    Some((start, _)) => Some((start, x.t)),
                    None => Some((x.t, x.t)),
                };
            }
        }
        if let Some((start, last)) = open {
            episodes += 1;
            episode_secs += last + 1 - start;
        }
        let f = &run.figures;
        let close = |got: f64, want: f64, what: &str| {
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{}: {what} {got} vs {want}",
                s.name()
            );
        };
        close(f.unserved_fraction, unserved / demand, "unserved");
        close(f.shortfall_replica_seconds, shortfalls.iter().sum(), "shortfall");
        assert!(episodes > 0, "{}: the peaks outgrow the pool", s.name());
        close(
            f.mean_time_to_recover_seconds,
            episode_secs as f64 / episodes as f64,
            "MTTR",
        );
        let mut sorted: Vec<f32> = shortfalls.iter().map(|v| *v as f32).collect();
        sorted.sort_by(f32::total_cmp);
        let rank = ((0.99 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        close(f.p99_shortfall_replicas, f64::from(sorted[rank]), "p99");
    }
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
