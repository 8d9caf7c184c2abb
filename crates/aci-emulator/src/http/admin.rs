//! `/_emulator/…`: state, faults, limits, token revocation, reset. No authentication.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::Timestamp;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::Shared;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/state", get(state))
        .route("/faults", get(get_faults).put(put_faults).patch(patch_faults))
        .route("/limits", get(get_limits).put(put_limits).patch(patch_limits))
        .route("/tokens/revoke", post(revoke))
        .route("/reset", post(reset))
        .route("/health", get(|| async { "ok" }))
}

fn bad(what: &str, e: impl std::fmt::Display) -> Response {
    let body = json!({"error": {"code": "InvalidEmulatorSettings", "message": format!("{what}: {e}")}});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patched<T: Serialize + DeserializeOwned>(current: &T, patch: &Value) -> Result<T, serde_json::Error> {
    let mut v = serde_json::to_value(current)?;
    merge(&mut v, patch);
    serde_json::from_value(v)
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.engine().snapshot(Timestamp::now())).into_response()
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.engine().faults.clone()).into_response()
}

async fn put_faults(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice(&body) {
        Ok(f) => {
            let mut engine = shared.engine();
            engine.faults = f;
            tracing::info!(faults = ?engine.faults, "faults replaced");
            Json(engine.faults.clone()).into_response()
        }
        Err(e) => bad("faults", e),
    }
}

async fn patch_faults(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad("faults", e),
    };
    let mut engine = shared.engine();
    match patched(&engine.faults, &patch) {
        Ok(f) => {
            engine.faults = f;
            tracing::info!(faults = ?engine.faults, "faults patched");
            Json(engine.faults.clone()).into_response()
        }
        Err(e) => bad("faults", e),
    }
}

async fn get_limits(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.engine().limits.clone()).into_response()
}

async fn put_limits(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice(&body) {
        Ok(l) => {
            let mut engine = shared.engine();
            engine.limits = l;
            Json(engine.limits.clone()).into_response()
        }
        Err(e) => bad("limits", e),
    }
}

async fn patch_limits(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad("limits", e),
    };
    let mut engine = shared.engine();
    match patched(&engine.limits, &patch) {
        Ok(l) => {
            engine.limits = l;
            Json(engine.limits.clone()).into_response()
        }
        Err(e) => bad("limits", e),
    }
}

async fn revoke(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.engine().revoke_tokens(Timestamp::now());
    StatusCode::NO_CONTENT
}

async fn reset(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.engine().reset();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut v = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge(&mut v, &json!({"a": null, "b": {"c": 5}, "e": [1]}));
        assert_eq!(v, json!({"b": {"c": 5, "d": 3}, "e": [1]}));
    }
}
