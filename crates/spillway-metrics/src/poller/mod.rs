//! The poller: every policy's metrics on the policy's interval, with jitter,
//! at most `max_concurrent` fetches in flight, each bounded by a timeout.
//! It produces the `MetricSample`s `spillway_core::plan` consumes; a failed
//! fetch is a `Missing` sample, so the planner's `onMetricsMissing` applies.

mod hooks;

pub use hooks::{Clock, NoHooks, PollHooks, SystemClock, TokioClock};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use spillway_core::config::Policy;
use spillway_core::metrics::{MetricReading, MetricSample};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::error::SourceError;
use crate::source::{MetricRequest, MetricSource, SourceKind};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollerOptions {
    /// Fetches in flight at once, over all policies.
    pub max_concurrent: usize,
    /// Bound on one fetch (a source's own timeout should be shorter).
    pub fetch_timeout: Duration,
    /// Each wait is the interval ± this fraction of it; the first poll of a
    /// policy comes within this fraction of its interval.
    pub jitter: f64,
}

impl Default for PollerOptions {
    fn default() -> Self {
        PollerOptions {
            max_concurrent: 16,
            fetch_timeout: Duration::from_secs(10),
            jitter: 0.1,
        }
    }
}

/// One poll of one policy.
#[derive(Debug, Clone)]
pub struct PolledSamples {
    pub policy: Arc<Policy>,
    pub samples: Vec<MetricSample>,
}

pub struct Poller {
    source: Arc<dyn MetricSource>,
    hooks: Arc<dyn PollHooks>,
    clock: Arc<dyn Clock>,
    limiter: Arc<Semaphore>,
    opts: PollerOptions,
}

impl Poller {
    pub fn new(source: Arc<dyn MetricSource>, opts: PollerOptions) -> Self {
        Poller {
            source,
            hooks: Arc::new(NoHooks),
            clock: Arc::new(SystemClock),
            limiter: Arc::new(Semaphore::new(opts.max_concurrent.max(1))),
            opts,
        }
    }

    pub fn with_hooks(mut self, hooks: Arc<dyn PollHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads every metric of `policy` once, concurrently within the bound.
    /// One sample per metric, in `metrics` order.
    pub async fn poll(&self, policy: &Policy) -> Vec<MetricSample> {
        let started = Instant::now();
        let span = tracing::debug_span!("poll", policy = %policy.name);
        let samples = join_all(
            policy
                .metrics
                .iter()
                .enumerate()
                .map(|(index, spec)| self.fetch(policy, index, spec)),
        )
        .instrument(span)
        .await;
        self.hooks.poll_done(&policy.name, started.elapsed(), &samples);
        samples
    }

    async fn fetch(
        &self,
        policy: &Policy,
        index: usize,
        spec: &spillway_core::config::MetricSpec,
    ) -> MetricSample {
        let kind = SourceKind::of(spec);
        let Ok(_permit) = self.limiter.acquire().await else {
            return MetricSample::missing(index, "poller is shutting down", self.clock.now());
        };
        let at = self.clock.now();
        let started = Instant::now();
        let req = MetricRequest {
            policy: &policy.name,
            target: &policy.target,
            index,
            spec,
            at,
        };
        let result = match tokio::time::timeout(self.opts.fetch_timeout, self.source.read(req)).await {
            Ok(r) => r.and_then(checked),
            Err(_) => Err(SourceError::Timeout(self.opts.fetch_timeout)),
        };
        self.hooks
            .fetch_done(kind, &policy.name, started.elapsed(), result.as_ref().err());
        match result {
            Ok(reading) => MetricSample {
                index,
                reading,
                observed_at: at,
            },
            Err(e) => {
                tracing::debug!(
                    metric = index,
                    source = kind.as_str(),
                    error = e.metric_label(),
                    "metric missing: {e}"
                );
                MetricSample::missing(index, format!("{}: {e}", kind.as_str()), at)
            }
        }
    }

    /// Polls every policy of `policies` on its interval until `cancel`,
    /// sending each poll to `out`. A changed policy restarts its loop; a
    /// removed one stops. Returns once every loop has stopped.
    pub async fn run(
        self: Arc<Self>,
        mut policies: watch::Receiver<Vec<Arc<Policy>>>,
        out: mpsc::Sender<PolledSamples>,
        cancel: CancellationToken,
    ) {
        let mut tasks = tokio::task::JoinSet::new();
        let mut running: HashMap<String, (Arc<Policy>, CancellationToken)> = HashMap::new();
        loop {
            let current = policies.borrow_and_update().clone();
            running.retain(|name, (old, token)| {
                let keep = current.iter().any(|p| &p.name == name && **p == **old);
                if !keep {
                    token.cancel();
                }
                keep
            });
            for p in current {
                if running.contains_key(&p.name) {
                    continue;
                }
                let token = cancel.child_token();
                let span = tracing::info_span!("policy_poller", policy = %p.name);
                tasks.spawn(
                    Arc::clone(&self)
                        .policy_loop(Arc::clone(&p), out.clone(), token.clone())
                        .instrument(span),
                );
                running.insert(p.name.clone(), (p, token));
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                changed = policies.changed() => if changed.is_err() { break },
                // Reap finished loops so the set does not grow.
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        for (_, token) in running.values() {
            token.cancel();
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn policy_loop(
        self: Arc<Self>,
        policy: Arc<Policy>,
        out: mpsc::Sender<PolledSamples>,
        cancel: CancellationToken,
    ) {
        let mut jitter = Jitter::new(&policy.name);
        let interval = policy.interval.max(Duration::from_millis(100));
        let first = interval.mul_f64(self.opts.jitter.clamp(0.0, 1.0) * jitter.unit());
        let mut next = Instant::now() + first;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(next) => {}
            }
            let started = Instant::now();
            let samples = tokio::select! {
                _ = cancel.cancelled() => return,
                s = self.poll(&policy) => s,
            };
            let msg = PolledSamples {
                policy: Arc::clone(&policy),
                samples,
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                sent = out.send(msg) => if sent.is_err() { return },
            }
            let j = self.opts.jitter.clamp(0.0, 0.5);
            let factor = 1.0 + j * (2.0 * jitter.unit() - 1.0);
            next = (started + interval.mul_f64(factor)).max(Instant::now());
        }
    }
}

/// A reading a source returned as a success can still be unusable.
fn checked(reading: MetricReading) -> Result<MetricReading, SourceError> {
    match &reading {
        MetricReading::Value { value } if !value.is_finite() => Err(SourceError::NotFinite {
            value: *value,
            series: String::new(),
        }),
        _ => Ok(reading),
    }
}

/// Deterministic per-policy jitter (splitmix64 seeded by the name), so
/// policies spread out the same way on every controller and in tests.
struct Jitter(u64);

impl Jitter {
    fn new(name: &str) -> Self {
        // FNV-1a of the name.
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Jitter(seed)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests;
