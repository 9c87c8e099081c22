//! Allowed origins: parsed and validated once, then looked up in time independent of their
//! number.
//!
//! Exact origins live in a hash set of their serialized form. Patterns (`https://*.example.com`,
//! `http://localhost:*`) live in a map keyed by the host, or by the domain under which any
//! subdomain is allowed; a request's host is looked up once as a whole and once per distinct
//! pattern depth (usually one), never once per configured origin.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::error::{Problem, ProblemKind};
use crate::util::words::{padded_tail, word};

/// Longest `Origin` value looked at. A serialized origin is a scheme, `://`, a host of at most
/// 253 bytes and a port; anything longer is refused without being hashed or scanned.
pub(super) const MAX_ORIGIN_LEN: usize = 512;

/// A small, fast, non-keyed hasher (the multiply-rotate scheme of rustc's `FxHasher`).
///
/// Not keyed, and that is safe here: the tables are filled from the configuration only, so a
/// client can probe them but never grow a chain; the longest probe is fixed at build time.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(word(chunk));
        }
        // The bytes past the last whole word, read with whole loads.
        if !chunks.remainder().is_empty() {
            self.add(padded_tail(bytes));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

type Fast = BuildHasherDefault<FastHasher>;

/// Which ports a pattern allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PortRule {
    /// No port written: the scheme's default port.
    Default,
    /// Exactly this port.
    Exact(u16),
    /// `:*`: any port, and the default one.
    Any,
}

impl PortRule {
    fn matches(self, port: Option<u16>) -> bool {
        match self {
            PortRule::Any => true,
            PortRule::Default => port.is_none(),
            PortRule::Exact(p) => port == Some(p),
        }
    }
}

/// One allowed origin, as written in the configuration and validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum OriginSpec {
    /// `*`.
    Any,
    /// A serialized origin, compared byte for byte.
    Exact(String),
    /// A host pattern: `scheme://host:*` or `scheme://*.domain[:port]`.
    Pattern {
        scheme: String,
        host: String,
        port: PortRule,
        subdomains: bool,
    },
}

impl OriginSpec {
    /// The scheme and host the spec allows (for the insecure-origin rule), `None` for `*`.
    pub(super) fn scheme_and_host(&self) -> Option<(&str, &str)> {
        match self {
            OriginSpec::Any => None,
            OriginSpec::Exact(s) => parse_request_origin(s).map(|(scheme, host, _)| (scheme, host)),
            OriginSpec::Pattern { scheme, host, .. } => Some((scheme, host)),
        }
    }
}

#[derive(Clone, Debug)]
struct HostRule {
    scheme: Box<str>,
    port: PortRule,
    subdomains: bool,
}

/// The compiled set of allowed origins (without `*`, which the policy handles).
#[derive(Clone, Debug, Default)]
pub(super) struct Origins {
    exact: HashSet<Box<[u8]>, Fast>,
    /// Keyed by the host's bytes, looked up with the request's (which need no UTF-8 check).
    hosts: HashMap<Box<[u8]>, Vec<HostRule>, Fast>,
    /// Distinct label counts of the domains under which subdomains are allowed, ascending.
    depths: Vec<usize>,
    /// Some pattern is for a host itself (`http://localhost:*`), not only its subdomains.
    whole_hosts: bool,
}

impl Origins {
    pub(super) fn insert(&mut self, spec: &OriginSpec) {
        match spec {
            OriginSpec::Any => {}
            OriginSpec::Exact(s) => {
                self.exact.insert(s.as_bytes().into());
            }
            OriginSpec::Pattern {
                scheme,
                host,
                port,
                subdomains,
            } => {
                self.hosts
                    .entry(host.as_bytes().into())
                    .or_default()
                    .push(HostRule {
                        scheme: scheme.as_str().into(),
                        port: *port,
                        subdomains: *subdomains,
                    });
                self.whole_hosts |= !*subdomains;
                if *subdomains {
                    let depth = host.split('.').count();
                    if let Err(at) = self.depths.binary_search(&depth) {
                        self.depths.insert(at, depth);
                    }
                }
            }
        }
    }

    /// Whether the serialized origin `origin` is allowed.
    pub(super) fn contains(&self, origin: &str) -> bool {
        self.contains_bytes(origin.as_bytes())
    }

