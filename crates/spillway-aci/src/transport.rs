//! One ARM request: bearer token, timeout, bounded concurrency, retries with
//! backoff and `Retry-After`, a 401 refresh, and an observer call per attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use azure_auth::TokenProvider;
use backon::Retryable;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use crate::config::AciConfig;
use crate::error::{AciError, classify};
use crate::model::CloudError;
use crate::observer::{Operation, RequestEvent, RequestObserver};
use crate::retry::{RetryMode, parse_retry_after};

/// Which concurrency bound a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    Read,
    Write,
}

pub(crate) struct Call<'a> {
    pub op: Operation,
    pub method: Method,
    pub url: Url,
    pub body: Option<&'a [u8]>,
    pub lane: Lane,
    pub mode: RetryMode,
}

/// A response with a 2xx status (or the status the caller asked to see).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after_of(&self.headers)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn retry_after_of(h: &HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// A failed attempt, and whether the server may have acted on it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub err: AciError,
    pub maybe_processed: bool,
    /// A 401 that a fresh token may cure (retried once, without delay).
    auth_retry: bool,
    /// The status, so callers can tell e.g. 404 from other failures.
    pub status: Option<u16>,
}

pub(crate) struct Transport {
    http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    observer: Arc<dyn RequestObserver>,
    reads: Semaphore,
    writes: Semaphore,
    /// Asked just before every write attempt is sent: how long this process
    /// may still write (`None`: not at all). See [`WriteGate`].
    gate: Option<WriteGate>,
    pub cfg: Arc<AciConfig>,
}

/// How long writes stay allowed: the leader Lease's remaining time (`None`
/// when not leading). A write attempt is sent only with time left, and a
/// retry only if it is due before that time runs out, so no PUT or DELETE
/// leaves a process that lost the Lease, whatever its retry policy.
pub type WriteGate = Arc<dyn Fn() -> Option<Duration> + Send + Sync>;

impl Transport {
    pub fn new(
        cfg: Arc<AciConfig>,
        tokens: Arc<dyn TokenProvider>,
        observer: Arc<dyn RequestObserver>,
    ) -> Result<Self, AciError> {
        let http = reqwest::Client::builder()
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .timeout(cfg.request_timeout)
            .pool_max_idle_per_host(cfg.read_concurrency + cfg.write_concurrency)
            .build()
            .map_err(|e| AciError::InvalidArgument(format!("HTTP client: {e}")))?;
        Ok(Transport {
            http,
            tokens,
            observer,
            reads: Semaphore::new(cfg.read_concurrency.max(1)),
            writes: Semaphore::new(cfg.write_concurrency.max(1)),
            gate: None,
            cfg,
        })
    }

    pub fn set_gate(&mut self, gate: WriteGate) {
        self.gate = Some(gate);
    }

    /// Time left for writes; `Duration::MAX` without a gate.
    fn write_time_left(&self) -> Option<Duration> {
        match &self.gate {
            None => Some(Duration::MAX),
            Some(g) => g(),
        }
    }

    /// Send with retries; a non-2xx answer becomes a typed error.
    pub async fn send(&self, call: &Call<'_>) -> Result<Reply, Failure> {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let attempt = AtomicU32::new(0);
        let auth_retried = AtomicBool::new(false);
        let policy = &self.cfg.retry;
        let op = call.op;
        let mode = call.mode;
        (|| self.attempt(call, &request_id, attempt.fetch_add(1, Ordering::Relaxed)))
            .retry(policy.backoff())
            .sleep(tokio::time::sleep)
            .when(|f: &Failure| {
                if f.auth_retry {
                    return !auth_retried.swap(true, Ordering::Relaxed);
                }
                match mode {
                    RetryMode::Idempotent => f.err.is_retryable(),
                    RetryMode::OnlyIfNotProcessed => !f.maybe_processed && f.err.is_retryable(),
                }
            })
            .adjust(|f: &Failure, backoff| {
                if matches!(f.err, AciError::NotLeader) {
                    return None;
                }
                let wait = if f.auth_retry {
                    Duration::ZERO
                } else {
                    policy.next_delay(&f.err, backoff, started.elapsed())?
                };
                // A write's retry budget ends before the Lease does.
                if call.lane == Lane::Write && self.write_time_left().is_none_or(|left| wait >= left) {
                    return None;
                }
                Some(wait)
            })
            .notify(|f: &Failure, delay| {
                self.observer.on_retry(op, delay, f.err.metric_label());
                tracing::debug!(operation = op.as_str(), ?delay, error = %f.err, "retrying ARM request");
            })
            .await
    }

