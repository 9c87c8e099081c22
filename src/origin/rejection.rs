//! [`Rejection`]: why the origin guard refused a request.

use std::fmt;

/// Why the [origin guard](crate::origin) refused a request (or, in report-only mode, would have).
///
/// Put in the response extensions of every refusal, for outer layers such as the access log. In
/// report-only mode it is put in the request extensions (for the inner service) and the response
/// extensions of the request that was let through, with [`is_report_only`](Self::is_report_only)
/// true. Allowed requests carry none.
///
/// ```
/// use tower_gateway::origin::{Rejection, RejectionKind};
///
/// let r = Rejection::new(RejectionKind::CrossOrigin);
/// assert_eq!(r.kind(), RejectionKind::CrossOrigin);
/// assert!(!r.reason().is_empty());
/// assert!(!r.is_report_only());
/// assert_eq!(r.to_string(), r.reason());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
    report_only: bool,
}

/// The kinds of [`Rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No `Sec-Fetch-Site` header, and the `Origin` header differs from the request's target
    /// origin (its `Host`, or the configured public origins) and is not trusted.
    CrossOrigin,
    /// `Sec-Fetch-Site: cross-site`, and the origin is not trusted.
    CrossSite,
    /// `Sec-Fetch-Site: same-site` (a sibling subdomain), same-site requests are not trusted, and
    /// the origin is not trusted.
    SameSite,
    /// A `Sec-Fetch-Site` value that is not one of the four the Fetch standard defines (wrong
    /// case, unknown value, or the header repeated), and the origin is not trusted.
    InvalidFetchSite,
    /// No `Sec-Fetch-Site` header and `Origin: null` (a sandboxed frame, a `file:` page, a
    /// redirect across origins, ...).
    NullOrigin,
    /// No `Sec-Fetch-Site` header and an `Origin` that is not a serialized origin (userinfo, a
    /// path, bad bytes, no scheme, ...).
    MalformedOrigin,
    /// No `Sec-Fetch-Site` header and more than one `Origin` header.
    MultipleOrigins,
    /// Strict mode only: neither `Sec-Fetch-Site` nor `Origin` is present.
    MissingHeaders,
}

impl Rejection {
    /// A rejection of the given kind.
    #[must_use]
    pub fn new(kind: RejectionKind) -> Self {
        Self {
            kind,
            report_only: false,
        }
    }

    /// The same rejection, marked as reported only: the guard is in report-only mode and let
    /// the request through.
    #[must_use]
    pub fn into_report_only(mut self) -> Self {
        self.report_only = true;
        self
    }

    /// Whether the guard only reported this rejection and let the request through
    /// (report-only mode), rather than answering `403`.
    #[must_use]
    pub fn is_report_only(&self) -> bool {
        self.report_only
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
            RejectionKind::CrossOrigin => {
                "cross-origin request refused: Origin does not match the target origin"
            }
            RejectionKind::CrossSite => {
                "cross-origin request refused: Sec-Fetch-Site is cross-site"
            }
            RejectionKind::SameSite => "cross-origin request refused: Sec-Fetch-Site is same-site",
            RejectionKind::InvalidFetchSite => {
                "cross-origin request refused: invalid Sec-Fetch-Site header"
            }
            RejectionKind::NullOrigin => "cross-origin request refused: Origin is null",
            RejectionKind::MalformedOrigin => {
                "cross-origin request refused: malformed Origin header"
            }
            RejectionKind::MultipleOrigins => {
                "cross-origin request refused: more than one Origin header"
            }
            RejectionKind::MissingHeaders => {
                "cross-origin request refused: neither Sec-Fetch-Site nor Origin is present"
            }
        }
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("report_only", &self.report_only)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}
