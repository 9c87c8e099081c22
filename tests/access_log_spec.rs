//! The AccessLog cases written from the issue text (issue 7), as an independent tester would:
//! black-box, through the public API, one or more cases per bullet of the issue text and the
//! formats' own documentation.
#![cfg(all(
    feature = "access-log",
    feature = "router",
    feature = "canary",
    feature = "origin"
))]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::{log_at, ok, ok_or_204};
use futures_util::stream;
use http::{Request, Response, StatusCode, Version};
use http_body::Frame;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{
    AccessLogLayer, LogFormat, ManualClock, MemorySink, NonBlocking, RequestId, Sink, TraceId,
};

type Body = Full<Bytes>;
/// A pet as JSON: the 17-byte body of the target most cases log.
const PET: &str = r#"{"id":42,"pet":1}"#;
const AT: u64 = 1_710_078_936; // 10/Mar/2024:13:55:36 +0000

fn pets_request() -> Request<Body> {
    let mut request = Request::get("/pets/42?verbose=1")
        .header("host", "api.example.com")
        .header("referer", "https://shop.example/")
        .header("user-agent", "curl/8.5.0")
        .header("x-request-id", "req-1")
        .body(Body::default())
        .unwrap();
    request
        .extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
    request
}

/// A cross-site `POST /pets` from `https://evil.example`: what an origin guard refuses.
fn cross_site_post() -> Request<Body> {
    Request::post("/pets")
        .header("host", "api.example.com")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::default())
        .unwrap()
}

async fn run<S, B>(svc: S, request: Request<Body>) -> Response<B>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    svc.oneshot(request).await.unwrap()
}

async fn drain<B: http_body::Body>(response: Response<B>)
where
    B::Error: std::fmt::Debug,
{
    response.into_body().collect().await.unwrap();
}

// ---- golden lines

#[tokio::test]
async fn apache_common_golden_line_from_the_issue() {
    let sink = MemorySink::new();
    let app = ServiceBuilder::new()
        .layer(log_at(&sink, LogFormat::apache_common(), AT))
        .service(ok(PET));
    drain(run(app, pets_request()).await).await;
    assert_eq!(
        sink.lines(),
        ["203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17"]
    );
}

#[tokio::test]
async fn apache_combined_golden_line() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::apache_combined(), AT).layer(ok(PET));
    drain(run(app, pets_request()).await).await;
    assert_eq!(
        sink.lines(),
        ["203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17 \"https://shop.example/\" \"curl/8.5.0\""]
    );
}

#[tokio::test]
async fn combined_is_the_default_and_missing_values_are_dashes() {
    let sink = MemorySink::new();
    let app = AccessLogLayer::new(sink.clone())
        .clock(ManualClock::at_unix(AT))
        .layer(ok(PET));
    drain(run(app, Request::get("/").body(Body::default()).unwrap()).await).await;
    assert_eq!(
        sink.lines(),
        ["- - - [10/Mar/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 17 \"-\" \"-\""]
    );
}

#[tokio::test]
async fn envoy_default_golden_line() {
    let clock = ManualClock::at_unix(AT);
    let inner_clock = clock.clone();
    let inner = service_fn(move |_req: Request<Body>| {
        let clock = inner_clock.clone();
        async move {
            clock.advance(Duration::from_millis(5));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                b"{\"id\":42,\"pet\":1}",
            ))))
        }
    });
    let sink = MemorySink::new();
    let app = AccessLogLayer::new(sink.clone())
        .format(LogFormat::envoy())
        .clock(clock.clone())
        .layer(inner);
    let response = run(app, pets_request()).await;
    clock.advance(Duration::from_millis(7));
    drain(response).await;
    assert_eq!(
        sink.lines(),
        ["[2024-03-10T13:55:36.000Z] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 - 0 17 12 5 \"-\" \"curl/8.5.0\" \"req-1\" \"api.example.com\" \"-\""]
    );
}

