//! The leader-election flags shared by `spillway run` and `spillway demo`.

use std::time::Duration;

use anyhow::{Result, anyhow};
use spillway_kube::lease::LeaseConfig;

#[derive(Debug, Clone, clap::Args)]
pub struct LeaseArgs {
    #[arg(long, default_value = "spillway-leader")]
    pub lease_name: String,
    /// This replica's identity on the Lease (the pod name); also sent in the
    /// ARM User-Agent, so Azure's activity log names the writer.
    #[arg(long, env = "POD_NAME", default_value = "spillway")]
    pub identity: String,
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_duration: Duration,
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub lease_renew_before: Duration,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub lease_retry_period: Duration,
    /// Writes stop this long before the Lease would expire (clock drift
    /// between replicas); retry period + safety must be under renew-before.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub lease_safety: Duration,
}

impl LeaseArgs {
    /// The validated Lease settings in `namespace`.
    pub fn config(&self, namespace: &str) -> Result<LeaseConfig> {
        let config = LeaseConfig {
            name: self.lease_name.clone(),
            namespace: namespace.to_string(),
            identity: self.identity.clone(),
            duration: self.lease_duration,
            renew_before: self.lease_renew_before,
            retry_period: self.lease_retry_period,
            safety: self.lease_safety,
        };
        config.validate().map_err(|e| anyhow!("lease settings: {e}"))?;
        Ok(config)
    }

    /// The ARM User-Agent naming this replica.
    pub fn user_agent(&self) -> String {
        format!("spillway/{} ({})", env!("CARGO_PKG_VERSION"), self.identity)
    }
}
