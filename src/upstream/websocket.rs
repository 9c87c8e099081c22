//! [`WebSocketUpstream`]: proxies a WebSocket handshake to a backend, then copies the bytes of
//! both upgraded connections until either side closes.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_TYPE, HOST, UPGRADE};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Empty;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::body::ResponseBody;
use super::failure::{Failure, FailureKind};
use super::headers::{prepare_for_next_hop, remove_hop_by_hop};
use super::target::Target;
use crate::error::ConfigError;
use crate::tunnel::Tunnel;

mod tunnel_io;

pub use tunnel_io::copy_tunnel;
use tunnel_io::{pump, Upgrades};

/// Default [`WebSocketUpstreamBuilder::connect_timeout`]: 10 seconds.
pub const DEFAULT_WEBSOCKET_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A route target that proxies WebSocket connections to a backend.
///
/// ```
/// use std::time::Duration;
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use tower_gateway::upstream::WebSocketUpstream;
/// use tower_gateway::Router;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let chat = WebSocketUpstream::builder("ws://10.0.0.9:8080/v1")
///     .strip_prefix("/chat")
///     .idle_timeout(Duration::from_secs(300))
///     .build()?;
/// // The pure decision: where a handshake goes, with no network involved.
/// let parts = |uri: &str| Request::get(uri).body(()).unwrap().into_parts().0;
/// assert_eq!(chat.map_uri(&parts("/chat/lobby?user=7"))?, "http://10.0.0.9:8080/v1/lobby?user=7");
///
/// let router = Router::builder().websocket("/chat/{room}", chat).build()?;
/// // A plain GET to the WebSocket-only route: 426, the backend is never contacted.
/// let response = router.oneshot(Request::get("/chat/lobby").body(String::new())?).await?;
/// assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
/// # Ok(())
/// # }
/// ```
///
/// Served by axum (whose `serve` keeps upgrades) or by hyper with
/// `serve_connection(..).with_upgrades()`; this binds a socket, so it is not run here:
///
/// ```no_run
/// use tower_gateway::{upstream::WebSocketUpstream, Router};
///
/// # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
/// let router = Router::builder()
///     .websocket("/ws", WebSocketUpstream::new("ws://127.0.0.1:9001")?)
///     .build()?;
/// let app = axum::Router::new().fallback_service(router);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
///
/// On a handshake (`GET` with `Upgrade: websocket`) it connects to the backend (plain TCP,
/// one fresh HTTP/1.1 connection per WebSocket), forwards the handshake with the client's
/// end-to-end headers (`Sec-WebSocket-Key`, `-Version`, `-Protocol`, `-Extensions`, `Origin`,
/// cookies...), `Forwarded` / `X-Forwarded-*` added, the other hop-by-hop headers removed and
/// `Upgrade: websocket` / `Connection: Upgrade` set for this hop. When the backend answers
/// `101`, the client gets a `101` with the backend's end-to-end headers
/// (`Sec-WebSocket-Accept`, `-Protocol`, `-Extensions`) and a [`Tunnel`] in the extensions;
/// a spawned task then waits for both upgrades and copies bytes both ways, counting them into
/// the tunnel, until either side closes (then it closes the other), an error, or the idle
/// timeout.
///
/// | case | answer |
/// | --- | --- |
/// | backend answers `101` | `101`, then the tunnel |
/// | backend refuses the handshake | its status, headers (hop-by-hop removed) and body |
/// | backend unreachable, or closing before its answer | `502 Bad Gateway`, [`Failure`] `Connect` |
/// | no answer within the connect timeout | `504 Gateway Timeout`, [`Failure`] `Timeout` |
/// | backend switching to another protocol | `502`, [`Failure`] `BadResponse` |
/// | path with a dot segment, or not a path | `400 Bad Request`, [`Failure`] `BadRequest` |
/// | not a handshake (also any request that is not HTTP/1.1, RFC 9110 §7.8) | `426 Upgrade Required` with `Upgrade: websocket` |
/// | no valid `Sec-WebSocket-Key` (one, 16 bytes in base64), or no `Upgrade` token in `Connection` | `400 Bad Request`, backend not contacted |
/// | `Sec-WebSocket-Version` other than one `13` | `426` with `Sec-WebSocket-Version: 13`, backend not contacted |
/// | a well-formed handshake with no upgrade handle in the request (server without upgrades) | `500` |
///
/// The gateway's own answers are `text/plain` with a one-line reason. The path is mapped as
/// [`Upstream`](super::Upstream) maps it (base path, strip prefix, `{param}` placeholders;
/// `ws://` is read as `http://`; no TLS). The service is always
/// ready, `Clone + Send + Sync`, and never fails (`Error = Infallible`). It needs a Tokio
/// runtime, and a server that keeps upgrades (`hyper`'s `serve_connection(..).with_upgrades()`,
/// or axum): without the upgrade handle in the request extensions it answers `500` and does
/// not contact the backend.
#[derive(Clone)]
#[must_use]
pub struct WebSocketUpstream {
    settings: Arc<Settings>,
}