#[tokio::test]
async fn json_uses_aws_names_typed_values_and_null() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::json(), AT).layer(ok(PET));
    let mut request = pets_request();
    request.headers_mut().remove("referer");
    drain(run(app, request).await).await;
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&lines[0]).expect("valid JSON");
    assert_eq!(v["requestId"], "req-1");
    assert_eq!(v["ip"], "203.0.113.7");
    assert_eq!(v["requestTime"], "10/Mar/2024:13:55:36 +0000");
    assert_eq!(v["httpMethod"], "GET");
    assert_eq!(v["status"], 200);
    assert!(v["status"].is_number());
    assert_eq!(v["protocol"], "HTTP/1.1");
    assert_eq!(v["responseLength"], 17);
    assert_eq!(v["domainName"], "api.example.com");
    assert_eq!(v["path"], "/pets/42");
    assert_eq!(v["userAgent"], "curl/8.5.0");
    assert!(v["referer"].is_null(), "missing is null: {v}");
    assert!(v["routeKey"].is_null(), "no router: null");
    assert!(v["responseLatency"].is_number());
    assert!(v["integrationLatency"].is_number());
    assert!(v["traceId"].is_null());
    assert!(v["canaryArm"].is_null());
}

#[tokio::test]
async fn template_with_aws_context_variables() {
    let sink = MemorySink::new();
    let format = LogFormat::template(
        "$context.identity.sourceIp $context.httpMethod $context.path $context.protocol $context.status $context.responseLength $context.requestId $context.domainName $context.identity.userAgent $context.requestTimeEpoch",
    )
    .unwrap();
    let app = log_at(&sink, format, AT).layer(ok(PET));
    drain(run(app, pets_request()).await).await;
    assert_eq!(
        sink.lines(),
        ["203.0.113.7 GET /pets/42 HTTP/1.1 200 17 req-1 api.example.com curl/8.5.0 1710078936000"]
    );
}

#[test]
fn template_errors_name_unknown_variables_and_line_breaks() {
    let error =
        LogFormat::template("$context.status $context.bogus $context.alsoBogus").unwrap_err();
    let text = error.to_string();
    assert!(text.contains("bogus"), "{text}");
    assert!(text.contains("alsoBogus"), "{text}");
    assert!(LogFormat::template("$context.status\n$context.path").is_err());
    assert!(LogFormat::template("$context.status\r").is_err());
    assert!(LogFormat::template("$context.status").is_ok());
}

// ---- escaping

#[tokio::test]
async fn hostile_user_agent_is_escaped_nginx_style_in_text_formats() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::apache_combined(), AT).layer(ok(PET));
    let ua = http::HeaderValue::from_bytes(b"evil\"agent\\\t\xc3\xa9").unwrap();
    let request = Request::get("/")
        .header("user-agent", ua)
        .header("referer", "a\"b")
        .body(Body::default())
        .unwrap();
    drain(run(app, request).await).await;
    let line = &sink.lines()[0];
    assert!(
        line.ends_with("\"a\\x22b\" \"evil\\x22agent\\x5C\\x09\\xC3\\xA9\""),
        "{line}"
    );
}

#[tokio::test]
async fn hostile_values_stay_valid_json() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::json(), AT).layer(ok(PET));
    let ua = http::HeaderValue::from_bytes(b"evil\"agent\\\t\xc3\xa9\xff").unwrap();
    let request = Request::get("/caf%C3%A9?q=%22x%22")
        .header("user-agent", ua)
        .body(Body::default())
        .unwrap();
    drain(run(app, request).await).await;
    let line = &sink.lines()[0];
    assert!(!line.contains('\t') && !line.contains('\n'), "{line}");
    let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
    let ua = v["userAgent"].as_str().unwrap();
    assert!(ua.starts_with("evil\"agent\\\té"), "{ua}");
}

// ---- when the record is written

#[tokio::test]
async fn nothing_at_headers_one_record_at_the_last_byte() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::apache_common(), AT).layer(ok(PET));
    let response = run(app, pets_request()).await;
    assert!(sink.is_empty());
    drain(response).await;
    assert_eq!(sink.len(), 1);
}

type Streamed = UnsyncBoxBody<Bytes, std::io::Error>;

fn chunks(parts: Vec<Result<&'static str, &'static str>>) -> Streamed {
    let frames = parts.into_iter().map(|p| match p {
        Ok(text) => Ok(Frame::data(Bytes::from_static(text.as_bytes()))),
        Err(e) => Err(std::io::Error::other(e)),
    });
    StreamBody::new(stream::iter(frames)).boxed_unsync()
}

fn streaming(
    parts: Vec<Result<&'static str, &'static str>>,
    content_length: Option<&'static str>,
) -> impl Service<Request<Body>, Response = Response<Streamed>, Error = Infallible> + Clone {
    service_fn(move |_req: Request<Body>| {
        let parts = parts.clone();
        async move {
            let mut response = Response::new(chunks(parts));
            if let Some(len) = content_length {
                response
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, len.parse().unwrap());
            }
            Ok::<_, Infallible>(response)
        }
    })
}

