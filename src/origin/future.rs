//! [`ResponseFuture`]: the inner call, or the refusal ready at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::Rejection;
use crate::body::Body;

pin_project! {
    /// Response future of [`OriginGuard`](super::OriginGuard).
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // The pass path: only the inner future, so wrapping the answer is one move.
        Forward { #[pin] future: F },
        // Report-only mode: the request went through, the rejection goes on the answer.
        Report { #[pin] future: F, rejection: Rejection },
        // The refusal, ready at once.
        Refused { response: Option<Response<Body<B>>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    #[inline]
    pub(super) fn forward(future: F) -> Self {
        Self {
            state: State::Forward { future },
        }
    }

    pub(super) fn report(future: F, rejection: Rejection) -> Self {
        Self {
            state: State::Report { future, rejection },
        }
    }

    pub(super) fn refused(response: Response<Body<B>>) -> Self {
        Self {
            state: State::Refused {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Body<B>>, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Forward { future } => match future.poll(cx) {
                Poll::Ready(Ok(response)) => Poll::Ready(Ok(response.map(Body::new))),
                Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                Poll::Pending => Poll::Pending,
            },
            StateProj::Report { future, rejection } => {
                let mut response = ready!(future.poll(cx))?.map(Body::new);
                response.extensions_mut().insert(*rejection);
                Poll::Ready(Ok(response))
            }
            StateProj::Refused { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
