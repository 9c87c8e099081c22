//! [`Registry`]: the series table, recording, exposition and the per-arm report.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Method;

use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// Why the gateway itself refused a request (the `refusal` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Refusal {
    /// A CORS preflight the policy refused.
    CorsPreflight,
    /// A cross-origin write (or WebSocket handshake) the origin guard refused.
    Origin,
    /// No route matched the path.
    NoRoute,
    /// A route matched the path but not the method.
    MethodNotAllowed,
    /// A plain request to a WebSocket-only route (`426`).
    UpgradeRequired,
}

impl Refusal {
    /// The label value: `cors_preflight`, `origin`, `no_route`, `method_not_allowed` or
    /// `upgrade_required`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CorsPreflight => "cors_preflight",
            Self::Origin => "origin",
            Self::NoRoute => "no_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::UpgradeRequired => "upgrade_required",
        }
    }

    /// Reads the refusal the inner layers put in the response extensions, with the same
    /// precedence as the access log (origin guard, then CORS, then router).
    #[must_use]
    pub fn from_extensions(extensions: &http::Extensions) -> Option<Self> {
        #[cfg(feature = "origin")]
        if extensions.get::<crate::origin::Rejection>().is_some() {
            return Some(Self::Origin);
        }
        #[cfg(feature = "cors")]
        if extensions.get::<crate::cors::Rejection>().is_some() {
            return Some(Self::CorsPreflight);
        }
        #[cfg(feature = "router")]
        if let Some(rejection) = extensions.get::<crate::router::Rejection>() {
            return Some(match rejection.kind() {
                crate::router::RejectionKind::NotFound => Self::NoRoute,
                crate::router::RejectionKind::MethodNotAllowed => Self::MethodNotAllowed,
                crate::router::RejectionKind::UpgradeRequired => Self::UpgradeRequired,
            });
        }
        let _ = extensions;
        None
    }
}

/// The `method` label: the nine standard methods by name, anything else `OTHER`.
#[must_use]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

/// The bounded label set of one series. `route` is a route *template* (or `None`: unmatched),
/// `arm` a canary arm name (or `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels<'a> {
    /// The matched route's template, `None` when no route matched.
    pub route: Option<&'a str>,
    /// The `method` label, from [`method_label`].
    pub method: &'static str,
    /// The response status code.
    pub status: u16,
    /// The canary arm that served the request, if any.
    pub arm: Option<&'a str>,
    /// Whether the arm is the canary (only read when the series is created).
    pub canary: bool,
    /// Why the gateway refused the request, if it did.
    pub refusal: Option<Refusal>,
}

/// The default latency buckets, in seconds (those of the Prometheus client libraries).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The default [`RegistryBuilder::max_series`]: 4096 label sets (a table of 8192 slots).
pub const DEFAULT_MAX_SERIES: usize = 4096;

