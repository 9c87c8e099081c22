//! Method sets: which methods a path accepts, for `405` answers and their `Allow` header.

use std::fmt;

use http::{HeaderValue, Method};

/// The standard methods in the order `Allow` lists them.
pub(crate) const STANDARD: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

fn bit(method: &Method) -> Option<u16> {
    standard_index(method).map(|i| 1u16 << i)
}

/// The position of `method` in [`STANDARD`], or `None` for an extension method.
#[inline]
pub(crate) fn standard_index(method: &Method) -> Option<usize> {
    STANDARD.iter().position(|m| m == method)
}

/// A set of methods as bits for the standard ones, plus a flag for extension methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MethodBits {
    bits: u16,
    extensions: bool,
    any: bool,
}

impl MethodBits {
    /// Adds a route's method (`None` = any). A `GET` route also serves `HEAD`.
    pub(crate) fn add(&mut self, method: Option<&Method>) {
        match method {
            None => self.any = true,
            Some(m) => match bit(m) {
                Some(b) => {
                    self.bits |= b;
                    if *m == Method::GET {
                        self.bits |= 1 << 1;
                    }
                }
                None => self.extensions = true,
            },
        }
    }

    /// Adds a route's method without the `HEAD` a `GET` route otherwise serves (a
    /// WebSocket-only route).
    pub(crate) fn add_without_head(&mut self, method: &Method) {
        match bit(method) {
            Some(b) => self.bits |= b,
            None => self.extensions = true,
        }
    }

    pub(crate) fn union(&mut self, other: &Self) {
        self.bits |= other.bits;
        self.extensions |= other.extensions;
        self.any |= other.any;
    }

    pub(crate) fn has_extensions(&self) -> bool {
        self.extensions
    }
}

/// The methods a path accepts, as a `405 Method Not Allowed` answer lists them in `Allow`.
///
/// Standard methods come first in a fixed order (`GET, HEAD, POST, PUT, PATCH, DELETE,
/// OPTIONS, TRACE, CONNECT`), then extension methods in alphabetical order. A `GET` route
/// also accepts `HEAD`.
///
/// ```
/// use tower_gateway::router::{Decision, Router};
/// # use std::convert::Infallible;
/// # use http::{Method, Request, Response};
/// # let ok = tower::service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
///
/// let router = Router::builder()
///     .route("GET /pets", ok.clone())
///     .route("POST /pets", ok)
///     .build()?;
/// let Decision::MethodNotAllowed(allowed) = router.at(&Method::DELETE, "/pets") else { panic!() };
/// assert_eq!(allowed.to_string(), "GET, HEAD, POST");
/// assert!(allowed.contains(&Method::HEAD));
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AllowedMethods {
    bits: u16,
    extensions: Vec<Method>,
}

impl AllowedMethods {
    pub(crate) fn from_bits(bits: MethodBits) -> Self {
        Self {
            bits: bits.bits,
            extensions: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, method: &Method) {
        match bit(method) {
            Some(b) => self.bits |= b,
            None => {
                if let Err(i) = self
                    .extensions
                    .binary_search_by(|m| m.as_str().cmp(method.as_str()))
                {
                    self.extensions.insert(i, method.clone());
                }
            }
        }
    }

    /// Whether `method` is in the set.
    #[must_use]
    pub fn contains(&self, method: &Method) -> bool {
        match bit(method) {
            Some(b) => self.bits & b != 0,
            None => self.extensions.contains(method),
        }
    }

    /// The methods, in `Allow` order.
    pub fn iter(&self) -> impl Iterator<Item = &Method> + '_ {
        STANDARD
            .iter()
            .enumerate()
            .filter(|(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, m)| m)
            .chain(self.extensions.iter())
    }

    /// The `Allow` header value: the methods joined with `", "`.
    #[must_use]
    pub fn header_value(&self) -> HeaderValue {
        // Method names are tokens, so the joined text is always a valid header value.
        HeaderValue::from_str(&self.to_string()).unwrap_or(HeaderValue::from_static(""))
    }
}

impl fmt::Display for AllowedMethods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, m) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(m.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for AllowedMethods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_order_and_head() {
        let mut bits = MethodBits::default();
        bits.add(Some(&Method::DELETE));
        bits.add(Some(&Method::GET));
        let mut allowed = AllowedMethods::from_bits(bits);
        allowed.add(&Method::from_bytes(b"PURGE").unwrap());
        allowed.add(&Method::from_bytes(b"COPY").unwrap());
        allowed.add(&Method::from_bytes(b"PURGE").unwrap());
        assert_eq!(allowed.to_string(), "GET, HEAD, DELETE, COPY, PURGE");
        assert_eq!(allowed.header_value(), "GET, HEAD, DELETE, COPY, PURGE");
    }
}
