#![cfg(feature = "router")]
//! Integration tests of the Router through its public API.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::{body_text, echo_key, request, shared_data, Gated, Named, Target};
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Service, ServiceExt};
use tower_gateway::error::ProblemKind;
use tower_gateway::router::{
    Decision, MatchedRoute, NotFoundBody, OriginalUri, Params, Rejection, RejectionKind, RouteKey,
    Router, RouterBuilder, TrailingSlash,
};
use tower_gateway::ConfigError;

type Req = Full<Bytes>;
type R = Router<Req, Full<Bytes>, Infallible>;

fn builder(keys: &[&str]) -> RouterBuilder<Req, Full<Bytes>, Infallible> {
    keys.iter()
        .fold(Router::builder(), |b, k| b.route(*k, echo_key()))
}

fn router(keys: &[&str]) -> R {
    builder(keys).build().expect("table builds")
}

fn winner(r: &R, method: Method, path: &str) -> Option<String> {
    r.at(&method, path).route_key().map(str::to_owned)
}

fn errors(keys: &[&str]) -> ConfigError {
    builder(keys).build().expect_err("table must be refused")
}

async fn call(r: &R, method: &str, uri: &str) -> Response<tower_gateway::body::Body<Full<Bytes>>> {
    r.clone().oneshot(request(method, uri)).await.unwrap()
}

// ---------- the AWS developer guide's own example ----------

const AWS: [&str; 4] = [
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /{proxy+}",
];

#[test]
fn aws_example_priorities() {
    let r = router(&AWS);
    let cases = [
        (Method::GET, "/pets/dog/1", "GET /pets/dog/1"),
        (Method::GET, "/pets/dog/2", "GET /pets/dog/{id}"),
        (Method::GET, "/pets/cat/1", "GET /pets/{proxy+}"),
        (Method::POST, "/pets/dog/1", "ANY /{proxy+}"),
        (Method::GET, "/pets/dog", "GET /pets/{proxy+}"),
        (Method::GET, "/other", "ANY /{proxy+}"),
    ];
    for (m, p, want) in cases {
        assert_eq!(winner(&r, m.clone(), p).as_deref(), Some(want), "{m} {p}");
    }
}

#[tokio::test]
async fn aws_example_without_any_is_405_with_allow() {
    let r = router(&AWS[..3]);
    let response = call(&r, "POST", "/pets/dog/1").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    assert_eq!(
        response
            .extensions()
            .get::<Rejection>()
            .map(Rejection::kind),
        Some(RejectionKind::MethodNotAllowed)
    );
    assert_eq!(body_text(response.into_body()).await, "");
}

#[test]
fn insertion_order_does_not_matter() {
    let mut keys = vec![
        "GET /assets/{name}.css",
        "GET /assets/{name}/info",
        "GET /assets/app.css",
        "GET /assets/{*rest}",
        "GET /assets/main-{v}.css",
        "GET /assets/x/{name}",
    ];
    let paths = [
        ("/assets/app.css", "GET /assets/app.css"),
        ("/assets/main-3.css", "GET /assets/main-{v}.css"),
        ("/assets/site.css", "GET /assets/{name}.css"),
        ("/assets/logo/info", "GET /assets/{name}/info"),
        ("/assets/logo.png", "GET /assets/{*rest}"),
        ("/assets/x/y/z", "GET /assets/{*rest}"),
        ("/assets/x/y", "GET /assets/x/{name}"),
    ];
    for _ in 0..keys.len() {
        keys.rotate_left(1);
        let r = router(&keys);
        for (p, want) in paths {
            assert_eq!(
                winner(&r, Method::GET, p).as_deref(),
                Some(want),
                "{p} {keys:?}"
            );
        }
        let mut reversed = keys.clone();
        reversed.reverse();
        let r = router(&reversed);
        for (p, want) in paths {
            assert_eq!(
                winner(&r, Method::GET, p).as_deref(),
                Some(want),
                "{p} {reversed:?}"
            );
        }
    }
}

#[test]
fn static_beats_param_beats_catch_all_per_segment() {
    for keys in [
        ["GET /u/me", "GET /u/{id}/posts", "GET /u/{*rest}"],
        ["GET /u/{*rest}", "GET /u/{id}/posts", "GET /u/me"],
    ] {
        let r = router(&keys);
        assert_eq!(
            winner(&r, Method::GET, "/u/me").as_deref(),
            Some("GET /u/me")
        );
        assert_eq!(
            winner(&r, Method::GET, "/u/7/posts").as_deref(),
            Some("GET /u/{id}/posts")
        );
        assert_eq!(
            winner(&r, Method::GET, "/u/7").as_deref(),
            Some("GET /u/{*rest}")
        );
        assert_eq!(
            winner(&r, Method::GET, "/u/me/posts").as_deref(),
            Some("GET /u/{id}/posts"),
            "backtracks from the static `me` into the param"
        );
    }
}

#[test]
fn backtracking_both_directions() {
    for keys in [
        ["GET /a/b/{c}", "GET /a/{b}/c"],
        ["GET /a/{b}/c", "GET /a/b/{c}"],
    ] {
        let r = router(&keys);
        assert_eq!(
            winner(&r, Method::GET, "/a/b/x").as_deref(),
            Some("GET /a/b/{c}")
        );
        assert_eq!(
            winner(&r, Method::GET, "/a/x/c").as_deref(),
            Some("GET /a/{b}/c")
        );
        assert_eq!(
            winner(&r, Method::GET, "/a/b/c").as_deref(),
            Some("GET /a/b/{c}")
        );
    }
}

#[test]
fn affix_longest_static_part_first() {
    let r = router(&[
        "GET /img/{id}.png",
        "GET /img/img-{id}.png",
        "GET /img/img-{id}",
    ]);
    let d = r.at(&Method::GET, "/img/img-42.png");
    assert_eq!(d.route_key(), Some("GET /img/img-{id}.png"));
    assert_eq!(d.route().unwrap().param("id"), Some("42"));
    assert_eq!(
        winner(&r, Method::GET, "/img/logo.png").as_deref(),
        Some("GET /img/{id}.png")
    );
    assert_eq!(
        winner(&r, Method::GET, "/img/img-7.gif").as_deref(),
        Some("GET /img/img-{id}")
    );
    // The param part is never empty.
    assert_eq!(winner(&r, Method::GET, "/img/.png"), None);
    assert_eq!(winner(&r, Method::GET, "/img/img-"), None);
}

