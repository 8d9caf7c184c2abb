//! The emulator's state and request pipeline, without HTTP: an [`ArmRequest`] in, an
//! [`ArmResponse`] out, time passed explicitly. The HTTP layer (`crate::http`) only converts.
//!
//! Pipeline for an ARM request: authentication (401) → api-version (400) → path checks (400) →
//! forced throttle / ARM token bucket (429) → random 5xx → the operation → lost-response 5xx →
//! common headers. Every write is recorded for `/_emulator/state`, whatever its answer.

mod actions;
mod claim;
mod groups;
mod misc;
mod operations;
mod pool_ops;
mod pools;
mod profiles;
mod snapshot;
mod standby_dispatch;

use std::collections::{BTreeMap, HashMap, VecDeque};

use http::{Method, StatusCode};
use jiff::Timestamp;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

pub use self::snapshot::{GroupRecord, PoolRecord, StateSnapshot, WriteRecord};
use crate::{
    auth::TokenStore,
    config::{
        DeleteMode, EmulatorConfig, Limits, ProvisioningLatency, RESOURCES_API_VERSIONS, StandbyConfig,
    },
    error::ArmError,
    faults::{Faults, ThrottleScope},
    lifecycle::Timeline,
    route::{ArmRoute, Provider},
    throttle::{SlidingWindows, Take, TokenBucket},
    validate::{GroupSpec, check_path},
};

/// One ARM request, already parsed.
#[derive(Debug, Clone)]
pub struct ArmRequest {
    /// HTTP method.
    pub method: Method,
    /// Path without query.
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Raw body.
    pub body: bytes::Bytes,
    /// `http://host:port` as the caller reached us (used in absolute URLs).
    pub base_url: String,
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// `x-ms-client-request-id` header.
    pub client_request_id: Option<String>,
}

/// One ARM answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl ArmResponse {
    fn json(status: StatusCode, body: Value) -> Self {
        ArmResponse {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    fn empty(status: StatusCode) -> Self {
        ArmResponse {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn from_error(e: &ArmError) -> Self {
        let mut r = ArmResponse::json(e.status, e.body());
        if let Some(secs) = e.retry_after {
            r.headers.push(("retry-after", secs.to_string()));
        }
        if e.status == StatusCode::UNAUTHORIZED {
            r.headers.push((
                "www-authenticate",
                format!(
                    "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"{}\"",
                    e.message.replace('"', "'")
                ),
            ));
        }
        if e.status == StatusCode::NOT_FOUND {
            r.headers.push(("x-ms-failure-cause", "gateway".into()));
        }
        r
    }
}

/// Key of a live group: lower-cased (subscription, resource group, name).
pub(crate) type GroupKey = (String, String, String);

pub(crate) fn key(sub: &str, rg: &str, name: &str) -> GroupKey {
    (
        sub.to_ascii_lowercase(),
        rg.to_ascii_lowercase(),
        name.to_ascii_lowercase(),
    )
}

/// Deletion in progress.
#[derive(Debug, Clone)]
pub(crate) struct Deleting {
    pub op_id: String,
    pub done_at: Option<Timestamp>,
}

/// A live container group.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub sub: String,
    pub rg: String,
    pub name: String,
    pub body: Value,
    pub spec: GroupSpec,
    pub timeline: Timeline,
    pub ip: Option<String>,
    pub fqdn: Option<String>,
    pub op_id: String,
    pub deleting: Option<Deleting>,
    pub stopped: bool,
    pub record: usize,
    /// `isCreatedFromStandbyPool`: `Some` when the create named a standby pool.
    pub from_pool: Option<bool>,
}

impl Group {
    pub(crate) fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerInstance/containerGroups/{}",
            self.sub, self.rg, self.name
        )
    }

    pub(crate) fn provisioning_state(&self, now: Timestamp) -> &'static str {
        if self.deleting.is_some() {
            "Deleting"
        } else {
            self.timeline.phase(now).as_str()
        }
    }
}

/// Per-subscription counters.
#[derive(Debug)]
pub(crate) struct SubCounters {
    reads: TokenBucket,
    writes: TokenBucket,
    deletes: TokenBucket,
    pub creates: SlidingWindows,
    pub aci_deletes: SlidingWindows,
}

/// Static settings taken from [`EmulatorConfig`].
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub page_size: usize,
    pub api_versions: Vec<String>,
    pub standby_api_versions: Vec<String>,
    pub locations: Vec<String>,
    pub zones: Vec<String>,
    pub region_zones: BTreeMap<String, Vec<String>>,
    pub standby: StandbyConfig,
    pub require_auth: bool,
    pub latency: ProvisioningLatency,
    pub delete_mode: DeleteMode,
    pub lro_location_header: bool,
    pub lro_retry_after: Option<u64>,
    pub max_write_records: usize,
}

