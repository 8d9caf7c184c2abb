//! `GET /subscriptions/{sub}/providers/Microsoft.ContainerInstance` (`Providers_Get`): the
//! resource types with display-name locations and `containerGroups`' zone mappings, behind ARM's
//! api-version check (`burst.zones: auto`).
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use aci_emulator::EmulatorConfig;
use common::*;
use serde_json::{Value, json};

fn provider_url(env: &Env, version: Option<&str>) -> String {
    let base = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance",
        env.base()
    );
    match version {
        Some(v) => format!("{base}?api-version={v}"),
        None => base,
    }
}

async fn get(env: &Env, url: &str) -> reqwest::Response {
    env.http.get(url).bearer_auth(&env.token).send().await.unwrap()
}

fn container_groups(body: &Value) -> &Value {
    body["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resourceType"] == "containerGroups")
        .expect("containerGroups listed")
}

#[tokio::test]
async fn lists_locations_by_display_name_with_their_zones() {
    let env = start(EmulatorConfig {
        locations: vec!["westeurope".into(), "westcentralus".into(), "eastus2".into()],
        region_zones: [
            ("westcentralus".to_owned(), Vec::new()),
            ("eastus2".to_owned(), vec!["1".into(), "2".into()]),
        ]
        .into_iter()
        .collect(),
        ..fast_config()
    })
    .await;
    let r = get(&env, &provider_url(&env, Some("2021-04-01"))).await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["namespace"], "Microsoft.ContainerInstance");
    assert_eq!(body["registrationState"], "Registered");
    let cg = container_groups(&body);
    assert_eq!(
        cg["locations"],
        json!(["West Europe", "West Central US", "East US 2"])
    );
    assert_eq!(
        cg["zoneMappings"],
        json!([
            {"location": "West Europe", "zones": ["1", "2", "3"]},
            {"location": "East US 2", "zones": ["1", "2"]}
        ]),
        "a region without zones has no mapping"
    );
    assert!(
        cg["apiVersions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "2026-05-01")
    );
    // Reads count against the subscription's ARM read bucket like any GET.
    let r = get(&env, &provider_url(&env, Some("2024-03-01"))).await;
    assert!(
        r.headers()
            .contains_key("x-ms-ratelimit-remaining-subscription-reads")
    );
}

#[tokio::test]
async fn no_zones_anywhere_when_configured_so() {
    let env = start(EmulatorConfig {
        zones: Vec::new(),
        ..fast_config()
    })
    .await;
    let body: Value = get(&env, &provider_url(&env, Some("2021-04-01")))
        .await
        .json()
        .await
        .unwrap();
    let cg = container_groups(&body);
    assert_eq!(cg["zoneMappings"], json!([]));
    assert!(
        cg["locations"].as_array().unwrap().len() >= 30,
        "the default regions"
    );
}

#[tokio::test]
async fn api_version_is_checked_as_arm_does() {
    let env = start(fast_config()).await;
    assert_eq!(
        error_code(get(&env, &provider_url(&env, None)).await).await,
        (400, "MissingApiVersionParameter".to_owned())
    );
    // An ACI api-version is not a Microsoft.Resources one.
    assert_eq!(
        error_code(get(&env, &provider_url(&env, Some("2026-05-01"))).await).await,
        (400, "NoRegisteredProviderFound".to_owned())
    );
    assert_eq!(
        error_code(get(&env, &provider_url(&env, Some("latest"))).await).await,
        (400, "InvalidApiVersionParameter".to_owned())
    );
    let unauth = env
        .http
        .get(provider_url(&env, Some("2021-04-01")))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
}
