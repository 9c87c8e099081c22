//! Cross-cutting audit: bad input never panics anywhere in the stack. Arbitrary methods (valid
//! tokens, odd ones, long ones), request targets (origin-form with percent-escapes and dot
//! segments, absolute-form, authority-form, `*`, huge, non-UTF-8 bytes) and header sets
//! (arbitrary names and values, duplicates, the headers every layer reads) go through
//! `Gateway::from_config` built from the demo configuration (`examples/gateway.toml`) and
//! through a stack of every layer by hand; each gets an HTTP answer with a sensible status,
//! a body that reads to its end, and exactly one access-log record.

#![cfg(all(
    feature = "router",
    feature = "cors",
    feature = "origin",
    feature = "canary",
    feature = "access-log",
    feature = "metrics"
))]

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::{runner, runtime, Named};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tower::{Layer, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, MemorySink};
use tower_gateway::canary::{Arm, CanaryLayer, Key, Mode};
use tower_gateway::metrics::{MetricsLayer, Registry};
use tower_gateway::router::{Router, TrailingSlash};
use tower_gateway::CorsLayer;

type Req = Full<Bytes>;

// ------------------------------------------------------------------ strategies

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => prop::sample::select(vec![
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::PATCH,
            Method::TRACE,
            Method::CONNECT,
        ]),
        // Any token (RFC 9110 tchar), short or longer than the inline limit.
        2 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,40}"
            .prop_filter_map("a method token", |m| Method::from_bytes(m.as_bytes()).ok()),
        // Lower-case and odd spellings of the standard ones.
        1 => prop::sample::select(vec!["get", "Get", "HEAD ", "OPTIONS", "M-SEARCH", "PRI", "QUERY"])
            .prop_filter_map("a method token", |m| Method::from_bytes(m.as_bytes()).ok()),
        1 => prop::collection::vec(any::<u8>(), 1..20)
            .prop_map(|m| Method::from_bytes(&m).unwrap_or_else(|_| Method::from_bytes(b"X-ODD").unwrap())),
    ]
}

fn path_text() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        prop::sample::select(vec![
            "pets",
            "dog",
            "1",
            "42",
            "inventory",
            "items",
            "ws",
            "metrics",
            "files",
            "..",
            ".",
            "",
            "%2F",
            "%2e%2e",
            "%FF",
            "%",
            "%zz",
            "%C3%A9",
            ";a=b",
            "PETS",
            "{id}",
            "*",
            "%00",
            "~",
            "a+b",
            "@",
            ":",
            "pets%2Fdog",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9._~!$&'()*+,;=:@%-]{0,12}".prop_map(|s: String| s),
    ];
    // Most paths start where a route is, so that every layer and target is reached.
    let prefix = prop::sample::select(vec![
        "",
        "",
        "/pets",
        "/pets/42",
        "/pets/dog/1",
        "/inventory",
        "/inventory/items",
        "/ws",
        "/metrics",
        "/files",
        "/api",
        "/assets/site.css",
        "//pets",
    ]);
    (
        prefix,
        prop_oneof![Just(Vec::new()), prop::collection::vec(segment, 0..5)],
        prop::bool::weighted(0.25),
        prop::option::of("[a-zA-Z0-9=&%/?._-]{0,16}".prop_map(|s: String| s)),
    )
        .prop_map(|(prefix, segments, slash, query)| {
            common::join_path(prefix, &segments, slash, query.as_deref())
        })
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        8 => path_text().prop_filter_map("a URI", |p| p.parse().ok()),
        1 => Just(Uri::from_static("*")),
        // Absolute-form, to a host the gateway knows or not.
        2 => (
            prop::sample::select(vec!["http", "https", "ws", "wss"]),
            prop::sample::select(vec!["api.example", "127.0.0.1:1", "[::1]:8080", "localhost", "x"]),
            path_text(),
        )
            .prop_filter_map("a URI", |(scheme, host, path)| {
                format!("{scheme}://{host}{path}").parse().ok()
            }),
        // Authority-form (CONNECT targets).
        1 => prop::sample::select(vec!["api.example:443", "127.0.0.1:80", "[::1]:1", "x:0"])
            .prop_filter_map("a URI", |a| a.parse().ok()),
        // Huge paths, up to 70 KB.
        1 => (1usize..70_000, prop::sample::select(vec!["a", "/", "%2F", "/pets/", "é"]))
            .prop_filter_map("a URI", |(n, unit)| {
                let mut p = String::from("/");
                while p.len() < n {
                    p.push_str(unit);
                }
                p.parse().ok()
            }),
        // Raw bytes after a slash, non-UTF-8 included, as a server would hand them over.
        2 => prop::collection::vec(any::<u8>(), 0..48).prop_map(|bytes| {
            let mut raw = vec![b'/'];
            raw.extend(bytes);
            Uri::from_maybe_shared(Bytes::from(raw)).unwrap_or_else(|_| Uri::from_static("/%FF"))
        }),
    ]
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "host", "origin", "sec-fetch-site", "sec-fetch-mode", "referer",
            "access-control-request-method", "access-control-request-headers",
            "access-control-request-private-network", "upgrade", "connection",
            "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
            "content-length", "transfer-encoding", "content-type", "cookie", "x-canary",
            "x-canary-arm", "x-request-id", "traceparent", "user-agent", "forwarded",
            "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "te", "expect",
            "authorization", "accept",
        ])
        .prop_map(HeaderName::from_static),
        1 => "[a-z0-9!#$%&'*+.^_`|~-]{1,30}"
            .prop_filter_map("a header name", |n| HeaderName::from_bytes(n.as_bytes()).ok()),
        1 => prop::collection::vec(any::<u8>(), 1..24)
            .prop_map(|n| HeaderName::from_bytes(&n).unwrap_or(HeaderName::from_static("x-odd"))),
    ]
}

