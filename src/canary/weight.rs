//! [`Weight`]: an exact share of traffic, in parts per million.

use std::fmt;
use std::str::FromStr;

use crate::error::{ConfigError, Problem, ProblemKind};

/// Parts per million in 100%.
pub(super) const MILLION: u32 = 1_000_000;

/// An exact weight: an integer number of parts per million (ppm), from 0 to 1,000,000 (100%).
///
/// Text, `f64` and integers are read as a percentage; text and `f64` are *rounded* to the
/// nearest ppm, never truncated: `"0.57"`, `"0.57%"` and `0.57_f64` are all exactly 5,700 ppm,
/// and the integer `10` is 10%. A weight that is not valid
/// (NaN, infinite, negative, over 100%, more precise than a ppm, not a number) is kept with its
/// problem and reported, together with every other problem, when the split is built; use
/// [`Weight::parse`] or [`Weight::to_ppm`] to check one on its own.
///
/// In the two-arm form ([`CanaryLayer::new`](super::CanaryLayer::new)) the canary's weight is its
/// share of traffic and the stable arm gets the rest. In the generalised form each arm's share
/// is its weight divided by the sum of all weights, as in Gateway API `backendRefs`.
///
/// ```
/// use tower_gateway::canary::Weight;
///
/// assert_eq!(Weight::from("0.57%").to_ppm(), Ok(5_700));
/// assert_eq!(Weight::from(0.57).to_ppm(), Ok(5_700));
/// assert_eq!(Weight::from(10).to_ppm(), Ok(100_000)); // integers are whole percentages
/// assert_eq!("12.5".parse::<Weight>()?, Weight::ppm(125_000));
/// assert_eq!(Weight::ppm(5_700).to_string(), "0.57%");
/// assert!(Weight::from(f64::NAN).to_ppm().is_err());
/// assert!("101%".parse::<Weight>().is_err());
/// # Ok::<_, tower_gateway::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Weight(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    Ppm(u32),
    Invalid(Box<Problem>),
}

impl Weight {
    /// No traffic (0 ppm).
    pub const ZERO: Self = Self(Repr::Ppm(0));

    /// All traffic (1,000,000 ppm).
    pub const FULL: Self = Self(Repr::Ppm(MILLION));

    /// `ppm` parts per million. More than 1,000,000 is reported as a problem when used.
    pub const fn ppm(ppm: u32) -> Self {
        Self(Repr::Ppm(ppm))
    }

    /// `percent` percent, rounded to the nearest ppm. NaN, infinities, negatives, more than
    /// 100 and more precision than a ppm are reported as problems when used.
    pub fn percent(percent: f64) -> Self {
        match percent_to_ppm(percent) {
            Ok(ppm) => Self(Repr::Ppm(ppm)),
            Err(problem) => Self(Repr::Invalid(Box::new(problem))),
        }
    }

    /// Parses a percentage written in decimal: `"10"`, `"0.57"`, `"12.5%"`, `"100%"`, with at
    /// most four decimal places that are not zero (one ppm is 0.0001%).
    ///
    /// # Errors
    ///
    /// The text is not a decimal number, is negative, is over 100%, or is more precise than a
    /// ppm. The error names the text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        parse_percent(text)
            .map(|ppm| Self(Repr::Ppm(ppm)))
            .map_err(ConfigError::new)
    }

    /// The weight in parts per million.
    ///
    /// # Errors
    ///
    /// The weight was made from an invalid value (see the type's docs); the error names it.
    pub fn to_ppm(&self) -> Result<u32, ConfigError> {
        self.check().map_err(ConfigError::new)
    }

    pub(super) fn check(&self) -> Result<u32, Problem> {
        match &self.0 {
            Repr::Ppm(ppm) if *ppm <= MILLION => Ok(*ppm),
            Repr::Ppm(ppm) => Err(Problem::new(
                "canary",
                ProblemKind::OutOfRange,
                ppm.to_string(),
                format!("weight of {ppm} ppm is over 100% (1000000 ppm)"),
            )),
            Repr::Invalid(problem) => Err((**problem).clone()),
        }
    }
}

impl Default for Weight {
    /// [`Weight::ZERO`].
    fn default() -> Self {
        Self::ZERO
    }
}

impl From<f64> for Weight {
    /// [`Weight::percent`].
    fn from(percent: f64) -> Self {
        Self::percent(percent)
    }
}

impl From<u32> for Weight {
    /// A whole percentage, as the text `"10"` and the `f64` `10.0` are: `10` is 10%
    /// (100,000 ppm). Over 100 is reported as a problem when used; use [`Weight::ppm`] for parts
    /// per million.
    fn from(percent: u32) -> Self {
        if percent <= 100 {
            Self(Repr::Ppm(percent * 10_000))
        } else {
            Self(Repr::Invalid(Box::new(problem(
                ProblemKind::OutOfRange,
                &percent.to_string(),
                "is over 100%",
            ))))
        }
    }
}

