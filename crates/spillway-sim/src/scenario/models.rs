//! The world-model sections of a scenario: node pools, the cluster
//! autoscaler, ACI and the metrics pipeline, with their defaults (README
//! "The world model and its defaults").

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use spillway_core::quantity::Quantity;
use spillway_core::snapshot::{Labels, Taint};

use super::duration_serde;
use crate::dist::Dist;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterModel {
    pub node_pools: Vec<PoolSpec>,
    #[serde(default)]
    pub autoscaler: AutoscalerSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolSpec {
    pub name: String,
    /// Node allocatable, including `pods` (default 110).
    pub allocatable: BTreeMap<String, Quantity>,
    pub initial_nodes: u32,
    #[serde(default)]
    pub min_nodes: u32,
    pub max_nodes: u32,
    /// Price of one node per hour, in the configuration's `pricing.currency`.
    pub price_per_hour: f64,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub taints: Vec<Taint>,
}

/// Kubernetes Cluster Autoscaler model; defaults are CA's documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoscalerSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(with = "duration_serde", default = "ca_scan")]
    pub scan_interval: Duration,
    /// From scale-up decision to the node being Ready.
    #[serde(default = "ca_provisioning")]
    pub provisioning: Dist,
    #[serde(with = "duration_serde", default = "ten_minutes")]
    pub scale_down_unneeded_time: Duration,
    #[serde(with = "duration_serde", default = "ten_minutes")]
    pub scale_down_delay_after_add: Duration,
    #[serde(default = "half")]
    pub scale_down_utilization_threshold: f64,
    #[serde(default = "ten")]
    pub max_scale_down_parallelism: u32,
}

impl Default for AutoscalerSpec {
    fn default() -> Self {
        AutoscalerSpec {
            enabled: true,
            scan_interval: ca_scan(),
            provisioning: ca_provisioning(),
            scale_down_unneeded_time: ten_minutes(),
            scale_down_delay_after_add: ten_minutes(),
            scale_down_utilization_threshold: half(),
            max_scale_down_parallelism: ten(),
        }
    }
}

fn yes() -> bool {
    true
}
fn ca_scan() -> Duration {
    Duration::from_secs(10)
}
fn ca_provisioning() -> Dist {
    Dist::uniform_secs(180, 300)
}
fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}
fn half() -> f64 {
    0.5
}
fn ten() -> u32 {
    10
}

/// Azure Container Instances as the simulator models it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AciModel {
    /// From the create request to Running, before the image pull.
    #[serde(default = "aci_provisioning")]
    pub provisioning: Dist,
    /// Compressed image size; pulled on every create (ACI caches little).
    #[serde(default = "aci_image")]
    pub image_size_gb: f64,
    #[serde(default = "aci_pull")]
    pub pull_seconds_per_gb: f64,
    /// Probability that a create ends `Failed` instead of Ready.
    #[serde(default = "aci_failure")]
    pub failure_probability: f64,
    /// Container groups per location (regional quota).
    #[serde(default = "hundred")]
    pub quota_groups: u32,
    /// vCPU per location; unlimited when absent.
    #[serde(default)]
    pub quota_cores: Option<f64>,
    #[serde(default = "hundred")]
    pub creates_per_5_min: u32,
    #[serde(default = "three_hundred")]
    pub creates_per_hour: u32,
    /// A standby pool's refill: from an instance's create to Running.
    /// Default: `provisioning` plus the image pull, as any create.
    #[serde(default)]
    pub standby_refill: Option<Dist>,
    /// A create served from a standby pool: to Running (ACI hands out a
    /// Running group; the claim's own API round trip).
    #[serde(default = "standby_claim")]
    pub standby_claim: Dist,
    /// The availability zones of every location, as `burst.zones: auto`
    /// discovers them (Azure's usual three by default; `[]`: none).
    #[serde(default = "three_zones")]
    pub zones: Vec<String>,
}

impl Default for AciModel {
    fn default() -> Self {
        AciModel {
            provisioning: aci_provisioning(),
            image_size_gb: aci_image(),
            pull_seconds_per_gb: aci_pull(),
            failure_probability: aci_failure(),
            quota_groups: hundred(),
            quota_cores: None,
            creates_per_5_min: hundred(),
            creates_per_hour: three_hundred(),
            standby_refill: None,
            standby_claim: standby_claim(),
            zones: three_zones(),
        }
    }
}

fn aci_provisioning() -> Dist {
    Dist::LogNormal {
        median: Duration::from_secs(35),
        sigma: 0.35,
        min: Duration::from_secs(15),
        max: Duration::from_secs(300),
    }
}
fn standby_claim() -> Dist {
    Dist::uniform_secs(1, 2)
}
fn three_zones() -> Vec<String> {
    ["1", "2", "3"].map(String::from).to_vec()
}
fn aci_image() -> f64 {
    0.3
}
fn aci_pull() -> f64 {
    20.0
}
fn aci_failure() -> f64 {
    0.01
}
fn hundred() -> u32 {
    100
}
fn three_hundred() -> u32 {
    300
}

/// What the controller sees: Prometheus scrapes and `rate()` windows, and
/// metrics-server resolution for resource metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsPipelineSpec {
    #[serde(with = "duration_serde", default = "fifteen")]
    pub scrape_interval: Duration,
    #[serde(with = "duration_serde", default = "minute")]
    pub rate_window: Duration,
    #[serde(with = "duration_serde", default = "fifteen")]
    pub resource_resolution: Duration,
    /// Intervals during which every metric reads as missing.
    #[serde(default)]
    pub outages: Vec<Outage>,
}

impl Default for MetricsPipelineSpec {
    fn default() -> Self {
        MetricsPipelineSpec {
            scrape_interval: fifteen(),
            rate_window: minute(),
            resource_resolution: fifteen(),
            outages: Vec::new(),
        }
    }
}

fn fifteen() -> Duration {
    Duration::from_secs(15)
}
fn minute() -> Duration {
    Duration::from_secs(60)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Outage {
    #[serde(with = "duration_serde")]
    pub start: Duration,
    #[serde(with = "duration_serde")]
    pub duration: Duration,
}
