//! In-process pass-through of a WebSocket handshake through every layer: request extensions
//! (where hyper keeps the upgrade handle) reach the inner service, and its `101` comes back
//! with `Upgrade`, `Connection`, `Sec-WebSocket-Accept` and its extensions intact.

#![cfg(all(
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log",
    feature = "metrics"
))]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONNECTION, UPGRADE, VARY};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
use tower_gateway::canary::{Arm, CanaryLayer};
use tower_gateway::metrics::Registry;
use tower_gateway::router::{MatchedRoute, Router};
use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
use tower_gateway::{CorsLayer, OriginGuardLayer};

/// What a server puts in the request extensions (hyper's `OnUpgrade` stands in here).
#[derive(Clone, Debug, PartialEq)]
struct UpgradeHandle(u32);

const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Answers `101` when the upgrade handle reached it; counts calls.
#[derive(Clone, Default)]
struct Switch {
    calls: Arc<AtomicUsize>,
    tunnel: Tunnel,
}

impl Switch {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<B: Send + 'static> Service<Request<B>> for Switch {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut response = Response::new(Full::default());
        if req.extensions().get::<UpgradeHandle>() == Some(&UpgradeHandle(7)) {
            *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = response.headers_mut();
            h.insert(UPGRADE, "websocket".parse().unwrap());
            h.insert(CONNECTION, "Upgrade".parse().unwrap());
            h.insert("sec-websocket-accept", ACCEPT.parse().unwrap());
            response.extensions_mut().insert(self.tunnel.clone());
            if let Some(arm) = req.extensions().get::<Arm>() {
                response.extensions_mut().insert(arm.clone());
            }
        } else {
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        std::future::ready(Ok(response))
    }
}

fn handshake(origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::get("/ws")
        .header("host", "api.example.com")
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    let mut request = b.body(Full::default()).unwrap();
    request.extensions_mut().insert(UpgradeHandle(7));
    request
}

fn assert_switched<B>(response: &Response<B>) {
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()[UPGRADE], "websocket");
    assert_eq!(response.headers()[CONNECTION], "Upgrade");
    assert_eq!(response.headers()["sec-websocket-accept"], ACCEPT);
    assert!(response.extensions().get::<Tunnel>().is_some());
}

fn no_cors_headers(headers: &HeaderMap) {
    assert!(
        headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{headers:?}"
    );
    assert!(!headers.contains_key(VARY), "{headers:?}");
}

#[tokio::test]
async fn access_log_passes_a_handshake() {
    let inner = Switch::default();
    let sink = MemorySink::new();
    let svc = AccessLogLayer::new(sink.clone())
        .format(LogFormat::template("$context.status $context.tunnel.bytesOut").unwrap())
        .layer(inner.clone());
    let response = svc.oneshot(handshake(None)).await.unwrap();
    assert_switched(&response);
    drop(response);
    assert!(sink.is_empty());
    inner.tunnel.add_bytes_out(4);
    inner.tunnel.close(TunnelOutcome::Normal);
    assert_eq!(sink.lines(), ["101 4"]);
}

#[tokio::test]
async fn cors_neither_decorates_nor_blocks_a_handshake() {
    for cors in [
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .allow_credentials(true)
            .build()
            .unwrap(),
        CorsLayer::builder().allow_any_origin().build().unwrap(),
        CorsLayer::builder().build().unwrap(),
    ] {
        for origin in [
            None,
            Some("https://app.example.com"),
            Some("https://evil.example"),
        ] {
            let inner = Switch::default();
            let response = cors
                .layer(inner.clone())
                .oneshot(handshake(origin))
                .await
                .unwrap();
            assert_switched(&response);
            no_cors_headers(response.headers());
            assert_eq!(inner.calls(), 1);
            let (parts, _) = handshake(origin).into_parts();
            assert_eq!(cors.check(&parts), tower_gateway::cors::Decision::WebSocket);
        }
    }
}

