//! [`Router`]: the route table as a `Service`, and as a `Layer` in front of an app.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, UPGRADE};
use http::uri::PathAndQuery;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use tower_layer::Layer;
use tower_service::Service;

use super::builder::RouterBuilder;
use super::captures::Captures;
use super::decision::{Decision, RouteMatch};
use super::future::ResponseFuture;
use super::matched::MatchedRoute;
use super::params::Params;
use super::rejection::{Rejection, RejectionKind};
use super::table::{NotFoundBody, Resolved, Table, Target};
use crate::body::Body;
use crate::util::boxed::BoxService;

/// The request's URI before a [nested](RouterBuilder::nest) service's prefix was stripped (and
/// before any path policy rewrote it). Through several nests it stays the client's URI: the
/// first nest records it and deeper ones keep it, as axum's `OriginalUri` does.
///
/// It dereferences to the [`Uri`], as axum's `OriginalUri` does: `original.path()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginalUri(pub Uri);

impl std::ops::Deref for OriginalUri {
    type Target = Uri;

    fn deref(&self) -> &Uri {
        &self.0
    }
}

impl std::ops::DerefMut for OriginalUri {
    fn deref_mut(&mut self) -> &mut Uri {
        &mut self.0
    }
}

/// One route table from public paths to targets; see the [module docs](crate::router).
///
/// A `Router` is a [`Service`] (requests no route matches get its own `404`) and a [`Layer`]
/// (the wrapped service becomes the fallback). Cloning is a reference-count bump.
pub struct Router<ReqB, ResB, E> {
    table: Arc<Table<ReqB, ResB, E>>,
    fallback: Option<Target<ReqB, ResB, E>>,
}

impl<ReqB, ResB, E> Clone for Router<ReqB, ResB, E> {
    fn clone(&self) -> Self {
        Self {
            table: Arc::clone(&self.table),
            fallback: self.fallback.clone(),
        }
    }
}

impl<ReqB, ResB, E> fmt::Debug for Router<ReqB, ResB, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field(
                "routes",
                &self
                    .table
                    .routes
                    .iter()
                    .map(|r| r.route.key())
                    .collect::<Vec<_>>(),
            )
            .field("policy", &self.table.policy)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<ReqB: 'static, ResB: 'static, E: 'static> Router<ReqB, ResB, E> {
    /// A builder for a route table.
    #[must_use]
    pub fn builder() -> RouterBuilder<ReqB, ResB, E> {
        RouterBuilder::new()
    }
}

impl<ReqB, ResB, E> Router<ReqB, ResB, E> {
    pub(crate) fn from_parts(
        table: Arc<Table<ReqB, ResB, E>>,
        fallback: Option<Target<ReqB, ResB, E>>,
    ) -> Self {
        Self { table, fallback }
    }

