//! [`ClusterSnapshot::update`]: the next snapshot from the previous one and
//! what changed, without resolving every pod's node and namespace by name
//! again or copying an unchanged entry.
//!
//! Re-aggregating the per-node sums is kept (integer additions over the
//! pods, no hashing): subtracting a changed pod's old request instead would
//! not give back what `new` computes once a saturating sum has saturated.

use std::collections::HashMap;

use super::{
    BoundPod, ClusterSnapshot, NodeInfo,
    cluster::{NO_NAMESPACE, Namespaces, NodeUsage, Parts, classes, name_index},
};

/// Where an entry of the next snapshot comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<T> {
    /// The entry at this index of the snapshot being updated, unchanged.
    Kept(usize),
    /// A new or changed entry.
    New(T),
}

/// An update naming entries the snapshot does not have. The snapshot is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("kept node {index} is not in the snapshot, which has {len} nodes")]
    NoSuchNode { index: usize, len: usize },
    #[error("node {0} is kept twice")]
    NodeKeptTwice(usize),
    #[error("kept pod {index} is not in the snapshot, which has {len} pods")]
    NoSuchPod { index: usize, len: usize },
    #[error("pod {0} is kept twice")]
    PodKeptTwice(usize),
}

/// Checks that every kept index exists and is kept once.
fn check<T>(
    entries: &[Entry<T>],
    len: usize,
    missing: impl Fn(usize) -> UpdateError,
    twice: impl Fn(usize) -> UpdateError,
) -> Result<(), UpdateError> {
    let mut seen = vec![false; len];
    for entry in entries {
        if let Entry::Kept(i) = *entry {
            let slot = seen.get_mut(i).ok_or_else(|| missing(i))?;
            if std::mem::replace(slot, true) {
                return Err(twice(i));
            }
        }
    }
    Ok(())
}

impl ClusterSnapshot {
    /// Replaces this snapshot by the one of `nodes` and `pods`, each entry
    /// kept from this snapshot (by index in [`Self::nodes`] /
    /// [`Self::pods`]) or new. The result is equal to
    /// [`ClusterSnapshot::new`] over the resolved nodes and pods.
    ///
    /// Kept pods are moved, not copied, and keep their node and namespace
    /// unless the node they were on is no longer kept; kept nodes keep their
    /// scheduling classes when the node list is unchanged. Each entry may be
    /// kept at most once.
    pub fn update(
        &mut self,
        nodes: Vec<Entry<NodeInfo>>,
        pods: Vec<Entry<BoundPod>>,
    ) -> Result<(), UpdateError> {
        let (node_len, pod_len) = (self.nodes.len(), self.pods.len());
        check(
            &nodes,
            node_len,
            |index| UpdateError::NoSuchNode { index, len: node_len },
            UpdateError::NodeKeptTwice,
        )?;
        check(
            &pods,
            pod_len,
            |index| UpdateError::NoSuchPod { index, len: pod_len },
            UpdateError::PodKeptTwice,
        )?;
        *self = std::mem::take(self).rebuilt(nodes, pods);
        Ok(())
    }

