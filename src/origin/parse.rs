//! Borrowing parsers for serialized origins (`scheme://host[:port]`) and authorities
//! (`host[:port]`), used both on request headers (hot path: no allocation) and on configured
//! origins (build time).

use std::borrow::Cow;

/// A parsed serialized origin, borrowing from its input. Scheme and host keep their case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OriginRef<'a> {
    pub(super) scheme: &'a str,
    pub(super) host: &'a str,
    pub(super) port: Option<u16>,
}

/// A parsed `host[:port]`, borrowing from its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct AuthorityRef<'a> {
    pub(super) host: &'a str,
    pub(super) port: Option<u16>,
}

/// Why a value is not a serialized origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OriginError {
    Empty,
    Null,
    NonAscii,
    Malformed,
    NoScheme,
    BadScheme,
    Userinfo,
    Path,
    Query,
    Fragment,
    BadHost,
    BadPort,
}

impl OriginError {
    /// A lower-case explanation for configuration errors.
    pub(super) fn explain(self) -> &'static str {
        match self {
            Self::Empty => "is empty",
            Self::Null => "is the opaque origin \"null\", which can never be trusted",
            Self::NonAscii => "is not ASCII; give an internationalised host in punycode (xn--...)",
            Self::Malformed => "contains whitespace or control characters",
            Self::NoScheme => "has no scheme",
            Self::BadScheme => "has a scheme other than http or https",
            Self::Userinfo => "has userinfo (user@)",
            Self::Path => "has a path (even \"/\" counts)",
            Self::Query => "has a query",
            Self::Fragment => "has a fragment",
            Self::BadHost => "has an empty or invalid host",
            Self::BadPort => "has an invalid port",
        }
    }
}

/// The default port of a scheme whose origins have one.
#[inline]
pub(super) fn default_port(scheme: &str) -> Option<u16> {
    // Exact lower-case bytes first: what browsers send, and no case-folding loop.
    match scheme.as_bytes() {
        b"https" | b"wss" => return Some(443),
        b"http" | b"ws" => return Some(80),
        _ => {}
    }
    let is = |name: &str| scheme.eq_ignore_ascii_case(name);
    match scheme.len() {
        5 if is("https") => Some(443),
        4 if is("http") => Some(80),
        3 if is("wss") => Some(443),
        2 if is("ws") => Some(80),
        _ => None,
    }
}

/// Whether a scheme can be a request target's: `http` or `https`, in any case. An `Origin` with
/// another scheme (`ws`, `ftp`, `chrome-extension`) is never the target origin (RFC 6454
/// section 5: another scheme is another origin).
#[inline]
pub(super) fn is_http_scheme(scheme: &[u8]) -> bool {
    scheme.eq_ignore_ascii_case(b"https") || scheme.eq_ignore_ascii_case(b"http")
}

/// ASCII case-insensitive equality, trying exact equality first (the common case).
#[inline]
pub(super) fn eq_fold(a: &str, b: &str) -> bool {
    a == b || a.eq_ignore_ascii_case(b)
}

impl<'a> OriginRef<'a> {
    /// The port, or the scheme's default port.
    pub(super) fn effective_port(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme))
    }

    /// Whether `raw` (the text this was parsed from) is already in normal form: lower-case
    /// scheme and host, no default port.
    pub(super) fn is_normal(&self) -> bool {
        !self.scheme.bytes().any(|b| b.is_ascii_uppercase())
            && !self.host.bytes().any(|b| b.is_ascii_uppercase())
            && (self.port.is_none() || self.port != default_port(self.scheme))
    }

    /// The normal serialization: lower-case scheme and host, default port dropped. Borrows `raw`
    /// when it is already normal (what browsers send), so the common case does not allocate.
    pub(super) fn normalized(&self, raw: &'a str) -> Cow<'a, str> {
        if self.is_normal() {
            return Cow::Borrowed(raw);
        }
        let mut out = String::with_capacity(raw.len());
        out.push_str(&self.scheme.to_ascii_lowercase());
        out.push_str("://");
        out.push_str(&self.host.to_ascii_lowercase());
        if let Some(port) = self.port.filter(|p| Some(*p) != default_port(self.scheme)) {
            out.push(':');
            out.push_str(&port.to_string());
        }
        Cow::Owned(out)
    }
}

