//! Set commands (Redis's t_set.c): membership, SPOP and SRANDMEMBER with Redis's
//! sampling strategies, SMOVE, the intersection/union/difference family with their
//! STORE forms and SINTERCARD, and SSCAN. Replies and errors are Redis 7.0's; the
//! encodings of the sets these commands build are Redis 7.2's (see `types::set`).

use super::{elemscan, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::db::Db;
use crate::dict::NewTable;
use crate::object::{Value, WRONGTYPE};
use crate::rng::CoreRng;
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_SET};
use crate::server::propagate::TARGET_ALL;
use crate::server::Server;
use crate::types::set::{listpack_without, selection_sample, Member, Set, SetLimits};
use crate::util::{eq_ic, parse_i64, FastSet};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("spop", spop),
    ("srandmember", srandmember),
    ("smove", smove),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sinterstore", sinterstore),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

const ERR_NOT_POSITIVE: &str = "value is out of range, must be positive";

fn limits(srv: &Server) -> SetLimits {
    let size = |v: i64| usize::try_from(v).unwrap_or(usize::MAX);
    SetLimits {
        max_intset_entries: size(srv.config.set_max_intset_entries),
        max_listpack_entries: size(srv.config.set_max_listpack_entries),
        max_listpack_value: size(srv.config.set_max_listpack_value),
    }
}

/// The set at `key`, already known to be one.
fn peek_set<'d>(db: &'d Db, key: &[u8]) -> &'d Set {
    match db.peek(key).map(|o| &o.value) {
        Some(Value::Set(s)) => s,
        _ => unreachable!("checked to be a set before"),
    }
}

fn peek_set_mut<'s>(srv: &'s mut Server, db: usize, key: &[u8]) -> &'s mut Set {
    match srv.dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Set(s)) => s,
        _ => unreachable!("checked to be a set before"),
    }
}

/// The set at `key` (already checked to be one) next to the RNG, borrowed apart.
fn set_and_rng<'s>(srv: &'s mut Server, db: usize, key: &[u8]) -> (&'s mut Set, &'s mut CoreRng) {
    let Server { dbs, rng, .. } = srv;
    match dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Set(s)) => (s, rng),
        _ => unreachable!("checked to be a set before"),
    }
}

/// lookupKeyRead + checkType: Ok(true) for a set, Ok(false) for a missing key,
/// Err after replying WRONGTYPE.
fn check_read(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, ()> {
    match srv
        .lookup_read(ctx.db, key)
        .map(|o| matches!(o.value, Value::Set(_)))
    {
        None => Ok(false),
        Some(true) => Ok(true),
        Some(false) => {
            ctx.reply.error(WRONGTYPE);
            Err(())
        }
    }
}

/// lookupKeyWrite + checkType, as `check_read`.
fn check_write(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, ()> {
    match srv
        .lookup_write(ctx.db, key)
        .map(|o| matches!(o.value, Value::Set(_)))
    {
        None => Ok(false),
        Some(true) => Ok(true),
        Some(false) => {
            ctx.reply.error(WRONGTYPE);
            Err(())
        }
    }
}

fn reply_member(ctx: &mut Ctx<'_>, m: Member<'_>) {
    match m {
        Member::Int(v) => ctx.reply.bulk_i64(v),
        Member::Str(s) => ctx.reply.bulk(s),
    }
}

/// Store `set` at `dst` (setKey, clearing any TTL) when it has members, announcing
/// `event`, or delete `dst` when it is empty; replies with the cardinality.
fn store_result(srv: &mut Server, ctx: &mut Ctx<'_>, dst: &[u8], set: Set, event: &str) {
    let n = set.len();
    if n > 0 {
        srv.set_key(ctx.db, dst, Value::Set(set), false);
        ctx.reply.int(n as i64);
        srv.notify_keyspace_event(NOTIFY_SET, event, dst, ctx.db);
        srv.mark_dirty(1);
    } else {
        ctx.reply.int(0);
        store_nothing(srv, ctx.db, dst);
    }
}

/// A STORE whose result is empty deletes its destination, if there was one.
fn store_nothing(srv: &mut Server, db: usize, dst: &[u8]) {
    if srv.delete_key(db, dst) {
        srv.mark_dirty(1);
        srv.signal_modified_key(db, dst);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, db);
    }
}

fn sadd(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (db, key) = (ctx.db, ctx.arg(1));
    let (lim, table) = (limits(srv), srv.new_table());
    let hint = ctx.argc() - 2;
    match check_write(srv, ctx, key) {
        Err(()) => return,
        Ok(true) => peek_set_mut(srv, db, key).maybe_convert(hint, lim, &table),
        Ok(false) => {
            let set = Set::create(ctx.arg(2), hint, lim, &table);
            srv.db_add(db, key, Value::Set(set));
        }
    }
    let set = peek_set_mut(srv, db, key);
    let mut added = 0u64;
    for i in 2..ctx.argc() {
        if set.add(Member::Str(ctx.arg(i)), lim, &table) {
            added += 1;
        }
    }
    debug_assert!(!set.is_empty());
    if added > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(NOTIFY_SET, "sadd", key, db);
    }
    srv.mark_dirty(added);
    ctx.reply.int(added as i64);
}

