//! What exists in ACI for one policy, as listed from ARM this tick.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Lifecycle of one container group as the planner distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BurstState {
    /// Accepted by ARM; provisioning, pulling or starting. Not serving.
    Provisioning,
    /// Running and ready: serving traffic.
    Ready,
    /// Failed to provision, or its container keeps restarting: replace it.
    Failed,
    /// A delete is in progress. Costs nothing more, serves nothing.
    Deleting,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstReplica {
    /// Container group name (deterministic from cluster, policy and ordinal).
    pub name: String,
    pub ordinal: u32,
    pub template_hash: String,
    pub location: String,
    /// The availability zone (`zones[0]` of the group), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub state: BurstState,
    pub created_at: Timestamp,
}

/// How much ACI will still accept, as the ARM client tracks it. `None`
/// means unknown, which the planner treats as unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstHeadroom {
    /// Creates left in the subscription's rate windows (min of 5 min and 1 h).
    pub creates: Option<u32>,
    /// Deletes left in the subscription's rate windows.
    pub deletes: Option<u32>,
    /// Container groups left in the regional quota.
    pub groups: Option<u32>,
    /// Standard (or Spot) cores left in the regional quota, in millicores.
    pub cores_millis: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstInventory {
    pub replicas: Vec<BurstReplica>,
    pub headroom: BurstHeadroom,
    /// Locations that recently answered a quota or capacity error, with the reason.
    #[serde(default)]
    pub unavailable_locations: BTreeMap<String, String>,
    /// Zones that recently answered a capacity error, keyed
    /// `{location}/{zone}`, with the reason.
    #[serde(default)]
    pub unavailable_zones: BTreeMap<String, String>,
}

/// The key of a zone in [`BurstInventory::unavailable_zones`].
pub fn zone_key(location: &str, zone: &str) -> String {
    format!("{location}/{zone}")
}
