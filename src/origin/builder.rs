//! [`OriginGuardBuilder`]: every setting of the guard, validated at once by `build`.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::Response;

use super::bypass::{self, BypassError};
use super::parse::{parse_config_origin, OriginError};
use super::policy::{Policy, PublicOrigin, TrustPredicate};
use super::response::RejectionResponse;
use super::{OriginGuardLayer, Rejection};
use crate::error::{ConfigError, Problem, ProblemKind, Problems};

const MODULE: &str = "origin";

/// Builds an [`OriginGuardLayer`]; [`build`](Self::build) validates every setting and reports
/// every problem at once.
///
/// Setters that add (origins, bypass paths, predicates) add to what is there; switches
/// (`trust_same_site`, `strict`, `report_only`) and the response builder replace. See the
/// [module docs](super) for an example.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OriginGuardBuilder {
    trusted: Vec<String>,
    public: Vec<String>,
    bypass: Vec<String>,
    predicates: Vec<TrustPredicate>,
    trust_same_site: bool,
    strict: bool,
    report_only: bool,
    response: Option<RejectionResponse>,
}

impl OriginGuardBuilder {
    /// A builder with the defaults: nothing trusted, no public origin (the request's own
    /// authority is the target), no bypass path, same-site refused, not strict, enforcing, the
    /// default `403`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts one origin: its requests pass even when a browser says they are cross-site.
    ///
    /// The value is a serialized origin, `scheme://host[:port]`, with `http` or `https`. It is
    /// normalised at build (scheme and host lower-cased, default port dropped, an IPv6 literal
    /// written as browsers serialize it), so `HTTPS://App.Example:443` trusts what browsers
    /// send as `https://app.example` and `http://[0::1]:8080` trusts `http://[::1]:8080`.
    /// `build` refuses `null`, a missing scheme, a path (even `/`), a query, a fragment,
    /// userinfo, a non-ASCII host (give it in punycode), an invalid IPv6 literal, an IPv4
    /// address that is not a dotted quad (`127.1`) and other schemes. Adds. Default: none.
    pub fn trust_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted.push(origin.into());
        self
    }

    /// Trusts several origins, as [`trust_origin`](Self::trust_origin) each. Adds.
    pub fn trust_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.trusted.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Trusts every origin for which `predicate` returns `true`, for example every origin a CORS
    /// policy allows.
    ///
    /// The predicate receives the request's `Origin` normalised (lower-case scheme and host, no
    /// default port), and only when the origin would otherwise be refused; never `null` nor a
    /// malformed origin. It runs on the request path: it must be fast and must not block or do
    /// I/O. Adds (any predicate saying `true` trusts). Default: none.
    pub fn trust_origins_where<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.predicates.push(TrustPredicate(Arc::new(predicate)));
        self
    }

    /// Trusts every origin the CORS policy of `cors` allows (exact origins, `*.domain`
    /// patterns, `:*` ports, or any origin), so a cross-origin write that the CORS layer lets a
    /// browser read is not refused here.
    ///
    /// The guard follows the policy through the layer's [`CorsHandle`](crate::cors::CorsHandle):
    /// a policy swapped at run time is trusted from then on. Adds. Default: none.
    ///
    /// ```
    /// use tower_gateway::cors::CorsLayer;
    /// use tower_gateway::origin::OriginGuardLayer;
    ///
    /// let cors = CorsLayer::builder().allow_origin("https://app.example.com").build()?;
    /// let guard = OriginGuardLayer::builder().trust_cors(&cors).build()?;
    /// let request = http::Request::post("/orders")
    ///     .header("host", "api.example.com")
    ///     .header("origin", "https://app.example.com")
    ///     .body(())
    ///     .unwrap();
    /// assert!(guard.check_request(&request).is_ok());
    /// # Ok::<_, tower_gateway::ConfigError>(())
    /// ```
    #[cfg(feature = "cors")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cors")))]
    pub fn trust_cors(self, cors: &crate::cors::CorsLayer) -> Self {
        let handle = cors.handle();
        self.trust_origins_where(move |origin| handle.allows_origin(origin))
    }

    /// Sets the public origin of the service, `scheme://host[:port]`, for services behind a
    /// proxy that rewrites `Host`: an `Origin` equal to a public origin matches the target, and
    /// the request's own `Host` or authority is no longer consulted.
    ///
    /// Validated and normalised like [`trust_origin`](Self::trust_origin). Adds (a service
    /// reachable under several names lists each). Default: none, the request's authority (or
    /// `Host`) is the target.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public.push(origin.into());
        self
    }

    /// Sets several public origins, as [`public_origin`](Self::public_origin) each. Adds.
    pub fn public_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.public.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Exempts a path prefix from the check, for endpoints such as webhooks that authenticate
    /// requests another way.
    ///
    /// Matched on the request path (the path the inner service routes on, undecoded) as Go
    /// 1.25.1 matches its bypass patterns: a prefix ending in `/` is a subtree of whole
    /// segments, so `/webhooks/` exempts `/webhooks/` and `/webhooks/stripe` but neither
    /// `/webhooks` nor `/webhooksX/a`; a prefix without a trailing `/` is one exact path, so
    /// `/callback` exempts `/callback` but not `/callback/` nor `/callback/x`. A request
    /// path with a `.` or `..` segment (also percent-encoded, also with a `;` parameter as in
    /// `..;`), an empty segment (`//`), a `\`, or an encoded `/` or `\` is never exempt, so
    /// `/webhooks/../admin` and `/webhooks/..;/admin` get the full check. `build`
    /// refuses a prefix without a leading `/`, with `*`, `{`, `}`, `?`, `#`, whitespace, or the
    /// segments above, and `/` alone (it would exempt everything). Adds. Default: none.
    pub fn bypass_path(mut self, prefix: impl Into<String>) -> Self {
        self.bypass.push(prefix.into());
        self
    }

    /// Exempts several path prefixes, as [`bypass_path`](Self::bypass_path) each. Adds.
    pub fn bypass_paths<I>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.bypass.extend(prefixes.into_iter().map(Into::into));
        self
    }

    /// Lets `Sec-Fetch-Site: same-site` requests through (requests from sibling subdomains,
    /// such as `app.example.com` calling `api.example.com`). Only do this when every subdomain
    /// of the site is trusted. Replaces. Default: `false`, same-site requests are refused unless
    /// their origin is trusted.
    pub fn trust_same_site(mut self, yes: bool) -> Self {
        self.trust_same_site = yes;
        self
    }

    /// Strict mode: refuse a checked request that has neither `Sec-Fetch-Site` nor `Origin`
    /// ([`RejectionKind::MissingHeaders`](super::RejectionKind::MissingHeaders)), for sensitive
    /// endpoints served only to browsers. Such requests come from non-browser clients (curl,
    /// other servers) or very old browsers. Replaces. Default: `false`, they pass.
    pub fn strict(mut self, yes: bool) -> Self {
        self.strict = yes;
        self
    }

    /// Report-only mode: let every request through, but put the [`Rejection`] it would have
    /// got, marked [`is_report_only`](Rejection::is_report_only), in the request extensions
    /// (for the inner service) and in the response extensions (for the access log). Use it to
    /// roll the guard out and watch what it would refuse. Replaces. Default: `false`, enforcing.
    pub fn report_only(mut self, yes: bool) -> Self {
        self.report_only = yes;
        self
    }

    /// Replaces the default `403` answer with the response `builder` makes from the rejection
    /// and the request head. The guard still puts the [`Rejection`] in the answer's extensions.
    /// The builder runs on the request path: it must not block or do I/O. Replaces. Default:
    /// `403 Forbidden`, `Content-Type: text/plain; charset=utf-8`,
    /// `X-Content-Type-Options: nosniff`, the [reason](Rejection::reason) as the body.
    pub fn rejection_response<F>(mut self, builder: F) -> Self
    where
        F: Fn(&Rejection, &Parts) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.response = Some(RejectionResponse(Arc::new(builder)));
        self
    }

    /// Validates every setting and builds the layer.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] listing every bad trusted origin (location `trusted_origins[i]`),
    /// public origin (`public_origins[i]`) and bypass path (`bypass_paths[i]`), each with the
    /// value verbatim and the reason.
    pub fn build(self) -> Result<OriginGuardLayer, ConfigError> {
        let mut problems = Problems::new();
        let mut policy = Policy {
            predicates: self.predicates,
            trust_same_site: self.trust_same_site,
            strict: self.strict,
            report_only: self.report_only,
            response: self.response,
            ..Policy::default()
        };
        for (i, value) in self.trusted.iter().enumerate() {
            match parse_ip_canonical(value) {
                Ok(canonical) => {
                    let text = canonical.as_deref().unwrap_or(value);
                    if let Ok(origin) = parse_config_origin(text) {
                        policy
                            .trusted
                            .insert(origin.normalized(text).as_bytes().into());
                    }
                }
                Err(error) => problems.push(origin_problem(
                    "trusted origin",
                    value,
                    error,
                    format!("trusted_origins[{i}]"),
                )),
            }
        }
        for (i, value) in self.public.iter().enumerate() {
            match parse_ip_canonical(value) {
                Ok(canonical) => {
                    let text = canonical.as_deref().unwrap_or(value);
                    if let Ok(origin) = parse_config_origin(text) {
                        let public = PublicOrigin::from_ref(&origin);
                        if !policy.public.contains(&public) {
                            policy.public.push(public);
                        }
                    }
                }
                Err(error) => problems.push(origin_problem(
                    "public origin",
                    value,
                    error,
                    format!("public_origins[{i}]"),
                )),
            }
        }
        for (i, value) in self.bypass.iter().enumerate() {
            let location = format!("bypass_paths[{i}]");
            if value == "/" {
                problems.push(
                    Problem::new(
                        MODULE,
                        ProblemKind::Unsafe,
                        value.as_str(),
                        "bypass path \"/\" exempts every request; remove the guard instead",
                    )
                    .with_location(location),
                );
                continue;
            }
            match bypass::validate(value) {
                Ok(()) => policy.bypass.push(value),
                Err(error) => problems.push(
                    Problem::new(
                        MODULE,
                        match error {
                            BypassError::NoLeadingSlash => ProblemKind::Syntax,
                            _ => ProblemKind::Invalid,
                        },
                        value.as_str(),
                        format!("bypass path {value:?} {}", error.explain()),
                    )
                    .with_location(location),
                ),
            }
        }
        problems.finish(|| OriginGuardLayer::from_policy(policy))
    }
}

