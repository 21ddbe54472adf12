//! Hash commands (Redis's t_hash.c): HSET and friends, counters, whole-hash reads,
//! HRANDFIELD with Redis's four sampling strategies, and HSCAN.

use super::{arg_i64, elemscan, ERR_NOT_INTEGER, ERR_OVERFLOW, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::longdouble::LongDouble;
use crate::object::{Value, WRONGTYPE};
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_HASH};
use crate::server::Server;
use crate::types::hash::{Hash, HashLimits};
use crate::util::{eq_ic, parse_i64};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hgetall", hgetall),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

fn limits(srv: &Server) -> HashLimits {
    HashLimits {
        max_listpack_entries: usize::try_from(srv.config.hash_max_listpack_entries)
            .unwrap_or(usize::MAX),
        max_listpack_value: usize::try_from(srv.config.hash_max_listpack_value)
            .unwrap_or(usize::MAX),
    }
}

/// The hash at `key` for reading; Err after replying WRONGTYPE.
fn read<'s>(srv: &'s mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<&'s Hash>, ()> {
    match srv.lookup_read(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// hashTypeLookupWriteOrCreate: the hash at `key`, created empty if missing.
fn write_or_create<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<&'s mut Hash, ()> {
    let db = ctx.db;
    match srv
        .lookup_write(db, key)
        .map(|o| matches!(o.value, Value::Hash(_)))
    {
        Some(false) => {
            ctx.reply.error(WRONGTYPE);
            return Err(());
        }
        Some(true) => {}
        None => srv.db_add(db, key, Value::Hash(Hash::new())),
    }
    match srv.dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Hash(h)) => Ok(h),
        _ => unreachable!("the key was just checked or created as a hash"),
    }
}

/// The hash at `key` (already checked to be one) next to the RNG, borrowed apart so a
/// random pick needs no copy of the hash.
fn hash_and_rng<'s>(
    srv: &'s mut Server,
    db: usize,
    key: &[u8],
) -> (&'s Hash, &'s mut crate::rng::CoreRng) {
    let Server { dbs, rng, .. } = srv;
    match dbs[db].peek(key).map(|o| &o.value) {
        Some(Value::Hash(h)) => (h, rng),
        _ => unreachable!("checked to be a hash by read()"),
    }
}

fn hset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    hset_generic(srv, ctx, false);
}

fn hmset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    hset_generic(srv, ctx, true);
}

fn hset_generic(srv: &mut Server, ctx: &mut Ctx<'_>, legacy_reply: bool) {
    if ctx.argc() % 2 == 1 {
        ctx.reply.error(&format!(
            "wrong number of arguments for '{}' command",
            ctx.spec.fullname
        ));
        return;
    }
    let key = ctx.arg(1);
    let (lim, table) = (limits(srv), srv.new_table());
    let args: Vec<&[u8]> = (2..ctx.argc()).map(|i| ctx.arg(i)).collect();
    let Ok(h) = write_or_create(srv, ctx, key) else {
        return;
    };
    h.prepare_for(&args, lim, &table);
    let mut created = 0;
    for pair in args.chunks(2) {
        if !h.set(pair[0], pair[1], lim, &table) {
            created += 1;
        }
    }
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_HASH, "hset", key, ctx.db);
    srv.mark_dirty(args.len() as u64 / 2);
    if legacy_reply {
        ctx.reply.ok();
    } else {
        ctx.reply.int(created);
    }
}

fn hsetnx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, field, value) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let (lim, table) = (limits(srv), srv.new_table());
    let Ok(h) = write_or_create(srv, ctx, key) else {
        return;
    };
    if h.contains(field) {
        // A hash holding the field existed before: nothing was created.
        ctx.reply.int(0);
        return;
    }
    h.prepare_for(&[field, value], lim, &table);
    h.set(field, value, lim, &table);
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_HASH, "hset", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(1);
}

fn reply_field(ctx: &mut Ctx<'_>, h: Option<&Hash>, field: &[u8]) {
    match h.and_then(|h| h.get(field)) {
        Some(v) => ctx.reply.bulk(&v),
        None => ctx.reply.null(),
    }
}

