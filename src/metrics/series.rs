//! The series table's pieces: a [`Slot`] (one 64-byte cache line holding what a request reads
//! and writes once it has found its series), the [`Series`] behind it (label strings, the full
//! key, the counters of slower requests, facade handles), and the [`Key`] a lookup computes.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::labels::{Labels, Refusal};
use crate::util::words::{padded, padded_tail, word};

/// Key words kept in the slot: label sets of up to five words (a route and an arm of up to 36
/// bytes together, the arm of up to 8, with a standard method) are compared without leaving
/// the slot.
pub(super) const INLINE_KEY: usize = 5;

/// Key words kept in a slot's tail line (see [`Tail`]), after the inline ones: longer label
/// sets of up to [`KEY_WORDS`] words (the medium form of [`stream`]: a route and an arm of up
/// to 96 bytes together, every route template of GitHub's API and 99% of GitLab's with a
/// six-byte arm) are compared without reaching for the series.
pub(super) const TAIL_KEY: usize = 8;
pub(super) const KEY_WORDS: usize = INLINE_KEY + TAIL_KEY;

/// Counters kept in the slot: both `_sum`s (integer nanoseconds) and the requests whose two
/// durations both fall in the first bucket (up to 5 ms with the default buckets), so such a
/// request writes only the slot. Every other request adds to one bucket of each histogram in
/// the series, on cache lines of their own, and so does the (rarely written) aborted counter.
const SUM_HEADERS: usize = 0;
const SUM_LAST_BYTE: usize = 1;
const FAST: usize = 2;
const HOT: usize = 3;

/// What a request touches after the probe: one 64-byte aligned cache line, its own, so no two
/// series share a line (no false sharing): the first key words, the hot counters. Slots are
/// dense, in the order the series were created.
#[repr(align(64))]
#[derive(Default)]
pub(super) struct Slot {
    /// Written before the slot's index entry is published (release), read after it is
    /// loaded (acquire).
    key: [AtomicU64; INLINE_KEY],
    hot: [AtomicU64; HOT],
}

/// Eight counters (or key words) on one cache line of their own.
#[repr(align(64))]
#[derive(Default)]
pub(super) struct Line(pub(super) [AtomicU64; 8]);

/// A slot's tail: the key words after the inline ones, for label sets longer than
/// [`INLINE_KEY`] words. Tails live in a table of their own, in the slots' order, so a short
/// label set never brings one into the cache; a long one reads its tail at the same time as
/// its slot (both addresses come from the index entry).
pub(super) type Tail = Line;

const _: () = assert!(TAIL_KEY == 8, "a tail is one line of eight words");

/// One series, behind its slot: read when rendering, when comparing keys longer than
/// [`KEY_WORDS`] words, and when recording a request slower than the first bucket or into
/// the facade.
pub(super) struct Series {
    pub(super) status: u16,
    pub(super) refusal: Option<Refusal>,
    pub(super) canary: bool,
    pub(super) method: &'static str,
    pub(super) route: Option<Box<str>>,
    pub(super) arm: Option<Box<str>>,
    /// `route="…",method="…",status="…",arm="…",refusal="…"`, escaped, written once.
    pub(super) text: Box<str>,
    /// The bucket counters of requests not counted in the slot: bucket `i` of the
    /// time-to-headers histogram at `2 i`, of the time-to-last-byte one at `2 i + 1`.
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
            more: (0..(2 * buckets).div_ceil(8))
                .map(|_| Line::default())
                .collect(),
            aborted: AtomicU64::new(0),
            #[cfg(feature = "metrics-facade")]
            facade,
        }
    }

    /// Whether this series is the one for `key`: its labels compared (`canary` is no label).
    pub(super) fn is(&self, key: &Key<'_, '_>) -> bool {
        let l = key.labels;
        self.status == l.status
            && self.refusal == l.refusal
            && self.method == l.method
            && self.route.as_deref() == l.route
            && self.arm.as_deref() == l.arm
    }

    /// Counts one request in bucket `headers` of the time-to-headers histogram and bucket
    /// `last_byte` of the time-to-last-byte one.
    #[inline]
    pub(super) fn add(&self, headers: usize, last_byte: usize) {
        for word in [2 * headers, 2 * last_byte + 1] {
            if let Some(line) = self.more.get(word / 8) {
                line.0[word % 8].fetch_add(1, Relaxed);
            }
        }
    }
}

