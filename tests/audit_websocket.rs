//! Audit probes of WebSocket handshakes through the Router and the origin guard (issue 10).

#![cfg(all(feature = "router", feature = "origin"))]

mod common;

use bytes::Bytes;
use common::{request, Named};
use http::header::{ALLOW, CONNECTION, UPGRADE};
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_gateway::router::{Decision, MatchedRoute, Router};
use tower_gateway::OriginGuardLayer;

fn handshake(path: &str, origin: Option<&str>) -> Request<Full<Bytes>> {
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
    let response = r.clone().oneshot(handshake("/ws", None)).await.unwrap();
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
            .oneshot(handshake("/ws", Some(origin)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(inner.calls(), 0);
    }
    let mut cross = handshake("/ws", None);
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let inner = Named::new("inner");
    let response = guard.layer(inner.clone()).oneshot(cross).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Lower-case, listed upgrade tokens are handshakes too.
    let mut listed = handshake("/ws", Some("https://evil.example"));
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
    let mut request = handshake("/ws", Some("https://app.example.com"));
    let h = request.headers_mut();
    h.insert("sec-fetch-site", "cross-site".parse().unwrap());
    h.insert("sec-fetch-mode", "websocket".parse().unwrap());
    let inner = Named::new("inner");
    let response = guard.layer(inner.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    // Same-origin by Sec-Fetch-Site passes whatever the Origin says.
    let mut request = handshake("/ws", Some("https://api.example.com"));
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
