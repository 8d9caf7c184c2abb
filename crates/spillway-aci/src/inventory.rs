//! Listed container groups → the planner's `BurstReplica`s. Only groups that
//! carry this cluster's tag are ours; everything else is never touched.

use std::collections::BTreeMap;

use spillway_core::burst::{BurstReplica, BurstState};
use spillway_core::time::Timestamp;

use crate::error::is_pull_failure;
use crate::lro::group_events;
use crate::model::{ContainerGroup, ProvisioningPhase};

pub const TAG_CLUSTER: &str = "spillway.io/cluster";
pub const TAG_POLICY: &str = "spillway.io/policy";
pub const TAG_TEMPLATE_HASH: &str = "spillway.io/template-hash";
pub const TAG_ORDINAL: &str = "spillway.io/ordinal";
/// `standby` on container group profiles and standby pools: never a burst
/// replica, even if ARM copies a profile's tags onto the pool's instances.
pub const TAG_ROLE: &str = "spillway.io/role";
pub const ROLE_STANDBY: &str = "standby";

/// The tags every group we create carries (DESIGN.md §5).
pub fn group_tags(
    cluster_id: &str,
    policy: &str,
    template_hash: &str,
    ordinal: u32,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_CLUSTER.to_string(), cluster_id.to_string()),
        (TAG_POLICY.to_string(), policy.to_string()),
        (TAG_TEMPLATE_HASH.to_string(), template_hash.to_string()),
        (TAG_ORDINAL.to_string(), ordinal.to_string()),
    ])
}

/// When a running group counts as failed.
#[derive(Debug, Clone, Copy)]
pub struct HealthRules {
    /// A container restarted at least this often is crash-looping.
    pub max_restarts: i32,
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules { max_restarts: 3 }
    }
}

/// One of our groups, mapped; or why it could not be (still ours: the
/// controller may garbage-collect it by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    Replica { policy: String, replica: BurstReplica },
    Unreadable { name: String, reason: String },
}

/// Ours iff tagged with `cluster_id`. `fallback_created_at` stands in when
/// the group carries no `systemData.createdAt`.
pub fn owned_by(g: &ContainerGroup, cluster_id: &str) -> bool {
    g.tags.get(TAG_CLUSTER).is_some_and(|c| c == cluster_id)
        && g.tags.get(TAG_ROLE).is_none_or(|r| r != ROLE_STANDBY)
}

pub fn map_group(g: &ContainerGroup, rules: HealthRules, fallback_created_at: Timestamp) -> Owned {
    let name = g.name.clone().unwrap_or_default();
    let Some(policy) = g.tags.get(TAG_POLICY).filter(|p| !p.is_empty()) else {
        return Owned::Unreadable {
            name,
            reason: format!("no {TAG_POLICY} tag"),
        };
    };
    let ordinal = match g.tags.get(TAG_ORDINAL).map(|o| o.parse::<u32>()) {
        Some(Ok(o)) => o,
        _ => {
            return Owned::Unreadable {
                name,
                reason: format!("missing or invalid {TAG_ORDINAL} tag"),
            };
        }
    };
    Owned::Replica {
        policy: policy.clone(),
        replica: BurstReplica {
            name,
            ordinal,
            template_hash: g.tags.get(TAG_TEMPLATE_HASH).cloned().unwrap_or_default(),
            location: g.location.clone().unwrap_or_default(),
            zone: g.zones.first().cloned(),
            state: state_of(g, rules),
            created_at: created_at(g).unwrap_or(fallback_created_at),
        },
    }
}

/// All of `cluster_id`'s groups, mapped (others are skipped, untouched).
pub fn inventory(
    groups: &[ContainerGroup],
    cluster_id: &str,
    rules: HealthRules,
    fallback_created_at: Timestamp,
) -> Vec<Owned> {
    groups
        .iter()
        .filter(|g| owned_by(g, cluster_id))
        .map(|g| map_group(g, rules, fallback_created_at))
        .collect()
}

/// The planner's state of one group. Lists carry no instance view, so a
/// listed `Succeeded` group is `Ready`; a GET adds container health.
pub fn state_of(g: &ContainerGroup, rules: HealthRules) -> BurstState {
    let ps = g.properties.provisioning_state.as_deref().unwrap_or("");
    if ps.eq_ignore_ascii_case("Deleting") {
        return BurstState::Deleting;
    }
    match g.phase() {
        ProvisioningPhase::Failed | ProvisioningPhase::Canceled => return BurstState::Failed,
        ProvisioningPhase::InProgress => {
            return if group_events(g).iter().any(|e| is_pull_failure(e)) {
                BurstState::Failed
            } else {
                BurstState::Provisioning
            };
        }
        ProvisioningPhase::Succeeded => {}
    }
    let p = &g.properties;
    if let Some(view) = &p.instance_view
        && let Some(state) = view.state.as_deref()
    {
        match state {
            s if s.eq_ignore_ascii_case("Running") => {}
            s if s.eq_ignore_ascii_case("Pending") => return BurstState::Provisioning,
            // Stopped, Failed, Succeeded (ran to completion): not serving.
            _ => return BurstState::Failed,
        }
    }
    let mut waiting = false;
    for c in &p.containers {
        let Some(v) = &c.properties.instance_view else {
            continue;
        };
        if v.restart_count.unwrap_or(0) >= rules.max_restarts || v.events.iter().any(is_pull_failure) {
            return BurstState::Failed;
        }
        match v.current_state.as_ref().and_then(|s| s.state.as_deref()) {
            Some(s) if s.eq_ignore_ascii_case("Terminated") => return BurstState::Failed,
            Some(s) if s.eq_ignore_ascii_case("Waiting") => waiting = true,
            _ => {}
        }
    }
    if waiting {
        BurstState::Provisioning
    } else {
        BurstState::Ready
    }
}

