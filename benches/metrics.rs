//! Metrics: recording cost per request with 1, 100 and 10,000 live series (ours vs a
//! `Mutex<HashMap>` baseline keyed by owned labels, the common hand-rolled design), the
//! 10,000 visited in a shuffled order, and 10,000 label sets of real route templates
//! (GitLab's, longer than a slot's key words) shuffled: as text labels, then read from
//! response extensions (a `MatchedRoute` per route, an `Arm`) by text as the layer did and by
//! the route as it does now (`Registry::record_response`), next to the floor of reading the
//! extensions alone; the whole layer per request (and over GitLab's routes, next to the bare
//! inner service), and exposition time for 10,000 series. Allocations per request are
//! counted on the request thread with a counting global allocator.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion};
use http::{Extensions, Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::Full;
use tower::{service_fn, Layer, Service};
use tower_gateway::canary::Arm;
use tower_gateway::metrics::{method_label, Labels, Refusal, Registry};
use tower_gateway::router::MatchedRoute;

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/profile.rs"]
mod profile;

use alloc::allocations;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn now<F: Future>(future: F, cx: &mut Context<'_>) -> F::Output {
    match pin!(future).poll(cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the bench services answer at once"),
    }
}

fn routes(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("/api/v1/resource{i}/{{id}}"))
        .collect()
}

fn labels(route: &str) -> Labels<'_> {
    Labels {
        route: Some(route),
        method: "GET",
        status: 200,
        arm: Some("stable"),
        canary: false,
        refusal: None,
    }
}

/// Real route templates, whose lengths are those of a large API (median 44 bytes, 13% over
/// 64): GitLab's, each with the methods GET, POST and PUT, the first `n` label sets.
fn gitlab(n: usize) -> Vec<(String, &'static str)> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/gitlab-routes.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let templates: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let out: Vec<(String, &'static str)> = ["GET", "POST", "PUT"]
        .into_iter()
        .flat_map(|m| templates.iter().map(move |t| (t.to_string(), m)))
        .take(n)
        .collect();
    assert_eq!(out.len(), n);
    out
}

fn gitlab_labels<'a>((route, method): &'a (String, &'static str)) -> Labels<'a> {
    Labels {
        method,
        ..labels(route)
    }
}

/// GitLab's label sets as the layer sees them, in the order `order` visits them: a
/// response's extensions holding the route (one `MatchedRoute` per route, built once, like
/// the Router's table) and the arm (one `Arm` shared by every request, like a canary
/// split's), with the request's method. The routes are allocated in visiting order, so that
/// reading the next one is a sequential read the processor prefetches, as in a server where
/// the Router has just cloned the route (its line is in the cache); the registry's series
/// are created in `gitlab`'s order, so that its accesses are out of order.
fn gitlab_routes(n: usize, order: &[usize]) -> Vec<(Method, Extensions)> {
    let arm = Arm::new("stable", false);
    let sets = gitlab(n);
    order
        .iter()
        .map(|&i| {
            let (template, method) = &sets[i];
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let mut extensions = Extensions::new();
            extensions.insert(MatchedRoute::new(Some(method.clone()), template, None));
            extensions.insert(arm.clone());
            (method, extensions)
        })
        .collect()
}

/// The labels the layer reads from a response's extensions, by their text (the layer before
/// it keyed series by the route's identity).
fn text_labels<'a>((method, extensions): &'a (Method, Extensions)) -> Labels<'a> {
    let arm = extensions.get::<Arm>();
    Labels {
        route: extensions.get::<MatchedRoute>().map(MatchedRoute::template),
        method: method_label(method),
        status: 200,
        arm: arm.map(Arm::name),
        canary: arm.is_some_and(Arm::is_canary),
        refusal: Refusal::from_extensions(extensions),
    }
}

/// What the layer reads from a response's extensions before it records: the route (its
/// template's place and its line), the arm (its name), how many extensions there are.
fn read_route_arm((_, extensions): &(Method, Extensions)) -> (Option<&str>, Option<&str>, usize) {
    (
        extensions.get::<MatchedRoute>().map(MatchedRoute::template),
        extensions.get::<Arm>().map(Arm::name),
        extensions.len(),
    )
}

