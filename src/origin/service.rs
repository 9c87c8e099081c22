//! [`OriginGuard`]: the service, a thin shell around [`Policy::check`].

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::policy::Policy;
use super::response::{custom_refusal, default_refusal};
use super::{Allowed, Rejection};
use crate::body::Body;

/// Middleware that refuses cross-origin state-changing requests and cross-site WebSocket
/// handshakes with `403`, before the inner service runs.
///
/// Made by [`OriginGuardLayer`](super::OriginGuardLayer). See the [module docs](super) for an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct OriginGuard<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> OriginGuard<S> {
    pub(super) fn new(inner: S, policy: Arc<Policy>) -> Self {
        Self { inner, policy }
    }

    /// The guard's decision on a request head, as [`OriginGuardLayer::check`](super::OriginGuardLayer::check).
    ///
    /// # Errors
    ///
    /// The [`Rejection`] the guard answers with (marked report-only in report-only mode).
    pub fn check(&self, parts: &http::request::Parts) -> Result<Allowed, Rejection> {
        self.policy.check(&parts.method, &parts.uri, &parts.headers)
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OriginGuard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self
            .policy
            .check(request.method(), request.uri(), request.headers())
        {
            Ok(_) => ResponseFuture::forward(self.inner.call(request)),
            Err(rejection) => self.refuse(rejection, request),
        }
    }
}

impl<S> OriginGuard<S> {
    /// The refused (or, in report-only mode, reported) request: off the pass path.
    #[cold]
    #[inline(never)]
    fn refuse<ReqBody, ResBody>(
        &mut self,
        rejection: Rejection,
        mut request: Request<ReqBody>,
    ) -> ResponseFuture<S::Future, ResBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        if rejection.is_report_only() {
            request.extensions_mut().insert(rejection);
            return ResponseFuture::report(self.inner.call(request), rejection);
        }
        let (parts, _body) = request.into_parts();
        ResponseFuture::refused(match &self.policy.response {
            None => default_refusal(rejection, parts),
            Some(builder) => custom_refusal(rejection, builder, &parts),
        })
    }
}
