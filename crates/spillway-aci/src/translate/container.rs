//! One Kubernetes container → one ACI container (or init container).

use k8s_openapi::api::core::v1 as k8s;

use super::env::{PodFacts, expand_command, resolve_env, to_aci};
use super::error::{TranslateError, invalid, unsupported};
use super::probe::probe;
use super::resolve::ValueResolver;
use super::resources::{ContainerResources, container_resources};
use super::volumes::mounts;
use crate::model::{
    Container, ContainerPort, ContainerProperties, InitContainer, InitContainerProperties, SecurityContext,
    Volume,
};
use crate::naming::name_problem;

pub(crate) struct Ctx<'a> {
    pub facts: PodFacts<'a>,
    pub resolver: &'a dyn ValueResolver,
    pub volumes: &'a [Volume],
    pub pod_security: Option<&'a k8s::PodSecurityContext>,
}

pub(crate) struct Built {
    pub container: Container,
    pub resources: ContainerResources,
}

pub(crate) fn app_container(c: &k8s::Container, path: &str, ctx: &Ctx<'_>) -> Result<Built, TranslateError> {
    common_checks(c, path)?;
    if c.startup_probe.is_some() {
        return Err(unsupported(
            format!("{path}.startupProbe"),
            "ACI has liveness and readiness probes only",
        ));
    }
    if c.restart_policy.is_some() {
        return Err(unsupported(
            format!("{path}.restartPolicy"),
            "ACI has no per-container restart policy",
        ));
    }
    let vars = resolve_env(c, path, &ctx.facts, ctx.resolver)?;
    let command = command(c, path, &vars)?;
    let ports = ports(c, path)?;
    let k8s_ports = c.ports.as_deref().unwrap_or_default();
    let resources = container_resources(c.resources.as_ref(), path)?;
    let liveness_probe = match &c.liveness_probe {
        Some(p) => Some(probe(p, &format!("{path}.livenessProbe"), k8s_ports)?),
        None => None,
    };
    let readiness_probe = match &c.readiness_probe {
        Some(p) => Some(probe(p, &format!("{path}.readinessProbe"), k8s_ports)?),
        None => None,
    };
    Ok(Built {
        container: Container {
            name: c.name.clone(),
            properties: ContainerProperties {
                image: image(c, path)?,
                command,
                ports,
                environment_variables: to_aci(vars),
                resources: resources.aci.clone(),
                volume_mounts: mounts(c, path, ctx.volumes)?,
                liveness_probe,
                readiness_probe,
                security_context: security(c.security_context.as_ref(), ctx.pod_security, path)?,
                ..Default::default()
            },
        },
        resources,
    })
}

/// Init containers have no resources, ports or probes in ACI: they run
/// within the group's resources, so theirs must fit what the app containers ask.
pub(crate) fn init_container(
    c: &k8s::Container,
    path: &str,
    ctx: &Ctx<'_>,
) -> Result<(InitContainer, ContainerResources), TranslateError> {
    common_checks(c, path)?;
    if c.restart_policy.is_some() {
        return Err(unsupported(
            format!("{path}.restartPolicy"),
            "ACI has no sidecar (restartable) init containers",
        ));
    }
    for (field, set) in [
        ("ports", c.ports.as_ref().is_some_and(|p| !p.is_empty())),
        ("livenessProbe", c.liveness_probe.is_some()),
        ("readinessProbe", c.readiness_probe.is_some()),
        ("startupProbe", c.startup_probe.is_some()),
    ] {
        if set {
            return Err(unsupported(
                format!("{path}.{field}"),
                "ACI init containers have none",
            ));
        }
    }
    let vars = resolve_env(c, path, &ctx.facts, ctx.resolver)?;
    let resources = container_resources(c.resources.as_ref(), path)?;
    Ok((
        InitContainer {
            name: c.name.clone(),
            properties: InitContainerProperties {
                image: Some(image(c, path)?),
                command: command(c, path, &vars)?,
                environment_variables: to_aci(vars),
                volume_mounts: mounts(c, path, ctx.volumes)?,
                security_context: security(c.security_context.as_ref(), ctx.pod_security, path)?,
                ..Default::default()
            },
        },
        resources,
    ))
}

