//! [`Target`]: an upstream base URL, parsed once, and the mapping of a request onto it.
//!
//! Shared with the WebSocket upstream (`upstream::websocket`): the signatures of `parse`,
//! `authority` and `uri_for` are a contract between the two.

use std::fmt;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};

use crate::error::{ConfigError, Problem, ProblemKind, Problems};

const MODULE: &str = "upstream";

/// An upstream base URL: `http://host[:port][/base]`, whose base path may hold `{name}` and
/// `{name+}` placeholders, and the request path prefix to strip before appending.
#[derive(Clone)]
pub(crate) struct Target {
    url: Box<str>,
    authority: Authority,
    host: HeaderValue,
    base: Base,
    strip_prefix: Option<Box<str>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Base {
    /// The request path (minus the prefix) is appended to this path, which never ends with
    /// `/` (empty for the root).
    Prefix(Box<str>),
    /// The path is this template with the route's params filled in; the request path is not
    /// appended.
    Template(Box<[Piece]>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(Box<str>),
    Param(Box<str>),
}

impl Target {
    /// Parses `url` (`http://host[:port][/base]`) and the optional prefix to strip from
    /// request paths, reporting every problem with both at once.
    pub(crate) fn parse(url: &str, strip_prefix: Option<&str>) -> Result<Target, ConfigError> {
        let mut problems = Problems::new();
        let target = parse_url(url, &mut problems);
        let prefix = strip_prefix.and_then(|p| parse_prefix(p, &mut problems));
        if let (Some(prefix), Some((_, _, Base::Template(_)))) = (&prefix, &target) {
            problems.push(problem(
                ProblemKind::Conflict,
                prefix,
                format!(
                    "strip prefix {prefix:?} has no effect: the base path of {url:?} has \
                     placeholders, which give the whole upstream path"
                ),
            ));
        }
        let built = target.filter(|_| problems.is_empty());
        problems.finish(|| ())?;
        match built {
            Some((authority, host, base)) => Ok(Target {
                url: url.into(),
                authority,
                host,
                base,
                strip_prefix: prefix,
            }),
            None => Err(ConfigError::new(problem(
                ProblemKind::Invalid,
                url,
                format!("upstream URL {url:?} is invalid"),
            ))),
        }
    }

    /// The upstream's `host[:port]`.
    #[allow(dead_code)] // the WebSocket upstream connects to it
    pub(crate) fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The upstream's authority as a `Host` header value.
    pub(crate) fn host(&self) -> &HeaderValue {
        &self.host
    }

    /// The URL the target was parsed from.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The absolute upstream URI for a request: the base path joined with the request path
    /// (minus the strip prefix when the path is under it), or the base template with the
    /// route's params (a placeholder with no captured value becomes empty), then the request's
    /// query. Refuses (with a short reason) a request target that is not a path and request
    /// paths with `.` or `..` segments, which would climb out of the base path upstream.
    pub(crate) fn uri_for(&self, parts: &http::request::Parts) -> Result<Uri, &'static str> {
        let path = parts.uri.path();
        if !path.starts_with('/') {
            return Err("request target is not a path");
        }
        let query = parts.uri.query();
        let extra = query.map_or(0, |q| q.len() + 1);
        let mut out;
        match &self.base {
            Base::Prefix(base) => {
                let rest = match &self.strip_prefix {
                    Some(prefix) => strip(path, prefix),
                    None => path,
                };
                if has_dot_segment(rest) {
                    return Err("request path has a dot segment");
                }
                out = String::with_capacity(base.len() + rest.len() + extra);
                out.push_str(base);
                if rest.is_empty() {
                    if out.is_empty() {
                        out.push('/');
                    }
                } else {
                    out.push_str(rest);
                }
            }
            Base::Template(pieces) => {
                out = String::with_capacity(path.len() + 16 + extra);
                for piece in pieces.iter() {
                    match piece {
                        Piece::Literal(text) => push_joined(&mut out, text),
                        Piece::Param(name) => {
                            let value = param(parts, name);
                            if has_dot_segment(value) {
                                return Err("request path has a dot segment");
                            }
                            push_joined(&mut out, value);
                        }
                    }
                }
            }
        }
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        let path_and_query = PathAndQuery::from_maybe_shared(Bytes::from(out))
            .map_err(|_| "mapped upstream path is not a valid URI path")?;
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(Scheme::HTTP);
        uri.authority = Some(self.authority.clone());
        uri.path_and_query = Some(path_and_query);
        Uri::from_parts(uri).map_err(|_| "mapped upstream URI is invalid")
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("strip_prefix", &self.strip_prefix)
            .finish()
    }
}

#[cfg(feature = "router")]
fn param<'a>(parts: &'a http::request::Parts, name: &str) -> &'a str {
    parts
        .extensions
        .get::<crate::router::Params>()
        .and_then(|params| params.get(name))
        .unwrap_or_default()
}

