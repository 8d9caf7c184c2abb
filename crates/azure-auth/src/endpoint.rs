//! Authority hosts, token endpoint URLs and the HTTP plumbing shared by the flows.

use std::time::Duration;

use url::Url;

use crate::AuthError;

/// Public-cloud Entra ID authority. Sovereign clouds and the emulator override it.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";

/// How the flows talk HTTP: the client, and how often a transient failure
/// (connection error, timeout, 429, 5xx) is retried before giving up.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub client: reqwest::Client,
    pub max_retries: u32,
    /// First retry delay; doubled on every further retry.
    pub retry_base_delay: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            client: default_client(false),
            max_retries: 2,
            retry_base_delay: Duration::from_millis(500),
        }
    }
}

impl HttpOptions {
    /// Options for IMDS: never through a proxy (the docs forbid it).
    pub fn for_imds() -> Self {
        HttpOptions {
            client: default_client(true),
            max_retries: 4,
            retry_base_delay: Duration::from_secs(2),
        }
    }
}

fn default_client(no_proxy: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .user_agent(concat!("spillway-azure-auth/", env!("CARGO_PKG_VERSION")));
    if no_proxy {
        b = b.no_proxy();
    }
    // Building only fails when the TLS backend cannot initialise; fall back to
    // the default client, which reports the same problem on first use.
    b.build().unwrap_or_default()
}

/// `{authority}/{tenant}/oauth2/v2.0/token`, whether or not the authority ends in `/`.
pub(crate) fn token_endpoint(authority: &str, tenant: &str) -> Result<Url, AuthError> {
    check_tenant(tenant)?;
    let base = Url::parse(authority)
        .map_err(|e| AuthError::Config(format!("authority host {authority:?} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(AuthError::Config(format!(
            "authority host {authority:?} must be http or https"
        )));
    }
    let joined = format!("{}/{tenant}/oauth2/v2.0/token", authority.trim_end_matches('/'));
    Url::parse(&joined).map_err(|e| AuthError::Config(format!("token endpoint {joined:?}: {e}")))
}

/// Tenants are GUIDs or domain names; anything else would change the URL path.
fn check_tenant(tenant: &str) -> Result<(), AuthError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AuthError::Config(format!(
            "tenant id {tenant:?} is not a GUID or domain"
        )))
    }
}

/// Send a request built by `make`, retrying transient failures per `opts`.
/// Returns the final status and body (any status: the caller maps errors).
pub(crate) async fn send_with_retry(
    opts: &HttpOptions,
    retry_on: fn(u16) -> bool,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> Result<(u16, bytes_body::Body), AuthError> {
    let mut attempt = 0u32;
    loop {
        let outcome = match make(&opts.client).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.bytes().await {
                    Ok(b) => Ok((status, bytes_body::Body(b.to_vec()))),
                    Err(e) => Err(AuthError::Transport(describe(&e))),
                }
            }
            Err(e) => Err(AuthError::Transport(describe(&e))),
        };
        let retry = match &outcome {
            Ok((status, _)) => retry_on(*status),
            Err(_) => true,
        };
        if !retry || attempt >= opts.max_retries {
            return outcome;
        }
        let delay = opts.retry_base_delay.saturating_mul(1 << attempt.min(16));
        tracing::debug!(attempt, ?delay, "token endpoint transient failure, retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// A transport error without the URL's query (which may hold a client id) and
/// never with a body (which may hold a secret).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let host = e
        .url()
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?")))
        .unwrap_or_default();
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut root = String::new();
    while let Some(s) = src {
        root = s.to_string();
        src = s.source();
    }
    if root.is_empty() {
        format!("{kind} ({host})")
    } else {
        format!("{kind} ({host}): {root}")
    }
}

pub(crate) mod bytes_body {
    /// A response body; kept opaque so it is never logged by accident.
    pub struct Body(pub Vec<u8>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_or_without_slash() {
        let a = token_endpoint("https://login.microsoftonline.com/", "t1").unwrap();
        let b = token_endpoint("https://login.microsoftonline.com", "t1").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.as_str(),
            "https://login.microsoftonline.com/t1/oauth2/v2.0/token"
        );
        let e = token_endpoint("http://127.0.0.1:9/", "abc").unwrap();
        assert_eq!(e.as_str(), "http://127.0.0.1:9/abc/oauth2/v2.0/token");
    }

    #[test]
    fn rejects_bad_tenant_and_scheme() {
        assert!(matches!(
            token_endpoint("https://x/", "../evil"),
            Err(AuthError::Config(_))
        ));
        assert!(matches!(
            token_endpoint("https://x/", ""),
            Err(AuthError::Config(_))
        ));
        assert!(matches!(
            token_endpoint("ftp://x/", "t"),
            Err(AuthError::Config(_))
        ));
    }
}
