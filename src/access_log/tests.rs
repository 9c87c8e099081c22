use std::time::Duration;

use proptest::prelude::*;

use super::format::{LogFormat, Source, Value, Var};
use super::request_id::IdGenerator;
use super::text::{push_clf_time, push_iso_time, push_json_escaped, push_text_escaped};
use super::*;
use crate::error::ProblemKind;

fn clf(secs: u64) -> String {
    let mut s = Vec::new();
    push_clf_time(&mut s, Duration::from_secs(secs));
    String::from_utf8(s).unwrap()
}

fn iso(d: Duration) -> String {
    let mut s = Vec::new();
    push_iso_time(&mut s, d);
    String::from_utf8(s).unwrap()
}

fn text(bytes: &[u8]) -> String {
    let mut s = Vec::new();
    push_text_escaped(&mut s, bytes);
    String::from_utf8(s).unwrap()
}

fn json(bytes: &[u8]) -> String {
    let mut s = Vec::new();
    push_json_escaped(&mut s, bytes);
    String::from_utf8(s).unwrap()
}

#[test]
fn dates_in_common_log_format() {
    assert_eq!(clf(0), "01/Jan/1970:00:00:00 +0000");
    assert_eq!(clf(1_710_078_936), "10/Mar/2024:13:55:36 +0000");
    assert_eq!(clf(951_782_400), "29/Feb/2000:00:00:00 +0000");
    assert_eq!(clf(4_133_980_799), "31/Dec/2100:23:59:59 +0000");
    assert_eq!(clf(253_402_300_799), "31/Dec/9999:23:59:59 +0000");
}

/// The per-thread cache of the last rendered second gives the same text as rendering anew:
/// repeated seconds, alternating seconds, and years too long to be cached.
#[test]
fn clf_time_cache_repeats_and_alternates() {
    for secs in [
        1_710_078_936,
        1_710_078_936,
        1_710_078_937,
        1_710_078_936,
        0,
        0,
    ] {
        let fresh = clf(secs);
        assert_eq!(clf(secs), fresh);
    }
    assert_eq!(clf(1_710_078_936), "10/Mar/2024:13:55:36 +0000");
    assert_eq!(clf(1_710_078_936), "10/Mar/2024:13:55:36 +0000");
    assert_eq!(clf(253_402_300_800), "01/Jan/10000:00:00:00 +0000");
    assert_eq!(clf(253_402_300_800), "01/Jan/10000:00:00:00 +0000");
    assert_eq!(clf(1_710_078_936), "10/Mar/2024:13:55:36 +0000");
}

#[test]
fn dates_in_iso_8601() {
    assert_eq!(
        iso(Duration::from_millis(1_710_078_936_123)),
        "2024-03-10T13:55:36.123Z"
    );
    assert_eq!(
        iso(Duration::from_secs(68_169_600)),
        "1972-02-29T00:00:00.000Z"
    );
}

/// A naive model: walk the calendar one day at a time.
fn naive_date(mut days: u64) -> (u64, u32, u32) {
    let mut year = 1970;
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let len = if leap { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= months[month] {
        days -= months[month];
        month += 1;
    }
    (year, month as u32 + 1, days as u32 + 1)
}

/// A record whose every text value is the same hostile bytes.
struct Hostile(Vec<u8>);

impl Source for Hostile {
    fn value(&self, var: Var) -> Value<'_> {
        match var {
            Var::Status => Value::Int(200),
            Var::RequestTime | Var::StartTime => Value::ClfTime(Duration::from_secs(1)),
            _ => Value::Bytes(&self.0),
        }
    }
}

