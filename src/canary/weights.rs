//! One set of weights, prepared for the request path: where random and hashed points fall, and
//! the round-robin schedule of one cycle.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Problem, ProblemKind};

/// The longest round-robin cycle (after dividing the weights by their greatest common
/// divisor): one byte of schedule per call of the cycle.
pub(super) const MAX_CYCLE: u64 = 1 << 20;

/// Weights as the request path reads them. Immutable once published, except for the
/// round-robin position, so a swap never changes a decision already made.
#[derive(Debug)]
pub(super) struct Snapshot {
    /// Each arm's weight, in arm order (the stable arm first).
    pub(super) weights: Box<[u32]>,
    /// `(end, arm)`, the first entry of the layout: a point `p` in `0..2^64` goes to the first
    /// entry with `p < end` (`first`, then `layout`), or to `last` when there is none. Canary
    /// arms come first, in arm order, then the stable arm, so raising a canary's share only
    /// moves points from stable to canary. Arms of weight 0 have no entry, nor does the last
    /// arm with a weight (its end would be 2^64), so every bound fits a `u64`. A two-arm split
    /// places a point with one comparison and no loop; with a single weighted arm, `first`
    /// is `(0, last)`.
    first: (u64, u8),
    /// The rest of the layout.
    layout: Box<[(u64, u8)]>,
    /// The arm that owns the top of `0..2^64`.
    last: u8,
    /// One cycle of smooth weighted round-robin (empty unless the mode is round-robin).
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
        let mut layout = Vec::with_capacity(weights.len());
        let mut end: u128 = 0;
        let mut last = 0;
        let order = (1..weights.len()).chain(std::iter::once(0));
        for arm in order {
            let weight = weights.get(arm).copied().unwrap_or(0);
            if weight == 0 {
                continue;
            }
            end += u128::from(weight);
            let arm = u8::try_from(arm).map_err(|_| too_many_arms(weights.len()))?;
            // Below 2^64 for every arm but the last with a weight, which gets the rest.
            match u64::try_from((end << 64) / u128::from(total)) {
                Ok(end) => layout.push((end, arm)),
                Err(_) => last = arm,
            }
        }
        let schedule = if round_robin {
            smooth_round_robin(&weights)?
        } else {
            Box::default()
        };
        let cycle_magic = match schedule.len() {
            0 | 1 => 0,
            len => u128::MAX / len as u128 + 1,
        };
        let first = if layout.is_empty() {
            (0, last)
        } else {
            layout.remove(0)
        };
        Ok(Self {
            weights,
            first,
            layout: layout.into_boxed_slice(),
            last,
            schedule,
            cycle_magic,
            next: AtomicU64::new(0),
        })
    }

    /// The arm where `point` (uniform in `0..2^64`) falls.
    #[inline]
    pub(super) fn place(&self, point: u64) -> usize {
        if point < self.first.0 {
            return usize::from(self.first.1);
        }
        let arm = self
            .layout
            .iter()
            .find(|(end, _)| point < *end)
            .map_or(self.last, |&(_, arm)| arm);
        usize::from(arm)
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

/// One cycle of nginx's smooth weighted round-robin over `weights` divided by their greatest
/// common divisor: each step adds every arm's weight to its score, picks the highest score
/// (the earlier arm on a tie) and takes the cycle length off the winner's score.
fn smooth_round_robin(weights: &[u32]) -> Result<Box<[u8]>, Problem> {
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
