//! The subscription's own create/delete budget: sliding 5-minute and 1-hour
//! windows over what this client sent, tightened by ACI's
//! `x-ms-ratelimit-remaining-subscription-resource-requests-pt5m/-pt1h`
//! headers when the server sends them. Pure: time is an argument.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use crate::config::PacingLimits;

const FIVE_MIN: Duration = Duration::from_secs(300);
const ONE_HOUR: Duration = Duration::from_secs(3600);
pub const HEADER_PT5M: &str = "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m";
pub const HEADER_PT1H: &str = "x-ms-ratelimit-remaining-subscription-resource-requests-pt1h";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    Creates,
    Deletes,
}

/// What is left now, per budget (min of both windows and the server's word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingHeadroom {
    pub creates: u32,
    pub deletes: u32,
}

#[derive(Debug, Default)]
struct Window {
    sent: VecDeque<Instant>,
    /// Last server report: (remaining in 5 min, remaining in 1 h, when).
    server_5m: Option<(u32, Instant)>,
    server_1h: Option<(u32, Instant)>,
}

impl Window {
    fn prune(&mut self, now: Instant) {
        while let Some(&t) = self.sent.front() {
            if now.saturating_duration_since(t) >= ONE_HOUR {
                self.sent.pop_front();
            } else {
                break;
            }
        }
    }
    fn count_since(&self, now: Instant, span: Duration) -> u32 {
        self.sent
            .iter()
            .rev()
            .take_while(|t| now.saturating_duration_since(**t) < span)
            .count() as u32
    }
    fn count_after(&self, at: Instant) -> u32 {
        self.sent.iter().rev().take_while(|t| **t > at).count() as u32
    }
    fn remaining(&self, now: Instant, per_5m: u32, per_1h: u32) -> u32 {
        let mut left = per_5m
            .saturating_sub(self.count_since(now, FIVE_MIN))
            .min(per_1h.saturating_sub(self.count_since(now, ONE_HOUR)));
        for (report, span) in [(self.server_5m, FIVE_MIN), (self.server_1h, ONE_HOUR)] {
            if let Some((n, at)) = report
                && now.saturating_duration_since(at) < span
            {
                left = left.min(n.saturating_sub(self.count_after(at)));
            }
        }
        left
    }
    /// How long until one more request fits the local windows.
    fn wait_for_slot(&self, now: Instant, per_5m: u32, per_1h: u32) -> Duration {
        let mut wait = Duration::ZERO;
        for (limit, span) in [(per_5m, FIVE_MIN), (per_1h, ONE_HOUR)] {
            let in_window: Vec<&Instant> = self
                .sent
                .iter()
                .filter(|t| now.saturating_duration_since(**t) < span)
                .collect();
            if in_window.len() as u32 >= limit && limit > 0 {
                // The oldest that must leave the window for one slot to open.
                let idx = in_window.len() - limit as usize;
                let frees_at = *in_window[idx] + span;
                wait = wait.max(frees_at.saturating_duration_since(now));
            } else if limit == 0 {
                wait = wait.max(span);
            }
        }
        wait
    }
}

#[derive(Debug)]
pub struct Pacing {
    limits: PacingLimits,
    state: Mutex<[Window; 2]>,
}

impl Pacing {
    pub fn new(limits: PacingLimits) -> Self {
        Pacing {
            limits,
            state: Mutex::new([Window::default(), Window::default()]),
        }
    }

    fn limits_of(&self, b: Budget) -> (u32, u32) {
        match b {
            Budget::Creates => (self.limits.creates_per_5m, self.limits.creates_per_1h),
            Budget::Deletes => (self.limits.deletes_per_5m, self.limits.deletes_per_1h),
        }
    }

