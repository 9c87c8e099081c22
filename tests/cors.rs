#![cfg(feature = "cors")]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::{body_text, Named};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use proptest::prelude::*;
use tower::{service_fn, Layer, ServiceExt};
use tower_gateway::body::Body;
use tower_gateway::cors::{CorsConfig, CorsHandle, CorsLayer, Decision, Rejection, RejectionKind};
use tower_gateway::error::ProblemKind;

const APP: &str = "https://app.example.com";
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

fn base() -> CorsConfig {
    CorsConfig::new()
        .allow_origin(APP)
        .allow_origin("https://*.example.org")
        .allow_origin("http://localhost:*")
        .allow_methods(["PUT", "DELETE", "PATCH"])
        .allow_headers(["content-type", "x-request-id", "authorization"])
        .expose_headers(["x-total"])
        .allow_credentials(true)
        .max_age(600)
}

fn public() -> CorsConfig {
    CorsConfig::new()
        .allow_any_origin()
        .allow_methods(["*"])
        .allow_headers(["*"])
        .expose_headers(["*"])
}

type Res = Response<Body<Full<Bytes>>>;

async fn send(layer: &CorsLayer, req: Request<Full<Bytes>>) -> (Res, usize) {
    let inner = Named::new("inner");
    let res = layer.layer(inner.clone()).oneshot(req).await.unwrap();
    (res, inner.calls())
}

fn req(method: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut b = Request::builder().method(method).uri("/items/1");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::default()).unwrap()
}

fn preflight(origin: &str, method: &str, headers: Option<&str>) -> Request<Full<Bytes>> {
    let mut h = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if let Some(v) = headers {
        h.push(("access-control-request-headers", v));
    }
    req("OPTIONS", &h)
}

fn get(origin: &str) -> Request<Full<Bytes>> {
    req("GET", &[("origin", origin)])
}

fn header<'a>(res: &'a Res, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

fn vary(res: &Res) -> Vec<&str> {
    res.headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect()
}

fn cors_header_count(h: &HeaderMap) -> usize {
    h.keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .count()
}

async fn assert_refused(layer: &CorsLayer, r: Request<Full<Bytes>>, kind: RejectionKind) {
    let (res, calls) = send(layer, r).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls, 0, "inner must not be called");
    assert_eq!(cors_header_count(res.headers()), 0);
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
    assert_eq!(res.extensions().get::<Rejection>().unwrap().kind(), kind);
    assert_eq!(body_text(res.into_body()).await, "");
}

// ---------------------------------------------------------------- classification

#[tokio::test]
async fn request_without_origin_is_not_cors() {
    let (res, calls) = send(&base().build().unwrap(), req("GET", &[])).await;
    assert_eq!(calls, 1);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(cors_header_count(res.headers()), 0);
    assert_eq!(vary(&res), ["Origin"]);
    assert_eq!(body_text(res.into_body()).await, "inner");
}

#[tokio::test]
async fn options_with_acrm_but_no_origin_reaches_inner() {
    let r = req("OPTIONS", &[("access-control-request-method", "PUT")]);
    let (res, calls) = send(&base().build().unwrap(), r).await;
    assert_eq!(calls, 1);
    assert_eq!(cors_header_count(res.headers()), 0);
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
}

#[tokio::test]
async fn options_with_origin_but_no_acrm_is_an_actual_request() {
    let (res, calls) = send(&base().build().unwrap(), req("OPTIONS", &[("origin", APP)])).await;
    assert_eq!(calls, 1);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert!(header(&res, "access-control-allow-methods").is_none());
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
}

#[tokio::test]
async fn acrm_on_a_non_options_request_is_an_actual_request() {
    let r = req(
        "PUT",
        &[("origin", APP), ("access-control-request-method", "PUT")],
    );
    let (res, calls) = send(&base().build().unwrap(), r).await;
    assert_eq!(calls, 1);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
}

// ---------------------------------------------------------------- accepted preflights

#[tokio::test]
async fn accepted_preflight_has_exactly_the_fetch_headers() {
    let layer = base().build().unwrap();
    let (res, calls) = send(
        &layer,
        preflight(APP, "PUT", Some("content-type,x-request-id")),
    )
    .await;
    assert_eq!(calls, 0);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PUT"));
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("content-type,x-request-id")
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert!(header(&res, "access-control-expose-headers").is_none());
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
    assert!(res.extensions().get::<Rejection>().is_none());
    assert_eq!(body_text(res.into_body()).await, "");
}

#[tokio::test]
async fn safelisted_method_gets_no_acam() {
    for m in ["GET", "HEAD", "POST"] {
        let (res, calls) = send(
            &base().build().unwrap(),
            preflight(APP, m, Some("x-request-id")),
        )
        .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{m}");
        assert_eq!(calls, 0);
        assert!(
            header(&res, "access-control-allow-methods").is_none(),
            "{m}"
        );
        assert_eq!(
            header(&res, "access-control-allow-headers"),
            Some("x-request-id")
        );
    }
}

