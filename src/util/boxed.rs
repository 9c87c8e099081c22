//! A boxed, cloneable, `Send + Sync` service: how route targets of different types share one
//! table. The service is boxed once at build time, behind a reference count, so a clone costs
//! one count; each call readies a clone of the concrete service and boxes its future.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use super::oneshot::Oneshot;

/// The boxed future of a [`BoxService`].
pub(crate) type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

trait CloneService<Req, T, E>: Send + Sync {
    /// Drives a clone of the service to readiness and calls it, in one boxed future. A clone
    /// that is ready at once is called at once.
    fn oneshot_box(&self, req: Req) -> BoxFuture<T, E>
    where
        Req: Send + 'static;
}

impl<S, Req, T, E> CloneService<Req, T, E> for S
where
    S: Service<Req, Response = T, Error = E> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    fn oneshot_box(&self, req: Req) -> BoxFuture<T, E>
    where
        Req: Send + 'static,
    {
        // The clone is asked once, with a waker that does nothing, whether it is ready, and
        // called at once when it is: the box then holds only the service's own future, and
        // the request moves straight into `call` instead of into the box first. Otherwise
        // (not ready yet, or failed: the box cannot hold an error that is not `Send`) the
        // box asks again with the task's own waker and reports what the service says.
        let mut service = self.clone();
        if super::ready_now(&mut service) {
            Box::pin(service.call(req))
        } else {
            Box::pin(Oneshot::new(service, req))
        }
    }
}

/// A type-erased `Service<Req, Response = T, Error = E> + Clone + Send + Sync`, always ready:
/// each call readies a clone of the service inside the call's future (as a route target
/// is driven), so clones share one box and cost a reference count.
pub(crate) struct BoxService<Req, T, E> {
    inner: Arc<dyn CloneService<Req, T, E>>,
}

impl<Req, T, E> BoxService<Req, T, E>
where
    Req: 'static,
    T: 'static,
    E: 'static,
{
    /// Boxes `service`; a service that is already a `BoxService` is kept as it is (boxing
    /// it again would box every future twice).
    pub(crate) fn new<S>(service: S) -> Self
    where
        S: Service<Req, Response = T, Error = E> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
    {
        if let Some(boxed) = (&service as &dyn Any).downcast_ref::<Self>() {
            return boxed.clone();
        }
        Self {
            inner: Arc::new(service),
        }
    }
}

impl<Req: Send + 'static, T, E> BoxService<Req, T, E> {
    /// A future that readies a clone of this service and calls it with `req` (what
    /// `Oneshot::new(self.clone(), req)` does, with one allocation instead of two).
    pub(crate) fn oneshot(&self, req: Req) -> BoxFuture<T, E> {
        self.inner.oneshot_box(req)
    }
}

impl<Req, T, E> Clone for BoxService<Req, T, E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<Req: Send + 'static, T, E> Service<Req> for BoxService<Req, T, E> {
    type Response = T;
    type Error = E;
    type Future = BoxFuture<T, E>;

    /// Always ready: the service is readied inside the call's future.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.inner.oneshot_box(req)
    }
}

impl<Req, T, E> fmt::Debug for BoxService<Req, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxService")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[derive(Clone)]
    struct Double;

    impl Service<u32> for Double {
        type Response = u32;
        type Error = Infallible;
        type Future = std::future::Ready<Result<u32, Infallible>>;
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, n: u32) -> Self::Future {
            std::future::ready(Ok(2 * n))
        }
    }

    #[test]
    fn clones_share_one_box_and_a_boxed_service_is_not_boxed_again() {
        let boxed = BoxService::new(Double);
        let again = BoxService::new(boxed.clone());
        assert!(Arc::ptr_eq(&boxed.inner, &again.inner));
        let mut cx = Context::from_waker(crate::util::noop_waker());
        let mut future = again.oneshot(21);
        assert!(matches!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(42))));
    }
}
