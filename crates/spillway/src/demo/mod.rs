//! `spillway demo`: one command, everything local and real except the
//! cluster. The ACI emulator on a loopback port (or one already running),
//! a simulated cluster from `spillway-sim` behind the kube adapter's
//! interface, a demand replayed in real time (or faster), the real
//! controller loop and the real `/metrics`.

mod cluster;
mod source;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aci_emulator::{Emulator, EmulatorConfig, LatencyDist, ProvisioningLatency};
use anyhow::{Context, Result, anyhow};
use azure_auth::{CachedTokenProvider, ClientSecretCredential, Secret, SecretSource};
use spillway_aci::{AciClient, AciConfig};
use spillway_core::config::{self, LoadedConfig};
use spillway_core::snapshot::PodTemplate;
use spillway_metrics::source::Sources;
use spillway_sim::scenario::Scenario;
use spillway_sim::world::{World, WorldConfig};
use spillway_sim::{DemandOverrides, demand};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::server::{self, ServerState};
use cluster::{SimCluster, SimWorld};
use source::DemandSource;
use spillway_aci::backend::AciBackend;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{Clock, Controller, ControllerOptions, LeaderGate, MetricSource, Parts};

const DEMO_SCENARIO: &str = include_str!("../../../../config/scenarios/demo.yaml");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Use an already running aci-emulator (or ARM) at this URL instead of starting one.
    #[arg(long)]
    pub arm_endpoint: Option<String>,
    /// Address of /metrics, /healthz, /readyz and /status.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// Stop after this long (e.g. 3m); without it, run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Seed of the simulated cluster and the embedded emulator.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replay this `t_seconds,value` CSV as the demand (scaled to 2.5x the VM pool at its peak).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Demand seconds per wall-clock second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The configuration document (re-read on change) instead of the demo's own.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Plan and export metrics, never write.
    #[arg(long)]
    pub dry_run: bool,
    /// Read the policies' metrics from the Prometheus of the configuration's
    /// `metricSources.prometheus`, which must scrape this demo's
    /// `/workload/metrics` (the demand as `http_requests_total`), instead
    /// of the built-in model of Prometheus.
    #[arg(long)]
    pub prometheus: bool,
    /// Elect a leader on a `coordination.k8s.io/v1` Lease at this Kubernetes
    /// API server (several demos against one emulator); without it, this
    /// demo is the only replica.
    #[arg(long)]
    pub lease_api: Option<String>,
    #[command(flatten)]
    pub lease: crate::lease_args::LeaseArgs,
    #[arg(long, value_enum, default_value = "pretty")]
    pub log_format: crate::logging::LogFormat,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    crate::logging::init(args.log_format, "warn,spillway=info");
    if !(args.speed.is_finite() && args.speed > 0.0) {
        return Err(anyhow!("--speed {} must be a number above 0", args.speed));
    }
    let cancel = CancellationToken::new();
    crate::run::shutdown_on_signal(cancel.clone());

    let scenario =
        Scenario::from_yaml(DEMO_SCENARIO, "<embedded demo>", Path::new(".")).map_err(|e| anyhow!("{e}"))?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let overrides = DemandOverrides {
        trace: args.trace.as_deref(),
        peak_replicas: None,
        duration_secs: None,
    };
    let demand = Arc::new(demand::build_demand(&scenario, &overrides).map_err(|e| anyhow!("{e}"))?);

    // The configuration: the demo's own, or a file (re-read on change).
    let (config_rx, valid_rx, errors_rx) = match &args.config {
        Some(path) => {
            let f = crate::config_file::watch_file(path.clone(), Duration::from_secs(1), cancel.clone())
                .map_err(|e| crate::run::config_errors(path.display().to_string(), &e))?;
            (f.config, f.valid, Some(f.errors))
        }
        None => {
            let loaded = embedded_config()?;
            let (_ctx, crx) = watch::channel(Some(Arc::new(loaded)));
            let (_vtx, vrx) = watch::channel(true);
            // The senders live as long as the demo does.
            std::mem::forget(_ctx);
            std::mem::forget(_vtx);
            (crx, vrx, None)
        }
    };
    let first = config_rx.borrow().clone().context("no configuration")?;
    let policy = first
        .valid_policies()
        .next()
        .cloned()
        .context("the configuration has no valid policy")?;
    let az = first
        .global
        .azure
        .clone()
        .context("the configuration has no azure section")?;

    // ACI: the emulator, in this process unless one is given.
    let (endpoint, _emulator) = match &args.arm_endpoint {
        Some(url) => (url.trim_end_matches('/').to_string(), None),
        None => {
            let handle = Emulator::start(emulator_config(seed))
                .await
                .map_err(|e| anyhow!("starting the ACI emulator: {e}"))?;
            (handle.base_url().to_string(), Some(handle))
        }
    };
    let metrics = Metrics::new().context("registering metrics")?;
    let tokens = Arc::new(CachedTokenProvider::new(
        ClientSecretCredential::new(
            "demo-tenant",
            "spillway-demo",
            SecretSource::Value(Secret::new("demo")),
        )
        .with_authority(endpoint.clone()),
    ));
    let mut aci_config = AciConfig::from_spec(&config::AzureSpec {
        arm_endpoint: endpoint.clone(),
        ..az.clone()
    })
    .map_err(|e| anyhow!("{e}"))?;
    aci_config.user_agent = args.lease.user_agent();
    let aci = AciClient::with_observer(aci_config, tokens, crate::aci_telemetry::observer(&metrics))
        .map_err(|e| anyhow!("{e}"))?;

    // The simulated cluster, on the wall clock.
    let started = Instant::now();
    let template = PodTemplate {
        namespace: policy.target.namespace.clone(),
        labels: scenario.workload.labels.clone(),
        requests: scenario.requests.clone(),
        hash: "demo-v1".into(),
        ..PodTemplate::default()
    };
    let cpr = scenario.demand.capacity_per_replica;
    let initial = ((demand.mean(0, 10) / cpr).ceil() as u32).clamp(policy.min_replicas, policy.max_replicas);
    let world = World::new(WorldConfig {
        pools: scenario.pools.clone(),
        initial_nodes: scenario.pools.iter().map(|p| p.spec.initial_nodes).collect(),
        initial_replicas: initial,
        template: template.clone(),
        deployment: policy.target.name.clone(),
        start_latency: scenario.workload.start_latency.clone(),
        autoscaler: scenario.autoscaler.enabled.then(|| scenario.autoscaler.clone()),
        aci: scenario.aci.clone(),
        pricing: first.global.pricing.clone(),
        virtual_node: None,
        seed,
    });
    let sim = Arc::new(SimWorld::new(world, template, started));
    let cluster = Arc::new(SimCluster::new(sim.clone(), policy.target.clone()));
    let source = Arc::new(DemandSource {
        demand: demand.clone(),
        spec: scenario.metrics.clone(),
        capacity_per_replica: cpr,
        speed: args.speed,
        world: sim.clone(),
    });

    let status = Arc::new(StatusBoard::new("demo"));
    status.set_caches_synced(true);
    if let Some(errors) = errors_rx {
        crate::config_file::report_errors(errors, status.clone(), cancel.clone());
    }
    let leader = match &args.lease_api {
        Some(url) => {
            let config = args.lease.config(LEASE_NAMESPACE)?;
            let client = lease_client(url)?;
            let (gate, _task) = spillway_kube::lease::run(client, config, cancel.clone());
            crate::run::spawn_leader_metrics(gate.clone(), metrics.clone(), status.clone(), cancel.clone());
            gate
        }
        None => {
            status.set_leader(Some(true));
            metrics.leader.set(1.0);
            LeaderGate::always()
        }
    };
    let service = policy
        .burst
        .as_ref()
        .and_then(|b| b.service.clone())
        .unwrap_or_else(|| policy.target.name.clone());
    let (bound, server) = server::serve(
        args.listen,
        ServerState {
            metrics: metrics.clone(),
            status: status.clone(),
        },
        source::workload_router(source.clone(), service),
        cancel.clone(),
    )
    .await
    .with_context(|| format!("binding {}", args.listen))?;
    println!("aci emulator on {endpoint}");
    println!("metrics on http://{bound}/metrics");
    println!("status on http://{bound}/status");

    let metrics_source: Arc<dyn MetricSource> = if args.prometheus {
        let prometheus = crate::run::prometheus_client(&first)?
            .context("--prometheus needs metricSources.prometheus in the configuration")?;
        println!("reading metrics from Prometheus at {}", prometheus_url(&first));
        let started_at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64 - started.elapsed().as_millis() as i64)
            .context("the system clock is before 1970")?;
        Arc::new(source::EpochShifted {
            inner: Sources {
                prometheus: Some(prometheus),
                resource: None,
            },
            started_at_ms,
        })
    } else {
        source.clone()
    };

    let clock: Clock =
        Arc::new(move || spillway_core::time::Timestamp::from_millis(started.elapsed().as_millis() as i64));
    let controller = Arc::new(Controller::new(
        Parts {
            cluster: cluster.clone(),
            metrics_source,
            backend: Arc::new(AciBackend::new(
                aci.with_write_gate(crate::aci_telemetry::write_gate(leader.clone())),
            )),
            telemetry: metrics.clone(),
            status: status.clone(),
            leader,
            clock,
            rebuild: None,
        },
        ControllerOptions {
            dry_run: args.dry_run,
            gc_interval: Duration::from_secs(10),
            ..ControllerOptions::default()
        },
    ));
    if let Some(d) = args.duration {
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            c.cancel();
        });
    }
    let line = tokio::spawn(status_line(
        status.clone(),
        source.clone(),
        policy.name.clone(),
        cancel.clone(),
    ));
    controller.run(config_rx, valid_rx, cancel.clone()).await;
    let _ = line.await;
    let _ = server.await;
    println!();
    println!("demo finished after {}s", started.elapsed().as_secs());
    Ok(())
}

