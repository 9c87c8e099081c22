//! [`Cors`]: the service, a thin shell around the policy's decision.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Method, Request, Response};
use tower_service::Service;

use super::decision::Decision;
use super::future::ResponseFuture;
use super::layer::Shared;
use super::policy::{VARY_ORIGIN, VARY_PREFLIGHT, WILDCARD};

/// The service made by [`CorsLayer`](super::CorsLayer): answers preflights itself and
/// decorates the inner service's other responses.
#[derive(Debug)]
#[must_use]
pub struct Cors<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for Cors<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> Cors<S> {
    pub(super) fn from_shared(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
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

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the layer's service and returns the inner one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Cors<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<crate::body::Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let policy = self.shared.policy.load();
        let (decision, partial) = policy.decide(req.method(), req.headers());
        let options = req.method() == Method::OPTIONS;
        let (allow_origin, vary) = match decision {
            Decision::PreflightAccepted(p) => {
                let (parts, _body) = req.into_parts();
                return ResponseFuture::answer(policy.accepted(p, parts.headers));
            }
            Decision::PreflightRefused(r) => {
                let (parts, _body) = req.into_parts();
                let debug = self.shared.debug();
                return ResponseFuture::answer(policy.refused(r, partial, debug, parts));
            }
            Decision::NotCors if policy.is_public() => (Some(WILDCARD), None),
            Decision::NotCors | Decision::ActualRefused => (None, Some(VARY_ORIGIN)),
            Decision::ActualAllowed { allow_origin } => {
                let vary = (!policy.is_public()).then_some(VARY_ORIGIN);
                (Some(allow_origin), vary)
            }
        };
        // A non-preflight OPTIONS answer could be cached and served to a later preflight: say
        // what preflights vary on (as jub0bs/cors does).
        let vary = if options { Some(VARY_PREFLIGHT) } else { vary };
        // The response future owns the policy the request started with.
        let policy = arc_swap::Guard::into_inner(policy);
        ResponseFuture::forward(self.inner.call(req), policy, allow_origin, vary)
    }
}
