#![cfg(feature = "access-log")]

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::{body_text, log_at, ok};
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_gateway::access_log::{
    AccessLog, AccessLogLayer, LogFormat, ManualClock, MemorySink, NonBlocking, RequestId,
    RequestIds, Sink, TraceId,
};
use tower_gateway::error::ProblemKind;

const T0: u64 = 1_710_078_936; // 2024-03-10T13:55:36Z
const PET: &[u8] = b"{\"id\":42,\"pet\":1}"; // 17 bytes

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

struct Fixture {
    sink: MemorySink,
    clock: ManualClock,
    calls: Arc<AtomicUsize>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            sink: MemorySink::new(),
            clock: ManualClock::at_unix(T0),
            calls: Arc::default(),
        }
    }

    fn layer(&self, format: LogFormat) -> AccessLogLayer {
        AccessLogLayer::new(self.sink.clone())
            .format(format)
            .clock(self.clock.clone())
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// One record, exactly.
    fn line(&self) -> String {
        let mut lines = self.sink.take();
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    /// An app that takes 5 ms to answer `200` with 17 bytes, after `edit` ran on the response.
    fn app<F>(
        &self,
        edit: F,
    ) -> impl Service<
        Request<Full<Bytes>>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    where
        F: Fn(&Request<Full<Bytes>>, &mut Response<Full<Bytes>>) + Clone + Send + 'static,
    {
        let clock = self.clock.clone();
        let calls = self.calls.clone();
        service_fn(move |req: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            clock.advance(ms(5));
            let mut res = Response::new(Full::new(Bytes::from_static(PET)));
            edit(&req, &mut res);
            std::future::ready(Ok::<_, Infallible>(res))
        })
    }

    fn pets_app(
        &self,
    ) -> impl Service<
        Request<Full<Bytes>>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone {
        self.app(|_, _| {})
    }

    /// Runs `req` through the log around `svc`, the body taking 7 ms more; returns the body.
    async fn run<S>(
        &self,
        format: LogFormat,
        svc: S,
        req: Request<Full<Bytes>>,
    ) -> (Response<()>, String)
    where
        S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>,
    {
        let res = self.layer(format).layer(svc).oneshot(req).await.unwrap();
        assert!(self.sink.is_empty(), "no record at the response headers");
        self.clock.advance(ms(7));
        let (parts, body) = res.into_parts();
        let text = body_text(body).await;
        (Response::from_parts(parts, ()), text)
    }
}

fn pets_request() -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method("GET")
        .uri("/pets/42?verbose=1")
        .header("host", "api.example.com")
        .header("user-agent", "curl/8.5.0")
        .header("referer", "https://shop.example/")
        .header("x-request-id", "req-1")
        .body(Full::default())
        .unwrap();
    req.extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
    req
}

async fn golden(format: LogFormat) -> String {
    let f = Fixture::new();
    let (_, body) = f.run(format, f.pets_app(), pets_request()).await;
    assert_eq!(body.len(), 17);
    assert_eq!(f.calls(), 1);
    f.line()
}

// ---------------------------------------------------------------- golden lines

#[tokio::test]
async fn golden_apache_common() {
    assert_eq!(
        golden(LogFormat::apache_common()).await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17"
    );
}

#[tokio::test]
async fn golden_apache_combined() {
    assert_eq!(
        golden(LogFormat::apache_combined()).await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17 \
         \"https://shop.example/\" \"curl/8.5.0\""
    );
}

#[tokio::test]
async fn golden_envoy() {
    assert_eq!(
        golden(LogFormat::envoy()).await,
        "[2024-03-10T13:55:36.000Z] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 - 0 17 12 5 \"-\" \
         \"curl/8.5.0\" \"req-1\" \"api.example.com\" \"-\""
    );
}

#[tokio::test]
async fn golden_json() {
    let line = golden(LogFormat::json()).await;
    assert_eq!(
        line,
        "{\"requestId\":\"req-1\",\"ip\":\"203.0.113.7\",\
         \"requestTime\":\"10/Mar/2024:13:55:36 +0000\",\"httpMethod\":\"GET\",\"routeKey\":null,\
         \"status\":200,\"protocol\":\"HTTP/1.1\",\"responseLength\":17,\
         \"domainName\":\"api.example.com\",\"path\":\"/pets/42\",\"query\":\"verbose=1\",\
         \"userAgent\":\"curl/8.5.0\",\"referer\":\"https://shop.example/\",\"requestLength\":0,\
         \"responseLatency\":12,\"integrationLatency\":5,\"traceId\":null,\"canaryArm\":null,\
         \"errorMessage\":null,\"responseFlags\":null}"
    );
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["status"], 200);
    assert_eq!(value["responseLatency"], 12);
    assert!(value["traceId"].is_null());
}

#[tokio::test]
async fn golden_template() {
    let format = LogFormat::template(
        "$context.requestId $context.identity.sourceIp [$context.startTime] \
         \"$context.httpMethod $context.path\" q=$context.query $context.status \
         $context.responseLength $context.responseLatency/$context.integrationLatency \
         epoch=$context.requestTimeEpoch $context.protocol",
    )
    .unwrap();
    assert_eq!(
        golden(format).await,
        "req-1 203.0.113.7 [2024-03-10T13:55:36.000Z] \"GET /pets/42\" q=verbose=1 200 17 12/5 \
         epoch=1710078936000 HTTP/1.1"
    );
}

// ---------------------------------------------------------------- missing values, escaping

fn bare_request(uri: &str) -> Request<Full<Bytes>> {
    Request::builder().uri(uri).body(Full::default()).unwrap()
}

#[tokio::test]
async fn missing_values_render_dash() {
    let f = Fixture::new();
    f.run(
        LogFormat::apache_combined(),
        f.app(|_, res| *res.body_mut() = Full::default()),
        bare_request("/"),
    )
    .await;
    assert_eq!(
        f.line(),
        "- - - [10/Mar/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 - \"-\" \"-\""
    );
}

#[tokio::test]
async fn missing_values_are_json_null() {
    let f = Fixture::new();
    let svc = f.pets_app();
    let res = f
        .layer(LogFormat::json())
        .request_ids(RequestIds::Off)
        .layer(svc)
        .oneshot(bare_request("/"))
        .await
        .unwrap();
    body_text(res.into_body()).await;
    let value: serde_json::Value = serde_json::from_str(&f.line()).unwrap();
    for key in [
        "requestId",
        "ip",
        "domainName",
        "query",
        "userAgent",
        "referer",
        "routeKey",
    ] {
        assert!(value[key].is_null(), "{key}: {value}");
    }
    assert_eq!(value["path"], "/");
}

#[tokio::test]
async fn hostile_user_agent_is_escaped_in_text() {
    let f = Fixture::new();
    let mut req = pets_request();
    req.headers_mut().insert(
        "user-agent",
        HeaderValue::from_bytes(b"evil\" \"x\\y\tcaf\xc3\xa9").unwrap(),
    );
    f.run(LogFormat::apache_combined(), f.pets_app(), req).await;
    assert!(f
        .line()
        .ends_with("\"https://shop.example/\" \"evil\\x22 \\x22x\\x5Cy\\x09caf\\xC3\\xA9\""));
}

#[tokio::test]
async fn hostile_path_is_escaped_in_text() {
    let f = Fixture::new();
    let mut req = bare_request("/");
    *req.uri_mut() = Uri::try_from(&b"/a\"b\\c/caf\xc3\xa9?q={1}"[..]).unwrap();
    f.run(LogFormat::apache_common(), f.pets_app(), req).await;
    assert_eq!(
        f.line(),
        "- - - [10/Mar/2024:13:55:36 +0000] \
         \"GET /a\\x22b\\x5Cc/caf\\xC3\\xA9?q={1} HTTP/1.1\" 200 17"
    );
}

