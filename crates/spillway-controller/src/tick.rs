//! One tick of one policy: sample → snapshot → list → plan → execute.

use std::time::Instant;

use futures::future::join_all;
use spillway_core::burst::{BurstHeadroom, BurstState};
use spillway_core::config::{MetricSpec, Policy};
use spillway_core::forecast::SeasonHistory;
use spillway_core::metrics::{MetricReading, MetricSample};
use spillway_core::plan::{Plan, PlanInput};
use spillway_core::time::Timestamp;
use tracing::{debug, info, warn};

use crate::controller::{Controller, PolicyRuntime};
use crate::seams::SeamError;
use crate::seams::burst::ListedGroup;
use crate::seams::cluster::Disabled;
use crate::seams::metrics::{MetricRequest, MetricSource, SourceKind};

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("cluster caches are not synced yet")]
    NotSynced,
    #[error("policy disabled: {0}")]
    Disabled(#[from] Disabled),
    #[error("listing container groups: {0}")]
    List(#[source] SeamError),
}

impl TickError {
    pub fn label(&self) -> &'static str {
        match self {
            TickError::NotSynced => "not_synced",
            TickError::Disabled(d) => d.label(),
            TickError::List(e) => e.label(),
        }
    }
}

impl<T: Send + Sync + 'static> Controller<T> {
    /// Plans one tick and, when allowed, carries the plan out.
    pub async fn tick(&self, rt: &mut PolicyRuntime) -> Result<Plan, TickError> {
        let started = Instant::now();
        let result = self.tick_inner(rt).await;
        let policy = rt.policy.name.as_str();
        let series = self.telemetry.policy_series(policy);
        series.reconcile_duration.observe(started.elapsed().as_secs_f64());
        // A target that is missing (or not usable) disables the policy until
        // it is back: `/status` says so, not only its errors.
        match &result {
            Err(TickError::Disabled(d)) => {
                series.policy_enabled.set(0.0);
                self.status.set_runtime_disabled(policy, Some(d.to_string()));
            }
            Ok(_) => {
                series.policy_enabled.set(1.0);
                self.status.set_runtime_disabled(policy, None);
            }
            Err(_) => {}
        }
        if let Err(e) = &result {
            self.telemetry
                .reconcile_errors
                .with_label_values(&[policy, e.label()])
                .inc();
            self.status.record_error(policy, e.to_string());
            warn!(error = %e, "tick failed; nothing changed");
        }
        result
    }

    async fn tick_inner(&self, rt: &mut PolicyRuntime) -> Result<Plan, TickError> {
        // Reassigned once `burst.zones: auto` is resolved (below).
        let mut policy = rt.policy.clone();
        if !self.cluster.ready() {
            return Err(TickError::NotSynced);
        }
        let now = (self.clock)();
        // Status and template in one read: creates use the template whose
        // hash the plan saw.
        let workload = self.cluster.workload(&policy.target)?;
        let (samples, scale_up) = self.sample(&policy, now).await;
        let build = self.cluster.snapshot();
        // One backend for the whole tick, even if a reload replaces it now.
        let backend = self.backend.get();
        // Never plan against an unknown inventory: a missing list would look
        // like zero groups and create duplicates of live ones.
        let listing = self
            .inventory
            .listing(&*backend, &policy.cluster_id, now)
            .await
            .map_err(TickError::List)?;
        // `auto` zones before anything reads the policy's burst section: the
        // planner, the standby pool and the executor see the same list.
        self.resolve_zones(rt, &*backend, now).await;
        policy = rt.policy.clone();
        let mut headroom = match &policy.burst {
            Some(b) => match b.locations.first() {
                Some(loc) => backend.headroom(loc, b.priority).await,
                None => BurstHeadroom::default(),
            },
            None => BurstHeadroom::default(),
        };
        if rt.creates_blocked_until.is_some_and(|t| t > now) {
            headroom.creates = Some(0);
        }
        let policy_inventory =
            self.inventory
                .for_policy(rt.inventory.take(), &listing, &policy.name, headroom, now);
        let inventory = &policy_inventory.inventory;
        self.observe_provisioning(rt, &inventory.replicas, now);

        let history = self.season_history(&policy, now).await;
        let input = PlanInput {
            history: &history,
            scale_up: &scale_up,
            policy: &policy,
            samples: &samples,
            cluster: &build.snapshot,
            workload: &workload.status,
            inventory,
            now,
        };
        let previous = rt.state.clone();
        let (plan, mut next) = spillway_core::plan(&input, &rt.state);
        rt.inventory = Some(policy_inventory);
        let since_last = rt.last_tick.map(|t| now.since(t)).unwrap_or_default();
        rt.last_tick = Some(now);
        self.telemetry
            .observe_plan(&plan, since_last, self.options.dry_run || self.leader.is_leader());
        self.status.record_plan(&plan);
        if !plan.is_noop() {
            info!(
                desired = plan.desired_replicas,
                deployment = plan.deployment_replicas,
                burst_target = plan.burst_target,
                creates = plan.creates.len(),
                drains = plan.drains.len(),
                deletes = plan.deletes.len(),
                reasons = %plan.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(","),
                dry_run = self.options.dry_run,
                "plan"
            );
        } else {
            debug!(desired = plan.desired_replicas, "plan: no change");
        }
        // The standby pool in step (written only by the leader), before the
        // creates that may claim from it.
        self.sync_standby(
            rt,
            &policy,
            &plan,
            &workload.template,
            &workload.status.template.hash,
            &*backend,
        )
        .await;
        if !self.may_write() {
            // Nothing leaves the EndpointSlice unless we write it.
            next.forget_drains_since(&previous);
            rt.state = next;
            return Ok(plan);
        }
        rt.state = next;
        let mine: Vec<&ListedGroup> = listing
            .iter()
            .filter(|g| g.policy.as_deref() == Some(&policy.name))
            .collect();
        self.execute(rt, &plan, &mine, &workload.template, &*backend, now)
            .await;
        Ok(plan)
    }

    /// Reads every metric of the policy, and the `scaleUpQuery` of those
    /// that have one, concurrently; a failure or a timeout is a `Missing`
    /// sample, never a number. Returns (metrics, scale-up signals).
    async fn sample(&self, policy: &Policy, now: Timestamp) -> (Vec<MetricSample>, Vec<MetricSample>) {
        let source = self.metrics_source.get();
        let source: &dyn MetricSource = &*source;
        let scale_up: Vec<(usize, MetricSpec)> = policy
            .metrics
            .iter()
            .enumerate()
            .filter_map(|(index, spec)| match spec {
                MetricSpec::Prometheus(p) => p.scale_up().map(|q| (index, MetricSpec::Prometheus(q))),
                MetricSpec::Resource(_) => None,
            })
            .collect();
        let wanted = policy
            .metrics
            .iter()
            .enumerate()
            .map(|(index, spec)| (index, spec, false))
            .chain(scale_up.iter().map(|(index, spec)| (*index, spec, true)));
        let reads = wanted.map(|(index, spec, is_scale_up)| async move {
            // Bounded over all policies: a thousand policies ticking
            // together do not open a thousand queries at once.
            let _permit = self.metric_reads.acquire().await;
            let started = Instant::now();
            let req = MetricRequest {
                policy: &policy.name,
                target: &policy.target,
                index,
                spec,
                at: now,
            };
            let kind = SourceKind::of(spec).as_str();
            let reading = match tokio::time::timeout(self.options.metric_timeout, source.read(req)).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => MetricReading::Missing {
                    reason: format!("{kind}: {e}"),
                },
                Err(_) => MetricReading::Missing {
                    reason: format!("{kind}: timed out after {:?}", self.options.metric_timeout),
                },
            };
            let outcome = match &reading {
                MetricReading::Missing { .. } => "missing",
                _ => "ok",
            };
            self.telemetry
                .metric_polls
                .with_label_values(&[kind, outcome])
                .inc();
            self.telemetry
                .metric_poll_duration
                .with_label_values(&[kind])
                .observe(started.elapsed().as_secs_f64());
            if !is_scale_up && let MetricReading::Value { value } = &reading {
                let label = crate::telemetry::index_label(index);
                self.telemetry
                    .metric_value
                    .with_label_values(&[policy.name.as_str(), label.as_ref()])
                    .set(*value);
            }
            let sample = MetricSample {
                index,
                reading,
                observed_at: now,
            };
            (is_scale_up, sample)
        });
        let (scale_up, primary): (Vec<_>, Vec<_>) = join_all(reads).await.into_iter().partition(|(s, _)| *s);
        (
            primary.into_iter().map(|(_, m)| m).collect(),
            scale_up.into_iter().map(|(_, m)| m).collect(),
        )
    }

    /// The past seasons of each Prometheus metric that `predict.seasons`
    /// looks at: one range query per season and period, read from the
    /// source every tick (no local history). A failed read leaves that
    /// window out; the trend and the reactive path do not depend on it.
    async fn season_history(&self, policy: &Policy, now: Timestamp) -> Vec<SeasonHistory> {
        let p = &policy.predict;
        if !p.enabled() || p.seasons.is_empty() {
            return Vec::new();
        }
        let source = self.metrics_source.get();
        let source: &dyn MetricSource = &*source;
        let step = policy.interval.max(std::time::Duration::from_secs(1));
        let mut out = Vec::new();
        for (index, spec) in policy.metrics.iter().enumerate() {
            if !matches!(spec, spillway_core::config::MetricSpec::Prometheus(_)) {
                continue;
            }
            let windows = p
                .seasons
                .iter()
                .flat_map(|s| (1..=p.season_count).map(move |k| *s * k))
                .map(|back| async move {
                    let _permit = self.metric_reads.acquire().await;
                    let start = now.saturating_sub(back);
                    let req = MetricRequest {
                        policy: &policy.name,
                        target: &policy.target,
                        index,
                        spec,
                        at: now,
                    };
                    match tokio::time::timeout(
                        self.options.metric_timeout,
                        source.history(req, start, start + p.horizon, step),
                    )
                    .await
                    {
                        Ok(Ok(values)) => values,
                        Ok(Err(e)) => {
                            debug!(metric = index, error = %e, "season history unavailable");
                            Vec::new()
                        }
                        Err(_) => Vec::new(),
                    }
                });
            out.push(SeasonHistory {
                index,
                windows: join_all(windows).await,
            });
        }
        out
    }

    /// Observes how long groups took from create to Ready.
    fn observe_provisioning(
        &self,
        rt: &mut PolicyRuntime,
        replicas: &[spillway_core::burst::BurstReplica],
        now: Timestamp,
    ) {
        for r in replicas {
            match r.state {
                BurstState::Provisioning => {
                    rt.provisioning
                        .entry(r.name.clone())
                        .or_insert(r.created_at.min(now));
                }
                BurstState::Ready => {
                    if let Some(since) = rt.provisioning.remove(&r.name) {
                        self.telemetry
                            .burst_provision
                            .with_label_values(&[&rt.policy.name])
                            .observe(now.since(since).as_secs_f64());
                    }
                }
                _ => {
                    rt.provisioning.remove(&r.name);
                }
            }
        }
        rt.provisioning
            .retain(|name, _| replicas.iter().any(|r| &r.name == name));
    }
}
