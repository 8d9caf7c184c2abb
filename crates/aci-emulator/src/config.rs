//! Emulator configuration. Defaults follow the real service where CONTRACT.md gives numbers
//! (quotas, ACI create/delete rates, the ARM token bucket, group size limits).

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{faults::Faults, latency::LatencyDist};

/// The api-version of the saved spec.
pub const SPEC_API_VERSION: &str = "2026-05-01";

/// api-versions of `Microsoft.ContainerInstance` accepted by default: the stable and preview
/// versions published in Azure/azure-rest-api-specs (CONTRACT §1). Checked senders:
/// `azure-mgmt-containerinstance` 10.1.0 sends 2023-05-01, 10.2.0b1 (the one the Azure CLI
/// bundles) 2024-05-01-preview, 10.2.0b2 2026-06-01-preview.
pub const ACI_API_VERSIONS: &[&str] = &[
    SPEC_API_VERSION,
    "2026-06-01-preview",
    "2025-09-01",
    "2024-11-01-preview",
    "2024-10-01-preview",
    "2024-09-01-preview",
    "2024-05-01-preview",
    "2023-05-01",
    "2023-02-01-preview",
    "2022-10-01-preview",
    "2022-09-01",
    "2021-10-01",
    "2021-09-01",
    "2021-07-01",
    "2021-03-01",
    "2020-11-01",
    "2019-12-01",
    "2018-10-01",
    "2018-09-01",
    "2018-06-01",
    "2018-04-01",
];

/// api-versions of `Microsoft.StandbyPool` (standbypool/SOURCE.md); `azure-mgmt-standbypool`
/// 2.1.0 sends 2025-10-01.
pub const STANDBY_API_VERSIONS: &[&str] = &[
    "2026-04-01",
    "2025-10-01",
    "2025-03-01",
    "2024-03-01",
    "2024-03-01-preview",
    "2023-12-01-preview",
];

/// api-versions of `Microsoft.Resources` for `Providers_Get` (`GET /subscriptions/{sub}/providers/
/// Microsoft.ContainerInstance`): the versions whose `ProviderResourceType` has `zoneMappings`.
pub const RESOURCES_API_VERSIONS: &[&str] = &[
    "2021-04-01",
    "2022-09-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
];

/// The availability zones every region offers by default (`--zones`).
pub fn default_zones() -> Vec<String> {
    ["1", "2", "3"].map(str::to_owned).to_vec()
}

/// Regions where ACI (and the emulator) offers container groups by default: the public Azure
/// regions listed for `Microsoft.ContainerInstance/containerGroups` (normalised names).
pub const DEFAULT_LOCATIONS: &[&str] = &[
    "australiacentral",
    "australiaeast",
    "australiasoutheast",
    "brazilsouth",
    "canadacentral",
    "canadaeast",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "koreasouth",
    "mexicocentral",
    "northcentralus",
    "northeurope",
    "norwayeast",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southcentralus",
    "southeastasia",
    "southindia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
    "ukwest",
    "westcentralus",
    "westeurope",
    "westus",
    "westus2",
    "westus3",
];

/// Standby pool timing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StandbyConfig {
    /// Time for a pooled container group to become `Running` (after creation, a claim or a drain).
    #[serde(with = "humantime_serde_compat")]
    pub refill_delay: Duration,
    /// Time until a group served from the pool is `Succeeded`/`Running`.
    #[serde(with = "humantime_serde_compat")]
    pub claim_latency: Duration,
    /// Time a drained pooled container group stays `Deleting`.
    #[serde(with = "humantime_serde_compat")]
    pub drain_delay: Duration,
    /// Duration of the pool's create/update/delete long-running operations.
    #[serde(with = "humantime_serde_compat")]
    pub operation_latency: Duration,
}

impl Default for StandbyConfig {
    fn default() -> Self {
        StandbyConfig {
            refill_delay: Duration::from_secs(20),
            claim_latency: Duration::from_secs(1),
            drain_delay: Duration::from_secs(5),
            operation_latency: Duration::from_secs(1),
        }
    }
}

/// The api-version ACI embeds in its operation-status URLs, whatever the PUT used (observed).
pub const OPERATION_API_VERSION: &str = "2018-06-01";

/// How `DELETE` of an existing group answers (CONTRACT §5.2: 200, 202 or 204 are all allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum DeleteMode {
    /// 202 with `Azure-AsyncOperation` (as the spec example); the group is `Deleting` until done.
    #[default]
    Async,
    /// 200 with the group body; gone at once.
    Sync,
}

/// Durations of the provisioning phases, drawn per group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProvisioningLatency {
    /// Time spent in `Pending` (waiting for a node).
    pub pending: LatencyDist,
    /// Time spent in `Creating` (pulling images, getting an IP).
    pub creating: LatencyDist,
    /// Time from an async `DELETE` until the group is gone.
    pub deleting: LatencyDist,
}

