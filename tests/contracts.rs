//! Cross-cutting audit: the engineering contracts every layer keeps (STYLE.md section 2,
//! DESIGN.md section 2), checked the same way for each of them: Router, CorsLayer,
//! OriginGuardLayer, CanaryLayer, AccessLogLayer, MetricsLayer (and Gateway where it applies).
//!
//! 1. layers are `Clone`; services are `Clone + Send + Sync` (futures `Send`) when the inner is;
//! 2. `Error = S::Error`: an inner error (from `call` or `poll_ready`) comes out as is;
//! 3. each drops into `axum::Router::layer`, `axum::Router::route_layer`, and is served by
//!    hyper through `TowerToHyperService`;
//! 4. readiness: single-inner layers forward the inner's `Pending` and errors; the Router and
//!    a canary split are always ready and drive the target's readiness inside the future;
//! 5. response bodies keep the inner body's `size_hint`, `is_end_stream` and trailers, and
//!    stream frame by frame;
//! 6. bad input never panics, through `Gateway::from_config` (the demo configuration) and
//!    through a stack of every layer (proptest).

#![cfg(all(
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log",
    feature = "metrics"
))]

mod common;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use bytes::Bytes;
use common::{body_text, Gated};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_gateway::access_log::LogFormat;
use tower_gateway::access_log::{AccessLogLayer, MemorySink};
use tower_gateway::canary::CanaryLayer;
use tower_gateway::metrics::{MetricsLayer, Registry};
use tower_gateway::router::Router;
use tower_gateway::{CorsLayer, OriginGuardLayer};

type Req = Full<Bytes>;

// ------------------------------------------------------------------ helpers

const APP: &str = "https://app.example";

