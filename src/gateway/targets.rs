//! Route targets: services by name, HTTP and WebSocket upstreams, and canary splits around
//! them, each problem placed at its route.

use std::time::Duration;

use super::build::{header_name, MODULE};
use super::config::{CanaryConfig, RouteConfig, WeightConfig};
use super::services::{BoxError, IntoTarget, Services, Target};
use crate::canary::{CanaryHandle, CanaryLayer, Key, Mode, Weight};
use crate::error::{Problem, ProblemKind, Problems};
use crate::metrics::{MetricsService, Registry};
use crate::util::boxed::BoxService;
use bytes::Bytes;
use http_body::Body as HttpBody;
use tower_layer::Layer;

/// Finds the target a config names.
pub(super) struct Resolver<'a, ReqB> {
    pub(super) services: &'a Services<ReqB>,
    pub(super) metrics: Option<Registry>,
}

impl<ReqB> Resolver<'_, ReqB>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    /// The target of `service` / `upstream` at `location` (`routes[2]`).
    fn target(
        &self,
        service: Option<&str>,
        upstream: Option<&UpstreamSpec<'_>>,
        location: &str,
        problems: &mut Problems,
    ) -> Option<Target<ReqB>> {
        match (service, upstream) {
            (Some(name), None) => self.service(name, &format!("{location}.service"), problems),
            (None, Some(spec)) => self.upstream(spec, location, problems),
            (Some(name), Some(spec)) => {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Conflict,
                        name,
                        format!(
                            "both service \"{name}\" and upstream \"{}\" are set; set one",
                            spec.url
                        ),
                    )
                    .with_related(spec.url)
                    .with_location(location),
                );
                None
            }
            (None, None) => {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Invalid,
                        "",
                        "no target: set `service` or `upstream`",
                    )
                    .with_location(location),
                );
                None
            }
        }
    }

    pub(super) fn service(
        &self,
        name: &str,
        location: &str,
        problems: &mut Problems,
    ) -> Option<Target<ReqB>> {
        if let Some(target) = self.services.named.get(name) {
            return Some(target.clone());
        }
        if name == "metrics" {
            if let Some(registry) = &self.metrics {
                return Some(BoxService::new(IntoTarget::new(MetricsService::new(
                    registry.clone(),
                ))));
            }
        }
        let mut known: Vec<&str> = self.services.named.keys().map(String::as_str).collect();
        known.sort_unstable();
        let reason = if known.is_empty() {
            format!("no service named \"{name}\" is registered (none are)")
        } else {
            format!(
                "no service named \"{name}\" is registered (known: {})",
                known.join(", ")
            )
        };
        problems
            .push(Problem::new(MODULE, ProblemKind::Unknown, name, reason).with_location(location));
        None
    }

    #[cfg(feature = "upstream")]
    fn upstream(
        &self,
        spec: &UpstreamSpec<'_>,
        location: &str,
        problems: &mut Problems,
    ) -> Option<Target<ReqB>> {
        if spec.websocket {
            return self.websocket_upstream(spec, location, problems);
        }
        if let Some(idle) = spec.idle_timeout {
            let kind = ProblemKind::Invalid;
            inapplicable(
                problems,
                kind,
                location,
                "idle_timeout",
                idle,
                "WebSocket routes only",
            );
        }
        let mut builder = crate::upstream::Upstream::builder(spec.url);
        if let Some(prefix) = spec.strip_prefix {
            builder = builder.strip_prefix(prefix);
        }
        if let Some(client) = &self.services.upstream_client {
            builder = builder.client(client.clone());
        }
        let [timeout, connect, _] = spec.durations(location, problems);
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        built(builder.build(), location, problems)
    }

    /// A WebSocket upstream: the handshake proxied, then bytes copied both ways.
    #[cfg(feature = "upstream")]
    fn websocket_upstream(
        &self,
        spec: &UpstreamSpec<'_>,
        location: &str,
        problems: &mut Problems,
    ) -> Option<Target<ReqB>> {
        let mut builder = crate::upstream::WebSocketUpstream::builder(spec.url);
        if let Some(prefix) = spec.strip_prefix {
            builder = builder.strip_prefix(prefix);
        }
        if let Some(timeout) = spec.timeout {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    timeout,
                    format!(
                        "a WebSocket route has no response timeout (`timeout` \"{timeout}\"); \
                         use `idle_timeout` and `connect_timeout`"
                    ),
                )
                .with_location(format!("{location}.timeout")),
            );
        }
        let [_, connect, idle] = spec.durations(location, problems);
        if let Some(idle) = idle {
            builder = builder.idle_timeout(idle);
        }
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        built(builder.build(), location, problems)
    }

    #[cfg(not(feature = "upstream"))]
    fn upstream(
        &self,
        spec: &UpstreamSpec<'_>,
        location: &str,
        problems: &mut Problems,
    ) -> Option<Target<ReqB>> {
        problems.push(
            Problem::new(
                MODULE,
                ProblemKind::Invalid,
                spec.url,
                format!(
                    "upstream \"{}\" needs the `upstream` feature of tower-gateway",
                    spec.url
                ),
            )
            .with_location(format!("{location}.upstream")),
        );
        None
    }
}

