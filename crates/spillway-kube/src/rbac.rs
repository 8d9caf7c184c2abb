//! Least-privilege check: do RBAC rules grant exactly the calls in
//! [`crate::calls::API_CALLS`]? Pure; the install-manifest test feeds it the
//! rules parsed from `config/deploy/`.

use std::collections::BTreeSet;

use crate::calls::{ApiCall, Scope};

/// One expanded grant: every (group, resource, verb) of a rule, with where it applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub group: String,
    pub resource: String,
    pub verb: String,
    /// `None` for a ClusterRole bound cluster-wide; the namespace of a Role otherwise.
    pub namespace: Option<String>,
    /// `resourceNames` restriction, empty for none.
    pub resource_names: Vec<String>,
}

/// A problem the check found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RbacProblem {
    /// The code makes this call and nothing grants it.
    Missing {
        group: String,
        resource: String,
        verb: String,
        scope: String,
    },
    /// Granted, but neither called nor allowed.
    Excess {
        group: String,
        resource: String,
        verb: String,
        namespace: Option<String>,
    },
    /// A wildcard (`*`) in a rule: never least privilege.
    Wildcard { rule: String },
}

/// Where the controller runs, and which workload namespaces get a Secrets Role.
#[derive(Debug, Clone)]
pub struct Namespaces {
    pub controller: String,
    pub workloads: Vec<String>,
}

/// Checks grants against calls: every call granted in its scope, and no grant
/// beyond the calls and the `allowance` (group, resource, verb, reason).
pub fn check(
    calls: &[ApiCall],
    grants: &[Grant],
    allowance: &[(&str, &str, &str, &str)],
    ns: &Namespaces,
) -> Vec<RbacProblem> {
    let mut problems = BTreeSet::new();
    for g in grants {
        if g.group == "*" || g.resource == "*" || g.verb == "*" {
            problems.insert(RbacProblem::Wildcard {
                rule: format!("{}/{} {}", g.group, g.resource, g.verb),
            });
        }
    }
    let grants_here = |c: &ApiCall, namespace: Option<&str>| {
        grants.iter().any(|g| {
            g.group == c.group
                && g.resource == c.resource
                && g.verb == c.verb
                && match (&g.namespace, namespace) {
                    (None, _) => true,
                    (Some(gn), Some(n)) => gn == n,
                    (Some(_), None) => false,
                }
        })
    };
    for c in calls {
        let ok = match c.scope {
            Scope::Cluster => grants_here(c, None),
            Scope::ControllerNamespace => grants_here(c, Some(&ns.controller)),
            Scope::WorkloadNamespace => ns.workloads.iter().all(|w| grants_here(c, Some(w))),
        };
        if !ok {
            problems.insert(RbacProblem::Missing {
                group: c.group.into(),
                resource: c.resource.into(),
                verb: c.verb.into(),
                scope: format!("{:?}", c.scope),
            });
        }
    }
    for g in grants {
        let called = calls.iter().any(|c| {
            c.group == g.group
                && c.resource == g.resource
                && c.verb == g.verb
                && match (c.scope, &g.namespace) {
                    // A cluster-wide grant of a namespaced call is broader than needed.
                    (Scope::Cluster, None) => true,
                    (Scope::Cluster, Some(_)) => false,
                    (Scope::ControllerNamespace, Some(n)) => *n == ns.controller,
                    (Scope::WorkloadNamespace, Some(n)) => ns.workloads.contains(n),
                    (_, None) => false,
                }
        });
        let allowed = allowance
            .iter()
            .any(|(gr, r, v, _)| *gr == g.group && *r == g.resource && *v == g.verb);
        if !called && !allowed {
            problems.insert(RbacProblem::Excess {
                group: g.group.clone(),
                resource: g.resource.clone(),
                verb: g.verb.clone(),
                namespace: g.namespace.clone(),
            });
        }
    }
    problems.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::{LEASE_GET, NODES_LIST, SECRET_GET};

    fn grant(group: &str, resource: &str, verb: &str, ns: Option<&str>) -> Grant {
        Grant {
            group: group.into(),
            resource: resource.into(),
            verb: verb.into(),
            namespace: ns.map(str::to_string),
            resource_names: vec![],
        }
    }

    fn namespaces() -> Namespaces {
        Namespaces {
            controller: "spillway-system".into(),
            workloads: vec!["shop".into()],
        }
    }

    #[test]
    fn exact_grants_pass() {
        let calls = [NODES_LIST, LEASE_GET, SECRET_GET];
        let grants = [
            grant("", "nodes", "list", None),
            grant("coordination.k8s.io", "leases", "get", Some("spillway-system")),
            grant("", "secrets", "get", Some("shop")),
        ];
        assert_eq!(check(&calls, &grants, &[], &namespaces()), vec![]);
    }

    #[test]
    fn missing_excess_and_too_broad_are_reported() {
        let calls = [NODES_LIST, SECRET_GET];
        let grants = [
            // Secrets cluster-wide: broader than the workload namespaces.
            grant("", "secrets", "get", None),
            grant("", "pods", "delete", None),
        ];
        let problems = check(&calls, &grants, &[], &namespaces());
        assert!(problems.contains(&RbacProblem::Missing {
            group: String::new(),
            resource: "nodes".into(),
            verb: "list".into(),
            scope: "Cluster".into()
        }));
        assert!(problems.contains(&RbacProblem::Excess {
            group: String::new(),
            resource: "secrets".into(),
            verb: "get".into(),
            namespace: None
        }));
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, RbacProblem::Excess { verb, .. } if verb == "delete"))
        );
        // An allowance silences an excess grant.
        let allowed = check(&calls, &grants, &[("", "pods", "delete", "test")], &namespaces());
        assert!(
            !allowed
                .iter()
                .any(|p| matches!(p, RbacProblem::Excess { verb, .. } if verb == "delete"))
        );
    }

    #[test]
    fn wildcards_are_reported() {
        let problems = check(&[], &[grant("*", "*", "*", None)], &[], &namespaces());
        assert!(problems.iter().any(|p| matches!(p, RbacProblem::Wildcard { .. })));
    }
}
