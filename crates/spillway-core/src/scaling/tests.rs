//! The worked examples of the Kubernetes HPA documentation
//! (concepts/workloads/autoscaling/horizontal-pod-autoscale), and the
//! missing-metric rules.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::config::{self, Policy};
use crate::metrics::{MetricReading, PodMetric};

const HEAD: &str = "cluster: {id: test}\nmetricSources: {prometheus: {url: 'http://prom:9090'}}\npolicies:\n";

fn policy(body: &str) -> Policy {
    let yaml = format!("{HEAD}{body}");
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let p = loaded.policies[0]
        .result
        .clone()
        .unwrap_or_else(|e| panic!("{e:?}"));
    (*p).clone()
}

fn prom_policy(extra: &str) -> Policy {
    policy(&format!(
        "- name: web\n  target: {{namespace: shop, name: web}}\n  minReplicas: 1\n  maxReplicas: 100\n  metrics:\n  - prometheus: {{query: q, targetAverageValue: 100}}\n{extra}"
    ))
}

fn cpu_value_policy() -> Policy {
    policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  metrics:\n  - resource: {name: cpu, targetAverageValue: 100m}\n",
    )
}

fn pods(usages_millis: &[Option<f64>], ready: bool) -> MetricReading {
    MetricReading::Pods {
        pods: usages_millis
            .iter()
            .map(|u| PodMetric {
                usage: *u,
                request: 500.0,
                ready,
            })
            .collect(),
    }
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(s)
}

fn run(p: &Policy, value: f64, current: u32, now: i64, state: &mut PolicyState) -> Desired {
    desired_replicas(
        p,
        &[MetricSample::value(0, value, at(now))],
        current,
        current,
        at(now),
        state,
    )
}

#[test]
fn doc_current_200m_target_100m_doubles() {
    let p = cpu_value_policy();
    let sample = MetricSample {
        index: 0,
        reading: pods(&[Some(200.0); 3], true),
        observed_at: at(0),
    };
    let d = desired_replicas(&p, &[sample], 3, 3, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 6);
    assert!(d.reasons.iter().any(|r| r.code == ReasonCode::ScaleUp));
}

#[test]
fn doc_current_50m_target_100m_halves() {
    let p = cpu_value_policy();
    let sample = MetricSample {
        index: 0,
        reading: pods(&[Some(50.0); 4], true),
        observed_at: at(0),
    };
    // A controller that has been running: the first reconcile after a start
    // would hold the current 4 for the stabilization window (see restart tests).
    let mut st = PolicyState {
        last_desired: Some(4),
        ..PolicyState::default()
    };
    let d = desired_replicas(&p, &[sample], 4, 4, at(0), &mut st);
    assert_eq!(d.replicas, 2);
}

#[test]
fn doc_ratio_within_tolerance_skips_scaling() {
    // 1.05 is within the default tolerance of 0.1.
    let p = prom_policy("");
    let d = run(&p, 1050.0, 10, 0, &mut PolicyState::default());
    assert_eq!(d.replicas, 10);
    assert!(d.reasons.iter().any(|r| r.code == ReasonCode::WithinTolerance));
    // 1.2 is not.
    let d = run(&p, 1200.0, 10, 0, &mut PolicyState::default());
    assert_eq!(d.replicas, 12);
}

#[test]
fn doc_missing_pods_count_as_zero_on_scale_up() {
    // Utilization 100 % on 2 ready pods against a 50 % target: ratio 2. The
    // missing pod counts as 0 %, so the ratio becomes 200/3/50 = 1.33 over 3 pods: 4.
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  metrics:\n  - resource: {name: cpu, targetAverageUtilization: 50}\n",
    );
    let sample = MetricSample {
        index: 0,
        reading: pods(&[Some(500.0), Some(500.0), None], true),
        observed_at: at(0),
    };
    let d = desired_replicas(&p, &[sample], 3, 2, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 4);
}