impl Default for ProvisioningLatency {
    /// Short enough for tests; use [`ProvisioningLatency::realistic`] for demos.
    fn default() -> Self {
        ProvisioningLatency {
            pending: LatencyDist::uniform_ms(100, 400),
            creating: LatencyDist::uniform_ms(200, 800),
            deleting: LatencyDist::uniform_ms(50, 200),
        }
    }
}

impl ProvisioningLatency {
    /// Every phase instantaneous: groups are `Succeeded` on the first poll.
    pub fn instant() -> Self {
        ProvisioningLatency {
            pending: LatencyDist::ZERO,
            creating: LatencyDist::ZERO,
            deleting: LatencyDist::ZERO,
        }
    }

    /// Roughly what public reports show for small Linux groups (tens of seconds).
    pub fn realistic() -> Self {
        ProvisioningLatency {
            pending: LatencyDist::Normal {
                mean: Duration::from_secs(15),
                std_dev: Duration::from_secs(5),
            },
            creating: LatencyDist::Normal {
                mean: Duration::from_secs(20),
                std_dev: Duration::from_secs(8),
            },
            deleting: LatencyDist::uniform_ms(2_000, 8_000),
        }
    }
}

/// Per-region quotas (CONTRACT §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RegionQuota {
    /// Standard-SKU container groups per region and subscription.
    pub container_groups: u32,
    /// Standard-SKU cores per region and subscription.
    pub standard_cores: u32,
    /// Spot cores per region and subscription.
    pub spot_cores: u32,
}

impl Default for RegionQuota {
    fn default() -> Self {
        RegionQuota {
            container_groups: 100,
            standard_cores: 100,
            spot_cores: 100,
        }
    }
}

/// A token bucket: `capacity` requests, refilled at `refill_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketLimit {
    /// Bucket size.
    pub capacity: u32,
    /// Tokens added per second.
    pub refill_per_sec: f64,
}

/// A pair of sliding windows (5 minutes and 1 hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowLimit {
    /// Allowed in any 5-minute window.
    pub per_5m: u32,
    /// Allowed in any 1-hour window.
    pub per_1h: u32,
}

/// All limits; changeable at run time through `/_emulator/limits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// Default per-region quota.
    pub quota: RegionQuota,
    /// Overrides per region (key: normalised region name, e.g. `westeurope`).
    pub region_quotas: BTreeMap<String, RegionQuota>,
    /// ARM read bucket per subscription (250 at 25/s).
    pub arm_reads: BucketLimit,
    /// ARM write bucket per subscription (200 at 10/s).
    pub arm_writes: BucketLimit,
    /// ARM delete bucket per subscription (200 at 10/s).
    pub arm_deletes: BucketLimit,
    /// ACI container-group creates per subscription (100 per 5 min, 300 per hour).
    pub aci_creates: WindowLimit,
    /// ACI container-group deletes per subscription (100 per 5 min, 300 per hour).
    pub aci_deletes: WindowLimit,
    /// Multiplies the 5-minute and 1-hour spans of `aciCreates`/`aciDeletes` (1.0 = the real
    /// service; e.g. 0.01 makes 3 s and 36 s windows, so a 429's `Retry-After` is seconds).
    pub aci_window_scale: f64,
    /// Largest Standard group: cores.
    pub max_group_cpu: f64,
    /// Largest Standard group: memory in GB.
    pub max_group_memory_gb: f64,
    /// Largest Spot group: cores.
    pub max_spot_cpu: f64,
    /// Largest Spot group: memory in GB.
    pub max_spot_memory_gb: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            quota: RegionQuota::default(),
            region_quotas: BTreeMap::new(),
            arm_reads: BucketLimit {
                capacity: 250,
                refill_per_sec: 25.0,
            },
            arm_writes: BucketLimit {
                capacity: 200,
                refill_per_sec: 10.0,
            },
            arm_deletes: BucketLimit {
                capacity: 200,
                refill_per_sec: 10.0,
            },
            aci_creates: WindowLimit {
                per_5m: 100,
                per_1h: 300,
            },
            aci_deletes: WindowLimit {
                per_5m: 100,
                per_1h: 300,
            },
            aci_window_scale: 1.0,
            max_group_cpu: 31.0,
            max_group_memory_gb: 240.0,
            max_spot_cpu: 4.0,
            max_spot_memory_gb: 16.0,
        }
    }
}

impl Limits {
    /// The quota of one region.
    pub fn quota_for(&self, region: &str) -> RegionQuota {
        self.region_quotas.get(region).copied().unwrap_or(self.quota)
    }

    /// Limits so high that nothing is ever throttled or over quota (for benchmarks).
    pub fn unlimited() -> Self {
        let big = BucketLimit {
            capacity: u32::MAX / 2,
            refill_per_sec: 1e9,
        };
        let win = WindowLimit {
            per_5m: u32::MAX / 2,
            per_1h: u32::MAX / 2,
        };
        Limits {
            quota: RegionQuota {
                container_groups: u32::MAX / 2,
                standard_cores: u32::MAX / 2,
                spot_cores: u32::MAX / 2,
            },
            arm_reads: big,
            arm_writes: big,
            arm_deletes: big,
            aci_creates: win,
            aci_deletes: win,
            ..Limits::default()
        }
    }
}

