//! Entra ID token issuing (client credentials with a secret or a client assertion, and IMDS) and
//! bearer-token checking on ARM paths (CONTRACT §9). Pure over explicit time.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::{config::TokenConfig, error::ArmError};

/// `client_assertion_type` of the federated (workload identity) flow.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How a token was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    /// `client_secret`.
    ClientSecret,
    /// `client_assertion` (workload identity).
    ClientAssertion,
    /// IMDS managed identity.
    ManagedIdentity,
}

#[derive(Debug, Clone)]
struct Issued {
    expires_at: Timestamp,
    issued_at: Timestamp,
}

/// Tokens handed out and their expiry.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, Issued>,
    revoked_before: Option<Timestamp>,
    /// Count of tokens issued, per flow.
    pub issued: HashMap<&'static str, u64>,
}

/// An OAuth2 error answer (`{"error","error_description","error_codes",...}`).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

fn oauth_error(
    status: StatusCode,
    error: &str,
    aadsts: u32,
    description: &str,
    now: Timestamp,
) -> OAuthError {
    let trace = uuid::Uuid::new_v4().to_string();
    OAuthError {
        status,
        body: json!({
            "error": error,
            "error_description": format!("AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: {now}"),
            "error_codes": [aadsts],
            "timestamp": now.to_string(),
            "trace_id": trace,
            "correlation_id": trace,
        }),
    }
}

fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts[..2].iter().all(|p| !p.is_empty())
}

