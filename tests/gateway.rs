//! The whole stack from one configuration: `Gateway::from_config`, the typed builder, reloads.

#![cfg(feature = "gateway")]

mod common;

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use common::{body_text, request, Boom, Gated, Named};
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceExt};
use tower_gateway::access_log::MemorySink;
use tower_gateway::canary::Arm;
use tower_gateway::error::ProblemKind;
use tower_gateway::gateway::{
    AccessLogConfig, CanaryConfig, Gateway, GatewayConfig, RouteConfig, Services, TargetError,
};
use tower_gateway::router::MatchedRoute;

type Body = Full<Bytes>;

fn config(text: &str) -> GatewayConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("bad test config: {e}"))
}

fn services() -> Services<Body> {
    Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"))
        .service("app", Named::new("app"))
}

async fn call(
    gateway: &Gateway<Body>,
    req: Request<Body>,
) -> (StatusCode, http::HeaderMap, String) {
    let response = gateway.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body_text(body).await)
}

const PETS: &str = r#"
[[routes]]
name = "pet"
path = "/pets/{id}"
methods = ["GET", "DELETE"]
service = "v1"

[[routes]]
path = "/pets"
methods = ["POST"]
service = "v2"

[[routes]]
path = "/files"
nest = true
service = "app"
"#;

#[tokio::test]
async fn routes_from_a_toml_file_with_404_and_405() {
    let gateway = Gateway::from_config(config(PETS), services()).unwrap();
    assert_eq!(call(&gateway, request("GET", "/pets/7")).await.2, "v1");
    assert_eq!(call(&gateway, request("POST", "/pets")).await.2, "v2");
    let (status, headers, _) = call(&gateway, request("PUT", "/pets/7")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "GET, HEAD, DELETE");
    assert_eq!(
        call(&gateway, request("GET", "/nope")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_matched_route_and_its_name_reach_the_response() {
    let gateway = Gateway::from_config(config(PETS), services()).unwrap();
    let response = gateway.oneshot(request("GET", "/pets/7")).await.unwrap();
    let matched = response.extensions().get::<MatchedRoute>().unwrap();
    assert_eq!(matched.key(), "GET /pets/{id}");
    assert_eq!(matched.name(), Some("pet"));
}

#[tokio::test]
async fn a_nested_route_strips_its_prefix() {
    let echo_path = service_fn(|req: Request<Body>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
            req.uri().path().to_owned(),
        ))))
    });
    let services = Services::new().service("app", echo_path);
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/files\"\nnest = true\nservice = \"app\""),
        services,
    )
    .unwrap();
    assert_eq!(
        call(&gateway, request("GET", "/files/a/b.txt")).await.2,
        "/a/b.txt"
    );
    assert_eq!(call(&gateway, request("GET", "/files")).await.2, "/");
}

#[test]
fn every_problem_at_once_with_its_location() {
    let bad = config(
        r#"
        fallback = "missing-app"

        [[routes]]
        path = "/u/{id}"
        methods = ["GET"]
        service = "v1"

        [[routes]]
        path = "/u/{name}"
        methods = ["GET"]
        service = "nobody"

        [[routes]]
        path = "/bad/{open"
        service = "v1"

        [[routes]]
        path = "/m"
        methods = ["GE T"]
        service = "v1"

        [[routes]]
        path = "/both"
        service = "v1"
        upstream = "http://127.0.0.1:1"

        [[routes]]
        path = "/none"

        [[routes]]
        path = "/c/{id}"
        service = "v1"
        canary = { service = "v2", weight = 120, mode = "sideways" }

        [cors]
        allow_origins = ["https://app.example.com/"]

        [origin]
        trusted_origins = ["not an origin"]

        [access_log]
        format = "$context.nope"
        sink = "stdout"
        "#,
    );
    let error = Gateway::from_config(bad, services()).unwrap_err();
    let found: HashSet<(String, String)> = error
        .problems()
        .iter()
        .map(|p| (p.location().unwrap_or("?").to_owned(), p.value().to_owned()))
        .collect();
    let expect = |location: &str, value: &str| {
        assert!(
            found.contains(&(location.to_owned(), value.to_owned())),
            "missing {location} = {value:?} in {found:#?}"
        );
    };
    expect("fallback", "missing-app");
    expect("routes[1].service", "nobody");
    expect("routes[1].path", "GET /u/{name}");
    expect("routes[3].methods[0]", "GE T");
    expect("routes[4]", "v1");
    expect("routes[5]", "");
    expect("routes[6].canary.mode", "sideways");
    expect("cors.allow_origins[0]", "https://app.example.com/");
    expect("origin.trusted_origins[0]", "not an origin");
    assert!(
        found.iter().any(|(l, _)| l.starts_with("routes[2]")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|(l, _)| l.starts_with("access_log.format")),
        "{found:#?}"
    );
    let conflict = error
        .problems()
        .iter()
        .find(|p| p.location() == Some("routes[1].path"))
        .unwrap();
    assert_eq!(conflict.kind(), ProblemKind::Conflict);
}

#[test]
fn a_bad_canary_weight_is_reported_at_the_split() {
    let bad = config(
        r#"
        [[routes]]
        path = "/c"
        service = "v1"
        canary = { service = "v2", weight = "12.5.1%" }
        "#,
    );
    let error = Gateway::from_config(bad, services()).unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");
    assert!(error.problems()[0]
        .location()
        .unwrap()
        .starts_with("routes[0].canary"));
    assert_eq!(error.problems()[0].value(), "12.5.1%");
}

#[test]
fn unknown_fields_are_errors_at_every_level() {
    for text in [
        "rutes = []",
        "[[routes]]\npath = \"/\"\nservice = \"v1\"\nmethod = \"GET\"",
        "[origin]\ntrust_cros = true",
        "[access_log]\nfromat = \"json\"",
        "[[routes]]\npath = \"/\"\nservice = \"v1\"\ncanary = { service = \"v2\", wieght = 1 }",
        "[cors]\nallow_origin = []",
    ] {
        assert!(
            toml::from_str::<GatewayConfig>(text).is_err(),
            "accepted: {text}"
        );
    }
}

#[tokio::test]
async fn the_typed_builder_gives_the_same_gateway() {
    let from_file = config(
        r#"
        [[routes]]
        name = "pet"
        path = "/pets/{id}"
        methods = ["GET"]
        service = "v1"
        canary = { service = "v2", weight = 0 }
        "#,
    );
    let built = Gateway::builder()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"))
        .route(
            RouteConfig::new("/pets/{id}")
                .name("pet")
                .methods(["GET"])
                .service("v1")
                .canary(CanaryConfig::service("v2", 0.0)),
        )
        .build()
        .unwrap();
    assert_eq!(*built.handle().config(), from_file);
    let gateway = Gateway::from_config(from_file, services()).unwrap();
    for g in [&built, &gateway] {
        assert_eq!(call(g, request("GET", "/pets/1")).await.2, "v1");
        assert_eq!(call(g, request("GET", "/x")).await.0, StatusCode::NOT_FOUND);
    }
    // The same errors too.
    let error = Gateway::<Body>::builder()
        .route(RouteConfig::new("/x").service("ghost"))
        .build()
        .unwrap_err();
    assert_eq!(error.problems()[0].location(), Some("routes[0].service"));
}

