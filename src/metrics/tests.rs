use std::time::Duration;

use super::*;
use crate::test_helpers::{assert_send_sync, Echo};

fn labels(route: Option<&str>, status: u16) -> Labels<'_> {
    Labels {
        route,
        method: "GET",
        status,
        arm: None,
        canary: false,
        refusal: None,
    }
}

#[test]
fn types_are_send_sync() {
    assert_send_sync::<Registry>();
    assert_send_sync::<MetricsLayer>();
    assert_send_sync::<MetricsService>();
    assert_send_sync::<Metrics<Echo>>();
}

#[test]
fn the_same_labels_find_the_same_series() {
    let registry = Registry::new();
    for _ in 0..3 {
        registry.record(&labels(Some("/a"), 200), Duration::ZERO, Duration::ZERO);
    }
    registry.record(&labels(Some("/a"), 201), Duration::ZERO, Duration::ZERO);
    registry.record(&labels(None, 200), Duration::ZERO, Duration::ZERO);
    assert_eq!(registry.series_count(), 3);
    assert_eq!(registry.total_requests(), 5);
}

#[test]
fn later_bounds_must_exceed_the_highest_valid_one() {
    let err = Registry::builder()
        .buckets([0.5, 0.1, 0.3, 1.0])
        .build()
        .unwrap_err();
    assert_eq!(err.problems().len(), 2, "{err}");
}

#[test]
fn labels_and_refusals_have_fixed_spellings() {
    assert_eq!(method_label(&http::Method::GET), "GET");
    assert_eq!(
        method_label(&http::Method::from_bytes(b"BREW").unwrap()),
        "OTHER"
    );
    assert_eq!(Refusal::MethodNotAllowed.as_str(), "method_not_allowed");
    assert_eq!(Refusal::from_extensions(&http::Extensions::new()), None);
}

#[test]
fn a_slot_is_one_aligned_cache_line() {
    assert_eq!(std::mem::size_of::<super::series::Slot>(), 64);
    assert_eq!(std::mem::align_of::<super::series::Slot>(), 64);
    assert_eq!(std::mem::align_of::<super::series::Line>(), 64);
}

/// Label sets whose key fits the slot and label sets whose key does not (a long route, a
/// long arm) are found again, and told apart from those sharing their first words.
#[test]
fn long_keys_are_compared_past_the_slot() {
    let registry = Registry::new();
    let long = "/a/very/long/route/template/{with}/{several}/{params}";
    let longer = "/a/very/long/route/template/{with}/{several}/{paramz}";
    for route in [long, longer, long, "/short", longer] {
        registry.record(&labels(Some(route), 200), Duration::ZERO, Duration::ZERO);
    }
    assert_eq!(registry.series_count(), 3);
    assert_eq!(registry.total_requests(), 5);
}

/// The octave table finds the same bucket as a linear search, for odd bound sets too
/// (several bounds in one octave, bounds on powers of two, sub-nanosecond bounds).
#[test]
fn the_bucket_of_a_duration_matches_a_linear_search() {
    let sets: [&[f64]; 5] = [
        &super::DEFAULT_BUCKETS,
        &[0.001, 0.0011, 0.0012, 0.0013, 0.002],
        &[1e-10, 1e-9, 2e-9, 4.194304e-3, 1.0],
        &[3600.0],
        &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 100.0, 1e6],
    ];
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for bounds in sets {
        let registry = Registry::builder()
            .buckets(bounds.iter().copied())
            .build()
            .unwrap();
        let bounds_ns: Vec<u64> = bounds
            .iter()
            .map(|&s| u64::try_from(Duration::from_secs_f64(s).as_nanos()).unwrap())
            .collect();
        let linear = |ns: u64| {
            bounds_ns
                .iter()
                .position(|&b| ns <= b)
                .unwrap_or(bounds_ns.len())
        };
        let mut probes: Vec<u64> = vec![0, 1, u64::MAX, u64::MAX - 1];
        for &b in &bounds_ns {
            probes.extend([b.saturating_sub(1), b, b.saturating_add(1)]);
        }
        for _ in 0..20_000 {
            // xorshift, then a random number of significant bits
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.push(x >> (x % 64));
        }
        for ns in probes {
            assert_eq!(registry.bucket(ns), linear(ns), "{ns} ns in {bounds:?}");
        }
    }
}

