//! Spillway's metric sources: what the controller sees of the world.
//!
//! * [`prometheus`]: the Prometheus HTTP API (instant and range queries,
//!   authentication, TLS, size limits), with a pure, streaming response parser.
//! * [`resource`]: metrics.k8s.io pod metrics classified as the HPA does.
//! * [`source`]: [`Sources`], the real implementation of the controller's
//!   `MetricSource` seam (`spillway_controller`, docs/architecture.md). The
//!   controller's tick reads every metric through it, with a timeout and a
//!   concurrency bound, and turns a failure into `MetricReading::Missing`.
//!
//! A reading that cannot be taken is a typed [`SourceError`]: never a number.

pub mod error;
pub mod prometheus;
pub mod resource;
pub mod source;

pub use error::SourceError;
pub use source::{MetricRequest, MetricSource, SourceKind, Sources};
