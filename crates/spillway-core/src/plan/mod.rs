//! The spill planner (DESIGN.md §4): one pure function from what a tick sees
//! to what should change.

mod burst;
mod gc;
mod headroom;
pub mod placement;
mod types;
mod vm;
pub mod zones;

#[cfg(test)]
pub(crate) mod testkit;

pub use gc::orphans;
pub use types::*;

use std::time::Duration;

use crate::aci::GroupRequests;
use crate::burst::BurstState;
use crate::capacity;
use crate::config::VmOverflow;
use crate::scaling;
use crate::time::Timestamp;

/// The oldest age of a pod or group that a rule of the planner compares
/// with `now` (today only `burst.pendingGrace`, the age up to which a
/// Pending pod counts as fresh). Past it, the planner treats the world's
/// own times (pod creation, group creation) alike at every tick; every other
/// time it compares lives in [`PolicyState`], which [`PolicyState::shift`]
/// moves. A caller that replays ticks over an unchanged world (the
/// simulator, issue 12) relies on this: a rule that looks at a world time
/// further back must raise this horizon.
pub fn world_age_horizon(policy: &crate::config::Policy) -> Duration {
    policy
        .burst
        .as_ref()
        .map_or(Duration::from_secs(20), |b| b.pending_grace)
}

/// Plans one tick of one policy. Pure: same input and state, same output.
pub fn plan(input: &PlanInput<'_>, state: &PolicyState) -> (Plan, PolicyState) {
    let mut next = state.clone();
    let policy = input.policy;
    let workload = input.workload;
    let burst_policy = policy.burst.as_ref();
    let now = input.now;

    let vm_counts = vm::count(workload, world_age_horizon(policy), now);
    let burst_ready = input
        .inventory
        .replicas
        .iter()
        .filter(|r| r.state == BurstState::Ready && !state.is_draining(&r.name))
        .count() as u32;
    let burst_active = input
        .inventory
        .replicas
        .iter()
        .filter(|r| {
            matches!(r.state, BurstState::Ready | BurstState::Provisioning) && !state.is_draining(&r.name)
        })
        .count() as u32;

    // HPA's currentReplicas is the Deployment's spec. With burst replicas
    // the Deployment holds only part of D, so our last D stands for it as
    // long as the Deployment still says what we last asked for; otherwise
    // (a restart, a manual scale, a plan not carried out) the world counts.
    let overflow = burst_policy.map_or(VmOverflow::Pending, |b| b.vm_overflow);
    let world = match (burst_policy, overflow) {
        (Some(_), VmOverflow::Cap) => workload.spec_replicas + burst_active,
        // Either meaning may hold: the larger is the safer current.
        (Some(_), VmOverflow::Auto) => workload.spec_replicas.max(vm_counts.scheduled() + burst_active),
        _ => workload.spec_replicas,
    };
    let current = match (state.last_deployment, state.last_desired) {
        (Some(asked), Some(d)) if asked == workload.spec_replicas => d,
        _ => world,
    };
    let ready = vm_counts.ready + burst_ready;
    // Warm replicas (`headroom`) are Ready but not the HPA's: a `Value`
    // target multiplies its ratio by the ready count, which would take them
    // into D and add more on top, tick after tick.
    let ready = if policy.headroom.enabled() {
        ready.min(current)
    } else {
        ready
    };
    // As the HPA: a target scaled to 0 (by hand, never by Spillway, whose
    // minReplicas is at least 1) is paused, not scaled back up. Spillway's
    // own 0 (vmOverflow: cap on a full pool) is not a pause.
    let paused = workload.spec_replicas == 0 && burst_active == 0 && state.last_deployment != Some(0);
    let desired = if paused {
        scaling::Desired {
            replicas: 0,
            reasons: vec![Reason {
                code: ReasonCode::ScalingDisabled,
                message: "the Deployment is scaled to 0: scaling is paused until it is scaled up again"
                    .into(),
            }],
            forecast: None,
        }
    } else {
        scaling::desired_replicas_with_history(
            policy,
            input.samples,
            scaling::Lookahead {
                history: input.history,
                scale_up: input.scale_up,
            },
            current,
            ready,
            now,
            &mut next,
        )
    };
    let d = desired.replicas;
    let forecast = desired.forecast;
    let mut reasons = desired.reasons;

    let threshold = policy
        .headroom
        .enabled()
        .then_some(policy.headroom.scale_down_utilization_threshold);
    let fit = capacity::fit_replicas_below(input.cluster, &workload.template, threshold);
    let requests = match burst_policy.and_then(|b| b.requests.as_ref()) {
        Some(r) => GroupRequests::from_override(r),
        None => GroupRequests::from_template(&workload.template.requests),
    };
    // The overflow: more replicas wanted than the VM nodes hold now.
    let overflowing = d > vm_counts.scheduled().saturating_add(fit.replicas);
    next.overflow_since = match (overflowing, state.overflow_since) {
        (false, _) => None,
        (true, Some(since)) => Some(since),
        (true, None) => Some(now),
    };
    let configured_overflow = overflow;
    let mut overflow_age_matters = false;
    let overflow = match overflow {
        VmOverflow::Auto if burst_policy.is_some() => {
            let (chosen, why) = placement::choose(
                crate::cost::aci_replica_hourly(&requests, &policy.pricing),
                placement::vm_replica_hourly(input.cluster, &workload.template, &policy.pricing),
                next.overflow_since.map(|t| now.since(t)).unwrap_or_default(),
                &policy.pricing,
            );
            if overflowing {
                reasons.push(why.reason());
                overflow_age_matters = matches!(why, placement::PlacementWhy::NotYet { .. });
            }
            chosen
        }
        other => other,
    };
    let base = match burst_policy {
        Some(_) => vm::base_target(d, &vm_counts, fit.replicas, overflow),
        None => d,
    };
    let soon = vm::expected_soon(&vm_counts, base, fit.replicas);

    // scaleInStabilization: burst replicas leave for falling demand only when
    // D stayed low for the whole window; backfill by ready VMs acts at once.
    let stabilization = burst_policy.map_or(Duration::ZERO, |b| b.scale_in_stabilization);
    let d_stab = stabilized_demand(&mut next, d, now, stabilization);
    let create_target = d.saturating_sub(vm_counts.ready + soon);
    let keep_target = d_stab.saturating_sub(vm_counts.ready);
    let keep_unstabilized = d.saturating_sub(vm_counts.ready);

    // VM replicas count toward the zone spread only when a zone rule of the
    // template says so; the walk over the namespace's pods is skipped otherwise.
    let zone_rules = zones::ZoneRules::of(&workload.template);
    let vm_zones = match burst_policy {
        Some(b) if !b.zones.is_empty() && zone_rules.any() => {
            let location = b.locations.first().map(String::as_str).unwrap_or_default();
            zones::vm_per_zone(input.cluster, &workload.template, location)
        }
        _ => Default::default(),
    };
    let decision = burst::decide(
        &burst::BurstInput {
            cluster_id: &policy.cluster_id,
            policy_name: &policy.name,
            burst: burst_policy,
            pricing: &policy.pricing,
            inventory: input.inventory,
            template_hash: &workload.template.hash,
            requests,
            create_target,
            keep_target,
            keep_unstabilized,
            zone_rules,
            vm_zones: &vm_zones,
            now,
        },
        &mut next,
    );
    reasons.extend(decision.reasons);

    // `auto` keeps the overflow on ACI only as far as the burst side can
    // take it: what is above its caps (or finds no location) is left
    // Pending, so that the cluster autoscaler grows the pool for it, as with
    // `pending`. A configured `cap` is a fixed pool: nothing would come.
    let base = if configured_overflow == VmOverflow::Auto
        && overflow == VmOverflow::Cap
        && decision.unplaced > 0
        && base < d
    {
        let pending = base.saturating_add(decision.unplaced).min(d);
        reasons.push(Reason {
            code: ReasonCode::OverflowPending,
            message: format!(
                "VM nodes hold {base} of {d} replicas and the burst side cannot take {} of the rest: {} left Pending for the cluster autoscaler (vmOverflow: auto)",
                decision.unplaced,
                pending - base
            ),
        });
        pending
    } else {
        if base < d {
            reasons.push(Reason {
                code: ReasonCode::VmCapped,
                message: format!(
                    "VM nodes hold {base} of {d} replicas; the rest stays on ACI (vmOverflow: cap)"
                ),
            });
        }
        base
    };
    let mut deployment_replicas =
        vm::deployment_target(base, &vm_counts, workload.spec_replicas, decision.remaining);
    // Headroom only while all of D is on the VM side and no burst replica
    // is alive: warm replicas never stand in for the burst's work.
    let warm = if !paused && base == d && decision.target == 0 && decision.remaining == 0 {
        headroom::warm_replicas(&policy.headroom, d, &vm_counts, &fit)
    } else {
        0
    };
    if warm > 0 {
        deployment_replicas = d.saturating_add(warm);
        reasons.push(Reason {
            code: ReasonCode::Headroom,
            message: format!(
                "{warm} warm replicas above the desired {d} on VM room already paid for (headroom.maxAddReplicas {})",
                policy.headroom.max_add_replicas
            ),
        });
    }
    let scale = (deployment_replicas != workload.spec_replicas).then_some(ScaleChange {
        from: workload.spec_replicas,
        to: deployment_replicas,
    });
    if let Some(s) = scale
        && s.to < s.from
        && !reasons.iter().any(|r| r.code == ReasonCode::ScaleDown)
    {
        // D did not change this tick: the VM pods held while burst replicas
        // remained (burst goes first) are released now, or fewer warm
        // replicas fit (headroom).
        let why = if policy.headroom.enabled() {
            format!("no burst replica left or fewer warm replicas (headroom {warm})")
        } else {
            "no burst replica left".to_string()
        };
        reasons.push(Reason {
            code: ReasonCode::ScaleDown,
            message: format!(
                "{why}: the Deployment scales in {} → {} (desired {d})",
                s.from, s.to
            ),
        });
    }

    if !paused {
        next.last_deployment = Some(deployment_replicas);
    }
    let plan = Plan {
        policy: policy.name.clone(),
        at: now,
        desired_replicas: d,
        deployment_replicas,
        scale,
        burst_target: decision.target,
        creates: decision.creates,
        drains: decision.drains,
        deletes: decision.deletes,
        vm: vm_counts,
        burst: decision.counts,
        vm_fit: fit.replicas,
        headroom_replicas: warm,
        burst_hourly_cost: decision.hourly_cost,
        forecast_replicas: forecast,
        standby: None,
        reasons,
        overflow_age_matters,
    };
    let standby = burst_policy
        .and_then(|b| b.standby_pool.as_ref().map(|pool| (b, pool)))
        .map(|(b, pool)| crate::standby::size_for_plan(pool, b.max_replicas, &plan));
    let plan = Plan { standby, ..plan };
    (plan, next)
}

/// The highest D over the window (including now), recording D.
fn stabilized_demand(state: &mut PolicyState, d: u32, now: Timestamp, window: Duration) -> u32 {
    let cutoff = now.saturating_sub(window);
    while state.burst_demand.front().is_some_and(|&(t, _)| t <= cutoff) {
        state.burst_demand.pop_front();
    }
    let max = state
        .burst_demand
        .iter()
        .map(|&(_, v)| v)
        .max()
        .unwrap_or(0)
        .max(d);
    if !window.is_zero() {
        state.burst_demand.push_back((now, d));
    }
    max
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod zone_proptests;
