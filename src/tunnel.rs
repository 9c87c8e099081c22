//! [`Tunnel`]: the record of one upgraded connection (a WebSocket), shared by the proxy that
//! copies its bytes and the layers that report on it.
//!
//! A proxy that answers `101 Switching Protocols` and then copies bytes both ways puts a
//! [`Tunnel`] into the `101` response's extensions, counts the bytes into it while copying, and
//! closes it with a [`TunnelOutcome`] when either side ends. Outer layers find the handle in the
//! response extensions and register [`Tunnel::on_close`] to be told, once, how the connection
//! ended: the access log writes its record for the connection then, not at the `101`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
//!
//! let tunnel = Tunnel::new();
//! // An observer (an access log) registers while the connection is open...
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = Arc::clone(&seen);
//! tunnel.on_close(Box::new(move |summary| {
//!     log.lock().unwrap().push((summary.bytes_in(), summary.bytes_out(), summary.outcome()));
//! }));
//! // ...the proxy counts while it copies, then closes the tunnel once.
//! let proxy = tunnel.clone();
//! proxy.add_bytes_in(5);
//! proxy.add_bytes_out(7);
//! assert!(proxy.close(TunnelOutcome::Normal));
//! assert!(!proxy.close(TunnelOutcome::IdleTimeout)); // the first outcome stays
//!
//! assert_eq!(*seen.lock().unwrap(), [(5, 7, TunnelOutcome::Normal)]);
//! let summary = tunnel.summary().unwrap();
//! assert!(!summary.outcome().is_abnormal());
//! ```
//!
//! A `Tunnel` is an [`Arc`] of atomics (and a lock taken only to register or fire the
//! callbacks): cloning is one reference-count bump, counting one relaxed atomic add. When the
//! last handle is dropped before anyone closed it, it closes itself as
//! [`TunnelOutcome::Abnormal`] (`"tunnel dropped"`), so callbacks always run exactly once.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A callback told once how a [`Tunnel`] ended; see [`Tunnel::on_close`].
pub type OnClose = Box<dyn FnOnce(&TunnelSummary) + Send + 'static>;

/// A cheap, cloneable handle on one upgraded connection: bytes copied each way, and how it
/// ended. See the [module docs](self).
#[derive(Clone, Default)]
pub struct Tunnel {
    shared: Arc<Shared>,
}

struct Shared {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    closed: AtomicBool,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    ended: Option<(TunnelOutcome, Duration)>,
    callbacks: Vec<OnClose>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }
}

/// How a [`Tunnel`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TunnelOutcome {
    /// One side closed its connection cleanly (end of stream); the other was then closed.
    Normal,
    /// The tunnel ended on an error (a reset, a failed write, an upgrade that never
    /// completed), with a short reason.
    Abnormal(&'static str),
    /// No byte moved either way for the configured idle time; the proxy closed both sides.
    IdleTimeout,
}

impl TunnelOutcome {
    /// Whether the tunnel ended other than by a clean close ([`Abnormal`](Self::Abnormal) or
    /// [`IdleTimeout`](Self::IdleTimeout)).
    #[must_use]
    pub fn is_abnormal(&self) -> bool {
        !matches!(self, Self::Normal)
    }

    /// A short reason for an abnormal end, `None` for a normal close.
    #[must_use]
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Normal => None,
            Self::Abnormal(reason) => Some(reason),
            Self::IdleTimeout => Some("idle timeout"),
        }
    }
}

impl fmt::Display for TunnelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason().unwrap_or("closed"))
    }
}

/// What a closed [`Tunnel`] carried, and how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelSummary {
    bytes_in: u64,
    bytes_out: u64,
    outcome: TunnelOutcome,
    duration: Duration,
}