#[tokio::test]
async fn hostile_values_stay_valid_json() {
    let f = Fixture::new();
    let mut req = pets_request();
    req.headers_mut().insert(
        "user-agent",
        HeaderValue::from_bytes(b"evil\"}\\\tcaf\xc3\xa9 \xff").unwrap(),
    );
    f.run(LogFormat::json(), f.pets_app(), req).await;
    let value: serde_json::Value = serde_json::from_str(&f.line()).unwrap();
    assert_eq!(value["userAgent"], "evil\"}\\\tcaf\u{e9} \u{fffd}");
}

#[cfg(feature = "router")]
#[tokio::test]
async fn newlines_and_nul_never_break_a_line() {
    use tower_gateway::router::MatchedRoute;
    let f = Fixture::new();
    let app = f.app(|_, res| {
        res.extensions_mut()
            .insert(MatchedRoute::new(None, "/x\n\0\r\"y", Some("line\nbreak")));
    });
    let format = LogFormat::template("$context.routeKey $context.routeName").unwrap();
    f.run(format, app, bare_request("/x")).await;
    assert_eq!(f.line(), "ANY /x\\x0A\\x00\\x0D\\x22y line\\x0Abreak");

    let app = f.app(|_, res| {
        res.extensions_mut()
            .insert(MatchedRoute::new(None, "/x\n\0", None));
    });
    f.run(LogFormat::json(), app, bare_request("/x")).await;
    let line = f.line();
    assert!(!line.contains('\n'));
    assert!(line.contains("\"routeKey\":\"ANY /x\\n\\u0000\""), "{line}");
}

// ---------------------------------------------------------------- bodies and endings

/// A body yielding the given chunks, then (optionally) an error.
struct Chunks {
    frames: VecDeque<Bytes>,
    fail: bool,
}

impl Chunks {
    fn new(chunks: &[&'static str]) -> Self {
        Self {
            frames: chunks
                .iter()
                .map(|c| Bytes::from_static(c.as_bytes()))
                .collect(),
            fail: false,
        }
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(data) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if self.fail {
            self.fail = false;
            return Poll::Ready(Some(Err(io::Error::other("backend reset"))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && !self.fail
    }
}

fn chunked_log(
    f: &Fixture,
    body: impl Fn() -> Chunks + Clone + Send + 'static,
) -> AccessLog<
    impl Service<Request<Full<Bytes>>, Response = Response<Chunks>, Error = Infallible> + Clone,
> {
    let calls = f.calls.clone();
    f.layer(
        LogFormat::template("$context.status $context.responseLength $context.responseFlags")
            .unwrap(),
    )
    .layer(service_fn(move |_req: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok::<_, Infallible>(Response::new(body())))
    }))
}

#[tokio::test]
async fn streamed_body_bytes_are_counted() {
    let f = Fixture::new();
    let svc = chunked_log(&f, || Chunks::new(&["hello ", "streamed ", "", "world"]));
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    let mut body = res.into_body();
    let mut frames = 0;
    while let Some(frame) = body.frame().await {
        frame.unwrap();
        frames += 1;
        if frames < 4 {
            assert!(f.sink.is_empty(), "written before the last byte");
        }
    }
    assert_eq!(frames, 4);
    assert_eq!(f.line(), "200 20 -");
    drop(body);
    assert!(f.sink.is_empty(), "exactly one record");
}

#[tokio::test]
async fn body_dropped_half_way_is_flagged() {
    let f = Fixture::new();
    let svc = chunked_log(&f, || Chunks::new(&["first ", "second"]));
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    let mut body = res.into_body();
    body.frame().await.unwrap().unwrap();
    assert!(f.sink.is_empty());
    drop(body);
    assert_eq!(f.line(), "200 6 DC");
}

#[tokio::test]
async fn body_error_is_flagged() {
    let f = Fixture::new();
    let svc = chunked_log(&f, || Chunks {
        fail: true,
        ..Chunks::new(&["part"])
    });
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    assert!(res.into_body().collect().await.is_err());
    assert_eq!(f.line(), "200 4 UE");
}

#[tokio::test]
async fn no_content_204_is_complete_without_polling() {
    let f = Fixture::new();
    let app = f.app(|_, res| {
        *res.status_mut() = StatusCode::NO_CONTENT;
        *res.body_mut() = Full::default();
    });
    let res = f
        .layer(
            LogFormat::template("$context.status $context.responseLength $context.responseFlags")
                .unwrap(),
        )
        .layer(app)
        .oneshot(bare_request("/"))
        .await
        .unwrap();
    assert!(f.sink.is_empty());
    drop(res); // a server never polls an empty body
    assert_eq!(f.line(), "204 0 -");
}

#[tokio::test]
async fn head_response_counts_no_body_bytes() {
    let f = Fixture::new();
    let app = f.app(|req, res| {
        assert_eq!(req.method(), Method::HEAD);
        *res.body_mut() = Full::default();
        res.headers_mut()
            .insert("content-length", HeaderValue::from_static("17"));
    });
    let mut req = pets_request();
    *req.method_mut() = Method::HEAD;
    f.run(LogFormat::apache_common(), app, req).await;
    assert_eq!(
        f.line(),
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"HEAD /pets/42?verbose=1 HTTP/1.1\" 200 -"
    );
}

#[tokio::test]
async fn unread_body_of_a_head_request_is_not_a_disconnect() {
    let f = Fixture::new();
    let svc = f
        .layer(LogFormat::template("$context.httpMethod $context.status $context.responseLength $context.responseFlags").unwrap())
        .layer(f.pets_app()); // answers HEAD with a body, as naive handlers do
    let mut req = bare_request("/");
    *req.method_mut() = Method::HEAD;
    let res = svc.clone().oneshot(req).await.unwrap();
    drop(res); // servers never read a HEAD response body
    assert_eq!(f.line(), "HEAD 200 0 -");
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    drop(res);
    assert_eq!(
        f.line(),
        "GET 200 0 DC",
        "an unread GET body is a disconnect"
    );
}

#[tokio::test]
async fn inner_error_writes_status_zero() {
    let f = Fixture::new();
    let svc = f
        .layer(
            LogFormat::template(
                "$context.status $context.responseFlags $context.integrationLatency",
            )
            .unwrap(),
        )
        .layer(service_fn(|_req: Request<Full<Bytes>>| async {
            Err::<Response<Full<Bytes>>, _>(io::Error::other("upstream down"))
        }));
    let error = svc.oneshot(bare_request("/")).await.unwrap_err();
    assert_eq!(error.to_string(), "upstream down");
    assert_eq!(f.line(), "0 UE -");
}

#[tokio::test]
async fn future_dropped_before_response_is_flagged() {
    let f = Fixture::new();
    let clock = f.clock.clone();
    let svc = f
        .layer(
            LogFormat::template("$context.status $context.responseFlags $context.responseLatency")
                .unwrap(),
        )
        .layer(service_fn(|_req: Request<Full<Bytes>>| {
            std::future::pending::<Result<Response<Full<Bytes>>, Infallible>>()
        }));
    let future = svc.oneshot(bare_request("/"));
    tokio::select! {
        biased;
        _ = future => unreachable!("the inner future never answers"),
        () = async { clock.advance(ms(30)) } => {}
    }
    assert_eq!(f.line(), "0 DC 30");
}

#[tokio::test]
async fn request_length_from_content_length_and_protocol() {
    let f = Fixture::new();
    let mut req = Request::builder()
        .method("POST")
        .uri("https://api.example.com:8443/orders")
        .version(Version::HTTP_2)
        .header("content-length", "11")
        .body(Full::new(Bytes::from_static(b"hello world")))
        .unwrap();
    req.extensions_mut()
        .insert(std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]));
    f.run(LogFormat::envoy(), f.pets_app(), req).await;
    let line = f.line();
    assert!(
        line.starts_with("[2024-03-10T13:55:36.000Z] \"POST /orders HTTP/2\" 200 - 11 17 12 5 "),
        "{line}"
    );
    assert!(line.ends_with("\"api.example.com:8443\" \"-\""), "{line}");
    let f = Fixture::new();
    let mut req = bare_request("/");
    req.extensions_mut()
        .insert(std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]));
    f.run(LogFormat::apache_common(), f.pets_app(), req).await;
    assert!(f.line().starts_with("2001:db8::1 - - "));
}

