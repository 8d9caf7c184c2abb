//! Kubernetes Cluster Autoscaler, as far as capacity timing goes: every
//! `scanInterval` it adds nodes for unschedulable pods (counting nodes
//! already on their way), and removes nodes that stayed below the
//! utilization threshold for `scaleDownUnneededTime` when their pods fit
//! elsewhere, never within `scaleDownDelayAfterAdd` of a scale-up.

use super::{Event, World};

impl World {
    /// One autoscaler loop, if one runs and this second is a scan.
    pub fn autoscale(&mut self) {
        let Some(ca) = self.autoscaler.clone() else { return };
        let scan = ca.scan_interval.as_secs().max(1) as i64;
        if self.now % scan != 0 {
            return;
        }
        self.scale_up(&ca);
        if self.since_scale_up() >= ca.scale_down_delay_after_add.as_secs() as i64 {
            self.scale_down(&ca);
        }
    }

    fn scale_up(&mut self, ca: &crate::scenario::AutoscalerSpec) {
        let waiting = u64::from(self.pods.counts.unschedulable);
        let mut uncovered = waiting.saturating_sub(self.nodes.booting_slots());
        if uncovered == 0 {
            return;
        }
        let now = self.now;
        for pool in 0..self.nodes.pools().len() {
            let p = &self.nodes.pools()[pool];
            let slots = u64::from(p.slots);
            let room = u64::from(p.spec.max_nodes.saturating_sub(self.nodes.billed[pool]));
            let add = uncovered.div_ceil(slots).min(room);
            for _ in 0..add {
                let id = self.nodes.start_booting(pool);
                let at = now + ca.provisioning.sample_secs(&mut self.rng_nodes).max(1);
                self.push(at, Event::NodeReady(id));
            }
            if add > 0 {
                self.last_scale_up = now;
            }
            uncovered = uncovered.saturating_sub(add * slots);
            if uncovered == 0 {
                break;
            }
        }
    }

    fn scale_down(&mut self, ca: &crate::scenario::AutoscalerSpec) {
        let unneeded = ca.scale_down_unneeded_time.as_secs() as i64;
        let now = self.now;
        let mut candidates: Vec<(u32, u32)> = self
            .nodes
            .underutilized
            .iter()
            .filter(|(_, since)| now - **since >= unneeded)
            .filter_map(|(id, _)| self.nodes.get(*id).map(|n| (n.used(), *id)))
            .collect();
        if candidates.is_empty() {
            return;
        }
        // Emptiest first; among equals the newest node.
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut removed = 0u32;
        let mut claimed = 0u64;
        for (used, id) in candidates {
            if removed >= ca.max_scale_down_parallelism {
                break;
            }
            let Some(node) = self.nodes.get(id) else { continue };
            let pool = node.pool;
            if self.nodes.billed[pool] <= self.nodes.pools()[pool].spec.min_nodes {
                continue;
            }
            let elsewhere = self.nodes.free_slots() - u64::from(node.free());
            if elsewhere < claimed + u64::from(used) {
                continue;
            }
            claimed += u64::from(used);
            removed += 1;
            for pod in self.nodes.remove(id) {
                // Drained: the pod is evicted and its ReplicaSet creates a replacement.
                self.pods.remove(pod);
                self.pods.create(now);
            }
        }
    }
}