impl TunnelSummary {
    /// Bytes copied from the client to the upstream.
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// Bytes copied from the upstream to the client.
    #[must_use]
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }

    /// How the tunnel ended.
    #[must_use]
    pub fn outcome(&self) -> TunnelOutcome {
        self.outcome
    }

    /// From the tunnel's creation (at the handshake) to its close.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl Tunnel {
    /// An open tunnel with no byte counted; its clock starts now.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `n` bytes copied from the client to the upstream.
    pub fn add_bytes_in(&self, n: u64) {
        self.shared.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` bytes copied from the upstream to the client.
    pub fn add_bytes_out(&self, n: u64) {
        self.shared.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes copied from the client to the upstream so far.
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.shared.bytes_in.load(Ordering::Relaxed)
    }

    /// Bytes copied from the upstream to the client so far.
    #[must_use]
    pub fn bytes_out(&self) -> u64 {
        self.shared.bytes_out.load(Ordering::Relaxed)
    }

    /// Whether the tunnel has been closed.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// The summary of a closed tunnel; `None` while it is open.
    #[must_use]
    pub fn summary(&self) -> Option<TunnelSummary> {
        let state = self.shared.lock();
        state
            .ended
            .map(|(outcome, duration)| self.shared.summary(outcome, duration))
    }

    /// Closes the tunnel with `outcome` and runs every registered callback, once, on this
    /// thread. Returns `false` (and changes nothing) when it was already closed: the first
    /// outcome is the one reported.
    pub fn close(&self, outcome: TunnelOutcome) -> bool {
        self.shared.close(outcome)
    }

    /// Registers `callback`, called exactly once with the [`TunnelSummary`] when the tunnel
    /// closes, on the thread that closes it; at once, on this thread, if it is already closed.
    ///
    /// Callbacks run on the proxy's copying task: they must be quick and must not block (the
    /// access log formats a line and hands it to its sink). A callback that keeps a clone of
    /// this tunnel keeps it alive: then only an explicit [`close`](Self::close) ends it.
    pub fn on_close(&self, callback: OnClose) {
        let mut state = self.shared.lock();
        match state.ended {
            Some((outcome, duration)) => {
                drop(state);
                callback(&self.shared.summary(outcome, duration));
            }
            None => state.callbacks.push(callback),
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A callback never runs under the lock, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn summary(&self, outcome: TunnelOutcome, duration: Duration) -> TunnelSummary {
        TunnelSummary {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            outcome,
            duration,
        }
    }

    fn close(&self, outcome: TunnelOutcome) -> bool {
        let mut state = self.lock();
        if state.ended.is_some() {
            return false;
        }
        let duration = self.started.elapsed();
        state.ended = Some((outcome, duration));
        self.closed.store(true, Ordering::Release);
        let callbacks = std::mem::take(&mut state.callbacks);
        drop(state);
        let summary = self.summary(outcome, duration);
        for callback in callbacks {
            callback(&summary);
        }
        true
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Nobody closed it and nobody can any more: tell the observers it was lost.
        self.close(TunnelOutcome::Abnormal("tunnel dropped"));
    }
}

impl fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tunnel")
            .field("bytes_in", &self.bytes_in())
            .field("bytes_out", &self.bytes_out())
            .field("closed", &self.is_closed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counter() -> (Arc<AtomicUsize>, Arc<Mutex<Option<TunnelSummary>>>) {
        (Arc::default(), Arc::default())
    }

    fn register(tunnel: &Tunnel) -> (Arc<AtomicUsize>, Arc<Mutex<Option<TunnelSummary>>>) {
        let (calls, last) = counter();
        let (c, l) = (Arc::clone(&calls), Arc::clone(&last));
        tunnel.on_close(Box::new(move |s| {
            c.fetch_add(1, Ordering::SeqCst);
            *l.lock().unwrap() = Some(*s);
        }));
        (calls, last)
    }

    #[test]
    fn callbacks_run_once_with_the_first_outcome() {
        let tunnel = Tunnel::new();
        let (a, last) = register(&tunnel);
        let (b, _) = register(&tunnel);
        tunnel.add_bytes_in(3);
        tunnel.add_bytes_out(4);
        tunnel.add_bytes_in(2);
        assert_eq!((tunnel.bytes_in(), tunnel.bytes_out()), (5, 4));
        assert!(!tunnel.is_closed());
        assert!(tunnel.summary().is_none());
        assert!(tunnel.close(TunnelOutcome::Abnormal("reset")));
        assert!(!tunnel.close(TunnelOutcome::Normal));
        assert_eq!(a.load(Ordering::SeqCst), 1);
        assert_eq!(b.load(Ordering::SeqCst), 1);
        let s = last.lock().unwrap().unwrap();
        assert_eq!((s.bytes_in(), s.bytes_out()), (5, 4));
        assert_eq!(s.outcome(), TunnelOutcome::Abnormal("reset"));
        assert!(s.outcome().is_abnormal());
        assert_eq!(s.outcome().reason(), Some("reset"));
        assert!(tunnel.is_closed());
        assert_eq!(tunnel.summary(), Some(s));
    }

    #[test]
    fn registering_after_close_runs_at_once() {
        let tunnel = Tunnel::new();
        tunnel.close(TunnelOutcome::IdleTimeout);
        let (calls, last) = register(&tunnel);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let s = last.lock().unwrap().unwrap();
        assert_eq!(s.outcome(), TunnelOutcome::IdleTimeout);
        assert_eq!(s.outcome().reason(), Some("idle timeout"));
        assert_eq!(TunnelOutcome::Normal.to_string(), "closed");
    }

    #[test]
    fn dropping_the_last_handle_closes_abnormally() {
        let tunnel = Tunnel::new();
        let clone = tunnel.clone();
        let (calls, last) = register(&tunnel);
        drop(tunnel);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        drop(clone);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let outcome = last.lock().unwrap().unwrap().outcome();
        assert_eq!(outcome, TunnelOutcome::Abnormal("tunnel dropped"));
    }

    #[test]
    fn a_callback_may_use_the_tunnel() {
        // No lock is held while callbacks run: one may read the tunnel, or register another.
        let tunnel = Tunnel::new();
        let inner = tunnel.clone();
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        tunnel.on_close(Box::new(move |_| {
            assert!(inner.summary().is_some());
            let c2 = Arc::clone(&c);
            inner.on_close(Box::new(move |_| {
                c2.fetch_add(1, Ordering::SeqCst);
            }));
        }));
        tunnel.close(TunnelOutcome::Normal);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn is_send_sync_and_cheap_to_clone() {
        crate::test_helpers::assert_send_sync::<Tunnel>();
        crate::test_helpers::assert_send_sync::<TunnelSummary>();
        assert_eq!(std::mem::size_of::<Tunnel>(), std::mem::size_of::<usize>());
    }
}
