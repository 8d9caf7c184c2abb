//! The write path over a mocked transport: the scale patch's exact request,
//! the EndpointSlice body, event rate limiting, and no write without the lease.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use common::{Reply, fake, obj, status};
use k8s_openapi::api::{apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::Service};
use kube::{
    Client,
    runtime::{reflector, watcher},
};
use serde_json::{Value, json};
use spillway_core::config::TargetRef;
use spillway_kube::{
    KubeClusterView, ViewError,
    compact::{CompactNode, CompactPod},
    endpoints::BurstEndpoint,
    events::{EventSink, Notice, Published},
    lease::LeaderGate,
    reflectors::{Readiness, Stores},
    scale::ScaleOutcome,
};
use tokio::sync::watch;

fn store_of<K>(objects: Vec<K>) -> reflector::Store<K>
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
    // Keep the writer alive for the test's duration.
    std::mem::forget(writer);
    reader
}

fn web_deployment() -> Deployment {
    obj(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "5b0c1e6a-0000-4000-8000-000000000001",
            "resourceVersion": "48213"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app",
                "image": "web:1", "ports": [{"name": "http", "containerPort": 8080}],
                "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}}}]}}}
    }))
}

fn web_service() -> Service {
    obj(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "uid": "7d1f3c2b-0000-4000-8000-000000000002",
            "resourceVersion": "48100"},
        "spec": {"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
            {"name": "metrics", "port": 9090, "targetPort": 9100},
            {"name": "admin", "port": 81, "targetPort": "admin"}]}
    }))
}

fn view(client: Client, gate: LeaderGate, event_interval: Duration) -> KubeClusterView {
    let stores = Stores {
        nodes: store_of::<CompactNode>(vec![]),
        pods: store_of::<CompactPod>(vec![]),
        deployments: store_of(vec![web_deployment()]),
        hpas: store_of::<HorizontalPodAutoscaler>(vec![]),
        services: store_of(vec![web_service()]),
    };
    let (_tx, rx) = watch::channel(true);
    let events = Arc::new(EventSink::new(
        client.clone(),
        Some("spillway-0".into()),
        event_interval,
        gate.clone(),
    ));
    KubeClusterView::new(client, stores, Readiness::from_receiver(rx), gate, events)
}

fn target() -> TargetRef {
    TargetRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "web".into(),
    }
}

fn scale_json(replicas: i32, rv: &str) -> Value {
    json!({"apiVersion": "autoscaling/v1", "kind": "Scale",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": rv, "uid": "5b0c1e6a-0000-4000-8000-000000000001"},
        "spec": {"replicas": replicas}, "status": {"replicas": replicas, "selector": "app=web"}})
}

const SCALE_PATH: &str = "/apis/apps/v1/namespaces/shop/deployments/web/scale";

#[tokio::test]
async fn scale_patch_exact_request_only_when_the_value_changes() {
    let (client, server) = fake(|r| match r.method.as_str() {
        "GET" => Reply::Json(200, scale_json(3, "48213")),
        "PATCH" => Reply::Json(200, scale_json(7, "48214")),
        _ => Reply::Json(404, status(404, "NotFound", "unexpected")),
    });
    let v = view(client, LeaderGate::always(), Duration::from_secs(60));

    assert_eq!(
        v.scale("web", &target(), 3).await.unwrap(),
        ScaleOutcome::Unchanged { replicas: 3 }
    );
    assert_eq!(server.lines(), vec![format!("GET {SCALE_PATH}")]);

    assert_eq!(
        v.scale("web", &target(), 7).await.unwrap(),
        ScaleOutcome::Changed { from: 3, to: 7 }
    );
    let reqs = server.recorded();
    assert_eq!(reqs.len(), 3);
    let patch = &reqs[2];
    assert_eq!(patch.line(), format!("PATCH {SCALE_PATH}?&fieldManager=spillway"));
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        patch.body,
        json!({"spec": {"replicas": 7}, "metadata": {"resourceVersion": "48213"}})
    );
}

