//! SORT and SORT_RO (Redis's sort.c): order the elements of a list, set or sorted set
//! numerically or lexicographically, by themselves or by weights looked up through a
//! key pattern (`weight_*`, `hash_*->field`), with LIMIT, GET projections and STORE.
//!
//! Lexicographic order is byte order: Redis uses `strcoll`, which is byte order under
//! the C locale a server normally runs with; cinnabar has no locale to consult.

use super::{arg_i64, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::object::{Value, WRONGTYPE};
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_LIST};
use crate::server::Server;
use crate::types::list::List;
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
            // strchr on a C string; once a constant pattern was seen the sort stays
            // off even if a later BY has a `*` (sortCommandGeneric never resets it).
            if !c_str(pattern).contains(&b'*') {
                o.dont_sort = true;
            }
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
    Zset,
}

/// lookupKeyByPattern: `#` is the element itself; otherwise the first `*` is replaced
/// by the element and the key read as a string, or, with `->field` after the `*`, as a
/// hash field. Anything missing or of another type is None.
fn lookup_by_pattern(
    srv: &mut Server,
    db: usize,
    pattern: &[u8],
    element: &[u8],
) -> Option<Vec<u8>> {
    if c_str(pattern) == b"#" {
        return Some(element.to_vec());
    }
    // The searches stop at a NUL byte (strchr, strstr), the lengths do not (sdslen).
    let star = c_str(pattern).iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = c_str(after)
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&at| after.get(at + 2).is_some_and(|&b| b != 0));
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

/// The bytes C's string functions see: everything before the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or_default()
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
        return Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
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

/// The elements SORT works on, loaded as sortCommandGeneric loads its vector: a list
/// or sorted set left unsorted (`BY` a constant) is read only over the LIMIT range,
/// in the requested direction; anything else is read whole.
fn load_elements(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    source: Source,
    dont_sort: bool,
    desc: bool,
    (start, end): (i64, i64),
) -> Vec<Vec<u8>> {
    let Some(obj) = srv.dbs[db].peek(key) else {
        return Vec::new();
    };
    let len = match &obj.value {
        Value::List(l) => l.len(),
        Value::Set(s) => s.len(),
        Value::Zset(z) => z.len(),
        _ => 0,
    } as i64;
    let ranged = dont_sort && source != Source::Set;
    let want = if ranged {
        (end - start + 1).max(0) as usize
    } else {
        len as usize
    };
    let mut out = Vec::with_capacity(want);
    match &obj.value {
        Value::List(_) if ranged && want == 0 => {}
        Value::List(l) if ranged => {
            let from = if desc { len - start - 1 } else { start };
            l.walk(from as usize, desc, |e| {
                out.push(e.to_vec());
                out.len() < want
            });
        }
        Value::List(l) => l.walk(0, false, |e| {
            out.push(e.to_vec());
            true
        }),
        Value::Set(s) => out.extend(s.iter().map(|m| m.to_vec())),
        Value::Zset(z) if ranged => {
            out.extend(
                z.iter_from_rank(start as usize, desc)
                    .take(want)
                    .map(|(m, _)| m.to_vec()),
            );
        }
        Value::Zset(z) => out.extend(z.iter(false).map(|(m, _)| m.to_vec())),
        _ => {}
    }
    debug_assert_eq!(
        out.len(),
        want,
        "SORT loaded a different number of elements"
    );
    out
}

