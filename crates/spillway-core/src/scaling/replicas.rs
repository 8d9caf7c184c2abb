//! Per-metric replica recommendations, as the HPA replica calculator computes
//! them (k8s.io/kubernetes pkg/controller/podautoscaler/replica_calculator.go).

use crate::config::{MetricSpec, ResourceName};
use crate::metrics::{MetricReading, PodMetric};

/// What the calculator needs besides the reading.
#[derive(Debug, Clone, Copy)]
pub struct ReplicaContext {
    /// The replicas the workload is scaled to now (HPA `currentReplicas`).
    pub current: u32,
    /// Ready replicas, VM and burst (HPA `readyPodCount`).
    pub ready: u32,
    /// Band above a ratio of 1 inside which nothing scales up.
    pub tolerance_up: f64,
    /// Band below a ratio of 1 inside which nothing scales down.
    pub tolerance_down: f64,
}

/// Why a recommendation equals the current replicas although the ratio is
/// not 1 (so reasons can name the real cause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Not held: the recommendation is the formula's.
    No,
    /// The ratio is within the tolerance band.
    Tolerance,
    /// Counting missing/unready pods conservatively reverses the direction
    /// or lands within tolerance: the HPA keeps the current replicas.
    MissingPods,
}

/// The recommendation for one metric, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricRecommendation {
    Replicas { replicas: u32, ratio: f64, held: Held },
    Missing(String),
}

pub fn recommend(spec: &MetricSpec, reading: &MetricReading, ctx: ReplicaContext) -> MetricRecommendation {
    match (spec, reading) {
        (_, MetricReading::Missing { reason }) => MetricRecommendation::Missing(reason.clone()),
        (MetricSpec::Prometheus(p), MetricReading::Value { value }) => {
            if !value.is_finite() || *value < 0.0 {
                return MetricRecommendation::Missing(format!("query returned {value}"));
            }
            match (p.target_average_value, p.target_value) {
                (Some(target), _) => external_average_value(*value, target, ctx),
                (None, Some(target)) => external_value(*value, target, ctx),
                (None, None) => MetricRecommendation::Missing("metric has no target".into()),
            }
        }
        (MetricSpec::Resource(r), MetricReading::Pods { pods }) => {
            if let Some(target) = r.target_average_utilization {
                resource_utilization(pods, f64::from(target), ctx)
            } else if let Some(q) = &r.target_average_value {
                let (target, resolution) = match r.name {
                    ResourceName::Cpu => (q.millis_ceil() as f64, 1.0),
                    ResourceName::Memory => (q.units_ceil() as f64, 1000.0),
                };
                plain_average(pods, target, resolution, ctx)
            } else {
                MetricRecommendation::Missing("metric has no target".into())
            }
        }
        (MetricSpec::Prometheus(_), MetricReading::Pods { .. }) => {
            MetricRecommendation::Missing("got per-pod data for a Prometheus metric".into())
        }
        (MetricSpec::Resource(_), MetricReading::Value { .. }) => {
            MetricRecommendation::Missing("got a single value for a resource metric".into())
        }
    }
}

/// `Tolerances.isWithin` (autoscaling/v2): inclusive on both sides, so a
/// ratio of exactly 1 + tolerance does not scale.
fn within(ratio: f64, ctx: ReplicaContext) -> bool {
    (1.0 - ctx.tolerance_down) <= ratio && ratio <= (1.0 + ctx.tolerance_up)
}

fn held(replicas: u32, ratio: f64, held: Held) -> MetricRecommendation {
    MetricRecommendation::Replicas {
        replicas,
        ratio,
        held,
    }
}

fn computed(replicas: u32, ratio: f64) -> MetricRecommendation {
    held(replicas, ratio, Held::No)
}

fn ceil_u32(x: f64) -> u32 {
    let c = x.ceil();
    if c >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        c.max(0.0) as u32
    }
}

/// External metric, AverageValue: `ceil(usage / target)`.
fn external_average_value(usage: f64, target: f64, ctx: ReplicaContext) -> MetricRecommendation {
    let ratio = usage / (target * f64::from(ctx.current.max(1)));
    if ctx.current > 0 && within(ratio, ctx) {
        return held(ctx.current, ratio, Held::Tolerance);
    }
    computed(ceil_u32(usage / target), ratio)
}

/// External metric, Value: `ceil(usage / target × readyPods)`. With no ready
/// pod the ratio is applied to one replica rather than to zero.
fn external_value(usage: f64, target: f64, ctx: ReplicaContext) -> MetricRecommendation {
    let ratio = usage / target;
    if within(ratio, ctx) {
        return held(ctx.current, ratio, Held::Tolerance);
    }
    computed(ceil_u32(ratio * f64::from(ctx.ready.max(1))), ratio)
}

