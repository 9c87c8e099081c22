#![cfg(feature = "canary")]

mod common;

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use common::{body_text, ok, request, Gated, Named};
use http::header::HeaderName;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::canary::{stable_hash, Arm, CanaryLayer, CanarySplit, Key, Mode, Weight};
use tower_gateway::error::ProblemKind;
use tower_gateway::ConfigError;

type Split = CanarySplit<Named, Named>;

/// Calls one instance of `split` (so its generator is drawn in order) and returns the arm's
/// name, checking that the body and both extensions agree on it.
async fn call<S>(service: &mut S, request: Request<Full<Bytes>>) -> Result<S::Response, S::Error>
where
    S: Service<Request<Full<Bytes>>>,
{
    ServiceExt::<Request<Full<Bytes>>>::ready(service)
        .await?
        .call(request)
        .await
}

async fn serve(split: &mut Split, request: Request<Full<Bytes>>) -> String {
    let response = call(split, request).await.unwrap();
    let arm = response.extensions().get::<Arm>().unwrap().clone();
    let body = body_text(response.into_body()).await;
    assert_eq!(arm.name(), body);
    body
}

async fn count(split: &mut Split, calls: usize, arm: &str) -> usize {
    let mut n = 0;
    for _ in 0..calls {
        if serve(split, request("GET", "/")).await == arm {
            n += 1;
        }
    }
    n
}

fn two_arms(weight: impl Into<Weight>, mode: Mode, seed: u64) -> (Split, Named, Named) {
    let (stable, canary) = (Named::new("stable"), Named::new("canary"));
    let split = CanaryLayer::builder()
        .canary(canary.clone(), weight)
        .mode(mode)
        .seed(seed)
        .build()
        .unwrap()
        .layer(stable.clone());
    (split, stable, canary)
}

fn with_header(name: &str, value: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .uri("/")
        .header(name, value)
        .body(Full::default())
        .unwrap()
}

fn problems(error: &ConfigError) -> Vec<(ProblemKind, &str)> {
    error
        .problems()
        .iter()
        .map(|p| (p.kind(), p.value()))
        .collect()
}

#[tokio::test]
async fn weight_zero_is_never_the_canary() {
    let (mut split, stable, canary) = two_arms(0.0, Mode::random(), 1);
    assert_eq!(count(&mut split, 10_000, "canary").await, 0);
    assert_eq!((stable.calls(), canary.calls()), (10_000, 0));
}

#[tokio::test]
async fn weight_hundred_is_always_the_canary() {
    let (mut split, stable, canary) = two_arms("100%", Mode::random(), 1);
    assert_eq!(count(&mut split, 10_000, "canary").await, 10_000);
    assert_eq!((stable.calls(), canary.calls()), (0, 10_000));
}

#[tokio::test]
async fn ten_percent_random_is_within_half_a_point_and_reproducible() {
    // sigma = sqrt(0.1 * 0.9 / 100,000) = 0.095 pp, so +-0.5 pp is 5.3 sigma.
    let (mut split, _, _) = two_arms(10.0, Mode::random(), 42);
    let first = count(&mut split, 100_000, "canary").await;
    assert!(first.abs_diff(10_000) <= 500, "{first}");
    let (mut again, _, _) = two_arms(10.0, Mode::random(), 42);
    assert_eq!(count(&mut again, 100_000, "canary").await, first);
    let (mut other, _, _) = two_arms(10.0, Mode::random(), 43);
    let other = count(&mut other, 100_000, "canary").await;
    assert!(other.abs_diff(10_000) <= 500, "{other}");
    assert_ne!(other, first);
}

#[tokio::test]
async fn clones_draw_independently() {
    // Two clones of one split, drawn alternately, must not mirror each other: 50% each, so
    // agreement is 50% +- 5 sigma (sigma = 0.5 / sqrt(10,000) = 0.5 pp).
    let (split, _, _) = two_arms(50.0, Mode::random(), 7);
    let (mut a, mut b) = (split.clone(), split.clone());
    let mut agree = 0;
    for _ in 0..10_000 {
        let x = serve(&mut a, request("GET", "/")).await;
        let y = serve(&mut b, request("GET", "/")).await;
        agree += usize::from(x == y);
    }
    assert!(agree.abs_diff(5_000) <= 250, "{agree}");
}

#[tokio::test]
async fn round_robin_nine_to_one_serves_calls_6_16_26() {
    let (mut split, _, _) = two_arms(10.0, Mode::round_robin(), 0);
    let mut canary_calls = Vec::new();
    for call in 1..=30 {
        if serve(&mut split, request("GET", "/")).await == "canary" {
            canary_calls.push(call);
        }
    }
    assert_eq!(canary_calls, [6, 16, 26]);
}

#[tokio::test]
async fn round_robin_is_shared_by_clones() {
    // axum and hyper clone a service per request: the cycle must not restart per clone.
    let (split, _, canary) = two_arms(10.0, Mode::round_robin(), 0);
    for _ in 0..100 {
        split.clone().oneshot(request("GET", "/")).await.unwrap();
    }
    assert_eq!(canary.calls(), 10);
}