struct Settings {
    target: Target,
    idle_timeout: Option<Duration>,
    connect_timeout: Duration,
}

/// Builds a [`WebSocketUpstream`]; every problem is reported by [`build`](Self::build).
#[derive(Clone, Debug)]
#[must_use]
pub struct WebSocketUpstreamBuilder {
    url: String,
    strip_prefix: Option<String>,
    idle_timeout: Option<Duration>,
    connect_timeout: Duration,
}

impl WebSocketUpstream {
    /// A WebSocket upstream at `url` (`http://host[:port][/base]`, or `ws://...`), with the
    /// default settings.
    ///
    /// # Errors
    ///
    /// When `url` is not a valid upstream URL (see [`WebSocketUpstreamBuilder::build`]).
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        Self::builder(url).build()
    }

    /// A builder for a WebSocket upstream at `url`.
    pub fn builder(url: &str) -> WebSocketUpstreamBuilder {
        WebSocketUpstreamBuilder {
            url: url.to_owned(),
            strip_prefix: None,
            idle_timeout: None,
            connect_timeout: DEFAULT_WEBSOCKET_CONNECT_TIMEOUT,
        }
    }

    /// The backend URL this upstream was built with (after `ws://` became `http://`).
    #[must_use]
    pub fn url(&self) -> &str {
        self.settings.target.url()
    }

    /// The backend URI a handshake goes to, with no network involved (the pure decision):
    /// the base path joined with the request path (minus the strip prefix), then the query.
    ///
    /// # Errors
    ///
    /// A [`Failure`] of kind [`FailureKind::BadRequest`] (answered `400`) when the request
    /// target is not a path or its path has a `.` or `..` segment.
    pub fn map_uri(&self, parts: &http::request::Parts) -> Result<Uri, Failure> {
        self.settings
            .target
            .uri_for(parts)
            .map_err(|reason| Failure::new(FailureKind::BadRequest, reason))
    }

    /// The idle timeout, if any.
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.settings.idle_timeout
    }
}

