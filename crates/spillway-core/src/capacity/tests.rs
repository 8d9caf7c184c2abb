#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, sync::Arc};

use proptest::prelude::*;

use super::*;
use crate::resources::Resources;
use crate::snapshot::{BoundPod, LabelSelectorRequirement, PodAntiAffinityTerm};

const GI: i64 = 1 << 30;
const GPU: &str = "nvidia.com/gpu";
const ZONE: &str = "topology.kubernetes.io/zone";

// ---------------------------------------------------------------- builders

/// A Ready node named `name` (hostname label set): 4 CPUs, 16Gi memory,
/// 100Gi ephemeral storage, 110 pods.
fn node(name: &str) -> NodeInfo {
    NodeInfo {
        name: name.to_string(),
        labels: labels(&[(HOSTNAME_LABEL, name)]),
        taints: Vec::new(),
        ready: true,
        unschedulable: false,
        allocatable: Resources {
            cpu_millis: 4000,
            memory_bytes: 16 * GI,
            ephemeral_storage_bytes: 100 * GI,
            extended: BTreeMap::new(),
        },
        allocatable_pods: 110,
    }
}

fn node_with(name: &str, f: impl FnOnce(&mut NodeInfo)) -> NodeInfo {
    let mut n = node(name);
    f(&mut n);
    n
}