fn origin_problem(what: &str, value: &str, error: OriginError, location: String) -> Problem {
    let kind = match error {
        OriginError::Null => ProblemKind::Unsafe,
        OriginError::Path
        | OriginError::Query
        | OriginError::Fragment
        | OriginError::Userinfo
        | OriginError::BadScheme
        | OriginError::NonAscii => ProblemKind::Invalid,
        OriginError::Empty
        | OriginError::Malformed
        | OriginError::NoScheme
        | OriginError::BadHost
        | OriginError::BadPort => ProblemKind::Syntax,
    };
    Problem::new(
        MODULE,
        kind,
        value,
        format!(
            "{what} {value:?} {}; expected scheme://host[:port]",
            error.explain()
        ),
    )
    .with_location(location)
}

/// Parses a configured origin and, when its host is an IP address written otherwise than
/// browsers serialize it, the origin rewritten with the serialized host (`http://[0::1]` is
/// `http://[::1]`). An invalid IPv6 literal, or an IPv4 address that is not a dotted quad
/// (`127.1`, `0x7f.0.0.1`), is refused: no browser sends it.
fn parse_ip_canonical(value: &str) -> Result<Option<String>, OriginError> {
    let origin = parse_config_origin(value)?;
    let canonical =
        crate::util::host::canonical_ip_host(origin.host).map_err(|()| OriginError::BadHost)?;
    Ok(canonical.map(|host| match origin.port {
        Some(port) => format!("{}://{host}:{port}", origin.scheme),
        None => format!("{}://{host}", origin.scheme),
    }))
}
