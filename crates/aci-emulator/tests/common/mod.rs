//! Shared helpers for the HTTP tests: an in-process emulator, a token, URL builders, bodies.
#![allow(dead_code)]

use std::time::Duration;

use aci_emulator::{Emulator, EmulatorConfig, EmulatorHandle, LatencyDist, ProvisioningLatency};
use serde_json::{Value, json};

pub const SUB: &str = "00000000-0000-0000-0000-000000000000";
pub const API: &str = "api-version=2026-05-01";

/// Fast provisioning for tests: 20–60 ms pending, 20–60 ms creating, 10–30 ms deleting.
pub fn fast_config() -> EmulatorConfig {
    EmulatorConfig {
        latency: ProvisioningLatency {
            pending: LatencyDist::uniform_ms(20, 60),
            creating: LatencyDist::uniform_ms(20, 60),
            deleting: LatencyDist::uniform_ms(10, 30),
        },
        ..EmulatorConfig::default()
    }
}

pub struct Env {
    pub emu: EmulatorHandle,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn start(config: EmulatorConfig) -> Env {
    let emu = Emulator::start(config).await.expect("emulator starts");
    let token = emu.issue_token();
    assert!(!token.is_empty());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    Env { emu, http, token }
}

impl Env {
    pub fn base(&self) -> &str {
        self.emu.base_url()
    }

    pub fn rg_url(&self, rg: &str) -> String {
        format!(
            "{}/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups",
            self.base()
        )
    }

    pub fn group_url(&self, rg: &str, name: &str) -> String {
        format!("{}/{name}?{API}", self.rg_url(rg))
    }

    pub async fn put(&self, rg: &str, name: &str, body: &Value) -> reqwest::Response {
        self.http
            .put(self.group_url(rg, name))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("put")
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get")
    }

    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        let r = self.get(url).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, rg: &str, name: &str) -> reqwest::Response {
        self.http
            .delete(self.group_url(rg, name))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("delete")
    }

    /// Polls an `Azure-AsyncOperation` URL until a terminal status (bounded: 5 s).
    pub async fn wait_op(&self, url: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (status, body) = self.get_json(url).await;
            assert_eq!(status, 200, "operation status answers 200: {body}");
            let s = body["status"].as_str().unwrap_or_default().to_owned();
            if ["Succeeded", "Failed", "Canceled"].contains(&s.as_str()) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "operation did not finish: {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// PUT, then follow the operation to its end; returns (operation body, final GET body).
    pub async fn create_and_wait(&self, rg: &str, name: &str, body: &Value) -> (Value, Value) {
        let r = self.put(rg, name, body).await;
        assert_eq!(r.status().as_u16(), 201, "create answers 201");
        let op = header(&r, "azure-asyncoperation").expect("Azure-AsyncOperation header");
        let status = self.wait_op(&op).await;
        let (_, group) = self.get_json(&self.group_url(rg, name)).await;
        (status, group)
    }
}

pub fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A small valid group body.
pub fn group_body(image: &str) -> Value {
    json!({
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "test"},
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Always",
            "containers": [{"name": "app", "properties": {
                "image": image,
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}},
                "ports": [{"port": 80, "protocol": "TCP"}],
                "environmentVariables": [{"name": "PLAIN", "value": "v"}, {"name": "SECRET", "secureValue": "hunter2"}]
            }}],
            "imageRegistryCredentials": [{"server": "registry.invalid", "username": "u", "password": "registry-password"}],
            "ipAddress": {"type": "Public", "ports": [{"port": 80, "protocol": "TCP"}], "dnsNameLabel": "app-label"}
        }
    })
}

/// The error code of an ARM error answer, checking the envelope shape.
pub async fn error_code(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.expect("error body is JSON");
    let err = body
        .get("error")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("no error envelope: {body}"));
    assert!(
        err.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "message: {body}"
    );
    (
        status,
        err.get("code")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    )
}
