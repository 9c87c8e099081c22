//! The built route table and the path policies applied before matching.

use std::sync::Arc;

use http::{Method, Request, Response};

use super::captures::Captures;
use super::matched::MatchedRoute;
use super::methods::AllowedMethods;
use super::tree::{Lookup, RouteId, Tree};
use crate::util::boxed::BoxService;

/// What the Router does when a path misses only by its trailing slash.
///
/// Default: [`TrailingSlash::Strict`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrailingSlash {
    /// `/pets/` and `/pets` are different paths; a miss is a miss.
    #[default]
    Strict,
    /// A path that misses, but would match with the trailing slash added or removed, gets a
    /// `308 Permanent Redirect` to that path (query kept). Never to a path a browser reads as
    /// another host (`//host`, `/\host`): such a path stays a miss, so the Router cannot be
    /// used as an open redirect.
    Redirect,
    /// A path that misses, but would match with the trailing slash added or removed, is served
    /// by that route; the request's path is rewritten to the matching form.
    Ignore,
}

/// The body of the Router's own `404` (when it has no fallback service).
///
/// Default: [`NotFoundBody::Empty`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotFoundBody {
    /// An empty body.
    #[default]
    Empty,
    /// `{"message":"Not Found"}` with `content-type: application/json`, as AWS API Gateway
    /// answers.
    AwsJson,
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) trailing_slash: TrailingSlash,
    pub(crate) merge_slashes: bool,
    pub(crate) case_insensitive: bool,
    pub(crate) not_found: NotFoundBody,
}

pub(crate) type Target<ReqB, ResB, E> = BoxService<Request<ReqB>, Response<ResB>, E>;

pub(crate) struct RouteEntry<ReqB, ResB, E> {
    pub(crate) route: MatchedRoute,
    pub(crate) names: Arc<[Box<str>]>,
    pub(crate) target: Target<ReqB, ResB, E>,
    /// For a nested service: how many of `names` belong to the prefix (the last capture, if
    /// there is one more, is the nested path).
    pub(crate) nest: Option<usize>,
}

pub(crate) struct Table<ReqB, ResB, E> {
    pub(crate) tree: Tree,
    pub(crate) routes: Vec<RouteEntry<ReqB, ResB, E>>,
    pub(crate) policy: Policy,
}

/// A lookup's result, owning everything so the request can be changed afterwards.
#[derive(Debug)]
pub(crate) enum Resolved {
    Route {
        id: RouteId,
        head_via_get: bool,
        /// The path the route matched, when it differs from the request's (merged slashes,
        /// trailing slash added or removed).
        rewritten: Option<String>,
    },
    Redirect(String),
    MethodNotAllowed(AllowedMethods),
    NotFound,
}

impl<ReqB, ResB, E> Table<ReqB, ResB, E> {
    /// Resolves `method` and `path`, leaving the route's params in `captures`.
    #[inline(always)]
    pub(crate) fn resolve(&self, method: &Method, path: &str, captures: &mut Captures) -> Resolved {
        self.resolve_any(method, path, captures)
    }

    #[inline(always)]
    fn resolve_any(&self, method: &Method, path: &str, captures: &mut Captures) -> Resolved {
        let policy = &self.policy;
        let merged = (policy.merge_slashes && path.contains("//")).then(|| merge_slashes(path));
        let matched = merged.as_deref().unwrap_or(path);
        let found = self.find(method, matched, captures);
        if let Lookup::Route { id, head_via_get } = found {
            if policy.trailing_slash != TrailingSlash::Strict && self.is_catch_all(id) {
                // `/pets/` and `/pets` are one path under this policy: a catch-all that took
                // the path must not hide a more specific route for its other form.
                if let Some(resolved) = self.specific_alternate(method, matched, captures) {
                    return resolved;
                }
            }
            return Resolved::Route {
                id,
                head_via_get,
                rewritten: merged,
            };
        }
        let mut found = found;
        if policy.trailing_slash != TrailingSlash::Strict {
            if let Some(alternate) = toggle_trailing_slash(matched) {
                match self.find(method, &alternate, captures) {
                    // Never a `Location` a browser reads as another host (`//evil`, `/\evil`):
                    // such a path is a miss.
                    Lookup::Route { .. }
                        if policy.trailing_slash == TrailingSlash::Redirect
                            && !is_local_path(&alternate) => {}
                    Lookup::Route { id, head_via_get } => {
                        return match policy.trailing_slash {
                            TrailingSlash::Redirect => Resolved::Redirect(alternate),
                            _ => Resolved::Route {
                                id,
                                head_via_get,
                                rewritten: Some(alternate),
                            },
                        };
                    }
                    // The other form of the path exists, but not for this method: say so
                    // rather than pretend the path is unknown.
                    alt @ Lookup::MethodNotAllowed(_) if matches!(found, Lookup::NotFound) => {
                        found = alt;
                    }
                    _ => {}
                }
            }
        }
        match found {
            Lookup::MethodNotAllowed(allowed) => Resolved::MethodNotAllowed(allowed),
            _ => Resolved::NotFound,
        }
    }

