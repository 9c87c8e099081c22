//! [`AccessLogLayer`]: the access log's settings and its `Layer` impl.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::header::HeaderName;
use tower_layer::Layer;

use super::clock::Clock;
use super::format::LogFormat;
use super::request_id::{IdGenerator, RequestIds};
use super::service::AccessLog;
use super::sink::Sink;

/// Reads the client address from the request extensions.
#[derive(Clone)]
pub(super) struct ClientAddr(
    pub(super) Arc<dyn Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static>,
);

impl fmt::Debug for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientAddr(<closure>)")
    }
}

/// The settings every [`AccessLog`] service made by one layer shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) format: LogFormat,
    pub(super) sink: Sink,
    pub(super) clock: Clock,
    pub(super) ids: RequestIds,
    pub(super) id_header: HeaderName,
    pub(super) ids_gen: IdGenerator,
    pub(super) client_addr: Option<ClientAddr>,
}

/// Wraps a service in an [`AccessLog`]: one record per request, written to a [`Sink`] when the
/// response ends. See the [module docs](super) for an example.
#[derive(Clone, Debug)]
#[must_use]
pub struct AccessLogLayer {
    format: LogFormat,
    sink: Sink,
    clock: Clock,
    ids: RequestIds,
    id_header: HeaderName,
    id_seed: Option<u64>,
    client_addr: Option<ClientAddr>,
}

impl AccessLogLayer {
    /// An access log writing the [Apache combined](LogFormat::apache_combined) format to `sink`,
    /// on the system clock, keeping or generating `x-request-id`.
    pub fn new(sink: impl Into<Sink>) -> Self {
        Self {
            format: LogFormat::default(),
            sink: sink.into(),
            clock: Clock::system(),
            ids: RequestIds::default(),
            id_header: HeaderName::from_static("x-request-id"),
            id_seed: None,
            client_addr: None,
        }
    }

    /// The record format. Default: [`LogFormat::apache_combined`]. Calling it again replaces.
    pub fn format(mut self, format: LogFormat) -> Self {
        self.format = format;
        self
    }

    /// Where records go. Calling it again replaces.
    pub fn sink(mut self, sink: impl Into<Sink>) -> Self {
        self.sink = sink.into();
        self
    }

    /// The clock (a [`ManualClock`](super::ManualClock) in tests). Default: the system clock.
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// What to do with request ids. Default: [`RequestIds::KeepOrGenerate`].
    pub fn request_ids(mut self, ids: RequestIds) -> Self {
        self.ids = ids;
        self
    }

    /// The request and response header that carries the request id. Default: `x-request-id`.
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.id_header = name;
        self
    }

    /// Seeds the request id generator, so generated ids repeat from run to run (tests only:
    /// ids from a known seed are predictable). Default: a random seed per service.
    pub fn request_id_seed(mut self, seed: u64) -> Self {
        self.id_seed = Some(seed);
        self
    }

    /// How to find the client address in the request extensions. Default: a
    /// [`SocketAddr`](std::net::SocketAddr) extension, else axum's `ConnectInfo<SocketAddr>`
    /// (what `into_make_service_with_connect_info::<SocketAddr>()` records; feature `axum`),
    /// else an [`IpAddr`] extension. For another server's own type:
    /// `.client_addr(|ext| ext.get::<MyPeer>().map(|p| p.ip))`.
    ///
    /// It runs on the request path: it must not block.
    pub fn client_addr<F>(mut self, read: F) -> Self
    where
        F: Fn(&http::Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    {
        self.client_addr = Some(ClientAddr(Arc::new(read)));
        self
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let shared = Shared {
            format: self.format.clone(),
            sink: self.sink.clone(),
            clock: self.clock.clone(),
            ids: self.ids,
            id_header: self.id_header.clone(),
            ids_gen: IdGenerator::new(self.id_seed),
            client_addr: self.client_addr.clone(),
        };
        AccessLog::from_parts(inner, Arc::new(shared))
    }
}
