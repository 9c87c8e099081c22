#![cfg(all(
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log",
    feature = "metrics",
    feature = "gateway",
    feature = "upstream"
))]
//! Concrete claims of the rustdoc, README and configuration docs that no other test proved.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::{body_text, request, Named};
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceExt};
use tower_gateway::cors::CorsLayer;
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
use tower_gateway::origin::OriginGuardLayer;
use tower_gateway::router::{Rejection as RouterRejection, RejectionKind as RouterKind, Router};

type Body = Full<Bytes>;

/// The body of `svc`'s answer to an empty `method uri` request, as text.
async fn text_of<S, B>(svc: &S, method: &str, uri: &str) -> String
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    body_text(common::respond(svc, request(method, uri)).await.into_body()).await
}

fn config(text: &str) -> GatewayConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("bad test config: {e}"))
}

fn header_req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::default()).unwrap()
}

// ---------------------------------------------------------------- router

/// `router` module docs: "`GET` routes also serve `HEAD`: the body is dropped and
/// `content-length` kept (filled in from the body's exact size when the target did not set it)".
#[tokio::test]
async fn router_head_via_get_fills_content_length_from_the_exact_body_size() {
    let router: Router<Body, Body, Infallible> = Router::builder()
        .route("GET /pets", Named::new("seventeen bytes!!"))
        .build()
        .unwrap();
    let response = router.oneshot(request("HEAD", "/pets")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "17");
    assert_eq!(body_text(response.into_body()).await, "");
}

/// `router` module docs: "on the same template an explicit method beats `ANY`".
#[tokio::test]
async fn router_explicit_method_beats_any_on_the_same_template() {
    for order in [false, true] {
        let get = Named::new("get");
        let any = Named::new("any");
        let builder = Router::<Body, Body, Infallible>::builder();
        let builder = if order {
            builder
                .route("GET /x", get.clone())
                .route("ANY /x", any.clone())
        } else {
            builder
                .route("ANY /x", any.clone())
                .route("GET /x", get.clone())
        };
        let router = builder.build().unwrap();
        let text = text_of(&router, "GET", "/x").await;
        assert_eq!(text, "get");
        let text = text_of(&router, "POST", "/x").await;
        assert_eq!(text, "any");
    }
}

/// `router` module docs: a WebSocket-only route answers a plain `GET` with `426`
/// (`Upgrade: websocket`, `Connection: Upgrade`, a short text body), `HEAD` and other methods
/// `405` with `Allow: GET`; the Router's own answers carry a `Rejection`.
#[tokio::test]
async fn router_websocket_only_route_answers_426_and_405_allow_get() {
    let target = Named::new("upgraded");
    let router: Router<Body, Body, Infallible> = Router::builder()
        .websocket("/ws", target.clone())
        .build()
        .unwrap();
    let response = router.clone().oneshot(request("GET", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()[header::UPGRADE], "websocket");
    assert_eq!(response.headers()[header::CONNECTION], "Upgrade");
    assert_eq!(
        response
            .extensions()
            .get::<RouterRejection>()
            .map(RouterRejection::kind),
        Some(RouterKind::UpgradeRequired)
    );
    assert!(!body_text(response.into_body()).await.is_empty());
    for method in ["HEAD", "POST", "DELETE"] {
        let response = router
            .clone()
            .oneshot(request(method, "/ws"))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[header::ALLOW], "GET", "{method}");
    }
    // `Router::at` returns the route for GET whatever the headers.
    assert_eq!(router.at(&Method::GET, "/ws").route_key(), Some("GET /ws"));
    assert_eq!(target.calls(), 0);
}

