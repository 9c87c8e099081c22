//! [`LogFormat`]: the record layouts (Apache common and combined, Envoy's default, JSON) and
//! the `$context.name` template language, parsed and validated once.

use std::net::IpAddr;
use std::time::Duration;

use super::text::{
    push_clf_time, push_iso_time, push_json_escaped, push_text_escaped, push_u64, Lit,
};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

/// One value a record can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Var {
    SourceIp,
    RequestTime,
    RequestTimeEpoch,
    StartTime,
    HttpMethod,
    Path,
    Query,
    RequestUri,
    Protocol,
    /// Envoy's `%PROTOCOL%`: `HTTP/1.1`, `HTTP/2`, `HTTP/3`. Envoy preset only.
    EnvoyProtocol,
    DomainName,
    /// AWS `$context.domainPrefix`: the first label of the domain name.
    DomainPrefix,
    Status,
    ResponseLength,
    /// Apache `%b`: the response length, `-` when zero. Presets only.
    BytesClf,
    RequestLength,
    ResponseLatency,
    IntegrationLatency,
    UserAgent,
    Referer,
    ForwardedFor,
    RequestId,
    TraceId,
    RouteKey,
    ResourcePath,
    RouteName,
    CanaryArm,
    IsCanary,
    ErrorMessage,
    ResponseFlags,
    /// Bytes a tunnel (an upgraded connection) carried from the client to the upstream.
    TunnelBytesIn,
    /// Bytes a tunnel carried from the upstream to the client.
    TunnelBytesOut,
    /// Whether a tunnel ended abnormally (an error or the idle timeout).
    TunnelAbnormal,
    /// An AWS value this gateway never has (the IAM caller and user): always `-`.
    Absent,
}

/// The template variables: `$context.` + name, the variable, its key in the JSON format.
const VARIABLES: &[(&str, Var, &str)] = &[
    ("requestId", Var::RequestId, "requestId"),
    ("identity.sourceIp", Var::SourceIp, "ip"),
    ("requestTime", Var::RequestTime, "requestTime"),
    (
        "requestTimeEpoch",
        Var::RequestTimeEpoch,
        "requestTimeEpoch",
    ),
    ("startTime", Var::StartTime, "startTime"),
    ("httpMethod", Var::HttpMethod, "httpMethod"),
    ("routeKey", Var::RouteKey, "routeKey"),
    ("status", Var::Status, "status"),
    ("protocol", Var::Protocol, "protocol"),
    ("responseLength", Var::ResponseLength, "responseLength"),
    ("domainName", Var::DomainName, "domainName"),
    ("domainPrefix", Var::DomainPrefix, "domainPrefix"),
    ("path", Var::Path, "path"),
    ("query", Var::Query, "query"),
    ("requestUri", Var::RequestUri, "requestUri"),
    ("identity.userAgent", Var::UserAgent, "userAgent"),
    ("referer", Var::Referer, "referer"),
    ("forwardedFor", Var::ForwardedFor, "forwardedFor"),
    ("requestLength", Var::RequestLength, "requestLength"),
    ("responseLatency", Var::ResponseLatency, "responseLatency"),
    (
        "integrationLatency",
        Var::IntegrationLatency,
        "integrationLatency",
    ),
    ("traceId", Var::TraceId, "traceId"),
    ("resourcePath", Var::ResourcePath, "resourcePath"),
    ("routeName", Var::RouteName, "routeName"),
    ("canaryArm", Var::CanaryArm, "canaryArm"),
    ("isCanaryRequest", Var::IsCanary, "isCanaryRequest"),
    ("error.message", Var::ErrorMessage, "errorMessage"),
    ("responseFlags", Var::ResponseFlags, "responseFlags"),
    ("tunnel.bytesIn", Var::TunnelBytesIn, "tunnelBytesIn"),
    ("tunnel.bytesOut", Var::TunnelBytesOut, "tunnelBytesOut"),
    ("tunnel.abnormal", Var::TunnelAbnormal, "tunnelAbnormal"),
    // AWS's other names for the same values (after the names above, which give the JSON keys).
    ("extendedRequestId", Var::RequestId, "requestId"),
    (
        "integration.latency",
        Var::IntegrationLatency,
        "integrationLatency",
    ),
    // IAM identities, which AWS's own CLF, XML and CSV examples show: never known here.
    ("identity.caller", Var::Absent, "caller"),
    ("identity.user", Var::Absent, "user"),
];

