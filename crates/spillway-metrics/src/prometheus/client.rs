//! The Prometheus HTTP API client: instant and range queries over reqwest,
//! with authentication, TLS options, a whole-request timeout and a body size
//! limit. Parsing and reduction are pure and live in `parse` / `reduce`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azure_auth::TokenProvider;
use spillway_core::config::{PrometheusSource, SeriesMode};
use spillway_core::time::Timestamp;
use url::Url;

use super::auth::Auth;
use super::parse::{InstantData, Limits, Parsed, RangeData, Sample, parse_instant, parse_range};
use super::reduce::{Freshness, reduce_instant, reduce_range};
use crate::error::{SourceError, chain, snippet};

/// TLS options for the Prometheus endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM bundle of extra CAs trusted besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the system roots.
    pub ca_only: bool,
    /// PEM file holding a client certificate chain and its private key (mTLS).
    pub client_identity_file: Option<PathBuf>,
    /// Accept any server certificate. For tests only.
    pub insecure_skip_verify: bool,
}

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct PrometheusOptions {
    /// Base URL, e.g. `http://prometheus.monitoring:9090` (a path prefix is kept).
    pub url: Url,
    pub auth: Auth,
    /// Whole request: token, connect, send, body.
    pub timeout: Duration,
    pub tls: TlsOptions,
    pub limits: Limits,
    pub freshness: Freshness,
}

impl PrometheusOptions {
    /// Options from the config document's `metricSources.prometheus`.
    pub fn from_config(
        src: &PrometheusSource,
        tls: TlsOptions,
        provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Self, SourceError> {
        let url = Url::parse(&src.url)
            .map_err(|e| SourceError::Config(format!("metricSources.prometheus.url {:?}: {e}", src.url)))?;
        Ok(PrometheusOptions {
            url,
            auth: Auth::from_config(&src.auth, provider)?,
            timeout: src.timeout,
            tls,
            limits: Limits::default(),
            freshness: Freshness::default(),
        })
    }
}

/// A Prometheus HTTP API client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    query_url: Url,
    range_url: Url,
    opts: Arc<PrometheusOptions>,
}

/// Queries longer than this go in a form body instead of the URL.
const MAX_GET_QUERY: usize = 2048;

impl PrometheusClient {
    pub fn new(opts: PrometheusOptions) -> Result<Self, SourceError> {
        if !matches!(opts.url.scheme(), "http" | "https") {
            return Err(SourceError::Config(format!("{} is not an http(s) URL", opts.url)));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("spillway/", env!("CARGO_PKG_VERSION")));
        builder = apply_tls(builder, &opts.tls)?;
        let http = builder
            .build()
            .map_err(|e| SourceError::Config(format!("HTTP client: {}", chain(&e))))?;
        let query_url = endpoint(&opts.url, "api/v1/query")?;
        let range_url = endpoint(&opts.url, "api/v1/query_range")?;
        Ok(PrometheusClient {
            http,
            query_url,
            range_url,
            opts: Arc::new(opts),
        })
    }

    pub fn options(&self) -> &PrometheusOptions {
        &self.opts
    }

    /// `/api/v1/query` at `at`, reduced under `mode` to one finite number.
    pub async fn instant(&self, query: &str, mode: SeriesMode, at: Timestamp) -> Result<f64, SourceError> {
        let parsed = self.instant_raw(query, at).await?;
        reduce_instant(&parsed, mode, at.millis(), &self.opts.freshness)
    }

    /// `/api/v1/query` at `at`, parsed but not reduced.
    pub async fn instant_raw(&self, query: &str, at: Timestamp) -> Result<Parsed<InstantData>, SourceError> {
        let params = [
            ("query", query.to_string()),
            ("time", seconds(at)),
            ("timeout", format!("{}ms", self.opts.timeout.as_millis())),
        ];
        let body = self.fetch(&self.query_url, &params).await?;
        parse_instant(&body, &self.opts.limits)
    }

    /// `/api/v1/query_range` over `[start, end]` every `step`, reduced under `mode`.
    pub async fn range(
        &self,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        mode: SeriesMode,
    ) -> Result<Vec<Sample>, SourceError> {
        let parsed = self.range_raw(query, start, end, step).await?;
        reduce_range(&parsed, mode, &self.opts.freshness)
    }

