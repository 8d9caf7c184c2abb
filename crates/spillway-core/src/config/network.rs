//! Where burst replicas land and what they resolve: `burst.zones` and
//! `burst.dns` (issue 17). Kept apart from `model.rs` so that each file stays
//! one topic.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// One availability zone of `burst.zones`. YAML users write `[1, 2, 3]` as
/// ACI's own examples do (`"zones": ["1"]`), so a number is accepted and kept
/// as the string ARM expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ZoneName {
    Number(u32),
    Text(String),
}

impl ZoneName {
    pub fn as_zone(&self) -> String {
        match self {
            ZoneName::Number(n) => n.to_string(),
            ZoneName::Text(s) => s.clone(),
        }
    }
}

/// `burst.dns`: burst replicas resolve cluster names through the cluster
/// DNS Service, reached over the VNet (`azure.subnetId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    /// The cluster DNS Service's IP (`kubectl -n kube-system get svc kube-dns`).
    pub name_server: String,
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,
}

fn default_cluster_domain() -> String {
    "cluster.local".to_string()
}

/// The resolved `burst.dns` a create carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDns {
    pub name_server: String,
    pub cluster_domain: String,
}

impl ClusterDns {
    /// The search list a pod with `dnsPolicy: ClusterFirst` gets in `namespace`.
    pub fn search_domains(&self, namespace: &str) -> Vec<String> {
        let d = &self.cluster_domain;
        vec![format!("{namespace}.svc.{d}"), format!("svc.{d}"), d.clone()]
    }
}

/// Validates `burst.zones` and `burst.dns`; `subnet` is `azure.subnetId`.
pub(super) fn validate(
    zones: &[ZoneName],
    dns: Option<&DnsSpec>,
    subnet: Option<&str>,
    e: &mut impl FnMut(&str, String),
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, z) in zones.iter().enumerate() {
        let name = z.as_zone();
        if name.is_empty() || name.len() > 3 || !name.bytes().all(|b| b.is_ascii_digit()) || name == "0" {
            e(
                &format!("burst.zones[{i}]"),
                format!("{name:?} is not an availability zone: ACI zones are numbers such as 1, 2, 3"),
            );
        } else if !seen.insert(name.clone()) {
            e(
                &format!("burst.zones[{i}]"),
                format!("zone {name} is listed twice"),
            );
        }
    }
    let Some(dns) = dns else { return };
    if subnet.is_none() {
        e(
            "burst.dns",
            "needs azure.subnetId: a container group without a VNet cannot reach the cluster DNS Service"
                .into(),
        );
    }
    if dns.name_server.parse::<IpAddr>().is_err() {
        e(
            "burst.dns.nameServer",
            format!(
                "{:?} is not an IP address (the cluster DNS Service's ClusterIP)",
                dns.name_server
            ),
        );
    }
    let d = &dns.cluster_domain;
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if !ok {
        e(
            "burst.dns.clusterDomain",
            format!("{d:?} is not a lowercase DNS name such as cluster.local"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(zones: &[ZoneName], dns: Option<&DnsSpec>, subnet: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        validate(zones, dns, subnet, &mut |p: &str, m: String| {
            out.push(format!("{p}: {m}"))
        });
        out
    }

    #[test]
    fn zones_are_numbers_listed_once() {
        let ok = [
            ZoneName::Number(1),
            ZoneName::Text("2".into()),
            ZoneName::Number(3),
        ];
        assert!(errors(&ok, None, None).is_empty());
        let bad = [
            ZoneName::Number(1),
            ZoneName::Text("eu-1".into()),
            ZoneName::Text("1".into()),
        ];
        let e = errors(&bad, None, None);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("burst.zones[1]: "), "{e:?}");
        assert!(
            e[1].starts_with("burst.zones[2]: zone 1 is listed twice"),
            "{e:?}"
        );
    }

    #[test]
    fn dns_needs_a_vnet_an_ip_and_a_domain() {
        let dns = DnsSpec {
            name_server: "10.0.0.10".into(),
            cluster_domain: "cluster.local".into(),
        };
        assert!(errors(&[], Some(&dns), Some("/subscriptions/x/subnets/aci")).is_empty());
        let e = errors(&[], Some(&dns), None);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("burst.dns: needs azure.subnetId"), "{e:?}");
        let bad = DnsSpec {
            name_server: "kube-dns".into(),
            cluster_domain: "Cluster..local".into(),
        };
        let e = errors(&[], Some(&bad), Some("s"));
        assert!(e.iter().any(|m| m.starts_with("burst.dns.nameServer: ")), "{e:?}");
        assert!(
            e.iter().any(|m| m.starts_with("burst.dns.clusterDomain: ")),
            "{e:?}"
        );
    }

    #[test]
    fn search_domains_follow_cluster_first() {
        let d = ClusterDns {
            name_server: "10.0.0.10".into(),
            cluster_domain: "cluster.local".into(),
        };
        assert_eq!(
            d.search_domains("shop"),
            ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"]
        );
    }
}
