//! [`Clock`]: where the layers that measure time (the access log, the metrics) read it, and
//! [`ManualClock`] for tests: exact dates and durations with no sleep.
//!
//! ```
//! # #[cfg(feature = "access-log")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
//! use tower_gateway::clock::ManualClock;
//!
//! let clock = ManualClock::at_unix(1_710_078_936); // 2024-03-10T13:55:36Z
//! let sink = MemorySink::new();
//! let log = AccessLogLayer::new(sink.clone())
//!     .format(LogFormat::template("$context.requestTime $context.responseLatency")?)
//!     .clock(clock.clone());
//! let app = log.layer(service_fn(|_: Request<Full<Bytes>>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hi"))))
//! }));
//!
//! let response = app.oneshot(Request::new(Full::default())).await?;
//! clock.advance(Duration::from_millis(12)); // the client reads the body 12 ms later
//! response.into_body().collect().await?;
//! assert_eq!(sink.lines(), ["10/Mar/2024:13:55:36 +0000 12"]);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "access-log"))]
//! # fn main() {}
//! ```
// Arrival readings and dates serve the access log only.
#![cfg_attr(not(feature = "access-log"), allow(dead_code))]

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where a layer reads the time: the system clock (the default) or a [`ManualClock`].
///
/// It gives the wall-clock time the request arrived (for the date in an access-log record) and
/// monotonic readings at arrival, at the response headers and at the last body byte (for the
/// durations), each only when the layer needs it. The system clock reads once at arrival:
/// the date is that monotonic reading plus the wall/monotonic offset each thread measures
/// once a second, so it follows the system clock (steps included) within a second.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Clock {
    kind: Kind,
}

#[derive(Clone, Debug, Default)]
enum Kind {
    #[default]
    System,
    Manual(ManualClock),
}

impl Clock {
    /// The system clock: [`SystemTime`] for dates, [`Instant`] for durations.
    pub fn system() -> Self {
        Self { kind: Kind::System }
    }

    /// A monotonic reading in nanoseconds, for differences only.
    pub(crate) fn mono(&self) -> u64 {
        match &self.kind {
            Kind::System => system_mono(),
            Kind::Manual(m) => m.elapsed.load(Ordering::Acquire),
        }
    }

    /// The arrival readings: the wall-clock time (when `wall`) and a monotonic reading (when
    /// `mono`), from ONE clock read. When both are wanted, the system wall time is the monotonic reading plus the
    /// offset between the two clocks, which each thread measures once a second: it follows
    /// the system clock, steps included, within a second, and saves a clock read per request.
    pub(crate) fn arrival(&self, wall: bool, mono: bool) -> (Duration, u64) {
        match &self.kind {
            Kind::System if wall && mono => {
                let now = system_mono();
                (wall_at(now), now)
            }
            Kind::System if wall => (system_wall(), 0),
            Kind::System => (Duration::ZERO, if mono { system_mono() } else { 0 }),
            Kind::Manual(m) => {
                let elapsed = m.elapsed.load(Ordering::Acquire);
                (
                    if wall {
                        m.start + Duration::from_nanos(elapsed)
                    } else {
                        Duration::ZERO
                    },
                    if mono { elapsed } else { 0 },
                )
            }
        }
    }
}

fn system_wall() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn system_mono() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// How long a thread trusts its measured offset between the wall and monotonic clocks.
const REANCHOR_NANOS: u64 = 1_000_000_000;

/// The wall-clock time at the monotonic reading `mono`: this thread's anchor (a monotonic
/// reading and the wall time read right after it) moved forward by the monotonic time since,
/// re-read when older than a second.
fn wall_at(mono: u64) -> Duration {
    thread_local! {
        static ANCHOR: Cell<Option<(u64, Duration)>> = const { Cell::new(None) };
    }
    let anchor = ANCHOR.try_with(Cell::get).ok().flatten();
    match anchor {
        Some((at, wall)) if mono >= at && mono - at < REANCHOR_NANOS => {
            wall + Duration::from_nanos(mono - at)
        }
        _ => {
            let wall = system_wall();
            let _ = ANCHOR.try_with(|anchor| anchor.set(Some((mono, wall))));
            wall
        }
    }
}

impl From<ManualClock> for Clock {
    fn from(clock: ManualClock) -> Self {
        Self {
            kind: Kind::Manual(clock),
        }
    }
}

/// A clock that stands still until told to move: fixed dates and exact durations in tests.
///
/// Clones share the same time, so a test keeps one clone and gives another to the layer.
///
/// ```
/// use std::time::Duration;
/// use tower_gateway::clock::ManualClock;
///
/// let clock = ManualClock::at_unix(1_710_078_936); // 2024-03-10T13:55:36Z
/// clock.advance(Duration::from_millis(12));
/// assert_eq!(clock.elapsed(), Duration::from_millis(12));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ManualClock {
    start: Duration,
    elapsed: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `start` until it is advanced (times before 1970 read as 1970).
    pub fn new(start: SystemTime) -> Self {
        Self {
            start: start.duration_since(UNIX_EPOCH).unwrap_or_default(),
            elapsed: Arc::default(),
        }
    }

    /// A clock that reads `seconds` after the Unix epoch until it is advanced.
    pub fn at_unix(seconds: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    /// Moves the clock forward by `by` (saturating at about 584 years).
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .elapsed
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                Some(now.saturating_add(nanos))
            });
    }

    /// How far the clock has been advanced since it was made.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed.load(Ordering::Acquire))
    }
}
