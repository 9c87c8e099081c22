//! [`Failure`]: why an upstream call was answered by the gateway instead of the upstream.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Response, StatusCode};

use super::body::ResponseBody;

/// Why the [`Upstream`](super::Upstream) answered by itself (`502`, `504` or `400`), in the
/// extensions of that answer, for the access log and metrics.
///
/// ```
/// use tower_gateway::upstream::{Failure, FailureKind};
///
/// let failure = Failure::new(FailureKind::Timeout, "timed out waiting for the upstream");
/// assert_eq!(failure.kind(), FailureKind::Timeout);
/// assert_eq!(failure.status(), http::StatusCode::GATEWAY_TIMEOUT);
/// assert_eq!(failure.reason(), "timed out waiting for the upstream");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Failure {
    kind: FailureKind,
    reason: &'static str,
}

/// What went wrong with an upstream call; see [`Failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The upstream could not be reached (refused, DNS, unreachable), or the connection broke
    /// before the response headers arrived. Answered `502 Bad Gateway`.
    Connect,
    /// No response headers within the upstream's timeout, or the connect timeout was hit.
    /// Answered `504 Gateway Timeout`.
    Timeout,
    /// The upstream answered something that is not HTTP/1, or switched protocols when it was
    /// not asked to (a `101` to an [`Upstream`](super::Upstream), or a `101` to another
    /// protocol than `websocket`). Answered `502 Bad Gateway`.
    BadResponse,
    /// The request cannot be forwarded: its target is not a path, or its path has a `.` or
    /// `..` segment that would climb out of the upstream's base path. Answered
    /// `400 Bad Request`; the upstream is not called.
    BadRequest,
    /// Anything else (for example the request body failed while being sent). Answered
    /// `502 Bad Gateway`.
    Other,
}

impl FailureKind {
    /// A short lower-case name for logs and metric labels: `connect`, `timeout`,
    /// `bad_response`, `bad_request` or `other`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Timeout => "timeout",
            Self::BadResponse => "bad_response",
            Self::BadRequest => "bad_request",
            Self::Other => "other",
        }
    }

    /// The status of the gateway's answer for this kind.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Connect | Self::BadResponse | Self::Other => StatusCode::BAD_GATEWAY,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Failure {
    /// A failure of `kind` with a short, fixed `reason` (the answer's body).
    #[must_use]
    pub fn new(kind: FailureKind, reason: &'static str) -> Self {
        Self { kind, reason }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// A short lower-case reason, also the body of the answer (for example
    /// `connection refused by the upstream`). For people: match on [`kind`](Self::kind).
    #[must_use]
    pub fn reason(&self) -> &str {
        self.reason
    }

    /// The reason with its `'static` lifetime, for the access log's record.
    #[cfg_attr(not(feature = "access-log"), allow(dead_code))]
    pub(crate) fn static_reason(&self) -> &'static str {
        self.reason
    }

    /// The status of the answer: `504` for a timeout, `400` for a bad request, else `502`.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The gateway's answer: the status, `text/plain`, the reason as the body, and this
    /// failure in the extensions.
    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        self.into_response_for(false)
    }

    /// [`into_response`](Self::into_response), or for a `HEAD` (`head`) the same headers,
    /// the reason's `content-length` included, and no body (RFC 9110 §9.3.2).
    pub(crate) fn into_response_for(self, head: bool) -> Response<ResponseBody> {
        let body = if head { "" } else { self.reason };
        let mut response = Response::new(ResponseBody::full(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if head {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(self.reason.len()));
        }
        response.extensions_mut().insert(self);
        response
    }

    /// Classifies an error of hyper-util's client.
    pub(crate) fn from_client_error(error: &hyper_util::client::legacy::Error) -> Self {
        let io_kind = sources(error)
            .find_map(|e| e.downcast_ref::<io::Error>())
            .map(io::Error::kind);
        if error.is_connect() {
            return match io_kind {
                Some(io::ErrorKind::TimedOut) => {
                    Self::new(FailureKind::Timeout, "timed out connecting to the upstream")
                }
                Some(io::ErrorKind::ConnectionRefused) => {
                    Self::new(FailureKind::Connect, "connection refused by the upstream")
                }
                _ => Self::new(FailureKind::Connect, "cannot connect to the upstream"),
            };
        }
        if let Some(hyper) = sources(error).find_map(|e| e.downcast_ref::<hyper::Error>()) {
            if hyper.is_parse() || hyper.is_parse_status() {
                return Self::new(FailureKind::BadResponse, "malformed upstream response");
            }
            if hyper.is_timeout() {
                return Self::new(FailureKind::Timeout, "timed out waiting for the upstream");
            }
            if hyper.is_user() || hyper.is_body_write_aborted() {
                return Self::new(FailureKind::Other, "request body failed");
            }
            if hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed() {
                return Self::new(
                    FailureKind::Connect,
                    "upstream closed the connection before answering",
                );
            }
        }
        match io_kind {
            Some(io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe) => Self::new(
                FailureKind::Connect,
                "upstream closed the connection before answering",
            ),
            _ => Self::new(FailureKind::Other, "upstream request failed"),
        }
    }

    pub(crate) fn timeout() -> Self {
        Self::new(
            FailureKind::Timeout,
            "timed out waiting for the upstream's response",
        )
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl StdError for Failure {}

/// `error` and its sources, outermost first.
fn sources<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |e| {
        let e: &'a (dyn StdError + 'static) = *e;
        e.source()
    })
}
