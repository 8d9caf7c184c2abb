//! Rendering stored container groups as the spec's `ContainerGroup` (GET, PUT answers) and
//! `ListResultContainerGroup` (lists, no `instanceView`). Secrets are never returned.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::lifecycle::{ContainerRun, Outcome, Phase, Terminated, Timeline, group_state};

/// Read-only or secret-free view of a stored group, ready to render.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    /// ARM resource id.
    pub id: &'a str,
    /// Name as created.
    pub name: &'a str,
    /// Normalised region.
    pub location: &'a str,
    /// The stored request body (read-only fields removed).
    pub body: &'a Value,
    /// `properties.provisioningState`.
    pub provisioning_state: &'a str,
    /// Current provisioning attempt.
    pub timeline: &'a Timeline,
    /// Assigned IP address.
    pub ip: Option<&'a str>,
    /// Assigned FQDN.
    pub fqdn: Option<&'a str>,
    /// The group was stopped.
    pub stopped: bool,
    /// `isCreatedFromStandbyPool` (rendered only when the create named a standby pool).
    pub from_standby_pool: Option<bool>,
    /// Now.
    pub now: Timestamp,
}

/// Removes secret values in place (CONTRACT §3: secureValue, registry passwords, storage and
/// workspace keys, secret volume contents).
pub fn strip_secrets(props: &mut Map<String, Value>) {
    let containers = ["containers", "initContainers"];
    for key in containers {
        for c in props
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let envs = c
                .pointer_mut("/properties/environmentVariables")
                .and_then(Value::as_array_mut);
            for env in envs.into_iter().flatten() {
                if let Some(o) = env.as_object_mut() {
                    o.remove("secureValue");
                }
            }
        }
    }
    for cred in props
        .get_mut("imageRegistryCredentials")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = cred.as_object_mut() {
            o.remove("password");
        }
    }
    for vol in props
        .get_mut("volumes")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(o) = vol.as_object_mut() {
            if o.contains_key("secret") {
                o.insert("secret".into(), json!({}));
            }
            if let Some(af) = o.get_mut("azureFile").and_then(Value::as_object_mut) {
                af.remove("storageAccountKey");
            }
        }
    }
    let log_analytics = props
        .get_mut("diagnostics")
        .and_then(|d| d.get_mut("logAnalytics"));
    if let Some(la) = log_analytics.and_then(Value::as_object_mut) {
        la.remove("workspaceKey");
    }
}

fn event(name: &str, ty: &str, message: String, first: Timestamp, last: Timestamp, count: u64) -> Value {
    json!({"count": count, "firstTimestamp": first.to_string(), "lastTimestamp": last.to_string(),
           "name": name, "message": message, "type": ty})
}

fn terminated_state(t: &Terminated) -> Value {
    json!({"state": "Terminated", "startTime": t.started.to_string(), "finishTime": t.finished.to_string(),
           "exitCode": t.exit_code, "detailStatus": if t.exit_code == 0 { "Completed" } else { "Error" }})
}

