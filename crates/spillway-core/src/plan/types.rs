//! The planner's input, output and carried state.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aci::GroupRequests;
use crate::burst::BurstInventory;
use crate::config::Policy;
use crate::metrics::MetricSample;
use crate::snapshot::{ClusterSnapshot, WorkloadStatus};
use crate::time::Timestamp;

/// Everything one tick of one policy sees.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub policy: &'a Policy,
    /// One sample per entry of `policy.metrics` (by `index`); absent means missing.
    pub samples: &'a [MetricSample],
    pub cluster: &'a ClusterSnapshot,
    pub workload: &'a WorkloadStatus,
    pub inventory: &'a BurstInventory,
    /// Past seasons of each metric, for `predict.seasons` (empty without).
    pub history: &'a [crate::forecast::SeasonHistory],
    /// Readings of each metric's `scaleUpQuery` (by `index`; empty without).
    pub scale_up: &'a [MetricSample],
    pub now: Timestamp,
}

/// History the HPA algorithm and the spill planner need between ticks. It
/// goes into [`super::plan`] and comes out updated; losing it (a restart)
/// only makes the next decisions less smoothed, never unsafe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyState {
    /// Raw recommendations, newest last, for the stabilization windows.
    pub(crate) recommendations: VecDeque<(Timestamp, u32)>,
    /// Changes of the desired replicas (+up, -down), for the rate policies.
    pub(crate) scale_events: VecDeque<(Timestamp, i64)>,
    pub(crate) last_desired: Option<u32>,
    /// The Deployment replicas the last plan asked for. When the Deployment
    /// says something else, someone scaled it by hand (or the plan was not
    /// carried out): the world's count is the current one, as the HPA reads
    /// `scale.spec.replicas` every time.
    #[serde(default)]
    pub(crate) last_deployment: Option<u32>,
    pub(crate) metrics_missing_since: Option<Timestamp>,
    /// Desired replicas per tick, for `burst.scaleInStabilization`.
    pub(crate) burst_demand: VecDeque<(Timestamp, u32)>,
    /// Burst replicas taken out of the EndpointSlice, and since when.
    pub(crate) draining: BTreeMap<String, Timestamp>,
    /// Since when the desired replicas exceed what the VM nodes hold
    /// (`vmOverflow: auto` estimates the overflow's remaining time from it).
    #[serde(default)]
    pub(crate) overflow_since: Option<Timestamp>,
    /// Recent readings and open forecasts, for `predict`.
    #[serde(default)]
    pub(crate) forecast: crate::scaling::predict::ForecastState,
}

impl PolicyState {
    pub fn last_desired(&self) -> Option<u32> {
        self.last_desired
    }
    pub fn draining(&self) -> impl Iterator<Item = (&str, Timestamp)> {
        self.draining.iter().map(|(k, v)| (k.as_str(), *v))
    }
    pub fn is_draining(&self, name: &str) -> bool {
        self.draining.contains_key(name)
    }
    /// Forgets drains that were planned but not carried out (a non-leader,
    /// a dry run): a drain starts only when a replica really leaves the
    /// EndpointSlice.
    pub fn forget_drains_since(&mut self, previous: &PolicyState) {
        self.draining
            .retain(|name, _| previous.draining.contains_key(name));
    }
    /// Moves every time the state remembers `by` later: the state the
    /// planner would carry had each tick of that span seen the same inputs
    /// and left its state as it found it, only older (see
    /// [`super::world_age_horizon`] for when that holds). The overflow's
    /// start stays: an overflow that goes on keeps the time it began.
    pub fn shift(&mut self, by: Duration) {
        let later = |t: &mut Timestamp| *t = *t + by;
        self.recommendations.iter_mut().for_each(|(t, _)| later(t));
        self.scale_events.iter_mut().for_each(|(t, _)| later(t));
        self.metrics_missing_since.iter_mut().for_each(later);
        self.burst_demand.iter_mut().for_each(|(t, _)| later(t));
        self.draining.values_mut().for_each(later);
        self.forecast.shift(by);
    }
}

