//! Property tests of the zone spread (issue 17): whatever the sequence of
//! demands, failures and zones answering capacity errors, the burst
//! replicas per configured zone differ by at most the template's `maxSkew`,
//! after scale-in as after scale-up; with VM replicas in zones, creates go
//! where the whole workload (VM and burst) has the fewest.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::testkit::{World, policy};
use super::zones::ZONE_LABEL;
use crate::burst::BurstState;
use crate::snapshot::{LabelSelector, TopologySpread};

const ZONES: [&str; 3] = ["1", "2", "3"];

#[derive(Debug, Clone)]
struct Step {
    demand: f64,
    /// A zone answering capacity errors during this tick.
    unusable: Option<usize>,
    /// Fail one Ready burst replica.
    fail: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            0.0f64..4000.0,
            prop::option::weighted(0.3, 0usize..3),
            prop::bool::weighted(0.15),
        )
            .prop_map(|(demand, unusable, fail)| Step {
                demand,
                unusable,
                fail,
            }),
        1..16,
    )
}

fn world(max_skew: u32, hard: bool) -> World {
    let p = policy(
        "{enabled: true, maxReplicas: 40, scaleInStabilization: 0s, drainGrace: 10s, zones: [1, 2, 3]}",
    );
    let mut w = World::new(p, 1, 2000, 1);
    let labels: crate::snapshot::Labels = [("app".to_string(), "web".to_string())].into_iter().collect();
    w.workload.template.labels = labels.clone();
    w.workload.template.topology_spread = vec![TopologySpread {
        max_skew,
        topology_key: ZONE_LABEL.into(),
        hard,
        label_selector: LabelSelector {
            match_labels: labels,
            ..Default::default()
        },
    }];
    w
}

/// Burst replicas per configured zone that stay: not draining, not failed,
/// not being deleted.
fn per_zone(w: &World) -> BTreeMap<&'static str, u32> {
    let mut out: BTreeMap<&'static str, u32> = ZONES.iter().map(|z| (*z, 0)).collect();
    for r in &w.inventory.replicas {
        if matches!(r.state, BurstState::Ready | BurstState::Provisioning) && !w.state.is_draining(&r.name) {
            let z = r.zone.as_deref().unwrap_or("none");
            let slot = ZONES.iter().find(|x| **x == z).copied().unwrap_or("none");
            *out.entry(slot).or_insert(0) += 1;
        }
    }
    out
}

fn skew(counts: &BTreeMap<&'static str, u32>) -> u32 {
    let v: Vec<u32> = ZONES
        .iter()
        .map(|z| counts.get(z).copied().unwrap_or(0))
        .collect();
    v.iter().max().unwrap() - v.iter().min().unwrap()
}

/// Runs the steps and checks every tick. `failures`/`outages` say which
/// disturbances the steps may carry: a replica failing in a zone that then
/// answers capacity errors breaks the spread from outside (as a node loss
/// does in Kubernetes), which no planner can repair without losing capacity.
fn run(
    max_skew: u32,
    hard: bool,
    steps: &[Step],
    failures: bool,
    outages: bool,
) -> Result<(), TestCaseError> {
    let mut w = world(max_skew, hard);
    let mut scaled_in = false;
    let mut ever_unusable = false;
    for step in steps {
        let unusable = step.unusable.filter(|_| outages);
        ever_unusable |= unusable.is_some();
        w.demand = step.demand;
        w.inventory.unavailable_zones = unusable
            .map(|z| {
                (
                    format!("westeurope/{}", ZONES[z]),
                    "capacity_unavailable".to_string(),
                )
            })
            .into_iter()
            .collect();
        let before = per_zone(&w).values().sum::<u32>();
        let p = w.tick();
        for c in &p.creates {
            let z = c.zone.as_deref();
            prop_assert!(
                z.is_some_and(|z| ZONES.contains(&z)),
                "create without a configured zone: {c:?}"
            );
            if let Some(u) = unusable {
                prop_assert_ne!(z, Some(ZONES[u]), "created in a zone answering capacity errors");
            }
        }
        let counts = per_zone(&w);
        prop_assert_eq!(counts.get("none").copied().unwrap_or(0), 0);
        scaled_in |= counts.values().sum::<u32>() < before;
        if hard {
            prop_assert!(
                skew(&counts) <= max_skew,
                "skew {} > maxSkew {max_skew}: {counts:?} (scaled in before: {scaled_in})",
                skew(&counts)
            );
        }
        if !ever_unusable {
            // Least-loaded creates and fullest-first scale-in: as even as can be.
            prop_assert!(
                skew(&counts) <= 1,
                "spread not even: {counts:?} (scaled in before: {scaled_in})"
            );
        }
        w.burst_ready();
        w.schedule();
        w.make_ready();
        if failures
            && step.fail
            && let Some(r) = w
                .inventory
                .replicas
                .iter_mut()
                .find(|r| r.state == BurstState::Ready)
        {
            r.state = BurstState::Failed;
        }
        w.advance(15);
    }
    Ok(())
}

