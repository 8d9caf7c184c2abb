//! `ClusterSnapshot::update` must give exactly what `ClusterSnapshot::new`
//! gives over the same nodes and pods.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::resources::Resources;

fn node(name: &str, zone: &str) -> NodeInfo {
    NodeInfo {
        name: name.into(),
        labels: [("zone", zone), (HOSTNAME_LABEL, name)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ready: true,
        allocatable: Resources {
            cpu_millis: 4000,
            memory_bytes: 8 << 30,
            ..Default::default()
        },
        allocatable_pods: 110,
        ..Default::default()
    }
}

fn pod(node: &str, namespace: &str, app: &str, cpu_millis: i64) -> BoundPod {
    BoundPod {
        node: node.into(),
        namespace: namespace.into(),
        labels: Arc::new([("app".to_string(), app.to_string())].into_iter().collect()),
        requests: Resources {
            cpu_millis,
            ..Default::default()
        },
    }
}

/// Applies `node_entries` / `pod_entries` to `before` and checks the result
/// against a snapshot built from scratch from the same resolved entries.
fn assert_update_matches_new(
    before: &ClusterSnapshot,
    node_entries: Vec<Entry<NodeInfo>>,
    pod_entries: Vec<Entry<BoundPod>>,
) -> ClusterSnapshot {
    let resolve_nodes: Vec<NodeInfo> = node_entries
        .iter()
        .map(|e| match e {
            Entry::Kept(i) => before.nodes()[*i].node.clone(),
            Entry::New(n) => n.clone(),
        })
        .collect();
    let resolve_pods: Vec<BoundPod> = pod_entries
        .iter()
        .map(|e| match e {
            Entry::Kept(i) => before.pods()[*i].clone(),
            Entry::New(p) => p.clone(),
        })
        .collect();
    let mut updated = before.clone();
    updated.update(node_entries, pod_entries).expect("valid entries");
    let fresh = ClusterSnapshot::new(resolve_nodes, resolve_pods);
    assert_eq!(updated, fresh);
    updated
}

fn kept<T>(range: std::ops::Range<usize>) -> Vec<Entry<T>> {
    range.map(Entry::Kept).collect()
}

fn cluster() -> ClusterSnapshot {
    ClusterSnapshot::new(
        vec![node("a", "z1"), node("b", "z1"), node("c", "z2")],
        vec![
            pod("a", "shop", "web", 100),
            pod("b", "shop", "web", 200),
            pod("c", "ops", "db", 300),
            pod("gone", "shop", "web", 400),
            pod("a", "ops", "db", 500),
        ],
    )
}

#[test]
fn into_parts_gives_back_the_inputs_in_order() {
    let nodes = vec![node("a", "z1"), node("b", "z1")];
    let pods = vec![pod("b", "ns", "x", 1), pod("gone", "ns", "x", 1)];
    let snapshot = ClusterSnapshot::new(nodes.clone(), pods.clone());
    assert_eq!(snapshot.into_parts(), (nodes, pods));
}

#[test]
fn removing_a_pod() {
    let before = cluster();
    let mut pods = kept(0..5);
    pods.remove(1);
    let after = assert_update_matches_new(&before, kept(0..3), pods);
    assert_eq!(after.nodes()[1].pod_count, 0);
    assert_eq!(after.pods_in_namespace("shop"), &[0]);
}

#[test]
fn removing_a_node_with_its_pods_still_listed() {
    let before = cluster();
    let after = assert_update_matches_new(&before, vec![Entry::Kept(0), Entry::Kept(2)], kept(0..5));
    assert_eq!(after.pod_node(1), None, "b is gone");
    assert_eq!(after.pod_node(2), Some(1), "c moved up");
    assert_eq!(after.pods_in_namespace("shop"), &[0]);
}

#[test]
fn a_pod_moving_to_another_node() {
    let before = cluster();
    let mut pods = kept(0..5);
    pods[0] = Entry::New(pod("c", "shop", "web", 100));
    let after = assert_update_matches_new(&before, kept(0..3), pods);
    assert_eq!(after.nodes()[0].requested.cpu_millis, 500);
    assert_eq!(after.nodes()[2].requested.cpu_millis, 400);
}

#[test]
fn a_pod_turning_terminal_leaves_the_list() {
    // A terminal pod holds nothing: the builder leaves it out of the next pods.
    let before = cluster();
    let pods = vec![Entry::Kept(0), Entry::Kept(1), Entry::Kept(2), Entry::Kept(3)];
    let after = assert_update_matches_new(&before, kept(0..3), pods);
    assert_eq!(after.nodes()[0].pod_count, 1);
    assert!(after.pods_in_namespace("ops").len() == 1);
}

#[test]
fn a_node_arriving_for_pods_that_named_it() {
    let before = cluster();
    let mut nodes = kept(0..3);
    nodes.insert(1, Entry::New(node("gone", "z2")));
    let after = assert_update_matches_new(&before, nodes, kept(0..5));
    assert_eq!(after.pod_node(3), Some(1));
    assert_eq!(after.pod_node(2), Some(3));
}

#[test]
fn a_changed_node_and_reordered_entries() {
    let before = cluster();
    let mut changed = node("b", "z2");
    changed.unschedulable = true;
    let nodes = vec![Entry::Kept(2), Entry::New(changed), Entry::Kept(0)];
    let pods = vec![
        Entry::Kept(4),
        Entry::New(pod("b", "new-ns", "web", 50)),
        Entry::Kept(0),
        Entry::Kept(3),
    ];
    assert_update_matches_new(&before, nodes, pods);
}

#[test]
fn invalid_entries_leave_the_snapshot_as_it_was() {
    let before = cluster();
    let mut s = before.clone();
    assert_eq!(
        s.update(kept(0..4), kept(0..5)),
        Err(UpdateError::NoSuchNode { index: 3, len: 3 })
    );
    assert_eq!(
        s.update(kept(0..3), vec![Entry::Kept(1), Entry::Kept(1)]),
        Err(UpdateError::PodKeptTwice(1))
    );
    assert_eq!(s, before);
}

// --------------------------------------------------------------- proptests

fn arb_node() -> impl Strategy<Value = NodeInfo> + Clone {
    (
        0usize..8,
        proptest::sample::select(&["z1", "z2"][..]),
        any::<bool>(),
        0i64..3,
        proptest::option::of(0i64..4),
    )
        .prop_map(|(n, zone, ready, cpu, gpu)| {
            let mut node = node(&format!("n{n}"), zone);
            node.ready = ready;
            node.allocatable.cpu_millis = cpu * 1000;
            node.allocatable.extended = gpu.map(|g| ("gpu".to_string(), g)).into_iter().collect();
            node
        })
}

fn arb_pod() -> impl Strategy<Value = BoundPod> + Clone {
    (
        0usize..10,
        proptest::sample::select(&["default", "other", "third"][..]),
        proptest::sample::select(&["web", "db"][..]),
        prop_oneof![0i64..3000, Just(i64::MAX)],
        proptest::option::of(0i64..3),
    )
        .prop_map(|(n, ns, app, cpu, gpu)| {
            // n8 and n9 are never generated nodes: pods on nodes that do not exist.
            let mut p = pod(&format!("n{n}"), ns, app, cpu);
            p.requests.extended = gpu.map(|g| ("gpu".to_string(), g)).into_iter().collect();
            p
        })
}

/// What becomes of one entry of the previous snapshot.
#[derive(Debug, Clone)]
enum Fate<T> {
    Keep,
    Drop,
    Replace(T),
}

fn arb_fate<T: std::fmt::Debug + Clone>(
    new: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Fate<T>> {
    prop_oneof![
        6 => Just(Fate::Keep),
        1 => Just(Fate::Drop),
        2 => new.prop_map(Fate::Replace),
    ]
}

/// Entries from fates, with `added` appended and the order optionally rotated.
fn entries<T>(fates: Vec<Fate<T>>, added: Vec<T>, rotate: usize) -> Vec<Entry<T>> {
    let mut out: Vec<Entry<T>> = fates
        .into_iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Fate::Keep => Some(Entry::Kept(i)),
            Fate::Drop => None,
            Fate::Replace(t) => Some(Entry::New(t)),
        })
        .chain(added.into_iter().map(Entry::New))
        .collect();
    if !out.is_empty() {
        let k = rotate % out.len();
        out.rotate_left(k);
    }
    out
}

