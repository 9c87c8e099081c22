#![cfg(feature = "router")]
//! The Router composed with axum: in front of an axum app (as a `Layer` via `ServiceBuilder`),
//! and inside one (via `axum::Router::layer`, which proves the Clone/Send/Sync/error bounds).

mod common;

use std::convert::Infallible;

use axum::body::Body;
use axum::routing::{get, post};
use common::body_text;
use http::{header, Request, Response, StatusCode};
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_gateway::router::{MatchedRoute, Router};

fn table() -> Router<Body, Body, Infallible> {
    Router::builder()
        .named_route(
            "pets",
            "GET /pets/{id}",
            service_fn(|req: Request<Body>| async move {
                let id = req
                    .extensions()
                    .get::<tower_gateway::router::Params>()
                    .and_then(|p| p.get("id").map(str::to_owned))
                    .unwrap_or_default();
                Ok::<_, Infallible>(Response::new(Body::from(format!("pet {id}"))))
            }),
        )
        .build()
        .expect("table builds")
}

fn app() -> axum::Router {
    axum::Router::new()
        .route("/hello", get(|| async { "hello from axum" }))
        .route("/pets/{id}", post(|| async { "axum's own pets route" }))
}

fn req(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn router_in_front_of_an_axum_app() {
    let svc = ServiceBuilder::new().layer(table()).service(app());

    let response = svc.clone().oneshot(req("GET", "/pets/7")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .extensions()
            .get::<MatchedRoute>()
            .map(|m| m.key().to_owned()),
        Some("GET /pets/{id}".to_owned())
    );
    assert_eq!(body_text(response.into_body()).await, "pet 7");

    // Everything the table does not know goes to the app.
    let response = svc.clone().oneshot(req("GET", "/hello")).await.unwrap();
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(body_text(response.into_body()).await, "hello from axum");

    // The app's own 404.
    let response = svc.clone().oneshot(req("GET", "/missing")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // The path is in the table, but not the method: the table answers 405 honestly.
    let response = svc.oneshot(req("POST", "/pets/7")).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
}

#[tokio::test]
async fn router_as_an_axum_layer() {
    // `axum::Router::layer` wraps every axum route with our table: the bounds check is the
    // point (Clone + Send + Sync, Error = Infallible, a response axum can convert).
    let app = app().layer(table());
    let response = app.clone().oneshot(req("GET", "/hello")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "hello from axum");
    let response = app.oneshot(req("GET", "/pets/9")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "pet 9");
}

#[tokio::test]
async fn axum_app_as_a_route_target_via_nest() {
    let table: Router<Body, Body, Infallible> =
        Router::builder().nest("/v1", app()).build().unwrap();
    let response = table.oneshot(req("GET", "/v1/hello")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "hello from axum");
}

/// Every layer on one axum app, as `axum::Router::layer` takes them: compiling proves each is
/// `Clone + Send + Sync` with `Error = Infallible` and a response axum can convert.
#[cfg(all(
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log"
))]
#[tokio::test]
async fn every_layer_on_an_axum_app() {
    use http_body_util::BodyExt;
    use tower::Layer;
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    use tower_gateway::canary::{Arm, CanaryLayer, Mode};
    use tower_gateway::CorsLayer;

    let v2 = service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("v2")))
    });
    let v1 = service_fn(|_: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::from("v1")))
    });
    // Round-robin at 50%: calls alternate v1, v2 deterministically.
    let split = CanaryLayer::builder()
        .stable("v1", "50%")
        .arm("v2", v2, "50%")
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(v1);
    let table: Router<Body, Body, Infallible> = Router::builder()
        .route("GET /pets/{id}", split)
        .build()
        .unwrap();
    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .allow_methods(["GET", "POST", "PUT"])
            .build()
            .unwrap(),
    );
    let sink = MemorySink::new();
    let log = AccessLogLayer::new(sink.clone()).format(
        LogFormat::template(
            "$context.routeKey $context.status $context.canaryArm $context.responseFlags",
        )
        .unwrap(),
    );

    let app = app().layer(table).layer(guard).layer(cors).layer(log);

    let call = |req: Request<Body>| {
        let app = app.clone();
        async move {
            let response = app.oneshot(req).await.unwrap();
            let status = response.status();
            let acao = response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap().to_owned());
            let arm = response
                .extensions()
                .get::<Arm>()
                .map(|a| a.name().to_owned());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                acao,
                arm,
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    };
    let get = |uri: &str| {
        Request::get(uri)
            .header("origin", "https://app.example.com")
            .body(Body::empty())
            .unwrap()
    };

    let first = call(get("/pets/1")).await;
    let second = call(get("/pets/2")).await;
    let mut bodies = [first.3.clone(), second.3.clone()];
    bodies.sort();
    assert_eq!(
        bodies,
        ["v1", "v2"],
        "round-robin serves each arm once in two calls"
    );
    assert_eq!(first.1.as_deref(), Some("https://app.example.com"));
    assert_eq!(first.2.as_deref(), Some(first.3.as_str()));

    // A cross-site write from another origin: 403 from the guard, no CORS headers.
    let evil = Request::post("/pets/1")
        .header("host", "api.example.com")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let refused = call(evil).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN);
    assert_eq!(refused.1, None);

    // A preflight is answered by the CORS layer before anything else runs.
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/pets/1")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "PUT")
        .body(Body::empty())
        .unwrap();
    let pre = call(preflight).await;
    assert_eq!(pre.0, StatusCode::NO_CONTENT);

    let lines = sink.lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].starts_with("GET /pets/{id} 200 "), "{lines:?}");
    assert!(lines[0].ends_with(&format!("{} -", first.3)), "{lines:?}");
    assert!(
        lines[2].contains(" 403 ") && lines[2].ends_with("OG"),
        "{lines:?}"
    );
    assert!(lines[3].starts_with("- 204 "), "{lines:?}");
}
