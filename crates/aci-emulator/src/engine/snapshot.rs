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
        }
    }
}
