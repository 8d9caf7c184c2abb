//! The Helm chart (`charts/spillway`, issue 14) against the install
//! manifests and a real API server:
//!
//! 1. `helm lint --strict`;
//! 2. with the default values, `helm template` renders exactly the objects
//!    of `config/deploy` (but its Namespace), once Helm's own labels and
//!    the config checksum are set aside: the two installs cannot drift;
//! 3. the default render and one with every option on (ServiceMonitor,
//!    PodMonitor, priorityClassName, topology spread, nodeSelector,
//!    tolerations, affinity, extra env, a client-secret Secret instead of
//!    workload identity) pass `kubectl apply --dry-run=server` on the
//!    loopback control plane of `../shared/kube`;
//! 4. `helm install --wait` for real: both replicas become available and
//!    the ServiceAccount gets exactly the grants of `config/deploy`.
//!
//! helm comes from `HELM_BIN` or `PATH` (`scripts/test.sh` installs it
//! with `scripts/install-helm.sh`); without it the test skips locally and
//! fails under `CI=true`.

mod support_ctl;
mod support_kube;
#[path = "../../crates/spillway-metrics/tests/support/mod.rs"]
mod support_prom;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support_ctl::workspace_root;
use support_kube::{Cluster, harness_or_skip};

const NS: &str = "spillway-system";
const HELM_LABELS: [&str; 4] = [
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
];

fn helm_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HELM_BIN") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| p.is_file())
}

/// `helm ARGS` with its state in `home` and `kubeconfig`; stdout, or a panic.
fn helm(bin: &Path, home: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(workspace_root())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "helm {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every object of a multi-document YAML text.
fn objects(text: &str, what: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("{what}: {e}"))
        .into_iter()
        .filter(|v| v.is_object())
        .collect()
}

