//! The validated policy and its pure decision.

use http::header::Entry;
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

use super::decision::{Decision, Preflight};
use super::names::{Methods, RequestHeaders, MAX_ACRH_LEN, MAX_EMPTY_ELEMENTS};
use super::origins::Origins;
use super::{Rejection, RejectionKind};
use crate::body::Body;

pub(super) const WILDCARD: HeaderValue = HeaderValue::from_static("*");
pub(super) const TRUE: HeaderValue = HeaderValue::from_static("true");
pub(super) const VARY_ORIGIN: HeaderValue = HeaderValue::from_static("Origin");
pub(super) const VARY_PREFLIGHT: HeaderValue = HeaderValue::from_static(
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
);

/// The CORS headers [`CorsConfig::strip_inner_cors_headers`](super::CorsConfig) removes.
const CORS_RESPONSE_HEADERS: [HeaderName; 6] = [
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
];

/// A validated CORS policy.
#[derive(Clone, Debug)]
pub(super) struct Policy {
    /// `*` was allowed (or every origin is reflected with credentials).
    pub(super) any_origin: bool,
    /// Every origin is reflected with credentials (the dangerous opt-in).
    pub(super) reflect_any: bool,
    pub(super) origins: Origins,
    pub(super) credentials: bool,
    pub(super) methods: Methods,
    pub(super) headers: RequestHeaders,
    pub(super) expose: Option<HeaderValue>,
    pub(super) strip: bool,
    /// The accepted-preflight answers' headers, built once.
    pub(super) preflight: PreflightTemplates,
}

/// A value a template's user overwrites.
const PLACEHOLDER: HeaderValue = HeaderValue::from_static("");

/// The headers of an accepted preflight answer, built once per policy for each combination of
/// "names a method" and "names request headers": an answer clones one, which costs two
/// allocations and no hashing (six inserts into a fresh map hash six names), and writes the
/// request-dependent values over the placeholders that come first: `Access-Control-Allow-Origin`,
/// then `-Methods` and `-Headers` when present.
#[derive(Clone, Debug)]
pub(super) struct PreflightTemplates([HeaderMap; 4]);

impl PreflightTemplates {
    pub(super) fn new(credentials: bool, max_age: Option<&HeaderValue>) -> Self {
        let build = |method: bool, headers: bool| {
            let mut h = HeaderMap::with_capacity(6);
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, PLACEHOLDER);
            if method {
                h.insert(ACCESS_CONTROL_ALLOW_METHODS, PLACEHOLDER);
            }
            if headers {
                h.insert(ACCESS_CONTROL_ALLOW_HEADERS, PLACEHOLDER);
            }
            if credentials {
                h.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
            }
            if let Some(max_age) = max_age {
                h.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
            }
            h.insert(VARY, VARY_PREFLIGHT);
            h
        };
        Self([
            build(false, false),
            build(false, true),
            build(true, false),
            build(true, true),
        ])
    }

    fn get(&self, method: bool, headers: bool) -> &HeaderMap {
        let [none, headers_only, method_only, both] = &self.0;
        match (method, headers) {
            (false, false) => none,
            (false, true) => headers_only,
            (true, false) => method_only,
            (true, true) => both,
        }
    }
}

/// The one value of a header that must appear at most once.
#[derive(Debug, PartialEq)]
pub(super) enum Single<'a> {
    Absent,
    One(&'a HeaderValue),
    Many,
}

pub(super) fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Single<'a> {
    let Some(values) = crate::util::header::get_all(headers, name) else {
        return Single::Absent;
    };
    let mut values = values.iter();
    match (values.next(), values.next()) {
        (None, _) => Single::Absent,
        (Some(v), None) => Single::One(v),
        (Some(_), Some(_)) => Single::Many,
    }
}

impl<'a> Single<'a> {
    fn and(self, value: &'a HeaderValue) -> Self {
        match self {
            Single::Absent => Single::One(value),
            Single::One(_) | Single::Many => Single::Many,
        }
    }
}

