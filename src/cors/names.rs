//! Allowed methods and request headers: validated once, then checked against
//! `Access-Control-Request-Method` and `Access-Control-Request-Headers` with bounded work.

use http::HeaderName;

use crate::error::{Problem, ProblemKind};

/// Most bytes of `Access-Control-Request-Headers` looked at. A longer value is refused without
/// being scanned (a browser lists the names of the non-safelisted headers it will send; 8 KiB is
/// hundreds of them).
pub(super) const MAX_ACRH_LEN: usize = 8 * 1024;

/// Most empty elements (`a,,b`, `, ,`) tolerated in `Access-Control-Request-Headers`.
pub(super) const MAX_EMPTY_ELEMENTS: usize = 16;

/// Methods a preflight never needs to be granted explicitly (Fetch: CORS-safelisted method).
pub(super) fn is_safelisted_method(m: &[u8]) -> bool {
    matches!(m, b"GET" | b"HEAD" | b"POST")
}

/// Forbidden methods (Fetch), compared case-insensitively.
fn is_forbidden_method(m: &[u8]) -> bool {
    [&b"CONNECT"[..], b"TRACE", b"TRACK"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(m))
}

/// RFC 9110 `tchar`, as a lookup table.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// The allowed methods.
#[derive(Clone, Debug, Default)]
pub(super) struct Methods {
    pub(super) any: bool,
    pub(super) list: Vec<Box<str>>,
}

/// Methods Fetch normalises to upper case in requests; we normalise the configuration the same
/// way. Every other method is case-sensitive (`patch` is not `PATCH`).
const NORMALISED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

impl Methods {
    pub(super) fn add(&mut self, value: &str, location: String) -> Result<(), Problem> {
        if value == "*" {
            self.any = true;
            return Ok(());
        }
        if !is_token(value.as_bytes()) {
            return Err(Problem::new(
                "cors",
                ProblemKind::Syntax,
                value,
                format!("method {value:?} is not a valid method name"),
            )
            .with_location(location));
        }
        if is_forbidden_method(value.as_bytes()) {
            return Err(Problem::new(
                "cors",
                ProblemKind::Invalid,
                value,
                format!(
                    "method {value:?} is forbidden by the Fetch standard; browsers never send it"
                ),
            )
            .with_location(location));
        }
        let name = NORMALISED
            .iter()
            .find(|n| n.eq_ignore_ascii_case(value))
            .map_or(value, |n| *n);
        if !self.list.iter().any(|m| &**m == name) {
            self.list.push(name.into());
        }
        Ok(())
    }

    /// `Ok(true)` when the method is allowed and must be named in `ACAM`, `Ok(false)` when it
    /// is safelisted (no `ACAM` needed), `Err(())` when refused.
    pub(super) fn check(&self, method: &[u8]) -> Result<bool, ()> {
        if is_safelisted_method(method) {
            return Ok(false);
        }
        // A listed method is a valid, allowed name: only `*` needs the bytes validated.
        if self.list.iter().any(|m| m.as_bytes() == method)
            || (self.any && is_token(method) && !is_forbidden_method(method))
        {
            Ok(true)
        } else {
            Err(())
        }
    }
}

/// Request headers a script can never set (Fetch: forbidden request-header names), so listing
/// one is a mistake.
fn is_forbidden_request_header(name: &str) -> bool {
    const FORBIDDEN: [&str; 21] = [
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    ];
    FORBIDDEN.contains(&name) || name.starts_with("proxy-") || name.starts_with("sec-")
}

/// CORS response-header names listed as allowed request headers: browsers never send them, so
/// listing one shows a misunderstanding of CORS (jub0bs/cors refuses them as "prohibited").
fn is_prohibited_request_header(name: &str) -> bool {
    matches!(
        name,
        "access-control-allow-origin"
            | "access-control-allow-credentials"
            | "access-control-allow-methods"
            | "access-control-allow-headers"
            | "access-control-max-age"
            | "access-control-expose-headers"
    )
}

/// Request or preflight-only names listed as exposed response headers: an actual response never
/// carries them for a script to read (jub0bs/cors refuses them as "prohibited").
pub(super) fn is_prohibited_response_header(name: &str) -> bool {
    matches!(
        name,
        "origin"
            | "access-control-request-method"
            | "access-control-request-headers"
            | "access-control-allow-methods"
            | "access-control-allow-headers"
            | "access-control-max-age"
    )
}

/// Parses a header name of the configuration, lower-cased.
pub(super) fn config_header_name(
    value: &str,
    what: &str,
    location: String,
) -> Result<HeaderName, Problem> {
    HeaderName::from_bytes(value.as_bytes()).map_err(|_| {
        Problem::new(
            "cors",
            ProblemKind::Syntax,
            value,
            format!("{what} {value:?} is not a valid header name"),
        )
        .with_location(location)
    })
}

/// The allowed request headers.
#[derive(Clone, Debug, Default)]
pub(super) struct RequestHeaders {
    /// `*`: every name but `authorization`.
    pub(super) any: bool,
    /// `authorization` was listed explicitly.
    pub(super) authorization: bool,
    /// Lower-case names.
    pub(super) list: Vec<Box<str>>,
}

