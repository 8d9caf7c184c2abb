use std::time::{Duration, Instant};

use super::*;

fn limits() -> Limits {
    Limits::default()
}

fn instant(body: &str) -> Result<Parsed<InstantData>, SourceError> {
    parse_instant(body.as_bytes(), &limits())
}

fn label(r: Result<Parsed<InstantData>, SourceError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.metric_label(),
    }
}

/// A vector body of `n` series with values 0..n, as Prometheus writes it.
pub(crate) fn big_vector(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 60 + 100);
    out.extend_from_slice(br#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(r#"{{"metric":{{"pod":"web-{i}"}},"value":[1700000000.123,"{i}"]}}"#).as_bytes(),
        );
    }
    out.extend_from_slice(b"]}}");
    out
}

#[test]
fn vector_with_labels_values_and_timestamps() {
    let body = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"up","job":"a"},"value":[1700000000.5,"1"]},
        {"metric":{"job":"b"},"value":[1700000001,"2.25"]}]}}"#;
    let p = instant(body).expect("parses");
    let InstantData::Vector(v) = p.data else {
        panic!("{:?}", p.data)
    };
    assert_eq!(v.series, 2);
    assert_eq!(v.sum, 3.25);
    assert_eq!(
        v.first,
        Some(Sample {
            timestamp_ms: 1_700_000_000_500,
            value: 1.0
        })
    );
    assert_eq!(v.oldest_ms, Some(1_700_000_000_500));
    assert_eq!(v.newest_ms, Some(1_700_000_001_000));
    assert_eq!(v.examples, vec![r#"{__name__="up", job="a"}"#, r#"{job="b"}"#]);
    assert!(p.warnings.is_empty());
}

#[test]
fn result_before_result_type_is_understood() {
    let body =
        r#"{"data":{"result":[{"value":[1,"5"],"metric":{}}],"resultType":"vector"},"status":"success"}"#;
    let p = instant(body).expect("parses");
    assert!(matches!(
        p.data,
        InstantData::Vector(VectorStats {
            series: 1,
            sum: 5.0,
            ..
        })
    ));
}

#[test]
fn empty_vector() {
    let p = instant(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#).expect("parses");
    assert_eq!(p.data, InstantData::Vector(VectorStats::default()));
}

#[test]
fn scalar_string_and_matrix() {
    let s = instant(r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"-Inf"]}}"#);
    let InstantData::Scalar(s) = s.expect("scalar").data else {
        panic!()
    };
    assert_eq!(s.value, f64::NEG_INFINITY);
    let st = instant(r#"{"status":"success","data":{"resultType":"string","result":[1700000000,"x"]}}"#);
    assert_eq!(st.expect("string").data, InstantData::String);
    let m = instant(
        r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1,"1"],[2,"2"]]},{"metric":{"a":"b"},"values":[]}]}}"#,
    );
    assert_eq!(m.expect("matrix").data, InstantData::Matrix { series: 2 });
}

#[test]
fn error_envelope_is_a_typed_query_error() {
    let body =
        r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#;
    let err = instant(body).expect_err("error status");
    assert_eq!(
        err,
        SourceError::Query {
            error_type: "bad_data".into(),
            message: "1:5: parse error: unexpected end of input".into()
        }
    );
    let range = parse_range(body.as_bytes(), &limits()).expect_err("error status");
    assert_eq!(range.metric_label(), "query_error");
}

#[test]
fn warnings_are_kept_and_bounded() {
    let many: Vec<String> = (0..100).map(|i| format!("\"w{i}\"")).collect();
    let body = format!(
        r#"{{"status":"success","warnings":[{}],"data":{{"resultType":"vector","result":[]}}}}"#,
        many.join(",")
    );
    let p = instant(&body).expect("parses");
    assert_eq!(p.warnings.len(), WARNINGS_KEPT + 1);
    assert_eq!(p.warnings[0], "w0");
    assert_eq!(p.warnings[WARNINGS_KEPT], "(and 92 more)");
}

#[test]
fn values_prometheus_writes() {
    assert_eq!(parse_value("1e3").ok(), Some(1000.0));
    assert!(parse_value("NaN").is_ok_and(f64::is_nan));
    assert_eq!(parse_value("+Inf").ok(), Some(f64::INFINITY));
    assert_eq!(parse_value("-Inf").ok(), Some(f64::NEG_INFINITY));
    assert_eq!(parse_value("1,5").map_err(|e| e.metric_label()), Err("malformed"));
    assert_eq!(parse_value("").map_err(|e| e.metric_label()), Err("malformed"));
}

#[test]
fn truncated_json_at_every_cut_is_a_typed_error() {
    let body = r#"{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000,"1"]}]}}"#;
    for cut in 0..body.len() {
        let r = instant(&body[..cut]);
        assert_eq!(label(r), "malformed", "cut at {cut}: {:?}", &body[..cut]);
    }
    assert_eq!(label(instant(body)), "ok");
}

