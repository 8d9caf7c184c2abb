//! Rate limiting, pure over explicit time: ARM's token buckets and ACI's sliding windows.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

use crate::config::{BucketLimit, WindowLimit};

/// A token bucket as ARM uses per subscription and operation type (CONTRACT §7.1).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last: Timestamp,
}

/// The outcome of taking from a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Allowed; this many remain.
    Allowed { remaining: u64 },
    /// Refused; retry after this many whole seconds (at least 1).
    Throttled { retry_after: u64 },
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: BucketLimit, now: Timestamp) -> Self {
        TokenBucket {
            tokens: f64::from(limit.capacity),
            last: now,
        }
    }

    fn refill(&mut self, limit: BucketLimit, now: Timestamp) {
        let elapsed = now.duration_since(self.last).as_secs_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * limit.refill_per_sec).min(f64::from(limit.capacity));
        self.last = now;
    }

    /// Takes one token, or says how long until one is available.
    pub fn take(&mut self, limit: BucketLimit, now: Timestamp) -> Take {
        self.refill(limit, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Take::Allowed {
                remaining: self.tokens.floor() as u64,
            }
        } else {
            let wait = if limit.refill_per_sec > 0.0 {
                (1.0 - self.tokens) / limit.refill_per_sec
            } else {
                3600.0
            };
            Take::Throttled {
                retry_after: (wait.ceil() as u64).max(1),
            }
        }
    }

    /// Tokens left now, without taking.
    pub fn remaining(&mut self, limit: BucketLimit, now: Timestamp) -> u64 {
        self.refill(limit, now);
        self.tokens.floor() as u64
    }
}

/// Two sliding windows (5 minutes and 1 hour) over event times, as ACI counts creates and deletes.
#[derive(Debug, Clone, Default)]
pub struct SlidingWindows {
    events: VecDeque<Timestamp>,
}

const FIVE_MIN: SignedDuration = SignedDuration::from_secs(300);
const ONE_HOUR: SignedDuration = SignedDuration::from_secs(3600);

/// What is left of both windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRemaining {
    /// Left in the current 5-minute window.
    pub pt5m: u64,
    /// Left in the current 1-hour window.
    pub pt1h: u64,
}

/// The 5-minute and 1-hour spans multiplied by `scale` (tests shrink them to seconds).
fn spans(scale: f64) -> (SignedDuration, SignedDuration) {
    if scale == 1.0 || !scale.is_finite() || scale <= 0.0 {
        return (FIVE_MIN, ONE_HOUR);
    }
    let s = |d: SignedDuration| SignedDuration::from_secs_f64((d.as_secs_f64() * scale).max(0.001));
    (s(FIVE_MIN), s(ONE_HOUR))
}

impl SlidingWindows {
    fn prune(&mut self, now: Timestamp, hour: SignedDuration) {
        while self
            .events
            .front()
            .is_some_and(|t| now.duration_since(*t) >= hour)
        {
            self.events.pop_front();
        }
    }

    fn count_since(&self, now: Timestamp, window: SignedDuration) -> usize {
        self.events
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < window)
            .count()
    }

    /// Remaining budget without recording anything.
    pub fn remaining(&mut self, limit: WindowLimit, now: Timestamp) -> WindowRemaining {
        self.remaining_scaled(limit, 1.0, now)
    }

    /// [`SlidingWindows::remaining`] with both window spans multiplied by `scale`.
    pub fn remaining_scaled(&mut self, limit: WindowLimit, scale: f64, now: Timestamp) -> WindowRemaining {
        let (five, hour) = spans(scale);
        self.prune(now, hour);
        let used5 = self.count_since(now, five) as u64;
        let used1 = self.events.len() as u64;
        WindowRemaining {
            pt5m: u64::from(limit.per_5m).saturating_sub(used5),
            pt1h: u64::from(limit.per_1h).saturating_sub(used1),
        }
    }

    /// Records one event if both windows allow it.
    pub fn take(&mut self, limit: WindowLimit, now: Timestamp) -> Result<WindowRemaining, u64> {
        self.take_scaled(limit, 1.0, now)
    }

    /// [`SlidingWindows::take`] with both window spans multiplied by `scale`; `Err` is the
    /// `Retry-After` in seconds (when a slot frees).
    pub fn take_scaled(
        &mut self,
        limit: WindowLimit,
        scale: f64,
        now: Timestamp,
    ) -> Result<WindowRemaining, u64> {
        let (five, hour) = spans(scale);
        let left = self.remaining_scaled(limit, scale, now);
        if left.pt5m == 0 || left.pt1h == 0 {
            // The earliest event that still counts in the exhausted window frees a slot when it expires.
            let (window, needed) = if left.pt5m == 0 {
                (five, self.count_since(now, five))
            } else {
                (hour, self.events.len())
            };
            let oldest_counted = self.events.len().saturating_sub(needed);
            let retry = self
                .events
                .get(oldest_counted)
                .map(|t| (window - now.duration_since(*t)).as_secs_f64().ceil() as u64)
                .unwrap_or(1);
            return Err(retry.max(1));
        }
        self.events.push_back(now);
        Ok(WindowRemaining {
            pt5m: left.pt5m - 1,
            pt1h: left.pt1h - 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    #[test]
    fn bucket_empties_and_refills() {
        let limit = BucketLimit {
            capacity: 3,
            refill_per_sec: 0.5,
        };
        let mut b = TokenBucket::new(limit, t(0));
        assert_eq!(b.take(limit, t(0)), Take::Allowed { remaining: 2 });
        assert_eq!(b.take(limit, t(0)), Take::Allowed { remaining: 1 });
        assert_eq!(b.take(limit, t(0)), Take::Allowed { remaining: 0 });
        assert_eq!(b.take(limit, t(0)), Take::Throttled { retry_after: 2 });
        assert_eq!(b.take(limit, t(2)), Take::Allowed { remaining: 0 });
        assert_eq!(b.remaining(limit, t(100)), 3);
    }

    #[test]
    fn windows_count_five_minutes_and_an_hour() {
        let limit = WindowLimit { per_5m: 2, per_1h: 3 };
        let mut w = SlidingWindows::default();
        assert_eq!(w.take(limit, t(0)), Ok(WindowRemaining { pt5m: 1, pt1h: 2 }));
        assert_eq!(w.take(limit, t(10)), Ok(WindowRemaining { pt5m: 0, pt1h: 1 }));
        assert_eq!(w.take(limit, t(20)), Err(280));
        assert_eq!(w.take(limit, t(300)), Ok(WindowRemaining { pt5m: 0, pt1h: 0 }));
        // The hour window is full until the first event turns one hour old.
        assert_eq!(w.take(limit, t(700)), Err(2900));
        assert!(w.take(limit, t(3600)).is_ok());
    }

    #[test]
    fn scaled_windows_free_slots_sooner() {
        let limit = WindowLimit {
            per_5m: 1,
            per_1h: 10,
        };
        let mut w = SlidingWindows::default();
        assert!(w.take_scaled(limit, 0.01, t(0)).is_ok());
        assert_eq!(w.take_scaled(limit, 0.01, t(1)), Err(2), "a 3 s window");
        assert!(w.take_scaled(limit, 0.01, t(3)).is_ok());
    }
}
