//! The model of SORT and SORT_RO, as Redis 7.0's sort.c (sortCommandGeneric,
//! lookupKeyByPattern, sortCompare), with Redis 7.2's encoding of a STORE result.
//!
//! What Redis leaves open, and how the model copes:
//! * `qsort`/`pqsort` are not stable, and only ALPHA with a BY pattern can compare
//!   two different elements as equal (equal weights, or both weights missing): the
//!   order inside such a run of ties, and with LIMIT which of them fall inside the
//!   range, is open. A reply is checked by its guarantees (every position holds one
//!   of the tied candidates, each used at most once) and a STORE result is one
//!   *choice* per position among the distinct outputs left.
//! * A set left unsorted (BY a constant, no STORE) comes out in its iteration order,
//!   open for a hash table (and for a listpack whose order the model lost, which a
//!   whole listing then teaches it).
//! * Which weight keys a GET reads then depends on that order: a key past its
//!   deadline read only by an open position may or may not have been deleted.
//!
//! Everything else is exact: numeric sorting breaks ties by comparing the elements'
//! bytes, ALPHA without BY compares the elements themselves, BY a constant keeps a
//! list's or sorted set's order (reversed by DESC, ranged by LIMIT), a set left
//! unsorted with STORE is sorted ALPHA, a listpack sorted set becomes a skiplist.

use super::value::{List, Value, ZsetEnc};
use super::{err_syntax, fail, is, limitation, long_arg, Actual, Eval, Expect, Key, Stop, View};
use crate::resp::{self, Proto, Reply};
use std::cmp::Ordering;

/// The commands this module models.
pub(super) const COMMANDS: &[&str] = &["sort", "sort_ro"];

const ERR_SCORES: &str = "One or more scores can't be converted into double";

/// SORT's options, as sortCommandGeneric parses them.
#[derive(Debug, Clone)]
struct Options {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Vec<u8>>,
    by: Option<Vec<u8>>,
    /// A BY pattern without `*` was given (sticky: a later BY does not undo it).
    dontsort: bool,
    gets: Vec<Vec<u8>>,
}

/// The bytes C's string functions see: everything before the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.split(|&b| b == 0).next().unwrap_or_default()
}

/// Left to right; an option short of its arguments, an unknown one, and STORE in
/// SORT_RO are syntax errors; LIMIT's numbers are getLongFromObjectOrReply's.
fn parse(req: &[Vec<u8>], readonly: bool) -> Result<Options, Stop> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < req.len() {
        let left = req.len() - j - 1;
        let a = c_str(&req[j]);
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            o.limit_start = long_arg(&req[j + 1], None)?;
            o.limit_count = long_arg(&req[j + 2], None)?;
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            o.store = Some(req[j + 1].clone());
            j += 1;
        } else if is(a, "by") && left >= 1 {
            if !c_str(&req[j + 1]).contains(&b'*') {
                o.dontsort = true;
            }
            o.by = Some(req[j + 1].clone());
            j += 1;
        } else if is(a, "get") && left >= 1 {
            o.gets.push(req[j + 1].clone());
            j += 1;
        } else {
            return fail(err_syntax());
        }
        j += 1;
    }
    Ok(o)
}

/// What lookupKeyByPattern reads for one element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `#`: the element itself.
    Itself,
    /// No `*` in the pattern: nothing.
    Nothing,
    /// A string key, or a hash key's field.
    Key { key: Key, field: Option<Vec<u8>> },
}

/// lookupKeyByPattern's substitution: the searches for `#`, `*` and `->` stop at a
/// NUL (strchr, strstr), the lengths do not (sdslen).
fn target(pattern: &[u8], element: &[u8]) -> Target {
    let c = c_str(pattern);
    if c == b"#" {
        return Target::Itself;
    }
    let Some(star) = c.iter().position(|&b| b == b'*') else {
        return Target::Nothing;
    };
    let arrow = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|at| star + 1 + at)
        .filter(|&at| at + 2 < c.len());
    let (postfix, field) = match arrow {
        Some(at) => (&pattern[star + 1..at], Some(pattern[at + 2..].to_vec())),
        None => (&pattern[star + 1..], None),
    };
    let mut key = pattern[..star].to_vec();
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    Target::Key { key, field }
}

/// The elements of a value SORT accepts, in its order (for a hash table, the
/// model's canonical order).
fn elements(value: &Value) -> Vec<Vec<u8>> {
    match value {
        Value::List(l) => l.items.clone(),
        Value::Set(s) => s.members.clone(),
        Value::Zset(z) => z.items.iter().map(|(_, m)| m.clone()).collect(),
        Value::Str(_) | Value::Hash(_) => Vec::new(),
    }
}

