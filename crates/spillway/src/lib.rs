//! The `spillway` program as a library: the subcommands, the HTTP
//! endpoints and the wiring of the real seams into the controller loop of
//! `spillway-controller` (docs/architecture.md). `main.rs` is only the
//! command line; benchmarks and tests use these modules directly.

pub mod aci_telemetry;
pub mod config_file;
#[cfg(feature = "demo")]
pub mod demo;
pub mod lease_args;
pub mod logging;
pub mod plan_cmd;
pub mod run;
pub mod server;
#[cfg(feature = "simulate")]
pub mod simulate;
pub mod validate;
