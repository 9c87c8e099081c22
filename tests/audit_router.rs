#![cfg(feature = "router")]
//! Audit probes of the Router's behaviour rules (issue 3).

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::{body_text, request, Named};
use http::header::{ALLOW, CONTENT_LENGTH, LOCATION};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, ServiceExt};
use tower_gateway::router::{Decision, MatchedRoute, Params, Router, RouterBuilder, TrailingSlash};

type Req = Full<Bytes>;
type R = Router<Req, Full<Bytes>, Infallible>;

fn echo() -> impl tower::Service<
    Request<Req>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
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

fn builder(keys: &[&str]) -> RouterBuilder<Req, Full<Bytes>, Infallible> {
    keys.iter()
        .fold(Router::builder(), |b, k| b.route(*k, echo()))
}

fn router(keys: &[&str]) -> R {
    builder(keys).build().expect("table builds")
}

async fn call(r: &R, method: &str, uri: &str) -> Response<tower_gateway::body::Body<Full<Bytes>>> {
    r.clone().oneshot(request(method, uri)).await.unwrap()
}

#[tokio::test]
async fn head_to_a_post_only_path_is_405_listing_post() {
    let r = router(&["POST /a"]);
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
    let r = router(&["GET /x", "ANY /{proxy+}"]);
    assert_eq!(r.at(&Method::HEAD, "/x").route_key(), Some("GET /x"));
    assert_eq!(r.at(&Method::HEAD, "/y").route_key(), Some("ANY /{proxy+}"));
}

#[test]
fn case_insensitive_duplicates_are_refused() {
    let e = builder(&["GET /A", "GET /a"])
        .case_insensitive(true)
        .build();
    assert!(
        e.is_err(),
        "two routes equal without case must be a build error"
    );
}

#[test]
fn case_insensitive_with_params() {
    let r = builder(&["GET /Pets/{id}", "GET /pets/Special"])
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
    let r = builder(&["GET /a/{b}"])
        .merge_slashes(true)
        .build()
        .unwrap();
    let got = body_text(call(&r, "GET", "//a//x?q=1").await.into_body()).await;
    assert_eq!(got, "GET /a/{b} /a/x?q=1");
}

#[tokio::test]
async fn trailing_slash_redirect_root_and_nested() {
    let r = builder(&["GET /", "GET /a/{b}"])
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
    let r = builder(&["GET /a/b"])
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
    let r = router(&["GET /s/{a}/{*rest}"]);
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
        assert!(builder(&[key]).build().is_err(), "{key:?} must be refused");
    }
}

#[test]
fn routes_that_need_no_error() {
    for keys in [
        &["GET /a/{b}", "GET /a/{b}/c", "GET /a/{b}/{*c}"][..],
        &["GET /{a}.json", "GET /{a}"],
        &["GET /x-{a}", "GET /{a}-y"],
    ] {
        assert!(builder(keys).build().is_ok(), "{keys:?}");
    }
}

#[test]
fn prefix_and_suffix_affixes_ambiguity() {
    // `/x-{a}` and `/{a}-y` both match `/x-1-y`; it must be served deterministically or refused.
    let r = builder(&["GET /x-{a}", "GET /{a}-y"]).build().unwrap();
    let d1 = r.at(&Method::GET, "/x-1-y").route_key().map(str::to_owned);
    let r2 = builder(&["GET /{a}-y", "GET /x-{a}"]).build().unwrap();
    let d2 = r2.at(&Method::GET, "/x-1-y").route_key().map(str::to_owned);
    assert_eq!(d1, d2);
}

#[test]
fn empty_params_never_match() {
    let r = router(&["GET /a/{b}/c", "GET /img-{id}.png", "GET /p/{x}.css"]);
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
    let r = router(&["GET /a", "PUT /a"]);
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
    let r = router(&["GET /search", "ANY /{proxy+}"]);
    assert_eq!(
        r.at(&Method::GET, "/search?q=a/b").route_key(),
        Some("GET /search")
    );
    let d = r.at(&Method::POST, "/x?y=1");
    assert_eq!(d.route().unwrap().param("proxy"), Some("x"));
}

#[test]
fn method_aware_backtracking() {
    let r = router(&["GET /a/b/{c}", "POST /a/{b}/c", "PUT /{*all}"]);
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
    let r = router(&["GET /f/{*r}", "POST /f/{n}/x"]);
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
    let r = router(&["ANY /api/{proxy+}"]);
    let d = r.at(&Method::PATCH, "/api/v1/users");
    let m = d.route().unwrap();
    assert_eq!(m.route().key(), "ANY /api/{proxy+}");
    assert_eq!(m.route().template(), "/api/{proxy+}");
    assert_eq!(m.route().method(), None);
    assert_eq!(m.param("proxy"), Some("v1/users"));
}

#[test]
fn explicit_head_on_a_catch_all_and_get_on_a_static() {
    let r = router(&["HEAD /{*all}", "GET /x"]);
    // The most specific template wins first; an explicit `HEAD` wins on the same template.
    assert_eq!(r.at(&Method::HEAD, "/x").route_key(), Some("GET /x"));
    assert_eq!(r.at(&Method::HEAD, "/y").route_key(), Some("HEAD /{*all}"));
}

#[tokio::test]
async fn nest_boundaries() {
    let r = Router::builder().nest("/api", echo()).build().unwrap();
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
            .nest(bad, echo())
            .build();
        assert!(e.is_err(), "nest({bad:?}) accepted");
    }
}

#[tokio::test]
async fn authority_form_connect_is_not_a_path() {
    let r = router(&["ANY /{proxy+}", "CONNECT /x"]);
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
    let r = builder(&keys)
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

    let r = builder(&keys)
        .trailing_slash(TrailingSlash::Redirect)
        .build()
        .unwrap();
    let response = call(&r, "GET", "/pets/?q=1").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[LOCATION], "/pets?q=1");
    // Strict (the default): the catch-all serves it, byte-exact.
    let r = router(&keys);
    assert_eq!(
        r.at(&Method::GET, "/pets/").route_key(),
        Some("ANY /{proxy+}")
    );
}

#[test]
fn trailing_slash_ignore_prefers_a_route_over_a_nest() {
    let r = Router::builder()
        .route("GET /api/users", echo())
        .nest("/api", echo())
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
