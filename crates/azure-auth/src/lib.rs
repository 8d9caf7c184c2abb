//! Azure AD (Entra ID) token providers behind one [`TokenProvider`] trait, used by
//! `spillway-aci` (ARM) and `spillway-metrics` (Azure Monitor managed Prometheus).
//!
//! The flows are spoken directly over reqwest (the official `azure_identity`
//! refuses plain-HTTP authority hosts, which the emulator needs):
//!
//! * [`ClientSecretCredential`]: client credentials with a secret;
//! * [`WorkloadIdentityCredential`]: AKS workload identity, the client-assertion
//!   flow with the projected service-account token, re-read on every exchange;
//! * [`ManagedIdentityCredential`]: managed identity through IMDS.
//!
//! Each is a [`TokenSource`] (one uncached exchange); wrap it in
//! [`CachedTokenProvider`] for caching, refresh ahead of expiry and a single
//! refresh in flight per scope. Secrets and tokens never appear in `Debug`
//! output, log lines or error messages.

mod cache;
mod client_secret;
mod clock;
mod endpoint;
mod managed_identity;
mod response;
mod secret;
mod static_token;
mod workload_identity;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

pub use cache::{CachedTokenProvider, RefreshPolicy, TokenSource};
pub use client_secret::{ClientSecretCredential, SecretSource};
pub use clock::{Clock, ManualClock, SystemClock};
pub use endpoint::{DEFAULT_AUTHORITY_HOST, HttpOptions};
pub use managed_identity::{DEFAULT_IMDS_ENDPOINT, ManagedIdentityCredential, UserAssignedId};
pub use secret::Secret;
pub use static_token::StaticTokenProvider;
pub use workload_identity::WorkloadIdentityCredential;

/// The scope of Azure Resource Manager tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// A bearer token and when it stops being valid. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    pub expires_at: SystemTime,
}

impl AccessToken {
    pub fn new(secret: impl Into<String>, expires_at: SystemTime) -> Self {
        AccessToken {
            secret: secret.into(),
            expires_at,
        }
    }
    /// The raw token, for an `Authorization: Bearer` header only.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a token could not be had. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("token configuration: {0}")]
    Config(String),
    #[error("token endpoint unreachable: {0}")]
    Transport(String),
    #[error("token request rejected ({status}): {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    #[error("token response malformed: {0}")]
    Malformed(String),
}

impl AuthError {
    /// A short, bounded label for metrics (`auth_config`, `auth_rejected`, ...).
    pub fn metric_label(&self) -> &'static str {
        match self {
            AuthError::Config(_) => "auth_config",
            AuthError::Transport(_) => "auth_transport",
            AuthError::Rejected { .. } => "auth_rejected",
            AuthError::Malformed(_) => "auth_malformed",
        }
    }

    /// Worth retrying later: the endpoint was unreachable, throttled or failing.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Transport(_) => true,
            AuthError::Rejected { status, .. } => *status == 429 || *status >= 500,
            AuthError::Config(_) | AuthError::Malformed(_) => false,
        }
    }
}

pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Something that hands out bearer tokens for a scope
/// (`https://management.azure.com/.default`, ...). Implementations cache and
/// refresh ahead of expiry; callers just ask before every request.
pub trait TokenProvider: Send + Sync {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;

    /// The server refused a token this provider handed out (ARM answered 401):
    /// forget it so the next [`TokenProvider::token`] fetches a fresh one.
    fn invalidate(&self, _scope: &str) {}
}

impl<T: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<T> {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
        (**self).token(scope)
    }
    fn invalidate(&self, scope: &str) {
        (**self).invalidate(scope)
    }
}
