//! Path templates: `/pets/{id}`, `/assets/{name}.css`, `/files/{*rest}` (also `{proxy+}`).

use crate::error::ProblemKind;

/// Templates longer than this many segments are refused (they would only make the matcher's
/// recursion deeper; no real API comes close).
pub(crate) const MAX_SEGMENTS: usize = 512;

/// One segment of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matches exactly these bytes.
    Static(Box<str>),
    /// `prefix{name}suffix`: one or more bytes between a static prefix and suffix, inside one
    /// segment. A plain `{name}` has both empty.
    Param {
        prefix: Box<str>,
        suffix: Box<str>,
        name: Box<str>,
    },
    /// `{*name}` or `{name+}`: one or more bytes up to the end of the path, slashes included.
    CatchAll { name: Box<str> },
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    /// The names of the template's params, in order.
    pub(crate) fn param_names(&self) -> Vec<Box<str>> {
        self.segments
            .iter()
            .filter_map(|s| match s {
                Segment::Static(_) => None,
                Segment::Param { name, .. } | Segment::CatchAll { name } => Some(name.clone()),
            })
            .collect()
    }

    /// Parses `text`, reporting every problem in it.
    pub(crate) fn parse(text: &str) -> Result<Self, Vec<(ProblemKind, String)>> {
        let problem = |kind, reason: String| (kind, reason);
        let mut problems = Vec::new();
        let Some(rest) = text.strip_prefix('/') else {
            return Err(vec![problem(
                ProblemKind::Syntax,
                format!("template {text:?} does not start with '/'"),
            )]);
        };
        let raw: Vec<&str> = rest.split('/').collect();
        if raw.len() > MAX_SEGMENTS {
            return Err(vec![problem(
                ProblemKind::OutOfRange,
                format!(
                    "template {:?} has {} segments; at most {MAX_SEGMENTS} are supported",
                    shorten(text),
                    raw.len()
                ),
            )]);
        }
        // A request path never holds these (the query and fragment are not part of it), so a
        // template with one would be a route that can never match.
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            problems.push(problem(
                ProblemKind::Syntax,
                format!(
                    "template {:?} contains {c:?}; a request path never holds whitespace or \
                     control characters (write them percent-encoded)",
                    shorten(text)
                ),
            ));
        }
        if let Some(c) = text.chars().find(|c| matches!(c, '?' | '#')) {
            problems.push(problem(
                ProblemKind::Syntax,
                format!(
                    "template {:?} contains {c:?}; a template matches the path only, never the \
                     query or fragment",
                    shorten(text)
                ),
            ));
        }
        let mut segments = Vec::with_capacity(raw.len());
        let mut names: Vec<&str> = Vec::new();
        for (i, seg) in raw.iter().enumerate() {
            match parse_segment(seg) {
                Ok(parsed) => {
                    if let Segment::CatchAll { .. } = parsed {
                        if i + 1 != raw.len() {
                            problems.push(problem(
                                ProblemKind::Syntax,
                                format!(
                                    "template {text:?}: catch-all {seg:?} must be the last segment"
                                ),
                            ));
                        }
                    }
                    if let Segment::Param { name, .. } | Segment::CatchAll { name } = &parsed {
                        let name_ref: &str = name;
                        if let Some(prev) = names.iter().find(|n| **n == name_ref) {
                            problems.push(problem(
                                ProblemKind::Duplicate,
                                format!("template {text:?} uses the param name {prev:?} twice"),
                            ));
                        }
                    }
                    segments.push(parsed);
                }
                Err(why) => problems.push(problem(
                    ProblemKind::Syntax,
                    format!("template {text:?}: segment {seg:?} {why}"),
                )),
            }
            if let Some(name) = param_name_of(seg) {
                names.push(name);
            }
        }
        if problems.is_empty() {
            Ok(Self { segments })
        } else {
            Err(problems)
        }
    }
}

/// The name of the param in a raw segment, if it parses as one (for duplicate-name checks).
fn param_name_of(seg: &str) -> Option<&str> {
    let open = seg.find('{')?;
    let close = seg[open..].find('}')? + open;
    let inner = &seg[open + 1..close];
    let name = inner
        .strip_prefix('*')
        .or_else(|| inner.strip_suffix('+'))
        .unwrap_or(inner);
    (!name.is_empty()).then_some(name)
}

fn parse_segment(seg: &str) -> Result<Segment, &'static str> {
    let Some(open) = seg.find('{') else {
        if seg.contains('}') {
            return Err("has a '}' without a matching '{'");
        }
        return Ok(Segment::Static(seg.into()));
    };
    let after = &seg[open + 1..];
    let Some(close_rel) = after.find('}') else {
        return Err("has an unclosed '{'");
    };
    let inner = &after[..close_rel];
    if inner.contains('{') {
        return Err("has a '{' inside a param");
    }
    let prefix = &seg[..open];
    let suffix = &after[close_rel + 1..];
    if suffix.contains('{') {
        return Err("has two params; a segment holds at most one");
    }
    if suffix.contains('}') {
        return Err("has a '}' without a matching '{'");
    }
    let (name, catch_all) = if let Some(name) = inner.strip_prefix('*') {
        (name, true)
    } else if let Some(name) = inner.strip_suffix('+') {
        (name, true)
    } else {
        (inner, false)
    };
    if name.is_empty() {
        return Err("has a param without a name");
    }
    if name.contains(['*', '+']) {
        return Err("has a param name with '*' or '+' inside it");
    }
    if catch_all {
        if !prefix.is_empty() || !suffix.is_empty() {
            return Err("has a catch-all that is not the whole segment");
        }
        return Ok(Segment::CatchAll { name: name.into() });
    }
    Ok(Segment::Param {
        prefix: prefix.into(),
        suffix: suffix.into(),
        name: name.into(),
    })
}

/// A long value cut for an error message.
pub(crate) fn shorten(text: &str) -> &str {
    match text.char_indices().nth(80) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> Segment {
        parse_segment(s).unwrap()
    }

    #[test]
    fn segments() {
        assert_eq!(seg("pets"), Segment::Static("pets".into()));
        assert_eq!(seg(""), Segment::Static("".into()));
        assert_eq!(
            seg("{id}"),
            Segment::Param {
                prefix: "".into(),
                suffix: "".into(),
                name: "id".into()
            }
        );
        assert_eq!(
            seg("img-{id}.png"),
            Segment::Param {
                prefix: "img-".into(),
                suffix: ".png".into(),
                name: "id".into()
            }
        );
        assert_eq!(
            seg("{*rest}"),
            Segment::CatchAll {
                name: "rest".into()
            }
        );
        assert_eq!(
            seg("{proxy+}"),
            Segment::CatchAll {
                name: "proxy".into()
            }
        );
    }

    #[test]
    fn bad_segments() {
        for bad in [
            "{", "{id", "}", "a}", "{}", "{*}", "{+}", "{a}{b}", "{a}-{b}", "x{*r}", "{*r}.x",
            "{a{b}}", "{a*b}",
        ] {
            assert!(parse_segment(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn templates() {
        assert!(Template::parse("/").is_ok());
        assert!(Template::parse("users").is_err());
        assert!(Template::parse("").is_err());
        assert!(Template::parse("/x/{*a}/b").is_err());
        assert!(Template::parse("/x/{a}/{a}").is_err());
        let t = Template::parse("/a/{b}/c.{d}/{*e}").unwrap();
        assert_eq!(
            t.param_names(),
            vec![Box::from("b"), Box::from("d"), Box::from("e")]
        );
        // Every problem is reported.
        let errs = Template::parse("/{a/{}/x/{*r}/y").unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
    }
}
