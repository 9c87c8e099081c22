//! One series: its labels (owned, compared without a call to `memcmp`), its counters (on
//! cache lines of its own) and the hash that places it in the table.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::registry::{Labels, Refusal};

/// Eight counters on one cache line of their own: two series never share a line, so cores
/// recording different series never invalidate each other's lines (no false sharing).
#[repr(align(64))]
#[derive(Default)]
pub(super) struct Line([AtomicU64; 8]);

/// Where the counters of a series live, as word offsets in its lines. The first line holds
/// both `_sum`s, the aborted counter and the first two bucket pairs, so a fast request (both
/// durations in the first buckets) touches one line; the pairs interleave the two histograms,
/// so a request whose headers and last byte fall in the same or neighbouring buckets touches
/// one or two lines.
pub(super) const SUM_HEADERS: usize = 0;
pub(super) const SUM_LAST_BYTE: usize = 1;
pub(super) const ABORTED: usize = 2;
const FIRST_PAIR: usize = 4;

pub(super) const fn headers_bucket(i: usize) -> usize {
    FIRST_PAIR + 2 * i
}

pub(super) const fn last_byte_bucket(i: usize) -> usize {
    FIRST_PAIR + 2 * i + 1
}

/// One series. What the lookup reads sits in the slot (the hash, status and refusal) and in
/// one allocation, `block`: the label values as words (compared word by word, the same words
/// the hash is made of), then the counters right after them, so a request touches the slot's
/// line and two neighbouring lines of the block. The rest (label strings, the text for the
/// exposition, facade handles) is behind `meta`, read when rendering.
pub(super) struct Series {
    hash: u64,
    pub(super) status: u16,
    pub(super) refusal: Option<Refusal>,
    /// Key words, then the counters from line `first` on.
    block: Box<[Line]>,
    key_words: usize,
    first: usize,
    meta: Box<Meta>,
}

/// The labels of a series as text, for the exposition and the report.
pub(super) struct Meta {
    pub(super) canary: bool,
    pub(super) method: &'static str,
    pub(super) route: Option<Box<str>>,
    pub(super) arm: Option<Box<str>>,
    /// `route="…",method="…",status="…",arm="…",refusal="…"`, escaped, written once.
    pub(super) text: Box<str>,
    /// Handles registered with the `metrics` facade when the series was created.
    #[cfg(feature = "metrics-facade")]
    pub(super) facade: Option<super::facade::SeriesHandles>,
}

impl std::ops::Deref for Series {
    type Target = Meta;

    fn deref(&self) -> &Meta {
        &self.meta
    }
}

