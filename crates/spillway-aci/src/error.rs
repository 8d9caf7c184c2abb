//! Typed errors from the ARM error envelope, and which of them are worth a retry.

use std::time::Duration;

use crate::model::{CloudErrorBody, Event};

/// What went wrong, in terms the planner can act on. Messages come from the
/// server (never a token or secret from this side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AciError {
    /// `ContainerGroupQuotaReached`: regional group/core quota is full. Stop bursting here.
    #[error("quota reached: {code}: {message}")]
    QuotaReached { code: String, message: String },
    /// No capacity in the region right now (`ServiceUnavailable` 409, `InsufficientCapacity`).
    #[error("region capacity unavailable: {code}: {message}")]
    CapacityUnavailable { code: String, message: String },
    /// 429 (ARM or ACI), or this client's own create/delete budget is spent.
    /// `retry_after` is the server's (or the budget's) delay, when known.
    #[error("throttled{}: {message}", fmt_after(*.retry_after))]
    Throttled {
        retry_after: Option<Duration>,
        local: bool,
        message: String,
    },
    /// The image cannot be pulled (`InaccessibleImage`, `RegistryErrorResponse`, a failed pull).
    #[error("image inaccessible: {code}: {message}")]
    ImageInaccessible { code: String, message: String },
    /// A request ARM refused as invalid (400 and friends), with its code.
    #[error("invalid request ({status}): {code}: {message}")]
    InvalidRequest {
        status: u16,
        code: String,
        message: String,
    },
    #[error("not found: {code}: {message}")]
    NotFound { code: String, message: String },
    #[error("conflict: {code}: {message}")]
    Conflict { code: String, message: String },
    /// 5xx and other failures that may pass on their own (after retries ran out).
    #[error("transient failure ({status}): {code}: {message}")]
    Transient {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The operation finished `Failed` or `Canceled` for a reason not listed above.
    #[error("operation {status}: {code}: {message}")]
    OperationFailed {
        status: String,
        code: String,
        message: String,
    },
    /// A long-running operation did not reach a terminal state in time. The
    /// resource may exist: the caller owns adopting or deleting it.
    #[error("{operation} on {resource} not finished after {waited:?} (deadline); it may still complete")]
    DeadlineExceeded {
        operation: &'static str,
        resource: String,
        waited: Duration,
    },
    /// No token, or ARM refused it (401/403).
    #[error("authentication/authorization failed{}: {code}: {message}", fmt_status(*.status))]
    Auth {
        status: Option<u16>,
        code: String,
        message: String,
    },
    /// Connection failures and timeouts, after retries ran out.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered something this client cannot read.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The caller asked for something this client will not send.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A write (or a retry of one) was not sent: this process does not hold
    /// the leader Lease, or would not hold it any more when the retry is due.
    #[error("not the leader: write not sent")]
    NotLeader,
}

fn fmt_after(d: Option<Duration>) -> String {
    d.map(|d| format!(" (retry after {d:?})")).unwrap_or_default()
}

fn fmt_status(s: Option<u16>) -> String {
    s.map(|s| format!(" ({s})")).unwrap_or_default()
}

impl AciError {
    /// Every value [`AciError::metric_label`] returns, so that the
    /// controller's error counters can start at 0 for each.
    pub const LABELS: &'static [&'static str] = &[
        "quota_reached",
        "capacity_unavailable",
        "throttled_local",
        "throttled",
        "image_inaccessible",
        "invalid_request",
        "not_found",
        "conflict",
        "transient",
        "operation_failed",
        "deadline_exceeded",
        "not_leader",
        "auth",
        "transport",
        "malformed",
        "invalid_argument",
    ];

    /// A short, bounded label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            AciError::QuotaReached { .. } => "quota_reached",
            AciError::CapacityUnavailable { .. } => "capacity_unavailable",
            AciError::Throttled { local: true, .. } => "throttled_local",
            AciError::Throttled { .. } => "throttled",
            AciError::ImageInaccessible { .. } => "image_inaccessible",
            AciError::InvalidRequest { .. } => "invalid_request",
            AciError::NotFound { .. } => "not_found",
            AciError::Conflict { .. } => "conflict",
            AciError::Transient { .. } => "transient",
            AciError::OperationFailed { .. } => "operation_failed",
            AciError::DeadlineExceeded { .. } => "deadline_exceeded",
            AciError::NotLeader => "not_leader",
            AciError::Auth { .. } => "auth",
            AciError::Transport(_) => "transport",
            AciError::Malformed(_) => "malformed",
            AciError::InvalidArgument(_) => "invalid_argument",
        }
    }

    /// Safe to send again as is: the server did not act on the request, or the
    /// request is idempotent and the failure was the server's or the network's.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AciError::Throttled { local: false, .. } | AciError::Transient { .. } | AciError::Transport(_)
        )
    }

    /// The server's (or budget's) requested delay, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AciError::Throttled { retry_after, .. } | AciError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether a location is unusable for now (quota or capacity): the planner
    /// records it in `BurstInventory::unavailable_locations`.
    pub fn makes_location_unavailable(&self) -> bool {
        matches!(
            self,
            AciError::QuotaReached { .. } | AciError::CapacityUnavailable { .. }
        )
    }
}

