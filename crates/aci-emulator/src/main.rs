//! `aci-emulator --listen 127.0.0.1:PORT`: prints `listening on http://ADDR` (`https://` with
//! TLS) as its first stdout line, then serves until SIGINT/SIGTERM. In `--tls-self-signed` mode
//! the generated CA is written to `--tls-ca-out` before that line, or printed after it. Logs go to
//! stderr (`RUST_LOG`, default `info`).

use std::{io::Write, path::PathBuf, time::Duration};

use aci_emulator::{
    CapacityFault, CapacityMode, CrashFault, DeleteMode, Emulator, EmulatorConfig, ImageFault,
    ImageFaultMode, LatencyDist, Limits, ProvisioningLatency, RegionQuota, TlsMode, config::BucketLimit,
    config::WindowLimit,
};
use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Profile {
    /// Sub-second provisioning (the default; good for tests).
    Fast,
    /// Groups are `Succeeded` on the first poll.
    Instant,
    /// Tens of seconds, as public reports show.
    Realistic,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DeleteModeArg {
    /// 202 + Azure-AsyncOperation.
    Async,
    /// 200 with the body.
    Sync,
}

/// ARM-compatible Azure Container Instances emulator with fault injection.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0", env = "ACI_EMULATOR_LISTEN")]
    listen: String,
    /// JSON file with a full or partial EmulatorConfig; flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Items per list page.
    #[arg(long)]
    page_size: Option<usize>,
    /// Accept ARM requests without a bearer token.
    #[arg(long)]
    no_auth: bool,
    /// Only accept this client id at the token endpoint.
    #[arg(long, env = "ACI_EMULATOR_CLIENT_ID")]
    client_id: Option<String>,
    /// Only accept this client secret.
    #[arg(long, env = "ACI_EMULATOR_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Only accept this client assertion (federated token).
    #[arg(long, hide_env_values = true)]
    client_assertion: Option<String>,
    /// Lifetime of issued tokens (`expires_in`), e.g. `5s`, `1h`.
    #[arg(long, value_parser = humantime::parse_duration)]
    token_lifetime: Option<Duration>,
    /// Provisioning latency preset.
    #[arg(long, value_enum, default_value = "fast")]
    profile: Profile,
    /// Time in `Pending` (`500ms`, `uniform:1s..3s`, `normal:2s,500ms`, `exp:1s`).
    #[arg(long)]
    pending_latency: Option<LatencyDist>,
    /// Time in `Creating`.
    #[arg(long)]
    creating_latency: Option<LatencyDist>,
    /// Time from an async DELETE until the group is gone.
    #[arg(long)]
    delete_latency: Option<LatencyDist>,
    /// DELETE answer style.
    #[arg(long, value_enum)]
    delete_mode: Option<DeleteModeArg>,
    /// Also send `Location` on LRO starts, as the 2026-05-01 spec documents.
    #[arg(long)]
    lro_location_header: bool,
    /// `Retry-After` seconds on LRO starts and in-progress polls.
    #[arg(long)]
    lro_retry_after: Option<u64>,
    /// Extra latency before every ARM answer (e.g. `100ms`).
    #[arg(long)]
    call_latency: Option<LatencyDist>,
    /// Probability of a 500/503 answer that does nothing.
    #[arg(long)]
    error_5xx_rate: Option<f64>,
    /// Probability that a write is applied but answered with 500.
    #[arg(long)]
    error_5xx_after_write_rate: Option<f64>,
    /// Operations never finish.
    #[arg(long)]
    lro_never_finish: bool,
    /// Multiply provisioning durations.
    #[arg(long)]
    lro_slow_factor: Option<f64>,
    /// REGION or REGION:async — no capacity there (409 ServiceUnavailable, or a failed operation). `*` = all.
    #[arg(long = "capacity-unavailable", value_name = "REGION[:async]")]
    capacity_unavailable: Vec<String>,
    /// PATTERN or PATTERN:inaccessible — image that fails to pull (prefix patterns end in `*`).
    #[arg(long = "failing-image", value_name = "PATTERN[:inaccessible]")]
    failing_images: Vec<String>,
    /// PATTERN:EVERY_MS[:EXIT_CODE] — containers of this image exit periodically.
    #[arg(long = "crashing-image", value_name = "PATTERN:EVERY_MS[:EXIT]")]
    crashing_images: Vec<String>,
    /// Container groups per region (default 100).
    #[arg(long)]
    quota_groups: Option<u32>,
    /// Standard cores per region (default 100).
    #[arg(long)]
    quota_cores: Option<u32>,
    /// Spot cores per region (default 100).
    #[arg(long)]
    quota_spot_cores: Option<u32>,
    /// REGION:GROUPS:CORES[:SPOT] quota override for one region.
    #[arg(long = "region-quota", value_name = "REGION:GROUPS:CORES[:SPOT]")]
    region_quotas: Vec<String>,
    /// ARM read bucket CAPACITY:PER_SEC (default 250:25).
    #[arg(long, value_name = "CAP:RATE")]
    arm_reads: Option<String>,
    /// ARM write bucket CAPACITY:PER_SEC (default 200:10).
    #[arg(long, value_name = "CAP:RATE")]
    arm_writes: Option<String>,
    /// ARM delete bucket CAPACITY:PER_SEC (default 200:10).
    #[arg(long, value_name = "CAP:RATE")]
    arm_deletes: Option<String>,
    /// ACI creates PER_5M:PER_1H (default 100:300).
    #[arg(long, value_name = "PER_5M:PER_1H")]
    aci_creates: Option<String>,
    /// ACI deletes PER_5M:PER_1H (default 100:300).
    #[arg(long, value_name = "PER_5M:PER_1H")]
    aci_deletes: Option<String>,
    /// Multiply the 5-minute/1-hour spans of --aci-creates/--aci-deletes (e.g. 0.01: 3 s and 36 s).
    #[arg(long)]
    aci_window_scale: Option<f64>,
    /// No quotas and no throttling at all (benchmarks).
    #[arg(long)]
    unlimited: bool,
    /// Serve HTTPS with this certificate (PEM, chain allowed); needs --tls-key.
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a generated CA and a certificate for localhost/127.0.0.1/::1.
    #[arg(long)]
    tls_self_signed: bool,
    /// Write the generated CA (PEM) here; without it the CA is printed after the first line.
    #[arg(long, requires = "tls_self_signed")]
    tls_ca_out: Option<PathBuf>,
    /// Region offered for new resources (repeatable; replaces the default list of Azure regions).
    #[arg(long = "location", value_name = "REGION")]
    locations: Vec<String>,
    /// Availability zones of every region in the resource provider's `zoneMappings`
    /// (`burst.zones: auto`), comma-separated; `none` for regions without zones. Default 1,2,3.
    #[arg(long, value_name = "ZONES")]
    zones: Option<String>,
    /// REGION:ZONES — the zones of one region (e.g. `westcentralus:none`, `westeurope:1,2`).
    #[arg(long = "region-zones", value_name = "REGION:ZONES")]
    region_zones: Vec<String>,
    /// Time for a standby pool instance to become Running (after creation, a claim or a drain).
    #[arg(long, value_parser = humantime::parse_duration)]
    standby_refill_delay: Option<Duration>,
    /// Time until a container group served from a standby pool is Succeeded.
    #[arg(long, value_parser = humantime::parse_duration)]
    standby_claim_latency: Option<Duration>,
    /// Duration of standby pool create/update/delete operations.
    #[arg(long, value_parser = humantime::parse_duration)]
    standby_operation_latency: Option<Duration>,
}

