//! YAML in, typed sections out, collecting every structural problem with its
//! path instead of stopping at the first.
//!
//! The document is read into a `serde_json::Value` tree once; each section is
//! then deserialized on its own. When serde reports an error, the offending
//! key is recorded and removed from the tree and deserialization is retried,
//! so a policy with three misspelt keys yields three errors.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ConfigError;

/// ConfigMaps cannot hold more than 1 MiB; a bigger document is a mistake.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
const MAX_DEPTH: usize = 64;
const MAX_ERRORS_PER_SECTION: usize = 32;

/// Reads YAML into a JSON tree, bounded in depth and size.
pub fn yaml_to_tree(yaml: &str) -> Result<Value, ConfigError> {
    if yaml.len() > MAX_DOCUMENT_BYTES {
        return Err(ConfigError::new(
            "",
            format!(
                "document is {} bytes; the limit is {} bytes (a ConfigMap holds at most 1 MiB)",
                yaml.len(),
                MAX_DOCUMENT_BYTES
            ),
        ));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
        },
    };
    let tree: Value = serde_saphyr::from_str_with_options(yaml, options)
        .map_err(|e| ConfigError::new("", format!("not valid YAML: {}", one_line(&e.to_string()))))?;
    if depth(&tree) > MAX_DEPTH {
        return Err(ConfigError::new(
            "",
            format!("nesting deeper than {MAX_DEPTH} levels"),
        ));
    }
    Ok(tree)
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Deserializes `tree` as `T`, pushing every problem found (prefixed with
/// `base`) into `errors`. Returns what could be read once the offending keys
/// were set aside (so semantic rules can still report on the rest), or
/// `None` if nothing could be read.
pub fn section<T: DeserializeOwned>(mut tree: Value, base: &str, errors: &mut Vec<ConfigError>) -> Option<T> {
    let mut found = 0usize;
    loop {
        match serde_path_to_error::deserialize::<_, T>(&tree) {
            Ok(v) => return Some(v),
            Err(err) => {
                let segments = path_segments(err.path());
                let message = explain(&err.inner().to_string());
                found += 1;
                // An unknown key's path stops at its parent; name the key itself.
                let mut segments = segments;
                if let Some(name) = unknown_name(&message)
                    && segments.last() != Some(&Segment::Key(name.clone()))
                {
                    segments.push(Segment::Key(name));
                }
                errors.push(ConfigError::new(join(base, &segments), message.clone()));
                let missing_field = message.starts_with("missing required key");
                if missing_field || found >= MAX_ERRORS_PER_SECTION {
                    return None;
                }
                if segments.is_empty() || !remove(&mut tree, &segments) {
                    return None;
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn path_segments(path: &serde_path_to_error::Path) -> Vec<Segment> {
    use serde_path_to_error::Segment as S;
    path.iter()
        .filter_map(|s| match s {
            S::Seq { index } => Some(Segment::Index(*index)),
            S::Map { key } => Some(Segment::Key(key.clone())),
            S::Enum { variant } => Some(Segment::Key(variant.clone())),
            S::Unknown => None,
        })
        .collect()
}

/// Renders `policies[2].burst.maxReplicas`.
pub fn join(base: &str, segments: &[impl AsSegment]) -> String {
    let mut out = base.to_string();
    for s in segments {
        match s.as_segment() {
            SegmentRef::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            SegmentRef::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

pub enum SegmentRef<'a> {
    Key(&'a str),
    Index(usize),
}

pub trait AsSegment {
    fn as_segment(&self) -> SegmentRef<'_>;
}

impl AsSegment for Segment {
    fn as_segment(&self) -> SegmentRef<'_> {
        match self {
            Segment::Key(k) => SegmentRef::Key(k),
            Segment::Index(i) => SegmentRef::Index(*i),
        }
    }
}

fn remove(tree: &mut Value, path: &[Segment]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        node = match (seg, node) {
            (Segment::Key(k), Value::Object(o)) => match o.get_mut(k) {
                Some(n) => n,
                None => return false,
            },
            (Segment::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(n) => n,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Key(k), Value::Object(o)) => o.remove(k).is_some(),
        // Removing an element would shift every later index; blank it instead.
        (Segment::Index(i), Value::Array(a)) if *i < a.len() => {
            a[*i] = Value::Null;
            false
        }
        _ => false,
    }
}

/// Rewrites serde's messages into the config's vocabulary, with a
/// did-you-mean suggestion for unknown keys and values.
fn explain(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = backticked(tail);
        return match suggest(name, &expected) {
            Some(s) => format!("unknown key `{name}` (did you mean `{s}`?)"),
            None if expected.is_empty() => format!("unknown key `{name}`: no keys are allowed here"),
            None => format!("unknown key `{name}`; allowed keys: {}", expected.join(", ")),
        };
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let (name, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = backticked(tail);
        return match suggest(name, &expected) {
            Some(s) => format!("unknown value `{name}` (did you mean `{s}`?)"),
            None => format!("unknown value `{name}`; expected one of: {}", expected.join(", ")),
        };
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        return format!("missing required key `{name}`");
    }
    raw.to_string()
}

fn unknown_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown key `")?;
    rest.split('`').next().map(str::to_string)
}

fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// The closest candidate, if it is close enough to be a plausible typo.
pub fn suggest(name: &str, candidates: &[String]) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        max_replicas: u32,
        #[serde(default)]
        enabled: bool,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn collects_every_unknown_key_with_suggestions() {
        let tree = yaml_to_tree("items:\n- maxReplica: 3\n  enabeld: true\n  maxReplicas: 2\n").unwrap();
        let mut errors = Vec::new();
        let out: Option<Outer> = section(tree, "policies[0]", &mut errors);
        assert_eq!(out.map(|o| o.items.len()), Some(1), "the rest is still read");
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            rendered,
            vec![
                "policies[0].items[0].maxReplica: unknown key `maxReplica` (did you mean `maxReplicas`?)",
                "policies[0].items[0].enabeld: unknown key `enabeld` (did you mean `enabled`?)",
            ]
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let tree = yaml_to_tree("items:\n- maxReplicas: lots\n").unwrap();
        let mut errors = Vec::new();
        let _: Option<Outer> = section(tree, "", &mut errors);
        assert_eq!(errors[0].path, "items[0].maxReplicas");
        assert!(
            errors[0].message.contains("invalid type"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let yaml = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(yaml_to_tree(&yaml).is_err());
    }
}
