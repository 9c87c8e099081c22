//! The series table's pieces: a [`Slot`] (one 128-byte pair of cache lines holding what a
//! request reads and writes), the [`Series`] behind it (label strings, the full key, the
//! counters of slower buckets, facade handles), and the [`Key`] a lookup computes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};

use super::labels::{Labels, Refusal};

/// Key words kept in the slot: label sets of up to nine words (two header words, then for
/// example a route of up to 40 bytes, an arm of up to 8 and a standard method) are compared
/// without leaving the slot.
pub(super) const INLINE_KEY: usize = 9;

/// Counters kept in the slot: both `_sum`s, then the first two bucket pairs (headers, last
/// byte interleaved), so a fast request (both durations in the first two buckets: up to
/// 10 ms with the default buckets) writes only the slot. The other buckets live in the
/// series, on cache lines of their own, and so does the (rarely written) aborted counter.
pub(super) const SUM_HEADERS: usize = 0;
pub(super) const SUM_LAST_BYTE: usize = 1;
const FIRST_PAIR: usize = 2;
const HOT: usize = 6;

pub(super) const fn headers_bucket(i: usize) -> usize {
    FIRST_PAIR + 2 * i
}

pub(super) const fn last_byte_bucket(i: usize) -> usize {
    FIRST_PAIR + 2 * i + 1
}

/// What a request touches: one 128-byte aligned pair of cache lines (the adjacent-line
/// prefetcher loads both), its own, so no two series share a line (no false sharing): the
/// tag, the first key words, the hot counters.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Slot {
    /// 0 while empty or being published; then the label set's hash with the top bit set.
    /// Stored (release) after the key words, so a reader who loads (acquire) its own tag
    /// sees them.
    tag: AtomicU64,
    key: [AtomicU64; INLINE_KEY],
    hot: [AtomicU64; HOT],
}

/// Eight counters on one cache line of their own.
#[repr(align(64))]
#[derive(Default)]
pub(super) struct Line(pub(super) [AtomicU64; 8]);

/// One series, behind its slot: read when rendering, when comparing keys longer than
/// [`INLINE_KEY`] words, and when recording into a bucket beyond the first two or into the
/// facade.
pub(super) struct Series {
    pub(super) status: u16,
    pub(super) refusal: Option<Refusal>,
    pub(super) canary: bool,
    pub(super) method: &'static str,
    pub(super) route: Option<Box<str>>,
    pub(super) arm: Option<Box<str>>,
    /// `route="…",method="…",status="…",arm="…",refusal="…"`, escaped, written once.
    pub(super) text: Box<str>,
    /// The whole key (see [`Key`]).
    key: Box<[u64]>,
    /// The counters after the slot's.
    more: Box<[Line]>,
    /// Responses whose body was dropped before its end.
    pub(super) aborted: AtomicU64,
    /// Handles registered with the `metrics` facade when the series was created.
    #[cfg(feature = "metrics-facade")]
    pub(super) facade: Option<super::facade::SeriesHandles>,
}

impl Series {
    /// The series of `key`, with room for `buckets` buckets per histogram (`+Inf`
    /// included); `unmatched` is the route label of unmatched requests.
    pub(super) fn new(
        key: &Key<'_, '_>,
        buckets: usize,
        unmatched: &str,
        #[cfg(feature = "metrics-facade")] facade: Option<super::facade::SeriesHandles>,
    ) -> Self {
        let labels = key.labels;
        let mut words = Vec::with_capacity(key.len);
        stream(labels, |w| {
            words.push(w);
            true
        });
        let counters = FIRST_PAIR + 2 * buckets;
        let mut text = String::with_capacity(64);
        text.push_str("route=\"");
        escape(&mut text, labels.route.unwrap_or(unmatched));
        text.push_str("\",method=\"");
        escape(&mut text, labels.method);
        let _ = write!(text, "\",status=\"{}\",arm=\"", labels.status);
        escape(&mut text, labels.arm.unwrap_or(""));
        text.push_str("\",refusal=\"");
        text.push_str(labels.refusal.map_or("", Refusal::as_str));
        text.push('"');
        Self {
            status: labels.status,
            refusal: labels.refusal,
            canary: labels.canary,
            method: labels.method,
            route: labels.route.map(Box::from),
            arm: labels.arm.map(Box::from),
            text: text.into_boxed_str(),
            key: words.into_boxed_slice(),
            more: (0..counters.saturating_sub(HOT).div_ceil(8))
                .map(|_| Line::default())
                .collect(),
            aborted: AtomicU64::new(0),
            #[cfg(feature = "metrics-facade")]
            facade,
        }
    }