/// A cluster and a few rounds of changes. Node names repeat sometimes, as
/// they cannot in Kubernetes but can in a caller's input.
fn arb_case() -> impl Strategy<Value = (Vec<NodeInfo>, Vec<BoundPod>)> {
    (
        proptest::collection::vec(arb_node(), 0..8),
        proptest::collection::vec(arb_pod(), 0..30),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn update_equals_new_over_the_same_entries(
        (nodes, pods) in arb_case(),
        rounds in proptest::collection::vec(
            (
                proptest::collection::vec(arb_fate(arb_node()), 8),
                proptest::collection::vec(arb_node(), 0..3),
                0usize..3,
                proptest::collection::vec(arb_fate(arb_pod()), 30),
                proptest::collection::vec(arb_pod(), 0..5),
                0usize..3,
            ),
            1..4,
        ),
    ) {
        let mut snapshot = ClusterSnapshot::new(nodes, pods);
        for (node_fates, new_nodes, node_rotate, pod_fates, new_pods, pod_rotate) in rounds {
            let pod_fates = pod_fates.into_iter().take(snapshot.pods().len()).collect();
            // One round in three keeps the node list as it was (the common
            // case, with its own path); the others change it, rotated or not.
            let node_entries = if node_rotate == 0 {
                kept(0..snapshot.nodes().len())
            } else {
                let node_fates = node_fates.into_iter().take(snapshot.nodes().len()).collect();
                entries(node_fates, new_nodes, node_rotate - 1)
            };
            snapshot = assert_update_matches_new(
                &snapshot,
                node_entries,
                entries(pod_fates, new_pods, pod_rotate),
            );
        }
    }
}
