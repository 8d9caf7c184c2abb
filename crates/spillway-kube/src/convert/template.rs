use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{
        NodeSelectorRequirement as K8sNodeReq, PodAffinityTerm, PodTemplateSpec, Toleration as K8sToleration,
    },
    apimachinery::pkg::apis::meta::v1::LabelSelector as K8sLabelSelector,
};
use spillway_core::snapshot::{
    LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, NodeSelectorOperator,
    NodeSelectorRequirement, NodeSelectorTerm, PodAntiAffinityTerm, PodTemplate, TaintEffect, Toleration,
    TolerationOperator, TopologySpread,
};

use super::{ConvertError, pod::effective_requests};

/// The scheduling-relevant part of a Deployment's pod template, with the
/// hash of the whole template.
pub fn pod_template(namespace: &str, template: &PodTemplateSpec) -> Result<PodTemplate, ConvertError> {
    let spec = template
        .spec
        .as_ref()
        .ok_or(ConvertError::Missing("spec.template.spec"))?;
    let affinity = spec.affinity.as_ref();
    let required_node_affinity = affinity
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|ns| {
            ns.node_selector_terms
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let base = format!("affinity.nodeAffinity.required.nodeSelectorTerms[{i}]");
                    Ok(NodeSelectorTerm {
                        match_expressions: node_reqs(t.match_expressions.as_deref(), &base)?,
                        match_fields: node_reqs(t.match_fields.as_deref(), &base)?,
                    })
                })
                .collect::<Result<Vec<_>, ConvertError>>()
        })
        .transpose()?
        .unwrap_or_default();
    let required_pod_anti_affinity = affinity
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .and_then(|p| p.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|terms| {
            terms
                .iter()
                .enumerate()
                .map(|(i, t)| anti_affinity(t, i))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(PodTemplate {
        namespace: namespace.to_string(),
        labels: template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        requests: effective_requests(spec)?,
        node_selector: spec.node_selector.clone().unwrap_or_default(),
        tolerations: spec
            .tolerations
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| toleration(t, i))
            .collect::<Result<_, _>>()?,
        required_node_affinity,
        required_pod_anti_affinity,
        topology_spread: spec
            .topology_spread_constraints
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| topology_spread(c, i))
            .collect::<Result<_, _>>()?,
        hash: template_hash(template),
    })
}

/// One `topologySpreadConstraints` entry. The burst side honours those on
/// `topology.kubernetes.io/zone`; the others are kept for what they say.
fn topology_spread(
    c: &k8s_openapi::api::core::v1::TopologySpreadConstraint,
    i: usize,
) -> Result<TopologySpread, ConvertError> {
    let field = format!("topologySpreadConstraints[{i}]");
    Ok(TopologySpread {
        max_skew: u32::try_from(c.max_skew).unwrap_or(1).max(1),
        topology_key: c.topology_key.clone(),
        hard: c.when_unsatisfiable != "ScheduleAnyway",
        label_selector: match &c.label_selector {
            Some(s) => label_selector(s, &format!("{field}.labelSelector"))?,
            // Without a selector the constraint counts no pod: nothing to spread.
            None => LabelSelector {
                match_labels: BTreeMap::new(),
                match_expressions: vec![LabelSelectorRequirement {
                    key: "spillway.io/matches-nothing".into(),
                    operator: LabelSelectorOperator::Exists,
                    values: vec![],
                }],
            },
        },
    })
}