#[test]
fn affix_ties_on_length_go_to_the_longer_prefix_in_both_orders() {
    for keys in [
        ["GET /t/ab{p}", "GET /t/{p}.y"],
        ["GET /t/{p}.y", "GET /t/ab{p}"],
    ] {
        let r = router(&keys);
        assert_eq!(
            winner(&r, Method::GET, "/t/abz.y").as_deref(),
            Some("GET /t/ab{p}")
        );
        assert_eq!(
            winner(&r, Method::GET, "/t/z.y").as_deref(),
            Some("GET /t/{p}.y")
        );
    }
}

#[test]
fn method_specific_route_among_matching_paths() {
    let r = router(&[
        "GET /items/{id}",
        "DELETE /items/{*rest}",
        "ANY /items/special",
    ]);
    assert_eq!(
        winner(&r, Method::DELETE, "/items/1").as_deref(),
        Some("DELETE /items/{*rest}")
    );
    assert_eq!(
        winner(&r, Method::DELETE, "/items/special").as_deref(),
        Some("ANY /items/special")
    );
    assert_eq!(
        winner(&r, Method::GET, "/items/1").as_deref(),
        Some("GET /items/{id}")
    );
}

#[test]
fn explicit_method_beats_any_on_the_same_template() {
    let r = router(&["ANY /x", "GET /x"]);
    assert_eq!(winner(&r, Method::GET, "/x").as_deref(), Some("GET /x"));
    assert_eq!(winner(&r, Method::PUT, "/x").as_deref(), Some("ANY /x"));
    assert_eq!(winner(&r, Method::HEAD, "/x").as_deref(), Some("GET /x"));
}

#[tokio::test]
async fn allow_lists_every_method_the_path_accepts() {
    let r = router(&[
        "GET /u/{id}",
        "DELETE /u/me",
        "PATCH /u/{id}",
        "PURGE /u/{*rest}",
    ]);
    let response = call(&r, "POST", "/u/me").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, HEAD, PATCH, DELETE, PURGE");
    let Decision::MethodNotAllowed(allowed) = r.at(&Method::POST, "/u/me") else {
        panic!("expected 405")
    };
    assert!(allowed.contains(&Method::DELETE));
    assert!(!allowed.contains(&Method::POST));
}

#[tokio::test]
async fn not_found_is_empty_404_with_rejection() {
    let r = router(&["GET /a"]);
    let response = call(&r, "GET", "/b").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().get(ALLOW).is_none());
    assert_eq!(
        response
            .extensions()
            .get::<Rejection>()
            .map(Rejection::kind),
        Some(RejectionKind::NotFound)
    );
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(body_text(response.into_body()).await, "");
}

#[tokio::test]
async fn aws_not_found_body() {
    let r = builder(&["GET /a"])
        .not_found_body(NotFoundBody::AwsJson)
        .build()
        .unwrap();
    let response = call(&r, "GET", "/b").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(
        body_text(response.into_body()).await,
        r#"{"message":"Not Found"}"#
    );
}

// ---------- HEAD ----------

#[tokio::test]
async fn get_serves_head_without_body_keeping_length() {
    let r = Router::builder()
        .route("GET /doc", Named::new("seventeen bytes!!"))
        .build()
        .unwrap();
    let response = r.clone().oneshot(request("HEAD", "/doc")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_LENGTH], "17");
    assert_eq!(body_text(response.into_body()).await, "");
    let get = r.oneshot(request("GET", "/doc")).await.unwrap();
    assert_eq!(body_text(get.into_body()).await, "seventeen bytes!!");
}

#[tokio::test]
async fn explicit_head_route_wins_over_get() {
    let head = Named::new("head");
    let get = Named::new("get");
    let r = Router::builder()
        .route("GET /doc", get.clone())
        .route("HEAD /doc", head.clone())
        .build()
        .unwrap();
    r.oneshot(request("HEAD", "/doc")).await.unwrap();
    assert_eq!((head.calls(), get.calls()), (1, 0));
}

#[test]
fn no_automatic_options() {
    let r = router(&["GET /a", "POST /a"]);
    let Decision::MethodNotAllowed(allowed) = r.at(&Method::OPTIONS, "/a") else {
        panic!("OPTIONS must not be answered automatically")
    };
    assert_eq!(allowed.to_string(), "GET, HEAD, POST");
}

// ---------- byte-exact matching ----------

#[test]
fn byte_exact_by_default() {
    let r = router(&["GET /files/{name}", "GET /Users", "GET /a/b", "GET /t/"]);
    // %2F never splits a segment, and is not decoded before matching.
    let d = r.at(&Method::GET, "/files/a%2Fb");
    assert_eq!(d.route_key(), Some("GET /files/{name}"));
    assert_eq!(d.route().unwrap().param("name"), Some("a%2Fb"));
    assert_eq!(winner(&r, Method::GET, "/files/a/b"), None);
    // Case-sensitive.
    assert_eq!(winner(&r, Method::GET, "/users"), None);
    // No dot-segment resolution, no slash merging.
    assert_eq!(winner(&r, Method::GET, "/a/./b"), None);
    assert_eq!(winner(&r, Method::GET, "/a//b"), None);
    assert_eq!(winner(&r, Method::GET, "/x/../a/b"), None);
    // Trailing slash significant.
    assert_eq!(winner(&r, Method::GET, "/a/b/"), None);
    assert_eq!(winner(&r, Method::GET, "/t"), None);
    assert_eq!(winner(&r, Method::GET, "/t/").as_deref(), Some("GET /t/"));
    // Empty params never match.
    assert_eq!(winner(&r, Method::GET, "/files/"), None);
}

#[tokio::test]
async fn query_is_ignored() {
    let r = router(&["GET /search"]);
    let response = call(&r, "GET", "/search?q=a/b&x={y}").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_text(response.into_body()).await, "GET /search");
}

#[test]
fn catch_all_takes_slashes_and_needs_a_byte() {
    let r = router(&["GET /files/{*path}"]);
    let d = r.at(&Method::GET, "/files/a/b/c.txt");
    assert_eq!(d.route().unwrap().param("path"), Some("a/b/c.txt"));
    assert_eq!(winner(&r, Method::GET, "/files/"), None);
    assert_eq!(winner(&r, Method::GET, "/files"), None);
    let d = r.at(&Method::GET, "/files//");
    assert_eq!(d.route().unwrap().param("path"), Some("/"));
}

#[test]
fn root_and_empty_segments() {
    let r = router(&["GET /", "GET /{id}"]);
    assert_eq!(winner(&r, Method::GET, "/").as_deref(), Some("GET /"));
    assert_eq!(winner(&r, Method::GET, "/x").as_deref(), Some("GET /{id}"));
    assert_eq!(winner(&r, Method::GET, "//"), None);
    assert_eq!(winner(&r, Method::GET, ""), None);
}

