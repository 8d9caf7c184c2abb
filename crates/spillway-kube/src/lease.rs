//! Leader election on a `coordination.k8s.io/v1` Lease with
//! `kube-lease-manager`, plus a fence: [`LeaderGate::is_leader`] is true only
//! while the crate reports us as holder *and* the Lease's own `renewTime +
//! duration - safety` lies ahead. If renewals stop (API unreachable, a hung
//! request, a crashed task), the gate closes by that deadline, before any
//! other replica may take the Lease. The executor checks the gate before
//! every write.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Lease settings; durations are whole seconds on the Lease.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    /// Unique per replica: the pod name.
    pub identity: String,
    /// `leaseDurationSeconds`: how long a renewal keeps the lease.
    pub duration: Duration,
    /// Renew this long before expiry.
    pub renew_before: Duration,
    /// How often the fence re-reads the Lease and how long to wait before
    /// rebuilding the manager after an error.
    pub retry_period: Duration,
    /// The gate closes this long before the computed expiry, covering clock
    /// drift between this process and the next leader.
    pub safety: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            name: "spillway-leader".into(),
            namespace: "spillway-system".into(),
            identity: "spillway".into(),
            duration: Duration::from_secs(15),
            renew_before: Duration::from_secs(5),
            retry_period: Duration::from_secs(2),
            safety: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseConfigError {
    #[error("lease duration must be whole seconds >= 2, got {0:?}")]
    Duration(Duration),
    #[error("renewBefore must be whole seconds in [1, duration), got {0:?}")]
    RenewBefore(Duration),
    #[error("retryPeriod + safety ({0:?}) must be shorter than renewBefore ({1:?})")]
    Fence(Duration, Duration),
}

impl LeaseConfig {
    /// Checks what `kube-lease-manager` would otherwise panic on, and that
    /// the fence is re-read often enough to stay open while renewals succeed.
    pub fn validate(&self) -> Result<(), LeaseConfigError> {
        let secs = |d: Duration| d.subsec_nanos() == 0 && d.as_secs() > 0;
        if !secs(self.duration) || self.duration.as_secs() < 2 {
            return Err(LeaseConfigError::Duration(self.duration));
        }
        if !secs(self.renew_before) || self.renew_before >= self.duration {
            return Err(LeaseConfigError::RenewBefore(self.renew_before));
        }
        if self.retry_period + self.safety >= self.renew_before {
            return Err(LeaseConfigError::Fence(
                self.retry_period + self.safety,
                self.renew_before,
            ));
        }
        Ok(())
    }
}

pub use spillway_controller::{GateState, LeaderGate};

/// When writes must stop, from a Lease as read from the API: `None` unless
/// `identity` holds it with a renew time and duration. Pure.
pub fn fence_deadline(
    lease: &Lease,
    identity: &str,
    safety: Duration,
    now_wall: SystemTime,
    now: Instant,
) -> Option<Instant> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(identity) {
        return None;
    }
    let renew: SystemTime = spec.renew_time.as_ref()?.0.into();
    let duration = Duration::from_secs(u64::try_from(spec.lease_duration_seconds?).ok()?);
    let expiry = renew.checked_add(duration)?.checked_sub(safety)?;
    // The wall clock only converts the Lease's time into our monotonic clock.
    let left = expiry.duration_since(now_wall).unwrap_or(Duration::ZERO);
    Some(now + left)
}

/// Runs the election until `cancel`; the returned gate follows it. On
/// cancel, the lease is released so a successor does not wait for expiry.
pub fn run(client: Client, config: LeaseConfig, cancel: CancellationToken) -> (LeaderGate, JoinHandle<()>) {
    let (tx, gate) = LeaderGate::channel();
    let task = tokio::spawn(async move {
        let api: Api<Lease> = Api::namespaced(client.clone(), &config.namespace);
        loop {
            let manager = tokio::select! {
                m = build(client.clone(), &config) => m,
                () = cancel.cancelled() => break,
            };
            let manager = match manager {
                Ok(m) => m,
                Err(e) => {
                    warn!(error = %e, lease = %config.name, "cannot set up the lease; retrying");
                    tx.send_replace(GateState::default());
                    tokio::select! {
                        () = tokio::time::sleep(config.retry_period) => continue,
                        () = cancel.cancelled() => break,
                    }
                }
            };
            let stop = elect(&manager, &api, &config, &tx, &cancel).await;
            tx.send_replace(GateState::default());
            if stop {
                if let Err(e) = manager.release().await {
                    warn!(error = %e, "releasing the lease on shutdown failed; it will expire");
                }
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(config.retry_period) => {},
                () = cancel.cancelled() => break,
            }
        }
        tx.send_replace(GateState::default());
    });
    (gate, task)
}

