//! The validated settings of a split, its decision, and [`CanaryHandle`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

use arc_swap::ArcSwap;
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use http::HeaderMap;

use super::future::{put, Tag};
use super::mode::{cookie, header, header_pair, Key, KeyRepr, ModeRepr};
use super::rng::{stable_hash, thread_seed, Rng, Seeder};
use super::weight::{Weight, MILLION};
use super::weights::{Live, Snapshot};
use super::Arm;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// Everything a split decides with, shared by the layer, every service clone and the handles.
pub(super) struct Control {
    /// The arms, the stable arm first.
    pub(super) arms: Box<[Arm]>,
    /// The response header naming the arm, as a name and value for each arm (shared, so that
    /// a call takes one reference instead of cloning both).
    pub(super) arm_header: Option<Box<[ArmHeader]>>,
    pub(super) override_header: Option<HeaderName>,
    pub(super) override_cookie: Option<Box<str>>,
    pub(super) mode: ModeRepr,
    /// The mode's kind, one byte for the request path to branch on.
    pub(super) plan: Plan,
    /// Whether the arm goes into the request and response extensions.
    pub(super) extensions: bool,
    /// Whether anything goes on the request or the answer: the arm in the extensions, or the
    /// arm header.
    pub(super) tagging: bool,
    /// The current weights, for the handle and for a round-robin split of more than two arms.
    pub(super) weights: ArcSwap<Snapshot>,
    /// The current weights, for the request path.
    pub(super) live: Live,
    /// Serialises writers (the request path never takes it).
    pub(super) writer: Mutex<()>,
    /// The seeds of [`pick`](Self::pick)'s draws, and of every instance's generator when the
    /// split has a fixed seed.
    pub(super) seeder: Seeder,
    /// Whether the split has a fixed seed (instances then seed from `seeder`, in the order
    /// they are made, rather than from their thread).
    pub(super) seeded: bool,
    /// A waker that does nothing ([`crate::util::noop_waker`]), for the one readiness check
    /// made inside `call` (a copy held here, so that a call reads a field instead of checking
    /// that a static is initialised).
    pub(super) noop: Waker,
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("arms", &self.arms)
            .field("weights", &self.weights.load().weights)
            .field("mode", &self.mode)
            .field("override_header", &self.override_header)
            .field("override_cookie", &self.override_cookie)
            .field(
                "arm_header",
                &self
                    .arm_header
                    .as_ref()
                    .and_then(|headers| Some(&headers.first()?.0)),
            )
            .finish_non_exhaustive()
    }
}

/// What a call does to choose an arm, from [`ModeRepr`].
#[derive(Clone, Copy, Debug)]
pub(super) enum Plan {
    Random,
    /// Round-robin over two arms, in closed form ([`Live::next_of_two`]).
    RoundRobinOfTwo,
    /// Round-robin over more arms, by the schedule of the current [`Snapshot`].
    RoundRobin,
    /// Sticky, by a header or a cookie.
    Keyed,
    /// Sticky, by a function of the request's parts.
    KeyedByParts,
}

impl Plan {
    pub(super) fn of(mode: &ModeRepr, arms: usize) -> Self {
        match mode {
            ModeRepr::Random => Self::Random,
            ModeRepr::RoundRobin if arms == 2 => Self::RoundRobinOfTwo,
            ModeRepr::RoundRobin => Self::RoundRobin,
            ModeRepr::Sticky {
                key: Key(KeyRepr::Function(_)),
                ..
            } => Self::KeyedByParts,
            ModeRepr::Sticky { .. } => Self::Keyed,
        }
    }
}

/// The arm header's name and an arm's value.
pub(super) type ArmHeader = Arc<(HeaderName, HeaderValue)>;

/// What an override value asks for.
fn forced(value: &[u8]) -> Option<usize> {
    if value.eq_ignore_ascii_case(b"always") {
        Some(1)
    } else if value.eq_ignore_ascii_case(b"never") {
        Some(0)
    } else {
        None
    }
}