    /// Whether this series is the one for `key` (its whole key compared).
    pub(super) fn is(&self, key: &Key<'_, '_>) -> bool {
        let mut stored = self.key.iter();
        self.key.len() == key.len && stream(key.labels, |w| stored.next() == Some(&w))
    }
}

impl Slot {
    /// Publishes `key` in this slot (claimed by setting its series).
    pub(super) fn publish(&self, key: &Key<'_, '_>) {
        for (cell, w) in self.key.iter().zip(key.words.iter().take(key.len)) {
            cell.store(*w, Relaxed);
        }
        self.tag.store(key.tag, Release);
    }

    /// Whether this slot holds `key`: `Some(true)` or `Some(false)` when its tag and inline
    /// words decide it, `None` when the slot is empty (or being published) or the key is
    /// longer than the inline words (then the series decides).
    #[inline(always)]
    pub(super) fn holds(&self, key: &Key<'_, '_>) -> Option<bool> {
        let tag = self.tag.load(Acquire);
        if tag == 0 {
            return None;
        }
        if tag != key.tag {
            return Some(false);
        }
        // All the inline words, without an early exit (they differ only on a hash collision):
        // past a key's end both the slot and the buffer hold zeros.
        let mut diff = 0;
        for (stored, w) in self.key.iter().zip(&key.words) {
            diff |= stored.load(Relaxed) ^ w;
        }
        if diff != 0 {
            Some(false)
        } else if key.len <= INLINE_KEY {
            Some(true)
        } else {
            None
        }
    }

    /// Adds `n` to counter `word`, in the slot or (past its counters) in `series`.
    #[inline(always)]
    pub(super) fn add<'s>(&self, series: impl FnOnce() -> Option<&'s Series>, word: usize, n: u64) {
        match self.hot.get(word) {
            Some(counter) => {
                counter.fetch_add(n, Relaxed);
            }
            None => {
                let word = word - HOT;
                if let Some(line) = series().and_then(|s| s.more.get(word / 8)) {
                    line.0[word % 8].fetch_add(n, Relaxed);
                }
            }
        }
    }
}

/// A series and its slot: the counters of one series, for the exposition and the report.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    pub(super) slot: &'a Slot,
    pub(super) series: &'a Series,
}

impl std::ops::Deref for View<'_> {
    type Target = Series;

    fn deref(&self) -> &Series {
        self.series
    }
}

impl View<'_> {
    pub(super) fn get(&self, word: usize) -> u64 {
        match self.slot.hot.get(word) {
            Some(counter) => counter.load(Relaxed),
            None => {
                let word = word - HOT;
                self.series
                    .more
                    .get(word / 8)
                    .map_or(0, |line| line.0[word % 8].load(Relaxed))
            }
        }
    }

    /// The counts of one histogram's buckets (not cumulative; `+Inf` last).
    pub(super) fn counts(&self, buckets: usize, last_byte: bool) -> impl Iterator<Item = u64> + '_ {
        (0..buckets).map(move |i| {
            self.get(if last_byte {
                last_byte_bucket(i)
            } else {
                headers_bucket(i)
            })
        })
    }

    /// Requests recorded: the sum of the last-byte histogram's buckets (every recorded
    /// request lands in exactly one), so the counter and the histogram `_count` never differ.
    pub(super) fn requests(&self, buckets: usize) -> u64 {
        self.counts(buckets, true).sum()
    }
}

