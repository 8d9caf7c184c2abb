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

fn lit(seg: &str, expected: &str) -> bool {
    seg.eq_ignore_ascii_case(expected)
}

impl ArmRoute {
    /// The subscription of the route.
    pub fn subscription(&self) -> &str {
        match self {
            ArmRoute::ListByResourceGroup { sub, .. }
            | ArmRoute::ListBySubscription { sub }
            | ArmRoute::Group { sub, .. }
            | ArmRoute::GroupAction { sub, .. }
            | ArmRoute::Logs { sub, .. }
            | ArmRoute::Usages { sub, .. }
            | ArmRoute::Capabilities { sub, .. }
            | ArmRoute::OperationStatus { sub, .. }
            | ArmRoute::OperationResult { sub, .. } => sub,
        }
    }

    /// Parses a request path (without query). `None` when it is not an ARM path we serve.
    pub fn parse(path: &str) -> Option<ArmRoute> {
        let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
        let s = |i: usize| segs.get(i).copied().unwrap_or_default().to_owned();
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
        assert_eq!(
            ArmRoute::parse("/subscriptions/s/providers/Microsoft.Compute/virtualMachines"),
            None
        );
        assert_eq!(ArmRoute::parse("/"), None);
    }
}
