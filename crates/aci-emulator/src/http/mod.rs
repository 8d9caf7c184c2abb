//! The axum layer: converts HTTP to [`ArmRequest`] / [`ArmResponse`] and back. No emulator logic
//! lives here.

mod admin;
mod oidc;
mod token;

pub(crate) use admin::merge as merge_patch;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::Timestamp;

use crate::engine::{ArmRequest, ArmResponse, Engine};

/// State shared by all handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub engine: Mutex<Engine>,
    /// `http://ADDR` of the listener, used when a request has no `Host` header.
    pub base_url: String,
    /// `http` or `https`, as the listener serves.
    pub scheme: &'static str,
}

impl Shared {
    /// Locks the engine; a panic in another handler does not make the state unusable.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The full router: token endpoints, admin endpoints and ARM paths (fallback).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token::client_credentials))
        .route("/metadata/identity/oauth2/token", get(token::imds))
        .route("/{tenant}/oauth2/token", post(token::client_credentials))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(oidc::openid_configuration_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(oidc::openid_configuration_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(oidc::keys))
        .route("/common/discovery/instance", get(oidc::instance_discovery))
        .nest("/_emulator", admin::router())
        .fallback(arm)
        .with_state(shared)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The first value of a possibly comma-separated forwarding header.
fn forwarded(headers: &HeaderMap, name: &str) -> Option<String> {
    header(headers, name)
        .and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
        .filter(|v| !v.is_empty())
}

/// `scheme://host[:port]` as the caller reached us: `X-Forwarded-Proto`/`X-Forwarded-Host` (a
/// proxy in front) win over the listener's scheme and the `Host` header. Every absolute URL the
/// emulator returns (`Azure-AsyncOperation`, `Location`, `nextLink`, OIDC endpoints) starts with it.
pub(crate) fn public_base_url(shared: &Shared, headers: &HeaderMap) -> String {
    let scheme = forwarded(headers, "x-forwarded-proto")
        .filter(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"))
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_else(|| shared.scheme.to_owned());
    match forwarded(headers, "x-forwarded-host").or_else(|| header(headers, "host")) {
        Some(host) => format!("{scheme}://{host}"),
        None => shared.base_url.clone(),
    }
}

pub(crate) fn decode_query(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

async fn arm(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.engine().sample_call_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let base_url = public_base_url(&shared, &headers);
    let req = ArmRequest {
        method,
        path: uri.path().to_owned(),
        query: decode_query(&uri),
        body,
        base_url,
        authorization: header(&headers, "authorization"),
        user_agent: header(&headers, "user-agent"),
        client_request_id: header(&headers, "x-ms-client-request-id"),
    };
    let resp = shared.engine().handle(&req, Timestamp::now());
    tracing::debug!(method = %req.method, path = %req.path, status = resp.status.as_u16(), "arm request");
    into_response(resp)
}

fn into_response(resp: ArmResponse) -> Response {
    let mut out = match resp.body {
        Some(body) => (resp.status, axum::Json(body)).into_response(),
        None => resp.status.into_response(),
    };
    for (name, value) in resp.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            out.headers_mut().append(name, v);
        }
    }
    out
}
