//! Memory trimming for reflector stores: keep only what the snapshot, the
//! policy gate and the EndpointSlice builder read. Applied by the watcher
//! streams (`WatchStreamExt::modify`) before objects enter a store.

use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        autoscaling::v2::HorizontalPodAutoscaler,
        core::v1::{Container, Node, Pod, PodCondition, ResourceRequirements, Service},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

/// Metadata every store needs: identity, labels, timestamps. Drops
/// `managedFields`, annotations, finalizers, owner references.
fn trim_meta(meta: &mut ObjectMeta) {
    meta.managed_fields = None;
    meta.annotations = None;
    meta.finalizers = None;
    meta.owner_references = None;
    meta.generate_name = None;
}

/// Keeps name, labels, taints, `unschedulable`, allocatable and the `Ready` condition.
pub fn node(n: &mut Node) {
    trim_meta(&mut n.metadata);
    if let Some(spec) = &mut n.spec {
        spec.config_source = None;
        spec.external_id = None;
        spec.pod_cidr = None;
        spec.pod_cidrs = None;
        spec.provider_id = None;
    }
    if let Some(status) = &mut n.status {
        status.addresses = None;
        status.capacity = None;
        status.config = None;
        status.daemon_endpoints = None;
        status.features = None;
        status.images = None;
        status.node_info = None;
        status.phase = None;
        status.runtime_handlers = None;
        status.volumes_attached = None;
        status.volumes_in_use = None;
        if let Some(conditions) = &mut status.conditions {
            conditions.retain(|c| c.type_ == "Ready");
            for c in conditions.iter_mut() {
                c.message = None;
                c.reason = None;
                c.last_heartbeat_time = None;
                c.last_transition_time = None;
            }
        }
    }
}

fn requests_only(c: &mut Container) {
    let requests = c.resources.take().and_then(|r| r.requests);
    let restart_policy = c.restart_policy.take();
    *c = Container {
        name: std::mem::take(&mut c.name),
        resources: requests.map(|requests| ResourceRequirements {
            requests: Some(requests),
            ..Default::default()
        }),
        // `Always` on an init container marks a sidecar, which changes the effective request.
        restart_policy,
        ..Default::default()
    };
}

/// Keeps labels, timestamps, node, container requests, overhead, phase, and
/// the `PodScheduled`/`Ready` conditions (type, status, reason).
pub fn pod(p: &mut Pod) {
    trim_meta(&mut p.metadata);
    if let Some(spec) = p.spec.take() {
        let mut containers = spec.containers;
        containers.iter_mut().for_each(requests_only);
        let mut init = spec.init_containers;
        if let Some(init) = &mut init {
            init.iter_mut().for_each(requests_only);
        }
        p.spec = Some(k8s_openapi::api::core::v1::PodSpec {
            containers,
            init_containers: init,
            node_name: spec.node_name,
            overhead: spec.overhead,
            ..Default::default()
        });
    }
    if let Some(status) = p.status.take() {
        let conditions = status.conditions.map(|cs| {
            cs.into_iter()
                .filter(|c| c.type_ == "PodScheduled" || c.type_ == "Ready")
                .map(|c| PodCondition {
                    type_: c.type_,
                    status: c.status,
                    reason: c.reason,
                    ..Default::default()
                })
                .collect()
        });
        p.status = Some(k8s_openapi::api::core::v1::PodStatus {
            phase: status.phase,
            conditions,
            ..Default::default()
        });
    }
}

/// Keeps the spec whole (the template is translated and hashed) and drops status.
pub fn deployment(d: &mut Deployment) {
    trim_meta(&mut d.metadata);
    d.status = None;
}

/// Keeps only `scaleTargetRef`: an HPA on a policy's target disables the policy.
pub fn hpa(h: &mut HorizontalPodAutoscaler) {
    trim_meta(&mut h.metadata);
    h.status = None;
    if let Some(spec) = &mut h.spec {
        spec.behavior = None;
        spec.metrics = None;
    }
}

/// Keeps uid and ports: the EndpointSlice's owner and its target ports.
pub fn service(s: &mut Service) {
    trim_meta(&mut s.metadata);
    s.status = None;
    if let Some(spec) = s.spec.take() {
        s.spec = Some(k8s_openapi::api::core::v1::ServiceSpec {
            ports: spec.ports,
            selector: spec.selector,
            type_: spec.type_,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_keeps_what_the_snapshot_reads() {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "812",
                "labels": {"app": "web"}, "annotations": {"big": "x".repeat(1000)},
                "managedFields": [{"manager": "kubelet"}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:1",
                "env": [{"name": "A", "value": "b"}],
                "resources": {"requests": {"cpu": "250m"}, "limits": {"cpu": "1"}}}],
                "initContainers": [{"name": "proxy", "image": "p", "restartPolicy": "Always",
                "resources": {"requests": {"memory": "64Mi"}}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "conditions": [
                {"type": "Ready", "status": "True", "message": "m", "lastTransitionTime": "2026-01-01T00:00:00Z"},
                {"type": "ContainersReady", "status": "True"}]}
        }))
        .expect("pod");
        pod(&mut p);
        let v = serde_json::to_value(&p).expect("json");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1", "resourceVersion": "812",
                    "labels": {"app": "web"}},
                "spec": {"nodeName": "n1", "containers": [{"name": "app", "resources": {"requests": {"cpu": "250m"}}}],
                    "initContainers": [{"name": "proxy", "restartPolicy": "Always",
                        "resources": {"requests": {"memory": "64Mi"}}}]},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
            })
        );
    }

    #[test]
    fn node_drops_images_and_keeps_allocatable() {
        let mut n: Node = serde_json::from_value(json!({
            "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}], "providerID": "azure:///x"},
            "status": {"allocatable": {"cpu": "4", "pods": "110"}, "capacity": {"cpu": "4"},
                "images": [{"names": ["a"], "sizeBytes": 1}],
                "conditions": [{"type": "Ready", "status": "True", "message": "kubelet ready"},
                               {"type": "MemoryPressure", "status": "False"}]}
        }))
        .expect("node");
        node(&mut n);
        let v = serde_json::to_value(&n).expect("json");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
                "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
                "status": {"allocatable": {"cpu": "4", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": "True"}]}
            })
        );
    }
}
