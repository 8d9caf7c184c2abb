//! A real Kubernetes control plane for the end-to-end tests: the loopback
//! harness in `../shared/kube` (kube-apiserver, controller-manager and
//! scheduler v1.36.2 with etcd, fake nodes and a fake kubelet), started in a
//! state directory of its own on free ports and stopped (`stop.sh --wipe`)
//! when the guard drops, also when the test panics.
//!
//! When `../shared/kube` is absent the tests say so and skip, except under
//! `CI=true`, where that is a failure.

#![allow(dead_code)] // each test binary uses a different part of it

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support_ctl::{Proc, binaries, free_port, tail, workspace_root};

/// `../shared/kube` beside the repository, if it is there.
pub fn harness_dir() -> Option<PathBuf> {
    let dir = workspace_root().parent()?.join("shared").join("kube");
    dir.join("start.sh").is_file().then_some(dir)
}

/// `None` (with a note) when the harness is absent outside CI; a panic in CI.
pub fn harness_or_skip(test: &str) -> Option<PathBuf> {
    match harness_dir() {
        Some(d) => Some(d),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: ../shared/kube (the loopback Kubernetes control plane) is absent; \
             CI=true, so this is a failure, not a skip"
        ),
        None => {
            eprintln!(
                "SKIPPED {test}: ../shared/kube (the loopback Kubernetes control plane) is absent \
                 beside the repository; this test needs it (it fails instead under CI=true)"
            );
            None
        }
    }
}

/// A running control plane; stopped and wiped on drop.
pub struct Cluster {
    shared: PathBuf,
    state: PathBuf,
    ports: Vec<(&'static str, u16)>,
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
    /// `https://127.0.0.1:PORT`
    pub server: String,
    pub started_in: Duration,
}

impl Cluster {
    /// `start.sh --fake-kubelet --nodes NODES --fresh` in the state dir
    /// `$TMPDIR/spillway-e2e-kube-NAME-<checkout hash>` (kept between runs so
    /// the binaries are unpacked once), with five free loopback ports.
    pub fn start(shared: &Path, name: &str, nodes: u32) -> Cluster {
        // One state dir per checkout and test: two checkouts never share one.
        let checkout = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            workspace_root().hash(&mut h);
            h.finish() & 0xffff_ffff
        };
        let state = std::env::temp_dir().join(format!("spillway-e2e-kube-{name}-{checkout:08x}"));
        let ports = || {
            vec![
                ("KUBE_APISERVER_PORT", free_port()),
                ("KUBE_ETCD_PORT", free_port()),
                ("KUBE_ETCD_PEER_PORT", free_port()),
                ("KUBE_CM_PORT", free_port()),
                ("KUBE_SCHEDULER_PORT", free_port()),
            ]
        };
        let mut c = Cluster {
            shared: shared.to_path_buf(),
            kubeconfig: state.join("kubeconfig"),
            kubectl: state.join("bin").join("kubectl"),
            server: String::new(),
            state,
            ports: ports(),
            started_in: Duration::ZERO,
        };
        // A run killed before its guard dropped may have left one running.
        let _ = c.script("stop.sh", &["--wipe"]);
        let t0 = Instant::now();
        let nodes = nodes.to_string();
        // start.sh's liveness check can mistake a component that has not yet
        // exec'd (a loaded machine) for one that exited, and a free port may
        // be taken by another test meanwhile: one more try on new ports.
        let mut failures = Vec::new();
        for attempt in 1..=2 {
            if attempt > 1 {
                c.ports = ports();
            }
            c.server = format!("https://127.0.0.1:{}", c.ports[0].1);
            let out = c.script("start.sh", &["--fake-kubelet", "--nodes", &nodes, "--fresh"]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && stdout.lines().any(|l| l.starts_with("KUBECONFIG=")) {
                break;
            }
            let why = format!(
                "attempt {attempt}: start.sh {}:\n{}",
                out.status,
                tail(&String::from_utf8_lossy(&out.stderr), 40)
            );
            eprintln!("{why}");
            failures.push(why);
            let _ = c.script("stop.sh", &["--wipe"]);
            assert!(
                attempt < 2,
                "../shared/kube/start.sh failed twice:\n{}",
                failures.join("\n")
            );
        }
        c.started_in = t0.elapsed();
        eprintln!(
            "control plane up in {:.1}s at {} (state {})",
            c.started_in.as_secs_f64(),
            c.server,
            c.state.display()
        );
        c
    }

    fn script(&self, script: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(self.shared.join(script));
        cmd.args(args)
            .env("KUBE_HARNESS_DIR", &self.state)
            .stdin(Stdio::null());
        for (k, v) in &self.ports {
            cmd.env(k, v.to_string());
        }
        cmd.output().unwrap_or_else(|e| panic!("running {script}: {e}"))
    }

