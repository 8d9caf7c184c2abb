//! Policies from the `spillway` ConfigMap (key `config.yaml`), validated by
//! `spillway_core::config::load`. A document that cannot be used keeps the
//! last good configuration; every problem becomes a Warning Event on the
//! ConfigMap and `spillway_config_valid` reads 0.

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt, watcher},
};
use spillway_core::config::{ConfigError, LoadedConfig, load};
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::events::{EventSink, Notice, object_ref};

/// The ConfigMap key holding the document.
pub const CONFIG_KEY: &str = "config.yaml";

/// What one observation of the ConfigMap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// Same resourceVersion as before: nothing to do.
    Unchanged,
    /// Now in effect. `errors` lists policies disabled by their own errors.
    Applied { errors: Vec<ConfigError> },
    /// Unusable; the previous configuration (if any) stays in effect.
    Rejected {
        errors: Vec<ConfigError>,
        kept_previous: bool,
    },
}

/// The last good configuration and whether the latest document was valid. Pure.
#[derive(Debug, Default)]
pub struct ConfigTracker {
    current: Option<Arc<LoadedConfig>>,
    valid: bool,
    last_version: Option<String>,
}

impl ConfigTracker {
    pub fn current(&self) -> Option<&Arc<LoadedConfig>> {
        self.current.as_ref()
    }
    /// `spillway_config_valid`: the latest document loaded with no error at all.
    pub fn valid(&self) -> bool {
        self.valid
    }

    /// Takes the ConfigMap as now observed (`None`: it does not exist).
    pub fn observe(&mut self, cm: Option<&ConfigMap>) -> ConfigChange {
        let version = cm.and_then(|c| c.metadata.resource_version.clone());
        if version.is_some() && version == self.last_version {
            return ConfigChange::Unchanged;
        }
        self.last_version = version;
        let doc = match cm {
            None => Err(ConfigError::new("", "ConfigMap not found")),
            Some(c) => c
                .data
                .as_ref()
                .and_then(|d| d.get(CONFIG_KEY))
                .ok_or_else(|| ConfigError::new("", format!("the ConfigMap has no key {CONFIG_KEY:?}"))),
        };
        let result = doc
            .map_err(|e| vec![e])
            .and_then(|yaml| load(yaml).map_err(|e| e.errors));
        match result {
            Ok(loaded) => {
                let errors: Vec<ConfigError> = loaded.errors().cloned().collect();
                self.valid = errors.is_empty();
                self.current = Some(Arc::new(loaded));
                ConfigChange::Applied { errors }
            }
            Err(errors) => {
                self.valid = false;
                ConfigChange::Rejected {
                    errors,
                    kept_previous: self.current.is_some(),
                }
            }
        }
    }
}

/// Receivers for the configuration in effect and the validity flag.
pub struct ConfigSource {
    pub config: watch::Receiver<Option<Arc<LoadedConfig>>>,
    pub valid: watch::Receiver<bool>,
    /// The latest document's errors, a rejected document's included.
    pub errors: watch::Receiver<Vec<ConfigError>>,
    pub task: JoinHandle<()>,
}

