//! [`RouterBuilder`]: collects routes and policies, then validates the whole table at once.

use std::fmt;
use std::sync::Arc;

use http::{Method, Request, Response};
use tower_service::Service;

use super::key::{IntoRouteKey, RouteKey};
use super::matched::{MatchedRoute, RouteInfo};
use super::service::Router;
use super::table::{NotFoundBody, Policy, RouteEntry, Table, Target, TrailingSlash};
use super::template::{shorten, Segment, Template};
use super::tree::{InsertError, Tree};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};
use crate::util::boxed::BoxService;

struct Pending<ReqB, ResB, E> {
    key: Result<RouteKey, ConfigError>,
    name: Option<String>,
    target: Target<ReqB, ResB, E>,
    nest: bool,
    websocket: bool,
}

/// Builds a [`Router`]: add routes, choose policies, then [`build`](Self::build).
///
/// Nothing is checked until `build`, which reports every problem of the table at once:
/// malformed templates, duplicate routes, ambiguous pairs (naming both routes).
///
/// ```
/// use http::{Method, Request, Response};
/// use std::convert::Infallible;
/// use tower::service_fn;
/// use tower_gateway::error::ProblemKind;
/// use tower_gateway::router::Router;
///
/// let ok = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::new())) });
/// let error = Router::builder()
///     .route("GET /u/{id}", ok.clone())
///     .route("GET /u/{name}", ok.clone())
///     .route("GET users", ok.clone())
///     .route((Method::POST, "/x/{*rest}/y"), ok)
///     .build()
///     .unwrap_err();
/// let kinds: Vec<_> = error.problems().iter().map(|p| p.kind()).collect();
/// assert_eq!(kinds, [ProblemKind::Conflict, ProblemKind::Syntax, ProblemKind::Syntax]);
/// assert_eq!(error.problems()[0].related(), Some("GET /u/{id}"));
/// ```
pub struct RouterBuilder<ReqB, ResB, E> {
    routes: Vec<Pending<ReqB, ResB, E>>,
    policy: Policy,
    fallback: Option<Target<ReqB, ResB, E>>,
}

impl<ReqB, ResB, E> Default for RouterBuilder<ReqB, ResB, E> {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            policy: Policy::default(),
            fallback: None,
        }
    }
}

impl<ReqB, ResB, E> fmt::Debug for RouterBuilder<ReqB, ResB, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterBuilder")
            .field("routes", &self.routes.len())
            .field("policy", &self.policy)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<ReqB, ResB, E> RouterBuilder<ReqB, ResB, E>