// ---------- policies ----------

#[tokio::test]
async fn trailing_slash_redirect_keeps_query() {
    let r = builder(&["GET /pets", "GET /shops/"])
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    let response = call(&r, "GET", "/pets/?page=2").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[LOCATION], "/pets?page=2");
    let response = call(&r, "POST", "/shops").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let response = call(&r, "GET", "/shops").await;
    assert_eq!(response.headers()[LOCATION], "/shops/");
    // Exact matches are not redirected.
    assert_eq!(call(&r, "GET", "/pets").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn trailing_slash_ignore_serves_and_rewrites() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let s2 = Arc::clone(&seen);
    let r = Router::builder()
        .route(
            "GET /pets/{id}",
            service_fn(move |req: Request<Req>| {
                let s2 = Arc::clone(&s2);
                async move {
                    let id = req
                        .extensions()
                        .get::<Params>()
                        .unwrap()
                        .get("id")
                        .unwrap()
                        .to_owned();
                    *s2.lock().unwrap() = format!("{} {}", req.uri(), id);
                    Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
                }
            }),
        )
        .trailing_slash(TrailingSlash::Ignore)
        .build()
        .unwrap();
    let response = r.oneshot(request("GET", "/pets/7/?x=1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(*seen.lock().unwrap(), "/pets/7?x=1 7");
}

#[tokio::test]
async fn merge_slashes_policy() {
    let r = builder(&["GET /a/b/{c}"])
        .merge_slashes(true)
        .build()
        .unwrap();
    let d = r.at(&Method::GET, "//a///b//x");
    assert_eq!(d.route_key(), Some("GET /a/b/{c}"));
    assert_eq!(d.route().unwrap().param("c"), Some("x"));
    assert_eq!(d.route().unwrap().path(), "/a/b/x");
    assert_eq!(call(&r, "GET", "//a//b/x?q").await.status(), StatusCode::OK);
}

#[test]
fn case_insensitive_policy_keeps_param_case() {
    let r = builder(&["GET /Users/{Name}/Repos", "GET /static/Logo.PNG"])
        .case_insensitive(true)
        .build()
        .unwrap();
    let d = r.at(&Method::GET, "/USERS/MixedCase/repos");
    assert_eq!(d.route_key(), Some("GET /Users/{Name}/Repos"));
    assert_eq!(d.route().unwrap().param("Name"), Some("MixedCase"));
    assert!(r.at(&Method::GET, "/static/logo.png").route().is_some());
    // Case-sensitive by default.
    assert!(router(&["GET /Users"])
        .at(&Method::GET, "/users")
        .route()
        .is_none());
}

// ---------- params and extensions ----------

#[tokio::test]
async fn params_and_matched_route_reach_the_target_and_response() {
    let r = Router::builder()
        .named_route(
            "get-pet",
            "GET /owners/{owner}/pets/{pet}",
            service_fn(|req: Request<Req>| async move {
                let p = req.extensions().get::<Params>().unwrap();
                let pairs: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let m = req.extensions().get::<MatchedRoute>().unwrap();
                assert_eq!(m.name(), Some("get-pet"));
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(pairs.join("&")))))
            }),
        )
        .build()
        .unwrap();
    let response = r
        .oneshot(request("GET", "/owners/ann/pets/rex"))
        .await
        .unwrap();
    let m = response.extensions().get::<MatchedRoute>().unwrap().clone();
    assert_eq!(m.template(), "/owners/{owner}/pets/{pet}");
    assert_eq!(m.method(), Some(&Method::GET));
    assert_eq!(body_text(response.into_body()).await, "owner=ann&pet=rex");
}

#[test]
fn decoded_params_and_invalid_utf8() {
    let r = router(&["GET /t/{tag}"]);
    let d = r.at(&Method::GET, "/t/caf%C3%A9");
    let m = d.route().unwrap();
    assert_eq!(m.decoded("tag").unwrap().unwrap(), "café");
    // Invalid UTF-8 is still a match; decoding is the handler's error.
    let d = r.at(&Method::GET, "/t/%FF");
    let m = d.route().expect("a %FF param still matches");
    assert!(m.decoded("tag").unwrap().is_err());
    assert_eq!(m.param("tag"), Some("%FF"));
}

#[tokio::test]
async fn nest_strips_prefix_and_keeps_original_uri() {
    let nested = service_fn(|req: Request<Req>| async move {
        let original = req.extensions().get::<OriginalUri>().unwrap().0.clone();
        let tenant = req
            .extensions()
            .get::<Params>()
            .and_then(|p| p.get("tenant").map(str::to_owned))
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "{} {} {}",
            req.uri(),
            original,
            tenant
        )))))
    });
    let r = Router::builder()
        .route("GET /t/{tenant}/health", echo_key())
        .nest("/t/{tenant}/api", nested)
        .build()
        .unwrap();
    let got = body_text(call(&r, "GET", "/t/acme/api/users?x=1").await.into_body()).await;
    assert_eq!(got, "/users?x=1 /t/acme/api/users?x=1 acme");
    let got = body_text(call(&r, "POST", "/t/acme/api").await.into_body()).await;
    assert_eq!(got, "/ /t/acme/api acme");
    let got = body_text(call(&r, "GET", "/t/acme/api/").await.into_body()).await;
    assert_eq!(got, "/ /t/acme/api/ acme");
    let got = body_text(call(&r, "GET", "/t/acme/health").await.into_body()).await;
    assert_eq!(got, "GET /t/{tenant}/health");
    assert_eq!(
        r.at(&Method::GET, "/t/a/api/x").route_key(),
        Some("ANY /t/{tenant}/api/{proxy+}")
    );
}

// ---------- service and layer ----------

#[tokio::test]
async fn router_as_layer_makes_the_app_the_fallback() {
    let app = Named::new("app");
    let table = Router::builder()
        .route("GET /api/{id}", Named::new("route"))
        .build()
        .unwrap();
    let svc = tower::ServiceBuilder::new()
        .layer(table)
        .service(app.clone());
    let response = svc
        .clone()
        .oneshot(request("GET", "/elsewhere"))
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "app");
    assert_eq!(app.calls(), 1);
    let response = svc.clone().oneshot(request("GET", "/api/1")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "route");
    assert_eq!(app.calls(), 1);
    // A 405 is still the table's answer: the path is known.
    let response = svc.oneshot(request("POST", "/api/1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.calls(), 1);
}

#[tokio::test]
async fn targets_not_called_on_refusals() {
    let target = Named::new("t");
    let r = Router::builder()
        .route("GET /a", target.clone())
        .build()
        .unwrap();
    for (m, p) in [("GET", "/b"), ("POST", "/a"), ("GET", "/a/"), ("GET", "/A")] {
        r.clone().oneshot(request(m, p)).await.unwrap();
    }
    assert_eq!(target.calls(), 0);
    r.oneshot(request("GET", "/a")).await.unwrap();
    assert_eq!(target.calls(), 1);
}

/// A target that is not ready until polled twice: readiness is driven inside the future.
#[derive(Clone)]
struct SlowReady {
    polls: Arc<AtomicUsize>,
}

impl Service<Request<Req>> for SlowReady {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;
    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        if self.polls.fetch_add(1, Ordering::SeqCst) == 0 {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(Ok(()))
        }
    }
    fn call(&mut self, _req: Request<Req>) -> Self::Future {
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"slow")))))
    }
}

