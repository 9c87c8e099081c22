//! Compatibility with the tower ecosystem, as a tower-http/axum user combines things: every
//! public layer and service in `ServiceBuilder` chains with tower's and tower-http's own
//! layers (in both orders), boxed with tower's boxes, mounted in axum 0.8, served by hyper 1
//! (HTTP/1 and HTTP/2), over the usual request and response body types.
//!
//! Most of these tests are about what *compiles*: each spells a combination the way a user
//! would write it, then checks that it also behaves.

#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::body_text;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};
use tower::layer::util::{Identity, Stack};
use tower::util::{BoxCloneService, BoxCloneSyncService, BoxService};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
use tower_gateway::canary::{Arm, CanaryLayer};
use tower_gateway::metrics::{MetricsLayer, Registry};
use tower_gateway::router::MatchedRoute;
use tower_gateway::{CorsLayer, OriginGuardLayer, Router};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const APP: &str = "https://app.example.com";

fn cors() -> CorsLayer {
    CorsLayer::builder()
        .allow_origin(APP)
        .allow_methods(["GET", "POST"])
        .build()
        .unwrap()
}

fn guard(cors: &CorsLayer) -> OriginGuardLayer {
    OriginGuardLayer::builder()
        .trust_cors(cors)
        .build()
        .unwrap()
}

/// The layers of `outer_layers`, innermost first.
type OuterLayers =
    Stack<OriginGuardLayer, Stack<CorsLayer, Stack<AccessLogLayer, Stack<MetricsLayer, Identity>>>>;

/// Metrics, an access log to a fresh sink, the CORS policy and a guard that trusts it: the
/// outer layers most stacks here start with, outermost first.
fn outer_layers() -> ServiceBuilder<OuterLayers> {
    let cors = cors();
    ServiceBuilder::new()
        .layer(MetricsLayer::new(Registry::new()))
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
}

/// A service answering `text` for any request body type.
#[derive(Clone, Debug)]
struct Reply(&'static str);

impl<B> Service<Request<B>> for Reply {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(
            self.0.as_bytes(),
        )))))
    }
}

/// A request body that is `Send` but not `Sync` (hyper's own `Incoming` is both; a user's
/// streaming body often is not `Sync`).
struct NotSync {
    inner: Full<Bytes>,
    _not_sync: PhantomData<Cell<()>>,
}

impl NotSync {
    fn new(text: &'static str) -> Self {
        Self {
            inner: Full::new(Bytes::from_static(text.as_bytes())),
            _not_sync: PhantomData,
        }
    }
}

impl http_body::Body for NotSync {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
}

fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>(_: &T) {}

fn assert_send_future<S, R>(service: &mut S, request: R)
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    drop(service.call(request));
}

fn get<B: Default>(uri: &str) -> Request<B> {
    Request::get(uri).body(B::default()).unwrap()
}

fn cross_origin_post<B: Default>(uri: &str, origin: &str) -> Request<B> {
    Request::post(uri)
        .header(header::HOST, "api.example.com")
        .header(header::ORIGIN, origin)
        .body(B::default())
        .unwrap()
}

fn table<B: Send + 'static>() -> Router<B, Full<Bytes>, Infallible> {
    Router::builder()
        .route("GET /pets/{id}", Reply("a pet"))
        .route("POST /pets", Reply("created"))
        .build()
        .unwrap()
}

// ---- tower::ServiceBuilder with tower's own layers, in every order ----

#[tokio::test]
async fn tower_layers_outside_ours() {
    let svc = ServiceBuilder::new()
        .layer(tower::buffer::BufferLayer::new(16))
        .layer(tower::limit::ConcurrencyLimitLayer::new(4))
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .map_request(|mut r: Request<Full<Bytes>>| {
            r.headers_mut()
                .insert("x-mapped", HeaderValue::from_static("1"));
            r
        })
        .map_response(|mut r: Response<_>| {
            r.headers_mut()
                .insert("x-after", HeaderValue::from_static("1"));
            r
        })
        .layer(outer_layers())
        .layer(table())
        .service(Reply("app"));
    assert_clone_send_sync(&svc);

    let ok = svc.clone().oneshot(get("/pets/1")).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-after"], "1");
    assert_eq!(body_text(ok.into_body()).await, "a pet");
    let refused = svc
        .clone()
        .oneshot(cross_origin_post("/pets", "https://evil.example"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let app = svc.oneshot(get("/about")).await.unwrap();
    assert_eq!(body_text(app.into_body()).await, "app");
}

#[tokio::test]
async fn tower_layers_inside_ours() {
    // Timeout / Buffer turn the error into `BoxError`: our layers keep it as it is, so the
    // Router's targets share that error type.
    let cors = cors();
    let boxed_err = |text: &'static str| {
        ServiceBuilder::new()
            .map_err(|e: Infallible| -> BoxError { match e {} })
            .service(Reply(text))
    };
    let router: Router<Full<Bytes>, Full<Bytes>, BoxError> = Router::builder()
        .route("GET /pets/{id}", boxed_err("a pet"))
        .route(
            "GET /slow",
            ServiceBuilder::new()
                .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(10)))
                .service(service_fn(|_: Request<Full<Bytes>>| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok::<_, Infallible>(Response::new(Full::default()))
                })),
        )
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(MetricsLayer::new(Registry::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
        .layer(router)
        .layer(tower::buffer::BufferLayer::new(8))
        .layer(tower::limit::ConcurrencyLimitLayer::new(2))
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .layer(tower::util::MapRequestLayer::new(
            |r: Request<Full<Bytes>>| r,
        ))
        .layer(tower::util::MapResponseLayer::new(
            |r: Response<Full<Bytes>>| r,
        ))
        .service(Reply("app"));
    assert_clone_send_sync(&svc);
    let ok = svc.clone().oneshot(get("/pets/3")).await.unwrap();
    assert_eq!(body_text(ok.into_body()).await, "a pet");
    let app = svc.clone().oneshot(get("/elsewhere")).await.unwrap();
    assert_eq!(body_text(app.into_body()).await, "app");
    // A target's error passes through every layer untouched.
    let err = svc.oneshot(get("/slow")).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
}

#[tokio::test]
async fn canary_layer_with_tower_layers_both_sides() {
    let split = ServiceBuilder::new()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .layer(CanaryLayer::new(Reply("v2"), 100).unwrap())
        .layer(tower::limit::ConcurrencyLimitLayer::new(4))
        .service(Reply("v1"));
    let response = split.clone().oneshot(get::<()>("/")).await.unwrap();
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "canary");
    assert_eq!(body_text(response.into_body()).await, "v2");

    // A buffered canary arm (`Buffer` is `Clone`, the split needs clones of both arms).
    let v2 = ServiceBuilder::new()
        .layer(tower::buffer::BufferLayer::new(4))
        .service(Reply("v2"));
    let v1 = ServiceBuilder::new()
        .layer(tower::buffer::BufferLayer::new(4))
        .service(Reply("v1"));
    let split = CanaryLayer::new(v2, 0).unwrap().layer(v1);
    assert_clone_send_sync(&split);
    let response = split.oneshot(get::<String>("/")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "v1");
}

