//! `spillway simulate`: what-if on a load trace with the real planner, in
//! virtual time, against the baselines (issue 3).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use spillway_core::config::{SizeFrom, StandbyPool};
use spillway_sim::{DemandOverrides, RunOptions, Simulation};

/// Where the report goes when `--report` is not given.
const DEFAULT_REPORT: &str = "spillway-report.html";

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Scenario file (YAML). Default: the embedded default scenario (a day with a flash crowd).
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Replace the scenario's demand with a `t_seconds,value` CSV (values are arrivals per interval).
    #[arg(long, value_name = "CSV")]
    trace: Option<PathBuf>,
    /// Scale the demand so that its peak needs N ready replicas (with --trace, default: 2.5× the initial VM pool).
    #[arg(long, value_name = "N")]
    peak_replicas: Option<String>,
    /// Simulate at most this long (e.g. 6h, 7d, or seconds).
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Random seed (ACI and node latencies, failures, synthetic noise). Default: the scenario's.
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the HTML report here (default: spillway-report.html in the current directory).
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Also run `spillway-standby`: the policy with an ACI standby pool of
    /// N ready instances (`N`, sizeFrom fixed) or sized from the forecast up
    /// to N (`forecast:N`; needs the policy's predict on).
    #[arg(long, value_name = "N|forecast:N")]
    standby_pool: Option<String>,
}

pub fn run(args: SimulateArgs) -> ExitCode {
    match simulate(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn simulate(args: &SimulateArgs) -> Result<()> {
    let peak_replicas = match &args.peak_replicas {
        None => None,
        Some(raw) => {
            let n: f64 = raw
                .trim()
                .parse()
                .with_context(|| format!("--peak-replicas {raw:?} is not a number"))?;
            if !(n.is_finite() && n > 0.0) {
                bail!("--peak-replicas {raw} must be a number above 0");
            }
            Some(n)
        }
    };
    let duration_secs = match &args.duration {
        None => None,
        Some(raw) => Some(parse_duration(raw)?),
    };
    let overrides = DemandOverrides {
        trace: args.trace.as_deref(),
        peak_replicas,
        duration_secs,
    };
    let mut sim = Simulation::load(args.scenario.as_deref(), &overrides, args.seed)?;
    if let Some(raw) = &args.standby_pool {
        sim.standby = Some(standby_pool(raw, &sim)?);
    }
    let seconds = sim.demand.len() as u64;
    let strategies_with_world = if sim.standby.is_some() { 5 } else { 4 };
    let bar = (std::io::stdout().is_terminal() && seconds >= 2 * 86_400).then(|| {
        let b = ProgressBar::new(seconds * strategies_with_world);
        if let Ok(style) = ProgressStyle::with_template("{spinner} simulating [{bar:40}] {percent}% {eta}") {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    let started = Instant::now();
    let outcome = sim.run(&RunOptions::default(), &|n| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let wall = started.elapsed().as_secs_f64();

    println!(
        "scenario {} (seed {}): {} simulated seconds ({:.2} days), demand: {}",
        outcome.scenario,
        outcome.seed,
        outcome.simulated_seconds,
        outcome.simulated_seconds as f64 / 86_400.0,
        outcome.demand_source
    );
    println!();
    print!("{}", outcome.table());
    println!();
    println!("{}", outcome.verdict());
    println!(
        "simulated in {wall:.2} s wall, all strategies ({:.0}× simulated time)",
        outcome.simulated_seconds as f64 / wall.max(1e-9)
    );
    if let Some(path) = &args.json {
        write(path, outcome.json_string().as_bytes())?;
        println!("figures written to {}", path.display());
    }
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_REPORT));
    let html = spillway_sim::report::render(&outcome)?;
    write(&report_path, html.as_bytes())?;
    println!("report written to {}", report_path.display());
    Ok(())
}

/// `--standby-pool N` or `forecast:N`.
fn standby_pool(raw: &str, sim: &Simulation) -> Result<StandbyPool> {
    let policy = &sim.scenario.policy;
    let Some(burst) = &policy.burst else {
        bail!("--standby-pool needs a policy with burst enabled");
    };
    // As `burst.standbyPool` in a policy (config validation says why).
    if burst.dns.is_some() || burst.zones_auto || !burst.zones.is_empty() {
        bail!("--standby-pool cannot be combined with the scenario policy's burst.dns or burst.zones");
    }
    let (size_from, cap) = match raw.trim().split_once(':') {
        Some(("forecast", n)) => (SizeFrom::Forecast, n),
        None => (SizeFrom::Fixed, raw.trim()),
        Some(_) => bail!("--standby-pool {raw:?}: expected N or forecast:N"),
    };
    let cap: u32 = cap
        .parse()
        .with_context(|| format!("--standby-pool {raw:?}: {cap:?} is not a count"))?;
    if cap > spillway_core::config::standby::MAX_READY_CAPACITY {
        bail!("--standby-pool {raw}: more than the service's maximum of 2000");
    }
    if size_from == SizeFrom::Forecast && !policy.predict.enabled() {
        bail!("--standby-pool forecast:N needs the scenario policy's predict (mode report or act)");
    }
    Ok(StandbyPool {
        name: spillway_core::config::standby::default_pool_name(&policy.cluster_id, &policy.name),
        max_ready_capacity: cap,
        size_from,
        floor: Vec::new(),
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn parse_duration(raw: &str) -> Result<u64> {
    let raw = raw.trim();
    let secs = match raw.parse::<f64>() {
        Ok(s) => s,
        Err(_) => humantime::parse_duration(raw)
            .with_context(|| format!("--duration {raw:?} is not a duration (like 90m, 6h, 7d, or seconds)"))?
            .as_secs_f64(),
    };
    if !(secs.is_finite() && secs >= 1.0) {
        bail!("--duration {raw} must be at least 1s");
    }
    Ok(secs as u64)
}
