//! Client credentials with a secret (service principal).

use std::path::PathBuf;

use url::Url;

use crate::clock::Clock;
use crate::endpoint::{DEFAULT_AUTHORITY_HOST, HttpOptions, send_with_retry, token_endpoint};
use crate::response::parse_token_response;
use crate::{AccessToken, AuthError, Secret, TokenFuture, TokenSource};

/// Where the client secret comes from. A file (a mounted Kubernetes Secret) is
/// re-read on every exchange, so a rotated secret is picked up.
#[derive(Debug, Clone)]
pub enum SecretSource {
    Value(Secret),
    File(PathBuf),
}

impl SecretSource {
    async fn load(&self) -> Result<Secret, AuthError> {
        match self {
            SecretSource::Value(s) => Ok(s.clone()),
            SecretSource::File(p) => read_secret_file(p, "client secret").await,
        }
    }
}

pub(crate) async fn read_secret_file(path: &std::path::Path, what: &str) -> Result<Secret, AuthError> {
    let raw = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| AuthError::Config(format!("{what} file {}: {}", path.display(), e.kind())))?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AuthError::Config(format!(
            "{what} file {} is empty",
            path.display()
        )));
    }
    Ok(Secret::new(trimmed))
}

/// `POST {authority}/{tenant}/oauth2/v2.0/token` with `client_secret`.
#[derive(Debug, Clone)]
pub struct ClientSecretCredential {
    tenant_id: String,
    client_id: String,
    secret: SecretSource,
    authority: String,
    http: HttpOptions,
}

impl ClientSecretCredential {
    pub fn new(tenant_id: impl Into<String>, client_id: impl Into<String>, secret: SecretSource) -> Self {
        ClientSecretCredential {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            authority: DEFAULT_AUTHORITY_HOST.to_string(),
            http: HttpOptions::default(),
        }
    }
    /// Authority host (sovereign cloud, or the emulator over plain HTTP).
    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into();
        self
    }
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    async fn exchange(&self, scope: &str, clock: &dyn Clock) -> Result<AccessToken, AuthError> {
        let endpoint = token_endpoint(&self.authority, &self.tenant_id)?;
        let secret = self.secret.load().await?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("scope", scope),
            ("grant_type", "client_credentials"),
            ("client_secret", secret.expose()),
        ];
        client_credentials(&self.http, endpoint, &form, secret.expose(), clock).await
    }
}

/// One client-credentials exchange (secret or assertion) with retries on
/// transient failures. `secret` is scrubbed from any error text.
pub(crate) async fn client_credentials(
    http: &HttpOptions,
    endpoint: Url,
    form: &[(&str, &str)],
    secret: &str,
    clock: &dyn Clock,
) -> Result<AccessToken, AuthError> {
    let (status, body) = send_with_retry(
        http,
        |s| s == 429 || s >= 500,
        |c| c.post(endpoint.clone()).form(form),
    )
    .await?;
    parse_token_response(status, &body.0, clock.now(), Some(secret))
}

impl TokenSource for ClientSecretCredential {
    fn fetch<'a>(&'a self, scope: &'a str, clock: &'a dyn Clock) -> TokenFuture<'a> {
        Box::pin(self.exchange(scope, clock))
    }
    fn kind(&self) -> &'static str {
        "client_secret"
    }
}
