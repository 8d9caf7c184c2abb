//! Container-group operations over the transport.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_auth::TokenProvider;
use reqwest::Method;
use url::Url;

use crate::config::AciConfig;
use crate::error::AciError;
use crate::lro::{self, Goal, PollTarget};
use crate::model::{ContainerGroup, ContainerGroupList, Usage, UsageList};
use crate::naming::check_group_name;
use crate::observer::{NoopObserver, Operation, RequestObserver};
use crate::pacing::{Budget, Pacing, PacingHeadroom};
use crate::retry::RetryMode;
use crate::transport::{Call, Failure, Lane, Reply, Transport, parse_body, same_origin_link};

const PROVIDER: &str = "Microsoft.ContainerInstance";
const MAX_PAGES: usize = 10_000;

/// A create-or-update that ARM accepted; follow it with [`AciClient::wait_provisioned`].
#[derive(Debug, Clone)]
pub struct Accepted {
    pub name: String,
    /// 201 (created) or 200 (updated); `None` when a lost PUT response was
    /// confirmed by a GET that found the group.
    pub status: Option<u16>,
    /// The body ARM answered with (`provisioningState` usually `Pending`).
    pub initial: Option<ContainerGroup>,
    pub poll: PollTarget,
    pub retry_after: Option<Duration>,
}

/// How a delete ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    /// 204 or 404: there was nothing to delete.
    AlreadyGone,
    /// Accepted and still running (only from [`AciClient::begin_delete`]).
    InProgress,
}

enum DeleteStart {
    Done(DeleteOutcome),
    Pending {
        target: PollTarget,
        retry_after: Option<Duration>,
    },
}

/// The ARM client for one subscription and resource group.
pub struct AciClient {
    t: Transport,
    pacing: Pacing,
}

impl std::fmt::Debug for AciClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AciClient")
            .field("config", &self.t.cfg)
            .finish_non_exhaustive()
    }
}

impl AciClient {
    pub fn new(cfg: AciConfig, tokens: Arc<dyn TokenProvider>) -> Result<Self, AciError> {
        Self::with_observer(cfg, tokens, Arc::new(NoopObserver))
    }

