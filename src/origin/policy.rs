//! The validated policy and the pure decision: [`Policy::check`].

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use http::header::{HeaderName, HOST, ORIGIN};
use http::{HeaderMap, HeaderValue, Method, Uri};

use super::bypass::BypassPaths;
use super::parse::{
    default_port, eq_fold, is_fast_origin_with, is_http_scheme, parse_authority,
    parse_authority_bytes, parse_origin, OriginError, OriginRef,
};
use super::response::RejectionResponse;
use super::{Allowed, Rejection, RejectionKind};

pub(super) static SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// A user predicate over normalised request origins.
#[derive(Clone)]
pub(super) struct TrustPredicate(pub(super) Arc<dyn Fn(&str) -> bool + Send + Sync + 'static>);

impl fmt::Debug for TrustPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrustPredicate(<closure>)")
    }
}

/// A word-at-a-time multiplicative hash (FNV-style). The trusted set is fixed when the guard is
/// built, so a request cannot lengthen its probe sequences (no hash flooding): an unkeyed hash
/// is safe here, and on short keys it costs a fraction of SipHash.
#[derive(Clone, Copy, Debug)]
pub(super) struct FastHash(u64);

impl Default for FastHash {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl FastHash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x0100_0000_01b3);
    }
}

impl Hasher for FastHash {
    fn finish(&self) -> u64 {
        // Spread the high bits down: hashbrown takes its control byte from the top bits.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.mix(u64::from_le_bytes(buf));
        }
        let tail = words.remainder();
        if tail.is_empty() {
            return;
        }
        // The last eight bytes, overlapping the words already mixed: one load, no loop.
        let last = bytes
            .len()
            .checked_sub(8)
            .and_then(|start| bytes.get(start..))
            .and_then(|last| <[u8; 8]>::try_from(last).ok());
        let buf = last.unwrap_or_else(|| {
            let mut buf = [0u8; 8];
            for (slot, byte) in buf.iter_mut().zip(tail) {
                *slot = *byte;
            }
            buf
        });
        self.mix(u64::from_le_bytes(buf) ^ ((tail.len() as u64) << 59));
    }

    // The length prefix of a slice: one round, not a trip through `write`.
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }
}

/// A configured public origin, normalised: lower-case scheme and host, effective port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PublicOrigin {
    pub(super) scheme: Box<str>,
    pub(super) host: Box<str>,
    pub(super) port: Option<u16>,
}

impl PublicOrigin {
    pub(super) fn from_ref(origin: &OriginRef<'_>) -> Self {
        Self {
            scheme: origin.scheme.to_ascii_lowercase().into(),
            host: origin.host.to_ascii_lowercase().into(),
            port: origin.effective_port(),
        }
    }

    fn matches(&self, origin: &OriginRef<'_>) -> bool {
        origin.scheme.eq_ignore_ascii_case(&self.scheme)
            && origin.host.eq_ignore_ascii_case(&self.host)
            && origin.effective_port() == self.port
    }
}

/// Every setting of the guard, validated.
#[derive(Clone, Debug, Default)]
pub(super) struct Policy {
    /// Normalised trusted origins, as bytes so that the `Origin` value is looked up as is.
    pub(super) trusted: HashSet<Box<[u8]>, BuildHasherDefault<FastHash>>,
    pub(super) predicates: Vec<TrustPredicate>,
    pub(super) public: Vec<PublicOrigin>,
    pub(super) bypass: BypassPaths,
    pub(super) trust_same_site: bool,
    pub(super) strict: bool,
    pub(super) report_only: bool,
    pub(super) response: Option<RejectionResponse>,
}

/// The `Sec-Fetch-Site` header, classified.
enum FetchSite {
    Absent,
    SameOrigin,
    SameSite,
    CrossSite,
    None,
    Invalid,
}

/// The values of one header name: none, exactly one, or more than one.
#[derive(Clone, Copy, Default)]
enum Slot<'a> {
    #[default]
    Absent,
    One(&'a HeaderValue),
    Many,
}

impl<'a> Slot<'a> {
    fn add(&mut self, value: &'a HeaderValue) {
        *self = match self {
            Slot::Absent => Slot::One(value),
            _ => Slot::Many,
        };
    }
}

/// The three headers an unsafe request's decision reads, found in one pass over the map:
/// cheaper than three lookups, each of which hashes the name byte by byte.
#[derive(Default)]
struct Heads<'a> {
    fetch_site: Slot<'a>,
    origin: Slot<'a>,
    host: Slot<'a>,
}

