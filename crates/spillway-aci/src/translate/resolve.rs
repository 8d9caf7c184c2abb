//! Secret and ConfigMap values, resolved by the caller (from its informer
//! caches); the translation never reads the cluster itself.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

/// Looks up Secrets and ConfigMaps in the template's namespace.
/// `Ok(None)`: does not exist. `Err`: the lookup itself failed.
pub trait ValueResolver {
    fn secret(&self, name: &str) -> Result<Option<Secret>, String>;
    fn config_map(&self, name: &str) -> Result<Option<ConfigMap>, String>;
}

/// An in-memory resolver (tests, the simulator, small tools).
#[derive(Debug, Default, Clone)]
pub struct MapResolver {
    pub secrets: BTreeMap<String, Secret>,
    pub config_maps: BTreeMap<String, ConfigMap>,
}

impl ValueResolver for MapResolver {
    fn secret(&self, name: &str) -> Result<Option<Secret>, String> {
        Ok(self.secrets.get(name).cloned())
    }
    fn config_map(&self, name: &str) -> Result<Option<ConfigMap>, String> {
        Ok(self.config_maps.get(name).cloned())
    }
}

/// A Secret's entries as bytes (`data`, overlaid by `stringData` as the API server does).
pub(crate) fn secret_entries(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}

/// A ConfigMap's entries (`data`; `binaryData` as bytes).
pub(crate) fn config_map_entries(c: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = c
        .binary_data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in c.data.iter().flatten() {
        out.insert(k.clone(), v.clone().into_bytes());
    }
    out
}
