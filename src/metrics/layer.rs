//! [`MetricsLayer`] and [`Metrics`]: read the facts at the response headers, record at the
//! last body byte.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::task::{ready, Context, Poll};

use http::{Request, Response};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::labels::{method_label, Labels, Refusal};
use super::registry::Registry;
use crate::clock::Clock;

/// Records every request into a [`Registry`]. Put it outermost (like the access log) so it
/// sees every answer, refusals included, and the whole time. See the [module docs](super) for
/// an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct MetricsLayer {
    registry: Registry,
    clock: Clock,
}

impl MetricsLayer {
    /// A layer recording into `registry`, on the system clock.
    pub fn new(registry: Registry) -> Self {
        Self {
            registry,
            clock: Clock::system(),
        }
    }

    /// The clock the durations are read from: a [`ManualClock`](crate::clock::ManualClock)
    /// makes them exact in tests.
    ///
    /// Default: the system clock. Calling it again replaces it.
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The registry it records into.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            registry: self.registry.clone(),
            clock: self.clock.clone(),
        }
    }
}

/// The service [`MetricsLayer`] makes; see the [module docs](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct Metrics<S> {
    inner: S,
    registry: Registry,
    clock: Clock,
}

impl Metrics<()> {
    /// A layer recording into `registry`: the same as [`MetricsLayer::new`], for code that
    /// names the middleware `Metrics`. Defined on `Metrics<()>` so that a bare
    /// `Metrics::layer(..)` needs no type annotation.
    ///
    /// ```
    /// use tower_gateway::metrics::{Metrics, Registry};
    ///
    /// let registry = Registry::new();
    /// let layer = Metrics::layer(registry.clone());
    /// # let _ = layer;
    /// ```
    pub fn layer(registry: Registry) -> MetricsLayer {
        MetricsLayer::new(registry)
    }
}

impl<S> Metrics<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Metrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        self.registry.enter();
        let method = method_label(req.method());
        // Most requests reach this layer (outermost) with no extensions at all.
        let from_request = if req.extensions().is_empty() {
            None
        } else {
            FromRequest::of(req.extensions())
        };
        // Read before the inner call: the work an inner service does in `call` (routing, a
        // handler that answers at once) is part of the time to the headers.
        let at = self.clock.mono();
        ResponseFuture {
            inner: self.inner.call(req),
            start: Some(Start {
                registry: self.registry.clone(),
                clock: self.clock.clone(),
                at,
                method,
                from_request,
            }),
        }
    }
}

struct Start {
    registry: Registry,
    clock: Clock,
    /// The clock's monotonic reading at the call, in nanoseconds.
    at: u64,
    /// The `method` label (a standard method never allocates; others are `OTHER`).
    method: &'static str,
    /// The route and arm an outer Router or split put on the request.
    from_request: Option<FromRequest>,
}

/// The matched route and the canary arm found in the request's extensions, for a layer inside
/// a Router's target or a split's arm, whose responses do not carry them yet: put on the
/// response when it lacks them (as the access log reads them from the request), so that its
/// labels are read from the response alone, as always. Empty, and free, when the request
/// carried no extensions (the layer outermost, as in `Gateway`).
pub(super) struct FromRequest {
    #[cfg(feature = "router")]
    route: Option<crate::router::MatchedRoute>,
    #[cfg(feature = "canary")]
    arm: Option<crate::canary::Arm>,
}

impl FromRequest {
    /// The route and the arm on a request, if it carries either.
    #[cold]
    #[inline(never)]
    fn of(extensions: &http::Extensions) -> Option<Self> {
        let found = Self {
            #[cfg(feature = "router")]
            route: extensions.get::<crate::router::MatchedRoute>().cloned(),
            #[cfg(feature = "canary")]
            arm: extensions.get::<crate::canary::Arm>().cloned(),
        };
        #[cfg(feature = "router")]
        if found.route.is_some() {
            return Some(found);
        }
        #[cfg(feature = "canary")]
        if found.arm.is_some() {
            return Some(found);
        }
        let _ = (extensions, found);
        None
    }

    /// Puts the route and the arm on a response that lacks them.
    #[cold]
    #[inline(never)]
    fn fill(self, response: &mut http::Extensions) {
        #[cfg(feature = "router")]
        if let Some(route) = self.route {
            if response.get::<crate::router::MatchedRoute>().is_none() {
                response.insert(route);
            }
        }
        #[cfg(feature = "canary")]
        if let Some(arm) = self.arm {
            if response.get::<crate::canary::Arm>().is_none() {
                response.insert(arm);
            }
        }
        #[cfg(not(any(feature = "router", feature = "canary")))]
        let _ = response;
    }
}

pin_project! {
    /// Response future of [`Metrics`]. A failed inner service or a future dropped before the
    /// response counts in `gateway_requests_unanswered_total`.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        start: Option<Start>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(start) = this.project().start.take() {
                start.registry.no_response();
                start.registry.leave();
            }
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("done", &self.start.is_none())
            .finish()
    }
}

