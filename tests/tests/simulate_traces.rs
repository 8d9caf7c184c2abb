//! Replays the first day of every shared trace (`../shared/traces/*.csv`,
//! relative to the repository root) through every strategy. The traces are
//! not part of the repository: when they are absent this test says so and
//! checks nothing (under `CI=true`, where they are always present, it fails).

use std::path::PathBuf;

use spillway_sim::{DemandOverrides, RunOptions, Scenario, Simulation, Strategy};

fn traces_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces")
}

#[test]
fn every_shared_trace_replays_with_sane_figures() {
    let dir = traces_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the shared traces are missing at {}",
            dir.display()
        );
        eprintln!(
            "SKIPPED: shared traces not found at {} (they live next to the repository, not in it)",
            dir.display()
        );
        return;
    };
    let mut traces: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    traces.sort();
    assert!(!traces.is_empty(), "{} holds no *.csv", dir.display());
    for trace in traces {
        let scenario = Scenario::embedded_default().expect("default scenario");
        let o = DemandOverrides {
            trace: Some(&trace),
            peak_replicas: None,
            duration_secs: Some(86_400),
        };
        let sim = Simulation::new(scenario, &o, None).unwrap_or_else(|e| panic!("{}: {e}", trace.display()));
        let outcome = sim.run(&RunOptions::default(), &|_| {});
        let oracle = outcome.get(Strategy::Oracle).expect("oracle").figures.cost_total;
        for r in &outcome.runs {
            let f = &r.figures;
            assert!(f.unserved_fraction.is_finite() && (0.0..=1.0).contains(&f.unserved_fraction));
            if f.unserved_fraction == 0.0 {
                assert!(
                    f.cost_total + 1e-9 >= oracle,
                    "{}: {} below the oracle",
                    trace.display(),
                    r.strategy.name()
                );
            }
        }
        assert_eq!(
            outcome
                .get(Strategy::VmOnly)
                .expect("vm-only")
                .figures
                .container_groups_created,
            0
        );
        eprintln!("{}: {}", trace.display(), outcome.verdict());
    }
}
