//! The controller: one task per enabled policy ticking on its interval,
//! restarted when its policy changes, stopped when it goes; orphans
//! collected periodically.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use spillway_core::config::{LoadedConfig, Policy};
use spillway_core::plan::{DeleteGroup, Plan, PolicyState};
use spillway_core::time::Timestamp;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::clock::Clock;
use crate::inventory::Inventory;
use crate::leader::LeaderGate;
use crate::seams::Swappable;
use crate::seams::burst::BurstBackend;
use crate::seams::cluster::ClusterView;
use crate::seams::metrics::MetricSource;
use crate::status::StatusBoard;
use crate::telemetry::Metrics;
use crate::tick::TickError;

/// Knobs of the loop itself.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Plan, log and export metrics; never write.
    pub dry_run: bool,
    /// Each metric read's timeout.
    pub metric_timeout: Duration,
    /// Concurrent container-group writes per tick.
    pub write_concurrency: usize,
    /// Metric reads in flight at once, over all policies.
    pub metric_concurrency: usize,
    /// How often orphaned groups (of removed policies) are looked for.
    pub gc_interval: Duration,
    /// Ticks within this of a container-group list share it.
    pub list_ttl: Duration,
    /// How long a quota/capacity error keeps a location out.
    pub location_unavailable_for: Duration,
    /// Longest wait between creates after repeated create failures.
    pub max_create_backoff: Duration,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            dry_run: false,
            metric_timeout: Duration::from_secs(10),
            write_concurrency: 8,
            metric_concurrency: 16,
            gc_interval: Duration::from_secs(30),
            list_ttl: Duration::from_secs(2),
            location_unavailable_for: Duration::from_secs(300),
            max_create_backoff: Duration::from_secs(300),
        }
    }
}

/// The loop over the three seams. `T` is the cluster view's template type,
/// which the burst backend translates.
pub struct Controller<T> {
    pub cluster: Arc<dyn ClusterView<Template = T>>,
    /// Replaced when `metricSources` changes (live reload).
    pub metrics_source: Swappable<dyn MetricSource>,
    /// Replaced when `azure` changes (live reload).
    pub backend: Swappable<dyn BurstBackend<T>>,
    pub inventory: Inventory,
    pub telemetry: Metrics,
    pub status: Arc<StatusBoard>,
    pub leader: LeaderGate,
    pub options: ControllerOptions,
    pub clock: Clock,
    rebuild: Option<Arc<dyn Rebuild<T>>>,
    pub(crate) writes: Semaphore,
    pub(crate) metric_reads: Semaphore,
}

/// What one policy carries between ticks.
pub struct PolicyRuntime {
    pub policy: Arc<Policy>,
    pub state: PolicyState,
    pub last_tick: Option<Timestamp>,
    pub(crate) create_failures: u32,
    pub(crate) creates_blocked_until: Option<Timestamp>,
    /// Groups seen provisioning, for the provisioning-latency histogram.
    pub(crate) provisioning: BTreeMap<String, Timestamp>,
    /// This tick's claim: the standby pool's name and the profile revision
    /// it uses, when the pool is in step with the template (issue 16).
    pub(crate) claim: Option<(String, Option<i64>)>,
    /// The last `burst.zones: auto` failure reported, so that a lasting
    /// one is logged once, not every tick.
    pub(crate) zones_error: Option<String>,
    /// Last tick's inventory, reused while the listing is the same one.
    pub(crate) inventory: Option<crate::inventory::PolicyInventory>,
}

impl PolicyRuntime {
    pub fn new(policy: Arc<Policy>) -> Self {
        PolicyRuntime {
            policy,
            state: PolicyState::default(),
            last_tick: None,
            create_failures: 0,
            creates_blocked_until: None,
            provisioning: BTreeMap::new(),
            claim: None,
            zones_error: None,
            inventory: None,
        }
    }
}

