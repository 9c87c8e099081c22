//! The cases written from the issue text (issue 10: WebSocket routes end to end), as an
//! independent tester would: every layer lets a handshake through, the Router's WebSocket-only
//! routes, the WebSocket upstream (RFC 6455 handshake checks, the backend's `101` and
//! `Sec-WebSocket-Accept`, refusals, `502`), canary per connection, one access-log record at
//! close, and `GatewayConfig` WebSocket routes.

#![cfg(all(feature = "gateway", feature = "upstream"))]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{bounded, respond};
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as WsRequest, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, Sink};
use tower_gateway::canary::{Arm, CanaryLayer};
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
use tower_gateway::origin::OriginGuardLayer;
use tower_gateway::router::{MatchedRoute, Router};
use tower_gateway::upstream::{Failure, FailureKind, WebSocketUpstream};
use tower_gateway::CorsLayer;

/// The RFC 6455 §1.3 example key and its accept value.
const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Waits until `lines` holds at least `count` records, for `ticks` times 10 ms at the most.
async fn wait_for_lines(lines: &Mutex<Vec<String>>, count: usize, ticks: u32) {
    let mut waited = 0;
    while lines.lock().unwrap().len() < count && waited < ticks {
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
}

// ----- in-process helpers ---------------------------------------------------------------------

/// A target that plays a WebSocket server in-process: `101` with the RFC's accept value, and
/// records whether the request still carried the marker extension.
#[derive(Clone, Debug, PartialEq)]
struct Marker(u32);

fn fake_ws_server(
    calls: Arc<AtomicUsize>,
    saw_marker: Arc<Mutex<Option<Marker>>>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync {
    service_fn(move |req: Request<Full<Bytes>>| {
        let calls = Arc::clone(&calls);
        let saw_marker = Arc::clone(&saw_marker);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            *saw_marker.lock().unwrap() = req.extensions().get::<Marker>().cloned();
            let response = Response::builder()
                .status(StatusCode::SWITCHING_PROTOCOLS)
                .header(header::UPGRADE, "websocket")
                .header(header::CONNECTION, "Upgrade")
                .header(header::SEC_WEBSOCKET_ACCEPT, RFC_ACCEPT)
                .body(Full::default())
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    })
}

fn handshake(uri: &str, origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::get(uri)
        .header(header::HOST, "gw.example.com")
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_KEY, RFC_KEY)
        .header(header::SEC_WEBSOCKET_VERSION, "13");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    let mut request = builder.body(Full::default()).unwrap();
    request.extensions_mut().insert(Marker(7));
    request
}

fn no_cors_headers(headers: &HeaderMap) {
    for (name, _) in headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "CORS decorated a handshake: {name}"
        );
    }
    assert!(headers.get(header::VARY).is_none(), "Vary on a handshake");
}

fn cors_and_guard() -> (CorsLayer, OriginGuardLayer) {
    common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
    )
}

// ----- every layer lets a handshake through ---------------------------------------------------

