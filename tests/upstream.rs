#![cfg(all(feature = "upstream", feature = "router"))]
//! Upstreams over real sockets: upstream servers on 127.0.0.1:0 started by each test, a
//! gateway (Router + Upstream) served by hyper on 127.0.0.1:0, and a real HTTP/1 client.

mod common;

use std::collections::HashSet;
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hasher};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::ServiceExt;
use tower_gateway::upstream::{Failure, FailureKind, Upstream, UpstreamClient};
use tower_gateway::Router;

use common::{body_text, send};

// ---------------------------------------------------------------- upstream servers

/// What a test upstream saw: one entry per request.
#[derive(Clone, Debug)]
struct Seen {
    uri: String,
    method: String,
    headers: HeaderMap,
    conn: usize,
}

/// A hyper upstream on 127.0.0.1:0. `/echo...` answers at once with the request body as the
/// response body (streamed back while it is still arriving); `/hop` answers with hop-by-hop
/// headers; anything else answers `200` with `x-upstream: <name>`. Every request is recorded.
#[derive(Clone)]
struct TestUpstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl TestUpstream {
    async fn start(name: &'static str) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (s, c) = (Arc::clone(&seen), Arc::clone(&connections));
        let addr = common::listen(move |stream, _| {
            let conn = c.fetch_add(1, Ordering::SeqCst);
            let seen = Arc::clone(&s);
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let seen = Arc::clone(&seen);
                async move { Ok::<_, Infallible>(upstream_answer(name, conn, &seen, req)) }
            });
            async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            }
        })
        .await;
        Self {
            addr,
            seen,
            connections,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn last(&self) -> Seen {
        self.seen().pop().expect("the upstream was called")
    }
}

type UpBody = http_body_util::Either<Incoming, Full<Bytes>>;

fn upstream_answer(
    name: &'static str,
    conn: usize,
    seen: &Mutex<Vec<Seen>>,
    req: Request<Incoming>,
) -> Response<UpBody> {
    seen.lock().unwrap().push(Seen {
        uri: req.uri().to_string(),
        method: req.method().to_string(),
        headers: req.headers().clone(),
        conn,
    });
    let path = req.uri().path().to_owned();
    if path.ends_with("/echo") {
        return Response::new(UpBody::Left(req.into_body()));
    }
    let mut response = Response::new(UpBody::Right(Full::new(Bytes::from(format!(
        "{name} {}",
        req.uri()
    )))));
    response
        .headers_mut()
        .insert("x-upstream", name.parse().unwrap());
    if path.ends_with("/hop") {
        let h = response.headers_mut();
        h.insert("connection", "x-hop".parse().unwrap());
        h.insert("x-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("proxy-authenticate", "Basic".parse().unwrap());
        h.insert("x-kept", "1".parse().unwrap());
    }
    if path.ends_with("/missing") {
        *response.status_mut() = StatusCode::NOT_FOUND;
    }
    response
}

/// A raw TCP upstream: for each connection, reads the request head, then writes `reply`
/// (when given) and, unless `hold`, closes.
async fn raw_upstream(reply: Option<&'static [u8]>, hold: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let mut read = 0;
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
            if let Some(reply) = reply {
                let _ = stream.write_all(reply).await;
            }
            if hold {
                held.push(stream);
            }
        }
    });
    addr
}

/// An address nothing listens on (bound, then closed).
async fn dead_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

// ---------------------------------------------------------------- the gateway and a client

type Gateway = Router<Incoming, tower_gateway::upstream::ResponseBody, Infallible>;

/// Serves `router` on 127.0.0.1:0 with hyper, putting the peer address in the request
/// extensions as a `SocketAddr`.
/// Serves a Router sending every path to `up` (`ANY /{proxy+}` to `{up}/{proxy}`).
async fn serve_everything_to(up: &TestUpstream) -> SocketAddr {
    let router = Router::builder()
        .route("ANY /{proxy+}", Upstream::new(&up.url("/{proxy}")).unwrap())
        .build()
        .unwrap();
    serve(router).await
}

