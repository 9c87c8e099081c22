//! [`AccessLog`]: the service; it starts a record and hands it to the response future.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::body::ResponseBody;
use super::future::ResponseFuture;
use super::layer::{AccessLogLayer, Shared};
use super::record::Record;
use super::sink::Sink;

/// Writes one access-log record per request, when its response body ends. Made by
/// [`AccessLogLayer`]; see the [module docs](super).
///
/// Unlike the other layers, it needs the request body to be an [`http_body::Body`] (its size
/// hint is the request length when there is no `content-length`): `Request<()>` does not go
/// through it; `http_body_util::Empty<Bytes>` does. Under axum, the client address that
/// `into_make_service_with_connect_info::<SocketAddr>()` records (`ConnectInfo<SocketAddr>`)
/// is read with the feature `axum` (on by default).
#[derive(Debug)]
#[must_use]
pub struct AccessLog<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for AccessLog<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl AccessLog<()> {
    /// A layer writing to `sink` (the same as [`AccessLogLayer::new`]). Defined on
    /// `AccessLog<()>` so that a bare `AccessLog::layer(sink)` needs no type annotation.
    ///
    /// ```
    /// use tower_gateway::access_log::{AccessLog, MemorySink};
    ///
    /// let sink = MemorySink::new();
    /// let layer = AccessLog::layer(sink.clone());
    /// # let _ = layer;
    /// ```
    pub fn layer(sink: impl Into<Sink>) -> AccessLogLayer {
        AccessLogLayer::new(sink)
    }
}

impl<S> AccessLog<S> {
    pub(super) fn from_parts(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AccessLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let record = Record::start(self.shared.clone(), &mut req);
        ResponseFuture::new(self.inner.call(req), record)
    }
}
