//! Metric faults (issue 8): `spillway demo --prometheus` reads its metric
//! from a real Prometheus server (Debian `prometheus`) that scrapes the
//! demo's simulated workload (`/workload/metrics`, the demand as
//! `http_requests_total`), and acts on a standalone `aci-emulator`.
//!
//! At the peak (35 replicas wanted, about 21 of them burst):
//! 1. Prometheus is killed for 12 s: the policy holds its replicas
//!    (`metricsMissingHold`), nothing is drained or deleted.
//! 2. Prometheus comes back on the same port and data: readings resume;
//!    the first ones read low (`rate()` over few fresh samples) and the
//!    scale-down stabilization, which remembers the held ticks, absorbs them.
//! 3. The query is swapped (config reload) for one answering NaN, then for
//!    one matching no series with `onMetricsMissing.fallbackReplicas: 40`:
//!    held first, then the fallback (up, never towards zero).
//! 4. The real query is restored; the demand has fallen meanwhile: normal
//!    scaling resumes, down to the VM pool, and every group is deleted.

mod support_ctl;
#[path = "../../crates/spillway-metrics/tests/support/mod.rs"]
mod support_prom;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support_ctl::{DemoProc, EmulatorProc, policy, replace_file, write_trace};
use support_prom::{PromServer, free_port};

const POLICY: &str = "web";
const QUERY: &str = r#"sum(rate(http_requests_total{service="web"}[10s]))"#;
const POLL: Duration = Duration::from_millis(250);

fn config(prometheus: &str, query: &str, on_missing: Option<Value>) -> Value {
    let mut doc = support_ctl::demo_config();
    doc["metricSources"]["prometheus"]["url"] = json!(prometheus);
    doc["interval"] = json!("1s");
    let p = &mut doc["policies"][0];
    assert_eq!(p["name"], POLICY);
    p["metrics"][0]["prometheus"]["query"] = json!(query);
    if let Some(m) = on_missing {
        p["onMetricsMissing"] = m;
    }
    doc
}

fn desired(status: &Value) -> Option<u64> {
    policy(status, POLICY)["lastPlan"]["desiredReplicas"].as_u64()
}

/// The reasons of the last plan as `code: message` lines.
fn reasons(status: &Value) -> String {
    policy(status, POLICY)["lastPlan"]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}: {}",
                r["code"].as_str().unwrap_or("?"),
                r["message"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn holding(status: &Value) -> bool {
    reasons(status).contains("metrics_missing_hold") || reasons(status).contains("metricsMissingHold")
}

struct Run {
    emu: EmulatorProc,
    demo: DemoProc,
    prom: PromServer,
}

impl Run {
    fn until(&mut self, what: &str, timeout: Duration, mut done: impl FnMut(&Value, usize) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.demo.status();
            let live = self.emu.state().live().len();
            if done(&status, live) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}\nplan: {}\nreasons:\n{}\n{}\nprometheus log:\n{}",
                policy(&status, POLICY)["lastPlan"],
                reasons(&status),
                self.demo.proc.logs(),
                self.prom.log()
            );
            std::thread::sleep(POLL);
        }
    }

    /// For `period`, every plan keeps at least `floor` replicas and the
    /// emulator sees no DELETE; returns the reasons seen.
    fn holds(&mut self, what: &str, period: Duration, floor: u64) -> Vec<String> {
        let writes_at = self.emu.state().writes.len();
        let end = Instant::now() + period;
        let mut seen = Vec::new();
        while Instant::now() < end {
            let status = self.demo.status();
            if let Some(d) = desired(&status) {
                assert!(
                    d >= floor,
                    "{what}: desired replicas fell to {d} (held at {floor})\nreasons:\n{}",
                    reasons(&status)
                );
            }
            let r = reasons(&status);
            if !seen
                .iter()
                .any(|s: &String| s.split(':').next() == r.split(':').next())
            {
                seen.push(r);
            }
            std::thread::sleep(POLL);
        }
        let state = self.emu.state();
        let deletes: Vec<String> = state.writes[writes_at..]
            .iter()
            .filter(|w| w.is_delete())
            .map(|w| format!("{} {}", w.at, w.path))
            .collect();
        assert!(deletes.is_empty(), "{what}: groups deleted: {deletes:?}");
        seen
    }
}

