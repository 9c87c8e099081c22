use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::{HeaderMap, HeaderValue, Request};

use super::headers::{add_forwarded, remove_hop_by_hop};
use super::target::{has_dot_segment, Target};
use crate::error::ProblemKind;

fn parts(uri: &str) -> http::request::Parts {
    Request::get(uri).body(()).unwrap().into_parts().0
}

fn map(url: &str, strip: Option<&str>, uri: &str) -> Result<String, &'static str> {
    let target = Target::parse(url, strip).unwrap();
    target.uri_for(&parts(uri)).map(|u| u.to_string())
}

#[test]
fn mapping_table() {
    let cases: &[(&str, Option<&str>, &str, &str)] = &[
        ("http://h:1", None, "/a/b?x=1", "http://h:1/a/b?x=1"),
        ("http://h:1/", None, "/a", "http://h:1/a"),
        ("http://h:1", None, "/", "http://h:1/"),
        ("http://h:1/base", None, "/a", "http://h:1/base/a"),
        ("http://h:1/base/", None, "/a", "http://h:1/base/a"),
        ("http://h:1/base", None, "/", "http://h:1/base/"),
        (
            "http://h:1/base",
            Some("/api"),
            "/api/a?q",
            "http://h:1/base/a?q",
        ),
        ("http://h:1/base", Some("/api"), "/api", "http://h:1/base"),
        ("http://h:1/base", Some("/api"), "/api/", "http://h:1/base/"),
        ("http://h:1", Some("/api"), "/api", "http://h:1/"),
        ("http://h:1", Some("/api"), "/api/v/w", "http://h:1/v/w"),
        // Not under the prefix (a segment boundary counts): the path is kept.
        (
            "http://h:1/base",
            Some("/api"),
            "/apix/a",
            "http://h:1/base/apix/a",
        ),
        (
            "http://h:1/base",
            Some("/api"),
            "/other",
            "http://h:1/base/other",
        ),
        // Without a Router in front, placeholders are empty.
        (
            "http://h:1/v2/{proxy}",
            None,
            "/api/a/b?x=1",
            "http://h:1/v2/?x=1",
        ),
        ("http://h:1/v2/{a}/{b}/c", None, "/x", "http://h:1/v2/c"),
        // Bytes are kept as they are.
        ("http://h:1/b", None, "/a%2Fb//c", "http://h:1/b/a%2Fb//c"),
    ];
    for (url, strip, uri, want) in cases {
        assert_eq!(
            map(url, *strip, uri).as_deref(),
            Ok(*want),
            "{url} {strip:?} {uri}"
        );
    }
}

#[test]
fn dot_segments_are_refused() {
    for uri in [
        "/a/../b",
        "/..",
        "/a/.",
        "/%2e%2E/x",
        "/.%2e",
        "/api/../../etc",
    ] {
        assert!(map("http://h:1/base", Some("/api"), uri).is_err(), "{uri}");
    }
    for uri in ["/a/...", "/a/.b", "/a/b.", "/%2ex"] {
        assert!(map("http://h:1/base", None, uri).is_ok(), "{uri}");
    }
    assert!(has_dot_segment(".."));
    assert!(!has_dot_segment(""));
}

#[test]
fn authority_and_host() {
    let target = Target::parse("http://Example.com:8080/x", None).unwrap();
    assert_eq!(target.authority().as_str(), "Example.com:8080");
    assert_eq!(target.host(), "Example.com:8080");
    assert_eq!(target.url(), "http://Example.com:8080/x");
}

#[cfg(feature = "router")]
#[tokio::test]
async fn placeholders_come_from_router_params() {
    use std::sync::{Arc, Mutex};
    use tower::{service_fn, ServiceExt};

    let seen = Arc::new(Mutex::new(Vec::new()));
    let target = Arc::new(Target::parse("http://h:1/v2/{proxy}", None).unwrap());
    let items = Arc::new(Target::parse("http://h:1/items/{id}/detail", None).unwrap());
    let record = |target: Arc<Target>| {
        let seen = Arc::clone(&seen);
        service_fn(move |req: Request<String>| {
            let (parts, _) = req.into_parts();
            seen.lock()
                .unwrap()
                .push(target.uri_for(&parts).map(|u| u.to_string()));
            async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }
        })
    };
    let router = crate::router::Router::builder()
        .route("ANY /api/{proxy+}", record(target))
        .route("GET /i/{id}", record(items))
        .build()
        .unwrap();
    for uri in ["/api/a/b?x=1", "/api/one", "/i/7?q=2", "/api/a/../../x"] {
        let request = Request::get(uri).body(String::new()).unwrap();
        router.clone().oneshot(request).await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            Ok("http://h:1/v2/a/b?x=1".to_owned()),
            Ok("http://h:1/v2/one".to_owned()),
            Ok("http://h:1/items/7/detail?q=2".to_owned()),
            Err("request path has a dot segment"),
        ]
    );
}

