//! The model of the hash commands (Redis 7.0's t_hash.c): listpack hashes reply in
//! insertion order, hash tables in an order Redis leaves open; HRANDFIELD is checked
//! by its guarantees.

use super::elemscan::{self, Walk};
use super::value::{Hash, HashEnc, Value};
use super::{done, err_syntax, fail, int_arg, is, limitation, range_arg, Actual, Eval, Expect};
use super::{Stop, View};
use crate::numbers::{self, FloatParse, LongDouble};
use crate::resp::{self, Proto, Reply};
use std::collections::BTreeSet;

/// The commands this module models.
pub(super) const COMMANDS: &[&str] = &[
    "hset",
    "hmset",
    "hsetnx",
    "hget",
    "hmget",
    "hdel",
    "hlen",
    "hstrlen",
    "hexists",
    "hgetall",
    "hkeys",
    "hvals",
    "hincrby",
    "hincrbyfloat",
    "hrandfield",
    "hscan",
];

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    command(name, req, v, actual)
}

/// hashTypeLookupWriteOrCreate: the hash at `key`, created empty if missing.
fn hash_or_create(v: &mut View, key: &[u8]) -> Result<(), Stop> {
    if v.hash(key)?.is_none() {
        v.set_value(key, Value::Hash(Hash::new()));
    }
    Ok(())
}

fn hash_items(h: &Hash, fields: bool, values: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (f, val) in &h.pairs {
        if fields {
            out.push(f.clone());
        }
        if values {
            out.push(val.clone());
        }
    }
    out
}

fn command(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    match name {
        "hset" | "hmset" => {
            if req.len() % 2 == 1 {
                return fail(resp::err(&format!(
                    "wrong number of arguments for '{name}' command"
                )));
            }
            hash_or_create(v, key)?;
            let h = v.hash(key)?.expect("created");
            let args: Vec<&[u8]> = req[2..].iter().map(|a| a.as_slice()).collect();
            h.val.prepare(&args, h.lim, h.ev);
            let mut created = 0;
            for pair in req[2..].chunks(2) {
                if !h.val.set(&pair[0], &pair[1], h.lim, h.ev) {
                    created += 1;
                }
            }
            done(if name == "hset" {
                resp::int(created)
            } else {
                resp::ok()
            })
        }
        "hsetnx" => {
            hash_or_create(v, key)?;
            let h = v.hash(key)?.expect("created");
            if h.val.get(&req[2]).is_some() {
                return done(resp::int(0));
            }
            h.val.prepare(&[&req[2], &req[3]], h.lim, h.ev);
            h.val.set(&req[2], &req[3], h.lim, h.ev);
            done(resp::int(1))
        }
        "hget" => done(match v.hash(key)? {
            Some(h) => match h.val.get(&req[2]) {
                Some(x) => resp::bulk(x),
                None => p.nil(),
            },
            None => p.nil(),
        }),
        "hmget" => {
            let h = v.hash(key)?;
            let mut reply = resp::array_header(req.len() - 2);
            for f in &req[2..] {
                reply.extend(match h.as_ref().and_then(|h| h.val.get(f)) {
                    Some(x) => resp::bulk(x),
                    None => p.nil(),
                });
            }
            done(reply)
        }
        "hdel" => {
            let Some(h) = v.hash(key)? else {
                return done(resp::int(0));
            };
            let mut deleted = 0;
            for f in &req[2..] {
                if h.val.remove(f) {
                    deleted += 1;
                    if h.val.is_empty() {
                        break;
                    }
                }
            }
            v.delete_if_empty(key);
            done(resp::int(deleted))
        }
        "hlen" => done(resp::int(v.hash(key)?.map_or(0, |h| h.val.len() as i64))),
        "hstrlen" => {
            done(resp::int(v.hash(key)?.map_or(0, |h| {
                h.val.get(&req[2]).map_or(0, |x| x.len() as i64)
            })))
        }
        "hexists" => done(resp::int(
            v.hash(key)?.is_some_and(|h| h.val.get(&req[2]).is_some()) as i64,
        )),
        "hgetall" | "hkeys" | "hvals" => {
            let both = name == "hgetall";
            let Some(h) = v.hash(key)? else {
                return done(if both {
                    p.map_header(0)
                } else {
                    resp::array_header(0)
                });
            };
            let items = hash_items(h.val, name != "hvals", name != "hkeys");
            let mut bytes = if both {
                p.map_header(h.val.len())
            } else {
                resp::array_header(items.len())
            };
            for i in &items {
                bytes.extend(resp::bulk(i));
            }
            Ok(if h.val.ordered() {
                Expect::Exact(bytes)
            } else {
                Expect::Unordered {
                    bytes,
                    group: if both && p == Proto::Resp2 { 2 } else { 1 },
                }
            })
        }
        "hincrby" => {
            let incr = int_arg(&req[3])?;
            hash_or_create(v, key)?;
            let h = v.hash(key)?.expect("created");
            let old = match h.val.get(&req[2]) {
                Some(x) => match numbers::parse_i64_strict(x) {
                    Some(n) => n,
                    None => return fail(resp::err("hash value is not an integer")),
                },
                None => 0,
            };
            let Some(new) = old.checked_add(incr) else {
                return fail(resp::err("increment or decrement would overflow"));
            };
            h.val.set(&req[2], new.to_string().as_bytes(), h.lim, h.ev);
            done(resp::int(new))
        }
        "hincrbyfloat" => {
            let incr = match numbers::parse_long_double(&req[3]) {
                Ok(LongDouble::Quarters(q)) => LongDouble::Quarters(q),
                Ok(LongDouble::Infinite { .. }) => {
                    return fail(resp::err("value is NaN or Infinity"))
                }
                Err(FloatParse::Invalid) => return fail(resp::err("value is not a valid float")),
                Err(FloatParse::Unsupported(what)) => {
                    return limitation(format!("HINCRBYFLOAT by {what}"))
                }
            };
            hash_or_create(v, key)?;
            let h = v.hash(key)?.expect("created");
            let old = match h.val.get(&req[2]) {
                Some(x) => match numbers::parse_long_double(x) {
                    Ok(d) => d,
                    Err(FloatParse::Invalid) => {
                        return fail(resp::err("hash value is not a float"))
                    }
                    Err(FloatParse::Unsupported(what)) => {
                        return limitation(format!("HINCRBYFLOAT on {what}"))
                    }
                },
                None => LongDouble::Quarters(0),
            };
            let Some(sum) = numbers::add_long_double(old, incr) else {
                return fail(resp::err("increment would produce NaN or Infinity"));
            };
            let text = numbers::format_quarters(sum).into_bytes();
            h.val.set(&req[2], &text, h.lim, h.ev);
            done(resp::bulk(&text))
        }
        "hrandfield" => hrandfield(req, v, actual),
        "hscan" => elemscan::scan(req, v, actual, "hash", |value| {
            let Value::Hash(h) = value else {
                unreachable!("type checked")
            };
            Walk {
                compact: h.enc == HashEnc::Listpack,
                ordered: true,
                items: h
                    .pairs
                    .iter()
                    .map(|(f, x)| (f.clone(), Some(x.clone())))
                    .collect(),
            }
        }),
        _ => unreachable!("{name} is not in COMMANDS"),
    }
}

