//! Exposition in the Prometheus text format and the per-arm report.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::registry::Registry;
use super::series::{escape, View};

/// One arm's numbers in a [`Registry::canary_report`].
#[derive(Clone, Debug, PartialEq)]
pub struct ArmReport {
    /// The arm's name.
    pub arm: String,
    /// Whether it is the canary.
    pub canary: bool,
    /// Requests it answered (response ended or dropped).
    pub requests: u64,
    /// Of those, answers with a `5xx` status.
    pub errors_5xx: u64,
    /// `errors_5xx / requests` (0 when there were none).
    pub error_rate_5xx: f64,
    /// The median time to the last byte, estimated from the histogram, in seconds: linearly
    /// interpolated within the bucket that holds the rank (from the bound below it, 0 for the
    /// first), as Prometheus's `histogram_quantile` does; the highest finite bound when the
    /// rank falls in the `+Inf` bucket; 0 without requests.
    pub p50: f64,
    /// The 99th percentile of the time to the last byte, estimated likewise.
    pub p99: f64,
}

/// The `_sum` of a histogram in seconds, from integer nanoseconds.
fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

impl Registry {
    /// Per canary arm: requests, 5xx rate, p50 and p99 of the time to the last byte.
    /// Arms are in name order; requests without an arm are left out.
    ///
    /// The registry learns an arm from the responses it served ([`Arm`](crate::canary::Arm)
    /// in their extensions), so an arm appears once one of its answers was recorded: an arm
    /// that has served nothing yet is absent (read it as 0 requests). A call whose arm
    /// returned a service error instead of a response has no response to name the arm; it is
    /// counted in `gateway_requests_unanswered_total`, not in an arm's 5xx rate (an HTTP
    /// upstream's failures are `502`/`504` responses, so they do count).
    #[must_use]
    pub fn canary_report(&self) -> Vec<ArmReport> {
        struct Arm<'a> {
            name: &'a str,
            canary: bool,
            requests: u64,
            errors: u64,
            counts: Vec<u64>,
        }
        let buckets = self.buckets();
        let mut arms: Vec<Arm<'_>> = Vec::new();
        for s in self.all() {
            let Some(name) = s.series.arm.as_deref() else {
                continue;
            };
            let at = match arms.iter().position(|a| a.name == name) {
                Some(at) => at,
                None => {
                    arms.push(Arm {
                        name,
                        canary: s.canary,
                        requests: 0,
                        errors: 0,
                        counts: vec![0; buckets],
                    });
                    arms.len() - 1
                }
            };
            if let Some(entry) = arms.get_mut(at) {
                let requests = s.requests(buckets);
                entry.requests += requests;
                if (500..600).contains(&s.status) {
                    entry.errors += requests;
                }
                for (total, c) in entry.counts.iter_mut().zip(s.counts(buckets, true)) {
                    *total += c;
                }
            }
        }
        arms.sort_by(|a, b| a.name.cmp(b.name));
        arms.into_iter()
            .map(|a| ArmReport {
                arm: a.name.to_owned(),
                canary: a.canary,
                requests: a.requests,
                errors_5xx: a.errors,
                error_rate_5xx: if a.requests == 0 {
                    0.0
                } else {
                    a.errors as f64 / a.requests as f64
                },
                p50: quantile(&self.inner.bounds, &a.counts, 0.5),
                p99: quantile(&self.inner.bounds, &a.counts, 0.99),
            })
            .collect()
    }

    /// The Prometheus text format (version 0.0.4) of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    /// [`render`](Self::render) into `out` (appended). Each series' label text is written once,
    /// when the series is created; rendering copies it.
    pub fn render_into(&self, out: &mut String) {
        let all = self.all();
        let buckets = self.buckets();
        // About 2 x 14 histogram lines and 2 counter lines per series of ~150 bytes.
        out.reserve(all.len() * (buckets * 2 + 6) * 150 + 2048);
        let requests: Vec<u64> = all.iter().map(|s| s.requests(buckets)).collect();
        // Label sets that write the same text (a route whose template is the unmatched label
        // and the unmatched requests; no arm and an arm named `""`) are one series: the format
        // allows each series once. `all` keeps them next to each other.
        let series: Vec<&[View<'_>]> = all.chunk_by(|a, b| a.text == b.text).collect();
        out.push_str("# HELP gateway_requests_total Requests answered, by route template, method, status, canary arm and refusal.\n# TYPE gateway_requests_total counter\n");
        let mut at = 0;
        for same in &series {
            let n = requests
                .get(at..at + same.len())
                .unwrap_or_default()
                .iter()
                .sum();
            at += same.len();
            sample(out, "gateway_requests_total", &same[0], n);
        }
        self.render_errors(out, &all, &requests);
        out.push_str("# HELP gateway_response_aborted_total Responses whose body was dropped before its end.\n# TYPE gateway_response_aborted_total counter\n");
        for same in &series {
            let n = same.iter().map(|s| s.aborted.load(Relaxed)).sum();
            sample(out, "gateway_response_aborted_total", &same[0], n);
        }
        let le: Vec<String> = self
            .inner
            .bounds
            .iter()
            .map(|b| format!(",le=\"{b:?}\"}} "))
            .chain(std::iter::once(",le=\"+Inf\"} ".to_owned()))
            .collect();
        let mut counts: Vec<u64> = Vec::with_capacity(buckets);
        for (name, help, last_byte) in [
            (
                "gateway_time_to_headers_seconds",
                "Time from the request to the response headers.",
                false,
            ),
            (
                "gateway_time_to_last_byte_seconds",
                "Time from the request to the last response body byte (or the body dropped).",
                true,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for same in &series {
                let s = &same[0];
                counts.clear();
                counts.resize(buckets, 0);
                let mut sum = 0u64;
                for member in *same {
                    for (total, c) in counts.iter_mut().zip(member.counts(buckets, last_byte)) {
                        *total += c;
                    }
                    sum = sum.saturating_add(member.sum(last_byte));
                }
                let mut cumulative = 0u64;
                for (c, le) in counts.iter().zip(&le) {
                    cumulative += c;
                    out.push_str(name);
                    out.push_str("_bucket{");
                    out.push_str(&s.text);
                    out.push_str(le);
                    push_u64(out, cumulative);
                }
                out.push_str(name);
                out.push_str("_sum{");
                out.push_str(&s.text);
                let _ = writeln!(out, "}} {:?}", seconds(sum));
                out.push_str(name);
                out.push_str("_count{");
                out.push_str(&s.text);
                out.push_str("} ");
                push_u64(out, cumulative);
            }
        }
        let _ = writeln!(
            out,
            "# HELP gateway_requests_in_flight Requests called whose response has not ended.\n# TYPE gateway_requests_in_flight gauge\ngateway_requests_in_flight {}",
            self.in_flight()
        );
        let _ = writeln!(
            out,
            "# HELP gateway_metrics_series_overflow_total Requests not recorded because the series table was full.\n# TYPE gateway_metrics_series_overflow_total counter\ngateway_metrics_series_overflow_total {}",
            self.inner.overflow.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP gateway_requests_unanswered_total Requests whose inner service failed or whose response future was dropped.\n# TYPE gateway_requests_unanswered_total counter\ngateway_requests_unanswered_total {}",
            self.inner.no_response.load(Relaxed)
        );
    }

    /// `gateway_request_errors_total`, derived from the per-status series: one sample per
    /// route, method, arm and status class (`4xx`, `5xx`).
    fn render_errors(&self, out: &mut String, all: &[View<'_>], requests: &[u64]) {
        out.push_str("# HELP gateway_request_errors_total Answers with a 4xx or 5xx status, by route template, method, canary arm and status class.\n# TYPE gateway_request_errors_total counter\n");
        let unmatched = &*self.inner.unmatched;
        let mut errors: Vec<(&str, &str, &str, &str, u64)> = Vec::new();
        for (s, &n) in all.iter().zip(requests) {
            let Some(class) = error_class(s.status) else {
                continue;
            };
            let route = s.series.route.as_deref().unwrap_or(unmatched);
            let arm = s.series.arm.as_deref().unwrap_or("");
            errors.push((route, s.method, arm, class, n));
        }
        errors.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
        errors.dedup_by(|later, first| {
            let same = (later.0, later.1, later.2, later.3) == (first.0, first.1, first.2, first.3);
            if same {
                first.4 += later.4;
            }
            same
        });
        for (route, method, arm, class, n) in errors {
            out.push_str("gateway_request_errors_total{route=\"");
            escape(out, route);
            out.push_str("\",method=\"");
            escape(out, method);
            out.push_str("\",arm=\"");
            escape(out, arm);
            let _ = writeln!(out, "\",class=\"{class}\"}} {n}");
        }
    }
}

/// The `class` label of `gateway_request_errors_total`: `4xx`, `5xx`, or none.
pub(super) fn error_class(status: u16) -> Option<&'static str> {
    match status {
        400..=499 => Some("4xx"),
        500..=599 => Some("5xx"),
        _ => None,
    }
}

/// `name{labels} value`.
fn sample(out: &mut String, name: &str, s: &View<'_>, value: u64) {
    out.push_str(name);
    out.push('{');
    out.push_str(&s.text);
    out.push_str("} ");
    push_u64(out, value);
}

/// A decimal integer and a line feed, without the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    if let Ok(text) = std::str::from_utf8(digits.get(at..).unwrap_or_default()) {
        out.push_str(text);
    }
    out.push('\n');
}

/// `histogram_quantile`: linear interpolation inside the bucket holding rank `q * total`;
/// in the `+Inf` bucket, the highest finite bound.
fn quantile(bounds: &[f64], counts: &[u64], q: f64) -> f64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0 && (below + c) as f64 >= rank {
            let Some(&upper) = bounds.get(i) else {
                return bounds.last().copied().unwrap_or(0.0);
            };
            let lower = i
                .checked_sub(1)
                .and_then(|j| bounds.get(j))
                .copied()
                .unwrap_or(0.0);
            return lower + (upper - lower) * ((rank - below as f64) / c as f64);
        }
        below += c;
    }
    bounds.last().copied().unwrap_or(0.0)
}
