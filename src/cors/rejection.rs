//! [`Rejection`]: why a CORS preflight was refused.

use std::fmt;

/// Why the [CORS layer](crate::cors) refused a preflight request.
///
/// Put in the response extensions of every refused preflight, for outer layers such as the
/// access log.
///
/// ```
/// use tower_gateway::cors::{Rejection, RejectionKind};
///
/// let r = Rejection::new(RejectionKind::OriginNotAllowed);
/// assert_eq!(r.kind(), RejectionKind::OriginNotAllowed);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
}

/// The kinds of [`Rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The request's `Origin` is not allowed.
    OriginNotAllowed,
    /// The method in `Access-Control-Request-Method` is not allowed.
    MethodNotAllowed,
    /// A header in `Access-Control-Request-Headers` is not allowed.
    HeaderNotAllowed,
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
            RejectionKind::OriginNotAllowed => "cors: origin not allowed",
            RejectionKind::MethodNotAllowed => "cors: method not allowed",
            RejectionKind::HeaderNotAllowed => "cors: request header not allowed",
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
