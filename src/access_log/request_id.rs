//! [`RequestId`]: the id of one request, kept from `x-request-id` or generated; the policy
//! [`RequestIds`]; a lock-free generator of UUID v4-shaped ids.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Where the two hex digits of each of the 16 id bytes go in the 8-4-4-4-12 layout.
const DIGIT_AT: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

impl IdGenerator {
    pub(super) fn new(seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| RandomState::new().hash_one(0x5EED_u64));
        Self {
            state: AtomicU64::new(seed),
        }
    }

    fn next_u64(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh id: 32 lowercase hex digits in the 8-4-4-4-12 UUID layout, version 4, variant 1.
    pub(super) fn generate(&self) -> RequestId {
        let hi = self.next_u64();
        let lo = self.next_u64();
        let bits = ((u128::from(hi) << 64) | u128::from(lo)) & !(0xF << 76) & !(0x3 << 62)
            | (0x4 << 76)
            | (0x2 << 62);
        let mut text = [b'-'; 36];
        // Two hex digits per byte, most significant first; the dashes stay where they are.
        for (&at, byte) in DIGIT_AT.iter().zip(bits.to_be_bytes()) {
            if let Some([hi, lo]) = text.get_mut(at..at + 2) {
                *hi = HEX_LOWER[usize::from(byte >> 4)];
                *lo = HEX_LOWER[usize::from(byte & 0xf)];
            }
        }
        // One allocation holding the text; clones (request extension, response header,
        // record) only bump its reference count.
        let shared = bytes::Bytes::from_owner(text);
        RequestId {
            value: HeaderValue::from_maybe_shared(shared).unwrap_or(HeaderValue::from_static("-")),
        }
    }
}

impl fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdGenerator")
    }
}
