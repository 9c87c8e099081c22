use std::borrow::Cow;

use http::header::HeaderName;
use http::request::Parts;
use http::Request;

use super::control::split_canary;
use super::mode::{cookie, header, header_pair, is_cookie_name};
use super::rng::{fnv1a64, splitmix, Rng, Seeder};
use super::weights::{Live, Snapshot};
use super::*;
use crate::error::ProblemKind;
use crate::test_helpers::{assert_send_sync, Echo};

fn parts(headers: &[(&str, &str)]) -> Parts {
    let mut builder = Request::builder().uri("/tenant-a/x");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

#[test]
fn stable_hash_is_pinned() {
    // Published FNV-1a 64 test vectors.
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    // SplitMix64's first output from seed 0.
    assert_eq!(splitmix(0x9e37_79b9_7f4a_7c15), 0xe220_a839_7b1d_cdaf);
    // The composition: never change these (every replica of a fleet must agree).
    assert_eq!(stable_hash(b""), 0xf52a_15e9_a9b5_e89b);
    assert_eq!(stable_hash(b"a"), 0x02c0_bdbf_4814_20f8);
    assert_eq!(stable_hash(b"foobar"), 0x404d_a9e3_b740_78c2);
    assert_eq!(stable_hash(b"user-42"), 0x7a15_96f0_e94b_5793);
}

#[test]
fn percent_text_is_exact() {
    let cases: &[(&str, u32)] = &[
        ("0", 0),
        ("10", 100_000),
        ("0.57", 5_700),
        ("0.57%", 5_700),
        ("12.5%", 125_000),
        ("100", 1_000_000),
        ("100.0000%", 1_000_000),
        ("0.0001", 1),
        ("0.570000", 5_700),
        (" 7 ", 70_000),
        (".5", 5_000),
        ("-0", 0),
        ("007", 70_000),
    ];
    for (text, ppm) in cases {
        assert_eq!(Weight::parse(text).unwrap().to_ppm(), Ok(*ppm), "{text}");
    }
}

#[test]
fn bad_percent_text_names_the_value() {
    let cases: &[(&str, ProblemKind)] = &[
        ("", ProblemKind::Syntax),
        ("%", ProblemKind::Syntax),
        (".", ProblemKind::Syntax),
        ("1.", ProblemKind::Syntax),
        ("abc", ProblemKind::Syntax),
        ("NaN", ProblemKind::Syntax),
        ("inf", ProblemKind::Syntax),
        ("1e3", ProblemKind::Syntax),
        ("+5", ProblemKind::Syntax),
        ("1.2.3", ProblemKind::Syntax),
        ("--1", ProblemKind::Syntax),
        ("-1", ProblemKind::OutOfRange),
        ("100.0001", ProblemKind::OutOfRange),
        ("101%", ProblemKind::OutOfRange),
        ("99999999999999999999999", ProblemKind::OutOfRange),
        ("0.00001", ProblemKind::Invalid),
        ("12.34567%", ProblemKind::Invalid),
    ];
    for (text, kind) in cases {
        let error = Weight::parse(text).unwrap_err();
        let problem = &error.problems()[0];
        assert_eq!(problem.kind(), *kind, "{text:?}");
        assert_eq!(problem.value(), *text);
        assert_eq!(problem.module(), "canary");
        assert!(error.to_string().contains(&format!("{text:?}")), "{error}");
    }
}

#[test]
fn percent_f64_rounds_never_truncates() {
    assert_eq!(Weight::percent(0.57).to_ppm(), Ok(5_700));
    assert_eq!(Weight::percent(0.29).to_ppm(), Ok(2_900)); // 0.29 * 1e4 = 2899.9999999999995
    assert_eq!(Weight::percent(33.3333).to_ppm(), Ok(333_333));
    assert_eq!(Weight::percent(100.0).to_ppm(), Ok(1_000_000));
    assert_eq!(Weight::percent(-0.0).to_ppm(), Ok(0));
    for ppm in (0..=1_000_000).step_by(997) {
        let percent = f64::from(ppm) / 10_000.0;
        assert_eq!(Weight::percent(percent).to_ppm(), Ok(ppm), "{percent}");
        assert_eq!(
            Weight::parse(&Weight::ppm(ppm).to_string()).unwrap(),
            Weight::ppm(ppm)
        );
    }
}

#[test]
fn bad_percent_f64() {
    let cases = [
        (f64::NAN, ProblemKind::Invalid, "NaN"),
        (f64::INFINITY, ProblemKind::OutOfRange, "inf"),
        (f64::NEG_INFINITY, ProblemKind::OutOfRange, "-inf"),
        (-1.0, ProblemKind::OutOfRange, "-1"),
        (100.5, ProblemKind::OutOfRange, "100.5"),
        (1.0 / 3.0, ProblemKind::Invalid, "0.3333333333333333"),
    ];
    for (value, kind, text) in cases {
        let error = Weight::percent(value).to_ppm().unwrap_err();
        assert_eq!(error.problems()[0].kind(), kind, "{value}");
        assert_eq!(error.problems()[0].value(), text);
        assert_eq!(Weight::percent(value).to_string(), text);
    }
    let error = Weight::ppm(1_000_001).to_ppm().unwrap_err();
    assert_eq!(error.problems()[0].kind(), ProblemKind::OutOfRange);
    assert_eq!(error.problems()[0].value(), "1000001");
}

#[test]
fn weight_display() {
    assert_eq!(Weight::ppm(5_700).to_string(), "0.57%");
    assert_eq!(Weight::ppm(1).to_string(), "0.0001%");
    assert_eq!(Weight::ppm(125_000).to_string(), "12.5%");
    assert_eq!(Weight::FULL.to_string(), "100%");
    assert_eq!(Weight::ZERO.to_string(), "0%");
    assert_eq!(Weight::default(), Weight::ZERO);
}

/// Two cycles of smooth weighted round-robin over `weights`, as a split follows them.
fn schedule(weights: &[u32]) -> Vec<usize> {
    let calls = weights.iter().sum::<u32>() * 2;
    if weights.len() == 2 {
        let live = live(weights);
        return (0..calls).map(|_| live.next_of_two()).collect();
    }
    let snapshot = Snapshot::new(weights.into(), true).unwrap();
    (0..calls).map(|_| snapshot.next_in_cycle()).collect()
}

#[test]
fn smooth_round_robin_sequences() {
    // {9, 1}: the canary is calls 6, 16, 26, ...
    let calls = schedule(&[9, 1]);
    let canary: Vec<_> = (1..)
        .zip(&calls)
        .filter(|(_, a)| **a == 1)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(canary, [6, 16]);
    // {5, 1, 1}: a a b a c a a.
    assert_eq!(schedule(&[5, 1, 1])[..7], [0, 0, 1, 0, 2, 0, 0]);
    // Scaling the weights changes nothing.
    assert_eq!(schedule(&[900_000, 100_000])[..20], calls[..]);
    // Zero weights are never served.
    assert!(schedule(&[0, 3, 0, 1]).iter().all(|a| *a == 1 || *a == 3));
}

#[test]
fn round_robin_cycle_limit() {
    let error = Snapshot::new([1_000_000, 999_999, 3].into(), true).unwrap_err();
    assert_eq!(error.kind(), ProblemKind::OutOfRange);
    assert!(Snapshot::new([1_000_000, 999_999, 3].into(), false).is_ok());
    assert!(Snapshot::new([999_999, 1].into(), true).is_ok());
}

#[test]
fn zero_sum_is_refused() {
    let error = Snapshot::new([0, 0].into(), false).unwrap_err();
    assert_eq!(error.kind(), ProblemKind::Invalid);
    assert_eq!(error.value(), "0, 0");
}

/// The request path's view of `weights`.
fn live(weights: &[u32]) -> Live {
    let live = Live::new(weights.len());
    live.publish(weights);
    live
}

#[test]
fn two_arm_round_robin_in_closed_form_follows_the_schedule() {
    let mut pairs: Vec<[u32; 2]> = (0..40)
        .flat_map(|a| (0..40).map(move |b| [a, b]))
        .filter(|[a, b]| a + b > 0)
        .collect();
    pairs.extend([
        [900_000, 100_000],
        [994_300, 5_700],
        [999_999, 1],
        [1, 999_999],
    ]);
    pairs.extend([[524_287, 524_288], [700_001, 299_999], [3, 1_000_000]]);
    for weights in pairs {
        let table = super::weights::smooth_round_robin(&weights).unwrap();
        let live = live(&weights);
        // Twice round the cycle, or the first 3,000 calls of a long one.
        let calls = (2 * table.len()).min(3_000);
        for (call, &arm) in table.iter().cycle().take(calls).enumerate() {
            assert_eq!(live.next_of_two(), usize::from(arm), "{weights:?} {call}");
        }
    }
    // Setting the weights restarts the cycle, as a new schedule does.
    let live = live(&[9, 1]);
    let first: Vec<_> = (0..7).map(|_| live.next_of_two()).collect();
    live.publish(&[9, 1]);
    let again: Vec<_> = (0..7).map(|_| live.next_of_two()).collect();
    assert_eq!(first, again);
    assert_eq!(first[5], 1);
}

#[test]
fn layout_puts_canaries_low_and_stable_high() {
    let snapshot = live(&[900_000, 100_000]);
    let tenth = u64::MAX / 10;
    assert_eq!(snapshot.place(0), 1);
    assert_eq!(snapshot.place(tenth - 1), 1);
    assert_eq!(snapshot.place(tenth), 0);
    assert_eq!(snapshot.place(u64::MAX), 0);
    let only_stable = live(&[1, 0, 0]);
    assert_eq!(only_stable.place(0), 0);
    assert_eq!(only_stable.place(u64::MAX), 0);
    let only_last = live(&[0, 0, 5]);
    assert_eq!(only_last.place(0), 2);
    let only_canary = live(&[0, 5]);
    assert_eq!(only_canary.place(0), 1);
    assert_eq!(only_canary.place(u64::MAX), 1);
    assert_eq!(only_last.place(0), 2);
    assert_eq!(only_last.place(u64::MAX), 2);
}

#[test]
fn split_canary_shares_and_sums_to_a_million() {
    assert_eq!(split_canary(2, 5_700), [994_300, 5_700]);
    assert_eq!(split_canary(4, 100_001), [899_999, 33_335, 33_333, 33_333]);
    assert_eq!(split_canary(2, 0), [1_000_000, 0]);
}

#[test]
fn rng_is_seeded_and_clones_differ() {
    let mut a = Rng::new(7);
    let mut b = Rng::new(7);
    assert_eq!(a.next_u64(), b.next_u64());
    let seeder = Seeder::seeded(1);
    let (mut x, mut y) = (seeder.rng(), seeder.rng());
    assert_ne!(x.next_u64(), y.next_u64());
    assert_ne!(Seeder::random().next_u64(), Seeder::random().next_u64());
    // Unbiased enough: the top bit is set about half the time (5 sigma = 790 of 100,000).
    let mut rng = Rng::new(99);
    let ones = (0..100_000).filter(|_| rng.next_u64() >> 63 == 1).count();
    assert!(ones.abs_diff(50_000) < 790, "{ones}");
}

#[test]
fn cookies_are_found_without_allocating() {
    let p = parts(&[("cookie", "a=1; canary=always"), ("cookie", "canary=never")]);
    assert_eq!(cookie(&p.headers, "canary"), Some(&b"always"[..]));
    assert_eq!(cookie(&p.headers, "a"), Some(&b"1"[..]));
    assert_eq!(cookie(&p.headers, "b"), None);
    let p = parts(&[("cookie", "x; uid=\"42\" ;=5; acanary=1")]);
    assert_eq!(cookie(&p.headers, "uid"), Some(&b"42"[..]));
    assert_eq!(cookie(&p.headers, "canary"), None);
    assert_eq!(cookie(&p.headers, ""), None);
    assert!(is_cookie_name("session_id"));
    assert!(!is_cookie_name(""));
    assert!(!is_cookie_name("a b"));
    assert!(!is_cookie_name("a=b"));
}

#[test]
fn keys() {
    let p = parts(&[("x-user", "42"), ("cookie", "uid=7"), ("x-empty", "")]);
    let header = Key::header(HeaderName::from_static("x-user"));
    assert_eq!(header.with(&p, <[u8]>::to_vec), Some(b"42".to_vec()));
    let empty = Key::header(HeaderName::from_static("x-empty"));
    assert_eq!(empty.with(&p, <[u8]>::to_vec), None);
    assert_eq!(
        Key::cookie("uid").with(&p, <[u8]>::to_vec),
        Some(b"7".to_vec())
    );
    let tenant = Key::function(|parts| {
        let first = parts.uri.path().trim_start_matches('/').split('/').next()?;
        Some(Cow::Borrowed(first.as_bytes()))
    });
    assert_eq!(tenant.with(&p, <[u8]>::to_vec), Some(b"tenant-a".to_vec()));
    assert_eq!(format!("{tenant:?}"), "Key(Function(KeyFn(<closure>)))");
}

#[test]
fn everything_is_send_sync() {
    assert_send_sync::<CanaryLayer<Echo>>();
    assert_send_sync::<CanarySplit<Echo, Echo>>();
    assert_send_sync::<CanaryHandle>();
    assert_send_sync::<CanaryBuilder<Echo>>();
    assert_send_sync::<Weight>();
    assert_send_sync::<Mode>();
    assert_send_sync::<ResponseFuture<Echo, Echo, Request<()>>>();
}

#[tokio::test]
async fn split_publishes_the_arm_both_ways() {
    use tower::{Layer, ServiceExt};
    let stable = Echo::new();
    let canary = Echo::new();
    let layer = CanaryLayer::builder()
        .canary(canary.clone(), Weight::FULL)
        .arm_header(HeaderName::from_static("x-arm"))
        .build()
        .unwrap();
    let split = layer.layer(stable.clone());
    let response = split.oneshot(Request::new(())).await.unwrap();
    assert_eq!(
        response.extensions().get::<Arm>(),
        Some(&Arm::new("canary", true))
    );
    assert_eq!(response.headers()["x-arm"], "canary");
    assert_eq!((stable.calls(), canary.calls()), (0, 1));
}

#[test]
fn header_lookup_agrees_with_the_map_at_every_size() {
    // Names compared on small maps, hashed on large ones: the same first value either way,
    // for standard and custom names, present, repeated or missing.
    let wanted = [
        HeaderName::from_static("x-canary"),
        HeaderName::from_static("x-user"),
        http::header::COOKIE,
        HeaderName::from_static("x-missing"),
        http::header::ACCEPT,
    ];
    for size in 0..40_u32 {
        let mut headers = http::HeaderMap::new();
        for i in 0..size {
            let name = match i % 5 {
                0 => HeaderName::from_static("x-user"),
                1 => http::header::COOKIE,
                2 if i > 20 => HeaderName::from_static("x-canary"),
                _ => HeaderName::try_from(format!("x-filler-{i}")).unwrap(),
            };
            headers.append(name, i.into());
        }
        for name in &wanted {
            assert_eq!(header(&headers, name), headers.get(name), "{size} {name}");
            for first in &wanted {
                assert_eq!(
                    header_pair(&headers, Some(first), name),
                    (headers.get(first), headers.get(name)),
                    "{size} {first} {name}"
                );
            }
            assert_eq!(header_pair(&headers, None, name), (None, headers.get(name)));
        }
    }
}

#[test]
fn remainder_by_multiplication_agrees_with_the_division() {
    use super::weights::remainder;
    let mut rng = Rng::new(7);
    let divisors = [
        2,
        3,
        7,
        10,
        16,
        1_000,
        1 << 19,
        (1 << 20) - 1,
        1 << 20,
        999_999,
    ];
    for d in divisors {
        let magic = u128::MAX / u128::from(d) + 1;
        let edges = [
            0,
            1,
            d - 1,
            d,
            d + 1,
            u64::MAX,
            u64::MAX - 1,
            u64::MAX / d * d,
        ];
        for n in edges.into_iter().chain((0..10_000).map(|_| rng.next_u64())) {
            assert_eq!(remainder(n, magic, d), n % d, "{n} % {d}");
        }
    }
}

#[test]
fn small_remainder_agrees_with_the_division() {
    use super::weights::{small_remainder, SMALL};
    let mut rng = Rng::new(8);
    let divisors = (1..=64).chain([
        1_000,
        (1 << 19) + 1,
        999_983,
        (1 << 20) - 1,
        1 << 20,
        999_999,
        1_000_000,
    ]);
    let mut divisors: Vec<u64> = divisors.collect();
    divisors.extend((0..200).map(|_| 1 + rng.next_u64() % (1 << 20)));
    for d in divisors {
        let magic = (u64::MAX / d).wrapping_add(1);
        let edges = [
            0,
            1,
            d - 1,
            d,
            d + 1,
            SMALL - 1,
            SMALL - 2,
            (SMALL - 1) / d * d,
        ];
        let random = (0..2_000).map(|_| rng.next_u64() % SMALL);
        for n in edges.into_iter().chain(random) {
            assert_eq!(small_remainder(n, magic, d), n % d, "{n} % {d}");
        }
    }
}

#[test]
fn placement_agrees_with_the_exact_rule() {
    // A point p goes to the first arm (canaries in order, then stable) whose cumulative
    // weight w satisfies p < w * 2^64 / total, computed exactly.
    let mut rng = Rng::new(11);
    let sets: &[&[u32]] = &[
        &[900_000, 100_000],
        &[1, 999_999],
        &[999_999, 1],
        &[0, 5],
        &[5, 0],
        &[1, 1],
        &[0, 5, 0, 7],
        &[333_333, 333_333, 333_334],
        &[1_000_000, 1_000_000, 0],
    ];
    for weights in sets {
        let snapshot = live(weights);
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        let exact = |p: u64| {
            let mut end = 0;
            for arm in (1..weights.len()).chain([0]) {
                end += u128::from(weights[arm]);
                if weights[arm] > 0 && u128::from(p) < (end << 64) / total {
                    return arm;
                }
            }
            unreachable!("the last end is 2^64")
        };
        let mut points = vec![0, 1, u64::MAX, u64::MAX - 1];
        let mut end = 0;
        for arm in (1..weights.len()).chain([0]) {
            end += u128::from(weights[arm]);
            if let Ok(bound) = u64::try_from((end << 64) / total) {
                points.extend([bound.saturating_sub(1), bound, bound.saturating_add(1)]);
            }
        }
        points.extend((0..10_000).map(|_| rng.next_u64()));
        for p in points {
            assert_eq!(snapshot.place(p), exact(p), "{weights:?} {p}");
            // A two-arm split reads one bound instead of the ends: the same answer.
            assert_eq!(snapshot.place_by_ends(p), exact(p), "{weights:?} {p}");
        }
    }
}

#[test]
fn weights_read_during_changes_are_never_torn() {
    // Half to arm 1 and half to stable, or all to arm 2: a point in the low half goes to arm 1
    // or arm 2, but a read mixing the sets (the second's ends, the first's last arm) would
    // give the stable arm.
    let live = std::sync::Arc::new(live(&[1, 1, 0]));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (live, stop) = (live.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut changes = 0_u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || changes < 1_000 {
                live.publish(if changes % 2 == 0 {
                    &[0, 0, 1]
                } else {
                    &[1, 1, 0]
                });
                changes += 1;
            }
        })
    };
    let mut rng = Rng::new(5);
    for _ in 0..3_000_000 {
        assert_ne!(live.place(rng.next_u64() >> 1), 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}