fn key(o: &Value) -> String {
    format!(
        "{}/{}/{}",
        o["kind"].as_str().unwrap_or_default(),
        o["metadata"]["namespace"].as_str().unwrap_or("-"),
        o["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// The objects of `config/deploy`, in `kustomization.yaml`'s order.
fn deploy_objects() -> Vec<Value> {
    let dir = workspace_root().join("config/deploy");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let k: Value = serde_saphyr::from_str(&read("kustomization.yaml")).expect("kustomization.yaml");
    let files = k["resources"].as_array().expect("resources");
    files
        .iter()
        .filter_map(Value::as_str)
        .flat_map(|f| objects(&read(f), f))
        .collect()
}

/// A rendered object without what only Helm adds.
fn without_helm(mut o: Value) -> Value {
    fn strip(labels: &mut Value) {
        if let Some(m) = labels.as_object_mut() {
            for l in HELM_LABELS {
                m.remove(l);
            }
        }
    }
    strip(&mut o["metadata"]["labels"]);
    if o["kind"] == "Deployment" {
        let meta = &mut o["spec"]["template"]["metadata"];
        strip(&mut meta["labels"]);
        if let Some(a) = meta["annotations"].as_object_mut() {
            a.remove("checksum/config");
            if a.is_empty()
                && let Some(m) = meta.as_object_mut()
            {
                m.remove("annotations");
            }
        }
    }
    o
}

/// Stand-ins for the Prometheus Operator CRDs, so a server dry-run can
/// admit ServiceMonitor and PodMonitor objects.
fn monitoring_crds() -> String {
    let crd = |kind: &str, plural: &str| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": { "name": format!("{plural}.monitoring.coreos.com") },
            "spec": {
                "group": "monitoring.coreos.com", "scope": "Namespaced",
                "names": { "kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List") },
                "versions": [{ "name": "v1", "served": true, "storage": true,
                    "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } } }],
            },
        })
        .to_string()
    };
    format!(
        "{}\n---\n{}",
        crd("ServiceMonitor", "servicemonitors"),
        crd("PodMonitor", "podmonitors")
    )
}

const EVERYTHING: &str = r#"
image: { repository: registry.example/spillway, tag: "1.2.3", pullPolicy: Always }
imagePullSecrets: [{ name: regcred }]
priorityClassName: spillway-critical
nodeSelector: { kubernetes.io/os: linux }
tolerations: [{ key: dedicated, operator: Equal, value: system, effect: NoSchedule }]
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector: { matchLabels: { app.kubernetes.io/name: spillway } }
topologySpreadConstraints:
- { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }
extraEnv: [{ name: SPILLWAY_LOG_FORMAT, value: json }]
podAnnotations: { example.com/team: platform }
podLabels: { example.com/tier: control }
resources: { requests: { cpu: 200m, memory: 256Mi }, limits: { memory: 512Mi } }
azure:
  workloadIdentity: { enabled: false }
  clientSecret: { existingSecret: spillway-azure, key: client-secret }
serviceMonitor: { enabled: true, labels: { release: prometheus } }
podMonitor: { enabled: true }
rbac: { workloadNamespaces: [shop, shop2] }
"#;

#[test]
fn the_chart_agrees_with_config_deploy_and_installs_on_a_real_api_server() {
    let Some(shared) = harness_or_skip("helm_chart") else {
        return;
    };
    let Some(helm_bin) = helm_bin() else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "helm not found (HELM_BIN or PATH) and CI=true: scripts/test.sh installs it with scripts/install-helm.sh"
        );
        eprintln!("SKIPPED helm_chart: no helm (HELM_BIN or PATH); scripts/install-helm.sh installs one");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path();
    let helm = |kc: Option<&Path>, args: &[&str]| helm(&helm_bin, home, kc, args);
    eprintln!("{}", helm(None, &["version", "--short"]).trim());

    // 1. Lint.
    helm(None, &["lint", "--strict", "charts/spillway"]);

    // 2. The default render is config/deploy.
    let default = helm(None, &["template", "spillway", "charts/spillway", "-n", NS]);
    let rendered: Vec<Value> = objects(&default, "helm template")
        .into_iter()
        .map(without_helm)
        .collect();
    let deploy = deploy_objects();
    for want in &deploy {
        if want["kind"] == "Namespace" {
            continue;
        }
        let got = rendered
            .iter()
            .find(|o| key(o) == key(want))
            .unwrap_or_else(|| panic!("the chart does not render {}", key(want)));
        assert_eq!(
            got,
            want,
            "{} differs between the chart and config/deploy",
            key(want)
        );
    }
    let extra: Vec<String> = rendered
        .iter()
        .map(key)
        .filter(|k| !deploy.iter().any(|d| &key(d) == k))
        .collect();
    assert!(
        extra.is_empty(),
        "the chart renders objects config/deploy lacks: {extra:?}"
    );
    eprintln!(
        "{} objects of config/deploy rendered identically by the chart",
        deploy.len() - 1
    );

    // 3. Server dry-run of the default and the everything-on render.
    let kube = Cluster::start(&shared, "helm", 2);
    for ns in [NS, "shop", "shop2"] {
        kube.kubectl(&["create", "namespace", ns]);
    }
    kube.apply(&monitoring_crds());
    kube.apply(
        r#"{"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":"spillway-critical"},"value":1000000}"#,
    );
    kube.kubectl(&[
        "wait",
        "--for=condition=Established",
        "crd/servicemonitors.monitoring.coreos.com",
        "crd/podmonitors.monitoring.coreos.com",
    ]);
    let dry = |manifest: &str, what: &str| {
        kube.try_kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(manifest))
            .unwrap_or_else(|e| panic!("{what}: {e}"))
    };
    eprintln!("{}", dry(&default, "default values"));
    let values = home.join("everything.yaml");
    std::fs::write(&values, EVERYTHING).expect("values file");
    let full = helm(
        None,
        &[
            "template",
            "spillway",
            "charts/spillway",
            "-n",
            NS,
            "-f",
            &values.to_string_lossy(),
        ],
    );
    let full_objects = objects(&full, "helm template -f everything.yaml");
    let kinds: Vec<String> = full_objects.iter().map(key).collect();
    for want in [
        "ServiceMonitor/spillway-system/spillway",
        "PodMonitor/spillway-system/spillway",
        "PodDisruptionBudget/spillway-system/spillway",
        "Role/shop2/spillway-template-refs",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} not rendered: {kinds:?}");
    }
    let d = full_objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["priorityClassName"], "spillway-critical");
    assert_eq!(
        pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "spillway"
    );
    assert_eq!(pod["containers"][0]["image"], "registry.example/spillway:1.2.3");
    assert!(
        d["spec"]["template"]["metadata"]["labels"]
            .get("azure.workload.identity/use")
            .is_none()
    );
    assert_eq!(pod["volumes"][1]["secret"]["secretName"], "spillway-azure");
    eprintln!("{}", dry(&full, "every option on"));

    // 4. A real install: both replicas available, the grants of config/deploy.
    let out = helm(
        Some(&kube.kubeconfig),
        &[
            "install",
            "spillway",
            "charts/spillway",
            "-n",
            NS,
            "--wait",
            "--timeout",
            "120s",
        ],
    );
    eprintln!("{out}");
    let dep = kube
        .get_json(&["deployment", "spillway", "-n", NS])
        .expect("the Deployment");
    assert_eq!(dep["status"]["availableReplicas"], 2, "{}", dep["status"]);
    let sa = "system:serviceaccount:spillway-system:spillway";
    for (verb, res, ns, allowed) in [
        ("patch", "deployments.apps", "shop", false),
        ("list", "pods", "shop", true),
        ("get", "leases.coordination.k8s.io/spillway-leader", NS, true),
        ("get", "secrets", "shop", true),
        ("get", "secrets", "default", false),
    ] {
        let ok = kube
            .try_kubectl(
                &["auth", "can-i", verb, res, "-n", ns, "--as", sa, "--quiet"],
                None,
            )
            .is_ok();
        assert_eq!(ok, allowed, "after helm install: can-i {verb} {res} -n {ns}");
    }
    helm(
        Some(&kube.kubeconfig),
        &["uninstall", "spillway", "-n", NS, "--wait"],
    );
}
