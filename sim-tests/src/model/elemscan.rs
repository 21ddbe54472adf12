//! HSCAN, SSCAN and ZSCAN (Redis's scanGenericCommand on one value): a compact
//! encoding returns everything at once with cursor 0, in its order; a hash table's
//! walk is checked by its guarantees (a numeric cursor, distinct current members
//! matching the pattern, with their current values). The guarantee across a whole
//! iteration is checked by the model's scan tracking (`Model::element_scan_step`).

use super::{done, err_syntax, fail, int_arg, is, Actual, Eval, Expect, Stop, View};
use crate::glob;
use crate::resp::{self, Reply};
use std::collections::BTreeSet;

/// What a collection offers a scan.
pub(super) struct Walk {
    /// A listpack or intset: one call returns everything.
    pub compact: bool,
    /// The model knows the iteration order of `items`.
    pub ordered: bool,
    /// Members and, for hashes and sorted sets, their values as a scan returns them.
    pub items: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// parseScanCursorOrReply: strtoul, with no leading space and nothing left over.
pub(super) fn parse_cursor(raw: &[u8]) -> Option<u64> {
    if raw
        .first()
        .is_some_and(|c| c.is_ascii_whitespace() || *c == 0x0b)
    {
        return None;
    }
    let (negative, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() {
        // No conversion: valid only if the whole argument is empty.
        return raw.is_empty().then_some(0);
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if negative { n.wrapping_neg() } else { n })
}

/// The reply to a scan of a missing key.
pub(super) fn empty_scan() -> Vec<u8> {
    b"*2\r\n$1\r\n0\r\n*0\r\n".to_vec()
}

/// The options after the cursor: COUNT (at least 1) and MATCH; the pattern, if any.
fn parse_options(args: &[Vec<u8>]) -> Result<Option<Vec<u8>>, Stop> {
    let mut pattern = None;
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i;
        if is(&args[i], "count") && left >= 2 {
            if int_arg(&args[i + 1])? < 1 {
                return fail(err_syntax());
            }
        } else if is(&args[i], "match") && left >= 2 {
            pattern = Some(args[i + 1].clone()).filter(|p| p != b"*");
        } else {
            return fail(err_syntax());
        }
        i += 2;
    }
    Ok(pattern)
}

/// One HSCAN/SSCAN/ZSCAN call on a key of type `ty`; `walk` describes its value.
pub(super) fn scan(
    req: &[Vec<u8>],
    v: &mut View,
    actual: &Actual,
    ty: &str,
    walk: impl FnOnce(&super::Value) -> Walk,
) -> Eval {
    let key = req[1].as_slice();
    if parse_cursor(&req[2]).is_none() {
        return fail(resp::err("invalid cursor"));
    }
    v.expect_type(key, ty)?;
    let Some(entry) = v.lookup(key) else {
        return done(empty_scan());
    };
    let w = walk(&entry.value);
    let pattern = parse_options(&req[3..])?;
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = w
        .items
        .into_iter()
        .filter(|(m, _)| pattern.as_ref().is_none_or(|p| glob::matches(p, m)))
        .collect();
    let flat: Vec<Vec<u8>> = items
        .iter()
        .flat_map(|(m, val)| std::iter::once(m.clone()).chain(val.clone()))
        .collect();
    if w.compact {
        let mut expected = resp::array_header(2);
        expected.extend(resp::bulk(b"0"));
        expected.extend(resp::bulk_array(&flat));
        if w.ordered {
            return Ok(Expect::Exact(expected));
        }
        // A listpack set whose order the model lost: any order, which it then learns.
        let got = match actual.reply {
            Reply::Array(parts) => match parts.as_slice() {
                [Reply::Bulk(c), Reply::Array(list)] if c == b"0" => {
                    super::bulk_list(&Reply::Array(list.clone()))
                }
                _ => None,
            },
            _ => None,
        };
        let Some(got) = got else {
            return Ok(Expect::Unordered {
                bytes: expected,
                group: 1,
            });
        };
        let mut sorted = got.clone();
        sorted.sort();
        let mut want = flat.clone();
        want.sort();
        if sorted != want {
            return Ok(Expect::Checked(Err(format!(
                "{} in any order",
                resp::show(&expected)
            ))));
        }
        if pattern.is_none() {
            if let Some(s) = v.set(key)? {
                s.val.learn_order(got);
            }
        }
        return Ok(Expect::Checked(Ok(())));
    }
    let group = if ty == "set" { 1 } else { 2 };
    Ok(Expect::Checked(check_walk(actual.reply, &items, group)))
}

/// A hash-table scan step: `[cursor, [member (value)...]]` with distinct members
/// taken from `items`, each with its value.
fn check_walk(
    reply: &Reply,
    items: &[(Vec<u8>, Option<Vec<u8>>)],
    group: usize,
) -> Result<(), String> {
    let Reply::Array(parts) = reply else {
        return Err("a scan reply is an array".into());
    };
    let [Reply::Bulk(cursor), Reply::Array(list)] = parts.as_slice() else {
        return Err("a scan reply is [cursor, elements]".into());
    };
    if std::str::from_utf8(cursor)
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
        .is_none()
    {
        return Err(format!("cursor {} is not a number", resp::show(cursor)));
    }
    if list.len() % group != 0 {
        return Err("members without their values".into());
    }
    let mut seen = BTreeSet::new();
    for chunk in list.chunks(group) {
        let Reply::Bulk(m) = &chunk[0] else {
            return Err("a member is a bulk string".into());
        };
        if !seen.insert(m.clone()) {
            return Err(format!("{} returned twice in one call", resp::show(m)));
        }
        let Some((_, value)) = items.iter().find(|(x, _)| x == m) else {
            return Err(format!("{} is not a (matching) member", resp::show(m)));
        };
        if let (Some(want), Some(got)) = (value, chunk.get(1)) {
            if got != &Reply::Bulk(want.clone()) {
                return Err(format!(
                    "{} returned with {:?}, not {}",
                    resp::show(m),
                    got,
                    resp::show(want)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursors_as_strtoul_reads_them() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"17"), Some(17));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1x"), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b"+"), None);
    }
}
