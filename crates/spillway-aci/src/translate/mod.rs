//! A Kubernetes pod template → an ACI container-group body (DESIGN.md §5).
//!
//! Anything ACI cannot express is a [`TranslateError`] naming the field,
//! never silently dropped. Deliberately ignored, because they only steer
//! scheduling onto VM nodes or are defaults the API server fills in:
//! `nodeSelector` (except a Windows OS selector), `affinity`, `tolerations`,
//! `topologySpreadConstraints`, `priority*`, `preemptionPolicy`,
//! `schedulerName`, `schedulingGates`, `readinessGates`,
//! `terminationGracePeriodSeconds`, `serviceAccountName` and
//! `automountServiceAccountToken` (ACI groups get no service-account token),
//! `enableServiceLinks`, `imagePullPolicy`, `terminationMessage*`,
//! `resizePolicy`, and `dnsPolicy` `ClusterFirst`/`Default` (ACI groups use
//! Azure DNS: cluster service names do not resolve unless `dnsConfig` names
//! a reachable server).

mod container;
mod dns;
mod env;
mod error;
mod probe;
pub mod profile;
mod registry;
mod resolve;
mod resources;
mod volumes;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k8s;
use spillway_core::aci::{GroupLimits, GroupRequests, group_name};
use spillway_core::config::AciPriority;

pub use error::TranslateError;
pub use resolve::{MapResolver, ValueResolver};

use self::container::{Ctx, app_container, init_container};
use self::env::PodFacts;
use self::error::{invalid, too_large, unsupported};
use crate::inventory::group_tags;
use crate::model::{ContainerGroup, ContainerGroupProperties, IpAddress, Port, SubnetId};
use crate::naming::name_problem;

const MAX_CONTAINERS: usize = 60;
const MAX_PORTS_PER_IP: usize = 5;

/// How the group is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// A private IP in this subnet (an ARM subnet id), reachable from the cluster.
    Private { subnet_id: String },
    /// A public IP, with an optional DNS label.
    Public { dns_name_label: Option<String> },
}

/// Everything besides the pod template that shapes the group.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub cluster_id: String,
    pub policy: String,
    pub ordinal: u32,
    pub template_hash: String,
    /// The namespace of the workload (for `fieldRef: metadata.namespace`).
    pub namespace: String,
    pub location: String,
    pub network: Network,
    pub priority: AciPriority,
    /// Per-group maxima; `None` uses [`GroupLimits::for_priority`].
    pub limits: Option<GroupLimits>,
    /// The availability zone (`zones: [zone]`), when the plan chose one.
    pub zone: Option<String>,
    /// `burst.dns`: the cluster DNS a `ClusterFirst` pod resolves through.
    pub cluster_dns: Option<spillway_core::config::ClusterDns>,
}

/// The body to PUT, under its deterministic name.
#[derive(Debug, Clone)]
pub struct Translated {
    pub name: String,
    pub body: ContainerGroup,
    /// What the group requests in total (the app containers' sum).
    pub requests: GroupRequests,
}

pub fn translate(
    template: &k8s::PodTemplateSpec,
    spec: &GroupSpec,
    resolver: &dyn ValueResolver,
) -> Result<Translated, TranslateError> {
    let name = group_name(&spec.cluster_id, &spec.policy, spec.ordinal);
    if let Some(p) = name_problem(&name) {
        return Err(invalid("cluster.id/policy", format!("container group name {p}")));
    }
    let pod = template
        .spec
        .as_ref()
        .ok_or_else(|| invalid("spec", "the template has no pod spec"))?;
    pod_checks(pod, spec)?;
    let empty = BTreeMap::new();
    let meta = template.metadata.as_ref();
    let facts = PodFacts {
        name: &name,
        namespace: &spec.namespace,
        labels: meta.and_then(|m| m.labels.as_ref()).unwrap_or(&empty),
        annotations: meta.and_then(|m| m.annotations.as_ref()).unwrap_or(&empty),
    };
    let vols = volumes::volumes(pod, resolver)?;
    let ctx = Ctx {
        facts,
        resolver,
        volumes: &vols,
        pod_security: pod.security_context.as_ref(),
    };
    if pod.containers.is_empty() {
        return Err(invalid("spec.containers", "must not be empty"));
    }
    if pod.containers.len() > MAX_CONTAINERS {
        return Err(too_large(
            "spec.containers",
            format!("ACI allows {MAX_CONTAINERS} containers per group"),
        ));
    }
    let mut containers = Vec::new();
    let mut total = GroupRequests {
        cpu_centi: 0,
        memory_deci_gb: 0,
    };
    let mut storage = 0i64;
    for (i, c) in pod.containers.iter().enumerate() {
        let built = app_container(c, &format!("spec.containers[{i}]"), &ctx)?;
        total.cpu_centi += built.resources.requests.cpu_centi;
        total.memory_deci_gb += built.resources.requests.memory_deci_gb;
        storage += built.resources.ephemeral_bytes;
        containers.push(built.container);
    }
    let mut init_containers = Vec::new();
    for (i, c) in pod.init_containers.iter().flatten().enumerate() {
        let path = format!("spec.initContainers[{i}]");
        let (ic, r) = init_container(c, &path, &ctx)?;
        if r.requests.cpu_centi > total.cpu_centi || r.requests.memory_deci_gb > total.memory_deci_gb {
            return Err(unsupported(
                format!("{path}.resources"),
                "ACI runs init containers within the app containers' resources; this one asks for more",
            ));
        }
        storage = storage.max(r.ephemeral_bytes);
        init_containers.push(ic);
    }
    let limits = spec
        .limits
        .unwrap_or_else(|| GroupLimits::for_priority(spec.priority));
    if let Some(why) = total.exceeds(limits) {
        return Err(too_large("spec.containers[*].resources", why));
    }
    resources::check_storage(storage)?;
    let (ip_address, subnet_ids) = network(&containers, &spec.network, spec.priority)?;
    let restart_policy = match pod.restart_policy.as_deref().unwrap_or("Always") {
        p @ ("Always" | "OnFailure" | "Never") => p.to_string(),
        other => return Err(invalid("spec.restartPolicy", format!("{other:?}"))),
    };
    let body = ContainerGroup {
        location: Some(spec.location.clone()),
        tags: group_tags(&spec.cluster_id, &spec.policy, &spec.template_hash, spec.ordinal),
        zones: spec.zone.iter().cloned().collect(),
        properties: ContainerGroupProperties {
            containers,
            init_containers,
            image_registry_credentials: registry::credentials(pod, resolver)?,
            restart_policy: Some(restart_policy),
            ip_address,
            os_type: Some("Linux".into()),
            volumes: vols,
            subnet_ids,
            priority: Some(
                match spec.priority {
                    AciPriority::Regular => "Regular",
                    AciPriority::Spot => "Spot",
                }
                .into(),
            ),
            sku: Some("Standard".into()),
            extra: dns::dns_config(pod, spec)?,
            ..Default::default()
        },
        ..Default::default()
    };
    Ok(Translated {
        name,
        body,
        requests: total,
    })
}

