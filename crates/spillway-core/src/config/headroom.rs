//! `headroom`: warm replicas on VM capacity that is paid for anyway.
//!
//! A ramp that the metric has not seen yet finds replicas already Ready when
//! the nodes have room: the Deployment holds up to `maxAddReplicas` more than
//! the desired count, but only on room the nodes have now (never a Pending
//! pod, so never a new node) and only where the cluster autoscaler would not
//! remove a node anyway (never a node kept for them). They are not one of the
//! HPA's recommendations: the desired count, its stabilization windows and
//! the burst decision never see them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Headroom {
    /// At most this many replicas above the desired count; 0 turns headroom
    /// off (the default: the Deployment holds what the HPA would).
    #[serde(default)]
    pub max_add_replicas: u32,
    /// The node pool's minimum (the cluster autoscaler's `minCount`): while
    /// the workload's nodes are no more than this, none of them can be
    /// removed, and headroom may fill their free room.
    #[serde(default)]
    pub min_nodes: u32,
    /// Above `minNodes`, headroom fills the nodes only up to this share of
    /// their allocatable (the cluster autoscaler's
    /// `scale-down-utilization-threshold`, 0.5 by default): a node the
    /// autoscaler would remove stays removable.
    #[serde(default = "defaults::scale_down_utilization_threshold")]
    pub scale_down_utilization_threshold: f64,
}

impl Default for Headroom {
    fn default() -> Self {
        Headroom {
            max_add_replicas: 0,
            min_nodes: 0,
            scale_down_utilization_threshold: defaults::scale_down_utilization_threshold(),
        }
    }
}

impl Headroom {
    pub fn enabled(&self) -> bool {
        self.max_add_replicas > 0
    }

    /// Problems, as (path below `headroom`, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_add_replicas > 1000 {
            out.push((
                "maxAddReplicas",
                format!("{} is more than 1000", self.max_add_replicas),
            ));
        }
        if self.min_nodes > 5000 {
            out.push(("minNodes", format!("{} is more than 5000", self.min_nodes)));
        }
        let t = self.scale_down_utilization_threshold;
        if !(t > 0.0 && t <= 1.0) {
            out.push((
                "scaleDownUtilizationThreshold",
                format!("{t} must be above 0 and at most 1"),
            ));
        }
        out
    }
}

mod defaults {
    /// The cluster autoscaler's default (FAQ).
    pub fn scale_down_utilization_threshold() -> f64 {
        0.5
    }
}

#[cfg(test)]
mod tests {
    const DOC: &str = "cluster: {id: prod-weu-1}\nazure:\n  subscriptionId: 00000000-0000-0000-0000-000000000000\n  resourceGroup: rg\n  location: westeurope\npolicies:\n- name: web\n  target: {namespace: shop, name: web}\n  maxReplicas: 50\n  metrics: [{resource: {name: cpu, targetAverageUtilization: 70}}]\n";

    fn errors(extra: &str) -> Vec<String> {
        let loaded = crate::config::load(&format!("{DOC}{extra}")).expect("document");
        loaded.errors().map(ToString::to_string).collect()
    }

    #[test]
    fn off_unless_configured() {
        let loaded = crate::config::load(DOC).expect("valid");
        let p = loaded.valid_policies().next().expect("policy");
        assert!(!p.headroom.enabled());
        assert_eq!(p.headroom.scale_down_utilization_threshold, 0.5);

        let loaded = crate::config::load(&format!("{DOC}  headroom: {{maxAddReplicas: 7, minNodes: 3}}\n"))
            .expect("valid");
        let p = loaded.valid_policies().next().expect("policy");
        assert!(p.headroom.enabled());
        assert_eq!((p.headroom.max_add_replicas, p.headroom.min_nodes), (7, 3));
    }

    #[test]
    fn every_problem_names_its_path() {
        let errs =
            errors("  headroom: {maxAddReplicas: 1001, minNodes: 5001, scaleDownUtilizationThreshold: 0}\n");
        let want = [
            "policies[0].headroom.maxAddReplicas: 1001 is more than 1000",
            "policies[0].headroom.minNodes: 5001 is more than 5000",
            "policies[0].headroom.scaleDownUtilizationThreshold: 0 must be above 0 and at most 1",
        ];
        assert_eq!(errs.len(), want.len(), "{errs:#?}");
        for w in want {
            assert!(
                errs.iter().any(|e| e.starts_with(w)),
                "missing {w:?} in {errs:#?}"
            );
        }
        let errs = errors("  headroom: {maxAddReplica: 3}\n");
        assert!(
            errs.iter().any(|e| e.contains("maxAddReplica")),
            "an unknown field is named: {errs:#?}"
        );
    }
}
