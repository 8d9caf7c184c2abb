//! Listing with `nextLink` paging, and the start / stop / restart actions.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{ArmRequest, ArmResponse, Engine, Group, GroupKey, key, operations::OpKind};
use crate::{error::ArmError, route::GroupAction};

impl Engine {
    pub(super) fn list(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: Option<&String>,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let sub_l = sub.to_ascii_lowercase();
        let rg_l = rg.map(|r| r.to_ascii_lowercase());
        let token = req
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("$skipToken"))
            .map(|(_, v)| v.as_str());
        let after: Option<GroupKey> = match token {
            None => None,
            Some(t) => {
                let decoded = URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                let (r, n) = decoded
                    .as_deref()
                    .and_then(|d| d.split_once('/'))
                    .ok_or_else(|| {
                        ArmError::bad_request("InvalidSkipToken", format!("The skip token '{t}' is invalid."))
                    })?;
                Some((sub_l.clone(), r.to_owned(), n.to_owned()))
            }
        };
        let mut matching = self
            .groups
            .iter()
            .filter(|(k, _)| k.0 == sub_l && rg_l.as_ref().is_none_or(|r| &k.1 == r))
            .filter(|(k, _)| after.as_ref().is_none_or(|a| *k > a));
        let size = self.settings.page_size;
        let page: Vec<(&GroupKey, &Group)> = matching.by_ref().take(size).collect();
        let more = matching.next().is_some();
        let value: Vec<Value> = page.iter().map(|(_, g)| self.render(g, now, true)).collect();
        let mut body = Map::new();
        body.insert("value".into(), Value::Array(value));
        if more && let Some((last, _)) = page.last() {
            let token = URL_SAFE_NO_PAD.encode(format!("{}/{}", last.1, last.2));
            let version = req
                .query
                .iter()
                .find(|(k, _)| k == "api-version")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("api-version", &version)
                .append_pair("$skipToken", &token)
                .finish();
            body.insert(
                "nextLink".into(),
                json!(format!("{}{}?{query}", req.base_url, req.path)),
            );
        }
        Ok(ArmResponse::json(StatusCode::OK, Value::Object(body)))
    }

    pub(super) fn group_action(
        &mut self,
        req: &ArmRequest,
        sub: &str,
        rg: &str,
        name: &str,
        action: GroupAction,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let k = key(sub, rg, name);
        let g = self.groups.get(&k).ok_or_else(|| Self::not_found(rg, name))?;
        if g.deleting.is_some() {
            return Err(ArmError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!("The container group '{name}' is being deleted."),
            ));
        }
        let (stopped, spec, old_op, resource_id) =
            (g.stopped, g.spec.clone(), g.op_id.clone(), g.resource_id());
        let restart = match action {
            GroupAction::Stop => {
                if let Some(g) = self.groups.get_mut(&k) {
                    g.stopped = true;
                }
                return Ok(ArmResponse::empty(StatusCode::NO_CONTENT));
            }
            GroupAction::Start if !stopped => return Ok(ArmResponse::empty(StatusCode::NO_CONTENT)),
            GroupAction::Start => StatusCode::ACCEPTED,
            GroupAction::Restart => StatusCode::NO_CONTENT,
        };
        self.freeze_op(&old_op, now);
        let timeline = self.new_timeline(&spec, name, now);
        let op = self.guid();
        if let Some(g) = self.groups.get_mut(&k) {
            g.timeline = timeline;
            g.stopped = false;
            g.op_id = op.clone();
        }
        self.register_op(&op, OpKind::Create, k, resource_id, now, None);
        Ok(self.with_lro_headers(ArmResponse::empty(restart), req, sub, &spec.region, &op))
    }
}
