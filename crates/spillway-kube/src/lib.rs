//! Spillway's Kubernetes adapters (kube-rs): reflectors and the cluster
//! snapshot, policies from the `spillway` ConfigMap, the scale subresource,
//! EndpointSlices for burst replicas, decision Events, and leader election.
//!
//! Pure logic (object conversion, trimming, EndpointSlice bodies, RBAC
//! checking, event rate limiting) lives in modules without I/O; the kube-rs
//! calls are thin wrappers around them. Every call is listed in [`calls`].

pub mod calls;
pub mod compact;
pub mod convert;
pub mod endpoints;
pub mod events;
pub mod intern;
pub mod lease;
pub mod rbac;
pub mod reflectors;
pub mod refs;
pub mod scale;
pub mod selector;
pub mod snapshot;
pub mod trim;

/// A short label for a kube error, for metrics (`forbidden`, `conflict`, ...).
pub fn error_label(e: &kube::Error) -> &'static str {
    match e {
        kube::Error::Api(s) => match s.code {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            410 => "gone",
            422 => "invalid",
            429 => "throttled",
            500..=599 => "server_error",
            _ => "api_error",
        },
        kube::Error::Service(_) | kube::Error::HyperError(_) => "transport",
        _ => "other",
    }
}
pub mod config_source;
pub mod view;

pub use view::{KubeClusterView, ViewError};
