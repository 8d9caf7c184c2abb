//! [`CompactPod`]: a Pod as the snapshot and the workload status read it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use spillway_core::resources::Resources;

use super::wire;
use crate::convert::{ConvertError, effective_requests_of};

/// A Pod reduced to what Spillway reads: metadata (name, namespace, uid,
/// resourceVersion, labels, creation and deletion timestamps), the node it
/// is bound to, its effective request (containers, init containers and
/// sidecars, overhead; computed once, when it is received), its phase and
/// its `Ready` / `PodScheduled` conditions. Deserializes from Pod JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "wire::Pod")]
pub struct CompactPod {
    pub metadata: ObjectMeta,
    /// `spec.nodeName`.
    pub node_name: Option<String>,
    /// The effective request, or why it could not be read (a malformed quantity).
    pub requests: Result<Resources, ConvertError>,
    /// `status.phase`; `None` when absent.
    pub phase: Option<PodPhase>,
    pub conditions: PodConditions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    /// `Unknown`, or a value this version does not know.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// The two pod conditions the planner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodConditions {
    /// `Ready`.
    pub ready: Option<ConditionStatus>,
    /// `PodScheduled`.
    pub scheduled: Option<ConditionStatus>,
    /// `PodScheduled` has `reason: Unschedulable`: no node fits.
    pub unschedulable: bool,
}

impl CompactPod {
    /// A pod with no spec or status: what a test or a simulated cluster
    /// fills in field by field.
    pub fn new(metadata: ObjectMeta) -> Self {
        CompactPod {
            metadata,
            node_name: None,
            requests: Ok(Resources::default()),
            phase: None,
            conditions: PodConditions::default(),
        }
    }
}

fn condition_status(s: &str) -> ConditionStatus {
    match s {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    }
}

impl From<wire::Pod> for CompactPod {
    fn from(p: wire::Pod) -> Self {
        let spec = p.spec.unwrap_or_default();
        let requests = effective_requests_of(
            spec.containers
                .iter()
                .flatten()
                .map(|c| c.resources.as_ref().and_then(|r| r.requests.as_ref())),
            spec.init_containers.iter().flatten().map(|c| {
                (
                    c.resources.as_ref().and_then(|r| r.requests.as_ref()),
                    c.restart_policy.as_deref(),
                )
            }),
            spec.overhead.as_ref(),
        );
        let status = p.status.unwrap_or_default();
        let phase = status.phase.as_deref().map(|s| match s {
            "Pending" => PodPhase::Pending,
            "Running" => PodPhase::Running,
            "Succeeded" => PodPhase::Succeeded,
            "Failed" => PodPhase::Failed,
            _ => PodPhase::Unknown,
        });
        let mut conditions = PodConditions::default();
        for c in status.conditions.iter().flatten() {
            match c.type_.as_str() {
                "Ready" => conditions.ready = Some(condition_status(&c.status)),
                "PodScheduled" => {
                    conditions.scheduled = Some(condition_status(&c.status));
                    conditions.unschedulable = c.reason.as_deref() == Some("Unschedulable");
                }
                _ => {}
            }
        }
        CompactPod {
            metadata: p.metadata.into(),
            node_name: spec.node_name,
            requests,
            phase,
            conditions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    #[test]
    fn keeps_what_the_snapshot_reads_from_a_fat_pod() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "812",
                "labels": {"app": "web"}, "annotations": {"big": "x".repeat(1000)},
                "creationTimestamp": "2026-11-27T10:00:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d", "uid": "r1"}],
                "managedFields": [{"manager": "kubelet"}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1",
                "env": [{"name": "A", "value": "b"}],
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}}],
                "initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "Always",
                "resources": {"requests": {"memory": "64Mi"}}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [
                {"type": "Ready", "status": "True", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"}]}
        });
        let p: CompactPod = serde_json::from_value(v.clone()).expect("pod");
        let m = &p.metadata;
        assert_eq!(m.name.as_deref(), Some("web-1"));
        assert_eq!(m.namespace.as_deref(), Some("shop"));
        assert_eq!(m.uid.as_deref(), Some("u1"));
        assert_eq!(m.resource_version.as_deref(), Some("812"));
        assert_eq!(
            m.labels.as_ref().and_then(|l| l.get("app")).map(String::as_str),
            Some("web")
        );
        assert!(m.creation_timestamp.is_some());
        assert!(m.annotations.is_none() && m.managed_fields.is_none() && m.owner_references.is_none());
        assert_eq!(p.node_name.as_deref(), Some("n1"));
        let r = p.requests.clone().expect("requests");
        assert_eq!((r.cpu_millis, r.memory_bytes), (250, 64 << 20));
        assert_eq!(p.phase, Some(PodPhase::Running));
        assert_eq!(
            p.conditions,
            PodConditions {
                ready: Some(ConditionStatus::True),
                scheduled: Some(ConditionStatus::True),
                unschedulable: false
            }
        );
        // A k8s-openapi Pod serialized by the fixtures reads the same.
        let typed: Pod = serde_json::from_value(v).expect("typed");
        let again: CompactPod =
            serde_json::from_slice(&serde_json::to_vec(&typed).expect("json")).expect("compact");
        assert_eq!(again, p);
    }

    #[test]
    fn malformed_quantity_is_kept_as_the_pods_error() {
        let p: CompactPod = serde_json::from_value(json!({"metadata": {"name": "bad"},
            "spec": {"nodeName": "n1", "containers": [{"name": "a", "resources": {"requests": {"memory": "12 GB"}}}]}}))
        .expect("still deserializes");
        let err = p.requests.expect_err("malformed");
        assert!(
            err.to_string()
                .contains("spec.containers[0].resources.requests.memory"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_null_parts_read_as_absent() {
        let p: CompactPod =
            serde_json::from_value(json!({"metadata": {"name": "a", "labels": null}, "spec": null}))
                .expect("pod");
        assert_eq!(
            p,
            CompactPod::new(ObjectMeta {
                name: Some("a".into()),
                ..Default::default()
            })
        );
    }
}