/// Builds the seams that depend on the configuration document, so that a
/// changed `azure` (endpoint, auth, rate limits, ...) or `metricSources`
/// section takes effect without a restart.
pub trait Rebuild<T>: Send + Sync {
    fn backend(&self, config: &LoadedConfig) -> Result<Arc<dyn BurstBackend<T>>, String>;
    fn metric_source(&self, config: &LoadedConfig) -> Result<Arc<dyn MetricSource>, String>;
}

/// What a controller is built from: the three seams and the process's
/// telemetry, leadership and clock.
pub struct Parts<T> {
    pub cluster: Arc<dyn ClusterView<Template = T>>,
    pub metrics_source: Arc<dyn MetricSource>,
    pub backend: Arc<dyn BurstBackend<T>>,
    pub telemetry: Metrics,
    pub status: Arc<StatusBoard>,
    pub leader: LeaderGate,
    pub clock: Clock,
    /// `None`: the seams never change (the simulator, `spillway plan`).
    pub rebuild: Option<Arc<dyn Rebuild<T>>>,
}

impl<T: Send + Sync + 'static> Controller<T> {
    pub fn new(parts: Parts<T>, options: ControllerOptions) -> Self {
        let writes = Semaphore::new(options.write_concurrency.max(1));
        let metric_reads = Semaphore::new(options.metric_concurrency.max(1));
        parts.status.set_generation("burstBackend", 1);
        parts.status.set_generation("metricSources", 1);
        Controller {
            cluster: parts.cluster,
            metrics_source: Swappable::new(parts.metrics_source),
            backend: Swappable::new(parts.backend),
            inventory: Inventory::new(options.list_ttl, options.location_unavailable_for),
            telemetry: parts.telemetry,
            status: parts.status,
            leader: parts.leader,
            options,
            clock: parts.clock,
            rebuild: parts.rebuild,
            writes,
            metric_reads,
        }
    }

    /// Installs a burst backend built from a changed configuration. Ticks in
    /// flight finish on the old one; the next list comes from the new one.
    pub fn replace_backend(&self, next: Arc<dyn BurstBackend<T>>) -> u64 {
        let generation = self.backend.replace(next);
        self.inventory.invalidate_soon();
        self.status.set_generation("burstBackend", generation);
        info!(generation, "burst backend replaced (configuration changed)");
        generation
    }

    /// Installs metric sources built from a changed configuration.
    pub fn replace_metric_source(&self, next: Arc<dyn MetricSource>) -> u64 {
        let generation = self.metrics_source.replace(next);
        self.status.set_generation("metricSources", generation);
        info!(generation, "metric sources replaced (configuration changed)");
        generation
    }

    /// Writes are allowed: not a dry run, and this process leads.
    pub fn may_write(&self) -> bool {
        !self.options.dry_run && self.leader.is_leader()
    }

    /// Runs until `cancel`: one task per enabled policy, restarted when its
    /// policy changes, stopped when it goes; orphans collected periodically.
    pub async fn run(
        self: Arc<Self>,
        mut config: watch::Receiver<Option<Arc<LoadedConfig>>>,
        mut valid: watch::Receiver<bool>,
        cancel: CancellationToken,
    ) {
        let mut tasks: BTreeMap<String, (Arc<Policy>, CancellationToken, JoinHandle<()>)> = BTreeMap::new();
        let mut gc = tokio::time::interval(self.options.gc_interval);
        gc.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut current: Option<Arc<LoadedConfig>> = None;
        loop {
            // Validity first: the sources publish it before the document, and
            // `/status` must never show a valid document as loaded but invalid.
            let is_valid = *valid.borrow_and_update();
            self.telemetry.config_valid.set(if is_valid { 1.0 } else { 0.0 });
            self.status.set_config_valid(is_valid);
            let changed = config.borrow_and_update().clone();
            if let Some(loaded) = changed
                && current.as_ref().is_none_or(|c| !Arc::ptr_eq(c, &loaded))
            {
                if let Some(previous) = &current {
                    self.rebuild_seams(previous, &loaded);
                }
                self.apply_config(&loaded, &mut tasks, &cancel);
                current = Some(loaded);
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = config.changed() => if r.is_err() { cancel.cancelled().await; break },
                r = valid.changed() => if r.is_err() { cancel.cancelled().await; break },
                _ = gc.tick() => {
                    if let Some(c) = &current {
                        self.collect_orphans(c).await;
                    }
                }
            }
        }
        for (_, (_, token, handle)) in tasks {
            token.cancel();
            let _ = handle.await;
        }
    }

    /// Rebuilds the clients whose configuration section changed. A section
    /// that cannot be built (say, an unreadable secret file) keeps the old
    /// client and is reported; the document itself was already validated.
    fn rebuild_seams(&self, previous: &LoadedConfig, next: &LoadedConfig) {
        let Some(rebuild) = &self.rebuild else { return };
        if previous.global.azure != next.global.azure {
            match rebuild.backend(next) {
                Ok(b) => {
                    self.replace_backend(b);
                }
                Err(e) => self.rebuild_failed("azure", &e),
            }
        }
        let auth = |c: &LoadedConfig| c.global.azure.as_ref().map(|a| a.auth.clone());
        if previous.global.metric_sources != next.global.metric_sources || auth(previous) != auth(next) {
            match rebuild.metric_source(next) {
                Ok(m) => {
                    self.replace_metric_source(m);
                }
                Err(e) => self.rebuild_failed("metricSources", &e),
            }
        }
    }

    fn rebuild_failed(&self, section: &str, error: &str) {
        warn!(
            section,
            error, "cannot rebuild the client of a changed section; the previous one keeps running"
        );
        self.status
            .record_config_note(format!("{section}: {error}; the previous client keeps running"));
    }

    fn apply_config(
        self: &Arc<Self>,
        loaded: &Arc<LoadedConfig>,
        tasks: &mut BTreeMap<String, (Arc<Policy>, CancellationToken, JoinHandle<()>)>,
        cancel: &CancellationToken,
    ) {
        self.status.set_config(true, loaded.errors().cloned().collect());
        let mut wanted: BTreeMap<String, Arc<Policy>> = BTreeMap::new();
        for outcome in &loaded.policies {
            let name = outcome
                .name
                .clone()
                .unwrap_or_else(|| format!("policies[{}]", outcome.index));
            match &outcome.result {
                Ok(p) => {
                    self.telemetry.policy_enabled.with_label_values(&[&name]).set(1.0);
                    self.status
                        .set_policy_enabled(&name, true, Vec::new(), self.options.dry_run);
                    wanted.insert(name, p.clone());
                }
                Err(errors) => {
                    self.telemetry.policy_enabled.with_label_values(&[&name]).set(0.0);
                    let reasons = errors.iter().map(|e| e.to_string()).collect();
                    self.status
                        .set_policy_enabled(&name, false, reasons, self.options.dry_run);
                    warn!(policy = %name, "policy disabled by configuration errors");
                }
            }
        }
        let known: BTreeSet<String> = loaded.policies.iter().filter_map(|p| p.name.clone()).collect();
        let mut removed = Vec::new();
        // A replaced task may be in the middle of a tick (cancellation is seen
        // between ticks): its successor waits for it, so that two ticks of one
        // policy never plan and write at the same time.
        let mut finishing: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
        let stale: Vec<String> = tasks
            .iter()
            .filter(|(name, (policy, _, _))| !wanted.get(*name).is_some_and(|p| **p == **policy))
            .map(|(name, _)| name.clone())
            .collect();
        for name in stale {
            let Some((policy, token, handle)) = tasks.remove(&name) else {
                continue;
            };
            token.cancel();
            if known.contains(&name) {
                finishing.insert(name, handle);
            } else {
                self.telemetry.forget_policy(&name, policy.metrics.len());
                removed.push(policy);
            }
        }
        for policy in removed
            .into_iter()
            .filter(|p| p.burst.as_ref().is_some_and(|b| b.service.is_some()))
        {
            let me = self.clone();
            tokio::spawn(async move {
                if me.may_write()
                    && let Err(e) = me
                        .cluster
                        .remove_endpoints(&policy.name, &policy.target.namespace)
                        .await
                {
                    warn!(policy = %policy.name, error = %e, "removing the EndpointSlice of a removed policy failed");
                }
            });
        }
        self.status
            .retain_policies(|n| known.contains(n) || n.starts_with("policies["));
        for (name, policy) in wanted {
            if tasks.contains_key(&name) {
                continue;
            }
            info!(policy = %name, interval = ?policy.interval, "policy active");
            self.telemetry.init_policy(&name, policy.metrics.len());
            let token = cancel.child_token();
            let me = self.clone();
            let previous = finishing.remove(&name);
            let handle = tokio::spawn(me.policy_loop(policy.clone(), token.clone(), previous));
            tasks.insert(name, (policy, token, handle));
        }
    }

    async fn policy_loop(
        self: Arc<Self>,
        policy: Arc<Policy>,
        cancel: CancellationToken,
        previous: Option<JoinHandle<()>>,
    ) {
        if let Some(previous) = previous {
            let _ = previous.await;
        }
        let mut rt = PolicyRuntime::new(policy.clone());
        let span = info_span!("policy", policy = %policy.name);
        let mut ticker = tokio::time::interval(policy.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    let _ = self.tick(&mut rt).instrument(span.clone()).await;
                }
            }
        }
    }

    /// One planning pass over every valid policy, without writes (`spillway plan`).
    pub async fn plan_once(&self, loaded: &LoadedConfig) -> Vec<(String, Result<Plan, TickError>)> {
        let mut out = Vec::new();
        for p in loaded.valid_policies() {
            let mut rt = PolicyRuntime::new(p.clone());
            let result = self
                .tick(&mut rt)
                .instrument(info_span!("policy", policy = %p.name))
                .await;
            out.push((p.name.clone(), result));
        }
        out
    }

    /// Deletes this cluster's groups whose policy is gone from the configuration.
    pub async fn collect_orphans(&self, loaded: &LoadedConfig) {
        if !self.may_write() {
            return;
        }
        let now = (self.clock)();
        let cluster_id = &loaded.global.cluster.id;
        let backend = self.backend.get();
        let listing = match self.inventory.listing(&*backend, cluster_id, now).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "listing container groups for garbage collection failed");
                return;
            }
        };
        let names: BTreeSet<&str> = loaded.policies.iter().filter_map(|p| p.name.as_deref()).collect();
        let doomed: Vec<DeleteGroup> =
            spillway_core::plan::orphans(listing.iter().map(|g| (g.policy.as_deref(), &g.replica)), &names);
        for d in &doomed {
            info!(group = %d.name, "deleting orphaned container group (its policy is gone)");
            if let Err(e) = backend.delete(&d.name).await {
                warn!(group = %d.name, error = %e, "orphan delete failed; retrying next pass");
            }
        }
        if !doomed.is_empty() {
            self.inventory.invalidate().await;
        }
        self.collect_orphan_pools(loaded, &*backend).await;
    }

    /// Deletes this cluster's standby pools (then profiles) that no policy
    /// wants any more: its policy is gone, or its `burst.standbyPool` was
    /// removed or renamed. A policy disabled by errors keeps its pool.
    async fn collect_orphan_pools(&self, loaded: &LoadedConfig, backend: &dyn BurstBackend<T>) {
        let keep: crate::seams::pool::PoolKeep = loaded
            .policies
            .iter()
            .filter_map(|p| {
                let name = p.name.clone()?;
                Some(match &p.result {
                    Ok(policy) => (
                        name,
                        Some(
                            policy
                                .burst
                                .as_ref()
                                .and_then(|b| b.standby_pool.as_ref())
                                .map(|pool| pool.name.clone())
                                .unwrap_or_default(),
                        ),
                    ),
                    Err(_) => (name, None),
                })
            })
            .collect();
        match backend.sweep_pools(&loaded.global.cluster.id, &keep).await {
            Ok(deleted) if !deleted.is_empty() => info!(?deleted, "standby pools and profiles collected"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "standby pool garbage collection failed; retrying next pass"),
        }
    }
}
