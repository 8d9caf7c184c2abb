//! `burst.zones: auto` through the controller's tick over the simulator's
//! world: the groups of a policy with `auto` are spread over the zones the
//! backend discovers, and while discovery fails the policy still bursts,
//! without zones, and says why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{
    BurstBackend, Controller, ControllerOptions, CreateRequest, LeaderGate, ListedGroup, ManualClock, Parts,
    PolicyRuntime, SeamError, ZonesAnswer,
};
use spillway_core::burst::BurstHeadroom;
use spillway_core::config::{AciPriority, Policy};
use spillway_core::time::Timestamp;
use spillway_sim::seams::{SharedWorld, SimBackend, SimCluster, SimMetrics, lock};
use spillway_sim::{Demand, DemandOverrides, Simulation, Strategy};

/// The simulator's backend, with zone discovery failing when `fail` says so.
struct Flaky {
    inner: SimBackend,
    fail: Arc<Mutex<bool>>,
}

impl BurstBackend<()> for Flaky {
    fn list<'a>(
        &'a self,
        c: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Arc<Vec<ListedGroup>>, SeamError>> {
        self.inner.list(c, now)
    }
    fn create<'a>(&'a self, req: CreateRequest<'a, ()>) -> BoxFuture<'a, Result<(), SeamError>> {
        self.inner.create(req)
    }
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SeamError>> {
        self.inner.delete(name)
    }
    fn headroom<'a>(&'a self, l: &'a str, p: AciPriority) -> BoxFuture<'a, BurstHeadroom> {
        self.inner.headroom(l, p)
    }
    fn zones<'a>(&'a self, location: &'a str, now: Timestamp) -> BoxFuture<'a, ZonesAnswer> {
        if *self.fail.lock().unwrap() {
            return Box::pin(async {
                ZonesAnswer {
                    zones: None,
                    error: Some(("AuthorizationFailed: no providers/read".into(), "auth")),
                }
            });
        }
        self.inner.zones(location, now)
    }
}

/// A spike at 20 min on the default scenario, its policy set to `auto`.
fn auto_sim() -> Simulation {
    let mut sim = Simulation::load(None, &DemandOverrides::default(), Some(7)).expect("default scenario");
    let base = sim.demand.mean(0, 60);
    let mut series = vec![base; 40 * 60];
    series[20 * 60..].fill(base * 3.0);
    sim.demand = Arc::new(Demand::from_series(series, "spike").expect("demand"));
    let mut policy = Policy::clone(&sim.scenario.policy);
    let b = policy.burst.as_mut().expect("burst");
    b.zones = Vec::new();
    b.zones_auto = true;
    sim.scenario.policy = Arc::new(policy);
    sim
}

/// Runs to `end` seconds; returns the zone of every create and the controller.
async fn run(
    sim: &Simulation,
    fail: Arc<Mutex<bool>>,
    end: u64,
) -> (BTreeMap<Option<String>, u32>, Controller<()>) {
    let world: SharedWorld = Arc::new(Mutex::new(sim.world(Strategy::Spillway)));
    let clock = ManualClock::new(Timestamp::from_secs(0));
    let policy = &sim.scenario.policy;
    let controller = Controller::new(
        Parts {
            cluster: Arc::new(SimCluster::new(
                world.clone(),
                policy.target.clone(),
                sim.template.clone(),
            )),
            metrics_source: Arc::new(SimMetrics::for_simulation(world.clone(), sim)),
            backend: Arc::new(Flaky {
                inner: SimBackend::new(world.clone(), policy),
                fail,
            }),
            telemetry: Metrics::new().expect("metrics"),
            status: Arc::new(StatusBoard::new("test")),
            leader: LeaderGate::always(),
            clock: clock.clock(),
            rebuild: None,
        },
        ControllerOptions::default(),
    );
    let mut rt = PolicyRuntime::new(policy.clone());
    let interval = policy.interval.as_secs().max(1);
    let mut zones = BTreeMap::new();
    for t in 0..end {
        lock(&world).advance_to(t as i64);
        if t.is_multiple_of(interval) {
            clock.set(Timestamp::from_secs(t as i64));
            let plan = controller.tick(&mut rt).await.expect("tick");
            for c in &plan.creates {
                *zones.entry(c.zone.clone()).or_insert(0) += 1;
            }
        }
        let mut w = lock(&world);
        w.schedule();
        w.autoscale();
        w.accrue(1);
    }
    // The configured policy is untouched: only the runtime's copy has zones.
    assert!(policy.burst.as_ref().expect("burst").zones.is_empty());
    (zones, controller)
}

#[tokio::test]
async fn auto_spreads_groups_over_the_discovered_zones() {
    let sim = auto_sim();
    let (zones, controller) = run(&sim, Arc::new(Mutex::new(false)), 26 * 60).await;
    let total: u32 = zones.values().sum();
    assert!(total >= 6, "the spike bursts: {zones:?}");
    assert_eq!(zones.get(&None), None, "every create has a zone: {zones:?}");
    let per: Vec<u32> = ["1", "2", "3"]
        .iter()
        .map(|z| zones.get(&Some(z.to_string())).copied().unwrap_or(0))
        .collect();
    assert_eq!(per.len(), zones.len(), "only the discovered zones: {zones:?}");
    let (lo, hi) = (per.iter().min().unwrap(), per.iter().max().unwrap());
    assert!(hi - lo <= 1, "even over the zones: {zones:?}");
    let status = controller.status.to_json();
    let z = &status["policies"]["web"]["zones"];
    assert_eq!(z["source"], "auto", "{status:#}");
    assert_eq!(z["effective"], serde_json::json!(["1", "2", "3"]), "{status:#}");
    assert_eq!(z["error"], serde_json::Value::Null);
}

#[tokio::test]
async fn failing_discovery_plans_without_zones_and_reports_it() {
    let sim = auto_sim();
    let (zones, controller) = run(&sim, Arc::new(Mutex::new(true)), 26 * 60).await;
    let total: u32 = zones.values().sum();
    assert!(total >= 6, "creates are never blocked by discovery: {zones:?}");
    assert_eq!(
        zones.keys().collect::<Vec<_>>(),
        [&None],
        "no zone while unknown: {zones:?}"
    );
    let status = controller.status.to_json();
    let p = &status["policies"]["web"];
    assert_eq!(p["zones"]["effective"], serde_json::json!([]), "{status:#}");
    let error = p["zones"]["error"].as_str().expect("an error");
    assert!(
        error.contains("AuthorizationFailed") && error.contains("without zones"),
        "{error}"
    );
    // Listed once among the errors, not every tick.
    let listed = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.as_str() == Some(error))
        .count();
    assert_eq!(listed, 1, "{status:#}");
    let errors = controller
        .telemetry
        .reconcile_errors
        .with_label_values(&["web", "zones_unresolved"])
        .get();
    assert!(errors >= 1, "counted as zones_unresolved");
}
