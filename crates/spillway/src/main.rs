//! The `spillway` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod simulate;
mod validate;

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
    /// What-if on a load trace with the real planner, in virtual time, against the baselines.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Simulate(args) => simulate::run(args),
    }
}
