//! The standby pool's operation resources: `…/Microsoft.StandbyPool/locations/{loc}/operationStatuses/{id}`
//! (always 200 with a `status`) and `…/operationResults/{id}` (202 while running, then the final
//! answer: 204 for a delete, the pool for a create or update).

use std::time::Duration;

use http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::{ArmRequest, ArmResponse, Engine, GroupKey};
use crate::error::ArmError;

/// A pool's long-running operation.
#[derive(Debug, Clone)]
pub(crate) struct PoolOp {
    pub resource_id: String,
    pub location: String,
    pub pool: GroupKey,
    pub started: Timestamp,
    pub done_at: Timestamp,
    pub delete: bool,
}

pub(super) fn after(now: Timestamp, d: Duration) -> Timestamp {
    now.checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

impl Engine {
    pub(super) fn pool_op_urls(
        &self,
        req: &ArmRequest,
        sub: &str,
        region: &str,
        op: &str,
    ) -> (String, String) {
        let version = req
            .query
            .iter()
            .find(|(k, _)| k == "api-version")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let prefix = format!(
            "{}/subscriptions/{sub}/providers/Microsoft.StandbyPool/locations/{region}",
            req.base_url
        );
        (
            format!("{prefix}/operationStatuses/{op}?api-version={version}"),
            format!("{prefix}/operationResults/{op}?api-version={version}"),
        )
    }

    pub(super) fn retry_after(&self) -> String {
        self.settings.lro_retry_after.unwrap_or(1).to_string()
    }

    pub(super) fn pool_operation(
        &self,
        req: &ArmRequest,
        id: &str,
        result: bool,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let op = self.pool_ops.get(id).ok_or_else(|| {
            ArmError::new(
                StatusCode::NOT_FOUND,
                "OperationNotFound",
                format!("The operation '{id}' could not be found."),
            )
        })?;
        let done = now >= op.done_at;
        if result {
            if !done {
                return Ok(ArmResponse::empty(StatusCode::ACCEPTED)
                    .header(
                        "location",
                        format!("{}{}?{}", req.base_url, req.path, query_string(req)),
                    )
                    .header("retry-after", self.retry_after()));
            }
            if op.delete {
                return Ok(ArmResponse::empty(StatusCode::NO_CONTENT));
            }
            let p = self
                .pools
                .get(&op.pool)
                .ok_or_else(|| Self::pool_not_found(&op.pool.1, &op.pool.2))?;
            return Ok(ArmResponse::json(StatusCode::OK, p.render()));
        }
        let mut body = json!({
            "id": format!("/subscriptions/{}/providers/Microsoft.StandbyPool/locations/{}/operationStatuses/{id}", op.pool.0, op.location),
            "name": id,
            "resourceId": op.resource_id,
            "status": if done { "Succeeded" } else { "InProgress" },
            "startTime": op.started.to_string(),
        });
        if done && let Some(o) = body.as_object_mut() {
            o.insert("endTime".into(), json!(op.done_at.to_string()));
        }
        let mut resp = ArmResponse::json(StatusCode::OK, body);
        if !done {
            resp = resp.header("retry-after", self.retry_after());
        }
        Ok(resp)
    }
}

fn query_string(req: &ArmRequest) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(req.query.iter())
        .finish()
}
