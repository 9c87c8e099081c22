//! The Router (being built): one route table, most-specific match, honest 404/405.

mod matched;
mod rejection;

pub use matched::MatchedRoute;
pub use rejection::{Rejection, RejectionKind};