impl From<i32> for Weight {
    /// A whole percentage, as [`From<u32>`](#impl-From%3Cu32%3E-for-Weight): `10` is 10% (an
    /// integer literal such as `CanaryLayer::new(canary, 10)` lands here). Negative or over
    /// 100 is reported as a problem when used.
    fn from(percent: i32) -> Self {
        match u32::try_from(percent) {
            Ok(percent) => Self::from(percent),
            Err(_) => Self(Repr::Invalid(Box::new(problem(
                ProblemKind::OutOfRange,
                &percent.to_string(),
                "is negative",
            )))),
        }
    }
}

impl From<&str> for Weight {
    /// [`Weight::parse`], keeping a problem to report when the split is built.
    fn from(text: &str) -> Self {
        match parse_percent(text) {
            Ok(ppm) => Self(Repr::Ppm(ppm)),
            Err(problem) => Self(Repr::Invalid(Box::new(problem))),
        }
    }
}

impl From<String> for Weight {
    /// [`Weight::parse`], keeping a problem to report when the split is built.
    fn from(text: String) -> Self {
        Self::from(text.as_str())
    }
}

impl FromStr for Weight {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text)
    }
}

impl fmt::Display for Weight {
    /// A valid weight as an exact percentage (`"0.57%"`, `"100%"`); an invalid one as the value
    /// it was made from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Ppm(ppm) if *ppm <= MILLION => f.write_str(&percent_text(u64::from(*ppm))),
            Repr::Ppm(ppm) => write!(f, "{ppm} ppm"),
            Repr::Invalid(problem) => f.write_str(problem.value()),
        }
    }
}

/// `ppm` as an exact percentage: `5700` is `"0.57%"`.
pub(super) fn percent_text(ppm: u64) -> String {
    let (whole, frac) = (ppm / 10_000, ppm % 10_000);
    if frac == 0 {
        format!("{whole}%")
    } else {
        let digits = format!("{frac:04}");
        format!("{whole}.{}%", digits.trim_end_matches('0'))
    }
}

fn problem(kind: ProblemKind, value: &str, why: &str) -> Problem {
    Problem::new("canary", kind, value, format!("weight {value:?} {why}"))
}

/// Rounds a percentage to ppm, refusing what is not an exact share.
fn percent_to_ppm(percent: f64) -> Result<u32, Problem> {
    let value = percent.to_string();
    if percent.is_nan() {
        return Err(problem(ProblemKind::Invalid, &value, "is not a number"));
    }
    if percent.is_infinite() {
        return Err(problem(ProblemKind::OutOfRange, &value, "is infinite"));
    }
    if percent < 0.0 {
        return Err(problem(ProblemKind::OutOfRange, &value, "is negative"));
    }
    if percent > 100.0 {
        return Err(problem(ProblemKind::OutOfRange, &value, "is over 100%"));
    }
    let scaled = percent * 10_000.0;
    let rounded = scaled.round();
    // A percentage with at most four decimals lands within a few ulps of an integer here
    // (0.57 * 10^4 = 5699.999999999999); anything further off, relative to its size, asks for
    // more than a ppm (so a positive share far below one ppm, such as 1e-11, is not 0%).
    if (scaled - rounded).abs() > scaled * 4.0 * f64::EPSILON {
        return Err(problem(
            ProblemKind::Invalid,
            &value,
            "is more precise than a part per million (0.0001%)",
        ));
    }
    // In range: 0 <= rounded <= 1_000_000, so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked above
    Ok(rounded as u32)
}

/// Parses `[-]digits[.digits][%]` as a percentage, exactly.
fn parse_percent(text: &str) -> Result<u32, Problem> {
    let syntax = || {
        problem(
            ProblemKind::Syntax,
            text,
            "is not a percentage; expected a decimal number such as \"10\", \"0.57\" or \"12.5%\"",
        )
    };
    let number = text.trim();
    let number = number.strip_suffix('%').unwrap_or(number);
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return Err(syntax());
    }
    if number.ends_with('.') {
        return Err(syntax());
    }
    let mut ppm: u64 = 0;
    for digit in whole.bytes() {
        ppm = ppm
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'));
    }
    ppm = ppm.saturating_mul(10_000);
    let mut scale = 1_000;
    let mut too_precise = false;
    for digit in frac.bytes() {
        let digit = u64::from(digit - b'0');
        if scale == 0 {
            too_precise |= digit != 0;
        } else {
            ppm += digit * scale;
            scale /= 10;
        }
    }
    if negative && ppm != 0 {
        return Err(problem(ProblemKind::OutOfRange, text, "is negative"));
    }
    if ppm > u64::from(MILLION) {
        return Err(problem(ProblemKind::OutOfRange, text, "is over 100%"));
    }
    if too_precise {
        return Err(problem(
            ProblemKind::Invalid,
            text,
            "is more precise than a part per million (0.0001%)",
        ));
    }
    u32::try_from(ppm).map_err(|_| syntax())
}
