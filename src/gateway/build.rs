//! From a [`GatewayConfig`] and [`Services`] to a running stack, validating everything first.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, Method, Request, Response};
use http_body::Body as HttpBody;
use tower_layer::Layer;
use tower_service::Service;

use super::config::{
    AccessLogConfig, CanaryConfig, GatewayConfig, OriginConfig, RouteConfig, RouterConfig,
    WeightConfig,
};
use super::services::{BoxError, GatewayBody, IntoTarget, IntoTargetFuture, Services, Target};
use crate::access_log::{AccessLogLayer, FlushGuard, LogFormat, NonBlocking, Sink};
use crate::canary::{CanaryHandle, CanaryLayer, Key, Mode, Weight};
use crate::cors::CorsLayer;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};
use crate::metrics::{MetricsService, Registry};
use crate::origin::OriginGuardLayer;
use crate::router::{NotFoundBody, Router, RouterBuilder, TrailingSlash};
use crate::util::boxed::{BoxFuture, BoxService};
use crate::util::oneshot::Oneshot;

const MODULE: &str = "gateway";

/// Calls the composed stack: clones the concrete (reference-counted) stack and boxes its future.
pub(crate) type CallFn<ReqB> =
    dyn Fn(Request<ReqB>) -> BoxFuture<Response<GatewayBody>, Infallible> + Send + Sync;

/// One validated, composed gateway: what a reload swaps in.
pub(crate) struct Built<ReqB> {
    pub(crate) call: Box<CallFn<ReqB>>,
    pub(crate) config: Arc<GatewayConfig>,
    pub(crate) canaries: Vec<(String, CanaryHandle)>,
    pub(crate) cors: CorsLayer,
    pub(crate) metrics: Option<Registry>,
}

/// What outlives one configuration: the background log writers (one per standard stream) and
/// the metrics registry built from an unchanged `metrics` section.
#[derive(Default)]
pub(crate) struct Cache {
    writers: HashMap<&'static str, (Sink, Arc<FlushGuard>)>,
    metrics: Option<(crate::metrics::MetricsConfig, Registry)>,
}

impl Cache {
    pub(crate) fn flush(&self) {
        for (_, guard) in self.writers.values() {
            guard.flush();
        }
    }
}

/// Validates `config` against `services` and composes the stack, or returns every problem.
pub(crate) fn build<ReqB>(
    config: &GatewayConfig,
    services: &Services<ReqB>,
    cache: &Mutex<Cache>,
) -> Result<Built<ReqB>, ConfigError>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    let mut problems = Problems::new();
    let mut canaries = Vec::new();

    // Layers first: the origin guard trusts what CORS allows, and `metrics` may be a target.
    let cors = match CorsLayer::new(config.cors.clone().unwrap_or_default()) {
        Ok(cors) => Some(cors),
        Err(error) => {
            problems.extend(error.at("cors"));
            None
        }
    };
    let origin = origin_layer(&config.origin, cors.as_ref(), &mut problems);
    let metrics = metrics_registry(config, services, cache, &mut problems);
    let access_log = config
        .access_log
        .as_ref()
        .and_then(|log| access_log_layer(log, services, cache, &mut problems));

    let resolver = Resolver {
        services,
        metrics: metrics.clone(),
    };
    let router = router(config, &resolver, &mut canaries, &mut problems);
    let app_canary = config.canary.as_ref().and_then(|canary| {
        let built = canary_layer(canary, false, &resolver, "canary", &mut problems)?;
        canaries.push((String::new(), built.handle()));
        Some(built)
    });

    let (Some(router), Some(cors)) = (router, cors) else {
        return Err(finish_err(problems));
    };
    if !problems.is_empty() {
        return Err(finish_err(problems));
    }
    let layers = Layers {
        origin,
        cors: cors.clone(),
        access_log,
        metrics: metrics.clone().filter(|_| metrics_enabled(config)),
    };
    let call = match app_canary {
        Some(canary) => {
            let stable: Target<ReqB> = BoxService::new(IntoTarget::new(router));
            layers.origin(canary.layer(stable))
        }
        None => layers.origin(router),
    };
    Ok(Built {
        call,
        config: Arc::new(config.clone()),
        canaries,
        cors,
        metrics,
    })
}

