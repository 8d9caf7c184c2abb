//! The issue-15 divergences, each checked against the HPA's algorithm
//! (horizontal.go / replica_calculator.go) through Spillway's public API.
//! Expected values are worked out from the upstream formulas in comments.

use std::collections::VecDeque;

use spillway_core::config::defaults;
use spillway_core::metrics::{MetricReading, MetricSample, PodMetric};
use spillway_core::plan::{PolicyState, ReasonCode};
use spillway_core::scaling::behavior::{BehaviorInput, Limit, limit_rate};
use spillway_core::scaling::desired_replicas;
use spillway_core::time::Timestamp;

use super::{NOW, ago, policy};

fn cpu_policy(extra: &str) -> spillway_core::config::Policy {
    policy(&format!(
        "- name: web\n  target: {{namespace: shop, name: web}}\n  minReplicas: 1\n  maxReplicas: 100\n  metrics:\n  - resource: {{name: cpu, targetAverageUtilization: 50}}\n{extra}"
    ))
}

/// TestReplicaCalcScaleDown's pods: 28 % against a 50 % target, 5 → 3.
fn low_cpu(at: Timestamp) -> Vec<MetricSample> {
    let pods = [100.0, 300.0, 500.0, 250.0, 250.0]
        .iter()
        .map(|&u| PodMetric {
            usage: Some(u * 2.0),
            request: 2000.0,
            ready: true,
        })
        .collect();
    vec![MetricSample {
        index: 0,
        reading: MetricReading::Pods { pods },
        observed_at: at,
    }]
}

/// Item 1: recordInitialRecommendation. A process that starts (or becomes
/// leader) with no history records the current count, so no scale-down
/// happens within the scale-down stabilization window (300 s by default).
#[test]
fn restart_does_not_scale_down_within_the_stabilization_window() {
    let p = cpu_policy("");
    let start = ago(1000);
    let mut state = PolicyState::default();
    for s in (0..300).step_by(15) {
        let t = Timestamp::from_millis(start.millis() + s * 1000);
        let d = desired_replicas(&p, &low_cpu(t), 5, 5, t, &mut state);
        assert_eq!(d.replicas, 5, "held at +{s}s");
        assert!(
            d.reasons
                .iter()
                .any(|r| r.code == ReasonCode::ScaleDownStabilized),
            "+{s}s: {:?}",
            d.reasons
        );
    }
    // Past the window the HPA's answer, 3.
    let t = Timestamp::from_millis(start.millis() + 300_000);
    assert_eq!(desired_replicas(&p, &low_cpu(t), 5, 5, t, &mut state).replicas, 3);
}

/// A leader change mid-way is a new process with empty history: the window
/// starts again from the new leader's first tick.
#[test]
fn leader_change_restarts_the_stabilization_window() {
    let p = cpu_policy("");
    let mut old_leader = PolicyState::default();
    let _ = desired_replicas(&p, &low_cpu(ago(1000)), 5, 5, ago(1000), &mut old_leader);
    let mut new_leader = PolicyState::default();
    let d = desired_replicas(&p, &low_cpu(ago(200)), 5, 5, ago(200), &mut new_leader);
    assert_eq!(d.replicas, 5);
    let d = desired_replicas(&p, &low_cpu(ago(0)), 5, 5, ago(0), &mut new_leader);
    assert_eq!(d.replicas, 5, "200 s after the new leader's first tick");
}

/// Item 2: a scale-up period starts at current − added + removed. At 4
/// replicas after a scale-down from 8 within the period, 100 %/60 s allows
/// ceil(8 × 2) = 16 (counting only scale-ups would give 8).
#[test]
fn scale_up_period_counts_scale_down_events() {
    let up = super::behavior_rules_percent(100, 60);
    let down = defaults::scale_down();
    let events = VecDeque::from([(ago(30), -4)]);
    let input = BehaviorInput {
        raw: 100,
        current: 4,
        min: 1,
        max: 100,
        up: &up,
        down: &down,
        now: NOW,
    };
    assert_eq!(limit_rate(&input, 100, &events), (16, Some(Limit::ScaleUp)));
}