#[test]
fn doc_missing_pods_count_as_full_on_scale_down() {
    // 10 % on two ready pods against 50 %: scale-down. The missing pod counts
    // as 100 %: (10+10+100)/3 = 40 % → ratio 0.8 over 3 pods → 3 (2.4 rounds up)... → no reduction below ceil.
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  behavior: {scaleDown: {stabilizationWindow: 0s}}\n  metrics:\n  - resource: {name: cpu, targetAverageUtilization: 50}\n",
    );
    let sample = MetricSample {
        index: 0,
        reading: pods(&[Some(50.0), Some(50.0), None], true),
        observed_at: at(0),
    };
    let d = desired_replicas(&p, &[sample], 3, 2, at(0), &mut PolicyState::default());
    assert_eq!(
        d.replicas, 3,
        "ceil(0.8 × 3) = 3: the missing pod keeps the HPA from scaling down"
    );
}

#[test]
fn doc_default_scale_up_is_100_percent_or_4_pods_per_15s() {
    let p = prom_policy("");
    let mut st = PolicyState::default();
    let d = run(&p, 10_000.0, 1, 0, &mut st);
    assert_eq!(d.replicas, 5, "max(1 × 200 %, 1 + 4)");
    let d = run(&p, 10_000.0, 5, 5, &mut st);
    assert_eq!(
        d.replicas, 5,
        "within the same 15 s period nothing more is allowed"
    );
    let d = run(&p, 10_000.0, 5, 15, &mut st);
    assert_eq!(d.replicas, 10, "next period: max(5 × 200 %, 5 + 4)");
}

#[test]
fn doc_scale_down_policies_example_80_to_10() {
    // behavior.scaleDown: Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max:
    // 80 → 72 (8 = 10 %), then 72 → 64 (7.2 rounded to 8), and from 40 on, 4 pods.
    let p = prom_policy(
        "  behavior:\n    scaleDown:\n      stabilizationWindow: 0s\n      policies:\n      - {type: Pods, value: 4, period: 60s}\n      - {type: Percent, value: 10, period: 60s}\n",
    );
    let mut st = PolicyState::default();
    let mut current = 80;
    let mut seen = vec![];
    for step in 0..6 {
        let d = run(&p, 1000.0, current, step * 60, &mut st);
        current = d.replicas;
        seen.push(current);
    }
    assert_eq!(seen, vec![72, 64, 57, 51, 45, 40]);
    let d = run(&p, 1000.0, 40, 6 * 60, &mut st);
    assert_eq!(d.replicas, 36);
    let d = run(&p, 1000.0, 30, 7 * 60, &mut st);
    assert_eq!(d.replicas, 26, "at 30, 4 pods (26) beats 10 % (27)");
}

#[test]
fn doc_scale_down_stabilization_uses_highest_recommendation() {
    let p = prom_policy("");
    let mut st = PolicyState::default();
    assert_eq!(run(&p, 1000.0, 10, 0, &mut st).replicas, 10);
    // Demand halves: the 300 s window keeps the earlier 10.
    let d = run(&p, 500.0, 10, 60, &mut st);
    assert_eq!(d.replicas, 10);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == ReasonCode::ScaleDownStabilized)
    );
    assert_eq!(run(&p, 500.0, 10, 299, &mut st).replicas, 10);
    assert_eq!(run(&p, 500.0, 10, 301, &mut st).replicas, 5);
}

#[test]
fn doc_select_policy_disabled_prevents_scale_down() {
    let p = prom_policy("  behavior:\n    scaleDown: {selectPolicy: Disabled, stabilizationWindow: 0s}\n");
    let d = run(&p, 100.0, 10, 0, &mut PolicyState::default());
    assert_eq!(d.replicas, 10);
}

#[test]
fn clamps_to_min_and_max() {
    let p = prom_policy("  behavior: {scaleDown: {stabilizationWindow: 0s}}\n");
    let d = run(&p, 0.0, 3, 0, &mut PolicyState::default());
    assert_eq!(d.replicas, 1, "zero demand goes to minReplicas, never 0");
    let mut st = PolicyState::default();
    let p = prom_policy("  behavior: {scaleUp: {policies: [{type: Pods, value: 1000, period: 15s}]}}\n");
    let d = run(&p, 1e9, 50, 0, &mut st);
    assert_eq!(d.replicas, 100);
    assert!(d.reasons.iter().any(|r| r.code == ReasonCode::ClampedToMax));
}

