//! The availability zones of a location, for `burst.zones: auto` (issue 17).
//!
//! The ACI spec's `locations/{location}/capabilities` carries no zones; ARM
//! publishes them on the resource provider (`Providers_Get`,
//! `Microsoft.Resources`, api-version 2021-04-01): `resourceTypes[]` with
//! `locations` and `zoneMappings` as display names ("West Europe"). A read
//! over the same transport as every other call (token, retries, read
//! concurrency); a GET is not fenced.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use crate::client::AciClient;
use crate::error::AciError;
use crate::observer::Operation;
use crate::retry::RetryMode;
use crate::transport::{Call, Lane, parse_body};

/// The api-version of `Microsoft.Resources` `Providers_Get` (the first with
/// `zoneMappings`).
pub const PROVIDERS_API_VERSION: &str = "2021-04-01";
const NAMESPACE: &str = "Microsoft.ContainerInstance";
const RESOURCE_TYPE: &str = "containerGroups";

/// `Provider`: only what zone discovery reads; other fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub resource_types: Vec<ProviderResourceType>,
}

/// `ProviderResourceType`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderResourceType {
    #[serde(default)]
    pub resource_type: String,
    /// Display names ("West Europe").
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub zone_mappings: Vec<ZoneMapping>,
}

/// `ZoneMapping`: the zones of one location (display name).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneMapping {
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub zones: Vec<String>,
}

/// ARM's display names and programmatic names are the same words: "West
/// Europe" is `westeurope`.
pub fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    norm(a) == norm(b)
}

/// The zones `containerGroups` offers in `location`, sorted (`"1"` before
/// `"2"` … `"10"`); empty: the location has no zones. An error when the
/// provider does not offer `containerGroups` there at all.
pub fn zones_in(provider: &Provider, location: &str) -> Result<Vec<String>, AciError> {
    let rt = provider
        .resource_types
        .iter()
        .find(|rt| rt.resource_type.eq_ignore_ascii_case(RESOURCE_TYPE))
        .ok_or_else(|| AciError::Malformed(format!("provider {NAMESPACE} lists no {RESOURCE_TYPE}")))?;
    if !rt.locations.iter().any(|l| same_location(l, location)) {
        return Err(AciError::NotFound {
            code: "LocationNotAvailableForResourceType".into(),
            message: format!("{NAMESPACE}/{RESOURCE_TYPE} is not offered in {location}"),
        });
    }
    let mut zones: Vec<String> = rt
        .zone_mappings
        .iter()
        .filter(|m| m.location.as_deref().is_some_and(|l| same_location(l, location)))
        .flat_map(|m| m.zones.iter())
        .map(|z| z.trim().to_string())
        .filter(|z| !z.is_empty())
        .collect();
    zones.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    zones.dedup();
    Ok(zones)
}

impl AciClient {
    /// `{endpoint}/subscriptions/{sub}/providers/Microsoft.ContainerInstance?api-version=2021-04-01`.
    fn provider_url(&self) -> Result<Url, AciError> {
        let cfg = self.config();
        let mut u = cfg.endpoint.clone();
        {
            let mut seg = u.path_segments_mut().map_err(|_| {
                AciError::InvalidArgument(format!("ARM endpoint {} cannot take a path", cfg.endpoint))
            })?;
            seg.pop_if_empty();
            seg.extend(["subscriptions", &cfg.subscription_id, "providers", NAMESPACE]);
        }
        u.query_pairs_mut()
            .append_pair("api-version", PROVIDERS_API_VERSION);
        Ok(u)
    }

    /// `Providers_Get` for `Microsoft.ContainerInstance`.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn provider(&self) -> Result<Provider, AciError> {
        let call = Call {
            op: Operation::ProviderRead,
            method: Method::GET,
            url: self.provider_url()?,
            body: None,
            lane: Lane::Read,
            mode: RetryMode::Idempotent,
        };
        let reply = self.transport().send(&call).await.map_err(|f| f.err)?;
        parse_body(&reply, "resource provider", "resourceTypes")
    }

    /// The zones of `location` for container groups (see [`zones_in`]).
    pub async fn zones_of(&self, location: &str) -> Result<Vec<String>, AciError> {
        if location.is_empty() {
            return Err(AciError::InvalidArgument("location must not be empty".into()));
        }
        zones_in(&self.provider().await?, location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(json: serde_json::Value) -> Provider {
        serde_json::from_value(json).unwrap_or_default()
    }

    #[test]
    fn display_names_match_programmatic_ones() {
        assert!(same_location("West Europe", "westeurope"));
        assert!(same_location("westeurope", "WestEurope"));
        assert!(!same_location("West Europe", "northeurope"));
        let p = provider(serde_json::json!({"resourceTypes": [
            {"resourceType": "locations", "locations": []},
            {"resourceType": "containerGroups", "locations": ["West Europe", "West Central US"],
             "zoneMappings": [{"location": "West Europe", "zones": ["3", "1", "10", "2"]},
                              {"location": "North Europe", "zones": ["1"]}]}
        ]}));
        assert_eq!(
            zones_in(&p, "westeurope").ok(),
            Some(vec!["1".into(), "2".into(), "3".into(), "10".into()])
        );
        assert_eq!(zones_in(&p, "westcentralus").ok(), Some(Vec::new()), "no zones");
        assert!(matches!(zones_in(&p, "mars"), Err(AciError::NotFound { .. })));
        assert!(matches!(
            zones_in(&Provider::default(), "westeurope"),
            Err(AciError::Malformed(_))
        ));
    }
}
