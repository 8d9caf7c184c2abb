//! Routing of container group profile, standby pool and runtime view requests.

use http::Method;
use jiff::Timestamp;

use super::{ArmRequest, ArmResponse, Engine};
use crate::{error::ArmError, route::ArmRoute};

impl Engine {
    /// Profiles, pools and runtime views.
    pub(super) fn dispatch_standby(
        &mut self,
        req: &ArmRequest,
        route: &ArmRoute,
        now: Timestamp,
    ) -> Result<ArmResponse, ArmError> {
        let m = &req.method;
        match route {
            ArmRoute::Profile { sub, rg, name } => match *m {
                Method::PUT => self.put_profile(req, sub, rg, name, now),
                Method::GET => self.get_profile(sub, rg, name),
                Method::PATCH => self.patch_profile(req, sub, rg, name),
                Method::DELETE => Ok(self.delete_profile(sub, rg, name)),
                _ => Err(ArmError::method_not_allowed(m.as_str())),
            },
            ArmRoute::ProfileList { sub, rg } if *m == Method::GET => {
                self.list_profiles(req, sub, rg.as_ref())
            }
            ArmRoute::ProfileRevisions {
                sub,
                rg,
                name,
                revision,
            } if *m == Method::GET => self.profile_revisions(req, sub, rg, name, revision.as_ref()),
            ArmRoute::Pool { sub, rg, name } => match *m {
                Method::PUT => self.put_pool(req, sub, rg, name, now),
                Method::GET => self.get_pool(sub, rg, name),
                Method::PATCH => self.patch_pool(req, sub, rg, name, now),
                Method::DELETE => self.delete_pool(req, sub, rg, name, now),
                _ => Err(ArmError::method_not_allowed(m.as_str())),
            },
            ArmRoute::PoolList { sub, rg } if *m == Method::GET => self.list_pools(req, sub, rg.as_ref()),
            ArmRoute::RuntimeViews { sub, rg, name, view } if *m == Method::GET => {
                self.runtime_views(sub, rg, name, view.as_ref(), now)
            }
            ArmRoute::PoolOperation { id, result, .. } if *m == Method::GET => {
                self.pool_operation(req, id, *result, now)
            }
            _ => Err(ArmError::method_not_allowed(m.as_str())),
        }
    }
}
