//! The standby pool's metrics (issue 16), apart from `telemetry.rs` so that
//! each file stays one topic. Every series of an active policy starts at 0.

use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};

use crate::seams::pool::PoolObserved;

pub const CLAIM_OUTCOMES: [&str; 2] = ["hit", "miss"];

#[derive(Clone)]
pub struct StandbyMetrics {
    /// `spillway_standby_pool_ready{policy}`: Running instances in the pool.
    pub ready: GaugeVec,
    /// `spillway_standby_pool_creating{policy}`.
    pub creating: GaugeVec,
    /// `spillway_standby_pool_desired{policy}`: the sizing's maxReadyCapacity.
    pub desired: GaugeVec,
    /// `spillway_standby_pool_claims_total{policy, outcome=hit|miss}`.
    pub claims: IntCounterVec,
}

impl StandbyMetrics {
    pub fn register(r: &Registry) -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| -> prometheus::Result<GaugeVec> {
            let g = GaugeVec::new(Opts::new(name, help), &["policy"])?;
            r.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let claims = IntCounterVec::new(
            Opts::new(
                "spillway_standby_pool_claims_total",
                "Creates that claimed from the policy's standby pool: served from it (hit) or created anew (miss).",
            ),
            &["policy", "outcome"],
        )?;
        r.register(Box::new(claims.clone()))?;
        Ok(StandbyMetrics {
            ready: gauge(
                "spillway_standby_pool_ready",
                "Ready (Running) container groups in the policy's standby pool.",
            )?,
            creating: gauge(
                "spillway_standby_pool_creating",
                "Container groups being created in the policy's standby pool.",
            )?,
            desired: gauge(
                "spillway_standby_pool_desired",
                "The standby pool's wanted maxReadyCapacity this tick.",
            )?,
            claims,
        })
    }

    pub fn init_policy(&self, policy: &str) {
        for g in [&self.ready, &self.creating, &self.desired] {
            let _ = g.with_label_values(&[policy]);
        }
        for outcome in CLAIM_OUTCOMES {
            let _ = self.claims.with_label_values(&[policy, outcome]);
        }
    }

    pub fn forget_policy(&self, policy: &str) {
        for g in [&self.ready, &self.creating, &self.desired] {
            let _ = g.remove_label_values(&[policy]);
        }
        for outcome in CLAIM_OUTCOMES {
            let _ = self.claims.remove_label_values(&[policy, outcome]);
        }
    }

    pub fn observe(&self, policy: &str, desired: u32, seen: &PoolObserved) {
        self.desired.with_label_values(&[policy]).set(f64::from(desired));
        self.ready.with_label_values(&[policy]).set(f64::from(seen.ready));
        self.creating
            .with_label_values(&[policy])
            .set(f64::from(seen.creating));
        self.claims
            .with_label_values(&[policy, "hit"])
            .inc_by(u64::from(seen.claims_hit));
        self.claims
            .with_label_values(&[policy, "miss"])
            .inc_by(u64::from(seen.claims_miss));
    }
}
