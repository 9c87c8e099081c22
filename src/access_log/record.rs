//! The record of one request: facts captured when it arrives, when the response headers come
//! back and when the body ends; written once, from a reused per-thread buffer.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Request, Response, Uri, Version};

use super::format::{flag, need, Source, Value, Var};
use super::layer::Shared;
use super::request_id::{RequestId, RequestIds};
use super::trace_id::TraceId;

/// Everything one record shows. Built when the request arrives, completed at the response
/// headers, written when the body ends (or the response never comes).
///
/// The facts live in a box taken from a small per-thread pool, so the record moves from the
/// service to the future to the body as one pointer, and no request allocates once the pool is
/// warm.
pub(super) struct Record {
    slot: Box<Slot>,
    shared: Arc<Shared>,
}

/// A pooled record: the facts of one request, and a byte buffer (reused across requests, so it
/// keeps its capacity) holding the request texts the format shows (URI, headers), copied
/// instead of cloned: a copy of a few dozen bytes is cheaper than sharing the request's
/// buffers (which can cost an allocation and atomic reference counts).
pub(super) struct Slot {
    facts: Facts,
    text: Vec<u8>,
}

/// Where one request text lives in the record's text buffer.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// Copies `bytes` to the end of `text` and returns where they are.
fn keep(text: &mut Vec<u8>, bytes: &[u8]) -> Span {
    let start = text.len();
    text.extend_from_slice(bytes);
    Span {
        start,
        end: text.len(),
    }
}

/// The texts of the request URI a format can show.
#[derive(Clone, Copy, Debug)]
struct UriText {
    path: Span,
    query: Option<Span>,
    /// The path and query (or the authority of an authority-form target, or `/`).
    request_uri: Span,
}

/// The longest text buffer a pooled record keeps between requests.
const MAX_KEPT_TEXT: usize = 16 * 1024;

/// How many empty record boxes each thread keeps.
const POOL: usize = 64;

thread_local! {
    // The boxes are the point: they are handed out and moved as pointers.
    #[allow(clippy::vec_box)]
    static SLOTS: RefCell<Vec<Box<Slot>>> = const { RefCell::new(Vec::new()) };
}

impl Record {
    /// An empty slot from this thread's pool (its text buffer cleared), or a new one.
    fn slot() -> Box<Slot> {
        let slot = SLOTS
            .try_with(|slots| slots.try_borrow_mut().ok().and_then(|mut s| s.pop()))
            .ok()
            .flatten();
        slot.unwrap_or_else(|| {
            Box::new(Slot {
                facts: Facts::default(),
                text: Vec::new(),
            })
        })
    }

    fn recycle(mut slot: Box<Slot>) {
        // What the facts own goes now; the rest is overwritten by the next `start`.
        let facts = &mut slot.facts;
        facts.request_id = None;
        #[cfg(feature = "router")]
        {
            facts.route = None;
        }
        #[cfg(feature = "canary")]
        {
            facts.arm = None;
        }
        slot.text.clear();
        if slot.text.capacity() > MAX_KEPT_TEXT {
            slot.text = Vec::new();
        }
        let _ = SLOTS.try_with(|slots| {
            if let Ok(mut slots) = slots.try_borrow_mut() {
                if slots.len() < POOL {
                    if slots.capacity() == 0 {
                        slots.reserve_exact(POOL);
                    }
                    slots.push(slot);
                }
            }
        });
    }
}

impl std::ops::Deref for Record {
    type Target = Facts;

    fn deref(&self) -> &Facts {
        &self.slot.facts
    }
}

impl std::ops::DerefMut for Record {
    fn deref_mut(&mut self) -> &mut Facts {
        &mut self.slot.facts
    }
}