fn srem(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    let set = match srv.lookup_write(ctx.db, key).map(|o| &mut o.value) {
        None => {
            ctx.reply.int(0);
            return;
        }
        Some(Value::Set(s)) => s,
        Some(_) => {
            ctx.reply.error(WRONGTYPE);
            return;
        }
    };
    let mut deleted = 0u64;
    let mut emptied = false;
    for i in 2..ctx.argc() {
        if set.remove(Member::Str(ctx.arg(i))) {
            deleted += 1;
            if set.is_empty() {
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
        srv.notify_keyspace_event(NOTIFY_SET, "srem", key, ctx.db);
        if emptied {
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
        }
    }
    srv.mark_dirty(deleted);
    ctx.reply.int(deleted as i64);
}

fn smembers(srv: &mut Server, ctx: &mut Ctx<'_>) {
    // Redis 7.0 serves SMEMBERS with SINTER of the one key.
    sinter_generic(srv, ctx, 1..2, None, Inter::Members);
}

fn sismember(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    match check_read(srv, ctx, key) {
        Err(()) => {}
        Ok(false) => ctx.reply.int(0),
        Ok(true) => {
            let set = peek_set(&srv.dbs[ctx.db], key);
            ctx.reply
                .int(i64::from(set.contains(Member::Str(ctx.arg(2)))));
        }
    }
}

fn smismember(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    let Ok(exists) = check_read(srv, ctx, key) else {
        return;
    };
    ctx.reply.array(ctx.argc() - 2);
    let set = exists.then(|| peek_set(&srv.dbs[ctx.db], key));
    for i in 2..ctx.argc() {
        let hit = set.is_some_and(|s| s.contains(Member::Str(ctx.arg(i))));
        ctx.reply.int(i64::from(hit));
    }
}

fn scard(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    match check_read(srv, ctx, key) {
        Err(()) => {}
        Ok(false) => ctx.reply.int(0),
        Ok(true) => ctx.reply.int(peek_set(&srv.dbs[ctx.db], key).len() as i64),
    }
}

fn spop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match ctx.argc() {
        3 => return spop_with_count(srv, ctx),
        n if n > 3 => {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        _ => {}
    }
    let (db, key) = (ctx.db, ctx.arg(1));
    match check_write(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            ctx.reply.null();
            return;
        }
        Ok(true) => {}
    }
    let (set, rng) = set_and_rng(srv, db, key);
    let member = set
        .pop_random(rng)
        .expect("sets in the keyspace are never empty");
    let emptied = set.is_empty();
    srv.notify_keyspace_event(NOTIFY_SET, "spop", key, db);
    ctx.reply.bulk(&member);
    // SPOP's random choice propagates as the removal it made.
    ctx.rewrite_argv_with(|_| vec![b"SREM".to_vec(), key.to_vec(), member.clone()]);
    if emptied {
        srv.delete_key(db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
    }
    srv.signal_modified_key(db, key);
    srv.mark_dirty(1);
}

/// SPOP removes this many times more than it leaves before it switches from popping
/// random members to rebuilding the set from the random members it keeps.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn spop_with_count(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(count) = parse_i64(ctx.arg(2)).filter(|n| *n >= 0) else {
        ctx.reply.error(ERR_NOT_POSITIVE);
        return;
    };
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let (db, key) = (ctx.db, ctx.arg(1));
    match check_write(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            ctx.reply.set(0);
            return;
        }
        Ok(true) => {}
    }
    if count == 0 {
        ctx.reply.set(0);
        return;
    }
    let (lim, table) = (limits(srv), srv.new_table());
    let size = peek_set(&srv.dbs[db], key).len();
    srv.notify_keyspace_event(NOTIFY_SET, "spop", key, db);
    srv.mark_dirty(count.min(size) as u64);

    // Case 1: everything goes; the reply is SUNION of the one set.
    if count >= size {
        // Redis serves this through SUNION, whose read lookup counts a keyspace hit.
        srv.lookup_read(db, key);
        let all = union_diff(
            &[Some(peek_set(&srv.dbs[db], key))],
            SetOp::Union,
            lim,
            &table,
        );
        reply_set(ctx, &all);
        srv.delete_key(db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
        // The whole set went: propagated as its deletion.
        ctx.rewrite_argv_with(|_| vec![b"DEL".to_vec(), key.to_vec()]);
        srv.signal_modified_key(db, key);
        return;
    }

    ctx.reply.set(count);
    let remaining = size - count;
    // Cases 2 and 3 propagate one SREM per member popped, in reply order, and not
    // the SPOP itself.
    let propagating = ctx.propagating;
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let mut note = |m: &Member<'_>| {
        if propagating {
            popped.push(match m {
                Member::Int(v) => v.to_string().into_bytes(),
                Member::Str(s) => s.to_vec(),
            });
        }
    };
    let (set, rng) = set_and_rng(srv, db, key);
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // Case 2: a small part goes: pop random members one by one (a listpack in one
        // pass, keeping its order).
        if let Set::Listpack(lp) = set {
            let picks = selection_sample(lp.len(), count, rng);
            let mut next = picks.iter().peekable();
            for (i, e) in lp.iter().enumerate() {
                if next.peek() == Some(&&i) {
                    next.next();
                    note(&e);
                    reply_member(ctx, e);
                }
            }
            *lp = listpack_without(lp, &picks);
        } else {
            for _ in 0..count {
                let m = set.pop_random(rng).expect("count < size");
                note(&Member::Str(&m));
                ctx.reply.bulk(&m);
            }
        }
        debug_assert_eq!(set.len(), remaining);
        propagate_srems(srv, ctx, db, key, popped);
        srv.signal_modified_key(db, key);
        return;
    }

    // Case 3: most of the set goes: draw the members that stay into a new set, reply
    // with what is left of the old one, and keep the new one.
    let mut kept: Option<Set> = None;
    if let Set::Listpack(lp) = set {
        let picks = selection_sample(lp.len(), remaining, rng);
        let mut new = Set::new_listpack();
        let mut next = picks.iter().peekable();
        for (i, e) in lp.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                new.add(e, lim, &table);
            } else {
                note(&e);
                reply_member(ctx, e);
            }
        }
        kept = Some(new);
    } else {
        for _ in 0..remaining {
            let (bytes, is_str) = match set.random(rng).expect("remaining < size") {
                Member::Int(v) => (v.to_string().into_bytes(), false),
                Member::Str(s) => (s.to_vec(), true),
            };
            // A hash table's members come as strings: the new set starts as a
            // listpack; an intset's come as integers: it starts as an intset.
            let new = kept.get_or_insert_with(|| {
                if is_str {
                    Set::new_listpack()
                } else {
                    Set::new_intset()
                }
            });
            new.add(Member::Str(&bytes), lim, &table);
            set.remove(Member::Str(&bytes));
        }
        for m in set.iter() {
            note(&m);
            reply_member(ctx, m);
        }
    }
    let kept = kept.expect("at least one member stays");
    debug_assert_eq!(kept.len(), remaining);
    *set = kept;
    propagate_srems(srv, ctx, db, key, popped);
    srv.signal_modified_key(db, key);
}

/// SPOP with a count that leaves members: one SREM per popped member (alsoPropagate),
/// the command itself not propagated.
fn propagate_srems(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    db: usize,
    key: &[u8],
    popped: Vec<Vec<u8>>,
) {
    for m in popped {
        srv.also_propagate(db, vec![b"SREM".to_vec(), key.to_vec(), m], TARGET_ALL);
    }
    ctx.prevent_propagation();
}

fn srandmember(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match ctx.argc() {
        3 => return srandmember_with_count(srv, ctx),
        n if n > 3 => {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        _ => {}
    }
    let (db, key) = (ctx.db, ctx.arg(1));
    match check_read(srv, ctx, key) {
        Err(()) => {}
        Ok(false) => ctx.reply.null(),
        Ok(true) => {
            let (set, rng) = set_and_rng(srv, db, key);
            let m = set
                .random(rng)
                .expect("sets in the keyspace are never empty");
            reply_member(ctx, m);
        }
    }
}

/// SRANDMEMBER copies the set and removes random members when it asks for more than
/// a third of it, and draws until it has enough distinct members otherwise.
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

fn srandmember_with_count(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let n = match parse_i64(ctx.arg(2)) {
        None => {
            ctx.reply.error(ERR_NOT_INTEGER);
            return;
        }
        Some(i64::MIN) => {
            ctx.reply.error("value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        Some(n) => n,
    };
    let (db, key) = (ctx.db, ctx.arg(1));
    match check_read(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            ctx.reply.array(0);
            return;
        }
        Ok(true) => {}
    }
    let unique = n >= 0;
    let count = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
    if count == 0 {
        ctx.reply.array(0);
        return;
    }
    let (set, rng) = set_and_rng(srv, db, key);
    let set: &Set = set;
    let size = set.len();

    // Case 1: repetitions allowed (or a single pick): independent uniform draws, the
    // only case whose order is random too.
    if !unique || count == 1 {
        ctx.reply.array(count);
        if let (Set::Listpack(lp), true) = (set, count > 1) {
            // One walk of the listpack, then draws from the copy of its entries.
            let entries: Vec<Member<'_>> = lp.iter().collect();
            for _ in 0..count {
                reply_member(ctx, entries[rng.index(entries.len())]);
            }
        } else {
            for _ in 0..count {
                reply_member(ctx, set.random(rng).expect("not empty"));
            }
        }
        return;
    }

    // Case 2: asking for at least everything returns everything.
    if count >= size {
        reply_all_as_array(ctx, set);
        return;
    }

    // Case 2.5 (Redis 7.2): a listpack is small: one pass of selection sampling, the
    // picks in listpack order.
    if let Set::Listpack(lp) = set {
        ctx.reply.array(count);
        let picks = selection_sample(size, count, rng);
        let mut next = picks.iter().peekable();
        for (i, e) in lp.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                reply_member(ctx, e);
            }
        }
        return;
    }

    // Case 3: most of the set: copy it and remove random members down to `count`.
    if count.saturating_mul(SRANDMEMBER_SUB_STRATEGY_MUL) > size {
        let mut all: Vec<Member<'_>> = set.iter().collect();
        while all.len() > count {
            let i = rng.index(all.len());
            all.swap_remove(i);
        }
        ctx.reply.array(count);
        for m in all {
            reply_member(ctx, m);
        }
        return;
    }

    // Case 4: a small part of a big set: draw until `count` distinct members.
    ctx.reply.array(count);
    let mut seen: FastSet<Vec<u8>> = FastSet::default();
    while seen.len() < count {
        let m = set.random(rng).expect("not empty");
        if seen.insert(m.as_bytes().into_owned()) {
            reply_member(ctx, m);
        }
    }
}

