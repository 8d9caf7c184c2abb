//! `spillway validate` on the shipped configs and on garbage: clear errors,
//! the documented exit codes, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validate(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .arg("validate")
        .args(args)
        .output()
        .expect("runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_panic(o: &Output) {
    let t = text(o);
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn every_valid_policy_file_validates() {
    let dir = repo().join("config/policies");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("config/policies exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(!files.is_empty());
    for f in files {
        let o = validate(&[&f]);
        assert_eq!(o.status.code(), Some(0), "{}: {}", f.display(), text(&o));
        assert!(text(&o).contains("policy web"), "{}", text(&o));
    }
}

#[test]
fn invalid_examples_report_every_problem_with_its_path() {
    let dir = repo().join("config/policies/invalid");
    let o = validate(&[&dir.join("cross-field.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    for expected in [
        "policy ok: shop/Deployment ok",
        "policies[1].burst.maxReplicas: 500 exceeds maxReplicas 200",
        "policies[1].burst.priority: Spot container groups cannot join a virtual network",
        "policies[1].burst.requests.cpu: 8 exceeds the ACI Spot per-group maximum of 4 vCPU",
        "policies[1].onMetricsMissing.fallbackReplicas: 500 is outside",
        "policies[1].metrics[0].prometheus: set exactly one of",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }

    let o = validate(&[&dir.join("typos.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("policies[0].maxReplica: unknown key `maxReplica` (did you mean `maxReplicas`?)"),
        "{t}"
    );
    assert!(
        t.contains("policies[0].burst.enabeld: unknown key `enabeld` (did you mean `enabled`?)"),
        "{t}"
    );

    let o = validate(&[&dir.join("bad-global.yaml")]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    for expected in [
        "interval: invalid duration",
        "cluster.id:",
        "azure.subscriptionId:",
    ] {
        assert!(t.contains(expected), "missing {expected:?} in:\n{t}");
    }
}

#[test]
fn garbage_gets_a_clear_error_and_no_panic() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    };
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    let cases: Vec<(PathBuf, &str)> = vec![
        (write("binary.yaml", &binary), "not UTF-8"),
        (write("huge.yaml", &vec![b'a'; 10 * 1024 * 1024]), "the limit is 1048576 bytes"),
        (
            write("nested.yaml", format!("cluster: {}1{}", "[".repeat(50_000), "]".repeat(50_000)).as_bytes()),
            "",
        ),
        (write("scalar.yaml", b"42"), "the document must be a mapping"),
        (write("empty.yaml", b""), ""),
        (write("types.yaml", b"cluster: {id: [1,2]}\ninterval: 5\npolicies: {a: 1}\n"), "policies: must be a list"),
        (write("broken.yaml", b"cluster: {id: x\npolicies: [\n"), "not valid YAML"),
        (
            write(
                "wrongtypes.yaml",
                b"cluster: {id: c}\npolicies:\n- name: 7\n  target: web\n  maxReplicas: many\n  metrics: {}\n",
            ),
            "policies[0].",
        ),
    ];
    for (path, expected) in cases {
        let o = validate(&[&path]);
        assert_no_panic(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {}", path.display(), text(&o));
        assert!(
            text(&o).contains(expected),
            "{}: expected {expected:?} in {}",
            path.display(),
            text(&o)
        );
    }
}

#[test]
fn unreadable_input_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = validate(&[&tmp.path().join("missing.yaml")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot read"), "{}", text(&o));
    let o = validate(&[tmp.path()]);
    assert_eq!(o.status.code(), Some(2), "a directory: {}", text(&o));
    // The worst outcome over several files wins.
    let good = repo().join("config/policies/example.yaml");
    let o = validate(&[&good, &tmp.path().join("missing.yaml")]);
    assert_eq!(o.status.code(), Some(2));
}