#[derive(Default)]
pub(super) struct Facts {
    start_wall: Duration,
    start_mono: u64,
    headers_mono: Option<u64>,
    /// The end, when the body ended with the headers (read then, not when it is dropped).
    end_mono: Option<u64>,
    method: Method,
    version: Version,
    uri: Option<UriText>,
    host: Option<Span>,
    authority: Option<Span>,
    user_agent: Option<Span>,
    referer: Option<Span>,
    forwarded_for: Option<Span>,
    request_id: Option<RequestId>,
    trace_id: Option<TraceId>,
    client: Option<IpAddr>,
    request_length: Option<u64>,
    status: u16,
    sent: u64,
    flags: u8,
    reason: Option<&'static str>,
    /// For a tunnel record: whether it ended abnormally (the byte counts are `sent` and
    /// `request_length`).
    tunnel: Option<bool>,
    #[cfg(feature = "router")]
    route: Option<crate::router::MatchedRoute>,
    #[cfg(feature = "canary")]
    arm: Option<crate::canary::Arm>,
}

const X_FORWARDED_FOR: http::header::HeaderName =
    http::header::HeaderName::from_static("x-forwarded-for");

impl Record {
    /// Captures what the format needs from the request, and settles its request id (which goes
    /// into the request extensions).
    pub(super) fn start<B: http_body::Body>(shared: Arc<Shared>, req: &mut Request<B>) -> Self {
        let needs = shared.format.needs();
        let has = |bit: u16| needs & bit != 0;
        let mut slot = Self::slot();
        // Every field is written in place (a record built aside and moved in is a copy of
        // some 400 bytes per request); naming each one here makes a new field a compile error
        // until it is set.
        let Slot { facts, text } = &mut *slot;
        let Facts {
            start_wall,
            start_mono,
            headers_mono,
            end_mono,
            method,
            version,
            uri,
            host,
            authority,
            user_agent,
            referer,
            forwarded_for,
            request_id,
            trace_id,
            client,
            request_length,
            status,
            sent,
            flags,
            reason,
            tunnel,
            #[cfg(feature = "router")]
            route,
            #[cfg(feature = "canary")]
            arm,
        } = facts;
        let headers = req.headers();
        let mut header = |bit: u16, name: http::header::HeaderName| {
            if has(bit) {
                headers.get(name).map(|v| keep(text, v.as_bytes()))
            } else {
                None
            }
        };
        *host = header(need::HOST, http::header::HOST);
        *user_agent = header(need::USER_AGENT, http::header::USER_AGENT);
        *referer = header(need::REFERER, http::header::REFERER);
        // Repeated lines are one list (RFC 9110 §5.3), joined as nginx joins them.
        *forwarded_for = if has(need::FORWARDED_FOR) {
            let mut lines = headers.get_all(X_FORWARDED_FOR).iter();
            lines.next().map(|first| {
                let mut span = keep(text, first.as_bytes());
                for line in lines {
                    text.extend_from_slice(b", ");
                    text.extend_from_slice(line.as_bytes());
                    span.end = text.len();
                }
                span
            })
        } else {
            None
        };
        let incoming_id = || {
            crate::util::header::get(headers, &shared.id_header).and_then(RequestId::from_header)
        };
        *request_id = match shared.ids {
            RequestIds::KeepOrGenerate => {
                Some(incoming_id().unwrap_or_else(|| shared.ids_gen.generate()))
            }
            RequestIds::Generate => Some(shared.ids_gen.generate()),
            RequestIds::Off => incoming_id(),
        };
        *request_length = if has(need::REQUEST_LENGTH) {
            // RFC 9110 8.6: `1*DIGIT` (`parse` alone would also take a leading `+`).
            crate::util::header::get(headers, &http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .or_else(|| req.body().size_hint().exact())
        } else {
            None
        };
        (*start_wall, *start_mono) = shared.clock.arrival(has(need::WALL), has(need::LATENCY));
        *headers_mono = None;
        *end_mono = None;
        method.clone_from(req.method());
        *version = req.version();
        *uri = has(need::URI).then(|| uri_text(text, req.uri()));
        *authority = if has(need::HOST) {
            req.uri()
                .authority()
                .map(|a| keep(text, a.as_str().as_bytes()))
        } else {
            None
        };
        *trace_id = if has(need::TRACE) {
            TraceId::from_headers(headers)
        } else {
            None
        };
        *client = if has(need::CLIENT) {
            match &shared.client_addr {
                Some(read) => (read.0)(req.extensions()),
                None => crate::util::client::client_ip(req.extensions()),
            }
            // A dual-stack listener's IPv4 client (`::ffff:a.b.c.d`) in its IPv4 form, as
            // Apache (APR) writes it.
            .map(|ip| ip.to_canonical())
        } else {
            None
        };
        (*status, *sent, *flags, *reason, *tunnel) = (0, 0, 0, None, None);
        #[cfg(feature = "router")]
        {
            *route = if has(need::ROUTE) {
                req.extensions()
                    .get::<crate::router::MatchedRoute>()
                    .cloned()
            } else {
                None
            };
        }
        #[cfg(feature = "canary")]
        {
            *arm = if has(need::ARM) {
                req.extensions().get::<crate::canary::Arm>().cloned()
            } else {
                None
            };
        }
        if shared.ids != RequestIds::Off {
            if let Some(id) = request_id {
                let extensions = req.extensions_mut();
                presize(extensions);
                extensions.insert(id.clone());
            }
        }
        Self { slot, shared }
    }

    /// Reads the status and what the inner layers learned from the response, and puts the
    /// request id on it.
    pub(super) fn headers<B>(&mut self, res: &mut Response<B>) {
        self.status = res.status().as_u16();
        if self.shared.format.needs() & need::HEADERS_TIME != 0 {
            self.headers_mono = Some(self.shared.clock.mono());
        }
        #[cfg(any(
            feature = "router",
            feature = "origin",
            feature = "cors",
            feature = "canary",
            feature = "upstream"
        ))]
        let extensions = res.extensions();
        // An upstream's own `502`/`504`/`400` says why in a `Failure` (`$context.error.message`);
        // looked up only on error statuses, so a successful request pays one comparison.
        #[cfg(feature = "upstream")]
        if self.status >= 400 {
            if let Some(failure) = extensions.get::<crate::upstream::Failure>() {
                self.reason = self.reason.or(Some(failure.static_reason()));
            }
        }
        // A report-only rejection (the request went through) gives its reason only when no
        // layer answered the request itself: the metrics' `refusal` label has the same order.
        #[cfg(feature = "origin")]
        let mut reported = None;
        #[cfg(feature = "origin")]
        if let Some(rejection) = extensions.get::<crate::origin::Rejection>() {
            self.flags |= flag::ORIGIN;
            if rejection.is_report_only() {
                reported = Some(rejection.reason());
            } else {
                self.reason = self.reason.or(Some(rejection.reason()));
            }
        }
        #[cfg(feature = "cors")]
        if let Some(rejection) = extensions.get::<crate::cors::Rejection>() {
            self.flags |= flag::CORS_PREFLIGHT;
            self.reason = self.reason.or(Some(rejection.reason()));
        }
        #[cfg(feature = "router")]
        {
            if let Some(rejection) = extensions.get::<crate::router::Rejection>() {
                if rejection.kind() == crate::router::RejectionKind::NotFound {
                    self.flags |= flag::NO_ROUTE;
                }
                self.reason = self.reason.or(Some(rejection.reason()));
            }
            if self.shared.format.needs() & need::ROUTE != 0 {
                if let Some(route) = extensions.get::<crate::router::MatchedRoute>() {
                    self.route = Some(route.clone());
                }
            }
        }
        #[cfg(feature = "origin")]
        if reported.is_some() {
            self.reason = self.reason.or(reported);
        }
        #[cfg(feature = "canary")]
        if self.shared.format.needs() & need::ARM != 0 {
            if let Some(arm) = extensions.get::<crate::canary::Arm>() {
                self.arm = Some(arm.clone());
            }
        }
        if self.shared.ids != RequestIds::Off {
            // The line needs the id later only when its format shows it: otherwise the
            // record's copy moves onto the response (one reference count less per request).
            let id = if self.shared.format.needs() & need::REQUEST_ID != 0 {
                self.request_id.clone()
            } else {
                self.request_id.take()
            };
            if let Some(id) = id {
                res.headers_mut()
                    .insert(self.shared.id_header.clone(), id.into_header_value());
            }
        }
    }

    /// Whether a server sends no body for this answer whatever the body holds (a `HEAD`
    /// request, `1xx`, `204`, `304`), so dropping it unread is the normal end.
    pub(super) fn body_not_sent(&self) -> bool {
        self.method == Method::HEAD || matches!(self.status, 100..=199 | 204 | 304)
    }

    /// The response body ended with the headers (it has no byte to send): its last byte is
    /// now, however late it is then polled or dropped, as the metrics layer times it.
    pub(super) fn ended_at_headers(&mut self) {
        if self.shared.format.needs() & need::LATENCY != 0 {
            self.end_mono = Some(
                self.headers_mono
                    .unwrap_or_else(|| self.shared.clock.mono()),
            );
        }
    }

    /// Counts body bytes sent; none for an answer whose body a server never sends (a `HEAD`
    /// request, `1xx`, `204`, `304`), even when the inner service gave it one and the caller
    /// reads it.
    pub(super) fn sent(&mut self, bytes: usize) {
        if !self.body_not_sent() {
            self.sent = self.sent.saturating_add(bytes as u64);
        }
    }

    /// Completes the record of a tunnel (a `101` whose upgraded connection just closed): the
    /// bytes each way become the request and response lengths, an abnormal end a flag and the
    /// error message.
    pub(super) fn tunnel_closed(&mut self, summary: &crate::tunnel::TunnelSummary) {
        use crate::tunnel::TunnelOutcome;
        self.sent = summary.bytes_out();
        self.request_length = Some(summary.bytes_in());
        let outcome = summary.outcome();
        self.tunnel = Some(outcome.is_abnormal());
        match outcome {
            TunnelOutcome::Normal => {}
            TunnelOutcome::IdleTimeout => self.flags |= flag::IDLE_TIMEOUT,
            _ => self.flags |= flag::TUNNEL_ABNORMAL,
        }
        self.reason = self.reason.or(outcome.reason());
    }

    /// Adds a response flag.
    pub(super) fn flag(&mut self, bit: u8) {
        self.flags |= bit;
    }

    /// Writes the record: formats it into this thread's reused buffer and hands it to the sink.
    pub(super) fn finish(self) {
        let end = if self.shared.format.needs() & need::LATENCY != 0 {
            self.end_mono.unwrap_or_else(|| self.shared.clock.mono())
        } else {
            0
        };
        let line = Line {
            record: &self,
            text: &self.slot.text,
            end_mono: end,
        };
        self.write(&line);
        Self::recycle(self.slot);
    }

    fn write(&self, line: &Line<'_>) {
        self.shared
            .sink
            .write_rendered(|buffer| self.shared.format.render(line, buffer));
    }
}

