//! Azure Container Instances as the simulator models it: provisioning
//! latency (plus image pull), failures, regional quota, the subscription's
//! create-rate windows and per-second billing from create to delete.

use std::collections::{BTreeMap, VecDeque};

use rand::Rng;
use spillway_core::aci::GroupRequests;
use spillway_core::burst::{BurstHeadroom, BurstInventory, BurstReplica, BurstState};
use spillway_core::config::Pricing;
use spillway_core::cost::aci_replica_hourly;
use spillway_core::time::Timestamp;

use crate::scenario::AciModel;

const FIVE_MIN: i64 = 300;
const HOUR: i64 = 3600;

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub location: String,
    pub state: BurstState,
    pub requests: GroupRequests,
    pub serving: bool,
    pub draining: bool,
    billed: bool,
    /// Listed to the planner (false for virtual-node pods' groups).
    listed: bool,
    inv_idx: usize,
}

/// Why ACI refused a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Quota,
    RateLimited,
}

/// An accepted create: when it completes and whether it ends Failed.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    pub id: u64,
    pub done_at: i64,
    pub fails: bool,
}

#[derive(Debug)]
pub struct Aci {
    model: AciModel,
    pricing: Pricing,
    groups: BTreeMap<u64, Group>,
    by_name: BTreeMap<String, u64>,
    next_id: u64,
    creates: VecDeque<i64>,
    /// Live groups and millicores per location (they hold quota until deleted).
    usage: BTreeMap<String, (u32, i64)>,
    /// Billed groups per size (cpu centi-vCPU, memory deci-GB).
    billed: BTreeMap<(i64, i64), u32>,
    inventory: BurstInventory,
    /// Changes whenever `inventory.replicas` does: the listing the
    /// controller sees is rebuilt only then (a tick lists every group).
    replicas_generation: u64,
    /// Changes of any group (state, serving, billing) so far.
    version: u64,
    inv_ids: Vec<u64>,
    /// Locations that recently refused for quota, until when.
    unavailable: BTreeMap<String, i64>,
    pub price_per_sec: f64,
    pub created_total: u64,
    pub serving: u32,
    pub live: u32,
    pub refused: u64,
}

impl Aci {
    pub fn new(model: AciModel, pricing: Pricing) -> Self {
        Aci {
            model,
            pricing,
            groups: BTreeMap::new(),
            by_name: BTreeMap::new(),
            next_id: 0,
            creates: VecDeque::new(),
            usage: BTreeMap::new(),
            billed: BTreeMap::new(),
            inventory: BurstInventory::default(),
            replicas_generation: 0,
            version: 0,
            inv_ids: Vec::new(),
            unavailable: BTreeMap::new(),
            price_per_sec: 0.0,
            created_total: 0,
            serving: 0,
            live: 0,
            refused: 0,
        }
    }

    /// The zones of every location (`aci.zones`), for `burst.zones: auto`.
    pub fn zones(&self) -> &[String] {
        &self.model.zones
    }

    /// Burst replicas the planner keeps (provisioning or ready, not
    /// draining) per zone of `zones`, and those in none of them: what its
    /// spread is judged on.
    pub fn per_zone(&self, zones: &[String]) -> (Vec<u32>, u32) {
        let mut counts = vec![0u32; zones.len()];
        let mut elsewhere = 0;
        for (r, id) in self.inventory.replicas.iter().zip(&self.inv_ids) {
            let kept = matches!(r.state, BurstState::Provisioning | BurstState::Ready)
                && self.groups.get(id).is_some_and(|g| !g.draining);
            if !kept {
                continue;
            }
            match r.zone.as_deref().and_then(|z| zones.iter().position(|c| c == z)) {
                Some(i) => counts[i] += 1,
                None => elsewhere += 1,
            }
        }
        (counts, elsewhere)
    }

