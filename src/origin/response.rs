//! The refusal answer: the default `403`, or a user's response builder.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use super::Rejection;
use crate::body::Body;

static TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
static NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// A user's builder for refusal answers.
#[derive(Clone)]
pub(super) struct RejectionResponse(
    pub(super) Arc<dyn Fn(&Rejection, &Parts) -> Response<Bytes> + Send + Sync + 'static>,
);

impl fmt::Debug for RejectionResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RejectionResponse(<closure>)")
    }
}

/// A user's answer to a refused request, with the rejection in its extensions.
pub(super) fn custom_refusal<B>(
    rejection: Rejection,
    builder: &RejectionResponse,
    parts: &Parts,
) -> Response<Body<B>> {
    let mut response = (builder.0)(&rejection, parts).map(Body::full);
    response.extensions_mut().insert(rejection);
    response
}

/// `403`, `text/plain; charset=utf-8`, `nosniff`, the reason as the body, and the rejection in
/// the extensions.
///
/// Built from the refused request's own head: its header map and extensions are cleared and
/// reused (a cleared map keeps its storage), so the answer needs no allocation of its own
/// beyond the boxed rejection, and the request's header storage is not freed only to be
/// allocated again.
pub(super) fn default_refusal<B>(rejection: Rejection, parts: Parts) -> Response<Body<B>> {
    let Parts {
        mut headers,
        mut extensions,
        ..
    } = parts;
    headers.clear();
    headers.insert(CONTENT_TYPE, TEXT_PLAIN.clone());
    headers.insert(X_CONTENT_TYPE_OPTIONS, NOSNIFF.clone());
    extensions.clear();
    extensions.insert(rejection);
    let mut response = Response::new(Body::full(Bytes::from_static(
        rejection.reason().as_bytes(),
    )));
    *response.status_mut() = StatusCode::FORBIDDEN;
    *response.headers_mut() = headers;
    *response.extensions_mut() = extensions;
    response
}
