//! HTTPS with a generated CA, URLs built from the request's scheme and host (`X-Forwarded-*`
//! honoured), and the OIDC discovery documents MSAL reads.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::time::Duration;

use aci_emulator::{Emulator, EmulatorConfig, TlsMode};
use common::*;
use serde_json::Value;

fn tls_client(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn self_signed_https_serves_arm_with_https_urls() {
    let emu = Emulator::start(EmulatorConfig {
        tls: Some(TlsMode::SelfSigned),
        ..fast_config()
    })
    .await
    .unwrap();
    assert!(
        emu.base_url().starts_with("https://127.0.0.1:"),
        "{}",
        emu.base_url()
    );
    let http = tls_client(emu.ca_pem().expect("CA in self-signed mode"));
    let token = emu.issue_token();
    // Through "localhost" too: the certificate names it.
    let base = emu.base_url().replace("127.0.0.1", "localhost");
    let url = format!(
        "{base}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg-1?{API}"
    );
    let r = http
        .put(&url)
        .bearer_auth(&token)
        .json(&group_body("nginx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let op = header(&r, "azure-asyncoperation").unwrap();
    assert!(op.starts_with(&format!("{base}/subscriptions/")), "{op}");
    let r = http.get(&op).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A client that does not trust the CA is refused.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .unwrap();
    assert!(untrusting.get(&op).send().await.is_err());
    // MSAL's discovery points at the same scheme and host.
    let (status, conf) = {
        let r = http
            .get(format!("{base}/tenant-1/v2.0/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(
        conf["token_endpoint"],
        format!("{base}/tenant-1/oauth2/v2.0/token")
    );
    let r = http
        .post(conf["token_endpoint"].as_str().unwrap())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "s"),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    emu.shutdown().await.unwrap();
}

#[tokio::test]
async fn urls_follow_forwarded_headers() {
    let env = start(aci_emulator::EmulatorConfig {
        page_size: 1,
        ..fast_config()
    })
    .await;
    for name in ["a-1", "a-2"] {
        assert_eq!(
            env.put("rg", name, &group_body("nginx")).await.status().as_u16(),
            201
        );
    }
    let proxied = |r: reqwest::RequestBuilder| {
        r.bearer_auth(&env.token)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "arm.example.test:8443, inner.proxy")
    };
    let r = proxied(env.http.put(env.group_url("rg", "a-3")))
        .json(&group_body("nginx"))
        .send()
        .await
        .unwrap();
    let op = header(&r, "azure-asyncoperation").unwrap();
    assert!(
        op.starts_with("https://arm.example.test:8443/subscriptions/"),
        "{op}"
    );
    let page: Value = proxied(env.http.get(format!("{}?{API}", env.rg_url("rg"))))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = page["nextLink"].as_str().unwrap();
    assert!(
        next.starts_with("https://arm.example.test:8443/subscriptions/"),
        "{next}"
    );
    let r = proxied(env.http.delete(env.group_url("rg", "a-1")))
        .send()
        .await
        .unwrap();
    assert!(
        header(&r, "azure-asyncoperation")
            .unwrap()
            .starts_with("https://arm.example.test:8443/")
    );
    // Without forwarding headers the Host header decides.
    let r = env.put("rg", "a-4", &group_body("nginx")).await;
    assert!(
        header(&r, "azure-asyncoperation")
            .unwrap()
            .starts_with(env.base())
    );
    // Instance discovery answers for the authority asked about.
    let v: Value = proxied(env.http.get(format!(
        "{}/common/discovery/instance?api-version=1.1&authorization_endpoint=https://arm.example.test:8443/t9/oauth2/v2.0/authorize",
        env.base()
    )))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        v["tenant_discovery_endpoint"],
        "https://arm.example.test:8443/t9/v2.0/.well-known/openid-configuration"
    );
}

/// A directory under the system temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("aci-emulator-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn certificate_and_key_files_serve_https_and_bad_files_are_named() {
    // What an operator brings: a certificate for the emulator's name and its key, as PEM.
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let dir = TempDir::new("tls-files");
    let cert_path = dir.0.join("cert.pem");
    let key_path = dir.0.join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let emu = Emulator::start(EmulatorConfig {
        tls: Some(TlsMode::Files {
            cert: cert_path.clone(),
            key: key_path.clone(),
        }),
        ..fast_config()
    })
    .await
    .unwrap();
    assert!(emu.ca_pem().is_none(), "no generated CA with files");
    let base = emu.base_url().replace("127.0.0.1", "localhost");
    assert!(base.starts_with("https://localhost:"), "{base}");
    let http = tls_client(&cert.pem());
    let url = format!(
        "{base}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/cg-1?{API}"
    );
    let r = http
        .put(&url)
        .bearer_auth(emu.issue_token())
        .json(&group_body("nginx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(
        header(&r, "azure-asyncoperation")
            .unwrap()
            .starts_with(&format!("{base}/"))
    );
    emu.shutdown().await.unwrap();

    // A certificate file without a certificate, and a key file that is not there: each
    // refusal names its file.
    let empty = dir.0.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let missing = dir.0.join("missing-key.pem");
    for (cert, key, named) in [(&empty, &key_path, &empty), (&cert_path, &missing, &missing)] {
        let started = Emulator::start(EmulatorConfig {
            tls: Some(TlsMode::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            ..fast_config()
        })
        .await;
        let Err(err) = started else {
            panic!(
                "{} / {}: bad TLS files must be refused",
                cert.display(),
                key.display()
            );
        };
        let text = format!("{err}");
        assert!(
            text.contains(&named.display().to_string()),
            "{text} should name {}",
            named.display()
        );
    }
}