#[tokio::test]
async fn preflight_without_acrh_has_no_acah() {
    let (res, _) = send(&base().build().unwrap(), preflight(APP, "DELETE", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(header(&res, "access-control-allow-headers").is_none());
}

#[tokio::test]
async fn empty_acrh_is_no_request_header() {
    let (res, _) = send(&base().build().unwrap(), preflight(APP, "DELETE", Some(""))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(header(&res, "access-control-allow-headers").is_none());
}

#[tokio::test]
async fn public_policy_answers_preflight_with_star() {
    let (res, calls) = send(
        &public().build().unwrap(),
        preflight("https://anyone.example", "PATCH", Some("x-custom")),
    )
    .await;
    assert_eq!(calls, 0);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PATCH"));
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("x-custom")
    );
    assert!(header(&res, "access-control-allow-credentials").is_none());
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
}

#[tokio::test]
async fn max_age_is_absent_unless_configured() {
    let layer = CorsConfig::new().allow_origin(APP).build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "GET", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(header(&res, "access-control-max-age").is_none());
}

#[tokio::test]
async fn max_age_minus_one_disables_caching() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .max_age(-1)
        .build()
        .unwrap();
    let (res, _) = send(&layer, preflight(APP, "GET", None)).await;
    assert_eq!(header(&res, "access-control-max-age"), Some("0"));
}

#[tokio::test]
async fn chromium_acrh_lower_case_sorted_without_spaces() {
    // As ../shared/data/chromium-request-headers.txt shows Chromium sending it.
    let (res, _) = send(
        &base().build().unwrap(),
        preflight("http://localhost:18181", "GET", Some("x-request-id")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("http://localhost:18181")
    );
}

#[tokio::test]
async fn acrh_matches_case_insensitively_in_any_order_with_ows() {
    let (res, _) = send(
        &base().build().unwrap(),
        preflight(
            APP,
            "PUT",
            Some(" X-Request-ID ,\tContent-Type, ,Authorization"),
        ),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------- refused preflights

#[tokio::test]
async fn origin_not_allowed_is_refused() {
    let layer = base().build().unwrap();
    assert_refused(
        &layer,
        preflight("https://evil.example", "PUT", None),
        RejectionKind::OriginNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn method_not_allowed_is_refused() {
    let layer = base().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PURGE", None),
        RejectionKind::MethodNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn header_not_allowed_is_refused() {
    let layer = base().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some("content-type,x-secret")),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn method_names_are_case_sensitive() {
    let layer = base().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "patch", None),
        RejectionKind::MethodNotAllowed,
    )
    .await;
    let (res, _) = send(&layer, preflight(APP, "PATCH", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn forbidden_methods_are_refused_even_under_star() {
    let layer = public().build().unwrap();
    for m in ["CONNECT", "TRACE", "track"] {
        assert_refused(
            &layer,
            preflight(APP, m, None),
            RejectionKind::MethodNotAllowed,
        )
        .await;
    }
}

#[tokio::test]
async fn star_headers_never_cover_authorization() {
    let layer = public().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some("x-a,authorization")),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some("Authorization")),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn star_headers_with_authorization_listed_allow_it() {
    let layer = public().allow_headers(["Authorization"]).build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "PUT", Some("authorization,x-a"))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("authorization,x-a")
    );
}

#[tokio::test]
async fn star_methods_and_headers_work_with_credentials_by_reflection() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["*"])
        .allow_headers(["*"])
        .allow_credentials(true)
        .build()
        .unwrap();
    let (res, _) = send(&layer, preflight(APP, "REPORT", Some("x-a"))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-methods"), Some("REPORT"));
    assert_eq!(header(&res, "access-control-allow-headers"), Some("x-a"));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn one_mib_acrh_is_refused() {
    let big = "a,".repeat(512 * 1024);
    assert_eq!(big.len(), 1024 * 1024);
    let layer = public().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some(&big)),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn ten_thousand_commas_are_refused() {
    let commas = ",".repeat(10_000);
    let layer = public().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some(&commas)),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
    // A few empty elements are tolerated.
    let (res, _) = send(&layer, preflight(APP, "PUT", Some("x-a,,x-b,"))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn invalid_acrh_token_is_refused() {
    let layer = public().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some("x a")),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn repeated_origin_is_refused() {
    let r = req(
        "OPTIONS",
        &[
            ("origin", APP),
            ("origin", APP),
            ("access-control-request-method", "PUT"),
        ],
    );
    assert_refused(&base().build().unwrap(), r, RejectionKind::OriginNotAllowed).await;
}

#[tokio::test]
async fn repeated_acrm_is_refused() {
    let r = req(
        "OPTIONS",
        &[
            ("origin", APP),
            ("access-control-request-method", "PUT"),
            ("access-control-request-method", "PUT"),
        ],
    );
    assert_refused(&base().build().unwrap(), r, RejectionKind::MethodNotAllowed).await;
}

/// Several `Access-Control-Request-Headers` lines are one list (RFC 9110 §5.3, as jub0bs/cors
/// and rs/cors read them): every line is checked and the answer names them all, once.
#[tokio::test]
async fn acrh_split_over_lines_is_one_list() {
    let layer = base().build().unwrap();
    fn split(lines: &[&str]) -> Request<Full<Bytes>> {
        let mut h = vec![("origin", APP), ("access-control-request-method", "PUT")];
        h.extend(lines.iter().map(|l| ("access-control-request-headers", *l)));
        req("OPTIONS", &h)
    }
    let (res, calls) = send(&layer, split(&["content-type", " ", "X-Request-Id "])).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(calls, 0, "inner must not be called");
    let acah: Vec<_> = res
        .headers()
        .get_all("access-control-allow-headers")
        .iter()
        .collect();
    assert_eq!(acah, ["content-type, X-Request-Id"]);
    // The decision says the same.
    let (parts, _) = split(&["content-type", "x-request-id"]).into_parts();
    match layer.check(&parts) {
        Decision::PreflightAccepted(p) => {
            assert_eq!(p.allow_headers().unwrap(), "content-type, x-request-id");
        }
        other => panic!("{other:?}"),
    }
    // A name not allowed on any line refuses the whole list.
    let r = split(&["content-type", "x-not-allowed"]);
    assert_refused(&layer, r, RejectionKind::HeaderNotAllowed).await;
    // The lines share one budget: 8 KiB in all, 16 empty lines.
    let long = "x-request-id,".repeat(400);
    let r = split(&[&long, &long]);
    assert_refused(&layer, r, RejectionKind::HeaderNotAllowed).await;
    let r = split(&[""; 17]);
    assert_refused(&layer, r, RejectionKind::HeaderNotAllowed).await;
    // Empty lines only: accepted, no name to echo.
    let (res, _) = send(&layer, split(&[""; 16])).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers().get("access-control-allow-headers").is_none());
}

#[tokio::test]
async fn empty_acrm_is_refused() {
    assert_refused(
        &base().build().unwrap(),
        preflight(APP, "", None),
        RejectionKind::MethodNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn oversized_origin_is_refused() {
    let long = format!("https://{}.example.com", "a".repeat(10 * 1024));
    let layer = CorsConfig::new()
        .allow_origin("https://*.example.com")
        .build()
        .unwrap();
    assert!(!layer.allows_origin(&long));
    assert_refused(
        &layer,
        preflight(&long, "GET", None),
        RejectionKind::OriginNotAllowed,
    )
    .await;
}

// ---------------------------------------------------------------- debug mode

#[tokio::test]
async fn debug_mode_sends_partial_headers_on_method_refusal() {
    let layer = base().debug(true).build().unwrap();
    let (res, calls) = send(&layer, preflight(APP, "PURGE", None)).await;
    assert_eq!(calls, 0);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(header(&res, "access-control-allow-methods").is_none());
    let r = res.extensions().get::<Rejection>().unwrap();
    assert_eq!(r.kind(), RejectionKind::MethodNotAllowed);
}

#[tokio::test]
async fn debug_mode_sends_acam_on_header_refusal() {
    let layer = base().debug(true).build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "PUT", Some("x-secret"))).await;
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PUT"));
    assert!(header(&res, "access-control-allow-headers").is_none());
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::HeaderNotAllowed
    );
}

#[tokio::test]
async fn debug_mode_still_refuses_unknown_origins_with_403() {
    let layer = base().debug(true).build().unwrap();
    assert_refused(
        &layer,
        preflight("https://evil.example", "PUT", None),
        RejectionKind::OriginNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn debug_switch_at_run_time() {
    let layer = base().build().unwrap();
    let handle = layer.handle();
    assert!(!handle.debug());
    handle.set_debug(true);
    let (res, _) = send(&layer, preflight(APP, "PURGE", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    handle.set_debug(false);
    assert_refused(
        &layer,
        preflight(APP, "PURGE", None),
        RejectionKind::MethodNotAllowed,
    )
    .await;
}

// ---------------------------------------------------------------- actual requests

#[tokio::test]
async fn allowed_actual_request_is_decorated() {
    let (res, calls) = send(&base().build().unwrap(), get(APP)).await;
    assert_eq!(calls, 1);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&res, "access-control-expose-headers"),
        Some("x-total")
    );
    assert!(header(&res, "access-control-allow-methods").is_none());
    assert_eq!(vary(&res), ["Origin"]);
    assert_eq!(body_text(res.into_body()).await, "inner");
}

#[tokio::test]
async fn refused_actual_request_still_runs_without_cors_headers() {
    let (res, calls) = send(&base().build().unwrap(), get("https://evil.example")).await;
    assert_eq!(calls, 1);
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(cors_header_count(res.headers()), 0);
    assert_eq!(vary(&res), ["Origin"]);
    assert!(res.extensions().get::<Rejection>().is_none());
}

fn inner_with_headers(
    headers: &'static [(&'static str, &'static str)],
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req: Request<Full<Bytes>>| async move {
        let mut res = Response::new(Full::new(Bytes::from_static(b"x")));
        for (k, v) in headers {
            res.headers_mut().append(*k, v.parse().unwrap());
        }
        Ok::<_, Infallible>(res)
    })
}

#[tokio::test]
async fn vary_is_appended_to_the_inner_vary() {
    let svc = base()
        .build()
        .unwrap()
        .layer(inner_with_headers(&[("vary", "Accept-Encoding")]));
    let res = svc.oneshot(get(APP)).await.unwrap();
    let vary: Vec<_> = res.headers().get_all("vary").iter().collect();
    assert_eq!(vary, ["Accept-Encoding", "Origin"]);
}

#[tokio::test]
async fn vary_origin_is_not_duplicated() {
    let svc = base()
        .build()
        .unwrap()
        .layer(inner_with_headers(&[("vary", "origin")]));
    let res = svc.oneshot(get(APP)).await.unwrap();
    assert_eq!(res.headers().get_all("vary").iter().count(), 1);
}

#[tokio::test]
async fn public_policy_sends_static_star_and_no_vary() {
    let layer = public().build().unwrap();
    for r in [get("https://anyone.example"), req("GET", &[])] {
        let (res, calls) = send(&layer, r).await;
        assert_eq!(calls, 1);
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-expose-headers"), Some("*"));
        assert!(header(&res, "access-control-allow-credentials").is_none());
        assert!(vary(&res).is_empty());
    }
}

#[tokio::test]
async fn inner_cors_headers_are_stripped_on_request() {
    let inner = inner_with_headers(&[
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET"),
    ]);
    let kept = base()
        .build()
        .unwrap()
        .layer(inner.clone())
        .oneshot(get(APP))
        .await
        .unwrap();
    assert_eq!(kept.headers()["access-control-allow-origin"], APP);
    assert_eq!(kept.headers()["access-control-allow-methods"], "GET");

    let stripped = base()
        .strip_inner_cors_headers(true)
        .build()
        .unwrap()
        .layer(inner.clone());
    let res = stripped.clone().oneshot(get(APP)).await.unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert!(res.headers().get("access-control-allow-methods").is_none());
    let res = stripped.oneshot(get("https://evil.example")).await.unwrap();
    assert_eq!(cors_header_count(res.headers()), 0);
}

#[tokio::test]
async fn inner_errors_pass_through() {
    let svc = base()
        .build()
        .unwrap()
        .layer(service_fn(|_r: Request<Full<Bytes>>| async {
            Err::<Response<Full<Bytes>>, _>("boom")
        }));
    assert_eq!(svc.oneshot(get(APP)).await.unwrap_err(), "boom");
}

// ---------------------------------------------------------------- origins

#[test]
fn subdomain_patterns_match_one_or_more_labels_never_the_apex() {
    let layer = base().build().unwrap();
    for (origin, allowed) in [
        ("https://eu.example.org", true),
        ("https://a.b.example.org", true),
        ("https://example.org", false),
        ("https://.example.org", false),
        ("https://xexample.org", false),
        ("http://eu.example.org", false),
        ("https://eu.example.org:8443", false),
        ("https://eu.example.org.evil.com", false),
    ] {
        assert_eq!(layer.allows_origin(origin), allowed, "{origin}");
    }
}

#[test]
fn localhost_any_port() {
    let layer = base().build().unwrap();
    assert!(layer.allows_origin("http://localhost:3000"));
    assert!(layer.allows_origin("http://localhost:65535"));
    assert!(layer.allows_origin("http://localhost"));
    assert!(!layer.allows_origin("http://localhost:0"));
    assert!(!layer.allows_origin("http://localhost:99999"));
    assert!(!layer.allows_origin("https://localhost:3000"));
    assert!(!layer.allows_origin("http://localhost.evil.com:3000"));
}

#[test]
fn exact_origins_compare_byte_for_byte() {
    let layer = base().build().unwrap();
    assert!(layer.allows_origin(APP));
    for o in [
        "https://App.example.com",
        "https://app.example.com/",
        "https://app.example.com:443",
        "https://app.example.com.",
        " https://app.example.com",
        "null",
    ] {
        assert!(!layer.allows_origin(o), "{o}");
    }
}

#[tokio::test]
async fn ten_thousand_exact_origins() {
    let origins: Vec<String> = (0..10_000)
        .map(|i| format!("https://o{i}.example.net"))
        .collect();
    let layer = CorsConfig::new().allow_origins(origins).build().unwrap();
    assert!(layer.allows_origin("https://o9999.example.net"));
    assert!(!layer.allows_origin("https://o10000.example.net"));
    let (res, _) = send(&layer, get("https://o9999.example.net")).await;
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://o9999.example.net")
    );
}

#[tokio::test]
async fn allows_origin_on_layer_service_and_handle() {
    let layer = base().build().unwrap();
    let svc = layer.layer(Named::new("x"));
    let handle = layer.handle();
    for o in [APP, "https://x.example.org", "https://evil.example"] {
        let expected = o != "https://evil.example";
        assert_eq!(layer.allows_origin(o), expected);
        assert_eq!(svc.allows_origin(o), expected);
        assert_eq!(handle.allows_origin(o), expected);
    }
    assert!(public()
        .build()
        .unwrap()
        .allows_origin("https://whatever.example"));
}

#[tokio::test]
async fn dangerously_reflecting_any_origin_with_credentials() {
    let layer = CorsConfig::new()
        .dangerously_reflect_any_origin_with_credentials()
        .build()
        .unwrap();
    let (res, _) = send(&layer, get("https://anyone.example")).await;
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://anyone.example")
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(vary(&res), ["Origin"]);
}

// ---------------------------------------------------------------- configuration errors

fn problems(config: CorsConfig) -> Vec<(ProblemKind, String)> {
    config
        .build()
        .unwrap_err()
        .into_problems()
        .into_iter()
        .map(|p| (p.kind(), p.value().to_owned()))
        .collect()
}

fn refused_origin(origin: &str, kind: ProblemKind) {
    assert_eq!(
        problems(CorsConfig::new().allow_origin(origin)),
        [(kind, origin.to_owned())],
        "{origin}"
    );
}

#[test]
fn config_star_with_credentials() {
    assert_eq!(
        problems(CorsConfig::new().allow_any_origin().allow_credentials(true)),
        [(ProblemKind::Unsafe, "*".to_owned())]
    );
}

#[test]
fn config_null_origin() {
    refused_origin("null", ProblemKind::Invalid);
}

#[test]
fn config_file_origin() {
    refused_origin("file://", ProblemKind::Invalid);
}

#[test]
fn config_path_query_fragment_userinfo() {
    for o in [
        "https://a.example/",
        "https://a.example/x",
        "https://a.example?q",
        "https://a.example#f",
        "https://user@a.example",
    ] {
        refused_origin(o, ProblemKind::Invalid);
    }
}

#[test]
fn config_non_ascii_host() {
    refused_origin("https://bücher.example", ProblemKind::Invalid);
    assert!(CorsConfig::new()
        .allow_origin("https://xn--bcher-kva.example")
        .build()
        .is_ok());
}

#[test]
fn config_explicit_default_port() {
    refused_origin("https://a.example:443", ProblemKind::Invalid);
    refused_origin("http://localhost:80", ProblemKind::Invalid);
    assert!(CorsConfig::new()
        .allow_origin("https://a.example:8443")
        .build()
        .is_ok());
}

#[test]
fn config_upper_case_scheme_or_host() {
    refused_origin("HTTPS://a.example", ProblemKind::Invalid);
    refused_origin("https://A.Example", ProblemKind::Invalid);
    let e = CorsConfig::new()
        .allow_origin("https://A.Example")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("\"https://a.example\""), "{e}");
}

#[test]
fn config_malformed_origins() {
    for o in [
        "a.example",
        "https://",
        "https://a.example:x",
        "https://a.*.example",
        "*.example.com",
    ] {
        refused_origin(o, ProblemKind::Syntax);
    }
    refused_origin("https://*.com", ProblemKind::Unsafe);
}

#[test]
fn config_forbidden_methods() {
    assert_eq!(
        problems(CorsConfig::new().allow_methods(["CONNECT", "trace", "TRACK", "PUT"])),
        [
            (ProblemKind::Invalid, "CONNECT".to_owned()),
            (ProblemKind::Invalid, "trace".to_owned()),
            (ProblemKind::Invalid, "TRACK".to_owned()),
        ]
    );
    assert_eq!(
        problems(CorsConfig::new().allow_methods(["PU T"])),
        [(ProblemKind::Syntax, "PU T".to_owned())]
    );
}

#[test]
fn config_forbidden_header_names() {
    assert_eq!(
        problems(CorsConfig::new().allow_headers(["Cookie", "sec-fetch-site", "proxy-x", "x-ok"])),
        [
            (ProblemKind::Invalid, "Cookie".to_owned()),
            (ProblemKind::Invalid, "sec-fetch-site".to_owned()),
            (ProblemKind::Invalid, "proxy-x".to_owned()),
        ]
    );
    assert_eq!(
        problems(CorsConfig::new().expose_headers(["set-cookie"])),
        [(ProblemKind::Invalid, "set-cookie".to_owned())]
    );
}

#[test]
fn config_invalid_header_names() {
    assert_eq!(
        problems(
            CorsConfig::new()
                .allow_headers(["x a"])
                .expose_headers(["é"])
        ),
        [
            (ProblemKind::Syntax, "x a".to_owned()),
            (ProblemKind::Syntax, "é".to_owned()),
        ]
    );
}

#[test]
fn config_max_age_range() {
    for bad in [-2, 86_401, i64::MAX] {
        assert_eq!(
            problems(CorsConfig::new().max_age(bad)),
            [(ProblemKind::OutOfRange, bad.to_string())]
        );
    }
    for ok in [-1, 0, 86_400] {
        assert!(CorsConfig::new().max_age(ok).build().is_ok());
    }
}

#[test]
fn config_expose_star_with_credentials() {
    assert_eq!(
        problems(
            CorsConfig::new()
                .allow_origin(APP)
                .expose_headers(["*"])
                .allow_credentials(true)
        ),
        [(ProblemKind::Unsafe, "*".to_owned())]
    );
}

#[test]
fn config_insecure_origin_with_credentials() {
    let c = || {
        CorsConfig::new()
            .allow_origin("http://app.example")
            .allow_credentials(true)
    };
    assert_eq!(
        problems(c()),
        [(ProblemKind::Unsafe, "http://app.example".to_owned())]
    );
    assert!(c()
        .dangerously_tolerate_insecure_origins(true)
        .build()
        .is_ok());
    assert!(CorsConfig::new()
        .allow_origins([
            "http://localhost:*",
            "http://127.0.0.1:8080",
            "http://[::1]:3000"
        ])
        .allow_credentials(true)
        .build()
        .is_ok());
}

#[test]
fn config_reports_every_problem_with_its_location() {
    let e = CorsConfig::new()
        .allow_origins(["https://ok.example", "null", "https://a.example/"])
        .allow_methods(["TRACE"])
        .allow_headers(["cookie"])
        .max_age(100_000)
        .build()
        .unwrap_err();
    let locations: Vec<_> = e.problems().iter().map(|p| p.location().unwrap()).collect();
    assert_eq!(
        locations,
        [
            "allow_origins[1]",
            "allow_origins[2]",
            "allow_methods[0]",
            "allow_headers[0]",
            "max_age"
        ]
    );
    assert!(e
        .to_string()
        .starts_with("5 configuration problems: allow_origins[1]: cors: origin \"null\""));
    assert!(e.problems().iter().all(|p| p.module() == "cors"));
}

#[test]
fn config_reflect_any_excludes_listed_origins() {
    let e = CorsConfig::new()
        .allow_origin(APP)
        .dangerously_reflect_any_origin_with_credentials()
        .build()
        .unwrap_err();
    assert_eq!(e.problems()[0].kind(), ProblemKind::Conflict);
}

#[test]
fn config_from_serde_data() {
    let json = r#"{
        "allow_origins": ["https://app.example.com", "https://*.example.org"],
        "allow_methods": ["PUT"],
        "allow_headers": ["authorization"],
        "allow_credentials": true,
        "max_age": 600
    }"#;
    let config: CorsConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        config,
        CorsConfig::new()
            .allow_origins([APP, "https://*.example.org"])
            .allow_methods(["PUT"])
            .allow_headers(["authorization"])
            .allow_credentials(true)
            .max_age(600)
    );
    let layer = CorsLayer::try_from(config).unwrap();
    assert!(layer.allows_origin("https://x.example.org"));
    assert!(serde_json::from_str::<CorsConfig>(r#"{"allow_origin": []}"#).is_err());
    let bad: CorsConfig =
        serde_json::from_str(r#"{"allow_origins": ["null"], "max_age": -5}"#).unwrap();
    assert_eq!(bad.build().unwrap_err().problems().len(), 2);
}

// ---------------------------------------------------------------- handle and check

#[tokio::test]
async fn handle_swaps_the_policy_and_refuses_invalid_ones() {
    let layer = base().build().unwrap();
    let svc = layer.layer(Named::new("x"));
    let handle = layer.handle();
    handle
        .set(CorsConfig::new().allow_origin("https://new.example"))
        .unwrap();
    let res = svc
        .clone()
        .oneshot(get("https://new.example"))
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://new.example"
    );
    let res = svc.clone().oneshot(get(APP)).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let err = handle
        .set(CorsConfig::new().allow_origin("null").max_age(1 << 40))
        .unwrap_err();
    assert_eq!(err.problems().len(), 2);
    assert!(handle.allows_origin("https://new.example"));
}

#[tokio::test]
async fn in_flight_requests_keep_their_policy() {
    let layer = base().build().unwrap();
    let handle: CorsHandle = layer.handle();
    let swaps = Arc::new(AtomicUsize::new(0));
    let counter = swaps.clone();
    let inner = service_fn(move |_r: Request<Full<Bytes>>| {
        let handle = handle.clone();
        let counter = counter.clone();
        async move {
            // The policy changes while this request is inside the inner service.
            handle
                .set(CorsConfig::new().allow_origin("https://other.example"))
                .unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }
    });
    let svc = layer.layer(inner);
    let res = svc.clone().oneshot(get(APP)).await.unwrap();
    assert_eq!(swaps.load(Ordering::SeqCst), 1);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = svc.oneshot(get(APP)).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn check_returns_every_kind_of_decision() {
    let layer = base().build().unwrap();
    let parts = |r: Request<Full<Bytes>>| r.into_parts().0;
    assert_eq!(layer.check(&parts(req("GET", &[]))), Decision::NotCors);
    assert_eq!(
        layer.check(&parts(get(APP))),
        Decision::ActualAllowed {
            allow_origin: APP.parse().unwrap()
        }
    );
    assert_eq!(
        layer.check(&parts(get("https://evil.example"))),
        Decision::ActualRefused
    );
    match layer.check(&parts(preflight(APP, "DELETE", Some("x-request-id")))) {
        Decision::PreflightAccepted(p) => {
            assert_eq!(p.allow_origin(), APP);
            assert_eq!(p.allow_method().unwrap(), "DELETE");
            assert_eq!(p.allow_headers().unwrap(), "x-request-id");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        layer.check(&parts(preflight(APP, "PURGE", None))),
        Decision::PreflightRefused(Rejection::new(RejectionKind::MethodNotAllowed))
    );
    let svc = layer.layer(Named::new("x"));
    assert_eq!(
        svc.check(&parts(get(APP))),
        layer.handle().check(&parts(get(APP)))
    );
}

// ---------------------------------------------------------------- stacks

#[tokio::test]
async fn stacked_on_an_axum_router_answers_preflights_for_post_only_routes() {
    use axum::routing::post;
    let app = axum::Router::new()
        .route("/items", post(|| async { "created" }))
        .layer(base().build().unwrap());

    let preflight = Request::options("/items")
        .header("origin", APP)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(preflight).await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "content-type"
    );

    let post = Request::post("/items")
        .header("origin", APP)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.clone().oneshot(post).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(body_text(res.into_body()).await, "created");

    // axum's own 405 is decorated too, so the browser can read it.
    let get = Request::get("/items")
        .header("origin", APP)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(get).await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
}

#[test]
fn layer_service_and_handle_are_clone_send_sync() {
    fn check<T: Clone + Send + Sync>() {}
    check::<CorsLayer>();
    check::<CorsHandle>();
    check::<tower_gateway::cors::Cors<Named>>();
    check::<CorsConfig>();
}

// ---------------------------------------------------------------- proptest

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[a-zA-Z0-9:/.*,_ \\t-]{0,80}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn arbitrary_header_bytes_never_panic(
        origin in header_bytes(),
        method in header_bytes(),
        headers in header_bytes(),
        options in any::<bool>(),
    ) {
        let layer = base().build().unwrap();
        let public = public().build().unwrap();
        let mut b = Request::builder().method(if options { "OPTIONS" } else { "GET" });
        for (name, value) in [
            ("origin", &origin),
            ("access-control-request-method", &method),
            ("access-control-request-headers", &headers),
        ] {
            if let Ok(v) = http::HeaderValue::from_bytes(value) {
                b = b.header(name, v);
            }
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        let _ = layer.check(&parts);
        let _ = public.check(&parts);
        let text = String::from_utf8_lossy(&origin);
        let _ = layer.allows_origin(&text);
    }

    #[test]
    fn exact_lookup_agrees_with_a_list_scan(
        hosts in proptest::collection::vec("[a-z]{1,6}", 1..20),
        probe in "[a-z]{1,6}",
    ) {
        let list: Vec<String> = hosts.iter().map(|h| format!("https://{h}.example")).collect();
        let layer = CorsConfig::new().allow_origins(list.clone()).build().unwrap();
        let origin = format!("https://{probe}.example");
        prop_assert_eq!(layer.allows_origin(&origin), list.contains(&origin));
    }

    #[test]
    fn subdomain_pattern_agrees_with_suffix_rule(labels in proptest::collection::vec("[a-z0-9]{1,5}", 0..4)) {
        let layer = CorsConfig::new().allow_origin("https://*.example.com").build().unwrap();
        let host = labels.iter().map(|l| format!("{l}.")).collect::<String>() + "example.com";
        prop_assert_eq!(layer.allows_origin(&format!("https://{host}")), !labels.is_empty());
    }
}

// ---- edge cases (audit, session 6): audit_cors.rs

fn creds() -> CorsConfig {
    CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["PUT", "PATCH"])
        .allow_headers(["content-type", "x-request-id"])
        .allow_credentials(true)
        .max_age(600)
}

fn public_no_expose() -> CorsConfig {
    CorsConfig::new()
        .allow_any_origin()
        .allow_methods(["*"])
        .allow_headers(["*"])
}

fn cors_names(h: &HeaderMap) -> Vec<String> {
    let mut v: Vec<String> = h
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.as_str().to_owned())
        .collect();
    v.sort();
    v
}

fn check(layer: &CorsLayer, r: &Request<Full<Bytes>>) -> Decision {
    let mut b = Request::builder().method(r.method()).uri(r.uri());
    for (k, v) in r.headers() {
        b = b.header(k, v);
    }
    let (parts, ()) = b.body(()).unwrap().into_parts();
    layer.check(&parts)
}

#[tokio::test]
async fn public_preflight_for_safelisted_method_without_acrh() {
    let layer = public_no_expose().build().unwrap();
    let (res, calls) = send(&layer, preflight("https://x.example", "GET", None)).await;
    assert_eq!(calls, 0);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(cors_names(res.headers()), ["access-control-allow-origin"]);
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
    assert_eq!(body_text(res.into_body()).await, "");
}

#[tokio::test]
async fn whitespace_only_acrh_is_no_request_header() {
    for acrh in [" ", "\t", " , ,\t", ","] {
        for layer in [
            creds().build().unwrap(),
            public_no_expose().build().unwrap(),
        ] {
            let r = preflight(APP, "PUT", Some(acrh));
            let d = check(&layer, &r);
            let (res, calls) = send(&layer, r).await;
            assert_eq!(calls, 0);
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{acrh:?}");
            assert!(
                header(&res, "access-control-allow-headers").is_none(),
                "{acrh:?}"
            );
            assert_eq!(header(&res, "access-control-allow-methods"), Some("PUT"));
            match d {
                Decision::PreflightAccepted(p) => assert!(p.allow_headers().is_none()),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn accepted_preflight_among_many_other_and_repeated_headers() {
    let layer = creds().build().unwrap();
    let r = req(
        "OPTIONS",
        &[
            ("accept", "a"),
            ("accept", "b"),
            (
                "access-control-request-headers",
                "X-Request-Id, Content-Type",
            ),
            ("x-other", "1"),
            ("x-other", "2"),
            ("access-control-request-method", "PATCH"),
            ("user-agent", "ua"),
            ("origin", APP),
            ("cookie", "a=b"),
        ],
    );
    let d = check(&layer, &r);
    let (res, calls) = send(&layer, r).await;
    assert_eq!(calls, 0);
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        cors_names(res.headers()),
        [
            "access-control-allow-credentials",
            "access-control-allow-headers",
            "access-control-allow-methods",
            "access-control-allow-origin",
            "access-control-max-age"
        ]
    );
    assert_eq!(header(&res, "access-control-allow-origin"), Some(APP));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PATCH"));
    assert_eq!(
        header(&res, "access-control-allow-headers"),
        Some("X-Request-Id, Content-Type")
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&res, "access-control-max-age"), Some("600"));
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
    assert_eq!(res.headers().len(), 6, "{:?}", res.headers());
    assert!(res.headers().get("accept").is_none());
    assert!(res.headers().get("cookie").is_none());
    match d {
        Decision::PreflightAccepted(p) => {
            assert_eq!(p.allow_origin(), APP);
            assert_eq!(p.allow_method().unwrap(), "PATCH");
            assert_eq!(p.allow_headers().unwrap(), "X-Request-Id, Content-Type");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn debug_mode_does_not_change_accepted_preflights() {
    for layer in [
        creds().debug(true).build().unwrap(),
        public_no_expose().debug(true).build().unwrap(),
    ] {
        let (res, calls) = send(&layer, preflight(APP, "PUT", Some("content-type"))).await;
        assert_eq!(calls, 0);
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&res, "access-control-allow-methods"), Some("PUT"));
        assert_eq!(
            header(&res, "access-control-allow-headers"),
            Some("content-type")
        );
        assert!(res.extensions().get::<Rejection>().is_none());
    }
}

#[tokio::test]
async fn debug_mode_header_refusal_with_safelisted_method() {
    let layer = creds().debug(true).build().unwrap();
    let (res, calls) = send(&layer, preflight(APP, "POST", Some("x-nope"))).await;
    assert_eq!(calls, 0);
    assert_eq!(
        cors_names(res.headers()),
        [
            "access-control-allow-credentials",
            "access-control-allow-origin"
        ]
    );
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::HeaderNotAllowed
    );
}

#[tokio::test]
async fn debug_mode_public_policy_refusal_names_star() {
    let layer = public_no_expose().debug(true).build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "PUT", Some("authorization"))).await;
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PUT"));
    assert!(header(&res, "access-control-allow-headers").is_none());
    assert!(header(&res, "access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn reflect_any_with_credentials_preflight() {
    let layer = CorsConfig::new()
        .dangerously_reflect_any_origin_with_credentials()
        .allow_methods(["PUT"])
        .build()
        .unwrap();
    let (res, _) = send(&layer, preflight("https://evil.example", "PUT", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://evil.example")
    );
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(vary(&res), [VARY_PREFLIGHT]);
}

#[tokio::test]
async fn public_policy_static_star_on_every_actual_response() {
    let layer = public_no_expose().build().unwrap();
    // Two Origin headers: still "every response" under any-origin without credentials.
    let r = req("GET", &[("origin", APP), ("origin", "https://b.example")]);
    let (res, calls) = send(&layer, r).await;
    assert_eq!(calls, 1);
    assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
    assert!(vary(&res).is_empty(), "{:?}", vary(&res));
    for o in ["null", "garbage", "https://x.example"] {
        let (res, _) = send(&layer, req("POST", &[("origin", o)])).await;
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some("*"),
            "{o}"
        );
        assert!(vary(&res).is_empty());
    }
}

#[tokio::test]
async fn vary_origin_not_duplicated_in_a_list() {
    for inner_vary in ["accept-encoding, origin", "Origin,Accept", "*"] {
        let layer = creds().build().unwrap();
        let inner = tower::service_fn(move |_r: Request<Full<Bytes>>| async move {
            Ok::<_, std::convert::Infallible>(
                Response::builder()
                    .header("vary", inner_vary)
                    .body(Full::<Bytes>::default())
                    .unwrap(),
            )
        });
        let res = layer
            .layer(inner)
            .oneshot(req("GET", &[("origin", APP)]))
            .await
            .unwrap();
        let v: Vec<_> = res.headers().get_all("vary").iter().collect();
        assert_eq!(v, [inner_vary], "{inner_vary}");
    }
}

#[tokio::test]
async fn lower_case_safelisted_method_is_not_safelisted() {
    let layer = creds().build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "get", None)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let layer = public_no_expose().build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "get", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-methods"), Some("get"));
}

#[test]
fn config_origin_edge_cases() {
    for o in [
        "",
        " https://a.example",
        "https://a.example ",
        "https://a.example:0",
        "https://a.example:65536",
        "https://a.example:",
        "https://a.example:08080",
        "https://[::1",
        "https:/a.example",
        "https://a..example",
    ] {
        let r = CorsConfig::new().allow_origin(o).build();
        assert!(r.is_err(), "{o:?} accepted");
        let e = r.unwrap_err();
        assert_eq!(e.problems()[0].value(), o);
    }
}

#[test]
fn pattern_edge_cases() {
    let layer = CorsConfig::new()
        .allow_origin("https://*.example.com")
        .allow_origin("http://localhost:*")
        .build()
        .unwrap();
    for ok in [
        "https://a.example.com",
        "https://a.b.example.com",
        "https://xn--bcher-kva.example.com",
        "http://localhost",
        "http://localhost:1",
        "http://localhost:65535",
    ] {
        assert!(layer.allows_origin(ok), "{ok} refused");
    }
    for bad in [
        "https://example.com",
        "https://.example.com",
        "https://a..example.com",
        "https://a.example.com:8443",
        "https://a.example.com.",
        "http://a.example.com",
        "https://a.example.com/",
        "https://aexample.com",
        "https://a.example.com.evil",
        "https://A.example.com",
        "https://a b.example.com",
        "https://a_b.example.com:",
        "http://localhost:",
        "http://localhost:abc",
        "http://localhost:65536",
        "http://localhost:080",
        "http://localhost:-1",
        "http://localhost:+80",
        "http://localhost.",
        "https://localhost:1",
        "http://sub.localhost:1",
    ] {
        assert!(!layer.allows_origin(bad), "{bad} allowed");
    }
}

#[test]
fn every_config_problem_has_a_serde_location() {
    let e = CorsConfig::new()
        .allow_origin(APP)
        .dangerously_reflect_any_origin_with_credentials()
        .expose_headers(["*", "x a"])
        .build()
        .unwrap_err();
    let locations: Vec<_> = e.problems().iter().map(|p| p.location()).collect();
    assert_eq!(
        locations,
        [
            Some("allow_origins"),
            Some("expose_headers[0]"),
            Some("expose_headers[1]")
        ]
    );
}

// ---- third pass (audit, session 6): Fetch CORS-preflight fetch and CORS check, jub0bs/cors

#[tokio::test]
async fn acrh_tabs_uppercase_duplicates_and_empty_elements_are_accepted_and_echoed() {
    let layer = creds().build().unwrap();
    for acrh in [
        "content-type,\tx-request-id",
        "\tcontent-type\t",
        "CONTENT-TYPE",
        "Content-Type, X-Request-ID",
        "content-type,content-type",
        "content-type, content-type, CONTENT-TYPE",
        "content-type,",
        ",content-type",
        "content-type,,x-request-id",
        "content-type , x-request-id",
    ] {
        let r = preflight(APP, "PUT", Some(acrh));
        let (res, calls) = send(&layer, r).await;
        assert_eq!(calls, 0);
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{acrh:?}");
        assert_eq!(
            res.headers()["access-control-allow-headers"].as_bytes(),
            acrh.as_bytes(),
            "{acrh:?}"
        );
    }
}

#[tokio::test]
async fn acrh_with_non_token_bytes_is_refused() {
    for layer in [
        creds().build().unwrap(),
        public_no_expose().build().unwrap(),
    ] {
        for acrh in [
            &b"content type"[..],
            b"x(y)",
            b"x/y",
            b"x\"y\"",
            b"x:y",
            b"x;y",
            b"x=y",
            b"x@y",
            b"x[y]",
            b"x{y}",
            b"x?y",
            b"x\xc3\xa9",
            b"\xff",
            b"content-type, x y",
        ] {
            let mut r = preflight(APP, "PUT", None);
            r.headers_mut().insert(
                "access-control-request-headers",
                http::HeaderValue::from_bytes(acrh).unwrap(),
            );
            assert_refused(&layer, r, RejectionKind::HeaderNotAllowed).await;
        }
    }
}

#[tokio::test]
async fn acrh_empty_element_budget_is_bounded() {
    let layer = creds().build().unwrap();
    // A handful of empty elements is tolerated (jub0bs/cors tolerates 16) ...
    let (res, _) = send(&layer, preflight(APP, "PUT", Some(",,,,content-type,,,,"))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // ... a long run of them is refused.
    let many = ",".repeat(17) + "content-type";
    assert_refused(
        &layer,
        preflight(APP, "PUT", Some(&many)),
        RejectionKind::HeaderNotAllowed,
    )
    .await;
}

#[tokio::test]
async fn acrm_options_itself_and_custom_methods() {
    // `OPTIONS` is not safelisted: it must be allowed, and is then named.
    let layer = creds().build().unwrap();
    assert_refused(
        &layer,
        preflight(APP, "OPTIONS", None),
        RejectionKind::MethodNotAllowed,
    )
    .await;
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["options", "purge", "PROPFIND"])
        .build()
        .unwrap();
    for (m, ok) in [
        ("OPTIONS", true),
        ("purge", true),
        ("PURGE", false),
        ("PROPFIND", true),
        ("propfind", false),
        ("options", false),
    ] {
        let (res, _) = send(&layer, preflight(APP, m, None)).await;
        if ok {
            assert_eq!(res.status(), StatusCode::NO_CONTENT, "{m}");
            assert_eq!(header(&res, "access-control-allow-methods"), Some(m));
        } else {
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{m}");
        }
    }
    let layer = public_no_expose().build().unwrap();
    let (res, _) = send(&layer, preflight(APP, "OPTIONS", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&res, "access-control-allow-methods"),
        Some("OPTIONS")
    );
    // `*` still refuses non-tokens and forbidden methods in any case.
    for m in ["PU T", "PUT,DELETE", "connect", "Trace", "track"] {
        assert_refused(
            &layer,
            preflight(APP, m, None),
            RejectionKind::MethodNotAllowed,
        )
        .await;
    }
}

#[tokio::test]
async fn request_origin_comparisons() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_origin("http://[::1]:8080")
        .allow_origin("http://127.0.0.1:3000")
        .allow_methods(["PUT"])
        .allow_credentials(true)
        .build()
        .unwrap();
    for (o, ok) in [
        ("http://[::1]:8080", true),
        ("http://[0:0:0:0:0:0:0:1]:8080", false),
        ("http://[::1]", false),
        ("http://127.0.0.1:3000", true),
        ("https://app.example.com:443", false),
        ("https://app.example.com.", false),
        ("HTTPS://app.example.com", false),
        ("https://APP.EXAMPLE.COM", false),
        ("null", false),
        ("https://app.example.com/", false),
    ] {
        let (res, _) = send(&layer, preflight(o, "PUT", None)).await;
        let want = if ok {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(res.status(), want, "{o}");
        let (res, calls) = send(&layer, get(o)).await;
        assert_eq!(calls, 1);
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            ok.then_some(o),
            "{o}"
        );
        assert_eq!(vary(&res), ["Origin"], "{o}");
    }
}

#[test]
fn patterns_against_apex_deeper_labels_and_lookalikes() {
    let layer = CorsConfig::new()
        .allow_origin("https://*.example.com")
        .allow_origin("http://localhost:*")
        .build()
        .unwrap();
    for (o, ok) in [
        ("https://example.com", false),
        ("https://a.b.example.com", true),
        ("https://xexample.com", false),
        ("https://x-example.com", false),
        ("http://a.example.com", false),
        ("https://a.example.com", true),
        ("http://localhost", true),
        ("http://localhost:8080", true),
        ("http://localhost.evil.com", false),
        ("http://localhost.evil.com:8080", false),
        ("http://evil-localhost:8080", false),
        ("http://127.0.0.1:8080", false),
        ("https://localhost", false),
    ] {
        assert_eq!(layer.allows_origin(o), ok, "{o}");
    }
}

#[tokio::test]
async fn max_age_rendering() {
    for (age, want) in [(-1, "0"), (0, "0"), (1, "1"), (86_400, "86400")] {
        let layer = CorsConfig::new()
            .allow_origin(APP)
            .max_age(age)
            .build()
            .unwrap();
        let (res, _) = send(&layer, preflight(APP, "GET", None)).await;
        assert_eq!(header(&res, "access-control-max-age"), Some(want), "{age}");
        // Never on actual responses.
        let (res, _) = send(&layer, get(APP)).await;
        assert!(header(&res, "access-control-max-age").is_none());
    }
    for age in [-2, 86_401, i64::MIN, i64::MAX] {
        let e = CorsConfig::new()
            .allow_origin(APP)
            .max_age(age)
            .build()
            .unwrap_err();
        assert_eq!(e.problems().len(), 1);
        assert_eq!(e.problems()[0].value(), age.to_string());
        assert_eq!(e.problems()[0].kind(), ProblemKind::OutOfRange);
    }
}

#[tokio::test]
async fn expose_headers_star_and_lists() {
    // Without credentials `*` is a wildcard, sent as is, on actual responses only.
    let layer = CorsConfig::new()
        .allow_any_origin()
        .expose_headers(["*"])
        .build()
        .unwrap();
    let (res, _) = send(&layer, get(APP)).await;
    assert_eq!(header(&res, "access-control-expose-headers"), Some("*"));
    let (res, _) = send(&layer, preflight(APP, "GET", None)).await;
    assert!(header(&res, "access-control-expose-headers").is_none());
    // With an exact origin and no credentials as well.
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .expose_headers(["*"])
        .build()
        .unwrap();
    let (res, _) = send(&layer, get(APP)).await;
    assert_eq!(header(&res, "access-control-expose-headers"), Some("*"));
    let (res, _) = send(&layer, get("https://evil.example")).await;
    assert!(header(&res, "access-control-expose-headers").is_none());
    // With credentials `*` is refused; a list is sent to allowed origins only, lower-cased.
    let e = CorsConfig::new()
        .allow_origin(APP)
        .allow_credentials(true)
        .expose_headers(["X-Total", "*"])
        .build()
        .unwrap_err();
    assert_eq!(e.problems().len(), 1);
    assert_eq!(e.problems()[0].value(), "*");
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_credentials(true)
        .expose_headers(["X-Total", "x-page"])
        .build()
        .unwrap();
    let (res, _) = send(&layer, get(APP)).await;
    let v = header(&res, "access-control-expose-headers").unwrap();
    let names: Vec<_> = v.split(',').map(str::trim).collect();
    assert_eq!(names, ["x-total", "x-page"]);
    let (res, _) = send(&layer, get("https://evil.example")).await;
    assert_eq!(cors_header_count(res.headers()), 0);
}

#[tokio::test]
async fn strip_inner_cors_headers_everywhere_but_keeps_the_rest() {
    let inner = inner_with_headers(&[
        ("access-control-allow-origin", "https://inner.example"),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "x-secret"),
        ("access-control-allow-methods", "GET"),
        ("access-control-allow-headers", "x-a"),
        ("access-control-max-age", "5"),
        ("vary", "accept-encoding"),
        ("x-app", "1"),
    ]);
    let svc = creds()
        .strip_inner_cors_headers(true)
        .build()
        .unwrap()
        .layer(inner);
    // Allowed origin: only the layer's headers.
    let res = svc.clone().oneshot(get(APP)).await.unwrap();
    let names: Vec<_> = res
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.as_str())
        .collect();
    let mut names = names;
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "access-control-allow-credentials",
            "access-control-allow-origin"
        ]
    );
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["x-app"], "1");
    let v: Vec<_> = res.headers().get_all("vary").iter().collect();
    assert_eq!(v, ["accept-encoding", "Origin"]);
    // A non-preflight OPTIONS from an allowed origin: the layer's own headers only.
    let res = svc
        .clone()
        .oneshot(req("OPTIONS", &[("origin", APP)]))
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert!(res.headers().get("access-control-allow-methods").is_none());
    assert!(res.headers().get("access-control-expose-headers").is_none());
    // Refused origin and no Origin at all: none left.
    for r in [get("https://evil.example"), req("GET", &[])] {
        let res = svc.clone().oneshot(r).await.unwrap();
        assert!(res.headers().get("access-control-allow-origin").is_none());
        assert!(res
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
        assert!(res.headers().get("access-control-max-age").is_none());
        assert!(res.headers().get("access-control-expose-headers").is_none());
        assert_eq!(res.headers()["x-app"], "1");
    }
}

