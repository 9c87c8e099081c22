//! [`ResponseFuture`] of [`CanarySplit`](super::CanarySplit).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

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
/// place: that costs no allocation, where `insert` boxes every value anew. One lookup either
/// way (`get_or_insert_with`, http 1.1).
#[inline]
pub(super) fn put(extensions: &mut http::Extensions, arm: Arm) {
    // One lookup: the arm goes into a new slot, or over the one found.
    let mut arm = Some(arm);
    let slot = extensions.get_or_insert_with(|| arm.take().expect("taken once, here"));
    if let Some(arm) = arm {
        *slot = arm;
    }
}

impl<S, C, Req> ResponseFuture<S, C, Req>
where
    S: Service<Req>,
    C: Service<Req, Error = S::Error>,
{
    /// The stable arm was ready at once and has been called.
    #[inline(always)]
    pub(super) fn stable(future: S::Future, tag: Option<Tag>) -> Self {
        let state = match tag {
            None => State::Stable { future },
            Some(tag) => State::StableTagged { future, tag },
        };
        Self { state }
    }

    /// A canary arm was ready at once and has been called.
    #[inline(always)]
    pub(super) fn canary(future: C::Future, tag: Option<Tag>) -> Self {
        let state = match tag {
            None => State::Canary { future },
            Some(tag) => State::CanaryTagged { future, tag },
        };
        Self { state }
    }

    /// The stable arm was not ready: `service` (the one asked) is readied, then called, by
    /// the future.
    #[cold]
    #[inline(never)]
    pub(super) fn stable_pending(service: S, request: Req, tag: Option<Tag>) -> Self {
        let call = Box::pin(Oneshot::new(service, request));
        let tag = tag.unwrap_or(Tag::NONE);
        Self {
            state: State::StablePending { call, tag },
        }
    }

    /// A canary arm was not ready: `service` (the clone asked) is readied, then called, by the
    /// future.
    #[cold]
    #[inline(never)]
    pub(super) fn canary_pending(service: C, request: Req, tag: Option<Tag>) -> Self {
        let call = Box::pin(Oneshot::new(service, request));
        let tag = tag.unwrap_or(Tag::NONE);
        Self {
            state: State::CanaryPending { call, tag },
        }
    }

    /// The arm's `poll_ready` failed at once.
    #[cold]
    pub(super) fn failed(error: S::Error) -> Self {
        Self {
            state: State::Failed { error: Some(error) },
        }
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
        match self.project().state.project() {
            StateProj::Stable { future } => future.poll(cx),
            StateProj::Canary { future } => future.poll(cx),
            other => poll_rest(other, cx),
        }
    }
}

/// The states other than an untagged call in flight, apart so that polling those (the
/// request path of a split with no extensions and no header) stays small: inlined, the other
/// states' moves of the answer give every poll a frame of several hundred bytes. A tagged
/// answer pays one call, next to the allocations that tagging makes.
#[inline(never)]
fn poll_rest<S, C, Req, B>(
    state: StateProj<'_, S, C, Req>,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<B>, S::Error>>
where
    S: Service<Req, Response = Response<B>>,
    C: Service<Req, Response = Response<B>, Error = S::Error>,
{
    let response = match state {
        StateProj::Stable { future } => ready!(future.poll(cx))?,
        StateProj::Canary { future } => ready!(future.poll(cx))?,
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
