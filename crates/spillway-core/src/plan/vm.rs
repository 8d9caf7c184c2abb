//! The workload's VM side: counting its pods and choosing the Deployment's replicas.

use std::time::Duration;

use crate::config::VmOverflow;
use crate::snapshot::{VmPodState, WorkloadStatus};
use crate::time::Timestamp;

use super::VmCounts;

/// Classifies the workload's VM pods. A Pending pod is "fresh" while the
/// scheduler has not judged it unschedulable and it is younger than
/// `pending_grace`; after that it waits for new nodes.
pub fn count(workload: &WorkloadStatus, pending_grace: Duration, now: Timestamp) -> VmCounts {
    let mut c = VmCounts::default();
    for pod in &workload.pods {
        match pod.state {
            VmPodState::Ready => c.ready += 1,
            VmPodState::Starting => c.starting += 1,
            VmPodState::Pending { unschedulable } => {
                if !unschedulable && now.since(pod.created_at) < pending_grace {
                    c.pending_fresh += 1;
                } else {
                    c.pending_unschedulable += 1;
                }
            }
        }
    }
    c
}

impl VmCounts {
    pub fn scheduled(&self) -> u32 {
        self.ready + self.starting
    }
    pub fn total(&self) -> u32 {
        self.ready + self.starting + self.pending_fresh + self.pending_unschedulable
    }
}

/// What the Deployment should hold before the burst-first rule: all of D
/// (`pending`: unschedulable pods make the cluster autoscaler grow the
/// pool), or only what is scheduled plus what fits (`cap`: fixed pool).
pub fn base_target(desired: u32, counts: &VmCounts, fit: u32, overflow: VmOverflow) -> u32 {
    match overflow {
        // `auto` is resolved to one of the others before this is called.
        VmOverflow::Pending | VmOverflow::Auto => desired,
        VmOverflow::Cap => desired.min(counts.scheduled().saturating_add(fit)),
    }
}

/// VM replicas expected to become ready soon: those starting, plus pending
/// ones (fresh, or about to be created by this plan's scale-up) that fit.
/// On a scale-down the ReplicaSet deletes unscheduled pods first (the
/// newest, i.e. the fresh ones, before older ones), then not-ready ones:
/// count only what survives.
pub fn expected_soon(counts: &VmCounts, base_target: u32, fit: u32) -> u32 {
    let mut excess = counts.total().saturating_sub(base_target);
    let mut take = |n: u32| {
        let t = n.min(excess);
        excess -= t;
        n - t
    };
    let pending_fresh = take(counts.pending_fresh);
    let _pending_unschedulable = take(counts.pending_unschedulable);
    let starting = take(counts.starting);
    let new_pods = base_target.saturating_sub(counts.total());
    starting + (pending_fresh + new_pods).min(fit)
}

/// Burst replicas go first on scale-in: while any remains, the Deployment
/// keeps the VM pods that are already scheduled (up to its current spec).
pub fn deployment_target(
    base_target: u32,
    counts: &VmCounts,
    spec_replicas: u32,
    burst_remaining: u32,
) -> u32 {
    if burst_remaining > 0 {
        base_target.max(spec_replicas.min(counts.scheduled()))
    } else {
        base_target
    }
}
