use super::names::{Methods, RequestHeaders, MAX_ACRH_LEN};
use super::origins::{
    parse_config_origin, parse_request_origin, parse_request_origin_by_split, OriginSpec, Origins,
    PortRule,
};
use super::*;
use crate::test_helpers::{assert_send_sync, Echo};

fn origins(list: &[&str]) -> Origins {
    let mut o = Origins::default();
    for s in list {
        o.insert(&parse_config_origin(s).unwrap());
    }
    o
}

#[test]
fn request_origin_parsing() {
    assert_eq!(
        parse_request_origin("https://a.example:8443"),
        Some(("https", "a.example", Some(8443)))
    );
    assert_eq!(
        parse_request_origin("http://[::1]:3000"),
        Some(("http", "[::1]", Some(3000)))
    );
    assert_eq!(parse_request_origin("https://a.example:080"), None);
    assert_eq!(parse_request_origin("https://A.example"), None);
    assert_eq!(parse_request_origin("https://a/b.example"), None);
    assert_eq!(parse_request_origin("https://.example"), None);
    assert_eq!(parse_request_origin("null"), None);
}

#[test]
fn config_origin_kinds() {
    assert_eq!(parse_config_origin("*"), Ok(OriginSpec::Any));
    assert_eq!(
        parse_config_origin("https://a.example"),
        Ok(OriginSpec::Exact("https://a.example".into()))
    );
    assert_eq!(
        parse_config_origin("http://localhost:*"),
        Ok(OriginSpec::Pattern {
            scheme: "http".into(),
            host: "localhost".into(),
            port: PortRule::Any,
            subdomains: false
        })
    );
    for bad in [
        "null",
        "https://a.example/",
        "https://a.example:443",
        "HTTPS://a.example",
        "https://A.example",
        "https://*.com",
        "https://a.*.example",
        "https://u@a.example",
        "file:///etc",
        "https://bücher.example",
        "a.example",
        "https://*.127.0.0.1",
    ] {
        assert!(parse_config_origin(bad).is_err(), "{bad}");
    }
}

#[test]
fn subdomain_patterns_never_match_the_apex() {
    let o = origins(&["https://*.example.com", "http://localhost:*"]);
    assert!(o.contains("https://a.example.com"));
    assert!(o.contains("https://a.b.example.com"));
    assert!(!o.contains("https://example.com"));
    assert!(!o.contains("https://.example.com"));
    assert!(!o.contains("http://a.example.com"));
    assert!(!o.contains("https://a.example.com:8443"));
    assert!(!o.contains("https://evilexample.com"));
    assert!(o.contains("http://localhost:5173"));
    assert!(o.contains("http://localhost"));
    assert!(!o.contains("https://localhost:5173"));
}

#[test]
fn methods_are_case_sensitive_except_fetch_normalised_names() {
    let mut m = Methods::default();
    m.add("PATCH", String::new()).unwrap();
    m.add("delete", String::new()).unwrap();
    assert_eq!(m.check(b"PATCH"), Ok(true));
    assert_eq!(m.check(b"patch"), Err(()));
    assert_eq!(m.check(b"DELETE"), Ok(true));
    assert_eq!(m.check(b"GET"), Ok(false));
    assert!(m.add("TRACE", String::new()).is_err());
    m.add("*", String::new()).unwrap();
    assert_eq!(m.check(b"connect"), Err(()));
    assert_eq!(m.check(b"PUT X"), Err(()));
}

#[test]
fn request_headers_budget() {
    let mut h = RequestHeaders::default();
    h.add("x-a", String::new()).unwrap();
    h.add("X-B", String::new()).unwrap();
    assert_eq!(h.check(b"x-b, X-A"), Ok(true));
    assert_eq!(h.check(b" x-a ,\tx-b\t"), Ok(true));
    assert_eq!(h.check(b""), Ok(false));
    assert_eq!(h.check(b"x-c"), Err(()));
    assert_eq!(h.check(b"x-a,,,,"), Ok(true));
    assert_eq!(h.check(&[b','; 17]), Err(()));
    assert_eq!(h.check(&vec![b'a'; MAX_ACRH_LEN + 1]), Err(()));
    assert!(h.add("cookie", String::new()).is_err());
    assert!(h.add("sec-fetch-mode", String::new()).is_err());
    let mut any = RequestHeaders::default();
    any.add("*", String::new()).unwrap();
    assert_eq!(any.check(b"x-anything"), Ok(true));
    assert_eq!(any.check(b"x-a,Authorization"), Err(()));
}

