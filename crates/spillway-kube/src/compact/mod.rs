//! Compact reflector objects: Pods and Nodes deserialized straight from the
//! watch JSON into only what the snapshot reads, with quantities already
//! parsed. A trimmed k8s-openapi `Pod` still costs ~2 KB in a store and its
//! fat parts (managedFields, env, statuses) are allocated before `trim`
//! drops them; these types never allocate the parts they skip.
//!
//! Both implement [`kube::Resource`] as their core/v1 kinds (`DynamicType =
//! ()`), so `Api::<CompactPod>::all(client)` and kube-runtime's watcher and
//! reflector work with them unchanged.

mod node;
mod pod;
mod wire;

pub use node::{Allocatable, CompactNode};
pub use pod::{CompactPod, ConditionStatus, PodConditions, PodPhase};

/// `kube::Resource` for a compact stand-in of a k8s-openapi kind: same
/// group, version, kind, plural and scope.
macro_rules! resource_as {
    ($compact:ty, $k8s:ty) => {
        impl kube::Resource for $compact {
            type DynamicType = ();
            type Scope = <$k8s as k8s_openapi::Resource>::Scope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                <$k8s as k8s_openapi::Resource>::KIND.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                <$k8s as k8s_openapi::Resource>::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                <$k8s as k8s_openapi::Resource>::VERSION.into()
            }
            fn api_version(_: &()) -> std::borrow::Cow<'_, str> {
                <$k8s as k8s_openapi::Resource>::API_VERSION.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                <$k8s as k8s_openapi::Resource>::URL_PATH_SEGMENT.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

resource_as!(CompactPod, k8s_openapi::api::core::v1::Pod);
resource_as!(CompactNode, k8s_openapi::api::core::v1::Node);

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use kube::Resource;

    #[test]
    fn resource_identity_matches_k8s_openapi() {
        assert_eq!(
            CompactPod::url_path(&(), Some("shop")),
            Pod::url_path(&(), Some("shop"))
        );
        assert_eq!(CompactPod::url_path(&(), None), "/api/v1/pods");
        assert_eq!(CompactNode::url_path(&(), None), Node::url_path(&(), None));
        assert_eq!(CompactPod::kind(&()), "Pod");
        assert_eq!(CompactNode::api_version(&()), "v1");
    }
}
