//! OriginGuard against tower-http 0.7's `csrf` layer, on identical requests, in the same run.
//!
//! Each case builds its requests outside the timed region, then times `poll_ready` + `call` +
//! polling the response future once (every future here is ready at once, so no runtime is
//! involved). The inner service parks each request in a pre-allocated sink, so dropping
//! requests and responses happens after the clock stops. A refusal drops its request inside the
//! clock, on both sides, so the refused case also times "no layer, request dropped": the floor
//! of any refusal, to read the layers' own cost against. Before timing, both sides must give the
//! same status for every case. After the timings, allocations per request are printed for both
//! sides (a counting global allocator).

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use tower_gateway::origin::OriginGuardLayer;
use tower_http::csrf::CsrfLayer;

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/profile.rs"]
mod profile;

use alloc::allocations;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

thread_local! {
    /// Where the inner service puts the requests it gets, so dropping them is not timed.
    static SINK: RefCell<Vec<Request<Full<Bytes>>>> = RefCell::new(Vec::with_capacity(4096));
}

fn empty_sink() {
    SINK.with(|sink| sink.borrow_mut().clear());
}

/// Readies `service`, calls it and polls the answer once.
fn call<S, B>(service: &mut S, request: Request<Full<Bytes>>, cx: &mut Context<'_>) -> Response<B>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
{
    assert!(matches!(service.poll_ready(cx), Poll::Ready(Ok(()))));
    let future = pin!(service.call(request));
    match future.poll(cx) {
        Poll::Ready(Ok(response)) => response,
        _ => unreachable!("every future here is ready at once"),
    }
}

/// Times `n` calls on prepared requests; requests and responses are dropped after the clock.
fn timed<S, B>(
    service: &mut S,
    make: fn() -> Request<Full<Bytes>>,
    n: u64,
    cx: &mut Context<'_>,
) -> Duration
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
{
    // Batches keep the prepared requests in cache and the memory use small.
    const BATCH: u64 = 256;
    let mut elapsed = Duration::ZERO;
    let mut left = n;
    let mut responses = Vec::with_capacity(BATCH as usize);
    while left > 0 {
        let size = left.min(BATCH);
        left -= size;
        let requests: Vec<_> = (0..size).map(|_| make()).collect();
        let start = Instant::now();
        for request in requests {
            responses.push(call(service, black_box(request), cx));
        }
        elapsed += start.elapsed();
        black_box(&responses);
        responses.clear();
        empty_sink();
    }
    elapsed
}

type Case = (&'static str, fn() -> Request<Full<Bytes>>, StatusCode);

fn request(method: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri("/api/transfer?id=42");
    builder = builder
        .header("host", "bank.example.com")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0",
        )
        .header("accept", "*/*")
        .header("accept-language", "en-US,en;q=0.9")
        .header("cookie", "session=0123456789abcdef");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Full::default()).expect("valid bench request")
}

const CASES: [Case; 5] = [
    (
        "same-origin POST by Sec-Fetch-Site",
        || {
            request(
                "POST",
                &[
                    ("origin", "https://bank.example.com"),
                    ("sec-fetch-site", "same-origin"),
                ],
            )
        },
        StatusCode::OK,
    ),
    (
        "cross-site POST refused",
        || {
            request(
                "POST",
                &[
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "cross-site"),
                ],
            )
        },
        StatusCode::FORBIDDEN,
    ),
    (
        "POST with only a matching Origin",
        || request("POST", &[("origin", "https://bank.example.com")]),
        StatusCode::OK,
    ),
    (
        "safe GET",
        || {
            request(
                "GET",
                &[
                    ("origin", "https://evil.example"),
                    ("sec-fetch-site", "cross-site"),
                ],
            )
        },
        StatusCode::OK,
    ),
    (
        "cross-site POST from 1 of 100 trusted origins",
        || {
            request(
                "POST",
                &[
                    ("origin", "https://app57.example.com"),
                    ("sec-fetch-site", "cross-site"),
                ],
            )
        },
        StatusCode::OK,
    ),
];