/// Label values are told apart exactly, whatever their lengths (every length of the word
/// encoding: empty, 1 to 3, 4 to 7, 8, more than 8, longer than the key buffer).
#[test]
fn label_values_of_every_length_are_told_apart() {
    let registry = Registry::builder().max_series(10_000).build().unwrap();
    let mut values: Vec<String> = Vec::new();
    for len in 0..140 {
        let base: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        values.push(base.clone());
        if len > 0 {
            // the same length, one byte changed at the start, the middle and the end
            for at in [0, len / 2, len - 1] {
                let mut bytes = base.clone().into_bytes();
                bytes[at] = b'#';
                values.push(String::from_utf8(bytes).unwrap());
            }
        }
    }
    values.sort();
    values.dedup();
    for v in &values {
        registry.record(&labels(Some(v), 200), Duration::ZERO, Duration::ZERO);
        registry.record(
            &Labels {
                arm: Some(v),
                ..labels(None, 200)
            },
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    assert_eq!(registry.series_count(), 2 * values.len());
    // Again: every one found, none created.
    for v in &values {
        registry.record(&labels(Some(v), 200), Duration::ZERO, Duration::ZERO);
    }
    assert_eq!(registry.series_count(), 2 * values.len());
    assert_eq!(registry.total_requests(), 3 * values.len() as u64);
    // The same characters split differently between route and arm are different series;
    // an absent route differs from an empty one.
    let r = Registry::new();
    for (route, arm) in [
        (Some("ab"), Some("c")),
        (Some("a"), Some("bc")),
        (None, Some("abc")),
        (Some(""), Some("abc")),
        (Some("abc"), None),
    ] {
        r.record(
            &Labels {
                route,
                arm,
                ..labels(None, 200)
            },
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    assert_eq!(r.series_count(), 5);
}

/// One string split between route and arm at every place, around the lengths where the
/// forms change (36 and 96 bytes together, 8 for the arm): every split is a series of its
/// own, found again.
#[test]
fn route_and_arm_splits_are_told_apart_across_forms() {
    let registry = Registry::builder().max_series(10_000).build().unwrap();
    let mut sets = Vec::new();
    for len in [30, 35, 36, 37, 40, 90, 95, 96, 97, 104] {
        let all: String = (0..len)
            .map(|i| char::from(b'a' + (i % 23) as u8))
            .collect();
        for arm in 0..=10.min(len) {
            let (route, arm) = all.split_at(len - arm);
            sets.push((route.to_owned(), arm.to_owned()));
        }
    }
    for round in 1..=2u64 {
        for (route, arm) in &sets {
            for status in [200, 1200] {
                registry.record(
                    &Labels {
                        arm: Some(arm),
                        ..labels(Some(route), status)
                    },
                    Duration::ZERO,
                    Duration::ZERO,
                );
            }
        }
        assert_eq!(registry.series_count(), 2 * sets.len());
        assert_eq!(registry.total_requests(), round * 2 * sets.len() as u64);
    }
}

/// A lookup's key (the short form filled without the stream, the long form through it) holds
/// the same words and hash as the stream the series stores and compares, in both forms.
#[test]
fn a_lookup_key_matches_the_stored_stream() {
    use super::series::{hash_of, words, Key, INLINE_KEY, KEY_WORDS};
    let routes: Vec<String> = (0..110).map(|n| "r".repeat(n)).collect();
    let arms = ["", "a", "abc", "abcd", "stable", "12345678", "123456789"];
    for route in routes.iter().map(|r| Some(r.as_str())).chain([None]) {
        for arm in arms.iter().map(|a| Some(*a)).chain([None]) {
            for method in ["GET", "PATCH", "OTHER", "BREW"] {
                for (refusal, status) in [(None, 404), (Some(Refusal::NoRoute), 1024)] {
                    let l = Labels {
                        route,
                        method,
                        status,
                        arm,
                        canary: false,
                        refusal,
                    };
                    let mut key = Key::new(&l);
                    key.compute();
                    let all = words(&l);
                    assert_eq!(key.len, all.len(), "{l:?}");
                    assert_eq!(key.words(), &all[..all.len().min(KEY_WORDS)], "{l:?}");
                    assert_eq!(key.hash, hash_of(&all), "{l:?}");
                    let short = route.map_or(0, str::len) + arm.map_or(0, str::len) <= 36
                        && arm.map_or(0, str::len) <= 8
                        && ["GET", "PATCH"].contains(&method)
                        && status < 1024;
                    assert_eq!(all.len() == INLINE_KEY && all[4] >> 63 == 0, short, "{l:?}");
                    assert!(all.len() >= INLINE_KEY, "{l:?}");
                    let medium = !short
                        && route.map_or(0, str::len) + arm.map_or(0, str::len) <= 96
                        && arm.map_or(0, str::len) <= 8
                        && ["GET", "PATCH"].contains(&method);
                    assert_eq!(all.len() == KEY_WORDS && all[4] >> 62 == 3, medium, "{l:?}");
                }
            }
        }
    }
}

/// Threads creating the same new label sets at once (each waiting on the index entry another
/// is publishing) end with one series per label set and every request in it.
#[test]
fn racing_creators_make_one_series_per_label_set() {
    let registry = Registry::builder().max_series(1000).build().unwrap();
    let routes: Vec<String> = (0..300).map(|i| format!("/race/{i}")).collect();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for route in &routes {
                    registry.record(&labels(Some(route), 200), Duration::ZERO, Duration::ZERO);
                }
            });
        }
    });
    assert_eq!(registry.series_count(), routes.len());
    assert_eq!(registry.total_requests(), 8 * routes.len() as u64);
    assert!(registry
        .render()
        .contains("\ngateway_metrics_series_overflow_total 0\n"));
}

