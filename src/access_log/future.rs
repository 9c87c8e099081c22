//! [`ResponseFuture`]: completes the record at the response headers, or writes it when the
//! inner future fails or is dropped before a response.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Response, StatusCode};
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use super::format::flag;
use super::record::Record;
use crate::tunnel::Tunnel;

pin_project! {
    /// Response future of [`AccessLog`](super::AccessLog).
    ///
    /// When the inner service fails, the record is written at once with status `0` and the
    /// `UE` flag; when this future is dropped before the response, with status `0` and `DC`
    /// (`UE` when it is dropped because the inner future panicked: the client did not leave).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(mut record) = this.project().record.take() {
                record.flag(if std::thread::panicking() {
                    flag::INNER_ERROR
                } else {
                    flag::DISCONNECTED
                });
                record.finish();
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, record: Record) -> Self {
        Self {
            inner,
            record: Some(record),
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut record = this.record.take().expect("polled after completion");
        match result {
            Ok(mut response) => {
                record.headers(&mut response);
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    if let Some(tunnel) = response.extensions().get::<Tunnel>() {
                        // One record for the whole connection, when its tunnel closes.
                        tunnel.on_close(Box::new(move |summary| {
                            record.tunnel_closed(summary);
                            record.finish();
                        }));
                        return Poll::Ready(Ok(response.map(ResponseBody::detached)));
                    }
                }
                Poll::Ready(Ok(response.map(|body| ResponseBody::new(body, record))))
            }
            Err(error) => {
                record.flag(flag::INNER_ERROR);
                record.finish();
                Poll::Ready(Err(error))
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("done", &self.record.is_none())
            .finish()
    }
}
