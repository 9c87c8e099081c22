//! The cases written from the text of DESIGN.md (sections 1, 2, 12) and the project's
//! cross-cutting rules, as an independent tester would, through the public API only:
//!
//! - the layer order DESIGN recommends (AccessLog, CorsLayer, OriginGuard, Router, CanarySplit
//!   around a route's target or the whole app), composed by hand with `ServiceBuilder`, in
//!   process, under axum 0.8 (`layer` and `route_layer`) and under hyper
//!   (`TowerToHyperService` over `tokio::io::duplex`), every layer still doing its job;
//! - the extension types each layer writes and reads (who writes, who reads, what outer layers
//!   see): `router::MatchedRoute`/`Params`/`Rejection`, `canary::Arm`, `origin::Rejection`,
//!   `cors::Rejection`, `access_log::RequestId`;
//! - each layer's public decision agreeing with its service on the same request;
//! - `Clone + Send + Sync` of layers, services and futures (request body not `Sync`),
//!   `Error = S::Error`, `poll_ready` errors and `Pending` propagated;
//! - hot reconfiguration validated the same way and never affecting a request in flight.

#![cfg(all(
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log"
))]

mod common;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use common::{body_text, respond, trusting};
use http::{header, Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::Full;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink, RequestId};
use tower_gateway::canary::{Arm, CanaryLayer, Key, Mode};
use tower_gateway::router::{Decision, MatchedRoute, Params, Router};
use tower_gateway::{cors, origin, router, CorsLayer, OriginGuardLayer};

type Req = Full<Bytes>;

const APP: &str = "https://app.example";
const EVIL: &str = "https://evil.example";
const HOST: &str = "api.example";

// ------------------------------------------------------------------ helpers

/// What a handler saw of the request: the extensions the layers above it wrote.
#[derive(Clone, Debug, Default, PartialEq)]
struct Seen {
    who: &'static str,
    route: Option<String>,
    param_id: Option<String>,
    arm: Option<String>,
    request_id: Option<String>,
    origin_rejection: bool,
    marker: bool,
}

/// A marker extension a client (hyper's upgrade handle, say) put on the request.
#[derive(Clone, Debug, PartialEq)]
struct Marker(u32);

/// A handler that records what it saw and answers `200` with its name, a `Vary` of its own and
/// an extension of its own (to see that outer layers keep both).
#[derive(Clone)]
struct Probe {
    name: &'static str,
    log: Arc<Mutex<Vec<Seen>>>,
    status: StatusCode,
}