#[test]
fn wrong_types_are_malformed() {
    let cases = [
        r#"[]"#,
        r#""success""#,
        r#"{"status":1}"#,
        r#"{"status":"success"}"#,
        r#"{"status":"success","data":{"result":[]}}"#,
        r#"{"status":"success","data":{"resultType":"vector"}}"#,
        r#"{"status":"success","data":[]}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":{}}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[1,"2"]}}"#,
        r#"{"status":"success","data":{"resultType":"scalar","result":[]}}"#,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1]}}"#,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1,2]}}"#,
        r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2",3]}}"#,
        r#"{"status":"success","data":{"resultType":"scalar","result":["1","2"]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","2"]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"2"]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"values":[[1,"2"]]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1e300,"2"]}]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[]},"status":"success"} trailing"#,
        r#"{"status":"weird","data":{"resultType":"vector","result":[]}}"#,
        r#"{"status":"success","data":{"resultType":"vector","result":[],"result":[]}}"#,
    ];
    for body in cases {
        assert_eq!(label(instant(body)), "malformed", "{body}");
    }
    let unknown = r#"{"status":"success","data":{"resultType":"histogram","result":[]}}"#;
    assert_eq!(label(instant(unknown)), "unsupported");
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let depth = 100_000;
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"x":{}{}}}]}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_eq!(label(instant(&body)), "malformed");
}

#[test]
fn bodies_over_the_size_limit_are_rejected_before_parsing() {
    let small = Limits {
        max_body_bytes: 1024,
        ..limits()
    };
    let body = big_vector(100);
    assert!(body.len() > 1024);
    let started = Instant::now();
    assert_eq!(
        parse_instant(&body, &small),
        Err(SourceError::TooLarge { limit: 1024 })
    );
    assert_eq!(
        parse_range(&body, &small).map(|_| ()),
        Err(SourceError::TooLarge { limit: 1024 })
    );
    assert!(started.elapsed() < Duration::from_millis(50));
}

#[test]
fn series_limit_stops_an_instant_vector() {
    let l = Limits {
        max_series: 10,
        ..limits()
    };
    assert_eq!(
        parse_instant(&big_vector(11), &l),
        Err(SourceError::TooManySeries { limit: 10 })
    );
    assert!(parse_instant(&big_vector(10), &l).is_ok());
}

#[test]
fn a_million_series_fold_in_bounded_time() {
    // 10^6 series is ~55 MB of JSON: over the default size limit, and
    // rejected at once; with the limits raised it folds without keeping any
    // series (memory: see tests/parser_memory.rs) in a few seconds even
    // unoptimized.
    let n = 1_000_000;
    let body = big_vector(n);
    assert_eq!(
        parse_instant(&body, &limits()),
        Err(SourceError::TooLarge {
            limit: limits().max_body_bytes
        })
    );
    let open = Limits {
        max_body_bytes: usize::MAX,
        max_series: usize::MAX,
        max_points: usize::MAX,
    };
    let started = Instant::now();
    let p = parse_instant(&body, &open).expect("parses");
    let elapsed = started.elapsed();
    let InstantData::Vector(v) = p.data else { panic!() };
    assert_eq!(v.series, n);
    assert_eq!(v.sum, (n as f64 - 1.0) * n as f64 / 2.0);
    assert_eq!(v.examples.len(), EXAMPLES_KEPT);
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let defaults = parse_instant(
        &body,
        &Limits {
            max_body_bytes: usize::MAX,
            ..limits()
        },
    );
    assert_eq!(
        defaults.map(|_| ()),
        Err(SourceError::TooManySeries { limit: 50_000 })
    );
}

#[test]
fn range_matrix_keeps_labels_and_points() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"pod":"a"},"values":[[1700000000,"1"],[1700000015,"NaN"]]},
        {"metric":{"pod":"b"},"values":[[1700000000,"3"]]}]}}"#;
    let p = parse_range(body.as_bytes(), &limits()).expect("parses");
    assert_eq!(p.data.series.len(), 2);
    assert_eq!(p.data.series[0].labels.get("pod").map(String::as_str), Some("a"));
    assert_eq!(p.data.series[0].points.len(), 2);
    assert!(p.data.series[0].points[1].value.is_nan());
    assert_eq!(p.data.series[1].points[0].timestamp_ms, 1_700_000_000_000);
}

#[test]
fn range_limits_and_wrong_result_types() {
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{},"values":[[1,"1"],[2,"1"],[3,"1"]]},{"metric":{},"values":[[1,"1"],[2,"1"]]}]}}"#;
    let points = Limits {
        max_points: 4,
        ..limits()
    };
    assert_eq!(
        parse_range(body.as_bytes(), &points).map(|_| ()),
        Err(SourceError::TooManyPoints { limit: 4 })
    );
    let series = Limits {
        max_series: 1,
        ..limits()
    };
    assert_eq!(
        parse_range(body.as_bytes(), &series).map(|_| ()),
        Err(SourceError::TooManySeries { limit: 1 })
    );
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    assert_eq!(
        parse_range(vector.as_bytes(), &limits()).map_err(|e| e.metric_label()),
        Err("unsupported")
    );
    let bad =
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"value":[1,"1"]}]}}"#;
    assert_eq!(
        parse_range(bad.as_bytes(), &limits()).map_err(|e| e.metric_label()),
        Err("malformed")
    );
}