// ---------------------------------------------------------------- request ids

#[tokio::test]
async fn request_id_is_kept_when_valid() {
    let f = Fixture::new();
    let app = f.app(|req, _| {
        assert_eq!(
            req.extensions().get::<RequestId>().unwrap().as_str(),
            "req-1"
        );
    });
    let (res, _) = f
        .run(
            LogFormat::template("$context.requestId").unwrap(),
            app,
            pets_request(),
        )
        .await;
    assert_eq!(res.headers()["x-request-id"], "req-1");
    assert_eq!(f.line(), "req-1");
    assert_eq!(f.calls(), 1);
}

fn is_uuid_v4(s: &str) -> bool {
    let groups: Vec<_> = s.split('-').map(str::len).collect();
    groups == [8, 4, 4, 4, 12]
        && s.as_bytes()[14] == b'4'
        && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

#[tokio::test]
async fn request_id_is_replaced_when_invalid() {
    for bad in ["has space", "quote\"d", "", &"x".repeat(129)] {
        let f = Fixture::new();
        let seen = Arc::new(Mutex::new(String::new()));
        let seen2 = seen.clone();
        let app = f.app(move |req, _| {
            *seen2.lock().unwrap() = req.extensions().get::<RequestId>().unwrap().to_string();
        });
        let mut req = pets_request();
        req.headers_mut()
            .insert("x-request-id", HeaderValue::from_str(bad).unwrap());
        let (res, _) = f
            .run(LogFormat::template("$context.requestId").unwrap(), app, req)
            .await;
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(is_uuid_v4(&id), "{id}");
        assert_eq!(*seen.lock().unwrap(), id, "handler and response agree");
        assert_eq!(f.line(), id, "log and response agree");
    }
}

#[tokio::test]
async fn request_id_is_generated_when_absent() {
    let f = Fixture::new();
    let svc = f
        .layer(LogFormat::template("$context.requestId").unwrap())
        .request_id_seed(42)
        .layer(f.pets_app());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let res = svc.clone().oneshot(bare_request("/")).await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        body_text(res.into_body()).await;
        assert!(is_uuid_v4(&id));
        assert_eq!(f.line(), id);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn request_id_generate_policy_ignores_incoming() {
    let f = Fixture::new();
    let svc = f
        .layer(LogFormat::template("$context.requestId").unwrap())
        .request_ids(RequestIds::Generate)
        .layer(f.pets_app());
    let res = svc.oneshot(pets_request()).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "req-1");
    assert!(is_uuid_v4(&id));
    drop(res);
    assert_eq!(f.line(), id);
}

#[tokio::test]
async fn request_id_off_neither_generates_nor_propagates() {
    let f = Fixture::new();
    let app = f.app(|req, _| assert!(req.extensions().get::<RequestId>().is_none()));
    let svc = f
        .layer(LogFormat::template("$context.requestId").unwrap())
        .request_ids(RequestIds::Off)
        .layer(app);
    let res = svc.clone().oneshot(bare_request("/")).await.unwrap();
    assert!(res.headers().get("x-request-id").is_none());
    drop(res);
    assert_eq!(f.line(), "-");
    let res = svc.oneshot(pets_request()).await.unwrap();
    assert!(res.headers().get("x-request-id").is_none());
    drop(res);
    assert_eq!(f.line(), "req-1", "a valid incoming id is still logged");
}

#[tokio::test]
async fn request_id_header_name_is_configurable() {
    let f = Fixture::new();
    let svc = f
        .layer(LogFormat::template("$context.requestId").unwrap())
        .request_id_header(http::HeaderName::from_static("x-correlation-id"))
        .layer(f.pets_app());
    let mut req = bare_request("/");
    req.headers_mut()
        .insert("x-correlation-id", HeaderValue::from_static("corr-9"));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.headers()["x-correlation-id"], "corr-9");
    assert!(res.headers().get("x-request-id").is_none());
    drop(res);
    assert_eq!(f.line(), "corr-9");
}

// ---------------------------------------------------------------- traceparent

