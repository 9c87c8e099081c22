//! [`Mode`] (how an arm is chosen) and [`Key`] (where a sticky key comes from).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{HeaderName, HeaderValue, COOKIE};
use http::request::Parts;
use http::HeaderMap;

use super::control::Head;

/// How a split chooses an arm for a request that no override forces.
///
/// - [`Mode::random`] (the default): an independent weighted draw per call, as AWS API
///   Gateway's canary does, so no user is stuck on one version.
/// - [`Mode::round_robin`]: smooth weighted round-robin (nginx's algorithm): deterministic,
///   exact over every cycle of Σw calls (weights divided by their greatest common divisor), never
///   bursty. Weights {9, 1}: the canary serves calls 6, 16, 26, ...
/// - [`Mode::sticky`]: a key from the request (a header, a cookie or a function) placed by
///   [`stable_hash`](super::stable_hash), so every replica sends a key to the same arm and raising
///   a canary's weight only moves keys from stable to canary.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Mode(pub(super) ModeRepr);

#[derive(Clone, Debug, Default)]
pub(super) enum ModeRepr {
    #[default]
    Random,
    RoundRobin,
    Sticky {
        key: Key,
        missing_to_stable: bool,
    },
}

impl Mode {
    /// A weighted random draw per call, from a generator each service instance seeds on its
    /// own (see [`CanaryBuilder::seed`](super::CanaryBuilder::seed)).
    pub fn random() -> Self {
        Self(ModeRepr::Random)
    }

    /// Smooth weighted round-robin, shared by every clone of the service.
    ///
    /// The schedule of one cycle is computed when the weights are set (one byte per call of
    /// the cycle, at most 2^20), so a call costs one atomic increment.
    ///
    /// Each change of the weights through the [`CanaryHandle`](super::CanaryHandle) (even to
    /// the same weights) starts the new weights' cycle at its first call, as nginx's peers
    /// start from zero after a reload; a refused change leaves the cycle where it was. A call
    /// that an override header or cookie forces does not take a turn of the cycle, so the
    /// cycle stays exact over the calls the weights decide.
    pub fn round_robin() -> Self {
        Self(ModeRepr::RoundRobin)
    }

    /// Sticky by `key`; a request without the key gets a random draw (as [`Mode::random`]).
    pub fn sticky(key: Key) -> Self {
        Self(ModeRepr::Sticky {
            key,
            missing_to_stable: false,
        })
    }

    /// Sticky by `key`; a request without the key goes to the stable arm.
    pub fn sticky_or_stable(key: Key) -> Self {
        Self(ModeRepr::Sticky {
            key,
            missing_to_stable: true,
        })
    }
}

/// Where a sticky split finds a request's key.
///
/// An empty value counts as missing. Only the first value of a repeated header, and the first
/// cookie of that name, are used.
#[derive(Clone, Debug)]
#[must_use]
pub struct Key(pub(super) KeyRepr);

#[derive(Clone, Debug)]
pub(super) enum KeyRepr {
    Header(HeaderName),
    Cookie(Box<str>),
    Function(KeyFn),
}

/// A user function that extracts a sticky key.
#[derive(Clone)]
pub(super) struct KeyFn(
    pub(super) Arc<dyn for<'a> Fn(&'a Parts) -> Option<Cow<'a, [u8]>> + Send + Sync + 'static>,
);

impl fmt::Debug for KeyFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyFn(<closure>)")
    }
}

impl Key {
    /// The value of header `name` (for example a user id set by an authenticating proxy).
    pub fn header(name: HeaderName) -> Self {
        Self(KeyRepr::Header(name))
    }

    /// The value of the cookie `name`. A name that is not an RFC 6265 token is reported when
    /// the split is built.
    pub fn cookie(name: impl Into<String>) -> Self {
        Self(KeyRepr::Cookie(name.into().into_boxed_str()))
    }

