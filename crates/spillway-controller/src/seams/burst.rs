//! The `BurstBackend` seam: list, create and delete this cluster's container
//! groups. `spillway-aci` implements it over ARM; the simulator over its ACI
//! model. Implementations that write hold the [`crate::LeaderGate`] and check
//! it before every request they send, retries included.

use std::sync::Arc;

use futures::future::BoxFuture;
use spillway_core::burst::{BurstHeadroom, BurstReplica};
use spillway_core::config::AciPriority;
use spillway_core::plan::CreateGroup;
use spillway_core::time::Timestamp;

use super::SeamError;
use super::cluster::TemplateRefs;
use super::pool::{PoolKeep, PoolObserved, PoolSync, StandbyClaim};

/// One of this cluster's groups as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The `spillway.io/policy` tag; `None` for a group too damaged to map
    /// (still ours: it is garbage-collected by name).
    pub policy: Option<String>,
    pub replica: BurstReplica,
    pub ip: Option<String>,
}

/// Everything a create needs besides the plan's [`CreateGroup`]; `T` is the
/// [`crate::ClusterView::Template`] of the view it came from.
pub struct CreateRequest<'a, T> {
    pub cluster_id: &'a str,
    pub policy: &'a str,
    pub namespace: &'a str,
    pub group: &'a CreateGroup,
    pub template: &'a T,
    pub refs: &'a TemplateRefs,
    /// Private IPs in this subnet (`azure.subnetId`), else a public IP.
    pub subnet_id: Option<&'a str>,
    pub priority: AciPriority,
    /// `burst.dns`: resolve through the cluster DNS (with `subnet_id` only).
    pub dns: Option<&'a spillway_core::config::ClusterDns>,
    /// Claim from the policy's standby pool (it is in step with the template).
    pub standby: Option<StandbyClaim<'a>>,
}

/// The availability zones of a location (`burst.zones: auto`), as the
/// backend knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZonesAnswer {
    /// The zones container groups can use; empty: the location has none.
    /// After a failed read, the last list read; `None` while no read has
    /// succeeded (or the backend cannot tell): plan without zones.
    pub zones: Option<Vec<String>>,
    /// The latest read failed: why, and the error's metric label.
    pub error: Option<(String, &'static str)>,
}

pub trait BurstBackend<T>: Send + Sync {
    /// Every group of `cluster_id`: one list call. Shared, so that a
    /// backend that knows nothing changed (the simulator) can hand out the
    /// same list again without copying it.
    fn list<'a>(
        &'a self,
        cluster_id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Arc<Vec<ListedGroup>>, SeamError>>;
    /// Starts a create-or-update; the next lists show how it goes.
    fn create<'a>(&'a self, req: CreateRequest<'a, T>) -> BoxFuture<'a, Result<(), SeamError>>;
    /// Starts a delete; a group already gone is success.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SeamError>>;
    /// Rate-window and quota headroom for new groups in `location`.
    fn headroom<'a>(&'a self, location: &'a str, priority: AciPriority) -> BoxFuture<'a, BurstHeadroom>;
    /// The availability zones of `location` for `burst.zones: auto`.
    /// Implementations cache the answer (the ARM backend for an hour, see
    /// [`super::zones::ZoneCache`]); `now` is the loop's clock. The default:
    /// unknown, which plans without zones.
    fn zones<'a>(&'a self, _location: &'a str, _now: Timestamp) -> BoxFuture<'a, ZonesAnswer> {
        Box::pin(async { ZonesAnswer::default() })
    }
    /// Keeps the policy's standby pool and its container group profile in
    /// step (issue 16) and reads the pool's runtime view. The default: no
    /// pools (an empty observation).
    fn sync_pool<'a>(&'a self, _req: PoolSync<'a, T>) -> BoxFuture<'a, Result<PoolObserved, SeamError>> {
        Box::pin(async { Ok(PoolObserved::default()) })
    }
    /// Deletes `cluster_id`'s pools (then their profiles) that `keep` does
    /// not name; returns the names of the pools and profiles it deleted.
    fn sweep_pools<'a>(
        &'a self,
        _cluster_id: &'a str,
        _keep: &'a PoolKeep,
    ) -> BoxFuture<'a, Result<Vec<String>, SeamError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
