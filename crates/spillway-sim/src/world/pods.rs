//! The Deployment's pods and its ReplicaSet: creation, the scale-down
//! ranking, and the `WorkloadStatus` the planner reads, kept up to date in
//! place so that each change costs O(log n), never O(pods).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use spillway_core::snapshot::{PodTemplate, VmPod, VmPodState, WorkloadStatus};
use spillway_core::time::Timestamp;

pub type PodId = u64;

/// Where a pod runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Unbound,
    Node(u32),
    /// On the ACI virtual node (virtual-kubelet); the container group's id.
    Virtual(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Starting,
    Ready,
}

#[derive(Debug, Clone)]
pub struct Pod {
    pub place: Place,
    pub phase: Phase,
    pub created_at: i64,
    pub ready_at: i64,
    unschedulable: bool,
    wl_idx: usize,
}

/// Counts the world reads every second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodCounts {
    pub pending: u32,
    pub unschedulable: u32,
    pub starting: u32,
    pub ready_vm: u32,
    pub ready_virtual: u32,
    /// Pods on the virtual node in any phase (each is a container group).
    pub on_virtual: u32,
}

#[derive(Debug)]
pub struct Pods {
    pods: BTreeMap<PodId, Pod>,
    next_id: PodId,
    pending: BTreeSet<(i64, PodId)>,
    /// Pending pods the scheduler has not tried yet.
    fresh: BTreeSet<(i64, PodId)>,
    starting: BTreeSet<(i64, PodId)>,
    ready: BTreeSet<(i64, PodId)>,
    /// Shared with the tick that reads it (copied only if a tick still holds it when it changes).
    status: Arc<WorkloadStatus>,
    version: u64,
    wl_ids: Vec<PodId>,
    prefix: String,
    pub counts: PodCounts,
}

impl Pods {
    pub fn new(template: PodTemplate, deployment: &str) -> Self {
        Pods {
            pods: BTreeMap::new(),
            next_id: 0,
            pending: BTreeSet::new(),
            fresh: BTreeSet::new(),
            starting: BTreeSet::new(),
            ready: BTreeSet::new(),
            status: Arc::new(WorkloadStatus {
                spec_replicas: 0,
                pods: Vec::new(),
                template,
            }),
            version: 0,
            wl_ids: Vec::new(),
            prefix: format!("{deployment}-"),
            counts: PodCounts::default(),
        }
    }

    pub fn status(&self) -> &WorkloadStatus {
        &self.status
    }
    /// Changes of the status so far.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The status as the cluster seam hands it to a tick: shared, not copied.
    pub fn status_shared(&self) -> Arc<WorkloadStatus> {
        self.status.clone()
    }

