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
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Forward {
            #[pin]
            future: F,
            // What the policy the request started with adds: a swap does not affect it.
            decoration: Decoration,
        },
        // An accepted preflight: only its headers, the response is built where it is returned.
        Preflight {
            headers: Option<http::HeaderMap>,
        },
        // Typed with the inner body already, so that taking it is the only move.
        Answer {
            response: Option<Response<Body<B>>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn forward(future: F, decoration: Decoration) -> Self {
        Self {
            state: State::Forward { future, decoration },
        }
    }

    pub(super) fn preflight(headers: http::HeaderMap) -> Self {
        Self {
            state: State::Preflight {
                headers: Some(headers),
            },
        }
    }

    pub(super) fn answer(response: Response<Body<B>>) -> Self {
        Self {
            state: State::Answer {
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
            StateProj::Forward { future, decoration } => {
                let mut response = ready!(future.poll(cx))?;
                decoration.apply(response.headers_mut());
                Poll::Ready(Ok(response.map(Body::new)))
            }
            StateProj::Preflight { headers } => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = http::StatusCode::NO_CONTENT;
                *response.headers_mut() = headers.take().expect("polled after completion");
                Poll::Ready(Ok(response))
            }
            StateProj::Answer { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}
