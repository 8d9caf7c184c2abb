//! Semantic rules over the typed document. Every rule reports its path; none
//! stops the others.

use std::collections::BTreeSet;
use std::time::Duration;

use super::ConfigError;
use super::model::*;
use crate::aci;

/// ACI limits the first 63 characters of a group name; leave room for the
/// policy name and ordinal.
const MAX_CLUSTER_ID_LEN: usize = 20;
const MAX_POLICY_NAME_LEN: usize = 30;
/// HPA API limits (autoscaling/v2 validation).
const MAX_STABILIZATION_WINDOW: Duration = Duration::from_secs(3600);
const MAX_POLICY_PERIOD: Duration = Duration::from_secs(1800);

pub fn global(spec: &GlobalSpec, errors: &mut Vec<ConfigError>) {
    let mut e = |path: &str, msg: String| errors.push(ConfigError::new(path, msg));
    if let Err(m) = group_name_part(&spec.cluster.id, MAX_CLUSTER_ID_LEN) {
        e("cluster.id", m);
    }
    if spec.interval < Duration::from_secs(1) {
        e("interval", "must be at least 1s".into());
    }
    if let Some(az) = &spec.azure {
        if !is_guid(&az.subscription_id) {
            e(
                "azure.subscriptionId",
                format!("{:?} is not a GUID", az.subscription_id),
            );
        }
        if az.resource_group.is_empty() || az.resource_group.len() > 90 {
            e("azure.resourceGroup", "must be 1 to 90 characters".into());
        }
        if az.location.trim().is_empty() {
            e("azure.location", "must not be empty".into());
        }
        let mut seen = BTreeSet::from([az.location.to_ascii_lowercase()]);
        for (i, loc) in az.fallback_locations.iter().enumerate() {
            if !seen.insert(loc.to_ascii_lowercase()) {
                e(
                    &format!("azure.fallbackLocations[{i}]"),
                    format!("{loc:?} is listed twice (or is the primary location)"),
                );
            }
        }
        if let Some(subnet) = &az.subnet_id {
            let lower = subnet.to_ascii_lowercase();
            if !(lower.starts_with("/subscriptions/")
                && lower.contains("/providers/microsoft.network/virtualnetworks/")
                && lower.contains("/subnets/"))
            {
                e("azure.subnetId", "must be an ARM subnet id: /subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…".into());
            }
        }
        if let Err(m) = http_url(&az.arm_endpoint) {
            e("azure.armEndpoint", m);
        }
        let r = &az.rate_limits;
        for (what, per_5m, per_hour) in [
            ("creates", r.creates_per_5m, r.creates_per_hour),
            ("deletes", r.deletes_per_5m, r.deletes_per_hour),
        ] {
            if per_5m == 0 {
                e(
                    &format!("azure.rateLimits.{what}Per5m"),
                    "must be at least 1".into(),
                );
            }
            if per_hour < per_5m {
                e(
                    &format!("azure.rateLimits.{what}PerHour"),
                    format!("must be at least {what}Per5m ({per_5m})"),
                );
            }
        }
        if let AzureAuth::ClientSecret {
            tenant_id,
            client_id,
            secret_file,
        } = &az.auth
        {
            if tenant_id.is_empty() {
                e("azure.auth.tenantId", "must not be empty".into());
            }
            if client_id.is_empty() {
                e("azure.auth.clientId", "must not be empty".into());
            }
            if secret_file.is_empty() {
                e("azure.auth.secretFile", "must not be empty".into());
            }
        }
    }
    for (path, v) in [
        ("pricing.aciVcpuSecond", spec.pricing.aci_vcpu_second),
        ("pricing.aciGbSecond", spec.pricing.aci_gb_second),
    ] {
        if !v.is_finite() || v < 0.0 {
            e(path, format!("{v} must be a finite price of 0 or more"));
        }
    }
    if spec.pricing.currency.trim().is_empty() {
        e("pricing.currency", "must not be empty".into());
    }
    let mut classes = BTreeSet::new();
    for (i, vm) in spec.pricing.vm.iter().enumerate() {
        if !vm.price_per_hour.is_finite() || vm.price_per_hour < 0.0 {
            e(
                &format!("pricing.vm[{i}].pricePerHour"),
                format!("{} must be a finite price of 0 or more", vm.price_per_hour),
            );
        }
        if !(0.0..=0.9).contains(&vm.discount) {
            e(
                &format!("pricing.vm[{i}].discount"),
                format!("{} must be a fraction between 0 and 0.9", vm.discount),
            );
        }
        if !classes.insert(vm.instance_type.clone()) {
            e(
                &format!("pricing.vm[{i}].instanceType"),
                match &vm.instance_type {
                    Some(t) => format!("{t} is priced twice"),
                    None => {
                        "only one entry may leave instanceType out (the price of every other node)".into()
                    }
                },
            );
        }
    }
    if spec.pricing.vm_node_overhead > Duration::from_secs(24 * 3600) {
        e(
            "pricing.vmNodeOverhead",
            format!("{:?} is more than a day", spec.pricing.vm_node_overhead),
        );
    }
    if let Some(prom) = &spec.metric_sources.prometheus {
        if let Err(m) = http_url(&prom.url) {
            e("metricSources.prometheus.url", m);
        }
        if prom.timeout.is_zero() {
            e("metricSources.prometheus.timeout", "must be more than 0s".into());
        }
        if prom.tls.ca_only && prom.tls.ca_file.is_none() {
            e("metricSources.prometheus.tls.caOnly", "needs caFile".into());
        }
    }
}

