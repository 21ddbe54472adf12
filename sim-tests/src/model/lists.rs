//! The model of the list commands: replies as Redis 7.0's t_list.c, encodings as
//! Redis 7.2's (a listpack until it outgrows `list-max-listpack-size`, then a
//! quicklist whose node layout the model follows, back to a listpack when a
//! one-node quicklist shrinks under half the limit).

use super::value::{List, Value};
use super::{done, err_syntax, fail, is, long_arg, positive_arg, range_arg};
use super::{Actual, Eval, View};
use crate::resp;

/// The commands this module models.
pub(super) const COMMANDS: &[&str] = &[
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "linsert",
    "llen",
    "lindex",
    "lset",
    "lpop",
    "rpop",
    "lrange",
    "ltrim",
    "lpos",
    "lrem",
    "lmove",
    "rpoplpush",
    "lmpop",
];

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, _actual: &Actual) -> Eval {
    match name {
        "lpush" | "rpush" | "lpushx" | "rpushx" => push(name, req, v),
        "linsert" => linsert(req, v),
        "llen" => llen(req, v),
        "lindex" => lindex(req, v),
        "lset" => lset(req, v),
        "lpop" | "rpop" => pop(name == "lpop", req, v),
        "lrange" => lrange(req, v),
        "ltrim" => ltrim(req, v),
        "lpos" => lpos(req, v),
        "lrem" => lrem(req, v),
        "lmove" => {
            let (Some(from), Some(to)) = (side(&req[3]), side(&req[4])) else {
                return fail(err_syntax());
            };
            lmove(req, v, from, to)
        }
        "rpoplpush" => lmove(req, v, false, true),
        "lmpop" => lmpop(req, v),
        _ => unreachable!("{name} is not in COMMANDS"),
    }
}

/// LEFT is the head, RIGHT the tail (getListPositionFromObjectOrReply).
fn side(arg: &[u8]) -> Option<bool> {
    if is(arg, "left") {
        Some(true)
    } else if is(arg, "right") {
        Some(false)
    } else {
        None
    }
}

fn fill(v: &View) -> i64 {
    v.lim.list_max_listpack_size
}

/// A list's elements `start..=end` after Redis's index normalisation, if any.
fn range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

/// listElementsRemoved: an emptied list is deleted, a shrunk one may become a
/// listpack again.
fn removed(v: &mut View, key: &[u8]) {
    if v.delete_if_empty(key) {
        return;
    }
    let f = fill(v);
    if let Ok(Some(l)) = v.list(key) {
        l.val.try_shrink(f, l.ev);
    }
}

fn push(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let head = name.starts_with('l');
    let f = fill(v);
    if v.list(key)?.is_none() {
        if name.ends_with('x') {
            return done(resp::int(0));
        }
        v.set_value(key, Value::List(List::new()));
    }
    let l = v.list(key)?.expect("created");
    let added: Vec<&[u8]> = req[2..].iter().map(|a| a.as_slice()).collect();
    l.val.try_grow(&added, f, l.ev);
    for x in &req[2..] {
        l.val.push(x.clone(), head, f);
    }
    done(resp::int(l.val.len() as i64))
}

fn linsert(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let after = if is(&req[2], "after") {
        true
    } else if is(&req[2], "before") {
        false
    } else {
        return fail(err_syntax());
    };
    let f = fill(v);
    let Some(l) = v.list(key)? else {
        return done(resp::int(0));
    };
    l.val.try_grow(&[&req[4]], f, l.ev);
    let Some(pivot) = l.val.items.iter().position(|x| *x == req[3]) else {
        return done(resp::int(-1));
    };
    l.val.insert(pivot, after, req[4].clone(), f);
    done(resp::int(l.val.len() as i64))
}

fn llen(req: &[Vec<u8>], v: &mut View) -> Eval {
    done(resp::int(
        v.list(&req[1])?.map_or(0, |l| l.val.len() as i64),
    ))
}

fn lindex(req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    let Some(l) = v.list(&req[1])? else {
        return done(p.nil());
    };
    let index = long_arg(&req[2], None)?;
    let len = l.val.len() as i64;
    let i = if index < 0 { len + index } else { index };
    done(if (0..len).contains(&i) {
        resp::bulk(&l.val.items[i as usize])
    } else {
        p.nil()
    })
}

