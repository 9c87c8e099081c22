//! [`Sink`]: where records go; [`MemorySink`] keeps them for tests.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::writer::NonBlocking;

/// Where the access log hands each record: one line of text, without its line break.
///
/// A sink is called on the request path (when a response body ends), so it must not block:
/// the [`NonBlocking`] writer queues the line for a background thread; a closure sink must be
/// as quick. Cloning is cheap.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tower_gateway::access_log::{MemorySink, Sink};
///
/// let memory = MemorySink::new();
/// Sink::from(memory.clone()).write_line("one record");
/// assert_eq!(memory.lines(), ["one record"]);
///
/// let seen = Arc::new(Mutex::new(0));
/// let counter = seen.clone();
/// Sink::from_fn(move |line: &str| *counter.lock().unwrap() += line.len()).write_line("abc");
/// assert_eq!(*seen.lock().unwrap(), 3);
/// ```
#[derive(Clone)]
#[must_use]
pub struct Sink {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Memory(MemorySink),
    Writer(NonBlocking),
    Fn(Arc<dyn Fn(&str) + Send + Sync + 'static>),
    Discard,
    #[cfg(feature = "tracing")]
    Tracing,
}

impl Sink {
    /// A sink that calls `f` with each record. It runs on the request path: it must not block
    /// or do I/O (send the line somewhere and return).
    pub fn from_fn<F>(f: F) -> Self
    where
        F: Fn(&str) + Send + Sync + 'static,
    {
        Self {
            kind: Kind::Fn(Arc::new(f)),
        }
    }

    /// A sink that drops every record (for benchmarks of the request path).
    pub fn discard() -> Self {
        Self {
            kind: Kind::Discard,
        }
    }

    /// A sink that emits each record as an `INFO` event with target
    /// `tower_gateway::access_log` and the line as its message, for the application's
    /// `tracing` subscriber.
    #[cfg(feature = "tracing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
    pub fn tracing() -> Self {
        Self {
            kind: Kind::Tracing,
        }
    }

    /// Hands one record (without its line break) to the sink.
    pub fn write_line(&self, line: &str) {
        match &self.kind {
            Kind::Memory(memory) => memory.push(line),
            Kind::Writer(writer) => writer.write_line(line),
            Kind::Fn(f) => f(line),
            Kind::Discard => {}
            #[cfg(feature = "tracing")]
            Kind::Tracing => tracing::info!(target: "tower_gateway::access_log", "{}", line),
        }
    }
}

impl Sink {
    /// Writes the line that `render` produces. A writer sink gets it rendered straight into
    /// its queue buffer; the others get it through one per-thread buffer, checked as UTF-8
    /// once (the formats write UTF-8 only, so the lossy branch is a safety net).
    pub(super) fn write_rendered(&self, render: impl FnOnce(&mut Vec<u8>)) {
        thread_local! {
            static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
        }
        if let Kind::Writer(writer) = &self.kind {
            return writer.write_with(render);
        }
        let mut render = Some(render);
        let _ = BUFFER.try_with(|cell| {
            // A sink that logs from inside the sink finds the buffer taken: it gets a fresh one.
            if let Ok(mut buffer) = cell.try_borrow_mut() {
                if let Some(render) = render.take() {
                    buffer.clear();
                    render(&mut buffer);
                    self.write_bytes(&buffer);
                    if buffer.capacity() > 64 * 1024 {
                        *buffer = Vec::with_capacity(512);
                    }
                }
            }
        });
        if let Some(render) = render {
            let mut buffer = Vec::with_capacity(512);
            render(&mut buffer);
            self.write_bytes(&buffer);
        }
    }

    fn write_bytes(&self, line: &[u8]) {
        match std::str::from_utf8(line) {
            Ok(line) => self.write_line(line),
            Err(_) => self.write_line(&String::from_utf8_lossy(line)),
        }
    }
}

impl From<MemorySink> for Sink {
    fn from(memory: MemorySink) -> Self {
        Self {
            kind: Kind::Memory(memory),
        }
    }
}

impl<F> From<F> for Sink
where
    F: Fn(&str) + Send + Sync + 'static,
{
    /// [`Sink::from_fn`]: a closure is a sink, so `AccessLogLayer::new(|line: &str| ..)`
    /// works as `AccessLogLayer::new(Sink::from_fn(|line: &str| ..))` does.
    fn from(f: F) -> Self {
        Self::from_fn(f)
    }
}

impl From<NonBlocking> for Sink {
    fn from(writer: NonBlocking) -> Self {
        Self {
            kind: Kind::Writer(writer),
        }
    }
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Memory(m) => f.debug_tuple("Sink").field(m).finish(),
            Kind::Writer(w) => f.debug_tuple("Sink").field(w).finish(),
            Kind::Fn(_) => f.write_str("Sink(<closure>)"),
            Kind::Discard => f.write_str("Sink(Discard)"),
            #[cfg(feature = "tracing")]
            Kind::Tracing => f.write_str("Sink(Tracing)"),
        }
    }
}

/// A sink that keeps every record in memory, for tests. Clones share the same records.
///
/// It takes a lock per record: use it in tests, not in production.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct MemorySink {
    lines: Arc<Mutex<Vec<String>>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&self, line: &str) {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }

    /// A copy of the records written so far, oldest first.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the records written so far, leaving the sink empty.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// How many records were written (and not taken).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no record was written (or all were taken).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
