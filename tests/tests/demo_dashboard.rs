//! `spillway demo` scraped by a real Prometheus (issue 7, first Must-show):
//! burst replicas appear in the ACI emulator during the spike and are all
//! gone after it, and every PromQL expression of `dashboards/spillway.json`
//! returns data from that Prometheus.
//!
//! Timeline at `--speed 2` (the demo scenario's spike, demand seconds
//! 20–110, is wall seconds 10–55): burst groups are created around 20 s,
//! drained and deleted between roughly 75 s and 100 s (the scale-down and
//! burst scale-in stabilization windows are wall-clock), and the demo ends
//! itself at `DEMO_DURATION`. The whole test takes about 2.5 minutes.

mod support_ctl;
#[path = "../../crates/spillway-metrics/tests/support/mod.rs"]
mod support_prom;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use support_ctl::prom_api::{PromApi, unix_now};
use support_ctl::{DemoProc, get_json, tail};
use support_prom::PromServer;

const DASHBOARD: &str = include_str!("../../dashboards/spillway.json");
/// Where the controller registers its metric families.
const REGISTRIES: &[&str] = &[
    include_str!("../../crates/spillway-controller/src/telemetry.rs"),
    include_str!("../../crates/spillway-controller/src/standby_metrics.rs"),
];

const DEMO_DURATION: u64 = 140;
/// Burst groups must exist by then (the spike rises at ~10 s, the first
/// groups are created at ~20 s).
const BURST_BY: u64 = 70;
/// Every burst group must be deleted by then, leaving time for the queries
/// while the demo still runs.
const CLEAN_BY: u64 = 125;

const CLUSTER_TAG: &str = "spillway.io/cluster";
const POLICY_TAG: &str = "spillway.io/policy";

/// Expressions whose healthy reading in the demo is 0 all along: errors,
/// throttling, and pods waiting for a node (the demo's pool has room for
/// what the Deployment asks; the rest goes to ACI).
const MAY_BE_ZERO: &[&str] = &[
    "spillway_reconcile_errors_total",
    r#"code!~"2..""#,
    r#"code="429""#,
    r#"state="pending_"#,
];

// ------------------------------------------------------------------ the dashboard

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("dashboards/spillway.json is JSON")
}

/// Every (panel title, expression) of the dashboard, rows included.
fn expressions(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = d["panels"].as_array().expect("panels").iter().collect();
    while let Some(p) = stack.pop() {
        if let Some(nested) = p["panels"].as_array() {
            stack.extend(nested);
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default();
            out.push((p["title"].as_str().unwrap_or("?").to_string(), expr.to_string()));
        }
    }
    out.sort();
    out
}

/// Grafana's variables, as a dashboard showing policy `web` over `range`
/// would expand them.
fn substitute(expr: &str, range: &str) -> String {
    let s = expr
        .replace("${__rate_interval}", "30s")
        .replace("$__rate_interval", "30s")
        .replace("${__interval}", "5s")
        .replace("$__interval", "5s")
        .replace("${__range}", range)
        .replace("$__range", range)
        .replace("${policy:regex}", "web")
        .replace("${policy}", "web")
        .replace("$policy", "web");
    assert!(!s.contains('$'), "unknown variable left in {s:?} (from {expr:?})");
    s
}

