//! A small in-memory world for planner tests: apply a plan as the
//! controller's executor would, then plan again.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::burst::{BurstInventory, BurstReplica, BurstState};
use crate::config::{self, Policy};
use crate::metrics::MetricSample;
use crate::resources::Resources;
use crate::snapshot::{BoundPod, ClusterSnapshot, NodeInfo, PodTemplate, VmPod, VmPodState, WorkloadStatus};
use crate::time::Timestamp;

use super::{Plan, PlanInput, PolicyState, plan};

pub const HEAD: &str = "cluster: {id: c1}\nazure: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: rg, location: westeurope, fallbackLocations: [northeurope]}\nmetricSources: {prometheus: {url: 'http://prom:9090'}}\npolicies:\n";

/// A policy `web` with one AverageValue metric of 100 per replica and the given burst block.
pub fn policy(burst: &str) -> Arc<Policy> {
    policy_with(burst, "")
}

/// [`policy`] with more policy keys (YAML lines indented by two spaces).
pub fn policy_with(burst: &str, extra: &str) -> Arc<Policy> {
    policy_yaml(burst, "", extra)
}

/// [`policy_with`] with `metric` added to the Prometheus metric's fields
/// (e.g. `scaleUpQuery: fast`), predict off.
pub fn policy_with_metric(burst: &str, metric: &str) -> Arc<Policy> {
    policy_yaml(burst, &format!(", {metric}"), "  predict: {mode: off}\n")
}

fn policy_yaml(burst: &str, metric: &str, extra: &str) -> Arc<Policy> {
    let yaml = format!(
        "{HEAD}- name: web\n  target: {{namespace: shop, name: web}}\n  minReplicas: 1\n  maxReplicas: 100\n  behavior: {{scaleUp: {{policies: [{{type: Pods, value: 100, period: 15s}}]}}, scaleDown: {{stabilizationWindow: 0s}}}}\n  metrics:\n  - prometheus: {{query: q, targetAverageValue: 100{metric}}}\n{extra}  burst: {burst}\n"
    );
    let loaded = config::load(&yaml).unwrap_or_else(|e| panic!("{e}"));
    loaded.policies[0]
        .result
        .clone()
        .unwrap_or_else(|e| panic!("{e:?}"))
}

#[derive(Clone)]
pub struct World {
    pub policy: Arc<Policy>,
    pub nodes: Vec<NodeInfo>,
    pub others: Vec<BoundPod>,
    pub workload: WorkloadStatus,
    /// Node of each workload pod, by pod name.
    pub placement: Vec<(String, Option<String>)>,
    pub inventory: BurstInventory,
    pub state: PolicyState,
    pub now: Timestamp,
    pub demand: f64,
    /// What the policy's `scaleUpQuery` reads (a shorter window), if any.
    pub scale_up_demand: Option<f64>,
    next_pod: u32,
}

pub fn node(name: &str, cpu_millis: i64) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        ready: true,
        allocatable: Resources {
            cpu_millis,
            memory_bytes: 64 << 30,
            ..Default::default()
        },
        allocatable_pods: 110,
        ..Default::default()
    }
}

impl World {
    /// `nodes` nodes of `node_cpu` millicores; pods request 1000m; `ready` VM replicas running.
    pub fn new(policy: Arc<Policy>, nodes: usize, node_cpu: i64, ready: u32) -> Self {
        let mut w = World {
            policy,
            nodes: (0..nodes).map(|i| node(&format!("n{i}"), node_cpu)).collect(),
            others: Vec::new(),
            workload: WorkloadStatus {
                spec_replicas: 0,
                pods: Vec::new(),
                template: PodTemplate {
                    namespace: "shop".into(),
                    requests: Resources {
                        cpu_millis: 1000,
                        memory_bytes: 1 << 30,
                        ..Default::default()
                    },
                    hash: "h1".into(),
                    ..Default::default()
                },
            },
            placement: Vec::new(),
            inventory: BurstInventory::default(),
            state: PolicyState::default(),
            now: Timestamp::from_secs(1000),
            demand: f64::from(ready) * 100.0,
            scale_up_demand: None,
            next_pod: 0,
        };
        w.set_spec(ready);
        w.schedule();
        w.make_ready();
        w
    }

    pub fn cluster(&self) -> ClusterSnapshot {
        let mut pods = self.others.clone();
        for (name, node) in &self.placement {
            if let Some(node) = node {
                let _ = name;
                pods.push(BoundPod {
                    node: node.as_str().into(),
                    namespace: "shop".into(),
                    // A workload's pods carry its template's labels.
                    labels: self.workload.template.labels.clone().into(),
                    requests: self.workload.template.requests.clone(),
                });
            }
        }
        ClusterSnapshot::new(self.nodes.clone(), pods)
    }

    pub fn samples(&self) -> Vec<MetricSample> {
        vec![MetricSample::value(0, self.demand, self.now)]
    }

