//! [`Allowed`]: why the origin guard let a request through.

/// Why [`OriginGuardLayer::check`](super::OriginGuardLayer::check) let a request through.
///
/// ```
/// use http::Request;
/// use tower_gateway::origin::{Allowed, OriginGuardLayer};
///
/// let guard = OriginGuardLayer::new();
/// let (parts, ()) = Request::get("/").body(()).unwrap().into_parts();
/// assert_eq!(guard.check(&parts), Ok(Allowed::SafeMethod));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Allowed {
    /// `GET`, `HEAD` or `OPTIONS`, and not a WebSocket handshake.
    SafeMethod,
    /// `Sec-Fetch-Site: same-origin`.
    SameOrigin,
    /// `Sec-Fetch-Site: none`: the user started the request (typed URL, bookmark).
    UserInitiated,
    /// `Sec-Fetch-Site: same-site`, and same-site requests are trusted.
    SameSite,
    /// Neither `Sec-Fetch-Site` nor `Origin` (not a browser, or a very old one); not in strict
    /// mode.
    NonBrowser,
    /// No `Sec-Fetch-Site`, and the `Origin` equals the request's target origin.
    MatchesTarget,
    /// The `Origin` is trusted (configured, or accepted by a trust predicate).
    TrustedOrigin,
    /// The request path is under a bypass path.
    BypassPath,
}
