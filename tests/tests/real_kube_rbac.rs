//! Least privilege on a real API server (issue 14). The install
//! (`config/deploy`) is applied for real; then:
//!
//! 1. every call the code makes (`spillway_kube::calls::API_CALLS`) is
//!    allowed to the ServiceAccount in its scope (`kubectl auth can-i
//!    --as=system:serviceaccount:spillway-system:spillway`), and neighbouring
//!    calls it does not make are refused;
//! 2. `spillway run` under that ServiceAccount's token, with one rule taken
//!    away at a time, fails exactly in the feature that rule serves, with
//!    the API server's `forbidden` in the error, while the others carry on:
//!    Events (`events.k8s.io` create/patch), scaling (`deployments/scale`
//!    patch), the EndpointSlice (create/patch) and leader election (Lease
//!    patch). Each rule is restored by re-applying the RBAC files of
//!    `config/deploy`.

mod support_ctl;
mod support_kube;
#[path = "../../crates/spillway-metrics/tests/support/mod.rs"]
mod support_prom;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spillway_kube::calls::{API_CALLS, Scope};
use support_ctl::{binaries, wait_for, workspace_root};
use support_kube::scenario::{NS, POLL, Stage, events};
use support_kube::{Cluster, RunProc, harness_or_skip};

const SA: &str = "system:serviceaccount:spillway-system:spillway";

/// `kubectl auth can-i` as the ServiceAccount: true for yes.
fn can_i(kube: &Cluster, verb: &str, resource: &str, subresource: Option<&str>, ns: Option<&str>) -> bool {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", SA, "--quiet"];
    if let Some(s) = subresource {
        args.extend(["--subresource", s]);
    }
    match ns {
        Some(ns) => args.extend(["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    kube.try_kubectl(&args, None).is_ok()
}

/// `resource.group` as kubectl names it, and the subresource.
fn kubectl_resource(group: &str, resource: &str) -> (String, Option<String>) {
    let (res, sub) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_string())),
        None => (resource, None),
    };
    let full = if group.is_empty() {
        res.to_string()
    } else {
        format!("{res}.{group}")
    };
    (full, sub)
}