/// Gives a request that has no extensions yet an empty map with room for seven values.
///
/// The request id is usually the first value in a request's `http::Extensions`; the layers
/// inside add the matched route, its params and the canary arm. A map created by a first
/// `insert` has room for three values, so the fourth would rehash it into a new table
/// (an allocation, a copy and a free on every request). Cloning an empty map that once held
/// four values (clearing keeps its table) costs the same two allocations as a first insert
/// and never grows for the values the gateway adds.
pub(super) fn presize(extensions: &mut http::Extensions) {
    #[derive(Clone, Copy)]
    struct Room<const N: u8>;
    thread_local! {
        static EMPTY_WITH_ROOM: http::Extensions = {
            let mut map = http::Extensions::new();
            map.insert(Room::<0>);
            map.insert(Room::<1>);
            map.insert(Room::<2>);
            map.insert(Room::<3>);
            map.clear();
            map
        };
    }
    if extensions.is_empty() {
        if let Ok(map) = EMPTY_WITH_ROOM.try_with(Clone::clone) {
            *extensions = map;
        }
    }
}

fn millis(from: u64, to: u64) -> u64 {
    to.saturating_sub(from) / 1_000_000
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "-",
    }
}

/// The protocol as Envoy's `%PROTOCOL%` writes it.
fn envoy_protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        other => protocol(other),
    }
}

