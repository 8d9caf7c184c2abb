use serde_json::json;

use super::*;

const NOW: &str = "2026-11-27T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().expect("timestamp")
}

fn pod(name: &str, phase: &str, ready: Option<(&str, &str)>, start: Option<&str>, cpu: Option<&str>) -> Pod {
    let mut requests = serde_json::Map::new();
    if let Some(c) = cpu {
        requests.insert("cpu".into(), json!(c));
    }
    requests.insert("memory".into(), json!("256Mi"));
    let conditions: Vec<serde_json::Value> = ready
        .map(|(status, at)| json!({"type": "Ready", "status": status, "lastTransitionTime": at}))
        .into_iter()
        .collect();
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "web", "resources": {"requests": requests}}]},
        "status": {"phase": phase, "conditions": conditions, "startTime": start}
    }))
    .expect("pod")
}

fn running(name: &str) -> Pod {
    pod(
        name,
        "Running",
        Some(("True", "2026-11-27T10:00:30Z")),
        Some("2026-11-27T10:00:00Z"),
        Some("500m"),
    )
}

fn metrics(name: &str, cpu: &str, at: &str) -> PodMetrics {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "shop"},
        "timestamp": at, "window": "30s",
        "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": "128Mi"}}]
    }))
    .expect("metrics")
}

fn run(pods: &[Pod], m: &[PodMetrics], r: ResourceName) -> Result<Vec<PodMetric>, SourceError> {
    classify(pods, m, r, true, now(), &HpaTimings::default())
}

#[test]
fn ready_pods_with_metrics() {
    let out = run(
        &[running("a"), running("b")],
        &[metrics("a", "250m", NOW), metrics("b", "100000000n", NOW)],
        ResourceName::Cpu,
    )
    .expect("classified");
    assert_eq!(
        out,
        vec![
            PodMetric {
                usage: Some(250.0),
                request: 500.0,
                ready: true
            },
            PodMetric {
                usage: Some(100.0),
                request: 500.0,
                ready: true
            },
        ]
    );
}

#[test]
fn cpu_is_rounded_up_to_millicores_and_memory_is_bytes() {
    let out = run(&[running("a")], &[metrics("a", "1n", NOW)], ResourceName::Cpu).expect("cpu");
    assert_eq!(out[0].usage, Some(1.0));
    let out = run(&[running("a")], &[metrics("a", "1n", NOW)], ResourceName::Memory).expect("mem");
    assert_eq!(out[0].usage, Some(128.0 * 1024.0 * 1024.0));
    assert_eq!(out[0].request, 256.0 * 1024.0 * 1024.0);
}

#[test]
fn pods_without_metrics_are_missing() {
    let out = run(
        &[running("a"), running("b")],
        &[metrics("a", "250m", NOW)],
        ResourceName::Cpu,
    )
    .expect("classified");
    assert_eq!(
        out[1],
        PodMetric {
            usage: None,
            request: 500.0,
            ready: true
        }
    );
}

#[test]
fn a_container_without_the_resource_makes_the_pod_missing() {
    let mut m = metrics("a", "250m", NOW);
    m.containers.push(super::super::podmetrics::ContainerMetrics {
        name: "sidecar".into(),
        usage: Default::default(),
    });
    let out = run(&[running("a")], &[m], ResourceName::Cpu).expect("classified");
    assert_eq!(out[0].usage, None);
    let mut empty = metrics("a", "250m", NOW);
    empty.containers.clear();
    let out = run(&[running("a")], &[empty], ResourceName::Cpu).expect("classified");
    assert_eq!(out[0].usage, None);
}

#[test]
fn deleted_and_failed_pods_are_ignored_and_pending_pods_are_unready() {
    let mut deleted = running("d");
    deleted.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    let failed = pod("f", "Failed", None, None, Some("500m"));
    let pending = pod("p", "Pending", None, None, Some("500m"));
    let out = run(
        &[running("a"), deleted, failed, pending],
        &[
            metrics("a", "250m", NOW),
            metrics("d", "900m", NOW),
            metrics("f", "900m", NOW),
        ],
        ResourceName::Cpu,
    )
    .expect("classified");
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[1],
        PodMetric {
            usage: None,
            request: 500.0,
            ready: false
        }
    );
}

#[test]
fn no_live_pods_is_an_error() {
    assert_eq!(run(&[], &[], ResourceName::Cpu), Err(SourceError::NoPods));
    let failed = pod("f", "Failed", None, None, Some("1"));
    assert_eq!(run(&[failed], &[], ResourceName::Cpu), Err(SourceError::NoPods));
}