/// `containers[i].properties.instanceView`.
fn container_view(
    tl: &Timeline,
    index: usize,
    name: &str,
    image: &str,
    now: Timestamp,
    stopped: bool,
) -> Value {
    let phase = tl.phase(now);
    let pulling_at = tl.creating_at.unwrap_or(tl.started);
    let pulling = |n: u64, last: Timestamp| {
        event(
            "Pulling",
            "Normal",
            format!("pulling image \"{image}\""),
            pulling_at,
            last,
            n,
        )
    };
    if let Outcome::PullFails {
        container,
        image: bad,
    } = &tl.outcome
        && container == name
        && phase == Phase::Failed
    {
        let done = tl.done_at.unwrap_or(now);
        let events = vec![
            pulling(2, done),
            event(
                "Failed",
                "Warning",
                format!(
                    "Failed to pull image \"{bad}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{bad}\": failed to resolve reference \"{bad}\": {bad}: not found"
                ),
                pulling_at,
                done,
                2,
            ),
            event(
                "BackOff",
                "Normal",
                format!("Back-off pulling image \"{bad}\""),
                done,
                now.max(done),
                1,
            ),
        ];
        return json!({"restartCount": 0, "currentState": {"state": "Waiting", "detailStatus": "ErrImagePull",
                      "startTime": pulling_at.to_string()}, "events": events});
    }
    match phase {
        Phase::Pending | Phase::Failed => {
            json!({"restartCount": 0, "currentState": {"state": "Waiting", "detailStatus": ""}, "events": []})
        }
        Phase::Creating => json!({"restartCount": 0,
            "currentState": {"state": "Waiting", "detailStatus": "ContainerCreating", "startTime": pulling_at.to_string()},
            "events": [pulling(1, pulling_at)]}),
        Phase::Succeeded => {
            let done = tl.done_at.unwrap_or(now);
            let mut events = vec![
                pulling(1, pulling_at),
                event(
                    "Pulled",
                    "Normal",
                    format!("Successfully pulled image \"{image}\""),
                    done,
                    done,
                    1,
                ),
            ];
            let run = tl.container_run(index, now);
            let (current, previous, restarts) = match run {
                ContainerRun::Waiting => (json!({"state": "Waiting", "detailStatus": ""}), None, 0),
                ContainerRun::Running {
                    since,
                    restarts,
                    previous,
                } => (
                    json!({"state": "Running", "startTime": since.to_string(), "detailStatus": ""}),
                    previous.as_ref().map(terminated_state),
                    restarts,
                ),
                ContainerRun::Terminated {
                    started,
                    finished,
                    exit_code,
                } => (
                    terminated_state(&Terminated {
                        started,
                        finished,
                        exit_code,
                    }),
                    None,
                    0,
                ),
            };
            events.push(event(
                "Started",
                "Normal",
                format!("Started container {name}"),
                done,
                done,
                restarts + 1,
            ));
            let current = if stopped {
                json!({"state": "Terminated", "detailStatus": "Stopped", "exitCode": 0, "startTime": done.to_string(),
                       "finishTime": now.to_string()})
            } else {
                current
            };
            let mut view = json!({"restartCount": restarts, "currentState": current, "events": events});
            if let (Some(prev), Some(o)) = (previous, view.as_object_mut()) {
                o.insert("previousState".into(), prev);
            }
            view
        }
    }
}

/// `properties.instanceView` of the group.
fn group_view(tl: &Timeline, now: Timestamp, stopped: bool) -> Value {
    let mut events = Vec::new();
    if let (Outcome::NoCapacity { message }, Phase::Failed) = (&tl.outcome, tl.phase(now)) {
        let at = tl.done_at.unwrap_or(now);
        events.push(event(
            "InsufficientCapacity.",
            "Warning",
            message.clone(),
            at,
            at,
            1,
        ));
    }
    json!({"state": group_state(tl, now, stopped), "events": events})
}

