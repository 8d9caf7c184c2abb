//! Spillway's core: the policy model and its validation, HPA-style scaling,
//! the VM capacity fit, the spill planner and the cost model.
//!
//! Everything here is pure: no I/O, no clock, no randomness. The controller,
//! the simulator and the tests call [`plan::plan`]; nothing else decides.

pub mod aci;
pub mod burst;
pub mod capacity;
pub mod config;
pub mod cost;
pub mod forecast;
pub mod metrics;
pub mod plan;
pub mod quantity;
pub mod resources;
pub mod scaling;
pub mod snapshot;
pub mod standby;
pub mod time;

pub use plan::{Plan, PlanInput, PolicyState, plan};
