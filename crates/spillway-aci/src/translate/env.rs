//! Environment variables: literal values, Secret and ConfigMap references
//! (Secret values go out as `secureValue`), `envFrom`, and Kubernetes'
//! `$(VAR)` expansion, which kubelet does and ACI does not.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as k8s;

use super::error::{TranslateError, invalid, unresolved, unsupported};
use super::resolve::{ValueResolver, config_map_entries, secret_entries};
use crate::model::{EnvironmentVariable, SecureString};

/// What fieldRef can read: known when the body is built.
pub(crate) struct PodFacts<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
}

/// One resolved variable; `secret` values must never leave as plain text.
#[derive(Clone)]
pub(crate) struct Var {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

/// The container's environment in Kubernetes order: `envFrom` first, then
/// `env`, later names replacing earlier ones; `$(VAR)` expanded in `env` values.
pub(crate) fn resolve_env(
    c: &k8s::Container,
    path: &str,
    facts: &PodFacts<'_>,
    resolver: &dyn ValueResolver,
) -> Result<Vec<Var>, TranslateError> {
    let mut vars: Vec<Var> = Vec::new();
    let set = |vars: &mut Vec<Var>, v: Var| {
        if let Some(old) = vars.iter_mut().find(|o| o.name == v.name) {
            *old = v;
        } else {
            vars.push(v);
        }
    };
    for (i, from) in c.env_from.iter().flatten().enumerate() {
        let p = format!("{path}.envFrom[{i}]");
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.secret_ref {
            let found = resolver.secret(&r.name).map_err(|e| unresolved(&p, e))?;
            match found {
                Some(s) => {
                    for (k, v) in secret_entries(&s) {
                        let value = utf8(v, &format!("{p}.secretRef[{k}]"))?;
                        set(
                            &mut vars,
                            Var {
                                name: format!("{prefix}{k}"),
                                value,
                                secret: true,
                            },
                        );
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(unresolved(
                        format!("{p}.secretRef"),
                        format!("Secret {:?} not found", r.name),
                    ));
                }
            }
        }
        if let Some(r) = &from.config_map_ref {
            let found = resolver.config_map(&r.name).map_err(|e| unresolved(&p, e))?;
            match found {
                Some(cm) => {
                    for (k, v) in config_map_entries(&cm) {
                        let value = utf8(v, &format!("{p}.configMapRef[{k}]"))?;
                        set(
                            &mut vars,
                            Var {
                                name: format!("{prefix}{k}"),
                                value,
                                secret: false,
                            },
                        );
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(unresolved(
                        format!("{p}.configMapRef"),
                        format!("ConfigMap {:?} not found", r.name),
                    ));
                }
            }
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        let p = format!("{path}.env[{i}]");
        let resolved = match &e.value_from {
            None => {
                let (value, via_secret) = expand(e.value.as_deref().unwrap_or(""), &vars);
                Some(Var {
                    name: e.name.clone(),
                    value,
                    secret: via_secret,
                })
            }
            Some(src) => value_from(src, &p, facts, resolver)?.map(|(value, secret)| Var {
                name: e.name.clone(),
                value,
                secret,
            }),
        };
        if let Some(v) = resolved {
            set(&mut vars, v);
        }
    }
    Ok(vars)
}

fn value_from(
    src: &k8s::EnvVarSource,
    p: &str,
    facts: &PodFacts<'_>,
    resolver: &dyn ValueResolver,
) -> Result<Option<(String, bool)>, TranslateError> {
    if let Some(r) = &src.secret_key_ref {
        let p = format!("{p}.valueFrom.secretKeyRef");
        let secret = resolver.secret(&r.name).map_err(|e| unresolved(&p, e))?;
        let value = secret.and_then(|s| secret_entries(&s).remove(&r.key));
        return match value {
            Some(v) => Ok(Some((utf8(v, &p)?, true))),
            None if r.optional == Some(true) => Ok(None),
            None => Err(unresolved(
                p,
                format!("Secret {:?} has no key {:?}", r.name, r.key),
            )),
        };
    }
    if let Some(r) = &src.config_map_key_ref {
        let p = format!("{p}.valueFrom.configMapKeyRef");
        let cm = resolver.config_map(&r.name).map_err(|e| unresolved(&p, e))?;
        let value = cm.and_then(|c| config_map_entries(&c).remove(&r.key));
        return match value {
            Some(v) => Ok(Some((utf8(v, &p)?, false))),
            None if r.optional == Some(true) => Ok(None),
            None => Err(unresolved(
                p,
                format!("ConfigMap {:?} has no key {:?}", r.name, r.key),
            )),
        };
    }
    if let Some(f) = &src.field_ref {
        let p = format!("{p}.valueFrom.fieldRef");
        return field(&f.field_path, facts)
            .map(|v| Some((v, false)))
            .ok_or_else(|| {
                unsupported(
                    p,
                    format!(
                        "{:?} is not known before ACI runs the group (only metadata.* is)",
                        f.field_path
                    ),
                )
            });
    }
    if src.resource_field_ref.is_some() {
        return Err(unsupported(
            format!("{p}.valueFrom.resourceFieldRef"),
            "ACI has no downward API for resources",
        ));
    }
    Ok(None)
}

fn field(path: &str, facts: &PodFacts<'_>) -> Option<String> {
    let key_of = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix("']"))
            .map(str::to_string)
    };
    match path {
        "metadata.name" => Some(facts.name.to_string()),
        "metadata.namespace" => Some(facts.namespace.to_string()),
        _ => {
            if let Some(k) = key_of("metadata.labels['") {
                return Some(facts.labels.get(&k).cloned().unwrap_or_default());
            }
            if let Some(k) = key_of("metadata.annotations['") {
                return Some(facts.annotations.get(&k).cloned().unwrap_or_default());
            }
            None
        }
    }
}

fn utf8(v: Vec<u8>, path: &str) -> Result<String, TranslateError> {
    String::from_utf8(v).map_err(|_| invalid(path, "value is not UTF-8; ACI environment values are strings"))
}

/// Kubernetes `$(VAR)` expansion against `vars` (`$$` escapes). Returns the
/// result and whether a secret went into it.
pub(crate) fn expand(input: &str, vars: &[Var]) -> (String, bool) {
    let mut out = String::with_capacity(input.len());
    let mut used_secret = false;
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match vars.iter().find(|v| v.name == name) {
                Some(v) => {
                    out.push_str(&v.value);
                    used_secret |= v.secret;
                }
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    (out, used_secret)
}

/// Expand `$(VAR)` in command/args; a secret may not end up in them, since
/// ACI shows the command in plain text.
pub(crate) fn expand_command(
    words: &[String],
    vars: &[Var],
    path: &str,
) -> Result<Vec<String>, TranslateError> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let (s, secret) = expand(w, vars);
            if secret {
                Err(unsupported(
                    format!("{path}[{i}]"),
                    "references a Secret-backed variable; ACI would show it in plain text in the command",
                ))
            } else {
                Ok(s)
            }
        })
        .collect()
}

pub(crate) fn to_aci(vars: Vec<Var>) -> Vec<EnvironmentVariable> {
    vars.into_iter()
        .map(|v| {
            if v.secret {
                EnvironmentVariable {
                    name: v.name,
                    value: None,
                    secure_value: Some(SecureString::new(v.value)),
                }
            } else {
                EnvironmentVariable {
                    name: v.name,
                    value: Some(v.value),
                    secure_value: None,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(n: &str, v: &str, secret: bool) -> Var {
        Var {
            name: n.into(),
            value: v.into(),
            secret,
        }
    }

    #[test]
    fn expansion_follows_kubernetes() {
        let vars = [var("A", "1", false), var("S", "pw", true)];
        assert_eq!(expand("x$(A)y", &vars), ("x1y".into(), false));
        assert_eq!(expand("$(MISSING)", &vars), ("$(MISSING)".into(), false));
        assert_eq!(expand("$$(A) $", &vars), ("$(A) $".into(), false));
        assert_eq!(expand("u:$(S)", &vars), ("u:pw".into(), true));
        assert!(expand_command(&["--pw=$(S)".into()], &vars, "c.args").is_err());
    }
}
