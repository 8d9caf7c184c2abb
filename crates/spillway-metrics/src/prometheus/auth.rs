//! Authentication for the Prometheus HTTP API: none, a bearer token file
//! (re-read when it changes), basic auth with a password file, or an Azure AD
//! token from an injected [`TokenProvider`] (Azure Monitor managed Prometheus).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use azure_auth::TokenProvider;
use base64::Engine as _;
use http::HeaderValue;
use spillway_core::config::PrometheusAuth;

use crate::error::SourceError;

/// How requests authenticate.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(SecretFile),
    Basic {
        username: String,
        password: SecretFile,
    },
    AzureAd {
        provider: Arc<dyn TokenProvider>,
        scope: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Bearer(file) => f.debug_tuple("Bearer").field(&file.path).finish(),
            Auth::Basic { username, password } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password_file", &password.path)
                .finish(),
            Auth::AzureAd { scope, .. } => f.debug_struct("AzureAd").field("scope", scope).finish(),
        }
    }
}

impl Auth {
    /// Builds the authentication the config document asks for. `azureAd`
    /// needs the controller's token provider.
    pub fn from_config(
        cfg: &PrometheusAuth,
        provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Auth, SourceError> {
        Ok(match cfg {
            PrometheusAuth::None => Auth::None,
            PrometheusAuth::BearerTokenFile(path) => Auth::Bearer(SecretFile::new(path)),
            PrometheusAuth::Basic {
                username,
                password_file,
            } => Auth::Basic {
                username: username.clone(),
                password: SecretFile::new(password_file),
            },
            PrometheusAuth::AzureAd { scope } => Auth::AzureAd {
                provider: provider.ok_or_else(|| {
                    SourceError::Config("auth azureAd needs an Azure token provider".into())
                })?,
                scope: scope.clone(),
            },
        })
    }

    /// The `Authorization` header for the next request, if any.
    pub async fn header(&self) -> Result<Option<HeaderValue>, SourceError> {
        let value = match self {
            Auth::None => return Ok(None),
            Auth::Bearer(file) => format!("Bearer {}", file.read().await?),
            Auth::Basic { username, password } => {
                let pair = format!("{username}:{}", password.read().await?);
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
            }
            Auth::AzureAd { provider, scope } => {
                let token = provider
                    .token(scope)
                    .await
                    .map_err(|e| SourceError::Auth(format!("Azure AD token for {scope}: {e}")))?;
                format!("Bearer {}", token.secret())
            }
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            SourceError::Auth("the credential contains characters not allowed in a header".into())
        })?;
        header.set_sensitive(true);
        Ok(Some(header))
    }
}

/// A secret kept in a file (a mounted Kubernetes Secret), read again
/// whenever the file's modification time, size or inode changes.
#[derive(Clone)]
pub struct SecretFile {
    path: PathBuf,
    cache: Arc<Mutex<Option<Cached>>>,
}

#[derive(Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    ino: u64,
}

struct Cached {
    stamp: Stamp,
    value: String,
}

/// Secrets larger than this are a misconfiguration, not a token.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

impl SecretFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SecretFile {
            path: path.into(),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The secret, trimmed of surrounding whitespace.
    pub async fn read(&self) -> Result<String, SourceError> {
        let err =
            |what: &str, e: std::io::Error| SourceError::Auth(format!("{what} {}: {e}", self.path.display()));
        // `metadata` follows symlinks, so a Secret volume's `..data` swap shows.
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| err("cannot stat", e))?;
        let stamp = Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            ino: std::os::unix::fs::MetadataExt::ino(&meta),
        };
        if let Some(c) = self.lock().as_ref()
            && c.stamp == stamp
        {
            return Ok(c.value.clone());
        }
        if meta.len() > MAX_SECRET_BYTES {
            return Err(SourceError::Auth(format!(
                "{} is larger than {MAX_SECRET_BYTES} bytes",
                self.path.display()
            )));
        }
        let raw = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|e| err("cannot read", e))?;
        let value = raw.trim().to_string();
        if value.is_empty() {
            return Err(SourceError::Auth(format!("{} is empty", self.path.display())));
        }
        *self.lock() = Some(Cached {
            stamp,
            value: value.clone(),
        });
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // A poisoned cache only means a panic mid-update; the data is still a cache.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use azure_auth::{AccessToken, AuthError, TokenFuture};

    use super::*;

    fn header_str(h: Option<HeaderValue>) -> String {
        h.map(|v| v.to_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn bearer_file_is_reread_when_it_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").expect("write");
        let auth = Auth::from_config(&PrometheusAuth::BearerTokenFile(path.display().to_string()), None)
            .expect("auth");
        assert_eq!(header_str(auth.header().await.expect("header")), "Bearer first");
        // Rotate the way a Secret volume does: a new file renamed over the old one.
        let tmp = dir.path().join("token.new");
        std::fs::write(&tmp, "second-token").expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        assert_eq!(
            header_str(auth.header().await.expect("header")),
            "Bearer second-token"
        );
        assert!(
            auth.header()
                .await
                .expect("header")
                .is_some_and(|h| h.is_sensitive())
        );
    }

    #[tokio::test]
    async fn missing_or_empty_files_are_auth_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = Auth::Bearer(SecretFile::new(dir.path().join("nope")));
        assert_eq!(missing.header().await.map_err(|e| e.metric_label()), Err("auth"));
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "  \n").expect("write");
        let e = Auth::Bearer(SecretFile::new(&empty))
            .header()
            .await
            .expect_err("empty");
        assert!(e.to_string().contains("is empty"), "{e}");
    }

    #[tokio::test]
    async fn basic_auth_encodes_user_and_password_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret").expect("write");
        let auth = Auth::from_config(
            &PrometheusAuth::Basic {
                username: "prom".into(),
                password_file: path.display().to_string(),
            },
            None,
        )
        .expect("auth");
        // base64("prom:s3cret")
        assert_eq!(
            header_str(auth.header().await.expect("header")),
            "Basic cHJvbTpzM2NyZXQ="
        );
    }

    struct Fixed(Result<&'static str, AuthError>);
    impl TokenProvider for Fixed {
        fn token<'a>(&'a self, scope: &'a str) -> TokenFuture<'a> {
            let r = self.0.clone().map(|t| {
                AccessToken::new(
                    format!("{t}:{scope}"),
                    UNIX_EPOCH + Duration::from_secs(4_000_000_000),
                )
            });
            Box::pin(async move { r })
        }
    }

    #[tokio::test]
    async fn azure_ad_uses_the_provider_and_the_scope() {
        let cfg = PrometheusAuth::AzureAd {
            scope: "https://prometheus.monitor.azure.com/.default".into(),
        };
        assert_eq!(
            Auth::from_config(&cfg, None).map_err(|e| e.metric_label()).err(),
            Some("config")
        );
        let ok = Auth::from_config(&cfg, Some(Arc::new(Fixed(Ok("tok"))))).expect("auth");
        assert_eq!(
            header_str(ok.header().await.expect("header")),
            "Bearer tok:https://prometheus.monitor.azure.com/.default"
        );
        let failing = Fixed(Err(AuthError::Transport("connection refused".into())));
        let bad = Auth::from_config(&cfg, Some(Arc::new(failing))).expect("auth");
        let e = bad.header().await.expect_err("token failure");
        assert_eq!(e.metric_label(), "auth");
        assert!(e.to_string().contains("connection refused"), "{e}");
    }
}
