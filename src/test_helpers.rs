//! Helpers for the crate's unit tests: a body built from given frames, body collection, an echo
//! service that counts its calls, and a compile-time `Send + Sync` check.

#![allow(dead_code, unreachable_pub)] // each layer's tests use a different subset

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full};

/// A body that yields the given data frames, then optional trailers, with an exact
/// `is_end_stream`.
#[derive(Debug, Default)]
pub(crate) struct Chunks {
    frames: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Chunks {
    pub(crate) fn new<I, T>(chunks: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<Bytes>,
    {
        Self {
            frames: chunks.into_iter().map(Into::into).collect(),
            trailers: None,
        }
    }

    pub(crate) fn with_trailers(mut self, trailers: HeaderMap) -> Self {
        self.trailers = Some(trailers);
        self
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.trailers.is_none()
    }
}

/// Collects a body into a `String` (lossy).
pub(crate) async fn body_text<B>(body: B) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let bytes = body.collect().await.expect("body error").to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An inner service that answers `200` with the request's method and path as the body, and
/// counts its calls.
#[derive(Clone, Debug, Default)]
pub(crate) struct Echo {
    calls: Arc<AtomicUsize>,
}

impl Echo {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl<B> tower_service::Service<Request<B>> for Echo {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let text = format!("{} {}", req.method(), req.uri().path());
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(text)))))
    }
}

/// Fails to compile unless `T` is `Send + Sync`.
pub(crate) fn assert_send_sync<T: Send + Sync>() {}

/// The output of a future that is ready when first polled (panics otherwise: tests only).
pub(crate) fn now<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(crate::util::noop_waker());
    match std::pin::pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was not ready at once"),
    }
}
