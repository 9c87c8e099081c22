//! [`CanaryLayer`] and its builder, [`CanaryBuilder`].

use std::fmt;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use http::header::{HeaderName, HeaderValue};
use http::request::Parts;
use tower_layer::Layer;

use super::control::{CanaryHandle, Control, Plan};
use super::mode::{is_cookie_name, KeyRepr, Mode, ModeRepr};
use super::rng::Seeder;
use super::service::Shared;
use super::weight::{percent_text, Weight, MILLION};
use super::weights::Live;
use super::weights::{too_many_arms, Snapshot};
use super::{Arm, CanarySplit};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// The default override header.
const OVERRIDE_HEADER: &str = "x-canary";

/// Wraps a stable service in a [`CanarySplit`] with one or more other arms. See the
/// [module docs](super) for an example.
///
/// Cloning is one reference-count bump; every service it makes shares its weights (and its
/// [`CanaryHandle`]) but draws random numbers on its own.
#[must_use]
pub struct CanaryLayer<C> {
    pub(super) shared: Arc<Shared<C>>,
}

impl<C> Clone for CanaryLayer<C> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C> fmt::Debug for CanaryLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanaryLayer")
            .field("control", &self.shared.control)
            .finish_non_exhaustive()
    }
}

impl<C> CanaryLayer<C> {
    /// The two-arm split: `canary` gets `weight` of the traffic, the wrapped (stable) service
    /// the rest. The arms are called `"stable"` and `"canary"`; the mode is [`Mode::random`].
    ///
    /// # Errors
    ///
    /// `weight` is not valid (see [`Weight`]).
    pub fn new(canary: C, weight: impl Into<Weight>) -> Result<Self, ConfigError> {
        Self::builder().canary(canary, weight).build()
    }

    /// A builder for the generalised split: named arms, a mode, overrides.
    pub fn builder() -> CanaryBuilder<C> {
        CanaryBuilder::default()
    }

    /// A handle that reads and changes the weights at run time.
    pub fn handle(&self) -> CanaryHandle {
        CanaryHandle {
            control: Arc::clone(&self.shared.control),
        }
    }

    /// The arm a request with these parts would get (see [`CanarySplit::pick`]).
    #[must_use]
    pub fn pick(&self, parts: &Parts) -> Arm {
        self.shared.control.pick(parts)
    }
}

impl<S, C> Layer<S> for CanaryLayer<C> {
    type Service = CanarySplit<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CanarySplit::new(inner, Arc::clone(&self.shared))
    }
}

/// Builds a [`CanaryLayer`]: the stable arm (the service the layer wraps), the other arms, the
/// mode, the overrides. Every setting is checked in [`build`](Self::build), which reports every
/// problem at once.
#[must_use]
pub struct CanaryBuilder<C> {
    stable: Option<(String, Weight)>,
    arms: Vec<(String, C, Weight)>,
    mode: Mode,
    seed: Option<u64>,
    override_header: Option<HeaderName>,
    override_cookie: Option<String>,
    arm_header: Option<HeaderName>,
    extensions: bool,
}

impl<C> Default for CanaryBuilder<C> {
    fn default() -> Self {
        Self {
            stable: None,
            arms: Vec::new(),
            mode: Mode::default(),
            seed: None,
            override_header: Some(HeaderName::from_static(OVERRIDE_HEADER)),
            override_cookie: None,
            arm_header: None,
            extensions: true,
        }
    }
}

