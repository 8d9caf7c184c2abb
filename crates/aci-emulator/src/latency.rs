//! Latency distributions, sampled from the emulator's seeded random generator.
//!
//! Text form (used by the CLI, the admin endpoint and serde):
//! * `250ms` or `2s` — a fixed duration (`0` means none);
//! * `uniform:200ms..2s` — uniform between two bounds;
//! * `normal:1s,200ms` — normal with mean and standard deviation, clamped at zero;
//! * `exp:500ms` — exponential with the given mean.

use std::{fmt, str::FromStr, time::Duration};

use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A distribution of durations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyDist {
    /// Always the same duration.
    Fixed(Duration),
    /// Uniform between `min` and `max` (inclusive).
    Uniform { min: Duration, max: Duration },
    /// Normal with `mean` and `std_dev`, negative samples clamped to zero.
    Normal { mean: Duration, std_dev: Duration },
    /// Exponential with the given mean.
    Exponential { mean: Duration },
}

/// A latency text that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid latency {input:?}: {reason} (expected e.g. `100ms`, `uniform:1s..3s`, `normal:2s,500ms`, `exp:1s`)"
)]
pub struct LatencyParseError {
    input: String,
    reason: String,
}

impl LatencyDist {
    /// No delay at all.
    pub const ZERO: LatencyDist = LatencyDist::Fixed(Duration::ZERO);

    /// A fixed duration in milliseconds.
    pub fn fixed_ms(ms: u64) -> Self {
        LatencyDist::Fixed(Duration::from_millis(ms))
    }

    /// A uniform distribution between two bounds in milliseconds.
    pub fn uniform_ms(min: u64, max: u64) -> Self {
        LatencyDist::Uniform {
            min: Duration::from_millis(min),
            max: Duration::from_millis(max),
        }
    }

    /// Draws one duration.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        match *self {
            LatencyDist::Fixed(d) => d,
            LatencyDist::Uniform { min, max } => {
                if max <= min {
                    return min;
                }
                let span = (max - min).as_secs_f64();
                min + Duration::from_secs_f64(span * rng.random::<f64>())
            }
            LatencyDist::Normal { mean, std_dev } => {
                // Box-Muller; `1 - u` keeps the logarithm finite.
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let secs = mean.as_secs_f64() + z * std_dev.as_secs_f64();
                Duration::from_secs_f64(secs.max(0.0))
            }
            LatencyDist::Exponential { mean } => {
                let u: f64 = 1.0 - rng.random::<f64>();
                Duration::from_secs_f64(-u.ln() * mean.as_secs_f64())
            }
        }
    }

    /// The mean of the distribution (used in logs and reports).
    pub fn mean(&self) -> Duration {
        match *self {
            LatencyDist::Fixed(d) => d,
            LatencyDist::Uniform { min, max } => (min + max.max(min)) / 2,
            LatencyDist::Normal { mean, .. } | LatencyDist::Exponential { mean } => mean,
        }
    }
}

impl Default for LatencyDist {
    fn default() -> Self {
        LatencyDist::ZERO
    }
}

fn parse_duration(input: &str, whole: &str) -> Result<Duration, LatencyParseError> {
    let s = input.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| LatencyParseError {
        input: whole.to_owned(),
        reason: e.to_string(),
    })
}

impl FromStr for LatencyDist {
    type Err = LatencyParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let err = |reason: &str| LatencyParseError {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        match s.split_once(':') {
            None => Ok(LatencyDist::Fixed(parse_duration(s, s)?)),
            Some(("uniform", rest)) => {
                let (a, b) = rest
                    .split_once("..")
                    .ok_or_else(|| err("uniform needs `min..max`"))?;
                let (min, max) = (parse_duration(a, s)?, parse_duration(b, s)?);
                if max < min {
                    return Err(err("max is below min"));
                }
                Ok(LatencyDist::Uniform { min, max })
            }
            Some(("normal", rest)) => {
                let (a, b) = rest
                    .split_once(',')
                    .ok_or_else(|| err("normal needs `mean,stddev`"))?;
                Ok(LatencyDist::Normal {
                    mean: parse_duration(a, s)?,
                    std_dev: parse_duration(b, s)?,
                })
            }
            Some(("exp", rest)) => Ok(LatencyDist::Exponential {
                mean: parse_duration(rest, s)?,
            }),
            Some((kind, _)) => Err(err(&format!("unknown distribution `{kind}`"))),
        }
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.is_zero() {
        "0".to_owned()
    } else {
        humantime::format_duration(d).to_string()
    }
}

impl fmt::Display for LatencyDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LatencyDist::Fixed(d) => write!(f, "{}", fmt_duration(d)),
            LatencyDist::Uniform { min, max } => {
                write!(f, "uniform:{}..{}", fmt_duration(min), fmt_duration(max))
            }
            LatencyDist::Normal { mean, std_dev } => {
                write!(f, "normal:{},{}", fmt_duration(mean), fmt_duration(std_dev))
            }
            LatencyDist::Exponential { mean } => write!(f, "exp:{}", fmt_duration(mean)),
        }
    }
}

impl Serialize for LatencyDist {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LatencyDist {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Millis(u64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Millis(ms) => Ok(LatencyDist::fixed_ms(ms)),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for text in ["0", "100ms", "uniform:1s..3s", "normal:2s,500ms", "exp:1s"] {
            let d: LatencyDist = text.parse().unwrap();
            let again: LatencyDist = d.to_string().parse().unwrap();
            assert_eq!(d, again, "{text}");
        }
        assert!("uniform:3s..1s".parse::<LatencyDist>().is_err());
        assert!("gamma:1s".parse::<LatencyDist>().is_err());
        assert!("fast".parse::<LatencyDist>().is_err());
    }

    #[test]
    fn samples_stay_in_range_and_are_seeded() {
        let d = LatencyDist::uniform_ms(100, 200);
        let mut a = ChaCha8Rng::seed_from_u64(7);
        let mut b = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..1000 {
            let x = d.sample(&mut a);
            assert!(x >= Duration::from_millis(100) && x <= Duration::from_millis(200));
            assert_eq!(x, d.sample(&mut b));
        }
        let n = LatencyDist::Normal {
            mean: Duration::from_millis(10),
            std_dev: Duration::from_secs(1),
        };
        for _ in 0..1000 {
            let _ = n.sample(&mut a); // never panics on negative values
        }
        let e = LatencyDist::Exponential {
            mean: Duration::from_secs(1),
        };
        let mean = (0..20_000).map(|_| e.sample(&mut a).as_secs_f64()).sum::<f64>() / 20_000.0;
        assert!((mean - 1.0).abs() < 0.05, "exp mean {mean}");
    }

    #[test]
    fn deserializes_numbers_as_millis() {
        let d: LatencyDist = serde_json::from_str("100").unwrap();
        assert_eq!(d, LatencyDist::fixed_ms(100));
        let d: LatencyDist = serde_json::from_str("\"uniform:1s..2s\"").unwrap();
        assert_eq!(d, LatencyDist::uniform_ms(1000, 2000));
    }
}
