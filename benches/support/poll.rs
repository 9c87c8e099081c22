//! Driving futures without a runtime, shared by the benches: every service they time answers
//! at once, so one poll with a waker that does nothing must finish the work. Each bench
//! includes this file with `#[path = "support/poll.rs"] mod poll;`.

// Each bench uses the part it needs.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// A waker that does nothing (nothing here ever waits).
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(Noop))
}

/// Polls `future` once with a do-nothing waker; it must be ready.
pub fn poll_now<F: Future>(future: F) -> F::Output {
    thread_local! {
        static WAKER: Waker = noop_waker();
    }
    let mut future = pin!(future);
    match WAKER.with(|w| future.as_mut().poll(&mut Context::from_waker(w))) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the bench services are always ready"),
    }
}