/// What a decision reads from a request: its headers, and its parts when a key function
/// needs them (a `Request` is decided on without taking it apart).
pub(super) trait Head {
    fn headers(&self) -> &HeaderMap;
    fn parts(&self) -> Option<&Parts>;
}

impl Head for Parts {
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    fn parts(&self) -> Option<&Parts> {
        Some(self)
    }
}

impl<B> Head for http::Request<B> {
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }

    fn parts(&self) -> Option<&Parts> {
        None
    }
}

impl Control {
    /// The index of the arm for a request; `draw` gives a uniform random `u64` when needed.
    #[inline]
    pub(super) fn choose(&self, head: &impl Head, draw: impl FnOnce() -> u64) -> usize {
        let live = &self.live;
        match self.plan {
            Plan::Random => return self.choose_random(head, draw),
            // The position advances only for calls no override forces.
            Plan::RoundRobinOfTwo => return self.choose_round_robin_of_two(head),
            Plan::RoundRobin => {
                return self
                    .overridden(head.headers())
                    .unwrap_or_else(|| self.next_in_schedule())
            }
            Plan::Keyed | Plan::KeyedByParts => {}
        }
        if let ModeRepr::Sticky {
            key: Key(KeyRepr::Header(name)),
            missing_to_stable,
        } = &self.mode
        {
            // The override header and the key in one pass over the headers.
            let headers = head.headers();
            let (over, key) = header_pair(headers, self.override_header.as_ref(), name);
            if let Some(arm) = over
                .and_then(|value| forced(value.as_bytes()))
                .or_else(|| self.overridden_by_cookie(headers))
            {
                return arm;
            }
            return match key.map(HeaderValue::as_bytes).filter(|v| !v.is_empty()) {
                Some(key) => live.place(stable_hash(key)),
                None if *missing_to_stable => 0,
                None => live.place(draw()),
            };
        }
        if let Some(arm) = self.overridden(head.headers()) {
            return arm;
        }
        match &self.mode {
            ModeRepr::Random => live.place(draw()),
            ModeRepr::RoundRobin if matches!(self.plan, Plan::RoundRobinOfTwo) => {
                live.next_of_two()
            }
            ModeRepr::RoundRobin => self.next_in_schedule(),
            ModeRepr::Sticky {
                key,
                missing_to_stable,
            } => match key.with(head, stable_hash) {
                Some(point) => live.place(point),
                None if *missing_to_stable => 0,
                None => live.place(draw()),
            },
        }
    }

    /// The next arm of a round-robin split of more than two arms, from the current schedule.
    #[inline(never)]
    fn next_in_schedule(&self) -> usize {
        self.weights.load().next_in_cycle()
    }

    /// [`choose`](Self::choose) for [`Plan::Random`].
    #[inline]
    pub(super) fn choose_random(&self, head: &impl Head, draw: impl FnOnce() -> u64) -> usize {
        self.overridden(head.headers())
            .unwrap_or_else(|| self.live.place(draw()))
    }

    /// [`choose`](Self::choose) for [`Plan::RoundRobinOfTwo`].
    #[inline]
    pub(super) fn choose_round_robin_of_two(&self, head: &impl Head) -> usize {
        // The position advances only for calls no override forces.
        self.overridden(head.headers())
            .unwrap_or_else(|| self.live.next_of_two())
    }

    /// The decision of [`CanarySplit::pick`](super::CanarySplit::pick): current weights, draws
    /// from the shared seed stream.
    pub(super) fn pick(&self, parts: &Parts) -> Arm {
        self.arm(self.choose(parts, || self.seeder.next_u64()))
    }

    /// A generator for a new service instance.
    #[inline]
    pub(super) fn rng(&self) -> Rng {
        // The split's stream for a fixed seed, and for an instance made while the thread's
        // locals are being destroyed.
        if self.seeded {
            self.seeder.rng()
        } else {
            thread_seed().map_or_else(|| self.seeder.rng(), Rng::new)
        }
    }

