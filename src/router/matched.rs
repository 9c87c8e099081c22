//! [`MatchedRoute`]: which route served a request, for handlers and for outer layers.

use std::fmt;
use std::sync::Arc;

use http::Method;

/// The route that matched a request: its key (`"GET /pets/{id}"`), template (`"/pets/{id}"`)
/// and optional name.
///
/// The [`Router`](crate::Router) puts it in the request extensions before it calls the target,
/// and copies it to the response extensions so outer layers (an access log, metrics) see it.
/// It is absent when the fallback served the request. Cloning is one reference-count bump.
///
/// ```
/// use tower_gateway::router::MatchedRoute;
///
/// let route = MatchedRoute::new(Some(http::Method::GET), "/pets/{id}", Some("get-pet"));
/// assert_eq!(route.key(), "GET /pets/{id}");
/// assert_eq!(route.template(), "/pets/{id}");
/// assert_eq!(route.name(), Some("get-pet"));
/// assert_eq!(MatchedRoute::new(None, "/{proxy+}", None).key(), "ANY /{proxy+}");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MatchedRoute {
    inner: Arc<RouteInfo>,
}

#[derive(PartialEq, Eq, Hash)]
pub(crate) struct RouteInfo {
    /// `"GET /pets/{id}"`: the method (or `ANY`), one space, the template as written.
    key: Box<str>,
    /// Where the template starts in `key`.
    template_at: usize,
    method: Option<Method>,
    name: Option<Box<str>>,
    /// A WebSocket-only route.
    websocket: bool,
    /// What the metrics layer keeps on the route (see [`MatchedRoute::template_id`] and
    /// [`MatchedRoute::metrics_hint`]).
    #[cfg(feature = "metrics")]
    metrics: MetricsCache,
}

/// What the metrics layer keeps on a route: the process-wide number of its template text
/// (taken on first use: equal for equal texts; 0 until taken) and a hint (the place of the
/// series its last request was recorded in, with what it was found by). Caches, no part of
/// the route's identity: they always compare equal and hash to nothing.
#[cfg(feature = "metrics")]
#[derive(Default)]
struct MetricsCache {
    template_id: std::sync::atomic::AtomicU32,
    hint: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "metrics")]
impl PartialEq for MetricsCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(feature = "metrics")]
impl Eq for MetricsCache {}

#[cfg(feature = "metrics")]
impl std::hash::Hash for MetricsCache {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// The most template texts [`MatchedRoute::template_id`] numbers (past them it answers
/// `u32::MAX`), so a process making endless distinct templates keeps a bounded table.
#[cfg(feature = "metrics")]
const TEMPLATE_IDS: u32 = 1 << 20;

impl MatchedRoute {
    /// A matched route for `method` (`None` for `ANY`) and `template`, with an optional name.
    ///
    /// The router makes these itself; this constructor is for tests of layers that read them.
    #[must_use]
    pub fn new(method: Option<Method>, template: &str, name: Option<&str>) -> Self {
        Self {
            inner: Arc::new(RouteInfo::new(method, template, name.map(Into::into))),
        }
    }

    /// A matched WebSocket-only route at `template` (its key is `GET {template}`), with an
    /// optional name; see [`RouterBuilder::websocket`](super::RouterBuilder::websocket).
    ///
    /// ```
    /// use tower_gateway::router::MatchedRoute;
    ///
    /// let route = MatchedRoute::websocket("/chat", Some("chat"));
    /// assert_eq!(route.key(), "GET /chat");
    /// assert!(route.is_websocket());
    /// assert!(!MatchedRoute::new(None, "/chat", None).is_websocket());
    /// ```
    #[must_use]
    pub fn websocket(template: &str, name: Option<&str>) -> Self {
        let mut info = RouteInfo::new(Some(Method::GET), template, name.map(Into::into));
        info.set_websocket();
        Self {
            inner: Arc::new(info),
        }
    }

    pub(crate) fn from_info(inner: Arc<RouteInfo>) -> Self {
        Self { inner }
    }

    /// The route key as AWS writes it: `"GET /pets/{id}"`, `"ANY /{proxy+}"`.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The route key, the same as [`key`](Self::key) (named as [`Decision::route_key`](super::Decision::route_key) is).
    #[must_use]
    pub fn route_key(&self) -> &str {
        self.key()
    }

    /// The path template as written in the route key: `"/pets/{id}"`.
    #[must_use]
    pub fn template(&self) -> &str {
        &self.inner.key[self.inner.template_at..]
    }

    /// The route's method, or `None` for an `ANY` route.
    #[must_use]
    pub fn method(&self) -> Option<&Method> {
        self.inner.method.as_ref()
    }

    /// The route's name, if it was given one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// Whether the route is WebSocket-only: it serves WebSocket handshakes and answers a plain
    /// `GET` with `426 Upgrade Required`.
    #[must_use]
    pub fn is_websocket(&self) -> bool {
        self.inner.websocket
    }

    /// The number of this route's template text in the process, from 1 up (`u32::MAX` past
    /// [`TEMPLATE_IDS`] texts): routes with the same template have the same number, routes
    /// with different ones different numbers, for as long as the process runs. Taken from a
    /// process-wide table under a lock the first time a route is asked, then one load. The
    /// metrics layer keys its series by it instead of the text.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn template_id(&self) -> u32 {
        use std::sync::atomic::Ordering::Relaxed;
        let cell = &self.inner.metrics.template_id;
        match cell.load(Relaxed) {
            0 => {
                let id = number(self.template());
                cell.store(id, Relaxed);
                id
            }
            id => id,
        }
    }

    /// A word the metrics layer reads on every request of this route, and writes when the
    /// route's series changes (the route's line is in the cache then: the router has just
    /// cloned it), so that it finds the series of a route's usual labels without a lookup.
    /// Its meaning is the metrics module's.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn metrics_hint(&self) -> &std::sync::atomic::AtomicU64 {
        &self.inner.metrics.hint
    }
}

/// The number of `template` in the process-wide table, given on first sight.
#[cfg(feature = "metrics")]
#[cold]
fn number(template: &str) -> u32 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static NUMBERS: OnceLock<Mutex<HashMap<Box<str>, u32>>> = OnceLock::new();
    let mut numbers = NUMBERS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&id) = numbers.get(template) {
        return id;
    }
    match u32::try_from(numbers.len() + 1) {
        Ok(id) if id <= TEMPLATE_IDS => {
            numbers.insert(template.into(), id);
            id
        }
        _ => u32::MAX,
    }
}

impl RouteInfo {
    pub(crate) fn new(method: Option<Method>, template: &str, name: Option<Box<str>>) -> Self {
        let method_text = method.as_ref().map_or("ANY", Method::as_str);
        let mut key = String::with_capacity(method_text.len() + 1 + template.len());
        key.push_str(method_text);
        key.push(' ');
        key.push_str(template);
        Self {
            template_at: method_text.len() + 1,
            key: key.into_boxed_str(),
            method,
            name,
            websocket: false,
            #[cfg(feature = "metrics")]
            metrics: MetricsCache::default(),
        }
    }

    pub(crate) fn set_websocket(&mut self) {
        self.websocket = true;
    }
}

impl fmt::Debug for MatchedRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MatchedRoute");
        d.field("key", &self.key());
        if let Some(name) = self.name() {
            d.field("name", &name);
        }
        if self.is_websocket() {
            d.field("websocket", &true);
        }
        d.finish()
    }
}

impl fmt::Display for MatchedRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
