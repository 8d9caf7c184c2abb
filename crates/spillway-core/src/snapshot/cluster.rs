//! [`ClusterSnapshot`]: the nodes, the pods bound to them, and what the
//! capacity fit precomputes from both.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use super::{BoundPod, HOSTNAME_LABEL, NodeInfo, Taint};
use crate::resources::Resources;

/// A node with the sums of what its pods request, precomputed once per snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUsage {
    pub node: NodeInfo,
    pub requested: Resources,
    pub pod_count: i64,
    /// Indices into [`ClusterSnapshot::pods`] of the pods bound here, ascending.
    pub pods: Vec<usize>,
}

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
///
/// [`ClusterSnapshot::update`] builds the next snapshot from this one and
/// the entries that changed; the result is equal to `new` over the same
/// nodes and pods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterSnapshot {
    pub(super) nodes: Vec<NodeUsage>,
    pub(super) pods: Vec<BoundPod>,
    /// Scheduling class of each node, indexing `class_representatives`.
    pub(super) node_class: Vec<u32>,
    /// One node index per scheduling class.
    pub(super) class_representatives: Vec<usize>,
    /// Free resources of each node, parallel to `nodes`.
    pub(super) free: Vec<NodeFree>,
    /// Node index of each pod, parallel to `pods`; `None` for unknown nodes.
    pub(super) pod_node: Vec<Option<u32>>,
    /// Indices of the pods bound to known nodes, per namespace, ascending.
    pub(super) pods_by_namespace: BTreeMap<Arc<str>, Vec<usize>>,
}

/// What makes two nodes interchangeable for label, taint and status rules.
type ClassKey<'a> = (Vec<(&'a str, &'a str)>, &'a [Taint], bool, bool);

/// `pod_ns` value of a pod bound to no known node.
pub(super) const NO_NAMESPACE: u32 = u32::MAX;

/// The scheduling class of each node and one representative node per class,
/// numbered in order of first appearance.
pub(super) fn classes(nodes: &[NodeInfo]) -> (Vec<u32>, Vec<usize>) {
    let mut classes: HashMap<ClassKey<'_>, u32> = HashMap::new();
    let mut representatives = Vec::new();
    let node_class = nodes
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
                representatives.push(i);
                u32::try_from(representatives.len() - 1).unwrap_or(u32::MAX)
            })
        })
        .collect();
    (node_class, representatives)
}

/// Node name to index. When names repeat the last node wins, so a pod's
/// node is the same whichever way it was found; the flag says whether they do.
pub(super) fn name_index(nodes: &[NodeInfo]) -> (HashMap<&str, u32>, bool) {
    let mut index = HashMap::with_capacity(nodes.len());
    let mut unique = true;
    for (i, n) in nodes.iter().enumerate() {
        let Ok(i) = u32::try_from(i) else { break };
        unique &= index.insert(n.name.as_str(), i).is_none();
    }
    (index, unique)
}

/// Namespace ids: names in order of first use, with a lookup by name.
#[derive(Default)]
pub(super) struct Namespaces {
    pub(super) names: Vec<Arc<str>>,
    /// Emptied lists to fill again, parallel to `names` (may be shorter).
    pub(super) lists: Vec<Vec<usize>>,
    ids: HashMap<Arc<str>, u32>,
}

impl Namespaces {
    /// Starts from known names, with their (cleared) lists to reuse.
    pub(super) fn from_lists(names: Vec<Arc<str>>, lists: Vec<Vec<usize>>) -> Self {
        let ids = names
            .iter()
            .enumerate()
            .filter_map(|(k, n)| Some((n.clone(), u32::try_from(k).ok()?)))
            .collect();
        Namespaces { names, lists, ids }
    }