#[tokio::test]
async fn invalid_swap_lists_every_problem_and_keeps_the_old_policy() {
    let layer = creds().build().unwrap();
    let svc = layer.layer(Named::new("x"));
    let handle = layer.handle();
    handle.set_debug(true);
    let err = handle
        .set(
            CorsConfig::new()
                .allow_origin("null")
                .allow_origin("https://Upper.example")
                .allow_origin("*")
                .allow_credentials(true)
                .allow_methods(["CONNECT"])
                .allow_headers(["cookie", "bad name"])
                .expose_headers(["*"])
                .max_age(86_401),
        )
        .unwrap_err();
    let locations: Vec<_> = err.problems().iter().map(|p| p.location()).collect();
    assert_eq!(
        locations,
        [
            Some("allow_origins[0]"),
            Some("allow_origins[1]"),
            Some("allow_origins[2]"),
            Some("allow_methods[0]"),
            Some("allow_headers[0]"),
            Some("allow_headers[1]"),
            Some("expose_headers[0]"),
            Some("max_age"),
        ],
        "{err}"
    );
    // The old policy still answers, in the debug mode set before.
    let (res, _) = {
        let r = preflight(APP, "PATCH", Some("content-type"));
        (svc.clone().oneshot(r).await.unwrap(), ())
    };
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "access-control-allow-methods"), Some("PATCH"));
    assert!(handle.debug());
    // A valid swap applies to the next preflight and keeps the debug mode.
    handle
        .set(CorsConfig::new().allow_origin("https://new.example"))
        .unwrap();
    assert!(handle.debug());
    let res = svc
        .clone()
        .oneshot(preflight(APP, "PATCH", None))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = svc
        .oneshot(preflight("https://new.example", "PATCH", None))
        .await
        .unwrap();
    // Allowed origin, method not allowed, debug: partial headers with 204.
    assert_eq!(
        header(&res, "access-control-allow-origin"),
        Some("https://new.example")
    );
    assert!(header(&res, "access-control-allow-methods").is_none());
}