/// `Origin`, `Access-Control-Request-Method` and `Access-Control-Request-Headers` of an
/// OPTIONS request, as [`single`] gives each, in one walk over the headers instead of three
/// hashed lookups (a preflight carries a dozen headers or so; comparing a standard name is
/// one integer compare). A proptest checks it against [`single`].
pub(super) fn preflight_singles(headers: &HeaderMap) -> [Single<'_>; 3] {
    let mut found = [Single::Absent, Single::Absent, Single::Absent];
    for (name, value) in headers {
        let slot = if name == ORIGIN {
            &mut found[0]
        } else if name == ACCESS_CONTROL_REQUEST_METHOD {
            &mut found[1]
        } else if name == ACCESS_CONTROL_REQUEST_HEADERS {
            &mut found[2]
        } else {
            continue;
        };
        *slot = std::mem::replace(slot, Single::Absent).and(value);
    }
    found
}

/// How an allowed origin is answered.
#[derive(Clone, Copy, Debug)]
pub(super) enum Grant<'a> {
    /// `Access-Control-Allow-Origin: *`.
    Wildcard,
    /// The request's origin, echoed.
    Origin(&'a HeaderValue),
}

impl Grant<'_> {
    /// The `Access-Control-Allow-Origin` value (a clone of the request's origin).
    pub(super) fn value(self) -> HeaderValue {
        match self {
            Grant::Wildcard => WILDCARD,
            Grant::Origin(origin) => origin.clone(),
        }
    }
}

/// An accepted preflight, its values still in the request.
#[derive(Debug)]
pub(super) struct Granted<'a> {
    pub(super) origin: Grant<'a>,
    /// The method to name in `Access-Control-Allow-Methods` (none when safelisted).
    pub(super) method: Option<&'a HeaderValue>,
    /// The names to echo in `Access-Control-Allow-Headers` (the first line when `joined`).
    pub(super) headers: Option<&'a HeaderValue>,
    /// The request split its names over several lines: the answer names them joined
    /// ([`join_lines`]). Browsers send one line, so this rare form is built, not borrowed.
    pub(super) joined: bool,
}

/// Several `Access-Control-Request-Headers` lines as the one list they are (RFC 9110 §5.3):
/// the non-empty lines, trimmed, joined with `, `.
fn join_lines(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut joined = Vec::new();
    for line in headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS) {
        let line = line.as_bytes().trim_ascii();
        if !line.is_empty() {
            if !joined.is_empty() {
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(line);
        }
    }
    HeaderValue::from_bytes(&joined).ok()
}

impl Granted<'_> {
    /// Which of the answer's values come from the request.
    pub(super) fn shape(&self) -> Shape {
        Shape {
            echo_origin: matches!(self.origin, Grant::Origin(_)),
            method: self.method.is_some(),
            headers: self.headers.is_some(),
            joined: self.joined,
        }
    }
}

/// Which values of an accepted preflight's answer are the request's: its origin (else `*`),
/// its requested method, its requested headers.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    echo_origin: bool,
    method: bool,
    headers: bool,
    joined: bool,
}

/// What [`Policy::find`] found: a [`Decision`] whose accepted preflight still borrows its
/// values from the request.
#[derive(Debug)]
pub(super) enum Found<'a> {
    /// See [`Decision::NotCors`].
    NotCors,
    /// See [`Decision::ActualAllowed`]: the `Access-Control-Allow-Origin` value.
    ActualAllowed(HeaderValue),
    /// See [`Decision::ActualRefused`].
    ActualRefused,
    /// See [`Decision::PreflightAccepted`].
    Preflight(Granted<'a>),
    /// See [`Decision::PreflightRefused`].
    PreflightRefused(Refusal<'a>),
    /// See [`Decision::WebSocket`].
    WebSocket,
}

/// A refused preflight: why, and what it had been granted before the failing step.
#[derive(Debug)]
pub(super) struct Refusal<'a> {
    pub(super) rejection: Rejection,
    origin: Option<Grant<'a>>,
    method: Option<&'a HeaderValue>,
}

