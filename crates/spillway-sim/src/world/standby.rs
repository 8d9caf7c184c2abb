//! An ACI standby container group pool as the simulator models it (issue 16).
//!
//! * The pool holds `target` instances (the controller's `maxReadyCapacity`);
//!   it refills itself (`refillPolicy: always`): each missing instance is a
//!   container-group create that is Running after the refill delay
//!   (`aci.standbyRefill`, default: ACI's provisioning latency plus the image
//!   pull, as for any create).
//! * A create that claims from the pool gets a Running instance when one is
//!   ready (a hit: Running after `aci.standbyClaim`, default 1–2 s) and is an
//!   ordinary create otherwise (a miss).
//! * Billing (an assumption, see README "Standby pools"): Azure publishes no
//!   separate price for standby pools; their instances are ordinary
//!   container groups, so a Running pool instance is billed at the ACI
//!   per-second vCPU and GB prices (`pricing`), from Running to claim or
//!   removal. Instances still being created are not billed here.

use std::collections::BTreeSet;

/// The pool's state; the world schedules the refills' events.
#[derive(Debug, Default)]
pub struct StandbyPoolSim {
    pub target: u32,
    pub ready: u32,
    /// Instances being created, by id (a removed id's event is stale).
    creating: BTreeSet<u64>,
    next_id: u64,
    /// Price of one Running instance per second.
    pub instance_price_per_sec: f64,
    pub hits: u64,
    pub misses: u64,
    /// Claims since the controller last synced: (hit, miss).
    pub unreported: (u32, u32),
    /// The controller synced it at least once.
    pub exists: bool,
}

impl StandbyPoolSim {
    pub fn new(instance_price_per_sec: f64) -> Self {
        StandbyPoolSim {
            instance_price_per_sec,
            ..StandbyPoolSim::default()
        }
    }

    pub fn creating(&self) -> u32 {
        self.creating.len() as u32
    }

    pub fn price_per_sec(&self) -> f64 {
        f64::from(self.ready) * self.instance_price_per_sec
    }

    /// Sets the target; returns the ids of the instances to start creating.
    pub fn set_target(&mut self, target: u32) -> Vec<u64> {
        self.exists = true;
        self.target = target;
        // Too many: the newest creations go first, then ready instances.
        while self.ready + self.creating() > target {
            match self.creating.last().copied() {
                Some(id) => {
                    self.creating.remove(&id);
                }
                None => self.ready -= 1,
            }
        }
        self.refill()
    }

    /// Starts creating what is missing up to the target.
    pub fn refill(&mut self) -> Vec<u64> {
        let mut started = Vec::new();
        while self.ready + self.creating() < self.target {
            let id = self.next_id;
            self.next_id += 1;
            self.creating.insert(id);
            started.push(id);
        }
        started
    }

    /// A refill finished; `false` for a stale event (the instance was removed).
    pub fn instance_ready(&mut self, id: u64) -> bool {
        if self.creating.remove(&id) {
            self.ready += 1;
            true
        } else {
            false
        }
    }

    /// A create that claims from the pool: `true` when a ready instance
    /// served it.
    pub fn claim(&mut self) -> bool {
        if self.ready > 0 {
            self.ready -= 1;
            self.hits += 1;
            self.unreported.0 += 1;
            true
        } else {
            self.misses += 1;
            self.unreported.1 += 1;
            false
        }
    }

    /// The claims since the last report.
    pub fn take_unreported(&mut self) -> (u32, u32) {
        std::mem::take(&mut self.unreported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_to_the_target_and_serves_claims_while_ready() {
        let mut p = StandbyPoolSim::default();
        let ids = p.set_target(2);
        assert_eq!(ids.len(), 2);
        assert!(!p.claim(), "nothing ready yet: a miss");
        assert!(p.instance_ready(ids[0]));
        assert!(p.claim(), "one ready: a hit");
        assert_eq!((p.hits, p.misses, p.ready, p.creating()), (1, 1, 0, 1));
        assert_eq!(p.refill().len(), 1, "the claimed one is replaced");
        assert_eq!(p.take_unreported(), (1, 1));
        // Shrinking drops creations first, then ready instances.
        assert!(p.instance_ready(ids[1]));
        let dropped = p.set_target(0);
        assert!(dropped.is_empty());
        assert_eq!((p.ready, p.creating()), (0, 0));
        assert!(!p.instance_ready(99), "a stale event changes nothing");
    }
}
