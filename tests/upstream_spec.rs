//! The HTTP upstream proxy as an independent tester would check it: from the issue text
//! (issue 8, upstream bullets), the module docs, RFC 9110 (§7.6 intermediaries, §7.6.1
//! `Connection`, §7.6.3 `Via`, §9.3.2 `HEAD`, §10.1.1 `Expect`, §15.2 1xx) and RFC 7239
//! (`Forwarded`). End to end over real sockets on 127.0.0.1: real hyper backends, the gateway
//! served by hyper, and a real (or raw TCP) client.

#![cfg(all(
    feature = "upstream",
    feature = "router",
    feature = "gateway",
    feature = "access-log"
))]

mod common;

use common::backend::{backend, full, hv, only, raw_exchange, Log};

use common::{send, serve_with_peer};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tower::ServiceExt;
use tower_gateway::access_log::{AccessLogLayer, MemorySink};
use tower_gateway::upstream::{Failure, FailureKind, Upstream};
use tower_gateway::Router;

/// A backend answering `200 ok` to everything.
async fn ok_backend() -> (SocketAddr, Log) {
    backend(|_| Response::new(full("ok"))).await
}

/// A raw TCP backend that reads once, writes `reply` as it is and closes.
async fn raw_backend(reply: &'static [u8]) -> SocketAddr {
    common::listen(move |mut stream, _| async move {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(reply).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// The gateway served in front of an `Upstream` to `http://{up}{base}`.
async fn proxy_to(up: SocketAddr, base: &str) -> SocketAddr {
    serve_with_peer(Upstream::new(&format!("http://{up}{base}")).unwrap()).await
}

/// The gateway served in front of an `Upstream` to `http://{up}/v1` that strips `/users`.
async fn users_to_v1(up: SocketAddr) -> SocketAddr {
    let upstream = Upstream::builder(&format!("http://{up}/v1"))
        .strip_prefix("/users")
        .build()
        .unwrap();
    serve_with_peer(upstream).await
}

/// The gateway served in front of a Router whose one route `route` goes to an `Upstream` to
/// `target`.
async fn routed_to(route: &str, target: &str) -> SocketAddr {
    let router = Router::builder()
        .route(route, Upstream::new(target).unwrap())
        .build()
        .unwrap();
    serve_with_peer(router).await
}

fn get(uri: &str) -> Request<Empty<Bytes>> {
    Request::get(uri)
        .header("host", "api.example.com")
        .body(Empty::new())
        .unwrap()
}

async fn text(response: Response<Incoming>) -> String {
    common::body_text(response.into_body()).await
}

/// Checks that each `(name, value)` is in `headers` (the first value under that name).
#[track_caller]
fn assert_headers(headers: &HeaderMap, want: &[(&str, &str)]) {
    for (name, value) in want {
        assert_eq!(hv(headers, name), Some(*value), "{name}");
    }
}

// ---- path and query mapping

#[tokio::test]
async fn prefix_strip_then_base_path_keeps_the_query() {
    let (up, log) = ok_backend().await;
    let gw = users_to_v1(up).await;
    let response = send(gw, get("/users/7/orders?sort=desc&limit=2")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "ok");
    assert_eq!(only(&log).target, "/v1/7/orders?sort=desc&limit=2");
}

#[tokio::test]
async fn the_prefix_itself_maps_to_the_base_path() {
    let (up, log) = ok_backend().await;
    let gw = users_to_v1(up).await;
    assert_eq!(send(gw, get("/users?x=1")).await.status(), 200);
    assert_eq!(only(&log).target, "/v1?x=1");
}

#[tokio::test]
async fn percent_encoding_is_forwarded_byte_for_byte() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "/base").await;
    let path = "/a%2Fb/%E2%82%AC/c%20d?q=%41%2b1&e=a%26b";
    assert_eq!(send(gw, get(path)).await.status(), 200);
    assert_eq!(only(&log).target, format!("/base{path}"));
}

#[tokio::test]
async fn double_slashes_inside_the_path_are_kept() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "/base").await;
    assert_eq!(send(gw, get("/a//b")).await.status(), 200);
    assert_eq!(only(&log).target, "/base/a//b");
}

