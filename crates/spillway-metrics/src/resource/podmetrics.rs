//! The metrics.k8s.io/v1beta1 `PodMetrics` type (k8s-openapi has none) and
//! the Go duration strings its `window` uses.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};

/// `metrics.k8s.io/v1beta1` PodMetrics, as metrics-server serves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodMetrics {
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// End of the window the usage was measured over.
    #[serde(default)]
    pub timestamp: Option<Time>,
    /// Length of that window, a Go duration (`"30s"`, `"10.5s"`, `"1m0s"`).
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetrics {
    pub name: String,
    #[serde(default)]
    pub usage: BTreeMap<String, Quantity>,
}

impl kube::Resource for PodMetrics {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "PodMetrics".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "metrics.k8s.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1beta1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Parses a Go `time.Duration` string: `[-]` then one or more `<number><unit>`
/// with units ns, us, µs, ms, s, m, h; or `"0"`. Negative durations are
/// rejected (a window is never negative).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    if rest.is_empty() || rest.starts_with('-') {
        return None;
    }
    rest = rest.strip_prefix('+').unwrap_or(rest);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += value * scale;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_go_duration("1m0s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_go_duration("10.5s"), Some(Duration::from_millis(10_500)));
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
        for bad in ["", "s", "10", "-5s", "1x", ".s", "1..2s"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn deserializes_metrics_server_json() {
        let json = r#"{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1",
            "metadata":{"name":"web-1","namespace":"shop","creationTimestamp":"2026-11-27T10:00:00Z"},
            "timestamp":"2026-11-27T10:00:00Z","window":"15.012s",
            "containers":[{"name":"app","usage":{"cpu":"123456789n","memory":"51200Ki"}}]}"#;
        let m: PodMetrics = serde_json::from_str(json).expect("parses");
        assert_eq!(m.metadata.name.as_deref(), Some("web-1"));
        assert_eq!(m.containers[0].usage["cpu"].0, "123456789n");
        assert_eq!(
            m.window.as_deref().and_then(parse_go_duration),
            Some(Duration::from_millis(15_012))
        );
        use kube::Resource as _;
        assert_eq!(
            PodMetrics::url_path(&(), Some("shop")),
            "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods"
        );
    }
}
