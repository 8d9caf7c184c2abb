//! Live reload: a changed `azure` section (the ARM endpoint, rate limits)
//! rebuilds the burst backend and a changed `metricSources` section the
//! metric sources, without a restart; `/status` shows the generation each
//! part runs; policy-level changes restart only their policy. Paused tokio
//! time: minutes of ticking in milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use spillway_controller::clock::tokio_clock;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{
    BurstBackend, BurstEndpoint, ClusterBuild, ClusterView, Controller, ControllerOptions, CreateRequest,
    Disabled, LeaderGate, ListedGroup, MetricRequest, MetricSource, Parts, Rebuild, SeamError, TemplateRefs,
    Workload,
};
use spillway_core::burst::{BurstHeadroom, BurstReplica, BurstState};
use spillway_core::config::{self, AciPriority, LoadedConfig, TargetRef};
use spillway_core::metrics::MetricReading;
use spillway_core::plan::Plan;
use spillway_core::resources::Resources;
use spillway_core::snapshot::{PodTemplate, VmPod, VmPodState, WorkloadStatus};
use spillway_core::time::Timestamp;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Two ready VM pods and no room on any node: everything more bursts.
struct FullCluster {
    spec_replicas: Mutex<u32>,
    /// ClusterIP of `kube-system/kube-dns`, if the cluster has one.
    dns_ip: Mutex<Option<String>>,
}

fn full_cluster() -> Arc<FullCluster> {
    Arc::new(FullCluster {
        spec_replicas: Mutex::new(2),
        dns_ip: Mutex::new(None),
    })
}

impl ClusterView for FullCluster {
    type Template = ();
    fn ready(&self) -> bool {
        true
    }
    fn snapshot(&self) -> ClusterBuild {
        ClusterBuild::default()
    }
    fn workload(&self, _: &TargetRef) -> Result<Workload<()>, Disabled> {
        let pod = |i: u32| VmPod {
            name: format!("web-{i}"),
            state: VmPodState::Ready,
            created_at: Timestamp::from_secs(0),
        };
        Ok(Workload {
            status: Arc::new(WorkloadStatus {
                spec_replicas: *self.spec_replicas.lock().unwrap(),
                pods: vec![pod(0), pod(1)],
                template: PodTemplate {
                    namespace: "shop".into(),
                    requests: Resources {
                        cpu_millis: 500,
                        memory_bytes: 512 << 20,
                        ..Resources::default()
                    },
                    hash: "v1".into(),
                    ..PodTemplate::default()
                },
            }),
            template: Arc::new(()),
        })
    }
    fn service_cluster_ip(&self, namespace: &str, name: &str) -> Option<String> {
        (namespace == "kube-system" && name == "kube-dns")
            .then(|| self.dns_ip.lock().unwrap().clone())
            .flatten()
    }
    fn resolve_refs<'a>(&'a self, _: &'a str, _: &'a ()) -> BoxFuture<'a, Result<TemplateRefs, SeamError>> {
        Box::pin(async { Ok(TemplateRefs::default()) })
    }
    fn scale<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            *self.spec_replicas.lock().unwrap() = replicas;
            Ok(())
        })
    }
    fn publish_endpoints<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        _: &'a str,
        _: &'a [BurstEndpoint],
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async { Ok(()) })
    }
    fn remove_endpoints<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, SeamError>> {
        Box::pin(async { Ok(false) })
    }
    fn record<'a>(
        &'a self,
        _: &'a str,
        _: &'a TargetRef,
        _: &'a Plan,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async { Ok(()) })
    }
}

/// One ARM endpoint: its groups (Ready at once) and every write it received.
#[derive(Default)]
struct Endpoint {
    groups: Mutex<BTreeMap<String, BurstReplica>>,
    writes: AtomicU64,
    /// The name server each create carried (`burst.dns`).
    name_servers: Mutex<Vec<Option<String>>>,
}