/// jub0bs/cors's `parsePatternTestCases`: every configured origin either is what a browser
/// sends (URL-standard serialization) or is refused with the offending value.
#[test]
fn config_origins_as_jub0bs_parses_them() {
    let host251 = "a2345678901234567890123456789012345678901234567890".to_owned()
        + "1234567890.a2345678901234567890123456789012345678901234567890"
        + "1234567890.a2345678901234567890123456789012345678901234567890"
        + "1234567890.a2345678901234567890123456789012345678901234567890"
        + "1234567890.a234567";
    let too_long = format!("https://*.a{host251}");
    let longest = format!("https://*.{host251}");
    let mut cases: Vec<(&str, bool)> = vec![(&too_long, false), (&longest, true)];
    cases.extend([
        ("connector://foo", true),
        ("chrome-extension://abcdef", true),
        ("ab", false),
        ("ab:", false),
        ("42-chrome-extension://foo", false),
        ("chrome-extension*://foo", false),
        ("https://^foo", false),
        ("https://foo.^bar", false),
        ("https://foo:-1", false),
        ("https://foo:12345foo", false),
        ("https://foo:123456", false),
        ("https://foo:12390abc", false),
        ("http://foo.bar.255:6060", false),
        (
            "http://foo.bar.baz.012345678901234567890123456789:6060",
            false,
        ),
        ("http://[::1]1:6060", false),
        ("http://127.0.0.1:", false),
        ("http://127.0.0.1:0", false),
        ("https://127.0.0.1:90", true),
        ("https://127.0.0.1.:90", false),
        ("http://127.0.0.1.1", false),
        ("http://69.254.169.254", true),
        ("http://127.0.0.1:90", true),
        ("https://[::1]:90", true),
        ("http://[example]:90", false),
        ("https://::1:90", false),
        ("http://[::1:90", false),
        ("https://::1]:90", false),
        ("https://abc[::1]:90", false),
        ("https://[::1]abc:90", false),
        ("http://[2001:db8:aaaa:1111::100]:9090", true),
        ("http://127.1:3999", false),
        ("http://0x7f.0.0.1", false),
        ("http://0177.0.0.1", false),
        ("http://127.000.0.1", false),
        ("http://256.0.0.1", false),
        ("http://2130706433", false),
        ("http://[::::::::::::::::1]:90", false),
        ("http://[2001:4860:4860:0000:0000:0000:0000:8888]:90", false),
        ("http://[2001:4860:4860::8888]:90", true),
        ("http://[0::1]:90", false),
        ("http://[::ffff:127.0.0.1]:90", false),
        ("http://[1:0:0:2:0:0:0:3]:90", false),
        ("http://[1:0:0:2::3]:90", true),
        ("http://[fe80::1ff:fe23:4567:890a%eth2]:90", false),
        ("http://exAmplE.coM:3999", false),
        ("http://ex_am-ple.com:3999", true),
        ("http://example.com.:3999", true),
        ("http://example.com..:3999", false),
        ("http://example..com:3999", false),
        ("http://*.example.com:3999", true),
        ("http://*.example.com:*", true),
        ("http://**.example.com:3999", false),
        ("http://fooo.*.example.com:3999", false),
        ("http://*example.com:3999", false),
        ("http://*.[::1]:3999", false),
        ("http://*.127.0.0.1:3999", false),
        ("https://*.com.", false),
        ("https://user:password@example.com:6060", false),
        ("https://example.com:6060?", false),
        ("https://example.com:6060#nav", false),
        ("file:///foo", false),
        (" http://example.com:6060 ", false),
    ]);
    let wrong = common::origin_pattern_mismatches(cases);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn underscore_and_trailing_dot_origins_match_byte_for_byte() {
    let layer = CorsConfig::new()
        .allow_origin("https://my_app.example.com")
        .allow_origin("https://dot.example.")
        .allow_origin("https://*.svc_1.example")
        .allow_origin("http://[2001:db8::1]:8080")
        .allow_methods(["PUT"])
        .build()
        .unwrap();
    for (o, ok) in [
        ("https://my_app.example.com", true),
        ("https://my-app.example.com", false),
        ("https://dot.example.", true),
        ("https://dot.example", false),
        ("https://a_b.svc_1.example", true),
        ("https://svc_1.example", false),
        ("http://[2001:db8::1]:8080", true),
        ("http://[2001:db8:0:0:0:0:0:1]:8080", false),
    ] {
        assert_eq!(layer.allows_origin(o), ok, "{o}");
        let (res, _) = send(&layer, preflight(o, "PUT", None)).await;
        assert_eq!(res.status() == StatusCode::NO_CONTENT, ok, "{o}");
        if ok {
            assert_eq!(header(&res, "access-control-allow-origin"), Some(o));
        }
    }
}