#[tokio::test]
async fn proxy_plus_placeholder_takes_the_greedy_param_and_keeps_the_query() {
    let (up, log) = ok_backend().await;
    let gw = routed_to("ANY /api/{proxy+}", &format!("http://{up}/v2/{{proxy}}")).await;
    assert_eq!(send(gw, get("/api/a/b%20c/d?x=1&y")).await.status(), 200);
    assert_eq!(only(&log).target, "/v2/a/b%20c/d?x=1&y");
}

#[tokio::test]
async fn named_placeholders_take_the_route_params() {
    let (up, log) = ok_backend().await;
    let target = format!("http://{up}/accounts/{{id}}/animals/{{pet}}");
    let gw = routed_to("GET /users/{id}/pets/{pet}", &target).await;
    assert_eq!(
        send(gw, get("/users/a%2Fb/pets/9?full")).await.status(),
        200
    );
    assert_eq!(only(&log).target, "/accounts/a%2Fb/animals/9?full");
}

// ---- request headers (RFC 9110 §7.6.1, RFC 7239)

#[tokio::test]
async fn hop_by_hop_and_connection_named_headers_are_not_forwarded() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "").await;
    let request = Request::get("/x")
        .header("host", "api.example.com")
        .header("connection", "keep-alive, X-Secret , x-other")
        .header("x-secret", "1")
        .header("x-other", "2")
        .header("keep-alive", "timeout=5")
        .header("te", "gzip")
        .header("trailer", "x-checksum")
        .header("upgrade", "h2c")
        .header("proxy-authorization", "Basic Zm9vOmJhcg==")
        .header("proxy-connection", "keep-alive")
        .header("x-kept", "yes")
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(send(gw, request).await.status(), 200);
    let seen = only(&log);
    for name in [
        "x-secret",
        "x-other",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    ] {
        assert!(!seen.headers.contains_key(name), "{name} was forwarded");
    }
    // The hop to the upstream may carry its own `Connection` (keep-alive), never the client's.
    let connection = hv(&seen.headers, "connection").unwrap_or("");
    assert!(!connection.to_ascii_lowercase().contains("x-secret"));
    assert_eq!(hv(&seen.headers, "x-kept"), Some("yes"));
}

#[tokio::test]
async fn host_is_the_upstreams_and_x_forwarded_host_the_clients() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "/v1").await;
    assert_eq!(send(gw, get("/x")).await.status(), 200);
    let seen = only(&log);
    assert_eq!(hv(&seen.headers, "host"), Some(up.to_string().as_str()));
    assert_headers(
        &seen.headers,
        &[
            ("x-forwarded-host", "api.example.com"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-for", "127.0.0.1"),
            ("forwarded", "for=127.0.0.1;proto=http;host=api.example.com"),
        ],
    );
}

#[tokio::test]
async fn forwarding_chains_are_appended_and_edge_headers_replaced() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "").await;
    let request = Request::get("/x")
        .header("host", "shop.example:8443")
        .header("x-forwarded-for", "203.0.113.7, 198.51.100.2")
        .header("forwarded", "for=203.0.113.7;proto=https")
        .header("forwarded", "for=\"[2001:db8::1]:4711\"")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(send(gw, request).await.status(), 200);
    let seen = only(&log);
    let xff: Vec<_> = seen.headers.get_all("x-forwarded-for").iter().collect();
    assert_eq!(xff, ["203.0.113.7, 198.51.100.2, 127.0.0.1"]);
    let forwarded: Vec<_> = seen.headers.get_all("forwarded").iter().collect();
    assert_eq!(
        forwarded,
        ["for=203.0.113.7;proto=https, for=\"[2001:db8::1]:4711\", \
             for=127.0.0.1;proto=http;host=\"shop.example:8443\""]
    );
    assert_headers(
        &seen.headers,
        &[
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "shop.example:8443"),
        ],
    );
}

