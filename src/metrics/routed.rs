//! The layer's lookup by route: a cache from a few small numbers (the route template's
//! number, the method, the status, the arm's number, the refusal) to the place of the series
//! the text path found for them, so a request of a known route hashes and compares one word
//! instead of its template's text.
//!
//! A cache entry is one word: the key in its high bits, the place in the low ones. It is
//! written with one store, so a reader sees a whole entry or none, and every entry is right
//! for its own key whenever it is read: entries may be overwritten (a full line evicts one),
//! and a key missing from the cache only means a lookup by text, which finds the same series
//! (the series are the label sets, whatever path found them first).
//!
//! Before the cache, a route's own hint (`MatchedRoute::metrics_hint`: a word on the route,
//! whose line the router has just touched) holds an entry of the same form for the labels of
//! its last request, with the registry's number in place of the route's: a route whose
//! requests keep the same labels finds its series there.

use std::sync::atomic::{
    AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::{Mutex, PoisonError};

use super::labels::{Labels, Refusal};
use super::series::{method_code, Line};
use crate::util::words::padded;

/// The place's bits in an entry: places are below [`MAX_SERIES_LIMIT`](super::MAX_SERIES_LIMIT).
const PLACE_BITS: u32 = 18;
const PLACE: u64 = (1 << PLACE_BITS) - 1;
const _: () = assert!(super::MAX_SERIES_LIMIT as u64 == PLACE + 1);

/// The key's fields, from the low bits up after the place: the status (10 bits, 100 to 999
/// for any `http::StatusCode`, so a key is never 0, the free entry), the method's code (4),
/// the refusal plus one (3), the arm's number (4; 0: no arm) and the template's number (25;
/// 0: no route matched).
const STATUS_AT: u32 = PLACE_BITS;
const METHOD_AT: u32 = STATUS_AT + 10;
const REFUSAL_AT: u32 = METHOD_AT + 4;
const ARM_AT: u32 = REFUSAL_AT + 3;
const ROUTE_AT: u32 = ARM_AT + 4;
const ROUTE_BITS: u32 = u64::BITS - ROUTE_AT;
// The router numbers up to 2^20 templates.
const _: () = assert!(ROUTE_BITS == 25);

/// A refusal's code in a key (3 bits; 0 is none). An exhaustive match, so that a new kind
/// of refusal cannot be added without a code here.
#[inline]
fn refusal_code(refusal: Refusal) -> u64 {
    match refusal {
        Refusal::CorsPreflight => 1,
        Refusal::Origin => 2,
        Refusal::NoRoute => 3,
        Refusal::MethodNotAllowed => 4,
        Refusal::UpgradeRequired => 5,
    }
}

/// How many arm names get a number (the rest take the text path): a canary split has two.
const ARMS: usize = 15;
/// The longest arm name given a number (kept as one word).
const ARM_BYTES: usize = 8;

/// The cache and the arms' numbers of one registry.
pub(super) struct Routed {
    /// Entries, eight to a cache line; a key lives in the line its hash picks.
    lines: Box<[Line]>,
    mask: usize,
    /// The numbered arm names (number `i + 1` at `i`): their bytes as a padded word, and
    /// their length. Written under `adding`, before `arms_len` publishes them.
    arms: [[AtomicU64; 2]; ARMS],
    arms_len: AtomicUsize,
    adding: Mutex<()>,
    /// This registry's process-wide number, in a key's route bits (0: past the numbered
    /// ones, then routes' hints are not used).
    number: u64,
}

/// The number of a new registry, from 1 up; 0 once they are all taken.
fn registry_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let number = NEXT.fetch_add(1, Relaxed);
    if number >> ROUTE_BITS == 0 {
        number << ROUTE_AT
    } else {
        0
    }
}

impl Routed {
    /// A cache of twice `max_series` entries or more (a power of two), eight to a line.
    pub(super) fn new(max_series: usize) -> Self {
        let lines = (max_series * 2).next_power_of_two().div_ceil(8).max(1);
        Self {
            lines: (0..lines).map(|_| Line::default()).collect(),
            mask: lines - 1,
            arms: Default::default(),
            arms_len: AtomicUsize::new(0),
            adding: Mutex::new(()),
            number: registry_number(),
        }
    }

    /// The key of `labels` whose route template has number `route` (0: no route), or `None`
    /// when they have no short key (a status out of range, an arm name that is long or past
    /// the first [`ARMS`], a template without a number): then the text path finds them.
    #[cfg(test)]
    pub(super) fn key(&self, route: u32, labels: &Labels<'_>) -> Option<u64> {
        Self::with_route(self.small(labels)?, route)
    }

