//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test file uses a different subset

pub mod backend;
#[cfg(feature = "metrics-facade")]
pub mod recorder;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

/// Reads a file of `../shared/data/`, failing with its full path when it is missing.
pub fn shared_data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Collects a body into a `String` (lossy).
pub async fn body_text<B>(body: B) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let bytes = body.collect().await.expect("body error").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A request with an empty `Full` body.
pub fn request(method: &str, uri: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::default())
        .expect("valid test request")
}

/// A service that answers `200` with `name` as its body, and counts its calls.
#[derive(Clone, Debug)]
pub struct Named {
    name: &'static str,
    calls: Arc<AtomicUsize>,
}

impl Named {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            calls: Arc::default(),
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<B> tower::Service<Request<B>> for Named {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(
            self.name.as_bytes(),
        )))))
    }
}

/// A CORS layer and an origin guard that trusts exactly what it allows: the pairing every
/// stack in these tests uses.
#[cfg(all(feature = "cors", feature = "origin"))]
pub fn guarded(
    cors: tower_gateway::cors::CorsLayer,
) -> (
    tower_gateway::cors::CorsLayer,
    tower_gateway::origin::OriginGuardLayer,
) {
    let guard = trusting(&cors);
    (cors, guard)
}

/// Where `CorsConfig::allow_origin(origin)` answers otherwise than `valid` says, as jub0bs's
/// pattern parser does: accepted when it should be refused, refused when it should be
/// accepted, or refused with other than one problem naming `origin`. One line per origin.
#[cfg(feature = "cors")]
pub fn origin_pattern_mismatches<'a>(
    cases: impl IntoIterator<Item = (&'a str, bool)>,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (origin, valid) in cases {
        match tower_gateway::cors::CorsConfig::new()
            .allow_origin(origin)
            .build()
        {
            Ok(_) if !valid => wrong.push(format!("{origin:?} accepted")),
            Err(e) if valid => wrong.push(format!("{origin:?} refused: {e}")),
            Err(e) if e.problems().len() != 1 || e.problems()[0].value() != origin => {
                wrong.push(format!("{origin:?}: {e}"));
            }
            _ => {}
        }
    }
    wrong
}

/// An origin guard that trusts exactly what `cors` allows.
#[cfg(all(feature = "cors", feature = "origin"))]
pub fn trusting(cors: &tower_gateway::cors::CorsLayer) -> tower_gateway::origin::OriginGuardLayer {
    tower_gateway::origin::OriginGuardLayer::builder()
        .trust_cors(cors)
        .build()
        .unwrap()
}

/// Awaits `future`, failing the test when it takes more than 10 s.
pub async fn bounded<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), future)
        .await
        .expect("the test hung")
}

/// An address on 127.0.0.1 that refuses connections for as long as the returned socket lives:
/// its port is bound but not listening. (Binding a listener and dropping it frees the port for
/// the next `bind("127.0.0.1:0")` of a test running in parallel, whose server may then answer,
/// or hang, in its place.)
pub fn refusing_addr() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

/// Listens on a free port of 127.0.0.1 and runs `on_connection` on a task of its own for each
/// accepted connection (with the peer's address), for as long as the runtime runs.
pub async fn listen<F, Fut>(mut on_connection: F) -> std::net::SocketAddr
where
    F: FnMut(tokio::net::TcpStream, std::net::SocketAddr) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            tokio::spawn(on_connection(stream, peer));
        }
    });
    addr
}

/// Serves `service` with hyper over HTTP/1.1 (upgrades on) on 127.0.0.1:0, putting the peer's
/// address in each request's extensions (as an axum/hyper server with connect info does).
pub async fn serve_with_peer<S, B>(service: S) -> std::net::SocketAddr
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use tower::ServiceExt;
    listen(move |stream, peer| {
        let service = service.clone();
        async move {
            let service =
                hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(peer);
                    service.clone().oneshot(request)
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        }
    })
    .await
}

/// A request body hyper's HTTP/1.1 client can send.
pub trait ClientBody:
    http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> ClientBody for B where
    B: http_body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

/// Sends one request on a fresh HTTP/1.1 connection with hyper's client (no upgrades).
pub async fn send<B: ClientBody>(addr: SocketAddr, request: Request<B>) -> Response<Incoming> {
    send_on_new_connection(addr, request, false).await
}

/// Sends one request on a fresh HTTP/1.1 connection with hyper's client, the connection
/// driven with upgrades on (so that a `101` answer can be taken over).
pub async fn send_upgradable<B: ClientBody>(
    addr: SocketAddr,
    request: Request<B>,
) -> Response<Incoming> {
    send_on_new_connection(addr, request, true).await
}

async fn send_on_new_connection<B: ClientBody>(
    addr: SocketAddr,
    request: Request<B>,
    upgrades: bool,
) -> Response<Incoming> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    if upgrades {
        tokio::spawn(conn.with_upgrades());
    } else {
        tokio::spawn(conn);
    }
    sender.send_request(request).await.unwrap()
}

