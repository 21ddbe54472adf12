//! Small helpers with Redis's exact semantics: strict integer parsing (`string2ll`),
//! double parsing and `%.17g` formatting, and the deterministic hash maps the core uses.

/// A hash map whose hasher has a fixed seed, so iteration order is a function of the
/// inputs only (std's `RandomState` seeds itself from the OS).
#[allow(clippy::disallowed_types)]
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
#[allow(clippy::disallowed_types)]
pub type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

pub fn fast_map<K, V>() -> FastMap<K, V> {
    FastMap::default()
}

/// Longest decimal representation of an i64 plus sign, as Redis's LONG_STR_SIZE.
pub const LONG_STR_SIZE: usize = 21;

/// Redis's `string2ll`: no spaces, no `+`, no leading zeros, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if negative {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis's `string2ull` on top of `string2ll`, with its `strtoull` fallback for values
/// above i64::MAX.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok()
}

/// Redis's `getDoubleFromObject` rules (`string2d`): the whole string must be a
/// number as C's strtod reads it, no leading space, not NaN, and not a value that
/// overflowed to infinity or underflowed to zero. Spelled-out infinity is accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    string2d(s)
}

/// Format an i64 the way Redis replies it.
pub fn fmt_i64(v: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

pub fn i64_to_bytes(v: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    fmt_i64(v, &mut out);
    out
}

/// C's `printf("%.17g", v)`, which Redis 7.0 uses for double replies.
pub fn fmt_g17(v: f64) -> String {
    fmt_g(v, 17)
}

/// C's `%.<precision>g`.
pub fn fmt_g(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() {
            "-nan".into()
        } else {
            "nan".into()
        };
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let p = precision.max(1);
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Round to p significant digits in scientific form to learn the exponent.
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("scientific format has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < -4 || exp >= p as i32 {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mantissa, sign, exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{:.*}", decimals, v);
        strip_fraction_zeros(&fixed).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Lower-case ASCII equality, for matching command options.
pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// Bytes shown the way Redis prints them inside error messages (`%s` of an sds).
pub fn lossy(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// C's `isspace` in the C locale.
pub fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What C's `strtod` (glibc, C locale) makes of the start of a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strtod {
    pub value: f64,
    /// Bytes consumed (strtod's `endptr - s`); 0 when no number was found.
    pub len: usize,
    /// strtod set ERANGE with a result of ±HUGE_VAL or zero: a finite input overflowed
    /// to infinity or a nonzero one underflowed to zero (what `string2d` refuses).
    pub out_of_range: bool,
}

fn starts_with_ic(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// C's `strtod` over `s` read as a C string (it ends at the first NUL byte): leading
/// white space, a sign, then `inf`/`infinity`, `nan` or `nan(chars)`, a hexadecimal
/// float (`0x1.8p3`) or a decimal one (`1.5e3`, `.5`, `1.`), taking the longest prefix
/// that forms one. Rounding is to nearest, ties to even, as glibc does.
pub fn strtod(s: &[u8]) -> Strtod {
    let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let signed = |v: f64| if negative { -v } else { v };
    let rest = &s[i..];
    if starts_with_ic(rest, b"inf") {
        let n = if starts_with_ic(rest, b"infinity") {
            8
        } else {
            3
        };
        return Strtod {
            value: signed(f64::INFINITY),
            len: i + n,
            out_of_range: false,
        };
    }
    if starts_with_ic(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let body = rest[4..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if rest.get(4 + body) == Some(&b')') {
                n = 4 + body + 1;
            }
        }
        return Strtod {
            value: signed(f64::NAN),
            len: i + n,
            out_of_range: false,
        };
    }
    if rest.len() >= 2 && rest[0] == b'0' && rest[1] | 0x20 == b'x' {
        return match hex_float(&rest[2..]) {
            Some((value, n, out_of_range)) => Strtod {
                value: signed(value),
                len: i + 2 + n,
                out_of_range,
            },
            // "0x" not followed by a hexadecimal digit: only the "0" is a number.
            None => Strtod {
                value: signed(0.0),
                len: i + 1,
                out_of_range: false,
            },
        };
    }
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int_digits = digits(0);
    let mut end = int_digits;
    if rest.get(end) == Some(&b'.') {
        let frac_digits = digits(end + 1);
        if int_digits + frac_digits > 0 {
            end += 1 + frac_digits;
        }
    }
    if end == 0 {
        return Strtod {
            value: 0.0,
            len: 0,
            out_of_range: false,
        };
    }
    let nonzero = rest[..end].iter().any(|c| (b'1'..=b'9').contains(c));
    if rest.get(end).is_some_and(|c| c | 0x20 == b'e') {
        let mut k = end + 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = digits(k);
        if exp_digits > 0 {
            end = k + exp_digits;
        }
    }
    let text = std::str::from_utf8(&rest[..end]).expect("digits, dot, e and sign are ASCII");
    // Rust's float parser rounds correctly for any length, as glibc does.
    let value: f64 = text
        .parse()
        .expect("a strtod decimal is in Rust's float grammar");
    Strtod {
        value: signed(value),
        len: i + end,
        out_of_range: value.is_infinite() || (value == 0.0 && nonzero),
    }
}

/// The hexadecimal float after `0x`: (value, bytes consumed, out of range), or None
/// when no hexadecimal digit follows.
fn hex_float(s: &[u8]) -> Option<(f64, usize, bool)> {
    // value = mantissa * 2^exp, `sticky` when nonzero digits did not fit the mantissa.
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut any_digit = false;
    let mut seen_dot = false;
    let mut j = 0;
    loop {
        match s.get(j) {
            Some(&c) if c.is_ascii_hexdigit() => {
                any_digit = true;
                let d = (c as char).to_digit(16).expect("checked hex digit") as u64;
                if mantissa >> 60 == 0 {
                    mantissa = mantissa << 4 | d;
                    if seen_dot {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_dot {
                        exp += 4;
                    }
                }
            }
            Some(b'.') if !seen_dot => seen_dot = true,
            _ => break,
        }
        j += 1;
    }
    if !any_digit {
        return None;
    }
    if s.get(j).is_some_and(|c| c | 0x20 == b'p') {
        let mut k = j + 1;
        let negative = match s.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let start = k;
        let mut p: i64 = 0;
        while let Some(c) = s.get(k).filter(|c| c.is_ascii_digit()) {
            // Saturate: anything this large already over- or underflows.
            p = (p * 10 + (c - b'0') as i64).min(1 << 40);
            k += 1;
        }
        if k > start {
            exp += if negative { -p } else { p };
            j = k;
        }
    }
    let (value, out_of_range) = scale_binary(mantissa, exp, sticky);
    Some((value, j, out_of_range))
}

/// `mantissa * 2^exp` as a double, rounded as glibc's strtod rounds a hexadecimal
/// float; `sticky` means nonzero bits below the mantissa were dropped. Returns the
/// value and whether it overflowed to infinity or underflowed to zero.
fn scale_binary(mantissa: u64, exp: i64, sticky: bool) -> (f64, bool) {
    if mantissa == 0 {
        return (0.0, false);
    }
    let bits = 64 - mantissa.leading_zeros() as i64;
    // Exponent of the leading bit; doubles reach 2^1023 (normal) and 2^-1074 (subnormal).
    let mut top = exp + bits - 1;
    if top > 1023 {
        return (f64::INFINITY, true);
    }
    // The first 53 significant bits, the bit after them and whether any later bit is set.
    let (m53, next_bit, later_bits) = if bits <= 53 {
        (mantissa << (53 - bits), false, sticky)
    } else {
        let drop = (bits - 53) as u32;
        let later = mantissa & ((1u64 << (drop - 1)) - 1) != 0 || sticky;
        (mantissa >> drop, mantissa >> (drop - 1) & 1 == 1, later)
    };
    debug_assert_eq!(m53 >> 52, 1);
    if top < -1022 {
        // Subnormal: keep `shift` fewer bits. glibc's round_and_return shifts the 53
        // bits right and rounds on the bits shifted out plus the later bits, losing
        // `next_bit` on the way (redis-server runs on that glibc, so ZADD must agree).
        let shift = -1022 - top;
        if shift > 53 {
            return (0.0, true);
        }
        let (q, half, below) = if shift == 53 {
            (0, true, m53 & ((1 << 52) - 1) != 0)
        } else {
            let s = shift as u32;
            (
                m53 >> s,
                m53 >> (s - 1) & 1 == 1,
                m53 & ((1u64 << (s - 1)) - 1) != 0,
            )
        };
        let q = if half && (below || later_bits || q & 1 == 1) {
            q + 1
        } else {
            q
        };
        // The value is q * 2^-1074, which is also its bit pattern (a carry into bit 52
        // makes the smallest normal number, still right).
        return (f64::from_bits(q), q == 0);
    }
    let mut q = m53;
    if next_bit && (later_bits || q & 1 == 1) {
        q += 1;
        if q == 1 << 53 {
            q >>= 1;
            top += 1;
            if top > 1023 {
                return (f64::INFINITY, true);
            }
        }
    }
    let biased = (top + 1023) as u64;
    (f64::from_bits(biased << 52 | (q & ((1 << 52) - 1))), false)
}

/// Redis's `string2d` (getDoubleFromObject): the whole string is one strtod number
/// with no leading space, neither NaN nor out of range.
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let r = strtod(s);
    if r.len != s.len() || r.out_of_range || r.value.is_nan() {
        return None;
    }
    Some(r.value)
}

/// Redis's `double2ll`: the integer `d` is, when it is one and within ±2^62 (where
/// every such double converts to a long long and back without loss).
pub fn double2ll(d: f64) -> Option<i64> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// Redis's `d2string`: `nan`, `inf`, `-inf`, `0`/`-0`, an integer's digits when
/// `double2ll` accepts the value, otherwise `%.17g`. The text always reads back
/// through strtod as the same double.
pub fn d2string(d: f64) -> String {
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d < 0.0 { "-inf" } else { "inf" }.into()
    } else if d == 0.0 {
        if d.is_sign_negative() { "-0" } else { "0" }.into()
    } else if let Some(n) = double2ll(d) {
        n.to_string()
    } else {
        fmt_g17(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"1 "), None);
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn g17_matches_printf() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(0.1), "0.10000000000000001");
        assert_eq!(fmt_g17(100.0), "100");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(1.0e-5), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(-2.5), "-2.5");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
        assert_eq!(fmt_g17(0.0), "0");
        assert_eq!(fmt_g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(fmt_g(3.0, 6), "3");
    }

    #[test]
    fn doubles_parse_like_redis() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1x"), None);
        assert_eq!(parse_f64(b"5.0e3"), Some(5000.0));
        // string2d: overflow and underflow to zero are refused, subnormals and hex kept.
        assert_eq!(parse_f64(b"1e400"), None);
        assert_eq!(parse_f64(b"-1e400"), None);
        assert_eq!(parse_f64(b"1e-400"), None);
        assert_eq!(parse_f64(b"0e-400"), Some(0.0));
        assert_eq!(parse_f64(b"1e-310"), Some(1e-310));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1\x002"), None);
        assert_eq!(parse_f64(b"1e"), None);
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"5."), Some(5.0));
        assert_eq!(parse_f64(b"."), None);
        assert_eq!(parse_f64(b"-nan"), None);
    }

    #[test]
    fn strtod_prefixes_like_glibc() {
        let t = |s: &[u8]| {
            let r = strtod(s);
            (r.value, r.len)
        };
        assert_eq!(t(b"  12abc"), (12.0, 4));
        assert_eq!(t(b""), (0.0, 0));
        assert_eq!(t(b"   "), (0.0, 0));
        assert_eq!(t(b"-"), (0.0, 0));
        assert_eq!(t(b"1e+"), (1.0, 1));
        assert_eq!(t(b"1.5e-3x"), (0.0015, 6));
        assert_eq!(t(b"-.5"), (-0.5, 3));
        assert_eq!(t(b"infinityx"), (f64::INFINITY, 8));
        assert_eq!(t(b"-INFx"), (f64::NEG_INFINITY, 4));
        assert_eq!(t(b"0x"), (0.0, 1));
        assert_eq!(t(b"0xg"), (0.0, 1));
        assert_eq!(t(b"0x1p4"), (16.0, 5));
        assert_eq!(t(b"0x1.8p1"), (3.0, 7));
        assert_eq!(t(b"0x.8"), (0.5, 4));
        assert_eq!(t(b"0x1p"), (1.0, 3));
        assert_eq!(t(b"0X1P-2"), (0.25, 6));
        assert_eq!(t(b"1\x005"), (1.0, 1));
        let nan = strtod(b"nan(abc_1)z");
        assert!(nan.value.is_nan());
        assert_eq!(nan.len, 10);
        assert_eq!(strtod(b"nan(").len, 3);
        assert!(strtod(b"1e999").out_of_range);
        assert!(!strtod(b"inf").out_of_range);
        assert!(strtod(b"1e-999").out_of_range);
        // Hexadecimal rounding: ties to even, carries, subnormals and the extremes.
        assert_eq!(strtod(b"0x1.00000000000008p0").value, 1.0);
        assert_eq!(
            strtod(b"0x1.00000000000018p0").value,
            1.0 + 2.0 * f64::EPSILON
        );
        assert_eq!(strtod(b"0x1.000000000000081p0").value, 1.0 + f64::EPSILON);
        assert_eq!(strtod(b"0x1.fffffffffffff8p0").value, 2.0);
        assert_eq!(strtod(b"0x1p-1074").value, f64::from_bits(1));
        assert_eq!(strtod(b"0x1p-1075").value, 0.0);
        assert!(strtod(b"0x1p-1075").out_of_range);
        assert_eq!(strtod(b"0x1.1p-1075").value, f64::from_bits(1));
        // glibc drops the 54th bit of a subnormal: these round down where exact
        // rounding would go up.
        assert_eq!(strtod(b"0x1.00000000000008p-1075").value, 0.0);
        assert_eq!(
            strtod(b"0x1.00000000000088p-1026").value,
            f64::from_bits(1 << 48)
        );
        assert_eq!(strtod(b"0x1.0000000000000dp-1075").value, f64::from_bits(1));
        assert_eq!(strtod(b"0x1p-1022").value, f64::MIN_POSITIVE);
        assert_eq!(strtod(b"0x1.fffffffffffffp1023").value, f64::MAX);
        assert!(strtod(b"0x1p1024").out_of_range);
        assert_eq!(
            strtod(b"0x123456789abcdef0123p0").value,
            0x123456789abcdef0123u128 as f64
        );
    }

    #[test]
    fn d2string_and_double2ll() {
        assert_eq!(double2ll(3.0), Some(3));
        assert_eq!(double2ll(-0.0), Some(0));
        assert_eq!(double2ll(1.5), None);
        assert_eq!(double2ll(4611686018427387904.0), Some(1 << 62));
        assert_eq!(double2ll(9223372036854775807.0), None);
        assert_eq!(double2ll(f64::NAN), None);
        assert_eq!(d2string(1.1), "1.1000000000000001");
        assert_eq!(d2string(-0.0), "-0");
        assert_eq!(d2string(f64::NEG_INFINITY), "-inf");
        assert_eq!(d2string(1e300), "1.0000000000000001e+300");
        assert_eq!(d2string(12.0), "12");
    }
}