/// Fixed buckets: counts per bucket (not cumulative; the last one is `+Inf`), sum in ns.
pub(super) struct Histogram {
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn new(bounds: usize) -> Self {
        Self {
            buckets: (0..=bounds).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    fn record(&self, bounds_ns: &[u64], ns: u64) {
        let at = bounds_ns
            .iter()
            .position(|&b| ns <= b)
            .unwrap_or(bounds_ns.len());
        if let Some(bucket) = self.buckets.get(at) {
            bucket.fetch_add(1, Relaxed);
        }
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    fn counts(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.load(Relaxed)).collect()
    }
}

/// One series: its labels and its atomics.
pub(super) struct Series {
    route: Option<Box<str>>,
    method: &'static str,
    status: u16,
    arm: Option<Box<str>>,
    canary: bool,
    refusal: Option<Refusal>,
    aborted: AtomicU64,
    headers: Histogram,
    last_byte: Histogram,
}

impl Series {
    /// Requests recorded: the sum of the last-byte histogram's buckets (every recorded
    /// request lands in exactly one), so the counter and the histogram `_count` never differ.
    fn requests(&self) -> u64 {
        self.last_byte.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    fn is(&self, labels: &Labels<'_>) -> bool {
        self.status == labels.status
            && self.method == labels.method
            && self.refusal == labels.refusal
            && self.route.as_deref() == labels.route
            && self.arm.as_deref() == labels.arm
    }
}

fn key(labels: &Labels<'_>) -> u64 {
    // Eight bytes per step (a multiply and a rotate), each value's length mixed in so
    // `("ab", "c")` and `("a", "bc")` differ; then a final avalanche.
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    fn eat(mut h: u64, bytes: &[u8]) -> u64 {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            h = (h ^ u64::from_le_bytes(word))
                .wrapping_mul(K)
                .rotate_left(29);
        }
        let mut word = [0u8; 8];
        let rest = chunks.remainder();
        if let Some(tail) = word.get_mut(..rest.len()) {
            tail.copy_from_slice(rest);
        }
        h = (h ^ u64::from_le_bytes(word))
            .wrapping_mul(K)
            .rotate_left(29);
        (h ^ bytes.len() as u64).wrapping_mul(K)
    }
    let mut h = eat(0, labels.route.map_or(b"\x00", str::as_bytes));
    h = eat(h, labels.method.as_bytes());
    h = eat(h, labels.arm.map_or(b"\x00", str::as_bytes));
    h ^= u64::from(labels.status) << 8 | u64::from(labels.refusal.map_or(0, |r| r as u8 + 1));
    h = h.wrapping_mul(K);
    h ^ (h >> 32)
}

pub(super) struct Inner {
    /// Open addressing, linear probing; a slot is set once and never cleared.
    slots: Box<[OnceLock<Series>]>,
    max_series: usize,
    len: AtomicUsize,
    overflow: AtomicU64,
    bounds: Box<[f64]>,
    bounds_ns: Box<[u64]>,
    unmatched: Box<str>,
    in_flight: AtomicI64,
    no_response: AtomicU64,
}

/// The metrics of one gateway: every series, recorded lock-free, rendered on demand.
///
/// Cheap to clone (one `Arc`); the [`MetricsLayer`](super::MetricsLayer) records into it, the
/// [`MetricsService`](super::MetricsService) renders it, [`canary_report`](Self::canary_report)
/// summarises it per arm.
#[derive(Clone)]
#[must_use]
pub struct Registry {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("series", &self.series_count())
            .field("buckets", &self.inner.bounds)
            .finish_non_exhaustive()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds a [`Registry`]: latency buckets and the label of unmatched requests.
#[derive(Clone, Debug)]
#[must_use]
pub struct RegistryBuilder {
    buckets: Vec<f64>,
    unmatched: String,
    max_series: usize,
}

impl RegistryBuilder {
    /// The upper bounds of the latency buckets, in seconds: finite, positive, increasing
    /// (default [`DEFAULT_BUCKETS`]). `+Inf` is always added.
    pub fn buckets(mut self, seconds: impl IntoIterator<Item = f64>) -> Self {
        self.buckets = seconds.into_iter().collect();
        self
    }

    /// The most series the registry holds (default [`DEFAULT_MAX_SERIES`]). The table is
    /// allocated once, at twice this size rounded up to a power of two; requests of a new
    /// label set beyond it are not recorded but counted in
    /// `gateway_metrics_series_overflow_total`.
    pub fn max_series(mut self, max: usize) -> Self {
        self.max_series = max.clamp(1, 1 << 24);
        self
    }

    /// The `route` label of requests no route matched (default `""`).
    pub fn unmatched_label(mut self, label: impl Into<String>) -> Self {
        self.unmatched = label.into();
        self
    }

    /// The registry.
    ///
    /// # Errors
    ///
    /// Every problem with the buckets: none at all, a bound that is not a finite positive
    /// number, a bound not above the one before.
    pub fn build(self) -> Result<Registry, ConfigError> {
        let mut problems = Problems::new();
        if self.buckets.is_empty() {
            problems.push(Problem::new(
                "metrics",
                ProblemKind::Invalid,
                "",
                "no latency buckets; give at least one upper bound",
            ));
        }
        let mut before: Option<f64> = None;
        for (i, &b) in self.buckets.iter().enumerate() {
            if !(b.is_finite() && b > 0.0) {
                problems.push(
                    Problem::new(
                        "metrics",
                        ProblemKind::OutOfRange,
                        b.to_string(),
                        format!("bucket bound \"{b}\" is not a finite positive number of seconds"),
                    )
                    .with_location(format!("buckets[{i}]")),
                );
            } else {
                match before {
                    Some(highest) if b <= highest => problems.push(
                        Problem::new(
                            "metrics",
                            ProblemKind::Invalid,
                            b.to_string(),
                            format!("bucket bound \"{b}\" is not above the one before it"),
                        )
                        .with_related(highest.to_string())
                        .with_location(format!("buckets[{i}]")),
                    ),
                    _ => before = Some(b),
                }
            }
        }
        problems.finish(|| {
            let bounds_ns = self
                .buckets
                .iter()
                .map(|s| {
                    Duration::from_secs_f64(*s)
                        .as_nanos()
                        .min(u128::from(u64::MAX)) as u64
                })
                .collect();
            Registry {
                inner: Arc::new(Inner {
                    slots: (0..(self.max_series.max(1) * 2).next_power_of_two())
                        .map(|_| OnceLock::new())
                        .collect(),
                    max_series: self.max_series,
                    len: AtomicUsize::new(0),
                    overflow: AtomicU64::new(0),
                    bounds: self.buckets.into_boxed_slice(),
                    bounds_ns,
                    unmatched: self.unmatched.into_boxed_str(),
                    in_flight: AtomicI64::new(0),
                    no_response: AtomicU64::new(0),
                }),
            }
        })
    }
}

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
    /// The median time to the last byte, estimated from the histogram, in seconds.
    pub p50: f64,
    /// The 99th percentile of the time to the last byte, estimated likewise.
    pub p99: f64,
}

impl Registry {
    /// A registry with the default buckets and `""` as the unmatched route label.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(registry) => registry,
            Err(_) => unreachable!("the default buckets are valid"),
        }
    }