    /// Whether route `id` ends in a catch-all (a nested service's route does).
    fn is_catch_all(&self, id: RouteId) -> bool {
        self.routes.get(id as usize).is_some_and(|entry| {
            entry.nest.is_some() || {
                let template = entry.route.template();
                let last = template.rsplit('/').next().unwrap_or("");
                last.starts_with("{*") || (last.starts_with('{') && last.ends_with("+}"))
            }
        })
    }

    /// The other form of `path` (trailing slash toggled), when a route that is not a
    /// catch-all serves it: redirected to or served, per the policy. `captures` is left
    /// unchanged when there is none.
    #[cold]
    fn specific_alternate(
        &self,
        method: &Method,
        path: &str,
        captures: &mut Captures,
    ) -> Option<Resolved> {
        let alternate = toggle_trailing_slash(path)?;
        let mut alt_captures = Captures::default();
        match self.find(method, &alternate, &mut alt_captures) {
            Lookup::Route { id, head_via_get } if !self.is_catch_all(id) => {
                Some(match self.policy.trailing_slash {
                    // The catch-all serves the path rather than redirect off-site.
                    TrailingSlash::Redirect if !is_local_path(&alternate) => return None,
                    TrailingSlash::Redirect => Resolved::Redirect(alternate),
                    _ => {
                        *captures = alt_captures;
                        Resolved::Route {
                            id,
                            head_via_get,
                            rewritten: Some(alternate),
                        }
                    }
                })
            }
            _ => None,
        }
    }

    #[inline(always)]
    fn find(&self, method: &Method, path: &str, captures: &mut Captures) -> Lookup {
        if self.policy.case_insensitive && path.bytes().any(|b| b.is_ascii_uppercase()) {
            // Lower-casing ASCII keeps every byte offset, so the captures apply to `path`.
            let lowered = path.to_ascii_lowercase();
            self.tree.find(method, &lowered, captures)
        } else {
            self.tree.find(method, path, captures)
        }
    }
}

fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut last_slash = false;
    for c in path.chars() {
        if c == '/' && last_slash {
            continue;
        }
        last_slash = c == '/';
        out.push(c);
    }
    out
}

/// Whether `path` is safe as a `Location`: a browser resolves it on the same host. WHATWG URL
/// parsing reads `//host` and, for http(s), `/\host` as a scheme-relative URL to another host.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/') && !matches!(path.as_bytes().get(1), Some(b'/' | b'\\'))
}

fn toggle_trailing_slash(path: &str) -> Option<String> {
    if !path.starts_with('/') || path == "/" {
        return None;
    }
    Some(match path.strip_suffix('/') {
        Some(stripped) => stripped.to_owned(),
        None => format!("{path}/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_and_toggling() {
        assert_eq!(merge_slashes("//a///b/"), "/a/b/");
        assert_eq!(merge_slashes("/a/b"), "/a/b");
        assert_eq!(toggle_trailing_slash("/a/").as_deref(), Some("/a"));
        assert_eq!(toggle_trailing_slash("/a").as_deref(), Some("/a/"));
        assert_eq!(toggle_trailing_slash("/"), None);
        assert_eq!(toggle_trailing_slash("*"), None);
        assert!(is_local_path("/a/"));
        assert!(!is_local_path("//evil.example"));
        assert!(!is_local_path("/\\evil.example"));
        assert!(!is_local_path("evil"));
    }
}
