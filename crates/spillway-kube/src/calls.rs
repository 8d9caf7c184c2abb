//! Every Kubernetes API call this crate makes, in one table. The code names
//! its calls from here, and `tests/rbac.rs` checks the install manifests in
//! `config/deploy/` grant exactly these (plus [`RBAC_ALLOWANCE`]).

/// Where a call is made, which decides whether a ClusterRole or a namespaced
/// Role must grant it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Cluster-wide (list/watch across namespaces, or cluster-scoped objects).
    Cluster,
    /// Only in the controller's own namespace (its ConfigMap, its Lease).
    ControllerNamespace,
    /// Only in the namespaces of the policies' targets (Secrets read on demand).
    WorkloadNamespace,
}

/// One (API group, resource, verb) the code uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiCall {
    /// `""` is the core group.
    pub group: &'static str,
    /// Plural resource, with `/subresource` where one is used.
    pub resource: &'static str,
    pub verb: &'static str,
    pub scope: Scope,
    pub why: &'static str,
}

const fn call(
    group: &'static str,
    resource: &'static str,
    verb: &'static str,
    scope: Scope,
    why: &'static str,
) -> ApiCall {
    ApiCall {
        group,
        resource,
        verb,
        scope,
        why,
    }
}

use Scope::{Cluster, ControllerNamespace, WorkloadNamespace};

pub const NODES_LIST: ApiCall = call("", "nodes", "list", Cluster, "node reflector: initial list");
pub const NODES_WATCH: ApiCall = call("", "nodes", "watch", Cluster, "node reflector");
pub const PODS_LIST: ApiCall = call("", "pods", "list", Cluster, "pod reflector: initial list");
pub const PODS_WATCH: ApiCall = call("", "pods", "watch", Cluster, "pod reflector");
pub const SERVICES_LIST: ApiCall = call("", "services", "list", Cluster, "service reflector: initial list");
pub const SERVICES_WATCH: ApiCall = call("", "services", "watch", Cluster, "service reflector");
pub const DEPLOYMENTS_LIST: ApiCall = call("apps", "deployments", "list", Cluster, "deployment reflector");
pub const DEPLOYMENTS_WATCH: ApiCall = call("apps", "deployments", "watch", Cluster, "deployment reflector");
pub const HPAS_LIST: ApiCall = call(
    "autoscaling",
    "horizontalpodautoscalers",
    "list",
    Cluster,
    "HPA reflector: a target an HPA scales disables the policy",
);
pub const HPAS_WATCH: ApiCall = call(
    "autoscaling",
    "horizontalpodautoscalers",
    "watch",
    Cluster,
    "HPA reflector",
);
pub const SCALE_GET: ApiCall = call(
    "apps",
    "deployments/scale",
    "get",
    Cluster,
    "read replicas before a change",
);
pub const SCALE_PATCH: ApiCall = call("apps", "deployments/scale", "patch", Cluster, "set replicas");
pub const CONFIGMAP_LIST: ApiCall = call(
    "",
    "configmaps",
    "list",
    ControllerNamespace,
    "the `spillway` ConfigMap (watch by name)",
);
pub const CONFIGMAP_WATCH: ApiCall = call("", "configmaps", "watch", ControllerNamespace, "policy reload");
pub const LEASE_GET: ApiCall = call(
    "coordination.k8s.io",
    "leases",
    "get",
    ControllerNamespace,
    "leader election",
);
pub const LEASE_CREATE: ApiCall = call(
    "coordination.k8s.io",
    "leases",
    "create",
    ControllerNamespace,
    "leader election: first start",
);
pub const LEASE_PATCH: ApiCall = call(
    "coordination.k8s.io",
    "leases",
    "patch",
    ControllerNamespace,
    "leader election: acquire, renew, release",
);
pub const SECRET_GET: ApiCall = call(
    "",
    "secrets",
    "get",
    WorkloadNamespace,
    "env and imagePullSecrets of the pod template, on demand",
);
pub const CONFIGMAP_GET: ApiCall = call(
    "",
    "configmaps",
    "get",
    WorkloadNamespace,
    "env of the pod template, on demand",
);
pub const SLICE_LIST: ApiCall = call(
    "discovery.k8s.io",
    "endpointslices",
    "list",
    Cluster,
    "find our slices of removed policies",
);
pub const SLICE_CREATE: ApiCall = call(
    "discovery.k8s.io",
    "endpointslices",
    "create",
    Cluster,
    "server-side apply of a slice that does not exist yet",
);
pub const SLICE_PATCH: ApiCall = call(
    "discovery.k8s.io",
    "endpointslices",
    "patch",
    Cluster,
    "server-side apply of the burst endpoints",
);
pub const SLICE_DELETE: ApiCall = call(
    "discovery.k8s.io",
    "endpointslices",
    "delete",
    Cluster,
    "a policy or its service went away",
);
pub const EVENT_CREATE: ApiCall = call("events.k8s.io", "events", "create", Cluster, "decision events");
pub const EVENT_PATCH: ApiCall = call(
    "events.k8s.io",
    "events",
    "patch",
    Cluster,
    "event series (repeats)",
);

/// All calls the code makes.
pub const API_CALLS: &[ApiCall] = &[
    NODES_LIST,
    NODES_WATCH,
    PODS_LIST,
    PODS_WATCH,
    SERVICES_LIST,
    SERVICES_WATCH,
    DEPLOYMENTS_LIST,
    DEPLOYMENTS_WATCH,
    HPAS_LIST,
    HPAS_WATCH,
    SCALE_GET,
    SCALE_PATCH,
    CONFIGMAP_LIST,
    CONFIGMAP_WATCH,
    LEASE_GET,
    LEASE_CREATE,
    LEASE_PATCH,
    SECRET_GET,
    CONFIGMAP_GET,
    SLICE_LIST,
    SLICE_CREATE,
    SLICE_PATCH,
    SLICE_DELETE,
    EVENT_CREATE,
    EVENT_PATCH,
];

/// Grants the manifests may hold beyond [`API_CALLS`], each with its reason.
/// Empty: the install is exactly least privilege.
pub const RBAC_ALLOWANCE: &[(&str, &str, &str, &str)] = &[];
