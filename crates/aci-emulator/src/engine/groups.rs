//! Container group operations: create-or-update, get, patch, delete, list, start/stop/restart.

use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    ArmRequest, ArmResponse, Deleting, Engine, Group, GroupKey, GroupRecord, key, operations::OpKind,
};
use crate::{
    config::{DeleteMode, OPERATION_API_VERSION},
    error::ArmError,
    faults::{CapacityMode, ImageFaultMode},
    lifecycle::{Crash, Outcome, Timeline},
    validate::{GroupSpec, validate_group},
    wire::{RenderInput, render_group, render_list_item},
};

const PT5M: &str = "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m";
const PT1H: &str = "x-ms-ratelimit-remaining-subscription-resource-requests-pt1h";

fn scaled(d: std::time::Duration, factor: f64) -> std::time::Duration {
    d.mul_f64(factor)
}

impl Engine {
    pub(super) fn render(&self, g: &Group, now: Timestamp, list: bool) -> Value {
        let id = g.resource_id();
        let input = RenderInput {
            id: &id,
            name: &g.name,
            location: &g.spec.region,
            body: &g.body,
            provisioning_state: g.provisioning_state(now),
            timeline: &g.timeline,
            ip: g.ip.as_deref(),
            fqdn: g.fqdn.as_deref(),
            stopped: g.stopped,
            from_standby_pool: g.from_pool,
            now,
        };
        if list {
            render_list_item(&input)
        } else {
            render_group(&input)
        }
    }

    pub(super) fn not_found(rg: &str, name: &str) -> ArmError {
        ArmError::group_not_found(rg, name)
    }

