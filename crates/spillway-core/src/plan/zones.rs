//! Zone spread of burst replicas (issue 17): which zone each create goes
//! to, and which zone a scale-in takes from, so that burst replicas honour
//! the template's `topologySpreadConstraints` and required pod anti-affinity
//! on `topology.kubernetes.io/zone`, counting VM and burst replicas together.
//!
//! Creates go to the least-loaded usable zone, scale-in takes from the most
//! loaded one: with nothing else in the way, burst replicas per zone then
//! differ by at most one whatever the sequence of targets. A hard
//! (`DoNotSchedule`) constraint additionally holds creates that would put a
//! zone more than `maxSkew` above the emptiest configured zone, as the
//! scheduler leaves such a pod Pending, for instance while a zone answers
//! capacity errors. Anti-affinity on hostname needs nothing: every container
//! group is a host of its own.

use std::collections::BTreeMap;

use crate::burst::BurstReplica;
use crate::capacity::selector_matches;
use crate::snapshot::{ClusterSnapshot, PodTemplate};

pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// What the template asks of zones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZoneRules {
    /// The smallest `maxSkew` of the hard zone constraints selecting the
    /// workload's own pods.
    pub max_skew: Option<u32>,
    /// Required anti-affinity on zone against the workload's own pods: at
    /// most one replica per zone.
    pub one_per_zone: bool,
}

impl ZoneRules {
    pub fn of(template: &PodTemplate) -> Self {
        let max_skew = template
            .topology_spread
            .iter()
            .filter(|c| c.hard && c.topology_key == ZONE_LABEL)
            .filter(|c| selector_matches(&c.label_selector, &template.labels))
            .map(|c| c.max_skew.max(1))
            .min();
        let one_per_zone = template.required_pod_anti_affinity.iter().any(|t| {
            t.topology_key == ZONE_LABEL
                && (t.namespaces.is_empty() || t.namespaces.contains(&template.namespace))
                && selector_matches(&t.label_selector, &template.labels)
        });
        ZoneRules {
            max_skew,
            one_per_zone,
        }
    }

    /// Whether VM replicas take part (any zone rule at all).
    pub fn any(&self) -> bool {
        self.max_skew.is_some() || self.one_per_zone
    }
}

/// The ACI zone of a node's `topology.kubernetes.io/zone`: AKS writes
/// `westeurope-1`, ACI takes `1`.
pub fn aci_zone<'a>(node_zone: &'a str, location: &str) -> &'a str {
    match node_zone.split_at_checked(location.len()) {
        Some((head, rest)) if head.eq_ignore_ascii_case(location) => {
            rest.strip_prefix('-').unwrap_or(node_zone)
        }
        _ => node_zone,
    }
}

/// The workload's pods bound to VM nodes, per ACI zone of their node. Only
/// called when a zone rule exists: it walks the namespace's pods.
pub fn vm_per_zone(
    cluster: &ClusterSnapshot,
    template: &PodTemplate,
    location: &str,
) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let pods = cluster.pods();
    for n in cluster.nodes() {
        let Some(zone) = n.node.labels.get(ZONE_LABEL) else {
            continue;
        };
        let mine = n
            .pods
            .iter()
            .filter_map(|&i| pods.get(i))
            .filter(|p| {
                *p.namespace == *template.namespace
                    && template.labels.iter().all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .count() as u32;
        if mine > 0 {
            *out.entry(aci_zone(zone, location).to_string()).or_insert(0) += mine;
        }
    }
    out
}

/// Why a create got no zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoZone {
    /// The template's spread or anti-affinity forbids one more replica in
    /// every usable zone.
    Limited,
    /// Every configured zone is unusable (capacity errors).
    Unusable,
}

/// Replicas per configured zone, VM and burst together, updated as a plan
/// removes and creates.
#[derive(Debug, Clone)]
pub struct ZoneSpread {
    zones: Vec<String>,
    counts: BTreeMap<String, u32>,
    rules: ZoneRules,
}