impl<'a> Heads<'a> {
    fn scan(headers: &'a HeaderMap) -> Self {
        let mut heads = Self::default();
        for (name, value) in headers {
            if *name == ORIGIN {
                heads.origin.add(value);
            } else if *name == HOST {
                heads.host.add(value);
            } else if *name == SEC_FETCH_SITE {
                heads.fetch_site.add(value);
            }
        }
        heads
    }

    fn fetch_site(&self) -> FetchSite {
        let first = match self.fetch_site {
            Slot::Absent => return FetchSite::Absent,
            Slot::Many => return FetchSite::Invalid,
            Slot::One(value) => value,
        };
        // The Fetch standard defines these four lower-case tokens; anything else is refused.
        match first.as_bytes() {
            b"" => FetchSite::Absent,
            b"same-origin" => FetchSite::SameOrigin,
            b"none" => FetchSite::None,
            b"same-site" => FetchSite::SameSite,
            b"cross-site" => FetchSite::CrossSite,
            _ => FetchSite::Invalid,
        }
    }

    /// The `Origin` header: absent (or empty, as Go treats it), exactly one, or repeated.
    fn origin(&self) -> OriginHeader<'a> {
        match self.origin {
            Slot::Absent => OriginHeader::Absent,
            Slot::Many => OriginHeader::Multiple,
            Slot::One(v) if v.is_empty() => OriginHeader::Absent,
            Slot::One(v) => OriginHeader::One(v.as_bytes()),
        }
    }
}

/// The `Origin` header: absent (or empty, as Go treats it), exactly one, or repeated.
enum OriginHeader<'a> {
    Absent,
    One(&'a [u8]),
    Multiple,
}

/// Whether `raw`, if it is an origin at all, is in normal form: no upper-case letter and no
/// colon but the scheme's (so no port, default or not). IPv6 hosts and ports answer `false` and
/// take the parser.
pub(super) fn is_plainly_normal(raw: &[u8]) -> bool {
    let mut colons = 0usize;
    let mut upper = false;
    for &b in raw {
        colons += usize::from(b == b':');
        upper |= b.is_ascii_uppercase();
    }
    colons == 1 && !upper
}

/// Whether `raw` starts with `http://` or `https://` as browsers write them (lower case): with
/// [`is_fast_origin_with`], that its scheme is one a request target can have. Any other
/// spelling leaves the fast path for [`Policy::matches_target`], which folds case.
fn has_http_scheme(raw: &[u8]) -> bool {
    raw.starts_with(b"https://") || raw.starts_with(b"http://")
}