/// `router` module docs: "A request target that is not a path (`*`, or an authority) matches
/// nothing."
#[tokio::test]
async fn router_asterisk_and_authority_targets_match_nothing() {
    let router: Router<Body, Body, Infallible> = Router::builder()
        .route("ANY /{proxy+}", Named::new("all"))
        .build()
        .unwrap();
    let response = router
        .clone()
        .oneshot(request("OPTIONS", "*"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = router
        .oneshot(request("CONNECT", "example.com:443"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- gateway config

fn pets() -> Services<Body> {
    Services::new().service("pets", Named::new("pets"))
}

/// `RouteConfig::timeout` docs: `"500ms"`, `"5s"`, `"1m"` are the syntax.
#[test]
fn gateway_duration_syntax_from_the_docs_builds() {
    for timeout in ["500ms", "5s", "1m"] {
        let text = format!(
            "[[routes]]\npath = \"/inv\"\nupstream = \"http://127.0.0.1:9/v1\"\ntimeout = \"{timeout}\"\nconnect_timeout = \"{timeout}\"\n"
        );
        Gateway::from_config(config(&text), pets()).unwrap_or_else(|e| panic!("{timeout}: {e}"));
    }
}

/// `OriginConfig::enabled` docs: "The other settings are checked either way."
#[test]
fn gateway_disabled_origin_guard_still_checks_its_settings() {
    let text = r#"
[[routes]]
path = "/pets"
service = "pets"
[origin]
enabled = false
trusted_origins = ["https://a.example/path"]
bypass_paths = ["no-slash"]
"#;
    let error = Gateway::from_config(config(text), pets()).unwrap_err();
    assert_eq!(error.problems().len(), 2, "{error}");
}

/// Gateway module docs: "the name `metrics` is the gateway's own Prometheus exposition unless
/// a service takes that name".
#[tokio::test]
async fn gateway_metrics_name_is_the_exposition_unless_a_service_takes_it() {
    let text = r#"
[[routes]]
path = "/metrics"
methods = ["GET"]
service = "metrics"
[metrics]
"#;
    let gateway = Gateway::from_config(config(text), pets()).unwrap();
    let response = gateway.oneshot(request("GET", "/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(response.into_body()).await.contains("# TYPE"));

    let own = pets().service("metrics", Named::new("mine"));
    let gateway = Gateway::from_config(config(text), own).unwrap();
    let response = gateway.oneshot(request("GET", "/metrics")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "mine");
}

// ---------------------------------------------------------------- cors and origin

fn credentialed() -> CorsLayer {
    CorsLayer::builder()
        .allow_origin("https://app.example.com")
        .allow_methods(["PUT"])
        .allow_credentials(true)
        .build()
        .unwrap()
}

/// `cors` module docs: a refused preflight has "the same `Vary`" as an accepted one.
#[tokio::test]
async fn cors_refused_preflight_carries_the_preflight_vary() {
    let inner = Named::new("inner");
    let stack = tower::Layer::layer(&credentialed(), inner.clone());
    let response = stack
        .oneshot(header_req(
            "OPTIONS",
            "/x",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let vary: Vec<_> = response.headers().get_all(header::VARY).iter().collect();
    let joined = vary
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        joined.to_ascii_lowercase(),
        "origin, access-control-request-method, access-control-request-headers"
    );
    assert_eq!(inner.calls(), 0);
}

/// `cors` module docs: "Responses to a non-preflight `OPTIONS` get the preflight `Vary`".
#[tokio::test]
async fn cors_non_preflight_options_gets_the_preflight_vary() {
    let stack = tower::Layer::layer(&credentialed(), Named::new("inner"));
    let response = stack
        .oneshot(header_req(
            "OPTIONS",
            "/x",
            &[("origin", "https://app.example.com")],
        ))
        .await
        .unwrap();
    let joined = response
        .headers()
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        joined.to_ascii_lowercase(),
        "origin, access-control-request-method, access-control-request-headers"
    );
}

/// `cors` module docs: `Access-Control-Request-Headers` "over 8 KiB or with more than 16 empty
/// elements is refused".
#[tokio::test]
async fn cors_request_header_budget_is_8_kib_and_16_empty_elements() {
    let layer = CorsLayer::builder()
        .allow_origin("https://app.example.com")
        .allow_headers(["*"])
        .build()
        .unwrap();
    let status = |acrh: String| {
        let layer = layer.clone();
        async move {
            let stack = tower::Layer::layer(&layer, Named::new("inner"));
            stack
                .oneshot(header_req(
                    "OPTIONS",
                    "/x",
                    &[
                        ("origin", "https://app.example.com"),
                        ("access-control-request-method", "GET"),
                        ("access-control-request-headers", &acrh),
                    ],
                ))
                .await
                .unwrap()
                .status()
        }
    };
    // 8 KiB exactly: accepted; one byte more: refused.
    let name = |len: usize| "a".repeat(len);
    assert_eq!(status(name(8 * 1024)).await, StatusCode::NO_CONTENT);
    assert_eq!(status(name(8 * 1024 + 1)).await, StatusCode::FORBIDDEN);
    assert_eq!(
        status(format!("x{}", ",".repeat(16))).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(format!("x{}", ",".repeat(17))).await,
        StatusCode::FORBIDDEN
    );
}

/// `cors` module docs: an `Origin` over 512 bytes is not allowed, "under any origin without
/// credentials an actual request still gets the static `*`".
#[tokio::test]
async fn cors_origin_over_512_bytes_is_not_allowed_but_star_stays() {
    let long = format!("https://{}.example.com", "a".repeat(520));
    let exact = CorsLayer::builder()
        .allow_origin("https://*.example.com")
        .build()
        .unwrap();
    assert!(!exact.allows_origin(&long));
    let star = CorsLayer::builder().allow_any_origin().build().unwrap();
    let stack = tower::Layer::layer(&star, Named::new("inner"));
    let response = stack
        .oneshot(header_req("GET", "/x", &[("origin", &long)]))
        .await
        .unwrap();
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

/// `origin` module docs: `Sec-Fetch-Site` "the header twice" is refused.
#[tokio::test]
async fn origin_two_sec_fetch_site_headers_are_refused() {
    let guard = OriginGuardLayer::builder().build().unwrap();
    let mut req = header_req(
        "POST",
        "/x",
        &[("host", "a.example"), ("sec-fetch-site", "same-origin")],
    );
    req.headers_mut()
        .append("sec-fetch-site", "same-origin".parse().unwrap());
    let (parts, _) = req.into_parts();
    assert!(guard.check(&parts).is_err());
}

/// `origin` module docs: `/callback` is "that path only".
#[test]
fn origin_bypass_path_without_slash_is_that_path_only() {
    let guard = OriginGuardLayer::builder()
        .bypass_path("/callback")
        .build()
        .unwrap();
    let cross = |path: &str| {
        let (parts, _) = header_req(
            "POST",
            path,
            &[("host", "a.example"), ("sec-fetch-site", "cross-site")],
        )
        .into_parts();
        guard.check(&parts).is_ok()
    };
    assert!(cross("/callback"));
    assert!(cross("/callback?x=1"));
    assert!(!cross("/callback/x"));
    assert!(!cross("/callbacks"));
}

// ---------------------------------------------------------------- gateway upstream pools

/// An HTTP upstream on 127.0.0.1:0 that answers every request with the number of the
/// connection it came on.
async fn conn_numbering_upstream() -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let next = Arc::new(AtomicUsize::new(0));
    common::listen(move |stream, _| {
        let conn = next.fetch_add(1, Ordering::SeqCst);
        let service =
            hyper::service::service_fn(move |_: Request<hyper::body::Incoming>| async move {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(conn.to_string()))))
            });
        async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        }
    })
    .await
}

fn two_upstream_routes(addr: std::net::SocketAddr, connect_timeout: Option<&str>) -> GatewayConfig {
    let extra = connect_timeout
        .map(|t| format!("connect_timeout = \"{t}\"\n"))
        .unwrap_or_default();
    config(&format!(
        "[[routes]]\npath = \"/a\"\nupstream = \"http://{addr}/a\"\n{extra}\
         [[routes]]\npath = \"/b\"\nupstream = \"http://{addr}/b\"\n"
    ))
}

/// Sends alternating requests to `/a` and `/b` and says whether one upstream connection
/// served both routes.
async fn a_connection_served_both(gateway: &Gateway<Body>) -> bool {
    let mut seen: Vec<(String, char)> = Vec::new();
    for i in 0..60 {
        let (path, which) = if i % 2 == 0 { ("/a", 'a') } else { ("/b", 'b') };
        let response = gateway.clone().oneshot(request("GET", path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let conn = body_text(response.into_body()).await;
        if seen.iter().any(|(c, w)| *c == conn && *w != which) {
            return true;
        }
        seen.push((conn, which));
    }
    false
}

/// `Services::upstream_client` docs: the default is a pool per upstream target (not one per
/// gateway); with a shared client, the gateway's upstreams share connections.
#[tokio::test]
async fn gateway_upstreams_have_pools_of_their_own_unless_given_a_client() {
    let addr = conn_numbering_upstream().await;
    let own = Gateway::from_config(two_upstream_routes(addr, None), Services::new()).unwrap();
    assert!(!a_connection_served_both(&own).await);

    let shared = Services::new().upstream_client(tower_gateway::upstream::UpstreamClient::new());
    let shared = Gateway::from_config(two_upstream_routes(addr, None), shared).unwrap();
    assert!(a_connection_served_both(&shared).await);
}

/// `RouteConfig::connect_timeout` docs: with `Services::upstream_client`, a route's
/// `connect_timeout` is a configuration error (set it on the client).
#[test]
fn gateway_connect_timeout_with_a_shared_client_is_an_error() {
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], 9).into();
    let shared: Services<Body> =
        Services::new().upstream_client(tower_gateway::upstream::UpstreamClient::new());
    let error = Gateway::from_config(two_upstream_routes(addr, Some("1s")), shared).unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    let problem = &error.problems()[0];
    assert_eq!(problem.location(), Some("routes[0].upstream"), "{error}");
    assert!(problem.reason().contains("UpstreamClient"), "{error}");
}

// ---------------------------------------------------------------- error

/// `Problem::module` docs name every module that reports problems, `"metrics"` and
/// `"upstream"` included.
#[test]
fn error_problem_modules_include_metrics_and_upstream() {
    use tower_gateway::metrics::Registry;
    use tower_gateway::upstream::Upstream;
    let metrics = Registry::builder().buckets([-1.0]).build().unwrap_err();
    assert!(
        metrics.problems().iter().all(|p| p.module() == "metrics"),
        "{metrics}"
    );
    let upstream = Upstream::new("ftp://h").unwrap_err();
    assert!(
        upstream.problems().iter().all(|p| p.module() == "upstream"),
        "{upstream}"
    );
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/x\"\nservice = \"nope\"\n"),
        pets(),
    )
    .unwrap_err();
    assert_eq!(gateway.problems()[0].module(), "gateway");
}

// ---------------------------------------------------------------- canary

/// `CanaryHandle::set_canary` docs: "With several canary arms, they share `weight` equally
/// (the first takes the remainder)."
#[test]
fn canary_set_canary_shares_equally_first_takes_the_remainder() {
    use tower_gateway::canary::{CanaryLayer, Weight};
    let layer = CanaryLayer::builder()
        .arm("a", Named::new("a"), 1)
        .arm("b", Named::new("b"), 1)
        .arm("c", Named::new("c"), 1)
        .build()
        .unwrap();
    let handle = layer.handle();
    handle.set_canary(Weight::ppm(100_000)).unwrap();
    assert_eq!(handle.weight("a"), Some(Weight::ppm(33_334)));
    assert_eq!(handle.weight("b"), Some(Weight::ppm(33_333)));
    assert_eq!(handle.weight("c"), Some(Weight::ppm(33_333)));
    assert_eq!(handle.weight("stable"), Some(Weight::ppm(900_000)));
    assert_eq!(handle.canary_weight(), Weight::ppm(100_000));
}

/// `CanaryBuilder::build` docs: "an arm name that is not a valid header value when
/// `arm_header` is set" and "other arms over 100% with no stable weight" are problems.
#[test]
fn canary_bad_arm_name_for_the_header_and_arms_over_100_are_problems() {
    use tower_gateway::canary::CanaryLayer;
    let error = CanaryLayer::builder()
        .arm("new\nline", Named::new("a"), 10)
        .arm_header(http::HeaderName::from_static("x-arm"))
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(error.problems()[0].value(), "new\nline", "{error}");
    // The same name is fine without the header.
    let _ = CanaryLayer::builder()
        .arm("new\nline", Named::new("a"), 10)
        .build()
        .unwrap();

    let error = CanaryLayer::builder()
        .arm("a", Named::new("a"), 60)
        .arm("b", Named::new("b"), 60)
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    // With a stable weight, the shares are relative and the same arms are fine.
    let _ = CanaryLayer::builder()
        .stable("stable", 10)
        .arm("a", Named::new("a"), 60)
        .arm("b", Named::new("b"), 60)
        .build()
        .unwrap();
}

// ---------------------------------------------------------------- gateway metrics

/// `Services::metrics_registry` docs: the registry is used in place of the `metrics`
/// section's, so it records only when the configuration has that section, and the section's
/// `enabled` decides whether the gateway records (the `metrics` service exposes either way).
#[tokio::test]
async fn gateway_metrics_registry_needs_the_section_and_its_enabled() {
    use tower_gateway::metrics::Registry;
    let route = "[[routes]]\npath = \"/pets\"\nservice = \"pets\"\n";
    let registry = Registry::new();
    let services = pets().metrics_registry(registry.clone());
    let gateway = Gateway::from_config(config(route), services).unwrap();
    let response = gateway.oneshot(request("GET", "/pets")).await.unwrap();
    body_text(response.into_body()).await;
    assert_eq!(registry.total_requests(), 0);
    // Without the section, `metrics` names no service.
    let exposed = format!("{route}[[routes]]\npath = \"/metrics\"\nservice = \"metrics\"\n");
    let services = pets().metrics_registry(registry.clone());
    assert!(Gateway::from_config(config(&exposed), services).is_err());

    let disabled = format!("{exposed}[metrics]\nenabled = false\n");
    let services = pets().metrics_registry(registry.clone());
    let gateway = Gateway::from_config(config(&disabled), services).unwrap();
    let response = gateway
        .clone()
        .oneshot(request("GET", "/pets"))
        .await
        .unwrap();
    body_text(response.into_body()).await;
    assert_eq!(registry.total_requests(), 0);
    let response = gateway.oneshot(request("GET", "/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let enabled = format!("{exposed}[metrics]\n");
    let services = pets().metrics_registry(registry.clone());
    let gateway = Gateway::from_config(config(&enabled), services).unwrap();
    let response = gateway.oneshot(request("GET", "/pets")).await.unwrap();
    body_text(response.into_body()).await;
    assert_eq!(registry.total_requests(), 1);
}

/// `router` docs: a WebSocket-only route does not serve `HEAD`, and a `405` for its path does
/// not list `HEAD` (other routes on the same path keep theirs).
#[tokio::test]
async fn router_405_on_a_websocket_path_lists_no_head() {
    let router: Router<Body, Body, Infallible> = Router::builder()
        .websocket("/ws", Named::new("ws"))
        .route("POST /ws", Named::new("post"))
        .build()
        .unwrap();
    for method in ["HEAD", "DELETE"] {
        let response = router
            .clone()
            .oneshot(request(method, "/ws"))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[header::ALLOW], "GET, POST", "{method}");
    }
}

/// `Params::decoded` docs (via the crate's percent-decoding rule): a `%` not followed by two
/// hex digits stays as it is, and `+` is not a space in a path.
#[tokio::test]
async fn router_params_decoding_keeps_stray_percent_and_plus() {
    use tower_gateway::router::Params;
    let handler = service_fn(|req: Request<Body>| async move {
        let params = req.extensions().get::<Params>().expect("set by the router");
        let decoded = params.decoded("v").unwrap().unwrap().into_owned();
        Ok::<_, Infallible>(Response::new(Body::from(decoded)))
    });
    let router: Router<Body, Body, Infallible> = Router::builder()
        .route("GET /v/{v}", handler)
        .build()
        .unwrap();
    let text = text_of(&router, "GET", "/v/a+b%2x%20%").await;
    assert_eq!(text, "a+b%2x %");
}

/// `AccessLogConfig::request_id_header` docs: the default is `x-request-id` (kept when valid,
/// else generated, and put on the response); another name replaces it.
#[tokio::test]
async fn gateway_request_id_header_defaults_to_x_request_id() {
    let route = "[[routes]]\npath = \"/pets\"\nservice = \"pets\"\n";
    let logged = format!("{route}[access_log]\nsink = \"discard\"\n");
    let gateway = Gateway::from_config(config(&logged), pets()).unwrap();
    let response = gateway
        .clone()
        .oneshot(request("GET", "/pets"))
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "{generated}");
    let kept = header_req("GET", "/pets", &[("x-request-id", "abc-123")]);
    let response = gateway.oneshot(kept).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");

    let named = format!("{logged}request_id_header = \"x-correlation-id\"\n");
    let gateway = Gateway::from_config(config(&named), pets()).unwrap();
    let kept = header_req("GET", "/pets", &[("x-correlation-id", "abc-123")]);
    let response = gateway.oneshot(kept).await.unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "abc-123");
    assert!(response.headers().get("x-request-id").is_none());

    // Without an access log, no request id.
    let gateway = Gateway::from_config(config(route), pets()).unwrap();
    let response = gateway.oneshot(request("GET", "/pets")).await.unwrap();
    assert!(response.headers().get("x-request-id").is_none());
}

