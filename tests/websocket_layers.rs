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
use common::request;
use common::Named;
use http::header::ALLOW;
use http::header::{CONNECTION, UPGRADE, VARY};
use http::Method;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
use tower_gateway::canary::{Arm, CanaryLayer};
use tower_gateway::metrics::Registry;
use tower_gateway::router::Decision;
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

/// A handshake for `path` without an upgrade handle (the router and the guard alone).
fn handshake_at(path: &str, origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut b = Request::get(path)
        .header("host", "api.example.com")
        .header(UPGRADE, "websocket")
        .header(CONNECTION, "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    b.body(Full::default()).unwrap()
}

fn handshake(origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut request = handshake_at("/ws", origin);
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

// ---- edge cases (audit, session 6): audit_websocket.rs

#[tokio::test]
async fn websocket_only_route_methods() {
    let ws = Named::new("ws");
    let r = Router::builder()
        .websocket("/ws", ws.clone())
        .route("POST /ws", Named::new("post"))
        .route("ANY /{proxy+}", Named::new("any"))
        .build()
        .unwrap();
    let response = r.clone().oneshot(request("GET", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[UPGRADE], "websocket");
    let response = r.clone().oneshot(handshake_at("/ws", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .extensions()
        .get::<MatchedRoute>()
        .unwrap()
        .is_websocket());
    assert_eq!(ws.calls(), 1);
    let response = r.clone().oneshot(request("POST", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // A websocket route with a catch-all beside it: `ANY` serves the other methods.
    let d = r.at(&Method::DELETE, "/ws");
    assert_eq!(d.route_key(), Some("ANY /{proxy+}"));
    assert!(matches!(r.at(&Method::GET, "/ws"), Decision::Route(_)));
}

#[tokio::test]
async fn websocket_only_route_alone_refuses_other_methods() {
    let r = Router::builder()
        .websocket("/ws", Named::new("ws"))
        .build()
        .unwrap();
    for m in ["HEAD", "POST", "OPTIONS"] {
        let response = r.clone().oneshot(request(m, "/ws")).await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert_eq!(response.headers()[ALLOW], "GET", "{m}");
    }
}

#[tokio::test]
async fn origin_guard_refuses_cross_site_handshakes_of_every_shape() {
    let guard = OriginGuardLayer::builder().build().unwrap();
    for origin in [
        "null",
        "https://api.example.com:8443",
        "https://evil.example",
        "https://sub.api.example.com",
    ] {
        let inner = Named::new("inner");
        let response = guard
            .layer(inner.clone())
            .oneshot(handshake_at("/ws", Some(origin)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(inner.calls(), 0);
    }
    let mut cross = handshake_at("/ws", None);
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let inner = Named::new("inner");
    let response = guard.layer(inner.clone()).oneshot(cross).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Lower-case, listed upgrade tokens are handshakes too.
    let mut listed = handshake_at("/ws", Some("https://evil.example"));
    listed
        .headers_mut()
        .insert(UPGRADE, "h2c, WebSocket".parse().unwrap());
    let response = guard
        .layer(Named::new("inner"))
        .oneshot(listed)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn origin_guard_lets_a_trusted_cross_site_browser_handshake_through() {
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://app.example.com")
        .build()
        .unwrap();
    let mut request = handshake_at("/ws", Some("https://app.example.com"));
    let h = request.headers_mut();
    h.insert("sec-fetch-site", "cross-site".parse().unwrap());
    h.insert("sec-fetch-mode", "websocket".parse().unwrap());
    let inner = Named::new("inner");
    let response = guard.layer(inner.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    // Same-origin by Sec-Fetch-Site passes whatever the Origin says.
    let mut request = handshake_at("/ws", Some("https://api.example.com"));
    request
        .headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().unwrap());
    let response = guard
        .layer(Named::new("inner"))
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- fourth pass (audit, session 6): metrics of a WebSocket route

#[tokio::test]
async fn metrics_count_a_handshake_as_101_and_a_plain_get_as_upgrade_required() {
    let registry = Registry::new();
    let inner = Switch::default();
    let router = Router::builder()
        .websocket("/ws", inner.clone())
        .build()
        .unwrap();
    let stack = registry.layer().layer(router);
    let response = stack.clone().oneshot(handshake(None)).await.unwrap();
    assert_switched(&response);
    drop(response);
    inner.tunnel.close(TunnelOutcome::Normal);
    let response = stack.oneshot(request("GET", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    common::body_text(response.into_body()).await;
    let text = registry.render();
    assert!(
        text.contains(
            "gateway_requests_total{route=\"/ws\",method=\"GET\",status=\"101\",arm=\"\",refusal=\"\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "gateway_requests_total{route=\"/ws\",method=\"GET\",status=\"426\",arm=\"\",refusal=\"upgrade_required\"} 1"
        ),
        "{text}"
    );
    assert_eq!(registry.in_flight(), 0);
}

// ---- fourth pass (audit, session 6): the origin guard's modes on a handshake

#[tokio::test]
async fn origin_guard_modes_apply_to_a_handshake() {
    use tower_gateway::origin::{Rejection, RejectionKind};
    // Strict: a handshake with neither Origin nor Sec-Fetch-Site is refused; a plain GET passes.
    let strict = OriginGuardLayer::builder().strict(true).build().unwrap();
    let inner = Named::new("inner");
    let response = strict
        .layer(inner.clone())
        .oneshot(handshake_at("/ws", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response
            .extensions()
            .get::<Rejection>()
            .map(Rejection::kind),
        Some(RejectionKind::MissingHeaders)
    );
    assert_eq!(inner.calls(), 0);
    let response = strict
        .layer(inner.clone())
        .oneshot(request("GET", "/ws"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Without strict mode the same header-less handshake (a non-browser client) passes.
    let lax = OriginGuardLayer::builder().build().unwrap();
    let response = lax
        .layer(Named::new("inner"))
        .oneshot(handshake_at("/ws", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Sec-Fetch-Site: same-site is refused by default, let through with trust_same_site.
    let same_site = || {
        let mut r = handshake_at("/ws", Some("https://app.example.com"));
        r.headers_mut()
            .insert("sec-fetch-site", "same-site".parse().unwrap());
        r
    };
    let response = lax
        .layer(Named::new("inner"))
        .oneshot(same_site())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response
            .extensions()
            .get::<Rejection>()
            .map(Rejection::kind),
        Some(RejectionKind::SameSite)
    );
    let sibling = OriginGuardLayer::builder()
        .trust_same_site(true)
        .build()
        .unwrap();
    let response = sibling
        .layer(Named::new("inner"))
        .oneshot(same_site())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Report-only: the attacker's handshake reaches the route, the rejection marked.
    let report = OriginGuardLayer::builder()
        .report_only(true)
        .build()
        .unwrap();
    let inner = Named::new("inner");
    let response = report
        .layer(inner.clone())
        .oneshot(handshake_at("/ws", Some("https://evil.example")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    let rejection = response.extensions().get::<Rejection>().unwrap();
    assert!(rejection.is_report_only());
    assert_eq!(rejection.kind(), RejectionKind::CrossOrigin);
}

// ---- fourth pass (audit, session 6): a sticky canary on handshakes

#[tokio::test]
async fn a_sticky_canary_sends_every_handshake_of_one_key_to_one_arm() {
    use tower_gateway::canary::{Key, Mode};
    let stable = Switch::default();
    let canary = Switch::default();
    let split = CanaryLayer::builder()
        .canary(canary.clone(), 50.0)
        .mode(Mode::sticky(Key::cookie("session")))
        .build()
        .unwrap()
        .layer(stable.clone());
    for user in 0..20 {
        let mut arms = Vec::new();
        for _ in 0..3 {
            let mut request = handshake(None);
            request
                .headers_mut()
                .insert("cookie", format!("session=user-{user}").parse().unwrap());
            let response = split.clone().oneshot(request).await.unwrap();
            assert_switched(&response);
            arms.push(response.extensions().get::<Arm>().unwrap().is_canary());
        }
        assert!(arms.iter().all(|a| *a == arms[0]), "user {user}: {arms:?}");
    }
    assert_eq!(stable.calls() + canary.calls(), 60);
    assert!(stable.calls() > 0 && canary.calls() > 0);
}
