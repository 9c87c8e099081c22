//! The layers around the route table: the origin guard, the access log and metrics from their
//! sections, and the composition of the whole stack into one concrete type per shape.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as HttpBody;
use tower_layer::Layer;
use tower_service::Service;

use super::build::{header_name, Cache, CallFn, MODULE};
use super::config::{AccessLogConfig, GatewayConfig, OriginConfig};
use super::services::{BoxError, IntoTargetFuture, Services};
use crate::access_log::{AccessLogLayer, LogFormat, NonBlocking, Sink};
use crate::cors::CorsLayer;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};
use crate::metrics::Registry;
use crate::origin::OriginGuardLayer;

pub(super) fn origin_layer(
    config: &OriginConfig,
    cors: Option<&CorsLayer>,
    problems: &mut Problems,
) -> Option<OriginGuardLayer> {
    // A disabled guard's settings are still checked (as a disabled `metrics` section's are),
    // so that turning it on later cannot surface old mistakes.
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
        Ok(layer) => config.enabled.then_some(layer),
        Err(error) => {
            problems.extend(error.at("origin"));
            None
        }
    }
}

pub(super) fn metrics_enabled(config: &GatewayConfig) -> bool {
    config.metrics.as_ref().is_some_and(|m| m.enabled)
}

pub(super) fn metrics_registry<ReqB>(
    config: &GatewayConfig,
    services: &Services<ReqB>,
    cache: &Mutex<Cache>,
    problems: &mut Problems,
) -> Option<Registry> {
    let section = config.metrics.as_ref()?;
    if let Some(registry) = &services.metrics {
        return Some(registry.clone());
    }
    let cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((cached, registry)) = &cache.metrics {
        if cached == section {
            return Some(registry.clone());
        }
    }
    // Cached by `build` only once the whole configuration is valid: a failed reload changes
    // nothing, the registry a later reload of the running section finds included.
    match section.build() {
        Ok(registry) => Some(registry),
        Err(error) => {
            problems.extend(error.at("metrics"));
            None
        }
    }
}

pub(super) fn access_log_layer<ReqB>(
    config: &AccessLogConfig,
    services: &Services<ReqB>,
    cache: &Mutex<Cache>,
    problems: &mut Problems,
) -> Option<AccessLogLayer> {
    let format = match config.format.as_str() {
        // The constructors' names are accepted too (`LogFormat::apache_common`).
        "common" | "apache_common" | "apache-common" => Ok(LogFormat::apache_common()),
        "combined" | "apache_combined" | "apache-combined" => Ok(LogFormat::apache_combined()),
        "envoy" => Ok(LogFormat::envoy()),
        "json" => Ok(LogFormat::json()),
        // A value with no variable is a misspelt format name, not a constant line.
        template if !template.contains("$context") => Err(ConfigError::new(
            Problem::new(
                MODULE,
                ProblemKind::Unknown,
                template,
                format!(
                    "format \"{template}\" is not one of common, combined, envoy, json, \
                     nor a template with a $context variable"
                ),
            )
            .with_location("access_log.format"),
        )),
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
        #[cfg(feature = "tracing")]
        "tracing" => Some(Sink::tracing()),
        other => {
            problems.push(
                Problem::new(
                    MODULE,
                    ProblemKind::Invalid,
                    other,
                    format!("sink \"{other}\" is not one of {SINKS}"),
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

/// The `access_log.sink` values this build accepts.
#[cfg(feature = "tracing")]
const SINKS: &str = "stdout, stderr, discard, code, tracing";
#[cfg(not(feature = "tracing"))]
const SINKS: &str = "stdout, stderr, discard, code";

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
pub(super) struct Layers {
    pub(super) origin: Option<OriginGuardLayer>,
    pub(super) cors: CorsLayer,
    pub(super) access_log: Option<AccessLogLayer>,
    pub(super) metrics: Option<Registry>,
}

/// Declares a stage of the composition: a function generic over the service built so far,
/// with the bounds every stage shares written once.
macro_rules! stage {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($self_:ident, $app:ident) $body:block) => {
        stage!(@bounds $(#[$meta])* $vis fn $name[$self_,]($app) $body);
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($app:ident) $body:block) => {
        stage!(@bounds $(#[$meta])* $vis fn $name[]($app) $body);
    };
    (@bounds $(#[$meta:meta])* $vis:vis fn $name:ident[$($self_:ident,)?]($app:ident) $body:block) => {
        $(#[$meta])*
        $vis fn $name<ReqB, S, B>($($self_,)? $app: S) -> Box<CallFn<ReqB>>
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
        $body
    };
}

impl Layers {
    stage! {
        /// Applies the origin guard (when enabled), then the outer layers.
        pub(super) fn origin(self, app) {
            match self.origin.clone() {
                Some(origin) => self.cors(origin.layer(app)),
                None => self.cors(app),
            }
        }
    }

    stage! {
        fn cors(self, app) {
            let app = self.cors.layer(app);
            self.access_log(app)
        }
    }

    stage! {
        fn access_log(self, app) {
            match self.access_log.clone() {
                Some(log) => self.metrics(log.layer(app)),
                None => self.metrics(app),
            }
        }
    }

    stage! {
        fn metrics(self, app) {
            match self.metrics {
                Some(registry) => finish(registry.layer().layer(app)),
                None => finish(app),
            }
        }
    }
}

stage! {
    /// The composed stack as a call: clone the (reference-counted) stack, call it at once when
    /// it is ready (it always is, unless a user layer says otherwise), box its future, box its
    /// body into a [`GatewayBody`](super::GatewayBody).
    fn finish(app) {
        Box::new(move |request| {
            let mut app = app.clone();
            Box::pin(IntoTargetFuture::call(&mut app, request))
        })
    }
}
