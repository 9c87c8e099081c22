//! [`Upstream`]: a route target that forwards requests to an HTTP server.

mod headers;
mod target;

#[cfg(test)]
mod tests;