fn three_arms(a: u32, b: u32, c: u32, mode: Mode) -> (CanarySplit<Named, Named>, [Named; 3]) {
    let arms = [Named::new("a"), Named::new("b"), Named::new("c")];
    let split = CanaryLayer::builder()
        .stable("a", Weight::ppm(a))
        .arm("b", arms[1].clone(), Weight::ppm(b))
        .arm("c", arms[2].clone(), Weight::ppm(c))
        .mode(mode)
        .seed(5)
        .build()
        .unwrap()
        .layer(arms[0].clone());
    (split, arms)
}

#[tokio::test]
async fn three_arms_round_robin_order() {
    let (mut split, _) = three_arms(5, 1, 1, Mode::round_robin());
    let mut order = String::new();
    for _ in 0..14 {
        order.push_str(&serve(&mut split, request("GET", "/")).await);
    }
    assert_eq!(order, "aabacaaaabacaa");
}

#[tokio::test]
async fn three_arms_random_shares() {
    // 50 / 30 / 20 over 100,000 calls; 5 sigma is at most 5 * 0.158 pp = 0.8 pp = 800 calls.
    let (mut split, arms) = three_arms(50, 30, 20, Mode::random());
    for _ in 0..100_000 {
        serve(&mut split, request("GET", "/")).await;
    }
    let calls = arms.map(|a| a.calls());
    for (got, want) in calls.iter().zip([50_000, 30_000, 20_000]) {
        assert!(got.abs_diff(want) <= 800, "{calls:?}");
    }
}

#[tokio::test]
async fn zero_weight_arm_among_three_is_never_served() {
    let (mut split, arms) = three_arms(1, 0, 1, Mode::random());
    for _ in 0..2_000 {
        serve(&mut split, request("GET", "/")).await;
    }
    assert_eq!(arms[1].calls(), 0);
    assert_eq!(arms[0].calls() + arms[2].calls(), 2_000);
}

#[tokio::test]
async fn point_57_percent_is_exact_over_a_million_round_robin_calls() {
    let (mut split, stable, canary) = two_arms("0.57%", Mode::round_robin(), 0);
    for _ in 0..1_000_000 {
        let response = call(&mut split, request("GET", "/")).await.unwrap();
        assert!(response.extensions().get::<Arm>().is_some());
    }
    assert_eq!((stable.calls(), canary.calls()), (994_300, 5_700));
}

#[test]
fn every_weight_error_names_its_value() {
    let cases: Vec<(Weight, ProblemKind, &str)> = vec![
        (Weight::from(f64::NAN), ProblemKind::Invalid, "NaN"),
        (Weight::from(f64::INFINITY), ProblemKind::OutOfRange, "inf"),
        (Weight::from(-5.0), ProblemKind::OutOfRange, "-5"),
        (Weight::from("-5%"), ProblemKind::OutOfRange, "-5%"),
        (Weight::from("100.01"), ProblemKind::OutOfRange, "100.01"),
        (Weight::from(120.0), ProblemKind::OutOfRange, "120"),
        (Weight::from("0.00005"), ProblemKind::Invalid, "0.00005"),
        (Weight::from(0.000_05), ProblemKind::Invalid, "0.00005"),
        (Weight::from("ten"), ProblemKind::Syntax, "ten"),
        (Weight::ppm(1_000_001), ProblemKind::OutOfRange, "1000001"),
    ];
    for (weight, kind, value) in cases {
        let error = CanaryLayer::new(Named::new("canary"), weight).unwrap_err();
        assert_eq!(problems(&error), [(kind, value)]);
        assert!(error.to_string().starts_with("canary: "), "{error}");
    }
}

#[test]
fn zero_sum_is_a_config_error() {
    let error = CanaryLayer::builder()
        .stable("v1", 0.0)
        .arm("v2", Named::new("v2"), "0%")
        .build()
        .unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::Invalid, "0, 0")]);
    assert!(error.to_string().contains("sum to zero"), "{error}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let error = CanaryLayer::builder()
        .stable("v1", "abc")
        .arm("v1", Named::new("x"), f64::NAN)
        .arm("", Named::new("y"), 5.0)
        .override_cookie("bad cookie")
        .arm_header(HeaderName::from_static("x-arm"))
        .arm("caf\u{e9}\n", Named::new("z"), 1.0)
        .build()
        .unwrap_err();
    let found = problems(&error);
    assert!(found.contains(&(ProblemKind::Syntax, "abc")), "{found:?}");
    assert!(found.contains(&(ProblemKind::Invalid, "NaN")), "{found:?}");
    assert!(found.contains(&(ProblemKind::Duplicate, "v1")), "{found:?}");
    assert!(found.contains(&(ProblemKind::Invalid, "")), "{found:?}");
    assert!(
        found.contains(&(ProblemKind::Syntax, "bad cookie")),
        "{found:?}"
    );
    assert!(
        found.contains(&(ProblemKind::Invalid, "caf\u{e9}\n")),
        "{found:?}"
    );
    assert_eq!(found.len(), 6, "{error}");
}

