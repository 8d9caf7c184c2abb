//! Soak (issue 8): one hour of demand (`SPILLWAY_SOAK_SECS`, default 3600
//! demand seconds) with spikes of random height and length, compressed
//! into two minutes of wall time (`SPILLWAY_SOAK_SPEED`, default 30×), while
//! a seeded RNG (`SPILLWAY_SOAK_SEED`, printed) injects ARM faults into the
//! emulator one after another: 20 % 5xx, lost responses (written, answered
//! 500), 429 storms with `Retry-After`, no capacity in the primary
//! location, slow provisioning. Checked every half second:
//!
//! * live container groups ≤ `burst.maxReplicas`;
//! * the plan's burst cost ≤ `burst.maxHourlyCost`;
//! * the process serves `/healthz` and keeps ticking.
//!
//! At the end the demand is low: every group is deleted (no orphan), and
//! the process's memory is flat (the last quarter's median RSS within 25 %
//! + 8 MiB of the second quarter's).

mod support_ctl;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use support_ctl::witness::Witness;
use support_ctl::{DemoProc, EmulatorProc, http_get, last_tick, policy, write_trace};

const POLICY: &str = "web";
const BURST_MAX: u32 = 30; // burst.maxReplicas of the demo's config
const MAX_HOURLY_COST: f64 = 5.0; // burst.maxHourlyCost of the demo's config

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}")),
        Err(_) => default,
    }
}

/// The hour's demand: a base of 400/s with spikes (10–25 % of the time
/// each, 1,200–3,500/s), the highest exactly 3,500/s, and a low tail.
fn demand(rng: &mut ChaCha8Rng, secs: u32) -> Vec<f64> {
    let mut d = vec![400.0; secs as usize];
    let tail = secs / 10;
    let mut t = secs / 20;
    let mut first = true;
    while t + tail < secs {
        let len = rng.random_range(secs / 10..secs / 4).min(secs - tail - t);
        let level = if first {
            3500.0
        } else {
            rng.random_range(1200.0..3500.0)
        };
        first = false;
        for v in &mut d[t as usize..(t + len) as usize] {
            *v = level;
        }
        t += len + rng.random_range(secs / 20..secs / 6);
    }
    d
}

/// One ARM fault, as a merge patch of the emulator's faults.
fn fault(rng: &mut ChaCha8Rng) -> (&'static str, Value) {
    match rng.random_range(0..5) {
        0 => ("20% 5xx", json!({ "error5xxRate": 0.2 })),
        1 => ("lost responses", json!({ "error5xxAfterWriteRate": 0.2 })),
        2 => (
            "429 storm",
            json!({ "forceThrottle": { "count": rng.random_range(20..200), "retryAfterSecs": rng.random_range(1..6), "scope": "writes" } }),
        ),
        3 => (
            "no capacity in westeurope",
            json!({ "capacity": [{ "region": "westeurope", "mode": "sync" }] }),
        ),
        _ => ("slow provisioning", json!({ "lroSlowFactor": 3.0 })),
    }
}