/// Byte classes for the fast paths.
const SCHEME: u8 = 1;
const HOST: u8 = 2;
const DIGIT: u8 = 4;

static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.' {
            class |= SCHEME;
        }
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' || b == b'~' {
            class |= HOST;
        }
        if b.is_ascii_digit() {
            class |= DIGIT;
        }
        table[i] = class;
        i += 1;
    }
    table
}

fn class(b: u8) -> u8 {
    // A u8 always indexes a 256-entry table.
    CLASS[usize::from(b)]
}

/// The common `reg-name[:port]` shape in one pass: the host's length and the port, or `None`
/// for anything else (IPv6 literals, errors), which the general parser then handles.
fn fast_authority(bytes: &[u8]) -> Option<(usize, Option<u16>)> {
    let host_len = bytes
        .iter()
        .position(|&b| class(b) & HOST == 0)
        .unwrap_or(bytes.len());
    if host_len == 0 {
        return None;
    }
    let Some(after) = bytes.get(host_len..).filter(|rest| !rest.is_empty()) else {
        return Some((host_len, None));
    };
    let digits = after.strip_prefix(b":")?;
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut port: u32 = 0;
    for &b in digits {
        if class(b) & DIGIT == 0 {
            return None;
        }
        port = port * 10 + u32::from(b - b'0');
    }
    Some((host_len, Some(u16::try_from(port).ok()?)))
}

/// Parses a serialized origin as browsers send it in the `Origin` header: any syntactically
/// valid scheme, a host, an optional port, and nothing else.
pub(super) fn parse_origin(raw: &[u8]) -> Result<OriginRef<'_>, OriginError> {
    fast_origin(raw).map_or_else(|| slow_origin(raw), Ok)
}

/// The common shape, `scheme://reg-name[:port]`, in one pass.
pub(super) fn fast_origin(raw: &[u8]) -> Option<OriginRef<'_>> {
    let scheme_len = raw.iter().position(|&b| class(b) & SCHEME == 0)?;
    if !raw.first()?.is_ascii_alphabetic() {
        return None;
    }
    let authority = raw.get(scheme_len..)?.strip_prefix(b"://")?;
    let (host_len, port) = fast_authority(authority)?;
    // Every byte accepted above is ASCII.
    let text = std::str::from_utf8(raw).ok()?;
    let host_start = scheme_len + 3;
    Some(OriginRef {
        scheme: text.get(..scheme_len)?,
        host: text.get(host_start..host_start + host_len)?,
        port,
    })
}

/// Whether `raw` is `scheme://` followed by exactly `authority`, in the shape [`fast_origin`]
/// accepts: the same answer as `fast_origin(raw)` succeeding with that authority, without
/// building the borrowed strings.
pub(super) fn is_fast_origin_with(raw: &[u8], authority: &[u8]) -> bool {
    let Some(prefix) = raw
        .strip_suffix(authority)
        .and_then(|prefix| prefix.strip_suffix(b"://"))
    else {
        return false;
    };
    prefix.first().is_some_and(u8::is_ascii_alphabetic)
        && prefix.iter().all(|&b| class(b) & SCHEME != 0)
        && fast_authority(authority).is_some()
}

