//! ARM client for `Microsoft.ContainerInstance` container groups
//! (api-version 2026-05-01), built against the official OpenAPI spec and the
//! contract in `../shared/aci-spec/CONTRACT.md`:
//!
//! * [`AciClient`]: create-or-update, get, delete, list (following
//!   `nextLink`), regional usages; long-running operations followed through
//!   `Azure-AsyncOperation`/`Location` to a terminal state with a deadline;
//! * [`AciError`]: the ARM error envelope mapped to kinds the planner acts on;
//! * retries with backoff and jitter only where safe, honouring a capped
//!   `Retry-After`; bounded read/write concurrency; per-request timeouts;
//!   a [`RequestObserver`] hook per HTTP attempt;
//! * pacing: the subscription's create/delete budget, exposed as
//!   [`spillway_core::burst::BurstHeadroom`];
//! * [`inventory`]: listed groups → `BurstReplica`s (our cluster tag only);
//! * [`translate`]: a Kubernetes pod template → a container-group body.

pub mod backend;
mod client;
pub mod config;
mod error;
mod headroom;
pub mod inventory;
mod lro;
pub mod model;
mod naming;
mod observer;
pub mod pacing;
pub mod pool_sync;
pub mod pools;
mod retry;
pub mod translate;
mod transport;
pub mod zones;

pub use client::{Accepted, AciClient, DeleteOutcome};
pub use config::{
    API_VERSION, ARM_ENDPOINT, AciConfig, LroPolicy, PacingLimits, RetryPolicy, STANDBY_POOL_API_VERSION,
};
pub use error::{AciError, classify, classify_operation};
pub use headroom::{burst_headroom, quota_headroom};
pub use lro::PollTarget;
pub use naming::name_problem;
pub use observer::{NoopObserver, Operation, RequestEvent, RequestObserver};
pub use retry::parse_retry_after;
pub use transport::WriteGate;
