#![cfg(feature = "router")]
//! The Router served by hyper through `TowerToHyperService`, over an in-memory duplex pipe:
//! real HTTP/1.1 bytes, no socket.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use tower::service_fn;
use tower_gateway::router::{Params, Router};

async fn serve_and_send(
    requests: Vec<Request<Full<Bytes>>>,
) -> Vec<(StatusCode, http::HeaderMap, String)> {
    let router: Router<Incoming, Full<Bytes>, Infallible> = Router::builder()
        .route(
            "GET /pets/{id}",
            service_fn(|req: Request<Incoming>| async move {
                let id = req
                    .extensions()
                    .get::<Params>()
                    .unwrap()
                    .get("id")
                    .unwrap()
                    .to_owned();
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!("pet {id}")))))
            }),
        )
        .build()
        .unwrap();

    common::over_http1(router, requests).await
}

fn req(method: &str, uri: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.test")
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn routes_404_405_and_head_over_http1() {
    let answers = serve_and_send(vec![
        req("GET", "/pets/42?verbose=1"),
        req("GET", "/nope"),
        req("DELETE", "/pets/42"),
        req("HEAD", "/pets/42"),
        req("GET", "/pets/%2F"),
    ])
    .await;

    assert_eq!(answers[0].0, StatusCode::OK);
    assert_eq!(answers[0].2, "pet 42");

    assert_eq!(answers[1].0, StatusCode::NOT_FOUND);
    assert_eq!(answers[1].2, "");

    assert_eq!(answers[2].0, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answers[2].1[header::ALLOW], "GET, HEAD");

    assert_eq!(answers[3].0, StatusCode::OK);
    assert_eq!(answers[3].1[header::CONTENT_LENGTH], "6");
    assert_eq!(answers[3].2, "");

    assert_eq!(answers[4].2, "pet %2F");
}

/// The whole stack served by hyper: a preflight, a routed call and a refusal, each logged once
/// at the last body byte with the bytes hyper actually sent.
#[cfg(all(feature = "cors", feature = "origin", feature = "access-log"))]
#[tokio::test]
async fn every_layer_over_http1() {
    use tower::ServiceBuilder;
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    use tower_gateway::CorsLayer;

    let table: Router<Incoming, Full<Bytes>, Infallible> = Router::builder()
        .route(
            "POST /orders",
            service_fn(|_: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"created"))))
            }),
        )
        .build()
        .unwrap();
    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://shop.example")
            .allow_headers(["content-type"])
            .build()
            .unwrap(),
    );
    let sink = MemorySink::new();
    let log = AccessLogLayer::new(sink.clone()).format(
        LogFormat::template("$context.httpMethod $context.path $context.status $context.responseLength $context.responseFlags")
            .unwrap(),
    );
    let stack = ServiceBuilder::new()
        .layer(log)
        .layer(cors)
        .layer(guard)
        .service(table);

    let with = |method: &str, origin: &str| {
        Request::builder()
            .method(method)
            .uri("/orders")
            .header(header::HOST, "api.example")
            .header(header::ORIGIN, origin)
    };
    let preflight = with("OPTIONS", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(Full::default())
        .unwrap();
    let post = with("POST", "https://shop.example")
        .body(Full::default())
        .unwrap();
    let evil = with("POST", "https://evil.example")
        .body(Full::default())
        .unwrap();
    let answers = common::over_http1(stack, vec![preflight, post, evil]).await;

    let (status, headers, _) = &answers[0];
    assert_eq!(*status, StatusCode::NO_CONTENT);
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(headers["access-control-allow-headers"], "content-type");

    let (status, _, body) = &answers[1];
    assert_eq!(*status, StatusCode::OK);
    assert_eq!(body, "created");

    let (status, headers, _) = &answers[2];
    assert_eq!(*status, StatusCode::FORBIDDEN);
    assert!(headers.get("access-control-allow-origin").is_none());

    let lines = sink.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "OPTIONS /orders 204 0 -");
    assert_eq!(lines[1], "POST /orders 200 7 -");
    assert!(lines[2].starts_with("POST /orders 403 "), "{lines:?}");
    assert!(lines[2].ends_with(" OG"), "{lines:?}");
}
