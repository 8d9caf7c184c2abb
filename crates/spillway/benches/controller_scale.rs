//! 200 policies on a 2,000-node simulated cluster through the real
//! controller tick (metrics → snapshot → one shared ARM list → plan →
//! executor) against the ACI emulator over HTTP. Prints tick latency
//! p50/p99 and the process RSS, and the same policies planned with
//! `spillway_core::plan` alone (no I/O) as the in-process baseline.
//!
//! `cargo bench -p spillway --bench controller_scale` (issue 7's 200 policies
//! on 2,000 nodes), and with `SPILLWAY_BENCH_SCALE=large` issue 8's scale
//! target: 1,000 policies, 5,000 nodes, 50,000 pods, 2,000 live container
//! groups (the client's create pacing raised as a quota increase would).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aci_emulator::{Emulator, EmulatorConfig, Limits, ProvisioningLatency};
use azure_auth::{CachedTokenProvider, ClientSecretCredential, Secret, SecretSource};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use spillway_aci::backend::AciBackend;
use spillway_aci::{AciClient, AciConfig};
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{
    BurstEndpoint, ClusterBuild, ClusterView, Controller, ControllerOptions, Disabled, LeaderGate,
    MetricRequest, MetricSource, Parts, PolicyRuntime, SeamError, TemplateRefs, Workload, system_clock,
};
use spillway_core::burst::BurstInventory;
use spillway_core::config::{self, Policy, TargetRef};
use spillway_core::metrics::{MetricReading, MetricSample};
use spillway_core::plan::Plan;
use spillway_core::resources::Resources;
use spillway_core::snapshot::{
    BoundPod, ClusterSnapshot, NodeInfo, PodTemplate, VmPod, VmPodState, WorkloadStatus,
};
use spillway_core::time::Timestamp;
use spillway_core::{PlanInput, PolicyState};

#[derive(Clone, Copy)]
struct Scale {
    nodes: usize,
    policies: usize,
    /// Extra small pods bound round-robin, to reach the pod count.
    extra_pods: usize,
    /// Every `burst_every`-th policy needs burst replicas (10 each).
    burst_every: usize,
    rounds: usize,
    pacing: bool,
}

fn scale() -> Scale {
    match std::env::var("SPILLWAY_BENCH_SCALE").as_deref() {
        Ok("large") => Scale {
            nodes: 5_000,
            policies: 1_000,
            extra_pods: 25_000,
            burst_every: 5,
            rounds: 5,
            pacing: false,
        },
        _ => Scale {
            nodes: 2_000,
            policies: 200,
            extra_pods: 0,
            burst_every: 2,
            rounds: 10,
            pacing: true,
        },
    }
}

fn cpu(m: i64) -> Resources {
    Resources {
        cpu_millis: m,
        memory_bytes: m << 21,
        ..Default::default()
    }
}

/// A static cluster: nodes nearly full, 200 workloads of 20 pods.
struct StaticCluster {
    snapshot: Arc<ClusterSnapshot>,
    workloads: Mutex<BTreeMap<String, WorkloadStatus>>,
    template: Arc<PodTemplateSpec>,
}

