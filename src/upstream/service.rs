//! [`Upstream`]: the service that forwards a request and streams the answer back.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::{Method, Request, Response, Uri, Version};
use http_body_util::BodyExt;
use tower_service::Service;

use super::body::ResponseBody;
use super::builder::UpstreamBuilder;
use super::client::{RequestBody, UpstreamClient};
use super::failure::{Failure, FailureKind};
use super::future::ResponseFuture;
use super::headers::prepare_for_next_hop;
use super::target::Target;
use crate::error::ConfigError;

/// A route target that forwards requests to an HTTP/1 server; see the
/// [module docs](crate::upstream).
///
/// Always ready (like an axum handler); cloning is a reference-count bump. Failures are
/// answers (`502`, `504`, `400` with a [`Failure`] extension), never errors: `Error =
/// Infallible`.
#[derive(Clone)]
#[must_use]
pub struct Upstream {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) target: Target,
    pub(super) timeout: Duration,
    pub(super) preserve_host: bool,
    pub(super) client: UpstreamClient,
}

impl Upstream {
    /// An upstream at `url` (`http://host[:port][/base]`) with the default settings of
    /// [`UpstreamBuilder`].
    ///
    /// # Errors
    ///
    /// Every problem with `url`; see [`UpstreamBuilder::build`].
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        UpstreamBuilder::new(url).build()
    }

    /// A builder for an upstream at `url`, to set a strip prefix, timeouts, `Host` handling
    /// or a shared pool.
    pub fn builder(url: &str) -> UpstreamBuilder {
        UpstreamBuilder::new(url)
    }

    /// The URI a request with these parts is sent to, without calling anything: the pure
    /// decision of this service (see the module docs for the mapping rules).
    ///
    /// # Errors
    ///
    /// A [`Failure`] of kind [`FailureKind::BadRequest`] (the answer would be `400`) when the
    /// request target is not a path or its path has a `.` or `..` segment.
    pub fn map_uri(&self, parts: &http::request::Parts) -> Result<Uri, Failure> {
        self.inner
            .target
            .uri_for(parts)
            .map_err(|reason| Failure::new(FailureKind::BadRequest, reason))
    }

    /// The URL this upstream was built from.
    #[must_use]
    pub fn url(&self) -> &str {
        self.inner.target.url()
    }

    /// The time allowed for the upstream's response headers.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The pool this upstream sends through.
    pub fn client(&self) -> &UpstreamClient {
        &self.inner.client
    }
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("target", &self.inner.target)
            .field("timeout", &self.inner.timeout)
            .field("preserve_host", &self.inner.preserve_host)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for Upstream
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = &*self.inner;
        let head = request.method() == Method::HEAD;
        if tokio::runtime::Handle::try_current().is_err() {
            // hyper-util spawns connections and the deadline needs a timer: without a Tokio
            // runtime, answer rather than panic.
            return ResponseFuture::failed(
                Failure::new(
                    FailureKind::Other,
                    "no Tokio runtime to call the upstream on",
                ),
                head,
            );
        }
        let (mut parts, body) = request.into_parts();
        let uri = match inner.target.uri_for(&parts) {
            Ok(uri) => uri,
            Err(reason) => {
                return ResponseFuture::failed(Failure::new(FailureKind::BadRequest, reason), head)
            }
        };
        let original_host = prepare_for_next_hop(&mut parts);
        let host = match (&original_host, inner.preserve_host) {
            (Some(host), true) => host.clone(),
            _ => inner.target.host().clone(),
        };
        parts.headers.insert(HOST, host);
        parts.uri = uri;
        // The pool speaks HTTP/1.1 to upstreams, whatever the client spoke to us.
        parts.version = Version::HTTP_11;
        // Facts for this process's layers (route, params...) are not sent.
        parts.extensions = http::Extensions::new();
        let body: RequestBody = body.map_err(Into::into).boxed_unsync();
        let future = inner
            .client
            .client
            .request(Request::from_parts(parts, body));
        ResponseFuture::new(future, tokio::time::sleep(inner.timeout), head)
    }
}
