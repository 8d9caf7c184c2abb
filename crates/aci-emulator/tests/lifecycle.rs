//! Container group lifecycle over real HTTP: create, poll, get, update, delete, list, actions, state.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeSet;

use aci_emulator::{DeleteMode, EmulatorConfig};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn create_polls_to_succeeded_with_an_ip_and_hides_secrets() {
    let env = start(fast_config()).await;
    let r = env.put("rg", "cg-1", &group_body("nginx")).await;
    assert_eq!(r.status().as_u16(), 201);
    let op_url = header(&r, "azure-asyncoperation").expect("Azure-AsyncOperation");
    assert!(
        op_url.starts_with(&format!(
            "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/",
            env.base()
        )),
        "{op_url}"
    );
    assert!(op_url.ends_with("?api-version=2018-06-01"));
    assert!(
        header(&r, "location").is_none(),
        "no Location by default (observed ACI)"
    );
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m").as_deref(),
        Some("99")
    );
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-resource-requests-pt1h").as_deref(),
        Some("299")
    );
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-writes").as_deref(),
        Some("199")
    );
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("hunter2") && !text.contains("registry-password"),
        "secrets leaked: {text}"
    );
    let created: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["properties"]["provisioningState"], "Pending");
    assert_eq!(created["name"], "cg-1");
    assert_eq!(created["type"], "Microsoft.ContainerInstance/containerGroups");

    let op = env.wait_op(&op_url).await;
    assert_eq!(op["status"], "Succeeded");
    assert!(op["id"].as_str().unwrap().ends_with("/containerGroups/cg-1"));
    assert!(op["endTime"].is_string());

    let (status, g) = env.get_json(&env.group_url("rg", "cg-1")).await;
    assert_eq!(status, 200);
    assert_eq!(g["properties"]["provisioningState"], "Succeeded");
    assert_eq!(g["properties"]["instanceView"]["state"], "Running");
    let ip = g["properties"]["ipAddress"]["ip"].as_str().expect("public ip");
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok());
    assert_eq!(
        g["properties"]["ipAddress"]["fqdn"],
        "app-label.westeurope.azurecontainer.io"
    );
    let c = &g["properties"]["containers"][0]["properties"];
    assert_eq!(c["instanceView"]["currentState"]["state"], "Running");
    assert_eq!(c["instanceView"]["restartCount"], 0);
    assert_eq!(c["environmentVariables"][1], json!({"name": "SECRET"}));
    assert_eq!(
        g["properties"]["imageRegistryCredentials"][0],
        json!({"server": "registry.invalid", "username": "u"})
    );
    assert_eq!(g["tags"]["spillway.io/cluster"], "test");
}

#[tokio::test]
async fn put_on_existing_group_is_an_update_with_200() {
    let env = start(fast_config()).await;
    env.create_and_wait("rg", "cg-1", &group_body("nginx")).await;
    let mut body = group_body("nginx:1.27");
    body["tags"] = json!({"v": "2"});
    let r = env.put("rg", "cg-1", &body).await;
    assert_eq!(r.status().as_u16(), 200);
    let op = header(&r, "azure-asyncoperation").expect("update is an LRO too");
    assert_eq!(env.wait_op(&op).await["status"], "Succeeded");
    let (_, g) = env.get_json(&env.group_url("rg", "CG-1")).await; // names are case-insensitive
    assert_eq!(
        g["properties"]["containers"][0]["properties"]["image"],
        "nginx:1.27"
    );
    assert_eq!(g["tags"], json!({"v": "2"}));
    // Moving a group to another region is refused.
    let mut moved = group_body("nginx");
    moved["location"] = json!("northeurope");
    let (status, code) = error_code(env.put("rg", "cg-1", &moved).await).await;
    assert_eq!((status, code.as_str()), (409, "InvalidResourceLocation"));
}

#[tokio::test]
async fn delete_is_async_then_404_and_missing_is_204() {
    let env = start(fast_config()).await;
    env.create_and_wait("rg", "cg-1", &group_body("nginx")).await;
    let r = env.delete("rg", "cg-1").await;
    assert_eq!(r.status().as_u16(), 202);
    let op = header(&r, "azure-asyncoperation").expect("delete LRO header");
    assert_eq!(env.wait_op(&op).await["status"], "Succeeded");
    let r = env.get(&env.group_url("rg", "cg-1")).await;
    assert_eq!(header(&r, "x-ms-failure-cause").as_deref(), Some("gateway"));
    assert_eq!(error_code(r).await, (404, "ResourceNotFound".to_owned()));
    assert_eq!(env.delete("rg", "cg-1").await.status().as_u16(), 204);

    let state = env.emu.state();
    assert_eq!(state.groups.len(), 1);
    assert!(state.groups[0].deleted_at.is_some());
}

