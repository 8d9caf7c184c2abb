//! Creating a container group from a profile and claiming it from a standby pool.
//!
//! A PUT may name `properties.containerGroupProfile {id, revision}`: the profile revision's
//! properties are the base and the request's fields win (containers are merged by name, so a
//! claim can add a per-claim `configMap`, as in the spec example
//! `ContainerGroupCreateOrUpdateWithStandbyPool`). With `properties.standbyPoolProfile.id` too, a
//! new group is served from the pool when one of its instances is `Running` (Learn: only fully
//! provisioned instances are handed out); otherwise it is an ordinary create, or an error when
//! `failContainerGroupCreateOnReuseFailure` is set.

use std::time::Duration;

use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{Engine, GroupKey, key, pools::POOL_TYPE};
use crate::{
    error::ArmError,
    lifecycle::{Crash, Outcome, Timeline},
    validate::GroupSpec,
};

/// What a create that names a standby pool will do.
#[derive(Debug, Clone)]
pub(super) struct ClaimPlan {
    pub pool: GroupKey,
    /// A running instance is there to take.
    pub hit: bool,
}

/// RFC 7386 merge of `overlay` onto `base`.
fn merge(base: &mut Value, overlay: &Value) {
    crate::http::merge_patch(base, overlay);
}

/// The profile's containers with the request's containers merged in by name.
fn merge_containers(base: &[Value], overlay: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = base.to_vec();
    for c in overlay {
        let name = c.get("name");
        match out.iter_mut().find(|b| b.get("name") == name) {
            Some(b) => merge(b, c),
            None => out.push(c.clone()),
        }
    }
    out
}