/// The fields of [`LogFormat::json`], in order.
const JSON_FIELDS: &[Var] = &[
    Var::RequestId,
    Var::SourceIp,
    Var::RequestTime,
    Var::HttpMethod,
    Var::RouteKey,
    Var::Status,
    Var::Protocol,
    Var::ResponseLength,
    Var::DomainName,
    Var::Path,
    Var::Query,
    Var::UserAgent,
    Var::Referer,
    Var::RequestLength,
    Var::ResponseLatency,
    Var::IntegrationLatency,
    Var::TraceId,
    Var::CanaryArm,
    Var::ErrorMessage,
    Var::ResponseFlags,
    // Written only for tunnel records (a `101` whose upgraded connection closed).
    Var::TunnelBytesIn,
    Var::TunnelBytesOut,
    Var::TunnelAbnormal,
];

/// Request facts a format needs captured when the request arrives (bit flags).
pub(super) mod need {
    pub(crate) const URI: u16 = 1;
    pub(crate) const HOST: u16 = 1 << 1;
    pub(crate) const USER_AGENT: u16 = 1 << 2;
    pub(crate) const REFERER: u16 = 1 << 3;
    pub(crate) const FORWARDED_FOR: u16 = 1 << 4;
    pub(crate) const TRACE: u16 = 1 << 5;
    pub(crate) const CLIENT: u16 = 1 << 6;
    pub(crate) const REQUEST_LENGTH: u16 = 1 << 7;
    pub(crate) const REQUEST_ID: u16 = 1 << 8;
    /// The wall-clock time of arrival.
    pub(crate) const WALL: u16 = 1 << 9;
    /// Monotonic readings at arrival and at the end.
    pub(crate) const LATENCY: u16 = 1 << 10;
    /// A monotonic reading at the response headers.
    pub(crate) const HEADERS_TIME: u16 = 1 << 11;
    /// The matched route (router feature).
    pub(crate) const ROUTE: u16 = 1 << 12;
    /// The canary arm (canary feature).
    pub(crate) const ARM: u16 = 1 << 13;
}

impl Var {
    fn needs(self) -> u16 {
        match self {
            Var::SourceIp => need::CLIENT,
            Var::Path | Var::Query | Var::RequestUri => need::URI,
            Var::DomainName | Var::DomainPrefix => need::HOST | need::URI,
            Var::RequestLength => need::REQUEST_LENGTH,
            Var::UserAgent => need::USER_AGENT,
            Var::Referer => need::REFERER,
            Var::ForwardedFor => need::FORWARDED_FOR,
            Var::TraceId => need::TRACE,
            Var::RequestId => need::REQUEST_ID,
            Var::RequestTime | Var::RequestTimeEpoch | Var::StartTime => need::WALL,
            Var::ResponseLatency => need::LATENCY,
            Var::IntegrationLatency => need::LATENCY | need::HEADERS_TIME,
            Var::RouteKey | Var::ResourcePath | Var::RouteName => need::ROUTE,
            Var::CanaryArm | Var::IsCanary => need::ARM,
            _ => 0,
        }
    }

    /// A tunnel variable: missing for ordinary requests, and then left out of JSON lines.
    fn is_tunnel(self) -> bool {
        matches!(
            self,
            Var::TunnelBytesIn | Var::TunnelBytesOut | Var::TunnelAbnormal
        )
    }

    fn json_key(self) -> &'static str {
        VARIABLES
            .iter()
            .find(|(_, v, _)| *v == self)
            .map_or("-", |(_, _, key)| key)
    }
}

/// A value of one record, before escaping.
#[derive(Clone, Copy, Debug)]
pub(super) enum Value<'a> {
    Missing,
    Bytes(&'a [u8]),
    Int(u64),
    Bool(bool),
    ClfTime(Duration),
    IsoTime(Duration),
    Ip(IpAddr),
    Flags(u8),
}

/// Something that can give the value of each variable (the record of one request).
pub(super) trait Source {
    fn value(&self, var: Var) -> Value<'_>;
}

