//! The CanarySplit cases written from the issue text (issue 6), as an independent tester would:
//! black-box, through the public API, one or more cases per bullet of the issue text.
#![cfg(all(feature = "canary", feature = "access-log"))]

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use common::{ok, respond};
use http::header::HeaderName;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use tower::{service_fn, Layer, Service, ServiceBuilder, ServiceExt};
use tower_gateway::access_log::{AccessLogLayer, LogFormat, ManualClock, MemorySink};
use tower_gateway::canary::{Arm, CanaryLayer, CanarySplit, Key, Mode, Weight};

type Body = Full<Bytes>;

fn get() -> Request<Body> {
    Request::get("/").body(Body::default()).expect("request")
}

async fn served<S>(svc: &S, req: Request<Body>) -> (Arm, String)
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let response = svc.clone().oneshot(req).await.expect("infallible");
    let arm = response
        .extensions()
        .get::<Arm>()
        .cloned()
        .expect("arm on the response");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (arm, String::from_utf8(body.to_vec()).expect("utf8"))
}

// ---- shape and names the issue uses

#[tokio::test]
async fn canary_layer_new_wraps_the_stable_service_with_service_builder() {
    let svc = ServiceBuilder::new()
        .layer(CanaryLayer::new(ok("v2"), 100).expect("valid"))
        .service(ok("v1"));
    let (arm, body) = served(&svc, get()).await;
    assert_eq!(body, "v2");
    assert!(arm.is_canary());
    assert_eq!(arm.name(), "canary");
}

#[tokio::test]
async fn canary_layer_accepts_text_float_and_integer_weights() {
    for layer in [
        CanaryLayer::new(ok("v2"), "10").expect("text"),
        CanaryLayer::new(ok("v2"), "10%").expect("text with %"),
        CanaryLayer::new(ok("v2"), 10.0).expect("f64"),
        CanaryLayer::new(ok("v2"), 10).expect("integer"),
        CanaryLayer::new(ok("v2"), Weight::ppm(100_000)).expect("ppm"),
    ] {
        assert_eq!(layer.handle().canary_weight(), Weight::ppm(100_000));
    }
}

#[tokio::test]
async fn canary_split_works_under_axum_router_layer() {
    let canary = axum::Router::new().route("/", axum::routing::get(|| async { "v2" }));
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "v1" }))
        .layer(CanaryLayer::new(canary, 100).expect("valid"));
    let response = app
        .oneshot(Request::get("/").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.extensions().get::<Arm>().unwrap().is_canary());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"v2");
}

// ---- weights: exact ppm, rounding, errors naming the value

#[test]
fn weights_parse_exactly_by_rounding() {
    assert_eq!(Weight::parse("10").unwrap().to_ppm(), Ok(100_000));
    assert_eq!(Weight::parse("0.57").unwrap().to_ppm(), Ok(5_700));
    assert_eq!(Weight::parse("12.5%").unwrap().to_ppm(), Ok(125_000));
    assert_eq!(Weight::parse("100%").unwrap().to_ppm(), Ok(1_000_000));
    assert_eq!(Weight::parse("0").unwrap().to_ppm(), Ok(0));
    assert_eq!(Weight::parse("0.0001").unwrap().to_ppm(), Ok(1));
    assert_eq!(Weight::from(0.57_f64).to_ppm(), Ok(5_700));
    assert_eq!(Weight::from(12.5_f64).to_ppm(), Ok(125_000));
    // Values whose binary form is just under the decimal: rounding, never truncation.
    for (x, ppm) in [
        (0.29, 2_900),
        (0.57, 5_700),
        (1.15, 11_500),
        (4.35, 43_500),
        (99.99, 999_900),
    ] {
        assert_eq!(Weight::from(x).to_ppm(), Ok(ppm), "{x}");
    }
}