fn header_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "https://app.example", "http://localhost:8080", "http://localhost:*", "null",
            "https://evil.example", "http://127.0.0.1:3000", "HTTPS://APP.EXAMPLE",
            "https://app.example/", "https://app.example:443", "cross-site", "same-origin",
            "same-site", "none", "navigate", "websocket", "Upgrade", "keep-alive, Upgrade",
            "GET", "PUT", "DELETE", "get", "content-type", "content-type, x-foo",
            "content-type,,x", "13", "dGhlIHNhbXBsZSBub25jZQ==", "always", "never", "v1", "v2",
            "canary=always", "", " ", "*", "0", "-1", "18446744073709551616", "chunked",
            "gzip, chunked", "for=\"[::1]\";proto=https", "100-continue", "trailers",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "api.example",
            "api.example:3000", "[::1", "x y z",
        ])
        .prop_map(HeaderValue::from_static),
        // Any bytes a header value may hold (obs-text included).
        2 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|v| HeaderValue::from_bytes(&v).unwrap_or(HeaderValue::from_static("\t"))),
        // Long values.
        1 => (1usize..20_000).prop_map(|n| {
            HeaderValue::from_str(&"a,".repeat(n / 2 + 1)).expect("a valid value")
        }),
    ]
}

#[derive(Clone)]
struct Input {
    method: Method,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
}