    pub(super) fn id(&mut self, name: &Arc<str>) -> u32 {
        if let Some(&id) = self.ids.get(&**name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(NO_NAMESPACE);
        self.names.push(name.clone());
        self.ids.insert(name.clone(), id);
        id
    }
}

/// The resolved inputs of a snapshot: every pod's node index and namespace
/// id are known; the sums and the lists are left to [`Parts::assemble`].
pub(super) struct Parts {
    pub(super) nodes: Vec<NodeInfo>,
    /// Per node, an emptied list to fill again (may be shorter than `nodes`).
    pub(super) node_lists: Vec<Vec<usize>>,
    pub(super) node_class: Vec<u32>,
    pub(super) class_representatives: Vec<usize>,
    pub(super) pods: Vec<BoundPod>,
    pub(super) pod_node: Vec<Option<u32>>,
    /// Namespace id of each pod bound to a known node, else [`NO_NAMESPACE`].
    pub(super) pod_ns: Vec<u32>,
    pub(super) namespaces: Namespaces,
}

impl Parts {
    /// Sums the requests per node and lists the pods per node and per
    /// namespace, in pod order. The one place both `new` and `update` build
    /// a snapshot, so they cannot differ.
    pub(super) fn assemble(self) -> ClusterSnapshot {
        let Parts {
            nodes,
            mut node_lists,
            node_class,
            class_representatives,
            pods,
            pod_node,
            pod_ns,
            namespaces,
        } = self;
        node_lists.resize_with(nodes.len(), Vec::new);
        let mut requested = vec![(Resources::default(), 0i64); nodes.len()];
        let Namespaces { names, mut lists, .. } = namespaces;
        lists.resize_with(names.len(), Vec::new);
        for (pi, (pod, (node, ns))) in pods.iter().zip(pod_node.iter().zip(&pod_ns)).enumerate() {
            let Some(ni) = node.map(|n| n as usize) else {
                continue;
            };
            if let (Some(sum), Some(list)) = (requested.get_mut(ni), node_lists.get_mut(ni)) {
                sum.0.add_assign(&pod.requests);
                sum.1 += 1;
                list.push(pi);
            }
            if let Some(list) = lists.get_mut(*ns as usize) {
                list.push(pi);
            }
        }
        let pods_by_namespace = names
            .into_iter()
            .zip(lists)
            .filter(|(_, list)| !list.is_empty())
            .collect();

        let mut free = Vec::with_capacity(nodes.len());
        let nodes = nodes
            .into_iter()
            .zip(requested)
            .zip(node_lists)
            .map(|((node, (requested, pod_count)), pods)| {
                free.push(free_of(&node, &requested, pod_count));
                NodeUsage {
                    node,
                    requested,
                    pod_count,
                    pods,
                }
            })
            .collect();
        ClusterSnapshot {
            nodes,
            pods,
            node_class,
            class_representatives,
            free,
            pod_node,
            pods_by_namespace,
        }
    }
}

fn free_of(node: &NodeInfo, requested: &Resources, pod_count: i64) -> NodeFree {
    let a = &node.allocatable;
    NodeFree {
        cpu_millis: a.cpu_millis.saturating_sub(requested.cpu_millis),
        memory_bytes: a.memory_bytes.saturating_sub(requested.memory_bytes),
        ephemeral_storage_bytes: a
            .ephemeral_storage_bytes
            .saturating_sub(requested.ephemeral_storage_bytes),
        pods: node.allocatable_pods.saturating_sub(pod_count),
    }
}

impl ClusterSnapshot {
    /// Aggregates pod requests per node. Pods bound to unknown nodes are
    /// ignored: a node that has gone has no room to offer.
    pub fn new(nodes: Vec<NodeInfo>, pods: Vec<BoundPod>) -> Self {
        let (node_class, class_representatives) = classes(&nodes);
        let mut namespaces = Namespaces::default();
        let (pod_node, pod_ns) = {
            let (index, _) = name_index(&nodes);
            pods.iter()
                .map(|pod| match index.get(&*pod.node) {
                    Some(&ni) => (Some(ni), namespaces.id(&pod.namespace)),
                    None => (None, NO_NAMESPACE),
                })
                .unzip()
        };
        Parts {
            nodes,
            node_lists: Vec::new(),
            node_class,
            class_representatives,
            pods,
            pod_node,
            pod_ns,
            namespaces,
        }
        .assemble()
    }

    /// The nodes and pods this snapshot was built from, in their order,
    /// without copying them.
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