/// The label set as a stream of words handed to `f` until it returns `false`; two label sets
/// give the same stream exactly when they are equal, and no stream is the start of another.
///
/// A header word (status, refusal, which values are present, the method's length), a word
/// of the route's and the arm's lengths, then each value's bytes eight at a time: the last
/// word overlapping the one before, a value under eight bytes in one word. Lengths too large
/// for their fields (over 64 KiB for a method, 4 GiB for the others) set a bit and follow in
/// full.
#[inline(always)]
fn stream(labels: &Labels<'_>, mut f: impl FnMut(u64) -> bool) -> bool {
    let route = labels.route.map_or(&[][..], str::as_bytes);
    let arm = labels.arm.map_or(&[][..], str::as_bytes);
    let method = labels.method.as_bytes();
    let overlong =
        method.len() > 0xffff || route.len() as u64 > 0xffff_ffff || arm.len() as u64 > 0xffff_ffff;
    let header = u64::from(labels.status)
        | u64::from(labels.refusal.map_or(0, |r| r as u8 + 1)) << 16
        | u64::from(labels.route.is_some()) << 19
        | u64::from(labels.arm.is_some()) << 20
        | u64::from(overlong) << 21
        | (method.len() as u64 & 0xffff) << 24;
    let lengths = (route.len() as u64 & 0xffff_ffff) | (arm.len() as u64) << 32;
    f(header)
        && f(lengths)
        && (!overlong || f(method.len() as u64) && f(route.len() as u64) && f(arm.len() as u64))
        && value(route, &mut f)
        && value(arm, &mut f)
        && value(method, &mut f)
}

#[inline(always)]
fn value(b: &[u8], f: &mut impl FnMut(u64) -> bool) -> bool {
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        if !f(word(chunk)) {
            return false;
        }
    }
    chunks.remainder().is_empty()
        || f(b
            .last_chunk::<8>()
            .map_or_else(|| short(b), |c| u64::from_le_bytes(*c)))
}

/// What a lookup computes once: the first words of a label set (as many as a slot keeps),
/// their count, and the hash of them all.
pub(super) struct Key<'k, 'l> {
    pub(super) labels: &'k Labels<'l>,
    pub(super) hash: u64,
    /// The hash with the top bit set: never 0, so 0 marks an empty slot.
    pub(super) tag: u64,
    pub(super) len: usize,
    words: [u64; Key::WORDS],
}

impl<'k, 'l> Key<'k, 'l> {
    /// The slot's words and one more (where the words past them go).
    const WORDS: usize = INLINE_KEY + 1;

    /// The key of `labels`, not yet computed. Built in place by the caller, then
    /// [`compute`](Self::compute)d (a constructor returning it computed would copy the buffer).
    #[inline(always)]
    pub(super) fn new(labels: &'k Labels<'l>) -> Self {
        Key {
            labels,
            hash: 0,
            tag: 0,
            len: 0,
            words: [0; Key::WORDS],
        }
    }

    /// Reads the label values into the buffer and hashes them.
    #[inline(always)]
    pub(super) fn compute(&mut self) {
        let mut h = 0;
        let mut len = 0;
        let words = &mut self.words;
        stream(self.labels, |w| {
            h = mix(h, w);
            // Past the buffer's end the words overwrite its last one (unused then: the
            // series compares such keys).
            words[len.min(Key::WORDS - 1)] = w;
            len += 1;
            true
        });
        h ^= h >> 32;
        h = h.wrapping_mul(K);
        self.hash = h ^ (h >> 29);
        self.tag = self.hash | 1 << 63;
        self.len = len;
    }
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// One word into the hash. The multiply reads only the word, so the multiplies of successive
/// words run in parallel and the chain through `h` is a rotate and a xor per word (a hash
/// latency-bound on `(h ^ w) * K` would cost five cycles a word); the final avalanche in
/// [`Key::compute`] mixes the high bits down.
#[inline(always)]
fn mix(h: u64, word: u64) -> u64 {
    h.rotate_left(23) ^ word.wrapping_mul(K)
}

#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes)
}

/// Up to seven bytes as one word: two overlapping four-byte reads, or three single bytes
/// (exact for a known length: together they cover every byte).
#[inline(always)]
fn short(b: &[u8]) -> u64 {
    let four = |c: Option<&[u8; 4]>| c.map_or(0, |c| u64::from(u32::from_le_bytes(*c)));
    if b.len() >= 4 {
        four(b.first_chunk::<4>()) << 32 | four(b.last_chunk::<4>())
    } else {
        let at = |i: usize| b.get(i).map_or(0, |&c| u64::from(c));
        at(0) << 16 | at(b.len() / 2) << 8 | at(b.len().wrapping_sub(1))
    }
}

/// Label value escaping of the text format: backslash, double quote, line feed.
pub(super) fn escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
