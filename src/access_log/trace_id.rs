//! [`TraceId`]: the trace id of a valid W3C `traceparent` header.

use std::fmt;

use http::header::HeaderName;
use http::HeaderMap;

/// The trace id of a valid W3C [Trace Context] `traceparent` header: 32 lowercase hex digits.
///
/// [Trace Context]: https://www.w3.org/TR/trace-context/#traceparent-header
///
/// ```
/// use tower_gateway::access_log::TraceId;
///
/// let id = TraceId::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(id.as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(TraceId::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId {
    hex: [u8; 32],
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

impl TraceId {
    /// Parses a `traceparent` value as the W3C spec says a receiver must: lowercase hex only;
    /// version `ff` is invalid; version `00` is exactly 55 characters; a later version may be
    /// longer, but only after a `-`; an all-zero trace id or parent id is invalid. Spaces and
    /// tabs around the value (HTTP's optional whitespace) are ignored, as the W3C test suite
    /// expects. Anything invalid gives `None` (the header is ignored).
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let b = value.as_bytes();
        let ows = |c: &u8| *c == b' ' || *c == b'\t';
        let start = b.iter().position(|c| !ows(c)).unwrap_or(b.len());
        let end = b.iter().rposition(|c| !ows(c)).map_or(start, |at| at + 1);
        let b = b.get(start..end).unwrap_or_default();
        let version = b.get(0..2)?;
        if !is_lower_hex(version) || version == b"ff" {
            return None;
        }
        let dash = |at: usize| b.get(at) == Some(&b'-');
        if b.len() < 55 || (version == b"00" && b.len() != 55) || (b.len() > 55 && !dash(55)) {
            return None;
        }
        if !dash(2) || !dash(35) || !dash(52) {
            return None;
        }
        let trace = b.get(3..35)?;
        let parent = b.get(36..52)?;
        let flags = b.get(53..55)?;
        if !is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags) {
            return None;
        }
        if trace.iter().all(|&c| c == b'0') || parent.iter().all(|&c| c == b'0') {
            return None;
        }
        let mut hex = [0u8; 32];
        hex.copy_from_slice(trace);
        Some(Self { hex })
    }

    /// The trace id of the request's one `traceparent` header; none when it is absent,
    /// repeated, or invalid.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        // A prebuilt name: looking up by `&str` would parse and lowercase it on every request.
        const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
        let mut values = crate::util::header::get_all(headers, &TRACEPARENT)?.iter();
        let first = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Self::parse(first.to_str().ok()?)
    }

    /// The 32 lowercase hex digits.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TraceId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