#[tokio::test]
async fn scale_conflict_is_reread_and_retried() {
    let mut patches = 0;
    let mut gets = 0;
    let (client, server) = fake(move |r| match r.method.as_str() {
        "GET" => {
            gets += 1;
            Reply::Json(200, scale_json(3, if gets == 1 { "48213" } else { "48220" }))
        }
        _ => {
            patches += 1;
            if patches == 1 {
                Reply::Json(
                    409,
                    common::status(
                        409,
                        "Conflict",
                        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; \
                         please apply your changes to the latest version and try again",
                    ),
                )
            } else {
                Reply::Json(200, scale_json(5, "48221"))
            }
        }
    });
    let v = view(client, LeaderGate::always(), Duration::from_secs(60));
    assert_eq!(
        v.scale("web", &target(), 5).await.unwrap(),
        ScaleOutcome::Changed { from: 3, to: 5 }
    );
    let reqs = server.recorded();
    assert_eq!(
        reqs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["GET", "PATCH", "GET", "PATCH"]
    );
    assert_eq!(reqs[3].body["metadata"]["resourceVersion"], "48220");
}

#[tokio::test]
async fn scale_forbidden_is_a_labelled_error() {
    let (client, _server) = fake(|_| {
        Reply::Json(
            403,
            status(
                403,
                "Forbidden",
                "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:spillway-system:spillway\" \
                 cannot get resource \"deployments/scale\" in API group \"apps\" in the namespace \"shop\"",
            ),
        )
    });
    let v = view(client, LeaderGate::always(), Duration::from_secs(60));
    let err = v.scale("web", &target(), 5).await.expect_err("forbidden");
    assert_eq!(err.label(), "forbidden");
    assert!(err.to_string().contains("forbidden"), "{err}");
}

#[tokio::test]
async fn no_write_without_the_lease() {
    let (client, server) = fake(|_| Reply::Json(500, status(500, "InternalError", "must not be called")));
    let v = view(client, LeaderGate::never(), Duration::from_secs(60));
    assert!(matches!(
        v.scale("web", &target(), 9).await,
        Err(ViewError::NotLeader)
    ));
    assert!(matches!(
        v.publish_endpoints("web", &target(), "web", &[]).await,
        Err(ViewError::NotLeader)
    ));
    assert!(matches!(
        v.remove_endpoints("web", "shop").await,
        Err(ViewError::NotLeader)
    ));
    let notice = Notice {
        warning: false,
        reason: "ScaleUp".into(),
        action: "Scale".into(),
        note: "x".into(),
    };
    assert_eq!(
        v.record("web", &target(), &[notice]).await.unwrap(),
        vec![Published::NotLeader]
    );
    assert!(server.lines().is_empty(), "{:?}", server.lines());
}

#[tokio::test]
async fn endpointslice_body_is_server_side_applied() {
    let (client, server) = fake(|r| match r.method.as_str() {
        "PATCH" => {
            let mut echo = r.body.clone();
            echo["metadata"]["resourceVersion"] = json!("50001");
            echo["metadata"]["uid"] = json!("9e8d7c6b-0000-4000-8000-000000000003");
            Reply::Json(201, echo)
        }
        "DELETE" => Reply::Json(
            404,
            status(
                404,
                "NotFound",
                "endpointslices.discovery.k8s.io \"spillway-web\" not found",
            ),
        ),
        _ => Reply::Json(404, status(404, "NotFound", "unexpected")),
    });
    let v = view(client, LeaderGate::always(), Duration::from_secs(60));
    let eps = [
        BurstEndpoint {
            name: "prod-weu-1-web-1".into(),
            ip: "10.240.0.12".into(),
            ready: true,
            draining: false,
        },
        BurstEndpoint {
            name: "prod-weu-1-web-0".into(),
            ip: "10.240.0.11".into(),
            ready: true,
            draining: true,
        },
        BurstEndpoint {
            name: "prod-weu-1-web-2".into(),
            ip: "10.240.0.13".into(),
            ready: false,
            draining: false,
        },
        BurstEndpoint {
            name: "prod-weu-1-web-3".into(),
            ip: "fd00::1".into(),
            ready: true,
            draining: false,
        },
    ];
    let out = v.publish_endpoints("web", &target(), "web", &eps).await.unwrap();
    assert_eq!(out.slice, "spillway-web");
    assert_eq!(out.endpoints, 3);
    assert_eq!(out.skipped.len(), 2, "{:?}", out.skipped);
    assert!(
        out.skipped
            .iter()
            .any(|s| s.contains("\"admin\" is not a container port"))
    );
    assert!(out.skipped.iter().any(|s| s.contains("IPv6")));

    let reqs = server.recorded();
    assert_eq!(
        reqs[0].line(),
        "PATCH /apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/spillway-web?&force=true&fieldManager=spillway"
    );
    assert_eq!(
        reqs[0].content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(
        reqs[0].body,
        json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "spillway-web",
                "namespace": "shop",
                "labels": {
                    "endpointslice.kubernetes.io/managed-by": "spillway.io",
                    "kubernetes.io/service-name": "web",
                    "spillway.io/policy": "web"
                },
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                    "uid": "7d1f3c2b-0000-4000-8000-000000000002"}]
            },
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.240.0.11"], "conditions": {"ready": false, "serving": true, "terminating": true}},
                {"addresses": ["10.240.0.12"], "conditions": {"ready": true, "serving": true, "terminating": false}},
                {"addresses": ["10.240.0.13"], "conditions": {"ready": false, "serving": false, "terminating": false}}
            ],
            "ports": [
                {"name": "http", "port": 8080, "protocol": "TCP"},
                {"name": "metrics", "port": 9100, "protocol": "TCP"}
            ]
        })
    );

    // Removing an already-removed slice is not an error.
    assert!(!v.remove_endpoints("web", "shop").await.unwrap());
    assert_eq!(
        server.lines()[1],
        "DELETE /apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/spillway-web"
    );
}

