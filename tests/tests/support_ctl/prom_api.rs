//! Prometheus's HTTP API (`/api/v1/query`, `query_range`, `label/…/values`)
//! for the tests that read what Prometheus scraped from the demo.

use serde_json::Value;

use super::http_get;

/// A Prometheus server's HTTP API at `url` (`http://127.0.0.1:PORT`).
pub struct PromApi {
    pub url: String,
}

impl PromApi {
    /// `GET /api/v1/query?query=EXPR&time=AT`: the `data.result` array, or
    /// Prometheus's error.
    pub fn query(&self, expr: &str, at: f64) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query?query={}&time={at:.3}",
            self.url,
            url_encode(expr)
        );
        api_result(&url)
    }

    /// `GET /api/v1/query_range`: the `data.result` matrix.
    pub fn query_range(&self, expr: &str, start: f64, end: f64, step: f64) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            self.url,
            url_encode(expr)
        );
        api_result(&url)
    }

    /// Values of label `name` on series matching `selector`.
    pub fn label_values(&self, name: &str, selector: &str) -> Result<Vec<String>, String> {
        let url = format!(
            "{}/api/v1/label/{name}/values?match[]={}",
            self.url,
            url_encode(selector)
        );
        let (code, body) = http_get(&url)?;
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{url}: HTTP {code}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{url}: HTTP {code}: {body}"));
        }
        Ok(v["data"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }
}

fn api_result(url: &str) -> Result<Vec<Value>, String> {
    let (code, body) = http_get(url)?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {code}: {e}: {body}"))?;
    if v["status"] != "success" {
        return Err(format!(
            "HTTP {code}: {} {}",
            v["errorType"].as_str().unwrap_or("?"),
            v["error"].as_str().unwrap_or(&body)
        ));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Percent-encodes a query parameter value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
