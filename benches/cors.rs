//! CorsLayer against tower-http's CorsLayer 0.7, in the same run, over an inner service that
//! answers an empty `200`. Before timing, both sides are checked to give the same answer as a
//! browser would read it. Allocations per request are counted with a counting allocator and
//! printed before the timings.
//!
//! Request header values are `HeaderValue::from_static` (hyper's are slices of its read
//! buffer: cloning either never allocates), built outside the timed region. The timed region
//! is the call and the drop of its response, as in a server.

#![allow(clippy::type_complexity)] // tower service types, as in the library

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, Criterion};
use http::header::{HeaderName, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response};
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use tower_gateway::cors::CorsConfig;
use tower_http::cors::{AllowOrigin, CorsLayer as TowerCors};

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/profile.rs"]
mod profile;

use alloc::allocations;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const APP: &str = "https://app.example.com";

/// Calls a service whose future is ready at once, without a runtime.
fn call<S, R>(svc: &mut S, req: R) -> S::Response
where
    S: Service<R>,
    S::Error: std::fmt::Debug,
{
    static WAKER: OnceLock<Waker> = OnceLock::new();
    let waker = WAKER.get_or_init(poll::noop_waker);
    let mut cx = Context::from_waker(waker);
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("inner not ready"),
    }
    let mut fut = pin!(svc.call(req));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(res)) => res,
        _ => panic!("future not ready"),
    }
}

fn inner() -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>,
> + Clone {
    service_fn(|_req: Request<Full<Bytes>>| std::future::ready(Ok(Response::new(Full::default()))))
}