impl ZoneSpread {
    /// `active`: the burst replicas that stay unless removed (not draining).
    pub fn new<'a>(
        zones: &[String],
        rules: ZoneRules,
        vm: &BTreeMap<String, u32>,
        active: impl IntoIterator<Item = &'a BurstReplica>,
    ) -> Self {
        let mut counts: BTreeMap<String, u32> = zones
            .iter()
            .map(|z| (z.clone(), vm.get(z).copied().unwrap_or(0)))
            .collect();
        for r in active {
            if let Some(c) = r.zone.as_ref().and_then(|z| counts.get_mut(z)) {
                *c += 1;
            }
        }
        ZoneSpread {
            zones: zones.to_vec(),
            counts,
            rules,
        }
    }

    pub fn is_active(&self) -> bool {
        !self.zones.is_empty()
    }

    /// Replicas in the zone of a replica; a replica outside the configured
    /// zones (none, or a zone since removed from `burst.zones`) counts as the
    /// fullest, so that scale-in takes it first.
    pub fn load(&self, zone: Option<&str>) -> u32 {
        match zone.and_then(|z| self.counts.get(z)) {
            Some(&c) => c,
            None if self.is_active() => u32::MAX,
            None => 0,
        }
    }

    pub fn removed(&mut self, zone: Option<&str>) {
        if let Some(c) = zone.and_then(|z| self.counts.get_mut(z)) {
            *c = c.saturating_sub(1);
        }
    }

    /// Whether moving one burst replica (make before break: create in the
    /// emptiest usable zone now, scale-in takes from the fullest next tick)
    /// makes the spread strictly more even. A failure replaced by nothing
    /// because demand fell at the same tick leaves a hole that nothing else
    /// would fill. `burst_zones`: the zones of the kept burst replicas.
    pub fn rebalance_worth<'a>(
        &self,
        burst_zones: impl IntoIterator<Item = Option<&'a str>>,
        usable: impl Fn(&str) -> bool,
    ) -> bool {
        let Some(fullest) = burst_zones.into_iter().map(|z| self.load(z)).max() else {
            return false;
        };
        let emptiest = self
            .zones
            .iter()
            .filter(|z| usable(z))
            .filter_map(|z| self.counts.get(z))
            .min();
        emptiest.is_some_and(|&e| fullest >= e.saturating_add(2))
    }

    /// The zone for one more replica among those `usable` says can take it.
    pub fn pick(&mut self, usable: impl Fn(&str) -> bool) -> Result<String, NoZone> {
        let floor = self.counts.values().copied().min().unwrap_or(0);
        let mut any_usable = false;
        let mut best: Option<(&String, u32)> = None;
        for z in &self.zones {
            if !usable(z) {
                continue;
            }
            any_usable = true;
            let c = self.counts.get(z).copied().unwrap_or(0);
            if self.rules.one_per_zone && c > 0 {
                continue;
            }
            if self.rules.max_skew.is_some_and(|skew| c + 1 - floor > skew) {
                continue;
            }
            if best.is_none_or(|(_, b)| c < b) {
                best = Some((z, c));
            }
        }
        match best {
            Some((z, _)) => {
                let z = z.clone();
                *self.counts.entry(z.clone()).or_insert(0) += 1;
                Ok(z)
            }
            None if any_usable => Err(NoZone::Limited),
            None => Err(NoZone::Unusable),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{LabelSelector, PodAntiAffinityTerm, TopologySpread};

    fn zones() -> Vec<String> {
        ["1", "2", "3"].map(String::from).to_vec()
    }

    fn template(skew: Option<u32>, anti: bool) -> PodTemplate {
        let labels: crate::snapshot::Labels = [("app".to_string(), "web".to_string())].into_iter().collect();
        let selector = LabelSelector {
            match_labels: labels.clone(),
            ..Default::default()
        };
        PodTemplate {
            namespace: "shop".into(),
            labels,
            topology_spread: skew
                .map(|s| TopologySpread {
                    max_skew: s,
                    topology_key: ZONE_LABEL.into(),
                    hard: true,
                    label_selector: selector.clone(),
                })
                .into_iter()
                .collect(),
            required_pod_anti_affinity: anti
                .then(|| PodAntiAffinityTerm {
                    label_selector: selector.clone(),
                    topology_key: ZONE_LABEL.into(),
                    namespaces: Vec::new(),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn node_zones_map_to_aci_zones() {
        assert_eq!(aci_zone("westeurope-2", "westeurope"), "2");
        assert_eq!(aci_zone("WestEurope-3", "westeurope"), "3");
        assert_eq!(aci_zone("3", "westeurope"), "3");
        assert_eq!(aci_zone("northeurope-1", "westeurope"), "northeurope-1");
    }

    #[test]
    fn creates_fill_the_emptiest_zone_counting_vm_replicas() {
        let vm = BTreeMap::from([("1".to_string(), 3), ("2".to_string(), 1)]);
        let rules = ZoneRules::of(&template(Some(1), false));
        assert_eq!(rules.max_skew, Some(1));
        let mut s = ZoneSpread::new(&zones(), rules, &vm, []);
        let picks: Vec<String> = (0..4).map(|_| s.pick(|_| true).unwrap_or_default()).collect();
        assert_eq!(picks, ["3", "2", "3", "2"]);
    }

    #[test]
    fn a_hard_skew_holds_creates_while_a_zone_is_unusable() {
        let mut s = ZoneSpread::new(
            &zones(),
            ZoneRules::of(&template(Some(1), false)),
            &BTreeMap::new(),
            [],
        );
        assert_eq!(s.pick(|z| z != "3"), Ok("1".to_string()));
        assert_eq!(s.pick(|z| z != "3"), Ok("2".to_string()));
        assert_eq!(s.pick(|z| z != "3"), Err(NoZone::Limited));
        assert_eq!(s.pick(|_| false), Err(NoZone::Unusable));
        // Without a hard constraint the spread is a preference only.
        let mut soft = ZoneSpread::new(&zones(), ZoneRules::default(), &BTreeMap::new(), []);
        let picks: Vec<String> = (0..3)
            .map(|_| soft.pick(|z| z != "3").unwrap_or_default())
            .collect();
        assert_eq!(picks, ["1", "2", "1"]);
    }

    #[test]
    fn anti_affinity_on_zone_allows_one_replica_per_zone() {
        let vm = BTreeMap::from([("2".to_string(), 1)]);
        let mut s = ZoneSpread::new(&zones(), ZoneRules::of(&template(None, true)), &vm, []);
        assert_eq!(s.pick(|_| true), Ok("1".to_string()));
        assert_eq!(s.pick(|_| true), Ok("3".to_string()));
        assert_eq!(s.pick(|_| true), Err(NoZone::Limited));
    }

    #[test]
    fn a_constraint_on_other_pods_is_not_ours() {
        let mut t = template(Some(1), true);
        t.labels.insert("app".into(), "other".into());
        assert_eq!(ZoneRules::of(&t), ZoneRules::default());
    }
}
