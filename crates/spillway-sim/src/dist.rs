//! Latency distributions of the world model (seconds, whole-second resolution).

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::duration_serde;

/// A duration drawn at random: `{fixed: 30s}`, `{uniform: {min: 3m, max: 5m}}`
/// or `{logNormal: {median: 40s, sigma: 0.4, min: 20s, max: 5m}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Dist {
    Fixed(#[serde(with = "duration_serde")] Duration),
    Uniform {
        #[serde(with = "duration_serde")]
        min: Duration,
        #[serde(with = "duration_serde")]
        max: Duration,
    },
    #[serde(rename_all = "camelCase")]
    LogNormal {
        #[serde(with = "duration_serde")]
        median: Duration,
        sigma: f64,
        #[serde(with = "duration_serde", default)]
        min: Duration,
        #[serde(with = "duration_serde", default = "far")]
        max: Duration,
    },
}

fn far() -> Duration {
    Duration::from_secs(24 * 3600)
}

impl Dist {
    pub fn fixed_secs(s: u64) -> Self {
        Dist::Fixed(Duration::from_secs(s))
    }
    pub fn uniform_secs(min: u64, max: u64) -> Self {
        Dist::Uniform {
            min: Duration::from_secs(min),
            max: Duration::from_secs(max),
        }
    }

    /// The smallest value this distribution can produce, in seconds.
    pub fn min_secs(&self) -> f64 {
        match self {
            Dist::Fixed(d) => d.as_secs_f64(),
            Dist::Uniform { min, .. } => min.as_secs_f64(),
            Dist::LogNormal { min, .. } => min.as_secs_f64(),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Dist::Fixed(_) => Ok(()),
            Dist::Uniform { min, max } if min > max => {
                Err(format!("uniform min {min:?} is above max {max:?}"))
            }
            Dist::LogNormal { sigma, .. } if !(sigma.is_finite() && *sigma >= 0.0) => {
                Err(format!("logNormal sigma {sigma} must be a finite number ≥ 0"))
            }
            Dist::LogNormal { median, min, max, .. } if min > max || median.is_zero() => {
                Err("logNormal needs median > 0 and min ≤ max".to_string())
            }
            _ => Ok(()),
        }
    }

    /// A draw, rounded up to whole seconds (the simulation's resolution).
    pub fn sample_secs(&self, rng: &mut impl Rng) -> i64 {
        let secs = match self {
            Dist::Fixed(d) => d.as_secs_f64(),
            Dist::Uniform { min, max } => {
                let (a, b) = (min.as_secs_f64(), max.as_secs_f64());
                if b > a { rng.random_range(a..=b) } else { a }
            }
            Dist::LogNormal {
                median,
                sigma,
                min,
                max,
            } => {
                let z = standard_normal(rng);
                (median.as_secs_f64() * (sigma * z).exp()).clamp(min.as_secs_f64(), max.as_secs_f64())
            }
        };
        secs.ceil().max(0.0) as i64
    }
}

/// Box–Muller; one of the pair is discarded to keep the stream simple.
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn draws_stay_in_bounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let u = Dist::uniform_secs(180, 300);
        let l = Dist::LogNormal {
            median: Duration::from_secs(40),
            sigma: 0.5,
            min: Duration::from_secs(20),
            max: Duration::from_secs(300),
        };
        for _ in 0..10_000 {
            let x = u.sample_secs(&mut rng);
            assert!((180..=300).contains(&x));
            let y = l.sample_secs(&mut rng);
            assert!((20..=300).contains(&y));
        }
        assert_eq!(Dist::fixed_secs(5).sample_secs(&mut rng), 5);
        assert_eq!(l.min_secs(), 20.0);
    }
}