/// Response flags, as bits, in the order they are written.
pub(super) mod flag {
    /// `NR`: the router found no route.
    pub(crate) const NO_ROUTE: u8 = 1;
    /// `OG`: the origin guard refused the request.
    pub(crate) const ORIGIN: u8 = 1 << 1;
    /// `CP`: the CORS layer refused a preflight.
    pub(crate) const CORS_PREFLIGHT: u8 = 1 << 2;
    /// `UE`: the inner service or its body failed.
    pub(crate) const INNER_ERROR: u8 = 1 << 3;
    /// `DC`: the client went away (response or body dropped before the end).
    pub(crate) const DISCONNECTED: u8 = 1 << 4;
    /// `SI`: a tunnel (upgraded connection) was closed by its idle timeout (Envoy's name).
    pub(crate) const IDLE_TIMEOUT: u8 = 1 << 5;
    /// `TA`: a tunnel ended abnormally (an I/O error, an upgrade that never completed).
    pub(crate) const TUNNEL_ABNORMAL: u8 = 1 << 6;
    pub(crate) const NAMES: [(u8, &str); 7] = [
        (NO_ROUTE, "NR"),
        (ORIGIN, "OG"),
        (CORS_PREFLIGHT, "CP"),
        (INNER_ERROR, "UE"),
        (DISCONNECTED, "DC"),
        (IDLE_TIMEOUT, "SI"),
        (TUNNEL_ABNORMAL, "TA"),
    ];
}

fn push_flags(out: &mut Vec<u8>, flags: u8) {
    let mut first = true;
    for (bit, name) in flag::NAMES {
        if flags & bit != 0 {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
            first = false;
        }
    }
}

/// How each record is written: a preset or a validated template.
///
/// Every format writes one line per request, without the line break (sinks add it). Values
/// that are missing are written `-` (`null` in JSON). Text formats escape control bytes, `"`,
/// `\` and non-ASCII bytes as `\xHH`, as nginx does, so a hostile `User-Agent` can neither break
/// a line nor a quoted field; JSON escapes per RFC 8259 and is always valid UTF-8.
///
/// ```
/// use tower_gateway::access_log::LogFormat;
///
/// let format = LogFormat::template("$context.httpMethod $context.routeKey $context.status")?;
/// assert_ne!(format, LogFormat::json());
///
/// let error = LogFormat::template("$context.nope\n").unwrap_err();
/// assert_eq!(error.problems().len(), 2); // an unknown variable and a line break
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
///
/// See the [module docs](super) for every variable and a golden line of each format.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct LogFormat {
    kind: Kind,
    needs: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Text(Vec<Segment>),
    /// A template that writes JSON (its first non-blank character is `{`): text values are
    /// escaped per RFC 8259 instead of `\xHH`, so the line stays valid JSON.
    JsonTemplate(Vec<Segment>),
    /// Each field with the text before its value (`,"key":`), built once.
    Json(Vec<(Var, Lit)>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(Lit),
    Var(Var),
    /// A variable written `-` when its text is empty too (Envoy: "a '-' character for every
    /// not set/empty value").
    VarOrDash(Var),
}

impl Default for LogFormat {
    /// [`LogFormat::apache_combined`].
    fn default() -> Self {
        Self::apache_combined()
    }
}

fn lit(text: &str) -> Segment {
    Segment::Literal(Lit::new(text))
}

fn text(segments: Vec<Segment>) -> LogFormat {
    let needs = needs_of(&segments);
    LogFormat {
        kind: Kind::Text(segments),
        needs,
    }
}

fn needs_of(segments: &[Segment]) -> u16 {
    segments
        .iter()
        .map(|s| match s {
            Segment::Var(v) | Segment::VarOrDash(v) => v.needs(),
            Segment::Literal(_) => 0,
        })
        .fold(0, |a, b| a | b)
}

fn common_segments() -> Vec<Segment> {
    use Segment::Var as V;
    vec![
        V(Var::SourceIp),
        lit(" - - ["),
        V(Var::RequestTime),
        lit("] \""),
        V(Var::HttpMethod),
        lit(" "),
        V(Var::RequestUri),
        lit(" "),
        V(Var::Protocol),
        lit("\" "),
        V(Var::Status),
        lit(" "),
        V(Var::BytesClf),
    ]
}

