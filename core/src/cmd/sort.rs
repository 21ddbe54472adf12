//! SORT and SORT_RO (Redis's sort.c): order the elements of a list, set or sorted set
//! numerically or lexicographically, by themselves or by weights looked up through a
//! key pattern (`weight_*`, `hash_*->field`), with LIMIT, GET projections and STORE.
//!
//! Lexicographic order is byte order: Redis uses `strcoll`, which is byte order under
//! the C locale a server normally runs with; cinnabar has no locale to consult.

use super::{arg_i64, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::object::{Value, WRONGTYPE};
use crate::server::Server;
use crate::util::eq_ic;
use std::cmp::Ordering;

pub const HANDLERS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

const ERR_SCORES: &str = "One or more scores can't be converted into double";

fn sort(srv: &mut Server, ctx: &mut Ctx<'_>) {
    sort_generic(srv, ctx, false);
}

fn sort_ro(srv: &mut Server, ctx: &mut Ctx<'_>) {
    sort_generic(srv, ctx, true);
}

struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY a pattern without `*`: every weight is the same, keep the native order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
}

/// Parse the options the way sortCommandGeneric does: left to right, an option
/// missing its arguments is a syntax error, the last of repeated options wins.
fn parse_options<'a>(ctx: &mut Ctx<'a>, readonly: bool) -> Option<SortOptions<'a>> {
    let mut o = SortOptions {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let argc = ctx.argc();
    let mut j = 2;
    while j < argc {
        let left = argc - j - 1;
        let opt = ctx.arg(j);
        if eq_ic(opt, "asc") {
            o.desc = false;
        } else if eq_ic(opt, "desc") {
            o.desc = true;
        } else if eq_ic(opt, "alpha") {
            o.alpha = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            o.limit_start = arg_i64(ctx, j + 1)?;
            o.limit_count = arg_i64(ctx, j + 2)?;
            j += 2;
        } else if !readonly && eq_ic(opt, "store") && left >= 1 {
            o.store = Some(ctx.arg(j + 1));
            j += 1;
        } else if eq_ic(opt, "by") && left >= 1 {
            let pattern = ctx.arg(j + 1);
            o.by = Some(pattern);
            o.dont_sort = !pattern.contains(&b'*');
            j += 1;
        } else if eq_ic(opt, "get") && left >= 1 {
            o.gets.push(ctx.arg(j + 1));
            j += 1;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// The kinds of value SORT accepts, as far as ordering goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    List,
    Set,
    ZSet,
}

/// lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is replaced
/// by the element and the key read as a string, or, with `->field` after the `*`, as a
/// hash field. Anything missing or of another type is None.
fn lookup_by_pattern(srv: &mut Server, db: usize, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    // Redis treats the pattern as a C string here.
    let pattern = pattern.split(|&b| b == 0).next().unwrap_or_default();
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| at + 2 < after.len());
    let (suffix, field) = match arrow {
        Some(at) => (&after[..at], Some(&after[at + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + suffix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(suffix);
    let obj = srv.lookup_read(db, &key)?;
    match (field, &obj.value) {
        (None, Value::Str(s)) => Some(s.as_bytes().into_owned()),
        (Some(field), Value::Hash(h)) => h.get(field),
        _ => None,
    }
}

/// strtod with SORT's acceptance rule: the whole string must be consumed (an empty
/// string is 0), the result must not overflow or underflow, and NaN is refused.
fn sort_score(text: &[u8]) -> Option<f64> {
    // strtod stops at a NUL byte, and SORT only checks that it stopped at one.
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some(0.0);
    }
    let trimmed = {
        let skip = text
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
            .count();
        &text[skip..]
    };
    let s = std::str::from_utf8(trimmed).ok()?;
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let magnitude = if lower == "inf" || lower == "infinity" {
        return Some(if negative { f64::NEG_INFINITY } else { f64::INFINITY });
    } else if lower.starts_with("nan") {
        return None;
    } else if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex)?
    } else {
        // Rust's grammar for decimal floats is strtod's, minus the spellings handled
        // above; it never sets ERANGE, so check for it by hand.
        if !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        let v: f64 = body.parse().ok()?;
        if v.is_infinite() {
            return None; // overflow: ERANGE
        }
        if v == 0.0 && body.bytes().any(|b| (b'1'..=b'9').contains(&b)) && mantissa_nonzero(body) {
            return None; // underflow to zero: ERANGE
        }
        if v != 0.0 && v.abs() < f64::MIN_POSITIVE {
            return None; // denormal result: glibc reports ERANGE
        }
        v
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// Whether the digits before the exponent of a decimal float are not all zero.
fn mantissa_nonzero(body: &str) -> bool {
    body.bytes()
        .take_while(|b| !matches!(b, b'e' | b'E'))
        .any(|b| (b'1'..=b'9').contains(&b))
}

/// The part of a C hexadecimal float after `0x`: hex digits, an optional fraction and
/// an optional binary exponent `p±n`.
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exponent) = match hex.find('p') {
        Some(at) => (&hex[..at], hex[at + 1..].parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    let v = value * 2f64.powi(exponent);
    v.is_finite().then_some(v)
}

struct Item {
    element: Vec<u8>,
    score: f64,
    weight: Option<Vec<u8>>,
}

fn sort_generic(srv: &mut Server, ctx: &mut Ctx<'_>, readonly: bool) {
    let Some(mut o) = parse_options(ctx, readonly) else {
        return;
    };
    let db = ctx.db;
    let key = ctx.arg(1);

    let (source, mut elements) = match srv.lookup_read(db, key) {
        None => (Source::List, Vec::new()),
        Some(obj) => match &mut obj.value {
            Value::List(l) => (Source::List, l.iter().map(|e| e.to_vec()).collect()),
            Value::Set(s) => (Source::Set, s.members()),
            Value::ZSet(z) => {
                // Redis converts a listpack-encoded sorted set to a skiplist before
                // sorting it, and the conversion stays.
                z.convert_to_skiplist();
                (Source::ZSet, z.members_in_order())
            }
            _ => {
                ctx.reply.error(WRONGTYPE);
                return;
            }
        },
    };

    // An unsorted set has no order of its own: to store it (or replicate it)
    // deterministically, Redis sorts it alphabetically.
    if o.dont_sort && source == Source::Set && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }

    let len = elements.len() as i64;
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }

    if o.dont_sort && source != Source::Set && o.desc {
        elements.reverse();
    }

    let mut items: Vec<Item> = elements
        .into_iter()
        .map(|element| Item {
            element,
            score: 0.0,
            weight: None,
        })
        .collect();

    let mut conversion_error = false;
    if !o.dont_sort {
        for item in items.iter_mut() {
            let weight = match o.by {
                Some(pattern) => match lookup_by_pattern(srv, db, pattern, &item.element) {
                    Some(w) => w,
                    None => continue,
                },
                None => item.element.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    item.weight = Some(weight);
                }
            } else {
                match sort_score(&weight) {
                    Some(s) => item.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let by_pattern = o.by.is_some();
        let storing = o.store.is_some();
        let desc = o.desc;
        let alpha = o.alpha;
        items.sort_by(|a, b| {
            let cmp = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.element.cmp(&b.element))
            } else if by_pattern {
                match (&a.weight, &b.weight) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => compare_strings(x, y, storing),
                }
            } else {
                compare_strings(&a.element, &b.element, storing)
            };
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }

    let range: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let output_len = if o.gets.is_empty() {
        range.len()
    } else {
        range.len() * o.gets.len()
    };

    if conversion_error {
        ctx.reply.error(ERR_SCORES);
        return;
    }
    match o.store {
        None => {
            ctx.reply.array(output_len);
            for item in range {
                if o.gets.is_empty() {
                    ctx.reply.bulk(&item.element);
                }
                for pattern in &o.gets {
                    match lookup_by_pattern(srv, db, pattern, &item.element) {
                        Some(v) => ctx.reply.bulk(&v),
                        None => ctx.reply.null(),
                    }
                }
            }
        }
        Some(dest) => {
            let mut stored: Vec<Vec<u8>> = Vec::with_capacity(output_len);
            for item in range {
                if o.gets.is_empty() {
                    stored.push(item.element.clone());
                }
                for pattern in &o.gets {
                    stored.push(lookup_by_pattern(srv, db, pattern, &item.element).unwrap_or_default());
                }
            }
            if stored.is_empty() {
                if srv.delete_key(db, dest) {
                    srv.mark_dirty(1);
                }
            } else {
                let list = crate::types::list::List::from_elements(&srv.config, stored);
                srv.set_key(db, dest, Value::List(list), false);
                srv.mark_dirty(output_len as u64);
            }
            ctx.reply.int(output_len as i64);
        }
    }
}

/// compareStringObjects (binary, used when storing) or collateStringObjects (strcoll
/// on C strings, which stop at a NUL byte) for replies.
fn compare_strings(a: &[u8], b: &[u8], binary: bool) -> Ordering {
    if binary {
        a.cmp(b)
    } else {
        let cut = |s: &[u8]| -> usize { s.iter().position(|&c| c == 0).unwrap_or(s.len()) };
        a[..cut(a)].cmp(&b[..cut(b)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_strtod() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"  1.5"), Some(1.5));
        assert_eq!(sort_score(b"1.5 "), None);
        assert_eq!(sort_score(b"-3"), Some(-3.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"0x1p3"), Some(8.0));
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"1e-400"), None);
        assert_eq!(sort_score(b"0e-400"), Some(0.0));
        assert_eq!(sort_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(sort_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"abc"), None);
        assert_eq!(sort_score(b"12\0junk"), Some(12.0));
        assert_eq!(sort_score(b".5"), Some(0.5));
        assert_eq!(sort_score(b"5."), Some(5.0));
    }
}
