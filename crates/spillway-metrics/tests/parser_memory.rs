//! Bounded memory: an instant vector of 10^6 series is folded without keeping
//! the series, so the peak memory of the parse is a small fraction of the
//! body, while a JSON tree of a tenth of that body takes far more.
//! Alone in its own test binary so the process' peak RSS is its own.

use std::time::Instant;

use spillway_metrics::prometheus::parse::{InstantData, Limits, parse_instant};

fn status_kib(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    s.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field in /proc/self/status")
}

/// Resets the peak-RSS mark to the current RSS (Linux `clear_refs` 5).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
}

fn body(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 60 + 100);
    out.extend_from_slice(br#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(r#"{{"metric":{{"pod":"web-{i}"}},"value":[1700000000,"{i}"]}}"#).as_bytes(),
        );
    }
    out.extend_from_slice(b"]}}");
    out
}

#[test]
fn a_million_series_parse_in_bounded_memory() {
    let n = 1_000_000;
    let body = body(n);
    let body_kib = body.len() as u64 / 1024;
    let open = Limits {
        max_body_bytes: usize::MAX,
        max_series: usize::MAX,
        max_points: usize::MAX,
    };

    reset_peak();
    let base = status_kib("VmRSS:");
    let started = Instant::now();
    let parsed = parse_instant(&body, &open).expect("parses");
    let elapsed = started.elapsed();
    let ours = status_kib("VmHWM:").saturating_sub(base);
    let InstantData::Vector(v) = parsed.data else {
        panic!()
    };
    assert_eq!(v.series, n);

    // The baseline on a tenth of the body: a tree of 10^5 series alone
    // needs far more than the streaming parse of 10^6.
    drop(body);
    let small = self::body(n / 10);
    reset_peak();
    let base = status_kib("VmRSS:");
    let tree: serde_json::Value = serde_json::from_slice(&small).expect("tree");
    let tree_kib = status_kib("VmHWM:").saturating_sub(base);
    drop(tree);

    eprintln!(
        "body {body_kib} KiB; streaming parse peak +{ours} KiB in {elapsed:?}; serde_json::Value of 10^5 series peak +{tree_kib} KiB"
    );
    assert!(ours < 4 * 1024, "streaming parse grew RSS by {ours} KiB");
    assert!(
        tree_kib > 10 * ours.max(1),
        "the baseline should need far more: {tree_kib} KiB"
    );
}