fn hget(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(h) = read(srv, ctx, ctx.arg(1)) {
        reply_field(ctx, h, ctx.arg(2));
    }
}

fn hmget(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Ok(h) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    ctx.reply.array(ctx.argc() - 2);
    for i in 2..ctx.argc() {
        reply_field(ctx, h, ctx.arg(i));
    }
}

fn hdel(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    let h = match srv.lookup_write(ctx.db, key).map(|o| &mut o.value) {
        None => {
            ctx.reply.int(0);
            return;
        }
        Some(Value::Hash(h)) => h,
        Some(_) => {
            ctx.reply.error(WRONGTYPE);
            return;
        }
    };
    let mut deleted = 0;
    let mut emptied = false;
    for i in 2..ctx.argc() {
        if h.remove(ctx.arg(i)) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        srv.delete_key(ctx.db, key);
    }
    if deleted > 0 {
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_HASH, "hdel", key, ctx.db);
        if emptied {
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
        }
    }
    srv.mark_dirty(deleted);
    ctx.reply.int(deleted as i64);
}

fn hlen(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(h) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply.int(h.map_or(0, |h| h.len() as i64));
    }
}

fn hstrlen(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(h) = read(srv, ctx, ctx.arg(1)) {
        let len = h.and_then(|h| h.get(ctx.arg(2))).map_or(0, |v| v.len());
        ctx.reply.int(len as i64);
    }
}

fn hexists(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(h) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply
            .int(h.is_some_and(|h| h.contains(ctx.arg(2))) as i64);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Keys,
    Values,
    Both,
}

fn getall_generic(srv: &mut Server, ctx: &mut Ctx<'_>, part: Part) {
    let Ok(h) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    let len = h.map_or(0, |h| h.len());
    if part == Part::Both {
        ctx.reply.map(len);
    } else {
        ctx.reply.array(len);
    }
    if let Some(h) = h {
        for (field, value) in h.iter() {
            if part != Part::Values {
                ctx.reply.bulk(&field);
            }
            if part != Part::Keys {
                ctx.reply.bulk(&value);
            }
        }
    }
}

fn hkeys(srv: &mut Server, ctx: &mut Ctx<'_>) {
    getall_generic(srv, ctx, Part::Keys);
}

fn hvals(srv: &mut Server, ctx: &mut Ctx<'_>) {
    getall_generic(srv, ctx, Part::Values);
}

fn hgetall(srv: &mut Server, ctx: &mut Ctx<'_>) {
    getall_generic(srv, ctx, Part::Both);
}

fn hincrby(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(incr) = arg_i64(ctx, 3) else {
        return;
    };
    let (key, field) = (ctx.arg(1), ctx.arg(2));
    let (lim, table) = (limits(srv), srv.new_table());
    let Ok(h) = write_or_create(srv, ctx, key) else {
        return;
    };
    let current = match h.get(field) {
        None => 0,
        Some(v) => match parse_i64(&v) {
            Some(n) => n,
            None => {
                ctx.reply.error("hash value is not an integer");
                return;
            }
        },
    };
    let Some(value) = current.checked_add(incr) else {
        ctx.reply.error(ERR_OVERFLOW);
        return;
    };
    h.set(field, value.to_string().as_bytes(), lim, &table);
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_HASH, "hincrby", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(value);
}

fn hincrbyfloat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(incr) = LongDouble::parse(ctx.arg(3)) else {
        ctx.reply.error(super::ERR_NOT_FLOAT);
        return;
    };
    if !incr.is_finite() {
        ctx.reply.error("value is NaN or Infinity");
        return;
    }
    let (key, field) = (ctx.arg(1), ctx.arg(2));
    let (lim, table) = (limits(srv), srv.new_table());
    let Ok(h) = write_or_create(srv, ctx, key) else {
        return;
    };
    let current = match h.get(field) {
        None => LongDouble::ZERO,
        Some(v) => match parse_i64(&v) {
            // Integer-encoded listpack values are read as integers.
            Some(n) => LongDouble::from_i64(n),
            None => match LongDouble::parse(&v) {
                Some(x) => x,
                None => {
                    ctx.reply.error("hash value is not a float");
                    return;
                }
            },
        },
    };
    let sum = current.plus(incr);
    if current.plus_is_nan(incr) || !sum.is_finite() {
        ctx.reply.error("increment would produce NaN or Infinity");
        return;
    }
    let text = sum.to_human_string();
    h.set(field, text.as_bytes(), lim, &table);
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_HASH, "hincrbyfloat", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.bulk(text.as_bytes());
    // Propagated as HSET of the result: float formatting cannot diverge.
    ctx.rewrite_arg(0, b"HSET");
    ctx.rewrite_arg(3, text.as_bytes());
}

