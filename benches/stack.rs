//! The whole stack, side by side in one run: our five layers in gateway order (AccessLog >
//! CorsLayer > OriginGuard > Router with a CanarySplit target), the same built by
//! `Gateway::from_config`, and the equivalent from tower-http 0.7 (`TraceLayer` through
//! `tracing_appender::non_blocking` > `CorsLayer` > `CsrfLayer`) around an `axum::Router`, all
//! over `github-routes.txt`.
//!
//! Three requests: an allowed cross-origin `GET`, a preflight, and a refused cross-origin
//! `POST`. Before timing, every stack must give the same status; allocations per request are
//! printed from a counting allocator. Run with `cargo bench --bench stack`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body as AxumBody;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use tower::{Layer, Service};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, NonBlocking};
use tower_gateway::canary::CanaryLayer;
use tower_gateway::cors::CorsConfig;
use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
use tower_gateway::origin::OriginGuardLayer;
use tower_gateway::router::Router;
use tower_gateway::CorsLayer;
use tracing::Level;

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/profile.rs"]
mod profile;

use poll::poll_now;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

fn table() -> Vec<(Method, String)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/github-routes.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (m, p) = l.trim().split_once(' ').expect("METHOD /path");
            (
                Method::from_bytes(m.as_bytes()).expect("method"),
                p.to_owned(),
            )
        })
        .collect()
}

/// A writer that discards bytes but counts them (both sides write through a background thread
/// into one of these).
#[derive(Clone, Default)]
struct CountBytes(Arc<AtomicU64>);
impl io::Write for CountBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Calls `svc` and reads the response body to its end (where access logs write).
fn serve<S, B>(svc: &mut S, req: Request<AxumBody>) -> StatusCode
where
    S: Service<Request<AxumBody>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = poll_now(svc.call(req)).expect("infallible");
    let status = response.status();
    let mut body = pin!(response.into_body());
    while let Some(frame) = poll_now(std::future::poll_fn(|cx| body.as_mut().poll_frame(cx))) {
        black_box(frame.expect("body"));
    }
    status
}

#[derive(Clone, Copy, Debug)]
enum Case {
    Allowed,
    Preflight,
    Refused,
}

fn request(case: Case) -> Request<AxumBody> {
    let builder = match case {
        Case::Allowed => Request::get("/repos/tokio-rs/axum")
            .header(header::ORIGIN, HeaderValue::from_static(APP))
            .header("sec-fetch-site", "cross-site"),
        Case::Preflight => Request::builder()
            .method(Method::OPTIONS)
            .uri("/repos/tokio-rs/axum")
            .header(header::ORIGIN, HeaderValue::from_static(APP))
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "DELETE")
            .header("sec-fetch-site", "cross-site"),
        Case::Refused => Request::post("/user/repos")
            .header(header::ORIGIN, HeaderValue::from_static(EVIL))
            .header("sec-fetch-site", "cross-site"),
    };
    builder
        .header(header::HOST, "api.example.com")
        .header(
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .body(AxumBody::empty())
        .expect("request")
}

/// The route handler: `200` with an empty body, ready at once.
#[derive(Clone, Copy)]
struct Handler;

impl Service<Request<AxumBody>> for Handler {
    type Response = Response<AxumBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<AxumBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<AxumBody>) -> Self::Future {
        std::future::ready(Ok(Response::new(AxumBody::empty())))
    }
}

fn handler() -> Handler {
    Handler
}

fn cors_config() -> CorsConfig {
    CorsConfig::new()
        .allow_origin(APP)
        .allow_methods(["PUT", "DELETE", "PATCH"])
        .allow_headers(["content-type", "authorization"])
}

fn allocations_per<S, B>(svc: &mut S, case: Case) -> f64
where
    S: Service<Request<AxumBody>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    const N: u64 = 2_000;
    for _ in 0..200 {
        serve(svc, request(case));
    }
    let mut total = 0;
    for _ in 0..N {
        let req = request(case);
        let before = alloc::allocations();
        serve(svc, req);
        total += alloc::allocations() - before;
    }
    total as f64 / N as f64
}