fn placeholder<ReqB: Send + 'static>() -> Target<ReqB> {
    BoxService::new(Placeholder)
}

/// Stands in for a target that failed validation; a table holding one is never served.
#[derive(Clone, Copy)]
struct Placeholder;

impl<ReqB> Service<Request<ReqB>> for Placeholder {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<ReqB>) -> Self::Future {
        let mut response = Response::new(GatewayBody::empty());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        std::future::ready(Ok(response))
    }
}

fn finish_err(problems: Problems) -> ConfigError {
    match problems.finish(|| ()) {
        Err(error) => error,
        Ok(()) => ConfigError::new(Problem::new(
            MODULE,
            ProblemKind::Invalid,
            "",
            "the configuration could not be built",
        )),
    }
}

/// Finds the target a config names.
struct Resolver<'a, ReqB> {
    services: &'a Services<ReqB>,
    metrics: Option<Registry>,
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

    fn service(&self, name: &str, location: &str, problems: &mut Problems) -> Option<Target<ReqB>> {
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
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    idle,
                    "`idle_timeout` applies to WebSocket routes only",
                )
                .with_location(format!("{location}.idle_timeout")),
            );
        }
        let mut builder = crate::upstream::Upstream::builder(spec.url);
        if let Some(prefix) = spec.strip_prefix {
            builder = builder.strip_prefix(prefix);
        }
        if let Some(client) = &self.services.upstream_client {
            builder = builder.client(client.clone());
        }
        let timeout = spec
            .timeout
            .and_then(|t| duration(t, &format!("{location}.timeout"), problems));
        let connect = spec
            .connect_timeout
            .and_then(|t| duration(t, &format!("{location}.connect_timeout"), problems));
        if let Some(timeout) = timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        match builder.build() {
            Ok(upstream) => Some(BoxService::new(IntoTarget::new(upstream))),
            Err(error) => {
                problems.extend(error.at(&format!("{location}.upstream")));
                None
            }
        }
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
                    "a WebSocket route has no response timeout; use `idle_timeout` and \
                     `connect_timeout`",
                )
                .with_location(format!("{location}.timeout")),
            );
        }
        let idle = spec
            .idle_timeout
            .and_then(|t| duration(t, &format!("{location}.idle_timeout"), problems));
        let connect = spec
            .connect_timeout
            .and_then(|t| duration(t, &format!("{location}.connect_timeout"), problems));
        if let Some(idle) = idle {
            builder = builder.idle_timeout(idle);
        }
        if let Some(connect) = connect {
            builder = builder.connect_timeout(connect);
        }
        match builder.build() {
            Ok(upstream) => Some(BoxService::new(IntoTarget::new(upstream))),
            Err(error) => {
                problems.extend(error.at(&format!("{location}.upstream")));
                None
            }
        }
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