impl Tail {
    /// Writes `key`'s words after the inline ones in this (new) slot's tail, before its index
    /// entry is published.
    pub(super) fn fill(&self, key: &Key<'_, '_>) {
        for (cell, w) in self.0.iter().zip(&key.words[INLINE_KEY..]) {
            cell.store(*w, Relaxed);
        }
    }

    /// Whether this tail's slot, whose inline words match `key`'s, holds `key`: `Some(true)`
    /// or `Some(false)` when the tail decides it, `None` when the key is longer still (then
    /// the series decides). The inline words hold the long form's lengths, so the key and the
    /// slot's are as long, and both hold zeros past their end.
    #[inline(always)]
    pub(super) fn holds(&self, key: &Key<'_, '_>) -> Option<bool> {
        let mut diff = 0;
        for (stored, w) in self.0.iter().zip(&key.words[INLINE_KEY..]) {
            diff |= stored.load(Relaxed) ^ w;
        }
        if diff != 0 {
            Some(false)
        } else if key.len <= KEY_WORDS {
            Some(true)
        } else {
            None
        }
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
    /// decide it, `None` when the key is longer than they are (then the tail decides).
    #[inline(always)]
    pub(super) fn holds(&self, key: &Key<'_, '_>) -> Option<bool> {
        // All the inline words, without an early exit (they differ only when the index
        // entry's 13 hash bits collide).
        let mut diff = 0;
        for (stored, w) in self.key.iter().zip(&key.words[..INLINE_KEY]) {
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

    /// Adds one request's durations to the sums, and counts the request when both fall in
    /// the first bucket (`fast`; otherwise the caller counts it in the series).
    #[inline(always)]
    pub(super) fn add(&self, headers_ns: u64, last_byte_ns: u64, fast: bool) {
        self.hot[SUM_HEADERS].fetch_add(headers_ns, Relaxed);
        self.hot[SUM_LAST_BYTE].fetch_add(last_byte_ns, Relaxed);
        if fast {
            self.hot[FAST].fetch_add(1, Relaxed);
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
    /// The `_sum` of one histogram, in nanoseconds.
    pub(super) fn sum(&self, last_byte: bool) -> u64 {
        self.slot.hot[if last_byte {
            SUM_LAST_BYTE
        } else {
            SUM_HEADERS
        }]
        .load(Relaxed)
    }

    /// The counts of one histogram's buckets (not cumulative; `+Inf` last): the series'
    /// counters, plus in the first bucket the requests the slot counted.
    pub(super) fn counts(&self, buckets: usize, last_byte: bool) -> impl Iterator<Item = u64> + '_ {
        let fast = self.slot.hot[FAST].load(Relaxed);
        (0..buckets).map(move |i| {
            let word = 2 * i + usize::from(last_byte);
            let more = self
                .series
                .more
                .get(word / 8)
                .map_or(0, |line| line.0[word % 8].load(Relaxed));
            if i == 0 {
                more + fast
            } else {
                more
            }
        })
    }

    /// Requests recorded: the sum of the last-byte histogram's buckets (every recorded
    /// request lands in exactly one), so the counter and the histogram `_count` never differ.
    pub(super) fn requests(&self, buckets: usize) -> u64 {
        self.counts(buckets, true).sum()
    }
}

/// Where the words of a label set go: a [`Key`] (hashed, the first ones kept), or (in tests)
/// a vector.
pub(super) trait Sink {
    fn word(&mut self, w: u64);
}

#[cfg(test)]
impl Sink for Vec<u64> {
    fn word(&mut self, w: u64) {
        self.push(w);
    }
}

/// The standard methods' codes (0: any other method, whose bytes then follow in the stream).
#[inline(always)]
pub(super) fn method_code(method: &str) -> u64 {
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

/// The most bytes of route and arm together in the short form and in the packed forms, and
/// of the arm alone (see [`stream`]).
const SHORT_BYTES: usize = 8 * INLINE_KEY - 4;
const PACKED_WORDS: usize = KEY_WORDS - 1;
const PACKED_BYTES: usize = 8 * PACKED_WORDS;
const PACKED_ARM: usize = 8;

/// The fifth word's top bit: clear in the short form, set in the others; the next one tells
/// the medium form (set) from the long one.
const LONG: u64 = 1 << 63;
const MEDIUM: u64 = 1 << 62;

/// The forms of a label set's words (see [`stream`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Short,
    Medium,
    Long,
}

/// The label set as a stream of words; two label sets give the same stream exactly when they
/// are equal (`canary` is not a label: it is read when a series is created). A value is
/// written as little-endian bytes, zeros past its end.
///
/// - The short form (a route and an arm of up to [`SHORT_BYTES`] bytes together, the arm of
///   up to eight, a method with a code, a status below 1024): exactly [`INLINE_KEY`] words,
///   which all fit the slot. The route's bytes, the arm's right after them, zeros up to byte
///   36; in the last four bytes a header: the status (10 bits), the refusal plus one (3),
///   the method's code (4, see [`method_code`]), the route's and the arm's lengths plus one
///   (6 bits each; 0: absent), and a clear top bit.
/// - The medium form (the same, up to [`PACKED_BYTES`] bytes and any status): exactly
///   [`KEY_WORDS`] words, which fit the slot and its tail. The route's and the arm's bytes
///   (as above, up to byte 96) with a header word in the fifth place: the status (16 bits),
///   the refusal plus one (3), the method's code (4), the route's length plus one (7) and
///   the arm's (4), [`MEDIUM`] and [`LONG`] set.
/// - The long form (any other): the lengths of the route and of the arm plus one (0:
///   absent) and of the method's bytes (for a method without a code, 0 otherwise), a word
///   of data, a header word (the status, 16 bits, the refusal plus one, 3, the method's
///   code, 4, and [`LONG`] set), then the rest of the data: the route's words, the arm's and
///   the method's, each value's last word padded with zeros (a lone 0 when there is none).
///
/// A lookup fills the short and medium forms with a few branches (not one per byte or
/// word) and hashes them without a branch. The fifth word tells the forms apart, and within
/// a form the lengths (in the first five words) decide how many words follow: the first
/// five words match only when the forms and the lengths do.
#[inline(always)]
fn stream(labels: &Labels<'_>, sink: &mut impl Sink) {
    let (header, form) = header(labels);
    let route = labels.route.map_or(&[][..], str::as_bytes);
    let arm = labels.arm.map_or(&[][..], str::as_bytes);
    if form != Form::Long {
        let mut words = [0; KEY_WORDS];
        let len = fill_packed(&mut words, header, form, route, arm);
        for &w in words.iter().take(len) {
            sink.word(w);
        }
        return;
    }
    let method = if method_code(labels.method) == 0 {
        labels.method.as_bytes()
    } else {
        &[][..]
    };
    sink.word(labels.route.map_or(0, |r| r.len() as u64 + 1));
    sink.word(labels.arm.map_or(0, |a| a.len() as u64 + 1));
    sink.word(method.len() as u64);
    let mut data = Data {
        sink,
        header,
        first: true,
    };
    for b in [route, arm, method] {
        let mut chunks = b.chunks_exact(8);
        for chunk in &mut chunks {
            data.word(word(chunk));
        }
        if !chunks.remainder().is_empty() {
            data.word(padded(chunks.remainder()));
        }
    }
    if data.first {
        data.word(0);
    }
}

/// The long form's data words, the header after the first.
struct Data<'s, S> {
    sink: &'s mut S,
    header: u64,
    first: bool,
}

impl<S: Sink> Data<'_, S> {
    #[inline(always)]
    fn word(&mut self, w: u64) {
        self.sink.word(w);
        if self.first {
            self.sink.word(self.header);
            self.first = false;
        }
    }
}

/// The header of `labels` (in the short form, already in the fifth word's top four bytes),
/// and their form.
#[inline(always)]
fn header(labels: &Labels<'_>) -> (u64, Form) {
    let bytes = labels.route.map_or(0, str::len) + labels.arm.map_or(0, str::len);
    let code = method_code(labels.method);
    let refusal = u64::from(labels.refusal.map_or(0, |r| r as u8 + 1));
    let status = u64::from(labels.status);
    if code == 0 || labels.arm.map_or(0, str::len) > PACKED_ARM || bytes > PACKED_BYTES {
        return (status | refusal << 16 | code << 19 | LONG, Form::Long);
    }
    let route = labels.route.map_or(0, |r| r.len() as u64 + 1);
    let arm = labels.arm.map_or(0, |a| a.len() as u64 + 1);
    if bytes <= SHORT_BYTES && status < 1024 {
        let header = status | refusal << 10 | code << 13 | route << 17 | arm << 23;
        (header << 32, Form::Short)
    } else {
        let header = status | refusal << 16 | code << 19 | route << 23 | arm << 30;
        (header | MEDIUM | LONG, Form::Medium)
    }
}

/// The short or medium form's words in `words` (which holds zeros), and their number: see
/// [`stream`].
#[inline(always)]
fn fill_packed(
    words: &mut [u64; KEY_WORDS],
    header: u64,
    form: Form,
    route: &[u8],
    arm: &[u8],
) -> usize {
    // In the medium form the data skips the fifth word (the header's), so the route's words go
    // straight to their places: moving them afterwards would read, eight bytes at a time
    // or more, words just written, which the processor cannot forward from its store queue.
    let medium = usize::from(form != Form::Short);
    if medium == 0 {
        fill_words(words, route);
    } else {
        let (head, rest) = words.split_at_mut(INLINE_KEY - 1);
        let (first, more) = route.split_at(route.len().min(8 * (INLINE_KEY - 1)));
        fill_words(head, first);
        fill_words(rest.get_mut(1..).unwrap_or_default(), more);
    }
    // The arm right after the route: in the word the route ends in, and past it. (`a >> 1
    // >> (63 - s)` is `a >> (64 - s)`, and 0 when `s` is 0.)
    let a = padded(arm);
    let place = |at: usize| if at < INLINE_KEY - 1 { at } else { at + medium };
    let at = route.len() / 8;
    let s = (route.len() % 8 * 8) as u32;
    if let Some(cell) = words.get_mut(place(at)) {
        *cell |= a << s;
    }
    if let Some(cell) = words.get_mut(place(at + 1)) {
        *cell |= a >> 1 >> (63 - s);
    }
    if let Some(fifth) = words.get_mut(INLINE_KEY - 1) {
        *fifth |= header;
    }
    if form == Form::Short {
        INLINE_KEY
    } else {
        KEY_WORDS
    }
}

/// `bytes` as little-endian words into `cells` (as many as fit), the last one padded with
/// zeros.
#[inline(always)]
fn fill_words(cells: &mut [u64], bytes: &[u8]) {
    let mut chunks = bytes.chunks_exact(8);
    let mut cells = cells.iter_mut();
    // Chunks first: a zip stops when its first iterator ends, before taking from the second.
    for (chunk, cell) in (&mut chunks).zip(&mut cells) {
        *cell = word(chunk);
    }
    if !chunks.remainder().is_empty() {
        if let Some(cell) = cells.next() {
            *cell = padded_tail(bytes);
        }
    }
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
    words: [u64; KEY_WORDS],
}

/// The long form's words into a key: hashed, the first ones kept.
struct Long<'a> {
    words: &'a mut [u64; KEY_WORDS],
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
            words: [0; KEY_WORDS],
        }
    }

    /// Reads the label values into the buffer and hashes them: in the short form (the usual
    /// one) a fixed number of words, filled and hashed without a branch per word.
    #[inline(always)]
    pub(super) fn compute(&mut self) {
        let labels = self.labels;
        let (header, form) = header(labels);
        let mut h = if form == Form::Long {
            let mut long = Long {
                words: &mut self.words,
                hash: 0,
                len: 0,
            };
            stream(labels, &mut long);
            self.len = long.len;
            long.hash
        } else {
            self.len = fill_packed(
                &mut self.words,
                header,
                form,
                labels.route.map_or(&[][..], str::as_bytes),
                labels.arm.map_or(&[][..], str::as_bytes),
            );
            // Independent terms: the multiplies run in parallel and the xors form a tree, so
            // the hash is ready a few cycles after the last word (a chain through `h` would
            // add two cycles a word to every lookup's latency).
            const _: () = assert!(
                INLINE_KEY == 5 && KEY_WORDS == 13,
                "the trees take 5 and 13"
            );
            let t = |i: usize| self.words.get(i).map_or(0, |&w| term(i, w));
            let [a, b] = [0, 2].map(|i| t(i) ^ t(i + 1));
            let short = (a ^ b) ^ t(4);
            if form == Form::Short {
                short
            } else {
                let [c, d, e, f] = [5, 7, 9, 11].map(|i| t(i) ^ t(i + 1));
                short ^ ((c ^ d) ^ (e ^ f))
            }
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

pub(super) const K: u64 = 0x9e37_79b9_7f4a_7c15;

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
