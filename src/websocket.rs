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
}
