//! The demo gateway: a real HTTP server on 127.0.0.1 whose routes go through tower-gateway.
//!
//! ```text
//! cargo run --example gateway          # PORT=8080 cargo run --example gateway
//! ```
//!
//! One route table sends public paths to in-process backends; requests no route matches fall
//! through to the "legacy app" the table wraps, as a gateway in front of an existing service.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{service_fn, Layer};
use tower_gateway::router::{MatchedRoute, Params, Router};

type Reply = Response<Full<Bytes>>;

fn json(status: StatusCode, body: String) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The "pets" backend: answers with what the gateway told it about the request.
async fn pets(req: Request<Incoming>) -> Result<Reply, Infallible> {
    let route = req
        .extensions()
        .get::<MatchedRoute>()
        .map(|m| m.key().to_owned())
        .unwrap_or_default();
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
        format!("{{\"backend\":\"pets\",\"route\":{route:?},\"id\":{id}}}\n"),
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
    let table: Router<Incoming, Full<Bytes>, Infallible> = Router::builder()
        .named_route("list-pets", "GET /pets", service_fn(pets))
        .named_route("get-pet", "GET /pets/{id}", service_fn(pets))
        .named_route("create-pet", "POST /pets", service_fn(pets))
        .route("GET /pets/dog/1", service_fn(pets))
        .nest("/files", service_fn(files))
        .build()?;
    // The table as a layer: its fallback is the legacy app.
    let gateway = table.layer(service_fn(legacy));

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => 3000,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("tower-gateway demo listening on http://{addr}");
    println!("try:");
    println!("  curl -i http://{addr}/pets/42             # GET /pets/{{id}}");
    println!("  curl -i http://{addr}/pets/dog/1          # the static route wins");
    println!("  curl -i -X DELETE http://{addr}/pets/42   # 405 with Allow: GET, HEAD");
    println!("  curl -I http://{addr}/pets                # HEAD served by the GET route");
    println!("  curl -i http://{addr}/files/a/b.txt       # nested, prefix stripped");
    println!("  curl -i http://{addr}/anything/else       # falls through to the legacy app");

    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(gateway.clone());
        tokio::spawn(async move {
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}
