//! Carries a plan out, idempotently: every write can be repeated after a
//! crash without harm (scale to a value, PUT under a deterministic name,
//! DELETE of a name, server-side apply of the EndpointSlice).

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use spillway_aci::translate::{MapResolver, Network};
use spillway_core::burst::BurstState;
use spillway_core::config::Policy;
use spillway_core::plan::{CreateGroup, Plan};
use spillway_core::time::Timestamp;
use spillway_kube::endpoints::BurstEndpoint;
use spillway_kube::events::plan_notices;
use spillway_kube::refs::ResolvedRefs;
use tracing::{info, warn};

use super::backend::{CreateRequest, ListedGroup};
use super::{Controller, PolicyRuntime};

const MAX_CREATE_BACKOFF: Duration = Duration::from_secs(300);

impl Controller {
    pub(super) async fn execute(
        &self,
        rt: &mut PolicyRuntime,
        plan: &Plan,
        mine: &[ListedGroup],
        now: Timestamp,
    ) {
        let policy = rt.policy.clone();
        if let Some(change) = plan.scale {
            match self.cluster.scale(&policy.name, &policy.target, change.to).await {
                Ok(_) => info!(from = change.from, to = change.to, "scaled the Deployment"),
                Err(e) => self.write_failed(&policy, "scale", &e.to_string(), e.label()),
            }
        }

        let mut wrote = false;
        let deletes = plan.deletes.iter().map(|d| async move {
            let _permit = self.writes.acquire().await;
            (d, self.inventory.backend().delete(&d.name).await)
        });
        for (d, result) in join_all(deletes).await {
            wrote = true;
            match result {
                Ok(()) => info!(group = %d.name, cause = ?d.cause, "deleting container group"),
                Err(e) => self.write_failed(&policy, "delete", &format!("{}: {e}", d.name), e.label()),
            }
        }

        if !plan.creates.is_empty() {
            wrote = true;
            self.create_all(rt, &plan.creates, now).await;
        }

        if let Some(service) = policy.burst.as_ref().and_then(|b| b.service.as_deref()) {
            let deleted: Vec<&str> = plan.deletes.iter().map(|d| d.name.as_str()).collect();
            let endpoints: Vec<BurstEndpoint> = mine
                .iter()
                .filter(|g| !deleted.contains(&g.replica.name.as_str()))
                .filter_map(|g| {
                    Some(BurstEndpoint {
                        name: g.replica.name.clone(),
                        ip: g.ip.clone()?,
                        ready: g.replica.state == BurstState::Ready,
                        draining: rt.state.is_draining(&g.replica.name),
                    })
                })
                .collect();
            if let Err(e) = self
                .cluster
                .publish_endpoints(&policy.name, &policy.target, service, &endpoints)
                .await
            {
                self.write_failed(&policy, "endpoints", &e.to_string(), e.label());
            }
        }

        let notices = plan_notices(plan);
        if !notices.is_empty()
            && let Err(e) = self.cluster.record(&policy.name, &policy.target, &notices).await
        {
            warn!(error = %e, "publishing Events failed");
        }
        if wrote {
            self.inventory.invalidate().await;
        }
    }

    async fn create_all(&self, rt: &mut PolicyRuntime, creates: &[CreateGroup], now: Timestamp) {
        let policy = rt.policy.clone();
        let Some(burst) = policy.burst.as_ref() else {
            return;
        };
        let template = match self.cluster.pod_template(&policy.target) {
            Ok(t) => t,
            Err(e) => return self.write_failed(&policy, "create", &e.to_string(), e.label()),
        };
        let resolver = match self
            .cluster
            .resolve_refs(&policy.target.namespace, &template)
            .await
        {
            Ok(refs) => resolver_from(refs),
            Err(e) => return self.write_failed(&policy, "create", &e.to_string(), e.label()),
        };
        let network = match &burst.subnet_id {
            Some(subnet_id) => Network::Private {
                subnet_id: subnet_id.clone(),
            },
            None => Network::Public { dns_name_label: None },
        };
        let results = join_all(creates.iter().map(|group| {
            let req = CreateRequest {
                cluster_id: &policy.cluster_id,
                policy: &policy.name,
                namespace: &policy.target.namespace,
                group,
                template: &template,
                resolver: &resolver,
                network: network.clone(),
                priority: burst.priority,
            };
            async move {
                let _permit = self.writes.acquire().await;
                (group, self.inventory.backend().create(req).await)
            }
        }))
        .await;
        let mut failed = false;
        for (group, result) in results {
            match result {
                Ok(()) => {
                    info!(group = %group.name, location = %group.location, "creating container group");
                    // Timed from the create, also when it is Ready before the next list.
                    rt.provisioning.insert(group.name.clone(), now);
                }
                Err(e) => {
                    if e.location_unavailable() {
                        self.inventory.mark_unavailable(&group.location, e.label());
                    } else {
                        failed = true;
                    }
                    self.write_failed(&policy, "create", &format!("{}: {e}", group.name), e.label());
                }
            }
        }
        if failed {
            // A failed create is a failed replica: retried, with backoff.
            rt.create_failures = rt.create_failures.saturating_add(1);
            let backoff =
                (policy.interval * 2u32.saturating_pow(rt.create_failures.min(8))).min(MAX_CREATE_BACKOFF);
            rt.creates_blocked_until = Some(now + backoff);
        } else {
            rt.create_failures = 0;
            rt.creates_blocked_until = None;
        }
    }

    fn write_failed(&self, policy: &Policy, what: &str, message: &str, label: &str) {
        warn!(write = what, error = message, "write failed");
        self.telemetry
            .reconcile_errors
            .with_label_values(&[&policy.name, label])
            .inc();
        self.status
            .record_error(&policy.name, format!("{what}: {message}"));
    }
}

/// The translation's view of the referenced Secrets and ConfigMaps.
fn resolver_from(refs: ResolvedRefs) -> MapResolver {
    let mut r = MapResolver::default();
    for (name, data) in refs.secrets {
        r.secrets.insert(
            name.clone(),
            Secret {
                metadata: ObjectMeta {
                    name: Some(name),
                    ..ObjectMeta::default()
                },
                data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
                ..Secret::default()
            },
        );
    }
    for (name, data) in refs.config_maps {
        r.config_maps.insert(
            name.clone(),
            ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name),
                    ..ObjectMeta::default()
                },
                data: Some(data),
                ..ConfigMap::default()
            },
        );
    }
    r
}