#[tokio::test]
async fn forwarded_quotes_an_ipv6_client() {
    let (up, log) = ok_backend().await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    let mut request = Request::get("/x")
        .header("host", "api.example.com")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let client: SocketAddr = "[2001:db8:cafe::17]:4711".parse().unwrap();
    request.extensions_mut().insert(client);
    let response = upstream.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let seen = only(&log);
    assert_headers(
        &seen.headers,
        &[
            (
                "forwarded",
                "for=\"[2001:db8:cafe::17]\";proto=http;host=api.example.com",
            ),
            ("x-forwarded-for", "2001:db8:cafe::17"),
        ],
    );
}

#[tokio::test]
async fn https_request_target_gives_proto_https() {
    let (up, log) = ok_backend().await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    let request = Request::get("https://secure.example/x")
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(upstream.oneshot(request).await.unwrap().status(), 200);
    let seen = only(&log);
    assert_eq!(seen.target, "/x");
    assert_headers(
        &seen.headers,
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "secure.example"),
            ("forwarded", "proto=https;host=secure.example"),
        ],
    );
}

#[tokio::test]
async fn via_is_sent_to_the_upstream_and_appended() {
    // RFC 9110 §7.6.3: "An HTTP-to-HTTP gateway MUST send an appropriate Via header field in
    // each inbound request message".
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "").await;
    assert_eq!(send(gw, get("/x")).await.status(), 200);
    let request = Request::get("/y")
        .header("host", "api.example.com")
        .header("via", "1.0 fred, 1.1 p.example.net")
        .body(Empty::<Bytes>::new())
        .unwrap();
    assert_eq!(send(gw, request).await.status(), 200);
    let log = log.lock().unwrap();
    let first = hv(&log[0].headers, "via").expect("no Via");
    assert!(first.starts_with("1.1 "), "{first}");
    let second = hv(&log[1].headers, "via").expect("no Via");
    assert_eq!(second, format!("1.0 fred, 1.1 p.example.net, {first}"));
}

// ---- response headers and statuses

#[tokio::test]
async fn response_hop_by_hop_headers_are_removed() {
    let (up, _log) = backend(|_| {
        Response::builder()
            .header("connection", "x-internal")
            .header("x-internal", "secret")
            .header("keep-alive", "timeout=5")
            .header("proxy-authenticate", "Basic")
            .header("upgrade", "h2c")
            .header("x-kept", "yes")
            .body(full("ok"))
            .unwrap()
    })
    .await;
    let gw = proxy_to(up, "").await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), 200);
    for name in ["x-internal", "keep-alive", "proxy-authenticate", "upgrade"] {
        assert!(!response.headers().contains_key(name), "{name} came back");
    }
    assert_eq!(hv(response.headers(), "x-kept"), Some("yes"));
}

#[tokio::test]
async fn redirects_and_their_location_pass_unchanged() {
    let (up, _log) = backend(|seen| {
        let status = match seen.target.as_str() {
            "/301" => 301,
            "/302" => 302,
            "/307" => 307,
            _ => 308,
        };
        Response::builder()
            .status(status)
            .header("location", "http://internal.local:9000/elsewhere?a=%20")
            .body(full("moved"))
            .unwrap()
    })
    .await;
    let gw = proxy_to(up, "").await;
    for code in [301u16, 302, 307, 308] {
        let response = send(gw, get(&format!("/{code}"))).await;
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(
            hv(response.headers(), "location"),
            Some("http://internal.local:9000/elsewhere?a=%20")
        );
        assert_eq!(text(response).await, "moved");
    }
}

