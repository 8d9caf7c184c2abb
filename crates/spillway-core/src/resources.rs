//! Resource amounts in the units the Kubernetes scheduler compares.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// Requests or capacities: CPU in millicores, memory and ephemeral storage in
/// bytes, extended resources (`nvidia.com/gpu`, hugepages, ...) in whole units.
/// Conversions from [`Quantity`] round up, as the scheduler does for requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    pub ephemeral_storage_bytes: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extended: BTreeMap<String, i64>,
}

impl Resources {
    /// From a Kubernetes resource list (`{cpu: 500m, memory: 1Gi}`). Unknown
    /// names are extended resources. Values that do not fit are saturated.
    pub fn from_quantities<'a>(list: impl IntoIterator<Item = (&'a str, Quantity)>) -> Self {
        let mut r = Resources::default();
        for (name, q) in list {
            match name {
                "cpu" => r.cpu_millis = saturate(q.millis_ceil()),
                "memory" => r.memory_bytes = saturate(q.units_ceil()),
                "ephemeral-storage" => r.ephemeral_storage_bytes = saturate(q.units_ceil()),
                // `pods` is a node capacity, never a request; callers read it separately.
                "pods" => {}
                other => {
                    r.extended.insert(other.to_string(), saturate(q.units_ceil()));
                }
            }
        }
        r
    }

    pub fn cpu_cores(&self) -> f64 {
        self.cpu_millis as f64 / 1000.0
    }
    pub fn memory_gib(&self) -> f64 {
        self.memory_bytes as f64 / (1u64 << 30) as f64
    }

    /// `self += other`, saturating.
    pub fn add_assign(&mut self, other: &Resources) {
        self.cpu_millis = self.cpu_millis.saturating_add(other.cpu_millis);
        self.memory_bytes = self.memory_bytes.saturating_add(other.memory_bytes);
        self.ephemeral_storage_bytes = self
            .ephemeral_storage_bytes
            .saturating_add(other.ephemeral_storage_bytes);
        for (k, v) in &other.extended {
            let e = self.extended.entry(k.clone()).or_insert(0);
            *e = e.saturating_add(*v);
        }
    }

    /// Component-wise maximum, for the effective request of init containers.
    pub fn max_assign(&mut self, other: &Resources) {
        self.cpu_millis = self.cpu_millis.max(other.cpu_millis);
        self.memory_bytes = self.memory_bytes.max(other.memory_bytes);
        self.ephemeral_storage_bytes = self.ephemeral_storage_bytes.max(other.ephemeral_storage_bytes);
        for (k, v) in &other.extended {
            let e = self.extended.entry(k.clone()).or_insert(0);
            *e = (*e).max(*v);
        }
    }
}

fn saturate(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
