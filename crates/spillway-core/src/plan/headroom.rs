//! `headroom`: the Deployment's replicas above the desired count, on VM room
//! that is paid for anyway (config::headroom says why).

use crate::capacity::Fit;
use crate::config::Headroom;

use super::VmCounts;

/// Warm replicas above `desired`: at most `maxAddReplicas`, and no more than
/// the nodes hold now beside the desired ones, so none is ever Pending (a
/// Pending pod would grow the pool). Up to `minNodes` nodes the pool cannot
/// shrink and all their room counts; above it only the room below the
/// autoscaler's utilization threshold (`fit.below_threshold`, which
/// [`crate::capacity::fit_replicas_below`] measured), so that every node the
/// autoscaler would remove stays removable.
///
/// The workload's scheduled pods count as room: the warm replicas already
/// there keep their place, so the count is steady from tick to tick.
pub fn warm_replicas(cfg: &Headroom, desired: u32, counts: &VmCounts, fit: &Fit) -> u32 {
    if !cfg.enabled() {
        return 0;
    }
    let free = if fit.eligible_nodes <= cfg.min_nodes {
        i64::from(fit.replicas)
    } else {
        // Negative above the threshold: the replicas already scheduled
        // beyond it are no room either.
        fit.below_threshold
    };
    let room = i64::from(counts.scheduled()).saturating_add(free);
    let warm = room.saturating_sub(i64::from(desired)).max(0);
    u32::try_from(warm).unwrap_or(u32::MAX).min(cfg.max_add_replicas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_add_replicas: u32, min_nodes: u32) -> Headroom {
        Headroom {
            max_add_replicas,
            min_nodes,
            ..Headroom::default()
        }
    }

    fn fit(replicas: u32, eligible_nodes: u32, below_threshold: i64) -> Fit {
        Fit {
            replicas,
            eligible_nodes,
            below_threshold,
            notes: Vec::new(),
        }
    }

    fn scheduled(ready: u32) -> VmCounts {
        VmCounts {
            ready,
            ..VmCounts::default()
        }
    }

    #[test]
    fn off_by_default() {
        assert_eq!(
            warm_replicas(&Headroom::default(), 5, &scheduled(5), &fit(16, 3, 10)),
            0
        );
    }

    #[test]
    fn fills_the_room_of_a_pool_at_its_minimum_up_to_the_cap() {
        // 3 nodes, the pool's minimum: all 16 free slots count, the cap binds.
        assert_eq!(warm_replicas(&cfg(7, 3), 5, &scheduled(5), &fit(16, 3, 4)), 7);
        // Only 3 free slots: no more than the nodes hold, never Pending.
        assert_eq!(warm_replicas(&cfg(7, 3), 5, &scheduled(5), &fit(3, 3, 0)), 3);
    }

    #[test]
    fn above_the_minimum_only_the_room_below_the_threshold_counts() {
        assert_eq!(warm_replicas(&cfg(7, 3), 5, &scheduled(5), &fit(16, 4, 2)), 2);
        assert_eq!(warm_replicas(&cfg(7, 0), 5, &scheduled(5), &fit(16, 1, 0)), 0);
    }

    #[test]
    fn above_the_threshold_replicas_already_there_are_no_room() {
        // 7 nodes full (49 scheduled, 2 of them above the desired 47), the
        // requests 20 replicas' worth above the threshold: the two go.
        assert_eq!(warm_replicas(&cfg(7, 3), 47, &scheduled(49), &fit(0, 7, -20)), 0);
        // 3 replicas below it: 49 + 3 − 47 = 5 warm.
        assert_eq!(warm_replicas(&cfg(7, 3), 47, &scheduled(49), &fit(9, 7, 3)), 5);
    }

    #[test]
    fn warm_replicas_already_scheduled_keep_their_place() {
        // Last tick added 7 above 5: 12 scheduled, 9 slots left.
        assert_eq!(warm_replicas(&cfg(7, 3), 5, &scheduled(12), &fit(9, 3, 0)), 7);
        // The desired count rises into the warm replicas: fewer warm ones.
        assert_eq!(warm_replicas(&cfg(7, 3), 20, &scheduled(12), &fit(9, 3, 0)), 1);
    }

    #[test]
    fn desired_pods_not_yet_scheduled_take_the_room_first() {
        // 10 desired, 6 scheduled, 5 free slots: 4 go to the desired pods.
        assert_eq!(warm_replicas(&cfg(7, 3), 10, &scheduled(6), &fit(5, 3, 5)), 1);
        assert_eq!(warm_replicas(&cfg(7, 3), 12, &scheduled(6), &fit(5, 3, 5)), 0);
    }
}
