//! The required behaviours, with the real planner in the loop.

mod common;

use common::*;
use spillway_sim::Strategy;

#[test]
fn a_step_bursts_after_the_metric_lag_and_one_tick_and_scales_in_after_stabilization() {
    let k = Knobs::default();
    let o = simulate(&k);
    let sp = run(&o, Strategy::Spillway);
    let plans = sp.plans.as_ref().expect("plans kept");
    let tl = sp.timeline.as_ref().expect("timeline kept");

    let first_create = plans
        .iter()
        .find(|p| !p.creates.is_empty())
        .map(|p| p.t)
        .expect("the step must burst");
    assert!(
        first_create > k.up,
        "no burst before the step (first create at {first_create})"
    );
    let deadline = k.up + SCRAPE + WINDOW + INTERVAL;
    assert!(
        first_create <= deadline,
        "first create at {first_create}, later than step + scrape + rate window + one tick = {deadline}"
    );
    assert!(tl.iter().any(|s| s.burst_serving > 0), "burst replicas served");

    let down = k.down.expect("a fall");
    let first_drain = plans
        .iter()
        .find(|p| p.t > down && !p.drains.is_empty())
        .map(|p| p.t)
        .expect("burst drained after the fall");
    assert!(
        first_drain >= down + SCALE_IN_STABILIZATION,
        "drained at {first_drain}, before the fall ({down}) + scaleInStabilization"
    );
    let gone_by = down + SCRAPE + WINDOW + SCALE_IN_STABILIZATION + DRAIN_GRACE + 3 * INTERVAL;
    let late: Vec<_> = tl
        .iter()
        .filter(|s| s.t >= gone_by && s.burst_live > 0)
        .map(|s| s.t)
        .collect();
    assert!(
        late.is_empty(),
        "burst replicas still alive at {:?}.. (all should be gone by {gone_by})",
        late.first()
    );
}

#[test]
fn with_a_cluster_autoscaler_vm_replicas_backfill_the_burst_without_a_gap() {
    let k = Knobs {
        down: None,
        duration: 2700,
        max_nodes: 10,
        autoscaler: true,
        vm_overflow: "pending",
        ..Knobs::default()
    };
    let o = simulate(&k);
    let sp = run(&o, Strategy::Spillway);
    let tl = sp.timeline.as_ref().expect("timeline kept");
    assert!(
        sp.figures.peak_burst_replicas > 0,
        "the step must burst before nodes arrive"
    );
    assert!(
        tl.iter().any(|s| s.nodes_ready > k.nodes),
        "the autoscaler added nodes"
    );
    let last = tl.last().expect("samples");
    assert_eq!(
        last.burst_live, 0,
        "burst replicas replaced by VM replicas by the end: {last:?}"
    );

    // Once capacity has caught up with the step, it never falls below demand again.
    let caught_up = tl
        .iter()
        .find(|s| s.t > k.up && f64::from(s.vm_ready + s.burst_serving) * CAPACITY_PER_REPLICA >= s.demand)
        .map(|s| s.t)
        .expect("capacity catches up");
    for s in tl.iter().filter(|s| s.t >= caught_up) {
        let served = f64::from(s.vm_ready + s.burst_serving) * CAPACITY_PER_REPLICA;
        assert!(
            served >= s.demand,
            "gap at t={}: serving {} VM + {} burst for demand {}",
            s.t,
            s.vm_ready,
            s.burst_serving,
            s.demand
        );
    }
    // Make before break: a burst replica leaves only when VM replicas cover
    // what it served (the desired count, or what served before if that was less).
    for w in tl.windows(2).filter(|w| w[0].t >= caught_up) {
        if w[1].burst_serving < w[0].burst_serving {
            let before = w[0].vm_ready + w[0].burst_serving;
            assert!(
                w[1].vm_ready + w[1].burst_serving >= before.min(w[1].spec_replicas),
                "burst replica removed without a VM replica in its place at t={}: {:?} -> {:?}",
                w[1].t,
                w[0],
                w[1]
            );
        }
    }
}

/// `vmOverflow: auto` with ACI cheaper than a VM slot keeps the overflow
/// on ACI, but only as far as the burst side can take it: a step beyond
/// the nodes plus `burst.maxReplicas` leaves the rest Pending, the cluster
/// autoscaler grows the pool for it, and Spillway serves at least what the
/// HPA with the autoscaler alone serves. (Before, the rest was capped away:
/// the pool never grew and the step was never served.)
#[test]
fn auto_leaves_what_the_burst_cannot_take_to_the_cluster_autoscaler() {
    let k = Knobs {
        add: 2000.0,
        down: None,
        duration: 2700,
        max_nodes: 10,
        autoscaler: true,
        vm_overflow: "auto",
        burst_max: 3,
        // A node of 5 slots at 1 per hour: 0.2 per replica-hour, far above
        // ACI's ~0.0225 for half a vCPU and GB, so `auto` keeps to ACI.
        vm_price: Some(1.0),
        ..Knobs::default()
    };
    let o = simulate(&k);
    let sp = run(&o, Strategy::Spillway);
    let vm_only = run(&o, Strategy::VmOnly);
    let plans = sp.plans.as_ref().expect("plans kept");
    assert!(
        plans
            .iter()
            .any(|p| p.reasons.iter().any(|r| r.starts_with("placement_aci"))),
        "ACI is the cheaper side here"
    );
    assert!(
        plans
            .iter()
            .any(|p| p.reasons.iter().any(|r| r.starts_with("overflow_pending"))),
        "the rest is left Pending"
    );
    let tl = sp.timeline.as_ref().expect("timeline kept");
    assert!(
        tl.iter().any(|s| s.nodes_ready > k.nodes),
        "the autoscaler added nodes"
    );
    assert_eq!(sp.figures.peak_burst_replicas, u64::from(k.burst_max));
    assert!(
        sp.figures.unserved_fraction <= vm_only.figures.unserved_fraction,
        "spillway left {} unserved, the HPA with the autoscaler alone {}",
        sp.figures.unserved_fraction,
        vm_only.figures.unserved_fraction
    );
    let last = tl.last().expect("samples");
    assert!(
        f64::from(last.vm_ready + last.burst_serving) * CAPACITY_PER_REPLICA >= last.demand,
        "the step is served by the end: {last:?}"
    );
}

