//! ARM path parsing. ARM matches the literal segments case-insensitively, so this is a small
//! hand-written matcher instead of axum's case-sensitive router.

/// A recognised ARM path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmRoute {
    /// `…/resourceGroups/{rg}/providers/Microsoft.ContainerInstance/containerGroups`
    ListByResourceGroup { sub: String, rg: String },
    /// `/subscriptions/{sub}/providers/Microsoft.ContainerInstance/containerGroups`
    ListBySubscription { sub: String },
    /// `…/containerGroups/{name}`
    Group { sub: String, rg: String, name: String },
    /// `…/containerGroups/{name}/{start|stop|restart}`
    GroupAction {
        sub: String,
        rg: String,
        name: String,
        action: GroupAction,
    },
    /// `…/containerGroups/{name}/containers/{container}/logs`
    Logs {
        sub: String,
        rg: String,
        name: String,
        container: String,
    },
    /// `/subscriptions/{sub}/providers/Microsoft.ContainerInstance`: `Providers_Get`
    /// (`Microsoft.Resources`), the provider's resource types with their locations and zones.
    ResourceProvider { sub: String },
    /// `/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{loc}/usages`
    Usages { sub: String, location: String },
    /// `/subscriptions/{sub}/providers/Microsoft.ContainerInstance/locations/{loc}/capabilities`
    Capabilities { sub: String, location: String },
    /// `…/locations/{loc}/operations/{id}` (the `Azure-AsyncOperation` URL)
    OperationStatus {
        sub: String,
        location: String,
        id: String,
    },
    /// `…/locations/{loc}/operationResults/{id}` (the `Location` URL)
    OperationResult {
        sub: String,
        location: String,
        id: String,
    },
    /// `…/containerGroupProfiles` by resource group (`rg: Some`) or subscription.
    ProfileList { sub: String, rg: Option<String> },
    /// `…/containerGroupProfiles/{name}`
    Profile { sub: String, rg: String, name: String },
    /// `…/containerGroupProfiles/{name}/revisions[/{revision}]`
    ProfileRevisions {
        sub: String,
        rg: String,
        name: String,
        revision: Option<String>,
    },
    /// `…/Microsoft.StandbyPool/standbyContainerGroupPools` by resource group or subscription.
    PoolList { sub: String, rg: Option<String> },
    /// `…/standbyContainerGroupPools/{name}`
    Pool { sub: String, rg: String, name: String },
    /// `…/standbyContainerGroupPools/{name}/runtimeViews[/{view}]`
    RuntimeViews {
        sub: String,
        rg: String,
        name: String,
        view: Option<String>,
    },
    /// `/subscriptions/{sub}/providers/Microsoft.StandbyPool/locations/{loc}/operationStatuses/{id}`
    /// (`result: false`) or `…/operationResults/{id}` (`result: true`).
    PoolOperation {
        sub: String,
        location: String,
        id: String,
        result: bool,
    },
}

/// The resource provider a route belongs to (each has its own api-versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// `Microsoft.ContainerInstance`
    ContainerInstance,
    /// `Microsoft.StandbyPool`
    StandbyPool,
    /// `Microsoft.Resources` (the resource provider's own metadata)
    Resources,
}

/// Container group actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupAction {
    /// `POST …/start`
    Start,
    /// `POST …/stop`
    Stop,
    /// `POST …/restart`
    Restart,
}

const PROVIDER: &str = "microsoft.containerinstance";
const STANDBY: &str = "microsoft.standbypool";

fn lit(seg: &str, expected: &str) -> bool {
    seg.eq_ignore_ascii_case(expected)
}

impl ArmRoute {
    /// The subscription of the route.
    pub fn subscription(&self) -> &str {
        match self {
            ArmRoute::ListByResourceGroup { sub, .. }
            | ArmRoute::ListBySubscription { sub }
            | ArmRoute::ResourceProvider { sub }
            | ArmRoute::Group { sub, .. }
            | ArmRoute::GroupAction { sub, .. }
            | ArmRoute::Logs { sub, .. }
            | ArmRoute::Usages { sub, .. }
            | ArmRoute::Capabilities { sub, .. }
            | ArmRoute::OperationStatus { sub, .. }
            | ArmRoute::OperationResult { sub, .. }
            | ArmRoute::ProfileList { sub, .. }
            | ArmRoute::Profile { sub, .. }
            | ArmRoute::ProfileRevisions { sub, .. }
            | ArmRoute::PoolList { sub, .. }
            | ArmRoute::Pool { sub, .. }
            | ArmRoute::RuntimeViews { sub, .. }
            | ArmRoute::PoolOperation { sub, .. } => sub,
        }
    }

