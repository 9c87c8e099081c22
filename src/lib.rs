//! API-gateway building blocks as [tower](https://docs.rs/tower) layers: one route table with most-specific
//! matching and honest `404`/`405`, CORS by the Fetch standard, server-side origin
//! enforcement, canary releases and access logs. No runtime and no server of its own.
//!
//! ```
//! use bytes::Bytes;
//! use http::{header, Method, Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use std::convert::Infallible;
//! use tower::{service_fn, Layer, ServiceBuilder, ServiceExt};
//! use tower_gateway::access_log::{AccessLogLayer, LogFormat, MemorySink};
//! use tower_gateway::router::{Decision, Router};
//! use tower_gateway::{CorsLayer, OriginGuardLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reply = |text: &'static str| service_fn(move |_: Request<Full<Bytes>>| async move {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(text.as_bytes()))))
//! });
//! // One table: public paths to backends; the existing app gets everything else.
//! let table = Router::builder()
//!     .route("GET /pets/{id}", reply("a pet"))
//!     .route("POST /pets", reply("created"))
//!     .build()?;
//! // The decision alone, with no service involved: unit-test a table in-process.
//! assert_eq!(table.at(&Method::GET, "/pets/7").route_key(), Some("GET /pets/{id}"));
//! assert!(matches!(table.at(&Method::PUT, "/pets/7"), Decision::MethodNotAllowed(_)));
//!
//! let cors = CorsLayer::builder().allow_origin("https://app.example.com").build()?;
//! let guard = OriginGuardLayer::builder().trust_cors(&cors).build()?;
//! let log = MemorySink::new();
//! let gateway = ServiceBuilder::new()
//!     .layer(AccessLogLayer::new(log.clone()).format(LogFormat::template("$context.routeKey $context.status")?))
//!     .layer(cors)
//!     .layer(guard)
//!     .layer(table)
//!     .service(reply("the existing app"));
//!
//! let post = |origin: &str| Request::post("/pets").header("host", "api.example.com")
//!     .header("origin", origin).body(Full::<Bytes>::default()).unwrap();
//! // A cross-origin write from the page the CORS policy allows: routed, answered, decorated.
//! let ok = gateway.clone().oneshot(post("https://app.example.com")).await?;
//! assert_eq!(ok.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
//! ok.into_body().collect().await?;
//! // The same write from any other origin: refused before any route runs.
//! let refused = gateway.clone().oneshot(post("https://evil.example")).await?;
//! assert_eq!(refused.status(), StatusCode::FORBIDDEN);
//! refused.into_body().collect().await?;
//! // Unrouted paths reach the app.
//! let app = gateway.oneshot(Request::get("/about").body(Full::default())?).await?;
//! assert_eq!(app.into_body().collect().await?.to_bytes(), "the existing app");
//!
//! assert_eq!(log.lines(), ["POST /pets 200", "- 403", "- 200"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | feature | module | effect | default |
//! | --- | --- | --- | --- |
//! | `router` | [`router`] | the route table: templates, most-specific match, `404`/`405` | yes |
//! | `cors` | [`cors`] | CORS preflight and response headers per the Fetch standard | yes |
//! | `origin` | [`origin`] | refuses cross-origin writes and WebSocket hijacking | yes |
//! | `canary` | [`canary`] | weighted canary splits, per call or sticky, changed at run time | yes |
//! | `access-log` | [`access_log`] | one record per request, at the last body byte | yes |
//! | `metrics` | [`metrics`] | per-route and per-arm counts and latency histograms, Prometheus text | yes |
//! | `metrics-facade` | [`metrics`] | the same facts to the `metrics` crate facade | no |
//! | `tracing` | [`access_log`] | an access-log sink emitting `tracing` events | no |
//! | `gateway` | [`gateway`] | the whole stack from one serde configuration, reloadable | yes |
//! | `upstream` | [`upstream`] | route targets forwarding to HTTP servers (hyper-util client, Tokio) | yes |
//! | `axum` | [`access_log`], [`upstream`] | the client address also from axum 0.8's `ConnectInfo<SocketAddr>` | yes |
//! | `full` | | everything | no |
//!
//! `upstream` is a default feature because a gateway that cannot forward is half a gateway; it
//! and `axum` (axum without its default features, for the one type that carries a client's
//! address under `axum::serve`) are the ones that bring Tokio, hyper and hyper-util into the
//! library. Turn the default
//! features off (`default-features = false`) and pick layers to keep the core to `http`,
//! `http-body`, `http-body-util`, `bytes`, `pin-project-lite` and tower's traits (`cors`,
//! `canary`, `metrics` and `gateway` add `arc-swap` and/or `serde`).
//!
//! # Layer order
//!
//! [`Gateway`] builds this order from a [`GatewayConfig`]; by hand, outermost first:
//! [`MetricsLayer`] and [`AccessLogLayer`] (they see every answer and the whole time),
//! [`CorsLayer`] (answers preflights first and decorates every response),
//! [`OriginGuardLayer`] (refuses cross-origin writes before any route runs), [`Router`] (the
//! table; the matched route becomes visible to every layer), and [`CanaryLayer`] around a
//! route's target or the whole app.
//!
//! Every layer keeps the inner service's error type: a refusal is an HTTP response whose body
//! is [`body::Body`]. Configuration is validated once; [`ConfigError`] lists every problem.
//!
//! Because the layers that answer on their own wrap the response body (as tower-http's
//! `TraceLayer` and `CompressionLayer` do), `ServiceBuilder::option_layer` cannot switch them
//! on and off (`tower::util::Either` needs one response type on both sides): choose between two
//! stacks whose response bodies are boxed to one type (`http_body_util::BodyExt::boxed`).

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

#[macro_use]
mod macros;

pub mod body;
pub mod clock;
pub mod error;
pub mod tunnel;
mod util;
mod websocket;

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

#[cfg(feature = "canary")]
#[cfg_attr(docsrs, doc(cfg(feature = "canary")))]
pub mod canary;

#[cfg(feature = "access-log")]
#[cfg_attr(docsrs, doc(cfg(feature = "access-log")))]
pub mod access_log;

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;

#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub mod gateway;

#[cfg(feature = "upstream")]
#[cfg_attr(docsrs, doc(cfg(feature = "upstream")))]
pub mod upstream;

pub use error::ConfigError;

#[cfg(feature = "router")]
#[cfg_attr(docsrs, doc(cfg(feature = "router")))]
pub use router::Router;

#[cfg(feature = "cors")]
#[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
pub use cors::CorsLayer;

#[cfg(feature = "origin")]
#[cfg_attr(docsrs, doc(cfg(feature = "origin")))]
pub use origin::{OriginGuard, OriginGuardLayer};

#[cfg(feature = "canary")]
#[cfg_attr(docsrs, doc(cfg(feature = "canary")))]
pub use canary::{CanaryLayer, CanarySplit};

#[cfg(feature = "access-log")]
#[cfg_attr(docsrs, doc(cfg(feature = "access-log")))]
pub use access_log::{AccessLog, AccessLogLayer};

#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use metrics::MetricsLayer;

#[cfg(feature = "gateway")]
#[cfg_attr(docsrs, doc(cfg(feature = "gateway")))]
pub use gateway::{Gateway, GatewayConfig};

#[cfg(feature = "upstream")]
#[cfg_attr(docsrs, doc(cfg(feature = "upstream")))]
pub use upstream::Upstream;