async fn trace_of(values: &[&'static str]) -> String {
    let f = Fixture::new();
    let mut req = bare_request("/");
    for v in values {
        req.headers_mut()
            .append("traceparent", HeaderValue::from_static(v));
    }
    f.run(
        LogFormat::template("$context.traceId").unwrap(),
        f.pets_app(),
        req,
    )
    .await;
    f.line()
}

#[tokio::test]
async fn valid_traceparent_gives_the_trace_id() {
    assert_eq!(
        trace_of(&["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]).await,
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[tokio::test]
async fn invalid_traceparent_is_ignored() {
    for bad in [
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "garbage",
    ] {
        assert_eq!(trace_of(&[bad]).await, "-", "{bad}");
    }
}

#[tokio::test]
async fn repeated_traceparent_is_ignored() {
    assert_eq!(
        trace_of(&[
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ])
        .await,
        "-"
    );
}

// ---------------------------------------------------------------- templates

#[test]
fn template_errors_are_config_errors() {
    let error =
        LogFormat::template("$context.status $context.bogus\n$context.alsoBogus").unwrap_err();
    let problems: Vec<_> = error
        .problems()
        .iter()
        .map(|p| (p.module(), p.kind(), p.value().to_owned()))
        .collect();
    assert_eq!(problems.len(), 3, "{error}");
    assert_eq!(problems[0].1, ProblemKind::Invalid);
    assert_eq!(
        problems[1],
        (
            "access_log",
            ProblemKind::Unknown,
            "$context.bogus".to_owned()
        )
    );
    assert_eq!(
        problems[2],
        (
            "access_log",
            ProblemKind::Unknown,
            "$context.alsoBogus".to_owned()
        )
    );
    assert!(LogFormat::template("$context.status\r").is_err());
    assert!(LogFormat::template("plain text, $5 and $context.status.").is_ok());
}

// ---------------------------------------------------------------- facts from other layers

#[cfg(all(feature = "router", feature = "canary"))]
#[tokio::test]
async fn route_and_arm_from_the_response() {
    use tower_gateway::canary::Arm;
    use tower_gateway::router::MatchedRoute;
    let f = Fixture::new();
    let app = f.app(|_, res| {
        res.extensions_mut().insert(MatchedRoute::new(
            Some(Method::GET),
            "/pets/{id}",
            Some("get-pet"),
        ));
        res.extensions_mut().insert(Arm::new("v2", true));
    });
    let format = LogFormat::template(
        "$context.routeKey|$context.resourcePath|$context.routeName|$context.canaryArm|\
         $context.isCanaryRequest|$context.responseFlags",
    )
    .unwrap();
    f.run(format, app.clone(), pets_request()).await;
    assert_eq!(f.line(), "GET /pets/{id}|/pets/{id}|get-pet|v2|true|-");
    f.run(LogFormat::json(), app.clone(), pets_request()).await;
    let value: serde_json::Value = serde_json::from_str(&f.line()).unwrap();
    assert_eq!(value["routeKey"], "GET /pets/{id}");
    assert_eq!(value["canaryArm"], "v2");
    f.run(LogFormat::envoy(), app, pets_request()).await;
    assert!(f.line().ends_with("\"api.example.com\" \"v2\""));
}

#[cfg(all(feature = "router", feature = "canary"))]
#[tokio::test]
async fn route_and_arm_fall_back_to_the_request() {
    use tower_gateway::canary::Arm;
    use tower_gateway::router::MatchedRoute;
    let f = Fixture::new();
    let mut req = pets_request();
    req.extensions_mut()
        .insert(MatchedRoute::new(None, "/{proxy+}", None));
    req.extensions_mut().insert(Arm::new("stable", false));
    let format =
        LogFormat::template("$context.routeKey $context.canaryArm $context.isCanaryRequest")
            .unwrap();
    f.run(format, f.pets_app(), req).await;
    assert_eq!(f.line(), "ANY /{proxy+} stable false");
}

#[cfg(feature = "router")]
#[tokio::test]
async fn router_not_found_is_flagged_nr() {
    use tower_gateway::router::{Rejection, RejectionKind};
    let f = Fixture::new();
    let app = f.app(|_, res| {
        *res.status_mut() = StatusCode::NOT_FOUND;
        res.extensions_mut()
            .insert(Rejection::new(RejectionKind::NotFound));
    });
    f.run(LogFormat::json(), app, pets_request()).await;
    let value: serde_json::Value = serde_json::from_str(&f.line()).unwrap();
    assert_eq!(value["status"], 404);
    assert_eq!(value["responseFlags"], "NR");
    assert_eq!(value["errorMessage"], "no route");
    assert!(value["routeKey"].is_null());
}

#[cfg(feature = "origin")]
#[tokio::test]
async fn origin_refusal_is_flagged_og_with_reason() {
    use tower_gateway::origin::{Rejection, RejectionKind};
    let f = Fixture::new();
    let app = f.app(|_, res| {
        *res.status_mut() = StatusCode::FORBIDDEN;
        res.extensions_mut()
            .insert(Rejection::new(RejectionKind::CrossOrigin));
    });
    let format =
        LogFormat::template("$context.status $context.responseFlags \"$context.error.message\"")
            .unwrap();
    f.run(format, app, pets_request()).await;
    let reason = Rejection::new(RejectionKind::CrossOrigin).reason();
    assert_eq!(f.line(), format!("403 OG \"{reason}\""));
}

#[cfg(feature = "cors")]
#[tokio::test]
async fn refused_preflight_is_flagged_cp() {
    use tower_gateway::cors::{Rejection, RejectionKind};
    let f = Fixture::new();
    let app = f.app(|_, res| {
        *res.status_mut() = StatusCode::FORBIDDEN;
        *res.body_mut() = Full::default();
        res.extensions_mut()
            .insert(Rejection::new(RejectionKind::OriginNotAllowed));
    });
    let mut req = pets_request();
    *req.method_mut() = Method::OPTIONS;
    let format = LogFormat::envoy();
    f.run(format, app, req).await;
    let line = f.line();
    assert!(
        line.starts_with(
            "[2024-03-10T13:55:36.000Z] \"OPTIONS /pets/42?verbose=1 HTTP/1.1\" 403 CP 0 0 "
        ),
        "{line}"
    );
}

#[cfg(feature = "origin")]
#[tokio::test]
async fn several_flags_are_joined() {
    use tower_gateway::origin::{Rejection, RejectionKind};
    let f = Fixture::new();
    let calls = f.calls.clone();
    let svc = f
        .layer(LogFormat::template("$context.responseFlags").unwrap())
        .layer(service_fn(move |_req: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let mut res = Response::new(Chunks::new(&["a", "b"]));
            res.extensions_mut()
                .insert(Rejection::new(RejectionKind::CrossOrigin));
            std::future::ready(Ok::<_, Infallible>(res))
        }));
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    drop(res);
    assert_eq!(f.line(), "OG,DC");
    assert_eq!(f.calls(), 1);
}

// ---------------------------------------------------------------- sinks

#[tokio::test]
async fn closure_sink_receives_each_record() {
    let f = Fixture::new();
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let svc = f
        .layer(LogFormat::template("$context.httpMethod $context.status").unwrap())
        .sink(Sink::from_fn(move |line: &str| {
            let _ = tx.lock().unwrap().send(line.to_owned());
        }))
        .layer(f.pets_app());
    let res = svc.oneshot(bare_request("/")).await.unwrap();
    body_text(res.into_body()).await;
    assert_eq!(rx.try_recv().unwrap(), "GET 200");
    assert!(f.sink.is_empty(), "the memory sink was replaced");
}

/// A writer shared with the test; the first write waits until the test opens the gate.
#[derive(Clone)]
struct Gated {
    out: Arc<Mutex<Vec<u8>>>,
    entered: mpsc::SyncSender<()>,
    gate: Arc<Mutex<mpsc::Receiver<()>>>,
    waited: Arc<AtomicUsize>,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.waited.fetch_add(1, Ordering::SeqCst) == 0 {
            let _ = self.entered.send(());
            let _ = self.gate.lock().unwrap().recv();
        }
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn gated() -> (Gated, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered, entered_rx) = mpsc::sync_channel(1);
    let (open, gate) = mpsc::channel();
    let writer = Gated {
        out: Arc::default(),
        entered,
        gate: Arc::new(Mutex::new(gate)),
        waited: Arc::default(),
    };
    (writer, entered_rx, open)
}

fn lines_of(out: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    String::from_utf8(out.lock().unwrap().clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn lossy_writer_drops_and_counts_when_the_queue_is_full() {
    let (writer, entered, open) = gated();
    let out = writer.out.clone();
    let (log, guard) = NonBlocking::builder().capacity(2).spawn(writer).unwrap();
    log.write_line("r0");
    entered.recv().unwrap(); // the thread is stuck writing r0; the queue is empty
    log.write_line("r1");
    log.write_line("r2"); // the queue is full
    log.write_line("r3");
    log.write_line("r4");
    assert_eq!(log.dropped(), 2);
    open.send(()).unwrap();
    drop(guard);
    assert_eq!(lines_of(&out), ["r0", "r1", "r2"]);
}

#[test]
fn blocking_writer_waits_and_loses_nothing() {
    let (writer, entered, open) = gated();
    let out = writer.out.clone();
    let (log, guard) = NonBlocking::builder()
        .capacity(1)
        .lossy(false)
        .spawn(writer)
        .unwrap();
    log.write_line("r0");
    entered.recv().unwrap();
    let producer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 1..=20 {
                log.write_line(&format!("r{i}")); // blocks while the queue is full
            }
        })
    };
    open.send(()).unwrap();
    producer.join().unwrap();
    drop(guard);
    let want: Vec<_> = (0..=20).map(|i| format!("r{i}")).collect();
    assert_eq!(lines_of(&out), want);
    assert_eq!(log.dropped(), 0);
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn dropping_the_guard_flushes_every_record() {
    let out = Shared::default();
    let (log, guard) = NonBlocking::builder()
        .capacity(64)
        .lossy(false)
        .spawn(out.clone())
        .unwrap();
    for i in 0..10_000 {
        log.write_line(&format!("record {i}"));
    }
    drop(guard);
    let lines = lines_of(&out.0);
    assert_eq!(lines.len(), 10_000);
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| *l == format!("record {i}")));
    assert_eq!(log.dropped(), 0);
    log.write_line("too late");
    assert_eq!(
        log.dropped(),
        1,
        "records after the guard is gone are counted"
    );
}

#[test]
fn guard_flush_waits_for_queued_records() {
    let out = Shared::default();
    let (log, guard) = NonBlocking::new(out.clone()).unwrap();
    log.write_line("a");
    log.write_line("b");
    guard.flush();
    assert_eq!(lines_of(&out.0), ["a", "b"]);
    drop(guard);
}

#[tokio::test]
async fn access_log_through_the_non_blocking_writer() {
    let f = Fixture::new();
    let out = Shared::default();
    let (writer, guard) = NonBlocking::builder()
        .lossy(false)
        .spawn(out.clone())
        .unwrap();
    let svc = f
        .layer(LogFormat::apache_common())
        .sink(writer)
        .layer(f.pets_app());
    for _ in 0..3 {
        let res = svc.clone().oneshot(pets_request()).await.unwrap();
        body_text(res.into_body()).await;
    }
    drop(guard);
    let lines = lines_of(&out.0);
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l.ends_with("\"GET /pets/42?verbose=1 HTTP/1.1\" 200 17")));
    assert_eq!(f.calls(), 3);
}

