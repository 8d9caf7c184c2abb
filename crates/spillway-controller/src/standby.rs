//! Each tick of a policy with `burst.standbyPool`: keep the pool and its
//! container group profile in step through the backend, read the pool's
//! runtime view into `/status` and the metrics, and decide whether this
//! tick's creates claim from the pool (only when it is in step with the
//! template the creates use).

use spillway_core::config::Policy;
use spillway_core::plan::Plan;
use tracing::{debug, warn};

use crate::controller::{Controller, PolicyRuntime};
use crate::seams::burst::BurstBackend;
use crate::seams::cluster::TemplateRefs;
use crate::seams::pool::PoolSync;

impl<T: Send + Sync + 'static> Controller<T> {
    pub(super) async fn sync_standby(
        &self,
        rt: &mut PolicyRuntime,
        policy: &Policy,
        plan: &Plan,
        template: &T,
        template_hash: &str,
        backend: &dyn BurstBackend<T>,
    ) {
        rt.claim = None;
        let (Some(burst), Some(size)) = (policy.burst.as_ref(), plan.standby.as_ref()) else {
            self.status.record_pool(&policy.name, None);
            return;
        };
        let (Some(pool), Some(location)) = (burst.standby_pool.as_ref(), burst.locations.first()) else {
            return;
        };
        let write = self.may_write();
        let refs = if write {
            match self
                .cluster
                .resolve_refs(&policy.target.namespace, template)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    self.pool_failed(policy, &e.to_string(), e.label());
                    return;
                }
            }
        } else {
            TemplateRefs::default()
        };
        let req = PoolSync {
            cluster_id: &policy.cluster_id,
            policy: &policy.name,
            namespace: &policy.target.namespace,
            pool,
            desired: size.desired,
            template,
            template_hash,
            refs: &refs,
            location,
            subnet_id: burst.subnet_id.as_deref(),
            priority: burst.priority,
            write,
        };
        match backend.sync_pool(req).await {
            Ok(seen) => {
                debug!(
                    pool = %pool.name,
                    desired = size.desired,
                    ready = seen.ready,
                    creating = seen.creating,
                    in_step = seen.in_step,
                    "standby pool"
                );
                self.telemetry.standby.observe(&policy.name, size.desired, &seen);
                if seen.in_step {
                    rt.claim = Some((pool.name.clone(), seen.revision));
                }
                self.status.record_pool(&policy.name, Some(seen));
            }
            Err(e) => {
                if !e.is_not_leader() {
                    self.pool_failed(policy, &e.to_string(), e.label());
                }
            }
        }
    }

    fn pool_failed(&self, policy: &Policy, message: &str, label: &str) {
        warn!(
            error = message,
            "standby pool sync failed; creates do not claim this tick"
        );
        self.telemetry
            .reconcile_errors
            .with_label_values(&[&policy.name, label])
            .inc();
        self.status
            .record_error(&policy.name, format!("standby pool: {message}"));
    }
}