fn created_at(g: &ContainerGroup) -> Option<Timestamp> {
    let s = g.extra.get("systemData")?.get("createdAt")?.as_str()?;
    let ts: jiff::Timestamp = s.parse().ok()?;
    Some(Timestamp::from_millis(ts.as_millisecond()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, ContainerInstanceView, ContainerState, Event, GroupInstanceView};

    fn group(state: &str) -> ContainerGroup {
        let mut g = ContainerGroup {
            name: Some("c1-web-3".into()),
            location: Some("westeurope".into()),
            tags: group_tags("c1", "web", "h1", 3),
            ..Default::default()
        };
        g.properties.provisioning_state = Some(state.into());
        g.properties.containers.push(Container {
            name: "app".into(),
            ..Default::default()
        });
        g
    }

    fn with_container(
        mut g: ContainerGroup,
        state: &str,
        restarts: i32,
        events: Vec<Event>,
    ) -> ContainerGroup {
        g.properties.instance_view = Some(GroupInstanceView {
            state: Some("Running".into()),
            events: vec![],
        });
        g.properties.containers[0].properties.instance_view = Some(ContainerInstanceView {
            restart_count: Some(restarts),
            current_state: Some(ContainerState {
                state: Some(state.into()),
                ..Default::default()
            }),
            events,
            ..Default::default()
        });
        g
    }

    #[test]
    fn states() {
        let r = HealthRules::default();
        assert_eq!(state_of(&group("Pending"), r), BurstState::Provisioning);
        assert_eq!(state_of(&group("Created"), r), BurstState::Provisioning);
        assert_eq!(state_of(&group("Succeeded"), r), BurstState::Ready);
        assert_eq!(state_of(&group("Failed"), r), BurstState::Failed);
        assert_eq!(state_of(&group("Deleting"), r), BurstState::Deleting);
        assert_eq!(
            state_of(&with_container(group("Succeeded"), "Running", 0, vec![]), r),
            BurstState::Ready
        );
        assert_eq!(
            state_of(&with_container(group("Succeeded"), "Running", 5, vec![]), r),
            BurstState::Failed
        );
        assert_eq!(
            state_of(&with_container(group("Succeeded"), "Waiting", 0, vec![]), r),
            BurstState::Provisioning
        );
        assert_eq!(
            state_of(&with_container(group("Succeeded"), "Terminated", 0, vec![]), r),
            BurstState::Failed
        );
        let pull = Event {
            name: Some("Failed".into()),
            message: Some("Failed to pull image \"x\"".into()),
            ..Default::default()
        };
        assert_eq!(
            state_of(&with_container(group("Pending"), "Waiting", 0, vec![pull]), r),
            BurstState::Failed
        );
    }

    #[test]
    fn only_our_cluster_and_readable_tags() {
        let ours = group("Succeeded");
        let mut other = group("Succeeded");
        other.tags.insert(TAG_CLUSTER.into(), "someone-else".into());
        let mut untagged = group("Succeeded");
        untagged.tags.clear();
        let mut broken = group("Succeeded");
        broken.tags.insert(TAG_ORDINAL.into(), "x".into());
        let mut with_time = group("Succeeded");
        with_time.extra.insert(
            "systemData".into(),
            serde_json::json!({"createdAt": "2026-01-02T03:04:05Z"}),
        );
        let got = inventory(
            &[ours, other, untagged, broken, with_time],
            "c1",
            HealthRules::default(),
            Timestamp(7),
        );
        assert_eq!(got.len(), 3);
        match &got[0] {
            Owned::Replica { policy, replica } => {
                assert_eq!(policy, "web");
                assert_eq!((replica.ordinal, replica.template_hash.as_str()), (3, "h1"));
                assert_eq!(replica.created_at, Timestamp(7));
            }
            o => panic!("{o:?}"),
        }
        assert!(matches!(&got[1], Owned::Unreadable { reason, .. } if reason.contains("ordinal")));
        match &got[2] {
            Owned::Replica { replica, .. } => assert_eq!(replica.created_at, Timestamp(1_767_323_045_000)),
            o => panic!("{o:?}"),
        }
    }
}
