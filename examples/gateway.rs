//! The demo gateway: a real HTTP server on 127.0.0.1 built from one configuration file.
//!
//! ```text
//! cargo run --example gateway                      # reads examples/gateway.toml
//! cargo run --example gateway -- my-gateway.toml   # or another file
//! PORT=8080 cargo run --example gateway            # the port from PORT, else the file, else 3000
//! ```
//!
//! The file (see `examples/gateway.toml`) routes `/pets/{id}` to two in-process backends, v1
//! and a 10% v2 canary; `/inventory/...` to an HTTP upstream (a third in-process server the demo
//! starts on the address the file names); `/ws` to a WebSocket echo server (also in-process);
//! `/metrics` to the Prometheus exposition; and
//! everything else to a "legacy" app. Around the table: metrics, a combined access log on
//! stdout naming the route and the canary arm, CORS for `http://localhost:*`, and the origin
//! guard.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::service_fn;
use tower_gateway::canary::Arm;
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
use tower_gateway::router::{MatchedRoute, Params};

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

/// The inventory service behind the upstream route: a separate HTTP server, as a real backend
/// would be. It echoes what reached it, so the rewrite and forwarded headers are visible.
async fn inventory(req: Request<Incoming>) -> Result<Reply, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    Ok(json(
        StatusCode::OK,
        format!(
            "{{\"backend\":\"inventory\",\"uri\":{:?},\"host\":{:?},\"forwarded\":{:?},\"x-forwarded-for\":{:?}}}\n",
            req.uri().to_string(),
            header("host"),
            header("forwarded"),
            header("x-forwarded-for"),
        ),
    ))
}

/// The WebSocket backend behind `/ws`: echoes every message, prefixed with `echo: `.
async fn echo_websockets(listener: TcpListener) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                let reply = match message {
                    Message::Text(text) => Message::text(format!("echo: {}", text.as_str())),
                    Message::Binary(bytes) => Message::Binary(bytes),
                    // Read on: tungstenite answers the close frame, then the stream ends.
                    Message::Close(_) => continue,
                    _ => continue,
                };
                if ws.send(reply).await.is_err() {
                    break;
                }
            }
        });
    }
}

/// Serves `service` on `listener`, one task per connection, handing the peer address to the
/// service (the access log and the upstream's `X-Forwarded-For` read it).
fn serve<S, B>(listener: TcpListener, service: S)
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let service = service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(peer);
                    tower::ServiceExt::oneshot(service.clone(), req)
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .with_upgrades()
                    .await
                {
                    eprintln!("connection error: {e}");
                }
            });
        }
    });
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml").to_owned()
    });
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let config: GatewayConfig = toml::from_str(&text).map_err(|e| format!("{path}: {e}"))?;

    // The in-process backends play the part of every loopback upstream the file names: the
    // inventory service for http:// URLs, the echo server for WebSocket routes.
    let upstreams = config
        .routes
        .iter()
        .filter_map(|route| Some((route, route.upstream.as_deref()?)));
    for (route, url) in upstreams {
        let Some(addr) = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .and_then(|authority| authority.parse::<SocketAddr>().ok())
            .filter(|addr| addr.ip().is_loopback())
        else {
            continue;
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot start the backend for {url} on {addr}: {e}"))?;
        if route.websocket {
            tokio::spawn(echo_websockets(listener));
        } else {
            serve(listener, service_fn(inventory));
        }
    }

    let services = Services::new()
        .service("pets-v1", service_fn(|req| pets("v1", req)))
        .service("pets-v2", service_fn(|req| pets("v2", req)))
        .service("legacy", service_fn(legacy));
    let port = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT={p:?} is not a port number"))?,
        Err(_) => config.port.unwrap_or(3000),
    };
    // Every configuration problem at once, each with its place in the file.
    let gateway = Gateway::from_config(config, services).map_err(|error| {
        let mut text = format!("{path}: {} problem(s):", error.problems().len());
        for problem in error.problems() {
            text.push_str(&format!(
                "\n  {}: {}",
                problem.location().unwrap_or("-"),
                problem.reason()
            ));
        }
        text
    })?;

    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    println!("tower-gateway demo listening on http://{addr} (config: {path})");
    println!("try:");
    println!("  curl -i http://{addr}/pets/42             # v1, or v2 for about 1 call in 10");
    println!("  curl -i -H 'x-canary: always' http://{addr}/pets/42   # force the canary");
    println!("  curl -i http://{addr}/pets/dog/1          # the static route wins");
    println!("  curl -i -X DELETE http://{addr}/pets/42   # 405 with Allow: GET, HEAD");
    println!("  curl -i 'http://{addr}/inventory/items?color=red'   # the HTTP upstream");
    println!("  curl -i http://{addr}/anything/else       # falls through to the legacy app");
    println!("  curl -i -X OPTIONS -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: POST' http://{addr}/pets");
    println!("  curl -i -X POST -H 'Origin: https://evil.example' http://{addr}/pets   # 403");
    println!("  curl -s http://{addr}/metrics             # Prometheus text: per route and arm");
    println!(
        "  websocat ws://{addr}/ws                   # WebSocket echo (cargo install websocat)"
    );
    println!("access log (combined format, then route and arm):");

    let handle = gateway.handle();
    serve(listener, gateway);
    tokio::signal::ctrl_c().await?;
    handle.flush_logs();
    Ok(())
}
