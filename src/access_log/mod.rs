//! [`AccessLog`]: one structured record per request, written when the response really ended,
//! without ever blocking the request.
//!
//! ```
//! use std::convert::Infallible;
//! use std::net::SocketAddr;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_gateway::access_log::{AccessLogLayer, LogFormat, ManualClock, MemorySink};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sink = MemorySink::new();
//! let log = AccessLogLayer::new(sink.clone())
//!     .format(LogFormat::apache_common())
//!     .clock(ManualClock::at_unix(1_710_078_936));
//! let app = ServiceBuilder::new().layer(log).service_fn(|_req: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{\"id\":42,\"pet\":1}"))))
//! });
//!
//! let mut request = Request::get("/pets/42?verbose=1").body(Full::default())?;
//! request.extensions_mut().insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
//! let response = app.oneshot(request).await?;
//! assert!(response.headers().contains_key("x-request-id"));
//! assert!(sink.is_empty()); // nothing at the headers: the record waits for the last byte
//! response.into_body().collect().await?;
//! assert_eq!(
//!     sink.lines(),
//!     ["203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17"]
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Exactly one record per request**, written when the response body ends, fails (flag
//!   `UE`) or is dropped before its end (flag `DC`); when the inner service fails (status `0`,
//!   `UE`) or its future is dropped before a response (status `0`, `DC`). Never at the
//!   response headers. Bytes are the body bytes actually sent, counted, not `Content-Length`
//!   (none for a `HEAD` request or a `1xx`, `204` or `304` answer, whose body is never sent).
//! - **One record per tunnel**: when the response is a `101 Switching Protocols` carrying a
//!   [`Tunnel`](crate::tunnel::Tunnel) in its extensions (a WebSocket proxied by
//!   `upstream::WebSocketUpstream`, or any proxy that keeps one up to date), the record is written
//!   when the tunnel closes, not at the `101`: status `101`, latency = the whole connection,
//!   `requestLength`/`responseLength` = the bytes the tunnel carried each way (also
//!   `$context.tunnel.bytesIn`/`bytesOut`), `$context.tunnel.abnormal` and the flags `SI`
//!   (idle timeout) or `TA` (other abnormal end), with the reason as the error message. A `101`
//!   without a `Tunnel` (axum's own `WebSocketUpgrade`) is written as any other answer.
//! - **Formats** ([`LogFormat`]): Apache common and combined (= nginx `combined`), Envoy's
//!   default, JSON with AWS `$context` names, and templates with AWS `$context.name`
//!   variables, validated once. Missing values are `-` (`null` in JSON). Text formats escape
//!   control bytes, `"`, `\` and non-ASCII bytes as `\xHH` (as nginx does); JSON follows
//!   RFC 8259 and stays valid UTF-8.
//! - **Response flags**: `NR` the router found no route, `OG` the origin guard refused (or,
//!   in report-only mode, let through a request it would have refused: the status is then
//!   the inner service's), `CP` the CORS layer refused a preflight, `UE` the inner service or
//!   body failed, `DC` the client went away, `SI` a tunnel hit its idle timeout, `TA` a
//!   tunnel ended abnormally. Several are joined with `,`, as Envoy does.
//! - **Request ids** ([`RequestIds`]): a valid incoming `x-request-id` is kept, otherwise a
//!   UUID v4-shaped id is generated; it goes into the request extensions ([`RequestId`]) and
//!   onto the response (replacing any the inner service set, so the log and the response
//!   agree).
//! - **Trace ids** ([`TraceId`]) come from one valid W3C `traceparent`; invalid or repeated
//!   headers are ignored, as the spec says.
//! - **Never blocks, never allocates to format**: each record is formatted into a reused
//!   per-thread buffer and handed to a [`Sink`]: a [`MemorySink`] for tests, a [`NonBlocking`]
//!   writer (background thread, bounded queue, lossy or blocking, a dropped-record counter, a
//!   [`FlushGuard`] that drains on drop), a closure, or (feature `tracing`) `tracing` events.
//!
//! # Extensions
//!
//! Read from the **response** (where the inner layers copy them), falling back to the request
//! for the route and arm (when an outer router or split already set them):
//! [`router::MatchedRoute`](crate::router::MatchedRoute) (`routeKey`, `resourcePath`,
//! `routeName`), [`router::Rejection`](crate::router::Rejection) (`NR` for its `404`, reason),
//! [`canary::Arm`](crate::canary::Arm) (`canaryArm`, `isCanaryRequest`),
//! [`origin::Rejection`](crate::origin::Rejection) (`OG`, reason) and
//! [`cors::Rejection`](crate::cors::Rejection) (`CP`, reason) and, on an error status,
//! `upstream::Failure` (reason), each when its feature is on.
//! The client address comes from a [`SocketAddr`](std::net::SocketAddr) request extension,
//! axum's `ConnectInfo<SocketAddr>` (feature `axum`, on by default: what
//! `into_make_service_with_connect_info::<SocketAddr>()` records), an
//! [`IpAddr`](std::net::IpAddr) extension, or [`AccessLogLayer::client_addr`]. A
//! [`Tunnel`](crate::tunnel::Tunnel) on a `101` response
//! defers the record to its close. Written: [`RequestId`] in the request extensions.
//!
//! # Golden lines
//!
//! For `GET /pets/42?verbose=1` from `203.0.113.7`, answered `200` with 17 bytes:
//!
//! ```text
//! 203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] "GET /pets/42?verbose=1 HTTP/1.1" 200 17
//! 203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] "GET /pets/42?verbose=1 HTTP/1.1" 200 17 "https://shop.example/" "curl/8.5.0"
//! [2024-03-10T13:55:36.000Z] "GET /pets/42?verbose=1 HTTP/1.1" 200 - 0 17 12 5 "-" "curl/8.5.0" "req-1" "api.example.com" "-"
//! ```
//!
//! # Differences from tower-http's `TraceLayer`
//!
//! `TraceLayer` emits `tracing` events and spans, formatted by the subscriber; this layer
//! writes one finished line per request in a format log tools already parse, with what the
//! gateway decided, and counts bytes actually sent.

mod body;
use crate::clock;
mod format;
mod future;
mod layer;
mod record;
mod request_id;
mod service;
mod sink;
mod text;
mod trace_id;
mod writer;

pub use crate::clock::{Clock, ManualClock};
pub use body::ResponseBody;
pub use format::LogFormat;
pub use future::ResponseFuture;
pub use layer::AccessLogLayer;
pub use request_id::{RequestId, RequestIds, MAX_REQUEST_ID_LEN};
pub use service::AccessLog;
pub use sink::{MemorySink, Sink};
pub use trace_id::TraceId;
pub use writer::{FlushGuard, NonBlocking, NonBlockingBuilder};

#[cfg(test)]
mod tests;
