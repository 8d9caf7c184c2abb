//! Pod volumes → ACI volumes: `emptyDir`, and `secret`/`configMap` as ACI
//! secret volumes (files from base64 content). Everything else is an error.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1 as k8s;

use super::error::{TranslateError, invalid, too_large, unresolved, unsupported};
use super::resolve::{ValueResolver, config_map_entries, secret_entries};
use crate::model::{SecureString, Volume, VolumeMount};

const MAX_VOLUMES: usize = 20;
/// What the API server fills in for `defaultMode`.
const DEFAULT_MODE: i32 = 0o644;

pub(crate) fn volumes(
    spec: &k8s::PodSpec,
    resolver: &dyn ValueResolver,
) -> Result<Vec<Volume>, TranslateError> {
    let list = spec.volumes.as_deref().unwrap_or_default();
    if list.len() > MAX_VOLUMES {
        return Err(too_large(
            "spec.volumes",
            format!("{} volumes; ACI allows {MAX_VOLUMES}", list.len()),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, v)| volume(v, &format!("spec.volumes[{i}]"), resolver))
        .collect()
}

fn volume(v: &k8s::Volume, path: &str, resolver: &dyn ValueResolver) -> Result<Volume, TranslateError> {
    let mut out = Volume {
        name: v.name.clone(),
        ..Default::default()
    };
    if let Some(e) = &v.empty_dir {
        if e.medium.as_deref().is_some_and(|m| !m.is_empty()) {
            return Err(unsupported(
                format!("{path}.emptyDir.medium"),
                "ACI emptyDir has no medium",
            ));
        }
        if e.size_limit.is_some() {
            return Err(unsupported(
                format!("{path}.emptyDir.sizeLimit"),
                "ACI emptyDir has no size limit",
            ));
        }
        out.empty_dir = Some(serde_json::json!({}));
        return Ok(out);
    }
    if let Some(s) = &v.secret {
        let p = format!("{path}.secret");
        check_modes(s.default_mode, s.items.as_deref(), &p)?;
        let name = s.secret_name.clone().unwrap_or_default();
        let entries = match resolver.secret(&name).map_err(|e| unresolved(&p, e))? {
            Some(found) => secret_entries(&found),
            None if s.optional == Some(true) => BTreeMap::new(),
            None => return Err(unresolved(p, format!("Secret {name:?} not found"))),
        };
        out.secret = Some(files(entries, s.items.as_deref(), &p)?);
        return Ok(out);
    }
    if let Some(c) = &v.config_map {
        let p = format!("{path}.configMap");
        check_modes(c.default_mode, c.items.as_deref(), &p)?;
        let entries = match resolver.config_map(&c.name).map_err(|e| unresolved(&p, e))? {
            Some(found) => config_map_entries(&found),
            None if c.optional == Some(true) => BTreeMap::new(),
            None => return Err(unresolved(p, format!("ConfigMap {:?} not found", c.name))),
        };
        out.secret = Some(files(entries, c.items.as_deref(), &p)?);
        return Ok(out);
    }
    Err(unsupported(
        format!("{path}.{}", source_kind(v)),
        "only emptyDir, secret and configMap volumes can be expressed in ACI",
    ))
}

fn check_modes(
    default_mode: Option<i32>,
    items: Option<&[k8s::KeyToPath]>,
    path: &str,
) -> Result<(), TranslateError> {
    if default_mode.is_some_and(|m| m != DEFAULT_MODE) {
        return Err(unsupported(
            format!("{path}.defaultMode"),
            "ACI secret volumes have fixed file modes",
        ));
    }
    for (i, it) in items.into_iter().flatten().enumerate() {
        if it.mode.is_some() {
            return Err(unsupported(
                format!("{path}.items[{i}].mode"),
                "ACI secret volumes have fixed file modes",
            ));
        }
    }
    Ok(())
}

/// Files of an ACI secret volume: file name → base64 content.
fn files(
    mut entries: BTreeMap<String, Vec<u8>>,
    items: Option<&[k8s::KeyToPath]>,
    path: &str,
) -> Result<BTreeMap<String, SecureString>, TranslateError> {
    let selected: Vec<(String, Vec<u8>)> = match items {
        None => entries.into_iter().collect(),
        Some(items) => {
            let mut v = Vec::new();
            for (i, it) in items.iter().enumerate() {
                if it.path.contains('/') {
                    return Err(unsupported(
                        format!("{path}.items[{i}].path"),
                        "ACI secret volumes are flat: no sub-directories",
                    ));
                }
                let data = entries.remove(&it.key).ok_or_else(|| {
                    unresolved(format!("{path}.items[{i}].key"), format!("no key {:?}", it.key))
                })?;
                v.push((it.path.clone(), data));
            }
            v
        }
    };
    Ok(selected
        .into_iter()
        .map(|(k, v)| (k, SecureString::new(STANDARD.encode(v))))
        .collect())
}

fn source_kind(v: &k8s::Volume) -> &'static str {
    let value = serde_json::to_value(v).unwrap_or_default();
    const KINDS: &[&str] = &[
        "hostPath",
        "persistentVolumeClaim",
        "projected",
        "downwardAPI",
        "csi",
        "ephemeral",
        "nfs",
        "azureFile",
        "azureDisk",
        "image",
        "gitRepo",
        "iscsi",
        "cephfs",
        "cinder",
        "fc",
        "flexVolume",
        "flocker",
        "gcePersistentDisk",
        "glusterfs",
        "awsElasticBlockStore",
        "photonPersistentDisk",
        "portworxVolume",
        "quobyte",
        "rbd",
        "scaleIO",
        "storageos",
        "vsphereVolume",
    ];
    KINDS
        .iter()
        .find(|k| value.get(**k).is_some())
        .copied()
        .unwrap_or("source")
}

/// Mounts of one container; every name must be a declared volume.
pub(crate) fn mounts(
    c: &k8s::Container,
    path: &str,
    declared: &[Volume],
) -> Result<Vec<VolumeMount>, TranslateError> {
    c.volume_mounts
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, m)| {
            let p = format!("{path}.volumeMounts[{i}]");
            if m.sub_path.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(unsupported(
                    format!("{p}.subPath"),
                    "ACI mounts whole volumes only",
                ));
            }
            if m.sub_path_expr.as_deref().is_some_and(|s| !s.is_empty()) {
                return Err(unsupported(
                    format!("{p}.subPathExpr"),
                    "ACI mounts whole volumes only",
                ));
            }
            if m.mount_propagation.as_deref().is_some_and(|s| s != "None") {
                return Err(unsupported(
                    format!("{p}.mountPropagation"),
                    "ACI has no mount propagation",
                ));
            }
            if m.mount_path.contains(':') {
                return Err(invalid(
                    format!("{p}.mountPath"),
                    "ACI mount paths must not contain ':'",
                ));
            }
            if !declared.iter().any(|v| v.name == m.name) {
                return Err(invalid(
                    format!("{p}.name"),
                    format!("no volume named {:?}", m.name),
                ));
            }
            Ok(VolumeMount {
                name: m.name.clone(),
                mount_path: m.mount_path.clone(),
                read_only: m.read_only,
            })
        })
        .collect()
}
