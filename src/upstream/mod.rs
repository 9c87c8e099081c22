//! [`Upstream`]: a route target that forwards requests to an HTTP server.

mod headers;
mod target;
mod websocket;

pub use websocket::{
    ResponseFuture as WebSocketResponseFuture, WebSocketBody, WebSocketUpstream,
    WebSocketUpstreamBuilder, DEFAULT_CONNECT_TIMEOUT as DEFAULT_WEBSOCKET_CONNECT_TIMEOUT,
};

#[cfg(test)]
mod tests;
