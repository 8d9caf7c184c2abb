//! Benchmarks:
//! 1. parsing a 10,000-series instant vector (`parse_instant` + reduce)
//!    against a `serde_json::Value` parse of the same body (the baseline);
//! 2. 500 policies polled against a real Prometheus server: latency per
//!    fetch and CPU per poll (client process, and the server), against a
//!    baseline of plain reqwest GETs parsed into `serde_json::Value`.
//!
//! `cargo bench -p spillway-metrics --bench poll`

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use futures::future::join_all;
use spillway_core::config::{self, Policy, SeriesMode};
use spillway_core::metrics::MetricReading;
use spillway_metrics::prometheus::parse::{Limits, parse_instant};
use spillway_metrics::prometheus::reduce::{Freshness, reduce_instant};
use spillway_metrics::prometheus::{PrometheusClient, PrometheusOptions, TlsOptions};
use spillway_metrics::{MetricRequest, Sources};

fn vector_body(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 120);
    out.extend_from_slice(br#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(
                r#"{{"metric":{{"__name__":"http_requests_total","namespace":"shop","pod":"web-{i}","code":"200"}},"value":[1700000000.123,"{}.5"]}}"#,
                i % 997
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"]}}");
    out
}

fn parse_benches(c: &mut Criterion) {
    let body = vector_body(10_000);
    let mut g = c.benchmark_group("parse_10k_series");
    g.throughput(Throughput::Bytes(body.len() as u64));
    let limits = Limits::default();
    g.bench_function("spillway_parse_instant_and_sum", |b| {
        b.iter(|| {
            let p = parse_instant(black_box(&body), &limits).expect("parses");
            reduce_instant(&p, SeriesMode::Sum, 1_700_000_000_123, &Freshness::default()).expect("sum")
        })
    });
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&body)).expect("parses"))
    });
    g.finish();
}

/// utime + stime of a process, in seconds (clock ticks at 100 Hz).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the `(comm)`; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[derive(Default)]
struct Latencies(Mutex<Vec<Duration>>, Mutex<usize>);

/// The controller's read path: `Sources` with a bound on reads in flight.
struct Reader {
    sources: Sources,
    limit: tokio::sync::Semaphore,
    latencies: Arc<Latencies>,
}

