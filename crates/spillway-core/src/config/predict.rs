//! `predict`: forecast-aware headroom (HPA-style vocabulary). A forecast may
//! only add replicas, never remove them; what it may add is capped, and it
//! stops acting while its recent error is large.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PredictMode {
    /// Reactive only: the HPA's answer (the default, as the HPA has no
    /// forecast).
    #[default]
    Off,
    /// Forecast, and say what it would have done (reasons, `/status`,
    /// `spillway plan`), but do not act on it.
    Report,
    /// Raise the desired replicas to the forecast's (scale-up only).
    Act,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Predict {
    #[serde(default)]
    pub mode: PredictMode,
    /// How far ahead replicas are wanted: the metric's lag (scrape and
    /// `rate()` window) plus the time a burst replica takes to start.
    #[serde(default = "defaults::horizon", with = "duration")]
    pub horizon: Duration,
    /// Extrapolate the trend of the recent readings (the metric's lag hides
    /// the start of a ramp; the trend shows it).
    #[serde(default = "defaults::trend")]
    pub trend: bool,
    /// The readings the trend is fitted to.
    #[serde(default = "defaults::trend_window", with = "duration")]
    pub trend_window: Duration,
    /// Seasonal-naive periods (e.g. `[1d, 7d]`): the load at the same time
    /// of past seasons, read from the metric source's history.
    #[serde(default, with = "duration_list")]
    pub seasons: Vec<Duration>,
    /// How many past seasons of each period are looked at.
    #[serde(default = "defaults::season_count")]
    pub season_count: u32,
    /// Percentile over the past seasons' values.
    #[serde(default = "defaults::percentile")]
    pub percentile: u32,
    /// A forecast (or a `scaleUpQuery`) adds at most the larger of this
    /// percentage of the reactive replicas and `max_add_replicas`, as the
    /// HPA's `Percent` and `Pods` scaling policies combine under
    /// `selectPolicy: Max`.
    #[serde(default = "defaults::max_add_percent")]
    pub max_add_percent: u32,
    /// See `max_add_percent`: the allowance in replicas, which small
    /// workloads reach before the percentage gives a whole replica.
    #[serde(default = "defaults::max_add_replicas")]
    pub max_add_replicas: u32,
    /// While the recent relative forecast error is above this percentage
    /// the forecast does not act (reactive only).
    #[serde(default = "defaults::max_error_percent")]
    pub max_error_percent: u32,
}

/// `mode: off` is the boolean `false` to a YAML 1.1 reader, and users write
/// it unquoted: both spellings mean the same.
impl<'de> Deserialize<'de> for PredictMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Name(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(false) => Ok(PredictMode::Off),
            Raw::Flag(true) => Ok(PredictMode::Act),
            Raw::Name(n) => match n.as_str() {
                "off" => Ok(PredictMode::Off),
                "report" => Ok(PredictMode::Report),
                "act" => Ok(PredictMode::Act),
                other => Err(serde::de::Error::custom(format!(
                    "unknown mode {other:?} (expected off, report or act)"
                ))),
            },
        }
    }
}

impl Default for Predict {
    fn default() -> Self {
        Predict {
            mode: PredictMode::default(),
            horizon: defaults::horizon(),
            trend: defaults::trend(),
            trend_window: defaults::trend_window(),
            seasons: Vec::new(),
            season_count: defaults::season_count(),
            percentile: defaults::percentile(),
            max_add_percent: defaults::max_add_percent(),
            max_add_replicas: defaults::max_add_replicas(),
            max_error_percent: defaults::max_error_percent(),
        }
    }
}

impl Predict {
    pub fn enabled(&self) -> bool {
        self.mode != PredictMode::Off && (self.trend || !self.seasons.is_empty())
    }

    /// Problems, as (path below `predict`, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.horizon > Duration::from_secs(3600) {
            out.push(("horizon", format!("{:?} is more than 1h", self.horizon)));
        }
        if self.trend_window < Duration::from_secs(30) || self.trend_window > Duration::from_secs(3600) {
            out.push((
                "trendWindow",
                format!("{:?} must be between 30s and 1h", self.trend_window),
            ));
        }
        for s in &self.seasons {
            if *s < Duration::from_secs(3600) || *s > Duration::from_secs(35 * 24 * 3600) {
                out.push(("seasons", format!("{s:?} must be between 1h and 35d")));
            }
        }
        if !(1..=20).contains(&self.season_count) {
            out.push((
                "seasonCount",
                format!("{} must be between 1 and 20", self.season_count),
            ));
        }
        if !(1..=100).contains(&self.percentile) {
            out.push((
                "percentile",
                format!("{} must be between 1 and 100", self.percentile),
            ));
        }
        if self.max_add_percent > 1000 {
            out.push((
                "maxAddPercent",
                format!("{} is more than 1000", self.max_add_percent),
            ));
        }
        if !(1..=1000).contains(&self.max_add_replicas) {
            out.push((
                "maxAddReplicas",
                format!("{} must be between 1 and 1000", self.max_add_replicas),
            ));
        }
        if !(1..=1000).contains(&self.max_error_percent) {
            out.push((
                "maxErrorPercent",
                format!("{} must be between 1 and 1000", self.max_error_percent),
            ));
        }
        out
    }
}

mod defaults {
    use std::time::Duration;
    pub fn horizon() -> Duration {
        Duration::from_secs(90)
    }
    pub fn trend() -> bool {
        true
    }
    pub fn trend_window() -> Duration {
        Duration::from_secs(120)
    }
    pub fn season_count() -> u32 {
        4
    }
    pub fn percentile() -> u32 {
        90
    }
    /// With `max_add_replicas`: two replicas ahead of the HPA up to 100
    /// replicas, 2 % above. What the scale-up signal adds beyond that buys
    /// less unserved demand for more money than virtual nodes spend
    /// (README, Performance: "How much the signal may add").
    pub fn max_add_percent() -> u32 {
        2
    }
    pub fn max_add_replicas() -> u32 {
        2
    }
    pub fn max_error_percent() -> u32 {
        30
    }
}

mod duration_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| humantime::format_duration(*d).to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        let raw = Vec::<String>::deserialize(d)?;
        raw.iter()
            .map(|s| super::duration::parse(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_may_be_written_as_yaml_reads_it() {
        for (yaml, mode) in [
            ("mode: off", PredictMode::Off),
            ("mode: 'off'", PredictMode::Off),
            ("mode: report", PredictMode::Report),
            ("mode: act", PredictMode::Act),
            ("{}", PredictMode::Off),
        ] {
            let p: Predict = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(p.mode, mode, "{yaml}");
        }
        let e = serde_saphyr::from_str::<Predict>("mode: sometimes").expect_err("unknown mode");
        assert!(e.to_string().contains("expected off, report or act"), "{e}");
    }
}