#[tokio::test]
async fn layers_by_reference_and_cloned() {
    let cors = cors();
    let guard = guard(&cors);
    let log = AccessLogLayer::new(MemorySink::new());
    let metrics = MetricsLayer::new(Registry::new());
    let canary = CanaryLayer::new(Reply("v2"), 0).unwrap();
    let router = table::<Full<Bytes>>();
    // `&L` is a `Layer` too (tower's blanket impl): the same layer value reused.
    let svc = ServiceBuilder::new()
        .layer(&metrics)
        .layer(&log)
        .layer(&cors)
        .layer(&guard)
        .layer(&router)
        .layer(&canary)
        .service(Reply("v1"));
    let again = ServiceBuilder::new()
        .layer(metrics.clone())
        .layer(log.clone())
        .layer(cors.clone())
        .layer(guard.clone())
        .layer(router.clone())
        .layer(canary.clone())
        .service(Reply("v1"));
    for s in [svc, again] {
        let response = s.oneshot(get("/x")).await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "v1");
    }
    let direct = <&CorsLayer as Layer<Reply>>::layer(&&cors, Reply("x"));
    let direct2 = Layer::layer(&&guard, Reply("x"));
    assert_clone_send_sync(&direct);
    assert_clone_send_sync(&direct2);
}

// ---- tower's boxes ----

#[tokio::test]
async fn tower_boxes_around_our_services() {
    let cors = cors();
    let stack = ServiceBuilder::new()
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
        .layer(table())
        .service(Reply("app"));
    let sync: BoxCloneSyncService<Request<Full<Bytes>>, _, Infallible> =
        BoxCloneSyncService::new(stack.clone());
    let clone: BoxCloneService<Request<Full<Bytes>>, _, Infallible> =
        BoxCloneService::new(stack.clone());
    let once: BoxService<Request<Full<Bytes>>, _, Infallible> = BoxService::new(stack.clone());
    assert_clone_send_sync(&sync);
    tokio::spawn(async move {
        let r = sync.oneshot(get("/pets/1")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, "a pet");
        let r = clone.oneshot(get("/pets/1")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, "a pet");
        let r = once.oneshot(get("/pets/1")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, "a pet");
    })
    .await
    .unwrap();

    // The boxed layers, as tower spells them.
    let boxed = ServiceBuilder::new()
        .layer(BoxCloneSyncService::layer())
        .layer(MetricsLayer::new(Registry::new()))
        .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
        .service(Reply("v1"));
    let r = boxed.oneshot(get::<()>("/")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");
}

#[tokio::test]
async fn boxed_services_as_router_targets_and_fallback() {
    type Req = Request<Full<Bytes>>;
    type Res = Response<BoxBody<Bytes, Infallible>>;
    let boxed = |text: &'static str| -> BoxCloneSyncService<Req, Res, Infallible> {
        BoxCloneSyncService::new(ServiceExt::<Req>::map_response(
            Reply(text),
            |r: Response<Full<Bytes>>| r.map(|b| b.boxed()),
        ))
    };
    let router = Router::builder()
        .route("GET /a", boxed("a"))
        .route("GET /b", boxed("b"))
        .fallback(boxed("fallback"))
        .build()
        .unwrap();
    assert_clone_send_sync(&router);
    let r = router.clone().oneshot(get("/b")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "b");
    let r = router.clone().oneshot(get("/zzz")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "fallback");
    // As a layer's wrapped service (the Router's fallback).
    let layered = router.layer(boxed("app"));
    let r = layered.oneshot(get("/zzz")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "app");

    // Our Router boxed and nested in another Router.
    let inner = BoxCloneSyncService::new(table::<Full<Bytes>>());
    let outer = Router::builder().nest("/api", inner).build().unwrap();
    let r = outer.oneshot(get("/api/pets/9")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "a pet");
}

