//! OriginGuard (being built): the server refuses cross-origin writes and WebSocket hijacking.

mod rejection;

pub use rejection::{Rejection, RejectionKind};
