use spillway_core::snapshot::NodeInfo;

use super::ConvertError;
use crate::compact::CompactNode;

/// A node as the capacity fit sees it. A node without `status.allocatable`
/// (still registering) offers no room and is skipped with
/// [`ConvertError::NoAllocatable`].
pub fn node_info(node: &CompactNode) -> Result<NodeInfo, ConvertError> {
    let name = node
        .metadata
        .name
        .clone()
        .ok_or(ConvertError::Missing("metadata.name"))?;
    let allocatable = node.allocatable.as_ref().map_err(Clone::clone)?;
    Ok(NodeInfo {
        name,
        labels: node.metadata.labels.clone().unwrap_or_default(),
        taints: node.taints.clone(),
        ready: node.ready,
        unschedulable: node.unschedulable,
        allocatable: allocatable.resources.clone(),
        allocatable_pods: allocatable.pods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use spillway_core::snapshot::TaintEffect;

    fn node(v: serde_json::Value) -> CompactNode {
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