    async fn attempt(&self, call: &Call<'_>, request_id: &str, attempt: u32) -> Result<Reply, Failure> {
        let sem = match call.lane {
            Lane::Read => &self.reads,
            Lane::Write => &self.writes,
        };
        let _permit = sem.acquire().await.map_err(|_| Failure {
            err: AciError::Transport("client is shutting down".into()),
            maybe_processed: false,
            auth_retry: false,
            status: None,
        })?;
        let token = self
            .tokens
            .token(&self.cfg.token_scope)
            .await
            .map_err(|e| Failure {
                maybe_processed: false,
                auth_retry: false,
                status: None,
                err: if e.is_transient() {
                    AciError::Transport(format!("token: {e}"))
                } else {
                    e.into()
                },
            })?;
        // Fenced last, right before sending: the semaphore and the token
        // may have taken a while.
        if call.lane == Lane::Write && self.write_time_left().is_none() {
            return Err(Failure {
                err: AciError::NotLeader,
                maybe_processed: false,
                auth_retry: false,
                status: None,
            });
        }
        let mut req = self
            .http
            .request(call.method.clone(), call.url.clone())
            .header(AUTHORIZATION, format!("Bearer {}", token.secret()))
            .header("x-ms-client-request-id", request_id);
        if let Some(body) = call.body {
            req = req.header(CONTENT_TYPE, "application/json").body(body.to_vec());
        }
        let t0 = Instant::now();
        let result = match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => Ok((status, headers, body)),
                    Err(e) => Err((transport_error(&e), true)),
                }
            }
            Err(e) => Err((transport_error(&e), !e.is_connect())),
        };
        let out = match result {
            Err((err, maybe_processed)) => Err(Failure {
                err,
                maybe_processed,
                auth_retry: false,
                status: None,
            }),
            Ok((status, headers, body)) if status.is_success() => Ok(Reply {
                status: status.as_u16(),
                headers,
                body,
            }),
            Ok((status, headers, body)) => Err(self.error_reply(status, &headers, &body)),
        };
        self.observer.on_request(&RequestEvent {
            operation: call.op,
            method: method_label(&call.method),
            status: match &out {
                Ok(r) => Some(r.status),
                Err(f) => f.status,
            },
            elapsed: t0.elapsed(),
            attempt,
            error: out.as_ref().err().map(|f| f.err.metric_label()),
        });
        out
    }

    fn error_reply(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Failure {
        let envelope = serde_json::from_slice::<CloudError>(body).ok().map(|c| c.error);
        let code = status.as_u16();
        let mut err = classify(code, envelope.as_ref(), retry_after_of(headers));
        if envelope.is_none()
            && let AciError::InvalidRequest { message, .. } | AciError::Transient { message, .. } = &mut err
        {
            *message = snippet(body);
        }
        let auth_retry = code == 401;
        if auth_retry {
            self.tokens.invalidate(&self.cfg.token_scope);
        }
        Failure {
            err,
            // A 429 was not processed; anything else might have been.
            maybe_processed: code != 429,
            auth_retry,
            status: Some(code),
        }
    }
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

fn transport_error(e: &reqwest::Error) -> AciError {
    let kind = if e.is_timeout() {
        "request timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    };
    let path = e.url().map(|u| u.path().to_string()).unwrap_or_default();
    let mut root = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        root = s.to_string();
        src = s.source();
    }
    AciError::Transport(format!(
        "{kind} ({path}){}",
        if root.is_empty() {
            String::new()
        } else {
            format!(": {root}")
        }
    ))
}

fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    if s.is_empty() {
        return "(empty body)".into();
    }
    let mut out: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// Parse a 2xx JSON body. `expected` is a top-level key the type must have:
/// a body without it that carries an ARM `error` object is mapped as an
/// error (a "200 with an error body"), otherwise reported as malformed.
pub(crate) fn parse_body<T: DeserializeOwned>(
    reply: &Reply,
    what: &str,
    expected: &str,
) -> Result<T, AciError> {
    let value: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
        AciError::Malformed(format!(
            "{what}: HTTP {} body is not valid JSON ({e}; {} bytes)",
            reply.status,
            reply.body.len()
        ))
    })?;
    let obj = value
        .as_object()
        .ok_or_else(|| AciError::Malformed(format!("{what}: body is not a JSON object")))?;
    if !obj.contains_key(expected) {
        if let Some(err) = obj.get("error")
            && let Ok(body) = serde_json::from_value::<crate::model::CloudErrorBody>(err.clone())
        {
            return Err(classify(reply.status, Some(&body), reply.retry_after()));
        }
        return Err(AciError::Malformed(format!("{what}: body has no `{expected}`")));
    }
    serde_json::from_value(value).map_err(|e| AciError::Malformed(format!("{what}: {e}")))
}

/// Links from the server (`nextLink`, operation URLs) are followed verbatim,
/// but only on the configured endpoint's origin: the bearer token goes with them.
pub(crate) fn same_origin_link(cfg: &AciConfig, link: &str, what: &str) -> Result<Url, AciError> {
    let url =
        Url::parse(link).map_err(|e| AciError::Malformed(format!("{what} {link:?} is not a URL: {e}")))?;
    if url.origin() != cfg.endpoint.origin() {
        return Err(AciError::Malformed(format!(
            "{what} points to {}, not the ARM endpoint {}; refusing to send the token there",
            url.origin().ascii_serialization(),
            cfg.endpoint.origin().ascii_serialization()
        )));
    }
    Ok(url)
}
