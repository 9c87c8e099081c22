//! [`Clock`]: where the access log reads the time, and [`ManualClock`] for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the access log reads the time: the system clock (the default) or a [`ManualClock`].
///
/// Two readings are taken: the wall-clock time the request arrived (for the date in the record)
/// and a monotonic reading at arrival, at the response headers and at the last body byte (for
/// the durations).
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

    /// Wall-clock time since the Unix epoch (zero before it).
    pub(super) fn wall(&self) -> Duration {
        match &self.kind {
            Kind::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            Kind::Manual(m) => m.start + m.elapsed(),
        }
    }

    /// A monotonic reading in nanoseconds, for differences only.
    pub(super) fn mono(&self) -> u64 {
        match &self.kind {
            Kind::System => {
                static BASE: OnceLock<Instant> = OnceLock::new();
                let base = *BASE.get_or_init(Instant::now);
                u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
            }
            Kind::Manual(m) => m.elapsed.load(Ordering::Acquire),
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
/// use tower_gateway::access_log::ManualClock;
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
