//! The number rules the model needs, written from Redis 7.0's documented behaviour:
//! `string2ll` (strict integers for INCR, EXPIRE, ranges) and, for INCRBYFLOAT,
//! `strtold`, which must consume the whole string, followed by x87 extended-precision addition and
//! `%.17Lf` printing with trailing zeros cut.
//!
//! The workload only ever produces numbers that are multiples of 1/4, so extended
//! precision is modelled exactly with an `i128` count of quarters, rounded to the 64
//! significant bits of an x87 mantissa (ties to even). A string this cannot represent
//! is reported as a model limitation, never guessed at.

/// Redis's `string2ll`: an optional minus, no plus, no spaces, no leading zeros (but
/// "0" itself), within i64.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i128).wrapping_neg() as i64)
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// A long double the workload can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// An exact value, counted in quarters.
    Quarters(i128),
    Infinite {
        negative: bool,
    },
}

/// Why a string has no value the model can compute with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloatParse {
    /// Redis refuses it ("value is not a valid float").
    Invalid,
    /// Redis would accept it, but its value is outside what the model represents.
    Unsupported(String),
}

/// Redis's `string2ld` (getLongDoubleFromObject on a string): `strtold` must consume
/// every byte, so an embedded NUL (where `strtold` stops) or anything unparsed after
/// the number makes the string invalid, as does leading space.
pub fn parse_long_double(s: &[u8]) -> Result<LongDouble, FloatParse> {
    // MAX_LONG_DOUBLE_CHARS
    if s.is_empty() || s.len() >= 5 * 1024 || s.contains(&0) {
        return Err(FloatParse::Invalid);
    }
    let c_str = s;
    if matches!(c_str[0], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        return Err(FloatParse::Invalid);
    }
    let (negative, body) = match c_str.first() {
        Some(b'-') => (true, &c_str[1..]),
        Some(b'+') => (false, &c_str[1..]),
        _ => (false, c_str),
    };
    let lower = body.to_ascii_lowercase();
    if lower == b"inf" || lower == b"infinity" {
        return Ok(LongDouble::Infinite { negative });
    }
    if lower.starts_with(b"nan") || lower.starts_with(b"inf") {
        // "nan" is refused by Redis; "inf" with trailing bytes is not consumed whole.
        return Err(FloatParse::Invalid);
    }
    if lower.starts_with(b"0x") && lower.get(2).is_some_and(|c| c.is_ascii_hexdigit()) {
        return Err(FloatParse::Unsupported(format!(
            "hexadecimal float {:?}",
            String::from_utf8_lossy(s)
        )));
    }
    // Decimal: digits, optional fraction, optional exponent.
    let mut i = 0;
    let mut mantissa: i128 = 0;
    let mut scale: i32 = 0; // value = mantissa * 10^scale
    let mut digits = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        mantissa = push_digit(mantissa, body[i], s)?;
        digits += 1;
        i += 1;
    }
    if i < body.len() && body[i] == b'.' {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            mantissa = push_digit(mantissa, body[i], s)?;
            scale -= 1;
            digits += 1;
            i += 1;
        }
    }
    if digits == 0 {
        // No conversion: strtold consumed nothing.
        return Err(FloatParse::Invalid);
    }
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        let mut j = i + 1;
        let exp_negative = match body.get(j) {
            Some(b'-') => {
                j += 1;
                true
            }
            Some(b'+') => {
                j += 1;
                false
            }
            _ => false,
        };
        let start = j;
        let mut exp: i32 = 0;
        while j < body.len() && body[j].is_ascii_digit() {
            exp = exp
                .saturating_mul(10)
                .saturating_add((body[j] - b'0') as i32);
            j += 1;
        }
        if j > start {
            scale += if exp_negative { -exp } else { exp };
            i = j;
        }
    }
    if i != body.len() {
        return Err(FloatParse::Invalid);
    }
    let unsupported = || FloatParse::Unsupported(format!("{:?}", String::from_utf8_lossy(s)));
    // quarters = mantissa * 4 * 10^scale, which must be an integer.
    let mut q = mantissa.checked_mul(4).ok_or_else(unsupported)?;
    if scale >= 0 {
        for _ in 0..scale {
            q = q.checked_mul(10).ok_or_else(unsupported)?;
        }
    } else {
        for _ in 0..-scale {
            if q % 10 != 0 {
                return Err(unsupported());
            }
            q /= 10;
        }
    }
    if q.unsigned_abs() >= 1u128 << 100 {
        return Err(unsupported());
    }
    let q = round_to_extended(q);
    Ok(LongDouble::Quarters(if negative { -q } else { q }))
}

fn push_digit(m: i128, digit: u8, s: &[u8]) -> Result<i128, FloatParse> {
    m.checked_mul(10)
        .and_then(|m| m.checked_add((digit - b'0') as i128))
        .filter(|m| *m < 1i128 << 100)
        .ok_or_else(|| FloatParse::Unsupported(format!("{:?}", String::from_utf8_lossy(s))))
}

