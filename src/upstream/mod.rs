//! [`Upstream`]: a route target that forwards requests to an HTTP server and streams the
//! answer back, on hyper-util's pooled client.
//!
//! ```
//! use http::Request;
//! use tower_gateway::upstream::{FailureKind, Upstream};
//!
//! let users = Upstream::builder("http://10.0.0.7:8080/v1").strip_prefix("/users").build()?;
//! let parts = |uri: &str| Request::get(uri).body(()).unwrap().into_parts().0;
//!
//! // The pure decision: where a request goes, with no network involved.
//! assert_eq!(users.map_uri(&parts("/users/7?fields=name"))?, "http://10.0.0.7:8080/v1/7?fields=name");
//! assert_eq!(users.map_uri(&parts("/users"))?, "http://10.0.0.7:8080/v1");
//! assert_eq!(users.map_uri(&parts("/other"))?, "http://10.0.0.7:8080/v1/other");
//! // A path that would climb out of the base path is refused (answered 400).
//! let refused = users.map_uri(&parts("/users/../admin")).unwrap_err();
//! assert_eq!(refused.kind(), FailureKind::BadRequest);
//!
//! // Config problems are all reported at once.
//! let error = Upstream::builder("https://user@h/?q").strip_prefix("api/").build().unwrap_err();
//! assert_eq!(error.problems().len(), 4);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
//!
//! Behind a [`Router`](crate::Router), AWS-style placeholders in the base path take the
//! route's params: route `ANY /api/{proxy+}` with upstream `http://h:1/v2/{proxy}` sends
//! `/api/a/b?x=1` to `http://h:1/v2/a/b?x=1`. Served with hyper or axum (this binds sockets,
//! so it is not run here):
//!
//! ```no_run
//! use tower_gateway::{upstream::Upstream, Router};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::builder()
//!     .route("ANY /api/{proxy+}", Upstream::new("http://127.0.0.1:9000/v2/{proxy}")?)
//!     .build()?;
//! let app = axum::Router::new().fallback_service(router);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Path mapping
//!
//! The base URL is `http://host[:port][/base]`. Without placeholders, the upstream path is the
//! base path joined with the request path, minus [`strip_prefix`](UpstreamBuilder::strip_prefix)
//! when the path is under it (a request not under the prefix keeps its whole path). The join
//! never makes `//`: `/base` + `/a` and `/base/` + `/a` both give `/base/a`; the prefix itself
//! maps to `/base` (and to `/` with no base path).
//!
//! With `{name}` or `{name+}` placeholders (AWS API Gateway's syntax; `{*name}` too), the path is
//! the base path with each placeholder replaced by the raw (still percent-encoded) value of the
//! route param of that name, read from the Router's [`Params`](crate::router::Params)
//! extension; the request path is not appended. **A placeholder with no captured value (no
//! Router in front, or a route without that param) becomes the empty string**, and a `/` that
//! would then double is dropped. A `{name+}` placeholder must be the last thing in the path.
//!
//! The query is always kept as it came. Paths are otherwise forwarded byte for byte, except
//! that a request path with a `.` or `..` segment (also percent-encoded: `%2e%2e`) is answered
//! `400` without calling the upstream, so no request escapes the base path.
//!
//! # Headers
//!
//! Hop-by-hop headers are removed both ways: `Connection` and every header it names,
//! `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade` and every `Proxy-*` header
//! (`Proxy-Connection`, `Proxy-Authorization`, `Proxy-Authenticate`...). The request gets:
//!
//! | header | value |
//! | --- | --- |
//! | `Host` | the upstream's `host[:port]`, or the client's with [`preserve_host`](UpstreamBuilder::preserve_host) |
//! | `Forwarded` | RFC 7239 `for=..;proto=..;host=..` appended to what came (`, `); IPv6 as `for="[::1]"` |
//! | `X-Forwarded-For` | the client address appended (`, ip`) |
//! | `X-Forwarded-Proto` | `https` when the request URI says so, else `http`; replaces the client's |
//! | `X-Forwarded-Host` | the host the client asked for: the request target's authority (absolute form, HTTP/2), else `Host` (RFC 9112 §3.2.2); replaces the client's |
//! | `Via` | this hop, `<version the client spoke> tower-gateway` (for example `1.1 tower-gateway`), appended to what came (`, `), as RFC 9110 §7.6.3 asks of a gateway |
//!
//! The client address is a [`SocketAddr`](std::net::SocketAddr) request extension, axum's
//! `ConnectInfo<SocketAddr>` (feature `axum`) or an [`IpAddr`](std::net::IpAddr) extension
//! (the access log's convention); without one,
//! `for=` and `X-Forwarded-For` are left out. The gateway is taken to be the edge: incoming
//! `X-Forwarded-Proto`/`-Host` are replaced, while the `Forwarded` and `X-Forwarded-For`
//! chains are extended. Request extensions are not forwarded.
//!
//! # Bodies
//!
//! Both bodies are streamed: the request body is handed to hyper as a stream (boxed once) and
//! the upstream's body comes back frame by frame in [`ResponseBody`], never collected. An
//! upstream body that fails midway ends the response body with hyper's error.
//!
//! # Failures
//!
//! Failures are answers with a short `text/plain` reason and a [`Failure`] in the response
//! extensions, never service errors (`Error = Infallible`) and never hangs:
//!
//! | what | status | [`FailureKind`] |
//! | --- | --- | --- |
//! | connection refused, DNS failure, reset or closed before the response headers | `502` | `Connect` |
//! | no response headers within [`timeout`](UpstreamBuilder::timeout) (default 30 s), or connect timeout (default 5 s) | `504` | `Timeout` |
//! | a response that is not HTTP/1, or a `101` (this service never asks for an upgrade) | `502` | `BadResponse` |
//! | a request path with a dot segment, or a request target that is not a path | `400` | `BadRequest` |
//! | anything else (the request body failing) | `502` | `Other` |
//!
//! # Runtime and pool
//!
//! Calls need a Tokio runtime with its time driver (`enable_all`, as `#[tokio::main]` and
//! axum/hyper servers have). Each upstream has its own keep-alive pool unless given a shared
//! [`UpstreamClient`]. Upstreams speak HTTP/1.1; `https` upstreams are refused at build (no
//! TLS in this build). WebSocket upgrades are not proxied by this service (`Upgrade` is a
//! hop-by-hop header).
//!
//! # Extensions
//!
//! | extension | where | what |
//! | --- | --- | --- |
//! | [`Params`](crate::router::Params) | read from the request | values for the base path's placeholders |
//! | `SocketAddr` / `IpAddr` | read from the request | the client address for `Forwarded` |
//! | [`Failure`] | written on the gateway's own `502`/`504`/`400` | why the upstream did not answer |

mod body;
mod builder;
mod client;
mod failure;
mod future;
pub(crate) mod headers;
mod service;
pub(crate) mod target;
mod websocket;

#[cfg(test)]
mod tests;

pub use body::ResponseBody;
pub use builder::UpstreamBuilder;
pub use client::{UpstreamClient, UpstreamClientBuilder};
pub use failure::{Failure, FailureKind};
pub use future::ResponseFuture;
pub use service::Upstream;
pub use websocket::{
    copy_tunnel, WebSocketFuture, WebSocketUpstream, WebSocketUpstreamBuilder,
    DEFAULT_WEBSOCKET_CONNECT_TIMEOUT,
};