/// An upstream target as a route or a canary describes it.
#[cfg_attr(not(feature = "upstream"), allow(dead_code))]
struct UpstreamSpec<'a> {
    url: &'a str,
    strip_prefix: Option<&'a str>,
    timeout: Option<&'a str>,
    connect_timeout: Option<&'a str>,
    /// A WebSocket route: the upstream proxies handshakes and then bytes.
    websocket: bool,
    idle_timeout: Option<&'a str>,
}

#[cfg(feature = "upstream")]
impl UpstreamSpec<'_> {
    /// The timeout, connect timeout and idle timeout, each parsed (and reported) at its field.
    /// The fields that do not apply to the kind of upstream are left out (the caller reports
    /// them).
    fn durations(&self, location: &str, problems: &mut Problems) -> [Option<Duration>; 3] {
        let (timeout, idle) = if self.websocket {
            (None, self.idle_timeout)
        } else {
            (self.timeout, None)
        };
        [
            ("timeout", timeout),
            ("connect_timeout", self.connect_timeout),
            ("idle_timeout", idle),
        ]
        .map(|(field, text)| {
            text.and_then(|t| duration(t, &format!("{location}.{field}"), problems))
        })
    }
}

/// An upstream as a target, or its problems reported at `{location}.upstream`.
#[cfg(feature = "upstream")]
fn built<ReqB, U>(
    upstream: Result<U, crate::error::ConfigError>,
    location: &str,
    problems: &mut Problems,
) -> Option<Target<ReqB>>
where
    IntoTarget<U>: tower_service::Service<
            http::Request<ReqB>,
            Response = http::Response<super::GatewayBody>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + Sync
        + 'static,
    <IntoTarget<U> as tower_service::Service<http::Request<ReqB>>>::Future: Send + 'static,
    ReqB: 'static,
{
    match upstream {
        Ok(upstream) => Some(BoxService::new(IntoTarget::new(upstream))),
        Err(error) => {
            problems.extend(error.at(&format!("{location}.upstream")));
            None
        }
    }
}

/// Parses `"250ms"`, `"5s"`, `"2m"` (a whole number and a unit).
#[cfg_attr(not(feature = "upstream"), allow(dead_code))]
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => number.checked_mul(60).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg_attr(not(feature = "upstream"), allow(dead_code))]
fn duration(text: &str, location: &str, problems: &mut Problems) -> Option<Duration> {
    match parse_duration(text) {
        Some(duration) if !duration.is_zero() => Some(duration),
        _ => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Syntax,
                    text,
                    format!(
                        "duration \"{text}\" is not a positive whole number of ms, s or m \
                         (\"500ms\", \"5s\", \"1m\")"
                    ),
                )
                .with_location(location),
            );
            None
        }
    }
}

pub(super) fn route_target<ReqB>(
    route: &RouteConfig,
    resolver: &Resolver<'_, ReqB>,
    location: &str,
    canaries: &mut Vec<(String, CanaryHandle)>,
    problems: &mut Problems,
) -> Option<Target<ReqB>>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    let upstream = route.upstream.as_deref().map(|url| UpstreamSpec {
        url,
        strip_prefix: route.strip_prefix.as_deref(),
        timeout: route.timeout.as_deref(),
        connect_timeout: route.connect_timeout.as_deref(),
        websocket: route.websocket,
        idle_timeout: route.idle_timeout.as_deref(),
    });
    if upstream.is_none() {
        for (field, value) in [
            ("strip_prefix", &route.strip_prefix),
            ("timeout", &route.timeout),
            ("connect_timeout", &route.connect_timeout),
            ("idle_timeout", &route.idle_timeout),
        ] {
            if let Some(value) = value {
                let kind = ProblemKind::Invalid;
                inapplicable(
                    problems,
                    kind,
                    location,
                    field,
                    value,
                    "upstream targets only",
                );
            }
        }
    }
    if let Some(url) = &route.upstream {
        uncaptured_placeholders(url, &route.path, &format!("{location}.upstream"), problems);
    }
    if let Some(url) = route.canary.as_ref().and_then(|c| c.upstream.as_ref()) {
        uncaptured_placeholders(
            url,
            &route.path,
            &format!("{location}.canary.upstream"),
            problems,
        );
    }
    let stable = resolver.target(
        route.service.as_deref(),
        upstream.as_ref(),
        location,
        problems,
    );
    let canary = route.canary.as_ref().and_then(|canary| {
        canary_layer(
            canary,
            route.websocket,
            resolver,
            &format!("{location}.canary"),
            problems,
        )
    });
    let stable = stable?;
    match (route.canary.is_some(), canary) {
        (false, _) => Some(stable),
        (true, None) => None,
        (true, Some(layer)) => {
            // Found by its name (the first route of that name) and by its own path.
            let handle = layer.handle();
            // An empty name would shadow the stage canary's label, `""`.
            if let Some(name) = route.name.as_ref().filter(|name| !name.is_empty()) {
                canaries.push((name.clone(), handle.clone()));
            }
            canaries.push((route.path.clone(), handle));
            Some(BoxService::new(layer.layer(stable)))
        }
    }
}