fn reply_all_as_array(ctx: &mut Ctx<'_>, set: &Set) {
    ctx.reply.array(set.len());
    for m in set.iter() {
        reply_member(ctx, m);
    }
}

fn reply_set(ctx: &mut Ctx<'_>, set: &Set) {
    ctx.reply.set(set.len());
    for m in set.iter() {
        reply_member(ctx, m);
    }
}

fn smove(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (db, src, dst, member) = (ctx.db, ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let src_is_set = srv
        .lookup_write(db, src)
        .map(|o| matches!(o.value, Value::Set(_)));
    let dst_is_set = srv
        .lookup_write(db, dst)
        .map(|o| matches!(o.value, Value::Set(_)));
    let Some(src_is_set) = src_is_set else {
        ctx.reply.int(0);
        return;
    };
    if !src_is_set || dst_is_set == Some(false) {
        ctx.reply.error(WRONGTYPE);
        return;
    }
    if src == dst {
        let hit = peek_set(&srv.dbs[db], src).contains(Member::Str(member));
        ctx.reply.int(i64::from(hit));
        return;
    }
    let source = peek_set_mut(srv, db, src);
    if !source.remove(Member::Str(member)) {
        ctx.reply.int(0);
        return;
    }
    let emptied = source.is_empty();
    srv.notify_keyspace_event(NOTIFY_SET, "srem", src, db);
    if emptied {
        srv.delete_key(db, src);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", src, db);
    }
    let (lim, table) = (limits(srv), srv.new_table());
    if dst_is_set.is_none() {
        srv.db_add(db, dst, Value::Set(Set::create(member, 1, lim, &table)));
    }
    srv.signal_modified_key(db, src);
    srv.mark_dirty(1);
    if peek_set_mut(srv, db, dst).add(Member::Str(member), lim, &table) {
        srv.mark_dirty(1);
        srv.signal_modified_key(db, dst);
        srv.notify_keyspace_event(NOTIFY_SET, "sadd", dst, db);
    }
    ctx.reply.int(1);
}

/// What an intersection produces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inter {
    /// SINTER / SMEMBERS: the members, as a set reply.
    Members,
    /// SINTERCARD: how many, stopping at the limit (0: no limit).
    Count(u64),
    /// SINTERSTORE: a new set stored at the destination.
    Store,
}

fn sinter(srv: &mut Server, ctx: &mut Ctx<'_>) {
    sinter_generic(srv, ctx, 1..ctx.argc(), None, Inter::Members);
}

fn sinterstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let dst = ctx.arg(1);
    sinter_generic(srv, ctx, 2..ctx.argc(), Some(dst), Inter::Store);
}

