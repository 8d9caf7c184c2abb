//! One EndpointSlice per policy with a `service`, listing the ready burst
//! replicas (and draining ones as terminating) with the Service's target
//! ports. Body building is pure; publishing is a server-side apply.

use std::{collections::BTreeMap, net::IpAddr};

use k8s_openapi::{
    api::{
        core::v1::Service,
        discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice},
    },
    apimachinery::pkg::{
        apis::meta::v1::{ObjectMeta, OwnerReference},
        util::intstr::IntOrString,
    },
};
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};

use crate::scale::FIELD_MANAGER;

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// Our value: the built-in EndpointSlice controller leaves such slices alone.
pub const MANAGED_BY: &str = "spillway.io";
pub const POLICY_LABEL: &str = "spillway.io/policy";

pub use spillway_controller::BurstEndpoint;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SliceError {
    #[error("service has no uid (not read from the API?)")]
    NoServiceUid,
    #[error("service has no name or namespace")]
    NoServiceName,
}

/// The slice and what was left out of it, each with a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceBody {
    pub slice: EndpointSlice,
    pub skipped: Vec<String>,
}

/// `spillway-<policy>`, made a valid DNS subdomain.
pub fn slice_name(policy: &str) -> String {
    let mut s: String = format!("spillway-{policy}")
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(253);
    s.trim_end_matches(['-', '.']).to_string()
}

/// Builds the slice. `named_ports` resolves a Service `targetPort` given by
/// name against the pod template's container ports.
pub fn build_slice(
    policy: &str,
    service: &Service,
    named_ports: &BTreeMap<String, (i32, String)>,
    endpoints: &[BurstEndpoint],
) -> Result<SliceBody, SliceError> {
    let svc_name = service.metadata.name.clone().ok_or(SliceError::NoServiceName)?;
    let namespace = service
        .metadata
        .namespace
        .clone()
        .ok_or(SliceError::NoServiceName)?;
    let uid = service.metadata.uid.clone().ok_or(SliceError::NoServiceUid)?;
    let mut skipped = Vec::new();

    let mut ports = Vec::new();
    for p in service.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
        let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".into());
        let port = match &p.target_port {
            None => Some(p.port),
            Some(IntOrString::Int(n)) => Some(*n),
            Some(IntOrString::String(name)) => match named_ports.get(name) {
                Some((n, _)) => Some(*n),
                None => {
                    skipped.push(format!(
                        "port {}: targetPort {name:?} is not a container port",
                        p.port
                    ));
                    None
                }
            },
        };
        if let Some(port) = port {
            ports.push(EndpointPort {
                name: Some(p.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(protocol),
                app_protocol: p.app_protocol.clone(),
            });
        }
    }

    let mut eps: Vec<&BurstEndpoint> = Vec::new();
    for e in endpoints {
        match e.ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => eps.push(e),
            Ok(IpAddr::V6(_)) => skipped.push(format!("{}: IPv6 address {} in an IPv4 slice", e.name, e.ip)),
            Err(_) => skipped.push(format!("{}: {:?} is not an IP address", e.name, e.ip)),
        }
    }
    eps.sort_by(|a, b| a.name.cmp(&b.name));
    let endpoints = eps
        .into_iter()
        .map(|e| Endpoint {
            addresses: vec![e.ip.clone()],
            conditions: Some(EndpointConditions {
                ready: Some(e.ready && !e.draining),
                serving: Some(e.ready),
                terminating: Some(e.draining),
            }),
            hostname: None,
            ..Default::default()
        })
        .collect();

    let labels = BTreeMap::from([
        (SERVICE_NAME_LABEL.to_string(), svc_name.clone()),
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (POLICY_LABEL.to_string(), policy.to_string()),
    ]);
    let slice = EndpointSlice {
        metadata: ObjectMeta {
            name: Some(slice_name(policy)),
            namespace: Some(namespace),
            labels: Some(labels),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Service".into(),
                name: svc_name,
                uid,
                controller: None,
                block_owner_deletion: None,
            }]),
            ..Default::default()
        },
        address_type: "IPv4".into(),
        endpoints,
        ports: Some(ports),
    };
    Ok(SliceBody { slice, skipped })
}

/// Server-side apply of the slice (creates it if missing).
pub async fn apply(api: &Api<EndpointSlice>, slice: &EndpointSlice) -> Result<EndpointSlice, kube::Error> {
    let name = slice.metadata.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(slice),
    )
    .await
}

/// Deletes a slice; a slice already gone is fine.
pub async fn remove(api: &Api<EndpointSlice>, name: &str) -> Result<bool, kube::Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Our slices cluster-wide, as (namespace, name, policy).
pub async fn list_ours(api: &Api<EndpointSlice>) -> Result<Vec<(String, String, String)>, kube::Error> {
    let list = api
        .list(&ListParams::default().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY}")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|s| {
            let policy = s.metadata.labels.as_ref()?.get(POLICY_LABEL)?.clone();
            Some((s.metadata.namespace?, s.metadata.name?, policy))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_subdomains() {
        assert_eq!(slice_name("web"), "spillway-web");
        assert_eq!(slice_name("Web_API"), "spillway-web-api");
    }
}