fn cors() -> CorsLayer {
    CorsLayer::builder()
        .allow_origin(APP)
        .allow_methods(["GET", "POST", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .unwrap()
}

fn guard() -> OriginGuardLayer {
    OriginGuardLayer::builder()
        .trust_cors(&cors())
        .build()
        .unwrap()
}

fn log() -> AccessLogLayer {
    AccessLogLayer::new(MemorySink::new())
}

fn metrics() -> MetricsLayer {
    MetricsLayer::new(Registry::new())
}

fn get(uri: &str) -> Request<Req> {
    Request::get(uri)
        .header(http::header::HOST, "api.example")
        .body(Full::default())
        .unwrap()
}

/// A waker that does nothing: for polling by hand.
struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn noop_cx() -> Context<'static> {
    // A leaked waker lives for the whole test process: a handful of bytes per test.
    let waker: &'static Waker = Box::leak(Box::new(Waker::from(Arc::new(Noop))));
    Context::from_waker(waker)
}

/// Polls `svc` for readiness once, with a waker that does nothing.
fn ready<S: Service<Request<Req>>>(svc: &mut S) -> Poll<Result<(), S::Error>> {
    svc.poll_ready(&mut noop_cx())
}

/// An error type no layer knows: it can only come out of a layer unchanged.
#[derive(Clone, Debug, PartialEq)]
struct Boom(&'static str);

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Boom {}

/// A service whose `poll_ready` or `call` fails with [`Boom`].
#[derive(Clone)]
struct Failing {
    ready_fails: bool,
    calls: Arc<Mutex<usize>>,
}

impl Failing {
    fn on_ready() -> Self {
        Self {
            ready_fails: true,
            calls: Arc::default(),
        }
    }

    fn on_call() -> Self {
        Self {
            ready_fails: false,
            calls: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl<B> Service<Request<B>> for Failing {
    type Response = Response<Full<Bytes>>;
    type Error = Boom;
    type Future = std::future::Ready<Result<Self::Response, Boom>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Boom>> {
        if self.ready_fails {
            Poll::Ready(Err(Boom("not ready")))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        *self.calls.lock().unwrap() += 1;
        std::future::ready(Err(Boom("call failed")))
    }
}

/// A body of given data frames and optional trailers, with an exact `size_hint` and an exact
/// `is_end_stream` at every point.
#[derive(Clone, Debug)]
struct Chunks {
    data: VecDeque<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Chunks {
    fn new(data: &[&'static str], trailers: Option<(&'static str, &'static str)>) -> Self {
        Self {
            data: data
                .iter()
                .map(|d| Bytes::from_static(d.as_bytes()))
                .collect(),
            trailers: trailers.map(|(name, value)| {
                let mut map = HeaderMap::new();
                map.insert(name, HeaderValue::from_static(value));
                map
            }),
        }
    }
}

impl HttpBody for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(data) = self.data.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.iter().map(|d| d.len() as u64).sum())
    }
}

fn chunks_service(
    body: Chunks,
) -> impl Service<
    Request<Req>,
    Response = Response<Chunks>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + Sync
       + 'static {
    service_fn(move |_: Request<Req>| {
        let body = body.clone();
        async move { Ok::<_, Infallible>(Response::new(body)) }
    })
}

/// What a body looks like from outside, frame by frame.
#[derive(Debug, PartialEq)]
struct Seen {
    hint: (u64, Option<u64>),
    ended_at_start: bool,
    data: Vec<Bytes>,
    trailers: Option<HeaderMap>,
    ended_after: bool,
}

async fn see<B>(mut body: B) -> Seen
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    let hint = body.size_hint();
    let ended_at_start = body.is_end_stream();
    let (mut data, mut trailers) = (Vec::new(), None);
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        match frame.into_data() {
            Ok(d) => data.push(d),
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    Seen {
        hint: (hint.lower(), hint.upper()),
        ended_at_start,
        data,
        trailers,
        ended_after: body.is_end_stream(),
    }
}

/// The Router as a layer over `inner` (its fallback), with `inner` also a route target.
fn router_over<ReqB, S, ResB, E>(inner: S) -> Router<ReqB, ResB, E>
where
    ReqB: Send + 'static,
    S: Service<Request<ReqB>, Response = Response<ResB>, Error = E> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    ResB: 'static,
    E: 'static,
{
    Router::builder()
        .route("GET /routed/{id}", inner.clone())
        .build()
        .unwrap()
        .layer(inner)
}

/// Runs `$body` once for each single-inner layer wrapped around a fresh `$inner`, with `$svc`
/// the layered service and `$name` the layer's name.
macro_rules! each_single_inner_layer {
    ($inner:expr, |$name:ident, $svc:ident| $body:block) => {{
        {
            let $name = "cors";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = cors().layer($inner);
            $body
        }
        {
            let $name = "origin";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = guard().layer($inner);
            $body
        }
        {
            let $name = "access_log";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = log().layer($inner);
            $body
        }
        {
            let $name = "metrics";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = metrics().layer($inner);
            $body
        }
    }};
}

/// Runs `$body` for every layer: the single-inner ones, the Router (`$inner` as its fallback:
/// the request path is not in its table), and a canary split whose stable arm is `$inner`
/// (weight 0%).
macro_rules! each_layer {
    ($inner:expr, |$name:ident, $svc:ident| $body:block) => {{
        each_single_inner_layer!($inner, |$name, $svc| $body);
        {
            let $name = "router";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = router_over($inner);
            $body
        }
        {
            let $name = "canary";
            #[allow(unused_mut)] // some bodies only read it
            let mut $svc = CanaryLayer::new($inner, 0.0).unwrap().layer($inner);
            $body
        }
    }};
}

// ------------------------------------------------ 1. Clone + Send + Sync

#[test]
fn every_layer_is_clone_send_sync_and_every_service_too_when_the_inner_is() {
    fn layer<L: Clone + Send + Sync + 'static>(_: &L) {}
    fn service<S: Clone + Send + Sync + 'static>(_: &S) {}
    fn future<F: Send + 'static>(_: &F) {}

    layer(&cors());
    layer(&guard());
    layer(&log());
    layer(&metrics());
    let router: Router<Req, Full<Bytes>, Infallible> = Router::builder().build().unwrap();
    layer(&router);
    let canary = CanaryLayer::new(common::Named::new("v2"), 10.0).unwrap();
    layer(&canary);

    let inner = || common::Named::new("v1");
    each_layer!(inner(), |_name, svc| {
        service(&svc);
        let fut = svc.clone().oneshot(get("/x"));
        future(&fut);
        let response = svc.call(get("/x"));
        future(&response);
    });
}

/// axum's and hyper's request bodies are `Send` but not `Sync`: no layer's future needs more.
#[test]
fn every_layers_future_is_send_with_a_request_body_that_is_not_sync() {
    type Unsync = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;
    fn future<F: Send + 'static>(_: &F) {}
    let request = || Request::new(Unsync::default());
    let inner = || common::Named::new("v1");
    each_layer!(inner(), |_name, svc| {
        let response = svc.call(request());
        future(&response);
    });
}

#[tokio::test]
async fn every_layers_response_and_body_are_send_and_static() {
    fn sendable<T: Send + 'static>(_: &T) {}
    let inner = || common::Named::new("v1");
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        sendable(&response);
        assert_eq!(body_text(response.into_body()).await, "v1", "{name}");
    });
}

// ------------------------------------------------ 2. Error = S::Error

#[tokio::test]
async fn an_inner_call_error_comes_out_of_every_layer_as_is() {
    each_layer!(Failing::on_call(), |name, svc| {
        // `Result<_, Boom>`: the layer's error type is the inner's, by construction.
        let result: Result<_, Boom> = svc.oneshot(get("/x")).await;
        assert_eq!(
            result.err(),
            Some(Boom("call failed")),
            "{name}: never a response, never another error"
        );
    });
}

#[tokio::test]
async fn an_inner_error_on_a_cross_origin_request_comes_out_of_every_layer_as_is() {
    // The layers' busiest paths: an allowed CORS request, a trusted cross-origin write.
    let post = || {
        Request::post("/x")
            .header("host", "api.example")
            .header("origin", APP)
            .header("sec-fetch-site", "cross-site")
            .body(Req::default())
            .unwrap()
    };
    each_layer!(Failing::on_call(), |name, svc| {
        let result: Result<_, Boom> = svc.oneshot(post()).await;
        assert_eq!(result.err(), Some(Boom("call failed")), "{name}");
    });
}

#[tokio::test]
async fn an_inner_poll_ready_error_comes_out_of_every_layer_as_is() {
    // Single-inner layers: from their own `poll_ready`, and the inner is never called.
    each_single_inner_layer!(Failing::on_ready(), |name, svc| {
        let ready = ready(&mut svc);
        assert_eq!(ready, Poll::Ready(Err(Boom("not ready"))), "{name}");
    });

    // The Router and a split: ready themselves; the error comes out of the response future.
    let inner = Failing::on_ready();
    let mut router = router_over(inner.clone());
    assert_eq!(ready(&mut router), Poll::Ready(Ok(())));
    for path in ["/x", "/routed/1"] {
        let result: Result<_, Boom> = router.clone().oneshot(get(path)).await;
        assert_eq!(result.err(), Some(Boom("not ready")), "router {path}");
    }
    let mut split = CanaryLayer::new(Failing::on_ready(), 0.0)
        .unwrap()
        .layer(inner.clone());
    assert_eq!(ready(&mut split), Poll::Ready(Ok(())));
    let result: Result<_, Boom> = split.oneshot(get("/x")).await;
    assert_eq!(result.err(), Some(Boom("not ready")), "canary");
    assert_eq!(
        inner.calls(),
        0,
        "a service that was not ready is never called"
    );
}

// ------------------------------------------------ 4. readiness

#[tokio::test]
async fn single_inner_layers_forward_the_inners_backpressure() {
    each_single_inner_layer!(Gated::default(), |name, svc| {
        let gate = svc.get_ref().clone();
        assert!(
            ready(&mut svc).is_pending(),
            "{name}: a Pending inner makes the layer Pending"
        );
        gate.open();
        assert_eq!(ready(&mut svc), Poll::Ready(Ok(())), "{name}");
        let response = svc.call(get("/x")).await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "open", "{name}");
    });
}

#[tokio::test]
async fn the_router_and_a_split_are_always_ready_and_ready_the_target_in_the_future() {
    let gate = Gated::default();
    let mut router = router_over(gate.clone());
    let mut split = CanaryLayer::new(Gated::default(), 0.0)
        .unwrap()
        .layer(gate.clone());
    assert_eq!(ready(&mut router), Poll::Ready(Ok(())));
    assert_eq!(ready(&mut split), Poll::Ready(Ok(())));

    let mut fallback = Box::pin(router.call(get("/x")));
    let mut routed = Box::pin(router.call(get("/routed/1")));
    let mut stable = Box::pin(split.call(get("/x")));
    assert!(fallback.as_mut().poll(&mut noop_cx()).is_pending());
    assert!(routed.as_mut().poll(&mut noop_cx()).is_pending());
    assert!(stable.as_mut().poll(&mut noop_cx()).is_pending());

    gate.open();
    for future in [fallback, routed] {
        let response = future.await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "open");
    }
    let response = stable.await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "open");
}

