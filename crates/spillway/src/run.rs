//! `spillway run`: the controller against a real cluster, Prometheus and ARM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use azure_auth::{
    CachedTokenProvider, ClientSecretCredential, ManagedIdentityCredential, SecretSource, TokenProvider,
    UserAssignedId, WorkloadIdentityCredential,
};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use spillway_aci::{AciClient, AciConfig};
use spillway_core::config::{AzureAuth, LoadedConfig};
use spillway_kube::events::EventSink;
use spillway_kube::lease;
use spillway_kube::view::KubeClusterView;
use spillway_metrics::prometheus::{PrometheusClient, PrometheusOptions, TlsOptions};
use spillway_metrics::resource::ResourceSource;
use spillway_metrics::source::Sources;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::logging::LogFormat;
use crate::server::{self, ServerState};
use spillway_aci::backend::AciBackend;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{
    BurstBackend, Controller, ControllerOptions, LeaderGate, MetricSource, Parts, Rebuild, system_clock,
};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Read the configuration from this file (re-read on change) instead of the ConfigMap.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Plan, log and export metrics; never write to the cluster or ARM.
    #[arg(long)]
    pub dry_run: bool,
    /// Address of /metrics, /healthz, /readyz and /status.
    #[arg(long, default_value = "0.0.0.0:9464", env = "SPILLWAY_LISTEN")]
    pub listen: SocketAddr,
    /// Namespace of the ConfigMap and the Lease.
    #[arg(long, default_value = "spillway-system", env = "POD_NAMESPACE")]
    pub namespace: String,
    #[arg(long, default_value = "spillway")]
    pub config_map: String,
    #[command(flatten)]
    pub lease: crate::lease_args::LeaseArgs,
    /// No leader election: act as the only replica (development).
    #[arg(long)]
    pub no_leader_election: bool,
    #[arg(long, value_enum, default_value = "json", env = "SPILLWAY_LOG_FORMAT")]
    pub log_format: LogFormat,
}

pub async fn run(args: RunArgs) -> Result<()> {
    crate::logging::init(args.log_format, "info,kube=warn");
    let cancel = CancellationToken::new();
    shutdown_on_signal(cancel.clone());

    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (KUBECONFIG, ~/.kube/config or in-cluster)")?;
    let metrics = Metrics::new().context("registering metrics")?;
    metrics.declare_error_kinds(spillway_kube::ViewError::LABELS);
    let status = Arc::new(StatusBoard::new(&args.lease.identity));
    let (bound, server) = server::serve(
        args.listen,
        ServerState {
            metrics: metrics.clone(),
            status: status.clone(),
        },
        axum::Router::new(),
        cancel.clone(),
    )
    .await
    .with_context(|| format!("binding {}", args.listen))?;
    println!("metrics on http://{bound}/metrics");

    let gate = if args.no_leader_election || args.dry_run {
        LeaderGate::always()
    } else {
        let config = args.lease.config(&args.namespace)?;
        let (gate, _task) = lease::run(client.clone(), config, cancel.clone());
        gate
    };
    spawn_leader_metrics(gate.clone(), metrics.clone(), status.clone(), cancel.clone());

    let events = Arc::new(EventSink::new(
        client.clone(),
        Some(args.lease.identity.clone()),
        Duration::from_secs(60),
        gate.clone(),
    ));
    let (config, valid) = match &args.config {
        Some(path) => {
            let f = crate::config_file::watch_file(path.clone(), Duration::from_secs(5), cancel.clone())
                .map_err(|errors| config_errors(path.display().to_string(), &errors))?;
            crate::config_file::report_errors(f.errors, status.clone(), cancel.clone());
            (f.config, f.valid)
        }
        None => {
            let src = spillway_kube::config_source::watch_config(
                client.clone(),
                &args.namespace,
                &args.config_map,
                events.clone(),
                cancel.clone(),
            );
            crate::config_file::report_errors(src.errors, status.clone(), cancel.clone());
            (src.config, src.valid)
        }
    };
    let first = wait_for_config(config.clone(), &cancel).await?;

    let reflectors = spillway_kube::reflectors::start(client.clone(), cancel.clone());
    let readiness = reflectors.readiness.clone();
    spawn_readiness(readiness.clone(), status.clone(), cancel.clone());
    let cluster = Arc::new(KubeClusterView::new(
        client.clone(),
        reflectors.stores.clone(),
        readiness,
        gate.clone(),
        events,
    ));

    let rebuild = Arc::new(RunRebuild {
        metrics: metrics.clone(),
        user_agent: args.lease.user_agent(),
        gate: gate.clone(),
        client: client.clone(),
    });
    let backend = rebuild.backend(&first).map_err(|e| anyhow!(e))?;
    let sources = rebuild.metric_source(&first).map_err(|e| anyhow!(e))?;
    let controller = Arc::new(Controller::new(
        Parts {
            cluster,
            metrics_source: sources,
            backend,
            telemetry: metrics.clone(),
            status,
            leader: gate,
            clock: system_clock(),
            rebuild: Some(rebuild),
        },
        ControllerOptions {
            dry_run: args.dry_run,
            ..ControllerOptions::default()
        },
    ));
    info!(dry_run = args.dry_run, "controller starting");
    controller.run(config, valid, cancel.clone()).await;
    let _ = server.await;
    Ok(())
}

/// Builds the ARM backend and the metric sources from a configuration
/// document: at start, and again when `azure` or `metricSources` changes.
struct RunRebuild {
    metrics: Metrics,
    user_agent: String,
    gate: LeaderGate,
    client: kube::Client,
}