fn status_bytes_flags() -> LogFormat {
    LogFormat::template("$context.status $context.responseLength $context.responseFlags").unwrap()
}

#[tokio::test]
async fn streamed_body_bytes_are_counted_not_taken_from_content_length() {
    let sink = MemorySink::new();
    let app = log_at(&sink, status_bytes_flags(), AT).layer(streaming(
        vec![Ok("hello "), Ok("streamed "), Ok("world")],
        Some("999"),
    ));
    drain(run(app, Request::get("/").body(Body::default()).unwrap()).await).await;
    assert_eq!(sink.lines(), ["200 20 -"]);
}

#[tokio::test]
async fn body_dropped_half_way_is_one_aborted_record() {
    let sink = MemorySink::new();
    let app = log_at(&sink, status_bytes_flags(), AT)
        .layer(streaming(vec![Ok("first "), Ok("second")], None));
    let response = run(app, Request::get("/").body(Body::default()).unwrap()).await;
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "first ");
    assert!(sink.is_empty());
    drop(body);
    assert_eq!(sink.lines(), ["200 6 DC"]);
}

#[tokio::test]
async fn body_error_is_one_flagged_record() {
    let sink = MemorySink::new();
    let app = log_at(&sink, status_bytes_flags(), AT)
        .layer(streaming(vec![Ok("abc"), Err("boom")], None));
    let response = run(app, Request::get("/").body(Body::default()).unwrap()).await;
    assert!(response.into_body().collect().await.is_err());
    assert_eq!(sink.lines(), ["200 3 UE"]);
}

#[tokio::test]
async fn inner_error_is_status_zero_flagged() {
    let sink = MemorySink::new();
    let failing = service_fn(|_req: Request<Body>| async {
        Err::<Response<Body>, _>(std::io::Error::other("down"))
    });
    let app = log_at(&sink, status_bytes_flags(), AT).layer(failing);
    let error = app
        .oneshot(Request::get("/").body(Body::default()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "down", "the error passes through as is");
    assert_eq!(sink.lines(), ["0 0 UE"]);
}

struct Never;

impl Service<Request<Body>> for Never {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Request<Body>) -> Self::Future {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn future_dropped_before_a_response_is_status_zero_flagged() {
    let sink = MemorySink::new();
    let mut app = log_at(&sink, status_bytes_flags(), AT).layer(Never);
    let mut future = app.call(Request::get("/").body(Body::default()).unwrap());
    let waker = futures_util::task::noop_waker();
    assert!(Pin::new(&mut future)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert!(sink.is_empty());
    drop(future);
    let line = sink.lines();
    assert_eq!(line.len(), 1);
    assert!(
        line[0].starts_with("0 0 ") && line[0].contains("DC"),
        "{line:?}"
    );
}

#[tokio::test]
async fn no_content_and_head_count_no_bytes() {
    let sink = MemorySink::new();
    let inner = ok_or_204("seventeen bytes!!");
    let app = log_at(&sink, LogFormat::apache_common(), AT).layer(inner);
    let response = run(
        app.clone(),
        Request::get("/204").body(Body::default()).unwrap(),
    )
    .await;
    drain(response).await;
    let head = Request::head("/").body(Body::default()).unwrap();
    let response = run(app, head).await;
    drain(response).await;
    assert_eq!(
        sink.lines(),
        [
            "- - - [10/Mar/2024:13:55:36 +0000] \"GET /204 HTTP/1.1\" 204 -",
            "- - - [10/Mar/2024:13:55:36 +0000] \"HEAD / HTTP/1.1\" 200 -",
        ]
    );
}

#[tokio::test]
async fn protocol_versions_are_written_as_http_x() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::template("$context.protocol").unwrap(), AT).layer(ok(PET));
    for version in [Version::HTTP_10, Version::HTTP_11, Version::HTTP_2] {
        let request = Request::get("/")
            .version(version)
            .body(Body::default())
            .unwrap();
        drain(run(app.clone(), request).await).await;
    }
    assert_eq!(sink.lines(), ["HTTP/1.0", "HTTP/1.1", "HTTP/2.0"]);
}

#[tokio::test]
async fn request_body_bytes_when_known() {
    let sink = MemorySink::new();
    let app = log_at(
        &sink,
        LogFormat::template("$context.requestLength").unwrap(),
        AT,
    )
    .layer(ok(PET));
    let request = Request::post("/")
        .header("content-length", "5")
        .body(Full::new(Bytes::from_static(b"hello")))
        .unwrap();
    drain(run(app.clone(), request).await).await;
    assert_eq!(sink.lines(), ["5"]);
}

// ---- request ids

fn id_format() -> LogFormat {
    LogFormat::template("$context.requestId").unwrap()
}

fn is_uuid_v4(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b.iter()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || c.is_ascii_hexdigit())
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

#[tokio::test]
async fn request_id_kept_replaced_or_generated_and_propagated() {
    let sink = MemorySink::new();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    let inner = service_fn(move |req: Request<Body>| {
        let seen = seen2.clone();
        async move {
            let id = req
                .extensions()
                .get::<RequestId>()
                .expect("request id extension");
            seen.lock().unwrap().push(id.as_str().to_owned());
            Ok::<_, Infallible>(Response::new(Body::default()))
        }
    });
    let app = log_at(&sink, id_format(), AT).layer(inner);
    let with = |id: &str| {
        Request::get("/")
            .header("x-request-id", id)
            .body(Body::default())
            .unwrap()
    };
    let kept = run(app.clone(), with("abc-123_XYZ.9")).await;
    assert_eq!(kept.headers()["x-request-id"], "abc-123_XYZ.9");
    drain(kept).await;
    let long = "a".repeat(1_000);
    for bad in [long.as_str(), "has space", "quote\"d", "<script>"] {
        let replaced = run(app.clone(), with(bad)).await;
        let id = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(is_uuid_v4(&id), "{bad:?} replaced by {id:?}");
        drain(replaced).await;
    }
    let generated = run(
        app.clone(),
        Request::get("/").body(Body::default()).unwrap(),
    )
    .await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(is_uuid_v4(&id), "{id}");
    drain(generated).await;
    let lines = sink.lines();
    assert_eq!(lines[0], "abc-123_XYZ.9");
    assert_eq!(lines[5], id);
    assert_eq!(
        *seen.lock().unwrap(),
        lines,
        "the log, the handler and the response agree"
    );
    let mut unique = lines.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), lines.len());
}