impl LogFormat {
    /// Apache's Common Log Format, `%h %l %u %t "%r" %>s %b`:
    ///
    /// ```text
    /// 203.0.113.7 - - [10/Mar/2024:13:55:36 +0000] "GET /pets/42?verbose=1 HTTP/1.1" 200 17
    /// ```
    ///
    /// As in Apache, the byte count is `-` when no body byte was sent; the identity and user
    /// fields are always `-`; the time is UTC.
    pub fn apache_common() -> Self {
        text(common_segments())
    }

    /// Apache's combined format (the same line as nginx's `combined`): the common format, then
    /// the quoted `Referer` and `User-Agent`.
    pub fn apache_combined() -> Self {
        use Segment::Var as V;
        let mut segments = common_segments();
        segments.extend([
            lit(" \""),
            V(Var::Referer),
            lit("\" \""),
            V(Var::UserAgent),
            lit("\""),
        ]);
        text(segments)
    }

    /// Envoy's default access log format:
    ///
    /// ```text
    /// [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
    /// ```
    ///
    /// The protocol is written as Envoy writes it (`HTTP/1.1`, `HTTP/2`, `HTTP/3`); the
    /// upstream service time is the time to response headers; the upstream host is the
    /// canary arm that served the request (`-` without a canary split); the response flags are
    /// ours (`NR`, `OG`, `CP`, `UE`, `DC`, `SI`, `TA`). As in Envoy, a value that is missing
    /// or empty (an empty `User-Agent`) is written `-`.
    pub fn envoy() -> Self {
        use Segment::VarOrDash as V;
        text(vec![
            lit("["),
            V(Var::StartTime),
            lit("] \""),
            V(Var::HttpMethod),
            lit(" "),
            V(Var::RequestUri),
            lit(" "),
            V(Var::EnvoyProtocol),
            lit("\" "),
            V(Var::Status),
            lit(" "),
            V(Var::ResponseFlags),
            lit(" "),
            V(Var::RequestLength),
            lit(" "),
            V(Var::ResponseLength),
            lit(" "),
            V(Var::ResponseLatency),
            lit(" "),
            V(Var::IntegrationLatency),
            lit(" \""),
            V(Var::ForwardedFor),
            lit("\" \""),
            V(Var::UserAgent),
            lit("\" \""),
            V(Var::RequestId),
            lit("\" \""),
            V(Var::DomainName),
            lit("\" \""),
            V(Var::CanaryArm),
            lit("\""),
        ])
    }

