//! The scenario file: the world the policy is tried against (README
//! "Scenario format"). Parsed with serde-saphyr; the `config` sub-tree is the
//! production configuration document and goes through `spillway_core::config::load`
//! unchanged, so the simulator runs exactly what the controller would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use spillway_core::config::Policy;
use spillway_core::quantity::Quantity;
use spillway_core::resources::Resources;
use spillway_core::snapshot::Labels;

use crate::SimError;
use crate::dist::Dist;

mod models;

pub use models::*;

/// The embedded default scenario (`config/scenarios/default.yaml`).
pub const DEFAULT_SCENARIO_YAML: &str = include_str!("../../../../config/scenarios/default.yaml");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    #[serde(with = "duration_serde")]
    duration: Duration,
    demand: DemandSpec,
    workload: WorkloadSpec,
    cluster: ClusterModel,
    #[serde(default)]
    aci: AciModel,
    #[serde(default)]
    metrics: MetricsPipelineSpec,
    /// Which policy of `config.policies` to simulate; needed only if there are several.
    #[serde(default)]
    policy: Option<String>,
    /// The production configuration document (ConfigMap `spillway`, key `config.yaml`).
    config: serde_json::Value,
}

/// Where demand comes from. Units are "demand units per second" (e.g. requests/s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DemandSpec {
    /// Demand units one ready replica serves per second.
    pub capacity_per_replica: f64,
    /// Label for the unit, shown in the report.
    #[serde(default = "default_unit")]
    pub unit: String,
    #[serde(default)]
    pub synthetic: Option<Synthetic>,
    #[serde(default)]
    pub trace: Option<TraceSpec>,
}

fn default_unit() -> String {
    "requests/s".to_string()
}

/// `base + daily sine + spikes + steps`, times `1 + noise·N(0,1)`, floored at 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Synthetic {
    pub base: f64,
    #[serde(default)]
    pub daily: Option<Daily>,
    /// Relative standard deviation of per-second noise (0.02 = 2 %).
    #[serde(default)]
    pub noise: f64,
    #[serde(default)]
    pub spikes: Vec<Spike>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Daily {
    pub amplitude: f64,
    /// Time of day of the maximum (the trace starts at midnight).
    #[serde(with = "duration_serde")]
    pub peak_at: Duration,
}

/// A flash crowd: linear rise, plateau, linear fall; added to the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Spike {
    #[serde(with = "duration_serde")]
    pub at: Duration,
    pub height: f64,
    #[serde(with = "duration_serde", default)]
    pub rise: Duration,
    #[serde(with = "duration_serde")]
    pub hold: Duration,
    #[serde(with = "duration_serde", default)]
    pub fall: Duration,
}

/// From `at` on, `add` more demand (negative to step down again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    #[serde(with = "duration_serde")]
    pub at: Duration,
    pub add: f64,
}

/// A `t_seconds,value` CSV, values are arrivals per interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceSpec {
    /// Relative paths are relative to the scenario file.
    pub file: PathBuf,
    /// Multiplies every `t_seconds` (0.5 replays twice as fast).
    #[serde(default = "one")]
    pub time_scale: f64,
    /// Multiplies every value. Ignored when `peakReplicas` is set.
    #[serde(default = "one")]
    pub value_scale: f64,
    /// Scale values so that the peak needs this many ready replicas.
    #[serde(default)]
    pub peak_replicas: Option<f64>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// The pod's effective requests (`cpu`, `memory`, extended resources).
    pub requests: BTreeMap<String, Quantity>,
    #[serde(default)]
    pub labels: Labels,
    /// Ready replicas at t = 0; default: what demand at t = 0 needs, within the policy's bounds.
    #[serde(default)]
    pub initial_replicas: Option<u32>,
    /// From binding on a node to Ready (image pull on a warm node, app start, readiness probe).
    #[serde(default = "default_pod_start")]
    pub start_latency: Dist,
}

fn default_pod_start() -> Dist {
    Dist::uniform_secs(10, 30)
}

/// A node pool with its capacity resolved into scheduler units.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub spec: PoolSpec,
    pub allocatable: Resources,
    pub allocatable_pods: i64,
    /// How many workload pods one empty node of this pool takes.
    pub slots: u32,
}

/// A parsed, validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration_secs: u64,
    pub demand: DemandSpec,
    pub workload: WorkloadSpec,
    pub requests: Resources,
    pub pools: Vec<Pool>,
    pub autoscaler: AutoscalerSpec,
    pub aci: AciModel,
    pub metrics: MetricsPipelineSpec,
    pub policy: Arc<Policy>,
    /// Directory relative trace paths are resolved against.
    pub base_dir: PathBuf,
}

impl Scenario {
    /// The embedded default scenario.
    pub fn embedded_default() -> Result<Scenario, SimError> {
        Scenario::from_yaml(DEFAULT_SCENARIO_YAML, "<embedded default>", Path::new("."))
    }

