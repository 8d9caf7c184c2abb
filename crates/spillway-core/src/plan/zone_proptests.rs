//! Property tests of the zone spread (issue 17): whatever the sequence of
//! demands, failures and zones answering capacity errors, the burst
//! replicas per configured zone differ by at most the template's `maxSkew`,
//! after scale-in as after scale-up.

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

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