#[test]
fn all_metrics_missing_holds_then_falls_back() {
    let p = prom_policy("  onMetricsMissing: {fallbackReplicas: 20, after: 2m}\n");
    let mut st = PolicyState::default();
    let missing = |t| vec![MetricSample::missing(0, "timeout", at(t))];
    let d = desired_replicas(&p, &missing(0), 7, 7, at(0), &mut st);
    assert_eq!(d.replicas, 7);
    assert!(d.reasons.iter().any(|r| r.code == ReasonCode::MetricsMissingHold));
    let d = desired_replicas(&p, &missing(119), 7, 7, at(119), &mut st);
    assert_eq!(d.replicas, 7);
    let d = desired_replicas(&p, &missing(120), 7, 7, at(120), &mut st);
    assert_eq!(d.replicas, 20);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == ReasonCode::MetricsMissingFallback)
    );
    // Recovery resumes normal scaling and resets the clock.
    let d = run(&p, 3000.0, 20, 135, &mut st);
    assert_eq!(d.replicas, 30);
    assert_eq!(st.metrics_missing_since, None);
}

#[test]
fn a_low_first_reading_after_an_outage_waits_out_the_stabilization_window() {
    // Default scale-down window: 300 s. Readings, then an outage longer than
    // the window, then a low first reading (rate() over a window with few
    // fresh samples): the held ticks count as recommendations, so the
    // scale-down waits 300 s from the last held tick, not from the last
    // reading before the outage.
    let p = prom_policy("");
    let mut st = PolicyState::default();
    assert_eq!(run(&p, 3000.0, 30, 0, &mut st).replicas, 30);
    let missing = |t| vec![MetricSample::missing(0, "unreachable", at(t))];
    for t in (10..=400).step_by(10) {
        assert_eq!(
            desired_replicas(&p, &missing(t), 30, 30, at(t), &mut st).replicas,
            30
        );
    }
    let d = run(&p, 800.0, 30, 410, &mut st);
    assert_eq!(d.replicas, 30, "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == ReasonCode::ScaleDownStabilized)
    );
    assert_eq!(run(&p, 800.0, 30, 701, &mut st).replicas, 8);
}

#[test]
fn nan_and_negative_values_are_missing_not_zero() {
    let p = prom_policy("  behavior: {scaleDown: {stabilizationWindow: 0s}}\n");
    for v in [f64::NAN, f64::INFINITY, -1.0] {
        let d = run(&p, v, 12, 0, &mut PolicyState::default());
        assert_eq!(d.replicas, 12, "{v} must hold, not scale");
    }
}

#[test]
fn partial_metrics_only_scale_up() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  behavior: {scaleDown: {stabilizationWindow: 0s}}\n  metrics:\n  - prometheus: {query: a, targetAverageValue: 100}\n  - prometheus: {query: b, targetAverageValue: 100}\n",
    );
    let down = [
        MetricSample::value(0, 100.0, at(0)),
        MetricSample::missing(1, "timeout", at(0)),
    ];
    let d = desired_replicas(&p, &down, 10, 10, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 10);
    assert!(d.reasons.iter().any(|r| r.code == ReasonCode::MetricsPartial));
    let up = [
        MetricSample::value(0, 1500.0, at(0)),
        MetricSample::missing(1, "timeout", at(0)),
    ];
    let d = desired_replicas(&p, &up, 10, 10, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 15);
}

#[test]
fn maximum_over_metrics_wins() {
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  metrics:\n  - prometheus: {query: a, targetAverageValue: 100}\n  - prometheus: {query: b, targetValue: 50}\n",
    );
    let s = [
        MetricSample::value(0, 1200.0, at(0)),
        MetricSample::value(1, 100.0, at(0)),
    ];
    // a: 12; b: ratio 2 × 10 ready = 20.
    let d = desired_replicas(&p, &s, 10, 10, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 20);
}

