//! Property tests of the planner's invariants over random worlds.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use proptest::prelude::*;

use super::testkit::{World, policy_with, policy_with_metric};
use super::*;
use crate::burst::{BurstReplica, BurstState};
use crate::config::Policy;
use crate::snapshot::VmPodState;

#[derive(Debug, Clone)]
struct Case {
    nodes: usize,
    node_cores: i64,
    ready: u32,
    burst: Vec<(u8, bool)>,
    demand: f64,
    cap_mode: bool,
    budget: Option<f64>,
    burst_max: u32,
    ticks: Vec<(f64, u8)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..6,
        1i64..8,
        1u32..20,
        prop::collection::vec((0u8..4, any::<bool>()), 0..12),
        0.0f64..6000.0,
        any::<bool>(),
        prop::option::of(0.01f64..2.0),
        1u32..40,
        prop::collection::vec((0.0f64..6000.0, 0u8..8), 1..8),
    )
        .prop_map(
            |(nodes, node_cores, ready, burst, demand, cap_mode, budget, burst_max, ticks)| Case {
                nodes,
                node_cores,
                ready,
                burst,
                demand,
                cap_mode,
                budget,
                burst_max,
                ticks,
            },
        )
}

fn burst_block(c: &Case) -> String {
    let budget = c
        .budget
        .map(|b| format!(", maxHourlyCost: {b}"))
        .unwrap_or_default();
    let overflow = if c.cap_mode { "cap" } else { "pending" };
    format!(
        "{{enabled: true, maxReplicas: {}, vmOverflow: {overflow}{budget}, scaleInStabilization: 30s}}",
        c.burst_max
    )
}

fn world(c: &Case) -> World {
    // Reactive: a forecast raises D tick after tick within the behavior's
    // rate limits, so "planning again at the same instant changes nothing"
    // is a property of the reactive planner; the forecast has its own
    // property below.
    let p = policy_with(&burst_block(c), "  predict: {mode: off}\n");
    let mut w = World::new(p, c.nodes, c.node_cores * 1000, c.ready);
    for (i, (state, current)) in c.burst.iter().enumerate() {
        let state = match state {
            0 => BurstState::Provisioning,
            1 => BurstState::Ready,
            2 => BurstState::Failed,
            _ => BurstState::Deleting,
        };
        w.inventory.replicas.push(BurstReplica {
            name: format!("c1-web-{i}"),
            ordinal: i as u32,
            template_hash: if *current { "h1".into() } else { "h0".into() },
            location: "westeurope".into(),
            zone: None,
            state,
            created_at: w.now,
        });
    }
    w.demand = c.demand;
    w
}

/// Steps the world: the random `event` decides what happens between ticks.
fn evolve(w: &mut World, event: u8) {
    match event {
        0 => w.schedule(),
        1 => w.make_ready(),
        2 => w.burst_ready(),
        3 => w.add_node(4000),
        4 => {
            if let Some(r) = w
                .inventory
                .replicas
                .iter_mut()
                .find(|r| r.state == BurstState::Ready)
            {
                r.state = BurstState::Failed;
            }
        }
        _ => {
            w.schedule();
            w.make_ready();
            w.burst_ready();
        }
    }
    w.advance(15);
}

/// Live replicas are within burst.maxReplicas and the budget.
fn within_caps(w: &World, c: &Case) -> bool {
    let per_replica = crate::cost::aci_replica_hourly(
        &crate::aci::GroupRequests::from_template(&w.workload.template.requests),
        &w.policy.pricing,
    );
    live(w) <= c.burst_max as usize && c.budget.is_none_or(|b| live(w) as f64 * per_replica <= b + 1e-9)
}

fn live(w: &World) -> usize {
    w.inventory
        .replicas
        .iter()
        .filter(|r| r.state != BurstState::Deleting && r.state != BurstState::Failed)
        .count()
}