#[tokio::test]
async fn upstream_errors_pass_unchanged_without_a_failure() {
    let (up, _log) = backend(|seen| {
        let status: u16 = seen.target.trim_start_matches('/').parse().unwrap();
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(full(format!("{{\"code\":{status}}}")))
            .unwrap()
    })
    .await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    for code in [400u16, 401, 404, 418, 429, 500, 502, 503, 504] {
        let response = upstream
            .clone()
            .oneshot(get(&format!("/{code}")))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), code);
        assert!(response.extensions().get::<Failure>().is_none());
        assert_eq!(
            hv(response.headers(), "content-type"),
            Some("application/json")
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("{{\"code\":{code}}}"));
    }
}

// ---- failures

#[tokio::test]
async fn connection_refused_is_502_with_a_reason() {
    let dead = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let gw = serve_with_peer(Upstream::new(&format!("http://{dead}")).unwrap()).await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(hv(response.headers(), "content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(!text(response).await.trim().is_empty());

    let upstream = Upstream::new(&format!("http://{dead}")).unwrap();
    let response = upstream.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), 502);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Connect);
    assert!(!failure.reason().is_empty());
}

#[tokio::test]
async fn slow_upstream_is_504_with_the_reason_in_body_and_extensions() {
    let (up, _log) = backend(|_| Response::new(full("late"))).await;
    // A backend that accepts but never answers.
    let silent = common::listen(|stream, _| async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(stream);
    })
    .await;
    let _ = up;
    let upstream = Upstream::builder(&format!("http://{silent}"))
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let response = upstream.clone().oneshot(get("/x")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let failure = *response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::Timeout);
    let body = common::body_text(response.into_body()).await;
    assert!(!body.trim().is_empty());
    assert!(body.contains(failure.reason()), "{body:?} vs {failure}");

    let gw = serve_with_peer(upstream).await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), 504);
}

#[tokio::test]
async fn access_log_names_the_failure_reason() {
    let dead = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let sink = MemorySink::new();
    let format =
        tower_gateway::access_log::LogFormat::template("$context.status $context.error.message")
            .unwrap();
    let app = tower::ServiceBuilder::new()
        .layer(AccessLogLayer::new(sink.clone()).format(format))
        .service(Upstream::new(&format!("http://{dead}")).unwrap());
    let response = app.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), 502);
    let _ = response.into_body().collect().await;
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("502 "), "{lines:?}");
    assert!(lines[0].len() > 5, "no reason: {lines:?}");
}

// ---- methods (RFC 9110 §9.3.2) and Expect (§10.1.1)

#[tokio::test]
async fn head_is_forwarded_as_head_and_keeps_the_length() {
    let (up, log) = backend(|_| {
        Response::builder()
            .header("content-length", "1234")
            .header("content-type", "text/plain")
            .body(full(""))
            .unwrap()
    })
    .await;
    let gw = proxy_to(up, "").await;
    let request = Request::head("/file")
        .header("host", "api.example.com")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(hv(response.headers(), "content-length"), Some("1234"));
    assert_eq!(text(response).await, "");
    assert_eq!(only(&log).method, Method::HEAD);
    log.lock().unwrap().clear();
    // The connection is still usable afterwards (no body bytes were sent after the HEAD).
    let raw = raw_exchange(
        gw,
        b"HEAD /file HTTP/1.1\r\nHost: a\r\n\r\nGET /file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(raw.matches("HTTP/1.1 200").count(), 2, "{raw}");
}

#[tokio::test]
async fn methods_are_forwarded_as_they_came() {
    let (up, log) = backend(|seen| Response::new(full(seen.method.to_string()))).await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"] {
        let request = Request::builder()
            .method(method)
            .uri("/m")
            .header("host", "a")
            .body(Full::new(Bytes::from_static(b"x")))
            .unwrap();
        let response = upstream.clone().oneshot(request).await.unwrap();
        assert_eq!(common::body_text(response.into_body()).await, method);
    }
    assert_eq!(log.lock().unwrap().len(), 7);
}