#[test]
fn unready_pods_without_metrics_are_ignored_not_missing() {
    // Two ready pods at 10 % against a 50 % target, plus a Pending pod with no
    // metrics. Counted as missing it would be assumed at 100 % and hold the
    // scale-down; as the HPA ignores it, the ratio 0.2 over 2 pods gives 1.
    let p = policy(
        "- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 100\n  behavior: {scaleDown: {stabilizationWindow: 0s}}\n  metrics:\n  - resource: {name: cpu, targetAverageUtilization: 50}\n",
    );
    let mut reading = pods(&[Some(50.0), Some(50.0)], true);
    if let MetricReading::Pods { pods } = &mut reading {
        pods.push(PodMetric {
            usage: None,
            request: 500.0,
            ready: false,
        });
    }
    let sample = MetricSample {
        index: 0,
        reading,
        observed_at: at(0),
    };
    let d = desired_replicas(&p, &[sample], 3, 2, at(0), &mut PolicyState::default());
    assert_eq!(d.replicas, 1);
}

fn run_with_signal(
    p: &Policy,
    value: f64,
    fast: f64,
    current: u32,
    now: i64,
    state: &mut PolicyState,
) -> Desired {
    desired_replicas_with_history(
        p,
        &[MetricSample::value(0, value, at(now))],
        Lookahead {
            history: &[],
            scale_up: &[MetricSample::value(0, fast, at(now))],
        },
        current,
        current,
        at(now),
        state,
    )
}

/// A policy whose `scaleUpQuery` may add up to 50 % over the HPA's answer.
fn signal_policy(extra: &str) -> Policy {
    policy(&format!(
        "- name: web\n  target: {{namespace: shop, name: web}}\n  minReplicas: 1\n  maxReplicas: 1000\n  behavior: {{scaleDown: {{stabilizationWindow: 0s}}}}\n  predict: {{maxAddPercent: 50}}\n  metrics:\n  - prometheus: {{query: 'sum(rate(x[2m]))', scaleUpQuery: 'sum(rate(x[30s]))', {extra}targetAverageValue: 100}}\n"
    ))
}

/// The shorter window sees a step the averaged metric does not show yet:
/// replicas for it at once (within `maxAddPercent`), and once it reads no
/// higher than the metric, the HPA's answer alone, with no window held.
#[test]
fn a_scale_up_query_adds_replicas_before_the_averaged_metric_shows_the_rise() {
    let p = signal_policy("");
    let mut state = PolicyState::default();
    let d = run_with_signal(&p, 1000.0, 1000.0, 10, 0, &mut state);
    assert_eq!(d.replicas, 10);
    let d = run_with_signal(&p, 1000.0, 1400.0, 10, 15, &mut state);
    assert_eq!(d.replicas, 14, "{:?}", d.reasons);
    assert!(
        d.reasons.iter().any(|r| r.code == ReasonCode::ScaleUpSignal),
        "{:?}",
        d.reasons
    );
    let d = run_with_signal(&p, 1000.0, 3000.0, 14, 30, &mut state);
    assert_eq!(
        d.replicas, 15,
        "capped at 50 % over the reactive 10: {:?}",
        d.reasons
    );
    let d = run_with_signal(&p, 1000.0, 900.0, 15, 45, &mut state);
    assert_eq!(
        d.replicas, 10,
        "a lower short window never lowers, and holds nothing: {:?}",
        d.reasons
    );
    // Without a scaleUpQuery, the same readings change nothing.
    let plain = prom_policy("");
    let mut state = PolicyState::default();
    run_with_signal(&plain, 1000.0, 1000.0, 10, 0, &mut state);
    assert_eq!(
        run_with_signal(&plain, 1000.0, 3000.0, 10, 15, &mut state).replicas,
        10
    );
}

/// `scaleUpMinRisePercent`: a short window only slightly above the
/// averaged metric (noise) adds nothing; a rise past the threshold does.
#[test]
fn a_scale_up_query_below_its_minimum_rise_adds_nothing() {
    let p = signal_policy("scaleUpMinRisePercent: 20, ");
    let mut state = PolicyState::default();
    assert_eq!(
        run_with_signal(&p, 1000.0, 1000.0, 10, 0, &mut state).replicas,
        10
    );
    let d = run_with_signal(&p, 1000.0, 1190.0, 10, 15, &mut state);
    assert_eq!(d.replicas, 10, "19 % above: below the threshold: {:?}", d.reasons);
    let d = run_with_signal(&p, 1000.0, 1210.0, 10, 30, &mut state);
    assert_eq!(d.replicas, 13, "21 % above: acts: {:?}", d.reasons);
    // The same 19 % rise acts without a threshold.
    let plain = signal_policy("");
    let mut state = PolicyState::default();
    run_with_signal(&plain, 1000.0, 1000.0, 10, 0, &mut state);
    assert_eq!(
        run_with_signal(&plain, 1000.0, 1190.0, 10, 15, &mut state).replicas,
        12
    );
}

