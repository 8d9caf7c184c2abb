//! A Kubernetes API server for `coordination.k8s.io/v1` Leases only, on a
//! loopback port: no real API server can run here, so this one answers the
//! calls leader election makes (kube-rs, `kube-lease-manager`) as the real
//! one documents them:
//!
//! * `GET .../namespaces/{ns}/leases/{name}`: the Lease, or a `404 NotFound`
//!   `Status`;
//! * `POST .../namespaces/{ns}/leases`: `201` with server-set metadata, or
//!   `409 AlreadyExists`;
//! * `PATCH .../leases/{name}?fieldManager=M` as a strategic-merge patch
//!   (an `Update`: `null` removes a field, the manager takes ownership of
//!   the fields it sets) or as server-side apply
//!   (`application/apply-patch+yaml`, not forced): `409 Conflict` when a
//!   field the applier sets to a different value is owned by another
//!   manager, which is what keeps two candidates from both taking the Lease;
//! * `metadata.resourceVersion` bumps on every write; a patch carrying a
//!   stale one is a `409 Conflict`.
//!
//! Every change of `spec.holderIdentity` is recorded with its wall time.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

const SPEC_FIELDS: [&str; 5] = [
    "holderIdentity",
    "leaseDurationSeconds",
    "acquireTime",
    "renewTime",
    "leaseTransitions",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Manager {
    name: String,
    apply: bool,
}

struct StoredLease {
    uid: String,
    created: String,
    resource_version: u64,
    spec: Map<String, Value>,
    /// Owner of each spec field present.
    owners: BTreeMap<String, BTreeSet<Manager>>,
}

#[derive(Default)]
pub struct LeaseApiState {
    leases: BTreeMap<(String, String), StoredLease>,
    next_version: u64,
    /// `(when, holderIdentity)` at every change of the holder.
    pub holders: Vec<(SystemTime, Option<String>)>,
    /// Requests answered, by method.
    pub requests: BTreeMap<String, u64>,
}

/// The server; it lives as long as the test (its thread is detached).
#[derive(Clone)]
pub struct LeaseApi {
    pub url: String,
    state: Arc<Mutex<LeaseApiState>>,
}

impl LeaseApi {
    pub fn start() -> LeaseApi {
        let state = Arc::new(Mutex::new(LeaseApiState {
            next_version: 4711,
            ..LeaseApiState::default()
        }));
        let app = Router::new()
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
                post(create),
            )
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
                get(read).patch(patch),
            )
            .fallback(|| async {
                status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    "the server could not find the requested resource",
                )
            })
            .with_state(state.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the Lease API");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind the Lease API");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                axum::serve(listener, app).await.expect("serve the Lease API");
            });
        });
        let addr = rx.recv().expect("the Lease API's address");
        LeaseApi {
            url: format!("http://{addr}"),
            state,
        }
    }

    pub fn state(&self) -> MutexGuard<'_, LeaseApiState> {
        match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// The holder at `t` by the recorded history.
    pub fn holder_at(&self, t: SystemTime) -> Option<String> {
        self.state()
            .holders
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .and_then(|(_, h)| h.clone())
    }
}

type Shared = State<Arc<Mutex<LeaseApiState>>>;

fn lock(s: &Arc<Mutex<LeaseApiState>>) -> MutexGuard<'_, LeaseApiState> {
    match s.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    }
}

/// A `metav1.Status` failure, as the API server sends it.
fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        axum::Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

fn not_found(name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("leases.coordination.k8s.io \"{name}\" not found"),
    )
}

fn now_micro() -> String {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    // RFC 3339 with microseconds, UTC (civil-from-days, Howard Hinnant).
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// An RFC 3339 UTC time (`2026-11-27T22:24:51.078622021Z`, as the emulator
/// writes them) as a `SystemTime`.
pub fn parse_utc(s: &str) -> Option<SystemTime> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = s.get(19..)?.trim_end_matches('Z');
    let nanos: u32 = match frac.strip_prefix('.') {
        Some(f) => format!("{f:0<9}").get(..9)?.parse().ok()?,
        None => 0,
    };
    // days-from-civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + sec).ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::new(secs, nanos))
}

fn render(ns: &str, name: &str, l: &StoredLease) -> Value {
    let mut by_manager: BTreeMap<&Manager, Vec<&str>> = BTreeMap::new();
    for (field, owners) in &l.owners {
        for m in owners {
            by_manager.entry(m).or_default().push(field);
        }
    }
    let managed: Vec<Value> = by_manager
        .into_iter()
        .map(|(m, fields)| {
            let spec: Map<String, Value> = fields.iter().map(|f| (format!("f:{f}"), json!({}))).collect();
            json!({
                "manager": m.name, "operation": if m.apply { "Apply" } else { "Update" },
                "apiVersion": "coordination.k8s.io/v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": spec},
            })
        })
        .collect();
    json!({
        "kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
        "metadata": {
            "name": name, "namespace": ns, "uid": l.uid,
            "resourceVersion": l.resource_version.to_string(),
            "creationTimestamp": l.created, "managedFields": managed,
        },
        "spec": Value::Object(l.spec.clone()),
    })
}

