//! The controller's tick and executor in process, over the simulator's world
//! (its ACI model is the in-memory burst backend): a spike bursts up, the
//! fall deletes every group, and a restarted controller adopts what is live.
//! Virtual time: a simulated hour runs in milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{Controller, ControllerOptions, LeaderGate, ManualClock, Parts, PolicyRuntime};
use spillway_core::plan::Plan;
use spillway_core::time::Timestamp;
use spillway_sim::seams::{SharedWorld, SimBackend, SimCluster, SimMetrics, lock};
use spillway_sim::{Demand, DemandOverrides, Simulation, Strategy};

/// Base load for 20 minutes, three times that for 20, base again for 30.
fn spike_sim() -> Simulation {
    let mut sim = Simulation::load(None, &DemandOverrides::default(), Some(7)).expect("default scenario");
    let base = sim.demand.mean(0, 60);
    let mut series = vec![base; 70 * 60];
    series[20 * 60..40 * 60].fill(base * 3.0);
    sim.demand = Arc::new(Demand::from_series(series, "spike").expect("demand"));
    sim
}

struct Harness {
    sim: Simulation,
    world: SharedWorld,
    clock: ManualClock,
    controller: Controller<()>,
    runtime: PolicyRuntime,
    t: u64,
}

fn controller(sim: &Simulation, world: &SharedWorld, clock: &ManualClock) -> Controller<()> {
    let policy = &sim.scenario.policy;
    Controller::new(
        Parts {
            cluster: Arc::new(SimCluster::new(
                world.clone(),
                policy.target.clone(),
                sim.template.clone(),
            )),
            metrics_source: Arc::new(SimMetrics::for_simulation(world.clone(), sim)),
            backend: Arc::new(SimBackend::new(world.clone(), policy)),
            telemetry: Metrics::new().expect("metrics"),
            status: Arc::new(StatusBoard::new("test")),
            leader: LeaderGate::always(),
            clock: clock.clock(),
            rebuild: None,
        },
        ControllerOptions::default(),
    )
}

impl Harness {
    fn new(sim: Simulation) -> Self {
        let world = Arc::new(Mutex::new(sim.world(Strategy::Spillway)));
        let clock = ManualClock::new(Timestamp::from_secs(0));
        let controller = controller(&sim, &world, &clock);
        let runtime = PolicyRuntime::new(sim.scenario.policy.clone());
        Harness {
            sim,
            world,
            clock,
            controller,
            runtime,
            t: 0,
        }
    }

    /// A crash and a restart: a new controller with no memory, same world.
    fn restart(&mut self) {
        self.controller = controller(&self.sim, &self.world, &self.clock);
        self.runtime = PolicyRuntime::new(self.sim.scenario.policy.clone());
    }

    /// Runs the world second by second until `end`, ticking on the policy's
    /// interval; `each` sees every plan and the world right after it.
    async fn run_until(&mut self, end: u64, mut each: impl FnMut(u64, &Plan, &spillway_sim::world::World)) {
        let interval = self.sim.scenario.policy.interval.as_secs().max(1);
        while self.t < end {
            let t = self.t;
            lock(&self.world).advance_to(t as i64);
            if t.is_multiple_of(interval) {
                self.clock.set(Timestamp::from_secs(t as i64));
                let plan = self.controller.tick(&mut self.runtime).await.expect("tick");
                each(t, &plan, &lock(&self.world));
            }
            let mut w = lock(&self.world);
            w.schedule();
            w.autoscale();
            w.accrue(1);
            drop(w);
            self.t += 1;
        }
    }
}