impl From<azure_auth::AuthError> for AciError {
    fn from(e: azure_auth::AuthError) -> Self {
        AciError::Auth {
            status: None,
            code: e.metric_label().to_string(),
            message: e.to_string(),
        }
    }
}

const QUOTA_CODES: &[&str] = &["ContainerGroupQuotaReached"];
const IMAGE_CODES: &[&str] = &["InaccessibleImage", "RegistryErrorResponse", "ImagePullFailed"];
const CAPACITY_CODES: &[&str] = &["InsufficientCapacity", "InsufficientCapacity."];

/// Map an ARM error response (status, envelope, `Retry-After`) to a kind.
/// Branches on `code`, never on `message` text, except to tell the capacity
/// `ServiceUnavailable` (409) from a plain 503.
pub fn classify(status: u16, body: Option<&CloudErrorBody>, retry_after: Option<Duration>) -> AciError {
    let code = body.map(|b| b.code.clone()).unwrap_or_default();
    let message = body.map(flatten_message).unwrap_or_default();
    let code_or_status = if code.is_empty() {
        format!("HTTP{status}")
    } else {
        code.clone()
    };
    let c = code.as_str();
    if QUOTA_CODES.iter().any(|q| q.eq_ignore_ascii_case(c)) {
        return AciError::QuotaReached { code, message };
    }
    if IMAGE_CODES.iter().any(|q| q.eq_ignore_ascii_case(c)) {
        return AciError::ImageInaccessible { code, message };
    }
    if CAPACITY_CODES.iter().any(|q| q.eq_ignore_ascii_case(c))
        || (c.eq_ignore_ascii_case("ServiceUnavailable") && status == 409)
    {
        return AciError::CapacityUnavailable { code, message };
    }
    match status {
        429 => AciError::Throttled {
            retry_after,
            local: false,
            message: format!("{code_or_status}: {message}"),
        },
        401 | 403 => AciError::Auth {
            status: Some(status),
            code: code_or_status,
            message,
        },
        404 => AciError::NotFound {
            code: code_or_status,
            message,
        },
        409 => AciError::Conflict {
            code: code_or_status,
            message,
        },
        408 | 500..=599 => AciError::Transient {
            status,
            code: code_or_status,
            message,
            retry_after,
        },
        200..=299 => AciError::Malformed(format!(
            "HTTP {status} carried an error body: {code_or_status}: {message}"
        )),
        _ => AciError::InvalidRequest {
            status,
            code: code_or_status,
            message,
        },
    }
}

/// A failed or canceled operation (async-operation body, or a `Failed`
/// resource): classify by the error code, then by the events ACI attaches.
pub fn classify_operation(status: &str, error: Option<&CloudErrorBody>, events: &[&Event]) -> AciError {
    if let Some(e) = error {
        match classify(400, Some(e), None) {
            AciError::InvalidRequest { .. } => {}
            known => return known,
        }
    }
    for ev in events {
        let name = ev.name.as_deref().unwrap_or("");
        let msg = ev.message.as_deref().unwrap_or("");
        if name
            .trim_end_matches('.')
            .eq_ignore_ascii_case("InsufficientCapacity")
        {
            return AciError::CapacityUnavailable {
                code: "InsufficientCapacity".into(),
                message: msg.to_string(),
            };
        }
        if is_pull_failure(ev) {
            return AciError::ImageInaccessible {
                code: name.to_string(),
                message: msg.to_string(),
            };
        }
    }
    let (code, message) = error
        .map(|e| (e.code.clone(), flatten_message(e)))
        .unwrap_or_else(|| (status.to_string(), "no error details".to_string()));
    AciError::OperationFailed {
        status: status.to_string(),
        code,
        message,
    }
}

/// A container event that reports an image pull failure (`Failed` with
/// "Failed to pull image", or an explicit pull-failure name).
pub fn is_pull_failure(ev: &Event) -> bool {
    let name = ev.name.as_deref().unwrap_or("");
    let msg = ev.message.as_deref().unwrap_or("").to_ascii_lowercase();
    name.eq_ignore_ascii_case("ImagePullFailed")
        || name.eq_ignore_ascii_case("ErrImagePull")
        || (name.eq_ignore_ascii_case("Failed")
            && (msg.contains("pull image") || msg.contains("pulling image")))
}