fn sintercard(srv: &mut Server, ctx: &mut Ctx<'_>) {
    const ERR_NUMKEYS: &str = "numkeys should be greater than 0";
    let Some(numkeys) = parse_i64(ctx.arg(1)).filter(|n| *n >= 1) else {
        ctx.reply.error(ERR_NUMKEYS);
        return;
    };
    let args_left = (ctx.argc() - 2) as i64;
    if numkeys > args_left {
        ctx.reply
            .error("Number of keys can't be greater than number of args");
        return;
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = keys_end;
    while i < ctx.argc() {
        let more = ctx.argc() - 1 - i;
        if eq_ic(ctx.arg(i), "limit") && more > 0 {
            i += 1;
            match parse_i64(ctx.arg(i)).filter(|n| *n >= 0) {
                Some(n) => limit = n as u64,
                None => {
                    ctx.reply.error("LIMIT can't be negative");
                    return;
                }
            }
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        i += 1;
    }
    sinter_generic(srv, ctx, 2..keys_end, None, Inter::Count(limit));
}

/// sinterGenericCommand: every key is type-checked first (a missing key is an empty
/// set, so the result is empty, but a later key of the wrong type still fails); then
/// the smallest set is walked and each member tested against the others.
fn sinter_generic(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    keys: std::ops::Range<usize>,
    dst: Option<&[u8]>,
    what: Inter,
) {
    let mut any_missing = false;
    for i in keys.clone() {
        match check_read(srv, ctx, ctx.arg(i)) {
            Err(()) => return,
            Ok(false) => any_missing = true,
            Ok(true) => {}
        }
    }
    if any_missing {
        match (what, dst) {
            (Inter::Store, Some(dst)) => {
                // Redis deletes before replying here, and signals before counting.
                if srv.delete_key(ctx.db, dst) {
                    srv.signal_modified_key(ctx.db, dst);
                    srv.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, ctx.db);
                    srv.mark_dirty(1);
                }
                ctx.reply.int(0);
            }
            (Inter::Count(_), _) => ctx.reply.int(0),
            _ => ctx.reply.set(0),
        }
        return;
    }
    let (lim, table) = (limits(srv), srv.new_table());
    let db = &srv.dbs[ctx.db];
    let mut sets: Vec<&Set> = keys.map(|i| peek_set(db, ctx.arg(i))).collect();
    sets.sort_by_key(|s| s.len());
    let (first, rest) = (sets[0], &sets[1..]);
    let in_all = |m: Member<'_>| {
        rest.iter()
            .all(|s| std::ptr::eq(*s, first) || s.contains(m))
    };
    match what {
        Inter::Count(limit) => {
            let mut n = 0u64;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit != 0 && n >= limit {
                        break;
                    }
                }
            }
            ctx.reply.int(n as i64);
        }
        Inter::Members => {
            let found: Vec<Member<'_>> = first.iter().filter(|m| in_all(*m)).collect();
            ctx.reply.set(found.len());
            for m in found {
                reply_member(ctx, m);
            }
        }
        Inter::Store => {
            // Redis 7.2: an intset's intersection is built as an intset, any other
            // as a listpack (which may grow into a hash table), and a result holding
            // only integers goes back to an intset if it is small enough.
            let mut out = match first {
                Set::Intset(_) => Set::new_intset(),
                _ => Set::new_listpack(),
            };
            let mut only_integers = true;
            for m in first.iter() {
                if in_all(m) {
                    only_integers &= m.as_i64().is_some();
                    out.add(m, lim, &table);
                }
            }
            if only_integers {
                out.maybe_convert_to_intset(lim);
            }
            let dst = dst.expect("SINTERSTORE has a destination");
            store_result(srv, ctx, dst, out, "sinterstore");
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// The union or difference of `sets` (None: a missing key), built as Redis 7.2 does
/// from an empty intset, so its encoding follows the members it receives.
fn union_diff(sets: &[Option<&Set>], op: SetOp, lim: SetLimits, table: &NewTable) -> Set {
    let mut out = Set::new_intset();
    let size = |s: &Option<&Set>| s.map_or(0, |s| s.len());
    match op {
        SetOp::Union => {
            for set in sets.iter().flatten() {
                for m in set.iter() {
                    out.add(m, lim, table);
                }
            }
        }
        SetOp::Diff => {
            let Some(first) = sets[0] else {
                return out;
            };
            // The first set named again later: nothing is left.
            let same = sets[1..]
                .iter()
                .any(|s| s.is_some_and(|s| std::ptr::eq(s, first)));
            if same {
                return out;
            }
            // Algorithm 1 walks the first set testing each member against the others
            // (N*M); algorithm 2 adds the first set and removes all the others (sum of
            // sizes). Redis gives the first a factor 2 advantage.
            let present = sets.iter().flatten().count();
            let one_work = (first.len() * present) / 2;
            let two_work: usize = sets.iter().map(size).sum();
            if one_work <= two_work {
                let mut others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
                // Largest first: a member is more likely to be found early.
                others.sort_by_key(|s| std::cmp::Reverse(s.len()));
                for m in first.iter() {
                    if !others.iter().any(|s| s.contains(m)) {
                        out.add(m, lim, table);
                    }
                }
            } else {
                for (j, set) in sets.iter().enumerate() {
                    let Some(set) = set else { continue };
                    for m in set.iter() {
                        if j == 0 {
                            out.add(m, lim, table);
                        } else {
                            out.remove(m);
                        }
                    }
                    if out.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    out
}

fn sunion_diff_generic(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    keys: std::ops::Range<usize>,
    dst: Option<&[u8]>,
    op: SetOp,
) {
    let mut present = Vec::with_capacity(keys.len());
    for i in keys.clone() {
        match check_read(srv, ctx, ctx.arg(i)) {
            Err(()) => return,
            Ok(exists) => present.push(exists),
        }
    }
    let (lim, table) = (limits(srv), srv.new_table());
    let db = &srv.dbs[ctx.db];
    let sets: Vec<Option<&Set>> = keys
        .zip(&present)
        .map(|(i, exists)| exists.then(|| peek_set(db, ctx.arg(i))))
        .collect();
    let out = union_diff(&sets, op, lim, &table);
    match dst {
        None => reply_set(ctx, &out),
        Some(dst) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store_result(srv, ctx, dst, out, event)
        }
    }
}

fn sunion(srv: &mut Server, ctx: &mut Ctx<'_>) {
    sunion_diff_generic(srv, ctx, 1..ctx.argc(), None, SetOp::Union);
}

fn sunionstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let dst = ctx.arg(1);
    sunion_diff_generic(srv, ctx, 2..ctx.argc(), Some(dst), SetOp::Union);
}

fn sdiff(srv: &mut Server, ctx: &mut Ctx<'_>) {
    sunion_diff_generic(srv, ctx, 1..ctx.argc(), None, SetOp::Diff);
}

fn sdiffstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let dst = ctx.arg(1);
    sunion_diff_generic(srv, ctx, 2..ctx.argc(), Some(dst), SetOp::Diff);
}

fn sscan(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(mut cursor) = super::keys::parse_cursor(ctx.arg(2)) else {
        ctx.reply.error("invalid cursor");
        return;
    };
    let key = ctx.arg(1);
    match check_read(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            elemscan::reply_empty(ctx);
            return;
        }
        Ok(true) => {}
    }
    let Some(opts) = elemscan::parse_options(ctx) else {
        return;
    };
    let set = peek_set(&srv.dbs[ctx.db], key);
    let mut items = Vec::new();
    match set {
        // Compact encodings come back whole, with cursor 0.
        Set::Intset(_) | Set::Listpack(_) => {
            items.extend(set.iter().map(|m| m.to_vec()));
            cursor = 0;
        }
        Set::Table(d) => {
            let mut iterations_left = opts.count.saturating_mul(10);
            loop {
                cursor = d.scan(cursor, |k, _| items.push(k.to_vec()));
                if cursor == 0 || iterations_left == 0 || items.len() >= opts.count {
                    break;
                }
                iterations_left -= 1;
            }
        }
    }
    elemscan::reply(ctx, cursor, items, false, opts.pattern);
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};
    use std::collections::BTreeSet;

    const WRONG: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    /// The members of an array or set reply, as strings in reply order.
    fn items(f: Frame) -> Vec<String> {
        match f {
            Frame::Array(v) | Frame::Set(v) => v.iter().map(|m| m.as_str()).collect(),
            other => panic!("not a collection: {other:?}"),
        }
    }

    fn sorted(f: Frame) -> Vec<String> {
        let mut v = items(f);
        v.sort();
        v
    }

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn sadd(t: &mut TestServer, key: &str, members: impl IntoIterator<Item = String>) {
        let mut args: Vec<String> = vec!["SADD".into(), key.into()];
        args.extend(members);
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert!(matches!(t.cmd(&refs), Frame::Int(_)));
    }

    #[test]
    fn add_remove_and_membership() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["SADD", "s", "a", "b", "a", "c"]), Frame::Int(3));
        assert_eq!(t.cmd(&["SADD", "s", "a", "d"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SCARD", "s"]), Frame::Int(4));
        assert_eq!(t.cmd(&["SCARD", "nope"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SISMEMBER", "s", "a"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SISMEMBER", "s", "z"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SISMEMBER", "nope", "a"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["SMISMEMBER", "s", "a", "z", "d"]),
            Frame::Array(vec![Frame::Int(1), Frame::Int(0), Frame::Int(1)])
        );
        assert_eq!(
            t.cmd(&["SMISMEMBER", "nope", "a", "b"]),
            Frame::Array(vec![Frame::Int(0), Frame::Int(0)])
        );
        assert_eq!(
            sorted(t.cmd(&["SMEMBERS", "s"])),
            strs(&["a", "b", "c", "d"])
        );
        assert_eq!(t.cmd(&["SMEMBERS", "nope"]), Frame::Array(vec![]));
        assert_eq!(t.cmd(&["SREM", "s", "a", "z", "a"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SREM", "nope", "a"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SREM", "s", "b", "c", "d", "e"]), Frame::Int(3));
        assert_eq!(
            t.cmd(&["EXISTS", "s"]),
            Frame::Int(0),
            "an emptied set is deleted"
        );
        assert_eq!(
            t.cmd(&["SADD", "s"]),
            Frame::err("ERR wrong number of arguments for 'sadd' command")
        );
        t.cmd(&["SET", "str", "v"]);
        for cmd in [
            vec!["SADD", "str", "a"],
            vec!["SREM", "str", "a"],
            vec!["SMEMBERS", "str"],
            vec!["SISMEMBER", "str", "a"],
            vec!["SMISMEMBER", "str", "a"],
            vec!["SCARD", "str"],
            vec!["SPOP", "str"],
            vec!["SPOP", "str", "2"],
            vec!["SRANDMEMBER", "str"],
            vec!["SRANDMEMBER", "str", "-2"],
            vec!["SINTER", "str"],
            vec!["SINTERCARD", "1", "str"],
            vec!["SINTERSTORE", "d", "str"],
            vec!["SUNION", "str"],
            vec!["SUNIONSTORE", "d", "str"],
            vec!["SDIFF", "str"],
            vec!["SDIFFSTORE", "d", "str"],
            vec!["SSCAN", "str", "0"],
            vec!["SMOVE", "str", "d", "a"],
        ] {
            assert_eq!(t.cmd(&cmd), Frame::err(WRONG), "{cmd:?}");
        }
        t.cmd(&["HSET", "h", "f", "v"]);
        assert_eq!(t.cmd(&["SADD", "h", "a"]), Frame::err(WRONG));
        assert_eq!(t.cmd(&["TYPE", "h"]), Frame::Simple("hash".into()));
    }

    #[test]
    fn encodings_convert_at_the_configured_limits() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "i", "1", "2", "3"]);
        assert_eq!(enc(&mut t, "i"), "intset");
        t.cmd(&["SADD", "i", "x"]);
        assert_eq!(enc(&mut t, "i"), "listpack");
        assert_eq!(
            items(t.cmd(&["SMEMBERS", "i"])),
            strs(&["1", "2", "3", "x"])
        );
        t.cmd(&["SADD", "l", "a", "b"]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        t.cmd(&["SADD", "l", &"v".repeat(65)]);
        assert_eq!(enc(&mut t, "l"), "hashtable");
        t.cmd(&["SREM", "l", &"v".repeat(65)]);
        assert_eq!(enc(&mut t, "l"), "hashtable", "never converts back");

        t.cmd(&["CONFIG", "SET", "set-max-intset-entries", "4"]);
        t.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "3"]);
        t.cmd(&["CONFIG", "SET", "set-max-listpack-value", "5"]);
        t.cmd(&["SADD", "a", "1", "2", "3", "4"]);
        assert_eq!(enc(&mut t, "a"), "intset");
        t.cmd(&["SADD", "a", "5"]);
        assert_eq!(enc(&mut t, "a"), "hashtable");
        t.cmd(&["SADD", "b", "1", "2"]);
        t.cmd(&["SADD", "b", "x"]);
        assert_eq!(enc(&mut t, "b"), "listpack");
        t.cmd(&["SADD", "b", "y"]);
        assert_eq!(enc(&mut t, "b"), "hashtable");
        t.cmd(&["SADD", "c", "1", "2", "3"]);
        t.cmd(&["SADD", "c", "x"]);
        assert_eq!(
            enc(&mut t, "c"),
            "hashtable",
            "an intset of 3 is too big for 3 entries"
        );
        t.cmd(&["SADD", "d", "123456"]);
        t.cmd(&["SADD", "d", "x"]);
        assert_eq!(
            enc(&mut t, "d"),
            "hashtable",
            "123456 is longer than 5 bytes"
        );
        t.cmd(&["SADD", "e", "abcdef"]);
        assert_eq!(enc(&mut t, "e"), "hashtable");
        // The size hint: SADD with more arguments than a listpack or intset may hold
        // builds a hash table at once, duplicates or not (Redis 7.2).
        t.cmd(&["SADD", "f", "1", "1", "1", "1", "1"]);
        assert_eq!(enc(&mut t, "f"), "hashtable");
        t.cmd(&["SADD", "g", "x"]);
        t.cmd(&["SADD", "g", "x", "x", "x", "x"]);
        assert_eq!(enc(&mut t, "g"), "hashtable");
        assert_eq!(t.cmd(&["SCARD", "g"]), Frame::Int(1));
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "set-max-listpack-value"]),
            Frame::array_of_bulks(&["set-max-listpack-value", "5"])
        );
    }

    #[test]
    fn stores_build_redis_7_2_encodings() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "i1", "1", "2", "3", "4"]);
        t.cmd(&["SADD", "i2", "2", "3", "4", "5"]);
        t.cmd(&["SADD", "l1", "a", "b", "1", "2"]);
        t.cmd(&["SADD", "l2", "a", "1", "2", "z"]);
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "i1", "i2"]), Frame::Int(3));
        assert_eq!(enc(&mut t, "d"), "intset");
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "l1", "l2"]), Frame::Int(3));
        assert_eq!(enc(&mut t, "d"), "listpack");
        // Only integers in common: back to an intset.
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "l1", "i1"]), Frame::Int(2));
        assert_eq!(enc(&mut t, "d"), "intset");
        assert_eq!(items(t.cmd(&["SMEMBERS", "d"])), strs(&["1", "2"]));
        // Hash tables of integers intersect into a listpack that outgrows itself into
        // a hash table, then goes back to an intset.
        sadd(&mut t, "h1", (0..600).map(|i| i.to_string()));
        sadd(&mut t, "h2", (300..900).map(|i| i.to_string()));
        assert_eq!(enc(&mut t, "h1"), "hashtable");
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "h1", "h2"]), Frame::Int(300));
        assert_eq!(enc(&mut t, "d"), "intset");
        sadd(&mut t, "h3", (0..600).map(|i| format!("m{i}")));
        sadd(&mut t, "h4", (0..100).map(|i| format!("m{i}")));
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "h3", "h4"]), Frame::Int(100));
        assert_eq!(enc(&mut t, "d"), "listpack");

        assert_eq!(t.cmd(&["SUNIONSTORE", "d", "i1", "i2"]), Frame::Int(5));
        assert_eq!(enc(&mut t, "d"), "intset");
        assert_eq!(t.cmd(&["SUNIONSTORE", "d", "i1", "l1"]), Frame::Int(6));
        assert_eq!(enc(&mut t, "d"), "listpack");
        assert_eq!(t.cmd(&["SUNIONSTORE", "d", "h1", "i1"]), Frame::Int(600));
        assert_eq!(enc(&mut t, "d"), "hashtable");
        assert_eq!(t.cmd(&["SUNIONSTORE", "d", "h4"]), Frame::Int(100));
        assert_eq!(
            enc(&mut t, "d"),
            "listpack",
            "a hash table's copy may be a listpack"
        );

        // SDIFF algorithm 1 (first set small) adds only what stays: an intset here.
        assert_eq!(t.cmd(&["SDIFFSTORE", "d", "l1", "l2"]), Frame::Int(1));
        assert_eq!(enc(&mut t, "d"), "listpack");
        t.cmd(&["SADD", "mix", "1", "2", "x"]);
        t.cmd(&["SADD", "xonly", "x"]);
        assert_eq!(t.cmd(&["SDIFFSTORE", "d", "mix", "xonly"]), Frame::Int(2));
        assert_eq!(enc(&mut t, "d"), "intset");
        // Algorithm 2 (the others much smaller than the first times their number)
        // adds the whole first set, then removes: the string it removed left its mark.
        t.cmd(&[
            "SADD", "s1", "x", "1", "2", "3", "4", "5", "6", "7", "8", "9",
        ]);
        assert_eq!(
            t.cmd(&["SDIFFSTORE", "d", "s1", "xonly", "xonly", "xonly"]),
            Frame::Int(9)
        );
        assert_eq!(enc(&mut t, "d"), "listpack");

        // SMOVE creates its destination for one member.
        assert_eq!(t.cmd(&["SMOVE", "l1", "new", "a"]), Frame::Int(1));
        assert_eq!(enc(&mut t, "new"), "listpack");
        assert_eq!(t.cmd(&["SMOVE", "i1", "new2", "1"]), Frame::Int(1));
        assert_eq!(enc(&mut t, "new2"), "intset");
    }

    #[test]
    fn algebra_replies_and_empty_results() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "a", "1", "2", "3", "4"]);
        t.cmd(&["SADD", "b", "3", "4", "5"]);
        t.cmd(&["SADD", "c", "4", "6"]);
        assert_eq!(items(t.cmd(&["SINTER", "a", "b"])), strs(&["3", "4"]));
        assert_eq!(items(t.cmd(&["SINTER", "a", "b", "c"])), strs(&["4"]));
        assert_eq!(
            items(t.cmd(&["SINTER", "a", "a"])),
            strs(&["1", "2", "3", "4"])
        );
        assert_eq!(t.cmd(&["SINTER", "a", "nope"]), Frame::Array(vec![]));
        assert_eq!(
            items(t.cmd(&["SUNION", "a", "nope", "c"])),
            strs(&["1", "2", "3", "4", "6"])
        );
        assert_eq!(t.cmd(&["SUNION", "nope"]), Frame::Array(vec![]));
        assert_eq!(items(t.cmd(&["SDIFF", "a", "b"])), strs(&["1", "2"]));
        assert_eq!(
            items(t.cmd(&["SDIFF", "a", "nope", "c"])),
            strs(&["1", "2", "3"])
        );
        assert_eq!(t.cmd(&["SDIFF", "a", "b", "a"]), Frame::Array(vec![]));
        assert_eq!(t.cmd(&["SDIFF", "nope", "a"]), Frame::Array(vec![]));
        // A missing key short-circuits the intersection, but only after every key has
        // been type-checked.
        t.cmd(&["SET", "str", "x"]);
        assert_eq!(t.cmd(&["SINTER", "nope", "str"]), Frame::err(WRONG));
        assert_eq!(t.cmd(&["SUNION", "nope", "str"]), Frame::err(WRONG));
        assert_eq!(t.cmd(&["SDIFF", "nope", "str"]), Frame::err(WRONG));
        assert_eq!(
            t.cmd(&["SINTERCARD", "2", "nope", "str"]),
            Frame::err(WRONG)
        );

        // STORE forms: the destination is overwritten whatever it held, and deleted
        // when the result is empty.
        t.cmd(&["SET", "dst", "x", "EX", "100"]);
        assert_eq!(t.cmd(&["SINTERSTORE", "dst", "a", "b"]), Frame::Int(2));
        assert_eq!(t.cmd(&["TTL", "dst"]), Frame::Int(-1));
        assert_eq!(t.cmd(&["SINTERSTORE", "dst", "a", "nope"]), Frame::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "dst"]), Frame::Int(0));
        t.cmd(&["SET", "dst", "x"]);
        assert_eq!(t.cmd(&["SINTERSTORE", "dst", "b", "c", "a"]), Frame::Int(1));
        assert_eq!(
            t.cmd(&["SINTERSTORE", "dst", "a", "c", "b", "c"]),
            Frame::Int(1)
        );
        assert_eq!(t.cmd(&["SDIFFSTORE", "dst", "c", "a"]), Frame::Int(1));
        assert_eq!(items(t.cmd(&["SMEMBERS", "dst"])), strs(&["6"]));
        assert_eq!(t.cmd(&["SDIFFSTORE", "dst", "c", "c"]), Frame::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "dst"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SUNIONSTORE", "dst", "nope"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["SUNIONSTORE", "a", "a", "c"]),
            Frame::Int(5),
            "dst may be a source"
        );
        assert_eq!(t.cmd(&["SDIFFSTORE", "dst", "nope", "a"]), Frame::Int(0));
        // Non-integer members, both SDIFF algorithms.
        t.cmd(&["SADD", "w1", "x", "y", "z", "1"]);
        t.cmd(&["SADD", "w2", "y"]);
        assert_eq!(
            sorted(t.cmd(&["SDIFF", "w1", "w2"])),
            strs(&["1", "x", "z"])
        );
        assert_eq!(
            sorted(t.cmd(&["SDIFF", "w1", "w2", "w2", "w2"])),
            strs(&["1", "x", "z"])
        );
        assert_eq!(sorted(t.cmd(&["SINTER", "w1", "a"])), strs(&["1"]));

        // SINTERCARD and its options.
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b"]), Frame::Int(2));
        assert_eq!(
            t.cmd(&["SINTERCARD", "1", "a", "LIMIT", "2"]),
            Frame::Int(2)
        );
        assert_eq!(
            t.cmd(&["SINTERCARD", "1", "a", "limit", "0"]),
            Frame::Int(5)
        );
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "nope"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "3"]),
            Frame::Int(3)
        );
        for (args, err) in [
            (vec!["0", "a"], "ERR numkeys should be greater than 0"),
            (vec!["x", "a"], "ERR numkeys should be greater than 0"),
            (
                vec!["3", "a", "b"],
                "ERR Number of keys can't be greater than number of args",
            ),
            (vec!["1", "a", "LIMIT", "-1"], "ERR LIMIT can't be negative"),
            (vec!["1", "a", "LIMIT", "x"], "ERR LIMIT can't be negative"),
            (vec!["1", "a", "LIMIT"], "ERR syntax error"),
            (vec!["1", "a", "b"], "ERR syntax error"),
        ] {
            let mut cmd = vec!["SINTERCARD"];
            cmd.extend(args);
            assert_eq!(t.cmd(&cmd), Frame::err(err), "{cmd:?}");
        }
    }

    #[test]
    fn resp3_uses_set_replies_where_redis_does() {
        let mut t = TestServer::new();
        t.cmd(&["HELLO", "3"]);
        t.cmd(&["SADD", "s", "1", "2", "3"]);
        for cmd in [
            vec!["SMEMBERS", "s"],
            vec!["SINTER", "s"],
            vec!["SUNION", "s"],
            vec!["SDIFF", "s"],
        ] {
            assert_eq!(
                t.cmd(&cmd),
                Frame::Set(vec![Frame::bulk("1"), Frame::bulk("2"), Frame::bulk("3")]),
                "{cmd:?}"
            );
        }
        assert_eq!(t.cmd(&["SMEMBERS", "nope"]), Frame::Set(vec![]));
        assert_eq!(t.cmd(&["SINTER", "s", "nope"]), Frame::Set(vec![]));
        assert_eq!(t.cmd(&["SPOP", "nope", "3"]), Frame::Set(vec![]));
        assert_eq!(t.cmd(&["SPOP", "s", "0"]), Frame::Set(vec![]));
        assert_eq!(t.cmd(&["SPOP", "nope"]), Frame::Null);
        assert_eq!(t.cmd(&["SRANDMEMBER", "nope"]), Frame::Null);
        assert_eq!(t.cmd(&["SRANDMEMBER", "nope", "3"]), Frame::Array(vec![]));
        assert!(matches!(t.cmd(&["SRANDMEMBER", "s", "2"]), Frame::Array(v) if v.len() == 2));
        assert!(matches!(t.cmd(&["SRANDMEMBER", "s", "-5"]), Frame::Array(v) if v.len() == 5));
        assert!(matches!(t.cmd(&["SPOP", "s", "1"]), Frame::Set(v) if v.len() == 1));
        assert!(matches!(t.cmd(&["SPOP", "s", "9"]), Frame::Set(v) if v.len() == 2));
        assert_eq!(t.cmd(&["EXISTS", "s"]), Frame::Int(0));
        // The raw bytes: `~` in RESP3, `*` in RESP2.
        let conn = t.default_conn();
        t.cmd(&["SADD", "one", "x"]);
        t.send_raw(conn, b"SMEMBERS one\r\n");
        assert_eq!(t.take_output(conn), b"~1\r\n$1\r\nx\r\n");
        t.cmd(&["HELLO", "2"]);
        t.send_raw(conn, b"SMEMBERS one\r\n");
        assert_eq!(t.take_output(conn), b"*1\r\n$1\r\nx\r\n");
    }

    /// SADD `n` members to `key`, as integers or as strings.
    fn fill(t: &mut TestServer, key: &str, n: usize, ints: bool) -> BTreeSet<String> {
        let all: BTreeSet<String> = (0..n)
            .map(|i| {
                if ints {
                    (i * 7).to_string()
                } else {
                    format!("m{i}")
                }
            })
            .collect();
        sadd(t, key, all.iter().cloned());
        all
    }

    #[test]
    fn spop_every_strategy_in_every_encoding() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "one", "x"]);
        assert_eq!(t.cmd(&["SPOP", "one"]), Frame::bulk("x"));
        assert_eq!(t.cmd(&["EXISTS", "one"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SPOP", "one"]), Frame::Null);
        // (size, ints, expected encoding); counts cover case 1 (all), case 2 (a few:
        // remaining*5 > count) and case 3 (most: rebuild from what stays).
        for (size, ints, encoding) in [
            (50, true, "intset"),
            (50, false, "listpack"),
            (1000, true, "hashtable"),
            (1000, false, "hashtable"),
        ] {
            for count in [
                1usize,
                3,
                size / 2,
                size * 5 / 6 - 1,
                size * 5 / 6 + 1,
                size - 1,
                size,
                size + 10,
            ] {
                let all = fill(&mut t, "s", size, ints);
                assert_eq!(enc(&mut t, "s"), encoding);
                let got = items(t.cmd(&["SPOP", "s", &count.to_string()]));
                let want = count.min(size);
                assert_eq!(got.len(), want, "{encoding} {size} pop {count}");
                let popped: BTreeSet<String> = got.iter().cloned().collect();
                assert_eq!(popped.len(), want, "no member twice");
                assert!(popped.is_subset(&all));
                if want == size {
                    assert_eq!(t.cmd(&["EXISTS", "s"]), Frame::Int(0));
                    continue;
                }
                let left: BTreeSet<String> = items(t.cmd(&["SMEMBERS", "s"])).into_iter().collect();
                assert_eq!(left.len(), size - want);
                assert!(left.is_disjoint(&popped));
                assert_eq!(left.union(&popped).count(), size);
                t.cmd(&["DEL", "s"]);
            }
        }
        // Case 3's rebuild: the new set starts as a listpack (members of a hash table)
        // or an intset (members of an intset).
        fill(&mut t, "h", 1000, true);
        t.cmd(&["SPOP", "h", "950"]);
        assert_eq!(enc(&mut t, "h"), "listpack");
        fill(&mut t, "h2", 1000, false);
        t.cmd(&["SPOP", "h2", "900"]);
        assert_eq!(enc(&mut t, "h2"), "listpack");
        t.cmd(&["SPOP", "h2", "99"]);
        assert_eq!(enc(&mut t, "h2"), "listpack");
        fill(&mut t, "h3", 1000, false);
        t.cmd(&["SPOP", "h3", "800"]);
        assert_eq!(
            enc(&mut t, "h3"),
            "hashtable",
            "200 kept outgrow the listpack"
        );
        fill(&mut t, "i", 100, true);
        t.cmd(&["SPOP", "i", "90"]);
        assert_eq!(enc(&mut t, "i"), "intset");
        fill(&mut t, "l", 100, false);
        t.cmd(&["SPOP", "l", "90"]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        t.cmd(&["SET", "str", "x"]);
        for (args, err) in [
            (
                vec!["SPOP", "l", "-1"],
                "ERR value is out of range, must be positive",
            ),
            (
                vec!["SPOP", "l", "x"],
                "ERR value is out of range, must be positive",
            ),
            (
                vec!["SPOP", "str", "-1"],
                "ERR value is out of range, must be positive",
            ),
            (vec!["SPOP", "l", "1", "2"], "ERR syntax error"),
        ] {
            assert_eq!(t.cmd(&args), Frame::err(err), "{args:?}");
        }
    }

    #[test]
    fn spop_reaches_every_member() {
        let mut t = TestServer::new();
        for (size, ints) in [(10, true), (10, false), (600, true), (600, false)] {
            let mut seen = BTreeSet::new();
            for _ in 0..60 {
                let all = fill(&mut t, "s", size, ints);
                let take = if size == 10 { 2 } else { 30 };
                seen.extend(items(t.cmd(&["SPOP", "s", &take.to_string()])));
                seen.insert(t.cmd(&["SPOP", "s"]).as_str());
                t.cmd(&["DEL", "s"]);
                assert!(seen.is_subset(&all));
            }
            let expect = if size == 10 { 10 } else { 600 };
            assert!(
                seen.len() * 10 >= expect * 9,
                "{size}: reached {} of {expect}",
                seen.len()
            );
            if size == 10 {
                assert_eq!(seen.len(), 10);
            }
        }
    }

    #[test]
    fn srandmember_every_case_in_every_encoding() {
        let mut t = TestServer::new();
        for (size, ints, encoding) in [
            (40, true, "intset"),
            (40, false, "listpack"),
            (900, true, "hashtable"),
            (900, false, "hashtable"),
        ] {
            let key = format!("{encoding}{ints}");
            let all = fill(&mut t, &key, size, ints);
            assert_eq!(enc(&mut t, &key), encoding);
            // Case 1: negative counts repeat members; every member is reachable.
            let got = items(t.cmd(&["SRANDMEMBER", &key, &format!("-{}", size * 20)]));
            assert_eq!(got.len(), size * 20);
            let distinct: BTreeSet<String> = got.into_iter().collect();
            assert!(distinct.is_subset(&all));
            assert_eq!(distinct.len(), size, "{encoding}: every member drawn");
            assert_eq!(items(t.cmd(&["SRANDMEMBER", &key, "-1"])).len(), 1);
            // Case 2: at least the whole set returns the whole set.
            for count in [size, size + 1, 1 << 40] {
                let got: BTreeSet<String> =
                    items(t.cmd(&["SRANDMEMBER", &key, &count.to_string()]))
                        .into_iter()
                        .collect();
                assert_eq!(got, all);
            }
            // Cases 2.5/3/4: distinct picks, exactly `count`, all reachable.
            for count in [1usize, 2, size / 4, size / 3, size / 3 + 1, size - 1] {
                let mut seen = BTreeSet::new();
                let mut rounds = 0;
                while rounds < 40 || (count * rounds < size * 40 && seen.len() < size) {
                    rounds += 1;
                    let got = items(t.cmd(&["SRANDMEMBER", &key, &count.to_string()]));
                    assert_eq!(got.len(), count, "{encoding} count {count}");
                    let distinct: BTreeSet<String> = got.into_iter().collect();
                    assert_eq!(distinct.len(), count, "{encoding} count {count}: distinct");
                    assert!(distinct.is_subset(&all));
                    seen.extend(distinct);
                }
                if count * 40 >= size * 2 {
                    assert_eq!(seen.len(), size, "{encoding} count {count}: every member");
                }
            }
            let single = t.cmd(&["SRANDMEMBER", &key]).as_str();
            assert!(all.contains(&single));
            assert_eq!(
                t.cmd(&["SCARD", &key]),
                Frame::Int(size as i64),
                "nothing removed"
            );
        }
        assert_eq!(
            t.cmd(&["SRANDMEMBER", "intsettrue", "0"]),
            Frame::Array(vec![])
        );
        assert_eq!(t.cmd(&["SRANDMEMBER", "nope", "-5"]), Frame::Array(vec![]));
        for (args, err) in [
            (vec!["SRANDMEMBER", "intsettrue", "x"], "ERR value is not an integer or out of range"),
            (vec!["SRANDMEMBER", "intsettrue", "-9223372036854775808"],
             "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            (vec!["SRANDMEMBER", "intsettrue", "1", "2"], "ERR syntax error"),
        ] {
            assert_eq!(t.cmd(&args), Frame::err(err), "{args:?}");
        }
    }

    #[test]
    fn same_seed_same_picks() {
        let run = || {
            let mut t = TestServer::new();
            fill(&mut t, "s", 300, false);
            fill(&mut t, "i", 300, true);
            (
                items(t.cmd(&["SRANDMEMBER", "s", "5"])),
                items(t.cmd(&["SPOP", "i", "7"])),
                t.cmd(&["SPOP", "s"]).as_str(),
            )
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn smove_cases() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "a", "1", "2"]);
        t.cmd(&["SADD", "b", "x"]);
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(
            t.cmd(&["SMOVE", "nope", "str", "1"]),
            Frame::Int(0),
            "a missing source wins"
        );
        assert_eq!(t.cmd(&["SMOVE", "a", "str", "1"]), Frame::err(WRONG));
        assert_eq!(t.cmd(&["SMOVE", "str", "a", "1"]), Frame::err(WRONG));
        assert_eq!(t.cmd(&["SMOVE", "a", "a", "1"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SMOVE", "a", "a", "9"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SMOVE", "a", "b", "9"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SMOVE", "a", "b", "1"]), Frame::Int(1));
        assert_eq!(sorted(t.cmd(&["SMEMBERS", "b"])), strs(&["1", "x"]));
        t.cmd(&["SADD", "b", "2"]);
        assert_eq!(
            t.cmd(&["SMOVE", "a", "b", "2"]),
            Frame::Int(1),
            "already in the destination"
        );
        assert_eq!(
            t.cmd(&["EXISTS", "a"]),
            Frame::Int(0),
            "emptied source deleted"
        );
        assert_eq!(t.cmd(&["SMOVE", "b", "c", "x"]), Frame::Int(1));
        assert_eq!(items(t.cmd(&["SMEMBERS", "c"])), strs(&["x"]));
        assert_eq!(t.cmd(&["SCARD", "b"]), Frame::Int(2));
    }

    #[test]
    fn sscan_every_encoding() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["SSCAN", "nope", "0"]),
            Frame::Array(vec![Frame::bulk("0"), Frame::Array(vec![])])
        );
        t.cmd(&["SADD", "i", "3", "1", "2", "10"]);
        assert_eq!(
            t.cmd(&["SSCAN", "i", "0", "MATCH", "1*", "COUNT", "1"]),
            Frame::Array(vec![Frame::bulk("0"), Frame::array_of_bulks(&["1", "10"])])
        );
        t.cmd(&["SADD", "l", "a1", "b1", "a2"]);
        assert_eq!(
            t.cmd(&["SSCAN", "l", "77", "MATCH", "a*"]),
            Frame::Array(vec![Frame::bulk("0"), Frame::array_of_bulks(&["a1", "a2"])])
        );
        assert_eq!(
            t.cmd(&["SSCAN", "l", "x"]),
            Frame::err("ERR invalid cursor")
        );
        assert_eq!(
            t.cmd(&["SSCAN", "l", "0", "COUNT", "0"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SSCAN", "l", "0", "TYPE", "set"]),
            Frame::err("ERR syntax error")
        );
        let all = fill(&mut t, "h", 1000, false);
        let mut seen = BTreeSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let Frame::Array(parts) = t.cmd(&["SSCAN", "h", &cursor, "COUNT", "20"]) else {
                panic!()
            };
            cursor = parts[0].as_str();
            seen.extend(items(parts[1].clone()));
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen, all);
        assert!(calls > 10, "the hash table is walked in steps");
        let Frame::Array(parts) = t.cmd(&["SSCAN", "h", "0", "MATCH", "m99*", "COUNT", "10000"])
        else {
            panic!()
        };
        assert_eq!(parts[0], Frame::bulk("0"));
        assert_eq!(
            sorted(parts[1].clone()),
            strs(&[
                "m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998",
                "m999"
            ])
        );
    }

    #[test]
    fn generic_commands_cover_sets() {
        let mut t = TestServer::new();
        t.cmd(&["SADD", "i", "1", "2", "3"]);
        t.cmd(&["SADD", "l", "a", "b"]);
        fill(&mut t, "h", 600, false);
        for key in ["i", "l", "h"] {
            assert_eq!(t.cmd(&["TYPE", key]), Frame::Simple("set".into()));
            let copy = format!("{key}-copy");
            assert_eq!(t.cmd(&["COPY", key, &copy]), Frame::Int(1));
            assert_eq!(enc(&mut t, &copy), enc(&mut t, key));
            assert_eq!(
                sorted(t.cmd(&["SMEMBERS", &copy])),
                sorted(t.cmd(&["SMEMBERS", key]))
            );
        }
        t.cmd(&["SADD", "i", "4"]);
        assert_eq!(
            t.cmd(&["SCARD", "i-copy"]),
            Frame::Int(3),
            "the copy is independent"
        );
        assert_eq!(t.cmd(&["RENAME", "l-copy", "l2"]), Frame::ok());
        assert_eq!(t.cmd(&["SISMEMBER", "l2", "a"]), Frame::Int(1));
        assert_eq!(t.cmd(&["MOVE", "l2", "1"]), Frame::Int(1));
        t.cmd(&["SELECT", "1"]);
        assert_eq!(t.cmd(&["SCARD", "l2"]), Frame::Int(2));
        t.cmd(&["SELECT", "0"]);
        t.cmd(&["SET", "str", "x"]);
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "set", "COUNT", "100"]) else {
            panic!()
        };
        assert_eq!(
            sorted(parts[1].clone()),
            strs(&["h", "h-copy", "i", "i-copy", "l"])
        );
        assert_eq!(
            t.cmd(&["OBJECT", "ENCODING", "h"]),
            Frame::bulk("hashtable")
        );
    }

    #[test]
    fn digest_matches_redis_server() {
        let mut t = TestServer::with_config(crate::Config {
            enable_debug_command: crate::config::Protected::Local,
            ..Default::default()
        });
        t.cmd(&["SADD", "s", "1", "2", "3"]);
        t.cmd(&["SADD", "m", "a", "b", "10", "-5", "hello world"]);
        sadd(&mut t, "big", (1..=600).map(|i| i.to_string()));
        // Values from redis-server 7.0.15 given the same commands.
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST-VALUE", "s", "m", "big"]),
            Frame::Array(vec![
                Frame::Simple("2a462a3f51a1db89738ebbeef0c47ce1bbc85246".into()),
                Frame::Simple("32ed7efd1e97c46ed634dc7de9d1b5087ae2176c".into()),
                Frame::Simple("a72a8fb1464f3f3b86a845002e1cde89abfad61e".into()),
            ])
        );
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST"]),
            Frame::Simple("17114f3b5b4ad1f8f13a1ea67dce20345028e8a2".into())
        );
        // The digest does not depend on the encoding.
        t.cmd(&["SADD", "m2", "-5", "10"]);
        t.cmd(&["SADD", "m2", "hello world", "b", "a"]);
        let d = t.cmd(&["DEBUG", "DIGEST-VALUE", "m", "m2"]);
        let Frame::Array(v) = d else { panic!() };
        assert_eq!(v[0], v[1]);
    }

    #[test]
    fn a_million_members() {
        let mut t = TestServer::new();
        let all = fill(&mut t, "big", 1_000_000, false);
        assert_eq!(all.len(), 1_000_000);
        assert_eq!(t.cmd(&["SCARD", "big"]), Frame::Int(1_000_000));
        assert_eq!(enc(&mut t, "big"), "hashtable");
        assert_eq!(t.cmd(&["SISMEMBER", "big", "m0"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SISMEMBER", "big", "m999999"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SISMEMBER", "big", "m1000000"]), Frame::Int(0));
        assert_eq!(t.cmd(&["SREM", "big", "m0", "m999999"]), Frame::Int(2));
        assert_eq!(
            t.cmd(&["SADD", "big", "m0", "m999999", "m1000000"]),
            Frame::Int(3)
        );
        let got = items(t.cmd(&["SRANDMEMBER", "big", "100"]));
        assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), 100);
        let popped = items(t.cmd(&["SPOP", "big", "1000"]));
        assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 1000);
        assert_eq!(t.cmd(&["SCARD", "big"]), Frame::Int(1_000_001 - 1000));
        t.cmd(&["SADD", "few", "m1", "m500000", "m999999", "nope"]);
        assert!(matches!(t.cmd(&["SINTERCARD", "2", "big", "few"]), Frame::Int(n) if n <= 3));
        assert_eq!(
            t.cmd(&["SINTERCARD", "2", "big", "few", "LIMIT", "1"]),
            Frame::Int(1)
        );
        assert!(matches!(t.cmd(&["SDIFFSTORE", "d", "few", "big"]), Frame::Int(n) if n >= 1));
        // Intsets grow to a million too when the config allows.
        t.cmd(&["CONFIG", "SET", "set-max-intset-entries", "2000000"]);
        sadd(&mut t, "ints", (0..1_000_000).map(|i| i.to_string()));
        assert_eq!(enc(&mut t, "ints"), "intset");
        assert_eq!(t.cmd(&["SISMEMBER", "ints", "999999"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SISMEMBER", "ints", "0"]), Frame::Int(1));
        assert_eq!(t.cmd(&["SADD", "ints", "-1", "1000000"]), Frame::Int(2));
        // Case 3 on an intset: the members that stay are drawn into a new intset.
        let popped = items(t.cmd(&["SPOP", "ints", "999000"]));
        assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 999_000);
        assert_eq!(t.cmd(&["SCARD", "ints"]), Frame::Int(1002));
        assert_eq!(enc(&mut t, "ints"), "intset");
    }
}
