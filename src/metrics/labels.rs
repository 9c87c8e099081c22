//! The labels of a series: [`Labels`], [`Refusal`] and [`method_label`].

use http::Method;

/// Why the gateway itself refused a request (the `refusal` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Refusal {
    /// A CORS preflight the policy refused.
    CorsPreflight,
    /// A cross-origin write (or WebSocket handshake) the origin guard refused.
    Origin,
    /// No route matched the path.
    NoRoute,
    /// A route matched the path but not the method.
    MethodNotAllowed,
    /// A plain request to a WebSocket-only route (`426`).
    UpgradeRequired,
}

impl Refusal {
    /// The label value: `cors_preflight`, `origin`, `no_route`, `method_not_allowed` or
    /// `upgrade_required`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CorsPreflight => "cors_preflight",
            Self::Origin => "origin",
            Self::NoRoute => "no_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UpgradeRequired => "upgrade_required",
        }
    }

    /// Reads the refusal the inner layers put in the response extensions, with the same
    /// precedence as the access log (origin guard, then CORS, then router). A report-only
    /// origin rejection (the request went through) comes last: a refusal that did answer the
    /// request (the Router's `404`, flagged `NR` in the log) is the label.
    #[must_use]
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        #[cfg(feature = "origin")]
        let reported = match extensions.get::<crate::origin::Rejection>() {
            Some(rejection) if !rejection.is_report_only() => return Some(Self::Origin),
            reported => reported.is_some(),
        };
        #[cfg(feature = "cors")]
        if extensions.get::<crate::cors::Rejection>().is_some() {
            return Some(Self::CorsPreflight);
        }
        #[cfg(feature = "router")]
        if let Some(rejection) = extensions.get::<crate::router::Rejection>() {
            return Some(match rejection.kind() {
                crate::router::RejectionKind::NotFound => Self::NoRoute,
                crate::router::RejectionKind::MethodNotAllowed => Self::MethodNotAllowed,
                crate::router::RejectionKind::UpgradeRequired => Self::UpgradeRequired,
            });
        }
        #[cfg(feature = "origin")]
        if reported {
            return Some(Self::Origin);
        }
        let _ = extensions;
        None
    }
}

/// The `method` label: the nine standard methods by name, anything else `OTHER`.
#[must_use]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The bounded label set of one series. `route` is a route *template* (or `None`: unmatched),
/// `arm` a canary arm name (or `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels<'a> {
    /// The matched route's template, `None` when no route matched.
    pub route: Option<&'a str>,
    /// The `method` label, from [`method_label`].
    pub method: &'static str,
    /// The response status code.
    pub status: u16,
    /// The canary arm that served the request, if any.
    pub arm: Option<&'a str>,
    /// Whether the arm is the canary (only read when the series is created).
    pub canary: bool,
    /// Why the gateway refused the request, if it did.
    pub refusal: Option<Refusal>,
}
