#![cfg(feature = "metrics")]
#![allow(clippy::type_complexity)] // service types in the helpers

mod common;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
#[cfg(all(feature = "access-log", feature = "canary", feature = "router"))]
use common::log_at;
use common::{body_text, is_metric_name, ok};
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceExt};
#[cfg(all(feature = "access-log", feature = "canary", feature = "router"))]
use tower_gateway::access_log::{LogFormat, MemorySink};
use tower_gateway::metrics::{Labels, Metrics, MetricsService, Refusal, Registry, CONTENT_TYPE};
use tower_gateway::MetricsLayer;

fn req(method: &str, uri: &str) -> Request<Full<Bytes>> {
    common::request(method, uri)
}

/// Every sample line of an exposition, keyed by `name{labels}` as written.
fn samples(text: &str) -> BTreeMap<String, f64> {
    parse(text).into_iter().map(|s| (s.key, s.value)).collect()
}

fn value(text: &str, key: &str) -> f64 {
    samples(text)
        .get(key)
        .copied()
        .unwrap_or_else(|| panic!("no sample {key} in\n{text}"))
}

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    key: String,
    value: f64,
}

/// A small parser of the text format 0.0.4: checks names, `# HELP`/`# TYPE` before samples,
/// label syntax and escapes, values; returns the samples with unescaped labels.
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let name = parts.next().unwrap();
            assert!(is_metric_name(name), "bad name in {line:?}");
            if kind == "TYPE" {
                let t = parts.next().unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&t), "{line}");
                typed.insert(name.to_owned(), t.to_owned());
            } else {
                assert_eq!(kind, "HELP", "{line}");
            }
            continue;
        }
        assert!(!line.is_empty());
        let (name, rest) = match line.find('{') {
            Some(at) => (&line[..at], &line[at..]),
            None => line.split_at(line.find(' ').unwrap()),
        };
        assert!(is_metric_name(name), "bad name in {line:?}");
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|b| typed.get(*b).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(typed.contains_key(base), "sample before its # TYPE: {line}");
        let mut labels = Vec::new();
        let mut chars = rest.chars().peekable();
        if chars.peek() == Some(&'{') {
            chars.next();
            loop {
                let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
                assert!(is_metric_name(&label), "bad label name {label:?} in {line}");
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                loop {
                    match chars.next().expect("unterminated label value") {
                        '\\' => match chars.next() {
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            Some('n') => value.push('\n'),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        '"' => break,
                        '\n' => panic!("raw newline"),
                        c => value.push(c),
                    }
                }
                labels.push((label, value));
                match chars.next() {
                    Some(',') => continue,
                    Some('}') => break,
                    other => panic!("unexpected {other:?} in {line}"),
                }
            }
        }
        let rest: String = chars.collect();
        let v = rest.strip_prefix(' ').expect("space before the value");
        let value = if v == "+Inf" {
            f64::INFINITY
        } else {
            v.parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value {v:?}"))
        };
        let key = line[..line.len() - v.len() - 1].to_owned();
        out.push(Sample {
            name: name.to_owned(),
            labels,
            key,
            value,
        });
    }
    // Histograms: buckets cumulative and non-decreasing in `le`, `+Inf` equal to `_count`.
    let mut buckets: BTreeMap<(String, Vec<(String, String)>), Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<(String, Vec<(String, String)>), f64> = BTreeMap::new();
    for s in &out {
        if let Some(base) = s.name.strip_suffix("_bucket") {
            let le = s
                .labels
                .iter()
                .find(|l| l.0 == "le")
                .expect("bucket without le");
            let le = if le.1 == "+Inf" {
                f64::INFINITY
            } else {
                le.1.parse().unwrap()
            };
            let rest: Vec<_> = s.labels.iter().filter(|l| l.0 != "le").cloned().collect();
            buckets
                .entry((base.to_owned(), rest))
                .or_default()
                .push((le, s.value));
        } else if let Some(base) = s.name.strip_suffix("_count") {
            counts.insert((base.to_owned(), s.labels.clone()), s.value);
        }
    }
    for (key, series) in &buckets {
        for pair in series.windows(2) {
            assert!(pair[0].0 < pair[1].0, "le not increasing for {key:?}");
            assert!(pair[0].1 <= pair[1].1, "buckets not cumulative for {key:?}");
        }
        let last = series.last().unwrap();
        assert!(last.0.is_infinite(), "no +Inf bucket for {key:?}");
        assert_eq!(Some(&last.1), counts.get(key), "+Inf != _count for {key:?}");
    }
    out
}

fn reply(
    text: &'static str,
    calls: &Arc<AtomicUsize>,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
> + Clone
       + Send
       + Sync
       + 'static {
    let calls = calls.clone();
    service_fn(move |_: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(
            Bytes::from_static(text.as_bytes()),
        ))))
    })
}

#[cfg_attr(
    not(all(
        feature = "router",
        feature = "canary",
        feature = "origin",
        feature = "cors"
    )),
    allow(dead_code)
)]
fn failing(
    calls: &Arc<AtomicUsize>,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
> + Clone
       + Send
       + Sync
       + 'static {
    let calls = calls.clone();
    service_fn(move |_: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut res = Response::new(Full::new(Bytes::from_static(b"boom")));
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        std::future::ready(Ok::<_, Infallible>(res))
    })
}

#[cfg_attr(
    not(all(
        feature = "router",
        feature = "canary",
        feature = "origin",
        feature = "cors"
    )),
    allow(dead_code)
)]
const APP: &str = "https://app.example";

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
mod stack {
    use super::*;
    use tower_gateway::canary::{CanaryLayer, Mode};
    use tower_gateway::router::Router;
    use tower_gateway::CorsLayer;

    pub(super) type Stack = tower::util::BoxCloneSyncService<
        Request<Full<Bytes>>,
        Response<
            tower_gateway::metrics::ResponseBody<
                tower_gateway::body::Body<
                    tower_gateway::body::Body<tower_gateway::body::Body<Full<Bytes>>>,
                >,
            >,
        >,
        Infallible,
    >;

