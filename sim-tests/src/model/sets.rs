//! The model of the set commands: replies as Redis 7.0's t_set.c, encodings as Redis
//! 7.2's (intset, listpack, hashtable, including the encodings of the STORE
//! commands' results, which depend on the order the sources are walked). Where Redis
//! leaves an order open (a hash table's walk, `qsort` among sets of equal size, the
//! elements SPOP and SRANDMEMBER draw) the model chooses or learns from the reply.

use super::elemscan::{self, Walk};
use super::value::{Set, SetEnc, Value};
use super::{done, err_syntax, fail, positive_arg, range_arg, Actual, Eval, Expect, Stop, View};
use crate::numbers::parse_i64_strict;
use crate::resp::{self, Proto, Reply};
use std::collections::BTreeSet;

/// t_set.c SPOP_MOVE_STRATEGY_MUL.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// The commands this module models.
pub(super) const COMMANDS: &[&str] = &[
    "sadd",
    "srem",
    "smove",
    "sismember",
    "smismember",
    "scard",
    "smembers",
    "sinter",
    "sinterstore",
    "sintercard",
    "sunion",
    "sunionstore",
    "sdiff",
    "sdiffstore",
    "spop",
    "srandmember",
    "sscan",
];

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    match name {
        "sadd" => sadd(req, v),
        "srem" => srem(req, v),
        "smove" => smove(req, v),
        "sismember" => done(resp::int(
            v.set(&req[1])?.is_some_and(|s| s.val.contains(&req[2])) as i64,
        )),
        "smismember" => {
            let s = v.set(&req[1])?;
            let mut out = resp::array_header(req.len() - 2);
            for m in &req[2..] {
                out.extend(resp::int(
                    s.as_ref().is_some_and(|s| s.val.contains(m)) as i64
                ));
            }
            done(out)
        }
        "scard" => done(resp::int(v.set(&req[1])?.map_or(0, |s| s.val.len() as i64))),
        "smembers" | "sinter" => sinter(&req[1..], None, Mode::Members, v),
        "sinterstore" => sinter(&req[2..], Some(&req[1]), Mode::Members, v),
        "sintercard" => sintercard(req, v),
        "sunion" => union_diff(&req[1..], None, false, v),
        "sunionstore" => union_diff(&req[2..], Some(&req[1]), false, v),
        "sdiff" => union_diff(&req[1..], None, true, v),
        "sdiffstore" => union_diff(&req[2..], Some(&req[1]), true, v),
        "spop" => spop(req, v, actual),
        "srandmember" => srandmember(req, v, actual),
        "sscan" => elemscan::scan(req, v, actual, "set", |value| {
            let Value::Set(s) = value else {
                unreachable!("type checked")
            };
            Walk {
                compact: s.enc != SetEnc::Hashtable,
                ordered: s.ordered().is_some(),
                items: s.members.iter().map(|m| (m.clone(), None)).collect(),
            }
        }),
        _ => unreachable!("{name} is not in COMMANDS"),
    }
}

fn sadd(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let hint = req.len() - 2;
    match v.set(key)? {
        Some(s) => s.val.maybe_convert(hint, s.lim, s.ev),
        None => {
            let s = Set::create(&req[2], hint, &v.lim);
            v.set_value(key, Value::Set(s));
        }
    }
    let s = v.set(key)?.expect("created");
    let mut added = 0;
    for m in &req[2..] {
        if s.val.add(m, s.lim, s.ev) {
            added += 1;
        }
    }
    done(resp::int(added))
}

fn srem(req: &[Vec<u8>], v: &mut View) -> Eval {
    let Some(s) = v.set(&req[1])? else {
        return done(resp::int(0));
    };
    let mut deleted = 0;
    for m in &req[2..] {
        if s.val.remove(m) {
            deleted += 1;
            if s.val.is_empty() {
                break;
            }
        }
    }
    v.delete_if_empty(&req[1]);
    done(resp::int(deleted))
}