#[tokio::test]
async fn a_reload_swaps_the_table_and_a_bad_one_changes_nothing() {
    let gateway = Gateway::from_config(config(PETS), services()).unwrap();
    let handle = gateway.handle();
    handle
        .reload(config("[[routes]]\npath = \"/moved\"\nservice = \"v2\""))
        .unwrap();
    assert_eq!(call(&gateway, request("GET", "/moved")).await.2, "v2");
    assert_eq!(
        call(&gateway, request("GET", "/pets/1")).await.0,
        StatusCode::NOT_FOUND
    );

    let error = handle
        .reload(config("[[routes]]\npath = \"/x\"\nservice = \"ghost\""))
        .unwrap_err();
    assert_eq!(error.problems()[0].value(), "ghost");
    assert_eq!(call(&gateway, request("GET", "/moved")).await.2, "v2");
    assert_eq!(handle.config().routes[0].path, "/moved");
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_stack_it_started_with() {
    let (release, wait) = tokio::sync::oneshot::channel::<()>();
    let wait = std::sync::Arc::new(tokio::sync::Mutex::new(Some(wait)));
    let slow = service_fn(move |_: Request<Body>| {
        let wait = wait.clone();
        async move {
            if let Some(wait) = wait.lock().await.take() {
                let _ = wait.await;
            }
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"old"))))
        }
    });
    let services = services().service("slow", slow);
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/r\"\nservice = \"slow\""),
        services,
    )
    .unwrap();
    let in_flight = tokio::spawn(gateway.clone().oneshot(request("GET", "/r")));
    tokio::task::yield_now().await;
    gateway
        .handle()
        .reload(config("[[routes]]\npath = \"/r\"\nservice = \"v2\""))
        .unwrap();
    assert_eq!(call(&gateway, request("GET", "/r")).await.2, "v2");
    release.send(()).unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(body_text(response.into_body()).await, "old");
}

#[tokio::test]
async fn a_target_that_becomes_ready_later_wakes_the_waiting_task() {
    let gated = Gated::default();
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/gated\"\nservice = \"gated\""),
        services().service("gated", gated.clone()),
    )
    .unwrap();
    let waiting = tokio::spawn(gateway.clone().oneshot(request("GET", "/gated")));
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    gated.open();
    let response = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the task was woken")
        .unwrap()
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "open");
}

#[tokio::test]
async fn a_route_canary_splits_and_its_weight_changes_at_run_time() {
    let text = r#"
        [[routes]]
        name = "pet"
        path = "/pets/{id}"
        service = "v1"
        canary = { service = "v2", weight = 0, canary_name = "v2", stable_name = "v1", arm_header = "x-arm" }
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let response = gateway
        .clone()
        .oneshot(request("GET", "/pets/1"))
        .await
        .unwrap();
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "v1");
    assert_eq!(response.headers()["x-arm"], "v1");

    let handle = gateway
        .handle()
        .canary("pet")
        .expect("a split on route pet");
    handle.set_canary(100.0).unwrap();
    for _ in 0..20 {
        let response = gateway
            .clone()
            .oneshot(request("GET", "/pets/1"))
            .await
            .unwrap();
        let arm = response.extensions().get::<Arm>().unwrap().clone();
        assert_eq!((arm.name(), arm.is_canary()), ("v2", true));
        assert_eq!(body_text(response.into_body()).await, "v2");
    }
    assert!(gateway.handle().canary("nope").is_none());
}

#[tokio::test]
async fn a_ten_percent_canary_serves_about_a_tenth() {
    let text = r#"
        [[routes]]
        path = "/p"
        service = "v1"
        canary = { service = "v2", weight = "10%", mode = "round-robin" }
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let mut canary = 0;
    for _ in 0..100 {
        if call(&gateway, request("GET", "/p")).await.2 == "v2" {
            canary += 1;
        }
    }
    assert_eq!(canary, 10, "round-robin is exact over a whole cycle");
}

#[tokio::test]
async fn a_stage_canary_wraps_the_whole_table() {
    let text = r#"
        [[routes]]
        path = "/a"
        service = "v1"

        [canary]
        service = "v2"
        weight = 100
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    assert_eq!(call(&gateway, request("GET", "/a")).await.2, "v2");
    assert_eq!(call(&gateway, request("GET", "/anything")).await.2, "v2");
    gateway
        .handle()
        .canary("")
        .unwrap()
        .set_canary(0.0)
        .unwrap();
    assert_eq!(call(&gateway, request("GET", "/a")).await.2, "v1");
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/pets/1")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "DELETE")
        .body(Body::default())
        .unwrap()
}

#[tokio::test]
async fn cors_preflights_are_answered_before_any_route() {
    let text = format!(
        "{PETS}\n[cors]\nallow_origins = [\"http://localhost:*\"]\nallow_methods = [\"DELETE\"]"
    );
    let v1 = Named::new("v1");
    let gateway =
        Gateway::from_config(config(&text), services().service("v1", v1.clone())).unwrap();
    let (status, headers, _) = call(&gateway, preflight("http://localhost:8080")).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:8080"
    );
    let (status, headers, _) = call(&gateway, preflight("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    assert_eq!(v1.calls(), 0);
}

fn cross_origin_delete(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::DELETE)
        .uri("/pets/1")
        .header(header::ORIGIN, origin)
        .body(Body::default())
        .unwrap()
}

#[tokio::test]
async fn the_origin_guard_refuses_what_cors_does_not_allow() {
    let text = format!("{PETS}\n[cors]\nallow_origins = [\"https://app.example.com\"]");
    let v1 = Named::new("v1");
    let gateway =
        Gateway::from_config(config(&text), services().service("v1", v1.clone())).unwrap();
    let refused = cross_origin_delete("https://evil.example");
    assert_eq!(call(&gateway, refused).await.0, StatusCode::FORBIDDEN);
    assert_eq!(v1.calls(), 0);
    let trusted = cross_origin_delete("https://app.example.com");
    assert_eq!(call(&gateway, trusted).await.2, "v1");
    assert_eq!(v1.calls(), 1);

    // A CORS change at run time is trusted by the guard too.
    let cors = tower_gateway::cors::CorsConfig::new().allow_origin("https://new.example.com");
    gateway.handle().cors().set(cors).unwrap();
    assert_eq!(
        call(&gateway, cross_origin_delete("https://new.example.com"))
            .await
            .2,
        "v1"
    );

    let off = format!("{PETS}\n[origin]\nenabled = false");
    let open = Gateway::from_config(config(&off), services()).unwrap();
    assert_eq!(
        call(&open, cross_origin_delete("https://evil.example"))
            .await
            .2,
        "v1"
    );
}