/// Extensions holding what the layer reads: a route, an arm, a refusal.
#[cfg(all(feature = "router", feature = "canary"))]
fn extensions(route: Option<&MatchedRoute>, arm: Option<&crate::canary::Arm>) -> http::Extensions {
    let mut extensions = http::Extensions::new();
    if let Some(route) = route {
        extensions.insert(route.clone());
    }
    if let Some(arm) = arm {
        extensions.insert(arm.clone());
    }
    extensions
}

#[cfg(all(feature = "router", feature = "canary"))]
use crate::router::MatchedRoute;

/// Label sets of every kind (routes short, long and past the slot's words, absent; arms
/// short, empty, long, absent; methods standard and not; several statuses) recorded by route
/// into one registry and by text into another give the same exposition, and each registry
/// as many series as label sets, whichever path met a label set first.
#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn routes_and_texts_find_the_same_series() {
    use crate::canary::Arm;
    let long = format!("/{}", "segment/{id}/".repeat(12));
    let templates = [
        "/a",
        "/pets/{id}/owners/{owner}/visits/{visit}",
        long.as_str(),
    ];
    let routes: Vec<Option<MatchedRoute>> = std::iter::once(None)
        .chain(
            templates
                .iter()
                .map(|t| Some(MatchedRoute::new(Some(http::Method::GET), t, None))),
        )
        .collect();
    let arms: Vec<Option<Arm>> = vec![
        None,
        Some(Arm::new("stable", false)),
        Some(Arm::new("", true)),
        Some(Arm::new("canary-with-a-long-name", true)),
    ];
    let methods = [
        http::Method::GET,
        http::Method::DELETE,
        http::Method::from_bytes(b"BREW").unwrap(),
    ];
    let statuses = [200, 404, 999].map(|s| http::StatusCode::from_u16(s).unwrap());
    let by_route = Registry::new();
    let by_text = Registry::new();
    let both = Registry::new();
    let ms = Duration::from_millis(1);
    let mut sets = 0;
    for (round, first_by_route) in [(0, true), (1, false)] {
        for route in &routes {
            for arm in &arms {
                for method in &methods {
                    for status in statuses {
                        let ext = extensions(route.as_ref(), arm.as_ref());
                        let labels = Labels {
                            route: route.as_ref().map(MatchedRoute::template),
                            method: method_label(method),
                            status: status.as_u16(),
                            arm: arm.as_ref().map(Arm::name),
                            canary: arm.as_ref().is_some_and(Arm::is_canary),
                            refusal: None,
                        };
                        by_route.record_response(method, status, &ext, ms, ms);
                        by_text.record(&labels, ms, ms);
                        if first_by_route {
                            both.record_response(method, status, &ext, ms, ms);
                            both.record(&labels, ms, ms);
                        } else {
                            both.record(&labels, ms, ms);
                            both.record_response(method, status, &ext, ms, ms);
                        }
                        sets += usize::from(round == 0);
                    }
                }
            }
        }
    }
    assert_eq!(by_route.series_count(), sets);
    assert_eq!(by_text.series_count(), sets);
    assert_eq!(both.series_count(), sets);
    assert_eq!(by_route.render(), by_text.render());
    assert_eq!(both.total_requests(), 4 * sets as u64);
}