#[test]
fn bad_weights_are_config_errors_naming_the_value() {
    let cases: [(Weight, &str); 8] = [
        (Weight::from(f64::NAN), "NaN"),
        (Weight::from(f64::INFINITY), "inf"),
        (Weight::from(f64::NEG_INFINITY), "inf"),
        (Weight::from(-1.0), "-1"),
        (Weight::from(100.5), "100.5"),
        (Weight::from("101%"), "101%"),
        (Weight::from("0.00001"), "0.00001"),
        (Weight::from("ten"), "ten"),
    ];
    for (weight, named) in cases {
        let error = CanaryLayer::new(named_svc(), weight.clone())
            .err()
            .unwrap_or_else(|| panic!("{weight:?} accepted"));
        assert!(
            error.to_string().contains(named),
            "{error} should name {named}"
        );
    }
    assert!(
        Weight::from(0.000_01_f64).to_ppm().is_err(),
        "more precise than a ppm"
    );
    assert!(Weight::from(-5).to_ppm().is_err());
    assert!(Weight::from(101).to_ppm().is_err());
}

fn named_svc() -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone
{
    ok("x")
}

#[test]
fn zero_sum_is_an_error_but_one_zero_arm_is_fine() {
    let zero = CanaryLayer::builder()
        .stable("v1", 0)
        .arm("v2", ok("v2"), 0)
        .build();
    let error = zero.expect_err("zero sum refused");
    assert!(
        error.to_string().contains("sum") || error.to_string().contains('0'),
        "{error}"
    );

    assert!(CanaryLayer::builder()
        .stable("v1", 0)
        .arm("v2", ok("v2"), 10)
        .build()
        .is_ok());
    assert!(CanaryLayer::builder()
        .stable("v1", 10)
        .arm("v2", ok("v2"), 0)
        .arm("v3", ok("v3"), 5)
        .build()
        .is_ok());
}

#[test]
fn every_bad_weight_is_reported_at_once() {
    let error = CanaryLayer::builder()
        .stable("v1", f64::NAN)
        .arm("v2", ok("v2"), -3.0)
        .arm("v3", ok("v3"), "200%")
        .build()
        .expect_err("refused");
    let text = error.to_string();
    for value in ["NaN", "-3", "200%"] {
        assert!(text.contains(value), "{text} misses {value}");
    }
}

// ---- exact weights 0 and 100

#[tokio::test]
async fn weight_zero_and_hundred_are_exact_over_ten_thousand_calls() {
    for (weight, want) in [(0, 0), (100, 10_000)] {
        for mode in [Mode::random(), Mode::round_robin()] {
            let layer = CanaryLayer::builder()
                .canary(ok("v2"), weight)
                .mode(mode)
                .build()
                .unwrap();
            let split = layer.layer(ok("v1"));
            let mut canary = 0;
            for _ in 0..10_000 {
                if served(&split, get()).await.0.is_canary() {
                    canary += 1;
                }
            }
            assert_eq!(canary, want, "weight {weight}");
        }
    }
}

// ---- per-call random

#[tokio::test]
async fn random_ten_percent_is_within_half_a_point_and_reproducible() {
    let mut counts = Vec::new();
    for _ in 0..2 {
        let layer = CanaryLayer::builder()
            .canary(ok("v2"), "10%")
            .seed(42)
            .build()
            .unwrap();
        let split = layer.layer(ok("v1"));
        let (parts_count, mut n) = (100_000, 0);
        let mut svc = split.clone();
        for _ in 0..parts_count {
            let response = svc.ready().await.unwrap().call(get()).await.unwrap();
            if response.extensions().get::<Arm>().unwrap().is_canary() {
                n += 1;
            }
        }
        let share = f64::from(n) / f64::from(parts_count);
        assert!((share - 0.10).abs() <= 0.005, "{share}");
        counts.push(n);
    }
    assert_eq!(counts[0], counts[1], "same seed, same count");
}

#[tokio::test]
async fn random_is_not_a_request_counter() {
    // With a counter, 50% would alternate exactly; a random draw has runs.
    let split = CanaryLayer::builder()
        .canary(ok("v2"), 50)
        .seed(7)
        .build()
        .unwrap()
        .layer(ok("v1"));
    let mut arms = Vec::new();
    for _ in 0..200 {
        arms.push(served(&split, get()).await.0.is_canary());
    }
    let alternating = arms.windows(2).all(|w| w[0] != w[1]);
    assert!(!alternating);
    assert!(arms.windows(3).any(|w| w[0] == w[1] && w[1] == w[2]));
}