    /// metrics → CORS → origin guard → router { GET /pets/{id}: stable v1 / canary v2 (5xx),
    /// alternating; POST /pets; GET /metrics }.
    pub(super) fn build(registry: &Registry, calls: &Arc<AtomicUsize>) -> Stack {
        let pets = CanaryLayer::builder()
            .canary(failing(calls), 50.0)
            .mode(Mode::round_robin())
            .build()
            .unwrap()
            .layer(reply("v1", calls));
        let router = Router::builder()
            .route("GET /pets/{id}", pets)
            .route("POST /pets", reply("made", calls))
            .route("GET /metrics", registry.service())
            .build()
            .unwrap();
        let (cors, guard) =
            common::guarded(CorsLayer::builder().allow_origin(APP).build().unwrap());
        let svc = registry.layer().layer(cors.layer(guard.layer(router)));
        tower::util::BoxCloneSyncService::new(svc)
    }
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
async fn send(stack: &stack::Stack, request: Request<Full<Bytes>>) -> (StatusCode, String) {
    let res = stack.clone().oneshot(request).await.unwrap();
    (res.status(), body_text(res.into_body()).await)
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn counts_and_histograms_after_a_known_sequence_through_the_composed_stack() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    for i in 0..4 {
        send(&stack, req("GET", &format!("/pets/{i}"))).await;
    }
    let post = Request::post("/pets")
        .header("origin", APP)
        .header("host", "api.example")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&stack, post).await.0, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    let text = registry.render();
    let pets = |status: u16, arm: &str| {
        format!(
            "route=\"/pets/{{id}}\",method=\"GET\",status=\"{status}\",arm=\"{arm}\",refusal=\"\""
        )
    };
    assert_eq!(
        value(
            &text,
            &format!("gateway_requests_total{{{}}}", pets(200, "stable"))
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            &format!("gateway_requests_total{{{}}}", pets(500, "canary"))
        ),
        2.0
    );
    assert_eq!(value(&text, "gateway_requests_total{route=\"/pets\",method=\"POST\",status=\"200\",arm=\"\",refusal=\"\"}"), 1.0);
    assert_eq!(
        value(
            &text,
            &format!(
                "gateway_time_to_last_byte_seconds_count{{{}}}",
                pets(500, "canary")
            )
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            &format!(
                "gateway_time_to_headers_seconds_bucket{{{},le=\"+Inf\"}}",
                pets(200, "stable")
            )
        ),
        2.0
    );
    assert_eq!(value(&text, "gateway_request_errors_total{route=\"/pets/{id}\",method=\"GET\",arm=\"canary\",class=\"5xx\"}"), 2.0);
    assert_eq!(value(&text, "gateway_requests_in_flight"), 0.0);
    assert_eq!(registry.total_requests(), 5);
    assert_eq!(registry.series_count(), 3);
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn ten_thousand_distinct_unmatched_paths_make_one_series() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    for i in 0..10_000 {
        let (status, _) = send(&stack, req("GET", &format!("/probe/{i}/x{i}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(registry.series_count(), 1);
    let text = registry.render();
    assert_eq!(value(&text, "gateway_requests_total{route=\"\",method=\"GET\",status=\"404\",arm=\"\",refusal=\"no_route\"}"), 10_000.0);
    assert!(!text.contains("/probe/"), "a raw path leaked into a label");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn method_not_allowed_is_counted_with_its_kind() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    assert_eq!(
        send(&stack, req("DELETE", "/pets/1")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let text = registry.render();
    assert_eq!(value(&text, "gateway_requests_total{route=\"\",method=\"DELETE\",status=\"405\",arm=\"\",refusal=\"method_not_allowed\"}"), 1.0);
    assert_eq!(
        value(
            &text,
            "gateway_request_errors_total{route=\"\",method=\"DELETE\",arm=\"\",class=\"4xx\"}"
        ),
        1.0
    );
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn origin_refusal_is_counted_with_its_kind() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    let post = Request::post("/pets")
        .header("origin", "https://evil.example")
        .header("host", "api.example")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&stack, post).await.0, StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let text = registry.render();
    assert!(
        text.contains("method=\"POST\",status=\"403\",arm=\"\",refusal=\"origin\"} 1"),
        "{text}"
    );
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn refused_cors_preflight_is_counted_with_its_kind() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    let preflight = Request::options("/pets")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .body(Full::default())
        .unwrap();
    let (status, _) = send(&stack, preflight).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let text = registry.render();
    assert!(
        text.contains("method=\"OPTIONS\",status=\"403\",arm=\"\",refusal=\"cors_preflight\"} 1"),
        "{text}"
    );
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn the_metrics_route_serves_the_exposition_through_the_stack() {
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    send(&stack, req("GET", "/pets/1")).await;
    let (status, text) = send(&stack, req("GET", "/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    parse(&text);
    assert!(text.contains("gateway_requests_total{route=\"/pets/{id}\""));
    // the scrape itself is in flight while it renders
    assert_eq!(value(&text, "gateway_requests_in_flight"), 1.0);
}

#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn the_per_arm_report_compares_stable_and_canary() {
    let registry = Registry::builder().buckets([0.5, 1.0]).build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    for i in 0..10 {
        send(&stack, req("GET", &format!("/pets/{i}"))).await;
    }
    send(&stack, req("GET", "/nowhere")).await;
    let report = registry.canary_report();
    assert_eq!(report.len(), 2, "{report:?}");
    let canary = &report[0];
    let stable = &report[1];
    assert_eq!(
        (
            canary.arm.as_str(),
            canary.canary,
            canary.requests,
            canary.errors_5xx
        ),
        ("canary", true, 5, 5)
    );
    assert_eq!(
        (
            stable.arm.as_str(),
            stable.canary,
            stable.requests,
            stable.errors_5xx
        ),
        ("stable", false, 5, 0)
    );
    assert!((canary.error_rate_5xx - 1.0).abs() < 1e-9);
    assert!(stable.error_rate_5xx.abs() < 1e-9);
    assert!(stable.p50 <= stable.p99 && stable.p99 <= 1.0);
}

#[test]
fn report_quantiles_are_estimated_from_the_buckets() {
    let registry = Registry::builder()
        .buckets([0.1, 0.2, 0.4])
        .build()
        .unwrap();
    let labels = |status| Labels {
        route: Some("/x"),
        method: "GET",
        status,
        arm: Some("v2"),
        canary: true,
        refusal: None,
    };
    // 50 answers in (0, 0.1], 49 in (0.1, 0.2], 1 in (0.2, 0.4].
    for _ in 0..50 {
        registry.record(
            &labels(200),
            Duration::from_millis(10),
            Duration::from_millis(50),
        );
    }
    for _ in 0..49 {
        registry.record(
            &labels(200),
            Duration::from_millis(10),
            Duration::from_millis(150),
        );
    }
    registry.record(
        &labels(503),
        Duration::from_millis(10),
        Duration::from_millis(300),
    );
    let report = registry.canary_report();
    assert_eq!(report.len(), 1);
    let r = &report[0];
    assert_eq!((r.requests, r.errors_5xx), (100, 1));
    assert!((r.error_rate_5xx - 0.01).abs() < 1e-9);
    assert!((r.p50 - 0.1).abs() < 1e-9, "p50 {}", r.p50);
    assert!((r.p99 - 0.2).abs() < 1e-9, "p99 {}", r.p99);
}

#[test]
fn known_durations_land_in_known_buckets() {
    let registry = Registry::builder()
        .buckets([0.01, 0.1, 1.0])
        .build()
        .unwrap();
    let labels = Labels {
        route: Some("/a"),
        method: "GET",
        status: 200,
        arm: None,
        canary: false,
        refusal: None,
    };
    for ms in [1, 10, 11, 100, 999, 5000] {
        registry.record(
            &labels,
            Duration::from_millis(ms),
            Duration::from_millis(ms * 2),
        );
    }
    let text = registry.render();
    let l = "route=\"/a\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"";
    let h = |le: &str| {
        value(
            &text,
            &format!("gateway_time_to_headers_seconds_bucket{{{l},le=\"{le}\"}}"),
        )
    };
    assert_eq!(
        [h("0.01"), h("0.1"), h("1.0"), h("+Inf")],
        [2.0, 4.0, 5.0, 6.0]
    );
    let t = |le: &str| {
        value(
            &text,
            &format!("gateway_time_to_last_byte_seconds_bucket{{{l},le=\"{le}\"}}"),
        )
    };
    assert_eq!(
        [t("0.01"), t("0.1"), t("1.0"), t("+Inf")],
        [1.0, 3.0, 4.0, 6.0]
    );
    let sum = value(
        &text,
        &format!("gateway_time_to_headers_seconds_sum{{{l}}}"),
    );
    assert!((sum - 6.121).abs() < 1e-9, "{sum}");
    assert_eq!(
        value(
            &text,
            &format!("gateway_time_to_headers_seconds_count{{{l}}}")
        ),
        6.0
    );
}

#[test]
fn invalid_buckets_list_every_problem() {
    let err = Registry::builder()
        .buckets([0.5, f64::NAN, 0.1, -1.0, f64::INFINITY])
        .build()
        .unwrap_err();
    assert_eq!(err.problems().len(), 4, "{err}");
    assert!(err.problems().iter().all(|p| p.module() == "metrics"));
    assert_eq!(
        Registry::builder()
            .buckets([])
            .build()
            .unwrap_err()
            .problems()
            .len(),
        1
    );
}

#[test]
fn the_series_table_is_bounded_and_counts_what_it_could_not_hold() {
    let registry = Registry::builder().max_series(2).build().unwrap();
    for route in ["/a", "/b", "/c", "/a", "/c"] {
        let labels = Labels {
            route: Some(route),
            method: "GET",
            status: 200,
            arm: None,
            canary: false,
            refusal: None,
        };
        registry.record(&labels, Duration::ZERO, Duration::ZERO);
    }
    assert_eq!(registry.series_count(), 2);
    assert_eq!(registry.total_requests(), 3);
    let text = registry.render();
    parse(&text);
    assert_eq!(value(&text, "gateway_metrics_series_overflow_total"), 2.0);
}

#[test]
fn label_values_are_escaped_and_parse_back() {
    let registry = Registry::builder()
        .unmatched_label("un\"matched\\\nx")
        .build()
        .unwrap();
    registry.record(
        &Labels {
            route: None,
            method: "GET",
            status: 404,
            arm: Some("a\"b"),
            canary: false,
            refusal: Some(Refusal::NoRoute),
        },
        Duration::ZERO,
        Duration::ZERO,
    );
    let text = registry.render();
    assert!(text.contains("route=\"un\\\"matched\\\\\\nx\""), "{text}");
    let parsed = parse(&text);
    let sample = parsed
        .iter()
        .find(|s| s.name == "gateway_requests_total")
        .unwrap();
    assert_eq!(
        sample.labels[0],
        ("route".to_owned(), "un\"matched\\\nx".to_owned())
    );
    assert_eq!(sample.labels[3], ("arm".to_owned(), "a\"b".to_owned()));
}

#[test]
fn the_exposition_parses_with_help_and_type_for_every_metric() {
    let registry = Registry::new();
    for status in [200, 404, 500, 503] {
        registry.record(
            &Labels {
                route: Some("/r"),
                method: "POST",
                status,
                arm: None,
                canary: false,
                refusal: None,
            },
            Duration::from_millis(3),
            Duration::from_millis(700),
        );
    }
    let text = registry.render();
    parse(&text);
    for name in [
        "gateway_requests_total",
        "gateway_request_errors_total",
        "gateway_response_aborted_total",
        "gateway_time_to_headers_seconds",
        "gateway_time_to_last_byte_seconds",
        "gateway_requests_in_flight",
        "gateway_requests_unanswered_total",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
    }
    assert_eq!(
        value(
            &text,
            "gateway_request_errors_total{route=\"/r\",method=\"POST\",arm=\"\",class=\"5xx\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "gateway_request_errors_total{route=\"/r\",method=\"POST\",arm=\"\",class=\"4xx\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn unknown_methods_are_other() {
    let registry = Registry::new();
    let svc = registry.layer().layer(reply("ok", &Arc::default()));
    let res = svc.oneshot(req("PURGE", "/x")).await.unwrap();
    body_text(res.into_body()).await;
    assert!(registry
        .render()
        .contains("method=\"OTHER\",status=\"200\""));
}

/// A body of two chunks that stays pending after the first.
struct HalfBody(u8);

impl http_body::Body for HalfBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0 += 1;
        if self.0 == 1 {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"half")))))
        } else {
            Poll::Pending
        }
    }
}

#[tokio::test]
async fn a_body_dropped_half_way_is_recorded_once_as_aborted() {
    let registry = Registry::new();
    let svc = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(HalfBody(0)))
        }));
    let res = svc.oneshot(req("GET", "/stream")).await.unwrap();
    assert_eq!(registry.in_flight(), 1);
    assert_eq!(
        registry.total_requests(),
        0,
        "nothing recorded before the body ends"
    );
    let mut body = res.into_body();
    let first = body.frame().await.unwrap().unwrap();
    assert_eq!(first.into_data().unwrap(), "half");
    drop(body);
    assert_eq!(registry.in_flight(), 0);
    assert_eq!(registry.total_requests(), 1);
    let text = registry.render();
    assert_eq!(value(&text, "gateway_response_aborted_total{route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"}"), 1.0);
}

