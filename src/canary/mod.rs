//! CanarySplit: canary releases with exact weights, per call or sticky, changed at run time.
//!
//! ```
//! use http::{Request, Response};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::canary::{Arm, CanaryLayer, Mode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let v1 = service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new("v1")) });
//! let v2 = service_fn(|_: Request<()>| async { Ok::<_, std::convert::Infallible>(Response::new("v2")) });
//!
//! // 10% to v2, exactly one call in ten, deterministically.
//! let layer = CanaryLayer::builder().canary(v2, "10%").mode(Mode::round_robin()).build()?;
//! let split = layer.layer(v1);
//! let mut served = Vec::new();
//! for _ in 0..10 {
//!     let response = split.clone().oneshot(Request::new(())).await?;
//!     let arm = response.extensions().get::<Arm>().expect("the arm is published");
//!     assert_eq!(arm.is_canary(), *response.body() == "v2");
//!     served.push(*response.body());
//! }
//! assert_eq!(served.iter().filter(|b| **b == "v2").count(), 1);
//!
//! // Promote at run time; `x-canary: never` still forces the stable arm.
//! layer.handle().promote();
//! assert_eq!(*split.clone().oneshot(Request::new(())).await?.body(), "v2");
//! let never = Request::builder().header("x-canary", "never").body(())?;
//! assert_eq!(*split.clone().oneshot(never).await?.body(), "v1");
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! [`CanaryLayer::new`]`(canary, weight)` wraps the stable service: the canary gets `weight`
//! of the calls, the stable service the rest. [`CanaryLayer::builder`] takes any number of named
//! canary arms besides the stable one, each with a [`Weight`]; an arm's share is its weight over
//! the sum of the weights (Gateway API `backendRefs`), and an arm may have weight 0. All arms
//! but the stable one share one service type `C`; box them if they differ.
//!
//! Weights are exact integers, parts per million (ppm): `"0.57%"` is 5,700 ppm, never 5,699.
//!
//! For each call, in this order:
//!
//! 1. the override header (default `x-canary`) with value `always` or `never` (any case)
//!    forces the first canary arm or the stable arm; any other value is ignored;
//! 2. then the override cookie (none by default), the same way;
//! 3. then the [`Mode`]: a weighted random draw (the default), smooth weighted round-robin, or
//!    a sticky key ([`Key`]: a header, a cookie or a function) placed by [`stable_hash`].
//!    A sticky request without its key gets a random draw ([`Mode::sticky`]) or the stable arm
//!    ([`Mode::sticky_or_stable`]).
//!
//! Random draws use a wyrand generator that each service instance (every clone too) seeds on
//! its own from a per-thread stream seeded from std's `RandomState` (so a clone touches no
//! shared memory for it), or, with [`CanaryBuilder::seed`], from a per-split stream in the
//! order the instances are made; draws are never derived from a request counter, and two stacked
//! splits are independent (50% of 50% is 25%). A sticky key's point is
//! [`stable_hash`]`(key) / 2^64`; the canary arms own the low end of `0..1` in arm order and the
//! stable arm the high end, so raising the canary's weight only moves keys from stable to
//! canary, never back, and every replica of a fleet agrees.
//!
//! [`CanarySplit::pick`] returns the arm for a request's [`Parts`](http::request::Parts) with no
//! service involved. [`CanaryHandle`] (from [`CanaryLayer::handle`]) reads and changes the
//! weights at run time (set, promote to 100%, roll back to 0%), lock-free for requests; a call
//! in flight keeps its arm.
//!
//! # Readiness and errors
//!
//! A split is always ready. It clones the chosen arm and drives the clone's `poll_ready`, then
//! its `call`, inside the response future, as axum's router does. (As a shortcut, `call` asks
//! the clone once, with a waker that does nothing, whether it is ready at once, and if so calls
//! it there, so the future need not carry the request; an arm that is not ready is then readied
//! by the response future with the task's own waker.) Unlike `tower::steer::Steer`, it
//! never readies every arm first (which stalls every request behind the slowest arm
//! and holds capacity on arms not called). Backpressure therefore does not cross the split:
//! put concurrency limits outside it or inside each arm. An arm's error, from `poll_ready` or
//! from its call, is returned as is: an erroring canary is never silently rerouted to stable.
//!
//! # Extensions
//!
//! - Writes [`Arm`] (name, and whether it is a canary) to the request extensions before the
//!   arm is called, and to the response extensions (for outer layers such as the access log).
//! - Optionally names the arm in a response header ([`CanaryBuilder::arm_header`]).
//! - Reads none.
//!
//! # Configuration errors
//!
//! [`CanaryBuilder::build`] and [`CanaryHandle::set`] report every problem at once, each
//! naming its value: a weight that is NaN, infinite, negative, over 100%, more precise than a
//! ppm or not a number; weights that sum to zero; no canary arm; an empty or repeated arm
//! name; a cookie name that is not a token; more than 256 arms; a round-robin cycle over 2^20
//! calls.

mod arm;
mod control;
mod future;
mod layer;
mod mode;
mod rng;
mod service;
mod weight;
mod weights;

pub use arm::Arm;
pub use control::CanaryHandle;
pub use future::ResponseFuture;
pub use layer::{CanaryBuilder, CanaryLayer};
pub use mode::{Key, Mode};
pub use rng::stable_hash;
pub use service::CanarySplit;
pub use weight::Weight;

#[cfg(test)]
mod tests;