where
    ReqB: 'static,
    ResB: 'static,
    E: 'static,
{
    /// An empty builder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route: `key` is `"GET /pets/{id}"`, `"ANY /{proxy+}"`, a [`RouteKey`] or a
    /// `(Method, path)` pair; `service` is its target, boxed once here.
    ///
    /// Calling it again adds another route. Problems with the key are reported by
    /// [`build`](Self::build).
    #[must_use]
    pub fn route<K, S>(self, key: K, service: S) -> Self
    where
        K: IntoRouteKey,
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.push(key.into_route_key(), None, BoxService::new(service), false)
    }

    /// Adds a route with a name, which [`MatchedRoute::name`] reports (for logs and metrics).
    #[must_use]
    pub fn named_route<K, S>(self, name: impl Into<String>, key: K, service: S) -> Self
    where
        K: IntoRouteKey,
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.push(
            key.into_route_key(),
            Some(name.into()),
            BoxService::new(service),
            false,
        )
    }

    /// Adds a WebSocket-only route at the path template `path` (`"/chat/{room}"`; its key is
    /// `GET {path}`, so it conflicts with a plain `GET` route on the same template).
    ///
    /// A WebSocket handshake (an HTTP/1.1 `GET` with an `Upgrade: websocket` token) reaches
    /// `service`,
    /// request extensions (hyper's upgrade handle among them) intact, and its `101` passes
    /// back unchanged. A plain `GET` (an HTTP/1.0 one with `Upgrade` too: RFC 9110 §7.8 has
    /// servers ignore that header there) gets `426 Upgrade Required` with `Upgrade: websocket`
    /// and `Connection: Upgrade`, a short text body and a [`Rejection`](super::Rejection) of
    /// kind [`UpgradeRequired`](super::RejectionKind::UpgradeRequired). The route does not
    /// serve `HEAD` (nor any other method): those go to the routes that accept them (an `ANY`
    /// route on the same template, a less specific route), else get `405` (`Allow: GET` when
    /// the route is alone). `service` is not called for any of those.
    /// [`MatchedRoute::is_websocket`] tells handlers and outer layers.
    ///
    /// A plain route (added with [`route`](Self::route)) serves handshakes too, as its
    /// service decides; this marks a route that serves nothing else.
    ///
    /// ```
    /// use http::{header, Request, Response, StatusCode};
    /// use std::convert::Infallible;
    /// use tower::{service_fn, ServiceExt};
    /// use tower_gateway::router::{MatchedRoute, Router};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let switch = service_fn(|_: Request<String>| async {
    ///     let mut response = Response::new(String::new());
    ///     *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    ///     Ok::<_, Infallible>(response)
    /// });
    /// let router = Router::builder().websocket("/chat", switch).build()?;
    ///
    /// let handshake = Request::get("/chat")
    ///     .header(header::CONNECTION, "upgrade")
    ///     .header(header::UPGRADE, "websocket")
    ///     .body(String::new())?;
    /// let response = router.clone().oneshot(handshake).await?;
    /// assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    /// assert!(response.extensions().get::<MatchedRoute>().unwrap().is_websocket());
    ///
    /// let plain = Request::get("/chat").body(String::new())?;
    /// let response = router.oneshot(plain).await?;
    /// assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    /// assert_eq!(response.headers()[header::UPGRADE], "websocket");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn websocket<S>(self, path: &str, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let key = Ok(RouteKey::new(Method::GET, path));
        self.push_entry(key, None, BoxService::new(service), false, true)
    }

    /// Adds a named WebSocket-only route; see [`websocket`](Self::websocket) and
    /// [`named_route`](Self::named_route).
    #[must_use]
    pub fn named_websocket<S>(self, name: impl Into<String>, path: &str, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        let key = Ok(RouteKey::new(Method::GET, path));
        self.push_entry(
            key,
            Some(name.into()),
            BoxService::new(service),
            false,
            true,
        )
    }

    /// Sends `prefix` and everything below it (`prefix/...`) to `service`, with the prefix
    /// stripped from the path (`/api/users` reaches it as `/users`, `/api` and `/api/` as `/`).
    /// The original URI is kept in the [`OriginalUri`](super::OriginalUri) extension.
    ///
    /// The prefix is a template without a catch-all and without a trailing slash; it may
    /// contain params (`/tenants/{tenant}`). Routes below it in this table are more specific
    /// and win. Its [`MatchedRoute`] key is `ANY {prefix}/{proxy+}`. When `service` is itself a
    /// `Router`, its targets see its own `MatchedRoute` (templates relative to the prefix); on
    /// the response this Router's nest route replaces it, so outer layers (access log,
    /// metrics) see the table's own route, `ANY {prefix}/{proxy+}`.
    #[must_use]
    pub fn nest<S>(self, prefix: &str, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.push(
            Ok(RouteKey::any(prefix)),
            None,
            BoxService::new(service),
            true,
        )
    }

    /// The service that answers requests no route matches (default: the Router's own `404`).
    /// Using the Router as a [`Layer`](tower_layer::Layer) sets it too. Calling it again
    /// replaces it.
    #[must_use]
    pub fn fallback<S>(mut self, service: S) -> Self
    where
        S: Service<Request<ReqB>, Response = Response<ResB>, Error = E>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.fallback = Some(BoxService::new(service));
        self
    }

    /// What to do when a path misses only by its trailing slash. Default:
    /// [`TrailingSlash::Strict`].
    #[must_use]
    pub fn trailing_slash(mut self, policy: TrailingSlash) -> Self {
        self.policy.trailing_slash = policy;
        self
    }

    /// Whether runs of slashes (`//a///b`) are merged into one before matching; the request's
    /// path is rewritten to the merged form. Default: `false` (byte-exact).
    #[must_use]
    pub fn merge_slashes(mut self, merge: bool) -> Self {
        self.policy.merge_slashes = merge;
        self
    }

    /// Whether static parts of templates match regardless of ASCII case. Param values keep
    /// the request's case. Default: `false` (case-sensitive).
    #[must_use]
    pub fn case_insensitive(mut self, insensitive: bool) -> Self {
        self.policy.case_insensitive = insensitive;
        self
    }

    /// The body of the Router's own `404`. Default: [`NotFoundBody::Empty`].
    #[must_use]
    pub fn not_found_body(mut self, body: NotFoundBody) -> Self {
        self.policy.not_found = body;
        self
    }

    fn push(
        self,
        key: Result<RouteKey, ConfigError>,
        name: Option<String>,
        target: Target<ReqB, ResB, E>,
        nest: bool,
    ) -> Self {
        self.push_entry(key, name, target, nest, false)
    }

    fn push_entry(
        mut self,
        key: Result<RouteKey, ConfigError>,
        name: Option<String>,
        target: Target<ReqB, ResB, E>,
        nest: bool,
        websocket: bool,
    ) -> Self {
        self.routes.push(Pending {
            key,
            name,
            target,
            nest,
            websocket,
        });
        self
    }

    /// Validates the whole table and builds the [`Router`].
    ///
    /// # Errors
    ///
    /// Every problem at once, each naming the offending route: a key or template that does
    /// not parse (no leading `/`, unclosed or empty braces, two params in one segment, a
    /// catch-all that is not last or not a whole segment, a param name used twice), a duplicate
    /// route, and ambiguous pairs (`/u/{id}` and `/u/{name}` for the same method; `/f/{n}`
    /// and `/f/{*r}` for overlapping methods), naming both routes.
    pub fn build(self) -> Result<Router<ReqB, ResB, E>, ConfigError> {
        let mut problems = Problems::new();
        let mut tree = Tree::default();
        let mut routes: Vec<RouteEntry<ReqB, ResB, E>> = Vec::with_capacity(self.routes.len());
        let case_insensitive = self.policy.case_insensitive;

        for pending in self.routes {
            let key = match pending.key {
                Ok(key) => key,
                Err(error) => {
                    problems.extend(error);
                    continue;
                }
            };
            let key_text = key.to_string();
            let (method, text) = key.into_parts();
            let mut template = match Template::parse(&text) {
                Ok(t) => t,
                Err(found) => {
                    // One problem per route, however many defects its template has.
                    let kind = found.first().map_or(ProblemKind::Syntax, |(k, _)| *k);
                    let reasons: Vec<String> = found.into_iter().map(|(_, r)| r).collect();
                    problems.push(Problem::new(
                        "router",
                        kind,
                        key_text.clone(),
                        format!("route {:?}: {}", shorten(&key_text), reasons.join("; ")),
                    ));
                    continue;
                }
            };
            if case_insensitive {
                lower_statics(&mut template);
            }
            let id = u32::try_from(routes.len()).unwrap_or(u32::MAX);
            let (variants, display_text, nest) = if pending.nest {
                match nest_variants(&text, &template) {
                    Ok(v) => v,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                }
            } else {
                (vec![template.clone()], text.clone(), None)
            };
            for variant in &variants {
                if let Err(InsertError::Taken(other)) =
                    tree.insert(variant, method.as_ref(), pending.websocket, id)
                {
                    let other_key = routes
                        .get(other as usize)
                        .map_or_else(String::new, |r| r.route.key().to_owned());
                    let this_key = if pending.nest {
                        format!("ANY {display_text}")
                    } else {
                        key_text.clone()
                    };
                    problems.push(if other_key == this_key {
                        Problem::new(
                            "router",
                            ProblemKind::Duplicate,
                            this_key.clone(),
                            format!("route {this_key:?} is defined twice"),
                        )
                        .with_related(other_key)
                    } else {
                        Problem::new(
                            "router",
                            ProblemKind::Conflict,
                            this_key.clone(),
                            format!(
                                "routes {other_key:?} and {this_key:?} are ambiguous: they match \
                                 the same requests with the same priority"
                            ),
                        )
                        .with_related(other_key)
                    });
                    break;
                }
            }
            // The entry is kept even when a variant clashed (the build fails anyway), so that
            // route ids stay the positions of their entries.
            let mut names = variants
                .last()
                .map(Template::param_names)
                .unwrap_or_default();
            if nest.is_some() {
                // The nested path is not a param of the route.
                names.pop();
            }
            let mut info = RouteInfo::new(
                method,
                &display_text,
                pending.name.map(String::into_boxed_str),
            );
            if pending.websocket {
                info.set_websocket();
            }
            routes.push(RouteEntry {
                route: MatchedRoute::from_info(Arc::new(info)),
                names: names.into(),
                target: pending.target,
                nest,
            });
        }

        // One problem per catch-all route, naming every param route it clashes with.
        let mut overlaps: Vec<(u32, Vec<u32>)> = Vec::new();
        for (param, catch_all) in tree.param_catch_all_overlaps() {
            match overlaps.iter_mut().find(|(c, _)| *c == catch_all) {
                Some((_, params)) => params.push(param),
                None => overlaps.push((catch_all, vec![param])),
            }
        }
        let key_of = |id: u32| routes.get(id as usize).map_or("", |r| r.route.key());
        for (catch_all, params) in overlaps {
            let kb = key_of(catch_all);
            let others: Vec<String> = params.iter().map(|p| format!("{:?}", key_of(*p))).collect();
            problems.push(
                Problem::new(
                    "router",
                    ProblemKind::Conflict,
                    kb,
                    format!(
                        "routes {} and {kb:?} are ambiguous: the param and the catch-all both \
                         match every one-segment path there",
                        others.join(", ")
                    ),
                )
                .with_related(key_of(params[0])),
            );
        }

        let policy = self.policy;
        let fallback = self.fallback;
        problems.finish(|| {
            Router::from_parts(
                Arc::new(Table {
                    tree,
                    routes,
                    policy,
                }),
                fallback,
            )
        })
    }
}

