//! [`GatewayConfig`]: a whole gateway as plain serde data.
//!
//! Every struct refuses unknown fields and gives every optional field a default, so a config
//! file says only what differs. Nothing is checked while deserializing beyond the shape; every
//! value is validated by [`Gateway::from_config`](super::Gateway::from_config), which reports
//! every problem at once with its location (`routes[3].path`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cors::CorsConfig;
use crate::metrics::MetricsConfig;

/// A whole gateway: routes and their targets, the CORS and origin policies, canary splits, the
/// access log and metrics.
///
/// Plain data with no format baked in: TOML, JSON, YAML or anything serde reads. Each section
/// maps to one layer; a missing section means that layer's defaults (see each field).
///
/// ```
/// use tower_gateway::gateway::GatewayConfig;
///
/// let config: GatewayConfig = serde_json::from_str(r#"{
///     "routes": [
///         { "path": "/pets/{id}", "methods": ["GET"], "service": "pets",
///           "canary": { "service": "pets-v2", "weight": 10 } },
///         { "path": "/inventory", "nest": true, "service": "inventory" }
///     ],
///     "cors": { "allow_origins": ["http://localhost:*"] },
///     "access_log": { "format": "combined", "sink": "stdout" }
/// }"#)?;
/// assert_eq!(config.routes.len(), 2);
/// assert!(serde_json::from_str::<GatewayConfig>(r#"{ "rutes": [] }"#).is_err());
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// The port the serving program should listen on. The crate itself never binds a socket;
    /// this is for the binary that serves the gateway (the demo reads it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The route table, in any order (the most specific template wins, not the first).
    pub routes: Vec<RouteConfig>,
    /// Router policies: trailing slashes, slash merging, case, the 404 body.
    pub router: RouterConfig,
    /// The service that answers requests no route matches, by name. Default: the Router's own
    /// `404`. A known path asked with another method gets the Router's `405` either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// A stage-level canary around the whole route table (stable = the table, canary = this
    /// target). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
    /// The CORS policy. Default: an empty policy, which refuses every cross-origin preflight and
    /// grants no cross-origin read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsConfig>,
    /// The origin guard. Default: enabled, trusting what the CORS policy allows.
    pub origin: OriginConfig,
    /// The access log. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLogConfig>,
    /// Metrics. Default: none; with a section, recorded per route and arm and exposed by the
    /// built-in `metrics` service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsConfig>,
}

/// One route: a path template, its methods, and its target (a named service or an upstream).
///
/// Exactly one of `service` and `upstream` is set. `upstream`, `strip_prefix`, `timeout` and
/// `connect_timeout` need the `upstream` feature.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteConfig {
    /// A name for logs and metrics ([`MatchedRoute::name`](crate::router::MatchedRoute::name)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The path template: `/pets/{id}`, `/files/{*rest}`, `/api/{proxy+}`.
    pub path: String,
    /// The methods (`GET`, `POST`, ...; extension methods as written, case-sensitive). Empty,
    /// or `"ANY"` (in any case) alone: any method. A standard method must be upper case
    /// (`"get"` is refused: write `"GET"`), and a method listed twice is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Route `path` and everything below it, with `path` stripped from the request path
    /// ([`RouterBuilder::nest`](crate::router::RouterBuilder::nest)). A nested route takes
    /// every method: `methods` must then be empty. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub nest: bool,
    /// A WebSocket-only route: handshakes (`GET` with `Upgrade: websocket`) reach the target,
    /// a plain `GET` gets `426 Upgrade Required`. With `upstream` (`ws://` or `http://`), the
    /// gateway proxies the handshake and then the connection's bytes. It is `GET` only and
    /// cannot be nested: `methods` other than `["GET"]` and `nest` are errors. Default
    /// `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub websocket: bool,
    /// The target, as a service registered in code under this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The target, as an upstream base URL (`http://host:port/base`, with optional `{proxy}`
    /// placeholders filled from the route's params).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// For an upstream: a path prefix removed before the base path is prepended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip_prefix: Option<String>,
    /// For an upstream: how long to wait for the response headers (`"500ms"`, `"5s"`, `"1m"`:
    /// a positive whole number of `ms`, `s` or `m`); `504` when it passes. Default: 30 s
    /// (`upstream::UpstreamBuilder::timeout`). An error on a WebSocket route, which has
    /// `idle_timeout` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// For an upstream: how long to wait for the connection (same syntax as `timeout`).
    /// Default: 5 s, or 10 s for a WebSocket upstream (its handshake included). On an HTTP
    /// upstream, an error when the gateway's upstreams share a pool
    /// (`Services::upstream_client`): set it on that client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
    /// For a WebSocket upstream: close the connection after this long without a byte either
    /// way (same syntax as `timeout`). Default: no idle timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// A canary split around this route's target (stable = the target above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
}