// ---- request and response body types ----

#[tokio::test]
async fn request_body_types_through_every_layer() {
    async fn run<B>(body: impl Fn() -> B)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Debug,
    {
        let stack = ServiceBuilder::new()
            .layer(outer_layers())
            .layer(
                Router::builder()
                    .route(
                        "POST /echo",
                        service_fn(|r: Request<B>| async move {
                            let bytes = r.into_body().collect().await.unwrap().to_bytes();
                            Ok::<_, Infallible>(Response::new(Full::new(bytes)))
                        }),
                    )
                    .build()
                    .unwrap(),
            )
            .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
            .service(Reply("v1"));
        let mut s = stack.clone();
        assert_send_future(&mut s, Request::post("/echo").body(body()).unwrap());
        let r = stack
            .clone()
            .oneshot(Request::post("/echo").body(body()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        body_text(r.into_body()).await;
        let r = stack
            .oneshot(Request::get("/other").body(body()).unwrap())
            .await
            .unwrap();
        assert_eq!(body_text(r.into_body()).await, "v1");
    }
    run(|| Full::new(Bytes::from_static(b"full"))).await;
    run(|| String::from("string")).await;
    run(|| axum::body::Body::from("axum")).await;
    run(Empty::<Bytes>::new).await;
    run(|| NotSync::new("not sync")).await;
    run(|| Full::new(Bytes::from_static(b"boxed")).boxed()).await;
    run(|| Full::new(Bytes::from_static(b"unsync")).boxed_unsync()).await;
}

#[tokio::test]
async fn unit_request_body_without_access_log() {
    // `()` is no `http_body::Body`: every layer but the access log (which counts request
    // bytes) takes it.
    let cors = cors();
    let stack = ServiceBuilder::new()
        .layer(MetricsLayer::new(Registry::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
        .layer(table::<()>())
        .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
        .service(Reply("v1"));
    assert_clone_send_sync(&stack);
    let r = stack.clone().oneshot(get("/pets/1")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "a pet");
    let r = stack
        .oneshot(cross_origin_post("/pets", "https://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn non_sync_request_body_services_are_sync() {
    // The services hold no request body: they stay `Sync` (so `tokio::spawn`, axum and
    // `BoxCloneSyncService` take them) even when the request body is not.
    let stack = ServiceBuilder::new()
        .layer(outer_layers())
        .layer(table::<NotSync>())
        .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
        .service(Reply("v1"));
    assert_clone_send_sync(&stack);
    let boxed: BoxCloneSyncService<Request<NotSync>, _, Infallible> =
        BoxCloneSyncService::new(stack);
    let handle = tokio::spawn(async move {
        let r = boxed
            .oneshot(Request::get("/pets/2").body(NotSync::new("")).unwrap())
            .await
            .unwrap();
        body_text(r.into_body()).await
    });
    assert_eq!(handle.await.unwrap(), "a pet");
}

#[tokio::test]
async fn response_body_types() {
    async fn run<B>(make: fn() -> B, want: &str)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Debug + Send + 'static,
    {
        let target = service_fn(move |_: Request<Full<Bytes>>| async move {
            Ok::<_, Infallible>(Response::new(make()))
        });
        let stack = ServiceBuilder::new()
            .layer(outer_layers())
            .layer(Router::builder().route("GET /t", target).build().unwrap())
            .layer(CanaryLayer::new(target, 0).unwrap())
            .service(target);
        let r = stack.clone().oneshot(get("/t")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, want);
        let r = stack.clone().oneshot(get("/other")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, want);
        let r = stack
            .oneshot(Request::put("/t").body(Full::default()).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
    run(|| Full::new(Bytes::from_static(b"full")), "full").await;
    run(Empty::<Bytes>::new, "").await;
    run(|| axum::body::Body::from("axum"), "axum").await;
    run(|| Full::new(Bytes::from_static(b"box")).boxed(), "box").await;
    run(|| String::from("string"), "string").await;
    run(|| Full::new(Bytes::from_static(b"u")).boxed_unsync(), "u").await;
}

// ---- tower-http ----

#[tokio::test]
async fn tower_http_layers_on_router_targets_share_a_boxed_body() {
    use tower_http::trace::TraceLayer;
    // A body-changing layer (TraceLayer, CompressionLayer) under the Router changes a target's
    // body type: the targets (and the wrapped app) share one, so box it.
    type Res = Response<BoxBody<Bytes, BoxError>>;
    let traced = |text: &'static str| {
        ServiceBuilder::new()
            .map_response(|r: Response<_>| -> Res {
                r.map(|b: _| BodyExt::map_err(b, Into::into).boxed())
            })
            .layer(TraceLayer::new_for_http())
            .service(Reply(text))
    };
    let router: Router<Full<Bytes>, BoxBody<Bytes, BoxError>, Infallible> = Router::builder()
        .route("GET /a", traced("a"))
        .build()
        .unwrap();
    let app = router.layer(traced("app"));
    let r = app.clone().oneshot(get("/a")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "a");
    let r = app.oneshot(get("/b")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "app");
}

#[tokio::test]
async fn tower_http_layers_around_and_inside_ours() {
    use tower_http::compression::CompressionLayer;
    use tower_http::set_header::{SetRequestHeaderLayer, SetResponseHeaderLayer};
    use tower_http::trace::TraceLayer;

    let cors = cors();
    let log = MemorySink::new();
    let stack = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(CompressionLayer::new())
        .layer(SetRequestHeaderLayer::overriding(
            header::HOST,
            HeaderValue::from_static("api.example.com"),
        ))
        .layer(AccessLogLayer::new(log.clone()))
        .layer(MetricsLayer::new(Registry::new()))
        .layer(TraceLayer::new_for_http())
        .layer(cors.clone())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(guard(&cors))
        .layer(CompressionLayer::new())
        .layer(table())
        .layer(SetRequestHeaderLayer::appending(
            header::HeaderName::from_static("x-inner"),
            HeaderValue::from_static("1"),
        ))
        .service(Reply("app"));
    assert_clone_send_sync(&stack);
    let r = stack.clone().oneshot(get("/pets/1")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(body_text(r.into_body()).await, "a pet");
    let r = stack
        .clone()
        .oneshot(cross_origin_post("/pets", "https://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    body_text(r.into_body()).await;
    let preflight = Request::options("/pets")
        .header(header::ORIGIN, APP)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Full::<Bytes>::default())
        .unwrap();
    let r = stack.oneshot(preflight).await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    body_text(r.into_body()).await;
    assert_eq!(log.lines().len(), 3);
}

#[tokio::test]
async fn tower_http_cors_next_to_ours() {
    // tower-http's CORS inside ours (for another path) and outside: both compile and answer.
    let ours = cors();
    let theirs = tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static("https://other.example"))
        .allow_methods([Method::GET]);
    let inside = ServiceBuilder::new()
        .layer(ours.clone())
        .layer(theirs.clone())
        .layer(table())
        .service(Reply("app"));
    let outside = ServiceBuilder::new()
        .layer(theirs)
        .layer(ours)
        .layer(table())
        .service(Reply("app"));
    assert_clone_send_sync(&inside);
    assert_clone_send_sync(&outside);
    let simple = || {
        Request::get("/pets/1")
            .header(header::ORIGIN, APP)
            .body(Full::<Bytes>::default())
            .unwrap()
    };
    let r = inside.oneshot(simple()).await.unwrap();
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    let r = outside.oneshot(simple()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body_text(r.into_body()).await, "a pet");
}

// ---- axum 0.8 ----

fn axum_table() -> Router<axum::body::Body, axum::body::Body, Infallible> {
    use axum::routing::get;
    // Our `Params` reach axum handlers as an extension (axum's own `Path` would also see the
    // params of an outer axum `route_service` route).
    let pets: axum::Router = axum::Router::new().fallback(get(
        |axum::Extension(params): axum::Extension<tower_gateway::router::Params>| async move {
            format!("pet {}", params.get("id").unwrap_or("?"))
        },
    ));
    Router::builder()
        .route("GET /pets/{id}", pets)
        .route(
            "POST /pets",
            axum::Router::new().fallback(|| async { "created" }),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn our_layers_on_an_axum_router() {
    use axum::routing::{get, post};
    let cors = cors();
    let registry = Registry::new();
    let log = MemorySink::new();
    let v2 = axum::Router::new().fallback(|| async { "v2" });
    let app = axum::Router::new()
        .route("/pets/{id}", get(|| async { "a pet" }))
        .route("/pets", post(|| async { "created" }))
        .route_layer(guard(&cors))
        .route_layer(CanaryLayer::new(v2, 0).unwrap())
        .layer(cors.clone())
        .layer(AccessLogLayer::new(log.clone()))
        .layer(MetricsLayer::new(registry.clone()))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let r = app.clone().oneshot(get_axum("/pets/1")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body_text(r.into_body()).await, "a pet");
    let r = app
        .clone()
        .oneshot(cross_origin_post::<axum::body::Body>(
            "/pets",
            "https://evil.example",
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    body_text(r.into_body()).await;
    let r = app
        .oneshot(cross_origin_post::<axum::body::Body>("/pets", APP))
        .await
        .unwrap();
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], APP);
    assert_eq!(body_text(r.into_body()).await, "created");
    assert_eq!(log.lines().len(), 3);
    assert_eq!(registry.in_flight(), 0);
}

fn get_axum(uri: &str) -> Request<axum::body::Body> {
    Request::get(uri).body(axum::body::Body::empty()).unwrap()
}

#[tokio::test]
async fn our_router_in_axum_nest_fallback_and_route_service() {
    let app = axum::Router::new()
        .nest_service("/api", axum_table())
        .route_service("/pets/{id}", axum_table())
        .fallback_service(axum_table());
    let r = app.clone().oneshot(get_axum("/api/pets/1")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "pet 1");
    let r = app.clone().oneshot(get_axum("/pets/2")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "pet 2");
    let r = app.clone().oneshot(get_axum("/nowhere")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .oneshot(
            Request::delete("/pets/2")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Our Router as an axum `Router::layer`: the axum app is its fallback.
    let app = axum::Router::new()
        .fallback(|| async { "axum app" })
        .layer(axum_table());
    let r = app.clone().oneshot(get_axum("/pets/3")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "pet 3");
    let r = app.oneshot(get_axum("/about")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "axum app");
}

#[tokio::test]
async fn matched_route_is_visible_to_axum_handlers() {
    let router: Router<axum::body::Body, axum::body::Body, Infallible> = Router::builder()
        .route(
            "GET /pets/{id}",
            axum::Router::new().fallback(
                |axum::Extension(route): axum::Extension<MatchedRoute>| async move {
                    route.key().to_owned()
                },
            ),
        )
        .build()
        .unwrap();
    let app = axum::Router::new().fallback_service(router);
    let r = app.oneshot(get_axum("/pets/4")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "GET /pets/{id}");
}

/// Serves `app` with `axum::serve` on 127.0.0.1:0, with connect info.
async fn serve_axum(app: axum::Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, server)
}

/// A `GET` of `path` with `Host: localhost` and no body.
fn get_localhost(path: &str) -> Request<Empty<Bytes>> {
    Request::get(path)
        .header(header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap()
}

/// A hyper HTTP/1 backend on 127.0.0.1:0 serving `svc` on every connection it accepts.
async fn hyper_backend<S, F>(svc: S) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    S: Service<
            Request<hyper::body::Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
            Future = F,
        > + Clone
        + Send
        + 'static,
    F: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = backend.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = backend.accept().await {
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
                hyper_util::rt::TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(svc.clone()),
            ));
        }
    });
    (addr, task)
}

/// Sends one HTTP/1 request over a new connection.
async fn send_http1<B>(addr: SocketAddr, request: Request<B>) -> Response<hyper::body::Incoming>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender.send_request(request).await.unwrap()
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_serve_with_connect_info_gives_the_access_log_the_client() {
    let log = MemorySink::new();
    let cors = cors();
    let app = axum::Router::new()
        .fallback_service(axum_table())
        .layer(guard(&cors))
        .layer(cors.clone())
        .layer(
            // axum's `ConnectInfo<SocketAddr>` is read by default (feature `axum`).
            AccessLogLayer::new(log.clone())
                .format(LogFormat::template("$context.identity.sourceIp $context.status").unwrap()),
        );
    let (addr, server) = serve_axum(app).await;
    let r = send_http1(addr, get_localhost("/pets/5")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body_text(r.into_body()).await, "pet 5");
    // The record is written at the last body byte, on the server's task.
    assert_eq!(wait_lines(&log, 1).await, ["127.0.0.1 200"]);
    server.abort();
}

// ---- hyper 1 ----

/// The whole stack over `Incoming` request bodies, as hyper hands them to a service.
fn incoming_stack(
    log: &MemorySink,
) -> impl Service<
    Request<hyper::body::Incoming>,
    Response = Response<impl http_body::Body<Data = Bytes, Error = Infallible> + Send + 'static>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
    let cors = cors();
    let echo = service_fn(|r: Request<hyper::body::Incoming>| async move {
        let bytes = r
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(Full::new(bytes)))
    });
    ServiceBuilder::new()
        .layer(MetricsLayer::new(Registry::new()))
        .layer(
            AccessLogLayer::new(log.clone()).format(
                LogFormat::template("$context.identity.sourceIp $context.protocol $context.status")
                    .unwrap(),
            ),
        )
        .layer(cors.clone())
        .layer(guard(&cors))
        .layer(
            Router::builder()
                .route("POST /echo", echo)
                .route("GET /pets/{id}", Reply("a pet"))
                .build()
                .unwrap(),
        )
        .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
        .service(Reply("v1"))
}

async fn wait_lines(log: &MemorySink, n: usize) -> Vec<String> {
    for _ in 0..200 {
        if log.lines().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    log.lines()
}

#[tokio::test]
async fn hyper_http1_and_http2_through_the_auto_builder() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;

    let log = MemorySink::new();
    let stack = incoming_stack(&log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                return;
            };
            let service = ServiceBuilder::new()
                .map_request(move |mut r: Request<hyper::body::Incoming>| {
                    r.extensions_mut().insert(peer);
                    r
                })
                .service(stack.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(
                        TokioIo::new(stream),
                        TowerToHyperService::new(service),
                    )
                    .await;
            });
        }
    });

    // HTTP/1.1
    let r = send_http1(
        addr,
        Request::post("/echo")
            .header(header::HOST, "localhost")
            .body(Full::new(Bytes::from_static(b"over h1")))
            .unwrap(),
    )
    .await;
    assert_eq!(body_text(r.into_body()).await, "over h1");

    // HTTP/2 with prior knowledge.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let r = sender
        .send_request(
            Request::post("http://localhost/echo")
                .body(Full::new(Bytes::from_static(b"over h2")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(body_text(r.into_body()).await, "over h2");
    // A same-origin write over HTTP/2: the target origin is the `:authority` (no `Host`).
    let r = sender
        .send_request(
            Request::post("http://localhost/echo")
                .header(header::ORIGIN, "http://localhost")
                .body(Full::new(Bytes::from_static(b"same origin")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body_text(r.into_body()).await, "same origin");
    let r = sender
        .send_request(
            Request::post("http://localhost/pets")
                .header(header::ORIGIN, "https://evil.example")
                .body(Full::<Bytes>::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    body_text(r.into_body()).await;
    let r = sender
        .send_request(
            Request::get("http://localhost/other")
                .body(Full::<Bytes>::default())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");

    let mut lines = wait_lines(&log, 5).await;
    lines.sort();
    assert_eq!(
        lines,
        [
            "127.0.0.1 HTTP/1.1 200",
            "127.0.0.1 HTTP/2.0 200",
            "127.0.0.1 HTTP/2.0 200",
            "127.0.0.1 HTTP/2.0 200",
            "127.0.0.1 HTTP/2.0 403",
        ]
    );
    server.abort();
}

// ---- Gateway ----

fn gateway_config() -> tower_gateway::GatewayConfig {
    toml::from_str(
        r#"
        [[routes]]
        name = "pet"
        path = "/pets/{id}"
        methods = ["GET"]
        service = "pets"
        canary = { service = "pets-v2", weight = 0 }

        [[routes]]
        path = "/echo"
        methods = ["POST"]
        service = "echo"

        [cors]
        allow_origins = ["https://app.example.com"]

        [access_log]
        format = "$context.routeKey $context.status"
        "#,
    )
    .unwrap()
}

#[tokio::test]
async fn gateway_with_tower_axum_and_boxes() {
    use tower_gateway::gateway::Services;
    use tower_gateway::Gateway;

    type B = axum::body::Body;
    let echo = service_fn(|r: Request<B>| async move {
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        Ok::<_, Infallible>(Response::new(Full::new(bytes)))
    });
    let services = Services::<B>::new()
        .service("pets", axum::Router::new().fallback(|| async { "v1" }))
        .service(
            "pets-v2",
            BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
                    .service(Reply("v2")),
            ),
        )
        .service("echo", echo);
    let gateway = Gateway::from_config(gateway_config(), services).unwrap();
    assert_clone_send_sync(&gateway);

    // Around tower layers, boxed, as an axum fallback_service, nested.
    let wrapped = ServiceBuilder::new()
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower::buffer::BufferLayer::new(8))
        .layer(tower::limit::ConcurrencyLimitLayer::new(8))
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .service(gateway.clone());
    let r = wrapped.oneshot(get_axum("/pets/1")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");

    let boxed: BoxCloneSyncService<Request<B>, _, Infallible> =
        BoxCloneSyncService::new(gateway.clone());
    let r = boxed.oneshot(get_axum("/pets/1")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");

    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .nest_service("/api", gateway.clone())
        .fallback_service(gateway.clone());
    let r = app.clone().oneshot(get_axum("/api/pets/2")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");
    let r = app
        .clone()
        .oneshot(Request::post("/echo").body(B::from("posted")).unwrap())
        .await
        .unwrap();
    assert_eq!(body_text(r.into_body()).await, "posted");
    let r = app.oneshot(get_axum("/health")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "ok");

    // Our Router's target, and behind our layers.
    let router: Router<B, _, Infallible> = Router::builder()
        .nest("/gw", gateway.clone())
        .build()
        .unwrap();
    let r = router.oneshot(get_axum("/gw/pets/3")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");
}

#[tokio::test]
async fn gateway_served_by_hyper_over_incoming_and_a_non_sync_body() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower_gateway::gateway::Services;
    use tower_gateway::Gateway;

    let services = Services::<hyper::body::Incoming>::new()
        .service("pets", Reply("v1"))
        .service("pets-v2", Reply("v2"))
        .service("echo", Reply("echo"));
    let gateway = Gateway::from_config(gateway_config(), services).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(gateway.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let r = send_http1(addr, get_localhost("/pets/1")).await;
    assert_eq!(body_text(r.into_body()).await, "v1");
    server.abort();

    let services = Services::<NotSync>::new()
        .service("pets", Reply("v1"))
        .service("pets-v2", Reply("v2"))
        .service("echo", Reply("echo"));
    let gateway = Gateway::from_config(gateway_config(), services).unwrap();
    assert_clone_send_sync(&gateway);
    let r = tokio::spawn(gateway.oneshot(Request::get("/pets/1").body(NotSync::new("")).unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");
}

// ---- Upstream and WebSocketUpstream ----

#[tokio::test]
async fn upstream_as_target_boxed_and_under_tower_layers() {
    use tower_gateway::upstream::{ResponseBody, WebSocketUpstream};
    use tower_gateway::Upstream;

    // A backend echoing the path it got and the request body.
    let (backend_addr, backend_task) =
        hyper_backend(service_fn(|r: Request<hyper::body::Incoming>| async move {
            let path = r.uri().path().to_owned();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                "{path} {}",
                String::from_utf8_lossy(&body)
            )))))
        }))
        .await;

    let upstream = Upstream::new(&format!("http://{backend_addr}/v1/{{proxy}}")).unwrap();
    let ws = WebSocketUpstream::new(&format!("ws://{backend_addr}")).unwrap();
    assert_clone_send_sync(&upstream);
    assert_clone_send_sync(&ws);

    async fn check<B>(upstream: Upstream, ws: WebSocketUpstream, body: impl Fn(&'static str) -> B)
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let router: Router<B, ResponseBody, Infallible> = Router::builder()
            .route("ANY /api/{proxy+}", upstream.clone())
            .route(
                "GET /boxed/{proxy+}",
                BoxCloneSyncService::new(upstream.clone()),
            )
            .websocket("/ws", ws)
            .build()
            .unwrap();
        let stack = ServiceBuilder::new()
            .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(10)))
            .layer(outer_layers())
            .service(router);
        assert_clone_send_sync(&stack);
        let r = stack
            .clone()
            .oneshot(Request::post("/api/a/b").body(body("payload")).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(body_text(r.into_body()).await, "/v1/a/b payload");
        let r = stack
            .clone()
            .oneshot(Request::get("/boxed/c").body(body("")).unwrap())
            .await
            .unwrap();
        assert_eq!(body_text(r.into_body()).await, "/v1/c ");
        // A plain GET on a WebSocket-only route: 426, through every layer.
        let r = stack
            .oneshot(Request::get("/ws").body(body("")).unwrap())
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
        // Directly, as a tower service, with tower's boxes and layers.
        let direct = ServiceBuilder::new()
            .layer(BoxCloneService::layer())
            .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(10)))
            .service(upstream);
        let r = direct
            .oneshot(Request::put("/x").body(body("direct")).unwrap())
            .await
            .unwrap();
        assert_eq!(body_text(r.into_body()).await, "/v1/ direct");
    }
    check(upstream.clone(), ws.clone(), |t| {
        Full::new(Bytes::from_static(t.as_bytes()))
    })
    .await;
    check(upstream.clone(), ws.clone(), axum::body::Body::from).await;
    check(upstream.clone(), ws.clone(), String::from).await;
    check(upstream, ws, NotSync::new).await;
    backend_task.abort();
}

// ---- more shapes a user writes ----

#[tokio::test]
async fn non_sync_response_bodies_through_every_layer_on_a_spawned_task() {
    use http_body_util::combinators::UnsyncBoxBody;
    type Res = Response<UnsyncBoxBody<Bytes, Infallible>>;
    let unsync = |text: &'static str| {
        service_fn(move |_: Request<Full<Bytes>>| async move {
            Ok::<Res, Infallible>(Response::new(
                Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync(),
            ))
        })
    };
    let stack = ServiceBuilder::new()
        .layer(outer_layers())
        .layer(
            Router::builder()
                .route("GET /t", unsync("t"))
                .build()
                .unwrap(),
        )
        .layer(CanaryLayer::new(unsync("v2"), 0).unwrap())
        .service(unsync("v1"));
    assert_clone_send_sync(&stack);
    let handle = tokio::spawn(async move {
        let t = stack.clone().oneshot(get("/t")).await.unwrap();
        let v1 = stack.oneshot(get("/x")).await.unwrap();
        (
            body_text(t.into_body()).await,
            body_text(v1.into_body()).await,
        )
    });
    assert_eq!(handle.await.unwrap(), ("t".to_owned(), "v1".to_owned()));
}

#[tokio::test]
async fn axum_method_routers_metrics_service_and_service_builder_as_axum_layer() {
    use axum::routing::get;
    let registry = Registry::new();
    let cors = cors();
    let table: Router<axum::body::Body, axum::body::Body, Infallible> = Router::builder()
        .route("GET /hello", get(|| async { "hello" }))
        .route(
            "GET /metrics",
            ServiceBuilder::new()
                .map_response(|r: Response<Full<Bytes>>| r.map(axum::body::Body::new))
                .service(registry.service()),
        )
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route_service("/prom", registry.service())
        .fallback_service(table)
        .layer(
            ServiceBuilder::new()
                .layer(registry.layer())
                .layer(AccessLogLayer::new(MemorySink::new()))
                .layer(cors.clone())
                .layer(guard(&cors)),
        );
    let r = app.clone().oneshot(get_axum("/hello")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "hello");
    let r = app.clone().oneshot(get_axum("/metrics")).await.unwrap();
    assert!(body_text(r.into_body())
        .await
        .contains("gateway_requests_total"));
    let r = app.oneshot(get_axum("/prom")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r.into_body()).await.contains("route=\"/hello\""));
}

#[tokio::test]
async fn ready_then_call_and_service_builder_service_fn() {
    let cors = cors();
    let mut svc = ServiceBuilder::new()
        .layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
        .layer(CanaryLayer::new(Reply("v2"), 0).unwrap())
        .service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"fn"))))
        });
    for _ in 0..3 {
        let r = svc.ready().await.unwrap().call(get("/")).await.unwrap();
        assert_eq!(body_text(r.into_body()).await, "fn");
    }
}

