//! The controller's Prometheus metrics: one registry, every family labelled
//! by `policy` where it belongs. Names are part of the dashboard's contract.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Counter, CounterVec, Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec,
    Opts, Registry, TextEncoder,
};
use spillway_core::plan::Plan;

/// Every metric the controller exports.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub desired_replicas: GaugeVec,
    pub vm_replicas: GaugeVec,
    pub burst_replicas: GaugeVec,
    pub vm_fit_replicas: GaugeVec,
    pub headroom_replicas: GaugeVec,
    pub metric_value: GaugeVec,
    pub scale_decisions: IntCounterVec,
    pub aci_requests: IntCounterVec,
    pub aci_request_duration: HistogramVec,
    pub burst_provision: HistogramVec,
    pub burst_cost_per_hour: GaugeVec,
    pub burst_cost_total: CounterVec,
    pub reconcile_duration: HistogramVec,
    pub reconcile_errors: IntCounterVec,
    pub metric_polls: IntCounterVec,
    pub metric_poll_duration: HistogramVec,
    pub config_valid: Gauge,
    pub policy_enabled: GaugeVec,
    pub leader: Gauge,
    pub build_info: GaugeVec,
    /// Standby pools (issue 16).
    pub standby: crate::standby_metrics::StandbyMetrics,
    /// `error` label values of `spillway_reconcile_errors_total` created at 0
    /// for every active policy: the controller's own, plus what the adapters
    /// declare ([`Metrics::declare_error_kinds`]).
    error_kinds: Arc<Mutex<BTreeSet<&'static str>>>,
    /// Policies [`Metrics::init_policy`] saw, so that kinds declared later
    /// still start at 0 for them.
    active: Arc<Mutex<BTreeSet<String>>>,
    /// Each active policy's per-tick series, resolved once: a tick sets a
    /// dozen of them, and resolving label values hashes and locks each time.
    series: Arc<Mutex<HashMap<String, Arc<PolicySeries>>>>,
}

/// The series a tick of one policy writes, resolved from their families.
pub struct PolicySeries {
    pub desired_replicas: Gauge,
    pub vm_replicas: [Gauge; 4],
    pub burst_replicas: [Gauge; 4],
    pub vm_fit_replicas: Gauge,
    pub headroom_replicas: Gauge,
    pub burst_cost_per_hour: Gauge,
    pub burst_cost_total: Counter,
    pub reconcile_duration: Histogram,
    pub policy_enabled: Gauge,
}

/// Failure kinds the loop itself reports (tick errors, disabled targets, a
/// closed leader gate); adapters add theirs with `declare_error_kinds`.
pub const CONTROLLER_ERROR_KINDS: &[&str] = &[
    "not_synced",
    "not_leader",
    "target_missing",
    "unsupported_kind",
    "scaled_by_hpa",
    "no_selector",
    "template",
    "dns_unresolved",
    crate::zones::ZONES_UNRESOLVED,
];

/// The (direction, reason) pairs of `spillway_scale_decisions_total` that
/// ordinary operation produces (see `decision_labels`), created at 0 per
/// policy. Rarer pairs (`orphaned`, a scale whose first reason is a clamp)
/// still appear on their first decision.
pub const INITIAL_DECISIONS: &[(&str, &str)] = &[
    ("up", "scale_up"),
    ("up", "scale_up_limited"),
    ("up", "metrics_missing_fallback"),
    ("down", "scale_down"),
    ("down", "scale_down_limited"),
    ("down", "metrics_missing_fallback"),
    ("burst_up", "burst"),
    ("burst_up", "replace_failed"),
    ("burst_up", "rollout"),
    ("burst_up", "location_fallback"),
    ("burst_down", "burst_scale_in"),
    ("burst_down", "backfill"),
    ("burst_down", "drain"),
    ("burst_down", "replace_failed"),
    ("burst_down", "rollout"),
];

/// Every (source, outcome) of `spillway_metric_polls_total`.
const POLL_SOURCES: [&str; 2] = ["prometheus", "metrics.k8s.io"];
const POLL_OUTCOMES: [&str; 2] = ["ok", "missing"];

