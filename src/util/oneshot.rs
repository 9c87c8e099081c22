//! A future that drives a service to readiness and then calls it once.
//!
//! Router and CanarySplit are always ready and drive the chosen service inside the response
//! future, as axum does, instead of polling every inner service up front (the head-of-line
//! blocking of `tower::steer`).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tower_service::Service;

pin_project! {
    /// Readies `S`, calls it with the request, then resolves to its answer.
    pub(crate) struct Oneshot<S: Service<Req>, Req> {
        #[pin]
        state: State<S, Req>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S: Service<Req>, Req> {
        NotReady { service: S, request: Option<Req> },
        Called { #[pin] future: S::Future },
    }
}

impl<S: Service<Req>, Req> Oneshot<S, Req> {
    pub(crate) fn new(service: S, request: Req) -> Self {
        Self {
            state: State::NotReady {
                service,
                request: Some(request),
            },
        }
    }
}

impl<S: Service<Req> + Clone, Req> Oneshot<S, Req> {
    /// Calls `service` now if it says it is ready when asked with a waker that does nothing;
    /// otherwise a future that readies a clone of it with the task's own waker (a failed
    /// service is asked again there, and reports its error).
    pub(crate) fn call_if_ready(service: &mut S, request: Req) -> Self {
        if super::ready_now(service) {
            Self {
                state: State::Called {
                    future: service.call(request),
                },
            }
        } else {
            Self::new(service.clone(), request)
        }
    }
}

impl<S: Service<Req>, Req> Future for Oneshot<S, Req> {
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::NotReady { service, request } => {
                    ready!(service.poll_ready(cx))?;
                    let request = request.take().expect("polled after completion");
                    let future = service.call(request);
                    this.state.set(State::Called { future });
                }
                StateProj::Called { future } => return future.poll(cx),
            }
        }
    }
}

impl<S: Service<Req>, Req> std::fmt::Debug for Oneshot<S, Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Oneshot")
    }
}