#[test]
fn the_budget_cap_is_never_exceeded() {
    // One group of 0.5 vCPU / 0.5 GB costs (0.5·0.0000113 + 0.5·0.0000012)·3600 per hour.
    let per_replica = (0.5 * 0.0000113 + 0.5 * 0.0000012) * 3600.0;
    let budget = 4.5 * per_replica;
    let k = Knobs {
        max_hourly_cost: Some(budget),
        aci_failure: 0.1,
        ..Knobs::default()
    };
    let o = simulate(&k);
    let sp = run(&o, Strategy::Spillway);
    let tl = sp.timeline.as_ref().expect("timeline kept");
    assert!(
        sp.figures.peak_burst_replicas > 0,
        "the scenario must burst for the test to mean anything"
    );
    for s in tl {
        assert!(
            s.aci_hourly <= budget + 1e-9,
            "t={}: ACI billed at {}/h over the cap {budget}/h",
            s.t,
            s.aci_hourly
        );
    }
    assert!(
        sp.figures.peak_burst_replicas <= 4,
        "peak {} burst replicas, the budget pays for 4",
        sp.figures.peak_burst_replicas
    );
}

#[test]
fn vm_only_never_creates_a_container_group() {
    for k in [
        Knobs::default(),
        Knobs {
            autoscaler: true,
            max_nodes: 10,
            vm_overflow: "pending",
            ..Knobs::default()
        },
    ] {
        let o = simulate(&k);
        let vm = run(&o, Strategy::VmOnly);
        assert_eq!(vm.figures.container_groups_created, 0);
        assert_eq!(vm.figures.cost_aci, 0.0);
        assert!(
            vm.timeline
                .as_ref()
                .expect("timeline")
                .iter()
                .all(|s| s.burst_live == 0)
        );
        assert!(
            run(&o, Strategy::Spillway).figures.container_groups_created > 0,
            "spillway did burst on the same demand"
        );
    }
}

/// Warm replicas on room the pool has anyway: a step the metric has not seen
/// yet finds them Ready, for the same money (no autoscaler: the pool is
/// fixed), and none of them is ever Pending.
#[test]
fn headroom_serves_a_step_from_paid_for_room() {
    // 500 → 800 on two nodes of 5 slots: 7 replicas wanted, then 10.
    let knobs = |headroom| Knobs {
        add: 300.0,
        down: None,
        duration: 1200,
        headroom,
        ..Knobs::default()
    };
    let cold = simulate(&knobs(None));
    let warm = simulate(&knobs(Some((3, 2))));
    let (cold, warm) = (run(&cold, Strategy::Spillway), run(&warm, Strategy::Spillway));
    assert!(
        cold.figures.shortfall_replica_seconds > 0.0,
        "the step is short without headroom"
    );
    assert!(
        warm.figures.shortfall_replica_seconds < cold.figures.shortfall_replica_seconds / 2.0,
        "warm {} vs cold {}",
        warm.figures.shortfall_replica_seconds,
        cold.figures.shortfall_replica_seconds
    );
    assert_eq!(
        warm.figures.cost_total, cold.figures.cost_total,
        "the nodes are paid for anyway"
    );
    assert_eq!(warm.figures.container_groups_created, 0);
    let tl = warm.timeline.as_ref().expect("timeline kept");
    assert!(
        tl.iter()
            .all(|s| s.unschedulable == 0 && s.pending == 0 || s.t < 30),
        "never Pending"
    );
    assert!(
        tl.iter().any(|s| s.spec_replicas == 10 && s.demand < 600.0),
        "warm before the step"
    );
}

/// Above the pool's minimum, warm replicas keep the nodes below the
/// autoscaler's utilization threshold: it removes the same nodes as
/// without them, so the pool costs the same.
#[test]
fn headroom_does_not_keep_nodes_the_autoscaler_would_remove() {
    // 300 → 1500 (19 replicas on the 4 nodes' 20 slots) → 300: the pool
    // is far above the threshold when the demand falls.
    let knobs = |headroom| Knobs {
        base: 300.0,
        add: 1200.0,
        up: 300,
        down: Some(900),
        duration: 3600,
        nodes: 4,
        min_nodes: Some(2),
        max_nodes: 4,
        autoscaler: true,
        headroom,
        ..Knobs::default()
    };
    let cold = simulate(&knobs(None));
    let warm = simulate(&knobs(Some((7, 2))));
    let (cold, warm) = (run(&cold, Strategy::Spillway), run(&warm, Strategy::Spillway));
    let nodes = |r: &spillway_sim::StrategyRun| {
        r.timeline
            .as_ref()
            .expect("timeline")
            .last()
            .expect("samples")
            .nodes_ready
    };
    assert!(nodes(cold) < 4, "the autoscaler removes nodes without headroom");
    assert_eq!(nodes(warm), nodes(cold), "and the same with it");
    assert!(
        warm.figures.cost_vm <= cold.figures.cost_vm + 1e-9,
        "warm {} vs cold {}",
        warm.figures.cost_vm,
        cold.figures.cost_vm
    );
}