/// The whole emulator state.
#[derive(Debug)]
pub struct Engine {
    pub(crate) settings: Settings,
    /// Quotas and rate limits (changeable at run time).
    pub limits: Limits,
    /// Injected faults (changeable at run time).
    pub faults: Faults,
    /// Issued tokens.
    pub tokens: TokenStore,
    pub(crate) token_config: crate::config::TokenConfig,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) groups: BTreeMap<GroupKey, Group>,
    pub(crate) profiles: BTreeMap<GroupKey, profiles::Profile>,
    pub(crate) pools: BTreeMap<GroupKey, pools::Pool>,
    pub(crate) pool_ops: HashMap<String, pool_ops::PoolOp>,
    pub(crate) ops: HashMap<String, operations::Operation>,
    pub(crate) history: Vec<GroupRecord>,
    pub(crate) writes: VecDeque<WriteRecord>,
    pub(crate) subs: HashMap<String, SubCounters>,
    pub(crate) public_ips: u32,
    pub(crate) subnets: Vec<(String, u32)>,
}

impl Engine {
    /// A fresh emulator state.
    pub fn new(config: &EmulatorConfig) -> Self {
        Engine {
            settings: Settings {
                page_size: config.page_size.max(1),
                api_versions: config.api_versions.clone(),
                standby_api_versions: config.standby_api_versions.clone(),
                locations: config.locations.clone(),
                zones: config.zones.clone(),
                region_zones: config.region_zones.clone(),
                standby: config.standby,
                require_auth: config.require_auth,
                latency: config.latency,
                delete_mode: config.delete_mode,
                lro_location_header: config.lro_location_header,
                lro_retry_after: config.lro_retry_after,
                max_write_records: config.max_write_records,
            },
            limits: config.limits.clone(),
            faults: config.faults.clone(),
            tokens: TokenStore::default(),
            token_config: config.token.clone(),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            groups: BTreeMap::new(),
            profiles: BTreeMap::new(),
            pools: BTreeMap::new(),
            pool_ops: HashMap::new(),
            ops: HashMap::new(),
            history: Vec::new(),
            writes: VecDeque::new(),
            subs: HashMap::new(),
            public_ips: 0,
            subnets: Vec::new(),
        }
    }

    /// Token endpoint settings.
    pub fn token_config(&self) -> &crate::config::TokenConfig {
        &self.token_config
    }

    /// A seeded GUID.
    pub(crate) fn guid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    /// Samples the per-call latency fault.
    pub fn sample_call_latency(&mut self) -> std::time::Duration {
        let dist = self.faults.call_latency;
        dist.sample(&mut self.rng)
    }

    fn counters(&mut self, sub: &str, now: Timestamp) -> &mut SubCounters {
        let l = &self.limits;
        self.subs
            .entry(sub.to_ascii_lowercase())
            .or_insert_with(|| SubCounters {
                reads: TokenBucket::new(l.arm_reads, now),
                writes: TokenBucket::new(l.arm_writes, now),
                deletes: TokenBucket::new(l.arm_deletes, now),
                creates: SlidingWindows::default(),
                aci_deletes: SlidingWindows::default(),
            })
    }

    /// Completes async deletions whose time has come.
    pub(crate) fn sweep(&mut self, now: Timestamp) {
        self.sweep_pools(now);
        let done: Vec<GroupKey> = self
            .groups
            .iter()
            .filter(|(_, g)| {
                g.deleting
                    .as_ref()
                    .and_then(|d| d.done_at)
                    .is_some_and(|t| now >= t)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in done {
            if let Some(g) = self.groups.remove(&k) {
                let at = g.deleting.as_ref().and_then(|d| d.done_at).unwrap_or(now);
                self.finish_record(&g, at);
            }
        }
    }

    pub(crate) fn finish_record(&mut self, g: &Group, at: Timestamp) {
        if let Some(rec) = self.history.get_mut(g.record) {
            rec.deleted_at = Some(at);
            rec.provisioning_state = "Deleted".to_owned();
        }
    }

    fn check_api_version(&self, req: &ArmRequest, route: &ArmRoute) -> Result<(), ArmError> {
        let version = req
            .query
            .iter()
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.as_str());
        let Some(v) = version.filter(|v| !v.is_empty()) else {
            return Err(ArmError::missing_api_version());
        };
        let resources: Vec<String>;
        let supported = match route.provider() {
            Provider::ContainerInstance => &self.settings.api_versions,
            Provider::StandbyPool => &self.settings.standby_api_versions,
            Provider::Resources => {
                resources = RESOURCES_API_VERSIONS.iter().map(|v| (*v).to_owned()).collect();
                &resources
            }
        };
        if route.is_operation() || supported.iter().any(|s| s == v) {
            return Ok(());
        }
        if !is_api_version_shaped(v) {
            return Err(ArmError::invalid_api_version(v, supported));
        }
        let location = serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|b| {
                b.get("location")
                    .and_then(Value::as_str)
                    .map(crate::validate::normalize_region)
            })
            .or_else(|| self.settings.locations.first().cloned())
            .unwrap_or_default();
        Err(ArmError::no_registered_provider(
            v,
            &location,
            route.resource_type(),
            supported,
        ))
    }

