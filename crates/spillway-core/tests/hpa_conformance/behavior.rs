//! `horizontal_test.go`: behavior rate limits and stabilization.

use std::collections::VecDeque;
use std::time::Duration;

use spillway_core::config::{ScalingPolicy, ScalingPolicyKind, ScalingRules, SelectPolicy, defaults};
use spillway_core::scaling::behavior::{BehaviorInput, Limit, ScaleEvents, limit_rate, stabilize};

use super::{NOW, ago};

/// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow)`.
fn rules(pods: u32, pods_period: u64, percent: u32, percent_period: u64, window: u64) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: ScalingPolicyKind::Pods,
            value: pods,
            period: Duration::from_secs(pods_period),
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            kind: ScalingPolicyKind::Percent,
            value: percent,
            period: Duration::from_secs(percent_period),
        });
    }
    ScalingRules {
        stabilization_window: Duration::from_secs(window),
        select_policy: SelectPolicy::Max,
        policies,
        tolerance: None,
    }
}

/// `generateEventsUniformDistribution(raw, period)`: event i in the middle
/// of the i-th of `raw.len()` equal segments of the last `period` seconds,
/// truncated to whole seconds as `time.Duration(float64)` does. `sign`: +1
/// for scale-up events, −1 for scale-down ones.
fn events(raw: &[i64], period: i64, sign: i64, into: &mut ScaleEvents) {
    let segment = period as f64 / raw.len() as f64;
    for (i, &change) in raw.iter().enumerate() {
        let back = (period as f64 - segment * (i as f64 + 1.0) + segment / 2.0) as i64;
        into.push_back((ago(back), sign * change));
    }
    into.make_contiguous().sort_by_key(|(t, _)| *t);
}

struct Case {
    name: &'static str,
    up_events: &'static [i64],
    down_events: &'static [i64],
    min: u32,
    max: u32,
    up: Option<ScalingRules>,
    down: Option<ScalingRules>,
    current: u32,
    prenormalized: u32,
    expected: u32,
    condition: Option<Limit>,
}

const WITHIN: Option<Limit> = None;
const UP: Option<Limit> = Some(Limit::ScaleUp);
const DOWN: Option<Limit> = Some(Limit::ScaleDown);
const TOO_MANY: Option<Limit> = Some(Limit::Max);
const TOO_FEW: Option<Limit> = Some(Limit::Min);

fn case(name: &'static str, min: u32, max: u32, current: u32, prenormalized: u32) -> Case {
    Case {
        name,
        up_events: &[],
        down_events: &[],
        min,
        max,
        up: None,
        down: None,
        current,
        prenormalized,
        expected: 0,
        condition: None,
    }
}

impl Case {
    fn up(mut self, r: ScalingRules) -> Self {
        self.up = Some(r);
        self
    }
    fn down(mut self, r: ScalingRules) -> Self {
        self.down = Some(r);
        self
    }
    fn up_events(mut self, e: &'static [i64]) -> Self {
        self.up_events = e;
        self
    }
    fn down_events(mut self, e: &'static [i64]) -> Self {
        self.down_events = e;
        self
    }
    fn expect(mut self, replicas: u32, condition: Option<Limit>) -> Self {
        self.expected = replicas;
        self.condition = condition;
        self
    }
}

