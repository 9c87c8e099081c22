//! API-gateway building blocks as [tower](https://docs.rs/tower) layers: one route table with most-specific
//! matching and honest `404`/`405`, CORS by the Fetch standard, server-side origin
//! enforcement, canary releases and access logs. No runtime and no server of its own.
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Method, Request, Response, StatusCode};
//! use http_body_util::Full;
//! use std::convert::Infallible;
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::router::{Decision, MatchedRoute, Router};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reply = |text: &'static str| service_fn(move |_: Request<Full<Bytes>>| async move {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(text.as_bytes()))))
//! });
//! let table = Router::builder()
//!     .route("GET /pets/{id}", reply("a pet"))
//!     .route("ANY /legacy/{proxy+}", reply("the old backend"))
//!     .build()?;
//!
//! // The decision alone, with no service involved: unit-test a table in-process.
//! assert_eq!(table.at(&Method::GET, "/pets/7").route_key(), Some("GET /pets/{id}"));
//! assert!(matches!(table.at(&Method::PUT, "/pets/7"), Decision::MethodNotAllowed(_)));
//!
//! // As a layer in front of an existing app, which gets everything the table does not route.
//! let gateway = table.layer(reply("the app"));
//! let get = |uri: &str| Request::get(uri).body(Full::default()).unwrap();
//! let response = gateway.clone().oneshot(get("/legacy/a/b")).await?;
//! assert_eq!(response.extensions().get::<MatchedRoute>().unwrap().key(), "ANY /legacy/{proxy+}");
//! let response = gateway.clone().oneshot(get("/elsewhere")).await?;
//! assert!(response.extensions().get::<MatchedRoute>().is_none());
//! let response = gateway.oneshot(Request::put("/pets/7").body(Full::default())?).await?;
//! assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | module | effect | default |
//! | --- | --- | --- | --- |
//! | `router` | [`router`] | the route table | yes |
//! | `cors` | `cors` | CORS per the Fetch standard | yes |
//! | `origin` | `origin` | server-side origin enforcement | yes |
//! | `canary` | `canary` | canary splits | yes |
//! | `access-log` | `access_log` | access logs | yes |
//! | `full` | | everything | no |
//!
//! # Layer order
//!
//! Outermost first: `AccessLog` (sees every answer and the whole time), `CorsLayer` (answers
//! preflights first and decorates every response), `OriginGuard` (refuses cross-origin writes
//! before any route runs), [`Router`] (the table; the matched route becomes visible to every
//! layer), and `CanarySplit` around a route's target or the whole app.
//!
//! Every layer keeps the inner service's error type: a refusal is an HTTP response whose body
//! is [`body::Body`]. Configuration is validated once; [`ConfigError`] lists every problem.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub, rust_2018_idioms)]
#![warn(clippy::all, clippy::unwrap_used, clippy::dbg_macro, clippy::todo)]
#![warn(
    clippy::missing_errors_doc,
    clippy::missing_panics_doc,
    clippy::return_self_not_must_use
)]
#![allow(clippy::type_complexity)] // tower generics trip it everywhere
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod body;
pub mod error;
mod util;

#[cfg(test)]
mod test_helpers;

/// The README's example runs as a doc-test.
#[cfg(all(doctest, feature = "router"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "router")]
#[cfg_attr(docsrs, doc(cfg(feature = "router")))]
pub mod router;

#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
pub mod cors;

#[cfg(feature = "origin")]
#[cfg_attr(docsrs, doc(cfg(feature = "origin")))]
pub mod origin;
#[cfg(feature = "origin")]
#[cfg_attr(docsrs, doc(cfg(feature = "origin")))]
pub use origin::{OriginGuard, OriginGuardLayer};

#[cfg(feature = "canary")]
#[cfg_attr(docsrs, doc(cfg(feature = "canary")))]
pub mod canary;

#[cfg(feature = "access-log")]
#[cfg_attr(docsrs, doc(cfg(feature = "access-log")))]
pub mod access_log;

#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
pub use cors::CorsLayer;
pub use error::ConfigError;
#[cfg(feature = "router")]
#[cfg_attr(docsrs, doc(cfg(feature = "router")))]
pub use router::Router;

#[cfg(feature = "canary")]
#[cfg_attr(docsrs, doc(cfg(feature = "canary")))]
pub use canary::CanaryLayer;

#[cfg(feature = "access-log")]
#[cfg_attr(docsrs, doc(cfg(feature = "access-log")))]
pub use access_log::AccessLogLayer;