fn trusted() -> Vec<String> {
    (0..100)
        .map(|i| format!("https://app{i}.example.com"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let inner = service_fn(|request: Request<Full<Bytes>>| {
        SINK.with(|sink| sink.borrow_mut().push(request));
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())))
    });
    let ours = OriginGuardLayer::builder()
        .trust_origins(trusted())
        .build()
        .expect("valid guard");
    let mut theirs = CsrfLayer::new();
    for origin in trusted() {
        theirs = theirs
            .add_trusted_origin(origin)
            .expect("valid csrf origin");
    }
    let mut ours = ours.layer(inner);
    let mut theirs = theirs.layer(inner);
    let mut baseline = inner;
    // The floor of any refusal: a service that only drops the request (both layers must).
    let mut dropping = service_fn(|request: Request<Full<Bytes>>| {
        drop(request);
        std::future::ready(Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())))
    });

    let waker = poll::noop_waker();
    let mut cx = Context::from_waker(&waker);

    // `BENCH_PROFILE=ours|theirs|none|dropping:<case>` loops one side on one case for a
    // profiler instead of timing (`benches/profile.sh origin ours:safe-GET none:safe-GET`):
    // `<case>` is the case name with spaces as `-`; `none` is the inner service alone and
    // `dropping` the service that only drops the request (the floor of a refusal). The
    // request is built inside the loop on every side: subtract `build:<case>`.
    if let Some((spec, n)) = profile::requested() {
        let (side, name) = spec.split_once(':').expect("BENCH_PROFILE=side:case");
        let (_, make, _) = CASES
            .into_iter()
            .find(|(case, _, _)| case.replace(' ', "-") == name)
            .expect("a case name, spaces as -");
        profile::run(n, || {
            let request = black_box(make());
            match side {
                "ours" => drop(black_box(call(&mut ours, request, &mut cx))),
                "theirs" => drop(black_box(call(&mut theirs, request, &mut cx))),
                "none" => drop(black_box(call(&mut baseline, request, &mut cx))),
                "dropping" => drop(black_box(call(&mut dropping, request, &mut cx))),
                _ => drop(request),
            }
            empty_sink();
        });
    }

    for (name, make, status) in CASES {
        assert_eq!(
            call(&mut ours, make(), &mut cx).status(),
            status,
            "ours: {name}"
        );
        assert_eq!(
            call(&mut theirs, make(), &mut cx).status(),
            status,
            "tower-http: {name}"
        );
    }

    for (name, make, status) in CASES {
        let mut group = c.benchmark_group(name);
        group.bench_function("tower-gateway", |b| {
            b.iter_custom(|n| timed(&mut ours, make, n, &mut cx))
        });
        group.bench_function("tower-http csrf", |b| {
            b.iter_custom(|n| timed(&mut theirs, make, n, &mut cx))
        });
        group.bench_function("no layer", |b| {
            b.iter_custom(|n| timed(&mut baseline, make, n, &mut cx))
        });
        if status == StatusCode::FORBIDDEN {
            group.bench_function("no layer, request dropped", |b| {
                b.iter_custom(|n| timed(&mut dropping, make, n, &mut cx))
            });
        }
        group.finish();
    }

    // The decision alone, on a prepared request head (ours only: tower-http's is private).
    let guard = OriginGuardLayer::builder()
        .trust_origins(trusted())
        .build()
        .expect("valid guard");
    let mut group = c.benchmark_group("decision only (OriginGuardLayer::check)");
    for (name, make, _) in CASES {
        let (parts, _) = make().into_parts();
        group.bench_function(name, |b| {
            b.iter(|| black_box(guard.check(black_box(&parts))))
        });
    }
    group.finish();

    const N: usize = 1000;
    println!("\nallocations per request (request construction excluded):");
    for (name, make, _) in CASES {
        let count = |service: &mut dyn FnMut(Request<Full<Bytes>>)| {
            let requests: Vec<_> = (0..N).map(|_| make()).collect();
            let before = allocations();
            for r in requests {
                service(r);
            }
            let after = allocations();
            empty_sink();
            (after - before) as f64 / N as f64
        };
        let a = count(&mut |r| drop(call(&mut ours, r, &mut cx)));
        let b = count(&mut |r| drop(call(&mut theirs, r, &mut cx)));
        let base = count(&mut |r| drop(call(&mut baseline, r, &mut cx)));
        println!("  {name:48} tower-gateway {a:.2}  tower-http {b:.2}  no layer {base:.2}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