    /// The key of small labels `small` (see [`small`](Self::small)) and route number `route`.
    #[inline]
    pub(super) fn with_route(small: u64, route: u32) -> Option<u64> {
        (u64::from(route) >> ROUTE_BITS == 0).then_some(small | u64::from(route) << ROUTE_AT)
    }

    /// The key of small labels `small` in a route's hint (see
    /// `MatchedRoute::metrics_hint`): with this registry's number in the route's bits, so a
    /// hint written by another registry never matches. `None` past the registries numbered.
    #[inline]
    pub(super) fn in_hint(&self, small: u64) -> Option<u64> {
        (self.number != 0).then_some(small | self.number)
    }

    /// The key's fields other than the route: `None` when they do not fit (see
    /// [`key`](Self::key)).
    #[inline]
    pub(super) fn small(&self, labels: &Labels<'_>) -> Option<u64> {
        let status = u64::from(labels.status);
        if !(100..1000).contains(&status) {
            return None;
        }
        let arm = match labels.arm {
            None => 0,
            Some(arm) => self.arm(arm)?,
        };
        let refusal = labels.refusal.map_or(0, refusal_code);
        Some(
            status << STATUS_AT
                | method_code(labels.method) << METHOD_AT
                | refusal << REFUSAL_AT
                | arm << ARM_AT,
        )
    }

    /// The number of arm name `name` (given on first sight), `None` when it is longer than
    /// [`ARM_BYTES`] or every number is taken.
    #[inline]
    fn arm(&self, name: &str) -> Option<u64> {
        if name.len() > ARM_BYTES {
            return None;
        }
        let word = padded(name.as_bytes());
        let len = name.len() as u64;
        let known = self.arms_len.load(Acquire);
        for (i, [w, l]) in self.arms.iter().take(known).enumerate() {
            if w.load(Relaxed) == word && l.load(Relaxed) == len {
                return Some(i as u64 + 1);
            }
        }
        self.add_arm(word, len)
    }

    #[cold]
    #[inline(never)]
    fn add_arm(&self, word: u64, len: u64) -> Option<u64> {
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let known = self.arms_len.load(Relaxed);
        for (i, [w, l]) in self.arms.iter().take(known).enumerate() {
            if w.load(Relaxed) == word && l.load(Relaxed) == len {
                return Some(i as u64 + 1);
            }
        }
        let [w, l] = self.arms.get(known)?;
        w.store(word, Relaxed);
        l.store(len, Relaxed);
        self.arms_len.store(known + 1, Release);
        Some(known as u64 + 1)
    }

    /// The line of `key`, and the hash that picked it.
    #[inline]
    fn line(&self, key: u64) -> (Option<&Line>, u64) {
        let h = (key >> PLACE_BITS).wrapping_mul(super::series::K);
        (self.lines.get((h >> 32) as usize & self.mask), h)
    }

    /// The place cached for `key`, if any: one line read.
    #[inline]
    pub(super) fn find(&self, key: u64) -> Option<usize> {
        // Acquire: the series the entry names was published before the entry was written.
        self.line(key)
            .0?
            .0
            .iter()
            .map(|e| e.load(Acquire))
            .find(|e| e & !PLACE == key)
            .map(|e| (e & PLACE) as usize)
    }

    /// The place a route's hint holds for `key` (see [`in_hint`](Self::in_hint)), if it
    /// holds that key.
    #[inline]
    pub(super) fn hinted(hint: &AtomicU64, key: u64) -> Option<usize> {
        // Acquire: as in `find`.
        let entry = hint.load(Acquire);
        (entry & !PLACE == key).then_some((entry & PLACE) as usize)
    }

    /// Writes `place` for `key` in a route's hint.
    #[inline]
    pub(super) fn hint(hint: &AtomicU64, key: u64, place: usize) {
        hint.store(key | (place as u64 & PLACE), Release);
    }

    /// Caches `place` for `key`: in a free entry of its line, or over one of the others.
    #[cold]
    pub(super) fn insert(&self, key: u64, place: usize) {
        let entry = key | (place as u64 & PLACE);
        let (Some(line), h) = self.line(key) else {
            return;
        };
        for e in &line.0 {
            match e.compare_exchange(0, entry, Release, Relaxed) {
                Ok(_) => return,
                Err(now) if now & !PLACE == key => return,
                Err(_) => {}
            }
        }
        // A full line: evict an entry picked by the hash (its owner takes the text path next
        // time, and caches itself again).
        if let Some(e) = line.0.get((h >> 61) as usize) {
            e.store(entry, Release);
        }
    }
}