fn clear() -> Value {
    json!({ "error5xxRate": 0.0, "error5xxAfterWriteRate": 0.0, "forceThrottle": null, "capacity": [], "lroSlowFactor": 1.0 })
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[test]
fn an_hour_of_spikes_and_arm_faults_keeps_every_invariant() {
    let t0 = Instant::now();
    let secs = env_u64("SPILLWAY_SOAK_SECS", 3600) as u32;
    let speed = env_u64("SPILLWAY_SOAK_SPEED", 30);
    let seed = env_u64(
        "SPILLWAY_SOAK_SEED",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    eprintln!("soak: {secs} demand seconds at {speed}x, seed {seed} (replay with SPILLWAY_SOAK_SEED={seed})");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);
    let trace = logs.join("hour.csv");
    let series = demand(&mut rng, secs);
    write_trace(&trace, secs, |t| series[t as usize]);
    let wall = Duration::from_secs_f64(f64::from(secs) / speed as f64);
    let (trace_arg, speed_arg) = (trace.to_str().expect("utf-8").to_string(), speed.to_string());
    let mut demo = DemoProc::start(
        "demo",
        &[
            "--arm-endpoint",
            &emu.url,
            "--trace",
            &trace_arg,
            "--speed",
            &speed_arg,
            "--seed",
            "7",
            "--duration",
            "30m",
        ],
        logs,
    );
    let mut seen = Witness::new(POLICY, BURST_MAX, "demo-web-");

    let started = Instant::now();
    let mut rss: Vec<(Duration, u64)> = Vec::new();
    let mut faults: Vec<String> = Vec::new();
    let mut next_fault = started + Duration::from_secs(rng.random_range(3..8));
    let mut fault_on = false;
    let mut max_cost: f64 = 0.0;
    let mut ticks = 0usize;
    let mut last = None;
    while started.elapsed() < wall {
        let (_, status) = seen.sample(&emu, &mut demo);
        let cost = policy(&status, POLICY)["lastPlan"]["burstHourlyCost"]
            .as_f64()
            .unwrap_or(0.0);
        max_cost = max_cost.max(cost);
        assert!(
            cost <= MAX_HOURLY_COST + 1e-9,
            "burst cost {cost}/h over maxHourlyCost {MAX_HOURLY_COST} at {:?}",
            started.elapsed()
        );
        let tick = last_tick(&status, POLICY);
        if tick != last {
            ticks += 1;
            last = tick;
        }
        let (code, _) = http_get(&format!("{}/healthz", demo.base)).unwrap_or((0, String::new()));
        assert_eq!(code, 200, "/healthz at {:?}", started.elapsed());
        if let Some(kib) = demo.proc.rss_kib() {
            rss.push((started.elapsed(), kib));
        }
        if Instant::now() >= next_fault {
            if fault_on {
                emu.patch_faults(&clear());
                next_fault = Instant::now() + Duration::from_secs(rng.random_range(2..6));
            } else {
                let (name, patch) = fault(&mut rng);
                emu.patch_faults(&patch);
                faults.push(format!("{:.0}s {name}", started.elapsed().as_secs_f64()));
                next_fault = Instant::now() + Duration::from_secs(rng.random_range(4..12));
            }
            fault_on = !fault_on;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    emu.patch_faults(&clear());
    eprintln!("faults: {faults:?}");

    // The tail is low demand: everything goes.
    seen.until_all_deleted(&emu, &mut demo, Duration::from_secs(120));
    let state = emu.state();
    let created = state.groups.len();
    let writes = state.group_writes().len();
    let failed = state
        .group_writes()
        .iter()
        .filter(|w| !(200..300).contains(&w.status))
        .count();
    demo.kill9();

    // Memory: compare the second and the last quarter of the run.
    let quarter = |q: u32| -> Vec<u64> {
        rss.iter()
            .filter(|(t, _)| *t >= wall * q / 4 && *t < wall * (q + 1) / 4)
            .map(|(_, k)| *k)
            .collect()
    };
    let (early, late) = (median(quarter(1)), median(quarter(3)));
    let peak = rss.iter().map(|(_, k)| *k).max().unwrap_or(0);
    eprintln!(
        "seed {seed}: {:.0}s wall, {ticks} ticks seen, {created} groups created, {writes} group writes \
         ({failed} answered with an injected error), peak {} live groups, max burst cost {max_cost:.3}/h, \
         RSS median {} KiB (2nd quarter) -> {} KiB (last quarter), peak {peak} KiB",
        t0.elapsed().as_secs_f64(),
        seen.max_live,
        early,
        late
    );
    assert!(faults.len() >= 3, "only {} faults injected", faults.len());
    // The demo ticks every 5 s.
    assert!(
        ticks as f64 >= wall.as_secs_f64() / 10.0,
        "only {ticks} ticks seen in {wall:?}"
    );
    assert!(created > 0, "no group was ever created");
    assert!(early > 0 && late > 0, "no RSS samples");
    assert!(
        late as f64 <= early as f64 * 1.25 + 8192.0,
        "memory grew: median RSS {early} KiB -> {late} KiB"
    );
}