fn labeled(name: &str, extra: &[(&str, &str)]) -> NodeInfo {
    node_with(name, |n| n.labels.extend(labels(extra)))
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Namespace `default`, labels `app=web`, requests 1 CPU and 1Gi: four fit on a fresh [`node`].
fn template() -> PodTemplate {
    PodTemplate {
        namespace: "default".to_string(),
        labels: labels(&[("app", "web")]),
        requests: Resources {
            cpu_millis: 1000,
            memory_bytes: GI,
            ..Resources::default()
        },
        hash: "h".to_string(),
        ..PodTemplate::default()
    }
}

fn template_with(f: impl FnOnce(&mut PodTemplate)) -> PodTemplate {
    let mut t = template();
    f(&mut t);
    t
}

fn pod(node: &str, namespace: &str, pod_labels: &[(&str, &str)], cpu_millis: i64) -> BoundPod {
    BoundPod {
        node: node.into(),
        namespace: namespace.into(),
        labels: labels(pod_labels).into(),
        requests: Resources {
            cpu_millis,
            ..Resources::default()
        },
    }
}

fn taint(key: &str, value: Option<&str>, effect: TaintEffect) -> Taint {
    Taint {
        key: key.to_string(),
        value: value.map(str::to_string),
        effect,
    }
}

fn toleration(
    key: Option<&str>,
    operator: TolerationOperator,
    value: Option<&str>,
    effect: Option<TaintEffect>,
) -> Toleration {
    Toleration {
        key: key.map(str::to_string),
        operator,
        value: value.map(str::to_string),
        effect,
    }
}

fn expr(key: &str, operator: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.to_string(),
        operator,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn term(exprs: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: exprs,
        match_fields: Vec::new(),
    }
}

fn fields_term(fields: Vec<NodeSelectorRequirement>) -> NodeSelectorTerm {
    NodeSelectorTerm {
        match_expressions: Vec::new(),
        match_fields: fields,
    }
}

fn anti(topology_key: &str, match_labels: &[(&str, &str)], namespaces: &[&str]) -> PodAntiAffinityTerm {
    PodAntiAffinityTerm {
        label_selector: LabelSelector {
            match_labels: labels(match_labels),
            match_expressions: Vec::new(),
        },
        topology_key: topology_key.to_string(),
        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
    }
}

fn fit(nodes: Vec<NodeInfo>, pods: Vec<BoundPod>, template: &PodTemplate) -> Fit {
    fit_replicas(&ClusterSnapshot::new(nodes, pods), template)
}

/// One row of a table test: a cluster, a template, and the expected
/// `(replicas, eligible_nodes)`.
struct Case {
    name: &'static str,
    nodes: Vec<NodeInfo>,
    pods: Vec<BoundPod>,
    template: PodTemplate,
    want: (u32, u32),
}

fn case(name: &'static str, nodes: Vec<NodeInfo>, template: PodTemplate, want: (u32, u32)) -> Case {
    Case {
        name,
        nodes,
        pods: Vec::new(),
        template,
        want,
    }
}

fn case_with_pods(
    name: &'static str,
    nodes: Vec<NodeInfo>,
    pods: Vec<BoundPod>,
    template: PodTemplate,
    want: (u32, u32),
) -> Case {
    Case {
        name,
        nodes,
        pods,
        template,
        want,
    }
}

fn check(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in cases {
        let got = fit(c.nodes, c.pods, &c.template);
        if (got.replicas, got.eligible_nodes) != c.want {
            failures.push(format!(
                "{}: want (replicas, eligible) = {:?}, got {:?}",
                c.name,
                c.want,
                (got.replicas, got.eligible_nodes)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ------------------------------------------------------------ node status

#[test]
fn node_status_rules() {
    use TolerationOperator::Exists;
    check(vec![
        case("ready node", vec![node("a")], template(), (4, 1)),
        case(
            "not-ready node",
            vec![node_with("a", |n| n.ready = false)],
            template(),
            (0, 0),
        ),
        case(
            "not-ready node, tolerate-all template",
            vec![node_with("a", |n| n.ready = false)],
            template_with(|t| t.tolerations = vec![toleration(None, Exists, None, None)]),
            (0, 0),
        ),
        case(
            "cordoned node",
            vec![node_with("a", |n| n.unschedulable = true)],
            template(),
            (0, 0),
        ),
        case(
            "cordoned node, unschedulable taint tolerated (kube-scheduler NodeUnschedulable)",
            vec![node_with("a", |n| n.unschedulable = true)],
            template_with(|t| {
                t.tolerations = vec![toleration(Some(UNSCHEDULABLE_TAINT_KEY), Exists, None, None)]
            }),
            (4, 1),
        ),
        case(
            "cordoned node, toleration for another effect",
            vec![node_with("a", |n| n.unschedulable = true)],
            template_with(|t| {
                t.tolerations = vec![toleration(
                    Some(UNSCHEDULABLE_TAINT_KEY),
                    Exists,
                    None,
                    Some(TaintEffect::NoExecute),
                )]
            }),
            (0, 0),
        ),
        case(
            "only the healthy node counts",
            vec![
                node("a"),
                node_with("b", |n| n.ready = false),
                node_with("c", |n| n.unschedulable = true),
            ],
            template(),
            (4, 1),
        ),
        case("no nodes", vec![], template(), (0, 0)),
    ]);
}

// ------------------------------------------------------- taints/tolerations

#[test]
fn taint_rules() {
    use TaintEffect::{NoExecute, NoSchedule, PreferNoSchedule};
    use TolerationOperator::{Equal, Exists};
    let tainted = |key: &str, value: Option<&str>, effect| {
        let t = taint(key, value, effect);
        vec![node_with("a", move |n| n.taints = vec![t])]
    };
    let tolerating = |tols: Vec<Toleration>| template_with(|t| t.tolerations = tols);
    check(vec![
        case(
            "NoSchedule untolerated",
            tainted("gpu", Some("true"), NoSchedule),
            template(),
            (0, 0),
        ),
        case(
            "NoSchedule tolerated by Equal key and value",
            tainted("gpu", Some("true"), NoSchedule),
            tolerating(vec![toleration(
                Some("gpu"),
                Equal,
                Some("true"),
                Some(NoSchedule),
            )]),
            (4, 1),
        ),
        case(
            "Equal with the wrong value",
            tainted("gpu", Some("true"), NoSchedule),
            tolerating(vec![toleration(Some("gpu"), Equal, Some("false"), None)]),
            (0, 0),
        ),
        case(
            "Equal with the wrong key",
            tainted("gpu", Some("true"), NoSchedule),
            tolerating(vec![toleration(Some("spot"), Equal, Some("true"), None)]),
            (0, 0),
        ),
        case(
            "Equal: absent toleration value equals absent taint value",
            tainted("dedicated", None, NoSchedule),
            tolerating(vec![toleration(Some("dedicated"), Equal, None, None)]),
            (4, 1),
        ),
        case(
            "Equal: absent toleration value equals empty taint value",
            tainted("dedicated", Some(""), NoSchedule),
            tolerating(vec![toleration(Some("dedicated"), Equal, None, None)]),
            (4, 1),
        ),
        case(
            "Equal: absent toleration value does not match a set taint value",
            tainted("dedicated", Some("infra"), NoSchedule),
            tolerating(vec![toleration(Some("dedicated"), Equal, None, None)]),
            (0, 0),
        ),
        case(
            "Exists with key matches any value",
            tainted("gpu", Some("anything"), NoSchedule),
            tolerating(vec![toleration(Some("gpu"), Exists, None, None)]),
            (4, 1),
        ),
        case(
            "Exists with another key",
            tainted("gpu", Some("anything"), NoSchedule),
            tolerating(vec![toleration(Some("spot"), Exists, None, None)]),
            (0, 0),
        ),
        case(
            "Exists with empty key matches every taint",
            vec![node_with("a", |n| {
                n.taints = vec![
                    taint("gpu", Some("true"), NoSchedule),
                    taint("spot", None, NoExecute),
                ]
            })],
            tolerating(vec![toleration(None, Exists, None, None)]),
            (4, 1),
        ),
        case(
            "Exists with explicit empty key matches every taint",
            tainted("gpu", Some("true"), NoSchedule),
            tolerating(vec![toleration(Some(""), Exists, None, None)]),
            (4, 1),
        ),
        case(
            "effect-specific toleration for another effect",
            tainted("gpu", Some("true"), NoExecute),
            tolerating(vec![toleration(Some("gpu"), Exists, None, Some(NoSchedule))]),
            (0, 0),
        ),
        case(
            "effect-specific toleration for the same effect",
            tainted("gpu", Some("true"), NoExecute),
            tolerating(vec![toleration(Some("gpu"), Exists, None, Some(NoExecute))]),
            (4, 1),
        ),
        case(
            "empty-key Exists limited to one effect",
            tainted("gpu", Some("true"), NoExecute),
            tolerating(vec![toleration(None, Exists, None, Some(NoSchedule))]),
            (0, 0),
        ),
        case(
            "NoExecute untolerated",
            tainted("spot", None, NoExecute),
            template(),
            (0, 0),
        ),
        case(
            "NoExecute tolerated",
            tainted("spot", None, NoExecute),
            tolerating(vec![toleration(Some("spot"), Exists, None, None)]),
            (4, 1),
        ),
        case(
            "PreferNoSchedule ignored",
            tainted("spot", None, PreferNoSchedule),
            template(),
            (4, 1),
        ),
        case(
            "one of two taints untolerated",
            vec![node_with("a", |n| {
                n.taints = vec![
                    taint("gpu", Some("true"), NoSchedule),
                    taint("spot", None, NoSchedule),
                ]
            })],
            tolerating(vec![toleration(Some("gpu"), Exists, None, None)]),
            (0, 0),
        ),
        case(
            "each of two taints tolerated by its own toleration",
            vec![node_with("a", |n| {
                n.taints = vec![
                    taint("gpu", Some("true"), NoSchedule),
                    taint("spot", None, NoExecute),
                ]
            })],
            tolerating(vec![
                toleration(Some("gpu"), Equal, Some("true"), None),
                toleration(Some("spot"), Exists, None, Some(NoExecute)),
            ]),
            (4, 1),
        ),
        case(
            "tainted and untainted node",
            vec![
                node("a"),
                node_with("b", |n| n.taints = vec![taint("gpu", None, NoSchedule)]),
            ],
            template(),
            (4, 1),
        ),
    ]);
}

/// `tolerates` is Kubernetes' `ToleratesTaint`, including the corner an
/// Equal toleration with an empty key falls into (any key, value compared).
#[test]
fn toleration_matching_table() {
    use TaintEffect::{NoExecute, NoSchedule};
    use TolerationOperator::{Equal, Exists};
    /// A taint as (key, value, effect).
    type TaintParts = (&'static str, &'static str, TaintEffect);
    let rows: Vec<(&str, Toleration, TaintParts, bool)> = vec![
        (
            "Equal key value",
            toleration(Some("k"), Equal, Some("v"), None),
            ("k", "v", NoSchedule),
            true,
        ),
        (
            "Equal other value",
            toleration(Some("k"), Equal, Some("w"), None),
            ("k", "v", NoSchedule),
            false,
        ),
        (
            "Equal other key",
            toleration(Some("j"), Equal, Some("v"), None),
            ("k", "v", NoSchedule),
            false,
        ),
        (
            "Equal none vs empty",
            toleration(Some("k"), Equal, None, None),
            ("k", "", NoSchedule),
            true,
        ),
        (
            "Equal empty key, same value",
            toleration(None, Equal, Some("v"), None),
            ("k", "v", NoSchedule),
            true,
        ),
        (
            "Equal empty key, other value",
            toleration(None, Equal, Some("w"), None),
            ("k", "v", NoSchedule),
            false,
        ),
        (
            "Exists key",
            toleration(Some("k"), Exists, None, None),
            ("k", "v", NoExecute),
            true,
        ),
        (
            "Exists all",
            toleration(None, Exists, None, None),
            ("k", "v", NoExecute),
            true,
        ),
        (
            "Exists ignores its value",
            toleration(Some("k"), Exists, Some("x"), None),
            ("k", "v", NoSchedule),
            true,
        ),
        (
            "effect match",
            toleration(Some("k"), Exists, None, Some(NoExecute)),
            ("k", "v", NoExecute),
            true,
        ),
        (
            "effect mismatch",
            toleration(Some("k"), Exists, None, Some(NoExecute)),
            ("k", "v", NoSchedule),
            false,
        ),
    ];
    for (name, t, (key, value, effect), want) in rows {
        assert_eq!(tolerates(&t, key, value, effect), want, "{name}");
    }
}

// ------------------------------------------------------------ nodeSelector

#[test]
fn node_selector_rules() {
    let nodes = || {
        vec![
            labeled("a", &[("pool", "web"), ("disk", "ssd")]),
            labeled("b", &[("pool", "batch"), ("disk", "ssd")]),
            node("c"),
        ]
    };
    let selecting = |pairs: &[(&str, &str)]| {
        let sel = labels(pairs);
        template_with(move |t| t.node_selector = sel)
    };
    check(vec![
        case("no nodeSelector", nodes(), template(), (12, 3)),
        case("match", nodes(), selecting(&[("pool", "web")]), (4, 1)),
        case("shared label", nodes(), selecting(&[("disk", "ssd")]), (8, 2)),
        case(
            "all labels must match",
            nodes(),
            selecting(&[("pool", "web"), ("disk", "hdd")]),
            (0, 0),
        ),
        case(
            "both labels match",
            nodes(),
            selecting(&[("pool", "web"), ("disk", "ssd")]),
            (4, 1),
        ),
        case("value mismatch", nodes(), selecting(&[("pool", "gpu")]), (0, 0)),
        case("label absent", nodes(), selecting(&[("arch", "arm64")]), (0, 0)),
        case(
            "empty value needs the label",
            nodes(),
            selecting(&[("pool", "")]),
            (0, 0),
        ),
        case(
            "by hostname",
            nodes(),
            selecting(&[(HOSTNAME_LABEL, "c")]),
            (4, 1),
        ),
        case(
            "by hostname and label",
            nodes(),
            selecting(&[(HOSTNAME_LABEL, "b"), ("pool", "batch")]),
            (4, 1),
        ),
        case(
            "by hostname, label mismatch",
            nodes(),
            selecting(&[(HOSTNAME_LABEL, "b"), ("pool", "web")]),
            (0, 0),
        ),
    ]);
}

// ----------------------------------------------------------- node affinity

#[test]
fn node_affinity_rules() {
    use NodeSelectorOperator::{DoesNotExist, Exists, Gt, In, Lt, NotIn};
    let nodes = || {
        vec![
            labeled("a", &[(ZONE, "a"), ("cores", "8")]),
            labeled("b", &[(ZONE, "b"), ("cores", "16")]),
            node("c"),
            labeled("d", &[("cores", "many")]),
        ]
    };
    let affinity = |terms: Vec<NodeSelectorTerm>| template_with(|t| t.required_node_affinity = terms);
    let one = |e: NodeSelectorRequirement| affinity(vec![term(vec![e])]);
    check(vec![
        case("no terms: no constraint", nodes(), affinity(vec![]), (16, 4)),
        case("In", nodes(), one(expr(ZONE, In, &["a"])), (4, 1)),
        case(
            "In, several values",
            nodes(),
            one(expr(ZONE, In, &["a", "b"])),
            (8, 2),
        ),
        case("In, no such value", nodes(), one(expr(ZONE, In, &["z"])), (0, 0)),
        case(
            "In without values fails",
            nodes(),
            one(expr(ZONE, In, &[])),
            (0, 0),
        ),
        case(
            "NotIn, absent label matches",
            nodes(),
            one(expr(ZONE, NotIn, &["a"])),
            (12, 3),
        ),
        case(
            "NotIn, several values",
            nodes(),
            one(expr(ZONE, NotIn, &["a", "b"])),
            (8, 2),
        ),
        case(
            "NotIn without values fails",
            nodes(),
            one(expr(ZONE, NotIn, &[])),
            (0, 0),
        ),
        case("Exists", nodes(), one(expr(ZONE, Exists, &[])), (8, 2)),
        case(
            "Exists with values fails",
            nodes(),
            one(expr(ZONE, Exists, &["a"])),
            (0, 0),
        ),
        case(
            "DoesNotExist",
            nodes(),
            one(expr(ZONE, DoesNotExist, &[])),
            (8, 2),
        ),
        case("Gt", nodes(), one(expr("cores", Gt, &["10"])), (4, 1)),
        case("Gt is strict", nodes(), one(expr("cores", Gt, &["16"])), (0, 0)),
        case(
            "Gt, negative bound",
            nodes(),
            one(expr("cores", Gt, &["-1"])),
            (8, 2),
        ),
        case("Lt", nodes(), one(expr("cores", Lt, &["10"])), (4, 1)),
        case("Lt is strict", nodes(), one(expr("cores", Lt, &["8"])), (0, 0)),
        case(
            "Lt, absent label does not match",
            nodes(),
            one(expr("cores", Lt, &["100"])),
            (8, 2),
        ),
        case(
            "Gt, unparsable label value",
            vec![labeled("d", &[("cores", "many")])],
            one(expr("cores", Gt, &["1"])),
            (0, 0),
        ),
        case(
            "Lt, unparsable bound",
            nodes(),
            one(expr("cores", Lt, &["ten"])),
            (0, 0),
        ),
        case(
            "Gt, two values fails",
            nodes(),
            one(expr("cores", Gt, &["1", "2"])),
            (0, 0),
        ),
        case("Gt, no value fails", nodes(), one(expr("cores", Gt, &[])), (0, 0)),
        case(
            "expressions within a term are ANDed",
            nodes(),
            affinity(vec![term(vec![
                expr(ZONE, Exists, &[]),
                expr("cores", Lt, &["10"]),
            ])]),
            (4, 1),
        ),
        case(
            "terms are ORed",
            nodes(),
            affinity(vec![
                term(vec![expr(ZONE, In, &["a"])]),
                term(vec![expr("cores", Gt, &["10"])]),
            ]),
            (8, 2),
        ),
        case(
            "terms are ORed, overlapping terms count a node once",
            nodes(),
            affinity(vec![
                term(vec![expr(ZONE, Exists, &[])]),
                term(vec![expr("cores", Gt, &["1"])]),
            ]),
            (8, 2),
        ),
        case(
            "an empty term matches nothing",
            nodes(),
            affinity(vec![term(vec![])]),
            (0, 0),
        ),
        case(
            "an empty term ORed with a real one",
            nodes(),
            affinity(vec![term(vec![]), term(vec![expr(ZONE, In, &["b"])])]),
            (4, 1),
        ),
        case(
            "a malformed term ORed with a real one",
            nodes(),
            affinity(vec![
                term(vec![expr(ZONE, In, &[])]),
                term(vec![expr(ZONE, In, &["b"])]),
            ]),
            (4, 1),
        ),
        case(
            "hostname expression (per-node path)",
            nodes(),
            one(expr(HOSTNAME_LABEL, In, &["c", "d"])),
            (8, 2),
        ),
        case(
            "hostname NotIn (per-node path)",
            nodes(),
            one(expr(HOSTNAME_LABEL, NotIn, &["a"])),
            (12, 3),
        ),
        case(
            "nodeSelector and affinity both apply",
            nodes(),
            template_with(|t| {
                t.node_selector = labels(&[(ZONE, "a")]);
                t.required_node_affinity = vec![term(vec![expr(ZONE, In, &["a", "b"])])];
            }),
            (4, 1),
        ),
    ]);
}

#[test]
fn match_fields_rules() {
    use NodeSelectorOperator::{Exists, In, NotIn};
    let nodes = || {
        vec![
            labeled("a", &[(ZONE, "a")]),
            labeled("b", &[(ZONE, "a")]),
            node("c"),
        ]
    };
    let affinity = |terms: Vec<NodeSelectorTerm>| template_with(|t| t.required_node_affinity = terms);
    check(vec![
        case(
            "metadata.name In",
            nodes(),
            affinity(vec![fields_term(vec![expr(NODE_NAME_FIELD, In, &["b"])])]),
            (4, 1),
        ),
        case(
            "metadata.name NotIn",
            nodes(),
            affinity(vec![fields_term(vec![expr(NODE_NAME_FIELD, NotIn, &["b"])])]),
            (8, 2),
        ),
        case(
            "metadata.name, unknown node",
            nodes(),
            affinity(vec![fields_term(vec![expr(NODE_NAME_FIELD, In, &["zz"])])]),
            (0, 0),
        ),
        case(
            "metadata.name with two values fails",
            nodes(),
            affinity(vec![fields_term(vec![expr(NODE_NAME_FIELD, In, &["a", "b"])])]),
            (0, 0),
        ),
        case(
            "metadata.name with an unsupported operator fails",
            nodes(),
            affinity(vec![fields_term(vec![expr(NODE_NAME_FIELD, Exists, &["a"])])]),
            (0, 0),
        ),
        case(
            "unsupported field key fails",
            nodes(),
            affinity(vec![fields_term(vec![expr("metadata.uid", NotIn, &["x"])])]),
            (0, 0),
        ),
        case(
            "fields and expressions ANDed in one term",
            nodes(),
            affinity(vec![NodeSelectorTerm {
                match_expressions: vec![expr(ZONE, In, &["a"])],
                match_fields: vec![expr(NODE_NAME_FIELD, NotIn, &["a"])],
            }]),
            (4, 1),
        ),
        case(
            "fields term ORed with an expressions term",
            nodes(),
            affinity(vec![
                fields_term(vec![expr(NODE_NAME_FIELD, In, &["c"])]),
                term(vec![expr(ZONE, In, &["a"])]),
            ]),
            (12, 3),
        ),
    ]);
}

// ------------------------------------------------------ pod anti-affinity

#[test]
fn pod_anti_affinity_rules() {
    let two = || vec![node("a"), node("b")];
    let with_terms =
        |terms: Vec<PodAntiAffinityTerm>| template_with(|t| t.required_pod_anti_affinity = terms);
    let away_from_db = || with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "db")], &[])]);
    check(vec![
        case_with_pods(
            "node with a matching pod excluded",
            two(),
            vec![pod("a", "default", &[("app", "db")], 0)],
            away_from_db(),
            (4, 1),
        ),
        case_with_pods(
            "non-matching pod does not exclude",
            two(),
            vec![pod("a", "default", &[("app", "cache")], 0)],
            away_from_db(),
            (8, 2),
        ),
        case_with_pods(
            "matching pod in another namespace does not exclude",
            two(),
            vec![pod("a", "other", &[("app", "db")], 0)],
            away_from_db(),
            (8, 2),
        ),
        case_with_pods(
            "term namespaces name the other namespace",
            two(),
            vec![pod("a", "other", &[("app", "db")], 0)],
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "db")], &["other"])]),
            (4, 1),
        ),
        case_with_pods(
            "term namespaces exclude the template's own",
            two(),
            vec![pod("a", "default", &[("app", "db")], 0)],
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "db")], &["other"])]),
            (8, 2),
        ),
        case_with_pods(
            "pod on an unknown node is ignored",
            two(),
            vec![pod("gone", "default", &[("app", "db")], 0)],
            away_from_db(),
            (8, 2),
        ),
        case_with_pods(
            "empty selector matches every pod in the namespace",
            two(),
            vec![pod("b", "default", &[], 0)],
            with_terms(vec![anti(HOSTNAME_LABEL, &[], &[])]),
            (1, 1),
        ),
        case(
            "self-matching term caps each node at one",
            two(),
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "web")], &[])]),
            (2, 2),
        ),
        case_with_pods(
            "self-matching term excludes nodes already running a replica",
            two(),
            vec![pod("a", "default", &[("app", "web")], 0)],
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "web")], &[])]),
            (1, 1),
        ),
        case(
            "self-matching cap still bounded by resources",
            vec![node_with("a", |n| n.allocatable.cpu_millis = 500), node("b")],
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "web")], &[])]),
            (1, 2),
        ),
        case(
            "selector matches own labels but not own namespace: no cap",
            two(),
            with_terms(vec![anti(HOSTNAME_LABEL, &[("app", "web")], &["other"])]),
            (8, 2),
        ),
        case(
            "non-hostname topology key is not evaluated",
            two(),
            with_terms(vec![anti(ZONE, &[("app", "web")], &[])]),
            (8, 2),
        ),
        case_with_pods(
            "non-hostname term skipped, hostname term applied",
            two(),
            vec![pod("b", "default", &[("app", "db")], 0)],
            with_terms(vec![
                anti(ZONE, &[("app", "web")], &[]),
                anti(HOSTNAME_LABEL, &[("app", "db")], &[]),
            ]),
            (4, 1),
        ),
        case_with_pods(
            "two hostname terms each exclude",
            vec![node("a"), node("b"), node("c")],
            vec![
                pod("a", "default", &[("app", "db")], 0),
                pod("b", "other", &[("tier", "cache")], 0),
            ],
            with_terms(vec![
                anti(HOSTNAME_LABEL, &[("app", "db")], &[]),
                anti(HOSTNAME_LABEL, &[("tier", "cache")], &["other", "default"]),
            ]),
            (4, 1),
        ),
        case_with_pods(
            "anti-affinity on a node ineligible anyway",
            vec![node_with("a", |n| n.ready = false), node("b")],
            vec![pod("a", "default", &[("app", "db")], 0)],
            away_from_db(),
            (4, 1),
        ),
    ]);
}

