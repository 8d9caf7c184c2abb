//! metrics.k8s.io pod metrics for `resource` metrics: the target's pods
//! (through its scale subresource's selector, as the HPA finds them) and
//! their PodMetrics, classified by the pure [`classify`].

pub mod classify;
pub mod podmetrics;

use jiff::Timestamp as JiffTimestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use spillway_core::config::{ResourceMetric, TargetRef};
use spillway_core::metrics::PodMetric;
use spillway_core::time::Timestamp;

pub use classify::{HpaTimings, classify};
pub use podmetrics::PodMetrics;

use crate::error::SourceError;

/// Reads resource metrics through a kube client.
#[derive(Clone)]
pub struct ResourceSource {
    client: kube::Client,
    timings: HpaTimings,
}

impl ResourceSource {
    pub fn new(client: kube::Client, timings: HpaTimings) -> Self {
        ResourceSource { client, timings }
    }

    /// The target's pods, classified for `metric` at `at`.
    pub async fn read(
        &self,
        target: &TargetRef,
        metric: &ResourceMetric,
        at: Timestamp,
    ) -> Result<Vec<PodMetric>, SourceError> {
        if target.kind != "Deployment" {
            return Err(SourceError::Config(format!(
                "resource metrics support Deployment targets, not {}",
                target.kind
            )));
        }
        let ns = target.namespace.as_str();
        let scale = Api::<Deployment>::namespaced(self.client.clone(), ns)
            .get_scale(&target.name)
            .await
            .map_err(|e| kube_error(&format!("scale of deployment {ns}/{}", target.name), e))?;
        let selector = scale
            .status
            .and_then(|s| s.selector)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                SourceError::Kube(format!(
                    "deployment {ns}/{} has no selector in its scale status",
                    target.name
                ))
            })?;
        let lp = ListParams::default().labels(&selector);
        let pods_api = Api::<Pod>::namespaced(self.client.clone(), ns);
        let metrics_api = Api::<PodMetrics>::namespaced(self.client.clone(), ns);
        let (pods, metrics) = futures::try_join!(
            async {
                pods_api
                    .list(&lp)
                    .await
                    .map_err(|e| kube_error(&format!("pods {ns} {selector}"), e))
            },
            async {
                metrics_api
                    .list(&lp)
                    .await
                    .map_err(|e| kube_error(&format!("metrics.k8s.io pods {ns} {selector}"), e))
            },
        )?;
        let now = JiffTimestamp::from_millisecond(at.millis())
            .map_err(|e| SourceError::Config(format!("evaluation time {}: {e}", at.millis())))?;
        classify(
            &pods.items,
            &metrics.items,
            metric.name,
            metric.target_average_utilization.is_some(),
            now,
            &self.timings,
        )
    }
}

fn kube_error(what: &str, e: kube::Error) -> SourceError {
    match e {
        kube::Error::Api(status) => SourceError::Kube(format!(
            "{what}: {} {} ({})",
            status.code,
            status.reason,
            crate::error::snippet(&status.message, 200)
        )),
        other => SourceError::Kube(format!("{what}: {}", crate::error::chain(&other))),
    }
}

#[cfg(test)]
mod tests;