type NaiveKey = (String, &'static str, u16, String);

/// The baseline: one mutex around a map from owned label tuples to counters.
#[derive(Default)]
struct Naive {
    map: Mutex<HashMap<NaiveKey, [AtomicU64; 3]>>,
}

impl Naive {
    fn record(&self, l: &Labels<'_>, d: Duration) {
        let mut map = self.map.lock().unwrap();
        let key = (
            l.route.unwrap_or("").to_owned(),
            l.method,
            l.status,
            l.arm.unwrap_or("").to_owned(),
        );
        let entry = map.entry(key).or_default();
        entry[0].fetch_add(1, Ordering::Relaxed);
        entry[1].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
    fn count(&self) -> u64 {
        let map = self.map.lock().unwrap();
        map.values().map(|c| c[0].load(Ordering::Relaxed)).sum()
    }
}

/// A registry (and the baseline) holding one series per input, each recorded once.
fn filled<T>(inputs: &[T], labels: impl Fn(&T) -> Labels<'_>) -> (Registry, Naive) {
    let registry = Registry::builder().max_series(10_000).build().unwrap();
    let naive = Naive::default();
    for r in inputs {
        registry.record(&labels(r), Duration::ZERO, Duration::ZERO);
        naive.record(&labels(r), Duration::ZERO);
    }
    assert_eq!(registry.series_count(), inputs.len());
    assert_eq!(registry.total_requests(), naive.count());
    (registry, naive)
}

/// `BENCH_PROFILE=record:N|naive:N|none:N|render:10000|gitlab:10000|gitlab-none:10000|ext-…|layer-…` (N = 1,
/// 100 or 10000; `none` alone is `none:1`) runs one case for a profiler (`benches/profile.sh
/// metrics record:10000 none:10000`; the script names its output files after the case, so no
/// `/`): a record walking the N routes in order like the timed loop, the baseline's, the same
/// loop without recording (the floor to subtract), one exposition of 10,000 series, or a
/// record walking GitLab's label sets (and its floor). `ext-text-gitlab:10000` records
/// GitLab's label sets read from response extensions as text, `ext-route-gitlab:10000` the
/// same by the route's number as the layer does (`ext-none-gitlab` is their floor, and
/// `ext-read-gitlab` reading the route and the arm from the extensions alone),
/// `layer-gitlab:10000` sends them through the whole layer (`layer-none-gitlab` through the
/// bare inner service); `layer-plain` is the `metrics/layer/request` case. A case name
/// ending in `-shuffled` (`record-shuffled:10000`) walks the inputs in the timed shuffled
/// cases' order.
fn profiling() {
    let Some((case, iterations)) = profile::requested() else {
        return;
    };
    let (what, n) = case.split_once(':').unwrap_or((case.as_str(), "1"));
    let n: usize = n.parse().expect("BENCH_PROFILE=<case>/<series>");
    // `-shuffled`: the inputs copied in a shuffled order, as in the timed shuffled cases.
    let (what, shuffle) = match what.strip_suffix("-shuffled") {
        Some(what) => (what, true),
        None => (what, false),
    };
    let order = |len: usize| {
        if shuffle {
            shuffled(len)
        } else {
            (0..len).collect()
        }
    };
    if let Some(kind) = what.strip_prefix("ext-") {
        let (registry, _) = filled(&gitlab(n), gitlab_labels);
        let inputs = gitlab_routes(n, &order(n));
        // Every label set found by its route once, as after the first request of each.
        for (method, extensions) in &inputs {
            registry.record_response(
                method,
                StatusCode::OK,
                extensions,
                Duration::ZERO,
                Duration::ZERO,
            );
        }
        let mut next = cycle(n);
        match kind {
            "text-gitlab" => profile::run(iterations, || {
                registry.record(
                    &text_labels(black_box(&inputs[next()])),
                    Duration::from_micros(300),
                    Duration::from_micros(900),
                )
            }),
            "route-gitlab" => profile::run(iterations, || {
                let (method, extensions) = black_box(&inputs[next()]);
                registry.record_response(
                    method,
                    StatusCode::OK,
                    extensions,
                    Duration::from_micros(300),
                    Duration::from_micros(900),
                )
            }),
            "none-gitlab" => profile::run(iterations, || {
                black_box(black_box(&inputs[next()]));
            }),
            "read-gitlab" => profile::run(iterations, || {
                black_box(read_route_arm(black_box(&inputs[next()])));
            }),
            _ => panic!("unknown BENCH_PROFILE case {case}"),
        }
    }
    if what == "layer-plain" {
        // The `metrics/layer/request` case: no route, no arm.
        let registry = Registry::new();
        let mut svc = registry
            .layer()
            .layer(service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            }));
        let waker = poll::noop_waker();
        let mut cx = Context::from_waker(&waker);
        profile::run(iterations, || {
            let res = now(svc.call(Request::new(Full::default())), &mut cx).unwrap();
            let mut body = pin!(res.into_body());
            while let Poll::Ready(Some(_)) = body.as_mut().poll_frame(&mut cx) {}
        })
    }
    if let Some(kind) = what.strip_prefix("layer-") {
        let (registry, _) = filled(&gitlab(n), gitlab_labels);
        let inputs = gitlab_routes(n, &order(n));
        let mut layered = registry.layer().layer(service_fn(echo_route));
        let mut bare = service_fn(echo_route);
        let waker = poll::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut next = cycle(n);
        // Every series exists before the profiled loop.
        for input in &inputs {
            one_request(&mut layered, input, &mut cx);
        }
        assert_eq!(registry.series_count(), n);
        match kind {
            "gitlab" => profile::run(iterations, || {
                one_request(&mut layered, black_box(&inputs[next()]), &mut cx)
            }),
            "none-gitlab" => profile::run(iterations, || {
                one_request(&mut bare, black_box(&inputs[next()]), &mut cx)
            }),
            _ => panic!("unknown BENCH_PROFILE case {case}"),
        }
    }
    if what.starts_with("gitlab") {
        let inputs = gitlab(n);
        let (registry, _) = filled(&inputs, gitlab_labels);
        let inputs: Vec<(String, &str)> = order(n).iter().map(|&i| inputs[i].clone()).collect();
        let mut next = cycle(n);
        match what {
            "gitlab" => profile::run(iterations, || {
                registry.record(
                    &gitlab_labels(black_box(&inputs[next()])),
                    Duration::from_micros(300),
                    Duration::from_micros(900),
                )
            }),
            _ => profile::run(iterations, || {
                black_box(gitlab_labels(black_box(&inputs[next()])));
            }),
        }
    }
    let routes = routes(n);
    let (registry, naive) = filled(&routes, |r| labels(r));
    let routes: Vec<String> = order(n).iter().map(|&i| routes[i].clone()).collect();
    let mut next = cycle(n);
    match what {
        "record" => profile::run(iterations, || {
            registry.record(
                &labels(black_box(&routes[next()])),
                Duration::from_micros(300),
                Duration::from_micros(900),
            )
        }),
        "naive" => profile::run(iterations, || {
            naive.record(
                &labels(black_box(&routes[next()])),
                Duration::from_micros(300),
            )
        }),
        "none" => profile::run(iterations, || {
            black_box(labels(black_box(&routes[next()])));
        }),
        "render" => {
            let mut out = String::new();
            profile::run(iterations, || {
                out.clear();
                registry.render_into(&mut out);
                black_box(out.len());
            })
        }
        _ => panic!("unknown BENCH_PROFILE case {case}"),
    }
}

