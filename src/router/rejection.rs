//! [`Rejection`]: why the Router answered a request itself.

use std::fmt;

/// Why the [`Router`](crate::Router) answered a request itself instead of a route target: no
/// route matched (its own `404`), the path matched but not the method (`405`), or a plain
/// request reached a WebSocket-only route (`426`).
///
/// Put in the response extensions of those answers, for outer layers such as the access log.
/// It is absent when the fallback service (the app the Router wraps) answered.
///
/// ```
/// use tower_gateway::router::{Rejection, RejectionKind};
///
/// let r = Rejection::new(RejectionKind::NotFound);
/// assert_eq!(r.kind(), RejectionKind::NotFound);
/// assert_eq!(r.to_string(), "no route");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
}

/// The kinds of [`Rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No route matched the path (the Router's own `404`).
    NotFound,
    /// A route matched the path, but none accepts the method (`405`).
    MethodNotAllowed,
    /// A WebSocket-only route got a `GET` that is not a WebSocket handshake (`426 Upgrade
    /// Required`, see [`RouterBuilder::websocket`](super::RouterBuilder::websocket)).
    UpgradeRequired,
}

impl Rejection {
    /// A rejection of the given kind.
    #[must_use]
    pub fn new(kind: RejectionKind) -> Self {
        Self { kind }
    }

    /// What kind of refusal this is.
    #[must_use]
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// A short, stable, human-readable reason.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self.kind {
            RejectionKind::NotFound => "no route",
            RejectionKind::MethodNotAllowed => "method not allowed",
            RejectionKind::UpgradeRequired => "websocket upgrade required",
        }
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}
