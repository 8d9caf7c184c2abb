//! `spillway plan`: one pass against the live cluster, no writes; a table
//! of what would happen and why.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use spillway_core::plan::Plan;
use spillway_kube::events::EventSink;
use spillway_kube::view::KubeClusterView;
use tokio_util::sync::CancellationToken;

use spillway_aci::backend::AciBackend;
use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;
use spillway_controller::{Controller, ControllerOptions, LeaderGate, Parts, TickError, system_clock};

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Read the configuration from this file instead of the ConfigMap.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, default_value = "spillway-system", env = "POD_NAMESPACE")]
    pub namespace: String,
    #[arg(long, default_value = "spillway")]
    pub config_map: String,
}

pub async fn run(args: PlanArgs) -> Result<()> {
    crate::logging::init(crate::logging::LogFormat::Pretty, "warn");
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes client configuration (KUBECONFIG, ~/.kube/config or in-cluster)")?;
    let loaded = match &args.config {
        Some(path) => crate::config_file::read(path)
            .map_err(|e| crate::run::config_errors(path.display().to_string(), &e))?,
        None => {
            let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
                kube::Api::namespaced(client.clone(), &args.namespace);
            // A list by name, the call the controller's Role grants (it
            // watches the ConfigMap; there is no `get`), so `plan` also runs
            // under the controller's ServiceAccount.
            let list = api
                .list(&kube::api::ListParams::default().fields(&format!("metadata.name={}", args.config_map)))
                .await
                .with_context(|| format!("reading ConfigMap {}/{}", args.namespace, args.config_map))?;
            let cm = list
                .items
                .into_iter()
                .next()
                .with_context(|| format!("ConfigMap {}/{} not found", args.namespace, args.config_map))?;
            let mut tracker = spillway_kube::config_source::ConfigTracker::default();
            tracker.observe(Some(&cm));
            tracker
                .current()
                .map(|c| (**c).clone())
                .context("the ConfigMap holds no valid configuration")?
        }
    };
    let cancel = CancellationToken::new();
    let reflectors = spillway_kube::reflectors::start(client.clone(), cancel.clone());
    let mut readiness = reflectors.readiness.clone();
    readiness.wait().await;
    let gate = LeaderGate::never();
    let metrics = Metrics::new()?;
    let events = Arc::new(EventSink::new(
        client.clone(),
        None,
        std::time::Duration::from_secs(60),
        gate.clone(),
    ));
    let cluster = Arc::new(KubeClusterView::new(
        client.clone(),
        reflectors.stores.clone(),
        readiness,
        gate.clone(),
        events,
    ));
    // The gate never opens: `plan` cannot write, not even by accident.
    let backend = Arc::new(AciBackend::new(
        crate::run::aci_client(&loaded, metrics.clone(), None)?
            .with_write_gate(crate::aci_telemetry::write_gate(gate.clone())),
    ));
    let sources = crate::run::metric_sources(&loaded, client)?;
    let controller = Controller::new(
        Parts {
            cluster,
            metrics_source: Arc::new(sources),
            backend,
            telemetry: metrics,
            status: Arc::new(StatusBoard::new("plan")),
            leader: gate,
            clock: system_clock(),
            rebuild: None,
        },
        ControllerOptions {
            dry_run: true,
            ..ControllerOptions::default()
        },
    );
    let results = controller.plan_once(&loaded).await;
    print!("{}", table(&results));
    for o in loaded.policies.iter().filter(|p| p.result.is_err()) {
        println!(
            "policy {} disabled by configuration errors",
            o.name.as_deref().unwrap_or("<unnamed>")
        );
    }
    cancel.cancel();
    Ok(())
}

/// One row per policy.
pub fn table(results: &[(String, Result<Plan, TickError>)]) -> String {
    let mut out = format!(
        "{:<20} {:>7} {:>10} {:>6} {:>7} {:>7} {:>6} {:>6} {:>7}  {}\n",
        "POLICY", "DESIRED", "DEPLOYMENT", "VM-RDY", "VM-FIT", "BURST", "CREATE", "DRAIN", "DELETE", "WHY"
    );
    for (name, r) in results {
        match r {
            Ok(p) => {
                let why: Vec<String> = p
                    .reasons
                    .iter()
                    .map(|r| format!("{}: {}", r.code.as_str(), r.message))
                    .collect();
                let burst = p.burst.ready + p.burst.provisioning;
                out.push_str(&format!(
                    "{:<20} {:>7} {:>10} {:>6} {:>7} {:>3}→{:<3} {:>6} {:>6} {:>7}  {}\n",
                    name,
                    p.desired_replicas,
                    p.scale.map_or(p.deployment_replicas.to_string(), |s| format!(
                        "{}→{}",
                        s.from, s.to
                    )),
                    p.vm.ready,
                    p.vm_fit,
                    burst,
                    p.burst_target,
                    p.creates.len(),
                    p.drains.len(),
                    p.deletes.len(),
                    if why.is_empty() {
                        "no change".to_string()
                    } else {
                        why.join("; ")
                    }
                ));
            }
            Err(e) => out.push_str(&format!("{name:<20} error: {e}\n")),
        }
    }
    out
}
