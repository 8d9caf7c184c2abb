//! The token flows against a wiremock token endpoint over loopback HTTP.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use azure_auth::{
    ARM_SCOPE, AuthError, CachedTokenProvider, ClientSecretCredential, HttpOptions,
    ManagedIdentityCredential, ManualClock, SecretSource, TokenProvider, UserAssignedId,
    WorkloadIdentityCredential,
};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "sup3r-s3cret-value";

fn fast_http(retries: u32) -> HttpOptions {
    HttpOptions {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        max_retries: retries,
        retry_base_delay: Duration::from_millis(10),
    }
}

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    serde_json::json!({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token})
}

fn secret_provider(
    server: &MockServer,
    clock: Arc<ManualClock>,
) -> CachedTokenProvider<ClientSecretCredential> {
    let cred = ClientSecretCredential::new("tenant-1", "client-1", SecretSource::Value(SECRET.into()))
        .with_authority(server.uri())
        .with_http(fast_http(0));
    CachedTokenProvider::new(cred).with_clock(clock)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(SystemTime::now()))
}

#[tokio::test]
async fn client_secret_sends_the_flow_and_caches() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=client-1"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        ))
        .and(body_string_contains(format!("client_secret={SECRET}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3599)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = clock();
    let p = secret_provider(&server, clock.clone());
    let t = p.token(ARM_SCOPE).await.unwrap();
    assert_eq!(t.secret(), "tok-1");
    // Cached: more calls, and time short of the refresh point, make no request.
    clock.advance(Duration::from_secs(1700));
    for _ in 0..5 {
        assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "tok-1");
    }
    let dbg = format!("{p:?}");
    assert!(!dbg.contains(SECRET), "Debug leaks the secret: {dbg}");
}

#[tokio::test]
async fn refreshes_ahead_of_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-a", 3600)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-b", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = clock();
    let p = secret_provider(&server, clock.clone());
    let first = p.token(ARM_SCOPE).await.unwrap();
    assert_eq!(first.secret(), "tok-a");
    clock.advance(Duration::from_secs(1799));
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "tok-a");
    // Past half the lifetime, still 30 min before expiry: a new token.
    clock.advance(Duration::from_secs(2));
    let second = p.token(ARM_SCOPE).await.unwrap();
    assert_eq!(second.secret(), "tok-b");
    assert!(second.expires_at > first.expires_at);
}

#[tokio::test]
async fn one_refresh_in_flight_under_concurrency() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("tok-once", 3600))
                .set_delay(Duration::from_millis(150)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = Arc::new(secret_provider(&server, clock()));
    let calls = (0..40).map(|_| {
        let p = p.clone();
        tokio::spawn(async move { p.token(ARM_SCOPE).await })
    });
    for h in futures_join(calls).await {
        assert_eq!(h.unwrap().secret(), "tok-once");
    }
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<T, AuthError>>>,
) -> Vec<Result<T, AuthError>> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn rejected_secret_maps_without_leaking() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value ({SECRET})."),
            "error_codes": [7000215]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = secret_provider(&server, clock());
    let e = p.token(ARM_SCOPE).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::Rejected { status: 401, code, .. } if code == "invalid_client"),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(e.metric_label(), "auth_rejected");
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(SECRET), "error leaks the secret: {text}");
    }
}

#[tokio::test]
async fn failed_refresh_serves_the_still_valid_token_then_errors_after_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 600)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("unavailable"))
        .mount(&server)
        .await;
    let clock = clock();
    let p = secret_provider(&server, clock.clone());
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "tok-1");
    clock.advance(Duration::from_secs(400)); // past refresh point (300 s), before expiry
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "tok-1");
    clock.advance(Duration::from_secs(300)); // expired
    let e = p.token(ARM_SCOPE).await.unwrap_err();
    assert!(matches!(e, AuthError::Rejected { status: 503, .. }), "{e:?}");
    assert!(e.is_transient());
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("after-retry", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let cred = ClientSecretCredential::new("tenant-1", "client-1", SecretSource::Value(SECRET.into()))
        .with_authority(format!("{}/", server.uri()))
        .with_http(fast_http(2));
    let p = CachedTokenProvider::new(cred);
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "after-retry");
}

#[tokio::test]
async fn invalidate_forces_a_new_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t", 3600)))
        .expect(2)
        .mount(&server)
        .await;
    let p = secret_provider(&server, clock());
    p.token(ARM_SCOPE).await.unwrap();
    p.token(ARM_SCOPE).await.unwrap();
    p.invalidate(ARM_SCOPE);
    p.token(ARM_SCOPE).await.unwrap();
}