fn benches(c: &mut Criterion) {
    let table = table();

    // Ours, composed by hand: the five layers in gateway order.
    let lines = CountBytes::default();
    let (writer, _guard) = NonBlocking::builder()
        .capacity(65_536)
        .lossy(true)
        .spawn(lines.clone())
        .expect("log thread");
    let cors = CorsLayer::new(cors_config()).expect("cors");
    let canary = CanaryLayer::new(handler(), 10.0).expect("canary");
    let router = table
        .iter()
        .fold(Router::builder(), |b, (m, p)| {
            let key = format!("{m} {p}");
            if p == "/repos/{owner}/{repo}" {
                b.route(key, canary.layer(handler()))
            } else {
                b.route(key, handler())
            }
        })
        .build()
        .expect("table");
    let guard = OriginGuardLayer::builder()
        .trust_cors(&cors)
        .build()
        .expect("guard");
    let mut ours = AccessLogLayer::new(writer.clone())
        .format(LogFormat::apache_combined())
        .layer(cors.layer(guard.layer(router)));

    // Ours, from one configuration.
    let mut config = GatewayConfig::new();
    config.cors = Some(cors_config());
    let mut text = String::new();
    for (m, p) in &table {
        text.push_str(&format!(
            "[[routes]]\npath = \"{p}\"\nmethods = [\"{m}\"]\nservice = \"h\"\n"
        ));
        if p == "/repos/{owner}/{repo}" && *m == Method::GET {
            text.push_str("canary = { service = \"h2\", weight = 10 }\n");
        }
    }
    text.push_str("[access_log]\nformat = \"combined\"\nsink = \"code\"\n");
    let mut from_file: GatewayConfig = toml::from_str(&text).expect("config");
    from_file.cors = config.cors;
    let services = Services::new()
        .service("h", handler())
        .service("h2", handler())
        .access_log_sink(writer);
    let mut gateway = Gateway::from_config(from_file, services).expect("gateway");

    // Theirs: tower-http's TraceLayer (through tracing-appender's non-blocking writer), CORS
    // and CSRF layers around an axum::Router with the same table.
    let their_lines = CountBytes::default();
    let (their_writer, _their_guard) = tracing_appender::non_blocking(their_lines.clone());
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(their_writer)
            .with_max_level(Level::INFO)
            .finish(),
    )
    .expect("subscriber");
    let mut by_path: BTreeMap<&str, axum::routing::MethodRouter> = BTreeMap::new();
    for (m, p) in &table {
        let filter = axum::routing::MethodFilter::try_from(m.clone()).expect("standard method");
        let entry = by_path.remove(p.as_str()).unwrap_or_default();
        by_path.insert(p, entry.on(filter, || async { StatusCode::OK }));
    }
    let axum_router = by_path
        .into_iter()
        .fold(axum::Router::new(), |r, (p, mr)| r.route(p, mr));
    let their_cors = tower_http::cors::CorsLayer::new()
        .allow_origin(HeaderValue::from_static(APP))
        .allow_methods([Method::PUT, Method::DELETE, Method::PATCH])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let csrf = tower_http::csrf::CsrfLayer::new()
        .add_trusted_origin(APP)
        .expect("csrf origin");
    let trace = tower_http::trace::TraceLayer::new_for_http()
        .make_span_with(tower_http::trace::DefaultMakeSpan::new().level(Level::INFO))
        .on_request(())
        .on_response(tower_http::trace::DefaultOnResponse::new().level(Level::INFO));
    let mut theirs = trace.layer(their_cors.layer(csrf.layer(axum_router)));

    // Same answers before timing.
    for case in [Case::Allowed, Case::Preflight, Case::Refused] {
        let a = serve(&mut ours, request(case));
        let b = serve(&mut gateway, request(case));
        let t = serve(&mut theirs, request(case));
        assert!(
            a.is_success() == t.is_success(),
            "{case:?}: ours {a}, theirs {t}"
        );
        assert_eq!(a, b, "{case:?}: layers {a}, gateway {b}");
        if let Case::Refused = case {
            assert_eq!((a, t), (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN));
        }
    }

    // `BENCH_PROFILE=layers|gateway|theirs|none:allowed|preflight|refused` loops one stack on
    // one request for a profiler instead of timing (`benches/profile.sh stack CASE..`); `none`
    // builds the request alone, the floor to subtract from instruction counts.
    // `BENCH_PROFILE=interleaved` times the stacks in alternating rounds and prints the median
    // of the per-round ratios: steadier than criterion's one-side-then-the-other on a shared
    // machine, where the load changes between the two.
    if matches!(profile::requested(), Some((ref spec, _)) if spec == "interleaved") {
        for case in [Case::Allowed, Case::Preflight, Case::Refused] {
            let mut rounds = Vec::new();
            for _ in 0..41 {
                let time = |serve_one: &mut dyn FnMut()| {
                    let start = std::time::Instant::now();
                    for _ in 0..2_000 {
                        serve_one();
                    }
                    start.elapsed().as_nanos() as f64 / 2_000.0
                };
                let a = time(&mut || {
                    black_box(serve(&mut ours, request(case)));
                });
                let g = time(&mut || {
                    black_box(serve(&mut gateway, request(case)));
                });
                let t = time(&mut || {
                    black_box(serve(&mut theirs, request(case)));
                });
                let n = time(&mut || drop(black_box(request(case))));
                rounds.push((a, g, t, n));
            }
            // (layers, Gateway, theirs, request alone), ns per request.
            type Round = (f64, f64, f64, f64);
            let median = |f: &dyn Fn(&Round) -> f64| {
                let mut v: Vec<f64> = rounds.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            eprintln!(
                "{case:?}: layers {:.0} ns, Gateway {:.0} ns, theirs {:.0} ns, request alone {:.0} ns; \
                 median ratio (request subtracted) layers {:.3}, Gateway {:.3}",
                median(&|r| r.0),
                median(&|r| r.1),
                median(&|r| r.2),
                median(&|r| r.3),
                median(&|r| (r.0 - r.3) / (r.2 - r.3)),
                median(&|r| (r.1 - r.3) / (r.2 - r.3)),
            );
        }
        std::process::exit(0);
    }
    if let Some((spec, n)) = profile::requested() {
        let (stack, case) = spec.split_once(':').expect("BENCH_PROFILE=stack:case");
        let case = match case {
            "allowed" => Case::Allowed,
            "preflight" => Case::Preflight,
            _ => Case::Refused,
        };
        profile::run(n, || {
            black_box(match stack {
                "layers" => serve(&mut ours, request(case)),
                "gateway" => serve(&mut gateway, request(case)),
                "none" => {
                    black_box(request(case));
                    StatusCode::OK
                }
                _ => serve(&mut theirs, request(case)),
            });
        });
    }

    eprintln!("allocations per request (request thread):");
    for case in [Case::Allowed, Case::Preflight, Case::Refused] {
        eprintln!(
            "  {case:?}: ours {:.1}, gateway {:.1}, tower-http + axum {:.1}",
            allocations_per(&mut ours, case),
            allocations_per(&mut gateway, case),
            allocations_per(&mut theirs, case),
        );
    }

    // Requests are built in batches of 64 outside the clock, as a server builds and frees one
    // request after another. Criterion's `SmallInput` builds batches of thousands: freeing
    // them in the timed loop overflows glibc's per-thread cache and makes it consolidate its
    // free chunks (`malloc_consolidate`, 8-15% of such a profile), a cost of the batch, not of
    // a layer, that falls on whichever loop allocates less (ours; see the README).
    let batch = BatchSize::NumIterations(64);
    for (name, case) in [
        ("allowed GET", Case::Allowed),
        ("preflight", Case::Preflight),
        ("refused POST", Case::Refused),
    ] {
        let mut g = c.benchmark_group(format!("stack/{name}"));
        g.bench_function("tower-gateway layers", |b| {
            b.iter_batched(|| request(case), |r| serve(&mut ours, r), batch)
        });
        g.bench_function("tower-gateway Gateway", |b| {
            b.iter_batched(|| request(case), |r| serve(&mut gateway, r), batch)
        });
        g.bench_function("tower-http + axum", |b| {
            b.iter_batched(|| request(case), |r| serve(&mut theirs, r), batch)
        });
        g.finish();
    }
    black_box((
        lines.0.load(Ordering::Relaxed),
        their_lines.0.load(Ordering::Relaxed),
    ));
}

criterion_group!(stack, benches);
criterion_main!(stack);