// ---- trace ids

#[tokio::test]
async fn trace_id_from_a_valid_traceparent_only() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::template("$context.traceId").unwrap(), AT).layer(ok(PET));
    let cases = [
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        // A future version: parse what version 00 defines, ignore the rest.
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like",
            "4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        (
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "-",
        ),
        (
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "-",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "-",
        ),
        (
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "-",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "-",
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "-",
        ),
        ("garbage", "-"),
    ];
    for (header, _) in cases {
        let request = Request::get("/")
            .header("traceparent", header)
            .body(Body::default())
            .unwrap();
        drain(run(app.clone(), request).await).await;
    }
    let want: Vec<&str> = cases.iter().map(|c| c.1).collect();
    assert_eq!(sink.lines(), want);
    assert_eq!(
        TraceId::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
            .unwrap()
            .as_str(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

// ---- the other layers' facts

#[tokio::test]
async fn router_canary_and_origin_guard_fill_their_fields() {
    use tower_gateway::canary::CanaryLayer;
    use tower_gateway::origin::OriginGuardLayer;
    use tower_gateway::router::Router;

    let reply = |text: &'static str| {
        service_fn(move |_: Request<Body>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                text.as_bytes(),
            ))))
        })
    };
    let pets = CanaryLayer::builder()
        .arm("v2", reply("v2"), 100)
        .build()
        .unwrap()
        .layer(reply("v1"));
    let router = Router::builder()
        .route("GET /pets/{id}", pets.clone())
        .route("POST /pets", pets)
        .build()
        .unwrap();
    let sink = MemorySink::new();
    let format = LogFormat::template(
        "$context.status \"$context.routeKey\" $context.resourcePath $context.canaryArm $context.isCanaryRequest $context.responseFlags",
    )
    .unwrap();
    let app = ServiceBuilder::new()
        .layer(log_at(&sink, format, AT))
        .layer(OriginGuardLayer::new())
        .layer(router)
        .service(reply("app"));
    drain(
        run(
            app.clone(),
            Request::get("/pets/7").body(Body::default()).unwrap(),
        )
        .await,
    )
    .await;
    drain(run(app.clone(), cross_site_post()).await).await;
    assert_eq!(
        sink.lines(),
        [
            "200 \"GET /pets/{id}\" /pets/{id} v2 true -",
            "403 \"-\" - - - OG",
        ]
    );
}