    /// A builder.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            buckets: DEFAULT_BUCKETS.to_vec(),
            unmatched: String::new(),
            max_series: DEFAULT_MAX_SERIES,
        }
    }

    /// A layer recording into this registry.
    pub fn layer(&self) -> super::MetricsLayer {
        super::MetricsLayer::new(self.clone())
    }

    /// A service rendering this registry in the Prometheus text format.
    pub fn service(&self) -> super::MetricsService {
        super::MetricsService::new(self.clone())
    }

    /// The slot of the series for `labels`, created on first use; `None` when the table is
    /// full. Finding an existing series takes no lock: a hash, then one atomic load and a
    /// compare per probed slot.
    pub(super) fn series(&self, labels: &Labels<'_>) -> Option<usize> {
        let slots = &self.inner.slots;
        let mask = slots.len() - 1;
        let start = key(labels) as usize & mask;
        let mut fresh: Option<Series> = None;
        for step in 0..slots.len() {
            let at = (start + step) & mask;
            let slot = slots.get(at)?;
            if let Some(series) = slot.get() {
                if series.is(labels) {
                    if fresh.is_some() {
                        // Another thread published this label set while we probed: give
                        // back the place we claimed.
                        self.inner.len.fetch_sub(1, Relaxed);
                    }
                    return Some(at);
                }
                continue;
            }
            // An empty slot: the series does not exist yet. Claim a place, then the slot.
            if fresh.is_none() {
                if self.inner.len.fetch_add(1, Relaxed) >= self.inner.max_series {
                    self.inner.len.fetch_sub(1, Relaxed);
                    self.inner.overflow.fetch_add(1, Relaxed);
                    return None;
                }
                fresh = Some(self.new_series(labels));
            }
            if let Some(series) = fresh.take() {
                match slot.set(series) {
                    Ok(()) => return Some(at),
                    Err(series) => {
                        // Another thread filled this slot first, maybe with this label set.
                        if slot.get().is_some_and(|s| s.is(labels)) {
                            self.inner.len.fetch_sub(1, Relaxed);
                            return Some(at);
                        }
                        fresh = Some(series);
                    }
                }
            }
        }
        None
    }

    fn new_series(&self, labels: &Labels<'_>) -> Series {
        let n = self.inner.bounds_ns.len();
        Series {
            route: labels.route.map(Box::from),
            method: labels.method,
            status: labels.status,
            arm: labels.arm.map(Box::from),
            canary: labels.canary,
            refusal: labels.refusal,
            aborted: AtomicU64::new(0),
            headers: Histogram::new(n),
            last_byte: Histogram::new(n),
        }
    }

    /// Records one finished request: the same as the layer does when a response body ends.
    /// Lock-free and allocation-free once the series exists.
    pub fn record(&self, labels: &Labels<'_>, to_headers: Duration, to_last_byte: Duration) {
        if let Some(at) = self.series(labels) {
            self.record_at(at, to_headers, to_last_byte, false);
        }
    }

    pub(super) fn record_at(
        &self,
        at: usize,
        to_headers: Duration,
        to_last_byte: Duration,
        aborted: bool,
    ) {
        if let Some(series) = self.inner.slots.get(at).and_then(OnceLock::get) {
            self.record_into(series, to_headers, to_last_byte, aborted);
        }
    }

    fn record_into(
        &self,
        series: &Series,
        to_headers: Duration,
        to_last_byte: Duration,
        aborted: bool,
    ) {
        let ns = |d: Duration| d.as_nanos().min(u128::from(u64::MAX)) as u64;
        if aborted {
            series.aborted.fetch_add(1, Relaxed);
        }
        series.headers.record(&self.inner.bounds_ns, ns(to_headers));
        series
            .last_byte
            .record(&self.inner.bounds_ns, ns(to_last_byte));
    }

    pub(super) fn enter(&self) {
        self.inner.in_flight.fetch_add(1, Relaxed);
    }

    pub(super) fn leave(&self) {
        self.inner.in_flight.fetch_sub(1, Relaxed);
    }

    pub(super) fn no_response(&self) {
        self.inner.no_response.fetch_add(1, Relaxed);
    }

    /// How many series exist.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.inner
            .slots
            .iter()
            .filter(|s| s.get().is_some())
            .count()
    }

    /// Requests in flight: called, and whose response body has not ended yet.
    #[must_use]
    pub fn in_flight(&self) -> i64 {
        self.inner.in_flight.load(Relaxed)
    }

    /// Total requests recorded over every series.
    #[must_use]
    pub fn total_requests(&self) -> u64 {
        self.all().iter().map(|s| s.requests()).sum()
    }

    fn all(&self) -> Vec<&Series> {
        let mut all: Vec<&Series> = self.inner.slots.iter().filter_map(OnceLock::get).collect();
        all.sort_by(|a, b| {
            (&a.route, a.method, a.status, &a.arm, a.refusal)
                .cmp(&(&b.route, b.method, b.status, &b.arm, b.refusal))
        });
        all
    }

    /// Per canary arm: requests, 5xx rate, p50 and p99 of the time to the last byte.
    /// Arms are in name order; requests without an arm are left out.
    #[must_use]
    pub fn canary_report(&self) -> Vec<ArmReport> {
        let mut arms: Vec<(String, bool, u64, u64, Vec<u64>)> = Vec::new();
        for s in self.all() {
            let Some(arm) = s.arm.as_deref() else {
                continue;
            };
            let at = match arms.iter().position(|a| a.0 == arm) {
                Some(at) => at,
                None => {
                    arms.push((
                        arm.to_owned(),
                        s.canary,
                        0,
                        0,
                        vec![0; self.inner.bounds.len() + 1],
                    ));
                    arms.len() - 1
                }
            };
            if let Some(entry) = arms.get_mut(at) {
                let requests = s.requests();
                entry.2 += requests;
                if (500..600).contains(&s.status) {
                    entry.3 += requests;
                }
                for (total, c) in entry.4.iter_mut().zip(s.last_byte.counts()) {
                    *total += c;
                }
            }
        }
        arms.sort_by(|a, b| a.0.cmp(&b.0));
        arms.into_iter()
            .map(|(arm, canary, requests, errors, counts)| ArmReport {
                arm,
                canary,
                requests,
                errors_5xx: errors,
                error_rate_5xx: if requests == 0 {
                    0.0
                } else {
                    errors as f64 / requests as f64
                },
                p50: quantile(&self.inner.bounds, &counts, 0.5),
                p99: quantile(&self.inner.bounds, &counts, 0.99),
            })
            .collect()
    }

    /// The Prometheus text format (version 0.0.4) of every metric.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.render_into(&mut out);
        out
    }

    /// [`render`](Self::render) into `out` (appended).
    pub fn render_into(&self, out: &mut String) {
        let all = self.all();
        let unmatched = &*self.inner.unmatched;
        let labels = |out: &mut String, s: &Series| {
            out.push_str("route=\"");
            escape(out, s.route.as_deref().unwrap_or(unmatched));
            out.push_str("\",method=\"");
            out.push_str(s.method);
            let _ = write!(out, "\",status=\"{}\",arm=\"", s.status);
            escape(out, s.arm.as_deref().unwrap_or(""));
            out.push_str("\",refusal=\"");
            out.push_str(s.refusal.map_or("", Refusal::as_str));
            out.push('"');
        };
        out.push_str("# HELP gateway_requests_total Requests answered, by route template, method, status, canary arm and refusal.\n# TYPE gateway_requests_total counter\n");
        for s in &all {
            out.push_str("gateway_requests_total{");
            labels(out, s);
            let _ = writeln!(out, "}} {}", s.requests());
        }
        out.push_str("# HELP gateway_request_errors_total Answers with a 4xx or 5xx status, by route template, method, canary arm and status class.\n# TYPE gateway_request_errors_total counter\n");
        let mut errors: Vec<(&str, &str, &str, &str, u64)> = Vec::new();
        for s in &all {
            let class = match s.status {
                400..=499 => "4xx",
                500..=599 => "5xx",
                _ => continue,
            };
            let route = s.route.as_deref().unwrap_or(unmatched);
            let arm = s.arm.as_deref().unwrap_or("");
            let n = s.requests();
            match errors
                .iter_mut()
                .find(|e| e.0 == route && e.1 == s.method && e.2 == arm && e.3 == class)
            {
                Some(e) => e.4 += n,
                None => errors.push((route, s.method, arm, class, n)),
            }
        }
        errors.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
        for (route, method, arm, class, n) in errors {
            out.push_str("gateway_request_errors_total{route=\"");
            escape(out, route);
            let _ = write!(out, "\",method=\"{method}\",arm=\"");
            escape(out, arm);
            let _ = writeln!(out, "\",class=\"{class}\"}} {n}");
        }
        out.push_str("# HELP gateway_response_aborted_total Responses whose body was dropped before its end.\n# TYPE gateway_response_aborted_total counter\n");
        for s in &all {
            out.push_str("gateway_response_aborted_total{");
            labels(out, s);
            let _ = writeln!(out, "}} {}", s.aborted.load(Relaxed));
        }
        for (name, help, pick) in [
            (
                "gateway_time_to_headers_seconds",
                "Time from the request to the response headers.",
                (|s: &Series| &s.headers) as fn(&Series) -> &Histogram,
            ),
            (
                "gateway_time_to_last_byte_seconds",
                "Time from the request to the last response body byte (or the body dropped).",
                |s: &Series| &s.last_byte,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for s in &all {
                let h = pick(s);
                let mut cumulative = 0u64;
                let counts = h.counts();
                for (i, c) in counts.iter().enumerate() {
                    cumulative += c;
                    let _ = write!(out, "{name}_bucket{{");
                    labels(out, s);
                    match self.inner.bounds.get(i) {
                        Some(b) => {
                            let _ = writeln!(out, ",le=\"{b:?}\"}} {cumulative}");
                        }
                        None => {
                            let _ = writeln!(out, ",le=\"+Inf\"}} {cumulative}");
                        }
                    }
                }
                let _ = write!(out, "{name}_sum{{");
                labels(out, s);
                let sum = h.sum_ns.load(Relaxed) as f64 / 1e9;
                let _ = writeln!(out, "}} {sum:?}");
                let _ = write!(out, "{name}_count{{");
                labels(out, s);
                let _ = writeln!(out, "}} {cumulative}");
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
}

/// Label value escaping of the text format: backslash, double quote, line feed.
fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
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