#[tokio::test]
async fn the_access_log_writes_one_line_per_request_naming_route_and_arm() {
    let sink = MemorySink::new();
    let text = r#"
        [[routes]]
        path = "/pets/{id}"
        service = "v1"
        canary = { service = "v2", weight = 100 }

        [access_log]
        format = "$context.status $context.routeKey $context.canaryArm"
        sink = "code"
    "#;
    let gateway =
        Gateway::from_config(config(text), services().access_log_sink(sink.clone())).unwrap();
    call(&gateway, request("GET", "/pets/3")).await;
    call(&gateway, request("GET", "/none")).await;
    assert_eq!(sink.lines(), ["200 ANY /pets/{id} canary", "404 - -"]);

    let error = Gateway::from_config(config(text), services()).unwrap_err();
    assert_eq!(error.problems()[0].location(), Some("access_log.sink"));
}

#[tokio::test]
async fn metrics_are_recorded_and_served_by_the_built_in_metrics_target() {
    let text = r#"
        [[routes]]
        name = "pet"
        path = "/pets/{id}"
        methods = ["GET"]
        service = "v1"

        [[routes]]
        path = "/metrics"
        methods = ["GET"]
        service = "metrics"

        [metrics]
    "#;
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    call(&gateway, request("GET", "/pets/1")).await;
    call(&gateway, request("GET", "/pets/2")).await;
    let (status, _, text) = call(&gateway, request("GET", "/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    let line = text
        .lines()
        .find(|l| l.starts_with("gateway_requests_total") && l.contains("/pets/{id}"))
        .unwrap_or_else(|| panic!("no pets series in:\n{text}"));
    assert!(line.ends_with(" 2"), "{line}");
    // The two calls and the scrape itself, recorded when its body ended.
    assert_eq!(gateway.handle().metrics().unwrap().total_requests(), 3);
}

#[tokio::test]
async fn unmatched_requests_go_to_the_fallback_service() {
    let text = format!("fallback = \"app\"\n{PETS}");
    let gateway = Gateway::from_config(config(&text), services()).unwrap();
    assert_eq!(
        call(&gateway, request("GET", "/legacy/page")).await.2,
        "app"
    );
    assert_eq!(call(&gateway, request("GET", "/pets/1")).await.2, "v1");
}

#[tokio::test]
async fn a_target_error_becomes_a_500_with_the_reason_in_the_extensions() {
    let failing = service_fn(|_: Request<Body>| async { Err::<Response<Body>, _>(Boom) });
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/f\"\nservice = \"failing\""),
        Services::new().service("failing", failing),
    )
    .unwrap();
    let response = gateway.oneshot(request("GET", "/f")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response
            .extensions()
            .get::<TargetError>()
            .unwrap()
            .message(),
        "boom"
    );
}

#[tokio::test]
async fn the_gateway_serves_under_axum_and_is_send_sync_clone() {
    fn assert_bounds<T: Clone + Send + Sync + 'static>(_: &T) {}
    let services = Services::<axum::body::Body>::new().service("v1", Named::new("v1"));
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/a\"\nservice = \"v1\""),
        services,
    )
    .unwrap();
    assert_bounds(&gateway);
    assert_bounds(&gateway.handle());
    let app = axum::Router::new().fallback_service(gateway);
    let response = app
        .oneshot(Request::get("/a").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "v1");
}

#[tokio::test]
async fn the_gateway_serves_real_http_through_hyper() {
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    let services = Services::<hyper::body::Incoming>::new().service("v1", Named::new("v1"));
    let gateway = Gateway::from_config(
        config("[[routes]]\npath = \"/a\"\nservice = \"v1\""),
        services,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(gateway))
            .await;
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /a HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut raw))
        .await
        .unwrap()
        .unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK"), "{raw}");
    assert!(raw.ends_with("v1"), "{raw}");
}

#[test]
fn the_configuration_round_trips_through_serde() {
    let original = config(PETS);
    let text = toml::to_string(&original).unwrap();
    assert_eq!(config(&text), original);
    let json = serde_json::to_string(&original).unwrap();
    assert_eq!(
        serde_json::from_str::<GatewayConfig>(&json).unwrap(),
        original
    );
    let _ = AccessLogConfig::new("json", "discard");
}

/// The demo's configuration file, with the services the demo registers: it must always build
/// (it has upstream routes).
#[cfg(feature = "upstream")]
#[test]
fn the_shipped_demo_config_builds() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let text = std::fs::read_to_string(path).expect("examples/gateway.toml");
    let config: GatewayConfig = toml::from_str(&text).expect("the demo config parses");
    let services = Services::<Body>::new()
        .service("pets-v1", Named::new("v1"))
        .service("pets-v2", Named::new("v2"))
        .service("legacy", Named::new("legacy"));
    let result = Gateway::from_config(config, services);
    #[cfg(feature = "upstream")]
    result.expect("the demo config builds");
    #[cfg(not(feature = "upstream"))]
    {
        let error = result.unwrap_err();
        let places: Vec<_> = error.problems().iter().map(|p| p.location()).collect();
        assert_eq!(places, [Some("routes[3].upstream")], "{error}");
    }
}

/// Starts a real HTTP server on 127.0.0.1:0 answering with the URI it received, or never
/// answering when `silent`.
#[cfg(feature = "upstream")]
async fn upstream_server(silent: bool) -> std::net::SocketAddr {
    use hyper_util::rt::TokioIo;
    common::listen(move |stream, _| async move {
        let service =
            hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| async move {
                if silent {
                    std::future::pending::<()>().await;
                }
                let forwarded = req
                    .headers()
                    .get("x-forwarded-host")
                    .map(|v| v.to_str().unwrap_or("").to_owned())
                    .unwrap_or_default();
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                    "{} {}",
                    req.uri(),
                    forwarded
                )))))
            });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    })
    .await
}

