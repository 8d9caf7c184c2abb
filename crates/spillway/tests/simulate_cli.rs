//! `spillway simulate` from the outside: outputs, determinism, bad input.

use std::path::Path;
use std::process::{Command, Output};

fn spillway(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .current_dir(dir)
        .arg("simulate")
        .args(args)
        .output()
        .expect("run spillway")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn no_arguments_prints_the_table_and_writes_the_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = spillway(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for s in [
        "spillway",
        "vm-only",
        "virtual-node",
        "static-peak",
        "oracle",
        "report written to spillway-report.html",
    ] {
        assert!(stdout.contains(s), "missing {s:?} in:\n{stdout}");
    }
    let html = std::fs::read_to_string(dir.path().join("spillway-report.html")).expect("report");
    assert!(html.contains("<svg") && html.contains("</html>"));
}

#[test]
fn json_is_byte_identical_for_the_same_scenario_and_seed() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["a.json", "b.json"] {
        let out = spillway(
            dir.path(),
            &[
                "--seed",
                "5",
                "--duration",
                "6h",
                "--json",
                name,
                "--report",
                "r.html",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let a = std::fs::read(dir.path().join("a.json")).expect("a");
    let b = std::fs::read(dir.path().join("b.json")).expect("b");
    assert_eq!(a, b);
    let v: serde_json::Value = serde_json::from_slice(&a).expect("json");
    assert_eq!(v["seed"], 5);
    assert_eq!(v["simulated_seconds"], 21600);
    assert!(v["strategies"]["oracle"]["cost_total"].is_number());
}

fn fails_with(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = spillway(dir, args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: expected {n:?} in:\n{stderr}");
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let w = |name: &str, body: &str| std::fs::write(d.join(name), body).expect("write");
    w("malformed.csv", "t_seconds,value\n0,10\n60,ten\n");
    w("negative.csv", "t_seconds,value\n0,10\n60,-3\n");
    w("nan.csv", "t_seconds,value\n0,NaN\n");
    w("empty.csv", "t_seconds,value\n");
    w(
        "bad-policy.yaml",
        &spillway_sim::scenario::DEFAULT_SCENARIO_YAML.replace("maxReplicas: 100", "maxReplicas: 1000"),
    );
    fails_with(d, &["--scenario", "missing.yaml"], &["missing.yaml"]);
    fails_with(d, &["--trace", "missing.csv"], &["missing.csv"]);
    fails_with(
        d,
        &["--trace", "malformed.csv"],
        &["malformed.csv:3", "not a number"],
    );
    fails_with(d, &["--trace", "negative.csv"], &["negative.csv:3", "negative"]);
    fails_with(d, &["--trace", "nan.csv"], &["nan.csv:2", "NaN"]);
    fails_with(d, &["--trace", "empty.csv"], &["empty"]);
    fails_with(
        d,
        &["--scenario", "bad-policy.yaml"],
        &["policies[0].burst.maxReplicas: 1000 exceeds maxReplicas 300"],
    );
    fails_with(d, &["--duration", "soon"], &["--duration"]);
    fails_with(d, &["--peak-replicas=-4"], &["--peak-replicas"]);
}
