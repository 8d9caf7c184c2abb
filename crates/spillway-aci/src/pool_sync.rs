//! `BurstBackend::sync_pool` and `sweep_pools` over ARM (issue 16): the
//! profile and the pool are read every tick and written only where they
//! differ from the wish, so a crash between the profile's PUT and the
//! pool's PATCH is finished by the next tick. [`step`] is the pure part.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use spillway_controller::{PoolKeep, PoolObserved, PoolSync, SeamError};

use crate::AciClient;
use crate::error::AciError;
use crate::inventory::{ROLE_STANDBY, TAG_CLUSTER, TAG_POLICY, TAG_ROLE, TAG_TEMPLATE_HASH};
use crate::model::{
    DynamicSizing, ElasticityProfile, PoolGroupProperties, PoolSubnet, ProfileReference, StandbyPool,
    StandbyPoolPatch, StandbyPoolPatchProperties, StandbyPoolProperties,
};
use crate::translate::{self, GroupSpec, Network, profile::standby_tags};

/// The pool as read, reduced to what the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSeen {
    pub capacity: i64,
    pub revision: Option<i64>,
    /// `provisioningState`; `None` counts as Succeeded.
    pub state: Option<String>,
}

/// What to write to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Update,
    /// An operation on the pool is still running: look again next tick.
    Wait,
    InStep,
}

/// The pure decision for the pool, once the profile is current at `revision`.
pub fn step(seen: Option<&PoolSeen>, desired: u32, revision: Option<i64>) -> Step {
    let Some(p) = seen else { return Step::Create };
    match p.state.as_deref() {
        None => {}
        Some(s)
            if s.eq_ignore_ascii_case("Succeeded")
                || s.eq_ignore_ascii_case("Failed")
                || s.eq_ignore_ascii_case("Canceled") => {}
        Some(_) => return Step::Wait,
    }
    let failed = p
        .state
        .as_deref()
        .is_some_and(|s| !s.eq_ignore_ascii_case("Succeeded"));
    if failed || p.capacity != i64::from(desired) || (revision.is_some() && p.revision != revision) {
        Step::Update
    } else {
        Step::InStep
    }
}

fn seam(e: AciError) -> SeamError {
    SeamError::new(e.metric_label(), e)
}

fn seen(p: &StandbyPool) -> PoolSeen {
    PoolSeen {
        capacity: p.max_ready_capacity(),
        revision: p.profile().revision,
        state: p.properties.provisioning_state.clone(),
    }
}

pub(crate) async fn sync(
    client: &AciClient,
    req: PoolSync<'_, PodTemplateSpec>,
) -> Result<PoolObserved, SeamError> {
    let name = req.pool.name.as_str();
    let mut out = PoolObserved::default();
    // 1. The profile, on the current template.
    let profile = client.get_profile(name).await.map_err(seam)?;
    let current = profile.as_ref().is_some_and(|p| {
        p.tags
            .get(TAG_TEMPLATE_HASH)
            .is_some_and(|h| h == req.template_hash)
    });
    let mut revision = profile.as_ref().and_then(|p| p.properties.revision);
    if !current {
        if !req.write {
            return observe(client, name, out, None).await;
        }
        let spec = GroupSpec {
            cluster_id: req.cluster_id.to_string(),
            policy: req.policy.to_string(),
            ordinal: 0,
            template_hash: req.template_hash.to_string(),
            namespace: req.namespace.to_string(),
            location: req.location.to_string(),
            network: match req.subnet_id {
                Some(s) => Network::Private {
                    subnet_id: s.to_string(),
                },
                None => Network::Public { dns_name_label: None },
            },
            priority: req.priority,
            limits: None,
            zone: None,
            // A profile has no dnsConfig (validation refuses a pool with
            // `burst.dns`).
            cluster_dns: None,
        };
        let resolver = crate::backend::resolver_from(req.refs);
        let body = translate::profile::profile(req.template, &spec, &resolver)
            .map_err(|e| SeamError::new(e.metric_label(), e))?;
        let written = client.put_profile(name, &body).await.map_err(seam)?;
        revision = written.properties.revision;
        out.wrote.push("profile");
        tracing::info!(
            pool = name,
            ?revision,
            "container group profile written for the current template"
        );
    }
    // 2. The pool, on that revision, at the wanted size.
    let pool = client.get_pool(name).await.map_err(seam)?;
    let want_revision = revision;
    let decision = step(pool.as_ref().map(seen).as_ref(), req.desired, want_revision);
    let mut pool_state = pool.clone();
    if req.write {
        let group_properties = PoolGroupProperties {
            container_group_profile: ProfileReference {
                id: client.profile_id(name),
                revision: want_revision,
            },
            subnet_ids: req
                .subnet_id
                .map(|id| vec![PoolSubnet { id: id.to_string() }])
                .unwrap_or_default(),
        };
        let elasticity = ElasticityProfile {
            max_ready_capacity: i64::from(req.desired),
            refill_policy: Some("always".into()),
            dynamic_sizing: Some(DynamicSizing { enabled: false }),
        };
        match decision {
            Step::Create => {
                let body = StandbyPool {
                    location: Some(req.location.to_string()),
                    tags: standby_tags(req.cluster_id, req.policy, req.template_hash),
                    properties: StandbyPoolProperties {
                        elasticity_profile: elasticity,
                        container_group_properties: group_properties,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let accepted = client.begin_put_pool(name, &body).await.map_err(seam)?;
                pool_state = Some(accepted.pool.unwrap_or(body));
                out.wrote.push("pool_create");
                tracing::info!(pool = name, desired = req.desired, "standby pool created");
            }
            Step::Update => {
                let patch = StandbyPoolPatch {
                    tags: Some(standby_tags(req.cluster_id, req.policy, req.template_hash)),
                    properties: StandbyPoolPatchProperties {
                        elasticity_profile: Some(elasticity),
                        container_group_properties: Some(group_properties),
                    },
                };
                pool_state = Some(client.patch_pool(name, &patch).await.map_err(seam)?);
                out.wrote.push("pool_update");
                tracing::info!(
                    pool = name,
                    desired = req.desired,
                    ?want_revision,
                    "standby pool updated"
                );
            }
            Step::Wait | Step::InStep => {}
        }
    }
    if let Some(p) = &pool_state {
        out.exists = true;
        out.max_ready_capacity = u32::try_from(p.max_ready_capacity().max(0)).unwrap_or(u32::MAX);
        out.revision = p.profile().revision;
        out.provisioning_state = p.properties.provisioning_state.clone();
        let settled = step(Some(&seen(p)), req.desired, want_revision);
        out.in_step = current || out.wrote.contains(&"profile");
        out.in_step &= matches!(settled, Step::InStep | Step::Wait) && out.revision == want_revision;
    }
    observe(client, name, out, pool_state.as_ref()).await
}

/// Adds the runtime view's counts.
async fn observe(
    client: &AciClient,
    name: &str,
    mut out: PoolObserved,
    pool: Option<&StandbyPool>,
) -> Result<PoolObserved, SeamError> {
    if pool.is_none() && !out.exists {
        return Ok(out);
    }
    if let Some(view) = client.pool_runtime_view(name).await.map_err(seam)? {
        let c = view.counts();
        out.ready = c.running;
        out.creating = c.creating;
    }
    Ok(out)
}

fn ours<'a>(tags: &'a std::collections::BTreeMap<String, String>, cluster_id: &str) -> Option<&'a str> {
    let cluster = tags.get(TAG_CLUSTER)?;
    let role = tags.get(TAG_ROLE)?;
    (cluster == cluster_id && role == ROLE_STANDBY).then(|| tags.get(TAG_POLICY).map_or("", String::as_str))
}

