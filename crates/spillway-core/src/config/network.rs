//! Where burst replicas land and what they resolve: `burst.zones` and
//! `burst.dns` (issue 17). Kept apart from `model.rs` so that each file stays
//! one topic.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// `burst.zones`: the zones listed, or `auto`: the zones Azure publishes
/// for `containerGroups` in the location, read by the controller at run
/// time. An enum rather than a list plus a flag, so that "auto with a list"
/// cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZonesSpec {
    List(Vec<ZoneName>),
    Auto,
}

impl Default for ZonesSpec {
    fn default() -> Self {
        ZonesSpec::List(Vec::new())
    }
}

impl ZonesSpec {
    /// The listed zones (none for `auto`: they are not known before run time).
    pub fn listed(&self) -> &[ZoneName] {
        match self {
            ZonesSpec::List(z) => z,
            ZonesSpec::Auto => &[],
        }
    }
}

impl Serialize for ZonesSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ZonesSpec::List(z) => z.serialize(s),
            ZonesSpec::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for ZonesSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ZonesSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of availability zones such as [1, 2, 3], or auto")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ZonesSpec, E> {
                if v == "auto" {
                    Ok(ZonesSpec::Auto)
                } else {
                    Err(E::custom(format!(
                        "{v:?} is neither a list of availability zones such as [1, 2, 3] nor auto"
                    )))
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ZonesSpec, A::Error> {
                let mut zones = Vec::new();
                while let Some(z) = seq.next_element::<ZoneName>()? {
                    zones.push(z);
                }
                Ok(ZonesSpec::List(zones))
            }
        }
        d.deserialize_any(V)
    }
}

/// `burst.dns`: burst replicas resolve cluster names through the cluster
/// DNS Service, reached over the VNet (`azure.subnetId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsSpec {
    /// The cluster DNS Service's IP. Without it, the ClusterIP of `service`
    /// is read from the cluster when a burst replica is created.
    #[serde(default)]
    pub name_server: Option<String>,
    /// `namespace/name` of the cluster DNS Service.
    #[serde(default = "default_dns_service")]
    pub service: String,
    #[serde(default = "default_cluster_domain")]
    pub cluster_domain: String,
}

fn default_cluster_domain() -> String {
    "cluster.local".to_string()
}

fn default_dns_service() -> String {
    "kube-system/kube-dns".to_string()
}

/// Where a burst replica's name server comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NameServer {
    /// `burst.dns.nameServer`.
    Address(String),
    /// The ClusterIP of this Service, read when a replica is created.
    Service { namespace: String, name: String },
}

/// `burst.dns` of a policy, before the name server is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurstDns {
    pub name_server: NameServer,
    pub cluster_domain: String,
}