/// One tick's decision for one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub policy: String,
    pub at: Timestamp,
    /// D: total replicas wanted (VM + burst), after behavior and clamping.
    pub desired_replicas: u32,
    /// What the Deployment's scale subresource should say.
    pub deployment_replicas: u32,
    /// `Some` when `deployment_replicas` differs from the current spec.
    pub scale: Option<ScaleChange>,
    /// Burst replicas wanted after every cap.
    pub burst_target: u32,
    pub creates: Vec<CreateGroup>,
    /// Remove from the EndpointSlice now; delete after `drainGrace`.
    pub drains: Vec<String>,
    pub deletes: Vec<DeleteGroup>,
    pub vm: VmCounts,
    pub burst: BurstCounts,
    /// More VM replicas the current nodes can take.
    pub vm_fit: u32,
    /// `headroom`: warm replicas the Deployment holds above the desired count.
    pub headroom_replicas: u32,
    /// Hourly cost of the burst replicas alive after this plan.
    pub burst_hourly_cost: f64,
    /// The forecast's total replicas over `predict.horizon`, when above the
    /// reactive answer (acted on or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_replicas: Option<u32>,
    /// `burst.standbyPool`: the pool's wanted ready capacity this tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standby: Option<crate::standby::PoolSize>,
    pub reasons: Vec<Reason>,
    /// `vmOverflow: auto` has not reached its break-even age yet: the same
    /// inputs and state may give another plan once the overflow is older.
    /// (Every other time a plan compares lives in the state and moves with
    /// [`PolicyState::shift`], or is a world age below
    /// [`super::world_age_horizon`].)
    #[serde(skip)]
    pub overflow_age_matters: bool,
}

