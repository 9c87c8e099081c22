//! [`Registry`]: the series table and recording.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::builder::RegistryBuilder;
use super::labels::Labels;
use super::series::{self, Key, Series, Slot, View};

/// The default latency buckets, in seconds (those of the Prometheus client libraries).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The default [`RegistryBuilder::max_series`]: 4096 label sets (a table of 8192 slots).
pub const DEFAULT_MAX_SERIES: usize = 4096;

/// The highest [`RegistryBuilder::max_series`]: 2^18 label sets (a table of 72 MiB).
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
    /// Open addressing, linear probing; a slot is claimed (its series set) once and never
    /// cleared.
    slots: Box<[Slot]>,
    /// The series behind each slot.
    cold: Box<[OnceLock<Box<Series>>]>,
    mask: usize,
    max_series: usize,
    /// Bucket upper bounds in seconds, and in nanoseconds for recording.
    pub(super) bounds: Box<[f64]>,
    bounds_ns: Box<[u64]>,
    /// `start[k]`: the first bucket whose bound is at least `2^(k-1)` ns, so finding the
    /// bucket of a duration of `k` significant bits compares only the bounds of its octave.
    start: [u32; 65],
    pub(super) unmatched: Box<str>,
    #[cfg(feature = "metrics-facade")]
    pub(super) facade: Option<super::facade::GlobalHandles>,
    /// The in-flight gauge, in shards (a thread adds to its own), so concurrent requests on
    /// different cores do not fight over one cache line; the gauge is their sum.
    in_flight: [Padded<AtomicI64>; IN_FLIGHT_SHARDS],
    /// Series created (claimed before publication), requests not recorded for want of room,
    /// requests that got no response: rarely written.
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
            .map(|&s| u64::try_from(Duration::from_secs_f64(s).as_nanos()).unwrap_or(u64::MAX))
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
        let slots = (self.max_series * 2).next_power_of_two();
        #[cfg(feature = "metrics-facade")]
        let facade = self.facade.then(super::facade::GlobalHandles::register);
        #[cfg(not(feature = "metrics-facade"))]
        let _ = self.facade;
        Registry {
            inner: Arc::new(Inner {
                slots: (0..slots).map(|_| Slot::default()).collect(),
                cold: (0..slots).map(|_| OnceLock::new()).collect(),
                mask: slots - 1,
                max_series: self.max_series,
                bounds: self.buckets.into_boxed_slice(),
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

    /// The slot of the series for `labels`, created on first use; `None` when the table is
    /// full. Finding an existing series takes no lock and no allocation: a hash of the label
    /// values, then per probed slot one load of its tag and, on a match, a compare of the key
    /// words kept in the slot: one pair of cache lines read.
    #[inline]
    pub(super) fn series(&self, labels: &Labels<'_>) -> Option<usize> {
        let mut key = Key::new(labels);
        key.compute();
        let inner = &*self.inner;
        let start = key.hash as usize;
        for step in 0..=inner.mask {
            let at = start.wrapping_add(step) & inner.mask;
            match inner.slots.get(at)?.holds(&key) {
                Some(true) => return Some(at),
                Some(false) => continue,
                None => return self.slow(&key, at),
            }
        }
        None
    }

    /// The series in slot `at`, with its slot.
    pub(super) fn view(&self, at: usize) -> Option<View<'_>> {
        Some(View {
            slot: self.inner.slots.get(at)?,
            series: self.inner.cold.get(at)?.get()?,
        })
    }

    /// The slow path of [`series`](Self::series), from the slot `first` on: a key longer than
    /// the slot's inline words, a slot being published, or a new label set (claim a place,
    /// build the series, claim the first free slot by setting its series, publish the key).
    #[cold]
    #[inline(never)]
    fn slow(&self, key: &Key<'_, '_>, first: usize) -> Option<usize> {
        if let Some(at) = self.find(key, first) {
            return Some(at);
        }
        let inner = &*self.inner;
        // A full table is seen with a load first: overflowing requests then write only the
        // overflow counter, not the shared count twice.
        let full = inner.len.load(Relaxed) >= inner.max_series || {
            let claimed = inner.len.fetch_add(1, Relaxed) < inner.max_series;
            if !claimed {
                inner.len.fetch_sub(1, Relaxed);
            }
            !claimed
        };
        if full {
            // Published by another thread since our probe? Then it is not an overflow.
            if let Some(at) = self.find(key, first) {
                return Some(at);
            }
            inner.overflow.fetch_add(1, Relaxed);
            #[cfg(feature = "metrics-facade")]
            if let Some(facade) = &inner.facade {
                facade.overflow.increment(1);
            }
            return None;
        }
        let mut fresh = Some(Box::new(self.new_series(key)));
        for step in 0..=inner.mask {
            let at = first.wrapping_add(step) & inner.mask;
            let cold = inner.cold.get(at)?;
            if let Some(series) = fresh.take() {
                match cold.set(series) {
                    Ok(()) => {
                        inner.slots.get(at)?.publish(key);
                        return Some(at);
                    }
                    Err(series) => fresh = Some(series),
                }
            }
            if cold.get().is_some_and(|s| s.is(key)) {
                // Another thread claimed a slot for this label set first: give back our place.
                inner.len.fetch_sub(1, Relaxed);
                return Some(at);
            }
        }
        None
    }

    /// The slot holding `key`, probing from `first` until a free slot, comparing whole keys.
    fn find(&self, key: &Key<'_, '_>, first: usize) -> Option<usize> {
        let inner = &*self.inner;
        for step in 0..=inner.mask {
            let at = first.wrapping_add(step) & inner.mask;
            match inner.cold.get(at)?.get() {
                Some(series) if series.is(key) => return Some(at),
                Some(_) => continue,
                None => return None,
            }
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

    /// Records into the series of slot `at`: four relaxed atomic adds (the two buckets, the
    /// two sums), all in the slot for durations in the first two buckets; five for an
    /// aborted response; with the facade, its handles too.
    #[inline]
    pub(super) fn record_ns(&self, at: usize, headers_ns: u64, last_byte_ns: u64, aborted: bool) {
        let Some(slot) = self.inner.slots.get(at) else {
            return;
        };
        let series = || self.inner.cold.get(at).and_then(|s| s.get()).map(|s| &**s);
        slot.add(series, series::headers_bucket(self.bucket(headers_ns)), 1);
        slot.add(
            series,
            series::last_byte_bucket(self.bucket(last_byte_ns)),
            1,
        );
        slot.add(series, series::SUM_HEADERS, headers_ns);
        slot.add(series, series::SUM_LAST_BYTE, last_byte_ns);
        if aborted {
            if let Some(series) = series() {
                series.aborted.fetch_add(1, Relaxed);
            }
        }
        #[cfg(feature = "metrics-facade")]
        if self.inner.facade.is_some() {
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
        all.sort_unstable_by(|a, b| {
            (&a.route, a.method, a.status, &a.arm, a.refusal)
                .cmp(&(&b.route, b.method, b.status, &b.arm, b.refusal))
        });
        all
    }
}

const IN_FLIGHT_SHARDS: usize = 16;

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
