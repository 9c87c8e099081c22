//! Randomness for per-call draws, and the stable hash that places sticky keys.
//!
//! No `rand` dependency: per-call draws need a few nanoseconds and no cryptographic strength,
//! and the sticky hash must never change with a dependency's version.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The golden-ratio increment of SplitMix64.
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function (Steele, Lea and Flood, 2014): a bijective 64-bit mixer.
pub(super) fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A wyrand generator (Wang Yi's wyhash PRNG): one 64-bit state, one 128-bit multiply per draw.
///
/// Every service instance owns one, seeded by [`thread_seed`] (or, for a split with a fixed
/// seed, from its [`Seeder`]), so instances (clones included) draw independently and no draw
/// touches shared memory.
#[derive(Debug)]
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    #[inline]
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        // Folding the 128-bit product: truncation is the point.
        #[allow(clippy::cast_possible_truncation)]
        let folded = (t >> 64) as u64 ^ t as u64;
        folded
    }
}

thread_local! {
    /// This thread's SplitMix64 stream of seeds: std's randomly keyed hasher (its keys differ
    /// between threads and processes) gives the start.
    static SEEDS: Cell<u64> = Cell::new(RandomState::new().build_hasher().finish());
}

/// A seed for a new generator from this thread's stream: no shared memory is touched, so
/// cloning a service (as a router does for every request) costs no atomic operation for its
/// generator. Successive seeds are successive SplitMix64 outputs, so every instance draws its
/// own stream. `None` while the thread's locals are being destroyed.
#[inline]
pub(super) fn thread_seed() -> Option<u64> {
    SEEDS
        .try_with(|state| {
            let next = state.get().wrapping_add(GOLDEN);
            state.set(next);
            splitmix(next)
        })
        .ok()
}

/// A shared SplitMix64 stream: seeds for new instances, and the draws of [`pick`], which has
/// only `&self`. Lock-free: one `fetch_add` per seed or draw.
///
/// [`pick`]: super::CanarySplit::pick
#[derive(Debug)]
pub(super) struct Seeder(AtomicU64);

impl Seeder {
    /// A fixed stream, for reproducible tests.
    pub(super) fn seeded(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }

    /// A stream that differs on every call: std's randomly keyed hasher, plus a process-wide
    /// counter so two splits built at the same moment on one thread differ too.
    pub(super) fn random() -> Self {
        static SPLITS: AtomicU64 = AtomicU64::new(0);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(SPLITS.fetch_add(1, Ordering::Relaxed));
        Self(AtomicU64::new(hasher.finish()))
    }

    /// The next value of the stream.
    pub(super) fn next_u64(&self) -> u64 {
        splitmix(
            self.0
                .fetch_add(GOLDEN, Ordering::Relaxed)
                .wrapping_add(GOLDEN),
        )
    }

    /// A generator with a fresh seed from the stream.
    pub(super) fn rng(&self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// The stable hash that places a sticky key: FNV-1a 64 over the key's bytes, then SplitMix64's
/// output function as a finaliser (FNV alone mixes its last bytes poorly into the high bits,
/// which decide the arm).
///
/// It is part of the crate's contract: the same bytes give the same value on every machine,
/// in every run and in every version, so every replica of a fleet sends a key to the same arm.
/// A change is a breaking change.
///
/// ```
/// use tower_gateway::canary::stable_hash;
///
/// assert_eq!(stable_hash(b"user-42"), stable_hash(b"user-42"));
/// assert_eq!(stable_hash(b""), 0xf52a_15e9_a9b5_e89b);
/// ```
#[must_use]
pub fn stable_hash(key: &[u8]) -> u64 {
    splitmix(fnv1a64(key))
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo).
pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
