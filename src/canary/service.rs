//! [`CanarySplit`]: the service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::request::Parts;
use http::{Request, Response};
use tower_service::Service;

use super::control::{CanaryHandle, Control, Plan};
use super::future::ResponseFuture;
use super::rng::Rng;
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
/// Cloning clones the stable service, bumps one reference count and seeds a new random
/// generator from the thread's own stream, so clones draw independently (a router clones its
/// target for every request).
pub struct CanarySplit<S, C> {
    pub(super) inner: S,
    /// The canary arms and the settings, behind one reference count.
    pub(super) shared: Arc<Shared<C>>,
    pub(super) rng: Rng,
}

/// What every instance of a split shares: its canary arms and its [`Control`] (which the
/// handles share too).
pub(super) struct Shared<C> {
    pub(super) control: Arc<Control>,
    pub(super) arms: Box<[C]>,
}

impl<S, C> CanarySplit<S, C> {
    pub(super) fn new(inner: S, shared: Arc<Shared<C>>) -> Self {
        Self {
            inner,
            rng: shared.control.rng(),
            shared,
        }
    }
}

impl<S: Clone, C> Clone for CanarySplit<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            rng: self.shared.control.rng(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CanarySplit<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CanarySplit")
            .field("inner", &self.inner)
            .field("control", &self.shared.control)
            .finish_non_exhaustive()
    }
}

impl<C> CanarySplit<(), C> {
    /// The two-arm layer: same as [`CanaryLayer::new`](super::CanaryLayer::new). Defined on
    /// `CanarySplit<(), C>` so that a bare `CanarySplit::layer(canary, weight)` needs no type
    /// annotation.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_gateway::canary::CanarySplit;
    /// # let v1 = tower::service_fn(|_: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(())) });
    /// # let v2 = v1.clone();
    ///
    /// let split = CanarySplit::layer(v2, "10%")?.layer(v1);
    /// # let _ = split;
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
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
}

impl<S, C> CanarySplit<S, C> {
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
        self.shared.control.pick(parts)
    }

    /// A handle that reads and changes the weights at run time.
    #[must_use]
    pub fn handle(&self) -> CanaryHandle {
        CanaryHandle {
            control: Arc::clone(&self.shared.control),
        }
    }

    define_inner_service_accessors!();
}

/// Calls the arm at `$index` of `$split` with `$request`, returning the response future, with
/// `$tag` to put on the answer. The chosen arm is asked once, with a waker that does nothing,
/// whether it is ready, and called at once when it is, so the common case keeps no request in
/// the future; otherwise the future readies it with the task's own waker. The request is
/// moved only into the arm's `call` on this path. A macro, not a function, so that the request
/// is not moved (copied) once more on its way.
macro_rules! start {
    ($split:expr, $index:expr, $request:expr, $tag:expr) => {{
        let split = $split;
        let shared = &*split.shared;
        let mut cx = Context::from_waker(&shared.control.noop);
        match $index.checked_sub(1).and_then(|i| shared.arms.get(i)) {
            None => match split.inner.poll_ready(&mut cx) {
                Poll::Ready(Ok(())) => ResponseFuture::stable(split.inner.call($request), $tag),
                Poll::Ready(Err(error)) => ResponseFuture::failed(error),
                Poll::Pending => {
                    // The service asked (which may hold a reservation it made, such as a
                    // buffer slot) goes into the future; a clone takes its place, as
                    // `tower::ServiceExt::ready` users do with `mem::replace`.
                    let clone = split.inner.clone();
                    let asked = std::mem::replace(&mut split.inner, clone);
                    ResponseFuture::stable_pending(asked, $request, $tag)
                }
            },
            Some(canary) => {
                let mut canary = canary.clone();
                match canary.poll_ready(&mut cx) {
                    Poll::Ready(Ok(())) => ResponseFuture::canary(canary.call($request), $tag),
                    Poll::Ready(Err(error)) => ResponseFuture::failed(error),
                    Poll::Pending => ResponseFuture::canary_pending(canary, $request, $tag),
                }
            }
        }
    }};
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

    /// Always inlined: the common cases (a random or two-arm round-robin split with nothing
    /// to put on the request or the answer) are a few dozen instructions, and a call that
    /// is not inlined costs its frame and hands back a future the caller cannot see into
    /// (measured: 21 instructions and about 4.5 ns per call). The other cases are one call
    /// away.
    #[inline(always)]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let control = &*self.shared.control;
        if !control.tagging {
            let index = match control.plan {
                Plan::Random => {
                    let rng = &mut self.rng;
                    control.choose_random(&request, || rng.next_u64())
                }
                Plan::RoundRobinOfTwo => control.choose_round_robin_of_two(&request),
                _ => return self.call_other(request),
            };
            return start!(self, index, request, None);
        }
        self.call_other(request)
    }
}

impl<S, C> CanarySplit<S, C> {
    /// `call` for the other splits: sticky, round-robin over more than two arms, and those
    /// that put the arm on the request or the answer.
    #[inline(never)]
    fn call_other<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S, C, Request<ReqBody>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        C: Service<Request<ReqBody>, Response = Response<ResBody>, Error = S::Error> + Clone,
    {
        let control = &*self.shared.control;
        let rng = &mut self.rng;
        let index = match control.plan {
            Plan::KeyedByParts => return self.call_keyed_by_parts(request),
            _ => control.choose(&request, || rng.next_u64()),
        };
        self.start_tagged(index, request)
    }

    /// Starts the call of arm `index`, first putting the arm on the request when the split
    /// tags. Inlined into its two callers, both off the common path, so the request is not
    /// moved once more on its way.
    #[inline(always)]
    fn start_tagged<ReqBody, ResBody>(
        &mut self,
        index: usize,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S, C, Request<ReqBody>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        C: Service<Request<ReqBody>, Response = Response<ResBody>, Error = S::Error> + Clone,
    {
        let control = &*self.shared.control;
        if control.tagging {
            // A new binding: the reference that tagging takes makes the compiler copy the
            // request, on this path only.
            let mut request = request;
            let tag = control.tag(index, &mut request);
            return start!(self, index, request, Some(tag));
        }
        start!(self, index, request, None)
    }
}

impl<S, C> CanarySplit<S, C> {
    /// `call` for a split keyed by a function of the request's parts. Kept apart: a reference
    /// to the whole request anywhere in `call` makes the compiler copy the request on every
    /// call, in every mode.
    #[inline(never)]
    fn call_keyed_by_parts<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
    ) -> ResponseFuture<S, C, Request<ReqBody>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        C: Service<Request<ReqBody>, Response = Response<ResBody>, Error = S::Error> + Clone,
    {
        let control = &*self.shared.control;
        let rng = &mut self.rng;
        let index = with_parts(&mut request, |parts| {
            control.choose(parts, || rng.next_u64())
        });
        self.start_tagged(index, request)
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