    /// What the Router does with `method` and `path` (the path policies applied), with no
    /// service involved: so route tables can be unit-tested in-process. A query
    /// (`/search?q=1`) is ignored, as it is for a request.
    ///
    /// ```
    /// use http::{Method, Request, Response};
    /// use std::convert::Infallible;
    /// use tower::service_fn;
    /// use tower_gateway::router::{Decision, Router};
    ///
    /// let ok = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    /// let router = Router::builder()
    ///     .route("GET /pets/dog/1", ok.clone())
    ///     .route("GET /pets/dog/{id}", ok.clone())
    ///     .route("GET /pets/{proxy+}", ok.clone())
    ///     .route("ANY /{proxy+}", ok)
    ///     .build()?;
    ///
    /// assert_eq!(router.at(&Method::GET, "/pets/dog/1").route_key(), Some("GET /pets/dog/1"));
    /// let hit = router.at(&Method::GET, "/pets/dog/2");
    /// assert_eq!(hit.route_key(), Some("GET /pets/dog/{id}"));
    /// assert_eq!(hit.route().unwrap().param("id"), Some("2"));
    /// assert_eq!(router.at(&Method::GET, "/pets/cat/1").route_key(), Some("GET /pets/{proxy+}"));
    /// assert_eq!(router.at(&Method::POST, "/pets/dog/1").route_key(), Some("ANY /{proxy+}"));
    /// assert!(matches!(router.at(&Method::GET, "/"), Decision::NotFound));
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    #[must_use]
    pub fn at<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Decision<'r, 'p> {
        // A path never holds a `?`: what follows one is the query, which routing ignores.
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let mut captures = Captures::default();
        match self.table.resolve(method, path, &mut captures) {
            Resolved::Route {
                id,
                head_via_get,
                rewritten,
            } => match self.table.routes.get(id as usize) {
                Some(entry) => Decision::Route(RouteMatch {
                    route: &entry.route,
                    names: &entry.names,
                    path: rewritten.map_or(Cow::Borrowed(path), Cow::Owned),
                    captures,
                    head_via_get,
                }),
                None => Decision::NotFound,
            },
            Resolved::Redirect(to) => Decision::Redirect(to),
            Resolved::MethodNotAllowed(allowed) => Decision::MethodNotAllowed(allowed),
            Resolved::NotFound => Decision::NotFound,
        }
    }

    /// The keys of the table's routes, in the order they were added.
    pub fn route_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.table.routes.iter().map(|r| r.route.key())
    }

    /// The Router's own `404`. A `HEAD` gets the headers a `GET` would (RFC 9110 §9.3.2),
    /// including the AWS body's `content-length`, and no body.
    fn not_found<B>(&self, method: &Method) -> Response<Body<B>> {
        const AWS_BODY: &[u8] = br#"{"message":"Not Found"}"#;
        // Its length, written once (no integer formatting on the 404 path).
        const AWS_LEN: &str = "23";
        const _: () = assert!(AWS_BODY.len() == 23);
        let mut response = match self.table.policy.not_found {
            NotFoundBody::Empty => Response::new(Body::empty()),
            NotFoundBody::AwsJson => {
                let body = if method == Method::HEAD {
                    Body::empty()
                } else {
                    Body::full(Bytes::from_static(AWS_BODY))
                };
                let mut r = Response::new(body);
                let headers = r.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                // As AWS sends it; a `HEAD` gets the length a `GET` would have.
                headers.insert(CONTENT_LENGTH, HeaderValue::from_static(AWS_LEN));
                r
            }
        };
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
            .extensions_mut()
            .insert(Rejection::new(RejectionKind::NotFound));
        response
    }
}