    /// The arm an override header or cookie forces: header first, then cookie.
    #[inline]
    fn overridden(&self, headers: &HeaderMap) -> Option<usize> {
        // Most requests carry neither: no name is looked for in a request without headers.
        if headers.is_empty() {
            return None;
        }
        self.overridden_in(headers)
    }

    /// [`overridden`](Self::overridden) for a request with headers: apart, so that the
    /// request path of a split stays small enough to inline into its caller.
    #[inline(never)]
    fn overridden_in(&self, headers: &HeaderMap) -> Option<usize> {
        let header = self
            .override_header
            .as_ref()
            .and_then(|name| header(headers, name))
            .and_then(|value| forced(value.as_bytes()));
        header.or_else(|| self.overridden_by_cookie(headers))
    }

    /// The arm the override cookie forces.
    #[inline]
    fn overridden_by_cookie(&self, headers: &HeaderMap) -> Option<usize> {
        self.override_cookie
            .as_deref()
            .and_then(|name| cookie(headers, name))
            .and_then(forced)
    }

    #[inline]
    pub(super) fn arm(&self, index: usize) -> Arm {
        self.arms
            .get(index)
            .or_else(|| self.arms.first())
            .cloned()
            .unwrap_or_else(|| Arm::new("stable", false))
    }

    /// Puts the arm at `index` in the request's extensions (when they are on) and returns
    /// what goes on the answer.
    #[inline]
    pub(super) fn tag<B>(&self, index: usize, request: &mut http::Request<B>) -> Tag {
        let arm = self.extensions.then(|| {
            let arm = self.arm(index);
            put(request.extensions_mut(), arm.clone());
            arm
        });
        Tag {
            arm,
            header: self.header(index),
        }
    }

    #[inline]
    pub(super) fn header(&self, index: usize) -> Option<ArmHeader> {
        self.arm_header.as_ref()?.get(index).cloned()
    }

    fn round_robin(&self) -> bool {
        matches!(self.mode, ModeRepr::RoundRobin)
    }

    /// Validates and publishes `weights` (arm order). The caller holds the writer lock.
    fn publish(&self, weights: Vec<u32>) -> Result<(), ConfigError> {
        let snapshot = Snapshot::new(weights.into_boxed_slice(), self.round_robin())?;
        self.live.publish(&snapshot.weights);
        self.weights.store(Arc::new(snapshot));
        Ok(())
    }
}

/// Reads and changes a split's weights at run time. Clones share the split.
///
/// Lock-free for requests: a call reads the current weights from a few atomics under a
/// sequence lock (no reference count, no lock; a call that overlaps a change reads again; a
/// random or sticky split of two arms reads one atomic), and a round-robin split of more than
/// two arms loads its schedule with [`arc_swap`]; a change builds a new set and publishes it.
/// A call already in flight keeps the arm it was given. Writers are serialised among
/// themselves. Changes are validated exactly as at build time, and a refused change leaves
/// the weights as they were.
///
/// ```
/// use tower_gateway::canary::{CanaryLayer, Weight};
/// # use tower::service_fn;
/// # let canary = service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) });
///
/// let layer = CanaryLayer::new(canary, 5.0)?;
/// let handle = layer.handle();
/// assert_eq!(handle.canary_weight(), Weight::ppm(50_000));
///
/// handle.set_canary("10%")?;
/// assert_eq!(handle.weight("stable"), Some(Weight::ppm(900_000)));
/// handle.promote();
/// assert_eq!(handle.canary_weight(), Weight::FULL);
/// handle.roll_back();
/// assert_eq!(handle.canary_weight(), Weight::ZERO);
/// assert!(handle.set_canary(150.0).is_err());
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CanaryHandle {
    pub(super) control: Arc<Control>,
}