/// Round a quarter count to the nearest value with a 64-bit significand, ties to
/// even, as x87 extended precision does after every operation.
pub fn round_to_extended(q: i128) -> i128 {
    let magnitude = q.unsigned_abs();
    let bits = 128 - magnitude.leading_zeros();
    if bits <= 64 {
        return q;
    }
    let shift = bits - 64;
    let kept = magnitude >> shift;
    let rest = magnitude & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let kept = if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    };
    let rounded = (kept << shift) as i128;
    if q < 0 {
        -rounded
    } else {
        rounded
    }
}

/// INCRBYFLOAT's arithmetic: `None` when the sum is infinite or NaN (Redis's
/// "increment would produce NaN or Infinity").
pub fn add_long_double(a: LongDouble, b: LongDouble) -> Option<i128> {
    match (a, b) {
        (LongDouble::Quarters(x), LongDouble::Quarters(y)) => Some(round_to_extended(x + y)),
        _ => None,
    }
}

/// `%.17Lf` with trailing zeros (and a trailing dot) removed, and "-0" printed "0":
/// exact for quarters, which need at most two decimals.
pub fn format_quarters(q: i128) -> String {
    let magnitude = q.unsigned_abs();
    let (int, frac) = (magnitude / 4, magnitude % 4);
    let sign = if q < 0 { "-" } else { "" };
    let frac = ["", ".25", ".5", ".75"][frac as usize];
    format!("{sign}{int}{frac}")
}

/// C's `%.17g` of a double (with glibc's `inf`, `-inf`, `-0`), as Redis prints
/// scores (addReplyDouble, d2string). Rust's `{:e}` rounds the exact binary value
/// to nearest, ties to even, as glibc does.
pub fn format_g17(d: f64) -> String {
    const PRECISION: i32 = 17;
    if d.is_nan() {
        return if d.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if d.is_infinite() {
        return if d < 0.0 { "-inf" } else { "inf" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.*e}", (PRECISION - 1) as usize, d.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    debug_assert_eq!(digits.len(), PRECISION as usize);
    let sign = if d < 0.0 { "-" } else { "" };
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..PRECISION).contains(&exp) {
        let m = trim(format!("{}.{}", &digits[..1], &digits[1..]));
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    } else if exp >= 0 {
        let split = exp as usize + 1;
        let fixed = trim(format!("{}.{}", &digits[..split], &digits[split..]));
        format!("{sign}{fixed}")
    } else {
        let zeros = "0".repeat((-exp - 1) as usize);
        format!("{sign}{}", trim(format!("0.{zeros}{digits}")))
    }
}

/// Redis's d2string, the text a listpack keeps for a score: an integral value within
/// ±LLONG_MAX/2 as an integer, anything else as `%.17g`.
pub fn format_d2string(d: f64) -> String {
    let bound = (i64::MAX / 2) as f64;
    if d != 0.0 && d.is_finite() && d >= -bound && d <= bound && d.fract() == 0.0 {
        (d as i64).to_string()
    } else {
        format_g17(d)
    }
}

/// Why a string is not a double the model can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoubleParse {
    Invalid,
    /// Redis would accept it (a hexadecimal float), the model does not try.
    Unsupported(String),
}

/// `[+-]digits[.digits][e[+-]digits]` or `[+-]inf`/`infinity` (any case), the whole
/// string, parsed as strtod rounds it.
fn decimal_or_inf(s: &[u8]) -> Result<f64, DoubleParse> {
    let text = std::str::from_utf8(s).map_err(|_| DoubleParse::Invalid)?;
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower.starts_with("0x") {
        return Err(DoubleParse::Unsupported(text.to_string()));
    }
    let b = lower.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return Err(DoubleParse::Invalid);
    }
    if i < b.len() && b[i] == b'e' {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > start {
            i = j;
        }
    }
    if i != b.len() {
        return Err(DoubleParse::Invalid);
    }
    // Rust's parser wants digits on at least one side of the dot, which `digits`
    // guarantees; a bare trailing dot is fine for it too.
    let magnitude: f64 = format!("0{lower}")
        .parse()
        .map_err(|_| DoubleParse::Invalid)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Redis's getDoubleFromObject (ZADD scores, ZINCRBY, WEIGHTS): no leading space,
/// the whole string, no NaN, no overflow to infinity or underflow to zero.
pub fn parse_double_strict(s: &[u8]) -> Result<f64, DoubleParse> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[0] == 0x0b || s.contains(&0) {
        return Err(DoubleParse::Invalid);
    }
    let v = decimal_or_inf(s)?;
    let literal_inf =
        s.to_ascii_lowercase().ends_with(b"inf") || s.to_ascii_lowercase().ends_with(b"infinity");
    if v.is_infinite() && !literal_inf {
        return Err(DoubleParse::Invalid);
    }
    let nonzero_digit = s
        .iter()
        .take_while(|c| !matches!(c, b'e' | b'E'))
        .any(|c| (b'1'..=b'9').contains(c));
    if v == 0.0 && nonzero_digit {
        return Err(DoubleParse::Invalid);
    }
    Ok(v)
}

