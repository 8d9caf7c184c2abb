//! `imagePullSecrets` (dockerconfigjson / dockercfg) → image registry credentials.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1 as k8s;
use serde::Deserialize;

use super::error::{TranslateError, invalid, unresolved};
use super::resolve::{ValueResolver, secret_entries};
use crate::model::{ImageRegistryCredential, SecureString};

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize, Default)]
struct DockerAuth {
    username: Option<String>,
    password: Option<String>,
    auth: Option<String>,
}

pub(crate) fn credentials(
    spec: &k8s::PodSpec,
    resolver: &dyn ValueResolver,
) -> Result<Vec<ImageRegistryCredential>, TranslateError> {
    let mut out: Vec<ImageRegistryCredential> = Vec::new();
    for (i, r) in spec.image_pull_secrets.iter().flatten().enumerate() {
        let path = format!("spec.imagePullSecrets[{i}]");
        let secret = resolver
            .secret(&r.name)
            .map_err(|e| unresolved(&path, e))?
            .ok_or_else(|| unresolved(&path, format!("Secret {:?} not found", r.name)))?;
        let entries = secret_entries(&secret);
        let auths: BTreeMap<String, DockerAuth> = if let Some(raw) = entries.get(".dockerconfigjson") {
            serde_json::from_slice::<DockerConfig>(raw)
                .map_err(|e| invalid(&path, format!("Secret {:?}: .dockerconfigjson: {e}", r.name)))?
                .auths
        } else if let Some(raw) = entries.get(".dockercfg") {
            serde_json::from_slice(raw)
                .map_err(|e| invalid(&path, format!("Secret {:?}: .dockercfg: {e}", r.name)))?
        } else {
            return Err(invalid(
                &path,
                format!(
                    "Secret {:?} is not of type kubernetes.io/dockerconfigjson or dockercfg",
                    r.name
                ),
            ));
        };
        for (registry, auth) in auths {
            let (username, password) = user_pass(&auth).ok_or_else(|| {
                invalid(
                    &path,
                    format!("Secret {:?}: no credentials for {registry:?}", r.name),
                )
            })?;
            let server = server_of(&registry);
            if out.iter().any(|c| c.server == server) {
                continue; // the first secret naming a registry wins, as for kubelet
            }
            out.push(ImageRegistryCredential {
                server,
                username: Some(username),
                password: Some(SecureString::new(password)),
                ..Default::default()
            });
        }
    }
    Ok(out)
}

fn user_pass(a: &DockerAuth) -> Option<(String, String)> {
    if let (Some(u), Some(p)) = (&a.username, &a.password) {
        return Some((u.clone(), p.clone()));
    }
    let decoded = STANDARD.decode(a.auth.as_deref()?.trim()).ok()?;
    let s = String::from_utf8(decoded).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// `https://index.docker.io/v1/` → `index.docker.io` (ACI wants no scheme).
fn server_of(key: &str) -> String {
    let s = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    s.split('/').next().unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_and_auth_forms() {
        assert_eq!(server_of("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(server_of("myacr.azurecr.io"), "myacr.azurecr.io");
        let a = DockerAuth {
            auth: Some(STANDARD.encode("bob:pa:ss")),
            ..Default::default()
        };
        assert_eq!(user_pass(&a), Some(("bob".into(), "pa:ss".into())));
    }
}
