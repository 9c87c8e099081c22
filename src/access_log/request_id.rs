//! [`RequestId`]: the id of one request, kept from `x-request-id` or generated; the policy
//! [`RequestIds`]; a lock-free generator of UUID v4-shaped ids.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::HeaderValue;

/// The longest incoming request id kept, in bytes.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request: put in the request extensions (for handlers) and on the response
/// (`x-request-id` by default) by the access log, and written in its record.
///
/// Cloning is cheap (a reference-count bump at most).
///
/// ```
/// use http::HeaderValue;
/// use tower_gateway::access_log::RequestId;
///
/// let kept = RequestId::from_header(&HeaderValue::from_static("req-7f3a")).unwrap();
/// assert_eq!(kept.as_str(), "req-7f3a");
/// assert!(RequestId::from_header(&HeaderValue::from_static("has space")).is_none());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId {
    value: HeaderValue,
}

impl RequestId {
    /// Keeps an incoming id when it is 1 to [`MAX_REQUEST_ID_LEN`] bytes of ASCII letters,
    /// digits and `-_.:+/=`; anything else (spaces, quotes, control or non-ASCII bytes, a very
    /// long value) gives `None`, and the access log generates a fresh id instead.
    #[must_use]
    pub fn from_header(value: &HeaderValue) -> Option<Self> {
        let bytes = value.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(&b));
        ok.then(|| Self {
            value: value.clone(),
        })
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ever built from checked ASCII.
        self.value.to_str().unwrap_or_default()
    }

    /// The id as a header value.
    #[must_use]
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }

    /// The id as a header value, without a reference-count bump.
    pub(super) fn into_header_value(self) -> HeaderValue {
        self.value
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the access log does with request ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestIds {
    /// Keep a valid incoming id (see [`RequestId::from_header`]), otherwise generate one; put it
    /// in the request extensions and on the response. The default.
    #[default]
    KeepOrGenerate,
    /// Always generate a fresh id, ignoring any incoming one (for a gateway facing clients that
    /// must not choose ids); put it in the request extensions and on the response.
    Generate,
    /// Neither generate nor propagate: the record shows a valid incoming id, or `-`.
    Off,
}

/// A lock-free generator of random, UUID v4-shaped ids: SplitMix64 over an atomic counter,
/// seeded from the standard library's per-process random hash keys (or a fixed seed in tests).
/// Not cryptographic: request ids are for correlation, not for secrets.
pub(super) struct IdGenerator {
    state: AtomicU64,
    key: u64,
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 16 lowercase hex digits of `x`, most significant first, computed eight at a time in
/// a word (a table lookup per digit costs about three times as much).
fn hex16(x: u64) -> [u8; 16] {
    /// The eight nibbles of `v`, one per byte, most significant in the highest byte.
    fn spread(v: u32) -> u64 {
        let x = u64::from(v);
        let x = ((x & 0xFFFF_0000) << 16) | (x & 0xFFFF);
        let x = ((x & 0x0000_FF00_0000_FF00) << 8) | (x & 0x0000_00FF_0000_00FF);
        ((x & 0x00F0_00F0_00F0_00F0) << 4) | (x & 0x000F_000F_000F_000F)
    }
    /// Nibble bytes to ASCII: `0`-`9` from `0x30`, and 39 more for `a`-`f`.
    fn ascii(n: u64) -> [u8; 8] {
        let letters = ((n + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
        (n + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
    }
    let mut out = [0u8; 16];
    let (high, low) = out.split_at_mut(8);
    high.copy_from_slice(&ascii(spread((x >> 32) as u32)));
    low.copy_from_slice(&ascii(spread(x as u32)));
    out
}

/// How many ids one allocation holds: a thread generates this many at once, in one shared
/// buffer, and hands out slices of it (a reference-count bump each). A kept id keeps its
/// whole block alive (576 bytes).
const BLOCK: usize = 16;

/// The length of one id.
const ID_LEN: usize = 36;

/// How many generators (access-log layers) each thread keeps a block for.
const SLOTS: usize = 4;

/// Distinguishes generators in the per-thread blocks (an address could be reused).
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

/// The ids a thread has generated but not handed out yet, for one generator.
struct Block {
    key: u64,
    text: Bytes,
    next: usize,
}

thread_local! {
    static BLOCKS: RefCell<[Option<Block>; SLOTS]> = const { RefCell::new([None, None, None, None]) };
}

impl IdGenerator {
    pub(super) fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| RandomState::new().hash_one(0x5EED_u64));
        Self {
            state: AtomicU64::new(seed),
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Reserves `n` draws of the generator with one atomic step; draw `k` (from 0) of the
    /// reservation is `mix(base + (k + 1) * GAMMA)`, the sequence one draw at a time gives.
    fn reserve(&self, n: u64) -> u64 {
        self.state
            .fetch_add(GAMMA.wrapping_mul(n), Ordering::Relaxed)
    }

    /// Writes the id made of draws `k` and `k + 1` of a reservation from `base` into `out`:
    /// 32 lowercase hex digits in the 8-4-4-4-12 UUID layout, version 4, variant 1.
    fn write_id(base: u64, k: u64, out: &mut [u8; ID_LEN]) {
        let draw = |k: u64| mix(base.wrapping_add(GAMMA.wrapping_mul(k + 1)));
        let (hi, lo) = (draw(k), draw(k + 1));
        let bits = ((u128::from(hi) << 64) | u128::from(lo)) & !(0xF << 76) & !(0x3 << 62)
            | (0x4 << 76)
            | (0x2 << 62);
        let (hi, lo) = (hex16((bits >> 64) as u64), hex16(bits as u64));
        let mut id = [b'-'; ID_LEN];
        id[..8].copy_from_slice(&hi[..8]);
        id[9..13].copy_from_slice(&hi[8..12]);
        id[14..18].copy_from_slice(&hi[12..]);
        id[19..23].copy_from_slice(&lo[..4]);
        id[24..].copy_from_slice(&lo[4..]);
        *out = id;
    }

    fn fill(&self) -> Block {
        let base = self.reserve(2 * BLOCK as u64);
        let mut text = [0u8; BLOCK * ID_LEN];
        for (k, id) in (0u64..).step_by(2).zip(text.chunks_exact_mut(ID_LEN)) {
            if let Ok(id) = <&mut [u8; ID_LEN]>::try_from(id) {
                Self::write_id(base, k, id);
            }
        }
        Block {
            key: self.key,
            text: Bytes::from_owner(text),
            next: 0,
        }
    }

    /// The next id of this thread's block for this generator, filling a new block when it
    /// is used up; `None` when the thread's blocks are unavailable (thread exit, reentrancy).
    fn take_from_block(&self) -> Option<Bytes> {
        BLOCKS
            .try_with(|blocks| {
                let mut blocks = blocks.try_borrow_mut().ok()?;
                let slot = match blocks
                    .iter()
                    .position(|b| b.as_ref().is_some_and(|b| b.key == self.key))
                {
                    Some(slot) => slot,
                    None => {
                        // Evict the least recently added generator's block.
                        blocks.rotate_right(1);
                        0
                    }
                };
                let block = blocks.get_mut(slot)?;
                if block
                    .as_ref()
                    .map_or(true, |b| b.key != self.key || b.next >= BLOCK)
                {
                    *block = Some(self.fill());
                }
                let block = block.as_mut()?;
                let at = block.next * ID_LEN;
                block.next += 1;
                Some(block.text.slice(at..at + ID_LEN))
            })
            .ok()
            .flatten()
    }

    /// A fresh id: 32 lowercase hex digits in the 8-4-4-4-12 UUID layout, version 4, variant 1.
    pub(super) fn generate(&self) -> RequestId {
        // Clones (request extension, response header, record) only bump the block's
        // reference count; one allocation serves `BLOCK` requests.
        let text = self.take_from_block().unwrap_or_else(|| {
            let mut text = [0u8; ID_LEN];
            Self::write_id(self.reserve(2), 0, &mut text);
            Bytes::from_owner(text)
        });
        RequestId {
            value: HeaderValue::from_maybe_shared(text).unwrap_or(HeaderValue::from_static("-")),
        }
    }
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdGenerator")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex16_agrees_with_formatting() {
        let mut x = 0x0123_4567_89ab_cdef_u64;
        for _ in 0..10_000 {
            assert_eq!(hex16(x), *format!("{x:016x}").as_bytes());
            x = mix(x.wrapping_add(GAMMA));
        }
        for x in [0, u64::MAX, 0xa0a0_a0a0_a0a0_a0a0, 0x0909_0909_0909_0909] {
            assert_eq!(hex16(x), *format!("{x:016x}").as_bytes());
        }
    }
}
