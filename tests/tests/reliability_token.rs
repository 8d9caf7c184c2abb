//! Token expiry (issue 8, "Token expiry"): a standalone `aci-emulator` whose
//! tokens live 6 s, and `spillway demo` against it through a spike (creates,
//! then deletes after the spike), for at least 40 s and several token
//! lifetimes. Asserted: the emulator issued several tokens (the client
//! refreshed them), no ARM write it recorded was answered 401, and the
//! demo's `spillway_aci_requests_total{code="401"}` is absent or 0 (reads
//! included) while tens of ARM requests, creates and deletes included, succeeded.

mod support_ctl;

use std::path::Path;
use std::time::{Duration, Instant};

use support_ctl::{DemoProc, EmulatorProc, http_get, metric_sum, write_trace};

const TOKEN_LIFETIME_SECS: u64 = 6;

#[test]
fn short_lived_tokens_are_refreshed_without_a_failed_request() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let lifetime = format!("{TOKEN_LIFETIME_SECS}s");
    let emu = EmulatorProc::start_with(logs, &["--token-lifetime", &lifetime]);
    // The peak (35 replicas, about 21 burst) from 10 s to 40 s of demand,
    // i.e. 5 s to 20 s of wall time at --speed 2.
    let trace = logs.join("spike.csv");
    write_trace(
        &trace,
        900,
        |t| if (10..40).contains(&t) { 3500.0 } else { 400.0 },
    );
    let path = |p: &Path| p.to_str().expect("utf-8 temp path").to_string();
    let trace_arg = path(&trace);
    let mut demo = DemoProc::start(
        "demo",
        &[
            "--arm-endpoint",
            &emu.url,
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

    let metrics = |demo: &mut DemoProc| -> String {
        match http_get(&format!("{}/metrics", demo.base)) {
            Ok((200, text)) => text,
            other => panic!("GET /metrics: {other:?}\n{}", demo.proc.logs()),
        }
    };
    let started = Instant::now();
    let deadline = Duration::from_secs(90);
    let mut max_live = 0;
    loop {
        let state = emu.state();
        let unauthorized: Vec<String> = state
            .writes
            .iter()
            .filter(|w| w.status == 401)
            .map(|w| format!("{} {} {}", w.at, w.method, w.path))
            .collect();
        assert!(unauthorized.is_empty(), "writes answered 401: {unauthorized:?}");
        let text = metrics(&mut demo);
        let failed = metric_sum(&text, "spillway_aci_requests_total", &["code=\"401\""]);
        assert_eq!(failed, 0.0, "ARM requests answered 401 (/metrics)");
        max_live = max_live.max(state.live().len());
        let puts = state.group_writes().iter().filter(|w| w.is_put()).count();
        let all_deleted = state.groups.iter().all(|g| g.deleted_at.is_some());
        if started.elapsed() >= Duration::from_secs(40) && puts > 0 && all_deleted {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "no burst created and deleted within {deadline:?} (max live {max_live})\n{}",
            state.dump()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let state = emu.state();
    let text = metrics(&mut demo);
    let requests = metric_sum(&text, "spillway_aci_requests_total", &[]);
    let ok = ["200", "201", "202", "204"]
        .iter()
        .map(|c| metric_sum(&text, "spillway_aci_requests_total", &[&format!("code=\"{c}\"")]))
        .sum::<f64>();
    let elapsed = started.elapsed().as_secs();
    // At least one token per two lifetimes of the run: the first one expired
    // long before the end, so the client must have refreshed it.
    let expected = elapsed / (2 * TOKEN_LIFETIME_SECS);
    assert!(
        state.tokens_issued >= expected.max(3),
        "only {} tokens issued in {elapsed}s with a {TOKEN_LIFETIME_SECS}s lifetime",
        state.tokens_issued
    );
    let writes = state
        .group_writes()
        .iter()
        .filter(|w| (200..300).contains(&w.status))
        .count();
    // Creates during the spike and deletes after it, tens of seconds (several
    // token lifetimes) apart.
    assert!(
        ok >= 30.0 && writes >= 10,
        "only {ok} successful ARM requests ({requests} in all), {writes} accepted group writes: \
         the run did not exercise the tokens"
    );
    let bad: Vec<String> = state
        .writes
        .iter()
        .filter(|w| w.status == 401)
        .map(|w| w.path.clone())
        .collect();
    assert!(bad.is_empty(), "writes answered 401: {bad:?}");
    demo.kill9();
    eprintln!(
        "token lifetime {TOKEN_LIFETIME_SECS}s: {} tokens issued over {elapsed}s, {requests} ARM requests \
         ({ok} 2xx, 0 answered 401), {writes} accepted group writes, up to {max_live} live groups, {:.0}s",
        state.tokens_issued,
        t0.elapsed().as_secs_f64()
    );
}
