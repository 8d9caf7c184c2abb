//! The configuration document (ConfigMap `spillway`, key `config.yaml`) as serde
//! types. Defaults follow Kubernetes HPA autoscaling/v2 where the concept is the same.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

use super::duration;

/// Everything but the policies; one error here invalidates the whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalSpec {
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub azure: Option<AzureSpec>,
    #[serde(default)]
    pub pricing: Pricing,
    #[serde(default)]
    pub metric_sources: MetricSources,
    /// Default tick for every policy.
    #[serde(default = "defaults::interval", with = "duration")]
    pub interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// Goes into every container group's `spillway.io/cluster` tag and scopes garbage collection.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureSpec {
    pub subscription_id: String,
    pub resource_group: String,
    pub location: String,
    #[serde(default)]
    pub fallback_locations: Vec<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub auth: AzureAuth,
    #[serde(default = "defaults::arm_endpoint")]
    pub arm_endpoint: String,
    /// The subscription's ACI create/delete rates; raise them only with a
    /// quota increase from Azure.
    #[serde(default)]
    pub rate_limits: AciRateLimits,
}

/// ACI's per-subscription rates of container-group creates and deletes
/// (Microsoft Learn: 100 per 5 minutes and 300 per hour, each). Spillway
/// paces its writes to stay under them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AciRateLimits {
    #[serde(default = "defaults::per_5m")]
    pub creates_per_5m: u32,
    #[serde(default = "defaults::per_hour")]
    pub creates_per_hour: u32,
    #[serde(default = "defaults::per_5m")]
    pub deletes_per_5m: u32,
    #[serde(default = "defaults::per_hour")]
    pub deletes_per_hour: u32,
}

impl Default for AciRateLimits {
    fn default() -> Self {
        AciRateLimits {
            creates_per_5m: defaults::per_5m(),
            creates_per_hour: defaults::per_hour(),
            deletes_per_5m: defaults::per_5m(),
            deletes_per_hour: defaults::per_hour(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "method", deny_unknown_fields)]
pub enum AzureAuth {
    /// AKS workload identity: `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
    #[default]
    WorkloadIdentity,
    #[serde(rename_all = "camelCase")]
    ClientSecret {
        tenant_id: String,
        client_id: String,
        /// File holding the secret (mounted from a Kubernetes Secret).
        secret_file: String,
    },
    #[serde(rename_all = "camelCase")]
    ManagedIdentity {
        #[serde(default)]
        client_id: Option<String>,
    },
}

/// ACI prices per second, VM node prices, and the currency every cost is
/// reported in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pricing {
    #[serde(default = "defaults::aci_vcpu_second")]
    pub aci_vcpu_second: f64,
    #[serde(default = "defaults::aci_gb_second")]
    pub aci_gb_second: f64,
    #[serde(default = "defaults::currency")]
    pub currency: String,
    /// Node prices per node class, for `vmOverflow: auto`. Empty: unknown,
    /// and `auto` acts as `pending`.
    #[serde(default)]
    pub vm: Vec<VmPrice>,
    /// What a node added for an overflow costs beyond the overflow itself:
    /// its boot plus the cluster autoscaler's scale-down-unneeded-time.
    #[serde(default = "defaults::vm_node_overhead", with = "duration")]
    pub vm_node_overhead: Duration,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            aci_vcpu_second: defaults::aci_vcpu_second(),
            aci_gb_second: defaults::aci_gb_second(),
            currency: defaults::currency(),
            vm: Vec::new(),
            vm_node_overhead: defaults::vm_node_overhead(),
        }
    }
}

/// The price of one node class (`node.kubernetes.io/instance-type`), or of
/// every node when `instanceType` is left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VmPrice {
    #[serde(default)]
    pub instance_type: Option<String>,
    /// List price per node and hour.
    pub price_per_hour: f64,
    /// Fraction off the list price for reserved instances or a savings plan
    /// (0.0–0.9).
    #[serde(default)]
    pub discount: f64,
}

