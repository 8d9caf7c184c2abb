//! Scenario tests of the spill planner against the in-memory world.

#![allow(clippy::unwrap_used)]

use super::testkit::{World, policy, policy_with};
use super::*;
use crate::burst::BurstState;

/// 2 nodes × 4 cores = 8 replicas of 1 core; 4 running.
fn spike_world(burst: &str) -> World {
    World::new(policy(burst), 2, 4000, 4)
}

#[test]
fn steady_state_is_a_noop() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    let p = w.tick();
    assert_eq!(p.desired_replicas, 4);
    assert!(p.is_noop(), "{p:#?}");
}

#[test]
fn spike_beyond_the_pool_spills_what_does_not_fit() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    w.demand = 1500.0; // 15 replicas; 8 fit on the nodes
    let p = w.tick();
    assert_eq!(p.desired_replicas, 15);
    assert_eq!(
        p.deployment_replicas, 15,
        "vmOverflow: pending gives the Deployment all of D"
    );
    assert_eq!(p.vm_fit, 4);
    // 4 ready + 4 that fit and will start soon; 7 to ACI.
    assert_eq!(p.creates.len(), 7);
    assert!(p.has_reason(ReasonCode::Burst));
    let names: Vec<&str> = p.creates.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[0], "c1-web-0");
    assert_eq!(p.creates[0].location, "westeurope");
    // Planning again after applying it changes nothing.
    let (again, _) = w.peek();
    assert!(again.is_noop(), "{again:#?}");
}

#[test]
fn cap_mode_fills_the_pool_before_bursting() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20, vmOverflow: cap}");
    w.demand = 700.0;
    let p = w.tick();
    assert_eq!(p.deployment_replicas, 7);
    assert!(p.creates.is_empty(), "7 fit on VMs: no burst");
    w.demand = 1200.0;
    w.schedule();
    w.make_ready();
    let p = w.tick();
    assert_eq!(p.deployment_replicas, 8, "only what fits goes to the Deployment");
    assert_eq!(p.creates.len(), 4);
    assert!(p.has_reason(ReasonCode::VmCapped));
}

#[test]
fn burst_is_capped_by_max_replicas_and_budget() {
    let mut w = spike_world("{enabled: true, maxReplicas: 3}");
    w.demand = 2000.0;
    let p = w.tick();
    assert_eq!(p.creates.len(), 3);
    assert!(p.has_reason(ReasonCode::BurstCappedMaxReplicas));

    // 1 vCPU + 1 GB: (0.0000113 + 0.0000012) × 3600 = 0.045/h; a budget of 0.1 allows 2.
    let mut w = spike_world("{enabled: true, maxReplicas: 50, maxHourlyCost: 0.1}");
    w.demand = 2000.0;
    let p = w.tick();
    assert_eq!(p.creates.len(), 2);
    assert!(p.burst_hourly_cost <= 0.1);
    assert!(p.has_reason(ReasonCode::BurstCappedBudget));
}