impl TokenStore {
    fn mint(
        &mut self,
        flow: Flow,
        tenant: &str,
        client: &str,
        audience: &str,
        lifetime: SignedDuration,
        now: Timestamp,
    ) -> (String, Timestamp) {
        let exp = now.checked_add(lifetime).unwrap_or(Timestamp::MAX);
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"aci-emulator"}"#);
        let claims = json!({
            "aud": audience, "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": now.as_second(), "nbf": now.as_second(), "exp": exp.as_second(),
            "appid": client, "tid": tenant, "jti": uuid::Uuid::new_v4().to_string(),
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        let token = format!("{header}.{payload}.{sig}");
        self.tokens.insert(
            token.clone(),
            Issued {
                expires_at: exp,
                issued_at: now,
            },
        );
        let key = match flow {
            Flow::ClientSecret => "clientSecret",
            Flow::ClientAssertion => "clientAssertion",
            Flow::ManagedIdentity => "managedIdentity",
        };
        *self.issued.entry(key).or_default() += 1;
        (token, exp)
    }

    /// Handles `POST /{tenant}/oauth2/v2.0/token` with a url-encoded form.
    pub fn token_request(
        &mut self,
        cfg: &TokenConfig,
        tenant: &str,
        form: &[(String, String)],
        now: Timestamp,
    ) -> Result<Value, OAuthError> {
        let bad = |e: &str, code: u32, d: &str| oauth_error(StatusCode::BAD_REQUEST, e, code, d, now);
        let unauthorized =
            |e: &str, code: u32, d: &str| oauth_error(StatusCode::UNAUTHORIZED, e, code, d, now);
        let grant = form_get(form, "grant_type").ok_or_else(|| {
            bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        })?;
        if grant != "client_credentials" {
            return Err(bad(
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{grant}'."),
            ));
        }
        let client = form_get(form, "client_id").ok_or_else(|| {
            bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        })?;
        let scope = form_get(form, "scope").ok_or_else(|| {
            bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        })?;
        let Some(resource) = scope.strip_suffix(".default") else {
            return Err(bad(
                "invalid_scope",
                70011,
                &format!(
                    "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The scope format is invalid. Scope must be in a valid URI form <https://example/scope> or a valid Guid <guid/scope>."
                ),
            ));
        };
        if let Some(expected) = &cfg.client_id
            && expected != client
        {
            return Err(bad(
                "unauthorized_client",
                700016,
                &format!("Application with identifier '{client}' was not found in the directory '{tenant}'."),
            ));
        }
        let flow = match (
            form_get(form, "client_secret"),
            form_get(form, "client_assertion"),
        ) {
            (Some(secret), None) => {
                if cfg.client_secret.as_deref().is_some_and(|s| s != secret) {
                    return Err(unauthorized(
                        "invalid_client",
                        7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
                    ));
                }
                Flow::ClientSecret
            }
            (None, Some(assertion)) => {
                if form_get(form, "client_assertion_type") != Some(JWT_BEARER) {
                    return Err(bad(
                        "invalid_request",
                        50027,
                        &format!("Invalid client_assertion_type; expected '{JWT_BEARER}'."),
                    ));
                }
                if !looks_like_jwt(assertion) {
                    return Err(bad("invalid_client", 50027, "JWT token is invalid or malformed."));
                }
                if cfg.client_assertion.as_deref().is_some_and(|a| a != assertion) {
                    return Err(bad(
                        "invalid_client",
                        700213,
                        "No matching federated identity record found for presented assertion subject.",
                    ));
                }
                Flow::ClientAssertion
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    "invalid_request",
                    90014,
                    "Only one of 'client_secret' or 'client_assertion' may be given.",
                ));
            }
            (None, None) => {
                return Err(unauthorized(
                    "invalid_client",
                    7000216,
                    "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
                ));
            }
        };
        let lifetime = SignedDuration::try_from(cfg.lifetime).unwrap_or(SignedDuration::from_hours(1));
        let (token, _) = self.mint(flow, tenant, client, resource, lifetime, now);
        let secs = lifetime.as_secs();
        Ok(json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token}))
    }

    /// Handles `GET /metadata/identity/oauth2/token` (IMDS); numbers are strings, as IMDS sends them.
    pub fn imds_request(
        &mut self,
        cfg: &TokenConfig,
        metadata_header: bool,
        query: &[(String, String)],
        now: Timestamp,
    ) -> Result<Value, OAuthError> {
        let bad = |d: &str| OAuthError {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": "invalid_request", "error_description": d}),
        };
        if !metadata_header {
            return Err(bad("Required metadata header not specified"));
        }
        let resource =
            form_get(query, "resource").ok_or_else(|| bad("Required audience parameter not specified"))?;
        let client = form_get(query, "client_id").unwrap_or("imds-system-assigned");
        let lifetime = SignedDuration::try_from(cfg.lifetime).unwrap_or(SignedDuration::from_hours(1));
        let (token, exp) = self.mint(Flow::ManagedIdentity, "imds", client, resource, lifetime, now);
        Ok(json!({
            "access_token": token, "refresh_token": "", "expires_in": lifetime.as_secs().to_string(),
            "expires_on": exp.as_second().to_string(), "not_before": now.as_second().to_string(),
            "resource": resource, "token_type": "Bearer",
        }))
    }

    /// Makes every token issued so far invalid (tests "401 with a token we believed valid").
    pub fn revoke_all(&mut self, now: Timestamp) {
        self.revoked_before = Some(now);
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>, now: Timestamp) -> Result<(), ArmError> {
        let unauthorized = |code: &str, msg: String| ArmError::new(StatusCode::UNAUTHORIZED, code, msg);
        let Some(header) = authorization else {
            return Err(unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".into(),
            ));
        };
        let token = match header.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
            _ => {
                return Err(unauthorized(
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is provided in an invalid format."
                        .into(),
                ));
            }
        };
        let Some(issued) = self.tokens.get(token) else {
            return Err(unauthorized(
                "InvalidAuthenticationToken",
                "The access token is invalid.".into(),
            ));
        };
        if self.revoked_before.is_some_and(|r| issued.issued_at <= r) {
            return Err(unauthorized(
                "InvalidAuthenticationToken",
                "The access token is invalid.".into(),
            ));
        }
        if now >= issued.expires_at {
            return Err(unauthorized(
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    issued.expires_at, now
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    const SCOPE: &str = "https://management.azure.com/.default";

    #[test]
    fn secret_flow_issues_tokens_that_expire() {
        let mut store = TokenStore::default();
        let cfg = TokenConfig {
            lifetime: Duration::from_secs(10),
            ..TokenConfig::default()
        };
        let f = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("scope", SCOPE),
        ]);
        let ok = store.token_request(&cfg, "tenant", &f, t(0)).unwrap();
        assert_eq!(ok["expires_in"], 10);
        assert_eq!(ok["token_type"], "Bearer");
        let token = ok["access_token"].as_str().unwrap().to_owned();
        assert!(store.check(Some(&format!("Bearer {token}")), t(9)).is_ok());
        assert_eq!(
            store
                .check(Some(&format!("Bearer {token}")), t(10))
                .unwrap_err()
                .code,
            "ExpiredAuthenticationToken"
        );
        assert_eq!(store.check(None, t(0)).unwrap_err().code, "AuthenticationFailed");
        assert_eq!(
            store.check(Some("Bearer nope"), t(0)).unwrap_err().code,
            "InvalidAuthenticationToken"
        );
        store.revoke_all(t(1));
        assert_eq!(
            store
                .check(Some(&format!("Bearer {token}")), t(2))
                .unwrap_err()
                .code,
            "InvalidAuthenticationToken"
        );
    }

    #[test]
    fn assertion_flow_and_fixed_credentials() {
        let mut store = TokenStore::default();
        let cfg = TokenConfig {
            client_id: Some("app".into()),
            client_secret: Some("right".into()),
            ..TokenConfig::default()
        };
        let base = [
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("scope", SCOPE),
        ];
        let mut f = form(&base);
        f.extend(form(&[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "a.b.c"),
        ]));
        assert!(store.token_request(&cfg, "t", &f, t(0)).is_ok());
        let mut wrong = form(&base);
        wrong.push(("client_secret".into(), "wrong".into()));
        let e = store.token_request(&cfg, "t", &wrong, t(0)).unwrap_err();
        assert_eq!(
            (e.status, e.body["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_client"))
        );
        let mut other = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "other"),
            ("scope", SCOPE),
        ]);
        other.push(("client_secret".into(), "right".into()));
        assert_eq!(
            store.token_request(&cfg, "t", &other, t(0)).unwrap_err().body["error"],
            "unauthorized_client"
        );
        let bad_scope = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "right"),
            ("scope", "https://management.azure.com/"),
        ]);
        assert_eq!(
            store.token_request(&cfg, "t", &bad_scope, t(0)).unwrap_err().body["error_codes"][0],
            70011
        );
        let not_jwt = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("scope", SCOPE),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", "x"),
        ]);
        assert_eq!(
            store.token_request(&cfg, "t", &not_jwt, t(0)).unwrap_err().body["error"],
            "invalid_client"
        );
        assert_eq!(store.issued.get("clientAssertion"), Some(&1));
    }

    #[test]
    fn imds_needs_the_metadata_header() {
        let mut store = TokenStore::default();
        let q = form(&[
            ("api-version", "2018-02-01"),
            ("resource", "https://management.azure.com/"),
        ]);
        assert_eq!(
            store
                .imds_request(&TokenConfig::default(), false, &q, t(0))
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        let ok = store
            .imds_request(&TokenConfig::default(), true, &q, t(0))
            .unwrap();
        assert_eq!(ok["expires_in"], "3599");
        assert!(
            store
                .check(
                    Some(&format!("Bearer {}", ok["access_token"].as_str().unwrap())),
                    t(1)
                )
                .is_ok()
        );
    }
}