#[tokio::test]
async fn middleware_named_layer_constructors() {
    use tower_gateway::access_log::AccessLog;
    use tower_gateway::cors::{Cors, CorsConfig};
    use tower_gateway::metrics::Metrics;
    use tower_gateway::{CanarySplit, OriginGuard};
    let registry = Registry::new();
    let cors = Cors::layer(CorsConfig::new().allow_origin(APP)).unwrap();
    let cors2 = Cors::builder().allow_origin(APP).build().unwrap();
    let svc = ServiceBuilder::new()
        .layer(Metrics::layer(registry.clone()))
        .layer(AccessLog::layer(MemorySink::new()))
        .layer(cors)
        .layer(cors2)
        .layer(OriginGuard::layer())
        .layer(OriginGuard::builder().build().unwrap())
        .layer(CanarySplit::layer(Reply("v2"), 0).unwrap())
        .service(Reply("v1"));
    let r = svc.clone().oneshot(get::<Full<Bytes>>("/")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "v1");
    let r = svc
        .oneshot(cross_origin_post::<Full<Bytes>>(
            "/",
            "https://evil.example",
        ))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    body_text(r.into_body()).await;
    assert_eq!(registry.series_count(), 2);
}

#[tokio::test]
async fn websocket_through_axum_serve_and_every_layer() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    use tower_gateway::upstream::{ResponseBody, WebSocketUpstream};

    // An echo WebSocket backend.
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_addr = backend.local_addr().unwrap();
    let backend_task = tokio::spawn(async move {
        while let Ok((stream, _)) = backend.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    if ws
                        .send(Message::text(format!("echo {}", t.as_str())))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
    });

    let log = MemorySink::new();
    let registry = Registry::new();
    let cors = cors();
    let router: Router<axum::body::Body, ResponseBody, Infallible> = Router::builder()
        .websocket(
            "/ws",
            WebSocketUpstream::new(&format!("ws://{backend_addr}")).unwrap(),
        )
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .fallback_service(router.map_response(axum::response::IntoResponse::into_response))
        .layer(guard(&cors))
        .layer(cors.clone())
        .layer(
            AccessLogLayer::new(log.clone())
                .format(LogFormat::template("$context.routeKey $context.status").unwrap()),
        )
        .layer(MetricsLayer::new(registry.clone()));
    let (addr, server) = serve_axum(app).await;

    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert(header::ORIGIN, HeaderValue::from_static(APP));
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::client_async(request, stream),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::text("hi")).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply.into_text().unwrap().as_str(), "echo hi");
    ws.close(None).await.unwrap();
    drop(ws);
    assert_eq!(wait_lines(&log, 1).await, ["GET /ws 101"]);

    // A cross-site handshake is refused by the guard under axum too.
    let mut request = format!("ws://{addr}/ws").into_client_request().unwrap();
    request.headers_mut().insert(
        header::ORIGIN,
        HeaderValue::from_static("https://evil.example"),
    );
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let refused = tokio_tungstenite::client_async(request, stream).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::FORBIDDEN)
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    server.abort();
    backend_task.abort();
}

