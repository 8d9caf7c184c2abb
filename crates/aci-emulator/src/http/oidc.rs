//! Entra ID discovery, so MSAL-based clients (azure-identity's `ClientSecretCredential` with
//! `authority="https://HOST:PORT"`) find the token endpoint:
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 form without `v2.0`):
//!   MSAL reads `authorization_endpoint`, `token_endpoint` and `issuer` from it;
//! - `GET /common/discovery/instance?authorization_endpoint=…`: Entra's instance discovery.
//!   MSAL Python 1.39 (`authority.py`) sends it to `login.microsoftonline.com` for any host it
//!   does not know, never to a custom authority, so a client of a private endpoint must pass
//!   `disable_instance_discovery=True`; it is served here for clients that are pointed at it;
//! - `GET /{tenant}/discovery/v2.0/keys`: an empty key set (tokens are opaque to clients).
//!
//! Every URL is built from the request's scheme and host (`X-Forwarded-*` honoured).

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{Shared, decode_query, public_base_url};

fn host_of(base: &str) -> &str {
    base.split_once("://").map_or(base, |(_, h)| h)
}

fn configuration(base: &str, tenant: &str, v2: bool) -> Value {
    let oauth = if v2 { "oauth2/v2.0" } else { "oauth2" };
    let issuer = if v2 {
        format!("{base}/{tenant}/v2.0")
    } else {
        format!("{base}/{tenant}/")
    };
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{tenant}/{oauth}/authorize"),
        "token_endpoint": format!("{base}/{tenant}/{oauth}/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/{oauth}/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/{oauth}/logout"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "grant_types_supported": ["client_credentials"],
        "request_uri_parameter_supported": false,
        "tenant_region_scope": null,
        "cloud_instance_name": host_of(base),
        "cloud_graph_host_name": host_of(base),
        "msgraph_host": host_of(base),
    })
}

pub(super) async fn openid_configuration_v2(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    Json(configuration(&public_base_url(&shared, &headers), &tenant, true)).into_response()
}

pub(super) async fn openid_configuration_v1(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    Json(configuration(&public_base_url(&shared, &headers), &tenant, false)).into_response()
}

pub(super) async fn keys() -> Response {
    Json(json!({"keys": []})).into_response()
}

/// Entra's instance discovery: the tenant discovery endpoint of the authority asked about.
pub(super) async fn instance_discovery(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let base = public_base_url(&shared, &headers);
    let query = decode_query(&uri);
    let tenant = query
        .iter()
        .find(|(k, _)| k == "authorization_endpoint")
        .and_then(|(_, v)| url::Url::parse(v).ok())
        .and_then(|u| u.path_segments().and_then(|mut s| s.next().map(str::to_owned)))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "common".to_owned());
    let host = host_of(&base).to_owned();
    Json(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_points_at_the_token_endpoint() {
        let c = configuration("https://127.0.0.1:8443", "t1", true);
        assert_eq!(c["token_endpoint"], "https://127.0.0.1:8443/t1/oauth2/v2.0/token");
        assert_eq!(c["issuer"], "https://127.0.0.1:8443/t1/v2.0");
        assert_eq!(c["cloud_instance_name"], "127.0.0.1:8443");
    }
}