impl StaticCluster {
    fn new(sc: Scale) -> Self {
        let nodes: Vec<NodeInfo> = (0..sc.nodes)
            .map(|i| NodeInfo {
                name: format!("node-{i}"),
                ready: true,
                allocatable: cpu(16_000),
                allocatable_pods: 110,
                ..Default::default()
            })
            .collect();
        let mut pods = Vec::new();
        let mut workloads = BTreeMap::new();
        for p in 0..sc.policies {
            let mut status = WorkloadStatus {
                spec_replicas: 20,
                template: PodTemplate {
                    namespace: "bench".into(),
                    requests: cpu(500),
                    hash: "h1".into(),
                    ..Default::default()
                },
                ..Default::default()
            };
            for k in 0..20 {
                let node = (p * 20 + k) % sc.nodes;
                pods.push(BoundPod {
                    node: format!("node-{node}").into(),
                    namespace: "bench".into(),
                    labels: Default::default(),
                    requests: cpu(500),
                });
                status.pods.push(VmPod {
                    name: format!("app{p}-{k}"),
                    state: VmPodState::Ready,
                    created_at: Timestamp::from_secs(0),
                });
            }
            workloads.insert(format!("app{p}"), status);
        }
        for k in 0..sc.extra_pods {
            pods.push(BoundPod {
                node: format!("node-{}", k % sc.nodes).into(),
                namespace: "other".into(),
                labels: Default::default(),
                requests: cpu(10),
            });
        }
        // Fill every node up to 15.6 cores so that little fits: bursting happens.
        let mut used = vec![0i64; sc.nodes];
        for b in &pods {
            if let Some(i) = b.node.strip_prefix("node-").and_then(|n| n.parse::<usize>().ok()) {
                used[i] += b.requests.cpu_millis;
            }
        }
        for (i, used) in used.iter().enumerate() {
            let filler = 15_600 - used;
            if filler > 0 {
                pods.push(BoundPod {
                    node: format!("node-{i}").into(),
                    namespace: "other".into(),
                    labels: Default::default(),
                    requests: cpu(filler),
                });
            }
        }
        let requests = BTreeMap::from([
            ("cpu".to_string(), K8sQuantity("500m".into())),
            ("memory".to_string(), K8sQuantity("1Gi".into())),
        ]);
        StaticCluster {
            snapshot: Arc::new(ClusterSnapshot::new(nodes, pods)),
            workloads: Mutex::new(workloads),
            template: Arc::new(PodTemplateSpec {
                metadata: None,
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "app".into(),
                        image: Some("example.azurecr.io/app:1".into()),
                        resources: Some(ResourceRequirements {
                            requests: Some(requests),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            }),
        }
    }
}

impl StaticCluster {
    fn status(&self, target: &TargetRef) -> Result<WorkloadStatus, Disabled> {
        self.workloads
            .lock()
            .unwrap()
            .get(&target.name)
            .cloned()
            .ok_or_else(|| Disabled::TargetMissing {
                kind: target.kind.clone(),
                namespace: target.namespace.clone(),
                name: target.name.clone(),
            })
    }
}

impl ClusterView for StaticCluster {
    type Template = PodTemplateSpec;

    fn ready(&self) -> bool {
        true
    }
    fn snapshot(&self) -> ClusterBuild {
        ClusterBuild {
            snapshot: self.snapshot.clone(),
            skipped: Vec::new(),
        }
    }
    fn workload(&self, target: &TargetRef) -> Result<Workload<PodTemplateSpec>, Disabled> {
        Ok(Workload {
            status: Arc::new(self.status(target)?),
            template: self.template.clone(),
        })
    }
    fn resolve_refs<'a>(
        &'a self,
        _: &'a str,
        _: &'a PodTemplateSpec,
    ) -> BoxFuture<'a, Result<TemplateRefs, SeamError>> {
        Box::pin(async { Ok(TemplateRefs::default()) })
    }
    fn scale<'a>(
        &'a self,
        _: &'a str,
        target: &'a TargetRef,
        replicas: u32,
    ) -> BoxFuture<'a, Result<(), SeamError>> {
        Box::pin(async move {
            let mut w = self.workloads.lock().unwrap();
            let s = w.get_mut(&target.name).expect("known target");
            s.spec_replicas = replicas;
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
        Box::pin(async move { Ok(()) })
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
        Box::pin(async move { Ok(()) })
    }
}

/// Every `burst_every`-th policy sees 3,000 requests/s (30 replicas at 100
/// each: a burst of 10), the others 1,900.
struct FixedDemand(usize);

fn demand_of(policy: &str, burst_every: usize) -> f64 {
    let i: usize = policy.trim_start_matches("app").parse().unwrap_or(0);
    if i.is_multiple_of(burst_every) {
        3_000.0
    } else {
        1_900.0
    }
}

impl MetricSource for FixedDemand {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SeamError>> {
        Box::pin(async move {
            Ok(MetricReading::Value {
                value: demand_of(req.policy, self.0),
            })
        })
    }
}