#[tokio::test]
async fn expect_100_continue_gets_its_interim_answer_and_the_body_arrives() {
    let (up, log) = backend(|seen| Response::new(full(seen.body.clone()))).await;
    let gw = proxy_to(up, "").await;
    let mut stream = TcpStream::connect(gw).await.unwrap();
    stream
        .write_all(
            b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
        .await
        .expect("no 100 Continue within 3 s")
        .unwrap();
    let interim = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
    stream.write_all(b"hello").await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    let rest = String::from_utf8_lossy(&rest);
    let all = format!("{interim}{rest}");
    assert!(all.contains("HTTP/1.1 200"), "{all}");
    assert!(all.ends_with("hello"), "{all}");
    assert_eq!(only(&log).body, "hello");
}

#[tokio::test]
async fn interim_1xx_from_the_upstream_does_not_replace_the_final_answer() {
    // RFC 9110 §15.2: a client (here the gateway) must be able to parse 1xx before the final
    // response. The gateway cannot relay a 103 over hyper's server, but it must not be
    // confused by it.
    let up = raw_backend(
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
                  HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Final: yes\r\n\r\nfinal",
    )
    .await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    let response = upstream.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(hv(response.headers(), "x-final"), Some("yes"));
    assert_eq!(common::body_text(response.into_body()).await, "final");
}

// ---- bodies

#[tokio::test]
async fn request_content_length_is_kept() {
    let (up, log) = backend(|_| Response::new(full("ok"))).await;
    let gw = proxy_to(up, "").await;
    let request = Request::post("/p")
        .header("host", "a")
        .header("content-length", "11")
        .body(Full::new(Bytes::from_static(b"hello world")))
        .unwrap();
    assert_eq!(send(gw, request).await.status(), 200);
    let seen = only(&log);
    assert_eq!(hv(&seen.headers, "content-length"), Some("11"));
    assert!(!seen.headers.contains_key("transfer-encoding"));
    assert_eq!(seen.body, "hello world");
}

#[tokio::test]
async fn chunked_request_body_arrives_whole() {
    let (up, log) = backend(|seen| Response::new(full(seen.body.len().to_string()))).await;
    let gw = proxy_to(up, "").await;
    let raw = raw_exchange(
        gw,
        b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    let seen = only(&log);
    assert_eq!(seen.body, "hello world");
    assert!(!seen.headers.contains_key("content-length"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_body_is_streamed_before_it_ends() {
    // The backend answers as soon as it has the first chunk; the client has not ended its body.
    let (first_tx, mut first_rx) = mpsc::channel::<Bytes>(1);
    let first_tx = Arc::new(first_tx);
    let up = common::listen(move |stream, _| {
        let first_tx = first_tx.clone();
        async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let first_tx = first_tx.clone();
                async move {
                    let mut body = request.into_body();
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.unwrap().into_data() {
                            let _ = first_tx.send(data).await;
                            break;
                        }
                    }
                    Ok::<_, Infallible>(Response::new(full("got it")))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
    let gw = proxy_to(up, "").await;
    let (body_tx, body_rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
    let body = StreamBody::new(tokio_stream_from(body_rx));
    let request = Request::post("/p").header("host", "a").body(body).unwrap();
    let client = tokio::spawn(async move { send(gw, request).await.status() });
    body_tx
        .send(Ok(Frame::data(Bytes::from_static(b"first"))))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), first_rx.recv())
        .await
        .expect("the first chunk was held back until the body ended")
        .unwrap();
    assert_eq!(first, "first");
    drop(body_tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_body_is_streamed_and_never_buffered_whole() {
    // The backend sends one chunk, then waits for the client to have it before sending more.
    let (release_tx, release_rx) = mpsc::channel::<()>(1);
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let up = common::listen(move |stream, _| {
        let release_rx = release_rx.clone();
        async move {
            let service = hyper::service::service_fn(move |_request: Request<Incoming>| {
                let release_rx = release_rx.clone();
                async move {
                    let mut release = release_rx.lock().await.take().unwrap();
                    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(2);
                    tokio::spawn(async move {
                        let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"one")))).await;
                        release.recv().await;
                        let _ = tx.send(Ok(Frame::data(Bytes::from_static(b"two")))).await;
                    });
                    Ok::<_, Infallible>(Response::new(StreamBody::new(tokio_stream_from(rx))))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        }
    })
    .await;
    let gw = proxy_to(up, "").await;
    let response = send(gw, get("/stream")).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first chunk was held back")
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(first, "one");
    release_tx.send(()).await.unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_pass_both_ways_unchanged() {
    const LEN: usize = 6 * 1024 * 1024 + 7;
    let (up, log) = backend(|seen| Response::new(full(seen.body.clone()))).await;
    let gw = proxy_to(up, "").await;
    let data: Bytes = (0..LEN).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
    let request = Request::put("/big")
        .header("host", "a")
        .body(Full::new(data.clone()))
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), 200);
    let back = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(back.len(), LEN);
    assert!(back == data);
    assert_eq!(only(&log).body.len(), LEN);
}

#[tokio::test]
async fn response_trailers_are_passed_on_in_process() {
    // A chunked answer with a trailer section (RFC 9112 §7.1.2). hyper's server only sends
    // trailers to a client that asked with `TE: trailers`, which is hop-by-hop and removed, so
    // the backend here is a raw one that sends them anyway.
    let up = raw_backend(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n\
                  4\r\ndata\r\n0\r\nx-checksum: abc\r\n\r\n",
    )
    .await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    let request = Request::get("/t")
        .header("host", "a")
        .header("te", "trailers")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = upstream.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!response.headers().contains_key("trailer"));
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    assert_eq!(collected.to_bytes(), "data");
    assert_eq!(
        trailers.as_ref().and_then(|t| t.get("x-checksum")),
        Some(&"abc".parse().unwrap())
    );
}

#[tokio::test]
async fn backend_closing_mid_body_is_an_error_for_the_client_and_flagged_in_the_log() {
    let up = raw_backend(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b").await;
    let sink = MemorySink::new();
    let format =
        tower_gateway::access_log::LogFormat::template("$context.status $context.responseFlags")
            .unwrap();
    let app = tower::ServiceBuilder::new()
        .layer(AccessLogLayer::new(sink.clone()).format(format))
        .service(Upstream::new(&format!("http://{up}")).unwrap());
    let response = app.clone().oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.into_body().collect().await.is_err());
    let lines = sink.lines();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("200 "), "{lines:?}");
    assert!(lines[0].contains("UE"), "{lines:?}");

    // Over the wire, the client sees the connection end before the promised length.
    let gw = serve_with_peer(app).await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), 200);
    assert!(response.into_body().collect().await.is_err());
}

/// A `Stream` over an mpsc receiver (tokio-stream is not a dependency).
fn tokio_stream_from<T: Send + 'static>(
    rx: mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) })
}

