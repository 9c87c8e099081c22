//! [`Rejection`]: why the origin guard refused a request.

use std::fmt;

/// Why the [origin guard](crate::origin) refused a request (or, in report-only mode, would have).
///
/// Put in the response extensions of every refusal, for outer layers such as the access log.
///
/// ```
/// use tower_gateway::origin::{Rejection, RejectionKind};
///
/// let r = Rejection::new(RejectionKind::CrossOrigin);
/// assert_eq!(r.kind(), RejectionKind::CrossOrigin);
/// assert!(!r.reason().is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
}

/// The kinds of [`Rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// A browser said the request is cross-site or same-site (`Sec-Fetch-Site`), or its `Origin`
    /// differs from the target origin, and the origin is not trusted.
    CrossOrigin,
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

    /// A short, stable, human-readable reason (also the body of the `403`).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self.kind {
            RejectionKind::CrossOrigin => "cross-origin request refused",
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