impl Reader {
    async fn poll(&self, policy: &Policy) -> Vec<MetricReading> {
        join_all(policy.metrics.iter().enumerate().map(|(index, spec)| async move {
            let _permit = self.limit.acquire().await;
            let started = Instant::now();
            let req = MetricRequest {
                policy: &policy.name,
                target: &policy.target,
                index,
                spec,
                at: support::now(),
            };
            let result = self.sources.read_typed(req).await;
            if let Ok(mut v) = self.latencies.0.lock() {
                v.push(started.elapsed());
            }
            result.unwrap_or_else(|e| {
                if let Ok(mut n) = self.latencies.1.lock() {
                    *n += 1;
                }
                MetricReading::Missing {
                    reason: e.to_string(),
                }
            })
        }))
        .await
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn policies(url: &str, n: usize) -> Vec<Arc<Policy>> {
    let mut yaml = format!(
        "cluster: {{ id: bench }}\nmetricSources: {{ prometheus: {{ url: '{url}', timeout: 5s }} }}\npolicies:\n"
    );
    for i in 0..n {
        let q = match i % 3 {
            0 => format!("sum(queue_depth{{queue=\"q{}\"}})", i % 50),
            1 => format!("sum(rate(http_requests_total{{pod=\"p{}\"}}[10s]))", i % 20),
            _ => "sum by (queue) (queue_depth)".to_string(),
        };
        let series = if i % 3 == 2 { "sum" } else { "single" };
        yaml.push_str(&format!(
            "- name: p{i}\n  target: {{ namespace: ns, name: w{i} }}\n  maxReplicas: 10\n  metrics:\n  \
             - prometheus: {{ query: '{q}', targetAverageValue: 1, series: {series} }}\n"
        ));
    }
    config::load(&yaml)
        .expect("config")
        .valid_policies()
        .cloned()
        .collect()
}

fn poll_bench() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let exporter = support::Exporter::start().await;
        for q in 0..50 {
            exporter.set_gauge(&format!("queue_depth{{queue=\"q{q}\"}}"), f64::from(q));
        }
        for p in 0..20 {
            exporter.set_counter(
                &format!("http_requests_total{{pod=\"p{p}\"}}"),
                100.0,
                f64::from(p + 1),
            );
        }
        let prom = support::PromServer::start(&[exporter.addr]);
        let url = prom.url();
        let prom_pid = prom.pid().map(|p| p.to_string()).unwrap_or_default();
        let pols = policies(&url, 500);
        let src = config::load(&format!(
            "cluster: {{ id: b }}\nmetricSources: {{ prometheus: {{ url: '{url}' }} }}\n"
        ))
        .expect("config")
        .global
        .metric_sources
        .prometheus
        .expect("prometheus");
        let client = PrometheusClient::new(
            PrometheusOptions::from_config(&src, TlsOptions::default(), None).expect("options"),
        )
        .expect("client");
        let hooks = Arc::new(Latencies::default());
        let poller = Reader {
            sources: Sources {
                prometheus: Some(client),
                resource: None,
            },
            limit: tokio::sync::Semaphore::new(16),
            latencies: hooks.clone(),
        };
        // Wait until the rate() queries have data.
        support::eventually(Duration::from_secs(30), "rates", || async {
            let s = poller.poll(&pols[1]).await;
            matches!(s[0], MetricReading::Value { .. }).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(10)).await;

        let rounds = 10;
        // Ours: the controller's read path, 500 policies, 16 in flight.
        hooks.0.lock().expect("lock").clear();
        *hooks.1.lock().expect("lock") = 0;
        let (cpu0, srv0, t0) = (cpu_seconds("self"), cpu_seconds(&prom_pid), Instant::now());
        let mut missing = 0usize;
        for _ in 0..rounds {
            let all = join_all(pols.iter().map(|p| poller.poll(p))).await;
            missing += all
                .iter()
                .flatten()
                .filter(|s| matches!(s, MetricReading::Missing { .. }))
                .count();
        }
        let wall = t0.elapsed();
        let (cpu, srv) = (cpu_seconds("self") - cpu0, cpu_seconds(&prom_pid) - srv0);
        let mut lat = hooks.0.lock().expect("lock").clone();
        lat.sort();
        let polls = (rounds * pols.len()) as f64;

        // Baseline: the same queries as plain reqwest GETs parsed into a Value, 16 in flight.
        let http = reqwest::Client::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(16));
        let queries: Vec<String> = pols
            .iter()
            .map(|p| match &p.metrics[0] {
                spillway_core::config::MetricSpec::Prometheus(m) => m.query.clone(),
                spillway_core::config::MetricSpec::Resource(_) => String::new(),
            })
            .collect();
        let (bcpu0, bsrv0, bt0) = (cpu_seconds("self"), cpu_seconds(&prom_pid), Instant::now());
        let mut blat = Vec::new();
        for _ in 0..rounds {
            let times = join_all(queries.iter().map(|q| {
                let (http, sem, url) = (http.clone(), sem.clone(), url.clone());
                async move {
                    let _p = sem.acquire().await.expect("permit");
                    let t = Instant::now();
                    let body = http
                        .get(format!("{url}/api/v1/query"))
                        .query(&[("query", q.as_str())])
                        .send()
                        .await
                        .expect("send")
                        .bytes()
                        .await
                        .expect("body");
                    black_box(serde_json::from_slice::<serde_json::Value>(&body).expect("json"));
                    t.elapsed()
                }
            }))
            .await;
            blat.extend(times);
        }
        let bwall = bt0.elapsed();
        let (bcpu, bsrv) = (cpu_seconds("self") - bcpu0, cpu_seconds(&prom_pid) - bsrv0);
        blat.sort();

        println!("\n500 policies x {rounds} rounds against a real Prometheus (16 fetches in flight):");
        println!(
            "  poller:   {:.0} polls/s; fetch latency p50 {:?} p99 {:?}; client CPU {:.1} µs/poll; \
             server CPU {:.1} µs/poll; missing {missing}; errors {}",
            polls / wall.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            cpu / polls * 1e6,
            srv / polls * 1e6,
            hooks.1.lock().map(|e| *e).unwrap_or(0),
        );
        println!(
            "  baseline: {:.0} polls/s; fetch latency p50 {:?} p99 {:?}; client CPU {:.1} µs/poll; \
             server CPU {:.1} µs/poll  (reqwest GET + serde_json::Value)",
            polls / bwall.as_secs_f64(),
            pct(&blat, 0.5),
            pct(&blat, 0.99),
            bcpu / polls * 1e6,
            bsrv / polls * 1e6,
        );
        println!(
            "  ratio poller/baseline: wall {:.2}, client CPU {:.2}",
            wall.as_secs_f64() / bwall.as_secs_f64(),
            cpu / bcpu.max(1e-9)
        );
        drop(prom);
    });
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    parse_benches(&mut c);
    c.final_summary();
    poll_bench();
}