impl BurstBackend<()> for Endpoint {
    fn list<'a>(
        &'a self,
        _: &'a str,
        _: Timestamp,
    ) -> BoxFuture<'a, Result<Arc<Vec<ListedGroup>>, SeamError>> {
        Box::pin(async move {
            Ok(self
                .groups
                .lock()
                .unwrap()
                .values()
                .map(|r| ListedGroup {
                    policy: Some("web".into()),
                    replica: r.clone(),
                    ip: Some(format!("10.0.0.{}", r.ordinal)),
                })
                .collect::<Vec<_>>()
                .into())
        })
    }
    fn create<'a>(&'a self, req: CreateRequest<'a, ()>) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.name_servers
                .lock()
                .unwrap()
                .push(req.dns.map(|d| d.name_server.clone()));
            self.groups.lock().unwrap().insert(
                req.group.name.clone(),
                BurstReplica {
                    name: req.group.name.clone(),
                    ordinal: req.group.ordinal,
                    template_hash: req.group.template_hash.clone(),
                    location: req.group.location.clone(),
                    state: BurstState::Ready,
                    created_at: Timestamp::from_secs(0),
                    zone: req.group.zone.clone(),
                },
            );
            Ok(())
        })
    }
    fn delete<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.groups.lock().unwrap().remove(name);
            Ok(())
        })
    }
    fn headroom<'a>(&'a self, _: &'a str, _: AciPriority) -> BoxFuture<'a, BurstHeadroom> {
        Box::pin(async { BurstHeadroom::default() })
    }
}

/// One Prometheus: a fixed value, and how often it was read.
struct Prometheus {
    value: f64,
    reads: AtomicU64,
}

impl MetricSource for Prometheus {
    fn read<'a>(&'a self, _: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(MetricReading::Value { value: self.value }) })
    }
}

/// Builds clients from a document, as `spillway run` does, but from the
/// fakes registered under each URL.
struct Clients {
    endpoints: BTreeMap<String, Arc<Endpoint>>,
    prometheus: BTreeMap<String, Arc<Prometheus>>,
    backend_builds: AtomicU64,
}

impl Rebuild<()> for Clients {
    fn backend(&self, c: &LoadedConfig) -> Result<Arc<dyn BurstBackend<()>>, String> {
        self.backend_builds.fetch_add(1, Ordering::SeqCst);
        let url = &c.global.azure.as_ref().ok_or("no azure")?.arm_endpoint;
        let e = self
            .endpoints
            .get(url)
            .ok_or_else(|| format!("unknown endpoint {url}"))?;
        Ok(e.clone())
    }
    fn metric_source(&self, c: &LoadedConfig) -> Result<Arc<dyn MetricSource>, String> {
        let url = &c
            .global
            .metric_sources
            .prometheus
            .as_ref()
            .ok_or("no prometheus")?
            .url;
        let p = self
            .prometheus
            .get(url)
            .ok_or_else(|| format!("unknown prometheus {url}"))?;
        Ok(p.clone())
    }
}

fn document(arm: &str, prometheus: &str, creates_per_5m: u32, interval: &str) -> Arc<LoadedConfig> {
    let yaml = format!(
        r#"
cluster: {{ id: c1 }}
azure:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: burst-rg
  location: westeurope
  armEndpoint: {arm}
  auth: {{ method: managedIdentity }}
  rateLimits: {{ createsPer5m: {creates_per_5m} }}
metricSources:
  prometheus: {{ url: "{prometheus}" }}
interval: {interval}
policies:
- name: web
  target: {{ namespace: shop, name: web }}
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - prometheus: {{ query: q, targetAverageValue: 100 }}
  burst: {{ enabled: true, maxReplicas: 6 }}
"#
    );
    Arc::new(config::load(&yaml).expect("valid document"))
}

