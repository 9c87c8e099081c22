//! The series table's pieces: a [`Slot`] (one 128-byte pair of cache lines holding what a
//! request reads and writes once it has found its series), the [`Series`] behind it (label
//! strings, the full key, the counters of slower buckets, facade handles), and the [`Key`] a
//! lookup computes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::labels::{Labels, Refusal};

/// Key words kept in the slot: label sets of up to ten words (a header word, then for example
/// a route of up to 64 bytes and an arm of up to 8 with a standard method) are compared
/// without leaving the slot.
pub(super) const INLINE_KEY: usize = 10;

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

/// What a request touches after the probe: one 128-byte aligned pair of cache lines (the
/// adjacent-line prefetcher loads both), its own, so no two series share a line (no false
/// sharing): the first key words, the hot counters. Slots are dense, in the order the series
/// were created.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct Slot {
    /// Written before the slot's index entry is published (release), read after it is
    /// loaded (acquire).
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
        stream(labels, &mut words);
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
        let mut same = Same {
            stored: self.key.iter(),
            same: self.key.len() == key.len,
        };
        stream(key.labels, &mut same);
        same.same
    }
}

impl Slot {
    /// Writes `key`'s first words in this (new) slot, before its index entry is published.
    pub(super) fn fill(&self, key: &Key<'_, '_>) {
        for (cell, w) in self.key.iter().zip(key.words.iter().take(key.len)) {
            cell.store(*w, Relaxed);
        }
    }

    /// Whether this slot holds `key`: `Some(true)` or `Some(false)` when the inline words
    /// decide it, `None` when the key is longer than they are (then the series decides).
    #[inline(always)]
    pub(super) fn holds(&self, key: &Key<'_, '_>) -> Option<bool> {
        // All the inline words, without an early exit (they differ only when the index
        // entry's 13 hash bits collide): past a key's end both the slot and the buffer hold
        // zeros.
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

/// Where the words of a label set go: a [`Key`] (hashed, the first ones kept), a series'
/// stored key, or a comparison with one.
pub(super) trait Sink {
    fn word(&mut self, w: u64);
}

impl Sink for Vec<u64> {
    fn word(&mut self, w: u64) {
        self.push(w);
    }
}

/// Compares a stream with a stored one, word by word.
struct Same<'a> {
    stored: std::slice::Iter<'a, u64>,
    same: bool,
}

impl Sink for Same<'_> {
    fn word(&mut self, w: u64) {
        self.same &= self.stored.next() == Some(&w);
    }
}

/// The standard methods' codes (0: any other method, whose bytes then follow in the stream).
#[inline(always)]
fn method_code(method: &str) -> u64 {
    match method {
        "GET" => 1,
        "HEAD" => 2,
        "POST" => 3,
        "PUT" => 4,
        "DELETE" => 5,
        "CONNECT" => 6,
        "OPTIONS" => 7,
        "TRACE" => 8,
        "PATCH" => 9,
        _ => 0,
    }
}

/// The route's and the arm's lengths (plus one: 0 is `None`) in the header word.
const LENGTH_BITS: u32 = 18;

/// The longest route and arm of the short form (see [`stream`]).
const SHORT_ROUTE: usize = 8 * (INLINE_KEY - 2);
const SHORT_ARM: usize = 8;