fn common_checks(c: &k8s::Container, path: &str) -> Result<(), TranslateError> {
    if let Some(p) = name_problem(&c.name) {
        return Err(invalid(format!("{path}.name"), format!("ACI container name {p}")));
    }
    let unsupported_fields = [
        (
            "workingDir",
            c.working_dir.as_deref().is_some_and(|w| !w.is_empty()),
            "ACI has no working directory setting",
        ),
        (
            "lifecycle",
            c.lifecycle.is_some(),
            "ACI has no postStart/preStop hooks",
        ),
        ("stdin", c.stdin == Some(true), "ACI containers get no stdin"),
        ("tty", c.tty == Some(true), "ACI containers get no TTY"),
        (
            "volumeDevices",
            c.volume_devices.as_ref().is_some_and(|v| !v.is_empty()),
            "ACI has no block devices",
        ),
    ];
    for (field, set, reason) in unsupported_fields {
        if set {
            return Err(unsupported(format!("{path}.{field}"), reason));
        }
    }
    Ok(())
}

fn image(c: &k8s::Container, path: &str) -> Result<String, TranslateError> {
    c.image
        .clone()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| invalid(format!("{path}.image"), "must be set"))
}

/// ACI's `command` replaces the entrypoint and has no `args`: Kubernetes'
/// `command` + `args` become one list; `args` alone (keeping the image's
/// entrypoint) cannot be expressed without knowing the image.
fn command(c: &k8s::Container, path: &str, vars: &[super::env::Var]) -> Result<Vec<String>, TranslateError> {
    let cmd = c.command.clone().unwrap_or_default();
    let args = c.args.clone().unwrap_or_default();
    if cmd.is_empty() && !args.is_empty() {
        return Err(unsupported(
            format!("{path}.args"),
            "ACI has no args: without command the image entrypoint would be lost; set command as well",
        ));
    }
    let mut out = expand_command(&cmd, vars, &format!("{path}.command"))?;
    out.extend(expand_command(&args, vars, &format!("{path}.args"))?);
    Ok(out)
}

fn ports(c: &k8s::Container, path: &str) -> Result<Vec<ContainerPort>, TranslateError> {
    c.ports
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            let pp = format!("{path}.ports[{i}]");
            if !(1..=65535).contains(&p.container_port) {
                return Err(invalid(format!("{pp}.containerPort"), "not a port"));
            }
            if p.host_port.is_some_and(|h| h != p.container_port) {
                return Err(unsupported(format!("{pp}.hostPort"), "ACI has no port mapping"));
            }
            if p.host_ip.as_deref().is_some_and(|h| !h.is_empty()) {
                return Err(unsupported(format!("{pp}.hostIP"), "ACI has no host IP binding"));
            }
            let protocol = match p.protocol.as_deref().unwrap_or("TCP") {
                "TCP" => "TCP",
                "UDP" => "UDP",
                other => {
                    return Err(unsupported(
                        format!("{pp}.protocol"),
                        format!("{other} (ACI has TCP and UDP)"),
                    ));
                }
            };
            Ok(ContainerPort {
                port: p.container_port,
                protocol: Some(protocol.to_string()),
            })
        })
        .collect()
}

