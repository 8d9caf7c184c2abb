//! What the planner knows of the cluster: nodes, the pods bound to them, and
//! the target workload's pods and template. Built by `spillway-kube` from
//! reflector stores, or by `spillway-sim` from its virtual cluster.

mod cluster;
#[cfg(test)]
mod tests;
mod update;

use std::{collections::BTreeMap, sync::Arc};

use serde::{Deserialize, Serialize};

pub use cluster::{ClusterSnapshot, NodeUsage};
pub use update::{Entry, UpdateError};

use crate::resources::Resources;
use crate::time::Timestamp;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

/// A pod toleration; `key: None` with `Exists` tolerates every taint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Toleration {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub operator: TolerationOperator,
    #[serde(default)]
    pub value: Option<String>,
    /// `None` matches every effect.
    #[serde(default)]
    pub effect: Option<TaintEffect>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeSelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSelectorRequirement {
    pub key: String,
    pub operator: NodeSelectorOperator,
    #[serde(default)]
    pub values: Vec<String>,
}

/// One term of `requiredDuringSchedulingIgnoredDuringExecution`: all
/// expressions must hold. `match_fields` supports `metadata.name` only, as in Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    #[serde(default)]
    pub match_expressions: Vec<NodeSelectorRequirement>,
    #[serde(default)]
    pub match_fields: Vec<NodeSelectorRequirement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LabelSelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    pub key: String,
    pub operator: LabelSelectorOperator,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: Labels,
    #[serde(default)]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// A required pod anti-affinity term. Only `kubernetes.io/hostname` as the
/// topology key is evaluated; other keys are reported by the capacity module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodAntiAffinityTerm {
    pub label_selector: LabelSelector,
    pub topology_key: String,
    /// Namespaces the selector applies to; empty means the pod's own namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// One `topologySpreadConstraints` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopologySpread {
    pub max_skew: u32,
    pub topology_key: String,
    /// `whenUnsatisfiable: DoNotSchedule`; `ScheduleAnyway` is a preference.
    pub hard: bool,
    pub label_selector: LabelSelector,
}

/// The scheduling-relevant part of the workload's pod template.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    pub namespace: String,
    #[serde(default)]
    pub labels: Labels,
    /// Effective requests: the sum over containers, raised to the largest init container.
    pub requests: Resources,
    #[serde(default)]
    pub node_selector: Labels,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    /// Required node affinity terms, ORed. Empty means no constraint.
    #[serde(default)]
    pub required_node_affinity: Vec<NodeSelectorTerm>,
    #[serde(default)]
    pub required_pod_anti_affinity: Vec<PodAntiAffinityTerm>,
    /// `topologySpreadConstraints`; the burst side honours those on
    /// `topology.kubernetes.io/zone` (plan::zones).
    #[serde(default)]
    pub topology_spread: Vec<TopologySpread>,
    /// Hash of the full template; a change rolls the burst replicas.
    pub hash: String,
}

/// A node and what is already bound to it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// The node's `Ready` condition is `True`.
    pub ready: bool,
    /// `spec.unschedulable` (cordoned).
    #[serde(default)]
    pub unschedulable: bool,
    pub allocatable: Resources,
    pub allocatable_pods: i64,
}

/// A non-terminal pod bound to a node, as far as scheduling cares.
///
/// The strings and the labels are shared (`Arc`): tens of thousands of pods
/// name a few thousand nodes, a few namespaces and, pods of one ReplicaSet
/// alike, far fewer label sets than pods, so a builder that interns them
/// keeps one copy of each. Cloning a pod copies no string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundPod {
    pub node: Arc<str>,
    pub namespace: Arc<str>,
    #[serde(default)]
    pub labels: Arc<Labels>,
    pub requests: Resources,
}

/// The label every node carries with its own name; left out of scheduling classes.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// Where one of the workload's VM pods stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmPodState {
    /// Ready condition true: serving.
    Ready,
    /// Scheduled on a node, not ready yet.
    Starting,
    /// Not scheduled. `unschedulable` is the scheduler's verdict from the
    /// `PodScheduled=False, reason=Unschedulable` condition.
    Pending { unschedulable: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VmPod {
    pub name: String,
    pub state: VmPodState,
    pub created_at: Timestamp,
}

/// The target Deployment as observed this tick. Terminating pods are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadStatus {
    /// `.spec.replicas` of the scale subresource now.
    pub spec_replicas: u32,
    pub pods: Vec<VmPod>,
    pub template: PodTemplate,
}