/// OAuth2 token endpoint behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenConfig {
    /// `expires_in` of issued tokens.
    #[serde(with = "humantime_serde_compat")]
    pub lifetime: Duration,
    /// When set, only this client id is accepted.
    pub client_id: Option<String>,
    /// When set, a client secret must equal it.
    pub client_secret: Option<String>,
    /// When set, a client assertion must equal it.
    pub client_assertion: Option<String>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            lifetime: Duration::from_secs(3599),
            client_id: None,
            client_secret: None,
            client_assertion: None,
        }
    }
}

/// Everything the emulator needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmulatorConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Seed of every random choice (latencies, 5xx faults, addresses).
    pub seed: u64,
    /// Items per list page before a `nextLink` is given.
    pub page_size: usize,
    /// api-versions accepted on `Microsoft.ContainerInstance` paths (the first is the spec's).
    pub api_versions: Vec<String>,
    /// api-versions accepted on `Microsoft.StandbyPool` paths.
    pub standby_api_versions: Vec<String>,
    /// Regions accepted for new resources (normalised, e.g. `westeurope`); others get
    /// `LocationNotAvailableForResourceType`.
    pub locations: Vec<String>,
    /// Availability zones of every region, as the resource provider's `zoneMappings` publish
    /// them (empty: regions without zones).
    pub zones: Vec<String>,
    /// Zones of single regions (key: normalised region), overriding `zones`.
    pub region_zones: BTreeMap<String, Vec<String>>,
    /// Standby pool timing.
    pub standby: StandbyConfig,
    /// Require a valid bearer token on ARM paths.
    pub require_auth: bool,
    /// Token endpoint behaviour.
    pub token: TokenConfig,
    /// Provisioning phase durations.
    pub latency: ProvisioningLatency,
    /// `DELETE` answer style.
    pub delete_mode: DeleteMode,
    /// Also send `Location` (and `Retry-After` when set) on LRO starts, as the 2026 spec documents.
    pub lro_location_header: bool,
    /// `Retry-After` seconds on LRO starts and on in-progress operation polls (not sent when `None`,
    /// as observed on real ACI).
    pub lro_retry_after: Option<u64>,
    /// Quotas, rate limits and size limits.
    pub limits: Limits,
    /// Initial faults.
    pub faults: Faults,
    /// At most this many write records are kept in `/_emulator/state` (oldest dropped first).
    pub max_write_records: usize,
    /// Serve HTTPS (`None`: plain HTTP, the default).
    pub tls: Option<crate::tls::TlsMode>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: "127.0.0.1:0".to_owned(),
            seed: 1,
            page_size: 100,
            api_versions: ACI_API_VERSIONS.iter().map(|v| (*v).to_owned()).collect(),
            standby_api_versions: STANDBY_API_VERSIONS.iter().map(|v| (*v).to_owned()).collect(),
            locations: DEFAULT_LOCATIONS.iter().map(|v| (*v).to_owned()).collect(),
            zones: default_zones(),
            region_zones: BTreeMap::new(),
            standby: StandbyConfig::default(),
            require_auth: true,
            token: TokenConfig::default(),
            latency: ProvisioningLatency::default(),
            delete_mode: DeleteMode::default(),
            lro_location_header: false,
            lro_retry_after: None,
            limits: Limits::default(),
            faults: Faults::default(),
            max_write_records: 100_000,
            tls: None,
        }
    }
}

/// serde for `Duration` as humantime text (`"1h"`, `"30s"`) or whole seconds.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Secs(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => humantime::parse_duration(&t).map_err(serde::de::Error::custom),
            Raw::Secs(s) => Ok(Duration::from_secs(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_real_service() {
        let c = EmulatorConfig::default();
        assert_eq!(
            c.limits.quota,
            RegionQuota {
                container_groups: 100,
                standard_cores: 100,
                spot_cores: 100
            }
        );
        assert_eq!(
            c.limits.aci_creates,
            WindowLimit {
                per_5m: 100,
                per_1h: 300
            }
        );
        assert_eq!(
            c.limits.arm_writes,
            BucketLimit {
                capacity: 200,
                refill_per_sec: 10.0
            }
        );
        assert_eq!(c.api_versions[0], SPEC_API_VERSION);
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = EmulatorConfig::default();
        let text = serde_json::to_string(&c).unwrap();
        let back: EmulatorConfig = serde_json::from_str(&text).unwrap();
        assert_eq!(c, back);
        let partial: EmulatorConfig = serde_json::from_str(r#"{"token":{"lifetime":"5s"}}"#).unwrap();
        assert_eq!(partial.token.lifetime, Duration::from_secs(5));
    }
}