/// What ACI's security context can carry; the pod-level context fills gaps.
fn security(
    sc: Option<&k8s::SecurityContext>,
    pod: Option<&k8s::PodSecurityContext>,
    path: &str,
) -> Result<Option<SecurityContext>, TranslateError> {
    let p = format!("{path}.securityContext");
    let mut out = SecurityContext::default();
    if let Some(sc) = sc {
        if sc.privileged == Some(true) {
            return Err(unsupported(
                format!("{p}.privileged"),
                "ACI runs no privileged containers",
            ));
        }
        if sc.read_only_root_filesystem == Some(true) {
            return Err(unsupported(
                format!("{p}.readOnlyRootFilesystem"),
                "ACI has no read-only root filesystem",
            ));
        }
        for (field, set) in [
            ("seLinuxOptions", sc.se_linux_options.is_some()),
            ("windowsOptions", sc.windows_options.is_some()),
            (
                "procMount",
                sc.proc_mount.as_deref().is_some_and(|m| m != "Default"),
            ),
            (
                "appArmorProfile",
                sc.app_armor_profile
                    .as_ref()
                    .is_some_and(|a| a.type_ != "RuntimeDefault"),
            ),
            (
                "seccompProfile",
                sc.seccomp_profile
                    .as_ref()
                    .is_some_and(|s| s.type_ != "RuntimeDefault"),
            ),
        ] {
            if set {
                return Err(unsupported(
                    format!("{p}.{field}"),
                    "not expressible in ACI's security context",
                ));
            }
        }
        if let Some(caps) = &sc.capabilities {
            let add = caps.add.clone().unwrap_or_default();
            let drop = caps.drop.clone().unwrap_or_default();
            if !add.is_empty() || !drop.is_empty() {
                let mut c = serde_json::Map::new();
                if !add.is_empty() {
                    c.insert("add".into(), add.into());
                }
                if !drop.is_empty() {
                    c.insert("drop".into(), drop.into());
                }
                out.extra.insert("capabilities".into(), c.into());
            }
        }
        out.allow_privilege_escalation = sc.allow_privilege_escalation;
        out.run_as_user = id(sc.run_as_user, &format!("{p}.runAsUser"))?;
        out.run_as_group = id(sc.run_as_group, &format!("{p}.runAsGroup"))?;
    }
    let pod_path = "spec.securityContext";
    if let Some(ps) = pod {
        for (field, set) in [
            ("fsGroup", ps.fs_group.is_some()),
            (
                "supplementalGroups",
                ps.supplemental_groups.as_ref().is_some_and(|g| !g.is_empty()),
            ),
            ("sysctls", ps.sysctls.as_ref().is_some_and(|s| !s.is_empty())),
            ("seLinuxOptions", ps.se_linux_options.is_some()),
            ("windowsOptions", ps.windows_options.is_some()),
            (
                "appArmorProfile",
                ps.app_armor_profile
                    .as_ref()
                    .is_some_and(|a| a.type_ != "RuntimeDefault"),
            ),
            (
                "seccompProfile",
                ps.seccomp_profile
                    .as_ref()
                    .is_some_and(|s| s.type_ != "RuntimeDefault"),
            ),
        ] {
            if set {
                return Err(unsupported(
                    format!("{pod_path}.{field}"),
                    "not expressible in ACI",
                ));
            }
        }
        if out.run_as_user.is_none() {
            out.run_as_user = id(ps.run_as_user, &format!("{pod_path}.runAsUser"))?;
        }
        if out.run_as_group.is_none() {
            out.run_as_group = id(ps.run_as_group, &format!("{pod_path}.runAsGroup"))?;
        }
    }
    // runAsNonRoot is a check kubelet makes; ACI can honour it only through an explicit user.
    let non_root = sc
        .and_then(|s| s.run_as_non_root)
        .or(pod.and_then(|p| p.run_as_non_root));
    if non_root == Some(true) && out.run_as_user.is_none_or(|u| u == 0) {
        return Err(unsupported(
            format!("{p}.runAsNonRoot"),
            "ACI cannot check the image's user; set runAsUser to a non-zero id",
        ));
    }
    Ok((out != SecurityContext::default()).then_some(out))
}

fn id(v: Option<i64>, path: &str) -> Result<Option<i32>, TranslateError> {
    v.map(|v| i32::try_from(v).map_err(|_| invalid(path, format!("{v} does not fit ACI's int32"))))
        .transpose()
}
