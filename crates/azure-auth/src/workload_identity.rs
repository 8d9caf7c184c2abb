//! AKS workload identity: the client-assertion flow with the projected
//! service-account token, which kubelet rotates, so it is re-read every time.

use std::path::PathBuf;

use crate::client_secret::{client_credentials, read_secret_file};
use crate::clock::Clock;
use crate::endpoint::{DEFAULT_AUTHORITY_HOST, HttpOptions, token_endpoint};
use crate::{AccessToken, AuthError, TokenFuture, TokenSource};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug, Clone)]
pub struct WorkloadIdentityCredential {
    tenant_id: String,
    client_id: String,
    token_file: PathBuf,
    authority: String,
    http: HttpOptions,
}

impl WorkloadIdentityCredential {
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        token_file: impl Into<PathBuf>,
    ) -> Self {
        WorkloadIdentityCredential {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            token_file: token_file.into(),
            authority: DEFAULT_AUTHORITY_HOST.to_string(),
            http: HttpOptions::default(),
        }
    }

    /// From the variables the workload-identity webhook injects:
    /// `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and
    /// (optional) `AZURE_AUTHORITY_HOST`.
    pub fn from_env() -> Result<Self, AuthError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`Self::from_env`] with an explicit variable lookup (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, AuthError> {
        let need = |k: &str| {
            get(k).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                AuthError::Config(format!(
                    "{k} is not set (is the pod labelled for workload identity?)"
                ))
            })
        };
        let mut c = Self::new(
            need("AZURE_TENANT_ID")?,
            need("AZURE_CLIENT_ID")?,
            need("AZURE_FEDERATED_TOKEN_FILE")?,
        );
        if let Some(host) = get("AZURE_AUTHORITY_HOST").filter(|v| !v.trim().is_empty()) {
            c.authority = host;
        }
        Ok(c)
    }

    pub fn with_authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = authority.into();
        self
    }
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }
    pub fn authority(&self) -> &str {
        &self.authority
    }

    async fn exchange(&self, scope: &str, clock: &dyn Clock) -> Result<AccessToken, AuthError> {
        let endpoint = token_endpoint(&self.authority, &self.tenant_id)?;
        let assertion = read_secret_file(&self.token_file, "federated token").await?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("scope", scope),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.expose()),
        ];
        client_credentials(&self.http, endpoint, &form, assertion.expose(), clock).await
    }
}

impl TokenSource for WorkloadIdentityCredential {
    fn fetch<'a>(&'a self, scope: &'a str, clock: &'a dyn Clock) -> TokenFuture<'a> {
        Box::pin(self.exchange(scope, clock))
    }
    fn kind(&self) -> &'static str {
        "workload_identity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lookup_requires_the_webhook_variables() {
        let env = |k: &str| match k {
            "AZURE_TENANT_ID" => Some("t".to_string()),
            "AZURE_CLIENT_ID" => Some("c".to_string()),
            _ => None,
        };
        let e = WorkloadIdentityCredential::from_lookup(env).unwrap_err();
        assert!(e.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
        let env = |k: &str| match k {
            "AZURE_TENANT_ID" => Some("t".to_string()),
            "AZURE_CLIENT_ID" => Some("c".to_string()),
            "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/azure/tokens/azure-identity-token".into()),
            "AZURE_AUTHORITY_HOST" => Some("http://127.0.0.1:1/".into()),
            _ => None,
        };
        let c = WorkloadIdentityCredential::from_lookup(env).unwrap();
        assert_eq!(c.authority(), "http://127.0.0.1:1/");
    }
}
