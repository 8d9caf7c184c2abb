//! Following a long-running operation to a terminal state, with a deadline.
//!
//! Order (CONTRACT.md §5): `Azure-AsyncOperation` first, then `Location`,
//! else the resource itself. URLs are used verbatim (same origin only).

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::error::{AciError, classify_operation};
use crate::model::{AsyncOperationStatus, ContainerGroup, Event, ProvisioningPhase};
use crate::observer::Operation;
use crate::retry::RetryMode;
use crate::transport::{Call, Lane, Reply, Transport, parse_body, same_origin_link};

/// Where to look for progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollTarget {
    AsyncOperation(url::Url),
    Location(url::Url),
    Resource,
}

/// What is being waited for: a create/update reaching a terminal
/// `provisioningState`, or a delete making the resource disappear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
    Provisioned,
    Gone,
}

impl Goal {
    fn label(self) -> &'static str {
        match self {
            Goal::Provisioned => "create_or_update",
            Goal::Gone => "delete",
        }
    }
}

pub(crate) fn poll_target(t: &Transport, reply: &Reply) -> Result<PollTarget, AciError> {
    if let Some(u) = reply.header("azure-asyncoperation").filter(|u| !u.is_empty()) {
        return Ok(PollTarget::AsyncOperation(same_origin_link(
            &t.cfg,
            u,
            "Azure-AsyncOperation",
        )?));
    }
    if let Some(u) = reply.header("location").filter(|u| !u.is_empty()) {
        return Ok(PollTarget::Location(same_origin_link(&t.cfg, u, "Location")?));
    }
    Ok(PollTarget::Resource)
}

enum Step {
    Continue(Option<Duration>),
    /// The operation says it is done; confirm on the resource.
    Finished,
    /// The resource itself shows the outcome.
    Resolved(Option<Box<ContainerGroup>>),
}

