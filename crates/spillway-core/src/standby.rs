//! Standby pool sizing (issue 16): how many ready container groups the
//! policy's ACI standby pool should hold this tick. Pure, like the planner:
//! the time of day is read from the plan's `now` (UTC), the forecast is the
//! one the planner already computed (`Plan::forecast_replicas`).
//!
//! `sizeFrom: forecast`: the burst replicas the forecast expects over its
//! horizon (forecast total − what the VM nodes hold and can take), minus the
//! burst replicas already running, clamped to `[floor(time of day),
//! maxReadyCapacity]`. `sizeFrom: fixed`: the floor of the time of day, or
//! `maxReadyCapacity` all day when no floor is configured.

use serde::Serialize;

use crate::config::{SizeFrom, StandbyPool};
use crate::plan::Plan;
use crate::time::Timestamp;

const MINUTES_PER_DAY: i64 = 24 * 60;

/// The pool's wanted size, and the parts it was made of (for `/status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSize {
    /// The pool's ARM name.
    pub name: String,
    /// `elasticityProfile.maxReadyCapacity` to set.
    pub desired: u32,
    /// The floor of this time of day.
    pub floor: u32,
    pub cap: u32,
    /// Burst replicas the forecast expects over its horizon (`forecast` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_burst: Option<u32>,
}

/// What the sizing reads of one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizingInput {
    /// Total replicas wanted over the horizon: the forecast's, or D when
    /// the forecast is not above the reactive answer.
    pub expected_total: u32,
    /// Replicas the VM nodes hold now plus what they can still take.
    pub vm_capacity: u32,
    /// Burst replicas running or starting now.
    pub burst_running: u32,
    /// `burst.maxReplicas`.
    pub burst_max: u32,
}

/// The floor at `now` (minutes of the day, UTC): the highest `ready` of the
/// windows covering it, 0 outside all of them.
pub fn floor_at(pool: &StandbyPool, now: Timestamp) -> u32 {
    let minute = (now.millis().div_euclid(60_000)).rem_euclid(MINUTES_PER_DAY) as u32;
    pool.floor
        .iter()
        .filter(|w| {
            if w.from < w.to {
                (w.from..w.to).contains(&minute)
            } else {
                minute >= w.from || minute < w.to
            }
        })
        .map(|w| w.ready)
        .max()
        .unwrap_or(0)
        .min(pool.max_ready_capacity)
}

/// The wanted pool size from explicit inputs.
pub fn size(pool: &StandbyPool, now: Timestamp, input: SizingInput) -> PoolSize {
    let cap = pool.max_ready_capacity;
    let floor = floor_at(pool, now);
    let (desired, forecast_burst) = match pool.size_from {
        SizeFrom::Fixed if pool.floor.is_empty() => (cap, None),
        SizeFrom::Fixed => (floor, None),
        SizeFrom::Forecast => {
            let burst = input
                .expected_total
                .saturating_sub(input.vm_capacity)
                .min(input.burst_max);
            let more = burst.saturating_sub(input.burst_running);
            (more.clamp(floor, cap.max(floor)), Some(burst))
        }
    };
    PoolSize {
        name: pool.name.clone(),
        desired: desired.min(cap),
        floor,
        cap,
        forecast_burst,
    }
}

