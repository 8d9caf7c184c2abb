//! Pure HPA classification of pods for a resource metric, after
//! k8s.io/kubernetes pkg/controller/podautoscaler (`groupPods`,
//! `calculatePodRequests`, and the metrics client's `getResourceMetrics`):
//!
//! * deleted and Failed pods are ignored;
//! * Pending pods are unready (`ready: false`) and carry no usage;
//! * a pod without PodMetrics, with no containers in them, or with a
//!   container lacking the resource is missing (`usage: None`);
//! * for CPU, a pod is unready when it has no Ready condition or start time,
//!   when within `cpuInitializationPeriod` it is not Ready or its sample's
//!   window began before it became Ready, or, after that period, when it is
//!   not Ready and has never been Ready (`delayOfInitialReadinessStatus`);
//! * a pod's request is the sum over its containers and restartable init
//!   containers (sidecars); a container without a request for the resource
//!   fails the whole reading when the target is a utilization.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Container, Pod};
use spillway_core::config::ResourceName;
use spillway_core::metrics::PodMetric;
use spillway_core::quantity::Quantity;

use super::podmetrics::{PodMetrics, parse_go_duration};
use crate::error::SourceError;

/// The HPA controller's timing flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HpaTimings {
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (default 5m).
    pub cpu_initialization_period: Duration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (default 30s).
    pub initial_readiness_delay: Duration,
}

impl Default for HpaTimings {
    fn default() -> Self {
        HpaTimings {
            cpu_initialization_period: Duration::from_secs(300),
            initial_readiness_delay: Duration::from_secs(30),
        }
    }
}

/// Classifies `pods` with their `metrics` for `resource` at `now`.
/// `need_requests`: the target is a utilization, so every pod needs a request.
pub fn classify(
    pods: &[Pod],
    metrics: &[PodMetrics],
    resource: ResourceName,
    need_requests: bool,
    now: Timestamp,
    timings: &HpaTimings,
) -> Result<Vec<PodMetric>, SourceError> {
    let by_name: HashMap<&str, &PodMetrics> = metrics
        .iter()
        .filter_map(|m| m.metadata.name.as_deref().map(|n| (n, m)))
        .collect();
    let mut out = Vec::with_capacity(pods.len());
    let mut live = 0usize;
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
        if pod.metadata.deletion_timestamp.is_some() || phase == "Failed" {
            continue;
        }
        live += 1;
        let request = pod_request(pod, resource, need_requests)?;
        if phase == "Pending" {
            out.push(PodMetric {
                usage: None,
                request,
                ready: false,
            });
            continue;
        }
        // groupPods checks for metrics before readiness: a Running pod
        // without them is missing (100 % of its request on a scale-down),
        // Ready or not, so it is not put in the unready set here.
        let Some(usage) = by_name.get(name).map(|m| pod_usage(m, resource)).transpose()? else {
            out.push(PodMetric {
                usage: None,
                request,
                ready: true,
            });
            continue;
        };
        let Some(usage) = usage else {
            // A container without the resource: the metrics client drops the pod.
            out.push(PodMetric {
                usage: None,
                request,
                ready: true,
            });
            continue;
        };
        let ready = match resource {
            ResourceName::Cpu => {
                let m = by_name.get(name).copied();
                !cpu_unready(pod, m, now, timings)
            }
            ResourceName::Memory => true,
        };
        out.push(PodMetric {
            usage: Some(usage),
            request,
            ready,
        });
    }
    if live == 0 {
        return Err(SourceError::NoPods);
    }
    Ok(out)
}

/// The Ready condition's status and last transition time.
fn ready_condition(pod: &Pod) -> Option<(&str, Option<Timestamp>)> {
    let conds = pod.status.as_ref()?.conditions.as_ref()?;
    let c = conds.iter().find(|c| c.type_ == "Ready")?;
    Some((c.status.as_str(), c.last_transition_time.as_ref().map(|t| t.0)))
}

/// `groupPods`' CPU readiness rule.
fn cpu_unready(pod: &Pod, metric: Option<&PodMetrics>, now: Timestamp, t: &HpaTimings) -> bool {
    let start = pod
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0);
    let (Some((status, transition)), Some(start)) = (ready_condition(pod), start) else {
        return true;
    };
    // Go's zero time for an unset transition: before everything.
    let transition = transition.unwrap_or(Timestamp::MIN);
    let not_ready = status == "False";
    if add(start, t.cpu_initialization_period) > now {
        let window = metric
            .and_then(|m| m.window.as_deref())
            .and_then(parse_go_duration)
            .unwrap_or(Duration::ZERO);
        let sampled = metric
            .and_then(|m| m.timestamp.as_ref())
            .map_or(Timestamp::MIN, |t| t.0);
        not_ready || sampled < add(transition, window)
    } else {
        not_ready && add(start, t.initial_readiness_delay) > transition
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Usage summed over the pod's containers; `None` when a container lacks the
/// resource or there are no containers.
fn pod_usage(m: &PodMetrics, resource: ResourceName) -> Result<Option<f64>, SourceError> {
    if m.containers.is_empty() {
        return Ok(None);
    }
    let key = resource_key(resource);
    let mut sum = 0.0;
    for c in &m.containers {
        let Some(q) = c.usage.get(key) else {
            return Ok(None);
        };
        let pod = m.metadata.name.as_deref().unwrap_or("");
        sum += amount(&q.0, resource, || {
            format!("usage of container {} of pod {pod}", c.name)
        })?;
    }
    Ok(Some(sum))
}

fn pod_request(pod: &Pod, resource: ResourceName, need: bool) -> Result<f64, SourceError> {
    let Some(spec) = &pod.spec else { return Ok(0.0) };
    let key = resource_key(resource);
    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"));
    let containers: Vec<&Container> = spec.containers.iter().chain(sidecars).collect();
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    let mut sum = 0.0;
    for c in containers {
        let request = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get(key));
        match request {
            Some(q) => {
                sum += amount(&q.0, resource, || {
                    format!("request of container {} of pod {pod_name}", c.name)
                })?
            }
            None if need => {
                return Err(SourceError::MissingRequest {
                    resource: key.to_string(),
                    container: c.name.clone(),
                    pod: pod_name.to_string(),
                });
            }
            None => {}
        }
    }
    Ok(sum)
}

/// CPU in millicores (rounded up, as `MilliValue()`), memory in bytes.
fn amount(raw: &str, resource: ResourceName, what: impl Fn() -> String) -> Result<f64, SourceError> {
    let q = Quantity::parse(raw).map_err(|e| SourceError::Malformed(format!("{}: {e}", what())))?;
    Ok(match resource {
        ResourceName::Cpu => q.millis_ceil() as f64,
        ResourceName::Memory => q.as_f64(),
    })
}

fn resource_key(resource: ResourceName) -> &'static str {
    match resource {
        ResourceName::Cpu => "cpu",
        ResourceName::Memory => "memory",
    }
}

#[cfg(test)]
mod tests;