#[test]
fn non_hostname_topology_keys_noted_once_each() {
    let t = template_with(|t| {
        t.required_pod_anti_affinity = vec![
            anti(ZONE, &[("app", "web")], &[]),
            anti(HOSTNAME_LABEL, &[("app", "web")], &[]),
            anti(ZONE, &[("app", "db")], &[]),
            anti("topology.kubernetes.io/region", &[("app", "web")], &[]),
        ]
    });
    let f = fit(vec![node("a")], vec![], &t);
    assert_eq!((f.replicas, f.eligible_nodes), (1, 1));
    assert_eq!(f.notes.len(), 2, "{:?}", f.notes);
    assert!(f.notes[0].contains(ZONE), "{:?}", f.notes);
    assert!(
        f.notes[1].contains("topology.kubernetes.io/region"),
        "{:?}",
        f.notes
    );

    let plain = fit(vec![node("a")], vec![], &template());
    assert!(plain.notes.is_empty());
}

#[test]
fn label_selector_table() {
    use LabelSelectorOperator::{DoesNotExist, Exists, In, NotIn};
    let sel =
        |match_labels: &[(&str, &str)], exprs: &[(&str, LabelSelectorOperator, &[&str])]| LabelSelector {
            match_labels: labels(match_labels),
            match_expressions: exprs
                .iter()
                .map(|(k, op, vs)| LabelSelectorRequirement {
                    key: k.to_string(),
                    operator: *op,
                    values: vs.iter().map(|v| v.to_string()).collect(),
                })
                .collect(),
        };
    let pod_labels = labels(&[("app", "web"), ("tier", "front")]);
    let rows: Vec<(&str, LabelSelector, bool)> = vec![
        ("empty selector", sel(&[], &[]), true),
        ("matchLabels hit", sel(&[("app", "web")], &[]), true),
        (
            "matchLabels miss",
            sel(&[("app", "web"), ("tier", "back")], &[]),
            false,
        ),
        ("In hit", sel(&[], &[("app", In, &["db", "web"])]), true),
        ("In miss", sel(&[], &[("app", In, &["db"])]), false),
        ("In absent", sel(&[], &[("zone", In, &["a"])]), false),
        ("NotIn hit", sel(&[], &[("app", NotIn, &["db"])]), true),
        ("NotIn miss", sel(&[], &[("app", NotIn, &["web"])]), false),
        ("NotIn absent", sel(&[], &[("zone", NotIn, &["a"])]), true),
        ("Exists", sel(&[], &[("tier", Exists, &[])]), true),
        ("Exists absent", sel(&[], &[("zone", Exists, &[])]), false),
        ("DoesNotExist", sel(&[], &[("zone", DoesNotExist, &[])]), true),
        (
            "DoesNotExist present",
            sel(&[], &[("app", DoesNotExist, &[])]),
            false,
        ),
        (
            "labels and expressions ANDed",
            sel(&[("app", "web")], &[("tier", In, &["back"])]),
            false,
        ),
    ];
    for (name, s, want) in rows {
        assert_eq!(selector_matches(&s, &pod_labels), want, "{name}");
    }
}

