//! [`MetricsLayer`]: per-route and per-arm request counts, error counts and latency
//! histograms, from the same facts the access log reads, in the Prometheus text format.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//! use tower_gateway::metrics::Registry;
//! use tower_gateway::router::Router;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::builder().buckets([0.1, 1.0]).build()?;
//! let pets = service_fn(|_: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"a pet"))))
//! });
//! let app = ServiceBuilder::new()
//!     .layer(registry.layer())
//!     .service(Router::builder().route("GET /pets/{id}", pets).build()?);
//!
//! for path in ["/pets/1", "/pets/2", "/nowhere"] {
//!     let response = app.clone().oneshot(Request::get(path).body(Full::default())?).await?;
//!     response.into_body().collect().await?; // recorded at the last byte
//! }
//! let text = registry.render();
//! assert!(text.contains(
//!     "gateway_requests_total{route=\"/pets/{id}\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\"} 2"
//! ));
//! assert!(text.contains(
//!     "gateway_requests_total{route=\"\",method=\"GET\",status=\"404\",arm=\"\",refusal=\"no_route\"} 1"
//! ));
//! assert_eq!(registry.series_count(), 2);
//! assert_eq!(registry.in_flight(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Bounded labels.** `route` is the matched route's *template* (never the raw path; requests
//!   no route matched share one configurable label, default `""`), `method` is one of the nine
//!   standard methods or `OTHER`, then `status`, the canary `arm` (`""` without one) and
//!   `refusal`: `cors_preflight`, `origin` (also for a request a report-only origin guard let
//!   through), `no_route`, `method_not_allowed`, `upgrade_required` (the Router's `426` to a
//!   plain `GET` on a WebSocket-only route) or `""`. A client sending a million different
//!   paths creates no new series.
//! - **The same facts as the access log**: the labels are read from the response extensions
//!   ([`MatchedRoute`](crate::router::MatchedRoute), [`Arm`](crate::canary::Arm) and the
//!   rejections of the router, the origin guard and CORS) with the access log's precedence;
//!   the request is recorded when the response body ends, fails or is dropped, as the access
//!   log writes its record, and its two durations, both from the call, are the log's
//!   `integrationLatency` (to the headers) and `responseLatency` (to the last byte; for a body
//!   that ends with its headers, the headers).
//! - **Per series**: `gateway_requests_total`, `gateway_response_aborted_total` (bodies dropped
//!   before their end), and two histograms, `gateway_time_to_headers_seconds` and
//!   `gateway_time_to_last_byte_seconds`, with fixed buckets. Derived at exposition:
//!   `gateway_request_errors_total` per status class (`4xx`, `5xx`). Global:
//!   `gateway_requests_in_flight` (a gauge) and `gateway_requests_unanswered_total` (inner
//!   service failed, or the response future was dropped).
//! - **Lock-free recording, pre-sized tables.** Series live in tables allocated once
//!   ([`RegistryBuilder::max_series`], default [`DEFAULT_MAX_SERIES`]): an index of four-byte
//!   entries (at least twice as many as series, open addressing; 128 KiB for 10,000 series,
//!   so it stays in the core's cache), and the series' slots, dense, in the order the series
//!   were created. A slot is one aligned 64-byte cache line: the label values as up to five
//!   words, and three hot counters (10,000 slots take 640 KB: they stay in a core's 1 MiB L2
//!   cache where slots of two lines would not). Finding an existing series fills and hashes
//!   a fixed five words with a few branches (a route and an arm of up to 36 bytes together,
//!   the arm of up to 8, and a standard method: 79% of GitHub's route templates alone, 56%
//!   with a six-byte arm), loads the index entry (13 bits of the hash and the slot's place),
//!   and on a match compares the words without a branch per word. Longer label sets (up to
//!   96 bytes of route and arm: every GitHub route template and 99% of GitLab's, with a
//!   six-byte arm) take thirteen words, filled and compared the same way, whose last eight
//!   sit in the slot's tail, a line in a table of its own read alongside the slot; longer
//!   still, a variable form whose words past the thirteenth are compared in the series. Recording is three relaxed atomic adds on the slot's line: the two `_sum`s
//!   (integer nanoseconds) and, when both durations fall in the first bucket (5 ms by
//!   default), the count of such requests; a slower request adds to one bucket of each
//!   histogram instead (found by a table of octaves, not a loop over the bounds), in the
//!   series. So a fast request whose labels fit the slot reads one index entry and reads
//!   and writes one cache line; the tails, the other buckets, the longest keys, the label
//!   strings and the facade handles are behind it. The request counter, the histograms'
//!   `_count`s and the error counters are derived at exposition, so they cost nothing per
//!   request. No lock and no allocation, ever, for an existing series; a new one is built
//!   once, then an index entry claimed with a compare-and-set, a slot taken, and the entry
//!   published (others meeting that entry in the meantime wait those few stores). Past
//!   `max_series` label sets, requests of new label sets are counted in
//!   `gateway_metrics_series_overflow_total` instead of growing the tables.
//! - **The layer finds a series by its route, not its text.** A route template is fixed when
//!   the Router's table is built, and every request of a route shares its
//!   [`MatchedRoute`](crate::router::MatchedRoute). So the layer (and
//!   [`Registry::record_response`]) never hashes or compares the template: the template text
//!   has a process-wide number (equal texts, equal numbers: two routes with one template are
//!   one `route` label, as by text), arm names of up to eight bytes a number in the registry,
//!   and the method, status, arm and refusal make with it a key of one word. The route itself
//!   keeps a hint, the series of its last request with the key it was found by (its line is
//!   in the cache: the Router has just cloned the route), so a route whose requests keep the
//!   same labels finds its series there; otherwise the registry's cache of such keys (one
//!   word an entry, eight to a line, twice `max_series` entries) answers with one line read;
//!   a key met for the first time is looked up by its text, as [`Registry::record`] does,
//!   and cached. Both paths find the same series (a series is its label text, whichever path
//!   met it first), so the exposition does not depend on the path. Labels without such a key
//!   (an arm name past eight bytes or past the fifteenth) take the text path on every request.
//! - **No false sharing.** No two series share a cache line; the other counters of a series
//!   sit on lines of their own; the in-flight gauge is kept in per-thread shards on lines of
//!   their own, away from the read-only table fields (and from the `Arc`'s reference counts).
//! - **Exposition**: [`MetricsService`] answers `GET` with the text format 0.0.4; mount it where
//!   you like. Each series' label text is escaped once, when the series is created.
//!   [`Registry::canary_report`] gives per arm the requests, the 5xx rate and p50/p99
//!   estimated from the histogram, so a control loop can promote or roll back.
//!
//! # Extensions
//!
//! Read from the response: [`MatchedRoute`](crate::router::MatchedRoute) (the `route`
//! label), [`Arm`](crate::canary::Arm) (`arm`), and the refusals of the origin guard, CORS and
//! the router (`refusal`). The route and the arm fall back to the request's (when the layer
//! sits inside a Router's target or a split's arm, whose answers do not carry them yet), as
//! the access log's do. Nothing is written.
//!
//! # Clock
//!
//! Durations are read from a [`Clock`](crate::clock::Clock), the system clock by default;
//! [`MetricsLayer::clock`] takes a [`ManualClock`](crate::clock::ManualClock) so tests put
//! requests in exact buckets:
//!
//! ```
//! # use std::{convert::Infallible, time::Duration};
//! # use bytes::Bytes;
//! # use http::{Request, Response};
//! # use http_body_util::{BodyExt, Full};
//! # use tower::{service_fn, Layer, ServiceExt};
//! use tower_gateway::clock::ManualClock;
//! use tower_gateway::metrics::Registry;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = ManualClock::at_unix(0);
//! let registry = Registry::builder().buckets([0.1, 1.0]).build()?;
//! let app = registry.layer().clock(clock.clone()).layer(service_fn(|_: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hi"))))
//! }));
//! let response = app.oneshot(Request::get("/").body(Full::default())?).await?;
//! clock.advance(Duration::from_millis(250)); // the client reads the body a quarter second later
//! response.into_body().collect().await?;
//! assert!(registry.render().contains(
//!     "gateway_time_to_last_byte_seconds_bucket{route=\"\",method=\"GET\",status=\"200\",arm=\"\",refusal=\"\",le=\"1.0\"} 1"
//! ));
//! # Ok(())
//! # }
//! ```
//!
//! # The `metrics` facade
//!
//! With the `metrics-facade` feature and [`RegistryBuilder::facade`]`(true)`, the same facts
//! also go to the [`metrics`](https://docs.rs/metrics) crate, for applications that already
//! run an exporter: counters `gateway_requests_total`, `gateway_response_aborted_total`,
//! `gateway_request_errors_total` (incremented per request, not derived),
//! `gateway_requests_unanswered_total`, `gateway_metrics_series_overflow_total`, histograms
//! `gateway_time_to_headers_seconds` and `gateway_time_to_last_byte_seconds` (in seconds) and
//! the gauge `gateway_requests_in_flight`, with the same labels as the exposition. The handles
//! are registered with the recorder in place when the registry is built (global metrics) and
//! when each series is created; a request only increments handles the series keeps. Our own
//! exposition keeps working alongside.
//!
//! # Configuration
//!
//! [`MetricsConfig`] is the `metrics` section of a gateway configuration (serde:
//! `enabled`, `buckets`, `unmatched_label`, `max_series`, `facade`); its
//! [`build`](MetricsConfig::build) reports every problem with a location inside the section
//! (`buckets[2]`), and [`RegistryBuilder::build`] the same for the buckets.

mod builder;
mod config;
#[cfg(feature = "metrics-facade")]
mod facade;
mod labels;
mod layer;
mod registry;
mod render;
mod routed;
mod series;
mod service;

#[cfg(test)]
mod tests;

pub use builder::RegistryBuilder;
pub use config::MetricsConfig;
pub use labels::{method_label, Labels, Refusal};
pub use layer::{Metrics, MetricsLayer, ResponseBody, ResponseFuture};
pub use registry::{Registry, DEFAULT_BUCKETS, DEFAULT_MAX_SERIES, MAX_SERIES_LIMIT};
pub use render::ArmReport;
pub use service::{MetricsService, CONTENT_TYPE};
