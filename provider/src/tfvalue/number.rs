//! Numbers as cty sees them: arbitrary precision, compared by value.
//!
//! cty numbers are big floats; Terraform sends an integer as a msgpack int, a number that is an
//! exact `f64` as a float, and anything else as a string holding its decimal text. [`Number`]
//! keeps all three without loss. Each numeric value has exactly one representation (an integer
//! in `i64` range is always held as an integer, an exact `f64` as a float, the rest as a
//! canonical decimal), so equality is numeric: `1 == 1.0`.
//!
//! This is not an arithmetic library: there is no addition or ordering, only construction,
//! parsing, display and conversion to `i64` and `f64`.

use std::fmt;
use std::str::FromStr;

/// Errors parsing a number from text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseNumberError {
    /// The text is not a decimal number.
    #[error("{text:?} is not a decimal number")]
    Syntax {
        /// The text as given (cut at 64 characters).
        text: String,
    },
    /// The exponent is too large to represent.
    #[error("the exponent of {text:?} is out of range")]
    ExponentOutOfRange {
        /// The text as given (cut at 64 characters).
        text: String,
    },
}

/// An arbitrary-precision number.
///
/// Built from an `i64`, an `f64` (infinities included) or decimal text. `NaN` is not a cty
/// number: [`Number::from_f64`] accepts it for convenience, but it equals nothing and the
/// encoders and [`Value::conforms_to`](super::Value::conforms_to) reject it.
///
/// # Examples
///
/// ```
/// use terraform_provider_quay::tfvalue::Number;
///
/// assert_eq!(Number::from_i64(3), Number::from_f64(3.0));
/// let big: Number = "123456789012345678901234567890".parse().unwrap();
/// assert_eq!(big.as_i64(), None);
/// assert_eq!(big.to_string(), "123456789012345678901234567890");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Number(Repr);

#[derive(Clone, Debug, PartialEq)]
enum Repr {
    /// Any integer in `i64` range, including zero.
    Int(i64),
    /// An `f64` that is not an integer in `i64` range (infinities included); never `-0.0`.
    Float(f64),
    /// A value that is neither of the above, exactly.
    Big(Decimal),
}

/// `±digits × 10^exponent` with no leading or trailing zeros in `digits` (so never zero).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// The most significant digits any finite `f64` has in its exact decimal expansion.
const F64_MAX_SIGNIFICANT_DIGITS: usize = 767;

/// Exponent magnitudes beyond this are refused: no cty value needs them, and they would make
/// the decimal text of a number absurdly long.
const MAX_EXPONENT: i64 = 1_000_000_000;

impl Number {
    /// A number from an integer.
    #[must_use]
    pub fn from_i64(i: i64) -> Self {
        Self(Repr::Int(i))
    }

    /// A number from an unsigned integer (above `i64::MAX` it is kept exactly).
    #[must_use]
    pub fn from_u64(u: u64) -> Self {
        if let Ok(i) = i64::try_from(u) {
            return Self(Repr::Int(i));
        }
        #[allow(
            clippy::cast_precision_loss,
            reason = "the round trip below detects any loss"
        )]
        let f = u as f64;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "guarded by the range check; the comparison detects any loss"
        )]
        // 2^64 is the first f64 beyond u64 range: below it the cast back cannot saturate.
        if f < 18_446_744_073_709_551_616.0 && f as u64 == u {
            return Self(Repr::Float(f));
        }
        Self(Repr::Big(Decimal::from_integer_text(false, &u.to_string())))
    }

    /// A number from a float. Integral values in `i64` range become integers.
    #[must_use]
    pub fn from_f64(f: f64) -> Self {
        // -2^63 is exact; 2^63 is the first float above i64::MAX.
        if f.fract() == 0.0
            && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
        {
            #[allow(
                clippy::cast_possible_truncation,
                reason = "integral and in range, checked above"
            )]
            return Self(Repr::Int(f as i64));
        }
        Self(Repr::Float(f))
    }

    /// The value as an `i64`, if it is an integer in range.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Int(i) => Some(i),
            // Normalisation keeps every in-range integer in `Int`.
            Repr::Float(_) | Repr::Big(_) => None,
        }
    }

    /// The value as a `u64`, if it is a non-negative integer in range.
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(i) => u64::try_from(*i).ok(),
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "integral, positive and below 2^64, checked in the guard"
            )]
            Repr::Float(f) if f.fract() == 0.0 && *f > 0.0 && *f < 18_446_744_073_709_551_616.0 => {
                Some(*f as u64)
            }
            Repr::Big(d) if !d.negative && d.exponent >= 0 => {
                let zeros = usize::try_from(d.exponent).ok()?;
                format!("{}{}", d.digits, "0".repeat(zeros.min(20)))
                    .parse()
                    .ok()
            }
            Repr::Float(_) | Repr::Big(_) => None,
        }
    }

    /// The nearest `f64`, or `None` when the value is finite but beyond `f64` range (and for
    /// `NaN`). Large integers and long decimals lose precision.
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match &self.0 {
            #[allow(clippy::cast_precision_loss, reason = "documented as the nearest f64")]
            Repr::Int(i) => Some(*i as f64),
            Repr::Float(f) if f.is_nan() => None,
            Repr::Float(f) => Some(*f),
            Repr::Big(d) => d.to_f64().filter(|f| f.is_finite()),
        }
    }

    /// Whether this is a whole number (of any size).
    #[must_use]
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Float(f) => f.is_finite() && f.fract() == 0.0,
            Repr::Big(d) => d.exponent >= 0,
        }
    }

    /// Whether this is `NaN`, which no encoder accepts.
    #[must_use]
    pub fn is_nan(&self) -> bool {
        matches!(self.0, Repr::Float(f) if f.is_nan())
    }

    /// The wire form: what msgpack writes for this number.
    pub(crate) fn wire(&self) -> WireNumber {
        match &self.0 {
            Repr::Int(i) => WireNumber::Int(*i),
            Repr::Float(f) => WireNumber::Float(*f),
            Repr::Big(d) => WireNumber::Text(d.to_string()),
        }
    }
}