/// The `revision` label of `spillway_build_info`: set at build time
/// (`SPILLWAY_GIT_REVISION`, e.g. by the image build), `unknown` otherwise.
const REVISION: &str = match option_env!("SPILLWAY_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let latency = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let provision = vec![
            5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
        ];
        let reconcile = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        let m = Metrics {
            desired_replicas: gauge_vec(
                &r,
                "spillway_desired_replicas",
                "Total replicas the planner wants (VM + burst).",
                &["policy"],
            )?,
            vm_replicas: gauge_vec(
                &r,
                "spillway_vm_replicas",
                "The workload's VM pods by state.",
                &["policy", "state"],
            )?,
            burst_replicas: gauge_vec(
                &r,
                "spillway_burst_replicas",
                "Burst container groups by state.",
                &["policy", "state"],
            )?,
            vm_fit_replicas: gauge_vec(
                &r,
                "spillway_vm_fit_replicas",
                "More VM replicas the current nodes can take.",
                &["policy"],
            )?,
            headroom_replicas: gauge_vec(
                &r,
                "spillway_headroom_replicas",
                "Warm replicas the Deployment holds above the desired count (headroom).",
                &["policy"],
            )?,
            metric_value: gauge_vec(
                &r,
                "spillway_metric_value",
                "Last value read for each policy metric.",
                &["policy", "metric"],
            )?,
            scale_decisions: counter_vec(
                &r,
                "spillway_scale_decisions_total",
                "Planner decisions that changed something, by direction and reason.",
                &["policy", "direction", "reason"],
            )?,
            aci_requests: counter_vec(
                &r,
                "spillway_aci_requests_total",
                "ARM requests by operation and HTTP status code (or error).",
                &["operation", "code"],
            )?,
            aci_request_duration: histogram_vec(
                &r,
                "spillway_aci_request_duration_seconds",
                "ARM request latency.",
                &["operation"],
                latency.clone(),
            )?,
            burst_provision: histogram_vec(
                &r,
                "spillway_burst_provision_seconds",
                "Time from create to a Ready burst replica.",
                &["policy"],
                provision,
            )?,
            burst_cost_per_hour: gauge_vec(
                &r,
                "spillway_burst_cost_per_hour",
                "Hourly cost of the live burst replicas (pricing.currency).",
                &["policy"],
            )?,
            burst_cost_total: {
                let c = CounterVec::new(
                    Opts::new(
                        "spillway_burst_cost_total",
                        "Accumulated burst cost (pricing.currency).",
                    ),
                    &["policy"],
                )?;
                r.register(Box::new(c.clone()))?;
                c
            },
            reconcile_duration: histogram_vec(
                &r,
                "spillway_reconcile_duration_seconds",
                "One policy tick: sample, snapshot, list, plan, execute.",
                &["policy"],
                reconcile,
            )?,
            reconcile_errors: counter_vec(
                &r,
                "spillway_reconcile_errors_total",
                "Failed steps of a tick, by kind.",
                &["policy", "error"],
            )?,
            metric_polls: counter_vec(
                &r,
                "spillway_metric_polls_total",
                "Metric reads by source and outcome.",
                &["source", "outcome"],
            )?,
            metric_poll_duration: histogram_vec(
                &r,
                "spillway_metric_poll_duration_seconds",
                "Metric read latency by source.",
                &["source"],
                latency,
            )?,
            config_valid: {
                let g = Gauge::new(
                    "spillway_config_valid",
                    "1 when the last configuration read was fully valid.",
                )?;
                r.register(Box::new(g.clone()))?;
                g
            },
            policy_enabled: gauge_vec(
                &r,
                "spillway_policy_enabled",
                "1 for a policy that plans, 0 for one disabled by its errors.",
                &["policy"],
            )?,
            leader: {
                let g = Gauge::new("spillway_leader", "1 while this process holds the leader Lease.")?;
                r.register(Box::new(g.clone()))?;
                g
            },
            build_info: gauge_vec(
                &r,
                "spillway_build_info",
                "Always 1; the labels say which build is running.",
                &["version", "revision"],
            )?,
            standby: crate::standby_metrics::StandbyMetrics::register(&r)?,
            registry: r,
            error_kinds: Arc::new(Mutex::new(CONTROLLER_ERROR_KINDS.iter().copied().collect())),
            active: Arc::new(Mutex::new(BTreeSet::new())),
            series: Arc::new(Mutex::new(HashMap::new())),
        };
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), REVISION])
            .set(1.0);
        for source in POLL_SOURCES {
            let _ = m.metric_poll_duration.with_label_values(&[source]);
            for outcome in POLL_OUTCOMES {
                let _ = m.metric_polls.with_label_values(&[source, outcome]);
            }
        }
        Ok(m)
    }

    /// Adds `error` label values (an adapter's error kinds) that start at 0
    /// for every policy, active now or later.
    pub fn declare_error_kinds(&self, kinds: &[&'static str]) {
        let mut known = lock(&self.error_kinds);
        known.extend(kinds.iter().copied());
        for policy in lock(&self.active).iter() {
            for kind in kinds {
                let _ = self.reconcile_errors.with_label_values(&[policy.as_str(), kind]);
            }
        }
    }

    /// Creates every series of a policy with known label values at 0 when
    /// it becomes active. A series born with its first increment hides that
    /// increment from `rate()`/`increase()` (the first burst replicas of a
    /// spike, the first error), and a dashboard panel over a series that
    /// does not exist says "No data" rather than 0. A metric value starts as
    /// NaN, not 0: 0 would read as a measurement; the first tick replaces it.
    pub fn init_policy(&self, policy: &str, metric_count: usize) {
        let _ = self.burst_provision.with_label_values(&[policy]);
        self.standby.init_policy(policy);
        let _ = self.policy_series(policy);
        for i in 0..metric_count {
            let g = self.metric_value.with_label_values(&[policy, &i.to_string()]);
            if g.get() == 0.0 {
                g.set(f64::NAN);
            }
        }
        for (direction, reason) in INITIAL_DECISIONS {
            let _ = self
                .scale_decisions
                .with_label_values(&[policy, direction, reason]);
        }
        for kind in lock(&self.error_kinds).iter() {
            let _ = self.reconcile_errors.with_label_values(&[policy, kind]);
        }
        lock(&self.active).insert(policy.to_string());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Records what a plan says, and what it decided.
    /// Records a plan. Counters (decisions, accumulated cost) advance only in
    /// the process that acts (the leader, or a dry run), so two replicas do
    /// not count the same decision twice; gauges are set everywhere.
    pub fn observe_plan(&self, plan: &Plan, elapsed_since_last: Duration, acting: bool) {
        let p = plan.policy.as_str();
        let series = self.policy_series(p);
        series.desired_replicas.set(f64::from(plan.desired_replicas));
        let vm = &plan.vm;
        for (gauge, v) in
            series
                .vm_replicas
                .iter()
                .zip([vm.ready, vm.starting, vm.pending_fresh, vm.pending_unschedulable])
        {
            gauge.set(f64::from(v));
        }
        let b = &plan.burst;
        for (gauge, v) in series
            .burst_replicas
            .iter()
            .zip([b.ready, b.provisioning, b.draining, b.failed])
        {
            gauge.set(f64::from(v));
        }
        series.vm_fit_replicas.set(f64::from(plan.vm_fit));
        series.headroom_replicas.set(f64::from(plan.headroom_replicas));
        series.burst_cost_per_hour.set(plan.burst_hourly_cost);
        if !acting {
            return;
        }
        let hours = elapsed_since_last.as_secs_f64() / 3600.0;
        if hours > 0.0 {
            series.burst_cost_total.inc_by(plan.burst_hourly_cost * hours);
        }
        if let Some((direction, reason)) = decision_labels(plan) {
            self.scale_decisions
                .with_label_values(&[p, direction, reason])
                .inc();
        }
    }

    /// The series a tick of `policy` writes, created (at 0) on first use.
    /// `reconcile_duration` and `policy_enabled` are resolved too, so a
    /// tick resolves label values once.
    ///
    /// [`Metrics::forget_policy`] holds the cache's lock while it removes the
    /// series, so a tick of a removed policy finishing meanwhile cannot cache
    /// handles to series that are then taken out of the registry; one
    /// finishing after it re-creates both, live (as resolving label values
    /// each tick did).
    pub fn policy_series(&self, policy: &str) -> Arc<PolicySeries> {
        let mut cache = lock(&self.series);
        if let Some(s) = cache.get(policy) {
            return s.clone();
        }
        let one = [policy];
        let series = Arc::new(PolicySeries {
            desired_replicas: self.desired_replicas.with_label_values(&one),
            vm_replicas: VM_STATES.map(|state| self.vm_replicas.with_label_values(&[policy, state])),
            burst_replicas: BURST_STATES.map(|state| self.burst_replicas.with_label_values(&[policy, state])),
            vm_fit_replicas: self.vm_fit_replicas.with_label_values(&one),
            headroom_replicas: self.headroom_replicas.with_label_values(&one),
            burst_cost_per_hour: self.burst_cost_per_hour.with_label_values(&one),
            burst_cost_total: self.burst_cost_total.with_label_values(&one),
            reconcile_duration: self.reconcile_duration.with_label_values(&one),
            policy_enabled: self.policy_enabled.with_label_values(&one),
        });
        cache.insert(policy.to_string(), series.clone());
        series
    }

    /// Drops every series of a policy that no longer exists (so a removed
    /// policy does not linger on dashboards).
    pub fn forget_policy(&self, policy: &str, metric_count: usize) {
        // Held throughout, so that no tick caches series being removed.
        let mut cache = lock(&self.series);
        for g in [
            &self.desired_replicas,
            &self.vm_fit_replicas,
            &self.headroom_replicas,
            &self.burst_cost_per_hour,
            &self.policy_enabled,
        ] {
            let _ = g.remove_label_values(&[policy]);
        }
        for state in VM_STATES {
            let _ = self.vm_replicas.remove_label_values(&[policy, state]);
        }
        for state in BURST_STATES {
            let _ = self.burst_replicas.remove_label_values(&[policy, state]);
        }
        for i in 0..metric_count {
            let _ = self.metric_value.remove_label_values(&[policy, &i.to_string()]);
        }
        self.standby.forget_policy(policy);
        lock(&self.active).remove(policy);
        cache.remove(policy);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `direction` and `reason` of a plan that changes something.
///
/// A Deployment scale is `up`/`down` with the plan's first reason (the
/// replica recommendation). A plan that only touches burst groups is
/// `burst_up`/`burst_down` with the first reason about burst groups: the
/// first reasons of such a plan are usually about the unchanged replica
/// count (`within_tolerance`, `scale_down_stabilized`), which would label a
/// burst scale-in with why nothing else changed. A tick that only deletes
/// groups drained earlier gets the deletes' cause.
fn decision_labels(plan: &Plan) -> Option<(&'static str, &'static str)> {
    use spillway_core::plan::{DeleteCause, ReasonCode as R};
    if plan.is_noop() {
        return None;
    }
    let first = plan.reasons.first().map(|r| r.code.as_str());
    let direction = match plan.scale {
        Some(s) if s.to > s.from => return Some(("up", first.unwrap_or("none"))),
        Some(s) if s.to < s.from => return Some(("down", first.unwrap_or("none"))),
        _ if !plan.creates.is_empty() => "burst_up",
        _ => "burst_down",
    };
    let burst_reason = plan.reasons.iter().map(|r| r.code).find(|c| {
        matches!(
            c,
            R::Burst
                | R::BurstCappedMaxReplicas
                | R::BurstCappedBudget
                | R::BurstCappedQuota
                | R::CreatesPaced
                | R::LocationFallback
                | R::NoLocationAvailable
                | R::TemplateNotExpressible
                | R::Backfill
                | R::BurstScaleIn
                | R::ReplaceFailed
                | R::Rollout
                | R::ZoneRebalance
                | R::ZoneSpreadLimited
                | R::NoZoneAvailable
        )
    });
    let reason = match (burst_reason, plan.deletes.first().map(|d| d.cause)) {
        (Some(code), _) => code.as_str(),
        (None, _) if !plan.drains.is_empty() => R::Drain.as_str(),
        (None, Some(DeleteCause::Drained)) => R::Drain.as_str(),
        (None, Some(DeleteCause::Failed)) => R::ReplaceFailed.as_str(),
        (None, Some(DeleteCause::Unneeded)) => R::BurstScaleIn.as_str(),
        (None, Some(DeleteCause::Orphaned)) => "orphaned",
        (None, None) => first.unwrap_or("none"),
    };
    Some((direction, reason))
}

/// The `metric` label of `spillway_metric_value`: the metric's index.
/// Policies rarely have more than a few metrics; those need no allocation.
pub fn index_label(index: usize) -> std::borrow::Cow<'static, str> {
    const SMALL: [&str; 8] = ["0", "1", "2", "3", "4", "5", "6", "7"];
    match SMALL.get(index) {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(index.to_string()),
    }
}

const VM_STATES: [&str; 4] = ["ready", "starting", "pending_fresh", "pending_unschedulable"];
const BURST_STATES: [&str; 4] = ["ready", "provisioning", "draining", "failed"];

#[cfg(test)]
#[path = "telemetry_tests.rs"]
mod tests;