/// Takes `verb` on `group`/`resource` out of the rules of `kind/name`.
fn revoke(
    kube: &Cluster,
    kind: &str,
    name: &str,
    ns: Option<&str>,
    group: &str,
    resource: &str,
    verbs: &[&str],
) {
    let mut args = vec![kind, name];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    let mut obj = kube
        .get_json(&args)
        .unwrap_or_else(|| panic!("{kind}/{name} not found"));
    let mut rules = Vec::new();
    let mut removed = false;
    for rule in obj["rules"].as_array().cloned().unwrap_or_default() {
        let groups = rule["apiGroups"].as_array().cloned().unwrap_or_default();
        for res in rule["resources"].as_array().cloned().unwrap_or_default() {
            let mut r = rule.clone();
            r["resources"] = json!([res]);
            if groups.iter().any(|g| g == group) && res == resource {
                let kept: Vec<Value> = r["verbs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| !verbs.iter().any(|x| v == x))
                    .collect();
                removed |= kept.len() != r["verbs"].as_array().map_or(0, Vec::len);
                if kept.is_empty() {
                    continue;
                }
                r["verbs"] = Value::Array(kept);
            }
            rules.push(r);
        }
    }
    assert!(
        removed,
        "{kind}/{name} grants none of {verbs:?} on {group}/{resource}"
    );
    obj["rules"] = Value::Array(rules);
    kube.try_kubectl(&["replace", "-f", "-"], Some(&obj.to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("revoked {verbs:?} on {group}/{resource} from {kind}/{name}");
}

/// Re-applies the RBAC manifests of `config/deploy` (not the ConfigMap,
/// which holds the test's document).
fn restore(kube: &Cluster) {
    let deploy = workspace_root().join("config/deploy");
    let file = |f: &str| deploy.join(f).to_string_lossy().to_string();
    let (cluster, controller) = (file("rbac-cluster.yaml"), file("rbac-controller.yaml"));
    kube.kubectl(&["apply", "-f", &cluster, "-f", &controller]);
}

/// The policy's recent errors in `/status`.
fn errors(run: &RunProc) -> Vec<String> {
    run.try_status()
        .ok()
        .and_then(|s| s["policies"]["web"]["errors"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_deploy_rbac_is_least_privilege_on_a_real_api_server() {
    let Some(shared) = harness_or_skip("real_kube_rbac") else {
        return;
    };
    let t_test = Instant::now();
    binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let stage = Stage::up(&shared, "rbac", dir.path(), 8);
    let (kube, exporter) = (&stage.kube, &stage.exporter);
    let world = stage.world();

    // 1. Every call granted in its scope; neighbours refused.
    for call in API_CALLS {
        let (resource, sub) = kubectl_resource(call.group, call.resource);
        let named = if call.resource == "leases" && call.verb != "create" {
            format!("{resource}/spillway-leader")
        } else {
            resource.clone()
        };
        let ns = match call.scope {
            Scope::Cluster => None,
            Scope::ControllerNamespace => Some(NS),
            Scope::WorkloadNamespace => Some("shop"),
        };
        assert!(
            can_i(kube, call.verb, &named, sub.as_deref(), ns),
            "{} {}{} in {ns:?} is not granted ({})",
            call.verb,
            named,
            sub.map(|s| format!("/{s}")).unwrap_or_default(),
            call.why
        );
    }
    let refused = [
        ("update", "deployments.apps", None, None),
        ("delete", "deployments.apps", None, Some("shop")),
        ("patch", "deployments.apps", None, Some("shop")),
        ("update", "deployments.apps", Some("scale"), Some("shop")),
        ("create", "pods", None, Some("shop")),
        ("get", "secrets", None, Some("default")),
        ("list", "secrets", None, Some("shop")),
        ("list", "configmaps", None, Some("shop")),
        ("update", "configmaps", None, Some(NS)),
        ("patch", "leases.coordination.k8s.io/other", None, Some(NS)),
        (
            "delete",
            "leases.coordination.k8s.io/spillway-leader",
            None,
            Some(NS),
        ),
        ("get", "leases.coordination.k8s.io", None, Some("shop")),
        ("update", "endpointslices.discovery.k8s.io", None, Some("shop")),
        ("create", "events", None, Some("shop")),
        ("get", "nodes", None, None),
    ];
    for (verb, resource, sub, ns) in refused {
        assert!(
            !can_i(kube, verb, resource, sub, ns),
            "{verb} {resource}{} in {ns:?} is granted but never used",
            sub.map(|s| format!("/{s}")).unwrap_or_default()
        );
    }
    eprintln!(
        "{} calls granted, {} neighbours refused",
        API_CALLS.len(),
        refused.len()
    );

    let run = stage.run("solo");
    let describe = || world.describe(&[&run]);
    wait_for(
        "the controller leading and ticking at 2 replicas",
        Duration::from_secs(30),
        POLL,
        || {
            let s = run.try_status().ok()?;
            let d = s["policies"]["web"]["lastPlan"]["desiredReplicas"].as_u64()?;
            (s["leader"] == true && d == 2).then_some(())
        },
        describe,
    );

    // 2a. No Events: the burst itself goes on.
    revoke(
        kube,
        "clusterrole",
        "spillway",
        None,
        "events.k8s.io",
        "events",
        &["create", "patch"],
    );
    exporter.set_gauge("web_load", 1000.0);
    wait_for(
        "without Events: web at 4, 6 groups, 6 ready endpoints, and `publishing Events failed ... forbidden`",
        Duration::from_secs(60),
        POLL,
        || {
            let log = run.log();
            let failed = log
                .lines()
                .any(|l| l.contains("publishing Events failed") && l.contains("forbidden"));
            (failed && world.live() == 6 && world.web() == (4, 4) && world.slice_ready() == 6).then_some(())
        },
        describe,
    );
    assert!(
        events(kube, "shop").is_empty(),
        "an Event was written without the grant"
    );
    restore(kube);

    // 2b. No scaling: the Deployment stays, the groups still go.
    revoke(
        kube,
        "clusterrole",
        "spillway",
        None,
        "apps",
        "deployments/scale",
        &["patch"],
    );
    exporter.set_gauge("web_load", 300.0);
    wait_for(
        "without deployments/scale patch: `scale: ... forbidden` in /status, groups deleted, web left at 4",
        Duration::from_secs(60),
        POLL,
        || {
            let scale_err = errors(&run)
                .iter()
                .any(|e| e.starts_with("scale") && e.contains("forbidden"));
            (scale_err && world.live() == 0 && world.slice_ready() == 0).then_some(())
        },
        describe,
    );
    assert_eq!(world.web().0, 4, "the Deployment was scaled without the grant");
    restore(kube);
    wait_for(
        "scaling again once the rule is back: web at 3",
        Duration::from_secs(30),
        POLL,
        || (world.web().0 == 3).then_some(()),
        describe,
    );

    // 2c. No EndpointSlice: scaling and groups go on.
    revoke(
        kube,
        "clusterrole",
        "spillway",
        None,
        "discovery.k8s.io",
        "endpointslices",
        &["create", "patch"],
    );
    exporter.set_gauge("web_load", 1000.0);
    wait_for(
        "without endpointslices create/patch: `endpoints: ... forbidden` in /status, web at 4, 6 groups",
        Duration::from_secs(60),
        POLL,
        || {
            let slice_err = errors(&run)
                .iter()
                .any(|e| e.starts_with("endpoints") && e.contains("forbidden"));
            let ready = world.emu.state().count_state("Succeeded");
            (slice_err && world.web().0 == 4 && world.live() == 6 && ready == 6).then_some(())
        },
        describe,
    );
    assert_eq!(world.slice_ready(), 0, "the slice was written without the grant");
    restore(kube);
    wait_for(
        "the slice once the rule is back: 6 ready endpoints",
        Duration::from_secs(30),
        POLL,
        || (world.slice_ready() == 6).then_some(()),
        describe,
    );

    // 2d. No Lease renewal: leadership lost, writes stop, nothing deleted.
    revoke(
        kube,
        "role",
        "spillway",
        Some(NS),
        "coordination.k8s.io",
        "leases",
        &["patch"],
    );
    wait_for(
        "without leases patch: leadership lost with a forbidden lease error",
        Duration::from_secs(30),
        POLL,
        || {
            let lost = run.try_status().ok()?["leader"] == false;
            let log = run.log();
            let said = log
                .lines()
                .any(|l| l.contains("lease") && l.contains("forbidden"));
            (lost && said).then_some(())
        },
        describe,
    );
    let writes_before = world.emu.state().writes.len();
    exporter.set_gauge("web_load", 200.0);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        world.emu.state().writes.len(),
        writes_before,
        "ARM was written without the Lease\n{}",
        describe()
    );
    assert_eq!(world.web().0, 4, "the Deployment was scaled without the Lease");
    restore(kube);
    wait_for(
        "leading again once the rule is back, then scale-in: no group left, web at 2",
        Duration::from_secs(60),
        POLL,
        || {
            let leader = run.try_status().ok()?["leader"] == true;
            (leader && world.live() == 0 && world.web().0 == 2).then_some(())
        },
        describe,
    );
    eprintln!("real_kube_rbac: {:.0}s", t_test.elapsed().as_secs_f64());
}