/// The namespace of the demo's Lease.
const LEASE_NAMESPACE: &str = "spillway-system";

/// A Kubernetes client for the API server at `url` (no credentials: a
/// local test server).
fn lease_client(url: &str) -> Result<kube::Client> {
    let uri: http::Uri = url.parse().with_context(|| format!("--lease-api {url}"))?;
    let mut config = kube::Config::new(uri);
    config.default_namespace = LEASE_NAMESPACE.into();
    kube::Client::try_from(config).with_context(|| format!("a Kubernetes client for {url}"))
}

fn prometheus_url(config: &LoadedConfig) -> String {
    config
        .global
        .metric_sources
        .prometheus
        .as_ref()
        .map(|p| p.url.clone())
        .unwrap_or_default()
}

fn embedded_config() -> Result<LoadedConfig> {
    // JSON is valid YAML: the scenario's `config` subtree goes to the validator as text.
    let raw: serde_json::Value =
        serde_saphyr::from_str(DEMO_SCENARIO).map_err(|e| anyhow!("the embedded demo scenario: {e}"))?;
    let doc = raw.get("config").context("the demo scenario has no config")?;
    config::load(&doc.to_string())
        .map_err(|e| crate::run::config_errors("<embedded demo config>".into(), &e.errors))
}

/// Fast but not instant provisioning, so that Provisioning is visible.
fn emulator_config(seed: u64) -> EmulatorConfig {
    EmulatorConfig {
        seed,
        latency: ProvisioningLatency {
            pending: LatencyDist::Uniform {
                min: Duration::from_secs(1),
                max: Duration::from_secs(3),
            },
            creating: LatencyDist::Uniform {
                min: Duration::from_secs(3),
                max: Duration::from_secs(6),
            },
            deleting: LatencyDist::Fixed(Duration::from_secs(2)),
        },
        ..EmulatorConfig::default()
    }
}

/// A live one-line status: on a terminal rewritten in place, else a line every 5 s.
async fn status_line(
    status: Arc<StatusBoard>,
    source: Arc<DemandSource>,
    policy: String,
    cancel: CancellationToken,
) {
    let tty = std::io::stdout().is_terminal();
    let every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let mut ticker = tokio::time::interval(every);
    let started = Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let demand = source.current_demand();
        let line = match status.last_plan(&policy) {
            Some(p) => format!(
                "t={:>4}s demand={:>6.0}/s desired={:>3} vm ready={:>3} fit={:>3} burst ready={:>3} provisioning={:>3} draining={:>2} cost={:.3}/h",
                started.elapsed().as_secs(),
                demand,
                p.desired_replicas,
                p.vm.ready,
                p.vm_fit,
                p.burst.ready,
                p.burst.provisioning,
                p.burst.draining,
                p.burst_hourly_cost
            ),
            None => format!(
                "t={:>4}s demand={:>6.0}/s (waiting for the first tick)",
                started.elapsed().as_secs(),
                demand
            ),
        };
        if tty {
            print!("\r{line}\x1b[K");
            use std::io::Write;
            let _ = std::io::stdout().flush();
        } else {
            println!("{line}");
        }
    }
}