// ------------------------------------------------ 5. bodies

#[tokio::test]
async fn every_layer_keeps_the_inner_bodys_size_hint_end_and_trailers() {
    let expected = Seen {
        hint: (5, Some(5)),
        ended_at_start: false,
        data: vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")],
        trailers: Some({
            let mut t = HeaderMap::new();
            t.insert("grpc-status", HeaderValue::from_static("0"));
            t
        }),
        ended_after: true,
    };
    let inner = || chunks_service(Chunks::new(&["abc", "de"], Some(("grpc-status", "0"))));
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        assert_eq!(see(response.into_body()).await, expected, "{name}");
    });
}

#[tokio::test]
async fn every_layer_keeps_an_empty_body_ended_at_the_headers() {
    let expected = Seen {
        hint: (0, Some(0)),
        ended_at_start: true,
        data: vec![],
        trailers: None,
        ended_after: true,
    };
    let inner = || chunks_service(Chunks::new(&[], None));
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        assert_eq!(see(response.into_body()).await, expected, "{name}");
    });
}

#[tokio::test]
async fn every_layer_keeps_a_trailers_only_body() {
    let inner = || chunks_service(Chunks::new(&[], Some(("grpc-status", "7"))));
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        let seen = see(response.into_body()).await;
        assert!(!seen.ended_at_start, "{name}: trailers are still to come");
        assert_eq!(
            seen.trailers.as_ref().map(|t| t["grpc-status"].clone()),
            Some(HeaderValue::from_static("7")),
            "{name}"
        );
    });
}

