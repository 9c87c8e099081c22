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
