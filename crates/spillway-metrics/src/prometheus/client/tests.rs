//! The client's HTTP behaviour against wiremock: parameters, auth headers,
//! status codes, timeouts and the size limit.

use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::prometheus::auth::SecretFile;

const OK: &str = r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000.5,"7"]}}"#;

fn at() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_500)
}

fn opts(url: &str) -> PrometheusOptions {
    PrometheusOptions {
        url: Url::parse(url).expect("url"),
        auth: Auth::None,
        timeout: Duration::from_secs(2),
        tls: TlsOptions::default(),
        limits: Limits::default(),
        freshness: Freshness::default(),
    }
}

fn client(o: PrometheusOptions) -> PrometheusClient {
    PrometheusClient::new(o).expect("client")
}

#[tokio::test]
async fn instant_query_sends_query_time_and_timeout_under_a_path_prefix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/prom/api/v1/query"))
        .and(query_param("query", "sum(up)"))
        .and(query_param("time", "1700000000.500"))
        .and(query_param("timeout", "2000ms"))
        .respond_with(ResponseTemplate::new(200).set_body_string(OK))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(opts(&format!("{}/prom", server.uri())));
    assert_eq!(c.instant("sum(up)", SeriesMode::Single, at()).await, Ok(7.0));
}

#[tokio::test]
async fn long_queries_are_posted_as_a_form() {
    let server = MockServer::start().await;
    let long = format!("sum(up{{job=~\"{}\"}})", "a|".repeat(2000));
    Mock::given(method("POST"))
        .and(path("/api/v1/query"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("time=1700000000.500"))
        .respond_with(ResponseTemplate::new(200).set_body_string(OK))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(opts(&server.uri()));
    assert_eq!(c.instant(&long, SeriesMode::Single, at()).await, Ok(7.0));
}

#[tokio::test]
async fn bearer_token_file_is_sent_and_rotation_is_picked_up() {
    let server = MockServer::start().await;
    for token in ["one", "two"] {
        Mock::given(path("/api/v1/query"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string(OK))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .with_priority(10)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("token");
    std::fs::write(&file, "one\n").expect("write");
    let c = client(PrometheusOptions {
        auth: Auth::Bearer(SecretFile::new(&file)),
        ..opts(&server.uri())
    });
    assert_eq!(c.instant("up", SeriesMode::Single, at()).await, Ok(7.0));
    let tmp = dir.path().join("token.tmp");
    std::fs::write(&tmp, "two").expect("write");
    std::fs::rename(&tmp, &file).expect("rename");
    assert_eq!(c.instant("up", SeriesMode::Single, at()).await, Ok(7.0));
    std::fs::write(&file, "three").expect("write");
    let e = c.instant("up", SeriesMode::Single, at()).await.expect_err("401");
    assert_eq!(
        e,
        SourceError::Http {
            status: 401,
            body: "Unauthorized".into()
        }
    );
}

#[tokio::test]
async fn basic_auth_header() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Basic cHJvbTpzM2NyZXQ="))
        .respond_with(ResponseTemplate::new(200).set_body_string(OK))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret").expect("write");
    let c = client(PrometheusOptions {
        auth: Auth::Basic {
            username: "prom".into(),
            password: SecretFile::new(&file),
        },
        ..opts(&server.uri())
    });
    assert_eq!(c.instant("up", SeriesMode::Single, at()).await, Ok(7.0));
}

#[tokio::test]
async fn api_errors_keep_their_type_and_other_statuses_are_http() {
    let server = MockServer::start().await;
    Mock::given(query_param("query", "slow"))
        .respond_with(ResponseTemplate::new(503).set_body_string(
            r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
        ))
        .mount(&server)
        .await;
    Mock::given(query_param("query", "proxy"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let c = client(opts(&server.uri()));
    assert_eq!(
        c.instant("slow", SeriesMode::Single, at()).await,
        Err(SourceError::Query {
            error_type: "timeout".into(),
            message: "query timed out in expression evaluation".into()
        })
    );
    let e = c
        .instant("proxy", SeriesMode::Single, at())
        .await
        .expect_err("502");
    assert!(
        matches!(e, SourceError::Http { status: 502, ref body } if body.contains("Bad Gateway")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/query"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(OK)
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let c = client(PrometheusOptions {
        timeout: Duration::from_millis(300),
        ..opts(&server.uri())
    });
    let started = std::time::Instant::now();
    let e = c
        .instant("up", SeriesMode::Single, at())
        .await
        .expect_err("timeout");
    assert_eq!(e, SourceError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            conns.push(s);
        }
    });
    let c = client(PrometheusOptions {
        timeout: Duration::from_millis(300),
        ..opts(&format!("http://{addr}"))
    });
    let e = c
        .instant("up", SeriesMode::Single, at())
        .await
        .expect_err("timeout");
    assert_eq!(e.metric_label(), "timeout");
    hold.abort();
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let server = MockServer::start().await;
    let big = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[]}},"pad":"{}"}}"#,
        "x".repeat(10_000)
    );
    Mock::given(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big))
        .mount(&server)
        .await;
    let c = client(PrometheusOptions {
        limits: Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        },
        ..opts(&server.uri())
    });
    assert_eq!(
        c.instant("up", SeriesMode::Sum, at()).await,
        Err(SourceError::TooLarge { limit: 4096 })
    );
}