#[test]
fn structural_config_errors() {
    // No canary arm.
    let error = CanaryLayer::<Named>::builder().build().unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::Invalid, "stable")]);
    // Canary arms over 100% with no stable weight.
    let error = CanaryLayer::builder()
        .arm("a", Named::new("a"), 60.0)
        .arm("b", Named::new("b"), 60.0)
        .build()
        .unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::OutOfRange, "120%")]);
    // A sticky cookie name that is not a token.
    let error = CanaryLayer::builder()
        .canary(Named::new("c"), 1.0)
        .mode(Mode::sticky(Key::cookie("a;b")))
        .build()
        .unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::Syntax, "a;b")]);
    // A round-robin cycle over 2^20 calls.
    let error = CanaryLayer::builder()
        .stable("s", Weight::ppm(999_999))
        .arm("a", Named::new("a"), Weight::ppm(1_000_000))
        .arm("b", Named::new("b"), Weight::ppm(3))
        .mode(Mode::round_robin())
        .build()
        .unwrap_err();
    assert_eq!(problems(&error)[0].0, ProblemKind::OutOfRange);
    // More than 256 arms.
    let mut builder = CanaryLayer::builder();
    for i in 0..256 {
        builder = builder.arm(format!("arm{i}"), Named::new("x"), 0.1);
    }
    let error = builder.build().unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::OutOfRange, "257")]);
}

#[tokio::test]
async fn run_time_change_mid_stream() {
    let (mut split, stable, canary) = two_arms(10.0, Mode::round_robin(), 0);
    let handle = split.handle();
    assert_eq!(count(&mut split, 100, "canary").await, 10);
    handle.set_canary("50%").unwrap();
    assert_eq!(count(&mut split, 100, "canary").await, 50);
    handle.promote();
    assert_eq!(count(&mut split, 100, "canary").await, 100);
    handle.roll_back();
    assert_eq!(count(&mut split, 100, "canary").await, 0);
    assert_eq!((stable.calls(), canary.calls()), (240, 160));
}

#[tokio::test]
async fn refused_changes_keep_the_weights() {
    let (mut split, _, _) = two_arms(10.0, Mode::round_robin(), 0);
    let handle = split.handle();
    let error = handle
        .set([("canary", Weight::from("x")), ("nope", Weight::ppm(1))])
        .unwrap_err();
    assert_eq!(
        problems(&error),
        [(ProblemKind::Syntax, "x"), (ProblemKind::Unknown, "nope")]
    );
    let error = handle.set([("stable", 0.0), ("canary", 0.0)]).unwrap_err();
    assert_eq!(problems(&error), [(ProblemKind::Invalid, "0, 0")]);
    assert!(handle.set_canary(f64::NAN).is_err());
    assert_eq!(handle.canary_weight(), Weight::ppm(100_000));
    assert_eq!(count(&mut split, 100, "canary").await, 10);
    // A valid partial change keeps the arms it does not name.
    handle.set([("canary", Weight::ppm(300_000))]).unwrap();
    assert_eq!(
        handle.weights(),
        [
            (Arm::new("stable", false), Weight::ppm(900_000)),
            (Arm::new("canary", true), Weight::ppm(300_000)),
        ]
    );
    assert_eq!(handle.canary_weight(), Weight::ppm(250_000));
}

#[tokio::test]
async fn override_header_forces_an_arm() {
    let (mut split, stable, canary) = two_arms(0.0, Mode::random(), 1);
    for value in ["always", "ALWAYS", "Always"] {
        assert_eq!(
            serve(&mut split, with_header("x-canary", value)).await,
            "canary"
        );
    }
    let (mut split, _, _) = two_arms(100.0, Mode::random(), 1);
    assert_eq!(
        serve(&mut split, with_header("x-canary", "never")).await,
        "stable"
    );
    assert_eq!(stable.calls() + canary.calls(), 3);
}

#[tokio::test]
async fn other_override_values_are_ignored() {
    let (mut split, _, _) = two_arms(0.0, Mode::random(), 1);
    for value in ["sometimes", "", "1", "true", "always "] {
        assert_eq!(
            serve(&mut split, with_header("x-canary", value)).await,
            "stable"
        );
    }
}

#[tokio::test]
async fn override_cookie_and_precedence() {
    let (stable, canary) = (Named::new("stable"), Named::new("canary"));
    let mut split = CanaryLayer::builder()
        .canary(canary, 0.0)
        .override_cookie("canary")
        .override_header(HeaderName::from_static("x-force"))
        .build()
        .unwrap()
        .layer(stable);
    let cookie = |value: &str| with_header("cookie", &format!("theme=dark; canary={value}"));
    assert_eq!(serve(&mut split, cookie("always")).await, "canary");
    assert_eq!(serve(&mut split, cookie("maybe")).await, "stable");
    // The header beats the cookie.
    let mut both = cookie("always");
    both.headers_mut()
        .insert("x-force", "never".parse().unwrap());
    assert_eq!(serve(&mut split, both).await, "stable");
    // The default header name is replaced, not added.
    assert_eq!(
        serve(&mut split, with_header("x-canary", "always")).await,
        "stable"
    );
    // An ignored header value lets the cookie decide.
    let mut both = cookie("always");
    both.headers_mut()
        .insert("x-force", "bogus".parse().unwrap());
    assert_eq!(serve(&mut split, both).await, "canary");
}

