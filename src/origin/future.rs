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
        Forward { #[pin] future: F, report: Option<Rejection> },
        Refused { response: Option<Response<Body<B>>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn forward(future: F, report: Option<Rejection>) -> Self {
        Self {
            state: State::Forward { future, report },
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Forward { future, report } => {
                let mut response = ready!(future.poll(cx))?.map(Body::new);
                if let Some(rejection) = report.take() {
                    response.extensions_mut().insert(rejection);
                }
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