/// Poll until `goal` is reached. Returns the final resource for a create
/// (`None` for a delete). Fails with the operation's error, or with
/// `DeadlineExceeded` once the configured deadline has passed.
pub(crate) async fn wait(
    t: &Transport,
    resource_url: &url::Url,
    name: &str,
    mut target: PollTarget,
    first_delay: Option<Duration>,
    goal: Goal,
) -> Result<Option<ContainerGroup>, AciError> {
    let policy = &t.cfg.lro;
    let started = Instant::now();
    let deadline = started + policy.deadline;
    let mut delay = pick(policy, first_delay, policy.initial_delay);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(AciError::DeadlineExceeded {
                operation: goal.label(),
                resource: name.to_string(),
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(delay.min(remaining)).await;
        let step = match &target {
            PollTarget::AsyncOperation(url) => match poll_operation(t, url).await {
                Err(OpPollError::Gone) => {
                    // The status URL expired: watch the resource instead.
                    target = PollTarget::Resource;
                    Step::Continue(None)
                }
                Err(OpPollError::Failed(e)) => return Err(e),
                Ok(step) => step,
            },
            PollTarget::Location(url) => poll_location(t, url, goal).await?,
            PollTarget::Resource => poll_resource(t, resource_url, goal).await?,
        };
        match step {
            Step::Continue(server_delay) => {
                let grown = delay.mul_f64(policy.factor.max(1.0)).min(policy.max_delay);
                delay = pick(policy, server_delay, grown);
            }
            Step::Resolved(group) => return Ok(group.map(|g| *g)),
            Step::Finished => {
                // The operation is over; the resource must agree (a create's
                // resource can lag its operation briefly, so keep polling it).
                match poll_resource(t, resource_url, goal).await? {
                    Step::Resolved(group) => return Ok(group.map(|g| *g)),
                    _ => {
                        target = PollTarget::Resource;
                        delay = policy.initial_delay.min(policy.max_delay);
                    }
                }
            }
        }
    }
}

fn pick(policy: &crate::config::LroPolicy, server: Option<Duration>, ours: Duration) -> Duration {
    match server {
        Some(d) if policy.honour_retry_after => d.min(policy.max_delay),
        _ => ours,
    }
}

enum OpPollError {
    Gone,
    Failed(AciError),
}

async fn poll_operation(t: &Transport, url: &url::Url) -> Result<Step, OpPollError> {
    let call = Call {
        op: Operation::PollOperation,
        method: Method::GET,
        url: url.clone(),
        body: None,
        lane: Lane::Read,
        mode: RetryMode::Idempotent,
    };
    let reply = match t.send(&call).await {
        Ok(r) => r,
        Err(f) if f.status == Some(404) => return Err(OpPollError::Gone),
        Err(f) => return Err(OpPollError::Failed(f.err)),
    };
    if reply.status == 202 || reply.body.is_empty() {
        return Ok(Step::Continue(reply.retry_after()));
    }
    let op: AsyncOperationStatus =
        parse_body(&reply, "operation status", "status").map_err(OpPollError::Failed)?;
    match ProvisioningPhase::of(Some(&op.status)) {
        ProvisioningPhase::Succeeded => Ok(Step::Finished),
        ProvisioningPhase::InProgress => Ok(Step::Continue(reply.retry_after())),
        ProvisioningPhase::Failed | ProvisioningPhase::Canceled => {
            let events: Vec<Event> = op
                .properties
                .as_ref()
                .and_then(|p| p.get("events"))
                .and_then(|e| serde_json::from_value(e.clone()).ok())
                .unwrap_or_default();
            let refs: Vec<&Event> = events.iter().collect();
            Err(OpPollError::Failed(classify_operation(
                &op.status,
                op.error.as_ref(),
                &refs,
            )))
        }
    }
}

async fn poll_location(t: &Transport, url: &url::Url, goal: Goal) -> Result<Step, AciError> {
    let call = Call {
        op: Operation::PollOperation,
        method: Method::GET,
        url: url.clone(),
        body: None,
        lane: Lane::Read,
        mode: RetryMode::Idempotent,
    };
    match t.send(&call).await {
        Ok(r) if r.status == 202 => Ok(Step::Continue(r.retry_after())),
        Ok(_) => Ok(Step::Finished),
        Err(f) if f.status == Some(404) && goal == Goal::Gone => Ok(Step::Resolved(None)),
        Err(f) => Err(f.err),
    }
}

/// GET the resource and judge it against the goal.
async fn poll_resource(t: &Transport, url: &url::Url, goal: Goal) -> Result<Step, AciError> {
    let call = Call {
        op: Operation::Get,
        method: Method::GET,
        url: url.clone(),
        body: None,
        lane: Lane::Read,
        mode: RetryMode::Idempotent,
    };
    let reply = match t.send(&call).await {
        Ok(r) => r,
        Err(f) if f.status == Some(404) => {
            return match goal {
                Goal::Gone => Ok(Step::Resolved(None)),
                // Deleted while being created (the create is `Canceled`, then 404).
                Goal::Provisioned => Err(f.err),
            };
        }
        Err(f) => return Err(f.err),
    };
    let group: ContainerGroup = parse_body(&reply, "container group", "properties")?;
    match (goal, group.phase()) {
        (Goal::Gone, _) | (Goal::Provisioned, ProvisioningPhase::InProgress) => {
            Ok(Step::Continue(reply.retry_after()))
        }
        (Goal::Provisioned, ProvisioningPhase::Succeeded) => Ok(Step::Resolved(Some(Box::new(group)))),
        (Goal::Provisioned, phase) => {
            let status = if phase == ProvisioningPhase::Canceled {
                "Canceled"
            } else {
                "Failed"
            };
            Err(classify_operation(status, None, &group_events(&group)))
        }
    }
}

/// Every event on the group and its containers, for classifying a failure.
pub(crate) fn group_events(g: &ContainerGroup) -> Vec<&Event> {
    let p = &g.properties;
    let mut out: Vec<&Event> = p.instance_view.iter().flat_map(|v| v.events.iter()).collect();
    for c in &p.containers {
        if let Some(v) = &c.properties.instance_view {
            out.extend(v.events.iter());
        }
    }
    for c in &p.init_containers {
        if let Some(v) = &c.properties.instance_view {
            out.extend(v.events.iter());
        }
    }
    out
}

/// A group already in a terminal state: `Ok` if it succeeded, else its typed failure.
pub(crate) fn judge_terminal(g: &ContainerGroup) -> Result<(), AciError> {
    match g.phase() {
        ProvisioningPhase::Succeeded | ProvisioningPhase::InProgress => Ok(()),
        ProvisioningPhase::Failed => Err(classify_operation("Failed", None, &group_events(g))),
        ProvisioningPhase::Canceled => Err(classify_operation("Canceled", None, &group_events(g))),
    }
}