/// How much bigger than the request a hash must be for random picks with rejection
/// of duplicates (case 4) rather than removing picks from a full copy (case 3).
const SUB_STRATEGY_MUL: u64 = 3;

fn hrandfield(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() >= 3 {
        let Some(n) = parse_i64(ctx.arg(2)).filter(|n| *n >= -i64::MAX) else {
            ctx.reply.error(if parse_i64(ctx.arg(2)).is_some() {
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
            } else {
                ERR_NOT_INTEGER
            });
            return;
        };
        let with_values = ctx.argc() == 4;
        if ctx.argc() > 4 || (with_values && !eq_ic(ctx.arg(3), "withvalues")) {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
            ctx.reply.error("value is out of range");
            return;
        }
        hrandfield_with_count(srv, ctx, n, with_values);
        return;
    }
    let Ok(h) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    if h.is_none() {
        ctx.reply.null();
        return;
    }
    let (h, rng) = hash_and_rng(srv, ctx.db, ctx.arg(1));
    match h.random_pair(rng) {
        Some((field, _)) => ctx.reply.bulk(&field),
        None => ctx.reply.null(),
    }
}

fn hrandfield_with_count(srv: &mut Server, ctx: &mut Ctx<'_>, n: i64, with_values: bool) {
    let Ok(h) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    if h.is_none() {
        ctx.reply.array(0);
        return;
    }
    let (h, rng) = hash_and_rng(srv, ctx.db, ctx.arg(1));
    let (count, unique) = if n >= 0 {
        (n as u64, true)
    } else {
        (n.unsigned_abs(), false)
    };
    if count == 0 {
        ctx.reply.array(0);
        return;
    }
    let resp3 = ctx.reply.is_resp3();
    let emit = |ctx: &mut Ctx<'_>, field: &[u8], value: &[u8]| {
        if with_values && resp3 {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(field);
        if with_values {
            ctx.reply.bulk(value);
        }
    };
    let size = h.len() as u64;
    // Case 1: repetitions allowed (or a single pick): independent uniform draws.
    if !unique || count == 1 {
        ctx.reply.array(if with_values && !resp3 {
            count * 2
        } else {
            count
        } as usize);
        for _ in 0..count {
            let (f, v) = h.random_pair(rng).expect("hash is not empty");
            emit(ctx, &f, &v);
        }
        return;
    }
    let reply_len = count.min(size);
    ctx.reply.array(if with_values && !resp3 {
        reply_len * 2
    } else {
        reply_len
    } as usize);
    // Case 2: asking for at least everything returns everything.
    if count >= size {
        for (f, v) in h.iter() {
            emit(ctx, &f, &v);
        }
        return;
    }
    // Case 3: most of the hash: copy it and remove random pairs down to `count`.
    if count * SUB_STRATEGY_MUL > size {
        let mut all: Vec<(Vec<u8>, Vec<u8>)> = h
            .iter()
            .map(|(f, v)| (f.into_owned(), v.into_owned()))
            .collect();
        while all.len() as u64 > count {
            let i = rng.index(all.len());
            all.swap_remove(i);
        }
        for (f, v) in &all {
            emit(ctx, f, v);
        }
        return;
    }
    // Case 4: a small part of a big hash.
    match &h {
        Hash::Listpack(_) => {
            // Selection sampling: one pass, each pair kept with probability
            // needed / remaining, so the picks are distinct and in listpack order.
            let mut needed = count;
            let mut remaining = size;
            for (f, v) in h.iter() {
                if rng.below(remaining) < needed {
                    emit(ctx, &f, &v);
                    needed -= 1;
                    if needed == 0 {
                        break;
                    }
                }
                remaining -= 1;
            }
        }
        Hash::Table(_) => {
            let mut picked = std::collections::BTreeSet::new();
            while (picked.len() as u64) < count {
                let (f, v) = h.random_pair(rng).expect("hash is not empty");
                if picked.insert(f.clone()) {
                    emit(ctx, &f, &v);
                }
            }
        }
    }
}

