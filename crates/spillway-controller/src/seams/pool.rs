//! Standby pools through the `BurstBackend` seam (issue 16): the types of
//! [`super::burst::BurstBackend::sync_pool`] and
//! [`super::burst::BurstBackend::sweep_pools`]. Both have default no-op
//! implementations, so a backend without pools (test fakes) needs nothing.

use std::collections::BTreeMap;

use spillway_core::config::{AciPriority, StandbyPool};

use super::cluster::TemplateRefs;

/// One tick's wish for a policy's pool: keep its profile on `template`
/// (a new revision when the template hash changed) and the pool on that
/// revision with `desired` ready instances; with `write: false` only read.
pub struct PoolSync<'a, T> {
    pub cluster_id: &'a str,
    pub policy: &'a str,
    pub namespace: &'a str,
    pub pool: &'a StandbyPool,
    /// `elasticityProfile.maxReadyCapacity` wanted (the plan's sizing).
    pub desired: u32,
    pub template: &'a T,
    pub template_hash: &'a str,
    pub refs: &'a TemplateRefs,
    /// The primary location: a pool lives with its profile.
    pub location: &'a str,
    pub subnet_id: Option<&'a str>,
    pub priority: AciPriority,
    /// `false`: not the leader (or a dry run): read, never write.
    pub write: bool,
}

/// What the backend saw of the pool this tick (re-derived from the cloud
/// every time, never kept: a crash mid-update is repaired by the next sync).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolObserved {
    /// The pool exists (possibly still provisioning).
    pub exists: bool,
    /// Its `maxReadyCapacity` as last read or written.
    pub max_ready_capacity: u32,
    /// Instances by state, from the pool's runtime view.
    pub ready: u32,
    pub creating: u32,
    /// The profile revision the pool uses.
    pub revision: Option<i64>,
    /// The pool is in step: its profile is of the current template and the
    /// pool is on the profile's current revision. Only then do creates claim.
    pub in_step: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// The writes this sync made (`profile`, `pool_create`, `pool_update`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wrote: Vec<&'static str>,
    /// Creates that claimed from the pool since the last sync: served from
    /// the pool (`isCreatedFromStandbyPool`) or not.
    pub claims_hit: u32,
    pub claims_miss: u32,
}

/// A create that claims from the policy's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandbyClaim<'a> {
    /// The pool's name (also its profile's).
    pub pool: &'a str,
    /// The profile revision the pool uses.
    pub revision: Option<i64>,
}

/// What the orphan sweep keeps, per policy of the document: `Some(name)`:
/// only that pool (and profile); `None`: the policy is disabled by errors,
/// keep whatever it has (disabling a policy does not tear it down). Pools
/// of policies not in the map are deleted, then their profiles.
pub type PoolKeep = BTreeMap<String, Option<String>>;
