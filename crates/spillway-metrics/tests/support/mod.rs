//! A real Prometheus server for tests, and an exporter it scrapes.
//!
//! The binary comes from `PROMETHEUS_BIN` or else `PATH`; a missing binary is
//! a test failure that says how to get one. Every server runs on a free
//! loopback port with its own config and data directory, and is killed when
//! its guard drops (also when the test panics).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use spillway_core::time::Timestamp;

/// The Prometheus binary, or a panic telling how to install it.
pub fn prometheus_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PROMETHEUS_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "PROMETHEUS_BIN={} is not a file", p.display());
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("prometheus");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "the `prometheus` binary was not found (set PROMETHEUS_BIN or put it on PATH). \
         These tests run a real Prometheus server: run scripts/test.sh, which installs \
         the Debian package `prometheus`, or `apt-get install prometheus`."
    );
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    l.local_addr().expect("local addr").port()
}

/// A running Prometheus; killed on drop.
pub struct PromServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    targets: Vec<SocketAddr>,
    metrics_path: String,
}

impl PromServer {
    /// Starts a server scraping `targets` every second and waits until it is ready.
    pub fn start(targets: &[SocketAddr]) -> PromServer {
        PromServer::start_scraping(targets, "/metrics")
    }

    /// [`PromServer::start`] scraping `metrics_path` instead of `/metrics`.
    pub fn start_scraping(targets: &[SocketAddr], metrics_path: &str) -> PromServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = PromServer {
            child: None,
            port: free_port(),
            dir,
            targets: targets.to_vec(),
            metrics_path: metrics_path.to_string(),
        };
        s.spawn();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let config = self.dir.path().join("prometheus.yml");
        let targets = self
            .targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: app\n    metrics_path: '{}'\n    static_configs:\n      - targets: [{targets}]\n",
                self.metrics_path
            ),
        )
        .expect("write config");
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let child = Command::new(prometheus_bin())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        self.child = Some(child);
        self.wait_ready();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("prometheus.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("prometheus exited with {status}:\n{}", self.log());
            }
            if http_get_ok(self.port, "/-/ready") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready after 30s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (an outage); the data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for PromServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A blocking `GET` on loopback answering whether the status was 200.
fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && &buf[9..12] == b"200")
}

/// Metrics the test moves: gauges set to values, counters growing linearly
/// with time (`base + per_second × seconds since start`, computed at scrape
/// time), so `rate()` has an exact expected value.
#[derive(Default)]
pub struct ExporterState {
    /// `name{labels}` → value.
    pub gauges: BTreeMap<String, f64>,
    /// `name{labels}` → (base, per second).
    pub counters: BTreeMap<String, (f64, f64)>,
    pub started: Option<Instant>,
}

#[derive(Clone)]
pub struct Exporter {
    pub state: Arc<Mutex<ExporterState>>,
    pub addr: SocketAddr,
}

impl Exporter {
    /// Serves `/metrics` on a free loopback port from the current runtime.
    pub async fn start() -> Exporter {
        let state = Arc::new(Mutex::new(ExporterState {
            started: Some(Instant::now()),
            ..ExporterState::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind exporter");
        let addr = listener.local_addr().expect("addr");
        let s = Arc::clone(&state);
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let s = Arc::clone(&s);
                async move { render(&s) }
            }),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Exporter { state, addr }
    }

    pub fn set_gauge(&self, series: &str, v: f64) {
        self.lock().gauges.insert(series.to_string(), v);
    }

    pub fn set_counter(&self, series: &str, base: f64, per_second: f64) {
        self.lock()
            .counters
            .insert(series.to_string(), (base, per_second));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ExporterState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn render(state: &Mutex<ExporterState>) -> String {
    let st = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let secs = st.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
    let mut out = String::new();
    let mut typed = std::collections::BTreeSet::new();
    for (series, v) in &st.gauges {
        let name = series.split('{').next().unwrap_or(series);
        if typed.insert(name.to_string()) {
            out.push_str(&format!("# TYPE {name} gauge\n"));
        }
        out.push_str(&format!("{series} {v}\n"));
    }
    for (series, (base, rate)) in &st.counters {
        let name = series.split('{').next().unwrap_or(series);
        if typed.insert(name.to_string()) {
            out.push_str(&format!("# TYPE {name} counter\n"));
        }
        out.push_str(&format!("{series} {}\n", base + rate * secs));
    }
    out
}

pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    Timestamp::from_millis(ms)
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
