//! How many more replicas of a pod template the current nodes can take
//! (DESIGN.md §4), decided as kube-scheduler's filters would: node status,
//! taints and tolerations, nodeSelector, required node affinity, required pod
//! anti-affinity on `kubernetes.io/hostname`, then resources per node.
//!
//! Called once per policy per tick against a shared [`ClusterSnapshot`], so
//! the work is arranged to stay cheap on large clusters:
//!
//! * label, taint and status rules are evaluated once per *scheduling class*
//!   (nodes alike in everything but their hostname, precomputed by
//!   [`ClusterSnapshot::new`]), and per node only when the template's rules
//!   name nodes (a `kubernetes.io/hostname` key or `matchFields`);
//! * the per-node loop is integer arithmetic over a compact array of free
//!   resources, dividing only for a resource that binds below the running
//!   minimum;
//! * anti-affinity scans only the pods of the namespaces its terms name, and
//!   only when the template has such terms.

use serde::Serialize;

use crate::snapshot::{
    ClusterSnapshot, HOSTNAME_LABEL, LabelSelector, LabelSelectorOperator, Labels, NodeInfo,
    NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm, PodTemplate, Taint, TaintEffect,
    Toleration, TolerationOperator,
};

#[cfg(test)]
mod tests;

/// The result of a fit: how many more replicas, and notes on rules that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Fit {
    pub replicas: u32,
    pub eligible_nodes: u32,
    /// With [`fit_replicas_below`]: of `replicas`, those that fit while the
    /// eligible nodes' CPU and memory requests together stay below the
    /// threshold's share of their allocatable; negative when the requests
    /// are above it already (by that many replicas' worth, rounded up).
    pub below_threshold: i64,
    pub notes: Vec<String>,
}

/// The taint kube-scheduler's NodeUnschedulable filter checks tolerations
/// against on a cordoned node.
const UNSCHEDULABLE_TAINT_KEY: &str = "node.kubernetes.io/unschedulable";

/// The only field a node selector's `matchFields` may name.
const NODE_NAME_FIELD: &str = "metadata.name";

/// How many more replicas of `template` the nodes of `cluster` can take.
///
/// A node counts when it is Ready, not cordoned (unless the template
/// tolerates `node.kubernetes.io/unschedulable:NoSchedule`, as kube-scheduler
/// allows), all its `NoSchedule`/`NoExecute` taints are tolerated, it matches
/// the nodeSelector and the required node affinity, and no pod bound to it
/// matches a required anti-affinity term on `kubernetes.io/hostname`. On each
/// such node the replicas that fit are the minimum over the requested
/// resources of `floor(free / request)`, and over the free pod slots; a
/// self-matching anti-affinity term caps that at one. Anti-affinity terms on
/// other topology keys are not evaluated and are reported in [`Fit::notes`].
pub fn fit_replicas(cluster: &ClusterSnapshot, template: &PodTemplate) -> Fit {
    fit_replicas_below(cluster, template, None)
}