/// The workload's VM replicas per zone, from the world's own placement (not
/// the planner's `vm_per_zone`).
fn vm_per_zone(w: &World) -> BTreeMap<&'static str, u32> {
    let mut out: BTreeMap<&'static str, u32> = ZONES.iter().map(|z| (*z, 0)).collect();
    for (_, node) in &w.placement {
        let zone = node
            .as_ref()
            .and_then(|n| w.nodes.iter().find(|x| x.name == *n))
            .and_then(|n| n.labels.get(ZONE_LABEL))
            .and_then(|z| ZONES.iter().find(|x| z.ends_with(&format!("-{x}"))));
        if let Some(z) = zone {
            *out.entry(z).or_insert(0) += 1;
        }
    }
    out
}

/// VM nodes of `slots` one-replica slots in each zone (`westeurope-1`, as
/// AKS labels them), filled first-fit in that order: the VM side is as
/// uneven as the slots make it.
fn zoned_world(max_skew: u32, slots: [i64; 3]) -> World {
    // Hard: the rule that makes VM replicas count.
    let mut w = world(max_skew, true);
    w.nodes = ZONES
        .iter()
        .zip(slots)
        .map(|(z, n)| {
            let mut node = super::testkit::node(&format!("vm-{z}"), n * 1000);
            node.labels.insert(ZONE_LABEL.into(), format!("westeurope-{z}"));
            node
        })
        .collect();
    w.placement.iter_mut().for_each(|(_, node)| *node = None);
    w.schedule();
    w.make_ready();
    w
}

/// Every create goes to a zone with the fewest of the workload's replicas,
/// VM and burst together, counting the creates of the same plan before it:
/// the spread is over the whole workload, not the burst side alone.
fn run_with_vm(max_skew: u32, slots: [i64; 3], steps: &[Step]) -> Result<(), TestCaseError> {
    let mut w = zoned_world(max_skew, slots);
    for step in steps {
        w.demand = step.demand;
        let vm = vm_per_zone(&w);
        let p = w.tick();
        let after = per_zone(&w);
        let mut load: BTreeMap<&'static str, u32> = ZONES
            .iter()
            .map(|z| {
                let created = p.creates.iter().filter(|c| c.zone.as_deref() == Some(*z)).count() as u32;
                (*z, vm[z] + after[z] - created)
            })
            .collect();
        for c in &p.creates {
            let z = c.zone.as_deref().unwrap_or("none");
            let least = load.values().copied().min().unwrap();
            let here = ZONES.iter().find(|x| **x == z).map(|x| load[x]);
            prop_assert_eq!(
                here,
                Some(least),
                "{} went to zone {} with {:?} replicas, the fewest being {} (VM {:?}, loads {:?})",
                c.name,
                z,
                here,
                least,
                vm,
                load
            );
            if let Some(x) = ZONES.iter().find(|x| **x == z) {
                *load.get_mut(x).unwrap() += 1;
            }
        }
        w.burst_ready();
        w.schedule();
        w.make_ready();
        w.advance(15);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// VM replicas unevenly over the zones and a hard spread (the rule
    /// that makes VM replicas count; a soft one spreads the burst side
    /// alone, as the tests above check): burst creates fill the zones with
    /// the fewest replicas of the whole workload first.
    #[test]
    fn creates_even_out_vm_and_burst_replicas_together(
        max_skew in 1u32..4,
        slots in prop::array::uniform3(0i64..5),
        s in steps(),
    ) {
        run_with_vm(max_skew, slots, &s)?;
    }

    /// Scale-up, scale-in and replaced failures, every zone usable: at most
    /// one apart, hence within any maxSkew.
    #[test]
    fn burst_replicas_per_zone_stay_even(max_skew in 1u32..4, hard in any::<bool>(), s in steps()) {
        run(max_skew, hard, &s, true, false)?;
    }

    /// Zones answering capacity errors: never created in, and a hard
    /// constraint's maxSkew holds, including after scale-in.
    #[test]
    fn a_hard_spread_holds_through_zone_outages(max_skew in 1u32..4, s in steps()) {
        run(max_skew, true, &s, false, true)?;
    }

    /// ScheduleAnyway: outages bend the spread but nothing lands in them.
    #[test]
    fn a_soft_spread_avoids_unusable_zones(s in steps()) {
        run(1, false, &s, false, true)?;
    }
}