#[cfg(feature = "upstream")]
#[tokio::test]
async fn upstream_routes_forward_with_mapping_timeouts_and_failures() {
    let live = upstream_server(false).await;
    let silent = upstream_server(true).await;
    // A port with nothing listening (bound, not listening, for the whole test).
    let (_refusing, dead) = common::refusing_addr();
    let text = format!(
        r#"
        [[routes]]
        path = "/api/{{proxy+}}"
        upstream = "http://{live}/v2/{{proxy}}"

        [[routes]]
        path = "/inventory"
        nest = true
        upstream = "http://{live}/base"

        [[routes]]
        path = "/slow"
        upstream = "http://{silent}"
        timeout = "100ms"

        [[routes]]
        path = "/dead"
        upstream = "http://{dead}"
        "#
    );
    let gateway = Gateway::from_config(config(&text), services()).unwrap();
    let with_host = |uri: &str| {
        Request::get(uri)
            .header(header::HOST, "api.example.com")
            .body(Body::default())
            .unwrap()
    };
    let (status, _, body) = call(&gateway, with_host("/api/a/b?x=1")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "/v2/a/b?x=1 api.example.com")
    );
    let (status, _, body) = call(&gateway, with_host("/inventory/items?c=red")).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "/base/items?c=red api.example.com")
    );

    let response = gateway
        .clone()
        .oneshot(request("GET", "/slow"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let failure = response
        .extensions()
        .get::<tower_gateway::upstream::Failure>()
        .unwrap();
    assert_eq!(
        failure.kind(),
        tower_gateway::upstream::FailureKind::Timeout
    );

    let response = gateway
        .clone()
        .oneshot(request("GET", "/dead"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
}

#[cfg(feature = "upstream")]
#[test]
fn upstream_problems_are_reported_with_their_route() {
    let bad = config(
        r#"
        [[routes]]
        path = "/a"
        upstream = "ftp://files.example"

        [[routes]]
        path = "/b"
        upstream = "http://127.0.0.1:9"
        timeout = "soon"

        [[routes]]
        path = "/c"
        service = "v1"
        timeout = "5s"
        "#,
    );
    let error = Gateway::from_config(bad, services()).unwrap_err();
    let places: Vec<_> = error
        .problems()
        .iter()
        .filter_map(|p| p.location())
        .collect();
    assert!(
        places.iter().any(|p| p.starts_with("routes[0].upstream")),
        "{places:?}"
    );
    assert!(places.contains(&"routes[1].timeout"), "{places:?}");
    assert!(places.contains(&"routes[2].timeout"), "{places:?}");
}

#[tokio::test]
async fn metrics_survive_a_reload_that_keeps_the_section_and_bad_buckets_are_located() {
    let text = format!("{PETS}\n[metrics]\nbuckets = [0.01, 0.1, 1.0]");
    let gateway = Gateway::from_config(config(&text), services()).unwrap();
    call(&gateway, request("GET", "/pets/1")).await;
    let before = gateway.handle().metrics().unwrap();
    assert_eq!(before.total_requests(), 1);

    // Same section, other routes: the same registry, counts kept.
    let moved =
        "[[routes]]\npath = \"/moved\"\nservice = \"v2\"\n[metrics]\nbuckets = [0.01, 0.1, 1.0]";
    gateway.handle().reload(config(moved)).unwrap();
    call(&gateway, request("GET", "/moved")).await;
    assert_eq!(gateway.handle().metrics().unwrap().total_requests(), 2);

    // Disabled: the registry exists (for /metrics) but nothing is recorded.
    let off = "[[routes]]\npath = \"/moved\"\nservice = \"v2\"\n[metrics]\nenabled = false";
    gateway.handle().reload(config(off)).unwrap();
    call(&gateway, request("GET", "/moved")).await;
    assert_eq!(gateway.handle().metrics().unwrap().total_requests(), 0);

    let bad = format!("{PETS}\n[metrics]\nbuckets = [1.0, 0.5]");
    let error = gateway.handle().reload(config(&bad)).unwrap_err();
    assert!(
        error
            .problems()
            .iter()
            .all(|p| p.location().unwrap_or("").starts_with("metrics.buckets")),
        "{error}"
    );
    assert_eq!(
        gateway
            .handle()
            .config()
            .metrics
            .as_ref()
            .map(|m| m.enabled),
        Some(false)
    );
}

// ---- edge cases (audit, session 6): audit_gateway.rs

fn services_v1_v2() -> Services<Body> {
    Services::new()
        .service("v1", Named::new("v1"))
        .service("v2", Named::new("v2"))
}

fn located(text: &str) -> HashSet<(String, String)> {
    let error = Gateway::from_config(config(text), services_v1_v2()).unwrap_err();
    error
        .problems()
        .iter()
        .map(|p| (p.location().unwrap_or("?").to_owned(), p.value().to_owned()))
        .collect()
}

#[test]
fn every_bad_weight_and_origin_is_listed() {
    let found = located(
        r#"
        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "v2", weight = -5 }

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = "150%" }

        [[routes]]
        path = "/c"
        service = "v1"
        canary = { service = "nobody", weight = 5 }

        [cors]
        allow_origins = ["https://ok.example", "ftp//bad", "https://x.example/path"]
        "#,
    );
    for loc in [
        "routes[0].canary.weight",
        "routes[1].canary.weight",
        "routes[2].canary.service",
        "cors.allow_origins[1]",
        "cors.allow_origins[2]",
    ] {
        assert!(
            found.iter().any(|(l, _)| l == loc),
            "missing {loc} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn several_bad_templates_and_conflicts_in_one_pass() {
    let found = located(
        r#"
        [[routes]]
        path = "/x/{a}-{b}"
        service = "v1"
        [[routes]]
        path = "no-slash"
        service = "v1"
        [[routes]]
        path = "/f/{n}"
        methods = ["GET"]
        service = "v1"
        [[routes]]
        path = "/f/{*r}"
        methods = ["GET"]
        service = "v2"
        [[routes]]
        path = "/dup"
        service = "v1"
        [[routes]]
        path = "/dup"
        service = "v2"
        "#,
    );
    for loc in [
        "routes[0].path",
        "routes[1].path",
        "routes[3].path",
        "routes[5].path",
    ] {
        assert!(
            found.iter().any(|(l, _)| l == loc),
            "missing {loc} in {found:#?}"
        );
    }
}

#[tokio::test]
async fn layer_order_access_log_sees_preflights_and_refusals_and_cors_decorates_404() {
    let sink = MemorySink::new();
    let text = r#"
        [[routes]]
        path = "/pets/{id}"
        methods = ["GET", "DELETE"]
        service = "v1"

        [cors]
        allow_origins = ["https://app.example.com"]
        allow_methods = ["DELETE"]

        [access_log]
        format = "$context.httpMethod $context.status"
        sink = "code"
    "#;
    let gateway =
        Gateway::from_config(config(text), services_v1_v2().access_log_sink(sink.clone())).unwrap();
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "DELETE")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(preflight).await.unwrap();
    let pre_status = response.status();
    let _ = body_text(response.into_body()).await;
    let refused = Request::builder()
        .method(Method::DELETE)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let _ = body_text(response.into_body()).await;
    let missing = Request::builder()
        .uri("/nothing")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(missing).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let _ = body_text(response.into_body()).await;
    let not_allowed = Request::builder()
        .method(Method::PUT)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(not_allowed).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD, DELETE");
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
    let _ = body_text(response.into_body()).await;
    gateway.handle().flush_logs();
    assert_eq!(
        sink.lines(),
        [
            format!("OPTIONS {}", pre_status.as_u16()),
            "DELETE 403".to_owned(),
            "GET 404".to_owned(),
            "PUT 405".to_owned()
        ]
    );
}

#[tokio::test]
async fn head_through_the_gateway_keeps_content_length() {
    let text = r#"
        [[routes]]
        path = "/doc"
        methods = ["GET"]
        service = "v1"
    "#;
    let gateway = Gateway::from_config(config(text), services_v1_v2()).unwrap();
    let response = gateway.oneshot(request("HEAD", "/doc")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "2");
    assert_eq!(body_text(response.into_body()).await, "");
}

#[test]
fn json_config_works_too() {
    let config: GatewayConfig = serde_json::from_str(
        r#"{ "routes": [ { "path": "/a", "methods": ["GET"], "service": "v1" } ] }"#,
    )
    .unwrap();
    assert!(Gateway::from_config(config, services_v1_v2()).is_ok());
}

#[test]
fn each_repeat_of_a_route_is_located_at_itself() {
    let found = located(
        r#"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v1"
        [[routes]]
        path = "/other"
        service = "v1"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v2"
        [[routes]]
        path = "/dup"
        methods = ["GET"]
        service = "v1"
        "#,
    );
    let places: HashSet<&str> = found.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        places,
        HashSet::from(["routes[2].path", "routes[3].path"]),
        "{found:#?}"
    );
}

#[test]
fn upstream_urls_that_cannot_be_served_are_config_errors() {
    for url in [
        "https://example.com",
        "ftp://example.com",
        "example.com",
        "http://",
        "http://h:1/x?q=1",
    ] {
        let text = format!("[[routes]]\npath = \"/a\"\nupstream = \"{url}\"\n");
        let result = Gateway::from_config(config(&text), services_v1_v2());
        match result {
            Ok(_) => panic!("{url} accepted"),
            Err(e) => {
                assert_eq!(
                    e.problems()[0].location(),
                    Some("routes[0].upstream"),
                    "{url}: {e}"
                );
                eprintln!("{url}: {e}");
            }
        }
    }
}

#[tokio::test]
async fn cors_decorates_the_origin_guards_403() {
    let text = r#"
        [[routes]]
        path = "/pets/{id}"
        service = "v1"

        [cors]
        allow_origins = ["https://app.example.com"]

        [origin]
        trust_cors = false
    "#;
    let gateway = Gateway::from_config(config(text), services_v1_v2()).unwrap();
    let refused = Request::builder()
        .method(Method::DELETE)
        .uri("/pets/1")
        .header(header::ORIGIN, "https://app.example.com")
        .body(Body::default())
        .unwrap();
    let response = gateway.oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example.com"
    );
}

