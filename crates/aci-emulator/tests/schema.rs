//! The emulator's responses validate against the official spec (`../shared/aci-spec`), with `$ref`s
//! into common-types resolved locally (no network), plus a strict check that no response carries a
//! property the spec does not declare. Without `../shared` the test says loudly that it skipped.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::PathBuf;

use aci_emulator::{CapacityFault, CapacityMode, CrashFault, EmulatorConfig, ImageFault, ImageFaultMode};
use common::*;
use jsonschema::{Draft, Registry};
use serde_json::{Value, json};

const SPEC_URI: &str = "https://aci-spec.invalid/specification/containerinstance/resource-manager/Microsoft.ContainerInstance/ContainerInstance/stable/2026-05-01/containerInstance.json";
const STANDBY_URI: &str = "https://aci-spec.invalid/specification/standbypool/resource-manager/Microsoft.StandbyPool/StandbyPool/stable/2026-04-01/standbypool.json";
const TYPES_URI: &str =
    "https://aci-spec.invalid/specification/common-types/resource-management/v5/types.json";

fn spec_dir() -> Option<PathBuf> {
    // crates/aci-emulator -> repo root -> ../shared/aci-spec
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/aci-spec");
    if dir.join("containerInstance.json").is_file() {
        Some(dir)
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true: {} is missing; the schema checks must run in CI",
            dir.display()
        );
    } else {
        eprintln!(
            "\n************************************************************\n\
             SKIPPED: schema validation — {} is missing (../shared not present)\n\
             ************************************************************\n",
            dir.display()
        );
        None
    }
}

