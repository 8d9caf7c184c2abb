//! Zone spread in the simulator (issue 17): with `burst.zones`, the same
//! controller the cluster runs puts burst replicas so that any two zones
//! differ by at most one, through rises, falls and scale-in, and the
//! figure that says so is honest (unspread replicas would break it).

mod common;

use std::path::Path;

use common::*;
use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use spillway_sim::{DemandOverrides, Outcome, RunOptions, Scenario, Simulation, Strategy};

/// The step scenario of `common`, its one step replaced by `steps`
/// (at second, change), with burst replicas spread over `zones`.
fn zoned(k: &Knobs, zones: &str, steps: &[(u64, f64)]) -> Outcome {
    let mut y = yaml(k).replace(
        "      vmOverflow:",
        &format!("      zones: {zones}\n      vmOverflow:"),
    );
    if !steps.is_empty() {
        let first = format!("    - {{ at: {}, add: {} }}", k.up, k.add);
        let list: Vec<String> = steps
            .iter()
            .map(|(at, add)| format!("    - {{ at: {at}, add: {add} }}"))
            .collect();
        y = y.replace(&first, &list.join("\n"));
    }
    let scenario = Scenario::from_yaml(&y, "zones", Path::new(".")).expect("valid scenario");
    let sim = Simulation::new(scenario, &DemandOverrides::default(), None).expect("demand");
    sim.run(&RunOptions::default(), &|_| {})
}

#[test]
fn burst_replicas_spread_evenly_over_the_listed_zones() {
    let k = Knobs::default();
    let o = zoned(&k, "[1, 2, 3]", &[]);
    let f = &run(&o, Strategy::Spillway).figures;
    assert!(f.peak_burst_replicas >= 6, "the step bursts: {f:?}");
    // A replica without one of the zones counts as the whole burst in the
    // skew, so with >= 6 burst replicas a skew <= 1 also says every one of
    // them got a zone.
    assert!(f.max_zone_skew <= 1, "skew {}: {f:?}", f.max_zone_skew);
}

#[test]
fn zones_auto_spreads_over_the_simulated_locations_zones() {
    let o = zoned(&Knobs::default(), "auto", &[]);
    let f = &run(&o, Strategy::Spillway).figures;
    assert!(f.peak_burst_replicas >= 6, "{f:?}");
    assert!(f.max_zone_skew <= 1, "{f:?}");
}

#[test]
fn without_zones_the_skew_is_not_watched() {
    let o = simulate(&Knobs::default());
    assert_eq!(run(&o, Strategy::Spillway).figures.max_zone_skew, 0);
}

fn steps() -> impl proptest::strategy::Strategy<Value = Vec<(u64, f64)>> {
    // Rises and falls of the demand every 2-10 minutes over an hour; the
    // running sum never goes below -base (the demand stays >= 0).
    prop::collection::vec((120u64..600, -900.0f64..1500.0), 1..8).prop_map(|v| {
        let (mut at, mut level) = (300u64, 0.0f64);
        v.into_iter()
            .map(|(gap, add)| {
                at += gap;
                let add = add.max(-level - 400.0).round();
                level += add;
                (at, add)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any sequence of rises and falls: burst replicas per zone differ by
    /// at most one after every decision, scale-in included.
    #[test]
    fn the_spread_holds_through_rises_falls_and_scale_in(s in steps()) {
        let k = Knobs { duration: 3600, ..Knobs::default() };
        let o = zoned(&k, "[1, 2, 3]", &s);
        let f = &run(&o, Strategy::Spillway).figures;
        prop_assert!(f.max_zone_skew <= 1, "skew {} for steps {s:?}: {f:?}", f.max_zone_skew);
    }
}