pub(super) fn slow_origin(raw: &[u8]) -> Result<OriginRef<'_>, OriginError> {
    if raw.is_empty() {
        return Err(OriginError::Empty);
    }
    if raw == b"null" {
        return Err(OriginError::Null);
    }
    // One pass over the bytes (this runs on every checked request): visible ASCII only.
    let mut malformed = false;
    for &b in raw {
        if !b.is_ascii() {
            return Err(OriginError::NonAscii);
        }
        malformed |= !b.is_ascii_graphic();
    }
    if malformed {
        return Err(OriginError::Malformed);
    }
    let text = std::str::from_utf8(raw).map_err(|_| OriginError::NonAscii)?;
    // The scheme ends at the first ':', which must start "://".
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .ok_or(OriginError::NoScheme)?;
    let (Some(scheme), Some(rest)) = (text.get(..colon), text.get(colon + 3..)) else {
        return Err(OriginError::NoScheme);
    };
    if raw.get(colon..colon + 3) != Some(b"://".as_slice()) {
        return Err(OriginError::NoScheme);
    }
    if !is_scheme(scheme) {
        return Err(
            if scheme
                .bytes()
                .any(|b| matches!(b, b'/' | b'?' | b'#' | b'@'))
            {
                OriginError::NoScheme
            } else {
                OriginError::BadScheme
            },
        );
    }
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or(rest);
    if authority.bytes().any(|b| b == b'@') {
        return Err(OriginError::Userinfo);
    }
    match rest.as_bytes().get(end) {
        None => {}
        Some(b'/') => return Err(OriginError::Path),
        Some(b'?') => return Err(OriginError::Query),
        Some(_) => return Err(OriginError::Fragment),
    }
    let AuthorityRef { host, port } = parse_authority(authority)?;
    Ok(OriginRef { scheme, host, port })
}

/// Parses a configured origin: [`parse_origin`] restricted to http and https, with non-ASCII
/// text reported as such.
pub(super) fn parse_config_origin(raw: &str) -> Result<OriginRef<'_>, OriginError> {
    // Name a wrong scheme first: "file:///x" is about the scheme, not the path.
    if let Some((scheme, _)) = raw.split_once("://") {
        if is_scheme(scheme)
            && !scheme.eq_ignore_ascii_case("http")
            && !scheme.eq_ignore_ascii_case("https")
            && raw.is_ascii()
        {
            return Err(OriginError::BadScheme);
        }
    }
    let origin = parse_origin(raw.as_bytes())?;
    if origin.scheme.eq_ignore_ascii_case("http") || origin.scheme.eq_ignore_ascii_case("https") {
        Ok(origin)
    } else {
        Err(OriginError::BadScheme)
    }
}

/// Parses `host[:port]` (a `Host` header or a URI authority without userinfo).
pub(super) fn parse_authority(text: &str) -> Result<AuthorityRef<'_>, OriginError> {
    if let Some((host_len, port)) = fast_authority(text.as_bytes()) {
        if let Some(host) = text.get(..host_len) {
            return Ok(AuthorityRef { host, port });
        }
    }
    slow_authority(text)
}

/// [`parse_authority`] on raw header bytes: `None` when they are not visible ASCII (as
/// `HeaderValue::to_str` would refuse) or do not parse. The common shape is parsed straight
/// from the bytes, with no separate validation pass.
pub(super) fn parse_authority_bytes(bytes: &[u8]) -> Option<AuthorityRef<'_>> {
    if let Some((host_len, port)) = fast_authority(bytes) {
        // The fast path accepts only ASCII host characters, ':' and digits.
        let host = std::str::from_utf8(bytes.get(..host_len)?).ok()?;
        return Some(AuthorityRef { host, port });
    }
    if !bytes
        .iter()
        .all(|b| *b == b'\t' || (b' '..=b'~').contains(b))
    {
        return None;
    }
    slow_authority(std::str::from_utf8(bytes).ok()?).ok()
}

pub(super) fn slow_authority(text: &str) -> Result<AuthorityRef<'_>, OriginError> {
    let (host, port) = if text.starts_with('[') {
        let close = text.find(']').ok_or(OriginError::BadHost)?;
        let host = text.get(..=close).ok_or(OriginError::BadHost)?;
        let inner = host.get(1..close).unwrap_or("");
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(OriginError::BadHost);
        }
        let after = text.get(close + 1..).unwrap_or("");
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err(OriginError::BadHost),
        };
        (host, port)
    } else {
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(OriginError::BadHost);
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(digits) => Some(parse_port(digits).ok_or(OriginError::BadPort)?),
    };
    Ok(AuthorityRef { host, port })
}

fn parse_port(digits: &str) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}
