//! The [`Router`]: one route table from public paths to targets, most-specific match wins,
//! honest `404` and `405`.
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Method, Request, Response, StatusCode};
//! use http_body_util::Full;
//! use std::convert::Infallible;
//! use tower::{service_fn, ServiceExt};
//! use tower_gateway::router::{MatchedRoute, Router};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reply = |text: &'static str| service_fn(move |_: Request<Full<Bytes>>| async move {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(text.as_bytes()))))
//! });
//! let router = Router::builder()
//!     .route("GET /pets/{id}", reply("one pet"))
//!     .route("GET /pets/dog/1", reply("the first dog"))
//!     .route("ANY /files/{proxy+}", reply("a file"))
//!     .build()?;
//!
//! let get = |uri| Request::get(uri).body(Full::default()).unwrap();
//! let response = router.clone().oneshot(get("/pets/dog/1")).await?;
//! assert_eq!(response.extensions().get::<MatchedRoute>().unwrap().key(), "GET /pets/dog/1");
//!
//! let response = router.clone().oneshot(get("/nothing/here")).await?;
//! assert_eq!(response.status(), StatusCode::NOT_FOUND);
//!
//! let delete = Request::delete("/pets/7").body(Full::default())?;
//! let response = router.oneshot(delete).await?;
//! assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
//! # Ok(())
//! # }
//! ```
//!
//! # Templates and route keys
//!
//! Routes are keyed as AWS API Gateway writes them, `"GET /pets/{id}"` or `"ANY /{proxy+}"`,
//! or with an [`http::Method`] and a path ([`RouteKey`]). A template is a `/`-separated list of
//! segments, each one of:
//!
//! | segment | matches |
//! | --- | --- |
//! | `pets` | exactly these bytes |
//! | `{name}.css`, `img-{id}.png` | a param with a static prefix and/or suffix, inside one segment |
//! | `{id}` | one whole segment |
//! | `{*rest}` or `{rest+}` | the rest of the path, slashes included; last segment only |
//!
//! Params and catch-alls match one or more bytes, never an empty string. A segment holds at
//! most one param, and braces cannot be literal.
//!
//! # Which route wins
//!
//! The most specific, whatever the order the routes were added in: per segment, from the
//! left, a static segment beats a prefix/suffix param (the longest static part first), which
//! beats a plain param, which beats a catch-all. When a preferred branch dead-ends later in
//! the path, the search backtracks, so `/a/b/{c}` and `/a/{b}/c` both serve their paths.
//!
//! Methods are part of the match, as in AWS: the winner is the most specific route *among
//! those that accept the request's method* (`ANY` accepts all; on the same template an
//! explicit method beats `ANY`). When routes match the path but none accepts the method,
//! the answer is `405 Method Not Allowed` with an empty body and an `Allow` header listing
//! every method the path accepts (RFC 9110 §15.5.6: the union over all matching routes, so the
//! header never lies about a method that would be served). Otherwise the fallback answers.
//!
//! `GET` routes also serve `HEAD`: the body is dropped and `content-length` kept (filled in
//! from the body's exact size when the target did not set it). An explicit `HEAD` route wins.
//! `OPTIONS` is never answered automatically: CORS preflight belongs to the CORS layer.
//!
//! # WebSocket-only routes
//!
//! [`RouterBuilder::websocket`] adds a route (key `GET /path`) that serves WebSocket
//! handshakes only: a handshake (an HTTP/1.1 `GET` with an `Upgrade: websocket` token; an
//! HTTP/1.0 `Upgrade` is ignored, RFC 9110 §7.8) reaches the target
//! with its request extensions intact (hyper's upgrade handle lives there) and the `101`
//! comes back unchanged; a plain `GET` gets `426 Upgrade Required` (`Upgrade: websocket`,
//! `Connection: Upgrade`, a short text body). The route accepts `GET` alone, not `HEAD`:
//! other methods go to the routes that accept them, else `405` (`Allow: GET` when it is
//! alone on its path). [`MatchedRoute::is_websocket`] says which routes are WebSocket-only;
//! [`Router::at`] returns such a route for `GET`, whatever the headers. A plain route serves
//! handshakes as its target decides.
//!
//! # Byte-exact by default
//!
//! Matching is case-sensitive and works on the raw path: no percent-decoding first (`%2F`
//! never splits a segment), no dot-segment resolution, no slash merging, the trailing slash
//! significant, the query ignored. Opt-in policies, applied before matching:
//! [`RouterBuilder::trailing_slash`] (strict, `308` redirect, or ignore),
//! [`RouterBuilder::merge_slashes`] and [`RouterBuilder::case_insensitive`].
//! A request target that is not a path (`*`, or an authority) matches nothing.
//!
//! # Extensions
//!
//! | extension | where | what |
//! | --- | --- | --- |
//! | [`MatchedRoute`] | request (before the target runs) and response | key, template, name; absent when the fallback served |
//! | [`Params`] | request | the matched route's params, raw or decoded |
//! | [`OriginalUri`] | request, for nested services | the URI before the prefix was stripped |
//! | [`Rejection`] | response of the Router's own `404`/`405`/`426` | why the Router answered itself |
//!
//! # As a service and as a layer
//!
//! A `Router` is a [`Service`](tower_service::Service) whose fallback answers `404` (empty, or
//! AWS's `{"message":"Not Found"}`, see [`NotFoundBody`]). It is also a
//! [`Layer`](tower_layer::Layer): the wrapped service becomes the fallback, which is how a gateway
//! table sits in front of an existing app ("routes in the table go to their targets, everything
//! else to the app").
//!
//! The Router is always ready. It clones the chosen target and drives its readiness inside the
//! response future, as axum does, rather than polling every target up front
//! (`tower::steer`'s head-of-line blocking). The cost: backpressure does not cross the Router,
//! so put concurrency limits outside it or inside each target.
//!
//! Targets are any `Service<Request<ReqB>, Response = Response<ResB>>` that is
//! `Clone + Send + Sync`, boxed once at build. A target with another body type can be adapted
//! with `tower::util::MapResponseLayer`.
//!
//! What the shared table implies, with tower's and tower-http's pieces (each deliberate):
//!
//! - Targets must be `Sync`, as axum 0.8's `route_service` requires: every call clones the
//!   target out of the shared table, from any thread. `tower::util::BoxCloneService` is not
//!   `Sync`; box with `tower::util::BoxCloneSyncService` instead (`Buffer`, `Timeout`,
//!   `ConcurrencyLimit` and axum's `Router` are `Sync` when what they wrap is).
//! - Targets, the [fallback](RouterBuilder::fallback) and the service the Router wraps as a
//!   [`Layer`](tower_layer::Layer) share one response body type and one error type. A layer
//!   that changes the body (tower-http's `TraceLayer`, `CompressionLayer`) belongs outside the
//!   Router, or on each target with the body boxed (`MapResponseLayer` and
//!   `http_body_util::BodyExt::boxed`); tower's `Timeout` and `Buffer` answer `BoxError`, so
//!   their neighbours map errors to it (`ServiceBuilder::map_err`).
//! - The request body needs only `Send + 'static` (not `Sync`); the Router itself is
//!   `Clone + Send + Sync` whatever the bodies are, so it goes to `tokio::spawn`, axum
//!   (`nest_service`, `fallback_service`, `route_service`, `Router::layer`) and hyper-util's
//!   `TowerToHyperService` as it is.
//!
//! # Configuration errors
//!
//! [`RouterBuilder::build`] reports every problem at once: malformed keys and templates
//! (including characters no request path holds: whitespace, control characters, `?`, `#`),
//! duplicate routes, and ambiguous pairs naming both routes (`/u/{id}` and `/u/{name}` for the
//! same method; `/f/{n}` and `/f/{*r}`, whose param and catch-all both claim every one-segment
//! path). Any number of params per route is supported.

mod builder;
mod captures;
mod decision;
mod future;
mod key;
mod matched;
mod methods;
mod params;
mod rejection;
mod service;
mod table;
mod template;
mod tree;

#[cfg(test)]
mod tests;

pub use builder::RouterBuilder;
pub use decision::{Decision, RouteMatch};
pub use future::ResponseFuture;
pub use key::{IntoRouteKey, RouteKey};
pub use matched::MatchedRoute;
pub use methods::AllowedMethods;
pub use params::{DecodeError, Params};
pub use rejection::{Rejection, RejectionKind};
pub use service::{OriginalUri, Router};
pub use table::{NotFoundBody, TrailingSlash};
