//! Header lookups for the hot path: a name that a request usually does not carry is found
//! absent by comparing names, which costs a few instructions per header, where `HeaderMap`'s
//! own lookup first hashes the name (some 40 instructions for a standard name, about a
//! hundred for a custom one such as `x-request-id`) and then probes.

use http::header::{GetAll, HeaderMap, HeaderName, HeaderValue};

/// Up to this many distinct names the map is scanned before it is hashed into. A scan
/// compares the kind of name (standard or custom) and then one integer or the length, so it
/// stays well under one hash even at this size.
pub(crate) const SCAN: usize = 16;

/// Whether the map has no header `name`, decided without hashing when the map is small.
/// `false` means "maybe present": look it up.
#[inline]
fn surely_absent<T>(headers: &HeaderMap<T>, name: &HeaderName) -> bool {
    headers.keys_len() <= SCAN && !headers.keys().any(|key| key == name)
}

/// The first value of the header `name`, as [`HeaderMap::get`] gives it.
#[inline]
pub(crate) fn get<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    if surely_absent(headers, name) {
        None
    } else {
        headers.get(name)
    }
}

/// Every value of the header `name`, as [`HeaderMap::get_all`] gives them (none when absent).
#[inline]
pub(crate) fn get_all<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Option<GetAll<'a, HeaderValue>> {
    if surely_absent(headers, name) {
        None
    } else {
        Some(headers.get_all(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HOST, ORIGIN, REFERER, UPGRADE};

    fn map(n: usize) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HOST, HeaderValue::from_static("a"));
        map.append(HOST, HeaderValue::from_static("b"));
        for i in 0..n {
            let name = HeaderName::from_bytes(format!("x-h{i}").as_bytes()).unwrap();
            map.insert(name, HeaderValue::from_static("v"));
        }
        map
    }

    #[test]
    fn agrees_with_the_map_below_and_above_the_scan_limit() {
        for n in [0, 1, SCAN - 2, SCAN, SCAN + 5] {
            let map = map(n);
            for name in [
                HOST,
                ORIGIN,
                REFERER,
                UPGRADE,
                HeaderName::from_static("x-h0"),
                HeaderName::from_static("x-h1x"),
            ] {
                assert_eq!(get(&map, &name), map.get(&name), "{n} {name}");
                let ours: Vec<_> = get_all(&map, &name).into_iter().flatten().collect();
                let theirs: Vec<_> = map.get_all(&name).iter().collect();
                assert_eq!(ours, theirs, "{n} {name}");
            }
        }
    }
}
