//! Helpers for tests that drive `spillway demo` against a real Prometheus:
//! the built `spillway` binary, child processes killed on drop, a
//! Prometheus server on a free loopback port, and small HTTP/JSON helpers.
//!
//! Everything listens on 127.0.0.1 and lives in a temporary directory that
//! is removed when the test ends; every child process is killed and reaped
//! by its guard, also when the test panics.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root (this package lives in `tests/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `spillway` binary, built once per test process.
///
/// `tests/` is its own package, so Cargo does not provide
/// `CARGO_BIN_EXE_spillway`. This runs `cargo build -p spillway` with the
/// Cargo that runs the tests and takes the executable's path from Cargo's
/// own JSON messages, so `CARGO_TARGET_DIR`, `--target-dir` in a config
/// file and the build directory layout are all respected. An already built,
/// up-to-date binary makes this a no-op of a few seconds.
pub fn spillway_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_spillway).clone()
}

fn build_spillway() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(repo_root()).args([
        "build",
        "-p",
        "spillway",
        "--bin",
        "spillway",
        "--message-format=json-render-diagnostics",
    ]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running {} build -p spillway: {e}", Path::new(&cargo).display()));
    assert!(
        out.status.success(),
        "`cargo build -p spillway` failed ({}); see the compiler output above",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exe = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "spillway")
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable for the spillway binary");
    assert!(exe.is_file(), "{} is not a file", exe.display());
    eprintln!(
        "spillway binary: {} (cargo build took {:.1}s)",
        exe.display(),
        started.elapsed().as_secs_f64()
    );
    exe
}

/// The Prometheus binary, or a panic telling how to install it.
pub fn prometheus_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PROMETHEUS_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "PROMETHEUS_BIN={} is not a file", p.display());
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("prometheus"))
        .find(|c| c.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the `prometheus` binary was not found (set PROMETHEUS_BIN or put it on PATH). \
                 This test scrapes `spillway demo` with a real Prometheus server: run \
                 scripts/test.sh, which installs the Debian package `prometheus`, or \
                 `apt-get install prometheus`."
            )
        })
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    l.local_addr().expect("local addr").port()
}

/// A child process that is killed and reaped when dropped.
pub struct ChildGuard {
    pub name: &'static str,
    child: Option<Child>,
}

impl ChildGuard {
    pub fn new(name: &'static str, child: Child) -> Self {
        ChildGuard {
            name,
            child: Some(child),
        }
    }

