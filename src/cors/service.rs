//! [`Cors`]: the service, a thin shell around the policy's decision.

use std::ops::Deref;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::cache::Cache;
use arc_swap::ArcSwap;

use http::request::Parts;
use http::{Method, Request, Response};
use tower_service::Service;

use super::decision::Decision;
use super::future::ResponseFuture;
use super::layer::Shared;
use super::policy::{Decoration, Found, Partial, Policy, Vary, WILDCARD};

/// The layer's shared state, seen as the swappable policy (what a [`Cache`] reads through).
#[derive(Clone, Debug)]
pub(super) struct SharedPolicy(pub(super) Arc<Shared>);

impl Deref for SharedPolicy {
    type Target = ArcSwap<Policy>;

    fn deref(&self) -> &ArcSwap<Policy> {
        &self.0.policy
    }
}

/// The service made by [`CorsLayer`](super::CorsLayer): answers preflights itself and
/// decorates the inner service's other responses. See the [module docs](super) for an
/// example.
#[derive(Debug)]
#[must_use]
pub struct Cors<S> {
    inner: S,
    shared: Arc<Shared>,
    /// The current policy as this service last saw it: a call compares one pointer with the
    /// shared one (a plain load) and reloads only after a swap, so the hot path takes no
    /// reference count and writes no shared memory. The price: a swapped-out policy lives
    /// until each service that saw it is called again or dropped.
    policy: Cache<SharedPolicy, Arc<Policy>>,
}

impl<S: Clone> Clone for Cors<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
            policy: self.policy.clone(),
        }
    }
}

impl Cors<()> {
    /// Validates `config` and builds the layer: the same as [`CorsLayer::new`](super::CorsLayer::new), for code that
    /// names the middleware `Cors` (as tower-http's `Cors::layer()`). Defined on `Cors<()>` so
    /// that a bare `Cors::layer(..)` needs no type annotation.
    ///
    /// ```
    /// use tower_gateway::cors::{Cors, CorsConfig};
    ///
    /// let layer = Cors::layer(CorsConfig::new().allow_origin("https://app.example.com"))?;
    /// # let _ = layer;
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every problem of the configuration; see [`CorsConfig::build`](super::CorsConfig::build).
    pub fn layer(config: super::CorsConfig) -> Result<super::CorsLayer, crate::ConfigError> {
        super::CorsLayer::new(config)
    }

    /// Starts a policy: the same as [`CorsLayer::builder`](super::CorsLayer::builder).
    pub fn builder() -> super::CorsConfig {
        super::CorsConfig::new()
    }
}

impl<S> Cors<S> {
    pub(super) fn from_shared(inner: S, shared: Arc<Shared>) -> Self {
        let policy = Cache::new(SharedPolicy(Arc::clone(&shared)));
        Self {
            inner,
            shared,
            policy,
        }
    }

    /// What the current policy decides for a request; see
    /// [`CorsLayer::check`](super::CorsLayer::check).
    #[must_use]
    pub fn check(&self, parts: &Parts) -> Decision {
        self.shared.check(parts)
    }

    /// Whether the current policy allows the serialized origin `origin`; see
    /// [`CorsLayer::allows_origin`](super::CorsLayer::allows_origin).
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.shared.allows_origin(origin)
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<crate::body::Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let policy = self.policy.load();
        let found = policy.find(req.method(), req.headers());
        let options = req.method() == Method::OPTIONS;
        let (allow_origin, vary) = match found {
            Found::WebSocket => {
                return ResponseFuture::forward(self.inner.call(req), Decoration::none());
            }
            Found::Preflight(granted) => {
                let shape = granted.shape();
                let (parts, _body) = req.into_parts();
                return ResponseFuture::preflight(policy.accepted(shape, parts.headers));
            }
            Found::PreflightRefused(refusal) => {
                let debug = self.shared.debug();
                let partial = if debug {
                    refusal.partial()
                } else {
                    Partial::default()
                };
                let rejection = refusal.rejection;
                let (parts, _body) = req.into_parts();
                return ResponseFuture::answer(policy.refused(rejection, partial, debug, parts));
            }
            Found::NotCors if policy.is_public() => (Some(WILDCARD), Vary::No),
            Found::NotCors | Found::ActualRefused => (None, Vary::Origin),
            Found::ActualAllowed(allow_origin) => {
                let vary = if policy.is_public() {
                    Vary::No
                } else {
                    Vary::Origin
                };
                (Some(allow_origin), vary)
            }
        };
        // A non-preflight OPTIONS answer could be cached and served to a later preflight: say
        // what preflights vary on.
        let vary = if options { Vary::Preflight } else { vary };
        // The response future owns what the policy the request started with adds.
        let decoration = policy.decoration(allow_origin, vary);
        ResponseFuture::forward(self.inner.call(req), decoration)
    }
}
