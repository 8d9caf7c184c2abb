//! How many more replicas of a pod template the current nodes can take.

use serde::Serialize;

use crate::snapshot::{ClusterSnapshot, PodTemplate};

/// The result of a fit: how many more replicas, and notes on rules that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Fit {
    pub replicas: u32,
    pub eligible_nodes: u32,
    pub notes: Vec<String>,
}

/// PLACEHOLDER until the capacity module lands: resource arithmetic only.
pub fn fit_replicas(cluster: &ClusterSnapshot, template: &PodTemplate) -> Fit {
    let mut replicas: u64 = 0;
    let mut eligible = 0;
    for n in cluster.nodes() {
        if !n.node.ready || n.node.unschedulable {
            continue;
        }
        eligible += 1;
        let mut k = (n.node.allocatable_pods - n.pod_count).max(0);
        let r = &template.requests;
        if r.cpu_millis > 0 {
            k = k.min(((n.node.allocatable.cpu_millis - n.requested.cpu_millis) / r.cpu_millis).max(0));
        }
        if r.memory_bytes > 0 {
            k = k.min(((n.node.allocatable.memory_bytes - n.requested.memory_bytes) / r.memory_bytes).max(0));
        }
        replicas += k as u64;
    }
    Fit {
        replicas: u32::try_from(replicas).unwrap_or(u32::MAX),
        eligible_nodes: eligible,
        notes: Vec::new(),
    }
}