    /// Bumped by every change of the listed replicas (create, state, delete).
    pub fn replicas_generation(&self) -> u64 {
        self.replicas_generation
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn get(&self, id: u64) -> Option<&Group> {
        self.groups.get(&id)
    }
    pub fn id_of(&self, name: &str) -> Option<u64> {
        self.by_name.get(name).copied()
    }

    fn prune(&mut self, now: i64) {
        while self.creates.front().is_some_and(|t| now - *t >= HOUR) {
            self.creates.pop_front();
        }
        self.unavailable.retain(|_, until| *until > now);
    }

    fn creates_left(&self, now: i64) -> u32 {
        let last5 = self
            .creates
            .iter()
            .rev()
            .take_while(|t| now - **t < FIVE_MIN)
            .count() as u32;
        let last_hour = self.creates.len() as u32;
        self.model
            .creates_per_5_min
            .saturating_sub(last5)
            .min(self.model.creates_per_hour.saturating_sub(last_hour))
    }

    fn quota_left(&self, location: &str) -> (u32, Option<i64>) {
        let (groups, millis) = self.usage.get(location).copied().unwrap_or((0, 0));
        let cores = self
            .model
            .quota_cores
            .map(|c| (c * 1000.0).round() as i64 - millis);
        (self.model.quota_groups.saturating_sub(groups), cores)
    }

    /// Would a create of this size in `location` be accepted now?
    pub fn can_create(&mut self, now: i64, location: &str, requests: &GroupRequests) -> Result<(), Refusal> {
        self.prune(now);
        let (groups, cores) = self.quota_left(location);
        if groups == 0 || cores.is_some_and(|c| c < requests.cpu_millis()) {
            return Err(Refusal::Quota);
        }
        if self.creates_left(now) == 0 {
            return Err(Refusal::RateLimited);
        }
        Ok(())
    }

    /// A PUT of a new container group. Idempotent on the name.
    pub fn create(
        &mut self,
        now: i64,
        spec: &CreateSpec<'_>,
        rng: &mut impl Rng,
    ) -> Result<Option<Accepted>, Refusal> {
        if self.by_name.contains_key(spec.name) {
            return Ok(None);
        }
        if let Err(r) = self.can_create(now, spec.location, &spec.requests) {
            self.refused += 1;
            if r == Refusal::Quota {
                self.unavailable.insert(spec.location.to_string(), now + FIVE_MIN);
            }
            return Err(r);
        }
        self.creates.push_back(now);
        let id = self.next_id;
        self.next_id += 1;
        // A claim from a standby pool is an instance already Running.
        let (latency, fails) = match spec.latency {
            Some(l) => (l, false),
            None => (
                self.model.provisioning.sample_secs(rng)
                    + (self.model.image_size_gb * self.model.pull_seconds_per_gb).ceil() as i64,
                self.model.failure_probability > 0.0 && rng.random::<f64>() < self.model.failure_probability,
            ),
        };
        let inv_idx = if spec.listed {
            self.inventory.replicas.push(BurstReplica {
                name: spec.name.to_string(),
                ordinal: spec.ordinal,
                template_hash: spec.template_hash.to_string(),
                location: spec.location.to_string(),
                zone: spec.zone.map(str::to_string),
                state: BurstState::Provisioning,
                created_at: Timestamp::from_secs(now),
            });
            self.inv_ids.push(id);
            self.replicas_generation += 1;
            self.inventory.replicas.len() - 1
        } else {
            usize::MAX
        };
        let u = self.usage.entry(spec.location.to_string()).or_default();
        u.0 += 1;
        u.1 += spec.requests.cpu_millis();
        self.groups.insert(
            id,
            Group {
                name: spec.name.to_string(),
                location: spec.location.to_string(),
                state: BurstState::Provisioning,
                requests: spec.requests,
                serving: false,
                draining: false,
                billed: true,
                listed: spec.listed,
                inv_idx,
            },
        );
        self.by_name.insert(spec.name.to_string(), id);
        *self.billed.entry(key(&spec.requests)).or_default() += 1;
        self.reprice();
        self.created_total += 1;
        self.live += 1;
        Ok(Some(Accepted {
            id,
            done_at: now + latency.max(1),
            fails,
        }))
    }

    fn reprice(&mut self) {
        self.version += 1;
        self.price_per_sec = self
            .billed
            .iter()
            .map(|(&(cpu_centi, memory_deci_gb), n)| {
                let r = GroupRequests {
                    cpu_centi,
                    memory_deci_gb,
                };
                f64::from(*n) * aci_replica_hourly(&r, &self.pricing) / 3600.0
            })
            .fold(0.0, |a, b| a + b);
    }

    fn set_state(&mut self, id: u64, state: BurstState) {
        self.version += 1;
        if let Some(g) = self.groups.get_mut(&id) {
            g.state = state;
            if g.listed {
                self.inventory.replicas[g.inv_idx].state = state;
                self.replicas_generation += 1;
            }
        }
    }

    fn unbill(&mut self, id: u64) {
        if let Some(g) = self.groups.get_mut(&id)
            && g.billed
        {
            g.billed = false;
            if let Some(n) = self.billed.get_mut(&key(&g.requests)) {
                *n -= 1;
                if *n == 0 {
                    self.billed.remove(&key(&g.requests));
                }
            }
            self.reprice();
        }
    }

    /// Provisioning finished: Ready (serving unless drained) or Failed (billing stops).
    /// Returns the new state, or `None` for a stale event.
    pub fn complete(&mut self, id: u64, fails: bool) -> Option<BurstState> {
        let g = self.groups.get(&id)?;
        if g.state != BurstState::Provisioning {
            return None;
        }
        if fails {
            self.set_state(id, BurstState::Failed);
            self.unbill(id);
            Some(BurstState::Failed)
        } else {
            self.set_state(id, BurstState::Ready);
            // A virtual-node pod's group serves as that pod (counted with the
            // pods); only Spillway's listed groups serve as burst replicas.
            if let Some(g) = self.groups.get_mut(&id)
                && !g.draining
                && g.listed
            {
                g.serving = true;
                self.serving += 1;
            }
            Some(BurstState::Ready)
        }
    }

    /// Out of the EndpointSlice: stops serving at once, still billed.
    pub fn drain(&mut self, name: &str) {
        let Some(&id) = self.by_name.get(name) else { return };
        self.version += 1;
        if let Some(g) = self.groups.get_mut(&id) {
            g.draining = true;
            if g.serving {
                g.serving = false;
                self.serving -= 1;
            }
        }
    }

    /// DELETE: gone, quota and billing released.
    pub fn delete(&mut self, name: &str) {
        let Some(id) = self.by_name.remove(name) else {
            return;
        };
        self.version += 1;
        self.unbill(id);
        let Some(g) = self.groups.remove(&id) else { return };
        if g.serving {
            self.serving -= 1;
        }
        self.live -= 1;
        if let Some(u) = self.usage.get_mut(&g.location) {
            u.0 -= 1;
            u.1 -= g.requests.cpu_millis();
        }
        if g.listed {
            let idx = g.inv_idx;
            self.inventory.replicas.swap_remove(idx);
            self.inv_ids.swap_remove(idx);
            self.replicas_generation += 1;
            if let Some(&moved) = self.inv_ids.get(idx)
                && let Some(m) = self.groups.get_mut(&moved)
            {
                m.inv_idx = idx;
            }
        }
    }

    /// Hourly price of every group still billed.
    pub fn billed_hourly(&self) -> f64 {
        self.price_per_sec * 3600.0
    }

    /// What the ARM client would list this tick, with the headroom it tracks.
    pub fn inventory(&mut self, now: i64, locations: &[String]) -> &BurstInventory {
        self.prune(now);
        let mut groups = 0u32;
        let mut cores: Option<i64> = self.model.quota_cores.map(|_| 0);
        for loc in locations {
            let (g, c) = self.quota_left(loc);
            groups = groups.saturating_add(g);
            if let (Some(total), Some(c)) = (cores.as_mut(), c) {
                *total += c.max(0);
            }
        }
        self.inventory.headroom = BurstHeadroom {
            creates: Some(self.creates_left(now)),
            deletes: None,
            groups: Some(groups),
            cores_millis: cores,
        };
        self.inventory.unavailable_locations = self
            .unavailable
            .keys()
            .map(|l| (l.clone(), "quota exceeded (simulated)".to_string()))
            .collect();
        &self.inventory
    }
}

fn key(r: &GroupRequests) -> (i64, i64) {
    (r.cpu_centi, r.memory_deci_gb)
}

/// What a create needs to know.
#[derive(Debug, Clone)]
pub struct CreateSpec<'a> {
    pub name: &'a str,
    pub ordinal: u32,
    pub location: &'a str,
    /// The zone the plan chose (`burst.zones`), listed back as ACI does.
    pub zone: Option<&'a str>,
    pub template_hash: &'a str,
    pub requests: GroupRequests,
    pub listed: bool,
    /// Seconds to Running instead of ACI's provisioning and pull (a claim
    /// served from a standby pool).
    pub latency: Option<i64>,
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn spec(name: &str) -> CreateSpec<'_> {
        CreateSpec {
            name,
            ordinal: 0,
            location: "westeurope",
            zone: None,
            template_hash: "h",
            requests: GroupRequests {
                cpu_centi: 100,
                memory_deci_gb: 20,
            },
            listed: true,
            latency: None,
        }
    }

    #[test]
    fn quota_rate_limits_and_billing() {
        let model = AciModel {
            quota_groups: 3,
            creates_per_5_min: 2,
            failure_probability: 0.0,
            ..AciModel::default()
        };
        let mut aci = Aci::new(model, Pricing::default());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let names: Vec<String> = (0..4).map(|i| format!("g{i}")).collect();
        let a = aci
            .create(0, &spec(&names[0]), &mut rng)
            .expect("ok")
            .expect("new");
        assert!(
            aci.create(0, &spec(&names[0]), &mut rng)
                .expect("idempotent")
                .is_none()
        );
        aci.create(1, &spec(&names[1]), &mut rng).expect("ok");
        assert_eq!(
            aci.create(2, &spec(&names[2]), &mut rng).err(),
            Some(Refusal::RateLimited)
        );
        assert_eq!(aci.inventory(2, &["westeurope".into()]).headroom.creates, Some(0));
        aci.create(301, &spec(&names[2]), &mut rng).expect("window moved");
        assert_eq!(
            aci.create(302, &spec(&names[3]), &mut rng).err(),
            Some(Refusal::Quota)
        );
        assert!(
            aci.inventory(302, &["westeurope".into()])
                .unavailable_locations
                .contains_key("westeurope")
        );
        assert_eq!(aci.complete(a.id, false), Some(BurstState::Ready));
        assert_eq!(aci.serving, 1);
        let hourly = aci.billed_hourly();
        aci.drain("g0");
        assert_eq!(aci.serving, 0);
        assert_eq!(aci.billed_hourly(), hourly, "draining is still billed");
        aci.delete("g0");
        assert!(aci.billed_hourly() < hourly);
        assert_eq!(aci.live, 2);
        assert_eq!(aci.inventory(400, &["westeurope".into()]).replicas.len(), 2);
    }
}
