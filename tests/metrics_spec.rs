//! The metrics cases written from the issue text (issue 9), as an independent tester would:
//! black-box, through the public API, with the exposition checked against the rules of the
//! Prometheus text format 0.0.4.
// `gateway` turns on metrics, router, canary, cors and origin: every layer these cases use.
#![cfg(feature = "gateway")]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use common::{is_label_name, is_metric_name, ok, ok_or_204, respond};
use futures_util::stream;
use http::{header, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::canary::{CanaryLayer, Mode};
use tower_gateway::clock::ManualClock;
use tower_gateway::cors::CorsConfig;
use tower_gateway::metrics::{
    Labels, MetricsConfig, MetricsService, Refusal, Registry, CONTENT_TYPE,
};
use tower_gateway::origin::OriginGuardLayer;
use tower_gateway::router::Router;

type Body = Full<Bytes>;

fn failing() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
       + Send
       + Sync
       + 'static {
    service_fn(|_req: Request<Body>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(b"oops")));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        Ok::<_, Infallible>(response)
    })
}

fn req(method: Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::default())
        .unwrap()
}

// ---- a small parser for the text format, checking its rules as it goes

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        _ => s.parse().unwrap_or_else(|_| panic!("bad value {s:?}")),
    }
}

/// Parses the exposition, asserting the format's rules: HELP then TYPE once per family, before
/// its samples; samples of one family together; valid names; only `\\`, `\"` and `\n` escapes
/// in label values; a final line break.
fn parse(text: &str) -> (HashMap<String, String>, Vec<Sample>) {
    assert!(
        text.ends_with('\n'),
        "the exposition ends with a line break"
    );
    let mut types = HashMap::new();
    let mut helps = HashMap::new();
    let mut samples = Vec::new();
    let mut finished_families: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        assert!(!line.is_empty(), "no empty lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            assert!(is_metric_name(name));
            assert!(!help.contains('\n'));
            assert!(
                helps.insert(name.to_owned(), help.to_owned()).is_none(),
                "one HELP for {name}"
            );
            assert!(!types.contains_key(name), "HELP before TYPE for {name}");
            if let Some(cur) = current.replace(name.to_owned()) {
                finished_families.push(cur);
            }
            assert!(
                !finished_families.contains(&name.to_owned()),
                "{name} appears twice"
            );
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind));
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "one TYPE for {name}"
            );
            assert_eq!(current.as_deref(), Some(name), "TYPE follows its HELP");
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment {line}");
        // name{labels} value
        let (name, rest) = match line.find(['{', ' ']) {
            Some(at) => line.split_at(at),
            None => panic!("no value: {line}"),
        };
        assert!(is_metric_name(name), "{name}");
        let mut labels = BTreeMap::new();
        let rest = if let Some(mut inner) = rest.strip_prefix('{') {
            loop {
                if let Some(after) = inner.strip_prefix('}') {
                    inner = after;
                    break;
                }
                let eq = inner.find('=').expect("label =");
                let label = &inner[..eq];
                assert!(is_label_name(label), "label name {label:?}");
                inner = inner[eq + 1..].strip_prefix('"').expect("quoted value");
                let mut value = String::new();
                let mut chars = inner.char_indices();
                let end = loop {
                    let (i, c) = chars.next().expect("closing quote");
                    match c {
                        '\\' => match chars.next().expect("escape").1 {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            other => panic!("bad escape \\{other} in {line}"),
                        },
                        '"' => break i,
                        '\n' => panic!("raw line break"),
                        c => value.push(c),
                    }
                };
                assert!(
                    labels.insert(label.to_owned(), value).is_none(),
                    "repeated label"
                );
                inner = &inner[end + 1..];
                if let Some(after) = inner.strip_prefix(',') {
                    inner = after;
                }
            }
            inner
        } else {
            rest
        };
        let value = rest.strip_prefix(' ').expect("space before value");
        let value = value.split(' ').next().unwrap(); // an optional timestamp follows
        let family = current.clone().expect("samples follow a TYPE");
        let kind = types.get(&family).expect("typed");
        if kind == "histogram" {
            assert!(
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| name == format!("{family}{s}")),
                "{name} in histogram {family}"
            );
        } else {
            assert_eq!(name, family, "sample of family {family}");
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value: parse_value(value),
        });
    }
    // Histograms: cumulative buckets, +Inf equal to _count, _sum present.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut labels = s.labels.clone();
            let le = labels.remove("le").expect("bucket has le");
            series
                .entry(labels)
                .or_default()
                .push((parse_value(&le), s.value));
        }
        for (labels, buckets) in series {
            for pair in buckets.windows(2) {
                assert!(pair[0].0 < pair[1].0, "le increasing");
                assert!(pair[0].1 <= pair[1].1, "cumulative");
            }
            let last = buckets.last().unwrap();
            assert_eq!(last.0, f64::INFINITY, "a +Inf bucket");
            let count = samples
                .iter()
                .find(|s| s.name == format!("{family}_count") && s.labels == labels)
                .expect("_count");
            assert_eq!(count.value, last.1, "+Inf == _count");
            assert!(samples
                .iter()
                .any(|s| s.name == format!("{family}_sum") && s.labels == labels));
        }
    }
    (types, samples)
}

fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let hits: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && want
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    if hits.is_empty() {
        None
    } else {
        Some(hits.iter().map(|s| s.value).sum())
    }
}

// ---- the composed stack of the issue's tests

fn stack(
    registry: &Registry,
    clock: &ManualClock,
) -> impl Service<
    Request<Body>,
    Response = Response<impl http_body::Body<Data = Bytes, Error = impl std::fmt::Debug>>,
    Error = Infallible,
> + Clone {
    let pets = CanaryLayer::builder()
        .arm("v2", failing(), 50)
        .stable("v1", 50)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(ok("v1"));
    let router = Router::builder()
        .route("GET /pets/{id}", pets)
        .route("POST /pets", ok("created"))
        .build()
        .unwrap();
    let cors = CorsConfig::new()
        .allow_origin("https://app.example.com")
        .allow_methods(["PUT"])
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(registry.layer().clock(clock.clone()))
        .layer(cors)
        .layer(OriginGuardLayer::new())
        .service(router.layer(service_fn(|_req: Request<Body>| async {
            let mut response = Response::new(Body::default());
            *response.status_mut() = StatusCode::NOT_FOUND;
            Ok::<_, Infallible>(response)
        })))
}

async fn call<S, B>(svc: &S, request: Request<Body>) -> StatusCode
where
    S: Service<Request<Body>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = respond(svc, request).await;
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

/// Asserts the exposition's `gateway_requests_total` and `gateway_response_aborted_total`.
fn assert_totals(registry: &Registry, requests: f64, aborted: f64) {
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(&samples, "gateway_requests_total", &[]),
        Some(requests),
        "gateway_requests_total"
    );
    assert_eq!(
        value(&samples, "gateway_response_aborted_total", &[]),
        Some(aborted),
        "gateway_response_aborted_total"
    );
}

#[tokio::test]
async fn known_sequence_through_router_canary_origin_guard_and_cors() {
    let registry = Registry::builder().buckets([0.1, 1.0]).build().unwrap();
    let clock = ManualClock::at_unix(0);
    let app = stack(&registry, &clock);
    for i in 0..4 {
        call(&app, req(Method::GET, &format!("/pets/{i}"))).await;
    }
    // Refusals of each kind.
    let preflight = Request::options("/pets/1")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "PUT")
        .body(Body::default())
        .unwrap();
    assert_eq!(call(&app, preflight).await, StatusCode::FORBIDDEN);
    let cross = Request::post("/pets")
        .header("host", "api.example.com")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::default())
        .unwrap();
    assert_eq!(call(&app, cross).await, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, req(Method::DELETE, "/pets/1")).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(call(&app, req(Method::POST, "/pets")).await, StatusCode::OK);

    let (types, samples) = parse(&registry.render());
    assert_eq!(types["gateway_requests_total"], "counter");
    assert_eq!(types["gateway_time_to_headers_seconds"], "histogram");
    assert_eq!(types["gateway_time_to_last_byte_seconds"], "histogram");
    assert_eq!(types["gateway_requests_in_flight"], "gauge");
    let total = |l: &[(&str, &str)]| value(&samples, "gateway_requests_total", l);
    assert_eq!(
        total(&[("route", "/pets/{id}"), ("arm", "v1"), ("status", "200")]),
        Some(2.0)
    );
    assert_eq!(
        total(&[("route", "/pets/{id}"), ("arm", "v2"), ("status", "503")]),
        Some(2.0)
    );
    assert_eq!(
        total(&[("refusal", "cors_preflight"), ("method", "OPTIONS")]),
        Some(1.0)
    );
    assert_eq!(
        total(&[("refusal", "origin"), ("status", "403")]),
        Some(1.0)
    );
    assert_eq!(
        total(&[("refusal", "method_not_allowed"), ("status", "405")]),
        Some(1.0)
    );
    assert_eq!(
        total(&[("route", "/pets"), ("method", "POST"), ("refusal", "")]),
        Some(1.0)
    );
    assert_eq!(total(&[]), Some(8.0));
    assert_eq!(
        value(
            &samples,
            "gateway_request_errors_total",
            &[("arm", "v2"), ("class", "5xx")]
        ),
        Some(2.0)
    );
    assert_eq!(registry.total_requests(), 8);
    assert_eq!(registry.in_flight(), 0);
    // Every request took no time on the manual clock: all in the first bucket.
    assert_eq!(
        value(
            &samples,
            "gateway_time_to_last_byte_seconds_bucket",
            &[("le", "0.1")]
        ),
        Some(8.0)
    );
}