// ---- more of RFC 9110 §7.6 and the gateway built from a config

#[tokio::test]
async fn via_names_the_protocol_version_the_client_spoke() {
    let (up, log) = ok_backend().await;
    let gw = proxy_to(up, "").await;
    let raw = raw_exchange(gw, b"GET /old HTTP/1.0\r\nHost: a\r\n\r\n").await;
    assert!(raw.starts_with("HTTP/1.") && raw.contains(" 200 "), "{raw}");
    let seen = only(&log);
    assert_eq!(hv(&seen.headers, "via"), Some("1.0 tower-gateway"));
}

#[tokio::test]
async fn response_framing_follows_the_upstream() {
    // A sized answer keeps its length; a streamed one stays streamed (no length made up).
    let up = common::listen(|mut stream, _| async move {
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).await.unwrap_or(0);
        let sized = String::from_utf8_lossy(&buf[..n]).starts_with("GET /sized");
        let reply: &[u8] = if sized {
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
        } else {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        };
        let _ = stream.write_all(reply).await;
        let _ = stream.shutdown().await;
    })
    .await;
    let gw = proxy_to(up, "").await;
    let response = send(gw, get("/sized")).await;
    assert_eq!(hv(response.headers(), "content-length"), Some("5"));
    assert!(!response.headers().contains_key("transfer-encoding"));
    assert_eq!(text(response).await, "hello");
    let response = send(gw, get("/streamed")).await;
    assert!(!response.headers().contains_key("content-length"));
    assert_eq!(text(response).await, "abcde");
}

