//! A recording hyper backend and the helpers that read what it saw, for the proxy tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub type Body = BoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// What a backend saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|e| match e {}).boxed()
}

/// A hyper backend on 127.0.0.1:0 that records every request (its whole body read) and
/// answers with `reply(seen)`.
pub async fn backend<F>(reply: F) -> (SocketAddr, Log)
where
    F: Fn(&Seen) -> Response<Body> + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let reply = Arc::new(reply);
    let seen_log = log.clone();
    let addr = super::listen(move |stream, _| {
        let (log, reply) = (seen_log.clone(), reply.clone());
        async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (log, reply) = (log.clone(), reply.clone());
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    let seen = Seen {
                        method: parts.method,
                        target: parts.uri.to_string(),
                        headers: parts.headers,
                        body,
                    };
                    let response = reply(&seen);
                    log.lock().unwrap().push(seen);
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
    (addr, log)
}

/// The one request the backend saw (failing when it saw another number).
pub fn only(log: &Log) -> Seen {
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1, "the backend saw {} requests", log.len());
    log[0].clone()
}

/// The first value of `name` in `headers`, as text.
pub fn hv<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// Writes `raw` on a fresh connection and reads until the peer closes (or 5 s pass).
pub async fn raw_exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
