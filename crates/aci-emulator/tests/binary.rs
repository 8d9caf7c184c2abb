//! The binary's stable interface: `--listen 127.0.0.1:0` prints `listening on http://ADDR` first,
//! serves tokens, ARM paths and `/_emulator/state`, and dies when killed.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

#[tokio::test]
async fn binary_prints_its_address_first_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aci-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--profile",
            "instant",
            "--page-size",
            "1",
            "--seed",
            "7",
        ])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn aci-emulator");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("first line within 10 s")
        .expect("read stdout")
        .expect("a first line");
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let addr: std::net::SocketAddr = base
        .strip_prefix("http://")
        .expect("http URL")
        .parse()
        .expect("ADDR");
    assert_ne!(addr.port(), 0);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let tok: Value = http
        .post(format!("{base}/tenant-1/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=c&client_secret=s&scope=https%3A%2F%2Fmanagement.azure.com%2F.default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().expect("access_token").to_owned();

    let rg = format!(
        "{base}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups"
    );
    let body = json!({"location": "westeurope", "properties": {"osType": "Linux", "containers": [{"name": "c",
        "properties": {"image": "nginx", "resources": {"requests": {"cpu": 0.5, "memoryInGB": 0.5}}}}]}});
    for name in ["b-1", "b-2"] {
        let r = http
            .put(format!("{rg}/{name}?api-version=2026-05-01"))
            .bearer_auth(&token)
            .header("user-agent", "bin-test")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let unauth = http
        .get(format!("{rg}?api-version=2026-05-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    let page: Value = http
        .get(format!("{rg}?api-version=2026-05-01"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["value"].as_array().map(Vec::len), Some(1), "--page-size 1");
    assert!(page["nextLink"].as_str().is_some_and(|l| l.starts_with(&base)));

    let state: Value = http
        .get(format!("{base}/_emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["groups"].as_array().map(Vec::len), Some(2));
    assert!(state["groups"][0]["deletedAt"].is_null());
    assert_eq!(state["writes"][0]["userAgent"], "bin-test");

    child.start_kill().expect("kill");
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("exits")
        .expect("wait");
    assert!(!status.success() || status.code().is_some());
    assert!(
        http.get(format!("{base}/_emulator/state")).send().await.is_err(),
        "nothing listens after kill"
    );
}

#[tokio::test]
async fn binary_rejects_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_aci-emulator"))
        .args(["--listen", "127.0.0.1:0", "--call-latency", "soon"])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), out)
        .await
        .expect("exits")
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid latency"));
    assert!(out.stdout.is_empty(), "nothing on stdout when not listening");
}

#[tokio::test]
async fn zone_flags_shape_the_providers_zone_mappings() {
    let out = Command::new(env!("CARGO_BIN_EXE_aci-emulator"))
        .args(["--listen", "127.0.0.1:0", "--zones", "1,a"])
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), out)
        .await
        .expect("exits")
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--zones"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_aci-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--no-auth",
            "--location",
            "West Europe",
            "--location",
            "westcentralus",
            "--zones",
            "1,2",
            "--region-zones",
            "westcentralus:none",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn aci-emulator");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("first line within 10 s")
        .expect("read stdout")
        .expect("a first line");
    let base = first.strip_prefix("listening on ").expect("address").to_owned();
    let body: Value = reqwest::get(format!(
        "{base}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance?api-version=2021-04-01"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let cg = body["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resourceType"] == "containerGroups")
        .expect("containerGroups")
        .clone();
    assert_eq!(cg["locations"], json!(["West Europe", "West Central US"]));
    assert_eq!(
        cg["zoneMappings"],
        json!([{"location": "West Europe", "zones": ["1", "2"]}])
    );
    child.start_kill().expect("kill");
}
