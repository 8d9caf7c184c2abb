//! The burst side: how many container groups, which to create, drain and delete.

use std::collections::{BTreeMap, BTreeSet};

use crate::aci::{self, GroupLimits, GroupRequests};
use crate::burst::{BurstInventory, BurstReplica, BurstState, zone_key};
use crate::config::{BurstPolicy, Pricing};
use crate::cost;
use crate::time::Timestamp;

use super::zones::{NoZone, ZoneRules, ZoneSpread};
use super::{BurstCounts, CreateGroup, DeleteCause, DeleteGroup, PolicyState, Reason, ReasonCode};

pub struct BurstInput<'a> {
    pub cluster_id: &'a str,
    pub policy_name: &'a str,
    /// `None` when bursting is disabled: everything existing is drained away.
    pub burst: Option<&'a BurstPolicy>,
    pub pricing: &'a Pricing,
    pub inventory: &'a BurstInventory,
    pub template_hash: &'a str,
    pub requests: GroupRequests,
    /// Burst replicas needed to reach D counting VM replicas expected soon.
    pub create_target: u32,
    /// Burst replicas still needed counting only ready VM replicas, against
    /// the stabilized D: above this, replicas are surplus.
    pub keep_target: u32,
    /// `keep_target` without `scaleInStabilization`: the difference is what
    /// the stabilization holds.
    pub keep_unstabilized: u32,
    /// The template's zone rules, and the workload's VM replicas per zone
    /// (empty unless `burst.zones` is set and a rule counts VM replicas).
    pub zone_rules: ZoneRules,
    pub vm_zones: &'a BTreeMap<String, u32>,
    pub now: Timestamp,
}

pub struct BurstDecision {
    pub target: u32,
    /// Burst replicas wanted (`create_target`) that the burst side cannot
    /// take: above its caps (maxReplicas, budget, quota, a template ACI
    /// cannot run) or with no location to create in. Not what pacing or
    /// the zone spread holds back: those pass within minutes.
    pub unplaced: u32,
    pub creates: Vec<CreateGroup>,
    pub drains: Vec<String>,
    pub deletes: Vec<DeleteGroup>,
    pub counts: BurstCounts,
    /// Groups that still exist after the plan and are serving or draining.
    pub remaining: u32,
    pub hourly_cost: f64,
    pub reasons: Vec<Reason>,
}

fn reason(code: ReasonCode, message: String) -> Reason {
    Reason { code, message }
}

/// Removal preference: not yet serving first, then outdated, then newest (highest ordinal).
fn removal_rank(r: &BurstReplica, hash: &str) -> (u8, u8, std::cmp::Reverse<u32>) {
    let serving = u8::from(r.state == BurstState::Ready);
    let current = u8::from(r.template_hash == hash);
    (serving, current, std::cmp::Reverse(r.ordinal))
}