#[cfg(not(feature = "router"))]
fn param<'a>(_parts: &'a http::request::Parts, _name: &str) -> &'a str {
    ""
}

/// Appends `text`, dropping its leading `/` when `out` already ends with one.
fn push_joined(out: &mut String, text: &str) {
    if out.ends_with('/') {
        out.push_str(text.strip_prefix('/').unwrap_or(text));
    } else {
        out.push_str(text);
    }
}

/// `path` minus `prefix` when `path` is `prefix` or under `prefix/`; else `path` unchanged.
fn strip<'a>(path: &'a str, prefix: &str) -> &'a str {
    match path.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    }
}

/// Whether a `/`-separated segment of `path` is `.` or `..`, percent-encoded or not.
pub(crate) fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let mut dots = 0;
        let mut rest = segment.as_bytes();
        while !rest.is_empty() {
            match rest {
                [b'.', tail @ ..] => rest = tail,
                [b'%', b'2', b'e' | b'E', tail @ ..] => rest = tail,
                _ => return false,
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    })
}

fn problem(kind: ProblemKind, value: &str, reason: String) -> Problem {
    Problem::new(MODULE, kind, value, reason)
}

/// Parses `http://host[:port][/base]`; pushes every problem found.
fn parse_url(url: &str, into: &mut Problems) -> Option<(Authority, HeaderValue, Base)> {
    let mut local = Problems::new();
    let problems = &mut local;
    let expected = "expected http://host[:port][/base]";
    let Some((scheme, rest)) = url.split_once("://") else {
        into.push(problem(
            ProblemKind::Syntax,
            url,
            format!("upstream URL {url:?} has no scheme; {expected}"),
        ));
        return None;
    };
    if scheme.eq_ignore_ascii_case("https") {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!(
                "upstream URL {url:?} is https, which needs TLS support that this build does \
                 not have; use http:// (for example to a local TLS-terminating sidecar)"
            ),
        ));
    } else if !scheme.eq_ignore_ascii_case("http") {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!("upstream URL {url:?} has scheme {scheme:?}; {expected}"),
        ));
    }
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, _)) => (rest, true),
        None => (rest, false),
    };
    if fragment {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!("upstream URL {url:?} has a fragment; {expected}"),
        ));
    }
    let (rest, query) = match rest.split_once('?') {
        Some((rest, _)) => (rest, true),
        None => (rest, false),
    };
    if query {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!(
                "upstream URL {url:?} has a query; the request's query is always forwarded, \
                 {expected}"
            ),
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut parsed = None;
    if authority.contains('@') {
        problems.push(problem(
            ProblemKind::Unsafe,
            url,
            format!(
                "upstream URL {url:?} has credentials (user info); send credentials in a \
                 header instead"
            ),
        ));
    } else if authority.is_empty() {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!("upstream URL {url:?} has no host; {expected}"),
        ));
    } else {
        match (
            Authority::try_from(authority),
            HeaderValue::from_str(authority),
        ) {
            (Ok(a), Ok(_)) if a.host().is_empty() => problems.push(problem(
                ProblemKind::Invalid,
                url,
                format!("upstream URL {url:?} has no host; {expected}"),
            )),
            (Ok(a), Ok(h)) if port_ok(authority) => {
                parsed = Some((a, h));
            }
            _ => problems.push(problem(
                ProblemKind::Syntax,
                url,
                format!("upstream URL {url:?} has an invalid host or port {authority:?}"),
            )),
        }
    }
    let base = parse_base(url, path, problems);
    let parsed = match (parsed, base) {
        (Some((authority, host)), Some(base)) if local.is_empty() => Some((authority, host, base)),
        _ => None,
    };
    if let Err(error) = local.finish(|| ()) {
        into.extend(error);
    }
    parsed
}

