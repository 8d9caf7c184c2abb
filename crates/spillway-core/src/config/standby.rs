//! `burst.standbyPool` (issue 16): an ACI standby container group pool kept
//! warm for a policy's burst replicas. Kept apart from `model.rs` so that
//! each file stays one topic; the sizing itself is in [`crate::standby`].
//!
//! ```yaml
//! burst:
//!   standbyPool:
//!     name: web-pool            # optional; default derived from cluster.id and the policy
//!     maxReadyCapacity: 20      # cap on the pool (0..=2000, the service's maximum)
//!     sizeFrom: forecast        # forecast | fixed (default fixed)
//!     floor:                    # per time of day, UTC; `to` may wrap past midnight
//!     - {from: "08:00", to: "20:00", ready: 5}
//! ```

use serde::{Deserialize, Serialize};

use super::model::PolicySpec;
use super::predict::PredictMode;

/// The service's maximum `elasticityProfile.maxReadyCapacity`.
pub const MAX_READY_CAPACITY: u32 = 2000;

/// `burst.standbyPool` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StandbyPoolSpec {
    /// The pool's (and its container group profile's) ARM name.
    #[serde(default)]
    pub name: Option<String>,
    /// The most ready instances the pool ever holds.
    #[serde(default = "default_max_ready")]
    pub max_ready_capacity: u32,
    #[serde(default)]
    pub size_from: SizeFrom,
    /// Ready instances kept at least, per time of day (UTC).
    #[serde(default)]
    pub floor: Vec<FloorWindow>,
}

fn default_max_ready() -> u32 {
    10
}

/// Where the pool's size comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SizeFrom {
    /// The floor of the time of day, or `maxReadyCapacity` all day when no
    /// floor is configured.
    #[default]
    Fixed,
    /// The burst replicas the forecast (`predict`) expects over its horizon,
    /// minus those already running, between the floor and the cap.
    Forecast,
}

/// One `floor` entry: `ready` instances from `from` (inclusive) to `to`
/// (exclusive), `HH:MM` in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FloorWindow {
    pub from: String,
    pub to: String,
    pub ready: u32,
}

/// The resolved pool the controller keeps in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyPool {
    /// ARM name of the pool and of its container group profile.
    pub name: String,
    pub max_ready_capacity: u32,
    pub size_from: SizeFrom,
    /// Floors as minutes of the day: `[from, to)`, wrapping when `from > to`.
    pub floor: Vec<FloorMinutes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FloorMinutes {
    pub from: u32,
    pub to: u32,
    pub ready: u32,
}