    /// Plans without changing the world or its state.
    pub fn peek(&self) -> (Plan, PolicyState) {
        let cluster = self.cluster();
        let samples = self.samples();
        let scale_up: Vec<MetricSample> = self
            .scale_up_demand
            .map(|v| MetricSample::value(0, v, self.now))
            .into_iter()
            .collect();
        let input = PlanInput {
            history: &[],
            scale_up: &scale_up,
            policy: &self.policy,
            samples: &samples,
            cluster: &cluster,
            workload: &self.workload,
            inventory: &self.inventory,
            now: self.now,
        };
        plan(&input, &self.state)
    }

    /// Plans and applies the plan as the executor would.
    pub fn tick(&mut self) -> Plan {
        let (p, next) = self.peek();
        self.state = next;
        self.apply(&p);
        p
    }

    pub fn apply(&mut self, p: &Plan) {
        self.set_spec(p.deployment_replicas);
        for c in &p.creates {
            self.inventory.replicas.push(BurstReplica {
                name: c.name.clone(),
                ordinal: c.ordinal,
                template_hash: c.template_hash.clone(),
                location: c.location.clone(),
                zone: c.zone.clone(),
                state: BurstState::Provisioning,
                created_at: self.now,
            });
        }
        for d in &p.deletes {
            self.inventory.replicas.retain(|r| r.name != d.name);
        }
    }

    /// The Deployment controller: create Pending pods or delete pods,
    /// unscheduled first, then not ready, then newest.
    fn set_spec(&mut self, n: u32) {
        self.workload.spec_replicas = n;
        while (self.workload.pods.len() as u32) < n {
            let name = format!("p{}", self.next_pod);
            self.next_pod += 1;
            self.workload.pods.push(VmPod {
                name: name.clone(),
                state: VmPodState::Pending { unschedulable: false },
                created_at: self.now,
            });
            self.placement.push((name, None));
        }
        while (self.workload.pods.len() as u32) > n {
            let rank = |p: &VmPod| match p.state {
                VmPodState::Pending { .. } => 0,
                VmPodState::Starting => 1,
                VmPodState::Ready => 2,
            };
            let victim = (0..self.workload.pods.len())
                .min_by_key(|&i| (rank(&self.workload.pods[i]), std::cmp::Reverse(i)))
                .unwrap();
            let pod = self.workload.pods.remove(victim);
            self.placement.retain(|(n, _)| *n != pod.name);
        }
    }

    /// The scheduler: bind pending pods where 1000m fits; mark the rest unschedulable.
    pub fn schedule(&mut self) {
        for i in 0..self.workload.pods.len() {
            if !matches!(self.workload.pods[i].state, VmPodState::Pending { .. }) {
                continue;
            }
            let cluster = self.cluster();
            let free = cluster.nodes().iter().find(|n| {
                n.node.ready
                    && n.node.allocatable.cpu_millis - n.requested.cpu_millis
                        >= self.workload.template.requests.cpu_millis
            });
            let name = self.workload.pods[i].name.clone();
            match free {
                Some(n) => {
                    let node = n.node.name.clone();
                    self.workload.pods[i].state = VmPodState::Starting;
                    if let Some(slot) = self.placement.iter_mut().find(|(p, _)| *p == name) {
                        slot.1 = Some(node);
                    }
                }
                None => self.workload.pods[i].state = VmPodState::Pending { unschedulable: true },
            }
        }
    }

    pub fn make_ready(&mut self) {
        for p in &mut self.workload.pods {
            if p.state == VmPodState::Starting {
                p.state = VmPodState::Ready;
            }
        }
    }

    pub fn burst_ready(&mut self) {
        for r in &mut self.inventory.replicas {
            if r.state == BurstState::Provisioning {
                r.state = BurstState::Ready;
            }
        }
    }

    pub fn add_node(&mut self, cpu_millis: i64) {
        let name = format!("n{}", self.nodes.len());
        self.nodes.push(node(&name, cpu_millis));
    }

    pub fn advance(&mut self, secs: i64) {
        self.now = Timestamp::from_millis(self.now.millis() + secs * 1000);
    }

    /// Live (not deleting, not draining) burst replicas.
    pub fn active_burst(&self) -> usize {
        self.inventory
            .replicas
            .iter()
            .filter(|r| !self.state.is_draining(&r.name))
            .count()
    }

    pub fn clone_for_check(&self) -> World {
        self.clone()
    }

    pub fn ready_vm(&self) -> usize {
        self.workload
            .pods
            .iter()
            .filter(|p| p.state == VmPodState::Ready)
            .count()
    }
}

/// A plan that changes nothing, for tests of what reads plans.
pub fn empty_plan() -> Plan {
    Plan {
        policy: "web".into(),
        at: crate::time::Timestamp::from_secs(0),
        desired_replicas: 0,
        deployment_replicas: 0,
        scale: None,
        burst_target: 0,
        creates: Vec::new(),
        drains: Vec::new(),
        deletes: Vec::new(),
        vm: Default::default(),
        burst: Default::default(),
        vm_fit: 0,
        headroom_replicas: 0,
        burst_hourly_cost: 0.0,
        forecast_replicas: None,
        standby: None,
        reasons: Vec::new(),
        overflow_age_matters: false,
    }
}
