//! 200 container groups created and deleted against `aci-emulator` with
//! 100 ms of emulated latency per call. Prints wall time against the ideal
//! for the configured concurrency (computed from the per-call latency
//! measured in this process with a raw HTTP baseline), requests/s and the
//! client's CPU per request (from /proc, client threads only: the emulator
//! runs on its own named runtime threads).
//!
//! `cargo bench -p spillway-aci --bench emulator_lifecycle`
//! Env: `BENCH_GROUPS` (200), `BENCH_CONCURRENCY` (20), `BENCH_LATENCY_MS` (100).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aci_emulator::{Emulator, EmulatorConfig, LatencyDist, Limits, ProvisioningLatency};
use azure_auth::{CachedTokenProvider, ClientSecretCredential, SecretSource};
use spillway_aci::model::ContainerGroup;
use spillway_aci::{
    AciClient, AciConfig, DeleteOutcome, LroPolicy, PacingLimits, RequestEvent, RequestObserver,
};

const EMU_THREAD: &str = "aci-emu";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Default)]
struct Count {
    reads: AtomicU64,
    writes: AtomicU64,
}

impl RequestObserver for Count {
    fn on_request(&self, e: &RequestEvent) {
        match e.method {
            "PUT" | "DELETE" => self.writes.fetch_add(1, Ordering::Relaxed),
            _ => self.reads.fetch_add(1, Ordering::Relaxed),
        };
    }
}

/// CPU seconds of this process's threads, split into (emulator, everything else).
fn cpu_split() -> (f64, f64) {
    const TICKS: f64 = 100.0; // USER_HZ on Linux
    let (mut emu, mut rest) = (0u64, 0u64);
    for t in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else { continue };
        let comm = &stat[stat.find('(').unwrap_or(0) + 1..close];
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // After the comm: state is field 3, utime 14, stime 15 (1-based in proc(5)).
        let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        if comm.starts_with(EMU_THREAD) {
            emu += ticks;
        } else {
            rest += ticks;
        }
    }
    (emu as f64 / TICKS, rest as f64 / TICKS)
}