#[tokio::test]
async fn delete_during_create_cancels_the_create_operation() {
    let mut cfg = fast_config();
    cfg.latency.pending = aci_emulator::LatencyDist::fixed_ms(10_000);
    let env = start(cfg).await;
    let r = env.put("rg", "slow", &group_body("nginx")).await;
    let op = header(&r, "azure-asyncoperation").unwrap();
    assert_eq!(env.get_json(&op).await.1["status"], "Pending");
    assert_eq!(env.delete("rg", "slow").await.status().as_u16(), 202);
    let body = env.wait_op(&op).await;
    assert_eq!(body["status"], "Canceled");
    assert_eq!(body["error"]["code"], "Canceled");
}

#[tokio::test]
async fn sync_delete_mode_answers_200_with_the_body() {
    let env = start(EmulatorConfig {
        delete_mode: DeleteMode::Sync,
        ..fast_config()
    })
    .await;
    env.create_and_wait("rg", "cg-1", &group_body("nginx")).await;
    let r = env.delete("rg", "cg-1").await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["name"], "cg-1");
    assert_eq!(env.get(&env.group_url("rg", "cg-1")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn location_header_mode_follows_the_2026_spec() {
    let env = start(EmulatorConfig {
        lro_location_header: true,
        lro_retry_after: Some(0),
        ..fast_config()
    })
    .await;
    let r = env.put("rg", "cg-1", &group_body("nginx")).await;
    assert_eq!(header(&r, "retry-after").as_deref(), Some("0"));
    let location = header(&r, "location").expect("Location");
    let first = env.get(&location).await;
    assert_eq!(
        first.status().as_u16(),
        202,
        "running operation answers 202 on the Location URL"
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let r = env.get(&location).await;
        if r.status().as_u16() == 200 {
            let g: Value = r.json().await.unwrap();
            assert_eq!(g["properties"]["provisioningState"], "Succeeded");
            break;
        }
        assert_eq!(r.status().as_u16(), 202);
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = env.delete("rg", "cg-1").await;
    let location = header(&r, "location").expect("delete Location");
    env.wait_op(&header(&r, "azure-asyncoperation").unwrap()).await;
    assert_eq!(env.get(&location).await.status().as_u16(), 204);
}

#[tokio::test]
async fn list_follows_next_link_across_pages() {
    let env = start(EmulatorConfig {
        page_size: 2,
        ..fast_config()
    })
    .await;
    for i in 0..5 {
        assert_eq!(
            env.put("rg-a", &format!("cg-{i}"), &group_body("nginx"))
                .await
                .status()
                .as_u16(),
            201
        );
    }
    assert_eq!(
        env.put("rg-b", "other", &group_body("nginx"))
            .await
            .status()
            .as_u16(),
        201
    );

    let collect = |first: String| {
        let env = &env;
        async move {
            let (mut names, mut pages, mut url) = (Vec::new(), 0, Some(first));
            while let Some(u) = url {
                let (status, page) = env.get_json(&u).await;
                assert_eq!(status, 200, "{page}");
                pages += 1;
                for item in page["value"].as_array().unwrap() {
                    assert!(
                        item["properties"].get("instanceView").is_none(),
                        "lists carry no instanceView"
                    );
                    names.push(item["name"].as_str().unwrap().to_owned());
                }
                url = page["nextLink"].as_str().map(str::to_owned);
                if let Some(next) = &url {
                    assert!(
                        next.starts_with(env.base()) && next.contains("api-version=2026-05-01"),
                        "{next}"
                    );
                }
            }
            (names, pages)
        }
    };
    let (names, pages) = collect(format!("{}?{API}", env.rg_url("rg-a"))).await;
    assert_eq!(pages, 3);
    assert_eq!(names, ["cg-0", "cg-1", "cg-2", "cg-3", "cg-4"]);
    let sub_url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups?{API}",
        env.base()
    );
    let (names, pages) = collect(sub_url).await;
    assert_eq!(pages, 3);
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 6);

    let bad = format!("{}?{API}&%24skipToken=!!!", env.rg_url("rg-a"));
    assert_eq!(
        error_code(env.get(&bad).await).await,
        (400, "InvalidSkipToken".to_owned())
    );
}

#[tokio::test]
async fn usages_report_groups_and_cores() {
    let env = start(fast_config()).await;
    for i in 0..3 {
        env.put("rg", &format!("cg-{i}"), &group_body("nginx")).await;
    }
    let url = format!(
        "{}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/westeurope/usages?{API}",
        env.base()
    );
    let (status, body) = env.get_json(&url).await;
    assert_eq!(status, 200);
    let find = |name: &str| {
        body["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"]["value"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(find("ContainerGroups")["currentValue"], 3);
    assert_eq!(find("ContainerGroups")["limit"], 100);
    assert_eq!(find("StandardCores")["currentValue"], 3);
    assert_eq!(find("StandardCores")["limit"], 100);
}

#[tokio::test]
async fn vnet_groups_get_a_private_ip() {
    let env = start(fast_config()).await;
    let mut body = group_body("nginx");
    body["properties"]["ipAddress"] = json!({"type": "Private", "ports": [{"port": 80}]});
    body["properties"]["subnetIds"] = json!([{"id": "/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/aci"}]);
    let (_, g) = env.create_and_wait("rg", "private", &body).await;
    let ip: std::net::Ipv4Addr = g["properties"]["ipAddress"]["ip"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ip.is_private(), "{ip}");
    assert!(g["properties"]["ipAddress"].get("fqdn").is_none());
}

#[tokio::test]
async fn stop_start_restart_and_logs() {
    let env = start(fast_config()).await;
    env.create_and_wait("rg", "cg-1", &group_body("nginx")).await;
    let action = |a: &str| {
        let url = format!("{}/cg-1/{a}?{API}", env.rg_url("rg"));
        env.http.post(url).bearer_auth(&env.token).send()
    };
    assert_eq!(action("stop").await.unwrap().status().as_u16(), 204);
    assert_eq!(
        env.get_json(&env.group_url("rg", "cg-1")).await.1["properties"]["instanceView"]["state"],
        "Stopped"
    );
    let r = action("start").await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
    env.wait_op(&header(&r, "azure-asyncoperation").unwrap()).await;
    assert_eq!(
        env.get_json(&env.group_url("rg", "cg-1")).await.1["properties"]["instanceView"]["state"],
        "Running"
    );
    let r = action("restart").await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    env.wait_op(&header(&r, "azure-asyncoperation").unwrap()).await;
    let logs = format!("{}/cg-1/containers/app/logs?{API}&tail=1", env.rg_url("rg"));
    let (status, body) = env.get_json(&logs).await;
    assert_eq!(status, 200);
    assert_eq!(body["content"].as_str().unwrap().lines().count(), 1);
}

#[tokio::test]
async fn state_records_groups_and_writes_with_caller_headers() {
    let env = start(fast_config()).await;
    let r = env
        .http
        .put(env.group_url("rg", "cg-1"))
        .bearer_auth(&env.token)
        .header("user-agent", "spillway-test/1.0")
        .header("x-ms-client-request-id", "11111111-2222-3333-4444-555555555555")
        .json(&group_body("nginx"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "x-ms-client-request-id").as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    env.delete("rg", "cg-1").await;
    env.get(&env.group_url("rg", "cg-1")).await; // reads are not recorded

    let state: Value = env
        .http
        .get(format!("{}/_emulator/state", env.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = state["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    for key in ["name", "tags", "provisioningState", "createdAt", "deletedAt"] {
        assert!(groups[0].get(key).is_some(), "group record has {key}: {state}");
    }
    let writes = state["writes"].as_array().unwrap();
    assert_eq!(writes.len(), 2, "{state}");
    assert_eq!(writes[0]["method"], "PUT");
    assert_eq!(writes[0]["userAgent"], "spillway-test/1.0");
    assert_eq!(
        writes[0]["clientRequestId"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert_eq!(writes[1]["method"], "DELETE");
    for key in ["method", "path", "at", "userAgent", "clientRequestId"] {
        assert!(writes[1].get(key).is_some(), "write record has {key}");
    }
    assert!(
        writes[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/containerGroups/cg-1")
    );
}