fn flatten_message(b: &CloudErrorBody) -> String {
    let mut m = b.message.clone();
    for d in &b.details {
        if !d.message.is_empty() && !m.contains(&d.message) {
            m.push_str(" | ");
            if !d.code.is_empty() {
                m.push_str(&d.code);
                m.push_str(": ");
            }
            m.push_str(&d.message);
        }
    }
    const MAX: usize = 1000;
    if m.chars().count() > MAX {
        m = m.chars().take(MAX).collect::<String>() + "…";
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, message: &str) -> CloudErrorBody {
        CloudErrorBody {
            code: code.into(),
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn every_label_is_listed_once() {
        let s = String::new;
        let all = [
            AciError::QuotaReached {
                code: s(),
                message: s(),
            },
            AciError::CapacityUnavailable {
                code: s(),
                message: s(),
            },
            AciError::Throttled {
                retry_after: None,
                local: true,
                message: s(),
            },
            AciError::Throttled {
                retry_after: None,
                local: false,
                message: s(),
            },
            AciError::ImageInaccessible {
                code: s(),
                message: s(),
            },
            AciError::InvalidRequest {
                status: 400,
                code: s(),
                message: s(),
            },
            AciError::NotFound {
                code: s(),
                message: s(),
            },
            AciError::Conflict {
                code: s(),
                message: s(),
            },
            AciError::Transient {
                status: 503,
                code: s(),
                message: s(),
                retry_after: None,
            },
            AciError::OperationFailed {
                status: s(),
                code: s(),
                message: s(),
            },
            AciError::DeadlineExceeded {
                operation: "x",
                resource: s(),
                waited: Duration::ZERO,
            },
            AciError::Auth {
                status: None,
                code: s(),
                message: s(),
            },
            AciError::Transport(s()),
            AciError::Malformed(s()),
            AciError::InvalidArgument(s()),
            AciError::NotLeader,
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(AciError::metric_label).collect();
        let listed: std::collections::BTreeSet<_> = AciError::LABELS.iter().copied().collect();
        assert_eq!(labels, listed);
        assert_eq!(listed.len(), AciError::LABELS.len(), "a label listed twice");
    }

    #[test]
    fn codes_map_to_kinds() {
        let q = classify(400, Some(&body("ContainerGroupQuotaReached", "quota")), None);
        assert!(matches!(q, AciError::QuotaReached { .. }));
        assert!(q.makes_location_unavailable());
        let c = classify(409, Some(&body("ServiceUnavailable", "not available")), None);
        assert!(matches!(c, AciError::CapacityUnavailable { .. }));
        assert!(!c.is_retryable());
        let t = classify(503, Some(&body("ServiceUnavailable", "busy")), None);
        assert!(matches!(t, AciError::Transient { status: 503, .. }));
        assert!(t.is_retryable());
        let i = classify(400, Some(&body("InaccessibleImage", "no")), None);
        assert!(matches!(i, AciError::ImageInaccessible { .. }));
        let th = classify(
            429,
            Some(&body("TooManyRequests", "slow")),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(th.retry_after(), Some(Duration::from_secs(7)));
        assert!(th.is_retryable());
        assert!(matches!(
            classify(404, Some(&body("ResourceNotFound", "")), None),
            AciError::NotFound { .. }
        ));
        assert!(matches!(
            classify(409, Some(&body("Conflict", "")), None),
            AciError::Conflict { .. }
        ));
        assert!(matches!(
            classify(401, None, None),
            AciError::Auth {
                status: Some(401),
                ..
            }
        ));
        assert!(matches!(
            classify(400, Some(&body("InvalidOsType", "bad")), None),
            AciError::InvalidRequest { status: 400, ref code, .. } if code == "InvalidOsType"
        ));
        assert!(matches!(
            classify(200, Some(&body("X", "y")), None),
            AciError::Malformed(_)
        ));
    }

    #[test]
    fn failed_operations_use_events() {
        let ev = Event {
            name: Some("InsufficientCapacity.".into()),
            message: Some("The requested resource is not available".into()),
            ..Default::default()
        };
        let e = classify_operation("Failed", Some(&body("Failed", "x")), &[&ev]);
        assert!(matches!(e, AciError::CapacityUnavailable { .. }), "{e:?}");
        let pull = Event {
            name: Some("Failed".into()),
            message: Some("Failed to pull image \"nope:1\": rpc error".into()),
            event_type: Some("Warning".into()),
            ..Default::default()
        };
        let e = classify_operation("Failed", None, &[&pull]);
        assert!(matches!(e, AciError::ImageInaccessible { .. }), "{e:?}");
        let e = classify_operation("Canceled", None, &[]);
        assert!(matches!(e, AciError::OperationFailed { ref status, .. } if status == "Canceled"));
    }
}