impl WebSocketUpstreamBuilder {
    /// Closes both connections after this long with no byte copied either way (the tunnel's
    /// outcome is then [`IdleTimeout`](crate::tunnel::TunnelOutcome::IdleTimeout)). Also
    /// bounds the wait for both upgrades to complete. Default: none (a connection may stay
    /// idle for ever). Calling it again replaces it.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// How long to wait for the TCP connection to the backend and its answer to the
    /// handshake; past it the client gets `504`. Default: [`DEFAULT_WEBSOCKET_CONNECT_TIMEOUT`].
    /// Calling it again replaces it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Strips this path prefix from the request path before it is appended to the URL's base
    /// path (`/ws` stripped from `/ws/chat` gives `/chat`). Default: none. Calling it again
    /// replaces it.
    pub fn strip_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.strip_prefix = Some(prefix.into());
        self
    }

    /// Validates the settings and builds the upstream.
    ///
    /// # Errors
    ///
    /// Every problem at once: a URL that is not `http://host[:port][/base]` (or `ws://`), a
    /// malformed strip prefix, a strip prefix combined with a templated base path, and a zero
    /// idle or connect timeout.
    pub fn build(self) -> Result<WebSocketUpstream, ConfigError> {
        use crate::error::{Problem, ProblemKind, Problems};
        let mut problems = Problems::new();
        // Schemes are case-insensitive (RFC 3986 §3.1): `WS://` is `ws://`.
        let scheme = self.url.split_once("://").map(|(scheme, _)| scheme);
        let url = match scheme {
            Some(scheme) if scheme.eq_ignore_ascii_case("ws") => {
                format!("http{}", &self.url[scheme.len()..])
            }
            Some(scheme) if scheme.eq_ignore_ascii_case("wss") => {
                problems.push(Problem::new(
                    "upstream",
                    ProblemKind::Invalid,
                    self.url.clone(),
                    format!(
                        "websocket upstream URL {:?} is wss, which needs TLS support that this \
                         build does not have; use ws:// (for example to a local TLS-terminating \
                         sidecar)",
                        self.url
                    ),
                ));
                format!("http{}", &self.url[scheme.len()..])
            }
            _ => self.url.clone(),
        };
        let target = match Target::parse(&url, self.strip_prefix.as_deref()) {
            Ok(target) => Some(target),
            Err(error) if url == self.url => {
                problems.extend(error);
                None
            }
            Err(error) => {
                // Reported with the URL as written (`ws://…`), not the `http://` it maps to.
                let written = format!("{:?}", self.url);
                let mapped = format!("{url:?}");
                for problem in error.into_problems() {
                    let value = if problem.value() == url {
                        self.url.clone()
                    } else {
                        problem.value().to_owned()
                    };
                    let reason = problem
                        .reason()
                        .replace(&mapped, &written)
                        .replace("expected http://", "expected ws://");
                    let mut renamed = Problem::new(problem.module(), problem.kind(), value, reason);
                    if let Some(related) = problem.related() {
                        renamed = renamed.with_related(related.to_owned());
                    }
                    if let Some(location) = problem.location() {
                        renamed = renamed.with_location(location.to_owned());
                    }
                    problems.push(renamed);
                }
                None
            }
        };
        let zero = |what: &str| {
            Problem::new(
                "upstream",
                ProblemKind::Invalid,
                "0s",
                format!(
                    "websocket upstream {:?}: the {what} must not be zero",
                    self.url
                ),
            )
        };
        if self.idle_timeout == Some(Duration::ZERO) {
            problems.push(zero("idle timeout"));
        }
        if self.connect_timeout.is_zero() {
            problems.push(zero("connect timeout"));
        }
        problems.finish(|| ())?;
        match target {
            Some(target) => Ok(WebSocketUpstream {
                settings: Arc::new(Settings {
                    target,
                    idle_timeout: self.idle_timeout,
                    connect_timeout: self.connect_timeout,
                }),
            }),
            // `Target::parse` failed, so `problems` was not empty and `finish` returned.
            None => Err(ConfigError::new(Problem::new(
                "upstream",
                ProblemKind::Invalid,
                self.url.clone(),
                format!("websocket upstream URL {:?} is invalid", self.url),
            ))),
        }
    }
}

impl<B> tower_service::Service<Request<B>> for WebSocketUpstream {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = WebSocketFuture;

