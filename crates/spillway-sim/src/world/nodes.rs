//! VM nodes: capacity in workload slots, first-fit placement, the
//! utilization the cluster autoscaler reads, and the `ClusterSnapshot` the
//! planner reads (rebuilt only after bindings or nodes changed).

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use spillway_core::snapshot::{BoundPod, ClusterSnapshot, NodeInfo, PodTemplate};

use super::pods::PodId;
use crate::scenario::Pool;

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub pool: usize,
    pub slots: u32,
    pub pods: Vec<PodId>,
}

impl Node {
    pub fn used(&self) -> u32 {
        self.pods.len() as u32
    }
    pub fn free(&self) -> u32 {
        self.slots - self.used()
    }
}

#[derive(Debug)]
pub struct Nodes {
    pools: Vec<Pool>,
    /// Utilization one workload pod adds to a node of each pool (max of cpu and memory).
    pod_util: Vec<f64>,
    util_threshold: f64,
    ready: BTreeMap<u32, Node>,
    /// Nodes created by the autoscaler and not Ready yet: id → pool.
    booting: BTreeMap<u32, usize>,
    next_id: u32,
    with_room: BTreeSet<u32>,
    free_slots: u64,
    booting_slots: u64,
    /// Ready + booting nodes per pool: what is billed.
    pub billed: Vec<u32>,
    /// Nodes below the utilization threshold, and since when.
    pub underutilized: BTreeMap<u32, i64>,
    /// The snapshot must be rebuilt before the next plan.
    pub dirty: bool,
    /// Changes of the nodes or their pods so far.
    pub version: u64,
    /// Price of all billed nodes, per second.
    pub price_per_sec: f64,
}