impl<ReqB, ResB, E> Service<Request<ReqB>> for Router<ReqB, ResB, E>
where
    ReqB: Send + 'static,
    ResB: http_body::Body + 'static,
    E: 'static,
{
    type Response = Response<Body<ResB>>;
    type Error = E;
    type Future = ResponseFuture<ReqB, ResB, E>;

    /// Always ready: the chosen target is driven to readiness inside the response future.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<ReqB>) -> Self::Future {
        let mut captures = Captures::default();
        let resolved = self
            .table
            .resolve(request.method(), request.uri().path(), &mut captures);
        match resolved {
            Resolved::Route {
                id,
                head_via_get,
                rewritten,
            } => {
                let Some(entry) = self.table.routes.get(id as usize) else {
                    return ResponseFuture::ready(self.not_found(request.method()));
                };
                if entry.route.is_websocket()
                    && !crate::websocket::is_upgradable_handshake(
                        request.version(),
                        request.method(),
                        request.headers(),
                    )
                {
                    return ResponseFuture::ready(upgrade_required(&entry.route));
                }
                // The client's URI, for a nested service, unless an outer nest recorded it.
                let original = (entry.nest.is_some()
                    && request.extensions().get::<OriginalUri>().is_none())
                .then(|| request.uri().clone());
                if let Some(new_path) = &rewritten {
                    set_path(&mut request, new_path);
                }
                let path = rewritten.as_deref().unwrap_or(request.uri().path());
                let params = Params::copy_from(Arc::clone(&entry.names), path, &captures);
                let nested = entry.nest.map(|prefix_params| {
                    let rest = captures
                        .get(prefix_params)
                        .and_then(|(start, end)| path.get(start..end))
                        .unwrap_or("");
                    let mut p = String::with_capacity(rest.len() + 1);
                    p.push('/');
                    p.push_str(rest);
                    p
                });
                if let Some(nested) = nested {
                    set_path(&mut request, &nested);
                    if let Some(original) = original {
                        request.extensions_mut().insert(OriginalUri(original));
                    }
                }
                let route = entry.route.clone();
                let extensions = request.extensions_mut();
                extensions.insert(route.clone());
                extensions.insert(params);
                ResponseFuture::target(entry.target.oneshot(request), Some(route), head_via_get)
            }
            Resolved::MethodNotAllowed(allowed) => {
                let mut response = Response::new(Body::empty());
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                response.headers_mut().insert(ALLOW, allowed.header_value());
                response
                    .extensions_mut()
                    .insert(Rejection::new(RejectionKind::MethodNotAllowed));
                ResponseFuture::ready(response)
            }
            Resolved::Redirect(to) => {
                let location = match request.uri().query() {
                    Some(q) => format!("{to}?{q}"),
                    None => to,
                };
                match HeaderValue::try_from(location) {
                    Ok(value) => {
                        let mut response = Response::new(Body::empty());
                        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
                        response.headers_mut().insert(LOCATION, value);
                        ResponseFuture::ready(response)
                    }
                    Err(_) => self.fallback_or_not_found(request),
                }
            }
            Resolved::NotFound => self.fallback_or_not_found(request),
        }
    }
}

impl<ReqB, ResB, E> Router<ReqB, ResB, E>
where
    ReqB: Send + 'static,
    ResB: 'static,
    E: 'static,
{
    fn fallback_or_not_found(&self, request: Request<ReqB>) -> ResponseFuture<ReqB, ResB, E> {
        match &self.fallback {
            Some(fallback) => ResponseFuture::target(fallback.oneshot(request), None, false),
            None => ResponseFuture::ready(self.not_found(request.method())),
        }
    }
}

/// The answer of a WebSocket-only route to a request that is not a handshake.
#[cold]
fn upgrade_required<B>(route: &MatchedRoute) -> Response<Body<B>> {
    let mut response = Response::new(Body::full(Bytes::from_static(
        b"this route only accepts WebSocket handshakes (Upgrade: websocket)\n",
    )));
    *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    let extensions = response.extensions_mut();
    extensions.insert(Rejection::new(RejectionKind::UpgradeRequired));
    extensions.insert(route.clone());
    response
}

/// Replaces the request's path, keeping its query, scheme and authority.
fn set_path<B>(request: &mut Request<B>, path: &str) {
    let uri = request.uri();
    let pq = match uri.query() {
        Some(q) => PathAndQuery::try_from(format!("{path}?{q}")),
        None => PathAndQuery::try_from(path),
    };
    let Ok(pq) = pq else { return };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(pq);
    if let Ok(new_uri) = Uri::from_parts(parts) {
        *request.uri_mut() = new_uri;
    }
}

impl<S, ReqB, ResB, E> Layer<S> for Router<ReqB, ResB, E>
where
    S: Service<Request<ReqB>, Response = Response<ResB>, Error = E> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    ReqB: 'static,
    ResB: 'static,
    E: 'static,
{
    type Service = Router<ReqB, ResB, E>;

    /// The same table, with `inner` as the fallback for requests no route matches.
    fn layer(&self, inner: S) -> Self::Service {
        Router {
            table: Arc::clone(&self.table),
            fallback: Some(BoxService::new(inner)),
        }
    }
}