#[tokio::test]
async fn origin_guard_passes_same_origin_and_refuses_cross_site() {
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://app.example.com")
        .build()
        .unwrap();
    for origin in [
        None,
        Some("https://api.example.com"),
        Some("https://app.example.com"),
    ] {
        let inner = Switch::default();
        let response = guard
            .layer(inner.clone())
            .oneshot(handshake(origin))
            .await
            .unwrap();
        assert_switched(&response);
        assert_eq!(inner.calls(), 1);
    }
    let inner = Switch::default();
    let response = guard
        .layer(inner.clone())
        .oneshot(handshake(Some("https://evil.example")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .extensions()
        .get::<tower_gateway::origin::Rejection>()
        .is_some());
    assert!(response.extensions().get::<Tunnel>().is_none());
    assert_eq!(
        inner.calls(),
        0,
        "the inner service must never be reached, so never upgraded"
    );
}

#[tokio::test]
async fn router_passes_a_handshake_to_plain_and_websocket_routes() {
    let ws = Switch::default();
    let plain = Switch::default();
    let router = Router::builder()
        .websocket("/ws", ws.clone())
        .route("GET /plain", plain.clone())
        .build()
        .unwrap();
    let response = router.clone().oneshot(handshake(None)).await.unwrap();
    assert_switched(&response);
    assert!(response
        .extensions()
        .get::<MatchedRoute>()
        .unwrap()
        .is_websocket());
    let mut request = handshake(None);
    *request.uri_mut() = "/plain".parse().unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_switched(&response);
    assert_eq!((ws.calls(), plain.calls()), (1, 1));
}

#[tokio::test]
async fn canary_passes_a_handshake_and_reports_the_arm() {
    let stable = Switch::default();
    let canary = Switch::default();
    let split = CanaryLayer::new(canary.clone(), 100.0)
        .unwrap()
        .layer(stable.clone());
    let response = split.oneshot(handshake(None)).await.unwrap();
    assert_switched(&response);
    assert!(response.extensions().get::<Arm>().unwrap().is_canary());
    assert_eq!((stable.calls(), canary.calls()), (0, 1));
}

#[tokio::test]
async fn metrics_passes_a_handshake() {
    let registry = Registry::new();
    let inner = Switch::default();
    let response = registry
        .layer()
        .layer(inner.clone())
        .oneshot(handshake(None))
        .await
        .unwrap();
    assert_switched(&response);
    assert_eq!(inner.calls(), 1);
}

#[tokio::test]
async fn the_whole_stack_passes_a_handshake_once() {
    let inner = Switch::default();
    let sink = MemorySink::new();
    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
    );
    let router = Router::builder()
        .websocket("/ws", inner.clone())
        .build()
        .unwrap();
    let registry = Registry::new();
    let stack = ServiceBuilder::new()
        .layer(registry.layer())
        .layer(
            AccessLogLayer::new(sink.clone()).format(
                LogFormat::template("$context.routeKey $context.status $context.responseFlags")
                    .unwrap(),
            ),
        )
        .layer(cors)
        .layer(guard)
        .service(router);
    let response = stack
        .clone()
        .oneshot(handshake(Some("https://app.example.com")))
        .await
        .unwrap();
    assert_switched(&response);
    no_cors_headers(response.headers());
    drop(response);
    inner.tunnel.close(TunnelOutcome::Normal);
    assert_eq!(sink.lines(), ["GET /ws 101 -"]);

    // Cross-site: refused before the router, the route never called.
    let response = stack
        .clone()
        .oneshot(handshake(Some("https://evil.example")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    common::body_text(response.into_body()).await;
    // A plain GET to the WebSocket-only route: 426.
    let response = stack.oneshot(common::request("GET", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    common::body_text(response.into_body()).await;
    assert_eq!(inner.calls(), 1);
    assert_eq!(sink.lines()[1..], ["- 403 OG", "GET /ws 426 -"]);
}
