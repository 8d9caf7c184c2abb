//! Metric readings as the planner consumes them, produced by `spillway-metrics`
//! (or the simulator). A reading that could not be taken is `Missing`, never 0.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One resource-metric pod, classified as the HPA does.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetric {
    /// Usage in the resource's unit (millicores, bytes); `None` when metrics.k8s.io has none for it.
    pub usage: Option<f64>,
    /// The pod's request for the resource, same unit.
    pub request: f64,
    /// Not in the HPA's unready set (groupPods): `false` for Pending pods and,
    /// for CPU, pods still initializing or never Ready. Unready pods are
    /// ignored on scale-down and counted as 0 on scale-up. A Running pod
    /// without metrics is `usage: None, ready: true` (missing), whatever its
    /// Ready condition, because the HPA checks for metrics first.
    pub ready: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum MetricReading {
    /// A single number: a Prometheus query result (summed if the policy allows).
    Value { value: f64 },
    /// Per-pod resource usage from metrics.k8s.io.
    Pods { pods: Vec<PodMetric> },
    /// The source could not answer; `reason` says why (timeout, empty result, NaN, ...).
    Missing { reason: String },
}

/// The reading of the policy's `metrics[index]` at `observed_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSample {
    pub index: usize,
    pub reading: MetricReading,
    pub observed_at: Timestamp,
}

impl MetricSample {
    pub fn value(index: usize, value: f64, observed_at: Timestamp) -> Self {
        MetricSample {
            index,
            reading: MetricReading::Value { value },
            observed_at,
        }
    }
    pub fn missing(index: usize, reason: impl Into<String>, observed_at: Timestamp) -> Self {
        MetricSample {
            index,
            reading: MetricReading::Missing {
                reason: reason.into(),
            },
            observed_at,
        }
    }
}