#[test]
fn auto_traits() {
    assert_send_sync::<CorsLayer>();
    assert_send_sync::<CorsHandle>();
    assert_send_sync::<Cors<Echo>>();
    assert_send_sync::<ResponseFuture<std::future::Ready<()>, String>>();
}

proptest::proptest! {
    /// The `Access-Control-Request-Headers` check (listed names first) accepts and refuses exactly what
    /// "split on commas, trim, require an allowed token" does.
    #[test]
    fn acrh_check_agrees_with_split(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "content-type", "X-Request-Id", "x-request-id", "authorization", "x-other",
                ",", ",", " ", "\t", "a b", "é", "(", "", ",,,,,,,,,", "x-request-id ,",
            ]),
            0..24,
        ),
        any_header in proptest::bool::ANY,
    ) {
        let mut allowed = RequestHeaders::default();
        for name in ["content-type", "x-request-id", "authorization"] {
            allowed.add(name, String::new()).unwrap();
        }
        allowed.any = any_header;
        let value = parts.concat();
        proptest::prop_assert_eq!(
            allowed.check(value.as_bytes()),
            allowed.check_by_split(value.as_bytes()),
            "{:?}", value
        );
    }

    #[test]
    fn acrh_check_agrees_with_split_on_any_bytes(
        value in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'-', b',', b' ', b'\t', b'X', 0xc3, b'(', b'\n']),
            0..40,
        ),
    ) {
        let mut allowed = RequestHeaders::default();
        for name in ["a", "a-a", "x", "aa"] {
            allowed.add(name, String::new()).unwrap();
        }
        proptest::prop_assert_eq!(allowed.check(&value), allowed.check_by_split(&value));
    }
}

proptest::proptest! {
    /// The one-pass `Origin` parse agrees with split-then-validate on generated origins.
    #[test]
    fn origin_one_pass_agrees_with_split(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "https", "http", "://", ":", "//", "a", "example", ".", "..", "-", "com", "Z",
                "[", "]", "::1", "8080", "0", "65536", "443", "*", "/", " ", "é", "",
            ]),
            0..12,
        ),
    ) {
        let origin = parts.concat();
        proptest::prop_assert_eq!(
            parse_request_origin(&origin),
            parse_request_origin_by_split(&origin),
            "{:?}", origin
        );
    }

    #[test]
    fn origin_one_pass_agrees_with_split_on_shaped_origins(
        scheme in "[a-z]{0,5}",
        host in "[a-z0-9.:-]{0,12}",
        port in proptest::option::of("[0-9:]{0,6}"),
    ) {
        let origin = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        proptest::prop_assert_eq!(
            parse_request_origin(&origin),
            parse_request_origin_by_split(&origin),
            "{:?}", origin
        );
    }
}

proptest::proptest! {
    /// Checking an `Origin` value's bytes gives the answer `to_str` then `contains` gave:
    /// whatever it allows is visible ASCII, and it agrees with the text check on text.
    #[test]
    fn origin_bytes_check_agrees_with_text_check(
        parts in proptest::collection::vec(
            proptest::sample::select(vec![
                &b"https://"[..], b"http://", b"app", b"api", b".example.com", b".", b":8080",
                b":", b"\t", b"\x01", b"\x7f", "\u{e9}".as_bytes(), b"\xff", b"A", b"[::1]",
                b"localhost", b":3000",
            ]),
            0..7,
        ),
    ) {
        let o = origins(&[
            "https://app.example.com",
            "https://*.example.com",
            "http://localhost:*",
            "http://[::1]:3000",
        ]);
        let value = parts.concat();
        let by_bytes = o.contains_bytes(&value);
        let by_text = http::HeaderValue::from_bytes(&value)
            .ok()
            .and_then(|v| v.to_str().ok().map(|t| o.contains(t)))
            .unwrap_or(false);
        proptest::prop_assert_eq!(by_bytes, by_text, "{:?}", String::from_utf8_lossy(&value));
    }
}

proptest::proptest! {
    /// One walk over an OPTIONS request's headers finds what three `single` lookups find,
    /// duplicates included.
    #[test]
    fn preflight_walk_agrees_with_lookups(
        headers in proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    "origin", "access-control-request-method", "access-control-request-headers",
                    "host", "accept", "x-origin", "sec-fetch-mode",
                ]),
                proptest::sample::select(vec!["a", "b", "PUT", "https://a.example"]),
            ),
            0..12,
        ),
    ) {
        use http::header::{
            ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
        };
        use super::policy::{preflight_singles, single};
        let mut map = http::HeaderMap::new();
        for (name, value) in &headers {
            map.append(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            );
        }
        let [o, m, h] = preflight_singles(&map);
        proptest::prop_assert_eq!(o, single(&map, &ORIGIN));
        proptest::prop_assert_eq!(m, single(&map, &ACCESS_CONTROL_REQUEST_METHOD));
        proptest::prop_assert_eq!(h, single(&map, &ACCESS_CONTROL_REQUEST_HEADERS));
    }
}