// ---------------------------------------------------------------- stacks

#[tokio::test]
async fn under_axum_router_with_connect_info() {
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    let sink = MemorySink::new();
    let app = axum::Router::new()
        .route("/pets/{id}", get(|| async { "a pet" }))
        .layer(
            AccessLogLayer::new(sink.clone())
                .format(LogFormat::apache_common())
                .clock(ManualClock::at_unix(T0))
                .client_addr(|ext| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        );
    let mut req = Request::get("/pets/7")
        .body(axum::body::Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 9], 443))));
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res.into_body()).await, "a pet");
    assert_eq!(
        sink.lines(),
        ["198.51.100.9 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/7 HTTP/1.1\" 200 5"]
    );
}

#[tokio::test]
async fn futures_are_send_and_records_written_across_tasks() {
    let f = Fixture::new();
    let svc = f.layer(LogFormat::apache_common()).layer(f.pets_app());
    let handle = tokio::spawn(async move {
        let res = svc.oneshot(pets_request()).await.unwrap();
        body_text(res.into_body()).await
    });
    assert_eq!(handle.await.unwrap().len(), 17);
    assert_eq!(f.sink.len(), 1);
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_sink_emits_an_info_event_per_record() {
    let out = Shared::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        Sink::tracing().write_line("203.0.113.7 - - \"GET / HTTP/1.1\" 200 -");
    });
    let lines = lines_of(&out.0);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("INFO"), "{lines:?}");
    assert!(lines[0].contains("tower_gateway::access_log"), "{lines:?}");
    assert!(
        lines[0].ends_with("203.0.113.7 - - \"GET / HTTP/1.1\" 200 -"),
        "{lines:?}"
    );
}

#[cfg(all(feature = "router", feature = "origin", feature = "canary"))]
#[tokio::test]
async fn stacked_over_the_real_router_canary_split_and_origin_guard() {
    use tower_gateway::canary::CanaryLayer;
    use tower_gateway::origin::OriginGuardLayer;
    use tower_gateway::router::Router;
    let calls = Arc::new(AtomicUsize::new(0));
    let reply = |text: &'static str| {
        let calls = calls.clone();
        service_fn(move |_: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<_, Infallible>(Response::new(Full::new(
                Bytes::from_static(text.as_bytes()),
            ))))
        })
    };
    let pets = CanaryLayer::new(reply("v2"), 100.0)
        .unwrap()
        .layer(reply("v1"));
    let router = Router::builder()
        .route("GET /pets/{id}", pets)
        .route("POST /pets", reply("made"))
        .build()
        .unwrap();
    let sink = MemorySink::new();
    let stack = AccessLogLayer::new(sink.clone())
        .format(
            LogFormat::template(
                "$context.status $context.routeKey $context.isCanaryRequest \
                 $context.responseFlags $context.responseLength",
            )
            .unwrap(),
        )
        .layer(OriginGuardLayer::builder().build().unwrap().layer(router));

    let res = stack
        .clone()
        .oneshot(bare_request("/pets/7"))
        .await
        .unwrap();
    assert_eq!(body_text(res.into_body()).await, "v2");
    assert_eq!(sink.take(), ["200 GET /pets/{id} true - 2"]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let res = stack
        .clone()
        .oneshot(bare_request("/nowhere"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    body_text(res.into_body()).await;
    assert_eq!(
        sink.take()[0].split(' ').take(4).collect::<Vec<_>>(),
        ["404", "-", "-", "NR"]
    );

    let post = Request::post("/pets")
        .header("host", "api.example.com")
        .header("sec-fetch-site", "cross-site")
        .body(Full::default())
        .unwrap();
    let res = stack.oneshot(post).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    body_text(res.into_body()).await;
    assert!(sink.take()[0].starts_with("403 - - OG "));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "refused requests reach no target"
    );
}

// ---- edge cases (audit, session 6): audit_c.rs

async fn one_line(format: LogFormat, at: u64, req: Request<Full<Bytes>>) -> String {
    let sink = MemorySink::new();
    let res = log_at(&sink, format, at)
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

#[tokio::test]
async fn a_head_answer_sends_no_body_bytes_even_when_its_body_is_read() {
    use http_body_util::BodyExt;
    let sink = MemorySink::new();
    // A naive handler answers HEAD with the GET body; a server never sends it.
    let svc = log_at(
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
        let res = log_at(&sink, LogFormat::apache_common(), 0)
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

#[tokio::test]
async fn an_empty_body_is_zero_bytes_in_json_and_envoy_and_dash_in_apache() {
    let sink = MemorySink::new();
    for format in [
        LogFormat::json(),
        LogFormat::envoy(),
        LogFormat::apache_combined(),
    ] {
        let res = log_at(&sink, format, 0)
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

// ---- edge cases (audit, session 6): audit_f.rs

const FLAGS: &str = "$context.status $context.responseLength $context.responseFlags";

fn log_template(sink: &MemorySink, template: &str) -> AccessLogLayer {
    AccessLogLayer::new(sink.clone()).format(LogFormat::template(template).unwrap())
}

// ----- the record, once, in every ending -------------------------------------------------------

#[tokio::test]
async fn a_body_ending_with_trailers_is_one_complete_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"abc"))),
            Ok(Frame::data(Bytes::from_static(b"de"))),
            Ok(Frame::trailers(trailers)),
        ];
        Ok::<_, Infallible>(Response::new(StreamBody::new(futures_util::stream::iter(
            frames,
        ))))
    });
    let res = log_template(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let collected = res.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(sink.take(), vec!["200 5 -".to_owned()]);
}

/// A panic is the inner service failing, not the client leaving: `UE`, not `DC`.
#[tokio::test]
async fn a_panicking_inner_future_still_writes_one_flagged_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let svc = log_template(&sink, FLAGS).layer(app);
    let joined = tokio::spawn(svc.oneshot(common::request("GET", "/"))).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(sink.take(), vec!["0 0 UE".to_owned()]);
}

#[tokio::test]
async fn a_body_panicking_half_way_writes_one_record_flagged_as_an_inner_error() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let frames = futures_util::stream::iter(0..2).map(|i| {
            assert!(i == 0, "body bug");
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"abc")))
        });
        Ok::<_, Infallible>(Response::new(StreamBody::new(frames)))
    });
    let res = log_template(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let joined = tokio::spawn(async move { res.into_body().collect().await }).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(sink.take(), vec!["200 3 UE".to_owned()]);
}

#[tokio::test]
async fn a_cancelled_request_writes_one_record_and_no_second_when_the_task_ends() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        std::future::pending::<()>().await;
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let svc = log_template(&sink, FLAGS).layer(app);
    let task = tokio::spawn(svc.oneshot(common::request("GET", "/")));
    tokio::task::yield_now().await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(sink.take(), vec!["0 0 DC".to_owned()]);
}

