//! The warm instances of a standby container group pool, pure over time: each slot becomes
//! `Running` at its `ready_at`; a claim takes a running slot and starts a new one (refill policy
//! `always`); a profile change drains every slot and starts fresh ones. Counts per zone feed the
//! runtime view (`instanceCountSummary`).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// One pooled container group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    ready_at: Timestamp,
    zone: Option<i64>,
}

/// A pooled container group being deleted (drained, or removed by a shrink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Draining {
    gone_at: Timestamp,
    zone: Option<i64>,
}

/// Counts of one zone (`zone` is `None` when the pool has no zones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZoneCounts {
    /// Zone number, as the runtime view reports it.
    pub zone: Option<i64>,
    /// Ready to be claimed.
    pub running: u64,
    /// Still provisioning.
    pub creating: u64,
    /// Being deleted.
    pub deleting: u64,
}

/// The instances of one pool.
#[derive(Debug, Clone, Default)]
pub struct PoolInstances {
    slots: Vec<Slot>,
    draining: Vec<Draining>,
    zones: Vec<i64>,
    next_zone: usize,
}

fn after(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

impl PoolInstances {
    /// An empty pool spread over `zones` (empty: no zones).
    pub fn new(zones: Vec<i64>) -> Self {
        PoolInstances {
            zones,
            ..PoolInstances::default()
        }
    }

    fn take_zone(&mut self) -> Option<i64> {
        if self.zones.is_empty() {
            return None;
        }
        let z = self.zones.get(self.next_zone % self.zones.len()).copied();
        self.next_zone = self.next_zone.wrapping_add(1);
        z
    }

    fn prune(&mut self, now: Timestamp) {
        self.draining.retain(|d| d.gone_at > now);
    }

    /// Slots (running or creating).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// No slot at all.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Grows (new slots ready after `refill`) or shrinks (creating slots go first) to `target`.
    pub fn resize(&mut self, target: usize, now: Timestamp, refill: Duration, drain: Duration) {
        self.prune(now);
        while self.slots.len() < target {
            let zone = self.take_zone();
            self.slots.push(Slot {
                ready_at: after(now, refill),
                zone,
            });
        }
        if self.slots.len() > target {
            // Keep the soonest-ready slots; the latest ones are removed first.
            self.slots.sort_by_key(|s| s.ready_at);
            for s in self.slots.drain(target..) {
                self.draining.push(Draining {
                    gone_at: after(now, drain),
                    zone: s.zone,
                });
            }
        }
    }

    /// Takes a running slot (the oldest) and starts its replacement. `None` when none is running.
    pub fn claim(&mut self, now: Timestamp, refill: Duration) -> Option<Option<i64>> {
        let idx = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ready_at <= now)
            .min_by_key(|(_, s)| s.ready_at)
            .map(|(i, _)| i)?;
        let taken = self.slots.swap_remove(idx);
        self.slots.push(Slot {
            ready_at: after(now, refill),
            zone: taken.zone,
        });
        Some(taken.zone)
    }

    /// Drains every slot and starts as many fresh ones (profile or zone change).
    pub fn replace_all(&mut self, zones: Vec<i64>, now: Timestamp, refill: Duration, drain: Duration) {
        let n = self.slots.len();
        self.resize(0, now, refill, drain);
        self.zones = zones;
        self.next_zone = 0;
        self.resize(n, now, refill, drain);
    }

    /// Counts per zone at `now`, zones in ascending order.
    pub fn counts(&self, now: Timestamp) -> Vec<ZoneCounts> {
        let mut zones: Vec<Option<i64>> = self.zones.iter().copied().map(Some).collect();
        if zones.is_empty() {
            zones.push(None);
        }
        for z in self
            .slots
            .iter()
            .map(|s| s.zone)
            .chain(self.draining.iter().map(|d| d.zone))
        {
            if !zones.contains(&z) {
                zones.push(z);
            }
        }
        zones.sort();
        zones
            .into_iter()
            .map(|zone| {
                let mut c = ZoneCounts {
                    zone,
                    ..ZoneCounts::default()
                };
                for s in self.slots.iter().filter(|s| s.zone == zone) {
                    if s.ready_at <= now {
                        c.running += 1;
                    } else {
                        c.creating += 1;
                    }
                }
                c.deleting = self
                    .draining
                    .iter()
                    .filter(|d| d.zone == zone && d.gone_at > now)
                    .count() as u64;
                c
            })
            .collect()
    }

    /// Running slots at `now`.
    pub fn ready(&self, now: Timestamp) -> usize {
        self.slots.iter().filter(|s| s.ready_at <= now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    const REFILL: Duration = Duration::from_secs(20);
    const DRAIN: Duration = Duration::from_secs(5);

    #[test]
    fn fills_claims_and_refills() {
        let mut p = PoolInstances::new(vec![]);
        p.resize(2, t(0), REFILL, DRAIN);
        assert_eq!(p.ready(t(10)), 0);
        assert_eq!(p.claim(t(10), REFILL), None, "nothing is running yet");
        assert_eq!(p.ready(t(20)), 2);
        assert_eq!(p.claim(t(20), REFILL), Some(None));
        let c = p.counts(t(21));
        assert_eq!((c[0].running, c[0].creating, c[0].zone), (1, 1, None));
        assert_eq!(p.ready(t(40)), 2, "the claimed slot is refilled");
    }

    #[test]
    fn zones_are_round_robin_and_reported_in_order() {
        let mut p = PoolInstances::new(vec![2, 1]);
        p.resize(3, t(0), REFILL, DRAIN);
        let c = p.counts(t(30));
        assert_eq!(c.iter().map(|z| z.zone).collect::<Vec<_>>(), [Some(1), Some(2)]);
        assert_eq!(c.iter().map(|z| z.running).sum::<u64>(), 3);
        assert_eq!(c[1].running, 2);
    }

    #[test]
    fn replace_all_drains_and_recreates() {
        let mut p = PoolInstances::new(vec![]);
        p.resize(3, t(0), REFILL, DRAIN);
        p.replace_all(vec![], t(30), REFILL, DRAIN);
        let c = p.counts(t(31))[0];
        assert_eq!((c.running, c.creating, c.deleting), (0, 3, 3));
        let c = p.counts(t(36))[0];
        assert_eq!(c.deleting, 0, "drained slots are gone after the drain delay");
    }

    #[test]
    fn shrinking_removes_creating_slots_first() {
        let mut p = PoolInstances::new(vec![]);
        p.resize(2, t(0), REFILL, DRAIN);
        p.resize(3, t(25), REFILL, DRAIN);
        p.resize(2, t(26), REFILL, DRAIN);
        let c = p.counts(t(26))[0];
        assert_eq!((c.running, c.creating, c.deleting), (2, 0, 1));
    }
}