proptest::proptest! {
    /// The service answers an accepted preflight with the values [`CorsLayer::check`] decides,
    /// moved out of the request: the right value in each slot of the template, for every
    /// combination of echoed or `*` origin, named or safelisted method, and echoed, empty or
    /// absent request headers (on one line or split over several), with the other request
    /// headers in any order; the answer names every requested header.
    #[test]
    fn accepted_preflight_answer_agrees_with_check(
        public in proptest::bool::ANY,
        credentials in proptest::bool::ANY,
        max_age in proptest::bool::ANY,
        method in proptest::sample::select(vec!["PUT", "GET", "POST"]),
        acrh in proptest::collection::vec(proptest::sample::select(vec![
            "content-type", "x-a, content-type", "", " , ",
        ]), 0..4),
        others in proptest::collection::vec(
            proptest::sample::select(vec!["host", "accept", "x-origin", "cookie"]),
            0..4,
        ),
        origin_first in proptest::bool::ANY,
    ) {
        use http::header::{
            ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
            ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
            VARY,
        };
        use http::{Method, Request};
        use tower_layer::Layer as _;
        use tower_service::Service as _;
        let credentials = credentials && !public;
        let mut config = CorsConfig::new()
            .allow_origin(if public { "*" } else { "https://a.example" })
            .allow_methods(["PUT"])
            .allow_headers(["content-type", "x-a"])
            .allow_credentials(credentials);
        if max_age {
            config = config.max_age(600);
        }
        let layer = config.build().unwrap();
        let mut request = Request::builder().method(Method::OPTIONS).uri("/x");
        let mut names: Vec<&str> = others.clone();
        let at = if origin_first { 0 } else { names.len() };
        names.insert(at, "origin");
        names.push("access-control-request-method");
        names.extend(acrh.iter().map(|_| "access-control-request-headers"));
        let mut lines = acrh.iter();
        for name in names {
            let value = match name {
                "origin" => "https://a.example",
                "access-control-request-method" => method,
                "access-control-request-headers" => lines.next().copied().unwrap_or_default(),
                _ => "v",
            };
            request = request.header(name, value);
        }
        let request = request.body(()).unwrap();
        let (parts, ()) = request.into_parts();
        let Decision::PreflightAccepted(p) = layer.check(&parts) else {
            return Err(proptest::test_runner::TestCaseError::fail("not accepted"));
        };
        let mut service = layer.layer(Echo::new());
        let response = crate::test_helpers::now(service.call(Request::from_parts(parts, ())))
            .unwrap();
        let h = response.headers();
        proptest::prop_assert_eq!(response.status(), http::StatusCode::NO_CONTENT);
        proptest::prop_assert_eq!(h.get(ACCESS_CONTROL_ALLOW_ORIGIN), Some(p.allow_origin()));
        proptest::prop_assert_eq!(h.get(ACCESS_CONTROL_ALLOW_METHODS), p.allow_method());
        proptest::prop_assert_eq!(h.get(ACCESS_CONTROL_ALLOW_HEADERS), p.allow_headers());
        let split = |list: &str| -> Vec<String> {
            list.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect()
        };
        let requested: Vec<String> = acrh.iter().flat_map(|line| split(line)).collect();
        let named = p.allow_headers().map(|v| split(v.to_str().unwrap())).unwrap_or_default();
        proptest::prop_assert!(requested.iter().all(|n| named.contains(n)), "{named:?}");
        proptest::prop_assert_eq!(
            h.get(ACCESS_CONTROL_ALLOW_CREDENTIALS).map(|v| v.as_bytes()),
            credentials.then_some(&b"true"[..])
        );
        proptest::prop_assert_eq!(
            h.get(ACCESS_CONTROL_MAX_AGE).map(|v| v.as_bytes()),
            max_age.then_some(&b"600"[..])
        );
        proptest::prop_assert!(h.get(VARY).is_some());
        proptest::prop_assert_eq!(h.len(), 2 + usize::from(p.allow_method().is_some())
            + usize::from(p.allow_headers().is_some()) + usize::from(credentials)
            + usize::from(max_age));
    }
}
