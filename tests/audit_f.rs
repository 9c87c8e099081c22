//! Audit (session 6, second pass): the access-log record in every way a request can end, time
//! fields, W3C `traceparent` edge cases, and WebSocket handshakes the upstream must refuse
//! (RFC 6455 §4.2.1-2).
#![cfg(all(feature = "access-log", feature = "upstream", feature = "router"))]

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::body_text;
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::{service_fn, Layer, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, ManualClock, MemorySink, TraceId};
use tower_gateway::upstream::WebSocketUpstream;

const FLAGS: &str = "$context.status $context.responseLength $context.responseFlags";

fn log(sink: &MemorySink, template: &str) -> AccessLogLayer {
    AccessLogLayer::new(sink.clone()).format(LogFormat::template(template).unwrap())
}

// ----- the record, once, in every ending -------------------------------------------------------

#[tokio::test]
async fn a_body_ending_with_trailers_is_one_complete_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"abc"))),
            Ok(Frame::data(Bytes::from_static(b"de"))),
            Ok(Frame::trailers(trailers)),
        ];
        Ok::<_, Infallible>(Response::new(StreamBody::new(futures_util::stream::iter(
            frames,
        ))))
    });
    let res = log(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let collected = res.into_body().collect().await.unwrap();
    assert_eq!(collected.trailers().unwrap()["grpc-status"], "0");
    assert_eq!(sink.take(), vec!["200 5 -".to_owned()]);
}

/// A panic is the inner service failing, not the client leaving: `UE`, not `DC`.
#[tokio::test]
async fn a_panicking_inner_future_still_writes_one_flagged_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        if true {
            panic!("handler bug");
        }
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let svc = log(&sink, FLAGS).layer(app);
    let joined = tokio::spawn(svc.oneshot(common::request("GET", "/"))).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(sink.take(), vec!["0 0 UE".to_owned()]);
}

#[tokio::test]
async fn a_body_panicking_half_way_writes_one_record_flagged_as_an_inner_error() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let frames = futures_util::stream::iter(0..2).map(|i| {
            assert!(i == 0, "body bug");
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"abc")))
        });
        Ok::<_, Infallible>(Response::new(StreamBody::new(frames)))
    });
    let res = log(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let joined = tokio::spawn(async move { res.into_body().collect().await }).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(sink.take(), vec!["200 3 UE".to_owned()]);
}

#[tokio::test]
async fn a_cancelled_request_writes_one_record_and_no_second_when_the_task_ends() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        std::future::pending::<()>().await;
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let svc = log(&sink, FLAGS).layer(app);
    let task = tokio::spawn(svc.oneshot(common::request("GET", "/")));
    tokio::task::yield_now().await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(sink.take(), vec!["0 0 DC".to_owned()]);
}

#[tokio::test]
async fn a_body_read_to_its_end_then_dropped_is_not_a_disconnect() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
    });
    let res = log(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    assert_eq!(frame.into_data().unwrap(), "hello");
    // Full says it has ended after its one frame: the record is written at once.
    assert_eq!(sink.take(), vec!["200 5 -".to_owned()]);
    drop(body);
    assert!(sink.take().is_empty());
}

#[tokio::test]
async fn a_switching_protocols_answer_without_a_tunnel_is_one_record_status_101() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        let mut res = Response::new(Full::new(Bytes::from_static(b"ignored")));
        *res.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
        res.headers_mut()
            .insert("upgrade", HeaderValue::from_static("websocket"));
        res.headers_mut()
            .insert("connection", HeaderValue::from_static("Upgrade"));
        Ok::<_, Infallible>(res)
    });
    let res = log(&sink, FLAGS)
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    assert_eq!(res.headers()["upgrade"], "websocket");
    assert_eq!(res.headers()["connection"], "Upgrade");
    // A server drops a 101's body unsent: one record, no bytes, not a disconnect.
    drop(res);
    assert_eq!(sink.take(), vec!["101 0 -".to_owned()]);
}