/// A two-arm canary split: the stable arm is what it wraps (a route's target, or the whole
/// table), the canary arm is the target named here.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CanaryConfig {
    /// The canary target, as a registered service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The canary target, as an upstream base URL (feature `upstream`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// For an upstream canary: the timeout to the response headers (an error with `service`).
    /// Default: 30 s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// The canary's share in percent: a number (`10`, `0.5`) or text (`"12.5%"`). Default: 0
    /// (the canary gets no call until its weight is raised through
    /// [`GatewayHandle::canary`](super::GatewayHandle::canary)).
    pub weight: WeightConfig,
    /// `"random"`, `"round-robin"`, `"sticky"` or `"sticky-or-stable"` (the last two need
    /// `sticky_header` or `sticky_cookie`; `_` may replace `-`). Default: `"sticky"` when a
    /// sticky key is set, else `"random"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The request header whose value keeps a caller on one arm (sticky modes; an error with
    /// `random` or `round-robin`, and together with `sticky_cookie`: set one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky_header: Option<String>,
    /// The cookie whose value keeps a caller on one arm (sticky modes; an error with `random`
    /// or `round-robin`, and together with `sticky_header`: set one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticky_cookie: Option<String>,
    /// The stable arm's name in logs and metrics. Default `"stable"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable_name: Option<String>,
    /// The canary arm's name in logs and metrics. Default `"canary"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_name: Option<String>,
    /// A response header naming the arm that served (for example `x-canary-arm`). Default:
    /// none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arm_header: Option<String>,
}

/// A canary weight in percent, as a number or as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WeightConfig {
    /// `10`, `0.5`.
    Percent(f64),
    /// `"10"`, `"12.5%"`.
    Text(String),
}

impl Default for WeightConfig {
    fn default() -> Self {
        Self::Percent(0.0)
    }
}

impl fmt::Display for WeightConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Percent(percent) => write!(f, "{percent}"),
            Self::Text(text) => f.write_str(text),
        }
    }
}

/// Router policies (see [`RouterBuilder`](crate::router::RouterBuilder)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RouterConfig {
    /// `"strict"` (default), `"redirect"` or `"ignore"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trailing_slash: Option<String>,
    /// Merge runs of slashes before matching. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub merge_slashes: bool,
    /// Match static segments regardless of ASCII case. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub case_insensitive: bool,
    /// The body of the Router's `404`: `"empty"` (default) or `"aws-json"` (or `"aws_json"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_found: Option<String>,
}

/// The origin guard (see [`OriginGuardBuilder`](crate::origin::OriginGuardBuilder)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct OriginConfig {
    /// Whether the guard runs at all. Default `true`. The other settings are checked either
    /// way.
    pub enabled: bool,
    /// Trust every origin the CORS policy allows (following run-time policy changes).
    /// Default `true`.
    pub trust_cors: bool,
    /// Origins trusted besides those, exact (`https://admin.example.com`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_origins: Vec<String>,
    /// The gateway's public origin(s) behind a proxy, replacing the request's own authority.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_origins: Vec<String>,
    /// Paths exempt from the check (webhooks): `/hooks/` a subtree of whole segments,
    /// `/callback` that path only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bypass_paths: Vec<String>,
    /// Trust `Sec-Fetch-Site: same-site`. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub trust_same_site: bool,
    /// Refuse state-changing requests that carry neither `Sec-Fetch-Site` nor `Origin`.
    /// Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub strict: bool,
    /// Let refused requests through, marked. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub report_only: bool,
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trust_cors: true,
            trusted_origins: Vec::new(),
            public_origins: Vec::new(),
            bypass_paths: Vec::new(),
            trust_same_site: false,
            strict: false,
            report_only: false,
        }
    }
}

/// The access log (see [`AccessLogLayer`](crate::access_log::AccessLogLayer)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AccessLogConfig {
    /// `"common"`, `"combined"` (default; also `"apache_common"` and `"apache_combined"`, the
    /// [`LogFormat`](crate::access_log::LogFormat) constructors' names), `"envoy"`, `"json"`,
    /// or a template such as
    /// `"$context.httpMethod $context.path $context.status $context.canaryArm"` (see
    /// [`LogFormat::template`](crate::access_log::LogFormat::template)). Any other value with
    /// no `$context` variable (a misspelt name such as `"comon"`) is a configuration error.
    pub format: String,
    /// Where lines go: `"stdout"` (default), `"stderr"`, `"discard"`, or `"code"` for the sink
    /// given to [`Services::access_log_sink`](super::Services::access_log_sink), or (feature
    /// `tracing`) `"tracing"` for `Sink::tracing` events.
    /// Standard output and error are written by a background thread, never on the request path.
    pub sink: String,
    /// The request and response header that carries the request id: a valid incoming id is
    /// kept, otherwise one is generated, and it is set on the response
    /// ([`AccessLogLayer::request_id_header`](crate::access_log::AccessLogLayer::request_id_header)).
    /// Default: `x-request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id_header: Option<String>,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            format: "combined".to_owned(),
            sink: "stdout".to_owned(),
            request_id_header: None,
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