fn router<ReqB>(
    config: &GatewayConfig,
    resolver: &Resolver<'_, ReqB>,
    canaries: &mut Vec<(String, CanaryHandle)>,
    problems: &mut Problems,
) -> Option<Router<ReqB, GatewayBody, Infallible>>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    let mut builder = router_policies(&config.router, problems);
    // Which route each key came from, to place the Router's own problems.
    let mut keys: Vec<(String, usize)> = Vec::new();
    for (i, route) in config.routes.iter().enumerate() {
        let location = format!("routes[{i}]");
        let methods = route_methods(route, &location, problems);
        // A route whose target failed still goes into the table (with a placeholder), so
        // its template and conflicts are reported too; the table is then discarded.
        let target = route_target(route, resolver, &location, canaries, problems)
            .unwrap_or_else(placeholder);
        let Some(methods) = methods else {
            continue;
        };
        if route.websocket {
            if route.nest || methods.iter().any(|m| m != Method::GET) {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Conflict,
                        route.path.as_str(),
                        "a WebSocket route is `GET` only and cannot be nested; remove \
                         `nest` and any method but GET",
                    )
                    .with_location(format!("{location}.websocket")),
                );
                continue;
            }
            keys.push((format!("GET {}", route.path), i));
            builder = match &route.name {
                Some(name) => builder.named_websocket(name.clone(), &route.path, target),
                None => builder.websocket(&route.path, target),
            };
            continue;
        }
        if route.nest {
            if !methods.is_empty() {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Conflict,
                        route.methods.join(", "),
                        "a nested route takes every method; remove `methods` or `nest`",
                    )
                    .with_location(format!("{location}.methods")),
                );
                continue;
            }
            keys.push((format!("ANY {}", route.path), i));
            builder = builder.nest(&route.path, target);
            continue;
        }
        let methods: Vec<Option<Method>> = if methods.is_empty() {
            vec![None]
        } else {
            methods.into_iter().map(Some).collect()
        };
        for method in methods {
            let key = match &method {
                Some(method) => format!("{method} {}", route.path),
                None => format!("ANY {}", route.path),
            };
            keys.push((key.clone(), i));
            builder = match &route.name {
                Some(name) => builder.named_route(name.clone(), key, target.clone()),
                None => builder.route(key, target.clone()),
            };
        }
    }
    if let Some(name) = &config.fallback {
        if let Some(target) = resolver.service(name, "fallback", problems) {
            builder = builder.fallback(target);
        }
    }
    match builder.build() {
        Ok(router) => Some(router),
        Err(error) => {
            for problem in error.into_problems() {
                let index = keys
                    .iter()
                    .find(|(key, _)| key == problem.value())
                    .map(|&(_, i)| i);
                problems.push(match index {
                    Some(i) if problem.location().is_none() => {
                        problem.with_location(format!("routes[{i}].path"))
                    }
                    _ => problem,
                });
            }
            None
        }
    }
}

fn router_policies<ReqB: 'static>(
    config: &RouterConfig,
    problems: &mut Problems,
) -> RouterBuilder<ReqB, GatewayBody, Infallible> {
    let mut builder = Router::builder()
        .merge_slashes(config.merge_slashes)
        .case_insensitive(config.case_insensitive);
    match config.trailing_slash.as_deref() {
        None | Some("strict") => {}
        Some("redirect") => builder = builder.trailing_slash(TrailingSlash::Redirect),
        Some("ignore") => builder = builder.trailing_slash(TrailingSlash::Ignore),
        Some(other) => problems.push(
            Problem::new(
                MODULE,
                ProblemKind::Invalid,
                other,
                format!("trailing_slash \"{other}\" is not one of strict, redirect, ignore"),
            )
            .with_location("router.trailing_slash"),
        ),
    }
    match config.not_found.as_deref() {
        None | Some("empty") => {}
        Some("aws-json") => builder = builder.not_found_body(NotFoundBody::AwsJson),
        Some(other) => problems.push(
            Problem::new(
                MODULE,
                ProblemKind::Invalid,
                other,
                format!("not_found \"{other}\" is not one of empty, aws-json"),
            )
            .with_location("router.not_found"),
        ),
    }
    builder
}

/// The route's methods (empty: any), or `None` after reporting the bad ones.
fn route_methods(
    route: &RouteConfig,
    location: &str,
    problems: &mut Problems,
) -> Option<Vec<Method>> {
    let mut methods = Vec::with_capacity(route.methods.len());
    let mut ok = true;
    let mut problem = |j: usize, kind, text: &str, reason: String| {
        problems.push(
            Problem::new(MODULE, kind, text, reason)
                .with_location(format!("{location}.methods[{j}]")),
        );
    };
    for (j, text) in route.methods.iter().enumerate() {
        if text.eq_ignore_ascii_case("ANY") {
            if route.methods.len() > 1 {
                ok = false;
                problem(
                    j,
                    ProblemKind::Conflict,
                    text,
                    "ANY already means every method; list it alone".to_owned(),
                );
            }
            continue;
        }
        match Method::from_bytes(text.as_bytes()) {
            Ok(method) if !methods.contains(&method) => methods.push(method),
            Ok(_) => {
                ok = false;
                problem(
                    j,
                    ProblemKind::Duplicate,
                    text,
                    format!("method \"{text}\" is listed twice"),
                );
            }
            Err(_) => {
                ok = false;
                problem(
                    j,
                    ProblemKind::Syntax,
                    text,
                    format!(
                        "method \"{text}\" is not an HTTP method token \
                         (leave `methods` empty for any method)"
                    ),
                );
            }
        }
    }
    ok.then_some(methods)
}

