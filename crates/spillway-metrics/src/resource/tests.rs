//! `ResourceSource` over kube's client with a tower-test mock API server
//! answering real Kubernetes and metrics.k8s.io JSON.

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use spillway_core::config::{ResourceMetric, ResourceName, TargetRef};
use spillway_core::metrics::PodMetric;
use spillway_core::time::Timestamp;

use super::*;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn target() -> TargetRef {
    TargetRef {
        kind: "Deployment".into(),
        namespace: "shop".into(),
        name: "web".into(),
    }
}

fn cpu_utilization() -> ResourceMetric {
    ResourceMetric {
        name: ResourceName::Cpu,
        target_average_utilization: Some(60),
        target_average_value: None,
    }
}

fn scale() -> Value {
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "7"},
        "spec": {"replicas": 3},
        "status": {"replicas": 3, "selector": "app=web,tier in (front)"}})
}

fn pod(name: &str, phase: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "shop", "labels": {"app": "web", "tier": "front"}},
        "spec": {"containers": [{"name": "app", "image": "web:1",
            "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]},
        "status": {"phase": phase, "startTime": "2026-11-27T10:00:00Z",
            "conditions": [{"type": "Ready", "status": if phase == "Running" { "True" } else { "False" },
                "lastTransitionTime": "2026-11-27T10:00:20Z"}]}})
}

fn pod_list() -> Value {
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "100"},
        "items": [pod("web-1", "Running"), pod("web-2", "Running"), pod("web-3", "Pending")]})
}

fn metrics_list() -> Value {
    json!({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
        "items": [{"metadata": {"name": "web-1", "namespace": "shop",
                "labels": {"app": "web", "tier": "front"}, "creationTimestamp": "2026-11-27T12:00:00Z"},
            "timestamp": "2026-11-27T11:59:50Z", "window": "15.012s",
            "containers": [{"name": "app", "usage": {"cpu": "750000000n", "memory": "200Mi"}}]}]})
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "the server could not find the requested resource", "reason": "NotFound",
        "details": {}, "code": 404})
}

/// Answers requests by path until the client is dropped; returns the paths seen.
async fn serve(mut handle: Handle, metrics_api: bool) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some((req, send)) = handle.next_request().await {
        let uri = req.uri().to_string();
        seen.push(uri.clone());
        let selector = "labelSelector=app%3Dweb%2Ctier+in+%28front%29";
        let (status, body) = if uri == "/apis/apps/v1/namespaces/shop/deployments/web/scale" {
            (StatusCode::OK, scale())
        } else if uri == format!("/api/v1/namespaces/shop/pods?&{selector}") {
            (StatusCode::OK, pod_list())
        } else if uri == format!("/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods?&{selector}") {
            if metrics_api {
                (StatusCode::OK, metrics_list())
            } else {
                (StatusCode::NOT_FOUND, not_found())
            }
        } else {
            (StatusCode::NOT_FOUND, not_found())
        };
        let resp = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&body).expect("json")))
            .expect("response");
        send.send_response(resp);
    }
    seen
}

fn at() -> Timestamp {
    Timestamp::from_millis(
        "2026-11-27T12:00:00Z"
            .parse::<jiff::Timestamp>()
            .expect("ts")
            .as_millisecond(),
    )
}

#[tokio::test]
async fn reads_pods_and_their_metrics_through_the_scale_selector() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(serve(handle, true));
    let source = ResourceSource::new(kube::Client::new(svc, "default"), HpaTimings::default());
    let pods = source
        .read(&target(), &cpu_utilization(), at())
        .await
        .expect("pods");
    assert_eq!(
        pods,
        vec![
            PodMetric {
                usage: Some(750.0),
                request: 500.0,
                ready: true
            },
            PodMetric {
                usage: None,
                request: 500.0,
                ready: true
            },
            PodMetric {
                usage: None,
                request: 500.0,
                ready: false
            },
        ]
    );
    drop(source);
    let seen = tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("server ends")
        .expect("server task");
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], "/apis/apps/v1/namespaces/shop/deployments/web/scale");
}

#[tokio::test]
async fn a_missing_metrics_api_is_a_typed_kube_error() {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(serve(handle, false));
    let source = ResourceSource::new(kube::Client::new(svc, "default"), HpaTimings::default());
    let err = source
        .read(&target(), &cpu_utilization(), at())
        .await
        .expect_err("404");
    assert_eq!(err.metric_label(), "kube");
    assert!(
        err.to_string().contains("metrics.k8s.io") && err.to_string().contains("404"),
        "{err}"
    );
    drop(source);
    server.abort();
}

#[tokio::test]
async fn only_deployments_are_supported() {
    let (svc, _handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let source = ResourceSource::new(kube::Client::new(svc, "default"), HpaTimings::default());
    let mut t = target();
    t.kind = "StatefulSet".into();
    let err = source.read(&t, &cpu_utilization(), at()).await.expect_err("kind");
    assert_eq!(err.metric_label(), "config");
}