#[derive(Clone, Debug, PartialEq)]
struct FromHandler(&'static str);

impl Probe {
    fn new(name: &'static str, log: &Arc<Mutex<Vec<Seen>>>) -> Self {
        Self {
            name,
            log: Arc::clone(log),
            status: StatusCode::OK,
        }
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl<B> Service<Request<B>> for Probe {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let ext = request.extensions();
        self.log.lock().unwrap().push(Seen {
            who: self.name,
            route: ext.get::<MatchedRoute>().map(|r| r.key().to_owned()),
            param_id: ext
                .get::<Params>()
                .and_then(|p| p.get("id"))
                .map(str::to_owned),
            arm: ext.get::<Arm>().map(|a| a.name().to_owned()),
            request_id: ext.get::<RequestId>().map(|r| r.as_str().to_owned()),
            origin_rejection: ext.get::<origin::Rejection>().is_some(),
            marker: ext.get::<Marker>().is_some(),
        });
        let mut response = Response::new(Full::new(Bytes::from_static(self.name.as_bytes())));
        *response.status_mut() = self.status;
        if self.status == StatusCode::SWITCHING_PROTOCOLS {
            response
                .headers_mut()
                .insert(header::UPGRADE, "websocket".parse().unwrap());
            response
                .headers_mut()
                .insert(header::CONNECTION, "Upgrade".parse().unwrap());
            *response.body_mut() = Full::default();
        } else {
            response
                .headers_mut()
                .insert(header::VARY, "accept-encoding".parse().unwrap());
        }
        response.extensions_mut().insert(FromHandler(self.name));
        std::future::ready(Ok(response))
    }
}

fn seen_log() -> Arc<Mutex<Vec<Seen>>> {
    Arc::default()
}

fn take(log: &Arc<Mutex<Vec<Seen>>>) -> Vec<Seen> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn cors_layer() -> CorsLayer {
    CorsLayer::builder()
        .allow_origin(APP)
        .allow_methods(["GET", "POST", "DELETE"])
        .allow_headers(["content-type"])
        .build()
        .unwrap()
}

/// Every fact the access log reads, on one line.
const TEMPLATE: &str = "$context.httpMethod $context.path $context.status \
     route=$context.routeKey arm=$context.canaryArm flags=$context.responseFlags \
     id=$context.requestId";

fn access_log(sink: &MemorySink) -> AccessLogLayer {
    AccessLogLayer::new(sink.clone()).format(LogFormat::template(TEMPLATE).unwrap())
}

fn req(method: Method, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
}

fn cross(method: Method, uri: &str, origin: &str) -> Request<Req> {
    req(method, uri)
        .header(header::ORIGIN, origin)
        .header("sec-fetch-site", "cross-site")
        .body(Req::default())
        .unwrap()
}

fn preflight(uri: &str, origin: &str, method: &str) -> Request<Req> {
    req(Method::OPTIONS, uri)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, method)
        .body(Req::default())
        .unwrap()
}

/// A waker that does nothing: for polling by hand.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

/// The pieces of the recommended stack, for the tests to look into.
struct Parts {
    log: Arc<Mutex<Vec<Seen>>>,
    sink: MemorySink,
}

/// DESIGN section 1, by hand, outermost first: AccessLog, CorsLayer, OriginGuard, Router (as a
/// layer, the app its fallback), and a CanarySplit (round-robin 50%) around one route's target.
fn recommended_stack() -> (
    impl Service<
            Request<Req>,
            Response = Response<impl HttpBody<Data = Bytes, Error = impl std::fmt::Debug>>,
            Error = Infallible,
            Future = impl Send,
        > + Clone
        + Send
        + Sync,
    Parts,
) {
    let log = seen_log();
    let sink = MemorySink::new();
    let split = CanaryLayer::builder()
        .stable("v1", "50%")
        .arm("v2", Probe::new("v2", &log), "50%")
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(Probe::new("v1", &log));
    let table = Router::builder()
        .route("GET /pets/{id}", split)
        .route("POST /pets", Probe::new("create", &log))
        .route("DELETE /pets/{id}", Probe::new("delete", &log))
        .websocket(
            "/ws",
            Probe::new("ws", &log).with_status(StatusCode::SWITCHING_PROTOCOLS),
        )
        .build()
        .unwrap();
    let cors = cors_layer();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(table)
        .service(Probe::new("app", &log));
    (stack, Parts { log, sink })
}

/// Every `Vary` value of `response`, lower-case, joined by `,` without spaces.
fn vary_of<B>(response: &Response<B>) -> String {
    response
        .headers()
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
        .replace(' ', "")
}

fn route_of<B>(response: &Response<B>) -> Option<&str> {
    response.extensions().get::<MatchedRoute>().map(|r| r.key())
}

fn arm_of<B>(response: &Response<B>) -> Option<&str> {
    response.extensions().get::<Arm>().map(|a| a.name())
}

// ------------------------------------------------ 1. the recommended order, in process

#[tokio::test]
async fn design_1_a_routed_request_carries_route_params_arm_and_request_id_both_ways() {
    let (stack, parts) = recommended_stack();
    let mut arms = Vec::new();
    for _ in 0..2 {
        let response = respond(&stack, cross(Method::GET, "/pets/7", APP)).await;
        assert_eq!(response.status(), StatusCode::OK);
        // What outer layers see: the route (Router) and the arm (CanarySplit) on the response,
        // through the origin guard and CORS, and the handler's own extension kept.
        assert_eq!(route_of(&response), Some("GET /pets/{id}"));
        let arm = arm_of(&response)
            .expect("the arm reaches the outermost layer")
            .to_owned();
        assert!(response.extensions().get::<FromHandler>().is_some());
        assert!(response.extensions().get::<origin::Rejection>().is_none());
        // CORS decorated it, appending to the handler's Vary.
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
        let vary: Vec<_> = response.headers().get_all(header::VARY).iter().collect();
        assert!(vary.iter().any(|v| *v == "accept-encoding"), "{vary:?}");
        assert!(
            vary.iter().any(|v| v.to_str().unwrap().contains("origin")
                || v.to_str().unwrap().contains("Origin")),
            "{vary:?}"
        );
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = body_text(response.into_body()).await;
        assert_eq!(body, arm);

        // What the handler saw: everything the layers above wrote, on the request.
        let seen = take(&parts.log);
        assert_eq!(seen.len(), 1, "the handler is called once");
        assert_eq!(seen[0].who, arm);
        assert_eq!(seen[0].route.as_deref(), Some("GET /pets/{id}"));
        assert_eq!(seen[0].param_id.as_deref(), Some("7"));
        assert_eq!(seen[0].arm.as_deref(), Some(arm.as_str()));
        assert_eq!(seen[0].request_id.as_deref(), Some(id.as_str()));
        assert!(
            !seen[0].origin_rejection,
            "an allowed request carries no reason"
        );

        // What the access log, outermost, wrote at the last byte.
        assert_eq!(
            parts.sink.take(),
            [format!(
                "GET /pets/7 200 route=GET /pets/{{id}} arm={arm} flags=- id={id}"
            )]
        );
        arms.push(arm);
    }
    arms.sort();
    assert_eq!(arms, ["v1", "v2"], "round-robin: one call each");
}

#[tokio::test]
async fn design_1_cors_answers_preflights_before_anything_runs_and_the_log_sees_them() {
    let (stack, parts) = recommended_stack();
    // `/pets` only has `POST`: the preflight is still the CORS layer's 204, nothing inner runs.
    let response = respond(&stack, preflight("/pets", APP, "POST")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(route_of(&response), None, "no route ran");
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(body_text(response.into_body()).await, "");
    assert!(take(&parts.log).is_empty(), "no handler called");
    assert_eq!(
        parts.sink.take(),
        [format!("OPTIONS /pets 204 route=- arm=- flags=- id={id}")]
    );

    // A refused preflight: 403, no CORS header, the reason for the log, nothing inner ran.
    let response = respond(&stack, preflight("/pets", EVIL, "POST")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-")));
    let reason = response.extensions().get::<cors::Rejection>().unwrap();
    assert_eq!(reason.kind(), cors::RejectionKind::OriginNotAllowed);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    body_text(response.into_body()).await;
    assert!(take(&parts.log).is_empty());
    assert_eq!(
        parts.sink.take(),
        [format!("OPTIONS /pets 403 route=- arm=- flags=CP id={id}")]
    );
}

#[tokio::test]
async fn design_1_the_guard_refuses_before_any_route_runs_and_its_reason_reaches_the_log() {
    let (stack, parts) = recommended_stack();
    let response = respond(&stack, cross(Method::POST, "/pets", EVIL)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let reason = response.extensions().get::<origin::Rejection>().unwrap();
    assert_eq!(reason.kind(), origin::RejectionKind::CrossSite);
    assert!(!reason.is_report_only());
    // Not an origin the CORS policy allows: no CORS header on the refusal (issue 5).
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    assert_eq!(route_of(&response), None, "refused before the Router");
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = body_text(response.into_body()).await;
    assert!(
        !body.is_empty() && !body.trim_end().contains('\n'),
        "{body:?}"
    );
    assert!(take(&parts.log).is_empty(), "no route ran");
    assert_eq!(
        parts.sink.take(),
        [format!("POST /pets 403 route=- arm=- flags=OG id={id}")]
    );

    // The same write from the origin the CORS policy allows: trusted, routed, decorated.
    let response = respond(&stack, cross(Method::POST, "/pets", APP)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(route_of(&response), Some("POST /pets"));
    assert_eq!(body_text(response.into_body()).await, "create");
    let seen = take(&parts.log);
    assert_eq!(seen.len(), 1);
    assert!(!seen[0].origin_rejection);
    assert_eq!(seen[0].arm, None, "no split on this route");
}

#[tokio::test]
async fn design_1_unrouted_requests_reach_the_app_with_no_matched_route_either_way() {
    let (stack, parts) = recommended_stack();
    let response = respond(&stack, cross(Method::GET, "/about", APP)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(route_of(&response), None, "absent when the fallback served");
    assert_eq!(arm_of(&response), None);
    assert!(response.extensions().get::<router::Rejection>().is_none());
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(body_text(response.into_body()).await, "app");
    let seen = take(&parts.log);
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].who, seen[0].route.as_deref()), ("app", None));
    assert!(seen[0].request_id.is_some(), "the app sees the request id");
    assert_first_line(&parts.sink, "GET /about 200 route=- arm=- flags=- id=");
}

#[tokio::test]
async fn design_1_cors_decorates_the_routers_405_and_404_and_the_log_flags_them() {
    let (stack, parts) = recommended_stack();
    let response = respond(&stack, cross(Method::PUT, "/pets/7", APP)).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD, DELETE");
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(
        response
            .extensions()
            .get::<router::Rejection>()
            .unwrap()
            .kind(),
        router::RejectionKind::MethodNotAllowed
    );
    body_text(response.into_body()).await;
    assert!(take(&parts.log).is_empty());
    assert_first_line(&parts.sink, "PUT /pets/7 405 route=- arm=- flags=");

    // The Router used alone (no fallback): its 404 is decorated and logged `NR`.
    let sink = MemorySink::new();
    let log = seen_log();
    let cors = cors_layer();
    let table = Router::builder()
        .route("GET /pets/{id}", Probe::new("pet", &log))
        .build()
        .unwrap();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .service(table);
    let response = stack
        .oneshot(cross(Method::GET, "/nowhere", APP))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(
        response
            .extensions()
            .get::<router::Rejection>()
            .unwrap()
            .kind(),
        router::RejectionKind::NotFound
    );
    body_text(response.into_body()).await;
    assert_first_line(&sink, "GET /nowhere 404 route=- arm=- flags=NR id=");
}

/// DESIGN: CorsLayer "decorates every response, including 403/404 answers of inner layers".
/// With a guard that does not trust the CORS policy, a write from a CORS-allowed origin is
/// refused by the guard, and the page may read why.
#[tokio::test]
async fn design_1_cors_decorates_the_guards_403_for_an_allowed_origin() {
    let log = seen_log();
    let sink = MemorySink::new();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors_layer())
        .layer(OriginGuardLayer::builder().build().unwrap())
        .service(Probe::new("app", &log));
    let response = stack
        .oneshot(cross(Method::POST, "/pets", APP))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert!(response.extensions().get::<origin::Rejection>().is_some());
    body_text(response.into_body()).await;
    assert!(take(&log).is_empty());
    assert_first_line(&sink, "POST /pets 403 route=- arm=- flags=OG");
}

/// DESIGN 1: the canary "around the whole app (a stage-level canary as in AWS)": a split
/// outside two route tables. The Router below sees the arm; the split above sees the route.
#[tokio::test]
async fn design_1_a_stage_level_canary_outside_the_router_shares_arm_and_route() {
    let log = seen_log();
    let sink = MemorySink::new();
    let table = |name: &'static str| {
        Router::builder()
            .route("GET /pets/{id}", Probe::new(name, &log))
            .build()
            .unwrap()
    };
    let cors = cors_layer();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(
            CanaryLayer::builder()
                .stable("blue", "0%")
                .arm("green", table("green"), "100%")
                .build()
                .unwrap(),
        )
        .service(table("blue"));
    let response = respond(&stack, cross(Method::GET, "/pets/3", APP)).await;
    assert_eq!(route_of(&response), Some("GET /pets/{id}"));
    assert_eq!(arm_of(&response), Some("green"));
    assert_eq!(body_text(response.into_body()).await, "green");
    let seen = take(&log);
    assert_eq!(
        seen[0].arm.as_deref(),
        Some("green"),
        "the Router keeps the arm"
    );
    assert_eq!(seen[0].route.as_deref(), Some("GET /pets/{id}"));
    assert_first_line(
        &sink,
        "GET /pets/3 200 route=GET /pets/{id} arm=green flags=-",
    );

    // The arm is on the Router's own 404 too.
    let response = stack
        .oneshot(cross(Method::GET, "/nowhere", APP))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(arm_of(&response), Some("green"));
    body_text(response.into_body()).await;
    assert_first_line(&sink, "GET /nowhere 404 route=- arm=green flags=NR");
}

/// DESIGN 12: a handshake passes every layer intact (request extensions kept, `101` passed up
/// unchanged), is checked by the guard, and CORS neither decorates nor blocks it.
#[tokio::test]
async fn design_12_a_websocket_handshake_passes_the_whole_stack_intact() {
    let (stack, parts) = recommended_stack();
    let handshake = |origin: &str| {
        let mut request = req(Method::GET, "/ws")
            .header(header::ORIGIN, origin)
            .header(header::UPGRADE, "websocket")
            .header(header::CONNECTION, "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13")
            .body(Req::default())
            .unwrap();
        request.extensions_mut().insert(Marker(7));
        request
    };
    // Same origin (as Chromium sends it: `Origin` only, no Sec-Fetch-*).
    let response = respond(&stack, handshake("http://api.example")).await;
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    assert_eq!(response.headers()[header::CONNECTION], "Upgrade");
    assert!(response
        .headers()
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-")));
    assert!(response.headers().get(header::VARY).is_none());
    assert!(response.extensions().get::<FromHandler>().is_some());
    assert_eq!(route_of(&response), Some("GET /ws"));
    drop(response);
    let seen = take(&parts.log);
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].marker,
        "the request's own extensions reach the handler"
    );

    // Cross-site: refused before any upgrade.
    let response = respond(&stack, handshake(EVIL)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    drop(response);
    assert!(take(&parts.log).is_empty());
    assert_eq!(parts.sink.take().len(), 2, "one record per handshake");

    // A plain GET to the WebSocket-only route: the Router's 426, a routed answer (the route
    // is known), decorated by CORS like any other response, logged with its route.
    let response = stack.oneshot(cross(Method::GET, "/ws", APP)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(route_of(&response), Some("GET /ws"));
    assert_eq!(
        response
            .extensions()
            .get::<router::Rejection>()
            .map(router::Rejection::kind),
        Some(router::RejectionKind::UpgradeRequired)
    );
    body_text(response.into_body()).await;
    assert!(take(&parts.log).is_empty());
    assert_first_line(&parts.sink, "GET /ws 426 route=GET /ws arm=- flags=- id=");
}

// ------------------------------------------------ 2.1 the decision agrees with the service

fn head(request: &Request<Req>) -> http::request::Parts {
    let mut builder = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .version(request.version());
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    builder.body(()).unwrap().into_parts().0
}

#[tokio::test]
async fn design_2_1_router_at_agrees_with_the_router_service() {
    let log = seen_log();
    let table = Router::builder()
        .route("GET /pets/{id}", Probe::new("pet", &log))
        .route("GET /pets/dog/1", Probe::new("dog", &log))
        .route("ANY /files/{proxy+}", Probe::new("file", &log))
        .route("POST /pets", Probe::new("create", &log))
        .route("HEAD /only-head", Probe::new("head", &log))
        .route("GET /assets/{name}.css", Probe::new("css", &log))
        .trailing_slash(router::TrailingSlash::Redirect)
        .build()
        .unwrap();
    let cases = [
        (Method::GET, "/pets/7"),
        (Method::HEAD, "/pets/7"),
        (Method::GET, "/pets/dog/1"),
        (Method::DELETE, "/pets/7"),
        (Method::OPTIONS, "/pets"),
        (Method::GET, "/pets"),
        (Method::PATCH, "/files/a/b/c"),
        (Method::GET, "/files/"),
        (Method::GET, "/assets/site.css"),
        (Method::GET, "/assets/.css"),
        (Method::GET, "/pets/7/"),
        (Method::GET, "/pets/7?q=1"),
        (Method::GET, "/pets/%2F"),
        (Method::GET, "/nowhere"),
        (Method::GET, "/only-head"),
        (Method::HEAD, "/only-head"),
        (Method::from_bytes(b"PURGE").unwrap(), "/files/x"),
    ];
    for (method, uri) in cases {
        let decision = table.at(&method, uri);
        let request = req(method.clone(), uri).body(Req::default()).unwrap();
        let response = respond(&table, request).await;
        let what = format!("{method} {uri}");
        match &decision {
            Decision::Route(m) => {
                assert_eq!(response.status(), StatusCode::OK, "{what}");
                assert_eq!(route_of(&response), Some(m.route().key()), "{what}");
                assert_eq!(take(&log).len(), 1, "{what}");
            }
            Decision::MethodNotAllowed(allowed) => {
                assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{what}");
                assert_eq!(
                    response.headers()[header::ALLOW],
                    allowed.header_value(),
                    "{what}"
                );
                assert!(take(&log).is_empty(), "{what}");
            }
            Decision::Redirect(to) => {
                assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT, "{what}");
                assert_eq!(response.headers()[header::LOCATION], to.as_str(), "{what}");
                assert!(take(&log).is_empty(), "{what}");
            }
            Decision::NotFound => {
                assert_eq!(response.status(), StatusCode::NOT_FOUND, "{what}");
                assert!(take(&log).is_empty(), "{what}");
            }
            other => panic!("{what}: unexpected {other:?}"),
        }
    }
}

/// What the CORS layer's service did, seen from outside.
#[derive(Debug, PartialEq)]
enum CorsOutcome {
    Inner {
        allow_origin: Option<String>,
    },
    Preflight204 {
        allow_origin: String,
        allow_method: Option<String>,
    },
    Refused403(cors::Rejection),
}

fn cors_outcome(decision: &cors::Decision) -> CorsOutcome {
    match decision {
        cors::Decision::NotCors | cors::Decision::ActualRefused | cors::Decision::WebSocket => {
            CorsOutcome::Inner { allow_origin: None }
        }
        cors::Decision::ActualAllowed { allow_origin } => CorsOutcome::Inner {
            allow_origin: Some(allow_origin.to_str().unwrap().to_owned()),
        },
        cors::Decision::PreflightAccepted(p) => CorsOutcome::Preflight204 {
            allow_origin: p.allow_origin().to_str().unwrap().to_owned(),
            allow_method: p.allow_method().map(|m| m.to_str().unwrap().to_owned()),
        },
        cors::Decision::PreflightRefused(r) => CorsOutcome::Refused403(*r),
        other => panic!("unexpected {other:?}"),
    }
}

fn cors_requests() -> Vec<Request<Req>> {
    let ws = |origin: &str| {
        req(Method::GET, "/ws")
            .header(header::ORIGIN, origin)
            .header(header::UPGRADE, "websocket")
            .header(header::CONNECTION, "upgrade")
            .body(Req::default())
            .unwrap()
    };
    let with = |method: Method, headers: &[(&str, &str)]| {
        let mut b = req(method, "/x");
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(Req::default()).unwrap()
    };
    vec![
        with(Method::GET, &[]),
        with(Method::OPTIONS, &[]),
        cross(Method::GET, "/x", APP),
        cross(Method::GET, "/x", EVIL),
        cross(Method::POST, "/x", "https://APP.example"),
        with(Method::GET, &[("origin", APP), ("origin", APP)]),
        with(Method::GET, &[("origin", "null")]),
        with(Method::OPTIONS, &[("origin", APP)]),
        preflight("/x", APP, "DELETE"),
        preflight("/x", APP, "GET"),
        preflight("/x", APP, "PUT"),
        preflight("/x", APP, "delete"),
        preflight("/x", EVIL, "GET"),
        preflight("/x", "https://a.b.example.com", "PUT"),
        preflight("/x", "https://example.com", "PUT"),
        cross(Method::PUT, "/x", "https://a.example.com"),
        with(
            Method::OPTIONS,
            &[
                ("origin", APP),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
        ),
        with(
            Method::OPTIONS,
            &[
                ("origin", APP),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization"),
            ],
        ),
        with(
            Method::OPTIONS,
            &[
                ("origin", APP),
                ("access-control-request-method", "POST"),
                ("access-control-request-method", "PUT"),
            ],
        ),
        with(
            Method::OPTIONS,
            &[("origin", APP), ("access-control-request-method", "")],
        ),
        ws(APP),
        ws(EVIL),
    ]
}

#[tokio::test]
async fn design_2_1_cors_check_agrees_with_the_cors_service() {
    let policies = [
        cors_layer(),
        CorsLayer::builder().allow_any_origin().build().unwrap(),
        CorsLayer::builder()
            .allow_origins([APP, "https://*.example.com"])
            .allow_methods(["PUT"])
            .allow_credentials(true)
            .build()
            .unwrap(),
    ];
    for (p, layer) in policies.into_iter().enumerate() {
        let log = seen_log();
        let svc = layer.layer(Probe::new("inner", &log));
        for request in cors_requests() {
            let parts = head(&request);
            let decision = layer.check(&parts);
            let what = format!("policy {p}: {:?} {:?}", parts.method, parts.headers);
            // The layer, its service and its handle decide alike.
            assert_eq!(svc.check(&parts), decision, "{what}");
            assert_eq!(layer.handle().check(&parts), decision, "{what}");
            let response = respond(&svc, request).await;
            let header = |name: header::HeaderName| {
                response
                    .headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            let called = take(&log).len();
            let outcome = match response.status() {
                StatusCode::NO_CONTENT => {
                    assert_eq!(called, 0, "{what}");
                    CorsOutcome::Preflight204 {
                        allow_origin: header(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(),
                        allow_method: header(header::ACCESS_CONTROL_ALLOW_METHODS),
                    }
                }
                StatusCode::FORBIDDEN => {
                    assert_eq!(called, 0, "{what}");
                    assert_eq!(header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None, "{what}");
                    CorsOutcome::Refused403(
                        response
                            .extensions()
                            .get::<cors::Rejection>()
                            .cloned()
                            .expect("a refusal carries its reason"),
                    )
                }
                _ => {
                    assert_eq!(called, 1, "{what}");
                    CorsOutcome::Inner {
                        allow_origin: header(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                            .filter(|_| !matches!(decision, cors::Decision::NotCors)),
                    }
                }
            };
            assert_eq!(outcome, cors_outcome(&decision), "{what}");
        }
    }
}

fn origin_requests() -> Vec<Request<Req>> {
    let with = |method: Method, uri: &str, headers: &[(&str, &str)]| {
        let mut b = req(method, uri);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        b.body(Req::default()).unwrap()
    };
    vec![
        with(Method::GET, "/x", &[("origin", EVIL)]),
        with(Method::HEAD, "/x", &[("sec-fetch-site", "cross-site")]),
        with(Method::OPTIONS, "/x", &[("origin", EVIL)]),
        with(Method::TRACE, "/x", &[("origin", EVIL)]),
        with(Method::POST, "/x", &[]),
        with(Method::POST, "/x", &[("sec-fetch-site", "same-origin")]),
        with(Method::POST, "/x", &[("sec-fetch-site", "none")]),
        with(Method::POST, "/x", &[("sec-fetch-site", "same-site")]),
        with(Method::POST, "/x", &[("sec-fetch-site", "Same-Origin")]),
        with(Method::POST, "/x", &[("sec-fetch-site", "")]),
        with(Method::POST, "/x", &[("origin", "http://api.example")]),
        with(Method::POST, "/x", &[("origin", "http://API.example:80")]),
        with(Method::POST, "/x", &[("origin", EVIL)]),
        with(Method::POST, "/x", &[("origin", APP)]),
        with(Method::POST, "/x", &[("origin", "null")]),
        with(Method::POST, "/x", &[("origin", "http://evil@api.example")]),
        with(Method::POST, "/x", &[("origin", APP), ("origin", APP)]),
        with(Method::POST, "/hooks/a", &[("origin", EVIL)]),
        with(Method::POST, "/hooks", &[("origin", EVIL)]),
        with(Method::POST, "/hooks/../admin", &[("origin", EVIL)]),
        with(
            Method::GET,
            "/ws",
            &[
                ("origin", EVIL),
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
            ],
        ),
        with(
            Method::GET,
            "/ws",
            &[
                ("origin", APP),
                ("upgrade", "websocket"),
                ("connection", "upgrade"),
            ],
        ),
        with(
            Method::DELETE,
            "/x",
            &[("sec-fetch-site", "cross-site"), ("origin", APP)],
        ),
    ]
}

#[tokio::test]
async fn design_2_1_origin_guard_check_agrees_with_the_guard_service() {
    let layers = [
        OriginGuardLayer::builder()
            .trust_origin(APP)
            .bypass_path("/hooks/")
            .build()
            .unwrap(),
        OriginGuardLayer::builder()
            .strict(true)
            .trust_same_site(true)
            .build()
            .unwrap(),
        OriginGuardLayer::builder()
            .report_only(true)
            .build()
            .unwrap(),
    ];
    for (l, layer) in layers.into_iter().enumerate() {
        let log = seen_log();
        let svc = layer.layer(Probe::new("inner", &log));
        for request in origin_requests() {
            let parts = head(&request);
            let what = format!(
                "guard {l}: {} {} {:?}",
                parts.method, parts.uri, parts.headers
            );
            let decision = layer.check(&parts);
            assert_eq!(svc.check(&parts), decision, "{what}");
            assert_eq!(layer.check_request(&request), decision, "{what}");
            let response = respond(&svc, request).await;
            let seen = take(&log);
            let on_response = response.extensions().get::<origin::Rejection>().cloned();
            match decision {
                Ok(_) => {
                    assert_eq!(response.status(), StatusCode::OK, "{what}");
                    assert_eq!(seen.len(), 1, "{what}");
                    assert!(!seen[0].origin_rejection, "{what}");
                    assert_eq!(on_response, None, "{what}");
                }
                Err(rejection) if rejection.is_report_only() => {
                    assert_eq!(response.status(), StatusCode::OK, "{what}");
                    assert_eq!(seen.len(), 1, "{what}");
                    assert!(
                        seen[0].origin_rejection,
                        "{what}: the inner sees the report"
                    );
                    assert_eq!(on_response, Some(rejection), "{what}");
                }
                Err(rejection) => {
                    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
                    assert!(seen.is_empty(), "{what}");
                    assert_eq!(on_response, Some(rejection), "{what}");
                    let body = body_text(response.into_body()).await;
                    assert_eq!(body.trim_end(), rejection.reason(), "{what}");
                }
            }
        }
    }
}

#[tokio::test]
async fn design_2_1_canary_pick_agrees_with_the_split_service() {
    let log = seen_log();
    let layer = CanaryLayer::builder()
        .arm("green", Probe::new("green", &log), "30%")
        .mode(Mode::sticky(Key::header(http::HeaderName::from_static(
            "x-user",
        ))))
        .override_cookie("canary")
        .build()
        .unwrap();
    let split = layer.layer(Probe::new("stable", &log));
    let mut requests = Vec::new();
    for user in 0..200 {
        requests.push(
            req(Method::GET, "/")
                .header("x-user", format!("user-{user}"))
                .body(Req::default())
                .unwrap(),
        );
    }
    for (name, value) in [
        ("x-canary", "always"),
        ("x-canary", "never"),
        ("x-canary", "ALWAYS"),
        ("x-canary", "maybe"),
        ("cookie", "canary=always"),
        ("cookie", "a=b; canary=never"),
    ] {
        requests.push(
            req(Method::GET, "/")
                .header("x-user", "user-1")
                .header(name, value)
                .body(Req::default())
                .unwrap(),
        );
    }
    let mut canaries = 0;
    for request in requests {
        let parts = head(&request);
        let picked = split.pick(&parts);
        assert_eq!(layer.pick(&parts), picked, "{:?}", parts.headers);
        canaries += usize::from(picked.is_canary());
        let response = respond(&split, request).await;
        assert_eq!(
            arm_of(&response),
            Some(picked.name()),
            "{:?}",
            parts.headers
        );
        assert_eq!(response.extensions().get::<Arm>(), Some(&picked));
        let seen = take(&log);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].who, picked.name(), "{:?}", parts.headers);
        assert_eq!(seen[0].arm.as_deref(), Some(picked.name()));
    }
    assert!((30..=100).contains(&canaries), "{canaries}");
}

// ------------------------------------------------ 2.2 Clone + Send + Sync, Error = S::Error

/// A request body that is `Send` but not `Sync`, like axum's and hyper's.
struct NotSync {
    inner: Full<Bytes>,
    _not_sync: PhantomData<Cell<()>>,
}

impl Default for NotSync {
    fn default() -> Self {
        Self {
            inner: Full::default(),
            _not_sync: PhantomData,
        }
    }
}

impl HttpBody for NotSync {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An error type no layer knows.
#[derive(Clone, Debug, PartialEq)]
struct Boom(&'static str);

/// A service that fails in `poll_ready` or in `call`, or is never ready, as told.
#[derive(Clone)]
struct Faulty {
    ready: Poll<Result<(), Boom>>,
    calls: Arc<Mutex<usize>>,
}

impl Faulty {
    fn new(ready: Poll<Result<(), Boom>>) -> Self {
        Self {
            ready,
            calls: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl<B> Service<Request<B>> for Faulty {
    type Response = Response<Full<Bytes>>;
    type Error = Boom;
    type Future = std::future::Ready<Result<Self::Response, Boom>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Boom>> {
        self.ready.clone()
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        *self.calls.lock().unwrap() += 1;
        std::future::ready(Err(Boom("call")))
    }
}

fn is_clone_send_sync<T: Clone + Send + Sync + 'static>(_: &T) {}
fn is_send<T: Send + 'static>(_: &T) {}
/// The service keeps the inner's error type, `Boom`, by construction.
fn error_is_boom<B, S: Service<Request<B>, Error = Boom>>(_: &S) {}

#[test]
fn design_2_2_every_layer_service_and_future_is_clone_send_sync_with_a_body_that_is_not_sync() {
    let log = seen_log();
    let cors = cors_layer();
    let guard = trusting(&cors);
    let sink = MemorySink::new();
    let split_layer = CanaryLayer::new(Probe::new("v2", &log), "10%").unwrap();
    let table: Router<NotSync, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /pets/{id}", split_layer.layer(Probe::new("v1", &log)))
        .build()
        .unwrap();
    is_clone_send_sync(&cors);
    is_clone_send_sync(&guard);
    is_clone_send_sync(&access_log(&sink));
    is_clone_send_sync(&split_layer);
    is_clone_send_sync(&table);

    macro_rules! check {
        ($svc:expr) => {{
            let mut svc = $svc;
            is_clone_send_sync(&svc);
            let future =
                Service::<Request<NotSync>>::call(&mut svc, Request::new(NotSync::default()));
            is_send(&future);
            drop(future);
        }};
    }
    check!(cors.layer(Probe::new("x", &log)));
    check!(guard.layer(Probe::new("x", &log)));
    check!(access_log(&sink).layer(Probe::new("x", &log)));
    check!(split_layer.layer(Probe::new("x", &log)));
    check!(table.clone());
    check!(table.layer(Probe::new("x", &log)));
    // The whole recommended stack, as one service.
    check!(ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors.clone())
        .layer(guard.clone())
        .layer(table.clone())
        .service(Probe::new("app", &log)));
}

#[tokio::test]
async fn design_2_2_an_inner_error_passes_every_layer_and_the_stack_untouched() {
    let cors = cors_layer();
    let faulty = Faulty::new(Poll::Ready(Ok(())));
    let table: Router<Req, Full<Bytes>, Boom> = Router::builder()
        .route("ANY /pets/{id}", faulty.clone())
        .build()
        .unwrap();
    let split = CanaryLayer::new(faulty.clone(), "50%")
        .unwrap()
        .layer(faulty.clone());
    let stack = ServiceBuilder::new()
        .layer(access_log(&MemorySink::new()))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(table.clone())
        .service(split.clone());
    error_is_boom::<Req, _>(&cors.layer(faulty.clone()));
    error_is_boom::<Req, _>(&trusting(&cors).layer(faulty.clone()));
    error_is_boom::<Req, _>(&access_log(&MemorySink::new()).layer(faulty.clone()));
    error_is_boom::<Req, _>(&split);
    error_is_boom::<Req, _>(&table);
    error_is_boom::<Req, _>(&stack);
    for uri in ["/pets/1", "/elsewhere"] {
        for request in [
            req(Method::GET, uri).body(Req::default()).unwrap(),
            cross(Method::GET, uri, APP),
            cross(Method::POST, uri, APP),
        ] {
            let what = format!("{} {}", request.method(), request.uri());
            let result: Result<_, Boom> = stack.clone().oneshot(request).await;
            assert_eq!(result.err(), Some(Boom("call")), "{what}");
        }
    }
    // Refusals are responses, never errors: the inner is not even asked.
    let before = faulty.calls();
    for request in [
        cross(Method::POST, "/pets/1", EVIL),
        preflight("/pets/1", EVIL, "PUT"),
        preflight("/pets/1", APP, "PUT"),
    ] {
        let response = respond(&stack, request).await;
        assert!(response.status().is_client_error() || response.status().is_success());
    }
    assert_eq!(faulty.calls(), before);
}

#[tokio::test]
async fn design_2_7_readiness_errors_and_pending_are_propagated_never_swallowed() {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let cors = cors_layer();
    // Single-inner layers, alone and stacked: `poll_ready` forwards Pending and errors.
    for ready in [Poll::Pending, Poll::Ready(Err(Boom("not ready")))] {
        let inner = Faulty::new(ready.clone());
        let expected = ready.clone();
        let mut one = cors.layer(inner.clone());
        assert_eq!(
            Service::<Request<Req>>::poll_ready(&mut one, &mut cx),
            expected
        );
        let mut one = trusting(&cors).layer(inner.clone());
        assert_eq!(
            Service::<Request<Req>>::poll_ready(&mut one, &mut cx),
            expected
        );
        let mut one = access_log(&MemorySink::new()).layer(inner.clone());
        assert_eq!(
            Service::<Request<Req>>::poll_ready(&mut one, &mut cx),
            expected
        );
        let mut stack = ServiceBuilder::new()
            .layer(access_log(&MemorySink::new()))
            .layer(cors.clone())
            .layer(trusting(&cors))
            .service(inner.clone());
        assert_eq!(
            Service::<Request<Req>>::poll_ready(&mut stack, &mut cx),
            expected
        );
        assert_eq!(inner.calls(), 0);
    }

    // Router and CanarySplit: always ready; the chosen service's readiness is driven in the
    // response future, and its error comes out of it as is.
    let broken = Faulty::new(Poll::Ready(Err(Boom("not ready"))));
    let table: Router<Req, Full<Bytes>, Boom> = Router::builder()
        .route("GET /pets/{id}", broken.clone())
        .build()
        .unwrap();
    let split = CanaryLayer::new(broken.clone(), "100%")
        .unwrap()
        .layer(broken.clone());
    let mut stack = ServiceBuilder::new()
        .layer(access_log(&MemorySink::new()))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(table)
        .service(split);
    assert_eq!(
        Service::<Request<Req>>::poll_ready(&mut stack, &mut cx),
        Poll::Ready(Ok(()))
    );
    for uri in ["/pets/1", "/elsewhere"] {
        let result: Result<_, Boom> = stack.clone().oneshot(cross(Method::GET, uri, APP)).await;
        assert_eq!(result.err(), Some(Boom("not ready")), "{uri}");
    }
    assert_eq!(
        broken.calls(),
        0,
        "a service that was not ready is never called"
    );

    // A target that stays Pending: the stack is ready, the response future is Pending.
    let stuck = Faulty::new(Poll::Pending);
    let table: Router<Req, Full<Bytes>, Boom> = Router::builder()
        .route("GET /pets/{id}", stuck.clone())
        .build()
        .unwrap();
    let mut stack = ServiceBuilder::new()
        .layer(access_log(&MemorySink::new()))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .service(table);
    assert_eq!(
        Service::<Request<Req>>::poll_ready(&mut stack, &mut cx),
        Poll::Ready(Ok(()))
    );
    let mut future = Box::pin(stack.call(cross(Method::GET, "/pets/1", APP)));
    for _ in 0..3 {
        assert!(future.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(stuck.calls(), 0);
}

// ------------------------------------------------ 1. the recommended order under axum and hyper

type AxumBody = axum::body::Body;

fn to_axum(response: Response<Full<Bytes>>) -> Response<AxumBody> {
    response.map(AxumBody::new)
}

/// The recommended layers (AccessLog, CorsLayer, OriginGuard, Router with a split target) as
/// one `ServiceBuilder` layer stack, for axum's `layer` and `route_layer`.
fn axum_stack(
    log: &Arc<Mutex<Vec<Seen>>>,
    sink: &MemorySink,
) -> ServiceBuilder<
    impl Layer<
            axum::routing::Route,
            Service = impl Service<
                Request<AxumBody>,
                Response = impl axum::response::IntoResponse + 'static,
                Error = Infallible,
                Future = impl Send + 'static,
            > + Clone
                          + Send
                          + Sync
                          + 'static,
        > + Clone
        + Send
        + Sync
        + 'static,
> {
    let map: fn(Response<Full<Bytes>>) -> Response<AxumBody> = to_axum;
    let split = CanaryLayer::builder()
        .stable("v1", "50%")
        .arm(
            "v2",
            tower::util::MapResponse::new(Probe::new("v2", log), map),
            "50%",
        )
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(tower::util::MapResponse::new(Probe::new("v1", log), map));
    let table: Router<AxumBody, AxumBody, Infallible> = Router::builder()
        .route("GET /pets/{id}", split)
        .build()
        .unwrap();
    let cors = cors_layer();
    ServiceBuilder::new()
        .layer(access_log(sink))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(table)
}

async fn axum_handler(
    id: Option<axum::Extension<RequestId>>,
    route: Option<axum::Extension<MatchedRoute>>,
) -> String {
    format!(
        "app id={} route={}",
        id.is_some(),
        route.map_or("-".to_owned(), |r| r.key().to_owned())
    )
}

fn axum_request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<AxumBody> {
    let mut b = req(method, uri);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(AxumBody::empty()).unwrap()
}

/// Sends `request` to `app`, checks its status, reads its body and checks that the first
/// access-log line starts with `line`; gives back the headers and the body.
async fn logged<S, B>(
    app: &S,
    request: Request<AxumBody>,
    status: StatusCode,
    sink: &MemorySink,
    line: &str,
) -> (http::HeaderMap, String)
where
    S: Service<Request<AxumBody>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: HttpBody,
    B::Error: std::fmt::Debug,
{
    let what = format!("{} {}", request.method(), request.uri());
    let response = respond(app, request).await;
    assert_eq!(response.status(), status, "{what}");
    let headers = response.headers().clone();
    let body = body_text(response.into_body()).await;
    assert_first_line(sink, line);
    (headers, body)
}

/// Checks that the first access-log line in `sink` starts with `prefix` (and takes them all).
#[track_caller]
fn assert_first_line(sink: &MemorySink, prefix: &str) {
    let line = sink.take().remove(0);
    assert!(line.starts_with(prefix), "{line}");
}

#[tokio::test]
async fn design_1_the_recommended_stack_under_axum_layer_does_every_job() {
    let log = seen_log();
    let sink = MemorySink::new();
    let app = axum::Router::new()
        .route("/app", axum::routing::get(axum_handler).post(axum_handler))
        .layer(axum_stack(&log, &sink));
    let cross_site = [("origin", APP), ("sec-fetch-site", "cross-site")];

    // A table route, through the split, in front of axum.
    for expected in ["v1", "v2"] {
        let response = respond(&app, axum_request(Method::GET, "/pets/9", &cross_site)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
        assert_eq!(route_of(&response), Some("GET /pets/{id}"));
        assert_eq!(arm_of(&response), Some(expected));
        assert_eq!(body_text(response.into_body()).await, expected);
        let seen = take(&log);
        assert_eq!(
            (seen[0].who, seen[0].param_id.as_deref()),
            (expected, Some("9"))
        );
        assert!(seen[0].request_id.is_some());
        assert_first_line(
            &sink,
            &format!("GET /pets/9 200 route=GET /pets/{{id}} arm={expected} flags=- id="),
        );
    }

    // axum's own route: the app runs, extracts the request id, sees no matched route.
    let response = respond(&app, axum_request(Method::POST, "/app", &cross_site)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(body_text(response.into_body()).await, "app id=true route=-");
    assert_eq!(sink.take().len(), 1);

    // A preflight to an axum route with no OPTIONS handler: answered by the CORS layer.
    let preflight = [("origin", APP), ("access-control-request-method", "DELETE")];
    let request = axum_request(Method::OPTIONS, "/app", &preflight);
    let line = "OPTIONS /app 204 ";
    let (headers, _) = logged(&app, request, StatusCode::NO_CONTENT, &sink, line).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "DELETE");

    // A cross-site write: the guard's 403, before axum or the table runs; logged `OG`.
    let evil = [("origin", EVIL), ("sec-fetch-site", "cross-site")];
    let request = axum_request(Method::POST, "/app", &evil);
    let line = "POST /app 403 route=- arm=- flags=OG";
    logged(&app, request, StatusCode::FORBIDDEN, &sink, line).await;

    // The table's 405 (a path it matched, a method it does not serve), decorated.
    let request = axum_request(Method::DELETE, "/pets/9", &cross_site);
    let line = "DELETE /pets/9 405 route=- arm=- flags=-";
    let (headers, _) = logged(&app, request, StatusCode::METHOD_NOT_ALLOWED, &sink, line).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);

    // Neither axum nor the table: axum's 404, decorated and logged.
    let request = axum_request(Method::GET, "/nothing", &cross_site);
    let line = "GET /nothing 404 ";
    let (headers, _) = logged(&app, request, StatusCode::NOT_FOUND, &sink, line).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn design_1_the_recommended_stack_under_axum_route_layer_does_every_job() {
    let log = seen_log();
    let sink = MemorySink::new();
    let app = axum::Router::new()
        .route("/app", axum::routing::get(axum_handler).post(axum_handler))
        .route_layer(axum_stack(&log, &sink));
    let cross_site = [("origin", APP), ("sec-fetch-site", "cross-site")];

    let request = axum_request(Method::GET, "/app", &cross_site);
    let line = "GET /app 200 route=- arm=- flags=- id=";
    let (headers, body) = logged(&app, request, StatusCode::OK, &sink, line).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(body, "app id=true route=-");

    let evil = [("origin", EVIL), ("sec-fetch-site", "cross-site")];
    let request = axum_request(Method::POST, "/app", &evil);
    let line = "POST /app 403 route=- arm=- flags=OG";
    logged(&app, request, StatusCode::FORBIDDEN, &sink, line).await;

    // A preflight to an axum route with no OPTIONS handler: axum runs its route layers for
    // a path it knows, so the CORS layer answers (axum adds its `Allow` to the answer).
    let preflight = [("origin", APP), ("access-control-request-method", "DELETE")];
    let request = axum_request(Method::OPTIONS, "/app", &preflight);
    let line = "OPTIONS /app 204 route=- arm=- flags=- id=";
    let (headers, _) = logged(&app, request, StatusCode::NO_CONTENT, &sink, line).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "DELETE");

    // `route_layer` runs only for requests axum matched: the table's paths are axum's 404,
    // untouched by the layers (axum's documented behaviour, not ours).
    let response = respond(&app, axum_request(Method::GET, "/pets/9", &cross_site)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    body_text(response.into_body()).await;
    assert!(sink.take().is_empty());
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn design_1_the_recommended_stack_served_by_hyper_does_every_job() {
    let log = seen_log();
    let sink = MemorySink::new();
    let split = CanaryLayer::builder()
        .stable("v1", "50%")
        .arm("v2", Probe::new("v2", &log), "50%")
        .mode(Mode::round_robin())
        .arm_header(http::HeaderName::from_static("x-arm"))
        .build()
        .unwrap()
        .layer(Probe::new("v1", &log));
    let table: Router<hyper::body::Incoming, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /pets/{id}", split)
        .route("POST /pets", Probe::new("create", &log))
        .build()
        .unwrap();
    let cors = cors_layer();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors.clone())
        .layer(trusting(&cors))
        .layer(table)
        .service(Probe::new("app", &log));

    let answers = common::over_http1(
        stack,
        vec![
            cross(Method::GET, "/pets/1", APP),
            cross(Method::GET, "/pets/2", APP),
            preflight("/pets", APP, "POST"),
            preflight("/pets", EVIL, "POST"),
            cross(Method::POST, "/pets", EVIL),
            cross(Method::POST, "/pets", APP),
            cross(Method::PUT, "/pets/1", APP),
            cross(Method::GET, "/about", APP),
            req(Method::HEAD, "/pets/3").body(Req::default()).unwrap(),
        ],
    )
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 204, 403, 403, 200, 405, 200, 200]);
    let acao = |i: usize| {
        answers[i]
            .1
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let app = Some(APP.to_owned());
    assert_eq!(
        (0..9).map(acao).collect::<Vec<_>>(),
        [&app, &app, &app, &None, &None, &app, &app, &app, &None].map(Clone::clone)
    );
    assert_eq!(answers[0].1["x-arm"], "v1");
    assert_eq!(answers[1].1["x-arm"], "v2");
    assert_eq!((answers[0].2.as_str(), answers[1].2.as_str()), ("v1", "v2"));
    assert!(answers[4].2.len() > 1, "the guard's one-line reason");
    assert_eq!(answers[6].1[header::ALLOW], "GET, HEAD");
    assert_eq!(answers[7].2, "app");
    assert_eq!(answers[8].2, "", "HEAD: no body");
    for answer in &answers {
        assert!(answer.1.contains_key("x-request-id"));
    }

    // One record per request, each with what the layers decided, in order.
    let lines = sink.take();
    let shape: Vec<String> = lines
        .iter()
        .map(|l| l.split(" id=").next().unwrap().to_owned())
        .collect();
    assert_eq!(
        shape,
        [
            "GET /pets/1 200 route=GET /pets/{id} arm=v1 flags=-",
            "GET /pets/2 200 route=GET /pets/{id} arm=v2 flags=-",
            "OPTIONS /pets 204 route=- arm=- flags=-",
            "OPTIONS /pets 403 route=- arm=- flags=CP",
            "POST /pets 403 route=- arm=- flags=OG",
            "POST /pets 200 route=POST /pets arm=- flags=-",
            "PUT /pets/1 405 route=- arm=- flags=-",
            "GET /about 200 route=- arm=- flags=-",
            "HEAD /pets/3 200 route=GET /pets/{id} arm=v1 flags=-",
        ]
    );
    let who: Vec<&str> = take(&log).iter().map(|s| s.who).collect();
    assert_eq!(who, ["v1", "v2", "create", "app", "v1"]);
}

// ------------------------------------------------ 2.3 / 2.5 hot reconfiguration

/// A service whose answers wait until released: a request in flight, held open.
#[derive(Clone, Default)]
struct Held {
    release: Arc<tokio::sync::Notify>,
}

impl<B> Service<Request<B>> for Held {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let release = Arc::clone(&self.release);
        Box::pin(async move {
            release.notified().await;
            Ok(Response::new(Full::new(Bytes::from_static(b"held"))))
        })
    }
}

#[tokio::test]
async fn design_2_5_a_cors_swap_never_affects_a_request_in_flight() {
    let layer = cors_layer();
    let held = Held::default();
    let svc = layer.layer(held.clone());
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);

    let mut in_flight = Box::pin(svc.clone().oneshot(cross(Method::GET, "/x", APP)));
    assert!(in_flight.as_mut().poll(&mut cx).is_pending());
    // Swap to a policy that no longer allows APP.
    layer
        .handle()
        .set(CorsLayer::builder().allow_origin("https://other.example"))
        .unwrap();
    held.release.notify_one();
    let response = in_flight.await.unwrap();
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        APP,
        "the request keeps the policy it started with"
    );

    // New requests, on old clones of the service too, get the new policy.
    held.release.notify_one();
    let response = respond(&svc, cross(Method::GET, "/x", APP)).await;
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let response = respond(&svc, preflight("/x", "https://other.example", "GET")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn design_2_5_a_canary_swap_never_moves_a_request_in_flight() {
    let gate = common::Gated::default();
    let layer = CanaryLayer::new(gate.clone(), "100%").unwrap();
    let split = layer.layer(common::Named::new("stable"));
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    // The canary arm was chosen, and is not ready yet.
    let mut in_flight = Box::pin(split.clone().oneshot(Request::new(Req::default())));
    assert!(in_flight.as_mut().poll(&mut cx).is_pending());
    layer.handle().roll_back();
    gate.open();
    let response = in_flight.await.unwrap();
    assert_eq!(arm_of(&response), Some("canary"));
    assert_eq!(body_text(response.into_body()).await, "open");
    // New requests follow the new weights.
    let response = split.oneshot(Request::new(Req::default())).await.unwrap();
    assert_eq!(arm_of(&response), Some("stable"));
}

/// DESIGN 2.3: "the same validation runs on hot reconfiguration": a handle refuses what the
/// builder refuses, lists every problem, and changes nothing.
#[tokio::test]
async fn design_2_3_handles_validate_as_builders_do_and_a_refusal_changes_nothing() {
    let bad = || {
        CorsLayer::builder()
            .allow_origins(["null", "https://a.example/path", "https://B.example"])
            .allow_any_origin()
            .allow_credentials(true)
            .allow_methods(["TRACE"])
            .max_age(90_000)
    };
    let built = bad().build().unwrap_err();
    let layer = cors_layer();
    let swapped = layer.handle().set(bad()).unwrap_err();
    assert_eq!(swapped, built);
    assert!(swapped.problems().len() >= 5, "{swapped}");
    let response = layer
        .layer(Probe::new("x", &seen_log()))
        .oneshot(cross(Method::GET, "/x", APP))
        .await
        .unwrap();
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);

    let canary = CanaryLayer::builder()
        .arm("a", common::Named::new("a"), "10%")
        .arm("b", common::Named::new("b"), "10%")
        .build()
        .unwrap();
    let error = canary
        .handle()
        .set([("a", "-1"), ("b", "NaN"), ("nope", "5")])
        .unwrap_err();
    assert!(error.problems().len() >= 3, "{error}");
    let error = canary
        .handle()
        .set([("stable", "0"), ("a", "0"), ("b", "0")])
        .unwrap_err();
    assert!(!error.problems().is_empty());
    let weights: Vec<_> = canary
        .handle()
        .weights()
        .into_iter()
        .map(|(arm, w)| (arm.name().to_owned(), w))
        .collect();
    assert_eq!(
        weights,
        [
            ("stable".to_owned(), "80%".parse().unwrap()),
            ("a".to_owned(), "10%".parse().unwrap()),
            ("b".to_owned(), "10%".parse().unwrap()),
        ]
    );
}

// ------------------------------------------------ 4. CORS facts DESIGN states

#[tokio::test]
async fn design_4_requests_without_origin_get_a_static_star_or_vary_origin() {
    let log = seen_log();
    let no_origin = || req(Method::GET, "/x").body(Req::default()).unwrap();
    // An exact-origin policy: `Vary: Origin`, appended to the inner `Vary`.
    let response = cors_layer()
        .layer(Probe::new("x", &log))
        .oneshot(no_origin())
        .await
        .unwrap();
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let vary: Vec<String> = response
        .headers()
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(vary.iter().any(|v| v == "accept-encoding"), "{vary:?}");
    assert!(vary.iter().any(|v| v.contains("origin")), "{vary:?}");

    // Any origin without credentials: a static `*`, no `Vary: Origin`, with or without Origin.
    let any = CorsLayer::builder().allow_any_origin().build().unwrap();
    for request in [no_origin(), cross(Method::GET, "/x", EVIL)] {
        let response = respond(&any.layer(Probe::new("x", &log)), request).await;
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let vary: Vec<_> = response.headers().get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["accept-encoding"]);
    }

    // Any origin *with* credentials (the loud opt-in): never `*`, the origin reflected.
    let reflect = CorsLayer::builder()
        .dangerously_reflect_any_origin_with_credentials()
        .allow_credentials(true)
        .build()
        .unwrap();
    let response = respond(&reflect.layer(Probe::new("x", &log)), no_origin()).await;
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let response = respond(
        &reflect.layer(Probe::new("x", &log)),
        cross(Method::GET, "/x", EVIL),
    )
    .await;
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        EVIL
    );
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
}

#[tokio::test]
async fn design_4_preflight_answers_carry_the_preflight_vary_and_only_the_requested_method() {
    let layer = CorsLayer::builder()
        .allow_origin(APP)
        .allow_methods(["PUT", "DELETE", "PATCH"])
        .allow_headers(["x-a", "x-b"])
        .build()
        .unwrap();
    let svc = layer.layer(Probe::new("x", &seen_log()));
    let mut request = preflight("/x", APP, "PATCH");
    request.headers_mut().insert(
        header::ACCESS_CONTROL_REQUEST_HEADERS,
        "x-b,x-a".parse().unwrap(),
    );
    let response = respond(&svc, request).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_METHODS],
        "PATCH"
    );
    let acah = response.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .replace(' ', "");
    assert_eq!(acah, "x-b,x-a");
    let vary: String = vary_of(&response);
    assert_eq!(
        vary,
        "origin,access-control-request-method,access-control-request-headers"
    );
    assert_eq!(body_text(response.into_body()).await, "");

    // Refused: the same Vary, no CORS header.
    let response = svc.oneshot(preflight("/x", APP, "patch")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let vary: String = vary_of(&response);
    assert_eq!(
        vary,
        "origin,access-control-request-method,access-control-request-headers"
    );
}

/// In debug mode the service answers a refused preflight with the partial headers; the
/// decision still says why it was refused, and the response carries the same reason.
#[tokio::test]
async fn design_4_debug_mode_keeps_decision_and_service_in_agreement_on_the_reason() {
    let layer = cors_layer();
    layer.handle().set_debug(true);
    let log = seen_log();
    let svc = layer.layer(Probe::new("x", &log));
    for request in [preflight("/x", APP, "PUT"), preflight("/x", EVIL, "GET")] {
        let parts = head(&request);
        let cors::Decision::PreflightRefused(reason) = layer.check(&parts) else {
            panic!("refused: {:?}", layer.check(&parts));
        };
        let response = respond(&svc, request).await;
        assert_eq!(
            response.extensions().get::<cors::Rejection>(),
            Some(&reason)
        );
        assert!(
            take(&log).is_empty(),
            "the inner is not called in debug mode either"
        );
    }
}

// ------------------------------------------------ 5, 6: what the guard and the split promise

/// DESIGN 1: the guard "trusts what the CORS policy allows", also after a hot swap of the
/// CORS policy (section 2.5): an origin taken off the allow-list is no longer trusted.
#[tokio::test]
async fn design_5_the_guard_follows_the_cors_policy_through_a_swap() {
    let log = seen_log();
    let cors = cors_layer();
    let stack = ServiceBuilder::new()
        .layer(cors.clone())
        .layer(trusting(&cors))
        .service(Probe::new("app", &log));
    let other = "https://other.example";
    let response = respond(&stack, cross(Method::POST, "/x", APP)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = respond(&stack, cross(Method::POST, "/x", other)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    cors.handle()
        .set(
            CorsLayer::builder()
                .allow_origin(other)
                .allow_methods(["POST"]),
        )
        .unwrap();
    let response = respond(&stack, cross(Method::POST, "/x", APP)).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "no longer trusted"
    );
    let response = respond(&stack, cross(Method::POST, "/x", other)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        other
    );
    assert_eq!(take(&log).len(), 2);
}

/// DESIGN 5: the 403 is "replaceable by a user's response builder; the reason is always in
/// the response extensions for AccessLog".
#[tokio::test]
async fn design_5_a_custom_refusal_still_carries_the_reason_for_the_log() {
    let log = seen_log();
    let sink = MemorySink::new();
    let guard = OriginGuardLayer::builder()
        .rejection_response(|rejection, parts| {
            let mut response = Response::new(Bytes::from(format!(
                "{{\"error\":\"{}\",\"path\":\"{}\"}}",
                rejection.reason(),
                parts.uri.path()
            )));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response
        })
        .build()
        .unwrap();
    let stack = ServiceBuilder::new()
        .layer(access_log(&sink))
        .layer(cors_layer())
        .layer(guard)
        .service(Probe::new("app", &log));
    let response = stack.oneshot(cross(Method::PUT, "/x", EVIL)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let reason = response
        .extensions()
        .get::<origin::Rejection>()
        .cloned()
        .expect("the reason stays in the extensions");
    let body = body_text(response.into_body()).await;
    assert!(
        body.contains(reason.reason()) && body.contains("\"path\":\"/x\""),
        "{body}"
    );
    assert!(take(&log).is_empty());
    assert!(sink.take()[0].starts_with("PUT /x 401 route=- arm=- flags=OG"));
}

/// DESIGN 6: "an erroring canary is not silently rerouted to stable", in the full stack.
#[tokio::test]
async fn design_6_an_erroring_canary_is_never_rerouted_to_stable() {
    #[derive(Clone)]
    struct Stable(Arc<Mutex<usize>>);
    impl<B> Service<Request<B>> for Stable {
        type Response = Response<Full<Bytes>>;
        type Error = Boom;
        type Future = std::future::Ready<Result<Self::Response, Boom>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Boom>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<B>) -> Self::Future {
            *self.0.lock().unwrap() += 1;
            std::future::ready(Ok(Response::new(Full::default())))
        }
    }
    let stable = Stable(Arc::default());
    for ready in [Poll::Ready(Ok(())), Poll::Ready(Err(Boom("not ready")))] {
        let canary = Faulty::new(ready.clone());
        let table: Router<Req, Full<Bytes>, Boom> = Router::builder()
            .route(
                "GET /pets/{id}",
                CanaryLayer::new(canary.clone(), "100%")
                    .unwrap()
                    .layer(stable.clone()),
            )
            .build()
            .unwrap();
        let cors = cors_layer();
        let stack = ServiceBuilder::new()
            .layer(access_log(&MemorySink::new()))
            .layer(cors.clone())
            .layer(trusting(&cors))
            .service(table);
        let result = stack.oneshot(cross(Method::GET, "/pets/1", APP)).await;
        let expected = match ready {
            Poll::Ready(Ok(())) => Boom("call"),
            _ => Boom("not ready"),
        };
        assert_eq!(result.err(), Some(expected), "the canary's error, as is");
    }
    assert_eq!(*stable.0.lock().unwrap(), 0, "stable never called");
}

/// DESIGN 4: "Option: strip CORS headers that a backend sets (AWS HTTP API does)."
#[tokio::test]
async fn design_4_cors_headers_a_backend_sets_are_kept_or_stripped_by_option() {
    let backend = tower::service_fn(|_: Request<Req>| async {
        let mut response = Response::new(Full::<Bytes>::default());
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".parse().unwrap());
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "x-secret".parse().unwrap(),
        );
        Ok::<_, Infallible>(response)
    });
    let strip = CorsLayer::builder()
        .allow_origin(APP)
        .strip_inner_cors_headers(true)
        .build()
        .unwrap();
    for origin in [APP, EVIL] {
        let response = respond(&strip.layer(backend), cross(Method::GET, "/x", origin)).await;
        let acao = response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        if origin == APP {
            assert_eq!(acao.unwrap(), APP);
        } else {
            assert!(acao.is_none(), "the backend's `*` is gone");
        }
        assert!(response
            .headers()
            .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .is_none());
    }
}

// ------------------------------------------------ bad input through the whole stack

#[tokio::test]
async fn rules_bad_input_through_the_recommended_stack_gets_a_clear_answer() {
    let (stack, parts) = recommended_stack();
    let huge = "a".repeat(60 * 1024);
    let long_path = format!("/pets/{huge}");
    let mut requests: Vec<(Request<Req>, u16)> = Vec::new();
    let mut with = |method: Method, uri: &str, headers: Vec<(&str, Vec<u8>)>, status: u16| {
        let mut b = req(method, uri);
        for (n, v) in headers {
            b = b.header(n, http::HeaderValue::from_bytes(&v).unwrap());
        }
        requests.push((b.body(Req::default()).unwrap(), status));
    };
    with(Method::GET, "/pets/%FF", vec![], 200);
    with(Method::GET, "//pets/1", vec![], 200);
    with(Method::GET, "/pets/..", vec![], 200);
    with(Method::GET, &long_path, vec![], 200);
    with(Method::GET, "*", vec![], 200);
    with(Method::GET, "http://api.example/pets/1", vec![], 200);
    with(
        Method::GET,
        "/pets/1",
        vec![("origin", b"https://\xff.example".to_vec())],
        200,
    );
    with(
        Method::POST,
        "/pets",
        vec![("origin", b"https://\xff.example".to_vec())],
        403,
    );
    with(
        Method::POST,
        "/pets",
        vec![("origin", huge.clone().into_bytes())],
        403,
    );
    with(
        Method::OPTIONS,
        "/pets",
        vec![
            ("origin", APP.into()),
            ("access-control-request-method", b"POST".to_vec()),
            (
                "access-control-request-headers",
                ",".repeat(1 << 20).into_bytes(),
            ),
        ],
        403,
    );
    with(
        Method::OPTIONS,
        "/pets",
        vec![
            ("origin", APP.into()),
            ("access-control-request-method", b"\xfe".to_vec()),
        ],
        403,
    );
    with(
        Method::POST,
        "/pets",
        vec![("sec-fetch-site", b"\x80\x81".to_vec())],
        403,
    );
    with(
        Method::GET,
        "/pets/1",
        vec![("x-canary", b"\xffalways".to_vec())],
        200,
    );
    with(
        Method::GET,
        "/pets/1",
        vec![("x-request-id", huge.clone().into_bytes())],
        200,
    );
    with(
        Method::GET,
        "/pets/1",
        vec![("traceparent", b"00-zz".to_vec())],
        200,
    );
    with(
        Method::from_bytes(b"M-SEARCH").unwrap(),
        "/pets/1",
        vec![],
        405,
    );
    let n = requests.len();
    for (request, status) in requests {
        let what = format!("{} {:.60}", request.method(), request.uri().to_string());
        let response = respond(&stack, request).await;
        assert_eq!(response.status().as_u16(), status, "{what}");
        let id = response.headers()["x-request-id"].len();
        assert!(id <= 128, "{what}: a bounded request id");
        body_text(response.into_body()).await;
    }
    assert_eq!(
        parts.sink.take().len(),
        n,
        "one record per request, none lost"
    );
}

/// The rest of the crate's services, with a request body that is not `Sync`: the metrics
/// layer (a single-inner layer), an upstream target and a whole `Gateway`.
#[cfg(all(feature = "metrics", feature = "gateway", feature = "upstream"))]
#[tokio::test]
async fn rules_metrics_upstream_and_gateway_are_clone_send_sync_with_a_body_that_is_not_sync() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
    use tower_gateway::metrics::{MetricsLayer, Registry};
    use tower_gateway::upstream::Upstream;

    let log = seen_log();
    let metrics = MetricsLayer::new(Registry::new());
    is_clone_send_sync(&metrics);
    let mut svc = metrics.layer(Probe::new("x", &log));
    is_clone_send_sync(&svc);
    let future = Service::<Request<NotSync>>::call(&mut svc, Request::new(NotSync::default()));
    is_send(&future);
    drop(future);
    let faulty = Faulty::new(Poll::Ready(Ok(())));
    error_is_boom::<Req, _>(&MetricsLayer::new(Registry::new()).layer(faulty));

    let mut upstream = Upstream::new("http://127.0.0.1:9").unwrap();
    is_clone_send_sync(&upstream);
    let future = Service::<Request<NotSync>>::call(&mut upstream, Request::new(NotSync::default()));
    is_send(&future);
    drop(future);

    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET"]
        service = "pets"
        "#,
    )
    .unwrap();
    let services = Services::<NotSync>::new().service("pets", Probe::new("pets", &log));
    let mut gateway = Gateway::from_config(config, services).unwrap();
    is_clone_send_sync(&gateway);
    is_clone_send_sync(&gateway.handle());
    let mut request = Request::new(NotSync::default());
    *request.uri_mut() = "/pets/1".parse().unwrap();
    let future = Service::<Request<NotSync>>::call(&mut gateway, request);
    is_send(&future);
    let response = future.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(route_of(&response), Some("GET /pets/{id}"));
    assert_eq!(body_text(response.into_body()).await, "pets");
}

/// DESIGN 2.8: one crate-wide `body::Body<B>` for the answers the layers make themselves,
/// wrapping the inner body type directly (no boxing, no `Either`).
#[tokio::test]
async fn design_2_8_every_answering_layer_uses_the_crate_body_over_the_inner_body() {
    use tower_gateway::body::Body;
    let log = seen_log();
    let cors: Response<Body<Full<Bytes>>> = cors_layer()
        .layer(Probe::new("x", &log))
        .oneshot(preflight("/x", APP, "GET"))
        .await
        .unwrap();
    assert!(!cors.body().is_inner(), "the layer's own answer");
    let guard: Response<Body<Full<Bytes>>> = trusting(&cors_layer())
        .layer(Probe::new("x", &log))
        .oneshot(cross(Method::POST, "/x", EVIL))
        .await
        .unwrap();
    assert!(!guard.body().is_inner());
    let table: Router<Req, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /x", Probe::new("x", &log))
        .build()
        .unwrap();
    let routed: Response<Body<Full<Bytes>>> =
        respond(&table, req(Method::GET, "/x").body(Req::default()).unwrap()).await;
    assert!(
        routed.body().is_inner(),
        "the target's body, wrapped, not copied"
    );
    let missing: Response<Body<Full<Bytes>>> = table
        .oneshot(req(Method::GET, "/y").body(Req::default()).unwrap())
        .await
        .unwrap();
    assert!(!missing.body().is_inner());
    // A split answers nothing itself: the arm's body type is its body type.
    let split: Response<Full<Bytes>> = CanaryLayer::new(Probe::new("c", &log), "0%")
        .unwrap()
        .layer(Probe::new("s", &log))
        .oneshot(Request::new(Req::default()))
        .await
        .unwrap();
    assert_eq!(body_text(split.into_body()).await, "s");
}

/// DESIGN 3 says the `405`'s `Allow` lists "the most specific matching path's methods"; the
/// Router lists every method the request's path accepts (RFC 9110 §15.5.6, and issue 3's
/// "that path's methods"), so `Allow` never omits a method that would be served. Kept: see
/// the report.
#[tokio::test]
async fn design_3_the_405_allow_header_lists_every_method_that_path_accepts() {
    let log = seen_log();
    let table: Router<Req, Full<Bytes>, Infallible> = Router::builder()
        .route("POST /a/b", Probe::new("post", &log))
        .route("GET /a/{x}", Probe::new("get", &log))
        .route("DELETE /{*rest}", Probe::new("delete", &log))
        .build()
        .unwrap();
    let decision = table.at(&Method::PUT, "/a/b");
    let allowed = decision.allowed_methods().unwrap().header_value().clone();
    assert_eq!(allowed, "GET, HEAD, POST, DELETE");
    let response = table
        .oneshot(req(Method::PUT, "/a/b").body(Req::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], allowed);
    // Every method listed is really served.
    assert!(take(&log).is_empty());
}

/// DESIGN 3: params "compatible with axum's own extraction where the target is an axum
/// handler": an axum handler as a route target extracts `Params` and `MatchedRoute` with
/// axum's `Extension` extractor. (axum's `Path` reads axum's private routing state, which only
/// an `axum::Router` sets: see the report.)
#[tokio::test]
async fn design_3_an_axum_handler_target_extracts_params_and_the_route() {
    async fn pet(
        axum::Extension(params): axum::Extension<Params>,
        axum::Extension(route): axum::Extension<MatchedRoute>,
    ) -> String {
        format!("{} id={}", route.key(), params.get("id").unwrap_or("-"))
    }
    let table: Router<AxumBody, AxumBody, Infallible> = Router::builder()
        .route("GET /pets/{id}", axum::routing::get(pet).with_state(()))
        .build()
        .unwrap();
    let response = table
        .oneshot(axum_request(Method::GET, "/pets/42", &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_text(response.into_body()).await,
        "GET /pets/{id} id=42"
    );
}

/// The project guide: "crate docs and each module open with a runnable example" that asserts
/// (STYLE: "Every module opens with an asserting example under 30 lines"). The doc-tests run
/// them; this checks that each public module's docs open with one.
#[test]
fn rules_the_crate_and_every_public_module_open_with_an_asserting_example() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for file in [
        "lib.rs",
        "body.rs",
        "clock.rs",
        "error.rs",
        "tunnel.rs",
        "router/mod.rs",
        "cors/mod.rs",
        "origin/mod.rs",
        "canary/mod.rs",
        "access_log/mod.rs",
        "metrics/mod.rs",
        "gateway/mod.rs",
        "upstream/mod.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let docs: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .collect();
        // The example starts within the opening paragraphs (before any `#` section).
        let Some(open) = docs.iter().position(|l| l.starts_with("```")) else {
            problems.push(format!("{file}: no example"));
            continue;
        };
        if docs[..open].iter().any(|l| l.starts_with('#')) {
            problems.push(format!("{file}: the example comes after a section"));
        }
        let Some(len) = docs[open + 1..].iter().position(|l| l.starts_with("```")) else {
            problems.push(format!("{file}: unclosed example"));
            continue;
        };
        let example = &docs[open + 1..open + 1 + len];
        if docs[open].contains("no_run") || docs[open].contains("ignore") {
            problems.push(format!("{file}: the opening example does not run"));
        }
        if !example.iter().any(|l| l.contains("assert")) {
            problems.push(format!("{file}: the opening example asserts nothing"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// DESIGN 2.4: `router::MatchedRoute` carries the template, the route name and the method
/// key, the same on the request (the target) and on the response (the access log).
#[tokio::test]
async fn design_2_4_the_matched_route_carries_template_name_and_key_both_ways() {
    let seen = Arc::new(Mutex::new(None));
    let target = {
        let seen = Arc::clone(&seen);
        tower::service_fn(move |request: Request<Req>| {
            *seen.lock().unwrap() = request.extensions().get::<MatchedRoute>().cloned();
            async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())) }
        })
    };
    let table: Router<Req, Full<Bytes>, Infallible> = Router::builder()
        .named_route("get-pet", "GET /pets/{id}", target.clone())
        .route((Method::PATCH, "/pets/{proxy+}"), target)
        .build()
        .unwrap();
    let sink = MemorySink::new();
    let stack = ServiceBuilder::new()
        .layer(
            AccessLogLayer::new(sink.clone()).format(
                LogFormat::template("$context.routeKey|$context.resourcePath|$context.routeName")
                    .unwrap(),
            ),
        )
        .service(table);
    for (method, path, key, template, name, line) in [
        (
            Method::GET,
            "/pets/1",
            "GET /pets/{id}",
            "/pets/{id}",
            Some("get-pet"),
            "GET /pets/{id}|/pets/{id}|get-pet",
        ),
        (
            Method::PATCH,
            "/pets/1/a",
            "PATCH /pets/{proxy+}",
            "/pets/{proxy+}",
            None,
            "PATCH /pets/{proxy+}|/pets/{proxy+}|-",
        ),
    ] {
        let response = respond(
            &stack,
            req(method.clone(), path).body(Req::default()).unwrap(),
        )
        .await;
        let on_response = response
            .extensions()
            .get::<MatchedRoute>()
            .cloned()
            .unwrap();
        body_text(response.into_body()).await;
        let on_request = seen.lock().unwrap().take().unwrap();
        assert_eq!(on_request, on_response);
        assert_eq!(on_response.key(), key);
        assert_eq!(on_response.template(), template);
        assert_eq!(on_response.name(), name);
        assert_eq!(on_response.method(), Some(&method));
        assert_eq!(sink.take(), [line]);
    }
}

/// DESIGN 1: "Every layer works alone ... and in any order a user picks". Each of the six
/// orders of AccessLog, CorsLayer and OriginGuard gives the same answers; the access log
/// records exactly the requests that reach it.
#[tokio::test]
async fn design_1_any_order_of_the_single_inner_layers_gives_the_same_answers() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum L {
        Log,
        Cors,
        Guard,
    }
    macro_rules! stack {
        ($sink:expr, $log:expr, $a:ident, $b:ident, $c:ident) => {{
            let cors = cors_layer();
            let guard = trusting(&cors);
            let access = access_log($sink);
            let _ = (&cors, &guard, &access);
            macro_rules! pick {
                (Log) => {
                    access.clone()
                };
                (Cors) => {
                    cors.clone()
                };
                (Guard) => {
                    guard.clone()
                };
            }
            (
                [L::$a, L::$b, L::$c],
                ServiceBuilder::new()
                    .layer(pick!($a))
                    .layer(pick!($b))
                    .layer(pick!($c))
                    .service(Probe::new("app", $log))
                    .boxed_clone(),
            )
        }};
    }
    async fn answers(
        order: [L; 3],
        svc: tower::util::BoxCloneService<
            Request<Req>,
            Response<impl HttpBody<Data = Bytes, Error = impl std::fmt::Debug>>,
            Infallible,
        >,
        sink: &MemorySink,
        log: &Arc<Mutex<Vec<Seen>>>,
    ) {
        let position = |l: L| order.iter().position(|x| *x == l).unwrap();
        let cases = [
            (cross(Method::GET, "/x", APP), 200, Some(APP), true),
            (preflight("/x", APP, "DELETE"), 204, Some(APP), false),
            (preflight("/x", EVIL, "DELETE"), 403, None, false),
            (cross(Method::POST, "/x", EVIL), 403, None, false),
            (cross(Method::POST, "/x", APP), 200, Some(APP), true),
        ];
        for (request, status, acao, inner) in cases {
            let what = format!("{order:?} {} {:?}", request.method(), request.headers());
            let response = respond(&svc, request).await;
            assert_eq!(response.status().as_u16(), status, "{what}");
            let got = response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), acao, "{what}");
            body_text(response.into_body()).await;
            assert_eq!(take(log).len(), usize::from(inner), "{what}");
            // The log sees the request unless a layer outside it answered.
            let answered_by = match status {
                204 | 403 if acao.is_some() || what.contains("OPTIONS") => Some(L::Cors),
                403 => Some(L::Guard),
                _ => None,
            };
            let logged = answered_by.map_or(true, |by| position(by) > position(L::Log));
            assert_eq!(sink.take().len(), usize::from(logged), "{what}");
        }
    }
    let sink = MemorySink::new();
    let log = seen_log();
    let (o, s) = stack!(&sink, &log, Log, Cors, Guard);
    answers(o, s, &sink, &log).await;
    let (o, s) = stack!(&sink, &log, Log, Guard, Cors);
    answers(o, s, &sink, &log).await;
    let (o, s) = stack!(&sink, &log, Cors, Log, Guard);
    answers(o, s, &sink, &log).await;
    let (o, s) = stack!(&sink, &log, Cors, Guard, Log);
    answers(o, s, &sink, &log).await;
    let (o, s) = stack!(&sink, &log, Guard, Log, Cors);
    answers(o, s, &sink, &log).await;
    let (o, s) = stack!(&sink, &log, Guard, Cors, Log);
    answers(o, s, &sink, &log).await;
}

/// DESIGN 1 / 10: `Gateway` builds the order of section 1 from one configuration: the same
/// answers and the same facts in the log as the stack composed by hand.
#[cfg(feature = "gateway")]
#[tokio::test]
async fn design_1_the_gateway_builds_the_recommended_order() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
    let log = seen_log();
    let sink = MemorySink::new();
    let config: GatewayConfig = toml::from_str(&format!(
        r#"
        fallback = "app"

        [[routes]]
        path = "/pets/{{id}}"
        methods = ["GET"]
        service = "v1"
        canary = {{ service = "v2", weight = 50, mode = "round-robin" }}

        [[routes]]
        path = "/pets"
        methods = ["POST"]
        service = "create"

        [cors]
        allow_origins = ["{APP}"]
        allow_methods = ["GET", "POST", "DELETE"]

        [access_log]
        format = "{TEMPLATE}"
        sink = "code"
        "#
    ))
    .unwrap();
    let services = Services::new()
        .service("v1", Probe::new("v1", &log))
        .service("v2", Probe::new("v2", &log))
        .service("create", Probe::new("create", &log))
        .service("app", Probe::new("app", &log))
        .access_log_sink(sink.clone());
    let gateway = Gateway::from_config(config, services).unwrap();
    let cases = [
        (
            cross(Method::GET, "/pets/1", APP),
            200,
            "GET /pets/1 200 route=GET /pets/{id} arm=stable flags=-",
        ),
        (
            cross(Method::GET, "/pets/2", APP),
            200,
            "GET /pets/2 200 route=GET /pets/{id} arm=canary flags=-",
        ),
        (
            preflight("/pets", APP, "POST"),
            204,
            "OPTIONS /pets 204 route=- arm=- flags=-",
        ),
        (
            preflight("/pets", EVIL, "POST"),
            403,
            "OPTIONS /pets 403 route=- arm=- flags=CP",
        ),
        (
            cross(Method::POST, "/pets", EVIL),
            403,
            "POST /pets 403 route=- arm=- flags=OG",
        ),
        (
            cross(Method::POST, "/pets", APP),
            200,
            "POST /pets 200 route=POST /pets arm=- flags=-",
        ),
        (
            cross(Method::PUT, "/pets/1", APP),
            405,
            "PUT /pets/1 405 route=- arm=- flags=-",
        ),
        (
            cross(Method::GET, "/about", APP),
            200,
            "GET /about 200 route=- arm=- flags=-",
        ),
    ];
    for (request, status, line) in cases {
        let allowed = request
            .headers()
            .get(header::ORIGIN)
            .is_some_and(|o| o == APP);
        let response = respond(&gateway, request).await;
        assert_eq!(response.status().as_u16(), status, "{line}");
        assert_eq!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_some(),
            allowed,
            "{line}"
        );
        body_text(response.into_body()).await;
        let lines = sink.take();
        assert_eq!(lines.len(), 1, "{line}");
        assert_eq!(lines[0].split(" id=").next().unwrap(), line);
    }
    let who: Vec<&str> = take(&log).iter().map(|s| s.who).collect();
    assert_eq!(who, ["v1", "v2", "create", "app"]);
}