fn pod_checks(pod: &k8s::PodSpec, spec: &GroupSpec) -> Result<(), TranslateError> {
    let checks = [
        (
            "hostNetwork",
            pod.host_network == Some(true),
            "ACI groups have their own network",
        ),
        (
            "hostPID",
            pod.host_pid == Some(true),
            "ACI has no host PID namespace",
        ),
        (
            "hostIPC",
            pod.host_ipc == Some(true),
            "ACI has no host IPC namespace",
        ),
        (
            "hostUsers",
            pod.host_users == Some(false),
            "ACI has no user namespaces setting",
        ),
        (
            "shareProcessNamespace",
            pod.share_process_namespace == Some(true),
            "ACI does not share process namespaces",
        ),
        (
            "hostAliases",
            pod.host_aliases.as_ref().is_some_and(|h| !h.is_empty()),
            "ACI has no /etc/hosts entries",
        ),
        (
            "hostname",
            pod.hostname.as_deref().is_some_and(|h| !h.is_empty()),
            "ACI sets its own hostname",
        ),
        (
            "subdomain",
            pod.subdomain.as_deref().is_some_and(|h| !h.is_empty()),
            "ACI sets its own hostname",
        ),
        (
            "runtimeClassName",
            pod.runtime_class_name.as_deref().is_some_and(|r| !r.is_empty()),
            "ACI has no runtime classes",
        ),
        (
            "resourceClaims",
            pod.resource_claims.as_ref().is_some_and(|r| !r.is_empty()),
            "ACI has no dynamic resources",
        ),
        (
            "activeDeadlineSeconds",
            pod.active_deadline_seconds.is_some(),
            "ACI has no active deadline",
        ),
        (
            "resources",
            pod.resources.is_some(),
            "ACI has no pod-level resources",
        ),
    ];
    for (field, set, reason) in checks {
        if set {
            return Err(unsupported(format!("spec.{field}"), reason));
        }
    }
    let windows = pod
        .os
        .as_ref()
        .is_some_and(|o| o.name.eq_ignore_ascii_case("windows"))
        || pod
            .node_selector
            .as_ref()
            .and_then(|n| n.get("kubernetes.io/os"))
            .is_some_and(|o| o.eq_ignore_ascii_case("windows"));
    if windows {
        return Err(unsupported(
            "spec.os",
            "Spillway runs Linux container groups only",
        ));
    }
    if spec.priority == AciPriority::Spot && matches!(spec.network, Network::Private { .. }) {
        return Err(unsupported(
            "burst.priority",
            "Spot container groups cannot join a virtual network",
        ));
    }
    Ok(())
}

/// The group IP exposes every container port (ACI has no port mapping).
fn network(
    containers: &[crate::model::Container],
    net: &Network,
    _priority: AciPriority,
) -> Result<(Option<IpAddress>, Vec<SubnetId>), TranslateError> {
    let mut ports: Vec<Port> = Vec::new();
    for c in containers {
        for p in &c.properties.ports {
            let port = Port {
                port: p.port,
                protocol: p.protocol.clone(),
            };
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
    }
    if ports.len() > MAX_PORTS_PER_IP {
        return Err(too_large(
            "spec.containers[*].ports",
            format!(
                "{} ports; ACI exposes at most {MAX_PORTS_PER_IP} per IP",
                ports.len()
            ),
        ));
    }
    let (ip_type, dns_name_label, subnets) = match net {
        Network::Private { subnet_id } => (
            "Private",
            None,
            vec![SubnetId {
                id: subnet_id.clone(),
                name: None,
            }],
        ),
        Network::Public { dns_name_label } => ("Public", dns_name_label.clone(), vec![]),
    };
    let ip = (!ports.is_empty()).then(|| IpAddress {
        ports,
        ip_type: ip_type.into(),
        dns_name_label,
        ..Default::default()
    });
    Ok((ip, subnets))
}
