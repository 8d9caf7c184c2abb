//! HPA conformance: the Kubernetes horizontal pod autoscaler's own table
//! tests, translated case by case (same inputs, same expected outputs, each
//! test named after its upstream test) and run against spillway-core.
//!
//! Upstream sources (kubernetes/kubernetes, pkg/controller/podautoscaler/):
//! * `replica_calculator_test.go`, the autoscaling/v2 revision with
//!   container metrics and `makePodMetricLevels` (between v1.27 and v1.32;
//!   the search index's copy carries no commit id), checked against
//!   `replica_calculator.go` of v1.33+ (`Tolerances.isWithin`, per-direction
//!   tolerances);
//! * `horizontal_test.go` at commit 4e62298c1bd12c8b9b9c7337aa7fd07a8b9c37a8
//!   (`TestScalingWithRules`, `TestNormalizeDesiredReplicasWithBehavior`,
//!   `TestNormalizeDesiredReplicas`, `TestCalculateScaleUpLimitWithScalingRules`,
//!   `TestCalculateScaleDownLimitWithBehaviors`), whose expected values hold
//!   for horizontal.go's current period formula (current − added + removed).
//!
//! Cases the Spillway API cannot express, or that differ on purpose, are
//! listed with their reasons in this directory's README.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behavior;
mod replica_calculator;
mod spillway;

use spillway_core::config::{self, Policy};
use spillway_core::time::Timestamp;

/// The time every upstream test calls `time.Now()`.
pub const NOW: Timestamp = Timestamp::from_secs(1_000_000);

/// `NOW` minus `secs` seconds.
pub fn ago(secs: i64) -> Timestamp {
    Timestamp::from_secs(1_000_000 - secs)
}

/// A policy loaded through the real configuration path.
pub fn policy(body: &str) -> Policy {
    let yaml = format!(
        "cluster: {{id: test}}\nmetricSources: {{prometheus: {{url: 'http://prom:9090'}}}}\npolicies:\n{body}"
    );
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let p = loaded.policies[0]
        .result
        .clone()
        .unwrap_or_else(|e| panic!("{e:?}"));
    (*p).clone()
}

/// One Percent policy per `period` seconds, no stabilization.
pub fn behavior_rules_percent(percent: u32, period: u64) -> spillway_core::config::ScalingRules {
    spillway_core::config::ScalingRules {
        stabilization_window: std::time::Duration::ZERO,
        select_policy: spillway_core::config::SelectPolicy::Max,
        policies: vec![spillway_core::config::ScalingPolicy {
            kind: spillway_core::config::ScalingPolicyKind::Percent,
            value: percent,
            period: std::time::Duration::from_secs(period),
        }],
        tolerance: None,
    }
}
