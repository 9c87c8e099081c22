//! The cases written from the issue text (issue 3: the crate foundation and the Router), as an
//! independent tester would: from the issue text, the public docs and the standards, through the
//! public API only.

#![cfg(feature = "router")]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use common::{ok, respond};
use http::{header, Method, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::error::{ConfigError, ProblemKind};
use tower_gateway::router::{
    Decision, MatchedRoute, NotFoundBody, OriginalUri, Params, RouteKey, Router, TrailingSlash,
};

type Req = Request<Full<Bytes>>;
type Res = Response<Full<Bytes>>;
type R = Router<Full<Bytes>, Full<Bytes>, Infallible>;
/// A path, the route key that serves it, and its params.
type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// A target that records what it saw of the request: path and query, MatchedRoute, Params,
/// OriginalUri.
#[derive(Clone, Default)]
struct Spy {
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    uri: String,
    route: Option<MatchedRoute>,
    params: Option<Params>,
    original: Option<OriginalUri>,
}

impl Spy {
    fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the target was called")
    }
    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Service<Req> for Spy {
    type Response = Res;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Res, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.seen.lock().unwrap().push(Seen {
            method: req.method().clone(),
            uri: req.uri().to_string(),
            route: req.extensions().get::<MatchedRoute>().cloned(),
            params: req.extensions().get::<Params>().cloned(),
            original: req.extensions().get::<OriginalUri>().cloned(),
        });
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"spy")))))
    }
}

fn get(uri: &str) -> Req {
    Request::get(uri).body(Full::default()).unwrap()
}

fn req(method: Method, uri: &str) -> Req {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::default())
        .unwrap()
}

async fn text<B>(body: B) -> String
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn key_of<B>(response: &Response<B>) -> Option<String> {
    response
        .extensions()
        .get::<MatchedRoute>()
        .map(|r| r.key().to_owned())
}

