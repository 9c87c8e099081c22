//! [`MetricsService`]: the exposition endpoint.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

use super::registry::Registry;

/// The `Content-Type` of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Answers `GET` (and `HEAD`: the same headers, `Content-Length` included, without the body)
/// with the registry in the Prometheus text format (0.0.4); any other method gets `405` with
/// `Allow: GET, HEAD`. Mount it on the route of your choice.
#[derive(Clone, Debug)]
#[must_use]
pub struct MetricsService {
    registry: Registry,
}

impl MetricsService {
    /// A service rendering `registry`.
    pub fn new(registry: Registry) -> Self {
        Self { registry }
    }
}

impl<B> Service<Request<B>> for MetricsService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut response = if req.method() == Method::GET || req.method() == Method::HEAD {
            let mut response = Response::new(Full::new(Bytes::from(self.registry.render())));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        } else {
            let mut response = Response::new(Full::default());
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        if req.method() == Method::HEAD {
            // The headers of the `GET` answer (RFC 9110, section 9.3.2), its length included,
            // without the body.
            let length = http_body::Body::size_hint(response.body())
                .exact()
                .unwrap_or(0);
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            *response.body_mut() = Full::default();
        }
        ready(Ok(response))
    }
}