impl Refusal<'_> {
    /// What was granted, copied out of the request (for debug mode).
    pub(super) fn partial(&self) -> Partial {
        Partial {
            allow_origin: self.origin.map(Grant::value),
            allow_method: self.method.cloned(),
        }
    }
}

/// What a refused preflight had been granted before it failed (for debug mode).
#[derive(Debug, Default)]
pub(super) struct Partial {
    pub(super) allow_origin: Option<HeaderValue>,
    pub(super) allow_method: Option<HeaderValue>,
}

impl Policy {
    /// `*` without credentials: a static `Access-Control-Allow-Origin: *` on every response.
    pub(super) fn is_public(&self) -> bool {
        self.any_origin && !self.credentials
    }

    /// Whether the serialized origin `origin` is allowed.
    pub(super) fn allows_origin(&self, origin: &str) -> bool {
        self.any_origin || self.origins.contains(origin)
    }

    /// How an allowed origin is answered: `*` or the origin itself.
    fn grant<'a>(&self, origin: &'a HeaderValue) -> Option<Grant<'a>> {
        if self.is_public() {
            return Some(Grant::Wildcard);
        }
        if self.reflect_any || self.origins.contains_bytes(origin.as_bytes()) {
            return Some(Grant::Origin(origin));
        }
        None
    }

    /// The decision for a request.
    pub(super) fn decide(&self, method: &Method, headers: &HeaderMap) -> Decision {
        match self.find(method, headers) {
            Found::NotCors => Decision::NotCors,
            Found::ActualAllowed(allow_origin) => Decision::ActualAllowed { allow_origin },
            Found::ActualRefused => Decision::ActualRefused,
            Found::Preflight(p) => Decision::PreflightAccepted(Preflight {
                allow_origin: p.origin.value(),
                allow_method: p.method.cloned(),
                allow_headers: p.headers.and_then(|line| match p.joined {
                    true => join_lines(headers),
                    false => Some(line.clone()),
                }),
            }),
            Found::PreflightRefused(refusal) => Decision::PreflightRefused(refusal.rejection),
            Found::WebSocket => Decision::WebSocket,
        }
    }

    /// [`decide`](Self::decide), with the values an answer needs still borrowed from the
    /// request: the service moves an accepted preflight's out of it instead of cloning them,
    /// and copies what a refused preflight had been granted only in debug mode.
    pub(super) fn find<'a>(&self, method: &Method, headers: &'a HeaderMap) -> Found<'a> {
        // CORS does not apply to WebSocket (browsers never preflight one and ignore
        // `Access-Control-*` on a `101`); the origin guard is what checks a handshake.
        if crate::websocket::is_handshake(method, headers) {
            return Found::WebSocket;
        }
        // Fetch: a preflight is OPTIONS with Origin and Access-Control-Request-Method.
        let [origin, acrm, acrh] = if method == Method::OPTIONS {
            preflight_singles(headers)
        } else {
            [single(headers, &ORIGIN), Single::Absent, Single::Absent]
        };
        let origin = match origin {
            Single::Absent => return Found::NotCors,
            Single::One(v) => Some(v),
            Single::Many => None,
        };
        let grant = origin.and_then(|o| self.grant(o));
        if matches!(acrm, Single::Absent) {
            return match grant {
                Some(grant) => Found::ActualAllowed(grant.value()),
                // Any origin without credentials: the static `*` on every response, even
                // when `Origin` is repeated (the answer does not depend on it).
                None if self.is_public() => Found::ActualAllowed(WILDCARD),
                None => Found::ActualRefused,
            };
        }
        let refuse = |kind, origin, method| {
            Found::PreflightRefused(Refusal {
                rejection: Rejection::new(kind),
                origin,
                method,
            })
        };
        let Some(grant) = grant else {
            return refuse(RejectionKind::OriginNotAllowed, None, None);
        };
        let allow_method = match acrm {
            Single::One(m) => match self.methods.check(m.as_bytes()) {
                Ok(true) => Some(m),
                Ok(false) => None,
                Err(()) => return refuse(RejectionKind::MethodNotAllowed, Some(grant), None),
            },
            _ => return refuse(RejectionKind::MethodNotAllowed, Some(grant), None),
        };
        let headers_ok = match acrh {
            Single::Absent => Ok(None),
            Single::One(h) => match self.headers.check(h.as_bytes()) {
                Ok(true) => Ok(Some(h)),
                Ok(false) => Ok(None),
                Err(()) => Err(()),
            },
            // Browsers send one line; several are one list (RFC 9110 §5.3), as jub0bs/cors
            // and rs/cors read them.
            Single::Many => self.check_lines(headers),
        };
        let Ok(allow_headers) = headers_ok else {
            return refuse(RejectionKind::HeaderNotAllowed, Some(grant), allow_method);
        };
        Found::Preflight(Granted {
            origin: grant,
            method: allow_method,
            headers: allow_headers,
            joined: matches!(acrh, Single::Many),
        })
    }

    /// Several `Access-Control-Request-Headers` lines: each non-empty line is checked as one
    /// would be, and together they keep one line's budget ([`MAX_ACRH_LEN`] bytes in all, at
    /// most [`MAX_EMPTY_ELEMENTS`] empty lines, as jub0bs/cors tolerates), so a split list
    /// costs no more than a whole one. `Some` (a line) when there are names to echo.
    fn check_lines<'a>(&self, headers: &'a HeaderMap) -> Result<Option<&'a HeaderValue>, ()> {
        let (mut empty, mut total, mut echo) = (0, 0, None);
        for line in headers.get_all(ACCESS_CONTROL_REQUEST_HEADERS) {
            total += line.len();
            if total > MAX_ACRH_LEN {
                return Err(());
            }
            if line.as_bytes().trim_ascii().is_empty() {
                empty += 1;
                if empty > MAX_EMPTY_ELEMENTS {
                    return Err(());
                }
                continue;
            }
            if self.headers.check(line.as_bytes())? {
                echo = Some(line);
            }
        }
        Ok(echo)
    }

    /// The headers of the `204` answer to an accepted preflight: a clone of the matching
    /// [`PreflightTemplates`] map (no header is hashed) with the request-dependent values
    /// written over the placeholders, which come first. Those values are moved out of the
    /// request's headers, not cloned (a clone and a drop of each: an atomic increment and
    /// decrement of hyper's read buffer).
    pub(super) fn accepted(&self, shape: Shape, request: HeaderMap) -> HeaderMap {
        let mut headers = self.preflight.get(shape.method, shape.headers).clone();
        // The placeholders, in order: the origin's, then the method's and the names' when
        // the answer has them.
        let mut slots = headers.values_mut();
        let mut origin = slots.next();
        let mut method = if shape.method { slots.next() } else { None };
        let mut names = if shape.headers { slots.next() } else { None };
        if !shape.echo_origin {
            if let Some(slot) = origin.take() {
                *slot = WILDCARD;
            }
        }
        // `Origin` and `Access-Control-Request-Method` are in the request once (`find`
        // refuses repeats); request headers split over several lines are named once, joined.
        if shape.joined {
            if let Some(joined) = join_lines(&request) {
                if let Some(slot) = names.take() {
                    *slot = joined;
                }
            }
        }
        for (name, value) in request {
            let slot = match name {
                Some(n) if n == ORIGIN => origin.take(),
                Some(n) if n == ACCESS_CONTROL_REQUEST_METHOD => method.take(),
                Some(n) if n == ACCESS_CONTROL_REQUEST_HEADERS => names.take(),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = value;
            }
        }
        headers
    }

    /// The answer to a refused preflight: `403` without any CORS header, or in debug mode the
    /// headers granted before the failing step (with `204` when the origin was allowed, so the
    /// browser gets past the status check and names the missing method or header).
    ///
    /// It reuses the request's emptied header map and extensions: a refusal allocates only
    /// for the [`Rejection`] (one allocation when the request carried extensions, three when
    /// it carried none).
    pub(super) fn refused<B>(
        &self,
        rejection: Rejection,
        partial: Partial,
        debug: bool,
        request: http::request::Parts,
    ) -> Response<Body<B>> {
        let http::request::Parts {
            mut headers,
            mut extensions,
            ..
        } = request;
        headers.clear();
        extensions.clear();
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FORBIDDEN;
        *response.headers_mut() = headers;
        *response.extensions_mut() = extensions;
        let h = response.headers_mut();
        h.insert(VARY, VARY_PREFLIGHT);
        if debug {
            if let Some(origin) = partial.allow_origin {
                *response.status_mut() = StatusCode::NO_CONTENT;
                let h = response.headers_mut();
                h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                if self.credentials {
                    h.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
                }
                if let Some(m) = partial.allow_method {
                    h.insert(ACCESS_CONTROL_ALLOW_METHODS, m);
                }
            }
        }
        response.extensions_mut().insert(rejection);
        response
    }

    /// What an actual (or non-CORS) request's response gets, taken from this policy when the
    /// request starts: the response future then needs no reference to the policy.
    pub(super) fn decoration(&self, allow_origin: Option<HeaderValue>, vary: Vary) -> Decoration {
        let expose = if allow_origin.is_some() {
            self.expose.clone()
        } else {
            None
        };
        Decoration {
            allow_origin,
            vary,
            expose,
            credentials: self.credentials,
            strip: self.strip,
        }
    }
}

