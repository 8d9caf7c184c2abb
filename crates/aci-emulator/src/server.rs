//! Starting and stopping the emulator in-process, and the typed admin API on its handle.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use jiff::Timestamp;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{EmulatorConfig, Limits},
    engine::{Engine, StateSnapshot},
    error::EmulatorError,
    faults::Faults,
    http::{Shared, router},
    tls::{TlsListener, TlsSetup},
};

/// Entry point: `Emulator::start(config)` on the current tokio runtime.
#[derive(Debug)]
pub struct Emulator;

/// A running emulator. Dropping it stops the server (use [`EmulatorHandle::shutdown`] to wait).
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    ca_pem: Option<String>,
}

impl Emulator {
    /// Binds `config.listen` and serves until the handle is shut down or dropped.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: config.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(EmulatorError::LocalAddr)?;
        let tls = config.tls.as_ref().map(TlsSetup::new).transpose()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base_url = format!("{scheme}://{addr}");
        let shared = Arc::new(Shared {
            engine: Mutex::new(Engine::new(&config)),
            base_url: base_url.clone(),
            scheme,
        });
        let cancel = CancellationToken::new();
        let app = router(shared.clone());
        let stop = cancel.clone();
        let ca_pem = tls.as_ref().and_then(|t| t.ca_pem.clone());
        let task = match tls {
            None => tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            }),
            Some(setup) => {
                let listener = TlsListener::new(listener, setup.config).map_err(EmulatorError::LocalAddr)?;
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async move { stop.cancelled().await })
                        .await
                })
            }
        };
        tracing::info!(%addr, seed = config.seed, "aci-emulator listening");
        Ok(EmulatorHandle {
            addr,
            base_url,
            shared,
            cancel,
            task: Some(task),
            ca_pem,
        })
    }
}

impl EmulatorHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (`https://` with TLS): the ARM endpoint and the authority host at once.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// PEM of the generated CA in self-signed TLS mode (what clients must trust).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The OpenID configuration URL of a tenant (MSAL's tenant discovery).
    pub fn openid_configuration_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/v2.0/.well-known/openid-configuration", self.base_url)
    }

    /// The token URL for a tenant (`{base}/{tenant}/oauth2/v2.0/token`).
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.base_url)
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.shared.engine().faults.clone()
    }

    /// Replaces the faults (as `PUT /_emulator/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.engine().faults = faults;
    }

    /// Changes the faults in place (as `PATCH /_emulator/faults`).
    pub fn update_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.shared.engine().faults);
    }

    /// The current limits.
    pub fn limits(&self) -> Limits {
        self.shared.engine().limits.clone()
    }

    /// Replaces the limits (as `PUT /_emulator/limits`).
    pub fn set_limits(&self, limits: Limits) {
        self.shared.engine().limits = limits;
    }

    /// Changes the limits in place (as `PATCH /_emulator/limits`).
    pub fn update_limits(&self, change: impl FnOnce(&mut Limits)) {
        change(&mut self.shared.engine().limits);
    }

    /// Every group ever created and every write (as `GET /_emulator/state`).
    pub fn state(&self) -> StateSnapshot {
        self.shared.engine().snapshot(Timestamp::now())
    }

    /// Issues a valid ARM token without HTTP (for tests that are not about auth).
    pub fn issue_token(&self) -> String {
        let mut engine = self.shared.engine();
        let cfg = engine.token_config().clone();
        let form: Vec<(String, String)> = [
            ("grant_type", "client_credentials"),
            (
                "client_id",
                cfg.client_id.as_deref().unwrap_or("aci-emulator-test"),
            ),
            ("client_secret", cfg.client_secret.as_deref().unwrap_or("test")),
            ("scope", "https://management.azure.com/.default"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        engine
            .tokens
            .token_request(&cfg, "emulator", &form, Timestamp::now())
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Makes every token issued so far invalid (as `POST /_emulator/tokens/revoke`).
    pub fn revoke_tokens(&self) {
        self.shared.engine().revoke_tokens(Timestamp::now());
    }

    /// Forgets all groups, operations and records (as `POST /_emulator/reset`).
    pub fn reset(&self) {
        self.shared.engine().reset();
    }

    /// Stops accepting requests and waits (at most 5 s) for the server to finish.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        self.cancel.cancel();
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        let abort = task.abort_handle();
        match tokio::time::timeout(Duration::from_secs(5), task).await {
            Ok(Ok(result)) => result.map_err(EmulatorError::Serve),
            Ok(Err(join)) => Err(EmulatorError::Join(join.to_string())),
            Err(_) => {
                abort.abort();
                tracing::warn!("emulator connections did not close within 5 s; aborted");
                Ok(())
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