#[tokio::test]
async fn two_stacked_fifty_percent_splits_give_a_quarter() {
    let inner_layer = CanaryLayer::builder()
        .arm("inner-canary", ok("inner-canary"), 50)
        .seed(1)
        .build()
        .unwrap();
    let inner = inner_layer.layer(ok("inner-stable"));
    let outer = CanaryLayer::builder()
        .arm("outer-canary", inner, 50)
        .seed(1)
        .build()
        .unwrap()
        .layer(ok("outer-stable"));
    let total = 100_000;
    let mut quarter = 0;
    for _ in 0..total {
        if served(&outer, get()).await.1 == "inner-canary" {
            quarter += 1;
        }
    }
    let share = f64::from(quarter) / f64::from(total);
    assert!((share - 0.25).abs() <= 0.005, "{share}");
}

// ---- smooth weighted round-robin, the issue's two examples

#[tokio::test]
async fn round_robin_nine_to_one_puts_the_canary_at_calls_6_16_26() {
    let split = CanaryLayer::builder()
        .stable("a", 9)
        .arm("b", ok("b"), 1)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(ok("a"));
    let mut canary_calls = Vec::new();
    for call in 1..=30 {
        if served(&split, get()).await.0.is_canary() {
            canary_calls.push(call);
        }
    }
    assert_eq!(canary_calls, [6, 16, 26]);
}

#[tokio::test]
async fn round_robin_five_one_one_is_a_a_b_a_c_a_a() {
    let split = CanaryLayer::builder()
        .stable("a", 5)
        .arm("b", ok("b"), 1)
        .arm("c", ok("c"), 1)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
        .layer(ok("a"));
    let mut order = String::new();
    for _ in 0..14 {
        order.push_str(&served(&split, get()).await.1);
    }
    assert_eq!(order, "aabacaaaabacaa");
}

#[tokio::test]
async fn round_robin_point_five_seven_percent_is_exact_over_a_million() {
    let layer = CanaryLayer::builder()
        .canary(ok("v2"), "0.57%")
        .mode(Mode::round_robin())
        .build()
        .unwrap();
    let split = layer.layer(ok("v1"));
    let mut canary = 0;
    for _ in 0..1_000_000 {
        let (parts, ()) = Request::new(()).into_parts();
        if split.pick(&parts).is_canary() {
            canary += 1;
        }
    }
    assert_eq!(canary, 5_700);
}

// ---- sticky

fn sticky(weight: &str) -> CanaryLayer<impl Service<Request<Body>> + Clone> {
    CanaryLayer::builder()
        .canary(ok("v2"), weight)
        .mode(Mode::sticky(Key::header(HeaderName::from_static("x-user"))))
        .build()
        .unwrap()
}

