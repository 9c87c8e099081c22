//! [`Services`]: the targets a configuration names, registered in code; [`GatewayBody`], the one
//! response body of a gateway.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use tower_service::Service;

use crate::access_log::Sink;
use crate::util::boxed::BoxService;
use crate::util::oneshot::Oneshot;

/// The error type of a [`GatewayBody`]: whatever the target's body failed with, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body of a [`Gateway`](super::Gateway): any target's body (a handler's, an
/// upstream's streamed body, a layer's short answer), type-erased. A target's body is boxed
/// where the target joins the table, and the stack's body once more where the whole stack is
/// erased so a reload can swap it; data frames pass through without copies.
pub struct GatewayBody {
    inner: UnsyncBoxBody<Bytes, BoxError>,
}

impl GatewayBody {
    /// Boxes `body`.
    pub fn new<B>(body: B) -> Self
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Self {
            inner: body.map_err(Into::into).boxed_unsync(),
        }
    }

    /// A body of `data`.
    pub fn full(data: impl Into<Bytes>) -> Self {
        Self::new(http_body_util::Full::new(data.into()))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::new(http_body_util::Empty::new())
    }
}

impl Default for GatewayBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for GatewayBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayBody").finish_non_exhaustive()
    }
}

impl HttpBody for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A route target as the gateway stores it: one request body type, [`GatewayBody`] responses,
/// no error.
pub(crate) type Target<ReqB> = BoxService<Request<ReqB>, Response<GatewayBody>, Infallible>;

/// Turns any service into a [`Target`]: its body boxed into a [`GatewayBody`], an error turned
/// into a `500` with a short body (the reason stays in the response extensions as
/// [`TargetError`]).
#[derive(Clone)]
pub(crate) struct IntoTarget<S> {
    inner: S,
}

impl<S> IntoTarget<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// Why a target failed: its service returned an error, or a `1xx` other than `101` as its
/// final answer, which the gateway answered with `500 Internal Server Error`. Found in the
/// response extensions.
#[derive(Clone, Debug)]
pub struct TargetError {
    message: std::sync::Arc<str>,
}

impl TargetError {
    /// The error's `Display` text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for IntoTarget<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = IntoTargetFuture<S, Request<ReqB>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Always ready: the target's own readiness is driven inside the response future.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        // Called in place when ready now (no clone of the target per request).
        IntoTargetFuture::call(&mut self.inner, request)
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`IntoTarget`].
    pub(crate) struct IntoTargetFuture<S: Service<Req>, Req> {
        #[pin]
        inner: Oneshot<S, Req>,
        // The request is a `HEAD`: an error's `500` then has no body.
        head: bool,
    }
}

impl<S, ReqB> IntoTargetFuture<S, Request<ReqB>>
where
    S: Service<Request<ReqB>>,
{
    /// Calls `service` with `request` (in place when it is ready now), noting whether the
    /// request is a `HEAD`.
    pub(crate) fn call(service: &mut S, request: Request<ReqB>) -> Self
    where
        S: Clone,
    {
        let head = request.method() == Method::HEAD;
        Self {
            inner: Oneshot::call_if_ready(service, request),
            head,
        }
    }
}

impl<S, ReqB, ResB> Future for IntoTargetFuture<S, Request<ReqB>>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<GatewayBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(Ok(match ready!(this.inner.poll(cx)) {
            Ok(response) if !is_informational(response.status()) => response.map(GatewayBody::new),
            Ok(response) => informational(response.status(), *this.head),
            Err(error) => internal_error(&error.into(), *this.head),
        }))
    }
}

/// A `1xx` other than `101 Switching Protocols`: never a final answer (RFC 9110 §15.2; hyper
/// sends `500` in its place, so the log and the metrics would count a status the client never
/// got).
#[inline]
fn is_informational(status: StatusCode) -> bool {
    status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS
}

/// The `500` for a target that answered a `1xx` as its final response, as for its error.
#[cold]
fn informational(status: StatusCode, head: bool) -> Response<GatewayBody> {
    let error = format!("the service answered {status} as its final response");
    internal_error(&error.into(), head)
}

/// The `500` for a target's error; for a `HEAD` (`head`) the same headers, the body's
/// `content-length` included, and no body (RFC 9110 §9.3.2), as the Router's `404` and an
/// upstream's failures answer.
#[cold]
fn internal_error(error: &BoxError, head: bool) -> Response<GatewayBody> {
    const BODY: &str = "internal error\n";
    let mut response = Response::new(if head {
        GatewayBody::empty()
    } else {
        GatewayBody::full(BODY)
    });
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if head {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(BODY.len()));
    }
    response.extensions_mut().insert(TargetError {
        message: error.to_string().into(),
    });
    response
}