impl Series {
    /// A series for `labels` (whose [`hash`] is `hash`) with room for `buckets` buckets per
    /// histogram (`+Inf` included); `unmatched` is the route label of unmatched requests.
    pub(super) fn new(
        labels: &Labels<'_>,
        hash: u64,
        buckets: usize,
        unmatched: &str,
        #[cfg(feature = "metrics-facade")] facade: Option<super::facade::SeriesHandles>,
    ) -> Self {
        let mut key = Vec::new();
        words(labels, |w| {
            key.push(w);
            true
        });
        let first = key.len().div_ceil(8);
        let counters = FIRST_PAIR + 2 * buckets;
        let block: Box<[Line]> = (0..first + counters.div_ceil(8))
            .map(|_| Line::default())
            .collect();
        for (cell, w) in block.iter().flat_map(|line| &line.0).zip(&key) {
            cell.store(*w, Relaxed);
        }
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
            hash,
            status: labels.status,
            refusal: labels.refusal,
            block,
            key_words: key.len(),
            first,
            meta: Box::new(Meta {
                canary: labels.canary,
                method: labels.method,
                route: labels.route.map(Box::from),
                arm: labels.arm.map(Box::from),
                text: text.into_boxed_str(),
                #[cfg(feature = "metrics-facade")]
                facade,
            }),
        }
    }

    /// Whether this series is the one for `key`: the hash, then the status and refusal,
    /// then the label values word by word.
    #[inline]
    pub(super) fn is(&self, key: &Key<'_, '_>) -> bool {
        if self.hash != key.hash
            || self.status != key.labels.status
            || self.refusal != key.labels.refusal
            || self.key_words != key.len
        {
            return false;
        }
        match key.words.get(..key.len) {
            // Without an early exit: the words differ only on a hash collision.
            Some(words) => {
                let mut diff = 0;
                for (line, words) in self.block.iter().zip(words.chunks(8)) {
                    for (stored, w) in line.0.iter().zip(words) {
                        diff |= stored.load(Relaxed) ^ w;
                    }
                }
                diff == 0
            }
            None => self.is_long(key.labels),
        }
    }

    /// [`is`](Self::is) for label values too long for [`Key`]'s buffer: word by word as they
    /// are read.
    #[cold]
    fn is_long(&self, labels: &Labels<'_>) -> bool {
        let mut stored = self.block.iter().flat_map(|line| &line.0);
        words(labels, |w| {
            stored.next().is_some_and(|s| s.load(Relaxed) == w)
        })
    }

    #[inline]
    pub(super) fn add(&self, word: usize, n: u64) {
        if let Some(line) = self.block.get(self.first + word / 8) {
            line.0[word % 8].fetch_add(n, Relaxed);
        }
    }

    pub(super) fn get(&self, word: usize) -> u64 {
        self.block
            .get(self.first + word / 8)
            .map_or(0, |line| line.0[word % 8].load(Relaxed))
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

/// The label values as a stream of words, handed to `f` until it returns `false`: for the
/// route, the arm and the method, a length word (with a presence bit) and the bytes eight at
/// a time (the last word overlapping the one before; a short value in one word). Two label
/// sets give the same stream exactly when their values are equal.
#[inline(always)]
fn words(labels: &Labels<'_>, mut f: impl FnMut(u64) -> bool) -> bool {
    value_words(labels.route, &mut f)
        && value_words(labels.arm, &mut f)
        && value_words(Some(labels.method), &mut f)
}

#[inline(always)]
fn value_words(value: Option<&str>, f: &mut impl FnMut(u64) -> bool) -> bool {
    let Some(value) = value else {
        return f(0);
    };
    let b = value.as_bytes();
    if !f(b.len() as u64 | 1 << 63) {
        return false;
    }
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

/// The words of a label set kept for the lookup (up to [`Key::WORDS`]) and its hash: the
/// words (see [`words`]), the status and the refusal, then a final avalanche.
pub(super) struct Key<'k, 'l> {
    pub(super) labels: &'k Labels<'l>,
    pub(super) hash: u64,
    len: usize,
    words: [u64; Key::WORDS],
}

impl<'k, 'l> Key<'k, 'l> {
    /// Label values of up to about 100 bytes in all are compared from this buffer; longer
    /// ones are read again.
    const WORDS: usize = 16;

    /// The key of `labels`. Built in place by the caller (`Key::new(labels).compute()` would
    /// copy the buffer).
    #[inline(always)]
    pub(super) fn new(labels: &'k Labels<'l>) -> Self {
        Key {
            labels,
            hash: 0,
            len: 0,
            words: [0; Key::WORDS],
        }
    }

    /// Reads the label values into the buffer and hashes them.
    #[inline(always)]
    pub(super) fn compute(&mut self) {
        let labels = self.labels;
        let mut h = 0;
        self.value(&mut h, labels.route);
        self.value(&mut h, labels.arm);
        self.value(&mut h, Some(labels.method));
        h = mix(
            h,
            u64::from(labels.status) | u64::from(labels.refusal.map_or(0, |r| r as u8 + 1)) << 16,
        );
        h ^= h >> 32;
        h = h.wrapping_mul(K);
        self.hash = h ^ (h >> 29);
    }

    /// The words of one value, as [`words`] gives them.
    #[inline(always)]
    fn value(&mut self, h: &mut u64, value: Option<&str>) {
        let Some(value) = value else {
            self.push(h, 0);
            return;
        };
        let b = value.as_bytes();
        self.push(h, b.len() as u64 | 1 << 63);
        let mut chunks = b.chunks_exact(8);
        for chunk in &mut chunks {
            self.push(h, word(chunk));
        }
        if !chunks.remainder().is_empty() {
            let last = b
                .last_chunk::<8>()
                .map_or_else(|| short(b), |c| u64::from_le_bytes(*c));
            self.push(h, last);
        }
    }

    #[inline(always)]
    fn push(&mut self, h: &mut u64, w: u64) {
        *h = mix(*h, w);
        // Past the buffer's end the words wrap around (unused: `is` reads the values again).
        self.words[self.len % Key::WORDS] = w;
        self.len += 1;
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
