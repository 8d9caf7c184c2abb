//! [`CompactNode`]: a Node as the capacity fit reads it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use spillway_core::{
    quantity::Quantity,
    resources::Resources,
    snapshot::{Taint, TaintEffect},
};

use super::wire;
use crate::convert::{ConvertError, ResourceList, resources};

/// A Node reduced to name, uid, resourceVersion, labels, taints,
/// `unschedulable`, the `Ready` condition and the parsed allocatable.
/// Deserializes from Node JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "wire::Node")]
pub struct CompactNode {
    pub metadata: ObjectMeta,
    pub taints: Vec<Taint>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// `status.allocatable`, or why it cannot be used: missing (the node is
    /// still registering) or malformed.
    pub allocatable: Result<Allocatable, ConvertError>,
}

/// A node's allocatable resources and pod count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allocatable {
    pub resources: Resources,
    /// `pods`; 0 when absent (no pod can be placed there).
    pub pods: i64,
}

/// An unknown effect is read as `NoSchedule`: a taint we do not understand
/// must not make room appear.
fn taint(t: wire::Taint) -> Taint {
    let effect = match t.effect.as_str() {
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        _ => TaintEffect::NoSchedule,
    };
    Taint {
        key: t.key,
        value: t.value,
        effect,
    }
}

fn allocatable(list: Option<&ResourceList>) -> Result<Allocatable, ConvertError> {
    let list = list.ok_or(ConvertError::NoAllocatable)?;
    let pods = match list.get("pods") {
        Some(q) => {
            let pods = Quantity::parse(&q.0).map_err(|source| ConvertError::Quantity {
                field: "status.allocatable.pods".into(),
                source,
            })?;
            i64::try_from(pods.units_ceil()).unwrap_or(i64::MAX)
        }
        None => 0,
    };
    Ok(Allocatable {
        resources: resources(Some(list), "status.allocatable")?,
        pods,
    })
}

impl From<wire::Node> for CompactNode {
    fn from(n: wire::Node) -> Self {
        let spec = n.spec.unwrap_or_default();
        let status = n.status.unwrap_or_default();
        CompactNode {
            metadata: n.metadata.into(),
            taints: spec.taints.into_iter().flatten().map(taint).collect(),
            unschedulable: spec.unschedulable.unwrap_or(false),
            ready: status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Ready" && c.status == "True"),
            allocatable: allocatable(status.allocatable.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    #[test]
    fn keeps_labels_taints_allocatable_and_readiness_of_a_fat_node() {
        let v = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "uid": "u", "resourceVersion": "7",
                "labels": {"kubernetes.io/hostname": "n1"}, "annotations": {"a": "b"},
                "managedFields": [{"manager": "kubelet"}]},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}, {"key": "g", "value": "x", "effect": "Weird"}],
                "providerID": "azure:///x"},
            "status": {"allocatable": {"cpu": "4", "pods": "110"}, "capacity": {"cpu": "4"},
                "images": [{"names": ["a"], "sizeBytes": 1}],
                "conditions": [{"type": "Ready", "status": "True", "message": "kubelet ready"},
                               {"type": "MemoryPressure", "status": "False"}]}
        });
        let n: CompactNode = serde_json::from_value(v.clone()).expect("node");
        assert_eq!(n.metadata.name.as_deref(), Some("n1"));
        assert_eq!(n.metadata.labels.as_ref().map(|l| l.len()), Some(1));
        assert!(n.metadata.annotations.is_none() && n.metadata.managed_fields.is_none());
        assert_eq!(n.taints.len(), 2);
        assert_eq!(
            n.taints[1].effect,
            TaintEffect::NoSchedule,
            "unknown effect reads as NoSchedule"
        );
        assert!(n.ready && !n.unschedulable);
        let a = n.allocatable.clone().expect("allocatable");
        assert_eq!((a.resources.cpu_millis, a.pods), (4000, 110));
        let typed: Node = serde_json::from_value(v).expect("typed");
        let again: CompactNode =
            serde_json::from_slice(&serde_json::to_vec(&typed).expect("json")).expect("compact");
        assert_eq!(again, n);
    }
}