fn parts_with(name: &str, value: &str) -> http::request::Parts {
    Request::builder()
        .header(name, value)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

#[test]
fn sticky_is_deterministic_across_instances_and_ramps_monotonically() {
    let five = sticky("5%");
    let five_again = sticky("5%");
    let ten = sticky("10%");
    let (mut at_five, mut at_ten) = (0, 0);
    for i in 0..10_000 {
        let parts = parts_with("x-user", &format!("user-{i}"));
        let a = five.pick(&parts).is_canary();
        assert_eq!(a, five_again.pick(&parts).is_canary(), "two replicas agree");
        assert_eq!(a, five.pick(&parts).is_canary(), "same key, same arm");
        let b = ten.pick(&parts).is_canary();
        assert!(!a || b, "user-{i} was canary at 5% but not at 10%");
        at_five += usize::from(a);
        at_ten += usize::from(b);
    }
    let share = at_ten as f64 / 10_000.0;
    assert!((share - 0.10).abs() <= 0.012, "{share}");
    assert!(at_five < at_ten);
}

#[test]
fn sticky_ramp_through_the_handle_only_moves_keys_to_the_canary() {
    let layer = sticky("5%");
    let parts: Vec<_> = (0..2_000)
        .map(|i| parts_with("x-user", &format!("{i}")))
        .collect();
    let before: Vec<bool> = parts.iter().map(|p| layer.pick(p).is_canary()).collect();
    layer.handle().set_canary("10%").unwrap();
    for (p, was) in parts.iter().zip(before) {
        assert!(!was || layer.pick(p).is_canary());
    }
}

#[test]
fn sticky_by_cookie_and_by_function() {
    let by_cookie = CanaryLayer::builder()
        .canary(ok("v2"), 50)
        .mode(Mode::sticky(Key::cookie("uid")))
        .build()
        .unwrap();
    let by_fn = CanaryLayer::builder()
        .canary(ok("v2"), 50)
        .mode(Mode::sticky(Key::function(|parts| {
            parts
                .headers
                .get("x-tenant")
                .map(|v| std::borrow::Cow::Borrowed(v.as_bytes()))
        })))
        .build()
        .unwrap();
    for i in 0..200 {
        let id = format!("k{i}");
        let a = by_cookie.pick(&parts_with("cookie", &format!("a=b; uid={id}")));
        let b = by_fn.pick(&parts_with("x-tenant", &id));
        assert_eq!(
            a.is_canary(),
            b.is_canary(),
            "the same key lands the same way"
        );
    }
}

#[test]
fn sticky_or_stable_sends_a_request_without_key_to_stable() {
    let layer = CanaryLayer::builder()
        .canary(ok("v2"), 99)
        .mode(Mode::sticky_or_stable(Key::header(
            HeaderName::from_static("x-user"),
        )))
        .build()
        .unwrap();
    for _ in 0..100 {
        let (parts, ()) = Request::new(()).into_parts();
        assert!(!layer.pick(&parts).is_canary());
    }
}

// ---- overrides

#[test]
fn header_override_always_and_never_and_other_values_ignored() {
    let layer = CanaryLayer::builder()
        .canary(ok("v2"), 0)
        .override_cookie("canary")
        .build()
        .unwrap();
    assert!(layer.pick(&parts_with("x-canary", "always")).is_canary());
    let full = CanaryLayer::builder()
        .canary(ok("v2"), 100)
        .override_cookie("canary")
        .build()
        .unwrap();
    assert!(!full.pick(&parts_with("x-canary", "never")).is_canary());
    assert!(full.pick(&parts_with("x-canary", "sometimes")).is_canary());
    assert!(!layer.pick(&parts_with("x-canary", "yes")).is_canary());
    // Cookie.
    assert!(layer
        .pick(&parts_with("cookie", "canary=always"))
        .is_canary());
    assert!(!full.pick(&parts_with("cookie", "canary=never")).is_canary());
    assert!(!layer
        .pick(&parts_with("cookie", "canary=maybe"))
        .is_canary());
    // Header beats cookie.
    let both = Request::builder()
        .header("x-canary", "never")
        .header("cookie", "canary=always")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(!layer.pick(&both).is_canary());
    let both = Request::builder()
        .header("x-canary", "always")
        .header("cookie", "canary=never")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(full.pick(&both).is_canary());
    // An ignored header value lets the cookie decide.
    let both = Request::builder()
        .header("x-canary", "bogus")
        .header("cookie", "canary=always")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(layer.pick(&both).is_canary());
}

#[test]
fn override_beats_sticky_key() {
    let layer = CanaryLayer::builder()
        .canary(ok("v2"), 0)
        .mode(Mode::sticky(Key::header(HeaderName::from_static("x-user"))))
        .build()
        .unwrap();
    let parts = Request::builder()
        .header("x-user", "alice")
        .header("x-canary", "always")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    assert!(layer.pick(&parts).is_canary());
}

// ---- handle

/// A round-robin split layer whose canary (`v2`) starts at weight zero.
fn round_robin_v2_at_zero() -> CanaryLayer<
    impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future = impl Send>
        + Clone,
> {
    CanaryLayer::builder()
        .canary(ok("v2"), 0)
        .mode(Mode::round_robin())
        .build()
        .unwrap()
}

#[tokio::test]
async fn handle_set_promote_roll_back_apply_to_running_services() {
    let layer = round_robin_v2_at_zero();
    let split = layer.layer(ok("v1"));
    let handle = split.handle();
    let clone = handle.clone();
    assert_eq!(handle.canary_weight(), Weight::ZERO);
    assert!(!served(&split, get()).await.0.is_canary());
    clone.promote();
    assert_eq!(handle.canary_weight(), Weight::FULL);
    for _ in 0..100 {
        assert!(served(&split, get()).await.0.is_canary());
    }
    handle.roll_back();
    for _ in 0..100 {
        assert!(!served(&split, get()).await.0.is_canary());
    }
    handle.set_canary("50%").unwrap();
    let mut n = 0;
    for _ in 0..100 {
        n += usize::from(served(&split, get()).await.0.is_canary());
    }
    assert_eq!(n, 50);
    assert!(handle.set_canary(f64::NAN).is_err());
    assert_eq!(
        handle.canary_weight(),
        Weight::ppm(500_000),
        "a bad set changes nothing"
    );
    handle.set([("canary", 25)]).unwrap();
    assert_eq!(handle.weight("canary"), Some(Weight::ppm(250_000)));
    assert!(handle
        .set([("nope", 25)])
        .unwrap_err()
        .to_string()
        .contains("nope"));
}

/// An arm that only becomes ready when the test says so.
#[derive(Clone)]
struct Gate {
    open: Arc<std::sync::atomic::AtomicBool>,
    name: &'static str,
}

impl Service<Request<Body>> for Gate {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.open.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    fn call(&mut self, _req: Request<Body>) -> Self::Future {
        let name = self.name;
        Box::pin(async move {
            Ok(Response::new(Full::new(Bytes::from_static(
                name.as_bytes(),
            ))))
        })
    }
}

#[tokio::test]
async fn a_call_in_flight_keeps_its_arm_across_a_promotion() {
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stable = Gate {
        open: open.clone(),
        name: "v1",
    };
    let layer = CanaryLayer::new(
        Gate {
            open: open.clone(),
            name: "v2",
        },
        0,
    )
    .unwrap();
    let mut split = layer.layer(stable);
    // Always ready even though neither arm is.
    assert!(matches!(
        futures_util::FutureExt::now_or_never(std::future::poll_fn(|cx| split.poll_ready(cx))),
        Some(Ok(()))
    ));
    let in_flight = split.call(get());
    layer.handle().promote();
    open.store(true, Ordering::SeqCst);
    let response = in_flight.await.unwrap();
    assert_eq!(response.extensions().get::<Arm>().unwrap().name(), "stable");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"v1");
}