#[tokio::test]
async fn override_header_can_be_turned_off() {
    let (stable, canary) = (Named::new("stable"), Named::new("canary"));
    let mut split = CanaryLayer::builder()
        .canary(canary, 0.0)
        .no_override_header()
        .build()
        .unwrap()
        .layer(stable);
    assert_eq!(
        serve(&mut split, with_header("x-canary", "always")).await,
        "stable"
    );
}

fn sticky(weight: impl Into<Weight>, seed: u64) -> CanaryLayer<Named> {
    CanaryLayer::builder()
        .canary(Named::new("canary"), weight)
        .mode(Mode::sticky(Key::header(HeaderName::from_static("x-user"))))
        .seed(seed)
        .build()
        .unwrap()
}

fn user(id: u32) -> http::request::Parts {
    with_header("x-user", &format!("user-{id}")).into_parts().0
}

#[test]
fn sticky_is_deterministic_across_replicas() {
    // Two "replicas": separate layers with different seeds agree on every key.
    let (a, b) = (sticky(30.0, 1), sticky(30.0, 2));
    for id in 0..2_000 {
        let parts = user(id);
        assert_eq!(a.pick(&parts), b.pick(&parts));
        assert_eq!(a.pick(&parts), a.pick(&parts));
    }
    // The placement is the published hash: canary iff hash / 2^64 < 30%.
    let parts = user(7);
    let point = stable_hash(b"user-7") as f64 / 2f64.powi(64);
    assert_eq!(a.pick(&parts).is_canary(), point < 0.3);
}

#[test]
fn sticky_ramp_only_moves_keys_to_the_canary() {
    let layer = sticky(5.0, 1);
    let handle = layer.handle();
    let at_5: Vec<bool> = (0..10_000)
        .map(|id| layer.pick(&user(id)).is_canary())
        .collect();
    handle.set_canary(10.0).unwrap();
    let at_10: Vec<bool> = (0..10_000)
        .map(|id| layer.pick(&user(id)).is_canary())
        .collect();
    assert!(at_5.iter().zip(&at_10).all(|(five, ten)| !five || *ten));
    assert!(at_10.iter().filter(|c| **c).count() > at_5.iter().filter(|c| **c).count());
}

#[test]
fn sticky_ten_thousand_keys_at_ten_percent() {
    // Deterministic (fixed keys, fixed hash); the bound is +-1.2 pp = 120 keys.
    let layer = sticky(10.0, 1);
    let canary = (0..10_000)
        .filter(|id| layer.pick(&user(*id)).is_canary())
        .count();
    assert!(canary.abs_diff(1_000) <= 120, "{canary}");
}

#[test]
fn sticky_missing_key_falls_back() {
    let no_key = request("GET", "/").into_parts().0;
    // Default: a random draw at the split's weights.
    let layer = sticky(50.0, 3);
    let canary = (0..10_000)
        .filter(|_| layer.pick(&no_key).is_canary())
        .count();
    assert!(canary.abs_diff(5_000) <= 250, "{canary}");
    // Or the stable arm.
    let layer = CanaryLayer::builder()
        .canary(Named::new("canary"), 100.0)
        .mode(Mode::sticky_or_stable(Key::cookie("uid")))
        .build()
        .unwrap();
    assert!(!layer.pick(&no_key).is_canary());
    let with_cookie = with_header("cookie", "uid=9").into_parts().0;
    assert!(layer.pick(&with_cookie).is_canary());
    // An empty key counts as missing.
    let empty = with_header("cookie", "uid=").into_parts().0;
    assert!(!layer.pick(&empty).is_canary());
}

#[test]
fn sticky_by_function() {
    let layer = CanaryLayer::builder()
        .canary(Named::new("canary"), 50.0)
        .mode(Mode::sticky_or_stable(Key::function(|parts| {
            let tenant = parts.uri.path().strip_prefix("/t/")?.split('/').next()?;
            Some(Cow::Borrowed(tenant.as_bytes()))
        })))
        .build()
        .unwrap();
    let pick = |uri: &str| layer.pick(&request("GET", uri).into_parts().0);
    let point = stable_hash(b"acme") as f64 / 2f64.powi(64);
    assert_eq!(pick("/t/acme/a").is_canary(), point < 0.5);
    assert_eq!(pick("/t/acme/a"), pick("/t/acme/b"));
    assert!(!pick("/other").is_canary());
}

#[tokio::test]
async fn two_stacked_splits_are_independent() {
    // 50% x 50% = 25% at the inner canary; sigma = 0.137 pp over 100,000 calls, +-0.75 pp.
    let inner_canary = Named::new("inner-canary");
    let inner = CanaryLayer::builder()
        .arm("inner-canary", inner_canary.clone(), 50.0)
        .stable("inner-stable", 50.0)
        .build()
        .unwrap()
        .layer(Named::new("inner-stable"));
    let mut outer = CanaryLayer::builder()
        .arm("outer-canary", inner, 50.0)
        .stable("outer-stable", 50.0)
        .seed(11)
        .build()
        .unwrap()
        .layer(Named::new("outer-stable"));
    for _ in 0..100_000 {
        call(&mut outer, request("GET", "/")).await.unwrap();
    }
    let calls = inner_canary.calls();
    assert!(calls.abs_diff(25_000) <= 750, "{calls}");
}

