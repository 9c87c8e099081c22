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

mod websocket {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use http::header::{ALLOW, CONNECTION, CONTENT_TYPE, UPGRADE};
    use http::StatusCode;
    use tower::ServiceExt;

    use super::*;
    use crate::error::ProblemKind;
    use crate::test_helpers::body_text;

    type WsRouter = Router<Full<Bytes>, Full<Bytes>, Infallible>;

    /// A target answering `101`, counting its calls.
    fn switch(
        calls: Arc<AtomicUsize>,
    ) -> impl tower::Service<
        Request<Full<Bytes>>,
        Response = Ok200,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone
           + Send
           + Sync
           + 'static {
        tower::service_fn(move |_: Request<Full<Bytes>>| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                let mut r = Response::new(Full::default());
                *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                r.headers_mut()
                    .insert(UPGRADE, "websocket".parse().unwrap());
                r.headers_mut()
                    .insert(CONNECTION, "upgrade".parse().unwrap());
                Ok::<Ok200, Infallible>(r)
            }
        })
    }

    fn router(calls: &Arc<AtomicUsize>) -> WsRouter {
        Router::builder()
            .named_websocket("chat", "/chat/{room}", switch(Arc::clone(calls)))
            .route("POST /chat/{room}", switch(Arc::clone(calls)))
            .route("GET /plain", switch(Arc::clone(calls)))
            .websocket("/only", switch(Arc::clone(calls)))
            .build()
            .unwrap()
    }

    fn req(method: Method, uri: &str, upgrade: Option<&'static str>) -> Request<Full<Bytes>> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(u) = upgrade {
            b = b.header(UPGRADE, u).header(CONNECTION, "Upgrade");
        }
        b.body(Full::default()).unwrap()
    }

    #[tokio::test]
    async fn handshake_reaches_the_route_with_its_extensions() {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&seen);
        let r: WsRouter = Router::builder()
            .websocket(
                "/ws",
                tower::service_fn(move |req: Request<Full<Bytes>>| {
                    // The marker the caller put in the extensions is still there.
                    if req.extensions().get::<u64>() == Some(&42) {
                        s.fetch_add(1, Ordering::SeqCst);
                    }
                    let route = req.extensions().get::<MatchedRoute>().cloned();
                    async move {
                        assert!(route.unwrap().is_websocket());
                        let mut r = Response::new(Full::default());
                        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                        Ok::<Ok200, Infallible>(r)
                    }
                }),
            )
            .fallback(switch(Arc::clone(&calls)))
            .build()
            .unwrap();
        let mut request = req(Method::GET, "/ws", Some("websocket"));
        request.extensions_mut().insert(42u64);
        let response = r.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        let route = response.extensions().get::<MatchedRoute>().unwrap();
        assert_eq!(route.key(), "GET /ws");
        assert!(route.is_websocket());
    }

    #[tokio::test]
    async fn plain_get_is_426_without_calling_the_target() {
        let calls = Arc::new(AtomicUsize::new(0));
        let r = router(&calls);
        for upgrade in [None, Some("h2c")] {
            let response = r
                .clone()
                .oneshot(req(Method::GET, "/chat/lobby", upgrade))
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
            assert_eq!(response.headers()[UPGRADE], "websocket");
            assert_eq!(response.headers()[CONNECTION], "Upgrade");
            assert!(response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain"));
            let rejection = *response.extensions().get::<Rejection>().unwrap();
            assert_eq!(rejection.kind(), RejectionKind::UpgradeRequired);
            assert_eq!(
                response.extensions().get::<MatchedRoute>().unwrap().name(),
                Some("chat")
            );
            assert!(body_text(response.into_body()).await.contains("WebSocket"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // The handshake itself is served, whatever the token's case.
        let response = r
            .oneshot(req(Method::GET, "/chat/lobby", Some("WebSocket")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn head_and_other_methods_are_405_allow_get() {
        let calls = Arc::new(AtomicUsize::new(0));
        let r = router(&calls);
        for method in [Method::HEAD, Method::PUT, Method::DELETE] {
            let response = r
                .clone()
                .oneshot(req(method.clone(), "/only", Some("websocket")))
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
            assert_eq!(response.headers()[ALLOW], "GET", "{method}");
        }
        // Beside a plain POST route, the Allow list is GET, POST (no HEAD).
        let response = r
            .clone()
            .oneshot(req(Method::PUT, "/chat/x", None))
            .await
            .unwrap();
        assert_eq!(response.headers()[ALLOW], "GET, POST");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        // A plain GET route still serves HEAD, and lists it.
        let response = r
            .clone()
            .oneshot(req(Method::HEAD, "/plain", None))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        let response = r.oneshot(req(Method::PUT, "/plain", None)).await.unwrap();
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    }

    #[tokio::test]
    async fn a_plain_route_serves_handshakes_as_it_decides() {
        let calls = Arc::new(AtomicUsize::new(0));
        let r = router(&calls);
        let response = r
            .oneshot(req(Method::GET, "/plain", Some("websocket")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(!response
            .extensions()
            .get::<MatchedRoute>()
            .unwrap()
            .is_websocket());
    }

    #[test]
    fn decisions_and_conflicts() {
        let calls = Arc::new(AtomicUsize::new(0));
        let r = router(&calls);
        let d = r.at(&Method::GET, "/chat/a");
        assert!(d.route().unwrap().route().is_websocket());
        assert!(
            matches!(r.at(&Method::HEAD, "/only"), Decision::MethodNotAllowed(a) if a.to_string() == "GET")
        );
        // A WebSocket route is a GET route for conflicts.
        let error = Router::<Full<Bytes>, Full<Bytes>, Infallible>::builder()
            .route("GET /ws", switch(Arc::clone(&calls)))
            .websocket("/ws", switch(Arc::clone(&calls)))
            .websocket("ws", switch(calls))
            .build()
            .unwrap_err();
        let kinds: Vec<_> = error.problems().iter().map(|p| p.kind()).collect();
        assert_eq!(kinds, [ProblemKind::Duplicate, ProblemKind::Syntax]);
        assert_eq!(
            Rejection::new(RejectionKind::UpgradeRequired).to_string(),
            "websocket upgrade required"
        );
    }
}