// ---------------------------------------------------------------- metrics

/// `metrics` module docs: the `refusal` label names every refusal, the Router's `426` to a
/// plain `GET` on a WebSocket-only route included (`upgrade_required`).
#[tokio::test]
async fn metrics_refusal_label_of_a_426_is_upgrade_required() {
    use tower_gateway::metrics::Registry;
    let registry = Registry::new();
    let router: Router<Body, Body, Infallible> = Router::builder()
        .websocket("/ws", Named::new("ws"))
        .build()
        .unwrap();
    let stack = tower::Layer::layer(&registry.layer(), router);
    let response = stack.oneshot(request("GET", "/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    body_text(response.into_body()).await;
    let text = registry.render();
    assert!(
        text.contains(
            "gateway_requests_total{route=\"/ws\",method=\"GET\",status=\"426\",arm=\"\",refusal=\"upgrade_required\"} 1"
        ),
        "{text}"
    );
}

/// `$inner` behind the metrics of `$registry`, an access log to `$sink` (status, flags and
/// error message) and a report-only origin guard.
macro_rules! report_only_stack {
    ($sink:expr, $registry:expr, $inner:expr) => {
        tower::ServiceBuilder::new()
            .layer($registry.layer())
            .layer(
                tower_gateway::access_log::AccessLogLayer::new($sink.clone()).format(
                    tower_gateway::access_log::LogFormat::template(
                        "$context.status $context.responseFlags $context.error.message",
                    )
                    .unwrap(),
                ),
            )
            .layer(
                OriginGuardLayer::builder()
                    .report_only(true)
                    .build()
                    .unwrap(),
            )
            .service($inner)
    };
}

/// `origin` docs: in report-only mode the request goes through and the rejection "is only
/// recorded": the access log flags it `OG` with the reason, and metrics count it under
/// `refusal="origin"`, with the inner service's status.
#[tokio::test]
async fn origin_report_only_is_recorded_by_the_access_log_and_metrics() {
    use tower_gateway::access_log::MemorySink;
    use tower_gateway::metrics::Registry;
    let sink = MemorySink::new();
    let registry = Registry::new();
    let stack = report_only_stack!(sink, registry, Named::new("inner"));
    let cross = header_req(
        "POST",
        "/x",
        &[("host", "a.example"), ("sec-fetch-site", "cross-site")],
    );
    let response = stack.oneshot(cross).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response.into_body()).await, "inner");
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("200 OG "), "{lines:?}");
    assert!(registry
        .render()
        .contains("status=\"200\",arm=\"\",refusal=\"origin\"} 1"));
}