#[tokio::test]
async fn a_body_read_to_its_end_then_dropped_is_not_a_disconnect() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    });
    let res = log_template(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "hello");
    // Full says it has ended after its one frame: the record is written at once.
    assert_eq!(sink.take(), vec!["200 5 -".to_owned()]);
    drop(body);
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn a_switching_protocols_answer_without_a_tunnel_is_one_record_status_101() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let mut res = Response::new(Full::new(Bytes::from_static(b"ignored")));
        *res.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        res.headers_mut()
            .insert("upgrade", HeaderValue::from_static("websocket"));
        res.headers_mut()
            .insert("connection", HeaderValue::from_static("Upgrade"));
        Ok::<_, Infallible>(res)
    });
    let res = log_template(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    assert_eq!(res.headers()["upgrade"], "websocket");
    assert_eq!(res.headers()["connection"], "Upgrade");
    // A server drops a 101's body unsent: one record, no bytes, not a disconnect.
    drop(res);
    assert_eq!(sink.take(), vec!["101 0 -".to_owned()]);
}

// ----- time fields -----------------------------------------------------------------------------

#[tokio::test]
async fn latencies_are_whole_milliseconds_to_headers_and_to_the_last_byte() {
    let sink = MemorySink::new();
    let clock = ManualClock::at_unix(1_700_000_000);
    let inner_clock = clock.clone();
    let app = service_fn(move |_req: Request<Full<Bytes>>| {
        let clock = inner_clock.clone();
        async move {
            clock.advance(Duration::from_micros(12_900));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"x"))))
        }
    });
    let res = AccessLogLayer::new(sink.clone())
        .format(
            LogFormat::template("$context.integrationLatency $context.responseLatency").unwrap(),
        )
        .clock(clock.clone())
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(30));
    body_text(res.into_body()).await;
    // Milliseconds, truncated as AWS's integers are: 12.9 ms -> 12, 42.9 ms -> 42.
    assert_eq!(sink.take(), vec!["12 42".to_owned()]);
}

// ----- W3C trace context -----------------------------------------------------------------------

#[test]
fn traceparent_follows_the_w3c_parsing_rules() {
    let t = "4bf92f3577b34da6a3ce929d0e0e4736";
    let p = "00f067aa0ba902b7";
    let ok = |v: &str| TraceId::parse(v).map(|id| id.as_str().to_owned());
    assert_eq!(ok(&format!("00-{t}-{p}-01")).as_deref(), Some(t));
    assert_eq!(ok(&format!("00-{t}-{p}-00")).as_deref(), Some(t));
    // A later version: the same first four fields, more allowed only after a dash.
    assert_eq!(ok(&format!("01-{t}-{p}-01")).as_deref(), Some(t));
    assert_eq!(
        ok(&format!("cc-{t}-{p}-01-what-the-future-holds")).as_deref(),
        Some(t)
    );
    // Optional whitespace around the value is not part of it (the W3C test suite's
    // `test_traceparent_ows_handling`).
    for padded in [
        format!(" 00-{t}-{p}-01"),
        format!("\t00-{t}-{p}-01"),
        format!("00-{t}-{p}-01 "),
        format!("00-{t}-{p}-01\t"),
        format!("\t 00-{t}-{p}-01 \t"),
    ] {
        assert_eq!(ok(&padded).as_deref(), Some(t), "{padded:?}");
    }
    for bad in [
        format!("ff-{t}-{p}-01"),
        format!("00-{t}-{p}-01-"),
        format!("00-{t}-{p}-01x"),
        format!("cc-{t}-{p}-01x"),
        format!("00-{t}-0000000000000000-01"),
        format!("00-{t}-00F067AA0BA902B7-01"),
        format!("00-{t}-{p}-0A"),
        format!("0A-{t}-{p}-01"),
        format!("0g-{t}-{p}-01"),
        format!("00-{}-{p}-01", &t[1..]),
        format!("00-{t}0-{p}-01"),
        format!("00-{t}-{p}-1"),
        format!("00_{t}-{p}-01"),
        format!("00-{t}-{p}-01\n"),
        format!("00 -{t}-{p}-01"),
        String::new(),
    ] {
        assert_eq!(ok(&bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn a_traceparent_with_optional_whitespace_gives_its_trace_id_in_the_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let mut req = common::request("GET", "/");
    req.headers_mut().insert(
        "traceparent",
        HeaderValue::from_static("\t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "),
    );
    let res = log_template(&sink, "$context.traceId")
        .layer(app)
        .oneshot(req)
        .await
        .unwrap();
    body_text(res.into_body()).await;
    assert_eq!(
        sink.take(),
        vec!["4bf92f3577b34da6a3ce929d0e0e4736".to_owned()]
    );
}

/// A writer that refuses every write (a closed pipe, a full disk).
struct Failing;

impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }
}

#[test]
fn records_a_failing_writer_could_not_write_are_counted_as_dropped() {
    let (log, guard) = NonBlocking::builder().lossy(false).spawn(Failing).unwrap();
    for i in 0..5 {
        log.write_line(&format!("r{i}"));
    }
    guard.flush();
    drop(guard);
    assert_eq!(log.dropped(), 5, "every record the writer refused is lost");
}

/// Fails the first `fail` writes, then writes into `out`.
struct FailingThenFine {
    fail: usize,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Write for FailingThenFine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.fail > 0 {
            self.fail -= 1;
            return Err(io::Error::other("transient"));
        }
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_writer_failing_once_loses_nothing_it_later_writes_and_counts_only_what_is_lost() {
    let out = Arc::new(Mutex::new(Vec::new()));
    let writer = FailingThenFine {
        fail: 1,
        out: out.clone(),
    };
    let (log, guard) = NonBlocking::builder().lossy(false).spawn(writer).unwrap();
    log.write_line("a");
    guard.flush();
    log.write_line("b");
    guard.flush();
    drop(guard);
    let lines = lines_of(&out);
    let written = u64::try_from(lines.len()).unwrap();
    assert_eq!(
        written + log.dropped(),
        2,
        "{lines:?}, dropped {}",
        log.dropped()
    );
    assert!(lines.iter().all(|l| l == "a" || l == "b"), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("b"));
}

// ---- edge cases (audit, session 6): audit_k.rs

async fn line_of(format: LogFormat, req: Request<Full<Bytes>>, ids: bool) -> String {
    let sink = MemorySink::new();
    let mut layer = AccessLogLayer::new(sink.clone())
        .format(format)
        .clock(ManualClock::at_unix(T0));
    if !ids {
        layer = layer.request_ids(RequestIds::Off);
    }
    let res = layer.layer(ok("hello")).oneshot(req).await.unwrap();
    body_text(res.into_body()).await;
    let lines = sink.take();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

fn req_with(method: &str, target: &str, version: Version) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(target)
        .version(version)
        .body(Full::default())
        .unwrap();
    req.extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
    req
}

#[tokio::test]
async fn the_request_line_of_asterisk_authority_and_extension_method_targets() {
    let common = LogFormat::apache_common;
    assert_eq!(
        line_of(common(), req_with("OPTIONS", "*", Version::HTTP_11), false).await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"OPTIONS * HTTP/1.1\" 200 5"
    );
    assert_eq!(
        line_of(
            common(),
            req_with("CONNECT", "api.example.com:443", Version::HTTP_11),
            false
        )
        .await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"CONNECT api.example.com:443 HTTP/1.1\" 200 5"
    );
    assert_eq!(
        line_of(
            common(),
            req_with("PURGE", "/cache/x", Version::HTTP_10),
            false
        )
        .await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"PURGE /cache/x HTTP/1.0\" 200 5"
    );
    assert_eq!(
        line_of(LogFormat::envoy(), req_with("OPTIONS", "*", Version::HTTP_11), false).await,
        "[2024-03-10T13:55:36.000Z] \"OPTIONS * HTTP/1.1\" 200 - 0 5 0 0 \"-\" \"-\" \"-\" \"-\" \"-\""
    );
}

#[tokio::test]
async fn protocol_spellings_per_format() {
    for (version, apache, envoy) in [
        (Version::HTTP_10, "HTTP/1.0", "HTTP/1.0"),
        (Version::HTTP_11, "HTTP/1.1", "HTTP/1.1"),
        (Version::HTTP_2, "HTTP/2.0", "HTTP/2"),
        (Version::HTTP_3, "HTTP/3.0", "HTTP/3"),
    ] {
        let line = line_of(
            LogFormat::apache_combined(),
            req_with("GET", "/", version),
            false,
        )
        .await;
        assert_eq!(
            line,
            format!(
                "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET / {apache}\" 200 5 \"-\" \"-\""
            )
        );
        let line = line_of(LogFormat::envoy(), req_with("GET", "/", version), false).await;
        assert_eq!(
            line,
            format!("[2024-03-10T13:55:36.000Z] \"GET / {envoy}\" 200 - 0 5 0 0 \"-\" \"-\" \"-\" \"-\" \"-\"")
        );
        let line = line_of(LogFormat::json(), req_with("GET", "/", version), false).await;
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["protocol"], apache, "{line}");
        let line = line_of(
            LogFormat::template("$context.protocol").unwrap(),
            req_with("GET", "/", version),
            false,
        )
        .await;
        assert_eq!(line, apache);
    }
}

#[tokio::test]
async fn generated_request_ids_are_lower_case_uuid_v4_with_the_rfc_variant() {
    let sink = MemorySink::new();
    let svc = AccessLogLayer::new(sink.clone())
        .format(LogFormat::template("$context.requestId").unwrap())
        .layer(ok("x"));
    for _ in 0..64 {
        let res = svc
            .clone()
            .oneshot(common::request("GET", "/"))
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        body_text(res.into_body()).await;
        let b = id.as_bytes();
        assert_eq!(b.len(), 36, "{id}");
        for (i, &c) in b.iter().enumerate() {
            if [8, 13, 18, 23].contains(&i) {
                assert_eq!(c, b'-', "{id}");
            } else {
                assert!(c.is_ascii_digit() || (b'a'..=b'f').contains(&c), "{id}");
            }
        }
        assert_eq!(b[14], b'4', "{id}");
        assert!(b"89ab".contains(&b[19]), "{id}");
        assert_eq!(sink.take(), [id]);
    }
}

#[tokio::test]
async fn a_request_id_of_the_longest_kept_length_is_kept_and_one_more_is_replaced() {
    for (len, kept) in [(128, true), (129, false)] {
        let incoming = "a".repeat(len);
        let mut req = common::request("GET", "/");
        req.headers_mut()
            .insert("x-request-id", HeaderValue::from_str(&incoming).unwrap());
        let sink = MemorySink::new();
        let res = AccessLogLayer::new(sink.clone())
            .format(LogFormat::template("$context.requestId").unwrap())
            .layer(service_fn(|_req: Request<Full<Bytes>>| async {
                let mut res = Response::new(Full::new(Bytes::from_static(b"x")));
                res.headers_mut()
                    .insert("x-request-id", HeaderValue::from_static("inner"));
                Ok::<_, Infallible>(res)
            }))
            .oneshot(req)
            .await
            .unwrap();
        let ids: Vec<_> = res.headers().get_all("x-request-id").iter().collect();
        assert_eq!(ids.len(), 1, "one id on the response: {ids:?}");
        let id = ids[0].to_str().unwrap().to_owned();
        body_text(res.into_body()).await;
        assert_eq!(id == incoming, kept, "{id}");
        assert_eq!(sink.take(), [id]);
    }
}

#[test]
fn template_errors_name_each_offending_text() {
    let err =
        LogFormat::template("$context.status $context.nope $context.identity.bogus").unwrap_err();
    let values: Vec<_> = err
        .problems()
        .iter()
        .map(|p| p.value().to_owned())
        .collect();
    assert_eq!(values, ["$context.nope", "$context.identity.bogus"]);
    for bad in [
        "$context.status\n",
        "$context.status\r\n$context.path",
        "a\rb $context.path",
    ] {
        let err = LogFormat::template(bad).unwrap_err();
        assert_eq!(err.problems().len(), 1, "{bad:?}: {err}");
        assert_eq!(err.problems()[0].value(), bad);
        assert_eq!(err.problems()[0].kind(), ProblemKind::Invalid);
    }
    // `$context` alone, and `$context.` followed by nothing that names a variable.
    for bad in ["$context", "x $context. y"] {
        assert!(LogFormat::template(bad).is_err(), "{bad:?}");
    }
}

/// RFC 9112 §3.2.2: with an absolute-form target the authority is the target's, whatever the
/// `Host` header says (Envoy's `:authority` is rewritten from it the same way).
#[tokio::test]
async fn an_absolute_form_target_names_its_own_authority_not_the_host_header() {
    let req = || {
        let mut req = req_with("GET", "http://api.example.com/pets?x=1", Version::HTTP_11);
        req.headers_mut()
            .insert("host", HeaderValue::from_static("spoofed.example"));
        req
    };
    let line = line_of(LogFormat::envoy(), req(), false).await;
    assert_eq!(
        line,
        "[2024-03-10T13:55:36.000Z] \"GET /pets?x=1 HTTP/1.1\" 200 - 0 5 0 0 \"-\" \"-\" \"-\" \
         \"api.example.com\" \"-\""
    );
    let line = line_of(LogFormat::json(), req(), false).await;
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["domainName"], "api.example.com", "{line}");
    // An origin-form target: the Host header.
    let mut plain = req_with("GET", "/", Version::HTTP_11);
    plain
        .headers_mut()
        .insert("host", HeaderValue::from_static("api.example.com:8443"));
    let line = line_of(
        LogFormat::template("$context.domainName").unwrap(),
        plain,
        false,
    )
    .await;
    assert_eq!(line, "api.example.com:8443");
}