async fn serve(router: Gateway) -> SocketAddr {
    common::listen(move |stream, peer| {
        let service = tower::ServiceBuilder::new()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                req
            })
            .service(router.clone());
        async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
        }
    })
    .await
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "gw.example")
        .body(Full::default())
        .unwrap()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

// ---------------------------------------------------------------- routing and mapping

#[tokio::test]
async fn proxy_placeholder_maps_the_path_and_keeps_the_query() {
    let up = TestUpstream::start("a").await;
    let router = Router::builder()
        .route(
            "ANY /api/{proxy+}",
            Upstream::new(&up.url("/v2/{proxy}")).unwrap(),
        )
        .build()
        .unwrap();
    let gw = serve(router).await;
    let response = send(gw, get("/api/a/b?x=1&y=%20")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response.into_body()).await, "a /v2/a/b?x=1&y=%20");
    assert_eq!(up.last().uri, "/v2/a/b?x=1&y=%20");
}

#[tokio::test]
async fn strip_prefix_then_base_path() {
    let up = TestUpstream::start("a").await;
    let upstream = Upstream::builder(&up.url("/base"))
        .strip_prefix("/svc")
        .build()
        .unwrap();
    let router = Router::builder()
        .route("ANY /svc/{proxy+}", upstream.clone())
        .route("GET /svc", upstream)
        .build()
        .unwrap();
    let gw = serve(router).await;
    for (uri, want) in [
        ("/svc/users/7?full", "/base/users/7?full"),
        ("/svc", "/base"),
    ] {
        let response = send(gw, get(uri)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert_eq!(up.last().uri, want);
    }
}

#[tokio::test]
async fn nested_upstream_gets_the_path_below_the_prefix() {
    let up = TestUpstream::start("a").await;
    let router = Router::builder()
        .nest("/n", Upstream::new(&up.url("/inner/")).unwrap())
        .build()
        .unwrap();
    let gw = serve(router).await;
    let response = send(gw, get("/n/x/y?q=1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(up.last().uri, "/inner/x/y?q=1");
}

#[tokio::test]
async fn routes_pick_their_upstream_and_misses_call_none() {
    let (a, b) = (
        TestUpstream::start("a").await,
        TestUpstream::start("b").await,
    );
    let router = Router::builder()
        .route(
            "GET /a/{proxy+}",
            Upstream::new(&a.url("/{proxy}")).unwrap(),
        )
        .route(
            "POST /b/{id}",
            Upstream::new(&b.url("/items/{id}")).unwrap(),
        )
        .build()
        .unwrap();
    let gw = serve(router).await;
    let response = send(gw, get("/a/one")).await;
    assert_eq!(header(response.headers(), "x-upstream"), Some("a"));
    let post = Request::post("/b/9")
        .header("host", "gw.example")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let response = send(gw, post).await;
    assert_eq!(header(response.headers(), "x-upstream"), Some("b"));
    assert_eq!(b.last().uri, "/items/9");
    assert_eq!(b.last().method, "POST");
    // The Router's own 404: no upstream called.
    let response = send(gw, get("/c")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!((a.seen().len(), b.seen().len()), (1, 1));
}

#[tokio::test]
async fn upstream_status_and_body_pass_through() {
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;
    let response = send(gw, get("/x/missing")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.extensions().get::<Failure>().is_none());
    assert_eq!(body_text(response.into_body()).await, "a /x/missing");
}

// ---------------------------------------------------------------- headers

#[tokio::test]
async fn request_headers_hop_by_hop_removed_and_forwarded_added() {
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;
    let request = Request::get("/h")
        .header("host", "gw.example:8080")
        .header("connection", "keep-alive, X-Secret")
        .header("x-secret", "s")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic eA==")
        .header("proxy-connection", "keep-alive")
        .header("proxy-anything", "1")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "spoofed.example")
        .header("x-kept", "k")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = up.last().headers;
    for gone in [
        "connection",
        "x-secret",
        "keep-alive",
        "te",
        "proxy-authorization",
        "proxy-connection",
        "proxy-anything",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(seen.get(gone).is_none(), "{gone} was forwarded: {seen:?}");
    }
    assert_eq!(header(&seen, "x-kept"), Some("k"));
    assert_eq!(header(&seen, "host"), Some(&*up.addr.to_string()));
    assert_eq!(
        header(&seen, "forwarded"),
        Some("for=127.0.0.1;proto=http;host=\"gw.example:8080\"")
    );
    assert_eq!(header(&seen, "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(header(&seen, "x-forwarded-proto"), Some("http"));
    assert_eq!(header(&seen, "x-forwarded-host"), Some("gw.example:8080"));
}

#[tokio::test]
async fn forwarded_chains_are_extended() {
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;
    let request = Request::get("/f")
        .header("host", "gw.example")
        .header("forwarded", "for=192.0.2.60;proto=https")
        .header("x-forwarded-for", "192.0.2.60")
        .body(Full::<Bytes>::default())
        .unwrap();
    send(gw, request).await;
    let seen = up.last().headers;
    assert_eq!(
        header(&seen, "forwarded"),
        Some("for=192.0.2.60;proto=https, for=127.0.0.1;proto=http;host=gw.example")
    );
    assert_eq!(
        header(&seen, "x-forwarded-for"),
        Some("192.0.2.60, 127.0.0.1")
    );
}

#[tokio::test]
async fn preserve_host_sends_the_clients_host() {
    let up = TestUpstream::start("a").await;
    let upstream = Upstream::builder(&up.url(""))
        .preserve_host(true)
        .build()
        .unwrap();
    let request = Request::get("/p")
        .header("host", "public.example")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = upstream.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = up.last().headers;
    assert_eq!(header(&seen, "host"), Some("public.example"));
    assert_eq!(header(&seen, "x-forwarded-host"), Some("public.example"));
    // No client address extension: no `for=`, no X-Forwarded-For.
    assert_eq!(
        header(&seen, "forwarded"),
        Some("proto=http;host=public.example")
    );
    assert!(seen.get("x-forwarded-for").is_none());
}

#[tokio::test]
async fn response_hop_by_hop_headers_are_removed() {
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;
    let response = send(gw, get("/hop")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(header(h, "x-kept"), Some("1"));
    assert_eq!(header(h, "x-upstream"), Some("a"));
    for gone in ["x-hop", "keep-alive", "proxy-authenticate"] {
        assert!(h.get(gone).is_none(), "{gone} came back: {h:?}");
    }
    assert_ne!(header(h, "connection"), Some("x-hop"));
}

// ---------------------------------------------------------------- streaming

/// A request body fed from a channel, so the test decides when each chunk is sent.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|c| Ok(Frame::data(c))))
    }
}

fn chunk(i: usize) -> Bytes {
    // 64 KiB of bytes that differ per chunk.
    Bytes::from(
        (0..65_536)
            .map(|j| ((i * 31 + j * 7) % 251) as u8)
            .collect::<Vec<u8>>(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_mib_stream_both_ways() {
    const CHUNKS: usize = 128; // 8 MiB
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;

    let mut expected = DefaultHasher::new();
    for i in 0..CHUNKS {
        expected.write(&chunk(i));
    }
    let (tx, rx) = mpsc::channel(4);
    tx.send(chunk(0)).await.unwrap();
    let request = Request::post("/echo")
        .header("host", "gw.example")
        .body(ChannelBody(rx))
        .unwrap();
    // The response headers come back through the gateway while only the first chunk has
    // been sent: the upstream answered before reading the body, and neither direction was
    // buffered whole.
    let response = send(gw, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let sender = tokio::spawn(async move {
        for i in 1..CHUNKS {
            tx.send(chunk(i)).await.unwrap();
        }
    });
    let mut body = response.into_body();
    let (mut len, mut got) = (0usize, DefaultHasher::new());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            len += data.len();
            got.write(&data);
        }
    }
    sender.await.unwrap();
    assert_eq!(len, CHUNKS * 65_536);
    assert_eq!(got.finish(), expected.finish());
}

// ---------------------------------------------------------------- failures

#[tokio::test]
async fn dead_upstream_is_502_connect() {
    let upstream = Upstream::new(&format!("http://{}", dead_addr().await)).unwrap();
    let response = upstream
        .oneshot(common::request("GET", "/x"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let failure = *response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Connect);
    assert_eq!(body_text(response.into_body()).await, failure.reason());
}

#[tokio::test]
async fn dead_upstream_through_the_gateway_is_a_502_answer() {
    let router = Router::builder()
        .route(
            "ANY /{proxy+}",
            Upstream::new(&format!("http://{}", dead_addr().await)).unwrap(),
        )
        .build()
        .unwrap();
    let gw = serve(router).await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        body_text(response.into_body()).await,
        "connection refused by the upstream"
    );
}

#[tokio::test]
async fn silent_upstream_hits_the_timeout_504() {
    let addr = raw_upstream(None, true).await;
    let upstream = Upstream::builder(&format!("http://{addr}"))
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let response = upstream
        .oneshot(common::request("GET", "/slow"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Timeout);
}

#[tokio::test]
async fn malformed_response_is_502_bad_response() {
    let addr = raw_upstream(Some(b"THIS IS NOT HTTP\r\n\r\n"), false).await;
    let upstream = Upstream::new(&format!("http://{addr}")).unwrap();
    let response = upstream.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::BadResponse);
}

#[tokio::test]
async fn upstream_closing_before_answering_is_502_connect() {
    let addr = raw_upstream(None, false).await;
    let upstream = Upstream::new(&format!("http://{addr}")).unwrap();
    let response = upstream.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Connect, "{failure:?}");
}

#[tokio::test]
async fn dot_segments_are_400_and_the_upstream_is_not_called() {
    let up = TestUpstream::start("a").await;
    let upstream = Upstream::builder(&up.url("/public"))
        .strip_prefix("/p")
        .build()
        .unwrap();
    for uri in ["/p/../admin", "/p/%2e%2e/admin", "/p/./x"] {
        let response = upstream
            .clone()
            .oneshot(common::request("GET", uri))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let failure = response.extensions().get::<Failure>().unwrap();
        assert_eq!(failure.kind(), FailureKind::BadRequest);
    }
    assert_eq!(up.seen().len(), 0);
    assert_eq!(up.connections.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------- pool, axum

#[tokio::test]
async fn upstreams_sharing_a_client_share_connections() {
    let up = TestUpstream::start("a").await;
    let pool = UpstreamClient::new();
    let a = Upstream::builder(&up.url("/a"))
        .client(pool.clone())
        .build()
        .unwrap();
    let b = Upstream::builder(&up.url("/b"))
        .client(pool)
        .build()
        .unwrap();
    // Alternate between the two until one connection has served both (a connection only
    // goes back to the pool once its response is read, so the first few may open more).
    let mut served: Vec<(usize, HashSet<char>)> = Vec::new();
    let mut shared = false;
    for i in 0..200 {
        let (upstream, which) = if i % 2 == 0 { (&a, 'a') } else { (&b, 'b') };
        let response = upstream
            .clone()
            .oneshot(common::request("GET", "/x"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.into_body().collect().await.unwrap();
        let conn = up.last().conn;
        match served.iter_mut().find(|(c, _)| *c == conn) {
            Some((_, set)) => {
                set.insert(which);
                if set.len() == 2 {
                    shared = true;
                    break;
                }
            }
            None => served.push((conn, HashSet::from([which]))),
        }
    }
    assert!(shared, "no connection served both upstreams: {served:?}");
    // Two upstreams with pools of their own never share a connection.
    let own_a = Upstream::new(&up.url("/a")).unwrap();
    let own_b = Upstream::new(&up.url("/b")).unwrap();
    let mut by_conn: Vec<(usize, char)> = Vec::new();
    for (upstream, which) in [(&own_a, 'a'), (&own_b, 'b'), (&own_a, 'a'), (&own_b, 'b')] {
        let response = upstream
            .clone()
            .oneshot(common::request("GET", "/x"))
            .await
            .unwrap();
        response.into_body().collect().await.unwrap();
        by_conn.push((up.last().conn, which));
    }
    for (conn, which) in &by_conn {
        assert!(
            by_conn.iter().all(|(c, w)| c != conn || w == which),
            "{by_conn:?}"
        );
    }
}

#[tokio::test]
async fn upstream_under_axum() {
    let up = TestUpstream::start("a").await;
    let app = axum::Router::new()
        .route_service("/items/{id}", Upstream::new(&up.url("/v1")).unwrap())
        .nest_service("/svc", Upstream::new(&up.url("")).unwrap());
    let response = app
        .clone()
        .oneshot(
            Request::get("/items/3?q")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(up.last().uri, "/v1/items/3?q");
    let response = app
        .oneshot(
            Request::get("/svc/z")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "a /z");
}

#[tokio::test]
async fn connect_timeout_is_504() {
    // A listener that never accepts, with its accept queue filled: the kernel drops further
    // connection attempts, so connecting hangs until the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
    }
    let upstream = Upstream::builder(&format!("http://{addr}"))
        .connect_timeout(Duration::from_millis(100))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let response = upstream.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Timeout);
    // Should a slow machine leave a place in the queue, the response timeout answers instead.
    assert!(
        [
            "timed out connecting to the upstream",
            "timed out waiting for the upstream's response"
        ]
        .contains(&failure.reason()),
        "{failure:?}"
    );
    drop((held, listener));
}

#[cfg(all(feature = "access-log", feature = "cors", feature = "origin"))]
#[tokio::test]
async fn upstream_inside_the_whole_stack() {
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    use tower_gateway::CorsLayer;

    let up = TestUpstream::start("a").await;
    let table = Router::builder()
        .route(
            "ANY /api/{proxy+}",
            Upstream::new(&up.url("/{proxy}")).unwrap(),
        )
        .route(
            "ANY /down/{proxy+}",
            Upstream::new(&format!("http://{}", dead_addr().await)).unwrap(),
        )
        .build()
        .unwrap();
    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
    );
    let log = MemorySink::new();
    let format = LogFormat::template("$context.routeKey $context.status").unwrap();
    let stack = tower::ServiceBuilder::new()
        .layer(AccessLogLayer::new(log.clone()).format(format))
        .layer(cors)
        .layer(guard)
        .service(table);
    let post = |uri: &str, origin: &str| {
        Request::post(uri)
            .header("host", "gw.example")
            .header("origin", origin)
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap()
    };
    let ok = stack
        .clone()
        .oneshot(post("/api/items", "https://app.example.com"))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(body_text(ok.into_body()).await, "a /items");
    let refused = stack
        .clone()
        .oneshot(post("/api/items", "https://evil.example"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    body_text(refused.into_body()).await;
    let down = stack
        .oneshot(post("/down/x", "https://app.example.com"))
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        down.extensions().get::<Failure>().map(|f| f.kind()),
        Some(FailureKind::Connect)
    );
    body_text(down.into_body()).await;
    assert_eq!(up.seen().len(), 1);
    assert_eq!(
        log.lines(),
        ["ANY /api/{proxy+} 200", "- 403", "ANY /down/{proxy+} 502"]
    );
}

#[tokio::test]
async fn upstream_body_cut_short_ends_the_response_body_with_an_error() {
    let addr = raw_upstream(
        Some(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b"),
        false,
    )
    .await;
    let upstream = Upstream::new(&format!("http://{addr}")).unwrap();
    let response = upstream.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<Failure>().is_none());
    assert!(response.into_body().collect().await.is_err());
}

/// A request body that yields one chunk, then fails.
struct FailingBody(bool);

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Some(Err(std::io::Error::other("client went away"))))
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"first")))))
        }
    }
}

