//! The pod's `dnsPolicy` / `dnsConfig` → ACI `dnsConfig` (issue 17).
//!
//! A burst replica is a container group, not a pod: Kubernetes does not
//! write its `resolv.conf`. With `burst.dns` (and a VNet, so that the cluster
//! DNS Service is reachable), a `ClusterFirst` pod gets what the kubelet
//! would give it: the cluster DNS as first name server, the search list
//! `<ns>.svc.<domain> svc.<domain> <domain>`, `ndots:5`, and the template's
//! own `dnsConfig` merged in. `dnsPolicy: Default` means "the node's
//! resolver": ACI's own, so no `dnsConfig`. `None` takes the template's
//! `dnsConfig` alone.

use k8s_openapi::api::core::v1 as k8s;
use serde_json::{Map, Value};

use super::error::{invalid, unsupported};
use super::{GroupSpec, Network, TranslateError};

/// The kubelet's limits (`pkg/apis/core/validation`): 3 name servers, 32 searches.
const MAX_NAME_SERVERS: usize = 3;
const MAX_SEARCHES: usize = 32;

/// The `dnsConfig` entry of the group's properties, if any.
pub(super) fn dns_config(pod: &k8s::PodSpec, spec: &GroupSpec) -> Result<Map<String, Value>, TranslateError> {
    let policy = pod.dns_policy.as_deref().unwrap_or("ClusterFirst");
    let cfg = pod.dns_config.as_ref();
    let mut servers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    // Options by name, later entries replacing earlier ones as the kubelet merges them.
    let mut options: Vec<(String, Option<String>)> = Vec::new();
    let cluster_first = matches!(policy, "ClusterFirst" | "ClusterFirstWithHostNet");
    match policy {
        "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None" => {}
        other => {
            return Err(invalid(
                "spec.dnsPolicy",
                format!("{other:?} is not a DNS policy"),
            ));
        }
    }
    if let (true, Some(dns)) = (cluster_first, &spec.cluster_dns) {
        if !matches!(spec.network, Network::Private { .. }) {
            return Err(unsupported(
                "spec.dnsPolicy",
                "ClusterFirst with burst.dns needs azure.subnetId: without a VNet the cluster DNS Service is unreachable",
            ));
        }
        servers.push(dns.name_server.clone());
        searches.extend(dns.search_domains(&spec.namespace));
        options.push(("ndots".into(), Some("5".into())));
    }
    if let Some(cfg) = cfg {
        servers.extend(cfg.nameservers.iter().flatten().cloned());
        searches.extend(cfg.searches.iter().flatten().cloned());
        for o in cfg.options.iter().flatten() {
            let Some(name) = o.name.clone() else { continue };
            options.retain(|(n, _)| *n != name);
            options.push((name, o.value.clone()));
        }
    }
    if policy == "None" && cfg.is_none() {
        return Err(invalid("spec.dnsConfig", "dnsPolicy None needs a dnsConfig"));
    }
    if servers.is_empty() {
        if !searches.is_empty() || !options.is_empty() {
            // ACI's dnsConfig requires nameServers; searches alone would
            // need the resolver the cluster DNS is, which burst.dns names.
            return Err(unsupported(
                "spec.dnsConfig.nameservers",
                "ACI cannot add searches or options without name servers: list them, or set burst.dns (with azure.subnetId) for ClusterFirst pods",
            ));
        }
        return Ok(Map::new());
    }
    dedup(&mut servers);
    dedup(&mut searches);
    if servers.len() > MAX_NAME_SERVERS {
        return Err(invalid(
            "spec.dnsConfig.nameservers",
            format!(
                "{} name servers with the cluster DNS; at most {MAX_NAME_SERVERS}",
                servers.len()
            ),
        ));
    }
    if searches.len() > MAX_SEARCHES {
        return Err(invalid(
            "spec.dnsConfig.searches",
            format!("{} search domains; at most {MAX_SEARCHES}", searches.len()),
        ));
    }
    let mut d = Map::new();
    d.insert("nameServers".into(), servers.into());
    if !searches.is_empty() {
        d.insert("searchDomains".into(), searches.join(" ").into());
    }
    if !options.is_empty() {
        let opts: Vec<String> = options
            .into_iter()
            .map(|(n, v)| match v {
                Some(v) => format!("{n}:{v}"),
                None => n,
            })
            .collect();
        d.insert("options".into(), opts.join(" ").into());
    }
    let mut extra = Map::new();
    extra.insert("dnsConfig".into(), d.into());
    Ok(extra)
}

/// Keeps the first of each, in order.
fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|s| seen.insert(s.clone()));
}