/// A service that becomes ready only when its gate opens (waking whoever asked last), then
/// answers `open`: for checking that a layer which readies its inner service inside the
/// response future registers the task's waker, not only a probe's.
#[derive(Clone, Default)]
pub struct Gated {
    gate: Arc<std::sync::Mutex<(bool, Option<std::task::Waker>)>>,
}

impl Gated {
    /// Opens the gate and wakes the task that last found it closed.
    pub fn open(&self) {
        let mut gate = self.gate.lock().unwrap();
        gate.0 = true;
        if let Some(waker) = gate.1.take() {
            waker.wake();
        }
    }
}

impl<B> tower::Service<Request<B>> for Gated {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        let mut gate = self.gate.lock().unwrap();
        if gate.0 {
            Poll::Ready(Ok(()))
        } else {
            gate.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"open")))))
    }
}

/// The request and response of the targets below.
type Req = Request<Full<Bytes>>;
type Res = Response<Full<Bytes>>;

/// A target that answers `200` with `body`.
pub fn ok(
    body: &'static str,
) -> impl tower::Service<Req, Response = Res, Error = Infallible, Future = impl Send> + Clone {
    tower::service_fn(move |_req: Req| async move {
        Ok::<_, Infallible>(Res::new(Full::new(Bytes::from_static(body.as_bytes()))))
    })
}

/// A service that never fails, taking `Full<Bytes>` requests and answering with bodies of type
/// `B`, that a Router, a gateway or a layer can hold: what the test targets return.
pub trait Target<B = Full<Bytes>>:
    tower::Service<Req, Response = Response<B>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S, B> Target<B> for S where
    S: tower::Service<Req, Response = Response<B>, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// A Router target that answers `200` with its own route key (`MatchedRoute`) as the body.
#[cfg(feature = "router")]
pub fn echo_key() -> impl Target {
    tower::service_fn(|req: Req| async move {
        let key = req
            .extensions()
            .get::<tower_gateway::router::MatchedRoute>()
            .map(|m| m.key().to_owned())
            .unwrap_or_default();
        Ok::<_, Infallible>(Res::new(Full::new(Bytes::from(key))))
    })
}

/// A target that answers `200` with `body`, or an empty `204` on the path `/204`.
pub fn ok_or_204(
    body: &'static str,
) -> impl tower::Service<Req, Response = Res, Error = Infallible, Future = impl Send> + Clone {
    tower::service_fn(move |req: Req| async move {
        if req.uri().path() == "/204" {
            let mut response = Res::new(Full::default());
            *response.status_mut() = http::StatusCode::NO_CONTENT;
            return Ok::<_, Infallible>(response);
        }
        Ok(Res::new(Full::new(Bytes::from_static(body.as_bytes()))))
    })
}

/// An access log into `sink` in `format`, its clock stopped at `at` (Unix seconds).
#[cfg(feature = "access-log")]
pub fn log_at(
    sink: &tower_gateway::access_log::MemorySink,
    format: tower_gateway::access_log::LogFormat,
    at: u64,
) -> tower_gateway::access_log::AccessLogLayer {
    tower_gateway::access_log::AccessLogLayer::new(sink.clone())
        .format(format)
        .clock(tower_gateway::access_log::ManualClock::at_unix(at))
}

/// The response of a clone of `svc` to `request`, failing the test on an error.
pub async fn respond<S, R>(svc: &S, request: R) -> S::Response
where
    S: tower::Service<R> + Clone,
    S::Error: std::fmt::Debug,
{
    use tower::ServiceExt;
    svc.clone().oneshot(request).await.unwrap()
}

/// Serves `svc` with hyper through `TowerToHyperService` over an in-memory pipe and sends it
/// every request on one keep-alive connection.
pub async fn over_http1<S, B>(
    svc: S,
    requests: Vec<Request<Full<Bytes>>>,
) -> Vec<(http::StatusCode, http::HeaderMap, String)>
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_io), TowerToHyperService::new(svc))
            .await
    });
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(client_io))
            .await
            .unwrap();
    let client = tokio::spawn(conn);
    let mut answers = Vec::new();
    for request in requests {
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        answers.push((parts.status, parts.headers, body_text(body).await));
    }
    drop(sender);
    client.await.unwrap().unwrap();
    server.await.unwrap().unwrap();
    answers
}

/// A request path from a property test's parts: `prefix`, then `/segment` for each segment, a
/// `/` when `slash` is set or the path is still empty, then `?query` when there is one.
pub fn join_path(prefix: &str, segments: &[String], slash: bool, query: Option<&str>) -> String {
    let mut path = prefix.to_owned();
    for s in segments {
        path.push('/');
        path.push_str(s);
    }
    if slash || path.is_empty() {
        path.push('/');
    }
    if let Some(q) = query {
        path.push('?');
        path.push_str(q);
    }
    path
}

/// A Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An error that displays as `boom`.
#[derive(Debug)]
pub struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

impl std::error::Error for Boom {}

/// A proptest runner for `cases` cases, or `PROPTEST_CASES` when set (for a longer hunt), with
/// no failure persistence.
pub fn runner(cases: u32) -> proptest::test_runner::TestRunner {
    use proptest::test_runner::{Config, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// A current-thread tokio runtime with time and I/O.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
