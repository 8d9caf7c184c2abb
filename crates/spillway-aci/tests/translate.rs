//! Pod template → container group: one body per translation feature, each
//! validated against the official schema (published and strict variants),
//! and every inexpressible field rejected with its path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use serde_json::{Value, json};
use spillway_aci::translate::{GroupSpec, MapResolver, Network, TranslateError, Translated, translate};
use spillway_core::config::AciPriority;

const SUBNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci";

fn spec() -> GroupSpec {
    GroupSpec {
        cluster_id: "prod-weu-1".into(),
        policy: "web".into(),
        ordinal: 7,
        template_hash: "abc123".into(),
        namespace: "shop".into(),
        location: "westeurope".into(),
        network: Network::Private {
            subnet_id: SUBNET.into(),
        },
        priority: AciPriority::Regular,
        limits: None,
        zone: None,
        cluster_dns: None,
    }
}

fn template(pod_spec: Value) -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"labels": {"app": "web", "tier": "front"}, "annotations": {"team": "checkout"}},
        "spec": pod_spec,
    }))
    .unwrap()
}

fn resolver() -> MapResolver {
    let mut r = MapResolver::default();
    let secret = |data: &[(&str, &str)], ty: &str| Secret {
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        type_: Some(ty.into()),
        ..Default::default()
    };
    r.secrets.insert(
        "db".into(),
        secret(&[("password", "s3cr3t-db"), ("user", "app")], "Opaque"),
    );
    r.secrets.insert(
        "regcred".into(),
        secret(
            &[(
                ".dockerconfigjson",
                r#"{"auths":{"https://myacr.azurecr.io/v2/":{"username":"puller","password":"reg-pass-1"}}}"#,
            )],
            "kubernetes.io/dockerconfigjson",
        ),
    );
    r.config_maps.insert(
        "settings".into(),
        ConfigMap {
            data: Some(BTreeMap::from([
                ("LOG_LEVEL".to_string(), "info".to_string()),
                ("app.conf".to_string(), "port=8080\n".to_string()),
            ])),
            ..Default::default()
        },
    );
    r
}

