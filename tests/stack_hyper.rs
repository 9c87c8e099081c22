#![cfg(feature = "router")]
//! The Router served by hyper through `TowerToHyperService`, over an in-memory duplex pipe:
//! real HTTP/1.1 bytes, no socket.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::body_text;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
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

    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_io), TowerToHyperService::new(router))
            .await
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client_io))
        .await
        .unwrap();
    let client = tokio::spawn(conn);

    let mut out = Vec::new();
    for request in requests {
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        out.push((parts.status, parts.headers, body_text(body).await));
    }
    drop(sender);
    client.await.unwrap().unwrap();
    server.await.unwrap().unwrap();
    out
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
