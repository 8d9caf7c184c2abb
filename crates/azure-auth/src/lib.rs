//! Azure AD token providers behind one [`TokenProvider`] trait, used by
//! `spillway-aci` (ARM) and `spillway-metrics` (Azure Monitor managed
//! Prometheus). The flows themselves land with issue 4.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

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

pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, AuthError>> + Send + 'a>>;

/// Something that hands out bearer tokens for a scope
/// (`https://management.azure.com/.default`, ...). Implementations cache and
/// refresh ahead of expiry; callers just ask before every request.
pub trait TokenProvider: Send + Sync {
    fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a>;
}