#[test]
fn cpu_initialization_period_rules() {
    // Started 2 minutes ago (inside the 5m period), Ready since 90s ago.
    let young = |name: &str, ready: &str| {
        pod(
            name,
            "Running",
            Some((ready, "2026-11-27T11:58:30Z")),
            Some("2026-11-27T11:58:00Z"),
            Some("1"),
        )
    };
    // Sample window [11:59:30, 12:00:00] began after it became Ready: ready.
    let out = run(
        &[young("a", "True")],
        &[metrics("a", "1", NOW)],
        ResourceName::Cpu,
    )
    .expect("a");
    assert!(out[0].ready);
    // Sample taken 11:58:50, window began 11:58:20 — before Ready at 11:58:30: unready.
    let out = run(
        &[young("a", "True")],
        &[metrics("a", "1", "2026-11-27T11:58:50Z")],
        ResourceName::Cpu,
    )
    .expect("a");
    assert!(!out[0].ready);
    // Not Ready within the period: unready, usage kept.
    let out = run(
        &[young("a", "False")],
        &[metrics("a", "1", NOW)],
        ResourceName::Cpu,
    )
    .expect("a");
    assert_eq!(
        out[0],
        PodMetric {
            usage: Some(1000.0),
            request: 1000.0,
            ready: false
        }
    );
    // Memory ignores readiness.
    let out = run(
        &[young("a", "False")],
        &[metrics("a", "1", NOW)],
        ResourceName::Memory,
    )
    .expect("a");
    assert!(out[0].ready);
}

#[test]
fn after_initialization_only_never_ready_pods_are_unready() {
    // Started an hour ago; became unready 10 min ago after having been ready: counted.
    let was_ready = pod(
        "a",
        "Running",
        Some(("False", "2026-11-27T11:50:00Z")),
        Some("2026-11-27T11:00:00Z"),
        Some("1"),
    );
    // Started an hour ago, unready since 10s after start (never ready): unready.
    let never = pod(
        "b",
        "Running",
        Some(("False", "2026-11-27T11:00:10Z")),
        Some("2026-11-27T11:00:00Z"),
        Some("1"),
    );
    let no_condition = pod("c", "Running", None, Some("2026-11-27T11:00:00Z"), Some("1"));
    let out = run(
        &[was_ready, never, no_condition],
        &[
            metrics("a", "1", NOW),
            metrics("b", "1", NOW),
            metrics("c", "1", NOW),
        ],
        ResourceName::Cpu,
    )
    .expect("classified");
    assert_eq!(
        out.iter().map(|p| p.ready).collect::<Vec<_>>(),
        vec![true, false, false]
    );
}

#[test]
fn requests_sum_containers_and_sidecars_and_a_missing_one_fails_utilization() {
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "a"},
        "spec": {
            "initContainers": [
                {"name": "init", "resources": {"requests": {"cpu": "2"}}},
                {"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m"}}}
            ],
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "400m"}}},
                {"name": "log", "resources": {"requests": {"cpu": "0.05"}}}
            ]
        },
        "status": {"phase": "Running", "startTime": "2026-11-27T10:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-27T10:00:20Z"}]}
    }))
    .expect("pod");
    let out = run(
        std::slice::from_ref(&p),
        &[metrics("a", "1", NOW)],
        ResourceName::Cpu,
    )
    .expect("ok");
    assert_eq!(out[0].request, 550.0);

    let no_request = pod(
        "b",
        "Running",
        Some(("True", "2026-11-27T10:00:30Z")),
        Some("2026-11-27T10:00:00Z"),
        None,
    );
    let err = run(std::slice::from_ref(&no_request), &[], ResourceName::Cpu).expect_err("no request");
    assert_eq!(
        err,
        SourceError::MissingRequest {
            resource: "cpu".into(),
            container: "app".into(),
            pod: "b".into()
        }
    );
    // An AverageValue target does not need requests.
    let ok = classify(
        &[no_request],
        &[metrics("b", "1", NOW)],
        ResourceName::Cpu,
        false,
        now(),
        &HpaTimings::default(),
    );
    assert_eq!(ok.map(|v| v[0].usage), Ok(Some(1000.0)));
}

#[test]
fn unparsable_quantities_are_malformed() {
    let err = run(&[running("a")], &[metrics("a", "lots", NOW)], ResourceName::Cpu).expect_err("bad");
    assert_eq!(err.metric_label(), "malformed");
}

#[test]
fn running_unready_pod_without_metrics_is_missing() {
    // Issue 15 item 5: groupPods puts a Running pod without metrics in the
    // missing set before looking at readiness, so it counts at 100 % of its
    // request on a scale-down instead of being ignored.
    let unready = pod(
        "u",
        "Running",
        Some(("False", "2026-11-27T11:00:00Z")),
        Some("2026-11-27T10:00:00Z"),
        Some("1"),
    );
    let out = run(
        &[running("a"), unready],
        &[metrics("a", "250m", NOW)],
        ResourceName::Cpu,
    )
    .expect("classified");
    assert_eq!(
        out[1],
        PodMetric {
            usage: None,
            request: 1000.0,
            ready: true
        }
    );
}
