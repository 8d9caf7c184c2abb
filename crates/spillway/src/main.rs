//! The `spillway` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(feature = "demo")]
use spillway::demo;
#[cfg(feature = "simulate")]
use spillway::simulate;
use spillway::{plan_cmd, run, validate};

// The simulator's controller ticks allocate small strings and vectors tens
// of millions of times on a long trace; mimalloc runs them faster than
// glibc's malloc (README, Performance: Simulator: scale). The controller-only
// image (built without `simulate`) keeps the system allocator.
#[cfg(feature = "simulate")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Spillway: scale a workload on its VM nodes and spill what does not fit into Azure Container Instances.
#[derive(Debug, Parser)]
#[command(name = "spillway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lint configuration documents offline: exit 0 if valid, 1 if not, 2 if unreadable.
    Validate(validate::ValidateArgs),
    #[cfg(feature = "simulate")]
    /// What-if on a load trace with the real planner, in virtual time, against the baselines.
    Simulate(simulate::SimulateArgs),
    /// The controller: watch, plan, scale and burst (needs a cluster and Azure).
    Run(run::RunArgs),
    /// One planning pass against the live cluster; prints what would happen and why. No writes.
    Plan(plan_cmd::PlanArgs),
    #[cfg(feature = "demo")]
    /// Everything local: the ACI emulator, a simulated cluster, a replayed demand, the real controller loop and /metrics.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        #[cfg(feature = "simulate")]
        Command::Simulate(args) => simulate::run(args),
        Command::Run(args) => block_on(run::run(args)),
        Command::Plan(args) => block_on(plan_cmd::run(args)),
        #[cfg(feature = "demo")]
        Command::Demo(args) => block_on(demo::run(args)),
    }
}

/// The async commands' edge: one runtime, errors printed with their causes.
fn block_on(f: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
