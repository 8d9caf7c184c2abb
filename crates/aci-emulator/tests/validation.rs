//! The spec's validation over real HTTP: ARM error envelopes with the right status and code.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

type Mutation = Box<dyn Fn(&mut Value)>;

async fn put_code(env: &Env, name: &str, body: &Value) -> (u16, String) {
    error_code(env.put("rg", name, body).await).await
}

#[tokio::test]
async fn api_version_is_required_and_checked() {
    let env = start(fast_config()).await;
    let url = format!("{}/cg-1", env.rg_url("rg"));
    let r = env.http.get(&url).bearer_auth(&env.token).send().await.unwrap();
    assert_eq!(
        error_code(r).await,
        (400, "MissingApiVersionParameter".to_owned())
    );
    let r = env
        .http
        .get(format!("{url}?api-version=1999-01-01"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (400, "NoRegisteredProviderFound".to_owned()),
        "a well-formed version the type does not have"
    );
    let r = env
        .http
        .get(format!("{url}?api-version=latest"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (400, "InvalidApiVersionParameter".to_owned()),
        "a malformed version"
    );
    for v in [
        "2024-10-01-preview",
        "2024-11-01-preview",
        "2025-09-01",
        "2026-06-01-preview",
    ] {
        let r = env
            .http
            .get(format!("{url}?api-version={v}"))
            .bearer_auth(&env.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{v} is accepted");
    }
    let pools = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.StandbyPool/standbyContainerGroupPools",
        env.base()
    );
    let r = env
        .http
        .get(format!("{pools}?api-version=2026-05-01"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await.1,
        "NoRegisteredProviderFound",
        "each provider has its own versions"
    );
    let r = env
        .http
        .get(format!("{pools}?api-version=2025-10-01"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = env
        .http
        .get(format!("{url}?api-version=2023-05-01"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "older stable versions are accepted");
}

#[tokio::test]
async fn names_and_ids_follow_the_contract() {
    let env = start(fast_config()).await;
    for bad in ["Upper", "-lead", "trail-", "dou--ble", "under_score"] {
        assert_eq!(
            put_code(&env, bad, &group_body("nginx")).await,
            (400, "InvalidContainerGroupName".to_owned()),
            "{bad}"
        );
    }
    let long = "a".repeat(64);
    assert_eq!(
        put_code(&env, &long, &group_body("nginx")).await.1,
        "InvalidContainerGroupName"
    );
    let url = format!(
        "{}/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg?{API}",
        env.base()
    );
    let r = env.http.get(url).bearer_auth(&env.token).send().await.unwrap();
    assert_eq!(error_code(r).await, (400, "InvalidSubscriptionId".to_owned()));
    let r = env
        .http
        .get(format!(
            "{}/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines?{API}",
            env.base()
        ))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, 404);
}

#[tokio::test]
async fn bodies_are_validated_with_arm_codes() {
    let env = start(fast_config()).await;
    let r = env
        .http
        .put(env.group_url("rg", "cg"))
        .bearer_auth(&env.token)
        .header("content-type", "application/json")
        .body("{\"location\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (400, "InvalidRequestContent".to_owned()));

    let cases: Vec<(&str, Mutation)> = vec![
        (
            "LocationRequired",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("location");
            }),
        ),
        (
            "InvalidRequestContent",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("properties");
            }),
        ),
        (
            "InvalidOsType",
            Box::new(|b| {
                b["properties"]["osType"] = json!("Plan9");
            }),
        ),
        (
            "ContainerGroupContainersMissing",
            Box::new(|b| {
                b["properties"]["containers"] = json!([]);
            }),
        ),
        (
            "ResourceRequestsNotSpecified",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["resources"] = json!({"limits": {"cpu": 1}});
            }),
        ),
        (
            "ResourceSomeRequestsNotSpecified",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["resources"] = json!({"requests": {"cpu": 1}});
            }),
        ),
        (
            "LocationNotAvailableForResourceType",
            Box::new(|b| {
                b["location"] = json!("Atlantis Central");
            }),
        ),
        (
            "ContainerImageNotSpecified",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("image");
            }),
        ),
        (
            "ResourceRequestsExceedLimit",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["resources"]["requests"]["memoryInGB"] =
                    json!(241);
            }),
        ),
        (
            "InvalidResourceRequests",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(0);
            }),
        ),
        (
            "InvalidContainerName",
            Box::new(|b| {
                b["properties"]["containers"][0]["name"] = json!("Bad_Name");
            }),
        ),
        (
            "InvalidDnsNameLabel",
            Box::new(|b| {
                b["properties"]["ipAddress"]["dnsNameLabel"] = json!("Teste");
            }),
        ),
        (
            "InvalidRestartPolicy",
            Box::new(|b| {
                b["properties"]["restartPolicy"] = json!("Sometimes");
            }),
        ),
        (
            "InvalidPort",
            Box::new(|b| {
                b["properties"]["ipAddress"]["ports"][0]["port"] = json!(0);
            }),
        ),
        (
            "TooManyPorts",
            Box::new(|b| {
                b["properties"]["ipAddress"]["ports"] =
                    json!([{"port":1},{"port":2},{"port":3},{"port":4},{"port":5},{"port":6}]);
            }),
        ),
        (
            "InvalidEnvironmentVariable",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["environmentVariables"][0]["name"] =
                    json!("_X");
            }),
        ),
        (
            "VolumeMountNotFound",
            Box::new(|b| {
                b["properties"]["containers"][0]["properties"]["volumeMounts"] =
                    json!([{"name": "nosuchvol", "mountPath": "/x"}]);
            }),
        ),
        (
            "InvalidImageRegistryServer",
            Box::new(|b| {
                b["properties"]["imageRegistryCredentials"][0]["server"] = json!("https://r.io");
            }),
        ),
        (
            "PrivateIpAddressRequiresSubnet",
            Box::new(|b| {
                b["properties"]["ipAddress"]["type"] = json!("Private");
            }),
        ),
        (
            "SpotVnetNotSupported",
            Box::new(|b| {
                b["properties"]["priority"] = json!("Spot");
                b["properties"]["subnetIds"] = json!([{"id": "/subscriptions/x/subnets/aci"}]);
            }),
        ),
        (
            "ResourceRequestsExceedLimit",
            Box::new(|b| {
                b["properties"]["priority"] = json!("Spot");
                b["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(4.5);
            }),
        ),
    ];
    for (expected, mutate) in cases {
        let mut body = group_body("nginx");
        mutate(&mut body);
        assert_eq!(
            put_code(&env, "cg", &body).await,
            (400, expected.to_owned()),
            "{body}"
        );
    }
    assert!(
        env.emu.state().groups.is_empty(),
        "no invalid body created a group"
    );
    // The limits themselves are fine: 31 CPU / 240 GB Standard, 4 CPU / 16 GB Spot.
    let mut max = group_body("nginx");
    max["properties"]["containers"][0]["properties"]["resources"]["requests"] =
        json!({"cpu": 31, "memoryInGB": 240});
    assert_eq!(env.put("rg", "max", &max).await.status().as_u16(), 201);
    let mut spot = group_body("nginx");
    spot["properties"]["priority"] = json!("Spot");
    spot["properties"]["containers"][0]["properties"]["resources"]["requests"] =
        json!({"cpu": 4, "memoryInGB": 16});
    assert_eq!(env.put("rg", "spot", &spot).await.status().as_u16(), 201);
}
