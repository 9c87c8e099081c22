//! [`CorsConfig`]: the CORS policy as plain data, built in code or deserialized, validated into
//! a [`Policy`].

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use super::names::{
    config_header_name, is_forbidden_response_header, is_prohibited_response_header, Methods,
    RequestHeaders,
};
use super::origins::{is_loopback, parse_config_origin, OriginSpec, Origins};
use super::policy::{Policy, PreflightTemplates};
use super::text::{ConfigText, MaxAge};
use super::CorsLayer;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// A CORS policy before validation: a builder in code, or data from a configuration file.
///
/// Setters that take lists add to what is there; the others replace. Origins, methods and
/// header names are given as text or as the `http` crate's `Method`, `HeaderName` and
/// `HeaderValue` (see [`ConfigText`]). Nothing is checked until
/// [`build`](Self::build) (or [`CorsHandle::set`](super::CorsHandle::set)), which reports every
/// problem at once. See the [module docs](crate::cors) for an example.
///
/// As serde data (every field optional, unknown fields refused), one key per setter:
///
/// | key | setter | default |
/// | --- | --- | --- |
/// | `allow_origins` | [`allow_origins`](Self::allow_origins) | `[]`: no origin |
/// | `allow_methods` | [`allow_methods`](Self::allow_methods) | `[]`: the safelisted methods only |
/// | `allow_headers` | [`allow_headers`](Self::allow_headers) | `[]` |
/// | `expose_headers` | [`expose_headers`](Self::expose_headers) | `[]` |
/// | `allow_credentials` | [`allow_credentials`](Self::allow_credentials) | `false` |
/// | `max_age` | [`max_age`](Self::max_age), whole seconds | not sent |
/// | `strip_inner_cors_headers` | [`strip_inner_cors_headers`](Self::strip_inner_cors_headers) | `false` |
/// | `debug` | [`debug`](Self::debug) | `false` |
/// | `dangerously_reflect_any_origin_with_credentials` | [`dangerously_reflect_any_origin_with_credentials`](Self::dangerously_reflect_any_origin_with_credentials) (`true` turns credentials on) | `false` |
/// | `dangerously_tolerate_insecure_origins` | [`dangerously_tolerate_insecure_origins`](Self::dangerously_tolerate_insecure_origins) | `false` |
///
///
/// ```
/// use tower_gateway::cors::CorsConfig;
///
/// let config: CorsConfig = serde_json::from_str(r#"{
///     "allow_origins": ["https://app.example.com", "https://*.example.org"],
///     "allow_methods": ["PUT", "DELETE"],
///     "allow_headers": ["content-type", "authorization"],
///     "allow_credentials": true,
///     "max_age": 600
/// }"#)?;
/// let layer = config.build()?;
/// assert!(layer.allows_origin("https://eu.example.org"));
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[must_use]
pub struct CorsConfig {
    allow_origins: Vec<String>,
    allow_methods: Vec<String>,
    allow_headers: Vec<String>,
    expose_headers: Vec<String>,
    allow_credentials: bool,
    max_age: Option<i64>,
    strip_inner_cors_headers: bool,
    debug: bool,
    dangerously_reflect_any_origin_with_credentials: bool,
    dangerously_tolerate_insecure_origins: bool,
}

impl CorsConfig {
    /// An empty policy: no origin allowed, only the CORS-safelisted methods, no request header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows one origin: `*` (any), an exact serialized origin (`https://app.example.com`,
    /// `http://localhost:8080`), any subdomain of a domain (`https://*.example.com`: one or more
    /// labels, never the domain itself) or any port (`http://localhost:*`).
    ///
    /// Default: no origin is allowed. Adds to the list.
    pub fn allow_origin(mut self, origin: impl Into<ConfigText>) -> Self {
        self.allow_origins.push(origin.into().0);
        self
    }

    /// Allows several origins (see [`allow_origin`](Self::allow_origin)). Adds to the list.
    pub fn allow_origins<I, T>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ConfigText>,
    {
        self.allow_origins
            .extend(origins.into_iter().map(|t| t.into().0));
        self
    }

    /// Allows any origin: `Access-Control-Allow-Origin: *`. Same as `allow_origin("*")`;
    /// refused with credentials.
    pub fn allow_any_origin(self) -> Self {
        self.allow_origin("*")
    }

