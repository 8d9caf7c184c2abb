//! [`SnapshotBuilder`]: successive snapshots from the reflector stores,
//! each built from the last one and what changed.

use std::sync::Arc;

use super::{ClusterBuild, cache::Cache};
use crate::{
    compact::{CompactNode, CompactPod},
    convert,
    intern::Interner,
};

/// Builds successive snapshots cheaply. Each store object is converted once
/// (see [`Cache`] for how changes are found); the next snapshot is the last
/// one updated with the changed entries
/// ([`spillway_core::snapshot::ClusterSnapshot::update`]), which
/// moves the unchanged ones and re-resolves nothing by name for them. When
/// nothing changed, the previous snapshot is returned as is. When someone
/// still holds the previous snapshot, it is cloned first (its strings are
/// shared, so that copies no string).
///
/// The pods' node names, namespaces and label sets are interned: the
/// snapshot keeps one copy of each.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    nodes: Cache<CompactNode>,
    pods: Cache<CompactPod>,
    intern: Interner,
    last: Option<ClusterBuild>,
}

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot of all nodes and the non-terminal pods bound to them.
    /// Nodes without allocatable and pods with malformed quantities are
    /// skipped and reported.
    pub fn build(&mut self, nodes: &[Arc<CompactNode>], pods: &[Arc<CompactPod>]) -> ClusterBuild {
        if let Some(last) = &self.last
            && self.nodes.unchanged(nodes)
            && self.pods.unchanged(pods)
        {
            return last.clone();
        }
        let mut skipped = Vec::new();
        let node_entries = self.nodes.update(
            nodes,
            |n| Some(convert::node_info(n)),
            |n| format!("Node/{}", n.metadata.name.as_deref().unwrap_or("")),
            &mut skipped,
        );
        let intern = &mut self.intern;
        let pod_entries = self.pods.update(
            pods,
            |p| convert::bound_pod(p, intern),
            |p| {
                format!(
                    "Pod/{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or(""),
                    p.metadata.name.as_deref().unwrap_or("")
                )
            },
            &mut skipped,
        );
        let mut snapshot = self
            .last
            .take()
            .map(|b| Arc::unwrap_or_clone(b.snapshot))
            .unwrap_or_default();
        if let Err(e) = snapshot.update(node_entries, pod_entries) {
            // Cannot happen: the caches keep only indices of the last
            // snapshot, each once. Should it, convert everything again
            // (which keeps nothing, so cannot fail twice).
            tracing::error!(error = %e, "snapshot update rejected; rebuilding from scratch");
            *self = SnapshotBuilder {
                intern: std::mem::take(&mut self.intern),
                ..Default::default()
            };
            return self.build(nodes, pods);
        }
        let build = ClusterBuild {
            snapshot: Arc::new(snapshot),
            skipped,
        };
        self.last = Some(build.clone());
        self.intern.sweep();
        build
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, rv: u32) -> Arc<CompactNode> {
        Arc::new(
            serde_json::from_value(
                json!({"metadata": {"name": name, "uid": name, "resourceVersion": rv.to_string(),
                "labels": {"pool": "a"}},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True"}]}}),
            )
            .expect("node"),
        )
    }

    fn pod(name: &str, node: Option<&str>, cpu: &str, phase: &str) -> Arc<CompactPod> {
        Arc::new(
            serde_json::from_value(json!({"metadata": {"name": name, "namespace": "ns", "uid": name,
                "labels": {"app": name}},
                "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
                "status": {"phase": phase}}))
            .expect("pod"),
        )
    }

    /// What a snapshot says, independent of order.
    /// Nodes (name, requested CPU, pods), pods (app, node, CPU), skipped objects.
    type Summary = (Vec<(String, i64, i64)>, Vec<(String, String, i64)>, Vec<String>);
    type Step = Box<dyn Fn(&mut Vec<Arc<CompactNode>>, &mut Vec<Arc<CompactPod>>)>;

    fn summary(b: &ClusterBuild) -> Summary {
        let mut nodes: Vec<_> = b
            .snapshot
            .nodes()
            .iter()
            .map(|n| (n.node.name.clone(), n.requested.cpu_millis, n.pod_count))
            .collect();
        let mut pods: Vec<_> = b
            .snapshot
            .pods()
            .iter()
            .map(|p| (p.labels["app"].clone(), p.node.to_string(), p.requests.cpu_millis))
            .collect();
        let mut skipped: Vec<_> = b.skipped.iter().map(|s| s.object.clone()).collect();
        nodes.sort();
        pods.sort();
        skipped.sort();
        (nodes, pods, skipped)
    }

    #[test]
    fn updates_match_a_cold_build_through_changes_and_removals() {
        let mut nodes = vec![node("n1", 1), node("n2", 1)];
        let mut pods = vec![
            pod("a", Some("n1"), "100m", "Running"),
            pod("b", Some("n2"), "200m", "Running"),
            pod("c", None, "300m", "Pending"),
            pod("bad", Some("n1"), "lots", "Running"),
            pod("done", Some("n1"), "1", "Succeeded"),
        ];
        let mut b = SnapshotBuilder::new();
        let steps: Vec<Step> = vec![
            Box::new(|_, _| {}),
            // c is scheduled, a grows, b goes away.
            Box::new(|_, p| {
                p[2] = pod("c", Some("n2"), "300m", "Running");
                p[0] = pod("a", Some("n1"), "150m", "Running");
                p.remove(1);
            }),
            // A node changes, one leaves with its pods still listed.
            Box::new(|n, _| {
                n[0] = node("n1", 2);
                n.remove(1);
            }),
            // The bad pod is fixed, a new node arrives.
            Box::new(|n, p| {
                p[2] = pod("bad", Some("n1"), "1", "Running");
                n.push(node("n3", 1));
            }),
        ];
        for step in steps {
            step(&mut nodes, &mut pods);
            let incremental = b.build(&nodes, &pods);
            let cold = SnapshotBuilder::new().build(&nodes, &pods);
            assert_eq!(summary(&incremental), summary(&cold));
        }
        let last = b.build(&nodes, &pods);
        assert_eq!(
            summary(&last).0,
            vec![("n1".into(), 1150, 2), ("n3".into(), 0, 0)],
            "a and the fixed pod on n1; c's node n2 is gone"
        );
    }

    #[test]
    fn updates_equal_a_cold_build_exactly() {
        let mut nodes = vec![node("n1", 1), node("n2", 1), node("n3", 1)];
        let mut pods: Vec<_> = (0..12)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    Some(["n1", "n2", "n3"][i % 3]),
                    "100m",
                    "Running",
                )
            })
            .collect();
        let mut b = SnapshotBuilder::new();
        let steps: Vec<Step> = vec![
            Box::new(|_, _| {}),
            // A pod moves to another node (rescheduled under the same name).
            Box::new(|_, p| p[0] = pod("p0", Some("n2"), "100m", "Running")),
            // A pod turns terminal, another is removed.
            Box::new(|_, p| {
                p[4] = pod("p4", Some("n2"), "100m", "Succeeded");
                p.remove(7);
            }),
            // A node is removed while its pods are still listed.
            Box::new(|n, _| {
                n.remove(2);
            }),
            // It comes back; a new pod on it goes first in the store.
            Box::new(|n, p| {
                n.push(node("n3", 2));
                p.insert(0, pod("new", Some("n3"), "250m", "Running"));
            }),
        ];
        for step in steps {
            step(&mut nodes, &mut pods);
            let incremental = b.build(&nodes, &pods);
            let cold = SnapshotBuilder::new().build(&nodes, &pods);
            assert_eq!(*incremental.snapshot, *cold.snapshot);
            assert_eq!(incremental.skipped, cold.skipped);
        }
        let last = b.build(&nodes, &pods).snapshot;
        let ns = &last.pods()[0].namespace;
        assert!(
            last.pods().iter().all(|p| Arc::ptr_eq(&p.namespace, ns)),
            "one shared copy of the namespace"
        );
    }

    #[test]
    fn a_reordered_store_reuses_conversions_by_address() {
        let nodes = vec![node("n1", 1), node("n2", 1)];
        let mut pods: Vec<_> = (0..40)
            .map(|i| {
                pod(
                    &format!("p{i}"),
                    Some(if i % 2 == 0 { "n1" } else { "n2" }),
                    "10m",
                    "Running",
                )
            })
            .collect();
        let mut b = SnapshotBuilder::new();
        b.build(&nodes, &pods);
        // A relist or a rehash: another order, one pod gone, one new, one changed.
        pods.reverse();
        pods.remove(7);
        pods.insert(3, pod("new", Some("n1"), "500m", "Running"));
        pods[20] = pod("p5", Some("n2"), "20m", "Running");
        let held = pods[30].clone();
        let incremental = b.build(&nodes, &pods);
        assert_eq!(
            summary(&incremental),
            summary(&SnapshotBuilder::new().build(&nodes, &pods))
        );
        assert!(
            Arc::ptr_eq(&b.pods.last[30].object, &held),
            "cached in the new order"
        );
    }

    #[test]
    fn nothing_changed_returns_the_same_snapshot() {
        let nodes = vec![node("n1", 1)];
        let pods = vec![
            pod("a", Some("n1"), "100m", "Running"),
            pod("bad", Some("n1"), "x", "Running"),
        ];
        let mut b = SnapshotBuilder::new();
        let first = b.build(&nodes, &pods);
        let second = b.build(&nodes, &pods);
        assert!(Arc::ptr_eq(&first.snapshot, &second.snapshot));
        assert_eq!(second.skipped, first.skipped);
        assert_eq!(second.skipped.len(), 1);
        // Same content in a new Arc is a change.
        let third = b.build(&nodes, &[pod("a", Some("n1"), "100m", "Running")]);
        assert!(!Arc::ptr_eq(&first.snapshot, &third.snapshot));
        assert!(third.skipped.is_empty());
    }

    #[test]
    fn a_snapshot_still_held_elsewhere_is_copied_not_emptied() {
        let nodes = vec![node("n1", 1)];
        let mut pods = vec![
            pod("a", Some("n1"), "100m", "Running"),
            pod("b", Some("n1"), "200m", "Running"),
        ];
        let mut b = SnapshotBuilder::new();
        let held = b.build(&nodes, &pods);
        pods[1] = pod("b", Some("n1"), "250m", "Running");
        let next = b.build(&nodes, &pods);
        assert_eq!(held.snapshot.nodes()[0].requested.cpu_millis, 300);
        assert_eq!(next.snapshot.nodes()[0].requested.cpu_millis, 350);
        drop(held);
        // Now moved: the result is the same.
        pods[0] = pod("a", Some("n1"), "50m", "Running");
        drop(next);
        assert_eq!(
            b.build(&nodes, &pods).snapshot.nodes()[0].requested.cpu_millis,
            300
        );
    }
}