#[tokio::test(start_paused = true)]
async fn every_section_takes_effect_without_a_restart() {
    let a = Arc::new(Endpoint::default());
    let b = Arc::new(Endpoint::default());
    let high = Arc::new(Prometheus {
        value: 1_000.0,
        reads: AtomicU64::new(0),
    });
    let low = Arc::new(Prometheus {
        value: 150.0,
        reads: AtomicU64::new(0),
    });
    let clients = Arc::new(Clients {
        endpoints: BTreeMap::from([
            ("http://a.test".to_string(), a.clone()),
            ("http://b.test".to_string(), b.clone()),
        ]),
        prometheus: BTreeMap::from([
            ("http://p1.test".to_string(), high.clone()),
            ("http://p2.test".to_string(), low.clone()),
        ]),
        backend_builds: AtomicU64::new(0),
    });
    let first = document("http://a.test", "http://p1.test", 100, "15s");
    let status = Arc::new(StatusBoard::new("test"));
    let telemetry = Metrics::new().unwrap();
    let controller = Arc::new(Controller::new(
        Parts {
            cluster: full_cluster(),
            metrics_source: clients.metric_source(&first).unwrap(),
            backend: clients.backend(&first).unwrap(),
            telemetry: telemetry.clone(),
            status: status.clone(),
            leader: LeaderGate::always(),
            clock: tokio_clock(Timestamp::from_secs(1_000_000)),
            rebuild: Some(clients.clone()),
        },
        ControllerOptions {
            gc_interval: Duration::from_secs(3600),
            ..ControllerOptions::default()
        },
    ));
    let (config_tx, config_rx) = watch::channel(Some(first));
    let (_valid_tx, valid_rx) = watch::channel(true);
    let cancel = CancellationToken::new();
    let run = tokio::spawn(controller.clone().run(config_rx, valid_rx, cancel.clone()));
    let generation = |part: &str| status.to_json()["generations"][part].as_u64();

    // Start: endpoint a, Prometheus p1 (1000 → 10 replicas, 6 burst at most).
    // Changes land between ticks (a tick due at the same instant as a change
    // may still run on the old client, which is fine but not what is tested).
    tokio::time::sleep(Duration::from_secs(127)).await;
    assert_eq!(a.groups.lock().unwrap().len(), 6, "bursting on endpoint a");
    assert_eq!(b.writes.load(Ordering::SeqCst), 0);
    assert_eq!(generation("burstBackend"), Some(1));

    // azure.armEndpoint → b: the next ticks list and write there, a sees no more writes.
    let a_writes = a.writes.load(Ordering::SeqCst);
    config_tx.send_replace(Some(document("http://b.test", "http://p1.test", 100, "15s")));
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(generation("burstBackend"), Some(2));
    assert_eq!(b.groups.lock().unwrap().len(), 6, "bursting on endpoint b");
    assert_eq!(
        a.writes.load(Ordering::SeqCst),
        a_writes,
        "nothing written to the old endpoint"
    );

    // azure.rateLimits alone also rebuilds the client (same endpoint).
    config_tx.send_replace(Some(document("http://b.test", "http://p1.test", 50, "15s")));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(generation("burstBackend"), Some(3));
    assert_eq!(generation("metricSources"), Some(1), "metric sources untouched");

    // metricSources.prometheus.url → p2: readings come from it at once.
    let p1_reads = high.reads.load(Ordering::SeqCst);
    config_tx.send_replace(Some(document("http://b.test", "http://p2.test", 50, "15s")));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(generation("metricSources"), Some(2));
    assert!(low.reads.load(Ordering::SeqCst) >= 3, "p2 is read");
    assert_eq!(
        high.reads.load(Ordering::SeqCst),
        p1_reads,
        "p1 is not read any more"
    );
    let value = telemetry.metric_value.with_label_values(&["web", "0"]).get();
    assert_eq!(value, 150.0, "the gauge shows p2's value");

    // interval 15s → 5s: the policy restarts and ticks three times as often.
    let before = low.reads.load(Ordering::SeqCst);
    config_tx.send_replace(Some(document("http://b.test", "http://p2.test", 50, "5s")));
    tokio::time::sleep(Duration::from_secs(60)).await;
    let reads = low.reads.load(Ordering::SeqCst) - before;
    assert!((11..=13).contains(&reads), "{reads} ticks in a minute at 5 s");
    assert_eq!(
        clients.backend_builds.load(Ordering::SeqCst),
        3,
        "no rebuild for an unchanged azure section"
    );

    cancel.cancel();
    run.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_cannot_be_built_keeps_the_previous_one() {
    let a = Arc::new(Endpoint::default());
    let p = Arc::new(Prometheus {
        value: 1_000.0,
        reads: AtomicU64::new(0),
    });
    let clients = Arc::new(Clients {
        endpoints: BTreeMap::from([("http://a.test".to_string(), a.clone())]),
        prometheus: BTreeMap::from([("http://p1.test".to_string(), p.clone())]),
        backend_builds: AtomicU64::new(0),
    });
    let first = document("http://a.test", "http://p1.test", 100, "15s");
    let status = Arc::new(StatusBoard::new("test"));
    let controller = Arc::new(Controller::new(
        Parts {
            cluster: full_cluster(),
            metrics_source: clients.metric_source(&first).unwrap(),
            backend: clients.backend(&first).unwrap(),
            telemetry: Metrics::new().unwrap(),
            status: status.clone(),
            leader: LeaderGate::always(),
            clock: tokio_clock(Timestamp::from_secs(1_000_000)),
            rebuild: Some(clients.clone()),
        },
        ControllerOptions::default(),
    ));
    let (config_tx, config_rx) = watch::channel(Some(first));
    let (_valid_tx, valid_rx) = watch::channel(true);
    let cancel = CancellationToken::new();
    let run = tokio::spawn(controller.clone().run(config_rx, valid_rx, cancel.clone()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    config_tx.send_replace(Some(document(
        "http://unknown.test",
        "http://p1.test",
        100,
        "15s",
    )));
    tokio::time::sleep(Duration::from_secs(60)).await;
    let s = status.to_json();
    assert_eq!(s["generations"]["burstBackend"], 1, "{s}");
    let notes = s["configNotes"].to_string();
    assert!(
        notes.contains("azure: unknown endpoint http://unknown.test"),
        "{notes}"
    );
    assert_eq!(a.groups.lock().unwrap().len(), 6, "the old client keeps working");
    cancel.cancel();
    run.await.unwrap();
}

/// `burst.dns` without a `nameServer`: the ClusterIP of the cluster DNS
/// Service is read when replicas are created. While the Service has none,
/// nothing is created (a replica that cannot resolve cluster names would
/// fail its requests) and the error says why; once it has one, every
/// create carries it.
#[tokio::test(start_paused = true)]
async fn cluster_dns_comes_from_the_kube_dns_service() {
    let arm = Arc::new(Endpoint::default());
    let prometheus = Arc::new(Prometheus {
        value: 1_000.0,
        reads: AtomicU64::new(0),
    });
    let yaml = r#"
cluster: { id: c1 }
azure:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: burst-rg
  location: westeurope
  auth: { method: managedIdentity }
  subnetId: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci
metricSources:
  prometheus: { url: "http://p.test" }
policies:
- name: web
  target: { namespace: shop, name: web }
  minReplicas: 2
  maxReplicas: 20
  metrics:
  - prometheus: { query: q, targetAverageValue: 100 }
  burst: { enabled: true, maxReplicas: 6, dns: {} }
"#;
    let doc = Arc::new(config::load(yaml).expect("valid document"));
    let cluster = full_cluster();
    let status = Arc::new(StatusBoard::new("test"));
    let telemetry = Metrics::new().unwrap();
    let controller = Arc::new(Controller::new(
        Parts {
            cluster: cluster.clone(),
            metrics_source: prometheus,
            backend: arm.clone(),
            telemetry: telemetry.clone(),
            status: status.clone(),
            leader: LeaderGate::always(),
            clock: tokio_clock(Timestamp::from_secs(1_000_000)),
            rebuild: None,
        },
        ControllerOptions {
            gc_interval: Duration::from_secs(3600),
            ..ControllerOptions::default()
        },
    ));
    let (_config_tx, config_rx) = watch::channel(Some(doc));
    let (_valid_tx, valid_rx) = watch::channel(true);
    let cancel = CancellationToken::new();
    let run = tokio::spawn(controller.clone().run(config_rx, valid_rx, cancel.clone()));

    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        arm.writes.load(Ordering::SeqCst),
        0,
        "no create without the DNS Service's IP"
    );
    let errors = telemetry
        .reconcile_errors
        .with_label_values(&["web", "dns_unresolved"])
        .get();
    assert!(errors >= 1, "counted as dns_unresolved");
    let shown = status.to_json().to_string();
    assert!(shown.contains("kube-system/kube-dns"), "{shown}");

    *cluster.dns_ip.lock().unwrap() = Some("10.96.0.10".into());
    tokio::time::sleep(Duration::from_secs(60)).await;
    let carried = arm.name_servers.lock().unwrap().clone();
    assert_eq!(carried.len(), 6, "{carried:?}");
    assert!(
        carried.iter().all(|n| n.as_deref() == Some("10.96.0.10")),
        "{carried:?}"
    );

    cancel.cancel();
    run.await.unwrap();
}
