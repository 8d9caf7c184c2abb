//! Config faults (issue 8, "Config faults"): `spillway demo --config FILE`
//! against a standalone `aci-emulator`, with a document holding three
//! policies:
//!
//! * `web`, the demo's own (first, so it is the demo's simulated workload);
//! * `ghost`, a copy of it whose target Deployment does not exist in the
//!   simulated cluster;
//! * `spotty`, a copy whose `burst.requests` (8 vCPU, Spot) exceed the ACI
//!   Spot per-group limit of 4 vCPU — a validation error.
//!
//! Asserted: `spotty` is reported disabled with its `burst.requests.cpu`
//! reason (and listed in `configErrors`); `ghost` is reported disabled
//! (`enabled: false`) with a disabled reason naming its missing target, and
//! the same in its errors; neither creates any
//! container group; and `web` bursts normally during the spike (groups
//! created and Succeeded, its plan ticking without errors).

mod support_ctl;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support_ctl::{EmulatorProc, last_tick, policy, wait_for};

const POLL: Duration = Duration::from_millis(250);

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|e| match e.as_str() {
            Some(s) => s.to_string(),
            None => e.to_string(),
        })
        .collect()
}

#[test]
fn missing_target_and_invalid_policy_are_reported_and_web_still_bursts() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path();
    let emu = EmulatorProc::start(logs);

    let mut doc = support_ctl::demo_config();
    let web = doc["policies"][0].clone();
    assert_eq!(web["name"], "web");
    let mut ghost = web.clone();
    ghost["name"] = json!("ghost");
    ghost["target"]["name"] = json!("does-not-exist");
    ghost["burst"]["service"] = json!("ghost");
    let mut spotty = web.clone();
    spotty["name"] = json!("spotty");
    spotty["target"]["name"] = json!("spotty");
    spotty["burst"]["service"] = json!("spotty");
    spotty["burst"]["priority"] = json!("Spot");
    spotty["burst"]["requests"] = json!({ "cpu": "8", "memory": "4Gi" });
    doc["policies"] = json!([web, ghost, spotty]);
    let (mut demo, _cfg) = support_ctl::start_demo_with_config(&emu.url, &doc, logs);

    // The invalid policy: disabled at load, with its reason.
    let st = wait_for(
        "the configuration loaded",
        Duration::from_secs(10),
        POLL,
        || demo.try_status().ok().filter(|st| st["configLoaded"] == true),
        || format!("{}", demo.try_status().unwrap_or_default()),
    );
    let sp = policy(&st, "spotty");
    assert_eq!(sp["enabled"], false, "spotty is not disabled: {sp}");
    let reasons = strings(&sp["disabledReasons"]);
    assert!(
        reasons.iter().any(|r| r.contains("burst.requests.cpu")),
        "spotty's disabled reasons do not name burst.requests.cpu: {reasons:?}"
    );
    let config_errors = strings(&st["configErrors"]);
    assert!(
        config_errors
            .iter()
            .any(|e| e.contains("spotty") || e.contains("policies[2]")),
        "configErrors do not list spotty's error: {config_errors:?}"
    );
    assert_eq!(policy(&st, "web")["enabled"], true, "{st}");

    // `web` bursts; `ghost` is reported; nobody else creates anything.
    let mut ghost_report = None;
    let (web_groups, st) = wait_for(
        "web bursting (5 groups Succeeded) and ghost reported",
        Duration::from_secs(75),
        POLL,
        || {
            let st = demo.try_status().ok()?;
            let state = emu.state();
            let foreign: Vec<&str> = state
                .groups
                .iter()
                .map(|g| g.name.as_str())
                .filter(|n| !n.starts_with("demo-web-"))
                .collect();
            assert!(foreign.is_empty(), "groups of another policy: {foreign:?}");
            let g = policy(&st, "ghost");
            let said: Vec<String> = strings(&g["disabledReasons"])
                .into_iter()
                .filter(|e| e.contains("does-not-exist"))
                .collect();
            let errors = strings(&g["errors"]);
            if g["enabled"] == false
                && !said.is_empty()
                && errors.iter().any(|e| e.contains("does-not-exist"))
            {
                ghost_report = Some((said, errors.len()));
            }
            let ready = state
                .live()
                .iter()
                .filter(|g| g.provisioning_state == "Succeeded")
                .count();
            (ready >= 5 && ghost_report.is_some()).then_some((state.groups.len(), st))
        },
        || {
            format!(
                "ghost: {}\nweb: {}\n{}",
                policy(&demo.try_status().unwrap_or_default(), "ghost"),
                policy(&demo.try_status().unwrap_or_default(), "web"),
                emu.state().dump()
            )
        },
    );
    let w = policy(&st, "web");
    assert!(last_tick(&st, "web").is_some(), "web never ticked: {w}");
    assert!(
        w["lastPlan"]["burstTarget"].as_u64().unwrap_or(0) >= 5,
        "web's burst target: {w}"
    );
    assert!(
        strings(&w["errors"]).is_empty(),
        "web has errors: {:?}",
        strings(&w["errors"])
    );
    assert!(
        last_tick(&st, "spotty").is_none(),
        "the disabled policy ticked: {}",
        policy(&st, "spotty")
    );
    demo.kill9();
    let (ghost_said, ghost_errors) = ghost_report.expect("ghost reported");
    eprintln!(
        "config faults: spotty disabled ({reasons:?}); ghost disabled ({ghost_said:?}, {ghost_errors} errors); \
         web created {web_groups} groups; {:.0}s",
        t0.elapsed().as_secs_f64()
    );
}
