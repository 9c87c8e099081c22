//! [`ConfigText`], [`MaxAge`] and [`Any`]: what the [`CorsConfig`](super::CorsConfig) setters accept.

use std::borrow::Cow;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

/// One origin, method or header name given to a [`CorsConfig`](super::CorsConfig) setter:
/// text (`&str`, `String`, ...), or the `http` crate's [`Method`], [`HeaderName`] and
/// [`HeaderValue`], as tower-http's `CorsLayer` takes them.
///
/// Everything is validated by [`CorsConfig::build`](super::CorsConfig::build), never here; a
/// [`HeaderValue`] that is not UTF-8 is kept with replacement characters, and then refused.
///
/// ```
/// use http::{header, Method};
/// use tower_gateway::cors::CorsConfig;
///
/// let layer = CorsConfig::new()
///     .allow_origin("https://app.example.com")
///     .allow_methods([Method::PUT, Method::DELETE])
///     .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
///     .expose_headers([header::ETAG])
///     .build()?;
/// assert!(layer.allows_origin("https://app.example.com"));
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ConfigText(pub(super) String);

macro_rules! text_from {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl From<$t> for ConfigText {
            fn from($v: $t) -> Self {
                Self($e)
            }
        }
    )*};
}

text_from! {
    String => |v| v;
    &String => |v| v.clone();
    &str => |v| v.to_owned();
    &mut str => |v| (*v).to_owned();
    Box<str> => |v| v.into();
    Cow<'_, str> => |v| v.into_owned();
    char => |v| v.to_string();
    Method => |v| v.as_str().to_owned();
    &Method => |v| v.as_str().to_owned();
    HeaderName => |v| v.as_str().to_owned();
    &HeaderName => |v| v.as_str().to_owned();
    HeaderValue => |v| String::from_utf8_lossy(v.as_bytes()).into_owned();
    &HeaderValue => |v| String::from_utf8_lossy(v.as_bytes()).into_owned();
}

/// How long browsers may cache a preflight answer, for
/// [`CorsConfig::max_age`](super::CorsConfig::max_age): whole seconds as an `i64` (`-1`
/// means "do not cache"; an integer literal is an `i64` here), or a [`Duration`] (whole
/// seconds; the fraction is dropped).
///
/// The range `-1..=86400` is checked by [`CorsConfig::build`](super::CorsConfig::build).
///
/// ```
/// use std::time::Duration;
/// use tower_gateway::cors::CorsConfig;
///
/// assert!(CorsConfig::new().max_age(600).build().is_ok());
/// assert!(CorsConfig::new().max_age(Duration::from_secs(600)).build().is_ok());
/// assert!(CorsConfig::new().max_age(Duration::from_secs(86_401)).build().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct MaxAge(pub(super) i64);

impl From<i64> for MaxAge {
    fn from(seconds: i64) -> Self {
        Self(seconds)
    }
}

impl From<Duration> for MaxAge {
    fn from(duration: Duration) -> Self {
        Self(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
    }
}

/// `*` for any setter, as tower-http's `cors::Any`: `allow_origin(Any)` is
/// [`allow_any_origin`](super::CorsConfig::allow_any_origin), and `allow_methods(Any)`,
/// `allow_headers(Any)` and `expose_headers(Any)` add `*` (with its Fetch limits: it never
/// covers `Authorization`, and exposed `*` is refused with credentials).
///
/// ```
/// use tower_gateway::cors::{Any, CorsConfig};
///
/// let layer = CorsConfig::new()
///     .allow_origin(Any)
///     .allow_methods(Any)
///     .allow_headers(Any)
///     .build()?;
/// assert!(layer.allows_origin("https://anywhere.example"));
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Any;

impl From<Any> for ConfigText {
    fn from(Any: Any) -> Self {
        Self("*".to_owned())
    }
}

impl IntoIterator for Any {
    type Item = ConfigText;
    type IntoIter = std::iter::Once<ConfigText>;

    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self.into())
    }
}
