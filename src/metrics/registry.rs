//! [`Registry`]: the series table and recording.

use std::sync::atomic::{
    AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed,
    Ordering::Release,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::builder::RegistryBuilder;
use super::labels::Labels;
use super::routed::Routed;
use super::series::{Key, Series, Slot, Tail, View};

/// The default latency buckets, in seconds (those of the Prometheus client libraries).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The default [`RegistryBuilder::max_series`]: 4096 label sets (an index of 8192 entries).
pub const DEFAULT_MAX_SERIES: usize = 4096;

/// The highest [`RegistryBuilder::max_series`]: 2^18 label sets (tables of 38 MiB).
pub const MAX_SERIES_LIMIT: usize = 1 << 18;

/// A value on a cache line of its own (128 bytes: the adjacent-line prefetcher pairs lines),
/// so counters written on every request never slow down readers of the fields around them.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Padded<T>(pub(super) T);

/// Aligned like [`Padded`], so the `Arc`'s reference counts (written by every clone) sit on
/// another line than the read-only fields read on every request.
#[repr(align(128))]
pub(super) struct Inner {
    /// The index: open addressing, linear probing, at least twice as many entries as
    /// series, four bytes each so that it stays in the core's cache (128 KiB for 10,000
    /// series) while the series' slots come and go. An entry is 0 (free), or the key's tag
    /// (see [`Key::tag`]) in its [`TAG`] bits and in the others [`BUSY`] (being created) or
    /// the series' place plus one; or [`LOST`]. An entry leaves 0 once and changes once more
    /// (when published), never back.
    index: Box<[AtomicU32]>,
    /// The series' slots, dense, in the order they were created (`max_series` of them).
    slots: Box<[Slot]>,
    /// The layer's lookup by route: series places by template number and small labels.
    routed: Routed,
    /// Their tails: the key words of longer label sets past the slot's (see [`Tail`]).
    tails: Box<[Tail]>,
    /// The series behind each slot.
    cold: Box<[OnceLock<Box<Series>>]>,
    /// Index entries minus one.
    mask: usize,
    max_series: usize,
    /// Bucket upper bounds in seconds, and in nanoseconds for recording.
    pub(super) bounds: Box<[f64]>,
    bounds_ns: Box<[u64]>,
    /// The first bucket's bound in nanoseconds (`u64::MAX` without one): requests whose two
    /// durations are at most this are counted in the slot.
    first_bound_ns: u64,
    /// `start[k]`: the first bucket whose bound is at least `2^(k-1)` ns, so finding the
    /// bucket of a duration of `k` significant bits compares only the bounds of its octave.
    start: [u32; 65],
    pub(super) unmatched: Box<str>,
    #[cfg(feature = "metrics-facade")]
    pub(super) facade: Option<super::facade::GlobalHandles>,
    /// The in-flight gauge, in shards (a thread adds to its own), so concurrent requests on
    /// different cores do not fight over one cache line; the gauge is their sum.
    in_flight: [Padded<AtomicI64>; IN_FLIGHT_SHARDS],
    /// Places handed out (may pass `max_series` when creators race for the last ones),
    /// requests not recorded for want of room, requests that got no response: rarely written.
    len: AtomicUsize,
    pub(super) overflow: AtomicU64,
    pub(super) no_response: AtomicU64,
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

impl RegistryBuilder {
    /// The registry of these (valid) settings.
    pub(super) fn registry(self) -> Registry {
        let bounds_ns: Box<[u64]> = self
            .buckets
            .iter()
            .map(|&s| {
                // A bound past `Duration::MAX` (1e20 s) is as good as +Inf: no panic.
                Duration::try_from_secs_f64(s).map_or(u64::MAX, |d| {
                    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
                })
            })
            .collect();
        let mut start = [0u32; 65];
        for (k, first) in start.iter_mut().enumerate().skip(1) {
            let low = 1u64 << (k - 1);
            let at = bounds_ns
                .iter()
                .position(|&b| b >= low)
                .unwrap_or(bounds_ns.len());
            *first = u32::try_from(at).unwrap_or(u32::MAX);
        }
        let entries = (self.max_series * 2).next_power_of_two();
        #[cfg(feature = "metrics-facade")]
        let facade = self.facade.then(super::facade::GlobalHandles::register);
        #[cfg(not(feature = "metrics-facade"))]
        let _ = self.facade;
        Registry {
            inner: Arc::new(Inner {
                index: (0..entries).map(|_| AtomicU32::new(0)).collect(),
                slots: (0..self.max_series).map(|_| Slot::default()).collect(),
                routed: Routed::new(self.max_series),
                tails: (0..self.max_series).map(|_| Tail::default()).collect(),
                cold: (0..self.max_series).map(|_| OnceLock::new()).collect(),
                mask: entries - 1,
                max_series: self.max_series,
                bounds: self.buckets.into_boxed_slice(),
                first_bound_ns: bounds_ns.first().copied().unwrap_or(u64::MAX),
                bounds_ns,
                start,
                unmatched: self.unmatched.into_boxed_str(),
                #[cfg(feature = "metrics-facade")]
                facade,
                in_flight: Default::default(),
                len: AtomicUsize::new(0),
                overflow: AtomicU64::new(0),
                no_response: AtomicU64::new(0),
            }),
        }
    }
}

impl Registry {
    /// A registry with the default buckets and `""` as the unmatched route label.
    pub fn new() -> Self {
        Self::builder().registry()
    }

    /// A builder.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder {
            buckets: DEFAULT_BUCKETS.to_vec(),
            unmatched: String::new(),
            max_series: DEFAULT_MAX_SERIES,
            facade: false,
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

    /// The number of buckets per histogram, `+Inf` included.
    pub(super) fn buckets(&self) -> usize {
        self.inner.bounds.len() + 1
    }

    /// The place of the series for `labels`, created on first use; `None` when the table is
    /// full. Finding an existing series takes no lock and no allocation: a hash of the label
    /// values, then per probed index entry one load and, on a tag match, a compare of the key
    /// words kept in the series' slot (and for a longer label set, in its tail): one 4-byte
    /// entry and one cache line read (two for a longer label set).
    #[inline]
    pub(super) fn series(&self, labels: &Labels<'_>) -> Option<usize> {
        let mut key = Key::new(labels);
        key.compute();
        let inner = &*self.inner;
        let mut at = key.hash as usize;
        for _ in 0..=inner.mask {
            at &= inner.mask;
            let entry = inner.index.get(at)?.load(Acquire);
            if entry & TAG == key.tag {
                // A published series (`BUSY` is past every place), or one being created.
                let place = ((entry & !TAG) as usize).wrapping_sub(1);
                let holds = match inner.slots.get(place).and_then(|slot| slot.holds(&key)) {
                    None => inner.tails.get(place).and_then(|tail| tail.holds(&key)),
                    inline => inline,
                };
                match holds {
                    Some(true) => return Some(place),
                    Some(false) => {}
                    None => return self.slow(&key, at),
                }
            } else if entry == 0 {
                return self.slow(&key, at);
            }
            at += 1;
        }
        None
    }

    /// The place of the series for `labels`, whose route template has number `route` (0:
    /// no route; see `MatchedRoute::template_id`) and whose route's hint is `hint`, the same
    /// as [`series`](Self::series) finds: in the hint when the route's last request had the
    /// same labels (one word on the route's line), else by the numbers (one word hashed, one
    /// cache line read), by the text the first time (then cached) or when the labels have no
    /// short key.
    #[inline]
    pub(super) fn series_by_route(
        &self,
        route: u32,
        hint: Option<&AtomicU64>,
        labels: &Labels<'_>,
    ) -> Option<usize> {
        let routed = &self.inner.routed;
        let Some(small) = routed.small(labels) else {
            return self.series(labels);
        };
        let hint = hint.and_then(|cell| Some((cell, routed.in_hint(small)?)));
        if let Some((cell, in_hint)) = hint {
            if let Some(place) = Routed::hinted(cell, in_hint) {
                return Some(place);
            }
        }
        let place = match Routed::with_route(small, route) {
            Some(key) => match routed.find(key) {
                Some(place) => Some(place),
                None => self.cache_route(key, labels),
            },
            None => self.series(labels),
        }?;
        if let Some((cell, in_hint)) = hint {
            Routed::hint(cell, in_hint, place);
        }
        Some(place)
    }

    #[cold]
    #[inline(never)]
    fn cache_route(&self, key: u64, labels: &Labels<'_>) -> Option<usize> {
        let place = self.series(labels)?;
        self.inner.routed.insert(key, place);
        Some(place)
    }

    /// The series in place `at`, with its slot.
    pub(super) fn view(&self, at: usize) -> Option<View<'_>> {
        Some(View {
            slot: self.inner.slots.get(at)?,
            series: self.inner.cold.get(at)?.get()?,
        })
    }

    /// The slow path of [`series`](Self::series), from index entry `first` on: a key longer
    /// than the words of a slot and its tail, a series being created, or a new label set. A
    /// new one is built first, then an index entry claimed (compare-and-set from 0 to
    /// `BUSY`), a place taken, the series, its slot and its tail filled, and the entry
    /// published. Others who meet the
    /// entry while it is `BUSY` with their tag wait for it: a few stores.
    #[cold]
    #[inline(never)]
    fn slow(&self, key: &Key<'_, '_>, first: usize) -> Option<usize> {
        let inner = &*self.inner;
        let mut fresh: Option<Box<Series>> = None;
        let mut at = first;
        let mut spins = 0u32;
        let mut probed = 0;
        while probed <= inner.mask {
            at &= inner.mask;
            let cell = inner.index.get(at)?;
            let entry = cell.load(Acquire);
            if entry == 0 {
                // The key is in no entry before this free one: create it here. A full table
                // is seen with a load first, so overflowing requests write only the overflow
                // counter.
                if inner.len.load(Relaxed) >= inner.max_series {
                    return self.overflow();
                }
                let series = fresh
                    .take()
                    .unwrap_or_else(|| Box::new(self.new_series(key)));
                if let Err(_taken) = cell.compare_exchange(0, key.tag | BUSY, Acquire, Acquire) {
                    // Another creator claimed this entry: look at it again.
                    fresh = Some(series);
                    continue;
                }
                let place = inner.len.fetch_add(1, Relaxed);
                let (Some(slot), Some(tail), Some(cold)) = (
                    inner.slots.get(place),
                    inner.tails.get(place),
                    inner.cold.get(place),
                ) else {
                    // Raced past the last place: this entry will never hold a series.
                    cell.store(LOST, Release);
                    return self.overflow();
                };
                slot.fill(key);
                tail.fill(key);
                let _ = cold.set(series);
                // `place < max_series <= 2^18`: it fits below the tag bits.
                cell.store(key.tag | (place as u32 + 1), Release);
                return Some(place);
            }
            if entry & TAG == key.tag {
                if entry & !TAG == BUSY {
                    // Being created, maybe with our labels: wait for it.
                    spins += 1;
                    if spins % 64 == 0 {
                        std::thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                    continue;
                }
                let place = ((entry & !TAG) as usize).wrapping_sub(1);
                if inner
                    .cold
                    .get(place)
                    .and_then(OnceLock::get)
                    .is_some_and(|s| s.is(key))
                {
                    return Some(place);
                }
            }
            at += 1;
            probed += 1;
        }
        self.overflow()
    }

    /// Counts a request of a label set the full table has no room for.
    fn overflow(&self) -> Option<usize> {
        let inner = &*self.inner;
        inner.overflow.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics-facade")]
        if let Some(facade) = &inner.facade {
            facade.overflow.increment(1);
        }
        None
    }

    fn new_series(&self, key: &Key<'_, '_>) -> Series {
        Series::new(
            key,
            self.buckets(),
            &self.inner.unmatched,
            #[cfg(feature = "metrics-facade")]
            self.inner
                .facade
                .as_ref()
                .map(|_| super::facade::SeriesHandles::register(key.labels, &self.inner.unmatched)),
        )
    }

    /// The bucket of a duration of `ns` nanoseconds: the first whose bound is at least `ns`
    /// (`+Inf` past the last). Only the bounds of `ns`'s octave are compared: usually one.
    #[inline]
    pub(super) fn bucket(&self, ns: u64) -> usize {
        let inner = &*self.inner;
        let octave = (u64::BITS - ns.leading_zeros()) as usize;
        let mut at = inner.start.get(octave).map_or(0, |&s| s as usize);
        while inner.bounds_ns.get(at).is_some_and(|&bound| ns > bound) {
            at += 1;
        }
        at
    }

    /// Records one finished request: the same as the layer does when a response body ends.
    /// Lock-free and allocation-free once the series exists.
    #[inline]
    pub fn record(&self, labels: &Labels<'_>, to_headers: Duration, to_last_byte: Duration) {
        if let Some(at) = self.series(labels) {
            self.record_ns(at, nanos(to_headers), nanos(to_last_byte), false);
        }
    }

    /// Records one finished response the way the layer does: the labels read from its
    /// extensions (the [`MatchedRoute`](crate::router::MatchedRoute), the
    /// [`Arm`](crate::canary::Arm), the refusals) and the series found by the route's
    /// template number rather than its text. The same series and exposition as [`record`]
    /// with those labels. Lock-free and allocation-free once the series exists.
    ///
    /// [`record`]: Self::record
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::{Extensions, Method, StatusCode};
    /// use tower_gateway::metrics::{Labels, Registry};
    /// use tower_gateway::router::MatchedRoute;
    ///
    /// let registry = Registry::new();
    /// let mut extensions = Extensions::new();
    /// extensions.insert(MatchedRoute::new(Some(Method::GET), "/pets/{id}", None));
    /// let ms = Duration::from_millis(1);
    /// registry.record_response(&Method::GET, StatusCode::OK, &extensions, ms, ms);
    /// let labels = Labels {
    ///     route: Some("/pets/{id}"),
    ///     method: "GET",
    ///     status: 200,
    ///     arm: None,
    ///     canary: false,
    ///     refusal: None,
    /// };
    /// registry.record(&labels, ms, ms);
    /// assert_eq!(registry.series_count(), 1);
    /// assert_eq!(registry.total_requests(), 2);
    /// ```
    #[inline]
    pub fn record_response(
        &self,
        method: &http::Method,
        status: http::StatusCode,
        extensions: &http::Extensions,
        to_headers: Duration,
        to_last_byte: Duration,
    ) {
        let method = super::labels::method_label(method);
        if let Some(at) = super::layer::series_of(self, method, extensions, status.as_u16()) {
            self.record_ns(at, nanos(to_headers), nanos(to_last_byte), false);
        }
    }

    /// Records into the series of slot `at`: the two sums and, when both durations fall in
    /// the first bucket, the slot's count of such requests: three relaxed atomic adds on the
    /// slot's line. A slower request adds to one bucket of each histogram in the series
    /// instead; an aborted one to its aborted counter; with the facade, its handles too.
    #[inline]
    pub(super) fn record_ns(&self, at: usize, headers_ns: u64, last_byte_ns: u64, aborted: bool) {
        let inner = &*self.inner;
        let Some(slot) = inner.slots.get(at) else {
            return;
        };
        let series = || inner.cold.get(at).and_then(|s| s.get()).map(|s| &**s);
        let fast = headers_ns.max(last_byte_ns) <= inner.first_bound_ns;
        slot.add(headers_ns, last_byte_ns, fast);
        if !fast {
            if let Some(series) = series() {
                series.add(self.bucket(headers_ns), self.bucket(last_byte_ns));
            }
        }
        if aborted {
            if let Some(series) = series() {
                series.aborted.fetch_add(1, Relaxed);
            }
        }
        #[cfg(feature = "metrics-facade")]
        if inner.facade.is_some() {
            if let Some(handles) = series().and_then(|s| s.facade.as_ref()) {
                handles.record(headers_ns, last_byte_ns, aborted);
            }
        }
    }

    pub(super) fn enter(&self) {
        if let Some(shard) = self.inner.in_flight.get(shard()) {
            shard.0.fetch_add(1, Relaxed);
        }
        #[cfg(feature = "metrics-facade")]
        if let Some(facade) = &self.inner.facade {
            facade.in_flight.increment(1.0);
        }
    }

    pub(super) fn leave(&self) {
        if let Some(shard) = self.inner.in_flight.get(shard()) {
            shard.0.fetch_sub(1, Relaxed);
        }
        #[cfg(feature = "metrics-facade")]
        if let Some(facade) = &self.inner.facade {
            facade.in_flight.decrement(1.0);
        }
    }

    pub(super) fn no_response(&self) {
        self.inner.no_response.fetch_add(1, Relaxed);
        #[cfg(feature = "metrics-facade")]
        if let Some(facade) = &self.inner.facade {
            facade.unanswered.increment(1);
        }
    }

    /// How many series exist.
    #[must_use]
    pub fn series_count(&self) -> usize {
        self.inner.cold.iter().filter(|s| s.get().is_some()).count()
    }

    /// Requests in flight: called, and whose response body has not ended yet.
    #[must_use]
    pub fn in_flight(&self) -> i64 {
        // The shards are read one after the other: a request leaving on another thread's shard
        // meanwhile could make the sum dip below zero for a moment.
        self.inner
            .in_flight
            .iter()
            .map(|s| s.0.load(Relaxed))
            .sum::<i64>()
            .max(0)
    }

    /// Total requests recorded over every series.
    #[must_use]
    pub fn total_requests(&self) -> u64 {
        let buckets = self.buckets();
        self.all().iter().map(|s| s.requests(buckets)).sum()
    }

    /// Every series, in label order (route, method, status, arm, refusal).
    pub(super) fn all(&self) -> Vec<View<'_>> {
        let mut all: Vec<View<'_>> = (0..self.inner.cold.len())
            .filter_map(|at| self.view(at))
            .collect();
        // Ordered by the label values as written (an unmatched route as its label, no arm as
        // `""`), so label sets that write the same text sit together: the exposition writes
        // them as one series.
        let unmatched = &*self.inner.unmatched;
        fn key<'a>(v: &'a View<'_>, unmatched: &'a str) -> impl Ord + 'a {
            (
                v.route.as_deref().unwrap_or(unmatched),
                v.method,
                v.status,
                v.arm.as_deref().unwrap_or(""),
                v.refusal,
            )
        }
        all.sort_unstable_by(|a, b| key(a, unmatched).cmp(&key(b, unmatched)));
        all
    }
}

const IN_FLIGHT_SHARDS: usize = 16;

/// An index entry's tag bits: the 13 above the place (a place plus one needs 19 bits: up to
/// [`MAX_SERIES_LIMIT`]).
pub(super) const TAG: u32 = !BUSY;
/// An index entry's other bits while its series is being created (past every place).
pub(super) const BUSY: u32 = (1 << 19) - 1;
/// An index entry claimed by a creator who then found no place left: never free again, never
/// a tag (whose highest bit is set).
const LOST: u32 = BUSY;

const _: () = assert!(MAX_SERIES_LIMIT < BUSY as usize);

/// This thread's in-flight shard: threads take the shards in turn, on first use.
fn shard() -> usize {
    use std::cell::Cell;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD
        .try_with(|shard| {
            if shard.get() == usize::MAX {
                shard.set(NEXT.fetch_add(1, Relaxed) % IN_FLIGHT_SHARDS);
            }
            shard.get()
        })
        .unwrap_or(0)
}

/// A duration in nanoseconds, saturating at about 584 years.
#[inline]
pub(super) fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}