#[test]
fn config_errors_are_all_reported() {
    let cases: &[(&str, Option<&str>, &[ProblemKind])] = &[
        ("h:1", None, &[ProblemKind::Syntax]),
        ("https://h", None, &[ProblemKind::Invalid]),
        ("ftp://h", None, &[ProblemKind::Invalid]),
        ("http://u:p@h", None, &[ProblemKind::Unsafe]),
        ("http://h/#f", None, &[ProblemKind::Invalid]),
        ("http://h/?q=1", None, &[ProblemKind::Invalid]),
        ("http://", None, &[ProblemKind::Invalid]),
        ("http://h:x", None, &[ProblemKind::Syntax]),
        ("http://h/{", None, &[ProblemKind::Syntax]),
        ("http://h/}", None, &[ProblemKind::Syntax]),
        ("http://h/{}", None, &[ProblemKind::Syntax]),
        ("http://h/{a+}/x", None, &[ProblemKind::Invalid]),
        ("http://h/{a+}/{b}", None, &[ProblemKind::Invalid]),
        ("http://h/a b", None, &[ProblemKind::Syntax]),
        ("http://h/a/../b", None, &[ProblemKind::Invalid]),
        ("http://h", Some("api"), &[ProblemKind::Invalid]),
        ("http://h", Some("/"), &[ProblemKind::Invalid]),
        ("http://h", Some("/api/"), &[ProblemKind::Invalid]),
        ("http://h", Some("/{x}"), &[ProblemKind::Invalid]),
        ("http://h/{p}", Some("/api"), &[ProblemKind::Conflict]),
        (
            "https://u@h/?q#f",
            Some("x"),
            &[
                ProblemKind::Invalid,
                ProblemKind::Invalid,
                ProblemKind::Invalid,
                ProblemKind::Unsafe,
                ProblemKind::Invalid,
            ],
        ),
    ];
    for (url, strip, kinds) in cases {
        let error = Target::parse(url, *strip).unwrap_err();
        let got: Vec<ProblemKind> = error.problems().iter().map(|p| p.kind()).collect();
        assert_eq!(&got, kinds, "{url} {strip:?}: {error}");
        for problem in error.problems() {
            assert_eq!(problem.module(), "upstream");
            assert!(
                problem.value() == *url || Some(problem.value()) == *strip,
                "{problem:?}"
            );
        }
    }
    for ok in [
        "http://h",
        "HTTP://h:80/",
        "http://[::1]:8080/a/{p+}",
        "http://h/a-{id}.json",
    ] {
        assert!(Target::parse(ok, None).is_ok(), "{ok}");
    }
}

#[test]
fn hop_by_hop_headers_are_removed() {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("connection", "keep-alive, X-Secret , x-other"),
        ("connection", "close"),
        ("keep-alive", "timeout=5"),
        ("te", "trailers"),
        ("trailer", "x-t"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
        ("proxy-connection", "keep-alive"),
        ("proxy-authorization", "Basic x"),
        ("proxy-authenticate", "Basic"),
        ("proxy-whatever", "1"),
        ("x-secret", "s"),
        ("x-other", "o"),
        ("x-kept", "k"),
        ("content-length", "3"),
    ] {
        headers.append(name, HeaderValue::from_static(value));
    }
    remove_hop_by_hop(&mut headers);
    let left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
    assert_eq!(left, ["x-kept", "content-length"]);

    let mut plain = HeaderMap::new();
    plain.insert("x-a", HeaderValue::from_static("1"));
    remove_hop_by_hop(&mut plain);
    assert_eq!(plain.len(), 1);
}

#[test]
fn forwarded_headers() {
    let host = HeaderValue::from_static("api.example.com");
    let mut headers = HeaderMap::new();
    let v4 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));
    add_forwarded(&mut headers, Some(v4), "http", Some(&host));
    assert_eq!(
        headers["forwarded"],
        "for=203.0.113.7;proto=http;host=api.example.com"
    );
    assert_eq!(headers["x-forwarded-for"], "203.0.113.7");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], "api.example.com");

    // Appended to what came in; IPv6 quoted and bracketed; a host with a port quoted.
    let mut headers = HeaderMap::new();
    headers.append("forwarded", HeaderValue::from_static("for=192.0.2.1"));
    headers.append(
        "forwarded",
        HeaderValue::from_static("for=192.0.2.2;proto=https"),
    );
    headers.append(
        "x-forwarded-for",
        HeaderValue::from_static("192.0.2.1, 192.0.2.2"),
    );
    headers.insert("x-forwarded-proto", HeaderValue::from_static("spoofed"));
    headers.insert("x-forwarded-host", HeaderValue::from_static("spoofed"));
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let host = HeaderValue::from_static("h.example:8443");
    add_forwarded(&mut headers, Some(v6), "https", Some(&host));
    assert_eq!(
        headers["forwarded"],
        "for=192.0.2.1, for=192.0.2.2;proto=https, for=\"[2001:db8::1]\";proto=https;host=\"h.example:8443\""
    );
    assert_eq!(headers.get_all("forwarded").iter().count(), 1);
    assert_eq!(
        headers["x-forwarded-for"],
        "192.0.2.1, 192.0.2.2, 2001:db8::1"
    );
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-forwarded-host"], "h.example:8443");

    // Unknown client and host; a quote in the host is escaped.
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-host", HeaderValue::from_static("spoofed"));
    add_forwarded(&mut headers, None, "http", None);
    assert_eq!(headers["forwarded"], "proto=http");
    assert!(headers.get("x-forwarded-for").is_none());
    assert!(headers.get("x-forwarded-host").is_none());
    let odd = HeaderValue::from_static("a\"b\\c");
    add_forwarded(&mut headers, None, "http", Some(&odd));
    assert_eq!(
        headers["forwarded"],
        "proto=http, proto=http;host=\"a\\\"b\\\\c\""
    );
}