/// Whether the port of `host[:port]` (if any) is a number that fits 16 bits.
fn port_ok(authority: &str) -> bool {
    let after_host = match authority.rfind(']') {
        Some(i) => &authority[i + 1..],
        None => authority,
    };
    match after_host.rfind(':') {
        Some(i) => {
            let port = &after_host[i + 1..];
            !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok()
        }
        None => true,
    }
}

/// Parses the base path (with placeholders) of `url`.
fn parse_base(url: &str, path: &str, problems: &mut Problems) -> Option<Base> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = path;
    let mut ok = true;
    let mut greedy_seen = false;
    while let Some(i) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(i);
        literal.push_str(before);
        if after.starts_with('}') {
            problems.push(problem(
                ProblemKind::Syntax,
                url,
                format!("upstream URL {url:?} has a '}}' without '{{'"),
            ));
            return None;
        }
        let Some(end) = after.find('}') else {
            problems.push(problem(
                ProblemKind::Syntax,
                url,
                format!("upstream URL {url:?} has an unclosed '{{'"),
            ));
            return None;
        };
        let inner = &after[1..end];
        let (name, greedy) = match (inner.strip_suffix('+'), inner.strip_prefix('*')) {
            (Some(name), _) | (None, Some(name)) => (name, true),
            (None, None) => (inner, false),
        };
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            problems.push(problem(
                ProblemKind::Syntax,
                url,
                format!(
                    "upstream URL {url:?} has a bad placeholder {{{inner}}}; expected {{name}} \
                     or {{name+}}"
                ),
            ));
            ok = false;
        }
        if greedy_seen {
            problems.push(problem(
                ProblemKind::Invalid,
                url,
                format!("upstream URL {url:?} has a placeholder after a {{name+}} one"),
            ));
            ok = false;
        }
        greedy_seen |= greedy;
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(&mut literal).into()));
        }
        pieces.push(Piece::Param(name.into()));
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if greedy_seen && !literal.is_empty() {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!("upstream URL {url:?} has text after a {{name+}} placeholder"),
        ));
        ok = false;
    }
    let literals = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Literal(text) => Some(&**text),
            Piece::Param(_) => None,
        })
        .chain(std::iter::once(&*literal));
    for text in literals {
        if !text.bytes().all(is_path_byte) {
            problems.push(problem(
                ProblemKind::Syntax,
                url,
                format!(
                    "upstream URL {url:?} has a character not allowed in a path in {text:?}; \
                     percent-encode it"
                ),
            ));
            ok = false;
            break;
        }
    }
    if has_dot_segment(path) {
        problems.push(problem(
            ProblemKind::Invalid,
            url,
            format!("upstream URL {url:?} has a '.' or '..' segment in its path"),
        ));
        ok = false;
    }
    if !ok {
        return None;
    }
    if pieces.is_empty() {
        let base = literal.strip_suffix('/').unwrap_or(&literal);
        return Some(Base::Prefix(base.into()));
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal.into()));
    }
    Some(Base::Template(pieces.into()))
}

/// RFC 3986 `pchar` or `/` (percent signs allowed as they are).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

/// Checks the prefix to strip: `/segment[/segment...]`, no trailing slash, no placeholders.
fn parse_prefix(prefix: &str, problems: &mut Problems) -> Option<Box<str>> {
    let reason = if !prefix.starts_with('/') {
        "does not start with '/'"
    } else if prefix.len() == 1 {
        "is the root, which strips nothing; leave it out"
    } else if prefix.ends_with('/') {
        "ends with '/'; write it without"
    } else if prefix.contains(['{', '}']) {
        "has a placeholder; use a Router route with {proxy+} and a {proxy} placeholder instead"
    } else if prefix.contains(['?', '#']) {
        "has a query or fragment"
    } else if !prefix.bytes().all(is_path_byte) {
        "has a character not allowed in a path"
    } else {
        return Some(prefix.into());
    };
    problems.push(problem(
        ProblemKind::Invalid,
        prefix,
        format!("strip prefix {prefix:?} {reason}"),
    ));
    None
}
