//! [`NonBlocking`]: a writer on a background thread behind a bounded queue, and the
//! [`FlushGuard`] that drains it.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

/// Line buffers larger than this are not recycled.
const MAX_RECYCLED: usize = 16 * 1024;
/// How many emptied line buffers are kept for reuse.
const POOL: usize = 4096;
/// How many line buffers are made up front.
const PREFILL: usize = 256;
/// How long the writer sleeps after finding records.
const MIN_IDLE: Duration = Duration::from_millis(1);
/// The longest the writer sleeps while idle: the most a record waits before it is written.
const MAX_IDLE: Duration = Duration::from_millis(8);

enum Message {
    Line(Vec<u8>),
    Flush(SyncSender<()>),
    Stop,
}

struct Shared {
    queue: SyncSender<Message>,
    /// Buffers the writer thread has emptied, for reuse (taken with `try_lock`: never waits).
    free: Mutex<Receiver<Vec<u8>>>,
    dropped: Arc<AtomicU64>,
    lossy: bool,
    /// The writer thread, woken only when the queue is full (it otherwise wakes by itself).
    thread: Thread,
}

/// A sink that writes records to any [`Write`] on a background thread, through a bounded
/// queue, so the request path never does I/O.
///
/// Each record is copied into a recycled buffer (no allocation once warm) and queued, without
/// waking the thread: the thread drains the queue every millisecond while records come (at
/// most every 8 ms when idle), writes through a 64 KiB buffer and flushes after each drain.
/// When the queue is full, a *lossy* writer (the default) drops the record and counts it in
/// [`NonBlocking::dropped`]; a *blocking* one waits for room. Either wakes the thread. Keep the [`FlushGuard`] alive as long as records may come:
/// dropping it writes and flushes everything queued before, then stops the thread; records
/// after that are counted as dropped.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tower_gateway::access_log::NonBlocking;
///
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Shared {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(b);
///         Ok(b.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let out = Shared::default();
/// let (writer, guard) = NonBlocking::builder().lossy(false).spawn(out.clone())?;
/// writer.write_line("first");
/// writer.write_line("second");
/// drop(guard); // drains the queue
/// assert_eq!(out.0.lock().unwrap().as_slice(), b"first\nsecond\n");
/// assert_eq!(writer.dropped(), 0);
/// # Ok::<_, std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct NonBlocking {
    shared: Arc<Shared>,
}

/// Builds a [`NonBlocking`] writer.
#[derive(Clone, Debug)]
#[must_use]
pub struct NonBlockingBuilder {
    capacity: usize,
    lossy: bool,
    thread_name: String,
}

impl Default for NonBlockingBuilder {
    fn default() -> Self {
        Self {
            capacity: 16_384,
            lossy: true,
            thread_name: "access-log-writer".to_owned(),
        }
    }
}

impl NonBlockingBuilder {
    /// How many records the queue holds (at least 1). Default: 16,384.
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records.max(1);
        self
    }

    /// Whether a full queue drops records (`true`, the default: the request path never waits)
    /// or makes the request path wait for room (`false`: nothing is lost, but a slow writer
    /// slows every response).
    pub fn lossy(mut self, lossy: bool) -> Self {
        self.lossy = lossy;
        self
    }

    /// The writer thread's name. Default: `access-log-writer`.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Starts the writer thread.
    ///
    /// # Errors
    ///
    /// When the operating system cannot start a thread.
    pub fn spawn<W>(self, writer: W) -> io::Result<(NonBlocking, FlushGuard)>
    where
        W: Write + Send + 'static,
    {
        let (queue, rx) = mpsc::sync_channel(self.capacity);
        let pool = self.capacity.min(POOL);
        let (free_tx, free_rx) = mpsc::sync_channel(pool);
        for _ in 0..pool.min(PREFILL) {
            let _ = free_tx.try_send(Vec::with_capacity(256));
        }
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let handle = std::thread::Builder::new()
            .name(self.thread_name)
            .spawn(move || run(writer, &rx, &free_tx, &lost))?;
        let shared = Arc::new(Shared {
            queue: queue.clone(),
            free: Mutex::new(free_rx),
            dropped,
            lossy: self.lossy,
            thread: handle.thread().clone(),
        });
        Ok((
            NonBlocking { shared },
            FlushGuard {
                queue,
                thread: Some(handle),
            },
        ))
    }
}