// --------------------------------------------------------------- resources

#[test]
fn resource_rules() {
    let requesting = |cpu: i64, mem: i64, eph: i64| {
        template_with(|t| {
            t.requests = Resources {
                cpu_millis: cpu,
                memory_bytes: mem,
                ephemeral_storage_bytes: eph,
                extended: BTreeMap::new(),
            }
        })
    };
    let gpus = |n: i64| template_with(|t| t.requests.extended = BTreeMap::from([(GPU.to_string(), n)]));
    let gpu_node = |name: &str, n: i64| {
        node_with(name, |node| {
            node.allocatable.extended.insert(GPU.to_string(), n);
        })
    };
    let with_requests = |mut p: BoundPod, f: fn(&mut Resources)| {
        f(&mut p.requests);
        p
    };
    check(vec![
        case("cpu binds", vec![node("a")], requesting(1000, GI, 0), (4, 1)),
        case(
            "cpu binds, rounding down",
            vec![node("a")],
            requesting(1500, GI, 0),
            (2, 1),
        ),
        case(
            "memory binds",
            vec![node("a")],
            requesting(100, 5 * GI, 0),
            (3, 1),
        ),
        case(
            "ephemeral storage binds",
            vec![node("a")],
            requesting(100, GI, 30 * GI),
            (3, 1),
        ),
        case("extended resource binds", vec![gpu_node("a", 2)], gpus(1), (2, 1)),
        case(
            "extended resource request of several units",
            vec![gpu_node("a", 5)],
            gpus(2),
            (2, 1),
        ),
        case(
            "extended resource missing on node",
            vec![node("a")],
            gpus(1),
            (0, 1),
        ),
        case(
            "extended resource request of zero is no limit",
            vec![node("a")],
            gpus(0),
            (4, 1),
        ),
        case(
            "extended resource on one node of two",
            vec![gpu_node("a", 3), node("b")],
            gpus(1),
            (3, 2),
        ),
        case(
            "pods count binds",
            vec![node_with("a", |n| n.allocatable_pods = 3)],
            requesting(100, GI, 0),
            (3, 1),
        ),
        case(
            "zero requests: only pods count",
            vec![node("a")],
            requesting(0, 0, 0),
            (110, 1),
        ),
        case(
            "request larger than the node",
            vec![node("a")],
            requesting(8000, GI, 0),
            (0, 1),
        ),
        case(
            "sums over nodes",
            vec![node("a"), node("b"), node("c")],
            template(),
            (12, 3),
        ),
        case(
            "saturates into u32",
            vec![
                node_with("a", |n| n.allocatable_pods = i64::MAX),
                node_with("b", |n| n.allocatable_pods = i64::MAX),
            ],
            requesting(0, 0, 0),
            (u32::MAX, 2),
        ),
        case(
            "no overflow with huge free and huge requests",
            vec![node_with("a", |n| {
                n.allocatable_pods = i64::MAX;
                n.allocatable.memory_bytes = i64::MAX;
            })],
            requesting(0, i64::MAX / 2, 0),
            (2, 1),
        ),
        case_with_pods(
            "existing cpu requests subtracted",
            vec![node("a")],
            vec![pod("a", "default", &[], 2500)],
            template(),
            (1, 1),
        ),
        case_with_pods(
            "existing memory requests subtracted",
            vec![node("a")],
            vec![with_requests(pod("a", "default", &[], 0), |r| {
                r.memory_bytes = 14 * GI
            })],
            requesting(100, GI, 0),
            (2, 1),
        ),
        case_with_pods(
            "existing ephemeral requests subtracted",
            vec![node("a")],
            vec![with_requests(pod("a", "default", &[], 0), |r| {
                r.ephemeral_storage_bytes = 90 * GI
            })],
            requesting(100, GI, 5 * GI),
            (2, 1),
        ),
        case_with_pods(
            "existing extended requests subtracted",
            vec![gpu_node("a", 4)],
            vec![with_requests(pod("a", "default", &[], 0), |r| {
                r.extended.insert(GPU.to_string(), 3);
            })],
            gpus(1),
            (1, 1),
        ),
        case_with_pods(
            "existing pods count subtracted",
            vec![node_with("a", |n| n.allocatable_pods = 3)],
            vec![pod("a", "default", &[], 0), pod("a", "kube-system", &[], 0)],
            requesting(100, GI, 0),
            (1, 1),
        ),
        case_with_pods(
            "pods on other nodes not subtracted",
            vec![node("a"), node("b")],
            vec![pod("b", "default", &[], 4000), pod("gone", "default", &[], 4000)],
            template(),
            (4, 2),
        ),
        case_with_pods(
            "overcommitted cpu gives 0, not negative",
            vec![node("a"), node("b")],
            vec![pod("a", "default", &[], 9000)],
            template(),
            (4, 2),
        ),
        case_with_pods(
            "overcommitted extended resource gives 0",
            vec![gpu_node("a", 1), gpu_node("b", 2)],
            vec![with_requests(pod("a", "default", &[], 0), |r| {
                r.extended.insert(GPU.to_string(), 4);
            })],
            gpus(1),
            (2, 2),
        ),
        case_with_pods(
            "overcommitted pods count gives 0",
            vec![node_with("a", |n| n.allocatable_pods = 1), node("b")],
            vec![pod("a", "default", &[], 0), pod("a", "default", &[], 0)],
            requesting(0, 0, 0),
            (110, 2),
        ),
        case_with_pods(
            "overcommitted resource not requested is no limit",
            vec![node("a")],
            vec![pod("a", "default", &[], 9000)],
            requesting(0, GI, 0),
            (16, 1),
        ),
    ]);
}