fn hscan(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(mut cursor) = super::keys::parse_cursor(ctx.arg(2)) else {
        ctx.reply.error("invalid cursor");
        return;
    };
    let Ok(h) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    let Some(h) = h else {
        elemscan::reply_empty(ctx);
        return;
    };
    let Some(opts) = elemscan::parse_options(ctx) else {
        return;
    };
    let mut items = Vec::new();
    match &h {
        Hash::Listpack(_) => {
            for (f, v) in h.iter() {
                items.push(f.into_owned());
                items.push(v.into_owned());
            }
            cursor = 0;
        }
        Hash::Table(d) => {
            let target = opts.count.saturating_mul(2);
            let mut iterations_left = target.saturating_mul(10);
            loop {
                cursor = d.scan(cursor, |k, v| {
                    items.push(k.to_vec());
                    items.push(v.to_vec());
                });
                if cursor == 0 || iterations_left == 0 || items.len() >= target {
                    break;
                }
                iterations_left -= 1;
            }
        }
    }
    elemscan::reply(ctx, cursor, items, true, opts.pattern);
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    #[test]
    fn set_get_delete() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["HSET", "h", "a", "1", "b", "2"]), Frame::Int(2));
        assert_eq!(t.cmd(&["HSET", "h", "a", "3", "c", "4"]), Frame::Int(1));
        assert_eq!(
            t.cmd(&["HSET", "h", "a"]),
            Frame::err("ERR wrong number of arguments for 'hset' command")
        );
        assert_eq!(
            t.cmd(&["HMSET", "h", "a", "1", "b"]),
            Frame::err("ERR wrong number of arguments for 'hmset' command")
        );
        assert_eq!(t.cmd(&["HMSET", "h", "d", "5"]), Frame::ok());
        assert_eq!(t.cmd(&["HGET", "h", "a"]), Frame::bulk("3"));
        assert_eq!(t.cmd(&["HGET", "h", "zz"]), Frame::Null);
        assert_eq!(t.cmd(&["HGET", "nope", "a"]), Frame::Null);
        assert_eq!(
            t.cmd(&["HMGET", "h", "a", "zz", "b"]),
            Frame::Array(vec![Frame::bulk("3"), Frame::Null, Frame::bulk("2")])
        );
        assert_eq!(
            t.cmd(&["HMGET", "nope", "a"]),
            Frame::Array(vec![Frame::Null])
        );
        assert_eq!(t.cmd(&["HLEN", "h"]), Frame::Int(4));
        assert_eq!(t.cmd(&["HSTRLEN", "h", "a"]), Frame::Int(1));
        assert_eq!(t.cmd(&["HEXISTS", "h", "a"]), Frame::Int(1));
        assert_eq!(t.cmd(&["HEXISTS", "h", "q"]), Frame::Int(0));
        assert_eq!(t.cmd(&["HSETNX", "h", "a", "x"]), Frame::Int(0));
        assert_eq!(t.cmd(&["HSETNX", "h", "e", "x"]), Frame::Int(1));
        assert_eq!(t.cmd(&["HSETNX", "new", "e", "x"]), Frame::Int(1));
        assert_eq!(t.cmd(&["HDEL", "h", "a", "a", "zz", "b"]), Frame::Int(2));
        assert_eq!(t.cmd(&["HDEL", "new", "e", "f"]), Frame::Int(1));
        assert_eq!(t.cmd(&["EXISTS", "new"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["HKEYS", "h"]),
            Frame::array_of_bulks(&["c", "d", "e"])
        );
        assert_eq!(
            t.cmd(&["HVALS", "h"]),
            Frame::array_of_bulks(&["4", "5", "x"])
        );
        assert_eq!(
            t.cmd(&["HGETALL", "h"]),
            Frame::array_of_bulks(&["c", "4", "d", "5", "e", "x"])
        );
        assert_eq!(t.cmd(&["HGETALL", "nope"]), Frame::Array(vec![]));
        t.cmd(&["SET", "s", "v"]);
        for cmd in [
            vec!["HGET", "s", "a"],
            vec!["HSET", "s", "a", "b"],
            vec!["HDEL", "s", "a"],
            vec!["HLEN", "s"],
            vec!["HGETALL", "s"],
            vec!["HINCRBY", "s", "a", "1"],
            vec!["HSCAN", "s", "0"],
        ] {
            assert_eq!(
                t.cmd(&cmd),
                Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value"),
                "{cmd:?}"
            );
        }
        assert_eq!(t.cmd(&["TYPE", "h"]), Frame::Simple("hash".into()));
    }

    #[test]
    fn encodings_convert_at_limits() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
        t.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
        assert_eq!(enc(&mut t, "h"), "listpack");
        t.cmd(&["HSET", "h", "e", "5"]);
        assert_eq!(enc(&mut t, "h"), "hashtable");
        t.cmd(&["HDEL", "h", "a", "b", "c", "d"]);
        assert_eq!(enc(&mut t, "h"), "hashtable", "never converts back");
        t.cmd(&["HSET", "long", "f", &"x".repeat(65)]);
        assert_eq!(enc(&mut t, "long"), "hashtable");
        t.cmd(&["HSET", "incr", "f", &"1".repeat(18)]);
        assert_eq!(enc(&mut t, "incr"), "listpack");
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "hash-max-ziplist-entries"]),
            Frame::array_of_bulks(&["hash-max-ziplist-entries", "4"])
        );
        t.cmd(&["CONFIG", "SET", "hash-max-ziplist-value", "1kb"]);
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "hash-max-listpack-value"]),
            Frame::array_of_bulks(&["hash-max-listpack-value", "1024"])
        );
    }

    #[test]
    fn counters() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["HINCRBY", "h", "n", "5"]), Frame::Int(5));
        assert_eq!(t.cmd(&["HINCRBY", "h", "n", "-7"]), Frame::Int(-2));
        assert_eq!(
            t.cmd(&["HINCRBY", "h", "n", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        t.cmd(&["HSET", "h", "s", "abc", "big", "9223372036854775807"]);
        assert_eq!(
            t.cmd(&["HINCRBY", "h", "s", "1"]),
            Frame::err("ERR hash value is not an integer")
        );
        assert_eq!(
            t.cmd(&["HINCRBY", "h", "big", "1"]),
            Frame::err("ERR increment or decrement would overflow")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "f", "10.5"]),
            Frame::bulk("10.5")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "f", "0.1"]),
            Frame::bulk("10.6")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "n", "1.5"]),
            Frame::bulk("-0.5")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "s", "1"]),
            Frame::err("ERR hash value is not a float")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "f", "inf"]),
            Frame::err("ERR value is NaN or Infinity")
        );
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "f", "x"]),
            Frame::err("ERR value is not a valid float")
        );
    }

    #[test]
    fn randfield_cases() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["HRANDFIELD", "nope"]), Frame::Null);
        assert_eq!(t.cmd(&["HRANDFIELD", "nope", "3"]), Frame::Array(vec![]));
        for n in [5usize, 300] {
            let key = format!("h{n}");
            for i in 0..n {
                t.cmd(&["HSET", &key, &format!("f{i}"), &format!("{i}")]);
            }
            for count in [1i64, 2, 4, 5, 150, 299, 300, 1000] {
                let Frame::Array(got) = t.cmd(&["HRANDFIELD", &key, &count.to_string()]) else {
                    panic!()
                };
                let expect = (count as usize).min(n);
                assert_eq!(got.len(), expect, "count {count} of {n}");
                let distinct: std::collections::BTreeSet<String> =
                    got.iter().map(|f| f.as_str()).collect();
                assert_eq!(distinct.len(), expect, "distinct picks for {count}");
            }
            let Frame::Array(got) = t.cmd(&["HRANDFIELD", &key, "-20", "WITHVALUES"]) else {
                panic!()
            };
            assert_eq!(got.len(), 40);
            for pair in got.chunks(2) {
                let field = pair[0].as_str();
                assert_eq!(format!("f{}", pair[1].as_str()), field);
            }
        }
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h5", "1", "WITHVALUE"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h5", "-9223372036854775808"]),
            Frame::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h5", "9223372036854775807", "WITHVALUES"]),
            Frame::err("ERR value is out of range")
        );
        t.cmd(&["HELLO", "3"]);
        let Frame::Array(got) = t.cmd(&["HRANDFIELD", "h5", "2", "WITHVALUES"]) else {
            panic!()
        };
        assert!(got
            .iter()
            .all(|p| matches!(p, Frame::Array(v) if v.len() == 2)));
        assert!(matches!(t.cmd(&["HGETALL", "h5"]), Frame::Map(m) if m.len() == 5));
    }

    #[test]
    fn hscan_both_encodings() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["HSCAN", "nope", "0"]),
            Frame::Array(vec![Frame::bulk("0"), Frame::Array(vec![])])
        );
        t.cmd(&["HSET", "small", "a1", "1", "b1", "2", "a2", "3"]);
        assert_eq!(
            t.cmd(&["HSCAN", "small", "0", "MATCH", "a*"]),
            Frame::Array(vec![
                Frame::bulk("0"),
                Frame::array_of_bulks(&["a1", "1", "a2", "3"])
            ])
        );
        assert_eq!(
            t.cmd(&["HSCAN", "small", "x"]),
            Frame::err("ERR invalid cursor")
        );
        assert_eq!(
            t.cmd(&["HSCAN", "small", "0", "COUNT", "0"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["HSCAN", "small", "0", "TYPE", "hash"]),
            Frame::err("ERR syntax error")
        );
        for i in 0..1000 {
            t.cmd(&["HSET", "big", &format!("f{i}"), &format!("{i}")]);
        }
        let mut seen = std::collections::BTreeMap::new();
        let mut cursor = "0".to_string();
        loop {
            let Frame::Array(parts) = t.cmd(&["HSCAN", "big", &cursor, "COUNT", "20"]) else {
                panic!()
            };
            cursor = parts[0].as_str();
            let Frame::Array(items) = &parts[1] else {
                panic!()
            };
            for pair in items.chunks(2) {
                seen.insert(pair[0].as_str(), pair[1].as_str());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen["f7"], "7");
    }

    #[test]
    fn generic_commands_cover_hashes() {
        let mut t = TestServer::new();
        t.cmd(&["HSET", "h", "a", "1"]);
        assert_eq!(t.cmd(&["COPY", "h", "h2"]), Frame::Int(1));
        t.cmd(&["HSET", "h", "b", "2"]);
        assert_eq!(t.cmd(&["HLEN", "h2"]), Frame::Int(1));
        assert_eq!(t.cmd(&["RENAME", "h2", "h3"]), Frame::ok());
        assert_eq!(t.cmd(&["HGET", "h3", "a"]), Frame::bulk("1"));
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "hash"]) else {
            panic!()
        };
        let Frame::Array(mut keys) = parts[1].clone() else {
            panic!()
        };
        keys.sort_by_key(|k| k.as_str());
        assert_eq!(keys, vec![Frame::bulk("h"), Frame::bulk("h3")]);
    }

    #[test]
    fn a_million_fields() {
        let mut t = TestServer::new();
        let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
        for i in 0..1_000_000 {
            args.push(format!("f{i}"));
            args.push(i.to_string());
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert_eq!(t.cmd(&refs), Frame::Int(1_000_000));
        assert_eq!(t.cmd(&["HLEN", "big"]), Frame::Int(1_000_000));
        assert_eq!(t.cmd(&["HGET", "big", "f999999"]), Frame::bulk("999999"));
        assert_eq!(enc(&mut t, "big"), "hashtable");
    }
}
