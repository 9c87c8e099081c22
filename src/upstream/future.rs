//! [`ResponseFuture`]: the upstream call, its timeout, and failures turned into answers.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::body::ResponseBody;
use super::failure::{Failure, FailureKind};
use super::headers::remove_hop_by_hop;

type ClientFuture = hyper_util::client::legacy::ResponseFuture;

pin_project! {
    /// Response future of [`Upstream`](super::Upstream): the upstream's response headers, or
    /// the gateway's `502`/`504`/`400`.
    pub struct ResponseFuture {
        #[pin]
        state: State,
        // A `HEAD`: the gateway's own answers carry no body.
        head: bool,
    }
}

pin_project! {
    #[project = StateProj]
    enum State {
        Waiting { #[pin] call: ClientFuture, #[pin] deadline: Sleep },
        Failed { failure: Option<Failure> },
    }
}

impl ResponseFuture {
    pub(super) fn new(call: ClientFuture, deadline: Sleep, head: bool) -> Self {
        Self {
            state: State::Waiting { call, deadline },
            head,
        }
    }

    pub(super) fn failed(failure: Failure, head: bool) -> Self {
        Self {
            state: State::Failed {
                failure: Some(failure),
            },
            head,
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let head = *this.head;
        match this.state.project() {
            StateProj::Waiting { call, deadline } => {
                if let Poll::Ready(result) = call.poll(cx) {
                    return Poll::Ready(Ok(match result {
                        Ok(response) => forward(response, head),
                        Err(error) => Failure::from_client_error(&error).into_response_for(head),
                    }));
                }
                ready!(deadline.poll(cx));
                Poll::Ready(Ok(Failure::timeout().into_response_for(head)))
            }
            StateProj::Failed { failure } => {
                let failure = failure.take().expect("polled after completion");
                Poll::Ready(Ok(failure.into_response_for(head)))
            }
        }
    }
}

/// The upstream's response, minus its hop-by-hop headers, with its body streamed as is; a
/// `101` is the gateway's `502`: this service never forwards `Upgrade`, so the upstream
/// switched to a protocol nobody asked for (RFC 9110 §15.2.2), and relaying it would have the
/// client's server switch its connection to nothing.
fn forward(response: Response<Incoming>, head: bool) -> Response<ResponseBody> {
    if response.status().is_informational() {
        return Failure::new(
            FailureKind::BadResponse,
            "the upstream switched protocols unasked",
        )
        .into_response_for(head);
    }
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, ResponseBody::upstream(body))
}
