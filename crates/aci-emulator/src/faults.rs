//! Fault injection settings. The same type is set from CLI flags, through `/_emulator/faults`
//! (`GET`, `PUT` to replace, `PATCH` to merge) and through [`crate::EmulatorHandle`].

use serde::{Deserialize, Serialize};

use crate::latency::LatencyDist;

/// How a region's missing capacity shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum CapacityMode {
    /// `PUT` answers `409 ServiceUnavailable` at once (observed).
    #[default]
    Sync,
    /// `PUT` is accepted; the operation then ends `Failed` with an `InsufficientCapacity.` event.
    Async,
}

/// A region without capacity for new groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityFault {
    /// Normalised region name (`westeurope`), or `*` for every region.
    pub region: String,
    /// How it shows.
    #[serde(default)]
    pub mode: CapacityMode,
}

/// How a bad image shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ImageFaultMode {
    /// Accepted, then the pull fails: the group ends `Failed`, the container stays `Waiting` with
    /// `Pulling` / `Failed` / `BackOff` events, and the operation fails with `InaccessibleImage`.
    #[default]
    PullFails,
    /// `PUT` answers `400 InaccessibleImage` at once.
    Inaccessible,
}

/// An image that cannot be pulled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFault {
    /// Exact image reference, or a prefix ending in `*`.
    pub pattern: String,
    /// How it shows.
    #[serde(default)]
    pub mode: ImageFaultMode,
}

/// An image whose container exits every `every_ms` after it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrashFault {
    /// Exact image reference, or a prefix ending in `*`.
    pub pattern: String,
    /// Run time before each exit.
    pub every_ms: u64,
    /// Exit code reported in `previousState` / `currentState`.
    #[serde(default = "default_exit_code")]
    pub exit_code: i32,
}

fn default_exit_code() -> i32 {
    1
}

/// Which requests a forced throttle hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ThrottleScope {
    /// Every ARM request.
    #[default]
    All,
    /// Only reads (`GET`).
    Reads,
    /// Only writes (`PUT`, `PATCH`, `POST`, `DELETE`).
    Writes,
}

/// Answer the next `count` ARM requests with 429 and the given `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForcedThrottle {
    /// How many requests still get a 429.
    pub count: u64,
    /// `Retry-After` seconds to send.
    pub retry_after_secs: u64,
    /// Which requests.
    #[serde(default)]
    pub scope: ThrottleScope,
}

/// All injectable faults. Everything defaults to "no fault".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Extra latency before every ARM call is answered (the client benchmark uses `100ms`).
    pub call_latency: LatencyDist,
    /// Probability that an ARM call answers 500/503 *without* doing anything.
    pub error_5xx_rate: f64,
    /// Probability that a write is applied but the answer is a 500 anyway (a lost response).
    pub error_5xx_after_write_rate: f64,
    /// Operations never reach a terminal state (groups stay `Pending`).
    pub lro_never_finish: bool,
    /// Multiplies every provisioning phase duration (`1.0` = normal).
    pub lro_slow_factor: f64,
    /// Regions without capacity.
    pub capacity: Vec<CapacityFault>,
    /// Images that cannot be pulled.
    pub failing_images: Vec<ImageFault>,
    /// Images whose containers keep exiting (restart counts grow).
    pub crashing_images: Vec<CrashFault>,
    /// Force 429s regardless of the buckets.
    pub force_throttle: Option<ForcedThrottle>,
}

impl Faults {
    /// Provisioning time multiplier, never negative.
    pub fn slow_factor(&self) -> f64 {
        if self.lro_slow_factor > 0.0 {
            self.lro_slow_factor
        } else {
            1.0
        }
    }

    /// The capacity fault for a region, if any.
    pub fn capacity_for(&self, region: &str) -> Option<CapacityMode> {
        self.capacity
            .iter()
            .find(|c| c.region == "*" || c.region.eq_ignore_ascii_case(region))
            .map(|c| c.mode)
    }

    /// The image fault for an image, if any.
    pub fn image_fault(&self, image: &str) -> Option<ImageFaultMode> {
        self.failing_images
            .iter()
            .find(|f| pattern_matches(&f.pattern, image))
            .map(|f| f.mode)
    }

    /// The crash fault for an image, if any.
    pub fn crash_fault(&self, image: &str) -> Option<&CrashFault> {
        self.crashing_images
            .iter()
            .find(|f| pattern_matches(&f.pattern, image))
    }
}

/// `pattern` is an exact image reference, or a prefix followed by `*`.
pub fn pattern_matches(pattern: &str, image: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => image.starts_with(prefix),
        None => pattern == image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exact_or_prefix() {
        assert!(pattern_matches("nginx", "nginx"));
        assert!(!pattern_matches("nginx", "nginx:1.27"));
        assert!(pattern_matches("registry.invalid/*", "registry.invalid/app:1"));
        assert!(pattern_matches("*", "anything"));
    }

    #[test]
    fn faults_deserialize_from_partial_json() {
        let f: Faults = serde_json::from_str(
            r#"{"callLatency":"100ms","error5xxRate":0.5,"capacity":[{"region":"westeurope"}],
                "failingImages":[{"pattern":"bad/*","mode":"inaccessible"}],
                "forceThrottle":{"count":2,"retryAfterSecs":7}}"#,
        )
        .unwrap();
        assert_eq!(f.call_latency, LatencyDist::fixed_ms(100));
        assert_eq!(f.capacity_for("WestEurope"), Some(CapacityMode::Sync));
        assert_eq!(f.capacity_for("northeurope"), None);
        assert_eq!(f.image_fault("bad/x"), Some(ImageFaultMode::Inaccessible));
        assert_eq!(
            f.force_throttle.as_ref().map(|t| t.scope),
            Some(ThrottleScope::All)
        );
        assert_eq!(f.slow_factor(), 1.0);
    }
}