impl Plan {
    /// True when the plan changes nothing in the world.
    pub fn is_noop(&self) -> bool {
        self.scale.is_none() && self.creates.is_empty() && self.drains.is_empty() && self.deletes.is_empty()
    }
    pub fn has_reason(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScaleChange {
    pub from: u32,
    pub to: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroup {
    pub name: String,
    pub ordinal: u32,
    pub location: String,
    /// The availability zone, when `burst.zones` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub template_hash: String,
    pub requests: GroupRequests,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteGroup {
    pub name: String,
    pub cause: DeleteCause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeleteCause {
    /// Drained for `drainGrace`.
    Drained,
    /// Failed or crash-looping: replaced by a new replica.
    Failed,
    /// Still provisioning when no longer wanted: never served, no drain needed.
    Unneeded,
    /// This cluster's group whose policy no longer exists.
    Orphaned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VmCounts {
    pub ready: u32,
    pub starting: u32,
    pub pending_fresh: u32,
    pub pending_unschedulable: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstCounts {
    pub ready: u32,
    pub provisioning: u32,
    pub draining: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub code: ReasonCode,
    pub message: String,
}

/// Why the plan is what it is; stable names for Events, logs and metrics labels.
/// Serialized as the same snake_case names as [`ReasonCode::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    ScaleUp,
    ScaleDown,
    WithinTolerance,
    MetricsPartial,
    MetricsMissingHold,
    MetricsMissingFallback,
    ScaleUpLimited,
    ScaleDownLimited,
    ScaleDownStabilized,
    ScaleUpStabilized,
    MissingPodsHold,
    ScalingDisabled,
    ClampedToMin,
    ClampedToMax,
    Burst,
    BurstCappedMaxReplicas,
    BurstCappedBudget,
    BurstCappedQuota,
    CreatesPaced,
    LocationFallback,
    NoLocationAvailable,
    TemplateNotExpressible,
    Backfill,
    BurstScaleIn,
    BurstScaleInStabilized,
    ReplaceFailed,
    Rollout,
    Drain,
    VmCapped,
    /// A forecast raised the desired replicas (scale-up only).
    ForecastUp,
    /// `predict.mode: report`: what the forecast would have done.
    ForecastReport,
    /// The forecast's recent error is too large: reactive only for now.
    ForecastFallback,
    /// A metric's `scaleUpQuery` (a shorter window) raised the desired
    /// replicas above the HPA's answer (scale-up only).
    ScaleUpSignal,
    /// `vmOverflow: auto` keeps the overflow on ACI this tick.
    PlacementAci,
    /// `vmOverflow: auto` lets the overflow wait for new VM nodes this tick.
    PlacementVm,
    /// `vmOverflow: auto` keeps the overflow on ACI, but the burst side
    /// cannot take all of it (caps, no location): the rest is left Pending
    /// for the cluster autoscaler.
    OverflowPending,
    /// Fewer creates than wanted: more would break the template's zone
    /// spread (`maxSkew`) or its required anti-affinity on zone.
    ZoneSpreadLimited,
    /// Every configured zone of the location answered a capacity error.
    NoZoneAvailable,
    /// One replica more in the emptiest zone, to even out the spread.
    ZoneRebalance,
    /// `headroom`: warm replicas above the desired count on VM room that is
    /// paid for anyway.
    Headroom,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::ScaleUp => "scale_up",
            ReasonCode::ScaleDown => "scale_down",
            ReasonCode::WithinTolerance => "within_tolerance",
            ReasonCode::MetricsPartial => "metrics_partial",
            ReasonCode::MetricsMissingHold => "metrics_missing_hold",
            ReasonCode::MetricsMissingFallback => "metrics_missing_fallback",
            ReasonCode::ScaleUpLimited => "scale_up_limited",
            ReasonCode::ScaleDownLimited => "scale_down_limited",
            ReasonCode::ScaleDownStabilized => "scale_down_stabilized",
            ReasonCode::ScaleUpStabilized => "scale_up_stabilized",
            ReasonCode::MissingPodsHold => "missing_pods_hold",
            ReasonCode::ScalingDisabled => "scaling_disabled",
            ReasonCode::ClampedToMin => "clamped_to_min",
            ReasonCode::ClampedToMax => "clamped_to_max",
            ReasonCode::Burst => "burst",
            ReasonCode::BurstCappedMaxReplicas => "burst_capped_max_replicas",
            ReasonCode::BurstCappedBudget => "burst_capped_budget",
            ReasonCode::BurstCappedQuota => "burst_capped_quota",
            ReasonCode::CreatesPaced => "creates_paced",
            ReasonCode::LocationFallback => "location_fallback",
            ReasonCode::NoLocationAvailable => "no_location_available",
            ReasonCode::TemplateNotExpressible => "template_not_expressible",
            ReasonCode::Backfill => "backfill",
            ReasonCode::BurstScaleIn => "burst_scale_in",
            ReasonCode::BurstScaleInStabilized => "burst_scale_in_stabilized",
            ReasonCode::ReplaceFailed => "replace_failed",
            ReasonCode::Rollout => "rollout",
            ReasonCode::Drain => "drain",
            ReasonCode::VmCapped => "vm_capped",
            ReasonCode::ForecastUp => "forecast_up",
            ReasonCode::ForecastReport => "forecast_report",
            ReasonCode::ForecastFallback => "forecast_fallback",
            ReasonCode::ScaleUpSignal => "scale_up_signal",
            ReasonCode::PlacementAci => "placement_aci",
            ReasonCode::PlacementVm => "placement_vm",
            ReasonCode::OverflowPending => "overflow_pending",
            ReasonCode::ZoneSpreadLimited => "zone_spread_limited",
            ReasonCode::NoZoneAvailable => "no_zone_available",
            ReasonCode::ZoneRebalance => "zone_rebalance",
            ReasonCode::Headroom => "headroom",
        }
    }
}