impl NonBlocking {
    /// A lossy writer with the default queue (16,384 records).
    ///
    /// # Errors
    ///
    /// When the operating system cannot start a thread.
    pub fn new<W>(writer: W) -> io::Result<(Self, FlushGuard)>
    where
        W: Write + Send + 'static,
    {
        Self::builder().spawn(writer)
    }

    /// Settings for a writer.
    pub fn builder() -> NonBlockingBuilder {
        NonBlockingBuilder::default()
    }

    /// Queues one record; a line break is added.
    pub fn write_line(&self, line: &str) {
        self.write_with(|buffer| buffer.extend_from_slice(line.as_bytes()));
    }

    /// Queues one record that `render` writes straight into a recycled buffer (no copy, no
    /// UTF-8 check: the access log's formats write UTF-8 only); a line break is added.
    pub(crate) fn write_with(&self, render: impl FnOnce(&mut Vec<u8>)) {
        let shared = &*self.shared;
        let recycled = match shared.free.try_lock() {
            Ok(free) => free.try_recv().ok(),
            Err(TryLockError::Poisoned(free)) => free.into_inner().try_recv().ok(),
            Err(TryLockError::WouldBlock) => None,
        };
        let mut buffer = recycled.unwrap_or_else(|| Vec::with_capacity(256));
        buffer.clear();
        render(&mut buffer);
        buffer.push(b'\n');
        let sent = match shared.queue.try_send(Message::Line(buffer)) {
            Ok(()) => true,
            Err(TrySendError::Full(message)) => {
                shared.thread.unpark(); // the writer sleeps: wake it to drain
                !shared.lossy && shared.queue.send(message).is_ok()
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        if !sent {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many records were dropped: queue full (lossy writer), writer thread stopped, or
    /// the write failed.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for NonBlocking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonBlocking")
            .field("lossy", &self.shared.lossy)
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// Keeps the writer thread of a [`NonBlocking`] writer; dropping it writes and flushes every
/// record queued before, then stops the thread.
#[must_use = "dropping the guard stops the writer thread"]
pub struct FlushGuard {
    queue: SyncSender<Message>,
    thread: Option<JoinHandle<()>>,
}

impl FlushGuard {
    /// Waits until every record queued before this call is written and flushed.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.send(Message::Flush(ack)) {
            let _ = done.recv();
        }
    }

    /// Queues a control message and wakes the writer.
    fn send(&self, message: Message) -> bool {
        let queued = match self.queue.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(message)) => {
                self.wake();
                self.queue.send(message).is_ok()
            }
            Err(TrySendError::Disconnected(_)) => false,
        };
        self.wake();
        queued
    }

    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for FlushGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlushGuard")
    }
}

/// The writer thread. Producers never wake it per record (a wake-up is a system call on the
/// request path); it drains the queue, flushes, and sleeps: 1 ms after finding records,
/// doubling up to [`MAX_IDLE`] while idle. A full queue, a flush or a stop wakes it at once.
fn run<W: Write>(
    writer: W,
    queue: &Receiver<Message>,
    free: &SyncSender<Vec<u8>>,
    lost: &AtomicU64,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, writer);
    let mut acks = Vec::new();
    let mut idle = MIN_IDLE;
    let mut stop = false;
    while !stop {
        let mut found = false;
        loop {
            match queue.try_recv() {
                Ok(Message::Line(mut line)) => {
                    found = true;
                    // A failed flush keeps the buffer to try again; a record that finds it
                    // full and the writer still failing is lost: the log must not stop the
                    // server.
                    if out.write_all(&line).is_err() {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                    if line.capacity() <= MAX_RECYCLED {
                        line.clear();
                        let _ = free.try_send(line);
                    }
                }
                Ok(Message::Flush(ack)) => acks.push(ack),
                Ok(Message::Stop) | Err(TryRecvError::Disconnected) => {
                    stop = true;
                    break;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if found || !acks.is_empty() || stop {
            let _ = out.flush();
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
        if !stop {
            idle = if found {
                MIN_IDLE
            } else {
                (idle * 2).min(MAX_IDLE)
            };
            std::thread::park_timeout(idle);
        }
    }
    // Records still buffered after the last flush failed are lost: count them (each ends
    // with its line break) and drop them without another attempt.
    let unwritten = out.buffer().iter().filter(|&&b| b == b'\n').count();
    lost.fetch_add(
        u64::try_from(unwritten).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    let _ = out.into_parts();
    // Records queued after the stop are lost: count them.
    while let Ok(message) = queue.try_recv() {
        if matches!(message, Message::Line(_)) {
            lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}
