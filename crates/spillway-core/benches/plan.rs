//! One policy planned against a 5,000-node, 50,000-pod snapshot, and 1,000
//! policies against it. Also times building the snapshot (done once per tick,
//! shared by every policy). Run: `cargo bench -p spillway-core --bench plan`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_core::burst::{BurstInventory, BurstReplica, BurstState};
use spillway_core::config::{self, Policy};
use spillway_core::metrics::MetricSample;
use spillway_core::resources::Resources;
use spillway_core::snapshot::{
    BoundPod, ClusterSnapshot, NodeInfo, PodTemplate, Taint, TaintEffect, Toleration, TolerationOperator,
    VmPod, VmPodState, WorkloadStatus,
};
use spillway_core::time::Timestamp;
use spillway_core::{PlanInput, PolicyState, plan};

const NODES: usize = 5_000;
const PODS: usize = 50_000;
const POLICIES: usize = 1_000;

fn labels(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

fn snapshot() -> ClusterSnapshot {
    let nodes: Vec<NodeInfo> = (0..NODES)
        .map(|i| NodeInfo {
            name: format!("node-{i}"),
            labels: labels(&[
                ("kubernetes.io/hostname", format!("node-{i}")),
                ("agentpool", format!("pool{}", i % 5)),
                ("topology.kubernetes.io/zone", format!("westeurope-{}", i % 3 + 1)),
            ]),
            taints: if i % 5 == 4 {
                vec![Taint {
                    key: "dedicated".into(),
                    value: Some("batch".into()),
                    effect: TaintEffect::NoSchedule,
                }]
            } else {
                vec![]
            },
            ready: i % 97 != 0,
            unschedulable: i % 211 == 0,
            allocatable: Resources {
                cpu_millis: 16_000,
                memory_bytes: 64 << 30,
                ephemeral_storage_bytes: 100 << 30,
                ..Default::default()
            },
            allocatable_pods: 110,
        })
        .collect();
    let pods: Vec<BoundPod> = (0..PODS)
        .map(|i| BoundPod {
            node: format!("node-{}", i % NODES).into(),
            namespace: format!("ns{}", i % 50).into(),
            labels: labels(&[("app", format!("app{}", i % POLICIES))]).into(),
            requests: Resources {
                cpu_millis: 250 + (i as i64 % 7) * 250,
                memory_bytes: (512 + (i as i64 % 5) * 512) << 20,
                ..Default::default()
            },
        })
        .collect();
    ClusterSnapshot::new(nodes, pods)
}

fn policies() -> Vec<Arc<Policy>> {
    let mut yaml = String::from(
        "cluster: {id: bench}\nazure: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: rg, location: westeurope}\nmetricSources: {prometheus: {url: 'http://prom:9090'}}\npolicies:\n",
    );
    for i in 0..POLICIES {
        yaml.push_str(&format!(
            "- name: app{i}\n  target: {{namespace: ns{}, name: app{i}}}\n  maxReplicas: 200\n  metrics:\n  - prometheus: {{query: q, targetAverageValue: 100}}\n  burst: {{enabled: true, maxReplicas: 50, maxHourlyCost: 20}}\n",
            i % 50
        ));
    }
    let loaded = config::load(&yaml).expect("bench config is valid");
    loaded.valid_policies().cloned().collect()
}

struct Tick {
    policy: Arc<Policy>,
    workload: WorkloadStatus,
    inventory: BurstInventory,
    samples: Vec<MetricSample>,
}

fn ticks(policies: &[Arc<Policy>]) -> Vec<Tick> {
    let now = Timestamp::from_secs(10_000);
    policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pods = (0..20)
                .map(|k| VmPod {
                    name: format!("app{i}-{k}"),
                    state: if k < 15 {
                        VmPodState::Ready
                    } else {
                        VmPodState::Pending {
                            unschedulable: k % 2 == 0,
                        }
                    },
                    created_at: Timestamp::from_secs(9_990),
                })
                .collect();
            let template = PodTemplate {
                namespace: format!("ns{}", i % 50),
                labels: labels(&[("app", format!("app{i}"))]),
                requests: Resources {
                    cpu_millis: 500,
                    memory_bytes: 1 << 30,
                    ..Default::default()
                },
                tolerations: if i % 4 == 0 {
                    vec![Toleration {
                        key: Some("dedicated".into()),
                        operator: TolerationOperator::Exists,
                        ..Default::default()
                    }]
                } else {
                    vec![]
                },
                node_selector: if i % 3 == 0 {
                    labels(&[("agentpool", format!("pool{}", i % 5))])
                } else {
                    BTreeMap::new()
                },
                hash: "h1".into(),
                ..Default::default()
            };
            let inventory = BurstInventory {
                replicas: (0..5)
                    .map(|o| BurstReplica {
                        name: format!("bench-app{i}-{o}"),
                        ordinal: o,
                        template_hash: "h1".into(),
                        location: "westeurope".into(),
                        zone: None,
                        state: BurstState::Ready,
                        created_at: Timestamp::from_secs(9_000),
                    })
                    .collect(),
                ..Default::default()
            };
            Tick {
                policy: p.clone(),
                workload: WorkloadStatus {
                    spec_replicas: 20,
                    pods,
                    template,
                },
                inventory,
                samples: vec![MetricSample::value(0, 2_600.0 + i as f64, now)],
            }
        })
        .collect()
}