#[tokio::test]
async fn clones_share_one_handle_across_eight_tasks() {
    let layer = round_robin_v2_at_zero();
    let split = layer.layer(ok("v1"));
    let canary = Arc::new(AtomicUsize::new(0));
    layer.handle().set_canary("25%").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let split = split.clone();
        let canary = canary.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..1_000 {
                let r = respond(&split, get()).await;
                if r.extensions().get::<Arm>().unwrap().is_canary() {
                    canary.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        canary.load(Ordering::Relaxed),
        2_000,
        "8,000 calls at exactly 25%"
    );
}

// ---- extensions and header

#[tokio::test]
async fn arm_is_in_request_and_response_extensions_and_optional_header() {
    let seen = Arc::new(std::sync::Mutex::new(None::<Arm>));
    let seen2 = seen.clone();
    let canary = service_fn(move |req: Request<Body>| {
        let seen = seen2.clone();
        async move {
            *seen.lock().unwrap() = req.extensions().get::<Arm>().cloned();
            Ok::<_, Infallible>(Response::new(Body::default()))
        }
    });
    let split = CanaryLayer::builder()
        .arm("v2", canary.clone(), 100)
        .arm_header(HeaderName::from_static("x-served-by"))
        .build()
        .unwrap()
        .layer(canary);
    let response = split.oneshot(get()).await.unwrap();
    let arm = response.extensions().get::<Arm>().unwrap().clone();
    assert_eq!(arm.name(), "v2");
    assert!(arm.is_canary());
    assert_eq!(seen.lock().unwrap().clone(), Some(arm));
    assert_eq!(response.headers()["x-served-by"], "v2");
}

#[test]
fn pick_needs_no_service() {
    let layer: CanaryLayer<()> = CanaryLayer::new((), 100).unwrap();
    let (parts, ()) = Request::new(()).into_parts();
    let arm: Arm = layer.pick(&parts);
    assert!(arm.is_canary());
    let split: CanarySplit<(), ()> = layer.layer(());
    assert!(split.pick(&parts).is_canary());
}

// ---- errors

#[derive(Clone)]
struct Failing;

impl Service<Request<Body>> for Failing {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<Response<Body>, &'static str>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        Poll::Ready(Err("canary not ready"))
    }
    fn call(&mut self, _: Request<Body>) -> Self::Future {
        std::future::ready(Err("called while failing"))
    }
}