/// `HH:MM` → minutes since midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// ARM's rule for pool names (`^[a-zA-Z0-9-]{3,24}$`).
pub fn pool_name_ok(s: &str) -> bool {
    (3..=24).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The default name: `{cluster}-{policy}`, or when that is longer than 24
/// characters its first 15 and a hash of the whole (stable, distinct).
pub fn default_pool_name(cluster_id: &str, policy: &str) -> String {
    let full = format!("{cluster_id}-{policy}");
    if full.len() <= 24 {
        return full;
    }
    let head = full[..15].trim_end_matches('-');
    format!("{head}-{:08x}", fnv1a(full.as_bytes()) as u32)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl StandbyPoolSpec {
    /// The resolved pool; call after [`validate`] found nothing.
    pub fn resolve(&self, cluster_id: &str, policy: &str) -> StandbyPool {
        StandbyPool {
            name: self
                .name
                .clone()
                .unwrap_or_else(|| default_pool_name(cluster_id, policy)),
            max_ready_capacity: self.max_ready_capacity,
            size_from: self.size_from,
            floor: self
                .floor
                .iter()
                .filter_map(|w| {
                    Some(FloorMinutes {
                        from: parse_hhmm(&w.from)?,
                        to: parse_hhmm(&w.to)?,
                        ready: w.ready,
                    })
                })
                .collect(),
        }
    }
}

/// Rules for `burst.standbyPool`; paths are relative to the policy.
pub(super) fn validate(spec: &PolicySpec, cluster_id: Option<&str>, e: &mut impl FnMut(&str, String)) {
    let Some(pool) = &spec.burst.standby_pool else {
        return;
    };
    let at = "burst.standbyPool";
    match &pool.name {
        Some(n) if !pool_name_ok(n) => e(
            &format!("{at}.name"),
            format!("{n:?} must be 3 to 24 letters, digits or '-' (ARM's rule for standby pools)"),
        ),
        None => {
            if let Some(c) = cluster_id {
                let derived = default_pool_name(c, &spec.name);
                if !pool_name_ok(&derived) {
                    e(
                        &format!("{at}.name"),
                        format!("the derived name {derived:?} is not a valid pool name; set one"),
                    );
                }
            }
        }
        _ => {}
    }
    if pool.max_ready_capacity > MAX_READY_CAPACITY {
        e(
            &format!("{at}.maxReadyCapacity"),
            format!(
                "{} exceeds the service's maximum of {MAX_READY_CAPACITY}",
                pool.max_ready_capacity
            ),
        );
    }
    if pool.max_ready_capacity > spec.burst.max_replicas {
        e(
            &format!("{at}.maxReadyCapacity"),
            format!(
                "{} exceeds burst.maxReplicas {} (a pool larger than the burst could ever claim)",
                pool.max_ready_capacity, spec.burst.max_replicas
            ),
        );
    }
    if pool.size_from == SizeFrom::Forecast
        && (spec.predict.mode == PredictMode::Off || !spec.predict.enabled())
    {
        e(
            &format!("{at}.sizeFrom"),
            "forecast needs predict.mode report or act (with trend or seasons); use fixed".into(),
        );
    }
    // A pooled instance is warmed from the container group profile, which
    // has no dnsConfig (ContainerGroupProfileProperties in the ACI spec); a
    // claim adds only per-container configMaps. A claimed replica would
    // not resolve cluster names.
    if spec.burst.dns.is_some() {
        e(
            at,
            "cannot be combined with burst.dns: a container group claimed from a pool keeps the profile's \
             DNS settings, and a container group profile has no dnsConfig; remove one of them"
                .into(),
        );
    }
    // The pool, not the claim, picks a claimed instance's zone: the spread
    // over `burst.zones` could not be kept.
    if !matches!(&spec.burst.zones, super::ZonesSpec::List(z) if z.is_empty()) {
        e(
            at,
            "cannot be combined with burst.zones: a container group claimed from a pool stays in the zone \
             its pool instance was warmed in, so the zone spread could not be kept; remove one of them"
                .into(),
        );
    }
    for (i, w) in pool.floor.iter().enumerate() {
        let p = format!("{at}.floor[{i}]");
        let from = parse_hhmm(&w.from);
        let to = parse_hhmm(&w.to);
        if from.is_none() {
            e(
                &format!("{p}.from"),
                format!("{:?} is not a UTC time HH:MM", w.from),
            );
        }
        if to.is_none() {
            e(&format!("{p}.to"), format!("{:?} is not a UTC time HH:MM", w.to));
        }
        if from.is_some() && from == to {
            e(&p, "from and to are equal: an empty window".into());
        }
        if w.ready > pool.max_ready_capacity {
            e(
                &format!("{p}.ready"),
                format!("{} exceeds maxReadyCapacity {}", w.ready, pool.max_ready_capacity),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "cluster: {id: prod-weu-1}\nazure:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\npolicies:\n- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 50\n  metrics: [{resource: {name: cpu, targetAverageUtilization: 70}}]\n";

    fn with(extra: &str) -> String {
        format!("{DOC}  burst:\n    enabled: true\n    maxReplicas: 20\n{extra}")
    }

    fn errors(yaml: &str) -> Vec<String> {
        let loaded = crate::config::load(yaml).expect("document");
        loaded.errors().map(ToString::to_string).collect()
    }

    #[test]
    fn off_by_default_and_resolved_with_a_derived_name() {
        let loaded = crate::config::load(&with("")).expect("valid");
        let p = loaded.valid_policies().next().expect("policy");
        assert_eq!(p.burst.as_ref().expect("burst").standby_pool, None);

        let loaded = crate::config::load(&with(
            "    standbyPool:\n      maxReadyCapacity: 8\n      floor: [{from: \"22:00\", to: \"06:00\", ready: 2}]\n",
        ))
        .expect("valid");
        let p = loaded.valid_policies().next().expect("policy");
        let pool = p
            .burst
            .as_ref()
            .and_then(|b| b.standby_pool.as_ref())
            .expect("pool");
        assert_eq!(pool.name, "prod-weu-1-web");
        assert_eq!(pool.max_ready_capacity, 8);
        assert_eq!(pool.size_from, SizeFrom::Fixed);
        assert_eq!(
            pool.floor,
            [FloorMinutes {
                from: 22 * 60,
                to: 6 * 60,
                ready: 2
            }]
        );
    }

    #[test]
    fn every_problem_names_its_path() {
        let errs = errors(&with(
            "    standbyPool:\n      name: a_b\n      maxReadyCapacity: 2001\n      sizeFrom: forecast\n      floor: [{from: \"25:00\", to: \"7:00\", ready: 3000}, {from: \"10:00\", to: \"10:00\", ready: 1}]\n",
        ));
        let want = [
            "policies[0].burst.standbyPool.name:",
            "policies[0].burst.standbyPool.maxReadyCapacity: 2001 exceeds the service's maximum",
            "policies[0].burst.standbyPool.maxReadyCapacity: 2001 exceeds burst.maxReplicas 20",
            "policies[0].burst.standbyPool.sizeFrom: forecast needs predict.mode",
            "policies[0].burst.standbyPool.floor[0].from:",
            "policies[0].burst.standbyPool.floor[0].to:",
            "policies[0].burst.standbyPool.floor[0].ready:",
            "policies[0].burst.standbyPool.floor[1]: from and to are equal",
        ];
        assert_eq!(errs.len(), want.len(), "{errs:#?}");
        for (e, w) in errs.iter().zip(want) {
            assert!(e.starts_with(w), "{e} should start with {w}");
        }
    }

    #[test]
    fn a_pool_excludes_cluster_dns_and_zones() {
        let errs = errors(&with("    standbyPool: {maxReadyCapacity: 2}\n    dns: {}\n"));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("policies[0].burst.standbyPool: cannot be combined with burst.dns")),
            "{errs:#?}"
        );
        for zones in ["[1, 2]", "auto"] {
            let errs = errors(&with(&format!(
                "    standbyPool: {{maxReadyCapacity: 2}}\n    zones: {zones}\n"
            )));
            assert!(
                errs.iter()
                    .any(|e| e
                        .starts_with("policies[0].burst.standbyPool: cannot be combined with burst.zones")),
                "{zones}: {errs:#?}"
            );
        }
        let errs = errors(&with("    standbyPool: {maxReadyCapacity: 2}\n"));
        assert!(errs.is_empty(), "a pool alone is fine: {errs:?}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let errs = errors(&with("    standbyPool: {maxReadyCapacity: 2, size: 3}\n"));
        assert!(
            errs.iter()
                .any(|e| e.contains("burst.standbyPool") && e.contains("size")),
            "{errs:?}"
        );
    }

    #[test]
    fn forecast_is_accepted_with_predict_on() {
        let yaml = format!(
            "{}  predict: {{mode: report}}\n",
            with("    standbyPool: {sizeFrom: forecast}\n")
        );
        assert!(errors(&yaml).is_empty(), "{:?}", errors(&yaml));
    }

    #[test]
    fn long_default_names_are_shortened_stably() {
        let n = default_pool_name("prod-weu-cluster-01", "checkout-frontend");
        assert!(pool_name_ok(&n), "{n}");
        assert_eq!(n.len(), 24);
        assert_eq!(n, default_pool_name("prod-weu-cluster-01", "checkout-frontend"));
        assert_ne!(n, default_pool_name("prod-weu-cluster-01", "checkout-frontent"));
        assert_eq!(parse_hhmm("23:59"), Some(1439));
        assert_eq!(parse_hhmm("24:00"), None);
    }
}
