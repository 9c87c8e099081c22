//! CorsLayer (being built): CORS exactly as the Fetch standard says.

mod rejection;

pub use rejection::{Rejection, RejectionKind};
