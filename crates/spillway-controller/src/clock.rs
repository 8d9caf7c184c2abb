//! The one clock the loop reads. Production uses the wall clock; tests and
//! the simulator inject their own so that stabilization windows, backoffs
//! and the inventory's cache all run on the same (virtual) time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use spillway_core::time::Timestamp;

/// The time now, as the planner sees it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    })
}

/// A clock that moves only when told: the simulator's virtual time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start.millis())))
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.millis(), Ordering::Relaxed);
    }
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::Relaxed))
    }
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

/// The tokio clock (pausable in tests) counted from `origin`.
pub fn tokio_clock(origin: Timestamp) -> Clock {
    let start = tokio::time::Instant::now();
    Arc::new(move || {
        let ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp::from_millis(origin.millis().saturating_add(ms))
    })
}
