//! The client's types against the saved official spec and its examples
//! (`../shared/aci-spec`): every example response parses; what the client
//! would send back validates; the validator itself rejects bad bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use serde_json::Value;
use spillway_aci::model::{ContainerGroup, ContainerGroupList, Logs, UsageList};

/// All numbers as f64 (`1` and `1.0` compare equal after a round trip) and
/// no empty lists (the client omits them; absent and empty mean the same).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => serde_json::json!(n.as_f64().unwrap()),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(body: &Value, what: &str) -> Value {
    let parsed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    serde_json::to_value(&parsed).unwrap()
}

#[test]
fn every_example_response_parses_into_the_client_types() {
    let Some(dir) = common::spec_dir() else { return };
    let spec = common::Spec::load().unwrap();
    let mut parsed = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 9,
        "expected the saved examples, found {}",
        files.len()
    );
    for file in files {
        let ex = common::read_json(&file);
        let op = ex["operationId"].as_str().unwrap().to_string();
        for (status, resp) in ex["responses"].as_object().unwrap() {
            let Some(body) = resp.get("body") else { continue };
            let what = format!("{} {op} {status}", file.display());
            let (def, back) = match op.as_str() {
                "ContainerGroups_CreateOrUpdate" | "ContainerGroups_Get" | "ContainerGroups_Delete" => {
                    let g: ContainerGroup = serde_json::from_value(body.clone()).unwrap();
                    assert!(g.name.is_some() && !g.properties.containers.is_empty(), "{what}");
                    ("ContainerGroup", roundtrip::<ContainerGroup>(body, &what))
                }
                "ContainerGroups_List" | "ContainerGroups_ListByResourceGroup" => {
                    let l: ContainerGroupList = serde_json::from_value(body.clone()).unwrap();
                    assert!(!l.value.is_empty(), "{what}");
                    (
                        "ContainerGroupListResult",
                        roundtrip::<ContainerGroupList>(body, &what),
                    )
                }
                "Location_ListUsage" => {
                    let u: UsageList = serde_json::from_value(body.clone()).unwrap();
                    assert_eq!(u.value[0].name.value, "ContainerGroups");
                    ("UsageListResult", roundtrip::<UsageList>(body, &what))
                }
                "Containers_ListLogs" => ("Logs", roundtrip::<Logs>(body, &what)),
                other => panic!("{what}: no client type for {other}"),
            };
            // Nothing the server said is lost when the client reads it.
            assert_eq!(
                normalize(&back),
                normalize(body),
                "{what}: round trip changed the body"
            );
            // And the example itself is valid per the spec (secrets being
            // omitted from responses), so the validator agrees with the examples.
            let errors = spec.check_response(def, body);
            assert!(errors.is_empty(), "{what}: {errors:#?}");
            parsed += 1;
        }
    }
    assert!(parsed >= 10, "only {parsed} example bodies parsed");
}

#[test]
fn example_request_bodies_survive_the_client_types() {
    let Some(dir) = common::spec_dir() else { return };
    let spec = common::Spec::load().unwrap();
    for name in [
        "ContainerGroupsCreateOrUpdate.json",
        "ContainerGroupsCreatePriority.json",
    ] {
        let ex = common::read_json(&dir.join("examples").join(name));
        let body = &ex["parameters"]["containerGroup"];
        let back = roundtrip::<ContainerGroup>(body, name);
        assert_eq!(normalize(&back), normalize(body), "{name}");
        let errors = spec.check("ContainerGroup", &back);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

#[test]
fn the_validator_has_teeth() {
    let Some(spec) = common::Spec::load() else { return };
    let good = serde_json::json!({
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "containers": [{"name": "a", "properties": {"image": "nginx",
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]
        }
    });
    spec.assert_valid_request("ContainerGroup", &good);
    let mut wrong_type = good.clone();
    wrong_type["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = "1".into();
    assert!(!spec.check("ContainerGroup", &wrong_type).is_empty());
    let mut missing = good.clone();
    missing["properties"]["containers"][0]["properties"]["resources"]["requests"]
        .as_object_mut()
        .unwrap()
        .remove("memoryInGB");
    assert!(!spec.check("ContainerGroup", &missing).is_empty());
    let mut bad_enum = good.clone();
    bad_enum["properties"]["restartPolicy"] = "Sometimes".into();
    assert!(!spec.check("ContainerGroup", &bad_enum).is_empty());
    // `args` is not an ACI field: only the strict variant notices.
    let mut undeclared = good.clone();
    undeclared["properties"]["containers"][0]["properties"]["args"] = serde_json::json!(["x"]);
    assert!(spec.check("ContainerGroup", &undeclared).is_empty());
    assert!(!spec.check_strict("ContainerGroup", &undeclared).is_empty());
    // Read-only fields have no place in a request.
    let mut read_only = good.clone();
    read_only["properties"]["provisioningState"] = "Succeeded".into();
    assert!(!spec.check_strict("ContainerGroup", &read_only).is_empty());
}