    /// Allows methods in preflights, compared case-sensitively as Fetch does (`patch` is not
    /// `PATCH`; `get`, `put`, `delete` and the other names Fetch upper-cases are upper-cased).
    /// `*` allows any method but `CONNECT`, `TRACE` and `TRACK`. `GET`, `HEAD` and `POST` are
    /// always allowed (CORS-safelisted).
    ///
    /// Default: only the safelisted methods. Adds to the list.
    pub fn allow_methods<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ConfigText>,
    {
        self.allow_methods
            .extend(methods.into_iter().map(|t| t.into().0));
        self
    }

    /// Allows request headers in preflights, compared case-insensitively. `*` allows every
    /// name except `Authorization`, which must be listed (Fetch).
    ///
    /// Default: none. Adds to the list.
    pub fn allow_headers<I, T>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ConfigText>,
    {
        self.allow_headers
            .extend(headers.into_iter().map(|t| t.into().0));
        self
    }

    /// Response headers scripts may read (`Access-Control-Expose-Headers`). `*` exposes all,
    /// and is refused with credentials (browsers read it as a header named `*` then).
    ///
    /// Default: none. Adds to the list.
    pub fn expose_headers<I, T>(mut self, headers: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<ConfigText>,
    {
        self.expose_headers
            .extend(headers.into_iter().map(|t| t.into().0));
        self
    }

    /// Sends `Access-Control-Allow-Credentials: true` to allowed origins.
    ///
    /// Default: `false`. Replaces.
    pub fn allow_credentials(mut self, allow: bool) -> Self {
        self.allow_credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer, in seconds (an integer, or a
    /// [`Duration`](std::time::Duration): see [`MaxAge`]): `0..=86400` is sent as
    /// `Access-Control-Max-Age`, `-1` sends `0` (do not cache).
    ///
    /// Default: not sent (browsers cache for 5 seconds). Replaces.
    pub fn max_age(mut self, seconds: impl Into<MaxAge>) -> Self {
        self.max_age = Some(seconds.into().0);
        self
    }

    /// Removes every `Access-Control-*` header the inner service set before adding the
    /// layer's own, so the policy is defined in one place (AWS HTTP API does this).
    ///
    /// Default: `false` (the layer's headers replace same-named inner ones; others stay).
    /// Replaces.
    pub fn strip_inner_cors_headers(mut self, strip: bool) -> Self {
        self.strip_inner_cors_headers = strip;
        self
    }

    /// Starts in debug mode: refused preflights carry the headers decided so far, so the
    /// browser console names the cause. Switch at run time with
    /// [`CorsHandle::set_debug`](super::CorsHandle::set_debug).
    ///
    /// Default: `false`. Replaces. Ignored by [`CorsHandle::set`](super::CorsHandle::set), which
    /// keeps the current mode.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Reflects **any** origin with credentials: every website can make credentialed requests
    /// and read the answers, with the user's cookies. This defeats the same-origin policy and is
    /// almost never what you want; list your origins or patterns instead.
    ///
    /// Turns credentials on. Default: off.
    pub fn dangerously_reflect_any_origin_with_credentials(mut self) -> Self {
        self.dangerously_reflect_any_origin_with_credentials = true;
        self.allow_credentials = true;
        self
    }

    /// Tolerates plain-`http` origins other than loopback ones when credentials are allowed.
    /// Such origins can be impersonated by anyone on the network path, who then reads
    /// credentialed answers.
    ///
    /// Default: `false` (refused with credentials). Replaces.
    pub fn dangerously_tolerate_insecure_origins(mut self, tolerate: bool) -> Self {
        self.dangerously_tolerate_insecure_origins = tolerate;
        self
    }

    /// Validates the policy and builds the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every problem: `*` with credentials, `null`, `file:` or
    /// malformed origins, paths, queries, fragments, userinfo, upper case, non-ASCII hosts,
    /// explicit default ports, forbidden or invalid methods and header names, a max-age outside
    /// `-1..=86400`, and insecure origins with credentials.
    pub fn build(self) -> Result<CorsLayer, ConfigError> {
        CorsLayer::new(self)
    }

    pub(super) fn initial_debug(&self) -> bool {
        self.debug
    }

    /// Validates every value, reporting every problem.
    pub(super) fn compile(&self) -> Result<Policy, ConfigError> {
        let mut problems = Problems::new();
        // Reflecting any origin turns credentials on, from the setter or from serde data.
        let credentials =
            self.allow_credentials || self.dangerously_reflect_any_origin_with_credentials;

        let mut any_origin = false;
        let mut origins = Origins::default();
        for (i, value) in self.allow_origins.iter().enumerate() {
            let location = format!("allow_origins[{i}]");
            match parse_config_origin(value) {
                Ok(OriginSpec::Any) if credentials => problems.push(
                    Problem::new(
                        "cors",
                        ProblemKind::Unsafe,
                        value,
                        "origin \"*\" with credentials would let every site read credentialed \
                         answers; list the origins (or use \
                         dangerously_reflect_any_origin_with_credentials)",
                    )
                    .with_location(location),
                ),
                Ok(spec) => {
                    if credentials && !self.dangerously_tolerate_insecure_origins {
                        if let Some(("http", host)) = spec.scheme_and_host() {
                            if !is_loopback(host) {
                                problems.push(
                                    Problem::new(
                                        "cors",
                                        ProblemKind::Unsafe,
                                        value,
                                        format!(
                                            "origin {value:?} is plain http with credentials; \
                                             anyone on the network can impersonate it"
                                        ),
                                    )
                                    .with_location(location),
                                );
                                continue;
                            }
                        }
                    }
                    if spec == OriginSpec::Any {
                        any_origin = true;
                    }
                    origins.insert(&spec);
                }
                Err(p) => problems.push(p.with_location(location)),
            }
        }
        let reflect_any = self.dangerously_reflect_any_origin_with_credentials;
        if reflect_any && !self.allow_origins.is_empty() {
            problems.push(
                Problem::new(
                    "cors",
                    ProblemKind::Conflict,
                    self.allow_origins.join(", "),
                    format!(
                        "allow_origins must be empty when every origin is reflected with \
                         credentials (it lists {})",
                        self.allow_origins.join(", ")
                    ),
                )
                .with_location("allow_origins"),
            );
        }

        let mut methods = Methods::default();
        for (i, value) in self.allow_methods.iter().enumerate() {
            if let Err(p) = methods.add(value, format!("allow_methods[{i}]")) {
                problems.push(p);
            }
        }

        let mut headers = RequestHeaders::default();
        for (i, value) in self.allow_headers.iter().enumerate() {
            if let Err(p) = headers.add(value, format!("allow_headers[{i}]")) {
                problems.push(p);
            }
        }

        let mut exposed: Vec<String> = Vec::new();
        for (i, value) in self.expose_headers.iter().enumerate() {
            let location = format!("expose_headers[{i}]");
            if value == "*" {
                if credentials {
                    problems.push(
                        Problem::new(
                            "cors",
                            ProblemKind::Unsafe,
                            value,
                            "exposed header \"*\" is not a wildcard with credentials \
                             (Fetch); list the headers",
                        )
                        .with_location(location),
                    );
                } else if !exposed.iter().any(|e| e == "*") {
                    exposed.push("*".to_owned());
                }
                continue;
            }
            match config_header_name(value, "exposed header", location.clone()) {
                Ok(name) if is_forbidden_response_header(name.as_str()) => problems.push(
                    Problem::new(
                        "cors",
                        ProblemKind::Invalid,
                        value,
                        format!(
                            "exposed header {value:?} is a forbidden response-header name; \
                             scripts can never read it"
                        ),
                    )
                    .with_location(location),
                ),
                Ok(name) if is_prohibited_response_header(name.as_str()) => problems.push(
                    Problem::new(
                        "cors",
                        ProblemKind::Invalid,
                        value,
                        format!(
                            "exposed header {value:?} is never on an actual response; \
                             expose the application's own headers"
                        ),
                    )
                    .with_location(location),
                ),
                Ok(name) => {
                    if !exposed.iter().any(|e| e == name.as_str()) {
                        exposed.push(name.as_str().to_owned());
                    }
                }
                Err(p) => problems.push(p),
            }
        }

        let max_age = match self.max_age {
            None => None,
            Some(-1) => Some(HeaderValue::from_static("0")),
            Some(s @ 0..=86_400) => Some(HeaderValue::from(s)),
            Some(s) => {
                problems.push(
                    Problem::new(
                        "cors",
                        ProblemKind::OutOfRange,
                        s.to_string(),
                        format!("max-age {s} is outside -1..=86400 seconds"),
                    )
                    .with_location("max_age"),
                );
                None
            }
        };

        let expose = if exposed.is_empty() {
            None
        } else {
            HeaderValue::try_from(exposed.join(",")).ok()
        };

        let credentials = credentials || reflect_any;
        problems.finish(|| Policy {
            any_origin: any_origin || reflect_any,
            reflect_any,
            origins,
            credentials,
            preflight: PreflightTemplates::new(credentials, max_age.as_ref()),
            methods,
            headers,
            expose,
            strip: self.strip_inner_cors_headers,
        })
    }
}

impl TryFrom<CorsConfig> for CorsLayer {
    type Error = ConfigError;

    fn try_from(config: CorsConfig) -> Result<Self, ConfigError> {
        CorsLayer::new(config)
    }
}
