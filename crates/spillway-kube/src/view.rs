//! The kube-rs implementation of the controller's `ClusterView` seam
//! (`spillway_controller::ClusterView`, docs/architecture.md). Its inherent
//! methods keep the Kubernetes-typed results (tests and `spillway plan` use
//! them); the trait impl maps them onto the seam's neutral types. Every
//! write checks the [`LeaderGate`] first.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use k8s_openapi::api::{apps::v1::Deployment, core::v1::PodTemplateSpec, discovery::v1::EndpointSlice};
use kube::{Api, Client};
use spillway_controller::{SeamError, TemplateRefs, Workload};
use spillway_core::{config::TargetRef, plan::Plan, snapshot::WorkloadStatus};
use tracing::{Instrument, info_span};

use crate::{
    endpoints::{self, BurstEndpoint, SliceError},
    events::{EventSink, Notice, Published, object_ref, plan_notices},
    lease::LeaderGate,
    reflectors::{Readiness, Stores},
    refs::{self, RefError},
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
    /// Every value [`ViewError::label`] returns (with the Kubernetes API
    /// error kinds of [`crate::error_label`]), so that the controller's error
    /// counters can start at 0 for each.
    pub const LABELS: &'static [&'static str] = &[
        "not_leader",
        "target_missing",
        "unsupported_kind",
        "scaled_by_hpa",
        "no_selector",
        "template",
        "service_missing",
        "slice",
        "conflict",
        "ref_missing",
        "unauthorized",
        "forbidden",
        "not_found",
        "gone",
        "invalid",
        "throttled",
        "server_error",
        "api_error",
        "transport",
        "other",
    ];

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

impl KubeClusterView {
    pub fn ready(&self) -> bool {
        self.readiness.is_ready()
    }

    pub fn snapshot(&self) -> ClusterBuild {
        let nodes = self.stores.nodes.state();
        let pods = self.stores.pods.state();
        match self.builder.lock() {
            Ok(mut b) => b.build(&nodes, &pods),
            Err(poisoned) => poisoned.into_inner().build(&nodes, &pods),
        }
    }

    pub fn workload(&self, target: &TargetRef) -> Result<WorkloadStatus, Disabled> {
        let d = self.deployment(target)?;
        workload_status(&d, &self.stores.pods.state())
    }

    pub fn pod_template(&self, target: &TargetRef) -> Result<PodTemplateSpec, Disabled> {
        let d = self.deployment(target)?;
        Ok(d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default())
    }

    pub fn resolve_refs<'a>(
        &'a self,
        namespace: &'a str,
        template: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<TemplateRefs, ViewError>> {
        Box::pin(async move {
            let Some(spec) = template.spec.as_ref() else {
                return Ok(TemplateRefs::default());
            };
            Ok(refs::resolve(&self.client, namespace, &refs::template_refs(spec)).await?)
        })
    }

    pub fn scale<'a>(
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

    pub fn publish_endpoints<'a>(
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

    pub fn remove_endpoints<'a>(
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

    pub fn record<'a>(
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

fn seam(e: ViewError) -> SeamError {
    match e {
        ViewError::NotLeader => SeamError::not_leader(),
        other => SeamError::new(other.label(), other),
    }
}

impl spillway_controller::ClusterView for KubeClusterView {
    type Template = PodTemplateSpec;

    fn ready(&self) -> bool {
        KubeClusterView::ready(self)
    }

    fn snapshot(&self) -> spillway_controller::ClusterBuild {
        let b = KubeClusterView::snapshot(self);
        spillway_controller::ClusterBuild {
            snapshot: b.snapshot,
            skipped: b
                .skipped
                .iter()
                .map(|s| format!("{}: {}", s.object, s.reason))
                .collect(),
        }
    }

    fn workload(&self, target: &TargetRef) -> Result<Workload<PodTemplateSpec>, Disabled> {
        // One Deployment read for both, so the template matches the hash.
        let d = self.deployment(target)?;
        let status = workload_status(&d, &self.stores.pods.state())?;
        let template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
        Ok(Workload {
            status: Arc::new(status),
            template: Arc::new(template),
        })
    }

    /// From the Service reflector (cluster-wide list/watch the controller
    /// already has for EndpointSlices): no extra read, no extra RBAC.
    fn service_cluster_ip(&self, namespace: &str, name: &str) -> Option<String> {
        self.stores
            .services
            .state()
            .into_iter()
            .find(|s| {
                s.metadata.namespace.as_deref() == Some(namespace) && s.metadata.name.as_deref() == Some(name)
            })
            .and_then(|s| s.spec.as_ref()?.cluster_ip.clone())
            .filter(|ip| !ip.is_empty() && ip != "None")
    }

    fn resolve_refs<'a>(
        &'a self,
        namespace: &'a str,
        template: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<TemplateRefs, SeamError>> {
        Box::pin(async move {
            KubeClusterView::resolve_refs(self, namespace, template)
                .await
                .map_err(seam)
        })
    }

    fn scale<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            KubeClusterView::scale(self, policy, target, replicas)
                .await
                .map(|_| ())
                .map_err(seam)
        })
    }

    fn publish_endpoints<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        service: &'a str,
        endpoints: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            KubeClusterView::publish_endpoints(self, policy, target, service, endpoints)
                .await
                .map(|_| ())
                .map_err(seam)
        })
    }

    fn remove_endpoints<'a>(
        &'a self,
        policy: &'a str,
        namespace: &'a str,
    ) -> BoxFuture<'a, Result<bool, SeamError>> {
        Box::pin(async move {
            KubeClusterView::remove_endpoints(self, policy, namespace)
                .await
                .map_err(seam)
        })
    }

    fn record<'a>(
        &'a self,
        policy: &'a str,
        target: &'a TargetRef,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            let notices = plan_notices(plan);
            if notices.is_empty() {
                return Ok(());
            }
            KubeClusterView::record(self, policy, target, &notices)
                .await
                .map(|_| ())
                .map_err(seam)
        })
    }
}
