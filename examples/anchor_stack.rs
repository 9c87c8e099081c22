//! The comparison server for the load test in the README: the demo gateway's pets routes as the
//! established crates build them — tower-http 0.7's `TraceLayer` (one INFO line per request to
//! stdout through `tracing_appender::non_blocking`), `CorsLayer` and `CsrfLayer` around an
//! `axum::Router` — served exactly as `examples/gateway.rs` serves ours (hyper HTTP/1.1, one task
//! per connection).
//!
//! ```text
//! PORT=3100 cargo run --release --example anchor_stack > /dev/null
//! wrk -t1 -c64 -d10s http://127.0.0.1:3100/pets/42
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::Path;
use axum::routing::get;
use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{service_fn, ServiceBuilder, ServiceExt};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::csrf::CsrfLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

fn json(status: StatusCode, body: String) -> impl axum::response::IntoResponse {
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (writer, _guard) = tracing_appender::non_blocking(std::io::stdout());
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(Level::INFO)
        .init();

    let app = axum::Router::new()
        .route(
            "/pets/{id}",
            get(|Path(id): Path<String>| async move {
                json(
                    StatusCode::OK,
                    format!("{{\"backend\":\"pets-v1\",\"arm\":\"-\",\"route\":\"GET /pets/{{id}}\",\"id\":{id:?}}}\n"),
                )
            }),
        )
        .route(
            "/pets",
            get(|| async { json(StatusCode::OK, "{\"backend\":\"pets-v1\"}\n".to_owned()) })
                .post(|| async { json(StatusCode::OK, "{\"backend\":\"pets-v1\"}\n".to_owned()) }),
        )
        .route(
            "/pets/dog/1",
            get(|| async { json(StatusCode::OK, "{\"backend\":\"pets-v1\"}\n".to_owned()) }),
        )
        .fallback(|| async { json(StatusCode::NOT_FOUND, "{\"backend\":\"legacy\"}\n".to_owned()) });

    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin: &HeaderValue, _| {
            origin.as_bytes().starts_with(b"http://localhost:")
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    let stack = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(cors)
        .layer(CsrfLayer::new())
        .service(app);

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    eprintln!(
        "tower-http + axum comparison stack on http://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = listener.accept().await?;
        let stack = stack.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                stack.clone().oneshot(req)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await;
            Ok::<_, Infallible>(())
        });
    }
}
