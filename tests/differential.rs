//! Differential tests: our layers against established crates on the subset of inputs where
//! both are specified to agree.
//!
//! - `Router` against `matchit` 0.9 (path matching and params) and against `axum` 0.8's
//!   `Router` (the method dimension: 405 vs 404, `Allow`, `HEAD` via `GET`);
//! - `OriginGuard` against `tower_http::csrf` 0.7;
//! - `CorsLayer` against `tower_http::cors` 0.7 (which origins are allowed, `Vary`).
//!
//! Where the other crate is documented to differ (see the "Where we differ" sections of the
//! module docs), the generators stay out of that subset or the comparison skips it.

#![cfg(all(feature = "router", feature = "cors", feature = "origin"))]

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;

use http::{Method, Request, Response};
use proptest::prelude::*;
use tower::service_fn;
use tower_gateway::router::{Decision, Router};

type R = Router<String, String, Infallible>;

/// A target answering `body` to every request.
fn reply_service(
    body: &'static str,
) -> impl tower::Service<
    Request<String>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<String>, Infallible>> + Send,
> + Clone
       + Send
       + Sync {
    service_fn(move |_: Request<String>| async move {
        Ok::<_, Infallible>(Response::new(body.to_owned()))
    })
}

fn build(keys: &[String]) -> Result<R, tower_gateway::ConfigError> {
    keys.iter()
        .fold(Router::builder(), |b, k| {
            b.route(k.as_str(), reply_service(""))
        })
        .build()
}

// ---------- Router vs matchit: generators ----------

/// One template segment of the common subset: a static, a whole-segment `{param}`, or (last
/// only) a catch-all.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TSeg {
    Static(&'static str),
    /// The flag picks the name (`p<i>` or `q<i>`), so that same-shape params with different
    /// names are generated too.
    Param(bool),
    CatchAll,
}

fn tseg(last: bool) -> BoxedStrategy<TSeg> {
    let mut options = vec![
        Just(TSeg::Static("a")).boxed(),
        Just(TSeg::Static("b")).boxed(),
        Just(TSeg::Static("ab")).boxed(),
        Just(TSeg::Static("abc")).boxed(),
        Just(TSeg::Static("users")).boxed(),
        Just(TSeg::Static("user")).boxed(),
        Just(TSeg::Static("abcdefghijklmnopqrstu")).boxed(),
        Just(TSeg::Static("abcdefghijklmnop")).boxed(),
        Just(TSeg::Static("é")).boxed(),
        Just(TSeg::Static("u.json")).boxed(),
        Just(TSeg::Static("")).boxed(),
        Just(TSeg::Param(false)).boxed(),
        Just(TSeg::Param(false)).boxed(),
        Just(TSeg::Param(true)).boxed(),
    ];
    if last {
        options.push(Just(TSeg::CatchAll).boxed());
        options.push(Just(TSeg::Static("")).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

fn tsegs() -> impl Strategy<Value = Vec<TSeg>> {
    (1usize..5).prop_flat_map(|n| (0..n).map(|i| tseg(i + 1 == n)).collect::<Vec<_>>())
}

/// Writes a template; params are named `p0`/`q0`, `p1`/`q1`, ... by position, the catch-all
/// `rest`.
fn write(segs: &[TSeg]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        out.push('/');
        match s {
            TSeg::Static(t) => out.push_str(t),
            TSeg::Param(q) => out.push_str(&format!("{{{}{i}}}", if *q { 'q' } else { 'p' })),
            TSeg::CatchAll => out.push_str("{*rest}"),
        }
    }
    out
}

/// A value substituted for a param (or a catch-all's segment) in a generated path.
fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "ab",
        "abc",
        "users",
        "x",
        "7",
        "%2F",
        "a%2Fb",
        "%41",
        "..",
        ".",
        "a.b",
        "",
        "A",
        "%FF",
        "a%20b",
        "-",
        "~u",
        "abcdefghijklmnopqrstu",
        "abcdefghijXlmnopqrstu",
        "abcdefghijklmnopqrstuv",
        "abcdefghijklmnop",
        "abcdefghijklmnoq",
        "é",
        "%C3%A9",
        "u.json",
        "u",
        "us",
        "usersx",
        // Longer than the params' inline buffer together.
        "a0123456789012345678901234567890123456789012345678901234567890123456789",
    ])
}

/// A path drawn from a template's shape: each segment kept or substituted, then segments
/// added or removed and slashes doubled or dropped.
fn path_from(segs: Vec<TSeg>) -> impl Strategy<Value = String> {
    let n = segs.len();
    (
        prop::collection::vec((any::<bool>(), value()), n),
        prop::collection::vec(value(), 0..3),
        0usize..8,
        0usize..6,
    )
        .prop_map(move |(subs, extra, cut, tweak)| {
            let mut parts: Vec<String> = segs
                .iter()
                .zip(&subs)
                .map(|(s, (keep, v))| match s {
                    TSeg::Static(t) if *keep => (*t).to_owned(),
                    _ => (*v).to_owned(),
                })
                .collect();
            // Catch-alls (and sometimes anything) get more segments.
            if matches!(segs.last(), Some(TSeg::CatchAll)) || cut == 7 {
                parts.extend(extra.iter().map(|s| (*s).to_owned()));
            }
            // Sometimes drop the last segment.
            if cut == 0 && !parts.is_empty() {
                parts.pop();
            }
            let mut path = format!("/{}", parts.join("/"));
            match tweak {
                0 => path.push('/'),
                1 if path.len() > 1 && path.ends_with('/') => {
                    path.pop();
                }
                2 => path = path.replacen('/', "//", 1),
                _ => {}
            }
            path
        })
}

/// A table of distinct templates and paths drawn from their shapes (and a few random ones).
fn table_and_paths() -> impl Strategy<Value = (Vec<Vec<TSeg>>, Vec<String>)> {
    prop::collection::btree_set(tsegs(), 1..8).prop_flat_map(|set: BTreeSet<Vec<TSeg>>| {
        let table: Vec<Vec<TSeg>> = set.into_iter().collect();
        let per_template: Vec<_> = table
            .iter()
            .map(|t| prop::collection::vec(path_from(t.clone()), 1..6))
            .collect();
        (Just(table), per_template).prop_map(|(table, paths)| {
            let paths = paths.into_iter().flatten().collect();
            (table, paths)
        })
    })
}

/// What one router says about a path: the template that matched and its `(name, value)`
/// params in template order, or `None`.
type Answer = Option<(String, Vec<(String, String)>)>;

fn ours(router: &R, path: &str) -> Answer {
    match router.at(&Method::GET, path) {
        Decision::Route(m) => Some((
            m.route().template().to_owned(),
            m.params()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )),
        _ => None,
    }
}