    /// One JSON object per line, keyed by AWS `$context` names (the first eight are AWS's own
    /// HTTP API JSON preset): `requestId`, `ip`, `requestTime`, `httpMethod`, `routeKey`,
    /// `status`, `protocol`, `responseLength`, `domainName`, `path`, `query`, `userAgent`,
    /// `referer`, `requestLength`, `responseLatency`, `integrationLatency`, `traceId`,
    /// `canaryArm`, `errorMessage`, `responseFlags`. Numbers are JSON numbers; missing values
    /// are `null`. The record of a tunnel (a WebSocket connection, written when it closes) has
    /// three more keys at the end: `tunnelBytesIn`, `tunnelBytesOut`, `tunnelAbnormal`;
    /// ordinary records never have them.
    pub fn json() -> Self {
        let needs = JSON_FIELDS.iter().fold(0, |a, v| a | v.needs());
        Self {
            kind: Kind::Json(
                JSON_FIELDS
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let comma = if i == 0 { "{" } else { "," };
                        (v, Lit::new(&format!("{comma}\"{}\":", v.json_key())))
                    })
                    .collect(),
            ),
            needs,
        }
    }

    /// A line template with AWS-style `$context.name` variables, for example
    /// `$context.identity.sourceIp "$context.routeKey" $context.status $context.responseLatency`.
    ///
    /// Variables (AWS API Gateway names where AWS has one):
    ///
    /// | variable | value |
    /// | --- | --- |
    /// | `$context.requestId` | the request id (AWS's other name: `$context.extendedRequestId`) |
    /// | `$context.identity.sourceIp` | the client IP address |
    /// | `$context.requestTime` | arrival time, `10/Mar/2024:13:55:36 +0000` (UTC) |
    /// | `$context.requestTimeEpoch` | arrival time in milliseconds since the Unix epoch |
    /// | `$context.startTime` | arrival time, ISO 8601: `2024-03-10T13:55:36.000Z` |
    /// | `$context.httpMethod` | the method |
    /// | `$context.path` / `$context.query` / `$context.requestUri` | path, query (without `?`), both |
    /// | `$context.protocol` | `HTTP/1.1`, `HTTP/2.0`, ... |
    /// | `$context.domainName` | the target's authority (absolute-form or HTTP/2 `:authority`), else the `Host` header |
    /// | `$context.domainPrefix` | the first label of the domain name (`api` of `api.example.com`; the port left out; an IP address whole) |
    /// | `$context.status` | the response status (`0` when there was no response) |
    /// | `$context.responseLength` | response body bytes actually sent |
    /// | `$context.requestLength` | request body bytes, when known from `Content-Length` or the body |
    /// | `$context.responseLatency` | milliseconds from arrival to the last body byte |
    /// | `$context.integrationLatency` | milliseconds from arrival to the response headers (AWS's other name: `$context.integration.latency`) |
    /// | `$context.identity.userAgent` / `$context.referer` / `$context.forwardedFor` | those request headers (repeated `X-Forwarded-For` lines joined with `, `) |
    /// | `$context.traceId` | the trace id of a valid W3C `traceparent` |
    /// | `$context.routeKey` / `$context.resourcePath` / `$context.routeName` | the matched route's key (`GET /pets/{id}`), template and name |
    /// | `$context.canaryArm` / `$context.isCanaryRequest` | the canary arm's name, and whether it is the canary |
    /// | `$context.error.message` | why the gateway answered itself (origin guard, CORS, router, an upstream's `upstream::Failure` behind a `502`/`504`/`400`, a tunnel's abnormal end) |
    /// | `$context.responseFlags` | `NR`, `OG`, `CP`, `UE`, `DC`, `SI`, `TA`, comma-separated |
    /// | `$context.tunnel.bytesIn` / `$context.tunnel.bytesOut` | bytes a tunnel (WebSocket) carried client → upstream / upstream → client; `-` for ordinary requests |
    /// | `$context.tunnel.abnormal` | `true` when a tunnel ended on an error or its idle timeout; `-` for ordinary requests |
    /// | `$context.identity.caller` / `$context.identity.user` | always `-` (IAM callers, which AWS's CLF, XML and CSV examples show; a gateway without IAM never has them) |
    ///
    /// A `$` not followed by `context.` is literal text, and so is a dot that ends a variable
    /// (`$context.status.` is the status, then a dot).
    ///
    /// A template whose first non-blank character is `{` writes JSON (as AWS's JSON access log
    /// formats do, `{"ua":"$context.identity.userAgent","status":$context.status}`): its text
    /// values are escaped per RFC 8259 (`\"`, `\\`, `\n`, `\u0000`, UTF-8 kept) instead of
    /// `\xHH`, so a hostile header cannot break the object. Missing values are still `-`.
    ///
    /// # Errors
    ///
    /// Every problem at once: each unknown variable ([`ProblemKind::Unknown`]), a line break
    /// (`\n`, `\r`, U+2028, U+2029) or other control character (a tab is allowed: it
    /// separates fields in tab-separated logs), and an empty template
    /// ([`ProblemKind::Invalid`]).
    pub fn template(template: &str) -> Result<Self, ConfigError> {
        const PREFIX: &str = "$context";
        let mut problems = Problems::new();
        if template.is_empty() {
            problems.push(Problem::new(
                "access_log",
                ProblemKind::Invalid,
                template,
                "log template is empty",
            ));
        }
        // Unicode's line and paragraph separators too: many log readers (JavaScript's among
        // them) end a line there.
        if template.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
            problems.push(Problem::new(
                "access_log",
                ProblemKind::Invalid,
                template,
                format!("log template {template:?} contains a line break; a record is one line"),
            ));
        } else if template.contains(|c: char| c.is_control() && c != '\t') {
            // A tab is a field separator (tab-separated logs), not a line break: kept.
            problems.push(Problem::new(
                "access_log",
                ProblemKind::Invalid,
                template,
                format!("log template {template:?} contains a control character"),
            ));
        }
        let mut segments = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(at) = rest.find(PREFIX) {
            literal.push_str(&rest[..at]);
            let after = &rest[at + PREFIX.len()..];
            let name_len = after.strip_prefix('.').map_or(0, |name| {
                name.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                    .unwrap_or(name.len())
            });
            let name = after
                .get(1..1 + name_len)
                .unwrap_or_default()
                .trim_end_matches('.');
            if name.is_empty() {
                problems.push(Problem::new(
                    "access_log",
                    ProblemKind::Unknown,
                    PREFIX,
                    "\"$context\" without a variable name in the log template",
                ));
                literal.push_str(PREFIX);
                rest = after;
                continue;
            }
            match VARIABLES.iter().find(|(n, _, _)| *n == name) {
                Some((_, var, _)) => {
                    if !literal.is_empty() {
                        segments.push(Segment::Literal(Lit::new(&std::mem::take(&mut literal))));
                    }
                    segments.push(Segment::Var(*var));
                }
                None => problems.push(Problem::new(
                    "access_log",
                    ProblemKind::Unknown,
                    format!("$context.{name}"),
                    format!("unknown variable \"$context.{name}\" in the log template"),
                )),
            }
            rest = &after[1 + name.len()..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            segments.push(Segment::Literal(Lit::new(&literal)));
        }
        problems.finish(|| {
            if template.trim_start().starts_with('{') {
                Self {
                    needs: needs_of(&segments),
                    kind: Kind::JsonTemplate(segments),
                }
            } else {
                text(segments)
            }
        })
    }

    /// The request facts this format needs.
    pub(super) fn needs(&self) -> u16 {
        self.needs
    }

    /// Writes one record (without a line break) to `out`.
    pub(super) fn render(&self, source: &impl Source, out: &mut Vec<u8>) {
        match &self.kind {
            Kind::Text(segments) => {
                for segment in segments {
                    match segment {
                        Segment::Literal(text) => text.push(out),
                        Segment::Var(var) => push_text_value(out, source.value(*var)),
                        Segment::VarOrDash(var) => match source.value(*var) {
                            Value::Bytes([]) => out.push(b'-'),
                            value => push_text_value(out, value),
                        },
                    }
                }
            }
            Kind::JsonTemplate(segments) => {
                for segment in segments {
                    match segment {
                        Segment::Literal(text) => text.push(out),
                        Segment::Var(var) | Segment::VarOrDash(var) => match source.value(*var) {
                            Value::Bytes(bytes) => push_json_escaped(out, bytes),
                            value => push_text_value(out, value),
                        },
                    }
                }
            }
            Kind::Json(fields) => {
                for (var, prefix) in fields {
                    let value = source.value(*var);
                    if var.is_tunnel() && matches!(value, Value::Missing) {
                        continue;
                    }
                    prefix.push(out);
                    push_json_value(out, value);
                }
                out.push(b'}');
            }
        }
    }
}