#[tokio::test]
async fn no_route_is_one_series_for_ten_thousand_paths() {
    let registry = Registry::new();
    let router = Router::builder()
        .route("GET /pets/{id}", ok("pet"))
        .build()
        .unwrap();
    let app = registry.layer().layer(router);
    for i in 0..10_000 {
        let status = call(&app, req(Method::GET, &format!("/random/{i}/x{i}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    for i in 0..100 {
        call(&app, req(Method::GET, &format!("/pets/{i}"))).await;
    }
    assert_eq!(registry.series_count(), 2);
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[("route", ""), ("refusal", "no_route")]
        ),
        Some(10_000.0)
    );
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[("route", "/pets/{id}")]
        ),
        Some(100.0)
    );
    assert!(!registry.render().contains("/random/"));
}

#[tokio::test]
async fn unmatched_label_is_configurable_and_escaped() {
    let registry = Registry::builder()
        .unmatched_label("un\"matched\\\nroute")
        .build()
        .unwrap();
    let app = registry.layer().layer(ok("app"));
    call(&app, req(Method::GET, "/x")).await;
    let text = registry.render();
    assert!(
        text.contains("gateway_requests_total{route=\"un\\\"matched\\\\\\nroute\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"} 1\n"),
        "{text}"
    );
    let (_, samples) = parse(&text);
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[("route", "un\"matched\\\nroute")]
        ),
        Some(1.0)
    );
}

#[test]
fn arm_names_are_escaped_in_label_values() {
    let registry = Registry::new();
    let labels = Labels {
        route: Some("/a"),
        method: "GET",
        status: 200,
        arm: Some("we\"ird\\arm\n"),
        canary: true,
        refusal: None,
    };
    registry.record(&labels, Duration::ZERO, Duration::ZERO);
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[("arm", "we\"ird\\arm\n")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn methods_outside_the_standard_set_are_other() {
    let registry = Registry::new();
    let app = registry.layer().layer(ok("app"));
    for m in ["PROPFIND", "BREW", "X-CUSTOM"] {
        call(&app, req(Method::from_bytes(m.as_bytes()).unwrap(), "/")).await;
    }
    call(&app, req(Method::PATCH, "/")).await;
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("method", "OTHER")]),
        Some(3.0)
    );
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("method", "PATCH")]),
        Some(1.0)
    );
    assert_eq!(registry.series_count(), 2);
}