/// Metric names an expression reads, with the label names of its matchers.
fn selectors(expr: &str) -> BTreeMap<String, BTreeSet<String>> {
    let b = expr.as_bytes();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            c if ident(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                let name = &expr[start..i];
                if !(name.starts_with("spillway_") || name.starts_with("process_")) {
                    continue;
                }
                let labels = out.entry(name.to_string()).or_default();
                let mut j = i;
                while j < b.len() && b[j] == b' ' {
                    j += 1;
                }
                if j < b.len() && b[j] == b'{' {
                    let end = expr[j..].find('}').map(|e| j + e).expect("closing }");
                    for m in expr[j + 1..end].split(',') {
                        let label: String = m
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        if !label.is_empty() {
                            labels.insert(label);
                        }
                    }
                    i = end + 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn registered(family: &str) -> bool {
    REGISTRIES.iter().any(|r| r.contains(&format!("\"{family}\"")))
}

/// The family a series name belongs to (`x_bucket` → `x`).
fn family(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|base| registered(base))
        .unwrap_or(name)
}

#[test]
fn dashboard_is_valid_grafana_json_on_the_datasource_variable() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion"
    );
    assert_eq!(d["uid"], "spillway");
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    let var = |name: &str| {
        vars.iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no `{name}` template variable"))
    };
    let ds = var("datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    let policy = var("policy");
    assert_eq!(policy["type"], "query");
    assert_eq!(policy["datasource"]["uid"], "${datasource}");
    assert_eq!(
        policy["definition"],
        "label_values(spillway_desired_replicas, policy)"
    );

    let mut ids = BTreeSet::new();
    let mut stack: Vec<&Value> = d["panels"].as_array().expect("panels").iter().collect();
    let mut graphs = 0;
    while let Some(p) = stack.pop() {
        let title = p["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "duplicate id on {title}"
        );
        for k in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][k].is_u64(), "{title}: gridPos.{k}");
        }
        if let Some(nested) = p["panels"].as_array() {
            stack.extend(nested);
        }
        if p["type"] == "row" {
            continue;
        }
        graphs += 1;
        assert_eq!(
            p["datasource"],
            serde_json::json!({"type": "prometheus", "uid": "${datasource}"}),
            "{title}: the panel's datasource must be the variable"
        );
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert_eq!(
                t["datasource"]["uid"], "${datasource}",
                "{title}: target datasource"
            );
            let expr = t["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: empty expr");
            let reads = selectors(&substitute(expr, "5m"));
            assert!(!reads.is_empty(), "{title}: {expr} reads no spillway metric");
            for name in reads.keys() {
                assert!(
                    name.starts_with("process_") || registered(family(name)),
                    "{title}: {name} is not a metric registered in crates/spillway-controller/src/{{telemetry,standby_metrics}}.rs"
                );
            }
        }
    }
    assert!(graphs >= 20, "only {graphs} panels");
    // The issue's list: every family the controller exports is on a panel.
    let read: BTreeSet<String> = expressions(&d)
        .iter()
        .flat_map(|(_, e)| selectors(&substitute(e, "5m")).into_keys())
        .map(|n| family(&n).to_string())
        .collect();
    for needed in [
        "spillway_desired_replicas",
        "spillway_vm_replicas",
        "spillway_burst_replicas",
        "spillway_vm_fit_replicas",
        "spillway_metric_value",
        "spillway_scale_decisions_total",
        "spillway_aci_requests_total",
        "spillway_aci_request_duration_seconds",
        "spillway_burst_provision_seconds",
        "spillway_burst_cost_per_hour",
        "spillway_burst_cost_total",
        "spillway_reconcile_duration_seconds",
        "spillway_reconcile_errors_total",
        "spillway_metric_polls_total",
        "spillway_metric_poll_duration_seconds",
        "spillway_config_valid",
        "spillway_policy_enabled",
        "spillway_leader",
        "process_resident_memory_bytes",
    ] {
        assert!(read.contains(needed), "no panel reads {needed}");
    }
}

#[test]
fn selector_parsing() {
    let s = selectors(
        r#"sum by (le) (rate(spillway_x_bucket{policy=~"web", code!~"2.."}[30s])) or on () vector(0) and process_y"#,
    );
    assert_eq!(s.len(), 2);
    assert_eq!(
        s["spillway_x_bucket"],
        BTreeSet::from(["policy".to_string(), "code".to_string()])
    );
    assert!(s["process_y"].is_empty());
}

// ------------------------------------------------------------------ the demo

/// Burst groups in the emulator's inventory.
struct Groups {
    all: Vec<Value>,
}

impl Groups {
    fn read(demo: &Demo) -> Groups {
        let url = format!("{}/_emulator/state", demo.emulator);
        let state = get_json(&url).unwrap_or_else(|e| panic!("{e}\n{}", demo.output()));
        Groups {
            all: state["groups"].as_array().cloned().unwrap_or_default(),
        }
    }
    fn live(&self) -> Vec<&Value> {
        self.all.iter().filter(|g| g["deletedAt"].is_null()).collect()
    }
    fn names(&self) -> BTreeSet<String> {
        self.all
            .iter()
            .filter_map(|g| g["name"].as_str().map(str::to_string))
            .collect()
    }
}

fn assert_ours(groups: &Groups, demo: &Demo) {
    for g in &groups.all {
        assert_eq!(
            (g["tags"][CLUSTER_TAG].as_str(), g["tags"][POLICY_TAG].as_str()),
            (Some("demo"), Some("web")),
            "a group not tagged {CLUSTER_TAG}=demo, {POLICY_TAG}=web: {g}\n{}",
            demo.output()
        );
    }
}