fn aws_table() -> Router<Full<Bytes>, Full<Bytes>, Infallible> {
    Router::builder()
        .route("GET /pets/dog/1", ok("GET /pets/dog/1"))
        .route("GET /pets/dog/{id}", ok("GET /pets/dog/{id}"))
        .route("GET /pets/{proxy+}", ok("GET /pets/{proxy+}"))
        .route("ANY /{proxy+}", ok("ANY /{proxy+}"))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Foundation
// ---------------------------------------------------------------------------------------------

fn manifest_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cargo_manifest_has_the_metadata_and_one_feature_per_layer() {
    let manifest: toml::Value = toml::from_str(&manifest_file("Cargo.toml")).unwrap();
    let package = &manifest["package"];
    assert_eq!(package["edition"].as_str(), Some("2021"));
    for field in ["rust-version", "license", "description", "repository"] {
        assert!(
            package.get(field).and_then(|v| v.as_str()).is_some(),
            "{field}"
        );
    }
    for field in ["keywords", "categories"] {
        assert!(!package[field].as_array().unwrap().is_empty(), "{field}");
    }
    let features = manifest["features"].as_table().unwrap();
    let list = |name: &str| -> Vec<String> {
        features[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let layers = ["router", "cors", "origin", "canary", "access-log"];
    for layer in layers {
        assert!(features.contains_key(layer), "feature {layer}");
        assert!(
            list("default").iter().any(|f| f == layer),
            "default has {layer}"
        );
    }
    // `full` = everything: every other feature of the crate.
    let full = list("full");
    for name in features.keys().filter(|k| *k != "full" && *k != "default") {
        assert!(full.contains(name), "full has {name}");
    }
}

#[test]
fn lib_rs_forbids_unsafe_and_denies_missing_docs_and_opens_on_an_example() {
    let lib = manifest_file("src/lib.rs");
    assert!(lib.contains("#![forbid(unsafe_code)]"));
    assert!(lib.contains("#![deny(missing_docs)]"));
    let first_code = lib
        .lines()
        .find(|l| !l.starts_with("//!") || l.contains("```"));
    assert!(
        first_code.is_some_and(|l| l.contains("```")),
        "crate docs open on an example"
    );
}

#[test]
fn readme_gives_the_two_setup_commands_and_a_feature_table() {
    let readme = manifest_file("README.md");
    assert!(readme.contains("cargo run --example gateway"));
    assert!(readme.contains("cargo test"));
    assert!(readme.contains("| feature |"));
    let changelog = manifest_file("CHANGELOG.md");
    let first_heading = changelog
        .lines()
        .filter(|l| l.starts_with("# "))
        .nth(1)
        .unwrap_or_default();
    assert_eq!(first_heading, "# Unreleased");
    let example = manifest_file("examples/gateway.rs");
    assert!(example.contains("PORT") && example.contains("3000") && example.contains("127.0.0.1"));
    let ci = manifest_file(".ci/run");
    for step in [
        "cargo fmt",
        "cargo clippy",
        "--all-targets --all-features -- -D warnings",
        "cargo test",
        "RUSTDOCFLAGS=\"-D warnings\" cargo doc",
    ] {
        assert!(ci.contains(step), "{step}");
    }
}

#[test]
fn config_error_is_a_list_of_problems_naming_each_value() {
    let ok = ok("x");
    let error: ConfigError = Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
        .route("GET users", ok.clone())
        .route("GET /u/{id", ok.clone())
        .route("GET /x", ok.clone())
        .route("GET /x", ok)
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 3, "{error}");
    let values: Vec<&str> = error.problems().iter().map(|p| p.value()).collect();
    assert!(values[0].contains("users"), "{values:?}");
    assert!(values[1].contains("/u/{id"), "{values:?}");
    assert!(values[2].contains("/x"), "{values:?}");
    for problem in error.problems() {
        assert!(!problem.reason().is_empty());
        assert_eq!(problem.module(), "router");
    }
    for problem in error.problems() {
        // House style: `module: reason`, lower-case, no trailing period, the value quoted.
        let line = problem.to_string();
        assert!(line.starts_with("router: "), "{line}");
        assert!(!line.ends_with('.'), "{line}");
        assert!(line.contains(&format!("{:?}", problem.value())), "{line}");
    }
    let display = error.to_string();
    assert!(display.contains("users") && display.contains("/u/{id") && display.contains("/x"));
    // A plain std error: `?` into a boxed error, thread-safe, comparable, cloneable.
    fn is_error<E: std::error::Error + Send + Sync + Clone + PartialEq + 'static>(_: &E) {}
    is_error(&error);
    let boxed: Box<dyn std::error::Error + Send + Sync> = error.clone().into();
    assert_eq!(boxed.to_string(), display);
    // The root re-export is the same type.
    let _: &tower_gateway::ConfigError = &error;
    assert_eq!(error.into_iter().count(), 3);
}

#[test]
fn router_is_reexported_at_the_crate_root() {
    let router: tower_gateway::Router<Full<Bytes>, Full<Bytes>, Infallible> =
        tower_gateway::Router::builder()
            .route("GET /x", ok("x"))
            .build()
            .unwrap();
    assert_key(&router, Method::GET, "/x", Some("GET /x"));
}

#[test]
fn router_is_clone_send_sync_and_its_future_send() {
    fn check<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn future_send<F: Future + Send>(_: &F) {}
    let mut router = aws_table();
    check(&router);
    let future = router.call(get("/x"));
    future_send(&future);
}

// ---------------------------------------------------------------------------------------------
// Route keys and templates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn aws_keys_typed_keys_and_routekey_values_all_route() {
    let router = Router::builder()
        .route("GET /pets/{id}", ok("aws"))
        .route((Method::POST, "/pets/{id}"), ok("typed"))
        .route(RouteKey::new(Method::PUT, "/pets/{id}"), ok("routekey"))
        .route(
            (Method::DELETE, String::from("/pets/{id}")),
            ok("typed string"),
        )
        .route(RouteKey::any("/{proxy+}"), ok("any"))
        .build()
        .unwrap();
    for (method, want) in [
        (Method::GET, "aws"),
        (Method::POST, "typed"),
        (Method::PUT, "routekey"),
        (Method::DELETE, "typed string"),
        (Method::PATCH, "any"),
    ] {
        let response = respond(&router, req(method.clone(), "/pets/1")).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        assert_eq!(text(response.into_body()).await, want, "{method}");
    }
    let key: RouteKey = "ANY /{proxy+}".parse().unwrap();
    assert_eq!(key.method(), None);
    assert_eq!(key.to_string(), "ANY /{proxy+}");
}

#[tokio::test]
async fn typed_key_from_a_borrowed_method() {
    let method = Method::GET;
    let router = Router::builder()
        .route((&method, "/pets"), ok("pets"))
        .build()
        .unwrap();
    assert_key(&router, Method::GET, "/pets", Some("GET /pets"));
}

#[test]
fn template_forms_capture_their_params() {
    let spy = Spy::default();
    let router = Router::builder()
        .route("GET /pets/{id}", spy.clone())
        .route("GET /assets/{name}.css", spy.clone())
        .route("GET /img/img-{id}.png", spy.clone())
        .route("GET /files/{*rest}", spy.clone())
        .route("GET /aws/{proxy+}", spy.clone())
        .build()
        .unwrap();
    let cases: &[Case<'_>] = &[
        ("/pets/42", "GET /pets/{id}", &[("id", "42")]),
        (
            "/assets/site.css",
            "GET /assets/{name}.css",
            &[("name", "site")],
        ),
        ("/img/img-7.png", "GET /img/img-{id}.png", &[("id", "7")]),
        (
            "/files/a/b/c.txt",
            "GET /files/{*rest}",
            &[("rest", "a/b/c.txt")],
        ),
        ("/aws/x/y", "GET /aws/{proxy+}", &[("proxy", "x/y")]),
    ];
    for (path, key, params) in cases {
        let decision = router.at(&Method::GET, path);
        let m = decision
            .route()
            .unwrap_or_else(|| panic!("{path}: {decision:?}"));
        assert_eq!(m.route().key(), *key, "{path}");
        let got: Vec<(&str, &str)> = m.params().collect();
        assert_eq!(got, *params, "{path}");
    }
    // A prefix/suffix param needs at least one byte between its static parts.
    assert!(matches!(
        router.at(&Method::GET, "/assets/.css"),
        Decision::NotFound
    ));
    assert!(matches!(
        router.at(&Method::GET, "/img/img-.png"),
        Decision::NotFound
    ));
    assert!(matches!(
        router.at(&Method::GET, "/assets/site.js"),
        Decision::NotFound
    ));
    // Catch-alls match one or more bytes.
    assert!(matches!(
        router.at(&Method::GET, "/files/"),
        Decision::NotFound
    ));
    assert!(matches!(
        router.at(&Method::GET, "/files"),
        Decision::NotFound
    ));
}

#[tokio::test]
async fn params_and_matched_route_reach_the_target_and_the_response() {
    let spy = Spy::default();
    let router = Router::builder()
        .named_route("get-pet", "GET /owners/{owner}/pets/{id}", spy.clone())
        .build()
        .unwrap();
    let response = router
        .oneshot(get("/owners/ann/pets/7?full=1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = spy.last();
    let route = seen.route.expect("MatchedRoute on the request");
    assert_eq!(route.key(), "GET /owners/{owner}/pets/{id}");
    assert_eq!(route.route_key(), "GET /owners/{owner}/pets/{id}");
    assert_eq!(route.template(), "/owners/{owner}/pets/{id}");
    assert_eq!(route.name(), Some("get-pet"));
    let params = seen.params.expect("Params on the request");
    assert_eq!(params.get("owner"), Some("ann"));
    assert_eq!(params.get("id"), Some("7"));
    assert_eq!(params.get("nope"), None);
    assert_eq!(params.len(), 2);
    let pairs: Vec<_> = params.iter().collect();
    assert_eq!(pairs, [("owner", "ann"), ("id", "7")]);
    let on_response = response.extensions().get::<MatchedRoute>().unwrap();
    assert_eq!(on_response, &route);
    assert_eq!(on_response.name(), Some("get-pet"));
}

// ---------------------------------------------------------------------------------------------
// Most specific wins
// ---------------------------------------------------------------------------------------------

/// Asserts the route key `router` picks for `method path` (`None`: no route), naming both.
fn assert_key<B, ResB, E>(
    router: &Router<B, ResB, E>,
    method: Method,
    path: &str,
    want: Option<&str>,
) {
    assert_eq!(
        router.at(&method, path).route_key(),
        want,
        "{method} {path}"
    );
}

fn both_orders(routes: &[&'static str]) -> [Router<Full<Bytes>, Full<Bytes>, Infallible>; 2] {
    let build = |keys: Vec<&'static str>| {
        keys.into_iter()
            .fold(Router::builder(), |b, k| b.route(k, ok(k)))
            .build()
            .unwrap()
    };
    [
        build(routes.to_vec()),
        build(routes.iter().rev().copied().collect()),
    ]
}

#[tokio::test]
async fn priority_static_then_affix_then_param_then_catch_all_in_both_orders() {
    // `/p/{id}` next to `/p/{*rest}` is an ambiguous pair (the issue's `/f/{n}` and `/f/{*r}`),
    // so the param routes here go one segment deeper than the catch-all's first segment.
    let routes = [
        "GET /p/new/x",
        "GET /p/{id}.json/x",
        "GET /p/{id}/x",
        "GET /p/{*rest}",
    ];
    for router in both_orders(&routes) {
        for (path, want) in [
            ("/p/new/x", "GET /p/new/x"),
            ("/p/7.json/x", "GET /p/{id}.json/x"),
            ("/p/7/x", "GET /p/{id}/x"),
            ("/p/7/y", "GET /p/{*rest}"),
            ("/p/7", "GET /p/{*rest}"),
            ("/p/new/x/more", "GET /p/{*rest}"),
        ] {
            assert_eq!(
                router.at(&Method::GET, path).route_key(),
                Some(want),
                "{path}"
            );
            let response = respond(&router, get(path)).await;
            assert_eq!(text(response.into_body()).await, want, "{path}");
        }
    }
    for router in both_orders(&["GET /q/new", "GET /q/{id}.json", "GET /q/{id}"]) {
        assert_key(&router, Method::GET, "/q/new", Some("GET /q/new"));
        assert_key(
            &router,
            Method::GET,
            "/q/new.json",
            Some("GET /q/{id}.json"),
        );
        assert_key(&router, Method::GET, "/q/7", Some("GET /q/{id}"));
    }
}

#[test]
fn longest_static_part_first_among_affix_params() {
    for router in both_orders(&[
        "GET /f/{n}.gz",
        "GET /f/{n}.tar.gz",
        "GET /i/{n}.png",
        "GET /i/img-{n}.png",
    ]) {
        assert_key(
            &router,
            Method::GET,
            "/f/a.tar.gz",
            Some("GET /f/{n}.tar.gz"),
        );
        assert_key(&router, Method::GET, "/f/a.gz", Some("GET /f/{n}.gz"));
        assert_key(
            &router,
            Method::GET,
            "/i/img-1.png",
            Some("GET /i/img-{n}.png"),
        );
        assert_key(&router, Method::GET, "/i/pic.png", Some("GET /i/{n}.png"));
    }
}

#[test]
fn backtracking_serves_both_crossed_templates() {
    for router in both_orders(&["GET /a/b/{c}", "GET /a/{b}/c"]) {
        let at = router.at(&Method::GET, "/a/b/x");
        assert_eq!(at.route_key(), Some("GET /a/b/{c}"));
        assert_eq!(at.route().unwrap().param("c"), Some("x"));
        let at = router.at(&Method::GET, "/a/x/c");
        assert_eq!(at.route_key(), Some("GET /a/{b}/c"));
        assert_eq!(at.route().unwrap().param("b"), Some("x"));
        // Both match: static first segment wins.
        assert_key(&router, Method::GET, "/a/b/c", Some("GET /a/b/{c}"));
        assert!(matches!(
            router.at(&Method::GET, "/a/x/y"),
            Decision::NotFound
        ));
    }
    // A deeper dead end: the static branch fails at the last segment, the param branch serves.
    for router in both_orders(&["GET /v1/users/me/settings", "GET /v1/{x}/{y}/profile"]) {
        assert_key(
            &router,
            Method::GET,
            "/v1/users/me/profile",
            Some("GET /v1/{x}/{y}/profile"),
        );
    }
    // Backtracking from a param into a catch-all.
    for router in both_orders(&["GET /s/{id}/edit", "GET /s/{*rest}"]) {
        assert_key(&router, Method::GET, "/s/1/view", Some("GET /s/{*rest}"));
        assert_key(&router, Method::GET, "/s/1/edit", Some("GET /s/{id}/edit"));
    }
}

// ---------------------------------------------------------------------------------------------
// Methods, 405, HEAD, OPTIONS
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_aws_developer_guide_example() {
    let router = aws_table();
    for (method, path, want) in [
        (Method::GET, "/pets/dog/1", "GET /pets/dog/1"),
        (Method::GET, "/pets/dog/2", "GET /pets/dog/{id}"),
        (Method::GET, "/pets/cat/1", "GET /pets/{proxy+}"),
        (Method::POST, "/pets/dog/1", "ANY /{proxy+}"),
    ] {
        let response = respond(&router, req(method.clone(), path)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(key_of(&response).as_deref(), Some(want), "{method} {path}");
        assert_eq!(text(response.into_body()).await, want);
    }

    // Without the ANY route: 405, Allow: GET, HEAD, empty body.
    let router = Router::builder()
        .route("GET /pets/dog/1", ok("a"))
        .route("GET /pets/dog/{id}", ok("b"))
        .route("GET /pets/{proxy+}", ok("c"))
        .build()
        .unwrap();
    let response = respond(&router, req(Method::POST, "/pets/dog/1")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
    assert_eq!(response.headers().get_all(header::ALLOW).iter().count(), 1);
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(text(response.into_body()).await, "");
    match router.at(&Method::POST, "/pets/dog/1") {
        Decision::MethodNotAllowed(allowed) => {
            assert_eq!(allowed.to_string(), "GET, HEAD");
            let methods: Vec<&Method> = allowed.iter().collect();
            assert_eq!(methods, [&Method::GET, &Method::HEAD]);
            assert!(allowed.contains(&Method::GET));
            assert!(!allowed.contains(&Method::POST));
        }
        other => panic!("{other:?}"),
    }
    // No path matches at all: 404.
    let response = router.oneshot(req(Method::POST, "/cats")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn most_specific_among_routes_accepting_the_method() {
    for router in both_orders(&[
        "GET /pets/dog/1",
        "POST /pets/dog/{id}",
        "DELETE /pets/{proxy+}",
    ]) {
        assert_key(
            &router,
            Method::POST,
            "/pets/dog/1",
            Some("POST /pets/dog/{id}"),
        );
        assert_key(
            &router,
            Method::DELETE,
            "/pets/dog/1",
            Some("DELETE /pets/{proxy+}"),
        );
        let Decision::MethodNotAllowed(allowed) = router.at(&Method::PUT, "/pets/dog/1") else {
            panic!("405 expected")
        };
        assert!(allowed.contains(&Method::GET));
        assert!(!allowed.contains(&Method::PUT));
    }
    // An explicit method beats ANY on the same template; ANY takes the rest.
    for router in both_orders(&["ANY /x", "GET /x"]) {
        assert_key(&router, Method::GET, "/x", Some("GET /x"));
        assert_key(&router, Method::POST, "/x", Some("ANY /x"));
        assert_key(&router, Method::OPTIONS, "/x", Some("ANY /x"));
        let ext = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(router.at(&ext, "/x").route_key(), Some("ANY /x"));
    }
}

#[tokio::test]
async fn allow_lists_every_method_of_the_path_once() {
    let router = Router::builder()
        .route("GET /pets", ok("list"))
        .route("POST /pets", ok("create"))
        .route("DELETE /pets", ok("clear"))
        .build()
        .unwrap();
    let response = router.oneshot(req(Method::PUT, "/pets")).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.headers()[header::ALLOW]
        .to_str()
        .unwrap()
        .to_owned();
    let mut methods: Vec<&str> = allow.split(", ").collect();
    methods.sort_unstable();
    assert_eq!(methods, ["DELETE", "GET", "HEAD", "POST"]);
    assert_eq!(text(response.into_body()).await, "");
}

#[tokio::test]
async fn no_automatic_options() {
    let spy = Spy::default();
    let router = Router::builder()
        .route("GET /pets", spy.clone())
        .build()
        .unwrap();
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/pets")
        .header(header::ORIGIN, "https://a.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Full::default())
        .unwrap();
    let response = router.oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
    assert!(response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_METHODS)
        .is_none());
    assert_eq!(spy.calls(), 0);
}

#[tokio::test]
async fn get_serves_head_without_body_keeping_content_length() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen_method = Arc::new(Mutex::new(None));
    let target = {
        let calls = calls.clone();
        let seen_method = seen_method.clone();
        service_fn(move |r: Req| {
            calls.fetch_add(1, Ordering::SeqCst);
            *seen_method.lock().unwrap() = Some(r.method().clone());
            async move {
                let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, "5".parse().unwrap());
                Ok::<_, Infallible>(response)
            }
        })
    };
    let router = Router::builder()
        .route("GET /hello", target)
        .build()
        .unwrap();

    let response = respond(&router, req(Method::HEAD, "/hello")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "5");
    assert_eq!(key_of(&response).as_deref(), Some("GET /hello"));
    let body = response.into_body();
    assert!(body.is_end_stream() || body.size_hint().exact() == Some(0));
    assert_eq!(text(body).await, "");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The GET itself keeps its body.
    let response = router.oneshot(get("/hello")).await.unwrap();
    assert_eq!(text(response.into_body()).await, "hello");
}

#[tokio::test]
async fn head_via_get_fills_content_length_from_an_exact_body() {
    let router = Router::builder()
        .route("GET /hello", ok("hello"))
        .build()
        .unwrap();
    let response = router.oneshot(req(Method::HEAD, "/hello")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "5");
    assert_eq!(text(response.into_body()).await, "");
}

#[tokio::test]
async fn an_explicit_head_route_wins_over_get() {
    for router in both_orders(&["GET /r", "HEAD /r"]) {
        let response = respond(&router, req(Method::HEAD, "/r")).await;
        assert_eq!(key_of(&response).as_deref(), Some("HEAD /r"));
        assert_key(&router, Method::HEAD, "/r", Some("HEAD /r"));
        assert_key(&router, Method::GET, "/r", Some("GET /r"));
    }
    // HEAD-only route: GET is a 405 listing HEAD.
    let router = Router::builder().route("HEAD /h", ok("")).build().unwrap();
    let Decision::MethodNotAllowed(allowed) = router.at(&Method::GET, "/h") else {
        panic!("405")
    };
    assert_eq!(allowed.to_string(), "HEAD");
}

// ---------------------------------------------------------------------------------------------
// Byte-exact matching and the path policies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn byte_exact_by_default() {
    let router = Router::builder()
        .route("GET /pets", ok("pets"))
        .route("GET /pets/{id}", ok("pet"))
        .route("GET /files/{name}", ok("file"))
        .route("GET /a/b", ok("ab"))
        .build()
        .unwrap();
    let miss = |path: &str| matches!(router.at(&Method::GET, path), Decision::NotFound);
    // Case-sensitive.
    assert!(miss("/Pets"));
    assert!(miss("/PETS/1"));
    // No percent-decoding before matching: `%2F` never splits a segment.
    let at = router.at(&Method::GET, "/files/a%2Fb");
    assert_eq!(at.route_key(), Some("GET /files/{name}"));
    assert_eq!(at.route().unwrap().param("name"), Some("a%2Fb"));
    assert!(miss("/%70ets"));
    assert!(miss("/a%2Fb"));
    // No dot-segment resolution, no slash merging.
    assert!(miss("/a/../a/b"));
    assert!(miss("/a/./b"));
    assert_key(&router, Method::GET, "/pets/..", Some("GET /pets/{id}"));
    assert!(miss("//pets"));
    assert!(miss("/a//b"));
    // Trailing slash significant.
    assert!(miss("/pets/"));
    assert!(miss("/a/b/"));
    // Empty params never match.
    assert!(miss("/pets//"));
    assert!(miss("/files/"));
    // The query is ignored.
    assert_key(&router, Method::GET, "/pets?x=1", Some("GET /pets"));
    let response = respond(&router, get("/pets/7?q=a/b")).await;
    assert_eq!(text(response.into_body()).await, "pet");
    let response = router.oneshot(get("/Pets")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn trailing_slash_policies() {
    let build = |policy| {
        Router::builder()
            .route("GET /pets", ok("pets"))
            .route("GET /dir/", ok("dir"))
            .trailing_slash(policy)
            .build()
            .unwrap()
    };
    // Strict (the default).
    let strict = build(TrailingSlash::Strict);
    let response = strict.oneshot(get("/pets/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Redirect: 308 to the other form, query kept.
    let redirect = build(TrailingSlash::Redirect);
    let response = respond(&redirect, get("/pets/?a=1")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[header::LOCATION], "/pets?a=1");
    let response = respond(&redirect, get("/dir")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[header::LOCATION], "/dir/");
    let response = respond(&redirect, get("/pets")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = redirect.oneshot(get("/nothing/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Ignore: served by the route.
    let ignore = build(TrailingSlash::Ignore);
    let response = respond(&ignore, get("/pets/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response.into_body()).await, "pets");
    let response = ignore.oneshot(get("/dir")).await.unwrap();
    assert_eq!(text(response.into_body()).await, "dir");
}

#[tokio::test]
async fn merge_slashes_and_case_insensitive_policies() {
    let spy = Spy::default();
    let router = Router::builder()
        .route("GET /a/b/{id}", spy.clone())
        .merge_slashes(true)
        .build()
        .unwrap();
    let response = respond(&router, get("//a///b//7")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = spy.last();
    assert_eq!(seen.params.unwrap().get("id"), Some("7"));
    assert_key(&router, Method::GET, "/a//b/7", Some("GET /a/b/{id}"));

    let spy = Spy::default();
    let router = Router::builder()
        .route("GET /Pets/{name}", spy.clone())
        .case_insensitive(true)
        .build()
        .unwrap();
    let response = respond(&router, get("/PETS/Rex")).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Param values keep the request's case.
    assert_eq!(spy.last().params.unwrap().get("name"), Some("Rex"));
    assert_key(&router, Method::GET, "/pets/Rex", Some("GET /Pets/{name}"));
}

// ---------------------------------------------------------------------------------------------
// Params: raw and decoded
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn params_raw_always_decoded_on_request_and_invalid_utf8_is_not_a_miss() {
    let spy = Spy::default();
    let router = Router::builder()
        .route("GET /shops/{name}", spy.clone())
        .route("GET /raw/{*rest}", spy.clone())
        .build()
        .unwrap();
    respond(&router, get("/shops/caf%C3%A9")).await;
    let params = spy.last().params.unwrap();
    assert_eq!(params.get("name"), Some("caf%C3%A9"));
    assert_eq!(params.raw("name"), Some("caf%C3%A9"));
    assert_eq!(params.decoded("name").unwrap().unwrap(), "café");
    assert_eq!(params.decoded("name"), Some(Ok("café".into())));
    assert!(params.decoded("missing").is_none());

    respond(&router, get("/shops/a%2Fb%20c")).await;
    let params = spy.last().params.unwrap();
    assert_eq!(params.get("name"), Some("a%2Fb%20c"));
    assert_eq!(params.decoded("name").unwrap().unwrap(), "a/b c");

    // Invalid UTF-8 once decoded: the route still matches; decoding is the handler's error.
    let response = respond(&router, get("/shops/%FF")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let params = spy.last().params.unwrap();
    assert_eq!(params.get("name"), Some("%FF"));
    let error = params.decoded("name").unwrap().unwrap_err();
    assert!(error.to_string().contains("%FF"), "{error}");
    let _: &dyn std::error::Error = &error;

    // The same through the decision.
    let at = router.at(&Method::GET, "/raw/x%FFy/z");
    let m = at.route().unwrap();
    assert_eq!(m.param("rest"), Some("x%FFy/z"));
    assert!(m.decoded("rest").unwrap().is_err());
    assert_eq!(
        router
            .at(&Method::GET, "/raw/%E2%9C%93")
            .route()
            .unwrap()
            .decoded("rest")
            .unwrap()
            .unwrap(),
        "✓"
    );
}

// ---------------------------------------------------------------------------------------------
// The fallback, the 404 bodies, the Layer form
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn not_found_is_an_empty_404_by_default() {
    let router = Router::builder().route("GET /x", ok("x")).build().unwrap();
    let response = router.oneshot(get("/y")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert!(response.headers().get(header::CONTENT_TYPE).is_none());
    assert_eq!(text(response.into_body()).await, "");
}

#[tokio::test]
async fn not_found_with_the_aws_body() {
    let router = Router::builder()
        .route("GET /x", ok("x"))
        .not_found_body(NotFoundBody::AwsJson)
        .build()
        .unwrap();
    let response = respond(&router, get("/y")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "23");
    assert_eq!(
        text(response.into_body()).await,
        r#"{"message":"Not Found"}"#
    );
    // A 405 keeps its empty body.
    let response = router.oneshot(req(Method::POST, "/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(text(response.into_body()).await, "");
}

#[tokio::test]
async fn as_a_layer_the_wrapped_service_is_the_fallback() {
    let app = Spy::default();
    let table = Router::builder()
        .route("GET /pets/{id}", ok("pet"))
        .build()
        .unwrap();

    // Layer::layer directly.
    let gateway = table.layer(app.clone());
    let response = respond(&gateway, get("/about")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(text(response.into_body()).await, "spy");
    assert_eq!(app.calls(), 1);
    let seen = app.last();
    assert!(
        seen.route.is_none(),
        "no MatchedRoute when the fallback serves"
    );
    assert!(seen.params.is_none());
    assert_eq!(seen.uri, "/about");

    let response = respond(&gateway, get("/pets/1")).await;
    assert_eq!(text(response.into_body()).await, "pet");
    assert_eq!(app.calls(), 1);

    // 405 still answered by the table, not the app.
    let response = gateway
        .oneshot(req(Method::DELETE, "/pets/1"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.calls(), 1);

    // Through ServiceBuilder.
    let gateway = ServiceBuilder::new()
        .layer(table.clone())
        .service(app.clone());
    let response = gateway
        .oneshot(req(Method::POST, "/elsewhere"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.calls(), 2);
    assert_eq!(app.last().method, Method::POST);

    // The original table is unchanged: its own 404.
    let response = table.oneshot(get("/about")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn builder_fallback() {
    let router = Router::builder()
        .route("GET /x", ok("x"))
        .fallback(ok("fallback"))
        .build()
        .unwrap();
    let response = router.oneshot(get("/nope")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(text(response.into_body()).await, "fallback");
}

// ---------------------------------------------------------------------------------------------
// nest
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn nest_strips_the_prefix_and_keeps_the_original_uri() {
    let nested = Spy::default();
    let router = Router::builder()
        .nest("/api", nested.clone())
        .route("GET /api/health", ok("health"))
        .build()
        .unwrap();

    for (uri, want_uri) in [
        ("/api/users/7?x=1", "/users/7?x=1"),
        ("/api", "/"),
        ("/api/", "/"),
        ("/api/a%2Fb", "/a%2Fb"),
    ] {
        let response = respond(&router, get(uri)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let seen = nested.last();
        assert_eq!(seen.uri, want_uri, "{uri}");
        let original = seen.original.expect("OriginalUri");
        assert_eq!(original.0, uri.parse::<Uri>().unwrap());
        // As axum's `OriginalUri`, it dereferences to the URI.
        assert_eq!(original.path(), uri.split('?').next().unwrap());
        assert!(seen.route.is_some());
        assert!(response.extensions().get::<MatchedRoute>().is_some());
    }
    // A more specific route below the prefix wins.
    let calls = nested.calls();
    let response = respond(&router, get("/api/health")).await;
    assert_eq!(text(response.into_body()).await, "health");
    assert_eq!(nested.calls(), calls);
    // Not a prefix at a segment boundary.
    let response = respond(&router, get("/apix")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Every method goes to the nested service.
    router.oneshot(req(Method::PATCH, "/api/x")).await.unwrap();
    assert_eq!(nested.last().method, Method::PATCH);
    assert_eq!(nested.last().uri, "/x");
}

#[tokio::test]
async fn nest_keeps_an_absolute_form_uri_and_a_nested_router_routes_the_rest() {
    let inner_spy = Spy::default();
    let inner = Router::builder()
        .route("GET /users/{id}", inner_spy.clone())
        .build()
        .unwrap();
    // The outer table's response body is the inner router's `Body<Full<Bytes>>`.
    let outer = Router::builder().nest("/v1", inner).build().unwrap();
    let uri = "http://api.example.com/v1/users/9?y=2";
    let response = outer.oneshot(get(uri)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let seen = inner_spy.last();
    assert_eq!(seen.params.unwrap().get("id"), Some("9"));
    assert_eq!(seen.original.unwrap().0, uri.parse::<Uri>().unwrap());
    assert!(seen.uri.ends_with("/users/9?y=2"), "{}", seen.uri);
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

/// Never ready; counts its `poll_ready` calls.
#[derive(Clone, Default)]
struct NeverReady {
    polls: Arc<AtomicUsize>,
}

impl Service<Req> for NeverReady {
    type Response = Res;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Res, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }

    fn call(&mut self, _: Req) -> Self::Future {
        panic!("called while not ready")
    }
}

#[tokio::test]
async fn always_ready_and_the_target_readiness_is_driven_in_the_future() {
    let slow = NeverReady::default();
    let mut router = Router::builder()
        .route("GET /slow", slow.clone())
        .route("GET /fast", ok("fast"))
        .build()
        .unwrap();
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(matches!(router.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(
        slow.polls.load(Ordering::SeqCst),
        0,
        "no target polled up front"
    );

    let mut pending = router.call(get("/slow"));
    assert!(Pin::new(&mut pending).poll(&mut cx).is_pending());
    assert!(slow.polls.load(Ordering::SeqCst) >= 1);

    // The other route is not blocked by the slow one.
    let response = router
        .ready()
        .await
        .unwrap()
        .call(get("/fast"))
        .await
        .unwrap();
    assert_eq!(text(response.into_body()).await, "fast");
}

#[tokio::test]
async fn target_errors_pass_through_untouched() {
    #[derive(Debug, PartialEq)]
    struct Boom;
    let failing = service_fn(|_: Req| async { Err::<Res, Boom>(Boom) });
    let ok = service_fn(|_: Req| async {
        Ok::<_, Boom>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let router = Router::builder()
        .route("GET /boom", failing)
        .route("GET /ok", ok)
        .build()
        .unwrap();
    assert_eq!(
        router.clone().oneshot(get("/boom")).await.unwrap_err(),
        Boom
    );
    assert_eq!(respond(&router, get("/ok")).await.status(), 200);
    // The Router's own answers are responses, not errors.
    assert_eq!(respond(&router, get("/none")).await.status(), 404);
    assert_eq!(
        router
            .oneshot(req(Method::PUT, "/ok"))
            .await
            .unwrap()
            .status(),
        405
    );
}

// ---------------------------------------------------------------------------------------------
// Router::at
// ---------------------------------------------------------------------------------------------

#[test]
fn at_returns_the_decision_without_any_service() {
    let router = aws_table();
    let decision = router.at(&Method::GET, "/pets/dog/7");
    match &decision {
        Decision::Route(m) => {
            assert_eq!(m.route().key(), "GET /pets/dog/{id}");
            assert_eq!(m.route().template(), "/pets/dog/{id}");
            assert_eq!(m.param("id"), Some("7"));
            assert_eq!(m.params().collect::<Vec<_>>(), [("id", "7")]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(decision.route_key(), Some("GET /pets/dog/{id}"));

    let table = Router::builder()
        .route("GET /pets", ok("x"))
        .route("POST /pets", ok("x"))
        .build()
        .unwrap();
    assert!(matches!(
        table.at(&Method::GET, "/cats"),
        Decision::NotFound
    ));
    assert!(table.at(&Method::GET, "/cats").route().is_none());
    assert_key(&table, Method::GET, "/cats", None);
    match table.at(&Method::DELETE, "/pets") {
        Decision::MethodNotAllowed(allowed) => {
            assert_eq!(allowed.to_string(), "GET, HEAD, POST");
            assert_eq!(allowed.header_value(), "GET, HEAD, POST");
        }
        other => panic!("{other:?}"),
    }
    // The decision is a plain value: Debug prints the route.
    let debug = format!("{:?}", table.at(&Method::POST, "/pets"));
    assert!(debug.contains("POST /pets"), "{debug}");
    // A HEAD decision served by GET.
    let head = table.at(&Method::HEAD, "/pets");
    assert_eq!(head.route_key(), Some("GET /pets"));
    assert!(head.route().unwrap().is_head_via_get());
}

#[test]
fn the_decision_helpers() {
    let router = aws_table();
    let not_found = Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
        .route("GET /a", ok("a"))
        .build()
        .unwrap();
    assert!(not_found.at(&Method::GET, "/b").is_not_found());
    assert!(!not_found.at(&Method::GET, "/a").is_not_found());
    let d = not_found.at(&Method::POST, "/a");
    assert!(d.is_method_not_allowed());
    assert_eq!(d.allowed_methods().unwrap().to_string(), "GET, HEAD");
    assert!(router.at(&Method::GET, "/x").allowed_methods().is_none());
    assert_eq!(
        router.at(&Method::GET, "/pets/dog/3").param("id"),
        Some("3")
    );
    assert_eq!(not_found.at(&Method::GET, "/b").param("id"), None);
    // Decisions compare as values.
    assert_eq!(not_found.at(&Method::GET, "/b"), Decision::NotFound);
    assert_ne!(not_found.at(&Method::GET, "/a"), Decision::NotFound);
    assert_eq!(
        not_found.at(&Method::GET, "/a"),
        not_found.at(&Method::GET, "/a?x=1")
    );
    assert_ne!(
        router.at(&Method::GET, "/pets/dog/3"),
        router.at(&Method::GET, "/pets/dog/4")
    );
    assert_eq!(
        not_found.at(&Method::PUT, "/a"),
        not_found.at(&Method::DELETE, "/a"),
        "the same allowed methods"
    );
}

// ---------------------------------------------------------------------------------------------
// Build errors
// ---------------------------------------------------------------------------------------------

fn build_err(keys: &[&'static str]) -> ConfigError {
    keys.iter()
        .fold(
            Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder(),
            |b, k| b.route(*k, ok("x")),
        )
        .build()
        .expect_err("the table must be refused")
}

#[test]
fn each_malformed_template_is_one_problem_naming_it() {
    for bad in [
        "GET users",      // no leading slash
        "GET /u/{id",     // unclosed
        "GET /u/id}",     // stray closing brace
        "GET /u/{}",      // empty braces
        "GET /x/{a}-{b}", // two params in one segment
        "GET /x/{a}{b}",  // two params in one segment
        "GET /x/{*a}/b",  // catch-all not last
        "GET /x/{a+}/b",  // AWS catch-all not last
        "GET /x/pre{*a}", // catch-all not a whole segment
        "GET /x/{*}",     // empty catch-all name
        "GET /x/{a}/{a}", // a param name used twice
        "GET ",           // no template
        "GET /x y",       // whitespace
        "/pets",          // no method
        "GET  /pets",     // two spaces
    ] {
        let error = build_err(&[bad, "GET /fine/{id}"]);
        assert_eq!(error.problems().len(), 1, "{bad:?}: {error}");
        let problem = &error.problems()[0];
        assert_eq!(problem.value(), bad, "{bad:?}");
        assert!(
            error.to_string().contains(bad.trim_end()),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let error = build_err(&[
        "GET users",
        "GET /ok/{id}",
        "GET /u/{id",
        "GET /x/{*a}/b",
        "GET /dup",
        "GET /dup",
        "GET /m/{a}-{b}",
    ]);
    assert_eq!(error.problems().len(), 5, "{error}");
    let text = error.to_string();
    for part in ["users", "/u/{id", "/x/{*a}/b", "/dup", "/m/{a}-{b}"] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[test]
fn duplicates_and_ambiguous_pairs_name_both_routes() {
    let error = build_err(&["GET /x", "GET /x"]);
    assert_eq!(error.problems().len(), 1);
    assert_eq!(error.problems()[0].kind(), ProblemKind::Duplicate);

    // The same key in two spellings is still a duplicate.
    let error = Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
        .route("GET /x", ok("a"))
        .route((Method::GET, "/x"), ok("b"))
        .build()
        .unwrap_err();
    assert_eq!(error.problems().len(), 1);

    for (a, b) in [
        ("GET /u/{id}", "GET /u/{name}"),
        ("GET /f/{n}", "GET /f/{*r}"),
        ("GET /p/{a}.png", "GET /p/{b}.png"),
        ("GET /c/{*a}", "GET /c/{b+}"),
    ] {
        for (first, second) in [(a, b), (b, a)] {
            let error = build_err(&[first, second]);
            assert_eq!(error.problems().len(), 1, "{first} {second}: {error}");
            let problem = &error.problems()[0];
            assert_eq!(problem.kind(), ProblemKind::Conflict);
            let text = error.to_string();
            assert!(
                text.contains(first) && text.contains(second),
                "names both: {text}"
            );
            let mut named = [problem.value(), problem.related().unwrap_or_default()];
            named.sort_unstable();
            let mut want = [first, second];
            want.sort_unstable();
            assert_eq!(named, want);
        }
    }
    // Different methods on the same shape do not conflict.
    Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
        .route("GET /u/{id}", ok("a"))
        .route("POST /u/{name}", ok("b"))
        .build()
        .unwrap();
}

#[test]
fn any_number_of_params() {
    for n in [1usize, 25, 26, 27, 40, 100] {
        let template: String = (0..n).map(|i| format!("/{{p{i}}}")).collect();
        let key = format!("GET {template}");
        let router = Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
            .route(key.as_str(), ok("x"))
            .build()
            .unwrap_or_else(|e| panic!("{n} params: {e}"));
        let path: String = (0..n).map(|i| format!("/v{i}")).collect();
        let at = router.at(&Method::GET, &path);
        let m = at.route().unwrap_or_else(|| panic!("{n} params miss"));
        assert_eq!(m.params().count(), n);
        let last = format!("p{}", n - 1);
        let want = format!("v{}", n - 1);
        assert_eq!(m.param(&last), Some(want.as_str()));
    }
}

// ---------------------------------------------------------------------------------------------
// Scale
// ---------------------------------------------------------------------------------------------

fn load(file: &str) -> (usize, Result<R, ConfigError>) {
    let data = common::shared_data(file);
    let keys: Vec<String> = data
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let n = keys.len();
    let built = keys
        .into_iter()
        .fold(Router::builder(), |b, k| b.route(k, ok("x")))
        .build();
    (n, built)
}

#[test]
fn github_full_routes_load() {
    let (n, built) = load("github-full-routes.txt");
    assert_eq!(n, 239);
    let router = built.unwrap();
    assert_eq!(router.route_keys().count(), 239);
    assert_eq!(
        router
            .at(&Method::GET, "/repos/rust-lang/rust/issues")
            .route_key(),
        Some("GET /repos/{owner}/{repo}/issues")
    );
}

#[test]
fn gitlab_routes_load_or_fail_precisely() {
    let (n, built) = load("gitlab-routes.txt");
    assert_eq!(n, 3562);
    match built {
        Ok(router) => assert_eq!(router.route_keys().count(), n),
        Err(error) => {
            // One precise problem per offending route, each naming a route of the file.
            let data = common::shared_data("gitlab-routes.txt");
            let mut values: Vec<&str> = error.problems().iter().map(|p| p.value()).collect();
            for v in &values {
                assert!(
                    data.lines().any(|l| l.trim() == *v),
                    "{v:?} is a route of the file"
                );
            }
            let before = values.len();
            values.sort_unstable();
            values.dedup();
            assert_eq!(values.len(), before, "one problem per route");
            assert!(before < n);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn odd_request_targets_get_an_answer_never_a_panic() {
    let router = Router::builder()
        .route("GET /x", ok("x"))
        .route("GET /pets/{id}", ok("pet"))
        .route("GET /files/{*rest}", ok("file"))
        .build()
        .unwrap();
    for (uri, want) in [
        ("//x", 404),
        ("/..", 404),
        ("/pets/%FF", 200),
        ("/pets/%", 200),
        ("/pets/%ZZ", 200),
        ("/%FF", 404),
        ("*", 404),
        ("http://example.com/pets/1", 200),
        ("http://example.com", 404),
        ("/files/../../etc/passwd", 200),
    ] {
        let method = if uri == "*" {
            Method::OPTIONS
        } else {
            Method::GET
        };
        let response = respond(&router, req(method, uri)).await;
        assert_eq!(response.status(), want, "{uri}");
    }
    // 60 KB paths.
    let long = format!("/{}", "a".repeat(60 * 1024));
    let response = respond(&router, get(&long)).await;
    assert_eq!(response.status(), 404);
    let long = format!("/files/{}", "a/".repeat(30 * 1024));
    let response = respond(&router, get(&long)).await;
    assert_eq!(response.status(), 200);
    let long = format!("/pets/{}", "%FF".repeat(20 * 1024));
    let response = respond(&router, get(&long)).await;
    assert_eq!(response.status(), 200);
    // Authority-form (CONNECT).
    let connect = Request::builder()
        .method(Method::CONNECT)
        .uri("example.com:443")
        .body(Full::default())
        .unwrap();
    let response = respond(&router, connect).await;
    assert_eq!(response.status(), 404);
    // Non-UTF-8 bytes in the path, if `http` lets them through.
    if let Ok(uri) = Uri::from_maybe_shared(Bytes::from_static(b"/pets/\xff\xfe")) {
        let mut request = get("/");
        *request.uri_mut() = uri;
        let response = respond(&router, request).await;
        assert!(matches!(response.status().as_u16(), 200 | 404));
    }
    // A catch-all route over everything does not serve `*`.
    let all = Router::builder()
        .route("ANY /{proxy+}", ok("all"))
        .build()
        .unwrap();
    let response = all.oneshot(req(Method::OPTIONS, "*")).await.unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn at_on_odd_strings_never_panics() {
    let router = aws_table();
    for path in [
        "",
        "*",
        "x",
        "/",
        "//",
        "/pets/",
        "/pets//",
        "/\u{0}",
        "/é/ü",
        "/pets/dog/%",
    ] {
        let _ = router.at(&Method::GET, path);
    }
    assert!(matches!(router.at(&Method::GET, ""), Decision::NotFound));
    assert!(matches!(router.at(&Method::GET, "*"), Decision::NotFound));
}

// ---------------------------------------------------------------------------------------------
// Composed: in front of an axum app, and served by hyper
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn router_as_a_layer_in_front_of_an_axum_app() {
    use axum::body::Body as AxumBody;
    let reply_axum = |t: &'static str| {
        service_fn(move |_: Request<AxumBody>| async move {
            Ok::<_, Infallible>(Response::new(AxumBody::from(t)))
        })
    };
    let app = axum::Router::new()
        .route("/about", axum::routing::get(|| async { "about" }))
        .route(
            "/seen",
            axum::routing::get(|req: Request<AxumBody>| async move {
                format!("{}", req.extensions().get::<MatchedRoute>().is_some())
            }),
        );
    let table = Router::builder()
        .route("GET /pets/{id}", reply_axum("pet"))
        .build()
        .unwrap();

    let gateway = ServiceBuilder::new()
        .layer(table.clone())
        .service(app.clone());
    let call = |uri: &str, method: Method| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(AxumBody::empty())
            .unwrap()
    };
    let response = respond(&gateway, call("/pets/3", Method::GET)).await;
    assert_eq!(key_of(&response).as_deref(), Some("GET /pets/{id}"));
    assert_eq!(text(response.into_body()).await, "pet");
    let response = respond(&gateway, call("/about", Method::GET)).await;
    assert_eq!(text(response.into_body()).await, "about");
    let response = respond(&gateway, call("/seen", Method::GET)).await;
    assert_eq!(text(response.into_body()).await, "false");
    let response = respond(&gateway, call("/missing", Method::GET)).await;
    assert_eq!(response.status(), 404, "axum's own 404");
    let response = gateway
        .oneshot(call("/pets/3", Method::DELETE))
        .await
        .unwrap();
    assert_eq!(response.status(), 405);

    // And as the outer service of an axum app via `axum::Router::layer`... the other way round:
    // the table's Router is itself a tower Service an axum app can mount as a fallback.
    let mounted = axum::Router::new()
        .route("/about", axum::routing::get(|| async { "about" }))
        .fallback_service(table);
    let response = respond(&mounted, call("/pets/5", Method::GET)).await;
    assert_eq!(text(response.into_body()).await, "pet");
    let response = mounted.oneshot(call("/none", Method::GET)).await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn served_through_tower_to_hyper_service() {
    use hyper::body::Incoming;

    let target = service_fn(|req: Request<Incoming>| async move {
        let id = req
            .extensions()
            .get::<Params>()
            .and_then(|p| p.get("id"))
            .unwrap_or("?")
            .to_owned();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!("pet {id}")))))
    });
    let router = Router::builder()
        .route("GET /pets/{id}", target)
        .build()
        .unwrap();

    let send = |method: Method, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "test")
            .body(Full::<Bytes>::default())
            .unwrap()
    };
    let answers = common::over_http1(
        router,
        vec![
            send(Method::GET, "/pets/42"),
            send(Method::HEAD, "/pets/42"),
            send(Method::POST, "/pets/42"),
            send(Method::GET, "/nope"),
        ],
    )
    .await;

    let (status, _, body) = &answers[0];
    assert_eq!(*status, 200);
    assert_eq!(body, "pet 42");

    let (status, headers, body) = &answers[1];
    assert_eq!(*status, 200);
    assert_eq!(headers[header::CONTENT_LENGTH], "6");
    assert_eq!(body, "");

    let (status, headers, body) = &answers[2];
    assert_eq!(*status, 405);
    assert_eq!(headers[header::ALLOW], "GET, HEAD");
    assert_eq!(body, "");

    let (status, _, body) = &answers[3];
    assert_eq!(*status, 404);
    assert_eq!(body, "");
}

#[tokio::test]
async fn router_through_axum_router_layer() {
    use axum::body::Body as AxumBody;
    let pet = service_fn(|_: Request<AxumBody>| async {
        Ok::<_, Infallible>(Response::new(AxumBody::from("pet")))
    });
    let table = Router::builder()
        .route("GET /pets/{id}", pet)
        .build()
        .unwrap();
    // `axum::Router::layer`: every axum route (and axum's fallback) gets the table in front.
    let app = axum::Router::new()
        .route("/about", axum::routing::get(|| async { "about" }))
        .layer(table);
    let call = |method: Method, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(AxumBody::empty())
            .unwrap()
    };
    let response = respond(&app, call(Method::GET, "/pets/1")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(key_of(&response).as_deref(), Some("GET /pets/{id}"));
    assert_eq!(text(response.into_body()).await, "pet");
    let response = respond(&app, call(Method::GET, "/about")).await;
    assert_eq!(text(response.into_body()).await, "about");
    let response = respond(&app, call(Method::DELETE, "/pets/1")).await;
    assert_eq!(response.status(), 405);
    let response = app.oneshot(call(Method::GET, "/nothing")).await.unwrap();
    assert_eq!(response.status(), 404);
}

/// RFC 9110 §10.2.2 / WHATWG URL: a `Location` of `//host` or `/\host` is read by browsers as
/// another host. The trailing-slash redirect must never point off-site (an open redirect).
#[tokio::test]
async fn trailing_slash_redirect_never_points_to_another_host() {
    for (route, path) in [
        ("GET /{user}", "/\\evil.example/"),
        ("GET /{dir}/", "/\\evil.example"),
        ("GET //evil.example", "//evil.example/"),
        ("GET //evil.example/", "//evil.example"),
    ] {
        let app = Spy::default();
        let router = Router::builder()
            .route(route, ok("route"))
            .trailing_slash(TrailingSlash::Redirect)
            .build()
            .unwrap();
        let decision = router.at(&Method::GET, path);
        assert!(
            !matches!(decision, Decision::Redirect(_)),
            "{path}: {decision:?}"
        );
        let response = respond(&router, get(path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{route} {path}");
        assert!(response.headers().get(header::LOCATION).is_none(), "{path}");
        let response = respond(&router.layer(app.clone()), get(path)).await;
        assert_eq!(
            text(response.into_body()).await,
            "spy",
            "{path}: the fallback serves"
        );
    }
    // Ordinary redirects still happen, also next to a catch-all.
    let router = Router::builder()
        .route("GET /{user}", ok("user"))
        .route("GET /docs/{*rest}", ok("docs"))
        .route("GET /docs/x/", ok("docs-x"))
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    let response = respond(&router, get("/ann/")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[header::LOCATION], "/ann");
    let response = respond(&router, get("/docs/x")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[header::LOCATION], "/docs/x/");
    // A catch-all route does not redirect off-site either; it serves the path itself.
    let router = Router::builder()
        .route("GET /{*rest}", ok("all"))
        .route("GET //evil.example/", ok("odd"))
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    let response = router.oneshot(get("//evil.example")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response.into_body()).await, "all");
}
