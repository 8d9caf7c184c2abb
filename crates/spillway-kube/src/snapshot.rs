//! Building what `spillway_core::plan` needs from the reflector stores:
//! the shared [`ClusterSnapshot`] and, per policy, the target's
//! [`WorkloadStatus`] or the reason the policy is disabled. Pure: it takes
//! slices of store objects, so tests and benchmarks need no API server.

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::{
    api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use spillway_core::{
    config::TargetRef,
    snapshot::{BoundPod, ClusterSnapshot, NodeInfo, WorkloadStatus},
};

use crate::{
    compact::{CompactNode, CompactPod},
    convert::{self, ConvertError},
    selector,
};

/// An object left out of the snapshot, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// `Node/<name>` or `Pod/<namespace>/<name>`.
    pub object: String,
    pub reason: ConvertError,
}

/// The snapshot and what was left out of it.
#[derive(Debug, Clone)]
pub struct ClusterBuild {
    pub snapshot: Arc<ClusterSnapshot>,
    pub skipped: Vec<Skipped>,
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
    #[error("pod template of {namespace}/{name}: {source}")]
    Template {
        namespace: String,
        name: String,
        #[source]
        source: ConvertError,
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

/// Builds successive snapshots cheaply. Each store object is converted once,
/// and what did not change is moved from the previous snapshot into the
/// next one (through [`ClusterSnapshot::into_parts`]) instead of being
/// cloned. When nothing changed, the previous snapshot is returned as is.
///
/// Objects are recognised by their `Arc` in the store: a reflector stores a
/// new `Arc` whenever an object changes, and the builder keeps a clone of
/// every `Arc` it has converted, so an address cannot be reused by another
/// object while it is cached. A store lists its objects in the same order
/// from one call to the next as long as none is added or removed, so the
/// objects are first matched by position, a sequential scan; an address
/// index is built only when the order has moved. Unchanged entries can be
/// moved only when no one else holds the previous snapshot any more;
/// otherwise they are cloned.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    nodes: Cache<CompactNode>,
    pods: Cache<CompactPod>,
    last: Option<ClusterBuild>,
}

/// The objects of one store at the last build, in the order they came, and
/// where each one's conversion went.
#[derive(Debug)]
struct Cache<K> {
    last: Vec<Cached<K>>,
}

impl<K> Default for Cache<K> {
    fn default() -> Self {
        Cache { last: Vec::new() }
    }
}

#[derive(Debug)]
struct Cached<K> {
    /// Also keeps the address taken.
    object: Arc<K>,
    slot: Slot,
}

/// Where an object's conversion is in the last snapshot.
#[derive(Debug, Clone)]
enum Slot {
    /// Left out on purpose (an unbound or terminal pod).
    Out,
    /// At this index of the last snapshot's nodes or pods.
    At(usize),
    Skipped(ConvertError),
}

fn address<K>(object: &Arc<K>) -> usize {
    Arc::as_ptr(object).addr()
}

impl<K: kube::Resource> Cache<K> {
    /// The same objects as last time, in the same order.
    fn unchanged(&self, objects: &[Arc<K>]) -> bool {
        objects.len() == self.last.len()
            && objects
                .iter()
                .zip(&self.last)
                .all(|(o, c)| Arc::ptr_eq(o, &c.object))
    }

    /// The conversions of `objects`, in their order: moved from the last
    /// snapshot by `reuse(index)` when unchanged, else converted (`None`:
    /// left out). Failures go to `skipped`, named by `describe`.
    fn update<V>(
        &mut self,
        objects: &[Arc<K>],
        mut reuse: impl FnMut(usize) -> Option<V>,
        convert: impl Fn(&K) -> Option<Result<V, ConvertError>>,
        describe: impl Fn(&K) -> String,
        skipped: &mut Vec<Skipped>,
    ) -> Vec<V> {
        let mut last: Vec<Option<Cached<K>>> = std::mem::take(&mut self.last).into_iter().map(Some).collect();
        // Address -> position in `last`, built the first time the order has moved.
        let mut index: Option<HashMap<usize, usize>> = None;
        let mut next = 0;
        let mut cached = Vec::with_capacity(objects.len());
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            let at_next = last.get(next).and_then(Option::as_ref);
            let found = if at_next.is_some_and(|c| Arc::ptr_eq(&c.object, object)) {
                next += 1;
                Some(next - 1)
            } else if at_next.is_some_and(|c| same_object(c.object.meta(), object.meta())) {
                // A new version in the old one's place.
                next += 1;
                None
            } else {
                let index = index.get_or_insert_with(|| {
                    last.iter()
                        .enumerate()
                        .filter_map(|(k, c)| c.as_ref().map(|c| (address(&c.object), k)))
                        .collect()
                });
                let found = index.get(&address(object)).copied();
                if let Some(k) = found {
                    next = k + 1;
                }
                found
            };
            let previous = found.and_then(|k| last.get_mut(k)).and_then(Option::take);
            let (object, slot) = match previous {
                Some(Cached { object, slot }) => {
                    let slot = match slot {
                        Slot::At(i) => match reuse(i) {
                            Some(v) => {
                                out.push(v);
                                Slot::At(out.len() - 1)
                            }
                            // Not in the last snapshot (cannot happen): convert again.
                            None => place(convert(&object), &mut out),
                        },
                        other => other,
                    };
                    (object, slot)
                }
                None => (object.clone(), place(convert(object), &mut out)),
            };
            if let Slot::Skipped(e) = &slot {
                skipped.push(Skipped {
                    object: describe(&object),
                    reason: e.clone(),
                });
            }
            cached.push(Cached { object, slot });
        }
        self.last = cached;
        out
    }
}