/// A body fed frame by frame through a channel: whoever reads it gets each frame as it is sent.
struct Channel {
    frames: tokio::sync::mpsc::UnboundedReceiver<Frame<Bytes>>,
}

impl HttpBody for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.frames.poll_recv(cx).map(|frame| frame.map(Ok))
    }
}

#[tokio::test]
async fn every_layer_streams_the_body_frame_by_frame() {
    type Feed = tokio::sync::mpsc::UnboundedSender<Frame<Bytes>>;
    let feeds: Arc<Mutex<Vec<Feed>>> = Arc::default();
    let inner = || {
        let feeds = Arc::clone(&feeds);
        service_fn(move |_: Request<Req>| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            feeds.lock().unwrap().push(tx);
            async move { Ok::<_, Infallible>(Response::new(Channel { frames: rx })) }
        })
    };
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        let feed = feeds.lock().unwrap().pop().expect("the inner was called");
        let mut body = Box::pin(response.into_body());
        assert!(
            body.as_mut().poll_frame(&mut noop_cx()).is_pending(),
            "{name}: nothing sent yet"
        );
        feed.send(Frame::data(Bytes::from_static(b"first")))
            .unwrap();
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "first", "{name}");
        assert!(
            body.as_mut().poll_frame(&mut noop_cx()).is_pending(),
            "{name}: the first frame came out before the second exists"
        );
        let mut trailers = HeaderMap::new();
        trailers.insert("x-done", HeaderValue::from_static("yes"));
        feed.send(Frame::data(Bytes::from_static(b"second")))
            .unwrap();
        feed.send(Frame::trailers(trailers)).unwrap();
        drop(feed);
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "second", "{name}");
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(
            frame.into_trailers().unwrap()["x-done"],
            "yes",
            "{name}: trailers pass through"
        );
        assert!(body.frame().await.is_none(), "{name}");
    });
}

// ------------------------------------------------ 3. axum and hyper

fn axum_get(uri: &str) -> Request<axum::body::Body> {
    Request::get(uri)
        .header("host", "api.example")
        .header("origin", APP)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// An axum app with one route, `/x`, answering `axum`.
fn axum_app() -> axum::Router {
    axum::Router::new().route("/x", axum::routing::get(|| async { "axum" }))
}

fn axum_reply(
    text: &'static str,
) -> impl Service<
    Request<axum::body::Body>,
    Response = Response<axum::body::Body>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + Sync
       + 'static {
    service_fn(move |_: Request<axum::body::Body>| async move {
        Ok::<_, Infallible>(Response::new(axum::body::Body::from(text)))
    })
}

fn axum_table() -> Router<axum::body::Body, axum::body::Body, Infallible> {
    Router::builder()
        .route("GET /routed/{id}", axum_reply("routed"))
        .build()
        .unwrap()
}

/// Each layer through `axum::Router::layer` and `axum::Router::route_layer`: the app's route
/// is answered through the layer, and the layer's own answer (when it has one) too.
#[tokio::test]
async fn every_layer_drops_into_axum_layer_and_route_layer() {
    async fn answer(app: axum::Router, uri: &str) -> (StatusCode, HeaderMap, String) {
        let response = app.oneshot(axum_get(uri)).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body_text(body).await)
    }
    let canary = || CanaryLayer::new(axum_reply("canary"), 100.0).unwrap();

    for route_layer in [false, true] {
        let apply = |app: axum::Router, name: &str| -> axum::Router {
            match (name, route_layer) {
                ("cors", false) => app.layer(cors()),
                ("cors", true) => app.route_layer(cors()),
                ("origin", false) => app.layer(guard()),
                ("origin", true) => app.route_layer(guard()),
                ("access_log", false) => app.layer(log()),
                ("access_log", true) => app.route_layer(log()),
                ("metrics", false) => app.layer(metrics()),
                ("metrics", true) => app.route_layer(metrics()),
                ("router", false) => app.layer(axum_table()),
                ("router", true) => app.route_layer(axum_table()),
                ("canary", false) => app.layer(canary()),
                ("canary", true) => app.route_layer(canary()),
                _ => unreachable!(),
            }
        };
        for name in [
            "cors",
            "origin",
            "access_log",
            "metrics",
            "router",
            "canary",
        ] {
            let how = if route_layer { "route_layer" } else { "layer" };
            let app = apply(axum_app(), name);
            let (status, headers, body) = answer(app.clone(), "/x").await;
            assert_eq!(status, StatusCode::OK, "{name} via {how}");
            let expected = if name == "canary" { "canary" } else { "axum" };
            assert_eq!(body, expected, "{name} via {how}");
            if name == "cors" {
                assert_eq!(headers["access-control-allow-origin"], APP, "{how}");
            }
            if name == "router" {
                // The table answers its own routes wherever axum put it: `route_layer` runs
                // only for requests that matched one of axum's routes.
                let (status, _, body) = answer(app.clone(), "/routed/1").await;
                if route_layer {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{how}");
                } else {
                    assert_eq!((status, body.as_str()), (StatusCode::OK, "routed"), "{how}");
                }
            }
        }
    }
}

