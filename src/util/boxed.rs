//! A boxed, cloneable, `Send + Sync` service: how route targets of different types share one
//! table. The service is boxed once at build time; each call boxes its future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower_service::Service;

use super::oneshot::Oneshot;

/// The boxed future of a [`BoxService`].
pub(crate) type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

trait CloneService<Req, T, E>:
    Service<Req, Response = T, Error = E, Future = BoxFuture<T, E>> + Send + Sync
{
    fn clone_box(&self) -> Box<dyn CloneService<Req, T, E>>;

    /// Drives a clone of the service to readiness and calls it, in one boxed future: one
    /// allocation, where cloning the boxed service and boxing its future takes two. A clone
    /// that is ready at once is called at once.
    fn oneshot_box(&self, req: Req) -> BoxFuture<T, E>
    where
        Req: Send + 'static;
}

impl<S, Req, T, E> CloneService<Req, T, E> for Boxing<S>
where
    S: Service<Req, Response = T, Error = E> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    fn clone_box(&self) -> Box<dyn CloneService<Req, T, E>> {
        Box::new(self.clone())
    }

    fn oneshot_box(&self, req: Req) -> BoxFuture<T, E>
    where
        Req: Send + 'static,
    {
        // The clone is asked once, with a waker that does nothing, whether it is ready, and
        // called at once when it is: the box then holds only the service's own future, and
        // the request moves straight into `call` instead of into the box first. Otherwise
        // (not ready yet, or failed: the box cannot hold an error that is not `Send`) the
        // box asks again with the task's own waker and reports what the service says.
        let mut service = self.0.clone();
        match service.poll_ready(&mut Context::from_waker(super::noop_waker())) {
            Poll::Ready(Ok(())) => Box::pin(service.call(req)),
            _ => Box::pin(Oneshot::new(service, req)),
        }
    }
}

#[derive(Clone)]
struct Boxing<S>(S);

impl<S, Req> Service<Req> for Boxing<S>
where
    S: Service<Req>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        Box::pin(self.0.call(req))
    }
}

/// A type-erased `Service<Req, Response = T, Error = E> + Clone + Send + Sync`.
pub(crate) struct BoxService<Req, T, E> {
    inner: Box<dyn CloneService<Req, T, E>>,
}

impl<Req, T, E> BoxService<Req, T, E> {
    pub(crate) fn new<S>(service: S) -> Self
    where
        S: Service<Req, Response = T, Error = E> + Clone + Send + Sync + 'static,
        S::Future: Send + 'static,
    {
        Self {
            inner: Box::new(Boxing(service)),
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
            inner: self.inner.clone_box(),
        }
    }
}

impl<Req, T, E> Service<Req> for BoxService<Req, T, E> {
    type Response = T;
    type Error = E;
    type Future = BoxFuture<T, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        self.inner.call(req)
    }
}

impl<Req, T, E> fmt::Debug for BoxService<Req, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxService")
    }
}
