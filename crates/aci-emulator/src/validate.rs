//! Validation of a `PUT containerGroups/{name}` body: the spec's required fields and enums, the
//! naming rules of CONTRACT §2.1, the size limits of §3.1 and the Spot rules. Answers are ARM
//! error envelopes; codes not backed by a capture are listed as UNVERIFIED in the README.

use serde_json::{Map, Value};

use crate::{config::Limits, error::ArmError};

/// Restart policy of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// `Always` (the default).
    Always,
    /// `OnFailure`.
    OnFailure,
    /// `Never`.
    Never,
}

/// A requested IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRequest {
    /// `Private` (VNet) rather than `Public`.
    pub private: bool,
    /// `dnsNameLabel`, public only.
    pub dns_label: Option<String>,
}

/// What the emulator needs to know about a valid group body.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    /// Normalised region (`westeurope`).
    pub region: String,
    /// Sum of the containers' CPU requests.
    pub cpu: f64,
    /// Sum of the containers' memory requests (GB).
    pub memory_gb: f64,
    /// `priority: Spot`.
    pub spot: bool,
    /// `(container name, image)` of the containers, in order.
    pub containers: Vec<(String, String)>,
    /// Images of the init containers.
    pub init_images: Vec<String>,
    /// The IP address asked for (a VNet group without `ipAddress` still gets a private one).
    pub ip: Option<IpRequest>,
    /// The first subnet id.
    pub subnet: Option<String>,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
}

/// Lower-case, no spaces: `West Europe` → `westeurope`.
pub fn normalize_region(location: &str) -> String {
    location
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn invalid(path: &str, what: &str) -> ArmError {
    ArmError::invalid_content(format!("{path}: {what}")).with_target(path.to_owned())
}

fn bad(code: &str, path: &str, message: String) -> ArmError {
    ArmError::bad_request(code, message).with_target(path.to_owned())
}

/// Lowercase letters, digits and single hyphens, not first or last, `min..=max` long.
pub fn is_dns_like(name: &str, min: usize, max: usize) -> bool {
    let b = name.as_bytes();
    (min..=max).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-')
        && !name.contains("--")
}

/// CONTRACT §2.1: 1–63 characters, `^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn is_valid_group_name(name: &str) -> bool {
    is_dns_like(name, 1, 63)
}

fn is_env_name(name: &str) -> bool {
    let b = name.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.first() != Some(&b'_')
        && b.last() != Some(&b'_')
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ArmError> {
    v.as_object().ok_or_else(|| invalid(path, "expected an object"))
}

fn opt_array<'a>(parent: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], ArmError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(&format!("{path}.{key}"), "expected an array")),
    }
}

fn opt_str<'a>(parent: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a str>, ArmError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(&format!("{path}.{key}"), "expected a string")),
    }
}

fn req_str<'a>(parent: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, ArmError> {
    opt_str(parent, key, path)?
        .ok_or_else(|| invalid(&format!("{path}.{key}"), "required property is missing"))
}

fn enum_value(
    parent: &Map<String, Value>,
    key: &str,
    path: &str,
    allowed: &[&str],
    code: &str,
) -> Result<Option<String>, ArmError> {
    match opt_str(parent, key, path)? {
        None => Ok(None),
        Some(v) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(v))
            .map(|a| Some((*a).to_owned()))
            .ok_or_else(|| {
                bad(
                    code,
                    &format!("{path}.{key}"),
                    format!(
                        "The value '{v}' of '{key}' is invalid. The value must be one of '{}'.",
                        allowed.join(",")
                    ),
                )
            }),
    }
}

fn number(v: Option<&Value>, path: &str) -> Result<Option<f64>, ArmError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(path, "expected a number")),
    }
}

fn check_port(v: &Value, path: &str) -> Result<u64, ArmError> {
    let o = obj(v, path)?;
    let port = o
        .get("port")
        .ok_or_else(|| invalid(&format!("{path}.port"), "required property is missing"))?;
    match port.as_u64() {
        Some(p @ 1..=65535) => {
            enum_value(o, "protocol", path, &["TCP", "UDP"], "InvalidProtocol")?;
            Ok(p)
        }
        _ => Err(bad(
            "InvalidPort",
            &format!("{path}.port"),
            format!("The port '{port}' is invalid. A port must be between 1 and 65535."),
        )),
    }
}