    fn with<R>(&self, b: Budget, f: impl FnOnce(&mut Window) -> R) -> R {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s[b as usize])
    }

    /// Take one slot before sending. `Err(wait)` when the budget is spent and
    /// enforcement is on: `wait` is when a slot frees up (if the server's
    /// report is what blocks, the rest of its window).
    pub fn reserve(&self, b: Budget, now: Instant) -> Result<Instant, Duration> {
        let (p5, p1) = self.limits_of(b);
        let enforce = self.limits.enforce;
        self.with(b, |w| {
            w.prune(now);
            if enforce && w.remaining(now, p5, p1) == 0 {
                let local = w.wait_for_slot(now, p5, p1);
                let wait = if local.is_zero() {
                    // The server's count blocks: wait out its report's window.
                    [(w.server_5m, FIVE_MIN), (w.server_1h, ONE_HOUR)]
                        .iter()
                        .filter_map(|(r, span)| r.map(|(_, at)| (at + *span).saturating_duration_since(now)))
                        .filter(|d| !d.is_zero())
                        .min()
                        .unwrap_or(Duration::from_secs(1))
                } else {
                    local
                };
                return Err(wait);
            }
            w.sent.push_back(now);
            Ok(now)
        })
    }

    /// Give a slot back: the request was refused before the server acted on it.
    pub fn release(&self, b: Budget, reserved_at: Instant) {
        self.with(b, |w| {
            if let Some(pos) = w.sent.iter().rposition(|t| *t == reserved_at) {
                w.sent.remove(pos);
            }
        });
    }

    /// Take note of ACI's remaining-count headers on a create/delete response.
    pub fn observe_headers(&self, b: Budget, headers: &HeaderMap, now: Instant) {
        let read = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok())
        };
        let (r5, r1) = (read(HEADER_PT5M), read(HEADER_PT1H));
        if r5.is_none() && r1.is_none() {
            return;
        }
        self.with(b, |w| {
            // The report already counts the request it answers, which is in `sent`.
            if let Some(n) = r5 {
                w.server_5m = Some((n, now));
            }
            if let Some(n) = r1 {
                w.server_1h = Some((n, now));
            }
        });
    }

    pub fn headroom(&self, now: Instant) -> PacingHeadroom {
        let get = |b| {
            let (p5, p1) = self.limits_of(b);
            self.with(b, |w| {
                w.prune(now);
                w.remaining(now, p5, p1)
            })
        };
        PacingHeadroom {
            creates: get(Budget::Creates),
            deletes: get(Budget::Deletes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(p5: u32, p1: u32) -> PacingLimits {
        PacingLimits {
            creates_per_5m: p5,
            creates_per_1h: p1,
            deletes_per_5m: p5,
            deletes_per_1h: p1,
            enforce: true,
        }
    }

    #[test]
    fn five_minute_window_slides() {
        let p = Pacing::new(limits(3, 10));
        let t0 = Instant::now();
        for i in 0..3 {
            p.reserve(Budget::Creates, t0 + Duration::from_secs(i)).unwrap();
        }
        assert_eq!(p.headroom(t0 + Duration::from_secs(3)).creates, 0);
        assert_eq!(p.headroom(t0 + Duration::from_secs(3)).deletes, 3);
        let wait = p
            .reserve(Budget::Creates, t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(290));
        // The first create leaves the window at t0 + 300 s.
        assert_eq!(p.headroom(t0 + Duration::from_secs(300)).creates, 1);
        p.reserve(Budget::Creates, t0 + Duration::from_secs(300)).unwrap();
    }

    #[test]
    fn hour_window_caps_the_five_minute_one() {
        let p = Pacing::new(limits(100, 5));
        let t0 = Instant::now();
        for i in 0..5 {
            p.reserve(Budget::Deletes, t0 + Duration::from_secs(i * 400))
                .unwrap();
        }
        let now = t0 + Duration::from_secs(2000);
        assert_eq!(p.headroom(now).deletes, 0);
        let wait = p.reserve(Budget::Deletes, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(1600));
    }

    #[test]
    fn server_headers_tighten_and_expire() {
        let p = Pacing::new(limits(100, 300));
        let t0 = Instant::now();
        p.reserve(Budget::Creates, t0).unwrap();
        let mut h = HeaderMap::new();
        h.insert(HEADER_PT5M, "2".parse().unwrap());
        h.insert(HEADER_PT1H, "50".parse().unwrap());
        p.observe_headers(Budget::Creates, &h, t0);
        assert_eq!(p.headroom(t0).creates, 2);
        p.reserve(Budget::Creates, t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(p.headroom(t0 + Duration::from_secs(1)).creates, 1);
        // Five minutes after the report only the hourly word (less what we
        // sent since) and our own windows remain.
        assert_eq!(p.headroom(t0 + Duration::from_secs(301)).creates, 49);
        // An hour after it, only our own windows.
        assert_eq!(p.headroom(t0 + Duration::from_secs(3601)).creates, 100);
    }

    #[test]
    fn release_returns_the_slot_and_not_enforcing_never_blocks() {
        let p = Pacing::new(limits(1, 1));
        let t0 = Instant::now();
        let at = p.reserve(Budget::Creates, t0).unwrap();
        assert!(p.reserve(Budget::Creates, t0).is_err());
        p.release(Budget::Creates, at);
        assert!(p.reserve(Budget::Creates, t0).is_ok());
        let loose = Pacing::new(PacingLimits {
            enforce: false,
            ..limits(1, 1)
        });
        for _ in 0..5 {
            loose.reserve(Budget::Creates, t0).unwrap();
        }
        assert_eq!(loose.headroom(t0).creates, 0);
    }
}