fn push_text_value(out: &mut Vec<u8>, value: Value<'_>) {
    match value {
        Value::Missing | Value::Flags(0) => out.push(b'-'),
        Value::Bytes(bytes) => push_text_escaped(out, bytes),
        Value::Int(n) => push_u64(out, n),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::ClfTime(t) => push_clf_time(out, t),
        Value::IsoTime(t) => push_iso_time(out, t),
        Value::Ip(IpAddr::V4(ip)) => {
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, octet.into());
            }
        }
        Value::Ip(ip) => {
            let _ = std::io::Write::write_fmt(out, format_args!("{ip}"));
        }
        Value::Flags(flags) => push_flags(out, flags),
    }
}

fn push_json_value(out: &mut Vec<u8>, value: Value<'_>) {
    match value {
        Value::Missing | Value::Flags(0) => out.extend_from_slice(b"null"),
        Value::Int(n) => push_u64(out, n),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Bytes(bytes) => {
            out.push(b'"');
            push_json_escaped(out, bytes);
            out.push(b'"');
        }
        Value::ClfTime(_) | Value::IsoTime(_) | Value::Ip(_) | Value::Flags(_) => {
            out.push(b'"');
            push_text_value(out, value); // ASCII without quotes or backslashes
            out.push(b'"');
        }
    }
}
