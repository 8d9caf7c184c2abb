//! The `BurstBackend` seam (DESIGN.md §9): list, create and delete this
//! cluster's container groups. [`AciBackend`] is the ARM implementation.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use spillway_aci::inventory::{self, HealthRules, Owned};
use spillway_aci::translate::{self, GroupSpec, MapResolver, Network};
use spillway_aci::{AciClient, AciError, DeleteOutcome};
use spillway_core::burst::{BurstHeadroom, BurstReplica};
use spillway_core::config::AciPriority;
use spillway_core::plan::CreateGroup;
use spillway_core::time::Timestamp;

/// One of this cluster's groups as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The `spillway.io/policy` tag; `None` for a group too damaged to map
    /// (still ours: it is garbage-collected by name).
    pub policy: Option<String>,
    pub replica: BurstReplica,
    pub ip: Option<String>,
}

/// Everything a create needs besides the plan's [`CreateGroup`].
pub struct CreateRequest<'a> {
    pub cluster_id: &'a str,
    pub policy: &'a str,
    pub namespace: &'a str,
    pub group: &'a CreateGroup,
    pub template: &'a PodTemplateSpec,
    pub resolver: &'a MapResolver,
    pub network: Network,
    pub priority: AciPriority,
}

/// Why a backend call failed, in the terms the controller acts on.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Aci(#[from] AciError),
    #[error("the pod template cannot run on ACI: {0}")]
    Translate(#[from] translate::TranslateError),
}

impl BackendError {
    pub fn label(&self) -> &'static str {
        match self {
            BackendError::Aci(e) => e.metric_label(),
            BackendError::Translate(e) => e.metric_label(),
        }
    }
    /// Quota or capacity: stop creating in this location for a while.
    pub fn location_unavailable(&self) -> bool {
        matches!(self, BackendError::Aci(e) if e.makes_location_unavailable())
    }
}

pub trait BurstBackend: Send + Sync {
    /// Every group of `cluster_id` in the resource group: one list call.
    fn list<'a>(
        &'a self,
        cluster_id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<ListedGroup>, BackendError>>;
    /// Starts a create-or-update; the next lists show how it goes.
    fn create<'a>(&'a self, req: CreateRequest<'a>) -> BoxFuture<'a, Result<(), BackendError>>;
    /// Starts a delete; a group already gone is success.
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), BackendError>>;
    /// Rate-window and quota headroom for new groups in `location`.
    fn headroom<'a>(&'a self, location: &'a str, priority: AciPriority) -> BoxFuture<'a, BurstHeadroom>;
}

/// The ARM implementation over [`AciClient`].
pub struct AciBackend {
    client: AciClient,
    health: HealthRules,
    /// Regional usages change slowly; read them at most every `usage_ttl`.
    usage_ttl: Duration,
    usages: Mutex<BTreeMap<(String, bool), (Instant, BurstHeadroom)>>,
}

impl AciBackend {
    pub fn new(client: AciClient) -> Self {
        AciBackend {
            client,
            health: HealthRules::default(),
            usage_ttl: Duration::from_secs(30),
            usages: Mutex::new(BTreeMap::new()),
        }
    }
}

impl BurstBackend for AciBackend {
    fn list<'a>(
        &'a self,
        cluster_id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<ListedGroup>, BackendError>> {
        Box::pin(async move {
            let groups = self.client.list().await?;
            let ips: BTreeMap<String, String> = groups
                .iter()
                .filter_map(|g| Some((g.name.clone()?.to_ascii_lowercase(), g.ip()?.to_string())))
                .collect();
            Ok(inventory::inventory(&groups, cluster_id, self.health, now)
                .into_iter()
                .map(|owned| match owned {
                    Owned::Replica { policy, replica } => ListedGroup {
                        ip: ips.get(&replica.name.to_ascii_lowercase()).cloned(),
                        policy: Some(policy),
                        replica,
                    },
                    Owned::Unreadable { name, .. } => ListedGroup {
                        policy: None,
                        replica: BurstReplica {
                            name,
                            ordinal: u32::MAX,
                            template_hash: String::new(),
                            location: String::new(),
                            state: spillway_core::burst::BurstState::Failed,
                            created_at: now,
                        },
                        ip: None,
                    },
                })
                .collect())
        })
    }

    fn create<'a>(&'a self, req: CreateRequest<'a>) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let spec = GroupSpec {
                cluster_id: req.cluster_id.to_string(),
                policy: req.policy.to_string(),
                ordinal: req.group.ordinal,
                template_hash: req.group.template_hash.clone(),
                namespace: req.namespace.to_string(),
                location: req.group.location.clone(),
                network: req.network.clone(),
                priority: req.priority,
                limits: None,
            };
            let translated = translate::translate(req.template, &spec, req.resolver)?;
            self.client
                .begin_create_or_update(&translated.name, &translated.body)
                .await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            match self.client.begin_delete(name).await? {
                DeleteOutcome::Deleted | DeleteOutcome::AlreadyGone | DeleteOutcome::InProgress => Ok(()),
            }
        })
    }

    fn headroom<'a>(&'a self, location: &'a str, priority: AciPriority) -> BoxFuture<'a, BurstHeadroom> {
        Box::pin(async move {
            let key = (location.to_string(), priority == AciPriority::Spot);
            let cached = self.usages.lock().ok().and_then(|m| m.get(&key).copied());
            let pacing = self.client.pacing_headroom();
            if let Some((at, h)) = cached
                && at.elapsed() < self.usage_ttl
            {
                return spillway_aci::burst_headroom(pacing, None, priority).merge_quota(h);
            }
            match self.client.headroom(location, priority).await {
                Ok(h) => {
                    if let Ok(mut m) = self.usages.lock() {
                        m.insert(key, (Instant::now(), h));
                    }
                    h
                }
                // Unknown quota is no reason to stop: pacing still applies, and
                // a create that hits the quota marks the location unavailable.
                Err(_) => spillway_aci::burst_headroom(pacing, None, priority),
            }
        })
    }
}

/// Fresh pacing with cached quota.
trait MergeQuota {
    fn merge_quota(self, quota: BurstHeadroom) -> BurstHeadroom;
}

impl MergeQuota for BurstHeadroom {
    fn merge_quota(self, quota: BurstHeadroom) -> BurstHeadroom {
        BurstHeadroom {
            groups: quota.groups,
            cores_millis: quota.cores_millis,
            ..self
        }
    }
}