#[tokio::test]
async fn histograms_put_requests_in_exact_buckets_with_sum_and_count() {
    let registry = Registry::builder()
        .buckets([0.1, 0.5, 1.0])
        .build()
        .unwrap();
    let clock = ManualClock::at_unix(0);
    let inner_clock = clock.clone();
    let inner = service_fn(move |_req: Request<Body>| {
        let clock = inner_clock.clone();
        async move {
            clock.advance(Duration::from_millis(200)); // time to headers
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"x"))))
        }
    });
    let app = registry.layer().clock(clock.clone()).layer(inner);
    for extra in [0, 600, 2_000] {
        let response = respond(&app, req(Method::GET, "/")).await;
        clock.advance(Duration::from_millis(extra));
        response.into_body().collect().await.unwrap();
    }
    let text = registry.render();
    let (_, samples) = parse(&text);
    let bucket = |name: &str, le: &str| value(&samples, name, &[("le", le)]).unwrap();
    let h = "gateway_time_to_headers_seconds_bucket";
    assert_eq!(
        [
            bucket(h, "0.1"),
            bucket(h, "0.5"),
            bucket(h, "1.0"),
            bucket(h, "+Inf")
        ],
        [0.0, 3.0, 3.0, 3.0]
    );
    let t = "gateway_time_to_last_byte_seconds_bucket";
    assert_eq!(
        [
            bucket(t, "0.1"),
            bucket(t, "0.5"),
            bucket(t, "1.0"),
            bucket(t, "+Inf")
        ],
        [0.0, 1.0, 2.0, 3.0]
    );
    let sum = value(&samples, "gateway_time_to_last_byte_seconds_sum", &[]).unwrap();
    assert!((sum - 3.2).abs() < 1e-9, "{sum}");
    let sum = value(&samples, "gateway_time_to_headers_seconds_sum", &[]).unwrap();
    assert!((sum - 0.6).abs() < 1e-9, "{sum}");
    assert_eq!(
        value(&samples, "gateway_time_to_last_byte_seconds_count", &[]),
        Some(3.0)
    );
}

type Streamed = UnsyncBoxBody<Bytes, Infallible>;

#[tokio::test]
async fn body_dropped_half_way_is_counted_once_as_aborted() {
    let registry = Registry::new();
    let inner = service_fn(|_req: Request<Body>| async {
        let frames = vec![
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"one"))),
            Ok(Frame::data(Bytes::from_static(b"two"))),
        ];
        let body: Streamed = StreamBody::new(stream::iter(frames)).boxed_unsync();
        Ok::<_, Infallible>(Response::new(body))
    });
    let app = registry.layer().layer(inner);
    let response = app.oneshot(req(Method::GET, "/")).await.unwrap();
    assert_eq!(registry.in_flight(), 1, "in flight until the body ends");
    assert_eq!(registry.total_requests(), 0, "not recorded at the headers");
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    assert_eq!(registry.in_flight(), 0);
    assert_totals(&registry, 1.0, 1.0);
}

#[tokio::test]
async fn eight_tasks_record_exact_totals() {
    let registry = Registry::new();
    let router = Router::builder()
        .route("GET /a/{id}", ok("a"))
        .route("GET /b/{id}", failing())
        .build()
        .unwrap();
    let app = registry.layer().layer(router);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..1_000 {
                let path = if i % 4 == 0 {
                    format!("/b/{t}-{i}")
                } else {
                    format!("/a/{i}")
                };
                call(&app, req(Method::GET, &path)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("route", "/a/{id}")]),
        Some(6_000.0)
    );
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("route", "/b/{id}")]),
        Some(2_000.0)
    );
    assert_eq!(
        value(
            &samples,
            "gateway_request_errors_total",
            &[("class", "5xx")]
        ),
        Some(2_000.0)
    );
    assert_eq!(registry.total_requests(), 8_000);
}

