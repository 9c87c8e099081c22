//! Unit tests of the parsers, the bypass matcher and the service shell.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt};

use super::bypass::{self, BypassError};
use super::parse::{
    fast_origin, parse_authority, parse_config_origin, parse_origin, slow_authority, slow_origin,
    OriginError, OriginRef,
};
use super::*;
use crate::test_helpers::{assert_send_sync, body_text, Echo};

#[test]
fn parses_request_origins() {
    let cases: &[(&str, Result<(&str, &str, Option<u16>), OriginError>)] = &[
        ("https://example.com", Ok(("https", "example.com", None))),
        (
            "HTTPS://Example.COM:443",
            Ok(("HTTPS", "Example.COM", Some(443))),
        ),
        ("http://[::1]:8080", Ok(("http", "[::1]", Some(8080)))),
        (
            "chrome-extension://abc",
            Ok(("chrome-extension", "abc", None)),
        ),
        ("null", Err(OriginError::Null)),
        ("", Err(OriginError::Empty)),
        ("https://evil@example.com", Err(OriginError::Userinfo)),
        ("https://example.com/", Err(OriginError::Path)),
        ("https://example.com?x", Err(OriginError::Query)),
        ("https://example.com#x", Err(OriginError::Fragment)),
        ("example.com", Err(OriginError::NoScheme)),
        ("https://", Err(OriginError::BadHost)),
        ("https://a:", Err(OriginError::BadPort)),
        ("https://a:65536", Err(OriginError::BadPort)),
        ("https://a:+80", Err(OriginError::BadPort)),
        ("https://ex ample.com", Err(OriginError::Malformed)),
        ("https://ex\tample.com", Err(OriginError::Malformed)),
        ("https://[::1", Err(OriginError::BadHost)),
        ("https://[]", Err(OriginError::BadHost)),
        ("https://[::1]x", Err(OriginError::BadHost)),
        ("1http://a", Err(OriginError::BadScheme)),
        ("https://a,b", Err(OriginError::BadHost)),
    ];
    for (input, expected) in cases {
        let got = parse_origin(input.as_bytes()).map(|o| (o.scheme, o.host, o.port));
        assert_eq!(&got, expected, "{input:?}");
    }
    assert_eq!(
        parse_origin("https://ü.de".as_bytes()),
        Err(OriginError::NonAscii)
    );
    assert_eq!(parse_origin(b"https://\xff"), Err(OriginError::NonAscii));
}

#[test]
fn config_origins_are_http_or_https() {
    assert!(parse_config_origin("HTTP://A.example").is_ok());
    for bad in [
        "ftp://a.example",
        "file:///etc",
        "ws://a.example",
        "chrome-extension://x",
    ] {
        assert_eq!(
            parse_config_origin(bad),
            Err(OriginError::BadScheme),
            "{bad}"
        );
    }
    assert_eq!(
        parse_config_origin("https://日本.jp"),
        Err(OriginError::NonAscii)
    );
    assert_eq!(
        parse_config_origin("mailto:x@y.z"),
        Err(OriginError::NoScheme)
    );
}

#[test]
fn normalisation_borrows_when_already_normal() {
    let raw = "https://a.example";
    let origin = parse_origin(raw.as_bytes()).unwrap();
    assert!(matches!(
        origin.normalized(raw),
        std::borrow::Cow::Borrowed(_)
    ));
    let cases = [
        ("HTTPS://A.Example:443", "https://a.example"),
        ("http://a.example:80", "http://a.example"),
        ("http://a.example:443", "http://a.example:443"),
        ("https://a.example:8443", "https://a.example:8443"),
        ("https://a.example.", "https://a.example."),
    ];
    for (raw, normal) in cases {
        let origin: OriginRef<'_> = parse_origin(raw.as_bytes()).unwrap();
        assert_eq!(origin.normalized(raw), normal);
    }
}