impl<C> fmt::Debug for CanaryBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arms: Vec<_> = self.arms.iter().map(|(n, _, w)| (n, w)).collect();
        f.debug_struct("CanaryBuilder")
            .field("stable", &self.stable)
            .field("arms", &arms)
            .field("mode", &self.mode)
            .field("seed", &self.seed)
            .field("override_header", &self.override_header)
            .field("override_cookie", &self.override_cookie)
            .field("arm_header", &self.arm_header)
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl<C> CanaryBuilder<C> {
    /// Names the stable arm (the wrapped service) and gives it a weight.
    ///
    /// Default: `"stable"`, with 100% minus the other arms' weights (which must then sum to at
    /// most 100%). Calling it again replaces.
    pub fn stable(mut self, name: impl Into<String>, weight: impl Into<Weight>) -> Self {
        self.stable = Some((name.into(), weight.into()));
        self
    }

    /// Adds a canary arm called `"canary"`. Same as `arm("canary", service, weight)`.
    pub fn canary(self, service: C, weight: impl Into<Weight>) -> Self {
        self.arm("canary", service, weight)
    }

    /// Adds a canary arm called `name`. Default: none; at least one is needed. Adds to the
    /// arms given before; an arm may have weight 0, the sum of all weights may not.
    pub fn arm(mut self, name: impl Into<String>, service: C, weight: impl Into<Weight>) -> Self {
        self.arms.push((name.into(), service, weight.into()));
        self
    }

    /// How an arm is chosen. Default: [`Mode::random`]. Calling it again replaces.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Seeds the random draws, for reproducible tests: every service instance (each
    /// `Layer::layer` and each clone) then seeds its generator from a fixed stream, in the
    /// order the instances are made. Default: a random seed per layer.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The request header whose value `always` or `never` (any case) forces the first canary
    /// arm or the stable arm; other values are ignored. It beats the cookie. Default:
    /// `x-canary`. Calling it again replaces.
    pub fn override_header(mut self, name: HeaderName) -> Self {
        self.override_header = Some(name);
        self
    }

    /// Turns the override header off.
    pub fn no_override_header(mut self) -> Self {
        self.override_header = None;
        self
    }

    /// The cookie whose value `always` or `never` forces an arm, as the override header does,
    /// when the header does not. Default: none. Calling it again replaces.
    pub fn override_cookie(mut self, name: impl Into<String>) -> Self {
        self.override_cookie = Some(name.into());
        self
    }

    /// Names the arm that served in the response header `name`. Default: no header.
    pub fn arm_header(mut self, name: HeaderName) -> Self {
        self.arm_header = Some(name);
        self
    }

    /// Whether the [`Arm`] goes into the request extensions (for the arm) and the response
    /// extensions (for outer layers such as the access log). Default: `true`.
    ///
    /// `http::Extensions` allocates its map and a box per value, so publishing the arm costs a
    /// few small allocations per request; turn it off when nothing reads it. Calling it again
    /// replaces.
    pub fn arm_extensions(mut self, enabled: bool) -> Self {
        self.extensions = enabled;
        self
    }

    /// Checks every setting and builds the layer.
    ///
    /// # Errors
    ///
    /// Every problem at once: an invalid weight (naming it), weights that sum to zero, other
    /// arms over 100% with no stable weight, no canary arm, more than 256 arms, an empty or
    /// repeated arm name, an arm name that is not a valid header value when
    /// [`arm_header`](Self::arm_header) is set, a cookie name that is not a token, a round-robin
    /// cycle longer than 2^20 calls.
    pub fn build(self) -> Result<CanaryLayer<C>, ConfigError> {
        let mut problems = Problems::new();
        let (stable_name, stable_weight) = match self.stable {
            Some((name, weight)) => (name, Some(weight)),
            None => ("stable".to_owned(), None),
        };
        let mut names: Vec<&str> = vec![&stable_name];
        let mut weights = vec![0_u32];
        let mut others: u64 = 0;
        for (name, _, weight) in &self.arms {
            names.push(name);
            let ppm = weight
                .check()
                .map_err(|p| problems.push(p.with_location(name.clone())))
                .unwrap_or(0);
            others += u64::from(ppm);
            weights.push(ppm);
        }
        match &stable_weight {
            Some(weight) => match weight.check() {
                Ok(ppm) => weights[0] = ppm,
                Err(p) => problems.push(p.with_location(stable_name.clone())),
            },
            None => match u32::try_from(others).ok().filter(|&o| o <= MILLION) {
                Some(others) => weights[0] = MILLION - others,
                None => problems.push(Problem::new(
                    "canary",
                    ProblemKind::OutOfRange,
                    percent_text(others),
                    format!(
                        "the canary arms' weights sum to {}, over 100%; \
                         give the stable arm a weight too",
                        percent_text(others)
                    ),
                )),
            },
        }
        if self.arms.is_empty() {
            problems.push(Problem::new(
                "canary",
                ProblemKind::Invalid,
                stable_name.clone(),
                format!(
                    "a split needs at least one canary arm besides the stable one {stable_name:?}"
                ),
            ));
        }
        if names.len() > 256 {
            problems.push(too_many_arms(names.len()));
        }
        // Later problems do not hide a zero sum; earlier ones would make it meaningless.
        let weights_valid = problems.is_empty();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() {
                problems.push(Problem::new(
                    "canary",
                    ProblemKind::Invalid,
                    "",
                    "an arm name is empty",
                ));
            } else if let Some(first) = names.iter().take(i).find(|n| *n == name) {
                problems.push(
                    Problem::new(
                        "canary",
                        ProblemKind::Duplicate,
                        *name,
                        format!("arm {name:?} is defined twice"),
                    )
                    .with_related(*first),
                );
            }
        }
        let arm_header = self.arm_header.map(|header| {
            names
                .iter()
                .map(|name| {
                    HeaderValue::from_str(name).unwrap_or_else(|_| {
                        problems.push(Problem::new(
                            "canary",
                            ProblemKind::Invalid,
                            *name,
                            format!("arm name {name:?} is not a valid value for header {header}"),
                        ));
                        HeaderValue::from_static("")
                    })
                })
                .map(|value| Arc::new((header.clone(), value)))
                .collect::<Box<[_]>>()
        });
        let cookies = [
            self.override_cookie.as_deref(),
            match &self.mode.0 {
                ModeRepr::Sticky {
                    key: super::Key(KeyRepr::Cookie(name)),
                    ..
                } => Some(&**name),
                _ => None,
            },
        ];
        for name in cookies.into_iter().flatten() {
            if !is_cookie_name(name) {
                problems.push(Problem::new(
                    "canary",
                    ProblemKind::Syntax,
                    name,
                    format!("cookie name {name:?} is not a token"),
                ));
            }
        }
        let round_robin = matches!(self.mode.0, ModeRepr::RoundRobin);
        let arms: Box<[Arm]> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Arm::new(*name, i > 0))
            .collect();
        let snapshot = Snapshot::new(weights.into_boxed_slice(), round_robin);
        if let (Err(problem), true) = (&snapshot, weights_valid) {
            problems.push(problem.clone());
        }
        problems.finish(|| ())?;
        let snapshot = snapshot?;
        let seeder = self.seed.map_or_else(Seeder::random, Seeder::seeded);
        let tagging = self.extensions || arm_header.is_some();
        let live_arms = arms.len();
        let live = Live::new(live_arms);
        live.publish(&snapshot.weights);
        let control = Control {
            arms,
            arm_header,
            override_header: self.override_header,
            override_cookie: self.override_cookie.map(String::into_boxed_str),
            plan: Plan::of(&self.mode.0, live_arms),
            mode: self.mode.0,
            extensions: self.extensions,
            tagging,
            weights: ArcSwap::from_pointee(snapshot),
            live,
            writer: Mutex::new(()),
            seeder,
            seeded: self.seed.is_some(),
            noop: crate::util::noop_waker().clone(),
        };
        Ok(CanaryLayer {
            shared: Arc::new(Shared {
                control: Arc::new(control),
                arms: self
                    .arms
                    .into_iter()
                    .map(|(_, service, _)| service)
                    .collect(),
            }),
        })
    }
}
