//! The configuration document: parsing, validation and resolution into
//! [`Policy`] values the planner can trust.

mod duration;
pub mod headroom;
pub mod model;
pub mod network;
mod parse;
pub mod predict;
pub mod standby;

pub use parse::MAX_DOCUMENT_BYTES;

use std::fmt;

pub use headroom::Headroom;
pub use model::*;
pub use network::{BurstDns, ClusterDns, DnsSpec, NameServer, ZoneName, ZonesSpec};
pub use predict::{Predict, PredictMode};
pub use standby::{SizeFrom, StandbyPool, StandbyPoolSpec};

/// One problem in the document, with the path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

mod policy;
mod validate;

pub use policy::{BurstPolicy, Policy};

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

/// One entry of `policies`: resolved, or disabled with its reasons.
#[derive(Debug, Clone)]
pub struct PolicyOutcome {
    pub index: usize,
    /// The name as written, if one could be read.
    pub name: Option<String>,
    pub result: Result<Arc<Policy>, Vec<ConfigError>>,
}

/// A document whose global sections are valid. Individual policies may
/// still be disabled by their own errors.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub global: GlobalSpec,
    pub policies: Vec<PolicyOutcome>,
}

impl LoadedConfig {
    pub fn valid_policies(&self) -> impl Iterator<Item = &Arc<Policy>> {
        self.policies.iter().filter_map(|p| p.result.as_ref().ok())
    }
    /// Every policy-level problem, in document order.
    pub fn errors(&self) -> impl Iterator<Item = &ConfigError> {
        self.policies
            .iter()
            .filter_map(|p| p.result.as_ref().err())
            .flatten()
    }
    pub fn is_fully_valid(&self) -> bool {
        self.errors().next().is_none()
    }
}

/// The document cannot be used at all; the controller keeps its last good
/// configuration. `errors` holds every problem found, policies' included.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid configuration: {}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct InvalidDocument {
    pub errors: Vec<ConfigError>,
}

/// Parses, validates and resolves a configuration document.
pub fn load(yaml: &str) -> Result<LoadedConfig, InvalidDocument> {
    let tree = parse::yaml_to_tree(yaml).map_err(|e| InvalidDocument { errors: vec![e] })?;
    let Value::Object(mut root) = tree else {
        return Err(InvalidDocument {
            errors: vec![ConfigError::new(
                "",
                "the document must be a mapping with `cluster` and `policies`",
            )],
        });
    };
    let mut global_errors = Vec::new();
    let raw_policies = match root.shift_remove("policies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            global_errors.push(ConfigError::new("policies", "must be a list of policies"));
            Vec::new()
        }
    };
    let global: Option<GlobalSpec> = parse::section(Value::Object(root), "", &mut global_errors);
    if let Some(g) = &global {
        validate::global(g, &mut global_errors);
    }
    // Policies are still checked against a partly read global section, so
    // that one run reports everything; they are only enabled if it is valid.
    let global_valid = global_errors.is_empty();

    let mut seen_names = BTreeSet::new();
    let policies: Vec<PolicyOutcome> = raw_policies
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let base = format!("policies[{index}]");
            let name = raw.get("name").and_then(Value::as_str).map(str::to_string);
            let mut errors = Vec::new();
            let spec: Option<PolicySpec> = parse::section(raw, &base, &mut errors);
            if let Some(spec) = &spec {
                validate::policy(spec, &base, global.as_ref().filter(|_| global_valid), &mut errors);
                if !seen_names.insert(spec.name.clone()) {
                    errors.push(ConfigError::new(
                        format!("{base}.name"),
                        format!("{:?} is used by an earlier policy", spec.name),
                    ));
                }
            }
            let result = match (spec, &global, errors.is_empty() && global_valid) {
                (Some(spec), Some(g), true) => Ok(Arc::new(resolve(spec, g))),
                _ => Err(errors),
            };
            PolicyOutcome { index, name, result }
        })
        .collect();

    match global.filter(|_| global_valid) {
        Some(global) => Ok(LoadedConfig { global, policies }),
        None => {
            let mut errors = global_errors;
            errors.extend(policies.into_iter().filter_map(|p| p.result.err()).flatten());
            Err(InvalidDocument { errors })
        }
    }
}

fn resolve(spec: PolicySpec, global: &GlobalSpec) -> Policy {
    let burst = spec.burst.enabled.then(|| {
        let mut locations = Vec::new();
        if let Some(az) = &global.azure {
            locations.push(az.location.clone());
            locations.extend(az.fallback_locations.iter().cloned());
        }
        BurstPolicy {
            max_replicas: spec.burst.max_replicas,
            max_hourly_cost: spec.burst.max_hourly_cost,
            vm_overflow: spec.burst.vm_overflow,
            pending_grace: spec.burst.pending_grace,
            scale_in_stabilization: spec.burst.scale_in_stabilization,
            drain_grace: spec.burst.drain_grace,
            service: spec.burst.service.clone(),
            priority: spec.burst.priority,
            requests: spec.burst.requests.clone(),
            max_surge: spec.burst.max_surge,
            locations,
            subnet_id: global.azure.as_ref().and_then(|az| az.subnet_id.clone()),
            zones: spec.burst.zones.listed().iter().map(ZoneName::as_zone).collect(),
            zones_auto: spec.burst.zones == ZonesSpec::Auto,
            dns: spec.burst.dns.as_ref().map(BurstDns::from_spec),
            standby_pool: spec
                .burst
                .standby_pool
                .as_ref()
                .map(|p| p.resolve(&global.cluster.id, &spec.name)),
        }
    });
    Policy {
        name: spec.name,
        cluster_id: global.cluster.id.clone(),
        target: spec.target,
        min_replicas: spec.min_replicas,
        max_replicas: spec.max_replicas,
        interval: spec.interval.unwrap_or(global.interval),
        metrics: spec.metrics,
        tolerance: spec.tolerance,
        behavior: spec.behavior.resolve(),
        on_metrics_missing: spec.on_metrics_missing,
        predict: spec.predict,
        headroom: spec.headroom,
        burst,
        pricing: global.pricing.clone(),
    }
}