    pub fn from_file(path: &Path) -> Result<Scenario, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_yaml(&text, &path.display().to_string(), &base)
    }

    pub fn from_yaml(text: &str, origin: &str, base_dir: &Path) -> Result<Scenario, SimError> {
        let raw: RawScenario = serde_saphyr::from_str(text)
            .map_err(|e| SimError::scenario(origin, format!("not a valid scenario: {e}")))?;
        resolve(raw, origin, base_dir)
    }

    /// Hourly price of the cheapest node per workload slot, over all pools.
    pub fn vm_replica_hourly(&self) -> f64 {
        self.pools
            .iter()
            .filter(|p| p.slots > 0)
            .map(|p| p.spec.price_per_hour / f64::from(p.slots))
            .fold(f64::INFINITY, f64::min)
    }

    /// Replicas the initial node pools can hold.
    pub fn initial_pool_replicas(&self) -> u64 {
        self.pools
            .iter()
            .map(|p| u64::from(p.spec.initial_nodes) * u64::from(p.slots))
            .sum()
    }
}

fn resolve(raw: RawScenario, origin: &str, base_dir: &Path) -> Result<Scenario, SimError> {
    let err = |m: String| SimError::scenario(origin, m);
    let config_text = serde_json::to_string(&raw.config).map_err(|e| err(format!("config: {e}")))?;
    let policy = load_policy(&config_text, raw.policy.as_deref(), origin)?;

    if raw.duration.as_secs() == 0 {
        return Err(err("duration must be at least 1s".into()));
    }
    let d = &raw.demand;
    if !(d.capacity_per_replica.is_finite() && d.capacity_per_replica > 0.0) {
        return Err(err(format!(
            "demand.capacityPerReplica: {} must be a finite number above 0",
            d.capacity_per_replica
        )));
    }
    match (&d.synthetic, &d.trace) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(err("demand: set exactly one of synthetic and trace".into()));
        }
        (Some(s), None) => validate_synthetic(s).map_err(|m| err(format!("demand.synthetic.{m}")))?,
        (None, Some(t)) => {
            if !(t.time_scale.is_finite() && t.time_scale > 0.0) {
                return Err(err(format!(
                    "demand.trace.timeScale: {} must be above 0",
                    t.time_scale
                )));
            }
            if !(t.value_scale.is_finite() && t.value_scale >= 0.0) {
                return Err(err(format!(
                    "demand.trace.valueScale: {} must be 0 or more",
                    t.value_scale
                )));
            }
            if let Some(p) = t.peak_replicas
                && !(p.is_finite() && p > 0.0)
            {
                return Err(err(format!("demand.trace.peakReplicas: {p} must be above 0")));
            }
        }
    }
    let requests = Resources::from_quantities(raw.workload.requests.iter().map(|(k, v)| (k.as_str(), *v)));
    if requests.cpu_millis <= 0 && requests.memory_bytes <= 0 {
        return Err(err("workload.requests: set at least cpu or memory above 0".into()));
    }
    raw.workload
        .start_latency
        .validate()
        .map_err(|m| err(format!("workload.startLatency: {m}")))?;
    if raw.cluster.node_pools.is_empty() {
        return Err(err("cluster.nodePools: at least one pool is required".into()));
    }
    let mut pools = Vec::new();
    for (i, spec) in raw.cluster.node_pools.iter().enumerate() {
        let at = format!("cluster.nodePools[{i}]");
        let allocatable = Resources::from_quantities(spec.allocatable.iter().map(|(k, v)| (k.as_str(), *v)));
        let allocatable_pods = spec
            .allocatable
            .get("pods")
            .map(|q| q.units_ceil())
            .unwrap_or(110);
        let allocatable_pods = i64::try_from(allocatable_pods).unwrap_or(i64::MAX);
        let slots = slots_per_node(&allocatable, allocatable_pods, &requests);
        if slots == 0 {
            return Err(err(format!(
                "{at}.allocatable: a node of this pool cannot hold one pod of workload.requests"
            )));
        }
        if spec.min_nodes > spec.max_nodes || spec.initial_nodes > spec.max_nodes {
            return Err(err(format!(
                "{at}: need minNodes ≤ maxNodes and initialNodes ≤ maxNodes"
            )));
        }
        if !(spec.price_per_hour.is_finite() && spec.price_per_hour >= 0.0) {
            return Err(err(format!(
                "{at}.pricePerHour: {} must be a finite price ≥ 0",
                spec.price_per_hour
            )));
        }
        pools.push(Pool {
            spec: spec.clone(),
            allocatable,
            allocatable_pods,
            slots,
        });
    }
    let ca = &raw.cluster.autoscaler;
    ca.provisioning
        .validate()
        .map_err(|m| err(format!("cluster.autoscaler.provisioning: {m}")))?;
    if ca.scan_interval.as_secs() == 0 {
        return Err(err("cluster.autoscaler.scanInterval must be at least 1s".into()));
    }
    if !(0.0..=1.0).contains(&ca.scale_down_utilization_threshold) {
        return Err(err(
            "cluster.autoscaler.scaleDownUtilizationThreshold must be in [0, 1]".into(),
        ));
    }
    let aci = &raw.aci;
    aci.provisioning
        .validate()
        .map_err(|m| err(format!("aci.provisioning: {m}")))?;
    aci.standby_claim
        .validate()
        .map_err(|m| err(format!("aci.standbyClaim: {m}")))?;
    if let Some(d) = &aci.standby_refill {
        d.validate().map_err(|m| err(format!("aci.standbyRefill: {m}")))?;
    }
    if !(0.0..=1.0).contains(&aci.failure_probability) {
        return Err(err(format!(
            "aci.failureProbability: {} must be in [0, 1]",
            aci.failure_probability
        )));
    }
    if !(aci.image_size_gb.is_finite()
        && aci.image_size_gb >= 0.0
        && aci.pull_seconds_per_gb.is_finite()
        && aci.pull_seconds_per_gb >= 0.0)
    {
        return Err(err(
            "aci.imageSizeGb and aci.pullSecondsPerGb must be finite and ≥ 0".into(),
        ));
    }
    let m = &raw.metrics;
    if m.scrape_interval.as_secs() == 0 || m.resource_resolution.as_secs() == 0 {
        return Err(err(
            "metrics.scrapeInterval and metrics.resourceResolution must be at least 1s".into(),
        ));
    }
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        seed: raw.seed,
        duration_secs: raw.duration.as_secs(),
        demand: raw.demand,
        workload: raw.workload,
        requests,
        pools,
        autoscaler: raw.cluster.autoscaler,
        aci: raw.aci,
        metrics: raw.metrics,
        policy,
        base_dir: base_dir.to_path_buf(),
    })
}