#[derive(Clone, Debug, PartialEq)]
struct Broken(&'static str);

#[derive(Clone)]
struct Flaky {
    ready_error: bool,
    calls: Arc<Mutex<usize>>,
}

impl Service<Request<Full<Bytes>>> for Flaky {
    type Response = Response<Full<Bytes>>;
    type Error = Broken;
    type Future = std::future::Ready<Result<Self::Response, Broken>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Broken>> {
        if self.ready_error {
            Poll::Ready(Err(Broken("not ready")))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        *self.calls.lock().unwrap() += 1;
        std::future::ready(if self.ready_error {
            Ok(Response::new(Full::default()))
        } else {
            Err(Broken("call failed"))
        })
    }
}

fn ok_stable(
    calls: Arc<Mutex<usize>>,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Broken,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_: Request<Full<Bytes>>| {
        *calls.lock().unwrap() += 1;
        async { Ok::<_, Broken>(Response::new(Full::new(Bytes::from_static(b"stable")))) }
    })
}

#[tokio::test]
async fn an_arm_whose_poll_ready_errors_is_not_rerouted() {
    let (stable_calls, canary_calls) = (Arc::default(), Arc::default());
    let canary = Flaky {
        ready_error: true,
        calls: Arc::clone(&canary_calls),
    };
    let mut split = CanaryLayer::new(canary, 100.0)
        .unwrap()
        .layer(ok_stable(Arc::clone(&stable_calls)));
    // The split itself stays ready; the error comes out of the response future, as is.
    let error = call(&mut split, request("GET", "/")).await.unwrap_err();
    assert_eq!(error, Broken("not ready"));
    assert_eq!(
        (*stable_calls.lock().unwrap(), *canary_calls.lock().unwrap()),
        (0, 0)
    );
    // Requests for the stable arm still work.
    let response = call(&mut split, with_header("x-canary", "never"))
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "stable");
}

