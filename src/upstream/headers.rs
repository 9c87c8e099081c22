//! Header rules of a proxy: hop-by-hop headers out, `Forwarded` and `X-Forwarded-*` in.
//!
//! Shared with the WebSocket upstream (`upstream::websocket`): the signatures here are a
//! contract between the two; change the bodies, not the signatures.

use std::io::Write as _;
use std::net::IpAddr;

use bytes::Bytes;
use http::header::{
    HeaderName, HeaderValue, CONNECTION, FORWARDED, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE, VIA,
};
use http::HeaderMap;

/// `X-Forwarded-For`: the client addresses, the nearest last.
pub(crate) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`: the scheme the client used.
pub(crate) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`: the `Host` the client asked for.
pub(crate) const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// The hop-by-hop headers RFC 9110 §7.6.1 names, plus the old `Keep-Alive` and
/// `Proxy-Connection`. Any other `Proxy-*` header goes too (see [`remove_hop_by_hop`]).
const HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    KEEP_ALIVE,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    PROXY_CONNECTION,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
];

/// Readies a request's headers for the next hop: removes the hop-by-hop headers, adds this hop
/// to `Via`, and adds `Forwarded` / `X-Forwarded-*` from the request's client address, scheme and host. Returns
/// the host the client asked for, which the caller may keep as the upstream's `Host`: the
/// request target's authority when it has one (absolute form, or HTTP/2's `:authority`: RFC
/// 9112 §3.2.2 has a proxy ignore `Host` then), else the `Host` header.
pub(crate) fn prepare_for_next_hop(parts: &mut http::request::Parts) -> Option<http::HeaderValue> {
    let original_host = parts
        .uri
        .authority()
        .and_then(|a| {
            // Never the user info (`user@`), which is no part of a host.
            let host = a.as_str().rsplit_once('@').map_or(a.as_str(), |(_, h)| h);
            http::HeaderValue::from_str(host).ok()
        })
        .filter(|host| !host.is_empty())
        .or_else(|| parts.headers.get(http::header::HOST).cloned());
    let proto = if parts.uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        "https"
    } else {
        "http"
    };
    let client = crate::util::client::client_ip(&parts.extensions);
    remove_hop_by_hop(&mut parts.headers);
    add_forwarded(&mut parts.headers, client, proto, original_host.as_ref());
    add_via(&mut parts.headers, parts.version);
    original_host
}

/// Adds this hop to `Via` (RFC 9110 §7.6.3: a gateway MUST send it in each request it
/// forwards): `<protocol version the client spoke> tower-gateway`, appended (`, `) to what the
/// request carried. A static value when the request had no `Via`; allocates only to append.
pub(crate) fn add_via(headers: &mut HeaderMap, version: http::Version) {
    let hop: &'static str = match version {
        http::Version::HTTP_09 => "0.9 tower-gateway",
        http::Version::HTTP_10 => "1.0 tower-gateway",
        http::Version::HTTP_2 => "2 tower-gateway",
        http::Version::HTTP_3 => "3 tower-gateway",
        _ => "1.1 tower-gateway",
    };
    if !headers.contains_key(VIA) {
        headers.insert(VIA, HeaderValue::from_static(hop));
        return;
    }
    let mut via = Vec::with_capacity(64);
    join_existing(headers, &VIA, &mut via);
    via.extend_from_slice(hop.as_bytes());
    insert_bytes(headers, VIA, via);
}

/// Removes the headers that concern one connection only, before a message crosses the proxy
/// (both ways): every header `Connection` names, then `Connection`, `Keep-Alive`, `TE`,
/// `Trailer`, `Transfer-Encoding`, `Upgrade` and every `Proxy-*` header.
///
/// Allocates only when `Connection` names other headers or a `Proxy-*` header other than the
/// standard ones is present.
pub(crate) fn remove_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .flat_map(|value| value.as_bytes().split(|b| *b == b','))
            .filter_map(|token| HeaderName::from_bytes(token.trim_ascii()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if headers
        .keys()
        .any(|name| name.as_str().starts_with("proxy-"))
    {
        let proxy: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("proxy-"))
            .cloned()
            .collect();
        for name in proxy {
            headers.remove(name);
        }
    }
}

/// Adds what the proxy knows about the client, for the upstream:
///
/// - `Forwarded` (RFC 7239): one element `for=..;proto=..;host=..` appended to what the
///   request carried (all its `Forwarded` lines joined with `, `). `for` is left out when the
///   client address is unknown; an IPv6 address is bracketed and quoted; `host` is quoted
///   when it is not a plain token (a port's `:` is enough).
/// - `X-Forwarded-For`: the client address appended (`, ip`) to what the request carried;
///   untouched when the address is unknown.
/// - `X-Forwarded-Proto`: set to `proto`, replacing any value the client sent.
/// - `X-Forwarded-Host`: set to `original_host`, replacing any value the client sent (removed
///   when there is no host).
pub(crate) fn add_forwarded(
    headers: &mut HeaderMap,
    client: Option<IpAddr>,
    proto: &'static str,
    original_host: Option<&HeaderValue>,
) {
    // Forwarded.
    let mut forwarded = Vec::with_capacity(64);
    join_existing(headers, &FORWARDED, &mut forwarded);
    let mut sep: &[u8] = b"";
    if let Some(ip) = client {
        forwarded.extend_from_slice(b"for=");
        // Writing into a Vec cannot fail.
        let _ = match ip {
            IpAddr::V4(v4) => write!(forwarded, "{v4}"),
            IpAddr::V6(v6) => write!(forwarded, "\"[{v6}]\""),
        };
        sep = b";";
    }
    forwarded.extend_from_slice(sep);
    forwarded.extend_from_slice(b"proto=");
    forwarded.extend_from_slice(proto.as_bytes());
    if let Some(host) = original_host {
        forwarded.extend_from_slice(b";host=");
        push_token_or_quoted(&mut forwarded, host.as_bytes());
    }
    insert_bytes(headers, FORWARDED, forwarded);

    // X-Forwarded-For.
    if let Some(ip) = client {
        let mut xff = Vec::with_capacity(48);
        join_existing(headers, &X_FORWARDED_FOR, &mut xff);
        let _ = write!(xff, "{ip}");
        insert_bytes(headers, X_FORWARDED_FOR, xff);
    }

    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    match original_host {
        Some(host) => {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
        None => {
            headers.remove(X_FORWARDED_HOST);
        }
    }
}

/// Writes every value of `name`, each followed by `, `, into `out`.
fn join_existing(headers: &HeaderMap, name: &HeaderName, out: &mut Vec<u8>) {
    for value in headers.get_all(name) {
        let value = value.as_bytes().trim_ascii();
        if !value.is_empty() {
            out.extend_from_slice(value);
            out.extend_from_slice(b", ");
        }
    }
}

fn insert_bytes(headers: &mut HeaderMap, name: HeaderName, bytes: Vec<u8>) {
    // Every byte written comes from valid header values, an address or a static token, so
    // this does not fail; if it ever did, the header is left out rather than made up.
    match HeaderValue::from_maybe_shared(Bytes::from(bytes)) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `value` as an RFC 7239 value: a token as it is, anything else as a quoted string.
fn push_token_or_quoted(out: &mut Vec<u8>, value: &[u8]) {
    if !value.is_empty() && value.iter().all(|b| is_tchar(*b)) {
        out.extend_from_slice(value);
        return;
    }
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}