impl RequestHeaders {
    pub(super) fn add(&mut self, value: &str, location: String) -> Result<(), Problem> {
        if value == "*" {
            self.any = true;
            return Ok(());
        }
        let name = config_header_name(value, "request header", location.clone())?;
        let name = name.as_str();
        if is_forbidden_request_header(name) {
            return Err(Problem::new(
                "cors",
                ProblemKind::Invalid,
                value,
                format!(
                    "request header {value:?} is a forbidden request-header name; browsers never let scripts set it"
                ),
            )
            .with_location(location));
        }
        if is_prohibited_request_header(name) {
            return Err(Problem::new(
                "cors",
                ProblemKind::Invalid,
                value,
                format!(
                    "request header {value:?} is a CORS response header; browsers never send it"
                ),
            )
            .with_location(location));
        }
        if name == "authorization" {
            self.authorization = true;
        }
        if !self.list.iter().any(|n| &**n == name) {
            self.list.push(name.into());
        }
        Ok(())
    }

    fn allows(&self, name: &[u8]) -> bool {
        if name.eq_ignore_ascii_case(b"authorization") {
            // Fetch: `*` never covers `Authorization`; it must be listed.
            return self.authorization;
        }
        // Browsers send lower-case names, as the list stores them: try bytes first.
        self.any
            || self.list.iter().any(|n| n.as_bytes() == name)
            || self
                .list
                .iter()
                .any(|n| n.len() == name.len() && n.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Checks one `Access-Control-Request-Headers` value: comma-separated names, matched
    /// case-insensitively, in any order, with optional whitespace around them.
    ///
    /// Returns `Ok(true)` when at least one name was requested (and all are allowed),
    /// `Ok(false)` for an empty list, `Err(())` on a refusal. Work is bounded: a value over
    /// [`MAX_ACRH_LEN`] bytes or with more than [`MAX_EMPTY_ELEMENTS`] empty elements is refused
    /// before or while it is scanned, and nothing is allocated.
    ///
    /// Browsers send lower-case names, as the list stores them, each followed by a comma or
    /// the end: such an element is recognised by comparing the listed names with the bytes
    /// where it starts (a listed name is a valid token, so its bytes need no other look).
    /// Any other element is found by its comma, trimmed, validated as a token and matched
    /// case-insensitively (or by `*`). Both read "split on commas, trim, then require a
    /// token"; a proptest in `tests.rs` checks this against
    /// [`check_by_split`](Self::check_by_split), the plain form.
    pub(super) fn check(&self, value: &[u8]) -> Result<bool, ()> {
        if value.len() > MAX_ACRH_LEN {
            return Err(());
        }
        let mut empty = 0;
        let mut any = false;
        let mut rest = value;
        loop {
            rest = skip_ows(rest);
            let (name, tail) = match self.listed_prefix(rest) {
                Some(split) => split,
                None => {
                    let (element, tail) = match rest.iter().position(|&b| b == b',') {
                        Some(comma) => {
                            let (element, tail) = rest.split_at(comma);
                            (element, tail.get(1..))
                        }
                        None => (rest, None),
                    };
                    let name = trim_ows(element);
                    if name.is_empty() {
                        empty += 1;
                        if empty > MAX_EMPTY_ELEMENTS {
                            return Err(());
                        }
                    } else if !is_token(name) || !self.allows(name) {
                        return Err(());
                    }
                    (name, tail)
                }
            };
            any |= !name.is_empty();
            match tail {
                Some(tail) => rest = tail,
                None => return Ok(any),
            }
        }
    }

    /// When `s` starts with a listed name followed by a comma or the end: that name, and what
    /// follows the comma (`None` at the end). A listed name is allowed (`authorization` is
    /// only listed when it was configured).
    fn listed_prefix<'v>(&self, s: &'v [u8]) -> Option<(&'v [u8], Option<&'v [u8]>)> {
        let first = *s.first()?;
        self.list.iter().find_map(|n| {
            let n = n.as_bytes();
            if n.first() != Some(&first) || s.len() < n.len() {
                return None;
            }
            let (name, after) = s.split_at(n.len());
            if name != n {
                return None;
            }
            match after {
                [] => Some((name, None)),
                [b',', tail @ ..] => Some((name, Some(tail))),
                _ => None,
            }
        })
    }

    /// The reading [`check`](Self::check) must agree with: split on commas, trim, then
    /// require a token (kept for the proptest).
    #[cfg(test)]
    pub(super) fn check_by_split(&self, value: &[u8]) -> Result<bool, ()> {
        if value.len() > MAX_ACRH_LEN {
            return Err(());
        }
        let mut empty = 0;
        let mut any = false;
        for element in value.split(|&b| b == b',') {
            let name = trim_ows(element);
            if name.is_empty() {
                empty += 1;
                if empty > MAX_EMPTY_ELEMENTS {
                    return Err(());
                }
                continue;
            }
            if !is_token(name) || !self.allows(name) {
                return Err(());
            }
            any = true;
        }
        Ok(any)
    }
}

/// `s` without its leading spaces and tabs.
fn skip_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

/// `s` without its leading and trailing spaces and tabs.
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Response headers a script can never read (Fetch: forbidden response-header names).
pub(super) fn is_forbidden_response_header(name: &str) -> bool {
    name == "set-cookie" || name == "set-cookie2"
}
