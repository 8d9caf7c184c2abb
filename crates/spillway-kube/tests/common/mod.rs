//! A fake API server behind kube-rs's client (tower-test mock transport),
//! answering with real Kubernetes JSON built from k8s-openapi types.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, Status};
use kube::{Client, client::Body};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body: Value,
}

impl Recorded {
    pub fn is_watch(&self) -> bool {
        self.query.contains("watch=true")
    }
    /// `METHOD path?query`
    pub fn line(&self) -> String {
        if self.query.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
}

pub enum Reply {
    Json(u16, Value),
    /// A watch response: newline-delimited events, then the stream ends.
    Events(Vec<Value>),
    /// Never answered (a watch with nothing to say).
    Hang,
}

pub struct Fake {
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    pub task: JoinHandle<()>,
}

impl Fake {
    pub fn lines(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().map(Recorded::line).collect()
    }
    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A client whose every request goes to `handler`.
pub fn fake<F>(mut handler: F) -> (Client, Fake)
where
    F: FnMut(&Recorded) -> Reply + Send + 'static,
{
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let task = tokio::spawn(async move {
        let mut hanging = Vec::new();
        while let Some((req, send)) = handle.next_request().await {
            let (parts, body) = req.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
            };
            let rec = Recorded {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or("").to_string(),
                content_type: parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| v.to_str().unwrap().to_string()),
                body,
            };
            log.lock().unwrap().push(rec.clone());
            match handler(&rec) {
                Reply::Json(code, v) => send.send_response(
                    Response::builder()
                        .status(code)
                        .header("content-type", "application/json")
                        .body(Body::from(serde_json::to_vec(&v).unwrap()))
                        .unwrap(),
                ),
                Reply::Events(events) => {
                    let mut out = Vec::new();
                    for e in events {
                        out.extend(serde_json::to_vec(&e).unwrap());
                        out.push(b'\n');
                    }
                    send.send_response(Response::builder().status(200).body(Body::from(out)).unwrap());
                }
                Reply::Hang => hanging.push(send),
            }
        }
    });
    (Client::new(svc, "default"), Fake { requests, task })
}

/// A `metav1.Status` failure, as the API server sends it.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    let s = Status {
        code: Some(i32::from(code)),
        message: Some(message.into()),
        reason: Some(reason.into()),
        status: Some("Failure".into()),
        metadata: ListMeta::default(),
        details: None,
    };
    let mut v = serde_json::to_value(s).unwrap();
    v["kind"] = json!("Status");
    v["apiVersion"] = json!("v1");
    v
}

/// A list response (`PodList`, ...) with a resourceVersion.
pub fn list<T: serde::Serialize>(
    api_version: &str,
    kind: &str,
    resource_version: &str,
    items: &[T],
) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"resourceVersion": resource_version},
        "items": items.iter().map(|i| serde_json::to_value(i).unwrap()).collect::<Vec<_>>(),
    })
}

pub fn event<T: serde::Serialize>(type_: &str, object: &T) -> Value {
    json!({"type": type_, "object": serde_json::to_value(object).unwrap()})
}

/// The 410 an API server sends inside a watch when the resourceVersion is too old.
pub fn gone_event(rv: &str) -> Value {
    json!({"type": "ERROR", "object": status(410, "Expired", &format!("too old resource version: {rv} (91342)"))})
}

/// Deserializes JSON into a k8s-openapi type (panics on a typo in a fixture).
pub fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("fixture matches the k8s-openapi type")
}