#[tokio::test]
async fn single_inner_layers_need_neither_clone_nor_sync() {
    // `BoxService` is neither `Clone` nor `Sync`: the layers around one service take it
    // (only the dispatching Router and CanarySplit clone what they call).
    let inner: BoxService<Request<Full<Bytes>>, Response<Full<Bytes>>, Infallible> =
        BoxService::new(Reply("boxed"));
    let cors = cors();
    let svc = ServiceBuilder::new()
        .layer(MetricsLayer::new(Registry::new()))
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(cors.clone())
        .layer(guard(&cors))
        .service(inner);
    let r = svc.oneshot(get("/")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "boxed");
}

#[tokio::test]
async fn hyper_util_legacy_client_as_a_router_target() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let (backend_addr, backend_task) =
        hyper_backend(service_fn(|r: Request<hyper::body::Incoming>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                r.uri().path().to_owned(),
            ))))
        }))
        .await;
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let to_backend = ServiceBuilder::new()
        .map_request(move |mut r: Request<Full<Bytes>>| {
            let path = r.uri().path().to_owned();
            *r.uri_mut() = format!("http://{backend_addr}{path}").parse().unwrap();
            r
        })
        .service(client);
    let router = Router::builder()
        .route("GET /proxied/{rest+}", to_backend)
        .build()
        .unwrap();
    let cors = cors();
    let stack = ServiceBuilder::new()
        .layer(AccessLogLayer::new(MemorySink::new()))
        .layer(cors.clone())
        .layer(guard(&cors))
        .service(router);
    assert_clone_send_sync(&stack);
    let r = stack.oneshot(get("/proxied/a/b")).await.unwrap();
    assert_eq!(body_text(r.into_body()).await, "/proxied/a/b");
    backend_task.abort();
}