/// Appends a fresh conversion to `out`, returning its slot.
fn place<V>(result: Option<Result<V, ConvertError>>, out: &mut Vec<V>) -> Slot {
    match result {
        None => Slot::Out,
        Some(Ok(v)) => {
            out.push(v);
            Slot::At(out.len() - 1)
        }
        Some(Err(e)) => Slot::Skipped(e),
    }
}

/// The same Kubernetes object (possibly another version of it).
fn same_object(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    match (&a.uid, &b.uid) {
        (Some(a), Some(b)) => a == b,
        _ => a.name == b.name && a.namespace == b.namespace,
    }
}

/// The last snapshot's nodes and pods, to move (or, while it is still
/// shared, clone) unchanged entries from.
enum Previous {
    Owned(Vec<NodeInfo>, Vec<BoundPod>),
    Shared(Arc<ClusterSnapshot>),
}

impl Previous {
    fn new(last: Option<Arc<ClusterSnapshot>>) -> Self {
        match last.map(Arc::try_unwrap) {
            None => Previous::Owned(Vec::new(), Vec::new()),
            Some(Ok(snapshot)) => {
                let (nodes, pods) = snapshot.into_parts();
                Previous::Owned(nodes, pods)
            }
            Some(Err(shared)) => Previous::Shared(shared),
        }
    }
    fn node(&mut self, i: usize) -> Option<NodeInfo> {
        match self {
            Previous::Owned(nodes, _) => nodes.get_mut(i).map(std::mem::take),
            Previous::Shared(s) => s.nodes().get(i).map(|u| u.node.clone()),
        }
    }
    fn pod(&mut self, i: usize) -> Option<BoundPod> {
        match self {
            Previous::Owned(_, pods) => pods.get_mut(i).map(std::mem::take),
            Previous::Shared(s) => s.pods().get(i).cloned(),
        }
    }
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
        let mut previous = Previous::new(self.last.take().map(|b| b.snapshot));
        let mut skipped = Vec::new();
        let node_infos = self.nodes.update(
            nodes,
            |i| previous.node(i),
            |n| Some(convert::node_info(n)),
            |n| format!("Node/{}", n.metadata.name.as_deref().unwrap_or("")),
            &mut skipped,
        );
        let bound = self.pods.update(
            pods,
            |i| previous.pod(i),
            convert::bound_pod,
            |p| {
                format!(
                    "Pod/{}/{}",
                    p.metadata.namespace.as_deref().unwrap_or(""),
                    p.metadata.name.as_deref().unwrap_or("")
                )
            },
            &mut skipped,
        );
        drop(previous);
        let build = ClusterBuild {
            snapshot: Arc::new(ClusterSnapshot::new(node_infos, bound)),
            skipped,
        };
        self.last = Some(build.clone());
        build
    }
}

/// The target Deployment, unless the policy must be disabled: missing,
/// not a Deployment, or also scaled by an HPA.
pub fn resolve_target<'a>(
    target: &TargetRef,
    deployments: &'a [Arc<Deployment>],
    hpas: &[Arc<HorizontalPodAutoscaler>],
) -> Result<&'a Deployment, Disabled> {
    if target.kind != "Deployment" {
        return Err(Disabled::UnsupportedKind(target.kind.clone()));
    }
    let in_ns = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        m.namespace.as_deref() == Some(target.namespace.as_str())
    };
    let deployment = deployments
        .iter()
        .find(|d| in_ns(&d.metadata) && d.metadata.name.as_deref() == Some(target.name.as_str()))
        .ok_or_else(|| Disabled::TargetMissing {
            kind: target.kind.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
        })?;
    if let Some(hpa) = hpas.iter().find(|h| {
        in_ns(&h.metadata)
            && h.spec.as_ref().is_some_and(|s| {
                let r = &s.scale_target_ref;
                r.kind == "Deployment"
                    && r.name == target.name
                    && r.api_version.as_deref().is_none_or(|v| v.starts_with("apps/"))
            })
    }) {
        return Err(Disabled::ScaledByHpa {
            namespace: target.namespace.clone(),
            hpa: hpa.metadata.name.clone().unwrap_or_default(),
        });
    }
    Ok(deployment)
}

/// The Deployment's replicas, its pods by state and its template.
pub fn workload_status(
    deployment: &Deployment,
    pods: &[Arc<CompactPod>],
) -> Result<WorkloadStatus, Disabled> {
    let namespace = deployment.metadata.namespace.clone().unwrap_or_default();
    let name = deployment.metadata.name.clone().unwrap_or_default();
    let spec = deployment.spec.as_ref().ok_or_else(|| Disabled::NoSelector {
        namespace: namespace.clone(),
        name: name.clone(),
    })?;
    let template =
        convert::pod_template(&namespace, &spec.template).map_err(|source| Disabled::Template {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let empty_selector = spec.selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && spec
            .selector
            .match_expressions
            .as_ref()
            .is_none_or(|m| m.is_empty());
    if empty_selector {
        return Err(Disabled::NoSelector { namespace, name });
    }
    let mut vm_pods: Vec<_> = pods
        .iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .filter(|p| selector::matches(&spec.selector, p.metadata.labels.as_ref()))
        .filter_map(|p| convert::vm_pod(p))
        .collect();
    vm_pods.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(WorkloadStatus {
        spec_replicas: spec.replicas.map_or(1, |r| u32::try_from(r).unwrap_or(0)),
        pods: vm_pods,
        template,
    })
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
            .map(|p| (p.labels["app"].clone(), p.node.clone(), p.requests.cpu_millis))
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
