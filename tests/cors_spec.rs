//! The CorsLayer cases written from the issue text (issue 4), as an independent tester would:
//! from the issue text, the module docs and the Fetch standard, black-box through the public API.

#![cfg(feature = "cors")]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use common::{body_text, respond};
use http::header::{HeaderName, HeaderValue, VARY};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::cors::{CorsConfig, CorsLayer, Decision, Rejection, RejectionKind};
use tower_gateway::ConfigError;

const APP: &str = "https://app.example.com";
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

type Req = Request<Full<Bytes>>;

/// An inner service that counts its calls and answers `200` with the given extra headers.
#[derive(Clone)]
struct Inner {
    calls: Arc<AtomicUsize>,
    headers: Vec<(&'static str, &'static str)>,
}

impl Inner {
    fn new() -> Self {
        Self::with(vec![])
    }
    fn with(headers: Vec<(&'static str, &'static str)>) -> Self {
        Self {
            calls: Arc::default(),
            headers,
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Service<Req> for Inner {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;
    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Req) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut res = Response::new(Full::new(Bytes::from_static(b"inner")));
        for (k, v) in &self.headers {
            res.headers_mut()
                .append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        std::future::ready(Ok(res))
    }
}

fn preflight(origin: &str, method: &str, headers: Option<&str>) -> Req {
    let mut b = Request::options("/items/1")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        b = b.header("access-control-request-headers", h);
    }
    b.body(Full::default()).unwrap()
}

fn actual(method: &str, origin: Option<&str>) -> Req {
    let mut b = Request::builder().method(method).uri("/items/1");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    b.body(Full::default()).unwrap()
}

fn policy() -> CorsConfig {
    CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["PUT", "DELETE", "PATCH"])
        .allow_headers(["content-type", "x-requested-with", "authorization"])
        .expose_headers(["x-total-count"])
}

fn acx_headers(res: &Response<impl Sized>) -> Vec<String> {
    res.headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.as_str().to_owned())
        .collect()
}