#[derive(Clone)]
struct Fine;

impl Service<Request<Body>> for Fine {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = std::future::Ready<Result<Response<Body>, &'static str>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Request<Body>) -> Self::Future {
        std::future::ready(Ok(Response::new(Body::default())))
    }
}

#[tokio::test]
async fn an_arm_whose_poll_ready_errors_is_returned_not_rerouted() {
    let mut split = CanaryLayer::new(Failing, 100).unwrap().layer(Fine);
    let ready = std::future::poll_fn(|cx| split.poll_ready(cx)).await;
    assert!(ready.is_ok(), "the split itself is always ready");
    for _ in 0..10 {
        assert_eq!(split.call(get()).await.unwrap_err(), "canary not ready");
    }
    split.handle().roll_back();
    assert!(split.call(get()).await.is_ok());
}

// ---- composed: the access log names the arm

#[tokio::test]
async fn access_log_names_the_arm_that_served() {
    let sink = MemorySink::new();
    let app = ServiceBuilder::new()
        .layer(
            AccessLogLayer::new(sink.clone())
                .format(
                    LogFormat::template(
                        "$context.canaryArm $context.isCanaryRequest $context.status",
                    )
                    .unwrap(),
                )
                .clock(ManualClock::at_unix(0)),
        )
        .layer(
            CanaryLayer::builder()
                .arm("v2", ok("v2"), 50)
                .stable("v1", 50)
                .mode(Mode::round_robin())
                .build()
                .unwrap(),
        )
        .service(ok("v1"));
    for _ in 0..2 {
        let response = respond(&app, get()).await;
        response.into_body().collect().await.unwrap();
    }
    let mut lines = sink.lines();
    lines.sort();
    assert_eq!(lines, ["v1 false 200", "v2 true 200"]);
}

#[test]
fn hostile_override_and_key_headers_never_panic() {
    let layer = CanaryLayer::builder()
        .canary(ok("v2"), 50)
        .override_cookie("canary")
        .mode(Mode::sticky(Key::cookie("uid")))
        .build()
        .unwrap();
    let values: [&[u8]; 9] = [
        b"\xff\xfe",
        b"ALWAYS",
        b" always ",
        b";;;=;canary",
        b"canary=",
        b"canary=always=never",
        b"=always; uid",
        b"uid=\xc3\xa9; canary=NEVER",
        b"",
    ];
    for value in values {
        let value = http::HeaderValue::from_bytes(value).unwrap();
        for name in ["x-canary", "cookie"] {
            let parts = Request::builder()
                .header(name, value.clone())
                .body(())
                .unwrap()
                .into_parts()
                .0;
            let _ = layer.pick(&parts);
        }
    }
    // Case-insensitive values, as the docs say.
    assert!(layer.pick(&parts_with("x-canary", "ALWAYS")).is_canary());
    assert!(!layer
        .pick(&parts_with("cookie", "uid=1; canary=NEVER"))
        .is_canary());
}

#[test]
fn the_types_the_issue_names_are_at_the_crate_root_and_in_the_module() {
    let layer: tower_gateway::CanaryLayer<()> = tower_gateway::CanaryLayer::new((), 10).unwrap();
    let split: tower_gateway::CanarySplit<(), ()> = layer.layer(());
    let _: tower_gateway::canary::CanarySplit<(), ()> = split;
}

#[test]
fn public_types_are_send_sync_and_clone_where_they_should_be() {
    fn send_sync<T: Send + Sync>() {}
    fn clone<T: Clone>() {}
    type Svc = tower::util::BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;
    send_sync::<CanaryLayer<Svc>>();
    send_sync::<CanarySplit<Svc, Svc>>();
    send_sync::<tower_gateway::canary::CanaryHandle>();
    send_sync::<Arm>();
    send_sync::<Weight>();
    send_sync::<Mode>();
    send_sync::<Key>();
    clone::<CanaryLayer<Svc>>();
    clone::<CanarySplit<Svc, Svc>>();
    clone::<tower_gateway::canary::CanaryHandle>();
    fn send_future<S: Service<Request<Body>>>(_: &S)
    where
        S::Future: Send,
    {
    }
    let split = CanaryLayer::new(ok("v2"), 10).unwrap().layer(ok("v1"));
    send_future(&split);
}
