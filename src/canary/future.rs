//! [`ResponseFuture`] of [`CanarySplit`](super::CanarySplit).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll, Wake, Waker};

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
        // The arm was not ready when called: ready it, then call it. Boxed so that the
        // request is not carried (and moved) in the future in the common, ready case.
        Stable { call: Pin<Box<Oneshot<S, Req>>> },
        Canary { call: Pin<Box<Oneshot<C, Req>>> },
        // The arm was ready at once and has been called.
        StableCalled { #[pin] future: S::Future },
        CanaryCalled { #[pin] future: C::Future },
        // The arm's `poll_ready` failed at once.
        Failed { error: Option<S::Error> },
    }
}

/// A waker that does nothing, for the one readiness check made inside `call`.
fn noop_waker() -> &'static Waker {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    static WAKER: OnceLock<Waker> = OnceLock::new();
    WAKER.get_or_init(|| Waker::from(Arc::new(Noop)))
}

/// How a call to an arm starts.
pub(super) enum Start<T: Service<Req>, Req> {
    Pending(Pin<Box<Oneshot<T, Req>>>),
    Called(T::Future),
    Failed(T::Error),
}

/// Checks the arm's readiness once (with a waker that does nothing) and calls it when it is
/// ready, so the common case stores no request in the future; otherwise readiness is driven
/// by the response future with the task's real waker, which replaces the no-op one.
#[inline]
pub(super) fn start<T: Service<Req>, Req>(mut service: T, request: Req) -> Start<T, Req> {
    let mut cx = Context::from_waker(noop_waker());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => Start::Called(service.call(request)),
        Poll::Ready(Err(error)) => Start::Failed(error),
        Poll::Pending => Start::Pending(Box::pin(Oneshot::new(service, request))),
    }
}

/// [`start`] on the service itself, with no clone when it is ready at once (the common case).
/// When it is not, the service that was asked (and may hold a reservation it made, such as a
/// buffer slot) moves into the response future and a clone takes its place, as
/// `tower::ServiceExt::ready` users do with `mem::replace`.
#[inline]
pub(super) fn start_in_place<T: Service<Req> + Clone, Req>(
    service: &mut T,
    request: Req,
) -> Start<T, Req> {
    let mut cx = Context::from_waker(noop_waker());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => Start::Called(service.call(request)),
        Poll::Ready(Err(error)) => Start::Failed(error),
        Poll::Pending => {
            let clone = service.clone();
            let asked = std::mem::replace(service, clone);
            Start::Pending(Box::pin(Oneshot::new(asked, request)))
        }
    }
}

impl<S, C, Req> Kind<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req, Error = S::Error>,
{
    #[inline]
    pub(super) fn stable(service: &mut S, request: Req) -> Self
    where
        S: Clone,
    {
        match start_in_place(service, request) {
            Start::Pending(call) => Self::Stable { call },
            Start::Called(future) => Self::StableCalled { future },
            Start::Failed(error) => Self::Failed { error: Some(error) },
        }
    }

    #[inline]
    pub(super) fn canary(service: C, request: Req) -> Self {
        match start(service, request) {
            Start::Pending(call) => Self::Canary { call },
            Start::Called(future) => Self::CanaryCalled { future },
            Start::Failed(error) => Self::Failed { error: Some(error) },
        }
    }
}

impl<S, C, Req> ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req>,
{
    #[inline]
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

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.arm.is_none() && this.header.is_none() {
            // The pass-through: nothing goes on the answer, which is returned as is.
            match this.kind.as_mut().project() {
                KindProj::StableCalled { future } => return future.poll(cx),
                KindProj::CanaryCalled { future } => return future.poll(cx),
                _ => {}
            }
        }
        let mut response = match this.kind.project() {
            KindProj::Stable { call } => ready!(call.as_mut().poll(cx))?,
            KindProj::Canary { call } => ready!(call.as_mut().poll(cx))?,
            KindProj::StableCalled { future } => ready!(future.poll(cx))?,
            KindProj::CanaryCalled { future } => ready!(future.poll(cx))?,
            KindProj::Failed { error } => {
                return Poll::Ready(Err(error.take().expect("polled after completion")))
            }
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
