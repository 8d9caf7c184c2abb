//! ARM (`Microsoft.ContainerInstance`) response bodies on arbitrary bytes,
//! read the way the client reads them (`transport::parse_body`: a JSON
//! object, the expected top-level key, else an `error` envelope mapped by
//! `classify`): a container group, a list page, an async-operation status,
//! a usage list and an error envelope. What parses is then mapped
//! (inventory, burst state, quota headroom, operation classification) and
//! must round-trip through serde. Nothing may panic.
#![no_main]

use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;
use spillway_aci::inventory::{HealthRules, inventory, map_group, state_of};
use spillway_aci::model::{
    AsyncOperationStatus, CloudError, CloudErrorBody, ContainerGroup, ContainerGroupList, Event, UsageList,
};
use spillway_aci::{AciError, classify, classify_operation, parse_retry_after, quota_headroom};
use spillway_core::config::AciPriority;
use spillway_core::time::Timestamp;

const STATUSES: [u16; 10] = [200, 400, 401, 404, 408, 409, 429, 500, 503, 599];

/// Mirrors the client's `parse_body` (crate-private).
fn parse_body<T: DeserializeOwned>(value: &Value, expected: &str) -> Option<Result<T, AciError>> {
    let obj = value.as_object()?;
    if !obj.contains_key(expected) {
        if let Some(err) = obj.get("error")
            && let Ok(body) = serde_json::from_value::<CloudErrorBody>(err.clone())
        {
            return Some(Err(classify(200, Some(&body), None)));
        }
        return None;
    }
    Some(serde_json::from_value(value.clone()).map_err(|e| AciError::Malformed(e.to_string())))
}

fn group(g: &ContainerGroup) {
    let rules = HealthRules::default();
    let _ = g.phase();
    let _ = g.ip();
    let _ = state_of(g, rules);
    let _ = map_group(g, rules, Timestamp::from_secs(1_700_000_000));
    // What the client read, it can write back and read again unchanged.
    // Compared as JSON values: serde_json's default float parsing is
    // best-effort (it may land one ulp off the shortest form it wrote; the
    // `float_roundtrip` feature trades speed for exactness), which is not
    // what is tested here; the model's own serde attributes (flatten, skip,
    // defaults, renames) are.
    let json = serde_json::to_value(g).expect("a parsed group serializes");
    let back: ContainerGroup = serde_json::from_value(json.clone()).expect("a serialized group parses");
    assert_eq!(
        serde_json::to_value(&back).expect("serializes"),
        json,
        "group does not round-trip"
    );
    let text = serde_json::to_vec(g).expect("a parsed group serializes");
    let _: ContainerGroup = serde_json::from_slice(&text).expect("a serialized group parses");
}

fn events_of(value: &Value) -> Vec<Event> {
    value
        .pointer("/properties/events")
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default()
}

fn error_kinds(body: &CloudErrorBody) {
    for status in STATUSES {
        for ra in [None, Some(Duration::from_secs(30))] {
            let e = classify(status, Some(body), ra);
            let _ = (e.to_string(), e.metric_label(), e.is_retryable(), e.retry_after());
            let _ = e.makes_location_unavailable();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The error path of every call: the envelope, or no envelope at all.
    match serde_json::from_slice::<CloudError>(data) {
        Ok(env) => error_kinds(&env.error),
        Err(_) => {
            for status in STATUSES {
                let _ = classify(status, None, None).to_string();
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_retry_after(text, SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    }

    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Some(Ok(g)) = parse_body::<ContainerGroup>(&value, "properties") {
        group(&g);
    }
    if let Some(Ok(page)) = parse_body::<ContainerGroupList>(&value, "value") {
        for g in &page.value {
            group(g);
        }
        let cluster = page
            .value
            .iter()
            .find_map(|g| g.tags.get("spillway.io/cluster").cloned())
            .unwrap_or_else(|| "c1".into());
        let _ = inventory(
            &page.value,
            &cluster,
            HealthRules::default(),
            Timestamp::from_secs(0),
        );
    }
    if let Some(Ok(op)) = parse_body::<AsyncOperationStatus>(&value, "status") {
        let events = events_of(&value);
        let refs: Vec<&Event> = events.iter().collect();
        let e = classify_operation(&op.status, op.error.as_ref(), &refs);
        let _ = (e.to_string(), e.is_retryable());
    }
    if let Some(Ok(usages)) = parse_body::<UsageList>(&value, "value") {
        for p in [AciPriority::Regular, AciPriority::Spot] {
            let _ = quota_headroom(&usages.value, p);
        }
    }
});
