//! Hooks so the controller can count and time every request.

use std::time::Duration;

/// The ARM operation a request belongs to (a bounded metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateOrUpdate,
    Get,
    Delete,
    List,
    ListUsage,
    /// A GET on an `Azure-AsyncOperation` or `Location` URL.
    PollOperation,
    /// PUT/DELETE of a container group profile.
    ProfileWrite,
    /// GET/list of container group profiles and their revisions.
    ProfileRead,
    /// PUT/PATCH/DELETE of a standby container group pool.
    PoolWrite,
    /// GET/list of standby pools and their runtime views.
    PoolRead,
    /// GET of the `Microsoft.ContainerInstance` resource provider (zones).
    ProviderRead,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateOrUpdate => "create_or_update",
            Operation::Get => "get",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::ListUsage => "list_usage",
            Operation::PollOperation => "poll_operation",
            Operation::ProfileWrite => "profile_write",
            Operation::ProfileRead => "profile_read",
            Operation::PoolWrite => "pool_write",
            Operation::PoolRead => "pool_read",
            Operation::ProviderRead => "provider_read",
        }
    }
}

/// One HTTP attempt, as sent and answered.
#[derive(Debug, Clone)]
pub struct RequestEvent {
    pub operation: Operation,
    pub method: &'static str,
    /// `None` when no response came back (connection error, timeout).
    pub status: Option<u16>,
    pub elapsed: Duration,
    /// 0 for the first attempt of a request.
    pub attempt: u32,
    /// The error's metric label when the attempt failed.
    pub error: Option<&'static str>,
}

/// Implemented by the controller's metrics. Calls are synchronous and must be cheap.
pub trait RequestObserver: Send + Sync {
    fn on_request(&self, event: &RequestEvent);
    /// A retry is about to wait `delay` because of `reason` (an error label).
    fn on_retry(&self, _operation: Operation, _delay: Duration, _reason: &'static str) {}
}

/// Observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl RequestObserver for NoopObserver {
    fn on_request(&self, _event: &RequestEvent) {}
}
