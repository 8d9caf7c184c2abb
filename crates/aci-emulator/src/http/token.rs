//! `POST /{tenant}/oauth2/v2.0/token` and the IMDS token endpoint.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Uri, header},
    response::{IntoResponse, Response},
};
use jiff::Timestamp;

use super::{Shared, decode_query};
use crate::auth::OAuthError;

fn answer(result: Result<serde_json::Value, OAuthError>) -> Response {
    let mut resp = match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => (e.status, Json(e.body)).into_response(),
    };
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

pub(super) async fn client_credentials(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut engine = shared.engine();
    let cfg = engine.token_config().clone();
    let result = engine
        .tokens
        .token_request(&cfg, &tenant, &form, Timestamp::now());
    if let Err(e) = &result {
        tracing::info!(tenant, status = e.status.as_u16(), error = %e.body["error"], "token request refused");
    }
    answer(result)
}

pub(super) async fn imds(State(shared): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let metadata = headers
        .get("metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let query = decode_query(&uri);
    let mut engine = shared.engine();
    let cfg = engine.token_config().clone();
    answer(
        engine
            .tokens
            .imds_request(&cfg, metadata, &query, Timestamp::now()),
    )
}