fn sort_generic(srv: &mut Server, ctx: &mut Ctx<'_>, readonly: bool) {
    let Some(mut o) = parse_options(ctx, readonly) else {
        return;
    };
    let db = ctx.db;
    let key = ctx.arg(1);

    let (source, len) = match srv.lookup_read(db, key).map(|obj| &obj.value) {
        None => (Source::List, 0),
        Some(Value::List(l)) => (Source::List, l.len()),
        Some(Value::Set(s)) => (Source::Set, s.len()),
        Some(Value::Zset(z)) => (Source::Zset, z.len()),
        Some(_) => {
            ctx.reply.error(WRONGTYPE);
            return;
        }
    };

    // An unsorted set has no order of its own: to store it (or replicate it)
    // deterministically, Redis sorts it alphabetically.
    if o.dont_sort && source == Source::Set && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }

    // Redis converts a listpack-encoded sorted set to a skiplist before sorting it,
    // and the conversion stays.
    if source == Source::Zset {
        let Server { dbs, rng, .. } = &mut *srv;
        if let Some(Value::Zset(z)) = dbs[db].peek_mut(key).map(|obj| &mut obj.value) {
            z.convert_to_skiplist(rng);
        }
    }

    // LIMIT sanity checks, clamped to the collection's size as Redis does.
    let len = len as i64;
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }

    let elements = load_elements(srv, db, key, source, o.dont_sort, o.desc, (start, end));
    if o.dont_sort && source != Source::Set && end >= start {
        // The range was loaded directly: the output code sees it from index 0.
        end -= start;
        start = 0;
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
                    stored.push(
                        lookup_by_pattern(srv, db, pattern, &item.element).unwrap_or_default(),
                    );
                }
            }
            if stored.is_empty() {
                if srv.delete_key(db, dest) {
                    srv.signal_modified_key(db, dest);
                    srv.notify_keyspace_event(NOTIFY_GENERIC, "del", dest, db);
                    srv.mark_dirty(1);
                }
            } else {
                let cfg = super::lists::list_config(srv);
                let list = List::from_tail_pushes(stored.iter().map(|e| e.as_slice()), &cfg);
                srv.set_key(db, dest, Value::List(list), false);
                srv.notify_keyspace_event(NOTIFY_LIST, "sortstore", dest, db);
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
    use crate::testing::{Frame, TestServer};

    fn strings(f: Frame) -> Vec<String> {
        match f {
            Frame::Array(items) => items.iter().map(|i| i.as_str()).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    #[test]
    fn every_source_type_and_order() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "l", "3", "1", "2"]);
        assert_eq!(strings(t.cmd(&["SORT", "l"])), ["1", "2", "3"]);
        assert_eq!(strings(t.cmd(&["SORT", "l", "DESC"])), ["3", "2", "1"]);
        t.cmd(&["SADD", "s", "b", "a", "c"]);
        assert_eq!(strings(t.cmd(&["SORT", "s", "ALPHA"])), ["a", "b", "c"]);
        assert_eq!(
            t.cmd(&["SORT", "s"]),
            Frame::err("ERR One or more scores can't be converted into double")
        );
        t.cmd(&["ZADD", "z", "2", "x", "1", "y", "3", "w"]);
        assert_eq!(enc(&mut t, "z"), "listpack");
        assert_eq!(
            strings(t.cmd(&["SORT", "z", "BY", "k", "DESC"])),
            ["w", "x", "y"]
        );
        // SORT converts a listpack sorted set for good, as Redis's zsetConvert does.
        assert_eq!(enc(&mut t, "z"), "skiplist");
        assert_eq!(strings(t.cmd(&["SORT", "z", "ALPHA"])), ["w", "x", "y"]);
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(
            t.cmd(&["SORT", "str"]),
            Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        assert_eq!(t.cmd(&["SORT", "nope"]), Frame::Array(vec![]));
    }

    #[test]
    fn unsorted_set_store_is_sorted_alphabetically() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "s", "pear", "fig", "apple", "kiwi"]);
        assert_eq!(
            t.cmd(&["SORT", "s", "BY", "const", "STORE", "d"]),
            Frame::Int(4)
        );
        assert_eq!(
            strings(t.cmd(&["LRANGE", "d", "0", "-1"])),
            ["apple", "fig", "kiwi", "pear"]
        );
    }

    #[test]
    fn store_encoding_follows_list_limits() {
        let mut t = TestServer::new();
        let args: Vec<String> = (0..200).map(|i| i.to_string()).collect();
        let mut push = vec!["RPUSH", "l"];
        push.extend(args.iter().map(|s| s.as_str()));
        t.cmd(&push);
        t.cmd(&["SORT", "l", "STORE", "small", "LIMIT", "0", "10"]);
        assert_eq!(enc(&mut t, "small"), "listpack");
        t.cmd(&["CONFIG", "SET", "list-max-listpack-size", "50"]);
        t.cmd(&["SORT", "l", "STORE", "big"]);
        assert_eq!(enc(&mut t, "big"), "quicklist");
        assert_eq!(t.cmd(&["LLEN", "big"]), Frame::Int(200));
        assert_eq!(t.cmd(&["LINDEX", "big", "-1"]), Frame::bulk("199"));
        // A result within one node's limit is a listpack, as LIST_CONV_AUTO makes it.
        t.cmd(&["SORT", "l", "STORE", "fifty", "LIMIT", "0", "50"]);
        assert_eq!(enc(&mut t, "fifty"), "listpack");
        t.cmd(&["SORT", "l", "STORE", "fiftyone", "LIMIT", "0", "51"]);
        assert_eq!(enc(&mut t, "fiftyone"), "quicklist");
    }

    #[test]
    fn unsorted_ranges_of_a_big_list_and_zset() {
        let mut t = TestServer::new();
        let n = 100_000;
        let mut pipeline = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut push = vec!["RPUSH".to_string(), "l".to_string()];
            let mut zadd = vec!["ZADD".to_string(), "z".to_string()];
            for i in chunk {
                push.push(format!("e{i}"));
                zadd.push(i.to_string());
                zadd.push(format!("m{i}"));
            }
            pipeline.push(push);
            pipeline.push(zadd);
        }
        for cmd in &pipeline {
            let refs: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            t.cmd(&refs);
        }
        let last = (n - 1).to_string();
        assert_eq!(
            strings(t.cmd(&["SORT", "l", "BY", "x", "LIMIT", "0", "2"])),
            ["e0", "e1"]
        );
        assert_eq!(
            strings(t.cmd(&["SORT", "l", "BY", "x", "DESC", "LIMIT", "1", "2"])),
            [format!("e{}", n - 2), format!("e{}", n - 3)]
        );
        assert_eq!(
            strings(t.cmd(&["SORT", "z", "BY", "x", "DESC", "LIMIT", "0", "1"])),
            [format!("m{last}")]
        );
        assert_eq!(
            strings(t.cmd(&["SORT", "z", "BY", "x", "LIMIT", &last, "5"])),
            [format!("m{last}")]
        );
    }

    #[test]
    fn weights_and_projections() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "ids", "1", "2", "3"]);
        t.cmd(&["HSET", "u_1", "age", "40", "name", "ann"]);
        t.cmd(&["HSET", "u_2", "age", "20", "name", "bob"]);
        t.cmd(&["SET", "w_3", "30"]);
        // Missing weights sort as 0; GET of a missing key or field is a null.
        assert_eq!(
            t.cmd(&[
                "SORT",
                "ids",
                "BY",
                "u_*->age",
                "GET",
                "#",
                "GET",
                "u_*->name"
            ]),
            Frame::Array(vec![
                Frame::bulk("3"),
                Frame::Null,
                Frame::bulk("2"),
                Frame::bulk("bob"),
                Frame::bulk("1"),
                Frame::bulk("ann"),
            ])
        );
        assert_eq!(
            strings(t.cmd(&["SORT", "ids", "BY", "w_*"])),
            ["1", "2", "3"]
        );
        // A NUL ends the pattern for the searches but not for the key built: `#\0x`
        // is still `#`, and `w_*\0x` names keys like `w_3\0x`.
        let conn = t.default_conn();
        assert_eq!(
            strings(t.cmd_bytes_on(conn, &[b"SORT", b"ids", b"GET", b"#\0x"])),
            ["1", "2", "3"]
        );
        t.cmd(&["SET", "w_1", "50"]);
        assert_eq!(
            strings(t.cmd(&["SORT", "ids", "BY", "w_*"])),
            ["2", "3", "1"]
        );
        assert_eq!(
            strings(t.cmd_bytes_on(conn, &[b"SORT", b"ids", b"BY", b"w_*\0x"])),
            ["1", "2", "3"]
        );
        t.cmd_bytes_on(conn, &[b"SET", b"w_2\0x", b"99"]);
        assert_eq!(
            strings(t.cmd_bytes_on(conn, &[b"SORT", b"ids", b"BY", b"w_*\0x"])),
            ["1", "3", "2"]
        );
        assert_eq!(
            t.cmd(&["SORT", "ids", "GET", "u_*->name", "STORE", "out"]),
            Frame::Int(3)
        );
        assert_eq!(
            strings(t.cmd(&["LRANGE", "out", "0", "-1"])),
            ["ann", "bob", ""]
        );
    }

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
