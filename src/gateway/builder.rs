//! [`GatewayBuilder`]: a gateway assembled in code, with the same validation as a file.

use std::fmt;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as HttpBody;
use tower_service::Service;

use super::config::{
    AccessLogConfig, CanaryConfig, GatewayConfig, OriginConfig, RouteConfig, RouterConfig,
};
use super::services::{BoxError, Services};
use super::Gateway;
use crate::access_log::Sink;
use crate::cors::CorsConfig;
use crate::error::ConfigError;
use crate::metrics::MetricsConfig;
use crate::metrics::Registry;

/// Builds a [`Gateway`] in code: sections and routes go into a [`GatewayConfig`], services into
/// [`Services`], and [`build`](Self::build) is exactly [`Gateway::from_config`] on the two (the
/// same validation, the same stack, the same errors).
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response, StatusCode};
/// use tower::{service_fn, ServiceExt};
/// use tower_gateway::gateway::{Gateway, RouteConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hello = service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::from("hello")))
/// });
/// let gateway = Gateway::builder()
///     .service("hello", hello)
///     .route(RouteConfig::new("/hello").methods(["GET"]).service("hello"))
///     .build()?;
///
/// let response = gateway.clone().oneshot(Request::get("/hello").body(String::new())?).await?;
/// assert_eq!(response.status(), StatusCode::OK);
/// let response = gateway.oneshot(Request::post("/hello").body(String::new())?).await?;
/// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct GatewayBuilder<ReqB> {
    config: GatewayConfig,
    services: Services<ReqB>,
}

impl<ReqB> fmt::Debug for GatewayBuilder<ReqB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("config", &self.config)
            .field("services", &self.services)
            .finish()
    }
}

impl<ReqB: Send + 'static> GatewayBuilder<ReqB> {
    /// An empty gateway: no routes, the default CORS and origin policies.
    pub fn new() -> Self {
        Self {
            config: GatewayConfig::default(),
            services: Services::new(),
        }
    }

    /// Starts from a configuration (a file's), to add services and routes in code.
    pub fn from_config(config: GatewayConfig) -> Self {
        Self {
            config,
            services: Services::new(),
        }
    }

    /// Registers a service under `name` (see [`Services::service`]).
    pub fn service<S, ResB>(mut self, name: impl Into<String>, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        ResB: HttpBody<Data = Bytes> + Send + 'static,
        ResB::Error: Into<BoxError>,
    {
        self.services = self.services.service(name, service);
        self
    }

    /// Adds a route.
    pub fn route(mut self, route: RouteConfig) -> Self {
        self.config.routes.push(route);
        self
    }

    /// The Router's policies.
    pub fn router(mut self, router: RouterConfig) -> Self {
        self.config.router = router;
        self
    }

    /// The port the serving program should listen on (`port` in the configuration).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = Some(port);
        self
    }

    /// The service, by name, that answers requests no route matches.
    pub fn fallback(mut self, service: impl Into<String>) -> Self {
        self.config.fallback = Some(service.into());
        self
    }

    /// A stage-level canary around the whole route table.
    pub fn canary(mut self, canary: CanaryConfig) -> Self {
        self.config.canary = Some(canary);
        self
    }

    /// The CORS policy.
    pub fn cors(mut self, cors: CorsConfig) -> Self {
        self.config.cors = Some(cors);
        self
    }

    /// The origin guard.
    pub fn origin(mut self, origin: OriginConfig) -> Self {
        self.config.origin = origin;
        self
    }

    /// The access log.
    pub fn access_log(mut self, access_log: AccessLogConfig) -> Self {
        self.config.access_log = Some(access_log);
        self
    }

    /// The sink of an access log whose `sink` is `"code"` (see [`Services::access_log_sink`]).
    pub fn access_log_sink(mut self, sink: impl Into<Sink>) -> Self {
        self.services = self.services.access_log_sink(sink);
        self
    }

    /// Metrics.
    pub fn metrics(mut self, metrics: MetricsConfig) -> Self {
        self.config.metrics = Some(metrics);
        self
    }

    /// Records into `registry` (see [`Services::metrics_registry`]).
    pub fn metrics_registry(mut self, registry: Registry) -> Self {
        self.services = self.services.metrics_registry(registry);
        self
    }

    /// The configuration assembled so far.
    #[must_use]
    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Validates and builds, as [`Gateway::from_config`].
    ///
    /// # Errors
    ///
    /// Every problem of the configuration, with its location.
    pub fn build(self) -> Result<Gateway<ReqB>, ConfigError>
    where
        ReqB: HttpBody<Data = Bytes> + Send + 'static,
        ReqB::Error: Into<BoxError>,
    {
        Gateway::from_config(self.config, self.services)
    }
}

impl<ReqB: Send + 'static> Default for GatewayBuilder<ReqB> {
    fn default() -> Self {
        Self::new()
    }
}