    /// The provider that serves the route.
    pub fn provider(&self) -> Provider {
        match self {
            ArmRoute::PoolList { .. }
            | ArmRoute::Pool { .. }
            | ArmRoute::RuntimeViews { .. }
            | ArmRoute::PoolOperation { .. } => Provider::StandbyPool,
            ArmRoute::ResourceProvider { .. } => Provider::Resources,
            _ => Provider::ContainerInstance,
        }
    }

    /// Operation-status routes accept any api-version (ACI embeds its own).
    pub fn is_operation(&self) -> bool {
        matches!(
            self,
            ArmRoute::OperationStatus { .. }
                | ArmRoute::OperationResult { .. }
                | ArmRoute::PoolOperation { .. }
        )
    }

    /// The ARM resource type named in errors (`Microsoft.ContainerInstance/containerGroups`, …).
    pub fn resource_type(&self) -> &'static str {
        match self {
            ArmRoute::ProfileList { .. } | ArmRoute::Profile { .. } | ArmRoute::ProfileRevisions { .. } => {
                "containerGroupProfiles"
            }
            ArmRoute::PoolList { .. } | ArmRoute::Pool { .. } | ArmRoute::PoolOperation { .. } => {
                "standbyContainerGroupPools"
            }
            ArmRoute::RuntimeViews { .. } => "standbyContainerGroupPools/runtimeViews",
            ArmRoute::ResourceProvider { .. } => "providers",
            _ => "containerGroups",
        }
    }

    /// Parses a request path (without query). `None` when it is not an ARM path we serve.
    pub fn parse(path: &str) -> Option<ArmRoute> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let s = |i: usize| segs.get(i).copied().unwrap_or_default().to_owned();
        if let Some(route) = Self::parse_profiles_and_pools(&segs) {
            return Some(route);
        }
        match segs.as_slice() {
            [a, _, b, _, c, p, d, rest @ ..]
                if lit(a, "subscriptions")
                    && lit(b, "resourceGroups")
                    && lit(c, "providers")
                    && lit(p, PROVIDER)
                    && lit(d, "containerGroups") =>
            {
                let (sub, rg) = (s(1), s(3));
                match rest {
                    [] => Some(ArmRoute::ListByResourceGroup { sub, rg }),
                    [name] => Some(ArmRoute::Group {
                        sub,
                        rg,
                        name: (*name).to_owned(),
                    }),
                    [name, action] => {
                        let action = match action.to_ascii_lowercase().as_str() {
                            "start" => GroupAction::Start,
                            "stop" => GroupAction::Stop,
                            "restart" => GroupAction::Restart,
                            _ => return None,
                        };
                        Some(ArmRoute::GroupAction {
                            sub,
                            rg,
                            name: (*name).to_owned(),
                            action,
                        })
                    }
                    [name, c, container, l] if lit(c, "containers") && lit(l, "logs") => {
                        Some(ArmRoute::Logs {
                            sub,
                            rg,
                            name: (*name).to_owned(),
                            container: (*container).to_owned(),
                        })
                    }
                    _ => None,
                }
            }
            [a, _, c, p, rest @ ..] if lit(a, "subscriptions") && lit(c, "providers") && lit(p, PROVIDER) => {
                let sub = s(1);
                match rest {
                    [] => Some(ArmRoute::ResourceProvider { sub }),
                    [d] if lit(d, "containerGroups") => Some(ArmRoute::ListBySubscription { sub }),
                    [l, loc, u] if lit(l, "locations") && lit(u, "usages") => Some(ArmRoute::Usages {
                        sub,
                        location: (*loc).to_owned(),
                    }),
                    [l, loc, u] if lit(l, "locations") && lit(u, "capabilities") => {
                        Some(ArmRoute::Capabilities {
                            sub,
                            location: (*loc).to_owned(),
                        })
                    }
                    [l, loc, o, id] if lit(l, "locations") && lit(o, "operations") => {
                        Some(ArmRoute::OperationStatus {
                            sub,
                            location: (*loc).to_owned(),
                            id: (*id).to_owned(),
                        })
                    }
                    [l, loc, o, id] if lit(l, "locations") && lit(o, "operationResults") => {
                        Some(ArmRoute::OperationResult {
                            sub,
                            location: (*loc).to_owned(),
                            id: (*id).to_owned(),
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// `(sub, rg, name)` of `/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider}/{type}/{name}`
/// (literal segments compared case-insensitively).
pub fn parse_resource_id(id: &str, provider: &str, resource_type: &str) -> Option<(String, String, String)> {
    let segs: Vec<&str> = id.trim_end_matches('/').split('/').skip(1).collect();
    match segs.as_slice() {
        [a, sub, b, rg, c, p, t, name]
            if lit(a, "subscriptions")
                && lit(b, "resourceGroups")
                && lit(c, "providers")
                && lit(p, provider)
                && lit(t, resource_type)
                && !name.is_empty() =>
        {
            Some(((*sub).to_owned(), (*rg).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

/// `(sub, rg, provider, rest)` of `/subscriptions/{sub}[/resourceGroups/{rg}]/providers/{provider}/…`.
fn split_scope<'a>(segs: &'a [&'a str]) -> Option<(String, Option<String>, &'a str, &'a [&'a str])> {
    match segs {
        [a, sub, b, rg, c, p, rest @ ..]
            if lit(a, "subscriptions") && lit(b, "resourceGroups") && lit(c, "providers") =>
        {
            Some(((*sub).to_owned(), Some((*rg).to_owned()), p, rest))
        }
        [a, sub, c, p, rest @ ..] if lit(a, "subscriptions") && lit(c, "providers") => {
            Some(((*sub).to_owned(), None, p, rest))
        }
        _ => None,
    }
}

impl ArmRoute {
    fn parse_profiles_and_pools(segs: &[&str]) -> Option<ArmRoute> {
        let (sub, rg, provider, rest) = split_scope(segs)?;
        let own = |s: &&str| (*s).to_owned();
        if lit(provider, PROVIDER) {
            return match (rg, rest) {
                (rg, [t]) if lit(t, "containerGroupProfiles") => Some(ArmRoute::ProfileList { sub, rg }),
                (Some(rg), [t, name]) if lit(t, "containerGroupProfiles") => Some(ArmRoute::Profile {
                    sub,
                    rg,
                    name: own(name),
                }),
                (Some(rg), [t, name, r, tail @ ..])
                    if lit(t, "containerGroupProfiles") && lit(r, "revisions") && tail.len() <= 1 =>
                {
                    Some(ArmRoute::ProfileRevisions {
                        sub,
                        rg,
                        name: own(name),
                        revision: tail.first().map(own),
                    })
                }
                _ => None,
            };
        }
        if !lit(provider, STANDBY) {
            return None;
        }
        const POOLS: &str = "standbyContainerGroupPools";
        match (rg, rest) {
            (rg, [t]) if lit(t, POOLS) => Some(ArmRoute::PoolList { sub, rg }),
            (Some(rg), [t, name]) if lit(t, POOLS) => Some(ArmRoute::Pool {
                sub,
                rg,
                name: own(name),
            }),
            (Some(rg), [t, name, v, tail @ ..])
                if lit(t, POOLS) && lit(v, "runtimeViews") && tail.len() <= 1 =>
            {
                Some(ArmRoute::RuntimeViews {
                    sub,
                    rg,
                    name: own(name),
                    view: tail.first().map(own),
                })
            }
            (None, [l, loc, o, id]) if lit(l, "locations") => {
                let result = if lit(o, "operationStatuses") {
                    false
                } else if lit(o, "operationResults") {
                    true
                } else {
                    return None;
                };
                Some(ArmRoute::PoolOperation {
                    sub,
                    location: own(loc),
                    id: own(id),
                    result,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RG: &str =
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups";

    #[test]
    fn parses_group_paths_case_insensitively() {
        assert_eq!(
            ArmRoute::parse(&format!("{RG}/cg1")),
            Some(ArmRoute::Group {
                sub: "s".into(),
                rg: "rg".into(),
                name: "cg1".into()
            })
        );
        assert_eq!(
            ArmRoute::parse(&format!("{}/cg1", RG.to_ascii_lowercase())),
            Some(ArmRoute::Group {
                sub: "s".into(),
                rg: "rg".into(),
                name: "cg1".into()
            })
        );
        assert_eq!(
            ArmRoute::parse(RG),
            Some(ArmRoute::ListByResourceGroup {
                sub: "s".into(),
                rg: "rg".into()
            })
        );
        assert!(matches!(
            ArmRoute::parse(&format!("{RG}/cg1/restart")),
            Some(ArmRoute::GroupAction {
                action: GroupAction::Restart,
                ..
            })
        ));
        assert!(matches!(
            ArmRoute::parse(&format!("{RG}/cg1/containers/c/logs")),
            Some(ArmRoute::Logs { .. })
        ));
        assert_eq!(ArmRoute::parse(&format!("{RG}/cg1/explode")), None);
    }

    #[test]
    fn parses_subscription_paths() {
        let p = "/subscriptions/s/providers/Microsoft.ContainerInstance";
        assert_eq!(
            ArmRoute::parse(&format!("{p}/containerGroups")),
            Some(ArmRoute::ListBySubscription { sub: "s".into() })
        );
        assert_eq!(
            ArmRoute::parse(&format!("{p}/locations/westeurope/usages")),
            Some(ArmRoute::Usages {
                sub: "s".into(),
                location: "westeurope".into()
            })
        );
        assert_eq!(
            ArmRoute::parse(&format!("{p}/locations/x/operations/42")),
            Some(ArmRoute::OperationStatus {
                sub: "s".into(),
                location: "x".into(),
                id: "42".into()
            })
        );
        assert!(matches!(
            ArmRoute::parse(&format!("{p}/locations/x/operationresults/42")),
            Some(ArmRoute::OperationResult { .. })
        ));
        let provider = ArmRoute::parse(p);
        assert_eq!(provider, Some(ArmRoute::ResourceProvider { sub: "s".into() }));
        assert_eq!(
            provider.as_ref().map(ArmRoute::provider),
            Some(Provider::Resources)
        );
        assert_eq!(
            ArmRoute::parse("/subscriptions/s/providers/microsoft.containerinstance/"),
            Some(ArmRoute::ResourceProvider { sub: "s".into() })
        );
        assert_eq!(
            ArmRoute::parse("/subscriptions/s/providers/Microsoft.Compute/virtualMachines"),
            None
        );
        assert_eq!(ArmRoute::parse("/"), None);
    }

    #[test]
    fn parses_profiles_and_pools() {
        let rg = "/subscriptions/s/resourceGroups/rg/providers";
        assert_eq!(
            ArmRoute::parse(&format!(
                "{rg}/Microsoft.ContainerInstance/containerGroupProfiles/p/revisions/2"
            )),
            Some(ArmRoute::ProfileRevisions {
                sub: "s".into(),
                rg: "rg".into(),
                name: "p".into(),
                revision: Some("2".into())
            })
        );
        assert_eq!(
            ArmRoute::parse("/subscriptions/s/providers/microsoft.containerinstance/containergroupprofiles"),
            Some(ArmRoute::ProfileList {
                sub: "s".into(),
                rg: None
            })
        );
        let pool = ArmRoute::parse(&format!(
            "{rg}/Microsoft.StandbyPool/standbyContainerGroupPools/pool1"
        ));
        assert_eq!(pool.as_ref().map(ArmRoute::provider), Some(Provider::StandbyPool));
        assert!(matches!(
            ArmRoute::parse(&format!("{rg}/Microsoft.StandbyPool/standbyContainerGroupPools/p/runtimeViews/latest")),
            Some(ArmRoute::RuntimeViews { view: Some(v), .. }) if v == "latest"
        ));
        assert!(matches!(
            ArmRoute::parse(
                "/subscriptions/s/providers/Microsoft.StandbyPool/locations/x/operationStatuses/1"
            ),
            Some(ArmRoute::PoolOperation { result: false, .. })
        ));
        assert_eq!(
            ArmRoute::parse(&format!(
                "{rg}/Microsoft.StandbyPool/standbyVirtualMachinePools/p"
            )),
            None
        );
    }
}
