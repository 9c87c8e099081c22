//! [`ResponseBody`]: counts the body bytes sent and writes the record when the body ends,
//! fails, or is dropped.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

use super::format::flag;
use super::record::Record;

pin_project! {
    /// Response body of [`AccessLog`](super::AccessLog): the inner body, unchanged, with its
    /// data bytes counted.
    ///
    /// The record is written exactly once: when the inner body yields its last frame (or
    /// `is_end_stream()` turns true), when it fails or panics (flag `UE`), or when this body is
    /// dropped (flag `DC`, unless the body had already ended or is never sent: a `HEAD` request, or a
    /// `1xx`, `204` or `304` answer, whose body servers drop unread).
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        record: Option<Record>,
        ended: bool,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(mut record) = this.record.take() {
                if !*this.ended && !record.body_not_sent() {
                    // Dropped while unwinding: the inner body panicked, the client did not leave.
                    record.flag(if std::thread::panicking() {
                        flag::INNER_ERROR
                    } else {
                        flag::DISCONNECTED
                    });
                }
                record.finish();
            }
        }
    }
}

impl<B: http_body::Body> ResponseBody<B> {
    pub(super) fn new(inner: B, mut record: Record) -> Self {
        let ended = inner.is_end_stream();
        if ended {
            record.ended_at_headers();
        }
        Self {
            inner,
            record: Some(record),
            ended,
        }
    }

    /// A body whose record is written elsewhere (a tunnel's, when the connection closes).
    pub(super) fn detached(inner: B) -> Self {
        Self {
            inner,
            record: None,
            ended: true,
        }
    }
}

impl<B> http_body::Body for ResponseBody<B>
where
    B: http_body::Body,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        let done = match &frame {
            Some(Ok(frame)) => {
                if let (Some(record), Some(data)) = (this.record.as_mut(), frame.data_ref()) {
                    record.sent(data.remaining());
                }
                this.inner.is_end_stream()
            }
            Some(Err(_)) => {
                if let Some(record) = this.record.as_mut() {
                    record.flag(flag::INNER_ERROR);
                }
                true
            }
            None => true,
        };
        if done {
            *this.ended = true;
            if let Some(record) = this.record.take() {
                record.finish();
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("written", &self.record.is_none())
            .finish()
    }
}
