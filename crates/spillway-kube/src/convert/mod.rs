//! Pure conversions from Kubernetes objects to what `spillway_core` plans
//! with. No I/O; every quantity goes through `spillway_core::quantity`
//! (exact, never floating point). Bad input is a typed error the caller
//! reports as a skip reason, never a panic.

mod node;
mod pod;
mod template;

pub use node::node_info;
pub(crate) use pod::effective_requests_of;
pub use pod::{bound_pod, effective_requests, is_terminal, vm_pod};
pub use template::{named_ports, pod_template, template_hash};

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use spillway_core::{
    quantity::{Quantity, QuantityError},
    resources::Resources,
};

/// Why an object could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("{field}: {source}")]
    Quantity {
        field: String,
        #[source]
        source: QuantityError,
    },
    #[error("node has no status.allocatable")]
    NoAllocatable,
    #[error("object has no {0}")]
    Missing(&'static str),
    #[error("{field}: unsupported value {value:?}")]
    Unsupported { field: String, value: String },
}

impl ConvertError {
    /// A short, stable label for metrics and skip counters.
    pub fn label(&self) -> &'static str {
        match self {
            ConvertError::Quantity { .. } => "malformed_quantity",
            ConvertError::NoAllocatable => "no_allocatable",
            ConvertError::Missing(_) => "missing_field",
            ConvertError::Unsupported { .. } => "unsupported_value",
        }
    }
}

/// A Kubernetes resource list (`requests`, `allocatable`, `overhead`).
pub(crate) type ResourceList = BTreeMap<String, K8sQuantity>;

/// A Kubernetes resource list as exact [`Resources`].
pub(crate) fn resources(list: Option<&ResourceList>, field: &str) -> Result<Resources, ConvertError> {
    let Some(list) = list else {
        return Ok(Resources::default());
    };
    let mut parsed = Vec::with_capacity(list.len());
    for (name, q) in list {
        let value = Quantity::parse(&q.0).map_err(|source| ConvertError::Quantity {
            field: format!("{field}.{name}"),
            source,
        })?;
        parsed.push((name.as_str(), value));
    }
    Ok(Resources::from_quantities(parsed))
}
