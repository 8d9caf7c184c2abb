//! When to retry and how long to wait: pure decisions used by the transport.

use std::time::{Duration, SystemTime};

use backon::ExponentialBuilder;

use crate::config::RetryPolicy;
use crate::error::AciError;

/// How a request may be resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// GET, list, DELETE, polls: resend on any retryable error.
    Idempotent,
    /// PUT: resend only when the server certainly did not act on it (429, or
    /// the connection was never made). Other failures go back to the caller,
    /// which checks with a GET before sending again.
    OnlyIfNotProcessed,
}

impl RetryPolicy {
    pub(crate) fn backoff(&self) -> ExponentialBuilder {
        let b = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries);
        if self.jitter { b.with_jitter() } else { b }
    }

    /// The wait before the next attempt, or `None` to stop and return `err`:
    /// no retries left, a `Retry-After` above the cap, or past the total budget.
    pub(crate) fn next_delay(
        &self,
        err: &AciError,
        backoff: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        let backoff = backoff?;
        let wait = match err.retry_after() {
            Some(ra) if ra > self.max_retry_after => return None,
            Some(ra) => ra,
            None => backoff,
        };
        if elapsed.saturating_add(wait) > self.total_budget {
            return None;
        }
        Some(wait)
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::try_from(now).ok()?;
    let d = at.duration_since(now);
    Some(Duration::try_from(d).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
            total_budget: Duration::from_secs(20),
            jitter: false,
        }
    }

    fn throttled(secs: u64) -> AciError {
        AciError::Throttled {
            retry_after: Some(Duration::from_secs(secs)),
            local: false,
            message: String::new(),
        }
    }

    #[test]
    fn honours_and_caps_retry_after() {
        let p = policy();
        let b = Some(Duration::from_millis(100));
        assert_eq!(
            p.next_delay(&throttled(3), b, Duration::ZERO),
            Some(Duration::from_secs(3))
        );
        // An endless Retry-After is not waited for.
        assert_eq!(p.next_delay(&throttled(3600), b, Duration::ZERO), None);
        // Nor one that would pass the total budget.
        assert_eq!(p.next_delay(&throttled(9), b, Duration::from_secs(15)), None);
        // Out of retries.
        assert_eq!(p.next_delay(&throttled(1), None, Duration::ZERO), None);
        let t = AciError::Transport("x".into());
        assert_eq!(p.next_delay(&t, b, Duration::ZERO), b);
    }

    #[test]
    fn parses_both_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
