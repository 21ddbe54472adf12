//! x87 80-bit extended precision (C's `long double` on x86-64), just enough of it for
//! INCRBYFLOAT and HINCRBYFLOAT: Redis parses with `strtold`, adds in `long double`
//! and prints with `%.17Lf` (then trims zeros). Doing the same in f64 gives different
//! digits (`10.5 + 0.1` must read back as `10.6`), so values here are a 64-bit
//! mantissa and a binary exponent, and every operation rounds exactly once, to nearest
//! with ties to even, using exact big-integer arithmetic.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, ToPrimitive, Zero};

/// Largest binary exponent of the mantissa's lowest bit for a finite value:
/// the largest long double is (2^64 - 1) * 2^16320.
const EXP_MAX: i64 = 16320;
/// Smallest exponent of a normal value's lowest bit (2^-16382 with 64 mantissa bits).
const EXP_MIN: i64 = -16445;
/// Longest input Redis accepts (MAX_LONG_DOUBLE_CHARS).
pub const MAX_CHARS: usize = 5 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// `(-1)^neg * mant * 2^exp`; `mant` has its top bit set, or is 0 for zero.
    Finite {
        neg: bool,
        mant: u64,
        exp: i64,
    },
    Inf {
        neg: bool,
    },
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    pub fn from_i64(v: i64) -> LongDouble {
        let n = BigUint::from(v.unsigned_abs());
        round(v < 0, &n, 0, &BigUint::one())
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// `strtold` with Redis's `string2ld` rules: the whole string, no leading space,
    /// no NaN, and no overflow to infinity or underflow to zero (ERANGE).
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS || s[0].is_ascii_whitespace() {
            return None;
        }
        let text = std::str::from_utf8(s).ok()?;
        let (neg, body) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let lower = body.to_ascii_lowercase();
        if lower == "inf" || lower == "infinity" {
            return Some(LongDouble::Inf { neg });
        }
        if let Some(hex) = lower.strip_prefix("0x") {
            return parse_hex(neg, hex);
        }
        let (mantissa, exponent) = match lower.find('e') {
            Some(i) => (&lower[..i], Some(&lower[i + 1..])),
            None => (lower.as_str(), None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if !int_part.bytes().all(|c| c.is_ascii_digit())
            || !frac_part.bytes().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let mut exp10: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                // Saturate: anything this large is an overflow or underflow anyway.
                let v: i64 = digits.parse().unwrap_or(i64::MAX / 4).min(i64::MAX / 4);
                if e.starts_with('-') {
                    -v
                } else {
                    v
                }
            }
        };
        let all_digits = format!("{int_part}{frac_part}");
        let trimmed = all_digits.trim_start_matches('0');
        exp10 -= frac_part.len() as i64;
        if trimmed.is_empty() {
            return Some(LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        let magnitude = trimmed.len() as i64 + exp10;
        if magnitude > 4934 {
            return None; // overflows to HUGE_VALL: ERANGE
        }
        if magnitude < -4951 {
            return None; // underflows to zero: ERANGE
        }
        let d: BigUint = trimmed.parse().ok()?;
        let (num, den) = if exp10 >= 0 {
            (d * BigUint::from(10u32).pow(exp10 as u32), BigUint::one())
        } else {
            (d, BigUint::from(10u32).pow((-exp10) as u32))
        };
        match round(neg, &num, 0, &den) {
            LongDouble::Inf { .. } => None,
            LongDouble::Finite { mant: 0, .. } => None,
            v => Some(v),
        }
    }

    /// Exact sum, rounded once.
    pub fn plus(self, other: LongDouble) -> LongDouble {
        match (self, other) {
            (LongDouble::Inf { neg: a }, LongDouble::Inf { neg: b }) if a != b => {
                LongDouble::Inf { neg: a }
            } // NaN in C; callers reject non-finite
            (LongDouble::Inf { neg }, _) | (_, LongDouble::Inf { neg }) => LongDouble::Inf { neg },
            (
                LongDouble::Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                LongDouble::Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                if ma == 0 {
                    return other;
                }
                if mb == 0 {
                    return self;
                }
                let base = ea.min(eb);
                let signed = |neg: bool, mant: u64, exp: i64| {
                    let v = BigInt::from(mant) << ((exp - base) as usize);
                    if neg {
                        -v
                    } else {
                        v
                    }
                };
                let sum = signed(na, ma, ea) + signed(nb, mb, eb);
                let (sign, magnitude) = sum.into_parts();
                if magnitude.is_zero() {
                    return LongDouble::ZERO;
                }
                round(sign == Sign::Minus, &magnitude, base, &BigUint::one())
            }
        }
    }

    /// The product with a positive integer, rounded once (C's `x * 1000.0` on a
    /// `long double`).
    pub fn times(self, k: u32) -> LongDouble {
        assert!(k > 0, "a zero factor could turn infinity into NaN");
        match self {
            LongDouble::Inf { neg } => LongDouble::Inf { neg },
            LongDouble::Finite { mant: 0, .. } => self,
            LongDouble::Finite { neg, mant, exp } => {
                round(neg, &(BigUint::from(mant) * k), exp, &BigUint::one())
            }
        }
    }

    /// `(long long) ceill(x)`. None where x87's conversion gives the "integer
    /// indefinite" value (LLONG_MIN): an infinity or a result outside i64's range.
    pub fn ceil_to_i64(self) -> Option<i64> {
        let LongDouble::Finite { neg, mant, exp } = self else {
            return None;
        };
        let n = BigUint::from(mant);
        // The magnitude rounded toward positive infinity for positive values and
        // toward zero for negative ones: ceil(-v) = -floor(v).
        let magnitude = if exp >= 0 {
            n << (exp as usize)
        } else {
            let shift = (-exp) as usize;
            let q = &n >> shift;
            let exact = (&q << shift) == n;
            if !neg && !exact {
                q + 1u32
            } else {
                q
            }
        };
        let m = magnitude.to_u64()?;
        if neg {
            if m > 1u64 << 63 {
                None
            } else {
                Some((m as i128).wrapping_neg() as i64)
            }
        } else {
            i64::try_from(m).ok()
        }
    }

    /// Is the sum of these two a NaN (inf + -inf)?
    pub fn plus_is_nan(self, other: LongDouble) -> bool {
        matches!((self, other), (LongDouble::Inf { neg: a }, LongDouble::Inf { neg: b }) if a != b)
    }

    /// Redis's `ld2string(LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and a bare point
    /// removed, `-0` shown as `0`.
    pub fn to_human_string(self) -> String {
        let (neg, mant, exp) = match self {
            LongDouble::Inf { neg } => return if neg { "-inf".into() } else { "inf".into() },
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        let scaled = BigUint::from(mant) * BigUint::from(10u32).pow(17);
        let n = if exp >= 0 {
            scaled << (exp as usize)
        } else {
            shift_round_even(&scaled, (-exp) as usize)
        };
        let mut digits = n.to_str_radix(10);
        if digits.len() < 18 {
            digits = format!("{}{}", "0".repeat(18 - digits.len()), digits);
        }
        let (int_part, frac_part) = digits.split_at(digits.len() - 17);
        let frac = frac_part.trim_end_matches('0');
        let mut out = String::new();
        if neg {
            out.push('-');
        }
        out.push_str(int_part);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// `n >> shift`, rounded to nearest with ties to even.
fn shift_round_even(n: &BigUint, shift: usize) -> BigUint {
    if shift == 0 {
        return n.clone();
    }
    let q = n >> shift;
    let rem = n - (&q << shift);
    let half = BigUint::one() << (shift - 1);
    if rem > half || (rem == half && q.bit(0)) {
        q + 1u32
    } else {
        q
    }
}

/// Round the positive rational `num * 2^exp2 / den` to a 64-bit mantissa.
fn round(neg: bool, num: &BigUint, exp2: i64, den: &BigUint) -> LongDouble {
    if num.is_zero() {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    // Choose e so that num / (den * 2^e) lies in [2^63, 2^65) before correcting.
    let mut e = num.bits() as i64 - den.bits() as i64 - 64;
    let quotient_rem = |e: i64| -> (BigUint, BigUint, BigUint) {
        let (n, d) = if e >= 0 {
            (num.clone(), den << (e as usize))
        } else {
            (num << ((-e) as usize), den.clone())
        };
        let q = &n / &d;
        let r = &n - &q * &d;
        (q, r, d)
    };
    let (mut q, mut r, mut d) = quotient_rem(e);
    if q.bits() > 64 {
        e += (q.bits() - 64) as i64;
        (q, r, d) = quotient_rem(e);
    } else if q.bits() < 64 {
        e -= (64 - q.bits()) as i64;
        (q, r, d) = quotient_rem(e);
    }
    debug_assert_eq!(q.bits(), 64);
    let twice = r << 1;
    if twice > d || (twice == d && q.bit(0)) {
        q += 1u32;
        if q.bits() > 64 {
            q >>= 1;
            e += 1;
        }
    }
    let exp = e + exp2;
    if exp > EXP_MAX {
        return LongDouble::Inf { neg };
    }
    if exp < EXP_MIN {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    LongDouble::Finite {
        neg,
        mant: q.to_u64().expect("64 bits"),
        exp,
    }
}

fn parse_hex(neg: bool, body: &str) -> Option<LongDouble> {
    let (mantissa, exponent) = match body.find('p') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let digits = format!("{int_part}{frac_part}");
    let n = BigUint::parse_bytes(digits.as_bytes(), 16)?;
    let mut exp2: i64 = -4 * frac_part.len() as i64;
    if let Some(e) = exponent {
        let v: i64 = e.parse().ok()?;
        exp2 = exp2.checked_add(v.clamp(-100_000, 100_000))?;
    }
    match round(neg, &n, exp2, &BigUint::one()) {
        LongDouble::Finite { mant: 0, .. } if !n.is_zero() => None,
        LongDouble::Inf { .. } => None,
        v => Some(v),
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn incr(a: &str, b: &str) -> String {
        LongDouble::parse(a.as_bytes())
            .unwrap()
            .plus(LongDouble::parse(b.as_bytes()).unwrap())
            .to_human_string()
    }

    #[test]
    fn matches_redis_incrbyfloat() {
        // Values observed from redis-server 7.0.15 on x86-64.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("10.6", "-5"), "5.6");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("0", "1.1"), "1.1");
        assert_eq!(incr("1", "-1"), "0");
        assert_eq!(incr("-0.0", "0"), "0");
        assert_eq!(incr("3", "1e-20"), "3");
        assert_eq!(incr("1e30", "1"), "1000000000000000000024696061952");
        assert_eq!(incr("123456789012345678", "1"), "123456789012345679");
        assert_eq!(incr("0.0001", "0.0002"), "0.0003");
        assert_eq!(incr("0x10", "1"), "17");
        assert_eq!(incr("2.5", "0.0000000000000000001"), "2.5");
        // Long outputs: prefixes of redis-server's replies.
        assert!(incr("1.7976931348623157e308", "1e308").starts_with(
            "27976931348623157000235224044135007878929992917961993400398769561769337"
        ));
        assert!(incr("1e4000", "1").starts_with(
            "99999999999999999999654638730996237849324925835069576313015083330432619433063"
        ));
        assert_eq!(incr("1e4000", "1").len(), 4000);
    }

    #[test]
    fn parse_rejects_like_string2ld() {
        assert!(LongDouble::parse(b"nan").is_none());
        assert!(LongDouble::parse(b" 1").is_none());
        assert!(LongDouble::parse(b"1 ").is_none());
        assert!(LongDouble::parse(b"1e99999").is_none());
        assert!(LongDouble::parse(b"1e-99999").is_none());
        assert!(LongDouble::parse(b"abc").is_none());
        assert!(LongDouble::parse(b".").is_none());
        assert_eq!(
            LongDouble::parse(b"inf"),
            Some(LongDouble::Inf { neg: false })
        );
        assert_eq!(LongDouble::parse(b"0x10").unwrap().to_human_string(), "16");
        assert_eq!(LongDouble::parse(b"1.").unwrap().to_human_string(), "1");
        assert_eq!(LongDouble::parse(b"-.5").unwrap().to_human_string(), "-0.5");
    }

    fn timeout_ms(s: &str) -> Option<i64> {
        LongDouble::parse(s.as_bytes())
            .unwrap()
            .times(1000)
            .ceil_to_i64()
    }

    #[test]
    fn ceil_of_milliseconds_as_blocking_timeouts_read_them() {
        assert_eq!(timeout_ms("1"), Some(1000));
        assert_eq!(timeout_ms("0.0001"), Some(1));
        assert_eq!(timeout_ms("0.001"), Some(1));
        assert_eq!(timeout_ms("1.5"), Some(1500));
        assert_eq!(timeout_ms("0"), Some(0));
        assert_eq!(timeout_ms("-0.0001"), Some(0));
        assert_eq!(timeout_ms("-1.0001"), Some(-1000));
        assert_eq!(timeout_ms("-1"), Some(-1000));
        assert_eq!(timeout_ms("0x10"), Some(16000));
        // 80-bit precision: 1e-3 plus 2^-60 is not 1e-3 in long double.
        assert_eq!(timeout_ms("0.0010000000000000000009"), Some(2));
        assert_eq!(timeout_ms("9e15"), Some(9_000_000_000_000_000_000));
        assert_eq!(timeout_ms("-9e15"), Some(-9_000_000_000_000_000_000));
        assert_eq!(timeout_ms("1e16"), None);
        assert_eq!(timeout_ms("-1e16"), None);
        assert_eq!(timeout_ms("1e300"), None);
        assert_eq!(timeout_ms("inf"), None);
        assert_eq!(timeout_ms("-inf"), None);
    }

    #[test]
    fn huge_values_overflow_to_infinity() {
        let big = LongDouble::parse(b"1e4932").unwrap();
        assert!(big.plus(big).to_human_string() == "inf");
        assert_eq!(LongDouble::from_i64(-42).to_human_string(), "-42");
    }
}
