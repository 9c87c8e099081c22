//! WebSocket routes end to end, over real sockets on 127.0.0.1: tungstenite clients, a gateway
//! stack served by hyper with upgrades, and tungstenite (or plain hyper) backends.

#![cfg(all(
    feature = "upstream",
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log",
    feature = "metrics"
))]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{
    Request as WsRequest, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, Sink};
use tower_gateway::canary::{CanaryLayer, Mode};
use tower_gateway::error::ProblemKind;
use tower_gateway::metrics::Registry;
use tower_gateway::router::Router;
use tower_gateway::upstream::{Failure, FailureKind, ResponseBody, WebSocketUpstream};
use tower_gateway::CorsLayer;

/// Bounds a wait that should end promptly; never used to order events.
const BOUND: Duration = Duration::from_secs(10);

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

// ----- backends -------------------------------------------------------------------------------

/// What a backend saw: handshakes accepted, their request headers, and connection ends.
#[derive(Clone, Default)]
struct Seen {
    accepted: Arc<AtomicUsize>,
    headers: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    ended: Option<mpsc::UnboundedSender<&'static str>>,
}

#[derive(Clone, Copy)]
enum Behaviour {
    /// Echo every data message, prefixed with a tag.
    Echo(&'static str),
    /// Answer the first message with a close frame, then drop the connection.
    CloseAfterFirst,
}

/// A WebSocket backend on 127.0.0.1; picks subprotocol `chat` when offered.
async fn backend(behaviour: Behaviour, seen: Seen) -> SocketAddr {
    common::listen(move |stream, _| {
        let seen = seen.clone();
        async move {
            let headers = Arc::clone(&seen.headers);
            // tungstenite's callback signature returns its (large) error response.
            #[allow(clippy::result_large_err)]
            let callback = move |req: &WsRequest, mut res: WsResponse| {
                headers
                    .lock()
                    .unwrap()
                    .push((req.uri().to_string(), req.headers().clone()));
                if let Some(p) = req.headers().get("sec-websocket-protocol") {
                    if p.to_str()
                        .unwrap_or("")
                        .split(',')
                        .any(|t| t.trim() == "chat")
                    {
                        res.headers_mut()
                            .insert("sec-websocket-protocol", "chat".parse().unwrap());
                    }
                }
                Ok(res)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                return;
            };
            seen.accepted.fetch_add(1, Ordering::SeqCst);
            while let Some(Ok(message)) = ws.next().await {
                let reply = match (behaviour, message) {
                    (Behaviour::Echo(tag), Message::Text(t)) => {
                        Message::text(format!("{tag}{}", t.as_str()))
                    }
                    (Behaviour::Echo(_), Message::Binary(b)) => Message::Binary(b),
                    (Behaviour::CloseAfterFirst, Message::Text(_)) => {
                        let _ = ws.close(None).await;
                        break;
                    }
                    _ => continue,
                };
                if ws.send(reply).await.is_err() {
                    break;
                }
            }
            drop(ws);
            if let Some(ended) = &seen.ended {
                let _ = ended.send("backend saw the end");
            }
        }
    })
    .await
}

/// A plain HTTP backend that refuses every handshake with `403` and a body.
async fn refusing_backend() -> SocketAddr {
    common::listen(|stream, _| async move {
        let svc = hyper::service::service_fn(|_req: Request<Incoming>| async {
            let mut r = Response::new(Full::new(Bytes::from_static(b"go away")));
            *r.status_mut() = StatusCode::FORBIDDEN;
            Ok::<_, Infallible>(r)
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), svc)
            .await;
    })
    .await
}

// ----- the gateway ----------------------------------------------------------------------------

type Route = Router<Incoming, ResponseBody, Infallible>;

/// Serves `router` behind the full stack (Metrics > AccessLog > CORS > OriginGuard > Router),
/// with upgrades, the client address in the request extensions. Log lines go to `lines`.
async fn gateway(router: Route, format: &str) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Sink::from_fn(move |line| {
        let _ = tx.send(line.to_owned());
    });
    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(Registry::new().layer())
        .layer(AccessLogLayer::new(sink).format(LogFormat::template(format).unwrap()))
        .layer(cors)
        .layer(guard)
        .service(router);
    (serve(stack).await, rx)
}

