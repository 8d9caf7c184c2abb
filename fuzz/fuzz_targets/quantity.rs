//! `Quantity::parse` on arbitrary text: never panics (overflow checks are on
//! under cargo fuzz), and what it accepts survives a Display round trip
//! exactly, since the value is exact and Display is lossless.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spillway_core::quantity::Quantity;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(q) = Quantity::parse(s) else {
        return;
    };
    // The derived accessors must not overflow either.
    let _ = q.millis_ceil();
    let _ = q.units_ceil();
    let _ = q.as_f64();
    let shown = q.to_string();
    let back = Quantity::parse(&shown)
        .unwrap_or_else(|e| panic!("{s:?} parsed to {q:?}, displayed as {shown:?}, which fails: {e}"));
    assert_eq!(back, q, "{s:?} -> {shown:?} does not round-trip");
    // The serde form goes through Display as well.
    let json = serde_json::to_string(&q).expect("serialize");
    let again: Quantity = serde_json::from_str(&json).expect("deserialize own output");
    assert_eq!(again, q);
});
