//! The Router (being built): one route table, most-specific match, honest 404/405.

mod matched;

pub use matched::MatchedRoute;