impl VmPrice {
    /// What an hour of the node really costs.
    pub fn effective_hourly(&self) -> f64 {
        self.price_per_hour * (1.0 - self.discount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricSources {
    #[serde(default)]
    pub prometheus: Option<PrometheusSource>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusSource {
    pub url: String,
    #[serde(default)]
    pub auth: PrometheusAuth,
    #[serde(default = "defaults::prometheus_timeout", with = "duration")]
    pub timeout: Duration,
    #[serde(default)]
    pub tls: TlsSpec,
}

/// TLS to a metric source. The system roots are trusted unless `caOnly`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsSpec {
    /// PEM bundle of extra CAs.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Trust only `caFile`.
    #[serde(default)]
    pub ca_only: bool,
    /// PEM file with a client certificate chain and its key (mTLS).
    #[serde(default)]
    pub client_identity_file: Option<String>,
    /// Accept any server certificate. For tests only.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum PrometheusAuth {
    #[default]
    None,
    /// A bearer token read from a file, re-read when it changes.
    BearerTokenFile(String),
    #[serde(rename_all = "camelCase")]
    Basic { username: String, password_file: String },
    /// Azure AD token from the controller's Azure identity (Azure Monitor managed Prometheus).
    #[serde(rename_all = "camelCase")]
    AzureAd {
        #[serde(default = "defaults::azure_monitor_scope")]
        scope: String,
    },
}

/// One autoscaled workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    pub target: TargetRef,
    #[serde(default = "defaults::min_replicas")]
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Overrides the document's `interval` for this policy.
    #[serde(default, with = "optional_duration")]
    pub interval: Option<Duration>,
    pub metrics: Vec<MetricSpec>,
    /// Ratio band around 1.0 inside which no scaling happens (HPA default 0.1).
    #[serde(default = "defaults::tolerance")]
    pub tolerance: f64,
    #[serde(default)]
    pub behavior: BehaviorSpec,
    #[serde(default)]
    pub on_metrics_missing: OnMetricsMissing,
    #[serde(default)]
    pub predict: super::Predict,
    /// Warm replicas on VM room already paid for (off by default).
    #[serde(default)]
    pub headroom: super::Headroom,
    #[serde(default)]
    pub burst: BurstSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetRef {
    #[serde(default = "defaults::target_kind")]
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum MetricSpec {
    Prometheus(PrometheusMetric),
    Resource(ResourceMetric),
}

/// A PromQL query. Exactly one target: `targetAverageValue` (per replica,
/// HPA AverageValue) or `targetValue` (HPA Value, scaled by ready replicas).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusMetric {
    pub query: String,
    #[serde(default)]
    pub target_average_value: Option<f64>,
    #[serde(default)]
    pub target_value: Option<f64>,
    /// `single`: the query must return one series; `sum`: series are summed.
    #[serde(default)]
    pub series: SeriesMode,
    /// The same quantity over a shorter window (e.g. `[30s]` where `query`
    /// has `[2m]`), read beside it. It sees a rise before the averaged
    /// metric does and may only add replicas on top of the HPA's answer
    /// (capped by `predict.maxAddPercent` / `maxAddReplicas`); scale-down
    /// keeps HPA semantics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up_query: Option<String>,
    /// The `scaleUpQuery` acts only when it reads at least this many percent
    /// above `query`: on a noisy metric the shorter window is above the
    /// longer one half of the time, and every such reading would buy
    /// replicas. 0 (the default): any reading above `query`'s answer acts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scale_up_min_rise_percent: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl PrometheusMetric {
    /// This metric with its `scaleUpQuery` as the query: what the metric
    /// source runs for the scale-up signal.
    pub fn scale_up(&self) -> Option<PrometheusMetric> {
        self.scale_up_query.as_ref().map(|q| PrometheusMetric {
            query: q.clone(),
            scale_up_query: None,
            scale_up_min_rise_percent: 0,
            ..self.clone()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SeriesMode {
    #[default]
    Single,
    Sum,
}

/// A metrics.k8s.io resource metric. Exactly one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceMetric {
    pub name: ResourceName,
    /// Percent of the pods' requests.
    #[serde(default)]
    pub target_average_utilization: Option<u32>,
    /// Average usage per pod (e.g. `500m`, `1Gi`).
    #[serde(default)]
    pub target_average_value: Option<Quantity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceName {
    Cpu,
    Memory,
}

/// `behavior` as written: every field optional, filled from the HPA defaults
/// of its direction when the policy is resolved.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BehaviorSpec {
    #[serde(default)]
    pub scale_up: Option<ScalingRulesSpec>,
    #[serde(default)]
    pub scale_down: Option<ScalingRulesSpec>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingRulesSpec {
    #[serde(default, with = "optional_duration")]
    pub stabilization_window: Option<Duration>,
    #[serde(default)]
    pub select_policy: Option<SelectPolicy>,
    #[serde(default)]
    pub policies: Option<Vec<ScalingPolicy>>,
    /// autoscaling/v2 `behavior.scaleUp/scaleDown.tolerance`: the band on
    /// this side of a ratio of 1; the policy's `tolerance` when absent.
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// Resolved behavior, as the planner uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

impl Default for Behavior {
    fn default() -> Self {
        BehaviorSpec::default().resolve()
    }
}

impl BehaviorSpec {
    pub fn resolve(&self) -> Behavior {
        fn fill(spec: Option<&ScalingRulesSpec>, default: ScalingRules) -> ScalingRules {
            let Some(spec) = spec else { return default };
            ScalingRules {
                stabilization_window: spec.stabilization_window.unwrap_or(default.stabilization_window),
                select_policy: spec.select_policy.unwrap_or(default.select_policy),
                policies: spec.policies.clone().unwrap_or(default.policies),
                tolerance: spec.tolerance.or(default.tolerance),
            }
        }
        Behavior {
            scale_up: fill(self.scale_up.as_ref(), defaults::scale_up()),
            scale_down: fill(self.scale_down.as_ref(), defaults::scale_down()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingRules {
    #[serde(with = "duration")]
    pub stabilization_window: Duration,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
    /// Per-direction tolerance; `None`: the policy's `tolerance`.
    #[serde(default)]
    pub tolerance: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SelectPolicy {
    #[default]
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingPolicy {
    #[serde(rename = "type")]
    pub kind: ScalingPolicyKind,
    pub value: u32,
    #[serde(with = "duration")]
    pub period: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalingPolicyKind {
    Pods,
    Percent,
}

/// What to do while no metric can be read. Never scale towards zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnMetricsMissing {
    /// Keep the current replicas (the default).
    #[serde(default = "defaults::yes")]
    pub hold: bool,
    /// Go to this many replicas once metrics have been missing for `after`.
    #[serde(default)]
    pub fallback_replicas: Option<u32>,
    #[serde(default = "defaults::missing_after", with = "duration")]
    pub after: Duration,
}

impl Default for OnMetricsMissing {
    fn default() -> Self {
        OnMetricsMissing {
            hold: true,
            fallback_replicas: None,
            after: defaults::missing_after(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BurstSpec {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub max_replicas: u32,
    /// Cap on the hourly cost of live burst replicas, in `pricing.currency`.
    #[serde(default)]
    pub max_hourly_cost: Option<f64>,
    #[serde(default)]
    pub vm_overflow: VmOverflow,
    /// A Pending VM pod younger than this is expected to start on a VM soon.
    #[serde(default = "defaults::pending_grace", with = "duration")]
    pub pending_grace: Duration,
    /// Burst replicas are removed for falling demand only after it stayed low this long.
    #[serde(default = "defaults::scale_in_stabilization", with = "duration")]
    pub scale_in_stabilization: Duration,
    /// Time between leaving the EndpointSlice and deleting the container group.
    #[serde(default = "defaults::drain_grace", with = "duration")]
    pub drain_grace: Duration,
    /// Service whose EndpointSlice lists the ready burst replicas.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub priority: AciPriority,
    /// Container-group requests; by default the pod template's, rounded to ACI granularity.
    #[serde(default)]
    pub requests: Option<BurstRequests>,
    /// Extra replicas allowed while rolling to a new template (make before break).
    #[serde(default = "defaults::max_surge")]
    pub max_surge: u32,
    /// Availability zones to spread burst replicas over (a list, or `auto`:
    /// the location's zones as Azure publishes them); none: ACI's choice.
    #[serde(default)]
    pub zones: super::ZonesSpec,
    /// Cluster DNS for burst replicas (needs `azure.subnetId`).
    #[serde(default)]
    pub dns: Option<super::DnsSpec>,
    /// A standby container group pool that creates claim from (issue 16).
    #[serde(default)]
    pub standby_pool: Option<super::StandbyPoolSpec>,
}

impl Default for BurstSpec {
    fn default() -> Self {
        BurstSpec {
            enabled: false,
            max_replicas: 0,
            max_hourly_cost: None,
            vm_overflow: VmOverflow::default(),
            pending_grace: defaults::pending_grace(),
            scale_in_stabilization: defaults::scale_in_stabilization(),
            drain_grace: defaults::drain_grace(),
            service: None,
            priority: AciPriority::default(),
            requests: None,
            max_surge: defaults::max_surge(),
            zones: super::ZonesSpec::default(),
            dns: None,
            standby_pool: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BurstRequests {
    pub cpu: Quantity,
    pub memory: Quantity,
}

/// How VM replicas relate to the node pool (DESIGN.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VmOverflow {
    /// With a cluster autoscaler: the Deployment gets every desired replica;
    /// unschedulable pods stay Pending so the pool grows, ACI covers them meanwhile.
    Pending,
    /// Fixed pool: the Deployment gets only what fits; ACI takes the rest.
    Cap,
    /// Per tick, whichever is cheaper: `cap` while ACI costs less per
    /// replica-hour than a VM slot, or while the overflow is not expected to
    /// last long enough for a new node to pay for its overhead; else
    /// `pending`. Without `pricing.vm` it acts as `pending`.
    #[default]
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AciPriority {
    #[default]
    Regular,
    Spot,
}

mod optional_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(raw) => super::duration::parse(&raw)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

pub mod defaults {
    use std::time::Duration;

    pub fn per_5m() -> u32 {
        100
    }
    pub fn per_hour() -> u32 {
        300
    }

    use super::{ScalingPolicy, ScalingPolicyKind, ScalingRules, SelectPolicy};

    pub fn interval() -> Duration {
        Duration::from_secs(15)
    }
    pub fn arm_endpoint() -> String {
        "https://management.azure.com".to_string()
    }
    /// Linux ACI pay-as-you-go list prices (USD, per second).
    pub fn aci_vcpu_second() -> f64 {
        0.0000113
    }
    pub fn aci_gb_second() -> f64 {
        0.0000012
    }
    pub fn currency() -> String {
        "USD".to_string()
    }
    /// A node boots in 3–5 min and the cluster autoscaler removes it 10 min
    /// after it became unneeded (its documented default).
    pub fn vm_node_overhead() -> Duration {
        Duration::from_secs(15 * 60)
    }
    pub fn prometheus_timeout() -> Duration {
        Duration::from_secs(5)
    }
    pub fn azure_monitor_scope() -> String {
        "https://prometheus.monitor.azure.com/.default".to_string()
    }
    pub fn min_replicas() -> u32 {
        1
    }
    pub fn tolerance() -> f64 {
        0.1
    }
    pub fn target_kind() -> String {
        "Deployment".to_string()
    }
    /// HPA default: no stabilization; 100 % or 4 pods per 15 s, whichever is more.
    pub fn scale_up() -> ScalingRules {
        ScalingRules {
            stabilization_window: Duration::ZERO,
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: ScalingPolicyKind::Percent,
                    value: 100,
                    period: Duration::from_secs(15),
                },
                ScalingPolicy {
                    kind: ScalingPolicyKind::Pods,
                    value: 4,
                    period: Duration::from_secs(15),
                },
            ],
            tolerance: None,
        }
    }
    /// HPA default: 300 s stabilization; up to 100 % per 15 s.
    pub fn scale_down() -> ScalingRules {
        ScalingRules {
            stabilization_window: Duration::from_secs(300),
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: ScalingPolicyKind::Percent,
                value: 100,
                period: Duration::from_secs(15),
            }],
            tolerance: None,
        }
    }
    pub fn yes() -> bool {
        true
    }
    pub fn missing_after() -> Duration {
        Duration::from_secs(120)
    }
    pub fn pending_grace() -> Duration {
        Duration::from_secs(20)
    }
    pub fn scale_in_stabilization() -> Duration {
        Duration::from_secs(120)
    }
    pub fn drain_grace() -> Duration {
        Duration::from_secs(15)
    }
    pub fn max_surge() -> u32 {
        1
    }
}