/// [`fit_replicas`], and with `threshold` (a share of allocatable) also how
/// many of those replicas fit while the eligible nodes' CPU and memory
/// requests, summed, stay below it (the cluster autoscaler's scale-down
/// utilization, averaged over the nodes the replicas spread over).
pub fn fit_replicas_below(cluster: &ClusterSnapshot, template: &PodTemplate, threshold: Option<f64>) -> Fit {
    let nodes = cluster.nodes();
    let per_node_labels = rules_name_nodes(template);

    // Label, taint and status rules, once per scheduling class. When the
    // rules name nodes, the label part is left to the per-node loop.
    let class_ok: Vec<bool> = cluster
        .class_representatives()
        .iter()
        .map(|&i| {
            let node = &nodes[i].node;
            status_ok(node, &template.tolerations)
                && taints_tolerated(&node.taints, &template.tolerations)
                && (per_node_labels || labels_ok(node, template))
        })
        .collect();

    let mut notes = Vec::new();
    let anti = anti_affinity(cluster, template, &mut notes);

    let requests = &template.requests;
    let (cpu, memory, ephemeral) = (
        requests.cpu_millis,
        requests.memory_bytes,
        requests.ephemeral_storage_bytes,
    );
    let extended: Vec<(&str, i64)> = requests
        .extended
        .iter()
        .filter(|&(_, &v)| v > 0)
        .map(|(k, &v)| (k.as_str(), v))
        .collect();
    let cap = if anti.as_ref().is_some_and(|a| a.one_per_node) {
        1
    } else {
        i64::MAX
    };

    let mut replicas: u64 = 0;
    // (cpu allocatable, cpu requested, memory allocatable, memory requested)
    // over the eligible nodes, for `threshold`.
    let mut totals = (0i64, 0i64, 0i64, 0i64);
    let mut eligible: u32 = 0;
    for (i, (free, &class)) in cluster.free().iter().zip(cluster.node_classes()).enumerate() {
        if !class_ok[class as usize] {
            continue;
        }
        if per_node_labels && !labels_ok(&nodes[i].node, template) {
            continue;
        }
        if anti.as_ref().is_some_and(|a| a.blocked[i]) {
            continue;
        }
        eligible += 1;

        let mut k = free.pods.clamp(0, cap);
        k = limit(k, free.cpu_millis, cpu);
        k = limit(k, free.memory_bytes, memory);
        k = limit(k, free.ephemeral_storage_bytes, ephemeral);
        for &(name, request) in &extended {
            if k == 0 {
                break;
            }
            let usage = &nodes[i];
            let allocatable = usage.node.allocatable.extended.get(name).copied().unwrap_or(0);
            let requested = usage.requested.extended.get(name).copied().unwrap_or(0);
            k = limit(k, allocatable.saturating_sub(requested), request);
        }
        replicas = replicas.saturating_add(k.unsigned_abs());
        if threshold.is_some() {
            let usage = &nodes[i];
            totals.0 = totals.0.saturating_add(usage.node.allocatable.cpu_millis);
            totals.1 = totals.1.saturating_add(usage.requested.cpu_millis);
            totals.2 = totals.2.saturating_add(usage.node.allocatable.memory_bytes);
            totals.3 = totals.3.saturating_add(usage.requested.memory_bytes);
        }
    }

    let replicas = u32::try_from(replicas).unwrap_or(u32::MAX);
    // Over the eligible nodes together: the scheduler spreads the replicas
    // (its default scoring prefers the least allocated node), so the average
    // is what each node comes to; strictly below, as a node at the threshold
    // is not removable.
    let below = threshold.map_or(0, |t| {
        let room = |allocatable: i64, requested: i64| {
            let at = (allocatable as f64 * t).ceil() as i64;
            at.saturating_sub(1).saturating_sub(requested)
        };
        let per = |room: i64, request: i64| {
            if request > 0 {
                room.div_euclid(request)
            } else {
                i64::MAX
            }
        };
        per(room(totals.0, totals.1), cpu)
            .min(per(room(totals.2, totals.3), memory))
            .min(i64::from(replicas))
    });
    Fit {
        replicas,
        eligible_nodes: eligible,
        below_threshold: below,
        notes,
    }
}

/// `min(k, floor(free / request))`, with `k >= 0`, a non-positive request
/// imposing no limit and negative free room giving 0. Divides only when this
/// resource binds below `k`.
#[inline]
fn limit(k: i64, free: i64, request: i64) -> i64 {
    if request <= 0 || k == 0 {
        return k;
    }
    if free <= 0 {
        return 0;
    }
    match k.checked_mul(request) {
        Some(needed) if needed <= free => k,
        _ => free / request,
    }
}

/// Whether the template's label rules can tell apart nodes of one scheduling
/// class: they read the hostname label or match on fields (the node name).
fn rules_name_nodes(template: &PodTemplate) -> bool {
    template.node_selector.contains_key(HOSTNAME_LABEL)
        || template.required_node_affinity.iter().any(|term| {
            !term.match_fields.is_empty() || term.match_expressions.iter().any(|r| r.key == HOSTNAME_LABEL)
        })
}

/// Ready, and not cordoned unless the cordon is tolerated (NodeUnschedulable filter).
fn status_ok(node: &NodeInfo, tolerations: &[Toleration]) -> bool {
    node.ready
        && (!node.unschedulable
            || tolerations
                .iter()
                .any(|t| tolerates(t, UNSCHEDULABLE_TAINT_KEY, "", TaintEffect::NoSchedule)))
}

/// Every `NoSchedule` and `NoExecute` taint is tolerated; `PreferNoSchedule` is a preference only.
fn taints_tolerated(taints: &[Taint], tolerations: &[Toleration]) -> bool {
    taints.iter().all(|taint| {
        taint.effect == TaintEffect::PreferNoSchedule
            || tolerations
                .iter()
                .any(|t| tolerates(t, &taint.key, taint.value.as_deref().unwrap_or(""), taint.effect))
    })
}

/// Kubernetes' `Toleration.ToleratesTaint`: an empty effect matches every
/// effect, an empty key every key; `Exists` ignores the value, `Equal`
/// compares it (absent is "").
fn tolerates(toleration: &Toleration, key: &str, value: &str, effect: TaintEffect) -> bool {
    if toleration.effect.is_some_and(|e| e != effect) {
        return false;
    }
    let tkey = toleration.key.as_deref().unwrap_or("");
    if !tkey.is_empty() && tkey != key {
        return false;
    }
    match toleration.operator {
        TolerationOperator::Exists => true,
        TolerationOperator::Equal => toleration.value.as_deref().unwrap_or("") == value,
    }
}

/// nodeSelector and required node affinity.
fn labels_ok(node: &NodeInfo, template: &PodTemplate) -> bool {
    template
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
        && (template.required_node_affinity.is_empty()
            || template
                .required_node_affinity
                .iter()
                .any(|term| term_matches(term, node)))
}

