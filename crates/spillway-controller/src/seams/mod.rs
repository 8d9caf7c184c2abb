//! The three seams every I/O of the controller goes through, in types of
//! their own so that no adapter (kube-rs, ARM, Prometheus) leaks into the
//! loop: [`cluster::ClusterView`], [`metrics::MetricSource`] and
//! [`burst::BurstBackend`].

pub mod burst;
pub mod cluster;
pub mod metrics;
pub mod pool;
pub mod zones;

use std::sync::{Arc, RwLock};

/// What the loop does about a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeamErrorKind {
    /// Retried next tick (creates with backoff).
    Other,
    /// Not sent: the leader gate was closed.
    NotLeader,
    /// Quota or capacity: try the next location.
    LocationUnavailable,
    /// No capacity for the group where it was asked for: a zonal group
    /// makes only its zone unavailable, a regional one its location.
    Capacity,
}

/// A seam call that failed, as the loop sees it: a stable metric label and
/// the adapter's own error as the source.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct SeamError {
    label: &'static str,
    kind: SeamErrorKind,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl SeamError {
    pub fn new(label: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SeamError {
            label,
            kind: SeamErrorKind::Other,
            source: source.into(),
        }
    }

    /// A quota or capacity refusal: the location takes no new groups for a while.
    pub fn location_unavailable(
        label: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SeamError {
            kind: SeamErrorKind::LocationUnavailable,
            ..SeamError::new(label, source)
        }
    }

    /// No capacity right now (ACI's `ServiceUnavailable` 409,
    /// `InsufficientCapacity`): the zone of a zonal group, else the location.
    pub fn capacity_unavailable(
        label: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SeamError {
            kind: SeamErrorKind::Capacity,
            ..SeamError::new(label, source)
        }
    }

    /// The leader gate closed before the write could be sent.
    pub fn not_leader() -> Self {
        SeamError {
            label: "not_leader",
            kind: SeamErrorKind::NotLeader,
            source: "not the leader: write not sent".into(),
        }
    }

    pub fn label(&self) -> &'static str {
        self.label
    }

    pub fn is_not_leader(&self) -> bool {
        self.kind == SeamErrorKind::NotLeader
    }

    pub fn makes_location_unavailable(&self) -> bool {
        matches!(
            self.kind,
            SeamErrorKind::LocationUnavailable | SeamErrorKind::Capacity
        )
    }

    pub fn is_capacity(&self) -> bool {
        self.kind == SeamErrorKind::Capacity
    }
}

/// A seam implementation that a configuration change may replace while the
/// controller runs: each tick takes the current one and finishes on it, the
/// next tick sees the new one. The generation says which document built it
/// (shown in `/status`).
pub struct Swappable<T: ?Sized> {
    current: RwLock<(u64, Arc<T>)>,
}

impl<T: ?Sized> Swappable<T> {
    pub fn new(initial: Arc<T>) -> Self {
        Swappable {
            current: RwLock::new((1, initial)),
        }
    }

    /// The implementation in use now.
    pub fn get(&self) -> Arc<T> {
        match self.current.read() {
            Ok(g) => g.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Installs `next`; returns its generation.
    pub fn replace(&self, next: Arc<T>) -> u64 {
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        g.0 += 1;
        g.1 = next;
        g.0
    }
}