/// Every finite value of a `query_range` matrix.
fn finite_values(result: &[Value]) -> Vec<f64> {
    result
        .iter()
        .flat_map(|s| s["values"].as_array().into_iter().flatten())
        .filter_map(|p| p[1].as_str()?.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .collect()
}

fn scalar(prom: &PromApi, expr: &str, at: f64) -> Option<f64> {
    let r = prom.query(expr, at).unwrap_or_else(|e| panic!("{expr}: {e}"));
    r.first()
        .and_then(|s| s["value"][1].as_str())
        .and_then(|v| v.parse().ok())
}

/// `spillway demo` with its own emulator, and when it started.
struct Demo {
    proc: DemoProc,
    started: Instant,
    /// `http://127.0.0.1:PORT` of the ACI emulator.
    emulator: String,
    /// `127.0.0.1:PORT` serving `/metrics`.
    metrics_addr: String,
}

impl Demo {
    fn start(dir: &std::path::Path, args: &[&str]) -> Demo {
        let mut all = vec!["--log-format", "json"];
        all.extend_from_slice(args);
        let started = Instant::now();
        let proc = DemoProc::start("demo", &all, dir);
        let emulator = proc
            .emulator_url()
            .unwrap_or_else(|| panic!("the demo printed no emulator URL\n{}", proc.proc.logs()));
        let metrics_addr = proc.base.trim_start_matches("http://").to_string();
        Demo {
            proc,
            started,
            emulator,
            metrics_addr,
        }
    }

    /// Seconds since the demo started.
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// How it exited, once it has.
    fn exited(&mut self) -> Option<String> {
        self.proc.proc.exited().map(|s| s.to_string())
    }

    /// Its output, for failure messages.
    fn output(&self) -> String {
        self.proc.proc.logs()
    }
}

#[test]
fn demo_bursts_during_the_spike_cleans_up_after_it_and_feeds_every_dashboard_query() {
    let test_started = Instant::now();
    // Fail before anything starts when Prometheus is missing.
    support_prom::prometheus_bin();

    let dir = tempfile::tempdir().expect("tempdir");
    let duration = format!("{DEMO_DURATION}s");
    let mut demo = Demo::start(dir.path(), &["--speed", "2", "--duration", &duration]);
    let server = PromServer::start(&[demo.metrics_addr.parse().expect("the demo's address")]);
    let prom = PromApi { url: server.url() };
    let prom_started = unix_now();
    eprintln!(
        "demo: emulator {} metrics {}; prometheus {}",
        demo.emulator, demo.metrics_addr, prom.url
    );

    // (a) The spike: live burst groups of this cluster appear in the emulator.
    let mut peak_live;
    loop {
        if let Some(status) = demo.exited() {
            panic!(
                "the demo exited with {status} during the spike\n{}",
                demo.output()
            );
        }
        let groups = Groups::read(&demo);
        assert_ours(&groups, &demo);
        let live = groups.live().len();
        if live > 0 {
            peak_live = live;
            eprintln!("t={:.0}s: {live} live burst groups", demo.elapsed());
            break;
        }
        assert!(
            demo.elapsed() < BURST_BY as f64,
            "no burst group in the emulator {BURST_BY}s into the demo\n{}",
            demo.output()
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    // (b) After the spike every one of them is deleted.
    let created = loop {
        if let Some(status) = demo.exited() {
            panic!(
                "the demo exited with {status} before cleaning up\n{}",
                demo.output()
            );
        }
        let groups = Groups::read(&demo);
        assert_ours(&groups, &demo);
        let live = groups.live();
        peak_live = peak_live.max(live.len());
        if live.is_empty() {
            eprintln!(
                "t={:.0}s: all {} burst groups deleted (peak {peak_live} live)",
                demo.elapsed(),
                groups.all.len()
            );
            break groups.names();
        }
        assert!(
            demo.elapsed() < CLEAN_BY as f64,
            "{} burst groups still live {CLEAN_BY}s into the demo: {:?}\n{}",
            live.len(),
            live.iter()
                .map(|g| (&g["name"], &g["provisioningState"]))
                .collect::<Vec<_>>(),
            demo.output()
        );
        std::thread::sleep(Duration::from_secs(1));
    };

    // The controller sees the deletions on its next tick (every 5 s) and its
    // gauges follow; wait until Prometheus has scraped that.
    let settle = Instant::now() + Duration::from_secs(20);
    loop {
        let left = scalar(&prom, r#"sum(spillway_burst_replicas{policy="web"})"#, unix_now());
        if left == Some(0.0) {
            break;
        }
        assert!(
            Instant::now() < settle,
            "spillway_burst_replicas still {left:?} 20s after the emulator deleted every group\n{}",
            demo.output()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        demo.exited().is_none(),
        "the demo ended before the queries\n{}",
        demo.output()
    );
    let at = unix_now();
    let range = format!("{}s", (at - prom_started).ceil() as u64 + 5);

    let mut failures = Vec::new();
    // (c) Every dashboard expression has data: a non-empty instant result
    // at the end, and over the run at least one finite value (a quantile of
    // a histogram without observations is NaN: an empty panel) and, unless
    // zero is the healthy reading (errors, throttling, pending pods), at
    // least one value above zero.
    let d = dashboard();
    let exprs = expressions(&d);
    let mut reads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (title, raw) in &exprs {
        let expr = substitute(raw, &range);
        for (name, labels) in selectors(&expr) {
            reads.entry(name).or_default().extend(labels);
        }
        match prom.query(&expr, at) {
            Ok(r) if r.is_empty() => failures.push(format!("{title}: {expr}: empty result")),
            Ok(_) => {}
            Err(e) => failures.push(format!("{title}: {expr}: {e}")),
        }
        match prom.query_range(&expr, prom_started, at, 1.0) {
            Ok(r) => {
                let values = finite_values(&r);
                if values.is_empty() {
                    failures.push(format!("{title}: {expr}: no finite value during the run"));
                } else if !MAY_BE_ZERO.iter().any(|z| expr.contains(z)) && !values.iter().any(|v| *v > 0.0) {
                    failures.push(format!("{title}: {expr}: only zeros during the run"));
                }
            }
            Err(e) => failures.push(format!("{title}: {expr}: {e}")),
        }
    }
    // `or vector(0)` must not hide a misspelt metric or label: every metric
    // read exists, with every label its matchers name.
    // Error counters included: every known label set starts at 0 (issue 17).
    for (name, labels) in &reads {
        let count = format!("count({name})");
        if prom.query(&count, at).map(|r| r.is_empty()).unwrap_or(true) {
            failures.push(format!("no series of {name}"));
        }
        for l in labels {
            let q = format!(r#"count({name}{{{l}!=""}})"#);
            if prom.query(&q, at).map(|r| r.is_empty()).unwrap_or(true) {
                failures.push(format!("{name} has no label {l}"));
            }
        }
    }
    // The policy variable's query lists `web`.
    match prom.label_values("policy", "spillway_desired_replicas") {
        Ok(v) if v.iter().any(|p| p == "web") => {}
        other => failures.push(format!(
            "label_values(spillway_desired_replicas, policy): {other:?}"
        )),
    }

    // What Prometheus saw agrees with the emulator.
    let saw_ready = scalar(
        &prom,
        &format!(r#"max_over_time(spillway_burst_replicas{{policy="web",state="ready"}}[{range}])"#),
        at,
    );
    if saw_ready.is_none_or(|v| v < 1.0) {
        failures.push(format!(
            "Prometheus never saw a ready burst replica: {saw_ready:?}"
        ));
    }
    let provisioned = scalar(
        &prom,
        r#"sum(spillway_burst_provision_seconds_count{policy="web"})"#,
        at,
    );
    if provisioned != Some(created.len() as f64) {
        failures.push(format!(
            "spillway_burst_provision_seconds observed {provisioned:?} replicas, the emulator created {}",
            created.len()
        ));
    }

    assert!(
        failures.is_empty(),
        "{} failures over {} dashboard expressions:\n  {}\n{}\n--- prometheus log\n{}",
        failures.len(),
        exprs.len(),
        failures.join("\n  "),
        demo.output(),
        tail(&server.log(), 20)
    );
    eprintln!(
        "t={:.0}s: {} dashboard expressions returned data; {} metric families and their labels exist",
        demo.elapsed(),
        exprs.len(),
        reads.len()
    );

    // The demo ends by itself at --duration, cleanly.
    let deadline = demo.started + Duration::from_secs(DEMO_DURATION + 20);
    let status = loop {
        if let Some(s) = demo.exited() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the demo did not stop after --duration {duration}\n{}",
            demo.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = demo.proc.proc.stdout_lines().join("\n");
    assert!(
        status.contains("exit status: 0") && stdout.contains("demo finished after"),
        "the demo ended with {status}\n{}",
        demo.output()
    );
    eprintln!("whole test: {:.0}s", test_started.elapsed().as_secs_f64());
}