fn vary(res: &Response<impl Sized>) -> Vec<String> {
    res.headers()
        .get_all(VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn run(layer: &CorsLayer, inner: &Inner, req: Req) -> Response<String> {
    let res = respond(&layer.layer(inner.clone()), req).await;
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, body_text(body).await)
}

// ---------------------------------------------------------------- the issue's examples

#[tokio::test]
async fn issue_example_module_doc_runs_literally() {
    // The module-docs example, through ServiceBuilder as a tower-http user would stack it.
    let cors = CorsConfig::new()
        .allow_origin("https://app.example.com")
        .allow_methods(["PUT", "DELETE"])
        .allow_headers(["content-type", "authorization"])
        .allow_credentials(true)
        .build()
        .unwrap();
    let inner = Inner::new();
    let svc = ServiceBuilder::new()
        .layer(cors.clone())
        .service(inner.clone());
    let res = respond(
        &svc,
        preflight(APP, "PUT", Some("authorization,content-type")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-methods"], "PUT");
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "authorization,content-type"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert_eq!(inner.calls(), 0);
}

// ---------------------------------------------------------------- classification

#[tokio::test]
async fn options_without_acrm_goes_to_inner() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let req = Request::options("/x")
        .header("origin", APP)
        .body(Full::default())
        .unwrap();
    let res = run(&layer, &inner, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "inner");
    assert_eq!(inner.calls(), 1);
    // An actual CORS request from an allowed origin: ACAO.
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert!(res.headers().get("access-control-allow-methods").is_none());
}

#[tokio::test]
async fn options_with_acrm_but_no_origin_goes_to_inner() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let req = Request::options("/x")
        .header("access-control-request-method", "PUT")
        .body(Full::default())
        .unwrap();
    let res = run(&layer, &inner, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    assert!(acx_headers(&res).is_empty());
}

#[tokio::test]
async fn request_without_origin_is_not_cors() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(&layer, &inner, actual("POST", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    assert!(acx_headers(&res).is_empty());
    let (parts, ()) = actual("POST", None).map(|_| ()).into_parts();
    assert_eq!(layer.check(&parts), Decision::NotCors);
}

#[tokio::test]
async fn get_preflight_is_still_a_preflight() {
    // OPTIONS + Origin + ACRM, whatever the method named.
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(&layer, &inner, preflight(APP, "GET", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(inner.calls(), 0);
    // Safelisted method: no ACAM.
    assert!(res.headers().get("access-control-allow-methods").is_none());
}

// ---------------------------------------------------------------- accepted preflight

#[tokio::test]
async fn accepted_preflight_exact_answer() {
    let layer = policy().max_age(600).build().unwrap();
    let inner = Inner::new();
    let res = run(
        &layer,
        &inner,
        preflight(APP, "PATCH", Some("x-requested-with")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.body(), "");
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-methods"], "PATCH");
    assert_eq!(
        res.headers()["access-control-allow-headers"],
        "x-requested-with"
    );
    assert_eq!(res.headers()["access-control-max-age"], "600");
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    // Exposed headers are for actual responses, not preflights.
    assert!(res.headers().get("access-control-expose-headers").is_none());
    assert_eq!(vary(&res), vec![PREFLIGHT_VARY.to_owned()]);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn accepted_preflight_safelisted_methods_get_no_acam() {
    let layer = policy().build().unwrap();
    for m in ["GET", "HEAD", "POST"] {
        let inner = Inner::new();
        let res = run(&layer, &inner, preflight(APP, m, None)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{m}");
        assert!(
            res.headers().get("access-control-allow-methods").is_none(),
            "{m}"
        );
        assert!(res.headers().get("access-control-allow-headers").is_none());
        assert_eq!(inner.calls(), 0);
    }
}

#[tokio::test]
async fn accepted_preflight_any_origin_without_credentials_answers_star() {
    let layer = CorsConfig::new()
        .allow_any_origin()
        .allow_methods(["PUT"])
        .build()
        .unwrap();
    let inner = Inner::new();
    let res = run(&layer, &inner, preflight("https://x.test", "PUT", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    assert_eq!(res.headers()["access-control-allow-methods"], "PUT");
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn accepted_preflight_with_credentials() {
    let layer = policy().allow_credentials(true).build().unwrap();
    let res = run(&layer, &Inner::new(), preflight(APP, "DELETE", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert_eq!(res.headers()["access-control-allow-methods"], "DELETE");
}

#[tokio::test]
async fn max_age_minus_one_and_zero_and_max() {
    for (cfg, sent) in [(-1, "0"), (0, "0"), (86400, "86400")] {
        let layer = policy().max_age(cfg).build().unwrap();
        let res = run(&layer, &Inner::new(), preflight(APP, "PUT", None)).await;
        assert_eq!(res.headers()["access-control-max-age"], sent, "{cfg}");
    }
    let layer = policy().build().unwrap();
    let res = run(&layer, &Inner::new(), preflight(APP, "PUT", None)).await;
    assert!(res.headers().get("access-control-max-age").is_none());
}

// ---------------------------------------------------------------- ACRH handling

#[tokio::test]
async fn acrh_case_insensitive_any_order_optional_whitespace() {
    let layer = policy().build().unwrap();
    for acrh in [
        "content-type,x-requested-with",
        "X-Requested-With,Content-Type",
        "  content-type ,\tx-requested-with  ",
        "x-requested-with, content-type",
        "Authorization",
    ] {
        let inner = Inner::new();
        let res = run(&layer, &inner, preflight(APP, "PUT", Some(acrh))).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{acrh:?}");
        assert!(
            res.headers().get("access-control-allow-headers").is_some(),
            "{acrh:?}"
        );
        assert_eq!(inner.calls(), 0);
    }
}

#[tokio::test]
async fn acrh_with_one_unlisted_header_is_refused() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(
        &layer,
        &inner,
        preflight(APP, "PUT", Some("content-type,x-evil")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.body(), "");
    assert!(acx_headers(&res).is_empty(), "{:?}", acx_headers(&res));
    assert_eq!(inner.calls(), 0);
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::HeaderNotAllowed
    );
}

#[tokio::test]
async fn empty_acrh_is_no_header_requested() {
    let layer = policy().build().unwrap();
    let res = run(&layer, &Inner::new(), preflight(APP, "PUT", Some(""))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers().get("access-control-allow-headers").is_none());
}

#[tokio::test]
async fn star_headers_never_covers_authorization() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["PUT"])
        .allow_headers(["*"])
        .build()
        .unwrap();
    let inner = Inner::new();
    let ok = run(
        &layer,
        &inner,
        preflight(APP, "PUT", Some("x-anything,x-other")),
    )
    .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let refused = run(
        &layer,
        &inner,
        preflight(APP, "PUT", Some("authorization,x-anything")),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(acx_headers(&refused).is_empty());
    // Listed explicitly, it is allowed.
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_headers(["*", "Authorization"])
        .build()
        .unwrap();
    let res = run(
        &layer,
        &inner,
        preflight(APP, "POST", Some("authorization,x-anything")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let acah = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        acah.to_ascii_lowercase().contains("authorization"),
        "{acah}"
    );
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn star_without_credentials_is_a_wildcard_for_methods_and_headers() {
    let layer = CorsConfig::new()
        .allow_any_origin()
        .allow_methods(["*"])
        .allow_headers(["*"])
        .build()
        .unwrap();
    let res = run(
        &layer,
        &Inner::new(),
        preflight("https://a.test", "PURGE", Some("x-foo")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let acam = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(acam == "*" || acam == "PURGE", "{acam}");
    let acah = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(acah == "*" || acah == "x-foo", "{acah}");
}

#[tokio::test]
async fn expose_star_without_credentials_is_sent() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .expose_headers(["*"])
        .build()
        .unwrap();
    let res = run(&layer, &Inner::new(), actual("GET", Some(APP))).await;
    assert_eq!(res.headers()["access-control-expose-headers"], "*");
}

#[tokio::test]
async fn one_mib_acrh_is_refused_and_bounded() {
    let layer = CorsConfig::new()
        .allow_origin(APP)
        .allow_headers(["*"])
        .build()
        .unwrap();
    let big = "a".repeat(1 << 20);
    let inner = Inner::new();
    let res = run(&layer, &inner, preflight(APP, "PUT", Some(&big))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(acx_headers(&res).is_empty());
    let commas = ",".repeat(10_000);
    let res = run(&layer, &inner, preflight(APP, "PUT", Some(&commas))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let many = "x-a,".repeat(100_000);
    let res = run(&layer, &inner, preflight(APP, "PUT", Some(&many))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(inner.calls(), 0);
}

// ---------------------------------------------------------------- methods

#[tokio::test]
async fn method_names_are_case_sensitive() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(&layer, &inner, preflight(APP, "patch", None)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(acx_headers(&res).is_empty());
    assert_eq!(
        res.extensions().get::<Rejection>().unwrap().kind(),
        RejectionKind::MethodNotAllowed
    );
    let res = run(&layer, &inner, preflight(APP, "PATCH", None)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(inner.calls(), 0);
}

#[tokio::test]
async fn unlisted_method_is_refused() {
    let layer = policy().build().unwrap();
    let res = run(&layer, &Inner::new(), preflight(APP, "PURGE", None)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(acx_headers(&res).is_empty());
}

// ---------------------------------------------------------------- refused preflight

#[tokio::test]
async fn refused_preflight_origin() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(
        &layer,
        &inner,
        preflight("https://evil.example", "PUT", None),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.body(), "");
    assert!(acx_headers(&res).is_empty());
    assert_eq!(inner.calls(), 0);
    let r = res.extensions().get::<Rejection>().unwrap();
    assert_eq!(r.kind(), RejectionKind::OriginNotAllowed);
}

#[tokio::test]
async fn debug_switch_answers_refusals_with_partial_headers() {
    let layer = policy().build().unwrap();
    let handle = layer.handle();
    handle.set_debug(true);
    let inner = Inner::new();
    // Method refused: ACAO is granted, ACAM is not.
    let res = run(&layer, &inner, preflight(APP, "PURGE", None)).await;
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert!(res.headers().get("access-control-allow-methods").is_none());
    assert_eq!(inner.calls(), 0);
    handle.set_debug(false);
    let res = run(&layer, &inner, preflight(APP, "PURGE", None)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(acx_headers(&res).is_empty());
}

// ---------------------------------------------------------------- actual requests

#[tokio::test]
async fn actual_allowed_gets_acao_acac_aceh_and_vary() {
    let layer = policy().allow_credentials(true).build().unwrap();
    let inner = Inner::new();
    let res = run(&layer, &inner, actual("POST", Some(APP))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "inner");
    assert_eq!(inner.calls(), 1);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert_eq!(
        res.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase(),
        "x-total-count"
    );
    assert_eq!(vary(&res), vec!["Origin".to_owned()]);
    // No preflight-only headers on an actual response.
    assert!(res.headers().get("access-control-allow-methods").is_none());
    assert!(res.headers().get("access-control-max-age").is_none());
}

#[tokio::test]
async fn actual_refused_still_runs_inner_without_cors_headers() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let res = run(
        &layer,
        &inner,
        actual("DELETE", Some("https://evil.example")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    assert!(acx_headers(&res).is_empty());
    assert_eq!(vary(&res), vec!["Origin".to_owned()]);
}

#[tokio::test]
async fn vary_is_appended_never_replaced() {
    let layer = policy().build().unwrap();
    let inner = Inner::with(vec![("vary", "Accept-Encoding")]);
    let res = run(&layer, &inner, actual("GET", Some(APP))).await;
    let v = vary(&res).join(", ");
    assert!(v.contains("Accept-Encoding"), "{v}");
    assert!(v.contains("Origin"), "{v}");
    // Also without Origin (not a CORS request), the answer still varies by Origin.
    let res = run(&layer, &inner, actual("GET", None)).await;
    let v = vary(&res).join(", ");
    assert!(v.contains("Accept-Encoding") && v.contains("Origin"), "{v}");
}

#[tokio::test]
async fn any_origin_without_credentials_static_star_and_no_vary() {
    let layer = CorsConfig::new().allow_any_origin().build().unwrap();
    for origin in [Some("https://a.test"), None, Some("null")] {
        let inner = Inner::new();
        let res = run(&layer, &inner, actual("GET", origin)).await;
        assert_eq!(
            res.headers()["access-control-allow-origin"],
            "*",
            "{origin:?}"
        );
        assert!(vary(&res).is_empty(), "{origin:?}: {:?}", vary(&res));
        assert_eq!(inner.calls(), 1);
    }
}

#[tokio::test]
async fn strip_inner_cors_headers_option() {
    let inner = Inner::with(vec![
        ("access-control-allow-origin", "*"),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "x-secret"),
    ]);
    let layer = policy().strip_inner_cors_headers(true).build().unwrap();
    let res = run(&layer, &inner, actual("GET", Some("https://evil.example"))).await;
    assert!(acx_headers(&res).is_empty(), "{:?}", acx_headers(&res));
    let res = run(&layer, &inner, actual("GET", Some(APP))).await;
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    assert_eq!(
        res.headers()
            .get_all("access-control-allow-origin")
            .iter()
            .count(),
        1
    );
}

// ---------------------------------------------------------------- origins

#[tokio::test]
async fn subdomain_pattern_one_or_more_labels_never_apex() {
    let layer = CorsConfig::new()
        .allow_origin("https://*.example.com")
        .build()
        .unwrap();
    assert!(layer.allows_origin("https://a.example.com"));
    assert!(layer.allows_origin("https://a.b.example.com"));
    assert!(!layer.allows_origin("https://example.com"));
    assert!(!layer.allows_origin("http://a.example.com"));
    assert!(!layer.allows_origin("https://a.example.com:8443"));
    assert!(!layer.allows_origin("https://evilexample.com"));
    assert!(!layer.allows_origin("https://a.example.com.evil.test"));
    assert!(!layer.allows_origin("https://.example.com"));
    let res = run(
        &layer,
        &Inner::new(),
        actual("GET", Some("https://api.example.com")),
    )
    .await;
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://api.example.com"
    );
}

#[tokio::test]
async fn localhost_any_port() {
    let layer = CorsConfig::new()
        .allow_origin("http://localhost:*")
        .build()
        .unwrap();
    assert!(layer.allows_origin("http://localhost:3000"));
    assert!(layer.allows_origin("http://localhost:8080"));
    assert!(layer.allows_origin("http://localhost"));
    assert!(!layer.allows_origin("https://localhost:3000"));
    assert!(!layer.allows_origin("http://localhost.evil.test:3000"));
    assert!(!layer.allows_origin("http://localhost:abc"));
}

#[tokio::test]
async fn origin_comparison_is_byte_for_byte() {
    let layer = policy().build().unwrap();
    assert!(layer.allows_origin(APP));
    assert!(!layer.allows_origin("https://APP.example.com"));
    assert!(!layer.allows_origin("HTTPS://app.example.com"));
    assert!(!layer.allows_origin("https://app.example.com/"));
    assert!(!layer.allows_origin("https://app.example.com:443"));
    assert!(!layer.allows_origin("https://app.example.com."));
    assert!(!layer.allows_origin(" https://app.example.com"));
}

#[tokio::test]
async fn thousand_origins() {
    let origins: Vec<String> = (0..1000)
        .map(|i| format!("https://o{i}.example.net"))
        .collect();
    let layer = CorsConfig::new().allow_origins(origins).build().unwrap();
    assert!(layer.allows_origin("https://o999.example.net"));
    assert!(layer.allows_origin("https://o0.example.net"));
    assert!(!layer.allows_origin("https://o1000.example.net"));
}

// ---------------------------------------------------------------- configuration

fn err(cfg: CorsConfig) -> ConfigError {
    cfg.build().expect_err("must be refused")
}

#[test]
fn star_with_credentials_is_refused() {
    let e = err(CorsConfig::new().allow_any_origin().allow_credentials(true));
    assert!(e.to_string().contains('*'), "{e}");
    // The same through serde.
    let cfg: CorsConfig =
        serde_json::from_str(r#"{"allow_origins": ["*"], "allow_credentials": true}"#).unwrap();
    assert!(cfg.build().is_err());
    let cfg: CorsConfig = serde_json::from_str(
        r#"{"allow_origins": ["https://a.test"], "expose_headers": ["*"], "allow_credentials": true}"#,
    )
    .unwrap();
    assert!(cfg.build().is_err());
}

#[test]
fn bad_origins_are_each_named() {
    let bad = [
        "null",
        "file://",
        "file:///etc/passwd",
        "https://a.example/",
        "https://a.example/path",
        "https://a.example?q=1",
        "https://a.example#f",
        "https://user@a.example",
        "https://user:pw@a.example",
        "https://bücher.example",
        "https://a.example:443",
        "http://a.example:80",
        "HTTPS://a.example",
        "https://A.example",
        "a.example",
        "",
        "https://",
        "https://ex ample.com",
    ];
    let e = err(CorsConfig::new().allow_origins(bad));
    let text = e.to_string();
    for b in bad {
        assert!(
            e.problems().iter().any(|p| p.value() == b),
            "no problem names {b:?}: {text}"
        );
    }
    assert!(e.problems().len() >= bad.len(), "{text}");
}

#[test]
fn punycode_host_is_accepted() {
    let layer = CorsConfig::new()
        .allow_origin("https://xn--bcher-kva.example")
        .build()
        .unwrap();
    assert!(layer.allows_origin("https://xn--bcher-kva.example"));
}

#[test]
fn forbidden_methods_and_bad_names_are_refused() {
    for m in [
        "CONNECT", "TRACE", "TRACK", "connect", "trace", "track", "GE T", "",
    ] {
        let e = err(CorsConfig::new().allow_origin(APP).allow_methods([m]));
        assert!(e.problems().iter().any(|p| p.value() == m), "{m:?}: {e}");
    }
}

#[test]
fn forbidden_and_invalid_header_names_are_refused() {
    // Fetch's forbidden request-header names, and names that are no token.
    for h in [
        "Accept-Charset",
        "Accept-Encoding",
        "Access-Control-Request-Headers",
        "Access-Control-Request-Method",
        "Connection",
        "Content-Length",
        "Cookie",
        "Cookie2",
        "Date",
        "DNT",
        "Expect",
        "Host",
        "Keep-Alive",
        "Origin",
        "Referer",
        "Set-Cookie",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Via",
        "Proxy-Authorization",
        "Sec-Fetch-Mode",
        "x y",
        "bad:name",
        "",
    ] {
        let e = err(CorsConfig::new().allow_origin(APP).allow_headers([h]));
        assert!(e.problems().iter().any(|p| p.value() == h), "{h:?}: {e}");
    }
    let e = err(CorsConfig::new().allow_origin(APP).expose_headers(["x y"]));
    assert!(e.problems().iter().any(|p| p.value() == "x y"), "{e}");
}

#[test]
fn max_age_range() {
    for bad in [-2, 86401, i64::MIN, i64::MAX] {
        let e = err(CorsConfig::new().allow_origin(APP).max_age(bad));
        assert!(e.to_string().contains(&bad.to_string()), "{bad}: {e}");
    }
    for ok in [-1, 0, 5, 86400] {
        assert!(CorsConfig::new()
            .allow_origin(APP)
            .max_age(ok)
            .build()
            .is_ok());
    }
}

#[test]
fn every_problem_listed_at_once() {
    let e = err(CorsConfig::new()
        .allow_origins(["*", "null", "https://a.example/"])
        .allow_credentials(true)
        .allow_methods(["TRACE"])
        .allow_headers(["Cookie"])
        .max_age(100_000));
    let text = e.to_string();
    for needle in ["null", "https://a.example/", "TRACE", "Cookie", "100000"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(e.problems().len() >= 6, "{text}");
}

#[test]
fn serde_config_same_validation_and_unknown_fields() {
    let cfg: CorsConfig = serde_json::from_str(
        r#"{"allow_origins": ["null", "https://ok.example"], "allow_methods": ["CONNECT"], "max_age": -5}"#,
    )
    .unwrap();
    let e = cfg.build().unwrap_err();
    assert!(e.problems().len() >= 3, "{e}");
    assert!(serde_json::from_str::<CorsConfig>(r#"{"allow_origin": ["x"]}"#).is_err());
    let cfg: CorsConfig = toml::from_str(
        "allow_origins = [\"https://app.example.com\"]\nallow_methods = [\"PUT\"]\nmax_age = 60\n",
    )
    .unwrap();
    let layer = CorsLayer::try_from(cfg).unwrap();
    assert!(layer.allows_origin(APP));
}

#[tokio::test]
async fn dangerously_reflect_any_origin_with_credentials() {
    let layer = CorsConfig::new()
        .dangerously_reflect_any_origin_with_credentials()
        .build()
        .unwrap();
    let res = run(
        &layer,
        &Inner::new(),
        actual("GET", Some("https://any.test")),
    )
    .await;
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://any.test"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    assert!(vary(&res).join(",").contains("Origin"));
}

#[tokio::test]
async fn handle_swaps_policy_validated_and_in_flight_keeps_old() {
    let layer = policy().build().unwrap();
    let handle = layer.handle();
    let handle2 = handle.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
    let slow = service_fn(move |_req: Req| {
        let rx = rx.clone();
        async move {
            if let Some(rx) = rx.lock().await.take() {
                let _ = rx.await;
            }
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }
    });
    let svc = layer.layer(slow);
    let in_flight = tokio::spawn(svc.clone().oneshot(actual("GET", Some(APP))));
    tokio::task::yield_now().await;
    handle2
        .set(CorsConfig::new().allow_origin("https://new.example"))
        .unwrap();
    tx.send(()).unwrap();
    let res = in_flight.await.unwrap().unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
    let res = svc.oneshot(actual("GET", Some(APP))).await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(handle.set(CorsConfig::new().allow_origin("null")).is_err());
    assert!(layer.allows_origin("https://new.example"));
}

// ---------------------------------------------------------------- check()

#[test]
fn check_returns_every_decision() {
    let layer = policy().build().unwrap();
    let parts = |r: Req| r.into_parts().0;
    assert_eq!(layer.check(&parts(actual("GET", None))), Decision::NotCors);
    assert!(matches!(
        layer.check(&parts(actual("GET", Some(APP)))),
        Decision::ActualAllowed { allow_origin } if allow_origin == APP
    ));
    assert_eq!(
        layer.check(&parts(actual("GET", Some("https://evil.test")))),
        Decision::ActualRefused
    );
    match layer.check(&parts(preflight(APP, "PUT", Some("Content-Type")))) {
        Decision::PreflightAccepted(p) => {
            assert_eq!(p.allow_origin(), APP);
            assert_eq!(p.allow_method().unwrap(), "PUT");
            assert!(p.allow_headers().is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        layer.check(&parts(preflight("https://evil.test", "PUT", None))),
        Decision::PreflightRefused(r) if r.kind() == RejectionKind::OriginNotAllowed
    ));
    // The service offers it too.
    let svc = layer.layer(Inner::new());
    assert_eq!(svc.check(&parts(actual("GET", None))), Decision::NotCors);
}

// ---------------------------------------------------------------- stacks

#[tokio::test]
async fn wraps_axum_router_preflight_to_post_only_route() {
    let app = axum::Router::new()
        .route("/items", axum::routing::post(|| async { "created" }))
        .layer(policy().build().unwrap());
    let res = respond(
        &app,
        Request::options("/items")
            .header("origin", APP)
            .header("access-control-request-method", "PUT")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-methods"], "PUT");
    let res = app
        .oneshot(
            Request::post("/items")
                .header("origin", APP)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["access-control-allow-origin"], APP);
}

#[tokio::test]
async fn service_builder_over_axum_router() {
    let router = axum::Router::new().route("/items", axum::routing::post(|| async { "ok" }));
    let svc = ServiceBuilder::new()
        .layer(CorsLayer::new(policy()).unwrap())
        .service(router);
    let res = svc
        .oneshot(
            Request::options("/items")
                .header("origin", APP)
                .header("access-control-request-method", "DELETE")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn websocket_handshake_untouched() {
    let layer = policy().build().unwrap();
    let inner = Inner::new();
    let req = Request::get("/ws")
        .header("origin", "https://evil.example")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(Full::default())
        .unwrap();
    let res = run(&layer, &inner, req).await;
    assert_eq!(inner.calls(), 1);
    assert!(acx_headers(&res).is_empty());
}

#[test]
fn layer_and_service_are_clone_send_sync() {
    fn assert_all<T: Clone + Send + Sync + 'static>() {}
    assert_all::<CorsLayer>();
    assert_all::<tower_gateway::cors::Cors<Inner>>();
    assert_all::<tower_gateway::cors::CorsHandle>();
    let _ = Method::GET;
}

// ---------------------------------------------------------------- tower-http-style arguments

#[tokio::test]
async fn builder_takes_http_types_as_tower_http_does() {
    use http::header;
    let layer = CorsConfig::new()
        .allow_origin(HeaderValue::from_static(APP))
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_methods(vec![&Method::PATCH])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([HeaderName::from_static("x-total-count")])
        .max_age(std::time::Duration::from_secs(600))
        .build()
        .unwrap();
    let res = run(
        &layer,
        &Inner::new(),
        preflight(APP, "PATCH", Some("authorization,content-type")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-methods"], "PATCH");
    assert_eq!(res.headers()["access-control-max-age"], "600");
    let res = run(&layer, &Inner::new(), actual("GET", Some(APP))).await;
    assert_eq!(
        res.headers()["access-control-expose-headers"],
        "x-total-count"
    );
    // Strings of every kind still work, and the checks are the same.
    let owned: Vec<String> = vec!["PUT".into()];
    assert!(CorsConfig::new()
        .allow_origin(String::from(APP))
        .allow_methods(&owned)
        .allow_methods(owned)
        .max_age(-1)
        .build()
        .is_ok());
    let e = CorsConfig::new()
        .allow_methods([Method::TRACE, Method::CONNECT])
        .max_age(std::time::Duration::from_secs(86_401))
        .build()
        .unwrap_err();
    assert_eq!(e.problems().len(), 3, "{e}");
}

// ---------------------------------------------------------------- hostile bytes

fn arbitrary_request(method: &str, fields: &[(usize, Vec<u8>)]) -> Option<Req> {
    const NAMES: [&str; 6] = [
        "origin",
        "access-control-request-method",
        "access-control-request-headers",
        "vary",
        "upgrade",
        "host",
    ];
    let mut b = Request::builder().method(method).uri("/x");
    for (i, bytes) in fields {
        let value = HeaderValue::from_bytes(bytes).ok()?;
        b = b.header(NAMES[i % NAMES.len()], value);
    }
    b.body(Full::default()).ok()
}

proptest::proptest! {
    #[test]
    fn arbitrary_header_bytes_never_panic(
        options in proptest::bool::ANY,
        fields in proptest::collection::vec(
            (0usize..6, proptest::collection::vec(proptest::num::u8::ANY, 0..64)),
            0..6,
        ),
    ) {
        let method = if options { "OPTIONS" } else { "POST" };
        if let Some(req) = arbitrary_request(method, &fields) {
            for cfg in [
                policy().allow_credentials(true),
                CorsConfig::new().allow_any_origin().allow_headers(["*"]).allow_methods(["*"]),
                CorsConfig::new().allow_origin("https://*.example.com").allow_origin("http://localhost:*"),
            ] {
                let layer = cfg.build().unwrap();
                let (parts, body) = req.clone().into_parts();
                let _ = layer.check(&parts);
                let res = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(layer.layer(Inner::new()).oneshot(Request::from_parts(parts, body)))
                    .unwrap();
                proptest::prop_assert!(
                    res.status() == StatusCode::OK
                        || res.status() == StatusCode::NO_CONTENT
                        || res.status() == StatusCode::FORBIDDEN
                );
            }
        }
    }
}

#[tokio::test]
async fn tower_http_style_any() {
    use tower_gateway::cors::Any;
    let layer = CorsConfig::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers(Any)
        .build()
        .unwrap();
    let res = run(
        &layer,
        &Inner::new(),
        preflight("https://x.test", "PURGE", Some("x-a")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let res = run(
        &layer,
        &Inner::new(),
        preflight("https://x.test", "PUT", Some("authorization")),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = run(&layer, &Inner::new(), actual("GET", Some("https://x.test"))).await;
    assert_eq!(res.headers()["access-control-expose-headers"], "*");
    assert!(CorsConfig::new()
        .allow_origin(Any)
        .allow_credentials(true)
        .build()
        .is_err());
}
