//! Small pieces shared by several layers.

#![allow(dead_code, unreachable_pub)] // each piece is used by whichever layers are enabled

pub(crate) mod boxed;
pub(crate) mod header;
pub(crate) mod oneshot;

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