/// The three templates a nest registers: `prefix`, `prefix/` and `prefix/{proxy+}`.
fn nest_variants(
    text: &str,
    template: &Template,
) -> Result<(Vec<Template>, String, Option<usize>), Problem> {
    let bad = |reason: String| Problem::new("router", ProblemKind::Invalid, text, reason);
    if template
        .segments
        .iter()
        .any(|s| matches!(s, Segment::CatchAll { .. }))
    {
        return Err(bad(format!(
            "nest prefix {:?} must not contain a catch-all",
            shorten(text)
        )));
    }
    if text.ends_with('/') {
        return Err(bad(format!(
            "nest prefix {:?} must not end with '/'; write it without",
            shorten(text)
        )));
    }
    let prefix_params = template.param_names().len();
    let mut slash = template.clone();
    slash.segments.push(Segment::Static("".into()));
    let mut rest = template.clone();
    rest.segments.push(Segment::CatchAll {
        name: "proxy".into(),
    });
    let display = format!("{text}/{{proxy+}}");
    Ok((
        vec![template.clone(), slash, rest],
        display,
        Some(prefix_params),
    ))
}

fn lower_statics(template: &mut Template) {
    for segment in &mut template.segments {
        match segment {
            Segment::Static(s) => *s = s.to_ascii_lowercase().into(),
            Segment::Param { prefix, suffix, .. } => {
                *prefix = prefix.to_ascii_lowercase().into();
                *suffix = suffix.to_ascii_lowercase().into();
            }
            Segment::CatchAll { .. } => {}
        }
    }
}
