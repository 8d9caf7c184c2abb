//! Shared test helpers: the saved OpenAPI spec as a JSON-Schema validator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod arm;

use std::path::PathBuf;

use serde_json::Value;

/// `../shared/aci-spec` relative to the repository root, if present.
pub fn spec_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("../shared/aci-spec");
    if dir.join("containerInstance.json").is_file() {
        Some(dir)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: ../shared/aci-spec is missing (looked in {}); the spec-conformance checks must run in CI",
            dir.display()
        );
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED: ../shared/aci-spec is missing (looked in {}).\n\
             !!! The spec-conformance checks did NOT run.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            dir.display()
        );
        None
    }
}

pub fn read_json(p: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Where the documents sit in Azure/azure-rest-api-specs, so the spec's
/// relative `$ref`s (`../../../../../../common-types/...`) resolve against
/// registered copies instead of the network.
const BASE: &str = "https://specs.invalid/specification";
const SPEC_URI: &str = "https://specs.invalid/specification/containerinstance/resource-manager/Microsoft.ContainerInstance/ContainerInstance/stable/2026-05-01/containerInstance.json";
const TYPES_URI: &str = "https://specs.invalid/specification/common-types/resource-management/v5/types.json";

/// Validators for definitions of the spec: `lenient` is the spec as
/// published; `strict` also forbids properties the spec does not declare and
/// read-only ones (what a request body may carry).
pub struct Spec {
    lenient: jsonschema::Registry<'static>,
    strict: jsonschema::Registry<'static>,
    response: jsonschema::Registry<'static>,
}

fn registry(spec: Value, types: Value) -> jsonschema::Registry<'static> {
    jsonschema::Registry::new()
        .draft(jsonschema::Draft::Draft4)
        .add(SPEC_URI, spec)
        .unwrap()
        .add(TYPES_URI, types)
        .unwrap()
        .prepare()
        .expect("registry")
}

impl Spec {
    pub fn load() -> Option<Spec> {
        let dir = spec_dir()?;
        let spec = read_json(&dir.join("containerInstance.json"));
        let types = read_json(&dir.join("common-types/resource-management/v5/types.json"));
        let mut strict_spec = spec.clone();
        if let Some(defs) = strict_spec.get_mut("definitions").and_then(Value::as_object_mut) {
            for (_, d) in defs.iter_mut() {
                tighten(d);
            }
        }
        let mut response_spec = spec.clone();
        if let Some(defs) = response_spec
            .get_mut("definitions")
            .and_then(Value::as_object_mut)
        {
            for (_, d) in defs.iter_mut() {
                relax_secrets(d);
            }
        }
        assert!(SPEC_URI.starts_with(BASE) && TYPES_URI.starts_with(BASE));
        Some(Spec {
            response: registry(response_spec, types.clone()),
            lenient: registry(spec, types.clone()),
            strict: registry(strict_spec, types),
        })
    }

    fn errors(
        &self,
        registry: &jsonschema::Registry<'static>,
        definition: &str,
        instance: &Value,
    ) -> Vec<String> {
        let schema = serde_json::json!({"$ref": format!("{SPEC_URI}#/definitions/{definition}")});
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .with_registry(registry)
            .offline()
            .build(&schema)
            .expect("the spec compiles as JSON Schema");
        v.iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    /// Errors against the published spec.
    pub fn check(&self, definition: &str, instance: &Value) -> Vec<String> {
        self.errors(&self.lenient, definition, instance)
    }

    /// Errors for a response body: `x-ms-secret` fields are never returned
    /// (CONTRACT.md §3), so they count as optional there.
    pub fn check_response(&self, definition: &str, instance: &Value) -> Vec<String> {
        self.errors(&self.response, definition, instance)
    }

    /// Errors against the strict (request) variant.
    pub fn check_strict(&self, definition: &str, instance: &Value) -> Vec<String> {
        self.errors(&self.strict, definition, instance)
    }

    pub fn assert_valid_request(&self, definition: &str, instance: &Value) {
        let e = self.check(definition, instance);
        assert!(e.is_empty(), "not valid per the spec: {e:#?}\n{instance:#}");
        let e = self.check_strict(definition, instance);
        assert!(
            e.is_empty(),
            "undeclared or read-only fields: {e:#?}\n{instance:#}"
        );
    }
}

/// No undeclared properties, no read-only ones, in every object schema.
fn tighten(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        props.retain(|_, p| p.get("readOnly") != Some(&Value::Bool(true)));
        for (_, p) in props.iter_mut() {
            tighten(p);
        }
        if !obj.contains_key("additionalProperties") {
            obj.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
    if let Some(items) = obj.get_mut("items") {
        tighten(items);
    }
}

/// Drop `x-ms-secret` properties from `required` lists.
fn relax_secrets(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    let secrets: Vec<String> = obj
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, v)| v.get("x-ms-secret") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(req) = obj.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|r| !secrets.iter().any(|s| r == s));
    }
    if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
        for (_, p) in props.iter_mut() {
            relax_secrets(p);
        }
    }
    if let Some(items) = obj.get_mut("items") {
        relax_secrets(items);
    }
}
