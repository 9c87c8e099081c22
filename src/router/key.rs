//! [`RouteKey`]: a method (or `ANY`) and a path template, as AWS writes routes.

use std::fmt;
use std::str::FromStr;

use http::Method;

use super::methods::STANDARD;
use crate::error::{ConfigError, Problem, ProblemKind};

/// A route key: a method, or `ANY` for every method, and a path template.
///
/// Written as AWS writes them, `"GET /pets/{id}"` or `"ANY /{proxy+}"`, or built from an
/// [`http::Method`]. The template is checked when the router is built, so that every problem of
/// a table is reported at once.
///
/// ```
/// use http::Method;
/// use tower_gateway::router::RouteKey;
///
/// let key: RouteKey = "GET /pets/{id}".parse()?;
/// assert_eq!(key.method(), Some(&Method::GET));
/// assert_eq!(key.template(), "/pets/{id}");
/// assert_eq!(key, RouteKey::new(Method::GET, "/pets/{id}"));
/// assert_eq!(RouteKey::any("/{proxy+}").to_string(), "ANY /{proxy+}");
///
/// assert!("/pets".parse::<RouteKey>().is_err()); // no method
/// assert!("get /pets".parse::<RouteKey>().is_err()); // methods are case-sensitive
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouteKey {
    method: Option<Method>,
    template: String,
}

impl RouteKey {
    /// A key for one method.
    #[must_use]
    pub fn new(method: Method, template: impl Into<String>) -> Self {
        Self {
            method: Some(method),
            template: template.into(),
        }
    }

    /// A key for every method (`ANY`).
    #[must_use]
    pub fn any(template: impl Into<String>) -> Self {
        Self {
            method: None,
            template: template.into(),
        }
    }

    /// Parses `"METHOD /template"`; `ANY` stands for every method.
    ///
    /// # Errors
    ///
    /// When there is no method, no single space before the template, or the method is not a
    /// valid token, or is a standard method written in lower case (`get`: methods are
    /// case-sensitive, so it would never match a `GET` request).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |reason: String| {
            ConfigError::new(Problem::new("router", ProblemKind::Syntax, text, reason))
        };
        let Some((method, template)) = text.split_once(' ') else {
            return Err(bad(format!(
                "route key {text:?} has no method; write it as \"GET /path\" or \"ANY /path\""
            )));
        };
        if method.is_empty() || template.starts_with(' ') {
            return Err(bad(format!(
                "route key {text:?} must be one method, one space, then the template"
            )));
        }
        if method == "ANY" {
            return Ok(Self::any(template));
        }
        let Ok(parsed) = Method::from_bytes(method.as_bytes()) else {
            return Err(bad(format!(
                "route key {text:?} has an invalid method {method:?}"
            )));
        };
        let upper = method.to_ascii_uppercase();
        if upper != method
            && (upper == "ANY" || Method::from_bytes(upper.as_bytes()).is_ok_and(is_standard))
        {
            return Err(bad(format!(
                "route key {text:?}: methods are case-sensitive; write {upper:?}"
            )));
        }
        Ok(Self::new(parsed, template))
    }

    /// The method, or `None` for `ANY`.
    #[must_use]
    pub fn method(&self) -> Option<&Method> {
        self.method.as_ref()
    }

    /// The path template.
    #[must_use]
    pub fn template(&self) -> &str {
        &self.template
    }

    pub(crate) fn into_parts(self) -> (Option<Method>, String) {
        (self.method, self.template)
    }
}

fn is_standard(m: Method) -> bool {
    STANDARD.contains(&m)
}

impl FromStr for RouteKey {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = self.method.as_ref().map_or("ANY", Method::as_str);
        write!(f, "{method} {}", self.template)
    }
}

/// What [`RouterBuilder::route`](super::RouterBuilder::route) accepts as a key: `"GET /x"`
/// text, a [`RouteKey`] (owned or borrowed), or a `(Method, path)` or `(&Method, path)` pair.
///
/// ```
/// use http::Method;
/// use tower_gateway::router::{IntoRouteKey, RouteKey};
///
/// let want = RouteKey::new(Method::GET, "/pets/{id}");
/// assert_eq!("GET /pets/{id}".into_route_key()?, want);
/// assert_eq!((Method::GET, "/pets/{id}").into_route_key()?, want);
/// assert_eq!((&Method::GET, "/pets/{id}").into_route_key()?, want);
/// assert_eq!((&want).into_route_key()?, want);
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
pub trait IntoRouteKey {
    /// Converts into a key, or the problem with it.
    ///
    /// # Errors
    ///
    /// When text does not parse as a route key (see [`RouteKey::parse`]).
    fn into_route_key(self) -> Result<RouteKey, ConfigError>;
}

impl IntoRouteKey for RouteKey {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        Ok(self)
    }
}

impl IntoRouteKey for &RouteKey {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        Ok(self.clone())
    }
}

impl IntoRouteKey for &str {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        RouteKey::parse(self)
    }
}

impl IntoRouteKey for String {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        RouteKey::parse(&self)
    }
}

impl IntoRouteKey for &String {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        RouteKey::parse(self)
    }
}

impl<T: Into<String>> IntoRouteKey for (Method, T) {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        Ok(RouteKey::new(self.0, self.1))
    }
}

impl<T: Into<String>> IntoRouteKey for (&Method, T) {
    fn into_route_key(self) -> Result<RouteKey, ConfigError> {
        Ok(RouteKey::new(self.0.clone(), self.1))
    }
}