/// Repeated `X-Forwarded-For` lines are one list (RFC 9110 §5.3; nginx joins them with ", ").
#[tokio::test]
async fn repeated_forwarded_for_lines_are_joined_in_order() {
    let mut req = req_with("GET", "/", Version::HTTP_11);
    req.headers_mut()
        .append("x-forwarded-for", HeaderValue::from_static("198.51.100.1"));
    req.headers_mut().append(
        "x-forwarded-for",
        HeaderValue::from_static("192.0.2.9, 10.0.0.1"),
    );
    let line = line_of(
        LogFormat::template("$context.forwardedFor").unwrap(),
        req,
        false,
    )
    .await;
    assert_eq!(line, "198.51.100.1, 192.0.2.9, 10.0.0.1");
}

#[tokio::test]
async fn envoy_start_time_has_milliseconds_and_clf_time_truncates_them() {
    let sink = MemorySink::new();
    let clock = ManualClock::at_unix(T0);
    clock.advance(Duration::from_millis(987));
    let layer = |format| {
        AccessLogLayer::new(sink.clone())
            .format(format)
            .clock(clock.clone())
            .request_ids(RequestIds::Off)
            .layer(ok("hello"))
    };
    for format in [
        LogFormat::envoy(),
        LogFormat::apache_common(),
        LogFormat::template("$context.requestTime|$context.requestTimeEpoch|$context.startTime")
            .unwrap(),
    ] {
        let res = layer(format)
            .oneshot(req_with("GET", "/", Version::HTTP_11))
            .await
            .unwrap();
        body_text(res.into_body()).await;
    }
    assert_eq!(
        sink.take(),
        [
            "[2024-03-10T13:55:36.987Z] \"GET / HTTP/1.1\" 200 - 0 5 0 0 \"-\" \"-\" \"-\" \"-\" \"-\"",
            "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5",
            "10/Mar/2024:13:55:36 +0000|1710078936987|2024-03-10T13:55:36.987Z",
        ]
    );
}

