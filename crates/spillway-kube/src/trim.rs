//! Memory trimming for reflector stores: keep only what the policy gate and
//! the EndpointSlice builder read. Applied by the watcher streams
//! (`WatchStreamExt::modify`) before objects enter a store. Pods and Nodes,
//! the bulk of a cluster, are not trimmed but read as the compact types of
//! [`crate::compact`], which never hold the dropped parts.

use k8s_openapi::{
    api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Service},
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

/// Keeps uid and ports (the EndpointSlice's owner and its target ports)
/// and the ClusterIP (`burst.dns` reads the cluster DNS Service's).
pub fn service(s: &mut Service) {
    trim_meta(&mut s.metadata);
    s.status = None;
    if let Some(spec) = s.spec.take() {
        s.spec = Some(k8s_openapi::api::core::v1::ServiceSpec {
            ports: spec.ports,
            selector: spec.selector,
            type_: spec.type_,
            cluster_ip: spec.cluster_ip,
            ..Default::default()
        });
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Service, ServiceSpec};

    /// The reflector's copy keeps what `burst.dns` and the EndpointSlice read.
    #[test]
    fn a_trimmed_service_keeps_its_cluster_ip_and_ports() {
        let mut s = Service {
            spec: Some(ServiceSpec {
                cluster_ip: Some("10.96.0.10".into()),
                cluster_ips: Some(vec!["10.96.0.10".into()]),
                session_affinity: Some("None".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        super::service(&mut s);
        let spec = s.spec.expect("spec kept");
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.10"));
        assert_eq!(spec.session_affinity, None, "the rest is dropped");
    }
}
