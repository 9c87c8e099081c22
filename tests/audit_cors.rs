#![cfg(feature = "cors")]
//! Audit probes of the CORS layer against the Fetch standard and issue 4.

mod common;

use bytes::Bytes;
use common::{body_text, Named};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_gateway::body::Body;
use tower_gateway::cors::{CorsConfig, CorsLayer, Decision, Rejection, RejectionKind};

const APP: &str = "https://app.example.com";
const VARY_PREFLIGHT: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

type Res = Response<Body<Full<Bytes>>>;

fn creds() -> CorsConfig {
    CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["PUT", "PATCH"])
        .allow_headers(["content-type", "x-request-id"])
        .allow_credentials(true)
        .max_age(600)
}

fn public() -> CorsConfig {
    CorsConfig::new()
        .allow_any_origin()
        .allow_methods(["*"])
        .allow_headers(["*"])
}

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
    let layer = public().build().unwrap();
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
        for layer in [creds().build().unwrap(), public().build().unwrap()] {
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
        public().debug(true).build().unwrap(),
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
    let layer = public().debug(true).build().unwrap();
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
    let layer = public().build().unwrap();
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
    let layer = public().build().unwrap();
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
