//! [`CanarySplit`]: the service.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::{ArcSwap, Cache};
use http::request::Parts;
use http::{Request, Response};
use tower_service::Service;

use super::control::{CanaryHandle, Control};
use super::future::ResponseFuture;
use super::rng::Rng;
use super::weights::Snapshot;
use super::Arm;

/// Sends each request to one of its arms: the wrapped (stable) service or a canary. Made by
/// [`CanaryLayer`](super::CanaryLayer); see the [module docs](super) for an example.
///
/// Always ready: the chosen arm is asked once whether it is ready and called at once when it
/// is (the stable arm in place, a canary arm as a clone); otherwise it is readied and called
/// inside the response future, so a slow or failing arm never holds up requests for the other
/// arms. The cost of this is that backpressure does not cross the split: put concurrency
/// limits outside it, or inside each arm.
///
/// Cloning clones the stable service, bumps two reference counts and seeds a new random
/// generator, so clones draw independently.
pub struct CanarySplit<S, C> {
    pub(super) inner: S,
    pub(super) arms: Arc<[C]>,
    pub(super) control: Arc<Control>,
    pub(super) rng: Rng,
    /// This instance's view of the current weights: one relaxed load per call while they do
    /// not change.
    pub(super) weights: Cache<Weights, Arc<Snapshot>>,
}

/// The weights of a [`Control`], for [`Cache`].
#[derive(Clone, Debug)]
pub(super) struct Weights(pub(super) Arc<Control>);

impl Deref for Weights {
    type Target = ArcSwap<Snapshot>;

    fn deref(&self) -> &ArcSwap<Snapshot> {
        &self.0.weights
    }
}

impl<S, C> CanarySplit<S, C> {
    pub(super) fn new(inner: S, arms: Arc<[C]>, control: Arc<Control>) -> Self {
        Self {
            inner,
            arms,
            rng: control.seeder.rng(),
            weights: Cache::new(Weights(Arc::clone(&control))),
            control,
        }
    }
}

impl<S: Clone, C> Clone for CanarySplit<S, C> {
    fn clone(&self) -> Self {
        // A fresh random stream; the weights cache is copied (it revalidates against the
        // shared weights on every load), which saves loading them anew: the Router clones its
        // target for every request.
        Self {
            inner: self.inner.clone(),
            arms: Arc::clone(&self.arms),
            rng: self.control.seeder.rng(),
            weights: self.weights.clone(),
            control: Arc::clone(&self.control),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CanarySplit<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanarySplit")
            .field("inner", &self.inner)
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

impl<S, C> CanarySplit<S, C> {
    /// The two-arm layer: same as [`CanaryLayer::new`](super::CanaryLayer::new).
    ///
    /// # Errors
    ///
    /// `weight` is not valid (see [`Weight`](super::Weight)).
    pub fn layer(
        canary: C,
        weight: impl Into<super::Weight>,
    ) -> Result<super::CanaryLayer<C>, crate::ConfigError> {
        super::CanaryLayer::new(canary, weight)
    }

    /// The arm a request with these parts gets, with no service involved: the decision the
    /// service applies. Random draws come from the split's shared seed stream (not this
    /// instance's generator); a round-robin split advances its shared position.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_gateway::canary::CanaryLayer;
    /// # let svc = tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) });
    ///
    /// let split = CanaryLayer::new(svc.clone(), 0.0)?.layer(svc);
    /// let (parts, ()) = http::Request::new(()).into_parts();
    /// assert_eq!(split.pick(&parts).name(), "stable");
    ///
    /// let (parts, ()) = http::Request::builder().header("x-canary", "always").body(())?.into_parts();
    /// assert!(split.pick(&parts).is_canary());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn pick(&self, parts: &Parts) -> Arm {
        self.control.pick(parts)
    }

    /// A handle that reads and changes the weights at run time.
    #[must_use]
    pub fn handle(&self) -> CanaryHandle {
        CanaryHandle {
            control: Arc::clone(&self.control),
        }
    }

    define_inner_service_accessors!();
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for CanarySplit<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: Service<Request<ReqBody>, Response = Response<ResBody>, Error = S::Error> + Clone,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, C, Request<ReqBody>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    #[inline]
    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let control = &*self.control;
        let snapshot = self.weights.load();
        let rng = &mut self.rng;
        let draw = || rng.next_u64();
        let index = if control.needs_parts() {
            with_parts(&mut request, |parts| control.choose(snapshot, parts, draw))
        } else {
            control.choose(snapshot, &request, draw)
        };
        // The chosen arm is asked once, with a waker that does nothing, whether it is ready,
        // and called at once when it is, so the common case keeps no request in the future;
        // otherwise the future readies it with the task's own waker. The request is moved
        // only into the arm's `call` on this path (a by-value helper would copy it). Written
        // twice: with no tag, the future is built with a constant `None`.
        macro_rules! start {
            ($tag:expr) => {{
                let mut cx = Context::from_waker(&control.noop);
                match index.checked_sub(1).and_then(|i| self.arms.get(i)) {
                    None => match self.inner.poll_ready(&mut cx) {
                        Poll::Ready(Ok(())) => {
                            ResponseFuture::stable(self.inner.call(request), $tag)
                        }
                        Poll::Ready(Err(error)) => ResponseFuture::failed(error),
                        Poll::Pending => {
                            // The service asked (which may hold a reservation it made, such
                            // as a buffer slot) goes into the future; a clone takes its
                            // place, as `tower::ServiceExt::ready` users do with
                            // `mem::replace`.
                            let clone = self.inner.clone();
                            let asked = std::mem::replace(&mut self.inner, clone);
                            ResponseFuture::stable_pending(asked, request, $tag)
                        }
                    },
                    Some(canary) => {
                        let mut canary = canary.clone();
                        match canary.poll_ready(&mut cx) {
                            Poll::Ready(Ok(())) => {
                                ResponseFuture::canary(canary.call(request), $tag)
                            }
                            Poll::Ready(Err(error)) => ResponseFuture::failed(error),
                            Poll::Pending => ResponseFuture::canary_pending(canary, request, $tag),
                        }
                    }
                }
            }};
        }
        if control.tags() {
            let tag = control.tag(index, &mut request);
            start!(Some(tag))
        } else {
            start!(None)
        }
    }
}

/// Runs `f` on the parts of `request` (for a key function) without taking the request apart,
/// which would move it whole: the parts are swapped into a `Parts` and back, which allocates
/// nothing.
fn with_parts<B, R>(request: &mut Request<B>, f: impl FnOnce(&Parts) -> R) -> R {
    fn swap<B>(request: &mut Request<B>, parts: &mut Parts) {
        std::mem::swap(request.method_mut(), &mut parts.method);
        std::mem::swap(request.uri_mut(), &mut parts.uri);
        std::mem::swap(request.version_mut(), &mut parts.version);
        std::mem::swap(request.headers_mut(), &mut parts.headers);
        std::mem::swap(request.extensions_mut(), &mut parts.extensions);
    }
    let (mut parts, ()) = Request::new(()).into_parts();
    swap(request, &mut parts);
    let result = f(&parts);
    swap(request, &mut parts);
    result
}