fn input() -> impl Strategy<Value = Input> {
    (
        method(),
        uri(),
        prop::collection::vec((header_name(), header_value()), 0..12),
        prop::collection::vec(any::<u8>(), 0..32),
        0u8..4,
    )
        .prop_map(|(method, uri, mut headers, body, extra)| {
            if extra == 1 {
                // A preflight's headers (the method may be anything), from an allowed origin.
                for (name, value) in [
                    ("origin", "http://localhost:8080"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ] {
                    headers.insert(
                        0,
                        (
                            HeaderName::from_static(name),
                            HeaderValue::from_static(value),
                        ),
                    );
                }
            }
            if extra == 2 {
                // A WebSocket handshake, as a browser sends it, among the other headers.
                for (name, value) in [
                    ("upgrade", "websocket"),
                    ("connection", "Upgrade"),
                    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                    ("sec-websocket-version", "13"),
                ] {
                    headers.push((
                        HeaderName::from_static(name),
                        HeaderValue::from_static(value),
                    ));
                }
            }
            Input {
                method,
                uri,
                headers,
                body,
            }
        })
}

/// Short: long targets and values are cut, so that a failure report stays readable.
impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn cut(text: &str) -> String {
            text.chars().take(120).collect()
        }
        let headers: Vec<_> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), cut(&String::from_utf8_lossy(v.as_bytes()))))
            .collect();
        f.debug_struct("Input")
            .field("method", &cut(self.method.as_str()))
            .field("uri", &cut(&self.uri.to_string()))
            .field("uri_len", &self.uri.to_string().len())
            .field("headers", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Input {
    fn request(&self) -> Request<Req> {
        let mut request = Request::new(Full::new(Bytes::from(self.body.clone())));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        for (name, value) in &self.headers {
            // `append`: a repeated name stays repeated, as on the wire.
            request.headers_mut().append(name.clone(), value.clone());
        }
        request
    }
}

/// Checks one answer: a status that makes sense, a body that reads to its end without error,
/// one access-log record.
async fn check<B>(
    input: &Input,
    response: Response<B>,
    sink: &MemorySink,
    allowed: &[u16],
) -> Result<(), TestCaseError>
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    prop_assert!(
        allowed.contains(&status.as_u16()),
        "status {status} for {input:?}"
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        prop_assert!(response.headers().contains_key(http::header::ALLOW));
    }
    let collected = response.into_body().collect().await;
    prop_assert!(
        collected.is_ok(),
        "body error {:?} for {input:?}",
        collected.err()
    );
    let lines = sink.take();
    prop_assert_eq!(lines.len(), 1, "{} lines for {:?}", lines.len(), input);
    Ok(())
}

// ------------------------------------------------------------------ the demo gateway

#[cfg(all(feature = "gateway", feature = "upstream"))]
#[test]
fn the_demo_gateway_answers_any_request_without_panicking() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};

    let rt = runtime();
    // The demo's HTTP upstream is a live echo server on a loopback port of this test's own (so
    // hostile heads are really forwarded); its WebSocket upstream a loopback port with
    // nothing listening (bound, not listening, for the whole test), so a handshake fails fast
    // with a 502.
    let (_refusing, dead) = common::refusing_addr();
    let live = rt.block_on(async {
        let live = common::listen(|stream, _| async move {
            let echo =
                hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                        req.uri().to_string(),
                    ))))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), echo)
                .await;
        })
        .await;
        live
    });
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway.toml");
    let text = std::fs::read_to_string(path)
        .expect("examples/gateway.toml")
        .replace("127.0.0.1:3901", &live.to_string())
        .replace("127.0.0.1:3902", &dead.to_string());
    let mut config: GatewayConfig = toml::from_str(&text).expect("the demo config parses");
    if let Some(log) = config.access_log.as_mut() {
        log.sink = "code".to_owned();
    }
    let sink = MemorySink::new();
    let services = Services::<Req>::new()
        .service("pets-v1", Named::new("v1"))
        .service("pets-v2", Named::new("v2"))
        .service("legacy", Named::new("legacy"))
        .access_log_sink(sink.clone());
    // The demo as shipped, then with every path policy of the Router on (a reload).
    let mut relaxed = config.clone();
    relaxed.router.trailing_slash = Some("ignore".to_owned());
    relaxed.router.merge_slashes = true;
    relaxed.router.case_insensitive = true;
    let mut redirecting = relaxed.clone();
    redirecting.router.trailing_slash = Some("redirect".to_owned());
    let gateway = Gateway::from_config(config, services).expect("the demo config builds");

    // 200 (routes, fallback, metrics, the echo upstream), 204 (preflight), 308 (trailing-slash
    // redirect), 400 (a path an upstream refuses to forward, or a head the echo server
    // refuses), 403 (origin guard, refused preflight), 405, 426 (plain request to the
    // WebSocket route), 502 (the dead WebSocket upstream, a head the client cannot send).
    let allowed = [200, 204, 308, 400, 403, 405, 426, 502];
    // A handshake that reaches the WebSocket upstream in-process carries no upgrade handle
    // (no server made the request): documented as `500`, the backend not contacted.
    let on_the_websocket_route = [500];
    for (round, reload) in [None, Some(relaxed), Some(redirecting)]
        .into_iter()
        .enumerate()
    {
        if let Some(config) = reload {
            gateway
                .handle()
                .reload(config)
                .expect("the policies are valid");
        }
        runner(if round == 0 { 256 } else { 128 })
            .run(&input(), |input| {
                rt.block_on(async {
                    let _ = sink.take();
                    let response = gateway.clone().oneshot(input.request()).await.unwrap();
                    let websocket_route = response
                        .extensions()
                        .get::<tower_gateway::router::MatchedRoute>()
                        .is_some_and(|m| m.template() == "/ws");
                    let allowed: &[u16] = if websocket_route
                        && response.status() == StatusCode::INTERNAL_SERVER_ERROR
                    {
                        &on_the_websocket_route
                    } else {
                        &allowed
                    };
                    check(&input, response, &sink, allowed).await
                })
            })
            .unwrap();
    }
}

