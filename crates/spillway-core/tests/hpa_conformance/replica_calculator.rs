//! `replica_calculator_test.go`: one metric's recommendation.
//!
//! Upstream pods have two containers; a level is per container and a
//! request is per container, so a pod's usage and request are twice the
//! table's (utilization is unchanged). Pod states translate to what
//! `spillway-metrics` hands the core (its `classify` is groupPods):
//! Failed and deleted pods are dropped, Pending pods and CPU pods still
//! initializing ("hot") or never Ready are `ready: false`, a Running pod
//! without metrics is `usage: None, ready: true` (missing).

use spillway_core::config::{MetricSpec, PrometheusMetric, ResourceMetric, ResourceName, SeriesMode};
use spillway_core::metrics::{MetricReading, PodMetric};
use spillway_core::scaling::{MetricRecommendation, ReplicaContext, recommend};

const CONTAINERS: f64 = 2.0;
const TOLERANCE: f64 = 0.1;

#[derive(Clone, Copy)]
enum Pod {
    /// Running, Ready, with a metric (millicores per container).
    Ready(i64),
    /// Running, not counted as ready by groupPods (never Ready, or a hot
    /// CPU pod within cpuInitializationPeriod), with a metric.
    Unready(i64),
    /// Pending.
    Pending,
    /// Running without a metric.
    Missing,
}

fn pods(requests_millis: &[i64], pods: &[Pod]) -> MetricReading {
    MetricReading::Pods {
        pods: pods
            .iter()
            .zip(requests_millis)
            .map(|(p, &r)| {
                let request = r as f64 * CONTAINERS;
                let (usage, ready) = match *p {
                    Pod::Ready(u) => (Some(u as f64 * CONTAINERS), true),
                    Pod::Unready(u) => (Some(u as f64 * CONTAINERS), false),
                    Pod::Pending => (None, false),
                    Pod::Missing => (None, true),
                };
                PodMetric {
                    usage,
                    request,
                    ready,
                }
            })
            .collect(),
    }
}

fn cpu_utilization(target: u32) -> MetricSpec {
    MetricSpec::Resource(ResourceMetric {
        name: ResourceName::Cpu,
        target_average_utilization: Some(target),
        target_average_value: None,
    })
}

fn ctx(current: u32, ready: u32) -> ReplicaContext {
    ReplicaContext {
        current,
        ready,
        tolerance_up: TOLERANCE,
        tolerance_down: TOLERANCE,
    }
}

fn replicas(spec: &MetricSpec, reading: &MetricReading, ctx: ReplicaContext) -> u32 {
    match recommend(spec, reading, ctx) {
        MetricRecommendation::Replicas { replicas, .. } => replicas,
        MetricRecommendation::Missing(why) => panic!("no recommendation: {why}"),
    }
}

/// A resource case: every pod requests 1.0 CPU per container unless given.
fn resource(current: u32, target: u32, requests: &[i64], state: &[Pod]) -> u32 {
    let ready = state.iter().filter(|p| matches!(p, Pod::Ready(_))).count() as u32;
    replicas(
        &cpu_utilization(target),
        &pods(requests, state),
        ctx(current, ready),
    )
}

fn uniform(n: usize) -> Vec<i64> {
    vec![1000; n]
}

use Pod::*;

#[test]
fn test_replica_calc_scale_up() {
    assert_eq!(
        resource(3, 30, &uniform(3), &[Ready(300), Ready(500), Ready(700)]),
        5
    );
}

#[test]
fn test_replica_calc_scale_up_unready_less_scale() {
    assert_eq!(
        resource(3, 30, &uniform(3), &[Unready(300), Ready(500), Ready(700)]),
        4
    );
}

#[test]
fn test_replica_calc_scale_up_hot_cpu_less_scale() {
    // Pod 0 started within the CPU initialization period: unready.
    assert_eq!(
        resource(3, 30, &uniform(3), &[Unready(300), Ready(500), Ready(700)]),
        4
    );
}

#[test]
fn test_replica_calc_scale_up_unready_no_scale() {
    assert_eq!(
        resource(3, 30, &uniform(3), &[Ready(400), Unready(500), Unready(700)]),
        3
    );
}

#[test]
fn test_replica_calc_scale_hot_cpu_no_scale() {
    assert_eq!(
        resource(3, 30, &uniform(3), &[Ready(400), Unready(500), Unready(700)]),
        3
    );
}

#[test]
fn test_replica_calc_scale_up_ignores_failed_pods() {
    // Two Failed pods: dropped by the metric source.
    assert_eq!(resource(2, 30, &uniform(2), &[Ready(500), Ready(700)]), 4);
}

#[test]
fn test_replica_calc_scale_up_ignores_deletion_pods() {
    // Two pods with a deletion timestamp: dropped by the metric source.
    assert_eq!(resource(2, 30, &uniform(2), &[Ready(500), Ready(700)]), 4);
}