fn route_target<ReqB>(
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
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Invalid,
                        value.as_str(),
                        format!("`{field}` applies to upstream targets only"),
                    )
                    .with_location(format!("{location}.{field}")),
                );
            }
        }
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
            let label = route.name.clone().unwrap_or_else(|| route.path.clone());
            canaries.push((label, layer.handle()));
            Some(BoxService::new(layer.layer(stable)))
        }
    }
}

fn canary_layer<ReqB>(
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
    let mode = canary_mode(config, location, problems);
    let arm_header = config
        .arm_header
        .as_deref()
        .and_then(|name| header_name(name, &format!("{location}.arm_header"), problems));
    let target = target?;
    let mode = mode?;
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
    match builder.build() {
        Ok(layer) => Some(layer),
        Err(error) => {
            problems.extend(error.at(location));
            None
        }
    }
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
                    "both sticky_header and sticky_cookie are set; set one",
                )
                .with_location(format!("{location}.sticky_cookie")),
            );
            return None;
        }
    };
    let mode = config.mode.as_deref().unwrap_or("random");
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

fn header_name(text: &str, location: &str, problems: &mut Problems) -> Option<HeaderName> {
    match HeaderName::from_bytes(text.as_bytes()) {
        Ok(name) => Some(name),
        Err(_) => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Syntax,
                    text,
                    format!("\"{text}\" is not a header name"),
                )
                .with_location(location),
            );
            None
        }
    }
}

fn origin_layer(
    config: &OriginConfig,
    cors: Option<&CorsLayer>,
    problems: &mut Problems,
) -> Option<OriginGuardLayer> {
    if !config.enabled {
        return None;
    }
    let mut builder = OriginGuardLayer::builder()
        .trust_origins(config.trusted_origins.iter().cloned())
        .trust_same_site(config.trust_same_site)
        .strict(config.strict)
        .report_only(config.report_only);
    for origin in &config.public_origins {
        builder = builder.public_origin(origin.clone());
    }
    for path in &config.bypass_paths {
        builder = builder.bypass_path(path.clone());
    }
    if config.trust_cors {
        if let Some(cors) = cors {
            builder = builder.trust_cors(cors);
        }
    }
    match builder.build() {
        Ok(layer) => Some(layer),
        Err(error) => {
            problems.extend(error.at("origin"));
            None
        }
    }
}

fn metrics_enabled(config: &GatewayConfig) -> bool {
    config.metrics.as_ref().is_some_and(|m| m.enabled)
}

fn metrics_registry<ReqB>(
    config: &GatewayConfig,
    services: &Services<ReqB>,
    cache: &Mutex<Cache>,
    problems: &mut Problems,
) -> Option<Registry> {
    let section = config.metrics.as_ref()?;
    if let Some(registry) = &services.metrics {
        return Some(registry.clone());
    }
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, registry)) = &cache.metrics {
        if cached == section {
            return Some(registry.clone());
        }
    }
    match section.build() {
        Ok(registry) => {
            cache.metrics = Some((section.clone(), registry.clone()));
            Some(registry)
        }
        Err(error) => {
            problems.extend(error.at("metrics"));
            None
        }
    }
}

