//! Token endpoint responses (Entra ID v2 and IMDS) into [`AccessToken`] or [`AuthError`].

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::secret::scrub;
use crate::{AccessToken, AuthError};

/// A number that IMDS sends as a JSON string and Entra ID as a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(u64),
    Str(String),
}

impl NumOrString {
    fn value(&self) -> Option<u64> {
        match self {
            NumOrString::Num(n) => Some(*n),
            NumOrString::Str(s) => s.trim().parse().ok(),
        }
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    expires_in: Option<NumOrString>,
    expires_on: Option<NumOrString>,
    token_type: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

const MAX_MESSAGE: usize = 300;

/// Map one token endpoint answer. `received` is when it arrived: the token's
/// expiry is computed from `expires_in` relative to it (falling back to
/// `expires_on`, Unix seconds). `sent_secret` is scrubbed from any message.
pub(crate) fn parse_token_response(
    status: u16,
    body: &[u8],
    received: SystemTime,
    sent_secret: Option<&str>,
) -> Result<AccessToken, AuthError> {
    let parsed: Result<TokenBody, _> = serde_json::from_slice(body);
    if !(200..300).contains(&status) {
        return Err(match parsed {
            Ok(TokenBody {
                error: Some(code),
                error_description,
                ..
            }) => AuthError::Rejected {
                status,
                code: short(&scrub(&code, sent_secret)),
                message: short(&scrub(
                    error_description.as_deref().unwrap_or("(no description)"),
                    sent_secret,
                )),
            },
            _ => AuthError::Rejected {
                status,
                code: format!("http_{status}"),
                message: short(&scrub(&String::from_utf8_lossy(body), sent_secret)),
            },
        });
    }
    let b = parsed.map_err(|e| AuthError::Malformed(format!("not a token response: {e}")))?;
    if let Some(code) = b.error {
        return Err(AuthError::Rejected {
            status,
            code: short(&scrub(&code, sent_secret)),
            message: short(&scrub(
                b.error_description.as_deref().unwrap_or("(no description)"),
                sent_secret,
            )),
        });
    }
    if let Some(tt) = &b.token_type
        && !tt.eq_ignore_ascii_case("bearer")
    {
        return Err(AuthError::Malformed(format!(
            "token_type {:?} is not Bearer",
            short(tt)
        )));
    }
    let token = b
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AuthError::Malformed("no access_token".into()))?;
    let expires_at = if let Some(secs) = b.expires_in.as_ref().and_then(NumOrString::value) {
        received + Duration::from_secs(secs)
    } else if let Some(on) = b.expires_on.as_ref().and_then(NumOrString::value) {
        SystemTime::UNIX_EPOCH + Duration::from_secs(on)
    } else {
        return Err(AuthError::Malformed("neither expires_in nor expires_on".into()));
    };
    if expires_at <= received {
        return Err(AuthError::Malformed("token already expired on receipt".into()));
    }
    Ok(AccessToken::new(token, expires_at))
}

fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() <= MAX_MESSAGE {
        line.to_string()
    } else {
        let mut t: String = line.chars().take(MAX_MESSAGE).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn entra_v2_success() {
        let body =
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0"}"#;
        let t = parse_token_response(200, body, t0(), None).unwrap();
        assert_eq!(t.secret(), "eyJ0");
        assert_eq!(t.expires_at, t0() + Duration::from_secs(3599));
    }

    #[test]
    fn imds_strings() {
        let body = br#"{"access_token":"abc","refresh_token":"","expires_in":"3599","expires_on":"1506484173","not_before":"1506480273","resource":"https://management.azure.com/","token_type":"Bearer"}"#;
        let t = parse_token_response(200, body, t0(), None).unwrap();
        assert_eq!(t.expires_at, t0() + Duration::from_secs(3599));
    }

    #[test]
    fn aad_error_mapped_and_scrubbed() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: s3cr3t-value.\r\nTrace ID: x","error_codes":[7000215]}"#;
        let e = parse_token_response(401, body, t0(), Some("s3cr3t-value")).unwrap_err();
        match &e {
            AuthError::Rejected {
                status,
                code,
                message,
            } => {
                assert_eq!(*status, 401);
                assert_eq!(code, "invalid_client");
                assert!(message.starts_with("AADSTS7000215"));
                assert!(!message.contains("s3cr3t-value"));
                assert!(!message.contains("Trace ID"), "only the first line is kept");
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.to_string().contains("s3cr3t-value"));
    }

    #[test]
    fn non_json_error_and_malformed_success() {
        let e = parse_token_response(503, b"<html>busy</html>", t0(), None).unwrap_err();
        assert!(matches!(&e, AuthError::Rejected { status: 503, code, .. } if code == "http_503"));
        assert!(e.is_transient());
        let e = parse_token_response(200, b"{\"access_tok", t0(), None).unwrap_err();
        assert!(matches!(e, AuthError::Malformed(_)));
        let e = parse_token_response(200, br#"{"access_token":"a"}"#, t0(), None).unwrap_err();
        assert!(matches!(e, AuthError::Malformed(_)));
        let e = parse_token_response(200, br#"{"access_token":"a","expires_in":0}"#, t0(), None).unwrap_err();
        assert!(matches!(e, AuthError::Malformed(_)));
        let e =
            parse_token_response(200, br#"{"error":"x","error_description":"y"}"#, t0(), None).unwrap_err();
        assert!(matches!(e, AuthError::Rejected { status: 200, .. }));
    }
}
