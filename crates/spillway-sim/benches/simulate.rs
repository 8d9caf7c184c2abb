//! `cargo bench -p spillway-sim --bench simulate`: wall time per strategy and
//! for the whole run as `spillway simulate` does it (strategies in parallel),
//! with the controller ticks run and skipped, against a baseline in the same
//! process: the same run stepping every second and ticking every interval
//! (`RunOptions::per_second`, which the shortcuts are tested equal to).
//!
//! Without arguments: the 7-day, 1,000-node benchmark scenario. With
//! `SPILLWAY_BENCH_TRACE=FILE` (e.g. the 5-year hourly trace `scripts/bench.sh`
//! writes to target/bench/): the default scenario on that trace, cut to
//! `SPILLWAY_BENCH_DURATION` (e.g. `90d`; default: the whole trace).

use std::path::{Path, PathBuf};
use std::time::Instant;

use spillway_sim::strategies::{Strategy, run_world};
use spillway_sim::{DemandOverrides, RunOptions, Scenario, Simulation};

fn main() {
    let sim = match load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let fast = RunOptions::default();
    let baseline = RunOptions {
        per_second: true,
        ..RunOptions::default()
    };
    println!(
        "{:<13} {:>9} {:>11} {:>11} {:>11} {:>8}",
        "strategy", "run s", "ticks run", "skipped", "baseline s", "speedup"
    );
    for s in [
        Strategy::Spillway,
        Strategy::VmOnly,
        Strategy::VirtualNode,
        Strategy::StaticPeak,
    ] {
        let t = Instant::now();
        let run = run_world(s, &sim, &fast, &|_| {});
        let secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let reference = run_world(s, &sim, &baseline, &|_| {});
        let base = t.elapsed().as_secs_f64();
        if reference.figures != run.figures {
            eprintln!("{}: the baseline's figures differ", s.name());
            std::process::exit(1);
        }
        println!(
            "{:<13} {:>9.2} {:>11} {:>11} {:>11.2} {:>7.1}x",
            s.name(),
            secs,
            run.ticks.run,
            run.ticks.skipped,
            base,
            base / secs.max(1e-9)
        );
    }
    let t = Instant::now();
    let outcome = sim.run(&fast, &|_| {});
    let wall = t.elapsed().as_secs_f64();
    println!(
        "all strategies (parallel): {wall:.2} s wall for {} simulated seconds ({:.0}× simulated time)",
        outcome.simulated_seconds,
        outcome.simulated_seconds as f64 / wall
    );
}

fn load() -> Result<Simulation, String> {
    let started = Instant::now();
    let sim = match std::env::var_os("SPILLWAY_BENCH_TRACE") {
        Some(trace) => {
            let trace = PathBuf::from(trace);
            let duration_secs = match std::env::var("SPILLWAY_BENCH_DURATION") {
                Ok(d) => Some(
                    humantime::parse_duration(&d)
                        .map_err(|e| format!("SPILLWAY_BENCH_DURATION={d}: {e}"))?
                        .as_secs(),
                ),
                Err(_) => None,
            };
            let o = DemandOverrides {
                trace: Some(&trace),
                peak_replicas: None,
                duration_secs,
            };
            Simulation::load(None, &o, None).map_err(|e| e.to_string())?
        }
        None => {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/scenarios/bench-7d-1000-nodes.yaml");
            let scenario = Scenario::from_file(&path).map_err(|e| e.to_string())?;
            Simulation::new(scenario, &DemandOverrides::default(), None).map_err(|e| e.to_string())?
        }
    };
    println!("demand built in {:.2} s", started.elapsed().as_secs_f64());
    Ok(sim)
}
