//! Building what `spillway_core::plan` needs from the reflector stores:
//! the shared [`ClusterSnapshot`] and, per policy, the target's
//! [`WorkloadStatus`] or the reason the policy is disabled. Pure: it takes
//! slices of store objects, so tests and benchmarks need no API server.

use std::{collections::HashMap, sync::Arc};

use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{Node, Pod},
};
use spillway_core::{
    config::TargetRef,
    snapshot::{BoundPod, ClusterSnapshot, NodeInfo, WorkloadStatus},
};

use crate::{
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

/// Converts pods once per `(uid, resourceVersion)`: a snapshot update after
/// a few pod changes re-parses only those pods' quantities.
#[derive(Debug, Default)]
pub struct SnapshotBuilder {
    pods: HashMap<String, CachedPod>,
    nodes: HashMap<String, CachedNode>,
}

#[derive(Debug)]
struct CachedPod {
    resource_version: String,
    pod: Option<Result<BoundPod, ConvertError>>,
    seen: bool,
}

#[derive(Debug)]
struct CachedNode {
    resource_version: String,
    node: Result<NodeInfo, ConvertError>,
    seen: bool,
}

fn key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or(""),
            meta.name.as_deref().unwrap_or("")
        )
    })
}

impl SnapshotBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot of all nodes and the non-terminal pods bound to them.
    /// Nodes without allocatable and pods with malformed quantities are
    /// skipped and reported.
    pub fn build(&mut self, nodes: &[Arc<Node>], pods: &[Arc<Pod>]) -> ClusterBuild {
        let mut skipped = Vec::new();
        let mut node_infos = Vec::with_capacity(nodes.len());
        for n in nodes {
            let rv = n.metadata.resource_version.as_deref().unwrap_or("");
            let entry = self.nodes.entry(key(&n.metadata)).or_insert_with(|| CachedNode {
                resource_version: String::new(),
                node: Err(ConvertError::Missing("conversion")),
                seen: false,
            });
            if entry.resource_version != rv || rv.is_empty() {
                entry.node = convert::node_info(n);
                entry.resource_version = rv.to_string();
            }
            entry.seen = true;
            match &entry.node {
                Ok(info) => node_infos.push(info.clone()),
                Err(e) => skipped.push(Skipped {
                    object: format!("Node/{}", n.metadata.name.as_deref().unwrap_or("")),
                    reason: e.clone(),
                }),
            }
        }
        let mut bound = Vec::with_capacity(pods.len());
        for p in pods {
            let rv = p.metadata.resource_version.as_deref().unwrap_or("");
            let entry = self.pods.entry(key(&p.metadata)).or_insert_with(|| CachedPod {
                resource_version: String::new(),
                pod: None,
                seen: false,
            });
            if entry.resource_version != rv || rv.is_empty() {
                entry.pod = convert::bound_pod(p);
                entry.resource_version = rv.to_string();
            }
            entry.seen = true;
            match &entry.pod {
                None => {}
                Some(Ok(b)) => bound.push(b.clone()),
                Some(Err(e)) => skipped.push(Skipped {
                    object: format!(
                        "Pod/{}/{}",
                        p.metadata.namespace.as_deref().unwrap_or(""),
                        p.metadata.name.as_deref().unwrap_or("")
                    ),
                    reason: e.clone(),
                }),
            }
        }
        // Forget objects that left the stores.
        self.pods.retain(|_, c| std::mem::take(&mut c.seen));
        self.nodes.retain(|_, c| std::mem::take(&mut c.seen));
        ClusterBuild {
            snapshot: Arc::new(ClusterSnapshot::new(node_infos, bound)),
            skipped,
        }
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
pub fn workload_status(deployment: &Deployment, pods: &[Arc<Pod>]) -> Result<WorkloadStatus, Disabled> {
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