fn record(c: &mut Criterion) {
    profiling();
    let mut group = c.benchmark_group("metrics/record");
    for n in [1usize, 100, 10_000] {
        let routes = routes(n);
        let (registry, naive) = filled(&routes, |r| labels(r));
        let before = allocations();
        for r in routes.iter().take(1000) {
            registry.record(
                &labels(r),
                Duration::from_micros(300),
                Duration::from_micros(900),
            );
        }
        let per = (allocations() - before) as f64 / routes.len().min(1000) as f64;
        let before = allocations();
        for r in routes.iter().take(1000) {
            naive.record(&labels(r), Duration::from_micros(300));
        }
        let naive_per = (allocations() - before) as f64 / routes.len().min(1000) as f64;
        println!("allocations per record, {n} series: ours {per}, naive {naive_per}");
        time_both(
            &mut group,
            &n.to_string(),
            &registry,
            &naive,
            &routes,
            |r| labels(r),
        );
        if n == 10_000 {
            // The same series visited in a shuffled order: a real workload does not walk the
            // series in the order they were created (which lets the hardware prefetch slots).
            // The inputs are copied in visiting order, so that only the registry's (and the
            // map's) accesses are out of order, not the bench's own reads of its inputs.
            let routes: Vec<String> = shuffled(n).iter().map(|&i| routes[i].clone()).collect();
            time_both(
                &mut group,
                &format!("{n}-shuffled"),
                &registry,
                &naive,
                &routes,
                |r| labels(r),
            );
            // Real route templates (most longer than a slot's key words), shuffled too.
            let inputs = gitlab(n);
            let (registry, naive) = filled(&inputs, gitlab_labels);
            let inputs: Vec<(String, &str)> =
                shuffled(n).iter().map(|&i| inputs[i].clone()).collect();
            time_both(
                &mut group,
                &format!("{n}-gitlab-shuffled"),
                &registry,
                &naive,
                &inputs,
                gitlab_labels,
            );
            // The same label sets as the layer reads them from a response's extensions.
            let (registry, naive) = filled(&gitlab(n), gitlab_labels);
            let inputs = gitlab_routes(n, &shuffled(n));
            time_both(
                &mut group,
                &format!("{n}-gitlab-ext-shuffled"),
                &registry,
                &naive,
                &inputs,
                text_labels,
            );
            // The same, found by the route's template number, as the layer does. The first
            // round numbers the templates and caches the keys (allocating the first time a
            // template is seen in the process); the second is counted.
            let before = registry.total_requests();
            let mut per = 0.0;
            for round in 0..2 {
                let allocated = allocations();
                for (method, extensions) in &inputs {
                    registry.record_response(
                        method,
                        StatusCode::OK,
                        extensions,
                        Duration::ZERO,
                        Duration::ZERO,
                    );
                }
                if round == 1 {
                    per = (allocations() - allocated) as f64 / n as f64;
                }
            }
            println!("allocations per record by route, GitLab's {n} series: {per}");
            assert_eq!(registry.total_requests(), before + 2 * n as u64);
            assert_eq!(registry.series_count(), n);
            // The floor: reading the route and the arm from the extensions alone, as the
            // layer does (the maps and the routes are the bench's inputs, in the cache or
            // not; in a server the Router has just written them).
            let mut i = 0usize;
            group.bench_function(
                format!("floor-read-extensions/{n}-gitlab-ext-shuffled"),
                |b| {
                    b.iter(|| {
                        i = if i + 1 == n { 0 } else { i + 1 };
                        black_box(read_route_arm(black_box(&inputs[i])));
                    })
                },
            );
            let mut i = 0usize;
            group.bench_function(format!("ours-by-route/{n}-gitlab-ext-shuffled"), |b| {
                b.iter(|| {
                    i = if i + 1 == n { 0 } else { i + 1 };
                    let (method, extensions) = black_box(&inputs[i]);
                    registry.record_response(
                        method,
                        StatusCode::OK,
                        extensions,
                        Duration::from_micros(300),
                        Duration::from_micros(900),
                    );
                })
            });
        }
    }
    group.finish();
}