/// `vmOverflow: auto` while ACI is cheaper: the overflow goes to ACI as
/// far as the burst side can take it, and what it cannot take (above its
/// caps, or with no location to create in) is left Pending for the cluster
/// autoscaler, as `pending` would. A configured `cap` (a fixed pool)
/// leaves nothing Pending.
#[test]
fn auto_leaves_what_the_burst_cannot_take_pending() {
    // 2 nodes of 4 cores at 1 per hour: 0.25 per replica-hour, ACI 0.045.
    let priced = |burst: &str| {
        let mut p = crate::config::Policy::clone(&policy(burst));
        p.pricing.vm = vec![crate::config::VmPrice {
            instance_type: None,
            price_per_hour: 1.0,
            discount: 0.0,
        }];
        World::new(std::sync::Arc::new(p), 2, 4000, 4)
    };
    // 15 replicas: 8 fit on the nodes, the burst takes 3 of the other 7.
    let mut w = priced("{enabled: true, maxReplicas: 3}");
    w.demand = 1500.0;
    let p = w.tick();
    assert!(p.has_reason(ReasonCode::PlacementAci), "{:?}", p.reasons);
    assert_eq!(p.creates.len(), 3);
    assert_eq!(
        p.deployment_replicas, 12,
        "8 on the nodes and 4 Pending: {:?}",
        p.reasons
    );
    assert!(p.has_reason(ReasonCode::OverflowPending), "{:?}", p.reasons);
    assert!(!p.has_reason(ReasonCode::VmCapped), "{:?}", p.reasons);
    // The next tick, with the pods scheduled where they fit, keeps it so.
    w.schedule();
    w.make_ready();
    let (again, _) = w.peek();
    assert_eq!(again.deployment_replicas, 12, "{:?}", again.reasons);
    assert!(again.creates.is_empty(), "{:?}", again.reasons);

    // Within the burst's caps nothing is left Pending.
    let mut w = priced("{enabled: true, maxReplicas: 10}");
    w.demand = 1500.0;
    let p = w.tick();
    assert_eq!(p.deployment_replicas, 8, "{:?}", p.reasons);
    assert_eq!(p.creates.len(), 7);
    assert!(p.has_reason(ReasonCode::VmCapped), "{:?}", p.reasons);
    assert!(!p.has_reason(ReasonCode::OverflowPending), "{:?}", p.reasons);

    // No location can take creates: all of the overflow is left Pending.
    let mut w = priced("{enabled: true, maxReplicas: 10}");
    for l in ["westeurope", "northeurope"] {
        w.inventory
            .unavailable_locations
            .insert(l.to_string(), "capacity".to_string());
    }
    w.demand = 1500.0;
    let p = w.tick();
    assert!(p.creates.is_empty());
    assert_eq!(p.deployment_replicas, 15, "{:?}", p.reasons);
    assert!(p.has_reason(ReasonCode::NoLocationAvailable), "{:?}", p.reasons);

    // A configured cap is a fixed pool: the Deployment gets what fits.
    let mut w = priced("{enabled: true, maxReplicas: 3, vmOverflow: cap}");
    w.demand = 1500.0;
    let p = w.tick();
    assert_eq!(p.deployment_replicas, 8, "{:?}", p.reasons);
    assert!(!p.has_reason(ReasonCode::OverflowPending), "{:?}", p.reasons);
}

#[test]
fn backfill_is_make_before_break() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20, drainGrace: 15s}");
    w.demand = 1200.0;
    w.tick();
    w.burst_ready();
    w.schedule();
    assert_eq!(w.active_burst(), 4, "12 = 4 ready + 4 soon + 4 burst");
    // The VMs that fit become Ready: nothing else changes, the pending ones still wait.
    w.advance(15);
    w.make_ready();
    let p = w.tick();
    assert!(
        p.drains.is_empty(),
        "4 unschedulable pods still need burst cover: {p:#?}"
    );
    // The autoscaler adds a node; its pods are Starting: still no drain.
    w.add_node(4000);
    w.schedule();
    w.advance(15);
    let p = w.tick();
    assert!(
        p.drains.is_empty(),
        "starting VMs are not ready: keep the burst replicas"
    );
    // They become Ready: now, and only now, the burst replicas go.
    w.make_ready();
    w.advance(15);
    let p = w.tick();
    assert_eq!(p.drains.len(), 4);
    assert!(p.has_reason(ReasonCode::Backfill));
    assert!(p.deletes.is_empty(), "drained before deleted");
    w.advance(15);
    let p = w.tick();
    assert_eq!(p.deletes.len(), 4);
    assert!(p.deletes.iter().all(|d| d.cause == DeleteCause::Drained));
    assert_eq!(w.inventory.replicas.len(), 0);
}

#[test]
fn scale_in_removes_burst_first_after_stabilization() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20, scaleInStabilization: 60s}");
    w.demand = 1200.0;
    w.tick();
    w.burst_ready();
    w.schedule();
    w.make_ready();
    w.advance(15);
    w.tick();
    let vm_ready = w.ready_vm();
    assert_eq!(vm_ready, 8);
    // Demand drops to 5 replicas' worth.
    w.demand = 500.0;
    w.advance(15);
    let p = w.tick();
    assert_eq!(p.desired_replicas, 5);
    assert!(
        p.drains.is_empty(),
        "scaleInStabilization holds the burst replicas"
    );
    assert_eq!(
        p.deployment_replicas, 8,
        "VM replicas stay while burst replicas remain"
    );
    assert!(p.has_reason(ReasonCode::BurstScaleInStabilized));
    w.advance(61);
    let p = w.tick();
    assert_eq!(
        p.drains.len(),
        4,
        "all burst replicas leave before any VM replica"
    );
    assert_eq!(p.deployment_replicas, 8);
    w.advance(16);
    let p = w.tick();
    assert_eq!(p.deletes.len(), 4);
    assert_eq!(
        p.deployment_replicas, 5,
        "once no burst replica remains, VMs scale in"
    );
}