/// zslParseRange's strtod: leading space allowed, the rest must be consumed, an
/// empty string is 0, NaN is refused.
pub fn parse_range_double(s: &[u8]) -> Result<f64, DoubleParse> {
    if s.is_empty() {
        return Ok(0.0);
    }
    if s.contains(&0) {
        return Err(DoubleParse::Invalid);
    }
    let start = s
        .iter()
        .position(|c| !(c.is_ascii_whitespace() || *c == 0x0b))
        .unwrap_or(s.len());
    if start == s.len() {
        return Err(DoubleParse::Invalid);
    }
    decimal_or_inf(&s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        for (s, v) in [
            ("0", Some(0)),
            ("-1", Some(-1)),
            ("42", Some(42)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("007", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("1.5", None),
        ] {
            assert_eq!(parse_i64_strict(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn long_doubles_as_redis_reads_them() {
        let q = |s: &[u8]| parse_long_double(s);
        assert_eq!(q(b"1.5"), Ok(LongDouble::Quarters(6)));
        assert_eq!(q(b"007"), Ok(LongDouble::Quarters(28)));
        assert_eq!(q(b"-2.75"), Ok(LongDouble::Quarters(-11)));
        assert_eq!(q(b"+.25"), Ok(LongDouble::Quarters(1)));
        assert_eq!(q(b"5."), Ok(LongDouble::Quarters(20)));
        assert_eq!(q(b"3e2"), Ok(LongDouble::Quarters(1200)));
        assert_eq!(q(b"-inf"), Ok(LongDouble::Infinite { negative: true }));
        assert_eq!(q(b"1.5\0zz"), Err(FloatParse::Invalid));
        assert_eq!(q(b"\0\0z"), Err(FloatParse::Invalid));
        assert_eq!(q(b""), Err(FloatParse::Invalid));
        assert_eq!(q(b" 1"), Err(FloatParse::Invalid));
        assert_eq!(q(b"1 "), Err(FloatParse::Invalid));
        assert_eq!(q(b"foo"), Err(FloatParse::Invalid));
        assert_eq!(q(b"-"), Err(FloatParse::Invalid));
        assert_eq!(q(b"nan"), Err(FloatParse::Invalid));
        assert_eq!(q(b"1e"), Err(FloatParse::Invalid));
        assert!(matches!(q(b"0.1"), Err(FloatParse::Unsupported(_))));
        assert!(matches!(q(b"0x10"), Err(FloatParse::Unsupported(_))));
    }

    #[test]
    fn g17_as_printf_prints_it() {
        for (d, s) in [
            (1.5, "1.5"),
            (100.0, "100"),
            (-0.25, "-0.25"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.5e-7, "1.4999999999999999e-07"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (123456789.125, "123456789.125"),
            (9007199254740993.0, "9007199254740992"),
        ] {
            assert_eq!(format_g17(d), s, "{d:e}");
        }
        assert_eq!(format_d2string(1e18), "1000000000000000000");
        assert_eq!(format_d2string(-0.0), "-0");
        assert_eq!(format_d2string(1e19), "1e+19");
    }

    #[test]
    fn doubles_as_redis_reads_them() {
        assert_eq!(parse_double_strict(b"1.5"), Ok(1.5));
        assert_eq!(parse_double_strict(b"-inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_double_strict(b"+Infinity"), Ok(f64::INFINITY));
        assert_eq!(parse_double_strict(b"3e2"), Ok(300.0));
        assert_eq!(parse_double_strict(b".5"), Ok(0.5));
        assert_eq!(parse_double_strict(b"5."), Ok(5.0));
        assert!(parse_double_strict(b"-0").unwrap().is_sign_negative());
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"abc",
            b"1e400",
            b"1e-400",
            b"1\0",
        ] {
            assert_eq!(
                parse_double_strict(bad),
                Err(DoubleParse::Invalid),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_double_strict(b"0x10"),
            Err(DoubleParse::Unsupported(_))
        ));
        assert_eq!(parse_range_double(b""), Ok(0.0));
        assert_eq!(parse_range_double(b" 2"), Ok(2.0));
        assert_eq!(parse_range_double(b"1e400"), Ok(f64::INFINITY));
        assert_eq!(parse_range_double(b" "), Err(DoubleParse::Invalid));
        assert_eq!(parse_range_double(b"nan"), Err(DoubleParse::Invalid));
    }

    #[test]
    fn extended_precision_rounding_and_printing() {
        let max = i64::MAX as i128 * 4;
        // 2^63 - 1 + 0.25 needs 65 bits: the tie goes to the even significand.
        assert_eq!(
            add_long_double(LongDouble::Quarters(max), LongDouble::Quarters(1)),
            Some(max)
        );
        assert_eq!(format_quarters(max + 4 * 10 + 3), "9223372036854775817.75");
        assert_eq!(
            format_quarters(round_to_extended(max + 4 * 10 + 3)),
            "9223372036854775818"
        );
        assert_eq!(format_quarters(-6), "-1.5");
        assert_eq!(format_quarters(0), "0");
        assert_eq!(format_quarters(2), "0.5");
        assert_eq!(
            add_long_double(
                LongDouble::Quarters(1),
                LongDouble::Infinite { negative: false }
            ),
            None
        );
    }
}
