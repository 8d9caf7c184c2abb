//! Shared by the `controller_*` end-to-end tests: builds the `spillway` and
//! `aci-emulator` binaries once per test binary, runs them as child processes
//! (killed and reaped on drop), reads the emulator's `/_emulator/state` and
//! the demo's `/status` over loopback HTTP.
//!
//! Every helper is bounded in time; nothing here waits forever.

#![allow(dead_code)] // each test binary uses a different part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod emulator;
pub mod lease_api;
pub mod prom_api;
pub mod witness;

pub use emulator::{EmuState, EmulatorProc};

/// The repository root (the workspace).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The built binaries.
pub struct Binaries {
    pub spillway: PathBuf,
    pub emulator: PathBuf,
}

/// Builds `spillway` and `aci-emulator` (once per test binary) with the cargo
/// that runs the tests, and finds them from cargo's own report of the
/// artifacts, so `CARGO_TARGET_DIR` or `build.target-dir` are respected.
pub fn binaries() -> &'static Binaries {
    static BINS: OnceLock<Binaries> = OnceLock::new();
    BINS.get_or_init(|| {
        let started = Instant::now();
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "-p",
                "spillway",
                "-p",
                "aci-emulator",
                "--bins",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(workspace_root())
            .stderr(Stdio::inherit())
            .output()
            .expect("running cargo build");
        assert!(
            out.status.success(),
            "cargo build -p spillway -p aci-emulator failed"
        );
        let mut spillway = None;
        let mut emulator = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" {
                continue;
            }
            let Some(exe) = msg["executable"].as_str() else {
                continue;
            };
            match msg["target"]["name"].as_str() {
                Some("spillway") => spillway = Some(PathBuf::from(exe)),
                Some("aci-emulator") => emulator = Some(PathBuf::from(exe)),
                _ => {}
            }
        }
        let bins = Binaries {
            spillway: spillway.expect("cargo reported no `spillway` executable"),
            emulator: emulator.expect("cargo reported no `aci-emulator` executable"),
        };
        eprintln!(
            "built {} and {} in {:.1}s",
            bins.spillway.display(),
            bins.emulator.display(),
            started.elapsed().as_secs_f64()
        );
        bins
    })
}

