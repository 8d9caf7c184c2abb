//! The virtual world one strategy runs in: VM nodes, the Deployment's pods,
//! kube-scheduler, the cluster autoscaler and ACI. It owns no scaling logic:
//! it changes only when a plan (or the fixed replica count of a baseline)
//! says so, or when time passes.

mod aci;
mod autoscaler;
mod costs;
mod nodes;
mod pods;
mod standby;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use spillway_core::aci::GroupRequests;
use spillway_core::burst::BurstState;
use spillway_core::config::Pricing;
use spillway_core::plan::CreateGroup;
use spillway_core::snapshot::PodTemplate;

pub use aci::{Aci, CreateSpec, Refusal};
pub use costs::Costs;
pub use nodes::Nodes;
pub use pods::{Phase, Place, PodCounts, PodId, Pods};
pub use standby::StandbyPoolSim;

use crate::dist::Dist;
use crate::scenario::{AciModel, AutoscalerSpec, Pool};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    PodReady(PodId),
    NodeReady(u32),
    GroupDone {
        id: u64,
        fails: bool,
    },
    /// A standby pool instance is Running.
    PoolInstance(u64),
    VirtualDone {
        id: u64,
        pod: PodId,
        fails: bool,
    },
}

/// How a strategy's world differs from the others'.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub pools: Vec<Pool>,
    /// Initial nodes per pool (Ready at t = 0).
    pub initial_nodes: Vec<u32>,
    pub initial_replicas: u32,
    pub template: PodTemplate,
    pub deployment: String,
    pub start_latency: Dist,
    /// `None`: fixed pool.
    pub autoscaler: Option<AutoscalerSpec>,
    pub aci: AciModel,
    pub pricing: Pricing,
    /// `Some(location)`: pods that fit no VM node go to the ACI virtual node there.
    pub virtual_node: Option<String>,
    pub seed: u64,
}

#[derive(Debug)]
pub struct World {
    pub now: i64,
    pub nodes: Nodes,
    pub pods: Pods,
    pub aci: Aci,
    events: BinaryHeap<Reverse<(i64, u64, Event)>>,
    seq: u64,
    rng_pods: ChaCha8Rng,
    rng_nodes: ChaCha8Rng,
    rng_aci: ChaCha8Rng,
    start_latency: Dist,
    autoscaler: Option<AutoscalerSpec>,
    virtual_node: Option<(String, GroupRequests)>,
    /// Capacity appeared since the last scheduler pass: retry every pending pod.
    retry_pending: bool,
    last_scale_up: i64,
    pub costs: Costs,
    /// The policy's standby pool (issue 16); idle unless the controller syncs it.
    pub pool: StandbyPoolSim,
    standby_refill: Option<Dist>,
    standby_claim: Dist,
    refill_pull_secs: i64,
    aci_provisioning: Dist,
}

impl World {
    pub fn new(cfg: WorldConfig) -> World {
        let stream = |s: u64| {
            let mut r = ChaCha8Rng::seed_from_u64(cfg.seed);
            r.set_stream(s);
            r
        };
        let threshold = cfg
            .autoscaler
            .as_ref()
            .map(|a| a.scale_down_utilization_threshold)
            .unwrap_or(0.0);
        let group_requests = GroupRequests::from_template(&cfg.template.requests);
        let pool = StandbyPoolSim::new(
            spillway_core::cost::aci_replica_hourly(&group_requests, &cfg.pricing) / 3600.0,
        );
        let standby_refill = cfg.aci.standby_refill.clone();
        let standby_claim = cfg.aci.standby_claim.clone();
        let refill_pull_secs = (cfg.aci.image_size_gb * cfg.aci.pull_seconds_per_gb).ceil() as i64;
        let aci_provisioning = cfg.aci.provisioning.clone();
        let mut w = World {
            now: 0,
            nodes: Nodes::new(&cfg.pools, &cfg.template.requests, threshold),
            pods: Pods::new(cfg.template, &cfg.deployment),
            aci: Aci::new(cfg.aci, cfg.pricing),
            events: BinaryHeap::new(),
            seq: 0,
            rng_pods: stream(10),
            rng_nodes: stream(11),
            rng_aci: stream(12),
            start_latency: cfg.start_latency,
            autoscaler: cfg.autoscaler,
            virtual_node: cfg.virtual_node.map(|loc| (loc, group_requests)),
            retry_pending: false,
            last_scale_up: i64::MIN / 2,
            costs: Costs::default(),
            pool,
            standby_refill,
            standby_claim,
            refill_pull_secs,
            aci_provisioning,
        };
        for (pool, n) in cfg.initial_nodes.iter().enumerate() {
            for _ in 0..*n {
                w.nodes.add_initial(pool);
            }
        }
        for _ in 0..cfg.initial_replicas {
            match w.nodes.first_with_room() {
                Some(node) => {
                    let id = w.pods.create_ready(Place::Node(node));
                    w.nodes.bind(node, id, 0);
                }
                None => {
                    w.pods.create(0);
                }
            }
        }
        w.pods.set_spec_replicas(cfg.initial_replicas);
        w
    }