/// Reports each `{name}` placeholder in the path of the upstream URL `url` that the route's
/// template does not capture: it would be filled with nothing on every request. Malformed
/// placeholders are left to the upstream's own validation.
fn uncaptured_placeholders(url: &str, template: &str, location: &str, problems: &mut Problems) {
    let braces = |text: &str| -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else { break };
            names.push(after[..end].to_owned());
            rest = &after[end + 1..];
        }
        names
    };
    let bare = |inner: &str| -> String {
        let inner = inner.strip_prefix('*').unwrap_or(inner);
        inner.strip_suffix('+').unwrap_or(inner).to_owned()
    };
    let captured: Vec<String> = braces(template).iter().map(|n| bare(n)).collect();
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or("");
    for inner in braces(path) {
        let name = bare(&inner);
        let well_formed = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if well_formed && !captured.contains(&name) {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Unknown,
                    url,
                    format!(
                        "upstream URL \"{url}\" uses the placeholder {{{inner}}}, which the \
                         route's template \"{template}\" does not capture"
                    ),
                )
                .with_location(location),
            );
        }
    }
}

pub(super) fn canary_layer<ReqB>(
    config: &CanaryConfig,
    websocket: bool,
    resolver: &Resolver<'_, ReqB>,
    location: &str,
    problems: &mut Problems,
) -> Option<CanaryLayer<Target<ReqB>>>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    let upstream = config.upstream.as_deref().map(|url| UpstreamSpec {
        url,
        strip_prefix: None,
        timeout: config.timeout.as_deref(),
        connect_timeout: None,
        websocket,
        idle_timeout: None,
    });
    if config.upstream.is_none() {
        if let Some(timeout) = &config.timeout {
            let kind = ProblemKind::Invalid;
            inapplicable(
                problems,
                kind,
                location,
                "timeout",
                timeout,
                "upstream targets only",
            );
        }
    }
    let target = resolver.target(
        config.service.as_deref(),
        upstream.as_ref(),
        location,
        problems,
    );
    let weight = match &config.weight {
        WeightConfig::Percent(percent) => Weight::percent(*percent),
        WeightConfig::Text(text) => Weight::from(text.as_str()),
    };
    // A bad weight is located at the field that holds it (`routes[2].canary.weight`), not at
    // the arm the canary layer names.
    let weight_ok = match weight.to_ppm() {
        Ok(_) => true,
        Err(error) => {
            problems.extend(error.at(&format!("{location}.weight")));
            false
        }
    };
    let mode = canary_mode(config, location, problems);
    let arm_header = config
        .arm_header
        .as_deref()
        .and_then(|name| header_name(name, &format!("{location}.arm_header"), problems));
    match (target, mode) {
        (Some(target), Some(mode)) if weight_ok => {
            match canary_builder(config, target, weight, mode, arm_header).build() {
                Ok(layer) => Some(layer),
                Err(error) => {
                    split_problems(config, error, location, problems);
                    None
                }
            }
        }
        (_, mode) => {
            // Still report the arms' own problems (names, the arm header's values) with the
            // others: every problem at once.
            let weight = if weight_ok { weight } else { Weight::ZERO };
            let mode = mode.unwrap_or_default();
            if let Err(error) = canary_builder(config, (), weight, mode, arm_header).build() {
                split_problems(config, error, location, problems);
            }
            None
        }
    }
}

/// The split's problems, located at the section, or at the field that holds the value: a bad
/// cookie name at `sticky_cookie`, a bad arm name at `stable_name` or `canary_name` (a repeated
/// name at the repeat, `canary_name`).
fn split_problems(
    config: &CanaryConfig,
    error: crate::error::ConfigError,
    location: &str,
    problems: &mut Problems,
) {
    let names = [
        ("stable_name", config.stable_name.as_deref()),
        ("canary_name", config.canary_name.as_deref()),
    ];
    let mut empties = names.iter().filter(|(_, name)| *name == Some(""));
    for problem in error {
        let value = Some(problem.value());
        let field = if problem.location().is_some() {
            ""
        } else if config.sticky_cookie.as_deref() == value {
            "sticky_cookie"
        } else if value == Some("") {
            // One problem per empty name, in the arms' order.
            empties.next().map_or("", |(field, _)| *field)
        } else if problem.kind() == ProblemKind::Duplicate {
            names
                .iter()
                .rev()
                .find(|(_, name)| *name == value)
                .map_or("", |(field, _)| *field)
        } else {
            names
                .iter()
                .find(|(_, name)| *name == value)
                .map_or("", |(field, _)| *field)
        };
        let at = if field.is_empty() {
            location.to_owned()
        } else {
            format!("{location}.{field}")
        };
        problems.extend(crate::error::ConfigError::new(problem).at(&at));
    }
}