/// Serves `svc` with hyper through `TowerToHyperService` over an in-memory pipe (real HTTP/1
/// bytes, no socket) and sends it `request` alone.
async fn over_http1_once<S, B>(
    svc: S,
    request: Request<Full<Bytes>>,
) -> (StatusCode, HeaderMap, String)
where
    S: Service<Request<hyper::body::Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut answers = common::over_http1(svc, vec![request]).await;
    assert_eq!(answers.len(), 1);
    answers.remove(0)
}

fn hyper_reply(
    text: &'static str,
) -> impl Service<
    Request<hyper::body::Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send + 'static,
> + Clone
       + Send
       + Sync
       + 'static {
    service_fn(move |_: Request<hyper::body::Incoming>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            text.as_bytes(),
        ))))
    })
}

#[tokio::test]
async fn every_layer_is_served_by_hyper_through_tower_to_hyper_service() {
    let request = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "api.example")
            .header("origin", APP)
            .body(Full::default())
            .unwrap()
    };
    let inner = || hyper_reply("inner");

    let (status, headers, body) =
        over_http1_once(cors().layer(inner()), request("GET", "/x")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "inner"));
    assert_eq!(headers["access-control-allow-origin"], APP);
    let preflight = Request::options("/x")
        .header("host", "api.example")
        .header("origin", APP)
        .header("access-control-request-method", "PUT")
        .body(Full::default())
        .unwrap();
    let (status, headers, body) = over_http1_once(cors().layer(inner()), preflight).await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    assert_eq!(headers["access-control-allow-methods"], "PUT");

    let (status, _, body) = over_http1_once(guard().layer(inner()), request("POST", "/x")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "inner"));
    let evil = Request::post("/x")
        .header("host", "api.example")
        .header("origin", "https://evil.example")
        .body(Full::default())
        .unwrap();
    let (status, _, _) = over_http1_once(guard().layer(inner()), evil).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let sink = MemorySink::new();
    let (status, _, body) = over_http1_once(
        AccessLogLayer::new(sink.clone()).layer(inner()),
        request("GET", "/x"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "inner"));
    assert_eq!(
        sink.len(),
        1,
        "one record, written when hyper sent the body"
    );

    let registry = Registry::new();
    let (status, _, body) = over_http1_once(
        MetricsLayer::new(registry.clone()).layer(inner()),
        request("GET", "/x"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "inner"));
    let text = registry.render();
    assert!(text.contains("status=\"200\""), "{text}");

    let (status, _, body) =
        over_http1_once(router_over(inner()), request("GET", "/routed/1")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "inner"));
    let (status, headers, _) =
        over_http1_once(router_over(inner()), request("PUT", "/routed/1")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, HEAD");

    let split = CanaryLayer::new(hyper_reply("canary"), 100.0)
        .unwrap()
        .layer(inner());
    let (status, _, body) = over_http1_once(split, request("GET", "/x")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "canary"));
}

// ------------------------------------------------ the Gateway's body and readiness

#[cfg(feature = "gateway")]
fn one_route_gateway<S, ResB>(target: S) -> tower_gateway::Gateway<Req>
where
    S: Service<Request<Req>, Response = Response<ResB>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<tower_gateway::gateway::BoxError>,
    ResB: HttpBody<Data = Bytes> + Send + 'static,
    ResB::Error: Into<tower_gateway::gateway::BoxError>,
{
    use tower_gateway::gateway::{GatewayConfig, Services};
    let config: GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/x"
        service = "target"

        [cors]
        allow_origins = ["https://app.example"]

        [access_log]
        format = "common"
        sink = "discard"

        [metrics]
        "#,
    )
    .unwrap();
    tower_gateway::Gateway::from_config(config, Services::new().service("target", target)).unwrap()
}

#[cfg(feature = "gateway")]
#[tokio::test]
async fn the_gateway_keeps_the_targets_size_hint_end_and_trailers() {
    let gateway = one_route_gateway(chunks_service(Chunks::new(
        &["abc", "de"],
        Some(("grpc-status", "0")),
    )));
    let response = gateway.oneshot(get("/x")).await.unwrap();
    let seen = see(response.into_body()).await;
    assert_eq!(seen.hint, (5, Some(5)));
    assert!(!seen.ended_at_start);
    assert_eq!(seen.data, ["abc", "de"]);
    assert_eq!(seen.trailers.unwrap()["grpc-status"], "0");
    assert!(seen.ended_after);

    let gateway = one_route_gateway(chunks_service(Chunks::new(&[], None)));
    let response = gateway.oneshot(get("/x")).await.unwrap();
    let seen = see(response.into_body()).await;
    assert_eq!((seen.hint, seen.ended_at_start), ((0, Some(0)), true));
}