    /// Throttling: the forced fault first, then the subscription's ARM bucket for this method.
    fn throttle(
        &mut self,
        sub: &str,
        method: &Method,
        now: Timestamp,
    ) -> Result<(&'static str, u64), ArmError> {
        let is_read = method == Method::GET;
        if let Some(forced) = self.faults.force_throttle.as_mut() {
            let hits = match forced.scope {
                ThrottleScope::All => true,
                ThrottleScope::Reads => is_read,
                ThrottleScope::Writes => !is_read,
            };
            if hits && forced.count > 0 {
                forced.count -= 1;
                let secs = forced.retry_after_secs;
                if forced.count == 0 {
                    self.faults.force_throttle = None;
                }
                return Err(throttled(
                    "TooManyRequests",
                    sub,
                    if is_read { "read" } else { "write" },
                    secs,
                ));
            }
        }
        let limits = self.limits.clone();
        let c = self.counters(sub, now);
        let (kind, header, bucket, limit) = if is_read {
            (
                "read",
                "x-ms-ratelimit-remaining-subscription-reads",
                &mut c.reads,
                limits.arm_reads,
            )
        } else if method == Method::DELETE {
            (
                "delete",
                "x-ms-ratelimit-remaining-subscription-deletes",
                &mut c.deletes,
                limits.arm_deletes,
            )
        } else {
            (
                "write",
                "x-ms-ratelimit-remaining-subscription-writes",
                &mut c.writes,
                limits.arm_writes,
            )
        };
        match bucket.take(limit, now) {
            Take::Allowed { remaining } => Ok((header, remaining)),
            Take::Throttled { retry_after } => {
                Err(throttled("SubscriptionRequestsThrottled", sub, kind, retry_after))
            }
        }
    }

    /// Handles one ARM request at time `now`.
    pub fn handle(&mut self, req: &ArmRequest, now: Timestamp) -> ArmResponse {
        self.sweep(now);
        let request_id = self.guid();
        let mut resp = self.pipeline(req, now, &request_id);
        resp.headers.push(("x-ms-request-id", request_id.clone()));
        resp.headers
            .push(("x-ms-correlation-request-id", request_id.clone()));
        resp.headers.push((
            "x-ms-routing-request-id",
            format!("EMULATOR:{}:{request_id}", now.strftime("%Y%m%dT%H%M%SZ")),
        ));
        if let Some(id) = &req.client_request_id {
            resp.headers.push(("x-ms-client-request-id", id.clone()));
        }
        if req.method != Method::GET {
            self.writes.push_back(WriteRecord {
                method: req.method.to_string(),
                path: req.path.clone(),
                at: now,
                user_agent: req.user_agent.clone(),
                client_request_id: req.client_request_id.clone(),
                status: resp.status.as_u16(),
            });
            while self.writes.len() > self.settings.max_write_records {
                self.writes.pop_front();
            }
        }
        resp
    }

