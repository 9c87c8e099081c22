//! [`OriginGuard`]: the server refuses cross-origin writes and cross-site WebSocket hijacking.
//!
//! Browsers enforce CORS on what a page may *read*; they still *send* a cross-origin form post
//! or WebSocket handshake with the user's cookies. The guard refuses those before any handler
//! runs, with no tokens, from the `Sec-Fetch-Site` and `Origin` headers browsers send.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::origin::{OriginGuardLayer, Rejection, RejectionKind};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = OriginGuardLayer::builder()
//!     .trust_origin("https://app.example.com")
//!     .bypass_path("/webhooks/")
//!     .build()?;
//! let app = guard.layer(service_fn(|_: Request<Full<Bytes>>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("done"))))
//! }));
//!
//! let post = |site: &str| {
//!     Request::post("/transfer").header("host", "bank.example.com")
//!         .header("sec-fetch-site", site).body(Full::<Bytes>::default())
//! };
//! let ok = app.clone().oneshot(post("same-origin")?).await?;
//! assert_eq!(ok.status(), StatusCode::OK);
//!
//! let refused = app.oneshot(post("cross-site")?).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! let rejection = refused.extensions().get::<Rejection>().unwrap();
//! assert_eq!(rejection.kind(), RejectionKind::CrossSite);
//! # Ok(())
//! # }
//! ```
//!
//! # The decision
//!
//! Go 1.25's [`CrossOriginProtection`][go] is the base; [`OriginGuardLayer::check`] is the
//! whole decision on a request head, so policies can be unit-tested without a service.
//!
//! 1. `GET`, `HEAD` and `OPTIONS` pass (`TRACE` does not), except WebSocket handshakes (`GET`
//!    with `Upgrade: websocket`), which are checked like `POST`.
//! 2. [`Sec-Fetch-Site`][sfs] `same-origin` or `none` passes. Any other value (`cross-site`,
//!    `same-site`, unknown values, wrong case, the header twice) is refused unless the `Origin`
//!    is trusted ([`trust_same_site`](OriginGuardBuilder::trust_same_site) lets `same-site`
//!    through). An empty value counts as absent.
//! 3. Without `Sec-Fetch-Site`, the `Origin` header decides: absent (a non-browser client)
//!    passes unless in [strict](OriginGuardBuilder::strict) mode; equal to the request's
//!    target origin passes; trusted passes. `null`, a malformed value (userinfo such as
//!    `https://evil@example.com`, a path, bad bytes) and two `Origin` headers are refused.
//! 4. Whatever would be refused passes when the path is under a
//!    [bypass path](OriginGuardBuilder::bypass_path) (`/webhooks/` a subtree of whole
//!    segments, `/callback` that path only, no dot-segment tricks: the lesson of
//!    CVE-2025-47910).
//!
//! The **target origin** is the request's authority (absolute-form URI or HTTP/2
//! `:authority`, else the one `Host` header), compared with scheme and host case-folded and
//! default ports normalised; a trailing dot is not stripped. On HTTP/1.1 the scheme is unknown,
//! so, as in Go, only host and port are compared: use HSTS. The target's scheme is `http` or
//! `https` either way, so an `Origin` of any other scheme (`ws://`, `ftp://`) never matches it
//! (Go compares the host alone and lets those through). Behind a proxy that rewrites `Host`,
//! configure the [public origin](OriginGuardBuilder::public_origin) instead.
//!
//! Chromium sends no `Sec-Fetch-*` header on a WebSocket handshake, only `Origin`, so rule 3
//! is what stops cross-site WebSocket hijacking.
//!
//! # The answer
//!
//! `403 Forbidden`, `Content-Type: text/plain; charset=utf-8`,
//! `X-Content-Type-Options: nosniff`, and a one-line [reason](Rejection::reason); the inner
//! service is not called. A [response builder](OriginGuardBuilder::rejection_response) can
//! replace it. In [report-only](OriginGuardBuilder::report_only) mode the request goes through
//! instead and the rejection is only recorded.
//!
//! # Extensions
//!
//! - Writes [`Rejection`] in the response extensions of every refusal, and in report-only mode
//!   in the request extensions (for the inner service) and the response extensions of the
//!   request let through, marked [`is_report_only`](Rejection::is_report_only). Allowed
//!   requests carry none.
//! - Reads none.
//!
//! # Configuration errors
//!
//! [`OriginGuardBuilder::build`] lists every bad trusted origin, public origin and bypass path
//! in one [`ConfigError`](crate::ConfigError): origins must be `http(s)://host[:port]` (no
//! `null`, path, `/`, query, fragment, userinfo, non-ASCII host); bypass paths must be literal
//! absolute paths without dot or empty segments.
//!
//! # Compared with tower-http's `csrf`
//!
//! tower-http 0.7 matches trusted origins and `Origin` against `Host` byte for byte (so
//! `https://example.com:443` never matches), has no WebSocket, strict, same-site or
//! report-only option, no public origin, and leaves bypass matching to a user closure. Its
//! `403` has an empty body.
//!
//! [go]: https://pkg.go.dev/net/http#CrossOriginProtection
//! [sfs]: https://w3c.github.io/webappsec-fetch-metadata/#sec-fetch-site-header

mod allowed;
mod builder;
mod bypass;
mod future;
mod layer;
mod parse;
mod policy;
mod rejection;
mod response;
mod service;

#[cfg(test)]
mod tests;

pub use allowed::Allowed;
pub use builder::OriginGuardBuilder;
pub use future::ResponseFuture;
pub use layer::OriginGuardLayer;
pub use rejection::{Rejection, RejectionKind};
pub use service::OriginGuard;