/// Watches `namespace/name` and publishes each usable configuration.
pub fn watch_config(
    client: Client,
    namespace: &str,
    name: &str,
    events: Arc<EventSink>,
    cancel: CancellationToken,
) -> ConfigSource {
    let api: Api<ConfigMap> = Api::namespaced(client, namespace);
    let (config_tx, config_rx) = watch::channel(None);
    let (valid_tx, valid_rx) = watch::channel(false);
    let (errors_tx, errors_rx) = watch::channel(Vec::new());
    let (namespace, name) = (namespace.to_string(), name.to_string());
    let stream = watcher(
        api,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .default_backoff();
    let task = tokio::spawn(async move {
        let mut tracker = ConfigTracker::default();
        let mut seen_in_list = false;
        let mut stream = std::pin::pin!(stream.take_until(cancel.cancelled_owned()));
        while let Some(event) = stream.next().await {
            let cm = match event {
                Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => {
                    seen_in_list = true;
                    Some(cm)
                }
                Ok(watcher::Event::Delete(_)) => None,
                Ok(watcher::Event::Init) => {
                    seen_in_list = false;
                    continue;
                }
                Ok(watcher::Event::InitDone) if seen_in_list => continue,
                Ok(watcher::Event::InitDone) => None,
                Err(e) => {
                    warn!(error = %e, "ConfigMap watch error; retrying");
                    continue;
                }
            };
            let change = tracker.observe(cm.as_ref());
            valid_tx.send_replace(tracker.valid());
            let uid = cm.as_ref().and_then(|c| c.metadata.uid.clone());
            match change {
                ConfigChange::Unchanged => {}
                ConfigChange::Applied { errors } => {
                    errors_tx.send_replace(errors.clone());
                    info!(
                        policies = tracker.current().map_or(0, |c| c.policies.len()),
                        "configuration applied"
                    );
                    config_tx.send_replace(tracker.current().cloned());
                    warn_all(
                        &events,
                        &namespace,
                        &name,
                        uid.as_deref(),
                        "PolicyInvalid",
                        &errors,
                    )
                    .await;
                }
                ConfigChange::Rejected {
                    errors,
                    kept_previous,
                } => {
                    errors_tx.send_replace(errors.clone());
                    warn!(errors = errors.len(), kept_previous, "configuration rejected");
                    warn_all(
                        &events,
                        &namespace,
                        &name,
                        uid.as_deref(),
                        "ConfigInvalid",
                        &errors,
                    )
                    .await;
                }
            }
        }
    });
    ConfigSource {
        config: config_rx,
        valid: valid_rx,
        errors: errors_rx,
        task,
    }
}

async fn warn_all(
    events: &EventSink,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
    reason: &str,
    errors: &[ConfigError],
) {
    if errors.is_empty() {
        return;
    }
    let regarding = object_ref("v1", "ConfigMap", namespace, name, uid);
    let note = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let notice = Notice {
        warning: true,
        reason: reason.into(),
        action: "LoadConfig".into(),
        note,
    };
    if let Err(e) = events
        .publish(&format!("configmap/{name}"), &regarding, &notice)
        .await
    {
        warn!(error = %e, "cannot publish the configuration Warning");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GOOD: &str = include_str!("../../../config/policies/example.yaml");

    fn cm(rv: &str, yaml: &str) -> ConfigMap {
        serde_json::from_value(
            json!({"metadata": {"name": "spillway", "namespace": "spillway-system",
            "resourceVersion": rv}, "data": {"config.yaml": yaml}}),
        )
        .expect("cm")
    }

    #[test]
    fn invalid_yaml_keeps_the_last_good_configuration() {
        let mut t = ConfigTracker::default();
        assert!(
            matches!(t.observe(Some(&cm("1", GOOD))), ConfigChange::Applied { ref errors } if errors.is_empty())
        );
        assert!(t.valid());
        let change = t.observe(Some(&cm("2", "policies: [unclosed")));
        let ConfigChange::Rejected {
            errors,
            kept_previous,
        } = change
        else {
            panic!("expected a rejection, got {change:?}");
        };
        assert!(kept_previous);
        assert!(errors[0].message.contains("not valid YAML"), "{errors:?}");
        assert!(!t.valid());
        let kept = t.current().expect("kept");
        assert_eq!(kept.valid_policies().count(), 2);
        // The same version again is not re-parsed.
        assert_eq!(
            t.observe(Some(&cm("2", "policies: [unclosed"))),
            ConfigChange::Unchanged
        );
    }

    #[test]
    fn one_bad_policy_disables_itself_only() {
        let mut t = ConfigTracker::default();
        let doc = GOOD.replace("maxReplicas: 200", "maxReplicas: 1");
        let ConfigChange::Applied { errors } = t.observe(Some(&cm("3", &doc))) else {
            panic!("the document is still usable");
        };
        assert!(
            errors.iter().any(|e| e.path.starts_with("policies[0]")),
            "{errors:?}"
        );
        assert!(!t.valid());
        let c = t.current().expect("applied");
        assert_eq!(
            c.valid_policies().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["checkout"]
        );
    }

    #[test]
    fn missing_key_or_configmap_is_rejected() {
        let mut t = ConfigTracker::default();
        let empty: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "spillway", "resourceVersion": "5"}}))
                .expect("cm");
        let ConfigChange::Rejected {
            errors,
            kept_previous,
        } = t.observe(Some(&empty))
        else {
            panic!("rejected");
        };
        assert!(!kept_previous);
        assert!(errors[0].message.contains("config.yaml"));
        assert!(matches!(t.observe(None), ConfigChange::Rejected { .. }));
        assert!(t.current().is_none());
    }
}