/// `1,2,3` or `none` (no zones). A zone is a number, as ACI's are.
fn zone_list(s: &str, flag: &str) -> Result<Vec<String>> {
    if s.trim().eq_ignore_ascii_case("none") || s.trim().is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|z| {
            let z = z.trim();
            z.parse::<u32>()
                .map(|_| z.to_owned())
                .with_context(|| format!("{flag}: {z:?} is not a zone number (expected e.g. 1,2,3 or none)"))
        })
        .collect()
}

fn pair<A: std::str::FromStr, B: std::str::FromStr>(s: &str, what: &str) -> Result<(A, B)> {
    let (a, b) = s
        .split_once(':')
        .with_context(|| format!("{what}: expected A:B, got {s:?}"))?;
    let a = a
        .parse()
        .ok()
        .with_context(|| format!("{what}: bad first number in {s:?}"))?;
    let b = b
        .parse()
        .ok()
        .with_context(|| format!("{what}: bad second number in {s:?}"))?;
    Ok((a, b))
}

fn bucket(s: &str, what: &str) -> Result<BucketLimit> {
    let (capacity, refill_per_sec) = pair(s, what)?;
    Ok(BucketLimit {
        capacity,
        refill_per_sec,
    })
}

fn window(s: &str, what: &str) -> Result<WindowLimit> {
    let (per_5m, per_1h) = pair(s, what)?;
    Ok(WindowLimit { per_5m, per_1h })
}

