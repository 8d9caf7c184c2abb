//! Liveness and readiness probes: `httpGet` and `exec` only.

use k8s_openapi::api::core::v1 as k8s;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::error::{TranslateError, invalid, unsupported};
use crate::model::{ContainerExec, ContainerHttpGet, ContainerProbe, HttpHeader};

pub(crate) fn probe(
    p: &k8s::Probe,
    path: &str,
    ports: &[k8s::ContainerPort],
) -> Result<ContainerProbe, TranslateError> {
    if p.tcp_socket.is_some() {
        return Err(unsupported(
            format!("{path}.tcpSocket"),
            "ACI probes are httpGet or exec only",
        ));
    }
    if p.grpc.is_some() {
        return Err(unsupported(
            format!("{path}.grpc"),
            "ACI probes are httpGet or exec only",
        ));
    }
    if p.termination_grace_period_seconds.is_some() {
        return Err(unsupported(
            format!("{path}.terminationGracePeriodSeconds"),
            "ACI probes have no termination grace period",
        ));
    }
    let exec = match &p.exec {
        Some(e) => {
            let command = e.command.clone().unwrap_or_default();
            if command.is_empty() {
                return Err(invalid(format!("{path}.exec.command"), "must not be empty"));
            }
            Some(ContainerExec { command })
        }
        None => None,
    };
    let http_get = match &p.http_get {
        Some(h) => Some(http_get(h, &format!("{path}.httpGet"), ports)?),
        None => None,
    };
    if exec.is_none() && http_get.is_none() {
        return Err(invalid(path, "needs exec or httpGet"));
    }
    Ok(ContainerProbe {
        exec,
        http_get,
        initial_delay_seconds: p.initial_delay_seconds,
        period_seconds: p.period_seconds,
        failure_threshold: p.failure_threshold,
        success_threshold: p.success_threshold,
        timeout_seconds: p.timeout_seconds,
    })
}

fn http_get(
    h: &k8s::HTTPGetAction,
    path: &str,
    ports: &[k8s::ContainerPort],
) -> Result<ContainerHttpGet, TranslateError> {
    if h.host.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(unsupported(
            format!("{path}.host"),
            "ACI probes the container itself",
        ));
    }
    let port = match &h.port {
        IntOrString::Int(p) => *p,
        IntOrString::String(name) => match name.parse::<i32>() {
            Ok(p) => p,
            Err(_) => ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| {
                    invalid(
                        format!("{path}.port"),
                        format!("no container port named {name:?}"),
                    )
                })?,
        },
    };
    if !(1..=65535).contains(&port) {
        return Err(invalid(format!("{path}.port"), format!("{port} is not a port")));
    }
    let scheme = match h.scheme.as_deref() {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("http") => Some("http".to_string()),
        Some(s) if s.eq_ignore_ascii_case("https") => Some("https".to_string()),
        Some(s) => {
            return Err(invalid(
                format!("{path}.scheme"),
                format!("{s:?} is not HTTP or HTTPS"),
            ));
        }
    };
    Ok(ContainerHttpGet {
        path: h.path.clone(),
        port,
        scheme,
        http_headers: h
            .http_headers
            .iter()
            .flatten()
            .map(|x| HttpHeader {
                name: x.name.clone(),
                value: x.value.clone(),
            })
            .collect(),
    })
}
