use std::time::Duration;

use super::registry::{method_label, Labels, Refusal, Registry};
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