#[tokio::test]
async fn failing_request_body_is_502_other() {
    let addr = raw_upstream(None, true).await;
    let upstream = Upstream::new(&format!("http://{addr}")).unwrap();
    let request = Request::post("/upload").body(FailingBody(false)).unwrap();
    let response = upstream.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Other, "{failure:?}");
    assert_eq!(failure.reason(), "request body failed");
}

// ---- edge cases (audit, session 6): upstream

#[tokio::test]
async fn absolute_form_target_names_the_forwarded_host() {
    // RFC 9112 §3.2.2: with an absolute-form target, a proxy ignores `Host` and uses the
    // target's authority.
    let up = TestUpstream::start("a").await;
    let gw = serve_everything_to(&up).await;
    let request = Request::get("http://public.example/abs?z=1")
        .header("host", "other.example")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = up.last();
    assert_eq!(seen.uri, "/abs?z=1");
    assert_eq!(header(&seen.headers, "host"), Some(&*up.addr.to_string()));
    assert_eq!(
        header(&seen.headers, "x-forwarded-host"),
        Some("public.example")
    );
    assert_eq!(
        header(&seen.headers, "forwarded"),
        Some("for=127.0.0.1;proto=http;host=public.example")
    );

    let preserving = Upstream::builder(&up.url(""))
        .preserve_host(true)
        .build()
        .unwrap();
    let request = Request::get("http://public.example:8080/p")
        .header("host", "other.example")
        .body(Full::<Bytes>::default())
        .unwrap();
    assert_eq!(
        preserving.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    let seen = up.last().headers;
    assert_eq!(header(&seen, "host"), Some("public.example:8080"));
    assert_eq!(
        header(&seen, "x-forwarded-host"),
        Some("public.example:8080")
    );
}

#[tokio::test]
async fn head_gets_the_failure_headers_without_a_body() {
    // RFC 9110 §9.3.2: the gateway's own 502/504/400 to a HEAD carry no content.
    let dead = Upstream::new(&format!("http://{}", dead_addr().await)).unwrap();
    let head = |uri: &str| Request::head(uri).body(Full::<Bytes>::default()).unwrap();
    let response = dead.clone().oneshot(head("/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let failure = *response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Connect);
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        header(response.headers(), "content-length"),
        Some(&*failure.reason().len().to_string())
    );
    assert_eq!(body_text(response.into_body()).await, "");
    // A GET still gets the reason.
    let response = dead.clone().oneshot(get("/x")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, failure.reason());

    let silent = raw_upstream(None, true).await;
    let slow = Upstream::builder(&format!("http://{silent}"))
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let response = slow.oneshot(head("/slow")).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body_text(response.into_body()).await, "");

    let response = dead.oneshot(head("/a/../b")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_text(response.into_body()).await, "");
}

#[tokio::test]
async fn head_is_forwarded_as_head_and_keeps_the_upstreams_length() {
    let up = TestUpstream::start("a").await;
    let router = Router::builder()
        .route(
            "GET /g/{proxy+}",
            Upstream::new(&up.url("/{proxy}")).unwrap(),
        )
        .build()
        .unwrap();
    let gw = serve(router).await;
    let request = Request::head("/g/x?q=1")
        .header("host", "gw.example")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    // "a /x?q=1", the GET body's length, with no body.
    assert_eq!(header(response.headers(), "content-length"), Some("8"));
    assert_eq!(header(response.headers(), "x-upstream"), Some("a"));
    assert_eq!(body_text(response.into_body()).await, "");
    let seen = up.last();
    assert_eq!(
        (seen.method.as_str(), seen.uri.as_str()),
        ("HEAD", "/x?q=1")
    );
}
