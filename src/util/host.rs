//! Hosts as the URL standard serializes them, shared by the CORS and origin-guard configuration.

/// An IPv6 address as the URL standard serializes it: lower-case hexadecimal pieces without
/// leading zeros, the first longest run of two or more zero pieces written `::`, never a
/// dotted IPv4 tail.
pub(crate) fn serialize_ipv6(address: std::net::Ipv6Addr) -> String {
    use std::fmt::Write;
    let pieces = address.segments();
    // The first longest run of zero pieces, if at least two long.
    let (mut best, mut best_len, mut i) = (None, 1, 0);
    while i < pieces.len() {
        if pieces[i] == 0 {
            let start = i;
            while i < pieces.len() && pieces[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = Some(start);
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < pieces.len() {
        if best == Some(i) {
            out.push_str(if i == 0 { "::" } else { ":" });
            i += best_len;
            continue;
        }
        let _ = write!(out, "{:x}", pieces[i]);
        if i + 1 < pieces.len() {
            out.push(':');
        }
        i += 1;
    }
    out
}

/// The URL standard's "ends in a number": the last label (after one trailing dot) is all
/// decimal digits, or `0x` followed by hexadecimal digits.
pub(crate) fn ends_in_a_number(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last
            .strip_prefix("0x")
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `a.b.c.d`, each a decimal number 0-255 without leading zeros.
pub(crate) fn is_dotted_quad(name: &str) -> bool {
    name.split('.').count() == 4
        && name.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 3
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'))
                && part.parse::<u8>().is_ok()
        })
}

/// The URL standard's serialization of a configured IP host, when it differs from `host`
/// (lower-cased): `Ok(Some(..))` for an IPv6 literal written another way (`[0::1]` is
/// `[::1]`), `Ok(None)` when `host` is already serialized or is a domain name, `Err(())` for
/// an invalid IPv6 literal or an IPv4 address not written as a dotted quad (`127.1`,
/// `0x7f.0.0.1`), which is refused rather than reinterpreted.
pub(crate) fn canonical_ip_host(host: &str) -> Result<Option<String>, ()> {
    let host = host.to_ascii_lowercase();
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let address: std::net::Ipv6Addr = inner.parse().map_err(|_| ())?;
        let canonical = serialize_ipv6(address);
        return Ok((canonical != inner).then(|| format!("[{canonical}]")));
    }
    let name = host.strip_suffix('.').unwrap_or(&host);
    if ends_in_a_number(name) && (name != host || !is_dotted_quad(name)) {
        return Err(());
    }
    Ok(None)
}
