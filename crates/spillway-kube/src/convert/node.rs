use k8s_openapi::api::core::v1::{Node, Taint as K8sTaint};
use spillway_core::{
    quantity::Quantity,
    snapshot::{NodeInfo, Taint, TaintEffect},
};

use super::{ConvertError, resources};

/// A node as the capacity fit sees it. A node without `status.allocatable`
/// (still registering) offers no room and is skipped with
/// [`ConvertError::NoAllocatable`].
pub fn node_info(node: &Node) -> Result<NodeInfo, ConvertError> {
    let name = node
        .metadata
        .name
        .clone()
        .ok_or(ConvertError::Missing("metadata.name"))?;
    let status = node.status.as_ref();
    let allocatable = status
        .and_then(|s| s.allocatable.as_ref())
        .ok_or(ConvertError::NoAllocatable)?;
    let allocatable_pods = match allocatable.get("pods") {
        Some(q) => {
            let pods = Quantity::parse(&q.0).map_err(|source| ConvertError::Quantity {
                field: "status.allocatable.pods".into(),
                source,
            })?;
            i64::try_from(pods.units_ceil()).unwrap_or(i64::MAX)
        }
        // No pod count: no pod can be placed there.
        None => 0,
    };
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let spec = node.spec.as_ref();
    Ok(NodeInfo {
        name,
        labels: node.metadata.labels.clone().unwrap_or_default(),
        taints: spec
            .and_then(|s| s.taints.as_ref())
            .map(|ts| ts.iter().map(taint).collect())
            .unwrap_or_default(),
        ready,
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        allocatable: resources(Some(allocatable), "status.allocatable")?,
        allocatable_pods,
    })
}

/// An unknown effect is read as `NoSchedule`: a taint we do not understand
/// must not make room appear.
fn taint(t: &K8sTaint) -> Taint {
    let effect = match t.effect.as_str() {
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        _ => TaintEffect::NoSchedule,
    };
    Taint {
        key: t.key.clone(),
        value: t.value.clone(),
        effect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(v: serde_json::Value) -> Node {
        serde_json::from_value(v).expect("node json")
    }

    #[test]
    fn converts_allocatable_taints_and_readiness() {
        let n = node(json!({
            "metadata": {"name": "n1", "labels": {"pool": "a"}},
            "spec": {"unschedulable": true, "taints": [{"key": "gpu", "value": "yes", "effect": "NoExecute"}]},
            "status": {"allocatable": {"cpu": "3860m", "memory": "12Gi", "pods": "110",
                "ephemeral-storage": "100G", "nvidia.com/gpu": "1"},
                "conditions": [{"type": "Ready", "status": "True"}]}
        }));
        let info = node_info(&n).expect("converts");
        assert_eq!(info.name, "n1");
        assert!(info.ready && info.unschedulable);
        assert_eq!(info.allocatable.cpu_millis, 3860);
        assert_eq!(info.allocatable.memory_bytes, 12 << 30);
        assert_eq!(info.allocatable.ephemeral_storage_bytes, 100_000_000_000);
        assert_eq!(info.allocatable.extended.get("nvidia.com/gpu"), Some(&1));
        assert_eq!(info.allocatable_pods, 110);
        assert_eq!(info.taints[0].effect, TaintEffect::NoExecute);
    }

    #[test]
    fn node_without_allocatable_is_skipped_with_a_reason() {
        let n = node(json!({"metadata": {"name": "new"}, "status": {"conditions": []}}));
        assert_eq!(node_info(&n), Err(ConvertError::NoAllocatable));
        assert_eq!(ConvertError::NoAllocatable.label(), "no_allocatable");
    }

    #[test]
    fn malformed_allocatable_names_the_field() {
        let n = node(
            json!({"metadata": {"name": "n"}, "status": {"allocatable": {"cpu": "four", "pods": "10"}}}),
        );
        let err = node_info(&n).expect_err("malformed");
        assert!(
            err.to_string()
                .starts_with("status.allocatable.cpu: invalid quantity \"four\""),
            "{err}"
        );
    }

    #[test]
    fn not_ready_without_condition() {
        let n = node(json!({"metadata": {"name": "n"}, "status": {"allocatable": {"pods": "1"}}}));
        assert!(!node_info(&n).expect("ok").ready);
    }
}