/// Rules for one policy. `global` is `None` when the document-level section
/// was itself invalid; rules that need it are then skipped.
pub fn policy(spec: &PolicySpec, base: &str, global: Option<&GlobalSpec>, errors: &mut Vec<ConfigError>) {
    let mut e = |path: &str, msg: String| errors.push(ConfigError::new(format!("{base}.{path}"), msg));
    if let Err(m) = group_name_part(&spec.name, MAX_POLICY_NAME_LEN) {
        e("name", m);
    }
    if spec.target.kind != "Deployment" {
        e(
            "target.kind",
            format!("{:?} is not supported; only Deployment is", spec.target.kind),
        );
    }
    if let Err(m) = dns_label(&spec.target.namespace, 63) {
        e("target.namespace", m);
    }
    if let Err(m) = dns_subdomain(&spec.target.name) {
        e("target.name", m);
    }
    if spec.min_replicas < 1 {
        e(
            "minReplicas",
            "must be at least 1 (Spillway never scales a workload to zero)".into(),
        );
    }
    if spec.max_replicas < spec.min_replicas {
        e(
            "maxReplicas",
            format!("{} is below minReplicas {}", spec.max_replicas, spec.min_replicas),
        );
    }
    if let Some(i) = spec.interval
        && i < Duration::from_secs(1)
    {
        e("interval", "must be at least 1s".into());
    }
    if spec.metrics.is_empty() {
        e("metrics", "at least one metric is required".into());
    }
    for (i, m) in spec.metrics.iter().enumerate() {
        match m {
            MetricSpec::Prometheus(p) => {
                let at = format!("metrics[{i}].prometheus");
                if p.query.trim().is_empty() {
                    e(&format!("{at}.query"), "must not be empty".into());
                }
                if p.scale_up_query.as_ref().is_some_and(|q| q.trim().is_empty()) {
                    e(
                        &format!("{at}.scaleUpQuery"),
                        "must not be empty (leave it out for no scale-up signal)".into(),
                    );
                }
                if p.scale_up_min_rise_percent > 1000 {
                    e(
                        &format!("{at}.scaleUpMinRisePercent"),
                        format!("{} is more than 1000", p.scale_up_min_rise_percent),
                    );
                } else if p.scale_up_min_rise_percent > 0 && p.scale_up_query.is_none() {
                    e(
                        &format!("{at}.scaleUpMinRisePercent"),
                        "has no effect without a scaleUpQuery".into(),
                    );
                }
                match (p.target_average_value, p.target_value) {
                    (Some(_), Some(_)) | (None, None) => {
                        e(
                            &at,
                            "set exactly one of targetAverageValue and targetValue".into(),
                        );
                    }
                    (Some(v), None) | (None, Some(v)) if !(v.is_finite() && v > 0.0) => {
                        let key = if p.target_average_value.is_some() {
                            "targetAverageValue"
                        } else {
                            "targetValue"
                        };
                        e(
                            &format!("{at}.{key}"),
                            format!("{v} must be a finite number above 0"),
                        );
                    }
                    _ => {}
                }
                if let Some(g) = global
                    && g.metric_sources.prometheus.is_none()
                {
                    e(&at, "needs metricSources.prometheus in the document".into());
                }
            }
            MetricSpec::Resource(r) => {
                let at = format!("metrics[{i}].resource");
                match (r.target_average_utilization, &r.target_average_value) {
                    (Some(_), Some(_)) | (None, None) => {
                        e(
                            &at,
                            "set exactly one of targetAverageUtilization and targetAverageValue".into(),
                        );
                    }
                    (Some(0), None) => e(
                        &format!("{at}.targetAverageUtilization"),
                        "must be above 0".into(),
                    ),
                    (None, Some(q)) if q.nanos() <= 0 => {
                        e(&format!("{at}.targetAverageValue"), "must be above 0".into());
                    }
                    _ => {}
                }
            }
        }
    }
    if !(spec.tolerance.is_finite() && (0.0..1.0).contains(&spec.tolerance)) {
        e("tolerance", format!("{} must be in [0, 1)", spec.tolerance));
    }
    let behavior = spec.behavior.resolve();
    for (dir, rules) in [
        ("scaleUp", &behavior.scale_up),
        ("scaleDown", &behavior.scale_down),
    ] {
        if let Some(t) = rules.tolerance
            && !(t.is_finite() && (0.0..1.0).contains(&t))
        {
            e(
                &format!("behavior.{dir}.tolerance"),
                format!("{t} must be in [0, 1)"),
            );
        }
        if rules.stabilization_window > MAX_STABILIZATION_WINDOW {
            e(
                &format!("behavior.{dir}.stabilizationWindow"),
                "must be at most 1h (the HPA limit)".into(),
            );
        }
        if rules.select_policy != SelectPolicy::Disabled && rules.policies.is_empty() {
            e(
                &format!("behavior.{dir}.policies"),
                "at least one policy is required unless selectPolicy is Disabled".into(),
            );
        }
        for (j, p) in rules.policies.iter().enumerate() {
            if p.value == 0 {
                e(
                    &format!("behavior.{dir}.policies[{j}].value"),
                    "must be above 0".into(),
                );
            }
            if p.period.is_zero() || p.period > MAX_POLICY_PERIOD {
                e(
                    &format!("behavior.{dir}.policies[{j}].period"),
                    "must be between 1s and 30m (the HPA limit)".into(),
                );
            }
        }
    }
    if let Some(f) = spec.on_metrics_missing.fallback_replicas
        && (f < spec.min_replicas || f > spec.max_replicas)
    {
        e(
            "onMetricsMissing.fallbackReplicas",
            format!(
                "{f} is outside [minReplicas {}, maxReplicas {}]",
                spec.min_replicas, spec.max_replicas
            ),
        );
    }
    if !spec.on_metrics_missing.hold && spec.on_metrics_missing.fallback_replicas.is_none() {
        e(
            "onMetricsMissing",
            "hold: false needs fallbackReplicas (Spillway never scales to zero on missing metrics)".into(),
        );
    }
    for (path, message) in spec.predict.problems() {
        e(&format!("predict.{path}"), message);
    }
    for (path, message) in spec.headroom.problems() {
        e(&format!("headroom.{path}"), message);
    }
    burst(spec, global, &mut e);
}

