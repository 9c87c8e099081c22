//! Bypass paths: literal paths (`/callback`) and whole-segment subtrees (`/webhooks/`) that skip
//! the origin check.
//!
//! The lesson of CVE-2025-47910 (Go's `AddInsecureBypassPattern`): the check must decide on the
//! very path the inner service routes on. We never clean or decode the path; instead a path that
//! a later stage could resolve differently (dot segments, empty segments, encoded slashes) is
//! never exempt, so it gets the full check.

/// Why a configured bypass path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BypassError {
    NoLeadingSlash,
    BadCharacter,
    Pattern,
    QueryOrFragment,
    Ambiguous,
}

impl BypassError {
    pub(super) fn explain(self) -> &'static str {
        match self {
            Self::NoLeadingSlash => "does not start with '/'",
            Self::BadCharacter => "contains whitespace, control or non-ASCII characters",
            Self::Pattern => "contains '*', '{' or '}'; bypass paths are literal prefixes",
            Self::QueryOrFragment => "contains '?' or '#'; bypass paths match the path only",
            Self::Ambiguous => {
                "contains a dot segment, an empty segment, a backslash or an encoded slash, \
                 which a request path must never have to be exempt"
            }
        }
    }
}

/// Validates one configured bypass path.
pub(super) fn validate(prefix: &str) -> Result<(), BypassError> {
    if !prefix.starts_with('/') {
        return Err(BypassError::NoLeadingSlash);
    }
    if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BypassError::BadCharacter);
    }
    if prefix.contains(['*', '{', '}']) {
        return Err(BypassError::Pattern);
    }
    if prefix.contains(['?', '#']) {
        return Err(BypassError::QueryOrFragment);
    }
    // "/" alone is a valid (if reckless) prefix; otherwise the same rules as request paths.
    if prefix != "/" && is_ambiguous(prefix) {
        return Err(BypassError::Ambiguous);
    }
    Ok(())
}

/// Whether `prefix` covers `path`, as Go 1.25.1's `ServeMux` patterns do after the
/// CVE-2025-47910 fix (go.dev/issue/75054): a prefix ending in `/` is a subtree of whole
/// segments, a prefix without one is that path only.
///
/// `/webhooks/` covers `/webhooks/` and `/webhooks/stripe` but not `/webhooks`;
/// `/webhooks` covers `/webhooks` only, not `/webhooks/` nor `/webhooks/stripe` nor `/webhooksX`.
pub(super) fn covers(prefix: &str, path: &str) -> bool {
    if prefix.ends_with('/') {
        path.starts_with(prefix)
    } else {
        path == prefix
    }
}

/// Whether a path has a segment that another stage could resolve to a different path: `.` or
/// `..` (also percent-encoded, also with a `;` parameter as in `..;`, which servlet containers
/// resolve as `..`), an empty segment (`//`), a `\` (read as `/` by some servers), or an
/// encoded `/` or `\`.
pub(super) fn is_ambiguous(path: &str) -> bool {
    if path.contains('\\') {
        return true;
    }
    let body = path.strip_prefix('/').unwrap_or(path);
    let mut segments = body.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        // A trailing empty segment is the trailing slash of "/a/": fine.
        if segment.is_empty() && !last {
            return true;
        }
        // The segment without its `;` parameters, as a servlet container reads it.
        let name = segment.split(';').next().unwrap_or(segment);
        if is_dot_segment(name) || has_encoded_separator(segment) {
            return true;
        }
    }
    false
}

fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix(b".") {
            rest = tail;
        } else if rest.len() >= 3
            && rest.starts_with(b"%")
            && rest
                .get(1..3)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"2e"))
        {
            rest = rest.get(3..).unwrap_or(&[]);
        } else {
            return false;
        }
        dots += 1;
    }
    dots == 1 || dots == 2
}

fn has_encoded_separator(segment: &str) -> bool {
    segment.as_bytes().windows(3).any(|w| {
        w.first() == Some(&b'%')
            && (w
                .get(1..3)
                .is_some_and(|h| h.eq_ignore_ascii_case(b"2f") || h.eq_ignore_ascii_case(b"5c")))
    })
}

/// The configured bypass paths.
#[derive(Clone, Debug, Default)]
pub(super) struct BypassPaths {
    prefixes: Vec<Box<str>>,
}

impl BypassPaths {
    pub(super) fn push(&mut self, prefix: &str) {
        if !self.prefixes.iter().any(|p| &**p == prefix) {
            self.prefixes.push(prefix.into());
        }
    }

    /// Whether the request path is exempt.
    pub(super) fn exempts(&self, path: &str) -> bool {
        !self.prefixes.is_empty()
            && !is_ambiguous(path)
            && self.prefixes.iter().any(|prefix| covers(prefix, path))
    }
}