#[tokio::test]
async fn envoy_escapes_hostile_header_values_as_nginx_does() {
    let mut req = req_with("GET", "/", Version::HTTP_11);
    let h = req.headers_mut();
    h.insert(
        "user-agent",
        HeaderValue::from_bytes(b"a\"b\\c\td\xc3\xa9\xff").unwrap(),
    );
    h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4\" x"));
    h.insert("host", HeaderValue::from_static("h.example"));
    h.insert("x-request-id", HeaderValue::from_static("req-\"1"));
    let line = line_of(LogFormat::envoy(), req, false).await;
    assert_eq!(
        line,
        "[2024-03-10T13:55:36.000Z] \"GET / HTTP/1.1\" 200 - 0 5 0 0 \"1.2.3.4\\x22 x\" \
         \"a\\x22b\\x5Cc\\x09d\\xC3\\xA9\\xFF\" \"-\" \"h.example\" \"-\"",
        "an unsafe incoming request id is not kept (and with ids off, none is generated)"
    );
}

/// Every variable the docs claim is accepted, and renders its value (or `-`) for a request
/// that passed no router, split or guard.
#[tokio::test]
async fn every_documented_variable_is_accepted_and_rendered() {
    let names = [
        "requestId",
        "extendedRequestId",
        "identity.sourceIp",
        "requestTime",
        "requestTimeEpoch",
        "startTime",
        "httpMethod",
        "path",
        "query",
        "requestUri",
        "protocol",
        "domainName",
        "status",
        "responseLength",
        "requestLength",
        "responseLatency",
        "integrationLatency",
        "integration.latency",
        "identity.userAgent",
        "referer",
        "forwardedFor",
        "traceId",
        "routeKey",
        "resourcePath",
        "routeName",
        "canaryArm",
        "isCanaryRequest",
        "error.message",
        "responseFlags",
        "tunnel.bytesIn",
        "tunnel.bytesOut",
        "tunnel.abnormal",
    ];
    let template = names
        .iter()
        .map(|n| format!("$context.{n}"))
        .collect::<Vec<_>>()
        .join("|");
    let format = LogFormat::template(&template).unwrap_or_else(|e| panic!("{e}"));
    let mut req = req_with("POST", "/pets/42?verbose=1", Version::HTTP_11);
    let h = req.headers_mut();
    h.insert("host", HeaderValue::from_static("api.example.com"));
    h.insert("user-agent", HeaderValue::from_static("curl/8.5.0"));
    h.insert("referer", HeaderValue::from_static("https://shop.example/"));
    h.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.1"));
    h.insert("x-request-id", HeaderValue::from_static("req-1"));
    h.insert(
        "traceparent",
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    let line = line_of(format, req, true).await;
    assert_eq!(
        line,
        "req-1|req-1|203.0.113.7|10/Mar/2024:13:55:36 +0000|1710078936000|2024-03-10T13:55:36.000Z|\
         POST|/pets/42|verbose=1|/pets/42?verbose=1|HTTP/1.1|api.example.com|200|5|0|0|0|0|\
         curl/8.5.0|https://shop.example/|198.51.100.1|4bf92f3577b34da6a3ce929d0e0e4736|\
         -|-|-|-|-|-|-|-|-|-"
    );
}

fn aws_request() -> Request<Full<Bytes>> {
    let mut req = req_with("GET", "/pets/42?verbose=1", Version::HTTP_11);
    req.headers_mut()
        .insert("x-request-id", HeaderValue::from_static("req-1"));
    req
}

/// The CLF, JSON, XML and CSV examples of AWS's access-logging docs (HTTP and REST APIs) build
/// and write what they say; `identity.caller` and `identity.user` (IAM callers, which a gateway
/// without IAM never has) are `-`.
#[tokio::test]
async fn the_aws_documented_example_formats_build_and_render() {
    let http_clf = "$context.identity.sourceIp - - [$context.requestTime] \
                    \"$context.httpMethod $context.routeKey $context.protocol\" \
                    $context.status $context.responseLength $context.requestId";
    assert_eq!(
        line_of(LogFormat::template(http_clf).unwrap(), aws_request(), true).await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET - HTTP/1.1\" 200 5 req-1"
    );
    let rest_clf = "$context.identity.sourceIp $context.identity.caller $context.identity.user \
                    [$context.requestTime] \"$context.httpMethod $context.resourcePath \
                    $context.protocol\" $context.status $context.responseLength $context.requestId";
    assert_eq!(
        line_of(LogFormat::template(rest_clf).unwrap(), aws_request(), true).await,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET - HTTP/1.1\" 200 5 req-1"
    );
    let http_json = r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#;
    let line = line_of(LogFormat::template(http_json).unwrap(), aws_request(), true).await;
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["requestTime"], "10/Mar/2024:13:55:36 +0000");
    assert_eq!(v["routeKey"], "-");
    assert_eq!(v["status"], "200");
    let csv = "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,\
               $context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,\
               $context.status,$context.responseLength,$context.requestId";
    assert_eq!(
        line_of(LogFormat::template(csv).unwrap(), aws_request(), true).await,
        "203.0.113.7,-,-,10/Mar/2024:13:55:36 +0000,GET,-,HTTP/1.1,200,5,req-1"
    );
}

#[tokio::test]
async fn an_absolute_form_target_without_a_path_logs_the_root() {
    let line = line_of(
        LogFormat::template("$context.requestUri|$context.path|$context.query|$context.domainName")
            .unwrap(),
        req_with("GET", "http://api.example.com", Version::HTTP_11),
        false,
    )
    .await;
    assert_eq!(line, "/|/|-|api.example.com");
}

/// Envoy writes `-` "for every not set/empty value" (its access-log docs).
#[tokio::test]
async fn envoy_writes_a_dash_for_empty_values() {
    let mut req = req_with("GET", "/", Version::HTTP_11);
    let h = req.headers_mut();
    h.insert("user-agent", HeaderValue::from_static(""));
    h.insert("x-forwarded-for", HeaderValue::from_static(""));
    h.insert("host", HeaderValue::from_static(""));
    let line = line_of(LogFormat::envoy(), req, false).await;
    assert_eq!(
        line,
        "[2024-03-10T13:55:36.000Z] \"GET / HTTP/1.1\" 200 - 0 5 0 0 \"-\" \"-\" \"-\" \"-\" \"-\""
    );
}

/// A dual-stack listener sees IPv4 clients as `::ffff:a.b.c.d`; Apache (APR) logs them in the
/// familiar IPv4 form, as AWS's `sourceIp` is.
#[tokio::test]
async fn an_ipv4_mapped_client_address_is_written_as_ipv4() {
    let mut req = Request::get("/").body(Full::default()).unwrap();
    req.extensions_mut().insert(SocketAddr::from((
        std::net::Ipv4Addr::new(203, 0, 113, 7).to_ipv6_mapped(),
        50_000,
    )));
    let line = line_of(LogFormat::apache_common(), req, false).await;
    assert_eq!(
        line,
        "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5"
    );
    let mut req = Request::get("/").body(Full::default()).unwrap();
    req.extensions_mut()
        .insert(std::net::IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]));
    let line = line_of(LogFormat::json(), req, false).await;
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["ip"], "2001:db8::1");
}

/// axum's `ConnectInfo<SocketAddr>` (what `into_make_service_with_connect_info` records) is a
/// `ConnectInfo`-style extension the record reads with no configuration (issue 7).
#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_connect_info_is_the_client_address_by_default() {
    use axum::extract::ConnectInfo;
    let sink = MemorySink::new();
    let app = AccessLogLayer::new(sink.clone())
        .format(LogFormat::template("$context.identity.sourceIp").unwrap())
        .layer(ok("x"));
    let mut request = Request::get("/").body(Full::<Bytes>::default()).unwrap();
    let peer: std::net::SocketAddr = "198.51.100.7:50123".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = app.oneshot(request).await.unwrap();
    body_text(response.into_body()).await;
    assert_eq!(sink.lines(), ["198.51.100.7"]);
}
