//! Read-only extras: location usages (quota discovery), capabilities and container logs.

use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{ArmRequest, ArmResponse, Engine, key};
use crate::{error::ArmError, lifecycle::Phase, regions::display_name, validate::normalize_region};

impl Engine {
    /// Current usage of one region: (container groups, standard cores, spot cores).
    pub fn region_usage(&self, sub: &str, region: &str) -> (u64, f64, f64) {
        let (sub, region) = (sub.to_ascii_lowercase(), normalize_region(region));
        let mut out = (0_u64, 0.0_f64, 0.0_f64);
        for (k, g) in &self.groups {
            if k.0 == sub && g.spec.region == region {
                out.0 += 1;
                if g.spec.spot {
                    out.2 += g.spec.cpu
                } else {
                    out.1 += g.spec.cpu
                }
            }
        }
        out
    }

    pub(super) fn usages(&self, sub: &str, location: &str) -> ArmResponse {
        let region = normalize_region(location);
        let quota = self.limits.quota_for(&region);
        let (groups, cores, spot) = self.region_usage(sub, &region);
        let item = |value: &str, localized: &str, current: u64, limit: u32| {
            json!({
                "id": format!("/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{region}/usages/{value}"),
                "name": {"value": value, "localizedValue": localized},
                "currentValue": current.min(i32::MAX as u64),
                "limit": limit.min(i32::MAX as u32),
                "unit": "Count",
            })
        };
        let body = json!({"value": [
            item("ContainerGroups", "Container Groups", groups, quota.container_groups),
            item("StandardCores", "Standard Cores", cores.ceil() as u64, quota.standard_cores),
            item("StandardSpotCores", "Standard Spot Cores", spot.ceil() as u64, quota.spot_cores),
        ]});
        ArmResponse::json(StatusCode::OK, body)
    }

    pub(super) fn capabilities(&self, location: &str) -> ArmResponse {
        let region = normalize_region(location);
        let l = &self.limits;
        let mut value = Vec::new();
        for os in ["Linux", "Windows"] {
            for ip in ["Public", "Private"] {
                value.push(json!({
                    "resourceType": "containerGroups", "osType": os, "location": region, "ipAddressType": ip,
                    "gpu": "None",
                    "capabilities": {"maxMemoryInGB": l.max_group_memory_gb, "maxCpu": l.max_group_cpu, "maxGpuCount": 0},
                }));
            }
        }
        ArmResponse::json(StatusCode::OK, json!({ "value": value }))
    }

    /// `Providers_Get` of `Microsoft.ContainerInstance`: its resource types with the emulator's
    /// locations as display names, and `containerGroups`' zones per location (`zoneMappings`, left
    /// out for a region without zones, as ARM does).
    pub(super) fn resource_provider(&self, sub: &str) -> ArmResponse {
        let s = &self.settings;
        let display: Vec<String> = s.locations.iter().map(|l| display_name(l)).collect();
        let zone_mappings: Vec<Value> = s
            .locations
            .iter()
            .filter_map(|l| {
                let zones = s.region_zones.get(l).unwrap_or(&s.zones);
                (!zones.is_empty()).then(|| json!({"location": display_name(l), "zones": zones}))
            })
            .collect();
        let kind = |resource_type: &str, locations: &[String], versions: &[String]| {
            json!({
                "resourceType": resource_type,
                "locations": locations,
                "apiVersions": versions,
                "defaultApiVersion": versions.first(),
                "capabilities": "None",
            })
        };
        let mut groups = kind("containerGroups", &display, &s.api_versions);
        groups["zoneMappings"] = json!(zone_mappings);
        groups["capabilities"] = json!("SupportsTags, SupportsLocation");
        let body = json!({
            "id": format!("/subscriptions/{sub}/providers/Microsoft.ContainerInstance"),
            "namespace": "Microsoft.ContainerInstance",
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": [
                groups,
                kind("containerGroupProfiles", &display, &s.api_versions),
                kind("locations", &[], &s.api_versions),
                kind("locations/usages", &display, &s.api_versions),
                kind("locations/capabilities", &display, &s.api_versions),
                kind("locations/operations", &display, &s.api_versions),
            ],
        });
        ArmResponse::json(StatusCode::OK, body)
    }

    pub(super) fn logs(
        &self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        container: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let g = self
            .groups
            .get(&key(sub, rg, name))
            .ok_or_else(|| ArmError::group_not_found(rg, name))?;
        let Some((_, image)) = g.spec.containers.iter().find(|(c, _)| c == container) else {
            return Err(ArmError::new(
                StatusCode::NOT_FOUND,
                "ContainerNotFound",
                format!("The container '{container}' of container group '{name}' was not found."),
            ));
        };
        let lines: Vec<String> = match (g.timeline.phase(now), g.timeline.done_at) {
            (Phase::Succeeded, Some(start)) => {
                let secs = now.duration_since(start).as_secs().clamp(0, 1000);
                (0..=secs)
                    .map(|i| format!("[aci-emulator] {container} ({image}) running for {i}s"))
                    .collect()
            }
            _ => Vec::new(),
        };
        let tail = req
            .query
            .iter()
            .find(|(k, _)| k == "tail")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let skip = tail.map_or(0, |t| lines.len().saturating_sub(t));
        let mut content: String = lines[skip..].join("\n");
        if !content.is_empty() {
            content.push('\n');
        }
        Ok(ArmResponse::json(
            StatusCode::OK,
            Value::Object([("content".to_owned(), json!(content))].into_iter().collect()),
        ))
    }
}