/// An extension a request carries before it reaches the layer (as a request id would).
#[derive(Clone, Copy)]
struct RequestId(#[allow(dead_code)] u64);

struct Case {
    name: &'static str,
    origins: Origins,
    request: fn(&HeaderValue) -> Request<Full<Bytes>>,
}

#[derive(Clone, Copy)]
enum Origins {
    One,
    Thousand,
    Pattern,
}

fn origin_list(n: usize) -> Vec<String> {
    // The allowed origin comes last.
    let mut v: Vec<String> = (0..n - 1)
        .map(|i| format!("https://o{i}.example.net"))
        .collect();
    v.push(APP.to_owned());
    v
}

fn ours(origins: Origins) -> tower_gateway::cors::CorsLayer {
    let config = match origins {
        Origins::One => CorsConfig::new().allow_origin(APP),
        Origins::Thousand => CorsConfig::new().allow_origins(origin_list(1000)),
        Origins::Pattern => CorsConfig::new().allow_origin("https://*.example.com"),
    };
    config
        .allow_methods(["PUT", "DELETE"])
        .allow_headers(["content-type", "x-request-id"])
        .expose_headers(["x-total"])
        .allow_credentials(true)
        .max_age(600)
        .build()
        .expect("valid policy")
}

fn theirs(origins: Origins) -> TowerCors {
    let allow = match origins {
        Origins::One => AllowOrigin::exact(HeaderValue::from_static(APP)),
        Origins::Thousand => AllowOrigin::list(
            origin_list(1000)
                .into_iter()
                .map(|o| HeaderValue::try_from(o).expect("valid")),
        ),
        Origins::Pattern => AllowOrigin::predicate(|o: &HeaderValue, _| {
            let b = o.as_bytes();
            b.starts_with(b"https://") && b.ends_with(b".example.com") && b.len() > 20
        }),
    };
    TowerCors::new()
        .allow_origin(allow)
        .allow_methods([Method::PUT, Method::DELETE])
        .allow_headers([CONTENT_TYPE, HeaderName::from_static("x-request-id")])
        .expose_headers([HeaderName::from_static("x-total")])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

fn actual(origin: &'static str) -> Request<Full<Bytes>> {
    Request::builder()
        .method("GET")
        .uri("/items/1")
        .header("origin", HeaderValue::from_static(origin))
        .body(Full::default())
        .expect("request")
}

fn preflight(origin: &'static str, acrh: HeaderValue) -> Request<Full<Bytes>> {
    Request::builder()
        .method("OPTIONS")
        .uri("/items/1")
        .header("origin", HeaderValue::from_static(origin))
        .header(
            "access-control-request-method",
            HeaderValue::from_static("PUT"),
        )
        .header("access-control-request-headers", acrh)
        .body(Full::default())
        .expect("request")
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (names, origins) in [
        (
            [
                "1 origin/actual allowed",
                "1 origin/actual refused",
                "1 origin/preflight accepted",
                "1 origin/preflight refused",
            ],
            Origins::One,
        ),
        (
            [
                "1000 origins/actual allowed",
                "1000 origins/actual refused",
                "1000 origins/preflight accepted",
                "1000 origins/preflight refused",
            ],
            Origins::Thousand,
        ),
    ] {
        let requests: [fn(&HeaderValue) -> Request<Full<Bytes>>; 4] = [
            |_| actual(APP),
            |_| actual("https://evil.example"),
            |_| preflight(APP, HeaderValue::from_static("content-type,x-request-id")),
            |_| {
                preflight(
                    "https://evil.example",
                    HeaderValue::from_static("content-type"),
                )
            },
        ];
        for (name, request) in names.into_iter().zip(requests) {
            v.push(Case {
                name,
                origins,
                request,
            });
        }
    }
    v.push(Case {
        name: "pattern/actual allowed",
        origins: Origins::Pattern,
        request: |_| actual("https://api.eu.example.com"),
    });
    v.push(Case {
        name: "pattern/preflight accepted",
        origins: Origins::Pattern,
        request: |_| {
            preflight(
                "https://api.eu.example.com",
                HeaderValue::from_static("content-type"),
            )
        },
    });
    v.push(Case {
        name: "1 MiB ACRH/preflight",
        origins: Origins::One,
        request: |big| preflight(APP, big.clone()),
    });
    // Behind any real stack (hyper, the access log's request id) a request carries extensions;
    // the refusal's `cors::Rejection` then reuses their map: one allocation instead of three.
    v.push(Case {
        name: "1 origin/preflight refused + 1 ext",
        origins: Origins::One,
        request: |_| {
            let mut req = preflight(
                "https://evil.example",
                HeaderValue::from_static("content-type"),
            );
            req.extensions_mut().insert(RequestId(7));
            req
        },
    });
    v
}

/// What a browser reads from a response: may the request (or the actual request after this
/// preflight) proceed, and with which origin.
fn browser_view<B>(req: &Request<Full<Bytes>>, res: &Response<B>) -> (bool, Option<String>) {
    let h = res.headers();
    let acao = h
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
    let origin_ok = acao
        .as_deref()
        .is_some_and(|a| Some(a) == origin || a == "*");
    if req.method() != Method::OPTIONS {
        return (origin_ok, acao.filter(|_| origin_ok));
    }
    let list = |name: &str| -> Vec<String> {
        h.get_all(name)
            .iter()
            .flat_map(|v| {
                v.to_str()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
            })
            .collect()
    };
    let method = req.headers()["access-control-request-method"]
        .to_str()
        .unwrap_or("");
    let method_ok = ["GET", "HEAD", "POST"].contains(&method)
        || list("access-control-allow-methods")
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method));
    let allowed_headers = list("access-control-allow-headers");
    let headers_ok = req
        .headers()
        .get("access-control-request-headers")
        .map_or(true, |v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .all(|n| allowed_headers.contains(&n.trim().to_ascii_lowercase()))
        });
    let ok = res.status().is_success() && origin_ok && method_ok && headers_ok;
    (ok, if ok { acao } else { None })
}

fn big_acrh() -> HeaderValue {
    let v = "a,".repeat(512 * 1024);
    HeaderValue::from_maybe_shared(Bytes::from(v)).expect("valid")
}

/// `BENCH_PROFILE=ours|theirs|none:<case>` loops one side on one case for a profiler instead
/// of timing (`benches/profile.sh cors ours:1-origin-actual-allowed ..`): `<case>` is the case
/// name with spaces and slashes as `-`; `none` builds the request alone, the floor to subtract.
fn profile_case(big: &HeaderValue) {
    let Some((spec, n)) = profile::requested() else {
        return;
    };
    let (side, name) = spec.split_once(':').expect("BENCH_PROFILE=side:case");
    let case = cases()
        .into_iter()
        .find(|c| c.name.replace([' ', '/'], "-") == name)
        .expect("a case name, spaces and slashes as -");
    let mut ours = ours(case.origins).layer(inner());
    let mut theirs = theirs(case.origins).layer(inner());
    profile::run(n, || match side {
        "ours" => drop(black_box(call(&mut ours, black_box((case.request)(big))))),
        "theirs" => drop(black_box(call(&mut theirs, black_box((case.request)(big))))),
        _ => drop(black_box((case.request)(big))),
    });
}