    /// `kubectl ARGS` as admin; stdout, or the error with stderr.
    pub fn try_kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        self.kubectl_as(&self.kubeconfig, args, stdin)
    }

    /// `kubectl ARGS` with another kubeconfig.
    pub fn kubectl_as(
        &self,
        kubeconfig: &Path,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<String, String> {
        let mut child = Command::new(&self.kubectl)
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("kubectl: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("kubectl stdin: {e}"))?;
        }
        let out = child.wait_with_output().map_err(|e| format!("kubectl: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "kubectl {} failed ({}): {}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr),
                tail(&stdout, 5)
            ))
        }
    }

    /// `kubectl ARGS` as admin; panics on failure.
    pub fn kubectl(&self, args: &[&str]) -> String {
        self.try_kubectl(args, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl apply -f -` of a YAML or JSON text, as admin.
    pub fn apply(&self, manifest: &str) -> String {
        self.try_kubectl(&["apply", "-f", "-"], Some(manifest))
            .unwrap_or_else(|e| panic!("{e}\n--- manifest ---\n{manifest}"))
    }

    /// `kubectl get ARGS -o json`, parsed; `None` if absent or unreadable.
    pub fn get_json(&self, args: &[&str]) -> Option<Value> {
        let mut all: Vec<&str> = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        let text = self.try_kubectl(&all, None).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// A kubeconfig holding a fresh token (`kubectl create token`) of the
    /// ServiceAccount `ns/name`, for the admin kubeconfig's server and CA.
    pub fn service_account_kubeconfig(&self, ns: &str, name: &str, dir: &Path) -> PathBuf {
        let token = self.kubectl(&["create", "token", name, "-n", ns, "--duration=2h"]);
        let admin = std::fs::read_to_string(&self.kubeconfig)
            .unwrap_or_else(|e| panic!("{}: {e}", self.kubeconfig.display()));
        let admin: Value = serde_saphyr::from_str(&admin).unwrap_or_else(|e| panic!("admin kubeconfig: {e}"));
        let ca = admin["clusters"][0]["cluster"]["certificate-authority-data"]
            .as_str()
            .expect("the admin kubeconfig has certificate-authority-data");
        let doc = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "harness", "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": name, "user": {"token": token.trim()}}],
            "contexts": [{"name": name, "context": {"cluster": "harness", "user": name, "namespace": ns}}],
            "current-context": name,
        });
        let path = dir.join(format!("kubeconfig-{ns}-{name}"));
        std::fs::write(&path, doc.to_string()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// A control-plane log (`apiserver`, `fake-kubelet`, …), for failure messages.
    pub fn log(&self, component: &str) -> String {
        std::fs::read_to_string(self.state.join("run").join(format!("{component}.log"))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = self.script("stop.sh", &["--wipe"]);
        if !out.status.success() {
            eprintln!("stop.sh failed: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// `spillway run` out of cluster with `kubeconfig`, serving on a free port.
pub struct RunProc {
    pub proc: Proc,
    pub base: String,
    pub identity: String,
}

impl RunProc {
    /// `spillway run --listen 127.0.0.1:0 --identity ID ARGS…` with
    /// `KUBECONFIG` and `env`; returns once it serves.
    pub fn start(
        identity: &str,
        kubeconfig: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        logs: &Path,
    ) -> RunProc {
        let mut all: Vec<String> = ["run", "--listen", "127.0.0.1:0", "--identity", identity]
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        let mut envs: Vec<(String, String)> =
            vec![("KUBECONFIG".into(), kubeconfig.to_string_lossy().to_string())];
        envs.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut proc = Proc::spawn_env(
            &format!("run-{identity}"),
            &binaries().spillway,
            &all,
            &envs,
            logs,
        );
        let line = proc.wait_for_line("metrics on http://", Duration::from_secs(30));
        let base = line
            .trim_start_matches("metrics on ")
            .trim()
            .trim_end_matches("/metrics")
            .to_string();
        RunProc {
            proc,
            base,
            identity: identity.to_string(),
        }
    }

    pub fn try_status(&self) -> Result<Value, String> {
        crate::support_ctl::get_json(&format!("{}/status", self.base))
    }

    /// `/metrics` as text.
    pub fn metrics(&self) -> String {
        crate::support_ctl::http_get(&format!("{}/metrics", self.base))
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    pub fn is_leader(&self) -> bool {
        self.try_status()
            .is_ok_and(|s| s["leader"].as_bool() == Some(true))
    }

    /// The process's stderr (its JSON log).
    pub fn log(&self) -> String {
        self.proc.stderr()
    }
}

pub mod scenario;
