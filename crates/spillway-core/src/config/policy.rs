//! A validated, resolved policy: what the planner trusts. Only
//! [`super::load`] builds one.

use std::time::Duration;

use serde::Serialize;

use super::model::{
    AciPriority, Behavior, BurstRequests, MetricSpec, OnMetricsMissing, Pricing, TargetRef, VmOverflow,
};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub name: String,
    /// The document's `cluster.id`: part of every container-group name and tag.
    pub cluster_id: String,
    pub target: TargetRef,
    pub min_replicas: u32,
    pub max_replicas: u32,
    #[serde(with = "humantime_millis")]
    pub interval: Duration,
    pub metrics: Vec<MetricSpec>,
    pub tolerance: f64,
    pub behavior: Behavior,
    pub on_metrics_missing: OnMetricsMissing,
    pub predict: super::Predict,
    pub headroom: super::Headroom,
    /// `None` when bursting is disabled: plain HPA semantics.
    pub burst: Option<BurstPolicy>,
    pub pricing: Pricing,
}

impl Policy {
    /// The tolerance band as (scale-up, scale-down): each direction's
    /// `behavior.*.tolerance`, else the policy's `tolerance` (autoscaling/v2).
    pub fn tolerances(&self) -> (f64, f64) {
        (
            self.behavior.scale_up.tolerance.unwrap_or(self.tolerance),
            self.behavior.scale_down.tolerance.unwrap_or(self.tolerance),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstPolicy {
    pub max_replicas: u32,
    pub max_hourly_cost: Option<f64>,
    pub vm_overflow: VmOverflow,
    #[serde(with = "humantime_millis")]
    pub pending_grace: Duration,
    #[serde(with = "humantime_millis")]
    pub scale_in_stabilization: Duration,
    #[serde(with = "humantime_millis")]
    pub drain_grace: Duration,
    pub service: Option<String>,
    pub priority: AciPriority,
    pub requests: Option<BurstRequests>,
    pub max_surge: u32,
    /// The primary location first, then the fallbacks in order.
    pub locations: Vec<String>,
    /// `azure.subnetId`: private IPs in this subnet; public IPs when `None`.
    pub subnet_id: Option<String>,
    /// `burst.zones` as ARM writes them (`"1"`); empty: no zone asked for.
    /// With `zones_auto` the controller fills this in from the location's
    /// zones before each plan ([`Policy::with_zones`]); the planner reads
    /// only this list.
    pub zones: Vec<String>,
    /// `burst.zones: auto`: `zones` comes from Azure at run time.
    pub zones_auto: bool,
    /// `burst.dns`: the cluster DNS a burst replica resolves through.
    pub dns: Option<super::BurstDns>,
    /// `burst.standbyPool`: creates claim from this pool (issue 16).
    pub standby_pool: Option<super::StandbyPool>,
}

impl Policy {
    /// `burst.zones: auto` resolved: this policy with `zones` as the zones
    /// to plan over (the discovered ones; empty while unknown or in a
    /// region without zones, which plans as without `burst.zones`).
    /// `None` when nothing changes (not `auto`, or the same list), so the
    /// caller keeps sharing its policy.
    pub fn with_zones(&self, zones: &[String]) -> Option<Policy> {
        let b = self.burst.as_ref().filter(|b| b.zones_auto)?;
        if b.zones == zones {
            return None;
        }
        let mut next = self.clone();
        if let Some(nb) = next.burst.as_mut() {
            nb.zones = zones.to_vec();
        }
        Some(next)
    }

    /// The location whose zones `auto` asks for: the primary one (zones
    /// are spread in the primary location; fallbacks are regional).
    pub fn auto_zones_location(&self) -> Option<&str> {
        let b = self.burst.as_ref().filter(|b| b.zones_auto)?;
        b.locations.first().map(String::as_str)
    }
}

mod humantime_millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }
}