fn smove(req: &[Vec<u8>], v: &mut View) -> Eval {
    let (src, dst, m) = (req[1].as_slice(), req[2].as_slice(), req[3].as_slice());
    let dst_exists = v.exists(dst);
    if !v.exists(src) {
        return done(resp::int(0));
    }
    v.expect_type(src, "set")?;
    v.expect_type(dst, "set")?;
    if src == dst {
        let member = v.set(src)?.expect("checked").val.contains(m);
        return done(resp::int(member as i64));
    }
    if !v.set(src)?.expect("checked").val.remove(m) {
        return done(resp::int(0));
    }
    v.delete_if_empty(src);
    if !dst_exists {
        v.set_value(dst, Value::Set(Set::create(m, 1, &v.lim)));
    }
    let s = v.set(dst)?.expect("exists");
    s.val.add(m, s.lim, s.ev);
    done(resp::int(1))
}

/// A source of a set operation: members in iteration order, if the model knows it.
#[derive(Clone)]
struct Source {
    key: Vec<u8>,
    enc: SetEnc,
    members: Vec<Vec<u8>>,
    ordered: bool,
}

/// lookupKeyRead of each key with checkType: `None` for a missing key.
fn sources(keys: &[Vec<u8>], v: &mut View) -> Result<Vec<Option<Source>>, Stop> {
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        out.push(v.set(k)?.map(|s| Source {
            key: k.clone(),
            enc: s.val.enc,
            members: s.val.members.clone(),
            ordered: s.val.ordered().is_some(),
        }));
    }
    Ok(out)
}

/// A walk of a source. An unknown order is one of two extremes, which between them
/// cover every encoding a result built from it can end with (see `union_diff`):
/// non-integers first, or integers first.
fn walk(s: &Source, strings_first: bool) -> Vec<Vec<u8>> {
    if s.ordered {
        return s.members.clone();
    }
    let (ints, strings): (Vec<Vec<u8>>, Vec<Vec<u8>>) = s
        .members
        .iter()
        .cloned()
        .partition(|m| parse_i64_strict(m).is_some());
    if strings_first {
        [strings, ints].concat()
    } else {
        [ints, strings].concat()
    }
}