// ------------------------------------------------------------------ every layer by hand

#[test]
fn a_stack_of_every_layer_answers_any_request_without_panicking() {
    let rt = runtime();
    let split = CanaryLayer::builder()
        .stable("v1", "50%")
        .arm("v2", Named::new("v2"), "50%")
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(Named::new("v1"));
    let table: Router<Req, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /pets/{id}", split)
        .route("POST /pets", Named::new("create"))
        .route("GET /assets/{name}.css", Named::new("css"))
        .route("ANY /files/{*rest}", Named::new("files"))
        .nest("/api", Named::new("api"))
        .trailing_slash(TrailingSlash::Redirect)
        .merge_slashes(true)
        .case_insensitive(true)
        .build()
        .unwrap();
    let cors = CorsLayer::builder()
        .allow_origin("https://app.example")
        .allow_origin("http://localhost:*")
        .allow_methods(["GET", "POST", "PUT"])
        .allow_headers(["content-type"])
        .allow_credentials(true)
        .build()
        .unwrap();
    let guard = common::trusting(&cors);
    let sink = MemorySink::new();
    let registry = Registry::new();
    let stack = ServiceBuilder::new()
        .layer(MetricsLayer::new(registry.clone()))
        .layer(AccessLogLayer::new(sink.clone()))
        .layer(cors)
        .layer(guard)
        .layer(table)
        .service(Named::new("app"));

    // 200, 204 (preflight), 308 (trailing-slash redirect), 403, 405.
    let allowed = [200, 204, 308, 403, 405];
    runner(512)
        .run(&input(), |input| {
            rt.block_on(async {
                let _ = sink.take();
                let response = stack.clone().oneshot(input.request()).await.unwrap();
                check(&input, response, &sink, &allowed).await
            })
        })
        .unwrap();
    // The metrics of all those requests still render.
    // The metrics of all those requests still render, labelled by route template only (a
    // bounded set, whatever the paths were).
    let text = registry.render();
    assert!(text.contains("gateway_requests_total"), "{text}");
    let routes: std::collections::BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.split("route=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(routes.len() <= 6, "{routes:?}");
    for route in routes {
        assert!(route.is_empty() || route.starts_with('/'), "{route:?}");
        assert!(!route.contains('%') && !route.contains(".."), "{route:?}");
    }
}

// ------------------------------------------------------------------ decisions and services

/// DESIGN.md 2.1: each layer's decision on the request head is what its service applies. For
/// any request: the CORS decision, the origin guard's `check` and the Router's `at` predict
/// the service's answer (and whether the inner service runs).
#[test]
fn every_decision_predicts_what_its_service_does() {
    use tower_gateway::cors::Decision as Cors;
    use tower_gateway::router::Decision as Route;

    let rt = runtime();
    let cors = CorsLayer::builder()
        .allow_origin("https://app.example")
        .allow_origin("http://localhost:*")
        .allow_methods(["GET", "POST", "PUT"])
        .allow_headers(["content-type"])
        .build()
        .unwrap();
    let guard = common::trusting(&cors);
    let table: Router<Req, Full<Bytes>, Infallible> = Router::builder()
        .route("GET /pets/{id}", Named::new("pet"))
        .route("POST /pets", Named::new("create"))
        .route("ANY /files/{*rest}", Named::new("files"))
        .nest("/api", Named::new("api"))
        .trailing_slash(TrailingSlash::Redirect)
        .merge_slashes(true)
        .case_insensitive(true)
        .build()
        .unwrap();

    let split = CanaryLayer::builder()
        .stable("stable", "70%")
        .arm("canary", Named::new("canary"), "30%")
        .mode(Mode::sticky_or_stable(Key::cookie("canary")))
        .build()
        .unwrap()
        .layer(Named::new("stable"));

    runner(512)
        .run(&input(), |input| {
            rt.block_on(async {
                let request = input.request();
                let (parts, body) = request.into_parts();

                // CORS.
                let decision = cors.check(&parts);
                let inner = Named::new("inner");
                let request = Request::from_parts(parts.clone(), Req::default());
                let response = cors.layer(inner.clone()).oneshot(request).await.unwrap();
                let acao = response
                    .headers()
                    .get("access-control-allow-origin")
                    .cloned();
                match &decision {
                    Cors::PreflightAccepted(_) | Cors::PreflightRefused(_) => {
                        prop_assert_eq!(inner.calls(), 0, "{:?} for {:?}", decision, input);
                    }
                    _ => prop_assert_eq!(inner.calls(), 1, "{:?} for {:?}", decision, input),
                }
                match &decision {
                    Cors::ActualAllowed { allow_origin } => {
                        prop_assert_eq!(acao.as_ref(), Some(allow_origin), "{:?}", input);
                    }
                    Cors::PreflightAccepted(_) => {
                        prop_assert!(response.status().is_success(), "{:?}", input);
                        prop_assert!(acao.is_some(), "{:?}", input);
                    }
                    _ => prop_assert_eq!(acao, None, "{:?} for {:?}", decision, input),
                }

                // The origin guard.
                let verdict = guard.check(&parts);
                let inner = Named::new("inner");
                let request = Request::from_parts(parts.clone(), Req::default());
                let response = guard.layer(inner.clone()).oneshot(request).await.unwrap();
                match verdict {
                    Ok(_) => {
                        prop_assert_eq!(inner.calls(), 1, "{:?}", input);
                        prop_assert_eq!(response.status(), StatusCode::OK, "{:?}", input);
                    }
                    Err(_) => {
                        prop_assert_eq!(inner.calls(), 0, "{:?}", input);
                        prop_assert_eq!(response.status(), StatusCode::FORBIDDEN, "{:?}", input);
                    }
                }

                // A sticky canary split: the arm `pick` names is the arm that serves.
                let picked = split.pick(&parts);
                let request = Request::from_parts(parts.clone(), Req::default());
                let response = split.clone().oneshot(request).await.unwrap();
                let served = response
                    .extensions()
                    .get::<Arm>()
                    .map(|a| a.name().to_owned());
                prop_assert_eq!(served.as_deref(), Some(picked.name()), "{:?}", input);
                let text = response.into_body().collect().await.unwrap().to_bytes();
                prop_assert_eq!(&text[..], picked.name().as_bytes(), "{:?}", input);

                // The Router (no fallback: its own 404).
                let decided = table.at(&parts.method, parts.uri.path());
                let request = Request::from_parts(parts.clone(), body);
                let response = table.clone().oneshot(request).await.unwrap();
                let status = response.status();
                let matched = response
                    .extensions()
                    .get::<tower_gateway::router::MatchedRoute>()
                    .map(|m| m.key().to_owned());
                match &decided {
                    Route::Route(hit) => {
                        prop_assert_eq!(status, StatusCode::OK, "{:?}", input);
                        prop_assert_eq!(matched.as_deref(), Some(hit.route().key()), "{:?}", input);
                    }
                    Route::Redirect(to) => {
                        prop_assert_eq!(status, StatusCode::PERMANENT_REDIRECT, "{:?}", input);
                        let location = response.headers()["location"].to_str().unwrap_or("");
                        prop_assert!(
                            location.starts_with(to.as_str()),
                            "{} {:?}",
                            location,
                            input
                        );
                    }
                    Route::MethodNotAllowed(allowed) => {
                        prop_assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{:?}", input);
                        prop_assert_eq!(
                            &response.headers()["allow"],
                            &allowed.header_value(),
                            "{:?}",
                            input
                        );
                    }
                    Route::NotFound => {
                        prop_assert_eq!(status, StatusCode::NOT_FOUND, "{:?}", input);
                        prop_assert_eq!(matched, None, "{:?}", input);
                    }
                    _ => {}
                }
                Ok(())
            })
        })
        .unwrap();
}