    pub fn spec_replicas(&self) -> u32 {
        self.status.spec_replicas
    }
    pub fn set_spec_replicas(&mut self, n: u32) {
        status_mut(&mut self.status, &mut self.version).spec_replicas = n;
    }
    pub fn live(&self) -> usize {
        self.pods.len()
    }
    pub fn get(&self, id: PodId) -> Option<&Pod> {
        self.pods.get(&id)
    }
    pub fn has_fresh(&self) -> bool {
        !self.fresh.is_empty()
    }
    pub fn fresh_ids(&self) -> Vec<PodId> {
        self.fresh.iter().map(|&(_, id)| id).collect()
    }
    /// The oldest `limit` pending pods.
    pub fn first_pending(&self, limit: usize) -> Vec<PodId> {
        self.pending.iter().take(limit).map(|&(_, id)| id).collect()
    }
    /// VM pods for the resource-metric pipeline: (phase, on a VM node).
    pub fn phases(&self) -> impl Iterator<Item = (Phase, Place)> + '_ {
        self.pods.values().map(|p| (p.phase, p.place))
    }

    /// A new Pending pod, as the ReplicaSet controller creates it.
    pub fn create(&mut self, now: i64) -> PodId {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert((now, id));
        self.fresh.insert((now, id));
        self.counts.pending += 1;
        status_mut(&mut self.status, &mut self.version).pods.push(VmPod {
            name: format!("{}{id:x}", self.prefix),
            state: VmPodState::Pending { unschedulable: false },
            created_at: Timestamp::from_secs(now),
        });
        self.wl_ids.push(id);
        self.pods.insert(
            id,
            Pod {
                place: Place::Unbound,
                phase: Phase::Pending,
                created_at: now,
                ready_at: 0,
                unschedulable: false,
                wl_idx: self.status.pods.len() - 1,
            },
        );
        id
    }

    /// A ready pod at t = 0 (the system starts in steady state).
    pub fn create_ready(&mut self, place: Place) -> PodId {
        let id = self.create(0);
        self.bind(id, place);
        self.mark_ready(id, 0);
        id
    }

    pub fn mark_unschedulable(&mut self, id: PodId) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        self.fresh.remove(&(p.created_at, id));
        if p.phase == Phase::Pending && !p.unschedulable {
            p.unschedulable = true;
            self.counts.unschedulable += 1;
            status_mut(&mut self.status, &mut self.version).pods[p.wl_idx].state =
                VmPodState::Pending { unschedulable: true };
        }
    }

    /// Pending → Starting on `place`.
    pub fn bind(&mut self, id: PodId, place: Place) {
        let Some(p) = self.pods.get_mut(&id) else { return };
        if p.phase != Phase::Pending {
            return;
        }
        self.pending.remove(&(p.created_at, id));
        self.fresh.remove(&(p.created_at, id));
        self.counts.pending -= 1;
        if p.unschedulable {
            self.counts.unschedulable -= 1;
        }
        p.unschedulable = false;
        p.phase = Phase::Starting;
        p.place = place;
        self.starting.insert((p.created_at, id));
        self.counts.starting += 1;
        if matches!(place, Place::Virtual(_)) {
            self.counts.on_virtual += 1;
        }
        status_mut(&mut self.status, &mut self.version).pods[p.wl_idx].state = VmPodState::Starting;
    }

    /// Starting → Ready; false if the pod is gone or not starting (a stale event).
    pub fn mark_ready(&mut self, id: PodId, now: i64) -> bool {
        let Some(p) = self.pods.get_mut(&id) else {
            return false;
        };
        if p.phase != Phase::Starting {
            return false;
        }
        self.starting.remove(&(p.created_at, id));
        self.counts.starting -= 1;
        p.phase = Phase::Ready;
        p.ready_at = now;
        self.ready.insert((now, id));
        match p.place {
            Place::Virtual(_) => self.counts.ready_virtual += 1,
            _ => self.counts.ready_vm += 1,
        }
        status_mut(&mut self.status, &mut self.version).pods[p.wl_idx].state = VmPodState::Ready;
        true
    }

    /// The pod the ReplicaSet deletes first on scale-down: unscheduled, then
    /// not ready, then the most recently ready; newer before older.
    pub fn victim(&self) -> Option<PodId> {
        self.pending
            .last()
            .or_else(|| self.starting.last())
            .or_else(|| self.ready.last())
            .map(|&(_, id)| id)
    }

    /// Removes a pod (deleted or evicted); the caller frees its place.
    pub fn remove(&mut self, id: PodId) -> Option<Pod> {
        let p = self.pods.remove(&id)?;
        match p.phase {
            Phase::Pending => {
                self.pending.remove(&(p.created_at, id));
                self.fresh.remove(&(p.created_at, id));
                self.counts.pending -= 1;
                if p.unschedulable {
                    self.counts.unschedulable -= 1;
                }
            }
            Phase::Starting => {
                self.starting.remove(&(p.created_at, id));
                self.counts.starting -= 1;
            }
            Phase::Ready => {
                self.ready.remove(&(p.ready_at, id));
                match p.place {
                    Place::Virtual(_) => self.counts.ready_virtual -= 1,
                    _ => self.counts.ready_vm -= 1,
                }
            }
        }
        if matches!(p.place, Place::Virtual(_)) {
            self.counts.on_virtual -= 1;
        }
        let idx = p.wl_idx;
        status_mut(&mut self.status, &mut self.version)
            .pods
            .swap_remove(idx);
        self.wl_ids.swap_remove(idx);
        if let Some(&moved) = self.wl_ids.get(idx)
            && let Some(m) = self.pods.get_mut(&moved)
        {
            m.wl_idx = idx;
        }
        Some(p)
    }
}

/// Every change of the status goes through here, so that the version
/// tells whether a tick would see another one.
fn status_mut<'a>(status: &'a mut Arc<WorkloadStatus>, version: &mut u64) -> &'a mut WorkloadStatus {
    *version += 1;
    Arc::make_mut(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicaset_ranking_and_status_stay_consistent() {
        let mut pods = Pods::new(PodTemplate::default(), "web");
        let a = pods.create_ready(Place::Node(0));
        let b = pods.create(5);
        pods.bind(b, Place::Node(0));
        pods.mark_ready(b, 20);
        let c = pods.create(30);
        pods.bind(c, Place::Node(1));
        let d = pods.create(31);
        pods.mark_unschedulable(d);
        assert_eq!(pods.counts.unschedulable, 1);
        assert_eq!(pods.victim(), Some(d));
        pods.remove(d);
        assert_eq!(pods.victim(), Some(c));
        pods.remove(c);
        assert_eq!(pods.victim(), Some(b), "most recently ready first");
        pods.remove(b);
        assert_eq!(pods.victim(), Some(a));
        assert_eq!(pods.status().pods.len(), 1);
        assert_eq!(pods.status().pods[0].state, VmPodState::Ready);
        assert_eq!(
            pods.counts,
            PodCounts {
                ready_vm: 1,
                ..Default::default()
            }
        );
    }
}