impl GatewayConfig {
    /// An empty configuration: no routes, the default CORS and origin policies.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl RouteConfig {
    /// A route on `path` (any method, no target yet).
    #[must_use]
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            ..Self::default()
        }
    }

    /// Its name, for logs and metrics.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Its methods (adds to the list; none means any method).
    #[must_use]
    pub fn methods<I, T>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.methods.extend(methods.into_iter().map(Into::into));
        self
    }

    /// Routes everything below `path` too, with `path` stripped.
    #[must_use]
    pub fn nest(mut self, nest: bool) -> Self {
        self.nest = nest;
        self
    }

    /// Marks it WebSocket-only.
    #[must_use]
    pub fn websocket(mut self, websocket: bool) -> Self {
        self.websocket = websocket;
        self
    }

    /// Its target: the service registered under `name`.
    #[must_use]
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Its target: an upstream base URL (feature `upstream`).
    #[must_use]
    pub fn upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    /// For an upstream: the prefix stripped from the path.
    #[must_use]
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.strip_prefix = Some(prefix.into());
        self
    }

    /// For an upstream: the timeout to the response headers (`"5s"`).
    #[must_use]
    pub fn timeout(mut self, timeout: impl Into<String>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    /// For an upstream: the timeout to the connection (`"1s"`).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: impl Into<String>) -> Self {
        self.connect_timeout = Some(timeout.into());
        self
    }

    /// For a WebSocket upstream: the idle timeout (`"60s"`).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: impl Into<String>) -> Self {
        self.idle_timeout = Some(timeout.into());
        self
    }

    /// A canary split around its target.
    #[must_use]
    pub fn canary(mut self, canary: CanaryConfig) -> Self {
        self.canary = Some(canary);
        self
    }
}

impl CanaryConfig {
    /// A canary arm served by the service registered under `name`, taking `percent` of calls.
    #[must_use]
    pub fn service(name: impl Into<String>, percent: f64) -> Self {
        Self {
            service: Some(name.into()),
            weight: WeightConfig::Percent(percent),
            ..Self::default()
        }
    }

    /// A canary arm served by an upstream (feature `upstream`), taking `percent` of calls.
    #[must_use]
    pub fn upstream(url: impl Into<String>, percent: f64) -> Self {
        Self {
            upstream: Some(url.into()),
            weight: WeightConfig::Percent(percent),
            ..Self::default()
        }
    }

    /// The mode: `"random"`, `"round-robin"`, `"sticky"`, `"sticky-or-stable"`.
    #[must_use]
    pub fn mode(mut self, mode: impl Into<String>) -> Self {
        self.mode = Some(mode.into());
        self
    }

    /// The header whose value keeps a caller on one arm.
    #[must_use]
    pub fn sticky_header(mut self, name: impl Into<String>) -> Self {
        self.sticky_header = Some(name.into());
        self
    }

    /// The cookie whose value keeps a caller on one arm.
    #[must_use]
    pub fn sticky_cookie(mut self, name: impl Into<String>) -> Self {
        self.sticky_cookie = Some(name.into());
        self
    }

    /// For an upstream canary: the timeout to the response headers (`"5s"`).
    #[must_use]
    pub fn timeout(mut self, timeout: impl Into<String>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    /// A response header naming the arm that served (`x-canary-arm`).
    #[must_use]
    pub fn arm_header(mut self, name: impl Into<String>) -> Self {
        self.arm_header = Some(name.into());
        self
    }

    /// The arms' names in logs and metrics.
    #[must_use]
    pub fn names(mut self, stable: impl Into<String>, canary: impl Into<String>) -> Self {
        self.stable_name = Some(stable.into());
        self.canary_name = Some(canary.into());
        self
    }
}

impl AccessLogConfig {
    /// A log in `format` (`"common"`, `"combined"`, `"envoy"`, `"json"` or a template) written
    /// to `sink` (`"stdout"`, `"stderr"`, `"discard"`, `"code"`).
    #[must_use]
    pub fn new(format: impl Into<String>, sink: impl Into<String>) -> Self {
        Self {
            format: format.into(),
            sink: sink.into(),
            request_id_header: None,
        }
    }

    /// The header that carries the request id, instead of `x-request-id`.
    #[must_use]
    pub fn request_id_header(mut self, name: impl Into<String>) -> Self {
        self.request_id_header = Some(name.into());
        self
    }
}

impl OriginConfig {
    /// The default guard: enabled, trusting what CORS allows.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `origin` too (adds to the list).
    #[must_use]
    pub fn trust_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted_origins.push(origin.into());
        self
    }

    /// Turns the guard off.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}
