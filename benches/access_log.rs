//! AccessLog against tower-http's `TraceLayer` (a `tracing_subscriber` fmt layer writing through
//! `tracing_appender::non_blocking` to a discarding sink), in the same run.
//!
//! Per request: the call, the response body driven to its end, the record handed to a
//! non-blocking writer on its own thread. Also the sustained rate of our writer, and
//! allocations per request counted on the request thread.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::Full;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_gateway::access_log::{
    AccessLogLayer, LogFormat, MemorySink, NonBlocking, RequestIds, Sink,
};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

// ------------------------------------------------------------ allocation counting

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;

use alloc::allocations;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

// ------------------------------------------------------------ driving without a runtime

/// Polls a future that must be ready at once (every service here answers immediately).
fn now<F: Future>(future: F, cx: &mut Context<'_>) -> F::Output {
    match pin!(future).poll(cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the bench services answer at once"),
    }
}

/// Calls the service and drives the response body to its end, as a server would.
fn serve<S, B>(svc: &mut S, req: Request<Full<Bytes>>, cx: &mut Context<'_>) -> StatusCode
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let res = now(svc.ready(), cx).unwrap().call(req);
    let res = now(res, cx).unwrap();
    let status = res.status();
    let mut body = pin!(res.into_body());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(cx) {
        black_box(frame.unwrap());
    }
    assert!(body.is_end_stream());
    status
}

// ------------------------------------------------------------ inputs

fn template_request() -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method("GET")
        .uri("/pets/42?verbose=1")
        .header("host", "api.example.com")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .header("referer", "https://shop.example/pets")
        .header("accept", "application/json")
        .body(Full::default())
        .unwrap();
    req.extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
    req
}

/// A request as hyper hands it over: header and URI bytes already shared (cloning them is a
/// reference-count bump, not a copy).
fn request(template: &Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(template.method().clone())
        .uri(template.uri().clone())
        .version(template.version())
        .body(Full::default())
        .unwrap();
    *req.headers_mut() = template.headers().clone();
    req.extensions_mut()
        .insert(SocketAddr::from(([203, 0, 113, 7], 50_000)));
    req
}

fn app(
) -> impl Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone
{
    service_fn(|_req: Request<Full<Bytes>>| {
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::default())))
    })
}

/// A writer that discards bytes but counts them.
#[derive(Clone, Default)]
struct CountLines(Arc<AtomicU64>);
impl io::Write for CountLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn per_request_allocs<S, B>(
    svc: &mut S,
    template: &Request<Full<Bytes>>,
    cx: &mut Context<'_>,
) -> f64
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    const N: u64 = 10_000;
    for _ in 0..1_000 {
        serve(svc, request(template), cx); // warm the buffers and pools
    }
    let mut total = 0;
    for _ in 0..N {
        let req = request(template);
        let before = allocations();
        serve(svc, req, cx);
        total += allocations() - before;
    }
    total as f64 / N as f64
}