fn serving(w: &World, state: &PolicyState) -> usize {
    w.ready_vm()
        + w.inventory
            .replicas
            .iter()
            .filter(|r| r.state == BurstState::Ready && !state.is_draining(&r.name))
            .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn invariants_hold_over_random_runs(c in case()) {
        let mut w = world(&c);
        let bmax = c.burst_max as usize;
        let mut live_was_within_caps = within_caps(&w, &c);
        for (demand, event) in c.ticks.clone() {
            let serving_before = serving(&w, &w.state);
            let scheduled_before =
                w.workload.pods.iter().filter(|p| !matches!(p.state, VmPodState::Pending { .. })).count() as u32;
            let (p, next) = w.peek();

            // Total within [min, max].
            prop_assert!((1..=100).contains(&p.desired_replicas), "D = {}", p.desired_replicas);
            let mut after = w.clone_for_check();
            after.state = next.clone();
            after.apply(&p);
            // Burst within burst.maxReplicas and the budget (once it was within them).
            if live_was_within_caps {
                prop_assert!(live(&after) <= bmax, "live {} > max {bmax}", live(&after));
                if let Some(b) = c.budget {
                    prop_assert!(p.burst_hourly_cost <= b + 1e-9, "cost {} > budget {b}", p.burst_hourly_cost);
                }
            }
            // Cap mode: no burst replica is created while the VM pool can take one.
            if c.cap_mode && !p.creates.is_empty() {
                prop_assert!(p.deployment_replicas >= scheduled_before.saturating_add(p.vm_fit).min(p.desired_replicas),
                    "creating burst replicas with {} VM slots unused", p.vm_fit);
            }
            // Burst first on scale-in: the Deployment drops scheduled VM replicas only when no burst replica remains.
            if p.deployment_replicas < scheduled_before.min(w.workload.spec_replicas) {
                prop_assert_eq!(live(&after), 0, "VM replicas removed while burst replicas remain");
            }
            // Make before break: removals never take serving capacity below D.
            let serving_after = serving(&after, &next);
            prop_assert!(!live_was_within_caps || serving_after >= serving_before.min(p.desired_replicas as usize),
                "serving {serving_before} → {serving_after} with D = {}", p.desired_replicas);

            // Idempotence: plan again on the world the plan produced.
            let (again, _) = after.peek();
            prop_assert!(again.creates.is_empty() && again.drains.is_empty() && again.scale.is_none(),
                "second plan acts: {:#?}", again);
            prop_assert!(again.deletes.iter().all(|d| d.cause == DeleteCause::Drained && p.drains.is_empty()) || again.deletes.is_empty(),
                "second plan deletes: {:#?}", again.deletes);

            w.state = next;
            w.apply(&p);
            live_was_within_caps = within_caps(&w, &c);
            w.demand = demand;
            evolve(&mut w, event);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A forecast is never the reason for a scale-in: from the same state,
    /// with the same readings, the plan with `predict.mode: act` wants at
    /// least the replicas of the reactive plan, every tick of random
    /// histories (ramps, drops, noise, spikes).
    #[test]
    fn a_forecast_never_lowers_the_desired_replicas(c in case()) {
        let mut w = world(&c);
        let reactive = w.policy.clone();
        let predictive = policy_with(
            &burst_block(&c),
            "  predict: {mode: act, trend: true, horizon: 2m, maxAddPercent: 100}\n",
        );
        w.policy = predictive.clone();
        for (demand, event) in c.ticks.clone() {
            let (with, next) = w.peek();
            let mut off = w.clone_for_check();
            off.policy = reactive.clone();
            let (without, _) = off.peek();
            prop_assert!(with.desired_replicas >= without.desired_replicas,
                "forecast {} < reactive {}: {:?}", with.desired_replicas, without.desired_replicas, with.reasons);
            if with.desired_replicas > without.desired_replicas {
                prop_assert!(with.reasons.iter().any(|r| r.code == crate::plan::ReasonCode::ForecastUp), "{:?}", with.reasons);
            }
            w.state = next;
            w.apply(&with);
            w.demand = demand;
            evolve(&mut w, event);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The scale-up signal (a shorter-window reading) only ever adds:
    /// whatever it reads, higher or lower than the HPA metric, the plan
    /// wants at least the replicas of the plan without it, and when it
    /// wants more, the reason says so; with or without a minimum rise.
    /// It adds at most the larger of `maxAddPercent` of the plan without
    /// it and `maxAddReplicas`.
    #[test]
    fn a_scale_up_signal_never_lowers_the_desired_replicas(
        c in case(),
        factors in proptest::collection::vec(0.0f64..3.0, 40),
        min_rise in prop_oneof![Just(0u32), 1u32..60],
        max_add_percent in 0u32..80,
        max_add_replicas in 1u32..8,
    ) {
        let mut w = world(&c);
        let reactive = w.policy.clone();
        let signal = if min_rise == 0 {
            "scaleUpQuery: fast".to_string()
        } else {
            format!("scaleUpQuery: fast, scaleUpMinRisePercent: {min_rise}")
        };
        let mut capped = Policy::clone(&policy_with_metric(&burst_block(&c), &signal));
        capped.predict.max_add_percent = max_add_percent;
        capped.predict.max_add_replicas = max_add_replicas;
        let with_signal = Arc::new(capped);
        w.policy = with_signal.clone();
        for (i, (demand, event)) in c.ticks.clone().into_iter().enumerate() {
            w.scale_up_demand = Some(w.demand * factors[i % factors.len()]);
            let (with, next) = w.peek();
            let mut off = w.clone_for_check();
            off.policy = reactive.clone();
            off.scale_up_demand = None;
            let (without, _) = off.peek();
            prop_assert!(with.desired_replicas >= without.desired_replicas,
                "with the signal {} < without {}: {:?}", with.desired_replicas, without.desired_replicas, with.reasons);
            if with.desired_replicas > without.desired_replicas {
                prop_assert!(with.reasons.iter().any(|r| r.code == crate::plan::ReasonCode::ScaleUpSignal), "{:?}", with.reasons);
            }
            let allowance = (without.desired_replicas * max_add_percent).div_ceil(100).max(max_add_replicas);
            prop_assert!(with.desired_replicas <= without.desired_replicas + allowance,
                "the signal added {} over {} (allowance {allowance}): {:?}",
                with.desired_replicas - without.desired_replicas, without.desired_replicas, with.reasons);
            w.state = next;
            w.apply(&with);
            w.demand = demand;
            evolve(&mut w, event);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `vmOverflow: auto` drops nothing: whether it keeps the overflow on
    /// ACI (a VM slot dearer than an ACI replica, or a young overflow) or
    /// sends it to new nodes, the Deployment and the burst target together
    /// hold D every tick; what the burst's caps refuse is left Pending for
    /// the cluster autoscaler. (A configured `cap` is a fixed pool and may
    /// leave D unheld.)
    #[test]
    fn auto_overflow_holds_the_desired_replicas(c in case(), node_price in 0.01f64..2.0) {
        let mut w = world(&c);
        let mut p = Policy::clone(&policy_with(
            &burst_block(&c).replace("vmOverflow: cap", "vmOverflow: auto").replace("vmOverflow: pending", "vmOverflow: auto"),
            "  predict: {mode: off}\n",
        ));
        p.pricing.vm = vec![crate::config::VmPrice { instance_type: None, price_per_hour: node_price, discount: 0.0 }];
        w.policy = Arc::new(p);
        for (demand, event) in c.ticks.clone() {
            let (plan, next) = w.peek();
            if plan.desired_replicas > 0 {
                prop_assert!(plan.deployment_replicas + plan.burst_target >= plan.desired_replicas,
                    "D {} but the Deployment {} + burst {}: {:?}",
                    plan.desired_replicas, plan.deployment_replicas, plan.burst_target, plan.reasons);
            }
            w.state = next;
            w.apply(&plan);
            w.demand = demand;
            evolve(&mut w, event);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `headroom` changes nothing but the Deployment's count: the desired
    /// replicas and every burst action are those of the same tick without
    /// it; warm replicas come only with no burst replica wanted or alive,
    /// and only on room the nodes have now (never a Pending pod).
    #[test]
    fn headroom_only_adds_warm_replicas_on_room_there_is(
        c in case(),
        max_add in 1u32..12,
        min_nodes in 0u32..7,
        threshold in 0.05f64..1.0,
    ) {
        let mut w = world(&c);
        let mut warm_policy = Policy::clone(&w.policy);
        warm_policy.headroom = crate::config::Headroom {
            max_add_replicas: max_add,
            min_nodes,
            scale_down_utilization_threshold: threshold,
        };
        let cold_policy = w.policy.clone();
        w.policy = Arc::new(warm_policy);
        for (demand, event) in c.ticks.clone() {
            let scheduled =
                w.workload.pods.iter().filter(|p| !matches!(p.state, VmPodState::Pending { .. })).count() as u32;
            let (warm, next) = w.peek();
            let mut cold_world = w.clone_for_check();
            cold_world.policy = cold_policy.clone();
            let (cold, _) = cold_world.peek();
            prop_assert_eq!(warm.desired_replicas, cold.desired_replicas);
            prop_assert_eq!(warm.burst_target, cold.burst_target);
            let names = |p: &Plan| (
                p.creates.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                p.drains.clone(),
                p.deletes.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            );
            prop_assert_eq!(names(&warm), names(&cold));
            prop_assert!(warm.deployment_replicas >= cold.deployment_replicas);
            prop_assert!(warm.headroom_replicas <= max_add);
            if warm.headroom_replicas > 0 {
                prop_assert_eq!(warm.deployment_replicas, warm.desired_replicas + warm.headroom_replicas);
                prop_assert_eq!(warm.burst_target, 0);
                prop_assert!(warm.deployment_replicas <= scheduled + warm.vm_fit,
                    "{} wanted but {} scheduled and room for {}", warm.deployment_replicas, scheduled, warm.vm_fit);
            } else {
                prop_assert_eq!(warm.deployment_replicas, cold.deployment_replicas);
            }
            w.state = next;
            w.apply(&warm);
            w.demand = demand;
            evolve(&mut w, event);
        }
    }
}