/// Validates a PUT body against the spec and the service rules.
pub fn validate_group(name: &str, body: &Value, limits: &Limits) -> Result<GroupSpec, ArmError> {
    let root = obj(body, "$")?;
    let location = match opt_str(root, "location", "$")? {
        Some(l) if !l.trim().is_empty() => l,
        _ => {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition.",
            )
            .with_target("location"));
        }
    };
    if let Some(tags) = root.get("tags").filter(|t| !t.is_null()) {
        let tags = obj(tags, "tags")?;
        if let Some((k, _)) = tags.iter().find(|(_, v)| !v.is_string()) {
            return Err(invalid(&format!("tags.{k}"), "tag values must be strings"));
        }
    }
    network::check_zones(root, name)?;
    let props = root
        .get("properties")
        .ok_or_else(|| invalid("properties", "required property is missing"))?;
    let props = obj(props, "properties")?;
    let p = "properties";

    match opt_str(props, "osType", p)? {
        Some(os) if os.eq_ignore_ascii_case("Linux") || os.eq_ignore_ascii_case("Windows") => {}
        _ => {
            return Err(bad(
                "InvalidOsType",
                "properties.osType",
                format!(
                    "The 'osType' for container group '{name}' is invalid. The value must be one of 'Windows,Linux'."
                ),
            ));
        }
    }
    network::check_dns(props)?;
    let restart = enum_value(
        props,
        "restartPolicy",
        p,
        &["Always", "OnFailure", "Never"],
        "InvalidRestartPolicy",
    )?;
    let restart_policy = match restart.as_deref() {
        Some("OnFailure") => RestartPolicy::OnFailure,
        Some("Never") => RestartPolicy::Never,
        _ => RestartPolicy::Always,
    };
    let spot =
        enum_value(props, "priority", p, &["Regular", "Spot"], "InvalidPriority")?.as_deref() == Some("Spot");
    enum_value(
        props,
        "sku",
        p,
        &["NotSpecified", "Standard", "Dedicated", "Confidential"],
        "InvalidSku",
    )?;

    // Volumes first, so mounts can be checked against them.
    let volumes = opt_array(props, "volumes", p)?;
    if volumes.len() > 20 {
        return Err(bad(
            "TooManyVolumes",
            "properties.volumes",
            format!(
                "The container group '{name}' has {} volumes; at most 20 are allowed.",
                volumes.len()
            ),
        ));
    }
    let mut volume_names = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let vp = format!("properties.volumes[{i}]");
        let vo = obj(v, &vp)?;
        let vname = req_str(vo, "name", &vp)?;
        if !is_dns_like(vname, 5, 63) {
            return Err(bad(
                "InvalidVolumeName",
                &format!("{vp}.name"),
                format!(
                    "The volume name '{vname}' is invalid. It must be 5 to 63 lowercase letters, numbers or hyphens, not starting or ending with a hyphen, without consecutive hyphens."
                ),
            ));
        }
        if let Some(af) = vo.get("azureFile") {
            let afo = obj(af, &format!("{vp}.azureFile"))?;
            req_str(afo, "shareName", &format!("{vp}.azureFile"))?;
            req_str(afo, "storageAccountName", &format!("{vp}.azureFile"))?;
        }
        if let Some(g) = vo.get("gitRepo") {
            req_str(
                obj(g, &format!("{vp}.gitRepo"))?,
                "repository",
                &format!("{vp}.gitRepo"),
            )?;
        }
        volume_names.push(vname.to_owned());
    }

    let containers = opt_array(props, "containers", p)?;
    if containers.is_empty() {
        return Err(bad(
            "ContainerGroupContainersMissing",
            "properties.containers",
            format!("The container group '{name}' must have at least one container."),
        ));
    }
    if containers.len() > 60 {
        return Err(bad(
            "TooManyContainers",
            "properties.containers",
            format!(
                "The container group '{name}' has {} containers; at most 60 are allowed.",
                containers.len()
            ),
        ));
    }
    let (mut cpu, mut memory_gb) = (0.0_f64, 0.0_f64);
    let mut out_containers: Vec<(String, String)> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let cp = format!("properties.containers[{i}]");
        let co = obj(c, &cp)?;
        let cname = req_str(co, "name", &cp)?;
        if !is_dns_like(cname, 1, 63) {
            return Err(bad(
                "InvalidContainerName",
                &format!("{cp}.name"),
                format!(
                    "The container name '{cname}' in container group '{name}' is invalid. It must be 1 to 63 lowercase letters, numbers or hyphens, not starting or ending with a hyphen."
                ),
            ));
        }
        if out_containers.iter().any(|(n, _)| n == cname) {
            return Err(bad(
                "DuplicateContainerName",
                &format!("{cp}.name"),
                format!("The container name '{cname}' is used more than once in container group '{name}'."),
            ));
        }
        let cprops = obj(
            co.get("properties")
                .ok_or_else(|| invalid(&format!("{cp}.properties"), "required property is missing"))?,
            &format!("{cp}.properties"),
        )?;
        let pp = format!("{cp}.properties");
        let image = match opt_str(cprops, "image", &pp)? {
            Some(img) if !img.trim().is_empty() => img,
            _ => {
                return Err(bad(
                    "ContainerImageNotSpecified",
                    &format!("{pp}.image"),
                    format!("The image is not specified in container '{cname}' of container group '{name}'."),
                ));
            }
        };
        let not_specified = |target: &str| {
            bad(
                "ResourceRequestsNotSpecified",
                target,
                format!(
                    "The resource requests are not specified in container '{cname}' of contain group '{name}'. Both memory and CPU requests are required since API version '2017-07-01-preview'."
                ),
            )
        };
        let requests = cprops
            .get("resources")
            .and_then(|r| r.get("requests"))
            .filter(|r| r.is_object())
            .ok_or_else(|| not_specified(&format!("{pp}.resources.requests")))?;
        let rp = format!("{pp}.resources.requests");
        let (c_cpu, c_mem) = match (
            number(requests.get("cpu"), &format!("{rp}.cpu"))?,
            number(requests.get("memoryInGB"), &format!("{rp}.memoryInGB"))?,
        ) {
            (Some(c), Some(m)) => (c, m),
            (None, None) => return Err(not_specified(&rp)),
            // The service's code for one of the two (issue 16); the message text is UNVERIFIED.
            (cpu, _) => {
                let missing = if cpu.is_none() { "cpu" } else { "memoryInGB" };
                return Err(bad(
                    "ResourceSomeRequestsNotSpecified",
                    &format!("{rp}.{missing}"),
                    format!(
                        "The '{missing}' request is not specified in container '{cname}' of container group '{name}'. Both memory and CPU requests are required."
                    ),
                ));
            }
        };
        if c_cpu <= 0.0 || c_mem <= 0.0 {
            return Err(bad(
                "InvalidResourceRequests",
                &rp,
                format!(
                    "The resource requests of container '{cname}' in container group '{name}' are invalid: cpu and memoryInGB must be greater than zero."
                ),
            ));
        }
        if let Some(limits_v) = cprops
            .get("resources")
            .and_then(|r| r.get("limits"))
            .filter(|l| !l.is_null())
        {
            let lp = format!("{pp}.resources.limits");
            let lo = obj(limits_v, &lp)?;
            let l_cpu = number(lo.get("cpu"), &format!("{lp}.cpu"))?;
            let l_mem = number(lo.get("memoryInGB"), &format!("{lp}.memoryInGB"))?;
            if l_cpu.is_some_and(|l| l < c_cpu) || l_mem.is_some_and(|l| l < c_mem) {
                return Err(bad(
                    "InvalidResourceLimits",
                    &lp,
                    format!(
                        "The resource limits of container '{cname}' in container group '{name}' must not be lower than its requests."
                    ),
                ));
            }
        }
        cpu += c_cpu;
        memory_gb += c_mem;
        for (j, port) in opt_array(cprops, "ports", &pp)?.iter().enumerate() {
            check_port(port, &format!("{pp}.ports[{j}]"))?;
        }
        for (j, env) in opt_array(cprops, "environmentVariables", &pp)?.iter().enumerate() {
            let ep = format!("{pp}.environmentVariables[{j}]");
            let ename = req_str(obj(env, &ep)?, "name", &ep)?;
            if !is_env_name(ename) {
                return Err(bad(
                    "InvalidEnvironmentVariable",
                    &format!("{ep}.name"),
                    format!(
                        "The environment variable name '{ename}' in container '{cname}' is invalid. It must be 1 to 63 letters, digits or '_', not starting or ending with '_'."
                    ),
                ));
            }
        }
        for (j, m) in opt_array(cprops, "volumeMounts", &pp)?.iter().enumerate() {
            let mp = format!("{pp}.volumeMounts[{j}]");
            let mo = obj(m, &mp)?;
            let vname = req_str(mo, "name", &mp)?;
            let path = req_str(mo, "mountPath", &mp)?;
            if !volume_names.iter().any(|v| v == vname) {
                return Err(bad(
                    "VolumeMountNotFound",
                    &format!("{mp}.name"),
                    format!(
                        "The volume mount '{vname}' of container '{cname}' does not match any volume of container group '{name}'."
                    ),
                ));
            }
            if path.contains(':') || path.is_empty() {
                return Err(bad(
                    "InvalidVolumeMountPath",
                    &format!("{mp}.mountPath"),
                    format!("The mount path '{path}' of container '{cname}' is invalid."),
                ));
            }
        }
        out_containers.push((cname.to_owned(), image.to_owned()));
    }

    let mut init_images = Vec::new();
    for (i, ic) in opt_array(props, "initContainers", p)?.iter().enumerate() {
        let ip = format!("properties.initContainers[{i}]");
        let io = obj(ic, &ip)?;
        let iname = req_str(io, "name", &ip)?;
        if !is_dns_like(iname, 1, 63) {
            return Err(bad(
                "InvalidContainerName",
                &format!("{ip}.name"),
                format!("The init container name '{iname}' in container group '{name}' is invalid."),
            ));
        }
        if let Some(img) = io
            .get("properties")
            .and_then(|p| p.get("image"))
            .and_then(Value::as_str)
        {
            init_images.push(img.to_owned());
        }
    }

    let (max_cpu, max_mem) = if spot {
        (limits.max_spot_cpu, limits.max_spot_memory_gb)
    } else {
        (limits.max_group_cpu, limits.max_group_memory_gb)
    };
    if cpu > max_cpu + 1e-9 || memory_gb > max_mem + 1e-9 {
        return Err(bad(
            "ResourceRequestsExceedLimit",
            "properties.containers",
            format!(
                "The requested resource of container group '{name}' ({cpu} CPU, {memory_gb} GB memory) exceeds the maximum allowed for {} container groups in region '{}': {max_cpu} CPU, {max_mem} GB memory.",
                if spot { "Spot" } else { "Standard" },
                normalize_region(location)
            ),
        ));
    }

    for (i, cred) in opt_array(props, "imageRegistryCredentials", p)?
        .iter()
        .enumerate()
    {
        let rp = format!("properties.imageRegistryCredentials[{i}]");
        let server = req_str(obj(cred, &rp)?, "server", &rp)?;
        if server.contains("://") || server.is_empty() {
            return Err(bad(
                "InvalidImageRegistryServer",
                &format!("{rp}.server"),
                format!(
                    "The image registry server '{server}' is invalid: give a host name without a scheme."
                ),
            ));
        }
    }

    let subnets = opt_array(props, "subnetIds", p)?;
    let mut subnet = None;
    for (i, s) in subnets.iter().enumerate() {
        let sp = format!("properties.subnetIds[{i}]");
        let id = req_str(obj(s, &sp)?, "id", &sp)?;
        subnet.get_or_insert_with(|| id.to_owned());
    }
    if spot && subnet.is_some() {
        return Err(bad(
            "SpotVnetNotSupported",
            "properties.subnetIds",
            format!(
                "Container group '{name}' with priority 'Spot' cannot be deployed into a virtual network."
            ),
        ));
    }

    let mut ip = None;
    if let Some(ipv) = props.get("ipAddress").filter(|v| !v.is_null()) {
        let ipp = "properties.ipAddress";
        let io = obj(ipv, ipp)?;
        let ty = enum_value(io, "type", ipp, &["Public", "Private"], "InvalidIpAddressType")?
            .ok_or_else(|| invalid("properties.ipAddress.type", "required property is missing"))?;
        let ports = io
            .get("ports")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("properties.ipAddress.ports", "required property is missing"))?;
        if ports.len() > 5 {
            return Err(bad(
                "TooManyPorts",
                "properties.ipAddress.ports",
                format!(
                    "The IP address of container group '{name}' exposes {} ports; at most 5 are allowed.",
                    ports.len()
                ),
            ));
        }
        for (j, port) in ports.iter().enumerate() {
            check_port(port, &format!("{ipp}.ports[{j}]"))?;
        }
        let private = ty == "Private";
        if private && subnet.is_none() {
            return Err(bad(
                "PrivateIpAddressRequiresSubnet",
                "properties.ipAddress.type",
                format!("Container group '{name}' asks for a 'Private' IP address but has no 'subnetIds'."),
            ));
        }
        if spot && private {
            return Err(bad(
                "SpotVnetNotSupported",
                "properties.ipAddress.type",
                format!("Container group '{name}' with priority 'Spot' cannot use a private IP address."),
            ));
        }
        let dns_label = opt_str(io, "dnsNameLabel", ipp)?.map(str::to_owned);
        if let Some(label) = &dns_label {
            let first_letter = label.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
            if !is_dns_like(label, 5, 63) || !first_letter {
                return Err(bad(
                    "InvalidDnsNameLabel",
                    "properties.ipAddress.dnsNameLabel",
                    format!(
                        "The DNS name label '{label}' in container group '{name}' is invalid. It can contain only lowercase letters, numbers and hyphens. The first character must be a letter. The last character must be a letter or number. The value must be between 5 and 63 characters long."
                    ),
                ));
            }
        }
        ip = Some(IpRequest { private, dns_label });
    } else if subnet.is_some() {
        ip = Some(IpRequest {
            private: true,
            dns_label: None,
        });
    }

    Ok(GroupSpec {
        region: normalize_region(location),
        cpu,
        memory_gb,
        spot,
        containers: out_containers,
        init_images,
        ip,
        subnet,
        restart_policy,
    })
}

mod network;
mod path;

pub use path::check_path;
#[cfg(test)]
mod tests;