impl CanaryHandle {
    /// Every arm with its current weight, the stable arm first.
    #[must_use]
    pub fn weights(&self) -> Vec<(Arm, Weight)> {
        let snapshot = self.control.weights.load();
        self.control
            .arms
            .iter()
            .zip(snapshot.weights.iter())
            .map(|(arm, &w)| (arm.clone(), Weight::ppm(w)))
            .collect()
    }

    /// The current weight of the arm called `name`.
    #[must_use]
    pub fn weight(&self, name: &str) -> Option<Weight> {
        let index = self.control.arms.iter().position(|a| a.name() == name)?;
        self.control
            .weights
            .load()
            .weights
            .get(index)
            .map(|&w| Weight::ppm(w))
    }

    /// The canary arms' share of traffic, in ppm rounded to the nearest.
    pub fn canary_weight(&self) -> Weight {
        let snapshot = self.control.weights.load();
        let total: u64 = snapshot.weights.iter().map(|&w| u64::from(w)).sum();
        let canary: u64 = snapshot.weights.iter().skip(1).map(|&w| u64::from(w)).sum();
        let ppm = (canary * u64::from(MILLION) + total / 2) / total.max(1);
        Weight::ppm(u32::try_from(ppm).unwrap_or(MILLION))
    }

    /// Gives the canary arms `weight` of the traffic and the stable arm the rest. With several
    /// canary arms, they share `weight` equally (the first takes the remainder).
    ///
    /// # Errors
    ///
    /// `weight` is not valid; the weights stay as they were.
    pub fn set_canary(&self, weight: impl Into<Weight>) -> Result<(), ConfigError> {
        let ppm = weight.into().to_ppm()?;
        let _writer = self
            .control
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.control
            .publish(split_canary(self.control.arms.len(), ppm))
    }

    /// Sends all traffic to the canary arms (100%).
    pub fn promote(&self) {
        // 100% is valid and sums to more than zero: this cannot fail.
        let _ = self.set_canary(Weight::FULL);
    }

    /// Sends all traffic to the stable arm (canary at 0%).
    pub fn roll_back(&self) {
        // 0% is valid and leaves the stable arm 100%: this cannot fail.
        let _ = self.set_canary(Weight::ZERO);
    }

    /// Sets the weights of the named arms; arms not named keep theirs. The change is applied
    /// all at once or not at all.
    ///
    /// # Errors
    ///
    /// Every problem at once: an unknown arm name, an invalid weight, weights that sum to zero,
    /// a round-robin cycle that is too long. The weights stay as they were.
    pub fn set<'a, I, W>(&self, weights: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = (&'a str, W)>,
        W: Into<Weight>,
    {
        let _writer = self
            .control
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next = self.control.weights.load().weights.to_vec();
        let mut problems = Problems::new();
        for (name, weight) in weights {
            let index = self.control.arms.iter().position(|a| a.name() == name);
            match (index, weight.into().check()) {
                (Some(index), Ok(ppm)) => {
                    if let Some(slot) = next.get_mut(index) {
                        *slot = ppm;
                    }
                }
                (Some(_), Err(problem)) => problems.push(problem.with_location(name)),
                (None, checked) => {
                    problems.push(Problem::new(
                        "canary",
                        ProblemKind::Unknown,
                        name,
                        format!("arm {name:?} is not an arm of this split"),
                    ));
                    if let Err(problem) = checked {
                        problems.push(problem.with_location(name));
                    }
                }
            }
        }
        problems.finish(|| ())?;
        self.control.publish(next)
    }
}

/// Weights (arm order) giving `arms - 1` canary arms `ppm` in all and the stable arm the rest.
pub(super) fn split_canary(arms: usize, ppm: u32) -> Vec<u32> {
    let canaries = u32::try_from(arms.saturating_sub(1)).unwrap_or(1).max(1);
    let mut weights = Vec::with_capacity(arms);
    weights.push(MILLION - ppm);
    for i in 0..canaries {
        let share = ppm / canaries + if i == 0 { ppm % canaries } else { 0 };
        weights.push(share);
    }
    weights
}
