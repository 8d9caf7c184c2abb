//! The controller's `/metrics` exposition on a fresh controller (issue 17):
//! `promtool check metrics` finds nothing to complain about, and every
//! selector of `dashboards/spillway.json` already matches a series, so no
//! panel says "No data" before the first error, decision or throttle.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use regex::Regex;
use spillway::aci_telemetry;
use spillway_controller::telemetry::Metrics;

const DASHBOARD: &str = include_str!("../../../dashboards/spillway.json");

/// A fresh controller with one active policy `web` of two metrics, as `run`
/// wires it: ARM observer, Kubernetes error kinds, then the policy.
fn fresh() -> Metrics {
    let m = Metrics::new().expect("registry");
    let _observer = aci_telemetry::observer(&m);
    m.declare_error_kinds(spillway_kube::ViewError::LABELS);
    // `apply_config` marks a valid policy enabled, then activates it.
    m.policy_enabled.with_label_values(&["web"]).set(1.0);
    m.init_policy("web", 2);
    m
}

/// One sample line of the text format: name and labels.
fn series(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let line_re = Regex::new(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ").expect("regex");
    let label_re = Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)""#).expect("regex");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let c = line_re.captures(l)?;
            let labels = c
                .get(2)
                .map(|m| {
                    label_re
                        .captures_iter(m.as_str())
                        .map(|lc| (lc[1].to_string(), lc[2].to_string()))
                        .collect()
                })
                .unwrap_or_default();
            Some((c[1].to_string(), labels))
        })
        .collect()
}

/// A label matcher: (label, operator, value).
type Matcher = (String, String, String);

/// Every `name{matchers}` of the dashboard's expressions, `$policy` = `web`.
fn selectors() -> Vec<(String, Vec<Matcher>)> {
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).expect("dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&d, &mut exprs);
    assert!(exprs.len() > 20, "the dashboard's expressions were not found");
    let sel_re = Regex::new(r"\b((?:spillway|process)_[a-z0-9_]+)(\{[^}]*\})?").expect("regex");
    let m_re = Regex::new(r#"([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)""#).expect("regex");
    let mut out = Vec::new();
    for e in exprs {
        let e = e.replace("$policy", "web");
        for c in sel_re.captures_iter(&e) {
            let matchers = c
                .get(2)
                .map(|m| {
                    m_re.captures_iter(m.as_str())
                        .map(|mc| (mc[1].to_string(), mc[2].to_string(), mc[3].to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push((c[1].to_string(), matchers));
        }
    }
    out
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// PromQL matchers: regexes are fully anchored.
fn matches(labels: &BTreeMap<String, String>, (name, op, value): &Matcher) -> bool {
    let have = labels.get(name).map(String::as_str).unwrap_or("");
    let re = || Regex::new(&format!("^(?:{value})$")).expect("matcher regex");
    match op.as_str() {
        "=" => have == value,
        "!=" => have != value,
        "=~" => re().is_match(have),
        "!~" => !re().is_match(have),
        other => panic!("unknown matcher {other}"),
    }
}

#[test]
fn every_dashboard_selector_has_a_series_on_a_fresh_controller() {
    let text = fresh().encode();
    let all = series(&text);
    let mut missing = Vec::new();
    for (name, matchers) in selectors() {
        if name.starts_with("process_") && !cfg!(target_os = "linux") {
            continue;
        }
        let found = all
            .iter()
            .any(|(n, labels)| *n == name && matchers.iter().all(|m| matches(labels, m)));
        if !found {
            missing.push(format!("{name} {matchers:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "no series on a fresh controller for: {missing:#?}"
    );
}

#[test]
fn known_label_sets_start_at_zero() {
    let text = fresh().encode();
    let all = series(&text);
    let has = |name: &str, pairs: &[(&str, &str)]| {
        all.iter().any(|(n, l)| {
            n == name
                && pairs
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
    };
    assert!(has(
        "spillway_reconcile_errors_total",
        &[("policy", "web"), ("error", "not_synced")]
    ));
    assert!(has(
        "spillway_reconcile_errors_total",
        &[("policy", "web"), ("error", "throttled_local")]
    ));
    assert!(has(
        "spillway_reconcile_errors_total",
        &[("policy", "web"), ("error", "forbidden")]
    ));
    assert!(has(
        "spillway_scale_decisions_total",
        &[("policy", "web"), ("direction", "burst_up"), ("reason", "burst")]
    ));
    assert!(has(
        "spillway_metric_polls_total",
        &[("source", "metrics.k8s.io"), ("outcome", "missing")]
    ));
    assert!(has(
        "spillway_vm_replicas",
        &[("policy", "web"), ("state", "pending_unschedulable")]
    ));
    assert!(has(
        "spillway_metric_value",
        &[("policy", "web"), ("metric", "1")]
    ));
    assert!(has(
        "spillway_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))]
    ));
    // Counters at 0, the build info at 1, metric values NaN until read.
    for line in text
        .lines()
        .filter(|l| l.starts_with("spillway_reconcile_errors_total{"))
    {
        assert!(line.ends_with(" 0"), "{line}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("spillway_build_info{") && l.ends_with(" 1"))
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with("spillway_metric_value{"))
            .all(|l| l.ends_with(" NaN"))
    );
}

#[test]
fn a_policy_declared_before_an_adapter_still_gets_its_error_kinds() {
    let m = Metrics::new().expect("registry");
    m.init_policy("web", 1);
    assert!(!m.encode().contains(r#"error="capacity_unavailable""#));
    let _observer = aci_telemetry::observer(&m);
    assert!(
        m.encode()
            .contains(r#"spillway_reconcile_errors_total{error="capacity_unavailable",policy="web"} 0"#)
    );
    m.forget_policy("web", 1);
    m.declare_error_kinds(&["late_kind"]);
    assert!(!m.encode().contains(r#"error="late_kind",policy="web""#));
}

/// `promtool` from Debian's `prometheus` package (installed by
/// `scripts/test.sh`). Absent locally, the test says so and passes; under
/// `CI=true` its absence is a failure.
#[test]
fn promtool_check_metrics_is_clean() {
    let promtool = std::env::var("PROMTOOL_BIN").unwrap_or_else(|_| "promtool".to_string());
    let child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {promtool} not runnable ({e}); install Debian's `prometheus` package");
            return;
        }
        Err(e) => panic!("CI=true but {promtool} is not runnable: {e}"),
    };
    // After some activity too: observed histograms, a counted error.
    let m = fresh();
    m.reconcile_duration.with_label_values(&["web"]).observe(0.003);
    m.reconcile_errors.with_label_values(&["web", "transport"]).inc();
    m.metric_value.with_label_values(&["web", "0"]).set(12.5);
    let text = m.encode();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("promtool ran");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics:\n{said}"
    );
}
