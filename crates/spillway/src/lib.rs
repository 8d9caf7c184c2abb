//! The `spillway` program as a library: the controller loop and its
//! executor, telemetry, the HTTP endpoints and the subcommands. `main.rs`
//! is only the command line; benchmarks and tests use these modules directly.

pub mod config_file;
pub mod controller;
pub mod demo;
pub mod lease_args;
pub mod logging;
pub mod plan_cmd;
pub mod run;
pub mod server;
pub mod simulate;
pub mod telemetry;
pub mod validate;
