//! [`UpstreamBuilder`]: the settings of an [`Upstream`], validated at once.

use std::sync::Arc;
use std::time::Duration;

use super::client::{UpstreamClient, UpstreamClientBuilder};
use super::service::{Inner, Upstream};
use super::target::Target;
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// Default time allowed for an upstream's response headers.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of an [`Upstream`]; [`build`](Self::build) checks them all at once.
///
/// ```
/// use std::time::Duration;
/// use tower_gateway::upstream::Upstream;
///
/// let upstream = Upstream::builder("http://10.0.0.7:8080/v1")
///     .strip_prefix("/api")
///     .timeout(Duration::from_secs(5))
///     .preserve_host(true)
///     .build()?;
/// # let _ = upstream;
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct UpstreamBuilder {
    url: String,
    strip_prefix: Option<String>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    preserve_host: bool,
    client: Option<UpstreamClient>,
}

impl UpstreamBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            strip_prefix: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            preserve_host: false,
            client: None,
        }
    }

    /// A path prefix (`/api`) removed from request paths under it (`/api`, `/api/...`, not
    /// `/apix`) before they are appended to the base path; other paths are kept whole.
    /// Default: none. Calling it again replaces it. Not for a base path with placeholders,
    /// whose route params give the whole path.
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.strip_prefix = Some(prefix.into());
        self
    }

    /// The time allowed from the call to the upstream's response headers (connecting
    /// included); past it the answer is `504 Gateway Timeout`. The body may then take as long
    /// as it takes. Default: 30 seconds. Calling it again replaces it.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time allowed to open a connection, for the pool this upstream creates. Default:
    /// 5 seconds. Set it on the [`UpstreamClient`] instead when using
    /// [`client`](Self::client). Calling it again replaces it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether the client's `Host` header is sent to the upstream as it is. Default: `false`:
    /// `Host` is the upstream's `host[:port]`, and the client's host goes in
    /// `X-Forwarded-Host` and `Forwarded: host=` (sent in both cases). Calling it again
    /// replaces it.
    pub fn preserve_host(mut self, preserve: bool) -> Self {
        self.preserve_host = preserve;
        self
    }

    /// The connection pool to use, shared with other upstreams. Default: a pool of this
    /// upstream's own. Calling it again replaces it.
    pub fn client(mut self, client: UpstreamClient) -> Self {
        self.client = Some(client);
        self
    }

    /// The upstream.
    ///
    /// # Errors
    ///
    /// Every problem at once, each with module `"upstream"` and the offending value: a URL
    /// that does not parse, a scheme other than `http` (`https` needs TLS, not in this
    /// build), user info, a query or fragment in the URL, a bad placeholder, a bad strip
    /// prefix (not starting with `/`, ending with `/`, placeholders), a strip prefix with a
    /// templated base, a zero timeout, and a connect timeout given together with a client.
    pub fn build(self) -> Result<Upstream, ConfigError> {
        let mut problems = Problems::new();
        let target = Target::parse(&self.url, self.strip_prefix.as_deref())
            .map_err(|e| problems.extend(e))
            .ok();
        if self.timeout.is_zero() {
            problems.push(Problem::new(
                "upstream",
                ProblemKind::OutOfRange,
                format!("{:?}", self.timeout),
                "timeout \"0ns\" fails every request; expected more than zero",
            ));
        }
        let client = match (self.client, self.connect_timeout) {
            (Some(client), None) => Some(client),
            (Some(client), Some(timeout)) => {
                problems.push(
                    Problem::new(
                        "upstream",
                        ProblemKind::Conflict,
                        format!("{timeout:?}"),
                        format!(
                            "connect timeout \"{timeout:?}\" is set with a shared client; set \
                             it on the UpstreamClient instead"
                        ),
                    )
                    .with_related(format!("{client:?}")),
                );
                None
            }
            (None, timeout) => {
                let builder = match timeout {
                    Some(timeout) => UpstreamClientBuilder::default().connect_timeout(timeout),
                    None => UpstreamClientBuilder::default(),
                };
                builder.build().map_err(|e| problems.extend(e)).ok()
            }
        };
        problems.finish(|| ())?;
        match (target, client) {
            (Some(target), Some(client)) => Ok(Upstream {
                inner: Arc::new(Inner {
                    target,
                    timeout: self.timeout,
                    preserve_host: self.preserve_host,
                    client,
                }),
            }),
            _ => Err(ConfigError::new(Problem::new(
                "upstream",
                ProblemKind::Invalid,
                self.url.clone(),
                format!("upstream {:?} is invalid", self.url),
            ))),
        }
    }
}