#[test]
fn metric_outage_nan_and_empty_hold_replicas_then_recover() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);

    let demo_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let prom = PromServer::start_scraping(&[demo_addr], "/workload/metrics");
    let cfg = logs.join("spillway.yaml");
    replace_file(&cfg, &config(&prom.url(), QUERY, None).to_string());
    // Demand seconds, played at --speed 2: the peak from 5 s to 75 s of
    // wall time, then low.
    let trace = logs.join("trace.csv");
    write_trace(
        &trace,
        900,
        |t| if (10..150).contains(&t) { 3500.0 } else { 400.0 },
    );
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 temp path").to_string();
    let (cfg_arg, trace_arg, listen) = (path(&cfg), path(&trace), demo_addr.to_string());
    let demo = DemoProc::start_on(
        "demo",
        &listen,
        &[
            "--arm-endpoint",
            &emu.url,
            "--prometheus",
            "--config",
            &cfg_arg,
            "--trace",
            &trace_arg,
            "--speed",
            "2",
            "--seed",
            "7",
            "--duration",
            "5m",
        ],
        logs,
    );
    let mut run = Run { emu, demo, prom };

    // The peak, read through Prometheus.
    let status = run.until(
        "the peak through Prometheus: at least 30 replicas wanted and burst groups alive",
        Duration::from_secs(60),
        |st, live| desired(st).unwrap_or(0) >= 30 && live > 0,
    );
    let peak = desired(&status).unwrap_or(0);
    eprintln!(
        "{:>5.1}s peak: {peak} desired, reasons:\n{}",
        t0.elapsed().as_secs_f64(),
        reasons(&status)
    );

    // 1. Prometheus down.
    run.prom.stop();
    let live_before = run.emu.state().live().len();
    run.until("a hold for the outage", Duration::from_secs(15), |st, _| {
        holding(st)
    });
    let seen = run.holds("Prometheus down", Duration::from_secs(12), peak);
    eprintln!(
        "{:>5.1}s outage held at >= {peak}: {seen:?}",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        seen.iter().any(|r| r.contains("prometheus")),
        "the hold names the failing source: {seen:?}"
    );
    assert!(
        run.emu.state().live().len() >= live_before,
        "burst groups went away during the outage"
    );

    // 2. Back: readings resume.
    run.prom.restart();
    let status = run.until(
        "readings after Prometheus restarted",
        Duration::from_secs(30),
        |st, _| !holding(st) && desired(st).is_some(),
    );
    eprintln!(
        "{:>5.1}s Prometheus back: {:?} desired, reasons:\n{}",
        t0.elapsed().as_secs_f64(),
        desired(&status),
        reasons(&status)
    );
    // The first readings are low (rate() over a window with few fresh
    // samples); the held ticks keep the scale-down stabilized meanwhile.
    let seen = run.holds("the first 10 s after the outage", Duration::from_secs(10), peak);
    eprintln!(
        "{:>5.1}s after the outage: {}",
        t0.elapsed().as_secs_f64(),
        seen.join(" | ")
    );
    let held = desired(&run.demo.status()).unwrap_or(peak);

    // 3a. A query answering NaN.
    replace_file(
        &cfg,
        &config(&run.prom.url(), &format!("{QUERY} * NaN"), None).to_string(),
    );
    run.until("a hold on NaN", Duration::from_secs(15), |st, _| holding(st));
    let seen = run.holds("NaN", Duration::from_secs(6), held);
    eprintln!("{:>5.1}s NaN held: {seen:?}", t0.elapsed().as_secs_f64());
    assert!(
        seen.iter()
            .any(|r| r.to_ascii_lowercase().contains("nan") || r.contains("finite")),
        "the hold says the value is not a number: {seen:?}"
    );

    // 3b. A query matching nothing, with a fallback of 40 replicas after 4 s.
    let empty = r#"sum(rate(http_requests_total{service="nothing-here"}[10s]))"#;
    let fallback = json!({"fallbackReplicas": 40, "after": "4s"});
    replace_file(&cfg, &config(&run.prom.url(), empty, Some(fallback)).to_string());
    run.until("a hold on an empty result", Duration::from_secs(15), |st, _| {
        holding(st)
    });
    let status = run.until("the fallback to 40 replicas", Duration::from_secs(20), |st, _| {
        desired(st) == Some(40)
    });
    let r = reasons(&status);
    eprintln!(
        "{:>5.1}s empty result, fallback:\n{r}",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        r.contains("metrics_missing_fallback") || r.contains("metricsMissingFallback"),
        "{r}"
    );
    assert!(
        r.contains("empty") || r.contains("no series"),
        "the reason names the empty result: {r}"
    );

    // 4. The real query again; the demand has fallen by now (or falls
    //    soon): normal scaling resumes down to the VM pool.
    replace_file(&cfg, &config(&run.prom.url(), QUERY, None).to_string());
    let status = run.until(
        "scale-in after recovery: under 10 replicas wanted and no group alive",
        Duration::from_secs(120),
        |st, live| desired(st).is_some_and(|d| d < 10) && live == 0,
    );
    eprintln!(
        "{:>5.1}s recovered: {:?} desired, reasons:\n{}",
        t0.elapsed().as_secs_f64(),
        desired(&status),
        reasons(&status)
    );
    assert!(desired(&status).unwrap_or(0) >= 2, "never below minReplicas");
    let state = run.emu.state();
    let leaked: Vec<&str> = state
        .groups
        .iter()
        .filter(|g| g.deleted_at.is_none() && g.provisioning_state != "Deleting")
        .map(|g| g.name.as_str())
        .collect();
    assert!(leaked.is_empty(), "groups left: {leaked:?}");
}