    /// Whether the `Origin` header value `origin` is allowed: the same answer as
    /// `HeaderValue::to_str` then [`contains`](Self::contains), without the separate
    /// visible-ASCII scan. Exact origins are compared as bytes (a configured one is
    /// visible ASCII, so equal bytes are a valid text); patterns only ever match lower-case
    /// ASCII hosts, digits and a configured (ASCII) scheme, so the bytes are parsed as they
    /// are. A proptest checks the agreement.
    pub(super) fn contains_bytes(&self, origin: &[u8]) -> bool {
        if origin.len() > MAX_ORIGIN_LEN {
            return false;
        }
        if !self.exact.is_empty() && self.exact.contains(origin) {
            return true;
        }
        if self.hosts.is_empty() {
            return false;
        }
        let Some((scheme, host, port)) = parse_origin_bytes(origin) else {
            return false;
        };
        let rule_matches = |rules: &Vec<HostRule>, subdomains: bool| {
            rules.iter().any(|r| {
                r.subdomains == subdomains && r.scheme.as_bytes() == scheme && r.port.matches(port)
            })
        };
        if self.whole_hosts {
            if let Some(rules) = self.hosts.get(host) {
                if rule_matches(rules, false) {
                    return true;
                }
            }
        }
        if host.starts_with(b"[") {
            return false;
        }
        for &depth in &self.depths {
            if let Some(parent) = parent_domain(host, depth) {
                if let Some(rules) = self.hosts.get(parent) {
                    if rule_matches(rules, true) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// The last `depth` labels of `host`, when at least one non-empty label stands before them.
fn parent_domain(host: &[u8], depth: usize) -> Option<&[u8]> {
    let mut dots = 0;
    for (i, &b) in host.iter().enumerate().rev() {
        if b == b'.' {
            dots += 1;
            if dots == depth {
                let parent = host.get(i + 1..)?;
                let before = host.get(..i)?;
                // `host` was validated: labels are non-empty unless the host starts with a dot
                // or has two dots in a row, which `parse_origin_bytes` refuses.
                return (!before.is_empty()).then_some(parent);
            }
        }
    }
    None
}

/// Splits a request's `Origin` into scheme, host and port (`None` when absent). Refuses
/// anything that is not `scheme://host[:port]` with a lower-case host of `[a-z0-9._-]` (or a
/// bracketed IPv6 literal) and a port without leading zeros.
///
/// The text form of [`parse_origin_bytes`] (for configured origins and the tests).
pub(super) fn parse_request_origin(origin: &str) -> Option<(&str, &str, Option<u16>)> {
    let (scheme, host, port) = parse_origin_bytes(origin.as_bytes())?;
    // The scheme ends at an ASCII colon and the host is ASCII: both are whole characters.
    let scheme = std::str::from_utf8(scheme).ok()?;
    let host = std::str::from_utf8(host).ok()?;
    Some((scheme, host, port))
}

/// Bytes a request's name host may hold: lower-case letters, digits, `-` and `_` (dots are
/// handled apart).
const HOST_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        i += 1;
    }
    table
};

/// [`parse_request_origin`] on the `Origin` header's bytes: no UTF-8 check is needed, as
/// whatever it returns is compared with (ASCII) configuration. A name host is found and
/// validated in the same pass, which stops at the port's colon (this runs on every pattern
/// lookup). A proptest checks it against the split-then-validate reading,
/// [`parse_request_origin_by_split`].
fn parse_origin_bytes(origin: &[u8]) -> Option<(&[u8], &[u8], Option<u16>)> {
    let colon = origin.iter().position(|&b| b == b':')?;
    let (scheme, rest) = origin.split_at(colon);
    let rest = rest.strip_prefix(b"://")?;
    if scheme.is_empty() {
        return None;
    }
    if rest.starts_with(b"[") {
        return parse_bracketed(scheme, rest);
    }
    let mut previous = b'.';
    let mut end = rest.len();
    for (i, &b) in rest.iter().enumerate() {
        if HOST_BYTE[usize::from(b)] {
            // A host byte.
        } else if b == b'.' && previous != b'.' {
            // A dot after a label.
        } else if b == b':' {
            end = i;
            break;
        } else {
            return None;
        }
        previous = b;
    }
    let (host, after) = rest.split_at(end);
    if host.is_empty() {
        return None;
    }
    let port = match after {
        [] => None,
        [_colon, port @ ..] => Some(parse_port_bytes(port)?),
    };
    Some((scheme, host, port))
}

/// The rest of [`parse_origin_bytes`] for a bracketed IPv6 host.
fn parse_bracketed<'a>(
    scheme: &'a [u8],
    rest: &'a [u8],
) -> Option<(&'a [u8], &'a [u8], Option<u16>)> {
    let end = rest.iter().position(|&b| b == b']')?;
    let (host, after) = rest.split_at(end + 1);
    let port = match after {
        [] => None,
        [b':', port @ ..] => Some(parse_port_bytes(port)?),
        _ => return None,
    };
    if !host
        .iter()
        .all(|b| matches!(b, b'[' | b']' | b':' | b'.' | b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    Some((scheme, host, port))
}

/// [`parse_port`] on bytes.
fn parse_port_bytes(p: &[u8]) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || p.starts_with(b"0") {
        return None;
    }
    let mut n: u32 = 0;
    for &b in p {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    u16::try_from(n).ok()
}

/// The reading [`parse_request_origin`] must agree with (kept for the proptest): split at
/// the colons, then validate.
///
/// Splits a request's `Origin` into scheme, host and port (`None` when absent). Refuses
/// anything that is not `scheme://host[:port]` with a lower-case host of `[a-z0-9._-]` (or a
/// bracketed IPv6 literal) and a port without leading zeros.
#[cfg(test)]
pub(super) fn parse_request_origin_by_split(origin: &str) -> Option<(&str, &str, Option<u16>)> {
    // A byte scan rather than a substring search: this runs on every pattern lookup.
    let colon = origin.bytes().position(|b| b == b':')?;
    let scheme = origin.get(..colon)?;
    let rest = origin.get(colon + 1..)?.strip_prefix("//")?;
    if scheme.is_empty() {
        return None;
    }
    let (host, port) = if rest.starts_with('[') {
        let end = rest.find(']')?;
        let host = rest.get(..=end)?;
        let after = rest.get(end + 1..)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        if !host
            .bytes()
            .all(|b| matches!(b, b'[' | b']' | b':' | b'.' | b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        (host, port)
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if !host.starts_with('[') && !valid_request_host(host) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    Some((scheme, host, port))
}

/// Lower-case letters, digits, `-`, `_` and `.`, without empty labels before the last (one pass).
#[cfg(test)]
fn valid_request_host(host: &str) -> bool {
    let mut previous = b'.';
    for b in host.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => {}
            b'.' if previous != b'.' => {}
            _ => return false,
        }
        previous = b;
    }
    !host.is_empty()
}

/// A port as browsers serialize it: 1 to 5 digits, no leading zero, at most 65535.
fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || p.starts_with('0') || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Whether a host is a loopback name or address (allowed over plain `http` with credentials).
/// A name keeps its meaning with one trailing dot (`localhost.`, as jub0bs/cors and the
/// Secure Contexts "potentially trustworthy" check read it).
pub(super) fn is_loopback(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3
                && rest
                    .split('.')
                    .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn problem(kind: ProblemKind, value: &str, why: &str) -> Problem {
    Problem::new("cors", kind, value, format!("origin {value:?} {why}"))
}

/// Validates one configured origin. Upper case is refused rather than normalised, so that a
/// configured origin is, byte for byte, what a browser sends.
pub(super) fn parse_config_origin(value: &str) -> Result<OriginSpec, Problem> {
    use ProblemKind::{Invalid, Syntax, Unsafe};
    if value == "*" {
        return Ok(OriginSpec::Any);
    }
    if value.eq_ignore_ascii_case("null") {
        return Err(problem(
            Invalid,
            value,
            "is never allowed: sandboxed documents, file: pages and redirects all share it",
        ));
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(problem(
            Syntax,
            value,
            "has no scheme; expected scheme://host[:port]",
        ));
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(problem(Syntax, value, "has an invalid scheme"));
    }
    if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(problem(
            Invalid,
            value,
            &format!(
                "has an upper-case scheme; browsers send it lower-case: write {:?}",
                value.to_ascii_lowercase()
            ),
        ));
    }
    if scheme == "file" {
        return Err(problem(
            Invalid,
            value,
            "is a file: URL, whose origin is opaque and serialized as \"null\"",
        ));
    }
    if rest.contains('@') {
        return Err(problem(
            Invalid,
            value,
            "has userinfo; expected scheme://host[:port]",
        ));
    }
    for (c, what) in [('/', "a path"), ('?', "a query"), ('#', "a fragment")] {
        if rest.contains(c) {
            return Err(problem(
                Invalid,
                value,
                &format!("has {what}; expected scheme://host[:port]"),
            ));
        }
    }
    let (subdomains, rest) = match rest.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (host, port) = if rest.starts_with('[') {
        let Some(end) = rest.find(']') else {
            return Err(problem(Syntax, value, "has an unclosed IPv6 literal"));
        };
        let (h, after) = rest.split_at(end + 1);
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(problem(Syntax, value, "has text after its IPv6 literal")),
        }
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.contains('*') || port.is_some_and(|p| p.contains('*') && p != "*") {
        return Err(problem(
            Syntax,
            value,
            "has a wildcard in the wrong place; only a leading \"*.\" label or a \":*\" port is allowed",
        ));
    }
    if host.is_empty() {
        return Err(problem(Syntax, value, "has no host"));
    }
    if !host.is_ascii() {
        return Err(problem(
            Invalid,
            value,
            "has a non-ASCII host; write it in punycode (xn--...) as browsers send it",
        ));
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(problem(
            Invalid,
            value,
            &format!(
                "has an upper-case host; browsers send it lower-case: write {:?}",
                value.to_ascii_lowercase()
            ),
        ));
    }
    if host.starts_with('[') {
        if subdomains {
            return Err(problem(
                Invalid,
                value,
                "puts a subdomain wildcard on an IP address",
            ));
        }
        let inner = host.trim_start_matches('[').trim_end_matches(']');
        let Ok(address) = inner.parse::<std::net::Ipv6Addr>() else {
            return Err(problem(Syntax, value, "has an invalid IPv6 literal"));
        };
        let canonical = crate::util::host::serialize_ipv6(address);
        if inner != canonical {
            return Err(problem(
                Invalid,
                value,
                &format!(
                    "writes its IPv6 address in a form browsers never send: write [{canonical}]"
                ),
            ));
        }
    } else {
        // One trailing dot is part of the serialized origin (`https://example.com.`), kept
        // as browsers keep it; it is a different origin from the one without.
        let name = host.strip_suffix('.').unwrap_or(host);
        let labels_ok = name.len() <= if subdomains { 251 } else { 253 }
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
            });
        if !labels_ok {
            return Err(problem(Syntax, value, "has an invalid host"));
        }
        // The URL standard reads a host whose last label is a number as an IPv4 address
        // and serializes it as a dotted quad: any other spelling never matches.
        let is_ipv4 = crate::util::host::ends_in_a_number(name);
        if is_ipv4 && (name != host || !crate::util::host::is_dotted_quad(name)) {
            return Err(problem(
                Invalid,
                value,
                "has an IPv4 address in a form browsers never send; write four decimal \
                 numbers 0-255 without leading zeros (127.0.0.1)",
            ));
        }
        if subdomains && is_ipv4 {
            return Err(problem(
                Invalid,
                value,
                "puts a subdomain wildcard on an IP address",
            ));
        }
        if subdomains && !name.contains('.') && name != "localhost" {
            return Err(problem(
                Unsafe,
                value,
                "allows every site under a top-level domain",
            ));
        }
    }
    let port = match port {
        None => PortRule::Default,
        Some("*") => PortRule::Any,
        Some(p) => match parse_port(p) {
            None => return Err(problem(Syntax, value, "has an invalid port")),
            Some(n) if default_port(scheme) == Some(n) => {
                return Err(problem(
                    Invalid,
                    value,
                    &format!(
                        "writes out the default port {n}; browsers omit it: write {:?}",
                        format!("{scheme}://{}{host}", if subdomains { "*." } else { "" })
                    ),
                ))
            }
            Some(n) => PortRule::Exact(n),
        },
    };
    if !subdomains && port != PortRule::Any {
        return Ok(OriginSpec::Exact(value.to_owned()));
    }
    Ok(OriginSpec::Pattern {
        scheme: scheme.to_owned(),
        host: host.to_owned(),
        port,
        subdomains,
    })
}