#[tokio::test]
async fn unreachable_endpoint_is_a_transport_error() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cred = ClientSecretCredential::new("t", "c", SecretSource::Value(SECRET.into()))
        .with_authority(format!("http://127.0.0.1:{port}"))
        .with_http(fast_http(0));
    let e = CachedTokenProvider::new(cred).token(ARM_SCOPE).await.unwrap_err();
    assert!(matches!(e, AuthError::Transport(_)), "{e:?}");
    assert!(!e.to_string().contains(SECRET));
}

#[tokio::test]
async fn secret_file_is_read_per_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_secret=first-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("one", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("client_secret=rotated-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("two", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "first-secret\n").unwrap();
    let cred = ClientSecretCredential::new("t", "c", SecretSource::File(file.clone()))
        .with_authority(server.uri())
        .with_http(fast_http(0));
    let p = CachedTokenProvider::new(cred);
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "one");
    std::fs::write(&file, "rotated-secret\n").unwrap();
    p.invalidate(ARM_SCOPE);
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "two");
}

#[tokio::test]
async fn workload_identity_rereads_the_federated_token() {
    let server = MockServer::start().await;
    let base = [
        "grant_type=client_credentials",
        "client_id=wi-client",
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
    ];
    for (assertion, token) in [("eyJ.projected.one", "wi-1"), ("eyJ.projected.two", "wi-2")] {
        let mut m = Mock::given(method("POST")).and(path("/wi-tenant/oauth2/v2.0/token"));
        for b in base {
            m = m.and(body_string_contains(b));
        }
        m.and(body_string_contains(format!("client_assertion={assertion}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(token_body(token, 3600)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "eyJ.projected.one").unwrap();
    let file_s = file.display().to_string();
    let authority = format!("{}/", server.uri());
    let env = |k: &str| match k {
        "AZURE_TENANT_ID" => Some("wi-tenant".to_string()),
        "AZURE_CLIENT_ID" => Some("wi-client".to_string()),
        "AZURE_FEDERATED_TOKEN_FILE" => Some(file_s.clone()),
        "AZURE_AUTHORITY_HOST" => Some(authority.clone()),
        _ => None,
    };
    let cred = WorkloadIdentityCredential::from_lookup(env)
        .unwrap()
        .with_http(fast_http(0));
    let clock = clock();
    let p = CachedTokenProvider::new(cred).with_clock(clock.clone());
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "wi-1");
    // Kubelet rotates the projected token; the next exchange must send the new one.
    std::fs::write(&file, "eyJ.projected.two").unwrap();
    clock.advance(Duration::from_secs(1801));
    assert_eq!(p.token(ARM_SCOPE).await.unwrap().secret(), "wi-2");
    // A missing file is a configuration error naming the file, not the token.
    std::fs::remove_file(&file).unwrap();
    p.invalidate(ARM_SCOPE);
    let e = p.token(ARM_SCOPE).await.unwrap_err();
    assert!(
        matches!(&e, AuthError::Config(m) if m.contains("azure-identity-token")),
        "{e:?}"
    );
}

#[tokio::test]
async fn managed_identity_through_imds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(header("Metadata", "true"))
        .and(query_param("api-version", "2018-02-01"))
        .and(query_param("resource", "https://management.azure.com/"))
        .and(query_param("client_id", "uami-1"))
        .respond_with(ResponseTemplate::new(410))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/metadata/identity/oauth2/token"))
        .and(header("Metadata", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "mi-token", "refresh_token": "", "expires_in": "3599",
            "expires_on": "1506484173", "not_before": "1506480273",
            "resource": "https://management.azure.com/", "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let cred = ManagedIdentityCredential::new(Some(UserAssignedId::ClientId("uami-1".into())))
        .with_endpoint(format!("{}/metadata/identity/oauth2/token", server.uri()))
        .with_http(fast_http(3));
    let clock = clock();
    let p = CachedTokenProvider::new(cred).with_clock(clock.clone());
    let t = p.token(ARM_SCOPE).await.unwrap();
    assert_eq!(t.secret(), "mi-token");
    assert_eq!(t.expires_at, clock.now_for_test() + Duration::from_secs(3599));
}

trait NowForTest {
    fn now_for_test(&self) -> SystemTime;
}
impl NowForTest for ManualClock {
    fn now_for_test(&self) -> SystemTime {
        azure_auth::Clock::now(self)
    }
}
