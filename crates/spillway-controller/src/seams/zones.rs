//! A per-location cache of availability zones for `burst.zones: auto`
//! (issue 17), for backends whose read is a remote call. Zones change
//! rarely (a region gains zones once), so a list is kept for `ttl`; a
//! failed read keeps the last list and is retried after `retry`, so an ARM
//! outage neither blocks creates nor turns every tick into a failing read.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use spillway_core::time::Timestamp;

use super::SeamError;
use super::burst::ZonesAnswer;

#[derive(Debug, Default, Clone)]
struct Entry {
    /// The last list read and when.
    known: Option<(Timestamp, Vec<String>)>,
    /// The last failed read: when, why and its label.
    failed: Option<(Timestamp, String, &'static str)>,
}

/// Zones per location, on the loop's clock.
#[derive(Debug)]
pub struct ZoneCache {
    ttl: Duration,
    retry: Duration,
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl Default for ZoneCache {
    /// An hour per list; a failed read retried after a minute.
    fn default() -> Self {
        ZoneCache::new(Duration::from_secs(3600), Duration::from_secs(60))
    }
}

impl ZoneCache {
    pub fn new(ttl: Duration, retry: Duration) -> Self {
        ZoneCache {
            ttl,
            retry,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn entry(&self, location: &str) -> Entry {
        match self.entries.lock() {
            Ok(m) => m.get(location).cloned().unwrap_or_default(),
            Err(p) => p.into_inner().get(location).cloned().unwrap_or_default(),
        }
    }

    fn store(&self, location: &str, e: Entry) {
        match self.entries.lock() {
            Ok(mut m) => m.insert(location.to_string(), e),
            Err(p) => p.into_inner().insert(location.to_string(), e),
        };
    }

    /// The zones of `location`: cached while fresh, else `read` (not under
    /// the lock: policies ticking together may both read once).
    pub async fn get<F>(&self, location: &str, now: Timestamp, read: F) -> ZonesAnswer
    where
        F: Future<Output = Result<Vec<String>, SeamError>>,
    {
        let mut e = self.entry(location);
        let fresh = e.known.as_ref().is_some_and(|(at, _)| now.since(*at) < self.ttl);
        let backing_off = e
            .failed
            .as_ref()
            .is_some_and(|(at, _, _)| now.since(*at) < self.retry);
        if !fresh && !backing_off {
            match read.await {
                Ok(zones) => {
                    e.known = Some((now, zones));
                    e.failed = None;
                }
                Err(err) => e.failed = Some((now, err.to_string(), err.label())),
            }
            self.store(location, e.clone());
        }
        ZonesAnswer {
            zones: e.known.map(|(_, z)| z),
            error: e.failed.map(|(_, m, l)| (m, l)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    fn ok(z: &[&str]) -> Result<Vec<String>, SeamError> {
        Ok(z.iter().map(|s| s.to_string()).collect())
    }

    #[tokio::test]
    async fn kept_for_the_ttl_and_through_failures() {
        let c = ZoneCache::new(Duration::from_secs(3600), Duration::from_secs(60));
        // Nothing known and the read fails: no zones, an error.
        let a = c
            .get("we", at(0), async { Err(SeamError::new("auth", "403")) })
            .await;
        assert_eq!(a.zones, None);
        assert_eq!(a.error.as_ref().map(|e| e.1), Some("auth"));
        // Within the retry pause: not read again, still the error.
        let a = c
            .get("we", at(30), async { panic!("not read while backing off") })
            .await;
        assert!(a.error.is_some());
        let a = c.get("we", at(61), async { ok(&["1", "2"]) }).await;
        assert_eq!(
            a,
            ZonesAnswer {
                zones: Some(vec!["1".into(), "2".into()]),
                error: None
            }
        );
        // Fresh for an hour.
        let a = c.get("we", at(3600), async { panic!("cached") }).await;
        assert_eq!(a.zones.map(|z| z.len()), Some(2));
        // Stale, the read fails: the last list stays, with the error.
        let a = c
            .get("we", at(3700), async { Err(SeamError::new("transient", "503")) })
            .await;
        assert_eq!(a.zones.map(|z| z.len()), Some(2));
        assert!(a.error.is_some());
        // Another location is its own entry.
        let a = c.get("ne", at(3700), async { ok(&[]) }).await;
        assert_eq!(
            a,
            ZonesAnswer {
                zones: Some(Vec::new()),
                error: None
            }
        );
    }
}