#[tokio::test]
async fn an_arm_whose_call_errors_is_not_rerouted() {
    let (stable_calls, canary_calls) = (Arc::default(), Arc::default());
    let canary = Flaky {
        ready_error: false,
        calls: Arc::clone(&canary_calls),
    };
    let split = CanaryLayer::new(canary, 100.0)
        .unwrap()
        .layer(ok_stable(Arc::clone(&stable_calls)));
    let error = split.oneshot(request("GET", "/")).await.unwrap_err();
    assert_eq!(error, Broken("call failed"));
    assert_eq!(
        (*stable_calls.lock().unwrap(), *canary_calls.lock().unwrap()),
        (0, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clones_share_one_handle() {
    let (split, stable, canary) = two_arms(10.0, Mode::random(), 3);
    let handle = split.handle();
    let mut tasks = Vec::new();
    for task in 0..8 {
        let mut split = split.clone();
        let handle = handle.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..500 {
                if task == 0 && i % 50 == 0 {
                    handle.set_canary(Weight::ppm(i * 2_000)).unwrap();
                }
                serve(&mut split, request("GET", "/")).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(stable.calls() + canary.calls(), 4_000);
    // Every clone sees a change made through any handle.
    handle.roll_back();
    let mut clones: Vec<_> = (0..8).map(|_| split.clone()).collect();
    for clone in &mut clones {
        assert_eq!(count(clone, 50, "canary").await, 0);
    }
    split.handle().promote();
    for clone in &mut clones {
        assert_eq!(count(clone, 50, "canary").await, 50);
    }
}

#[tokio::test]
async fn the_backend_sees_the_arm_and_a_header_names_it() {
    let backend = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        let arm = request.extensions().get::<Arm>().unwrap();
        let text = format!("{}:{}", arm.name(), arm.is_canary());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    });
    let split = CanaryLayer::builder()
        .canary(backend, 100.0)
        .arm_header(HeaderName::from_static("x-served-by"))
        .build()
        .unwrap()
        .layer(backend);
    let response = split.clone().oneshot(request("GET", "/")).await.unwrap();
    assert_eq!(response.headers()["x-served-by"], "canary");
    assert_eq!(body_text(response.into_body()).await, "canary:true");
    let response = split
        .oneshot(with_header("x-canary", "never"))
        .await
        .unwrap();
    assert_eq!(response.headers()["x-served-by"], "stable");
    assert_eq!(body_text(response.into_body()).await, "stable:false");
}

#[test]
fn pick_needs_no_service() {
    let layer = CanaryLayer::new(Named::new("canary"), 0.0).unwrap();
    let parts = request("GET", "/").into_parts().0;
    assert_eq!(layer.pick(&parts), Arm::new("stable", false));
    let forced = with_header("x-canary", "always").into_parts().0;
    assert_eq!(layer.pick(&forced), Arm::new("canary", true));
}

#[tokio::test]
async fn access_log_names_the_arm() {
    // A stand-in access log outside the split: it reads the arm from the response extensions.
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&log);
    let stack = ServiceBuilder::new()
        .map_response(move |response: Response<Full<Bytes>>| {
            let arm = response.extensions().get::<Arm>().map_or("-", Arm::name);
            sink.lock()
                .unwrap()
                .push(format!("{} arm={arm}", response.status().as_u16()));
            response
        })
        .layer(
            CanaryLayer::builder()
                .canary(Named::new("v2"), 50.0)
                .stable("v1", 50.0)
                .mode(Mode::round_robin())
                .build()
                .unwrap(),
        )
        .service(Named::new("v1"));
    for _ in 0..4 {
        stack.clone().oneshot(request("GET", "/")).await.unwrap();
    }
    assert_eq!(
        *log.lock().unwrap(),
        [
            "200 arm=v1",
            "200 arm=canary",
            "200 arm=v1",
            "200 arm=canary"
        ]
    );
}

#[tokio::test]
async fn stacks_under_axum_router() {
    use axum::routing::get;
    let stable = axum::Router::new().route("/", get(|| async { "stable app" }));
    let canary = axum::Router::new().route("/", get(|| async { "canary app" }));
    let layer = CanaryLayer::new(canary, 0.0).unwrap();
    let handle = layer.handle();
    let app = stable.layer(layer);
    let response = app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "stable");
    assert_eq!(body_text(response.into_body()).await, "stable app");
    handle.promote();
    let response = app
        .oneshot(
            Request::builder()
                .uri("/")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(body_text(response.into_body()).await, "canary app");
}

proptest::proptest! {
    #[test]
    fn weight_text_never_panics_and_round_trips(text in ".{0,40}", ppm in 0u32..=1_000_000) {
        let _ = Weight::parse(&text);
        let shown = Weight::ppm(ppm).to_string();
        proptest::prop_assert_eq!(Weight::parse(&shown).unwrap().to_ppm().unwrap(), ppm);
        proptest::prop_assert_eq!(Weight::percent(f64::from(ppm) / 10_000.0).to_ppm().unwrap(), ppm);
    }
}

#[tokio::test]
async fn sticky_service_agrees_with_pick() {
    let by_header = sticky(40.0, 1);
    let by_function = CanaryLayer::builder()
        .canary(Named::new("canary"), 40.0)
        .mode(Mode::sticky(Key::function(|parts| {
            parts
                .headers
                .get("x-user")
                .map(|v| Cow::Borrowed(v.as_bytes()))
        })))
        .build()
        .unwrap();
    for layer in [by_header, by_function] {
        let mut split = layer.clone().layer(Named::new("stable"));
        for id in 0..500 {
            let want = layer.pick(&user(id));
            let got = serve(&mut split, with_header("x-user", &format!("user-{id}"))).await;
            assert_eq!(got, want.name());
        }
    }
}

#[tokio::test]
async fn extensions_can_be_turned_off() {
    let backend = tower::service_fn(|request: Request<Full<Bytes>>| async move {
        assert!(request.extensions().get::<Arm>().is_none());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let split = CanaryLayer::builder()
        .canary(backend, 50.0)
        .arm_extensions(false)
        .arm_header(HeaderName::from_static("x-arm"))
        .build()
        .unwrap()
        .layer(backend);
    let response = split
        .oneshot(with_header("x-canary", "always"))
        .await
        .unwrap();
    assert!(response.extensions().get::<Arm>().is_none());
    assert_eq!(response.headers()["x-arm"], "canary");
}

#[tokio::test]
async fn a_slow_arm_is_readied_inside_the_future_and_stalls_nobody_else() {
    let gated = Gated::default();
    let mut split = CanaryLayer::new(gated.clone(), 100.0)
        .unwrap()
        .layer(Named::new("stable"));
    // The split is ready although its canary is not, and the call does not block.
    ServiceExt::<Request<Full<Bytes>>>::ready(&mut split)
        .await
        .unwrap();
    let pending = tokio::spawn(split.call(request("GET", "/")));
    tokio::task::yield_now().await;
    assert!(!pending.is_finished());
    // Other requests go through meanwhile (no head-of-line blocking).
    let stable = call(&mut split, with_header("x-canary", "never"))
        .await
        .unwrap();
    assert_eq!(body_text(stable.into_body()).await, "stable");
    // Opening the gate wakes the task that polls the response future (its real waker).
    gated.open();
    let response = pending.await.unwrap().unwrap();
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "canary");
    assert_eq!(body_text(response.into_body()).await, "open");
}

/// An arm that counts its calls and is not ready the first time it is asked (it wakes the
/// task, as a service whose capacity frees up at once would). Clones share their state.
#[derive(Clone, Default)]
struct Hesitant {
    asked: Arc<Mutex<bool>>,
    calls: Arc<Mutex<usize>>,
}

impl Service<Request<Full<Bytes>>> for Hesitant {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        let mut asked = self.asked.lock().unwrap();
        if *asked {
            Poll::Ready(Ok(()))
        } else {
            *asked = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        *self.calls.lock().unwrap() += 1;
        std::future::ready(Ok(Response::new(Full::new(Bytes::from_static(b"stable")))))
    }
}

#[tokio::test]
async fn a_ready_stable_arm_is_called_in_place_and_a_pending_one_is_readied_in_the_future() {
    let (hesitant, clones) = (Hesitant::default(), Arc::new(Mutex::new(0)));
    let stable = Counting::new(hesitant.clone(), Arc::clone(&clones));
    let calls = || *hesitant.calls.lock().unwrap();
    let mut split = CanaryLayer::new(Named::new("canary"), 0.0)
        .unwrap()
        .layer(stable);
    // First call: the arm is not ready; it moves into the response future (which readies it
    // with the task's waker) and one clone takes its place in the split.
    let response = call(&mut split, request("GET", "/")).await.unwrap();
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "stable");
    assert_eq!(body_text(response.into_body()).await, "stable");
    assert_eq!((*clones.lock().unwrap(), calls()), (1, 1));
    // From then on the arm is ready when asked: it is called in place, never cloned.
    for expected_calls in 2..=5 {
        let response = call(&mut split, request("GET", "/")).await.unwrap();
        assert_eq!(body_text(response.into_body()).await, "stable");
        assert_eq!(calls(), expected_calls);
    }
    assert_eq!(*clones.lock().unwrap(), 1);
}

/// A service that counts its clones.
struct Counting<S> {
    inner: S,
    clones: Arc<Mutex<usize>>,
}

impl<S> Counting<S> {
    fn new(inner: S, clones: Arc<Mutex<usize>>) -> Self {
        Self { inner, clones }
    }
}

impl<S: Clone> Clone for Counting<S> {
    fn clone(&self) -> Self {
        *self.clones.lock().unwrap() += 1;
        Self::new(self.inner.clone(), Arc::clone(&self.clones))
    }
}

impl<S: Service<R>, R> Service<R> for Counting<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.inner.call(request)
    }
}