#[cfg(feature = "gateway")]
#[tokio::test]
async fn the_gateway_streams_the_targets_body_frame_by_frame() {
    type Feed = tokio::sync::mpsc::UnboundedSender<Frame<Bytes>>;
    let feeds: Arc<Mutex<Vec<Feed>>> = Arc::default();
    let target = {
        let feeds = Arc::clone(&feeds);
        service_fn(move |_: Request<Req>| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            feeds.lock().unwrap().push(tx);
            async move { Ok::<_, Infallible>(Response::new(Channel { frames: rx })) }
        })
    };
    let gateway = one_route_gateway(target);
    let response = gateway.oneshot(get("/x")).await.unwrap();
    let feed = feeds.lock().unwrap().pop().expect("the target was called");
    let mut body = Box::pin(response.into_body());
    assert!(body.as_mut().poll_frame(&mut noop_cx()).is_pending());
    feed.send(Frame::data(Bytes::from_static(b"first")))
        .unwrap();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "first");
    assert!(body.as_mut().poll_frame(&mut noop_cx()).is_pending());
    drop(feed);
    assert!(body.frame().await.is_none());
}

#[cfg(feature = "gateway")]
#[tokio::test]
async fn the_gateway_is_ready_and_answers_a_targets_readiness_error_with_a_500() {
    use tower_gateway::gateway::TargetError;
    let target = Failing::on_ready();
    let mut gateway = one_route_gateway(target.clone());
    assert_eq!(ready(&mut gateway), Poll::Ready(Ok(())));
    let response = gateway.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response
            .extensions()
            .get::<TargetError>()
            .unwrap()
            .message(),
        "not ready"
    );
    assert_eq!(target.calls(), 0);
}

// ------------------------------------------------ 7. the README's examples

/// The README's TOML excerpt of the demo file is a configuration that parses and builds (with
/// the services it names), and answers as its comments say.
#[cfg(all(feature = "gateway", feature = "upstream"))]
#[tokio::test]
async fn the_readmes_toml_example_builds_and_answers_as_described() {
    use tower_gateway::gateway::{GatewayConfig, Services};
    let readme = include_str!("../README.md");
    let start = readme.find("```toml\n").expect("a TOML block") + "```toml\n".len();
    let text = &readme[start..];
    let text = &text[..text.find("```").expect("the block ends")];
    let mut config: GatewayConfig = toml::from_str(text).expect("the README's TOML parses");
    assert_eq!(config.routes.len(), 2);
    let pets = &config.routes[0];
    assert_eq!(
        (pets.name.as_deref(), pets.path.as_str()),
        (Some("get-pet"), "/pets/{id}")
    );
    // Quiet in tests: the same file with the lines discarded.
    config
        .access_log
        .as_mut()
        .expect("an access_log section")
        .sink = "discard".to_owned();
    let services = Services::<Req>::new()
        .service("pets-v1", common::Named::new("v1"))
        .service("pets-v2", common::Named::new("v2"));
    let gateway = tower_gateway::Gateway::from_config(config, services)
        .expect("the README's configuration builds");

    // `/pets/{id}`: v1, or v2 for about 1 call in 10.
    let mut v2 = 0;
    for _ in 0..200 {
        let response = gateway.clone().oneshot(get("/pets/42")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        if body_text(response.into_body()).await == "v2" {
            v2 += 1;
        }
    }
    assert!(
        (1..=60).contains(&v2),
        "{v2} of 200 calls went to the canary"
    );
    // `methods = ["GET"]`: a PUT is refused with the route's methods.
    let put = Request::put("/pets/42")
        .header("host", "api.example")
        .body(Req::default())
        .unwrap();
    let response = gateway.clone().oneshot(put).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    // CORS: any localhost port.
    let from_localhost = Request::get("/pets/42")
        .header("host", "api.example")
        .header("origin", "http://localhost:5173")
        .body(Req::default())
        .unwrap();
    let response = gateway.oneshot(from_localhost).await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
}

/// A body that yields one data frame, then fails with [`Boom`].
#[derive(Clone, Default)]
struct BrokenBody {
    sent: bool,
}

impl HttpBody for BrokenBody {
    type Data = Bytes;
    type Error = Boom;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Boom>>> {
        if self.sent {
            return Poll::Ready(Some(Err(Boom("body failed"))));
        }
        self.sent = true;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"part")))))
    }
}

