//! [`Gateway`]: the composed stack as one service, and [`GatewayHandle`], which reloads it.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body as HttpBody;
use tower_service::Service;

use super::build::{build, Built, Cache};
use super::builder::GatewayBuilder;
use super::config::GatewayConfig;
use super::services::{BoxError, GatewayBody, Services};
use crate::canary::CanaryHandle;
use crate::cors::CorsHandle;
use crate::error::ConfigError;
use crate::metrics::Registry;
use crate::util::boxed::BoxFuture;

struct Shared<ReqB> {
    current: ArcSwap<Built<ReqB>>,
    services: Services<ReqB>,
    cache: Mutex<Cache>,
    /// Serialises reloads (never taken on the request path).
    reload: Mutex<()>,
}

/// A whole gateway as one tower service: Metrics > AccessLog > CORS > OriginGuard > (stage
/// canary) > Router > route targets (services, upstreams, canary splits), built from a
/// [`GatewayConfig`] and the [`Services`] it names.
///
/// Cloning is one reference-count bump; every clone serves the current configuration, which a
/// [`GatewayHandle`] replaces atomically. Each request loads the current stack without a lock
/// and keeps it to the end, so a reload never affects a request in flight. Always ready; never
/// fails (`Error = Infallible`): every problem is an HTTP answer. See the
/// [module docs](super) for an example.
pub struct Gateway<ReqB> {
    shared: Arc<Shared<ReqB>>,
}

impl<ReqB> Clone for Gateway<ReqB> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<ReqB> fmt::Debug for Gateway<ReqB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.shared.current.load().config)
            .field("services", &self.shared.services)
            .finish()
    }
}

impl<ReqB> Gateway<ReqB>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    /// Validates `config` against `services` and builds the stack.
    ///
    /// # Errors
    ///
    /// Every problem at once, each with its location in the configuration
    /// ([`Problem::location`](crate::error::Problem::location), such as `routes[3].path` or
    /// `cors.allow_origins[0]`) and the offending value: unknown service names, bad templates,
    /// route conflicts, bad methods, bad origins, bad weights and modes, bad log templates and
    /// sinks, bad upstream URLs and durations, bad metrics buckets.
    pub fn from_config(
        config: GatewayConfig,
        services: Services<ReqB>,
    ) -> Result<Self, ConfigError> {
        let cache = Mutex::new(Cache::default());
        let built = build(&config, &services, &cache)?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(built),
                services,
                cache,
                reload: Mutex::new(()),
            }),
        })
    }

    /// A typed builder: the same configuration and services, assembled in code.
    pub fn builder() -> GatewayBuilder<ReqB> {
        GatewayBuilder::new()
    }

    /// A handle that reloads the configuration and reaches the run-time controls.
    #[must_use]
    pub fn handle(&self) -> GatewayHandle<ReqB> {
        GatewayHandle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<ReqB> Service<Request<ReqB>> for Gateway<ReqB> {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = BoxFuture<Response<GatewayBody>, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        (self.shared.current.load().call)(request)
    }
}

/// Reloads a [`Gateway`]'s configuration and reaches its run-time controls (canary weights,
/// the CORS policy, metrics). Cheap to clone; `Send + Sync`.
///
/// A reload validates the new configuration with the same services, then swaps the whole stack
/// atomically; a configuration that fails validation changes nothing. Requests in flight finish
/// on the stack they started with. What outlives a reload: the registered services, the
/// standard-output log writer, and the metrics registry while the `metrics` section is
/// unchanged. Run-time changes made through [`canary`](Self::canary) or [`cors`](Self::cors)
/// handles last until the next reload, which applies the file's values.
pub struct GatewayHandle<ReqB> {
    shared: Arc<Shared<ReqB>>,
}

impl<ReqB> Clone for GatewayHandle<ReqB> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<ReqB> fmt::Debug for GatewayHandle<ReqB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayHandle").finish_non_exhaustive()
    }
}

impl<ReqB> GatewayHandle<ReqB>
where
    ReqB: HttpBody<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
{
    /// Validates `config` and, if it is valid, makes it the gateway's configuration.
    ///
    /// # Errors
    ///
    /// Every problem of `config` (as [`Gateway::from_config`]); the running configuration is
    /// then unchanged.
    pub fn reload(&self, config: GatewayConfig) -> Result<(), ConfigError> {
        let _reloading = self
            .shared
            .reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let built = build(&config, &self.shared.services, &self.shared.cache)?;
        self.shared.current.store(Arc::new(built));
        Ok(())
    }
}

impl<ReqB> GatewayHandle<ReqB> {
    /// The configuration being served.
    #[must_use]
    pub fn config(&self) -> Arc<GatewayConfig> {
        Arc::clone(&self.shared.current.load().config)
    }

    /// The weights of a canary split: a route's by its name (the first route of that name)
    /// or its path, the stage canary's by `""`. The handle controls the split of the configuration being served now: a reload
    /// builds new splits, so take the handle again after one.
    #[must_use]
    pub fn canary(&self, route: &str) -> Option<CanaryHandle> {
        // Each route's split is listed under its name (if any) and its path, in route order.
        self.shared
            .current
            .load()
            .canaries
            .iter()
            .find(|(label, _)| label == route)
            .map(|(_, handle)| handle.clone())
    }

    /// The CORS policy, to change at run time (the origin guard follows it when it trusts
    /// CORS). Like [`canary`](Self::canary)'s, the handle belongs to the configuration being
    /// served now: take it again after a reload.
    #[must_use]
    pub fn cors(&self) -> CorsHandle {
        self.shared.current.load().cors.handle()
    }

    /// The metrics registry, when the configuration has a `metrics` section.
    #[must_use]
    pub fn metrics(&self) -> Option<Registry> {
        self.shared.current.load().metrics.clone()
    }

    /// Flushes the background access-log writers (standard output and error).
    pub fn flush_logs(&self) {
        self.shared
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
    }
}
