//! API-gateway building blocks as tower layers.
//!
//! (Crate docs with a runnable example land with the Router.)

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

pub use error::ConfigError;

#[cfg(feature = "access-log")]
#[cfg_attr(docsrs, doc(cfg(feature = "access-log")))]
pub use access_log::AccessLogLayer;