/// A set reply (`~` in RESP3) of `members`, in that order if it is Redis's.
fn members_reply(p: Proto, members: &[Vec<u8>], ordered: bool) -> Expect {
    let mut bytes = p.set_header(members.len());
    for m in members {
        bytes.extend(resp::bulk(m));
    }
    if ordered {
        Expect::Exact(bytes)
    } else {
        Expect::Unordered { bytes, group: 1 }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Members,
    Cardinality(usize),
}

/// sinterGenericCommand: SMEMBERS, SINTER, SINTERSTORE, SINTERCARD.
fn sinter(keys: &[Vec<u8>], dst: Option<&Vec<u8>>, mode: Mode, v: &mut View) -> Eval {
    let p = v.p;
    let sets = sources(keys, v)?;
    if sets.iter().any(|s| s.is_none()) {
        if let Some(dst) = dst {
            v.store_empty(dst);
            return done(resp::int(0));
        }
        return done(match mode {
            Mode::Cardinality(_) => resp::int(0),
            Mode::Members => p.set_header(0),
        });
    }
    let sets: Vec<Source> = sets.into_iter().flatten().collect();
    // qsort by cardinality: which of the smallest sets comes first is open.
    let min = sets.iter().map(|s| s.members.len()).min().expect("a key");
    // Sets of the same encoding, members and order are interchangeable.
    let mut smallest: Vec<usize> = Vec::new();
    for i in (0..sets.len()).filter(|&i| sets[i].members.len() == min) {
        let same = |j: &usize| {
            let (a, b) = (&sets[*j], &sets[i]);
            a.enc == b.enc && a.members == b.members && a.ordered == b.ordered
        };
        if !smallest.iter().any(same) {
            smallest.push(i);
        }
    }
    let first = &sets[smallest[if smallest.len() > 1 {
        v.choose(smallest.len())
    } else {
        0
    }]];
    let common: Vec<Vec<u8>> = first
        .members
        .iter()
        .filter(|m| {
            sets.iter()
                .all(|s| s.key == first.key || s.members.contains(m))
        })
        .cloned()
        .collect();
    if let Mode::Cardinality(limit) = mode {
        let n = if limit > 0 {
            common.len().min(limit)
        } else {
            common.len()
        };
        return done(resp::int(n as i64));
    }
    let Some(dst) = dst else {
        return Ok(members_reply(p, &common, first.ordered));
    };
    let lim = v.lim;
    let mut result = Set::empty(match first.enc {
        SetEnc::Intset => SetEnc::Intset,
        _ => SetEnc::Listpack,
    });
    let mut ev = std::mem::take(&mut v.ev);
    for m in &common {
        result.add(m, &lim, &mut ev);
    }
    if result.is_empty() {
        v.ev = ev;
        v.store_empty(dst);
        return done(resp::int(0));
    }
    if result.members.iter().all(|m| parse_i64_strict(m).is_some()) {
        result.maybe_to_intset(&lim, &mut ev);
    }
    if !first.ordered {
        result.forget_order();
    }
    v.ev = ev;
    let n = result.len();
    v.store(dst, Value::Set(result));
    done(resp::int(n as i64))
}

fn sintercard(req: &[Vec<u8>], v: &mut View) -> Eval {
    let numkeys = range_arg(
        &req[1],
        1,
        i64::MAX,
        Some("numkeys should be greater than 0"),
    )? as usize;
    if numkeys > req.len() - 2 {
        return fail(resp::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < req.len() {
        if super::is(&req[j], "limit") && j + 1 < req.len() {
            limit = positive_arg(&req[j + 1], Some("LIMIT can't be negative"))? as usize;
            j += 2;
        } else {
            return fail(err_syntax());
        }
    }
    sinter(&req[2..2 + numkeys], None, Mode::Cardinality(limit), v)
}

/// sunionDiffGenericCommand: SUNION(STORE), SDIFF(STORE), and SPOP of a whole set.
/// The result is built as Redis builds it, from an empty intset, element by element
/// in the sources' order; where that order is open the model tries both extremes.
fn union_diff(keys: &[Vec<u8>], dst: Option<&Vec<u8>>, diff: bool, v: &mut View) -> Eval {
    let p = v.p;
    let sets = sources(keys, v)?;
    let first_key = sets.first().and_then(|s| s.as_ref()).map(|s| s.key.clone());
    let sameset = first_key
        .as_ref()
        .is_some_and(|k| sets[1..].iter().flatten().any(|s| &s.key == k));
    let strings_first = if sets.iter().flatten().any(|s| !s.ordered) {
        v.choose(2) == 0
    } else {
        true
    };
    let lim = v.lim;
    let mut ev = std::mem::take(&mut v.ev);
    let mut result = Set::empty(SetEnc::Intset);
    let mut ordered = true;
    let mut add_all = |result: &mut Set, s: &Source, ev: &mut super::Events| {
        if !s.ordered && !s.members.is_empty() {
            ordered = false;
        }
        for m in walk(s, strings_first) {
            result.add(&m, &lim, ev);
        }
    };
    if !diff {
        for s in sets.iter().flatten() {
            add_all(&mut result, s, &mut ev);
        }
    } else if let (Some(Some(first)), false) = (sets.first(), sameset) {
        let others: Vec<&Source> = sets[1..].iter().flatten().collect();
        let algo_one = (sets.iter().flatten().count() * first.members.len()) / 2;
        let algo_two: usize = sets.iter().flatten().map(|s| s.members.len()).sum();
        if algo_one <= algo_two {
            let kept = Source {
                members: walk(first, strings_first)
                    .into_iter()
                    .filter(|m| !others.iter().any(|o| o.members.contains(m)))
                    .collect(),
                ..first.clone()
            };
            add_all(&mut result, &kept, &mut ev);
        } else {
            add_all(&mut result, first, &mut ev);
            for o in &others {
                for m in &o.members {
                    result.remove(m);
                }
                if result.is_empty() {
                    break;
                }
            }
        }
    }
    if !ordered {
        result.forget_order();
    }
    v.ev = ev;
    match dst {
        None => Ok(members_reply(
            p,
            &result.members,
            result.ordered().is_some(),
        )),
        Some(dst) if result.is_empty() => {
            v.store_empty(dst);
            done(resp::int(0))
        }
        Some(dst) => {
            let n = result.len();
            v.store(dst, Value::Set(result));
            done(resp::int(n as i64))
        }
    }
}

/// The members of a set reply, if it is one.
fn reply_members(reply: &Reply, p: Proto) -> Option<Vec<Vec<u8>>> {
    match (reply, p) {
        (Reply::Array(_), Proto::Resp2) | (Reply::Set(_), Proto::Resp3) => super::bulk_list(reply),
        _ => None,
    }
}

fn spop(req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    if req.len() > 3 {
        return fail(err_syntax());
    }
    if req.len() == 2 {
        let Some(s) = v.set(key)? else {
            return done(p.nil());
        };
        let Reply::Bulk(m) = actual.reply else {
            return Ok(Expect::Checked(Err("a popped member".into())));
        };
        if !s.val.remove(m) {
            return Ok(Expect::Checked(Err(format!(
                "{} is not a member",
                resp::show(m)
            ))));
        }
        v.delete_if_empty(key);
        return Ok(Expect::Checked(Ok(())));
    }
    let count = positive_arg(&req[2], None)? as usize;
    let Some(s) = v.set(key)? else {
        return done(p.set_header(0));
    };
    if count == 0 {
        return done(p.set_header(0));
    }
    let size = s.val.len();
    if count >= size {
        // The whole set, through sunionDiffGenericCommand; then the key goes.
        let reply = union_diff(&req[1..2], None, false, v)?;
        v.event("spop: the whole set");
        v.delete(key);
        return Ok(reply);
    }
    let Some(popped) = reply_members(actual.reply, p) else {
        return Ok(Expect::Checked(Err(format!("a set of {count} members"))));
    };
    let distinct: BTreeSet<&Vec<u8>> = popped.iter().collect();
    if popped.len() != count || distinct.len() != count || !popped.iter().all(|m| s.val.contains(m))
    {
        return Ok(Expect::Checked(Err(format!("{count} distinct members"))));
    }
    for m in &popped {
        s.val.remove(m);
    }
    let remaining = size - count;
    if remaining * SPOP_MOVE_STRATEGY_MUL <= count && s.val.enc == SetEnc::Hashtable {
        // CASE 3 of a hash table: the kept members were copied, in a random order,
        // into a new listpack set (which may outgrow its limits on the way).
        let lim = *s.lim;
        let members = s.val.members.clone();
        let mut fresh = Set::empty(SetEnc::Listpack);
        for m in &members {
            fresh.add(m, &lim, s.ev);
        }
        fresh.forget_order();
        if fresh.enc == SetEnc::Listpack {
            s.ev.push("set hashtable->listpack (spop)".into());
        }
        *s.val = fresh;
        v.replaced(key);
    }
    Ok(Expect::Checked(Ok(())))
}

fn srandmember(req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    if req.len() > 3 {
        return fail(err_syntax());
    }
    if req.len() == 2 {
        let Some(s) = v.set(key)? else {
            return done(p.nil());
        };
        return Ok(Expect::Checked(match actual.reply {
            Reply::Bulk(m) if s.val.contains(m) => Ok(()),
            _ => Err("a random member".into()),
        }));
    }
    let l = range_arg(&req[2], -i64::MAX, i64::MAX, None)?;
    let Some(s) = v.set(key)? else {
        return done(resp::array_header(0));
    };
    if l == 0 {
        return done(resp::array_header(0));
    }
    let pairs: Vec<(Vec<u8>, ())> = s.val.members.iter().map(|m| (m.clone(), ())).collect();
    Ok(Expect::Checked(super::hashes::check_random(
        actual.reply,
        &pairs,
        l,
        false,
        p,
        |_| Reply::Null,
    )))
}