/// `TestScalingWithRules` (convertDesiredReplicasWithBehaviorRate). Events
/// generated over 120 s in every upstream case.
#[test]
fn test_scaling_with_rules() {
    let cases = vec![
        case("prenormalized desired replicas within range", 3, 8, 5, 7).expect(7, WITHIN),
        case("prenormalized desired replicas < minReplicas", 2, 8, 3, 1).expect(2, TOO_FEW),
        case("prenormalized desired replicas within range when minReplicas is 0", 0, 10, 1, 0).expect(0, WITHIN),
        case("maxReplicas is the limit because maxReplicas < scaleUpLimit", 1, 10, 20, 1000).expect(10, TOO_MANY),
        case("desired replica count is more than the maximum replica count", 100, 150, 100, 1000).expect(150, TOO_MANY),
        case("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", 1, 2000, 3, 1000)
            .up(rules(0, 0, 1, 60, 0))
            .expect(4, UP),
        // `testThis: true` upstream (skipped there); it holds here.
        case("scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies", 3, 2000, 1000, 3)
            .down(rules(20, 60, 0, 0, 0))
            .expect(980, DOWN),
        case("scaleUp with default behavior", 1, 1000, 10, 50).expect(20, UP),
        case("scaleUp with pods policy larger than percent policy", 1, 1000, 10, 500)
            .up(rules(100, 60, 100, 60, 0))
            .expect(110, UP),
        case("scaleUp with percent policy larger than pods policy", 1, 1000, 10, 500)
            .up(rules(2, 60, 100, 60, 0))
            .expect(20, UP),
        case("scaleUp with spec MaxReplicas limitation with large pod policy", 1, 1000, 10, 50)
            .up(rules(100, 60, 0, 0, 0))
            .expect(50, WITHIN),
        case("scaleUp with spec MaxReplicas limitation with large percent policy", 1, 1000, 10, 50)
            .up(rules(10000, 60, 0, 0, 0))
            .expect(50, WITHIN),
        case("scaleUp with pod policy limitation", 1, 1000, 10, 50)
            .up(rules(30, 60, 0, 0, 0))
            .expect(40, UP),
        case("scaleUp with percent policy limitation", 1, 1000, 10, 50)
            .up(rules(0, 0, 200, 60, 0))
            .expect(30, UP),
        case("scaleDown with percent policy larger than pod policy", 1, 1000, 100, 2)
            .down(rules(20, 60, 1, 60, 300))
            .expect(80, DOWN),
        case("scaleDown with pod policy larger than percent policy", 1, 1000, 100, 2)
            .down(rules(2, 60, 1, 60, 300))
            .expect(98, DOWN),
        case("scaleDown with spec MinReplicas=nil limitation with large pod policy", 1, 1000, 10, 0)
            .down(rules(100, 60, 0, 0, 300))
            .expect(1, TOO_FEW),
        case("scaleDown with spec MinReplicas limitation with large pod policy", 1, 1000, 10, 0)
            .down(rules(100, 60, 0, 0, 300))
            .expect(1, TOO_FEW),
        case("scaleDown with spec MinReplicas limitation with large percent policy", 5, 1000, 10, 2)
            .down(rules(0, 0, 100, 60, 300))
            .expect(5, TOO_FEW),
        case("scaleDown with pod policy limitation", 1, 1000, 10, 2)
            .down(rules(5, 60, 0, 0, 300))
            .expect(5, DOWN),
        case("scaleDown with percent policy limitation", 1, 1000, 10, 5)
            .down(rules(0, 0, 50, 60, 300))
            .expect(5, WITHIN),
        case("scaleUp with spec MaxReplicas limitation with large pod policy and events", 1, 200, 100, 500)
            .up_events(&[1, 5, 9])
            .up(rules(300, 60, 0, 0, 0))
            .expect(200, TOO_MANY),
        case("scaleUp with spec MaxReplicas limitation with large percent policy and events", 1, 200, 100, 500)
            .up_events(&[1, 5, 9])
            .up(rules(0, 0, 10000, 60, 0))
            .expect(200, TOO_MANY),
        case("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events", 1, 1000, 100, 500)
            .up_events(&[1, 5, 9])
            .up(rules(5, 120, 0, 0, 0))
            .expect(100, UP),
        case("scaleUp with pod policy and previous scale up events", 1, 1000, 100, 500)
            .up_events(&[1, 5, 9])
            .up(rules(150, 120, 0, 0, 0))
            .expect(235, UP),
        case("scaleUp with percent policy and previous scale up events", 1, 1000, 100, 500)
            .up_events(&[1, 5, 9])
            .up(rules(0, 0, 200, 120, 0))
            .expect(255, UP),
        case("scaleDown with default policy and previous events", 1, 1000, 10, 5)
            .down_events(&[1, 5, 9])
            .expect(5, WITHIN),
        case("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", 1, 1000, 100, 0)
            .down_events(&[1, 5, 9])
            .down(rules(115, 120, 0, 0, 300))
            .expect(1, TOO_FEW),
        case("scaleDown with spec MinReplicas limitation with large pod policy and previous events", 5, 1000, 100, 0)
            .down_events(&[1, 5, 9])
            .down(rules(130, 120, 0, 0, 300))
            .expect(5, TOO_FEW),
        case("scaleDown with spec MinReplicas limitation with large percent policy and previous events", 5, 1000, 100, 2)
            .down_events(&[1, 5, 9])
            .down(rules(0, 0, 100, 120, 300))
            .expect(5, TOO_FEW),
        case("scaleDown with pod policy limitation and previous events", 1, 1000, 100, 2)
            .down_events(&[1, 5, 9])
            .down(rules(5, 120, 0, 0, 300))
            .expect(100, DOWN),
        case("scaleDown with percent policy limitation and previous events", 1, 1000, 100, 0)
            .down_events(&[2, 4, 6])
            .down(rules(0, 0, 50, 120, 300))
            .expect(56, DOWN),
        case("scaleDown with previous events preventing further scale down", 1, 1000, 100, 0)
            .down_events(&[10, 10, 10])
            .down(rules(0, 0, 10, 120, 300))
            .expect(100, DOWN),
        case("scaleDown with with previous events still allowing more scale down", 1, 1000, 10, 5)
            .down_events(&[10, 10, 10])
            .down(rules(0, 0, 1000, 120, 300))
            .expect(5, WITHIN),
        case("check 'outdated' flag for events for one behavior for up", 1, 1000, 100, 200)
            .up_events(&[8, 12, 9, 11])
            .up(rules(1000, 60, 0, 0, 0))
            .expect(200, WITHIN),
        case("check that events were not marked 'outdated' for two different policies in the behavior for up", 1, 1000, 100, 200)
            .up_events(&[8, 12, 9, 11])
            .up(rules(1000, 120, 100, 60, 0))
            .expect(200, WITHIN),
        case("check that events were marked 'outdated' for two different policies in the behavior for up", 1, 1000, 100, 200)
            .up_events(&[8, 12, 9, 11])
            .up(rules(1000, 30, 100, 60, 0))
            .expect(200, WITHIN),
        case("check 'outdated' flag for events for one behavior for down", 1, 1000, 100, 5)
            .down_events(&[8, 12, 9, 11])
            .down(rules(1000, 60, 0, 0, 300))
            .expect(5, WITHIN),
        case("check that events were not marked 'outdated' for two different policies in the behavior for down", 1, 1000, 100, 5)
            .down_events(&[8, 12, 9, 11])
            .down(rules(1000, 120, 100, 60, 300))
            .expect(5, WITHIN),
        case("check that events were marked 'outdated' for two different policies in the behavior for down", 1, 1000, 100, 5)
            .down_events(&[8, 12, 9, 11])
            .down(rules(1000, 30, 100, 60, 300))
            .expect(5, WITHIN),
    ];
    assert_eq!(cases.len(), 40, "every upstream row is here");
    let mut failures = Vec::new();
    for c in &cases {
        let up = c.up.clone().unwrap_or_else(defaults::scale_up);
        let down = c.down.clone().unwrap_or_else(defaults::scale_down);
        let mut ev = VecDeque::new();
        events(c.up_events, 120, 1, &mut ev);
        events(c.down_events, 120, -1, &mut ev);
        let input = BehaviorInput {
            raw: c.prenormalized,
            current: c.current,
            min: c.min,
            max: c.max,
            up: &up,
            down: &down,
            now: NOW,
        };
        let got = limit_rate(&input, c.prenormalized, &ev);
        if got != (c.expected, c.condition) {
            failures.push(format!(
                "{}: got {got:?}, want ({}, {:?})",
                c.name, c.expected, c.condition
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `TestCalculateScaleUpLimitWithScalingRules`: selectPolicy Min, 2 pods
/// or 50 % per 60 s from 1 replica: 2.
#[test]
fn test_calculate_scale_up_limit_with_scaling_rules() {
    let mut up = rules(2, 60, 50, 60, 300);
    up.select_policy = SelectPolicy::Min;
    let down = defaults::scale_down();
    let input = BehaviorInput {
        raw: 1000,
        current: 1,
        min: 1,
        max: 1000,
        up: &up,
        down: &down,
        now: NOW,
    };
    assert_eq!(limit_rate(&input, 1000, &VecDeque::new()).0, 2);
}

/// `TestCalculateScaleDownLimitWithBehaviors`: selectPolicy Min, 2 pods or
/// 50 % per 60 s from 5 replicas: 3.
#[test]
fn test_calculate_scale_down_limit_with_behaviors() {
    let mut down = rules(2, 60, 50, 60, 300);
    down.select_policy = SelectPolicy::Min;
    let up = defaults::scale_up();
    let input = BehaviorInput {
        raw: 0,
        current: 5,
        min: 0,
        max: 1000,
        up: &up,
        down: &down,
        now: NOW,
    };
    assert_eq!(limit_rate(&input, 0, &VecDeque::new()).0, 3);
}

fn windows(up_secs: u64, down_secs: u64) -> (ScalingRules, ScalingRules) {
    (rules(0, 0, 0, 0, up_secs), rules(0, 0, 0, 0, down_secs))
}

/// `TestNormalizeDesiredReplicasWithBehavior` (stabilizeRecommendationWithBehaviors).
/// Only the stabilized value is compared: upstream also checks how its log
/// reuses obsolete slots, which Spillway prunes instead (README).
#[test]
fn test_normalize_desired_replicas_with_behavior() {
    type Row = (&'static str, &'static [(u32, i64)], u32, u32, u32, u64, u64);
    // (name, recommendations (value, seconds ago), current, prenormalized, expected, up window, down window)
    let rows: &[Row] = &[
        ("empty recommendations for scaling down", &[], 100, 5, 5, 0, 0),
        (
            "simple scale down stabilization",
            &[(4, 120), (5, 60)],
            100,
            3,
            5,
            0,
            180,
        ),
        (
            "simple scale up stabilization",
            &[(4, 120), (5, 60)],
            1,
            7,
            4,
            300,
            0,
        ),
        (
            "no scale down stabilization",
            &[(1, 120), (2, 60)],
            100,
            3,
            3,
            300,
            0,
        ),
        ("no scale up stabilization", &[(4, 120), (5, 60)], 1, 3, 3, 0, 300),
        (
            "no scale down stabilization, reuse recommendation element",
            &[(10, 600), (9, 540)],
            100,
            3,
            3,
            0,
            0,
        ),
        (
            "no scale up stabilization, reuse recommendation element",
            &[(10, 600), (9, 540)],
            1,
            100,
            100,
            0,
            0,
        ),
        (
            "scale down stabilization, reuse one of obsolete recommendation element",
            &[(10, 600), (4, 60), (5, 120), (9, 540)],
            100,
            3,
            5,
            0,
            180,
        ),
        (
            "scale up stabilization, reuse one of obsolete recommendation element",
            &[(10, 6000), (6, 60), (5, 120), (9, 180)],
            1,
            100,
            5,
            300,
            0,
        ),
    ];
    for &(name, recs, current, raw, expected, up_w, down_w) in rows {
        let (up, down) = windows(up_w, down_w);
        let mut log: VecDeque<_> = recs.iter().map(|&(v, back)| (ago(back), v)).collect();
        log.make_contiguous().sort_by_key(|(t, _)| *t);
        let input = BehaviorInput {
            raw,
            current,
            min: 0,
            max: u32::MAX,
            up: &up,
            down: &down,
            now: NOW,
        };
        assert_eq!(stabilize(&input, &mut log), expected, "{name}");
        // With both windows 0 nothing is kept: no window would ever read it.
        if up_w.max(down_w) > 0 {
            assert!(
                log.iter().any(|&(t, v)| t == NOW && v == raw),
                "{name}: raw recorded"
            );
        }
    }
}

/// `TestNormalizeDesiredReplicas` (the v1 API's stabilizeRecommendation,
/// a 5-minute downscale window and no scale-up window), run through the
/// behavior path with the current replicas above every recommendation so
/// only the windows decide, as the v1 function ignores the current count.
#[test]
fn test_normalize_desired_replicas() {
    type Row = (&'static str, &'static [(u32, i64)], u32, u32);
    let rows: &[Row] = &[
        ("empty log", &[], 5, 5),
        ("stabilize", &[(4, 120), (5, 60)], 3, 5),
        ("no stabilize", &[(1, 120), (2, 60)], 3, 3),
        ("no stabilize - old recommendations", &[(10, 600), (9, 540)], 3, 3),
        (
            "stabilize - old recommendations",
            &[(10, 600), (4, 60), (5, 120), (9, 540)],
            3,
            5,
        ),
    ];
    for &(name, recs, raw, expected) in rows {
        let (up, down) = windows(0, 300);
        let mut log: VecDeque<_> = recs.iter().map(|&(v, back)| (ago(back), v)).collect();
        log.make_contiguous().sort_by_key(|(t, _)| *t);
        let input = BehaviorInput {
            raw,
            current: 1000,
            min: 0,
            max: u32::MAX,
            up: &up,
            down: &down,
            now: NOW,
        };
        assert_eq!(stabilize(&input, &mut log), expected, "{name}");
    }
}
