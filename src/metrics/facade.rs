//! The [`metrics`](https://docs.rs/metrics) facade (feature `metrics-facade`): the same facts,
//! names and labels as the exposition, through whatever recorder the application installed.
//!
//! Handles are registered once: the global ones when the registry is built, a series' own
//! when the series is created (and kept in it). A request then only increments existing
//! handles: no key is built, no label is allocated, no recorder lookup happens.

use ::metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use ::metrics::{Counter, Gauge, Histogram, Label, Unit};

use super::labels::{Labels, Refusal};
use super::render::error_class;

/// The handles of the metrics without labels.
pub(super) struct GlobalHandles {
    pub(super) in_flight: Gauge,
    pub(super) unanswered: Counter,
    pub(super) overflow: Counter,
}

impl GlobalHandles {
    /// Describes every metric and registers the global ones, with the current recorder.
    pub(super) fn register() -> Self {
        describe_counter!(
            "gateway_requests_total",
            Unit::Count,
            "Requests answered, by route template, method, status, canary arm and refusal."
        );
        describe_counter!(
            "gateway_request_errors_total",
            Unit::Count,
            "Answers with a 4xx or 5xx status, by route template, method, canary arm and status class."
        );
        describe_counter!(
            "gateway_response_aborted_total",
            Unit::Count,
            "Responses whose body was dropped before its end."
        );
        describe_histogram!(
            "gateway_time_to_headers_seconds",
            Unit::Seconds,
            "Time from the request to the response headers."
        );
        describe_histogram!(
            "gateway_time_to_last_byte_seconds",
            Unit::Seconds,
            "Time from the request to the last response body byte (or the body dropped)."
        );
        describe_gauge!(
            "gateway_requests_in_flight",
            Unit::Count,
            "Requests called whose response has not ended."
        );
        describe_counter!(
            "gateway_requests_unanswered_total",
            Unit::Count,
            "Requests whose inner service failed or whose response future was dropped."
        );
        describe_counter!(
            "gateway_metrics_series_overflow_total",
            Unit::Count,
            "Requests not recorded because the series table was full."
        );
        Self {
            in_flight: gauge!("gateway_requests_in_flight"),
            unanswered: counter!("gateway_requests_unanswered_total"),
            overflow: counter!("gateway_metrics_series_overflow_total"),
        }
    }
}

/// The handles of one series.
pub(super) struct SeriesHandles {
    requests: Counter,
    aborted: Counter,
    /// `gateway_request_errors_total` of the series' route, method, arm and status class
    /// (shared by every series of that class: the recorder gives the same counter).
    errors: Option<Counter>,
    headers: Histogram,
    last_byte: Histogram,
}

impl SeriesHandles {
    /// Registers the handles of the series of `labels` with the current recorder.
    pub(super) fn register(labels: &Labels<'_>, unmatched: &str) -> Self {
        let route = labels.route.unwrap_or(unmatched).to_owned();
        let arm = labels.arm.unwrap_or("").to_owned();
        let series = vec![
            Label::new("route", route.clone()),
            Label::new("method", labels.method),
            Label::new("status", labels.status.to_string()),
            Label::new("arm", arm.clone()),
            Label::new("refusal", labels.refusal.map_or("", Refusal::as_str)),
        ];
        let errors = error_class(labels.status).map(|class| {
            counter!(
                "gateway_request_errors_total",
                vec![
                    Label::new("route", route),
                    Label::new("method", labels.method),
                    Label::new("arm", arm),
                    Label::new("class", class),
                ]
            )
        });
        Self {
            requests: counter!("gateway_requests_total", series.iter()),
            aborted: counter!("gateway_response_aborted_total", series.iter()),
            errors,
            headers: histogram!("gateway_time_to_headers_seconds", series.iter()),
            last_byte: histogram!("gateway_time_to_last_byte_seconds", series),
        }
    }

    /// One finished request.
    #[inline]
    pub(super) fn record(&self, headers_ns: u64, last_byte_ns: u64, aborted: bool) {
        self.requests.increment(1);
        if let Some(errors) = &self.errors {
            errors.increment(1);
        }
        if aborted {
            self.aborted.increment(1);
        }
        self.headers.record(headers_ns as f64 / 1e9);
        self.last_byte.record(last_byte_ns as f64 / 1e9);
    }
}
