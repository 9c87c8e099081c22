//! [`ResponseFuture`] of [`CanarySplit`](super::CanarySplit).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::{HeaderName, HeaderValue};
use http::Response;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::Arm;
use crate::util::oneshot::Oneshot;

pin_project! {
    /// Response future of [`CanarySplit`](super::CanarySplit): readies and calls the chosen arm,
    /// then puts the [`Arm`] in the response extensions (and the optional header). An arm's
    /// error, from `poll_ready` or from its call, comes out as is.
    pub struct ResponseFuture<S, C, Req>
    where
        S: Service<Req>,
        C: Service<Req>,
    {
        #[pin]
        kind: Kind<S, C, Req>,
        arm: Option<Arm>,
        header: Option<(HeaderName, HeaderValue)>,
    }
}

pin_project! {
    #[project = KindProj]
    pub(super) enum Kind<S, C, Req>
    where
        S: Service<Req>,
        C: Service<Req>,
    {
        Stable { #[pin] call: Oneshot<S, Req> },
        Canary { #[pin] call: Oneshot<C, Req> },
    }
}

impl<S, C, Req> ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req>,
{
    pub(super) fn new(
        kind: Kind<S, C, Req>,
        arm: Option<Arm>,
        header: Option<(HeaderName, HeaderValue)>,
    ) -> Self {
        Self { kind, arm, header }
    }
}

impl<S, C, Req, B> Future for ResponseFuture<S, C, Req>
where
    S: Service<Req, Response = Response<B>>,
    C: Service<Req, Response = Response<B>, Error = S::Error>,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.kind.project() {
            KindProj::Stable { call } => ready!(call.poll(cx))?,
            KindProj::Canary { call } => ready!(call.poll(cx))?,
        };
        if let Some((name, value)) = this.header.take() {
            response.headers_mut().insert(name, value);
        }
        if let Some(arm) = this.arm.take() {
            response.extensions_mut().insert(arm);
        }
        Poll::Ready(Ok(response))
    }
}

impl<S, C, Req> fmt::Debug for ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("arm", &self.arm)
            .finish_non_exhaustive()
    }
}
