//! Audit (session 6): behaviours of AccessLog, CanarySplit and metrics checked byte for byte
//! against the issue texts and the formats they cite.
#![cfg(all(feature = "access-log", feature = "canary", feature = "metrics"))]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::body_text;
use http::{Request, Response, StatusCode, Version};
use http_body_util::Full;
use tower::{service_fn, Layer, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, ManualClock, MemorySink};

fn log(sink: &MemorySink, format: LogFormat, at: u64) -> AccessLogLayer {
    AccessLogLayer::new(sink.clone())
        .format(format)
        .clock(ManualClock::at_unix(at))
}

fn ok(
    body: &'static str,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req: Request<Full<Bytes>>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            body.as_bytes(),
        ))))
    })
}

async fn one_line(format: LogFormat, at: u64, req: Request<Full<Bytes>>) -> String {
    let sink = MemorySink::new();
    let res = log(&sink, format, at)
        .layer(ok("hello"))
        .oneshot(req)
        .await
        .unwrap();
    body_text(res.into_body()).await;
    let lines = sink.take();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

#[tokio::test]
async fn clf_dates_across_leap_days_and_centuries() {
    for (at, date) in [
        (0, "01/Jan/1970:00:00:00 +0000"),
        (951_782_400, "29/Feb/2000:00:00:00 +0000"),
        (951_868_799, "29/Feb/2000:23:59:59 +0000"),
        (1_709_251_199, "29/Feb/2024:23:59:59 +0000"),
        (4_102_444_800, "01/Jan/2100:00:00:00 +0000"),
        (1_234_567_890, "13/Feb/2009:23:31:30 +0000"),
        (253_402_300_799, "31/Dec/9999:23:59:59 +0000"),
    ] {
        let line = one_line(LogFormat::apache_common(), at, common::request("GET", "/")).await;
        assert_eq!(line, format!("- - - [{date}] \"GET / HTTP/1.1\" 200 5"));
    }
}

#[tokio::test]
async fn absolute_form_target_logs_origin_form() {
    let mut req = common::request("GET", "http://api.example.com/pets/42?verbose=1");
    req.extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 1)));
    let line = one_line(LogFormat::apache_common(), 1_710_078_936, req).await;
    assert_eq!(
        line,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 5"
    );
}

#[tokio::test]
async fn envoy_writes_http2_as_envoy_does_and_clf_as_apache_does() {
    let mut req = common::request("GET", "/");
    *req.version_mut() = Version::HTTP_2;
    let line = one_line(LogFormat::apache_common(), 0, req).await;
    assert!(line.contains("\"GET / HTTP/2.0\""), "{line}");
    let mut req = common::request("GET", "/");
    *req.version_mut() = Version::HTTP_2;
    let line = one_line(LogFormat::envoy(), 0, req).await;
    assert!(line.contains("\"GET / HTTP/2\""), "{line}");
}

#[tokio::test]
async fn json_numbers_are_numbers_and_the_query_is_kept_raw() {
    let line = one_line(LogFormat::json(), 0, common::request("POST", "/a?b=%22c")).await;
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["responseLength"], 5);
    assert_eq!(v["query"], "b=%22c");
}

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

#[tokio::test]
async fn integer_weights_are_whole_percentages() {
    use tower_gateway::canary::{CanaryLayer, Mode, Weight};
    use tower_gateway::error::ProblemKind;
    assert_eq!(Weight::from(10).to_ppm().unwrap(), 100_000);
    assert_eq!(Weight::from(0_u32).to_ppm().unwrap(), 0);
    assert_eq!(Weight::from(100).to_ppm().unwrap(), 1_000_000);
    for (weight, value) in [(Weight::from(101), "101"), (Weight::from(-1), "-1")] {
        let error = weight.to_ppm().unwrap_err();
        assert_eq!(error.problems()[0].kind(), ProblemKind::OutOfRange);
        assert_eq!(error.problems()[0].value(), value);
    }
    // The issue's {5,1,1} written with integer literals: `a a b a c a a`.
    let named = |name: &'static str| {
        service_fn(move |_req: Request<Full<Bytes>>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                name.as_bytes(),
            ))))
        })
    };
    let layer = CanaryLayer::builder()
        .stable("a", 5)
        .arm("b", named("b"), 1)
        .arm("c", named("c"), 1)
        .mode(Mode::round_robin())
        .build()
        .unwrap();
    let split = layer.layer(named("a"));
    let mut order = String::new();
    for _ in 0..7 {
        let res = split
            .clone()
            .oneshot(common::request("GET", "/"))
            .await
            .unwrap();
        order.push_str(&body_text(res.into_body()).await);
    }
    assert_eq!(order, "aabacaa");
    let two = CanaryLayer::new(named("v2"), 10).unwrap();
    assert_eq!(two.handle().canary_weight(), Weight::ppm(100_000));
}

#[tokio::test]
async fn a_json_template_stays_valid_json_with_hostile_values() {
    let format = LogFormat::template(
        r#"{"ua":"$context.identity.userAgent","path":"$context.path","status":$context.status,"ref":"$context.referer"}"#,
    )
    .unwrap();
    let mut req = common::request("GET", "/caf%C3%A9");
    req.headers_mut().insert(
        "user-agent",
        http::HeaderValue::from_bytes(b"evil\"}\\\tcaf\xc3\xa9").unwrap(),
    );
    let line = one_line(format, 0, req).await;
    let value: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(value["ua"], "evil\"}\\\tcaf\u{e9}");
    assert_eq!(value["path"], "/caf%C3%A9");
    assert_eq!(value["status"], 200);
    assert_eq!(value["ref"], "-");
    // A text template keeps nginx's escaping.
    let mut req = common::request("GET", "/");
    req.headers_mut()
        .insert("user-agent", http::HeaderValue::from_static("a\"b"));
    let line = one_line(
        LogFormat::template("ua=$context.identity.userAgent").unwrap(),
        0,
        req,
    )
    .await;
    assert_eq!(line, "ua=a\\x22b");
}