/// Item 2, the other direction: at 7 after +2 (5 → 7) within the period,
/// 1 pod/60 s down allows (7 − 2) − 1 = 4... but never below what the
/// metrics want; wanting 1 gives 4 (counting only scale-downs gives 6).
#[test]
fn scale_down_period_counts_scale_up_events() {
    let up = defaults::scale_up();
    let mut down = super::behavior_rules_percent(0, 60);
    down.policies = vec![spillway_core::config::ScalingPolicy {
        kind: spillway_core::config::ScalingPolicyKind::Pods,
        value: 1,
        period: std::time::Duration::from_secs(60),
    }];
    let events = VecDeque::from([(ago(30), 2)]);
    let input = BehaviorInput {
        raw: 1,
        current: 7,
        min: 1,
        max: 100,
        up: &up,
        down: &down,
        now: NOW,
    };
    assert_eq!(limit_rate(&input, 1, &events), (4, Some(Limit::ScaleDown)));
}

/// Item 4: utilization is a whole percent. 299 m of 3000 m is 9 %, so at a
/// 9 % target the ratio is 1 and nothing scales (9.97 % / 9 = 1.108 would
/// leave the tolerance band and scale 10 → 12).
#[test]
fn utilization_is_a_whole_percent() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  tolerance: 0.1\n  metrics:\n  - resource: {name: cpu, targetAverageUtilization: 9}\n",
    );
    let pods = vec![PodMetric {
        usage: Some(299.0),
        request: 3000.0,
        ready: true,
    }];
    let s = vec![MetricSample {
        index: 0,
        reading: MetricReading::Pods { pods },
        observed_at: NOW,
    }];
    let mut st = PolicyState::default();
    let d = desired_replicas(&p, &s, 10, 10, NOW, &mut st);
    assert_eq!(d.replicas, 10);
    assert!(
        d.reasons.iter().any(|r| r.code == ReasonCode::WithinTolerance),
        "{:?}",
        d.reasons
    );
}

/// Item 4: the tolerance is inclusive. A ratio of exactly 1.1 (1100 against
/// 100 per replica at 10 replicas) with tolerance 0.1 does not scale.
#[test]
fn tolerance_bound_is_inclusive() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  metrics:\n  - prometheus: {query: q, targetAverageValue: 100}\n",
    );
    let mut st = PolicyState::default();
    let d = desired_replicas(&p, &[MetricSample::value(0, 1100.0, NOW)], 10, 10, NOW, &mut st);
    assert_eq!(d.replicas, 10);
}

/// Item 6: per-direction tolerance (autoscaling/v2 behavior.*.tolerance).
#[test]
fn per_direction_tolerance() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  metrics:\n  - prometheus: {query: q, targetAverageValue: 100}\n  behavior:\n    scaleUp: {tolerance: 0.0}\n    scaleDown: {tolerance: 0.5, stabilizationWindow: 0s}\n",
    );
    let mut st = PolicyState::default();
    // 1.05 is outside an up-tolerance of 0: 10.5 → 11.
    let d = desired_replicas(&p, &[MetricSample::value(0, 1050.0, NOW)], 10, 10, NOW, &mut st);
    assert_eq!(d.replicas, 11);
    // 0.6 is inside a down-tolerance of 0.5.
    let mut st = PolicyState::default();
    let d = desired_replicas(&p, &[MetricSample::value(0, 600.0, NOW)], 10, 10, NOW, &mut st);
    assert_eq!(d.replicas, 10);
}

/// Item 7: a recommendation below minReplicas is reported as the clamp,
/// not as tolerance (ratio 0.5 is far outside it).
#[test]
fn clamp_by_min_names_the_clamp() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  minReplicas: 2\n  maxReplicas: 100\n  metrics:\n  - prometheus: {query: q, targetAverageValue: 100}\n  behavior:\n    scaleDown: {stabilizationWindow: 0s}\n",
    );
    let mut st = PolicyState::default();
    let d = desired_replicas(&p, &[MetricSample::value(0, 100.0, NOW)], 2, 2, NOW, &mut st);
    assert_eq!(d.replicas, 2);
    let codes: Vec<_> = d.reasons.iter().map(|r| r.code).collect();
    assert!(codes.contains(&ReasonCode::ClampedToMin), "{codes:?}");
    assert!(!codes.contains(&ReasonCode::WithinTolerance), "{codes:?}");
}