pub fn decide(input: &BurstInput<'_>, state: &mut PolicyState) -> BurstDecision {
    let mut reasons = Vec::new();
    let mut deletes = Vec::new();
    let mut drains = Vec::new();
    let inv = input.inventory;
    let (drain_grace, max_surge) = input.burst.map_or((std::time::Duration::from_secs(15), 0), |b| {
        (b.drain_grace, b.max_surge)
    });

    // Forget drains of groups that are gone.
    state.draining.retain(|name, _| {
        inv.replicas
            .iter()
            .any(|r| r.name == *name && r.state != BurstState::Deleting)
    });

    let mut counts = BurstCounts::default();
    let mut active: Vec<&BurstReplica> = Vec::new();
    let mut draining_left = 0u32;
    for r in &inv.replicas {
        if r.state == BurstState::Deleting {
            continue;
        }
        if let Some(&since) = state.draining.get(&r.name) {
            counts.draining += 1;
            if input.now.since(since) >= drain_grace {
                deletes.push(DeleteGroup {
                    name: r.name.clone(),
                    cause: DeleteCause::Drained,
                });
            } else {
                draining_left += 1;
            }
            continue;
        }
        match r.state {
            BurstState::Failed => {
                counts.failed += 1;
                deletes.push(DeleteGroup {
                    name: r.name.clone(),
                    cause: DeleteCause::Failed,
                });
                reasons.push(reason(
                    ReasonCode::ReplaceFailed,
                    format!("{} failed: deleting and replacing it", r.name),
                ));
            }
            BurstState::Provisioning => {
                counts.provisioning += 1;
                active.push(r);
            }
            BurstState::Ready => {
                counts.ready += 1;
                active.push(r);
            }
            BurstState::Deleting => {}
        }
    }

    let zones = input.burst.map_or(&[][..], |b| b.zones.as_slice());
    let mut spread = ZoneSpread::new(zones, input.zone_rules, input.vm_zones, active.iter().copied());

    // Caps: maxReplicas, budget, regional quota. Live groups (active and
    // draining) all count: they all cost money and quota.
    let replica_hourly = cost::aci_replica_hourly(&input.requests, input.pricing);
    let live_now = active.len() as u32 + draining_left;
    let mut cap = u32::MAX;
    let mut cap_reason = None;
    match input.burst {
        None => cap = 0,
        Some(b) => {
            cap = cap.min(b.max_replicas);
            cap_reason = Some((
                ReasonCode::BurstCappedMaxReplicas,
                format!("burst.maxReplicas {}", b.max_replicas),
            ));
            if let Some(n) = cost::replicas_within_budget(b.max_hourly_cost, replica_hourly)
                && n < cap
            {
                cap = n;
                cap_reason = Some((
                    ReasonCode::BurstCappedBudget,
                    format!(
                        "maxHourlyCost {} allows {n} replicas at {replica_hourly:.4}/h each",
                        b.max_hourly_cost.unwrap_or_default()
                    ),
                ));
            }
            let quota_groups = inv.headroom.groups.map(|g| live_now.saturating_add(g));
            let quota_cores = inv.headroom.cores_millis.map(|c| {
                let per = input.requests.cpu_millis().max(1);
                live_now.saturating_add(u32::try_from((c.max(0)) / per).unwrap_or(u32::MAX))
            });
            for q in [quota_groups, quota_cores].into_iter().flatten() {
                if q < cap {
                    cap = q;
                    cap_reason = Some((
                        ReasonCode::BurstCappedQuota,
                        format!("regional quota allows {q} groups"),
                    ));
                }
            }
            if let Some(why) = input.requests.exceeds(GroupLimits::for_priority(b.priority)) {
                reasons.push(reason(ReasonCode::TemplateNotExpressible, why));
                cap = cap.min(active.len() as u32);
            }
        }
    }

    // The burst target: grow to create_target, shrink to keep_target, hold between.
    let n_active = active.len() as u32;
    let keep_stabilized = input.keep_target > input.keep_unstabilized;
    if keep_stabilized && n_active > input.keep_unstabilized.max(input.create_target) {
        reasons.push(reason(
            ReasonCode::BurstScaleInStabilized,
            format!(
                "keeping up to {} of {n_active} burst replicas for burst.scaleInStabilization",
                input.keep_target.min(n_active)
            ),
        ));
    }
    let mut target = if n_active < input.create_target {
        input.create_target
    } else if n_active > input.keep_target {
        input.keep_target
    } else {
        n_active
    };
    if target > cap {
        if let Some((code, why)) = cap_reason.clone() {
            reasons.push(reason(
                code,
                format!("burst target {target} capped at {cap}: {why}"),
            ));
        }
        target = cap;
    }

    // Rolling replacement: new-template replicas in flight may exceed the target.
    let hash = input.template_hash;
    let mut creates_wanted = 0u32;
    let mut kept: Vec<&BurstReplica> = active.clone();
    if n_active < target {
        creates_wanted = target - n_active;
        reasons.push(reason(
            ReasonCode::Burst,
            format!("{n_active} → {target} burst replicas"),
        ));
    } else if n_active > allowed_with_surge(&active, hash, target, max_surge, cap) {
        let why = if input.keep_target < n_active && !keep_stabilized && input.burst.is_some() {
            ReasonCode::Backfill
        } else {
            ReasonCode::BurstScaleIn
        };
        // Remove in preference order until what remains is within what it
        // allows (removing an outdated replica can end a rollout's surge allowance).
        // With zones, the fullest zone gives first, so that scale-in keeps
        // the spread; within a zone (or without zones) the removal rank.
        kept.sort_by_key(|r| std::cmp::Reverse(removal_rank(r, hash)));
        while kept.len() as u32 > allowed_with_surge(&kept, hash, target, max_surge, cap) {
            // `max_by_key` keeps the last of equals: the lowest rank, as a pop would.
            let Some(i) = (0..kept.len()).max_by_key(|&i| spread.load(kept[i].zone.as_deref())) else {
                break;
            };
            let r = kept.remove(i);
            spread.removed(r.zone.as_deref());
            remove(r, input.now, state, &mut drains, &mut deletes);
        }
        reasons.push(reason(why, format!("{n_active} → {} burst replicas", kept.len())));
    }

    // Rolling replacement of what is kept, one at a time.
    let outdated = kept.iter().filter(|r| r.template_hash != hash).count() as u32;
    let surge_in_flight = kept
        .iter()
        .any(|r| r.template_hash == hash && r.state == BurstState::Provisioning);
    let freed = deletes
        .iter()
        .filter(|d| d.cause == DeleteCause::Unneeded)
        .count() as u32;
    if creates_wanted == 0 && outdated > 0 && !surge_in_flight && target > 0 {
        if max_surge > 0 && live_now - freed < cap {
            creates_wanted = 1;
            reasons.push(reason(
                ReasonCode::Rollout,
                format!("template changed: adding one replica before removing one of {outdated} outdated"),
            ));
        } else if let Some(r) = kept
            .iter()
            .find(|r| r.template_hash != hash && r.state != BurstState::Ready)
        {
            // Not serving yet: replacing it costs no capacity.
            spread.removed(r.zone.as_deref());
            remove(r, input.now, state, &mut drains, &mut deletes);
            creates_wanted = 1;
            reasons.push(reason(
                ReasonCode::Rollout,
                format!("template changed: replacing {}, not serving yet", r.name),
            ));
        } else {
            // Make before break: a serving replica is only replaced once a
            // new one can run beside it.
            reasons.push(reason(
                ReasonCode::Rollout,
                format!(
                    "template changed: {outdated} outdated replicas wait for room to surge (at cap {cap})"
                ),
            ));
        }
    }

    // Zone rebalance: replicas more in the emptiest zones now, which the
    // next tick's scale-in takes back from the fullest ones. Counted on a
    // copy of the spread after this tick's removals and own creates, so
    // that a failure replaced in the same tick is not counted twice. Also
    // beside a scale-in: removals come from the fullest zones, which cannot
    // fill a hole that a failure left in the emptiest.
    let location = input.burst.and_then(|b| {
        b.locations
            .iter()
            .find(|l| !input.inventory.unavailable_locations.contains_key(*l))
    });
    if let Some(location) = location
        && spread.is_active()
        && outdated == 0
        && target > 0
    {
        let usable = |z: &str| !inv.unavailable_zones.contains_key(&zone_key(location, z));
        let room = cap.saturating_sub(live_now);
        let mut sim = spread.clone();
        let mut zones_with_burst: Vec<Option<String>> = kept.iter().map(|r| r.zone.clone()).collect();
        for _ in 0..creates_wanted.min(room) {
            match sim.pick(usable) {
                Ok(z) => zones_with_burst.push(Some(z)),
                Err(_) => break,
            }
        }
        let mut moves = 0;
        while creates_wanted + moves < room
            && sim.rebalance_worth(zones_with_burst.iter().map(Option::as_deref), usable)
        {
            match sim.pick(usable) {
                Ok(z) => zones_with_burst.push(Some(z)),
                Err(_) => break,
            }
            moves += 1;
        }
        if moves > 0 {
            creates_wanted += moves;
            reasons.push(reason(
                ReasonCode::ZoneRebalance,
                format!("burst replicas uneven across zones: adding {moves} in the emptiest zones before removing as many from the fullest"),
            ));
        }
    }

    // Groups deleted unserved free their room now; drained ones only once gone.
    let freed = deletes
        .iter()
        .filter(|d| d.cause == DeleteCause::Unneeded)
        .count() as u32;
    let room = cap.saturating_sub(live_now - freed);
    let (creates, no_location) = plan_creates(input, creates_wanted, room, &mut spread, &mut reasons);
    let unplaced = input.create_target.saturating_sub(target) + no_location;
    if !drains.is_empty() {
        reasons.push(reason(
            ReasonCode::Drain,
            format!("draining {}", drains.join(", ")),
        ));
    }
    let removed_now = drains.len() as u32
        + deletes
            .iter()
            .filter(|d| d.cause == DeleteCause::Unneeded)
            .count() as u32;
    let remaining = n_active - removed_now + draining_left + drains.len() as u32 + creates.len() as u32;
    BurstDecision {
        target,
        unplaced,
        creates,
        drains,
        deletes,
        counts,
        remaining,
        hourly_cost: f64::from(remaining) * replica_hourly,
        reasons,
    }
}