    fn pipeline(&mut self, req: &ArmRequest, now: Timestamp, request_id: &str) -> ArmResponse {
        if self.settings.require_auth
            && let Err(e) = self.tokens.check(req.authorization.as_deref(), now)
        {
            return ArmResponse::from_error(&e);
        }
        let Some(route) = ArmRoute::parse(&req.path) else {
            return ArmResponse::from_error(&ArmError::no_route(&req.path));
        };
        if let Err(e) = self.check_api_version(req, &route) {
            return ArmResponse::from_error(&e);
        }
        let path_check = match &route {
            ArmRoute::Group { sub, rg, name }
            | ArmRoute::GroupAction { sub, rg, name, .. }
            | ArmRoute::Logs { sub, rg, name, .. } => {
                // A DELETE or GET of a badly named group is simply not found on ARM; only PUT validates.
                check_path(
                    sub,
                    Some(rg),
                    (req.method == Method::PUT).then_some(name.as_str()),
                )
            }
            ArmRoute::ListByResourceGroup { sub, rg }
            | ArmRoute::Profile { sub, rg, .. }
            | ArmRoute::ProfileRevisions { sub, rg, .. }
            | ArmRoute::Pool { sub, rg, .. }
            | ArmRoute::RuntimeViews { sub, rg, .. }
            | ArmRoute::ProfileList { sub, rg: Some(rg) }
            | ArmRoute::PoolList { sub, rg: Some(rg) } => check_path(sub, Some(rg), None),
            other => check_path(other.subscription(), None, None),
        };
        if let Err(e) = path_check {
            return ArmResponse::from_error(&e);
        }
        let (bucket_header, remaining) = match self.throttle(route.subscription(), &req.method, now) {
            Ok(v) => v,
            Err(e) => return ArmResponse::from_error(&e),
        };
        let rate = self.faults.error_5xx_rate;
        if rate > 0.0 && self.rng.random::<f64>() < rate {
            let e = if self.rng.random::<bool>() {
                ArmError::internal(request_id)
            } else {
                ArmError::service_unavailable_transient()
            };
            return ArmResponse::from_error(&e).header(bucket_header, remaining.to_string());
        }
        let mut resp = self.dispatch(req, &route, now, request_id);
        let lost = self.faults.error_5xx_after_write_rate;
        if req.method != Method::GET
            && resp.status.is_success()
            && lost > 0.0
            && self.rng.random::<f64>() < lost
        {
            resp = ArmResponse::from_error(&ArmError::internal(request_id));
        }
        resp.header(bucket_header, remaining.to_string())
    }

    fn dispatch(
        &mut self,
        req: &ArmRequest,
        route: &ArmRoute,
        now: Timestamp,
        request_id: &str,
    ) -> ArmResponse {
        let m = &req.method;
        let result = match route {
            ArmRoute::Group { sub, rg, name } => match *m {
                Method::PUT => self.put_group(req, sub, rg, name, now, request_id),
                Method::GET => self.get_group(sub, rg, name, now),
                Method::PATCH => self.patch_group(req, sub, rg, name, now),
                Method::DELETE => self.delete_group(req, sub, rg, name, now),
                _ => Err(ArmError::method_not_allowed(m.as_str())),
            },
            ArmRoute::ListByResourceGroup { sub, rg } if *m == Method::GET => {
                self.list(req, sub, Some(rg), now)
            }
            ArmRoute::ListBySubscription { sub } if *m == Method::GET => self.list(req, sub, None, now),
            ArmRoute::GroupAction {
                sub,
                rg,
                name,
                action,
            } if *m == Method::POST => self.group_action(req, sub, rg, name, *action, now),
            ArmRoute::Logs {
                sub,
                rg,
                name,
                container,
            } if *m == Method::GET => self.logs(req, sub, rg, name, container, now),
            ArmRoute::Usages { sub, location } if *m == Method::GET => Ok(self.usages(sub, location)),
            ArmRoute::Capabilities { location, .. } if *m == Method::GET => Ok(self.capabilities(location)),
            ArmRoute::ResourceProvider { sub } if *m == Method::GET => Ok(self.resource_provider(sub)),
            ArmRoute::OperationStatus { id, .. } if *m == Method::GET => self.operation_status(id, now),
            ArmRoute::OperationResult { id, .. } if *m == Method::GET => self.operation_result(req, id, now),
            other => self.dispatch_standby(req, other, now),
        };
        result.unwrap_or_else(|e| ArmResponse::from_error(&e))
    }

    /// Makes all tokens issued so far invalid.
    pub fn revoke_tokens(&mut self, now: Timestamp) {
        self.tokens.revoke_all(now);
    }

    /// Forgets every group, operation, record and counter (faults and limits stay).
    pub fn reset(&mut self) {
        self.groups.clear();
        self.profiles.clear();
        self.pools.clear();
        self.pool_ops.clear();
        self.ops.clear();
        self.history.clear();
        self.writes.clear();
        self.subs.clear();
    }
}

/// `YYYY-MM-DD` with an optional `-suffix` (e.g. `-preview`).
fn is_api_version_shaped(v: &str) -> bool {
    let (date, _) = v.split_at(v.len().min(10));
    let b = date.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (v.len() == 10 || (v.as_bytes().get(10) == Some(&b'-') && v.len() > 11))
}

fn throttled(code: &str, sub: &str, kind: &str, secs: u64) -> ArmError {
    ArmError::new(
        StatusCode::TOO_MANY_REQUESTS,
        code,
        format!(
            "Number of '{kind}' requests for subscription '{sub}' actor 'emulator' exceeded. Please try again after \
             '{secs}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling"
        ),
    )
    .with_retry_after(secs)
}

#[cfg(test)]
mod tests;