fn opt_bytes(value: Option<&HeaderValue>) -> Value<'_> {
    value.map_or(Value::Missing, |v| Value::Bytes(v.as_bytes()))
}

/// Copies the URI texts a format can show: the path and query once, the path and the query
/// as parts of it when they are (they always are, but nothing here relies on it).
fn uri_text(text: &mut Vec<u8>, uri: &Uri) -> UriText {
    let request_uri = match (uri.path_and_query(), uri.authority()) {
        (Some(pq), _) => pq.as_str(),
        (None, Some(authority)) => authority.as_str(),
        (None, None) => "/",
    };
    let whole = keep(text, request_uri.as_bytes());
    let path = uri.path();
    let path = if request_uri.starts_with(path) {
        Span {
            start: whole.start,
            end: whole.start + path.len(),
        }
    } else {
        keep(text, path.as_bytes())
    };
    let query = uri.query().map(|query| {
        if request_uri.len() >= path.end - path.start + query.len() && request_uri.ends_with(query)
        {
            Span {
                start: whole.end - query.len(),
                end: whole.end,
            }
        } else {
            keep(text, query.as_bytes())
        }
    });
    UriText {
        path,
        query,
        request_uri: whole,
    }
}

/// AWS's `$context.domainPrefix`: the first label of a host name (before the first `.`, the
/// port left out); an IPv4 address whole, a bracketed IPv6 address whole, without the port.
fn domain_prefix(domain: &[u8]) -> &[u8] {
    let host = match domain.first() {
        Some(b'[') => {
            let end = domain
                .iter()
                .position(|&b| b == b']')
                .map_or(domain.len(), |at| at + 1);
            return domain.get(..end).unwrap_or(domain);
        }
        _ => {
            let end = domain
                .iter()
                .position(|&b| b == b':')
                .unwrap_or(domain.len());
            domain.get(..end).unwrap_or(domain)
        }
    };
    if host.first().is_some_and(u8::is_ascii_digit)
        && host.iter().all(|b| b.is_ascii_digit() || *b == b'.')
    {
        return host;
    }
    let end = host.iter().position(|&b| b == b'.').unwrap_or(host.len());
    host.get(..end).unwrap_or(host)
}