fn access_log_layer<ReqB>(
    config: &AccessLogConfig,
    services: &Services<ReqB>,
    cache: &Mutex<Cache>,
    problems: &mut Problems,
) -> Option<AccessLogLayer> {
    let format = match config.format.as_str() {
        "common" => Ok(LogFormat::apache_common()),
        "combined" => Ok(LogFormat::apache_combined()),
        "envoy" => Ok(LogFormat::envoy()),
        "json" => Ok(LogFormat::json()),
        template => LogFormat::template(template).map_err(|e| e.at("access_log.format")),
    };
    let sink = match config.sink.as_str() {
        "discard" => Some(Sink::discard()),
        "code" => {
            if services.access_log_sink.is_none() {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Invalid,
                        "code",
                        "sink \"code\" needs a sink given to Services::access_log_sink",
                    )
                    .with_location("access_log.sink"),
                );
            }
            services.access_log_sink.clone()
        }
        stream @ ("stdout" | "stderr") => standard_stream(stream, cache, problems),
        other => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    other,
                    format!("sink \"{other}\" is not one of stdout, stderr, discard, code"),
                )
                .with_location("access_log.sink"),
            );
            None
        }
    };
    let id_header = config
        .request_id_header
        .as_deref()
        .and_then(|name| header_name(name, "access_log.request_id_header", problems));
    let format = match format {
        Ok(format) => format,
        Err(error) => {
            problems.extend(error);
            return None;
        }
    };
    let mut layer = AccessLogLayer::new(sink?).format(format);
    if let Some(name) = id_header {
        layer = layer.request_id_header(name);
    }
    Some(layer)
}

fn standard_stream(stream: &str, cache: &Mutex<Cache>, problems: &mut Problems) -> Option<Sink> {
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let key: &'static str = if stream == "stdout" {
        "stdout"
    } else {
        "stderr"
    };
    if let Some((sink, _)) = cache.writers.get(key) {
        return Some(sink.clone());
    }
    let spawned = if key == "stdout" {
        NonBlocking::builder()
            .thread_name("tower-gateway-log")
            .spawn(std::io::stdout())
    } else {
        NonBlocking::builder()
            .thread_name("tower-gateway-log")
            .spawn(std::io::stderr())
    };
    match spawned {
        Ok((writer, guard)) => {
            let sink = Sink::from(writer);
            cache.writers.insert(key, (sink.clone(), Arc::new(guard)));
            Some(sink)
        }
        Err(error) => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    stream,
                    format!("could not start the {stream} log writer: {error}"),
                )
                .with_location("access_log.sink"),
            );
            None
        }
    }
}

/// The layers around the app, applied outermost last; each optional one is a branch, so the
/// composed stack stays one concrete type per shape (no boxing between layers).
struct Layers {
    origin: Option<OriginGuardLayer>,
    cors: CorsLayer,
    access_log: Option<AccessLogLayer>,
    metrics: Option<Registry>,
}

impl Layers {
    fn origin<ReqB, S, B>(self, app: S) -> Box<CallFn<ReqB>>
    where
        ReqB: HttpBody<Data = Bytes> + Send + 'static,
        S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match self.origin.clone() {
            Some(origin) => self.cors(origin.layer(app)),
            None => self.cors(app),
        }
    }

    fn cors<ReqB, S, B>(self, app: S) -> Box<CallFn<ReqB>>
    where
        ReqB: HttpBody<Data = Bytes> + Send + 'static,
        S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let app = self.cors.layer(app);
        self.access_log(app)
    }

    fn access_log<ReqB, S, B>(self, app: S) -> Box<CallFn<ReqB>>
    where
        ReqB: HttpBody<Data = Bytes> + Send + 'static,
        S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match self.access_log.clone() {
            Some(log) => self.metrics(log.layer(app)),
            None => self.metrics(app),
        }
    }

    fn metrics<ReqB, S, B>(self, app: S) -> Box<CallFn<ReqB>>
    where
        ReqB: HttpBody<Data = Bytes> + Send + 'static,
        S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        match self.metrics {
            Some(registry) => finish(registry.layer().layer(app)),
            None => finish(app),
        }
    }
}

fn finish<ReqB, S, B>(app: S) -> Box<CallFn<ReqB>>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    S: Service<Request<ReqB>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Box::new(move |request| Box::pin(IntoTargetFuture::new(Oneshot::new(app.clone(), request))))
}