impl Engine {
    /// Expands a body that references a container group profile; returns the profile and the
    /// revision used (`None` when the body names no profile).
    pub(super) fn expand_profile(&self, body: Value) -> Result<(Value, Option<(GroupKey, u32)>), ArmError> {
        let Some(reference) = body
            .pointer("/properties/containerGroupProfile")
            .filter(|r| !r.is_null())
            .cloned()
        else {
            return Ok((body, None));
        };
        let (k, revision) = self.resolve_profile(&reference, "properties.containerGroupProfile")?;
        let Some(profile) = self.profiles.get(&k) else {
            return Ok((body, None));
        };
        let mut props: Map<String, Value> = profile
            .revision(revision)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let request_props = body
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (field, v) in request_props {
            if field == "containers" {
                let base = props
                    .get("containers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let overlay = v.as_array().cloned().unwrap_or_default();
                props.insert(field, Value::Array(merge_containers(&base, &overlay)));
            } else {
                props.insert(field, v);
            }
        }
        let mut out = body;
        if let Some(o) = out.as_object_mut() {
            o.insert("properties".into(), Value::Object(props));
            if !o.contains_key("location") {
                o.insert("location".into(), Value::String(profile.region.clone()));
            }
            if !o.contains_key("zones")
                && let Some(z) = &profile.zones
            {
                o.insert("zones".into(), z.clone());
            }
        }
        Ok((out, Some((k, revision))))
    }

    /// Decides how a create that names a standby pool is served (`None`: it names none, or the
    /// group already exists and this is an update).
    pub(super) fn plan_claim(
        &self,
        body: &Value,
        profile: Option<&(GroupKey, u32)>,
        spec: &GroupSpec,
        exists: bool,
        now: Timestamp,
    ) -> Result<Option<ClaimPlan>, ArmError> {
        let Some(standby) = body
            .pointer("/properties/standbyPoolProfile")
            .filter(|s| !s.is_null())
        else {
            return Ok(None);
        };
        if exists {
            return Ok(None);
        }
        let target = "properties.standbyPoolProfile.id";
        let id = standby
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ArmError::invalid_content(format!("{target}: required property is missing")))?;
        let pool = crate::route::parse_resource_id(id, "Microsoft.StandbyPool", "standbyContainerGroupPools")
            .map(|(s, r, n)| key(&s, &r, &n))
            .and_then(|k| {
                self.pools
                    .get(&k)
                    .filter(|p| p.deleting.is_none())
                    .map(|p| (k, p))
            });
        // Assumption (no capture): an unknown pool is a 400 with a clear code.
        let Some((pool_key, pool)) = pool else {
            return Err(ArmError::bad_request(
                "StandbyPoolNotFound",
                format!("The standby pool '{id}' was not found. Its type must be '{POOL_TYPE}'."),
            )
            .with_target(target));
        };
        let profile_id = self
            .profiles
            .get(&pool.profile)
            .map(|p| p.resource_id())
            .unwrap_or_default();
        match profile {
            Some((k, rev)) if *k == pool.profile && *rev == pool.revision => {}
            Some((k, rev)) => {
                let asked = self.profiles.get(k).map(|p| p.resource_id()).unwrap_or_default();
                return Err(ArmError::bad_request(
                    "StandbyPoolProfileMismatch",
                    format!(
                        "The container group profile '{asked}' revision {rev} does not match the standby pool '{}', which holds container groups of profile '{profile_id}' revision {}.",
                        pool.name, pool.revision
                    ),
                )
                .with_target("properties.containerGroupProfile"));
            }
            None => {
                return Err(ArmError::bad_request(
                    "StandbyPoolProfileMismatch",
                    format!(
                        "A container group created from standby pool '{}' must name its container group profile '{profile_id}' (revision {}) in properties.containerGroupProfile.",
                        pool.name, pool.revision
                    ),
                )
                .with_target("properties.containerGroupProfile"));
            }
        }
        if pool.region != spec.region {
            return Err(ArmError::bad_request(
                "StandbyPoolProfileMismatch",
                format!(
                    "The container group is in location '{}' but the standby pool '{}' is in '{}'.",
                    spec.region, pool.name, pool.region
                ),
            )
            .with_target("location"));
        }
        let hit = pool.instances.ready(now) > 0;
        let fail_on_miss = standby
            .get("failContainerGroupCreateOnReuseFailure")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !hit && fail_on_miss {
            // Assumption: neither the spec nor Learn documents this error. The code is named
            // after the flag (`failContainerGroupCreateOnReuseFailure`); 409 follows ACI's
            // capacity answer (409 ServiceUnavailable, CONTRACT §6.2), without reusing its code so
            // clients can tell "pool empty" from "region out of capacity".
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "ContainerGroupReuseFailed",
                format!(
                    "No ready container group could be obtained from standby pool '{}' and failContainerGroupCreateOnReuseFailure is set. Retry later, or create the container group without failContainerGroupCreateOnReuseFailure.",
                    pool.name
                ),
            )
            .with_target(target));
        }
        Ok(Some(ClaimPlan { pool: pool_key, hit }))
    }

    /// Takes an instance from the pool; the group is `Succeeded` after the claim latency.
    /// Also returns the zone the instance was warmed in (`None`: the pool has no zones).
    pub(super) fn claim_timeline(
        &mut self,
        plan: &ClaimPlan,
        spec: &GroupSpec,
        now: Timestamp,
    ) -> (Timeline, Option<i64>) {
        let st = self.settings.standby;
        let mut zone = None;
        if let Some(p) = self.pools.get_mut(&plan.pool) {
            zone = p.instances.claim(now, st.refill_delay).flatten();
            p.claims += 1;
        }
        let crashes = spec
            .containers
            .iter()
            .map(|(_, img)| {
                self.faults.crash_fault(img).map(|c| Crash {
                    every: Duration::from_millis(c.every_ms),
                    exit_code: c.exit_code,
                })
            })
            .collect();
        let timeline = Timeline::new(
            now,
            Some((Duration::ZERO, st.claim_latency)),
            Outcome::Succeed,
            crashes,
            spec.restart_policy,
        );
        (timeline, zone)
    }
}

/// A claimed group is the pool's running instance: it stays in the zone it
/// was warmed in and keeps the profile's DNS settings (a profile has no
/// `dnsConfig`), whatever the claim body asked for; a claim adds only
/// per-container `configMap`s (standby pool SOURCE.md, item 6).
pub(super) fn as_pooled_instance(body: &mut Value, zone: Option<i64>) {
    let Some(o) = body.as_object_mut() else {
        return;
    };
    match zone {
        Some(z) => {
            o.insert("zones".into(), Value::Array(vec![Value::String(z.to_string())]));
        }
        None => {
            o.remove("zones");
        }
    }
    if let Some(props) = o.get_mut("properties").and_then(Value::as_object_mut) {
        props.remove("dnsConfig");
    }
}