#[test]
fn failed_replicas_are_replaced() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    w.demand = 1000.0;
    w.tick();
    w.inventory.replicas[0].state = BurstState::Failed;
    w.advance(15);
    let p = w.tick();
    assert_eq!(p.deletes.len(), 1);
    assert_eq!(p.deletes[0].cause, DeleteCause::Failed);
    assert_eq!(p.creates.len(), 1);
    assert_ne!(
        p.creates[0].ordinal, 0,
        "the failed group's name is still taken until deleted"
    );
    assert!(p.has_reason(ReasonCode::ReplaceFailed));
}

#[test]
fn template_change_rolls_one_at_a_time_make_before_break() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    w.demand = 1000.0;
    w.tick();
    w.burst_ready();
    w.schedule();
    w.make_ready();
    assert_eq!(w.active_burst(), 2);
    w.workload.template.hash = "h2".into();
    w.advance(15);
    let p = w.tick();
    assert_eq!((p.creates.len(), p.drains.len()), (1, 0), "surge first: {p:#?}");
    for round in 0..2 {
        w.advance(15);
        let p = w.tick();
        assert!(
            p.creates.is_empty() && p.drains.is_empty(),
            "wait while the new one provisions: {p:#?}"
        );
        w.burst_ready();
        w.advance(15);
        let p = w.tick();
        assert_eq!(p.drains.len(), 1, "then one outdated replica drains");
        let drained = &p.drains[0];
        let r = w.inventory.replicas.iter().find(|r| &r.name == drained).unwrap();
        assert_eq!(r.template_hash, "h1");
        // ... and the next surge starts at once while one outdated replica remains.
        assert_eq!(p.creates.len(), usize::from(round == 0), "{p:#?}");
    }
    let live: Vec<_> = w
        .inventory
        .replicas
        .iter()
        .filter(|r| !w.state.is_draining(&r.name))
        .collect();
    assert!(live.iter().all(|r| r.template_hash == "h2"));
}

#[test]
fn creates_are_paced_by_the_rate_window() {
    let mut w = spike_world("{enabled: true, maxReplicas: 50}");
    w.inventory.headroom.creates = Some(3);
    w.demand = 3000.0;
    let p = w.tick();
    assert_eq!(p.creates.len(), 3);
    assert!(p.has_reason(ReasonCode::CreatesPaced));
}

/// With `burst.zones`, a location whose every zone answers capacity errors
/// is as unusable as one answering them itself: creates fall back to the
/// next location instead of holding (issue 17).
#[test]
fn a_location_with_every_zone_unavailable_falls_back_to_the_next() {
    let mut w = spike_world("{enabled: true, maxReplicas: 50, zones: [1, 2]}");
    for z in ["1", "2"] {
        w.inventory.unavailable_zones.insert(
            crate::burst::zone_key("westeurope", z),
            "capacity_unavailable".into(),
        );
    }
    w.demand = 1000.0;
    let p = w.tick();
    assert!(!p.creates.is_empty(), "{:?}", p.reasons);
    assert!(
        p.creates
            .iter()
            .all(|c| c.location == "northeurope" && c.zone.is_some())
    );
    assert!(p.has_reason(ReasonCode::LocationFallback));
    // One zone of the primary back: creates return there, in that zone.
    w.inventory
        .unavailable_zones
        .remove(&crate::burst::zone_key("westeurope", "1"));
    w.demand = 2000.0;
    w.advance(15);
    let p = w.tick();
    assert!(!p.creates.is_empty(), "{:?}", p.reasons);
    assert!(
        p.creates
            .iter()
            .all(|c| c.location == "westeurope" && c.zone.as_deref() == Some("1")),
        "{:?}",
        p.creates
    );
    // Every zone of both locations: nothing, and the reason says why.
    for (l, z) in [("westeurope", "1"), ("northeurope", "1"), ("northeurope", "2")] {
        w.inventory
            .unavailable_zones
            .insert(crate::burst::zone_key(l, z), "capacity_unavailable".into());
    }
    w.demand = 3000.0;
    w.advance(15);
    let p = w.tick();
    assert!(p.creates.is_empty());
    assert!(p.has_reason(ReasonCode::NoZoneAvailable), "{:?}", p.reasons);
}

