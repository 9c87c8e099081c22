//! [`ConfigError`]: every configuration problem of a layer, reported at once.
//!
//! Every builder in this crate ends in `build() -> Result<_, ConfigError>`. Validation does not
//! stop at the first bad value: the error lists every [`Problem`], each naming the module that
//! found it, the offending value verbatim and why it was refused.
//!
//! ```
//! use tower_gateway::error::{ConfigError, Problem, ProblemKind};
//!
//! let error = ConfigError::from(vec![
//!     Problem::new("router", ProblemKind::Syntax, "users", "template \"users\" does not start with '/'"),
//!     Problem::new("router", ProblemKind::Duplicate, "GET /x", "route \"GET /x\" is defined twice"),
//! ]);
//! assert_eq!(error.problems().len(), 2);
//! assert_eq!(error.problems()[0].value(), "users");
//! assert_eq!(
//!     error.to_string(),
//!     "2 configuration problems: router: template \"users\" does not start with '/'; \
//!      router: route \"GET /x\" is defined twice"
//! );
//! ```

use std::fmt;

/// Every problem found while validating one configuration.
///
/// It is never empty. `Display` prints a single problem as `module: reason`, and several as
/// `N configuration problems: a; b; c`. The text is for people; match on
/// [`Problem::kind`] and [`Problem::value`] in code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// One problem, as an error.
    #[must_use]
    pub fn new(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// The problems, in the order they were found.
    #[must_use]
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Consumes the error and returns its problems.
    #[must_use]
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Prefixes every problem's location with `prefix` (for example `routes[3]`), so an error
    /// from a nested configuration says where in the whole configuration it comes from.
    #[must_use]
    pub fn at(mut self, prefix: &str) -> Self {
        for problem in &mut self.problems {
            problem.location = Some(match problem.location.take() {
                Some(inner) if inner.starts_with('[') => format!("{prefix}{inner}"),
                Some(inner) => format!("{prefix}.{inner}"),
                None => prefix.to_owned(),
            });
        }
        self
    }
}

impl From<Problem> for ConfigError {
    fn from(problem: Problem) -> Self {
        Self::new(problem)
    }
}

/// # Panics
///
/// Panics when `problems` is empty: an error with nothing wrong in it is a programmer error.
impl From<Vec<Problem>> for ConfigError {
    #[track_caller]
    fn from(problems: Vec<Problem>) -> Self {
        assert!(
            !problems.is_empty(),
            "a ConfigError needs at least one problem"
        );
        Self { problems }
    }
}

impl IntoIterator for ConfigError {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.into_iter()
    }
}

impl<'a> IntoIterator for &'a ConfigError {
    type Item = &'a Problem;
    type IntoIter = std::slice::Iter<'a, Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.iter()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => one.fmt(f),
            many => {
                write!(f, "{} configuration problems: ", many.len())?;
                for (i, problem) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    problem.fmt(f)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// What kind of mistake a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The value does not parse (a template with an unclosed brace, an origin without a scheme).
    Syntax,
    /// The value parses but is not allowed here (a forbidden header name, a path in an origin).
    Invalid,
    /// A number outside its range (a max-age over a day, a weight over 100%).
    OutOfRange,
    /// The same thing is defined twice.
    Duplicate,
    /// Two values that each make sense cannot be told apart (two routes that match the same
    /// requests with the same priority). The problem's `related` value names the other one.
    Conflict,
    /// A combination the standards forbid or that would be unsafe (`*` origins with credentials).
    Unsafe,
    /// A name that refers to nothing (an unknown service, an unknown log variable).
    Unknown,
}

/// One configuration problem: which module found it, the offending value, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    module: &'static str,
    kind: ProblemKind,
    value: String,
    reason: String,
    related: Option<String>,
    location: Option<String>,
}

impl Problem {
    /// A problem that `module` (for example `"cors"`) found with `value`.
    ///
    /// `reason` is a lower-case sentence without a trailing period that quotes the value, for
    /// example `origin "https://a.example/" has a path; expected scheme://host[:port]`.
    #[must_use]
    pub fn new(
        module: &'static str,
        kind: ProblemKind,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            module,
            kind,
            value: value.into(),
            reason: reason.into(),
            related: None,
            location: None,
        }
    }

    /// Names the other value in a [`ProblemKind::Conflict`] (or the first definition of a
    /// [`ProblemKind::Duplicate`]).
    #[must_use]
    pub fn with_related(mut self, related: impl Into<String>) -> Self {
        self.related = Some(related.into());
        self
    }

    /// Says where in a larger configuration the value stands (for example `routes[3].path`).
    #[must_use]
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// The module that found the problem: `"router"`, `"cors"`, `"origin"`, `"canary"`,
    /// `"access_log"`, `"metrics"`, `"gateway"` or `"upstream"`.
    #[must_use]
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// What kind of mistake this is.
    #[must_use]
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The offending value, verbatim.
    #[must_use]
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Why the value was refused.
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The other value of a conflict or duplicate, if any.
    #[must_use]
    pub fn related(&self) -> Option<&str> {
        self.related.as_deref()
    }

    /// Where in a larger configuration the value stands, if known.
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "{}: {}", self.module, self.reason)
    }
}

/// Collects problems while a builder validates, then turns them into a result.
#[derive(Debug, Default)]
#[allow(dead_code)] // used by whichever layers are enabled
pub(crate) struct Problems(Vec<Problem>);

#[allow(dead_code)] // used by whichever layers are enabled
impl Problems {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub(crate) fn extend(&mut self, error: ConfigError) {
        self.0.extend(error.problems);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value())` when nothing was found, else every problem.
    pub(crate) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ConfigError { problems: self.0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_problem_displays_module_and_reason() {
        let e = ConfigError::new(Problem::new(
            "cors",
            ProblemKind::Invalid,
            "https://a.example/",
            "origin \"https://a.example/\" has a path; expected scheme://host[:port]",
        ));
        assert_eq!(
            e.to_string(),
            "cors: origin \"https://a.example/\" has a path; expected scheme://host[:port]"
        );
    }

    #[test]
    fn location_prefixes_nest() {
        let e = ConfigError::new(
            Problem::new("router", ProblemKind::Syntax, "x", "bad").with_location("path"),
        )
        .at("[3]")
        .at("routes");
        assert_eq!(e.problems()[0].location(), Some("routes[3].path"));
        assert_eq!(e.to_string(), "routes[3].path: router: bad");
    }

    #[test]
    fn problems_finish() {
        let mut p = Problems::new();
        assert!(p.is_empty());
        p.push(Problem::new(
            "canary",
            ProblemKind::OutOfRange,
            "101",
            "too big",
        ));
        let e = p.finish(|| ()).unwrap_err();
        assert_eq!(e.problems()[0].kind(), ProblemKind::OutOfRange);
        assert_eq!(Problems::new().finish(|| 5), Ok(5));
    }
}
