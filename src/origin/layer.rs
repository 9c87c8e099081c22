//! [`OriginGuardLayer`]: the validated settings, the pure decision, and `impl Layer`.

use std::sync::Arc;

use http::request::Parts;
use http::Request;
use tower_layer::Layer;

use super::policy::Policy;
use super::{Allowed, OriginGuard, OriginGuardBuilder, Rejection};

/// Applies the [`OriginGuard`] middleware: refuses cross-origin state-changing requests and
/// cross-site WebSocket handshakes.
///
/// Built by [`OriginGuardLayer::builder`] (or [`new`](Self::new) for the defaults); cloning it
/// and layering it are reference-count bumps. See the [module docs](super) for an example.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OriginGuardLayer {
    policy: Arc<Policy>,
}

impl OriginGuardLayer {
    /// The guard with default settings: nothing trusted, no bypass path, same-site refused,
    /// not strict, enforcing, the default `403`. The same as `builder().build()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for every setting.
    pub fn builder() -> OriginGuardBuilder {
        OriginGuardBuilder::new()
    }

    pub(super) fn from_policy(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }

    /// The guard's decision on a request head, with no service involved.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] the guard answers with. In report-only mode the guard lets the request
    /// through, and the rejection returned here says so
    /// ([`is_report_only`](Rejection::is_report_only)).
    pub fn check(&self, parts: &Parts) -> Result<Allowed, Rejection> {
        self.policy.check(&parts.method, &parts.uri, &parts.headers)
    }

    /// [`check`](Self::check) on a whole request.
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    pub fn check_request<B>(&self, request: &Request<B>) -> Result<Allowed, Rejection> {
        self.policy
            .check(request.method(), request.uri(), request.headers())
    }
}

impl OriginGuard<()> {
    /// A builder for every setting: the same as [`OriginGuardLayer::builder`], for code that
    /// names the middleware `OriginGuard`. Its [`build`](OriginGuardBuilder::build) gives the
    /// [`OriginGuardLayer`].
    ///
    /// ```
    /// use tower_gateway::origin::OriginGuard;
    ///
    /// let layer = OriginGuard::builder().trust_origin("https://app.example.com").build()?;
    /// # let _ = layer;
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    pub fn builder() -> OriginGuardBuilder {
        OriginGuardBuilder::new()
    }

    /// The guard with default settings: the same as [`OriginGuardLayer::new`], for code that
    /// names the middleware `OriginGuard`.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_gateway::origin::OriginGuard;
    /// # let app = tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) });
    ///
    /// let guarded = OriginGuard::layer().layer(app);
    /// # let _ = guarded;
    /// ```
    pub fn layer() -> OriginGuardLayer {
        OriginGuardLayer::new()
    }
}

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginGuard::new(inner, Arc::clone(&self.policy))
    }
}