#[tokio::test]
async fn range_query_parameters() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/query_range"))
        .and(query_param("start", "1700000000.000"))
        .and(query_param("end", "1700000060.000"))
        .and(query_param("step", "15000ms"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[1700000000,"1"],[1700000015,"2"]]}]}}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(opts(&server.uri()));
    let pts = c
        .range(
            "up",
            Timestamp::from_secs(1_700_000_000),
            Timestamp::from_secs(1_700_000_060),
            Duration::from_secs(15),
            SeriesMode::Single,
        )
        .await
        .expect("range");
    assert_eq!(pts.iter().map(|p| p.value).collect::<Vec<_>>(), vec![1.0, 2.0]);
    let bad = c
        .range(
            "up",
            Timestamp::from_secs(2),
            Timestamp::from_secs(1),
            Duration::from_secs(1),
            SeriesMode::Sum,
        )
        .await;
    assert_eq!(bad.map_err(|e| e.metric_label()), Err("config"));
}

#[test]
fn configuration_errors_are_typed() {
    let mut o = opts("ftp://example.invalid");
    assert_eq!(
        PrometheusClient::new(o.clone())
            .map(|_| ())
            .map_err(|e| e.metric_label()),
        Err("config")
    );
    o = opts("http://127.0.0.1:9");
    o.tls.ca_file = Some("/nonexistent/ca.pem".into());
    assert_eq!(
        PrometheusClient::new(o.clone())
            .map(|_| ())
            .map_err(|e| e.metric_label()),
        Err("config")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    o.tls.ca_file = Some(not_pem);
    let e = PrometheusClient::new(o).map(|_| ()).expect_err("no certificate");
    assert_eq!(e.metric_label(), "config");
    let mut only = opts("http://127.0.0.1:9");
    only.tls.ca_only = true;
    assert_eq!(
        PrometheusClient::new(only)
            .map(|_| ())
            .map_err(|e| e.metric_label()),
        Err("config")
    );
}

#[test]
fn evaluation_times_are_seconds_with_milliseconds() {
    assert_eq!(
        seconds(Timestamp::from_millis(1_700_000_000_005)),
        "1700000000.005"
    );
    assert_eq!(seconds(Timestamp::from_millis(-1)), "-0.001");
    let base = Url::parse("http://h:9090/prefix").expect("url");
    assert_eq!(
        endpoint(&base, "api/v1/query").map(|u| u.to_string()),
        Ok("http://h:9090/prefix/api/v1/query".into())
    );
}