    /// `Some(exit description)` once the process has ended.
    pub fn exited(&mut self) -> Option<String> {
        let c = self.child.as_mut()?;
        match c.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `n` lines of a text file (for failure messages).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A running `spillway demo`, its output in files under `dir`.
pub struct Demo {
    pub process: ChildGuard,
    pub started: Instant,
    /// `http://127.0.0.1:PORT` of the ACI emulator.
    pub emulator: String,
    /// `127.0.0.1:PORT` serving `/metrics`.
    pub metrics_addr: String,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Demo {
    /// Starts `spillway demo --listen 127.0.0.1:0 ARGS...` and waits until it
    /// prints the emulator's and the metrics' URLs.
    pub fn start(dir: &Path, args: &[&str]) -> Demo {
        let stdout = dir.join("demo.stdout");
        let stderr = dir.join("demo.stderr");
        let child = Command::new(spillway_bin())
            .args(["demo", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("demo stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("demo stderr file"))
            .spawn()
            .expect("start spillway demo");
        let started = Instant::now();
        let mut process = ChildGuard::new("spillway demo", child);
        let deadline = started + Duration::from_secs(30);
        loop {
            let (mut emulator, mut metrics) = (None, None);
            if let Ok(f) = std::fs::File::open(&stdout) {
                for line in BufReader::new(f).lines().map_while(Result::ok) {
                    if let Some(u) = line.strip_prefix("aci emulator on ") {
                        emulator = Some(u.trim().trim_end_matches('/').to_string());
                    }
                    if let Some(u) = line.strip_prefix("metrics on http://") {
                        metrics = u.trim().strip_suffix("/metrics").map(str::to_string);
                    }
                }
            }
            if let (Some(emulator), Some(metrics_addr)) = (emulator, metrics) {
                return Demo {
                    process,
                    started,
                    emulator,
                    metrics_addr,
                    stdout,
                    stderr,
                };
            }
            if let Some(status) = process.exited() {
                panic!(
                    "spillway demo exited with {status} before serving\n--- stdout\n{}\n--- stderr\n{}",
                    tail(&stdout, 40),
                    tail(&stderr, 40)
                );
            }
            assert!(
                Instant::now() < deadline,
                "spillway demo printed no URLs within 30s\n--- stdout\n{}\n--- stderr\n{}",
                tail(&stdout, 40),
                tail(&stderr, 40)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Seconds since the demo started.
    pub fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The demo's status lines and the end of its log, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- demo stdout\n{}\n--- demo stderr (last 30 lines)\n{}",
            tail(&self.stdout, 60),
            tail(&self.stderr, 30)
        )
    }
}

/// A Prometheus server scraping one target every second; killed on drop.
pub struct Prometheus {
    pub process: ChildGuard,
    pub url: String,
    pub log: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port with its config and data
    /// under `dir`, scraping `target` (`host:port`) every second, and waits
    /// until it is ready.
    pub fn start(dir: &Path, target: &str) -> Prometheus {
        let bin = prometheus_bin();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: spillway\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let log = dir.join("prometheus.log");
        // A port picked now may be taken before Prometheus binds it: retry.
        for attempt in 1..=3 {
            let port = free_port();
            let out = std::fs::File::create(&log).expect("prometheus log file");
            let child = Command::new(&bin)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("prometheus-data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log fd"))
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
            let mut p = Prometheus {
                process: ChildGuard::new("prometheus", child),
                url: format!("http://127.0.0.1:{port}"),
                log: log.clone(),
            };
            match p.wait_ready() {
                Ok(()) => return p,
                Err(why) if attempt < 3 => eprintln!("prometheus attempt {attempt}: {why}; retrying"),
                Err(why) => panic!("{why}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = format!("{}/-/ready", self.url);
        loop {
            if let Some(status) = self.process.exited() {
                return Err(format!(
                    "prometheus exited with {status}:\n{}",
                    tail(&self.log, 30)
                ));
            }
            if http_get(&ready).is_ok_and(|(code, _)| code == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "prometheus not ready after 30s:\n{}",
                    tail(&self.log, 30)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET /api/v1/query?query=EXPR&time=AT`: the `data.result` array, or
    /// Prometheus's error.
    pub fn query(&self, expr: &str, at: f64) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query?query={}&time={at:.3}",
            self.url,
            url_encode(expr)
        );
        api_result(&url)
    }

    /// `GET /api/v1/query_range`: the `data.result` matrix.
    pub fn query_range(&self, expr: &str, start: f64, end: f64, step: f64) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            self.url,
            url_encode(expr)
        );
        api_result(&url)
    }

    /// Values of label `name` on series matching `selector`.
    pub fn label_values(&self, name: &str, selector: &str) -> Result<Vec<String>, String> {
        let url = format!(
            "{}/api/v1/label/{name}/values?match[]={}",
            self.url,
            url_encode(selector)
        );
        let (code, body) = http_get(&url)?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{url}: HTTP {code}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{url}: HTTP {code}: {body}"));
        }
        Ok(v["data"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }
}

fn api_result(url: &str) -> Result<Vec<Value>, String> {
    let (code, body) = http_get(url)?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {code}: {e}: {body}"))?;
    if v["status"] != "success" {
        return Err(format!(
            "HTTP {code}: {} {}",
            v["errorType"].as_str().unwrap_or("?"),
            v["error"].as_str().unwrap_or(&body)
        ));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A blocking `GET` of a loopback `http://` URL: (status, body). HTTP/1.0,
/// so the server closes the connection after a plain, unchunked body.
pub fn http_get(url: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: std::net::SocketAddr = host.parse().map_err(|e| format!("{url}: {e}"))?;
    assert!(addr.ip().is_loopback(), "{url}: tests talk to loopback only");
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{url}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| format!("{url}: {e}"))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: */*\r\n\r\n").as_bytes())
        .map_err(|e| format!("{url}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("{url}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{url}: malformed response"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{url}: no status in {head:?}"))?;
    Ok((code, body.to_string()))
}

/// `GET` a JSON document.
pub fn get_json(url: &str) -> Result<Value, String> {
    let (code, body) = http_get(url)?;
    if code != 200 {
        return Err(format!("{url}: HTTP {code}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url}: {e}"))
}
