//! Wire types for container group profiles (`Microsoft.ContainerInstance`,
//! 2026-05-01) and standby container group pools (`Microsoft.StandbyPool`,
//! 2026-04-01), written by hand from the saved specs. Parsed leniently like
//! the container-group types: unknown fields are kept in `extra`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ContainerGroupProperties;

/// `#/definitions/ContainerGroupProfile`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub properties: ProfileProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#/definitions/ContainerGroupProfileProperties`: the container-group
/// properties a profile holds, plus its read-only revisions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileProperties {
    /// Read-only: the current revision, raised by every update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Read-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_revisions: Vec<i64>,
    #[serde(flatten)]
    pub group: ContainerGroupProperties,
}

/// A list of profiles or of one profile's revisions.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileList {
    #[serde(default)]
    pub value: Vec<ContainerGroupProfile>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// `ContainerGroupProfileReferenceDefinition` (ACI) /
/// `ContainerGroupProfile` (StandbyPool): which profile, which revision.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileReference {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// `StandbyPoolProfileDefinition`: the pool a create claims from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPoolReference {
    pub id: String,
    /// `true`: fail the create when the pool has no instance; by default
    /// ACI creates an ordinary group instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_container_group_create_on_reuse_failure: Option<bool>,
}

/// `#/definitions/StandbyContainerGroupPoolResource`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub properties: StandbyPoolProperties,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPoolProperties {
    pub elasticity_profile: ElasticityProfile,
    pub container_group_properties: PoolGroupProperties,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Read-only: Succeeded, Failed, Canceled, Deleting (or in progress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElasticityProfile {
    pub max_ready_capacity: i64,
    /// The only value is `always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_sizing: Option<DynamicSizing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DynamicSizing {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolGroupProperties {
    pub container_group_profile: ProfileReference,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<PoolSubnet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PoolSubnet {
    pub id: String,
}

/// `#/definitions/StandbyContainerGroupPoolResourceUpdate` (PATCH).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPoolPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub properties: StandbyPoolPatchProperties,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPoolPatchProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elasticity_profile: Option<ElasticityProfile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_group_properties: Option<PoolGroupProperties>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPoolList {
    #[serde(default)]
    pub value: Vec<StandbyPool>,
    #[serde(default)]
    pub next_link: Option<String>,
}

/// `#/definitions/StandbyContainerGroupPoolRuntimeViewResource`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolRuntimeView {
    #[serde(default)]
    pub id: Option<String>,
    pub properties: RuntimeViewProperties,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeViewProperties {
    #[serde(default)]
    pub instance_count_summary: Vec<InstanceCountSummary>,
    #[serde(default)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub status: Option<PoolStatus>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCountSummary {
    #[serde(default)]
    pub zone: Option<i64>,
    #[serde(default)]
    pub instance_counts_by_state: Vec<StateCount>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct StateCount {
    pub state: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct PoolStatus {
    pub code: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// Instances of a pool by state, over all zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    pub running: u32,
    pub creating: u32,
    pub deleting: u32,
}

impl PoolRuntimeView {
    pub fn counts(&self) -> PoolCounts {
        let mut c = PoolCounts::default();
        for s in self
            .properties
            .instance_count_summary
            .iter()
            .flat_map(|z| &z.instance_counts_by_state)
        {
            let n = u32::try_from(s.count.max(0)).unwrap_or(u32::MAX);
            let slot = if s.state.eq_ignore_ascii_case("Running") {
                &mut c.running
            } else if s.state.eq_ignore_ascii_case("Creating") {
                &mut c.creating
            } else if s.state.eq_ignore_ascii_case("Deleting") {
                &mut c.deleting
            } else {
                continue;
            };
            *slot = slot.saturating_add(n);
        }
        c
    }

    /// `HealthState/healthy` (or no status yet).
    pub fn healthy(&self) -> bool {
        self.properties
            .status
            .as_ref()
            .is_none_or(|s| s.code.eq_ignore_ascii_case("HealthState/healthy"))
    }
}

impl StandbyPool {
    pub fn max_ready_capacity(&self) -> i64 {
        self.properties.elasticity_profile.max_ready_capacity
    }
    pub fn profile(&self) -> &ProfileReference {
        &self.properties.container_group_properties.container_group_profile
    }
}
