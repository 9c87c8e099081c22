//! The demo gateway: a real HTTP server on 127.0.0.1 whose traffic goes through every
//! tower-gateway layer.
//!
//! ```text
//! cargo run --example gateway          # PORT=8080 cargo run --example gateway
//! ```
//!
//! Outermost first: metrics (scraped at `GET /metrics`), an access log (combined format, on
//! stdout, written off the request path), CORS for one front-end origin, the origin guard
//! (trusting what CORS allows), and one route table. `GET /pets/{id}` is split between two in-process backends, v1 (stable) and v2 (a 10%
//! canary); requests no route matches fall through to the "legacy app" the table wraps.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{service_fn, Layer, ServiceBuilder};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, NonBlocking};
use tower_gateway::canary::{Arm, CanaryLayer};
use tower_gateway::metrics::Registry;
use tower_gateway::router::{MatchedRoute, Params, Router};
use tower_gateway::{CorsLayer, OriginGuardLayer};

type Reply = Response<Full<Bytes>>;

/// The front-end origin allowed to call the API from a browser.
const FRONT_END: &str = "http://localhost:8080";

fn json(status: StatusCode, body: String) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A pets backend: answers with its version and what the gateway told it about the request.
async fn pets(version: &'static str, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let route = req
        .extensions()
        .get::<MatchedRoute>()
        .map(|m| m.key().to_owned())
        .unwrap_or_default();
    let arm = req
        .extensions()
        .get::<Arm>()
        .map_or("-".to_owned(), |a| a.name().to_owned());
    let id = req
        .extensions()
        .get::<Params>()
        .and_then(|p| p.decoded("id"))
        .map(|decoded| match decoded {
            Ok(id) => format!("{id:?}"),
            Err(_) => "\"<not UTF-8>\"".to_owned(),
        })
        .unwrap_or_else(|| "null".to_owned());
    Ok(json(
        StatusCode::OK,
        format!(
            "{{\"backend\":\"pets-{version}\",\"arm\":{arm:?},\"route\":{route:?},\"id\":{id}}}\n"
        ),
    ))
}

/// The "files" backend, mounted under `/files` with the prefix stripped.
async fn files(req: Request<Incoming>) -> Result<Reply, Infallible> {
    Ok(json(
        StatusCode::OK,
        format!(
            "{{\"backend\":\"files\",\"path\":{:?}}}\n",
            req.uri().path()
        ),
    ))
}

/// The existing app the gateway sits in front of: it gets everything the table does not route.
async fn legacy(req: Request<Incoming>) -> Result<Reply, Infallible> {
    Ok(json(
        StatusCode::NOT_FOUND,
        format!(
            "{{\"backend\":\"legacy\",\"message\":\"no such page\",\"path\":{:?}}}\n",
            req.uri().path()
        ),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let v1 = service_fn(|req| pets("v1", req));
    let v2 = service_fn(|req| pets("v2", req));
    let pets_split = CanaryLayer::builder()
        .stable("v1", "90%")
        .arm("v2", v2, "10%")
        .build()?
        .layer(v1);

    // Per-route and per-arm counts and latencies, scraped at GET /metrics.
    let metrics = Registry::new();

    let table: Router<Incoming, Full<Bytes>, Infallible> = Router::builder()
        .named_route("get-pet", "GET /pets/{id}", pets_split)
        .named_route("list-pets", "GET /pets", service_fn(|req| pets("v1", req)))
        .named_route(
            "create-pet",
            "POST /pets",
            service_fn(|req| pets("v1", req)),
        )
        .route("GET /pets/dog/1", service_fn(|req| pets("v1", req)))
        .nest("/files", service_fn(files))
        .named_route("metrics", "GET /metrics", metrics.service())
        .build()?;

    let cors = CorsLayer::builder()
        .allow_origin(FRONT_END)
        .allow_methods(["GET", "POST"])
        .allow_headers(["content-type"])
        .max_age(600)
        .build()?;
    let guard = OriginGuardLayer::builder().trust_cors(&cors).build()?;
    // Keep the guard alive: dropping it flushes the last records and stops the writer.
    let (log_writer, _flush_guard) = NonBlocking::new(std::io::stdout())?;
    let log = AccessLogLayer::new(log_writer).format(LogFormat::apache_combined());

    let gateway = ServiceBuilder::new()
        .layer(metrics.layer())
        .layer(log)
        .layer(cors)
        .layer(guard)
        .layer(table)
        .service(service_fn(legacy));

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    println!("tower-gateway demo listening on http://{addr}");
    println!("try:");
    println!("  curl -i http://{addr}/pets/42             # v1, or v2 for about 1 call in 10");
    println!("  curl -i -H 'x-canary: always' http://{addr}/pets/42   # force the canary");
    println!("  curl -i http://{addr}/pets/dog/1          # the static route wins");
    println!("  curl -i -X DELETE http://{addr}/pets/42   # 405 with Allow: GET, HEAD");
    println!("  curl -i http://{addr}/files/a/b.txt       # nested, prefix stripped");
    println!("  curl -i http://{addr}/anything/else       # falls through to the legacy app");
    println!("  curl -i -X OPTIONS -H 'Origin: {FRONT_END}' -H 'Access-Control-Request-Method: POST' http://{addr}/pets");
    println!("  curl -i -X POST -H 'Origin: https://evil.example' http://{addr}/pets   # 403");
    println!("  curl -s http://{addr}/metrics             # Prometheus text: per route and arm");
    println!("access log (combined format):");

    loop {
        let (stream, peer) = listener.accept().await?;
        let gateway = gateway.clone();
        tokio::spawn(async move {
            // Hand the peer address to the access log.
            let service = service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(peer);
                tower::ServiceExt::oneshot(gateway.clone(), req)
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}
