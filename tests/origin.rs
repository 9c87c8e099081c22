#![cfg(feature = "origin")]
//! Black-box tests of the origin guard: Go's `CrossOriginProtection` matrix, each rule of the
//! issue, configuration errors, the proxy case, WebSocket handshakes, bypass edge cases, a
//! Chromium replay, an axum stack behind a CORS layer, and a no-panic property.

mod common;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_gateway::error::ProblemKind;
use tower_gateway::origin::{Allowed, OriginGuardLayer, Rejection, RejectionKind};

use common::{body_text, Named};

/// A request with the given headers (raw bytes allowed) and an empty body.
fn req(method: &str, uri: &str, headers: &[(&str, &[u8])]) -> Request<Full<Bytes>> {
    let mut request = common::request(method, uri);
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request
            .headers_mut()
            .append(name, HeaderValue::from_bytes(value).unwrap());
    }
    request
}

/// A `POST /` to `example.com` with optional `Sec-Fetch-Site` and `Origin`.
fn post(site: &str, origin: &str) -> Request<Full<Bytes>> {
    let mut headers: Vec<(&str, &[u8])> = vec![("host", b"example.com")];
    if !site.is_empty() {
        headers.push(("sec-fetch-site", site.as_bytes()));
    }
    if !origin.is_empty() {
        headers.push(("origin", origin.as_bytes()));
    }
    req("POST", "/", &headers)
}

/// What came out of one call through the guard.
#[derive(Debug)]
struct Outcome {
    status: StatusCode,
    rejection: Option<Rejection>,
    calls: usize,
}

impl Outcome {
    /// Asserts a pass: `200`, no rejection, inner called once.
    fn passed(&self) -> bool {
        match self.status {
            StatusCode::OK => {
                assert_eq!(self.calls, 1, "a pass calls the inner service once");
                assert!(self.rejection.is_none(), "a pass carries no rejection");
                true
            }
            StatusCode::FORBIDDEN => {
                assert_eq!(self.calls, 0, "a refusal never calls the inner service");
                assert!(self.rejection.is_some(), "a refusal carries its rejection");
                false
            }
            other => panic!("unexpected status {other}"),
        }
    }

    fn kind(&self) -> Option<RejectionKind> {
        self.rejection.map(|r| r.kind())
    }
}

async fn run(layer: &OriginGuardLayer, request: Request<Full<Bytes>>) -> Outcome {
    let inner = Named::new("app");
    let response = layer.layer(inner.clone()).oneshot(request).await.unwrap();
    Outcome {
        status: response.status(),
        rejection: response.extensions().get::<Rejection>().copied(),
        calls: inner.calls(),
    }
}