/// A child process that is killed (SIGKILL) and reaped when dropped. Its
/// stdout is drained by a thread (kept in memory, lines also forwarded to a
/// channel); stderr goes to a file. Both are printed if the test panics.
pub struct Proc {
    name: String,
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr_path: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, program: &Path, args: &[String], logs: &Path) -> Proc {
        Proc::spawn_env(name, program, args, &[], logs)
    }

    /// [`Proc::spawn`] with extra environment variables.
    pub fn spawn_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        logs: &Path,
    ) -> Proc {
        let stderr_path = logs.join(format!("{name}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("creating the stderr log");
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let keep = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(mut k) = keep.lock() {
                    k.push(line.clone());
                }
                let _ = tx.send(line);
            }
        });
        Proc {
            name: name.to_string(),
            child: Some(child),
            lines,
            stdout,
            stderr_path,
        }
    }

    /// The first stdout line starting with `prefix`, within `timeout`.
    pub fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "{}: no `{prefix}` line within {timeout:?}\n{}",
                        self.name,
                        self.logs()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.as_mut().and_then(|c| c.wait().ok());
                    panic!(
                        "{}: exited ({status:?}) before printing `{prefix}`\n{}",
                        self.name,
                        self.logs()
                    )
                }
            }
        }
    }

    /// `None` while running.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// SIGKILL (std's `Child::kill` on unix) and reap.
    /// Every stdout line so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The process's resident memory (`VmRSS`) in KiB, while it runs.
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Sends `signal` (`STOP`, `CONT`, …) with kill(1).
    pub fn signal(&self, signal: &str) {
        let Some(c) = &self.child else {
            panic!("{}: signal {signal} to a process already reaped", self.name)
        };
        let ok = Command::new("kill")
            .args([format!("-{signal}"), c.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "{}: kill -{signal} failed", self.name);
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn logs(&self) -> String {
        let stdout = self.stdout.lock().map(|v| v.join("\n")).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        format!(
            "--- {} stdout (tail) ---\n{}\n--- {} stderr (tail) ---\n{}",
            self.name,
            tail(&stdout, 40),
            self.name,
            tail(&stderr, 60)
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral loopback port")
}

/// The last `n` lines of `text` (for failure messages).
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `spillway demo` as a child process, serving on a free loopback port.
pub struct DemoProc {
    pub proc: Proc,
    /// `http://ADDR`
    pub base: String,
}

impl DemoProc {
    /// `spillway demo --listen 127.0.0.1:0 ARGS…`; returns once it serves.
    pub fn start(name: &str, args: &[&str], logs: &Path) -> DemoProc {
        DemoProc::start_on(name, "127.0.0.1:0", args, logs)
    }

    /// `spillway demo --listen LISTEN ARGS…`; returns once it serves.
    pub fn start_on(name: &str, listen: &str, args: &[&str], logs: &Path) -> DemoProc {
        let mut all: Vec<String> = vec!["demo".into(), "--listen".into(), listen.into()];
        all.extend(args.iter().map(|s| s.to_string()));
        let mut proc = Proc::spawn(name, &binaries().spillway, &all, logs);
        let line = proc.wait_for_line("metrics on http://", Duration::from_secs(30));
        let base = line
            .trim_start_matches("metrics on ")
            .trim()
            .trim_end_matches("/metrics")
            .to_string();
        DemoProc { proc, base }
    }

    /// The URL of the ACI emulator the demo started in-process (its
    /// `aci emulator on URL` line).
    pub fn emulator_url(&self) -> Option<String> {
        self.proc.stdout_lines().iter().find_map(|l| {
            l.strip_prefix("aci emulator on ")
                .map(|u| u.trim().trim_end_matches('/').to_string())
        })
    }

    /// `/status`, or the reason it could not be read.
    pub fn try_status(&self) -> Result<Value, String> {
        get_json(&format!("{}/status", self.base))
    }

    pub fn status(&mut self) -> Value {
        match self.try_status() {
            Ok(v) => v,
            Err(e) => {
                let exited = self.proc.exited();
                panic!("GET /status: {e} (exited: {exited:?})\n{}", self.proc.logs())
            }
        }
    }

    pub fn kill9(&mut self) {
        self.proc.kill9();
    }
}

/// `policies.<name>` of a `/status` document.
pub fn policy<'a>(status: &'a Value, name: &str) -> &'a Value {
    &status["policies"][name]
}

/// `lastTick` of a policy as milliseconds (the demo's clock), if it ticked.
pub fn last_tick(status: &Value, name: &str) -> Option<i64> {
    policy(status, name)["lastTick"].as_i64()
}

/// The reason codes of a policy's last plan.
pub fn reason_codes(status: &Value, name: &str) -> Vec<String> {
    policy(status, name)["lastPlan"]["reasons"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Reason codes compared without case or separators: the JSON says
/// `burstCappedMaxReplicas`, logs and metric labels `burst_capped_max_replicas`.
pub fn has_reason(status: &Value, name: &str, code: &str) -> bool {
    let norm = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    reason_codes(status, name).iter().any(|c| norm(c) == norm(code))
}

/// A plain HTTP/1.0 GET over loopback; the body must be JSON.
pub fn get_json(url: &str) -> Result<Value, String> {
    let (code, body) = http_get(url)?;
    if code != 200 {
        return Err(format!("{url}: HTTP {code}: {}", tail(&body, 5)));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url}: not JSON ({e})"))
}

/// A plain HTTP/1.0 GET (no keep-alive, no chunking), bounded by timeouts.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    http_request("GET", url, None)
}

/// The value of a Prometheus sample in a `/metrics` text, summed over every
/// series of `name` whose labels contain all of `labels` (`key="value"`).
pub fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest),
                None => (series, ""),
            };
            (n == name && labels.iter().all(|want| rest.contains(want)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .sum()
}

/// A plain HTTP/1.0 request with an optional JSON body, bounded by timeouts.
pub fn http_request(method: &str, url: &str, body: Option<&str>) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = host.parse().map_err(|e| format!("{host}: {e}"))?;
    assert!(addr.ip().is_loopback(), "{url}: loopback only");
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("{url}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("{url}: {e}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("{url}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{url}: malformed response"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: no status code in {head:?}"))?;
    Ok((code, body.to_string()))
}

/// Polls `f` every `every` until it returns `Some`, or panics with `what`
/// (and `context()`) after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}\n{}", context());
        }
        std::thread::sleep(every);
    }
}

/// The `config:` mapping of `config/scenarios/demo.yaml` (what the demo embeds), as JSON.
pub fn demo_config() -> Value {
    let path = workspace_root().join("config/scenarios/demo.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let config = doc["config"].clone();
    assert!(config.is_object(), "{} has no `config:` mapping", path.display());
    config
}

/// Writes a `t_seconds,value` trace with one row per second, `f(t)` for `t` in `0..seconds`.
pub fn write_trace(path: &Path, seconds: u32, f: impl Fn(u32) -> f64) {
    let mut text = String::from("t_seconds,value\n");
    for t in 0..seconds {
        text.push_str(&format!("{t},{}\n", f(t)));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Replaces `path` atomically (write + rename), so the watcher never reads half a file.
pub fn replace_file(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Writes `doc` as the demo's configuration file and a sustained spike trace
/// (400/s for 10 s, then 3,500/s: 35 replicas wanted, 14 fit the VM pool,
/// about 21 burst), then starts `spillway demo` on them against
/// `emulator_url` at `--speed 2`. Returns the demo and the config file's path.
pub fn start_demo_with_config(emulator_url: &str, doc: &Value, logs: &Path) -> (DemoProc, PathBuf) {
    let cfg = logs.join("spillway.yaml");
    replace_file(&cfg, &serde_json::to_string_pretty(doc).expect("JSON"));
    let trace = logs.join("spike.csv");
    write_trace(&trace, 900, |t| if t < 10 { 400.0 } else { 3500.0 });
    let path = |p: &Path| p.to_str().expect("utf-8 temp path").to_string();
    let (cfg_arg, trace_arg) = (path(&cfg), path(&trace));
    let demo = DemoProc::start(
        "demo",
        &[
            "--arm-endpoint",
            emulator_url,
            "--config",
            &cfg_arg,
            "--trace",
            &trace_arg,
            "--speed",
            "2",
            "--seed",
            "7",
            "--duration",
            "3m",
        ],
        logs,
    );
    (demo, cfg)
}