    /// [`Self::update`] once the entries are known to be valid.
    fn rebuilt(self, node_entries: Vec<Entry<NodeInfo>>, pod_entries: Vec<Entry<BoundPod>>) -> Self {
        let ClusterSnapshot {
            nodes: old_nodes,
            pods: old_pods,
            node_class,
            class_representatives,
            free: _,
            pod_node: old_pod_node,
            pods_by_namespace,
        } = self;

        let same_nodes = node_entries.len() == old_nodes.len()
            && node_entries
                .iter()
                .enumerate()
                .all(|(i, e)| matches!(e, Entry::Kept(j) if *j == i));
        let mut nodes = Vec::with_capacity(node_entries.len());
        let mut node_lists = Vec::with_capacity(node_entries.len());
        // Old node index -> new one, for the kept nodes.
        let mut node_moved: Vec<Option<u32>> = vec![None; old_nodes.len()];
        let mut old_nodes: Vec<Option<NodeUsage>> = old_nodes.into_iter().map(Some).collect();
        for (i, entry) in node_entries.into_iter().enumerate() {
            let kept = match entry {
                Entry::Kept(j) => old_nodes.get_mut(j).and_then(Option::take).map(|u| (j, u)),
                Entry::New(node) => {
                    nodes.push(node);
                    node_lists.push(Vec::new());
                    continue;
                }
            };
            // Checked by `update`: every kept index is there once.
            if let Some((j, mut usage)) = kept {
                node_moved[j] = u32::try_from(i).ok();
                usage.pods.clear();
                nodes.push(usage.node);
                node_lists.push(usage.pods);
            }
        }
        drop(old_nodes);
        let (node_class, class_representatives) = if same_nodes {
            (node_class, class_representatives)
        } else {
            classes(&nodes)
        };

        // Old namespace id of each old pod bound to a known node.
        let mut old_ns = vec![NO_NAMESPACE; old_pods.len()];
        let (mut names, mut lists) = (Vec::new(), Vec::new());
        for (k, (name, mut list)) in pods_by_namespace.into_iter().enumerate() {
            let k = u32::try_from(k).unwrap_or(NO_NAMESPACE);
            for &p in &list {
                if let Some(ns) = old_ns.get_mut(p) {
                    *ns = k;
                }
            }
            list.clear();
            names.push(name);
            lists.push(list);
        }
        let mut namespaces = Namespaces::from_lists(names, lists);

        let mut resolver = NodeResolver::new(&nodes, same_nodes, node_moved);
        let mut pods = Vec::with_capacity(pod_entries.len());
        let mut pod_node = Vec::with_capacity(pod_entries.len());
        let mut pod_ns = Vec::with_capacity(pod_entries.len());
        let mut old_pods: Vec<Option<BoundPod>> = old_pods.into_iter().map(Some).collect();
        for entry in pod_entries {
            let (pod, node, ns) = match entry {
                Entry::Kept(j) => {
                    // Checked by `update`: every kept index is there once.
                    let Some(pod) = old_pods.get_mut(j).and_then(Option::take) else {
                        continue;
                    };
                    let was_on = old_pod_node.get(j).copied().flatten();
                    let node = resolver.kept(&pod, was_on);
                    let ns = old_ns.get(j).copied().unwrap_or(NO_NAMESPACE);
                    (pod, node, ns)
                }
                Entry::New(pod) => {
                    let node = resolver.by_name(&pod);
                    (pod, node, NO_NAMESPACE)
                }
            };
            let ns = match node {
                None => NO_NAMESPACE,
                Some(_) if ns != NO_NAMESPACE => ns,
                Some(_) => namespaces.id(&pod.namespace),
            };
            pods.push(pod);
            pod_node.push(node);
            pod_ns.push(ns);
        }
        drop(resolver);
        drop(old_pods);

        Parts {
            nodes,
            node_lists,
            node_class,
            class_representatives,
            pods,
            pod_node,
            pod_ns,
            namespaces,
        }
        .assemble()
    }
}

/// Finds the node of a pod of the next snapshot: for a kept pod from where
/// it was when that node is kept too, else by name, as `new` does.
struct NodeResolver<'a> {
    nodes: &'a [NodeInfo],
    /// The node list is the previous one: a kept pod is where it was.
    same_nodes: bool,
    /// Old node index -> new one, for the kept nodes.
    moved: Vec<Option<u32>>,
    /// By name, built the first time a pod needs it, with whether names are unique.
    index: Option<(HashMap<&'a str, u32>, bool)>,
}

impl<'a> NodeResolver<'a> {
    fn new(nodes: &'a [NodeInfo], same_nodes: bool, moved: Vec<Option<u32>>) -> Self {
        // With another node list, whether names repeat decides whether a
        // kept node still is the one its name finds.
        let index = (!same_nodes).then(|| name_index(nodes));
        NodeResolver {
            nodes,
            same_nodes,
            moved,
            index,
        }
    }

    fn index(&mut self) -> &(HashMap<&'a str, u32>, bool) {
        let nodes = self.nodes;
        self.index.get_or_insert_with(|| name_index(nodes))
    }

    fn by_name(&mut self, pod: &BoundPod) -> Option<u32> {
        self.index().0.get(&*pod.node).copied()
    }

    /// A kept pod that was on old node `was_on` (`None`: an unknown node).
    fn kept(&mut self, pod: &BoundPod, was_on: Option<u32>) -> Option<u32> {
        if self.same_nodes {
            // Same names, same nodes: found or not found the same way.
            return was_on;
        }
        let unique = self.index().1;
        match was_on.and_then(|j| self.moved.get(j as usize).copied().flatten()) {
            // Its node is kept and no other node has that name.
            Some(now) if unique => Some(now),
            _ => self.by_name(pod),
        }
    }
}