#[test]
fn limit_arithmetic() {
    let rows: Vec<(i64, i64, i64, i64)> = vec![
        // (k, free, request, want)
        (10, 100, 0, 10),
        (10, -5, 0, 10),
        (10, 100, -1, 10),
        (10, 100, 30, 3),
        (10, 100, 10, 10),
        (10, 99, 10, 9),
        (0, 100, 1, 0),
        (10, 0, 1, 0),
        (10, -100, 1, 0),
        (i64::MAX, i64::MAX, 2, i64::MAX / 2),
        (i64::MAX, 7, i64::MAX, 0),
        (3, i64::MAX, i64::MAX / 2, 2),
    ];
    for (k, free, request, want) in rows {
        assert_eq!(limit(k, free, request), want, "limit({k}, {free}, {request})");
    }
}

/// Nodes alike but for their hostname share a class; any other difference splits them.
#[test]
fn scheduling_classes() {
    let snapshot = ClusterSnapshot::new(
        vec![
            labeled("a", &[(ZONE, "a")]),
            labeled("b", &[(ZONE, "a")]),
            labeled("c", &[(ZONE, "b")]),
            node_with("d", |n| {
                n.labels.insert(ZONE.to_string(), "a".to_string());
                n.unschedulable = true;
            }),
            node_with("e", |n| {
                n.labels.insert(ZONE.to_string(), "a".to_string());
                n.taints = vec![taint("gpu", None, TaintEffect::NoSchedule)];
            }),
            node_with("f", |n| {
                n.labels.insert(ZONE.to_string(), "a".to_string());
                n.allocatable.cpu_millis = 1;
            }),
        ],
        vec![],
    );
    let classes = snapshot.node_classes();
    assert_eq!(classes[0], classes[1]);
    assert_eq!(classes[0], classes[5], "resources do not split classes");
    assert_ne!(classes[0], classes[2]);
    assert_ne!(classes[0], classes[3]);
    assert_ne!(classes[0], classes[4]);
    assert_eq!(snapshot.class_representatives().len(), 4);

    // Per-node rules still tell apart nodes of one class.
    let t = template_with(|t| t.node_selector = labels(&[(HOSTNAME_LABEL, "b")]));
    assert_eq!(fit_replicas(&snapshot, &t).eligible_nodes, 1);
}

