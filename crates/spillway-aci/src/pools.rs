//! Container group profiles (`Microsoft.ContainerInstance/containerGroupProfiles`,
//! api-version 2026-05-01) and standby container group pools
//! (`Microsoft.StandbyPool/standbyContainerGroupPools`, 2026-04-01) over the
//! same transport as container groups: the same token, retries, concurrency
//! bounds and write fencing. Pool writes do not spend the container-group
//! create/delete budget (they are other resources), and nothing here waits
//! for a long-running operation: the controller GETs the pool every tick
//! and sees where it is (`provisioningState`), so a crash mid-update is
//! picked up from ARM, not from local state.

use std::collections::HashSet;

use reqwest::Method;
use serde::Serialize;
use url::Url;

use crate::DeleteOutcome;
use crate::client::AciClient;
use crate::config::STANDBY_POOL_API_VERSION;
use crate::error::AciError;
use crate::model::{
    ContainerGroupProfile, PoolRuntimeView, ProfileList, StandbyPool, StandbyPoolList, StandbyPoolPatch,
};
use crate::observer::Operation;
use crate::retry::RetryMode;
use crate::transport::{Call, Lane, parse_body, same_origin_link};

const ACI: &str = "Microsoft.ContainerInstance";
const STANDBY: &str = "Microsoft.StandbyPool";
const PROFILES: &str = "containerGroupProfiles";
const POOLS: &str = "standbyContainerGroupPools";
const MAX_PAGES: usize = 1000;

/// ARM's rule for profile names (`ContainerGroupProfileNameParameter`).
pub fn profile_name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    (!ok).then(|| format!("container group profile name {name:?} must be 1 to 63 letters, digits, '-' or '_', starting and ending with a letter or digit"))
}