/// The label set as a stream of words; two label sets give the same stream exactly when they
/// are equal, and no stream is the start of another (`canary` is not a label: it is read
/// when a series is created).
///
/// One header word: the status (16 bits), the refusal (3), the method's code (4, see
/// [`method_code`]), a flag for the long form (1), then in the short form the route's and
/// the arm's lengths plus one (0: absent), 18 bits each. A value is written as little-endian
/// words, its last word padded with zeros.
///
/// - The short form (a route of up to [`SHORT_ROUTE`] bytes, an arm of up to eight, a method
///   with a code): exactly [`INLINE_KEY`] words, the header, the route in the next
///   `INLINE_KEY - 2` words (zeros past its end), the arm in the last one. A lookup fills
///   them without a branch per word, and they all fit the slot.
/// - The long form: the header, the three lengths (route and arm plus one, method), then the
///   route's words, the arm's, and for a method without a code, the method's.
///
/// The header gives the form and every length, so it decides how many words follow.
#[inline(always)]
fn stream(labels: &Labels<'_>, sink: &mut impl Sink) {
    let (header, short) = header(labels);
    let route = labels.route.map_or(&[][..], str::as_bytes);
    let arm = labels.arm.map_or(&[][..], str::as_bytes);
    if short {
        let mut words = [0; INLINE_KEY];
        fill_short(&mut words, header, route, arm);
        for w in words {
            sink.word(w);
        }
        return;
    }
    let method = if header >> 19 & 0xf == 0 {
        labels.method.as_bytes()
    } else {
        &[][..]
    };
    sink.word(header);
    sink.word(labels.route.map_or(0, |r| r.len() as u64 + 1));
    sink.word(labels.arm.map_or(0, |a| a.len() as u64 + 1));
    sink.word(method.len() as u64);
    for b in [route, arm, method] {
        let mut chunks = b.chunks_exact(8);
        for chunk in &mut chunks {
            sink.word(word(chunk));
        }
        if !chunks.remainder().is_empty() {
            sink.word(padded(chunks.remainder()));
        }
    }
}

/// The header word of `labels`, and whether they take the short form.
#[inline(always)]
fn header(labels: &Labels<'_>) -> (u64, bool) {
    let route_len = labels.route.map_or(0, |r| r.len() as u64 + 1);
    let arm_len = labels.arm.map_or(0, |a| a.len() as u64 + 1);
    let code = method_code(labels.method);
    let short = route_len <= SHORT_ROUTE as u64 + 1 && arm_len <= SHORT_ARM as u64 + 1 && code != 0;
    let lengths = if short {
        route_len | arm_len << LENGTH_BITS
    } else {
        0
    };
    let header = u64::from(labels.status)
        | u64::from(labels.refusal.map_or(0, |r| r as u8 + 1)) << 16
        | code << 19
        | u64::from(!short) << 23
        | lengths << 24;
    (header, short)
}

/// The short form's words (the buffer holds zeros): see [`stream`].
#[inline(always)]
fn fill_short(words: &mut [u64; INLINE_KEY], header: u64, route: &[u8], arm: &[u8]) {
    let [first, middle @ .., last] = words;
    *first = header;
    let mut chunks = route.chunks_exact(8);
    let mut cells = middle.iter_mut();
    // Chunks first: a zip stops when its first iterator ends, before taking from the second.
    for (chunk, cell) in (&mut chunks).zip(&mut cells) {
        *cell = word(chunk);
    }
    if !chunks.remainder().is_empty() {
        if let Some(cell) = cells.next() {
            *cell = padded_tail(route);
        }
    }
    *last = padded(arm);
}

/// What a lookup computes once: the first words of a label set (as many as a slot keeps),
/// their count, and the hash of them all.
pub(super) struct Key<'k, 'l> {
    pub(super) labels: &'k Labels<'l>,
    pub(super) hash: u64,
    /// The hash's top 13 bits, the highest of them set (so never 0), in an index entry's
    /// tag bits (see the registry).
    pub(super) tag: u32,
    pub(super) len: usize,
    words: [u64; INLINE_KEY],
}

/// The long form's words into a key: hashed, the first ones kept.
struct Long<'a> {
    words: &'a mut [u64; INLINE_KEY],
    hash: u64,
    len: usize,
}

impl Sink for Long<'_> {
    #[inline(always)]
    fn word(&mut self, w: u64) {
        self.hash ^= term(self.len, w);
        // Past the buffer's end the words are only hashed (the series compares such keys).
        if let Some(cell) = self.words.get_mut(self.len) {
            *cell = w;
        }
        self.len += 1;
    }
}

impl<'k, 'l> Key<'k, 'l> {
    /// The key of `labels`, not yet computed. Built in place by the caller, then
    /// [`compute`](Self::compute)d (a constructor returning it computed would copy the buffer).
    #[inline(always)]
    pub(super) fn new(labels: &'k Labels<'l>) -> Self {
        Key {
            labels,
            hash: 0,
            tag: 0,
            len: 0,
            words: [0; INLINE_KEY],
        }
    }