fn plan_one(t: &Tick, cluster: &ClusterSnapshot) -> usize {
    let input = PlanInput {
        history: &[],
        scale_up: &[],
        policy: &t.policy,
        samples: &t.samples,
        cluster,
        workload: &t.workload,
        inventory: &t.inventory,
        now: Timestamp::from_secs(10_000),
    };
    let (p, _) = plan(&input, &PolicyState::default());
    p.creates.len() + p.drains.len()
}

/// The baseline: one bare pass over the nodes (free CPU / request), the
/// least any fit must do. The planner's figures are printed as ratios to it.
fn bare_scan(cluster: &ClusterSnapshot) -> i64 {
    cluster
        .nodes()
        .iter()
        .map(|n| ((n.node.allocatable.cpu_millis - n.requested.cpu_millis) / 500).max(0))
        .sum()
}

fn median_secs<T>(mut f: impl FnMut() -> T, runs: usize) -> f64 {
    let mut v: Vec<f64> = (0..runs)
        .map(|_| {
            let t = std::time::Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64()
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[runs / 2]
}

fn bench(c: &mut Criterion) {
    let cluster = snapshot();
    let policies = policies();
    let ticks = ticks(&policies);
    let mut g = c.benchmark_group("plan");
    g.sample_size(20);
    g.bench_function("snapshot_build_5000_nodes_50000_pods", |b| {
        b.iter_batched(
            || {
                let nodes = cluster.nodes().iter().map(|n| n.node.clone()).collect::<Vec<_>>();
                (nodes, cluster.pods().to_vec())
            },
            |(n, p)| black_box(ClusterSnapshot::new(n, p)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("one_policy_5000_nodes", |b| {
        b.iter(|| black_box(plan_one(&ticks[1], &cluster)))
    });
    g.bench_function("1000_policies_5000_nodes", |b| {
        b.iter(|| ticks.iter().map(|t| plan_one(t, &cluster)).sum::<usize>())
    });
    g.bench_function("baseline_bare_node_scan", |b| {
        b.iter(|| black_box(bare_scan(&cluster)))
    });
    g.finish();

    let base = median_secs(|| bare_scan(&cluster), 201);
    let one = median_secs(|| plan_one(&ticks[1], &cluster), 201);
    let all = median_secs(|| ticks.iter().map(|t| plan_one(t, &cluster)).sum::<usize>(), 21);
    println!("\nmedians in this process:");
    println!("  baseline bare node scan      {:>10.1} µs", base * 1e6);
    println!(
        "  plan, one policy             {:>10.1} µs  ({:.1}× baseline; target ≤ 1 ms)",
        one * 1e6,
        one / base
    );
    println!(
        "  plan, 1,000 policies         {:>10.2} ms  ({:.1}× 1,000 baselines; target ≤ 100 ms)",
        all * 1e3,
        all / (base * 1000.0)
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