#[tokio::test]
async fn router_without_fallback_match_flags_no_route() {
    use tower_gateway::router::Router;
    let router = Router::builder()
        .route("GET /pets/{id}", ok(PET))
        .build()
        .unwrap();
    let sink = MemorySink::new();
    let app = ServiceBuilder::new()
        .layer(log_at(&sink, status_bytes_flags(), AT))
        .service(router);
    let response = run(app, Request::get("/nowhere").body(Body::default()).unwrap()).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    drain(response).await;
    let line = &sink.lines()[0];
    assert!(line.starts_with("404 ") && line.ends_with(" NR"), "{line}");
}

// ---- sinks

#[tokio::test]
async fn closure_sink_gets_each_line() {
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let got2 = got.clone();
    let app = AccessLogLayer::new(Sink::from_fn(move |line: &str| {
        got2.lock().unwrap().push(line.to_owned())
    }))
    .format(LogFormat::apache_common())
    .clock(ManualClock::at_unix(AT))
    .layer(ok(PET));
    drain(run(app, pets_request()).await).await;
    assert_eq!(
        *got.lock().unwrap(),
        ["203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17"]
    );
}

/// A writer that blocks until released, then collects.
#[derive(Clone, Default)]
struct Slow {
    out: Arc<Mutex<Vec<u8>>>,
    gate: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl Slow {
    fn release(&self) {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
    }
    fn lines(&self) -> usize {
        self.out
            .lock()
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    }
}

impl Write for Slow {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut open = self.gate.0.lock().unwrap();
        while !*open {
            open = self.gate.1.wait(open).unwrap();
        }
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn lossy_writer_drops_and_counts_when_the_queue_is_full() {
    let slow = Slow::default();
    let (writer, guard) = NonBlocking::builder()
        .capacity(2)
        .lossy(true)
        .spawn(slow.clone())
        .unwrap();
    for i in 0..100 {
        writer.write_line(&format!("line {i}"));
    }
    let dropped = writer.dropped();
    assert!(dropped >= 90, "{dropped}");
    slow.release();
    drop(guard);
    assert_eq!(slow.lines() as u64 + dropped, 100);
}

#[test]
fn blocking_writer_loses_nothing_and_guard_drop_flushes() {
    let slow = Slow::default();
    let (writer, guard) = NonBlocking::builder()
        .capacity(2)
        .lossy(false)
        .spawn(slow.clone())
        .unwrap();
    let producer = {
        let writer = writer.clone();
        std::thread::spawn(move || {
            for i in 0..1_000 {
                writer.write_line(&format!("line {i}"));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !producer.is_finished(),
        "a full queue makes the writer wait"
    );
    slow.release();
    producer.join().unwrap();
    drop(guard);
    assert_eq!(slow.lines(), 1_000);
    assert_eq!(writer.dropped(), 0);
}

#[tokio::test]
async fn non_blocking_sink_through_the_layer_flushes_on_guard_drop() {
    let out = Slow::default();
    out.release();
    let (writer, guard) = NonBlocking::new(out.clone()).unwrap();
    let app = AccessLogLayer::new(writer)
        .format(LogFormat::apache_common())
        .clock(ManualClock::at_unix(AT))
        .layer(ok(PET));
    for _ in 0..500 {
        drain(run(app.clone(), pets_request()).await).await;
    }
    drop(guard);
    assert_eq!(out.lines(), 500);
    let text = String::from_utf8(out.out.lock().unwrap().clone()).unwrap();
    assert!(text.starts_with(
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17\n"
    ));
}

#[tokio::test]
async fn works_under_axum_router_layer() {
    let sink = MemorySink::new();
    let app = axum::Router::new()
        .route("/pets/{id}", axum::routing::get(|| async { "a pet" }))
        .layer(log_at(&sink, LogFormat::apache_common(), AT));
    let response = app
        .oneshot(
            Request::get("/pets/1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    drain(response).await;
    assert_eq!(
        sink.lines(),
        ["- - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/1 HTTP/1.1\" 200 5"]
    );
}

// ---- AWS's own example formats, literally (HTTP API "Example log formats")

#[tokio::test]
async fn aws_example_formats_run_literally() {
    let clf = "$context.identity.sourceIp - - [$context.requestTime] \"$context.httpMethod $context.routeKey $context.protocol\" $context.status $context.responseLength $context.requestId $context.extendedRequestId";
    let json = "{ \"requestId\":\"$context.requestId\", \"ip\": \"$context.identity.sourceIp\", \"requestTime\":\"$context.requestTime\", \"httpMethod\":\"$context.httpMethod\",\"routeKey\":\"$context.routeKey\", \"status\":\"$context.status\",\"protocol\":\"$context.protocol\", \"responseLength\":\"$context.responseLength\", \"extendedRequestId\": \"$context.extendedRequestId\" }";
    let xml = "<request id=\"$context.requestId\"> <ip>$context.identity.sourceIp</ip> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <routeKey>$context.routeKey</routeKey> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>";
    let csv = "$context.identity.sourceIp,$context.requestTime,$context.httpMethod,$context.routeKey,$context.protocol,$context.status,$context.responseLength,$context.requestId";
    let unquoted = "{\"requestTime\":\"$context.requestTime\",\"requestId\":\"$context.requestId\",\"httpMethod\":\"$context.httpMethod\",\"path\":\"$context.path\",\"routeKey\":\"$context.routeKey\",\"status\":$context.status,\"responseLatency\":$context.responseLatency}";
    let mut lines = Vec::new();
    for template in [clf, json, xml, csv, unquoted] {
        let sink = MemorySink::new();
        let app = log_at(&sink, LogFormat::template(template).unwrap(), AT).layer(ok(PET));
        drain(run(app, pets_request()).await).await;
        lines.push(sink.lines().remove(0));
    }
    assert_eq!(
        lines[0],
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET - HTTP/1.1\" 200 17 req-1 req-1"
    );
    let v: serde_json::Value = serde_json::from_str(&lines[1]).expect("JSON");
    assert_eq!(v["status"], "200");
    assert_eq!(v["routeKey"], "-");
    assert_eq!(v["extendedRequestId"], "req-1");
    assert_eq!(
        lines[2],
        "<request id=\"req-1\"> <ip>203.0.113.7</ip> <requestTime>10/Mar/2024:13:55:36 +0000</requestTime> <httpMethod>GET</httpMethod> <routeKey>-</routeKey> <status>200</status> <protocol>HTTP/1.1</protocol> <responseLength>17</responseLength> </request>"
    );
    assert_eq!(
        lines[3],
        "203.0.113.7,10/Mar/2024:13:55:36 +0000,GET,-,HTTP/1.1,200,17,req-1"
    );
    let v: serde_json::Value = serde_json::from_str(&lines[4]).expect("JSON");
    assert_eq!(v["status"], 200);
    assert_eq!(v["responseLatency"], 0);
    assert_eq!(v["path"], "/pets/42");
}

#[tokio::test]
async fn hostile_paths_are_escaped_in_text_and_json() {
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::apache_common(), AT).layer(ok(PET));
    let uri = http::Uri::from_static("/a\"b\\caf\u{e9}");
    drain(
        run(
            app,
            Request::get(uri.clone()).body(Body::default()).unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(
        sink.lines(),
        ["- - - [10/Mar/2024:13:55:36 +0000] \"GET /a\\x22b\\x5Ccaf\\xC3\\xA9 HTTP/1.1\" 200 17"]
    );
    let sink = MemorySink::new();
    let app = log_at(&sink, LogFormat::json(), AT).layer(ok(PET));
    drain(run(app, Request::get(uri).body(Body::default()).unwrap()).await).await;
    let v: serde_json::Value = serde_json::from_str(&sink.lines()[0]).unwrap();
    assert_eq!(v["path"], "/a\"b\\caf\u{e9}");
}

#[tokio::test]
async fn bodies_never_sent_and_dropped_unpolled_are_not_aborted() {
    // hyper never polls the body of a HEAD answer or of a 204/304, and checks
    // `is_end_stream` before polling an empty body: dropping them is their normal end.
    let sink = MemorySink::new();
    let inner = service_fn(|req: Request<Body>| async move {
        let mut response = Response::new(Full::new(Bytes::from_static(b"seventeen bytes!!")));
        match req.uri().path() {
            "/204" => {
                *response.status_mut() = StatusCode::NO_CONTENT;
                *response.body_mut() = Body::default();
            }
            "/304" => *response.status_mut() = StatusCode::NOT_MODIFIED,
            "/empty" => *response.body_mut() = Body::default(),
            _ => {}
        }
        Ok::<_, Infallible>(response)
    });
    let app = log_at(&sink, status_bytes_flags(), AT).layer(inner);
    for (method, path) in [
        (http::Method::HEAD, "/"),
        (http::Method::GET, "/204"),
        (http::Method::GET, "/304"),
        (http::Method::GET, "/empty"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::default())
            .unwrap();
        let response = run(app.clone(), request).await;
        let body = response.into_body();
        if path == "/empty" {
            assert!(http_body::Body::is_end_stream(&body));
        }
        drop(body);
    }
    assert_eq!(sink.lines(), ["200 0 -", "204 0 -", "304 0 -", "200 0 -"]);
}

// ---- over real HTTP/1.1 bytes (hyper)

#[tokio::test]
async fn over_hyper_head_full_body_and_client_gone_mid_body() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    let sink = MemorySink::new();
    let inner = service_fn(|req: Request<hyper::body::Incoming>| async move {
        let body: UnsyncBoxBody<Bytes, std::io::Error> = if req.uri().path() == "/slow" {
            let first = stream::iter(vec![Ok(Frame::data(Bytes::from_static(b"first chunk")))]);
            StreamBody::new(futures_util::StreamExt::chain(first, stream::pending())).boxed_unsync()
        } else {
            Full::new(Bytes::from_static(b"seventeen bytes!!"))
                .map_err(|never| match never {})
                .boxed_unsync()
        };
        Ok::<_, Infallible>(Response::new(body))
    });
    let app = log_at(&sink, LogFormat::apache_common(), AT).layer(inner);

    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_io), TowerToHyperService::new(app))
            .await
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client_io))
        .await
        .unwrap();
    let client = tokio::spawn(conn);
    let send = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "example.test")
            .body(Body::default())
            .unwrap()
    };
    let response = sender.send_request(send("GET", "/")).await.unwrap();
    response.into_body().collect().await.unwrap();
    let response = sender.send_request(send("HEAD", "/")).await.unwrap();
    response.into_body().collect().await.unwrap();
    let response = sender.send_request(send("GET", "/slow")).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"first chunk");
    // The client goes away mid-body.
    drop(body);
    drop(sender);
    client.abort();
    let _ = client.await;
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let lines = sink.lines();
    assert_eq!(
        lines,
        [
            "- - - [10/Mar/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 17",
            "- - - [10/Mar/2024:13:55:36 +0000] \"HEAD / HTTP/1.1\" 200 -",
            "- - - [10/Mar/2024:13:55:36 +0000] \"GET /slow HTTP/1.1\" 200 11",
        ]
    );
}

