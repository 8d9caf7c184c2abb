//! `spillway simulate`: placeholder until the simulator lands (issue 3).

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {}

pub fn run(_args: SimulateArgs) -> ExitCode {
    eprintln!("spillway simulate is not built yet (issue 3)");
    ExitCode::from(2)
}