/// The services a [`GatewayConfig`](super::GatewayConfig) refers to by name, and the pieces of a
/// gateway that live in code rather than in configuration (an access-log sink, a metrics
/// registry).
///
/// `ReqB` is the request body type of the server in front (`hyper::body::Incoming`,
/// `axum::body::Body`, ...). Any service can be registered: its response body is boxed into a
/// [`GatewayBody`] and its error, if it ever returns one, becomes a `500`.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use tower::service_fn;
/// use tower_gateway::gateway::Services;
///
/// let pets = service_fn(|_: Request<String>| async {
///     Ok::<_, Infallible>(Response::new(String::from("pets")))
/// });
/// let services = Services::new().service("pets", pets);
/// assert!(services.contains("pets"));
/// ```
pub struct Services<ReqB> {
    pub(crate) named: HashMap<String, Target<ReqB>>,
    pub(crate) access_log_sink: Option<Sink>,
    pub(crate) metrics: Option<crate::metrics::Registry>,
    #[cfg(feature = "upstream")]
    pub(crate) upstream_client: Option<crate::upstream::UpstreamClient>,
}

impl<ReqB> Clone for Services<ReqB> {
    fn clone(&self) -> Self {
        Self {
            named: self.named.clone(),
            access_log_sink: self.access_log_sink.clone(),
            metrics: self.metrics.clone(),
            #[cfg(feature = "upstream")]
            upstream_client: self.upstream_client.clone(),
        }
    }
}

impl<ReqB> Default for Services<ReqB> {
    fn default() -> Self {
        Self {
            named: HashMap::new(),
            access_log_sink: None,
            metrics: None,
            #[cfg(feature = "upstream")]
            upstream_client: None,
        }
    }
}

impl<ReqB> fmt::Debug for Services<ReqB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.named.keys().collect();
        names.sort();
        f.debug_struct("Services")
            .field("named", &names)
            .field("access_log_sink", &self.access_log_sink.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl<ReqB: Send + 'static> Services<ReqB> {
    /// No services.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `service` under `name` (replacing one of the same name).
    ///
    /// The name `metrics` is special only when nothing is registered under it: it then means
    /// the gateway's own Prometheus exposition (see [`GatewayConfig::metrics`](super::GatewayConfig::metrics)).
    #[must_use]
    pub fn service<S, ResB>(mut self, name: impl Into<String>, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        ResB: HttpBody<Data = Bytes> + Send + 'static,
        ResB::Error: Into<BoxError>,
    {
        self.named
            .insert(name.into(), BoxService::new(IntoTarget::new(service)));
        self
    }

    /// Whether a service is registered under `name`.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.named.contains_key(name)
    }

    /// The sink of an access log whose config says `sink = "code"` (a
    /// [`MemorySink`](crate::access_log::MemorySink) in tests, a file writer, `tracing`).
    #[must_use]
    pub fn access_log_sink(mut self, sink: impl Into<Sink>) -> Self {
        self.access_log_sink = Some(sink.into());
        self
    }

    /// The metrics registry to record into, instead of one built from the `metrics` section
    /// (so counters survive a reload that changes nothing about metrics, and so code can read
    /// them). It is used only when the configuration has a `metrics` section (without one
    /// the gateway records nothing and has no `metrics` service); the section's `enabled`
    /// still decides whether the gateway records, and its other settings are then unused.
    #[must_use]
    pub fn metrics_registry(mut self, registry: crate::metrics::Registry) -> Self {
        self.metrics = Some(registry);
        self
    }

    /// The connection pool every upstream target of the gateway shares. Default: none, each
    /// upstream target keeps a pool of its own (rebuilt with the stack on a reload). With a
    /// shared pool, a route's `connect_timeout` is a configuration error: set it on the
    /// [`UpstreamClient`](crate::upstream::UpstreamClient) instead.
    #[cfg(feature = "upstream")]
    #[cfg_attr(docsrs, doc(cfg(feature = "upstream")))]
    #[must_use]
    pub fn upstream_client(mut self, client: crate::upstream::UpstreamClient) -> Self {
        self.upstream_client = Some(client);
        self
    }
}