fn bench(c: &mut Criterion) {
    let big = big_acrh();
    let _ = big.clone(); // share the buffer once, so later clones only count references
    profile_case(&big);
    // `BENCH_INTERLEAVE_ONLY=1`: allocation counts and interleaved rounds, no criterion (a
    // quick time check while iterating).
    let interleave_only = std::env::var_os("BENCH_INTERLEAVE_ONLY").is_some();
    println!(
        "\n{:<34} {:>12} {:>12}",
        "allocations per request", "ours", "tower-http"
    );
    let mut interleaved = Vec::new();
    // `BENCH_CASE=<text>`: only the cases whose name contains it.
    let only = std::env::var("BENCH_CASE").unwrap_or_default();
    for case in cases()
        .into_iter()
        .filter(|c| c.name.contains(only.as_str()))
    {
        let mut ours = ours(case.origins).layer(inner());
        let mut theirs = theirs(case.origins).layer(inner());

        // Same answer, as a browser reads it.
        let r = (case.request)(&big);
        let a = browser_view(&r, &call(&mut ours, (case.request)(&big)));
        let b = browser_view(&r, &call(&mut theirs, (case.request)(&big)));
        assert_eq!(a, b, "{}: ours and tower-http disagree", case.name);

        // Allocations per request, averaged over 1,000 calls (requests built beforehand).
        let count = |svc: &mut dyn FnMut(Request<Full<Bytes>>) -> u64| {
            let reqs: Vec<_> = (0..1000).map(|_| (case.request)(&big)).collect();
            let total: u64 = reqs.into_iter().map(&mut *svc).sum();
            total as f64 / 1000.0
        };
        let ours_allocs = count(&mut |r| {
            let before = allocations();
            let res = call(&mut ours, r);
            let n = allocations() - before;
            drop(res);
            n
        });
        let theirs_allocs = count(&mut |r| {
            let before = allocations();
            let res = call(&mut theirs, r);
            let n = allocations() - before;
            drop(res);
            n
        });
        println!(
            "{:<34} {:>12.1} {:>12.1}",
            case.name, ours_allocs, theirs_allocs
        );

        interleaved.push((
            case.name,
            interleave(&case, &big, &mut inner(), &mut ours, &mut theirs),
        ));

        if interleave_only {
            continue;
        }
        let mut group = c.benchmark_group(case.name);
        let mut bare = inner();
        // Requests are built in batches of 64 outside the clock, as a server builds and frees
        // one request after another. Criterion's `SmallInput` builds thousands before the clock
        // starts; freeing them inside the timed loop overflows glibc's per-thread cache, and
        // its consolidation of free chunks lands on whichever side allocates least (see
        // benches/stack.rs).
        let batch = BatchSize::NumIterations(BATCH as u64);
        group.bench_function("no layer", |b| {
            b.iter_batched(
                || (case.request)(&big),
                |r| drop(black_box(call(&mut bare, black_box(r)))),
                batch,
            )
        });
        group.bench_function("ours", |b| {
            b.iter_batched(
                || (case.request)(&big),
                |r| drop(black_box(call(&mut ours, black_box(r)))),
                batch,
            )
        });
        group.bench_function("tower-http", |b| {
            b.iter_batched(
                || (case.request)(&big),
                |r| drop(black_box(call(&mut theirs, black_box(r)))),
                batch,
            )
        });
        group.finish();
    }
    println!(
        "\ninterleaved rounds (median of {ROUNDS}, ns per request)\n{:<34} {:>8} {:>8} {:>10} {:>7}",
        "case", "ours", "no layer", "tower-http", "ratio"
    );
    for (name, (ours, bare, theirs, ratio)) in interleaved {
        println!("{name:<34} {ours:>8.0} {bare:>8.0} {theirs:>10.0} {ratio:>7.2}");
    }
    primitives();
}