/// The labels of a response, read from the same extensions the access log reads: the
/// matched route, the canary arm and the refusal kind; with the route template's number
/// (`MatchedRoute::template_id`; 0 when no route matched) and the route's hint
/// (`MatchedRoute::metrics_hint`).
#[inline]
pub(super) fn labels_of<'a>(
    method: &'static str,
    res: &'a http::Extensions,
    status: u16,
) -> (u32, Option<&'a AtomicU64>, Labels<'a>) {
    // A lookup is skipped when the extensions already read are all there are.
    let len = res.len();
    #[cfg(feature = "router")]
    let matched = if len == 0 {
        None
    } else {
        res.get::<crate::router::MatchedRoute>()
    };
    #[cfg(feature = "router")]
    let (id, hint, route) = (
        matched.map_or(0, crate::router::MatchedRoute::template_id),
        matched.map(crate::router::MatchedRoute::metrics_hint),
        matched.map(crate::router::MatchedRoute::template),
    );
    #[cfg(not(feature = "router"))]
    let (id, hint, route) = (0, None, None);
    #[cfg(feature = "canary")]
    let arm = if len == usize::from(route.is_some()) {
        None
    } else {
        res.get::<crate::canary::Arm>()
    };
    #[cfg(feature = "canary")]
    let (arm, canary) = (
        arm.map(crate::canary::Arm::name),
        arm.is_some_and(crate::canary::Arm::is_canary),
    );
    #[cfg(not(feature = "canary"))]
    let (arm, canary) = (None, false);
    let refusal = if usize::from(route.is_some()) + usize::from(arm.is_some()) == len {
        None
    } else {
        Refusal::from_extensions(res)
    };
    (
        id,
        hint,
        Labels {
            route,
            method,
            status,
            arm,
            canary,
            refusal,
        },
    )
}

/// The place of the series of a response (see [`labels_of`]), found by its route's template
/// number (see [`Registry::series_by_route`]).
#[inline]
pub(super) fn series_of(
    registry: &Registry,
    method: &'static str,
    res: &http::Extensions,
    status: u16,
) -> Option<usize> {
    let (route, hint, labels) = labels_of(method, res, status);
    registry.series_by_route(route, hint, &labels)
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
        let Some(start) = this.start.take() else {
            // Polled after completion: a contract breach by the caller; answer nothing new.
            return Poll::Pending;
        };
        match result {
            Ok(mut response) => {
                let headers = start.clock.mono().saturating_sub(start.at);
                let status = response.status().as_u16();
                if let Some(from_request) = start.from_request {
                    from_request.fill(response.extensions_mut());
                }
                let series =
                    series_of(&start.registry, start.method, response.extensions(), status);
                let not_sent = start.method == "HEAD" || matches!(status, 100..=199 | 204 | 304);
                let pending = Pending {
                    registry: start.registry,
                    clock: start.clock,
                    series,
                    at: start.at,
                    headers,
                    not_sent,
                };
                Poll::Ready(Ok(response.map(|body| {
                    let ended = body.is_end_stream();
                    let mut body = ResponseBody {
                        inner: body,
                        pending: Some(pending),
                    };
                    if ended {
                        // Ended at the headers: the last byte is now too (no second clock read).
                        if let Some(p) = body.pending.take() {
                            let headers = p.headers;
                            p.record_at(headers, false);
                        }
                    }
                    body
                })))
            }
            Err(error) => {
                start.registry.no_response();
                start.registry.leave();
                Poll::Ready(Err(error))
            }
        }
    }
}

struct Pending {
    registry: Registry,
    clock: Clock,
    /// The series' slot; `None` when the table was full.
    series: Option<usize>,
    /// Monotonic reading at the call, and nanoseconds from it to the response headers.
    at: u64,
    headers: u64,
    not_sent: bool,
}

impl Pending {
    fn record(self, aborted: bool) {
        let last_byte = self.clock.mono().saturating_sub(self.at);
        self.record_at(last_byte, aborted);
    }

    /// Records with the last byte `last_byte` ns after the call.
    fn record_at(self, last_byte: u64, aborted: bool) {
        if let Some(at) = self.series {
            self.registry
                .record_ns(at, self.headers, last_byte, aborted);
        }
        self.registry.leave();
    }
}

pin_project! {
    /// Response body of [`Metrics`]: the inner body, unchanged. The request is recorded once,
    /// when the body yields its last frame, fails, or is dropped (then counted as aborted,
    /// unless it is a body servers never send: `HEAD`, `1xx`, `204`, `304`).
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        pending: Option<Pending>,
    }

    impl<B> PinnedDrop for ResponseBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(p) = this.project().pending.take() {
                let aborted = !p.not_sent;
                p.record(aborted);
            }
        }
    }
}

impl<B: http_body::Body> http_body::Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        let done = match &frame {
            Some(Ok(_)) => this.inner.is_end_stream(),
            Some(Err(_)) | None => true,
        };
        if done {
            if let Some(p) = this.pending.take() {
                p.record(false);
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
            .field("recorded", &self.pending.is_none())
            .finish()
    }
}