#[tokio::test]
async fn a_handshake_passes_every_layer_with_extensions_and_101_intact() {
    let calls = Arc::new(AtomicUsize::new(0));
    let marker = Arc::new(Mutex::new(None));
    let target = fake_ws_server(Arc::clone(&calls), Arc::clone(&marker));
    let canary = CanaryLayer::new(
        fake_ws_server(Arc::clone(&calls), Arc::clone(&marker)),
        "50%",
    )
    .unwrap();
    let router = Router::builder()
        .named_websocket("chat", "/chat", tower::Layer::layer(&canary, target))
        .build()
        .unwrap();
    let sink = tower_gateway::access_log::MemorySink::new();
    let (cors, guard) = cors_and_guard();
    let stack = ServiceBuilder::new()
        .layer(tower_gateway::metrics::Registry::new().layer())
        .layer(AccessLogLayer::new(sink.clone()))
        .layer(cors)
        .layer(guard)
        .service(router);

    for origin in [
        None,
        Some("https://app.example.com"),
        Some("http://gw.example.com"),
    ] {
        let response = respond(&stack, handshake("/chat", origin)).await;
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[header::UPGRADE], "websocket");
        assert_eq!(response.headers()[header::CONNECTION], "Upgrade");
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_ACCEPT], RFC_ACCEPT);
        no_cors_headers(response.headers());
        assert_eq!(
            *marker.lock().unwrap(),
            Some(Marker(7)),
            "extension dropped"
        );
        let route = response.extensions().get::<MatchedRoute>().unwrap();
        assert!(route.is_websocket());
        assert_eq!(route.name(), Some("chat"));
        assert!(response.extensions().get::<Arm>().is_some());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_cross_site_handshake_is_refused_403_before_any_upgrade() {
    let calls = Arc::new(AtomicUsize::new(0));
    let target = fake_ws_server(Arc::clone(&calls), Arc::default());
    let router = Router::builder()
        .websocket("/chat", target)
        .build()
        .unwrap();
    let (cors, guard) = cors_and_guard();
    let stack = ServiceBuilder::new()
        .layer(cors)
        .layer(guard)
        .service(router);

    let response = respond(&stack, handshake("/chat", Some("https://evil.example"))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .extensions()
        .get::<tower_gateway::origin::Rejection>()
        .is_some());
    // `Sec-Fetch-Site: cross-site` without `Origin` is refused too.
    let mut sneaky = handshake("/chat", None);
    sneaky
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(
        stack.oneshot(sneaky).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the target was reached");
}

// ----- the Router -------------------------------------------------------------------------------

#[tokio::test]
async fn a_websocket_only_route_answers_a_plain_get_426_and_serves_handshakes() {
    let calls = Arc::new(AtomicUsize::new(0));
    let target = fake_ws_server(Arc::clone(&calls), Arc::default());
    let router = Router::builder().websocket("/ws", target).build().unwrap();

    let response = respond(&router, common::request("GET", "/ws")).await;
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    // RFC 9110 §7.8: a sender of `Upgrade` also sends the `upgrade` connection option.
    assert!(response.headers()[header::CONNECTION]
        .to_str()
        .unwrap()
        .eq_ignore_ascii_case("upgrade"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let response = router.oneshot(handshake("/ws", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_handshake_to_a_plain_route_is_served_as_the_route_decides() {
    let router = Router::builder()
        .route("GET /page", common::ok("a page"))
        .build()
        .unwrap();
    let response = router.oneshot(handshake("/page", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(common::body_text(response.into_body()).await, "a page");
}

// ----- the WebSocket upstream, in-process -------------------------------------------------------

/// A listener that counts connections and never answers.
async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let addr = common::listen(move |stream, _| {
        count.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        }
    })
    .await;
    (addr, accepted)
}

fn with_headers(pairs: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::get("/ws").header(header::HOST, "gw.example.com");
    for (name, value) in pairs {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::default()).unwrap()
}

const UPGRADE: (&str, &str) = ("upgrade", "websocket");
const CONNECTION: (&str, &str) = ("connection", "Upgrade");
const KEY: (&str, &str) = ("sec-websocket-key", RFC_KEY);
const VERSION: (&str, &str) = ("sec-websocket-version", "13");

#[tokio::test]
async fn malformed_handshakes_are_answered_per_rfc_6455_without_the_backend() {
    let (addr, accepted) = counting_listener().await;
    let upstream = WebSocketUpstream::new(&format!("ws://{addr}")).unwrap();
    type Case = (&'static str, Vec<(&'static str, &'static str)>, StatusCode);
    let cases: [Case; 7] = [
        (
            "no key",
            vec![UPGRADE, CONNECTION, VERSION],
            StatusCode::BAD_REQUEST,
        ),
        (
            "short key",
            vec![
                UPGRADE,
                CONNECTION,
                VERSION,
                ("sec-websocket-key", "c2hvcnQ="),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "key not base64",
            vec![
                UPGRADE,
                CONNECTION,
                VERSION,
                ("sec-websocket-key", "this is not base64 at all"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            "two keys",
            vec![UPGRADE, CONNECTION, VERSION, KEY, KEY],
            StatusCode::BAD_REQUEST,
        ),
        (
            "no Upgrade token in Connection",
            vec![UPGRADE, ("connection", "keep-alive"), KEY, VERSION],
            StatusCode::BAD_REQUEST,
        ),
        (
            "version 8",
            vec![UPGRADE, CONNECTION, KEY, ("sec-websocket-version", "8")],
            StatusCode::UPGRADE_REQUIRED,
        ),
        (
            "no version",
            vec![UPGRADE, CONNECTION, KEY],
            StatusCode::UPGRADE_REQUIRED,
        ),
    ];
    for (what, headers, status) in cases {
        let response = respond(&upstream, with_headers(&headers)).await;
        assert_eq!(response.status(), status, "{what}");
        if status == StatusCode::UPGRADE_REQUIRED {
            // RFC 6455 §4.2.2: the versions the server speaks.
            assert_eq!(
                response.headers()[header::SEC_WEBSOCKET_VERSION],
                "13",
                "{what}"
            );
        }
        let body = common::body_text(response.into_body()).await;
        assert!(!body.is_empty(), "{what}: a reason is expected");
    }
    // Not a handshake at all: 426 naming the protocol.
    let response = respond(&upstream, with_headers(&[])).await;
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the backend was contacted"
    );
}

// ----- real sockets ----------------------------------------------------------------------------

/// The headers of the handshake each backend connection received.
type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// A tokio-tungstenite echo backend: each text message comes back prefixed by `name`.
/// Offers the `chat` subprotocol when the client asks for it.
async fn echo_backend(name: &'static str, seen: Seen) -> SocketAddr {
    common::listen(move |stream, _| {
        let seen = Arc::clone(&seen);
        async move {
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let callback = |req: &WsRequest, mut res: WsResponse| {
                seen.lock().unwrap().push(req.headers().clone());
                let wants_chat = req
                    .headers()
                    .get(header::SEC_WEBSOCKET_PROTOCOL)
                    .is_some_and(|v| v.to_str().unwrap_or("").contains("chat"));
                if wants_chat {
                    res.headers_mut()
                        .insert(header::SEC_WEBSOCKET_PROTOCOL, "chat".parse().unwrap());
                }
                Ok::<_, ErrorResponse>(res)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let reply = match message {
                    Message::Text(text) => Message::text(format!("{name}:{}", text.as_str())),
                    Message::Binary(data) => Message::Binary(data),
                    Message::Close(_) => return,
                    _ => continue,
                };
                if ws.send(reply).await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

/// A backend that refuses every handshake with `403` and a body.
async fn refusing_backend() -> SocketAddr {
    common::listen(|stream, _| async move {
        #[allow(clippy::result_large_err)] // tungstenite's callback signature
        let callback = |_: &WsRequest, _: WsResponse| {
            let mut refusal = ErrorResponse::new(Some("go away".to_owned()));
            *refusal.status_mut() = StatusCode::FORBIDDEN;
            Err(refusal)
        };
        let _ = tokio_tungstenite::accept_hdr_async(stream, callback).await;
    })
    .await
}

/// Serves a gateway built from `toml` over HTTP/1.1 with upgrades (peer address in the
/// extensions), the access log going to `lines`.
async fn serve_gateway(toml: &str) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let (addr, lines, _) = serve_gateway_with_handle(toml).await;
    (addr, lines)
}

/// As [`serve_gateway`], with the gateway's handle.
async fn serve_gateway_with_handle(
    toml: &str,
) -> (
    SocketAddr,
    Arc<Mutex<Vec<String>>>,
    tower_gateway::gateway::GatewayHandle<Incoming>,
) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink_lines = Arc::clone(&lines);
    let config: GatewayConfig = toml::from_str(toml).unwrap();
    let services = Services::<Incoming>::new().access_log_sink(Sink::from_fn(move |line| {
        sink_lines.lock().unwrap().push(line.to_owned());
    }));
    let gateway = Gateway::from_config(config, services).unwrap();
    let handle = gateway.handle();
    let addr = common::listen(move |stream, peer| {
        let gateway = gateway.clone();
        async move {
            let with_peer = service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                gateway.clone().oneshot(req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(with_peer))
                .with_upgrades()
                .await;
        }
    })
    .await;
    (addr, lines, handle)
}

fn ws_config(backend: SocketAddr, extra: &str) -> String {
    format!(
        r#"
        [[routes]]
        name = "chat"
        path = "/ws"
        websocket = true
        upstream = "ws://{backend}"
        {extra}

        [cors]
        allow_origins = ["https://app.example.com"]

        [access_log]
        format = "$context.status $context.routeKey $context.tunnel.bytesIn $context.tunnel.bytesOut"
        sink = "code"
        "#
    )
}

/// Sends a raw HTTP/1.1 request and reads until the end of the response head.
async fn raw_exchange(addr: SocketAddr, head: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&got)
        );
        got.push(byte[0]);
    }
    (stream, String::from_utf8(got).unwrap())
}

fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn the_rfc_example_handshake_gets_the_backends_101_and_accept_then_echoes() {
    bounded(async {
        let seen = Seen::default();
        let backend = echo_backend("b", Arc::clone(&seen)).await;
        let (addr, lines) = serve_gateway(&ws_config(backend, "")).await;
        let head = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\
             Origin: https://app.example.com\r\n\r\n"
        );
        let (stream, response) = raw_exchange(addr, &head).await;
        assert!(response.starts_with("HTTP/1.1 101"), "{response}");
        assert_eq!(
            header_of(&response, "sec-websocket-accept"),
            Some(RFC_ACCEPT)
        );
        assert!(header_of(&response, "upgrade")
            .unwrap()
            .eq_ignore_ascii_case("websocket"));
        assert!(header_of(&response, "connection")
            .unwrap()
            .to_ascii_lowercase()
            .contains("upgrade"));
        assert!(header_of(&response, "access-control-allow-origin").is_none());
        // A 101 has no body (RFC 9110 §6.4.1, §8.6): no framing headers.
        assert!(
            header_of(&response, "content-length").is_none(),
            "{response}"
        );
        assert!(
            header_of(&response, "transfer-encoding").is_none(),
            "{response}"
        );

        let mut ws =
            tokio_tungstenite::WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
        ws.send(Message::text("hello")).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed, Message::text("b:hello"));
        // No record before the connection closes.
        assert!(
            lines.lock().unwrap().is_empty(),
            "{:?}",
            lines.lock().unwrap()
        );
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        wait_for_lines(&lines, 1, 200).await;
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let fields: Vec<&str> = lines[0].split(' ').collect();
        assert_eq!(fields[0], "101", "{lines:?}");
        assert_eq!(fields[1], "GET", "{lines:?}");
        assert_eq!(fields[2], "/ws", "{lines:?}");
        let bytes_in: u64 = fields[3].parse().unwrap();
        let bytes_out: u64 = fields[4].parse().unwrap();
        assert!(bytes_in > 5 && bytes_out > 7, "{lines:?}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_backend_gets_the_handshake_with_forwarded_headers_and_no_other_hop_headers() {
    bounded(async {
        let seen = Seen::default();
        let backend = echo_backend("b", Arc::clone(&seen)).await;
        let (addr, _) = serve_gateway(&ws_config(backend, "")).await;
        let head = format!(
            "GET /ws?room=1 HTTP/1.1\r\nHost: gw.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\
             Proxy-Authorization: Basic Zm9vOmJhcg==\r\nTE: trailers\r\n\
             Sec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate\r\n\
             X-Forwarded-For: 203.0.113.9\r\nCookie: a=1\r\n\r\n"
        );
        let (_stream, response) = raw_exchange(addr, &head).await;
        assert!(response.starts_with("HTTP/1.1 101"), "{response}");
        assert_eq!(
            header_of(&response, "sec-websocket-accept"),
            Some(RFC_ACCEPT)
        );
        assert_eq!(header_of(&response, "sec-websocket-protocol"), Some("chat"));

        let headers = seen.lock().unwrap()[0].clone();
        let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(get("sec-websocket-key").as_deref(), Some(RFC_KEY));
        assert_eq!(get("sec-websocket-version").as_deref(), Some("13"));
        assert_eq!(
            get("sec-websocket-protocol").as_deref(),
            Some("chat, superchat")
        );
        assert_eq!(
            get("sec-websocket-extensions").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(get("cookie").as_deref(), Some("a=1"));
        assert!(get("upgrade").unwrap().eq_ignore_ascii_case("websocket"));
        assert!(get("connection").unwrap().eq_ignore_ascii_case("upgrade"));
        assert_eq!(
            get("x-forwarded-for").as_deref(),
            Some("203.0.113.9, 127.0.0.1")
        );
        assert_eq!(get("x-forwarded-proto").as_deref(), Some("http"));
        assert_eq!(get("x-forwarded-host").as_deref(), Some("gw.example.com"));
        assert_eq!(
            get("forwarded").as_deref(),
            Some("for=127.0.0.1;proto=http;host=gw.example.com")
        );
        for gone in ["x-hop", "keep-alive", "proxy-authorization", "te"] {
            assert!(get(gone).is_none(), "{gone} reached the backend");
        }
    })
    .await;
}

#[tokio::test]
async fn refusals_and_failures_are_http_answers() {
    bounded(async {
        // A backend that refuses: its status and body reach the client.
        let refusing = refusing_backend().await;
        let (addr, _) = serve_gateway(&ws_config(refusing, "")).await;
        let url = format!("ws://{addr}/ws");
        let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
            tokio_tungstenite::connect_async(url.as_str()).await
        else {
            panic!("the handshake should be refused");
        };
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        // The backend's body (close-delimited from tungstenite, so re-framed as chunked by
        // the gateway's HTTP/1.1 server; tungstenite's client shows the raw chunks).
        let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default());
        assert!(body.contains("go away"), "{body:?}");

        // A backend that is down: 502.
        let (_refusing, dead_addr) = common::refusing_addr();
        let (addr, _) = serve_gateway(&ws_config(dead_addr, "")).await;
        let url = format!("ws://{addr}/ws");
        let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
            tokio_tungstenite::connect_async(url.as_str()).await
        else {
            panic!("the handshake should fail");
        };
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY);

        // A plain GET to the WebSocket route: 426 with `Upgrade: websocket`, over the wire.
        let (_s, head) = raw_exchange(
            addr,
            "GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 426"), "{head}");
        assert_eq!(header_of(&head, "upgrade"), Some("websocket"));
    })
    .await;
}

#[tokio::test]
async fn an_idle_timeout_from_the_config_closes_both_sides() {
    bounded(async {
        let seen = Seen::default();
        let backend = echo_backend("b", Arc::clone(&seen)).await;
        let (addr, lines) = serve_gateway(&ws_config(backend, r#"idle_timeout = "200ms""#)).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("b:hi"));
        // Then silence: the gateway closes the connection.
        let started = std::time::Instant::now();
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            }
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        wait_for_lines(&lines, 1, 200).await;
        assert!(lines.lock().unwrap()[0].starts_with("101 "));
    })
    .await;
}

#[tokio::test]
async fn an_idle_timeout_is_flagged_abnormal_in_the_record() {
    bounded(async {
        let backend = echo_backend("b", Seen::default()).await;
        let config = ws_config(backend, r#"idle_timeout = "100ms""#).replace(
            "$context.status $context.routeKey $context.tunnel.bytesIn $context.tunnel.bytesOut",
            "$context.status $context.tunnel.abnormal $context.responseFlags $context.responseLatency",
        );
        let (addr, lines) = serve_gateway(&config).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
        }
        wait_for_lines(&lines, 1, 200).await;
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("101 true SI "), "{lines:?}");
        // The duration is the connection's, not the handshake's.
        let latency: u64 = lines[0].rsplit(' ').next().unwrap().parse().unwrap();
        assert!(latency >= 100, "{lines:?}");
    })
    .await;
}

#[tokio::test]
async fn closing_either_side_closes_the_other() {
    bounded(async {
        // The client closes first: the backend's connection ends.
        let ended = Arc::new(tokio::sync::Notify::new());
        let backend_ended = Arc::clone(&ended);
        let backend = common::listen(move |stream, _| {
            let ended = Arc::clone(&backend_ended);
            async move {
                if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
                    while let Some(Ok(_)) = ws.next().await {}
                }
                ended.notify_one();
            }
        })
        .await;
        let (addr, _) = serve_gateway(&ws_config(backend, "")).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        ws.close(None).await.unwrap();
        drop(ws);
        ended.notified().await;

        // The backend closes first: the client sees the end.
        let backend = common::listen(|stream, _| async move {
            if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
                let _ = ws.send(Message::text("bye")).await;
                let _ = ws.close(None).await;
            }
        })
        .await;
        let (addr, _) = serve_gateway(&ws_config(backend, "")).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("bye"));
        loop {
            match ws.next().await {
                None | Some(Err(_)) => break,
                Some(Ok(m)) => assert!(m.is_close(), "{m:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_10_mib_message_passes_through_a_config_route_unchanged() {
    bounded(async {
        let backend = echo_backend("b", Seen::default()).await;
        let (addr, lines) = serve_gateway(&ws_config(backend, "")).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let payload: Vec<u8> = (0..10 * 1024 * 1024u32)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        ws.send(Message::binary(payload.clone())).await.unwrap();
        let Message::Binary(back) = ws.next().await.unwrap().unwrap() else {
            panic!("binary expected");
        };
        assert!(back[..] == payload[..], "the message changed");
        ws.close(None).await.unwrap();
        while ws.next().await.is_some() {}
        wait_for_lines(&lines, 1, 300).await;
        let line = lines.lock().unwrap()[0].clone();
        let fields: Vec<u64> = line
            .split(' ')
            .skip(3)
            .map(|f| f.parse().unwrap())
            .collect();
        assert!(fields.iter().all(|n| *n > 10 * 1024 * 1024), "{line}");
    })
    .await;
}

#[tokio::test]
async fn a_websocket_canary_picks_its_arm_once_per_connection() {
    bounded(async {
        let stable = echo_backend("stable", Seen::default()).await;
        let canary = echo_backend("canary", Seen::default()).await;
        let extra = format!(
            r#"canary = {{ upstream = "ws://{canary}", weight = 50, mode = "round-robin" }}"#
        );
        let config = ws_config(stable, &extra).replace(
            "$context.status $context.routeKey $context.tunnel.bytesIn $context.tunnel.bytesOut",
            "$context.status $context.canaryArm",
        );
        let (addr, lines) = serve_gateway(&config).await;
        let mut arms = Vec::new();
        for _ in 0..4 {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
                .await
                .unwrap();
            let mut names = Vec::new();
            for i in 0..5 {
                ws.send(Message::text(format!("{i}"))).await.unwrap();
                let Message::Text(text) = ws.next().await.unwrap().unwrap() else {
                    panic!("text expected");
                };
                names.push(text.as_str().split(':').next().unwrap().to_owned());
            }
            names.dedup();
            assert_eq!(names.len(), 1, "the arm changed mid-connection: {names:?}");
            arms.push(names.remove(0));
            ws.close(None).await.unwrap();
        }
        // One record per connection, at its close, naming its arm.
        wait_for_lines(&lines, 4, 300).await;
        let mut logged = lines.lock().unwrap().clone();
        logged.sort();
        assert_eq!(
            logged,
            ["101 canary", "101 canary", "101 stable", "101 stable"]
        );
        arms.sort();
        assert_eq!(arms, ["canary", "canary", "stable", "stable"]);
    })
    .await;
}

#[tokio::test]
async fn a_websocket_route_target_may_be_a_registered_service() {
    // `websocket = true` with `service = ...`: plain GET 426, handshake reaches the service.
    let calls = Arc::new(AtomicUsize::new(0));
    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/live"
        websocket = true
        service = "live"
        "#,
    )
    .unwrap();
    let marker = Arc::new(Mutex::new(None));
    let services = Services::new().service(
        "live",
        fake_ws_server(Arc::clone(&calls), Arc::clone(&marker)),
    );
    let gateway = Gateway::from_config(config, services).unwrap();
    let response = respond(&gateway, common::request("GET", "/live")).await;
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    let response = gateway.oneshot(handshake("/live", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()[header::SEC_WEBSOCKET_ACCEPT], RFC_ACCEPT);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    assert_eq!(response.headers()[header::CONNECTION], "Upgrade");
    no_cors_headers(response.headers());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *marker.lock().unwrap(),
        Some(Marker(7)),
        "extension dropped"
    );
}

#[tokio::test]
async fn an_unreachable_backend_in_process_is_a_failure_answer() {
    // Through hyper (upgrades kept) to a closed port: 502 with a `Failure` of kind `Connect`.
    let (_refusing, dead_addr) = common::refusing_addr();
    let upstream = WebSocketUpstream::new(&format!("ws://{dead_addr}")).unwrap();
    let failure = Arc::new(Mutex::new(None));
    let record = Arc::clone(&failure);
    let addr = common::listen(move |stream, _| {
        let upstream = upstream.clone();
        let record = Arc::clone(&record);
        async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let upstream = upstream.clone();
                let record = Arc::clone(&record);
                async move {
                    let response = upstream.oneshot(req).await?;
                    *record.lock().unwrap() =
                        response.extensions().get::<Failure>().map(Failure::kind);
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                .with_upgrades()
                .await;
        }
    })
    .await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
        bounded(tokio_tungstenite::connect_async(format!("ws://{addr}/"))).await
    else {
        panic!("the handshake should fail");
    };
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(*failure.lock().unwrap(), Some(FailureKind::Connect));
}

#[test]
fn websocket_upstream_log_format_is_accepted_by_the_access_log() {
    // The README names these variables.
    let format =
        LogFormat::template("$context.status $context.tunnel.bytesIn $context.tunnel.bytesOut");
    assert!(format.is_ok());
}

#[tokio::test]
async fn an_open_connection_outlives_a_reload_that_removes_its_route() {
    bounded(async {
        let backend = echo_backend("b", Seen::default()).await;
        let (addr, _, handle) = serve_gateway_with_handle(&ws_config(backend, "")).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .unwrap();
        ws.send(Message::text("1")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("b:1"));
        handle.reload(GatewayConfig::new()).unwrap();
        // New handshakes see the new table...
        let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await;
        let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
            panic!("the route should be gone");
        };
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        // ...while the open connection keeps going.
        ws.send(Message::text("2")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("b:2"));
    })
    .await;
}

#[tokio::test]
async fn a_backend_that_never_answers_the_handshake_is_504() {
    bounded(async {
        let (silent, accepted) = counting_listener().await;
        let (addr, _) = serve_gateway(&ws_config(silent, r#"connect_timeout = "100ms""#)).await;
        let started = std::time::Instant::now();
        let Err(tokio_tungstenite::tungstenite::Error::Http(response)) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await
        else {
            panic!("the handshake should time out");
        };
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    })
    .await;
}