// ---- edge cases (audit, session 6): audit_c.rs

#[tokio::test]
async fn integer_weights_are_whole_percentages() {
    use tower_gateway::canary::{CanaryLayer, Mode, Weight};
    use tower_gateway::error::ProblemKind;
    assert_eq!(Weight::from(10).to_ppm().unwrap(), 100_000);
    assert_eq!(Weight::from(0_u32).to_ppm().unwrap(), 0);
    assert_eq!(Weight::from(100).to_ppm().unwrap(), 1_000_000);
    for (weight, value) in [(Weight::from(101), "101"), (Weight::from(-1), "-1")] {
        let error = weight.to_ppm().unwrap_err();
        assert_eq!(error.problems()[0].kind(), ProblemKind::OutOfRange);
        assert_eq!(error.problems()[0].value(), value);
    }
    // The issue's {5,1,1} written with integer literals: `a a b a c a a`.
    let named = |name: &'static str| {
        service_fn(move |_req: Request<Full<Bytes>>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                name.as_bytes(),
            ))))
        })
    };
    let layer = CanaryLayer::builder()
        .stable("a", 5)
        .arm("b", named("b"), 1)
        .arm("c", named("c"), 1)
        .mode(Mode::round_robin())
        .build()
        .unwrap();
    let split = layer.layer(named("a"));
    let mut order = String::new();
    for _ in 0..7 {
        let res = split
            .clone()
            .oneshot(common::request("GET", "/"))
            .await
            .unwrap();
        order.push_str(&body_text(res.into_body()).await);
    }
    assert_eq!(order, "aabacaa");
    let two = CanaryLayer::new(named("v2"), 10).unwrap();
    assert_eq!(two.handle().canary_weight(), Weight::ppm(100_000));
}

#[test]
fn sticky_keys_follow_promote_and_roll_back_and_overrides_beat_the_key() {
    use http::header::HeaderName;
    use tower_gateway::canary::{CanaryLayer, Key, Mode};
    let layer = CanaryLayer::builder()
        .canary(ok("canary"), "10%")
        .mode(Mode::sticky(Key::header(HeaderName::from_static("x-user"))))
        .build()
        .unwrap();
    let parts = |id: u32, force: Option<&str>| {
        let mut req = Request::builder().header("x-user", format!("user-{id}"));
        if let Some(force) = force {
            req = req.header("x-canary", force);
        }
        req.body(()).unwrap().into_parts().0
    };
    let handle = layer.handle();
    handle.promote();
    assert!((0..1_000).all(|id| layer.pick(&parts(id, None)).is_canary()));
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, Some("never"))).is_canary()));
    handle.roll_back();
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, None)).is_canary()));
    assert!((0..1_000).all(|id| layer.pick(&parts(id, Some("ALWAYS"))).is_canary()));
    // Other override values are ignored: the key decides.
    assert!((0..1_000).all(|id| !layer.pick(&parts(id, Some("yes"))).is_canary()));
}

// ---- edge cases (audit, session 6): audit_f.rs

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

#[test]
fn calls_racing_a_weight_change_never_see_a_mix_of_old_and_new_weights() {
    for mode in [Mode::random(), Mode::round_robin()] {
        let (split, _) = three_arms(1_000_000, 0, 0, mode);
        let handle = split.handle();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pickers: Vec<_> = (0..4)
            .map(|_| {
                let split = split.clone();
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let (parts, ()) = Request::new(()).into_parts();
                    let mut seen = [0u64; 3];
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let arm = split.pick(&parts);
                        let at = ["a", "b", "c"]
                            .iter()
                            .position(|n| *n == arm.name())
                            .unwrap();
                        seen[at] += 1;
                    }
                    seen
                })
            })
            .collect();
        // "b" has no weight in either state: only a torn read could give it a call.
        for i in 0..20_000 {
            let (a, c) = if i % 2 == 0 { (0, 100) } else { (100, 0) };
            handle
                .set([
                    ("a", Weight::from(a)),
                    ("b", Weight::ZERO),
                    ("c", Weight::from(c)),
                ])
                .unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for picker in pickers {
            let seen = picker.join().unwrap();
            assert_eq!(seen[1], 0, "a torn state served b: {seen:?}");
        }
    }
}

