//! The controller loop, written once against the three seams (DESIGN.md §9):
//! [`ClusterView`], [`MetricSource`] and [`BurstBackend`]. `spillway run`
//! plugs in kube-rs, Prometheus and ARM; `spillway demo` a simulated cluster,
//! a replayed demand and the ACI emulator.

pub mod backend;
mod execute;
pub mod inventory;
pub mod status;
mod tick;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use spillway_core::config::{LoadedConfig, Policy};
use spillway_core::plan::{DeleteGroup, Plan, PolicyState};
use spillway_core::time::Timestamp;
use spillway_kube::lease::LeaderGate;
use spillway_kube::view::ClusterView;
use spillway_metrics::source::MetricSource;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::telemetry::Metrics;

pub use tick::TickError;

use backend::BurstBackend;
use inventory::Inventory;
use status::StatusBoard;

/// Knobs of the loop itself.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Plan, log and export metrics; never write.
    pub dry_run: bool,
    /// Each metric read's timeout.
    pub metric_timeout: Duration,
    /// Concurrent container-group writes per tick.
    pub write_concurrency: usize,
    /// How often orphaned groups (of removed policies) are looked for.
    pub gc_interval: Duration,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            dry_run: false,
            metric_timeout: Duration::from_secs(10),
            write_concurrency: 8,
            gc_interval: Duration::from_secs(30),
        }
    }
}

/// The wall clock, or a test's.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    })
}

pub struct Controller {
    pub cluster: Arc<dyn ClusterView>,
    pub metrics_source: Arc<dyn MetricSource>,
    pub inventory: Inventory,
    pub telemetry: Metrics,
    pub status: Arc<StatusBoard>,
    pub leader: LeaderGate,
    pub options: ControllerOptions,
    pub clock: Clock,
    writes: Semaphore,
}

/// What one policy carries between ticks.
pub struct PolicyRuntime {
    pub policy: Arc<Policy>,
    pub state: PolicyState,
    pub last_tick: Option<Timestamp>,
    create_failures: u32,
    creates_blocked_until: Option<Timestamp>,
    /// Groups seen provisioning, for the provisioning-latency histogram.
    provisioning: BTreeMap<String, Timestamp>,
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
        }
    }
}

/// What a controller is built from: the three seams and the process's
/// telemetry, leadership and clock.
pub struct Parts {
    pub cluster: Arc<dyn ClusterView>,
    pub metrics_source: Arc<dyn MetricSource>,
    pub backend: Arc<dyn BurstBackend>,
    pub telemetry: Metrics,
    pub status: Arc<StatusBoard>,
    pub leader: LeaderGate,
    pub clock: Clock,
}

impl Controller {
    pub fn new(parts: Parts, options: ControllerOptions) -> Self {
        let writes = Semaphore::new(options.write_concurrency.max(1));
        Controller {
            cluster: parts.cluster,
            metrics_source: parts.metrics_source,
            inventory: Inventory::new(parts.backend, Duration::from_secs(2), Duration::from_secs(300)),
            telemetry: parts.telemetry,
            status: parts.status,
            leader: parts.leader,
            options,
            clock: parts.clock,
            writes,
        }
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
            self.telemetry.init_policy(&name);
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
        let listing = match self.inventory.listing(cluster_id, now).await {
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
            if let Err(e) = self.inventory.backend().delete(&d.name).await {
                warn!(group = %d.name, error = %e, "orphan delete failed; retrying next pass");
            }
        }
        if !doomed.is_empty() {
            self.inventory.invalidate().await;
        }
    }
}