fn build_config(cli: &Cli) -> Result<EmulatorConfig> {
    let mut c = match &cli.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => EmulatorConfig::default(),
    };
    c.listen = cli.listen.clone();
    if let Some(v) = cli.seed {
        c.seed = v;
    }
    if let Some(v) = cli.page_size {
        c.page_size = v;
    }
    if cli.no_auth {
        c.require_auth = false;
    }
    c.token.client_id = cli.client_id.clone().or(c.token.client_id);
    c.token.client_secret = cli.client_secret.clone().or(c.token.client_secret);
    c.token.client_assertion = cli.client_assertion.clone().or(c.token.client_assertion);
    if let Some(v) = cli.token_lifetime {
        c.token.lifetime = v;
    }
    match cli.profile {
        Profile::Fast => {}
        Profile::Instant => c.latency = ProvisioningLatency::instant(),
        Profile::Realistic => c.latency = ProvisioningLatency::realistic(),
    }
    c.latency.pending = cli.pending_latency.unwrap_or(c.latency.pending);
    c.latency.creating = cli.creating_latency.unwrap_or(c.latency.creating);
    c.latency.deleting = cli.delete_latency.unwrap_or(c.latency.deleting);
    match cli.delete_mode {
        Some(DeleteModeArg::Async) => c.delete_mode = DeleteMode::Async,
        Some(DeleteModeArg::Sync) => c.delete_mode = DeleteMode::Sync,
        None => {}
    }
    c.lro_location_header |= cli.lro_location_header;
    c.lro_retry_after = cli.lro_retry_after.or(c.lro_retry_after);

    let f = &mut c.faults;
    f.call_latency = cli.call_latency.unwrap_or(f.call_latency);
    f.error_5xx_rate = cli.error_5xx_rate.unwrap_or(f.error_5xx_rate);
    f.error_5xx_after_write_rate = cli
        .error_5xx_after_write_rate
        .unwrap_or(f.error_5xx_after_write_rate);
    f.lro_never_finish |= cli.lro_never_finish;
    f.lro_slow_factor = cli.lro_slow_factor.unwrap_or(f.lro_slow_factor);
    for spec in &cli.capacity_unavailable {
        let (region, mode) = match spec.split_once(':') {
            Some((r, "async")) => (r, CapacityMode::Async),
            Some((r, "sync")) | Some((r, "")) => (r, CapacityMode::Sync),
            Some((_, other)) => bail!("--capacity-unavailable: unknown mode {other:?} (sync or async)"),
            None => (spec.as_str(), CapacityMode::Sync),
        };
        f.capacity.push(CapacityFault {
            region: region.to_owned(),
            mode,
        });
    }
    for spec in &cli.failing_images {
        let (pattern, mode) = match spec.rsplit_once(':') {
            Some((p, "inaccessible")) => (p, ImageFaultMode::Inaccessible),
            Some((p, "pull")) => (p, ImageFaultMode::PullFails),
            _ => (spec.as_str(), ImageFaultMode::PullFails),
        };
        f.failing_images.push(ImageFault {
            pattern: pattern.to_owned(),
            mode,
        });
    }
    for spec in &cli.crashing_images {
        let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
        let (pattern, every, exit) = match parts.as_slice() {
            [every, pattern] => ((*pattern).to_owned(), *every, "1"),
            [exit, every, pattern] if every.parse::<u64>().is_ok() => ((*pattern).to_owned(), *every, *exit),
            [every, tag, image] => (format!("{image}:{tag}"), *every, "1"),
            _ => bail!("--crashing-image: expected PATTERN:EVERY_MS[:EXIT], got {spec:?}"),
        };
        f.crashing_images.push(CrashFault {
            pattern,
            every_ms: every
                .parse()
                .with_context(|| format!("--crashing-image: bad EVERY_MS in {spec:?}"))?,
            exit_code: exit
                .parse()
                .with_context(|| format!("--crashing-image: bad EXIT in {spec:?}"))?,
        });
    }

    if let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) {
        c.tls = Some(TlsMode::Files {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if cli.tls_self_signed {
        c.tls = Some(TlsMode::SelfSigned);
    }
    if !cli.locations.is_empty() {
        c.locations = cli
            .locations
            .iter()
            .map(|l| aci_emulator::validate::normalize_region(l))
            .collect();
    }
    if let Some(zones) = &cli.zones {
        c.zones = zone_list(zones, "--zones")?;
    }
    for spec in &cli.region_zones {
        let Some((region, zones)) = spec.split_once(':') else {
            bail!("--region-zones: expected REGION:ZONES, got {spec:?}");
        };
        c.region_zones.insert(
            aci_emulator::validate::normalize_region(region),
            zone_list(zones, "--region-zones")?,
        );
    }
    c.standby.refill_delay = cli.standby_refill_delay.unwrap_or(c.standby.refill_delay);
    c.standby.claim_latency = cli.standby_claim_latency.unwrap_or(c.standby.claim_latency);
    c.standby.operation_latency = cli
        .standby_operation_latency
        .unwrap_or(c.standby.operation_latency);

    if cli.unlimited {
        c.limits = Limits::unlimited();
    }
    let l = &mut c.limits;
    l.quota.container_groups = cli.quota_groups.unwrap_or(l.quota.container_groups);
    l.quota.standard_cores = cli.quota_cores.unwrap_or(l.quota.standard_cores);
    l.quota.spot_cores = cli.quota_spot_cores.unwrap_or(l.quota.spot_cores);
    for spec in &cli.region_quotas {
        let parts: Vec<&str> = spec.split(':').collect();
        let num = |s: &str| {
            s.parse::<u32>()
                .with_context(|| format!("--region-quota: bad number in {spec:?}"))
        };
        let q = match parts.as_slice() {
            [_, g, c] => RegionQuota {
                container_groups: num(g)?,
                standard_cores: num(c)?,
                spot_cores: l.quota.spot_cores,
            },
            [_, g, c, s] => RegionQuota {
                container_groups: num(g)?,
                standard_cores: num(c)?,
                spot_cores: num(s)?,
            },
            _ => bail!("--region-quota: expected REGION:GROUPS:CORES[:SPOT], got {spec:?}"),
        };
        let region = aci_emulator::validate::normalize_region(parts.first().copied().unwrap_or_default());
        l.region_quotas.insert(region, q);
    }
    if let Some(s) = &cli.arm_reads {
        l.arm_reads = bucket(s, "--arm-reads")?;
    }
    if let Some(s) = &cli.arm_writes {
        l.arm_writes = bucket(s, "--arm-writes")?;
    }
    if let Some(s) = &cli.arm_deletes {
        l.arm_deletes = bucket(s, "--arm-deletes")?;
    }
    if let Some(s) = &cli.aci_creates {
        l.aci_creates = window(s, "--aci-creates")?;
    }
    if let Some(s) = &cli.aci_deletes {
        l.aci_deletes = window(s, "--aci-deletes")?;
    }
    if let Some(scale) = cli.aci_window_scale {
        if !(scale.is_finite() && scale > 0.0) {
            bail!("--aci-window-scale: expected a positive number, got {scale}");
        }
        l.aci_window_scale = scale;
    }
    Ok(c)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! { _ = ctrl_c => {}, () = term => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let config = build_config(&cli)?;
    let emulator = Emulator::start(config).await?;
    if let (Some(path), Some(ca)) = (&cli.tls_ca_out, emulator.ca_pem()) {
        std::fs::write(path, ca).with_context(|| format!("writing the CA to {}", path.display()))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", emulator.base_url())?;
        if let (None, Some(ca)) = (&cli.tls_ca_out, emulator.ca_pem()) {
            writeln!(out, "{}", ca.trim_end())?;
        }
        out.flush()?;
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    emulator.shutdown().await?;
    Ok(())
}