fn lset(req: &[Vec<u8>], v: &mut View) -> Eval {
    let f = fill(v);
    let Some(l) = v.list(&req[1])? else {
        return fail(resp::err("no such key"));
    };
    let index = long_arg(&req[2], None)?;
    l.val.try_grow(&[&req[3]], f, l.ev);
    let len = l.val.len() as i64;
    let i = if index < 0 { len + index } else { index };
    if !(0..len).contains(&i) {
        return fail(resp::err("index out of range"));
    }
    l.val.replace(i as usize, req[3].clone());
    l.val.try_shrink(f, l.ev);
    done(resp::ok())
}

fn pop(head: bool, req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    if req.len() > 3 {
        let name = if head { "lpop" } else { "rpop" };
        return fail(resp::err(&format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let count = match req.get(2) {
        Some(raw) => Some(positive_arg(raw, None)? as usize),
        None => None,
    };
    let Some(l) = v.list(key)? else {
        return done(if count.is_some() {
            p.null_array()
        } else {
            p.nil()
        });
    };
    let reply = match count {
        Some(0) => return done(resp::array_header(0)),
        None => resp::bulk(&l.val.pop(head).expect("lists are never empty")),
        Some(n) => {
            let n = n.min(l.val.len());
            let mut popped = Vec::with_capacity(n);
            for _ in 0..n {
                popped.push(l.val.pop(head).expect("within the length"));
            }
            resp::bulk_array(&popped)
        }
    };
    removed(v, key);
    done(reply)
}

fn lrange(req: &[Vec<u8>], v: &mut View) -> Eval {
    let start = long_arg(&req[2], None)?;
    let end = long_arg(&req[3], None)?;
    let Some(l) = v.list(&req[1])? else {
        return done(resp::array_header(0));
    };
    done(match range(l.val.len(), start, end) {
        Some((s, e)) => resp::bulk_array(&l.val.items[s..=e]),
        None => resp::array_header(0),
    })
}

fn ltrim(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let start = long_arg(&req[2], None)?;
    let end = long_arg(&req[3], None)?;
    let Some(l) = v.list(key)? else {
        return done(resp::ok());
    };
    let len = l.val.len();
    let (ltrim, rtrim) = match range(len, start, end) {
        Some((s, e)) => (s, len - e - 1),
        None => (len, 0),
    };
    l.val.del_range(0, ltrim);
    let left = l.val.len();
    l.val.del_range(left - rtrim, rtrim);
    removed(v, key);
    done(resp::ok())
}

fn lpos(req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut j = 3;
    while j < req.len() {
        let more = j + 1 < req.len();
        if is(&req[j], "rank") && more {
            rank = range_arg(&req[j + 1], -i64::MAX, i64::MAX, None)?;
            if rank == 0 {
                return fail(resp::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(&req[j], "count") && more {
            count = Some(positive_arg(&req[j + 1], Some("COUNT can't be negative"))?);
        } else if is(&req[j], "maxlen") && more {
            maxlen = positive_arg(&req[j + 1], Some("MAXLEN can't be negative"))?;
        } else {
            return fail(err_syntax());
        }
        j += 2;
    }
    let forward = rank > 0;
    let rank = rank.unsigned_abs();
    let Some(l) = v.list(&req[1])? else {
        return done(if count.is_some() {
            resp::array_header(0)
        } else {
            p.nil()
        });
    };
    let items = &l.val.items;
    let len = items.len();
    let mut matches = 0u64;
    let mut found: Vec<i64> = Vec::new();
    for index in 0..len {
        if maxlen != 0 && index as i64 >= maxlen {
            break;
        }
        let pos = if forward { index } else { len - index - 1 };
        if items[pos] != req[2] {
            continue;
        }
        matches += 1;
        if matches >= rank {
            found.push(pos as i64);
            match count {
                None => break,
                Some(c) if c != 0 && (matches - rank + 1) as i64 >= c => break,
                Some(_) => {}
            }
        }
    }
    done(match count {
        Some(_) => {
            let mut out = resp::array_header(found.len());
            for i in found {
                out.extend(resp::int(i));
            }
            out
        }
        None => found.first().map_or_else(|| p.nil(), |&i| resp::int(i)),
    })
}

fn lrem(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let toremove = long_arg(&req[2], None)?;
    let f = fill(v);
    let Some(l) = v.list(key)? else {
        return done(resp::int(0));
    };
    let limit = toremove.unsigned_abs() as usize;
    let mut removed_count = 0;
    if toremove < 0 {
        let mut pos = l.val.len();
        while pos > 0 {
            pos -= 1;
            if l.val.items[pos] == req[3] {
                l.val.remove_at(pos);
                removed_count += 1;
                if removed_count == limit {
                    break;
                }
            }
        }
    } else {
        let mut pos = 0;
        while pos < l.val.len() {
            if l.val.items[pos] == req[3] {
                l.val.remove_at(pos);
                removed_count += 1;
                if limit != 0 && removed_count == limit {
                    break;
                }
            } else {
                pos += 1;
            }
        }
    }
    if !v.delete_if_empty(key) && removed_count > 0 {
        let l = v.list(key)?.expect("not emptied");
        l.val.try_shrink(f, l.ev);
    }
    done(resp::int(removed_count as i64))
}

/// The list at `key`, taken out of the view (the caller puts it back).
fn take_list(v: &mut View, key: &[u8]) -> Option<(List, Option<i64>)> {
    let e = v.lookup(key)?;
    let deadline = e.deadline_ms;
    let Value::List(l) = std::mem::replace(&mut e.value, Value::List(List::new())) else {
        unreachable!("type checked by the caller")
    };
    Some((l, deadline))
}

fn put_list(v: &mut View, key: &[u8], l: List, deadline_ms: Option<i64>) {
    v.put(
        key,
        super::Entry {
            value: Value::List(l),
            deadline_ms,
        },
    );
}

/// lmoveGenericCommand: pop from one end of `src`, push onto one end of `dst`.
fn lmove(req: &[Vec<u8>], v: &mut View, from_head: bool, to_head: bool) -> Eval {
    let (src, dst) = (req[1].as_slice(), req[2].as_slice());
    let p = v.p;
    let f = fill(v);
    if v.list(src)?.is_none() {
        return done(p.nil());
    }
    v.expect_type(dst, "list")?;
    let (mut sl, sdeadline) = take_list(v, src).expect("checked above");
    let value = sl.pop(from_head).expect("lists are never empty");
    let mut ev = std::mem::take(&mut v.ev);
    if src == dst {
        sl.try_grow(&[&value], f, &mut ev);
        sl.push(value.clone(), to_head, f);
        put_list(v, src, sl, sdeadline);
    } else {
        put_list(v, src, sl, sdeadline);
        let (mut dl, ddeadline) = take_list(v, dst).unwrap_or((List::new(), None));
        dl.try_grow(&[&value], f, &mut ev);
        dl.push(value.clone(), to_head, f);
        put_list(v, dst, dl, ddeadline);
    }
    v.ev = ev;
    removed(v, src);
    done(resp::bulk(&value))
}

fn lmpop(req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    let numkeys = range_arg(
        &req[1],
        1,
        i64::MAX,
        Some("numkeys should be greater than 0"),
    )? as usize;
    let where_idx = 2usize.saturating_add(numkeys);
    if where_idx >= req.len() {
        return fail(err_syntax());
    }
    let Some(head) = side(&req[where_idx]) else {
        return fail(err_syntax());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < req.len() {
        if count.is_none() && is(&req[j], "count") && j + 1 < req.len() {
            count = Some(range_arg(
                &req[j + 1],
                1,
                i64::MAX,
                Some("count should be greater than 0"),
            )? as usize);
            j += 2;
        } else {
            return fail(err_syntax());
        }
    }
    let count = count.unwrap_or(1);
    for key in &req[2..where_idx] {
        let Some(l) = v.list(key)? else {
            continue;
        };
        let n = count.min(l.val.len());
        let mut popped = Vec::with_capacity(n);
        for _ in 0..n {
            popped.push(l.val.pop(head).expect("within the length"));
        }
        let mut reply = resp::array_header(2);
        reply.extend(resp::bulk(key));
        reply.extend(resp::bulk_array(&popped));
        removed(v, key);
        return done(reply);
    }
    done(p.null_array())
}