/// The wanted pool size for a finished plan.
pub fn size_for_plan(pool: &StandbyPool, burst_max: u32, plan: &Plan) -> PoolSize {
    let input = SizingInput {
        expected_total: plan
            .forecast_replicas
            .unwrap_or(plan.desired_replicas)
            .max(plan.desired_replicas),
        vm_capacity: plan.vm.scheduled().saturating_add(plan.vm_fit),
        burst_running: plan.burst.ready + plan.burst.provisioning,
        burst_max,
    };
    size(pool, plan.at, input)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::config::standby::FloorMinutes;

    fn pool(size_from: SizeFrom, cap: u32, floor: &[(u32, u32, u32)]) -> StandbyPool {
        StandbyPool {
            name: "c-web".into(),
            max_ready_capacity: cap,
            size_from,
            floor: floor
                .iter()
                .map(|&(from, to, ready)| FloorMinutes { from, to, ready })
                .collect(),
        }
    }

    fn at(h: i64, m: i64) -> Timestamp {
        // A day well after the epoch: only the time of day matters.
        Timestamp::from_secs(20_000 * 86_400 + h * 3600 + m * 60)
    }

    fn input(expected_total: u32, vm_capacity: u32, burst_running: u32) -> SizingInput {
        SizingInput {
            expected_total,
            vm_capacity,
            burst_running,
            burst_max: 50,
        }
    }

    #[test]
    fn floors_follow_the_time_of_day_and_wrap_midnight() {
        let p = pool(
            SizeFrom::Fixed,
            10,
            &[(8 * 60, 20 * 60, 5), (22 * 60, 6 * 60, 2), (12 * 60, 13 * 60, 7)],
        );
        assert_eq!(floor_at(&p, at(7, 59)), 0);
        assert_eq!(floor_at(&p, at(8, 0)), 5);
        assert_eq!(floor_at(&p, at(12, 30)), 7, "the highest covering window wins");
        assert_eq!(floor_at(&p, at(19, 59)), 5);
        assert_eq!(floor_at(&p, at(20, 0)), 0, "to is exclusive");
        assert_eq!(floor_at(&p, at(23, 0)), 2);
        assert_eq!(floor_at(&p, at(5, 59)), 2);
        assert_eq!(floor_at(&p, at(6, 0)), 0);
    }

    #[test]
    fn fixed_is_the_floor_or_the_cap() {
        let none = pool(SizeFrom::Fixed, 6, &[]);
        assert_eq!(size(&none, at(3, 0), input(100, 0, 0)).desired, 6);
        let day = pool(SizeFrom::Fixed, 6, &[(8 * 60, 20 * 60, 4)]);
        assert_eq!(size(&day, at(9, 0), input(100, 0, 0)).desired, 4);
        assert_eq!(size(&day, at(21, 0), input(100, 0, 0)).desired, 0);
    }

    #[test]
    fn forecast_is_the_expected_burst_minus_the_running_clamped() {
        let p = pool(SizeFrom::Forecast, 10, &[(8 * 60, 20 * 60, 3)]);
        // 30 expected, VMs hold 20: 10 burst; 4 already run: 6 more.
        let s = size(&p, at(21, 0), input(30, 20, 4));
        assert_eq!((s.desired, s.forecast_burst, s.floor), (6, Some(10), 0));
        // Nothing expected beyond the VMs: the floor of the day.
        assert_eq!(size(&p, at(9, 0), input(15, 20, 0)).desired, 3);
        assert_eq!(size(&p, at(21, 0), input(15, 20, 0)).desired, 0);
        // More than the cap.
        assert_eq!(size(&p, at(21, 0), input(80, 20, 0)).desired, 10);
        // The burst cannot exceed burst.maxReplicas.
        let small = SizingInput {
            burst_max: 5,
            ..input(80, 20, 2)
        };
        assert_eq!(size(&p, at(21, 0), small).desired, 3);
    }

    #[test]
    fn plans_feed_the_forecast_or_d() {
        let p = pool(SizeFrom::Forecast, 10, &[]);
        let mut plan = crate::plan::testkit::empty_plan();
        plan.desired_replicas = 12;
        plan.vm_fit = 2;
        plan.vm.ready = 8;
        assert_eq!(size_for_plan(&p, 50, &plan).desired, 2, "D 12 − VM capacity 10");
        plan.forecast_replicas = Some(18);
        assert_eq!(size_for_plan(&p, 50, &plan).desired, 8);
        plan.burst.ready = 3;
        assert_eq!(size_for_plan(&p, 50, &plan).desired, 5);
    }

    proptest! {
        #[test]
        fn never_above_the_cap_nor_below_the_floor(
            cap in 0u32..3000,
            windows in proptest::collection::vec((0u32..1440, 0u32..1440, 0u32..3000), 0..4),
            forecast in any::<bool>(),
            minute in 0i64..(3 * 1440),
            expected in 0u32..5000,
            vm in 0u32..5000,
            running in 0u32..5000,
            burst_max in 0u32..5000,
        ) {
            let windows: Vec<_> = windows.into_iter().filter(|(f, t, _)| f != t).collect();
            let p = pool(if forecast { SizeFrom::Forecast } else { SizeFrom::Fixed }, cap, &windows);
            let now = Timestamp::from_secs(minute * 60);
            let s = size(&p, now, SizingInput { expected_total: expected, vm_capacity: vm, burst_running: running, burst_max });
            prop_assert!(s.desired <= cap);
            prop_assert!(s.desired >= s.floor);
            prop_assert!(s.floor <= cap);
            prop_assert_eq!(s.floor, floor_at(&p, now));
        }
    }
}