/// Serves `stack` on 127.0.0.1 over HTTP/1.1 with upgrades, the client address in the request
/// extensions.
async fn serve<S, B>(stack: S) -> SocketAddr
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    common::listen(move |stream, peer| {
        let stack = stack.clone();
        async move {
            let with_peer = tower::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                stack.clone().oneshot(req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(with_peer))
                .with_upgrades()
                .await;
        }
    })
    .await
}

fn ws_route(upstream: WebSocketUpstream) -> Route {
    Router::builder()
        .named_websocket("chat", "/ws", upstream)
        .build()
        .unwrap()
}

async fn echo_gateway(format: &str) -> (SocketAddr, mpsc::UnboundedReceiver<String>, Seen) {
    let seen = Seen::default();
    let b = backend(Behaviour::Echo(""), seen.clone()).await;
    let upstream = WebSocketUpstream::new(&format!("ws://{b}")).unwrap();
    let (addr, log) = gateway(ws_route(upstream), format).await;
    (addr, log, seen)
}

type Client = tokio_tungstenite::WebSocketStream<TcpStream>;
type ClientResponse = tokio_tungstenite::tungstenite::handshake::client::Response;

async fn connect(
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<(Client, ClientResponse), WsError> {
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let stream = TcpStream::connect(addr).await.unwrap();
    bounded(
        "handshake",
        tokio_tungstenite::client_async(request, stream),
    )
    .await
}

async fn refused_status(result: Result<(Client, ClientResponse), WsError>) -> (StatusCode, String) {
    match result {
        Err(WsError::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (
                response.status(),
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("the handshake succeeded"),
    }
}

async fn next_text(ws: &mut Client) -> String {
    match bounded("a message", ws.next()).await {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn next_line(log: &mut mpsc::UnboundedReceiver<String>) -> String {
    bounded("a log line", log.recv())
        .await
        .expect("log channel open")
}

// ----- tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn echo_through_the_full_stack() {
    let (addr, _log, seen) = echo_gateway("$context.status").await;
    let (mut ws, response) = connect(addr, None).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    for text in ["hello", "world", "ünïcödé"] {
        ws.send(Message::text(text)).await.unwrap();
        assert_eq!(next_text(&mut ws).await, text);
    }
    ws.close(None).await.unwrap();
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cross_site_handshake_is_refused_and_the_backend_never_upgraded() {
    let (addr, mut log, seen) = echo_gateway("$context.status $context.responseFlags").await;
    let (status, _) = refused_status(connect(addr, Some("https://evil.example")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(next_line(&mut log).await, "403 OG");
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 0);
    assert!(
        seen.headers.lock().unwrap().is_empty(),
        "the backend was contacted"
    );
}

#[tokio::test]
async fn trusted_and_same_origin_handshakes_are_accepted() {
    let (addr, _log, seen) = echo_gateway("$context.status").await;
    let same = format!("http://{addr}");
    for origin in ["https://app.example.com", same.as_str()] {
        let (mut ws, response) = connect(addr, Some(origin)).await.unwrap();
        assert!(response
            .headers()
            .get("access-control-allow-origin")
            .is_none());
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(next_text(&mut ws).await, "hi");
        ws.close(None).await.unwrap();
    }
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn plain_get_to_a_websocket_route_is_426() {
    let (addr, mut log, seen) =
        echo_gateway("$context.routeKey $context.status $context.error.message").await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    bounded("the answer", stream.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nupgrade: websocket\r\n"), "{answer}");
    assert!(lower.contains("\r\nconnection: upgrade"), "{answer}");
    assert_eq!(
        next_line(&mut log).await,
        "GET /ws 426 websocket upgrade required"
    );
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_backend_refusing_the_handshake_has_its_answer_passed() {
    let b = refusing_backend().await;
    let upstream = WebSocketUpstream::new(&format!("http://{b}")).unwrap();
    let (addr, mut log) = gateway(ws_route(upstream), "$context.status").await;
    let (status, body) = refused_status(connect(addr, None).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, "go away");
    assert_eq!(next_line(&mut log).await, "403");
}

#[tokio::test]
async fn a_backend_down_gives_502() {
    let (_refusing, closed) = common::refusing_addr();
    let port = closed.port();
    let upstream = WebSocketUpstream::builder(&format!("ws://127.0.0.1:{port}"))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (addr, mut log) = gateway(ws_route(upstream), "$context.status").await;
    let (status, body) = refused_status(connect(addr, None).await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.contains("upstream"), "{body}");
    assert_eq!(next_line(&mut log).await, "502");
}

#[tokio::test]
async fn the_client_closing_first_closes_the_backend() {
    let (ended_tx, mut ended) = mpsc::unbounded_channel();
    let seen = Seen {
        ended: Some(ended_tx),
        ..Seen::default()
    };
    let b = backend(Behaviour::Echo(""), seen.clone()).await;
    let upstream = WebSocketUpstream::new(&format!("ws://{b}")).unwrap();
    let format = "$context.status $context.tunnel.abnormal";
    let (addr, mut log) = gateway(ws_route(upstream), format).await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    ws.send(Message::text("x")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "x");
    // The client goes away without a closing handshake: the TCP connection just ends.
    drop(ws);
    assert_eq!(
        bounded("backend end", ended.recv()).await,
        Some("backend saw the end")
    );
    assert_eq!(next_line(&mut log).await, "101 false");
}

#[tokio::test]
async fn the_backend_closing_first_closes_the_client() {
    let b = backend(Behaviour::CloseAfterFirst, Seen::default()).await;
    let upstream = WebSocketUpstream::new(&format!("ws://{b}")).unwrap();
    let format = "$context.status $context.tunnel.abnormal";
    let (addr, mut log) = gateway(ws_route(upstream), format).await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    ws.send(Message::text("bye?")).await.unwrap();
    match bounded("close frame", ws.next()).await {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected the backend's close frame, got {other:?}"),
    }
    // Then the stream ends: the gateway closed the client's connection.
    loop {
        match bounded("end of stream", ws.next()).await {
            None | Some(Err(_)) => break,
            Some(Ok(_)) => {}
        }
    }
    assert_eq!(next_line(&mut log).await, "101 false");
}

#[tokio::test]
async fn an_idle_tunnel_is_closed() {
    let (ended_tx, mut ended) = mpsc::unbounded_channel();
    let seen = Seen {
        ended: Some(ended_tx),
        ..Seen::default()
    };
    let b = backend(Behaviour::Echo(""), seen).await;
    let upstream = WebSocketUpstream::builder(&format!("ws://{b}"))
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let format =
        "$context.status $context.tunnel.abnormal $context.responseFlags $context.error.message";
    let (addr, mut log) = gateway(ws_route(upstream), format).await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    ws.send(Message::text("once")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "once");
    // Nothing more is sent: the gateway closes both sides.
    if let Some(Ok(other)) = bounded("end of stream", ws.next()).await {
        panic!("unexpected {other:?}");
    }
    assert_eq!(
        bounded("backend end", ended.recv()).await,
        Some("backend saw the end")
    );
    assert_eq!(next_line(&mut log).await, "101 true SI idle timeout");
}

#[tokio::test]
async fn a_huge_idle_timeout_never_fires_and_never_panics() {
    let b = backend(Behaviour::Echo(""), Seen::default()).await;
    let upstream = WebSocketUpstream::builder(&format!("ws://{b}"))
        .idle_timeout(Duration::MAX)
        .build()
        .unwrap();
    let (addr, mut log) = gateway(
        ws_route(upstream),
        "$context.status $context.tunnel.abnormal",
    )
    .await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    for text in ["one", "two"] {
        ws.send(Message::text(text)).await.unwrap();
        assert_eq!(next_text(&mut ws).await, text);
    }
    ws.close(None).await.unwrap();
    assert_eq!(next_line(&mut log).await, "101 false");
}

#[tokio::test]
async fn the_canary_arm_is_fixed_for_the_connection() {
    let stable = backend(Behaviour::Echo("stable:"), Seen::default()).await;
    let canary = backend(Behaviour::Echo("canary:"), Seen::default()).await;
    let split = CanaryLayer::builder()
        .canary(
            WebSocketUpstream::new(&format!("ws://{canary}")).unwrap(),
            50.0,
        )
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(WebSocketUpstream::new(&format!("ws://{stable}")).unwrap());
    let router: Route = Router::builder().websocket("/ws", split).build().unwrap();
    let (addr, mut log) = gateway(router, "$context.status $context.canaryArm").await;
    let mut arms = Vec::new();
    for _ in 0..4 {
        let (mut ws, _) = connect(addr, None).await.unwrap();
        let mut replies = Vec::new();
        for i in 0..5 {
            ws.send(Message::text(i.to_string())).await.unwrap();
            replies.push(next_text(&mut ws).await);
        }
        let arm = replies[0].split(':').next().unwrap().to_owned();
        let expected: Vec<String> = (0..5).map(|i| format!("{arm}:{i}")).collect();
        assert_eq!(replies, expected, "one arm for the whole connection");
        ws.close(None).await.unwrap();
        assert_eq!(next_line(&mut log).await, format!("101 {arm}"));
        arms.push(arm);
    }
    arms.sort();
    assert_eq!(arms, ["canary", "canary", "stable", "stable"]);
}

#[tokio::test]
async fn the_access_log_writes_one_record_at_close_with_byte_counts() {
    let format = "$context.identity.sourceIp $context.routeKey $context.routeName $context.status \
        $context.tunnel.bytesIn $context.tunnel.bytesOut $context.tunnel.abnormal $context.responseFlags";
    let (addr, mut log, _seen) = echo_gateway(format).await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "hello");
    assert!(
        log.try_recv().is_err(),
        "no record while the connection is open"
    );
    ws.close(None).await.unwrap();
    while bounded("close", ws.next()).await.is_some() {}
    // Client → backend: "hello" (2 + 4 mask + 5) and a close frame (2 + 4);
    // backend → client: "hello" (2 + 5) and its close frame (2).
    assert_eq!(
        next_line(&mut log).await,
        "127.0.0.1 GET /ws chat 101 17 9 false -"
    );
    assert!(log.try_recv().is_err(), "exactly one record");
}

#[tokio::test]
async fn a_10_mib_message_passes_unchanged() {
    let (addr, _log, _seen) = echo_gateway("$context.status").await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let payload: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    ws.send(Message::binary(payload.clone())).await.unwrap();
    match bounded("the echo", ws.next()).await {
        Some(Ok(Message::Binary(back))) => assert!(back[..] == payload[..], "payload changed"),
        other => panic!(
            "expected the binary echo, got {:?}",
            other.map(|m| m.map(|m| m.len()))
        ),
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn the_handshake_is_forwarded_with_forwarded_headers_and_subprotocols() {
    let seen = Seen::default();
    let b = backend(Behaviour::Echo(""), seen.clone()).await;
    let upstream = WebSocketUpstream::builder(&format!("ws://{b}/backend"))
        .strip_prefix("/ws")
        .build()
        .unwrap();
    let router: Route = Router::builder()
        .websocket("/ws/{room}", upstream)
        .build()
        .unwrap();
    let (addr, _log) = gateway(router, "$context.status").await;
    let mut request = format!("ws://{addr}/ws/lobby?x=1")
        .into_client_request()
        .unwrap();
    let h = request.headers_mut();
    h.insert("sec-websocket-protocol", "superchat, chat".parse().unwrap());
    h.insert("proxy-authorization", "secret".parse().unwrap());
    h.insert("cookie", "session=1".parse().unwrap());
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = bounded(
        "handshake",
        tokio_tungstenite::client_async(request, stream),
    )
    .await
    .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "hi");
    ws.close(None).await.unwrap();

    let recorded = seen.headers.lock().unwrap().clone();
    let (uri, headers) = &recorded[0];
    assert_eq!(uri, "/backend/lobby?x=1");
    assert_eq!(headers["host"], b.to_string());
    assert_eq!(headers["upgrade"], "websocket");
    assert_eq!(headers["connection"], "Upgrade");
    assert_eq!(headers["sec-websocket-version"], "13");
    assert!(headers.contains_key("sec-websocket-key"));
    assert_eq!(headers["sec-websocket-protocol"], "superchat, chat");
    assert_eq!(headers["cookie"], "session=1");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-host"], addr.to_string());
    assert!(headers["forwarded"]
        .to_str()
        .unwrap()
        .starts_with("for=127.0.0.1;proto=http"));
    assert!(!headers.contains_key("proxy-authorization"));
}

#[tokio::test]
async fn requests_that_cannot_be_proxied_are_answered_in_process() {
    let upstream = WebSocketUpstream::new("http://127.0.0.1:9").unwrap();
    // Not a handshake: 426.
    let response = upstream
        .clone()
        .oneshot(common::request("GET", "/ws"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["upgrade"], "websocket");
    // A well-formed handshake the server cannot upgrade (no upgrade handle): 500, backend not
    // contacted. (A malformed one is the client's error first: 400/426, see websocket_spec.)
    let handshake = Request::get("/ws")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = upstream.clone().oneshot(handshake).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(common::body_text(response.into_body())
        .await
        .contains("upgrade"));
    // A path that would climb out of the base path: 400 with the upstream's Failure.
    let escape = Request::get("/ws/../admin")
        .header("upgrade", "websocket")
        .body(Full::<Bytes>::default())
        .unwrap();
    let response = upstream.oneshot(escape).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::BadRequest);
}

#[test]
fn configuration_errors_are_all_reported() {
    let error = WebSocketUpstream::builder("ftp://nowhere")
        .idle_timeout(Duration::ZERO)
        .connect_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(error.problems().len() >= 3, "{error}");
    assert!(error
        .problems()
        .iter()
        .all(|p| p.kind() != ProblemKind::Duplicate));
    assert!(WebSocketUpstream::new("ws://127.0.0.1:8080/chat").is_ok());
    fn assert_bounds<T: Clone + Send + Sync + 'static>() {}
    assert_bounds::<WebSocketUpstream>();
}

#[tokio::test]
async fn the_stack_composes_under_axum() {
    // `.layer(..)` on an axum Router compiles: the bounds are right for a WebSocket route too.
    let upstream = WebSocketUpstream::new("ws://127.0.0.1:9").unwrap();
    let router: Router<axum::body::Body, ResponseBody, Infallible> = Router::builder()
        .websocket("/ws", upstream)
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .fallback_service(router.map_response(axum::response::IntoResponse::into_response));
    let response = app
        .oneshot(Request::get("/ws").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
}

#[tokio::test]
async fn copy_tunnel_reports_a_broken_side_as_abnormal() {
    use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
    use tower_gateway::upstream::copy_tunnel;
    let (mut client, client_side) = tokio::io::duplex(1024);
    let (backend_side, backend) = tokio::io::duplex(1024);
    client.write_all(b"for nobody").await.unwrap();
    drop(backend); // the backend is gone: writing to it fails
    let tunnel = Tunnel::new();
    let outcome = bounded(
        "copy",
        copy_tunnel(client_side, backend_side, &tunnel, None),
    )
    .await;
    assert_eq!(outcome, TunnelOutcome::Abnormal("broken pipe"));
    assert!(outcome.is_abnormal());
    // The client's side was dropped by the copy: the client sees the end.
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn copy_tunnel_passes_the_backend_end_to_the_client() {
    use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
    use tower_gateway::upstream::copy_tunnel;
    let (mut client, client_side) = tokio::io::duplex(1024);
    let (backend_side, mut backend) = tokio::io::duplex(1024);
    let tunnel = Tunnel::new();
    let copy = tokio::spawn({
        let tunnel = tunnel.clone();
        async move { copy_tunnel(client_side, backend_side, &tunnel, None).await }
    });
    backend.write_all(b"last words").await.unwrap();
    drop(backend);
    let mut got = Vec::new();
    bounded("client end", client.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(got, b"last words");
    assert_eq!(bounded("copy", copy).await.unwrap(), TunnelOutcome::Normal);
    assert_eq!((tunnel.bytes_in(), tunnel.bytes_out()), (0, 10));
}

// ----- the same, built by Gateway::from_config -----------------------------------------------

#[tokio::test]
async fn a_websocket_route_from_the_gateway_config_proxies_logs_and_refuses() {
    use tower_gateway::gateway::{GatewayConfig, Services};

    let seen = Seen::default();
    let b = backend(Behaviour::Echo("v2:"), seen.clone()).await;
    let text = format!(
        r#"
        [[routes]]
        name = "chat"
        path = "/ws"
        websocket = true
        upstream = "ws://{b}"
        idle_timeout = "30s"

        [cors]
        allow_origins = ["https://app.example.com"]

        [access_log]
        format = "$context.status $context.routeName $context.tunnel.bytesIn"
        sink = "code"
        "#
    );
    let config: GatewayConfig = toml::from_str(&text).unwrap();
    let (tx, mut log) = mpsc::unbounded_channel();
    let sink = Sink::from_fn(move |line| {
        let _ = tx.send(line.to_owned());
    });
    let gateway =
        tower_gateway::Gateway::from_config(config, Services::new().access_log_sink(sink)).unwrap();
    let addr = serve(gateway).await;

    let (mut ws, _) = connect(addr, Some("https://app.example.com"))
        .await
        .unwrap();
    ws.send(Message::text("hi")).await.unwrap();
    assert_eq!(next_text(&mut ws).await, "v2:hi");
    ws.close(None).await.unwrap();
    drop(ws);
    let line = next_line(&mut log).await;
    assert!(line.starts_with("101 chat "), "{line}");

    let (status, _) = refused_status(connect(addr, Some("https://evil.example")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /ws HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    bounded("426", plain.read_to_string(&mut raw))
        .await
        .unwrap();
    assert!(raw.starts_with("HTTP/1.1 426"), "{raw}");
    assert_eq!(seen.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn websocket_route_problems_are_reported_with_their_route() {
    use tower_gateway::gateway::{GatewayConfig, Services};

    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/ws"
        websocket = true
        methods = ["POST"]
        upstream = "ws://127.0.0.1:9"

        [[routes]]
        path = "/ws2"
        websocket = true
        upstream = "ws://127.0.0.1:9"
        timeout = "5s"
        idle_timeout = "never"
        "#,
    )
    .unwrap();
    let error =
        tower_gateway::Gateway::from_config(config, Services::<Incoming>::new()).unwrap_err();
    let places: Vec<_> = error
        .problems()
        .iter()
        .filter_map(|p| p.location())
        .collect();
    for expected in [
        "routes[0].websocket",
        "routes[1].timeout",
        "routes[1].idle_timeout",
    ] {
        assert!(places.contains(&expected), "{expected} not in {places:?}");
    }
}

// ---- edge cases (audit, session 6): audit_f.rs

// ----- WebSocket handshakes the upstream must refuse ---------------------------------------------

/// A backend that only counts the connections it is offered.
async fn counting_backend() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let addr = common::listen(move |_stream, _| {
        seen.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .await;
    (addr, count)
}

/// Serves `upstream` on 127.0.0.1 with upgrades, sends `head` raw, returns the answer's head.
async fn raw_exchange(upstream: WebSocketUpstream, head: &str) -> String {
    let addr = common::listen(move |stream, _| {
        let svc = upstream.clone();
        async move {
            let svc = tower::service_fn(move |req: Request<Incoming>| svc.clone().oneshot(req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                .with_upgrades()
                .await;
        }
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

fn handshake(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\nconnection: Upgrade\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_handshake_without_a_valid_key_is_400_and_the_backend_is_not_contacted() {
    let (backend, offered) = counting_backend().await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let without_connection = "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = raw_exchange(upstream.clone(), without_connection).await;
    assert!(answer.starts_with("http/1.1 400"), "{answer}");
    for extra in [
        "sec-websocket-version: 13\r\n",
        "sec-websocket-version: 13\r\nsec-websocket-key: short\r\n",
        "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ] {
        let answer = raw_exchange(upstream.clone(), &handshake(extra)).await;
        assert!(answer.starts_with("http/1.1 400"), "{extra:?}: {answer}");
    }
    assert_eq!(offered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unsupported_version_is_426_naming_version_13() {
    let (backend, offered) = counting_backend().await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    for version in ["sec-websocket-version: 8\r\n", ""] {
        let extra = format!("sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n{version}");
        let answer = raw_exchange(upstream.clone(), &handshake(&extra)).await;
        assert!(answer.starts_with("http/1.1 426"), "{version:?}: {answer}");
        assert!(
            answer.contains("\r\nsec-websocket-version: 13\r\n"),
            "{answer}"
        );
    }
    assert_eq!(offered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_valid_handshake_with_a_connection_list_is_proxied_and_its_101_passed_intact() {
    let backend = common::listen(|stream, _| async move {
        if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
            use futures_util::StreamExt;
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let head = "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\n\
                connection: keep-alive, Upgrade\r\nsec-websocket-version: 13\r\n\
                sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = raw_exchange(upstream, head).await;
    assert!(answer.starts_with("http/1.1 101"), "{answer}");
    // RFC 6455 §1.3's example key and its accept value, computed by the backend.
    assert!(
        answer.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nupgrade: websocket\r\n"), "{answer}");
}

// ---- fourth pass (audit, session 6): scheme case, wss, extensions, a backend's 426

/// A backend that reads one request head, hands it over, and answers `answer` raw.
async fn raw_backend(answer: &'static str) -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let addr = common::listen(move |mut stream, _| {
        let tx = tx.clone();
        async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&head).to_ascii_lowercase());
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    (addr, rx)
}

#[tokio::test]
async fn a_ws_url_scheme_is_case_insensitive() {
    // RFC 3986 §3.1: schemes are case-insensitive; `WS://` is `ws://`.
    let upstream = WebSocketUpstream::new("WS://127.0.0.1:9/chat").unwrap();
    let _ = upstream;
    assert!(WebSocketUpstream::new("Ws://127.0.0.1:9").is_ok());
}

#[test]
fn a_wss_upstream_is_refused_naming_tls() {
    let error = WebSocketUpstream::new("wss://chat.example.com/socket").unwrap_err();
    let text = error.to_string();
    assert!(text.contains("wss://chat.example.com/socket"), "{text}");
    assert!(text.contains("TLS"), "{text}");
}

#[tokio::test]
async fn extensions_are_forwarded_and_the_backends_choice_returned() {
    let (backend, mut heads) = raw_backend(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
         sec-websocket-protocol: chat\r\n\
         sec-websocket-extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
    )
    .await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let answer = raw_exchange(
        upstream,
        &handshake(
            "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             sec-websocket-protocol: superchat, chat\r\n\
             sec-websocket-extensions: permessage-deflate; client_max_window_bits, x-webkit\r\n",
        ),
    )
    .await;
    assert!(answer.starts_with("http/1.1 101"), "{answer}");
    assert!(
        answer.contains(
            "\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits=10\r\n"
        ),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nsec-websocket-protocol: chat\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{answer}"
    );
    let head = heads.recv().await.unwrap();
    assert!(
        head.contains("\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits, x-webkit\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-protocol: superchat, chat\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-key: dghlihnhbxbszsbub25jzq==\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn a_backends_426_is_passed_with_its_upgrade_header() {
    // RFC 9110 §15.5.22: a 426 MUST carry `Upgrade`; RFC 6455 §4.4: a version refusal names the
    // versions it speaks. The backend's refusal reaches the client whole.
    let (backend, _heads) = raw_backend(
        "HTTP/1.1 426 Upgrade Required\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-version: 13\r\ncontent-length: 4\r\n\r\nnope",
    )
    .await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let answer = raw_exchange(
        upstream,
        &handshake("sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
    )
    .await;
    assert!(answer.starts_with("http/1.1 426"), "{answer}");
    assert!(answer.contains("\r\nupgrade: websocket\r\n"), "{answer}");
    assert!(
        answer.contains("\r\nsec-websocket-version: 13\r\n"),
        "{answer}"
    );
}

#[test]
fn a_bad_ws_url_is_reported_with_the_url_as_written() {
    for url in [
        "ws://chat.example.com/room#top",
        "ws://chat.example.com/room?x=1",
        "ws://",
    ] {
        let error = WebSocketUpstream::new(url).unwrap_err();
        for problem in error.problems() {
            assert_eq!(problem.value(), url, "{error}");
            assert!(!problem.reason().contains("http://chat"), "{error}");
        }
    }
}

#[tokio::test]
async fn fragmented_and_binary_messages_and_a_close_code_pass_both_ways() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
    let (addr, mut log, _seen) = echo_gateway("$context.status $context.tunnel.abnormal").await;
    let (mut ws, _) = connect(addr, None).await.unwrap();
    // One text message in three frames: the backend sees (and echoes) it whole.
    for frame in [
        Frame::message("frag", OpCode::Data(Data::Text), false),
        Frame::message("men", OpCode::Data(Data::Continue), false),
        Frame::message("ted", OpCode::Data(Data::Continue), true),
    ] {
        ws.send(Message::Frame(frame)).await.unwrap();
    }
    assert_eq!(next_text(&mut ws).await, "fragmented");
    let binary: Vec<u8> = (0..=255u8).chain([0, 0xff, 0x80]).collect();
    ws.send(Message::binary(binary.clone())).await.unwrap();
    match bounded("binary echo", ws.next()).await {
        Some(Ok(Message::Binary(back))) => assert_eq!(back[..], binary[..]),
        other => panic!("expected a binary message, got {other:?}"),
    }
    // The client closes with a code and a reason; the backend's echoed close comes back.
    ws.close(Some(CloseFrame {
        code: CloseCode::Library(4001),
        reason: "bye now".into(),
    }))
    .await
    .unwrap();
    match bounded("the close answer", ws.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Library(4001));
            assert_eq!(frame.reason.as_str(), "bye now");
        }
        other => panic!("expected the backend's close frame, got {other:?}"),
    }
    assert_eq!(next_line(&mut log).await, "101 false");
}

#[tokio::test]
async fn a_silent_backend_is_504_after_the_connect_timeout() {
    // Accepts the TCP connection, never answers the handshake.
    let silent = common::listen(|stream, _| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(stream);
    })
    .await;
    let upstream = WebSocketUpstream::builder(&format!("ws://{silent}"))
        .connect_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let (addr, mut log) = gateway(ws_route(upstream), "$context.status").await;
    let started = std::time::Instant::now();
    let (status, _) = refused_status(connect(addr, None).await).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(next_line(&mut log).await, "504");
}

#[test]
fn websocket_upstream_urls_in_a_config_are_located_as_written() {
    use tower_gateway::gateway::{GatewayConfig, Services};

    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/a"
        websocket = true
        upstream = "WS://127.0.0.1:9/chat"

        [[routes]]
        path = "/b"
        websocket = true
        upstream = "wss://chat.example.com"

        [[routes]]
        path = "/c"
        websocket = true
        upstream = "ws://127.0.0.1:9/x#frag"
        idle_timeout = "0s"
        connect_timeout = "0s"

        [[routes]]
        path = "/d"
        upstream = "ws://127.0.0.1:9"
        "#,
    )
    .unwrap();
    let error =
        tower_gateway::Gateway::from_config(config, Services::<Incoming>::new()).unwrap_err();
    let found: Vec<(Option<&str>, &str)> = error
        .problems()
        .iter()
        .map(|p| (p.location(), p.value()))
        .collect();
    assert!(
        !found
            .iter()
            .any(|(l, _)| l.is_some_and(|l| l.starts_with("routes[0]"))),
        "{error}"
    );
    for expected in [
        (Some("routes[1].upstream"), "wss://chat.example.com"),
        (Some("routes[2].upstream"), "ws://127.0.0.1:9/x#frag"),
        (Some("routes[3].upstream"), "ws://127.0.0.1:9"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    let text = error.to_string();
    assert!(text.contains("TLS"), "{text}");
    assert!(text.contains("idle"), "{text}");
    assert!(text.contains("connect"), "{text}");
}