    /// What `function` returns (`None`: no key). It runs on the request path: it must not
    /// block or do I/O.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use tower_gateway::canary::Key;
    ///
    /// // The first path segment, for example a tenant.
    /// let key = Key::function(|parts| {
    ///     let tenant = parts.uri.path().trim_start_matches('/').split('/').next()?;
    ///     Some(Cow::Borrowed(tenant.as_bytes()))
    /// });
    /// # let _ = key;
    /// ```
    pub fn function<F>(function: F) -> Self
    where
        F: for<'a> Fn(&'a Parts) -> Option<Cow<'a, [u8]>> + Send + Sync + 'static,
    {
        Self(KeyRepr::Function(KeyFn(Arc::new(function))))
    }

    /// Runs `f` on the key of `parts`, if it has one.
    pub(super) fn with<R>(&self, head: &impl Head, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match &self.0 {
            KeyRepr::Header(name) => header(head.headers(), name)
                .map(HeaderValue::as_bytes)
                .filter(|v| !v.is_empty())
                .map(f),
            KeyRepr::Cookie(name) => cookie(head.headers(), name)
                .filter(|v| !v.is_empty())
                .map(f),
            KeyRepr::Function(function) => (function.0)(head.parts()?)
                .filter(|v| !v.is_empty())
                .map(|v| f(&v)),
        }
    }
}

/// Up to this many distinct names, [`header`] compares names instead of hashing one.
/// Measured (instructions): comparing saves about 70 per lookup on a one-header request (a
/// sticky split makes two) and loses from about five headers on (`HeaderMap`'s iterator costs
/// some 30 per header).
const SCAN: usize = 3;

/// Up to this many distinct names, a name is first looked for among the map's keys (a walk
/// over a slice, a few instructions per name), so that a name that is absent (the override
/// header, most of the time) costs no hash: see [`crate::util::header`].
const PRESCAN: usize = crate::util::header::SCAN;

/// The first value of the header `name`, as [`HeaderMap::get`] gives it.
///
/// A map of a few headers is searched by comparing names, which costs less than hashing the
/// name and probing (about a hundred instructions for a custom name such as `x-canary`):
/// most comparisons stop at the kind of name (standard or custom) or its length. Larger maps
/// use the hash, once the name is known to be there (up to [`PRESCAN`] names).
#[inline]
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    let keys = headers.keys_len();
    if keys <= SCAN {
        headers
            .iter()
            .find_map(|(n, value)| (n == name).then_some(value))
    } else {
        crate::util::header::get(headers, name)
    }
}

/// The first values of the headers `first` and `second`, as two [`header`] calls give them,
/// in one pass over a small map (and one pass over a larger map's names to hash only the
/// names that are there) (the override header and a sticky key header: a request
/// carrying one usually carries the other).
#[inline]
pub(super) fn header_pair<'a>(
    headers: &'a HeaderMap,
    first: Option<&HeaderName>,
    second: &HeaderName,
) -> (Option<&'a HeaderValue>, Option<&'a HeaderValue>) {
    let keys = headers.keys_len();
    if keys > PRESCAN {
        return (
            first.and_then(|name| headers.get(name)),
            headers.get(second),
        );
    }
    if keys > SCAN {
        // Which of the two are there, in one walk over the names; only those are hashed.
        let (mut has_first, mut has_second) = (false, false);
        for name in headers.keys() {
            has_first |= first == Some(name);
            has_second |= name == second;
        }
        return (
            first
                .filter(|_| has_first)
                .and_then(|name| headers.get(name)),
            if has_second {
                headers.get(second)
            } else {
                None
            },
        );
    }
    let (mut found_first, mut found_second) = (None, None);
    for (name, value) in headers {
        if found_first.is_none() && first == Some(name) {
            found_first = Some(value);
        }
        if found_second.is_none() && name == second {
            found_second = Some(value);
        }
    }
    (found_first, found_second)
}

/// Whether `name` is an RFC 6265 cookie name (an RFC 9110 token).
pub(super) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The value of the first cookie called `name` in the request's `Cookie` headers, without
/// surrounding double quotes. Linear in the headers' length; allocates nothing.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a [u8]> {
    if name.is_empty() {
        return None;
    }
    headers.get_all(COOKIE).iter().find_map(|header| {
        header.as_bytes().split(|&b| b == b';').find_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = pair.split_at(eq);
            if key.trim_ascii() != name.as_bytes() {
                return None;
            }
            let value = value.get(1..)?.trim_ascii();
            Some(
                value
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(value),
            )
        })
    })
}
