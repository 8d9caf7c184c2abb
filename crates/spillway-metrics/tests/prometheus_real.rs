//! Queries against a real Prometheus server scraping an exporter the test moves.

mod support;

use std::time::Duration;

use spillway_core::config::{self, SeriesMode};
use spillway_core::metrics::MetricReading;
use spillway_metrics::prometheus::{
    Auth, Freshness, InstantData, Limits, PrometheusClient, PrometheusOptions, TlsOptions,
};
use spillway_metrics::{SourceError, Sources};
use support::{Exporter, PromServer, eventually, now};
use url::Url;

fn client(url: &str) -> PrometheusClient {
    PrometheusClient::new(PrometheusOptions {
        url: Url::parse(url).expect("url"),
        auth: Auth::None,
        timeout: Duration::from_secs(5),
        tls: TlsOptions::default(),
        limits: Limits::default(),
        freshness: Freshness::default(),
    })
    .expect("client")
}

async fn value(c: &PrometheusClient, q: &str, mode: SeriesMode) -> Result<f64, SourceError> {
    c.instant(q, mode, now()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_prometheus_outcomes() {
    let exporter = Exporter::start().await;
    exporter.set_gauge(r#"queue_depth{queue="orders"}"#, 42.0);
    exporter.set_gauge(r#"queue_depth{queue="mail"}"#, 8.0);
    exporter.set_gauge("zero_gauge", 0.0);
    exporter.set_counter(r#"http_requests_total{pod="a"}"#, 1000.0, 10.0);
    exporter.set_counter(r#"http_requests_total{pod="b"}"#, 5000.0, 5.0);
    let prom = PromServer::start(&[exporter.addr]);
    let c = client(&prom.url());

    // The first scrape lands.
    let orders = r#"queue_depth{queue="orders"}"#;
    let v = eventually(Duration::from_secs(20), "the first scrape", || async {
        value(&c, orders, SeriesMode::Single).await.ok()
    })
    .await;
    assert_eq!(v, 42.0);

    // The test moves a gauge; the next scrapes show it.
    exporter.set_gauge(r#"queue_depth{queue="orders"}"#, 50.0);
    eventually(Duration::from_secs(10), "the moved gauge", || async {
        (value(&c, orders, SeriesMode::Single).await == Ok(50.0)).then_some(())
    })
    .await;

    // `sum by`: two series. `single` refuses them, `sum` adds them.
    let by_queue = "sum by (queue) (queue_depth)";
    let err = value(&c, by_queue, SeriesMode::Single)
        .await
        .expect_err("two series");
    let SourceError::MultipleSeries { count, examples } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*count, 2);
    assert!(
        examples.contains(r#"queue="mail""#) && examples.contains(r#"queue="orders""#),
        "{examples}"
    );
    assert_eq!(value(&c, by_queue, SeriesMode::Sum).await, Ok(58.0));
    assert_eq!(value(&c, "sum(queue_depth)", SeriesMode::Single).await, Ok(58.0));

    // `rate()` of counters growing 10/s and 5/s, once every series has 5
    // samples in the 5s window (with fewer, rate() extrapolates partial windows).
    eventually(Duration::from_secs(20), "5 samples per counter in 5s", || async {
        let n = value(
            &c,
            "min(count_over_time(http_requests_total[5s]))",
            SeriesMode::Single,
        )
        .await;
        (n.ok()? >= 5.0).then_some(())
    })
    .await;
    let rate = "sum(rate(http_requests_total[5s]))";
    let r = value(&c, rate, SeriesMode::Single).await.expect("rate");
    assert!((r - 15.0).abs() < 0.75, "sum(rate) = {r}, expected 15/s");
    // The same per pod: a multi-series result, summed by the client.
    let per_pod = "rate(http_requests_total[5s])";
    let summed = value(&c, per_pod, SeriesMode::Sum).await.expect("summed rate");
    assert!((summed - 15.0).abs() < 0.75, "rate summed = {summed}");
    let only_a = value(
        &c,
        r#"rate(http_requests_total{pod="a"}[5s])"#,
        SeriesMode::Single,
    )
    .await
    .expect("rate of a");
    assert!((only_a - 10.0).abs() < 0.5, "rate a = {only_a}");
    assert_eq!(
        value(&c, per_pod, SeriesMode::Single)
            .await
            .map_err(|e| e.metric_label()),
        Err("multiple_series")
    );

    // An empty selector is Empty, not 0.
    for q in [
        "no_such_metric",
        r#"queue_depth{queue="none"}"#,
        "sum(no_such_metric)",
    ] {
        assert_eq!(
            value(&c, q, SeriesMode::Sum).await,
            Err(SourceError::Empty),
            "{q}"
        );
    }

    // Divisions by zero: NaN and +Inf are typed outcomes.
    let nan = value(&c, "zero_gauge / zero_gauge", SeriesMode::Single)
        .await
        .expect_err("NaN");
    assert!(
        matches!(nan, SourceError::NotFinite { value, .. } if value.is_nan()),
        "{nan:?}"
    );
    let inf = value(&c, r#"sum(queue_depth) / sum(zero_gauge)"#, SeriesMode::Single)
        .await
        .expect_err("Inf");
    assert!(
        matches!(inf, SourceError::NotFinite { value, .. } if value == f64::INFINITY),
        "{inf:?}"
    );

    // Query errors keep Prometheus' errorType.
    for q in ["sum(", "rate(queue_depth)"] {
        let e = value(&c, q, SeriesMode::Single).await.expect_err(q);
        let SourceError::Query { error_type, message } = &e else {
            panic!("{q}: {e:?}")
        };
        assert_eq!(error_type, "bad_data", "{q}: {message}");
    }

    // Scalars are numbers; a range vector is a matrix, refused.
    assert_eq!(
        value(&c, r#"scalar(queue_depth{queue="orders"})"#, SeriesMode::Single).await,
        Ok(50.0)
    );
    assert_eq!(
        value(&c, "scalar(no_such_metric)", SeriesMode::Single)
            .await
            .map_err(|e| e.metric_label()),
        Err("not_finite")
    );
    let m = value(&c, "queue_depth[10s]", SeriesMode::Sum)
        .await
        .expect_err("matrix");
    assert_eq!(m, SourceError::Matrix { series: 2 });

    // Before any data existed the selector is empty.
    let long_ago = spillway_core::time::Timestamp::from_secs(1_000_000_000);
    assert_eq!(
        c.instant("sum(queue_depth)", SeriesMode::Sum, long_ago).await,
        Err(SourceError::Empty)
    );

    // Raw: the parser sees Prometheus' own stamps at the evaluation time.
    let at = now();
    let raw = c.instant_raw("queue_depth", at).await.expect("raw");
    let InstantData::Vector(stats) = raw.data else {
        panic!("{raw:?}")
    };
    assert_eq!((stats.series, stats.newest_ms), (2, Some(at.millis())));

    // Range query: the per-step sum of the two gauges (50 + 8) once 3s of
    // data at the new value exist.
    let end = now();
    let start = spillway_core::time::Timestamp::from_millis(end.millis() - 3_000);
    let points = c
        .range("queue_depth", start, end, Duration::from_secs(1), SeriesMode::Sum)
        .await
        .expect("range");
    assert_eq!(points.len(), 4, "{points:?}");
    assert!(points.iter().all(|p| p.value == 58.0), "{points:?}");
    assert_eq!(
        c.range(
            "queue_depth",
            start,
            end,
            Duration::from_secs(1),
            SeriesMode::Single
        )
        .await
        .map_err(|e| e.metric_label()),
        Err("multiple_series")
    );
    let bad = c
        .range("sum(", start, end, Duration::from_secs(1), SeriesMode::Sum)
        .await;
    assert_eq!(bad.map_err(|e| e.metric_label()), Err("query_error"));

    // A size limit below the answer, a wrong path and a closed port.
    let tiny = PrometheusClient::new(PrometheusOptions {
        limits: Limits {
            max_body_bytes: 64,
            ..Limits::default()
        },
        ..c.options().clone()
    })
    .expect("client");
    assert_eq!(
        value(&tiny, "queue_depth", SeriesMode::Sum).await,
        Err(SourceError::TooLarge { limit: 64 })
    );
    let wrong = client(&format!("{}/not-prometheus/", prom.url()));
    let e = value(&wrong, "up", SeriesMode::Sum).await.expect_err("404");
    assert!(matches!(e, SourceError::Http { status: 404, .. }), "{e:?}");
    let closed = client(&format!("http://127.0.0.1:{}", support::free_port()));
    assert_eq!(
        value(&closed, "up", SeriesMode::Sum)
            .await
            .map_err(|e| e.metric_label()),
        Err("unreachable")
    );

    // The whole path: a config document and the Sources seam, as the controller reads it.
    let yaml = format!(
        r#"
cluster: {{ id: test }}
metricSources:
  prometheus: {{ url: "{}", timeout: 5s }}
policies:
- name: queue
  target: {{ namespace: shop, name: worker }}
  maxReplicas: 100
  metrics:
  - prometheus: {{ query: 'queue_depth{{queue="orders"}}', targetAverageValue: 10 }}
  - prometheus: {{ query: 'queue_depth', targetAverageValue: 10, series: sum }}
  - prometheus: {{ query: 'queue_depth', targetAverageValue: 10 }}
  - prometheus: {{ query: 'zero_gauge / zero_gauge', targetAverageValue: 10 }}
"#,
        prom.url()
    );
    let cfg = config::load(&yaml).expect("valid config");
    let policy = cfg.valid_policies().next().expect("one policy").clone();
    let prom_cfg = cfg.global.metric_sources.prometheus.clone().expect("prometheus");
    let opts = PrometheusOptions::from_config(&prom_cfg, TlsOptions::default(), None).expect("options");
    let sources = Sources {
        prometheus: Some(PrometheusClient::new(opts).expect("client")),
        resource: None,
    };
    let samples = read_all(&sources, &policy).await;
    assert_eq!(samples.len(), 4);
    assert_eq!(samples[0], MetricReading::Value { value: 50.0 });
    assert_eq!(samples[1], MetricReading::Value { value: 58.0 });
    for (i, want) in [(2, "multiple_series"), (3, "NaN")] {
        let MetricReading::Missing { reason } = &samples[i] else {
            panic!("metrics[{i}]: {:?}", samples[i])
        };
        assert!(reason.starts_with("prometheus: "), "{reason}");
        let needle = if want == "multiple_series" { "series" } else { want };
        assert!(reason.contains(needle), "metrics[{i}]: {reason}");
    }
}

/// Every metric of `policy` read once, failures as `Missing` with the
/// source's name first, as the controller's tick records them.
async fn read_all(sources: &Sources, policy: &spillway_core::config::Policy) -> Vec<MetricReading> {
    let mut out = Vec::new();
    for (index, spec) in policy.metrics.iter().enumerate() {
        let req = spillway_metrics::MetricRequest {
            policy: &policy.name,
            target: &policy.target,
            index,
            spec,
            at: now(),
        };
        out.push(match sources.read_typed(req).await {
            Ok(r) => r,
            Err(e) => MetricReading::Missing {
                reason: format!("prometheus: {e}"),
            },
        });
    }
    out
}
