//! The ARM implementation of the controller's `BurstBackend` seam
//! (`spillway_controller::BurstBackend`, docs/architecture.md): list, create
//! and delete this cluster's container groups. The pod template arrives as
//! the Kubernetes `PodTemplateSpec` the kube adapter read, with the Secrets
//! and ConfigMaps it references, and is translated here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use spillway_controller::{
    BurstBackend, CreateRequest, ListedGroup, PoolKeep, PoolObserved, PoolSync, SeamError, TemplateRefs,
    ZoneCache, ZonesAnswer,
};
use spillway_core::burst::{BurstHeadroom, BurstReplica};
use spillway_core::config::AciPriority;
use spillway_core::time::Timestamp;

use crate::inventory::{self, HealthRules, Owned};
use crate::translate::{self, GroupSpec, MapResolver, Network};
use crate::{AciClient, AciError, DeleteOutcome};

fn seam(e: AciError) -> SeamError {
    match e {
        AciError::NotLeader => SeamError::not_leader(),
        e @ AciError::CapacityUnavailable { .. } => SeamError::capacity_unavailable(e.metric_label(), e),
        e if e.makes_location_unavailable() => SeamError::location_unavailable(e.metric_label(), e),
        e => SeamError::new(e.metric_label(), e),
    }
}

/// The ARM implementation over [`AciClient`].
pub struct AciBackend {
    client: AciClient,
    health: HealthRules,
    /// Regional usages change slowly; read them at most every `usage_ttl`.
    usage_ttl: Duration,
    usages: Mutex<BTreeMap<(String, bool), (Instant, BurstHeadroom)>>,
    /// Claims from each policy's standby pool since its last sync: (hit, miss).
    claims: Mutex<BTreeMap<String, (u32, u32)>>,
    /// `burst.zones: auto`: each location's zones, kept an hour.
    zones: ZoneCache,
}

impl AciBackend {
    pub fn new(client: AciClient) -> Self {
        AciBackend {
            client,
            health: HealthRules::default(),
            usage_ttl: Duration::from_secs(30),
            usages: Mutex::new(BTreeMap::new()),
            claims: Mutex::new(BTreeMap::new()),
            zones: ZoneCache::default(),
        }
    }
}

impl BurstBackend<PodTemplateSpec> for AciBackend {
    fn list<'a>(
        &'a self,
        cluster_id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Arc<Vec<ListedGroup>>, SeamError>> {
        Box::pin(async move {
            let groups = self.client.list().await.map_err(seam)?;
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
                            zone: None,
                            state: spillway_core::burst::BurstState::Failed,
                            created_at: now,
                        },
                        ip: None,
                    },
                })
                .collect::<Vec<_>>()
                .into())
        })
    }

    fn create<'a>(&'a self, req: CreateRequest<'a, PodTemplateSpec>) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            let network = match req.subnet_id {
                Some(subnet_id) => Network::Private {
                    subnet_id: subnet_id.to_string(),
                },
                None => Network::Public { dns_name_label: None },
            };
            let spec = GroupSpec {
                cluster_id: req.cluster_id.to_string(),
                policy: req.policy.to_string(),
                ordinal: req.group.ordinal,
                template_hash: req.group.template_hash.clone(),
                namespace: req.namespace.to_string(),
                location: req.group.location.clone(),
                network,
                priority: req.priority,
                limits: None,
                zone: req.group.zone.clone(),
                cluster_dns: req.dns.cloned(),
            };
            let resolver = resolver_from(req.refs);
            let mut translated = translate::translate(req.template, &spec, &resolver)
                .map_err(|e| SeamError::new(e.metric_label(), e))?;
            if let Some(claim) = req.standby {
                translate::profile::claim(
                    &mut translated.body,
                    self.client.profile_id(claim.pool),
                    claim.revision,
                    self.client.pool_id(claim.pool),
                );
            }
            let accepted = self
                .client
                .begin_create_or_update(&translated.name, &translated.body)
                .await
                .map_err(seam)?;
            if req.standby.is_some() {
                let hit = accepted
                    .initial
                    .as_ref()
                    .and_then(|g| g.properties.is_created_from_standby_pool)
                    .unwrap_or(false);
                tracing::info!(group = %translated.name, from_pool = hit, "claimed from the standby pool");
                if let Ok(mut m) = self.claims.lock() {
                    let e = m.entry(req.policy.to_string()).or_default();
                    if hit {
                        e.0 += 1;
                    } else {
                        e.1 += 1;
                    }
                }
            }
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            match self.client.begin_delete(name).await.map_err(seam)? {
                DeleteOutcome::Deleted | DeleteOutcome::AlreadyGone | DeleteOutcome::InProgress => Ok(()),
            }
        })
    }

    fn zones<'a>(&'a self, location: &'a str, now: Timestamp) -> BoxFuture<'a, ZonesAnswer> {
        Box::pin(async move {
            self.zones
                .get(location, now, async {
                    self.client.zones_of(location).await.map_err(seam)
                })
                .await
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
                return crate::burst_headroom(pacing, None, priority).merge_quota(h);
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
                Err(_) => crate::burst_headroom(pacing, None, priority),
            }
        })
    }

    fn sync_pool<'a>(
        &'a self,
        req: PoolSync<'a, PodTemplateSpec>,
    ) -> BoxFuture<'a, Result<PoolObserved, SeamError>> {
        Box::pin(async move {
            let policy = req.policy.to_string();
            let mut observed = crate::pool_sync::sync(&self.client, req).await?;
            if let Some((hit, miss)) = self.claims.lock().ok().and_then(|mut m| m.remove(&policy)) {
                observed.claims_hit = hit;
                observed.claims_miss = miss;
            }
            Ok(observed)
        })
    }

    fn sweep_pools<'a>(
        &'a self,
        cluster_id: &'a str,
        keep: &'a PoolKeep,
    ) -> BoxFuture<'a, Result<Vec<String>, SeamError>> {
        Box::pin(crate::pool_sync::sweep(&self.client, cluster_id, keep))
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

/// The translation's view of the referenced Secrets and ConfigMaps.
pub(crate) fn resolver_from(refs: &TemplateRefs) -> MapResolver {
    let mut r = MapResolver::default();
    for (name, data) in &refs.secrets {
        r.secrets.insert(
            name.clone(),
            Secret {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..ObjectMeta::default()
                },
                data: Some(
                    data.iter()
                        .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                        .collect(),
                ),
                ..Secret::default()
            },
        );
    }
    for (name, data) in &refs.config_maps {
        r.config_maps.insert(
            name.clone(),
            ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..ObjectMeta::default()
                },
                data: Some(data.clone()),
                ..ConfigMap::default()
            },
        );
    }
    r
}
