//! Scaling the target through the `scale` subresource, field manager
//! `spillway`, only when the value changes. A merge patch carries the
//! resourceVersion just read, so a concurrent change answers 409 and is
//! re-read rather than overwritten blindly.

use k8s_openapi::api::apps::v1::Deployment;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

/// Our field manager on every write.
pub const FIELD_MANAGER: &str = "spillway";

/// Attempts after 409 Conflict before giving up for this tick.
const CONFLICT_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleOutcome {
    Unchanged { replicas: u32 },
    Changed { from: u32, to: u32 },
}

#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("not the leader: no writes")]
    NotLeader,
    #[error("scale of {0} kept conflicting with concurrent writers")]
    Conflict(String),
    #[error("scale subresource of {name}: {source}")]
    Api {
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl ScaleError {
    pub fn label(&self) -> &'static str {
        match self {
            ScaleError::NotLeader => "not_leader",
            ScaleError::Conflict(_) => "conflict",
            ScaleError::Api { source, .. } => crate::error_label(source),
        }
    }
}

/// The merge patch body. Pure.
pub fn scale_patch(replicas: u32, resource_version: Option<&str>) -> Value {
    let mut body = json!({ "spec": { "replicas": replicas } });
    if let Some(rv) = resource_version {
        body["metadata"] = json!({ "resourceVersion": rv });
    }
    body
}

/// Sets `spec.replicas` of the scale subresource if it differs.
pub async fn scale_to(api: &Api<Deployment>, name: &str, replicas: u32) -> Result<ScaleOutcome, ScaleError> {
    let api_err = |source| ScaleError::Api {
        name: name.to_string(),
        source,
    };
    for _ in 0..CONFLICT_ATTEMPTS {
        let current = api.get_scale(name).await.map_err(api_err)?;
        let from = current
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .map_or(0, |r| u32::try_from(r).unwrap_or(0));
        if from == replicas {
            return Ok(ScaleOutcome::Unchanged { replicas });
        }
        let body = scale_patch(replicas, current.metadata.resource_version.as_deref());
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        match api.patch_scale(name, &params, &Patch::Merge(&body)).await {
            Ok(_) => return Ok(ScaleOutcome::Changed { from, to: replicas }),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                tracing::debug!(deployment = name, "scale conflict; re-reading");
            }
            Err(e) => return Err(api_err(e)),
        }
    }
    Err(ScaleError::Conflict(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_body() {
        assert_eq!(
            scale_patch(7, Some("48213")),
            json!({"spec": {"replicas": 7}, "metadata": {"resourceVersion": "48213"}})
        );
        assert_eq!(scale_patch(0, None), json!({"spec": {"replicas": 0}}));
    }
}