#[test]
fn upstream_types_are_send_sync() {
    use crate::test_helpers::assert_send_sync;
    assert_send_sync::<super::Upstream>();
    assert_send_sync::<super::ResponseBody>();
    assert_send_sync::<super::ResponseFuture>();
    assert_send_sync::<super::UpstreamClient>();
    assert_send_sync::<super::Failure>();
    fn unpin<T: Unpin>() {}
    unpin::<super::ResponseBody>();
}

#[test]
fn builder_reports_every_problem() {
    use std::time::Duration;
    let error = super::Upstream::builder("ftp://h")
        .timeout(Duration::ZERO)
        .connect_timeout(Duration::from_secs(1))
        .client(super::UpstreamClient::new())
        .strip_prefix("x")
        .build()
        .unwrap_err();
    let kinds: Vec<ProblemKind> = error.problems().iter().map(|p| p.kind()).collect();
    assert_eq!(
        kinds,
        [
            ProblemKind::Invalid,
            ProblemKind::Invalid,
            ProblemKind::OutOfRange,
            ProblemKind::Conflict
        ]
    );
    assert!(error.problems().iter().all(|p| p.module() == "upstream"));
    let error = super::Upstream::builder("http://h")
        .connect_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(error.problems()[0].kind(), ProblemKind::OutOfRange);
    assert!(super::Upstream::new("http://h:1/x").is_ok());
}

#[test]
fn failure_kinds() {
    use super::{Failure, FailureKind};
    use http::StatusCode;
    assert_eq!(FailureKind::Connect.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(FailureKind::Timeout.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(FailureKind::BadRequest.status(), StatusCode::BAD_REQUEST);
    assert_eq!(FailureKind::BadResponse.to_string(), "bad_response");
    let response = Failure::new(FailureKind::Other, "x").into_response();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.extensions().get::<Failure>().unwrap().reason(),
        "x"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::super::target::Target;

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_~-]{1,8}",
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("%2e".to_owned()),
            Just("%2E%2e".to_owned()),
            Just("a%20b".to_owned()),
            Just("...".to_owned()),
        ]
    }

    fn dotty(s: &str) -> bool {
        matches!(
            s.to_ascii_lowercase().as_str(),
            "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
        )
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(url in ".{0,40}", prefix in proptest::option::of(".{0,10}")) {
            if let Ok(target) = Target::parse(&url, prefix.as_deref()) {
                prop_assert_eq!(target.url(), url.as_str());
            }
        }

        #[test]
        fn joining_agrees_with_a_naive_model(
            base in prop_oneof![Just(""), Just("/"), Just("/b"), Just("/b/"), Just("/b/c")],
            strip in proptest::option::of(Just("/api")),
            under in any::<bool>(),
            segments in proptest::collection::vec(segment(), 0..5),
            query in proptest::option::of("[a-z=&]{0,6}"),
        ) {
            let target = Target::parse(&format!("http://h:1{base}"), strip).unwrap();
            let rest = segments.iter().map(|s| format!("/{s}")).collect::<String>();
            let path = match (strip, under) {
                (Some(p), true) => format!("{p}{rest}"),
                _ if rest.is_empty() => "/".to_owned(),
                _ => rest.clone(),
            };
            let uri = match &query {
                Some(q) => format!("{path}?{q}"),
                None => path.clone(),
            };
            let parts = http::Request::get(&uri).body(()).unwrap().into_parts().0;
            let got = target.uri_for(&parts);
            // The model: the part of the path the upstream gets, appended to the base.
            let tail = match (strip, under) {
                (Some(_), true) => rest.clone(),
                _ => path.clone(),
            };
            if segments.iter().any(|s| dotty(s)) {
                prop_assert!(got.is_err());
            } else {
                let base = base.trim_end_matches('/');
                let mut want = format!("{base}{tail}");
                if want.is_empty() {
                    want.push('/');
                }
                if let Some(q) = &query {
                    want = format!("{want}?{q}");
                }
                let got = got.unwrap();
                prop_assert_eq!(got.path_and_query().unwrap().as_str(), want.as_str());
                prop_assert!(!got.path().contains("//"));
            }
        }
    }
}
