//! `cargo bench -p spillway-sim --bench simulate`: wall time of the 7-day,
//! 1,000-node benchmark scenario, per strategy and for the whole run as
//! `spillway simulate` does it (strategies in parallel).

use std::path::Path;
use std::time::Instant;

use spillway_sim::strategies::{Strategy, run_world};
use spillway_sim::{DemandOverrides, RunOptions, Scenario, Simulation};

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/scenarios/bench-7d-1000-nodes.yaml");
    let scenario = match Scenario::from_file(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let started = Instant::now();
    let sim = match Simulation::new(scenario, &DemandOverrides::default(), None) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    println!("demand built in {:.2} s", started.elapsed().as_secs_f64());
    let opts = RunOptions::default();
    for s in [
        Strategy::Spillway,
        Strategy::VmOnly,
        Strategy::VirtualNode,
        Strategy::StaticPeak,
    ] {
        let t = Instant::now();
        let run = run_world(s, &sim, &opts, &|_| {});
        println!(
            "{:<13} {:>6.2} s  ({} decisions)",
            s.name(),
            t.elapsed().as_secs_f64(),
            run.figures.decisions
        );
    }
    let t = Instant::now();
    let outcome = sim.run(&opts, &|_| {});
    let wall = t.elapsed().as_secs_f64();
    println!(
        "all strategies (parallel): {wall:.2} s wall for {} simulated seconds ({:.0}× simulated time)",
        outcome.simulated_seconds,
        outcome.simulated_seconds as f64 / wall
    );
}
