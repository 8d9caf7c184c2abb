//! A client wired to a local server, with fast timings for tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use azure_auth::{AccessToken, TokenFuture, TokenProvider};
use spillway_aci::{AciClient, AciConfig, LroPolicy, Operation, RequestEvent, RequestObserver, RetryPolicy};

pub const SUB: &str = "00000000-0000-0000-0000-000000000001";
pub const RG: &str = "burst-rg";

pub fn fast_config(endpoint: &str) -> AciConfig {
    let mut cfg = AciConfig::new(endpoint, SUB, RG).unwrap();
    cfg.request_timeout = Duration::from_secs(5);
    cfg.retry = RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        total_budget: Duration::from_secs(10),
        jitter: false,
    };
    cfg.lro = LroPolicy {
        initial_delay: Duration::from_millis(20),
        factor: 1.5,
        max_delay: Duration::from_millis(100),
        honour_retry_after: true,
        deadline: Duration::from_secs(10),
    };
    cfg
}

/// Hands out `token-N`, N counting fetches; `invalidate` makes the next call fetch.
#[derive(Default)]
pub struct CountingTokens {
    pub fetched: AtomicU32,
    current: Mutex<Option<String>>,
}

impl TokenProvider for CountingTokens {
    fn token<'a>(&'a self, _scope: &'a str) -> TokenFuture<'a> {
        let mut cur = self.current.lock().unwrap();
        let t = cur
            .get_or_insert_with(|| format!("token-{}", self.fetched.fetch_add(1, Ordering::SeqCst) + 1))
            .clone();
        Box::pin(async move { Ok(AccessToken::new(t, SystemTime::now() + Duration::from_secs(3600))) })
    }
    fn invalidate(&self, _scope: &str) {
        *self.current.lock().unwrap() = None;
    }
}

/// Records every request event.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<RequestEvent>>,
    pub retries: Mutex<Vec<(Operation, Duration, &'static str)>>,
}

impl RequestObserver for Recorder {
    fn on_request(&self, e: &RequestEvent) {
        self.events.lock().unwrap().push(e.clone());
    }
    fn on_retry(&self, op: Operation, delay: Duration, reason: &'static str) {
        self.retries.lock().unwrap().push((op, delay, reason));
    }
}

impl Recorder {
    pub fn summary(&self) -> Vec<(Operation, Option<u16>)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| (e.operation, e.status))
            .collect()
    }
}

pub fn client(cfg: AciConfig) -> (AciClient, Arc<CountingTokens>, Arc<Recorder>) {
    let tokens = Arc::new(CountingTokens::default());
    let rec = Arc::new(Recorder::default());
    let c = AciClient::with_observer(cfg, tokens.clone(), rec.clone()).unwrap();
    (c, tokens, rec)
}

pub fn group_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/{name}"
    )
}

pub fn list_path() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups")
}

/// A response body for a group in `state`, with an IP once `Succeeded`.
pub fn group_json(name: &str, state: &str) -> serde_json::Value {
    let mut ip = serde_json::json!({"type": "Private", "ports": [{"port": 80, "protocol": "TCP"}]});
    if state == "Succeeded" {
        ip["ip"] = "10.1.0.4".into();
    }
    serde_json::json!({
        "id": group_path(name), "name": name, "type": "Microsoft.ContainerInstance/containerGroups",
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "c1", "spillway.io/policy": "web", "spillway.io/template-hash": "h", "spillway.io/ordinal": "0"},
        "properties": {"provisioningState": state, "osType": "Linux", "ipAddress": ip,
            "containers": [{"name": "app", "properties": {"image": "nginx", "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}
    })
}

pub fn request_body() -> spillway_aci::model::ContainerGroup {
    serde_json::from_value(serde_json::json!({
        "location": "westeurope",
        "tags": {"spillway.io/cluster": "c1"},
        "properties": {"osType": "Linux", "containers": [{"name": "app", "properties": {"image": "nginx",
            "resources": {"requests": {"cpu": 1, "memoryInGB": 1.5}}}}]}
    }))
    .unwrap()
}
