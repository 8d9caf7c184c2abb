//! The install manifests in `config/deploy/` grant exactly the API calls in
//! `spillway_kube::calls::API_CALLS` (plus the listed allowance), bound to
//! the controller's ServiceAccount; and the example ConfigMap is valid.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeSet, path::PathBuf};

use serde_json::Value;
use spillway_kube::{
    calls::{API_CALLS, RBAC_ALLOWANCE},
    rbac::{Grant, Namespaces, check},
};

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/deploy")
}

fn documents() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_str_multiple(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", f.display()));
        for d in docs.into_iter().filter(|d| !d.is_null()) {
            out.push((f.file_name().unwrap().to_string_lossy().into_owned(), d));
        }
    }
    out
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

const SA_NAMESPACE: &str = "spillway-system";
const SA_NAME: &str = "spillway";

fn binds_our_sa(binding: &Value) -> bool {
    binding["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["kind"] == "ServiceAccount" && s["name"] == SA_NAME && s["namespace"] == SA_NAMESPACE)
}

/// Every grant the manifests give the ServiceAccount.
fn grants(docs: &[(String, Value)]) -> Vec<Grant> {
    let mut out = Vec::new();
    let find = |kind: &str, name: &str, ns: Option<&str>| {
        docs.iter()
            .map(|(_, d)| d)
            .find(|d| {
                d["kind"] == kind
                    && d["metadata"]["name"] == name
                    && d["metadata"]["namespace"].as_str() == ns
            })
            .unwrap_or_else(|| panic!("{kind} {name} referenced by a binding is missing"))
    };
    for (_, d) in docs {
        let (role, namespace) = match d["kind"].as_str() {
            Some("ClusterRoleBinding") if binds_our_sa(d) => {
                assert_eq!(d["roleRef"]["kind"], "ClusterRole");
                (
                    find("ClusterRole", d["roleRef"]["name"].as_str().unwrap(), None),
                    None,
                )
            }
            Some("RoleBinding") if binds_our_sa(d) => {
                let ns = d["metadata"]["namespace"]
                    .as_str()
                    .expect("RoleBinding namespace");
                assert_eq!(
                    d["roleRef"]["kind"], "Role",
                    "bind Roles, not ClusterRoles, per namespace"
                );
                (
                    find("Role", d["roleRef"]["name"].as_str().unwrap(), Some(ns)),
                    Some(ns.to_string()),
                )
            }
            _ => continue,
        };
        for rule in role["rules"].as_array().unwrap() {
            for g in strs(&rule["apiGroups"]) {
                for r in strs(&rule["resources"]) {
                    for v in strs(&rule["verbs"]) {
                        out.push(Grant {
                            group: g.clone(),
                            resource: r.clone(),
                            verb: v,
                            namespace: namespace.clone(),
                            resource_names: strs(&rule["resourceNames"]),
                        });
                    }
                }
            }
        }
    }
    out
}

fn example_config(docs: &[(String, Value)]) -> String {
    docs.iter()
        .find(|(_, d)| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "spillway")
        .map(|(_, d)| d["data"]["config.yaml"].as_str().unwrap().to_string())
        .expect("the example ConfigMap")
}

#[test]
fn manifests_grant_exactly_the_calls_the_code_makes() {
    let docs = documents();
    let grants = grants(&docs);
    let config = spillway_core::config::load(&example_config(&docs)).expect("example config loads");
    let workloads: BTreeSet<String> = config
        .valid_policies()
        .map(|p| p.target.namespace.clone())
        .collect();
    let ns = Namespaces {
        controller: SA_NAMESPACE.into(),
        workloads: workloads.into_iter().collect(),
    };
    assert_eq!(ns.workloads, vec!["shop".to_string()]);
    let problems = check(API_CALLS, &grants, RBAC_ALLOWANCE, &ns);
    assert!(problems.is_empty(), "RBAC problems: {problems:#?}");
}

#[test]
fn the_check_catches_a_widened_manifest() {
    let docs = documents();
    let mut grants = grants(&docs);
    let ns = Namespaces {
        controller: SA_NAMESPACE.into(),
        workloads: vec!["shop".into()],
    };
    // Secrets readable cluster-wide would be more than needed.
    grants.push(Grant {
        group: String::new(),
        resource: "secrets".into(),
        verb: "get".into(),
        namespace: None,
        resource_names: vec![],
    });
    // And dropping a verb the code uses is caught too.
    grants.retain(|g| !(g.resource == "deployments/scale" && g.verb == "patch"));
    let problems = check(API_CALLS, &grants, RBAC_ALLOWANCE, &ns);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn example_configmap_embeds_the_example_policies() {
    let docs = documents();
    let example = std::fs::read_to_string(deploy_dir().join("../policies/example.yaml")).unwrap();
    assert_eq!(example_config(&docs), example);
    assert!(spillway_core::config::load(&example).unwrap().is_fully_valid());
}

#[test]
fn deployment_is_hardened_and_elects_a_leader() {
    let docs = documents();
    let d = &docs
        .iter()
        .find(|(_, d)| d["kind"] == "Deployment")
        .expect("Deployment")
        .1;
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], SA_NAME);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert!(c["readinessProbe"].is_object() && c["livenessProbe"].is_object());
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(
        strs(&c["args"])
            .iter()
            .any(|a| a.starts_with("--lease-duration="))
    );

    let kustomization = std::fs::read_to_string(deploy_dir().join("kustomization.yaml")).unwrap();
    let k: Value = serde_saphyr::from_str(&kustomization).unwrap();
    let listed: BTreeSet<String> = strs(&k["resources"]).into_iter().collect();
    let files: BTreeSet<String> = docs
        .iter()
        .map(|(f, _)| f.clone())
        .filter(|f| f != "kustomization.yaml")
        .collect();
    assert_eq!(listed, files, "kustomization.yaml must list every manifest");
}
