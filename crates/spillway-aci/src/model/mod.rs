//! Wire types for the container-group subset of `Microsoft.ContainerInstance`
//! (api-version 2026-05-01), written by hand from the saved OpenAPI spec.
//!
//! Requests only carry what the client sets; responses are parsed leniently:
//! enum-like values stay strings (the spec marks them `modelAsString`, and
//! real responses carry values such as `"Created"` that no enum lists), and
//! fields we do not model are kept in `extra` instead of being rejected.

mod container;
mod ops;
mod secure;
mod standby;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use container::{
    Container, ContainerExec, ContainerHttpGet, ContainerInstanceView, ContainerPort, ContainerProbe,
    ContainerProperties, ContainerState, EnvironmentVariable, Event, HttpHeader, InitContainer,
    InitContainerProperties, ResourceLimits, ResourceRequests, ResourceRequirements, SecurityContext,
    VolumeMount,
};
pub use ops::{
    AsyncOperationStatus, CloudError, CloudErrorBody, ContainerGroupList, Logs, Usage, UsageList, UsageName,
};
pub use secure::SecureString;
pub use standby::{
    ContainerGroupProfile, DynamicSizing, ElasticityProfile, InstanceCountSummary, PoolCounts,
    PoolGroupProperties, PoolRuntimeView, PoolStatus, PoolSubnet, ProfileList, ProfileProperties,
    ProfileReference, RuntimeViewProperties, StandbyPool, StandbyPoolList, StandbyPoolPatch,
    StandbyPoolPatchProperties, StandbyPoolProperties, StandbyPoolReference, StateCount,
};

/// A container group (`#/definitions/ContainerGroup`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroup {
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    pub properties: ContainerGroupProperties,
    /// Fields this client does not model (`systemData`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#/definitions/ContainerGroupPropertiesProperties` (and the list variant).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerGroupProperties {
    /// Read-only: only in responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<InitContainer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_registry_credentials: Vec<ImageRegistryCredential>,
    /// `Always` | `OnFailure` | `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<IpAddress>,
    /// `Linux` | `Windows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_ids: Vec<SubnetId>,
    /// `Regular` | `Spot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// `NotSpecified` | `Standard` | `Dedicated` | `Confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Read-only: only in GET responses (lists omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_view: Option<GroupInstanceView>,
    /// The profile a claim from a standby pool names (issue 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_group_profile: Option<ProfileReference>,
    /// The standby pool a create claims from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_pool_profile: Option<StandbyPoolReference>,
    /// Read-only: the group was served from a standby pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_created_from_standby_pool: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#/definitions/IpAddress`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    #[serde(default)]
    pub ports: Vec<Port>,
    /// `Public` | `Private`.
    #[serde(rename = "type")]
    pub ip_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A port of the group's IP (`#/definitions/Port`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    pub port: i32,
    /// `TCP` | `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// `#/definitions/ContainerGroupSubnetId`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubnetId {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `#/definitions/ImageRegistryCredential`. The password is never returned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRegistryCredential {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecureString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#/definitions/Volume`: one of `emptyDir`, `secret` (base64 values),
/// `azureFile`, `gitRepo`, ... Secret contents never come back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<BTreeMap<String, SecureString>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `#/definitions/ContainerGroupPropertiesPropertiesInstanceView`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupInstanceView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
}

/// `provisioningState` as the client acts on it. Unknown values (the spec
/// allows any string; an example even shows `Created`) are in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisioningPhase {
    InProgress,
    Succeeded,
    Failed,
    Canceled,
}

impl ProvisioningPhase {
    /// A missing state counts as succeeded (ARM RPC).
    pub fn of(state: Option<&str>) -> Self {
        match state {
            None => ProvisioningPhase::Succeeded,
            Some(s) if s.eq_ignore_ascii_case("Succeeded") => ProvisioningPhase::Succeeded,
            Some(s) if s.eq_ignore_ascii_case("Failed") => ProvisioningPhase::Failed,
            Some(s) if s.eq_ignore_ascii_case("Canceled") || s.eq_ignore_ascii_case("Cancelled") => {
                ProvisioningPhase::Canceled
            }
            Some(_) => ProvisioningPhase::InProgress,
        }
    }
    pub fn is_terminal(self) -> bool {
        self != ProvisioningPhase::InProgress
    }
}

impl ContainerGroup {
    pub fn phase(&self) -> ProvisioningPhase {
        ProvisioningPhase::of(self.properties.provisioning_state.as_deref())
    }
    /// The group's IP address, once assigned.
    pub fn ip(&self) -> Option<&str> {
        self.properties
            .ip_address
            .as_ref()
            .and_then(|a| a.ip.as_deref())
            .filter(|ip| !ip.is_empty())
    }
}