/// Times one record per input into `registry`, then into `naive`, taking the inputs in order
/// round and round.
fn time_both<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    registry: &Registry,
    naive: &Naive,
    inputs: &[T],
    labels: impl Fn(&T) -> Labels<'_>,
) {
    let n = inputs.len();
    let mut i = 0usize;
    // The next route without a division (a `%` per iteration would cost both sides as much
    // as a fast record).
    group.bench_function(format!("ours/{name}"), |b| {
        b.iter(|| {
            i = if i + 1 == n { 0 } else { i + 1 };
            registry.record(
                &labels(black_box(&inputs[i])),
                Duration::from_micros(300),
                Duration::from_micros(900),
            );
        })
    });
    let mut i = 0usize;
    group.bench_function(format!("naive-mutex-map/{name}"), |b| {
        b.iter(|| {
            i = if i + 1 == n { 0 } else { i + 1 };
            naive.record(&labels(black_box(&inputs[i])), Duration::from_micros(300));
        })
    });
}

/// `0..n` in a fixed pseudo-random order (Fisher-Yates with a xorshift generator).
/// The indices `1, 2, .., n - 1, 0, 1, ..` in turn, without a division (a `%` per iteration
/// would cost as much as a fast record).
fn cycle(n: usize) -> impl FnMut() -> usize {
    let mut i = 0usize;
    move || {
        i = if i + 1 == n { 0 } else { i + 1 };
        i
    }
}

fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

thread_local! {
    /// The extensions the next `echo_route` answer carries: what a Router (and a split) inside
    /// the layer would put on the response. They do not travel on the request, which reaches
    /// an outermost metrics layer with none.
    static NEXT_EXTENSIONS: std::cell::RefCell<Extensions> =
        std::cell::RefCell::new(Extensions::new());
}

/// The inner service of the layer's GitLab cases: answers `200` with the route and the arm
/// of the case, as a Router (and a split) inside the layer put them on the response.
async fn echo_route(_req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
    *res.extensions_mut() = NEXT_EXTENSIONS.with(|next| std::mem::take(&mut *next.borrow_mut()));
    Ok(res)
}

/// One request through `svc` with the method of `input`, answered with its extensions (as a
/// Router inside the layer answers), its body read to the end.
fn one_request<S, B>(svc: &mut S, input: &(Method, Extensions), cx: &mut Context<'_>)
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let mut req = Request::new(Full::default());
    *req.method_mut() = input.0.clone();
    NEXT_EXTENSIONS.with(|next| *next.borrow_mut() = input.1.clone());
    let res = now(svc.call(req), cx).unwrap();
    let mut body = pin!(res.into_body());
    while let Poll::Ready(Some(_)) = body.as_mut().poll_frame(cx) {}
}

fn layer(c: &mut Criterion) {
    let registry = Registry::new();
    let mut svc = registry
        .layer()
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
        }));
    let waker = poll::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut one = |cx: &mut Context<'_>| {
        let res = now(svc.call(Request::new(Full::default())), cx).unwrap();
        let mut body = pin!(res.into_body());
        while let Poll::Ready(Some(_)) = body.as_mut().poll_frame(cx) {}
    };
    one(&mut cx);
    let before = allocations();
    for _ in 0..1000 {
        one(&mut cx);
    }
    println!(
        "allocations per request through the layer: {}",
        (allocations() - before) as f64 / 1000.0
    );
    assert_eq!(registry.total_requests(), 1001);
    c.bench_function("metrics/layer/request", |b| b.iter(|| one(&mut cx)));

    // GitLab's 10,000 label sets through the layer, shuffled: the layer and the bare service.
    let n = 10_000;
    let (registry, _) = filled(&gitlab(n), gitlab_labels);
    let inputs = gitlab_routes(n, &shuffled(n));
    let mut layered = registry.layer().layer(service_fn(echo_route));
    let mut bare = service_fn(echo_route);
    for input in &inputs {
        one_request(&mut layered, input, &mut cx);
    }
    assert_eq!(registry.series_count(), n);
    let count = |svc: &mut dyn FnMut(&(Method, Extensions))| {
        let before = allocations();
        for input in inputs.iter().take(1000) {
            svc(input);
        }
        (allocations() - before) as f64 / 1000.0
    };
    let ours = count(&mut |input| one_request(&mut layered, input, &mut cx));
    let floor = count(&mut |input| one_request(&mut bare, input, &mut cx));
    println!(
        "allocations per request, GitLab through the layer: {ours} (the bare service: {floor})"
    );
    for (name, with_layer) in [("layer", true), ("bare-service", false)] {
        let mut i = 0usize;
        c.bench_function(&format!("metrics/layer/gitlab-shuffled/{name}"), |b| {
            b.iter(|| {
                i = if i + 1 == n { 0 } else { i + 1 };
                if with_layer {
                    one_request(&mut layered, black_box(&inputs[i]), &mut cx)
                } else {
                    one_request(&mut bare, black_box(&inputs[i]), &mut cx)
                }
            })
        });
    }
}

fn render(c: &mut Criterion) {
    let routes = routes(10_000);
    let registry = Registry::builder().max_series(10_000).build().unwrap();
    for r in &routes {
        registry.record(
            &labels(r),
            Duration::from_millis(3),
            Duration::from_millis(30),
        );
    }
    let mut out = String::new();
    registry.render_into(&mut out);
    println!("exposition of 10,000 series: {} bytes", out.len());
    c.bench_function("metrics/render/10000-series", |b| {
        b.iter(|| {
            out.clear();
            registry.render_into(&mut out);
            black_box(out.len())
        })
    });
}

criterion_group!(benches, record, layer, render);
criterion_main!(benches);
