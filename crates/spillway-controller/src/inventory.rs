//! This cluster's container groups, listed once per refresh and shared by
//! every policy's tick (one list call per resource group, not a GET per
//! group), plus the locations that recently refused new groups. Times come
//! from the controller's clock, so the simulator and paused-time tests see
//! the same expiries as production.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spillway_core::burst::{BurstHeadroom, BurstInventory};
use spillway_core::time::Timestamp;

use crate::seams::SeamError;
use crate::seams::burst::{BurstBackend, ListedGroup};

struct Listing {
    at: Timestamp,
    cluster_id: String,
    groups: Arc<Vec<ListedGroup>>,
}

pub struct Inventory {
    /// Ticks within this of a list share it.
    ttl: Duration,
    /// How long a quota/capacity error keeps a location out.
    unavailable_for: Duration,
    listing: tokio::sync::Mutex<Option<Listing>>,
    /// Set when the backend was replaced: the cached list is from the old one.
    stale: AtomicBool,
    unavailable: Mutex<BTreeMap<String, (Timestamp, String)>>,
}

impl Inventory {
    pub fn new(ttl: Duration, unavailable_for: Duration) -> Self {
        Inventory {
            ttl,
            unavailable_for,
            listing: tokio::sync::Mutex::new(None),
            stale: AtomicBool::new(false),
            unavailable: Mutex::new(BTreeMap::new()),
        }
    }

    /// The groups of `cluster_id`, from a list at most `ttl` old. Concurrent
    /// callers wait for one list rather than each making their own.
    pub async fn listing<T>(
        &self,
        backend: &dyn BurstBackend<T>,
        cluster_id: &str,
        now: Timestamp,
    ) -> Result<Arc<Vec<ListedGroup>>, SeamError> {
        let mut guard = self.listing.lock().await;
        if self.stale.swap(false, Ordering::AcqRel) {
            *guard = None;
        }
        if let Some(l) = guard.as_ref()
            && now.since(l.at) < self.ttl
            && l.at <= now
            && l.cluster_id == cluster_id
        {
            return Ok(l.groups.clone());
        }
        let groups = backend.list(cluster_id, now).await?;
        *guard = Some(Listing {
            at: now,
            cluster_id: cluster_id.to_string(),
            groups: groups.clone(),
        });
        Ok(groups)
    }

    /// After a write, or a backend change: the next tick lists afresh.
    pub async fn invalidate(&self) {
        *self.listing.lock().await = None;
    }

    /// Like [`Inventory::invalidate`], from synchronous code.
    pub fn invalidate_soon(&self) {
        self.stale.store(true, Ordering::Release);
    }

    /// Keeps a location, or a zone (`spillway_core::burst::zone_key`), out
    /// of new creates for a while.
    pub fn mark_unavailable(&self, location: &str, reason: &str, now: Timestamp) {
        if let Ok(mut m) = self.unavailable.lock() {
            m.insert(location.to_string(), (now, reason.to_string()));
        }
    }

    /// Locations still inside their unavailable period, with the reason.
    pub fn unavailable(&self, now: Timestamp) -> BTreeMap<String, String> {
        let Ok(mut m) = self.unavailable.lock() else {
            return BTreeMap::new();
        };
        m.retain(|_, (at, _)| now.since(*at) < self.unavailable_for);
        m.iter().map(|(l, (_, r))| (l.clone(), r.clone())).collect()
    }

    /// Whether any location is still inside its unavailable period.
    pub fn any_unavailable(&self, now: Timestamp) -> bool {
        self.unavailable
            .lock()
            .is_ok_and(|m| m.values().any(|(at, _)| now.since(*at) < self.unavailable_for))
    }