#[tokio::test]
async fn not_modified_and_no_content_pass_without_a_body() {
    let (up, _log) = backend(|seen| {
        let status = if seen.target == "/304" { 304 } else { 204 };
        Response::builder()
            .status(status)
            .header("etag", "\"v1\"")
            .body(full(""))
            .unwrap()
    })
    .await;
    let gw = proxy_to(up, "").await;
    for code in [304u16, 204] {
        let request = Request::get(format!("/{code}"))
            .header("host", "a")
            .header("if-none-match", "\"v1\"")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = send(gw, request).await;
        assert_eq!(response.status().as_u16(), code);
        assert_eq!(hv(response.headers(), "etag"), Some("\"v1\""));
        assert_eq!(text(response).await, "");
    }
}

#[tokio::test]
async fn a_malformed_upstream_answer_is_502_bad_response() {
    let up = raw_backend(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    let upstream = Upstream::new(&format!("http://{up}")).unwrap();
    let response = upstream.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let failure = response.extensions().get::<Failure>().unwrap();
    assert_eq!(failure.kind(), FailureKind::BadResponse);
}

#[tokio::test]
async fn a_gateway_from_toml_proxies_and_logs_a_cut_body() {
    use tower_gateway::access_log::Sink;
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};

    let (up, log) = ok_backend().await;
    let cut = raw_backend(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b").await;
    let config: GatewayConfig = toml::from_str(&format!(
        r#"
        [[routes]]
        path = "/files/{{rest+}}"
        upstream = "http://{up}/store"
        strip_prefix = "/files"
        timeout = "2s"

        [[routes]]
        path = "/cut"
        upstream = "http://{cut}"

        [access_log]
        format = "$context.path $context.status $context.responseFlags"
        sink = "code"
        "#
    ))
    .unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink_lines = lines.clone();
    let services = Services::<Incoming>::new().access_log_sink(Sink::from_fn(move |line| {
        sink_lines.lock().unwrap().push(line.to_owned());
    }));
    let gw = serve_with_peer(Gateway::from_config(config, services).unwrap()).await;

    let response = send(gw, get("/files/a%20b//c.txt?v=2")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "ok");
    let seen = only(&log);
    assert_eq!(seen.target, "/store/a%20b//c.txt?v=2");
    assert_headers(
        &seen.headers,
        &[
            ("via", "1.1 tower-gateway"),
            ("x-forwarded-host", "api.example.com"),
        ],
    );

    let response = send(gw, get("/cut")).await;
    assert_eq!(response.status(), 200);
    assert!(response.into_body().collect().await.is_err());
    // The record is written when the body fails; give the server task a moment.
    for _ in 0..50 {
        if lines.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], "/files/a%20b//c.txt 200 -");
    assert!(
        lines[1].starts_with("/cut 200 ") && lines[1].contains("UE"),
        "{lines:?}"
    );
}

