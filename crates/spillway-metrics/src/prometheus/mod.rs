//! The Prometheus HTTP API: client (I/O), response parsing and reduction (pure).

pub mod auth;
pub mod client;
pub mod parse;
pub mod reduce;

pub use auth::{Auth, SecretFile};
pub use client::{PrometheusClient, PrometheusOptions, TlsOptions};
pub use parse::{InstantData, Limits, Parsed, RangeData, RangeSeries, Sample, VectorStats};
pub use reduce::Freshness;