    /// The planner's view of one policy's groups. The replicas are copied
    /// out of `listing` only when `previous` was not built from this very
    /// listing (a shared list outlives several ticks; the simulator hands out
    /// the same one until a group changes).
    pub fn for_policy(
        &self,
        previous: Option<PolicyInventory>,
        listing: &Arc<Vec<ListedGroup>>,
        policy: &str,
        headroom: BurstHeadroom,
        now: Timestamp,
    ) -> PolicyInventory {
        // Zone keys are `location/zone`; location names have no `/`.
        let (unavailable_zones, unavailable_locations) = self
            .unavailable(now)
            .into_iter()
            .partition(|(k, _)| k.contains('/'));
        let replicas = match previous {
            Some(p) if Arc::ptr_eq(&p.listing, listing) && p.policy == policy => p.inventory.replicas,
            _ => listing
                .iter()
                .filter(|g| g.policy.as_deref() == Some(policy))
                .map(|g| g.replica.clone())
                .collect(),
        };
        PolicyInventory {
            listing: listing.clone(),
            policy: policy.to_string(),
            inventory: BurstInventory {
                replicas,
                headroom,
                unavailable_locations,
                unavailable_zones,
            },
        }
    }
}

/// One policy's [`BurstInventory`] and the listing it was taken from.
#[derive(Debug, Clone)]
pub struct PolicyInventory {
    listing: Arc<Vec<ListedGroup>>,
    policy: String,
    pub inventory: BurstInventory,
}

#[cfg(test)]
mod tests {
    use spillway_core::burst::{BurstReplica, BurstState};

    use super::*;

    fn group(policy: &str, name: &str, state: BurstState) -> ListedGroup {
        ListedGroup {
            policy: Some(policy.to_string()),
            replica: BurstReplica {
                name: name.to_string(),
                ordinal: 0,
                template_hash: "h".into(),
                location: "westeurope".into(),
                zone: None,
                state,
                created_at: Timestamp::from_secs(0),
            },
            ip: None,
        }
    }

    #[test]
    fn a_location_is_unavailable_for_its_period_only() {
        let inv = Inventory::new(Duration::from_secs(5), Duration::from_secs(60));
        assert!(!inv.any_unavailable(Timestamp::from_secs(0)));
        inv.mark_unavailable("westeurope", "quota", Timestamp::from_secs(10));
        assert!(inv.any_unavailable(Timestamp::from_secs(69)));
        assert_eq!(inv.unavailable(Timestamp::from_secs(69)).len(), 1);
        assert!(!inv.any_unavailable(Timestamp::from_secs(70)));
        assert!(inv.unavailable(Timestamp::from_secs(70)).is_empty());
    }

    #[test]
    fn a_policy_inventory_is_reused_only_for_the_same_listing_and_policy() {
        let inv = Inventory::new(Duration::from_secs(5), Duration::from_secs(60));
        let now = Timestamp::from_secs(10);
        let listing = Arc::new(vec![
            group("web", "a", BurstState::Provisioning),
            group("api", "b", BurstState::Ready),
        ]);
        let first = inv.for_policy(None, &listing, "web", BurstHeadroom::default(), now);
        assert_eq!(first.inventory.replicas.len(), 1);
        let kept = first.inventory.replicas.as_ptr();
        let again = inv.for_policy(Some(first), &listing, "web", BurstHeadroom::default(), now);
        assert_eq!(again.inventory.replicas.as_ptr(), kept, "same listing: no copy");

        // A new listing (a group became Ready) is read afresh, even if the
        // previous inventory is offered.
        let changed = Arc::new(vec![
            group("web", "a", BurstState::Ready),
            group("api", "b", BurstState::Ready),
        ]);
        let fresh = inv.for_policy(Some(again), &changed, "web", BurstHeadroom::default(), now);
        assert_eq!(fresh.inventory.replicas[0].state, BurstState::Ready);

        // Another policy never gets this one's replicas.
        let other = inv.for_policy(Some(fresh), &changed, "api", BurstHeadroom::default(), now);
        assert_eq!(other.inventory.replicas.len(), 1);
        assert_eq!(other.inventory.replicas[0].name, "b");
    }
}