async fn build(client: Client, config: &LeaseConfig) -> kube_lease_manager::Result<LeaseManager> {
    LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_field_manager(format!("spillway-{}", config.identity))
        .with_duration(config.duration.as_secs())
        .with_grace(config.renew_before.as_secs())
        .build()
        .await
}

/// One manager's life. Returns true when cancelled, false after an error
/// (the caller drops the gate and rebuilds the manager).
async fn elect(
    manager: &LeaseManager,
    api: &Api<Lease>,
    config: &LeaseConfig,
    tx: &watch::Sender<GateState>,
    cancel: &CancellationToken,
) -> bool {
    let mut holder = false;
    let mut fence = tokio::time::interval(config.retry_period);
    fence.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // One `changed()` future lives across fence ticks: it is where the manager
    // sleeps until the renewal time and renews. Dropping it on every tick
    // would cancel the renewal.
    let mut changed = Box::pin(manager.changed());
    loop {
        tokio::select! {
            () = cancel.cancelled() => return true,
            result = &mut changed => {
                changed = Box::pin(manager.changed());
                match result {
                    Ok(now_holder) => {
                        holder = now_holder;
                        if holder {
                            info!(identity = %config.identity, lease = %config.name, "acquired the lease");
                            // Open only once the fence has read the Lease.
                            fence.reset_immediately();
                        } else {
                            info!(identity = %config.identity, "lost the lease; writes stop");
                            tx.send_replace(GateState::default());
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "lease error; writes stop until the lease is confirmed again");
                        return false;
                    }
                }
            },
            _ = fence.tick(), if holder => {
                let until = match api.get(&config.name).await {
                    Ok(lease) => fence_deadline(&lease, &config.identity, config.safety, SystemTime::now(), Instant::now()),
                    Err(e) => {
                        // Keep the deadline we had: it closes the gate by itself.
                        warn!(error = %e, "cannot re-read the lease");
                        tx.borrow().until
                    }
                };
                match until {
                    Some(until) => { tx.send_replace(GateState { holder: true, until: Some(until) }); }
                    None => {
                        tx.send_replace(GateState::default());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::{
        api::coordination::v1::LeaseSpec, apimachinery::pkg::apis::meta::v1::MicroTime, jiff::Timestamp,
    };

    fn lease(holder: &str, renew_secs: i64, duration: i32) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime(Timestamp::from_second(renew_secs).expect("ts"))),
                lease_duration_seconds: Some(duration),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn deadline_is_renew_plus_duration_minus_safety() {
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let now = Instant::now();
        let d = fence_deadline(&lease("me", 995, 15), "me", Duration::from_secs(2), wall, now);
        // 995 + 15 - 2 = 1008: eight seconds from now.
        assert_eq!(d, Some(now + Duration::from_secs(8)));
        assert_eq!(
            fence_deadline(&lease("other", 995, 15), "me", Duration::ZERO, wall, now),
            None
        );
        // Already past: the deadline is now, so the gate is closed.
        assert_eq!(
            fence_deadline(&lease("me", 900, 15), "me", Duration::ZERO, wall, now),
            Some(now)
        );
    }

    #[test]
    fn validation_rejects_what_would_panic_or_leave_the_fence_blind() {
        assert!(LeaseConfig::default().validate().is_ok());
        let c = LeaseConfig {
            renew_before: Duration::from_secs(15),
            ..LeaseConfig::default()
        };
        assert!(matches!(c.validate(), Err(LeaseConfigError::RenewBefore(_))));
        let c = LeaseConfig {
            retry_period: Duration::from_secs(4),
            ..LeaseConfig::default()
        };
        assert!(matches!(c.validate(), Err(LeaseConfigError::Fence(..))));
    }

    #[test]
    fn static_gates() {
        assert!(LeaderGate::always().is_leader());
        assert!(!LeaderGate::never().is_leader());
    }
}