#[tokio::test]
async fn always_ready_and_drives_target_readiness() {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut r = Router::builder()
        .route(
            "GET /slow",
            SlowReady {
                polls: Arc::clone(&polls),
            },
        )
        .build()
        .unwrap();
    // The router itself is ready without touching the target.
    std::future::poll_fn(|cx| r.poll_ready(cx)).await.unwrap();
    assert_eq!(polls.load(Ordering::SeqCst), 0);
    let response = r.call(request("GET", "/slow")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "slow");
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_target_that_becomes_ready_later_wakes_the_waiting_task() {
    let gated = Gated::default();
    let r = Router::builder()
        .route("GET /gated", gated.clone())
        .build()
        .unwrap();
    let waiting = tokio::spawn(r.oneshot(request("GET", "/gated")));
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    gated.open();
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .expect("the task was woken")
        .unwrap()
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "open");
}

#[tokio::test]
async fn inner_errors_pass_through_untouched() {
    let r: Router<Req, Full<Bytes>, &'static str> = Router::builder()
        .route(
            "GET /boom",
            service_fn(|_: Request<Req>| async { Err::<Response<Full<Bytes>>, _>("boom") }),
        )
        .build()
        .unwrap();
    assert_eq!(
        r.oneshot(request("GET", "/boom")).await.unwrap_err(),
        "boom"
    );
}

#[test]
fn router_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<R>();
    fn fut<T: Send>(_: T) {}
    let r = router(&["GET /"]);
    fut(r.clone().oneshot(request("GET", "/")));
}

// ---------- bad input ----------