fn benches(c: &mut Criterion) {
    let waker = poll::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let template = template_request();
    let _ = request(&template); // share the template's bytes once

    // Theirs: TraceLayer, one INFO line per request (span + on_response), through
    // tracing-appender's non-blocking writer.
    let their_lines = CountLines::default();
    let (their_writer, their_guard) = tracing_appender::non_blocking(their_lines.clone());
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(their_writer)
            .with_max_level(Level::INFO)
            .finish(),
    )
    .unwrap();
    let mut theirs = TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .layer(app());

    // Ours: a lossy NonBlocking writer on its own thread, to a discarding sink.
    let our_lines = CountLines::default();
    let (our_writer, our_guard) = NonBlocking::builder()
        .capacity(65_536)
        .spawn(our_lines.clone())
        .unwrap();
    let ours = |format: LogFormat, ids: RequestIds| {
        AccessLogLayer::new(our_writer.clone())
            .format(format)
            .request_ids(ids)
            .layer(app())
    };
    let mut combined = ours(LogFormat::apache_combined(), RequestIds::KeepOrGenerate);
    let mut combined_no_ids = ours(LogFormat::apache_combined(), RequestIds::Off);
    let mut json = ours(LogFormat::json(), RequestIds::KeepOrGenerate);
    let mut json_no_ids = ours(LogFormat::json(), RequestIds::Off);
    let mut baseline = app();
    let mut discard_no_ids = AccessLogLayer::new(Sink::discard())
        .request_ids(RequestIds::Off)
        .layer(app());

    // Same answers before timing, and our record as expected.
    let memory = MemorySink::new();
    let mut check = AccessLogLayer::new(Sink::from(memory.clone())).layer(app());
    assert_eq!(
        serve(&mut check, request(&template), &mut cx),
        StatusCode::OK
    );
    let line = memory.take().remove(0);
    assert!(line.starts_with("203.0.113.7 - - ["), "{line}");
    assert!(line.ends_with("\"GET /pets/42?verbose=1 HTTP/1.1\" 200 - \"https://shop.example/pets\" \"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\""), "{line}");
    for svc_status in [
        serve(&mut theirs, request(&template), &mut cx),
        serve(&mut combined, request(&template), &mut cx),
        serve(&mut json, request(&template), &mut cx),
        serve(&mut baseline, request(&template), &mut cx),
    ] {
        assert_eq!(svc_status, StatusCode::OK);
    }

    // Allocations per request, on the request thread.
    eprintln!("allocations per request (request thread):");
    eprintln!(
        "  baseline (no layer)        {:6.2}",
        per_request_allocs(&mut baseline, &template, &mut cx)
    );
    eprintln!(
        "  tower-http TraceLayer      {:6.2}",
        per_request_allocs(&mut theirs, &template, &mut cx)
    );
    eprintln!(
        "  ours combined              {:6.2}",
        per_request_allocs(&mut combined, &template, &mut cx)
    );
    eprintln!(
        "  ours combined, ids off     {:6.2}",
        per_request_allocs(&mut combined_no_ids, &template, &mut cx)
    );
    eprintln!(
        "  ours json                  {:6.2}",
        per_request_allocs(&mut json, &template, &mut cx)
    );
    eprintln!(
        "  ours json, ids off         {:6.2}",
        per_request_allocs(&mut json_no_ids, &template, &mut cx)
    );
    // The request path without the hand-off: format into the reused buffer, then discard.
    eprintln!(
        "  ours combined, ids off, discard sink {:6.2}",
        per_request_allocs(&mut discard_no_ids, &template, &mut cx)
    );

    let mut group = c.benchmark_group("request");
    macro_rules! case {
        ($name:expr, $svc:expr) => {
            // Start each case with our writer drained, so no case pays for the backlog of
            // the one before (the writer thread competes for the same two cores).
            our_guard.flush();
            group.bench_function($name, |b| {
                b.iter_batched(
                    || request(&template),
                    |req| black_box(serve(&mut $svc, req, &mut cx)),
                    BatchSize::SmallInput,
                )
            });
        };
    }
    case!("baseline", baseline);
    case!("tower_http_trace", theirs);
    case!("ours_combined", combined);
    case!("ours_combined_ids_off", combined_no_ids);
    case!("ours_json", json);
    case!("ours_json_ids_off", json_no_ids);
    case!("ours_combined_ids_off_discard_sink", discard_no_ids);
    group.finish();

    // Sustained records per second through our writer (blocking mode: nothing dropped).
    let mut group = c.benchmark_group("writer");
    group.throughput(Throughput::Elements(1));
    let sample = "203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] \"GET /pets/42?verbose=1 HTTP/1.1\" 200 17 \"https://shop.example/pets\" \"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\"";
    let sustained = CountLines::default();
    let (writer, guard) = NonBlocking::builder()
        .capacity(65_536)
        .lossy(false)
        .spawn(sustained.clone())
        .unwrap();
    group.bench_function("ours_non_blocking_records", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                writer.write_line(black_box(sample));
            }
            guard.flush(); // written, not just queued
            start.elapsed()
        })
    });
    group.finish();
    assert_eq!(writer.dropped(), 0);
    drop(guard);

    drop(our_guard);
    drop(their_guard);
    eprintln!(
        "bytes written: ours {} (records dropped {}), theirs {}; sustained writer {} bytes",
        our_lines.0.load(Ordering::Relaxed),
        our_writer.dropped(),
        their_lines.0.load(Ordering::Relaxed),
        sustained.0.load(Ordering::Relaxed),
    );
}

criterion_group!(access_log, benches);
criterion_main!(access_log);
