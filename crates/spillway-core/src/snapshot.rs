//! What the planner knows of the cluster: nodes, the pods bound to them, and
//! the target workload's pods and template. Built by `spillway-kube` from
//! reflector stores, or by `spillway-sim` from its virtual cluster.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoundPod {
    pub node: String,
    pub namespace: String,
    #[serde(default)]
    pub labels: Labels,
    pub requests: Resources,
}

/// A node with the sums of what its pods request, precomputed once per snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUsage {
    pub node: NodeInfo,
    pub requested: Resources,
    pub pod_count: i64,
    /// Indices into [`ClusterSnapshot::pods`] of the pods bound here.
    pub pods: Vec<usize>,
}

/// The label every node carries with its own name; left out of scheduling classes.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// A node's free amounts (allocatable minus requested, saturating, possibly
/// negative when overcommitted), laid out compactly for the capacity fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct NodeFree {
    pub(crate) cpu_millis: i64,
    pub(crate) memory_bytes: i64,
    pub(crate) ephemeral_storage_bytes: i64,
    pub(crate) pods: i64,
}

/// All nodes with their bound pods. Shared by every policy in a tick.
///
/// Besides the per-node sums, `new` precomputes what the capacity fit needs to
/// stay cheap when called once per policy: a scheduling class per node (nodes
/// with the same labels other than the hostname, the same taints and the same
/// status are indistinguishable to label and taint rules), a compact array of
/// free resources, and the bound pods grouped by namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSnapshot {
    nodes: Vec<NodeUsage>,
    pods: Vec<BoundPod>,
    /// Scheduling class of each node, indexing `class_representatives`.
    node_class: Vec<u32>,
    /// One node index per scheduling class.
    class_representatives: Vec<usize>,
    /// Free resources of each node, parallel to `nodes`.
    free: Vec<NodeFree>,
    /// Node index of each pod, parallel to `pods`; `None` for unknown nodes.
    pod_node: Vec<Option<u32>>,
    /// Indices of the pods bound to known nodes, per namespace.
    pods_by_namespace: BTreeMap<String, Vec<usize>>,
}

/// What makes two nodes interchangeable for label, taint and status rules.
type ClassKey<'a> = (Vec<(&'a str, &'a str)>, &'a [Taint], bool, bool);

impl ClusterSnapshot {
    /// Aggregates pod requests per node. Pods bound to unknown nodes are
    /// ignored: a node that has gone has no room to offer.
    pub fn new(nodes: Vec<NodeInfo>, pods: Vec<BoundPod>) -> Self {
        let index: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();

        let mut classes: HashMap<ClassKey<'_>, u32> = HashMap::new();
        let mut class_representatives = Vec::new();
        let node_class: Vec<u32> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let labels = n
                    .labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != HOSTNAME_LABEL)
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let key = (labels, n.taints.as_slice(), n.ready, n.unschedulable);
                *classes.entry(key).or_insert_with(|| {
                    class_representatives.push(i);
                    u32::try_from(class_representatives.len() - 1).unwrap_or(u32::MAX)
                })
            })
            .collect();
        drop(classes);

        let mut pod_node = Vec::with_capacity(pods.len());
        let mut pods_by_namespace: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut per_node: Vec<(Resources, i64, Vec<usize>)> =
            vec![(Resources::default(), 0, Vec::new()); nodes.len()];
        for (pi, pod) in pods.iter().enumerate() {
            match index.get(pod.node.as_str()) {
                Some(&ni) => {
                    let u = &mut per_node[ni];
                    u.0.add_assign(&pod.requests);
                    u.1 += 1;
                    u.2.push(pi);
                    pod_node.push(u32::try_from(ni).ok());
                    if let Some(v) = pods_by_namespace.get_mut(pod.namespace.as_str()) {
                        v.push(pi);
                    } else {
                        pods_by_namespace.insert(pod.namespace.clone(), vec![pi]);
                    }
                }
                None => pod_node.push(None),
            }
        }
        drop(index);

        let mut free = Vec::with_capacity(nodes.len());
        let usage: Vec<NodeUsage> = nodes
            .into_iter()
            .zip(per_node)
            .map(|(node, (requested, pod_count, pods))| {
                free.push(NodeFree {
                    cpu_millis: node.allocatable.cpu_millis.saturating_sub(requested.cpu_millis),
                    memory_bytes: node
                        .allocatable
                        .memory_bytes
                        .saturating_sub(requested.memory_bytes),
                    ephemeral_storage_bytes: node
                        .allocatable
                        .ephemeral_storage_bytes
                        .saturating_sub(requested.ephemeral_storage_bytes),
                    pods: node.allocatable_pods.saturating_sub(pod_count),
                });
                NodeUsage {
                    node,
                    requested,
                    pod_count,
                    pods,
                }
            })
            .collect();

        ClusterSnapshot {
            nodes: usage,
            pods,
            node_class,
            class_representatives,
            free,
            pod_node,
            pods_by_namespace,
        }
    }

    /// The nodes and pods this snapshot was built from, in their order,
    /// without copying them. For a caller that builds the next snapshot with
    /// few changes: it can move the unchanged entries into the next
    /// [`ClusterSnapshot::new`] instead of cloning them.
    pub fn into_parts(self) -> (Vec<NodeInfo>, Vec<BoundPod>) {
        (self.nodes.into_iter().map(|u| u.node).collect(), self.pods)
    }

    pub fn nodes(&self) -> &[NodeUsage] {
        &self.nodes
    }
    pub fn pods(&self) -> &[BoundPod] {
        &self.pods
    }

    /// Scheduling class of each node, parallel to [`Self::nodes`].
    pub(crate) fn node_classes(&self) -> &[u32] {
        &self.node_class
    }
    /// One representative node index per scheduling class.
    pub(crate) fn class_representatives(&self) -> &[usize] {
        &self.class_representatives
    }
    /// Free resources per node, parallel to [`Self::nodes`].
    pub(crate) fn free(&self) -> &[NodeFree] {
        &self.free
    }
    /// Node index of the pod at `pod` in [`Self::pods`], if its node is known.
    pub(crate) fn pod_node(&self, pod: usize) -> Option<usize> {
        self.pod_node.get(pod).copied().flatten().map(|n| n as usize)
    }
    /// Indices of the pods in `namespace` bound to known nodes.
    pub(crate) fn pods_in_namespace(&self, namespace: &str) -> &[usize] {
        self.pods_by_namespace.get(namespace).map_or(&[], Vec::as_slice)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn into_parts_gives_back_the_inputs_in_order() {
        let nodes = vec![
            NodeInfo {
                name: "a".into(),
                ..Default::default()
            },
            NodeInfo {
                name: "b".into(),
                ..Default::default()
            },
        ];
        let pods = vec![
            BoundPod {
                node: "b".into(),
                namespace: "ns".into(),
                ..Default::default()
            },
            BoundPod {
                node: "gone".into(),
                namespace: "ns".into(),
                ..Default::default()
            },
        ];
        let snapshot = ClusterSnapshot::new(nodes.clone(), pods.clone());
        assert_eq!(snapshot.into_parts(), (nodes, pods));
    }
}