#[tokio::test]
async fn odd_request_targets_never_panic() {
    let r = router(&["GET /{*all}", "GET /x/{id}"]);
    let long = format!("/x/{}", "a".repeat(60 * 1024));
    let many = "/x".repeat(20_000);
    for uri in [
        "//x",
        "/..",
        "/%FF",
        "/%",
        "*",
        "http://example.com/x/1",
        long.as_str(),
        many.as_str(),
    ] {
        let method = if uri == "*" { "OPTIONS" } else { "GET" };
        let response = call(&r, method, uri).await;
        assert!(
            [StatusCode::OK, StatusCode::NOT_FOUND].contains(&response.status()),
            "{uri:.40}"
        );
    }
    // Absolute-form targets are routed by their path.
    assert_eq!(
        body_text(call(&r, "GET", "http://example.com/x/1").await.into_body()).await,
        "GET /x/{id}"
    );
    // `*` is not a path.
    assert_eq!(
        call(&r, "OPTIONS", "*").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn non_utf8_bytes_in_paths() {
    // `http::Uri` refuses bytes that are not UTF-8 (hyper answers 400 before any service);
    // raw UTF-8 and percent-encoded bytes reach the router.
    assert!(http::Uri::try_from(&b"/caf\xff"[..]).is_err());
    assert!(http::Uri::try_from(&b"/caf\xc3\xa9"[..]).is_ok());
    let r = router(&["GET /{x}"]);
    assert!(r.at(&Method::GET, "/%C3%28").route().is_some());
    // `at` takes any &str, including non-ASCII text.
    assert!(r.at(&Method::GET, "/café").route().is_some());
}

// ---------- build errors ----------

fn only_problem(keys: &[&str]) -> tower_gateway::error::Problem {
    let e = errors(keys);
    assert_eq!(e.problems().len(), 1, "{e}");
    e.problems()[0].clone()
}

#[test]
fn duplicate_route() {
    let p = only_problem(&["GET /a/{id}", "GET /a/{id}"]);
    assert_eq!(p.kind(), ProblemKind::Duplicate);
    assert_eq!(p.value(), "GET /a/{id}");
}

#[test]
fn ambiguous_param_names_name_both_routes() {
    let p = only_problem(&["GET /u/{id}", "GET /u/{name}"]);
    assert_eq!(p.kind(), ProblemKind::Conflict);
    assert_eq!(p.value(), "GET /u/{name}");
    assert_eq!(p.related(), Some("GET /u/{id}"));
    assert!(p.to_string().contains("GET /u/{id}") && p.to_string().contains("GET /u/{name}"));
    // ANY overlaps every method.
    assert_eq!(
        only_problem(&["ANY /u/{id}", "ANY /u/{name}"]).kind(),
        ProblemKind::Conflict
    );
    // Different methods on the same shape are fine.
    assert!(builder(&["GET /u/{id}", "DELETE /u/{name}"])
        .build()
        .is_ok());
}

#[test]
fn ambiguous_param_and_catch_all() {
    let p = only_problem(&["GET /f/{n}", "GET /f/{*r}"]);
    assert_eq!(p.kind(), ProblemKind::Conflict);
    let text = p.to_string();
    assert!(
        text.contains("GET /f/{n}") && text.contains("GET /f/{*r}"),
        "{text}"
    );
    let p = only_problem(&["GET /f/{*r}", "ANY /f/{n}"]);
    assert_eq!(p.kind(), ProblemKind::Conflict);
    // Deeper params do not clash with the catch-all.
    assert!(builder(&["GET /f/{n}/x", "GET /f/{*r}"]).build().is_ok());
}

#[test]
fn malformed_templates() {
    let cases = [
        ("GET users", "does not start with '/'"),
        ("GET /x/{a}-{b}", "two params"),
        ("GET /x/{a}{b}", "two params"),
        ("GET /x/{*a}/b", "must be the last segment"),
        ("GET /u/{id", "unclosed"),
        ("GET /u/{}", "without a name"),
        ("GET /u/{*}", "without a name"),
        ("GET /u/id}", "without a matching '{'"),
        ("GET /u/x{*rest}", "not the whole segment"),
        ("GET /u/{a}/{a}", "twice"),
        ("/no/method", "no method"),
        ("get /lower", "case-sensitive"),
        ("GET  /two-spaces", "one space"),
    ];
    for (key, want) in cases {
        let p = only_problem(&[key]);
        assert!(p.to_string().contains(want), "{key}: {p}");
        assert_eq!(p.module(), "router");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors(&[
        "GET /ok",
        "GET bad",
        "GET /ok",
        "GET /u/{a}",
        "GET /u/{b}",
        "GET /x/{*r}/y",
    ]);
    assert_eq!(e.problems().len(), 4, "{e}");
    assert!(e.to_string().starts_with("4 configuration problems: "));
}

#[test]
fn any_number_of_params() {
    for n in [26, 27, 100, 300] {
        let template: String = (0..n).map(|i| format!("/{{p{i}}}")).collect();
        let path: String = (0..n).map(|i| format!("/{i}")).collect();
        let r = router(&[&format!("GET {template}")]);
        let d = r.at(&Method::GET, &path);
        let m = d.route().expect("many params match");
        assert_eq!(m.params().count(), n);
        assert_eq!(
            m.param(&format!("p{}", n - 1)),
            Some((n - 1).to_string().as_str())
        );
    }
}

#[test]
fn typed_keys() {
    let r = Router::builder()
        .route((Method::GET, "/typed"), echo_key())
        .route(RouteKey::any("/any"), echo_key())
        .route("PUT /text".to_string(), echo_key())
        .build()
        .unwrap();
    assert_eq!(
        winner(&r, Method::GET, "/typed").as_deref(),
        Some("GET /typed")
    );
    assert_eq!(
        winner(&r, Method::PATCH, "/any").as_deref(),
        Some("ANY /any")
    );
    assert_eq!(
        winner(&r, Method::PUT, "/text").as_deref(),
        Some("PUT /text")
    );
    let keys: Vec<&str> = r.route_keys().collect();
    assert_eq!(keys, ["GET /typed", "ANY /any", "PUT /text"]);
}

// ---------- shared route tables ----------

fn keys_of(file: &str) -> Vec<String> {
    shared_data(file)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn github_full_table_loads() {
    let keys = keys_of("github-full-routes.txt");
    assert_eq!(keys.len(), 239);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let r = router(&refs);
    assert_eq!(r.route_keys().count(), 239);
    // Every route is reachable with its params filled in.
    for key in &keys {
        let (method, template) = key.split_once(' ').unwrap();
        let path = template.replace('{', "x").replace('}', "");
        let got = winner(&r, Method::from_bytes(method.as_bytes()).unwrap(), &path);
        assert!(got.is_some(), "{key} via {path}");
    }
}

#[test]
fn gitlab_table_loads_or_fails_precisely() {
    let keys = keys_of("gitlab-routes.txt");
    assert_eq!(keys.len(), 3562);
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let e = errors(&refs);
    // Each problem names a route of the table; no route is reported twice.
    let mut values: Vec<&str> = e.problems().iter().map(|p| p.value()).collect();
    for v in &values {
        assert!(
            keys.iter().any(|k| k == v),
            "{v} is not a route of the table"
        );
    }
    let n = values.len();
    values.sort_unstable();
    values.dedup();
    assert_eq!(values.len(), n, "a route reported twice");
    // Without the offending routes, the rest loads.
    let bad: std::collections::HashSet<&str> = values.iter().copied().collect();
    let good: Vec<&str> = refs.iter().copied().filter(|k| !bad.contains(k)).collect();
    let loaded = builder(&good).build();
    let remaining = loaded.as_ref().err().map_or(0, |e| e.problems().len());
    eprintln!(
        "gitlab: {} routes, {} refused, {} load ({} further conflicts among the rest)",
        keys.len(),
        n,
        good.len(),
        remaining
    );
    assert!(
        good.len() > 1277,
        "we should load more than matchit's 1,277"
    );
}

// ---- edge cases (audit, session 6): audit_router.rs

/// A target that answers with its route key, a space and the request URI as the body.
fn echo_key_and_uri() -> impl Target {
    service_fn(|req: Request<Req>| async move {
        let key = req
            .extensions()
            .get::<MatchedRoute>()
            .map(|m| m.key().to_owned())
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "{key} {}",
            req.uri()
        )))))
    })
}

fn builder_echoing_uri(keys: &[&str]) -> RouterBuilder<Req, Full<Bytes>, Infallible> {
    keys.iter()
        .fold(Router::builder(), |b, k| b.route(*k, echo_key_and_uri()))
}

fn router_echoing_uri(keys: &[&str]) -> R {
    builder_echoing_uri(keys).build().expect("table builds")
}

#[tokio::test]
async fn head_to_a_post_only_path_is_405_listing_post() {
    let r = router_echoing_uri(&["POST /a"]);
    let response = call(&r, "HEAD", "/a").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
}

#[tokio::test]
async fn head_via_get_keeps_matched_route_and_explicit_length() {
    let r = Router::builder()
        .route(
            "GET /f",
            service_fn(|_: Request<Req>| async {
                let mut res = Response::new(Full::new(Bytes::from_static(b"abc")));
                res.headers_mut()
                    .insert(CONTENT_LENGTH, "3".parse().unwrap());
                Ok::<_, Infallible>(res)
            }),
        )
        .build()
        .unwrap();
    let response = r.oneshot(request("HEAD", "/f")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_LENGTH], "3");
    assert_eq!(
        response
            .extensions()
            .get::<MatchedRoute>()
            .map(|m| m.key().to_owned()),
        Some("GET /f".to_owned())
    );
    assert_eq!(body_text(response.into_body()).await, "");
}

#[tokio::test]
async fn head_via_get_through_catch_all_and_any() {
    let r = router_echoing_uri(&["GET /x", "ANY /{proxy+}"]);
    assert_eq!(r.at(&Method::HEAD, "/x").route_key(), Some("GET /x"));
    assert_eq!(r.at(&Method::HEAD, "/y").route_key(), Some("ANY /{proxy+}"));
}

#[test]
fn case_insensitive_duplicates_are_refused() {
    let e = builder_echoing_uri(&["GET /A", "GET /a"])
        .case_insensitive(true)
        .build();
    assert!(
        e.is_err(),
        "two routes equal without case must be a build error"
    );
}

#[test]
fn case_insensitive_with_params() {
    let r = builder_echoing_uri(&["GET /Pets/{id}", "GET /pets/Special"])
        .case_insensitive(true)
        .build();
    let r = r.expect("builds");
    assert_eq!(
        r.at(&Method::GET, "/PETS/SPECIAL").route_key(),
        Some("GET /pets/Special")
    );
    assert_eq!(
        r.at(&Method::GET, "/pets/7").route_key(),
        Some("GET /Pets/{id}")
    );
}

