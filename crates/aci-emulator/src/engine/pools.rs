//! Standby container group pools (`Microsoft.StandbyPool/standbyContainerGroupPools`, spec
//! 2026-04-01): PUT (long-running, `Azure-AsyncOperation`), GET, PATCH, DELETE (long-running,
//! `Location`, 202/204), lists, runtime views, and the pool's own operation resources.
//!
//! Error codes for the pool's validation are not in the spec and were not captured from the
//! service: they are assumptions (ARM's generic `InvalidResourceName`, `InvalidRequestContent`,
//! `BadRequest`), kept stable so clients can branch on them.

use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{
    ArmRequest, ArmResponse, Engine, GroupKey, key,
    pool_ops::{PoolOp, after},
    profiles::paged,
};
use crate::{error::ArmError, standby::PoolInstances, validate::normalize_region};

pub(crate) const POOL_TYPE: &str = "Microsoft.StandbyPool/standbyContainerGroupPools";
const VIEW_TYPE: &str = "Microsoft.StandbyPool/standbyContainerGroupPools/runtimeViews";
/// Learn's template reference gives 0..=2000 for `maxReadyCapacity` (standbypool/SOURCE.md).
const MAX_READY_CAPACITY: u64 = 2000;

/// A live pool.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub region: String,
    /// The stored body (`tags`, `properties` without `provisioningState`).
    pub body: Value,
    pub max_ready: u64,
    pub profile: GroupKey,
    pub pinned_revision: Option<u32>,
    /// The profile revision the instances are built from.
    pub revision: u32,
    pub zones: Vec<i64>,
    pub instances: PoolInstances,
    /// Deleting: the operation id and when it is done.
    pub deleting: Option<(String, Timestamp)>,
    /// Groups served from this pool so far.
    pub claims: u64,
}

impl Pool {
    pub(crate) fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{POOL_TYPE}/{}",
            self.sub, self.rg, self.name
        )
    }

    pub(super) fn render(&self) -> Value {
        let mut props = self
            .body
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let state = if self.deleting.is_some() {
            "Deleting"
        } else {
            "Succeeded"
        };
        props.insert("provisioningState".into(), json!(state));
        let mut out = Map::new();
        out.insert("id".into(), json!(self.resource_id()));
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(POOL_TYPE));
        out.insert("location".into(), json!(self.region));
        out.insert(
            "tags".into(),
            self.body.get("tags").cloned().unwrap_or_else(|| json!({})),
        );
        out.insert("properties".into(), Value::Object(props));
        Value::Object(out)
    }

    fn render_view(&self, now: Timestamp) -> Value {
        let summary: Vec<Value> = self
            .instances
            .counts(now)
            .into_iter()
            .map(|c| {
                let states = json!([
                    {"state": "Running", "count": c.running},
                    {"state": "Creating", "count": c.creating},
                    {"state": "Deleting", "count": c.deleting},
                ]);
                match c.zone {
                    Some(z) => json!({"zone": z, "instanceCountsByState": states}),
                    None => json!({"instanceCountsByState": states}),
                }
            })
            .collect();
        let ready = self.instances.ready(now) as u64;
        let (code, message) = if ready >= self.max_ready || self.deleting.is_some() {
            ("HealthState/healthy", "The pool is healthy.".to_owned())
        } else {
            (
                "HealthState/degraded",
                format!(
                    "The pool is refilling: {ready} of {} instances ready.",
                    self.max_ready
                ),
            )
        };
        json!({
            "id": format!("{}/runtimeViews/latest", self.resource_id()),
            "name": "latest",
            "type": VIEW_TYPE,
            "properties": {
                "instanceCountSummary": summary,
                "provisioningState": if self.deleting.is_some() { "Deleting" } else { "Succeeded" },
                "status": {"code": code, "message": message},
            }
        })
    }
}

fn bad(target: &str, message: String) -> ArmError {
    ArmError::bad_request("BadRequest", message).with_target(target.to_owned())
}

