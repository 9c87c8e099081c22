//! [`Gateway`]: the whole stack from one configuration — routes and their targets (services
//! registered in code, HTTP upstreams, canary splits), the CORS and origin policies, the access
//! log and metrics — validated at once and reloadable at run time.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{header, Request, Response, StatusCode};
//! use tower::{service_fn, ServiceExt};
//! use tower_gateway::canary::Arm;
//! use tower_gateway::gateway::{Gateway, GatewayConfig, Services};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let reply = |text: &'static str| service_fn(move |_: Request<String>| async move {
//!     Ok::<_, Infallible>(Response::new(text.to_owned()))
//! });
//! let services = Services::new()
//!     .service("pets-v1", reply("v1"))
//!     .service("pets-v2", reply("v2"));
//! // Any serde format works; this is TOML, as the demo gateway reads it.
//! let config: GatewayConfig = toml::from_str(r#"
//!     [[routes]]
//!     name = "pet"
//!     path = "/pets/{id}"
//!     methods = ["GET"]
//!     service = "pets-v1"
//!     canary = { service = "pets-v2", weight = 10 }
//!
//!     [cors]
//!     allow_origins = ["https://app.example.com"]
//! "#)?;
//! let gateway = Gateway::from_config(config, services)?;
//!
//! let response = gateway.clone().oneshot(Request::get("/pets/7").body(String::new())?).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! assert!(response.extensions().get::<Arm>().is_some());
//!
//! // A cross-origin write from an origin CORS does not allow: refused by the origin guard.
//! let attack = Request::post("/pets/7")
//!     .header(header::ORIGIN, "https://evil.example")
//!     .body(String::new())?;
//! assert_eq!(gateway.clone().oneshot(attack).await?.status(), StatusCode::FORBIDDEN);
//!
//! // Every problem at once, each with its place in the configuration.
//! let bad: GatewayConfig = toml::from_str(r#"
//!     [[routes]]
//!     path = "/pets/{id"
//!     service = "pets-v1"
//!     [[routes]]
//!     path = "/owners"
//!     service = "owners"
//! "#)?;
//! let error = Gateway::from_config(bad, Services::<String>::new()).unwrap_err();
//! let places: Vec<_> = error.problems().iter().filter_map(|p| p.location()).collect();
//! assert_eq!(places, ["routes[0].service", "routes[1].service", "routes[0].path"]);
//!
//! // Reload at run time: validated first, then swapped atomically.
//! let handle = gateway.handle();
//! assert!(handle.reload(GatewayConfig::new()).is_ok());
//! let response = gateway.oneshot(Request::get("/pets/7").body(String::new())?).await?;
//! assert_eq!(response.status(), StatusCode::NOT_FOUND);
//! # Ok(())
//! # }
//! ```
//!
//! # The stack
//!
//! Outermost first, as `DESIGN.md` section 1 orders it: metrics (with a `metrics` section),
//! the access log (with an `access_log` section), CORS (always: an absent section is the empty
//! policy, which refuses every cross-origin preflight), the origin guard (on by default,
//! trusting what CORS allows), a stage-level canary (with a top-level `canary` section), the
//! Router, and per route its target or a canary split around it. Requests no route matches get
//! the Router's `404`/`405`, or go to the `fallback` service.
//!
//! The access log and the upstreams read the client address from a `SocketAddr` request
//! extension, axum's `ConnectInfo<SocketAddr>` (what
//! `into_make_service_with_connect_info::<SocketAddr>()` records; feature `axum`, on by
//! default) or an `IpAddr` extension.
//!
//! # Targets
//!
//! A route's target is `service = "name"` (registered in [`Services`]; the name `metrics` is
//! the gateway's own Prometheus exposition unless a service takes that name) or
//! `upstream = "http://host:port/base"` (feature `upstream`). Services of any body and error
//! types can be registered: bodies are boxed into one [`GatewayBody`] and an error becomes a
//! `500` carrying a [`TargetError`], as does a `1xx` answer other than `101` (never a final
//! response; hyper would send `500` in its place).
//!
//! # Reloading
//!
//! [`GatewayHandle::reload`] validates a new configuration against the same services and swaps
//! the whole stack atomically; an invalid one changes nothing. The handle also reaches the
//! canary weights of each split, the CORS policy and the metrics registry at run time.

mod build;
mod builder;
mod config;
mod layers;
mod service;
mod services;
mod targets;

#[cfg(test)]
mod tests;

pub use builder::GatewayBuilder;
pub use config::{
    AccessLogConfig, CanaryConfig, GatewayConfig, OriginConfig, RouteConfig, RouterConfig,
    WeightConfig,
};
pub use service::{Gateway, GatewayHandle};
pub use services::{BoxError, GatewayBody, Services, TargetError};