/// `$context.error.message` is "why the gateway answered itself": with a report-only guard,
/// a request the Router answered `404` gets the Router's reason, not the guard's, and the
/// metrics label it `no_route`; the `OG` flag still says the guard would have refused it.
#[tokio::test]
async fn origin_report_only_reason_gives_way_to_the_layer_that_answered() {
    use tower_gateway::access_log::MemorySink;
    use tower_gateway::metrics::Registry;
    let sink = MemorySink::new();
    let registry = Registry::new();
    let table = Router::builder()
        .route("GET /known", Named::new("known"))
        .build()
        .unwrap();
    let stack = report_only_stack!(sink, registry, table);
    let cross = header_req(
        "POST",
        "/nowhere",
        &[("host", "a.example"), ("sec-fetch-site", "cross-site")],
    );
    let response = stack.oneshot(cross).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    body_text(response.into_body()).await;
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    let router_reason = RouterRejection::new(RouterKind::NotFound).reason();
    assert_eq!(lines[0], format!("404 NR,OG {router_reason}"), "{lines:?}");
    assert!(registry.render().contains("refusal=\"no_route\"} 1"));
}

/// `cors::Decision` docs: a request that is not CORS, or an actual request from an origin
/// the policy refuses, gets only `Vary: Origin`, or the preflight `Vary` when it is an
/// `OPTIONS` (module docs: "Responses to a non-preflight `OPTIONS` get the preflight `Vary`").
#[tokio::test]
async fn cors_not_cors_and_refused_actual_vary_by_method() {
    let vary = |response: &Response<tower_gateway::body::Body<Body>>| {
        response
            .headers()
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let preflight_vary = "origin, access-control-request-method, access-control-request-headers";
    for (headers, what) in [
        (&[][..], "no origin"),
        (&[("origin", "https://evil.example")][..], "refused origin"),
    ] {
        let stack = tower::Layer::layer(&credentialed(), Named::new("inner"));
        let response = stack
            .oneshot(header_req("GET", "/x", headers))
            .await
            .unwrap();
        assert_eq!(vary(&response), "origin", "GET, {what}");
        assert!(response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
        let stack = tower::Layer::layer(&credentialed(), Named::new("inner"));
        let response = stack
            .oneshot(header_req("OPTIONS", "/x", headers))
            .await
            .unwrap();
        assert_eq!(vary(&response), preflight_vary, "OPTIONS, {what}");
    }
}

/// `RouteConfig` docs: a WebSocket route's `upstream` may be `ws://` or `http://`;
/// `idle_timeout` is for WebSocket upstreams only (an error on an HTTP upstream route).
#[test]
fn gateway_websocket_upstream_schemes_and_idle_timeout_scope() {
    for url in ["ws://127.0.0.1:9/chat", "http://127.0.0.1:9/chat"] {
        let text = format!("[[routes]]\npath = \"/ws\"\nwebsocket = true\nupstream = \"{url}\"\n");
        Gateway::from_config(config(&text), pets()).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    let text =
        "[[routes]]\npath = \"/inv\"\nupstream = \"http://127.0.0.1:9\"\nidle_timeout = \"5s\"\n";
    let error = Gateway::from_config(config(text), pets()).unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(
        error.problems()[0].location(),
        Some("routes[0].idle_timeout")
    );
}

/// `CanaryConfig::mode` docs: "Default: `"sticky"` when a sticky key is set, else
/// `"random"`"; `stable_name` and `canary_name` default to `"stable"` and `"canary"`.
#[tokio::test]
async fn gateway_canary_mode_defaults_to_sticky_with_a_key() {
    use tower_gateway::canary::Arm;
    let text = r#"
[[routes]]
path = "/pets"
service = "v1"
canary = { service = "v2", weight = 50, sticky_header = "x-user" }
"#;
    let services = Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    let mut names = std::collections::HashSet::new();
    for user in 0..20 {
        let user = user.to_string();
        let mut arms = std::collections::HashSet::new();
        for _ in 0..6 {
            let req = header_req("GET", "/pets", &[("x-user", &user)]);
            let response = gateway.clone().oneshot(req).await.unwrap();
            let arm = response
                .extensions()
                .get::<Arm>()
                .unwrap()
                .name()
                .to_owned();
            let body = body_text(response.into_body()).await;
            arms.insert((arm.clone(), body));
            names.insert(arm);
        }
        assert_eq!(arms.len(), 1, "user {user}: {arms:?}");
    }
    let mut names: Vec<_> = names.into_iter().collect();
    names.sort();
    assert_eq!(names, ["canary", "stable"]);
}

/// `GatewayConfig::fallback` docs: with a fallback service, requests no route matches go to
/// it; a known path with another method is still the Router's `405` (router module docs:
/// "Otherwise the fallback answers").
#[tokio::test]
async fn gateway_fallback_gets_misses_but_not_405s() {
    let text = "fallback = \"app\"\n[[routes]]\npath = \"/pets\"\nmethods = [\"GET\"]\nservice = \"pets\"\n";
    let services = pets().service("app", Named::new("app"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    let response = gateway
        .clone()
        .oneshot(request("GET", "/nowhere"))
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "app");
    let response = gateway.oneshot(request("PUT", "/pets")).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
}

/// `canary::Key` docs: "An empty value counts as missing. Only the first value of a repeated
/// header, and the first cookie of that name, are used", and a cookie's surrounding double
/// quotes are not part of the key.
#[test]
fn canary_sticky_key_empty_first_value_and_quoted_cookie() {
    use tower_gateway::canary::{CanaryLayer, Key, Mode};
    let by_header = CanaryLayer::builder()
        .canary(Named::new("c"), 50)
        .mode(Mode::sticky_or_stable(Key::header(
            http::HeaderName::from_static("x-user"),
        )))
        .build()
        .unwrap();
    let by_cookie = CanaryLayer::builder()
        .canary(Named::new("c"), 50)
        .mode(Mode::sticky_or_stable(Key::cookie("user")))
        .build()
        .unwrap();
    let parts = |headers: &[(&str, &str)]| header_req("GET", "/", headers).into_parts().0;
    let pick = |layer: &CanaryLayer<Named>, headers: &[(&str, &str)]| {
        layer.pick(&parts(headers)).is_canary()
    };
    // An empty key is missing: the stable arm, for a split that sends keyless calls there.
    assert!(!pick(&by_header, &[("x-user", "")]));
    assert!(!pick(&by_cookie, &[("cookie", "user=")]));
    let mut canary_keys = 0;
    for user in 0..64 {
        let user = format!("u{user}");
        let alone = pick(&by_header, &[("x-user", &user)]);
        canary_keys += usize::from(alone);
        // Repeated header: the first value decides, whatever follows.
        for other in ["zz", "u1", "u2"] {
            assert_eq!(
                pick(&by_header, &[("x-user", &user), ("x-user", other)]),
                alone
            );
        }
        // The cookie gives the same key, quoted or not, first of its name.
        let cookie = pick(&by_cookie, &[("cookie", &format!("user={user}"))]);
        assert_eq!(cookie, alone, "{user}");
        let quoted = format!("a=1; user=\"{user}\"; user=zz");
        assert_eq!(pick(&by_cookie, &[("cookie", &quoted)]), alone, "{user}");
    }
    assert!((8..56).contains(&canary_keys), "{canary_keys}");
}

/// `RouteConfig::methods` docs: empty or `["ANY"]` (alone) is any method; names are
/// case-sensitive (`get` is refused); a method listed twice is refused.
#[tokio::test]
async fn gateway_route_methods_rules() {
    let route = |methods: &str| {
        format!("[[routes]]\npath = \"/p\"\nservice = \"pets\"\nmethods = {methods}\n")
    };
    for any in ["[]", "[\"ANY\"]", "[\"any\"]"] {
        let gateway = Gateway::from_config(config(&route(any)), pets()).unwrap();
        let response = gateway.oneshot(request("PATCH", "/p")).await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "pets", "{any}");
    }
    for bad in ["[\"get\"]", "[\"GET\", \"GET\"]", "[\"ANY\", \"GET\"]"] {
        let error = Gateway::from_config(config(&route(bad)), pets()).unwrap_err();
        assert!(
            error.problems()[0]
                .location()
                .unwrap()
                .starts_with("routes[0].methods["),
            "{bad}: {error}"
        );
    }
    // An extension method is fine, as written.
    let gateway = Gateway::from_config(config(&route("[\"PURGE\"]")), pets()).unwrap();
    let response = gateway.oneshot(request("PURGE", "/p")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "pets");
}

/// `CanaryConfig::weight` docs: the default is 0% (the split exists, the canary gets no call
/// until its weight is raised at run time).
#[tokio::test]
async fn gateway_canary_weight_defaults_to_zero() {
    let text = "[[routes]]\nname = \"p\"\npath = \"/p\"\nservice = \"v1\"\ncanary = { service = \"v2\" }\n";
    let services = Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    for _ in 0..50 {
        let response = gateway.clone().oneshot(request("GET", "/p")).await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "v1");
    }
    let handle = gateway.handle().canary("p").unwrap();
    assert_eq!(handle.canary_weight(), tower_gateway::canary::Weight::ZERO);
    handle.promote();
    let response = gateway.oneshot(request("GET", "/p")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "v2");
}

/// `cors` module docs: "`*` origin or exposed headers with credentials" are configuration
/// errors, however credentials were turned on: by `allow_credentials`, or by
/// `dangerously_reflect_any_origin_with_credentials` (which "turns credentials on"), in code
/// or as serde data.
#[test]
fn cors_star_exposed_headers_with_reflected_credentials_is_refused() {
    use tower_gateway::cors::CorsConfig;
    let code = CorsConfig::new()
        .dangerously_reflect_any_origin_with_credentials()
        .expose_headers(["*"])
        .build()
        .unwrap_err();
    assert_eq!(code.problems()[0].value(), "*", "{code}");
    let data: CorsConfig = serde_json::from_str(
        r#"{ "dangerously_reflect_any_origin_with_credentials": true, "expose_headers": ["*"] }"#,
    )
    .unwrap();
    let error = data.build().unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(error.problems()[0].value(), "*", "{error}");
    assert_eq!(error.problems()[0].location(), Some("expose_headers[0]"));
    // The serde form does turn credentials on, as the setter does.
    let data: CorsConfig =
        serde_json::from_str(r#"{ "dangerously_reflect_any_origin_with_credentials": true }"#)
            .unwrap();
    let stack = tower::Layer::layer(&data.build().unwrap(), Named::new("inner"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let response = rt
        .block_on(stack.oneshot(header_req("GET", "/", &[("origin", "https://any.example")])))
        .unwrap();
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://any.example"
    );
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
        "true"
    );
}

/// `CorsConfig` docs: every serde key of the table parses, and the defaults are those of
/// `CorsConfig::new()`.
#[test]
fn cors_config_serde_keys_of_the_docs() {
    use tower_gateway::cors::CorsConfig;
    let all: CorsConfig = serde_json::from_str(
        r#"{
            "allow_origins": ["https://app.example.com"],
            "allow_methods": ["PUT"],
            "allow_headers": ["x-a"],
            "expose_headers": ["x-b"],
            "allow_credentials": true,
            "max_age": 600,
            "strip_inner_cors_headers": true,
            "debug": true,
            "dangerously_reflect_any_origin_with_credentials": false,
            "dangerously_tolerate_insecure_origins": true
        }"#,
    )
    .unwrap();
    let layer = all.build().unwrap();
    assert!(layer.handle().debug());
    let empty: CorsConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(empty, CorsConfig::new());
}

/// `CorsConfig::debug` docs: "Ignored by `CorsHandle::set`, which keeps the current mode."
#[test]
fn cors_handle_set_keeps_the_debug_mode() {
    use tower_gateway::cors::CorsConfig;
    let layer = CorsConfig::new().build().unwrap();
    let handle = layer.handle();
    handle.set(CorsConfig::new().debug(true)).unwrap();
    assert!(!handle.debug());
    handle.set_debug(true);
    handle.set(CorsConfig::new().debug(false)).unwrap();
    assert!(handle.debug());
}

/// `Services::service` docs: registering a name again replaces the service.
#[tokio::test]
async fn gateway_services_same_name_replaces() {
    let services = pets().service("pets", Named::new("second"));
    assert!(services.contains("pets"));
    let text = "[[routes]]\npath = \"/p\"\nservice = \"pets\"\n";
    let gateway = Gateway::from_config(config(text), services).unwrap();
    let response = gateway.oneshot(request("GET", "/p")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "second");
}

/// `gateway` module docs: CORS is always in the stack, "an absent section is the empty
/// policy, which refuses every cross-origin preflight" (and grants no cross-origin read,
/// `GatewayConfig::cors`); the origin guard, on by default and trusting what CORS allows,
/// then trusts nothing, while a same-origin write passes.
#[tokio::test]
async fn gateway_without_a_cors_section_refuses_preflights_and_cross_origin_writes() {
    let text = "[[routes]]\npath = \"/p\"\nmethods = [\"GET\", \"POST\"]\nservice = \"pets\"\n";
    let gateway = Gateway::from_config(config(text), pets()).unwrap();
    let preflight = header_req(
        "OPTIONS",
        "/p",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ],
    );
    let response = gateway.clone().oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let read = header_req("GET", "/p", &[("origin", "https://app.example")]);
    let response = gateway.clone().oneshot(read).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_none());
    let write =
        |origin: &str| header_req("POST", "/p", &[("host", "api.example"), ("origin", origin)]);
    let response = gateway
        .clone()
        .oneshot(write("https://app.example"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = gateway.oneshot(write("http://api.example")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// `ArmReport::p50` docs: interpolated within the bucket holding the rank, the highest
/// finite bound when it falls in `+Inf`, 0 without requests.
#[test]
fn metrics_report_quantile_edges() {
    use std::time::Duration;
    use tower_gateway::metrics::{Labels, Registry};
    let registry = Registry::builder().buckets([0.1, 0.2]).build().unwrap();
    let labels = |arm| Labels {
        route: Some("/x"),
        method: "GET",
        status: 200,
        arm: Some(arm),
        canary: arm == "c",
        refusal: None,
    };
    // Arm "c": 4 answers in (0.1, 0.2]: the median is halfway through that bucket.
    for _ in 0..4 {
        registry.record(&labels("c"), Duration::ZERO, Duration::from_millis(150));
    }
    // Arm "s": every answer slower than the last finite bound.
    for _ in 0..3 {
        registry.record(&labels("s"), Duration::ZERO, Duration::from_secs(5));
    }
    let report = registry.canary_report();
    assert_eq!(report.len(), 2);
    assert!((report[0].p50 - 0.15).abs() < 1e-9, "{report:?}");
    assert!((report[1].p50 - 0.2).abs() < 1e-9, "{report:?}");
    assert!((report[1].p99 - 0.2).abs() < 1e-9, "{report:?}");
    assert!(Registry::new().canary_report().is_empty());
}

// ---------------------------------------------------------------- access log tunnels

/// A service answering `101` with a `Tunnel` the test keeps, to close it later.
fn upgrading(
    tunnel: tower_gateway::tunnel::Tunnel,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Body>, Infallible>>,
> + Clone {
    service_fn(move |_: Request<Body>| {
        let mut response = Response::new(Body::default());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        response.extensions_mut().insert(tunnel.clone());
        std::future::ready(Ok(response))
    })
}

/// `LogFormat::json` docs: "The record of a tunnel (a WebSocket connection, written when it
/// closes) has three more keys at the end: `tunnelBytesIn`, `tunnelBytesOut`,
/// `tunnelAbnormal`; ordinary records never have them." Module docs: the flags `SI` (idle
/// timeout) and `TA` (other abnormal end), the reason as the error message.
#[tokio::test]
async fn access_log_json_tunnel_keys_and_flags() {
    use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
    use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
    let sink = MemorySink::new();
    let layer = AccessLogLayer::new(sink.clone()).format(LogFormat::json());
    for (outcome, flag, abnormal) in [
        (TunnelOutcome::Normal, None, false),
        (TunnelOutcome::IdleTimeout, Some("SI"), true),
        (TunnelOutcome::Abnormal("reset"), Some("TA"), true),
    ] {
        let tunnel = Tunnel::new();
        let stack = tower::Layer::layer(&layer, upgrading(tunnel.clone()));
        let response = stack.oneshot(request("GET", "/ws")).await.unwrap();
        body_text(response.into_body()).await;
        assert!(sink.is_empty(), "no record at the 101");
        tunnel.add_bytes_in(5);
        tunnel.add_bytes_out(7);
        tunnel.close(outcome);
        let lines = sink.take();
        assert_eq!(lines.len(), 1);
        // The three keys end the object, in this order.
        let tail =
            format!(",\"tunnelBytesIn\":5,\"tunnelBytesOut\":7,\"tunnelAbnormal\":{abnormal}}}");
        assert!(lines[0].ends_with(&tail), "{}", lines[0]);
        let record: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(record["status"], 101);
        assert_eq!(record["tunnelBytesIn"], 5);
        assert_eq!(record["tunnelBytesOut"], 7);
        assert_eq!(record["tunnelAbnormal"], abnormal);
        assert_eq!(record["responseFlags"].as_str(), flag, "{record}");
        if let Some(reason) = outcome.reason() {
            assert_eq!(record["errorMessage"], reason);
        }
    }
    // An ordinary record has none of them.
    let stack = tower::Layer::layer(&layer, Named::new("plain"));
    let response = stack.oneshot(request("GET", "/")).await.unwrap();
    body_text(response.into_body()).await;
    let record: serde_json::Value = serde_json::from_str(&sink.take()[0]).unwrap();
    assert!(record.get("tunnelBytesIn").is_none(), "{record}");
    assert!(record.get("tunnelAbnormal").is_none(), "{record}");
}

/// `GatewayHandle` docs: run-time changes through `canary` or `cors` handles "last until the
/// next reload, which applies the file's values": a handle taken before a reload controls
/// the stack it came from, not the reloaded one (take it again after a reload).
#[tokio::test]
async fn gateway_run_time_handles_belong_to_the_stack_they_came_from() {
    let text = "[[routes]]\nname = \"p\"\npath = \"/p\"\nservice = \"v1\"\ncanary = { service = \"v2\", weight = 0 }\n";
    let services = Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    let handle = gateway.handle();
    let before = handle.canary("p").unwrap();
    let cors_before = handle.cors();
    handle.reload(config(text)).unwrap();
    before.promote();
    cors_before
        .set(tower_gateway::cors::CorsConfig::new().allow_origin("https://app.example"))
        .unwrap();
    let response = gateway.clone().oneshot(request("GET", "/p")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "v1");
    assert!(!handle.cors().allows_origin("https://app.example"));
    handle.canary("p").unwrap().promote();
    let response = gateway.oneshot(request("GET", "/p")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "v2");
}

/// `RouteKey::parse` docs: refused without a method, without a single space before the
/// template, with a method that is not a token, or a standard method in lower case; other
/// lower-case names are extension methods, kept as written.
#[test]
fn router_route_key_parse_rules() {
    use tower_gateway::router::RouteKey;
    for bad in [
        "/pets",
        "GET  /pets",
        "GET\t/pets",
        "G(T /pets",
        "get /pets",
        "patch /x",
    ] {
        assert!(bad.parse::<RouteKey>().is_err(), "{bad:?}");
    }
    let key: RouteKey = "purge /cache".parse().unwrap();
    assert_eq!(key.method().map(Method::as_str), Some("purge"));
    let any: RouteKey = "ANY /x".parse().unwrap();
    assert_eq!(any.method(), None);
}

/// `router` module docs: the winner is the most specific route "among those that accept the
/// request's method (`ANY` accepts all)"; a WebSocket-only route does not accept `HEAD`, so a
/// `HEAD` on its path goes to an `ANY` route that matches it (same template or a catch-all),
/// as `POST` does, and `Router::at` says the same.
#[tokio::test]
async fn router_head_on_a_websocket_path_goes_to_a_matching_any_route() {
    for any in ["ANY /ws", "ANY /{proxy+}"] {
        let router: Router<Body, Body, Infallible> = Router::builder()
            .websocket("/ws", Named::new("ws"))
            .route(any, Named::new("any"))
            .build()
            .unwrap();
        for method in ["HEAD", "POST"] {
            let response = router
                .clone()
                .oneshot(request(method, "/ws"))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{any} {method}");
            assert_eq!(
                body_text(response.into_body()).await,
                "any",
                "{any} {method}"
            );
        }
        assert_eq!(router.at(&Method::HEAD, "/ws").route_key(), Some(any));
        let response = router.oneshot(request("GET", "/ws")).await.unwrap();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED, "{any}");
    }
    // A less specific `GET` route serves `HEAD` too, so it takes a `HEAD` on the path.
    let router: Router<Body, Body, Infallible> = Router::builder()
        .websocket("/ws", Named::new("ws"))
        .route("GET /{page}", Named::new("page"))
        .build()
        .unwrap();
    assert_eq!(
        router.at(&Method::HEAD, "/ws").route_key(),
        Some("GET /{page}")
    );
    let response = router
        .clone()
        .oneshot(request("HEAD", "/ws"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(router.at(&Method::GET, "/ws").route_key(), Some("GET /ws"));
    let response = router.oneshot(request("DELETE", "/ws")).await.unwrap();
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
}

/// `cors` module docs (differences from jub0bs/cors): "a canonical IPv4-mapped IPv6 origin
/// (`[::ffff:7f00:1]`) is accepted (it is what a browser sends)"; the non-canonical spelling
/// is refused with the form to write.
#[test]
fn cors_ipv4_mapped_ipv6_origin_in_canonical_form() {
    let layer = CorsLayer::builder()
        .allow_origin("http://[::ffff:7f00:1]:8080")
        .build()
        .unwrap();
    assert!(layer.allows_origin("http://[::ffff:7f00:1]:8080"));
    let error = CorsLayer::builder()
        .allow_origin("http://[::ffff:127.0.0.1]:8080")
        .build()
        .unwrap_err();
    assert!(
        error.problems()[0].reason().contains("[::ffff:7f00:1]"),
        "{error}"
    );
}

/// `CanaryConfig::sticky_header` and `sticky_cookie` docs: setting both is an error.
#[test]
fn gateway_canary_sticky_header_and_cookie_together_are_an_error() {
    let text = "[[routes]]\npath = \"/p\"\nservice = \"pets\"\ncanary = { service = \"pets\", weight = 5, sticky_header = \"x-user\", sticky_cookie = \"user\" }\n";
    let error = Gateway::from_config(config(text), pets()).unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert_eq!(
        error.problems()[0].location(),
        Some("routes[0].canary.sticky_cookie")
    );
}

/// `RouteConfig::nest` and `websocket` docs: a nested route takes every method (`methods`
/// must be empty); a WebSocket route is `GET` only and cannot be nested.
#[test]
fn gateway_nest_and_websocket_route_shapes() {
    let route = |extra: &str| format!("[[routes]]\npath = \"/p\"\nservice = \"pets\"\n{extra}");
    for (extra, at) in [
        ("nest = true\nmethods = [\"GET\"]\n", "routes[0].methods"),
        ("websocket = true\nnest = true\n", "routes[0].websocket"),
        (
            "websocket = true\nmethods = [\"POST\"]\n",
            "routes[0].websocket",
        ),
    ] {
        let error = Gateway::from_config(config(&route(extra)), pets()).unwrap_err();
        assert_eq!(error.problems().len(), 1, "{extra}: {error}");
        assert_eq!(error.problems()[0].location(), Some(at), "{extra}");
    }
    for extra in ["nest = true\n", "websocket = true\nmethods = [\"GET\"]\n"] {
        Gateway::from_config(config(&route(extra)), pets())
            .unwrap_or_else(|e| panic!("{extra}: {e}"));
    }
}

/// `GatewayHandle::canary` docs: a route's split "by its name or its path". Two routes may
/// share a name (for logs and metrics): the name gives the first one's split, and each
/// route's path gives its own.
#[tokio::test]
async fn gateway_canary_handle_by_path_with_a_shared_name() {
    let text = "[[routes]]\nname = \"pets\"\npath = \"/a\"\nservice = \"v1\"\ncanary = { service = \"v2\", weight = 0 }\n\
                [[routes]]\nname = \"pets\"\npath = \"/b\"\nservice = \"v1\"\ncanary = { service = \"v2\", weight = 0 }\n";
    let services = Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    let handle = gateway.handle();
    handle.canary("/b").unwrap().promote();
    let served = |path: &'static str| {
        let gateway = gateway.clone();
        async move {
            let response = gateway.oneshot(request("GET", path)).await.unwrap();
            body_text(response.into_body()).await
        }
    };
    assert_eq!(served("/b").await, "v2");
    assert_eq!(served("/a").await, "v1");
    handle.canary("pets").unwrap().promote();
    assert_eq!(served("/a").await, "v2");
    handle.canary("/a").unwrap().roll_back();
    assert_eq!(served("/a").await, "v1");
    assert_eq!(served("/b").await, "v2");
}

/// `GatewayHandle::canary` docs: "the stage canary's by `\"\"`", even when a route with a
/// split has an empty name.
#[tokio::test]
async fn gateway_stage_canary_handle_is_found_by_the_empty_label() {
    let text = "[canary]\nservice = \"v2\"\nweight = 0\n\
                [[routes]]\nname = \"\"\npath = \"/a\"\nservice = \"v1\"\ncanary = { service = \"v2\", weight = 0 }\n";
    let services = Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"));
    let gateway = Gateway::from_config(config(text), services).unwrap();
    gateway.handle().canary("").unwrap().promote();
    // The stage split sends everything to v2; the route's own split was not touched.
    let response = gateway
        .clone()
        .oneshot(request("GET", "/nowhere"))
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "v2");
    assert_eq!(
        gateway.handle().canary("/a").unwrap().canary_weight(),
        tower_gateway::canary::Weight::ZERO
    );
}