    /// `/api/v1/query_range`, parsed but not reduced.
    pub async fn range_raw(
        &self,
        query: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<Parsed<RangeData>, SourceError> {
        if step.is_zero() || end < start {
            return Err(SourceError::Config(
                "a range query needs start <= end and a step above 0".into(),
            ));
        }
        let params = [
            ("query", query.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", format!("{}ms", step.as_millis())),
            ("timeout", format!("{}ms", self.opts.timeout.as_millis())),
        ];
        let body = self.fetch(&self.range_url, &params).await?;
        parse_range(&body, &self.opts.limits)
    }

    /// One request, bounded by the timeout as a whole, returning a body that
    /// the server marked as a success or as a Prometheus API error.
    async fn fetch(&self, url: &Url, params: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        let timeout = self.opts.timeout;
        match tokio::time::timeout(timeout, self.fetch_inner(url, params)).await {
            Ok(r) => r,
            Err(_) => Err(SourceError::Timeout(timeout)),
        }
    }

    async fn fetch_inner(&self, url: &Url, params: &[(&str, String)]) -> Result<Vec<u8>, SourceError> {
        let long = params.iter().map(|(_, v)| v.len()).sum::<usize>() > MAX_GET_QUERY;
        let mut req = if long {
            self.http.post(url.clone()).form(params)
        } else {
            self.http.get(url.clone()).query(params)
        };
        if let Some(h) = self.opts.auth.header().await? {
            req = req.header(http::header::AUTHORIZATION, h);
        }
        let resp = req.send().await.map_err(|e| self.transport(&e))?;
        let status = resp.status();
        let body = read_limited(resp, self.opts.limits.max_body_bytes)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => SourceError::TooLarge {
                    limit: self.opts.limits.max_body_bytes,
                },
                ReadError::Http(e) => self.transport(&e),
            })?;
        if status.is_success() {
            return Ok(body);
        }
        // Prometheus answers 400/422/503 with its JSON error envelope: keep
        // the errorType. Anything else (a proxy's 502 page, 401) is HTTP.
        if let Err(e @ SourceError::Query { .. }) = parse_instant(&body, &self.opts.limits) {
            return Err(e);
        }
        Err(SourceError::Http {
            status: status.as_u16(),
            body: snippet(&String::from_utf8_lossy(&body[..body.len().min(1024)]), 200),
        })
    }

    fn transport(&self, e: &reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout(self.opts.timeout)
        } else {
            SourceError::Unreachable(format!("{}: {}", self.opts.url, chain(e)))
        }
    }
}

enum ReadError {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads the body, stopping as soon as it exceeds `limit`.
async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, ReadError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    let hint = resp.content_length().map_or(16 * 1024, |n| n as usize);
    let mut body = Vec::with_capacity(hint.min(limit));
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn apply_tls(
    mut builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> Result<reqwest::ClientBuilder, SourceError> {
    let read = |path: &PathBuf, what: &str| {
        std::fs::read(path).map_err(|e| SourceError::Config(format!("{what} {}: {e}", path.display())))
    };
    if let Some(path) = &tls.ca_file {
        let pem = read(path, "CA file")?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| SourceError::Config(format!("CA file {}: {}", path.display(), chain(&e))))?;
        if certs.is_empty() {
            return Err(SourceError::Config(format!(
                "CA file {} holds no certificate",
                path.display()
            )));
        }
        builder = if tls.ca_only {
            builder.tls_certs_only(certs)
        } else {
            certs.into_iter().fold(builder, |b, c| b.add_root_certificate(c))
        };
    } else if tls.ca_only {
        return Err(SourceError::Config("ca_only needs a CA file".into()));
    }
    if let Some(path) = &tls.client_identity_file {
        let pem = read(path, "client identity file")?;
        let id = reqwest::Identity::from_pem(&pem)
            .map_err(|e| SourceError::Config(format!("client identity {}: {}", path.display(), chain(&e))))?;
        builder = builder.identity(id);
    }
    if tls.insecure_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// `base` + `api/v1/...`, keeping a path prefix (`http://host/prom/`).
fn endpoint(base: &Url, path: &str) -> Result<Url, SourceError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.set_query(None);
    base.join(path)
        .map_err(|e| SourceError::Config(format!("{base}{path}: {e}")))
}

/// Seconds with millisecond precision, as the API takes them.
fn seconds(t: Timestamp) -> String {
    let ms = t.millis();
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

#[cfg(test)]
mod tests;