// ----- time fields -----------------------------------------------------------------------------

#[tokio::test]
async fn latencies_are_whole_milliseconds_to_headers_and_to_the_last_byte() {
    let sink = MemorySink::new();
    let clock = ManualClock::at_unix(1_700_000_000);
    let inner_clock = clock.clone();
    let app = service_fn(move |_req: Request<Full<Bytes>>| {
        let clock = inner_clock.clone();
        async move {
            clock.advance(Duration::from_micros(12_900));
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"x"))))
        }
    });
    let res = AccessLogLayer::new(sink.clone())
        .format(
            LogFormat::template("$context.integrationLatency $context.responseLatency").unwrap(),
        )
        .clock(clock.clone())
        .layer(app)
        .oneshot(common::request("GET", "/"))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(30));
    body_text(res.into_body()).await;
    // Milliseconds, truncated as AWS's integers are: 12.9 ms -> 12, 42.9 ms -> 42.
    assert_eq!(sink.take(), vec!["12 42".to_owned()]);
}

// ----- W3C trace context -----------------------------------------------------------------------

#[test]
fn traceparent_follows_the_w3c_parsing_rules() {
    let t = "4bf92f3577b34da6a3ce929d0e0e4736";
    let p = "00f067aa0ba902b7";
    let ok = |v: &str| TraceId::parse(v).map(|id| id.as_str().to_owned());
    assert_eq!(ok(&format!("00-{t}-{p}-01")).as_deref(), Some(t));
    assert_eq!(ok(&format!("00-{t}-{p}-00")).as_deref(), Some(t));
    // A later version: the same first four fields, more allowed only after a dash.
    assert_eq!(ok(&format!("01-{t}-{p}-01")).as_deref(), Some(t));
    assert_eq!(
        ok(&format!("cc-{t}-{p}-01-what-the-future-holds")).as_deref(),
        Some(t)
    );
    // Optional whitespace around the value is not part of it (the W3C test suite's
    // `test_traceparent_ows_handling`).
    for padded in [
        format!(" 00-{t}-{p}-01"),
        format!("\t00-{t}-{p}-01"),
        format!("00-{t}-{p}-01 "),
        format!("00-{t}-{p}-01\t"),
        format!("\t 00-{t}-{p}-01 \t"),
    ] {
        assert_eq!(ok(&padded).as_deref(), Some(t), "{padded:?}");
    }
    for bad in [
        format!("ff-{t}-{p}-01"),
        format!("00-{t}-{p}-01-"),
        format!("00-{t}-{p}-01x"),
        format!("cc-{t}-{p}-01x"),
        format!("00-{t}-0000000000000000-01"),
        format!("00-{t}-00F067AA0BA902B7-01"),
        format!("00-{t}-{p}-0A"),
        format!("0A-{t}-{p}-01"),
        format!("0g-{t}-{p}-01"),
        format!("00-{}-{p}-01", &t[1..]),
        format!("00-{t}0-{p}-01"),
        format!("00-{t}-{p}-1"),
        format!("00_{t}-{p}-01"),
        format!("00-{t}-{p}-01\n"),
        format!("00 -{t}-{p}-01"),
        String::new(),
    ] {
        assert_eq!(ok(&bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn a_traceparent_with_optional_whitespace_gives_its_trace_id_in_the_record() {
    let sink = MemorySink::new();
    let app = service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    });
    let mut req = common::request("GET", "/");
    req.headers_mut().insert(
        "traceparent",
        HeaderValue::from_static("\t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 "),
    );
    let res = log(&sink, "$context.traceId")
        .layer(app)
        .oneshot(req)
        .await
        .unwrap();
    body_text(res.into_body()).await;
    assert_eq!(
        sink.take(),
        vec!["4bf92f3577b34da6a3ce929d0e0e4736".to_owned()]
    );
}

// ----- WebSocket handshakes the upstream must refuse ---------------------------------------------

/// A backend that only counts the connections it is offered.
async fn counting_backend() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let addr = common::listen(move |_stream, _| {
        seen.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .await;
    (addr, count)
}

/// Serves `upstream` on 127.0.0.1 with upgrades, sends `head` raw, returns the answer's head.
async fn raw_exchange(upstream: WebSocketUpstream, head: &str) -> String {
    let addr = common::listen(move |stream, _| {
        let svc = upstream.clone();
        async move {
            let svc = tower::service_fn(move |req: Request<Incoming>| svc.clone().oneshot(req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                .with_upgrades()
                .await;
        }
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

fn handshake(extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\nconnection: Upgrade\r\n{extra}\r\n"
    )
}

#[tokio::test]
async fn a_handshake_without_a_valid_key_is_400_and_the_backend_is_not_contacted() {
    let (backend, offered) = counting_backend().await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let without_connection = "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = raw_exchange(upstream.clone(), without_connection).await;
    assert!(answer.starts_with("http/1.1 400"), "{answer}");
    for extra in [
        "sec-websocket-version: 13\r\n",
        "sec-websocket-version: 13\r\nsec-websocket-key: short\r\n",
        "sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ] {
        let answer = raw_exchange(upstream.clone(), &handshake(extra)).await;
        assert!(answer.starts_with("http/1.1 400"), "{extra:?}: {answer}");
    }
    assert_eq!(offered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_unsupported_version_is_426_naming_version_13() {
    let (backend, offered) = counting_backend().await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    for version in ["sec-websocket-version: 8\r\n", ""] {
        let extra = format!("sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n{version}");
        let answer = raw_exchange(upstream.clone(), &handshake(&extra)).await;
        assert!(answer.starts_with("http/1.1 426"), "{version:?}: {answer}");
        assert!(
            answer.contains("\r\nsec-websocket-version: 13\r\n"),
            "{answer}"
        );
    }
    assert_eq!(offered.load(Ordering::SeqCst), 0);
}

// ----- canary: round-robin stays exact per cycle under concurrent calls ---------------------------

#[cfg(feature = "canary")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_robin_is_exact_per_cycle_under_concurrent_calls() {
    use common::Named;
    use tower::Service;
    use tower_gateway::canary::{CanaryLayer, Mode};

    let arms = [Named::new("a"), Named::new("b"), Named::new("c")];
    let split = CanaryLayer::builder()
        .stable("a", 5)
        .arm("b", arms[1].clone(), 1)
        .arm("c", arms[2].clone(), 1)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(arms[0].clone());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut split = split.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..875 {
                let svc = ServiceExt::<Request<Full<Bytes>>>::ready(&mut split)
                    .await
                    .unwrap();
                svc.call(common::request("GET", "/")).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // 7,000 calls are 1,000 whole cycles of 5 + 1 + 1, whatever the interleaving.
    assert_eq!(arms.each_ref().map(Named::calls), [5_000, 1_000, 1_000]);
}

#[tokio::test]
async fn a_valid_handshake_with_a_connection_list_is_proxied_and_its_101_passed_intact() {
    let backend = common::listen(|stream, _| async move {
        if let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await {
            use futures_util::StreamExt;
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await;
    let upstream = WebSocketUpstream::new(&format!("ws://{backend}")).unwrap();
    let head = "GET /ws HTTP/1.1\r\nhost: gw.example.com\r\nupgrade: websocket\r\n\
                connection: keep-alive, Upgrade\r\nsec-websocket-version: 13\r\n\
                sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = raw_exchange(upstream, head).await;
    assert!(answer.starts_with("http/1.1 101"), "{answer}");
    // RFC 6455 §1.3's example key and its accept value, computed by the backend.
    assert!(
        answer.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nupgrade: websocket\r\n"), "{answer}");
}