async fn read(State(s): Shared, Path((ns, name)): Path<(String, String)>) -> Response {
    let mut st = lock(&s);
    *st.requests.entry("GET".into()).or_default() += 1;
    match st.leases.get(&(ns.clone(), name.clone())) {
        Some(l) => axum::Json(render(&ns, &name, l)).into_response(),
        None => not_found(&name),
    }
}

async fn create(State(s): Shared, Path(ns): Path<String>, body: Bytes) -> Response {
    let mut st = lock(&s);
    *st.requests.entry("POST".into()).or_default() += 1;
    let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "the body is not a Lease");
    };
    let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string) else {
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            "Lease.coordination.k8s.io \"\" is invalid: metadata.name: Required value: name or generateName is required",
        );
    };
    if st.leases.contains_key(&(ns.clone(), name.clone())) {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            &format!("leases.coordination.k8s.io \"{name}\" already exists"),
        );
    }
    st.next_version += 1;
    let spec: Map<String, Value> = obj["spec"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let lease = StoredLease {
        uid: format!("00000000-0000-4000-8000-{:012}", st.next_version),
        created: format!("{}Z", &now_micro()[..19]),
        resource_version: st.next_version,
        spec,
        owners: BTreeMap::new(),
    };
    let out = render(&ns, &name, &lease);
    record_holder(&mut st, None, lease.spec.get("holderIdentity"));
    st.leases.insert((ns, name), lease);
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

fn record_holder(st: &mut LeaseApiState, before: Option<&Value>, after: Option<&Value>) {
    if before != after {
        let h = after.and_then(Value::as_str).map(str::to_string);
        st.holders.push((SystemTime::now(), h));
    }
}

async fn patch(
    State(s): Shared,
    Path((ns, name)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = lock(&s);
    *st.requests.entry("PATCH".into()).or_default() += 1;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let apply = content_type.starts_with("application/apply-patch+yaml");
    if !apply && !content_type.starts_with("application/strategic-merge-patch+json") {
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {content_type}"
            ),
        );
    }
    // Apply needs a field manager; an update without one is managed under
    // its User-Agent's program name, as the API server does.
    let manager = match q.get("fieldManager") {
        Some(m) => m.clone(),
        None if apply => {
            return status(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            );
        }
        None => headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .unwrap_or("unknown")
            .to_string(),
    };
    // JSON is YAML: kube-rs sends apply bodies as JSON.
    let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the patch is not valid JSON",
        );
    };
    let force = q.get("force").is_some_and(|v| v == "true");
    let key = (ns.clone(), name.clone());
    let Some(lease) = st.leases.get(&key) else {
        return not_found(&name);
    };
    if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
        && rv != lease.resource_version.to_string()
    {
        return status(
            StatusCode::CONFLICT,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    let me = Manager { name: manager, apply };
    let patch_spec = obj["spec"].as_object().cloned().unwrap_or_default();
    if apply && !force {
        let conflicts: Vec<String> = patch_spec
            .iter()
            .filter(|(f, v)| SPEC_FIELDS.contains(&f.as_str()) && lease.spec.get(*f) != Some(*v))
            .flat_map(|(f, _)| {
                lease
                    .owners
                    .get(f)
                    .into_iter()
                    .flatten()
                    .filter(|m| **m != me)
                    .map(move |m| format!("conflict with \"{}\": .spec.{f}", m.name))
            })
            .collect();
        if !conflicts.is_empty() {
            return status(
                StatusCode::CONFLICT,
                "Conflict",
                &format!(
                    "Apply failed with {} conflict(s): {}",
                    conflicts.len(),
                    conflicts.join(", ")
                ),
            );
        }
    }
    st.next_version += 1;
    let version = st.next_version;
    let Some(lease) = st.leases.get_mut(&key) else {
        return not_found(&name);
    };
    let before = lease.spec.get("holderIdentity").cloned();
    for (field, value) in patch_spec {
        if value.is_null() {
            lease.spec.remove(&field);
            lease.owners.remove(&field);
            continue;
        }
        let changed = lease.spec.get(&field) != Some(&value);
        let owners = lease.owners.entry(field.clone()).or_default();
        // A changed value (or a forced apply) takes the field from everyone;
        // an applier setting the same value shares it; an update that
        // changes nothing owns nothing new.
        if changed || force {
            owners.clear();
            owners.insert(me.clone());
        } else if apply {
            owners.insert(me.clone());
        }
        lease.spec.insert(field, value);
    }
    lease.resource_version = version;
    let out = render(&ns, &name, lease);
    let after = lease.spec.get("holderIdentity").cloned();
    record_holder(&mut st, before.as_ref(), after.as_ref());
    axum::Json(out).into_response()
}