#[test]
fn a_lower_case_method_is_located_at_its_entry() {
    let found = located(
        r#"
        [[routes]]
        path = "/a"
        methods = ["POST", "get"]
        service = "v1"
        "#,
    );
    assert_eq!(
        found,
        HashSet::from([("routes[0].methods[1]".to_owned(), "get".to_owned())]),
    );
}

#[test]
fn unknown_fields_in_the_remaining_sections() {
    for text in [
        "[router]\ntrailing_slashes = \"ignore\"",
        "[metrics]\nbukets = [1.0]",
        "[canary]\nservice = \"v2\"\nweight = 1\nwieght = 2",
        "[[routes]]\npath = \"/\"\nupstream = \"http://127.0.0.1:1\"\ntimout = \"1s\"",
    ] {
        assert!(
            toml::from_str::<GatewayConfig>(text).is_err(),
            "accepted: {text}"
        );
    }
}

#[test]
fn weights_out_of_range_or_not_numbers() {
    for weight in ["nan", "inf", "100.5", "\"ten\"", "\"-1%\"", "\"101%\""] {
        let text = format!(
            "[[routes]]\npath = \"/a\"\nservice = \"v1\"\ncanary = {{ service = \"v2\", weight = {weight} }}\n"
        );
        let found = located(&text);
        assert!(
            found.iter().any(|(l, _)| l == "routes[0].canary.weight"),
            "{weight}: {found:#?}"
        );
    }
}

#[test]
fn an_upstream_placeholder_the_route_does_not_capture_is_an_error() {
    let found = located(
        r#"
        [[routes]]
        path = "/a/{id}"
        upstream = "http://127.0.0.1:1/items/{missing}"
        "#,
    );
    assert!(
        found.iter().any(|(l, _)| l == "routes[0].upstream"),
        "{found:#?}"
    );
}

#[cfg(feature = "upstream")]
#[test]
fn captured_placeholders_are_fine_and_canary_upstreams_are_checked_too() {
    let ok = r#"
        [[routes]]
        path = "/api/{proxy+}"
        upstream = "http://127.0.0.1:1/base/{proxy}"
        [[routes]]
        path = "/t/{tenant}/x/{*rest}"
        upstream = "http://127.0.0.1:1/{tenant}/{rest+}"
    "#;
    assert!(Gateway::from_config(config(ok), services_v1_v2()).is_ok());
    let found = located(
        r#"
        [[routes]]
        path = "/a/{id}"
        service = "v1"
        canary = { upstream = "http://127.0.0.1:1/{idd}", weight = 5 }
        "#,
    );
    assert!(
        found.iter().any(|(l, _)| l == "routes[0].canary.upstream"),
        "{found:#?}"
    );
}

#[tokio::test]
async fn a_failed_reload_with_another_metrics_section_keeps_the_registry_and_its_counts() {
    let section = "[metrics]\nbuckets = [0.01, 0.1, 1.0]";
    let gateway = Gateway::from_config(config(&format!("{PETS}\n{section}")), services()).unwrap();
    call(&gateway, request("GET", "/pets/1")).await;
    let before = gateway.handle().metrics().unwrap();

    // Valid buckets but an unknown service: the reload fails and must change nothing.
    let bad = "[[routes]]\npath = \"/x\"\nservice = \"ghost\"\n[metrics]\nbuckets = [0.5]";
    let error = gateway.handle().reload(config(bad)).unwrap_err();
    assert_eq!(error.problems().len(), 1, "{error}");

    // A later reload with the running section keeps the running registry and its counts.
    let moved = format!("[[routes]]\npath = \"/moved\"\nservice = \"v2\"\n{section}");
    gateway.handle().reload(config(&moved)).unwrap();
    call(&gateway, request("GET", "/moved")).await;
    let after = gateway.handle().metrics().unwrap();
    assert_eq!(after.total_requests(), 2);
    assert_eq!(before.total_requests(), 2, "the same registry as before");
}

