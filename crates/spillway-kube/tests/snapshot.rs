//! Reflectors over a mocked transport feeding the snapshot: each pod state,
//! a 410 Gone inside a watch (relist), a 403 on a list (retried), and bad
//! input (node without allocatable, malformed quantity, missing target,
//! HPA-scaled target) that disables or skips only what is bad.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use common::{Reply, fake, gone_event, list, obj, status};
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{Node, Pod, Service},
};
use serde_json::{Value, json};
use spillway_core::{config::TargetRef, snapshot::VmPodState};
use spillway_kube::{KubeClusterView, events::EventSink, lease::LeaderGate, reflectors, snapshot::Disabled};
use tokio_util::sync::CancellationToken;

fn node(name: &str, allocatable: Option<Value>) -> Node {
    let mut v = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": format!("uid-{name}"), "resourceVersion": "90817",
            "labels": {"kubernetes.io/hostname": name},
            "managedFields": [{"manager": "kubelet", "operation": "Update"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "lastHeartbeatTime": "2026-11-27T09:59:58Z"}],
            "images": [{"names": ["mcr.microsoft.com/oss/kubernetes/pause:3.6"], "sizeBytes": 299514}]}});
    if let Some(a) = allocatable {
        v["status"]["allocatable"] = a;
    }
    obj(v)
}

fn pod(name: &str, app: &str, node: Option<&str>, cpu: &str, conditions: Value, extra: Value) -> Pod {
    let mut v = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "91004",
            "labels": {"app": app}, "creationTimestamp": "2026-11-27T10:00:00Z",
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-27T09:00:00Z"}},
        "spec": {"containers": [{"name": "app", "image": "web:1", "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]},
        "status": {"phase": "Pending", "conditions": conditions}});
    if let Some(n) = node {
        v["spec"]["nodeName"] = json!(n);
        v["status"]["phase"] = json!("Running");
    }
    if let Value::Object(m) = extra {
        for (k, val) in m {
            v["metadata"][k] = val;
        }
    }
    obj(v)
}

fn cond(t: &str, s: &str, reason: Option<&str>) -> Value {
    json!({"type": t, "status": s, "reason": reason, "lastTransitionTime": "2026-11-27T10:00:01Z"})
}

fn deployment(name: &str) -> Deployment {
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "resourceVersion": "88001"},
        "spec": {"replicas": 5, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "web:1",
                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]}}},
        "status": {"replicas": 5, "readyReplicas": 1}}))
}

fn initial_pods() -> Vec<Pod> {
    let sched = cond("PodScheduled", "True", None);
    vec![
        pod(
            "web-ready",
            "web",
            Some("n1"),
            "500m",
            json!([sched, cond("Ready", "True", None)]),
            json!({}),
        ),
        pod(
            "web-starting",
            "web",
            Some("n1"),
            "500m",
            json!([sched, cond("Ready", "False", Some("ContainersNotReady"))]),
            json!({}),
        ),
        pod("web-fresh", "web", None, "500m", json!([]), json!({})),
        pod(
            "web-unsched",
            "web",
            None,
            "500m",
            json!([cond("PodScheduled", "False", Some("Unschedulable"))]),
            json!({}),
        ),
        pod(
            "web-leaving",
            "web",
            Some("n1"),
            "500m",
            json!([sched, cond("Ready", "True", None)]),
            json!({"deletionTimestamp": "2026-11-27T10:05:00Z"}),
        ),
        pod(
            "db-0",
            "db",
            Some("n1"),
            "1",
            json!([sched, cond("Ready", "True", None)]),
            json!({}),
        ),
        pod("bad-0", "db", Some("n1"), "12 cores", json!([sched]), json!({})),
    ]
}

