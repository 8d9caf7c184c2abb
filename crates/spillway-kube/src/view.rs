//! The `ClusterView` seam (DESIGN.md §9): everything the controller reads
//! from and writes to the cluster. [`KubeClusterView`] is the kube-rs
//! implementation; the simulator provides its own. Every write checks the
//! [`LeaderGate`] first.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::PodTemplateSpec, discovery::v1::EndpointSlice};
use kube::{Api, Client};
use spillway_core::{config::TargetRef, snapshot::WorkloadStatus};
use tracing::{Instrument, info_span};

use crate::{
    endpoints::{self, BurstEndpoint, SliceError},
    events::{EventSink, Notice, Published, object_ref},
    lease::LeaderGate,
    reflectors::{Readiness, Stores},
    refs::{self, RefError, ResolvedRefs},
    scale::{self, ScaleError, ScaleOutcome},
    snapshot::{ClusterBuild, Disabled, SnapshotBuilder, resolve_target, workload_status},
};

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("not the leader: no writes")]
    NotLeader,
    #[error("policy disabled: {0}")]
    Disabled(#[from] Disabled),
    #[error("service {namespace}/{name} does not exist")]
    ServiceMissing { namespace: String, name: String },
    #[error(transparent)]
    Slice(#[from] SliceError),
    #[error(transparent)]
    Scale(ScaleError),
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error(transparent)]
    Refs(#[from] RefError),
}

impl ViewError {
    /// A short, stable label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ViewError::NotLeader => "not_leader",
            ViewError::Disabled(d) => d.label(),
            ViewError::ServiceMissing { .. } => "service_missing",
            ViewError::Slice(_) => "slice",
            ViewError::Scale(e) => e.label(),
            ViewError::Kube(e) => crate::error_label(e),
            ViewError::Refs(RefError::Missing { .. }) => "ref_missing",
            ViewError::Refs(RefError::Api { source, .. }) => crate::error_label(source),
        }
    }
}

impl From<ScaleError> for ViewError {
    fn from(e: ScaleError) -> Self {
        match e {
            ScaleError::NotLeader => ViewError::NotLeader,
            other => ViewError::Scale(other),
        }
    }
}

/// What a publish did; `skipped` lists ports or endpoints left out, with reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointsOutcome {
    pub slice: String,
    pub endpoints: usize,
    pub skipped: Vec<String>,
}

/// Reads and writes of the cluster, for the controller loop.
pub trait ClusterView: Send + Sync {
    /// All initial lists are synced; planning before would see an empty cluster.
    fn ready(&self) -> bool;
    /// The nodes and bound pods, shared by every policy this tick.
    fn snapshot(&self) -> ClusterBuild;
    /// The target's replicas, pods by state and template, or why the policy is disabled.
    fn workload(&self, target: &TargetRef) -> Result<WorkloadStatus, Disabled>;
    /// The target's full pod template, to translate into a container group.
    fn pod_template(&self, target: &TargetRef) -> Result<PodTemplateSpec, Disabled>;
    /// The Secrets and ConfigMaps the template references, read on demand.
    fn resolve_refs<'a>(
        &'a self,
        namespace: &'a str,
        template: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<ResolvedRefs, ViewError>>;
    /// Sets the target's replicas if they differ (leader only).
    fn scale<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<ScaleOutcome, ViewError>>;
    /// Publishes the policy's EndpointSlice for `service` (leader only).
    fn publish_endpoints<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        service: &'a str,
        endpoints: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<EndpointsOutcome, ViewError>>;
    /// Removes the policy's EndpointSlice (leader only); false if there was none.
    fn remove_endpoints<'a>(
        &'a self,
        policy: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<bool, ViewError>>;
    /// Publishes decision Events on the target, rate-limited per (policy, reason).
    fn record<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        notices: &'a [Notice],
    ) -> BoxFuture<'a, Result<Vec<Published>, ViewError>>;
}

/// The kube-rs implementation over reflector stores.
pub struct KubeClusterView {
    client: Client,
    stores: Stores,
    readiness: Readiness,
    gate: LeaderGate,
    events: Arc<EventSink>,
    builder: Mutex<SnapshotBuilder>,
}

impl KubeClusterView {
    pub fn new(
        client: Client,
        stores: Stores,
        readiness: Readiness,
        gate: LeaderGate,
        events: Arc<EventSink>,
    ) -> Self {
        KubeClusterView {
            client,
            stores,
            readiness,
            gate,
            events,
            builder: Mutex::new(SnapshotBuilder::new()),
        }
    }