#[tokio::test]
async fn a_body_error_comes_out_of_every_layers_body_as_is() {
    let inner = || {
        service_fn(|_: Request<Req>| async {
            Ok::<_, Infallible>(Response::new(BrokenBody::default()))
        })
    };
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(get("/x")).await.unwrap();
        let mut body = Box::pin(response.into_body());
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "part", "{name}");
        // `Result<_, Boom>`: the body's error type is the inner body's.
        let error: Option<Result<Frame<Bytes>, Boom>> = body.frame().await;
        assert_eq!(
            error.map(|r| r.err()),
            Some(Some(Boom("body failed"))),
            "{name}"
        );
    });
}

/// A request extension a server adds (hyper's upgrade handle, axum's `ConnectInfo`), and a
/// response extension a handler adds.
#[derive(Clone, Debug, PartialEq)]
struct Marker(&'static str);

#[tokio::test]
async fn every_layer_keeps_the_request_and_response_extensions() {
    let inner = || {
        service_fn(|req: Request<Req>| async move {
            let seen = req.extensions().get::<Marker>().cloned();
            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
            response.extensions_mut().insert(Marker("from the handler"));
            response.extensions_mut().insert(seen.map(|m| m.0));
            Ok::<_, Infallible>(response)
        })
    };
    let request = || {
        let mut request = get("/x");
        request.extensions_mut().insert(Marker("from the server"));
        request
    };
    each_layer!(inner(), |name, svc| {
        let response = svc.oneshot(request()).await.unwrap();
        assert_eq!(
            response.extensions().get::<Option<&'static str>>(),
            Some(&Some("from the server")),
            "{name}: the inner service sees the request's extensions"
        );
        assert_eq!(
            response.extensions().get::<Marker>(),
            Some(&Marker("from the handler")),
            "{name}: the handler's response extensions come out"
        );
    });
}

/// The README's and the demo's `curl` lines, against the shipped `examples/gateway.toml` (its
/// HTTP upstream a loopback echo server of this test's own; the access log kept in memory).
#[cfg(all(feature = "gateway", feature = "upstream"))]
#[tokio::test]
async fn the_demo_configuration_answers_as_the_readme_and_the_demo_say() {
    use tower_gateway::canary::Arm;
    use tower_gateway::gateway::{GatewayConfig, Services};
    use tower_gateway::router::MatchedRoute;

    let upstream = common::listen(|stream, _| async move {
        let echo = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(req.uri().to_string()))))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), echo)
            .await;
    })
    .await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("127.0.0.1:3901", &upstream.to_string());
    let mut config: GatewayConfig = toml::from_str(&text).unwrap();
    config.access_log.as_mut().unwrap().sink = "code".to_owned();
    let sink = MemorySink::new();
    let services = Services::<Req>::new()
        .service("pets-v1", common::Named::new("v1"))
        .service("pets-v2", common::Named::new("v2"))
        .service("legacy", common::Named::new("legacy"))
        .access_log_sink(sink.clone());
    let gateway = tower_gateway::Gateway::from_config(config, services).unwrap();
    let send = |request: Request<Req>| {
        let gateway = gateway.clone();
        async move {
            let response = gateway.oneshot(request).await.unwrap();
            let route = response
                .extensions()
                .get::<MatchedRoute>()
                .map(|m| m.key().to_owned());
            let arm = response
                .extensions()
                .get::<Arm>()
                .map(|a| a.name().to_owned());
            let (parts, body) = response.into_parts();
            (
                parts.status,
                parts.headers,
                body_text(body).await,
                route,
                arm,
            )
        }
    };
    let with = |method: &str, uri: &str, headers: &[(&str, &str)]| {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "127.0.0.1:3000");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(Req::default()).unwrap()
    };

    // curl -i http://127.0.0.1:3000/pets/42   # v1, or the v2 canary 1 call in 10
    let (status, headers, body, route, arm) = send(with("GET", "/pets/42", &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(route.as_deref(), Some("GET /pets/{id}"));
    assert_eq!(arm.as_deref(), Some(body.as_str()), "the arm that served");
    assert_eq!(headers["x-canary-arm"], body.as_str());
    // curl -i -H 'x-canary: always' .../pets/42   # force the canary
    let (_, _, body, ..) = send(with("GET", "/pets/42", &[("x-canary", "always")])).await;
    assert_eq!(body, "v2");
    // curl -i .../pets/dog/1   # the static route wins
    let (_, _, _, route, _) = send(with("GET", "/pets/dog/1", &[])).await;
    assert_eq!(route.as_deref(), Some("GET /pets/dog/1"));
    // curl -i -X DELETE .../pets/42   # 405 with Allow: GET, HEAD
    let (status, headers, ..) = send(with("DELETE", "/pets/42", &[])).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "GET, HEAD");
    // curl -i '.../inventory/items?color=red'   # proxied, /inventory stripped, /v1 prepended
    let (status, _, body, ..) = send(with("GET", "/inventory/items?color=red", &[])).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "/v1/items?color=red")
    );
    // curl -i .../anything/else   # falls through to the legacy app
    let (status, _, body, route, _) = send(with("GET", "/anything/else", &[])).await;
    assert_eq!(
        (status, body.as_str(), route),
        (StatusCode::OK, "legacy", None)
    );
    // The preflight from a localhost page.
    let (status, headers, ..) = send(with(
        "OPTIONS",
        "/pets",
        &[
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "POST"),
        ],
    ))
    .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    // curl -i -X POST -H 'Origin: https://evil.example' .../pets   # 403
    let (status, headers, ..) =
        send(with("POST", "/pets", &[("origin", "https://evil.example")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get("access-control-allow-origin").is_none());
    // curl -s .../metrics   # Prometheus text
    let (status, headers, body, ..) = send(with("GET", "/metrics", &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(
        body.contains("gateway_requests_total{route=\"/pets/{id}\""),
        "{body}"
    );
    // A plain GET to the WebSocket route: 426.
    let (status, headers, ..) = send(with("GET", "/ws", &[])).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(headers["upgrade"], "websocket");

    // One combined line per request, then the route and the arm.
    let lines = sink.lines();
    assert_eq!(lines.len(), 10, "{lines:#?}");
    assert!(
        lines[0].contains("\"GET /pets/42 HTTP/1.1\" 200 2 "),
        "{lines:#?}"
    );
    assert!(
        lines[0].ends_with("route=\"GET /pets/{id}\" arm=v1")
            || lines[0].ends_with("route=\"GET /pets/{id}\" arm=v2"),
        "{lines:#?}"
    );
    assert!(
        lines[5].contains(" 200 6 ") && lines[5].ends_with("route=\"-\" arm=-"),
        "{lines:#?}"
    );
}

/// The demo's gateway served by hyper (with upgrades) through `TowerToHyperService`: a routed
/// call, and a WebSocket handshake whose backend is down (a loopback port with nothing
/// listening), which the WebSocket upstream answers `502`, as documented.
#[cfg(all(feature = "gateway", feature = "upstream"))]
#[tokio::test]
async fn the_demo_gateway_over_http1_answers_a_handshake_to_a_dead_backend_with_502() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tower_gateway::gateway::{GatewayConfig, Services};

    let (_refusing, dead) = common::refusing_addr();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("127.0.0.1:3901", &dead.to_string())
        .replace("127.0.0.1:3902", &dead.to_string());
    let mut config: GatewayConfig = toml::from_str(&text).unwrap();
    config.access_log.as_mut().unwrap().sink = "discard".to_owned();
    let services = Services::<hyper::body::Incoming>::new()
        .service("pets-v1", hyper_reply("v1"))
        .service("pets-v2", hyper_reply("v2"))
        .service("legacy", hyper_reply("legacy"));
    let gateway = tower_gateway::Gateway::from_config(config, services).unwrap();

    let (mut client, server_io) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_io), TowerToHyperService::new(gateway))
            .with_upgrades()
            .await
    });
    client
        .write_all(
            b"GET /ws HTTP/1.1\r\nhost: 127.0.0.1:3000\r\nupgrade: websocket\r\n\
              connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              sec-websocket-version: 13\r\n\r\n\
              GET /pets/42 HTTP/1.1\r\nhost: 127.0.0.1:3000\r\nx-canary: never\r\n\
              connection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        client.read_to_end(&mut raw),
    )
    .await
    .expect("the server answers both and closes")
    .unwrap();
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{raw}");
    let second = raw.find("HTTP/1.1 200 OK\r\n").expect("the routed call");
    assert!(raw[second..].ends_with("v1"), "{raw}");
    server.await.unwrap().unwrap();
}

// ---- edge cases (audit, session 6): audit_c.rs

#[test]
fn public_types_are_clone_send_sync() {
    use tower_gateway::access_log::{AccessLog, NonBlocking, RequestId, Sink, TraceId};
    use tower_gateway::canary::{Arm, CanaryHandle, CanaryLayer, CanarySplit, Mode, Weight};
    use tower_gateway::metrics::{Metrics, MetricsConfig, MetricsLayer, MetricsService, Registry};
    fn check<T: Clone + Send + Sync + 'static>() {}
    type Svc =
        tower::util::BoxCloneSyncService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible>;
    check::<AccessLogLayer>();
    check::<AccessLog<Svc>>();
    check::<LogFormat>();
    check::<MemorySink>();
    check::<NonBlocking>();
    check::<Sink>();
    check::<RequestId>();
    check::<TraceId>();
    check::<CanaryLayer<Svc>>();
    check::<CanarySplit<Svc, Svc>>();
    check::<CanaryHandle>();
    check::<Weight>();
    check::<Arm>();
    check::<Mode>();
    check::<Registry>();
    check::<MetricsLayer>();
    check::<Metrics<Svc>>();
    check::<MetricsService>();
    check::<MetricsConfig>();
}
