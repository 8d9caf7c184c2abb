//! Reflector-store memory and snapshot build time for 5,000 nodes and 50,000
//! pods built from synthetic, realistically fat objects (managedFields,
//! annotations, env, images, container statuses).
//!
//! `cargo bench -p spillway-kube --bench snapshot_memory`
//!
//! Targets: <= 150 MiB RSS with the stores as the controller keeps them
//! (compact Pods and Nodes, deserialized from the JSON bytes a watch
//! delivers), <= 20 ms per snapshot update. Baselines measured in the same
//! process: k8s-openapi stores without trimming (memory) and a cold build
//! with nothing cached (time).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::{reflector, watcher};
use serde_json::{Value, json};
use spillway_core::snapshot::{ClusterSnapshot, Entry};
use spillway_kube::{
    compact::{CompactNode, CompactPod},
    snapshot::SnapshotBuilder,
};

const NODES: usize = 5_000;
const PODS: usize = 50_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time of this thread (ns on a CPU, from the scheduler): unlike wall
/// time, it leaves out waits for a CPU on a shared, loaded machine.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(
        stat.split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

fn managed_fields(manager: &str) -> Value {
    json!([{"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-11-27T10:00:00Z",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:resources": {}}}}}}])
}

fn node(i: usize) -> Value {
    let name = format!("aks-pool{}-{:08}-vmss{:06}", i % 4, i * 7919 % 99_999_999, i);
    let images: Vec<Value> = (0..30)
        .map(|j| {
            json!({"names": [format!("myregistry.azurecr.io/team{j}/service@sha256:{:064x}", i * 31 + j),
            format!("myregistry.azurecr.io/team{j}/service:v1.{j}")], "sizeBytes": 100_000_000 + j})
        })
        .collect();
    let node_conditions: Vec<Value> = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
        .iter()
        .map(|t| {
            json!({"type": t, "status": if *t == "Ready" { "True" } else { "False" },
                "reason": "KubeletHasSufficient", "message": "kubelet has sufficient resources",
                "lastHeartbeatTime": "2026-11-27T10:00:00Z", "lastTransitionTime": "2026-11-20T10:00:00Z"})
        })
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("00000000-0000-4000-8000-{i:012}"), "resourceVersion": "1000",
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "Standard_D4s_v5", "topology.kubernetes.io/region": "westeurope",
                "topology.kubernetes.io/zone": format!("westeurope-{}", i % 3 + 1), "agentpool": format!("pool{}", i % 4),
                "kubernetes.azure.com/cluster": "MC_rg_aks_westeurope", "kubernetes.azure.com/mode": "user"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            "managedFields": managed_fields("kubelet")},
        "spec": {"providerID": format!("azure:///subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachineScaleSets/z/virtualMachines/{i}"),
            "podCIDR": "10.244.0.0/24"},
        "status": {"allocatable": {"cpu": "3860m", "memory": "13283748Ki", "pods": "110", "ephemeral-storage": "119703055367"},
            "capacity": {"cpu": "4", "memory": "16393092Ki", "pods": "110", "ephemeral-storage": "129886128Ki"},
            "conditions": node_conditions,
            "addresses": [{"type": "InternalIP", "address": "10.224.0.4"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "5.15", "osImage": "Ubuntu",
                "containerRuntimeVersion": "containerd://1.7", "kubeletVersion": "v1.33.2", "kubeProxyVersion": "v1.33.2",
                "operatingSystem": "linux", "architecture": "amd64"},
            "images": images}
    })
}

fn pod(i: usize, rv: usize) -> Value {
    let app = format!("svc-{}", i % 500);
    let pod_conditions: Vec<Value> = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    .iter()
    .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": "2026-11-27T09:00:05Z"}))
    .collect();
    let env: Vec<Value> = (0..10)
        .map(|j| json!({"name": format!("SETTING_{j}"), "value": format!("value-{j}-{i}")}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{app}-7d9f8c6b5-{i:05}"), "namespace": format!("team-{}", i % 50),
            "uid": format!("10000000-0000-4000-8000-{i:012}"), "resourceVersion": rv.to_string(),
            "creationTimestamp": "2026-11-27T09:00:00Z", "generateName": format!("{app}-7d9f8c6b5-"),
            "labels": {"app": app, "pod-template-hash": "7d9f8c6b5", "team": format!("team-{}", i % 50), "tier": "backend"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                "kubectl.kubernetes.io/restartedAt": "2026-11-27T08:00:00Z"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{app}-7d9f8c6b5"),
                "uid": "20000000-0000-4000-8000-000000000000", "controller": true, "blockOwnerDeletion": true}],
            "managedFields": managed_fields("kube-controller-manager")},
        "spec": {"nodeName": format!("aks-pool{}-{:08}-vmss{:06}", (i % NODES) % 4, (i % NODES) * 7919 % 99_999_999, i % NODES),
            "serviceAccountName": "default", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "containers": [
                {"name": "app", "image": format!("myregistry.azurecr.io/{app}:v1.2.3"), "env": env,
                 "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
                 "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]},
                {"name": "sidecar", "image": "myregistry.azurecr.io/proxy:v2", "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}]},
        "status": {"phase": "Running", "podIP": "10.244.1.7", "hostIP": "10.224.0.4", "qosClass": "Burstable",
            "startTime": "2026-11-27T09:00:01Z",
            "conditions": pod_conditions,
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "x", "imageID": format!("sha256:{i:064x}"),
                "containerID": format!("containerd://{i:064x}"), "started": true,
                "state": {"running": {"startedAt": "2026-11-27T09:00:03Z"}}}]}
    })
}

/// As a watcher reads it: from the bytes of the API server's JSON.
fn from_wire<K: serde::de::DeserializeOwned>(v: &Value) -> K {
    serde_json::from_slice(&serde_json::to_vec(v).unwrap()).unwrap()
}

fn fill<K>(objects: impl Iterator<Item = K>) -> (reflector::Store<K>, reflector::store::Writer<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(o));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    (reader, writer)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let start_rss = rss_kib();

    // The stores as the controller keeps them.
    let (nodes, _nw) = fill((0..NODES).map(|i| from_wire::<CompactNode>(&node(i))));
    let (pods, mut pod_writer) = fill((0..PODS).map(|i| from_wire::<CompactPod>(&pod(i, 1000))));
    let compact_rss = rss_kib();
    let compact = compact_rss.saturating_sub(start_rss);

    // Snapshot: cold (nothing cached) and updates with 1% of pods changed.
    let node_state = nodes.state();
    let mut cold = Vec::new();
    for _ in 0..5 {
        let mut fresh = SnapshotBuilder::new();
        let t = Instant::now();
        black_box(fresh.build(&node_state, &pods.state()));
        cold.push(t.elapsed());
    }
    let mut builder = SnapshotBuilder::new();
    black_box(builder.build(&node_state, &pods.state()));
    let (mut updates, mut update_cpu) = (Vec::new(), Vec::new());
    let mut rv = 2000;
    for round in 0..20 {
        for k in 0..PODS / 100 {
            let p = from_wire::<CompactPod>(&pod((round * 997 + k * 101) % PODS, rv));
            pod_writer.apply_watcher_event(&watcher::Event::Apply(p));
            rv += 1;
        }
        let (t, c) = (Instant::now(), thread_cpu());
        let b = builder.build(&node_state, &pods.state());
        updates.push(t.elapsed());
        update_cpu.push(thread_cpu().saturating_sub(c));
        assert_eq!(b.snapshot.pods().len(), PODS);
        assert!(b.skipped.is_empty());
    }
    let t = Instant::now();
    let unchanged = builder.build(&node_state, &pods.state());
    let unchanged_time = t.elapsed();
    black_box(unchanged);
    let after_build_rss = rss_kib();

    // spillway-core's own aggregation from converted vectors (what a cold
    // build costs besides converting),
    // timed without and with dropping the previous snapshot.
    let converted = builder.build(&node_state, &pods.state()).snapshot;
    let (node_infos, bound): (Vec<_>, Vec<_>) = (
        converted.nodes().iter().map(|n| n.node.clone()).collect(),
        converted.pods().to_vec(),
    );
    let (mut core_only, mut core_drop) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let (n, p) = (node_infos.clone(), bound.clone());
        let t = Instant::now();
        let s = black_box(ClusterSnapshot::new(n, p));
        core_only.push(t.elapsed());
        let t = Instant::now();
        drop(s);
        core_drop.push(t.elapsed());
    }
    // And its incremental update alone, with 1% of the pods new.
    let mut core_update = Vec::new();
    for round in 0..5 {
        let mut s = (*converted).clone();
        let pods: Vec<Entry<_>> = (0..bound.len())
            .map(|i| {
                if (i + round) % 100 == 0 {
                    Entry::New(bound[i].clone())
                } else {
                    Entry::Kept(i)
                }
            })
            .collect();
        let nodes = (0..node_infos.len()).map(Entry::Kept).collect();
        let t = Instant::now();
        s.update(nodes, pods).unwrap();
        core_update.push(t.elapsed());
        black_box(s);
    }

    // Baseline: k8s-openapi objects, untrimmed.
    let before_untrimmed = rss_kib();
    let (un_nodes, _unw) = fill((0..NODES).map(|i| from_wire::<Node>(&node(i))));
    let (un_pods, _upw) = fill((0..PODS).map(|i| from_wire::<Pod>(&pod(i, 1000))));
    let untrimmed = rss_kib().saturating_sub(before_untrimmed);
    black_box((un_nodes.len(), un_pods.len()));

    let (cold_m, upd_m, upd_cpu) = (median(cold), median(updates), median(update_cpu));
    let (core_m, drop_m, core_upd_m) = (median(core_only), median(core_drop), median(core_update));
    println!("spillway-kube snapshot benchmark: {NODES} nodes, {PODS} pods (synthetic, release build)");
    println!(
        "  stores, compact:          {:>8.1} MiB (process RSS {:.1} MiB; target <= 150 MiB RSS)",
        mib(compact),
        mib(compact_rss)
    );
    println!(
        "  stores, untrimmed (base): {:>8.1} MiB  -> compact/untrimmed = {:.3}",
        mib(untrimmed),
        compact as f64 / untrimmed.max(1) as f64
    );
    println!(
        "  process RSS after snapshot builds (stores + builder + snapshot): {:.1} MiB",
        mib(after_build_rss)
    );
    println!(
        "  snapshot update (1% pods changed), median of 20: {:>7.2} ms (target <= 20 ms)",
        upd_m.as_secs_f64() * 1e3
    );
    println!(
        "    the same in CPU time of the thread (no waiting for a CPU): {:>7.2} ms; load average {}",
        upd_cpu.as_secs_f64() * 1e3,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or("?")
    );
    println!(
        "  snapshot cold build (base), median of 5:         {:>7.2} ms -> update/cold = {:.3}",
        cold_m.as_secs_f64() * 1e3,
        upd_m.as_secs_f64() / cold_m.as_secs_f64()
    );
    println!(
        "  snapshot, nothing changed:                       {:>7.2} ms",
        unchanged_time.as_secs_f64() * 1e3
    );
    println!(
        "  ClusterSnapshot::new alone, median of 5:         {:>7.2} ms (+ {:.2} ms to drop one)",
        core_m.as_secs_f64() * 1e3,
        drop_m.as_secs_f64() * 1e3
    );
    println!(
        "  ClusterSnapshot::update alone, 1% pods new, median of 5: {:>7.2} ms",
        core_upd_m.as_secs_f64() * 1e3
    );
}