/// How a number goes on the wire: cty writes an int, else an exact float, else decimal text.
pub(crate) enum WireNumber {
    Int(i64),
    Float(f64),
    Text(String),
}

impl From<i64> for Number {
    fn from(i: i64) -> Self {
        Self::from_i64(i)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Self {
        Self::from_i64(i64::from(i))
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Self {
        Self::from_i64(i64::from(u))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Self {
        Self::from_u64(u)
    }
}

impl From<f64> for Number {
    fn from(f: f64) -> Self {
        Self::from_f64(f)
    }
}

impl FromStr for Number {
    type Err = ParseNumberError;

    /// Parses decimal text: `-12`, `3.25`, `1e400`, `.5`, `+Inf`. Whitespace is not allowed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let short = || text.chars().take(64).collect::<String>();
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
            return Ok(Self(Repr::Float(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })));
        }
        let decimal = match Decimal::parse(negative, unsigned) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(Self(Repr::Int(0))),
            Err(DecimalError::Syntax) => return Err(ParseNumberError::Syntax { text: short() }),
            Err(DecimalError::Exponent) => {
                return Err(ParseNumberError::ExponentOutOfRange { text: short() });
            }
        };
        Ok(Self::from_decimal(decimal))
    }
}

impl Number {
    /// Normalises an exact decimal into the one representation it must have.
    fn from_decimal(d: Decimal) -> Self {
        if let Some(i) = d.to_i64() {
            return Self(Repr::Int(i));
        }
        if d.digits.len() <= F64_MAX_SIGNIFICANT_DIGITS
            && let Some(f) = d.to_f64()
            && f.is_finite()
            && f != 0.0
            && Decimal::from_f64(f).as_ref() == Some(&d)
        {
            return Self(Repr::Float(f));
        }
        Self(Repr::Big(d))
    }
}

impl fmt::Display for Number {
    /// Decimal text for messages and for the wire form of big decimals.
    ///
    /// Integers and decimals print exactly, and [`FromStr`] reads them back to the same number.
    /// A float prints as the shortest text that reads back as the same `f64` (`0.1`, not the
    /// 55 digits of its exact value), so reading it back gives a number equal to the float only
    /// when the float is that decimal exactly. Infinities are `+Inf` and `-Inf`, as go-cty
    /// writes them; extreme magnitudes use an exponent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Float(x) if x.is_nan() => f.write_str("NaN"),
            Repr::Float(x) if x.is_infinite() => {
                f.write_str(if *x > 0.0 { "+Inf" } else { "-Inf" })
            }
            // Rust's shortest round-trip text, but without hundreds of padding zeros.
            Repr::Float(x) if x.abs() >= 1e21 || x.abs() < 1e-7 => write!(f, "{x:e}"),
            Repr::Float(x) => write!(f, "{x}"),
            Repr::Big(d) => write!(f, "{d}"),
        }
    }
}