#[tokio::test]
async fn merge_slashes_rewrites_the_path_the_target_sees() {
    let r = builder_echoing_uri(&["GET /a/{b}"])
        .merge_slashes(true)
        .build()
        .unwrap();
    let got = body_text(call(&r, "GET", "//a//x?q=1").await.into_body()).await;
    assert_eq!(got, "GET /a/{b} /a/x?q=1");
}

#[tokio::test]
async fn trailing_slash_redirect_root_and_nested() {
    let r = builder_echoing_uri(&["GET /", "GET /a/{b}"])
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    assert_eq!(call(&r, "GET", "/").await.status(), StatusCode::OK);
    let response = call(&r, "GET", "/a/x/").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[LOCATION], "/a/x");
    // POST keeps its method with 308: for a path that only GET serves it is a 405.
    let response = call(&r, "POST", "/a/x/").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn trailing_slash_with_merge_slashes() {
    let r = builder_echoing_uri(&["GET /a/b"])
        .trailing_slash(TrailingSlash::Redirect)
        .merge_slashes(true)
        .build()
        .unwrap();
    let response = call(&r, "GET", "//a//b//").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[LOCATION], "/a/b");
}

#[test]
fn params_decoded_and_raw() {
    let r = router_echoing_uri(&["GET /s/{a}/{*rest}"]);
    let d = r.at(&Method::GET, "/s/a%20b/c%2Fd/e");
    let m = d.route().unwrap();
    assert_eq!(m.param("a"), Some("a%20b"));
    assert_eq!(m.decoded("a").unwrap().unwrap(), "a b");
    assert_eq!(m.param("rest"), Some("c%2Fd/e"));
    assert_eq!(m.decoded("rest").unwrap().unwrap(), "c/d/e");
    assert!(m.param("nope").is_none());
}

#[tokio::test]
async fn fallback_response_has_no_matched_route_even_when_layered() {
    let table = Router::builder()
        .route("GET /api", Named::new("r"))
        .build()
        .unwrap();
    let svc = tower::ServiceBuilder::new()
        .layer(table)
        .service(Named::new("app"));
    let response = svc.oneshot(request("GET", "/else")).await.unwrap();
    assert!(response.extensions().get::<MatchedRoute>().is_none());
    assert_eq!(body_text(response.into_body()).await, "app");
}

#[test]
fn build_errors_more() {
    for key in [
        "GET /a/{b+}/c",
        "GET /a/{proxy+}x",
        "GET /a/{{b}}",
        "GET /a/{b}}",
        "GET ",
        "GET",
        "",
        "ANY /a/{*}",
    ] {
        assert!(
            builder_echoing_uri(&[key]).build().is_err(),
            "{key:?} must be refused"
        );
    }
}

#[test]
fn routes_that_need_no_error() {
    for keys in [
        &["GET /a/{b}", "GET /a/{b}/c", "GET /a/{b}/{*c}"][..],
        &["GET /{a}.json", "GET /{a}"],
        &["GET /x-{a}", "GET /{a}-y"],
    ] {
        assert!(builder_echoing_uri(keys).build().is_ok(), "{keys:?}");
    }
}

#[test]
fn prefix_and_suffix_affixes_ambiguity() {
    // `/x-{a}` and `/{a}-y` both match `/x-1-y`; it must be served deterministically or refused.
    let r = builder_echoing_uri(&["GET /x-{a}", "GET /{a}-y"])
        .build()
        .unwrap();
    let d1 = r.at(&Method::GET, "/x-1-y").route_key().map(str::to_owned);
    let r2 = builder_echoing_uri(&["GET /{a}-y", "GET /x-{a}"])
        .build()
        .unwrap();
    let d2 = r2.at(&Method::GET, "/x-1-y").route_key().map(str::to_owned);
    assert_eq!(d1, d2);
}

#[test]
fn empty_params_never_match() {
    let r = router_echoing_uri(&["GET /a/{b}/c", "GET /img-{id}.png", "GET /p/{x}.css"]);
    assert!(r.at(&Method::GET, "/a//c").route().is_none());
    assert!(r.at(&Method::GET, "/img-.png").route().is_none());
    assert!(r.at(&Method::GET, "/p/.css").route().is_none());
    assert_eq!(
        r.at(&Method::GET, "/p/a.css").route().unwrap().param("x"),
        Some("a")
    );
    assert_eq!(
        r.at(&Method::GET, "/p/a.b.css").route().unwrap().param("x"),
        Some("a.b")
    );
}

#[test]
fn at_reports_405_with_allowed() {
    let r = router_echoing_uri(&["GET /a", "PUT /a"]);
    match r.at(&Method::DELETE, "/a") {
        Decision::MethodNotAllowed(allowed) => assert_eq!(allowed.to_string(), "GET, HEAD, PUT"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(r.at(&Method::GET, "/b"), Decision::NotFound));
}

#[tokio::test]
async fn params_extension_present_without_params() {
    let r = Router::builder()
        .route(
            "GET /a",
            service_fn(|req: Request<Req>| async move {
                let n = req.extensions().get::<Params>().map(Params::len);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!("{n:?}")))))
            }),
        )
        .build()
        .unwrap();
    let got = body_text(r.oneshot(request("GET", "/a")).await.unwrap().into_body()).await;
    assert_eq!(got, "Some(0)");
}