/// By default the signal adds at most the larger of 2 % and 2 replicas,
/// as the HPA combines a `Percent` and a `Pods` policy under
/// `selectPolicy: Max`; either part can be raised alone.
#[test]
fn the_signal_adds_the_larger_of_max_add_percent_and_max_add_replicas() {
    let with = |predict: &str| {
        policy(&format!(
            "- name: web\n  target: {{namespace: shop, name: web}}\n  minReplicas: 1\n  maxReplicas: 1000\n  behavior: {{scaleDown: {{stabilizationWindow: 0s}}}}\n{predict}  metrics:\n  - prometheus: {{query: 'sum(rate(x[2m]))', scaleUpQuery: 'sum(rate(x[30s]))', targetAverageValue: 100}}\n"
        ))
    };
    // (predict block, reactive replicas, what the signal may reach)
    for (predict, reactive, reach) in [
        ("", 10, 12),                                 // 2 % of 10 is under 2 replicas
        ("", 100, 102),                               // 2 % of 100 is 2 replicas
        ("", 300, 306),                               // 2 % of 300 is 6
        ("  predict: {maxAddReplicas: 5}\n", 10, 15), // the replicas part raised
        ("  predict: {maxAddPercent: 30}\n", 10, 13), // the percent part raised
        ("  predict: {maxAddReplicas: 1, maxAddPercent: 0}\n", 300, 301),
    ] {
        let p = with(predict);
        let value = f64::from(reactive) * 100.0;
        let mut state = PolicyState::default();
        run_with_signal(&p, value, value, reactive, 0, &mut state);
        let d = run_with_signal(&p, value, value * 3.0, reactive, 15, &mut state);
        assert_eq!(d.replicas, reach, "{predict:?} from {reactive}: {:?}", d.reasons);
        assert!(
            d.reasons
                .iter()
                .any(|r| r.code == ReasonCode::ScaleUpSignal && r.message.contains("maxAddReplicas")),
            "the reason names the cap: {:?}",
            d.reasons
        );
    }
}

/// `maxAddReplicas` below 1 would let a percentage round the signal away
/// on small workloads: refused, naming the field.
#[test]
fn max_add_replicas_must_be_at_least_one() {
    let yaml = format!(
        "{HEAD}- name: web\n  target: {{namespace: shop, name: web}}\n  maxReplicas: 10\n  predict: {{maxAddReplicas: 0}}\n  metrics:\n  - prometheus: {{query: q, targetAverageValue: 100}}\n"
    );
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let e = loaded.policies[0]
        .result
        .clone()
        .expect_err("maxAddReplicas 0 is refused");
    let text = format!("{e:?}");
    assert!(text.contains("policies[0].predict.maxAddReplicas"), "{text}");
    assert!(text.contains("must be between 1 and 1000"), "{text}");
}

#[test]
fn a_minimum_rise_without_a_scale_up_query_is_refused_with_its_path() {
    let yaml = format!(
        "{HEAD}- name: web\n  target: {{namespace: shop, name: web}}\n  maxReplicas: 10\n  metrics:\n  - prometheus: {{query: q, scaleUpMinRisePercent: 10, targetAverageValue: 1}}\n"
    );
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let err = format!("{:?}", loaded.policies[0].result.as_ref().err());
    assert!(
        err.contains("metrics[0].prometheus.scaleUpMinRisePercent"),
        "{err}"
    );
}

#[test]
fn an_empty_scale_up_query_is_refused_with_its_path() {
    let yaml = format!(
        "{HEAD}- name: web\n  target: {{namespace: shop, name: web}}\n  maxReplicas: 10\n  metrics:\n  - prometheus: {{query: q, scaleUpQuery: ' ', targetAverageValue: 1}}\n"
    );
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let err = format!("{:?}", loaded.policies[0].result.as_ref().err());
    assert!(err.contains("metrics[0].prometheus.scaleUpQuery"), "{err}");
}
