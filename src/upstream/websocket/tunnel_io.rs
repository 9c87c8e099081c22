//! The copying half of a WebSocket proxy: waits for both upgrades, then moves bytes both ways
//! until one side closes, an error, or the idle timeout; counts them into the [`Tunnel`].

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Instant, Sleep};

use crate::tunnel::{Tunnel, TunnelOutcome};

/// The size of each direction's buffer.
const BUFFER: usize = 8 * 1024;

/// The two upgrade handles of one proxied WebSocket.
pub(super) struct Upgrades {
    /// The client's connection, upgraded once the `101` is written to it.
    pub(super) client: OnUpgrade,
    /// The backend's connection, upgraded once its `101` is read.
    pub(super) backend: OnUpgrade,
}

/// Runs the tunnel to its end and says how it ended.
pub(super) async fn pump(
    upgrades: Upgrades,
    tunnel: &Tunnel,
    idle: Option<Duration>,
) -> TunnelOutcome {
    let both = async {
        let backend = upgrades
            .backend
            .await
            .map_err(|_| TunnelOutcome::Abnormal("upstream upgrade failed"))?;
        let client = upgrades
            .client
            .await
            .map_err(|_| TunnelOutcome::Abnormal("client upgrade failed"))?;
        Ok::<_, TunnelOutcome>((TokioIo::new(client), TokioIo::new(backend)))
    };
    let upgraded = match idle {
        Some(limit) => match tokio::time::timeout(limit, both).await {
            Ok(result) => result,
            Err(_) => Err(TunnelOutcome::IdleTimeout),
        },
        None => both.await,
    };
    match upgraded {
        Ok((client, backend)) => copy_tunnel(client, backend, tunnel, idle).await,
        Err(outcome) => outcome,
    }
}

/// Copies bytes both ways between `client` and `backend` until one side ends (its end is
/// passed on as a write shutdown of the other, then both are dropped), an I/O error, or
/// `idle_timeout` without a byte moving either way; counts the bytes into `tunnel` as they
/// are written (client → backend as [`Tunnel::add_bytes_in`], the other way as
/// [`Tunnel::add_bytes_out`]) and returns how it ended. It does not close `tunnel`: the
/// caller does, with the outcome.
///
/// This is the copying half of [`WebSocketUpstream`](super::WebSocketUpstream), for proxies
/// that do their own upgrade: any two Tokio byte streams work (upgraded connections through
/// `hyper_util::rt::TokioIo`, TCP streams, in-memory pipes). Each direction has an 8 KiB
/// buffer; backpressure is kept (a side is read only when what it sent was written).
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tower_gateway::tunnel::{Tunnel, TunnelOutcome};
/// use tower_gateway::upstream::copy_tunnel;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (mut client, client_side) = tokio::io::duplex(64);
/// let (backend_side, mut backend) = tokio::io::duplex(64);
/// let tunnel = Tunnel::new();
/// let proxy = tokio::spawn({
///     let tunnel = tunnel.clone();
///     async move { copy_tunnel(client_side, backend_side, &tunnel, None).await }
/// });
/// client.write_all(b"ping").await.unwrap();
/// let mut got = [0; 4];
/// backend.read_exact(&mut got).await.unwrap();
/// backend.write_all(b"pong!").await.unwrap();
/// client.read_exact(&mut [0; 5]).await.unwrap();
/// drop(client); // the client goes away: the backend sees the end too
/// assert_eq!(backend.read(&mut got).await.unwrap(), 0);
/// assert_eq!(proxy.await.unwrap(), TunnelOutcome::Normal);
/// assert_eq!((tunnel.bytes_in(), tunnel.bytes_out()), (4, 5));
/// # }
/// ```
pub async fn copy_tunnel<C, B>(
    client: C,
    backend: B,
    tunnel: &Tunnel,
    idle_timeout: Option<Duration>,
) -> TunnelOutcome
where
    C: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let mut copy = Copy {
        client,
        backend,
        to_backend: Half::new(),
        to_client: Half::new(),
        idle: idle_timeout.map(|limit| (limit, Box::pin(sleep(limit)))),
        closing: None,
    };
    poll_fn(|cx| copy.poll(cx, tunnel)).await
}

/// One direction: bytes read from one side, waiting to be written to the other.
struct Half {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes were written to the other side since its last flush.
    unflushed: bool,
}

impl Half {
    fn new() -> Self {
        Self {
            buf: vec![0; BUFFER].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            unflushed: false,
        }
    }

