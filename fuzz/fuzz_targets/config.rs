//! `spillway_core::config::load` on arbitrary text: YAML parsing (bounded in
//! size and depth), per-section deserialization with error recovery,
//! validation and policy resolution must never panic, and every error it
//! reports must render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    match spillway_core::config::load(yaml) {
        Ok(loaded) => {
            let _ = loaded.is_fully_valid();
            for e in loaded.errors() {
                let _ = e.to_string();
            }
            for p in loaded.valid_policies() {
                let _ = format!("{p:?}");
            }
        }
        Err(invalid) => {
            assert!(!invalid.errors.is_empty(), "an invalid document must say why");
            for e in &invalid.errors {
                let _ = e.to_string();
            }
        }
    }
});