fn strip_userinfo(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

impl Policy {
    /// The whole decision, as if enforcing; `report_only` only marks the rejection.
    pub(super) fn check(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Allowed, Rejection> {
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        // A WebSocket handshake over HTTP/1.1 is checked like an unsafe method (an HTTP/2
        // WebSocket is an extended `CONNECT`, which is checked anyway).
        if safe && !crate::websocket::is_handshake(method, headers) {
            return Ok(Allowed::SafeMethod);
        }
        match self.evaluate(uri, &Heads::scan(headers)) {
            Ok(allowed) => Ok(allowed),
            Err(_) if self.bypass.exempts(uri.path()) => Ok(Allowed::BypassPath),
            Err(kind) if self.report_only => Err(Rejection::new(kind).into_report_only()),
            Err(kind) => Err(Rejection::new(kind)),
        }
    }

    fn evaluate(&self, uri: &Uri, heads: &Heads<'_>) -> Result<Allowed, RejectionKind> {
        let refused = match heads.fetch_site() {
            FetchSite::SameOrigin => return Ok(Allowed::SameOrigin),
            FetchSite::None => return Ok(Allowed::UserInitiated),
            FetchSite::SameSite if self.trust_same_site => return Ok(Allowed::SameSite),
            FetchSite::SameSite => Some(RejectionKind::SameSite),
            FetchSite::CrossSite => Some(RejectionKind::CrossSite),
            FetchSite::Invalid => Some(RejectionKind::InvalidFetchSite),
            FetchSite::Absent => None,
        };
        if let Some(kind) = refused {
            // A browser told us the request is not same-origin: only a trusted origin helps.
            let OriginHeader::One(raw) = heads.origin() else {
                return Err(kind);
            };
            return if self.trusted_exactly(raw) {
                Ok(Allowed::TrustedOrigin)
            } else if self.predicates.is_empty() && is_plainly_normal(raw) {
                // In normal form (or not an origin at all) and not in the set: no parsing.
                Err(kind)
            } else {
                match parse_origin(raw) {
                    Ok(origin) if self.is_trusted(&origin, raw, true) => Ok(Allowed::TrustedOrigin),
                    _ => Err(kind),
                }
            };
        }

        let raw = match heads.origin() {
            OriginHeader::Absent if self.strict => return Err(RejectionKind::MissingHeaders),
            OriginHeader::Absent => return Ok(Allowed::NonBrowser),
            OriginHeader::Multiple => return Err(RejectionKind::MultipleOrigins),
            OriginHeader::One(raw) => raw,
        };
        // The common same-origin shape, decided with no parse: `Origin` is `http(s)://` and
        // the very bytes of the one `Host` (exactly what `matches_target` concludes after
        // parsing).
        if self.public.is_empty() && uri.authority().is_none() {
            if let Slot::One(host) = heads.host {
                if is_fast_origin_with(raw, host.as_bytes()) && has_http_scheme(raw) {
                    return Ok(Allowed::MatchesTarget);
                }
            }
        }
        let origin = match parse_origin(raw) {
            Ok(origin) => origin,
            Err(OriginError::Null) => return Err(RejectionKind::NullOrigin),
            Err(_) => return Err(RejectionKind::MalformedOrigin),
        };
        if self.matches_target(&origin, raw, uri, heads.host) {
            Ok(Allowed::MatchesTarget)
        } else if self.is_trusted(&origin, raw, false) {
            Ok(Allowed::TrustedOrigin)
        } else {
            Err(RejectionKind::CrossOrigin)
        }
    }

    /// Whether the origin equals the request's target origin: a configured public origin, else
    /// the request-target authority (absolute form, HTTP/2 `:authority`), else the one `Host`.
    fn matches_target(
        &self,
        origin: &OriginRef<'_>,
        raw: &[u8],
        uri: &Uri,
        host: Slot<'_>,
    ) -> bool {
        if !self.public.is_empty() {
            return self.public.iter().any(|public| public.matches(origin));
        }
        // The target is `http` or `https` (the request came over HTTP), whatever else the
        // request-target says: an `Origin` of another scheme is another origin.
        if !is_http_scheme(origin.scheme.as_bytes()) {
            return false;
        }
        let (scheme, target) = match uri.authority() {
            Some(authority) => match parse_authority(strip_userinfo(authority.as_str())) {
                Ok(target) => (uri.scheme_str(), target),
                Err(_) => return false,
            },
            None => {
                let Slot::One(host) = host else {
                    return false;
                };
                // The common case: `Origin` is `scheme://` and the very bytes of `Host`. The
                // origin parsed, so those bytes are an authority with the same host and port,
                // and with no scheme to compare that is a match.
                if raw.get(origin.scheme.len() + 3..) == Some(host.as_bytes()) {
                    return true;
                }
                match parse_authority_bytes(host.as_bytes()) {
                    Some(target) => (None, target),
                    None => return false,
                }
            }
        };
        if !eq_fold(origin.host, target.host) {
            return false;
        }
        match scheme {
            Some(scheme) => {
                eq_fold(scheme, origin.scheme)
                    && origin.effective_port() == target.port.or_else(|| default_port(scheme))
            }
            // Without a scheme (HTTP/1.1 origin-form) we cannot tell http from https: like Go,
            // assume the origin's scheme, so only host and port are compared (use HSTS).
            None => origin.effective_port() == target.port.or_else(|| default_port(origin.scheme)),
        }
    }

    /// Whether the raw `Origin` bytes are one of the trusted entries. The entries are normal
    /// origins, so the bytes of one are a valid, trusted origin with no parsing (browsers send
    /// the normal form).
    fn trusted_exactly(&self, raw: &[u8]) -> bool {
        !self.trusted.is_empty() && self.trusted.contains(raw)
    }

    /// Whether the origin is trusted; `raw_looked_up` says the raw bytes were already looked
    /// up in the trusted set (and missed).
    fn is_trusted(&self, origin: &OriginRef<'_>, raw: &[u8], raw_looked_up: bool) -> bool {
        if self.trusted.is_empty() && self.predicates.is_empty() {
            return false;
        }
        // One scan of the scheme and host, not one per use below.
        let is_normal = origin.is_normal();
        if is_normal {
            // The normal form is the bytes themselves: no UTF-8 pass, no Cow.
            if !raw_looked_up && self.trusted.contains(raw) {
                return true;
            }
            if self.predicates.is_empty() {
                return false;
            }
        }
        // parse_origin succeeded, so the bytes are ASCII.
        let Ok(raw) = std::str::from_utf8(raw) else {
            return false;
        };
        let normal = if is_normal {
            std::borrow::Cow::Borrowed(raw)
        } else {
            origin.normalized(raw)
        };
        (!is_normal && self.trusted.contains(normal.as_bytes()))
            || self.predicates.iter().any(|p| (p.0)(&normal))
    }
}