#[test]
fn quota_errors_fall_back_to_the_next_location() {
    let mut w = spike_world("{enabled: true, maxReplicas: 50}");
    w.inventory
        .unavailable_locations
        .insert("westeurope".into(), "ContainerGroupQuotaReached".into());
    w.demand = 1000.0;
    let p = w.tick();
    assert!(p.creates.iter().all(|c| c.location == "northeurope"));
    assert!(p.has_reason(ReasonCode::LocationFallback));
    w.inventory
        .unavailable_locations
        .insert("northeurope".into(), "ServiceUnavailable".into());
    w.demand = 2000.0;
    w.advance(15);
    let p = w.tick();
    assert!(p.creates.is_empty());
    assert!(p.has_reason(ReasonCode::NoLocationAvailable));
}

#[test]
fn quota_headroom_caps_the_burst() {
    let mut w = spike_world("{enabled: true, maxReplicas: 50}");
    w.inventory.headroom.groups = Some(2);
    w.demand = 2000.0;
    let p = w.tick();
    assert_eq!(p.creates.len(), 2);
    assert!(p.has_reason(ReasonCode::BurstCappedQuota));
}

#[test]
fn a_template_aci_cannot_run_is_reported_not_created() {
    let mut w = spike_world("{enabled: true, maxReplicas: 50, priority: Spot}");
    w.workload.template.requests.cpu_millis = 8000;
    w.demand = 2000.0;
    let p = w.tick();
    assert!(p.creates.is_empty());
    assert!(p.has_reason(ReasonCode::TemplateNotExpressible));
}

#[test]
fn disabling_burst_drains_existing_groups() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    w.demand = 1200.0;
    w.tick();
    w.burst_ready();
    w.policy = policy("{enabled: false}");
    w.advance(15);
    let p = w.tick();
    assert_eq!(p.drains.len(), 4);
    w.advance(16);
    let p = w.tick();
    assert_eq!(p.deletes.len(), 4);
}

#[test]
fn metrics_outage_holds_burst_and_vm() {
    let mut w = spike_world("{enabled: true, maxReplicas: 20}");
    w.demand = 1200.0;
    w.tick();
    w.burst_ready();
    w.demand = f64::NAN;
    for _ in 0..10 {
        w.advance(15);
        let p = w.tick();
        assert_eq!(p.desired_replicas, 12);
        assert!(p.drains.is_empty() && p.deletes.is_empty());
        assert!(p.has_reason(ReasonCode::MetricsMissingHold));
    }
}

#[test]
fn reason_codes_serialize_as_their_metric_labels() {
    for code in [
        ReasonCode::BurstCappedMaxReplicas,
        ReasonCode::MetricsMissingHold,
        ReasonCode::Backfill,
    ] {
        let json = serde_json::to_value(code).unwrap();
        assert_eq!(json, serde_json::Value::String(code.as_str().to_string()));
    }
}

#[test]
fn deployment_scaled_to_zero_by_hand_is_paused_not_scaled_back() {
    // Issue 15 item 3: the HPA treats 0 replicas as paused.
    let mut w = spike_world("{enabled: false}");
    let _ = w.tick();
    w.workload.spec_replicas = 0;
    w.demand = 1500.0;
    let p = w.tick();
    assert_eq!(p.desired_replicas, 0);
    assert!(p.scale.is_none(), "{p:#?}");
    assert!(p.has_reason(ReasonCode::ScalingDisabled));
    // Scaled up by hand again: the Deployment's count is the current one.
    w.workload.spec_replicas = 3;
    let p = w.tick();
    assert!(!p.has_reason(ReasonCode::ScalingDisabled));
    assert!(p.desired_replicas > 3, "{p:#?}");
}

fn with_headroom(max_add_replicas: u32, min_nodes: u32) -> std::sync::Arc<crate::config::Policy> {
    policy_with(
        "{enabled: true, maxReplicas: 10}",
        &format!("  headroom: {{maxAddReplicas: {max_add_replicas}, minNodes: {min_nodes}}}\n"),
    )
}