impl Rebuild<PodTemplateSpec> for RunRebuild {
    fn backend(&self, config: &LoadedConfig) -> Result<Arc<dyn BurstBackend<PodTemplateSpec>>, String> {
        let aci = aci_client(config, self.metrics.clone(), Some(self.user_agent.clone()))
            .map_err(|e| format!("{e:#}"))?
            .with_write_gate(crate::aci_telemetry::write_gate(self.gate.clone()));
        Ok(Arc::new(AciBackend::new(aci)))
    }

    fn metric_source(&self, config: &LoadedConfig) -> Result<Arc<dyn MetricSource>, String> {
        let sources = metric_sources(config, self.client.clone()).map_err(|e| format!("{e:#}"))?;
        Ok(Arc::new(sources))
    }
}

pub fn config_errors(source: String, errors: &[spillway_core::config::ConfigError]) -> anyhow::Error {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    anyhow!("{source}: invalid configuration:\n{}", lines.join("\n"))
}

async fn wait_for_config(
    mut rx: watch::Receiver<Option<Arc<LoadedConfig>>>,
    cancel: &CancellationToken,
) -> Result<Arc<LoadedConfig>> {
    loop {
        if let Some(c) = rx.borrow_and_update().clone() {
            return Ok(c);
        }
        info!("waiting for a valid configuration");
        tokio::select! {
            _ = cancel.cancelled() => return Err(anyhow!("stopped before a configuration arrived")),
            r = rx.changed() => r.map_err(|_| anyhow!("the configuration source stopped"))?,
        }
    }
}

/// The ARM client for the document's `azure` section; `user_agent`
/// replaces the default User-Agent.
pub fn aci_client(config: &LoadedConfig, metrics: Metrics, user_agent: Option<String>) -> Result<AciClient> {
    let Some(az) = &config.global.azure else {
        return Err(anyhow!(
            "the configuration has no azure section; nothing can burst"
        ));
    };
    let mut cfg = AciConfig::from_spec(az).map_err(|e| anyhow!("azure: {e}"))?;
    if let Some(ua) = user_agent {
        cfg.user_agent = ua;
    }
    let tokens = token_provider(&az.auth)?;
    AciClient::with_observer(cfg, tokens, crate::aci_telemetry::observer(&metrics))
        .map_err(|e| anyhow!("azure: {e}"))
}

/// The token flow named by `azure.auth`. `AZURE_AUTHORITY_HOST` overrides the
/// authority (sovereign clouds, the emulator).
pub fn token_provider(auth: &AzureAuth) -> Result<Arc<dyn TokenProvider>> {
    let authority = std::env::var("AZURE_AUTHORITY_HOST").ok();
    Ok(match auth {
        AzureAuth::WorkloadIdentity => {
            let mut c =
                WorkloadIdentityCredential::from_env().map_err(|e| anyhow!("workload identity: {e}"))?;
            if let Some(a) = authority {
                c = c.with_authority(a);
            }
            Arc::new(CachedTokenProvider::new(c))
        }
        AzureAuth::ClientSecret {
            tenant_id,
            client_id,
            secret_file,
        } => {
            let mut c =
                ClientSecretCredential::new(tenant_id, client_id, SecretSource::File(secret_file.into()));
            if let Some(a) = authority {
                c = c.with_authority(a);
            }
            Arc::new(CachedTokenProvider::new(c))
        }
        AzureAuth::ManagedIdentity { client_id } => {
            let mut c = ManagedIdentityCredential::new(client_id.clone().map(UserAssignedId::ClientId));
            if let Ok(endpoint) = std::env::var("AZURE_IMDS_ENDPOINT") {
                c = c.with_endpoint(endpoint);
            }
            Arc::new(CachedTokenProvider::new(c))
        }
    })
}

/// Prometheus (if configured) and metrics.k8s.io.
pub fn metric_sources(config: &LoadedConfig, client: kube::Client) -> Result<Sources> {
    Ok(Sources {
        prometheus: prometheus_client(config)?,
        resource: Some(ResourceSource::new(client, Default::default())),
    })
}

/// The client of `metricSources.prometheus`, if the configuration has one.
pub fn prometheus_client(config: &LoadedConfig) -> Result<Option<PrometheusClient>> {
    let Some(src) = &config.global.metric_sources.prometheus else {
        return Ok(None);
    };
    let tls = TlsOptions {
        ca_file: src.tls.ca_file.as_ref().map(PathBuf::from),
        ca_only: src.tls.ca_only,
        client_identity_file: src.tls.client_identity_file.as_ref().map(PathBuf::from),
        insecure_skip_verify: src.tls.insecure_skip_verify,
    };
    let azure = match (&src.auth, &config.global.azure) {
        (spillway_core::config::PrometheusAuth::AzureAd { .. }, Some(az)) => Some(token_provider(&az.auth)?),
        _ => None,
    };
    let opts = PrometheusOptions::from_config(src, tls, azure).map_err(|e| anyhow!("{e}"))?;
    Ok(Some(PrometheusClient::new(opts).map_err(|e| anyhow!("{e}"))?))
}

pub(crate) fn spawn_leader_metrics(
    gate: LeaderGate,
    metrics: Metrics,
    status: Arc<StatusBoard>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let leader = gate.is_leader();
            metrics.leader.set(if leader { 1.0 } else { 0.0 });
            status.set_leader(Some(leader));
        }
    });
}

fn spawn_readiness(
    mut readiness: spillway_kube::reflectors::Readiness,
    status: Arc<StatusBoard>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            ok = readiness.wait() => status.set_caches_synced(ok),
        }
    });
}

pub fn shutdown_on_signal(cancel: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    cancel.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        info!("shutting down");
        cancel.cancel();
    });
}
