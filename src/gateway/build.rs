//! From a [`GatewayConfig`] and [`Services`] to a running stack, validating everything first:
//! the entry point and the route table. Targets are resolved in `targets`, the layers around
//! the table built in `layers`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderName, Method, Request, Response};
use http_body::Body as HttpBody;
use tower_layer::Layer;
use tower_service::Service;

use super::config::{GatewayConfig, RouteConfig, RouterConfig};
use super::layers::{access_log_layer, metrics_enabled, metrics_registry, origin_layer, Layers};
use super::services::{BoxError, GatewayBody, IntoTarget, Services, Target};
use super::targets::{canary_layer, route_target, Resolver};
use crate::access_log::{FlushGuard, Sink};
use crate::canary::CanaryHandle;
use crate::cors::CorsLayer;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};
use crate::metrics::Registry;
use crate::router::{NotFoundBody, Router, RouterBuilder, TrailingSlash};
use crate::util::boxed::{BoxFuture, BoxService};

pub(super) const MODULE: &str = "gateway";

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
    pub(super) writers: HashMap<&'static str, (Sink, Arc<FlushGuard>)>,
    pub(super) metrics: Option<(crate::metrics::MetricsConfig, Registry)>,
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
    if let (Some(section), Some(registry), None) = (&config.metrics, &metrics, &services.metrics) {
        cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .metrics = Some((section.clone(), registry.clone()));
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
                        format!(
                            "WebSocket route \"{}\" is `GET` only and cannot be nested; \
                             remove `nest` and any method but GET",
                            route.path
                        ),
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
                        format!(
                            "a nested route takes every method, not only {}; remove `methods` \
                             or `nest`",
                            route.methods.join(", ")
                        ),
                    )
                    .with_location(format!("{location}.methods")),
                );
                continue;
            }
            keys.push((format!("ANY {}", route.path), i));
            // The Router names a bad nest prefix by the prefix alone, and a repeated nest by
            // its catch-all key.
            keys.push((route.path.clone(), i));
            keys.push((format!("ANY {}/{{proxy+}}", route.path), i));
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
            let router_problems = error.into_problems();
            // The same key can come from several routes (a duplicate). The first route that
            // holds a key is in the table and each later one is refused, so the problems about
            // a key belong to the last routes holding it, in order.
            let mut places = Vec::with_capacity(router_problems.len());
            for (n, problem) in router_problems.iter().enumerate() {
                let value = problem.value();
                let same = |p: &Problem| p.value() == value;
                let before = router_problems[..n].iter().filter(|p| same(p)).count();
                let total = router_problems.iter().filter(|p| same(p)).count();
                let holders: Vec<usize> = keys
                    .iter()
                    .filter(|(key, _)| key == value)
                    .map(|&(_, i)| i)
                    .collect();
                let at = holders.len().saturating_sub(total) + before;
                places.push(holders.get(at).or(holders.last()).copied());
            }
            for (problem, index) in router_problems.into_iter().zip(places) {
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
        Some("aws-json" | "aws_json") => builder = builder.not_found_body(NotFoundBody::AwsJson),
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
        let upper = text.to_ascii_uppercase();
        if upper != *text && is_standard_method(&upper) {
            ok = false;
            problem(
                j,
                ProblemKind::Syntax,
                text,
                format!(
                    "method \"{text}\" would never match: methods are case-sensitive; \
                     write \"{upper}\""
                ),
            );
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

/// Whether `upper` is one of the methods RFC 9110 and RFC 5789 define.
fn is_standard_method(upper: &str) -> bool {
    matches!(
        upper,
        "GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH"
    )
}

pub(super) fn header_name(
    text: &str,
    location: &str,
    problems: &mut Problems,
) -> Option<HeaderName> {
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
