//! [`Params`]: the values of a matched route's path params.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::captures::Captures;

/// The path params of the route that matched, in the request extensions.
///
/// Values are copied from the path once, into an inline buffer when they are short (no
/// allocation for typical params), and decoded only when asked. [`get`](Self::get) returns
/// the raw (still percent-encoded) text; [`decoded`](Self::decoded)
/// percent-decodes it, and invalid UTF-8 is an error for the handler to answer (typically
/// `400`), not a routing miss.
///
/// ```
/// use http::{Request, Response};
/// use std::convert::Infallible;
/// use tower::{service_fn, ServiceExt};
/// use tower_gateway::router::{Params, Router};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = service_fn(|req: Request<String>| async move {
///     let params = req.extensions().get::<Params>().expect("set by the router");
///     assert_eq!(params.get("name"), Some("caf%C3%A9"));
///     assert_eq!(params.decoded("name").unwrap().unwrap(), "café");
///     Ok::<_, Infallible>(Response::new(String::new()))
/// });
/// let router = Router::builder().route("GET /shops/{name}", handler).build()?;
/// let request = Request::get("/shops/caf%C3%A9").body(String::new())?;
/// router.oneshot(request).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Params {
    names: Arc<[Box<str>]>,
    text: Text,
    /// Ranges of `text`, one per name.
    captures: Captures,
}

const INLINE_TEXT: usize = 96;

/// The params' values, one after the other.
#[derive(Clone)]
enum Text {
    Inline { len: u8, bytes: [u8; INLINE_TEXT] },
    Heap(Box<str>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            // The bytes are whole `str` slices copied back to back, so this never fails.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Self::Heap(s) => s,
        }
    }
}

impl Params {
    /// Copies the values of `names` out of `path` at `captures`, in one pass when they fit
    /// the inline buffer.
    pub(crate) fn copy_from(names: Arc<[Box<str>]>, path: &str, captures: &Captures) -> Self {
        let values = || {
            captures
                .iter()
                .take(names.len())
                .map(|(s, e)| path.get(s..e).unwrap_or_default())
        };
        let mut ranges = Captures::default();
        let mut bytes = [0u8; INLINE_TEXT];
        let mut inline = true;
        let mut at = 0;
        for v in values() {
            let end = at + v.len();
            if inline {
                match bytes.get_mut(at..end) {
                    Some(slot) => slot.copy_from_slice(v.as_bytes()),
                    None => inline = false,
                }
            }
            ranges.push(at, end);
            at = end;
        }
        let text = match u8::try_from(at) {
            Ok(len) if inline => Text::Inline { len, bytes },
            _ => Text::Heap(values().collect::<String>().into_boxed_str()),
        };
        Self {
            names,
            text,
            captures: ranges,
        }
    }

    /// How many params the route has.
    #[must_use]
    pub fn len(&self) -> usize {
        self.captures.len()
    }

    /// Whether the route has no params.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.captures.len() == 0
    }

    /// The raw (percent-encoded) value of the param `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        raw(&self.names, self.text.as_str(), &self.captures, name)
    }

    /// The raw (percent-encoded) value of the param `name`: the same as [`get`](Self::get).
    ///
    /// ```
    /// # use http::{Request, Response};
    /// # use std::convert::Infallible;
    /// # use tower::{service_fn, ServiceExt};
    /// # use tower_gateway::router::{Params, Router};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let handler = service_fn(|req: Request<String>| async move {
    ///     let params = req.extensions().get::<Params>().expect("set by the router");
    ///     assert_eq!(params.raw("file"), Some("a%2Fb"));
    ///     assert_eq!(params.decoded("file").unwrap().unwrap(), "a/b");
    ///     Ok::<_, Infallible>(Response::new(String::new()))
    /// });
    /// let router = Router::builder().route("GET /files/{file}", handler).build()?;
    /// router.oneshot(Request::get("/files/a%2Fb").body(String::new())?).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    /// The percent-decoded value of the param `name`, or an error when the decoded bytes are
    /// not UTF-8. Borrowed when nothing needed decoding.
    #[must_use]
    pub fn decoded(&self, name: &str) -> Option<Result<Cow<'_, str>, DecodeError>> {
        self.get(name).map(percent_decode)
    }

    /// `(name, raw value)` pairs in template order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        pairs(&self.names, self.text.as_str(), &self.captures)
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

pub(crate) fn raw<'p>(
    names: &[Box<str>],
    path: &'p str,
    captures: &Captures,
    name: &str,
) -> Option<&'p str> {
    let i = names.iter().position(|n| &**n == name)?;
    let (start, end) = captures.get(i)?;
    path.get(start..end)
}

pub(crate) fn pairs<'a>(
    names: &'a [Box<str>],
    path: &'a str,
    captures: &'a Captures,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    names
        .iter()
        .zip(captures.iter())
        .filter_map(move |(n, (s, e))| Some((&**n, path.get(s..e)?)))
}

/// A param whose percent-decoded bytes are not UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    raw: String,
}

impl DecodeError {
    /// The raw param text that failed to decode.
    #[must_use]
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "path param {:?} is not UTF-8 once percent-decoded",
            self.raw
        )
    }
}

impl std::error::Error for DecodeError {}

/// Percent-decodes `raw`. A `%` not followed by two hex digits stays as it is (as WHATWG URL
/// decoding does); `+` is not a space in a path.
pub(crate) fn percent_decode(raw: &str) -> Result<Cow<'_, str>, DecodeError> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex(*c)),
                bytes.get(i + 2).and_then(|c| hex(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| DecodeError {
            raw: raw.to_owned(),
        })
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_inline_up_to_the_buffer_and_to_the_heap_past_it() {
        let names: Arc<[Box<str>]> = (0..10).map(|i| format!("p{i}").into()).collect();
        for total in [0usize, 1, 95, 96, 97, 200] {
            // Ten params (two past the inline captures) sharing `total` bytes.
            let values: Vec<String> = (0..10)
                .map(|i| "x".repeat(total / 10 + usize::from(i < total % 10)))
                .map(|v| if v.is_empty() { "-".to_owned() } else { v })
                .collect();
            let path = format!("/{}", values.join("/"));
            let mut captures = Captures::default();
            let mut at = 1;
            for v in &values {
                captures.push(at, at + v.len());
                at += v.len() + 1;
            }
            let params = Params::copy_from(Arc::clone(&names), &path, &captures);
            assert_eq!(params.len(), 10);
            let got: Vec<(&str, &str)> = params.iter().collect();
            let want: Vec<(&str, &str)> = names
                .iter()
                .map(|n| &**n)
                .zip(values.iter().map(|v| &**v))
                .collect();
            assert_eq!(got, want, "total {total}");
            assert_eq!(params.get("p9"), Some(&*values[9]));
        }
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("abc").unwrap(), "abc");
        assert!(matches!(percent_decode("abc").unwrap(), Cow::Borrowed(_)));
        assert_eq!(percent_decode("a%2Fb").unwrap(), "a/b");
        assert_eq!(percent_decode("caf%c3%a9").unwrap(), "café");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert_eq!(percent_decode("a+b").unwrap(), "a+b");
        let err = percent_decode("%FF").unwrap_err();
        assert_eq!(err.raw(), "%FF");
    }
}
