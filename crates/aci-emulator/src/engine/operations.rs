//! Long-running operations: the `Azure-AsyncOperation` status resource (always 200 with a
//! `status`) and the `Location` result resource (202 while running, then the final answer).

use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{ArmRequest, ArmResponse, Engine, GroupKey};
use crate::{
    error::ArmError,
    lifecycle::{Outcome, Phase},
};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    /// Create, update, start or restart: follows the group's provisioning timeline.
    Create,
    /// Async delete.
    Delete,
}

/// A terminal state fixed at some moment (the group was deleted or replaced).
#[derive(Debug, Clone)]
pub(crate) struct Frozen {
    status: &'static str,
    end: Timestamp,
    error: Option<(String, String)>,
    events: Vec<Value>,
}

/// One operation.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    kind: OpKind,
    key: GroupKey,
    resource_id: String,
    started: Timestamp,
    frozen: Option<Frozen>,
    delete_done: Option<Timestamp>,
}

/// The status of an operation at some moment.
#[derive(Debug, Clone)]
struct View {
    status: &'static str,
    end: Option<Timestamp>,
    error: Option<(String, String)>,
    events: Vec<Value>,
}

impl View {
    fn terminal(&self) -> bool {
        matches!(self.status, "Succeeded" | "Failed" | "Canceled")
    }
}

fn event(name: &str, ty: &str, message: &str, at: Timestamp) -> Value {
    json!({"count": 1, "firstTimestamp": at.to_string(), "lastTimestamp": at.to_string(), "name": name, "message": message, "type": ty})
}

impl Engine {
    pub(super) fn register_op(
        &mut self,
        id: &str,
        kind: OpKind,
        key: GroupKey,
        resource_id: String,
        now: Timestamp,
        delete_done: Option<Option<Timestamp>>,
    ) {
        let op = Operation {
            kind,
            key,
            resource_id,
            started: now,
            frozen: None,
            delete_done: delete_done.flatten(),
        };
        self.ops.insert(id.to_owned(), op);
    }

    fn op_view(&self, id: &str, now: Timestamp) -> Option<View> {
        let op = self.ops.get(id)?;
        if let Some(f) = &op.frozen {
            return Some(View {
                status: f.status,
                end: Some(f.end),
                error: f.error.clone(),
                events: f.events.clone(),
            });
        }
        Some(match op.kind {
            OpKind::Delete => match op.delete_done {
                Some(done) if now >= done => View {
                    status: "Succeeded",
                    end: Some(done),
                    error: None,
                    events: vec![],
                },
                _ => View {
                    status: "InProgress",
                    end: None,
                    error: None,
                    events: vec![],
                },
            },
            OpKind::Create => {
                let Some(g) = self.groups.get(&op.key).filter(|g| g.op_id == id) else {
                    return Some(View {
                        status: "Canceled",
                        end: Some(now),
                        error: canceled(),
                        events: vec![],
                    });
                };
                let tl = &g.timeline;
                match tl.phase(now) {
                    Phase::Pending => View {
                        status: "Pending",
                        end: None,
                        error: None,
                        events: vec![],
                    },
                    Phase::Creating => View {
                        status: "Creating",
                        end: None,
                        error: None,
                        events: vec![],
                    },
                    Phase::Succeeded => View {
                        status: "Succeeded",
                        end: tl.done_at,
                        error: None,
                        events: vec![],
                    },
                    Phase::Failed => {
                        let at = tl.done_at.unwrap_or(now);
                        let (error, events) = match &tl.outcome {
                            Outcome::PullFails { image, .. } => {
                                let msg = format!(
                                    "The image '{image}' in container group '{}' is not accessible. Please check the image and registry credential.",
                                    g.name
                                );
                                let ev = event(
                                    "Failed",
                                    "Warning",
                                    &format!("Failed to pull image \"{image}\""),
                                    at,
                                );
                                (("InaccessibleImage".to_owned(), msg), vec![ev])
                            }
                            Outcome::NoCapacity { message } => (
                                ("Failed".to_owned(), message.clone()),
                                vec![event("InsufficientCapacity.", "Warning", message, at)],
                            ),
                            Outcome::Succeed => {
                                (("Failed".to_owned(), "The operation failed.".to_owned()), vec![])
                            }
                        };
                        View {
                            status: "Failed",
                            end: Some(at),
                            error: Some(error),
                            events,
                        }
                    }
                }
            }
        })
    }

    /// Fixes the operation's state as of `now`: terminal stays, anything else becomes `Canceled`.
    pub(super) fn freeze_op(&mut self, id: &str, now: Timestamp) {
        let Some(view) = self.op_view(id, now) else { return };
        let frozen = if view.terminal() {
            Frozen {
                status: view.status,
                end: view.end.unwrap_or(now),
                error: view.error,
                events: view.events,
            }
        } else {
            Frozen {
                status: "Canceled",
                end: now,
                error: canceled(),
                events: vec![],
            }
        };
        if let Some(op) = self.ops.get_mut(id) {
            op.frozen = Some(frozen);
        }
    }

    fn op_not_found(id: &str) -> ArmError {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            format!("The operation '{id}' could not be found."),
        )
    }

    pub(super) fn operation_status(&mut self, id: &str, now: Timestamp) -> Result<ArmResponse, ArmError> {
        let view = self.op_view(id, now).ok_or_else(|| Self::op_not_found(id))?;
        let op = self.ops.get(id).ok_or_else(|| Self::op_not_found(id))?;
        let mut body = Map::new();
        body.insert("id".into(), json!(op.resource_id));
        body.insert("name".into(), json!(id));
        body.insert("status".into(), json!(view.status));
        body.insert("startTime".into(), json!(op.started.to_string()));
        if let Some(end) = view.end {
            body.insert("endTime".into(), json!(end.to_string()));
        }
        body.insert("properties".into(), json!({"events": view.events}));
        if let Some((code, message)) = &view.error {
            body.insert("error".into(), json!({"code": code, "message": message}));
        }
        let mut resp = ArmResponse::json(StatusCode::OK, Value::Object(body));
        if !view.terminal()
            && let Some(secs) = self.settings.lro_retry_after
        {
            resp.headers.push(("retry-after", secs.to_string()));
        }
        Ok(resp)
    }

    pub(super) fn operation_result(
        &mut self,
        req: &ArmRequest,
        id: &str,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let view = self.op_view(id, now).ok_or_else(|| Self::op_not_found(id))?;
        let op = self.ops.get(id).ok_or_else(|| Self::op_not_found(id))?;
        if !view.terminal() {
            let mut resp = ArmResponse::empty(StatusCode::ACCEPTED);
            let query = req
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            resp.headers
                .push(("location", format!("{}{}?{query}", req.base_url, req.path)));
            resp.headers.push((
                "retry-after",
                self.settings.lro_retry_after.unwrap_or(1).to_string(),
            ));
            return Ok(resp);
        }
        match (op.kind, view.status) {
            (OpKind::Delete, _) => Ok(ArmResponse::empty(StatusCode::NO_CONTENT)),
            (OpKind::Create, "Canceled") => Err(ArmError::group_not_found(&op.key.1, &op.key.2)),
            (OpKind::Create, _) => {
                let g = self
                    .groups
                    .get(&op.key)
                    .ok_or_else(|| ArmError::group_not_found(&op.key.1, &op.key.2))?;
                Ok(ArmResponse::json(StatusCode::OK, self.render(g, now, false)))
            }
        }
    }
}

fn canceled() -> Option<(String, String)> {
    Some((
        "Canceled".to_owned(),
        "The operation was canceled because the container group was deleted or updated before it completed."
            .to_owned(),
    ))
}