fn validate_synthetic(s: &Synthetic) -> Result<(), String> {
    let finite = |v: f64| v.is_finite();
    if !finite(s.base) || s.base < 0.0 {
        return Err(format!("base: {} must be a finite number ≥ 0", s.base));
    }
    if !(finite(s.noise) && s.noise >= 0.0) {
        return Err(format!("noise: {} must be ≥ 0", s.noise));
    }
    if let Some(d) = &s.daily
        && !finite(d.amplitude)
    {
        return Err("daily.amplitude must be finite".into());
    }
    if let Some((i, _)) = s.spikes.iter().enumerate().find(|(_, p)| !finite(p.height)) {
        return Err(format!("spikes[{i}].height must be finite"));
    }
    if let Some((i, _)) = s.steps.iter().enumerate().find(|(_, p)| !finite(p.add)) {
        return Err(format!("steps[{i}].add must be finite"));
    }
    Ok(())
}

/// How many pods with `requests` fit on an empty node.
pub fn slots_per_node(alloc: &Resources, alloc_pods: i64, requests: &Resources) -> u32 {
    let mut k = alloc_pods.max(0);
    let mut per = |have: i64, need: i64| {
        if need > 0 {
            k = k.min((have / need).max(0));
        }
    };
    per(alloc.cpu_millis, requests.cpu_millis);
    per(alloc.memory_bytes, requests.memory_bytes);
    per(alloc.ephemeral_storage_bytes, requests.ephemeral_storage_bytes);
    for (name, need) in &requests.extended {
        per(alloc.extended.get(name).copied().unwrap_or(0), *need);
    }
    u32::try_from(k).unwrap_or(u32::MAX)
}

/// Loads the production document and picks the policy to simulate; the
/// validator's messages are reported verbatim.
pub fn load_policy(config_text: &str, wanted: Option<&str>, origin: &str) -> Result<Arc<Policy>, SimError> {
    let loaded = spillway_core::config::load(config_text).map_err(|invalid| SimError::Policy {
        origin: origin.to_string(),
        messages: invalid.errors.iter().map(|e| format!("config.{e}")).collect(),
    })?;
    let outcome = match wanted {
        Some(name) => loaded
            .policies
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .ok_or_else(|| {
                SimError::scenario(
                    origin,
                    format!("policy: no policy named {name:?} in config.policies"),
                )
            })?,
        None => match loaded.policies.as_slice() {
            [one] => one,
            [] => {
                return Err(SimError::scenario(
                    origin,
                    "config.policies: one policy is required",
                ));
            }
            _ => {
                return Err(SimError::scenario(
                    origin,
                    "config.policies has several policies; name one with `policy:`",
                ));
            }
        },
    };
    outcome.result.clone().map_err(|errors| SimError::Policy {
        origin: origin.to_string(),
        messages: errors.iter().map(|e| format!("config.{e}")).collect(),
    })
}

/// Durations as `30s`, `5m`, `1h30m`, `7d` (humantime) or a number of seconds.
pub mod duration_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Secs(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
            Raw::Secs(s) => Err(serde::de::Error::custom(format!("{s} is not a duration"))),
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }

    pub fn parse(t: &str) -> Result<Duration, String> {
        humantime::parse_duration(t.trim())
            .map_err(|e| format!("{t:?} is not a duration (like 30s, 5m, 1h, 7d): {e}"))
    }
}