#[tokio::test]
async fn aws_alias_variables_are_accepted() {
    let format =
        LogFormat::template("$context.extendedRequestId $context.integration.latency").unwrap();
    let mut req = common::request("GET", "/");
    req.headers_mut()
        .insert("x-request-id", http::HeaderValue::from_static("req-9"));
    assert_eq!(one_line(format, 0, req).await, "req-9 0");
}

#[test]
fn public_types_are_clone_send_sync() {
    use tower_gateway::access_log::{AccessLog, NonBlocking, RequestId, Sink, TraceId};
    use tower_gateway::canary::{Arm, CanaryHandle, CanaryLayer, CanarySplit, Mode, Weight};
    use tower_gateway::metrics::{Metrics, MetricsConfig, MetricsLayer, MetricsService, Registry};
    fn check<T: Clone + Send + Sync + 'static>() {}
    type Svc =
        tower::util::BoxCloneSyncService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;
    check::<AccessLogLayer>();
    check::<AccessLog<Svc>>();
    check::<LogFormat>();
    check::<MemorySink>();
    check::<NonBlocking>();
    check::<Sink>();
    check::<RequestId>();
    check::<TraceId>();
    check::<CanaryLayer<Svc>>();
    check::<CanarySplit<Svc, Svc>>();
    check::<CanaryHandle>();
    check::<Weight>();
    check::<Arm>();
    check::<Mode>();
    check::<Registry>();
    check::<MetricsLayer>();
    check::<Metrics<Svc>>();
    check::<MetricsService>();
    check::<MetricsConfig>();
}

#[tokio::test]
async fn a_head_answer_sends_no_body_bytes_even_when_its_body_is_read() {
    use http_body_util::BodyExt;
    let sink = MemorySink::new();
    // A naive handler answers HEAD with the GET body; a server never sends it.
    let svc = log(
        &sink,
        LogFormat::template(
            "$context.httpMethod $context.status $context.responseLength $context.responseFlags",
        )
        .unwrap(),
        0,
    )
    .layer(ok("seventeen bytes!!"));
    let res = svc
        .clone()
        .oneshot(common::request("HEAD", "/"))
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
    assert_eq!(sink.take(), ["HEAD 200 0 -"]);
    let line = {
        let res = log(&sink, LogFormat::apache_common(), 0)
            .layer(ok("seventeen bytes!!"))
            .oneshot(common::request("HEAD", "/"))
            .await
            .unwrap();
        res.into_body().collect().await.unwrap();
        sink.take()
    };
    assert_eq!(
        line,
        ["- - - [01/Jan/1970:00:00:00 +0000] \"HEAD / HTTP/1.1\" 200 -"]
    );
    let res = svc.oneshot(common::request("GET", "/")).await.unwrap();
    res.into_body().collect().await.unwrap();
    assert_eq!(sink.take(), ["GET 200 17 -"]);
}

#[test]
fn sticky_keys_follow_promote_and_roll_back_and_overrides_beat_the_key() {
    use http::header::HeaderName;
    use tower_gateway::canary::{CanaryLayer, Key, Mode};
    let layer = CanaryLayer::builder()
        .canary(ok("canary"), "10%")
        .mode(Mode::sticky(Key::header(HeaderName::from_static("x-user"))))
        .build()
        .unwrap();
    let parts = |id: u32, force: Option<&str>| {
        let mut req = Request::builder().header("x-user", format!("user-{id}"));
        if let Some(force) = force {
            req = req.header("x-canary", force);
        }
        req.body(()).unwrap().into_parts().0
    };
    let handle = layer.handle();
    handle.promote();
    assert!((0..1_000).all(|id| layer.pick(&parts(id, None)).is_canary()));
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, Some("never"))).is_canary()));
    handle.roll_back();
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, None)).is_canary()));
    assert!((0..1_000).all(|id| layer.pick(&parts(id, Some("ALWAYS"))).is_canary()));
    // Other override values are ignored: the key decides.
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, Some("yes"))).is_canary()));
}

#[tokio::test]
async fn an_empty_body_is_zero_bytes_in_json_and_envoy_and_dash_in_apache() {
    let sink = MemorySink::new();
    for format in [
        LogFormat::json(),
        LogFormat::envoy(),
        LogFormat::apache_combined(),
    ] {
        let res = log(&sink, format, 0)
            .layer(ok(""))
            .oneshot(common::request("GET", "/"))
            .await
            .unwrap();
        drop(res); // an empty body is never polled by a server
    }
    let lines = sink.take();
    let json: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(json["responseLength"], 0);
    assert!(json["responseFlags"].is_null(), "{json}");
    assert!(
        lines[1].starts_with("[1970-01-01T00:00:00.000Z] \"GET / HTTP/1.1\" 200 - 0 0 "),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "- - - [01/Jan/1970:00:00:00 +0000] \"GET / HTTP/1.1\" 200 - \"-\" \"-\""
    );
}

/// The access log reads the route and the arm from the request when the response lacks them
/// (the layer sits inside the Router or inside a canary arm); the metrics must agree.
#[tokio::test]
async fn metrics_inside_a_route_or_an_arm_read_the_route_and_arm_from_the_request() {
    use tower_gateway::canary::CanaryLayer;
    use tower_gateway::metrics::Registry;
    use tower_gateway::router::Router;
    let registry = Registry::new();
    let sink = MemorySink::new();
    let per_route = tower::ServiceBuilder::new()
        .layer(log(
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
            .layer(log(
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