fn minimal_container() -> Value {
    json!({"name": "app", "image": "nginx:1.27", "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}})
}

/// Translate, check the body against the spec, return it as JSON.
fn build(pod_spec: Value, gs: &GroupSpec) -> (Translated, Value) {
    let t = translate(&template(pod_spec), gs, &resolver()).unwrap_or_else(|e| panic!("{e}"));
    let body = serde_json::to_value(&t.body).unwrap();
    if let Some(spec) = common::Spec::load() {
        spec.assert_valid_request("ContainerGroup", &body);
    }
    (t, body)
}

fn props(body: &Value) -> &Value {
    &body["properties"]
}

fn c0(body: &Value) -> &Value {
    &body["properties"]["containers"][0]["properties"]
}

#[test]
fn minimal_group_name_tags_and_rounding() {
    let (t, body) = build(json!({"containers": [minimal_container()]}), &spec());
    assert_eq!(t.name, "prod-weu-1-web-7");
    assert_eq!(body["location"], "westeurope");
    assert_eq!(
        body["tags"],
        json!({"spillway.io/cluster": "prod-weu-1", "spillway.io/policy": "web",
               "spillway.io/template-hash": "abc123", "spillway.io/ordinal": "7"})
    );
    assert_eq!(c0(&body)["image"], "nginx:1.27");
    assert_eq!(
        c0(&body)["resources"]["requests"],
        json!({"cpu": 0.25, "memoryInGB": 0.5})
    );
    assert_eq!(props(&body)["osType"], "Linux");
    assert_eq!(props(&body)["restartPolicy"], "Always");
    assert_eq!(props(&body)["priority"], "Regular");
    assert_eq!((t.requests.cpu_centi, t.requests.memory_deci_gb), (25, 5));
    // No ports: no IP address block; still in the subnet.
    assert!(props(&body).get("ipAddress").is_none());
    assert_eq!(props(&body)["subnetIds"], json!([{"id": SUBNET}]));
}

#[test]
fn command_args_and_expansion() {
    let mut c = minimal_container();
    c["command"] = json!(["/bin/server"]);
    c["args"] = json!(["--level=$(LEVEL)", "--literal=$$(LEVEL)", "--unknown=$(NOPE)"]);
    c["env"] = json!([{"name": "LEVEL", "value": "debug"}, {"name": "BOTH", "value": "$(LEVEL)-x"}]);
    let (_, body) = build(json!({"containers": [c]}), &spec());
    assert_eq!(
        c0(&body)["command"],
        json!([
            "/bin/server",
            "--level=debug",
            "--literal=$(LEVEL)",
            "--unknown=$(NOPE)"
        ])
    );
    assert_eq!(
        c0(&body)["environmentVariables"],
        json!([{"name": "LEVEL", "value": "debug"}, {"name": "BOTH", "value": "debug-x"}])
    );
}

#[test]
fn env_from_secrets_config_maps_and_fields() {
    let mut c = minimal_container();
    c["envFrom"] =
        json!([{"configMapRef": {"name": "settings"}}, {"secretRef": {"name": "db"}, "prefix": "DB_"}]);
    c["env"] = json!([
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "LOG_LEVEL"}}},
        {"name": "MISSING_OK", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x", "optional": true}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}
    ]);
    let (t, body) = build(json!({"containers": [c]}), &spec());
    let env: BTreeMap<String, Value> = c0(&body)["environmentVariables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e.clone()))
        .collect();
    assert_eq!(
        env["PASSWORD"],
        json!({"name": "PASSWORD", "secureValue": "s3cr3t-db"})
    );
    assert_eq!(env["DB_user"], json!({"name": "DB_user", "secureValue": "app"}));
    assert_eq!(env["LOG_LEVEL"]["value"], "info");
    assert_eq!(env["LEVEL"]["value"], "info");
    assert_eq!(env["POD"]["value"], "prod-weu-1-web-7");
    assert_eq!(env["NS"]["value"], "shop");
    assert_eq!(env["APP"]["value"], "web");
    assert!(!env.contains_key("MISSING_OK"));
    // Secrets never show in Debug output.
    let dbg = format!("{:?}", t.body);
    assert!(!dbg.contains("s3cr3t-db"), "{dbg}");
}

#[test]
fn limits_are_rounded_and_sent() {
    let mut c = minimal_container();
    c["resources"] =
        json!({"requests": {"cpu": "333m", "memory": "1G"}, "limits": {"cpu": "1500m", "memory": "2Gi"}});
    let (t, body) = build(json!({"containers": [c]}), &spec());
    assert_eq!(
        c0(&body)["resources"]["requests"],
        json!({"cpu": 0.34, "memoryInGB": 1.0})
    );
    assert_eq!(
        c0(&body)["resources"]["limits"],
        json!({"cpu": 1.5, "memoryInGB": 2.0})
    );
    assert_eq!(t.requests.cpu_centi, 34);
}

#[test]
fn ports_on_a_private_ip() {
    let mut a = minimal_container();
    a["ports"] = json!([{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "protocol": "UDP"}]);
    let mut b = minimal_container();
    b["name"] = json!("sidecar");
    b["ports"] = json!([{"containerPort": 8080, "hostPort": 8080}]);
    let (_, body) = build(json!({"containers": [a, b]}), &spec());
    assert_eq!(
        props(&body)["ipAddress"],
        json!({"type": "Private", "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "UDP"}]})
    );
    assert_eq!(
        c0(&body)["ports"],
        json!([{"port": 8080, "protocol": "TCP"}, {"port": 9090, "protocol": "UDP"}])
    );
    assert_eq!(props(&body)["containers"].as_array().unwrap().len(), 2);
}

#[test]
fn public_ip_with_dns_label() {
    let mut a = minimal_container();
    a["ports"] = json!([{"containerPort": 80}]);
    let gs = GroupSpec {
        network: Network::Public {
            dns_name_label: Some("shop-web-7".into()),
        },
        ..spec()
    };
    let (_, body) = build(json!({"containers": [a]}), &gs);
    assert_eq!(
        props(&body)["ipAddress"],
        json!({"type": "Public", "dnsNameLabel": "shop-web-7", "ports": [{"port": 80, "protocol": "TCP"}]})
    );
    assert!(props(&body).get("subnetIds").is_none());
}

#[test]
fn probes_http_and_exec() {
    let mut c = minimal_container();
    c["ports"] = json!([{"containerPort": 8080, "name": "http"}]);
    c["livenessProbe"] = json!({"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTPS",
        "httpHeaders": [{"name": "X-Probe", "value": "1"}]}, "initialDelaySeconds": 5, "periodSeconds": 10,
        "failureThreshold": 3, "timeoutSeconds": 2});
    c["readinessProbe"] = json!({"exec": {"command": ["cat", "/tmp/ready"]}, "successThreshold": 1});
    let (_, body) = build(json!({"containers": [c]}), &spec());
    assert_eq!(
        c0(&body)["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080, "scheme": "https",
            "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
            "initialDelaySeconds": 5, "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 2})
    );
    assert_eq!(
        c0(&body)["readinessProbe"],
        json!({"exec": {"command": ["cat", "/tmp/ready"]}, "successThreshold": 1})
    );
}

#[test]
fn restart_policies() {
    for p in ["Always", "OnFailure", "Never"] {
        let (_, body) = build(
            json!({"containers": [minimal_container()], "restartPolicy": p}),
            &spec(),
        );
        assert_eq!(props(&body)["restartPolicy"], p);
    }
}

#[test]
fn init_containers() {
    let init = json!({"name": "migrate", "image": "tools:1", "command": ["sh", "-c"], "args": ["migrate up"],
        "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}});
    let (_, body) = build(
        json!({"containers": [minimal_container()], "initContainers": [init]}),
        &spec(),
    );
    assert_eq!(
        props(&body)["initContainers"],
        json!([{"name": "migrate", "properties": {"image": "tools:1", "command": ["sh", "-c", "migrate up"],
            "environmentVariables": [{"name": "PW", "secureValue": "s3cr3t-db"}]}}])
    );
}

#[test]
fn image_pull_secrets_become_registry_credentials() {
    let (_, body) = build(
        json!({"containers": [minimal_container()], "imagePullSecrets": [{"name": "regcred"}]}),
        &spec(),
    );
    assert_eq!(
        props(&body)["imageRegistryCredentials"],
        json!([{"server": "myacr.azurecr.io", "username": "puller", "password": "reg-pass-1"}])
    );
}

#[test]
fn volumes_empty_dir_secret_and_config_map() {
    let mut c = minimal_container();
    c["volumeMounts"] = json!([
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "creds", "mountPath": "/etc/creds", "readOnly": true},
        {"name": "conf", "mountPath": "/etc/app"}
    ]);
    let vols = json!([
        {"name": "scratch", "emptyDir": {}},
        {"name": "creds", "secret": {"secretName": "db", "defaultMode": 420, "items": [{"key": "password", "path": "pw"}]}},
        {"name": "conf", "configMap": {"name": "settings"}}
    ]);
    let (_, body) = build(json!({"containers": [c], "volumes": vols}), &spec());
    assert_eq!(
        props(&body)["volumes"],
        json!([
            {"name": "scratch", "emptyDir": {}},
            {"name": "creds", "secret": {"pw": "czNjcjN0LWRi"}},
            {"name": "conf", "secret": {"LOG_LEVEL": "aW5mbw==", "app.conf": "cG9ydD04MDgwCg=="}}
        ])
    );
    assert_eq!(
        c0(&body)["volumeMounts"][1],
        json!({"name": "creds", "mountPath": "/etc/creds", "readOnly": true})
    );
}

#[test]
fn spot_priority_on_a_public_ip() {
    let gs = GroupSpec {
        priority: AciPriority::Spot,
        network: Network::Public { dns_name_label: None },
        ..spec()
    };
    let (_, body) = build(
        json!({"containers": [minimal_container()], "restartPolicy": "Never"}),
        &gs,
    );
    assert_eq!(props(&body)["priority"], "Spot");
    assert_eq!(props(&body)["sku"], "Standard");
}

#[test]
fn security_context_and_dns_config() {
    let mut c = minimal_container();
    c["securityContext"] = json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
    let pod = json!({"containers": [c], "securityContext": {"runAsUser": 1000, "runAsGroup": 3000},
        "dnsPolicy": "None", "dnsConfig": {"nameservers": ["10.0.0.10"], "searches": ["shop.svc.cluster.local", "cluster.local"],
        "options": [{"name": "ndots", "value": "2"}]}});
    let (_, body) = build(pod, &spec());
    assert_eq!(
        c0(&body)["securityContext"],
        json!({"allowPrivilegeEscalation": false, "runAsUser": 1000, "runAsGroup": 3000, "capabilities": {"drop": ["ALL"]}})
    );
    assert_eq!(
        props(&body)["dnsConfig"],
        json!({"nameServers": ["10.0.0.10"], "searchDomains": "shop.svc.cluster.local cluster.local", "options": "ndots:2"})
    );
}

#[test]
fn api_server_defaults_are_accepted() {
    // What a Deployment's template looks like after defaulting.
    let mut c = minimal_container();
    c["imagePullPolicy"] = json!("IfNotPresent");
    c["terminationMessagePath"] = json!("/dev/termination-log");
    c["terminationMessagePolicy"] = json!("File");
    let pod = json!({"containers": [c], "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
        "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30,
        "nodeSelector": {"kubernetes.io/os": "linux"}, "tolerations": [{"key": "x", "operator": "Exists"}]});
    build(pod, &spec());
}

fn rejected(pod_spec: Value, gs: &GroupSpec) -> TranslateError {
    match translate(&template(pod_spec), gs, &resolver()) {
        Ok(t) => panic!("accepted: {:?}", t.body),
        Err(e) => e,
    }
}

#[test]
fn what_aci_cannot_express_is_an_error_naming_the_field() {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = minimal_container();
        f(&mut c);
        json!({"containers": [c]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"containers": [minimal_container()], "volumes": [{"name": "h", "hostPath": {"path": "/var"}}]}),
            "spec.volumes[0].hostPath",
        ),
        (
            json!({"containers": [minimal_container()], "volumes": [{"name": "p", "persistentVolumeClaim": {"claimName": "data"}}]}),
            "spec.volumes[0].persistentVolumeClaim",
        ),
        (
            json!({"containers": [minimal_container()], "hostNetwork": true}),
            "spec.hostNetwork",
        ),
        (
            with(&|c| c["securityContext"] = json!({"privileged": true})),
            "spec.containers[0].securityContext.privileged",
        ),
        (with(&|c| c["args"] = json!(["--x"])), "spec.containers[0].args"),
        (
            with(&|c| c["startupProbe"] = json!({"exec": {"command": ["true"]}})),
            "spec.containers[0].startupProbe",
        ),
        (
            with(&|c| c["livenessProbe"] = json!({"tcpSocket": {"port": 80}})),
            "spec.containers[0].livenessProbe.tcpSocket",
        ),
        (
            with(&|c| c["ports"] = json!([{"containerPort": 80, "protocol": "SCTP"}])),
            "spec.containers[0].ports[0].protocol",
        ),
        (
            with(&|c| c["ports"] = json!([{"containerPort": 80, "hostPort": 8080}])),
            "spec.containers[0].ports[0].hostPort",
        ),
        (
            with(&|c| c["resources"] = json!({"limits": {"nvidia.com/gpu": "1"}})),
            "spec.containers[0].resources.limits.nvidia.com/gpu",
        ),
        (
            with(&|c| c["resources"] = json!({"requests": {"cpu": "40"}})),
            "spec.containers[*].resources",
        ),
        (
            with(
                &|c| c["ports"] = json!([{"containerPort": 1}, {"containerPort": 2}, {"containerPort": 3}, {"containerPort": 4}, {"containerPort": 5}, {"containerPort": 6}]),
            ),
            "spec.containers[*].ports",
        ),
        (
            with(&|c| c["workingDir"] = json!("/app")),
            "spec.containers[0].workingDir",
        ),
        (
            with(&|c| c["lifecycle"] = json!({"preStop": {"exec": {"command": ["x"]}}})),
            "spec.containers[0].lifecycle",
        ),
        (
            with(&|c| c["securityContext"] = json!({"runAsNonRoot": true})),
            "spec.containers[0].securityContext.runAsNonRoot",
        ),
        (
            with(&|c| {
                c["env"] = json!([{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
            }),
            "spec.containers[0].env[0].valueFrom.fieldRef",
        ),
        (
            with(&|c| {
                c["env"] = json!([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}])
            }),
            "spec.containers[0].env[0].valueFrom.secretKeyRef",
        ),
        (
            with(&|c| {
                c["command"] = json!(["run", "--pw=$(PW)"]);
                c["env"] =
                    json!([{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]);
            }),
            "spec.containers[0].command[1]",
        ),
        (
            with(&|c| {
                c["volumeMounts"] = json!([{"name": "s", "mountPath": "/s", "subPath": "x"}]);
            }),
            "spec.containers[0].volumeMounts[0].subPath",
        ),
        (with(&|c| c["image"] = json!("")), "spec.containers[0].image"),
        (
            json!({"containers": [minimal_container()], "imagePullSecrets": [{"name": "absent"}]}),
            "spec.imagePullSecrets[0]",
        ),
        (
            json!({"containers": [minimal_container()], "initContainers": [{"name": "big", "image": "x", "resources": {"requests": {"cpu": "2"}}}]}),
            "spec.initContainers[0].resources",
        ),
    ];
    for (pod, path) in cases {
        let e = rejected(pod.clone(), &spec());
        assert_eq!(e.path(), path, "{e} for {pod}");
    }
    let spot_private = GroupSpec {
        priority: AciPriority::Spot,
        ..spec()
    };
    assert_eq!(
        rejected(json!({"containers": [minimal_container()]}), &spot_private).path(),
        "burst.priority"
    );
    let bad_name = GroupSpec {
        policy: "Web_App".into(),
        ..spec()
    };
    assert!(matches!(
        rejected(json!({"containers": [minimal_container()]}), &bad_name),
        TranslateError::Invalid { .. }
    ));
}

fn cluster_dns() -> spillway_core::config::ClusterDns {
    spillway_core::config::ClusterDns {
        name_server: "10.0.0.10".into(),
        cluster_domain: "cluster.local".into(),
    }
}

#[test]
fn zone_and_cluster_dns_for_a_cluster_first_pod() {
    let gs = GroupSpec {
        zone: Some("2".into()),
        cluster_dns: Some(cluster_dns()),
        ..spec()
    };
    // The template's own dnsConfig is merged in, its options override.
    let pod = json!({"containers": [minimal_container()], "dnsPolicy": "ClusterFirst",
        "dnsConfig": {"nameservers": ["10.1.0.53"], "searches": ["corp.example"], "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}});
    let (_, body) = build(pod, &gs);
    assert_eq!(body["zones"], json!(["2"]));
    assert_eq!(
        props(&body)["dnsConfig"],
        json!({"nameServers": ["10.0.0.10", "10.1.0.53"],
            "searchDomains": "shop.svc.cluster.local svc.cluster.local cluster.local corp.example",
            "options": "ndots:2 edns0"})
    );
    // The default policy (ClusterFirst) with no dnsConfig: what the kubelet writes.
    let (_, body) = build(json!({"containers": [minimal_container()]}), &gs);
    assert_eq!(
        props(&body)["dnsConfig"],
        json!({"nameServers": ["10.0.0.10"],
            "searchDomains": "shop.svc.cluster.local svc.cluster.local cluster.local", "options": "ndots:5"})
    );
}

#[test]
fn dns_policy_default_and_none_do_not_get_the_cluster_dns() {
    let gs = GroupSpec {
        cluster_dns: Some(cluster_dns()),
        ..spec()
    };
    let (_, body) = build(
        json!({"containers": [minimal_container()], "dnsPolicy": "Default"}),
        &gs,
    );
    assert!(props(&body).get("dnsConfig").is_none(), "{body}");
    assert!(body.get("zones").is_none(), "no zone asked for: {body}");
    let (_, body) = build(
        json!({"containers": [minimal_container()], "dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"]}}),
        &gs,
    );
    assert_eq!(props(&body)["dnsConfig"], json!({"nameServers": ["1.1.1.1"]}));
}

#[test]
fn cluster_dns_without_a_vnet_or_searches_without_servers_are_named_errors() {
    let public = GroupSpec {
        cluster_dns: Some(cluster_dns()),
        network: Network::Public { dns_name_label: None },
        ..spec()
    };
    let e = rejected(json!({"containers": [minimal_container()]}), &public);
    assert_eq!(e.path(), "spec.dnsPolicy", "{e}");
    assert!(e.to_string().contains("azure.subnetId"), "{e}");
    let e = rejected(
        json!({"containers": [minimal_container()], "dnsConfig": {"searches": ["corp.example"]}}),
        &spec(),
    );
    assert_eq!(e.path(), "spec.dnsConfig.nameservers", "{e}");
    let gs = GroupSpec {
        cluster_dns: Some(cluster_dns()),
        ..spec()
    };
    let e = rejected(
        json!({"containers": [minimal_container()], "dnsConfig": {"nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}}),
        &gs,
    );
    assert_eq!(e.path(), "spec.dnsConfig.nameservers", "{e}");
}