/// HRANDFIELD key [count [WITHVALUES]], checked by what Redis promises.
fn hrandfield(req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    if req.len() == 2 {
        let Some(h) = v.hash(key)? else {
            return done(p.nil());
        };
        let fields: BTreeSet<Vec<u8>> = h.val.pairs.iter().map(|(f, _)| f.clone()).collect();
        return Ok(Expect::Checked(match actual.reply {
            Reply::Bulk(f) if fields.contains(f) => Ok(()),
            _ => Err("a random field".into()),
        }));
    }
    let l = range_arg(&req[2], -i64::MAX, i64::MAX, None)?;
    let withvalues = match req.len() {
        3 => false,
        4 if is(&req[3], "withvalues") => true,
        _ => return fail(err_syntax()),
    };
    if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return fail(resp::err("value is out of range"));
    }
    let Some(h) = v.hash(key)? else {
        return done(resp::array_header(0));
    };
    if l == 0 {
        return done(resp::array_header(0));
    }
    let pairs = h.val.pairs.clone();
    Ok(Expect::Checked(check_random_pairs(
        actual.reply,
        &pairs,
        l,
        withvalues,
        p,
    )))
}

/// A reply of random members (HRANDFIELD, ZRANDMEMBER, with `values` the pairs'
/// second halves as replies): `l` members possibly repeated if negative, else
/// `min(l, size)` distinct ones.
pub(super) fn check_random_pairs(
    reply: &Reply,
    pairs: &[(Vec<u8>, Vec<u8>)],
    l: i64,
    withvalues: bool,
    p: Proto,
) -> Result<(), String> {
    check_random(reply, pairs, l, withvalues, p, |v| Reply::Bulk(v.to_vec()))
}

/// The generic form of [`check_random_pairs`]: `value_reply` says how a member's
/// value is sent.
pub(super) fn check_random<V>(
    reply: &Reply,
    pairs: &[(Vec<u8>, V)],
    l: i64,
    withvalues: bool,
    p: Proto,
    value_reply: impl Fn(&V) -> Reply,
) -> Result<(), String> {
    let Reply::Array(items) = reply else {
        return Err("an array of random members".into());
    };
    let count = l.unsigned_abs() as usize;
    let expected_len = if l < 0 || l == 1 {
        count
    } else {
        count.min(pairs.len())
    };
    let members: Vec<(&Reply, Option<&Reply>)> = if !withvalues {
        items.iter().map(|i| (i, None)).collect()
    } else if p == Proto::Resp2 {
        if items.len() % 2 != 0 {
            return Err("members and values alternate".into());
        }
        items.chunks(2).map(|c| (&c[0], Some(&c[1]))).collect()
    } else {
        let mut out = Vec::new();
        for i in items {
            match i {
                Reply::Array(pair) if pair.len() == 2 => out.push((&pair[0], Some(&pair[1]))),
                _ => return Err("RESP3 pairs are two-element arrays".into()),
            }
        }
        out
    };
    if members.len() != expected_len {
        return Err(format!("{expected_len} random members"));
    }
    let mut seen = BTreeSet::new();
    for (m, val) in members {
        let Reply::Bulk(m) = m else {
            return Err("members are bulk strings".into());
        };
        let Some((_, want)) = pairs.iter().find(|(x, _)| x == m) else {
            return Err(format!("{} is not a member", resp::show(m)));
        };
        if let Some(val) = val {
            if *val != value_reply(want) {
                return Err(format!("{} came with the wrong value", resp::show(m)));
            }
        }
        if l > 0 && !seen.insert(m.clone()) {
            return Err(format!(
                "{} drawn twice with a positive count",
                resp::show(m)
            ));
        }
    }
    Ok(())
}
