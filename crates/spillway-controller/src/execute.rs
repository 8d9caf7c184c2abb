//! Carries a plan out, idempotently: every write can be repeated after a
//! crash without harm (scale to a value, PUT under a deterministic name,
//! DELETE of a name, server-side apply of the EndpointSlice).

use futures::future::join_all;
use spillway_core::burst::BurstState;
use spillway_core::config::Policy;
use spillway_core::plan::{CreateGroup, Plan};
use spillway_core::time::Timestamp;
use tracing::{info, warn};

use crate::controller::{Controller, PolicyRuntime};
use crate::seams::burst::{BurstBackend, CreateRequest, ListedGroup};
use crate::seams::cluster::BurstEndpoint;
use crate::seams::pool::StandbyClaim;

impl<T: Send + Sync + 'static> Controller<T> {
    pub(super) async fn execute(
        &self,
        rt: &mut PolicyRuntime,
        plan: &Plan,
        mine: &[&ListedGroup],
        template: &T,
        backend: &dyn BurstBackend<T>,
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
            (d, backend.delete(&d.name).await)
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
            self.create_all(rt, &plan.creates, template, backend, now).await;
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

        if let Err(e) = self.cluster.record(&policy.name, &policy.target, plan).await {
            warn!(error = %e, "publishing Events failed");
        }
        if wrote {
            self.inventory.invalidate().await;
        }
    }

    async fn create_all(
        &self,
        rt: &mut PolicyRuntime,
        creates: &[CreateGroup],
        template: &T,
        backend: &dyn BurstBackend<T>,
        now: Timestamp,
    ) {
        let policy = rt.policy.clone();
        let Some(burst) = policy.burst.as_ref() else {
            return;
        };
        let refs = match self
            .cluster
            .resolve_refs(&policy.target.namespace, template)
            .await
        {
            Ok(refs) => refs,
            Err(e) => return self.write_failed(&policy, "create", &e.to_string(), e.label()),
        };
        let dns = match burst
            .dns
            .as_ref()
            .map(|d| d.resolve(|ns, name| self.cluster.service_cluster_ip(ns, name)))
        {
            None => None,
            Some(Ok(dns)) => Some(dns),
            // A replica that cannot resolve the cluster's names would fail
            // its requests: no create until the DNS Service is known.
            Some(Err(message)) => return self.write_failed(&policy, "create", &message, "dns_unresolved"),
        };
        let results = join_all(creates.iter().map(|group| {
            let req = CreateRequest {
                cluster_id: &policy.cluster_id,
                policy: &policy.name,
                namespace: &policy.target.namespace,
                group,
                template,
                refs: &refs,
                subnet_id: burst.subnet_id.as_deref(),
                priority: burst.priority,
                dns: dns.as_ref(),
                // The pool lives in the primary location; a create that
                // fell back to another location cannot claim from it (ACI
                // answers 400 StandbyPoolProfileMismatch).
                standby: rt
                    .claim
                    .as_ref()
                    .filter(|_| {
                        burst
                            .locations
                            .first()
                            .is_some_and(|l| l.eq_ignore_ascii_case(&group.location))
                    })
                    .map(|(pool, revision)| StandbyClaim {
                        pool: pool.as_str(),
                        revision: *revision,
                    }),
            };
            async move {
                let _permit = self.writes.acquire().await;
                (group, backend.create(req).await)
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
                    if let (true, Some(zone)) = (e.is_capacity(), &group.zone) {
                        // A zone without capacity says nothing of the others.
                        let key = spillway_core::burst::zone_key(&group.location, zone);
                        self.inventory.mark_unavailable(&key, e.label(), now);
                    } else if e.makes_location_unavailable() {
                        self.inventory.mark_unavailable(&group.location, e.label(), now);
                    } else if !e.is_not_leader() {
                        failed = true;
                    }
                    self.write_failed(&policy, "create", &format!("{}: {e}", group.name), e.label());
                }
            }
        }
        if failed {
            // A failed create is a failed replica: retried, with backoff.
            rt.create_failures = rt.create_failures.saturating_add(1);
            let backoff = (policy.interval * 2u32.saturating_pow(rt.create_failures.min(8)))
                .min(self.options.max_create_backoff);
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