/// Resource utilization with the HPA's treatment of missing and unready pods.
fn resource_utilization(pods: &[PodMetric], target_pct: f64, ctx: ReplicaContext) -> MetricRecommendation {
    rebalanced(
        pods,
        ctx,
        |values| {
            let usage: f64 = values.iter().map(|(u, _)| u).sum();
            let requests: f64 = values.iter().map(|(_, r)| r).sum();
            if requests <= 0.0 {
                return None;
            }
            // GetResourceUtilizationRatio: a whole percent (integer division),
            // so 299m of 3000m is 9 %, not 9.97 %.
            let utilization = (usage * 100.0 / requests).floor();
            Some(utilization / target_pct)
        },
        // Missing pods on a scale-down: request × max(100, target) / 100, an integer.
        |request| (request * target_pct.max(100.0) / 100.0).floor(),
    )
}

/// Resource AverageValue: average usage per pod against the target.
/// `resolution`: units per whole value of the HPA's milli-quantities (1 for
/// millicores, 1000 for bytes), so the average is truncated as its integer
/// division truncates it.
fn plain_average(
    pods: &[PodMetric],
    target: f64,
    resolution: f64,
    ctx: ReplicaContext,
) -> MetricRecommendation {
    rebalanced(
        pods,
        ctx,
        |values| {
            if values.is_empty() || target <= 0.0 {
                return None;
            }
            let usage: f64 = values.iter().map(|(u, _)| u).sum();
            let average = (usage * resolution / values.len() as f64).floor() / resolution;
            Some(average / target)
        },
        |_| target,
    )
}

/// The shared shape of GetResourceReplicas / calcPlainMetricReplicas:
/// compute the ratio over ready pods with metrics; if pods are missing or
/// unready, assume the conservative value for them and recompute, never
/// letting the adjustment reverse the direction of the change.
fn rebalanced(
    pods: &[PodMetric],
    ctx: ReplicaContext,
    ratio_of: impl Fn(&[(f64, f64)]) -> Option<f64>,
    scale_down_fallback: impl Fn(f64) -> f64,
) -> MetricRecommendation {
    let mut ready: Vec<(f64, f64)> = Vec::with_capacity(pods.len());
    let mut missing: Vec<f64> = Vec::new();
    let mut unready: Vec<f64> = Vec::new();
    for p in pods {
        if !p.request.is_finite() || p.request < 0.0 {
            continue;
        }
        match p.usage {
            Some(u) if u.is_finite() && u >= 0.0 && p.ready => ready.push((u, p.request)),
            // groupPods' unready set (Pending pods; CPU pods still
            // initializing): ignored, 0 on a scale-up. A Running pod without
            // metrics is missing whatever its Ready condition, because the
            // HPA checks for metrics before readiness; the metric source
            // marks such pods `ready: true` (see PodMetric).
            _ if !p.ready => unready.push(p.request),
            _ => missing.push(p.request),
        }
    }
    let Some(ratio) = ratio_of(&ready) else {
        return MetricRecommendation::Missing("no ready pod has metrics".into());
    };
    let rebalance_unready = !unready.is_empty() && ratio > 1.0;
    if !rebalance_unready && missing.is_empty() {
        if within(ratio, ctx) {
            return held(ctx.current, ratio, Held::Tolerance);
        }
        return computed(ceil_u32(ratio * ready.len() as f64), ratio);
    }
    let mut all = ready.clone();
    if ratio < 1.0 {
        all.extend(missing.iter().map(|&r| (scale_down_fallback(r), r)));
    } else if ratio > 1.0 {
        all.extend(missing.iter().map(|&r| (0.0, r)));
    }
    if rebalance_unready {
        all.extend(unready.iter().map(|&r| (0.0, r)));
    }
    let Some(new_ratio) = ratio_of(&all) else {
        return held(ctx.current, ratio, Held::MissingPods);
    };
    if within(new_ratio, ctx) || (ratio < 1.0 && new_ratio > 1.0) || (ratio > 1.0 && new_ratio < 1.0) {
        return held(ctx.current, new_ratio, Held::MissingPods);
    }
    let replicas = ceil_u32(new_ratio * all.len() as f64);
    if (new_ratio < 1.0 && replicas > ctx.current) || (new_ratio > 1.0 && replicas < ctx.current) {
        return held(ctx.current, new_ratio, Held::MissingPods);
    }
    computed(replicas, new_ratio)
}