/// What the `http` crate's own operations cost here, whichever layer calls them: the floor
/// under any CORS answer built with `http::HeaderMap`. Printed as the best of five loops.
fn primitives() {
    use http::header::{
        ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_MAX_AGE, VARY,
    };
    fn best(mut f: impl FnMut()) -> f64 {
        const N: u32 = 200_000;
        (0..5)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..N {
                    f();
                }
                start.elapsed().as_nanos() as f64 / f64::from(N)
            })
            .fold(f64::MAX, f64::min)
    }
    let origin = HeaderValue::from_static(APP);
    let value = |v: &str| HeaderValue::from_str(v).expect("valid");
    let expose = value("x-total");
    let mut answer = http::HeaderMap::new();
    for (name, v) in [
        (ACCESS_CONTROL_ALLOW_ORIGIN, ""),
        (ACCESS_CONTROL_ALLOW_METHODS, ""),
        (ACCESS_CONTROL_ALLOW_HEADERS, ""),
        (ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),
        (ACCESS_CONTROL_MAX_AGE, "600"),
        (VARY, "Origin"),
    ] {
        answer.insert(name, value(v));
    }
    let rows = [
        (
            "a HeaderValue cloned and dropped",
            best(|| drop(black_box(black_box(&origin).clone()))),
        ),
        (
            "an empty response, made and dropped",
            best(|| drop(black_box(Response::new(Full::<Bytes>::default())))),
        ),
        (
            "+ the 4 headers of an allowed actual answer",
            best(|| {
                let mut r = Response::new(Full::<Bytes>::default());
                let h = r.headers_mut();
                h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, black_box(&origin).clone());
                h.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
                h.insert(ACCESS_CONTROL_EXPOSE_HEADERS, black_box(&expose).clone());
                h.insert(VARY, HeaderValue::from_static("Origin"));
                drop(black_box(r));
            }),
        ),
        (
            "a 6-header preflight answer's map, cloned and dropped",
            best(|| drop(black_box(black_box(&answer).clone()))),
        ),
    ];
    println!("\nhttp primitives (ns, best of 5 loops)");
    for (name, ns) in rows {
        println!("{name:<56} {ns:>6.1}");
    }
}

const ROUNDS: usize = 41;
const PER_ROUND: usize = 2048;
/// Requests built at a time, outside the clock.
const BATCH: usize = 64;

/// Times ours, no layer and tower-http in alternating rounds of the same requests, so that a
/// slow spell of this shared machine hits all three alike; returns the medians of ours, no
/// layer and tower-http in ns per request, and the median of the per-round ratios
/// ours/tower-http. Criterion times each side for seconds in turn, which on a noisy machine
/// can swing a ratio by a factor of two.
fn interleave<S, T, U>(
    case: &Case,
    big: &HeaderValue,
    bare: &mut U,
    ours: &mut S,
    theirs: &mut T,
) -> (f64, f64, f64, f64)
where
    S: Service<Request<Full<Bytes>>>,
    S::Error: std::fmt::Debug,
    T: Service<Request<Full<Bytes>>>,
    T::Error: std::fmt::Debug,
    U: Service<Request<Full<Bytes>>>,
    U::Error: std::fmt::Debug,
{
    // A round serves PER_ROUND requests in batches of BATCH, each built just before it is
    // timed (see the criterion groups for why not all at once).
    fn round<X>(svc: &mut X, case: &Case, big: &HeaderValue) -> f64
    where
        X: Service<Request<Full<Bytes>>>,
        X::Error: std::fmt::Debug,
    {
        let mut elapsed = Duration::ZERO;
        for _ in 0..PER_ROUND / BATCH {
            let reqs: Vec<_> = (0..BATCH).map(|_| (case.request)(big)).collect();
            let start = Instant::now();
            for r in reqs {
                drop(black_box(call(svc, black_box(r))));
            }
            elapsed += start.elapsed();
        }
        elapsed.as_nanos() as f64 / (PER_ROUND / BATCH * BATCH) as f64
    }
    let (mut o, mut b, mut t, mut r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let ours_ns = round(ours, case, big);
        b.push(round(bare, case, big));
        let theirs_ns = round(theirs, case, big);
        o.push(ours_ns);
        t.push(theirs_ns);
        r.push(ours_ns / theirs_ns);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(o), median(b), median(t), median(r))
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
