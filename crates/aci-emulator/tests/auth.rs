//! Token endpoint flows and ARM bearer-token checks over real HTTP.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use aci_emulator::{Emulator, EmulatorConfig, TokenConfig};
use common::*;
use serde_json::Value;

const SCOPE: &str = "https://management.azure.com/.default";

async fn token(http: &reqwest::Client, base: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let body = url_encode(form);
    let r = http
        .post(format!("{base}/my-tenant/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn url_encode(form: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        s.append_pair(k, v);
    }
    s.finish()
}

async fn arm_status(http: &reqwest::Client, base: &str, token: Option<&str>) -> (u16, String) {
    let url =
        format!("{base}/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/containerGroups?{API}");
    let mut req = http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    if status == 401 {
        assert!(header(&r, "www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
        let (_, code) = error_code(r).await;
        (status, code)
    } else {
        (status, String::new())
    }
}

#[tokio::test]
async fn any_client_gets_a_token_by_secret_or_assertion() {
    let env = start(fast_config()).await;
    let (status, body) = token(
        &env.http,
        env.base(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "any"),
            ("client_secret", "any"),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let t = body["access_token"].as_str().unwrap();
    assert_eq!(arm_status(&env.http, env.base(), Some(t)).await.0, 200);

    let assertion = [
        ("grant_type", "client_credentials"),
        ("client_id", "wi-app"),
        ("scope", SCOPE),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", "eyJh.eyJi.sig"),
    ];
    let (status, body) = token(&env.http, env.base(), &assertion).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        arm_status(&env.http, env.base(), body["access_token"].as_str())
            .await
            .0,
        200
    );

    let (status, body) = token(
        &env.http,
        env.base(),
        &[("grant_type", "password"), ("client_id", "x"), ("scope", SCOPE)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, body) = token(
        &env.http,
        env.base(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(body["error_codes"].is_array() && body["trace_id"].is_string());
    assert_eq!(env.emu.state().tokens_issued.get("clientAssertion"), Some(&1));
}

#[tokio::test]
async fn arm_paths_answer_401_like_arm() {
    let env = start(fast_config()).await;
    assert_eq!(
        arm_status(&env.http, env.base(), None).await,
        (401, "AuthenticationFailed".to_owned())
    );
    assert_eq!(
        arm_status(&env.http, env.base(), Some("made-up")).await,
        (401, "InvalidAuthenticationToken".to_owned())
    );
    let r = env
        .http
        .get(format!("{}?{API}", env.rg_url("rg")))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, (401, "AuthenticationFailed".to_owned()));
    // Revocation makes a token that looked valid fail; a fresh one works.
    env.emu.revoke_tokens();
    assert_eq!(
        arm_status(&env.http, env.base(), Some(&env.token)).await,
        (401, "InvalidAuthenticationToken".to_owned())
    );
    assert_eq!(
        arm_status(&env.http, env.base(), Some(&env.emu.issue_token()))
            .await
            .0,
        200
    );
    // Admin and token endpoints need no token.
    assert_eq!(
        env.http
            .get(format!("{}/_emulator/state", env.base()))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn short_lived_tokens_expire() {
    let cfg = EmulatorConfig {
        token: TokenConfig {
            lifetime: Duration::from_secs(1),
            ..TokenConfig::default()
        },
        ..fast_config()
    };
    let env = start(cfg).await;
    let (_, body) = token(
        &env.http,
        env.base(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "a"),
            ("client_secret", "b"),
            ("scope", SCOPE),
        ],
    )
    .await;
    assert_eq!(body["expires_in"], 1);
    let t = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(arm_status(&env.http, env.base(), Some(&t)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        arm_status(&env.http, env.base(), Some(&t)).await,
        (401, "ExpiredAuthenticationToken".to_owned())
    );
}

#[tokio::test]
async fn fixed_credentials_are_enforced() {
    let token_cfg = TokenConfig {
        client_id: Some("app".into()),
        client_secret: Some("s3cret".into()),
        ..TokenConfig::default()
    };
    let emu = Emulator::start(EmulatorConfig {
        token: token_cfg,
        ..fast_config()
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let ok = [
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "s3cret"),
        ("scope", SCOPE),
    ];
    assert_eq!(token(&http, emu.base_url(), &ok).await.0, 200);
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", "app"),
        ("client_secret", "nope"),
        ("scope", SCOPE),
    ];
    let (status, body) = token(&http, emu.base_url(), &wrong).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert!(!body.to_string().contains("s3cret"), "the secret is never echoed");
    let other = [
        ("grant_type", "client_credentials"),
        ("client_id", "other"),
        ("client_secret", "s3cret"),
        ("scope", SCOPE),
    ];
    assert_eq!(
        token(&http, emu.base_url(), &other).await.1["error"],
        "unauthorized_client"
    );
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn imds_endpoint_issues_tokens_with_string_numbers() {
    let env = start(fast_config()).await;
    let url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F",
        env.base()
    );
    let r = env.http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400, "Metadata header required");
    let body: Value = env
        .http
        .get(&url)
        .header("Metadata", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["expires_in"].is_string() && body["expires_on"].is_string());
    assert_eq!(
        arm_status(&env.http, env.base(), body["access_token"].as_str())
            .await
            .0,
        200
    );
}