fn base(input: &RenderInput<'_>, list: bool) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(input.id));
    out.insert("name".into(), json!(input.name));
    out.insert(
        "type".into(),
        json!("Microsoft.ContainerInstance/containerGroups"),
    );
    out.insert("location".into(), json!(input.location));
    for key in ["tags", "zones", "identity"] {
        if let Some(v) = input.body.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut props = input
        .body
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    strip_secrets(&mut props);
    props.insert("provisioningState".into(), json!(input.provisioning_state));
    if let Some(from_pool) = input.from_standby_pool {
        props.insert("isCreatedFromStandbyPool".into(), json!(from_pool));
    }
    if let Some(ip) = props.get_mut("ipAddress").and_then(Value::as_object_mut) {
        if let Some(addr) = input.ip {
            ip.insert("ip".into(), json!(addr));
        }
        if let Some(fqdn) = input.fqdn {
            ip.insert("fqdn".into(), json!(fqdn));
        }
    }
    if !list {
        let names_images: Vec<(String, String)> = props
            .get("containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let s = |p: &str| {
                            c.pointer(p)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        (s("/name"), s("/properties/image"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(cs) = props.get_mut("containers").and_then(Value::as_array_mut) {
            for (i, (c, (name, image))) in cs.iter_mut().zip(names_images).enumerate() {
                let view = container_view(input.timeline, i, &name, &image, input.now, input.stopped);
                if let Some(p) = c.get_mut("properties").and_then(Value::as_object_mut) {
                    p.insert("instanceView".into(), view);
                }
            }
        }
        props.insert(
            "instanceView".into(),
            group_view(input.timeline, input.now, input.stopped),
        );
    }
    out.insert("properties".into(), Value::Object(props));
    Value::Object(out)
}

/// The `ContainerGroup` body of GET / PUT / DELETE(200).
pub fn render_group(input: &RenderInput<'_>) -> Value {
    base(input, false)
}

/// The `ListResultContainerGroup` item of list pages (no `instanceView`).
pub fn render_list_item(input: &RenderInput<'_>) -> Value {
    base(input, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::validate::RestartPolicy;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_700_000_000_000 + ms).unwrap()
    }

    fn body() -> Value {
        json!({"location": "westeurope", "tags": {"a": "b"}, "properties": {
            "osType": "Linux",
            "containers": [{"name": "app", "properties": {"image": "nginx",
                "resources": {"requests": {"cpu": 1, "memoryInGB": 1}},
                "environmentVariables": [{"name": "S", "secureValue": "hunter2"}, {"name": "P", "value": "v"}]}}],
            "imageRegistryCredentials": [{"server": "r.io", "username": "u", "password": "pw"}],
            "volumes": [{"name": "vol-1", "secret": {"k": "c2VjcmV0"}},
                        {"name": "vol-2", "azureFile": {"shareName": "s", "storageAccountName": "a", "storageAccountKey": "key"}}],
            "diagnostics": {"logAnalytics": {"workspaceId": "w", "workspaceKey": "wk"}},
            "ipAddress": {"type": "Public", "ports": [{"port": 80}]}}})
    }

    fn input<'a>(b: &'a Value, tl: &'a Timeline, now: Timestamp) -> RenderInput<'a> {
        RenderInput {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg",
            name: "cg",
            location: "westeurope",
            body: b,
            provisioning_state: tl.phase(now).as_str(),
            timeline: tl,
            ip: Some("20.40.0.4"),
            fqdn: None,
            stopped: false,
            from_standby_pool: None,
            now,
        }
    }

    #[test]
    fn secrets_are_never_rendered() {
        let b = body();
        let tl = Timeline::new(
            t(0),
            Some((Duration::ZERO, Duration::ZERO)),
            Outcome::Succeed,
            vec![None],
            RestartPolicy::Always,
        );
        let out = render_group(&input(&b, &tl, t(10))).to_string();
        for secret in ["hunter2", "pw", "c2VjcmV0", "\"key\"", "wk"] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        let v = render_group(&input(&b, &tl, t(10)));
        assert_eq!(v["properties"]["volumes"][0]["secret"], json!({}));
        assert_eq!(v["properties"]["ipAddress"]["ip"], "20.40.0.4");
        assert_eq!(v["properties"]["instanceView"]["state"], "Running");
        assert_eq!(
            v["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]["state"],
            "Running"
        );
        let item = render_list_item(&input(&b, &tl, t(10)));
        assert!(item["properties"].get("instanceView").is_none());
        assert!(
            item["properties"]["containers"][0]["properties"]
                .get("instanceView")
                .is_none()
        );
    }

    #[test]
    fn failed_pull_shows_events() {
        let b = body();
        let outcome = Outcome::PullFails {
            container: "app".into(),
            image: "nginx".into(),
        };
        let tl = Timeline::new(
            t(0),
            Some((Duration::ZERO, Duration::from_millis(5))),
            outcome,
            vec![None],
            RestartPolicy::Always,
        );
        let v = render_group(&input(&b, &tl, t(10)));
        assert_eq!(v["properties"]["provisioningState"], "Failed");
        let view = &v["properties"]["containers"][0]["properties"]["instanceView"];
        assert_eq!(view["currentState"]["state"], "Waiting");
        let names: Vec<&str> = view["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert_eq!(names, ["Pulling", "Failed", "BackOff"]);
        assert_eq!(view["events"][1]["type"], "Warning");
    }
}