    /// Always ready: each handshake opens its own backend connection.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> WebSocketFuture {
        let (mut parts, _body) = request.into_parts();
        if !crate::websocket::is_upgradable_handshake(parts.version, &parts.method, &parts.headers)
        {
            let mut response = answer(
                StatusCode::UPGRADE_REQUIRED,
                "this upstream only accepts WebSocket handshakes (Upgrade: websocket)",
            );
            let headers = response.headers_mut();
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            return WebSocketFuture::ready(response);
        }
        let uri = match self.map_uri(&parts) {
            Ok(uri) => uri,
            Err(failure) => return WebSocketFuture::ready(failure.into_response()),
        };
        if let Some(refusal) = malformed_handshake(&parts.headers) {
            // RFC 6455 §4.2.1-2: the gateway answers for the backend; no connection is opened.
            // Checked before the runtime and the upgrade handle: a malformed handshake is the
            // client's error (`400`/`426`) whatever the server.
            return WebSocketFuture::ready(refusal);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            // The tunnel is a spawned task and the timeouts need a timer: answer, not panic.
            return WebSocketFuture::ready(
                Failure::new(
                    FailureKind::Other,
                    "no Tokio runtime to call the upstream on",
                )
                .into_response(),
            );
        }
        let settings = Arc::clone(&self.settings);
        let Some(client_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return WebSocketFuture::ready(answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this connection cannot be upgraded (serve it with upgrades enabled)",
            ));
        };
        let backend_request = backend_request(&settings, parts, &uri);
        WebSocketFuture {
            inner: Some(Box::pin(proxy(settings, backend_request, client_upgrade))),
            ready: None,
        }
    }
}

/// The answer to a handshake that RFC 6455 §4.2.1 says a server must refuse, if it is one:
/// `400 Bad Request` without exactly one `Sec-WebSocket-Key` that is 16 bytes in base64
/// (24 characters ending in `==`), or without the `Upgrade` token in `Connection`;
/// `426 Upgrade Required` with `Sec-WebSocket-Version: 13`
/// (§4.2.2) when the version is not exactly one `13`.
fn malformed_handshake(headers: &http::HeaderMap) -> Option<Response<ResponseBody>> {
    const KEY: http::header::HeaderName = http::header::SEC_WEBSOCKET_KEY;
    const VERSION: http::header::HeaderName = http::header::SEC_WEBSOCKET_VERSION;
    let one = |name: &http::header::HeaderName| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => Some(value.as_bytes().trim_ascii()),
            _ => None,
        }
    };
    let key_ok = one(&KEY).is_some_and(|key| {
        key.len() == 24
            && key.ends_with(b"==")
            && key
                .iter()
                .take(22)
                .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
    });
    if !key_ok {
        return Some(answer(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs one Sec-WebSocket-Key of 16 bytes in base64",
        ));
    }
    let upgrade_token = headers.get_all(CONNECTION).iter().any(|value| {
        value
            .as_bytes()
            .split(|b| *b == b',')
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    });
    if !upgrade_token {
        return Some(answer(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs the Upgrade token in its Connection header",
        ));
    }
    if one(&VERSION) != Some(b"13") {
        let mut response = answer(
            StatusCode::UPGRADE_REQUIRED,
            "this upstream speaks WebSocket version 13 only",
        );
        response
            .headers_mut()
            .insert(VERSION, HeaderValue::from_static("13"));
        return Some(response);
    }
    None
}

/// The handshake as the backend gets it.
fn backend_request(
    settings: &Settings,
    mut parts: http::request::Parts,
    uri: &Uri,
) -> Request<Empty<Bytes>> {
    prepare_for_next_hop(&mut parts);
    let headers = &mut parts.headers;
    headers.insert(HOST, settings.target.host().clone());
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    let mut request = Request::new(Empty::new());
    // HTTP/1.1 to the backend in origin form: the path and query only.
    *request.uri_mut() = uri
        .path_and_query()
        .and_then(|pq| Uri::try_from(pq.as_str()).ok())
        .unwrap_or_else(|| Uri::from_static("/"));
    *request.headers_mut() = parts.headers;
    request
}