#[cfg(feature = "axum")]
#[tokio::test]
async fn gateway_under_axum_serve_logs_the_client_from_connect_info() {
    use tower_gateway::gateway::Services;
    use tower_gateway::Gateway;

    let config: tower_gateway::GatewayConfig = toml::from_str(
        r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET"]
        service = "pets"

        [access_log]
        format = "$context.identity.sourceIp $context.routeKey $context.status"
        sink = "code"
        "#,
    )
    .unwrap();
    let log = MemorySink::new();
    let services = Services::new()
        .service("pets", Reply("pet"))
        .access_log_sink(log.clone());
    let gateway = Gateway::from_config(config, services).unwrap();
    // axum's `ConnectInfo<SocketAddr>` reaches the gateway's access log as it is.
    let app = axum::Router::new().fallback_service(gateway);
    let (addr, server) = serve_axum(app).await;
    let r = send_http1(addr, get_localhost("/pets/1")).await;
    assert_eq!(body_text(r.into_body()).await, "pet");
    assert_eq!(wait_lines(&log, 1).await, ["127.0.0.1 GET /pets/{id} 200"]);
    server.abort();
}

#[tokio::test]
async fn an_outer_tower_timeout_dropping_our_futures_is_recorded() {
    // tower's Timeout outside drops our response futures when it fires: the access log writes
    // its record (status 0, `DC`) and the metrics gauge comes back to zero.
    let log = MemorySink::new();
    let registry = Registry::new();
    let slow = service_fn(|_: Request<Full<Bytes>>| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let svc = ServiceBuilder::new()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(20)))
        .layer(MetricsLayer::new(registry.clone()))
        .layer(
            AccessLogLayer::new(log.clone())
                .format(LogFormat::template("$context.status $context.responseFlags").unwrap()),
        )
        .layer(Router::builder().route("GET /slow", slow).build().unwrap())
        .service(Reply("app"));
    let err = svc.oneshot(get("/slow")).await.unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>());
    assert_eq!(registry.in_flight(), 0);
    assert_eq!(log.lines().len(), 1, "{:?}", log.lines());
    assert!(log.lines()[0].starts_with("0 "), "{:?}", log.lines());
    assert!(log.lines()[0].contains("DC"), "{:?}", log.lines());
}