#[tokio::test]
async fn refusal_reasons_and_flags_for_cors_origin_and_router() {
    use tower_gateway::cors::CorsConfig;
    use tower_gateway::origin::OriginGuardLayer;
    use tower_gateway::router::Router;

    let router = Router::builder()
        .route("GET /pets/{id}", ok(PET))
        .route("POST /pets", ok(PET))
        .build()
        .unwrap();
    let cors = CorsConfig::new()
        .allow_origin("https://app.example.com")
        .allow_methods(["PUT"])
        .build()
        .unwrap();
    let sink = MemorySink::new();
    let format =
        LogFormat::template("$context.status $context.responseFlags [$context.error.message]")
            .unwrap();
    let app = ServiceBuilder::new()
        .layer(log_at(&sink, format, AT))
        .layer(cors)
        .layer(OriginGuardLayer::new())
        .service(router);
    let preflight = Request::options("/pets/1")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "PUT")
        .body(Body::default())
        .unwrap();
    drain(run(app.clone(), preflight).await).await;
    drain(run(app.clone(), cross_site_post()).await).await;
    drain(
        run(
            app.clone(),
            Request::get("/nowhere").body(Body::default()).unwrap(),
        )
        .await,
    )
    .await;
    drain(
        run(
            app.clone(),
            Request::delete("/pets/1").body(Body::default()).unwrap(),
        )
        .await,
    )
    .await;
    let lines = sink.lines();
    assert_eq!(lines.len(), 4);
    for (line, (status, flag)) in
        lines
            .iter()
            .zip([("403", "CP"), ("403", "OG"), ("404", "NR"), ("405", "")])
    {
        assert!(line.starts_with(status), "{line}");
        if !flag.is_empty() {
            assert!(line.contains(&format!(" {flag} ")), "{line} lacks {flag}");
        }
        assert!(!line.ends_with("[-]"), "a reason is given: {line}");
    }
}

