//! Managed identity through the Azure Instance Metadata Service (IMDS).

use url::Url;

use crate::clock::Clock;
use crate::endpoint::{HttpOptions, send_with_retry};
use crate::response::parse_token_response;
use crate::{AccessToken, AuthError, TokenFuture, TokenSource};

pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const IMDS_API_VERSION: &str = "2018-02-01";

/// Which user-assigned identity to use; none picks the system-assigned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAssignedId {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

#[derive(Debug, Clone)]
pub struct ManagedIdentityCredential {
    endpoint: String,
    identity: Option<UserAssignedId>,
    http: HttpOptions,
}

impl Default for ManagedIdentityCredential {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ManagedIdentityCredential {
    pub fn new(identity: Option<UserAssignedId>) -> Self {
        ManagedIdentityCredential {
            endpoint: DEFAULT_IMDS_ENDPOINT.to_string(),
            identity,
            http: HttpOptions::for_imds(),
        }
    }
    /// The IMDS token URL (tests point it at a local server).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    fn url(&self, scope: &str) -> Result<Url, AuthError> {
        let mut url = Url::parse(&self.endpoint)
            .map_err(|e| AuthError::Config(format!("IMDS endpoint {:?}: {e}", self.endpoint)))?;
        // IMDS takes a v1 `resource`, not a v2 scope.
        let resource = scope.strip_suffix(".default").unwrap_or(scope);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", IMDS_API_VERSION);
            q.append_pair("resource", resource);
            match &self.identity {
                Some(UserAssignedId::ClientId(v)) => q.append_pair("client_id", v),
                Some(UserAssignedId::ObjectId(v)) => q.append_pair("object_id", v),
                Some(UserAssignedId::ResourceId(v)) => q.append_pair("msi_res_id", v),
                None => &mut q,
            };
        }
        Ok(url)
    }

    async fn exchange(&self, scope: &str, clock: &dyn Clock) -> Result<AccessToken, AuthError> {
        let url = self.url(scope)?;
        // IMDS: retry 404 (not ready), 410 (updating), 429 and 5xx.
        let (status, body) = send_with_retry(
            &self.http,
            |s| matches!(s, 404 | 410 | 429) || s >= 500,
            |c| c.get(url.clone()).header("Metadata", "true"),
        )
        .await?;
        parse_token_response(status, &body.0, clock.now(), None)
    }
}

impl TokenSource for ManagedIdentityCredential {
    fn fetch<'a>(&'a self, scope: &'a str, clock: &'a dyn Clock) -> TokenFuture<'a> {
        Box::pin(self.exchange(scope, clock))
    }
    fn kind(&self) -> &'static str {
        "managed_identity"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_carries_resource_and_identity() {
        let c = ManagedIdentityCredential::new(Some(UserAssignedId::ClientId("abc".into())));
        let u = c.url(crate::ARM_SCOPE).unwrap();
        assert_eq!(
            u.as_str(),
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=abc"
        );
    }
}