// ---- edge cases (audit, session 6): audit_j.rs

#[test]
fn f64_weights_round_to_the_nearest_ppm_and_refuse_any_finer_share() {
    // Rounding, never truncation: 0.57 * 10^4 is 5699.999999999999 in f64.
    assert_eq!(Weight::from(0.57).to_ppm().unwrap(), 5_700);
    assert_eq!(Weight::from(12.5).to_ppm().unwrap(), 125_000);
    assert_eq!(Weight::from(0.1 + 0.2).to_ppm().unwrap(), 3_000);
    assert_eq!(Weight::from(-0.0).to_ppm().unwrap(), 0);
    assert_eq!(Weight::from(99.9999).to_ppm().unwrap(), 999_999);
    // A positive share far below one ppm is more precise than a ppm, not silently 0%.
    for tiny in [1e-9, 1e-11, 1e-300, f64::MIN_POSITIVE] {
        let error = Weight::from(tiny).to_ppm().unwrap_err();
        assert_eq!(error.problems()[0].kind(), ProblemKind::Invalid, "{tiny}");
        assert_eq!(error.problems()[0].value(), tiny.to_string());
    }
    // Just off a ppm, near the top of the range.
    let error = Weight::from(50.000_000_000_1).to_ppm().unwrap_err();
    assert_eq!(error.problems()[0].kind(), ProblemKind::Invalid);
}

#[tokio::test]
async fn override_cookie_is_found_in_a_second_cookie_field() {
    let (stable, canary) = (Named::new("stable"), Named::new("canary"));
    let mut split = CanaryLayer::builder()
        .canary(canary, 0.0)
        .override_cookie("canary")
        .build()
        .unwrap()
        .layer(stable);
    // HTTP/2 may split the Cookie header into one field per cookie.
    let mut request = with_header("cookie", "theme=dark");
    request
        .headers_mut()
        .append("cookie", "canary=always".parse().unwrap());
    assert_eq!(serve(&mut split, request).await, "canary");
}

#[tokio::test]
async fn generalised_weights_are_relative_like_backend_refs() {
    // Gateway API `backendRefs`: a share is the weight over the sum, which need not be 100.
    for (a, b) in [(1, 1), (80, 80)] {
        let (stable, canary) = (Named::new("a"), Named::new("b"));
        let layer = CanaryLayer::builder()
            .stable("a", a)
            .arm("b", canary.clone(), b)
            .mode(Mode::round_robin())
            .build()
            .unwrap();
        assert_eq!(layer.handle().canary_weight(), Weight::from(50));
        let mut split = layer.layer(stable.clone());
        let mut order = String::new();
        for _ in 0..6 {
            order.push_str(&serve(&mut split, request("GET", "/")).await);
        }
        assert_eq!(order.matches('b').count(), 3, "{order}");
        assert_eq!((stable.calls(), canary.calls()), (3, 3));
    }
}

#[test]
fn handle_set_reports_an_unknown_arm_and_its_bad_weight_together() {
    let layer = CanaryLayer::new(Named::new("canary"), 10).unwrap();
    let handle = layer.handle();
    let error = handle
        .set([
            ("nope", Weight::from(f64::NAN)),
            ("canary", Weight::from(-1.0)),
            ("", Weight::from(5)),
        ])
        .unwrap_err();
    let found = problems(&error);
    assert!(found.contains(&(ProblemKind::Unknown, "nope")), "{found:?}");
    assert!(found.contains(&(ProblemKind::Invalid, "NaN")), "{found:?}");
    assert!(
        found.contains(&(ProblemKind::OutOfRange, "-1")),
        "{found:?}"
    );
    assert!(found.contains(&(ProblemKind::Unknown, "")), "{found:?}");
    assert_eq!(found.len(), 4, "{error}");
    assert_eq!(handle.canary_weight(), Weight::from(10));
}

#[test]
fn every_ppm_round_trips_through_f64_and_text() {
    for ppm in 0..=1_000_000_u32 {
        let percent = f64::from(ppm) / 10_000.0;
        assert_eq!(Weight::from(percent).to_ppm().unwrap(), ppm, "{percent}");
        if ppm % 997 == 0 {
            let text = Weight::ppm(ppm).to_string();
            assert_eq!(Weight::parse(&text).unwrap(), Weight::ppm(ppm), "{text}");
            assert_eq!(
                Weight::parse(&format!("{percent}")).unwrap(),
                Weight::ppm(ppm)
            );
        }
    }
    for (text, ppm) in [
        ("10", 100_000),
        ("0.57", 5_700),
        ("0.57%", 5_700),
        ("12.5%", 125_000),
        ("0.0001", 1),
        ("0.570000", 5_700),
        ("100%", 1_000_000),
    ] {
        assert_eq!(Weight::parse(text).unwrap(), Weight::ppm(ppm), "{text}");
    }
}