fn trusting(origins: &[&str]) -> OriginGuardLayer {
    OriginGuardLayer::builder()
        .trust_origins(origins.iter().copied())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Go 1.25's csrf_test.go, restated.

#[tokio::test]
async fn go_matrix_sec_fetch_site_and_origin() {
    let guard = OriginGuardLayer::new();
    // (method, Sec-Fetch-Site, Origin, passes)
    let cases = [
        ("POST", "same-origin", "", true),
        ("POST", "none", "", true),
        ("POST", "cross-site", "", false),
        ("POST", "same-site", "", false),
        ("POST", "", "", true),
        ("POST", "", "https://example.com", true),
        ("POST", "", "https://attacker.example", false),
        ("POST", "", "null", false),
        ("GET", "cross-site", "", true),
        ("HEAD", "cross-site", "", true),
        ("OPTIONS", "cross-site", "", true),
        ("PUT", "cross-site", "", false),
    ];
    for (method, site, origin, passes) in cases {
        let mut request = post(site, origin);
        *request.method_mut() = method.parse().unwrap();
        let outcome = run(&guard, request).await;
        assert_eq!(outcome.passed(), passes, "{method} {site:?} {origin:?}");
    }
}

#[tokio::test]
async fn go_matrix_trusted_origin() {
    let guard = trusting(&["https://trusted.example"]);
    let cases = [
        ("https://trusted.example", "", true),
        ("https://trusted.example", "cross-site", true),
        ("https://attacker.example", "", false),
        ("https://attacker.example", "cross-site", false),
    ];
    for (origin, site, passes) in cases {
        let outcome = run(&guard, post(site, origin)).await;
        assert_eq!(outcome.passed(), passes, "{origin} {site:?}");
    }
}

/// Go's pattern-bypass table. Go cleans the path (`/foo/../bypass/bar` matches `/bypass/`) and
/// redirects `/bypass` to `/bypass/`; we decide on the raw path the inner service routes on, so
/// both are checked normally (and refused here), which is the CVE-2025-47910 lesson. Go's
/// wildcard patterns have no equivalent: bypass paths are literal prefixes.
#[tokio::test]
async fn go_matrix_bypass_paths() {
    let guard = OriginGuardLayer::builder()
        .bypass_path("/bypass/")
        .build()
        .unwrap();
    let cases = [
        ("/bypass/", "", true),
        ("/bypass/", "cross-site", true),
        ("/api/", "", false),
        ("/api/", "cross-site", false),
        ("/foo/../bypass/bar", "", false),
        ("/bypass", "", false),
        ("/foo/../api/bar", "", false),
        ("/api", "", false),
        ("/bypass/123", "", true),
        ("/bypass/123/foo", "", true),
    ];
    for (path, site, passes) in cases {
        let mut headers: Vec<(&str, &[u8])> = vec![
            ("host", b"example.com"),
            ("origin", b"https://attacker.example"),
        ];
        if !site.is_empty() {
            headers.push(("sec-fetch-site", site.as_bytes()));
        }
        let outcome = run(&guard, req("POST", path, &headers)).await;
        assert_eq!(outcome.passed(), passes, "{path} {site:?}");
    }
}

#[tokio::test]
async fn go_custom_deny_handler() {
    let guard = OriginGuardLayer::builder()
        .rejection_response(|rejection, parts| {
            assert_eq!(rejection.kind(), RejectionKind::CrossSite);
            assert_eq!(parts.uri.path(), "/");
            Response::builder()
                .status(StatusCode::IM_A_TEAPOT)
                .body(Bytes::from_static(b"custom error"))
                .unwrap()
        })
        .build()
        .unwrap();
    let inner = Named::new("app");
    let svc = guard.layer(inner.clone());
    let response = svc.clone().oneshot(post("cross-site", "")).await.unwrap();
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    let kind = response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind);
    assert_eq!(kind, Some(RejectionKind::CrossSite));
    assert_eq!(body_text(response.into_body()).await, "custom error");
    assert_eq!(inner.calls(), 0);

    let response = svc.oneshot(common::request("GET", "/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
}

#[test]
fn go_matrix_trusted_origin_errors() {
    let cases = [
        ("https://example.com", true),
        ("https://example.com:8080", true),
        ("http://example.com", true),
        ("example.com", false),
        ("https://", false),
        ("https://example.com/", false),
        ("https://example.com/path", false),
        ("https://example.com?query=value", false),
        ("https://example.com#fragment", false),
        ("https://ex ample.com", false),
        ("", false),
        ("null", false),
    ];
    for (origin, valid) in cases {
        let built = OriginGuardLayer::builder().trust_origin(origin).build();
        assert_eq!(built.is_ok(), valid, "{origin:?}: {built:?}");
    }
}

/// Go's server test: an absolute-form target, as a client talking to `ts.URL` sends it.
#[tokio::test]
async fn go_matrix_server() {
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://trusted.example")
        .bypass_path("/bypass/")
        .build()
        .unwrap();
    let url = "http://127.0.0.1:41234";
    let cases = [
        ("/", "https://attacker.example", "cross-site", false),
        ("/", "", "same-origin", true),
        ("/", url, "", true),
        ("/", "https://trusted.example", "", true),
        ("/", "https://attacker.example", "", false),
        ("/bypass/", "https://attacker.example", "", true),
    ];
    for (path, origin, site, passes) in cases {
        let mut headers: Vec<(&str, &[u8])> = vec![("host", b"127.0.0.1:41234")];
        if !origin.is_empty() {
            headers.push(("origin", origin.as_bytes()));
        }
        if !site.is_empty() {
            headers.push(("sec-fetch-site", site.as_bytes()));
        }
        let outcome = run(&guard, req("POST", &format!("{url}{path}"), &headers)).await;
        assert_eq!(outcome.passed(), passes, "{path} {origin:?} {site:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Methods and WebSocket handshakes.

#[tokio::test]
async fn only_get_head_options_are_safe() {
    let guard = OriginGuardLayer::new();
    for (method, passes) in [
        ("GET", true),
        ("HEAD", true),
        ("OPTIONS", true),
        ("TRACE", false),
        ("POST", false),
        ("PUT", false),
        ("PATCH", false),
        ("DELETE", false),
        ("CONNECT", false),
        ("PROPFIND", false),
    ] {
        let request = req(method, "/", &[("sec-fetch-site", b"cross-site")]);
        assert_eq!(run(&guard, request).await.passed(), passes, "{method}");
    }
}

fn ws(origin: &str, upgrade: &str) -> Request<Full<Bytes>> {
    req(
        "GET",
        "/ws",
        &[
            ("host", b"api.example.com"),
            ("connection", b"Upgrade"),
            ("upgrade", upgrade.as_bytes()),
            ("origin", origin.as_bytes()),
        ],
    )
}

#[tokio::test]
async fn websocket_handshakes_are_checked() {
    let guard = trusting(&["https://app.example.com"]);
    let cases = [
        ("https://app.example.com", "websocket", true),
        ("https://api.example.com", "websocket", true),
        ("https://attacker.example", "websocket", false),
        ("https://attacker.example", "WebSocket", false),
        ("https://attacker.example", "foo, websocket", false),
        ("null", "websocket", false),
        // Not a WebSocket handshake: a plain safe GET.
        ("https://attacker.example", "h2c", true),
    ];
    for (origin, upgrade, passes) in cases {
        let outcome = run(&guard, ws(origin, upgrade)).await;
        assert_eq!(outcome.passed(), passes, "{origin} {upgrade}");
    }
    let outcome = run(&guard, ws("https://attacker.example", "websocket")).await;
    assert_eq!(outcome.kind(), Some(RejectionKind::CrossOrigin));
}

// ---------------------------------------------------------------------------------------------
// Sec-Fetch-Site.

#[tokio::test]
async fn sec_fetch_site_values() {
    let guard = OriginGuardLayer::new();
    let cases = [
        ("same-origin", None),
        ("none", None),
        ("cross-site", Some(RejectionKind::CrossSite)),
        ("same-site", Some(RejectionKind::SameSite)),
        ("Same-Origin", Some(RejectionKind::InvalidFetchSite)),
        ("NONE", Some(RejectionKind::InvalidFetchSite)),
        ("same-origin ", Some(RejectionKind::InvalidFetchSite)),
        ("whatever", Some(RejectionKind::InvalidFetchSite)),
    ];
    for (site, kind) in cases {
        let outcome = run(&guard, post(site, "")).await;
        assert_eq!(outcome.passed(), kind.is_none(), "{site:?}");
        assert_eq!(outcome.kind(), kind, "{site:?}");
    }
}

#[tokio::test]
async fn empty_sec_fetch_site_counts_as_absent() {
    let guard = OriginGuardLayer::new();
    let same = req(
        "POST",
        "/",
        &[
            ("host", b"example.com"),
            ("sec-fetch-site", b""),
            ("origin", b"https://example.com"),
        ],
    );
    assert!(run(&guard, same).await.passed());
    let other = req(
        "POST",
        "/",
        &[
            ("host", b"example.com"),
            ("sec-fetch-site", b""),
            ("origin", b"https://evil.example"),
        ],
    );
    assert_eq!(
        run(&guard, other).await.kind(),
        Some(RejectionKind::CrossOrigin)
    );
}

#[tokio::test]
async fn repeated_sec_fetch_site_is_refused() {
    let guard = OriginGuardLayer::new();
    let request = req(
        "POST",
        "/",
        &[
            ("sec-fetch-site", b"same-origin"),
            ("sec-fetch-site", b"same-origin"),
        ],
    );
    assert_eq!(
        run(&guard, request).await.kind(),
        Some(RejectionKind::InvalidFetchSite)
    );
}

#[tokio::test]
async fn same_site_can_be_trusted() {
    let guard = OriginGuardLayer::builder()
        .trust_same_site(true)
        .build()
        .unwrap();
    assert!(run(&guard, post("same-site", "https://app.example.com"))
        .await
        .passed());
    let outcome = run(&guard, post("cross-site", "https://app.example.com")).await;
    assert_eq!(outcome.kind(), Some(RejectionKind::CrossSite));
}

// ---------------------------------------------------------------------------------------------
// The Origin header.

#[tokio::test]
async fn bad_origins_are_refused() {
    let guard = trusting(&["https://example.com"]);
    let cases: [(&[u8], RejectionKind); 7] = [
        (b"null", RejectionKind::NullOrigin),
        (b"https://evil@example.com", RejectionKind::MalformedOrigin),
        (b"https://example.com/", RejectionKind::MalformedOrigin),
        (b"example.com", RejectionKind::MalformedOrigin),
        (b"https://exa\xffmple.com", RejectionKind::MalformedOrigin),
        (b"https://example.com:99999", RejectionKind::MalformedOrigin),
        (b"https://attacker.example", RejectionKind::CrossOrigin),
    ];
    for (origin, kind) in cases {
        let request = req("POST", "/", &[("host", b"example.com"), ("origin", origin)]);
        let outcome = run(&guard, request).await;
        assert_eq!(
            outcome.kind(),
            Some(kind),
            "{:?}",
            String::from_utf8_lossy(origin)
        );
        assert_eq!(outcome.calls, 0);
    }
}

#[tokio::test]
async fn two_origin_headers_are_refused() {
    let guard = trusting(&["https://example.com"]);
    let request = req(
        "POST",
        "/",
        &[
            ("host", b"example.com"),
            ("origin", b"https://example.com"),
            ("origin", b"https://example.com"),
        ],
    );
    assert_eq!(
        run(&guard, request).await.kind(),
        Some(RejectionKind::MultipleOrigins)
    );
}

#[tokio::test]
async fn empty_origin_counts_as_absent_like_go() {
    let guard = OriginGuardLayer::new();
    let request = req("POST", "/", &[("host", b"example.com"), ("origin", b"")]);
    assert!(run(&guard, request).await.passed());
}

// ---------------------------------------------------------------------------------------------
// The target origin.

#[tokio::test]
async fn target_origin_comparison() {
    let guard = OriginGuardLayer::new();
    // (request URI, Host, Origin, passes)
    let cases = [
        ("/", "example.com", "HTTPS://EXAMPLE.COM", true),
        ("/", "EXAMPLE.com", "https://example.com", true),
        ("/", "example.com:443", "https://example.com", true),
        ("/", "example.com", "https://example.com:443", true),
        ("/", "example.com:80", "http://example.com", true),
        ("/", "example.com:8080", "https://example.com:8080", true),
        ("/", "example.com:8080", "https://example.com", false),
        ("/", "example.com", "https://example.com:8443", false),
        ("/", "example.com:80", "https://example.com", false),
        ("/", "example.com.", "https://example.com", false),
        ("/", "example.com", "https://example.com.", false),
        ("/", "sub.example.com", "https://example.com", false),
        ("/", "[::1]:3000", "http://[::1]:3000", true),
        // The request-target authority wins over Host, and carries the scheme.
        (
            "https://example.com/x",
            "other.example",
            "https://example.com",
            true,
        ),
        (
            "https://example.com/x",
            "example.com",
            "http://example.com",
            false,
        ),
        ("http://example.com:80/x", "", "http://example.com", true),
        (
            "https://user@example.com/x",
            "",
            "https://example.com",
            true,
        ),
    ];
    for (uri, host, origin, passes) in cases {
        let mut headers: Vec<(&str, &[u8])> = vec![("origin", origin.as_bytes())];
        if !host.is_empty() {
            headers.push(("host", host.as_bytes()));
        }
        let outcome = run(&guard, req("POST", uri, &headers)).await;
        assert_eq!(outcome.passed(), passes, "{uri} {host} {origin}");
    }
}

#[tokio::test]
async fn no_or_repeated_or_bad_host_never_matches() {
    let guard = OriginGuardLayer::new();
    let origin: (&str, &[u8]) = ("origin", b"https://example.com");
    let cases: [&[(&str, &[u8])]; 4] = [
        &[origin],
        &[origin, ("host", b"example.com"), ("host", b"example.com")],
        &[origin, ("host", b"evil@example.com")],
        &[origin, ("host", b"example.com:x")],
    ];
    for headers in cases {
        let outcome = run(&guard, req("POST", "/", headers)).await;
        assert_eq!(
            outcome.kind(),
            Some(RejectionKind::CrossOrigin),
            "{headers:?}"
        );
    }
}

#[tokio::test]
async fn public_origin_replaces_host_behind_a_proxy() {
    let guard = OriginGuardLayer::builder()
        .public_origin("https://API.example.com:443")
        .public_origin("https://api.example.net")
        .build()
        .unwrap();
    let cases = [
        ("https://api.example.com", true),
        ("https://api.example.net", true),
        ("http://api.example.com", false),
        // The rewritten internal Host no longer counts.
        ("http://backend.internal:8080", false),
    ];
    for (origin, passes) in cases {
        let request = req(
            "POST",
            "/",
            &[
                ("host", b"backend.internal:8080"),
                ("origin", origin.as_bytes()),
            ],
        );
        assert_eq!(run(&guard, request).await.passed(), passes, "{origin}");
    }
}

// ---------------------------------------------------------------------------------------------
// Trusted origins.

#[tokio::test]
async fn trusted_origins_are_normalised() {
    let guard = trusting(&["HTTPS://App.Example:443", "http://localhost:3000"]);
    let cases = [
        ("https://app.example", true),
        ("https://APP.example:443", true),
        ("http://app.example", false),
        ("https://app.example:8443", false),
        ("http://localhost:3000", true),
        ("http://localhost", false),
    ];
    for (origin, passes) in cases {
        assert_eq!(
            run(&guard, post("cross-site", origin)).await.passed(),
            passes,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn trust_predicate_sees_normalised_origins() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let guard = OriginGuardLayer::builder()
        .trust_origins_where(move |origin| {
            log.lock().unwrap().push(origin.to_owned());
            origin.ends_with(".partner.example")
        })
        .build()
        .unwrap();
    assert!(
        run(&guard, post("cross-site", "HTTPS://A.Partner.Example:443"))
            .await
            .passed()
    );
    assert!(
        !run(&guard, post("cross-site", "https://partner.example.evil"))
            .await
            .passed()
    );
    assert!(!run(&guard, post("", "null")).await.passed());
    // Same-origin requests never ask the predicate.
    assert!(
        run(&guard, post("same-origin", "https://x.partner.example"))
            .await
            .passed()
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["https://a.partner.example", "https://partner.example.evil"]
    );
}

// ---------------------------------------------------------------------------------------------
// Bypass paths.

#[tokio::test]
async fn bypass_edge_cases() {
    let guard = OriginGuardLayer::builder()
        .bypass_path("/webhooks/")
        .bypass_path("/callback")
        .build()
        .unwrap();
    let cases = [
        ("/webhooks/stripe", true),
        ("/webhooks/stripe?x=1", true),
        ("/webhooks/", true),
        ("/webhooks", false),
        ("/webhooksX/a", false),
        ("/webhooks/../admin", false),
        ("/webhooks/%2e%2e/admin", false),
        ("/webhooks/.%2E/admin", false),
        ("/webhooks/./stripe", false),
        ("/webhooks//stripe", false),
        ("/webhooks/a%2F..%2Fadmin", false),
        ("/Webhooks/stripe", false),
        ("/callback", true),
        ("/callback/x", false),
        ("/callback/", false),
        ("/callbacks", false),
        ("/api/webhooks/stripe", false),
    ];
    for (path, passes) in cases {
        let request = req("POST", path, &[("sec-fetch-site", b"cross-site")]);
        assert_eq!(run(&guard, request).await.passed(), passes, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Strict and report-only modes.

#[tokio::test]
async fn strict_mode_needs_a_browser_header() {
    let guard = OriginGuardLayer::builder().strict(true).build().unwrap();
    let outcome = run(&guard, post("", "")).await;
    assert_eq!(outcome.kind(), Some(RejectionKind::MissingHeaders));
    assert!(run(&guard, post("same-origin", "")).await.passed());
    assert!(run(&guard, post("", "https://example.com")).await.passed());
    assert!(run(&guard, common::request("GET", "/")).await.passed());
}

#[tokio::test]
async fn report_only_passes_and_records() {
    let guard = OriginGuardLayer::builder()
        .report_only(true)
        .build()
        .unwrap();
    let svc = guard.layer(tower::service_fn(
        |request: Request<Full<Bytes>>| async move {
            let seen = request.extensions().get::<Rejection>().copied();
            let text = seen.map_or("none", |r| r.reason());
            Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(text))))
        },
    ));
    let response = svc.clone().oneshot(post("cross-site", "")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let rejection = *response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.kind(), RejectionKind::CrossSite);
    assert!(rejection.is_report_only());
    assert_eq!(body_text(response.into_body()).await, rejection.reason());

    let response = svc.oneshot(post("same-origin", "")).await.unwrap();
    assert!(response.extensions().get::<Rejection>().is_none());
    assert_eq!(body_text(response.into_body()).await, "none");
}

// ---------------------------------------------------------------------------------------------
// The pure decision and the answer.

#[test]
fn check_reports_why_without_a_service() {
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://app.example")
        .bypass_path("/hooks/")
        .trust_same_site(true)
        .build()
        .unwrap();
    let check = |request: Request<Full<Bytes>>| guard.check(&request.into_parts().0);
    assert_eq!(check(common::request("GET", "/")), Ok(Allowed::SafeMethod));
    assert_eq!(check(post("same-origin", "")), Ok(Allowed::SameOrigin));
    assert_eq!(check(post("none", "")), Ok(Allowed::UserInitiated));
    assert_eq!(check(post("same-site", "")), Ok(Allowed::SameSite));
    assert_eq!(check(post("", "")), Ok(Allowed::NonBrowser));
    assert_eq!(
        check(post("", "https://example.com")),
        Ok(Allowed::MatchesTarget)
    );
    assert_eq!(
        check(post("cross-site", "https://app.example")),
        Ok(Allowed::TrustedOrigin)
    );
    let hook = req("POST", "/hooks/a", &[("sec-fetch-site", b"cross-site")]);
    assert_eq!(check(hook), Ok(Allowed::BypassPath));
    let refused = check(post("cross-site", "https://evil.example")).unwrap_err();
    assert_eq!(refused.kind(), RejectionKind::CrossSite);
    assert!(!refused.is_report_only());
    assert_eq!(
        guard.check_request(&post("", "null")).unwrap_err().kind(),
        RejectionKind::NullOrigin
    );
}

#[tokio::test]
async fn default_refusal_answer() {
    let inner = Named::new("app");
    let svc = OriginGuardLayer::new().layer(inner.clone());
    let response = svc.oneshot(post("", "https://evil.example")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let rejection = *response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.kind(), RejectionKind::CrossOrigin);
    let body = body_text(response.into_body()).await;
    assert_eq!(body, rejection.reason());
    assert!(!body.contains('\n'));
    assert_eq!(inner.calls(), 0);
}

// ---------------------------------------------------------------------------------------------
// Configuration errors.

#[test]
fn every_configuration_problem_is_reported_at_once() {
    let error = OriginGuardLayer::builder()
        .trust_origin("https://ok.example")
        .trust_origins([
            "null",
            "example.com",
            "https://example.com/",
            "https://example.com?q",
            "https://example.com#f",
            "https://evil@example.com",
            "https://bücher.example",
            "ftp://example.com",
            "https://example.com:0x50",
        ])
        .public_origin("https://api.example.com/v1")
        .bypass_path("webhooks/")
        .bypass_path("/a/../b")
        .bypass_path("/hooks/*")
        .bypass_path("/")
        .build()
        .unwrap_err();
    let got: Vec<_> = error
        .problems()
        .iter()
        .map(|p| (p.location().unwrap(), p.kind(), p.value()))
        .collect();
    assert_eq!(
        got,
        [
            ("trusted_origins[1]", ProblemKind::Unsafe, "null"),
            ("trusted_origins[2]", ProblemKind::Syntax, "example.com"),
            (
                "trusted_origins[3]",
                ProblemKind::Invalid,
                "https://example.com/"
            ),
            (
                "trusted_origins[4]",
                ProblemKind::Invalid,
                "https://example.com?q"
            ),
            (
                "trusted_origins[5]",
                ProblemKind::Invalid,
                "https://example.com#f"
            ),
            (
                "trusted_origins[6]",
                ProblemKind::Invalid,
                "https://evil@example.com"
            ),
            (
                "trusted_origins[7]",
                ProblemKind::Invalid,
                "https://bücher.example"
            ),
            (
                "trusted_origins[8]",
                ProblemKind::Invalid,
                "ftp://example.com"
            ),
            (
                "trusted_origins[9]",
                ProblemKind::Syntax,
                "https://example.com:0x50"
            ),
            (
                "public_origins[0]",
                ProblemKind::Invalid,
                "https://api.example.com/v1"
            ),
            ("bypass_paths[0]", ProblemKind::Syntax, "webhooks/"),
            ("bypass_paths[1]", ProblemKind::Invalid, "/a/../b"),
            ("bypass_paths[2]", ProblemKind::Invalid, "/hooks/*"),
            ("bypass_paths[3]", ProblemKind::Unsafe, "/"),
        ]
    );
    assert!(error.problems().iter().all(|p| p.module() == "origin"));
    let first = error.problems()[0].to_string();
    assert!(
        first.starts_with("trusted_origins[1]: origin: trusted origin \"null\""),
        "{first}"
    );
    assert!(error.problems()[2].reason().contains("has a path"));
    assert!(error.problems()[6].reason().contains("punycode"));
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium, replayed (../shared/data/chromium-request-headers.txt): the guard alone,
// trusting the page origin the recorded CORS policy allowed, refuses exactly the non-preflight
// requests the recording answered 403.

#[tokio::test]
async fn chromium_recording_replayed() {
    let data = common::shared_data("chromium-request-headers.txt");
    let guard = trusting(&["http://localhost:18181"]);
    let mut replayed = 0;
    let mut refused = 0;
    for block in data.split("\n==========") {
        let mut request: Option<Request<Full<Bytes>>> = None;
        for line in block.lines() {
            if let Some(status) = line.trim().strip_prefix("-> answered ") {
                let Some(request) = request.take() else {
                    continue;
                };
                let method = request.method().clone();
                let what = format!("{method} {}", request.uri());
                let outcome = run(&guard, request).await;
                let expect_refused = status == "403" && method != http::Method::OPTIONS;
                assert_eq!(!outcome.passed(), expect_refused, "{what}");
                replayed += 1;
                refused += usize::from(expect_refused);
            } else if let Some((method, rest)) = line.split_once(' ') {
                if let Some(target) = rest.strip_suffix(" HTTP/1.1") {
                    request = Some(req(method, target, &[]));
                    continue;
                }
                if let (Some(request), Some((name, value))) =
                    (request.as_mut(), line.split_once(": "))
                {
                    if value != "(random)" {
                        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
                        request
                            .headers_mut()
                            .append(name, HeaderValue::from_str(value).unwrap());
                    }
                }
            }
        }
    }
    assert!(replayed >= 20, "replayed {replayed}");
    assert_eq!(refused, 6);
}

// ---------------------------------------------------------------------------------------------
// A stack: our CORS layer outside, the guard trusting what it allows, an axum app inside.

#[cfg(feature = "cors")]
#[tokio::test]
async fn stack_with_cors_outside_and_axum_inside() {
    use axum::routing::post as axum_post;
    use tower_gateway::cors::CorsLayer;

    let (cors, guard) = common::guarded(
        CorsLayer::builder()
            .allow_origin("https://app.example.com")
            .build()
            .unwrap(),
    );
    let app = axum::Router::new()
        .route("/transfer", axum_post(|| async { "moved" }))
        .layer(guard)
        .layer(cors);

    let cross = |origin: &'static str| {
        Request::post("/transfer")
            .header("host", "api.example.com")
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let ok = app
        .clone()
        .oneshot(cross("https://app.example.com"))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(ok.extensions().get::<Rejection>().is_none());
    assert_eq!(body_text(ok.into_body()).await, "moved");

    let refused = app.oneshot(cross("https://evil.example")).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .headers()
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-")));
    let kind = refused.extensions().get::<Rejection>().map(Rejection::kind);
    assert_eq!(kind, Some(RejectionKind::CrossSite));
}

// ---------------------------------------------------------------------------------------------
// Hostile bytes never panic, and the service agrees with the pure decision.

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            "[a-zA-Z:/.@\\[\\]0-9%?#-]{0,40}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn arbitrary_headers_never_panic(
            origin in header_bytes(),
            origin2 in proptest::option::of(header_bytes()),
            site in proptest::option::of(header_bytes()),
            host in header_bytes(),
            upgrade in header_bytes(),
            path in "/[a-z./%0-9A-F]{0,30}",
        ) {
            let guard = OriginGuardLayer::builder()
                .trust_origin("https://a.example")
                .bypass_path("/b/")
                .build()
                .unwrap();
            let mut request = common::request("POST", "/");
            if let Ok(uri) = path.parse() {
                *request.uri_mut() = uri;
            }
            let headers = request.headers_mut();
            let mut put = |name: &'static str, value: &[u8]| {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.append(name, value);
                }
            };
            put("origin", &origin);
            if let Some(origin2) = &origin2 {
                put("origin", origin2);
            }
            if let Some(site) = &site {
                put("sec-fetch-site", site);
            }
            put("host", &host);
            put("upgrade", &upgrade);
            let decision = guard.check_request(&request);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let outcome = runtime.block_on(run(&guard, request));
            prop_assert_eq!(outcome.passed(), decision.is_ok());
            prop_assert_eq!(outcome.kind(), decision.err().map(|r| r.kind()));
        }
    }
}

// ---- edge cases (audit, session 6): audit_origin.rs

/// Request headers as name and raw bytes.
type Headers<'a> = &'a [(&'a str, &'a [u8])];

async fn status(layer: &OriginGuardLayer, request: Request<Full<Bytes>>) -> (StatusCode, usize) {
    let inner = Named::new("app");
    let res = layer.layer(inner.clone()).oneshot(request).await.unwrap();
    (res.status(), inner.calls())
}

/// Go 1.25.1's rows for go.dev/issue/75054 (the CVE-2025-47910 fix): a bypass pattern without
/// a trailing slash is one exact path; one with a trailing slash is a subtree that does not
/// include the path without the slash.
#[tokio::test]
async fn go_matrix_bypass_trailing_slash_rows() {
    let guard = OriginGuardLayer::builder()
        .bypass_path("/bypass/")
        .bypass_path("/no-trailing")
        .bypass_path("/yes-trailing/")
        .build()
        .unwrap();
    let cases = [
        ("/no-trailing", true),
        ("/no-trailing/", false),
        ("/no-trailing/x", false),
        ("/no-trailingX", false),
        ("/yes-trailing/", true),
        ("/yes-trailing", false),
        ("/yes-trailing/x", true),
        ("/foo/../bypass/bar", false),
        ("/bypass", false),
    ];
    for (path, passes) in cases {
        let r = req(
            "POST",
            path,
            &[
                ("host", b"example.com"),
                ("origin", b"https://attacker.example"),
            ],
        );
        let (s, calls) = status(&guard, r).await;
        assert_eq!(s == StatusCode::OK, passes, "{path}");
        assert_eq!(calls, usize::from(passes));
    }
}

#[tokio::test]
async fn cross_site_fetch_metadata_wins_over_a_matching_origin() {
    let guard = OriginGuardLayer::new();
    for site in [&b"cross-site"[..], b"same-site", b"Same-Origin"] {
        let r = req(
            "POST",
            "/",
            &[
                ("host", b"example.com"),
                ("origin", b"https://example.com"),
                ("sec-fetch-site", site),
            ],
        );
        assert_eq!(status(&guard, r).await.0, StatusCode::FORBIDDEN);
    }
    // same-origin and none pass whatever Origin says (even null).
    for site in [&b"same-origin"[..], b"none"] {
        let r = req(
            "DELETE",
            "/",
            &[("origin", b"null"), ("sec-fetch-site", site)],
        );
        assert_eq!(status(&guard, r).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn every_unsafe_method_is_checked() {
    let guard = OriginGuardLayer::new();
    for m in [
        "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "get", "options",
    ] {
        let mut r = req("POST", "/", &[("sec-fetch-site", b"cross-site")]);
        *r.method_mut() = m.parse().unwrap();
        let parts = r.into_parts().0;
        let rejection = guard.check(&parts).unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::CrossSite, "{m}");
    }
}

#[tokio::test]
async fn websocket_handshakes_in_every_mode() {
    let ws = |origin: &'static [u8]| {
        req(
            "GET",
            "/ws",
            &[
                ("host", b"chat.example.com"),
                ("connection", b"Upgrade"),
                ("upgrade", b"websocket"),
                ("sec-websocket-version", b"13"),
                ("sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
                ("origin", origin),
            ],
        )
    };
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://app.example.com")
        .build()
        .unwrap();
    assert_eq!(
        status(&guard, ws(b"https://chat.example.com")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        status(&guard, ws(b"https://app.example.com")).await.0,
        StatusCode::OK
    );
    let (s, calls) = status(&guard, ws(b"https://evil.example")).await;
    assert_eq!((s, calls), (StatusCode::FORBIDDEN, 0));
    assert_eq!(status(&guard, ws(b"null")).await.0, StatusCode::FORBIDDEN);

    let report = OriginGuardLayer::builder()
        .report_only(true)
        .build()
        .unwrap();
    let inner = Named::new("app");
    let res = report
        .layer(inner.clone())
        .oneshot(ws(b"https://evil.example"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(inner.calls(), 1);
    let r = res.extensions().get::<Rejection>().unwrap();
    assert!(r.is_report_only());
    assert_eq!(r.kind(), RejectionKind::CrossOrigin);
}

#[tokio::test]
async fn refusal_reason_per_kind_and_exact_headers() {
    let guard = OriginGuardLayer::builder().strict(true).build().unwrap();
    let cases: [(Headers<'_>, RejectionKind); 7] = [
        (
            &[("sec-fetch-site", b"cross-site")],
            RejectionKind::CrossSite,
        ),
        (&[("sec-fetch-site", b"same-site")], RejectionKind::SameSite),
        (
            &[("sec-fetch-site", b"bogus")],
            RejectionKind::InvalidFetchSite,
        ),
        (&[("origin", b"null")], RejectionKind::NullOrigin),
        (
            &[("origin", b"https://evil@example.com")],
            RejectionKind::MalformedOrigin,
        ),
        (
            &[
                ("origin", b"https://example.com"),
                ("origin", b"https://example.com"),
            ],
            RejectionKind::MultipleOrigins,
        ),
        (&[], RejectionKind::MissingHeaders),
    ];
    for (headers, kind) in cases {
        let mut h = vec![("host", &b"example.com"[..])];
        h.extend_from_slice(headers);
        let inner = Named::new("app");
        let res = guard
            .layer(inner.clone())
            .oneshot(req("POST", "/", &h))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(inner.calls(), 0);
        let mut names: Vec<_> = res
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["content-type", "x-content-type-options"],
            "{kind:?}"
        );
        let r = *res.extensions().get::<Rejection>().unwrap();
        assert_eq!(r.kind(), kind);
        assert!(!r.is_report_only());
        let body = body_text(res.into_body()).await;
        assert_eq!(body, r.reason());
        assert_eq!(body, r.to_string());
    }
}

#[tokio::test]
async fn allowed_requests_carry_no_rejection() {
    let guard = OriginGuardLayer::builder()
        .report_only(true)
        .bypass_path("/hooks/")
        .build()
        .unwrap();
    for r in [
        req("GET", "/", &[("sec-fetch-site", b"cross-site")]),
        req("POST", "/hooks/a", &[("sec-fetch-site", b"cross-site")]),
        req(
            "POST",
            "/",
            &[("host", b"example.com"), ("origin", b"https://example.com")],
        ),
        req("POST", "/", &[]),
    ] {
        let parts_check = guard.check_request(&r);
        assert!(parts_check.is_ok());
        let res = guard.layer(Named::new("app")).oneshot(r).await.unwrap();
        assert!(res.extensions().get::<Rejection>().is_none());
    }
}

#[tokio::test]
async fn absolute_form_target_beats_host_and_proxy_case() {
    let guard = OriginGuardLayer::new();
    // HTTP/2 `:authority` arrives as the URI authority with a scheme.
    let cases = [
        ("https://api.example.com/x", "https://api.example.com", true),
        (
            "https://api.example.com:443/x",
            "https://api.example.com",
            true,
        ),
        (
            "https://api.example.com/x",
            "https://api.example.com:443",
            true,
        ),
        ("https://API.Example.com/x", "https://api.example.com", true),
        (
            "https://api.example.com:8443/x",
            "https://api.example.com",
            false,
        ),
        ("http://api.example.com/x", "https://api.example.com", false),
        (
            "https://api.example.com./x",
            "https://api.example.com",
            false,
        ),
    ];
    for (uri, origin, passes) in cases {
        let r = req(
            "POST",
            uri,
            &[("host", b"api.example.com"), ("origin", origin.as_bytes())],
        );
        let parts = r.into_parts().0;
        let d = guard.check(&parts);
        assert_eq!(d.is_ok(), passes, "{uri} {origin}: {d:?}");
        if passes {
            assert_eq!(d, Ok(Allowed::MatchesTarget));
        }
    }
}

#[test]
fn trusted_origin_config_edge_cases() {
    for bad in [
        "https://*.example.com",
        "https://example.com:65536",
        "https://example.com:",
        "https:example.com",
        "//example.com",
        "ws://example.com",
        "https://example.com/",
        "https://[::1",
        " https://example.com",
    ] {
        let e = OriginGuardLayer::builder().trust_origin(bad).build();
        let e = e.err().unwrap_or_else(|| panic!("{bad:?} accepted"));
        assert_eq!(e.problems().len(), 1);
        assert_eq!(e.problems()[0].value(), bad);
        assert_eq!(e.problems()[0].location(), Some("trusted_origins[0]"));
        assert_eq!(e.problems()[0].module(), "origin");
    }
    for ok in [
        "http://[::1]:8080",
        "https://xn--bcher-kva.example",
        "http://127.0.0.1",
    ] {
        assert!(
            OriginGuardLayer::builder().trust_origin(ok).build().is_ok(),
            "{ok}"
        );
    }
}

/// Paths a backend could resolve out of the bypass subtree are never exempt: a raw backslash
/// (read as `/` by some servers, as `%5C` already is here) and a dot segment with a `;`
/// parameter (`..;`, which servlet containers resolve as `..`).
#[tokio::test]
async fn bypass_never_exempts_backslash_or_dot_parameter_segments() {
    let guard = OriginGuardLayer::builder()
        .bypass_path("/webhooks/")
        .build()
        .unwrap();
    let cases = [
        ("/webhooks/..\\admin", false),
        ("/webhooks/a\\..\\..\\admin", false),
        ("/webhooks/..;/admin", false),
        ("/webhooks/.;x/admin", false),
        ("/webhooks/%2e%2e;/admin", false),
        ("/webhooks/stripe;v=1", true),
        ("/webhooks/a..;b", true),
    ];
    for (path, passes) in cases {
        let r = req("POST", path, &[("sec-fetch-site", b"cross-site")]);
        let (s, _) = status(&guard, r).await;
        assert_eq!(s == StatusCode::OK, passes, "{path}");
    }
}

// ---- third pass (audit, session 6): Go 1.25 csrf_test.go rows, Sec-Fetch-Site rules, targets

/// Go's `TestCrossOriginProtectionSecFetchSite` as Go builds it: an origin-form request whose
/// `Host` is `example.com` (Go's `httptestNewRequest` clears the URL's scheme and host), each
/// row with both `Sec-Fetch-Site` and `Origin` combinations Go leaves implicit.
#[tokio::test]
async fn go_sec_fetch_site_rows_with_an_origin_too() {
    let guard = OriginGuardLayer::new();
    let cases = [
        // Fetch metadata wins over Origin (Go checks Sec-Fetch-Site first).
        ("same-origin", "https://attacker.example", true),
        ("none", "https://attacker.example", true),
        ("cross-site", "https://example.com", false),
        ("same-site", "https://sub.example.com", false),
        // Origin only.
        ("", "https://example.com", true),
        ("", "http://example.com", true),
        ("", "https://example.com:443", true),
        ("", "https://attacker.example", false),
        ("", "null", false),
        ("", "", true),
    ];
    for (site, origin, passes) in cases {
        for method in [
            "POST", "PUT", "PATCH", "DELETE", "CONNECT", "TRACE", "PROPFIND", "get",
        ] {
            let mut request = post(site, origin);
            *request.method_mut() = method.parse().unwrap();
            let outcome = run(&guard, request).await;
            assert_eq!(outcome.passed(), passes, "{method} {site:?} {origin:?}");
        }
    }
}

/// Go's `TestCrossOriginProtectionSetDenyHandler`, third step: the default answer again when no
/// custom builder is set (a fresh guard), and the safe `GET` passes under both.
#[tokio::test]
async fn go_deny_handler_default_answer_and_safe_get() {
    let guard = OriginGuardLayer::new();
    let svc = guard.layer(Named::new("app"));
    let response = svc.clone().oneshot(post("cross-site", "")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let body = body_text(response.into_body()).await;
    assert!(!body.trim_end().contains('\n'), "{body:?}");
    assert!(!body.is_empty());
    let mut get = post("cross-site", "https://attacker.example");
    *get.method_mut() = http::Method::GET;
    assert_eq!(svc.oneshot(get).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn sec_fetch_site_value_rules() {
    let guard = OriginGuardLayer::new();
    // Empty counts as absent: then Origin decides, and no Origin passes.
    let empty: (&str, &[u8]) = ("sec-fetch-site", b"");
    let host: (&str, &[u8]) = ("host", b"example.com");
    assert!(run(&guard, req("POST", "/", &[host, empty])).await.passed());
    let o = run(
        &guard,
        req("POST", "/", &[host, empty, ("origin", b"null")]),
    )
    .await;
    assert_eq!(o.kind(), Some(RejectionKind::NullOrigin));
    // Wrong case and padded values are not the Fetch tokens.
    for v in [
        &b"SAME-ORIGIN"[..],
        b"None",
        b"Cross-Site",
        b"same-origin,none",
        b"same_origin",
        b"\"same-origin\"",
    ] {
        let o = run(&guard, req("POST", "/", &[host, ("sec-fetch-site", v)])).await;
        assert!(!o.passed(), "{v:?}");
    }
    // A trusted origin passes any value; an untrusted one none but same-origin/none.
    let trusted = trusting(&["https://partner.example"]);
    for v in [&b"cross-site"[..], b"same-site", b"Same-Origin", b"bogus"] {
        let r = req(
            "POST",
            "/",
            &[
                host,
                ("sec-fetch-site", v),
                ("origin", b"https://partner.example"),
            ],
        );
        assert!(run(&trusted, r).await.passed(), "{v:?}");
    }
}

#[tokio::test]
async fn same_site_trust_does_not_cover_cross_site_or_unknown() {
    let guard = OriginGuardLayer::builder()
        .trust_same_site(true)
        .build()
        .unwrap();
    for (site, passes) in [
        ("same-site", true),
        ("same-origin", true),
        ("none", true),
        ("cross-site", false),
        ("Same-Site", false),
    ] {
        let o = run(&guard, post(site, "https://attacker.example")).await;
        assert_eq!(o.passed(), passes, "{site}");
    }
}

#[tokio::test]
async fn http2_authority_and_host_headers() {
    let guard = OriginGuardLayer::new();
    // An HTTP/2 request: `:authority` is the URI authority, with the scheme; no Host header.
    let mut r = req(
        "POST",
        "https://api.example.com/orders",
        &[("origin", b"https://api.example.com")],
    );
    *r.version_mut() = http::Version::HTTP_2;
    assert!(run(&guard, r).await.passed());
    let mut r = req(
        "POST",
        "https://api.example.com/orders",
        &[("origin", b"https://evil.example")],
    );
    *r.version_mut() = http::Version::HTTP_2;
    assert_eq!(
        run(&guard, r).await.kind(),
        Some(RejectionKind::CrossOrigin)
    );
    // `:authority` wins over a Host header that disagrees.
    let mut r = req(
        "POST",
        "https://api.example.com/orders",
        &[
            ("host", b"evil.example"),
            ("origin", b"https://evil.example"),
        ],
    );
    *r.version_mut() = http::Version::HTTP_2;
    assert!(!run(&guard, r).await.passed());
    // Two Host headers, even equal ones, never match.
    for hosts in [
        [&b"example.com"[..], b"example.com"],
        [b"example.com", b"evil.example"],
    ] {
        let r = req(
            "POST",
            "/",
            &[
                ("host", hosts[0]),
                ("host", hosts[1]),
                ("origin", b"https://example.com"),
            ],
        );
        assert!(!run(&guard, r).await.passed());
    }
    // IPv6 and upper-case hosts.
    for (host, origin, passes) in [
        (&b"[::1]:8080"[..], &b"http://[::1]:8080"[..], true),
        (b"[::1]", b"http://[::1]", true),
        (b"[::1]:8080", b"http://[::2]:8080", false),
        (b"EXAMPLE.COM:443", b"https://example.com", true),
        (b"example.com", b"https://Example.Com", true),
    ] {
        let r = req("POST", "/", &[("host", host), ("origin", origin)]);
        assert_eq!(run(&guard, r).await.passed(), passes, "{host:?} {origin:?}");
    }
}

#[tokio::test]
async fn public_origins_list_replaces_the_host() {
    let guard = OriginGuardLayer::builder()
        .public_origin("https://api.example.com")
        .public_origin("https://api.example.com:8443")
        .public_origin("http://localhost:3000")
        .build()
        .unwrap();
    for (origin, passes) in [
        ("https://api.example.com", true),
        ("https://api.example.com:443", true),
        ("https://API.example.com", true),
        ("https://api.example.com:8443", true),
        ("http://localhost:3000", true),
        ("http://localhost:3001", false),
        ("https://internal.svc:8080", false),
    ] {
        let r = req(
            "POST",
            "/",
            &[
                ("host", b"internal.svc:8080"),
                ("origin", origin.as_bytes()),
            ],
        );
        assert_eq!(run(&guard, r).await.passed(), passes, "{origin}");
    }
    // Even an absolute-form target no longer counts.
    let r = req(
        "POST",
        "https://internal.svc:8080/x",
        &[("origin", b"https://internal.svc:8080")],
    );
    assert!(!run(&guard, r).await.passed());
}

#[cfg(feature = "cors")]
#[tokio::test]
async fn trust_cors_follows_a_policy_swap() {
    use tower_gateway::cors::{CorsConfig, CorsLayer};
    let cors = CorsLayer::builder()
        .allow_origin("https://old.example")
        .build()
        .unwrap();
    let guard = common::trusting(&cors);
    let svc = guard.layer(Named::new("app"));
    let call = |origin: &'static str| {
        let svc = svc.clone();
        async move {
            svc.oneshot(post("cross-site", origin))
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(call("https://old.example").await, StatusCode::OK);
    assert_eq!(call("https://new.example").await, StatusCode::FORBIDDEN);
    cors.handle()
        .set(CorsConfig::new().allow_origin("https://*.new.example"))
        .unwrap();
    assert_eq!(call("https://old.example").await, StatusCode::FORBIDDEN);
    assert_eq!(call("https://a.new.example").await, StatusCode::OK);
    assert_eq!(call("https://new.example").await, StatusCode::FORBIDDEN);
    // A refused swap changes nothing.
    assert!(cors
        .handle()
        .set(CorsConfig::new().allow_origin("null"))
        .is_err());
    assert_eq!(call("https://a.new.example").await, StatusCode::OK);
    // The guard also sees swaps made through a clone of the handle taken before.
    let handle = cors.handle();
    handle
        .set(CorsConfig::new().allow_origin("http://localhost:*"))
        .unwrap();
    assert_eq!(call("http://localhost:5173").await, StatusCode::OK);
    assert_eq!(call("https://a.new.example").await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn websocket_handshake_variants() {
    let guard = trusting(&["https://app.example"]);
    for (upgrade, origin, passes) in [
        (&b"websocket"[..], &b"https://attacker.example"[..], false),
        (b"WebSocket", b"https://attacker.example", false),
        (b"h2c, websocket", b"https://attacker.example", false),
        (b"websocket", b"https://app.example", true),
        (b"websocket", b"https://example.com", true),
        (b"websocket", b"null", false),
        (b"h2c", b"https://attacker.example", true),
    ] {
        let r = req(
            "GET",
            "/ws",
            &[
                ("host", b"example.com"),
                ("connection", b"upgrade"),
                ("upgrade", upgrade),
                ("origin", origin),
            ],
        );
        assert_eq!(
            run(&guard, r).await.passed(),
            passes,
            "{upgrade:?} {origin:?}"
        );
    }
}

#[tokio::test]
async fn trailing_dot_is_kept_on_both_sides() {
    let guard = OriginGuardLayer::new();
    for (host, origin, passes) in [
        (&b"example.com."[..], &b"https://example.com."[..], true),
        (b"example.com.:8443", b"https://example.com.:8443", true),
        (b"example.com.", b"https://example.com", false),
    ] {
        let r = req("POST", "/", &[("host", host), ("origin", origin)]);
        assert_eq!(run(&guard, r).await.passed(), passes, "{host:?} {origin:?}");
    }
    let trusted = trusting(&["https://partner.example."]);
    assert!(
        run(&trusted, post("cross-site", "https://partner.example."))
            .await
            .passed()
    );
    assert!(
        !run(&trusted, post("cross-site", "https://partner.example"))
            .await
            .passed()
    );
}

#[tokio::test]
async fn strict_mode_rows() {
    let guard = OriginGuardLayer::builder()
        .strict(true)
        .trust_origin("https://partner.example")
        .bypass_path("/hooks/")
        .build()
        .unwrap();
    let host: (&str, &[u8]) = ("host", b"example.com");
    let cases: [(&str, &str, Headers, Option<RejectionKind>); 8] = [
        ("POST", "/", &[host], Some(RejectionKind::MissingHeaders)),
        (
            "POST",
            "/",
            &[host, ("sec-fetch-site", b""), ("origin", b"")],
            Some(RejectionKind::MissingHeaders),
        ),
        ("POST", "/", &[host, ("sec-fetch-site", b"none")], None),
        (
            "POST",
            "/",
            &[
                host,
                ("sec-fetch-site", b"cross-site"),
                ("origin", b"https://partner.example"),
            ],
            None,
        ),
        ("POST", "/hooks/a", &[host], None),
        ("GET", "/", &[host], None),
        (
            "GET",
            "/ws",
            &[host, ("connection", b"upgrade"), ("upgrade", b"websocket")],
            Some(RejectionKind::MissingHeaders),
        ),
        (
            "DELETE",
            "/",
            &[host, ("origin", b"https://attacker.example")],
            Some(RejectionKind::CrossOrigin),
        ),
    ];
    for (method, path, headers, kind) in cases {
        let o = run(&guard, req(method, path, headers)).await;
        assert_eq!(o.kind(), kind, "{method} {path} {headers:?}");
        assert_eq!(o.passed(), kind.is_none());
    }
}

#[tokio::test]
async fn report_only_never_blocks_and_records_every_kind() {
    let guard = OriginGuardLayer::builder()
        .report_only(true)
        .strict(true)
        .build()
        .unwrap();
    let host: (&str, &[u8]) = ("host", b"example.com");
    let cases: [(Headers, RejectionKind); 6] = [
        (&[host], RejectionKind::MissingHeaders),
        (
            &[host, ("sec-fetch-site", b"cross-site")],
            RejectionKind::CrossSite,
        ),
        (
            &[host, ("sec-fetch-site", b"same-site")],
            RejectionKind::SameSite,
        ),
        (&[host, ("origin", b"null")], RejectionKind::NullOrigin),
        (
            &[
                host,
                ("origin", b"https://a.example"),
                ("origin", b"https://b.example"),
            ],
            RejectionKind::MultipleOrigins,
        ),
        (
            &[host, ("origin", b"https://u@example.com")],
            RejectionKind::MalformedOrigin,
        ),
    ];
    for (headers, kind) in cases {
        let inner = Named::new("app");
        let res = guard
            .layer(inner.clone())
            .oneshot(req("POST", "/", headers))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(inner.calls(), 1);
        let r = res.extensions().get::<Rejection>().copied().unwrap();
        assert_eq!(r.kind(), kind);
        assert!(r.is_report_only());
    }
}

#[tokio::test]
async fn trusted_and_public_ip_origins_are_normalised_or_refused() {
    for (trusted, origin) in [
        ("http://[0::1]:8080", "http://[::1]:8080"),
        ("HTTP://[::A]", "http://[::a]"),
        (
            "https://[2001:DB8:0:0:0:0:0:1]:443",
            "https://[2001:db8::1]",
        ),
        ("http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]"),
        ("https://my_app.example", "https://my_app.example"),
        ("https://a.example.", "https://a.example."),
    ] {
        let guard = trusting(&[trusted]);
        assert!(
            run(&guard, post("cross-site", origin)).await.passed(),
            "{trusted} {origin}"
        );
        let guard = OriginGuardLayer::builder()
            .public_origin(trusted)
            .build()
            .unwrap();
        let r = req(
            "POST",
            "/",
            &[("host", b"internal:8080"), ("origin", origin.as_bytes())],
        );
        assert!(run(&guard, r).await.passed(), "public {trusted} {origin}");
    }
    for bad in [
        "http://[::::::1]",
        "http://[1::2::3]",
        "http://127.1",
        "http://0x7f.0.0.1",
        "http://2130706433",
        "http://127.0.0.1.1",
        "http://256.0.0.1",
        "http://127.0.0.01",
    ] {
        for builder in [
            OriginGuardLayer::builder().trust_origin(bad),
            OriginGuardLayer::builder().public_origin(bad),
        ] {
            let e = builder
                .build()
                .err()
                .unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(e.problems().len(), 1, "{e}");
            assert_eq!(e.problems()[0].value(), bad);
            assert_eq!(e.problems()[0].kind(), ProblemKind::Syntax);
        }
    }
}

/// Go checks `Sec-Fetch-Site` first: `same-origin` and `none` pass whatever `Origin` says
/// (even `null`, malformed or repeated), also on a WebSocket handshake.
#[tokio::test]
async fn fetch_metadata_same_origin_wins_over_any_origin_value() {
    let guard = OriginGuardLayer::new();
    for site in [&b"same-origin"[..], b"none"] {
        for origins in [
            &[&b"null"[..]][..],
            &[b"https://evil@example.com"],
            &[b"https://a.example", b"https://b.example"],
            &[b"not an origin"],
        ] {
            for ws in [false, true] {
                let mut headers: Vec<(&str, &[u8])> =
                    vec![("host", b"example.com"), ("sec-fetch-site", site)];
                headers.extend(origins.iter().map(|o| ("origin", *o)));
                let method = if ws {
                    headers.push(("connection", b"upgrade"));
                    headers.push(("upgrade", b"websocket"));
                    "GET"
                } else {
                    "POST"
                };
                let o = run(&guard, req(method, "/", &headers)).await;
                assert!(o.passed(), "{site:?} {origins:?} ws={ws}");
            }
        }
    }
}