/// FNV-1a (64 bit) of the template's JSON: stable across builds and Rust
/// versions, unlike `std`'s hasher. k8s-openapi serializes fields in a fixed
/// order and maps sorted, so equal templates hash equally.
pub fn template_hash(template: &PodTemplateSpec) -> String {
    let bytes = serde_json::to_vec(template).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Container ports by name, for Services whose `targetPort` is a name.
pub fn named_ports(template: &PodTemplateSpec) -> BTreeMap<String, (i32, String)> {
    let mut out = BTreeMap::new();
    for c in template.spec.iter().flat_map(|s| s.containers.iter()) {
        for p in c.ports.iter().flatten() {
            if let Some(name) = &p.name {
                let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".into());
                out.entry(name.clone()).or_insert((p.container_port, protocol));
            }
        }
    }
    out
}

fn unsupported(field: String, value: &str) -> ConvertError {
    ConvertError::Unsupported {
        field,
        value: value.to_string(),
    }
}

fn toleration(t: &K8sToleration, i: usize) -> Result<Toleration, ConvertError> {
    let operator = match t.operator.as_deref() {
        None | Some("Equal") => TolerationOperator::Equal,
        Some("Exists") => TolerationOperator::Exists,
        Some(other) => return Err(unsupported(format!("tolerations[{i}].operator"), other)),
    };
    let effect = match t.effect.as_deref() {
        None | Some("") => None,
        Some("NoSchedule") => Some(TaintEffect::NoSchedule),
        Some("PreferNoSchedule") => Some(TaintEffect::PreferNoSchedule),
        Some("NoExecute") => Some(TaintEffect::NoExecute),
        Some(other) => return Err(unsupported(format!("tolerations[{i}].effect"), other)),
    };
    Ok(Toleration {
        key: t.key.clone().filter(|k| !k.is_empty()),
        operator,
        value: t.value.clone(),
        effect,
    })
}

fn node_reqs(reqs: Option<&[K8sNodeReq]>, base: &str) -> Result<Vec<NodeSelectorRequirement>, ConvertError> {
    reqs.unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let operator = match r.operator.as_str() {
                "In" => NodeSelectorOperator::In,
                "NotIn" => NodeSelectorOperator::NotIn,
                "Exists" => NodeSelectorOperator::Exists,
                "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
                "Gt" => NodeSelectorOperator::Gt,
                "Lt" => NodeSelectorOperator::Lt,
                other => {
                    return Err(unsupported(
                        format!("{base}.matchExpressions[{j}].operator"),
                        other,
                    ));
                }
            };
            Ok(NodeSelectorRequirement {
                key: r.key.clone(),
                operator,
                values: r.values.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// A Kubernetes label selector in `spillway_core`'s form.
pub(crate) fn label_selector(s: &K8sLabelSelector, field: &str) -> Result<LabelSelector, ConvertError> {
    let match_expressions = s
        .match_expressions
        .iter()
        .flatten()
        .enumerate()
        .map(|(j, e)| {
            let operator = match e.operator.as_str() {
                "In" => LabelSelectorOperator::In,
                "NotIn" => LabelSelectorOperator::NotIn,
                "Exists" => LabelSelectorOperator::Exists,
                "DoesNotExist" => LabelSelectorOperator::DoesNotExist,
                other => {
                    return Err(unsupported(
                        format!("{field}.matchExpressions[{j}].operator"),
                        other,
                    ));
                }
            };
            Ok(LabelSelectorRequirement {
                key: e.key.clone(),
                operator,
                values: e.values.clone().unwrap_or_default(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(LabelSelector {
        match_labels: s.match_labels.clone().unwrap_or_default(),
        match_expressions,
    })
}

fn anti_affinity(t: &PodAffinityTerm, i: usize) -> Result<PodAntiAffinityTerm, ConvertError> {
    let field = format!("affinity.podAntiAffinity.required[{i}]");
    if t.namespace_selector.is_some() {
        return Err(unsupported(format!("{field}.namespaceSelector"), "set"));
    }
    Ok(PodAntiAffinityTerm {
        label_selector: match &t.label_selector {
            Some(s) => label_selector(s, &format!("{field}.labelSelector"))?,
            // A term without a selector matches no pod.
            None => LabelSelector {
                match_labels: BTreeMap::new(),
                match_expressions: vec![LabelSelectorRequirement {
                    key: "spillway.io/matches-nothing".into(),
                    operator: LabelSelectorOperator::Exists,
                    values: vec![],
                }],
            },
        },
        topology_key: t.topology_key.clone(),
        namespaces: t.namespaces.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template(v: serde_json::Value) -> PodTemplateSpec {
        serde_json::from_value(v).expect("template json")
    }

    fn web() -> serde_json::Value {
        json!({
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "app", "image": "web:1",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}],
                "nodeSelector": {"pool": "general"},
                "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {
                    "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["1", "2"]}]}]}},
                    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}
                }
            }
        })
    }

    #[test]
    fn converts_the_scheduling_fields() {
        let t = pod_template("shop", &template(web())).expect("converts");
        assert_eq!(t.namespace, "shop");
        assert_eq!(t.requests.cpu_millis, 500);
        assert_eq!(t.node_selector.get("pool").map(String::as_str), Some("general"));
        assert_eq!(t.tolerations[0].operator, TolerationOperator::Exists);
        assert_eq!(
            t.required_node_affinity[0].match_expressions[0].values,
            vec!["1", "2"]
        );
        assert_eq!(
            t.required_pod_anti_affinity[0].topology_key,
            "kubernetes.io/hostname"
        );
        assert_eq!(t.hash.len(), 16);
    }

    #[test]
    fn hash_is_stable_and_changes_with_the_template() {
        let a = template(web());
        let mut changed = web();
        changed["spec"]["containers"][0]["image"] = json!("web:2");
        assert_eq!(template_hash(&a), template_hash(&template(web())));
        assert_ne!(template_hash(&a), template_hash(&template(changed)));
    }

    #[test]
    fn unknown_operator_is_a_named_error() {
        let mut v = web();
        v["spec"]["tolerations"][0]["operator"] = json!("Maybe");
        let err = pod_template("shop", &template(v)).expect_err("unsupported");
        assert_eq!(
            err.to_string(),
            "tolerations[0].operator: unsupported value \"Maybe\""
        );
    }

    #[test]
    fn named_ports_resolve() {
        let ports = named_ports(&template(web()));
        assert_eq!(ports.get("http"), Some(&(8080, "TCP".to_string())));
    }
}
