//! [`Decision`]: what the CORS policy says about one request, with no service involved.

use http::HeaderValue;

use super::Rejection;

/// What the policy decides for one request; see [`CorsLayer::check`](super::CorsLayer::check).
///
/// ```
/// use http::Request;
/// use tower_gateway::cors::{CorsConfig, Decision, RejectionKind};
///
/// let cors = CorsConfig::new()
///     .allow_origin("https://app.example.com")
///     .allow_methods(["PUT"])
///     .build()?;
/// let (preflight, ()) = Request::options("/items/1")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "PUT")
///     .body(())?
///     .into_parts();
/// match cors.check(&preflight) {
///     Decision::PreflightAccepted(p) => {
///         assert_eq!(p.allow_origin(), "https://app.example.com");
///         assert_eq!(p.allow_method().unwrap(), "PUT");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
///
/// let (refused, ()) = Request::options("/items/1")
///     .header("origin", "https://app.example.com")
///     .header("access-control-request-method", "patch")
///     .body(())?
///     .into_parts();
/// assert!(matches!(
///     cors.check(&refused),
///     Decision::PreflightRefused(r) if r.kind() == RejectionKind::MethodNotAllowed
/// ));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// No `Origin` header: not a CORS request. The inner service runs; the response gets
    /// `Access-Control-Allow-Origin: *` under an any-origin policy without credentials, else
    /// `Vary: Origin` (the preflight `Vary` on an `OPTIONS`, so that a cache never serves it
    /// to a preflight).
    NotCors,
    /// A CORS request (not a preflight) from an allowed origin. The inner service runs and the
    /// response gets this `Access-Control-Allow-Origin` (plus credentials and exposed headers).
    ActualAllowed {
        /// The `Access-Control-Allow-Origin` value: the request's origin, or `*`.
        allow_origin: HeaderValue,
    },
    /// A CORS request (not a preflight) from an origin the policy does not allow (or with
    /// several `Origin` headers, except under any origin without credentials, whose static `*`
    /// goes on every response). The inner service still runs; the response gets no
    /// `Access-Control-*` header, only `Vary: Origin` (the preflight `Vary` on an `OPTIONS`).
    /// The browser then hides the answer.
    ActualRefused,
    /// An accepted preflight: answered `204` by the layer.
    PreflightAccepted(Preflight),
    /// A refused preflight: answered `403` by the layer, with the reason in the response
    /// extensions. In [debug mode](super::CorsHandle::set_debug) the answer carries the headers
    /// granted before the failing step instead (a `204` when the origin was allowed), with the
    /// same reason.
    PreflightRefused(Rejection),
    /// A WebSocket handshake (`GET` with `Upgrade: websocket`): CORS does not apply. The
    /// inner service runs and its answer (a `101`, or a refusal) passes untouched: no
    /// `Access-Control-*` header, no `Vary`. The origin guard is what checks a handshake's
    /// `Origin` (cross-site WebSocket hijacking).
    WebSocket,
}

/// The headers of an accepted preflight answer that depend on the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preflight {
    pub(super) allow_origin: HeaderValue,
    pub(super) allow_method: Option<HeaderValue>,
    pub(super) allow_headers: Option<HeaderValue>,
}

impl Preflight {
    /// `Access-Control-Allow-Origin`: the request's origin, or `*`.
    #[must_use]
    pub fn allow_origin(&self) -> &HeaderValue {
        &self.allow_origin
    }

    /// `Access-Control-Allow-Methods`: the requested method, or `None` when it is
    /// CORS-safelisted (`GET`, `HEAD`, `POST`).
    #[must_use]
    pub fn allow_method(&self) -> Option<&HeaderValue> {
        self.allow_method.as_ref()
    }

    /// `Access-Control-Allow-Headers`: the requested headers as the browser sent them, or
    /// `None` when none were requested.
    #[must_use]
    pub fn allow_headers(&self) -> Option<&HeaderValue> {
        self.allow_headers.as_ref()
    }
}
