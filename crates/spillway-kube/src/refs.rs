//! Secrets and ConfigMaps the pod template references (env, envFrom,
//! imagePullSecrets), read on demand when a template is translated for ACI.
//! Nothing is cached: values are read when needed and not kept.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, Secret};
use kube::{Api, Client};

/// Names referenced by a pod spec. Pure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateRefs {
    pub secrets: BTreeSet<String>,
    pub config_maps: BTreeSet<String>,
    /// References marked `optional: true`: a missing object is not an error.
    pub optional: BTreeSet<String>,
}

pub fn template_refs(spec: &PodSpec) -> TemplateRefs {
    let mut r = TemplateRefs::default();
    for s in spec.image_pull_secrets.iter().flatten() {
        if !s.name.is_empty() {
            r.secrets.insert(s.name.clone());
        }
    }
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    for c in containers {
        for e in c.env.iter().flatten() {
            let Some(from) = &e.value_from else { continue };
            if let Some(s) = &from.secret_key_ref {
                r.secrets.insert(s.name.clone());
                if s.optional == Some(true) {
                    r.optional.insert(format!("secret/{}", s.name));
                }
            }
            if let Some(m) = &from.config_map_key_ref {
                r.config_maps.insert(m.name.clone());
                if m.optional == Some(true) {
                    r.optional.insert(format!("configmap/{}", m.name));
                }
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(s) = &e.secret_ref {
                r.secrets.insert(s.name.clone());
                if s.optional == Some(true) {
                    r.optional.insert(format!("secret/{}", s.name));
                }
            }
            if let Some(m) = &e.config_map_ref {
                r.config_maps.insert(m.name.clone());
                if m.optional == Some(true) {
                    r.optional.insert(format!("configmap/{}", m.name));
                }
            }
        }
    }
    r
}

/// The referenced objects' data (the seam's type).
pub use spillway_controller::TemplateRefs as ResolvedRefs;

#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("{kind} {namespace}/{name} referenced by the pod template does not exist")]
    Missing {
        kind: &'static str,
        namespace: String,
        name: String,
    },
    #[error("reading {kind} {namespace}/{name}: {source}")]
    Api {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Reads every referenced object in `namespace` (one `get` each).
pub async fn resolve(
    client: &Client,
    namespace: &str,
    refs: &TemplateRefs,
) -> Result<ResolvedRefs, RefError> {
    let mut out = ResolvedRefs::default();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for name in &refs.secrets {
        match get(&secrets, "Secret", namespace, name).await? {
            Some(s) => {
                let data = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .chain(
                        s.string_data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, v.into_bytes())),
                    )
                    .collect();
                out.secrets.insert(name.clone(), data);
            }
            None if refs.optional.contains(&format!("secret/{name}")) => {}
            None => {
                return Err(RefError::Missing {
                    kind: "Secret",
                    namespace: namespace.into(),
                    name: name.clone(),
                });
            }
        }
    }
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for name in &refs.config_maps {
        match get(&maps, "ConfigMap", namespace, name).await? {
            Some(m) => {
                out.config_maps.insert(name.clone(), m.data.unwrap_or_default());
            }
            None if refs.optional.contains(&format!("configmap/{name}")) => {}
            None => {
                return Err(RefError::Missing {
                    kind: "ConfigMap",
                    namespace: namespace.into(),
                    name: name.clone(),
                });
            }
        }
    }
    Ok(out)
}

async fn get<K>(api: &Api<K>, kind: &'static str, namespace: &str, name: &str) -> Result<Option<K>, RefError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.map_err(|source| RefError::Api {
        kind,
        namespace: namespace.into(),
        name: name.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_env_envfrom_and_pull_secrets() {
        let spec: PodSpec = serde_json::from_value(json!({
            "imagePullSecrets": [{"name": "acr"}],
            "containers": [{"name": "a",
                "env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
                        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode", "optional": true}}},
                        {"name": "PLAIN", "value": "x"}],
                "envFrom": [{"secretRef": {"name": "shared"}}]}]
        }))
        .expect("spec");
        let r = template_refs(&spec);
        assert_eq!(r.secrets.iter().collect::<Vec<_>>(), vec!["acr", "db", "shared"]);
        assert_eq!(r.config_maps.iter().collect::<Vec<_>>(), vec!["cfg"]);
        assert!(r.optional.contains("configmap/cfg"));
    }
}