// --------------------------------------------------------------- proptests

/// The straightforward, per-node evaluation of the same rules: no classes,
/// no precomputed free array, no namespace index, plain division.
fn reference_fit(cluster: &ClusterSnapshot, template: &PodTemplate) -> (u32, u32) {
    let hostname_terms: Vec<&PodAntiAffinityTerm> = template
        .required_pod_anti_affinity
        .iter()
        .filter(|t| t.topology_key == HOSTNAME_LABEL)
        .collect();
    let own = [template.namespace.clone()];
    let namespaces = |t: &PodAntiAffinityTerm| -> Vec<String> {
        if t.namespaces.is_empty() {
            own.to_vec()
        } else {
            t.namespaces.clone()
        }
    };
    let self_match = hostname_terms.iter().any(|t| {
        namespaces(t).contains(&template.namespace) && selector_matches(&t.label_selector, &template.labels)
    });
    let mut total: u64 = 0;
    let mut eligible = 0;
    for u in cluster.nodes() {
        let n = &u.node;
        let blocked = hostname_terms.iter().any(|t| {
            u.pods.iter().any(|&p| {
                let pod = &cluster.pods()[p];
                namespaces(t).iter().any(|n| **n == *pod.namespace)
                    && selector_matches(&t.label_selector, &pod.labels)
            })
        });
        if !(status_ok(n, &template.tolerations)
            && taints_tolerated(&n.taints, &template.tolerations)
            && labels_ok(n, template))
            || blocked
        {
            continue;
        }
        eligible += 1;
        let r = &template.requests;
        let mut k = (n.allocatable_pods - u.pod_count).max(0);
        let mut dims = vec![
            (n.allocatable.cpu_millis - u.requested.cpu_millis, r.cpu_millis),
            (
                n.allocatable.memory_bytes - u.requested.memory_bytes,
                r.memory_bytes,
            ),
            (
                n.allocatable.ephemeral_storage_bytes - u.requested.ephemeral_storage_bytes,
                r.ephemeral_storage_bytes,
            ),
        ];
        for (name, &req) in &r.extended {
            let alloc = n.allocatable.extended.get(name).copied().unwrap_or(0);
            let used = u.requested.extended.get(name).copied().unwrap_or(0);
            dims.push((alloc - used, req));
        }
        for (free, req) in dims {
            if req > 0 {
                k = k.min(free.max(0) / req);
            }
        }
        if self_match {
            k = k.min(1);
        }
        total += u64::try_from(k).unwrap();
    }
    (u32::try_from(total).unwrap_or(u32::MAX), eligible)
}