fn body(i: u64) -> ContainerGroup {
    serde_json::from_value(serde_json::json!({
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "bench", "spillway.io/policy": "web", "spillway.io/ordinal": i.to_string(),
                 "spillway.io/template-hash": "h"},
        "properties": {"osType": "Linux", "restartPolicy": "Always",
            "containers": [{"name": "app", "properties": {"image": "nginx:1.27",
                "ports": [{"port": 80, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": 0.1, "memoryInGB": 0.1}}}}],
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}]}}
    }))
    .unwrap()
}

fn main() {
    let groups = env_or("BENCH_GROUPS", 200);
    let conc = env_or("BENCH_CONCURRENCY", 20) as usize;
    let latency_ms = env_or("BENCH_LATENCY_MS", 100);

    // The emulator on its own runtime and threads.
    let emu_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(EMU_THREAD)
        .enable_all()
        .build()
        .unwrap();
    let emu = emu_rt
        .block_on(Emulator::start(EmulatorConfig {
            latency: ProvisioningLatency::instant(),
            limits: Limits::unlimited(),
            ..EmulatorConfig::default()
        }))
        .unwrap();
    emu.update_faults(|f| f.call_latency = LatencyDist::fixed_ms(latency_ms));
    let base = emu.base_url().to_string();
    let token = emu.issue_token();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("aci-client")
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Baseline: the per-call latency as a raw HTTP client sees it, sequential and at the
        // bench's concurrency (the emulator must not serialise calls).
        let raw = reqwest::Client::new();
        let probe = format!(
            "{base}/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bench/providers/Microsoft.ContainerInstance/containerGroups/absent?api-version=2026-05-01"
        );
        let mut samples = Vec::new();
        for _ in 0..7 {
            let t0 = Instant::now();
            raw.get(&probe).bearer_auth(&token).send().await.unwrap().bytes().await.unwrap();
            samples.push(t0.elapsed());
        }
        samples.sort();
        let call = samples[samples.len() / 2];
        let t0 = Instant::now();
        let fan: Vec<_> = (0..conc)
            .map(|_| {
                let (raw, probe, token) = (raw.clone(), probe.clone(), token.clone());
                tokio::spawn(async move { raw.get(&probe).bearer_auth(&token).send().await.unwrap().bytes().await })
            })
            .collect();
        for f in fan {
            f.await.unwrap().unwrap();
        }
        let fan_wall = t0.elapsed();

        let mut cfg = AciConfig::new(&base, "00000000-0000-0000-0000-000000000000", "bench").unwrap();
        cfg.read_concurrency = conc;
        cfg.write_concurrency = conc;
        cfg.lro = LroPolicy {
            initial_delay: Duration::ZERO,
            max_delay: Duration::from_millis(200),
            ..LroPolicy::default()
        };
        cfg.pacing = PacingLimits {
            creates_per_5m: 100_000,
            creates_per_1h: 100_000,
            deletes_per_5m: 100_000,
            deletes_per_1h: 100_000,
            enforce: true,
        };
        let cred = ClientSecretCredential::new("bench", "bench", SecretSource::Value("x".into())).with_authority(&base);
        let tokens = Arc::new(CachedTokenProvider::new(cred));
        let count = Arc::new(Count::default());
        let client = Arc::new(AciClient::with_observer(cfg, tokens, count.clone()).unwrap());
        // Warm the token cache and connection pool outside the measurement.
        client.get("warm-up").await.unwrap();
        count.reads.store(0, Ordering::Relaxed);

        let (_, cpu0) = cpu_split();
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..groups)
            .map(|i| {
                let c = client.clone();
                tokio::spawn(async move {
                    let name = format!("bench-web-{i}");
                    let g = c.create_or_update(&name, &body(i)).await?;
                    assert!(g.ip().is_some());
                    let d = c.delete(&name).await?;
                    assert_eq!(d, DeleteOutcome::Deleted);
                    Ok::<_, spillway_aci::AciError>(())
                })
            })
            .collect();
        let mut failed = 0;
        for t in tasks {
            if let Err(e) = t.await.unwrap() {
                failed += 1;
                eprintln!("lifecycle failed: {e}");
            }
        }
        let wall = t0.elapsed();
        let (_, cpu1) = cpu_split();

        let (reads, writes) = (count.reads.load(Ordering::Relaxed), count.writes.load(Ordering::Relaxed));
        let requests = reads + writes;
        // Ideal: the fewest calls the contract needs per group (PUT, one status poll, the final GET;
        // DELETE, one status poll, the confirming GET: 2 writes + 4 reads), each taking the measured
        // per-call latency, `conc` at a time per lane; and never less than one group's chain.
        let (min_w, min_r) = (2 * groups, 4 * groups);
        let lane = |n: u64| call.mul_f64(n as f64 / conc as f64);
        let ideal = lane(min_w).max(lane(min_r)).max(call * 6);
        let ratio = wall.as_secs_f64() / ideal.as_secs_f64();
        let cpu = cpu1 - cpu0;
        println!("emulator_lifecycle: {groups} groups created and deleted, concurrency {conc} (reads and writes), {latency_ms} ms emulated latency");
        println!("  baseline: raw call {:.1} ms (median of 7); {conc} raw calls at once {:.1} ms", ms(call), ms(fan_wall));
        println!("  requests: {requests} ({writes} writes, {reads} reads; contract minimum {})", min_w + min_r);
        println!("  wall {:.3} s, ideal {:.3} s, ratio {ratio:.3} (must be <= 1.5)", wall.as_secs_f64(), ideal.as_secs_f64());
        println!("  throughput {:.1} requests/s, {:.1} groups/s", requests as f64 / wall.as_secs_f64(), groups as f64 / wall.as_secs_f64());
        println!("  client CPU {:.3} s = {:.0} us per request (emulator threads excluded)", cpu, cpu * 1e6 / requests.max(1) as f64);
        if failed > 0 || ratio > 1.5 {
            println!("  FAIL ({failed} lifecycles failed)");
            std::process::exit(1);
        }
        println!("  PASS");
    });
    drop(emu);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
