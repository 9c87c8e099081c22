//! [`UpstreamClient`]: hyper-util's pooled HTTP/1 client, shared between upstreams.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// The request body the client sends: the caller's body, boxed once.
pub(crate) type RequestBody =
    UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync + 'static>>;

/// Default time allowed to open a TCP connection to an upstream.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const DEFAULT_MAX_IDLE_PER_HOST: usize = 32;

/// A pool of keep-alive HTTP/1 connections to upstreams (hyper-util's legacy client over
/// Tokio), shared by every [`Upstream`](super::Upstream) given it with
/// [`UpstreamBuilder::client`](super::UpstreamBuilder::client).
///
/// Cloning is cheap and shares the pool. An upstream built without one gets its own.
/// Connections are opened, and idle ones closed, on the Tokio runtime of the request that
/// needs them.
///
/// ```
/// use std::time::Duration;
/// use tower_gateway::upstream::{Upstream, UpstreamClient};
///
/// let pool = UpstreamClient::builder().connect_timeout(Duration::from_secs(2)).build()?;
/// let users = Upstream::builder("http://127.0.0.1:8081").client(pool.clone()).build()?;
/// let orders = Upstream::builder("http://127.0.0.1:8082").client(pool).build()?;
/// # let _ = (users, orders);
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct UpstreamClient {
    pub(crate) client: Client<HttpConnector, RequestBody>,
    connect_timeout: Duration,
}

impl UpstreamClient {
    /// A pool with the defaults of [`UpstreamClientBuilder`].
    pub fn new() -> Self {
        UpstreamClientBuilder::default().finish()
    }

    /// A builder for a pool with other settings.
    pub fn builder() -> UpstreamClientBuilder {
        UpstreamClientBuilder::default()
    }

    /// The time allowed to open a connection.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
}

impl Default for UpstreamClient {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UpstreamClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamClient")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

/// Settings of an [`UpstreamClient`].
#[derive(Clone, Debug)]
#[must_use]
pub struct UpstreamClientBuilder {
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_idle_per_host: usize,
}

impl Default for UpstreamClientBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_idle_per_host: DEFAULT_MAX_IDLE_PER_HOST,
        }
    }
}

impl UpstreamClientBuilder {
    /// The time allowed to open a TCP connection; past it the request is answered `504`
    /// with [`FailureKind::Timeout`](super::FailureKind::Timeout), as nginx does. Default:
    /// 5 seconds. Calling it again replaces it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an idle keep-alive connection stays in the pool. Default: 90 seconds.
    /// Calling it again replaces it.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How many idle connections are kept per upstream host. Default: 32. Calling it again
    /// replaces it.
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// The pool.
    ///
    /// # Errors
    ///
    /// A zero connect timeout (every connection would fail).
    pub fn build(self) -> Result<UpstreamClient, ConfigError> {
        let mut problems = Problems::new();
        if self.connect_timeout.is_zero() {
            problems.push(Problem::new(
                "upstream",
                ProblemKind::OutOfRange,
                "0s",
                "connect timeout \"0s\" fails every connection; expected more than zero",
            ));
        }
        problems.finish(|| self.finish())
    }

    fn finish(self) -> UpstreamClient {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(self.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(self.idle_timeout)
            .pool_max_idle_per_host(self.max_idle_per_host)
            .build(connector);
        UpstreamClient {
            client,
            connect_timeout: self.connect_timeout,
        }
    }
}
