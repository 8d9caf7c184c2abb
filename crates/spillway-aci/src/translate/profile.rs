//! The pod template → a container group profile for a standby pool, and a
//! create that claims from that pool (issue 16). Both reuse [`super::translate`]:
//! the profile is the translated group without what a profile cannot hold
//! (`subnetIds`, which the pool carries, and `dnsConfig`), tagged as
//! Spillway's with the template hash it was made from.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k8s;

use super::{GroupSpec, TranslateError, ValueResolver, translate};
use crate::inventory::{ROLE_STANDBY, TAG_CLUSTER, TAG_POLICY, TAG_ROLE, TAG_TEMPLATE_HASH};
use crate::model::{
    ContainerGroup, ContainerGroupProfile, ProfileProperties, ProfileReference, StandbyPoolReference,
};

/// Ownership tags of a profile or a pool: cluster, policy, template hash and
/// `spillway.io/role: standby` (so that no listing takes it, or an instance
/// that inherits its tags, for a burst replica).
pub fn standby_tags(cluster_id: &str, policy: &str, template_hash: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_CLUSTER.to_string(), cluster_id.to_string()),
        (TAG_POLICY.to_string(), policy.to_string()),
        (TAG_TEMPLATE_HASH.to_string(), template_hash.to_string()),
        (TAG_ROLE.to_string(), ROLE_STANDBY.to_string()),
    ])
}

/// The profile body for `template` (`spec.ordinal` is irrelevant but for
/// values derived from the pod name, which a pooled instance cannot know).
pub fn profile(
    template: &k8s::PodTemplateSpec,
    spec: &GroupSpec,
    resolver: &dyn ValueResolver,
) -> Result<ContainerGroupProfile, TranslateError> {
    let translated = translate(template, spec, resolver)?;
    let mut group = translated.body.properties;
    group.subnet_ids.clear();
    group.extra.remove("dnsConfig");
    Ok(ContainerGroupProfile {
        location: Some(spec.location.clone()),
        tags: standby_tags(&spec.cluster_id, &spec.policy, &spec.template_hash),
        zones: translated.body.zones,
        properties: ProfileProperties {
            revision: None,
            registered_revisions: Vec::new(),
            group,
        },
        ..Default::default()
    })
}

/// Makes `body` a claim from the pool: it names the pool's profile (at the
/// revision the pool uses) and the pool. The full group stays in the body,
/// so that ACI's fallback (an ordinary create when the pool is empty) builds
/// the same group.
pub fn claim(body: &mut ContainerGroup, profile_id: String, revision: Option<i64>, pool_id: String) {
    body.properties.container_group_profile = Some(ProfileReference {
        id: profile_id,
        revision,
    });
    body.properties.standby_pool_profile = Some(StandbyPoolReference {
        id: pool_id,
        fail_container_group_create_on_reuse_failure: Some(false),
    });
}
