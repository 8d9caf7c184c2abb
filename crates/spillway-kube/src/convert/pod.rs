use k8s_openapi::api::core::v1::PodSpec;
use spillway_core::{
    resources::Resources,
    snapshot::{BoundPod, VmPod, VmPodState},
    time::Timestamp,
};

use super::{ConvertError, ResourceList, resources};
use crate::{
    compact::{CompactPod, ConditionStatus, PodPhase},
    intern::Interner,
};

/// The pod's effective request as the scheduler computes it: the sum of the
/// containers (plus sidecars, init containers with `restartPolicy: Always`),
/// raised to the largest init container (plus the sidecars started before
/// it), plus the pod overhead.
pub fn effective_requests(spec: &PodSpec) -> Result<Resources, ConvertError> {
    effective_requests_of(
        spec.containers
            .iter()
            .map(|c| c.resources.as_ref().and_then(|r| r.requests.as_ref())),
        spec.init_containers.iter().flatten().map(|c| {
            (
                c.resources.as_ref().and_then(|r| r.requests.as_ref()),
                c.restart_policy.as_deref(),
            )
        }),
        spec.overhead.as_ref(),
    )
}

/// [`effective_requests`] over any container representation: the
/// containers' requests, the init containers' requests with their
/// `restartPolicy`, and the overhead. Shared by the pod template (k8s-openapi
/// types) and the compact reflector pods.
pub(crate) fn effective_requests_of<'a>(
    containers: impl IntoIterator<Item = Option<&'a ResourceList>>,
    init_containers: impl IntoIterator<Item = (Option<&'a ResourceList>, Option<&'a str>)>,
    overhead: Option<&ResourceList>,
) -> Result<Resources, ConvertError> {
    let mut total = Resources::default();
    for (i, requests) in containers.into_iter().enumerate() {
        let r = resources(requests, &format!("spec.containers[{i}].resources.requests"))?;
        total.add_assign(&r);
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for (i, (requests, restart_policy)) in init_containers.into_iter().enumerate() {
        let r = resources(requests, &format!("spec.initContainers[{i}].resources.requests"))?;
        if restart_policy == Some("Always") {
            total.add_assign(&r);
            sidecars.add_assign(&r);
            init_peak.max_assign(&sidecars);
        } else {
            let mut during = r;
            during.add_assign(&sidecars);
            init_peak.max_assign(&during);
        }
    }
    total.max_assign(&init_peak);
    let overhead = resources(overhead, "spec.overhead")?;
    total.add_assign(&overhead);
    Ok(total)
}

/// `Succeeded` or `Failed`: holds no resources any more.
pub fn is_terminal(pod: &CompactPod) -> bool {
    matches!(pod.phase, Some(PodPhase::Succeeded | PodPhase::Failed))
}

/// The pod's request on its node, or `None` when it is not bound or is
/// terminal. Terminating pods still count: the scheduler counts them until
/// they are gone. Its node, namespace and labels are shared through `intern`.
pub fn bound_pod(pod: &CompactPod, intern: &mut Interner) -> Option<Result<BoundPod, ConvertError>> {
    let node = pod.node_name.as_deref()?;
    if is_terminal(pod) {
        return None;
    }
    Some(pod.requests.clone().map(|requests| BoundPod {
        node: intern.str(node),
        namespace: intern.str(pod.metadata.namespace.as_deref().unwrap_or_default()),
        labels: intern.labels(pod.metadata.labels.as_ref()),
        requests,
    }))
}

/// Where one of the workload's pods stands, or `None` when it is
/// terminating or terminal (the planner leaves those out).
///
/// * `Ready` condition true: [`VmPodState::Ready`].
/// * bound to a node or `PodScheduled=True`: [`VmPodState::Starting`].
/// * otherwise pending; `PodScheduled=False, reason=Unschedulable` is the
///   scheduler's verdict that no node fits.
pub fn vm_pod(pod: &CompactPod) -> Option<VmPod> {
    if pod.metadata.deletion_timestamp.is_some() || is_terminal(pod) {
        return None;
    }
    let c = &pod.conditions;
    let state = if c.ready == Some(ConditionStatus::True) {
        VmPodState::Ready
    } else if pod.node_name.is_some() || c.scheduled == Some(ConditionStatus::True) {
        VmPodState::Starting
    } else {
        VmPodState::Pending {
            unschedulable: c.scheduled == Some(ConditionStatus::False) && c.unschedulable,
        }
    };
    let created_at = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(Timestamp(0), |t| Timestamp(t.0.as_millisecond()));
    Some(VmPod {
        name: pod.metadata.name.clone().unwrap_or_default(),
        state,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    use k8s_openapi::api::core::v1::Pod;

    fn pod(v: serde_json::Value) -> CompactPod {
        serde_json::from_value(v).expect("pod json")
    }

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value::<Pod>(v)
            .expect("pod json")
            .spec
            .expect("spec")
    }

    #[test]
    fn containers_sum_raised_to_the_largest_init_container() {
        let v = json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "0.25", "memory": "256Mi"}}}],
            "initContainers": [
                {"name": "migrate", "resources": {"requests": {"cpu": "1", "memory": "128Mi"}}},
                {"name": "warm", "resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}}]}});
        let r = effective_requests(&spec(v.clone())).expect("ok");
        assert_eq!(pod(v).requests, Ok(r.clone()), "compact pods compute the same");
        assert_eq!(r.cpu_millis, 1000);
        assert_eq!(r.memory_bytes, 1 << 30);
    }

    #[test]
    fn sidecars_add_to_containers_and_to_later_init_containers() {
        let v = json!({"spec": {
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}],
            "overhead": {"cpu": "10m"},
            "initContainers": [
                {"name": "mesh", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}},
                {"name": "init", "resources": {"requests": {"cpu": "900m"}}}]}});
        let r = effective_requests(&spec(v.clone())).expect("ok");
        assert_eq!(pod(v).requests, Ok(r.clone()), "compact pods compute the same");
        // max(500 + 100, 900 + 100) + 10 overhead
        assert_eq!(r.cpu_millis, 1010);
    }

    #[test]
    fn malformed_quantity_is_an_error_naming_the_field() {
        let p = pod(json!({"spec": {"nodeName": "n1",
            "containers": [{"name": "a", "resources": {"requests": {"memory": "12 GB"}}}]}}));
        let err = bound_pod(&p, &mut Interner::new())
            .expect("bound")
            .expect_err("malformed");
        assert_eq!(err.label(), "malformed_quantity");
        assert!(
            err.to_string()
                .contains("spec.containers[0].resources.requests.memory"),
            "{err}"
        );
    }

    #[test]
    fn unbound_and_terminal_pods_hold_nothing() {
        let unbound = pod(json!({"spec": {"containers": []}}));
        assert!(bound_pod(&unbound, &mut Interner::new()).is_none());
        let done =
            pod(json!({"spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Succeeded"}}));
        assert!(bound_pod(&done, &mut Interner::new()).is_none());
    }

    fn state(v: serde_json::Value) -> Option<VmPodState> {
        vm_pod(&pod(v)).map(|p| p.state)
    }

    #[test]
    fn states_from_conditions() {
        let c = |t: &str, s: &str, r: Option<&str>| json!({"type": t, "status": s, "reason": r});
        assert_eq!(
            state(json!({"spec": {"nodeName": "n", "containers": []},
                "status": {"conditions": [c("PodScheduled", "True", None), c("Ready", "True", None)]}})),
            Some(VmPodState::Ready)
        );
        assert_eq!(
            state(json!({"spec": {"nodeName": "n", "containers": []},
                "status": {"conditions": [c("PodScheduled", "True", None), c("Ready", "False", None)]}})),
            Some(VmPodState::Starting)
        );
        assert_eq!(
            state(json!({"spec": {"containers": []}, "status": {"phase": "Pending"}})),
            Some(VmPodState::Pending { unschedulable: false })
        );
        assert_eq!(
            state(json!({"spec": {"containers": []}, "status": {"phase": "Pending",
                "conditions": [c("PodScheduled", "False", Some("Unschedulable"))]}})),
            Some(VmPodState::Pending { unschedulable: true })
        );
        assert_eq!(
            state(json!({"metadata": {"deletionTimestamp": "2026-11-27T10:00:00Z"},
                "spec": {"nodeName": "n", "containers": []}})),
            None
        );
        assert_eq!(
            state(json!({"spec": {"nodeName": "n", "containers": []}, "status": {"phase": "Failed"}})),
            None
        );
    }

    #[test]
    fn creation_time_in_millis() {
        let p = vm_pod(&pod(
            json!({"metadata": {"name": "a", "creationTimestamp": "1970-01-01T00:00:10Z"},
            "spec": {"containers": []}}),
        ))
        .expect("pod");
        assert_eq!(p.created_at, Timestamp::from_secs(10));
    }
}
