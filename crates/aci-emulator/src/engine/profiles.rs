//! Container group profiles (`Microsoft.ContainerInstance/containerGroupProfiles`, ACI spec
//! 2026-05-01): PUT 200/201 (not long-running), GET, PATCH (tags), DELETE 200/204, lists, and
//! revisions. A PUT whose properties differ from the latest revision registers a new revision;
//! pools that follow the latest revision drain and replace their instances.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{ArmRequest, ArmResponse, Engine, GroupKey, key};
use crate::{
    error::ArmError,
    validate::{normalize_region, validate_group},
    wire::strip_secrets,
};

pub(crate) const PROFILE_TYPE: &str = "Microsoft.ContainerInstance/containerGroupProfiles";

/// A stored profile: every revision's properties (secrets kept, never rendered).
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub region: String,
    pub tags: Option<Value>,
    pub zones: Option<Value>,
    /// Properties of revision `i + 1`.
    pub revisions: Vec<Value>,
}

impl Profile {
    pub(crate) fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{PROFILE_TYPE}/{}",
            self.sub, self.rg, self.name
        )
    }

    /// The latest revision number (revisions start at 1).
    pub(crate) fn latest(&self) -> u32 {
        u32::try_from(self.revisions.len()).unwrap_or(u32::MAX)
    }

    /// Properties of a registered revision.
    pub(crate) fn revision(&self, n: u32) -> Option<&Value> {
        let idx = usize::try_from(n).ok()?.checked_sub(1)?;
        self.revisions.get(idx)
    }

    fn render(&self, revision: u32) -> Value {
        let mut props = self
            .revision(revision)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        strip_secrets(&mut props);
        props.insert("revision".into(), json!(revision));
        props.insert(
            "registeredRevisions".into(),
            json!((1..=self.latest()).collect::<Vec<_>>()),
        );
        let mut out = Map::new();
        out.insert("id".into(), json!(self.resource_id()));
        out.insert("name".into(), json!(self.name));
        out.insert("type".into(), json!(PROFILE_TYPE));
        out.insert("location".into(), json!(self.region));
        for (k, v) in [("tags", &self.tags), ("zones", &self.zones)] {
            if let Some(v) = v {
                out.insert(k.into(), v.clone());
            }
        }
        out.insert("properties".into(), Value::Object(props));
        Value::Object(out)
    }
}

/// The spec's `containerGroupProfileName` pattern: `^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$`.
fn is_profile_name(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: Option<&u8>| c.is_some_and(u8::is_ascii_alphanumeric);
    (1..=63).contains(&b.len())
        && edge(b.first())
        && edge(b.last())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
}

/// One page of `items` with a `nextLink` carrying the offset of the next one.
pub(super) fn paged(req: &ArmRequest, items: Vec<Value>, page_size: usize) -> Result<Value, ArmError> {
    let start = match req
        .query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("$skipToken"))
    {
        None => 0,
        Some((_, t)) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| {
                ArmError::bad_request("InvalidSkipToken", format!("The skip token '{t}' is invalid."))
            })?,
    };
    let total = items.len();
    let end = start.saturating_add(page_size).min(total);
    let value: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let mut body = Map::new();
    body.insert("value".into(), Value::Array(value));
    if end < total {
        let version = req
            .query
            .iter()
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("api-version", &version)
            .append_pair("$skipToken", &URL_SAFE_NO_PAD.encode(end.to_string()))
            .finish();
        body.insert(
            "nextLink".into(),
            json!(format!("{}{}?{query}", req.base_url, req.path)),
        );
    }
    Ok(Value::Object(body))
}

impl Engine {
    pub(super) fn check_location(&self, region: &str, resource_type: &str) -> Result<(), ArmError> {
        let ok = self.settings.locations.is_empty()
            || self
                .settings
                .locations
                .iter()
                .any(|l| normalize_region(l) == region);
        if ok {
            Ok(())
        } else {
            Err(ArmError::location_not_available(
                region,
                resource_type,
                &self.settings.locations,
            ))
        }
    }

    fn profile_not_found(rg: &str, name: &str) -> ArmError {
        ArmError::resource_not_found(PROFILE_TYPE, rg, name)
    }

