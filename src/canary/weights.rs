//! One set of weights, prepared for the request path: where random and hashed points fall
//! ([`Live`]), and the round-robin schedule of one cycle.

use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};

use crate::error::{Problem, ProblemKind};

/// The longest round-robin cycle (after dividing the weights by their greatest common
/// divisor): one byte of schedule per call of the cycle.
pub(super) const MAX_CYCLE: u64 = 1 << 20;

/// One set of weights, as the handle reads them and as a round-robin split of more than two
/// arms follows them. Immutable once published, except for the round-robin position.
#[derive(Debug)]
pub(super) struct Snapshot {
    /// Each arm's weight, in arm order (the stable arm first).
    pub(super) weights: Box<[u32]>,
    /// One cycle of smooth weighted round-robin (empty unless the mode is round-robin over
    /// more than two arms).
    schedule: Box<[u8]>,
    /// `ceil(2^128 / schedule.len())` (0 when the length is 0 or 1), for a remainder by the
    /// cycle length with multiplications instead of a 64-bit division (Lemire, Kaser and
    /// Kurz, "Faster remainder by direct computation", 2019).
    cycle_magic: u128,
    /// The round-robin position, shared by every clone of the service.
    next: AtomicU64,
}

impl Snapshot {
    /// Prepares `weights` (stable arm first, at most 256 arms, each at most 1,000,000).
    pub(super) fn new(weights: Box<[u32]>, round_robin: bool) -> Result<Self, Problem> {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        if total == 0 {
            let listed = weights
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Problem::new(
                "canary",
                ProblemKind::Invalid,
                listed.clone(),
                format!("weights [{listed}] sum to zero; at least one arm needs a weight"),
            ));
        }
        if weights.len() > 256 {
            return Err(too_many_arms(weights.len()));
        }
        // Two arms follow their cycle in closed form ([`Live::next_of_two`]): no schedule.
        let schedule = match (round_robin, weights.len()) {
            (false, _) => Box::default(),
            (true, 2) => {
                cycle_length(&weights)?;
                Box::default()
            }
            (true, _) => smooth_round_robin(&weights)?,
        };
        let cycle_magic = match schedule.len() {
            0 | 1 => 0,
            len => u128::MAX / len as u128 + 1,
        };
        Ok(Self {
            weights,
            schedule,
            cycle_magic,
            next: AtomicU64::new(0),
        })
    }

    /// The next arm of the round-robin cycle.
    #[inline]
    pub(super) fn next_in_cycle(&self) -> usize {
        if self.schedule.len() <= 1 {
            return self.schedule.first().map_or(0, |&arm| usize::from(arm));
        }
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        let position = remainder(count, self.cycle_magic, self.schedule.len() as u64);
        usize::try_from(position)
            .ok()
            .and_then(|p| self.schedule.get(p))
            .map_or(0, |&arm| usize::from(arm))
    }
}

/// The numbers [`small_remainder`] divides: below 2^44.
pub(super) const SMALL: u64 = 1 << 44;

/// `n % d` for `n` below 2^44 and `d` at most 2^20, given `magic = ceil(2^64 / d)` (0 for
/// `d = 1`): the same computation as [`remainder`] with a 64-bit fraction, which Lemire,
/// Kaser and Kurz show exact when the bits of `n` and of `d` add up to at most 64. Two
/// multiplications.
#[inline]
pub(super) fn small_remainder(n: u64, magic: u64, d: u64) -> u64 {
    let fraction = magic.wrapping_mul(n);
    // Below `d`: truncation drops only zeros.
    #[allow(clippy::cast_possible_truncation)]
    let top = ((u128::from(fraction) * u128::from(d)) >> 64) as u64;
    top
}

/// `n % d` for `d >= 2`, given `magic = ceil(2^128 / d)`: the fractional part of `n / d`,
/// scaled to 128 bits, times `d`, keeping the integer part (Lemire, Kaser and Kurz 2019,
/// with N = 64 and F = 128). Four 64-bit multiplications instead of a division, whose
/// latency is several times longer.
#[inline]
pub(super) fn remainder(n: u64, magic: u128, d: u64) -> u64 {
    let fraction = magic.wrapping_mul(u128::from(n));
    let d = u128::from(d);
    // The top 64 bits of the 192-bit product `fraction * d`, from its two 64-bit halves;
    // neither sum overflows, and the result is below `d`.
    let (high, low) = (fraction >> 64, fraction & u128::from(u64::MAX));
    let top = (high * d + ((low * d) >> 64)) >> 64;
    // Below `d`, itself a `u64`: truncation drops only zeros.
    #[allow(clippy::cast_possible_truncation)]
    let top = top as u64;
    top
}