#[tokio::test(start_paused = true)]
async fn reflectors_build_the_snapshot_through_gone_and_forbidden() {
    let mut pod_lists = 0;
    let mut pod_watches = 0;
    let mut service_lists = 0;
    let (client, server) = fake(move |r| {
        let watch = r.is_watch();
        match (r.path.as_str(), watch) {
            ("/api/v1/nodes", false) => Reply::Json(
                200,
                list(
                    "v1",
                    "NodeList",
                    "91000",
                    &[
                        node(
                            "n1",
                            Some(json!({"cpu": "3860m", "memory": "12Gi", "pods": "110"})),
                        ),
                        node("n2", None),
                    ],
                ),
            ),
            ("/api/v1/pods", false) => {
                pod_lists += 1;
                let mut pods = initial_pods();
                if pod_lists > 1 {
                    // The relist after 410 Gone sees a pod created meanwhile.
                    pods.push(pod("web-new", "web", None, "500m", json!([]), json!({})));
                }
                Reply::Json(
                    200,
                    list(
                        "v1",
                        "PodList",
                        if pod_lists > 1 { "91342" } else { "91100" },
                        &pods,
                    ),
                )
            }
            ("/api/v1/pods", true) => {
                pod_watches += 1;
                if pod_watches == 1 {
                    Reply::Events(vec![gone_event("91100")])
                } else {
                    Reply::Hang
                }
            }
            ("/apis/apps/v1/deployments", false) => Reply::Json(
                200,
                list(
                    "apps/v1",
                    "DeploymentList",
                    "91001",
                    &[deployment("web"), deployment("db")],
                ),
            ),
            ("/apis/autoscaling/v2/horizontalpodautoscalers", false) => {
                let hpa: HorizontalPodAutoscaler = obj(
                    json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "db", "namespace": "shop", "resourceVersion": "77"},
                    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "db"},
                        "minReplicas": 1, "maxReplicas": 4}}),
                );
                Reply::Json(
                    200,
                    list("autoscaling/v2", "HorizontalPodAutoscalerList", "91002", &[hpa]),
                )
            }
            ("/api/v1/services", false) => {
                service_lists += 1;
                if service_lists == 1 {
                    Reply::Json(
                        403,
                        status(
                            403,
                            "Forbidden",
                            "services is forbidden: User \"system:serviceaccount:spillway-system:spillway\" cannot list resource \"services\" in API group \"\" at the cluster scope",
                        ),
                    )
                } else {
                    Reply::Json(200, list::<Service>("v1", "ServiceList", "91003", &[]))
                }
            }
            (_, true) => Reply::Hang,
            _ => Reply::Json(404, status(404, "NotFound", "unexpected request")),
        }
    });
    let cancel = CancellationToken::new();
    let mut r = reflectors::start(client.clone(), cancel.clone());
    assert!(!r.readiness.is_ready());
    assert!(
        tokio::time::timeout(Duration::from_secs(60), r.readiness.wait())
            .await
            .expect("synced in time")
    );

    // Wait for the relist that follows the 410.
    for _ in 0..100 {
        if r.stores.pods.len() == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(r.stores.pods.len(), 8, "relist after 410 Gone");
    let lines = server.lines();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("GET /api/v1/pods?") && !l.contains("watch=true"))
            .count(),
        2
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("GET /api/v1/services?") && !l.contains("watch=true"))
            .count(),
        2,
        "403 retried"
    );

    // Compact in the store: only what the snapshot reads.
    let n1 = r
        .stores
        .nodes
        .state()
        .into_iter()
        .find(|n| n.metadata.name.as_deref() == Some("n1"))
        .unwrap();
    assert!(n1.metadata.managed_fields.is_none());
    assert!(n1.ready);
    assert_eq!(n1.allocatable.as_ref().unwrap().pods, 110);

    let events = Arc::new(EventSink::new(
        client.clone(),
        None,
        Duration::from_secs(60),
        LeaderGate::never(),
    ));
    let view = KubeClusterView::new(
        client,
        r.stores.clone(),
        r.readiness.clone(),
        LeaderGate::never(),
        events,
    );
    assert!(view.ready());

    let build = view.snapshot();
    let snap = &build.snapshot;
    assert_eq!(snap.nodes().len(), 1);
    let skipped: Vec<(String, &str)> = build
        .skipped
        .iter()
        .map(|s| (s.object.clone(), s.reason.label()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("Node/n2".to_string(), "no_allocatable"),
            ("Pod/shop/bad-0".to_string(), "malformed_quantity")
        ]
    );
    // web-ready, web-starting, web-leaving (terminating still holds its request) and db-0.
    assert_eq!(snap.nodes()[0].pod_count, 4);
    assert_eq!(snap.nodes()[0].requested.cpu_millis, 2500);

    let web = view
        .workload(&TargetRef {
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
        })
        .unwrap();
    assert_eq!(web.spec_replicas, 5);
    let states: Vec<(&str, VmPodState)> = web.pods.iter().map(|p| (p.name.as_str(), p.state)).collect();
    assert_eq!(
        states,
        vec![
            ("web-fresh", VmPodState::Pending { unschedulable: false }),
            ("web-new", VmPodState::Pending { unschedulable: false }),
            ("web-ready", VmPodState::Ready),
            ("web-starting", VmPodState::Starting),
            ("web-unsched", VmPodState::Pending { unschedulable: true }),
        ]
    );
    assert_eq!(web.template.requests.cpu_millis, 500);
    assert_eq!(web.template.hash.len(), 16);

    let missing = view.workload(&TargetRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "gone".into(),
    });
    assert_eq!(
        missing.unwrap_err().to_string(),
        "target Deployment shop/gone does not exist"
    );
    let db = view.workload(&TargetRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "db".into(),
    });
    assert!(matches!(db, Err(Disabled::ScaledByHpa { ref hpa, .. }) if hpa == "db"));

    cancel.cancel();
    while r.tasks.join_next().await.is_some() {}
}