/// The split `config` describes around `target`, not yet validated.
fn canary_builder<C>(
    config: &CanaryConfig,
    target: C,
    weight: Weight,
    mode: Mode,
    arm_header: Option<http::HeaderName>,
) -> crate::canary::CanaryBuilder<C> {
    let mut builder = CanaryLayer::builder().mode(mode);
    if let Some(name) = &config.stable_name {
        // The stable arm takes what the canary leaves; an invalid weight is reported below.
        let rest = weight.to_ppm().map_or(Weight::ZERO, |ppm| {
            Weight::ppm(1_000_000_u32.saturating_sub(ppm))
        });
        builder = builder.stable(name.clone(), rest);
    }
    builder = match &config.canary_name {
        Some(name) => builder.arm(name.clone(), target, weight),
        None => builder.canary(target, weight),
    };
    if let Some(name) = arm_header {
        builder = builder.arm_header(name);
    }
    builder
}

fn canary_mode(config: &CanaryConfig, location: &str, problems: &mut Problems) -> Option<Mode> {
    let key = match (&config.sticky_header, &config.sticky_cookie) {
        (Some(header), None) => {
            header_name(header, &format!("{location}.sticky_header"), problems).map(Key::header)
        }
        (None, Some(cookie)) => Some(Key::cookie(cookie.clone())),
        (None, None) => None,
        (Some(header), Some(_)) => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Conflict,
                    header.as_str(),
                    format!(
                        "both sticky_header \"{header}\" and sticky_cookie \"{}\" are set; \
                         set one",
                        config.sticky_cookie.as_deref().unwrap_or_default()
                    ),
                )
                .with_location(format!("{location}.sticky_cookie")),
            );
            return None;
        }
    };
    // A sticky key without a mode asks for the sticky mode; a key with an explicit random or
    // round-robin mode would do nothing, and is refused.
    let keyed = config.sticky_header.is_some() || config.sticky_cookie.is_some();
    // The `Mode` constructors' names (`round_robin`) are accepted too.
    let mode = match config.mode.as_deref() {
        Some("round_robin") => "round-robin",
        Some("sticky_or_stable") => "sticky-or-stable",
        Some(mode) => mode,
        None if keyed => "sticky",
        None => "random",
    };
    if matches!(mode, "random" | "round-robin") {
        for (field, value) in [
            ("sticky_header", &config.sticky_header),
            ("sticky_cookie", &config.sticky_cookie),
        ] {
            if let Some(value) = value {
                let applies_to = format!(
                    "the sticky modes only, not to mode \"{mode}\"; \
                     set mode = \"sticky\" or \"sticky-or-stable\""
                );
                let kind = ProblemKind::Conflict;
                inapplicable(problems, kind, location, field, value, &applies_to);
            }
        }
    }
    let sticky = |key: Option<Key>, or_stable: bool, problems: &mut Problems| match key {
        Some(key) if or_stable => Some(Mode::sticky_or_stable(key)),
        Some(key) => Some(Mode::sticky(key)),
        None => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    mode,
                    format!("mode \"{mode}\" needs sticky_header or sticky_cookie"),
                )
                .with_location(format!("{location}.mode")),
            );
            None
        }
    };
    match mode {
        "random" => Some(Mode::random()),
        "round-robin" => Some(Mode::round_robin()),
        "sticky" => sticky(key, false, problems),
        "sticky-or-stable" => sticky(key, true, problems),
        other => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    other,
                    format!(
                        "mode \"{other}\" is not one of random, round-robin, sticky, \
                         sticky-or-stable"
                    ),
                )
                .with_location(format!("{location}.mode")),
            );
            None
        }
    }
}

/// Reports `field` (set to `value` at `{location}.{field}`) as a setting that does nothing
/// where it is, quoting its value and saying what it `applies_to`.
fn inapplicable(
    problems: &mut Problems,
    kind: ProblemKind,
    location: &str,
    field: &str,
    value: &str,
    applies_to: &str,
) {
    problems.push(
        Problem::new(
            MODULE,
            kind,
            value,
            format!("`{field}` \"{value}\" applies to {applies_to}"),
        )
        .with_location(format!("{location}.{field}")),
    );
}
