//! Money: ACI per replica-hour from requests and per-second prices, VM per node-hour.

use crate::aci::GroupRequests;
use crate::config::Pricing;

const SECONDS_PER_HOUR: f64 = 3600.0;

/// Hourly price of one container group of this size.
pub fn aci_replica_hourly(requests: &GroupRequests, pricing: &Pricing) -> f64 {
    (requests.cpu() * pricing.aci_vcpu_second + requests.memory_gb() * pricing.aci_gb_second)
        * SECONDS_PER_HOUR
}

/// Cost of one container group running for `seconds`.
pub fn aci_replica_cost(requests: &GroupRequests, pricing: &Pricing, seconds: f64) -> f64 {
    aci_replica_hourly(requests, pricing) * seconds / SECONDS_PER_HOUR
}

/// Cost of `nodes` VMs at `price_per_node_hour` for `seconds`.
pub fn vm_cost(nodes: f64, price_per_node_hour: f64, seconds: f64) -> f64 {
    nodes * price_per_node_hour * seconds / SECONDS_PER_HOUR
}

/// How many replicas fit under an hourly budget; `None` when unbounded.
pub fn replicas_within_budget(max_hourly_cost: Option<f64>, replica_hourly: f64) -> Option<u32> {
    let budget = max_hourly_cost?;
    if replica_hourly <= 0.0 {
        return None;
    }
    // A hair of slack so that budget = n × price exactly admits n despite float rounding.
    let n = (budget / replica_hourly * (1.0 + 1e-12)).floor();
    Some(if n >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        n.max(0.0) as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_price_of_one_vcpu_two_gb() {
        let p = Pricing {
            aci_vcpu_second: 0.0000113,
            aci_gb_second: 0.0000012,
            currency: "USD".into(),
            ..Pricing::default()
        };
        let r = GroupRequests {
            cpu_centi: 100,
            memory_deci_gb: 20,
        };
        let h = aci_replica_hourly(&r, &p);
        assert!((h - (0.0000113 + 2.0 * 0.0000012) * 3600.0).abs() < 1e-12);
        assert_eq!(replicas_within_budget(Some(h * 3.0), h), Some(3));
        assert_eq!(replicas_within_budget(Some(h * 2.99), h), Some(2));
        assert_eq!(replicas_within_budget(None, h), None);
    }
}
