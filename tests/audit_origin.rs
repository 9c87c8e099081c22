#![cfg(feature = "origin")]
//! Audit probes of the origin guard against Go 1.25.1's `CrossOriginProtection` and issue 5.

mod common;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};
use tower_gateway::origin::{Allowed, OriginGuardLayer, Rejection, RejectionKind};

use common::{body_text, Named};

/// Request headers as name and raw bytes.
type Headers<'a> = &'a [(&'a str, &'a [u8])];

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
