//! Router benchmarks, side by side with matchit (lookup) and axum::Router (full dispatch), on
//! the route tables in `../shared/data/`.
//!
//! Run with `cargo bench --bench router`. Before timing, every group checks that both sides
//! agree on every input, and prints allocations per request from a counting allocator.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::hint::black_box;

use axum::body::Body as AxumBody;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{Method, Request, Response, StatusCode};
use tower::{service_fn, Service};
use tower_gateway::router::{Decision, Router};

// ---------- allocation counting ----------

#[path = "support/alloc.rs"]
mod alloc;
#[path = "support/poll.rs"]
mod poll;
#[path = "support/profile.rs"]
mod profile;

use poll::poll_now;

use alloc::allocations;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn allocations_per(n: usize, f: impl FnOnce()) -> f64 {
    let before = allocations();
    f();
    (allocations() - before) as f64 / n as f64
}

// ---------- inputs ----------

fn data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn routes(name: &str) -> Vec<(Method, String)> {
    data(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (m, p) = l.trim().split_once(' ').expect("METHOD /path");
            let m = if m == "ANY" {
                Method::GET
            } else {
                Method::from_bytes(m.as_bytes()).unwrap()
            };
            (m, p.to_owned())
        })
        .collect()
}

/// A concrete path for a template: each `{param}` becomes a value.
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in template.chars() {
        match c {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push_str("v4lue");
            }
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

type Ours = Router<AxumBody, AxumBody, Infallible>;

fn ours(keys: impl IntoIterator<Item = String>) -> Ours {
    let handler = service_fn(|_: Request<AxumBody>| async {
        Ok::<_, Infallible>(Response::new(AxumBody::empty()))
    });
    keys.into_iter()
        .fold(Router::builder(), |b, k| b.route(k, handler))
        .build()
        .expect("table builds")
}

// ---------- (1) lookup: matchit's own bench table ----------

fn lookup_matchit_table(c: &mut Criterion) {
    let table = routes("matchit-bench-routes.txt");
    let ours = ours(table.iter().map(|(m, p)| format!("{m} {p}")));
    let mut theirs = matchit::Router::new();
    for (_, p) in &table {
        theirs
            .insert(p.clone(), p.clone())
            .expect("matchit takes the table");
    }
    let paths: Vec<String> = table.iter().map(|(_, p)| fill(p)).collect();
    for p in &paths {
        let a = ours.at(&Method::GET, p);
        let b = theirs.at(p).expect("matchit matches");
        let key = a.route_key().expect("we match");
        assert_eq!(&key[4..], b.value.as_str(), "{p}");
        let a = a.route().unwrap();
        let ap: Vec<_> = a.params().collect();
        let bp: Vec<_> = b.params.iter().collect();
        assert_eq!(ap, bp, "{p}");
    }
    let per = allocations_per(paths.len(), || {
        for p in &paths {
            black_box(ours.at(&Method::GET, black_box(p)));
        }
    });
    println!("lookup/matchit-table: ours {per} allocations per lookup");
    let per = allocations_per(paths.len(), || {
        for p in &paths {
            let _ = black_box(theirs.at(black_box(p)));
        }
    });
    println!("lookup/matchit-table: matchit {per} allocations per lookup");

    let mut g = c.benchmark_group("lookup/matchit-table");
    g.bench_function("tower-gateway", |b| {
        b.iter(|| {
            for p in &paths {
                black_box(ours.at(&Method::GET, black_box(p)));
            }
        })
    });
    g.bench_function("matchit", |b| {
        b.iter(|| {
            for p in &paths {
                let _ = black_box(theirs.at(black_box(p)));
            }
        })
    });
    g.finish();
}

// ---------- (2) lookup: GitHub v3 requests and misses ----------

fn lookup_github_v3(c: &mut Criterion) {
    let table = routes("github-v3-routes.txt");
    let ours = ours(table.iter().map(|(_, p)| format!("ANY {p}")));
    let mut theirs = matchit::Router::new();
    for (_, p) in &table {
        theirs
            .insert(p.clone(), p.clone())
            .expect("matchit takes the table");
    }
    let hits: Vec<String> = data("github-v3-requests.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect();
    let misses: Vec<String> = hits
        .iter()
        .take(100)
        .enumerate()
        .map(|(i, p)| match i % 4 {
            0 => format!("{p}/extra/segments"),
            1 => format!("/nope{p}"),
            2 => p.to_uppercase(),
            _ => format!("{p}/"),
        })
        .collect();
    for p in hits.iter().chain(&misses) {
        let a = ours
            .at(&Method::GET, p)
            .route_key()
            .map(|k| k[4..].to_owned());
        let b = theirs.at(p).ok().map(|m| m.value.clone());
        assert_eq!(a, b, "{p}");
    }
    let hit_count = hits.iter().filter(|p| theirs.at(p).is_ok()).count();
    let miss_count = misses.iter().filter(|p| theirs.at(p).is_err()).count();
    println!(
        "lookup/github-v3: {} requests ({hit_count} hits), {} misses ({miss_count} true misses)",
        hits.len(),
        misses.len()
    );
    let per = allocations_per(hits.len() + misses.len(), || {
        for p in hits.iter().chain(&misses) {
            black_box(ours.at(&Method::GET, black_box(p)));
        }
    });
    println!("lookup/github-v3: ours {per} allocations per lookup");

    for (name, set) in [("hits", &hits), ("misses", &misses)] {
        let mut g = c.benchmark_group(format!("lookup/github-v3/{name}"));
        g.bench_function("tower-gateway", |b| {
            b.iter(|| {
                for p in set.iter() {
                    black_box(ours.at(&Method::GET, black_box(p)));
                }
            })
        });
        g.bench_function("matchit", |b| {
            b.iter(|| {
                for p in set.iter() {
                    let _ = black_box(theirs.at(black_box(p)));
                }
            })
        });
        g.finish();
    }
}

// ---------- (3) full dispatch: GitHub table, ours vs axum::Router ----------

fn dispatch_github(c: &mut Criterion) {
    let table = routes("github-routes.txt");
    let mut ours = ours(table.iter().map(|(m, p)| format!("{m} {p}")));
    let mut by_path: BTreeMap<&str, axum::routing::MethodRouter> = BTreeMap::new();
    for (m, p) in &table {
        let filter = axum::routing::MethodFilter::try_from(m.clone()).expect("standard method");
        let entry = by_path.remove(p.as_str()).unwrap_or_default();
        by_path.insert(p, entry.on(filter, || async { StatusCode::OK }));
    }
    let mut theirs = by_path
        .into_iter()
        .fold(axum::Router::new(), |r, (p, mr)| r.route(p, mr));

    let requests = || -> Vec<Request<AxumBody>> {
        table
            .iter()
            .map(|(m, p)| {
                Request::builder()
                    .method(m.clone())
                    .uri(fill(p))
                    .body(AxumBody::empty())
                    .unwrap()
            })
            .collect()
    };
    for req in requests() {
        let (m, uri) = (req.method().clone(), req.uri().clone());
        let mut again = Request::new(AxumBody::empty());
        *again.method_mut() = m;
        *again.uri_mut() = uri.clone();
        let a = poll_now(ours.call(req)).unwrap();
        let b = poll_now(theirs.call(again)).unwrap();
        assert_eq!(a.status(), StatusCode::OK, "{uri}");
        assert_eq!(b.status(), StatusCode::OK, "{uri}");
    }
    // `BENCH_PROFILE=dispatch:ours|axum|none` dispatches the whole table once per iteration for
    // a profiler (`benches/profile.sh router dispatch:ours ..`); `none` builds the requests alone.
    if let Some((spec, iterations)) = profile::requested() {
        if let Some(side) = spec.strip_prefix("dispatch:") {
            profile::run(iterations, || match side {
                "ours" => requests()
                    .into_iter()
                    .for_each(|req| drop(black_box(poll_now(ours.call(req))))),
                "axum" => requests()
                    .into_iter()
                    .for_each(|req| drop(black_box(poll_now(theirs.call(req))))),
                _ => drop(black_box(requests())),
            });
        }
    }

    let n = table.len();
    let reqs = requests();
    let per = allocations_per(n, || {
        for req in reqs {
            black_box(poll_now(ours.call(req)).unwrap());
        }
    });
    println!("dispatch/github: ours {per:.1} allocations per request");
    let reqs = requests();
    let per = allocations_per(n, || {
        for req in reqs {
            black_box(poll_now(theirs.call(req)).unwrap());
        }
    });
    println!("dispatch/github: axum {per:.1} allocations per request");

    // One table's worth of requests (203) is built before each timed iteration, as a server
    // builds and frees one request after another. With `SmallInput` criterion builds dozens
    // of tables (thousands of requests) before the clock starts; freeing them inside the timed
    // loop overflows glibc's per-thread cache and its consolidation of free chunks lands on
    // whichever side allocates least (see benches/stack.rs). 203 requests take some 60 µs to
    // serve, so timing each iteration on its own costs nothing measurable. Here the ratio is
    // the same either way (0.63-0.72 with either batching, two runs each, same session).
    let batch = BatchSize::PerIteration;
    let mut g = c.benchmark_group("dispatch/github");
    g.bench_function("tower-gateway", |b| {
        b.iter_batched(
            requests,
            |reqs| {
                for req in reqs {
                    black_box(poll_now(ours.call(req)).unwrap());
                }
            },
            batch,
        )
    });
    g.bench_function("axum", |b| {
        b.iter_batched(
            requests,
            |reqs| {
                for req in reqs {
                    black_box(poll_now(theirs.call(req)).unwrap());
                }
            },
            batch,
        )
    });
    g.finish();
}

// ---------- (4) build time: the GitLab table ----------

fn build_gitlab(c: &mut Criterion) {
    let keys: Vec<String> = data("gitlab-routes.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .collect();
    let handler = service_fn(|_: Request<AxumBody>| async {
        Ok::<_, Infallible>(Response::new(AxumBody::empty()))
    });
    let build = |keys: &[String]| {
        keys.iter()
            .fold(Router::builder(), |b, k| b.route(k.as_str(), handler))
            .build()
    };
    let error = build(&keys).expect_err("some GitLab routes are refused");
    let bad: std::collections::HashSet<&str> = error.problems().iter().map(|p| p.value()).collect();
    let good: Vec<String> = keys
        .iter()
        .filter(|k| !bad.contains(k.as_str()))
        .cloned()
        .collect();
    build(&good).expect("the rest loads");
    println!(
        "build/gitlab: {} routes, {} refused with one problem each, {} load",
        keys.len(),
        error.problems().len(),
        good.len()
    );
    let mut g = c.benchmark_group("build/gitlab");
    g.sample_size(20);
    g.bench_function("all 3562 (validate, refuse)", |b| {
        b.iter(|| black_box(build(black_box(&keys)).is_err()))
    });
    g.bench_function("loadable subset", |b| {
        b.iter(|| black_box(build(black_box(&good)).is_ok()))
    });
    g.finish();
}

fn decision_sanity() {
    // Make sure `Decision` stays cheap to return by value.
    let size = std::mem::size_of::<Decision<'static, 'static>>();
    println!("size_of::<Decision>() = {size} bytes");
}

fn all(c: &mut Criterion) {
    if profile::requested().is_some() {
        // Only dispatch has a profiling mode; it exits when done.
        dispatch_github(c);
    }
    decision_sanity();
    lookup_matchit_table(c);
    lookup_github_v3(c);
    dispatch_github(c);
    build_gitlab(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
