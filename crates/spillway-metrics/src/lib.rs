//! Spillway's metric sources: what the controller sees of the world.
//!
//! * [`prometheus`]: the Prometheus HTTP API (instant and range queries,
//!   authentication, TLS, size limits), with a pure, streaming response parser.
//! * [`resource`]: metrics.k8s.io pod metrics classified as the HPA does.
//! * [`source`]: the [`MetricSource`] seam (DESIGN.md §9) that the controller
//!   and the simulator plug implementations into.
//! * [`poller`]: every policy's metrics on its interval, with jitter, a
//!   concurrency bound and a timeout per fetch, producing the
//!   `MetricSample`s that `spillway_core::plan` consumes.
//!
//! A reading that cannot be taken is a typed [`SourceError`], turned into
//! `MetricReading::Missing` by the poller: never a number.

pub mod error;
pub mod poller;
pub mod prometheus;
pub mod resource;
pub mod source;

pub use error::SourceError;
pub use poller::{Clock, PollHooks, PolledSamples, Poller, PollerOptions, SystemClock};
pub use source::{MetricRequest, MetricSource, SourceKind, Sources};
