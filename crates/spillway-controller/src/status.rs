//! What `/status` and `/readyz` report: each policy's last plan with its
//! reasons and errors, the configuration's validity and the leadership.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;
use spillway_core::config::ConfigError;
use spillway_core::plan::Plan;
use spillway_core::time::Timestamp;

const MAX_ERRORS: usize = 20;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    pub enabled: bool,
    pub disabled_reasons: Vec<String>,
    pub last_tick: Option<Timestamp>,
    pub last_plan: Option<Plan>,
    /// Recent errors, newest last.
    pub errors: VecDeque<String>,
    pub dry_run: bool,
    /// The standby pool as last read (issue 16); the wanted size is in
    /// `lastPlan.standby`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standby_pool: Option<crate::seams::pool::PoolObserved>,
    /// The zones the last plan spread over (with `burst.zones`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<ZonesStatus>,
}

/// `burst.zones` as planned: listed, or discovered (`auto`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZonesStatus {
    /// `list` or `auto`.
    pub source: &'static str,
    /// The location the zones belong to (the primary one).
    pub location: Option<String>,
    /// The zones planned over; empty: none (no zones in the region, or
    /// `auto` with none known yet).
    pub effective: Vec<String>,
    /// Why the latest `auto` read failed, and what is planned meanwhile.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Board {
    config_loaded: bool,
    /// The latest document was fully valid (else the last good one runs).
    config_valid: bool,
    config_errors: Vec<ConfigError>,
    caches_synced: bool,
    /// `None` while no leader is known.
    leader: Option<bool>,
    identity: String,
    /// Which configuration generation each rebuilt part runs (`burstBackend`,
    /// `metricSources`): a live config change shows here once it took effect.
    generations: BTreeMap<String, u64>,
    /// Problems applying a valid document (a client that could not be rebuilt).
    config_notes: VecDeque<String>,
    policies: BTreeMap<String, PolicyStatus>,
}

/// Shared by the loop (writer) and the HTTP server (reader).
#[derive(Debug, Default)]
pub struct StatusBoard {
    board: Mutex<Board>,
}

impl StatusBoard {
    pub fn new(identity: &str) -> Self {
        StatusBoard {
            board: Mutex::new(Board {
                identity: identity.to_string(),
                ..Board::default()
            }),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Board) -> R) -> R {
        match self.board.lock() {
            Ok(mut b) => f(&mut b),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    pub fn set_config(&self, loaded: bool, errors: Vec<ConfigError>) {
        self.with(|b| {
            b.config_loaded |= loaded;
            b.config_errors = errors;
        });
    }
    pub fn set_config_valid(&self, valid: bool) {
        self.with(|b| b.config_valid = valid);
    }
    pub fn set_caches_synced(&self, synced: bool) {
        self.with(|b| b.caches_synced = synced);
    }
    pub fn set_leader(&self, leader: Option<bool>) {
        self.with(|b| b.leader = leader);
    }

    pub fn set_policy_enabled(&self, policy: &str, enabled: bool, reasons: Vec<String>, dry_run: bool) {
        self.with(|b| {
            let p = b.policies.entry(policy.to_string()).or_default();
            p.enabled = enabled;
            p.disabled_reasons = reasons;
            p.dry_run = dry_run;
        });
    }
    /// A policy that cannot act for a reason found at run time (`Some`: its
    /// target is missing, …), or that acts again (`None`). Configuration
    /// errors go through [`StatusBoard::set_policy_enabled`]; a policy
    /// disabled by them does not tick.
    pub fn set_runtime_disabled(&self, policy: &str, reason: Option<String>) {
        self.with(|b| {
            let p = b.policies.entry(policy.to_string()).or_default();
            match reason {
                Some(r) => {
                    p.enabled = false;
                    p.disabled_reasons = vec![r];
                }
                None if !p.enabled => {
                    p.enabled = true;
                    p.disabled_reasons.clear();
                }
                None => {}
            }
        });
    }
    pub fn record_config_note(&self, note: String) {
        self.with(|b| {
            b.config_notes.push_back(note);
            while b.config_notes.len() > MAX_ERRORS {
                b.config_notes.pop_front();
            }
        });
    }
    pub fn set_generation(&self, part: &str, generation: u64) {
        self.with(|b| {
            b.generations.insert(part.to_string(), generation);
        });
    }
    pub fn retain_policies(&self, keep: impl Fn(&str) -> bool) {
        self.with(|b| b.policies.retain(|k, _| keep(k)));
    }
    pub fn record_plan(&self, plan: &Plan) {
        self.with(|b| {
            let p = b.policies.entry(plan.policy.clone()).or_default();
            p.last_tick = Some(plan.at);
            p.last_plan = Some(plan.clone());
        });
    }
    pub fn record_pool(&self, policy: &str, seen: Option<crate::seams::pool::PoolObserved>) {
        self.with(|b| b.policies.entry(policy.to_string()).or_default().standby_pool = seen);
    }
    pub fn record_zones(&self, policy: &str, zones: Option<ZonesStatus>) {
        self.with(|b| b.policies.entry(policy.to_string()).or_default().zones = zones);
    }
    pub fn record_error(&self, policy: &str, error: String) {
        self.with(|b| {
            let p = b.policies.entry(policy.to_string()).or_default();
            p.errors.push_back(error);
            while p.errors.len() > MAX_ERRORS {
                p.errors.pop_front();
            }
        });
    }
    pub fn last_plan(&self, policy: &str) -> Option<Plan> {
        self.with(|b| b.policies.get(policy).and_then(|p| p.last_plan.clone()))
    }

    /// `Ok` when the process can do its job; else why not.
    pub fn readiness(&self) -> Result<(), String> {
        self.with(|b| {
            if !b.config_loaded {
                return Err("configuration not loaded".into());
            }
            if !b.caches_synced {
                return Err("cluster caches not synced".into());
            }
            if b.leader.is_none() {
                return Err("no leader known".into());
            }
            Ok(())
        })
    }

    pub fn to_json(&self) -> Value {
        self.with(|b| serde_json::to_value(&*b).unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_disabled_shows_and_clears() {
        let board = StatusBoard::new("t");
        board.set_policy_enabled("web", true, Vec::new(), false);
        board.set_runtime_disabled("web", Some("target Deployment shop/x does not exist".into()));
        let p = &board.to_json()["policies"]["web"];
        assert_eq!(p["enabled"], false);
        assert_eq!(p["disabledReasons"][0], "target Deployment shop/x does not exist");
        board.set_runtime_disabled("web", None);
        let p = &board.to_json()["policies"]["web"];
        assert_eq!(p["enabled"], true);
        assert_eq!(p["disabledReasons"].as_array().map(Vec::len), Some(0));
    }
}