pub(super) fn too_many_arms(arms: usize) -> Problem {
    Problem::new(
        "canary",
        ProblemKind::OutOfRange,
        arms.to_string(),
        format!("a split has at most 256 arms, not {arms}"),
    )
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `weights` divided by their greatest common divisor, and their sum: the length of a
/// round-robin cycle, refused over [`MAX_CYCLE`].
fn cycle_length(weights: &[u32]) -> Result<(Vec<i64>, i64), Problem> {
    let divisor = weights.iter().fold(0, |g, &w| gcd(g, u64::from(w)));
    let reduced: Vec<i64> = weights
        .iter()
        .map(|&w| i64::from(w) / i64::try_from(divisor).unwrap_or(1))
        .collect();
    let cycle: i64 = reduced.iter().sum();
    if u64::try_from(cycle).map_or(true, |c| c > MAX_CYCLE) {
        return Err(Problem::new(
            "canary",
            ProblemKind::OutOfRange,
            cycle.to_string(),
            format!(
                "a round-robin cycle of {cycle} calls is longer than {MAX_CYCLE}; \
                 use weights with a larger common divisor"
            ),
        ));
    }
    Ok((reduced, cycle))
}

/// One cycle of nginx's smooth weighted round-robin over `weights` divided by their greatest
/// common divisor: each step adds every arm's weight to its score, picks the highest score
/// (the earlier arm on a tie) and takes the cycle length off the winner's score.
pub(super) fn smooth_round_robin(weights: &[u32]) -> Result<Box<[u8]>, Problem> {
    let (reduced, cycle) = cycle_length(weights)?;
    let mut scores = vec![0_i64; reduced.len()];
    let mut schedule = Vec::with_capacity(usize::try_from(cycle).unwrap_or(0));
    for _ in 0..cycle {
        let mut best = 0;
        let mut best_score = i64::MIN;
        for (arm, (score, weight)) in scores.iter_mut().zip(&reduced).enumerate() {
            *score += weight;
            if *score > best_score {
                (best, best_score) = (arm, *score);
            }
        }
        if let Some(score) = scores.get_mut(best) {
            *score -= cycle;
        }
        schedule.push(u8::try_from(best).map_err(|_| too_many_arms(weights.len()))?);
    }
    Ok(schedule.into_boxed_slice())
}

/// The current weights as the request path reads them: plain atomics behind a sequence lock,
/// so a call reads them with a few loads and no reference count, and a clone of the service
/// needs no reference to them at all. Written only by [`Live::publish`], under the split's
/// writer lock; a reader that overlaps a write tries again.
///
/// Holds where each canary arm's random or hashed points end, and, for a two-arm round-robin
/// split, the cycle and the shared position (a split of more arms uses its [`Snapshot`]'s
/// schedule).
#[derive(Debug)]
pub(super) struct Live {
    /// Even when the values are whole; odd while a writer changes them.
    version: AtomicU64,
    /// For canary arm `i` (at `i - 1`): a point `p` with `p < end` goes to the first such arm.
    /// The arms are tried in order, so the ends never decrease; an arm with no points of its
    /// own (weight 0, or the last arm with a weight, which takes the rest) ends where the
    /// arm before it does.
    ends: Box<[AtomicU64]>,
    /// Two arms: the canary's end, or `u64::MAX` when the canary takes every point (a bound
    /// `ends` cannot hold: it would be 2^64). One word, so a two-arm split reads it with one
    /// load and no sequence check. Every other bound is at most `u64::MAX - 1` (it is at
    /// most `2^64 - 2^64 / total`, and two `u32` weights total less than 2^33), so the two
    /// cases never meet; see [`place`](Self::place).
    bound: AtomicU64,
    /// The arm of the points past every end.
    last: AtomicUsize,
    /// Two-arm round-robin: the canary's weight `b` and the cycle length `n`, both divided by
    /// their greatest common divisor, as `b << 32 | n`.
    cycle: AtomicU64,
    /// `ceil(2^64 / n)` (0 when `n` is 1), for [`small_remainder`].
    magic: AtomicU64,
    /// Two-arm round-robin: calls decided since the weights were last set.
    position: AtomicU64,
}

impl Live {
    /// The weights of a split of `arms` arms: the stable arm takes everything until the first
    /// [`publish`](Self::publish).
    pub(super) fn new(arms: usize) -> Self {
        Self {
            version: AtomicU64::new(0),
            ends: (1..arms.max(2)).map(|_| AtomicU64::new(0)).collect(),
            bound: AtomicU64::new(0),
            last: AtomicUsize::new(0),
            cycle: AtomicU64::new(1),
            magic: AtomicU64::new(0),
            position: AtomicU64::new(0),
        }
    }

    /// Makes `weights` (arm order, the same number of arms as given to [`new`](Self::new),
    /// validated by [`Snapshot::new`]) the current weights and restarts the round-robin cycle.
    /// The caller holds the split's writer lock: writers never overlap.
    pub(super) fn publish(&self, weights: &[u32]) {
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        let mut ends = Vec::with_capacity(self.ends.len());
        let mut end: u128 = 0;
        let mut previous: u64 = 0;
        let mut last = 0;
        // Canary arms in order, then the stable arm (which has no entry of its own).
        let order = (1..weights.len()).chain(std::iter::once(0));
        for arm in order {
            let weight = weights.get(arm).copied().unwrap_or(0);
            if weight > 0 {
                end += u128::from(weight);
                // Below 2^64 for every arm but the last with a weight, which takes the rest.
                match u64::try_from((end << 64) / total) {
                    Ok(bound) => previous = bound,
                    Err(_) => last = arm,
                }
            }
            if arm > 0 {
                ends.push(previous);
            }
        }
        let divisor = weights.iter().fold(0, |g, &w| gcd(g, u64::from(w))).max(1);
        let canary = weights.get(1).map_or(0, |&w| u64::from(w) / divisor);
        let length = (weights.iter().map(|&w| u64::from(w)).sum::<u64>() / divisor).max(1);
        // 2^64 / n rounded up, which wraps to 0 for n = 1 (where every remainder is 0).
        let magic = (u64::MAX / length).wrapping_add(1);
        let bound = match (ends.first(), last) {
            (_, 1) => u64::MAX,
            (Some(&end), _) => end,
            (None, _) => 0,
        };
        let version = self.version.load(Ordering::Relaxed);
        self.version
            .store(version.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (slot, end) in self.ends.iter().zip(ends) {
            slot.store(end, Ordering::Relaxed);
        }
        self.last.store(last, Ordering::Relaxed);
        self.bound.store(bound, Ordering::Relaxed);
        self.cycle.store(canary << 32 | length, Ordering::Relaxed);
        self.magic.store(magic, Ordering::Relaxed);
        self.position.store(0, Ordering::Relaxed);
        self.version
            .store(version.wrapping_add(2), Ordering::Release);
    }

    /// Runs `read` on values no writer changed meanwhile (again if one did).
    #[inline(always)]
    fn read<R>(&self, mut read: impl FnMut(&Self) -> R) -> R {
        loop {
            let version = self.version.load(Ordering::Acquire);
            let result = read(self);
            fence(Ordering::Acquire);
            if version & 1 == 0 && self.version.load(Ordering::Relaxed) == version {
                return result;
            }
            std::hint::spin_loop();
        }
    }

    /// The arm where `point` (uniform in `0..2^64`) falls.
    #[inline]
    pub(super) fn place(&self, point: u64) -> usize {
        if self.ends.len() == 1 {
            // Two arms: the canary's points are those below its end, all of them when the
            // bound is `u64::MAX` (and no other bound is that high).
            return usize::from(point.min(u64::MAX - 1) < self.bound.load(Ordering::Relaxed));
        }
        self.place_by_ends(point)
    }

    /// [`place`](Self::place) by the ends of every arm, read under the sequence check.
    #[inline]
    pub(super) fn place_by_ends(&self, point: u64) -> usize {
        self.read(|live| {
            live.ends
                .iter()
                .position(|end| point < end.load(Ordering::Relaxed))
                .map_or_else(|| live.last.load(Ordering::Relaxed), |i| i + 1)
        })
    }

    /// The next arm of a two-arm round-robin cycle: the arm nginx's smooth weighted
    /// round-robin gives at this position. With two arms it has a closed form: the canary
    /// serves call `k` (from 0) of a cycle of `n` calls, of which it serves `b`, when
    /// `(k * b + (n - 1) / 2) mod n >= n - b` (a unit test checks it against the schedule).
    #[inline]
    pub(super) fn next_of_two(&self) -> usize {
        let (cycle, magic, call) = self.read(|live| {
            (
                live.cycle.load(Ordering::Relaxed),
                live.magic.load(Ordering::Relaxed),
                live.position.fetch_add(1, Ordering::Relaxed),
            )
        });
        let (canary, length) = (cycle >> 32, cycle & u64::from(u32::MAX));
        // Below 2^44 for the first 17 trillion calls after a change; a division after that.
        let position = if call < SMALL {
            small_remainder(call, magic, length)
        } else {
            call % length
        };
        // Below 2^20 each: the product and sum stay below 2^41.
        let step = position * canary + (length - 1) / 2;
        usize::from(small_remainder(step, magic, length) >= length - canary)
    }
}