impl BurstDns {
    pub(super) fn from_spec(spec: &DnsSpec) -> Self {
        let name_server = match &spec.name_server {
            Some(ip) => NameServer::Address(ip.clone()),
            None => {
                let (namespace, name) = spec
                    .service
                    .split_once('/')
                    .unwrap_or(("kube-system", &spec.service));
                NameServer::Service {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }
        };
        BurstDns {
            name_server,
            cluster_domain: spec.cluster_domain.clone(),
        }
    }

    /// The settings a create carries; `cluster_ip` looks a Service's
    /// ClusterIP up. The error says which Service had none.
    pub fn resolve(
        &self,
        cluster_ip: impl FnOnce(&str, &str) -> Option<String>,
    ) -> Result<ClusterDns, String> {
        let name_server = match &self.name_server {
            NameServer::Address(ip) => ip.clone(),
            NameServer::Service { namespace, name } => cluster_ip(namespace, name)
                .filter(|ip| ip.parse::<IpAddr>().is_ok())
                .ok_or_else(|| {
                    format!(
                        "burst.dns: the Service {namespace}/{name} has no ClusterIP (absent, headless, or not listed yet); \
                         set burst.dns.nameServer or burst.dns.service"
                    )
                })?,
        };
        Ok(ClusterDns {
            name_server,
            cluster_domain: self.cluster_domain.clone(),
        })
    }
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
    zones: &ZonesSpec,
    dns: Option<&DnsSpec>,
    subnet: Option<&str>,
    e: &mut impl FnMut(&str, String),
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, z) in zones.listed().iter().enumerate() {
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
    if let Some(ip) = &dns.name_server
        && ip.parse::<IpAddr>().is_err()
    {
        e(
            "burst.dns.nameServer",
            format!("{ip:?} is not an IP address (the cluster DNS Service's ClusterIP)"),
        );
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !matches!(dns.service.split_once('/'), Some((ns, name)) if label(ns) && label(name)) {
        e(
            "burst.dns.service",
            format!(
                "{:?} is not namespace/name of a Service, such as kube-system/kube-dns",
                dns.service
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
        validate(
            &ZonesSpec::List(zones.to_vec()),
            dns,
            subnet,
            &mut |p: &str, m: String| out.push(format!("{p}: {m}")),
        );
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

    const DOC: &str = "cluster: {id: c1}\nazure:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\npolicies:\n- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 50\n  metrics: [{resource: {name: cpu, targetAverageUtilization: 70}}]\n  burst: {enabled: true, maxReplicas: 20, zones: ZONES}\n";

    fn load_zones(zones: &str) -> Result<crate::config::BurstPolicy, Vec<String>> {
        let loaded = crate::config::load(&DOC.replace("ZONES", zones)).map_err(|e| vec![e.to_string()])?;
        let errs: Vec<String> = loaded.errors().map(ToString::to_string).collect();
        if !errs.is_empty() {
            return Err(errs);
        }
        let p = loaded.valid_policies().next().ok_or_else(Vec::new)?;
        p.burst.clone().ok_or_else(Vec::new)
    }

    #[test]
    fn zones_are_a_list_or_auto() {
        let listed = load_zones("[1, \"2\", 3]").expect("list");
        assert_eq!(listed.zones, ["1", "2", "3"]);
        assert!(!listed.zones_auto);
        let auto = load_zones("auto").expect("auto");
        assert!(auto.zones.is_empty(), "resolved at run time");
        assert!(auto.zones_auto);
        let none = load_zones("[]").expect("empty");
        assert!(none.zones.is_empty() && !none.zones_auto);
        for bad in ["automatic", "Auto", "3", "{a: 1}"] {
            let e = load_zones(bad).expect_err(bad);
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert!(e[0].starts_with("policies[0].burst.zones: "), "{bad}: {e:?}");
            assert!(e[0].contains("auto"), "{bad}: says what is allowed: {e:?}");
        }
        // A bad entry of a list still names its index.
        let e = load_zones("[1, eu-1]").expect_err("bad entry");
        assert!(e[0].starts_with("policies[0].burst.zones[1]: "), "{e:?}");
    }

    #[test]
    fn auto_is_resolved_only_when_the_list_changes() {
        let loaded = crate::config::load(&DOC.replace("ZONES", "auto")).expect("valid");
        let p = loaded.valid_policies().next().expect("policy");
        assert_eq!(p.auto_zones_location(), Some("westeurope"));
        let zones = vec!["1".to_string(), "2".to_string()];
        let resolved = p.with_zones(&zones).expect("changed");
        assert_eq!(
            resolved.burst.as_ref().map(|b| b.zones.clone()),
            Some(zones.clone())
        );
        assert!(resolved.with_zones(&zones).is_none(), "same list: no copy");
        let fixed = crate::config::load(&DOC.replace("ZONES", "[1]")).expect("valid");
        let f = fixed.valid_policies().next().expect("policy");
        assert!(f.with_zones(&zones).is_none(), "a listed policy keeps its list");
        assert_eq!(f.auto_zones_location(), None);
    }

    #[test]
    fn dns_needs_a_vnet_an_ip_and_a_domain() {
        let dns = DnsSpec {
            name_server: Some("10.0.0.10".into()),
            service: default_dns_service(),
            cluster_domain: "cluster.local".into(),
        };
        assert!(errors(&[], Some(&dns), Some("/subscriptions/x/subnets/aci")).is_empty());
        let e = errors(&[], Some(&dns), None);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("burst.dns: needs azure.subnetId"), "{e:?}");
        let bad = DnsSpec {
            name_server: Some("kube-dns".into()),
            service: "kube-dns".into(),
            cluster_domain: "Cluster..local".into(),
        };
        let e = errors(&[], Some(&bad), Some("s"));
        assert!(e.iter().any(|m| m.starts_with("burst.dns.nameServer: ")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("burst.dns.service: ")), "{e:?}");
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

    #[test]
    fn without_a_name_server_the_service_cluster_ip_is_used() {
        let spec = DnsSpec {
            name_server: None,
            service: default_dns_service(),
            cluster_domain: "cluster.local".into(),
        };
        let dns = BurstDns::from_spec(&spec);
        let mut asked = None;
        let resolved = dns
            .resolve(|ns, name| {
                asked = Some(format!("{ns}/{name}"));
                Some("10.96.0.10".into())
            })
            .expect("resolved");
        assert_eq!(asked.as_deref(), Some("kube-system/kube-dns"));
        assert_eq!(resolved.name_server, "10.96.0.10");
        // Headless (`None`) or absent: an error naming the Service.
        let e = dns.resolve(|_, _| Some("None".into())).expect_err("headless");
        assert!(e.contains("kube-system/kube-dns"), "{e}");
        assert!(dns.resolve(|_, _| None).is_err());
        // A configured address is used as it is, without a lookup.
        let fixed = BurstDns::from_spec(&DnsSpec {
            name_server: Some("10.0.0.10".into()),
            ..spec
        });
        let r = fixed.resolve(|_, _| panic!("no lookup")).expect("fixed");
        assert_eq!(r.name_server, "10.0.0.10");
    }
}