#[tokio::test]
async fn a_reload_swaps_routes_cors_origin_log_format_and_weights_together() {
    let sink = MemorySink::new();
    let stack = |origin: &str, weight: u32, tag: &str| {
        format!(
            r#"
            [[routes]]
            name = "pet"
            path = "/pets/{{id}}"
            service = "v1"
            canary = {{ service = "v2", weight = {weight} }}

            [cors]
            allow_origins = ["{origin}"]

            [access_log]
            format = "{tag} $context.status $context.canaryArm"
            sink = "code"
            "#
        )
    };
    let gateway = Gateway::from_config(
        config(&stack("https://a.example", 0, "A")),
        services().access_log_sink(sink.clone()),
    )
    .unwrap();
    let handle = gateway.handle();
    assert_eq!(
        call(&gateway, cross_origin_delete("https://a.example"))
            .await
            .2,
        "v1"
    );
    assert_eq!(
        call(&gateway, cross_origin_delete("https://b.example"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Run-time changes survive a failed reload, which lists every problem.
    handle.canary("pet").unwrap().set_canary(50.0).unwrap();
    let mut bad = config(&stack("not an origin", 250, "B"));
    bad.routes[0].service = Some("ghost".to_owned());
    let error = handle.reload(bad).unwrap_err();
    let located: Vec<_> = error
        .problems()
        .iter()
        .map(|p| p.location().unwrap_or("").to_owned())
        .collect();
    assert!(located.iter().any(|l| l.starts_with("cors")), "{located:?}");
    assert!(
        located.iter().any(|l| l.starts_with("routes[0]")),
        "{located:?}"
    );
    assert!(error.problems().len() >= 3, "{error}");
    assert_eq!(
        handle.canary("pet").unwrap().canary_weight(),
        tower_gateway::canary::Weight::ppm(500_000)
    );
    assert_eq!(sink.take(), ["A 200 stable", "A 403 -"]);
    call(&gateway, cross_origin_delete("https://a.example")).await;
    assert!(sink.take()[0].starts_with("A 200 "));

    handle
        .reload(config(&stack("https://b.example", 100, "B")))
        .unwrap();
    let (status, _, body) = call(&gateway, cross_origin_delete("https://b.example")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "v2"));
    assert_eq!(
        call(&gateway, cross_origin_delete("https://a.example"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(sink.take(), ["B 200 canary", "B 403 -"]);
    assert_eq!(
        handle.canary("pet").unwrap().canary_weight(),
        tower_gateway::canary::Weight::FULL
    );
}

#[tokio::test]
async fn the_built_in_metrics_target_answers_head_and_refuses_post() {
    let text = "[[routes]]\npath = \"/metrics\"\nservice = \"metrics\"\n\n[metrics]";
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let (status, headers, body) = call(&gateway, request("HEAD", "/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        tower_gateway::metrics::CONTENT_TYPE
    );
    assert!(body.is_empty(), "{body}");
    let length: usize = headers[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(length > 0);

    let (status, headers, body) = call(&gateway, request("POST", "/metrics")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::ALLOW], "GET, HEAD");
    assert!(body.is_empty(), "{body}");
}

#[cfg(feature = "tracing")]
#[test]
fn the_access_log_sink_can_be_tracing_events() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let text = "[[routes]]\npath = \"/a\"\nservice = \"v1\"\n[access_log]\nformat = \"$context.status $context.path\"\nsink = \"tracing\"";
    let gateway = Gateway::from_config(config(text), services()).unwrap();
    let out = Out::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(call(&gateway, request("GET", "/a")));
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("INFO"), "{text}");
    assert!(text.contains("tower_gateway::access_log"), "{text}");
    assert!(text.trim_end().ends_with("200 /a"), "{text}");
}

#[test]
fn config_weights_read_back_exactly_in_ppm_and_invalid_run_time_weights_are_refused() {
    use tower_gateway::canary::Weight;
    for weight in ["\"0.57%\"", "0.57", "\"0.57\""] {
        let text = format!(
            "[[routes]]\nname = \"p\"\npath = \"/p\"\nservice = \"v1\"\ncanary = {{ service = \"v2\", weight = {weight} }}"
        );
        let gateway = Gateway::from_config(config(&text), services()).unwrap();
        let handle = gateway.handle().canary("p").unwrap();
        assert_eq!(handle.canary_weight(), Weight::ppm(5_700), "{weight}");
        assert_eq!(
            handle.weight("stable"),
            Some(Weight::ppm(994_300)),
            "{weight}"
        );
        assert_eq!(
            handle.weight("canary"),
            Some(Weight::ppm(5_700)),
            "{weight}"
        );

        for bad in [f64::NAN, f64::INFINITY, -1.0, 100.5, 0.000_01] {
            assert!(handle.set_canary(bad).is_err(), "{bad}");
        }
        assert!(handle.set_canary("ten").is_err());
        assert!(handle.set([("stable", 0), ("canary", 0)]).is_err());
        assert_eq!(handle.canary_weight(), Weight::ppm(5_700), "unchanged");
        // The configuration being served still says what the file said.
        assert!(gateway.handle().config().routes[0].canary.is_some());
    }
}

#[tokio::test]
async fn a_request_in_flight_is_logged_in_the_format_it_started_with() {
    let gated = Gated::default();
    let sink = MemorySink::new();
    let text = |tag: &str| {
        format!(
            "[[routes]]\npath = \"/r\"\nservice = \"gated\"\n[access_log]\nformat = \"{tag} $context.status\"\nsink = \"code\""
        )
    };
    let gateway = Gateway::from_config(
        config(&text("old")),
        services()
            .service("gated", gated.clone())
            .access_log_sink(sink.clone()),
    )
    .unwrap();
    let in_flight = tokio::spawn(gateway.clone().oneshot(request("GET", "/r")));
    tokio::task::yield_now().await;
    gateway.handle().reload(config(&text("new"))).unwrap();
    assert!(sink.is_empty());
    gated.open();
    let response = in_flight.await.unwrap().unwrap();
    body_text(response.into_body()).await;
    call(&gateway, request("GET", "/r")).await;
    assert_eq!(sink.take(), ["old 200", "new 200"]);
}

#[tokio::test]
async fn an_invalid_cors_policy_set_through_the_gateway_changes_nothing() {
    let text = format!(
        "{PETS}\n[cors]\nallow_origins = [\"http://localhost:*\"]\nallow_methods = [\"DELETE\"]"
    );
    let gateway = Gateway::from_config(config(&text), services()).unwrap();
    let cors = gateway.handle().cors();
    let bad = tower_gateway::cors::CorsConfig::new()
        .allow_origin("null")
        .allow_origin("not a url");
    let error = cors.set(bad).unwrap_err();
    assert!(error.problems().len() >= 2, "{error}");
    let (status, headers, _) = call(&gateway, preflight("http://localhost:8080")).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:8080"
    );
    assert!(gateway
        .handle()
        .cors()
        .allows_origin("http://localhost:3000"));

    // A reload applies the file's policy, replacing a run-time change.
    cors.set(tower_gateway::cors::CorsConfig::new().allow_origin("https://x.example"))
        .unwrap();
    assert!(!gateway
        .handle()
        .cors()
        .allows_origin("http://localhost:3000"));
    gateway.handle().reload(config(&text)).unwrap();
    assert!(gateway
        .handle()
        .cors()
        .allows_origin("http://localhost:3000"));
    assert!(!gateway.handle().cors().allows_origin("https://x.example"));
}

// ---- edge cases (audit, session 6): audit_o.rs

/// DESIGN 2.4 and 1: what one layer learns the others read, through the whole stack built
/// from config. The target sees `MatchedRoute`, `Arm` and `RequestId` on its request; the
/// answer carries the route and the arm in its extensions and the request id in its
/// `x-request-id` header (issue 7: "in the request extensions and on the response"); a guard
/// refusal carries an `origin::Rejection`, a refused preflight a `cors::Rejection`.
#[tokio::test]
async fn every_public_extension_is_where_the_design_puts_it_through_the_gateway() {
    use tower_gateway::access_log::RequestId;
    use tower_gateway::{cors, origin};
    let text = r#"
        [[routes]]
        name = "pet"
        path = "/pets/{id}"
        methods = ["GET", "POST"]
        service = "v1"
        canary = { service = "v2", weight = 0 }

        [cors]
        allow_origins = ["https://app.example.com"]
        allow_methods = ["POST"]

        [access_log]
        format = "$context.routeKey $context.status"
        sink = "code"
    "#;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen2 = seen.clone();
    let v1 = service_fn(move |req: Request<Body>| {
        let e = req.extensions();
        *seen2.lock().unwrap() = Some((
            e.get::<MatchedRoute>().map(|r| r.template().to_owned()),
            e.get::<Arm>().map(|a| a.is_canary()),
            e.get::<RequestId>().map(|id| id.as_str().to_owned()),
        ));
        async { Ok::<_, Infallible>(Response::new(Body::from("v1"))) }
    });
    let services = Services::new()
        .service("v1", v1)
        .service("v2", Named::new("v2"))
        .access_log_sink(MemorySink::new());
    let gateway = Gateway::from_config(config(text), services).unwrap();

    let req = Request::get("/pets/7")
        .header("x-request-id", "abc-1")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = seen.lock().unwrap().clone().expect("v1 called");
    assert_eq!(
        seen,
        (
            Some("/pets/{id}".to_owned()),
            Some(false),
            Some("abc-1".to_owned())
        )
    );
    let e = response.extensions();
    assert_eq!(e.get::<MatchedRoute>().unwrap().template(), "/pets/{id}");
    assert!(!e.get::<Arm>().unwrap().is_canary());
    assert_eq!(response.headers()["x-request-id"], "abc-1");
    assert!(e.get::<origin::Rejection>().is_none());
    assert!(e.get::<cors::Rejection>().is_none());

    let refused = Request::post("/pets/7")
        .header(header::ORIGIN, "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(refused).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.extensions().get::<origin::Rejection>().is_some());
    assert!(response.headers().contains_key("x-request-id"));
    assert!(response.extensions().get::<MatchedRoute>().is_none());

    let preflight = Request::options("/pets/7")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::default())
        .unwrap();
    let response = gateway.clone().oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.extensions().get::<cors::Rejection>().is_some());
    assert!(response.headers().contains_key("x-request-id"));
}

#[test]
fn bad_arm_names_are_located_at_their_field() {
    let found = located(
        r#"
        [canary]
        service = "v2"
        weight = 10
        stable_name = ""

        [[routes]]
        path = "/a"
        service = "v1"
        canary = { service = "v2", weight = 10, stable_name = "same", canary_name = "same" }

        [[routes]]
        path = "/b"
        service = "v1"
        canary = { service = "v2", weight = 10, canary_name = "a\u0001b", arm_header = "x-arm" }

        [[routes]]
        path = "/c"
        service = "v1"
        canary = { service = "v2", weight = 10, stable_name = "", canary_name = "" }
        "#,
    );
    let expected: HashSet<(String, String)> = [
        ("canary.stable_name", ""),
        ("routes[0].canary.canary_name", "same"),
        ("routes[1].canary.canary_name", "a\u{1}b"),
        ("routes[2].canary.stable_name", ""),
        ("routes[2].canary.canary_name", ""),
    ]
    .into_iter()
    .map(|(l, v)| (l.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(found, expected);
}

fn with_headers(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req = request(method, uri);
    for (name, value) in headers {
        req.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    req
}

#[tokio::test]
async fn the_router_and_origin_sections_behave_as_configured() {
    let gateway = Gateway::from_config(
        config(
            r#"
            [[routes]]
            path = "/pets"
            service = "v1"

            [[routes]]
            path = "/hooks"
            nest = true
            service = "v2"

            [router]
            trailing_slash = "redirect"
            merge_slashes = true
            case_insensitive = true
            not_found = "aws-json"

            [origin]
            trust_cors = false
            trusted_origins = ["https://admin.example.com"]
            public_origins = ["https://api.example.com"]
            bypass_paths = ["/hooks/"]
            trust_same_site = true
            strict = true
            "#,
        ),
        services_v1_v2(),
    )
    .unwrap();
    // Router policies.
    assert_eq!(call(&gateway, request("GET", "//PETS")).await.2, "v1");
    let (status, headers, _) = call(&gateway, request("GET", "/pets/")).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers[header::LOCATION], "/pets");
    let (status, headers, body) = call(&gateway, request("GET", "/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, r#"{"message":"Not Found"}"#);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    // Origin policies.
    let post = |headers: &[(&str, &str)]| with_headers("POST", "/pets", headers);
    let forbidden = StatusCode::FORBIDDEN;
    let ok = StatusCode::OK;
    for (req, want) in [
        (post(&[("origin", "https://evil.example")]), forbidden),
        (post(&[("origin", "https://admin.example.com")]), ok),
        (post(&[("origin", "https://api.example.com")]), ok),
        (post(&[("sec-fetch-site", "same-site")]), ok),
        (post(&[("sec-fetch-site", "cross-site")]), forbidden),
        // strict: a state-changing request with neither header is refused.
        (post(&[]), forbidden),
        (
            with_headers("POST", "/hooks/x", &[("origin", "https://evil.example")]),
            ok,
        ),
        (request("GET", "/pets"), ok),
    ] {
        let uri = req.uri().clone();
        let hs = format!("{:?}", req.headers());
        assert_eq!(call(&gateway, req).await.0, want, "{uri} {hs}");
    }
}

#[tokio::test]
async fn report_only_and_disabled_origin_guards_let_refusals_through() {
    for section in ["[origin]\nreport_only = true", "[origin]\nenabled = false"] {
        let gateway = Gateway::from_config(
            config(&format!(
                "[[routes]]\npath = \"/a\"\nservice = \"v1\"\n{section}"
            )),
            services_v1_v2(),
        )
        .unwrap();
        let req = with_headers("POST", "/a", &[("origin", "https://evil.example")]);
        assert_eq!(call(&gateway, req).await.2, "v1", "{section}");
    }
}

#[test]
fn the_typed_builder_sets_every_field_the_file_can() {
    let from_file = config(
        r#"
        port = 8080
        fallback = "v1"

        [canary]
        service = "v2"
        weight = 5
        sticky_cookie = "session"
        arm_header = "x-canary-arm"

        [[routes]]
        path = "/up"
        upstream = "http://127.0.0.1:9/base"
        timeout = "2s"
        connect_timeout = "1s"
        canary = { upstream = "http://127.0.0.1:9/v2", weight = 10, timeout = "3s" }

        [access_log]
        format = "common"
        sink = "discard"
        request_id_header = "x-request-id"
        "#,
    );
    let builder = Gateway::<Body>::builder()
        .port(8080)
        .fallback("v1")
        .canary(
            CanaryConfig::service("v2", 5.0)
                .sticky_cookie("session")
                .arm_header("x-canary-arm"),
        )
        .route(
            RouteConfig::new("/up")
                .upstream("http://127.0.0.1:9/base")
                .timeout("2s")
                .connect_timeout("1s")
                .canary(CanaryConfig::upstream("http://127.0.0.1:9/v2", 10.0).timeout("3s")),
        )
        .access_log(AccessLogConfig::new("common", "discard").request_id_header("x-request-id"));
    assert_eq!(*builder.config(), from_file);
}

#[tokio::test]
async fn metrics_outermost_count_preflights_and_refusals_and_the_stage_canary_arm() {
    let gateway = Gateway::from_config(
        config(
            r#"
            [[routes]]
            path = "/a"
            service = "v1"

            [canary]
            service = "v2"
            weight = 100

            [cors]
            allow_origins = ["https://app.example"]
            allow_methods = ["POST"]

            [metrics]
            "#,
        ),
        services_v1_v2(),
    )
    .unwrap();
    let preflight = with_headers(
        "OPTIONS",
        "/a",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ],
    );
    assert!(call(&gateway, preflight).await.0.is_success());
    let refused = with_headers("POST", "/a", &[("origin", "https://evil.example")]);
    assert_eq!(call(&gateway, refused).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&gateway, request("GET", "/a")).await.2, "v2");
    let registry = gateway.handle().metrics().unwrap();
    assert_eq!(registry.total_requests(), 3);
    let text = registry.render();
    assert!(text.contains(r#"status="200",arm="canary""#), "{text}");
    assert!(text.contains(r#"method="OPTIONS",status="204""#), "{text}");
    assert!(
        text.contains(r#"status="403",arm="",refusal="origin""#),
        "{text}"
    );
}

#[tokio::test]
async fn a_named_routes_canary_is_found_by_its_name_and_by_its_path() {
    let gateway = Gateway::from_config(
        config(
            r#"
            [[routes]]
            name = "pet"
            path = "/pets/{id}"
            service = "v1"
            canary = { service = "v2", weight = 0 }
            "#,
        ),
        services_v1_v2(),
    )
    .unwrap();
    let handle = gateway.handle();
    assert!(handle.canary("pet").is_some());
    assert!(handle.canary("/nope").is_none());
    assert!(handle.canary("").is_none(), "no stage canary");
    handle
        .canary("/pets/{id}")
        .unwrap()
        .set_canary(100.0)
        .unwrap();
    assert_eq!(call(&gateway, request("GET", "/pets/1")).await.2, "v2");
}

#[tokio::test]
async fn log_format_names_as_the_constructors_spell_them() {
    for (name, want) in [
        ("apache_common", "common"),
        ("apache-combined", "combined"),
        ("apache_combined", "combined"),
    ] {
        let lines = |format: &str| {
            let sink = MemorySink::new();
            let text = format!(
                "[[routes]]\npath = \"/a\"\nservice = \"v1\"\n\
                 [access_log]\nformat = \"{format}\"\nsink = \"code\""
            );
            let gateway = Gateway::from_config(
                config(&text),
                services_v1_v2().access_log_sink(sink.clone()),
            )
            .unwrap();
            (gateway, sink)
        };
        let (alias, alias_sink) = lines(name);
        let (plain, plain_sink) = lines(want);
        call(&alias, request("GET", "/a")).await;
        call(&plain, request("GET", "/a")).await;
        assert_eq!(alias_sink.lines().len(), 1, "{name}");
        let strip_time =
            |l: &String| l.split('[').next().unwrap().to_owned() + l.split(']').nth(1).unwrap();
        assert_eq!(
            alias_sink
                .lines()
                .iter()
                .map(strip_time)
                .collect::<Vec<_>>(),
            plain_sink
                .lines()
                .iter()
                .map(strip_time)
                .collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn underscore_spellings_of_modes_and_the_404_body() {
    let gateway = Gateway::from_config(
        config(
            r#"
            [[routes]]
            path = "/a"
            service = "v1"
            canary = { service = "v2", weight = 50, mode = "round_robin" }

            [[routes]]
            path = "/b"
            service = "v1"
            canary = { service = "v2", weight = 50, mode = "sticky_or_stable", sticky_header = "x-user" }

            [router]
            not_found = "aws_json"
            "#,
        ),
        services_v1_v2(),
    )
    .unwrap();
    let mut bodies = Vec::new();
    for _ in 0..4 {
        bodies.push(call(&gateway, request("GET", "/a")).await.2);
    }
    bodies.sort();
    assert_eq!(bodies, ["v1", "v1", "v2", "v2"], "round-robin is exact");
    // sticky-or-stable: no key, the stable arm.
    for _ in 0..4 {
        assert_eq!(call(&gateway, request("GET", "/b")).await.2, "v1");
    }
    let (status, _, body) = call(&gateway, request("GET", "/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, r#"{"message":"Not Found"}"#);
}