    /// Reads the label values into the buffer and hashes them: in the short form (the usual
    /// one) a fixed number of words, filled and hashed without a branch per word.
    #[inline(always)]
    pub(super) fn compute(&mut self) {
        let labels = self.labels;
        let (header, short) = header(labels);
        let mut h = if short {
            fill_short(
                &mut self.words,
                header,
                labels.route.map_or(&[][..], str::as_bytes),
                labels.arm.map_or(&[][..], str::as_bytes),
            );
            // Independent terms: the multiplies run in parallel and the xors form a tree, so
            // the hash is ready a few cycles after the last word (a chain through `h` would
            // add two cycles a word to every lookup's latency).
            const _: () = assert!(INLINE_KEY == 10, "the tree below takes ten words");
            let t = |i: usize| self.words.get(i).map_or(0, |&w| term(i, w));
            let [a, b, c, d, e] = [0, 2, 4, 6, 8].map(|i| t(i) ^ t(i + 1));
            self.len = INLINE_KEY;
            (a ^ b) ^ (c ^ d) ^ e
        } else {
            let mut long = Long {
                words: &mut self.words,
                hash: 0,
                len: 0,
            };
            stream(labels, &mut long);
            self.len = long.len;
            long.hash
        };
        h ^= h >> 32;
        h = h.wrapping_mul(K);
        self.hash = h ^ (h >> 29);
        // The index takes the low bits of the hash, the tag the high ones.
        self.tag = ((self.hash >> 32) as u32 | 1 << 31) & super::registry::TAG;
    }

    /// The words of the label set, as far as the key keeps them.
    #[cfg(test)]
    pub(super) fn words(&self) -> &[u64] {
        self.words.get(..self.len).unwrap_or(&self.words)
    }
}

/// The label set's words (every one), for tests.
#[cfg(test)]
pub(super) fn words(labels: &Labels<'_>) -> Vec<u64> {
    let mut words = Vec::new();
    stream(labels, &mut words);
    words
}

/// The hash of a label set's words, for tests: the one [`Key::compute`] computes.
#[cfg(test)]
pub(super) fn hash_of(words: &[u64]) -> u64 {
    let mut h = words
        .iter()
        .enumerate()
        .fold(0, |h, (i, &w)| h ^ term(i, w));
    h ^= h >> 32;
    h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hash's term of word `i`: the hash is the xor of every word's term, then an
/// avalanche (in [`Key::compute`]) that mixes the high bits down. Each term reads only its
/// word, so they are computed in parallel; the rotation by position tells apart the same
/// word at different places. (The label values are bounded by construction, route templates
/// and arm names from the configuration, so the hash need only spread them, not resist
/// crafted collisions.)
#[inline(always)]
fn term(i: usize, word: u64) -> u64 {
    // `rotate_left` takes the count modulo 64.
    word.wrapping_mul(K)
        .rotate_left((i as u32).wrapping_mul(23))
}

#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes)
}

/// Up to eight bytes as a little-endian word, zeros past them: one read of eight, two
/// overlapping reads of four, or three single bytes (together they cover every byte).
#[inline(always)]
fn padded(b: &[u8]) -> u64 {
    let four = |c: Option<&[u8; 4]>| c.map_or(0, |c| u64::from(u32::from_le_bytes(*c)));
    let n = b.len();
    if let Some(eight) = b.first_chunk::<8>() {
        u64::from_le_bytes(*eight)
    } else if n >= 4 {
        four(b.first_chunk::<4>()) | four(b.last_chunk::<4>()) << ((n - 4) * 8)
    } else {
        let at = |i: usize| b.get(i).map_or(0, |&c| u64::from(c));
        at(0) | at(n / 2) << (n / 2 * 8) | at(n.wrapping_sub(1)) << (n.wrapping_sub(1) % 8 * 8)
    }
}

/// The bytes of `b` past its last whole word, as a padded word: read as the eight bytes
/// ending at its end (it has at least eight), shifted down.
#[inline(always)]
fn padded_tail(b: &[u8]) -> u64 {
    let rest = b.len() % 8;
    match b.last_chunk::<8>() {
        Some(last) if rest != 0 => u64::from_le_bytes(*last) >> ((8 - rest) * 8),
        _ => padded(b.get(b.len() - rest..).unwrap_or_default()),
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