/// Connects, sends the handshake, answers the client, and spawns the tunnel on a `101`.
async fn proxy(
    settings: Arc<Settings>,
    request: Request<Empty<Bytes>>,
    client_upgrade: OnUpgrade,
) -> Result<Response<ResponseBody>, Infallible> {
    let deadline = settings.connect_timeout;
    let exchange = async {
        let stream = connect(settings.target.authority()).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::new(FailureKind::Connect, "cannot connect to the upstream"))?;
        tokio::spawn(async move {
            // Ends when the backend connection is upgraded (or fails): nothing to report.
            let _ = connection.with_upgrades().await;
        });
        sender.send_request(request).await.map_err(|_| {
            Failure::new(
                FailureKind::Connect,
                "the upstream closed the connection during the handshake",
            )
        })
    };
    let mut response = match tokio::time::timeout(deadline, exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(failure)) => return Ok(failure.into_response()),
        Err(_) => {
            return Ok(Failure::new(
                FailureKind::Timeout,
                "timed out waiting for the upstream's handshake",
            )
            .into_response())
        }
    };
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        // The backend refused the handshake: its answer, as an ordinary proxy would pass it.
        let (mut parts, body) = response.into_parts();
        // A `426` must name the protocols it wants (RFC 9110 §15.5.22): its `Upgrade` is the
        // answer itself, not a hop-by-hop detail, so it is kept (with `Connection: Upgrade`).
        let upgrade: Vec<HeaderValue> = if parts.status == StatusCode::UPGRADE_REQUIRED {
            parts.headers.get_all(UPGRADE).iter().cloned().collect()
        } else {
            Vec::new()
        };
        remove_hop_by_hop(&mut parts.headers);
        if !upgrade.is_empty() {
            for value in upgrade {
                parts.headers.append(UPGRADE, value);
            }
            parts
                .headers
                .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        }
        return Ok(Response::from_parts(parts, ResponseBody::upstream(body)));
    }
    if !crate::websocket::upgrade_is_websocket(response.headers()) {
        return Ok(Failure::new(
            FailureKind::BadResponse,
            "the upstream switched to another protocol than websocket",
        )
        .into_response());
    }
    let backend_upgrade = hyper::upgrade::on(&mut response);
    let (mut parts, _empty) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    parts
        .headers
        .insert(UPGRADE, HeaderValue::from_static("websocket"));
    parts
        .headers
        .insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    let tunnel = Tunnel::new();
    let mut answer = Response::from_parts(parts, ResponseBody::full(""));
    answer.extensions_mut().insert(tunnel.clone());
    let upgrades = Upgrades {
        client: client_upgrade,
        backend: backend_upgrade,
    };
    tokio::spawn(async move {
        let outcome = pump(upgrades, &tunnel, settings.idle_timeout).await;
        tunnel.close(outcome);
    });
    Ok(answer)
}

/// Opens the TCP connection to the backend.
async fn connect(authority: &http::uri::Authority) -> Result<TcpStream, Failure> {
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = authority.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port)).await.map_err(|e| {
        Failure::new(
            FailureKind::Connect,
            match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused by the upstream",
                _ => "cannot connect to the upstream",
            },
        )
    })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The gateway's own answer: `status`, `text/plain`, `reason` as the body.
fn answer(status: StatusCode, reason: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(reason));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Response future of [`WebSocketUpstream`]: one allocation per handshake (which also opens a
/// TCP connection), or none for the gateway's immediate answers.
pub struct WebSocketFuture {
    inner: Option<Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>>,
    ready: Option<Response<ResponseBody>>,
}

impl WebSocketFuture {
    fn ready(response: Response<ResponseBody>) -> Self {
        Self {
            inner: None,
            ready: Some(response),
        }
    }
}

impl Future for WebSocketFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(inner) = self.inner.as_mut() {
            return inner.as_mut().poll(cx);
        }
        Poll::Ready(Ok(self.ready.take().expect("polled after completion")))
    }
}

impl fmt::Debug for WebSocketFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebSocketFuture")
    }
}

impl fmt::Debug for WebSocketUpstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketUpstream")
            .field("url", &self.settings.target.url())
            .field("idle_timeout", &self.settings.idle_timeout)
            .field("connect_timeout", &self.settings.connect_timeout)
            .finish()
    }
}
