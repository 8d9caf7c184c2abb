//! `burst.zones: auto`: the zones of a location read from the resource
//! provider (`Providers_Get`), over loopback HTTP against wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::arm::*;
use serde_json::json;
use spillway_aci::{AciError, Operation};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn provider_server(body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/subscriptions/{SUB}/providers/Microsoft.ContainerInstance"
        )))
        .and(query_param("api-version", "2021-04-01"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

fn aci_provider() -> serde_json::Value {
    json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance"),
        "namespace": "Microsoft.ContainerInstance",
        "registrationState": "Registered",
        "resourceTypes": [
            {"resourceType": "containerGroupProfiles", "locations": ["West Europe"], "apiVersions": ["2024-05-01-preview"]},
            {"resourceType": "containerGroups",
             "locations": ["West Europe", "North Europe", "West Central US"],
             "apiVersions": ["2026-05-01", "2023-05-01"],
             "zoneMappings": [
                 {"location": "West Europe", "zones": ["2", "1", "3"]},
                 {"location": "North Europe", "zones": ["1", "2", "3"]}
             ],
             "capabilities": "SupportsTags, SupportsLocation"}
        ]
    })
}

#[tokio::test]
async fn zones_come_from_the_providers_zone_mappings_by_display_name() {
    let server = provider_server(aci_provider()).await;
    let (c, _, rec) = client(fast_config(&server.uri()));
    assert_eq!(c.zones_of("westeurope").await.unwrap(), ["1", "2", "3"]);
    assert_eq!(c.zones_of("WestEurope").await.unwrap(), ["1", "2", "3"]);
    // Listed, but without a zone mapping: a region without zones.
    assert!(c.zones_of("westcentralus").await.unwrap().is_empty());
    // Not offered at all: an error, not "no zones".
    match c.zones_of("mars").await.unwrap_err() {
        AciError::NotFound { code, .. } => assert_eq!(code, "LocationNotAvailableForResourceType"),
        other => panic!("{other:?}"),
    }
    assert!(
        rec.summary()
            .iter()
            .all(|(op, status)| *op == Operation::ProviderRead && *status == Some(200)),
        "{:?}",
        rec.summary()
    );
}

#[tokio::test]
async fn arm_errors_and_odd_bodies_are_typed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/subscriptions/{SUB}/providers/Microsoft.ContainerInstance")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": "AuthorizationFailed",
            "message": "does not have authorization to perform action 'Microsoft.Resources/subscriptions/providers/read'"
        }})))
        .mount(&server)
        .await;
    let (c, _, _) = client(fast_config(&server.uri()));
    assert!(matches!(
        c.zones_of("westeurope").await.unwrap_err(),
        AciError::Auth { .. }
    ));

    let odd = provider_server(json!({"namespace": "Microsoft.ContainerInstance", "resourceTypes": []})).await;
    let (c, _, _) = client(fast_config(&odd.uri()));
    assert!(matches!(
        c.zones_of("westeurope").await.unwrap_err(),
        AciError::Malformed(_)
    ));
}