    fn push(&mut self, at: i64, e: Event) {
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, e)));
    }

    /// Moves time to `now`: everything due happens.
    pub fn advance_to(&mut self, now: i64) {
        self.now = now;
        while let Some(Reverse((at, _, e))) = self.events.peek().copied() {
            if at > now {
                break;
            }
            self.events.pop();
            match e {
                Event::PodReady(id) => {
                    self.pods.mark_ready(id, at);
                }
                Event::NodeReady(id) => {
                    self.nodes.make_ready(id, at);
                    self.retry_pending = true;
                }
                Event::GroupDone { id, fails } => {
                    self.aci.complete(id, fails);
                }
                Event::PoolInstance(id) => {
                    self.pool.instance_ready(id);
                }
                Event::VirtualDone { id, pod, fails } => {
                    if self.aci.complete(id, fails) == Some(BurstState::Failed) {
                        // virtual-kubelet reports the pod Failed; the ReplicaSet replaces it.
                        self.delete_pod(pod);
                        self.pods.create(now);
                    } else {
                        self.pods.mark_ready(pod, at);
                    }
                }
            }
        }
    }

    /// When the next queued event (a pod, node or container group becoming
    /// ready or done) is due.
    pub fn next_event_at(&self) -> Option<i64> {
        self.events.peek().map(|Reverse((at, _, _))| *at)
    }

    /// True when [`World::schedule`] has nothing to do: no pending pod and
    /// no new one.
    pub fn scheduler_idle(&self) -> bool {
        self.pods.counts.pending == 0 && !self.pods.has_fresh()
    }

    /// Adds `seconds` at the current prices to the running costs (running
    /// pool instances are billed apart from burst groups).
    pub fn accrue(&mut self, seconds: u64) {
        let prices = [
            self.nodes.price_per_sec,
            self.aci.price_per_sec,
            self.pool.price_per_sec(),
        ];
        self.costs.accrue(prices, seconds);
    }

    /// Ready replicas that serve traffic: VM, virtual node, and burst groups not drained.
    pub fn serving(&self) -> u32 {
        self.pods.counts.ready_vm + self.pods.counts.ready_virtual + self.aci.serving
    }

    /// The ReplicaSet controller reconciling `spec.replicas`.
    pub fn set_replicas(&mut self, n: u32) {
        self.pods.set_spec_replicas(n);
        let now = self.now;
        while self.pods.live() < n as usize {
            self.pods.create(now);
        }
        while self.pods.live() > n as usize {
            let Some(victim) = self.pods.victim() else { break };
            self.delete_pod(victim);
        }
    }

    fn delete_pod(&mut self, id: PodId) {
        let now = self.now;
        let Some(pod) = self.pods.remove(id) else { return };
        match pod.place {
            Place::Node(node) => {
                self.nodes.unbind(node, id, now);
                self.retry_pending = true;
            }
            Place::Virtual(group) => {
                if let Some(name) = self.aci.get(group).map(|g| g.name.clone()) {
                    self.aci.delete(&name);
                }
            }
            Place::Unbound => {}
        }
    }

    /// kube-scheduler: binds pending pods first-fit, oldest first; a pod that
    /// fits nowhere is marked unschedulable (or, with a virtual node, goes to
    /// ACI at once). Only pods that can change state are visited.
    pub fn schedule(&mut self) {
        let mut vk_ok = self.virtual_node_accepts();
        let retry = (self.retry_pending || vk_ok) && self.pods.counts.pending > 0;
        self.retry_pending = false;
        if !(self.pods.has_fresh() || retry) {
            return;
        }
        let limit = if vk_ok {
            usize::MAX
        } else {
            usize::try_from(self.nodes.free_slots()).unwrap_or(usize::MAX)
        };
        let now = self.now;
        for id in self.pods.first_pending(limit) {
            if let Some(node) = self.nodes.first_with_room() {
                self.nodes.bind(node, id, now);
                self.pods.bind(id, Place::Node(node));
                let at = now + self.start_latency.sample_secs(&mut self.rng_pods).max(1);
                self.push(at, Event::PodReady(id));
            } else if !(vk_ok && self.place_virtual(id)) {
                vk_ok = false;
                if self.nodes.free_slots() == 0 {
                    break;
                }
            }
        }
        for id in self.pods.fresh_ids() {
            self.pods.mark_unschedulable(id);
        }
    }

    fn virtual_node_accepts(&mut self) -> bool {
        let Some((location, requests)) = self.virtual_node.clone() else {
            return false;
        };
        self.aci.can_create(self.now, &location, &requests).is_ok()
    }

    fn place_virtual(&mut self, pod: PodId) -> bool {
        let Some((location, requests)) = self.virtual_node.clone() else {
            return false;
        };
        let name = format!("vk-{pod:x}");
        let spec = CreateSpec {
            name: &name,
            ordinal: 0,
            location: &location,
            zone: None,
            template_hash: "",
            requests,
            listed: false,
            latency: None,
        };
        match self.aci.create(self.now, &spec, &mut self.rng_aci) {
            Ok(Some(acc)) => {
                self.pods.bind(pod, Place::Virtual(acc.id));
                self.push(
                    acc.done_at,
                    Event::VirtualDone {
                        id: acc.id,
                        pod,
                        fails: acc.fails,
                    },
                );
                true
            }
            _ => false,
        }
    }

    /// A PUT of one of the planner's container groups (idempotent on the
    /// name), as the ARM backend sends it; `claim`: it names the standby
    /// pool, and starts in seconds when the pool has a ready instance.
    pub fn create_group(&mut self, c: &CreateGroup, claim: bool) -> Result<(), Refusal> {
        let mut spec = CreateSpec {
            name: &c.name,
            ordinal: c.ordinal,
            location: &c.location,
            zone: c.zone.as_deref(),
            template_hash: &c.template_hash,
            requests: c.requests,
            listed: true,
            latency: None,
        };
        let new = self.aci.id_of(&c.name).is_none();
        if claim
            && new
            && self.aci.can_create(self.now, &c.location, &c.requests).is_ok()
            && self.pool.claim()
        {
            spec.latency = Some(self.standby_claim.sample_secs(&mut self.rng_aci));
            let started = self.pool.refill();
            self.start_pool_instances(started);
        }
        if let Some(acc) = self.aci.create(self.now, &spec, &mut self.rng_aci)? {
            self.push(
                acc.done_at,
                Event::GroupDone {
                    id: acc.id,
                    fails: acc.fails,
                },
            );
        }
        Ok(())
    }

    /// The controller's `maxReadyCapacity` for the pool.
    pub fn sync_pool(&mut self, target: u32) {
        let started = self.pool.set_target(target);
        self.start_pool_instances(started);
    }

    fn start_pool_instances(&mut self, ids: Vec<u64>) {
        for id in ids {
            let delay = match &self.standby_refill {
                Some(d) => d.sample_secs(&mut self.rng_aci),
                None => self.aci_provisioning.sample_secs(&mut self.rng_aci) + self.refill_pull_secs,
            };
            self.push(self.now + delay.max(1), Event::PoolInstance(id));
        }
    }

    /// Seconds since the autoscaler last added nodes.
    fn since_scale_up(&self) -> i64 {
        self.now - self.last_scale_up
    }

    /// Changes a tick could see (nodes and their pods, the Deployment's
    /// pods, container groups) so far: equal versions, the same world.
    pub fn version(&self) -> u64 {
        self.nodes.version + self.pods.version() + self.aci.version()
    }

    pub fn autoscaler_enabled(&self) -> bool {
        self.autoscaler.is_some()
    }
}
