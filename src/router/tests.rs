//! Unit tests of the route tree against a naive model.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;

use super::*;

type Ok200 = Response<Full<Bytes>>;

fn table(keys: &[&str]) -> Router<Full<Bytes>, Full<Bytes>, Infallible> {
    let mut b = Router::builder();
    for k in keys {
        b = b.route(
            *k,
            tower::service_fn(|_: Request<Full<Bytes>>| async {
                Ok::<Ok200, Infallible>(Response::new(Full::default()))
            }),
        );
    }
    b.build().unwrap()
}

fn key(r: &Router<Full<Bytes>, Full<Bytes>, Infallible>, m: Method, p: &str) -> Option<String> {
    r.at(&m, p).route_key().map(str::to_owned)
}

#[test]
fn backtracking() {
    let r = table(&["GET /a/b/{c}", "GET /a/{b}/c"]);
    assert_eq!(
        key(&r, Method::GET, "/a/b/x").as_deref(),
        Some("GET /a/b/{c}")
    );
    assert_eq!(
        key(&r, Method::GET, "/a/x/c").as_deref(),
        Some("GET /a/{b}/c")
    );
    assert_eq!(
        key(&r, Method::GET, "/a/b/c").as_deref(),
        Some("GET /a/b/{c}")
    );
    assert_eq!(key(&r, Method::GET, "/a/x/y"), None);
}

#[test]
fn many_params_spill() {
    let template: String = (0..30).map(|i| format!("/{{p{i}}}")).collect();
    let path: String = (0..30).map(|i| format!("/v{i}")).collect();
    let r = table(&[&format!("GET {template}")]);
    let d = r.at(&Method::GET, &path);
    let m = d.route().unwrap();
    assert_eq!(m.param("p0"), Some("v0"));
    assert_eq!(m.param("p29"), Some("v29"));
    assert_eq!(m.params().count(), 30);
}