#[tokio::test]
async fn head_via_get_adds_no_length_to_a_204() {
    let r = Router::builder()
        .route(
            "GET /empty",
            service_fn(|_: Request<Req>| async {
                let mut res = Response::new(Full::<Bytes>::default());
                *res.status_mut() = StatusCode::NO_CONTENT;
                Ok::<_, Infallible>(res)
            }),
        )
        .build()
        .unwrap();
    let response = r.oneshot(request("HEAD", "/empty")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // RFC 9110 §8.6: no Content-Length in a 204.
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
}

#[test]
fn at_ignores_the_query_like_a_request() {
    let r = router_echoing_uri(&["GET /search", "ANY /{proxy+}"]);
    assert_eq!(
        r.at(&Method::GET, "/search?q=a/b").route_key(),
        Some("GET /search")
    );
    let d = r.at(&Method::POST, "/x?y=1");
    assert_eq!(d.route().unwrap().param("proxy"), Some("x"));
}

#[test]
fn method_aware_backtracking() {
    let r = router_echoing_uri(&["GET /a/b/{c}", "POST /a/{b}/c", "PUT /{*all}"]);
    assert_eq!(
        r.at(&Method::POST, "/a/b/c").route_key(),
        Some("POST /a/{b}/c")
    );
    assert_eq!(
        r.at(&Method::GET, "/a/b/c").route_key(),
        Some("GET /a/b/{c}")
    );
    assert_eq!(
        r.at(&Method::PUT, "/a/b/c").route_key(),
        Some("PUT /{*all}")
    );
    match r.at(&Method::DELETE, "/a/b/c") {
        Decision::MethodNotAllowed(a) => assert_eq!(a.to_string(), "GET, HEAD, POST, PUT"),
        other => panic!("{other:?}"),
    }
    let r = router_echoing_uri(&["GET /f/{*r}", "POST /f/{n}/x"]);
    assert_eq!(
        r.at(&Method::GET, "/f/a/x").route_key(),
        Some("GET /f/{*r}")
    );
    assert_eq!(
        r.at(&Method::POST, "/f/a/x").route_key(),
        Some("POST /f/{n}/x")
    );
    assert_eq!(
        r.at(&Method::HEAD, "/f/a/x").route_key(),
        Some("GET /f/{*r}")
    );
}

#[test]
fn proxy_plus_spelling_in_keys_and_params() {
    let r = router_echoing_uri(&["ANY /api/{proxy+}"]);
    let d = r.at(&Method::PATCH, "/api/v1/users");
    let m = d.route().unwrap();
    assert_eq!(m.route().key(), "ANY /api/{proxy+}");
    assert_eq!(m.route().template(), "/api/{proxy+}");
    assert_eq!(m.route().method(), None);
    assert_eq!(m.param("proxy"), Some("v1/users"));
}

#[test]
fn explicit_head_on_a_catch_all_and_get_on_a_static() {
    let r = router_echoing_uri(&["HEAD /{*all}", "GET /x"]);
    // The most specific template wins first; an explicit `HEAD` wins on the same template.
    assert_eq!(r.at(&Method::HEAD, "/x").route_key(), Some("GET /x"));
    assert_eq!(r.at(&Method::HEAD, "/y").route_key(), Some("HEAD /{*all}"));
}

#[tokio::test]
async fn nest_boundaries() {
    let r = Router::builder()
        .nest("/api", echo_key_and_uri())
        .build()
        .unwrap();
    assert!(r.at(&Method::GET, "/apix").route().is_none());
    assert!(r.at(&Method::GET, "/api").route().is_some());
    assert!(r.at(&Method::GET, "/api/").route().is_some());
    let got = body_text(call(&r, "DELETE", "/api/a%2Fb/c?x=1").await.into_body()).await;
    assert_eq!(got, "ANY /api/{proxy+} /a%2Fb/c?x=1");
    let response = call(&r, "GET", "/api/x").await;
    assert_eq!(
        response
            .extensions()
            .get::<MatchedRoute>()
            .map(|m| m.key().to_owned())
            .as_deref(),
        Some("ANY /api/{proxy+}")
    );
    for bad in ["/api/", "api", "/x/{*r}"] {
        let e = Router::<Req, Full<Bytes>, Infallible>::builder()
            .nest(bad, echo_key_and_uri())
            .build();
        assert!(e.is_err(), "nest({bad:?}) accepted");
    }
}

#[tokio::test]
async fn authority_form_connect_is_not_a_path() {
    let r = router_echoing_uri(&["ANY /{proxy+}", "CONNECT /x"]);
    let response = call(&r, "CONNECT", "example.com:443").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nested_twice_keeps_the_clients_original_uri() {
    use tower_gateway::router::OriginalUri;
    let leaf = service_fn(|req: Request<Req>| async move {
        let original = req
            .extensions()
            .get::<OriginalUri>()
            .map(|o| o.0.to_string());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "{} {}",
            req.uri(),
            original.unwrap_or_default()
        )))))
    });
    let inner = Router::builder().nest("/v1", leaf).build().unwrap();
    let outer = Router::builder().nest("/api", inner).build().unwrap();
    let response = outer
        .oneshot(request("GET", "/api/v1/users?x=1"))
        .await
        .unwrap();
    // As axum does: the first nest records the client's URI, deeper ones keep it.
    assert_eq!(
        body_text(response.into_body()).await,
        "/users?x=1 /api/v1/users?x=1"
    );
}

#[tokio::test]
async fn original_uri_is_the_clients_before_merged_slashes() {
    use tower_gateway::router::OriginalUri;
    let leaf = service_fn(|req: Request<Req>| async move {
        let original = req
            .extensions()
            .get::<OriginalUri>()
            .map(|o| o.0.to_string());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "{} {}",
            req.uri(),
            original.unwrap_or_default()
        )))))
    });
    let r = Router::builder()
        .nest("/api", leaf)
        .merge_slashes(true)
        .build()
        .unwrap();
    let response = r.oneshot(request("GET", "//api//users")).await.unwrap();
    assert_eq!(body_text(response.into_body()).await, "/users //api//users");
}

#[tokio::test]
async fn trailing_slash_policies_are_not_hidden_by_a_catch_all() {
    let keys = [
        "GET /pets",
        "GET /shops/",
        "GET /pets/{id}",
        "ANY /{proxy+}",
    ];
    let r = builder_echoing_uri(&keys)
        .trailing_slash(TrailingSlash::Ignore)
        .build()
        .unwrap();
    assert_eq!(r.at(&Method::GET, "/pets/").route_key(), Some("GET /pets"));
    assert_eq!(
        r.at(&Method::GET, "/shops").route_key(),
        Some("GET /shops/")
    );
    let d = r.at(&Method::GET, "/pets/7/");
    assert_eq!(d.route_key(), Some("GET /pets/{id}"));
    assert_eq!(d.route().unwrap().param("id"), Some("7"));
    // Another method still falls to the catch-all, and other paths are untouched.
    assert_eq!(
        r.at(&Method::POST, "/pets/").route_key(),
        Some("ANY /{proxy+}")
    );
    assert_eq!(
        r.at(&Method::GET, "/other/").route_key(),
        Some("ANY /{proxy+}")
    );
    let got = body_text(call(&r, "GET", "/pets/7/?q=1").await.into_body()).await;
    assert_eq!(got, "GET /pets/{id} /pets/7?q=1");

    let r = builder_echoing_uri(&keys)
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    let response = call(&r, "GET", "/pets/?q=1").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[LOCATION], "/pets?q=1");
    // Strict (the default): the catch-all serves it, byte-exact.
    let r = router_echoing_uri(&keys);
    assert_eq!(
        r.at(&Method::GET, "/pets/").route_key(),
        Some("ANY /{proxy+}")
    );
}