/// ARM's rule for pool names (`^[a-zA-Z0-9-]{3,24}$`).
pub fn pool_name_problem(name: &str) -> Option<String> {
    let ok = (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (!ok).then(|| format!("standby pool name {name:?} must be 3 to 24 letters, digits or '-'"))
}

fn check(problem: Option<String>) -> Result<(), AciError> {
    problem.map_or(Ok(()), |p| Err(AciError::InvalidArgument(p)))
}

/// How a pool write ended.
#[derive(Debug, Clone)]
pub struct PoolAccepted {
    /// 200 or 201.
    pub status: u16,
    /// The body ARM answered with, when readable.
    pub pool: Option<StandbyPool>,
}

impl AciClient {
    /// `{endpoint}/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{tail}?api-version=`.
    fn resource_url(&self, provider: &str, api_version: &str, tail: &[&str]) -> Result<Url, AciError> {
        let cfg = self.config();
        let mut u = cfg.endpoint.clone();
        {
            let mut seg = u.path_segments_mut().map_err(|_| {
                AciError::InvalidArgument(format!("ARM endpoint {} cannot take a path", cfg.endpoint))
            })?;
            seg.pop_if_empty();
            seg.extend([
                "subscriptions",
                &cfg.subscription_id,
                "resourceGroups",
                &cfg.resource_group,
            ]);
            seg.extend(["providers", provider]);
            seg.extend(tail);
        }
        u.query_pairs_mut().append_pair("api-version", api_version);
        Ok(u)
    }

    fn profile_url(&self, name: &str, tail: &[&str]) -> Result<Url, AciError> {
        check(profile_name_problem(name))?;
        let api = self.config().api_version.clone();
        let mut parts = vec![PROFILES, name];
        parts.extend(tail);
        self.resource_url(ACI, &api, &parts)
    }

    fn pool_url(&self, name: &str, tail: &[&str]) -> Result<Url, AciError> {
        check(pool_name_problem(name))?;
        let mut parts = vec![POOLS, name];
        parts.extend(tail);
        self.resource_url(STANDBY, STANDBY_POOL_API_VERSION, &parts)
    }

    /// The ARM id of a profile (what a pool and a claim reference).
    pub fn profile_id(&self, name: &str) -> String {
        let cfg = self.config();
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{ACI}/{PROFILES}/{name}",
            cfg.subscription_id, cfg.resource_group
        )
    }

    /// The ARM id of a standby pool.
    pub fn pool_id(&self, name: &str) -> String {
        let cfg = self.config();
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{STANDBY}/{POOLS}/{name}",
            cfg.subscription_id, cfg.resource_group
        )
    }

    fn write_call<'a>(&self, op: Operation, method: Method, url: Url, body: Option<&'a [u8]>) -> Call<'a> {
        // Profile and pool PUT/PATCH carry the whole wanted state: sending
        // one again is harmless, so they retry as DELETE does.
        Call {
            op,
            method,
            url,
            body,
            lane: Lane::Write,
            mode: RetryMode::Idempotent,
        }
    }

    fn read_call(&self, op: Operation, url: Url) -> Call<'static> {
        Call {
            op,
            method: Method::GET,
            url,
            body: None,
            lane: Lane::Read,
            mode: RetryMode::Idempotent,
        }
    }

    async fn get_opt<T: serde::de::DeserializeOwned>(
        &self,
        op: Operation,
        url: Url,
        what: &str,
    ) -> Result<Option<T>, AciError> {
        match self.transport().send(&self.read_call(op, url)).await {
            Ok(reply) => parse_body(&reply, what, "properties").map(Some),
            Err(f) if f.status == Some(404) => Ok(None),
            Err(f) => Err(f.err),
        }
    }

    async fn delete_at(&self, op: Operation, url: Url) -> Result<DeleteOutcome, AciError> {
        match self
            .transport()
            .send(&self.write_call(op, Method::DELETE, url, None))
            .await
        {
            Ok(reply) => Ok(match reply.status {
                204 => DeleteOutcome::AlreadyGone,
                202 => DeleteOutcome::InProgress,
                _ => DeleteOutcome::Deleted,
            }),
            Err(f) if f.status == Some(404) => Ok(DeleteOutcome::AlreadyGone),
            Err(f) => Err(f.err),
        }
    }

    /// `CGProfile_CreateOrUpdate` (synchronous: 200/201). Every change of
    /// the body makes a new revision; the answer carries it.
    #[tracing::instrument(skip(self, body), level = "debug")]
    pub async fn put_profile(
        &self,
        name: &str,
        body: &ContainerGroupProfile,
    ) -> Result<ContainerGroupProfile, AciError> {
        let url = self.profile_url(name, &[])?;
        let bytes = json(body)?;
        let reply = self
            .transport()
            .send(&self.write_call(Operation::ProfileWrite, Method::PUT, url, Some(&bytes)))
            .await
            .map_err(|f| f.err)?;
        parse_body(&reply, "container group profile", "properties")
    }

    /// `CGProfile_Get`; `None` on 404.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get_profile(&self, name: &str) -> Result<Option<ContainerGroupProfile>, AciError> {
        let url = self.profile_url(name, &[])?;
        self.get_opt(Operation::ProfileRead, url, "container group profile")
            .await
    }

    /// `CGProfile_ListAllRevisions`, following `nextLink`.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn list_profile_revisions(&self, name: &str) -> Result<Vec<ContainerGroupProfile>, AciError> {
        let url = self.profile_url(name, &["revisions"])?;
        let pages: Vec<ProfileList> = self
            .pages(Operation::ProfileRead, url, "profile revisions")
            .await?;
        Ok(pages.into_iter().flat_map(|p| p.value).collect())
    }

    /// `CGProfile_ListByResourceGroup`, following `nextLink`.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn list_profiles(&self) -> Result<Vec<ContainerGroupProfile>, AciError> {
        let api = self.config().api_version.clone();
        let url = self.resource_url(ACI, &api, &[PROFILES])?;
        let pages: Vec<ProfileList> = self.pages(Operation::ProfileRead, url, "profile list").await?;
        Ok(pages.into_iter().flat_map(|p| p.value).collect())
    }

    /// `CGProfile_Delete` (200/204; 404 is success).
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn delete_profile(&self, name: &str) -> Result<DeleteOutcome, AciError> {
        let url = self.profile_url(name, &[])?;
        self.delete_at(Operation::ProfileWrite, url).await
    }

    /// `StandbyContainerGroupPools_CreateOrUpdate`: a long-running PUT that
    /// is not followed here (the next GET shows `provisioningState`).
    #[tracing::instrument(skip(self, body), level = "debug")]
    pub async fn begin_put_pool(&self, name: &str, body: &StandbyPool) -> Result<PoolAccepted, AciError> {
        let url = self.pool_url(name, &[])?;
        let bytes = json(body)?;
        let reply = self
            .transport()
            .send(&self.write_call(Operation::PoolWrite, Method::PUT, url, Some(&bytes)))
            .await
            .map_err(|f| f.err)?;
        Ok(PoolAccepted {
            status: reply.status,
            pool: parse_body(&reply, "standby pool", "properties").ok(),
        })
    }

    /// `StandbyContainerGroupPools_Update` (PATCH, 200).
    #[tracing::instrument(skip(self, patch), level = "debug")]
    pub async fn patch_pool(&self, name: &str, patch: &StandbyPoolPatch) -> Result<StandbyPool, AciError> {
        let url = self.pool_url(name, &[])?;
        let bytes = json(patch)?;
        let reply = self
            .transport()
            .send(&self.write_call(Operation::PoolWrite, Method::PATCH, url, Some(&bytes)))
            .await
            .map_err(|f| f.err)?;
        parse_body(&reply, "standby pool", "properties")
    }

    /// `StandbyContainerGroupPools_Get`; `None` on 404.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn get_pool(&self, name: &str) -> Result<Option<StandbyPool>, AciError> {
        let url = self.pool_url(name, &[])?;
        self.get_opt(Operation::PoolRead, url, "standby pool").await
    }

    /// `StandbyContainerGroupPools_ListByResourceGroup`, following `nextLink`.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn list_pools(&self) -> Result<Vec<StandbyPool>, AciError> {
        let url = self.resource_url(STANDBY, STANDBY_POOL_API_VERSION, &[POOLS])?;
        let pages: Vec<StandbyPoolList> = self.pages(Operation::PoolRead, url, "standby pool list").await?;
        Ok(pages.into_iter().flat_map(|p| p.value).collect())
    }

    /// `StandbyContainerGroupPools_Delete`: long-running (202), not
    /// followed; `InProgress` until a GET finds it gone.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn begin_delete_pool(&self, name: &str) -> Result<DeleteOutcome, AciError> {
        let url = self.pool_url(name, &[])?;
        self.delete_at(Operation::PoolWrite, url).await
    }

    /// `StandbyContainerGroupPoolRuntimeViews_Get` of `latest`; `None` on 404.
    #[tracing::instrument(skip(self), level = "debug")]
    pub async fn pool_runtime_view(&self, name: &str) -> Result<Option<PoolRuntimeView>, AciError> {
        let url = self.pool_url(name, &["runtimeViews", "latest"])?;
        self.get_opt(Operation::PoolRead, url, "standby pool runtime view")
            .await
    }

    async fn pages<P: serde::de::DeserializeOwned + HasNext>(
        &self,
        op: Operation,
        first: Url,
        what: &str,
    ) -> Result<Vec<P>, AciError> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(AciError::Malformed(format!("{what}: nextLink does not end")));
            }
            let reply = self
                .transport()
                .send(&self.read_call(op, url))
                .await
                .map_err(|f| f.err)?;
            let page: P = parse_body(&reply, what, "value")?;
            next = match page.next().map(str::trim) {
                Some(link) if !link.is_empty() => Some(same_origin_link(self.config(), link, "nextLink")?),
                _ => None,
            };
            out.push(page);
        }
        Ok(out)
    }
}

trait HasNext {
    fn next(&self) -> Option<&str>;
}

impl HasNext for ProfileList {
    fn next(&self) -> Option<&str> {
        self.next_link.as_deref()
    }
}

impl HasNext for StandbyPoolList {
    fn next(&self) -> Option<&str> {
        self.next_link.as_deref()
    }
}

fn json(body: &impl Serialize) -> Result<Vec<u8>, AciError> {
    serde_json::to_vec(body).map_err(|e| AciError::InvalidArgument(format!("body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(pool_name_problem("prod-weu-1-web"), None);
        assert!(pool_name_problem("ab").is_some());
        assert!(pool_name_problem(&"a".repeat(25)).is_some());
        assert!(pool_name_problem("a_b").is_some());
        assert_eq!(profile_name_problem("a_b-c"), None);
        assert!(profile_name_problem("-a").is_some());
    }
}