#[test]
fn headroom_holds_warm_replicas_on_paid_for_room_outside_the_desired_count() {
    // 3 nodes of 4 cores, the pool's minimum: 12 slots, 4 replicas wanted.
    let mut w = World::new(with_headroom(5, 3), 3, 4000, 4);
    w.demand = 400.0;
    let p = w.tick();
    assert_eq!(p.desired_replicas, 4);
    assert_eq!(
        (p.deployment_replicas, p.headroom_replicas),
        (9, 5),
        "{:?}",
        p.reasons
    );
    assert!(p.has_reason(ReasonCode::Headroom), "{:?}", p.reasons);
    w.schedule();
    w.make_ready();
    // Steady: the warm replicas are not the HPA's current replicas.
    let p = w.tick();
    assert_eq!(
        (p.desired_replicas, p.deployment_replicas),
        (4, 9),
        "{:?}",
        p.reasons
    );
    assert!(p.scale.is_none(), "{:?}", p.reasons);
    // A rise to 8 finds 9 Ready: no burst, and the warm ones give way (12 slots).
    w.demand = 800.0;
    let p = w.tick();
    assert_eq!(p.desired_replicas, 8, "{:?}", p.reasons);
    assert_eq!(
        (p.deployment_replicas, p.headroom_replicas),
        (12, 4),
        "{:?}",
        p.reasons
    );
    assert!(p.creates.is_empty(), "{:?}", p.reasons);
    w.schedule();
    w.make_ready();
    // A fall: the desired count falls and the warm ones stay capped.
    w.demand = 100.0;
    let p = w.tick();
    assert_eq!(
        (p.desired_replicas, p.deployment_replicas),
        (1, 6),
        "{:?}",
        p.reasons
    );
}

#[test]
fn headroom_above_the_pool_minimum_stays_below_the_utilization_threshold() {
    // 3 nodes but a minimum of 2: the autoscaler could remove one, so only
    // room below half of the 12 cores counts (5 of 6 cores used with one more).
    let mut w = World::new(with_headroom(5, 2), 3, 4000, 4);
    w.demand = 400.0;
    let p = w.tick();
    assert_eq!(
        (p.deployment_replicas, p.headroom_replicas),
        (5, 1),
        "{:?}",
        p.reasons
    );
}

#[test]
fn headroom_is_off_by_default_and_never_beside_the_burst() {
    let mut w = World::new(policy("{enabled: true, maxReplicas: 10}"), 3, 4000, 4);
    w.demand = 400.0;
    let p = w.tick();
    assert_eq!(
        (p.deployment_replicas, p.headroom_replicas),
        (4, 0),
        "{:?}",
        p.reasons
    );

    // 15 wanted on 12 slots: the burst takes the rest and nothing is warm.
    let mut w = World::new(with_headroom(5, 3), 3, 4000, 4);
    w.demand = 1500.0;
    let p = w.tick();
    assert!(!p.creates.is_empty(), "{:?}", p.reasons);
    assert_eq!(p.headroom_replicas, 0, "{:?}", p.reasons);
    assert!(p.deployment_replicas <= 15, "{:?}", p.reasons);
    assert!(!p.has_reason(ReasonCode::Headroom), "{:?}", p.reasons);
}

#[test]
fn warm_replicas_do_not_feed_a_value_target() {
    // A `Value` target: D = ceil(value / target × ready). 4 replicas at a
    // ratio of 1.5 want 6; the warm ones beside them must not count.
    let mut p = crate::config::Policy::clone(&with_headroom(5, 3));
    if let crate::config::MetricSpec::Prometheus(q) = &mut p.metrics[0] {
        q.target_average_value = None;
        q.target_value = Some(100.0);
    }
    let mut w = World::new(std::sync::Arc::new(p), 3, 4000, 4);
    w.demand = 100.0;
    let first = w.tick();
    assert_eq!(first.desired_replicas, 4, "{:?}", first.reasons);
    assert_eq!(first.headroom_replicas, 5, "{:?}", first.reasons);
    w.schedule();
    w.make_ready();
    w.demand = 150.0;
    let p = w.tick();
    assert_eq!(p.desired_replicas, 6, "ceil(1.5 × 4), not × 9: {:?}", p.reasons);
}