#[test]
fn trailing_slash_ignore_prefers_a_route_over_a_nest() {
    let r = Router::builder()
        .route("GET /api/users", echo_key_and_uri())
        .nest("/api", echo_key_and_uri())
        .trailing_slash(TrailingSlash::Ignore)
        .build()
        .unwrap();
    assert_eq!(
        r.at(&Method::GET, "/api/users/").route_key(),
        Some("GET /api/users")
    );
    assert_eq!(
        r.at(&Method::GET, "/api/").route_key(),
        Some("ANY /api/{proxy+}")
    );
    assert_eq!(
        r.at(&Method::GET, "/api/x/").route_key(),
        Some("ANY /api/{proxy+}")
    );
}

#[tokio::test]
async fn aws_not_found_body_is_not_sent_to_a_head() {
    let r: R = Router::builder()
        .route("GET /a", echo_key())
        .not_found_body(NotFoundBody::AwsJson)
        .build()
        .unwrap();
    let get = call(&r, "GET", "/b").await;
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    assert_eq!(get.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(
        body_text(get.into_body()).await,
        r#"{"message":"Not Found"}"#
    );
    // RFC 9110 §9.3.2: the headers a GET would get, no content.
    let head = call(&r, "HEAD", "/b").await;
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(head.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(head.headers()[CONTENT_LENGTH], "23");
    assert_eq!(
        head.extensions().get::<Rejection>().map(Rejection::kind),
        Some(RejectionKind::NotFound)
    );
    assert_eq!(body_text(head.into_body()).await, "");
}

/// Found by `differential::allow_lists_exactly_the_methods_the_path_answers`: when the path
/// and its other trailing-slash form both match routes, neither for the method, the `405`
/// lists the methods of both forms, since the policy answers them all on this path.
#[tokio::test]
async fn trailing_slash_405_lists_the_methods_of_both_forms() {
    let keys = ["DELETE /a/b/", "GET /{x}/{y}"];
    let r = builder(&keys)
        .trailing_slash(TrailingSlash::Ignore)
        .build()
        .unwrap();
    // GET /a/b/ is served (as /a/b), so the 405 to POST /a/b/ must list it.
    assert_eq!(
        r.at(&Method::GET, "/a/b/").route_key(),
        Some("GET /{x}/{y}")
    );
    let response = call(&r, "POST", "/a/b/").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, HEAD, DELETE");
    // Redirect: GET /a/b/ is answered (308 to /a/b), so it is listed as well.
    let r = builder(&keys)
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    assert_eq!(
        r.at(&Method::GET, "/a/b/"),
        Decision::Redirect("/a/b".to_owned())
    );
    let allowed = r.at(&Method::POST, "/a/b/");
    assert_eq!(
        allowed
            .allowed_methods()
            .map(ToString::to_string)
            .as_deref(),
        Some("GET, HEAD, DELETE")
    );
    // Strict: the forms are different paths.
    let r = router(&keys);
    let allowed = r.at(&Method::POST, "/a/b/");
    assert_eq!(
        allowed
            .allowed_methods()
            .map(ToString::to_string)
            .as_deref(),
        Some("DELETE")
    );
}

/// The other form of a path that is never redirected to (`//x` toggled is a `Location` a
/// browser reads as another host) does not lend its methods to a `405` either: every method
/// gets the same `404`.
#[test]
fn trailing_slash_redirect_off_site_form_lends_no_405() {
    let r = router_with(&["GET //x/"], TrailingSlash::Redirect);
    assert!(r.at(&Method::GET, "//x").is_not_found());
    assert!(r.at(&Method::PUT, "//x").is_not_found());
    // Ignore serves the other form, so its methods are listed.
    let r = router_with(&["GET //x/"], TrailingSlash::Ignore);
    assert_eq!(r.at(&Method::GET, "//x").route_key(), Some("GET //x/"));
    assert!(r.at(&Method::PUT, "//x").is_method_not_allowed());
}

fn router_with(keys: &[&str], policy: TrailingSlash) -> R {
    builder(keys).trailing_slash(policy).build().unwrap()
}

/// Found by `differential::allow_lists_exactly_the_methods_the_path_answers`: a WebSocket-only
/// route serves `GET` (handshakes) and not `HEAD`, so `HEAD` goes where it would go without it:
/// to an `ANY` route on the same template or a less specific route, else a `405` listing what
/// the path does answer. It was a `405` with `Allow: GET` while `ANY` served every other method.
#[tokio::test]
async fn websocket_route_leaves_head_to_the_other_routes() {
    let r: R = Router::builder()
        .websocket("/ws", echo_key())
        .route("ANY /ws", echo_key())
        .build()
        .unwrap();
    assert_eq!(r.at(&Method::HEAD, "/ws").route_key(), Some("ANY /ws"));
    assert_eq!(r.at(&Method::POST, "/ws").route_key(), Some("ANY /ws"));
    let response = call(&r, "HEAD", "/ws").await;
    assert_eq!(response.status(), StatusCode::OK);

    // A less specific route that accepts HEAD (through GET) serves it.
    let r: R = Router::builder()
        .websocket("/ws", echo_key())
        .route("GET /{page}", echo_key())
        .build()
        .unwrap();
    let head = r.at(&Method::HEAD, "/ws");
    assert_eq!(head.route_key(), Some("GET /{page}"));
    assert!(head.route().unwrap().is_head_via_get());

    // Otherwise a 405 that lists the path's methods, HEAD not among them.
    let r: R = Router::builder()
        .websocket("/ws", echo_key())
        .route("POST /ws", echo_key())
        .build()
        .unwrap();
    let response = call(&r, "HEAD", "/ws").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, POST");
    let response = call(&r, "DELETE", "/ws").await;
    assert_eq!(response.headers()[ALLOW], "GET, POST");
}

/// A nested Router's targets see its own route; outer layers see the outer table's nest route
/// (as `RouterBuilder::nest` documents).
#[tokio::test]
async fn a_nested_router_route_reaches_its_target_and_the_nest_route_reaches_outer_layers() {
    let inner = builder(&[])
        .route("GET /users/{id}", echo_key())
        .build()
        .unwrap();
    let outer = Router::builder().nest("/v1", inner).build().unwrap();
    let response = outer.oneshot(request("GET", "/v1/users/9")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let outer_key = response
        .extensions()
        .get::<MatchedRoute>()
        .map(|m| m.key().to_owned());
    assert_eq!(outer_key.as_deref(), Some("ANY /v1/{proxy+}"));
    assert_eq!(body_text(response.into_body()).await, "GET /users/{id}");
}
