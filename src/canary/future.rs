//! [`ResponseFuture`] of [`CanarySplit`](super::CanarySplit).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use http::Response;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::control::ArmHeader;
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
        state: State<S, C, Req>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, C, Req>
    where
        S: Service<Req>,
        C: Service<Req>,
    {
        // The arm was ready at once and has been called, and nothing goes on the answer: the
        // arm's own future, polled as is (the common case, kept small).
        Stable { #[pin] future: S::Future },
        Canary { #[pin] future: C::Future },
        // The same, with an arm and/or a header to put on the answer.
        StableTagged { #[pin] future: S::Future, tag: Tag },
        CanaryTagged { #[pin] future: C::Future, tag: Tag },
        // The arm was not ready when called: ready it, then call it. Boxed so that the
        // request is not carried (and moved) in the future in the common, ready case.
        StablePending { call: Pin<Box<Oneshot<S, Req>>>, tag: Tag },
        CanaryPending { call: Pin<Box<Oneshot<C, Req>>>, tag: Tag },
        // The arm's `poll_ready` failed at once.
        Failed { error: Option<S::Error> },
    }
}

/// What goes on the answer: the arm in the extensions, and the arm's header.
pub(super) struct Tag {
    pub(super) arm: Option<Arm>,
    pub(super) header: Option<ArmHeader>,
}

impl Tag {
    /// Nothing to add.
    pub(super) const NONE: Self = Self {
        arm: None,
        header: None,
    };

    /// Puts the header and the arm on `response`.
    fn apply<B>(&mut self, mut response: Response<B>) -> Response<B> {
        if let Some(header) = self.header.take() {
            let (name, value) = &*header;
            response.headers_mut().insert(name.clone(), value.clone());
        }
        if let Some(arm) = self.arm.take() {
            put(response.extensions_mut(), arm);
        }
        response
    }
}

/// Puts `arm` in `extensions`, replacing the value an inner or outer split put there in
/// place: that costs no allocation, where `insert` boxes every value anew.
#[inline]
pub(super) fn put(extensions: &mut http::Extensions, arm: Arm) {
    match extensions.get_mut::<Arm>() {
        Some(slot) => *slot = arm,
        None => {
            extensions.insert(arm);
        }
    }
}

/// How a call to an arm starts.
enum Start<T: Service<Req>, Req> {
    Pending(Pin<Box<Oneshot<T, Req>>>),
    Called(T::Future),
    Failed(T::Error),
}

/// Checks the arm's readiness once (with `waker`, which does nothing) and calls it when it
/// is ready, so the common case stores no request in the future; otherwise readiness is
/// driven by the response future with the task's real waker, which replaces the no-op one.
#[inline(always)]
fn start<T: Service<Req>, Req>(mut service: T, request: Req, waker: &Waker) -> Start<T, Req> {
    let mut cx = Context::from_waker(waker);
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
#[inline(always)]
fn start_in_place<T: Service<Req> + Clone, Req>(
    service: &mut T,
    request: Req,
    waker: &Waker,
) -> Start<T, Req> {
    let mut cx = Context::from_waker(waker);
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

impl<S, C, Req> ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req, Error = S::Error>,
{
    /// Starts a call to the stable arm, in place, with nothing to put on the answer; `waker`
    /// does nothing.
    #[inline(always)]
    pub(super) fn stable(service: &mut S, request: Req, waker: &Waker) -> Self
    where
        S: Clone,
    {
        let state = match start_in_place(service, request, waker) {
            Start::Called(future) => State::Stable { future },
            Start::Pending(call) => State::StablePending {
                call,
                tag: Tag::NONE,
            },
            Start::Failed(error) => State::Failed { error: Some(error) },
        };
        Self { state }
    }

    /// Starts a call to a canary arm (a clone), with nothing to put on the answer.
    #[inline(always)]
    pub(super) fn canary(service: C, request: Req, waker: &Waker) -> Self {
        let state = match start(service, request, waker) {
            Start::Called(future) => State::Canary { future },
            Start::Pending(call) => State::CanaryPending {
                call,
                tag: Tag::NONE,
            },
            Start::Failed(error) => State::Failed { error: Some(error) },
        };
        Self { state }
    }

    /// [`stable`](Self::stable), then `tag` goes on the answer.
    #[inline]
    pub(super) fn stable_tagged(service: &mut S, request: Req, tag: Tag, waker: &Waker) -> Self
    where
        S: Clone,
    {
        let state = match start_in_place(service, request, waker) {
            Start::Called(future) => State::StableTagged { future, tag },
            Start::Pending(call) => State::StablePending { call, tag },
            Start::Failed(error) => State::Failed { error: Some(error) },
        };
        Self { state }
    }

    /// [`canary`](Self::canary), then `tag` goes on the answer.
    #[inline]
    pub(super) fn canary_tagged(service: C, request: Req, tag: Tag, waker: &Waker) -> Self {
        let state = match start(service, request, waker) {
            Start::Called(future) => State::CanaryTagged { future, tag },
            Start::Pending(call) => State::CanaryPending { call, tag },
            Start::Failed(error) => State::Failed { error: Some(error) },
        };
        Self { state }
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
        let response = match self.project().state.project() {
            StateProj::Stable { future } => return future.poll(cx),
            StateProj::Canary { future } => return future.poll(cx),
            StateProj::StableTagged { future, tag } => tag.apply(ready!(future.poll(cx))?),
            StateProj::CanaryTagged { future, tag } => tag.apply(ready!(future.poll(cx))?),
            StateProj::StablePending { call, tag } => tag.apply(ready!(call.as_mut().poll(cx))?),
            StateProj::CanaryPending { call, tag } => tag.apply(ready!(call.as_mut().poll(cx))?),
            StateProj::Failed { error } => {
                return Poll::Ready(Err(error.take().expect("polled after completion")))
            }
        };
        Poll::Ready(Ok(response))
    }
}

impl<S, C, Req> fmt::Debug for ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Stable { .. } | State::StableTagged { .. } => "stable called",
            State::Canary { .. } | State::CanaryTagged { .. } => "canary called",
            State::StablePending { .. } => "readying stable",
            State::CanaryPending { .. } => "readying canary",
            State::Failed { .. } => "failed",
        };
        let arm = match &self.state {
            State::StableTagged { tag, .. }
            | State::CanaryTagged { tag, .. }
            | State::StablePending { tag, .. }
            | State::CanaryPending { tag, .. } => tag.arm.as_ref(),
            _ => None,
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .field("arm", &arm)
            .finish_non_exhaustive()
    }
}
