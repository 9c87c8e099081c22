//! Recognising a WebSocket handshake, shared by the layers that treat one specially.

// Only the layers that treat a handshake specially call these.
#![cfg_attr(
    not(any(
        feature = "cors",
        feature = "origin",
        feature = "router",
        feature = "upstream"
    )),
    allow(dead_code)
)]

use http::header::UPGRADE;
use http::{HeaderMap, Method};

/// Whether `headers` carry an `Upgrade` header with the `websocket` token (ASCII
/// case-insensitive, anywhere in a comma-separated list, in any of several `Upgrade` lines).
pub(crate) fn upgrade_is_websocket(headers: &HeaderMap) -> bool {
    // Most requests have no `Upgrade` header, and several layers ask.
    let Some(values) = crate::util::header::get_all(headers, &UPGRADE) else {
        return false;
    };
    values.iter().any(|value| {
        value
            .as_bytes()
            .split(|b| *b == b',')
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"websocket"))
    })
}

/// Whether a request is a WebSocket opening handshake over HTTP/1.1 (RFC 6455 §4.1): `GET`
/// with `Upgrade: websocket`. `Connection: Upgrade` is not required here: a request that asks
/// for the upgrade is treated as one, so that no layer lets a half-formed handshake slip past
/// the checks a handshake gets.
pub(crate) fn is_handshake(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET && upgrade_is_websocket(headers)
}

/// [`is_handshake`] on a connection that can be upgraded, for what serves or proxies one:
/// an `Upgrade` outside HTTP/1.1 is no handshake, since HTTP/1.0 servers must ignore it (RFC
/// 9110 §7.8, RFC 6455 §4.1) and HTTP/2 has none (RFC 9113 §8.2.2). The layers that only
/// check a handshake (CORS, the origin guard) keep to [`is_handshake`], the stricter reading.
#[cfg(any(feature = "router", feature = "upstream"))]
pub(crate) fn is_upgradable_handshake(
    version: http::Version,
    method: &Method,
    headers: &HeaderMap,
) -> bool {
    version == http::Version::HTTP_11 && is_handshake(method, headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(UPGRADE, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn detects_the_token_in_lists_and_any_case() {
        assert!(is_handshake(&Method::GET, &headers(&["websocket"])));
        assert!(is_handshake(&Method::GET, &headers(&["WebSocket"])));
        assert!(is_handshake(&Method::GET, &headers(&["h2c, websocket"])));
        assert!(is_handshake(
            &Method::GET,
            &headers(&["h2c", " WEBSOCKET "])
        ));
        assert!(!is_handshake(&Method::GET, &headers(&["h2c"])));
        assert!(!is_handshake(&Method::GET, &headers(&["websockets"])));
        assert!(!is_handshake(&Method::GET, &headers(&[])));
        assert!(!is_handshake(&Method::POST, &headers(&["websocket"])));
        assert!(!is_handshake(&Method::HEAD, &headers(&["websocket"])));
        assert!(upgrade_is_websocket(&headers(&["websocket"])));
    }

    #[cfg(any(feature = "router", feature = "upstream"))]
    #[test]
    fn an_upgrade_outside_http_1_1_is_no_handshake_to_serve() {
        use http::Version;
        let ws = headers(&["websocket"]);
        assert!(is_upgradable_handshake(Version::HTTP_11, &Method::GET, &ws));
        for version in [Version::HTTP_10, Version::HTTP_2] {
            assert!(!is_upgradable_handshake(version, &Method::GET, &ws));
        }
    }
}
