//! [`ResponseBody`]: the upstream's body, streamed as it comes, or the gateway's short reason.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use crate::body::Body;

pin_project! {
    /// The body of an [`Upstream`](super::Upstream)'s response: the upstream's body, frame
    /// by frame as hyper reads it (never collected), or the short reason of a `502`/`504`
    /// the gateway made.
    ///
    /// `Data = Bytes`, `Error = hyper::Error` (the upstream connection failing mid-body);
    /// `Send + Sync + Unpin`, so axum and hyper serve it as it is.
    pub struct ResponseBody {
        #[pin]
        inner: Body<Incoming>,
    }
}

impl ResponseBody {
    pub(crate) fn upstream(body: Incoming) -> Self {
        Self {
            inner: Body::new(body),
        }
    }

    pub(crate) fn full(reason: &'static str) -> Self {
        Self {
            inner: Body::full(Bytes::from_static(reason.as_bytes())),
        }
    }

    /// Whether this body comes from the upstream (rather than being the gateway's answer).
    #[must_use]
    pub fn is_upstream(&self) -> bool {
        self.inner.is_inner()
    }

    /// The body as the crate-wide [`Body`] over hyper's [`Incoming`].
    #[must_use]
    pub fn into_inner(self) -> Body<Incoming> {
        self.inner
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResponseBody").field(&self.inner).finish()
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
