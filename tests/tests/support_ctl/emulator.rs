//! The standalone `aci-emulator` as a child process, and its
//! `/_emulator/state` (inventory and write log) typed for the tests.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{Proc, binaries, get_json, http_request};

/// The standalone `aci-emulator`, with the demo's own provisioning latencies
/// (visible `Pending`/`Creating`, deletes that take a moment).
pub struct EmulatorProc {
    pub proc: Proc,
    pub url: String,
}

impl EmulatorProc {
    pub fn start(logs: &Path) -> EmulatorProc {
        EmulatorProc::start_with(logs, &[])
    }

    /// [`EmulatorProc::start`] with more flags (faults, token lifetime, …).
    pub fn start_with(logs: &Path, extra: &[&str]) -> EmulatorProc {
        let mut args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "7",
            "--pending-latency",
            "uniform:1s..3s",
            "--creating-latency",
            "uniform:3s..6s",
            "--delete-latency",
            "2s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut proc = Proc::spawn("aci-emulator", &binaries().emulator, &args, logs);
        let line = proc.wait_for_line("listening on http://", Duration::from_secs(30));
        let url = line
            .trim_start_matches("listening on ")
            .trim()
            .trim_end_matches('/')
            .to_string();
        EmulatorProc { proc, url }
    }

    pub fn state(&self) -> EmuState {
        let body = get_json(&format!("{}/_emulator/state", self.url))
            .unwrap_or_else(|e| panic!("GET /_emulator/state: {e}\n{}", self.proc.logs()));
        EmuState::from_json(&body)
    }

    /// `PATCH /_emulator/faults` with a JSON merge patch (`null` clears a field).
    pub fn patch_faults(&self, patch: &Value) {
        let url = format!("{}/_emulator/faults", self.url);
        match http_request("PATCH", &url, Some(&patch.to_string())) {
            Ok((200..=299, _)) => {}
            Ok((code, body)) => panic!("PATCH {url} {patch}: HTTP {code}: {body}"),
            Err(e) => panic!("PATCH {url} {patch}: {e}\n{}", self.proc.logs()),
        }
    }
}

/// One container group the emulator has ever held.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub provisioning_state: String,
    pub created_at: String,
    pub deleted_at: Option<String>,
    pub ordinal_tag: Option<String>,
    pub location: String,
    /// `properties.subnetIds[].id` of the latest body.
    pub subnet_ids: Vec<String>,
    /// `properties.dnsConfig` of the latest body (`Null` when absent).
    pub dns_config: Value,
}

impl Group {
    /// Not deleted and not being deleted.
    pub fn live(&self) -> bool {
        self.deleted_at.is_none() && !self.provisioning_state.eq_ignore_ascii_case("Deleting")
    }
}

/// One write the emulator recorded.
#[derive(Debug, Clone)]
pub struct WriteRec {
    pub method: String,
    pub path: String,
    pub at: String,
    pub status: u16,
    /// The writer's `User-Agent` (spillway names its replica in it).
    pub user_agent: String,
}

impl WriteRec {
    /// The container group the write is about (last path segment), if any.
    pub fn group(&self) -> Option<&str> {
        let (_, rest) = self.path.split_once("/containerGroups/")?;
        Some(rest.split(['/', '?']).next().unwrap_or(rest))
    }
    pub fn is_put(&self) -> bool {
        self.method.eq_ignore_ascii_case("PUT")
    }
    pub fn is_delete(&self) -> bool {
        self.method.eq_ignore_ascii_case("DELETE")
    }
}

/// `GET /_emulator/state`, typed.
#[derive(Debug, Clone)]
pub struct EmuState {
    pub groups: Vec<Group>,
    pub writes: Vec<WriteRec>,
    /// `tokensIssued`, summed over its entries.
    pub tokens_issued: u64,
}

impl EmuState {
    pub fn from_json(v: &Value) -> EmuState {
        let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let groups = v["groups"]
            .as_array()
            .expect("state.groups is a list")
            .iter()
            .map(|g| Group {
                name: s(g, "name"),
                provisioning_state: s(g, "provisioningState"),
                created_at: s(g, "createdAt"),
                deleted_at: g["deletedAt"].as_str().map(str::to_string),
                ordinal_tag: g["tags"]["spillway.io/ordinal"].as_str().map(str::to_string),
                location: s(g, "location"),
                subnet_ids: g["subnetIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
                dns_config: g["dnsConfig"].clone(),
            })
            .collect();
        let writes = v["writes"]
            .as_array()
            .expect("state.writes is a list")
            .iter()
            .map(|w| WriteRec {
                method: s(w, "method"),
                path: s(w, "path"),
                at: s(w, "at"),
                status: w["status"].as_u64().unwrap_or(0) as u16,
                user_agent: s(w, "userAgent"),
            })
            .collect();
        let tokens_issued = match &v["tokensIssued"] {
            Value::Object(m) => m.values().filter_map(Value::as_u64).sum(),
            other => other.as_u64().unwrap_or(0),
        };
        EmuState {
            groups,
            writes,
            tokens_issued,
        }
    }

    pub fn live(&self) -> Vec<&Group> {
        self.groups.iter().filter(|g| g.live()).collect()
    }

    pub fn live_names(&self) -> std::collections::BTreeSet<String> {
        self.live().iter().map(|g| g.name.clone()).collect()
    }

    pub fn count_state(&self, state: &str) -> usize {
        self.groups
            .iter()
            .filter(|g| g.deleted_at.is_none() && g.provisioning_state.eq_ignore_ascii_case(state))
            .count()
    }

    /// PUT, PATCH, POST or DELETE on container groups (token requests are not ARM writes).
    pub fn group_writes(&self) -> Vec<&WriteRec> {
        self.writes.iter().filter(|w| w.group().is_some()).collect()
    }

    /// One line per group and per write, for failure messages.
    pub fn dump(&self) -> String {
        let mut out = String::from("groups:\n");
        for g in &self.groups {
            out.push_str(&format!(
                "  {} {} created {} deleted {:?}\n",
                g.name, g.provisioning_state, g.created_at, g.deleted_at
            ));
        }
        out.push_str("writes:\n");
        for (i, w) in self.writes.iter().enumerate() {
            out.push_str(&format!(
                "  #{i} {} {} {} {}\n",
                w.at,
                w.method,
                w.group().unwrap_or(&w.path),
                w.status
            ));
        }
        out
    }
}
