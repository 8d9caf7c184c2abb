//! The `ClusterView` seam: everything the controller reads from and writes
//! to the cluster. The template type is the adapter's: kube-rs and the demo
//! carry a Kubernetes `PodTemplateSpec` through to the ARM translation, the
//! simulator carries nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use spillway_core::config::TargetRef;
use spillway_core::plan::Plan;
use spillway_core::snapshot::{ClusterSnapshot, WorkloadStatus};

use super::SeamError;

/// The nodes and bound pods, shared by every policy this tick, and what was
/// left out of them (`Node/<name>: reason`).
#[derive(Debug, Clone, Default)]
pub struct ClusterBuild {
    pub snapshot: Arc<ClusterSnapshot>,
    pub skipped: Vec<String>,
}

/// The target as one consistent read: its status for the planner and the
/// template the status's `template.hash` was computed from, so a create never
/// puts a newer template under an older hash.
#[derive(Debug, Clone)]
pub struct Workload<T> {
    /// Shared: a simulated or cached status need not be copied every tick.
    pub status: Arc<WorkloadStatus>,
    pub template: Arc<T>,
}

/// The Secrets and ConfigMaps a pod template references, read on demand:
/// decoded Secret data (bytes) and ConfigMap data, by object name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRefs {
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
}

/// One burst replica in the policy's EndpointSlice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurstEndpoint {
    /// Container group name.
    pub name: String,
    pub ip: String,
    /// Running and ready.
    pub ready: bool,
    /// Being drained before deletion.
    pub draining: bool,
}

/// Why a policy cannot act this tick. The policy is disabled; others are not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Disabled {
    #[error("target {kind} {namespace}/{name} does not exist")]
    TargetMissing {
        kind: String,
        namespace: String,
        name: String,
    },
    #[error("target kind {0:?} is not supported (only Deployment)")]
    UnsupportedKind(String),
    #[error("HorizontalPodAutoscaler {namespace}/{hpa} also scales the target; remove it or the policy")]
    ScaledByHpa { namespace: String, hpa: String },
    #[error("target {namespace}/{name} has no selector")]
    NoSelector { namespace: String, name: String },
    #[error("pod template of {namespace}/{name}: {reason}")]
    Template {
        namespace: String,
        name: String,
        reason: String,
    },
}

impl Disabled {
    /// A short, stable label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Disabled::TargetMissing { .. } => "target_missing",
            Disabled::UnsupportedKind(_) => "unsupported_kind",
            Disabled::ScaledByHpa { .. } => "scaled_by_hpa",
            Disabled::NoSelector { .. } => "no_selector",
            Disabled::Template { .. } => "template",
        }
    }
}

/// Reads and writes of the cluster. Writes are fenced by the implementation
/// (it holds the same [`crate::LeaderGate`]) and answer
/// [`SeamError::not_leader`] when the gate is closed.
pub trait ClusterView: Send + Sync {
    /// What a create translates into a container group.
    type Template: Send + Sync + 'static;

    /// All initial lists are synced; planning before would see an empty cluster.
    fn ready(&self) -> bool;
    fn snapshot(&self) -> ClusterBuild;
    /// The target's replicas, pods and template, or why the policy is disabled.
    fn workload(&self, target: &TargetRef) -> Result<Workload<Self::Template>, Disabled>;
    /// The ClusterIP of a Service (`burst.dns` without a `nameServer`
    /// reads the cluster DNS Service's). `None`: absent or headless, or a
    /// view that sees no Services.
    fn service_cluster_ip(&self, _namespace: &str, _name: &str) -> Option<String> {
        None
    }
    /// The Secrets and ConfigMaps the template references.
    fn resolve_refs<'a>(
        &'a self,
        namespace: &'a str,
        template: &'a Self::Template,
    ) -> BoxFuture<'a, Result<TemplateRefs, SeamError>>;
    /// Sets the target's replicas if they differ.
    fn scale<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>>;
    /// Publishes the policy's EndpointSlice for `service`.
    fn publish_endpoints<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        service: &'a str,
        endpoints: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<(), SeamError>>;
    /// Removes the policy's EndpointSlice; false if there was none.
    fn remove_endpoints<'a>(
        &'a self,
        policy: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<bool, SeamError>>;
    /// Publishes the plan's decisions as Events on the target (rate-limited
    /// by the implementation).
    fn record<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<(), SeamError>>;
}
