//! `zones` and `properties.dnsConfig` of a container group, as the spec
//! defines them (`ContainerGroup.zones`: string[]; `DnsConfiguration`:
//! `nameServers` required string[], `searchDomains` and `options` strings).

use serde_json::{Map, Value};

use super::{bad, invalid, obj, opt_array, opt_str};
use crate::error::ArmError;

pub(super) fn check_zones(root: &Map<String, Value>, name: &str) -> Result<Vec<String>, ArmError> {
    let zones = opt_array(root, "zones", "$")?;
    let mut out = Vec::new();
    for (i, z) in zones.iter().enumerate() {
        let Some(z) = z.as_str() else {
            return Err(invalid(&format!("zones[{i}]"), "expected a string"));
        };
        if z.trim().is_empty() {
            return Err(bad(
                "InvalidAvailabilityZone",
                &format!("zones[{i}]"),
                format!("The availability zone '' of container group '{name}' is invalid."),
            ));
        }
        out.push(z.to_owned());
    }
    // A container group is zonal (pinned to one zone), never zone-spanning;
    // the service's answer as seen by the AVM bicep module's authors
    // (Azure/bicep-registry-modules#4994).
    if out.len() > 1 {
        return Err(bad(
            "ResourceTypeNotSupportMultiZones",
            "zones",
            format!(
                "The resource type 'containerGroups' does not support multiple availability zones. The provided zones are '{}'. Please provide a single availability zone.",
                out.join(",")
            ),
        ));
    }
    Ok(out)
}

pub(super) fn check_dns(props: &Map<String, Value>) -> Result<(), ArmError> {
    let Some(d) = props.get("dnsConfig").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let p = "properties.dnsConfig";
    let d = obj(d, p)?;
    match d.get("nameServers") {
        Some(Value::Array(servers)) => {
            for (i, s) in servers.iter().enumerate() {
                if !s.is_string() {
                    return Err(invalid(&format!("{p}.nameServers[{i}]"), "expected a string"));
                }
            }
        }
        None | Some(Value::Null) => {
            return Err(invalid(
                &format!("{p}.nameServers"),
                "required property is missing",
            ));
        }
        Some(_) => return Err(invalid(&format!("{p}.nameServers"), "expected an array")),
    }
    opt_str(d, "searchDomains", p)?;
    opt_str(d, "options", p)?;
    Ok(())
}
