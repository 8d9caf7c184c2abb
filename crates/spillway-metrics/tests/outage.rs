//! A Prometheus outage and its recovery: Missing samples while it is down,
//! real ones after, and the planner holding replicas meanwhile.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use spillway_core::config::{self, Policy};
use spillway_core::metrics::{MetricReading, MetricSample};
use spillway_core::plan::{PolicyState, ReasonCode};
use spillway_core::scaling::desired_replicas;
use spillway_metrics::prometheus::{PrometheusClient, PrometheusOptions, TlsOptions};
use spillway_metrics::{MetricRequest, SourceKind, Sources};
use support::{Exporter, PromServer};

/// One read of every metric, as the controller's tick does it: a failure is
/// a `Missing` sample with the source's name and the typed error's label
/// counted.
async fn poll(
    sources: &Sources,
    policy: &Policy,
    errors: &mut HashMap<&'static str, usize>,
) -> Vec<MetricSample> {
    let mut out = Vec::new();
    for (index, spec) in policy.metrics.iter().enumerate() {
        let at = support::now();
        let req = MetricRequest {
            policy: &policy.name,
            target: &policy.target,
            index,
            spec,
            at,
        };
        let kind = SourceKind::of(spec).as_str();
        out.push(match sources.read_typed(req).await {
            Ok(reading) => MetricSample {
                index,
                reading,
                observed_at: at,
            },
            Err(e) => {
                *errors.entry(e.metric_label()).or_default() += 1;
                MetricSample::missing(index, format!("{kind}: {e}"), at)
            }
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_gives_missing_then_recovery_gives_values_and_the_planner_holds() {
    let exporter = Exporter::start().await;
    exporter.set_gauge(r#"queue_depth{queue="orders"}"#, 120.0);
    let mut prom = PromServer::start(&[exporter.addr]);

    let yaml = format!(
        r#"
cluster: {{ id: test }}
metricSources:
  prometheus: {{ url: "{}", timeout: 2s }}
policies:
- name: queue
  target: {{ namespace: shop, name: worker }}
  minReplicas: 1
  maxReplicas: 50
  metrics:
  - prometheus: {{ query: 'sum(queue_depth)', targetAverageValue: 10 }}
  onMetricsMissing: {{ hold: true, fallbackReplicas: 30, after: 10m }}
"#,
        prom.url()
    );
    let cfg = config::load(&yaml).expect("valid config");
    let policy = cfg.valid_policies().next().expect("policy").clone();
    let prom_cfg = cfg.global.metric_sources.prometheus.clone().expect("prometheus");
    let client = PrometheusClient::new(
        PrometheusOptions::from_config(&prom_cfg, TlsOptions::default(), None).expect("options"),
    )
    .expect("client");
    let sources = Sources {
        prometheus: Some(client),
        resource: None,
    };
    let mut errors = HashMap::new();

    let value_of = |s: &[MetricSample]| match &s[0].reading {
        MetricReading::Value { value } => Some(*value),
        _ => None,
    };
    let mut samples = Vec::new();
    for _ in 0..100 {
        samples = poll(&sources, &policy, &mut errors).await;
        if value_of(&samples).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value_of(&samples), Some(120.0));

    // Up: 120 / 10 per replica → 12 replicas (scale-up behavior allows it from 8).
    let mut state = PolicyState::default();
    let d = desired_replicas(&policy, &samples, 8, 8, samples[0].observed_at, &mut state);
    assert_eq!(d.replicas, 12, "{:?}", d.reasons);

    // Outage: Prometheus is gone. Every poll is Missing with a typed reason,
    // and the planner holds 12 instead of scaling on a made-up number.
    prom.stop();
    exporter.set_gauge(r#"queue_depth{queue="orders"}"#, 10.0);
    for _ in 0..3 {
        let s = poll(&sources, &policy, &mut errors).await;
        let MetricReading::Missing { reason } = &s[0].reading else {
            panic!("expected Missing during the outage: {s:?}")
        };
        assert!(reason.starts_with("prometheus: unreachable"), "{reason}");
        let d = desired_replicas(&policy, &s, 12, 12, s[0].observed_at, &mut state);
        assert_eq!(d.replicas, 12, "{:?}", d.reasons);
        assert!(
            d.reasons.iter().any(|r| r.code == ReasonCode::MetricsMissingHold),
            "{:?}",
            d.reasons
        );
    }
    assert!(
        errors.get("unreachable").copied() >= Some(3),
        "errors are typed: {errors:?}"
    );

    // Recovery: same port, same data. Real values come back, and the planner
    // acts on them again (10 / 10 → 1 replica wanted; the scale-down
    // stabilization window keeps 12 for now, which says the metric was used).
    prom.restart();
    let mut samples = Vec::new();
    for _ in 0..100 {
        samples = poll(&sources, &policy, &mut errors).await;
        if value_of(&samples) == Some(10.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value_of(&samples), Some(10.0), "recovered within 20 s");
    let d = desired_replicas(&policy, &samples, 12, 12, samples[0].observed_at, &mut state);
    assert!(
        !d.reasons.iter().any(|r| r.code == ReasonCode::MetricsMissingHold),
        "{:?}",
        d.reasons
    );
    assert!(
        d.reasons
            .iter()
            .any(|r| r.code == ReasonCode::ScaleDownStabilized),
        "{:?}",
        d.reasons
    );
}