impl Nodes {
    pub fn new(pools: &[Pool], requests: &spillway_core::resources::Resources, util_threshold: f64) -> Self {
        let pod_util = pools
            .iter()
            .map(|p| {
                let c = ratio(requests.cpu_millis, p.allocatable.cpu_millis);
                let m = ratio(requests.memory_bytes, p.allocatable.memory_bytes);
                c.max(m)
            })
            .collect();
        Nodes {
            pools: pools.to_vec(),
            pod_util,
            util_threshold,
            ready: BTreeMap::new(),
            booting: BTreeMap::new(),
            next_id: 0,
            with_room: BTreeSet::new(),
            free_slots: 0,
            booting_slots: 0,
            billed: vec![0; pools.len()],
            underutilized: BTreeMap::new(),
            dirty: true,
            version: 0,
            price_per_sec: 0.0,
        }
    }

    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }
    pub fn ready_count(&self) -> u32 {
        self.ready.len() as u32
    }
    pub fn booting_count(&self) -> u32 {
        self.booting.len() as u32
    }
    pub fn booting_slots(&self) -> u64 {
        self.booting_slots
    }
    pub fn free_slots(&self) -> u64 {
        self.free_slots
    }
    pub fn get(&self, id: u32) -> Option<&Node> {
        self.ready.get(&id)
    }
    /// The lowest-numbered node with a free slot (first fit).
    pub fn first_with_room(&self) -> Option<u32> {
        self.with_room.first().copied()
    }

    fn reprice(&mut self) {
        self.price_per_sec = self
            .billed
            .iter()
            .zip(&self.pools)
            .map(|(n, p)| f64::from(*n) * p.spec.price_per_hour / 3600.0)
            .fold(0.0, |a, b| a + b);
    }

    /// A node being provisioned; billed from now.
    pub fn start_booting(&mut self, pool: usize) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.booting.insert(id, pool);
        self.booting_slots += u64::from(self.pools[pool].slots);
        self.billed[pool] += 1;
        self.reprice();
        id
    }

    /// A node joins Ready (at t = 0 or when its boot completes).
    pub fn make_ready(&mut self, id: u32, now: i64) {
        let pool = match self.booting.remove(&id) {
            Some(pool) => {
                self.booting_slots -= u64::from(self.pools[pool].slots);
                pool
            }
            None => return,
        };
        self.insert_ready(id, pool, now);
    }

    /// A Ready node from the start.
    pub fn add_initial(&mut self, pool: usize) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.billed[pool] += 1;
        self.reprice();
        self.insert_ready(id, pool, 0);
        id
    }

    fn insert_ready(&mut self, id: u32, pool: usize, now: i64) {
        let slots = self.pools[pool].slots;
        let name = format!("aks-{}-{id:05}", self.pools[pool].spec.name);
        self.ready.insert(
            id,
            Node {
                name,
                pool,
                slots,
                pods: Vec::new(),
            },
        );
        self.with_room.insert(id);
        self.free_slots += u64::from(slots);
        self.dirty = true;
        self.version += 1;
        self.refresh_util(id, now);
    }

    /// Removes a Ready node; returns the pods that were on it (to evict).
    pub fn remove(&mut self, id: u32) -> Vec<PodId> {
        let Some(node) = self.ready.remove(&id) else {
            return Vec::new();
        };
        self.with_room.remove(&id);
        self.underutilized.remove(&id);
        self.free_slots -= u64::from(node.free());
        self.billed[node.pool] -= 1;
        self.reprice();
        self.dirty = true;
        self.version += 1;
        node.pods
    }

    pub fn bind(&mut self, id: u32, pod: PodId, now: i64) -> bool {
        let Some(node) = self.ready.get_mut(&id) else {
            return false;
        };
        if node.free() == 0 {
            return false;
        }
        node.pods.push(pod);
        self.free_slots -= 1;
        if node.free() == 0 {
            self.with_room.remove(&id);
        }
        self.dirty = true;
        self.version += 1;
        self.refresh_util(id, now);
        true
    }

    pub fn unbind(&mut self, id: u32, pod: PodId, now: i64) {
        let Some(node) = self.ready.get_mut(&id) else {
            return;
        };
        let Some(i) = node.pods.iter().position(|p| *p == pod) else {
            return;
        };
        node.pods.swap_remove(i);
        self.free_slots += 1;
        self.with_room.insert(id);
        self.dirty = true;
        self.version += 1;
        self.refresh_util(id, now);
    }

    pub fn utilization(&self, id: u32) -> f64 {
        self.ready
            .get(&id)
            .map(|n| f64::from(n.used()) * self.pod_util[n.pool])
            .unwrap_or(0.0)
    }

    fn refresh_util(&mut self, id: u32, now: i64) {
        if self.utilization(id) < self.util_threshold {
            self.underutilized.entry(id).or_insert(now);
        } else {
            self.underutilized.remove(&id);
        }
    }

    /// The planner's view: Ready nodes and the pods bound to them.
    pub fn snapshot(&mut self, template: &PodTemplate) -> ClusterSnapshot {
        self.dirty = false;
        let mut nodes = Vec::with_capacity(self.ready.len());
        let mut bound = Vec::new();
        // One copy of the namespace and labels for every pod.
        let namespace: Arc<str> = template.namespace.as_str().into();
        let labels = Arc::new(template.labels.clone());
        for node in self.ready.values() {
            let pool = &self.pools[node.pool];
            nodes.push(NodeInfo {
                name: node.name.clone(),
                labels: pool.spec.labels.clone(),
                taints: pool.spec.taints.clone(),
                ready: true,
                unschedulable: false,
                allocatable: pool.allocatable.clone(),
                allocatable_pods: pool.allocatable_pods,
            });
            let name: Arc<str> = node.name.as_str().into();
            for _ in &node.pods {
                bound.push(BoundPod {
                    node: name.clone(),
                    namespace: namespace.clone(),
                    labels: labels.clone(),
                    requests: template.requests.clone(),
                });
            }
        }
        ClusterSnapshot::new(nodes, bound)
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b > 0 { a as f64 / b as f64 } else { 0.0 }
}
