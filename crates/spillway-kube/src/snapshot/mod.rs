//! Building what `spillway_core::plan` needs from the reflector stores:
//! the shared [`ClusterSnapshot`] and, per policy, the target's
//! [`WorkloadStatus`] or the reason the policy is disabled. Pure: it takes
//! slices of store objects, so tests and benchmarks need no API server.

mod builder;
mod cache;

use std::sync::Arc;

use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler};
use spillway_core::{
    config::TargetRef,
    snapshot::{ClusterSnapshot, WorkloadStatus},
};

use crate::{
    compact::CompactPod,
    convert::{self, ConvertError},
    selector,
};

pub use builder::SnapshotBuilder;

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

pub use spillway_controller::Disabled;

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
            reason: source.to_string(),
            namespace: namespace.clone(),
            name: name.clone(),
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