/// The `Vary` an actual (or non-CORS) request's response gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Vary {
    /// None (any origin without credentials: the answer does not depend on the origin).
    No,
    /// `Origin`.
    Origin,
    /// What preflights vary on (for the answer to a non-preflight `OPTIONS`).
    Preflight,
}

impl Vary {
    fn value(self) -> Option<HeaderValue> {
        match self {
            Vary::No => None,
            Vary::Origin => Some(VARY_ORIGIN),
            Vary::Preflight => Some(VARY_PREFLIGHT),
        }
    }
}

/// The CORS headers an actual (or non-CORS) request's response gets; see
/// [`Policy::decoration`].
#[derive(Debug)]
pub(super) struct Decoration {
    allow_origin: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    vary: Vary,
    credentials: bool,
    strip: bool,
}

impl Decoration {
    /// Adds nothing and removes nothing: for a WebSocket handshake's answer.
    pub(super) fn none() -> Self {
        Self {
            allow_origin: None,
            expose: None,
            vary: Vary::No,
            credentials: false,
            strip: false,
        }
    }

    /// Adds the headers to the inner response (once: the values are taken).
    ///
    /// Inserted one by one, not cloned from a template map: into the usual empty inner map
    /// the first insert allocates the blocks the request just freed (same sizes, still in
    /// cache), which a template's exact-size clone does not; measured faster despite the
    /// hashing.
    pub(super) fn apply(&mut self, headers: &mut HeaderMap) {
        if self.strip {
            for name in &CORS_RESPONSE_HEADERS {
                headers.remove(name);
            }
        }
        if let Some(origin) = self.allow_origin.take() {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if self.credentials {
                headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
            }
            if let Some(expose) = self.expose.take() {
                headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose);
            }
        }
        if let Some(vary) = self.vary.value() {
            append_vary(headers, vary);
        }
    }
}

/// Appends `value` to `Vary`, keeping what the inner service set, unless it is already there
/// or `Vary: *` makes it moot. One probe of the map (an entry), not a lookup then an append.
fn append_vary(headers: &mut HeaderMap, value: HeaderValue) {
    match headers.entry(VARY) {
        Entry::Vacant(e) => {
            e.insert(value);
        }
        Entry::Occupied(mut e) => {
            // Every name of `value` already listed (in any element of any `Vary` line), or
            // `*`: nothing to add.
            let listed = |name: &[u8]| {
                e.iter().any(|v| {
                    v.as_bytes().split(|&b| b == b',').any(|element| {
                        let element = element.trim_ascii();
                        element == b"*" || element.eq_ignore_ascii_case(name)
                    })
                })
            };
            let covered = value
                .as_bytes()
                .split(|&b| b == b',')
                .all(|name| listed(name.trim_ascii()));
            if !covered {
                e.append(value);
            }
        }
    }
}
