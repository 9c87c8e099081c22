//! [`Decision`]: what the Router would do with a method and path, with no service involved.

use std::borrow::Cow;
use std::fmt;

use super::captures::Captures;
use super::matched::MatchedRoute;
use super::methods::AllowedMethods;
use super::params::{pairs, percent_decode, raw, DecodeError};

/// What [`Router::at`](super::Router::at) decided for a method and path.
///
/// Two decisions are equal when they are the same kind with the same route, params and
/// `HEAD` handling, the same redirect target, or the same allowed methods, so a test can
/// write `assert_eq!(router.at(&Method::GET, "/nope"), Decision::NotFound)`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision<'r, 'p> {
    /// A route serves the request.
    Route(RouteMatch<'r, 'p>),
    /// No route matches this path, but one matches it with the trailing slash added or removed,
    /// and the policy is [`TrailingSlash::Redirect`](super::TrailingSlash::Redirect): the
    /// Router answers `308` to this path.
    Redirect(String),
    /// Routes match the path, but none accepts the method: `405` with this `Allow` list.
    MethodNotAllowed(AllowedMethods),
    /// No route matches: the fallback answers (the Router's own `404` when it has none).
    NotFound,
}

impl<'r, 'p> Decision<'r, 'p> {
    /// The route match, if a route serves the request.
    #[must_use]
    pub fn route(&self) -> Option<&RouteMatch<'r, 'p>> {
        match self {
            Self::Route(m) => Some(m),
            _ => None,
        }
    }

    /// The key of the route that serves the request (`"GET /pets/{id}"`), if any.
    #[must_use]
    pub fn route_key(&self) -> Option<&str> {
        self.route().map(|m| m.route().key())
    }

    /// The raw value of the matched route's param `name`, if a route serves the request and
    /// has that param (see [`RouteMatch::param`]).
    ///
    /// ```
    /// use http::{Method, Request, Response};
    /// use std::convert::Infallible;
    /// use tower::service_fn;
    /// use tower_gateway::router::Router;
    ///
    /// let ok = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    /// let router = Router::builder().route("GET /pets/{id}", ok).build()?;
    /// assert_eq!(router.at(&Method::GET, "/pets/7").param("id"), Some("7"));
    /// assert_eq!(router.at(&Method::GET, "/cats/7").param("id"), None);
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.route().and_then(|m| m.param(name))
    }

    /// The methods the path accepts, when the decision is a `405`
    /// ([`Decision::MethodNotAllowed`]).
    ///
    /// ```
    /// use http::{Method, Request, Response};
    /// use std::convert::Infallible;
    /// use tower::service_fn;
    /// use tower_gateway::router::Router;
    ///
    /// let ok = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    /// let router = Router::builder().route("GET /pets", ok).build()?;
    /// let decision = router.at(&Method::POST, "/pets");
    /// assert!(decision.is_method_not_allowed());
    /// assert_eq!(decision.allowed_methods().unwrap().to_string(), "GET, HEAD");
    /// assert!(router.at(&Method::POST, "/cats").is_not_found());
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    #[must_use]
    pub fn allowed_methods(&self) -> Option<&AllowedMethods> {
        match self {
            Self::MethodNotAllowed(allowed) => Some(allowed),
            _ => None,
        }
    }

    /// Whether the path matched but no route accepts the method (`405`).
    #[must_use]
    pub fn is_method_not_allowed(&self) -> bool {
        matches!(self, Self::MethodNotAllowed(_))
    }

    /// Whether no route matches (the fallback, or the Router's own `404`, answers).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound)
    }
}

/// A route that matched, with its params borrowed from the path.
pub struct RouteMatch<'r, 'p> {
    pub(crate) route: &'r MatchedRoute,
    pub(crate) names: &'r [Box<str>],
    pub(crate) path: Cow<'p, str>,
    pub(crate) captures: Captures,
    pub(crate) head_via_get: bool,
}

impl<'r, 'p> RouteMatch<'r, 'p> {
    /// The route: key, template, name.
    #[must_use]
    pub fn route(&self) -> &'r MatchedRoute {
        self.route
    }

    /// The raw (percent-encoded) value of the param `name`.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        raw(self.names, &self.path, &self.captures, name)
    }

    /// The percent-decoded value of the param `name`, or an error when it is not UTF-8.
    #[must_use]
    pub fn decoded(&self, name: &str) -> Option<Result<Cow<'_, str>, DecodeError>> {
        self.param(name).map(percent_decode)
    }

    /// `(name, raw value)` pairs in template order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        pairs(self.names, &self.path, &self.captures)
    }

    /// Whether a `GET` route serves this `HEAD` request (the Router drops the body).
    #[must_use]
    pub fn is_head_via_get(&self) -> bool {
        self.head_via_get
    }

    /// The path the route matched: the request's, or its normalised form when a path policy
    /// changed it.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// The same route, the same `(name, raw value)` params and the same `HEAD` handling; the
/// matched path text itself is not compared.
impl PartialEq for RouteMatch<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.route == other.route
            && self.head_via_get == other.head_via_get
            && self.params().eq(other.params())
    }
}

impl Eq for RouteMatch<'_, '_> {}

impl fmt::Debug for RouteMatch<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteMatch")
            .field("route", &self.route.key())
            .field("params", &self.params().collect::<Vec<_>>())
            .finish()
    }
}