/// The keys a SORT may read besides its source and destination: every key its BY
/// and GET patterns name for an element of any possible state of the source.
pub(super) fn pattern_keys(req: &[Vec<u8>], sources: &[Option<&Value>]) -> Vec<Key> {
    let Ok(o) = parse(req, req[0].eq_ignore_ascii_case(b"sort_ro")) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let patterns: Vec<&Vec<u8>> = o.by.iter().chain(&o.gets).collect();
    for value in sources.iter().flatten() {
        for e in elements(value) {
            for p in &patterns {
                if let Target::Key { key, .. } = target(p, &e) {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
    }
    keys
}

/// The destination of a SORT ... STORE, if the options parse.
pub(super) fn store_key(req: &[Vec<u8>]) -> Option<Vec<u8>> {
    parse(req, req[0].eq_ignore_ascii_case(b"sort_ro"))
        .ok()
        .and_then(|o| o.store)
}

/// How a pattern's keys are read.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    /// lookupKeyRead: an expired key is deleted.
    Deleting,
    /// A read that may or may not have happened (an open position): an expired key
    /// may or may not have been deleted.
    Maybe,
}

/// lookupKeyByPattern: the bytes it yields, if any.
fn fetch(v: &mut View, pattern: &[u8], element: &[u8], read: Read) -> Option<Vec<u8>> {
    let (key, field) = match target(pattern, element) {
        Target::Itself => return Some(element.to_vec()),
        Target::Nothing => return None,
        Target::Key { key, field } => (key, field),
    };
    if v.expired(&key) {
        v.event(match read {
            Read::Deleting => "sort: an expired key read (and deleted) through a pattern",
            Read::Maybe => "sort: an expired key perhaps read through a pattern",
        });
    }
    let entry = match read {
        Read::Deleting => v.lookup(&key)?.clone(),
        Read::Maybe => v.peek_maybe_deleting(&key)?,
    };
    match (field, &entry.value) {
        (None, Value::Str(s)) => Some(s.bytes.clone()),
        (Some(f), Value::Hash(h)) => h.get(&f).map(|x| x.to_vec()),
        _ => None,
    }
}

/// Why strtod refused a weight.
enum BadScore {
    /// Redis's "can't be converted" error.
    Refused,
    /// A spelling the model does not follow glibc on.
    Unmodelled(String),
}

/// `strtod(s, &eptr)` with SORT's checks: all of the C string consumed (so an empty
/// string is 0, but blanks alone are not), no ERANGE, not NaN.
fn score(text: &[u8]) -> Result<f64, BadScore> {
    let s = c_str(text);
    if s.is_empty() {
        return Ok(0.0);
    }
    let blanks = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let body = &s[blanks..];
    let (negative, body) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let lower = body.to_ascii_lowercase();
    let sign = |x: f64| if negative { -x } else { x };
    if lower == b"inf" || lower == b"infinity" {
        return Ok(sign(f64::INFINITY));
    }
    if lower.starts_with(b"inf") || lower.starts_with(b"nan") {
        return Err(BadScore::Refused); // trailing characters, or NaN
    }
    if lower.starts_with(b"0x") {
        let digits = &lower[2..];
        if !digits.is_empty() && digits.iter().all(|b| b.is_ascii_hexdigit()) && digits.len() <= 13
        {
            let v = u64::from_str_radix(std::str::from_utf8(digits).expect("ascii"), 16)
                .expect("hex digits");
            return Ok(sign(v as f64));
        }
        return Err(BadScore::Unmodelled(format!(
            "hexadecimal weight {}",
            resp::show(text)
        )));
    }
    // A decimal: digits with an optional point (at least one digit), then an exponent
    // only if digits follow it. Anything after that is left over.
    let mut i = 0;
    let int_digits = body[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if body.get(i) == Some(&b'.') {
        frac_digits = body[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if int_digits + frac_digits > 0 {
            i += 1 + frac_digits;
        }
    }
    if int_digits + frac_digits == 0 {
        return Err(BadScore::Refused); // no conversion: eptr is the start
    }
    let mantissa_end = i;
    if matches!(body.get(i), Some(b'e' | b'E')) {
        let mut k = i + 1;
        if matches!(body.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = body[k..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits > 0 {
            i = k + exp_digits;
        }
    }
    if i != body.len() {
        return Err(BadScore::Refused);
    }
    let v: f64 = std::str::from_utf8(body)
        .expect("ascii")
        .parse()
        .map_err(|_| BadScore::Unmodelled(format!("weight {}", resp::show(text))))?;
    if v.is_infinite() {
        return Err(BadScore::Refused); // overflow: ERANGE
    }
    let nonzero = body[..mantissa_end]
        .iter()
        .any(|b| (b'1'..=b'9').contains(b));
    if v == 0.0 && nonzero {
        return Err(BadScore::Refused); // underflow: ERANGE
    }
    if v != 0.0 && v.abs() < f64::MIN_POSITIVE {
        return Err(BadScore::Unmodelled(format!(
            "subnormal weight {}",
            resp::show(text)
        )));
    }
    Ok(sign(v))
}

/// One element in SORT's vector.
#[derive(Debug, Clone)]
struct Item {
    element: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the weight, if the pattern found one.
    cmpobj: Option<Vec<u8>>,
}

/// sortCompare.
fn compare(a: &Item, b: &Item, o: &Options) -> Ordering {
    let store = o.store.is_some();
    let strings = |x: &[u8], y: &[u8]| {
        if store {
            x.cmp(y) // compareStringObjects: binary
        } else {
            c_str(x).cmp(c_str(y)) // strcoll in the C locale
        }
    };
    let cmp = if !o.alpha {
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.element.cmp(&b.element)
        }
    } else if o.by.is_some() {
        match (&a.cmpobj, &b.cmpobj) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => strings(x, y),
        }
    } else {
        strings(&a.element, &b.element)
    };
    if o.desc {
        cmp.reverse()
    } else {
        cmp
    }
}

/// The output of one element: the element itself, or one value per GET (`None` for
/// a missing one).
type Chunk = Vec<Option<Vec<u8>>>;

/// Elements whose relative order Redis leaves open, and the output positions they
/// share.
struct Group {
    items: Vec<Vec<u8>>,
    /// Output positions (0-based, within the range) this group fills.
    positions: Vec<usize>,
}

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let mut o = parse(req, name == "sort_ro")?;
    let key = req[1].as_slice();
    // The source: its kind, elements in its order, and whether that order is known.
    let (kind, elems, ordered) = match v.lookup(key).map(|e| &e.value) {
        None => ("list", Vec::new(), true),
        Some(Value::List(l)) => ("list", l.items.clone(), true),
        Some(Value::Set(s)) => ("set", s.members.clone(), s.ordered().is_some()),
        Some(Value::Zset(z)) => ("zset", elements(&Value::Zset(z.clone())), true),
        Some(other) => {
            let t = other.type_name();
            v.event(format!("wrongtype: sort on {t}"));
            return fail(resp::wrongtype());
        }
    };
    if o.dontsort && kind == "set" && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    if kind == "zset" {
        let z = v.zset(key)?.expect("a sorted set");
        if z.val.enc == ZsetEnc::Listpack {
            z.val.to_skiplist(z.ev);
            v.event("sort: a listpack sorted set converted to a skiplist");
        }
    }
    // LIMIT, clamped as Redis does.
    let len = elems.len() as i64;
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
    let range: Vec<usize> = if end >= start {
        (start as usize..=end as usize).collect()
    } else {
        Vec::new()
    };

    // The groups filling the output positions, in order.
    let mut groups: Vec<Group> = Vec::new();
    if o.dontsort {
        if len > 0 {
            v.event("sort: BY a constant, nothing sorted");
        }
        if kind == "set" && !ordered {
            if !range.is_empty() {
                v.event("sort: a set left unsorted, in an open order");
            }
            groups.push(Group {
                items: elems.clone(),
                positions: (0..range.len()).collect(),
            });
        } else {
            let seq: Vec<Vec<u8>> = if o.desc && kind != "set" {
                elems.iter().rev().cloned().collect()
            } else {
                elems.clone()
            };
            for (pos, &i) in range.iter().enumerate() {
                groups.push(Group {
                    items: vec![seq[i].clone()],
                    positions: vec![pos],
                });
            }
        }
    } else {
        let mut items: Vec<Item> = Vec::with_capacity(elems.len());
        let mut refused = false;
        for e in &elems {
            let mut item = Item {
                element: e.clone(),
                score: 0.0,
                cmpobj: None,
            };
            let weight = match &o.by {
                Some(pattern) => {
                    let w = fetch(v, pattern, e, Read::Deleting);
                    let from_hash =
                        matches!(target(pattern, e), Target::Key { field: Some(_), .. });
                    if w.is_some() && from_hash {
                        v.event("sort: a weight read from a hash field");
                    }
                    w
                }
                None => Some(e.clone()),
            };
            if let Some(w) = weight {
                if o.alpha {
                    if o.by.is_some() {
                        item.cmpobj = Some(w);
                    }
                } else {
                    match score(&w) {
                        Ok(s) => item.score = s,
                        Err(BadScore::Refused) => refused = true,
                        Err(BadScore::Unmodelled(why)) => return limitation(why),
                    }
                }
            }
            items.push(item);
        }
        if refused {
            v.event("sort: a weight that is not a double");
            return fail(resp::err(ERR_SCORES));
        }
        items.sort_by(|a, b| compare(a, b, &o));
        // Runs of ties, and the output positions falling in each.
        let mut i = 0;
        while i < items.len() {
            let mut j = i + 1;
            while j < items.len() && compare(&items[i], &items[j], &o) == Ordering::Equal {
                j += 1;
            }
            let positions: Vec<usize> = range
                .iter()
                .enumerate()
                .filter(|(_, &r)| (i..j).contains(&r))
                .map(|(pos, _)| pos)
                .collect();
            if !positions.is_empty() {
                groups.push(Group {
                    items: items[i..j].iter().map(|it| it.element.clone()).collect(),
                    positions,
                });
            }
            i = j;
        }
    }

    // What each candidate outputs. A group wholly inside the range is read whole;
    // one cut by the range is read only in part, which part being open.
    let mut chunks: Vec<Vec<Chunk>> = Vec::with_capacity(groups.len());
    for g in &groups {
        let read = if g.positions.len() == g.items.len() {
            Read::Deleting
        } else {
            Read::Maybe
        };
        let mut out = Vec::with_capacity(g.items.len());
        for e in &g.items {
            out.push(if o.gets.is_empty() {
                vec![Some(e.clone())]
            } else {
                o.gets
                    .iter()
                    .map(|p| {
                        let got = fetch(v, p, e, read);
                        if got.is_none() && c_str(p) != b"#" {
                            v.event("sort: GET of a missing key or field");
                        }
                        got
                    })
                    .collect()
            });
        }
        chunks.push(out);
    }
    let open = groups
        .iter()
        .zip(&chunks)
        .any(|(g, c)| g.items.len() > 1 && c.iter().any(|x| x != &c[0]));
    let per = o.gets.len().max(1);
    let outputlen = range.len() * per;

    let Some(dst) = o.store.clone() else {
        let p = v.p;
        if !open {
            // Every position's output is decided: a group's candidates are alike.
            let mut bytes = resp::array_header(outputlen);
            for (g, c) in groups.iter().zip(&chunks) {
                for _ in &g.positions {
                    bytes.extend(chunk_bytes(&c[0], p));
                }
            }
            return Ok(Expect::Exact(bytes));
        }
        v.event("sort: an order Redis leaves open");
        let check = check_open(&groups, &chunks, range.len(), per, p, actual);
        if check.is_ok() && kind == "set" && o.dontsort && o.gets.is_empty() {
            if let Some(s) = v.set(key)? {
                if s.val.len() == range.len() {
                    if let Reply::Array(items) = actual.reply {
                        let order = items
                            .iter()
                            .filter_map(|r| match r {
                                Reply::Bulk(b) => Some(b.clone()),
                                _ => None,
                            })
                            .collect();
                        s.val.learn_order(order);
                    }
                }
            }
        }
        return Ok(Expect::Checked(check));
    };

    // STORE: one outcome per choice among the distinct outputs left at each open
    // position.
    let mut slots: Vec<Option<&Chunk>> = vec![None; range.len()];
    for (g, c) in groups.iter().zip(&chunks) {
        let mut left: Vec<&Chunk> = c.iter().collect();
        left.sort();
        for &pos in &g.positions {
            let mut distinct: Vec<&Chunk> = left.clone();
            distinct.dedup();
            let pick = if distinct.len() > 1 {
                v.choose(distinct.len())
            } else {
                0
            };
            let chosen = distinct[pick];
            let at = left.iter().position(|x| *x == chosen).expect("a candidate");
            left.remove(at);
            slots[pos] = Some(chosen);
        }
    }
    if open {
        v.event("sort: a stored order Redis leaves open");
    }
    let mut stored: Vec<Vec<u8>> = Vec::with_capacity(outputlen);
    for c in slots {
        for part in c.expect("every position filled") {
            stored.push(part.clone().unwrap_or_default());
        }
    }
    let existing = v.type_of(&dst);
    if stored.is_empty() {
        if existing.is_some() {
            v.event("sort: an empty result deleted the destination");
        }
        v.store_empty(&dst);
    } else {
        if existing.is_some_and(|t| t != "list") {
            v.event("sort: STORE replaced another type");
        }
        let list = List::from_tail_pushes(stored, v.lim.list_max_listpack_size);
        v.store(&dst, Value::List(list));
    }
    Ok(Expect::Exact(resp::int(outputlen as i64)))
}

fn chunk_bytes(c: &Chunk, p: Proto) -> Vec<u8> {
    let mut out = Vec::new();
    for part in c {
        match part {
            Some(b) => out.extend(resp::bulk(b)),
            None => out.extend(p.nil()),
        }
    }
    out
}

/// A reply whose positions each hold one of their group's candidates, each used at
/// most once, in Redis's exact bytes.
fn check_open(
    groups: &[Group],
    chunks: &[Vec<Chunk>],
    positions: usize,
    per: usize,
    p: Proto,
    actual: &Actual,
) -> Result<(), String> {
    let Reply::Array(items) = actual.reply else {
        return Err("not an array".into());
    };
    if items.len() != positions * per {
        return Err(format!(
            "{} items where {} were due",
            items.len(),
            positions * per
        ));
    }
    let mut expected: Vec<Vec<u8>> = vec![Vec::new(); positions];
    for (g, c) in groups.iter().zip(chunks) {
        let mut left: Vec<&Chunk> = c.iter().collect();
        for &pos in &g.positions {
            let got = &items[pos * per..(pos + 1) * per];
            let found = left.iter().position(|cand| {
                cand.iter().zip(got).all(|(want, r)| match (want, r) {
                    (Some(b), Reply::Bulk(x)) => b == x,
                    (None, Reply::Nil | Reply::Null) => true,
                    _ => false,
                })
            });
            let Some(at) = found else {
                return Err(format!("position {pos} holds none of the candidates left"));
            };
            expected[pos] = chunk_bytes(left.remove(at), p);
        }
    }
    let mut bytes = resp::array_header(items.len());
    for e in expected {
        bytes.extend(e);
    }
    if bytes == actual.bytes {
        Ok(())
    } else {
        Err(format!("expected {}", resp::show(&bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_substitute_the_first_star() {
        let k = |key: &str, field: Option<&str>| Target::Key {
            key: key.as_bytes().to_vec(),
            field: field.map(|f| f.as_bytes().to_vec()),
        };
        assert_eq!(target(b"#", b"a"), Target::Itself);
        assert_eq!(target(b"#\0x", b"a"), Target::Itself);
        assert_eq!(target(b"##", b"a"), Target::Nothing);
        assert_eq!(target(b"nosort", b"a"), Target::Nothing);
        assert_eq!(target(b"w_*", b"a"), k("w_a", None));
        assert_eq!(target(b"w_*_*", b"a"), k("w_a_*", None));
        assert_eq!(target(b"h_*->f", b"a"), k("h_a", Some("f")));
        assert_eq!(target(b"h_*->", b"a"), k("h_a->", None));
        assert_eq!(target(b"h->*", b"a"), k("h->a", None));
        assert_eq!(target(b"h_*->f->g", b"a"), k("h_a", Some("f->g")));
        assert_eq!(target(b"w_*\0x", b"a"), k("w_a\0x", None));
    }

    #[test]
    fn weights_follow_strtod() {
        let ok = |s: &str| match score(s.as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("{s:?} refused"),
        };
        let refused = |s: &str| matches!(score(s.as_bytes()), Err(BadScore::Refused));
        assert_eq!(ok(""), 0.0);
        assert_eq!(ok(" 5"), 5.0);
        assert_eq!(ok("-2.5"), -2.5);
        assert_eq!(ok("1e2"), 100.0);
        assert_eq!(ok(".5"), 0.5);
        assert_eq!(ok("5."), 5.0);
        assert_eq!(ok("007"), 7.0);
        assert_eq!(ok("0x10"), 16.0);
        assert_eq!(ok("-inf"), f64::NEG_INFINITY);
        assert_eq!(ok("+Infinity"), f64::INFINITY);
        assert!(ok("-0").is_sign_negative());
        assert_eq!(ok("12\0junk"), 12.0);
        for bad in [
            "abc", "5 ", " ", "-", "1e", "nan", "infx", "1e400", "1e-400", "1.5x",
        ] {
            assert!(refused(bad), "{bad:?} accepted");
        }
        assert_eq!(ok("0e-400"), 0.0);
    }
}