fn load(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Spec {
    uri: &'static str,
    spec: Value,
    types: Value,
    registry: Registry<'static>,
}

impl Spec {
    /// The response view of the spec: `x-ms-secret` properties are never returned (autorest
    /// convention, and the spec's own example responses omit `workspaceKey` although the schema
    /// lists it as required), so they are dropped from `required` lists.
    fn load(dir: &std::path::Path) -> Spec {
        Spec::load_file(dir, "containerInstance.json", SPEC_URI)
    }

    /// The standby pool spec (`standbypool/standbypool.json`, same common-types).
    fn load_standby(dir: &std::path::Path) -> Spec {
        Spec::load_file(dir, "standbypool/standbypool.json", STANDBY_URI)
    }

    fn load_file(dir: &std::path::Path, file: &str, uri: &'static str) -> Spec {
        let mut spec = load(dir.join(file));
        response_view(&mut spec);
        let types = load(dir.join("common-types/resource-management/v5/types.json"));
        let registry = Registry::new()
            .draft(Draft::Draft4)
            .add(uri, spec.clone())
            .and_then(|b| b.add(TYPES_URI, types.clone()))
            .and_then(|b| b.prepare())
            .expect("registry");
        Spec {
            uri,
            spec,
            types,
            registry,
        }
    }

    /// Validates a common-types `ErrorResponse` (profiles and pools answer errors in it).
    fn check_error(&self, instance: &Value, what: &str) {
        self.check_at(TYPES_URI, true, "ErrorResponse", instance, what);
    }

    /// Validates `instance` against `#/definitions/{definition}`, then checks for undeclared properties.
    fn check(&self, definition: &str, instance: &Value, what: &str) {
        self.check_at(self.uri, false, definition, instance, what);
    }

    fn check_at(&self, uri: &str, in_types: bool, definition: &str, instance: &Value, what: &str) {
        let schema = json!({"$ref": format!("{uri}#/definitions/{definition}")});
        let validator = jsonschema::options()
            .with_draft(Draft::Draft4)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&schema)
            .expect("validator");
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: invalid {definition}:\n{}\n{instance:#}",
            errors.join("\n")
        );
        let mut unknown = Vec::new();
        self.undeclared(
            &json!({"$ref": format!("#/definitions/{definition}")}),
            in_types,
            instance,
            "$",
            &mut unknown,
        );
        assert!(
            unknown.is_empty(),
            "{what}: properties not in the spec: {unknown:?}"
        );
    }

    fn resolve<'a>(&'a self, schema: &'a Value, in_types: bool) -> (&'a Value, bool) {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let (doc, types) = if r.starts_with('#') {
                    (in_types, in_types)
                } else {
                    (true, true)
                };
                let pointer = r.split_once('#').map_or("", |(_, p)| p);
                let root = if doc { &self.types } else { &self.spec };
                let target = root
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("unresolved $ref {r}"));
                self.resolve(target, types)
            }
            None => (schema, in_types),
        }
    }

    /// Collects the declared properties of a schema, following `$ref` and `allOf`.
    fn properties(
        &self,
        schema: &Value,
        in_types: bool,
        out: &mut Vec<(String, Value, bool)>,
        open: &mut bool,
    ) {
        let (s, t) = self.resolve(schema, in_types);
        if s.get("additionalProperties").is_some() {
            *open = true;
        }
        for (k, v) in s
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.push((k.clone(), v.clone(), t));
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.properties(sub, t, out, open);
        }
    }

    fn undeclared(
        &self,
        schema: &Value,
        in_types: bool,
        instance: &Value,
        path: &str,
        out: &mut Vec<String>,
    ) {
        let (s, t) = self.resolve(schema, in_types);
        match instance {
            Value::Object(map) => {
                let (mut props, mut open) = (Vec::new(), false);
                self.properties(s, t, &mut props, &mut open);
                for (k, v) in map {
                    match props.iter().find(|(name, _, _)| name == k) {
                        Some((_, sub, st)) => self.undeclared(sub, *st, v, &format!("{path}.{k}"), out),
                        None if open => {}
                        None => out.push(format!("{path}.{k}")),
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = s.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.undeclared(item_schema, t, v, &format!("{path}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn response_view(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let secrets: Vec<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| {
                    p.iter()
                        .filter(|(_, v)| v["x-ms-secret"] == json!(true))
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Array(required)) = map.get_mut("required") {
                required.retain(|r| !secrets.iter().any(|s| r == s));
            }
            map.values_mut().for_each(response_view);
        }
        Value::Array(items) => items.iter_mut().for_each(response_view),
        _ => {}
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("JSON body")
}

#[tokio::test]
async fn responses_validate_against_the_official_schema() {
    let Some(dir) = spec_dir() else { return };
    let spec = Spec::load(&dir);
    let env = start(EmulatorConfig {
        page_size: 2,
        ..fast_config()
    })
    .await;
    env.emu.update_faults(|f| {
        f.failing_images = vec![ImageFault {
            pattern: "missing/*".into(),
            mode: ImageFaultMode::PullFails,
        }];
        f.crashing_images = vec![CrashFault {
            pattern: "crashy".into(),
            every_ms: 30,
            exit_code: 1,
        }];
    });

    // Create (201 body), then the finished GET with instance views.
    let r = env.put("rg", "ok", &group_body("nginx")).await;
    assert_eq!(r.status().as_u16(), 201);
    spec.check("ContainerGroup", &json_of(r).await, "PUT 201");
    let (_, g) = env.create_and_wait("rg", "ok-2", &group_body("nginx")).await;
    spec.check("ContainerGroup", &g, "GET succeeded");
    let (_, g) = env
        .create_and_wait("rg", "bad-image", &group_body("missing/app"))
        .await;
    assert_eq!(g["properties"]["provisioningState"], "Failed");
    spec.check("ContainerGroup", &g, "GET failed pull");
    env.create_and_wait("rg", "crash", &group_body("crashy")).await;
    tokio::time::sleep(std::time::Duration::from_millis(80)).await;
    let (_, g) = env.get_json(&env.group_url("rg", "crash")).await;
    assert!(g["properties"]["containers"][0]["properties"]["instanceView"]["previousState"].is_object());
    spec.check("ContainerGroup", &g, "GET crash loop");

    // The spec's own examples as requests: accepted, answered validly, secrets not echoed.
    for (file, name) in [
        ("ContainerGroupsCreateOrUpdate.json", "demo1"),
        ("ContainerGroupsCreatePriority.json", "demo-spot"),
    ] {
        let example = load(dir.join("examples").join(file));
        let body = example["parameters"]["containerGroup"].clone();
        let r = env.put("demo", name, &body).await;
        assert_eq!(r.status().as_u16(), 201, "{file}");
        let text = r.text().await.unwrap();
        for secret in ["accountKey", "SecretValue1InBase64", "\"workspaceKey\""] {
            assert!(!text.contains(secret), "{file}: secret {secret} echoed");
        }
        spec.check("ContainerGroup", &serde_json::from_str(&text).unwrap(), file);
        let (_, g) = env.get_json(&env.group_url("demo", name)).await;
        spec.check("ContainerGroup", &g, file);
    }

    // Lists, by resource group (paged) and by subscription.
    let (_, page) = env.get_json(&format!("{}?{API}", env.rg_url("rg"))).await;
    assert!(page["nextLink"].is_string());
    spec.check("ContainerGroupListResult", &page, "list page");
    let sub_list = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups?{API}",
        env.base()
    );
    let (_, page) = env.get_json(&sub_list).await;
    spec.check("ContainerGroupListResult", &page, "list by subscription");

    // Usages, capabilities, logs.
    let loc = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope",
        env.base()
    );
    spec.check(
        "UsageListResult",
        &env.get_json(&format!("{loc}/usages?{API}")).await.1,
        "usages",
    );
    spec.check(
        "CapabilitiesListResult",
        &env.get_json(&format!("{loc}/capabilities?{API}")).await.1,
        "capabilities",
    );
    let logs = format!("{}/ok-2/containers/app/logs?{API}", env.rg_url("rg"));
    spec.check("Logs", &env.get_json(&logs).await.1, "logs");

    // Error envelopes: 400, 401, 404, 409, 429, 500.
    let mut bad = group_body("nginx");
    bad["properties"]["osType"] = json!("Plan9");
    spec.check(
        "CloudError",
        &json_of(env.put("rg", "x", &bad).await).await,
        "400",
    );
    let r = env.http.get(env.group_url("rg", "ok")).send().await.unwrap();
    spec.check("CloudError", &json_of(r).await, "401");
    spec.check(
        "CloudError",
        &env.get_json(&env.group_url("rg", "nope")).await.1,
        "404",
    );
    env.emu.update_faults(|f| {
        f.capacity = vec![CapacityFault {
            region: "*".into(),
            mode: CapacityMode::Sync,
        }]
    });
    spec.check(
        "CloudError",
        &json_of(env.put("rg", "cap", &group_body("nginx")).await).await,
        "409",
    );
    env.emu.update_faults(|f| {
        f.capacity.clear();
        f.force_throttle = Some(aci_emulator::ForcedThrottle {
            count: 1,
            retry_after_secs: 1,
            scope: Default::default(),
        });
    });
    spec.check(
        "CloudError",
        &env.get_json(&env.group_url("rg", "ok")).await.1,
        "429",
    );
    env.emu.update_faults(|f| f.error_5xx_rate = 1.0);
    spec.check(
        "CloudError",
        &env.get_json(&env.group_url("rg", "ok")).await.1,
        "5xx",
    );
}

#[test]
fn the_spec_examples_responses_pass_the_same_checks() {
    let Some(dir) = spec_dir() else { return };
    let spec = Spec::load(&dir);
    let cases = [
        ("ContainerGroupsCreateOrUpdate.json", "ContainerGroup"),
        ("ContainerGroupsCreatePriority.json", "ContainerGroup"),
        ("ContainerGroupsGet_Succeeded.json", "ContainerGroup"),
        ("ContainerGroupsGet_Failed.json", "ContainerGroup"),
        ("ContainerGroupsDelete.json", "ContainerGroup"),
        ("ContainerGroupsList.json", "ContainerGroupListResult"),
        (
            "ContainerGroupsListByResourceGroup.json",
            "ContainerGroupListResult",
        ),
        ("ContainerGroupUsage.json", "UsageListResult"),
        ("ContainerListLogs.json", "Logs"),
    ];
    let mut checked = 0;
    for (file, definition) in cases {
        let example = load(dir.join("examples").join(file));
        for (status, response) in example["responses"].as_object().expect("responses") {
            if let Some(body) = response.get("body") {
                spec.check(definition, body, &format!("{file} {status}"));
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked}");
}

#[test]
fn the_strict_checker_catches_undeclared_properties() {
    let Some(dir) = spec_dir() else { return };
    let spec = Spec::load(&dir);
    let item = json!({"name": "x", "properties": {"osType": "Linux", "containers": [], "instanceView": {"state": "Running"}}});
    let mut unknown = Vec::new();
    spec.undeclared(
        &json!({"$ref": "#/definitions/ListResultContainerGroup"}),
        false,
        &item,
        "$",
        &mut unknown,
    );
    assert_eq!(
        unknown,
        ["$.properties.instanceView"],
        "lists must not carry instanceView"
    );
    let group = json!({"id": "i", "properties": {"containers": [{"name": "c", "properties": {"image": "x", "bogus": 1}}]}});
    unknown.clear();
    spec.undeclared(
        &json!({"$ref": "#/definitions/ContainerGroup"}),
        false,
        &group,
        "$",
        &mut unknown,
    );
    assert_eq!(unknown, ["$.properties.containers[0].properties.bogus"]);
}

#[tokio::test]
async fn standby_and_profile_answers_validate_against_both_specs() {
    let Some(dir) = spec_dir() else { return };
    let aci = Spec::load(&dir);
    let standby = Spec::load_standby(&dir);
    let env = start(EmulatorConfig {
        page_size: 1,
        standby: aci_emulator::StandbyConfig {
            refill_delay: std::time::Duration::from_millis(50),
            claim_latency: std::time::Duration::ZERO,
            ..Default::default()
        },
        ..fast_config()
    })
    .await;
    let send = |method: reqwest::Method, url: String, body: Option<Value>| {
        let mut r = env.http.request(method, url).bearer_auth(&env.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move { json_of(r.send().await.unwrap()).await }
    };
    let rg = format!("{}/subscriptions/{SUB}/resourceGroups/rg/providers", env.base());
    let profiles = format!("{rg}/Microsoft.ContainerInstance/containerGroupProfiles");
    let pools = format!("{rg}/Microsoft.StandbyPool/standbyContainerGroupPools");
    let pool_api = "api-version=2026-04-01";
    let profile = json!({"location": "westeurope", "tags": {"a": "b"}, "properties": {"osType": "Linux",
        "containers": [{"name": "app", "properties": {"image": "nginx", "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
            "environmentVariables": [{"name": "S", "secureValue": "hunter2"}]}}]}});
    for name in ["cgp", "cgp-2"] {
        let v = send(
            reqwest::Method::PUT,
            format!("{profiles}/{name}?{API}"),
            Some(profile.clone()),
        )
        .await;
        assert!(!v.to_string().contains("hunter2"), "secrets are not echoed");
        aci.check("ContainerGroupProfile", &v, "profile PUT");
    }
    aci.check(
        "ContainerGroupProfile",
        &env.get_json(&format!("{profiles}/cgp?{API}")).await.1,
        "profile GET",
    );
    let page = env.get_json(&format!("{profiles}?{API}")).await.1;
    assert!(page["nextLink"].is_string(), "page size 1 pages");
    aci.check("ContainerGroupProfileListResult", &page, "profile list");
    let revs = env.get_json(&format!("{profiles}/cgp/revisions?{API}")).await.1;
    aci.check("ContainerGroupProfileListResult", &revs, "revisions");
    aci.check(
        "ContainerGroupProfile",
        &env.get_json(&format!("{profiles}/cgp/revisions/1?{API}")).await.1,
        "revision",
    );
    aci.check_error(
        &env.get_json(&format!("{profiles}/nope?{API}")).await.1,
        "profile 404",
    );

    let pool = json!({"location": "westeurope", "tags": {}, "properties": {
        "elasticityProfile": {"maxReadyCapacity": 2, "refillPolicy": "always"},
        "containerGroupProperties": {"containerGroupProfile": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroupProfiles/cgp"), "revision": 1}},
        "zones": ["1", "2"]}});
    standby.check(
        "StandbyContainerGroupPoolResource",
        &send(
            reqwest::Method::PUT,
            format!("{pools}/pool-1?{pool_api}"),
            Some(pool.clone()),
        )
        .await,
        "pool PUT",
    );
    standby.check(
        "StandbyContainerGroupPoolResource",
        &env.get_json(&format!("{pools}/pool-1?{pool_api}")).await.1,
        "pool GET",
    );
    standby.check(
        "StandbyContainerGroupPoolResourceListResult",
        &env.get_json(&format!("{pools}?{pool_api}")).await.1,
        "pool list",
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    standby.check(
        "StandbyContainerGroupPoolRuntimeViewResource",
        &env.get_json(&format!("{pools}/pool-1/runtimeViews/latest?{pool_api}"))
            .await
            .1,
        "runtime view",
    );
    standby.check(
        "StandbyContainerGroupPoolRuntimeViewResourceListResult",
        &env.get_json(&format!("{pools}/pool-1/runtimeViews?{pool_api}"))
            .await
            .1,
        "runtime views",
    );
    standby.check_error(
        &env.get_json(&format!("{pools}/pool-1/runtimeViews/x?{pool_api}"))
            .await
            .1,
        "view 404",
    );
    let mut bad = pool.clone();
    bad["properties"]["elasticityProfile"]["maxReadyCapacity"] = json!(5000);
    standby.check_error(
        &send(
            reqwest::Method::PUT,
            format!("{pools}/pool-1?{pool_api}"),
            Some(bad),
        )
        .await,
        "pool 400",
    );

    let claim = json!({"location": "westeurope", "properties": {
        "containerGroupProfile": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroupProfiles/cgp"), "revision": 1},
        "containers": [{"name": "app", "properties": {"configMap": {"keyValuePairs": {"k": "v"}}}}],
        "standbyPoolProfile": {"id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.StandbyPool/standbyContainerGroupPools/pool-1")}}});
    let r = env.put("rg", "claimed", &claim).await;
    assert_eq!(r.status().as_u16(), 201);
    let v = json_of(r).await;
    assert_eq!(v["properties"]["isCreatedFromStandbyPool"], true);
    aci.check("ContainerGroup", &v, "claim PUT");
    aci.check(
        "ContainerGroup",
        &env.get_json(&env.group_url("rg", "claimed")).await.1,
        "claimed GET",
    );
}

#[test]
fn the_standby_spec_examples_pass_the_same_checks() {
    let Some(dir) = spec_dir() else { return };
    let spec = Spec::load_standby(&dir);
    let cases = [
        (
            "StandbyContainerGroupPools_Get.json",
            "StandbyContainerGroupPoolResource",
        ),
        (
            "StandbyContainerGroupPools_CreateOrUpdate.json",
            "StandbyContainerGroupPoolResource",
        ),
        (
            "StandbyContainerGroupPools_ListByResourceGroup.json",
            "StandbyContainerGroupPoolResourceListResult",
        ),
        (
            "StandbyContainerGroupPoolRuntimeViews_Get.json",
            "StandbyContainerGroupPoolRuntimeViewResource",
        ),
    ];
    for (file, definition) in cases {
        let example = load(dir.join("standbypool/examples").join(file));
        for (status, response) in example["responses"].as_object().expect("responses") {
            if let Some(body) = response.get("body") {
                spec.check(definition, body, &format!("{file} {status}"));
            }
        }
    }
}
