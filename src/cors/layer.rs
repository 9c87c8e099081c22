//! [`CorsLayer`] and [`CorsHandle`]: the validated policy, shared and swappable.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::request::Parts;
use tower_layer::Layer;

use super::config::CorsConfig;
use super::decision::Decision;
use super::policy::Policy;
use super::service::Cors;
use crate::error::ConfigError;

/// What every clone of a layer, its services and its handles share.
pub(super) struct Shared {
    pub(super) policy: ArcSwap<Policy>,
    pub(super) debug: AtomicBool,
}

impl Shared {
    pub(super) fn debug(&self) -> bool {
        self.debug.load(Ordering::Relaxed)
    }

    pub(super) fn check(&self, parts: &Parts) -> Decision {
        self.policy.load().decide(&parts.method, &parts.headers)
    }

    pub(super) fn allows_origin(&self, origin: &str) -> bool {
        self.policy.load().allows_origin(origin)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("policy", &**self.policy.load())
            .field("debug", &self.debug())
            .finish()
    }
}

/// A tower [`Layer`] that answers CORS preflights and decorates responses, as the
/// [Fetch standard](https://fetch.spec.whatwg.org/#http-cors-protocol) says.
///
/// Built from a validated [`CorsConfig`]. Cloning is one reference-count bump; every clone,
/// every [`Cors`] service it makes and every [`CorsHandle`] share one policy. See the
/// [module docs](crate::cors) for an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct CorsLayer {
    shared: Arc<Shared>,
}

impl CorsLayer {
    /// Starts a policy: the same as [`CorsConfig::new`].
    pub fn builder() -> CorsConfig {
        CorsConfig::new()
    }

    /// Validates `config` and builds the layer.
    ///
    /// # Errors
    ///
    /// Every problem of the configuration; see [`CorsConfig::build`].
    pub fn new(config: CorsConfig) -> Result<Self, ConfigError> {
        let policy = config.compile()?;
        Ok(Self {
            shared: Arc::new(Shared {
                policy: ArcSwap::from_pointee(policy),
                debug: AtomicBool::new(config.initial_debug()),
            }),
        })
    }

    /// A handle that swaps the policy or switches debug mode at run time, for this layer and
    /// every service built from it.
    pub fn handle(&self) -> CorsHandle {
        CorsHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// What the current policy decides for a request, with no service involved.
    #[must_use]
    pub fn check(&self, parts: &Parts) -> Decision {
        self.shared.check(parts)
    }

    /// Whether the current policy allows the serialized origin `origin` (exactly, by a pattern,
    /// or because any origin is allowed). Cheap: no allocation, no lock.
    ///
    /// ```
    /// let cors = tower_gateway::cors::CorsConfig::new()
    ///     .allow_origin("https://*.example.com")
    ///     .build()?;
    /// assert!(cors.allows_origin("https://api.example.com"));
    /// assert!(!cors.allows_origin("https://example.com"));
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.shared.allows_origin(origin)
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cors::from_shared(inner, Arc::clone(&self.shared))
    }
}

/// Changes a [`CorsLayer`]'s policy at run time, for every service built from it.
///
/// The swap is an atomic pointer store: the request path takes no lock, and a request in
/// flight keeps the policy it started with (its response is decorated by that policy).
///
/// ```
/// use tower_gateway::cors::CorsConfig;
///
/// let layer = CorsConfig::new().allow_origin("https://old.example").build()?;
/// let handle = layer.handle();
/// handle.set(CorsConfig::new().allow_origin("https://new.example"))?;
/// assert!(layer.allows_origin("https://new.example"));
/// assert!(!layer.allows_origin("https://old.example"));
///
/// // An invalid policy is refused and the current one stays.
/// assert!(handle.set(CorsConfig::new().allow_origin("null")).is_err());
/// assert!(layer.allows_origin("https://new.example"));
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CorsHandle {
    shared: Arc<Shared>,
}

impl CorsHandle {
    /// Validates `config` as [`CorsConfig::build`] does and, when it is valid, makes it the
    /// policy of every new request. The debug mode is kept (`config`'s is ignored).
    ///
    /// # Errors
    ///
    /// Every problem of the configuration; the current policy then stays.
    pub fn set(&self, config: CorsConfig) -> Result<(), ConfigError> {
        let policy = config.compile()?;
        self.shared.policy.store(Arc::new(policy));
        Ok(())
    }

    /// Switches debug mode: refused preflights carry the headers decided before the failing
    /// step (and a `204` when the origin was allowed), so the browser console names the cause.
    pub fn set_debug(&self, debug: bool) {
        self.shared.debug.store(debug, Ordering::Relaxed);
    }

    /// Whether debug mode is on.
    #[must_use]
    pub fn debug(&self) -> bool {
        self.shared.debug()
    }

    /// What the current policy decides for a request; see [`CorsLayer::check`].
    #[must_use]
    pub fn check(&self, parts: &Parts) -> Decision {
        self.shared.check(parts)
    }

    /// Whether the current policy allows the serialized origin `origin`; see
    /// [`CorsLayer::allows_origin`].
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.shared.allows_origin(origin)
    }
}