#[test]
fn test_replica_calc_scale_down() {
    let state = [Ready(100), Ready(300), Ready(500), Ready(250), Ready(250)];
    assert_eq!(resource(5, 50, &uniform(5), &state), 3);
}

#[test]
fn test_replica_calc_scale_down_exclude_unready_pods() {
    let state = [Ready(100), Ready(300), Ready(500), Unready(250), Unready(250)];
    assert_eq!(resource(5, 50, &uniform(5), &state), 2);
}

#[test]
fn test_replica_calc_scale_down_exclude_unscheduled_pods() {
    let state = [Ready(100), Pending, Pending, Pending, Pending];
    assert_eq!(resource(5, 50, &uniform(5), &state), 1);
}

#[test]
fn test_replica_calc_scale_down_ignore_hot_cpu_pods() {
    let state = [Ready(100), Ready(300), Ready(500), Unready(250), Unready(250)];
    assert_eq!(resource(5, 50, &uniform(5), &state), 2);
}

#[test]
fn test_replica_calc_scale_down_ignores_failed_pods() {
    let state = [Ready(100), Ready(300), Ready(500), Ready(250), Ready(250)];
    assert_eq!(resource(5, 50, &uniform(5), &state), 3);
}

#[test]
fn test_replica_calc_scale_down_ignores_deletion_pods() {
    let state = [Ready(100), Ready(300), Ready(500), Ready(250), Ready(250)];
    assert_eq!(resource(5, 50, &uniform(5), &state), 3);
}

#[test]
fn test_replica_calc_tolerance() {
    // 6120m of 6000m: 102 %, within the tolerance.
    let state = [Ready(1010), Ready(1030), Ready(1020)];
    assert_eq!(resource(3, 100, &[900, 1000, 1100], &state), 3);
}

#[test]
fn test_replica_calc_superfluous_metrics() {
    // Metrics of pods outside the selector never reach the core.
    let state = [Ready(4000), Ready(9500), Ready(3000), Ready(7000)];
    assert_eq!(resource(4, 100, &uniform(4), &state), 24);
}

#[test]
fn test_replica_calc_missing_metrics() {
    let state = [Ready(400), Ready(95), Missing, Missing];
    assert_eq!(resource(4, 100, &uniform(4), &state), 3);
}

#[test]
fn test_replica_calc_missing_metrics_no_change_eq() {
    assert_eq!(resource(2, 100, &uniform(2), &[Ready(1000), Missing]), 2);
}

#[test]
fn test_replica_calc_missing_metrics_no_change_gt() {
    assert_eq!(resource(2, 100, &uniform(2), &[Ready(1900), Missing]), 2);
}

#[test]
fn test_replica_calc_missing_metrics_no_change_lt() {
    assert_eq!(resource(2, 100, &uniform(2), &[Ready(600), Missing]), 2);
}

#[test]
fn test_replica_calc_missing_metrics_unready_change() {
    assert_eq!(
        resource(3, 50, &uniform(3), &[Unready(100), Ready(450), Missing]),
        3
    );
}

// External metrics: a Prometheus query is the HPA's External metric source;
// `targetValue` is the Value target, `targetAverageValue` the AverageValue one.

fn external(value: Option<f64>, average: Option<f64>) -> MetricSpec {
    MetricSpec::Prometheus(PrometheusMetric {
        query: "qps".into(),
        target_value: value,
        target_average_value: average,
        series: SeriesMode::Single,
        scale_up_query: None,
        scale_up_min_rise_percent: 0,
    })
}

fn external_case(spec: MetricSpec, level: f64, current: u32, ready: u32) -> u32 {
    replicas(&spec, &MetricReading::Value { value: level }, ctx(current, ready))
}

#[test]
fn test_replica_calc_scale_up_cm_external_ignores_unready_pods() {
    // readiness False, True, False: one ready pod.
    assert_eq!(external_case(external(Some(4400.0), None), 8600.0, 3, 1), 2);
}

#[test]
fn test_replica_calc_scale_up_per_pod_cm_external() {
    assert_eq!(external_case(external(None, Some(2150.0)), 8600.0, 3, 3), 4);
}

#[test]
fn test_replica_calc_scale_down_cm_external() {
    assert_eq!(external_case(external(Some(14334.0), None), 8600.0, 5, 5), 3);
}

#[test]
fn test_replica_calc_scale_down_per_pod_cm_external() {
    assert_eq!(external_case(external(None, Some(2867.0)), 8600.0, 5, 5), 3);
}

#[test]
fn test_replica_calc_tolerance_cm_external() {
    assert_eq!(external_case(external(Some(8888.0), None), 8600.0, 3, 3), 3);
}

#[test]
fn test_replica_calc_tolerance_per_pod_cm_external() {
    assert_eq!(external_case(external(None, Some(2900.0)), 8600.0, 3, 3), 3);
}
