//! A simulated cluster behind the same `ClusterView` the kube adapter
//! implements: `spillway-sim`'s world (nodes, pods, kube-scheduler, the
//! Deployment's ReplicaSet) advanced by the wall clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Container, ContainerPort, PodSpec, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use spillway_controller::{
    BurstEndpoint, ClusterBuild, ClusterView, Disabled, SeamError, TemplateRefs, Workload,
};
use spillway_core::config::TargetRef;
use spillway_core::plan::Plan;
use spillway_core::snapshot::PodTemplate;
use spillway_kube::events::plan_notices;
use spillway_sim::world::World;
use tracing::info;

/// The world and the instant it started, shared with the demo's metric source.
pub struct SimWorld {
    world: Mutex<World>,
    started: Instant,
    pub template: PodTemplate,
}

impl SimWorld {
    pub fn new(world: World, template: PodTemplate, started: Instant) -> Self {
        SimWorld {
            world: Mutex::new(world),
            started,
            template,
        }
    }

    /// Wall time since the demo started.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// The world, moved to now: due pods become Ready, pending pods are scheduled.
    pub fn now(&self) -> MutexGuard<'_, World> {
        let mut w = match self.world.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let t = i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX);
        if t > w.now {
            w.advance_to(t);
        }
        w.schedule();
        w
    }
}

pub struct SimCluster {
    pub world: Arc<SimWorld>,
    target: TargetRef,
    /// What the ACI groups' template is: the workload's requests, one container.
    k8s_template: Arc<PodTemplateSpec>,
    pub endpoints: Mutex<BTreeMap<String, Vec<BurstEndpoint>>>,
}

impl SimCluster {
    pub fn new(world: Arc<SimWorld>, target: TargetRef) -> Self {
        let r = &world.template.requests;
        let requests = BTreeMap::from([
            ("cpu".to_string(), K8sQuantity(format!("{}m", r.cpu_millis))),
            ("memory".to_string(), K8sQuantity(r.memory_bytes.to_string())),
        ]);
        let k8s_template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_string(), target.name.clone())])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "web".into(),
                    image: Some("mcr.microsoft.com/azuredocs/aci-helloworld:latest".into()),
                    ports: Some(vec![ContainerPort {
                        container_port: 80,
                        ..ContainerPort::default()
                    }]),
                    resources: Some(ResourceRequirements {
                        requests: Some(requests),
                        ..ResourceRequirements::default()
                    }),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        };
        SimCluster {
            world,
            target,
            k8s_template: Arc::new(k8s_template),
            endpoints: Mutex::new(BTreeMap::new()),
        }
    }

    fn check(&self, target: &TargetRef) -> Result<(), Disabled> {
        if *target == self.target {
            Ok(())
        } else {
            Err(Disabled::TargetMissing {
                kind: target.kind.clone(),
                namespace: target.namespace.clone(),
                name: target.name.clone(),
            })
        }
    }
}

impl ClusterView for SimCluster {
    type Template = PodTemplateSpec;

    fn ready(&self) -> bool {
        true
    }

    fn snapshot(&self) -> ClusterBuild {
        let template = self.world.template.clone();
        let mut w = self.world.now();
        ClusterBuild {
            snapshot: Arc::new(w.nodes.snapshot(&template)),
            skipped: Vec::new(),
        }
    }

    fn workload(&self, target: &TargetRef) -> Result<Workload<PodTemplateSpec>, Disabled> {
        self.check(target)?;
        Ok(Workload {
            status: self.world.now().pods.status_shared(),
            template: self.k8s_template.clone(),
        })
    }

    fn resolve_refs<'a>(
        &'a self,
        _namespace: &'a str,
        _template: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<TemplateRefs, SeamError>> {
        Box::pin(async { Ok(TemplateRefs::default()) })
    }

    fn scale<'a>(
        &'a self,
        _policy: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            self.check(target).map_err(|e| SeamError::new(e.label(), e))?;
            let mut w = self.world.now();
            if w.pods.spec_replicas() != replicas {
                w.set_replicas(replicas);
                w.schedule();
            }
            Ok(())
        })
    }

    fn publish_endpoints<'a>(
        &'a self,
        policy: &'a str,
        _target: &'a TargetRef,
        _service: &'a str,
        endpoints: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            if let Ok(mut m) = self.endpoints.lock() {
                m.insert(policy.to_string(), endpoints.to_vec());
            }
            Ok(())
        })
    }

    fn remove_endpoints<'a>(
        &'a self,
        policy: &'a str,
        _namespace: &'a str,
    ) -> BoxFuture<'a, Result<bool, SeamError>> {
        Box::pin(async move {
            Ok(self
                .endpoints
                .lock()
                .map(|mut m| m.remove(policy).is_some())
                .unwrap_or(false))
        })
    }

    fn record<'a>(
        &'a self,
        policy: &'a str,
        _target: &'a TargetRef,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            for n in plan_notices(plan) {
                info!(policy, reason = %n.reason, note = %n.note, "event");
            }
            Ok(())
        })
    }
}