    pub(super) fn op_urls(&self, req: &ArmRequest, sub: &str, region: &str, op: &str) -> (String, String) {
        let prefix = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{region}",
            req.base_url
        );
        (
            format!("{prefix}/operations/{op}?api-version={OPERATION_API_VERSION}"),
            format!("{prefix}/operationResults/{op}?api-version={OPERATION_API_VERSION}"),
        )
    }

    pub(super) fn with_lro_headers(
        &self,
        mut resp: ArmResponse,
        req: &ArmRequest,
        sub: &str,
        region: &str,
        op: &str,
    ) -> ArmResponse {
        let (async_url, location_url) = self.op_urls(req, sub, region, op);
        resp.headers.push(("azure-asyncoperation", async_url));
        if self.settings.lro_location_header {
            resp.headers.push(("location", location_url));
        }
        if let Some(secs) = self.settings.lro_retry_after {
            resp.headers.push(("retry-after", secs.to_string()));
        }
        resp
    }

    /// Draws a provisioning attempt under the current faults.
    pub(super) fn new_timeline(&mut self, spec: &GroupSpec, group_name: &str, now: Timestamp) -> Timeline {
        let faults = &self.faults;
        let pull_fail = spec
            .containers
            .iter()
            .find(|(_, img)| faults.image_fault(img) == Some(ImageFaultMode::PullFails))
            .map(|(c, img)| Outcome::PullFails {
                container: c.clone(),
                image: img.clone(),
            });
        let outcome = if let Some(o) = pull_fail {
            o
        } else if faults.capacity_for(&spec.region) == Some(CapacityMode::Async) {
            Outcome::NoCapacity {
                message: capacity_message(spec),
            }
        } else {
            Outcome::Succeed
        };
        let crashes = spec
            .containers
            .iter()
            .map(|(_, img)| {
                faults.crash_fault(img).map(|c| Crash {
                    every: std::time::Duration::from_millis(c.every_ms),
                    exit_code: c.exit_code,
                })
            })
            .collect();
        let never = faults.lro_never_finish;
        let factor = faults.slow_factor();
        let lat = self.settings.latency;
        let phases = if never {
            None
        } else {
            Some((
                scaled(lat.pending.sample(&mut self.rng), factor),
                scaled(lat.creating.sample(&mut self.rng), factor),
            ))
        };
        tracing::debug!(group = group_name, ?phases, "new provisioning timeline");
        Timeline::new(now, phases, outcome, crashes, spec.restart_policy)
    }

    fn check_quota(&self, sub: &str, spec: &GroupSpec, replacing: Option<&GroupKey>) -> Result<(), ArmError> {
        let quota = self.limits.quota_for(&spec.region);
        let sub_l = sub.to_ascii_lowercase();
        let (mut count, mut cores, mut spot) = (0_u64, 0.0_f64, 0.0_f64);
        for (k, g) in &self.groups {
            if k.0 != sub_l || g.spec.region != spec.region || Some(k) == replacing {
                continue;
            }
            count += 1;
            if g.spec.spot {
                spot += g.spec.cpu
            } else {
                cores += g.spec.cpu
            }
        }
        let exceeded = |name: &str, limit: u32, usage: f64, requested: f64| {
            ArmError::bad_request(
                "ContainerGroupQuotaReached",
                format!(
                    "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota '{name}' exceeded in region '{}'. Limit: '{limit}', Usage: '{}' Requested: '{}'.",
                    spec.region,
                    usage.ceil(),
                    requested.ceil()
                ),
            )
        };
        if count + 1 > u64::from(quota.container_groups) {
            return Err(exceeded(
                "ContainerGroups",
                quota.container_groups,
                count as f64,
                1.0,
            ));
        }
        if spec.spot {
            if spot + spec.cpu > f64::from(quota.spot_cores) + 1e-9 {
                return Err(exceeded("StandardSpotCores", quota.spot_cores, spot, spec.cpu));
            }
        } else if cores + spec.cpu > f64::from(quota.standard_cores) + 1e-9 {
            return Err(exceeded("StandardCores", quota.standard_cores, cores, spec.cpu));
        }
        Ok(())
    }

    fn assign_ip(&mut self, spec: &GroupSpec) -> (Option<String>, Option<String>) {
        let Some(ip) = &spec.ip else { return (None, None) };
        if ip.private {
            let subnet = spec.subnet.clone().unwrap_or_default();
            let idx = match self
                .subnets
                .iter()
                .position(|(s, _)| s.eq_ignore_ascii_case(&subnet))
            {
                Some(i) => i,
                None => {
                    self.subnets.push((subnet, 0));
                    self.subnets.len() - 1
                }
            };
            let n = self.subnets.get(idx).map_or(0, |(_, n)| *n);
            if let Some(entry) = self.subnets.get_mut(idx) {
                entry.1 += 1;
            }
            let addr = format!("10.{}.{}.{}", idx % 250, (n / 250) % 250, n % 250 + 4);
            return (Some(addr), None);
        }
        let n = self.public_ips;
        self.public_ips += 1;
        let addr = format!(
            "20.{}.{}.{}",
            (n / 62_500) % 200 + 40,
            (n / 250) % 250,
            n % 250 + 4
        );
        let fqdn = ip
            .dns_label
            .as_ref()
            .map(|l| format!("{l}.{}.azurecontainer.io", spec.region));
        (Some(addr), fqdn)
    }

    /// Removes read-only input fields and fills identity ids.
    fn stored_body(&mut self, body: &Value) -> Value {
        let mut b = body.clone();
        if let Some(o) = b.as_object_mut() {
            for k in ["id", "name", "type", "systemData"] {
                o.remove(k);
            }
        }
        if let Some(p) = b.get_mut("properties").and_then(Value::as_object_mut) {
            p.remove("provisioningState");
            p.remove("instanceView");
            p.remove("isCreatedFromStandbyPool");
            if let Some(ip) = p.get_mut("ipAddress").and_then(Value::as_object_mut) {
                ip.remove("ip");
                ip.remove("fqdn");
            }
        }
        let system = b
            .pointer("/identity/type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("SystemAssigned"));
        if system {
            let (p, t) = (self.guid(), self.guid());
            if let Some(id) = b.get_mut("identity").and_then(Value::as_object_mut) {
                id.insert("principalId".into(), json!(p));
                id.insert("tenantId".into(), json!(t));
            }
        }
        let user_ids: Vec<String> = b
            .pointer("/identity/userAssignedIdentities")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for uid in user_ids {
            let v = json!({"principalId": self.guid(), "clientId": self.guid()});
            if let Some(m) = b
                .pointer_mut("/identity/userAssignedIdentities")
                .and_then(Value::as_object_mut)
            {
                m.insert(uid, v);
            }
        }
        b
    }

    pub(super) fn put_group(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
        request_id: &str,
    ) -> Result<ArmResponse, ArmError> {
        let body: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        let (body, profile) = self.expand_profile(body)?;
        let spec = validate_group(name, &body, &self.limits)?;
        self.check_location(&spec.region, "Microsoft.ContainerInstance/containerGroups")?;
        let k = key(sub, rg, name);
        if let Some(g) = self.groups.get(&k) {
            if g.deleting.is_some() {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "Conflict",
                    format!("The container group '{name}' is being deleted and cannot be updated."),
                ));
            }
            if g.spec.region != spec.region {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "InvalidResourceLocation",
                    format!(
                        "The resource '{name}' already exists in location '{}' in resource group '{rg}'. A resource with the same name cannot be created in location '{}'. Please select a new resource name.",
                        g.spec.region, spec.region
                    ),
                ));
            }
        }
        let images = spec
            .containers
            .iter()
            .map(|(_, i)| i)
            .chain(spec.init_images.iter());
        for image in images {
            if self.faults.image_fault(image) == Some(ImageFaultMode::Inaccessible) {
                return Err(ArmError::bad_request(
                    "InaccessibleImage",
                    format!(
                        "The image '{image}' in container group '{name}' is not accessible. Please check the image and registry credential."
                    ),
                ));
            }
        }
        let exists = self.groups.contains_key(&k);
        let claim = self.plan_claim(&body, profile.as_ref(), &spec, exists, now)?;
        let hit = claim.as_ref().is_some_and(|c| c.hit);
        // A pooled instance is already provisioned: regional capacity faults do not apply to it.
        if !hit && self.faults.capacity_for(&spec.region) == Some(CapacityMode::Sync) {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "ServiceUnavailable",
                capacity_message(&spec),
            ));
        }
        self.check_quota(sub, &spec, exists.then_some(&k))?;
        let creates_limit = self.limits.aci_creates;
        let scale = self.limits.aci_window_scale;
        let counters = self.counters(sub, now);
        let window = if exists {
            counters.creates.remaining_scaled(creates_limit, scale, now)
        } else {
            counters.creates.take_scaled(creates_limit, scale, now).map_err(|secs| {
                ArmError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    format!(
                        "The subscription '{sub}' has exceeded the container group create limit of {} per 5 minutes and {} per hour. Please retry after '{secs}' seconds.",
                        creates_limit.per_5m, creates_limit.per_1h
                    ),
                )
                .with_retry_after(secs)
            })?
        };
        let mut body = body;
        let timeline = match &claim {
            Some(plan) if plan.hit => {
                let (timeline, zone) = self.claim_timeline(plan, &spec, now);
                super::claim::as_pooled_instance(&mut body, zone);
                timeline
            }
            _ => self.new_timeline(&spec, name, now),
        };
        let from_pool = claim.as_ref().map(|c| c.hit);
        let stored = self.stored_body(&body);
        let op_id = request_id.to_owned();
        let tags = stored
            .get("tags")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let status = if let Some(old_op) = self.groups.get(&k).map(|g| g.op_id.clone()) {
            self.freeze_op(&old_op, now);
            if let Some(g) = self.groups.get_mut(&k) {
                g.body = stored;
                g.spec = spec.clone();
                g.timeline = timeline;
                g.op_id = op_id.clone();
                g.stopped = false;
                g.from_pool = from_pool.or(g.from_pool);
                if let Some(rec) = self.history.get_mut(g.record) {
                    rec.tags = tags;
                    rec.set_network(&g.body);
                }
            }
            StatusCode::OK
        } else {
            let (ip, fqdn) = self.assign_ip(&spec);
            self.history.push(GroupRecord {
                name: name.to_owned(),
                subscription: sub.to_owned(),
                resource_group: rg.to_owned(),
                location: spec.region.clone(),
                tags,
                provisioning_state: "Pending".to_owned(),
                created_at: now,
                deleted_at: None,
                from_standby_pool: from_pool == Some(true),
                zones: Vec::new(),
                subnet_ids: Vec::new(),
                dns_config: None,
            });
            if let Some(rec) = self.history.last_mut() {
                rec.set_network(&stored);
            }
            let group = Group {
                sub: sub.to_owned(),
                rg: rg.to_owned(),
                name: name.to_owned(),
                body: stored,
                spec: spec.clone(),
                timeline,
                ip,
                fqdn,
                op_id: op_id.clone(),
                deleting: None,
                stopped: false,
                record: self.history.len() - 1,
                from_pool,
            };
            self.groups.insert(k.clone(), group);
            StatusCode::CREATED
        };
        let g = self
            .groups
            .get(&k)
            .ok_or_else(|| ArmError::internal(request_id))?;
        self.register_op(&op_id, OpKind::Create, k.clone(), g.resource_id(), now, None);
        let g = self
            .groups
            .get(&k)
            .ok_or_else(|| ArmError::internal(request_id))?;
        tracing::info!(group = name, status = status.as_u16(), region = %spec.region, ?from_pool, "container group put");
        let resp = ArmResponse::json(status, self.render(g, now, false))
            .header(PT5M, window.pt5m.to_string())
            .header(PT1H, window.pt1h.to_string());
        Ok(self.with_lro_headers(resp, req, sub, &spec.region, &op_id))
    }

    pub(super) fn get_group(
        &mut self,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let g = self
            .groups
            .get(&key(sub, rg, name))
            .ok_or_else(|| Self::not_found(rg, name))?;
        Ok(ArmResponse::json(StatusCode::OK, self.render(g, now, false)))
    }

    pub(super) fn patch_group(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let body: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        let patch = body
            .as_object()
            .ok_or_else(|| ArmError::invalid_content("expected an object"))?;
        let tags = match patch.get("tags") {
            None => None,
            Some(Value::Object(t)) if t.values().all(Value::is_string) => Some(t.clone()),
            Some(_) => {
                return Err(
                    ArmError::invalid_content("tags: expected an object of strings").with_target("tags")
                );
            }
        };
        let k = key(sub, rg, name);
        let g = self.groups.get_mut(&k).ok_or_else(|| Self::not_found(rg, name))?;
        if let Some(tags) = tags {
            if let Some(o) = g.body.as_object_mut() {
                o.insert("tags".into(), Value::Object(tags.clone()));
            }
            if let Some(rec) = self.history.get_mut(g.record) {
                rec.tags = tags;
            }
        }
        let g = self.groups.get(&k).ok_or_else(|| Self::not_found(rg, name))?;
        Ok(ArmResponse::json(StatusCode::OK, self.render(g, now, false)))
    }

    pub(super) fn delete_group(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let k = key(sub, rg, name);
        let Some(g) = self.groups.get(&k) else {
            return Ok(ArmResponse::empty(StatusCode::NO_CONTENT));
        };
        let region = g.spec.region.clone();
        if let Some(d) = &g.deleting {
            let op = d.op_id.clone();
            return Ok(self.with_lro_headers(
                ArmResponse::empty(StatusCode::ACCEPTED),
                req,
                sub,
                &region,
                &op,
            ));
        }
        let create_op = g.op_id.clone();
        let resource_id = g.resource_id();
        let (limit, scale) = (self.limits.aci_deletes, self.limits.aci_window_scale);
        self.counters(sub, now).aci_deletes.take_scaled(limit, scale, now).map_err(|secs| {
            ArmError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                format!(
                    "The subscription '{sub}' has exceeded the container group delete limit of {} per 5 minutes and {} per hour. Please retry after '{secs}' seconds.",
                    limit.per_5m, limit.per_1h
                ),
            )
            .with_retry_after(secs)
        })?;
        self.freeze_op(&create_op, now);
        match self.settings.delete_mode {
            DeleteMode::Sync => {
                let g = self.groups.remove(&k).ok_or_else(|| Self::not_found(rg, name))?;
                let body = self.render(&g, now, false);
                self.finish_record(&g, now);
                Ok(ArmResponse::json(StatusCode::OK, body))
            }
            DeleteMode::Async => {
                let done_at = if self.faults.lro_never_finish {
                    None
                } else {
                    let d = scaled(
                        self.settings.latency.deleting.sample(&mut self.rng),
                        self.faults.slow_factor(),
                    );
                    Some(
                        now.checked_add(jiff::SignedDuration::try_from(d).unwrap_or_default())
                            .unwrap_or(Timestamp::MAX),
                    )
                };
                let op = self.guid();
                if let Some(g) = self.groups.get_mut(&k) {
                    g.deleting = Some(Deleting {
                        op_id: op.clone(),
                        done_at,
                    });
                }
                self.register_op(&op, OpKind::Delete, k, resource_id, now, Some(done_at));
                tracing::info!(group = name, "container group delete accepted");
                Ok(self.with_lro_headers(ArmResponse::empty(StatusCode::ACCEPTED), req, sub, &region, &op))
            }
        }
    }
}

/// ACI's capacity message (CONTRACT §6.2).
fn capacity_message(spec: &GroupSpec) -> String {
    format!(
        "The requested resource is not available in the location '{}' at this moment. Please retry with a different resource request or in another location. Resource requested: '{}' CPU '{}' GB memory 'Linux' OS{}",
        spec.region,
        spec.cpu,
        spec.memory_gb,
        if spec.subnet.is_some() {
            " virtual network"
        } else {
            ""
        }
    )
}