#[tokio::test]
async fn request_time_is_the_arrival_and_latencies_run_to_the_last_byte() {
    let clock = ManualClock::at_unix(AT);
    let inner_clock = clock.clone();
    let inner = service_fn(move |_req: Request<Body>| {
        let clock = inner_clock.clone();
        async move {
            clock.advance(Duration::from_millis(1_500));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"x"))))
        }
    });
    let sink = MemorySink::new();
    let format = LogFormat::template(
        "[$context.requestTime] $context.requestTimeEpoch $context.startTime $context.integrationLatency $context.responseLatency",
    )
    .unwrap();
    let app = AccessLogLayer::new(sink.clone())
        .format(format)
        .clock(clock.clone())
        .layer(inner);
    let response = run(app, Request::get("/").body(Body::default()).unwrap()).await;
    clock.advance(Duration::from_millis(2_250));
    drain(response).await;
    assert_eq!(
        sink.lines(),
        ["[10/Mar/2024:13:55:36 +0000] 1710078936000 2024-03-10T13:55:36.000Z 1500 3750"]
    );
}

#[tokio::test]
async fn json_record_of_an_inner_error_has_status_zero_and_flags() {
    let sink = MemorySink::new();
    let failing = service_fn(|_req: Request<Body>| async {
        Err::<Response<Body>, _>(std::io::Error::other("down"))
    });
    let app = log_at(&sink, LogFormat::json(), AT).layer(failing);
    let _ = app
        .oneshot(Request::get("/").body(Body::default()).unwrap())
        .await;
    let v: serde_json::Value = serde_json::from_str(&sink.lines()[0]).unwrap();
    assert_eq!(v["status"], 0);
    assert_eq!(v["responseFlags"], "UE");
    assert_eq!(v["responseLength"], 0);
}