proptest! {
    /// Every format renders UTF-8 whatever the request bytes, so the one check before the
    /// hand-off to the sink never takes its lossy fallback.
    #[test]
    fn rendered_lines_are_utf8_in_every_format(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let formats = [
            LogFormat::apache_common(),
            LogFormat::apache_combined(),
            LogFormat::envoy(),
            LogFormat::json(),
            LogFormat::template("caf\u{e9} $context.path \u{1F600} $context.identity.userAgent").unwrap(),
        ];
        for format in formats {
            let mut out = Vec::new();
            format.render(&Hostile(bytes.clone()), &mut out);
            prop_assert!(std::str::from_utf8(&out).is_ok(), "{:?}", out);
        }
    }

    /// The word-at-a-time scan finds the same first byte to escape as a byte-by-byte one.
    #[test]
    fn escape_scan_agrees_with_a_byte_by_byte_scan(bytes in proptest::collection::vec(prop_oneof![any::<u8>(), 0x20u8..0x7f], 0..80)) {
        let want = bytes
            .iter()
            .position(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(bytes.len());
        prop_assert_eq!(super::text::first_escape(&bytes), want);
    }

    #[test]
    fn civil_dates_agree_with_a_day_by_day_walk(days in 0u64..200_000, secs in 0u64..86_400) {
        let (y, m, d) = naive_date(days);
        let want = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z", secs / 3600, secs / 60 % 60, secs % 60);
        prop_assert_eq!(iso(Duration::from_secs(days * 86_400 + secs)), want);
    }

    #[test]
    fn text_escaping_gives_printable_ascii_without_quotes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let out = text(&bytes);
        prop_assert!(out.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"'));
        // Every backslash starts an escape: unescaping gives the input back.
        let mut back = Vec::new();
        let mut it = out.as_bytes().iter();
        while let Some(&b) = it.next() {
            if b == b'\\' {
                prop_assert_eq!(it.next(), Some(&b'x'));
                let hi = *it.next().unwrap() as char;
                let lo = *it.next().unwrap() as char;
                back.push(u8::from_str_radix(&format!("{hi}{lo}"), 16).unwrap());
            } else {
                back.push(b);
            }
        }
        prop_assert_eq!(back, bytes);
    }

    #[test]
    fn word_at_a_time_scan_agrees_with_a_byte_loop(
        bytes in proptest::collection::vec(prop_oneof![8 => 0x20u8..0x7f, 1 => any::<u8>()], 0..80),
    ) {
        let naive = bytes
            .iter()
            .position(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(bytes.len());
        prop_assert_eq!(super::text::first_escape(&bytes), naive);
    }

    #[test]
    fn json_escaping_is_valid_json(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let quoted = format!("\"{}\"", json(&bytes));
        let parsed: String = serde_json::from_str(&quoted).unwrap();
        prop_assert_eq!(parsed, String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn templates_never_panic(template in "(\\$context\\.?[a-zA-Z.]{0,12}|[ -~]{0,6}|\n|\u{e9}){0,6}") {
        let _ = LogFormat::template(&template);
    }

    #[test]
    fn traceparent_parsing_never_panics(value in "[0-9a-fA-F-]{0,70}") {
        let _ = TraceId::parse(&value);
    }
}

#[test]
fn numbers() {
    for n in [0, 7, 10, 99, 100, 404, 999, 1000, 65_535, u64::MAX] {
        let mut out = Vec::new();
        super::text::push_u64(&mut out, n);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, n.to_string());
    }
}

#[test]
fn nginx_escaping() {
    assert_eq!(text(b"plain/1.0 (x; y)"), "plain/1.0 (x; y)");
    assert_eq!(text(b"a\"b\\c\n\0\x7f"), "a\\x22b\\x5Cc\\x0A\\x00\\x7F");
    assert_eq!(text("caf\u{e9}".as_bytes()), "caf\\xC3\\xA9");
}

#[test]
fn json_escaping() {
    assert_eq!(json(b"a\"b\\c\n\t\x01"), "a\\\"b\\\\c\\n\\t\\u0001");
    assert_eq!(json("caf\u{e9}".as_bytes()), "caf\u{e9}");
    assert_eq!(json(b"bad\xffbyte"), "bad\u{fffd}byte");
}

#[test]
fn template_variables_and_literals() {
    struct Fixed;
    impl Source for Fixed {
        fn value(&self, var: Var) -> Value<'_> {
            match var {
                Var::Status => Value::Int(204),
                Var::HttpMethod => Value::Bytes(b"GET"),
                _ => Value::Missing,
            }
        }
    }
    let format =
        LogFormat::template("$ $context.httpMethod=$context.status. $context.traceId$").unwrap();
    let mut out = Vec::new();
    format.render(&Fixed, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out, "$ GET=204. -$");
}

#[test]
fn template_errors_list_every_problem() {
    let error =
        LogFormat::template("$context.nope $context.status $context.also.bad\r\n").unwrap_err();
    let kinds: Vec<_> = error
        .problems()
        .iter()
        .map(|p| (p.kind(), p.value().to_owned()))
        .collect();
    assert_eq!(kinds.len(), 3);
    assert_eq!(kinds[0].0, ProblemKind::Invalid);
    assert_eq!(kinds[1], (ProblemKind::Unknown, "$context.nope".to_owned()));
    assert_eq!(
        kinds[2],
        (ProblemKind::Unknown, "$context.also.bad".to_owned())
    );
    assert!(error
        .to_string()
        .contains("access_log: unknown variable \"$context.nope\""));
    assert_eq!(
        LogFormat::template("").unwrap_err().problems()[0].kind(),
        ProblemKind::Invalid
    );
    assert_eq!(
        LogFormat::template("a\u{1}b").unwrap_err().problems()[0].kind(),
        ProblemKind::Invalid
    );
    // A tab separates fields (tab-separated logs); it is no line break.
    assert!(LogFormat::template("$context.status\t$context.requestId").is_ok());
    assert_eq!(
        LogFormat::template("$contextual").unwrap_err().problems()[0].kind(),
        ProblemKind::Unknown
    );
}

#[test]
fn traceparent_rules() {
    let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        TraceId::parse(ok).unwrap().as_str(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
    // A later version may carry more fields after a dash.
    assert!(
        TraceId::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").is_some()
    );
    for bad in [
        "",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // uppercase
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", // 00 must be 55 long
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", // no dash after 55
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ] {
        assert!(TraceId::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn generated_ids_are_uuid_v4_shaped_and_distinct() {
    let ids = IdGenerator::new(Some(7));
    let a = ids.generate();
    let b = ids.generate();
    assert_ne!(a, b);
    for id in [&a, &b] {
        let s = id.as_str();
        assert_eq!(s.len(), 36);
        let groups: Vec<_> = s.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert!(s
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
    // Seeded generators repeat.
    assert_eq!(IdGenerator::new(Some(7)).generate(), a);
}

/// The table-driven hex writer gives exactly the text of the 128 bits formatted as hex with
/// dashes (an independent reference: SplitMix64 and `format!`).
#[test]
fn generated_ids_match_a_reference_formatting() {
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    for seed in [0, 7, 42, u64::MAX] {
        let ids = IdGenerator::new(Some(seed));
        let mut state = seed;
        for _ in 0..50 {
            let hi = splitmix(&mut state);
            let lo = splitmix(&mut state);
            let bits = ((u128::from(hi) << 64) | u128::from(lo)) & !(0xF << 76) & !(0x3 << 62)
                | (0x4 << 76)
                | (0x2 << 62);
            let hex = format!("{bits:032x}");
            let want = format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            );
            assert_eq!(ids.generate().as_str(), want);
        }
    }
}

/// Ids come from per-thread blocks, one per generator: interleaving up to four generators on
/// one thread keeps each one's seeded sequence; more evict blocks, and the ids stay distinct
/// and well-formed.
#[test]
fn interleaved_generators_keep_their_sequences() {
    let sequence = |seed: u64, n: usize| {
        let ids = IdGenerator::new(Some(seed));
        (0..n).map(|_| ids.generate()).collect::<Vec<_>>()
    };
    let gens: Vec<_> = (0..4).map(|seed| IdGenerator::new(Some(seed))).collect();
    let mut got = vec![Vec::new(); 4];
    for _ in 0..40 {
        for (g, out) in gens.iter().zip(&mut got) {
            out.push(g.generate());
        }
    }
    for (seed, got) in got.iter().enumerate() {
        assert_eq!(got, &sequence(seed as u64, 40));
    }

    let gens: Vec<_> = (0..6).map(|_| IdGenerator::new(None)).collect();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..40 {
        for g in &gens {
            let id = g.generate();
            assert_eq!(id.as_str().len(), 36);
            assert!(seen.insert(id));
        }
    }
    // Other threads draw from the same generator without repeats.
    let shared = std::sync::Arc::new(IdGenerator::new(Some(9)));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || (0..50).map(|_| shared.generate()).collect::<Vec<_>>())
        })
        .collect();
    let mut all = std::collections::HashSet::new();
    for handle in handles {
        for id in handle.join().unwrap() {
            assert!(all.insert(id));
        }
    }
    assert_eq!(all.len(), 150);
}

/// One clock read at arrival: the system wall time derived from the monotonic reading stays
/// with the system clock (a loose bound: the machine may be slow, the point is no drift);
/// a manual clock gives its exact readings.
#[test]
fn arrival_readings() {
    let system = Clock::system();
    for _ in 0..3 {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let (wall, mono) = system.arrival(true, true);
        let after = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert!(wall + Duration::from_secs(2) >= before && wall <= after + Duration::from_secs(2));
        assert!(system.mono() >= mono);
    }
    assert_eq!(system.arrival(false, true).0, Duration::ZERO);
    assert_eq!(system.arrival(true, false).1, 0);

    let manual = ManualClock::at_unix(1_710_078_936);
    let clock = Clock::from(manual.clone());
    assert_eq!(
        clock.arrival(true, true),
        (Duration::from_secs(1_710_078_936), 0)
    );
    manual.advance(Duration::from_millis(12));
    assert_eq!(
        clock.arrival(true, true),
        (Duration::from_millis(1_710_078_936_012), 12_000_000)
    );
    assert_eq!(clock.arrival(false, false), (Duration::ZERO, 0));
}

#[test]
fn incoming_id_validation() {
    let ok = |s: &'static str| RequestId::from_header(&http::HeaderValue::from_static(s)).is_some();
    assert!(ok("abc-123_X.y:z+/="));
    assert!(ok("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
    assert!(!ok(""));
    assert!(!ok("with space"));
    assert!(!ok("quote\""));
    let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
    assert!(RequestId::from_header(&http::HeaderValue::from_str(&long).unwrap()).is_none());
    let max = "a".repeat(MAX_REQUEST_ID_LEN);
    assert!(RequestId::from_header(&http::HeaderValue::from_str(&max).unwrap()).is_some());
}

#[test]
fn layers_and_services_are_send_sync_clone() {
    fn clone<T: Clone>() {}
    crate::test_helpers::assert_send_sync::<AccessLogLayer>();
    crate::test_helpers::assert_send_sync::<AccessLog<crate::test_helpers::Echo>>();
    crate::test_helpers::assert_send_sync::<Sink>();
    crate::test_helpers::assert_send_sync::<NonBlocking>();
    crate::test_helpers::assert_send_sync::<ResponseBody<http_body_util::Full<bytes::Bytes>>>();
    clone::<AccessLog<crate::test_helpers::Echo>>();
    clone::<AccessLogLayer>();
}

#[test]
fn record_stays_small_enough_to_move() {
    // The record moves from the service to the future to the body: keep it compact.
    let size = std::mem::size_of::<super::record::Facts>();
    assert!(size <= 640, "Record is {size} bytes");
    eprintln!("Record: {size} bytes");
}

/// Records of tunnels: a `101` carrying a [`Tunnel`](crate::tunnel::Tunnel) is written when
/// the tunnel closes, with the connection's duration and byte counts.
mod tunnels {
    use std::convert::Infallible;
    use std::time::Duration;

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use tower::{service_fn, Layer, ServiceExt};

    use super::super::*;
    use crate::tunnel::{Tunnel, TunnelOutcome};

    const TEMPLATE: &str = "$context.status $context.responseLatency $context.requestLength \
        $context.responseLength $context.tunnel.bytesIn $context.tunnel.bytesOut \
        $context.tunnel.abnormal $context.responseFlags $context.error.message";

    /// Answers `101` with a fresh tunnel (returned through `slot`), or without one.
    async fn switch(
        format: LogFormat,
        with_tunnel: bool,
    ) -> (
        MemorySink,
        ManualClock,
        Option<Tunnel>,
        Response<ResponseBody<Full<Bytes>>>,
    ) {
        let sink = MemorySink::new();
        let clock = ManualClock::at_unix(1_710_078_936);
        let tunnel = with_tunnel.then(Tunnel::new);
        let t = tunnel.clone();
        let app = service_fn(move |_: Request<Full<Bytes>>| {
            let t = t.clone();
            async move {
                let mut response = Response::new(Full::default());
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                response
                    .headers_mut()
                    .insert(http::header::UPGRADE, "websocket".parse().unwrap());
                if let Some(t) = t {
                    response.extensions_mut().insert(t);
                }
                Ok::<_, Infallible>(response)
            }
        });
        let svc = AccessLogLayer::new(sink.clone())
            .format(format)
            .clock(clock.clone())
            .layer(app);
        let response = svc
            .oneshot(Request::get("/ws").body(Full::default()).unwrap())
            .await
            .unwrap();
        (sink, clock, tunnel, response)
    }

    #[tokio::test]
    async fn written_when_the_tunnel_closes_with_its_bytes_and_duration() {
        let format = LogFormat::template(TEMPLATE).unwrap();
        let (sink, clock, tunnel, response) = switch(format, true).await;
        let tunnel = tunnel.unwrap();
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(response.headers()[http::header::UPGRADE], "websocket");
        assert!(response.extensions().get::<Tunnel>().is_some());
        drop(response); // hyper drops the 101's body: the record waits for the tunnel
        assert!(sink.is_empty());
        clock.advance(Duration::from_millis(1500));
        tunnel.add_bytes_in(10);
        tunnel.add_bytes_out(2048);
        assert!(sink.is_empty());
        tunnel.close(TunnelOutcome::Normal);
        assert_eq!(sink.lines(), ["101 1500 10 2048 10 2048 false - -"]);
    }

    #[tokio::test]
    async fn abnormal_ends_are_flagged() {
        for (outcome, tail) in [
            (TunnelOutcome::IdleTimeout, "true SI idle timeout"),
            (
                TunnelOutcome::Abnormal("connection reset"),
                "true TA connection reset",
            ),
        ] {
            let format = LogFormat::template(TEMPLATE).unwrap();
            let (sink, _clock, tunnel, response) = switch(format, true).await;
            drop(response);
            tunnel.unwrap().close(outcome);
            assert_eq!(sink.lines(), [format!("101 0 0 0 0 0 {tail}")]);
        }
    }

    #[tokio::test]
    async fn a_dropped_tunnel_is_written_once() {
        let format = LogFormat::template(TEMPLATE).unwrap();
        let (sink, _clock, tunnel, response) = switch(format, true).await;
        drop(tunnel);
        assert!(sink.is_empty()); // the response still holds a handle
        drop(response);
        assert_eq!(sink.lines(), ["101 0 0 0 0 0 true TA tunnel dropped"]);
    }

    #[tokio::test]
    async fn json_has_tunnel_keys_only_for_tunnels() {
        let (sink, _clock, tunnel, response) = switch(LogFormat::json(), true).await;
        drop(response);
        let tunnel = tunnel.unwrap();
        tunnel.add_bytes_in(3);
        tunnel.close(TunnelOutcome::Normal);
        let line = sink.lines().remove(0);
        assert!(
            line.ends_with(
                r#""responseFlags":null,"tunnelBytesIn":3,"tunnelBytesOut":0,"tunnelAbnormal":false}"#
            ),
            "{line}"
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["status"], 101);

        // A 101 without a tunnel (axum's own WebSocketUpgrade) is logged as before: at once,
        // when its body is dropped, with no tunnel key and no flag.
        let (sink, _clock, _none, response) = switch(LogFormat::json(), false).await;
        assert!(sink.is_empty());
        drop(response);
        let line = sink.lines().remove(0);
        assert!(!line.contains("tunnel"), "{line}");
        assert!(line.contains(r#""status":101"#) && line.ends_with(r#""responseFlags":null}"#));
    }

    #[tokio::test]
    async fn text_presets_show_the_tunnel_bytes() {
        let (sink, _clock, tunnel, response) = switch(LogFormat::apache_common(), true).await;
        drop(response);
        let tunnel = tunnel.unwrap();
        tunnel.add_bytes_out(17);
        tunnel.close(TunnelOutcome::Normal);
        assert_eq!(
            sink.lines(),
            ["- - - [10/Mar/2024:13:55:36 +0000] \"GET /ws HTTP/1.1\" 101 17"]
        );
    }
}

#[test]
fn presizing_keeps_what_a_request_already_carries() {
    use super::record::presize;

    // An empty map gets room, and works as any map.
    let mut fresh = http::Extensions::new();
    presize(&mut fresh);
    assert!(fresh.is_empty());
    for n in 0..8u32 {
        fresh.insert(n);
    }
    assert_eq!(fresh.get::<u32>(), Some(&7));
    assert_eq!(fresh.len(), 1);

    // A map with values is left alone.
    let mut carried = http::Extensions::new();
    carried.insert("from hyper");
    presize(&mut carried);
    assert_eq!(carried.get::<&str>(), Some(&"from hyper"));
    assert_eq!(carried.len(), 1);
}