#[tokio::test]
#[allow(clippy::result_large_err)] // tungstenite's callback signature
async fn a_websocket_upstream_gets_via_and_the_forwarded_headers() {
    use tokio_tungstenite::tungstenite::handshake::server::Response as WsResponse;
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request as WsRequest};
    use tower_gateway::upstream::WebSocketUpstream;

    let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let seen_by_backend = seen.clone();
    let backend = common::listen(move |stream, _| {
        let seen = seen_by_backend.clone();
        async move {
            let callback = move |req: &WsRequest, res: WsResponse| {
                seen.lock().unwrap().push(req.headers().clone());
                Ok::<_, ErrorResponse>(res)
            };
            let _ = tokio_tungstenite::accept_hdr_async(stream, callback).await;
        }
    })
    .await;
    let gw = serve_with_peer(WebSocketUpstream::new(&format!("ws://{backend}")).unwrap()).await;
    let mut stream = TcpStream::connect(gw).await.unwrap();
    stream
        .write_all(
            b"GET /chat HTTP/1.1\r\nHost: gw.example\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\nVia: 1.1 edge\r\n\r\n",
        )
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let headers = seen.lock().unwrap()[0].clone();
    assert_eq!(hv(&headers, "via"), Some("1.1 edge, 1.1 tower-gateway"));
    assert_eq!(hv(&headers, "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(
        hv(&headers, "forwarded"),
        Some("for=127.0.0.1;proto=http;host=gw.example")
    );
}

#[tokio::test]
async fn repeated_fields_keep_every_line_in_order_both_ways() {
    let (up, log) = backend(|_| {
        Response::builder()
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; HttpOnly")
            .body(full("ok"))
            .unwrap()
    })
    .await;
    let gw = proxy_to(up, "").await;
    let request = Request::get("/x")
        .header("host", "a")
        .header("accept", "text/html")
        .header("accept", "application/json;q=0.9")
        .header("cookie", "s=1")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send(gw, request).await;
    let cookies: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);
    let seen = only(&log);
    let accept: Vec<_> = seen.headers.get_all("accept").iter().collect();
    assert_eq!(accept, ["text/html", "application/json;q=0.9"]);
    assert_eq!(hv(&seen.headers, "cookie"), Some("s=1"));
}

#[tokio::test]
async fn an_ipv6_upstream_gets_a_bracketed_host() {
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        return; // no IPv6 loopback here
    };
    let addr = listener.local_addr().unwrap();
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let seen_by_backend = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen_by_backend.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                *seen.lock().unwrap() = hv(request.headers(), "host").map(str::to_owned);
                async { Ok::<_, Infallible>(Response::new(full("six"))) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    let upstream = Upstream::new(&format!("http://[::1]:{}/v6", addr.port())).unwrap();
    let response = upstream.oneshot(get("/x")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(common::body_text(response.into_body()).await, "six");
    assert_eq!(
        seen.lock().unwrap().as_deref(),
        Some(format!("[::1]:{}", addr.port()).as_str())
    );
}

#[tokio::test]
async fn head_to_a_get_upstream_route_of_the_gateway_is_forwarded_as_head() {
    use tower_gateway::gateway::{Gateway, GatewayConfig, Services};

    let (up, log) = backend(|_| {
        Response::builder()
            .header("content-length", "42")
            .body(full(""))
            .unwrap()
    })
    .await;
    let config: GatewayConfig = toml::from_str(&format!(
        r#"
        [[routes]]
        path = "/docs/{{rest+}}"
        methods = ["GET"]
        upstream = "http://{up}/static"
        strip_prefix = "/docs"
        "#
    ))
    .unwrap();
    let gw =
        serve_with_peer(Gateway::from_config(config, Services::<Incoming>::new()).unwrap()).await;
    let request = Request::head("/docs/a.html")
        .header("host", "a")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send(gw, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(hv(response.headers(), "content-length"), Some("42"));
    assert_eq!(text(response).await, "");
    let seen = only(&log);
    assert_eq!(seen.method, Method::HEAD);
    assert_eq!(seen.target, "/static/a.html");
}

#[tokio::test]
async fn a_chunked_body_cut_short_is_not_passed_off_as_complete() {
    let up =
        raw_backend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").await;
    let gw = proxy_to(up, "").await;
    let response = send(gw, get("/x")).await;
    assert_eq!(response.status(), 200);
    // The client must not see a clean end: the last chunk never came.
    assert!(response.into_body().collect().await.is_err());
}
