//! Client settings. Defaults follow `../shared/aci-spec/CONTRACT.md`; values
//! the contract marks UNVERIFIED (poll cadence, Retry-After handling on
//! create, rate-window behaviour) are settings, not constants.

use std::time::Duration;

use url::Url;

use crate::error::AciError;

/// The api-version of the saved spec (`containerInstance.json`, 2026-05-01).
pub const API_VERSION: &str = "2026-05-01";
/// The api-version of the saved StandbyPool spec (`standbypool.json`, 2026-04-01).
pub const STANDBY_POOL_API_VERSION: &str = "2026-04-01";
/// Public-cloud Resource Manager.
pub const ARM_ENDPOINT: &str = "https://management.azure.com";

#[derive(Debug, Clone)]
pub struct AciConfig {
    /// Resource Manager base URL (the emulator: `http://127.0.0.1:PORT`).
    pub endpoint: Url,
    pub api_version: String,
    pub subscription_id: String,
    pub resource_group: String,
    /// Token scope; sovereign clouds use their own ARM audience.
    pub token_scope: String,
    pub user_agent: String,
    /// Timeout of one HTTP request, body included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight at once, reads (GET, polls, lists) and writes (PUT, DELETE) separately.
    pub read_concurrency: usize,
    pub write_concurrency: usize,
    pub lro: LroPolicy,
    pub pacing: PacingLimits,
}

impl AciConfig {
    pub fn new(endpoint: &str, subscription_id: &str, resource_group: &str) -> Result<Self, AciError> {
        let endpoint = Url::parse(endpoint)
            .map_err(|e| AciError::InvalidArgument(format!("ARM endpoint {endpoint:?}: {e}")))?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(AciError::InvalidArgument(format!(
                "ARM endpoint {endpoint} must be an http(s) URL with a host"
            )));
        }
        if subscription_id.is_empty() || resource_group.is_empty() {
            return Err(AciError::InvalidArgument(
                "subscription id and resource group must not be empty".into(),
            ));
        }
        Ok(AciConfig {
            endpoint,
            api_version: API_VERSION.to_string(),
            subscription_id: subscription_id.to_string(),
            resource_group: resource_group.to_string(),
            token_scope: azure_auth::ARM_SCOPE.to_string(),
            user_agent: concat!("spillway-aci/", env!("CARGO_PKG_VERSION")).to_string(),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            read_concurrency: 32,
            write_concurrency: 16,
            lro: LroPolicy::default(),
            pacing: PacingLimits::default(),
        })
    }

    /// From the controller configuration's `azure` section.
    pub fn from_spec(az: &spillway_core::config::AzureSpec) -> Result<Self, AciError> {
        let mut config = Self::new(&az.arm_endpoint, &az.subscription_id, &az.resource_group)?;
        let r = &az.rate_limits;
        config.pacing.creates_per_5m = r.creates_per_5m;
        config.pacing.creates_per_1h = r.creates_per_hour;
        config.pacing.deletes_per_5m = r.deletes_per_5m;
        config.pacing.deletes_per_1h = r.deletes_per_hour;
        Ok(config)
    }
}

/// Retries of one request: exponential backoff with jitter, only for errors
/// that are safe to resend (see `AciError::is_retryable`), honouring
/// `Retry-After` up to `max_retry_after`. A longer `Retry-After`, or a wait
/// that would pass `total_budget`, ends the retries with the typed error.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub max_retry_after: Duration,
    pub total_budget: Duration,
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            total_budget: Duration::from_secs(120),
            jitter: true,
        }
    }
}

/// Following a long-running operation (UNVERIFIED cadence: the RPC says 60 s
/// without `Retry-After`, the SDK polls every ~2.5 s; ACI fails a create
/// itself after 30 minutes).
#[derive(Debug, Clone)]
pub struct LroPolicy {
    /// First wait when the server sent no `Retry-After`.
    pub initial_delay: Duration,
    /// Growth of the wait between polls, up to `max_delay`.
    pub factor: f64,
    pub max_delay: Duration,
    /// Whether to use the server's `Retry-After` on LRO responses (capped by `max_delay`).
    pub honour_retry_after: bool,
    /// Give up (with `DeadlineExceeded`) after this long.
    pub deadline: Duration,
}

impl Default for LroPolicy {
    fn default() -> Self {
        LroPolicy {
            initial_delay: Duration::from_secs(2),
            factor: 1.5,
            max_delay: Duration::from_secs(30),
            honour_retry_after: true,
            deadline: Duration::from_secs(20 * 60),
        }
    }
}

/// ACI's per-subscription create and delete rates (Microsoft Learn: 100 per
/// 5 minutes and 300 per hour, each). With `enforce`, a create or delete
/// beyond them fails locally with `Throttled { local: true }` instead of
/// being sent.
#[derive(Debug, Clone)]
pub struct PacingLimits {
    pub creates_per_5m: u32,
    pub creates_per_1h: u32,
    pub deletes_per_5m: u32,
    pub deletes_per_1h: u32,
    pub enforce: bool,
}

impl Default for PacingLimits {
    fn default() -> Self {
        PacingLimits {
            creates_per_5m: 100,
            creates_per_1h: 300,
            deletes_per_5m: 100,
            deletes_per_1h: 300,
            enforce: true,
        }
    }
}
