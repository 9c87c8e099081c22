//! [`ResponseFuture`]: the layer's own answer, or the inner answer decorated.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::policy::Decoration;
use crate::body::Body;

pin_project! {
    /// Response future of [`Cors`](super::Cors).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Forward {
            #[pin]
            future: F,
            // What the policy the request started with adds: a swap does not affect it.
            decoration: Decoration,
        },
        Answer {
            response: Option<Response<Body<()>>>,
        },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn forward(future: F, decoration: Decoration) -> Self {
        Self {
            state: State::Forward { future, decoration },
        }
    }

    pub(super) fn answer(response: Response<Body<()>>) -> Self {
        Self {
            state: State::Answer {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<Body<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Forward { future, decoration } => {
                let mut response = ready!(future.poll(cx))?;
                decoration.apply(response.headers_mut());
                Poll::Ready(Ok(response.map(Body::new)))
            }
            StateProj::Answer { response } => {
                let response = response.take().expect("polled after completion");
                // The layer's own bodies are empty: re-type the body without touching it.
                Poll::Ready(Ok(response.map(|_| Body::empty())))
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}