    pub fn with_observer(
        cfg: AciConfig,
        tokens: Arc<dyn TokenProvider>,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, AciError> {
        let pacing = Pacing::new(cfg.pacing.clone());
        Ok(AciClient {
            t: Transport::new(Arc::new(cfg), tokens, observer)?,
            pacing,
        })
    }

    /// Fences every write, retries included (see [`crate::transport::WriteGate`]).
    pub fn with_write_gate(mut self, gate: crate::transport::WriteGate) -> Self {
        self.t.set_gate(gate);
        self
    }

    pub fn config(&self) -> &AciConfig {
        &self.t.cfg
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.t
    }

    /// `{endpoint}/subscriptions/{sub}[/resourceGroups/{rg}]/providers/Microsoft.ContainerInstance/{tail}?api-version=`.
    fn url(&self, in_group: bool, tail: &[&str]) -> Result<Url, AciError> {
        let cfg = &self.t.cfg;
        let mut u = cfg.endpoint.clone();
        {
            let mut seg = u.path_segments_mut().map_err(|_| {
                AciError::InvalidArgument(format!("ARM endpoint {} cannot take a path", cfg.endpoint))
            })?;
            seg.pop_if_empty();
            seg.extend(["subscriptions", &cfg.subscription_id]);
            if in_group {
                seg.extend(["resourceGroups", &cfg.resource_group]);
            }
            seg.extend(["providers", PROVIDER]);
            seg.extend(tail);
        }
        u.query_pairs_mut().append_pair("api-version", &cfg.api_version);
        Ok(u)
    }

    fn group_url(&self, name: &str) -> Result<Url, AciError> {
        check_group_name(name)?;
        self.url(true, &["containerGroups", name])
    }

    fn call<'a>(&self, op: Operation, method: Method, url: Url, body: Option<&'a [u8]>) -> Call<'a> {
        let (lane, mode) = match method {
            Method::PUT => (Lane::Write, RetryMode::OnlyIfNotProcessed),
            Method::DELETE => (Lane::Write, RetryMode::Idempotent),
            _ => (Lane::Read, RetryMode::Idempotent),
        };
        Call {
            op,
            method,
            url,
            body,
            lane,
            mode,
        }
    }

    /// `ContainerGroups_Get`; `None` on 404.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get(&self, name: &str) -> Result<Option<ContainerGroup>, AciError> {
        let url = self.group_url(name)?;
        match self
            .t
            .send(&self.call(Operation::Get, Method::GET, url, None))
            .await
        {
            Ok(reply) => parse_body(&reply, "container group", "properties").map(Some),
            Err(f) if f.status == Some(404) => Ok(None),
            Err(f) => Err(f.err),
        }
    }

    /// `ContainerGroups_ListByResourceGroup`, following `nextLink` to the end.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn list(&self) -> Result<Vec<ContainerGroup>, AciError> {
        let first = self.url(true, &["containerGroups"])?;
        self.list_from(first).await
    }

    async fn list_from(&self, first: Url) -> Result<Vec<ContainerGroup>, AciError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if !seen.insert(url.to_string()) {
                return Err(AciError::Malformed(format!("nextLink loops back to {url}")));
            }
            if seen.len() > MAX_PAGES {
                return Err(AciError::Malformed(format!("more than {MAX_PAGES} pages")));
            }
            let reply = self
                .t
                .send(&self.call(Operation::List, Method::GET, url, None))
                .await
                .map_err(|f| f.err)?;
            let page: ContainerGroupList = parse_body(&reply, "container group list", "value")?;
            out.extend(page.value);
            next = match page.next_link.as_deref().map(str::trim) {
                Some(link) if !link.is_empty() => Some(same_origin_link(&self.t.cfg, link, "nextLink")?),
                _ => None,
            };
        }
        Ok(out)
    }

    /// `Location_ListUsage` for one region (groups and cores in use, and limits).
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn usages(&self, location: &str) -> Result<Vec<Usage>, AciError> {
        if location.is_empty() {
            return Err(AciError::InvalidArgument("location must not be empty".into()));
        }
        let mut url = Some(self.url(false, &["locations", location, "usages"])?);
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(u) = url.take() {
            pages += 1;
            if pages > 100 {
                return Err(AciError::Malformed("usage list does not end".into()));
            }
            let reply = self
                .t
                .send(&self.call(Operation::ListUsage, Method::GET, u, None))
                .await
                .map_err(|f| f.err)?;
            let page: UsageList = parse_body(&reply, "usage list", "value")?;
            out.extend(page.value);
            url = match page.next_link.as_deref().map(str::trim) {
                Some(l) if !l.is_empty() => Some(same_origin_link(&self.t.cfg, l, "nextLink")?),
                _ => None,
            };
        }
        Ok(out)
    }

    /// `ContainerGroups_CreateOrUpdate`, without waiting for provisioning.
    ///
    /// A PUT is resent only when the server certainly did not act on it (429,
    /// connection refused). After a 5xx or a timeout, a GET decides: if the
    /// group exists the PUT went through and is followed; if not, it is sent
    /// again (once).
    #[tracing::instrument(skip(self, body), level = "debug")]
    pub async fn begin_create_or_update(
        &self,
        name: &str,
        body: &ContainerGroup,
    ) -> Result<Accepted, AciError> {
        let url = self.group_url(name)?;
        let bytes = serde_json::to_vec(body).map_err(|e| AciError::InvalidArgument(format!("body: {e}")))?;
        let mut rounds = 0;
        loop {
            rounds += 1;
            let reserved = self.reserve(Budget::Creates)?;
            let res = self
                .t
                .send(&self.call(Operation::CreateOrUpdate, Method::PUT, url.clone(), Some(&bytes)))
                .await;
            match res {
                Ok(reply) => {
                    self.pacing
                        .observe_headers(Budget::Creates, &reply.headers, Instant::now());
                    return self.accepted(name, reply);
                }
                Err(Failure {
                    err,
                    maybe_processed,
                    status,
                    ..
                }) => {
                    // A refusal (4xx) created nothing; only an unknown outcome keeps the slot.
                    if !maybe_processed || status.is_some_and(|s| (400..500).contains(&s)) {
                        self.pacing.release(Budget::Creates, reserved);
                    }
                    if !(maybe_processed && err.is_retryable()) || rounds >= 2 {
                        return Err(err);
                    }
                    tracing::debug!(name, error = %err, "PUT outcome unknown; checking with GET");
                    if let Some(found) = self.get(name).await? {
                        return Ok(Accepted {
                            name: name.to_string(),
                            status: None,
                            initial: Some(found),
                            poll: PollTarget::Resource,
                            retry_after: None,
                        });
                    }
                    self.pacing.release(Budget::Creates, reserved);
                    tokio::time::sleep(self.t.cfg.retry.min_delay).await;
                }
            }
        }
    }

    fn accepted(&self, name: &str, reply: Reply) -> Result<Accepted, AciError> {
        let poll = lro::poll_target(&self.t, &reply)?;
        // A body we cannot read does not undo the create: the LRO still tells
        // the outcome, and the final GET returns the resource.
        let initial = match parse_body::<ContainerGroup>(&reply, "container group", "properties") {
            Ok(g) => Some(g),
            Err(e @ (AciError::Malformed(_) | AciError::InvalidArgument(_))) => {
                tracing::warn!(name, error = %e, "create accepted with an unreadable body; following the operation");
                None
            }
            Err(e) => return Err(e),
        };
        Ok(Accepted {
            name: name.to_string(),
            status: Some(reply.status),
            retry_after: reply.retry_after(),
            initial,
            poll,
        })
    }

    /// Follow an accepted create to a terminal state and return the group.
    /// `DeadlineExceeded` leaves the group in place: the caller decides.
    pub async fn wait_provisioned(&self, accepted: &Accepted) -> Result<ContainerGroup, AciError> {
        let url = self.group_url(&accepted.name)?;
        if let Some(g) = &accepted.initial
            && accepted.poll == PollTarget::Resource
            && g.phase().is_terminal()
        {
            // Synchronous answer (no operation to follow): judge it as is.
            return match lro::judge_terminal(g) {
                Ok(()) => Ok(g.clone()),
                Err(e) => Err(e),
            };
        }
        lro::wait(
            &self.t,
            &url,
            &accepted.name,
            accepted.poll.clone(),
            accepted.retry_after,
            Goal::Provisioned,
        )
        .await?
        .ok_or_else(|| AciError::Malformed("create finished without a resource".into()))
    }

    /// Create or update and wait for `Succeeded` (or the typed failure).
    pub async fn create_or_update(
        &self,
        name: &str,
        body: &ContainerGroup,
    ) -> Result<ContainerGroup, AciError> {
        let accepted = self.begin_create_or_update(name, body).await?;
        self.wait_provisioned(&accepted).await
    }

    /// `ContainerGroups_Delete`, waiting until the group is gone.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn delete(&self, name: &str) -> Result<DeleteOutcome, AciError> {
        let url = self.group_url(name)?;
        match self.start_delete(name, &url).await? {
            DeleteStart::Done(outcome) => Ok(outcome),
            DeleteStart::Pending { target, retry_after } => {
                lro::wait(&self.t, &url, name, target, retry_after, Goal::Gone).await?;
                Ok(DeleteOutcome::Deleted)
            }
        }
    }

    /// `ContainerGroups_Delete` without waiting: `InProgress` when ARM
    /// accepted an asynchronous delete (list again later to see it gone).
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn begin_delete(&self, name: &str) -> Result<DeleteOutcome, AciError> {
        let url = self.group_url(name)?;
        Ok(match self.start_delete(name, &url).await? {
            DeleteStart::Done(outcome) => outcome,
            DeleteStart::Pending { .. } => DeleteOutcome::InProgress,
        })
    }

    async fn start_delete(&self, name: &str, url: &Url) -> Result<DeleteStart, AciError> {
        let reserved = self.reserve(Budget::Deletes)?;
        let reply = match self
            .t
            .send(&self.call(Operation::Delete, Method::DELETE, url.clone(), None))
            .await
        {
            Ok(r) => r,
            Err(f) if f.status == Some(404) => {
                self.pacing.release(Budget::Deletes, reserved);
                return Ok(DeleteStart::Done(DeleteOutcome::AlreadyGone));
            }
            Err(f) => {
                if !f.maybe_processed || f.status.is_some_and(|s| (400..500).contains(&s)) {
                    self.pacing.release(Budget::Deletes, reserved);
                }
                return Err(f.err);
            }
        };
        self.pacing
            .observe_headers(Budget::Deletes, &reply.headers, Instant::now());
        tracing::debug!(name, status = reply.status, "delete accepted");
        Ok(match reply.status {
            204 => {
                // "Resource does not exist": nothing was deleted.
                self.pacing.release(Budget::Deletes, reserved);
                DeleteStart::Done(DeleteOutcome::AlreadyGone)
            }
            200 => {
                // Done, unless the body says the delete is still running.
                let still_running = parse_body::<ContainerGroup>(&reply, "container group", "properties")
                    .map(|g| !g.phase().is_terminal())
                    .unwrap_or(false);
                if still_running {
                    DeleteStart::Pending {
                        target: PollTarget::Resource,
                        retry_after: reply.retry_after(),
                    }
                } else {
                    DeleteStart::Done(DeleteOutcome::Deleted)
                }
            }
            _ => DeleteStart::Pending {
                target: lro::poll_target(&self.t, &reply)?,
                retry_after: reply.retry_after(),
            },
        })
    }

    fn reserve(&self, b: Budget) -> Result<Instant, AciError> {
        self.pacing
            .reserve(b, Instant::now())
            .map_err(|wait| AciError::Throttled {
                retry_after: Some(wait),
                local: true,
                message: format!(
                    "the subscription's {} budget is spent (pacing)",
                    match b {
                        Budget::Creates => "create",
                        Budget::Deletes => "delete",
                    }
                ),
            })
    }

    /// Creates and deletes left in the subscription's rate windows.
    pub fn pacing_headroom(&self) -> PacingHeadroom {
        self.pacing.headroom(Instant::now())
    }
}
