//! The Router's response future.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;

use super::matched::MatchedRoute;
use crate::body::Body;
use crate::util::boxed::BoxFuture;

pin_project! {
    /// Response future of [`Router`](super::Router): drives the chosen target (or the
    /// fallback) to readiness, calls it, and copies the [`MatchedRoute`] onto the response.
    pub struct ResponseFuture<ReqB, ResB, E> {
        #[pin]
        state: State<ResB, E>,
        // The request body type, kept in the signature (public type); not owned.
        _request: PhantomData<fn(ReqB)>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<ResB, E> {
        Call {
            future: BoxFuture<Response<ResB>, E>,
            route: Option<MatchedRoute>,
            head_via_get: bool,
        },
        Ready { response: Option<Response<Body<ResB>>> },
    }
}

impl<ReqB, ResB, E> ResponseFuture<ReqB, ResB, E> {
    pub(crate) fn target(
        future: BoxFuture<Response<ResB>, E>,
        route: Option<MatchedRoute>,
        head_via_get: bool,
    ) -> Self {
        Self {
            state: State::Call {
                future,
                route,
                head_via_get,
            },
            _request: PhantomData,
        }
    }

    pub(crate) fn ready(response: Response<Body<ResB>>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
            _request: PhantomData,
        }
    }
}

impl<ReqB, ResB, E> Future for ResponseFuture<ReqB, ResB, E>
where
    ResB: http_body::Body,
{
    type Output = Result<Response<Body<ResB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Call {
                future,
                route,
                head_via_get,
            } => {
                let mut response = ready!(future.as_mut().poll(cx))?;
                if let Some(route) = route.take() {
                    response.extensions_mut().insert(route);
                }
                if *head_via_get {
                    // A `GET` route answered a `HEAD`: keep the headers (and the length the body
                    // would have had), drop the body.
                    // RFC 9110 §8.6: never a length on a 1xx or 204, nor a made-up one on a
                    // 304 (whose length, if any, is the selected representation's).
                    let status = response.status();
                    let may_have_length = !status.is_informational()
                        && status != StatusCode::NO_CONTENT
                        && status != StatusCode::NOT_MODIFIED;
                    if may_have_length && !response.headers().contains_key(CONTENT_LENGTH) {
                        if let Some(len) = http_body::Body::size_hint(response.body()).exact() {
                            response
                                .headers_mut()
                                .insert(CONTENT_LENGTH, HeaderValue::from(len));
                        }
                    }
                    return Poll::Ready(Ok(response.map(|_| Body::empty())));
                }
                Poll::Ready(Ok(response.map(Body::new)))
            }
            StateProj::Ready { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}

impl<ReqB, ResB, E> std::fmt::Debug for ResponseFuture<ReqB, ResB, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("router::ResponseFuture")
    }
}
