//! `vmOverflow: auto`: per tick, whether replicas beyond what the VM nodes
//! hold now should wait for new nodes (`pending`) or stay on ACI (`cap`),
//! by what each costs over the overflow's expected remaining duration.
//!
//! A replica on a new node costs the node's slot price for the overflow's
//! remaining time *plus* the node's overhead (boot, and the autoscaler's
//! scale-down-unneeded-time after the overflow ends); on ACI it costs the
//! ACI price for the remaining time only. With `v` and `a` the hourly VM
//! slot and ACI replica prices and `O` the overhead, a new node pays off when
//! the remaining time `T` exceeds `O·v / (a − v)`; never when `a ≤ v`. `T`
//! is unknown: it is estimated as the overflow's age so far (an overflow
//! that has lasted an hour is expected to last about another hour; a fresh
//! spike is expected to be short), the Lindy estimate of a duration.

use std::time::Duration;

use crate::config::{Pricing, VmOverflow};
use crate::snapshot::{ClusterSnapshot, PodTemplate};

use super::{Reason, ReasonCode};

pub const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";

/// The hourly price of one replica's slot on the cheapest priced node class
/// the template fits; `None` when no node in the snapshot is priced.
pub fn vm_replica_hourly(
    cluster: &ClusterSnapshot,
    template: &PodTemplate,
    pricing: &Pricing,
) -> Option<f64> {
    if pricing.vm.is_empty() {
        return None;
    }
    let r = &template.requests;
    cluster
        .class_representatives()
        .iter()
        .filter_map(|&i| cluster.nodes().get(i))
        .filter_map(|u| {
            let node = &u.node;
            let instance = node.labels.get(INSTANCE_TYPE_LABEL);
            let price = pricing
                .vm
                .iter()
                .find(|p| p.instance_type.is_some() && p.instance_type.as_ref() == instance)
                .or_else(|| pricing.vm.iter().find(|p| p.instance_type.is_none()))?;
            let per = |alloc: i64, req: i64| if req > 0 { alloc / req } else { i64::MAX };
            let slots = per(node.allocatable.cpu_millis, r.cpu_millis)
                .min(per(node.allocatable.memory_bytes, r.memory_bytes))
                .min(node.allocatable_pods.max(0));
            (slots >= 1).then(|| price.effective_hourly() / slots as f64)
        })
        .min_by(f64::total_cmp)
}

/// Why `auto` chose what it did; a [`Reason`] only when asked for (the
/// planner reports it only while replicas overflow, and formatting prices
/// every tick is a measurable part of a simulated tick).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlacementWhy {
    /// No `pricing.vm` entry prices the nodes.
    Unpriced,
    /// ACI costs no more per replica than a VM slot.
    AciCheaper { aci: f64, vm: f64 },
    /// The overflow has outlasted the break-even age of a new node.
    NodePaysOff {
        age: Duration,
        break_even: Duration,
        aci: f64,
        vm: f64,
    },
    /// The overflow is younger than the break-even age.
    NotYet {
        age: Duration,
        break_even: Duration,
        aci: f64,
        vm: f64,
    },
}

impl PlacementWhy {
    pub fn reason(&self) -> Reason {
        let (code, message) = match *self {
            PlacementWhy::Unpriced => (
                ReasonCode::PlacementVm,
                "vmOverflow auto: no node is priced (pricing.vm), so overflow waits for new nodes as with pending".to_string(),
            ),
            PlacementWhy::AciCheaper { aci, vm } => (
                ReasonCode::PlacementAci,
                format!(
                    "vmOverflow auto: ACI {aci:.4}/h per replica is not dearer than a VM slot {vm:.4}/h: the overflow stays on ACI"
                ),
            ),
            PlacementWhy::NodePaysOff { age, break_even, aci, vm } => (
                ReasonCode::PlacementVm,
                format!(
                    "vmOverflow auto: the overflow has lasted {}s, past the {}s after which a new node ({vm:.4}/h per slot) is cheaper than ACI ({aci:.4}/h)",
                    age.as_secs(),
                    break_even.as_secs()
                ),
            ),
            PlacementWhy::NotYet { age, break_even, aci, vm } => (
                ReasonCode::PlacementAci,
                format!(
                    "vmOverflow auto: the overflow is {}s old; a new node ({vm:.4}/h per slot) pays off only past {}s against ACI ({aci:.4}/h)",
                    age.as_secs(),
                    break_even.as_secs()
                ),
            ),
        };
        Reason { code, message }
    }
}

/// What `auto` chooses this tick, and why.
pub fn choose(
    aci_hourly: f64,
    vm_hourly: Option<f64>,
    overflow_age: Duration,
    pricing: &Pricing,
) -> (VmOverflow, PlacementWhy) {
    let Some(vm) = vm_hourly else {
        return (VmOverflow::Pending, PlacementWhy::Unpriced);
    };
    let aci = aci_hourly;
    if aci <= vm {
        return (VmOverflow::Cap, PlacementWhy::AciCheaper { aci, vm });
    }
    let overhead = pricing.vm_node_overhead.as_secs_f64();
    let break_even = Duration::from_secs_f64((overhead * vm / (aci - vm)).min(1e9));
    let age = overflow_age;
    if age >= break_even {
        (
            VmOverflow::Pending,
            PlacementWhy::NodePaysOff {
                age,
                break_even,
                aci,
                vm,
            },
        )
    } else {
        (
            VmOverflow::Cap,
            PlacementWhy::NotYet {
                age,
                break_even,
                aci,
                vm,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VmPrice;

    fn pricing(vm: f64) -> Pricing {
        Pricing {
            vm: vec![VmPrice {
                instance_type: None,
                price_per_hour: vm,
                discount: 0.0,
            }],
            ..Pricing::default()
        }
    }

    #[test]
    fn aci_cheaper_per_hour_always_stays_on_aci() {
        let (o, r) = choose(0.02, Some(0.03), Duration::from_secs(100 * 3600), &pricing(0.21));
        assert_eq!(o, VmOverflow::Cap);
        assert_eq!(r.reason().code, ReasonCode::PlacementAci);
    }

    #[test]
    fn a_new_node_pays_off_only_after_the_break_even_age() {
        // v = 0.02, a = 0.03, O = 15 min: break-even = 15 min × 0.02 / 0.01 = 30 min.
        let p = pricing(0.14);
        assert_eq!(
            choose(0.03, Some(0.02), Duration::from_secs(29 * 60), &p).0,
            VmOverflow::Cap
        );
        assert_eq!(
            choose(0.03, Some(0.02), Duration::from_secs(30 * 60), &p).0,
            VmOverflow::Pending
        );
    }

    #[test]
    fn unknown_vm_prices_act_as_pending() {
        let (o, r) = choose(0.03, None, Duration::ZERO, &Pricing::default());
        assert_eq!(o, VmOverflow::Pending);
        assert_eq!(r.reason().code, ReasonCode::PlacementVm);
    }
}