/// A record at the moment it is written.
struct Line<'a> {
    record: &'a Facts,
    /// The record's text buffer, where its spans point.
    text: &'a [u8],
    end_mono: u64,
}

impl Line<'_> {
    fn bytes(&self, span: Span) -> Value<'_> {
        Value::Bytes(self.text.get(span.start..span.end).unwrap_or_default())
    }

    fn opt(&self, span: Option<Span>) -> Value<'_> {
        span.map_or(Value::Missing, |s| self.bytes(s))
    }
}

impl Source for Line<'_> {
    fn value(&self, var: Var) -> Value<'_> {
        let r = self.record;
        match var {
            Var::SourceIp => r.client.map_or(Value::Missing, Value::Ip),
            Var::RequestTime => Value::ClfTime(r.start_wall),
            Var::RequestTimeEpoch => {
                Value::Int(u64::try_from(r.start_wall.as_millis()).unwrap_or(u64::MAX))
            }
            Var::StartTime => Value::IsoTime(r.start_wall),
            Var::HttpMethod => Value::Bytes(r.method.as_str().as_bytes()),
            Var::Path => self.opt(r.uri.map(|u| u.path)),
            Var::Query => self.opt(r.uri.and_then(|u| u.query)),
            Var::RequestUri => self.opt(r.uri.map(|u| u.request_uri)),
            Var::Protocol => Value::Bytes(protocol(r.version).as_bytes()),
            Var::EnvoyProtocol => Value::Bytes(envoy_protocol(r.version).as_bytes()),
            // RFC 9112 §3.2.2: an absolute-form target's authority wins over `Host`.
            Var::DomainName => self.opt(r.authority.or(r.host)),
            Var::DomainPrefix => match self.opt(r.authority.or(r.host)) {
                Value::Bytes(domain) => Value::Bytes(domain_prefix(domain)),
                missing => missing,
            },
            Var::Status => Value::Int(r.status.into()),
            Var::ResponseLength => Value::Int(r.sent),
            Var::BytesClf => match r.sent {
                0 => Value::Missing,
                n => Value::Int(n),
            },
            Var::RequestLength => r.request_length.map_or(Value::Missing, Value::Int),
            Var::ResponseLatency => Value::Int(millis(r.start_mono, self.end_mono)),
            Var::IntegrationLatency => r
                .headers_mono
                .map_or(Value::Missing, |at| Value::Int(millis(r.start_mono, at))),
            Var::UserAgent => self.opt(r.user_agent),
            Var::Referer => self.opt(r.referer),
            Var::ForwardedFor => self.opt(r.forwarded_for),
            Var::RequestId => opt_bytes(r.request_id.as_ref().map(RequestId::header_value)),
            Var::TraceId => r
                .trace_id
                .as_ref()
                .map_or(Value::Missing, |t| Value::Bytes(t.as_str().as_bytes())),
            #[cfg(feature = "router")]
            Var::RouteKey => r
                .route
                .as_ref()
                .map_or(Value::Missing, |m| Value::Bytes(m.key().as_bytes())),
            #[cfg(feature = "router")]
            Var::ResourcePath => r
                .route
                .as_ref()
                .map_or(Value::Missing, |m| Value::Bytes(m.template().as_bytes())),
            #[cfg(feature = "router")]
            Var::RouteName => r
                .route
                .as_ref()
                .and_then(|m| m.name())
                .map_or(Value::Missing, |n| Value::Bytes(n.as_bytes())),
            #[cfg(not(feature = "router"))]
            Var::RouteKey | Var::ResourcePath | Var::RouteName => Value::Missing,
            #[cfg(feature = "canary")]
            Var::CanaryArm => r
                .arm
                .as_ref()
                .map_or(Value::Missing, |a| Value::Bytes(a.name().as_bytes())),
            #[cfg(feature = "canary")]
            Var::IsCanary => r
                .arm
                .as_ref()
                .map_or(Value::Missing, |a| Value::Bool(a.is_canary())),
            #[cfg(not(feature = "canary"))]
            Var::CanaryArm | Var::IsCanary => Value::Missing,
            Var::ErrorMessage => r
                .reason
                .map_or(Value::Missing, |m| Value::Bytes(m.as_bytes())),
            Var::ResponseFlags => Value::Flags(r.flags),
            Var::TunnelBytesIn => match r.tunnel {
                Some(_) => r.request_length.map_or(Value::Missing, Value::Int),
                None => Value::Missing,
            },
            Var::TunnelBytesOut => match r.tunnel {
                Some(_) => Value::Int(r.sent),
                None => Value::Missing,
            },
            Var::TunnelAbnormal => r.tunnel.map_or(Value::Missing, Value::Bool),
            Var::Absent => Value::Missing,
        }
    }
}
