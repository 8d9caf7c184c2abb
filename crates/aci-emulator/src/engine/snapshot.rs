//! `GET /_emulator/state`: every group ever created and every write received.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Engine;

/// One container group, alive or deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRecord {
    /// Name as created.
    pub name: String,
    /// Subscription.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Normalised region.
    pub location: String,
    /// Tags (latest).
    pub tags: Map<String, Value>,
    /// `provisioningState` now (`Deleted` once gone).
    pub provisioning_state: String,
    /// First creation.
    pub created_at: Timestamp,
    /// When it disappeared; `null` while it lives.
    pub deleted_at: Option<Timestamp>,
    /// Served from a standby pool (`isCreatedFromStandbyPool`).
    #[serde(default)]
    pub from_standby_pool: bool,
    /// Where and how it was asked to run (latest body), so that tests can
    /// check placement and networking without an ARM token: `zones`,
    /// `properties.subnetIds[].id` and `properties.dnsConfig`.
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    #[serde(default)]
    pub dns_config: Option<Value>,
}

impl GroupRecord {
    /// Copies the placement and networking of a stored body.
    pub(crate) fn set_network(&mut self, body: &Value) {
        let strings = |v: Option<&Value>, key: Option<&str>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| match key {
                            Some(k) => x.get(k),
                            None => Some(x),
                        })
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        self.zones = strings(body.get("zones"), None);
        let props = body.get("properties");
        self.subnet_ids = strings(props.and_then(|p| p.get("subnetIds")), Some("id"));
        self.dns_config = props.and_then(|p| p.get("dnsConfig")).cloned();
    }
}

/// One standby container group pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolRecord {
    /// Name as created.
    pub name: String,
    /// Resource group.
    pub resource_group: String,
    /// `maxReadyCapacity`.
    pub max_ready_capacity: u64,
    /// Instances ready to be claimed now.
    pub running: u64,
    /// Instances provisioning now.
    pub creating: u64,
    /// Instances being deleted now.
    pub deleting: u64,
    /// Groups served from the pool so far.
    pub claims: u64,
    /// The profile revision its instances are built from.
    pub profile_revision: u32,
}

/// One write request (PUT, PATCH, POST, DELETE), whatever its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteRecord {
    /// HTTP method.
    pub method: String,
    /// Request path (no query).
    pub path: String,
    /// Arrival time.
    pub at: Timestamp,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `x-ms-client-request-id`.
    pub client_request_id: Option<String>,
    /// HTTP status answered.
    pub status: u16,
}

/// The body of `GET /_emulator/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSnapshot {
    /// Every group ever created, in creation order.
    pub groups: Vec<GroupRecord>,
    /// Every write, in arrival order.
    pub writes: Vec<WriteRecord>,
    /// Tokens issued per flow.
    #[serde(default)]
    pub tokens_issued: std::collections::BTreeMap<String, u64>,
    /// Live standby pools.
    #[serde(default)]
    pub pools: Vec<PoolRecord>,
}

impl StateSnapshot {
    /// Groups still alive.
    pub fn live_groups(&self) -> impl Iterator<Item = &GroupRecord> {
        self.groups.iter().filter(|g| g.deleted_at.is_none())
    }
}

impl Engine {
    /// The admin view of the state at `now`.
    pub fn snapshot(&mut self, now: Timestamp) -> StateSnapshot {
        self.sweep(now);
        let mut groups = self.history.clone();
        for g in self.groups.values() {
            if let Some(rec) = groups.get_mut(g.record) {
                rec.provisioning_state = g.provisioning_state(now).to_owned();
            }
        }
        StateSnapshot {
            groups,
            writes: self.writes.iter().cloned().collect(),
            tokens_issued: self
                .tokens
                .issued
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            pools: self
                .pools
                .values()
                .map(|p| {
                    let counts = p.instances.counts(now);
                    let sum = |f: fn(&crate::standby::ZoneCounts) -> u64| counts.iter().map(f).sum();
                    PoolRecord {
                        name: p.name.clone(),
                        resource_group: p.rg.clone(),
                        max_ready_capacity: p.max_ready,
                        running: sum(|c| c.running),
                        creating: sum(|c| c.creating),
                        deleting: sum(|c| c.deleting),
                        claims: p.claims,
                        profile_revision: p.revision,
                    }
                })
                .collect(),
        }
    }
}