#[tokio::test]
async fn metrics_service_answers_get_with_the_text_format() {
    let registry = Registry::new();
    registry.record(
        &Labels {
            route: Some("/a"),
            method: "GET",
            status: 200,
            arm: None,
            canary: false,
            refusal: None,
        },
        Duration::ZERO,
        Duration::ZERO,
    );
    let exposition = MetricsService::new(registry.clone());
    let response = respond(&exposition, req(Method::GET, "/metrics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = std::str::from_utf8(&body).unwrap();
    parse(text);
    assert!(text.contains("gateway_requests_total{route=\"/a\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"} 1\n"));
    let post = exposition
        .oneshot(req(Method::POST, "/metrics"))
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Mounted on a route of the user's choice.
    let router = Router::builder()
        .route("GET /metrics", registry.service())
        .build()
        .unwrap();
    let response = router
        .layer(service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }))
        .oneshot(req(Method::GET, "/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
}

#[test]
fn empty_registry_renders_valid_text() {
    let registry = Registry::new();
    let (types, samples) = parse(&registry.render());
    assert_eq!(types["gateway_requests_in_flight"], "gauge");
    assert_eq!(
        value(&samples, "gateway_requests_in_flight", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn canary_report_gives_requests_5xx_rate_and_quantiles_per_arm() {
    let registry = Registry::builder().buckets([0.1, 1.0]).build().unwrap();
    let clock = ManualClock::at_unix(0);
    let split = CanaryLayer::builder()
        .arm("v2", failing(), 25)
        .stable("v1", 75)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(ok("v1"));
    let app = registry.layer().clock(clock.clone()).layer(split);
    for _ in 0..100 {
        call(&app, req(Method::GET, "/")).await;
    }
    let report = registry.canary_report();
    assert_eq!(report.len(), 2);
    let v1 = report.iter().find(|a| a.arm == "v1").unwrap();
    let v2 = report.iter().find(|a| a.arm == "v2").unwrap();
    assert_eq!((v1.requests, v1.errors_5xx, v1.canary), (75, 0, false));
    assert_eq!((v2.requests, v2.errors_5xx, v2.canary), (25, 25, true));
    assert_eq!(v1.error_rate_5xx, 0.0);
    assert_eq!(v2.error_rate_5xx, 1.0);
    assert!(v2.p50 <= 0.1 && v2.p99 <= 0.1, "{v2:?}");
    assert!(v1.p50 <= v1.p99);
}

#[test]
fn bad_buckets_are_config_errors_reporting_each() {
    let error = Registry::builder()
        .buckets([0.5, f64::NAN, -1.0, 0.2])
        .build()
        .unwrap_err();
    assert!(error.problems().len() >= 3, "{error}");
    assert!(Registry::builder().buckets([]).build().is_err());
    assert!(Registry::builder()
        .buckets([f64::INFINITY])
        .build()
        .is_err());
    assert!(Registry::builder().buckets([1.0, 1.0]).build().is_err());
}

#[test]
fn metrics_config_section_deserializes_with_the_issue_keys() {
    let config: MetricsConfig = toml::from_str(
        r#"
        enabled = true
        buckets = [0.01, 0.1, 1.0]
        unmatched_label = "unmatched"
        "#,
    )
    .unwrap();
    let registry = config.build().unwrap();
    registry.record(
        &Labels {
            route: None,
            method: "GET",
            status: 404,
            arm: None,
            canary: false,
            refusal: Some(Refusal::NoRoute),
        },
        Duration::ZERO,
        Duration::ZERO,
    );
    let text = registry.render();
    assert!(text.contains("route=\"unmatched\""), "{text}");
    assert!(text.contains("le=\"0.01\""), "{text}");
}

#[tokio::test]
async fn gateway_config_metrics_section_mounts_and_records() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
    let services = Services::new().service("pets", ok("pet"));
    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET"]
        service = "pets"

        [[routes]]
        path = "/metrics"
        methods = ["GET"]
        service = "metrics"

        [metrics]
        enabled = true
        buckets = [0.05, 0.5]
        unmatched_label = "none"
        "#,
    )
    .unwrap();
    let gateway = Gateway::from_config(config, services).unwrap();
    for path in ["/pets/1", "/pets/2", "/elsewhere"] {
        call(&gateway, req(Method::GET, path)).await;
    }
    let response = respond(&gateway, req(Method::GET, "/metrics")).await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let (_, samples) = parse(&text);
    assert_eq!(
        value(
            &samples,
            "gateway_requests_total",
            &[("route", "/pets/{id}")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("route", "none")]),
        Some(1.0)
    );
    assert!(text.contains("le=\"0.05\""));
    let registry = gateway.handle().metrics().expect("registry");
    assert!(registry.total_requests() >= 3);
}

#[tokio::test]
async fn bodies_never_sent_are_not_counted_as_aborted() {
    let registry = Registry::new();
    let inner = ok_or_204("body");
    let app = registry.layer().layer(inner);
    for (method, path) in [(Method::HEAD, "/"), (Method::GET, "/204")] {
        let response = respond(&app, req(method, path)).await;
        drop(response);
    }
    assert_eq!(registry.in_flight(), 0);
    assert_totals(&registry, 2.0, 0.0);
}

#[tokio::test]
async fn inner_error_and_dropped_future_are_unanswered_and_leave_in_flight() {
    let registry = Registry::new();
    let failing = service_fn(|_req: Request<Body>| async {
        Err::<Response<Body>, _>(std::io::Error::other("down"))
    });
    let app = registry.layer().layer(failing);
    assert!(app.clone().oneshot(req(Method::GET, "/")).await.is_err());
    let pending = service_fn(|_req: Request<Body>| {
        std::future::pending::<Result<Response<Body>, Infallible>>()
    });
    let mut app = registry.layer().layer(pending);
    let future = app.call(req(Method::GET, "/"));
    assert_eq!(registry.in_flight(), 1);
    drop(future);
    assert_eq!(registry.in_flight(), 0);
    let (_, samples) = parse(&registry.render());
    assert_eq!(
        value(&samples, "gateway_requests_unanswered_total", &[]),
        Some(2.0)
    );
}

#[tokio::test]
async fn gateway_metrics_section_disabled_records_nothing() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
    let services = Services::new().service("pets", ok("pet"));
    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET"]
        service = "pets"

        [metrics]
        enabled = false
        "#,
    )
    .unwrap();
    let gateway = Gateway::from_config(config, services).unwrap();
    assert_eq!(
        call(&gateway, req(Method::GET, "/pets/1")).await,
        StatusCode::OK
    );
    // The handle still gives the section's registry (documented); nothing is recorded in it.
    if let Some(registry) = gateway.handle().metrics() {
        assert_eq!(registry.total_requests(), 0);
    }
}

#[tokio::test]
async fn mounted_under_axum_with_the_layer_around_the_app() {
    let registry = Registry::new();
    let app = axum::Router::new()
        .route("/pets/{id}", axum::routing::get(|| async { "pet" }))
        .route_service("/metrics", registry.service())
        .layer(registry.layer());
    for path in ["/pets/1", "/pets/2"] {
        let response = respond(
            &app,
            Request::get(path).body(axum::body::Body::empty()).unwrap(),
        )
        .await;
        response.into_body().collect().await.unwrap();
    }
    let response = app
        .oneshot(
            Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let (_, samples) = parse(&text);
    // axum's router does not publish our MatchedRoute: its requests are one unmatched series.
    assert_eq!(
        value(&samples, "gateway_requests_total", &[("status", "200")]),
        Some(2.0)
    );
}

#[tokio::test]
async fn a_body_dropped_once_is_end_stream_is_true_is_not_aborted() {
    let registry = Registry::new();
    let app = registry.layer().layer(ok("seventeen bytes!!"));
    let response = app.oneshot(req(Method::GET, "/")).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    assert!(http_body::Body::is_end_stream(&body));
    drop(body);
    assert_totals(&registry, 1.0, 0.0);
    assert_eq!(registry.in_flight(), 0);
}

#[test]
fn public_types_are_send_sync() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Registry>();
    send_sync::<tower_gateway::metrics::MetricsLayer>();
    send_sync::<MetricsService>();
    send_sync::<tower_gateway::metrics::ArmReport>();
    fn send_future<S: Service<Request<Body>>>(_: &S)
    where
        S::Future: Send,
    {
    }
    send_future(&Registry::new().layer().layer(ok("x")));
}

#[tokio::test]
async fn over_hyper_with_a_canary_and_the_exposition_route() {
    use hyper::body::Incoming;

    let registry = Registry::builder().buckets([0.5]).build().unwrap();
    let text = |t: &'static str| {
        service_fn(move |_req: Request<Incoming>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(t.as_bytes()))))
        })
    };
    let split = CanaryLayer::builder()
        .arm("v2", text("v2"), 50)
        .stable("v1", 50)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(text("v1"));
    let router: Router<Incoming, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /pets/{id}", split)
        .route("GET /metrics", registry.service())
        .build()
        .unwrap();
    let app = registry.layer().layer(router);

    let get = |uri: &str| {
        Request::get(uri)
            .header("host", "example.test")
            .body(Body::default())
            .unwrap()
    };
    let mut requests: Vec<_> = (0..4).map(|i| get(&format!("/pets/{i}"))).collect();
    requests.push(get("/metrics"));
    let (_, headers, text) = common::over_http1(app, requests).await.remove(4);
    assert_eq!(headers[header::CONTENT_TYPE], CONTENT_TYPE);
    assert!(!text.contains(char::REPLACEMENT_CHARACTER), "{text}");
    let (_, samples) = parse(&text);
    for arm in ["v1", "v2"] {
        assert_eq!(
            value(
                &samples,
                "gateway_requests_total",
                &[("route", "/pets/{id}"), ("arm", arm)]
            ),
            Some(2.0),
            "{text}"
        );
    }
    // The scrape itself is in flight while it renders.
    assert_eq!(
        value(&samples, "gateway_requests_in_flight", &[]),
        Some(1.0)
    );
}