fn kept(keep: &PoolKeep, policy: &str, name: &str) -> bool {
    match keep.get(policy) {
        None => false,
        Some(None) => true,
        Some(Some(n)) => n == name,
    }
}

pub(crate) async fn sweep(
    client: &AciClient,
    cluster_id: &str,
    keep: &PoolKeep,
) -> Result<Vec<String>, SeamError> {
    let mut deleted = Vec::new();
    let pools = client.list_pools().await.map_err(seam)?;
    let mut live = BTreeSet::new();
    for p in &pools {
        let Some(name) = p.name.clone() else { continue };
        live.insert(name.clone());
        let Some(policy) = ours(&p.tags, cluster_id) else {
            continue;
        };
        if kept(keep, policy, &name) {
            continue;
        }
        if p.properties
            .provisioning_state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("Deleting"))
        {
            continue;
        }
        tracing::info!(pool = %name, policy, "deleting standby pool (its policy or pool is gone from the configuration)");
        client.begin_delete_pool(&name).await.map_err(seam)?;
        deleted.push(format!("pool/{name}"));
    }
    // A profile goes once no pool of its name is left (the pool uses it).
    for prof in client.list_profiles().await.map_err(seam)? {
        let Some(name) = prof.name.clone() else { continue };
        let Some(policy) = ours(&prof.tags, cluster_id) else {
            continue;
        };
        if kept(keep, policy, &name) || live.contains(&name) {
            continue;
        }
        tracing::info!(profile = %name, policy, "deleting container group profile of a removed standby pool");
        client.delete_profile(&name).await.map_err(seam)?;
        deleted.push(format!("profile/{name}"));
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(capacity: i64, revision: i64, state: &str) -> PoolSeen {
        PoolSeen {
            capacity,
            revision: Some(revision),
            state: Some(state.into()),
        }
    }

    #[test]
    fn steps() {
        assert_eq!(step(None, 3, Some(1)), Step::Create);
        assert_eq!(step(Some(&seen(3, 1, "Succeeded")), 3, Some(1)), Step::InStep);
        assert_eq!(step(Some(&seen(2, 1, "Succeeded")), 3, Some(1)), Step::Update);
        assert_eq!(
            step(Some(&seen(3, 1, "Succeeded")), 3, Some(2)),
            Step::Update,
            "new revision"
        );
        assert_eq!(step(Some(&seen(2, 1, "Updating")), 3, Some(2)), Step::Wait);
        assert_eq!(
            step(Some(&seen(3, 1, "Failed")), 3, Some(1)),
            Step::Update,
            "a failed pool is rewritten"
        );
    }

    #[test]
    fn keep_rules() {
        let keep = PoolKeep::from([
            ("web".to_string(), Some("c-web".to_string())),
            ("bad".to_string(), None),
        ]);
        assert!(kept(&keep, "web", "c-web"));
        assert!(!kept(&keep, "web", "c-web-old"));
        assert!(kept(&keep, "bad", "anything"));
        assert!(!kept(&keep, "gone", "c-gone"));
    }
}
