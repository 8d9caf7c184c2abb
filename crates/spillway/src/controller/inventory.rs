//! This cluster's container groups, listed once per refresh and shared by
//! every policy's tick (one list call per resource group, not a GET per
//! group), plus the locations that recently refused new groups.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spillway_core::burst::{BurstHeadroom, BurstInventory};
use spillway_core::time::Timestamp;

use super::backend::{BackendError, BurstBackend, ListedGroup};

struct Listing {
    at: Instant,
    cluster_id: String,
    groups: Arc<Vec<ListedGroup>>,
}

pub struct Inventory {
    backend: Arc<dyn BurstBackend>,
    /// Ticks within this of a list share it.
    ttl: Duration,
    /// How long a quota/capacity error keeps a location out.
    unavailable_for: Duration,
    listing: tokio::sync::Mutex<Option<Listing>>,
    unavailable: Mutex<BTreeMap<String, (Instant, String)>>,
}

impl Inventory {
    pub fn new(backend: Arc<dyn BurstBackend>, ttl: Duration, unavailable_for: Duration) -> Self {
        Inventory {
            backend,
            ttl,
            unavailable_for,
            listing: tokio::sync::Mutex::new(None),
            unavailable: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn backend(&self) -> &Arc<dyn BurstBackend> {
        &self.backend
    }

    /// The groups of `cluster_id`, from a list at most `ttl` old. Concurrent
    /// callers wait for one list rather than each making their own.
    pub async fn listing(
        &self,
        cluster_id: &str,
        now: Timestamp,
    ) -> Result<Arc<Vec<ListedGroup>>, BackendError> {
        let mut guard = self.listing.lock().await;
        if let Some(l) = guard.as_ref()
            && l.at.elapsed() < self.ttl
            && l.cluster_id == cluster_id
        {
            return Ok(l.groups.clone());
        }
        let groups = Arc::new(self.backend.list(cluster_id, now).await?);
        *guard = Some(Listing {
            at: Instant::now(),
            cluster_id: cluster_id.to_string(),
            groups: groups.clone(),
        });
        Ok(groups)
    }

    /// After a write: the next tick lists afresh.
    pub async fn invalidate(&self) {
        *self.listing.lock().await = None;
    }

    pub fn mark_unavailable(&self, location: &str, reason: &str) {
        if let Ok(mut m) = self.unavailable.lock() {
            m.insert(location.to_string(), (Instant::now(), reason.to_string()));
        }
    }

    /// Locations still inside their unavailable period, with the reason.
    pub fn unavailable(&self) -> BTreeMap<String, String> {
        let Ok(mut m) = self.unavailable.lock() else {
            return BTreeMap::new();
        };
        m.retain(|_, (at, _)| at.elapsed() < self.unavailable_for);
        m.iter().map(|(l, (_, r))| (l.clone(), r.clone())).collect()
    }

    /// The planner's view of one policy's groups.
    pub fn for_policy(
        &self,
        listing: &[ListedGroup],
        policy: &str,
        headroom: BurstHeadroom,
    ) -> BurstInventory {
        BurstInventory {
            replicas: listing
                .iter()
                .filter(|g| g.policy.as_deref() == Some(policy))
                .map(|g| g.replica.clone())
                .collect(),
            headroom,
            unavailable_locations: self.unavailable(),
        }
    }
}