    fn deployment(&self, target: &TargetRef) -> Result<Arc<Deployment>, Disabled> {
        let deployments = self.stores.deployments.state();
        let hpas = self.stores.hpas.state();
        let d = resolve_target(target, &deployments, &hpas)?;
        Ok(Arc::new(d.clone()))
    }
}

impl ClusterView for KubeClusterView {
    fn ready(&self) -> bool {
        self.readiness.is_ready()
    }

    fn snapshot(&self) -> ClusterBuild {
        let nodes = self.stores.nodes.state();
        let pods = self.stores.pods.state();
        match self.builder.lock() {
            Ok(mut b) => b.build(&nodes, &pods),
            Err(poisoned) => poisoned.into_inner().build(&nodes, &pods),
        }
    }

    fn workload(&self, target: &TargetRef) -> Result<WorkloadStatus, Disabled> {
        let d = self.deployment(target)?;
        workload_status(&d, &self.stores.pods.state())
    }

    fn pod_template(&self, target: &TargetRef) -> Result<PodTemplateSpec, Disabled> {
        let d = self.deployment(target)?;
        Ok(d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default())
    }

    fn resolve_refs<'a>(
        &'a self,
        namespace: &'a str,
        template: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<ResolvedRefs, ViewError>> {
        Box::pin(async move {
            let Some(spec) = template.spec.as_ref() else {
                return Ok(ResolvedRefs::default());
            };
            Ok(refs::resolve(&self.client, namespace, &refs::template_refs(spec)).await?)
        })
    }

    fn scale<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<ScaleOutcome, ViewError>> {
        Box::pin(
            async move {
                if !self.gate.is_leader() {
                    return Err(ViewError::NotLeader);
                }
                let api: Api<Deployment> = Api::namespaced(self.client.clone(), &target.namespace);
                Ok(scale::scale_to(&api, &target.name, replicas).await?)
            }
            .instrument(info_span!("scale", policy = policy, replicas)),
        )
    }

    fn publish_endpoints<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        service: &'a str,
        eps: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<EndpointsOutcome, ViewError>> {
        Box::pin(
            async move {
                if !self.gate.is_leader() {
                    return Err(ViewError::NotLeader);
                }
                let svc = self
                    .stores
                    .services
                    .state()
                    .into_iter()
                    .find(|s| {
                        s.metadata.namespace.as_deref() == Some(target.namespace.as_str())
                            && s.metadata.name.as_deref() == Some(service)
                    })
                    .ok_or_else(|| ViewError::ServiceMissing {
                        namespace: target.namespace.clone(),
                        name: service.to_string(),
                    })?;
                let named = self
                    .deployment(target)
                    .ok()
                    .and_then(|d| d.spec.as_ref().map(|s| crate::convert::named_ports(&s.template)))
                    .unwrap_or_default();
                let body = endpoints::build_slice(policy, &svc, &named, eps)?;
                let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &target.namespace);
                endpoints::apply(&api, &body.slice).await?;
                Ok(EndpointsOutcome {
                    slice: body.slice.metadata.name.clone().unwrap_or_default(),
                    endpoints: body.slice.endpoints.len(),
                    skipped: body.skipped,
                })
            }
            .instrument(info_span!("endpoints", policy = policy)),
        )
    }

    fn remove_endpoints<'a>(
        &'a self,
        policy: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<bool, ViewError>> {
        Box::pin(
            async move {
                if !self.gate.is_leader() {
                    return Err(ViewError::NotLeader);
                }
                let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), namespace);
                Ok(endpoints::remove(&api, &endpoints::slice_name(policy)).await?)
            }
            .instrument(info_span!("endpoints_remove", policy = policy)),
        )
    }

    fn record<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        notices: &'a [Notice],
    ) -> BoxFuture<'a, Result<Vec<Published>, ViewError>> {
        Box::pin(
            async move {
                let uid = self.deployment(target).ok().and_then(|d| d.metadata.uid.clone());
                let regarding = object_ref(
                    "apps/v1",
                    "Deployment",
                    &target.namespace,
                    &target.name,
                    uid.as_deref(),
                );
                let mut out = Vec::with_capacity(notices.len());
                for n in notices {
                    out.push(self.events.publish(policy, &regarding, n).await?);
                }
                Ok(out)
            }
            .instrument(info_span!("events", policy = policy)),
        )
    }
}