fn opt_label(
    key: &'static str,
    values: &'static [&'static str],
) -> impl Strategy<Value = Option<(String, String)>> {
    proptest::option::of(proptest::sample::select(values).prop_map(move |v| (key.to_string(), v.to_string())))
}

fn arb_node(i: usize) -> impl Strategy<Value = NodeInfo> {
    let taints = proptest::collection::vec(
        (
            proptest::sample::select(&["gpu", "spot", "dedicated"][..]),
            proptest::option::of(proptest::sample::select(&["true", "infra"][..])),
            proptest::sample::select(
                &[
                    TaintEffect::NoSchedule,
                    TaintEffect::NoExecute,
                    TaintEffect::PreferNoSchedule,
                ][..],
            ),
        ),
        0..2,
    );
    (
        opt_label(ZONE, &["a", "b"]),
        opt_label("cores", &["4", "16", "x"]),
        any::<bool>(),
        taints,
        prop_oneof![4 => Just(true), 1 => Just(false)],
        prop_oneof![4 => Just(false), 1 => Just(true)],
        (
            0i64..8000,
            0i64..16,
            0i64..8,
            proptest::option::of(0i64..4),
            0i64..12,
        ),
    )
        .prop_map(
            move |(zone, cores, hostname, taints, ready, unschedulable, (cpu, mem, eph, gpu, pods))| {
                let name = format!("n{i}");
                let mut labels: Labels = zone.into_iter().chain(cores).collect();
                if hostname {
                    labels.insert(HOSTNAME_LABEL.to_string(), name.clone());
                }
                NodeInfo {
                    labels,
                    taints: taints
                        .into_iter()
                        .map(|(k, v, effect)| taint(k, v, effect))
                        .collect(),
                    ready,
                    unschedulable,
                    allocatable: Resources {
                        cpu_millis: cpu,
                        memory_bytes: mem * GI,
                        ephemeral_storage_bytes: eph * GI,
                        extended: gpu.map(|g| (GPU.to_string(), g)).into_iter().collect(),
                    },
                    allocatable_pods: pods,
                    name,
                }
            },
        )
}

fn arb_pod(nodes: usize) -> impl Strategy<Value = BoundPod> {
    (
        0..nodes + 1,
        proptest::sample::select(&["default", "other"][..]),
        opt_label("app", &["web", "db"]),
        (0i64..3000, 0i64..6, 0i64..3, proptest::option::of(0i64..3)),
    )
        .prop_map(|(n, ns, app, (cpu, mem, eph, gpu))| BoundPod {
            node: format!("n{n}").into(), // n{nodes} is a node that is not in the snapshot
            namespace: ns.into(),
            labels: Arc::new(app.into_iter().collect()),
            requests: Resources {
                cpu_millis: cpu,
                memory_bytes: mem * GI,
                ephemeral_storage_bytes: eph * GI,
                extended: gpu.map(|g| (GPU.to_string(), g)).into_iter().collect(),
            },
        })
}

