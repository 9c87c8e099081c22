//! The client's address, as the access log and the upstreams read it from the request
//! extensions.

use std::net::{IpAddr, SocketAddr};

/// The client's IP address: a [`SocketAddr`] request extension (hyper-util and hand-written
/// servers insert the peer address), else axum 0.8's `ConnectInfo<SocketAddr>` (what
/// `into_make_service_with_connect_info::<SocketAddr>()` records; feature `axum`), else an
/// [`IpAddr`] extension.
#[inline]
pub(crate) fn client_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<SocketAddr>()
        .map(SocketAddr::ip)
        .or_else(|| connect_info(extensions))
        .or_else(|| extensions.get::<IpAddr>().copied())
}

#[cfg(feature = "axum")]
fn connect_info(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

#[cfg(not(feature = "axum"))]
fn connect_info(_: &http::Extensions) -> Option<IpAddr> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_extension_in_order() {
        let mut extensions = http::Extensions::new();
        assert_eq!(client_ip(&extensions), None);
        extensions.insert("10.0.0.9".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(&extensions), "10.0.0.9".parse().ok());
        #[cfg(feature = "axum")]
        {
            let peer: SocketAddr = "192.0.2.1:4000".parse().unwrap();
            extensions.insert(axum::extract::ConnectInfo(peer));
            assert_eq!(client_ip(&extensions), "192.0.2.1".parse().ok());
        }
        extensions.insert("[2001:db8::1]:443".parse::<SocketAddr>().unwrap());
        assert_eq!(client_ip(&extensions), "2001:db8::1".parse().ok());
    }
}