    /// Moves bytes from `from` to `to` until both would block; `Ready(Ok)` at the end of
    /// `from` with everything written. Adds the bytes written to `moved`.
    ///
    /// Reads into the free end of the buffer while earlier bytes wait to be written (so a
    /// slow writer does not stall the reader, and small reads make large writes), and flushes
    /// `to` before waiting with an empty buffer.
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut from: Pin<&mut R>,
        mut to: Pin<&mut W>,
        moved: &mut u64,
    ) -> Poll<Result<(), &'static str>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            let mut progress = false;
            if !self.eof && self.end < self.buf.len() {
                let free = self.buf.get_mut(self.end..).unwrap_or_default();
                let mut read = ReadBuf::new(free);
                match from.as_mut().poll_read(cx, &mut read) {
                    Poll::Ready(Ok(())) => {
                        let n = read.filled().len();
                        self.end += n;
                        self.eof = n == 0;
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(reason(&e))),
                    Poll::Pending => {}
                }
            }
            if self.start < self.end {
                let pending = self.buf.get(self.start..self.end).unwrap_or_default();
                match to.as_mut().poll_write(cx, pending) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err("write returned zero")),
                    Poll::Ready(Ok(n)) => {
                        self.start += n;
                        *moved += n as u64;
                        if self.start == self.end {
                            self.start = 0;
                            self.end = 0;
                        }
                        self.unflushed = true;
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(reason(&e))),
                    Poll::Pending => {}
                }
            }
            let drained = self.start == self.end;
            if drained && self.unflushed && (self.eof || !progress) {
                match to.as_mut().poll_flush(cx) {
                    Poll::Ready(Ok(())) => self.unflushed = false,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(reason(&e))),
                    Poll::Pending if self.eof => return Poll::Pending,
                    Poll::Pending => {}
                }
            }
            if drained && self.eof && !self.unflushed {
                return Poll::Ready(Ok(()));
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }
}

fn reason(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::BrokenPipe => "broken pipe",
        io::ErrorKind::UnexpectedEof => "unexpected end of stream",
        io::ErrorKind::TimedOut => "i/o timed out",
        _ => "i/o error",
    }
}

struct Copy<C, B> {
    client: C,
    backend: B,
    to_backend: Half,
    to_client: Half,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    /// Set once one side has ended: the outcome, while both write sides are shut down.
    closing: Option<TunnelOutcome>,
}

impl<C, B> Copy<C, B>
where
    C: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    fn poll(&mut self, cx: &mut Context<'_>, tunnel: &Tunnel) -> Poll<TunnelOutcome> {
        if let Some(outcome) = self.closing {
            return self.poll_close(cx, outcome);
        }
        let (mut up, mut down) = (0, 0);
        let to_backend = self.to_backend.poll_copy(
            cx,
            Pin::new(&mut self.client),
            Pin::new(&mut self.backend),
            &mut up,
        );
        let to_client = self.to_client.poll_copy(
            cx,
            Pin::new(&mut self.backend),
            Pin::new(&mut self.client),
            &mut down,
        );
        if up > 0 {
            tunnel.add_bytes_in(up);
        }
        if down > 0 {
            tunnel.add_bytes_out(down);
        }
        let outcome = match (to_backend, to_client) {
            (Poll::Ready(Err(reason)), _) | (_, Poll::Ready(Err(reason))) => {
                Some(TunnelOutcome::Abnormal(reason))
            }
            // One side closed and everything it sent was delivered: close the other.
            (Poll::Ready(Ok(())), _) | (_, Poll::Ready(Ok(()))) => Some(TunnelOutcome::Normal),
            _ => None,
        };
        if let Some(outcome) = outcome {
            self.closing = Some(outcome);
            return self.poll_close(cx, outcome);
        }
        if let Some((limit, timer)) = self.idle.as_mut() {
            if up + down > 0 {
                timer.as_mut().reset(deadline(*limit));
            }
            if timer.as_mut().poll(cx).is_ready() {
                self.closing = Some(TunnelOutcome::IdleTimeout);
                return self.poll_close(cx, TunnelOutcome::IdleTimeout);
            }
        }
        Poll::Pending
    }

    /// Shuts down both write sides (a FIN each way), bounded by the idle timer when there is
    /// one; the connections close when dropped.
    fn poll_close(&mut self, cx: &mut Context<'_>, outcome: TunnelOutcome) -> Poll<TunnelOutcome> {
        if outcome != TunnelOutcome::Normal {
            // After an error or the idle timeout, dropping both connections is the close.
            return Poll::Ready(outcome);
        }
        let client = Pin::new(&mut self.client).poll_shutdown(cx);
        let backend = Pin::new(&mut self.backend).poll_shutdown(cx);
        if client.is_ready() && backend.is_ready() {
            return Poll::Ready(outcome);
        }
        if let Some((_, timer)) = self.idle.as_mut() {
            if timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(outcome);
            }
        }
        Poll::Pending
    }
}

/// `limit` from now, or about 30 years from now (as tokio's `sleep` does) when that overflows
/// the clock: an idle timeout of `Duration::MAX` never fires and never panics.
fn deadline(limit: std::time::Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(limit)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(86_400 * 365 * 30))
}
