//! [`Body`]: the one response body type for answers the gateway makes itself.
//!
//! A layer that can answer on its own (a `404` from the [`Router`](crate::Router), a refused
//! preflight, a cross-origin `403`) returns either the inner service's body or a small body of
//! its own. [`Body<B>`] is that choice, as one pin-projected enum shared by every layer, so a
//! stack of layers does not nest `Either`s or box anything.
//!
//! ```
//! use bytes::Bytes;
//! use http_body::Body as _;
//! use http_body_util::{BodyExt, Full};
//! use tower_gateway::body::Body;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ours: Body<Full<Bytes>> = Body::full("Not Found");
//! assert_eq!(ours.size_hint().exact(), Some(9));
//! assert_eq!(ours.collect().await.unwrap().to_bytes(), "Not Found");
//!
//! let inner = Body::new(Full::new(Bytes::from_static(b"from the app")));
//! assert_eq!(inner.collect().await.unwrap().to_bytes(), "from the app");
//!
//! assert!(Body::<Full<Bytes>>::empty().is_end_stream());
//! # }
//! ```

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// A response body: the inner service's body `B`, or a small body the gateway made.
    ///
    /// Its data type is [`Bytes`] and its error is `B::Error`: the gateway's own bodies never
    /// fail. `Default` is the empty body.
    pub struct Body<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Full { data: Option<Bytes> },
    }
}

impl<B> Body<B> {
    /// Wraps the inner service's body.
    pub fn new(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A body of the gateway's own with `data` in one frame.
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    /// An empty body of the gateway's own.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full { data: None },
        }
    }

    /// Whether this is the inner service's body (not one the gateway made).
    pub fn is_inner(&self) -> bool {
        matches!(self.kind, Kind::Inner { .. })
    }

    /// The inner service's body, or `None` when the gateway made this body.
    pub fn into_inner(self) -> Option<B> {
        match self.kind {
            Kind::Inner { body } => Some(body),
            Kind::Full { .. } => None,
        }
    }
}

impl<B> Default for Body<B> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<B> fmt::Debug for Body<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("Body::Inner(..)"),
            Kind::Full { data } => f
                .debug_tuple("Body::Full")
                .field(&data.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}

impl<B> http_body::Body for Body<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { data } => SizeHint::with_exact(data.as_ref().map_or(0, Bytes::len) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn full_body_yields_once() {
        let mut b: Body<Full<Bytes>> = Body::full(Bytes::from_static(b"abc"));
        assert!(!b.is_end_stream());
        let frame = b.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "abc");
        assert!(b.is_end_stream());
        assert!(b.frame().await.is_none());
        assert_eq!(b.size_hint().exact(), Some(0));
    }

    #[test]
    fn empty_full_is_empty() {
        let b: Body<Full<Bytes>> = Body::full(Bytes::new());
        assert!(b.is_end_stream());
        assert!(!b.is_inner());
        assert!(Body::new(Full::new(Bytes::new())).is_inner());
    }
}