/// The target, plus new-template replicas still provisioning during a
/// rollout (up to `max_surge`): they are the "make" of make-before-break.
fn allowed_with_surge(active: &[&BurstReplica], hash: &str, target: u32, max_surge: u32, cap: u32) -> u32 {
    if target == 0 || !active.iter().any(|r| r.template_hash != hash) {
        return target;
    }
    let in_flight = active
        .iter()
        .filter(|r| r.template_hash == hash && r.state == BurstState::Provisioning)
        .count() as u32;
    (target + in_flight.min(max_surge)).min(cap).max(target)
}

/// A serving replica is drained first; one not yet serving is deleted at once.
fn remove(
    r: &BurstReplica,
    now: Timestamp,
    state: &mut PolicyState,
    drains: &mut Vec<String>,
    deletes: &mut Vec<DeleteGroup>,
) {
    if r.state == BurstState::Ready {
        state.draining.insert(r.name.clone(), now);
        drains.push(r.name.clone());
    } else {
        deletes.push(DeleteGroup {
            name: r.name.clone(),
            cause: DeleteCause::Unneeded,
        });
    }
}

/// The creates of this tick, and how many of them no location can take.
fn plan_creates(
    input: &BurstInput<'_>,
    wanted: u32,
    room: u32,
    spread: &mut ZoneSpread,
    reasons: &mut Vec<Reason>,
) -> (Vec<CreateGroup>, u32) {
    let Some(b) = input.burst else {
        return (Vec::new(), 0);
    };
    let mut n = wanted.min(room);
    if n == 0 {
        return (Vec::new(), 0);
    }
    if let Some(h) = input.inventory.headroom.creates
        && h < n
    {
        reasons.push(reason(
            ReasonCode::CreatesPaced,
            format!("{n} creates wanted, ACI's create-rate window has {h} left: pacing"),
        ));
        n = h;
    }
    let unavailable = &input.inventory.unavailable_locations;
    let unusable = &input.inventory.unavailable_zones;
    // Why a location cannot take creates now: the location answered
    // capacity or quota errors, or (with zones) every configured zone of it
    // did, which leaves it as unusable as the location itself.
    let blocked = |l: &str| -> Option<String> {
        if let Some(why) = unavailable.get(l) {
            return Some(why.clone());
        }
        (spread.is_active() && b.zones.iter().all(|z| unusable.contains_key(&zone_key(l, z))))
            .then(|| format!("every zone of {l} unavailable"))
    };
    let Some(location) = b.locations.iter().find(|l| blocked(l).is_none()) else {
        let why: Vec<String> = b
            .locations
            .iter()
            .filter_map(|l| blocked(l).map(|r| format!("{l}: {r}")))
            .collect();
        // Only zones left to blame: say so (the zones come back one by one).
        let code = if spread.is_active() && b.locations.iter().all(|l| !unavailable.contains_key(l)) {
            ReasonCode::NoZoneAvailable
        } else {
            ReasonCode::NoLocationAvailable
        };
        reasons.push(reason(
            code,
            format!("no location can take new groups ({})", why.join("; ")),
        ));
        // Zones come back one by one: only a location down is unplaced.
        let unplaced = if code == ReasonCode::NoLocationAvailable {
            n
        } else {
            0
        };
        return (Vec::new(), unplaced);
    };
    if Some(location) != b.locations.first() {
        let primary = b.locations.first().map(String::as_str).unwrap_or_default();
        let why = blocked(primary).unwrap_or_default();
        reasons.push(reason(
            ReasonCode::LocationFallback,
            format!("creating in {location}: {primary} unavailable ({why})"),
        ));
    }
    let used: BTreeSet<u32> = input.inventory.replicas.iter().map(|r| r.ordinal).collect();
    let mut creates = Vec::new();
    for ordinal in (0u32..).filter(|o| !used.contains(o)).take(n as usize) {
        let zone = if spread.is_active() {
            match spread.pick(|z| !unusable.contains_key(&zone_key(location, z))) {
                Ok(z) => Some(z),
                Err(why) => {
                    reasons.push(no_zone_reason(why, n - creates.len() as u32, location, unusable));
                    break;
                }
            }
        } else {
            None
        };
        creates.push(CreateGroup {
            name: aci::group_name(input.cluster_id, input.policy_name, ordinal),
            ordinal,
            location: location.clone(),
            zone,
            template_hash: input.template_hash.to_string(),
            requests: input.requests,
        });
    }
    (creates, 0)
}

fn no_zone_reason(why: NoZone, left: u32, location: &str, unusable: &BTreeMap<String, String>) -> Reason {
    match why {
        NoZone::Limited => reason(
            ReasonCode::ZoneSpreadLimited,
            format!(
                "{left} creates held: one more replica in any usable zone of {location} would break the template's zone spread or anti-affinity"
            ),
        ),
        NoZone::Unusable => {
            let why: Vec<String> = unusable
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{location}/")))
                .map(|(k, r)| format!("{k}: {r}"))
                .collect();
            reason(
                ReasonCode::NoZoneAvailable,
                format!("no zone of {location} can take new groups ({})", why.join("; ")),
            )
        }
    }
}
