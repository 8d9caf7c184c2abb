//! Container resources in ACI's units and granularity (aligned with
//! `spillway_core::aci::GroupRequests`: 0.01 vCPU, 0.1 GB, rounded up).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k8s;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use spillway_core::aci::{GB, GroupRequests};
use spillway_core::quantity::Quantity;
use spillway_core::resources::Resources;

use super::error::{TranslateError, invalid, too_large, unsupported};
use crate::model::{ResourceLimits, ResourceRequests, ResourceRequirements};

/// ACI's storage per group (Microsoft Learn quota page).
const MAX_STORAGE_BYTES: i64 = 50 * GB;

#[derive(Debug)]
pub(crate) struct ContainerResources {
    pub aci: ResourceRequirements,
    pub requests: GroupRequests,
    pub ephemeral_bytes: i64,
}

fn parse(list: Option<&BTreeMap<String, K8sQuantity>>, path: &str) -> Result<Resources, TranslateError> {
    let mut parsed = Vec::new();
    for (name, q) in list.into_iter().flatten() {
        let p = format!("{path}.{name}");
        let v = Quantity::parse(&q.0).map_err(|e| invalid(&p, format!("{:?}: {e}", q.0)))?;
        if v.is_negative() {
            return Err(invalid(p, "must not be negative"));
        }
        match name.as_str() {
            "cpu" | "memory" | "ephemeral-storage" => parsed.push((name.as_str(), v)),
            other => {
                return Err(unsupported(
                    p,
                    format!("ACI container groups have no resource {other:?} (GPU SKUs are retired)"),
                ));
            }
        }
    }
    Ok(Resources::from_quantities(parsed))
}

/// Requests (defaulting to limits, as the API server does) and limits.
pub(crate) fn container_resources(
    r: Option<&k8s::ResourceRequirements>,
    path: &str,
) -> Result<ContainerResources, TranslateError> {
    let path = format!("{path}.resources");
    if r.and_then(|r| r.claims.as_ref()).is_some_and(|c| !c.is_empty()) {
        return Err(unsupported(
            format!("{path}.claims"),
            "ACI has no dynamic resource claims",
        ));
    }
    let req = parse(r.and_then(|r| r.requests.as_ref()), &format!("{path}.requests"))?;
    let lim = parse(r.and_then(|r| r.limits.as_ref()), &format!("{path}.limits"))?;
    let has_lim = |name: &str| {
        r.and_then(|r| r.limits.as_ref())
            .is_some_and(|l| l.contains_key(name))
    };
    let has_req = |name: &str| {
        r.and_then(|r| r.requests.as_ref())
            .is_some_and(|l| l.contains_key(name))
    };
    let effective = Resources {
        cpu_millis: if has_req("cpu") {
            req.cpu_millis
        } else {
            lim.cpu_millis
        },
        memory_bytes: if has_req("memory") {
            req.memory_bytes
        } else {
            lim.memory_bytes
        },
        ..Resources::default()
    };
    let requests = GroupRequests::from_template(&effective);
    let limits = if has_lim("cpu") || has_lim("memory") {
        let l = GroupRequests::from_template(&Resources {
            cpu_millis: if has_lim("cpu") {
                lim.cpu_millis
            } else {
                effective.cpu_millis
            },
            memory_bytes: if has_lim("memory") {
                lim.memory_bytes
            } else {
                effective.memory_bytes
            },
            ..Resources::default()
        });
        if l.cpu_centi < requests.cpu_centi || l.memory_deci_gb < requests.memory_deci_gb {
            return Err(invalid(&path, "limits are below requests"));
        }
        Some(ResourceLimits {
            cpu: has_lim("cpu").then(|| l.cpu()),
            memory_in_gb: has_lim("memory").then(|| l.memory_gb()),
        })
    } else {
        None
    };
    Ok(ContainerResources {
        aci: ResourceRequirements {
            requests: ResourceRequests {
                cpu: requests.cpu(),
                memory_in_gb: requests.memory_gb(),
                gpu: None,
            },
            limits,
        },
        requests,
        ephemeral_bytes: req.ephemeral_storage_bytes.max(lim.ephemeral_storage_bytes),
    })
}

pub(crate) fn check_storage(total_bytes: i64) -> Result<(), TranslateError> {
    if total_bytes > MAX_STORAGE_BYTES {
        return Err(too_large(
            "spec.containers[*].resources.ephemeral-storage",
            format!("{} GB exceeds ACI's 50 GB per group", total_bytes / GB),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(req: &[(&str, &str)], lim: &[(&str, &str)]) -> k8s::ResourceRequirements {
        let m = |v: &[(&str, &str)]| {
            (!v.is_empty()).then(|| {
                v.iter()
                    .map(|(k, q)| (k.to_string(), K8sQuantity(q.to_string())))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        k8s::ResourceRequirements {
            requests: m(req),
            limits: m(lim),
            ..Default::default()
        }
    }

    #[test]
    fn rounds_and_defaults_to_limits() {
        let r = container_resources(Some(&rr(&[("cpu", "250m"), ("memory", "512Mi")], &[])), "c").unwrap();
        assert_eq!((r.aci.requests.cpu, r.aci.requests.memory_in_gb), (0.25, 0.5));
        assert!(r.aci.limits.is_none());
        let r = container_resources(Some(&rr(&[], &[("cpu", "1"), ("memory", "1Gi")])), "c").unwrap();
        assert_eq!((r.aci.requests.cpu, r.aci.requests.memory_in_gb), (1.0, 1.0));
        assert_eq!(r.aci.limits.as_ref().unwrap().cpu, Some(1.0));
        let r = container_resources(None, "c").unwrap();
        assert_eq!((r.requests.cpu_centi, r.requests.memory_deci_gb), (1, 1));
    }

    #[test]
    fn rejects_gpus_and_bad_quantities() {
        let e = container_resources(Some(&rr(&[("nvidia.com/gpu", "1")], &[])), "spec.containers[0]")
            .unwrap_err();
        assert_eq!(e.path(), "spec.containers[0].resources.requests.nvidia.com/gpu");
        let e = container_resources(Some(&rr(&[("cpu", "lots")], &[])), "c").unwrap_err();
        assert!(matches!(e, TranslateError::Invalid { .. }));
        let e = container_resources(Some(&rr(&[("cpu", "2")], &[("cpu", "1")])), "c").unwrap_err();
        assert!(matches!(e, TranslateError::Invalid { .. }));
    }
}
