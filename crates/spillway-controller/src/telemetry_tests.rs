//! Unit tests of `telemetry.rs`.
use spillway_core::aci::GroupRequests;
use spillway_core::plan::{
    BurstCounts, CreateGroup, DeleteCause, DeleteGroup, Plan, Reason, ReasonCode, ScaleChange, VmCounts,
};
use spillway_core::time::Timestamp;

use super::decision_labels;

fn plan(reasons: &[ReasonCode]) -> Plan {
    Plan {
        policy: "web".into(),
        at: Timestamp::from_millis(0),
        desired_replicas: 5,
        deployment_replicas: 5,
        scale: None,
        burst_target: 0,
        creates: Vec::new(),
        drains: Vec::new(),
        deletes: Vec::new(),
        vm: VmCounts::default(),
        burst: BurstCounts::default(),
        vm_fit: 0,
        headroom_replicas: 0,
        burst_hourly_cost: 0.0,
        forecast_replicas: None,
        standby: None,
        overflow_age_matters: false,
        reasons: reasons
            .iter()
            .map(|&code| Reason {
                code,
                message: String::new(),
            })
            .collect(),
    }
}

/// The per-policy series cache must not outlive the series: after a
/// policy is forgotten and comes back, a plan shows on `/metrics` again.
#[test]
fn a_forgotten_policy_that_returns_gets_live_series() {
    let m = super::Metrics::new().expect("metrics");
    m.init_policy("web", 1);
    let mut p = plan(&[ReasonCode::WithinTolerance]);
    m.observe_plan(&p, std::time::Duration::ZERO, true);
    assert!(m.encode().contains("spillway_desired_replicas{policy=\"web\"} 5"));
    m.forget_policy("web", 1);
    assert!(!m.encode().contains("spillway_desired_replicas{policy=\"web\"}"));
    // A tick of the removed policy that finishes late re-creates its series
    // (and caches them); forgetting the policy again must drop both, so that
    // a returning policy writes to series that are in the registry.
    m.observe_plan(&p, std::time::Duration::ZERO, true);
    m.forget_policy("web", 1);
    m.init_policy("web", 1);
    assert!(m.encode().contains("spillway_desired_replicas{policy=\"web\"} 0"));
    p.desired_replicas = 7;
    m.observe_plan(&p, std::time::Duration::ZERO, true);
    assert!(m.encode().contains("spillway_desired_replicas{policy=\"web\"} 7"));
    assert_eq!(super::index_label(3), "3");
    assert_eq!(super::index_label(12), "12");
}

#[test]
fn a_noop_is_no_decision() {
    assert_eq!(decision_labels(&plan(&[ReasonCode::WithinTolerance])), None);
}

#[test]
fn a_deployment_scale_takes_the_first_reason() {
    let mut p = plan(&[ReasonCode::ScaleUp, ReasonCode::VmCapped, ReasonCode::Burst]);
    p.scale = Some(ScaleChange { from: 13, to: 14 });
    assert_eq!(decision_labels(&p), Some(("up", "scale_up")));
    p.scale = Some(ScaleChange { from: 14, to: 5 });
    p.reasons[0].code = ReasonCode::ScaleDownStabilized;
    assert_eq!(decision_labels(&p), Some(("down", "scale_down_stabilized")));
}

#[test]
fn a_burst_only_plan_takes_its_burst_reason() {
    let mut p = plan(&[
        ReasonCode::WithinTolerance,
        ReasonCode::BurstScaleInStabilized,
        ReasonCode::BurstScaleIn,
        ReasonCode::Drain,
    ]);
    p.drains = vec!["demo-web-10".into()];
    assert_eq!(decision_labels(&p), Some(("burst_down", "burst_scale_in")));

    let mut p = plan(&[ReasonCode::WithinTolerance, ReasonCode::ReplaceFailed]);
    p.creates = vec![CreateGroup {
        name: "demo-web-3".into(),
        ordinal: 3,
        location: "westeurope".into(),
        zone: None,
        template_hash: "h".into(),
        requests: GroupRequests {
            cpu_centi: 50,
            memory_deci_gb: 10,
        },
    }];
    assert_eq!(decision_labels(&p), Some(("burst_up", "replace_failed")));
}

#[test]
fn deleting_drained_groups_is_a_drain() {
    let mut p = plan(&[
        ReasonCode::ScaleDownStabilized,
        ReasonCode::BurstScaleInStabilized,
    ]);
    p.deletes = vec![DeleteGroup {
        name: "demo-web-9".into(),
        cause: DeleteCause::Drained,
    }];
    assert_eq!(decision_labels(&p), Some(("burst_down", "drain")));
}
