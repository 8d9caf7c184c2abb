//! The controller loop, written once against three seams (see
//! `docs/architecture.md`): [`ClusterView`] (the cluster: snapshot, scale,
//! EndpointSlices, Events), [`MetricSource`] (one metric of one policy) and
//! [`BurstBackend`] (container groups). `spillway run` plugs in kube-rs,
//! Prometheus and ARM; `spillway demo` a simulated cluster and the ACI
//! emulator; the simulator (`spillway-sim`) its in-memory world, in virtual
//! time. All of them run this crate's [`Controller::tick`], so the
//! simulator's figures describe the controller that ships.
//!
//! Every decision comes from `spillway_core::plan`; this crate only gathers
//! its inputs, carries its output out and reports.

pub mod clock;
mod controller;
mod execute;
pub mod inventory;
pub mod leader;
pub mod replay;
pub mod seams;
mod standby;
pub mod standby_metrics;
pub mod status;
pub mod telemetry;
mod tick;
mod zones;

pub use clock::{Clock, ManualClock, system_clock};
pub use controller::{Controller, ControllerOptions, Parts, PolicyRuntime, Rebuild};
pub use leader::{GateState, LeaderGate};
pub use seams::burst::{BurstBackend, CreateRequest, ListedGroup, ZonesAnswer};
pub use seams::cluster::{BurstEndpoint, ClusterBuild, ClusterView, Disabled, TemplateRefs, Workload};
pub use seams::metrics::{MetricRequest, MetricSource, SourceKind};
pub use seams::pool::{PoolKeep, PoolObserved, PoolSync, StandbyClaim};
pub use seams::zones::ZoneCache;
pub use seams::{SeamError, Swappable};
pub use tick::TickError;