fn burst(spec: &PolicySpec, global: Option<&GlobalSpec>, e: &mut impl FnMut(&str, String)) {
    let b = &spec.burst;
    if !b.enabled {
        return;
    }
    if b.max_replicas == 0 {
        e(
            "burst.maxReplicas",
            "must be above 0 when burst is enabled".into(),
        );
    }
    if b.max_replicas > spec.max_replicas {
        e(
            "burst.maxReplicas",
            format!("{} exceeds maxReplicas {}", b.max_replicas, spec.max_replicas),
        );
    }
    if let Some(c) = b.max_hourly_cost
        && !(c.is_finite() && c > 0.0)
    {
        e(
            "burst.maxHourlyCost",
            format!("{c} must be a finite amount above 0"),
        );
    }
    if let Some(s) = &b.service
        && let Err(m) = dns_label(s, 63)
    {
        e("burst.service", m);
    }
    if b.drain_grace > Duration::from_secs(3600) {
        e("burst.drainGrace", "must be at most 1h".into());
    }
    let subnet = global
        .and_then(|g| g.azure.as_ref())
        .and_then(|az| az.subnet_id.as_deref());
    super::network::validate(&b.zones, b.dns.as_ref(), subnet, e);
    super::standby::validate(spec, global.map(|g| g.cluster.id.as_str()), e);
    if let Some(g) = global {
        match &g.azure {
            None => e("burst.enabled", "needs the azure section in the document".into()),
            Some(az) => {
                if b.priority == AciPriority::Spot && az.subnet_id.is_some() {
                    e("burst.priority", "Spot container groups cannot join a virtual network; remove azure.subnetId or use Regular".into());
                }
            }
        }
    }
    if let Some(r) = &b.requests {
        let limits = aci::GroupLimits::for_priority(b.priority);
        let cpu_millis = r.cpu.millis_ceil();
        let mem_bytes = r.memory.units_ceil();
        if cpu_millis <= 0 {
            e("burst.requests.cpu", "must be above 0".into());
        } else if cpu_millis > i128::from(limits.max_cpu_millis) {
            e(
                "burst.requests.cpu",
                format!(
                    "{} exceeds the ACI {:?} per-group maximum of {} vCPU",
                    r.cpu,
                    b.priority,
                    limits.max_cpu_millis / 1000
                ),
            );
        }
        if mem_bytes <= 0 {
            e("burst.requests.memory", "must be above 0".into());
        } else if mem_bytes > i128::from(limits.max_memory_bytes) {
            e(
                "burst.requests.memory",
                format!(
                    "{:.1} GB exceeds the ACI {:?} per-group maximum of {} GB",
                    mem_bytes as f64 / aci::GB as f64,
                    b.priority,
                    limits.max_memory_bytes / aci::GB
                ),
            );
        }
    }
}

