//! A Prometheus outage and its recovery: Missing samples while it is down,
//! real ones after, and the planner holding replicas meanwhile.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spillway_core::config;
use spillway_core::metrics::{MetricReading, MetricSample};
use spillway_core::plan::{PolicyState, ReasonCode};
use spillway_core::scaling::desired_replicas;
use spillway_metrics::prometheus::{PrometheusClient, PrometheusOptions, TlsOptions};
use spillway_metrics::{PollHooks, Poller, PollerOptions, SourceError, SourceKind, Sources};
use support::{Exporter, PromServer, eventually};

#[derive(Default)]
struct Counting {
    ok: Mutex<HashMap<&'static str, usize>>,
    errors: Mutex<HashMap<(&'static str, &'static str), usize>>,
}

impl PollHooks for Counting {
    fn fetch_done(&self, source: SourceKind, _: &str, _: Duration, error: Option<&SourceError>) {
        match error {
            None => *self.ok.lock().expect("lock").entry(source.as_str()).or_default() += 1,
            Some(e) => {
                *self
                    .errors
                    .lock()
                    .expect("lock")
                    .entry((source.as_str(), e.metric_label()))
                    .or_default() += 1
            }
        }
    }
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
    let hooks = Arc::new(Counting::default());
    let poller = Poller::new(
        Arc::new(Sources {
            prometheus: Some(client),
            resource: None,
        }),
        PollerOptions::default(),
    )
    .with_hooks(hooks.clone());

    let value_of = |s: &[MetricSample]| match &s[0].reading {
        MetricReading::Value { value } => Some(*value),
        _ => None,
    };
    let samples = eventually(Duration::from_secs(20), "the first scrape", || async {
        let s = poller.poll(&policy).await;
        value_of(&s).map(|_| s)
    })
    .await;
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
        let s = poller.poll(&policy).await;
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
        hooks
            .errors
            .lock()
            .expect("lock")
            .get(&("prometheus", "unreachable"))
            .copied()
            >= Some(3),
        "the hooks count errors by source and label"
    );

    // Recovery: same port, same data. Real values come back, and the planner
    // acts on them again (10 / 10 → 1 replica wanted; the scale-down
    // stabilization window keeps 12 for now, which says the metric was used).
    prom.restart();
    let samples = eventually(Duration::from_secs(20), "the recovered value", || async {
        let s = poller.poll(&policy).await;
        (value_of(&s) == Some(10.0)).then_some(s)
    })
    .await;
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
    assert!(hooks.ok.lock().expect("lock").get("prometheus").copied() >= Some(2));
}