fn arb_requirement() -> impl Strategy<Value = NodeSelectorRequirement> {
    use NodeSelectorOperator::{DoesNotExist, Exists, Gt, In, Lt, NotIn};
    prop_oneof![
        (
            proptest::sample::select(&[In, NotIn][..]),
            proptest::sample::subsequence(&["a", "b", "c"][..], 0..3)
        )
            .prop_map(|(op, vs)| expr(ZONE, op, &vs)),
        proptest::sample::select(&[Exists, DoesNotExist][..]).prop_map(|op| expr(ZONE, op, &[])),
        (
            proptest::sample::select(&[Gt, Lt][..]),
            proptest::sample::select(&["5", "x"][..])
        )
            .prop_map(|(op, v)| expr("cores", op, &[v])),
        (proptest::sample::select(&[In, NotIn][..]), 0usize..4).prop_map(|(op, n)| expr(
            HOSTNAME_LABEL,
            op,
            &[&format!("n{n}")]
        )),
    ]
}

fn arb_term() -> impl Strategy<Value = NodeSelectorTerm> {
    (
        proptest::collection::vec(arb_requirement(), 0..3),
        proptest::option::of((any::<bool>(), 0usize..4)),
    )
        .prop_map(|(exprs, field)| NodeSelectorTerm {
            match_expressions: exprs,
            match_fields: field
                .map(|(in_, n)| {
                    let op = if in_ {
                        NodeSelectorOperator::In
                    } else {
                        NodeSelectorOperator::NotIn
                    };
                    expr(NODE_NAME_FIELD, op, &[&format!("n{n}")])
                })
                .into_iter()
                .collect(),
        })
}

fn arb_template() -> impl Strategy<Value = PodTemplate> {
    use TolerationOperator::{Equal, Exists};
    let tolerations = proptest::sample::subsequence(
        vec![
            toleration(Some("gpu"), Exists, None, None),
            toleration(Some("spot"), Exists, None, Some(TaintEffect::NoExecute)),
            toleration(Some("dedicated"), Equal, Some("infra"), None),
            toleration(Some(UNSCHEDULABLE_TAINT_KEY), Exists, None, None),
            toleration(None, Exists, None, None),
        ],
        0..3,
    );
    let anti_terms = proptest::collection::vec(
        (
            proptest::sample::select(&[HOSTNAME_LABEL, ZONE][..]),
            opt_label("app", &["web", "db"]),
            proptest::sample::subsequence(&["default", "other"][..], 0..2),
        )
            .prop_map(|(key, app, namespaces)| PodAntiAffinityTerm {
                label_selector: LabelSelector {
                    match_labels: app.into_iter().collect(),
                    match_expressions: Vec::new(),
                },
                topology_key: key.to_string(),
                namespaces: namespaces.into_iter().map(str::to_string).collect(),
            }),
        0..3,
    );
    (
        proptest::sample::select(&["default", "other"][..]),
        (0i64..3000, 0i64..6, 0i64..3, proptest::option::of(0i64..3)),
        opt_label(ZONE, &["a", "b"]),
        proptest::option::of((0usize..4).prop_map(|n| (HOSTNAME_LABEL.to_string(), format!("n{n}")))),
        tolerations,
        proptest::collection::vec(arb_term(), 0..3),
        anti_terms,
    )
        .prop_map(
            |(ns, (cpu, mem, eph, gpu), zone, host, tolerations, affinity, anti)| PodTemplate {
                namespace: ns.to_string(),
                labels: labels(&[("app", "web")]),
                requests: Resources {
                    cpu_millis: cpu,
                    memory_bytes: mem * GI,
                    ephemeral_storage_bytes: eph * GI,
                    extended: gpu.map(|g| (GPU.to_string(), g)).into_iter().collect(),
                },
                node_selector: zone.into_iter().chain(host).collect(),
                tolerations,
                required_node_affinity: affinity,
                required_pod_anti_affinity: anti,
                topology_spread: Vec::new(),
                hash: "h".to_string(),
            },
        )
}

fn arb_cluster() -> impl Strategy<Value = (Vec<NodeInfo>, Vec<BoundPod>)> {
    (0usize..6).prop_flat_map(|n| {
        (
            (0..n).map(arb_node).collect::<Vec<_>>(),
            proptest::collection::vec(arb_pod(n.max(1)), 0..12),
        )
    })
}

fn unconstrained(template: &PodTemplate) -> PodTemplate {
    PodTemplate {
        node_selector: Labels::new(),
        tolerations: vec![toleration(None, TolerationOperator::Exists, None, None)],
        required_node_affinity: Vec::new(),
        required_pod_anti_affinity: Vec::new(),
        ..template.clone()
    }
}

proptest! {
    #[test]
    fn adding_a_bound_pod_never_increases_fit(
        (nodes, pods) in arb_cluster(),
        template in arb_template(),
        extra in arb_pod(6),
    ) {
        let before = fit(nodes.clone(), pods.clone(), &template);
        let mut more = pods;
        more.push(extra);
        let after = fit(nodes, more, &template);
        prop_assert!(after.replicas <= before.replicas, "{} > {}", after.replicas, before.replicas);
        prop_assert!(after.eligible_nodes <= before.eligible_nodes);
    }

    #[test]
    fn removing_constraints_never_decreases_fit(
        (nodes, pods) in arb_cluster(),
        template in arb_template(),
    ) {
        let cluster = ClusterSnapshot::new(nodes, pods);
        let constrained = fit_replicas(&cluster, &template);
        let free = fit_replicas(&cluster, &unconstrained(&template));
        prop_assert!(free.replicas >= constrained.replicas, "{} < {}", free.replicas, constrained.replicas);
        prop_assert!(free.eligible_nodes >= constrained.eligible_nodes);
        prop_assert!(free.notes.is_empty());
    }

    #[test]
    fn fit_matches_the_per_node_reference(
        (nodes, pods) in arb_cluster(),
        template in arb_template(),
    ) {
        let cluster = ClusterSnapshot::new(nodes, pods);
        let got = fit_replicas(&cluster, &template);
        prop_assert_eq!((got.replicas, got.eligible_nodes), reference_fit(&cluster, &template));
    }
}
