//! Bytes read as little-endian words with whole loads (never byte by byte into a buffer,
//! whose load then waits for the byte stores to retire): for the hashes of the CORS origin
//! set and of the metrics label sets.

/// Eight bytes as a little-endian word (0 for any other length).
#[inline(always)]
pub(crate) fn word(chunk: &[u8]) -> u64 {
    <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes)
}

/// Up to eight bytes as a little-endian word, zeros past them: one read of eight, two
/// overlapping reads of four, or three single bytes (together they cover every byte).
#[inline(always)]
pub(crate) fn padded(b: &[u8]) -> u64 {
    let four = |c: Option<&[u8; 4]>| c.map_or(0, |c| u64::from(u32::from_le_bytes(*c)));
    let n = b.len();
    if let Some(eight) = b.first_chunk::<8>() {
        u64::from_le_bytes(*eight)
    } else if n >= 4 {
        four(b.first_chunk::<4>()) | four(b.last_chunk::<4>()) << ((n - 4) * 8)
    } else {
        let at = |i: usize| b.get(i).map_or(0, |&c| u64::from(c));
        at(0) | at(n / 2) << (n / 2 * 8) | at(n.wrapping_sub(1)) << (n.wrapping_sub(1) % 8 * 8)
    }
}

/// The bytes of `b` past its last whole word, as a padded word (0 when there are none): the
/// eight bytes ending at its end, shifted down, when it has eight or more.
#[inline(always)]
pub(crate) fn padded_tail(b: &[u8]) -> u64 {
    let rest = b.len() % 8;
    match b.last_chunk::<8>() {
        Some(last) if rest != 0 => u64::from_le_bytes(*last) >> ((8 - rest) * 8),
        _ => padded(b.get(b.len() - rest..).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each agrees with copying the bytes into a zeroed buffer, for every length up to
    /// three words.
    #[test]
    fn agree_with_a_zero_padded_copy() {
        let bytes: Vec<u8> = (0..24u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        let copy = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        for len in 0..=bytes.len() {
            let input = &bytes[..len];
            let rest = len % 8;
            assert_eq!(
                padded_tail(input),
                copy(&input[len - rest..]),
                "tail of {len}"
            );
            if len <= 8 {
                assert_eq!(padded(input), copy(input), "padded {len}");
            }
            assert_eq!(
                word(input),
                if len == 8 { copy(input) } else { 0 },
                "word {len}"
            );
        }
    }
}