#[tokio::test]
async fn a_head_answer_dropped_unread_is_not_aborted() {
    let registry = Registry::new();
    let svc = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(HalfBody(0)))
        }));
    drop(svc.oneshot(req("HEAD", "/")).await.unwrap());
    let text = registry.render();
    assert_eq!(value(&text, "gateway_response_aborted_total{route=\"\",method=\"HEAD\",status=\"200\",arm=\"\",refusal=\"\"}"), 0.0);
    assert_eq!(registry.total_requests(), 1);
}

#[tokio::test]
async fn an_empty_body_is_recorded_at_the_headers() {
    let registry = Registry::new();
    let svc = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }));
    let res = svc.oneshot(req("GET", "/")).await.unwrap();
    assert_eq!(registry.total_requests(), 1);
    assert_eq!(registry.in_flight(), 0);
    drop(res);
    assert_eq!(registry.total_requests(), 1, "recorded once");
}

#[tokio::test]
async fn a_failed_inner_service_or_a_dropped_future_counts_as_unanswered() {
    let registry = Registry::new();
    let svc = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Err::<Response<Full<Bytes>>, _>("down")
        }));
    assert_eq!(svc.oneshot(req("GET", "/")).await.unwrap_err(), "down");
    let mut pending = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| {
            std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
        }));
    let future = pending.call(req("GET", "/"));
    assert_eq!(registry.in_flight(), 1);
    drop(future);
    assert_eq!(registry.in_flight(), 0);
    assert_eq!(registry.series_count(), 0);
    assert_eq!(
        value(&registry.render(), "gateway_requests_unanswered_total"),
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_tasks_give_exact_totals() {
    let registry = Registry::new();
    let svc = registry
        .layer()
        .layer(service_fn(|req: Request<Full<Bytes>>| async move {
            let mut res = Response::new(Full::new(Bytes::from_static(b"x")));
            if req.uri().path().ends_with('7') {
                *res.status_mut() = StatusCode::BAD_GATEWAY;
            }
            Ok::<_, Infallible>(res)
        }));
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let svc = svc.clone();
            tokio::spawn(async move {
                for i in 0..1000 {
                    let res = svc
                        .clone()
                        .oneshot(req("GET", &format!("/{t}/{i}")))
                        .await
                        .unwrap();
                    res.into_body().collect().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(registry.total_requests(), 8000);
    assert_eq!(registry.in_flight(), 0);
    let text = registry.render();
    assert_eq!(value(&text, "gateway_requests_total{route=\"\",method=\"GET\",status=\"502\",arm=\"\",refusal=\"\"}"), 800.0);
    assert_eq!(value(&text, "gateway_time_to_last_byte_seconds_count{route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"}"), 7200.0);
}

#[tokio::test]
async fn the_metrics_service_answers_get_and_refuses_other_methods() {
    let registry = Registry::new();
    let res = MetricsService::new(registry.clone())
        .oneshot(req("GET", "/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], CONTENT_TYPE);
    parse(&body_text(res.into_body()).await);
    let res = registry
        .service()
        .oneshot(req("POST", "/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

#[test]
fn everything_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync>() {}
    check::<Registry>();
    check::<MetricsLayer>();
    check::<MetricsService>();
    check::<Metrics<common::Named>>();
    assert_eq!(
        tower_gateway::metrics::method_label(&Method::PATCH),
        "PATCH"
    );
}

#[tokio::test]
async fn stacks_under_axum() {
    let registry = Registry::new();
    let app = axum::Router::new()
        .route("/pets/{id}", axum::routing::get(|| async { "a pet" }))
        .route_service("/metrics", registry.service())
        .layer(registry.layer());
    let res = app
        .clone()
        .oneshot(
            Request::get("/pets/1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    body_text(res.into_body()).await;
    let res = app
        .oneshot(
            Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let text = body_text(res.into_body()).await;
    assert!(
        text.contains("gateway_requests_total{route=\"\",method=\"GET\",status=\"200\""),
        "{text}"
    );
}

/// The access log and the metrics read the same facts: over the same stack, every log line
/// has its series, with the same route, status, arm and refusal.
#[cfg(all(
    feature = "access-log",
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn the_access_log_and_the_metrics_agree() {
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let sink = MemorySink::new();
    let log = AccessLogLayer::new(sink.clone()).format(
        LogFormat::template(
            "$context.routeKey|$context.status|$context.canaryArm|$context.responseFlags",
        )
        .unwrap(),
    );
    let inner = stack::build(&registry, &calls);
    let both = log.layer(inner);
    let evil_post = || {
        Request::post("/pets")
            .header("origin", "https://evil.example")
            .header("host", "api.example")
            .body(Full::default())
            .unwrap()
    };
    let requests = vec![
        req("GET", "/pets/1"),
        req("GET", "/pets/2"),
        req("GET", "/nowhere"),
        req("DELETE", "/pets/3"),
        evil_post(),
    ];
    for request in requests {
        let res = both.clone().oneshot(request).await.unwrap();
        body_text(res.into_body()).await;
    }
    let lines = sink.lines();
    assert_eq!(lines.len() as u64, registry.total_requests());
    let text = registry.render();
    for line in lines {
        let [route, status, arm, refusal] = log_labels(&line);
        let needle = format!(
            "route=\"{route}\",method=\"{{m}}\",status=\"{status}\",arm=\"{arm}\",refusal=\"{refusal}\"}}"
        );
        let (before, after) = needle.split_once("{m}").unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with("gateway_requests_total{")
                    && l.contains(before)
                    && l.contains(after)),
            "no series for log line {line:?} in\n{text}"
        );
    }
}

/// Durations through the service, on a manual clock: the inner service takes 50 ms to the
/// headers, the client reads the body 700 ms later.
#[tokio::test]
async fn a_manual_clock_puts_headers_and_last_byte_in_exact_buckets() {
    use tower_gateway::clock::ManualClock;
    let clock = ManualClock::at_unix(1_700_000_000);
    let registry = Registry::builder()
        .buckets([0.01, 0.1, 1.0])
        .build()
        .unwrap();
    let inner_clock = clock.clone();
    let svc =
        registry
            .layer()
            .clock(clock.clone())
            .layer(service_fn(move |_: Request<Full<Bytes>>| {
                let clock = inner_clock.clone();
                async move {
                    clock.advance(Duration::from_millis(50));
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"slow"))))
                }
            }));
    for (done, read_after_ms) in [700, 5, 2000].into_iter().enumerate() {
        let res = svc.clone().oneshot(req("GET", "/")).await.unwrap();
        assert_eq!(
            registry.total_requests(),
            done as u64,
            "recorded at the last byte"
        );
        clock.advance(Duration::from_millis(read_after_ms));
        assert_eq!(body_text(res.into_body()).await, "slow");
    }
    let text = registry.render();
    let l = "route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"";
    let buckets = |name: &str| {
        ["0.01", "0.1", "1.0", "+Inf"].map(|le| {
            value(
                &text,
                &format!("gateway_time_to_{name}_seconds_bucket{{{l},le=\"{le}\"}}"),
            )
        })
    };
    // Headers: 50 ms, three times. Last byte: 750 ms, 55 ms, 2050 ms.
    assert_eq!(buckets("headers"), [0.0, 3.0, 3.0, 3.0]);
    assert_eq!(buckets("last_byte"), [0.0, 1.0, 2.0, 3.0]);
    let sum = |name: &str| value(&text, &format!("gateway_time_to_{name}_seconds_sum{{{l}}}"));
    assert_eq!(sum("headers"), 0.15);
    assert_eq!(sum("last_byte"), 2.855);
}

/// A body dropped half-way is recorded when dropped, at the clock's reading then.
#[tokio::test]
async fn a_dropped_body_is_timed_to_the_drop_on_the_manual_clock() {
    use tower_gateway::clock::ManualClock;
    let clock = ManualClock::at_unix(0);
    let registry = Registry::builder().buckets([0.1, 1.0]).build().unwrap();
    let svc =
        registry
            .layer()
            .clock(clock.clone())
            .layer(service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(HalfBody(0)))
            }));
    let res = svc.oneshot(req("GET", "/stream")).await.unwrap();
    clock.advance(Duration::from_millis(300));
    let mut body = res.into_body();
    body.frame().await.unwrap().unwrap();
    clock.advance(Duration::from_millis(400));
    drop(body);
    let text = registry.render();
    let l = "route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"";
    assert_eq!(
        value(
            &text,
            &format!("gateway_time_to_headers_seconds_bucket{{{l},le=\"0.1\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            &format!("gateway_time_to_last_byte_seconds_bucket{{{l},le=\"0.1\"}}")
        ),
        0.0
    );
    assert_eq!(
        value(
            &text,
            &format!("gateway_time_to_last_byte_seconds_bucket{{{l},le=\"1.0\"}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            &format!("gateway_time_to_last_byte_seconds_sum{{{l}}}")
        ),
        0.7
    );
    assert_eq!(
        value(&text, &format!("gateway_response_aborted_total{{{l}}}")),
        1.0
    );
}

/// Durations exactly on a bound land in that bound's bucket (`le` is "less or equal").
#[test]
fn a_duration_on_a_bound_is_in_that_bucket() {
    let registry = Registry::builder()
        .buckets([0.001, 0.002, 0.003, 0.004, 1.5])
        .build()
        .unwrap();
    let labels = Labels {
        route: Some("/b"),
        method: "GET",
        status: 200,
        arm: None,
        canary: false,
        refusal: None,
    };
    for us in [0, 1000, 1001, 2000, 3999, 4000, 4001, 1_500_000, 1_500_001] {
        registry.record(&labels, Duration::from_micros(us), Duration::ZERO);
    }
    let text = registry.render();
    let l = "route=\"/b\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"";
    let h = |le: &str| {
        value(
            &text,
            &format!("gateway_time_to_headers_seconds_bucket{{{l},le=\"{le}\"}}"),
        )
    };
    assert_eq!(
        [
            h("0.001"),
            h("0.002"),
            h("0.003"),
            h("0.004"),
            h("1.5"),
            h("+Inf")
        ],
        [2.0, 4.0, 4.0, 6.0, 8.0, 9.0]
    );
}

/// Many threads creating the same label sets at once: one series per label set, every
/// request counted once.
#[test]
fn racing_threads_create_each_series_once_with_exact_totals() {
    let registry = Registry::builder().max_series(64).build().unwrap();
    let routes: Vec<String> = (0..50).map(|i| format!("/r{i}/{{id}}")).collect();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for round in 0..20 {
                    for route in &routes {
                        registry.record(
                            &Labels {
                                route: Some(route),
                                method: "GET",
                                status: 200 + (round % 2),
                                arm: Some("stable"),
                                canary: false,
                                refusal: None,
                            },
                            Duration::from_micros(10),
                            Duration::from_micros(20),
                        );
                    }
                }
            });
        }
    });
    // 50 routes x 2 statuses = 100 label sets, but room for 64.
    assert_eq!(registry.series_count(), 64);
    let text = registry.render();
    let recorded = registry.total_requests();
    let overflow = value(&text, "gateway_metrics_series_overflow_total") as u64;
    // Every request counted exactly once: in its series or as an overflow. (Which request of
    // a label set still being created counts as an overflow when the last place is taken is
    // a race, so only a bound is asserted on the split.)
    assert_eq!(recorded + overflow, 8 * 20 * 50);
    assert!(recorded >= 64 * 8 * 10 - 8 * 20, "{recorded}");
}

/// The layer finds series by the route's template number; `Registry::record` by the label
/// text: the same traffic through a Router (GitLab's templates, long and short, a template
/// served by several routes) and recorded by text gives byte-identical expositions.
#[cfg(feature = "router")]
#[tokio::test]
async fn the_layer_by_route_and_record_by_text_agree() {
    use tower_gateway::router::Router;
    let text = common::shared_data("gitlab-routes.txt");
    let templates: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|t| !t.contains('+') && !t.contains('*'))
        .step_by(97)
        .take(30)
        .collect();
    let ok = || {
        service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        })
    };
    let mut builder = Router::builder();
    for t in &templates {
        builder = builder
            .route(format!("GET {t}").as_str(), ok())
            .route(format!("POST {t}").as_str(), ok());
    }
    let router = builder.build().unwrap();
    let clock = tower_gateway::clock::ManualClock::at_unix(0);
    let by_route = Registry::new();
    let by_text = Registry::new();
    let app = by_route.layer().clock(clock.clone()).layer(router);
    for round in 0..3 {
        for t in &templates {
            // A concrete path for the template: each `{param}` becomes `p`.
            let path: String = t
                .split('/')
                .map(|seg| if seg.starts_with('{') { "p" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            for method in ["GET", "POST", "PUT"] {
                let response = app.clone().oneshot(req(method, &path)).await.unwrap();
                let status = response.status().as_u16();
                let route = response
                    .extensions()
                    .get::<tower_gateway::router::MatchedRoute>()
                    .map(|r| r.template().to_owned());
                response.into_body().collect().await.unwrap();
                if round == 0 {
                    assert_eq!(route.is_some(), method != "PUT", "{method} {path}");
                }
                by_text.record(
                    &Labels {
                        route: route.as_deref(),
                        method: tower_gateway::metrics::method_label(
                            &Method::from_bytes(method.as_bytes()).unwrap(),
                        ),
                        status,
                        arm: None,
                        canary: false,
                        refusal: (method == "PUT").then_some(Refusal::MethodNotAllowed),
                    },
                    Duration::ZERO,
                    Duration::ZERO,
                );
            }
        }
    }
    assert_eq!(by_route.render(), by_text.render());
    assert_eq!(by_route.total_requests(), 3 * 3 * templates.len() as u64);
}

#[test]
fn the_config_section_parses_with_defaults_and_builds() {
    use tower_gateway::metrics::{MetricsConfig, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES};
    let empty: MetricsConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, MetricsConfig::default());
    assert!(empty.enabled);
    assert_eq!(empty.buckets, DEFAULT_BUCKETS);
    assert_eq!(empty.max_series, DEFAULT_MAX_SERIES);
    assert_eq!(empty.unmatched_label, "");
    let config: MetricsConfig = serde_json::from_str(
        r#"{"enabled": false, "buckets": [0.5, 2], "unmatched_label": "unrouted", "max_series": 2}"#,
    )
    .unwrap();
    assert!(!config.enabled);
    let registry = config.build().unwrap();
    for route in [None, Some("/a"), Some("/b")] {
        registry.record(
            &Labels {
                route,
                method: "GET",
                status: 404,
                arm: None,
                canary: false,
                refusal: None,
            },
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
    }
    let text = registry.render();
    assert!(text.contains("gateway_time_to_headers_seconds_bucket{route=\"unrouted\",method=\"GET\",status=\"404\",arm=\"\",refusal=\"\",le=\"2.0\"} 1"), "{text}");
    assert_eq!(registry.series_count(), 2);
    // Round trip.
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(
        serde_json::from_str::<MetricsConfig>(&json).unwrap(),
        config
    );
    // Unknown fields are refused.
    let unknown = serde_json::from_str::<MetricsConfig>(r#"{"bucket": [1]}"#).unwrap_err();
    assert!(unknown.to_string().contains("unknown field"), "{unknown}");
}

#[test]
fn the_config_section_reports_every_problem_with_its_location() {
    use tower_gateway::metrics::MetricsConfig;
    let config = MetricsConfig {
        buckets: vec![0.1, 0.1, -2.0, f64::INFINITY, 0.05, 3.0],
        max_series: 0,
        ..MetricsConfig::default()
    };
    let err = config.build().unwrap_err().at("metrics");
    let located: Vec<&str> = err.problems().iter().filter_map(|p| p.location()).collect();
    assert_eq!(
        located,
        [
            "metrics.buckets[1]",
            "metrics.buckets[2]",
            "metrics.buckets[3]",
            "metrics.buckets[4]",
            "metrics.max_series"
        ],
        "{err}"
    );
    assert!(err.problems().iter().all(|p| p.module() == "metrics"));
    let none = MetricsConfig {
        buckets: vec![],
        ..MetricsConfig::default()
    };
    let err = none.build().unwrap_err();
    assert_eq!(err.problems()[0].location(), Some("buckets"));
    #[cfg(not(feature = "metrics-facade"))]
    {
        let facade = MetricsConfig {
            facade: true,
            ..MetricsConfig::default()
        };
        let err = facade.build().unwrap_err();
        assert_eq!(err.problems()[0].location(), Some("facade"), "{err}");
    }
}

/// The `metrics` facade gets the same facts, names and labels, through handles registered
/// once per series.
#[cfg(feature = "metrics-facade")]
mod facade {
    use super::*;

    use common::recorder::TestRecorder;

    #[test]
    fn the_facade_gets_the_same_facts_with_the_same_names_and_labels() {
        let recorder = TestRecorder::default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let clock = tower_gateway::clock::ManualClock::at_unix(0);
        let registry = metrics::with_local_recorder(&recorder, || {
            let registry = Registry::builder()
                .buckets([0.1, 1.0])
                .facade(true)
                .build()
                .unwrap();
            let c = clock.clone();
            let svc = registry.layer().clock(clock.clone()).layer(service_fn(
                move |req: Request<Full<Bytes>>| {
                    let c = c.clone();
                    async move {
                        c.advance(Duration::from_millis(20));
                        let mut res = Response::new(Full::new(Bytes::from_static(b"x")));
                        if req.uri().path() == "/fail" {
                            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                        }
                        Ok::<_, Infallible>(res)
                    }
                },
            ));
            runtime.block_on(async {
                for path in ["/ok", "/ok", "/fail", "/ok"] {
                    let res = svc.clone().oneshot(req("GET", path)).await.unwrap();
                    clock.advance(Duration::from_millis(230));
                    body_text(res.into_body()).await;
                }
                // in flight while the response is out
                let res = svc.clone().oneshot(req("GET", "/ok")).await.unwrap();
                assert_eq!(recorder.gauge("gateway_requests_in_flight{}"), 1.0);
                drop(res); // dropped unread: aborted
            });
            registry
        });
        let ok = "route=,method=GET,status=200,arm=,refusal=";
        let fail = "route=,method=GET,status=503,arm=,refusal=";
        assert_eq!(
            recorder.counter(&format!("gateway_requests_total{{{ok}}}")),
            4
        );
        assert_eq!(
            recorder.counter(&format!("gateway_requests_total{{{fail}}}")),
            1
        );
        assert_eq!(
            recorder.counter(&format!("gateway_response_aborted_total{{{ok}}}")),
            1
        );
        assert_eq!(
            recorder.counter("gateway_request_errors_total{route=,method=GET,arm=,class=5xx}"),
            1
        );
        assert_eq!(
            recorder.histogram(&format!("gateway_time_to_headers_seconds{{{fail}}}")),
            [0.02]
        );
        assert_eq!(
            recorder.histogram(&format!("gateway_time_to_last_byte_seconds{{{ok}}}")),
            [0.25, 0.25, 0.25, 0.02]
        );
        assert_eq!(recorder.gauge("gateway_requests_in_flight{}"), 0.0);
        assert_eq!(recorder.counter("gateway_requests_unanswered_total{}"), 0);
        // The same numbers in our own exposition.
        let text = registry.render();
        assert_eq!(
            value(&text, "gateway_requests_total{route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"}"),
            4.0
        );
        // Registered once: 3 global handles, 4 per series and 1 error counter for the 503s.
        assert_eq!(recorder.registrations.load(Ordering::SeqCst), 3 + 4 + 4 + 1);
        let described = recorder.described.lock().unwrap();
        assert!(described.contains(&"gateway_time_to_last_byte_seconds".to_owned()));
        assert_eq!(described.len(), 8);
    }

    #[test]
    fn without_the_option_the_facade_sees_nothing() {
        let recorder = TestRecorder::default();
        metrics::with_local_recorder(&recorder, || {
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
            assert_eq!(registry.total_requests(), 1);
        });
        assert_eq!(recorder.registrations.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_full_table_counts_its_overflow_in_the_facade_too() {
        let recorder = TestRecorder::default();
        metrics::with_local_recorder(&recorder, || {
            let registry = Registry::builder()
                .max_series(1)
                .facade(true)
                .build()
                .unwrap();
            for route in ["/a", "/b", "/c"] {
                registry.record(
                    &Labels {
                        route: Some(route),
                        method: "POST",
                        status: 201,
                        arm: Some("canary"),
                        canary: true,
                        refusal: None,
                    },
                    Duration::ZERO,
                    Duration::ZERO,
                );
            }
        });
        assert_eq!(
            recorder.counter("gateway_metrics_series_overflow_total{}"),
            2
        );
        assert_eq!(
            recorder.counter(
                "gateway_requests_total{route=/a,method=POST,status=201,arm=canary,refusal=}"
            ),
            1
        );
    }
}

// ---- edge cases (audit, session 6): audit_c.rs

#[tokio::test]
async fn metrics_head_has_the_get_headers_and_no_body() {
    use tower_gateway::metrics::{Registry, CONTENT_TYPE};
    let registry = Registry::new();
    let app = registry.layer().layer(ok("hi"));
    let res = app.oneshot(common::request("GET", "/x")).await.unwrap();
    body_text(res.into_body()).await;
    let get = registry
        .service()
        .oneshot(common::request("GET", "/metrics"))
        .await
        .unwrap();
    let text = body_text(get.into_body()).await;
    let head = registry
        .service()
        .oneshot(common::request("HEAD", "/metrics"))
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], CONTENT_TYPE);
    assert_eq!(
        head.headers()["content-length"],
        text.len().to_string().as_str()
    );
    assert_eq!(body_text(head.into_body()).await, "");
}

/// The access log reads the route and the arm from the request when the response lacks them
/// (the layer sits inside the Router or inside a canary arm); the metrics must agree.
#[cfg(all(feature = "access-log", feature = "canary", feature = "router"))]
#[tokio::test]
async fn metrics_inside_a_route_or_an_arm_read_the_route_and_arm_from_the_request() {
    use tower_gateway::canary::CanaryLayer;
    use tower_gateway::metrics::Registry;
    use tower_gateway::router::Router;
    let registry = Registry::new();
    let sink = MemorySink::new();
    let per_route = tower::ServiceBuilder::new()
        .layer(log_at(
            &sink,
            LogFormat::template("$context.resourcePath $context.canaryArm").unwrap(),
            0,
        ))
        .layer(registry.layer())
        .service(ok("a pet"));
    let router = Router::builder()
        .route("GET /pets/{id}", per_route)
        .build()
        .unwrap();
    let res = router
        .oneshot(common::request("GET", "/pets/7"))
        .await
        .unwrap();
    body_text(res.into_body()).await;
    assert_eq!(sink.take(), ["/pets/{id} -"]);
    let text = registry.render();
    assert!(
        text.contains("gateway_requests_total{route=\"/pets/{id}\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"} 1"),
        "{text}"
    );

    // Inside each arm of a split: the arm is on the request.
    let registry = Registry::new();
    let arm = |body: &'static str| {
        tower::ServiceBuilder::new()
            .layer(log_at(
                &sink,
                LogFormat::template("$context.canaryArm").unwrap(),
                0,
            ))
            .layer(registry.layer())
            .service(ok(body))
    };
    let split = CanaryLayer::new(arm("v2"), 100).unwrap().layer(arm("v1"));
    let res = split.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(body_text(res.into_body()).await, "v2");
    assert_eq!(sink.take(), ["canary"]);
    let text = registry.render();
    assert!(
        text.contains("gateway_requests_total{route=\"\",method=\"GET\",status=\"200\",arm=\"canary\",refusal=\"\"} 1"),
        "{text}"
    );
    let report = registry.canary_report();
    assert_eq!(report.len(), 1);
    assert!(report[0].canary);
}

#[test]
fn report_interpolates_inside_a_bucket_and_merges_an_arms_series() {
    let registry = Registry::builder()
        .buckets([0.1, 0.2, 0.4])
        .build()
        .unwrap();
    let at = |route, status, arm, canary, ms| {
        registry.record(
            &Labels {
                route: Some(route),
                method: "GET",
                status,
                arm: Some(arm),
                canary,
                refusal: None,
            },
            Duration::from_millis(1),
            Duration::from_millis(ms),
        );
    };
    // Arm "b" (canary) over two routes and two statuses: 4 in (0, 0.1], 4 in (0.1, 0.2],
    // 2 in (0.2, 0.4]; 3 of the 10 are 5xx.
    for _ in 0..4 {
        at("/a", 200, "b", true, 50);
    }
    for _ in 0..3 {
        at("/a", 200, "b", true, 150);
    }
    at("/c", 500, "b", true, 150);
    at("/c", 502, "b", true, 300);
    at("/a", 503, "b", true, 300);
    // Arm "a" (stable): 1 in (0, 0.1] and 1 past the last bound.
    at("/a", 404, "a", false, 20);
    at("/a", 200, "a", false, 5_000);
    // No arm: left out.
    registry.record(
        &Labels {
            route: Some("/a"),
            method: "GET",
            status: 500,
            arm: None,
            canary: false,
            refusal: None,
        },
        Duration::from_millis(1),
        Duration::from_millis(1),
    );

    let report = registry.canary_report();
    assert_eq!(report.len(), 2, "{report:?}");
    let (a, b) = (&report[0], &report[1]);
    assert_eq!(
        (a.arm.as_str(), a.canary, a.requests, a.errors_5xx),
        ("a", false, 2, 0)
    );
    assert_eq!(
        (b.arm.as_str(), b.canary, b.requests, b.errors_5xx),
        ("b", true, 10, 3)
    );
    assert!(a.error_rate_5xx.abs() < 1e-12);
    assert!(
        (b.error_rate_5xx - 0.3).abs() < 1e-12,
        "{}",
        b.error_rate_5xx
    );
    // Rank 5 of 10 is the 1st of 4 in (0.1, 0.2]: 0.1 + 0.1 * 1/4.
    assert!((b.p50 - 0.125).abs() < 1e-9, "p50 {}", b.p50);
    // Rank 9.9 is 1.9 of 2 in (0.2, 0.4]: 0.2 + 0.2 * 1.9/2.
    assert!((b.p99 - 0.39).abs() < 1e-9, "p99 {}", b.p99);
    // Rank 1 of 2 is the whole first bucket: 0.1; rank 1.98 falls in +Inf: the last bound.
    assert!((a.p50 - 0.1).abs() < 1e-9, "p50 {}", a.p50);
    assert!((a.p99 - 0.4).abs() < 1e-9, "p99 {}", a.p99);
}

#[test]
fn an_empty_registry_reports_no_arm() {
    let registry = Registry::new();
    assert!(registry.canary_report().is_empty());
}

/// Prometheus text format: one `# HELP` and one `# TYPE` per family, before its samples,
/// and no sample (name and label set) twice, after refusals, preflights, 404s and 405s.
#[cfg(all(
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn every_family_is_described_once_and_no_series_is_written_twice() {
    let registry = Registry::builder()
        .unmatched_label("/pets/{id}")
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let stack = stack::build(&registry, &calls);
    let preflight = || {
        Request::options("/pets/1")
            .header("origin", APP)
            .header("access-control-request-method", "GET")
            .body(Full::default())
            .unwrap()
    };
    for request in [
        req("GET", "/pets/1"),
        req("GET", "/pets/2"),
        req("GET", "/pets/1"),
        req("GET", "/nowhere"),
        req("GET", "/pets/1/x"),
        req("DELETE", "/pets/3"),
        req("FOO", "/pets/3"),
        preflight(),
        preflight(),
    ] {
        send(&stack, request).await;
    }
    let text = registry.render();
    let mut help = BTreeMap::<String, usize>::new();
    let mut typed = BTreeMap::<String, usize>::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            *help
                .entry(rest.split(' ').next().unwrap().to_owned())
                .or_default() += 1;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            *typed
                .entry(rest.split(' ').next().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(help.values().all(|&n| n == 1), "{help:?}");
    assert_eq!(
        help.keys().collect::<Vec<_>>(),
        typed.keys().collect::<Vec<_>>()
    );
    assert!(typed.values().all(|&n| n == 1), "{typed:?}");
    let all = parse(&text);
    let mut seen = std::collections::BTreeSet::new();
    for s in &all {
        let mut labels = s.labels.clone();
        labels.sort();
        assert!(
            seen.insert((s.name.clone(), labels)),
            "series twice: {}",
            s.key
        );
    }
    // Each family's samples are contiguous (no family is resumed after another began).
    let mut order: Vec<String> = Vec::new();
    for s in &all {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|x| s.name.strip_suffix(x))
            .filter(|b| typed.contains_key(*b))
            .unwrap_or(&s.name)
            .to_owned();
        if order.last() != Some(&family) {
            assert!(!order.contains(&family), "{family} resumed");
            order.push(family);
        }
    }
}

/// The access log and the metrics agree request by request, on preflights answered by the
/// CORS layer (accepted and refused), unknown methods, `HEAD`, `404`, `405` and both canary
/// arms: for every (route, status, arm, refusal), as many log lines as counted requests.
#[cfg(all(
    feature = "access-log",
    feature = "router",
    feature = "canary",
    feature = "origin",
    feature = "cors"
))]
#[tokio::test]
async fn the_access_log_and_the_metrics_count_the_same_requests_per_label_set() {
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    let registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let sink = MemorySink::new();
    let log = AccessLogLayer::new(sink.clone()).format(
        LogFormat::template(
            "$context.routeKey|$context.status|$context.canaryArm|$context.responseFlags",
        )
        .unwrap(),
    );
    let both = log.layer(stack::build(&registry, &calls));
    let preflight = |origin: &str| {
        Request::options("/pets/1")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Full::default())
            .unwrap()
    };
    let requests = vec![
        req("GET", "/pets/1"),
        req("GET", "/pets/2"),
        req("GET", "/pets/3"),
        req("HEAD", "/pets/4"),
        req("FOO", "/pets/5"),
        req("GET", "/nowhere"),
        req("GET", "/nowhere/else"),
        req("DELETE", "/pets/3"),
        preflight(APP),
        preflight("https://evil.example"),
        req("OPTIONS", "/pets/1"),
    ];
    for request in requests {
        let res = both.clone().oneshot(request).await.unwrap();
        body_text(res.into_body()).await;
    }
    let mut from_log: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
    for line in sink.lines() {
        let [route, status, arm, refusal] = log_labels(&line);
        *from_log.entry((route, status, arm, refusal)).or_default() += 1.0;
    }
    let text = registry.render();
    let mut from_metrics: BTreeMap<(String, String, String, String), f64> = BTreeMap::new();
    for s in parse(&text) {
        if s.name != "gateway_requests_total" {
            continue;
        }
        let get = |k: &str| {
            s.labels
                .iter()
                .find(|l| l.0 == k)
                .map(|l| l.1.clone())
                .unwrap()
        };
        *from_metrics
            .entry((get("route"), get("status"), get("arm"), get("refusal")))
            .or_default() += s.value;
    }
    assert_eq!(from_log, from_metrics, "{text}");
    assert_eq!(registry.total_requests(), 11);
}

/// The metrics labels a `route key|status|arm|flags` log line stands for: the route template
/// (empty when none matched), the status, the arm (empty when none) and the refusal.
fn log_labels(line: &str) -> [String; 4] {
    let parts: Vec<&str> = line.split('|').collect();
    let route = match parts[0] {
        "-" => "",
        key => key.split_once(' ').unwrap().1,
    };
    let arm = if parts[2] == "-" { "" } else { parts[2] };
    let refusal = if parts[3].contains("NR") {
        "no_route"
    } else if parts[3].contains("OG") {
        "origin"
    } else if parts[3].contains("CP") {
        "cors_preflight"
    } else if parts[1] == "405" {
        "method_not_allowed"
    } else {
        ""
    };
    [route, parts[1], arm, refusal].map(str::to_owned)
}
