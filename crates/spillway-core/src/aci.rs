//! ACI facts the planner needs: per-group size limits, request granularity
//! and deterministic container-group names. (The wire format lives in
//! `spillway-aci`; this is only what a decision depends on.)

use serde::Serialize;

use crate::config::{AciPriority, BurstRequests};
use crate::resources::Resources;

pub const GB: i64 = 1_000_000_000;
const GIB: i64 = 1 << 30;

/// Per-container-group maxima (Microsoft Learn, "Resource availability &
/// quota limits for ACI": Standard 31 vCPU / 240 GB, Spot 4 vCPU / 16 GB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupLimits {
    pub max_cpu_millis: i64,
    pub max_memory_bytes: i64,
}

impl GroupLimits {
    pub fn for_priority(p: AciPriority) -> Self {
        match p {
            AciPriority::Regular => GroupLimits {
                max_cpu_millis: 31_000,
                max_memory_bytes: 240 * GB,
            },
            AciPriority::Spot => GroupLimits {
                max_cpu_millis: 4_000,
                max_memory_bytes: 16 * GB,
            },
        }
    }
}

/// What one container group requests, in ACI's units and granularity:
/// CPU in hundredths of a vCPU, memory in tenths of a GB (ACI's `memoryInGB`
/// is GiB-based in practice; we convert from bytes through GiB and round up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRequests {
    pub cpu_centi: i64,
    pub memory_deci_gb: i64,
}

impl GroupRequests {
    pub fn cpu(&self) -> f64 {
        self.cpu_centi as f64 / 100.0
    }
    pub fn memory_gb(&self) -> f64 {
        self.memory_deci_gb as f64 / 10.0
    }
    pub fn cpu_millis(&self) -> i64 {
        self.cpu_centi * 10
    }

    /// From the pod template's effective requests, rounded up to ACI
    /// granularity; a zero request becomes ACI's minimum (0.01 vCPU, 0.1 GB).
    pub fn from_template(r: &Resources) -> Self {
        let cpu_centi = ceil_div(r.cpu_millis.max(1), 10);
        let memory_deci_gb = ceil_div(r.memory_bytes.max(1).saturating_mul(10), GIB);
        GroupRequests {
            cpu_centi,
            memory_deci_gb,
        }
    }

    pub fn from_override(r: &BurstRequests) -> Self {
        let cpu_millis = i64::try_from(r.cpu.millis_ceil()).unwrap_or(i64::MAX);
        let mem_bytes = i64::try_from(r.memory.units_ceil()).unwrap_or(i64::MAX);
        GroupRequests::from_template(&Resources {
            cpu_millis,
            memory_bytes: mem_bytes,
            ..Resources::default()
        })
    }

    /// Why ACI cannot run a group this size, if it cannot.
    pub fn exceeds(&self, limits: GroupLimits) -> Option<String> {
        if self.cpu_millis() > limits.max_cpu_millis {
            return Some(format!(
                "{} vCPU exceeds the ACI per-group maximum of {} vCPU",
                self.cpu(),
                limits.max_cpu_millis / 1000
            ));
        }
        let max_deci_gb = limits.max_memory_bytes * 10 / GB;
        if self.memory_deci_gb > max_deci_gb {
            return Some(format!(
                "{} GB memory exceeds the ACI per-group maximum of {} GB",
                self.memory_gb(),
                limits.max_memory_bytes / GB
            ));
        }
        None
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// `{cluster}-{policy}-{ordinal}`: the same replica always gets the same
/// name, so a repeated PUT after a crash updates instead of duplicating.
/// Validation keeps both parts short, lowercase and free of `--`.
pub fn group_name(cluster_id: &str, policy: &str, ordinal: u32) -> String {
    format!("{cluster_id}-{policy}-{ordinal}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_aci_granularity() {
        let r = Resources {
            cpu_millis: 250,
            memory_bytes: 512 * 1024 * 1024,
            ..Default::default()
        };
        let g = GroupRequests::from_template(&r);
        assert_eq!((g.cpu_centi, g.memory_deci_gb), (25, 5));
        let r = Resources {
            cpu_millis: 1,
            memory_bytes: 1,
            ..Default::default()
        };
        let g = GroupRequests::from_template(&r);
        assert_eq!((g.cpu_centi, g.memory_deci_gb), (1, 1));
    }

    #[test]
    fn limits_by_priority() {
        let big = GroupRequests {
            cpu_centi: 800,
            memory_deci_gb: 320,
        };
        assert!(
            big.exceeds(GroupLimits::for_priority(AciPriority::Regular))
                .is_none()
        );
        assert!(
            big.exceeds(GroupLimits::for_priority(AciPriority::Spot))
                .is_some()
        );
    }
}