#[test]
fn parses_authorities() {
    let ok = parse_authority("Example.com:8080").unwrap();
    assert_eq!((ok.host, ok.port), ("Example.com", Some(8080)));
    assert_eq!(parse_authority("[::1]").unwrap().host, "[::1]");
    for bad in ["", ":80", "a b", "a@b", "a:x", "[::1]:", "a/b"] {
        assert!(parse_authority(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn bypass_matches_whole_segments() {
    let cases = [
        ("/webhooks/", "/webhooks/stripe", true),
        ("/webhooks/", "/webhooks/", true),
        ("/webhooks/", "/webhooks", false),
        ("/webhooks/", "/webhooksX/a", false),
        ("/webhooks", "/webhooks", true),
        ("/webhooks", "/webhooks/stripe", false),
        ("/webhooks", "/webhooks/", false),
        ("/webhooks", "/webhooksX", false),
        ("/webhooks", "/Webhooks", false),
    ];
    for (prefix, path, expected) in cases {
        assert_eq!(bypass::covers(prefix, path), expected, "{prefix} {path}");
    }
}

#[test]
fn ambiguous_paths_are_detected() {
    for path in [
        "/webhooks/../admin",
        "/webhooks/./x",
        "/webhooks/%2e%2e/admin",
        "/webhooks/.%2E/admin",
        "/webhooks/%2E/admin",
        "/webhooks//admin",
        "/webhooks/a%2fb",
        "/webhooks/a%5Cb",
        "/webhooks/..",
    ] {
        assert!(bypass::is_ambiguous(path), "{path}");
    }
    for path in [
        "/",
        "/webhooks/",
        "/a/b",
        "/a/...",
        "/a/.b",
        "/a/b..c",
        "/a%2",
    ] {
        assert!(!bypass::is_ambiguous(path), "{path}");
    }
}

#[test]
fn bypass_paths_are_validated() {
    assert_eq!(
        bypass::validate("webhooks/"),
        Err(BypassError::NoLeadingSlash)
    );
    assert_eq!(bypass::validate("/a b"), Err(BypassError::BadCharacter));
    assert_eq!(bypass::validate("/hooks/*"), Err(BypassError::Pattern));
    assert_eq!(bypass::validate("/hooks/{id}"), Err(BypassError::Pattern));
    assert_eq!(
        bypass::validate("/hooks?x"),
        Err(BypassError::QueryOrFragment)
    );
    assert_eq!(bypass::validate("/a/../b"), Err(BypassError::Ambiguous));
    assert_eq!(bypass::validate("/a//b"), Err(BypassError::Ambiguous));
    assert_eq!(bypass::validate("/webhooks/"), Ok(()));
}

#[test]
fn layer_and_service_are_send_sync_clone() {
    assert_send_sync::<OriginGuardLayer>();
    assert_send_sync::<OriginGuardBuilder>();
    assert_send_sync::<OriginGuard<Echo>>();
    assert_send_sync::<Rejection>();
    assert_send_sync::<ResponseFuture<std::future::Ready<()>, Full<Bytes>>>();
    fn clone<T: Clone>() {}
    clone::<OriginGuardLayer>();
    clone::<OriginGuard<Echo>>();
}

fn post(site: Option<&str>, origin: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::post("/x").header("host", "example.com");
    if let Some(site) = site {
        builder = builder.header("sec-fetch-site", site);
    }
    if let Some(origin) = origin {
        builder = builder.header("origin", origin);
    }
    builder.body(Full::default()).unwrap()
}

#[tokio::test]
async fn refusal_is_403_text_with_reason() {
    let echo = Echo::new();
    let svc = OriginGuardLayer::new().layer(echo.clone());
    let response = svc.oneshot(post(Some("cross-site"), None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let rejection = *response.extensions().get::<Rejection>().unwrap();
    assert_eq!(rejection.kind(), RejectionKind::CrossSite);
    assert_eq!(body_text(response.into_body()).await, rejection.reason());
    assert_eq!(echo.calls(), 0);
}

/// The default 403 reuses the refused request's header map and extensions: nothing of the
/// request may leak into the answer.
#[tokio::test]
async fn refusal_carries_nothing_of_the_request() {
    #[derive(Clone, Debug, PartialEq)]
    struct FromRequest(u32);

    let echo = Echo::new();
    let svc = OriginGuardLayer::new().layer(echo.clone());
    let mut request = post(Some("cross-site"), Some("https://evil.example"));
    request
        .headers_mut()
        .insert("cookie", http::HeaderValue::from_static("session=secret"));
    request
        .headers_mut()
        .append("x-many", http::HeaderValue::from_static("1"));
    request
        .headers_mut()
        .append("x-many", http::HeaderValue::from_static("2"));
    request.extensions_mut().insert(FromRequest(7));
    let response = svc.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let mut names: Vec<_> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.clone()))
        .collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        names,
        [
            (
                "content-type",
                http::HeaderValue::from_static("text/plain; charset=utf-8")
            ),
            (
                "x-content-type-options",
                http::HeaderValue::from_static("nosniff")
            ),
        ]
    );
    assert!(response.extensions().get::<FromRequest>().is_none());
    assert_eq!(response.extensions().len(), 1);
    assert_eq!(
        response
            .extensions()
            .get::<Rejection>()
            .map(Rejection::kind),
        Some(RejectionKind::CrossSite)
    );
    assert_eq!(echo.calls(), 0);
}

#[tokio::test]
async fn pass_keeps_inner_body_and_adds_no_extension() {
    let echo = Echo::new();
    let svc = OriginGuardLayer::new().layer(echo.clone());
    let response = svc.oneshot(post(Some("same-origin"), None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.extensions().get::<Rejection>().is_none());
    assert!(response.body().is_inner());
    assert_eq!(body_text(response.into_body()).await, "POST /x");
    assert_eq!(echo.calls(), 1);
}

#[test]
fn every_kind_has_a_one_line_reason() {
    let kinds = [
        RejectionKind::CrossOrigin,
        RejectionKind::CrossSite,
        RejectionKind::SameSite,
        RejectionKind::InvalidFetchSite,
        RejectionKind::NullOrigin,
        RejectionKind::MalformedOrigin,
        RejectionKind::MultipleOrigins,
        RejectionKind::MissingHeaders,
    ];
    let mut seen = std::collections::HashSet::new();
    for kind in kinds {
        let reason = Rejection::new(kind).reason();
        assert!(!reason.contains('\n') && seen.insert(reason), "{kind:?}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn origin_like() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9+.:/\\[\\]@?#_~%-]{0,30}",
            (
                "(https?|HTTP|ws|x-y\\+z|1a)",
                "(://|:/|:)",
                "[a-zA-Z0-9._~-]{0,12}",
                "(:[0-9]{0,7})?",
                "([/?#@].*)?",
            )
                .prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}")),
        ]
    }

    proptest! {
        /// The one-pass fast paths agree with the general parsers wherever they answer.
        #[test]
        fn fast_paths_agree_with_general_parsers(text in origin_like()) {
            if let Some(fast) = fast_origin(text.as_bytes()) {
                prop_assert_eq!(Ok(fast), slow_origin(text.as_bytes()));
            }
            prop_assert_eq!(parse_authority(&text).ok(), slow_authority(&text).ok());
        }

        /// The decision's shortcuts agree with the paths they skip.
        #[test]
        fn shortcuts_agree_with_full_paths(text in origin_like(), host in "[a-zA-Z0-9.:\\[\\]@_~-]{0,20}") {
            let (raw, host_bytes) = (text.as_bytes(), host.as_bytes());
            let expected = fast_origin(raw)
                .is_some_and(|origin| raw.get(origin.scheme.len() + 3..) == Some(host_bytes));
            prop_assert_eq!(super::super::parse::is_fast_origin_with(raw, host_bytes), expected);
            // And with the origin's own authority as the host, where they should often agree on yes.
            if let Some((_, own)) = text.split_once("://") {
                let expected = fast_origin(raw)
                    .is_some_and(|origin| raw.get(origin.scheme.len() + 3..) == Some(own.as_bytes()));
                prop_assert_eq!(super::super::parse::is_fast_origin_with(raw, own.as_bytes()), expected);
            }
            let via_str = parse_authority(&host).ok().map(|a| (a.host, a.port));
            let via_bytes = super::super::parse::parse_authority_bytes(host_bytes).map(|a| (a.host, a.port));
            prop_assert_eq!(via_bytes, via_str);
            if super::super::policy::is_plainly_normal(raw) {
                if let Ok(origin) = parse_origin(raw) {
                    prop_assert!(origin.is_normal(), "{text}");
                }
            }
        }

        /// Normalising twice changes nothing, and a normal form parses to the same origin.
        #[test]
        fn normalisation_is_idempotent(text in origin_like()) {
            if let Ok(origin) = parse_origin(text.as_bytes()) {
                let once = origin.normalized(&text).into_owned();
                let again = parse_origin(once.as_bytes()).unwrap();
                prop_assert_eq!(again.normalized(&once), once.as_str());
                prop_assert_eq!(again.effective_port(), origin.effective_port());
            }
        }
    }
}

#[test]
fn many_trusted_origins_are_all_found() {
    let origins: Vec<String> = (0..1000)
        .map(|i| format!("https://app{i}.example.com"))
        .collect();
    let guard = OriginGuardLayer::builder()
        .trust_origins(origins.iter().cloned())
        .build()
        .unwrap();
    let check = |origin: &str| {
        let request = Request::post("/")
            .header("sec-fetch-site", "cross-site")
            .header("origin", origin)
            .body(())
            .unwrap();
        guard.check_request(&request).is_ok()
    };
    assert!(origins.iter().all(|o| check(o)));
    assert!(!check("https://app1000.example.com"));
    assert!(!check("https://app1.example.co"));
    assert!(!check("http://app1.example.com"));
}

/// The byte-level `Host` parser agrees with `HeaderValue::to_str` followed by `parse_authority`.
#[test]
fn host_bytes_parse_like_to_str_then_parse_authority() {
    let cases: &[&[u8]] = &[
        b"example.com",
        b"Example.COM:8443",
        b"example.com:",
        b"example.com:65536",
        b"[::1]:8080",
        b"[::1",
        b"a b",
        b"a\tb",
        b"caf\xc3\xa9.example",
        b"\x80",
        b"",
        b":80",
        b"host:+80",
        b"user@host",
    ];
    for &case in cases {
        let expected = http::HeaderValue::from_bytes(case)
            .ok()
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .and_then(|text| {
                parse_authority(&text)
                    .ok()
                    .map(|a| (a.host.to_owned(), a.port))
            });
        let got = super::parse::parse_authority_bytes(case).map(|a| (a.host.to_owned(), a.port));
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(case));
    }
}

/// `Origin` equal to `scheme://` + the `Host` bytes takes a shortcut; it must agree with the
/// full comparison, which still decides every other spelling.
#[test]
fn origin_matching_host_bytes_and_other_spellings() {
    let guard = OriginGuardLayer::new();
    let decide = |host: &str, origin: &str| {
        let (parts, ()) = Request::post("/x")
            .header("host", host)
            .header("origin", origin)
            .body(())
            .unwrap()
            .into_parts();
        guard.check(&parts).map_err(|r| r.kind())
    };
    let ok = Ok(Allowed::MatchesTarget);
    let cross = Err(RejectionKind::CrossOrigin);
    assert_eq!(decide("example.com", "https://example.com"), ok);
    assert_eq!(decide("example.com:8443", "https://example.com:8443"), ok);
    assert_eq!(decide("example.com:80", "http://example.com:80"), ok);
    assert_eq!(decide("[::1]:8080", "http://[::1]:8080"), ok);
    assert_eq!(decide("Example.COM", "https://example.com"), ok);
    assert_eq!(decide("example.com:443", "https://example.com"), ok);
    assert_eq!(decide("example.com", "https://example.com:443"), ok);
    assert_eq!(decide("example.com:8443", "https://example.com"), cross);
    assert_eq!(decide("example.com", "https://example.com."), cross);
    assert_eq!(decide("example.com.", "https://example.com"), cross);
    assert_eq!(
        decide("example.com", "https://evil@example.com"),
        Err(RejectionKind::MalformedOrigin)
    );
}

/// Trusted set and predicate together, for normal and other spellings, with and without
/// `Sec-Fetch-Site` (the exact-bytes lookup must not skip the predicate or the normal form).
#[test]
fn trusted_set_and_predicate_together() {
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = asked.clone();
    let guard = OriginGuardLayer::builder()
        .trust_origin("https://a.example")
        .trust_origins_where(move |origin| {
            log.lock().unwrap().push(origin.to_owned());
            origin == "https://b.example"
        })
        .build()
        .unwrap();
    let decide = |site: Option<&str>, origin: &str| {
        let (parts, _) = post(site, Some(origin)).into_parts();
        guard.check(&parts).map_err(|r| r.kind())
    };
    let trusted = Ok(Allowed::TrustedOrigin);
    for site in [Some("cross-site"), None] {
        assert_eq!(decide(site, "https://a.example"), trusted);
        assert_eq!(decide(site, "HTTPS://A.example:443"), trusted);
        assert_eq!(decide(site, "https://b.example"), trusted);
        assert_eq!(decide(site, "https://B.example"), trusted);
        assert!(decide(site, "https://c.example").is_err());
    }
    assert_eq!(
        *asked.lock().unwrap(),
        [
            "https://b.example",
            "https://b.example",
            "https://c.example",
            "https://b.example",
            "https://b.example",
            "https://c.example"
        ]
    );
}

/// The no-parse same-origin check agrees with the fast parser on the same bytes.
#[test]
fn fast_origin_with_agrees_with_fast_origin() {
    let raws: &[&[u8]] = &[
        b"https://example.com",
        b"https://example.com:8443",
        b"web+app://example.com",
        b"1https://example.com",
        b"://example.com",
        b"https:/example.com",
        b"https://",
        b"https://example.com:",
        b"https://example.com:99999",
        b"https://[::1]:8080",
        b"https://evil@example.com",
        b"ht tp://example.com",
        b"null",
        b"",
    ];
    let hosts: &[&[u8]] = &[
        b"example.com",
        b"example.com:8443",
        b"example.com:",
        b"example.com:99999",
        b"[::1]:8080",
        b"evil@example.com",
        b"",
    ];
    for &raw in raws {
        for &host in hosts {
            let expected = fast_origin(raw)
                .is_some_and(|origin| raw.get(origin.scheme.len() + 3..) == Some(host));
            assert_eq!(
                super::parse::is_fast_origin_with(raw, host),
                expected,
                "{:?} / {:?}",
                String::from_utf8_lossy(raw),
                String::from_utf8_lossy(host)
            );
        }
    }
}