#[tokio::test]
async fn a_spike_bursts_up_and_the_fall_deletes_every_group() {
    let mut h = Harness::new(spike_sim());
    let max = h.sim.scenario.policy.burst.as_ref().expect("burst").max_replicas;
    let mut first_create = None;
    let mut peak_live = 0;
    h.run_until(70 * 60, |t, plan, w| {
        if first_create.is_none() && !plan.creates.is_empty() {
            first_create = Some(t);
        }
        peak_live = peak_live.max(w.aci.live);
        assert!(
            w.aci.live <= max,
            "t={t}: {} live groups over burst.maxReplicas {max}",
            w.aci.live
        );
        if t < 20 * 60 {
            assert!(
                plan.creates.is_empty(),
                "t={t}: no burst before the spike: {:?}",
                plan.reasons
            );
        }
    })
    .await;
    let first = first_create.expect("the spike bursts");
    // The metric lags by the scrape interval and the rate() window.
    assert!(
        (20 * 60..20 * 60 + 120).contains(&first),
        "first create {}s after the spike",
        first as i64 - 20 * 60
    );
    assert!(
        peak_live >= 5,
        "a spike of 3x the base needs burst replicas: peak {peak_live}"
    );
    let w = lock(&h.world);
    assert_eq!(w.aci.live, 0, "every group deleted 30 minutes after the fall");
    assert!(w.aci.created_total >= u64::from(peak_live));
}

#[tokio::test]
async fn a_restarted_controller_adopts_live_groups_and_creates_no_duplicate() {
    let mut h = Harness::new(spike_sim());
    // Into the spike, while the burst covers it (new VM nodes take a few
    // minutes to join).
    h.run_until(20 * 60 + 180, |_, _, _| {}).await;
    let (live_before, created_before) = {
        let w = lock(&h.world);
        (w.aci.live, w.aci.created_total)
    };
    assert!(live_before > 0, "bursting at the restart");
    let live_names: BTreeSet<String> = {
        let mut w = lock(&h.world);
        let now = w.now;
        w.aci
            .inventory(now, &["westeurope".to_string(), "northeurope".to_string()])
            .replicas
            .iter()
            .map(|r| r.name.clone())
            .collect()
    };
    h.restart();
    let mut puts_to_live = Vec::new();
    let mut first_plan: Option<Plan> = None;
    h.run_until(20 * 60 + 240, |_, plan, _| {
        puts_to_live.extend(
            plan.creates
                .iter()
                .filter(|c| live_names.contains(&c.name))
                .map(|c| c.name.clone()),
        );
        first_plan.get_or_insert_with(|| plan.clone());
    })
    .await;
    assert!(
        puts_to_live.is_empty(),
        "created again after the restart: {puts_to_live:?}"
    );
    let first = first_plan.expect("ticked");
    assert!(
        first.burst.ready + first.burst.provisioning >= live_before.saturating_sub(1),
        "the first plan after the restart counts the live groups: {:?}",
        first.burst
    );
    let w = lock(&h.world);
    assert!(
        w.aci.created_total - created_before <= 2,
        "a settled burst needs (almost) no new groups after a restart: {} created",
        w.aci.created_total - created_before
    );
}

#[tokio::test]
async fn a_policy_with_a_standby_pool_keeps_it_sized_and_claims_from_it() {
    let mut sim = spike_sim();
    let mut policy = spillway_core::config::Policy::clone(&sim.scenario.policy);
    let pool = spillway_core::config::StandbyPool {
        name: "pool-web".into(),
        max_ready_capacity: 4,
        size_from: spillway_core::config::SizeFrom::Fixed,
        floor: Vec::new(),
    };
    policy.burst.as_mut().expect("burst").standby_pool = Some(pool);
    sim.scenario.policy = Arc::new(policy);
    let mut h = Harness::new(sim);
    let mut sized = false;
    h.run_until(25 * 60, |_, plan, w| {
        let size = plan
            .standby
            .as_ref()
            .expect("a pooled policy's plan sizes the pool");
        assert_eq!(size.desired, 4, "fixed, no floor: the cap all day");
        sized |= w.pool.target == 4;
    })
    .await;
    assert!(sized, "the tick set the pool's size");
    let w = lock(&h.world);
    assert!(
        w.pool.hits >= 4,
        "the spike's first creates are served from the pool: {:?}",
        w.pool
    );
    drop(w);
    let text = h.controller.telemetry.encode();
    assert!(
        text.lines()
            .any(|l| l.starts_with("spillway_standby_pool_claims_total{")
                && l.contains("outcome=\"hit\"")
                && !l.ends_with(" 0")),
        "{text}"
    );
    assert!(
        text.contains("spillway_standby_pool_desired{policy=\"web\"} 4"),
        "{text}"
    );
    let status = h.controller.status.to_json();
    assert_eq!(
        status["policies"]["web"]["standbyPool"]["inStep"], true,
        "{status:#}"
    );
}
