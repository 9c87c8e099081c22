//! Small pieces shared by several layers.

#![allow(dead_code, unreachable_pub)] // each piece is used by whichever layers are enabled

pub(crate) mod boxed;
pub(crate) mod client;
pub(crate) mod header;
pub(crate) mod host;
pub(crate) mod oneshot;
pub(crate) mod words;

/// A waker that does nothing, made once: for asking a service whether it is ready before
/// there is a task to wake (a `Pending` answer is asked again inside the response future).
pub(crate) fn noop_waker() -> &'static std::task::Waker {
    use std::sync::{Arc, OnceLock};
    use std::task::{Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    static NOOP: OnceLock<Waker> = OnceLock::new();
    NOOP.get_or_init(|| Waker::from(Arc::new(Noop)))
}

/// Whether `service` says it is ready when asked with [`noop_waker`]: the check made before
/// calling a service at once. `false` (not ready yet, or failed) means "ask again inside the
/// response future, with the task's own waker".
pub(crate) fn ready_now<S: tower_service::Service<Req>, Req>(service: &mut S) -> bool {
    let mut cx = std::task::Context::from_waker(noop_waker());
    matches!(service.poll_ready(&mut cx), std::task::Poll::Ready(Ok(())))
}
