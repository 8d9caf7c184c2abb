//! Token caching: refresh ahead of expiry, one refresh in flight per scope.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::clock::{Clock, SystemClock};
use crate::{AccessToken, AuthError, TokenFuture, TokenProvider};

/// One uncached token exchange (a credential flow).
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// Fetch a new token for `scope`; its expiry is computed at receipt from `now`.
    fn fetch<'a>(&'a self, scope: &'a str, now: &'a dyn Clock) -> TokenFuture<'a>;
    /// Which flow this is, for logs and metrics (`client_secret`, ...).
    fn kind(&self) -> &'static str;
}

/// When a cached token is refreshed: at `fraction` of its lifetime or `margin`
/// before expiry, whichever comes first (the Azure SDK uses 300 s; the ARM
/// contract asks for "5 minutes or half the lifetime, whichever is earlier").
/// For tokens shorter than `margin`, only the fraction applies.
#[derive(Debug, Clone, Copy)]
pub struct RefreshPolicy {
    pub margin: Duration,
    pub fraction: f64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            margin: Duration::from_secs(300),
            fraction: 0.5,
        }
    }
}

impl RefreshPolicy {
    fn refresh_at(&self, received: SystemTime, expires_at: SystemTime) -> SystemTime {
        let lifetime = expires_at.duration_since(received).unwrap_or_default();
        let by_fraction = lifetime.mul_f64(self.fraction.clamp(0.0, 1.0));
        let by_margin = lifetime.saturating_sub(self.margin);
        let after = if by_margin.is_zero() {
            by_fraction
        } else {
            by_fraction.min(by_margin)
        };
        received + after
    }
}

#[derive(Clone)]
struct Cached {
    token: AccessToken,
    refresh_at: SystemTime,
}

/// Per scope: the current token, and a gate held by whoever is refreshing.
#[derive(Default)]
struct Slot {
    value: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

/// A [`TokenProvider`] over a [`TokenSource`] that caches per scope,
/// refreshes ahead of expiry, and lets only one refresh run at a time: callers
/// that arrive during a refresh get the still-valid old token, or wait for the
/// refresh when there is none. If a refresh fails while the old token is still
/// valid, the old token is served (and the failure logged).
pub struct CachedTokenProvider<S> {
    source: S,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl<S: TokenSource> std::fmt::Debug for CachedTokenProvider<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedTokenProvider")
            .field("source", &self.source)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> CachedTokenProvider<S> {
    pub fn new(source: S) -> Self {
        CachedTokenProvider {
            source,
            clock: Arc::new(SystemClock),
            policy: RefreshPolicy::default(),
            slots: Mutex::new(HashMap::new()),
        }
    }
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    pub fn with_policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }
    pub fn source(&self) -> &S {
        &self.source
    }

    fn slot(&self, scope: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(scope.to_string()).or_default().clone()
    }

    async fn get(&self, scope: &str) -> Result<AccessToken, AuthError> {
        let slot = self.slot(scope);
        let now = self.clock.now();
        let current = read(&slot);
        if let Some(c) = &current
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let gate = match slot.refresh.try_lock() {
            Ok(g) => g,
            Err(_) => {
                // Someone else is refreshing: the old token still serves if valid.
                if let Some(c) = &current
                    && now < c.token.expires_at
                {
                    return Ok(c.token.clone());
                }
                slot.refresh.lock().await
            }
        };
        // Re-check: the refresh we waited for (or raced) may have succeeded.
        let now = self.clock.now();
        let current = read(&slot);
        if let Some(c) = &current
            && now < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let fetched = self.source.fetch(scope, self.clock.as_ref()).await;
        let out = self.settle(&slot, fetched, current);
        drop(gate);
        out
    }

    /// Store a fresh token, or fall back to the old one while it is still valid.
    fn settle(
        &self,
        slot: &Slot,
        fetched: Result<AccessToken, AuthError>,
        previous: Option<Cached>,
    ) -> Result<AccessToken, AuthError> {
        let now = self.clock.now();
        let kind = self.source.kind();
        match fetched {
            Ok(token) => {
                let refresh_at = self.policy.refresh_at(now, token.expires_at);
                *slot.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(Cached {
                    token: token.clone(),
                    refresh_at,
                });
                tracing::debug!(kind, "access token refreshed");
                Ok(token)
            }
            Err(e) => match previous {
                Some(c) if now < c.token.expires_at => {
                    tracing::warn!(kind, error = %e, "token refresh failed; serving the still-valid token");
                    Ok(c.token)
                }
                _ => {
                    tracing::warn!(kind, error = %e, "token refresh failed");
                    Err(e)
                }
            },
        }
    }
}

fn read(slot: &Slot) -> Option<Cached> {
    slot.value.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl<S: TokenSource> TokenProvider for CachedTokenProvider<S> {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        Box::pin(self.get(scope))
    }

    fn invalidate(&self, scope: &str) {
        let slot = self.slot(scope);
        *slot.value.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_at_half_or_margin() {
        let p = RefreshPolicy::default();
        let t0 = SystemTime::UNIX_EPOCH;
        let s = |secs| Duration::from_secs(secs);
        // One hour: half the lifetime (30 min) comes before 5 min ahead.
        assert_eq!(p.refresh_at(t0, t0 + s(3600)), t0 + s(1800));
        // Eight minutes: 5 min ahead (3 min) comes first.
        assert_eq!(p.refresh_at(t0, t0 + s(480)), t0 + s(180));
        // Shorter than the margin: half the lifetime.
        assert_eq!(p.refresh_at(t0, t0 + s(60)), t0 + s(30));
    }
}