fn is_pool_name(name: &str) -> bool {
    (3..=24).contains(&name.len()) && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// What a valid pool body asks for.
struct PoolSpec {
    region: String,
    max_ready: u64,
    profile: GroupKey,
    pinned_revision: Option<u32>,
    revision: u32,
    zones: Vec<i64>,
}

impl Engine {
    pub(super) fn pool_not_found(rg: &str, name: &str) -> ArmError {
        ArmError::resource_not_found(POOL_TYPE, rg, name)
    }

    fn validate_pool(&self, body: &Value) -> Result<PoolSpec, ArmError> {
        let location = body
            .get("location")
            .and_then(Value::as_str)
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| {
                ArmError::bad_request(
                    "LocationRequired",
                    "The location property is required for this definition.",
                )
                .with_target("location")
            })?;
        let region = normalize_region(location);
        self.check_location(&region, POOL_TYPE)?;
        let props = body.get("properties").and_then(Value::as_object).ok_or_else(|| {
            ArmError::invalid_content("properties: required property is missing").with_target("properties")
        })?;
        let elasticity = props
            .get("elasticityProfile")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                ArmError::invalid_content("properties.elasticityProfile: required property is missing")
            })?;
        let max_ready = match elasticity.get("maxReadyCapacity") {
            Some(v) => v
                .as_u64()
                .filter(|n| *n <= MAX_READY_CAPACITY)
                .ok_or_else(|| {
                    bad(
                        "properties.elasticityProfile.maxReadyCapacity",
                        format!("The value '{v}' of 'maxReadyCapacity' is invalid. It must be an integer between 0 and {MAX_READY_CAPACITY}."),
                    )
                })?,
            None => {
                return Err(ArmError::invalid_content(
                    "properties.elasticityProfile.maxReadyCapacity: required property is missing",
                ));
            }
        };
        if let Some(p) = elasticity.get("refillPolicy").filter(|v| !v.is_null())
            && p.as_str() != Some("always")
        {
            return Err(bad(
                "properties.elasticityProfile.refillPolicy",
                format!("The value {p} of 'refillPolicy' is invalid. The only allowed value is 'always'."),
            ));
        }
        let reference = props
            .get("containerGroupProperties")
            .and_then(|c| c.get("containerGroupProfile"))
            .filter(|r| r.is_object())
            .ok_or_else(|| {
                ArmError::invalid_content(
                    "properties.containerGroupProperties.containerGroupProfile: required property is missing",
                )
            })?;
        let path = "properties.containerGroupProperties.containerGroupProfile";
        let (profile, revision) = self.resolve_profile(reference, path)?;
        let pinned_revision = reference
            .get("revision")
            .filter(|v| !v.is_null())
            .map(|_| revision);
        let profile_region = self
            .profiles
            .get(&profile)
            .map(|p| p.region.clone())
            .unwrap_or_default();
        if profile_region != region {
            return Err(bad(
                &format!("{path}.id"),
                format!(
                    "The container group profile is in location '{profile_region}' but the standby pool is in '{region}'. They must be in the same location."
                ),
            ));
        }
        let mut zones = Vec::new();
        for z in props.get("zones").and_then(Value::as_array).into_iter().flatten() {
            let n = z.as_str().and_then(|s| s.parse::<i64>().ok()).ok_or_else(|| {
                bad(
                    "properties.zones",
                    format!("The zone {z} is invalid. Zones are strings such as \"1\"."),
                )
            })?;
            if !zones.contains(&n) {
                zones.push(n);
            }
        }
        Ok(PoolSpec {
            region,
            max_ready,
            profile,
            pinned_revision,
            revision,
            zones,
        })
    }

    /// Creates or updates a pool from a full body; `None` when the pool is new.
    fn apply_pool(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        body: &Value,
        now: Timestamp,
    ) -> Result<bool, ArmError> {
        if !is_pool_name(name) {
            return Err(ArmError::bad_request(
                "InvalidResourceName",
                format!("The standby pool name '{name}' is invalid. It must match '^[a-zA-Z0-9-]{{3,24}}$'."),
            ));
        }
        let spec = self.validate_pool(body)?;
        let mut stored = body.clone();
        if let Some(o) = stored.as_object_mut() {
            for k in ["id", "name", "type", "systemData", "location"] {
                o.remove(k);
            }
            if let Some(p) = o.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove("provisioningState");
            }
        }
        let st = self.settings.standby;
        let k = key(sub, rg, name);
        let existed = match self.pools.get_mut(&k) {
            Some(p) if p.deleting.is_some() => {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "Conflict",
                    format!("The standby pool '{name}' is being deleted."),
                ));
            }
            Some(p) => {
                if p.region != spec.region {
                    return Err(ArmError::new(
                        StatusCode::CONFLICT,
                        "InvalidResourceLocation",
                        format!(
                            "The resource '{name}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{}'.",
                            p.region, spec.region
                        ),
                    ));
                }
                if p.profile != spec.profile || p.revision != spec.revision || p.zones != spec.zones {
                    p.instances
                        .replace_all(spec.zones.clone(), now, st.refill_delay, st.drain_delay);
                }
                p.body = stored;
                p.max_ready = spec.max_ready;
                p.profile = spec.profile;
                p.pinned_revision = spec.pinned_revision;
                p.revision = spec.revision;
                p.zones = spec.zones;
                true
            }
            None => {
                self.pools.insert(
                    k.clone(),
                    Pool {
                        sub: sub.to_owned(),
                        rg: rg.to_owned(),
                        name: name.to_owned(),
                        region: spec.region,
                        body: stored,
                        max_ready: spec.max_ready,
                        profile: spec.profile,
                        pinned_revision: spec.pinned_revision,
                        revision: spec.revision,
                        instances: PoolInstances::new(spec.zones.clone()),
                        zones: spec.zones,
                        deleting: None,
                        claims: 0,
                    },
                );
                false
            }
        };
        if let Some(p) = self.pools.get_mut(&k) {
            let target = usize::try_from(p.max_ready).unwrap_or(usize::MAX);
            p.instances.resize(target, now, st.refill_delay, st.drain_delay);
        }
        Ok(existed)
    }

    pub(super) fn put_pool(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let body: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        let existed = self.apply_pool(sub, rg, name, &body, now)?;
        let k = key(sub, rg, name);
        let p = self.pools.get(&k).ok_or_else(|| Self::pool_not_found(rg, name))?;
        let (rendered, region, id) = (p.render(), p.region.clone(), p.resource_id());
        let op = self.guid();
        let done_at = after(now, self.settings.standby.operation_latency);
        self.pool_ops.insert(
            op.clone(),
            PoolOp {
                resource_id: id,
                location: region.clone(),
                pool: k,
                started: now,
                done_at,
                delete: false,
            },
        );
        tracing::info!(pool = name, existed, "standby pool put");
        let (status_url, _) = self.pool_op_urls(req, sub, &region, &op);
        let status = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok(ArmResponse::json(status, rendered)
            .header("azure-asyncoperation", status_url)
            .header("retry-after", self.retry_after()))
    }

    pub(super) fn get_pool(&self, sub: &str, rg: &str, name: &str) -> Result<ArmResponse, ArmError> {
        let p = self
            .pools
            .get(&key(sub, rg, name))
            .ok_or_else(|| Self::pool_not_found(rg, name))?;
        Ok(ArmResponse::json(StatusCode::OK, p.render()))
    }

    pub(super) fn patch_pool(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let patch: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        if !patch.is_object() {
            return Err(ArmError::invalid_content("expected an object"));
        }
        let k = key(sub, rg, name);
        let p = self.pools.get(&k).ok_or_else(|| Self::pool_not_found(rg, name))?;
        let mut full = p.body.clone();
        if let Some(o) = full.as_object_mut() {
            o.insert("location".into(), json!(p.region));
        }
        crate::http::merge_patch(&mut full, &patch);
        self.apply_pool(sub, rg, name, &full, now)?;
        self.get_pool(sub, rg, name)
    }

    pub(super) fn delete_pool(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let k = key(sub, rg, name);
        let st = self.settings.standby;
        let Some(p) = self.pools.get(&k) else {
            return Ok(ArmResponse::empty(StatusCode::NO_CONTENT));
        };
        let (region, id) = (p.region.clone(), p.resource_id());
        let op = match p.deleting.as_ref().map(|(op, _)| op.clone()) {
            Some(op) => op,
            None => {
                let op = self.guid();
                let done_at = after(now, st.operation_latency);
                if let Some(p) = self.pools.get_mut(&k) {
                    // Deleting the pool deletes its instances.
                    p.instances.resize(0, now, st.refill_delay, st.drain_delay);
                    p.deleting = Some((op.clone(), done_at));
                }
                self.pool_ops.insert(
                    op.clone(),
                    PoolOp {
                        resource_id: id,
                        location: region.clone(),
                        pool: k,
                        started: now,
                        done_at,
                        delete: true,
                    },
                );
                tracing::info!(pool = name, "standby pool delete accepted");
                op
            }
        };
        let (_, result_url) = self.pool_op_urls(req, sub, &region, &op);
        Ok(ArmResponse::empty(StatusCode::ACCEPTED)
            .header("location", result_url)
            .header("retry-after", self.retry_after()))
    }

    pub(super) fn list_pools(
        &self,
        req: &ArmRequest,
        sub: &str,
        rg: Option<&String>,
    ) -> Result<ArmResponse, ArmError> {
        let (sub_l, rg_l) = (sub.to_ascii_lowercase(), rg.map(|r| r.to_ascii_lowercase()));
        let items = self
            .pools
            .iter()
            .filter(|(k, _)| k.0 == sub_l && rg_l.as_ref().is_none_or(|r| &k.1 == r))
            .map(|(_, p)| p.render())
            .collect();
        Ok(ArmResponse::json(
            StatusCode::OK,
            paged(req, items, self.settings.page_size)?,
        ))
    }

    pub(super) fn runtime_views(
        &self,
        sub: &str,
        rg: &str,
        name: &str,
        view: Option<&String>,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let p = self
            .pools
            .get(&key(sub, rg, name))
            .ok_or_else(|| Self::pool_not_found(rg, name))?;
        match view {
            None => Ok(ArmResponse::json(
                StatusCode::OK,
                json!({"value": [p.render_view(now)]}),
            )),
            Some(v) if v.eq_ignore_ascii_case("latest") => {
                Ok(ArmResponse::json(StatusCode::OK, p.render_view(now)))
            }
            Some(v) => Err(ArmError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!(
                    "The runtime view '{v}' of standby pool '{name}' was not found. The only runtime view is 'latest'."
                ),
            )),
        }
    }

    /// A profile got a new revision: pools following its latest revision drain and refill.
    pub(super) fn profile_revised(&mut self, profile: &GroupKey, now: Timestamp) {
        let Some(latest) = self.profiles.get(profile).map(|p| p.latest()) else {
            return;
        };
        let st = self.settings.standby;
        for p in self.pools.values_mut() {
            if &p.profile == profile && p.pinned_revision.is_none() && p.revision != latest {
                p.revision = latest;
                p.instances
                    .replace_all(p.zones.clone(), now, st.refill_delay, st.drain_delay);
                tracing::info!(pool = %p.name, revision = latest, "standby pool drains for a new profile revision");
            }
        }
    }

    /// Removes pools whose delete operation has finished.
    pub(super) fn sweep_pools(&mut self, now: Timestamp) {
        self.pools
            .retain(|_, p| p.deleting.as_ref().is_none_or(|(_, done)| now < *done));
    }
}

#[cfg(test)]
mod tests {
    use super::is_pool_name;

    #[test]
    fn pool_names_follow_the_spec_pattern() {
        assert!(is_pool_name("pool-1"));
        assert!(is_pool_name("ABC"));
        assert!(!is_pool_name("ab"));
        assert!(!is_pool_name("pool_1"));
        assert!(!is_pool_name(&"p".repeat(25)));
    }
}
