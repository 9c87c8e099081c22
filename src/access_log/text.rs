//! Allocation-free writing helpers: numbers, dates, and the two escapings (nginx `\xHH` for
//! text formats, RFC 8259 for JSON).

use std::cell::Cell;
use std::time::Duration;

const HEX: &[u8; 16] = b"0123456789ABCDEF";
/// Lower-case digits for JSON's `\u00XX`, as serde_json writes them (RFC 8259 allows either),
/// so a line compares equal, byte for byte, to what serde_json makes of the same value.
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends `n` in decimal.
pub(super) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    // Statuses, address octets and small counts: no loop.
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        two(out, n as u32);
        return;
    }
    if n < 1000 {
        out.push(b'0' + (n / 100) as u8);
        two(out, (n % 100) as u32);
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `n` with at least `width` digits, zero-padded.
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut len = 1;
    let mut rest = n / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    for _ in len..width {
        out.push(b'0');
    }
    push_u64(out, n);
}

/// Appends `n % 100` as two digits.
fn two(out: &mut Vec<u8>, n: u32) {
    let n = n % 100;
    out.push(b'0' + (n / 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// A civil date and time in UTC.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Splits seconds since the Unix epoch into a UTC civil date (Howard Hinnant's
/// `civil_from_days`: days since 1970-01-01 to year, month, day in the proleptic Gregorian
/// calendar).
fn civil(seconds: u64) -> Civil {
    let days = i64::try_from(seconds / 86_400).unwrap_or(i64::MAX / 2);
    let secs = (seconds % 86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: secs / 3_600,
        minute: secs / 60 % 60,
        second: secs % 60,
    }
}

fn push_year(out: &mut Vec<u8>, year: i64) {
    match u32::try_from(year) {
        Ok(year @ 0..=9999) => {
            two(out, year / 100);
            two(out, year);
        }
        _ => push_padded(out, u64::try_from(year).unwrap_or(0), 4),
    }
}

/// Appends the Common Log Format time, `10/Mar/2024:13:55:36 +0000` (always UTC).
///
/// Records of the same second print the same date: each thread keeps the last second it
/// rendered and copies it, instead of splitting the date again.
pub(super) fn push_clf_time(out: &mut Vec<u8>, since_epoch: Duration) {
    thread_local! {
        static LAST: Cell<Option<(u64, ClfText)>> = const { Cell::new(None) };
    }
    let secs = since_epoch.as_secs();
    let cached = LAST.try_with(Cell::get).ok().flatten();
    if let Some((at, text)) = cached {
        if at == secs {
            out.extend_from_slice(text.as_bytes());
            return;
        }
    }
    let start = out.len();
    render_clf_time(out, secs);
    if let Some(text) = out.get(start..).and_then(ClfText::new) {
        let _ = LAST.try_with(|last| last.set(Some((secs, text))));
    }
}

/// A rendered CLF time kept for reuse (26 bytes for years 0 to 9999; longer ones are not kept).
#[derive(Clone, Copy)]
struct ClfText([u8; 26]);

impl ClfText {
    fn new(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

fn render_clf_time(out: &mut Vec<u8>, secs: u64) {
    let c = civil(secs);
    two(out, c.day);
    out.push(b'/');
    out.extend_from_slice(
        MONTHS
            .get(c.month as usize - 1)
            .copied()
            .unwrap_or("Jan")
            .as_bytes(),
    );
    out.push(b'/');
    push_year(out, c.year);
    out.push(b':');
    two(out, c.hour);
    out.push(b':');
    two(out, c.minute);
    out.push(b':');
    two(out, c.second);
    out.extend_from_slice(b" +0000");
}

/// Appends ISO 8601 / RFC 3339 UTC time with milliseconds, `2024-03-10T13:55:36.000Z`.
pub(super) fn push_iso_time(out: &mut Vec<u8>, since_epoch: Duration) {
    let c = civil(since_epoch.as_secs());
    push_year(out, c.year);
    out.push(b'-');
    two(out, c.month);
    out.push(b'-');
    two(out, c.day);
    out.push(b'T');
    two(out, c.hour);
    out.push(b':');
    two(out, c.minute);
    out.push(b':');
    two(out, c.second);
    out.push(b'.');
    push_padded(out, since_epoch.subsec_millis().into(), 3);
    out.push(b'Z');
}

/// Whether a byte is written as `\xHH` in text formats: control bytes, DEL, `"`, `\` and every
/// non-ASCII byte (nginx's escaping of variables in `log_format`).
fn needs_text_escape(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\'
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of 8 bytes needs escaping, tested at once (SWAR): a byte below 0x20, at or
/// above 0x7f, `"` or `\`.
fn word_needs_escape(x: u64) -> bool {
    // Below 0x20: subtracting 0x20 borrows into the high bit. 0x80 and above: the high bit
    // is set. DEL, quote and backslash: a zero byte after XOR. Each test is exact for "any byte of
    // the word"; they are OR-ed without branches.
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let zero = |y: u64| y.wrapping_sub(ONES) & !y;
    (below_space
        | x
        | zero(x ^ (ONES * 0x7f))
        | zero(x ^ (ONES * u64::from(b'"')))
        | zero(x ^ (ONES * u64::from(b'\\'))))
        & HIGHS
        != 0
}

/// The index of the first byte that needs escaping, or the length.
pub(super) fn first_escape(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        if word_needs_escape(u64::from_le_bytes(eight)) {
            break;
        }
        at += 8;
    }
    at + bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .position(|&b| needs_text_escape(b))
        .unwrap_or(bytes.len() - at)
}

/// Appends `bytes` with nginx-style escaping: the result is printable ASCII without `"`.
pub(super) fn push_text_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let safe = first_escape(rest);
        let (run, tail) = rest.split_at(safe);
        out.extend_from_slice(run);
        if let Some((&b, tail)) = tail.split_first() {
            out.extend_from_slice(b"\\x");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
            rest = tail;
        } else {
            rest = tail;
        }
    }
}

/// Appends `bytes` as the inside of a JSON string (RFC 8259): `"` and `\` escaped, control
/// characters as `\n`, `\t`, ... or `\u00xx` (lower-case hex, as serde_json), and byte sequences that are not UTF-8 replaced
/// by U+FFFD so the line stays valid UTF-8.
pub(super) fn push_json_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    // Fast path: printable ASCII without `"` or `\` is written as it is.
    if first_escape(bytes) == bytes.len() {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, b) in valid.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            out.extend_from_slice(valid.get(start..i).unwrap_or_default().as_bytes());
            if escape.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_LOWER[usize::from(b >> 4)]);
                out.push(HEX_LOWER[usize::from(b & 0xf)]);
            } else {
                out.extend_from_slice(escape.as_bytes());
            }
            start = i + 1;
        }
        out.extend_from_slice(valid.get(start..).unwrap_or_default().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// Template text that a format writes on every line. Short text (most literals and JSON keys
/// are a few bytes) is copied with one fixed-size move and a truncate: a `memcpy` call for a
/// few bytes costs more than the copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Lit {
    text: Box<str>,
    short: [u8; SHORT],
}

const SHORT: usize = 16;

impl Lit {
    pub(super) fn new(text: &str) -> Self {
        let mut short = [0u8; SHORT];
        if let Some(head) = short.get_mut(..text.len()) {
            head.copy_from_slice(text.as_bytes());
        }
        Self {
            text: text.into(),
            short,
        }
    }

    #[inline]
    pub(super) fn push(&self, out: &mut Vec<u8>) {
        let len = self.text.len();
        if len <= SHORT {
            let start = out.len();
            out.extend_from_slice(&self.short);
            out.truncate(start + len);
        } else {
            out.extend_from_slice(self.text.as_bytes());
        }
    }
}
