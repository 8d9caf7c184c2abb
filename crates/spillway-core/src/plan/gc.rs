//! Garbage collection: this cluster's container groups that no policy owns.

use std::collections::BTreeSet;

use crate::burst::{BurstReplica, BurstState};

use super::{DeleteCause, DeleteGroup};

/// Groups to delete because their `spillway.io/policy` names no policy in
/// the configuration (`None`: the tag is missing or unreadable). Groups of
/// policies that exist but are disabled by errors are kept: disabling a
/// policy stops its actions, it does not tear it down.
pub fn orphans<'a>(
    groups: impl IntoIterator<Item = (Option<&'a str>, &'a BurstReplica)>,
    policies: &BTreeSet<&str>,
) -> Vec<DeleteGroup> {
    groups
        .into_iter()
        .filter(|(policy, r)| r.state != BurstState::Deleting && policy.is_none_or(|p| !policies.contains(p)))
        .map(|(_, r)| DeleteGroup {
            name: r.name.clone(),
            cause: DeleteCause::Orphaned,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn replica(name: &str, state: BurstState) -> BurstReplica {
        BurstReplica {
            name: name.into(),
            ordinal: 0,
            template_hash: "h".into(),
            location: "westeurope".into(),
            zone: None,
            state,
            created_at: Timestamp::from_secs(0),
        }
    }

    #[test]
    fn only_groups_without_a_policy_are_orphans() {
        let a = replica("c-web-0", BurstState::Ready);
        let b = replica("c-gone-0", BurstState::Ready);
        let c = replica("c-gone-1", BurstState::Deleting);
        let d = replica("broken", BurstState::Failed);
        let policies = BTreeSet::from(["web"]);
        let out = orphans(
            [
                (Some("web"), &a),
                (Some("gone"), &b),
                (Some("gone"), &c),
                (None, &d),
            ],
            &policies,
        );
        let names: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["c-gone-0", "broken"]);
        assert!(out.iter().all(|d| d.cause == DeleteCause::Orphaned));
    }
}