fn theirs(router: &matchit::Router<String>, path: &str) -> Answer {
    router.at(path).ok().map(|m| {
        (
            m.value.clone(),
            m.params
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// On tables both accept, every path gets the same template and params from our Router
    /// and from matchit.
    #[test]
    fn router_agrees_with_matchit((table, paths) in table_and_paths()) {
        let templates: Vec<String> = table.iter().map(|t| write(t)).collect();
        let keys: Vec<String> = templates.iter().map(|t| format!("GET {t}")).collect();
        let mut them = matchit::Router::new();
        let mut refused_by_them = false;
        for t in &templates {
            if them.insert(t.as_str(), t.clone()).is_err() {
                refused_by_them = true;
            }
        }
        let us = build(&keys);
        if refused_by_them || us.is_err() {
            return Ok(());
        }
        let us = us.unwrap();
        for p in &paths {
            let a = ours(&us, p);
            let b = theirs(&them, p);
            prop_assert_eq!(&a, &b, "path {:?} over {:?}", p, templates);
        }
    }
}

// ---------- Router vs axum: the method dimension ----------

/// The methods a generated route may carry; `ANY` is `None`.
fn route_methods() -> impl Strategy<Value = Vec<Option<Method>>> {
    prop::sample::subsequence(
        vec![
            Some(Method::GET),
            Some(Method::HEAD),
            Some(Method::POST),
            Some(Method::PUT),
            Some(Method::DELETE),
            Some(Method::PATCH),
            Some(Method::OPTIONS),
            Some(Method::TRACE),
            None,
        ],
        0..5,
    )
}

fn request_method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::TRACE,
        Method::from_bytes(b"PURGE").unwrap(),
    ])
}

/// Three templates that never overlap, so axum's "path first, then method" and our
/// "most specific among the routes that accept the method" must agree.
const METHOD_TEMPLATES: [&str; 3] = ["/a", "/a/{id}", "/b/{*rest}"];
const METHOD_PATHS: [&str; 7] = ["/a", "/a/7", "/a/", "/b/x/y", "/b", "/c", "/a/7/8"];

fn axum_router(table: &[Vec<Option<Method>>]) -> axum::Router {
    use axum::routing::{any, on, MethodFilter, MethodRouter};
    let mut app = axum::Router::new();
    for (template, methods) in METHOD_TEMPLATES.iter().zip(table) {
        if methods.is_empty() {
            continue;
        }
        let mut route: Option<MethodRouter> = None;
        for m in methods {
            let handler = || async { "hello" };
            route = Some(match (route, m) {
                (None, None) => any(handler),
                (Some(r), None) => r.fallback(handler),
                (r, Some(m)) => {
                    let filter = MethodFilter::try_from(m.clone()).unwrap();
                    match r {
                        None => on(filter, handler),
                        Some(r) => r.on(filter, handler),
                    }
                }
            });
        }
        app = app.route(template, route.unwrap());
    }
    app.fallback(|| async { (http::StatusCode::IM_A_TEAPOT, "fallback") })
}

fn our_router(table: &[Vec<Option<Method>>]) -> R {
    let mut keys = Vec::new();
    for (template, methods) in METHOD_TEMPLATES.iter().zip(table) {
        for m in methods {
            let m = m.as_ref().map_or("ANY", Method::as_str);
            keys.push(format!("{m} {template}"));
        }
    }
    let teapot = service_fn(|_: Request<String>| async {
        let mut response = Response::new("fallback".to_owned());
        *response.status_mut() = http::StatusCode::IM_A_TEAPOT;
        Ok::<_, Infallible>(response)
    });
    keys.iter()
        .fold(Router::builder(), |b, k| {
            b.route(k.as_str(), reply_service("hello"))
        })
        .fallback(teapot)
        .build()
        .expect("distinct keys build")
}