/// RFC 1123 label: what Kubernetes and ACI names both accept.
fn dns_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > max {
        return Err(format!("{s:?} is longer than {max} characters"));
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} must be lowercase letters, digits and '-', starting and ending with a letter or digit"
        ))
    }
}

/// Part of a container-group name: a DNS label without `--` (ARM rejects it).
fn group_name_part(s: &str, max: usize) -> Result<(), String> {
    dns_label(s, max)?;
    if s.contains("--") {
        return Err(format!(
            "{s:?} must not contain \"--\" (it becomes part of container-group names)"
        ));
    }
    Ok(())
}

fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    s.split('.')
        .try_for_each(|part| dns_label(part, 63))
        .map_err(|_| format!("{s:?} is not a valid Kubernetes object name"))
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn http_url(s: &str) -> Result<(), String> {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') && !s.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!("{s:?} is not an http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    const AZURE: &str = "cluster: {id: c}\nazure:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\n";

    #[test]
    fn rate_limits_default_to_acis_and_are_checked() {
        let loaded = crate::config::load(AZURE).expect("valid");
        let r = &loaded.global.azure.as_ref().expect("azure").rate_limits;
        assert_eq!((r.creates_per_5m, r.creates_per_hour), (100, 300));
        assert_eq!((r.deletes_per_5m, r.deletes_per_hour), (100, 300));

        let raised = format!("{AZURE}  rateLimits: {{createsPer5m: 1000, createsPerHour: 3000}}\n");
        let loaded = crate::config::load(&raised).expect("valid");
        let r = &loaded.global.azure.as_ref().expect("azure").rate_limits;
        assert_eq!(
            (r.creates_per_5m, r.creates_per_hour, r.deletes_per_5m),
            (1000, 3000, 100)
        );

        let bad = format!("{AZURE}  rateLimits: {{createsPer5m: 0, deletesPer5m: 500}}\n");
        let errors = crate::config::load(&bad).expect_err("invalid").errors;
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["azure.rateLimits.createsPer5m", "azure.rateLimits.deletesPerHour"],
            "{errors:?}"
        );
    }
}