#[tokio::test]
async fn endpoints_for_a_missing_service_are_refused_without_a_call() {
    let (client, server) = fake(|_| Reply::Json(500, status(500, "InternalError", "must not be called")));
    let v = view(client, LeaderGate::always(), Duration::from_secs(60));
    let err = v
        .publish_endpoints("web", &target(), "nope", &[])
        .await
        .expect_err("missing");
    assert_eq!(err.label(), "service_missing");
    assert!(server.lines().is_empty());
}

#[tokio::test(start_paused = true)]
async fn events_are_rate_limited_per_policy_and_reason() {
    let (client, server) = fake(|r| {
        let mut echo = r.body.clone();
        echo["metadata"]["resourceVersion"] = json!("60001");
        Reply::Json(201, echo)
    });
    let v = view(client, LeaderGate::always(), Duration::from_secs(300));
    let up = Notice {
        warning: false,
        reason: "ScaleUp".into(),
        action: "Scale".into(),
        note: "deployment replicas 3 -> 7 (desired 7): scale_up: metric 0 wants 7".into(),
    };
    let down = Notice {
        reason: "ScaleDown".into(),
        note: "deployment replicas 7 -> 4".into(),
        ..up.clone()
    };
    // A flapping metric: up, up, down, up within five minutes.
    let first = v
        .record("web", &target(), std::slice::from_ref(&up))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(15)).await;
    let second = v
        .record("web", &target(), &[up.clone(), down.clone()])
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(15)).await;
    let third = v
        .record("web", &target(), std::slice::from_ref(&up))
        .await
        .unwrap();
    assert_eq!(first, vec![Published::Sent]);
    assert_eq!(second, vec![Published::RateLimited, Published::Sent]);
    assert_eq!(third, vec![Published::RateLimited]);

    let reqs = server.recorded();
    assert_eq!(reqs.len(), 2, "{:?}", server.lines());
    assert_eq!(
        reqs[0].line(),
        "POST /apis/events.k8s.io/v1/namespaces/shop/events"
    );
    let ev = &reqs[0].body;
    assert_eq!(ev["reason"], "ScaleUp");
    assert_eq!(ev["action"], "Scale");
    assert_eq!(ev["type"], "Normal");
    assert_eq!(ev["reportingController"], "spillway");
    assert_eq!(ev["reportingInstance"], "spillway-0");
    assert_eq!(
        ev["regarding"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": "shop",
            "uid": "5b0c1e6a-0000-4000-8000-000000000001"})
    );
    assert_eq!(reqs[1].body["reason"], "ScaleDown");

    // After the interval, the next one goes out. kube-rs's Recorder turns a
    // repeat of the same (reason, action, object) within its 6-minute cache
    // into an event series: a PATCH of the first Event with a count.
    tokio::time::advance(Duration::from_secs(300)).await;
    assert_eq!(
        v.record("web", &target(), &[up]).await.unwrap(),
        vec![Published::Sent]
    );
    let reqs = server.recorded();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[2].method, "PATCH");
    assert_eq!(
        reqs[2].path,
        format!(
            "/apis/events.k8s.io/v1/namespaces/shop/events/{}",
            ev["metadata"]["name"].as_str().unwrap()
        )
    );
    assert_eq!(reqs[2].body["series"]["count"], 2);
}