/// The methods of an `Allow` header, as a set (axum joins with `,`, we with `, `).
fn allow_set(response: &http::response::Parts) -> Option<BTreeSet<String>> {
    response.headers.get(http::header::ALLOW).map(|v| {
        v.to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Status (route, `405`, or the fallback), `Allow`, and `HEAD` via `GET` (no body, the
    /// `GET`'s `content-length`) agree with axum's Router for every method on non-overlapping
    /// routes; `Router::at` agrees with a full call through our Router.
    #[test]
    fn router_methods_agree_with_axum(
        table in prop::collection::vec(route_methods(), METHOD_TEMPLATES.len()),
        requests in prop::collection::vec(
            (request_method(), prop::sample::select(METHOD_PATHS.to_vec())),
            1..8,
        ),
    ) {
        use tower::ServiceExt;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ours = our_router(&table);
        let theirs = axum_router(&table);
        for (m, p) in &requests {
            let (a, b) = rt.block_on(async {
                let req = || Request::builder().method(m.clone()).uri(*p);
                let a = ours.clone().oneshot(req().body(String::new()).unwrap()).await.unwrap();
                let b = theirs
                    .clone()
                    .oneshot(req().body(axum::body::Body::empty()).unwrap())
                    .await
                    .unwrap();
                let (a, body_a) = a.into_parts();
                let (b, body_b) = b.into_parts();
                let body_a = http_body_util::BodyExt::collect(body_a).await.unwrap().to_bytes();
                let body_b = http_body_util::BodyExt::collect(body_b).await.unwrap().to_bytes();
                ((a, body_a), (b, body_b))
            });
            let ((a, body_a), (b, body_b)) = (a, b);
            prop_assert_eq!(a.status, b.status, "{} {} over {:?}", m, p, table);
            // axum's `MethodRouter::fallback` (our `ANY` beside explicit methods) adds an
            // `Allow` to the responses it serves; only a 405's `Allow` is compared.
            if b.status == http::StatusCode::METHOD_NOT_ALLOWED {
                prop_assert_eq!(allow_set(&a), allow_set(&b), "{} {} over {:?}", m, p, table);
            }
            // `Router::at` decides what the call did.
            let decision = ours.at(m, p);
            // A `GET` route's answer to `GET` and to `HEAD`: the same `content-length`, and
            // no body for `HEAD` (axum strips every `HEAD` body; an explicit `HEAD` route of
            // ours answers as its target does).
            let via_get = decision.route().is_some_and(|r| r.is_head_via_get())
                || (*m == Method::GET && decision.route().is_some());
            if via_get {
                prop_assert_eq!(&body_a, &body_b, "{} {} over {:?}", m, p, table);
            }
            // axum also writes `content-length` on a `GET` (hyper does on the wire): only the
            // `HEAD`'s is compared.
            if via_get && *m == Method::HEAD {
                prop_assert_eq!(
                    a.headers.get(http::header::CONTENT_LENGTH),
                    b.headers.get(http::header::CONTENT_LENGTH),
                    "{} {} over {:?}", m, p, table
                );
            }
            let want = match &decision {
                Decision::Route(_) => http::StatusCode::OK,
                Decision::MethodNotAllowed(_) => http::StatusCode::METHOD_NOT_ALLOWED,
                Decision::NotFound => http::StatusCode::IM_A_TEAPOT,
                other => panic!("unexpected {other:?}"),
            };
            prop_assert_eq!(a.status, want, "{} {}", m, p);
            // `MatchedRoute` on the response exactly when a route served.
            let matched = a.extensions.get::<tower_gateway::router::MatchedRoute>();
            prop_assert_eq!(matched.map(|r| r.key()), decision.route_key(), "{} {}", m, p);
            if let Decision::MethodNotAllowed(allowed) = &decision {
                prop_assert_eq!(&a.headers[http::header::ALLOW], &allowed.header_value());
            }
        }
    }
}

// ---------- OriginGuard vs tower_http::csrf ----------

mod origin_pools {
    pub const METHODS: [&str; 11] = [
        "GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "TRACE", "get", "post", "CONNECT",
        "PURGE",
    ];
    pub const FETCH_SITE: [Option<&str>; 8] = [
        None,
        Some(""),
        Some("same-origin"),
        Some("none"),
        Some("same-site"),
        Some("cross-site"),
        Some("Same-Origin"),
        Some("bogus"),
    ];
    pub const ORIGINS: [&str; 23] = [
        "",
        "HTTPS://example.com",
        "Https://example.com:8443",
        "https://example.com:",
        "https://example.com ",
        "https://example.com:08443",
        "https://example.com",
        "http://example.com",
        "https://example.com:8443",
        "http://example.com:8443",
        "https://evil.com",
        "null",
        "https://trusted.com",
        "http://trusted.com",
        "https://evil@example.com",
        "https://example.com/",
        "example.com",
        "https://example.com.",
        "ws://example.com",
        "https://sub.example.com",
        "https://[::1]",
        "https://example.com:99999",
        "https://exa mple.com",
    ];
    pub const HOSTS: [Option<&str>; 6] = [
        None,
        Some("example.com"),
        Some("example.com:8443"),
        Some("evil.com"),
        Some("example.com."),
        Some("[::1]"),
    ];
    pub const URIS: [&str; 5] = [
        "/x",
        "https://example.com/x",
        "http://evil.com/x",
        "https://example.com:8443/x",
        "http://example.com/x",
    ];
    pub const TRUSTED: [&str; 3] = [
        "https://trusted.com",
        "https://example.com:8443",
        "http://example.com",
    ];
}

/// One generated request for the guards: method, `Sec-Fetch-Site`, `Origin` values, `Host`,
/// request target, and the trusted origins.
type GuardCase = (
    &'static str,
    Option<&'static str>,
    Vec<&'static str>,
    Option<&'static str>,
    &'static str,
    Vec<&'static str>,
);

fn guard_case() -> impl Strategy<Value = GuardCase> {
    use origin_pools::*;
    (
        prop::sample::select(METHODS.to_vec()),
        prop::sample::select(FETCH_SITE.to_vec()),
        prop::collection::vec(prop::sample::select(ORIGINS.to_vec()), 0..3),
        prop::sample::select(HOSTS.to_vec()),
        prop::sample::select(URIS.to_vec()),
        prop::sample::subsequence(TRUSTED.to_vec(), 0..3),
    )
}

/// Whether the case is outside the subset where both are specified to agree, because of a
/// documented, deliberate difference (src/origin/mod.rs and issue 5):
/// - two `Origin` headers: we refuse, tower-http (and Go) read the first;
/// - an `Origin` with a path (`https://example.com/`): malformed for us, its authority for
///   tower-http and Go;
/// - an upper-case scheme (`HTTPS://example.com`): case-folded by us (RFC 6454 normalises the
///   scheme), compared as bytes with the trusted origins by tower-http;
/// - a port with a leading zero (`:08443`): compared as a number by us, as bytes by them;
/// - an absolute-form target whose scheme differs from the `Origin`'s: we compare the scheme
///   when the request says it (RFC 6454: another scheme is another origin), tower-http and Go
///   compare only the authority.
fn deliberate_origin_difference(origins: &[&str], uri: &str) -> bool {
    let [origin] = origins else {
        return origins.len() > 1;
    };
    if origin.contains(":0") {
        // A port with a leading zero (no browser serializes one): we compare ports as
        // numbers, as the WHATWG URL parser reads them; tower-http and Go compare bytes.
        return true;
    }
    let scheme = |s: &str| s.split_once("://").map(|(scheme, _)| scheme.to_owned());
    let after_scheme = origin.split_once("://").map_or("", |(_, rest)| rest);
    after_scheme.contains('/')
        || scheme(origin).is_some_and(|s| s.bytes().any(|b| b.is_ascii_uppercase()))
        || (!uri.starts_with('/') && scheme(origin).is_some() && scheme(origin) != scheme(uri))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// OriginGuard and tower-http's csrf allow and refuse the same requests, outside the
    /// documented differences.
    #[test]
    fn origin_guard_agrees_with_tower_http_csrf(
        cases in prop::collection::vec(guard_case(), 1..16),
    ) {
        use tower::ServiceExt;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for (m, sfs, origins, host, uri, trusted) in cases {
            if deliberate_origin_difference(&origins, uri) {
                continue;
            }
            let mut b = Request::builder().method(m).uri(uri);
            if let Some(s) = sfs {
                b = b.header("sec-fetch-site", s);
            }
            for o in &origins {
                b = b.header("origin", *o);
            }
            if let Some(h) = host {
                b = b.header("host", h);
            }
            let req = b.body(String::new()).unwrap();
            let ours = tower_gateway::origin::OriginGuardLayer::builder()
                .trust_origins(trusted.iter().copied())
                .build()
                .unwrap();
            let our_ok = ours.check_request(&req).is_ok();
            let mut theirs = tower_http::csrf::CsrfLayer::new();
            for t in &trusted {
                theirs = theirs.add_trusted_origin(t).unwrap();
            }
            let svc = tower::Layer::layer(&theirs, reply_service(""));
            let their_ok = rt.block_on(svc.oneshot(req)).unwrap().status().is_success();
            prop_assert_eq!(
                our_ok,
                their_ok,
                "{} sfs={:?} origins={:?} host={:?} uri={} trusted={:?}",
                m, sfs, origins, host, uri, trusted
            );
        }
    }
}

// ---------- CorsLayer vs tower_http::cors ----------

mod cors_pools {
    /// Allowed-origin entries: exact origins and our two pattern shapes.
    pub const ALLOWED: [&str; 8] = [
        "http://[::1]:3000",
        "http://127.0.0.1:8080",
        "https://app.example.com",
        "http://localhost:3000",
        "https://example.org",
        "https://a.example.net:8443",
        "https://*.example.com",
        "http://localhost:*",
    ];
    pub const ORIGINS: [Option<&str>; 29] = [
        None,
        Some("http://[::1]:3000"),
        Some("http://[::1]"),
        Some("http://127.0.0.1:8080"),
        Some("http://127.0.0.1"),
        Some("http://localhost:65535"),
        Some("https://app.example.com"),
        Some("https://example.com"),
        Some("https://a.b.example.com"),
        Some("https://x.example.com:8443"),
        Some("http://app.example.com"),
        Some("https://app.example.com."),
        Some("https://APP.example.com"),
        Some("https://evil.com"),
        Some("https://app.example.com.evil.com"),
        Some("https://evilexample.com"),
        Some("http://localhost"),
        Some("http://localhost:3000"),
        Some("http://localhost:8080"),
        Some("https://localhost:3000"),
        Some("http://localhost.evil.com"),
        Some("null"),
        Some("https://example.org"),
        Some("https://example.org:443"),
        Some("https://a.example.net:8443"),
        Some("https://a.example.net"),
        Some("https://.example.com"),
        Some("https://a..example.com"),
        Some("https://-a.example.com"),
    ];
    pub const METHODS: [&str; 5] = ["PUT", "DELETE", "PATCH", "X-CUSTOM", "*"];
    pub const HEADERS: [&str; 4] = ["content-type", "x-custom", "authorization", "*"];
    pub const REQUEST_METHODS: [&str; 11] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "patch", "X-CUSTOM", "x-custom", "get", "HEAD",
        "OPTIONS",
    ];
    pub const REQUEST_HEADERS: [&str; 14] = [
        "content-type",
        "x-custom",
        "authorization",
        "X-Custom",
        "x-other",
        "content-type,x-custom",
        "x-custom, authorization",
        "x-custom,content-type",
        " x-custom ,\tcontent-type ",
        "X-CUSTOM,CONTENT-TYPE",
        "content-type,,x-custom",
        "x-custom,x-custom",
        "",
        "x-custom,x-other",
    ];
}

/// A CORS policy and one request: allowed origins (`None` = any), methods, headers,
/// credentials; the request's method (`OPTIONS` = preflight), `Origin`,
/// `Access-Control-Request-Method`, `-Headers`.
#[derive(Clone, Debug)]
struct CorsCase {
    origins: Option<Vec<&'static str>>,
    methods: Vec<&'static str>,
    headers: Vec<&'static str>,
    credentials: bool,
    preflight: bool,
    method: &'static str,
    origin: Option<&'static str>,
    request_headers: Option<&'static str>,
    expose: Vec<&'static str>,
    max_age: Option<u64>,
}

fn cors_case() -> impl Strategy<Value = CorsCase> {
    use cors_pools::*;
    (
        prop::option::weighted(0.8, prop::sample::subsequence(ALLOWED.to_vec(), 1..4)),
        prop::sample::subsequence(METHODS.to_vec(), 0..3),
        prop::sample::subsequence(HEADERS.to_vec(), 0..3),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(REQUEST_METHODS.to_vec()),
        prop::sample::select(ORIGINS.to_vec()),
        prop::option::of(prop::sample::select(REQUEST_HEADERS.to_vec())),
        (
            prop::sample::subsequence(vec!["x-total", "x-request-id", "*"], 0..3),
            prop::sample::select(vec![None, Some(0u64), Some(600)]),
        ),
    )
        .prop_map(
            |(
                origins,
                methods,
                mut headers,
                credentials,
                preflight,
                method,
                origin,
                rh,
                (mut expose, max_age),
            )| {
                // The same for exposed headers: tower-http's `any()` answers `*` alone, which
                // covers the listed names anyway.
                if expose.contains(&"*") {
                    expose.retain(|h| *h == "*");
                }
                // tower-http's `AllowHeaders::any()` answers `*` alone, so `*` with a listed
                // `authorization` cannot be written there: list it only without `*`.
                if headers.contains(&"*") {
                    headers.retain(|h| *h != "authorization");
                }
                CorsCase {
                    // tower-http panics on wildcards with credentials (we accept `*` methods and
                    // headers there, since we answer with the requested ones): stay out.
                    credentials: credentials
                        && origins.is_some()
                        && !methods.contains(&"*")
                        && !headers.contains(&"*")
                        && !expose.contains(&"*"),
                    origins,
                    methods,
                    headers,
                    preflight,
                    method,
                    origin,
                    request_headers: rh,
                    expose,
                    max_age,
                }
            },
        )
}

/// tower-http's origin predicate for one of our patterns, written from the documented
/// meaning: `https://*.example.com` is one or more non-empty labels before `.example.com`;
/// `http://localhost:*` is `http://localhost` with any port or none. Origins are compared
/// byte for byte with the serialized origin, which is lower-case: `https://APP.example.com`
/// is no browser's origin and no label of ours.
fn pattern_allows(pattern: &str, origin: &str) -> bool {
    if let Some(base) = pattern.strip_suffix(":*") {
        return origin == base
            || origin
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix(':'))
                .is_some_and(|port| {
                    !port.is_empty()
                        && port.bytes().all(|b| b.is_ascii_digit())
                        && port.parse::<u16>().is_ok()
                });
    }
    let (scheme, domain) = pattern.split_once("://*.").unwrap();
    let Some(host) = origin
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
    else {
        return false;
    };
    let Some(sub) = host.strip_suffix(domain).and_then(|s| s.strip_suffix('.')) else {
        return false;
    };
    !sub.is_empty()
        && sub
            .split('.')
            .all(|label| !label.is_empty() && !label.bytes().any(|b| b.is_ascii_uppercase()))
}

fn their_cors(case: &CorsCase) -> tower_http::cors::CorsLayer {
    use http::HeaderValue;
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
    let origin = match &case.origins {
        None => AllowOrigin::any(),
        Some(list) => {
            let list = list.clone();
            AllowOrigin::predicate(move |origin: &HeaderValue, _| {
                let Ok(origin) = origin.to_str() else {
                    return false;
                };
                list.iter().any(|entry| {
                    if entry.contains('*') {
                        pattern_allows(entry, origin)
                    } else {
                        *entry == origin
                    }
                })
            })
        }
    };
    let methods = if case.methods.contains(&"*") {
        AllowMethods::any()
    } else {
        AllowMethods::list(
            case.methods
                .iter()
                .map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
        )
    };
    let headers = if case.headers.contains(&"*") {
        AllowHeaders::any()
    } else {
        AllowHeaders::list(
            case.headers
                .iter()
                .map(|h| http::HeaderName::from_static(h)),
        )
    };
    let expose = if case.expose.contains(&"*") {
        tower_http::cors::ExposeHeaders::any()
    } else {
        tower_http::cors::ExposeHeaders::list(
            case.expose.iter().map(|h| http::HeaderName::from_static(h)),
        )
    };
    let layer = CorsLayer::new()
        .allow_origin(origin)
        .allow_methods(methods)
        .allow_headers(headers)
        .allow_credentials(case.credentials)
        .expose_headers(expose);
    match case.max_age {
        Some(secs) => layer.max_age(std::time::Duration::from_secs(secs)),
        None => layer,
    }
}

fn our_cors(case: &CorsCase) -> tower_gateway::cors::CorsLayer {
    let config = tower_gateway::cors::CorsConfig::new()
        .allow_methods(case.methods.iter().copied())
        .allow_headers(case.headers.iter().copied())
        .allow_credentials(case.credentials)
        .expose_headers(case.expose.iter().copied());
    let config = match case.max_age {
        Some(secs) => config.max_age(i64::try_from(secs).unwrap()),
        None => config,
    };
    let config = match &case.origins {
        None => config.allow_any_origin(),
        Some(list) => config.allow_origins(list.iter().copied()),
    };
    config.build().expect("the generated policy is valid")
}

/// Whether a browser accepts a preflight response, as Fetch's CORS-preflight fetch checks it
/// (steps "CORS check", then methods, then header names).
fn browser_accepts_preflight(case: &CorsCase, res: &http::response::Parts) -> bool {
    let get = |name: &str| res.headers.get(name).and_then(|v| v.to_str().ok());
    let list = |name: &str| -> Vec<String> {
        get(name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    if !res.status.is_success() {
        return false;
    }
    // CORS check.
    let Some(origin) = case.origin else {
        return false;
    };
    match get("access-control-allow-origin") {
        Some("*") if !case.credentials => {}
        Some(acao) if acao == origin => {}
        _ => return false,
    }
    if case.credentials && get("access-control-allow-credentials") != Some("true") {
        return false;
    }
    // Methods: case-sensitive; `*` only without credentials.
    let methods = list("access-control-allow-methods");
    let safelisted = matches!(case.method, "GET" | "HEAD" | "POST");
    if !safelisted
        && !methods.iter().any(|m| m == case.method)
        && (case.credentials || !methods.iter().any(|m| m == "*"))
    {
        return false;
    }
    // Header names: case-insensitive; `*` only without credentials and never for
    // `Authorization`.
    let allowed = list("access-control-allow-headers");
    let requested = case.request_headers.unwrap_or("");
    for name in requested
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let listed = allowed.iter().any(|a| a.eq_ignore_ascii_case(name));
        let star = !case.credentials
            && allowed.iter().any(|a| a == "*")
            && !name.eq_ignore_ascii_case("authorization");
        if !listed && !star {
            return false;
        }
    }
    true
}

/// The `Vary` tokens of a response, lower-cased.
fn vary_tokens(res: &http::response::Parts) -> BTreeSet<String> {
    res.headers
        .get_all(http::header::VARY)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Runs one case through both layers; `Some(why)` when they disagree.
fn cors_difference(case: &CorsCase, rt: &tokio::runtime::Runtime) -> Option<String> {
    use tower::{Layer, ServiceExt};
    if !case.preflight && case.method == "OPTIONS" {
        // tower-http answers every OPTIONS as a preflight; Fetch (and we) only
        // `OPTIONS` + `Origin` + `Access-Control-Request-Method`.
        return None;
    }
    let inner = service_fn(|_: Request<String>| async {
        let mut res = Response::new(String::new());
        res.headers_mut().insert(
            http::header::VARY,
            http::HeaderValue::from_static("accept-encoding"),
        );
        Ok::<_, Infallible>(res)
    });
    let request = || {
        let mut b = Request::builder()
            .method(if case.preflight {
                "OPTIONS"
            } else {
                case.method
            })
            .uri("/items/1");
        if let Some(o) = case.origin {
            b = b.header("origin", o);
        }
        if case.preflight {
            b = b.header("access-control-request-method", case.method);
            if let Some(h) = case.request_headers {
                b = b.header("access-control-request-headers", h);
            }
        }
        b.body(String::new()).unwrap()
    };
    let ours = rt
        .block_on(our_cors(case).layer(inner).oneshot(request()))
        .unwrap()
        .into_parts()
        .0;
    let theirs = rt
        .block_on(their_cors(case).layer(inner).oneshot(request()))
        .unwrap()
        .into_parts()
        .0;
    let acao = |r: &http::response::Parts| {
        r.headers
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    if case.preflight {
        // A preflight needs an Origin to be one (tower-http treats every OPTIONS as one).
        case.origin?;
        let (a, b) = (
            browser_accepts_preflight(case, &ours),
            browser_accepts_preflight(case, &theirs),
        );
        if a != b {
            return Some(format!(
                "preflight accepted: ours {a} ({}), theirs {b} ({:?})",
                ours.status, theirs.headers
            ));
        }
        return None;
    }
    if acao(&ours) != acao(&theirs) {
        return Some(format!(
            "ACAO: ours {:?}, theirs {:?}",
            acao(&ours),
            acao(&theirs)
        ));
    }
    if acao(&ours).is_some() {
        // What the browser reads next on an allowed response: credentials and exposed headers.
        let acac =
            |r: &http::response::Parts| r.headers.get("access-control-allow-credentials").cloned();
        if acac(&ours) != acac(&theirs) {
            return Some(format!(
                "ACAC: ours {:?}, theirs {:?}",
                acac(&ours),
                acac(&theirs)
            ));
        }
        let aceh = |r: &http::response::Parts| -> BTreeSet<String> {
            r.headers
                .get_all("access-control-expose-headers")
                .iter()
                .flat_map(|v| v.to_str().unwrap().split(','))
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect()
        };
        if aceh(&ours) != aceh(&theirs) {
            return Some(format!(
                "ACEH: ours {:?}, theirs {:?}",
                aceh(&ours),
                aceh(&theirs)
            ));
        }
    }
    let (va, vb) = (vary_tokens(&ours), vary_tokens(&theirs));
    // Both keep the inner `Vary`; an origin-dependent policy varies on `Origin` in both.
    for token in ["accept-encoding", "origin"] {
        if va.contains(token) != vb.contains(token) {
            return Some(format!("Vary: ours {va:?}, theirs {vb:?}"));
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// CorsLayer and tower-http's cors agree on the overlapping semantics: which origins get
    /// `Access-Control-Allow-Origin` on actual requests, `Vary` keeping the inner value and
    /// naming `Origin` when the answer depends on it, and which preflights a browser would
    /// accept (ours answers `403` where tower-http answers without the grant).
    #[test]
    fn cors_agrees_with_tower_http(cases in prop::collection::vec(cors_case(), 1..16)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for case in &cases {
            let difference = cors_difference(case, &rt);
            prop_assert!(difference.is_none(), "{:?}: {:?}", case, difference);
        }
    }
}

// ---------- Router::at vs a full call through the Router ----------

/// A target that answers with the route and params it saw, one `key|name=value&...` line.
fn echo_service() -> impl tower::Service<
    Request<String>,
    Response = Response<String>,
    Error = Infallible,
    Future = impl std::future::Future<Output = Result<Response<String>, Infallible>> + Send,
> + Clone
       + Send
       + Sync {
    service_fn(|req: Request<String>| async move {
        let key = req
            .extensions()
            .get::<tower_gateway::router::MatchedRoute>()
            .map(|r| r.key().to_owned())
            .unwrap_or_default();
        let params = req
            .extensions()
            .get::<tower_gateway::router::Params>()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&")
            })
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(format!("{key}|{params}")))
    })
}

fn keyed_table() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    table_and_paths().prop_flat_map(|(table, paths)| {
        let methods: Vec<_> = table.iter().map(|_| route_methods()).collect();
        (Just(table), methods, Just(paths)).prop_map(|(table, methods, paths)| {
            let mut keys = Vec::new();
            for (t, ms) in table.iter().zip(methods) {
                for m in ms {
                    let m = m.as_ref().map_or("ANY", Method::as_str);
                    keys.push(format!("{m} {}", write(t)));
                }
            }
            (keys, paths)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `Router::at` says what a call through the Router does, under any path policy and with
    /// WebSocket-only routes: the same route and params reach the target (and `MatchedRoute`
    /// comes back on the response), the same `405` and `Allow`, the same `308` and
    /// `Location` (query kept), the same `404`; a `HEAD` served by a `GET` route has an empty
    /// body; a plain `GET` to a WebSocket-only route is a `426`.
    #[test]
    fn router_at_agrees_with_call(
        (keys, paths) in keyed_table(),
        methods in prop::collection::vec(request_method(), 1..4),
        trailing in prop::sample::select(vec![
            tower_gateway::router::TrailingSlash::Strict,
            tower_gateway::router::TrailingSlash::Redirect,
            tower_gateway::router::TrailingSlash::Ignore,
        ]),
        merge in any::<bool>(),
        websocket in any::<u8>(),
        query in prop::sample::select(vec!["", "?q=1"]),
    ) {
        use tower::ServiceExt;
        let Ok(router) = keys
            .iter()
            .enumerate()
            .fold(Router::builder(), |b, (i, k)| match k.strip_prefix("GET ") {
                Some(path) if websocket & (1 << (i % 8)) != 0 => b.websocket(path, echo_service()),
                _ => b.route(k.as_str(), echo_service()),
            })
            .trailing_slash(trailing)
            .merge_slashes(merge)
            .build()
        else {
            return Ok(());
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for p in &paths {
            for m in &methods {
                let uri = format!("{p}{query}");
                let Ok(request) = Request::builder().method(m.clone()).uri(uri.as_str()).body(String::new()) else {
                    continue;
                };
                let response = rt.block_on(router.clone().oneshot(request)).unwrap();
                let (parts, body) = response.into_parts();
                let body = rt.block_on(http_body_util::BodyExt::collect(body)).unwrap().to_bytes();
                let body = String::from_utf8(body.to_vec()).unwrap();
                let matched = parts.extensions.get::<tower_gateway::router::MatchedRoute>();
                match router.at(m, &uri) {
                    Decision::Route(hit) if hit.route().is_websocket() => {
                        // A plain `GET` to a WebSocket-only route: `426`, the route on the response.
                        prop_assert_eq!(parts.status, http::StatusCode::UPGRADE_REQUIRED, "{} {}", m, p);
                        prop_assert_eq!(matched.map(|r| r.key()), Some(hit.route().key()));
                    }
                    Decision::Redirect(to) => {
                        prop_assert_eq!(parts.status, http::StatusCode::PERMANENT_REDIRECT, "{} {}", m, p);
                        prop_assert_eq!(&parts.headers[http::header::LOCATION], &format!("{to}{query}"));
                    }
                    Decision::Route(hit) => {
                        prop_assert_eq!(parts.status, http::StatusCode::OK, "{} {}", m, p);
                        prop_assert_eq!(matched.map(|r| r.key()), Some(hit.route().key()));
                        let params = hit.params().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
                        if hit.is_head_via_get() {
                            prop_assert_eq!(body, "");
                        } else if *m != Method::HEAD {
                            prop_assert_eq!(body, format!("{}|{}", hit.route().key(), params), "{} {}", m, p);
                        }
                    }
                    Decision::MethodNotAllowed(allowed) => {
                        prop_assert_eq!(parts.status, http::StatusCode::METHOD_NOT_ALLOWED, "{} {}", m, p);
                        prop_assert_eq!(&parts.headers[http::header::ALLOW], &allowed.header_value());
                        prop_assert!(matched.is_none());
                    }
                    Decision::NotFound => {
                        prop_assert_eq!(parts.status, http::StatusCode::NOT_FOUND, "{} {}", m, p);
                        prop_assert!(matched.is_none());
                    }
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
    }
}

// ---------- path policies: the Router with a policy vs matchit on the normalised path ----------

/// matchit's answer under our path policies, applied as the docs say: slashes merged, then
/// ASCII lower-cased (templates too), then the trailing slash toggled when the path misses,
/// or when only a catch-all took it and a more specific route serves the other form.
fn policy_model(
    them: &matchit::Router<String>,
    path: &str,
    merge: bool,
    ci: bool,
    trailing: tower_gateway::router::TrailingSlash,
) -> (Answer, Option<String>) {
    use tower_gateway::router::TrailingSlash;
    let mut p = path.to_owned();
    if merge {
        while p.contains("//") {
            p = p.replace("//", "/");
        }
    }
    let lookup = |q: &str| {
        let q = if ci {
            q.to_ascii_lowercase()
        } else {
            q.to_owned()
        };
        theirs(them, &q)
    };
    let toggle = |q: &str| -> Option<String> {
        if q == "/" {
            return None;
        }
        Some(match q.strip_suffix('/') {
            Some(s) => s.to_owned(),
            None => format!("{q}/"),
        })
    };
    let is_catch_all = |t: &str| t.ends_with("{*rest}");
    let local = |q: &str| !q.starts_with("//") && !q.starts_with("/\\");
    let first = lookup(&p);
    if trailing == TrailingSlash::Strict {
        return (first, None);
    }
    let alt = toggle(&p);
    let second = alt.as_deref().and_then(lookup);
    match (&first, &second) {
        (Some((t, _)), Some((u, _))) if is_catch_all(t) && !is_catch_all(u) => {
            if trailing == TrailingSlash::Redirect {
                if local(alt.as_deref().unwrap()) {
                    return (None, alt);
                }
                return (first, None);
            }
            (second, None)
        }
        (Some(_), _) => (first, None),
        (None, Some(_)) if trailing == TrailingSlash::Redirect => {
            if local(alt.as_deref().unwrap()) {
                (None, alt)
            } else {
                (None, None)
            }
        }
        (None, Some(_)) => (second, None),
        (None, None) => (None, None),
    }
}

fn with_uppercase(path: String, upper: u8) -> String {
    match upper % 4 {
        0 => path.to_ascii_uppercase(),
        1 => path.replacen('a', "A", 1),
        _ => path,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With merge-slashes, case-insensitive and trailing-slash policies, our Router answers
    /// what matchit answers for the normalised path.
    #[test]
    fn router_policies_agree_with_matchit_on_normalised_paths(
        (table, paths) in table_and_paths(),
        uppers in prop::collection::vec(any::<u8>(), 32),
        merge in any::<bool>(),
        ci in any::<bool>(),
        trailing in prop::sample::select(vec![
            tower_gateway::router::TrailingSlash::Strict,
            tower_gateway::router::TrailingSlash::Redirect,
            tower_gateway::router::TrailingSlash::Ignore,
        ]),
    ) {
        let templates: Vec<String> = table.iter().map(|t| write(t)).collect();
        let mut them = matchit::Router::new();
        for t in &templates {
            let lowered = if ci { t.to_ascii_lowercase() } else { t.clone() };
            if them.insert(lowered, t.clone()).is_err() {
                return Ok(());
            }
        }
        let Ok(us) = templates
            .iter()
            .fold(Router::builder(), |b, t| b.route(format!("GET {t}").as_str(), reply_service("")))
            .merge_slashes(merge)
            .case_insensitive(ci)
            .trailing_slash(trailing)
            .build()
        else {
            return Ok(());
        };
        let us: R = us;
        for (p, u) in paths.into_iter().zip(uppers.iter().cycle()) {
            let p = with_uppercase(p, *u);
            let (want, redirect) = policy_model(&them, &p, merge, ci, trailing);
            let got = us.at(&Method::GET, &p);
            match (&got, &redirect) {
                (Decision::Redirect(to), Some(want_to)) => prop_assert_eq!(to, want_to, "{:?} over {:?}", p, templates),
                (Decision::Redirect(_), None) | (_, Some(_)) => {
                    prop_assert!(false, "{:?} over {:?}: ours {:?}, model redirect {:?} / {:?}", p, templates, got, redirect, want)
                }
                _ => {
                    // Params are the request's own bytes (matchit saw them lower-cased).
                    let fold = |v: &str| if ci { v.to_ascii_lowercase() } else { v.to_owned() };
                    let got = match got {
                        Decision::Route(m) => Some((
                            m.route().template().to_owned(),
                            m.params().map(|(k, v)| (k.to_owned(), fold(v))).collect(),
                        )),
                        _ => None,
                    };
                    prop_assert_eq!(&got, &want, "{:?} over {:?} (merge {}, ci {}, {:?})", p, templates, merge, ci, trailing);
                }
            }
        }
    }
}

// ---------- decoded params vs axum's Path extractor ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A param's decoded value is what axum's `Path<String>` extracts from the same path, and
    /// a value that is not UTF-8 once decoded is an error in both (axum's `400`).
    #[test]
    fn decoded_params_agree_with_axum_path(
        value in "[a%2FCc3A9G+/.~ -]{1,12}",
        catch_all in any::<bool>(),
    ) {
        use axum::extract::Path;
        use tower::ServiceExt;
        let (template, path) = if catch_all {
            ("/c/{*rest}", format!("/c/{value}"))
        } else {
            ("/v/{p}", format!("/v/{value}"))
        };
        let Ok(uri) = path.parse::<http::Uri>() else { return Ok(()) };
        if uri.path() != path {
            return Ok(());
        }
        let ours: R = build(&[format!("GET {template}")]).unwrap();
        let decision = ours.at(&Method::GET, &path);
        let name = if catch_all { "rest" } else { "p" };
        let mine = decision.route().map(|m| m.decoded(name).unwrap().map(|v| v.into_owned()).ok());
        let app = axum::Router::new().route(template, axum::routing::get(|Path(p): Path<String>| async move { p }));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let response = rt.block_on(app.oneshot(Request::get(uri).body(axum::body::Body::empty()).unwrap())).unwrap();
        let status = response.status();
        let body = rt.block_on(http_body_util::BodyExt::collect(response.into_body())).unwrap().to_bytes();
        let theirs = match status.as_u16() {
            200 => Some(Some(String::from_utf8(body.to_vec()).unwrap())),
            400 => Some(None),
            _ => None,
        };
        prop_assert_eq!(mine, theirs, "{:?}", path);
    }
}

// ---------- real route tables vs matchit ----------

/// Every real table of `../shared/data` in the common subset (whole-segment params and
/// trailing catch-alls; the routes matchit refuses are left out of both), with each template
/// filled in several ways and the GitHub request log: the same template and params.
#[test]
fn real_tables_agree_with_matchit() {
    let files = [
        "github-full-routes.txt",
        "github-routes.txt",
        "github-v3-routes.txt",
        "gitlab-routes.txt",
        "gplus-routes.txt",
        "matchit-bench-routes.txt",
        "parse-routes.txt",
        "static-routes.txt",
    ];
    let requests = common::shared_data("github-v3-requests.txt");
    for file in files {
        let mut them = matchit::Router::new();
        let mut templates: Vec<String> = Vec::new();
        for line in common::shared_data(file).lines().map(str::trim) {
            let Some((_, template)) = line.split_once(' ') else {
                continue;
            };
            let subset = template.split('/').enumerate().all(|(i, seg)| {
                let n = template.split('/').count();
                !seg.contains('{')
                    || (seg.starts_with('{')
                        && seg.ends_with('}')
                        && seg.matches('{').count() == 1
                        && (!seg.starts_with("{*") || i + 1 == n)
                        && !seg.ends_with("+}"))
            });
            if !subset || templates.iter().any(|t| t == template) {
                continue;
            }
            if them.insert(template, template.to_owned()).is_ok() {
                templates.push(template.to_owned());
            }
        }
        let keys: Vec<String> = templates.iter().map(|t| format!("GET {t}")).collect();
        let us = match build(&keys) {
            Ok(us) => us,
            Err(e) => panic!("{file}: matchit takes {} routes we refuse: {e}", keys.len()),
        };
        let mut paths: Vec<String> = requests.lines().map(str::to_owned).collect();
        for t in &templates {
            for (value, rest) in [
                ("1", "a/b"),
                ("x-y", "z"),
                ("a%2Fb", "a%2F/b"),
                ("users", "users/"),
            ] {
                let filled: Vec<String> = t
                    .split('/')
                    .map(|seg| {
                        if seg.starts_with("{*") {
                            rest.to_owned()
                        } else if seg.starts_with('{') {
                            value.to_owned()
                        } else {
                            seg.to_owned()
                        }
                    })
                    .collect();
                let path = filled.join("/");
                paths.push(format!("{path}/"));
                paths.push(path.trim_end_matches('/').to_owned());
                paths.push(path);
            }
        }
        let mut compared = 0;
        for p in &paths {
            if !p.starts_with('/') {
                continue;
            }
            assert_eq!(ours(&us, p), theirs(&them, p), "{file}: {p}");
            compared += 1;
        }
        assert!(compared > 0, "{file}");
    }
}

// ---------- nest vs axum's nest_service ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// `nest(prefix, svc)` routes the same paths as axum's `nest_service` and the nested
    /// service sees the same stripped path and query. Not compared: an empty segment right
    /// after the prefix (`/api//x`), which we pass on byte for byte (`//x`: no slash merging)
    /// and axum trims to `/x`, and which, for a param prefix (`/t//x` under `/t/{tenant}`), is
    /// an empty param, which never matches (axum serves it).
    #[test]
    fn nest_agrees_with_axum(
        prefix in prop::sample::select(vec!["/api", "/api/v1", "/t/{tenant}"]),
        paths in prop::collection::vec(
            (
                prop::sample::select(vec!["/api", "/api/v1", "/t/acme", "/apix", "/t", "/api/v1x"]),
                prop::sample::select(vec!["", "/", "/x", "/x/", "/x/y/", "/x/y", "/%2F", "/v1"]),
                prop::sample::select(vec!["", "?q=1", "?"]),
            ),
            1..8,
        ),
    ) {
        use tower::ServiceExt;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let our_inner = service_fn(|req: Request<String>| async move {
            Ok::<_, Infallible>(Response::new(req.uri().to_string()))
        });
        let ours: R = Router::builder().nest(prefix, our_inner).build().unwrap();
        let their_inner = service_fn(|req: Request<axum::body::Body>| async move {
            Ok::<_, Infallible>(Response::new(axum::body::Body::from(req.uri().to_string())))
        });
        let theirs = axum::Router::new().nest_service(prefix, their_inner);
        for (base, tail, query) in &paths {
            let uri = format!("{base}{tail}{query}");
            let a = rt.block_on(ours.clone().oneshot(Request::get(uri.as_str()).body(String::new()).unwrap())).unwrap();
            let b = rt.block_on(theirs.clone().oneshot(Request::get(uri.as_str()).body(axum::body::Body::empty()).unwrap())).unwrap();
            let (sa, sb) = (a.status(), b.status());
            let ba = rt.block_on(http_body_util::BodyExt::collect(a.into_body())).unwrap().to_bytes();
            let bb = rt.block_on(http_body_util::BodyExt::collect(b.into_body())).unwrap().to_bytes();
            prop_assert_eq!((sa, ba), (sb, bb), "{} under {}", uri, prefix);
        }
    }
}

// ---------- the method dimension on overlapping tables, with matchit as the path oracle ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// AWS semantics on overlapping routes: for a method, the winner is what matchit answers
    /// over the routes that accept that method (explicit, `GET` for `HEAD`, `ANY`); when none
    /// does but some route's template matches the path, a `405` whose `Allow` is the union of
    /// those routes' methods (`HEAD` with `GET`).
    #[test]
    fn router_method_winner_is_matchit_over_the_accepting_routes(
        (keys, paths) in keyed_table(),
        methods in prop::collection::vec(request_method(), 1..4),
    ) {
        let Ok(us) = build(&keys) else { return Ok(()) };
        let split = |k: &String| {
            let (m, t) = k.split_once(' ').unwrap();
            (m.to_owned(), t.to_owned())
        };
        for m in &methods {
            let accepts = |km: &str| km == "ANY" || km == m.as_str() || (km == "GET" && *m == Method::HEAD);
            let mut them = matchit::Router::new();
            let mut seen = BTreeSet::new();
            for (km, t) in keys.iter().map(split) {
                if accepts(&km) && seen.insert(t.clone()) && them.insert(t.as_str(), t.clone()).is_err() {
                    return Ok(());
                }
            }
            for p in &paths {
                let got = us.at(m, p);
                match theirs(&them, p) {
                    Some((template, params)) => {
                        // On that template: the explicit method, else `GET` for `HEAD`, else `ANY`.
                        let on = |km: &str| keys.contains(&format!("{km} {template}"));
                        let km = if on(m.as_str()) {
                            m.as_str()
                        } else if *m == Method::HEAD && on("GET") {
                            "GET"
                        } else {
                            "ANY"
                        };
                        let want = format!("{km} {template}");
                        prop_assert_eq!(got.route_key(), Some(want.as_str()), "{} {} over {:?}", m, p, keys);
                        let got_params: Vec<(String, String)> = got
                            .route()
                            .unwrap()
                            .params()
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .collect();
                        prop_assert_eq!(got_params, params);
                    }
                    None => {
                        // Which routes match the path at all, one template at a time.
                        let mut allowed = BTreeSet::new();
                        for (km, t) in keys.iter().map(split) {
                            let mut one = matchit::Router::new();
                            one.insert(t.as_str(), ()).unwrap();
                            if one.at(p).is_ok() {
                                allowed.insert(km.clone());
                                if km == "GET" {
                                    allowed.insert("HEAD".to_owned());
                                }
                            }
                        }
                        match got {
                            Decision::MethodNotAllowed(a) => {
                                let a: BTreeSet<String> = a.iter().map(|m| m.as_str().to_owned()).collect();
                                prop_assert_eq!(a, allowed, "{} {} over {:?}", m, p, keys);
                            }
                            Decision::NotFound => prop_assert!(allowed.is_empty(), "{} {} over {:?}: 404, but {:?} match", m, p, keys, allowed),
                            other => prop_assert!(false, "{} {} over {:?}: {:?}", m, p, keys, other),
                        }
                    }
                }
            }
        }
    }
}

// ---------- 405 `Allow` against what each method actually gets ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the path policies, a `405`'s `Allow` lists exactly the methods that
    /// the same path does not refuse (served or redirected): RFC 9110 §15.5.6, and the
    /// module's "the header never lies about a method that would be served".
    #[test]
    fn allow_lists_exactly_the_methods_the_path_answers(
        (keys, paths) in keyed_table(),
        trailing in prop::sample::select(vec![
            tower_gateway::router::TrailingSlash::Strict,
            tower_gateway::router::TrailingSlash::Redirect,
            tower_gateway::router::TrailingSlash::Ignore,
        ]),
        merge in any::<bool>(),
        ci in any::<bool>(),
        uppers in prop::collection::vec(any::<u8>(), 8),
        websocket in any::<u8>(),
        nest in prop::option::of(prop::sample::select(vec!["/a", "/ab/{p1}", "/{p0}"])),
    ) {
        // Some `GET` routes are WebSocket-only (`GET` without `HEAD`), and a nested service
        // may sit among the routes.
        let builder = keys
            .iter()
            .enumerate()
            .fold(Router::builder(), |b, (i, k)| match k.strip_prefix("GET ") {
                Some(path) if websocket & (1 << (i % 8)) != 0 => b.websocket(path, reply_service("")),
                _ => b.route(k.as_str(), reply_service("")),
            });
        let builder = match nest {
            Some(prefix) => builder.nest(prefix, reply_service("")),
            None => builder,
        };
        let Ok(us) = builder
            .trailing_slash(trailing)
            .merge_slashes(merge)
            .case_insensitive(ci)
            .build()
        else {
            return Ok(());
        };
        let us: R = us;
        let pool = [
            Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE, Method::PATCH,
            Method::OPTIONS, Method::TRACE, Method::from_bytes(b"PURGE").unwrap(),
        ];
        for (p, u) in paths.into_iter().zip(uppers.iter().cycle()) {
            let p = &with_uppercase(p, *u);
            for m in &pool {
                let Decision::MethodNotAllowed(allowed) = us.at(m, p) else { continue };
                for other in &pool {
                    let answered = matches!(us.at(other, p), Decision::Route(_) | Decision::Redirect(_));
                    prop_assert_eq!(
                        allowed.contains(other),
                        answered,
                        "{} {} -> Allow {:?}; {} answered: {} ({:?} over {:?})",
                        m, p, allowed, other, answered, trailing, keys
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The order routes are added in never changes a decision, whatever the policies.
    #[test]
    fn insertion_order_never_changes_a_decision(
        (keys, paths) in keyed_table(),
        seed in any::<u64>(),
        trailing in prop::sample::select(vec![
            tower_gateway::router::TrailingSlash::Strict,
            tower_gateway::router::TrailingSlash::Redirect,
            tower_gateway::router::TrailingSlash::Ignore,
        ]),
        merge in any::<bool>(),
        ci in any::<bool>(),
    ) {
        let make = |keys: &[String]| -> Option<R> {
            keys.iter()
                .fold(Router::builder(), |b, k| b.route(k.as_str(), reply_service("")))
                .trailing_slash(trailing)
                .merge_slashes(merge)
                .case_insensitive(ci)
                .build()
                .ok()
        };
        let mut shuffled = keys.clone();
        // A small deterministic shuffle (Fisher-Yates over a xorshift stream).
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let (a, b) = (make(&keys), make(&shuffled));
        prop_assert_eq!(a.is_some(), b.is_some(), "{:?} vs {:?}", keys, shuffled);
        let (Some(a), Some(b)) = (a, b) else { return Ok(()) };
        for p in &paths {
            for m in [Method::GET, Method::HEAD, Method::POST, Method::DELETE, Method::from_bytes(b"PURGE").unwrap()] {
                prop_assert_eq!(a.at(&m, p), b.at(&m, p), "{} {} over {:?} vs {:?}", m, p, keys, shuffled);
            }
        }
    }
}