    pub(super) fn put_profile(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        if !is_profile_name(name) {
            return Err(ArmError::bad_request(
                "InvalidResourceName",
                format!(
                    "The container group profile name '{name}' is invalid. It must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit."
                ),
            ));
        }
        let body: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        // A profile is a container group template: the same rules apply to its properties.
        let spec = validate_group(name, &body, &self.limits)?;
        self.check_location(&spec.region, PROFILE_TYPE)?;
        let mut props = body
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for k in ["revision", "registeredRevisions"] {
            props.remove(k);
        }
        let props = Value::Object(props);
        let field = |k: &str| body.get(k).filter(|v| !v.is_null()).cloned();
        let k = key(sub, rg, name);
        let (status, bumped) = match self.profiles.get_mut(&k) {
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
                let changed = p.revisions.last() != Some(&props);
                if changed {
                    p.revisions.push(props);
                }
                p.tags = field("tags");
                p.zones = field("zones");
                (StatusCode::OK, changed)
            }
            None => {
                self.profiles.insert(
                    k.clone(),
                    Profile {
                        sub: sub.to_owned(),
                        rg: rg.to_owned(),
                        name: name.to_owned(),
                        region: spec.region.clone(),
                        tags: field("tags"),
                        zones: field("zones"),
                        revisions: vec![props],
                    },
                );
                (StatusCode::CREATED, false)
            }
        };
        if bumped {
            self.profile_revised(&k, now);
        }
        let p = self
            .profiles
            .get(&k)
            .ok_or_else(|| Self::profile_not_found(rg, name))?;
        tracing::info!(
            profile = name,
            revision = p.latest(),
            "container group profile put"
        );
        Ok(ArmResponse::json(status, p.render(p.latest())))
    }

    pub(super) fn get_profile(&self, sub: &str, rg: &str, name: &str) -> Result<ArmResponse, ArmError> {
        let p = self
            .profiles
            .get(&key(sub, rg, name))
            .ok_or_else(|| Self::profile_not_found(rg, name))?;
        Ok(ArmResponse::json(StatusCode::OK, p.render(p.latest())))
    }

    pub(super) fn patch_profile(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
    ) -> Result<ArmResponse, ArmError> {
        let body: Value = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
        let tags = match body.get("tags") {
            None => None,
            Some(Value::Object(t)) if t.values().all(Value::is_string) => Some(Value::Object(t.clone())),
            Some(_) => {
                return Err(
                    ArmError::invalid_content("tags: expected an object of strings").with_target("tags")
                );
            }
        };
        let p = self
            .profiles
            .get_mut(&key(sub, rg, name))
            .ok_or_else(|| Self::profile_not_found(rg, name))?;
        if tags.is_some() {
            p.tags = tags;
        }
        Ok(ArmResponse::json(StatusCode::OK, p.render(p.latest())))
    }

    pub(super) fn delete_profile(&mut self, sub: &str, rg: &str, name: &str) -> ArmResponse {
        match self.profiles.remove(&key(sub, rg, name)) {
            Some(_) => ArmResponse::empty(StatusCode::OK),
            None => ArmResponse::empty(StatusCode::NO_CONTENT),
        }
    }

    pub(super) fn list_profiles(
        &self,
        req: &ArmRequest,
        sub: &str,
        rg: Option<&String>,
    ) -> Result<ArmResponse, ArmError> {
        let (sub_l, rg_l) = (sub.to_ascii_lowercase(), rg.map(|r| r.to_ascii_lowercase()));
        let items = self
            .profiles
            .iter()
            .filter(|(k, _)| k.0 == sub_l && rg_l.as_ref().is_none_or(|r| &k.1 == r))
            .map(|(_, p)| p.render(p.latest()))
            .collect();
        Ok(ArmResponse::json(
            StatusCode::OK,
            paged(req, items, self.settings.page_size)?,
        ))
    }

    pub(super) fn profile_revisions(
        &self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        revision: Option<&String>,
    ) -> Result<ArmResponse, ArmError> {
        let p = self
            .profiles
            .get(&key(sub, rg, name))
            .ok_or_else(|| Self::profile_not_found(rg, name))?;
        match revision {
            None => {
                let items = (1..=p.latest()).map(|n| p.render(n)).collect();
                Ok(ArmResponse::json(
                    StatusCode::OK,
                    paged(req, items, self.settings.page_size)?,
                ))
            }
            Some(r) => {
                let n = r
                    .parse::<u32>()
                    .ok()
                    .filter(|n| p.revision(*n).is_some())
                    .ok_or_else(|| {
                        ArmError::new(
                            StatusCode::NOT_FOUND,
                            "ResourceNotFound",
                            format!("The revision '{r}' of container group profile '{name}' was not found."),
                        )
                    })?;
                Ok(ArmResponse::json(StatusCode::OK, p.render(n)))
            }
        }
    }

    /// Resolves a `containerGroupProfile {id, revision}` reference: the profile's key and the
    /// revision (the latest when not given).
    pub(super) fn resolve_profile(&self, reference: &Value, path: &str) -> Result<(GroupKey, u32), ArmError> {
        let id = reference
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ArmError::invalid_content(format!("{path}.id: required property is missing")))?;
        let (sub, rg, name) = crate::route::parse_resource_id(id, "Microsoft.ContainerInstance", "containerGroupProfiles")
            .ok_or_else(|| {
                ArmError::bad_request(
                    "InvalidContainerGroupProfileReference",
                    format!("The container group profile id '{id}' is not a valid resource id of type '{PROFILE_TYPE}'."),
                )
                .with_target(format!("{path}.id"))
            })?;
        let k = key(&sub, &rg, &name);
        let p = self.profiles.get(&k).ok_or_else(|| {
            ArmError::bad_request(
                "ContainerGroupProfileNotFound",
                format!("The container group profile '{id}' was not found."),
            )
            .with_target(format!("{path}.id"))
        })?;
        let revision = match reference.get("revision").filter(|v| !v.is_null()) {
            None => p.latest(),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| p.revision(*n).is_some())
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "ContainerGroupProfileRevisionNotFound",
                        format!(
                            "The revision '{v}' of container group profile '{id}' is not registered. Registered revisions: 1 to {}.",
                            p.latest()
                        ),
                    )
                    .with_target(format!("{path}.revision"))
                })?,
        };
        Ok((k, revision))
    }
}

#[cfg(test)]
mod tests {
    use super::is_profile_name;

    #[test]
    fn profile_names_follow_the_spec_pattern() {
        for ok in ["a", "Ab", "cg_Profile-1"] {
            assert!(is_profile_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a_", "a.b", &"x".repeat(64)] {
            assert!(!is_profile_name(bad), "{bad}");
        }
    }
}