#[test]
fn the_types_the_issue_names_are_at_the_crate_root_and_in_the_module() {
    let layer: tower_gateway::AccessLogLayer = tower_gateway::AccessLog::layer(MemorySink::new());
    let service: tower_gateway::AccessLog<()> = layer.layer(());
    let _: tower_gateway::access_log::AccessLog<()> = service;
}

#[tokio::test]
async fn a_body_whose_end_is_seen_by_is_end_stream_is_complete_and_written_once() {
    let sink = MemorySink::new();
    let app = log_at(&sink, status_bytes_flags(), AT).layer(ok(PET));
    let response = run(app, Request::get("/").body(Body::default()).unwrap()).await;
    let mut body = response.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap().len(), 17);
    assert!(http_body::Body::is_end_stream(&body));
    // hyper stops here: it never polls for `None`, and drops the body.
    assert!(body.frame().await.is_none());
    assert!(body.frame().await.is_none());
    drop(body);
    assert_eq!(sink.lines(), ["200 17 -"]);
}

#[tokio::test]
async fn a_body_dropped_once_is_end_stream_is_true_is_not_a_disconnect() {
    let sink = MemorySink::new();
    let app = log_at(&sink, status_bytes_flags(), AT).layer(ok(PET));
    let response = run(app, Request::get("/").body(Body::default()).unwrap()).await;
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    assert!(http_body::Body::is_end_stream(&body));
    drop(body);
    assert_eq!(sink.lines(), ["200 17 -"]);
}

#[test]
fn public_types_are_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AccessLogLayer>();
    send_sync::<
        tower_gateway::AccessLog<
            tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>,
        >,
    >();
    send_sync::<MemorySink>();
    send_sync::<Sink>();
    send_sync::<NonBlocking>();
    send_sync::<RequestId>();
    send_sync::<TraceId>();
    send_sync::<LogFormat>();
    fn send_future<S: Service<Request<Body>>>(_: &S)
    where
        S::Future: Send,
    {
    }
    send_future(&log_at(&MemorySink::new(), LogFormat::json(), AT).layer(ok(PET)));
}

#[tokio::test]
async fn a_user_closure_is_a_sink() {
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let got2 = got.clone();
    let app = AccessLogLayer::new(move |line: &str| got2.lock().unwrap().push(line.to_owned()))
        .format(LogFormat::apache_common())
        .clock(ManualClock::at_unix(AT))
        .layer(ok(PET));
    drain(run(app, pets_request()).await).await;
    assert_eq!(
        *got.lock().unwrap(),
        ["203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17"]
    );
}