/// One node selector term: all expressions and fields hold. An empty term
/// matches nothing, as in Kubernetes.
fn term_matches(term: &NodeSelectorTerm, node: &NodeInfo) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    term.match_expressions
        .iter()
        .all(|r| expression_matches(r, &node.labels))
        && term.match_fields.iter().all(|r| field_matches(r, &node.name))
}

/// A `matchExpressions` requirement against node labels. Malformed
/// requirements (In/NotIn without values, Exists/DoesNotExist with values,
/// Gt/Lt without exactly one integer) fail, as Kubernetes fails the term.
fn expression_matches(r: &NodeSelectorRequirement, labels: &Labels) -> bool {
    let value = labels.get(r.key.as_str()).map(String::as_str);
    let listed = |v: &str| r.values.iter().any(|x| x == v);
    match r.operator {
        NodeSelectorOperator::In => !r.values.is_empty() && value.is_some_and(listed),
        NodeSelectorOperator::NotIn => !r.values.is_empty() && !value.is_some_and(listed),
        NodeSelectorOperator::Exists => r.values.is_empty() && value.is_some(),
        NodeSelectorOperator::DoesNotExist => r.values.is_empty() && value.is_none(),
        NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
            let [bound] = r.values.as_slice() else {
                return false;
            };
            let (Ok(bound), Some(Ok(value))) = (bound.parse::<i64>(), value.map(str::parse::<i64>)) else {
                return false;
            };
            if r.operator == NodeSelectorOperator::Gt {
                value > bound
            } else {
                value < bound
            }
        }
    }
}

/// A `matchFields` requirement: only `metadata.name` with In/NotIn and exactly one value.
fn field_matches(r: &NodeSelectorRequirement, node_name: &str) -> bool {
    let [value] = r.values.as_slice() else {
        return false;
    };
    if r.key != NODE_NAME_FIELD {
        return false;
    }
    match r.operator {
        NodeSelectorOperator::In => node_name == value,
        NodeSelectorOperator::NotIn => node_name != value,
        _ => false,
    }
}

/// A pod label selector; the empty selector matches everything.
pub(crate) fn selector_matches(selector: &LabelSelector, labels: &Labels) -> bool {
    selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().all(|r| {
            let value = labels.get(r.key.as_str()).map(String::as_str);
            let listed = |v: &str| r.values.iter().any(|x| x == v);
            match r.operator {
                LabelSelectorOperator::In => value.is_some_and(listed),
                LabelSelectorOperator::NotIn => !value.is_some_and(listed),
                LabelSelectorOperator::Exists => value.is_some(),
                LabelSelectorOperator::DoesNotExist => value.is_none(),
            }
        })
}

/// What the template's hostname anti-affinity terms leave of the nodes.
struct AntiAffinity {
    /// Nodes with a bound pod matching a term, parallel to the snapshot's nodes.
    blocked: Vec<bool>,
    /// A term matches the template itself: one new replica per node at most.
    one_per_node: bool,
}

/// Evaluates the required anti-affinity terms on `kubernetes.io/hostname`;
/// other topology keys are noted once each. `None` when no term applies.
fn anti_affinity(
    cluster: &ClusterSnapshot,
    template: &PodTemplate,
    notes: &mut Vec<String>,
) -> Option<AntiAffinity> {
    if template.required_pod_anti_affinity.is_empty() {
        return None;
    }
    let pods = cluster.pods();
    let mut skipped: Vec<&str> = Vec::new();
    let mut result: Option<AntiAffinity> = None;
    for term in &template.required_pod_anti_affinity {
        if term.topology_key != HOSTNAME_LABEL {
            if !skipped.contains(&term.topology_key.as_str()) {
                skipped.push(&term.topology_key);
                notes.push(format!(
                    "required pod anti-affinity on topologyKey {:?} not evaluated (only {HOSTNAME_LABEL} is)",
                    term.topology_key
                ));
            }
            continue;
        }
        let a = result.get_or_insert_with(|| AntiAffinity {
            blocked: vec![false; cluster.nodes().len()],
            one_per_node: false,
        });
        let own = std::slice::from_ref(&template.namespace);
        let namespaces = if term.namespaces.is_empty() {
            own
        } else {
            term.namespaces.as_slice()
        };
        for (n, namespace) in namespaces.iter().enumerate() {
            if namespaces[..n].contains(namespace) {
                continue;
            }
            for &p in cluster.pods_in_namespace(namespace) {
                if let Some(node) = cluster.pod_node(p)
                    && !a.blocked[node]
                    && selector_matches(&term.label_selector, &pods[p].labels)
                {
                    a.blocked[node] = true;
                }
            }
        }
        if !a.one_per_node
            && namespaces.contains(&template.namespace)
            && selector_matches(&term.label_selector, &template.labels)
        {
            a.one_per_node = true;
        }
    }
    result
}