/// Two routes with the same template (a `GET` route and an `ANY` one, or two tables) are one
/// `route` label, so one series; different templates are different series.
/// Records a `GET` answered `200` by `route`, through the route path.
#[cfg(all(feature = "router", feature = "canary"))]
fn get_ok(registry: &Registry, route: &MatchedRoute) {
    registry.record_response(
        &http::Method::GET,
        http::StatusCode::OK,
        &extensions(Some(route), None),
        Duration::ZERO,
        Duration::ZERO,
    );
}

#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn routes_sharing_a_template_share_a_series() {
    let registry = Registry::new();
    let get = MatchedRoute::new(Some(http::Method::GET), "/shared/{id}", None);
    let any = MatchedRoute::new(None, "/shared/{id}", Some("any"));
    let other = MatchedRoute::new(Some(http::Method::GET), "/shared/{id}/", None);
    assert_eq!(get.template_id(), any.template_id());
    assert_ne!(get.template_id(), other.template_id());
    for route in [&get, &any, &get, &other] {
        get_ok(&registry, route);
    }
    assert_eq!(registry.series_count(), 2);
    assert!(registry.render().contains(
        "gateway_requests_total{route=\"/shared/{id}\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"} 3"
    ));
}

/// Past the fifteen arm names a registry numbers, arms take the text path, still exact.
#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn arms_past_the_numbered_ones_are_still_told_apart() {
    let registry = Registry::new();
    let route = MatchedRoute::new(None, "/x", None);
    let arms: Vec<crate::canary::Arm> = (0..40)
        .map(|i| crate::canary::Arm::new(format!("arm{i}"), i % 2 == 1))
        .collect();
    for _ in 0..3 {
        for arm in &arms {
            registry.record_response(
                &http::Method::POST,
                http::StatusCode::CREATED,
                &extensions(Some(&route), Some(arm)),
                Duration::ZERO,
                Duration::ZERO,
            );
        }
    }
    assert_eq!(registry.series_count(), 40);
    let text = registry.render();
    for i in 0..40 {
        assert!(text.contains(&format!(
            "gateway_requests_total{{route=\"/x\",method=\"POST\",status=\"201\",arm=\"arm{i}\",refusal=\"\"}} 3"
        )));
    }
}