fn config_yaml(endpoint: &str, policies: usize) -> String {
    let mut y = format!(
        "cluster: {{id: bench}}\nazure: {{subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: bench-rg, location: westeurope, armEndpoint: '{endpoint}'}}\nmetricSources: {{prometheus: {{url: 'http://127.0.0.1:9'}}}}\ninterval: 1s\npolicies:\n"
    );
    for i in 0..policies {
        y.push_str(&format!(
            "- name: app{i}\n  target: {{namespace: bench, name: app{i}}}\n  maxReplicas: 100\n  behavior: {{scaleUp: {{policies: [{{type: Pods, value: 100, period: 1s}}]}}}}\n  metrics:\n  - prometheus: {{query: q, targetAverageValue: 100}}\n  burst: {{enabled: true, maxReplicas: 10, vmOverflow: cap}}\n"
        ));
    }
    y
}

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let sc = scale();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let emulator = Emulator::start(EmulatorConfig {
            latency: ProvisioningLatency::instant(),
            limits: Limits::unlimited(),
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        let endpoint = emulator.base_url().to_string();
        let loaded = config::load(&config_yaml(&endpoint, sc.policies)).unwrap();
        let policies: Vec<Arc<Policy>> = loaded.valid_policies().cloned().collect();
        assert_eq!(policies.len(), sc.policies);
        let setup = Instant::now();
        let cluster = Arc::new(StaticCluster::new(sc));
        let setup = setup.elapsed();
        let metrics = Metrics::new().unwrap();
        let tokens = Arc::new(CachedTokenProvider::new(
            ClientSecretCredential::new("t", "bench", SecretSource::Value(Secret::new("s")))
                .with_authority(endpoint.clone()),
        ));
        let mut aci_config = AciConfig::new(&endpoint, "00000000-0000-0000-0000-000000000000", "bench-rg").unwrap();
        if !sc.pacing {
            // As after a quota increase: the client's own create/delete budget is not the limit here.
            aci_config.pacing.creates_per_5m = 1_000_000;
            aci_config.pacing.creates_per_1h = 1_000_000;
            aci_config.pacing.deletes_per_5m = 1_000_000;
            aci_config.pacing.deletes_per_1h = 1_000_000;
        }
        let aci = AciClient::new(aci_config, tokens).unwrap();
        let controller = Arc::new(Controller::new(
            Parts {
                cluster: cluster.clone(),
                metrics_source: Arc::new(FixedDemand(sc.burst_every)),
                backend: Arc::new(AciBackend::new(aci)),
                telemetry: metrics,
                status: Arc::new(StatusBoard::new("bench")),
                leader: LeaderGate::always(),
                clock: system_clock(),
                rebuild: None,
            },
            ControllerOptions::default(),
        ));
        let rss_before = rss_mib();

        // Baseline: the same 200 plans, pure (no I/O), in this process.
        let now = Timestamp::from_secs(1);
        let started = Instant::now();
        for p in &policies {
            let samples = vec![MetricSample::value(0, demand_of(&p.name, sc.burst_every), now)];
            let workload = cluster.status(&p.target).unwrap();
            let inventory = BurstInventory::default();
            let input = PlanInput {
                history: &[],
                scale_up: &[],
                policy: p,
                samples: &samples,
                cluster: &cluster.snapshot,
                workload: &workload,
                inventory: &inventory,
                now,
            };
            std::hint::black_box(spillway_core::plan(&input, &PolicyState::default()));
        }
        let baseline_per_policy = started.elapsed().as_secs_f64() / sc.policies as f64;

        // The real ticks: every policy ticks once per round, concurrently.
        let mut runtimes: Vec<PolicyRuntime> = policies.iter().cloned().map(PolicyRuntime::new).collect();
        let mut ticks = Vec::new();
        let mut rounds = Vec::new();
        let wall = Instant::now();
        for _ in 0..sc.rounds {
            let round = Instant::now();
            let results = futures::future::join_all(runtimes.iter_mut().map(|rt| {
                let c = controller.clone();
                async move {
                    let t = Instant::now();
                    let r = c.tick(rt).await;
                    (t.elapsed().as_secs_f64(), r.is_ok())
                }
            }))
            .await;
            rounds.push(round.elapsed().as_secs_f64());
            for (secs, ok) in results {
                assert!(ok, "a tick failed");
                ticks.push(secs);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let wall = wall.elapsed().as_secs_f64();
        ticks.sort_by(f64::total_cmp);
        rounds.sort_by(f64::total_cmp);
        let state = emulator.state();
        let live = state.groups.iter().filter(|g| g.deleted_at.is_none()).count();
        println!(
            "controller scale: {} policies, {} nodes, {} pods, {} rounds ({:.1} s wall; cluster built in {:.1} s)",
            sc.policies,
            sc.nodes,
            cluster.snapshot.pods().len(),
            sc.rounds,
            wall,
            setup.as_secs_f64()
        );
        println!(
            "  tick latency      p50 {:>8.2} ms   p99 {:>8.2} ms",
            quantile(&ticks, 0.5) * 1e3,
            quantile(&ticks, 0.99) * 1e3
        );
        println!(
            "  full pass ({})  p50 {:>8.2} ms   max {:>8.2} ms",
            sc.policies,
            quantile(&rounds, 0.5) * 1e3,
            quantile(&rounds, 1.0) * 1e3
        );
        println!(
            "  baseline: pure plan per policy {:.3} ms; tick p50 = {:.1}x baseline",
            baseline_per_policy * 1e3,
            quantile(&ticks, 0.5) / baseline_per_policy
        );
        println!(
            "  RSS {:.1} MiB before the ticks, {:.1} MiB after (controller and emulator in one process)",
            rss_before,
            rss_mib()
        );
        println!("  container groups live in the emulator at the end: {live}");
        emulator.shutdown().await.unwrap();
    });
}
