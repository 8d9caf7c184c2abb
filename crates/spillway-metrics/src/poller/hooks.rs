//! What the poller reports and where its time comes from.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use spillway_core::metrics::MetricSample;
use spillway_core::time::Timestamp;

use crate::error::SourceError;
use crate::source::SourceKind;

/// Observability hooks, called on the polling path. The controller registers
/// its Prometheus counters and histograms behind these; implementations must
/// be cheap and must not block.
pub trait PollHooks: Send + Sync {
    /// One metric fetched (or failed) from `source` in `elapsed`.
    fn fetch_done(
        &self,
        _source: SourceKind,
        _policy: &str,
        _elapsed: Duration,
        _error: Option<&SourceError>,
    ) {
    }
    /// One poll of all of a policy's metrics finished.
    fn poll_done(&self, _policy: &str, _elapsed: Duration, _samples: &[MetricSample]) {}
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl PollHooks for NoHooks {}

/// Where evaluation times come from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp::from_millis(ms)
    }
}

/// Tokio's clock (pausable in tests) mapped onto `origin` at creation.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    started: tokio::time::Instant,
    origin: Timestamp,
}

impl TokioClock {
    pub fn new(origin: Timestamp) -> Self {
        TokioClock {
            started: tokio::time::Instant::now(),
            origin,
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.origin + self.started.elapsed()
    }
}
