//! The leader gate: whether this process may write now. The election (a
//! Lease, in `spillway-kube`, or the demo's) drives it through the sender of
//! [`LeaderGate::channel`]; everything that writes asks it just before it
//! sends, retries included, so a process that lost the Lease never writes.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// What the election last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GateState {
    pub holder: bool,
    /// Writes allowed until then (tokio clock); `None`: no deadline.
    pub until: Option<Instant>,
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct LeaderGate(watch::Receiver<GateState>);

impl LeaderGate {
    /// A closed gate and the sender an election opens and closes it with.
    pub fn channel() -> (watch::Sender<GateState>, LeaderGate) {
        let (tx, rx) = watch::channel(GateState::default());
        (tx, LeaderGate(rx))
    }

    /// A gate that is always open: for `spillway plan`-like tools and tests
    /// that do not elect.
    pub fn always() -> Self {
        let (tx, rx) = watch::channel(GateState {
            holder: true,
            until: None,
        });
        // Keep the value alive after the sender is gone.
        drop(tx);
        LeaderGate(rx)
    }

    /// A gate that is never open.
    pub fn never() -> Self {
        let (_tx, rx) = watch::channel(GateState::default());
        LeaderGate(rx)
    }

    pub fn is_leader(&self) -> bool {
        let s = *self.0.borrow();
        s.holder && s.until.is_none_or(|u| Instant::now() < u)
    }

    /// How long writes stay allowed without another renewal: `None` when
    /// not leading, `Duration::MAX` for a gate without a deadline. A write's
    /// retries must end within this.
    pub fn remaining(&self) -> Option<Duration> {
        let s = *self.0.borrow();
        if !s.holder {
            return None;
        }
        match s.until {
            None => Some(Duration::MAX),
            Some(u) => {
                let now = Instant::now();
                (now < u).then(|| u - now)
            }
        }
    }

    /// Waits for the next change of the holder state (not of the deadline).
    pub async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_gate_closes_at_its_deadline() {
        let (tx, gate) = LeaderGate::channel();
        assert!(!gate.is_leader());
        assert_eq!(gate.remaining(), None);
        tx.send_replace(GateState {
            holder: true,
            until: Some(Instant::now() + Duration::from_secs(10)),
        });
        assert!(gate.is_leader());
        assert_eq!(gate.remaining(), Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(!gate.is_leader(), "closed at the deadline, without a message");
        assert_eq!(gate.remaining(), None);
    }

    #[test]
    fn always_and_never() {
        assert!(LeaderGate::always().is_leader());
        assert_eq!(LeaderGate::always().remaining(), Some(Duration::MAX));
        assert!(!LeaderGate::never().is_leader());
    }
}
