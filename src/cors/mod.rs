//! [`CorsLayer`]: CORS exactly as the [Fetch standard][fetch] says, validated when built.
//!
//! ```
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::cors::{CorsConfig, Rejection, RejectionKind};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cors = CorsConfig::new()
//!     .allow_origin("https://app.example.com")
//!     .allow_methods(["PUT", "DELETE"])
//!     .allow_headers(["content-type", "authorization"])
//!     .allow_credentials(true)
//!     .build()?;
//! let app = service_fn(|_req: Request<Full<bytes::Bytes>>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::<bytes::Bytes>::default()))
//! });
//! let svc = cors.layer(app);
//!
//! // The layer answers the preflight itself.
//! let preflight = Request::options("/items/1")
//!     .header("origin", "https://app.example.com")
//!     .header("access-control-request-method", "PUT")
//!     .header("access-control-request-headers", "authorization,content-type")
//!     .body(Full::default())?;
//! let res = svc.clone().oneshot(preflight).await?;
//! assert_eq!(res.status(), StatusCode::NO_CONTENT);
//! assert_eq!(res.headers()["access-control-allow-origin"], "https://app.example.com");
//! assert_eq!(res.headers()["access-control-allow-methods"], "PUT");
//! assert_eq!(res.headers()["access-control-allow-credentials"], "true");
//!
//! // An origin that is not allowed gets 403 without any CORS header.
//! let evil = Request::options("/items/1")
//!     .header("origin", "https://evil.example")
//!     .header("access-control-request-method", "PUT")
//!     .body(Full::default())?;
//! let res = svc.clone().oneshot(evil).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert!(res.headers().get("access-control-allow-origin").is_none());
//! let reason = res.extensions().get::<Rejection>().unwrap();
//! assert_eq!(reason.kind(), RejectionKind::OriginNotAllowed);
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Classification** as Fetch: a preflight is exactly `OPTIONS` with `Origin` and
//!   `Access-Control-Request-Method`; every other `OPTIONS` reaches the inner service. A request
//!   without `Origin` is not a CORS request.
//! - **Accepted preflight:** `204`, empty body, `Access-Control-Allow-Origin` (the origin, or
//!   `*` under an any-origin policy without credentials), `Access-Control-Allow-Methods` with
//!   only the requested method (none for `GET`, `HEAD`, `POST`), `Access-Control-Allow-Headers`
//!   with the requested headers as sent, `-Allow-Credentials`, `-Max-Age` when configured, and
//!   `Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers`. The inner
//!   service is not called.
//! - **Refused preflight** (origin, method or a header not allowed, or a request header list
//!   over budget): `403`, empty body, no `Access-Control-*` header, the same `Vary`, and a
//!   [`Rejection`] in the response extensions. The inner service is not called. In debug mode
//!   ([`CorsHandle::set_debug`]) the answer carries the headers granted before the failing step
//!   and, when the origin was allowed, a `204`, so that the browser console names the missing
//!   method or header (as jub0bs/cors does).
//! - **Other requests:** the inner service always runs. Allowed origins get
//!   `Access-Control-Allow-Origin` (+ `-Allow-Credentials`, `-Expose-Headers`); responses whose
//!   headers depend on the origin get `Vary: Origin` appended to the inner `Vary` (never
//!   replacing it). Under any origin without credentials every response gets a static
//!   `Access-Control-Allow-Origin: *` and no `Vary`. Responses to a non-preflight `OPTIONS` get
//!   the preflight `Vary`, so a cache never serves them to a preflight.
//! - **WebSocket handshakes** (`GET` with an `Upgrade: websocket` token) are neither decorated
//!   nor blocked: CORS does not govern WebSocket, so the inner answer (a `101 Switching
//!   Protocols`, or a refusal) passes with its headers and extensions untouched
//!   ([`Decision::WebSocket`]). Put the origin guard (`OriginGuard`) inside this layer to
//!   refuse cross-site handshakes.
//! - **Origins** are compared with the serialized `Origin` byte for byte: exact origins (a hash
//!   set), `https://*.example.com` (one or more labels, never the apex), `http://localhost:*`
//!   (any port, including none), and `*`. Lookup costs the same with 1 or 10,000 origins. More
//!   than one `Origin` header, or one over 512 bytes, is not allowed (under any origin without
//!   credentials an actual request still gets the static `*`).
//! - **Fetch facts:** `*` in allowed request headers never covers `Authorization` (list it);
//!   method names are case-sensitive; `Access-Control-Request-Headers` is matched
//!   case-insensitively, in any order, with optional whitespace, and a value over 8 KiB or with
//!   more than 16 empty elements is refused before or while it is scanned, allocating nothing.
//!   Since the layer answers with the requested method and headers (never `*`), `*` for
//!   methods and headers also works with credentials; `*` for exposed headers does not.
//!
//! # Where we differ
//!
//! From [tower-http's `CorsLayer`][tower-http]: preflights that fail are refused with `403`
//! (tower-http answers `200` without `Access-Control-Allow-Origin`); the policy is validated
//! into a [`ConfigError`](crate::ConfigError) instead of panicking; origin lookup is a hash or
//! pattern map instead of a list scan; the request headers are checked, not just echoed.
//!
//! From jub0bs/cors: `*` in allowed headers never covers `Authorization`, even with
//! credentials, and the request headers are scanned for it (jub0bs answers `*,authorization`
//! without scanning, which Chromium lets through today); a repeated `Origin` or
//! `Access-Control-Request-Method` header is refused instead of using the first, while
//! `Access-Control-Request-Headers` split over several lines is one list, as jub0bs reads it
//! (RFC 9110 §5.3: every line checked, one budget for them all, the answer naming them once);
//! under `*` any `Origin` value is allowed; subdomain patterns of a public suffix are only
//! refused for single-label domains (`https://*.com`), as no public-suffix list is shipped; no
//! Private Network Access support; a canonical IPv4-mapped IPv6 origin (`[::ffff:7f00:1]`) is
//! accepted (it is what a browser sends) and Punycode labels are not decoded to be checked.
//! Also, as issue 4 asks: `Access-Control-Request-Headers` may list names in any order, repeat
//! them and carry any whitespace within the budget (jub0bs wants them sorted, unique, with at
//! most two bytes of whitespace around each); `*` methods and headers are answered with the
//! requested method and headers, never `*`; a safelisted method's preflight from an allowed
//! origin is accepted even when the policy allows nothing more (jub0bs refuses it); preflights
//! and other `OPTIONS` answers carry `Vary` (jub0bs sends none there). And: a policy without
//! origins is valid (it allows none); only plain `http` counts as insecure (jub0bs: every
//! scheme but `https`); CORS-safelisted response headers stay in `-Expose-Headers` as
//! configured; a debug answer to a refused header carries what was granted before, not the
//! list of allowed headers.
//!
//! # Extensions
//!
//! Writes a [`Rejection`] into the extensions of every refused preflight (also in debug mode).
//! Reads none.
//!
//! # Configuration errors
//!
//! [`CorsConfig::build`] and [`CorsHandle::set`] report every problem, each with the offending
//! value and where it stands (`allow_origins[2]`): `*` origin or exposed headers with
//! credentials; `null`, `file:`, a path (even `/`), query, fragment or userinfo in an origin; a
//! non-ASCII host (write punycode); an explicit default port; an upper-case scheme or host
//! (refused, not normalised, so that configuration and `Origin` compare byte for byte); an IP
//! address not written as browsers serialize it (`127.1`, `0x7f.0.0.1`, `[0::1]`,
//! uncompressed IPv6: the message names the form to write); wildcards other than a leading `*.` label or a `:*` port; `*.` on a top-level domain or an
//! IP address; plain-`http` non-loopback origins with credentials (unless
//! [`CorsConfig::dangerously_tolerate_insecure_origins`]; `localhost` names and loopback
//! addresses are not insecure); `CONNECT`, `TRACE`, `TRACK` and invalid method names;
//! forbidden or invalid header names, and (as jub0bs/cors) CORS response-header names as
//! allowed request headers and `Origin`, `Access-Control-Request-*`, `-Allow-Methods`,
//! `-Allow-Headers` or `-Max-Age` as exposed headers; a max-age outside `-1..=86400`.
//! Reflecting any origin with credentials exists only as
//! [`CorsConfig::dangerously_reflect_any_origin_with_credentials`].
//!
//! [fetch]: https://fetch.spec.whatwg.org/#http-cors-protocol
//! [tower-http]: https://docs.rs/tower-http/latest/tower_http/cors/

mod config;
mod decision;
mod future;
mod layer;
mod names;
mod origins;
mod policy;
mod rejection;
mod service;
mod text;

pub use config::CorsConfig;
pub use decision::{Decision, Preflight};
pub use future::ResponseFuture;
pub use layer::{CorsHandle, CorsLayer};
pub use rejection::{Rejection, RejectionKind};
pub use service::Cors;
pub use text::{Any, ConfigText, MaxAge};

#[cfg(test)]
mod tests;