/// A refusal in the extensions is part of the key, by route as by text.
#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn refusals_are_part_of_the_route_key() {
    let registry = Registry::new();
    let route = MatchedRoute::new(Some(http::Method::GET), "/r", None);
    let plain = extensions(Some(&route), None);
    let mut refused = plain.clone();
    refused.insert(crate::router::Rejection::new(
        crate::router::RejectionKind::MethodNotAllowed,
    ));
    for ext in [&plain, &refused, &plain] {
        registry.record_response(
            &http::Method::GET,
            http::StatusCode::OK,
            ext,
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    assert_eq!(registry.series_count(), 2);
}

/// The route cache is a cache: more keys than a line holds evict one another, and every
/// lookup either misses or answers the place cached for its own key.
#[test]
fn a_full_cache_line_evicts_and_answers_only_its_own_keys() {
    let routed = super::routed::Routed::new(1);
    let keys: Vec<u64> = (1..=40u32)
        .map(|route| routed.key(route, &labels(Some("/unused"), 200)).unwrap())
        .collect();
    for (place, &key) in keys.iter().enumerate() {
        routed.insert(key, place);
    }
    let mut found = 0;
    for (place, &key) in keys.iter().enumerate() {
        if let Some(at) = routed.find(key) {
            assert_eq!(at, place);
            found += 1;
        }
    }
    assert!((1..=8).contains(&found), "{found}");
}

/// Threads recording by route while the series and the cache entries are being created
/// give exact totals, one series per label set.
#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn racing_threads_by_route_give_exact_totals() {
    let registry = Registry::builder().max_series(64).build().unwrap();
    let routes: Vec<MatchedRoute> = (0..40)
        .map(|i| MatchedRoute::new(None, &format!("/race/{i}/{{id}}"), None))
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (registry, routes) = (&registry, &routes);
            s.spawn(move || {
                for i in 0..2000 {
                    let route = &routes[(i * 7 + t) % routes.len()];
                    get_ok(registry, route);
                }
            });
        }
    });
    assert_eq!(registry.series_count(), 40);
    assert_eq!(registry.total_requests(), 8 * 2000);
}

/// A route's hint holds one registry's series for one label set: routes recorded into two
/// registries in turn, with labels changing from request to request, stay exact in both.
#[cfg(all(feature = "router", feature = "canary"))]
#[test]
fn route_hints_shared_by_registries_and_labels_stay_exact() {
    let registries = [Registry::new(), Registry::new()];
    let routes = [
        MatchedRoute::new(Some(http::Method::GET), "/h/{id}", None),
        MatchedRoute::new(None, "/h/{id}", None),
        MatchedRoute::new(None, "/other", None),
    ];
    let arm = crate::canary::Arm::new("blue", false);
    for i in 0..300usize {
        let registry = &registries[i % 2];
        let route = &routes[i / 2 % 3];
        let status = http::StatusCode::from_u16([200, 404, 200, 503][i / 6 % 4]).unwrap();
        let arm = (i % 5 == 0).then_some(&arm);
        registry.record_response(
            &http::Method::GET,
            status,
            &extensions(Some(route), arm),
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    // The same requests by text, into two fresh registries.
    let texts = [Registry::new(), Registry::new()];
    for i in 0..300usize {
        let route = &routes[i / 2 % 3];
        let status = [200, 404, 200, 503][i / 6 % 4];
        texts[i % 2].record(
            &Labels {
                route: Some(route.template()),
                method: "GET",
                status,
                arm: (i % 5 == 0).then_some("blue"),
                canary: false,
                refusal: None,
            },
            Duration::ZERO,
            Duration::ZERO,
        );
    }
    for (ours, theirs) in registries.iter().zip(&texts) {
        assert_eq!(ours.render(), theirs.render());
        assert_eq!(ours.total_requests(), 150);
    }
}