/// Why decimal text did not parse.
enum DecimalError {
    Syntax,
    Exponent,
}

impl Decimal {
    /// Parses unsigned decimal text; `Ok(None)` means zero.
    fn parse(negative: bool, text: &str) -> Result<Option<Self>, DecimalError> {
        let (mantissa, exponent_text) = match text.find(['e', 'E']) {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return Err(DecimalError::Syntax);
        }
        let exponent = match exponent_text {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Err(DecimalError::Syntax);
                }
                let magnitude = digits.trim_start_matches('0');
                if magnitude.len() > 12 {
                    return Err(DecimalError::Exponent);
                }
                let magnitude: i64 = if magnitude.is_empty() {
                    0
                } else {
                    magnitude.parse().map_err(|_| DecimalError::Exponent)?
                };
                if e.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                }
            }
        };
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| DecimalError::Exponent)?;
        let mut digits = format!("{int_part}{frac_part}");
        let exponent = exponent
            .checked_sub(frac_len)
            .ok_or(DecimalError::Exponent)?;
        Self::normalise(negative, &mut digits, exponent)
    }

    /// Strips leading and trailing zeros; `Ok(None)` when nothing but zeros remain.
    fn normalise(
        negative: bool,
        digits: &mut String,
        mut exponent: i64,
    ) -> Result<Option<Self>, DecimalError> {
        let leading = digits.len() - digits.trim_start_matches('0').len();
        digits.drain(..leading);
        if digits.is_empty() {
            return Ok(None);
        }
        let trimmed = digits.trim_end_matches('0').len();
        let trailing = i64::try_from(digits.len() - trimmed).map_err(|_| DecimalError::Exponent)?;
        digits.truncate(trimmed);
        exponent = exponent
            .checked_add(trailing)
            .ok_or(DecimalError::Exponent)?;
        // Bound the position of the most significant digit, not just the exponent.
        let len = i64::try_from(digits.len()).map_err(|_| DecimalError::Exponent)?;
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&exponent.saturating_add(len)) {
            return Err(DecimalError::Exponent);
        }
        Ok(Some(Self {
            negative,
            digits: std::mem::take(digits),
            exponent,
        }))
    }

    fn from_integer_text(negative: bool, text: &str) -> Self {
        let mut digits = text.to_owned();
        Self::normalise(negative, &mut digits, 0)
            .ok()
            .flatten()
            .expect("callers pass the non-zero decimal text of a u64")
    }

    /// The exact decimal expansion of a finite non-zero float.
    fn from_f64(f: f64) -> Option<Self> {
        // Scientific notation with enough digits is exact: every f64 has at most 767
        // significant decimal digits.
        let text = format!("{:.*e}", F64_MAX_SIGNIFICANT_DIGITS, f.abs());
        Self::parse(f.is_sign_negative(), &text).ok().flatten()
    }

    fn to_i64(&self) -> Option<i64> {
        let len = i64::try_from(self.digits.len()).ok()?;
        if self.exponent < 0 || len + self.exponent > 19 {
            return None;
        }
        let zeros = usize::try_from(self.exponent).ok()?;
        let magnitude: i128 = format!("{}{}", self.digits, "0".repeat(zeros))
            .parse()
            .ok()?;
        i64::try_from(if self.negative { -magnitude } else { magnitude }).ok()
    }

    /// The nearest float (Rust's parser rounds correctly); infinite when out of range.
    fn to_f64(&self) -> Option<f64> {
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.digits, self.exponent)
            .parse()
            .ok()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        let len = i64::try_from(self.digits.len()).map_err(|_| fmt::Error)?;
        // Position of the decimal point counted from the left of `digits`.
        let point = len + self.exponent;
        if self.exponent >= 0 && self.exponent <= 40 {
            f.write_str(&self.digits)?;
            for _ in 0..self.exponent {
                f.write_str("0")?;
            }
            Ok(())
        } else if self.exponent < 0 && point > 0 {
            let point = usize::try_from(point).map_err(|_| fmt::Error)?;
            write!(f, "{}.{}", &self.digits[..point], &self.digits[point..])
        } else if self.exponent < 0 && point > -40 {
            f.write_str("0.")?;
            for _ in point..0 {
                f.write_str("0")?;
            }
            f.write_str(&self.digits)
        } else {
            let (first, rest) = self.digits.split_at(1);
            let dot = if rest.is_empty() { "" } else { "." };
            write!(f, "{first}{dot}{rest}e{}", point - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Number {
        text.parse().unwrap()
    }

    #[test]
    fn integer_and_integral_float_are_equal() {
        assert_eq!(Number::from_i64(1), Number::from_f64(1.0));
        assert_eq!(Number::from_f64(-0.0), Number::from_i64(0));
        assert_eq!(parse("1.000"), Number::from_i64(1));
        assert_eq!(parse("100e-2"), Number::from_i64(1));
    }

    #[test]
    fn exact_float_text_is_a_float() {
        assert_eq!(parse("0.5"), Number::from_f64(0.5));
        assert_eq!(
            parse("9223372036854775808"),
            Number::from_f64(9_223_372_036_854_775_808.0)
        );
        assert_eq!(parse("1e300").as_f64(), Some(1e300));
    }

    #[test]
    fn inexact_decimal_is_not_the_nearest_float() {
        // 0.1 has no exact f64; the nearest float is a different number.
        assert_ne!(parse("0.1"), Number::from_f64(0.1));
        assert_eq!(parse("0.1").as_f64(), Some(0.1));
        assert_eq!(parse("0.10"), parse("1e-1"));
    }

    #[test]
    fn big_integers_keep_every_digit() {
        let n = parse("-123456789012345678901234567890");
        assert_eq!(n.to_string(), "-123456789012345678901234567890");
        assert_eq!(n.as_i64(), None);
        assert!(n.is_integer());
    }

    #[test]
    fn u64_above_i64_range_is_exact() {
        let n = Number::from_u64(u64::MAX);
        assert_eq!(n.to_string(), "18446744073709551615");
        assert_eq!(n.as_u64(), Some(u64::MAX));
        assert_eq!(n, parse("18446744073709551615"));
    }

    #[test]
    fn infinities_parse_and_display_like_go() {
        assert_eq!(parse("+Inf"), Number::from_f64(f64::INFINITY));
        assert_eq!(parse("-inf").to_string(), "-Inf");
        assert_eq!(parse("-inf").as_f64(), Some(f64::NEG_INFINITY));
    }

    #[test]
    fn nan_equals_nothing() {
        let nan = Number::from_f64(f64::NAN);
        assert!(nan.is_nan());
        assert_ne!(nan, nan.clone());
        assert_eq!(nan.as_f64(), None);
    }

    #[test]
    fn rejects_text_that_is_not_a_number() {
        for text in [
            "", "-", ".", "1e", "e5", "0x10", " 1", "1.2.3", "NaN", "1_000", "١",
        ] {
            assert!(text.parse::<Number>().is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn rejects_absurd_exponents_without_allocating() {
        assert!(matches!(
            "1e9999999999999999999".parse::<Number>(),
            Err(ParseNumberError::ExponentOutOfRange { .. })
        ));
    }

    #[test]
    fn huge_finite_decimal_has_no_f64() {
        assert_eq!(parse("1e400").as_f64(), None);
        assert_eq!(parse("1e400").to_string(), "1e400");
        assert_eq!(parse("-1.5e-400").to_string(), "-1.5e-400");
    }

    #[test]
    fn small_decimals_display_without_exponent() {
        assert_eq!(parse("0.000123").to_string(), "0.000123");
        assert_eq!(parse("12.5e-1").to_string(), "1.25");
    }

    proptest! {
        #[test]
        fn display_parses_back_to_the_same_i64(i in any::<i64>()) {
            prop_assert_eq!(parse(&Number::from_i64(i).to_string()), Number::from_i64(i));
        }

        #[test]
        fn display_of_a_float_reads_back_as_the_same_f64(f in any::<f64>().prop_filter("not NaN", |f| !f.is_nan())) {
            let n = Number::from_f64(f);
            prop_assert_eq!(parse(&n.to_string()).as_f64(), Some(f));
        }

        #[test]
        fn display_parses_back_for_decimal_text(
            int in "[0-9]{0,30}", frac in "[0-9]{0,30}", exp in -400i64..400, negative in any::<bool>()
        ) {
            prop_assume!(!(int.is_empty() && frac.is_empty()));
            let text = format!("{}{int}.{frac}e{exp}", if negative { "-" } else { "" });
            let n = parse(&text);
            prop_assert_eq!(parse(&n.to_string()), n);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,40}") {
            let _ = text.parse::<Number>();
        }
    }
}
