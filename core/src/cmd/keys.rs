//! Keyspace commands (Redis's db.c, expire.c and the OBJECT command from object.c):
//! deleting, inspecting, renaming, copying and moving keys, deadlines, KEYS and SCAN,
//! RANDOMKEY, and flushing or swapping whole databases.

use super::{arg_i64, ERR_DB_INDEX, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::glob::glob_match;
use crate::server::notify::NOTIFY_GENERIC;
use crate::server::propagate::TARGET_ALL;
use crate::server::Server;
use crate::util::parse_i64;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", del),
    ("exists", exists),
    ("type", type_),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("rename", rename),
    ("renamenx", renamenx),
    ("copy", copy),
    ("move", move_),
    ("touch", touch),
    ("object|encoding", object_encoding),
    ("object|refcount", object_refcount),
    ("object|idletime", object_idletime),
    ("object|freq", object_freq),
    ("object|help", object_help),
    ("dbsize", dbsize),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("swapdb", swapdb),
];

const ERR_NO_SUCH_KEY: &str = "no such key";
const ERR_SAME_OBJECT: &str = "source and destination objects are the same";

/// Redis's getIntFromObjectOrReply: an i32, with its range message or `msg`.
fn arg_i32(ctx: &mut Ctx<'_>, i: usize, msg: Option<&str>) -> Option<i32> {
    let Some(v) = parse_i64(ctx.arg(i)) else {
        ctx.reply.error(msg.unwrap_or(ERR_NOT_INTEGER));
        return None;
    };
    match i32::try_from(v) {
        Ok(v) => Some(v),
        Err(_) => {
            match msg {
                Some(m) => ctx.reply.error(m),
                None => ctx.reply.error(&format!(
                    "value is out of range, value must between {} and {}",
                    i32::MIN,
                    i32::MAX
                )),
            }
            None
        }
    }
}

/// A database index argument that must name an existing database.
fn db_index(srv: &Server, ctx: &mut Ctx<'_>, i: usize) -> Option<usize> {
    let id = arg_i32(ctx, i, None)?;
    if id < 0 || id as usize >= srv.dbs.len() {
        ctx.reply.error(ERR_DB_INDEX);
        return None;
    }
    Some(id as usize)
}

fn del(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut deleted = 0;
    for i in 1..ctx.argc() {
        let key = ctx.arg(i);
        srv.expire_if_needed(ctx.db, key);
        if srv.delete_key(ctx.db, key) {
            srv.signal_modified_key(ctx.db, key);
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
            srv.mark_dirty(1);
            deleted += 1;
        }
    }
    ctx.reply.int(deleted);
}

fn exists(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut count = 0;
    for i in 1..ctx.argc() {
        if srv.lookup_read_no_touch(ctx.db, ctx.arg(i)).is_some() {
            count += 1;
        }
    }
    ctx.reply.int(count);
}

fn type_(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let name = srv
        .lookup_read_no_touch(ctx.db, ctx.arg(1))
        .map_or("none", |o| o.value.type_name());
    ctx.reply.simple(name);
}

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// Redis's expireGenericCommand. `base_ms` is added to the argument (now, or 0 for
/// the *AT forms).
fn expire_generic(srv: &mut Server, ctx: &mut Ctx<'_>, base_ms: i64, seconds: bool) {
    let mut flags = 0u8;
    for j in 3..ctx.argc() {
        let opt = ctx.arg(j);
        flags |= match opt.to_ascii_lowercase().as_slice() {
            b"nx" => EXPIRE_NX,
            b"xx" => EXPIRE_XX,
            b"gt" => EXPIRE_GT,
            b"lt" => EXPIRE_LT,
            _ => {
                ctx.reply.error(&format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                ));
                return;
            }
        };
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        ctx.reply
            .error("NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        ctx.reply
            .error("GT and LT options at the same time are not compatible");
        return;
    }
    let Some(mut when) = arg_i64(ctx, 2) else {
        return;
    };
    let invalid = |ctx: &mut Ctx<'_>| {
        ctx.reply.error(&format!(
            "invalid expire time in '{}' command",
            ctx.spec.fullname
        ))
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            invalid(ctx);
            return;
        }
        when *= 1000;
    }
    if when > i64::MAX - base_ms {
        invalid(ctx);
        return;
    }
    when += base_ms;
    let key = ctx.arg(1);
    if srv.lookup_write(ctx.db, key).is_none() {
        ctx.reply.int(0);
        return;
    }
    if flags != 0 {
        let current = srv.dbs[ctx.db].get_expire(key);
        let refuse = (flags & EXPIRE_NX != 0 && current.is_some())
            || (flags & EXPIRE_XX != 0 && current.is_none())
            || (flags & EXPIRE_GT != 0 && current.is_none_or(|c| when <= c))
            || (flags & EXPIRE_LT != 0 && current.is_some_and(|c| when >= c));
        if refuse {
            ctx.reply.int(0);
            return;
        }
    }
    if srv.already_expired(when) {
        let deleted = srv.delete_key(ctx.db, key);
        debug_assert!(deleted);
        srv.mark_dirty(1);
        // A deadline already past propagates as the deletion it was.
        let del = super::strings::del_or_unlink(srv.config.lazyfree_lazy_expire);
        ctx.rewrite_argv_with(|_| vec![del.to_vec(), key.to_vec()]);
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
    } else {
        srv.set_expire(ctx.db, key, when);
        // Propagated as PEXPIREAT of the absolute deadline, options kept.
        if ctx.spec.fullname != "pexpireat" {
            ctx.rewrite_arg(0, b"PEXPIREAT");
        }
        if base_ms != 0 || seconds {
            ctx.rewrite_arg(2, when.to_string().as_bytes());
        }
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "expire", key, ctx.db);
        srv.mark_dirty(1);
    }
    ctx.reply.int(1);
}

fn expire(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let now = srv.wall_ms();
    expire_generic(srv, ctx, now, true);
}

fn pexpire(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let now = srv.wall_ms();
    expire_generic(srv, ctx, now, false);
}

fn expireat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    expire_generic(srv, ctx, 0, true);
}

fn pexpireat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    expire_generic(srv, ctx, 0, false);
}

/// Redis's ttlGenericCommand.
fn ttl_generic(srv: &mut Server, ctx: &mut Ctx<'_>, in_ms: bool, absolute: bool) {
    let key = ctx.arg(1);
    if srv.lookup_read_no_touch(ctx.db, key).is_none() {
        ctx.reply.int(-2);
        return;
    }
    let Some(when) = srv.dbs[ctx.db].get_expire(key) else {
        ctx.reply.int(-1);
        return;
    };
    let ttl = if absolute { when } else { when - srv.wall_ms() }.max(0);
    ctx.reply.int(if in_ms { ttl } else { (ttl + 500) / 1000 });
}

fn ttl(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ttl_generic(srv, ctx, false, false);
}

fn pttl(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ttl_generic(srv, ctx, true, false);
}

fn expiretime(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ttl_generic(srv, ctx, false, true);
}

fn pexpiretime(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ttl_generic(srv, ctx, true, true);
}

fn persist(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    if srv.lookup_write(ctx.db, key).is_some() && srv.dbs[ctx.db].remove_expire(key) {
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "persist", key, ctx.db);
        srv.mark_dirty(1);
        ctx.reply.int(1);
    } else {
        ctx.reply.int(0);
    }
}

fn keys(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let pattern = ctx.arg(1);
    // Redis special-cases "*" so that it also matches the empty key.
    let all = pattern == b"*";
    let now = srv.wall_ms();
    let db = &srv.dbs[ctx.db];
    let matched: Vec<&[u8]> = db
        .keys
        .iter()
        .map(|(k, _)| k)
        .filter(|k| (all || glob_match(pattern, k, false)) && !db.is_expired(k, now))
        .collect();
    ctx.reply.array(matched.len());
    for k in matched {
        ctx.reply.bulk(k);
    }
}

/// SCAN cursor, as Redis's parseScanCursorOrReply: C's `strtoul` in base 10, so an
/// optional sign (a minus wraps around), no leading space, nothing after the digits,
/// no overflow; an empty string reads as 0.
pub(crate) fn parse_cursor(raw: &[u8]) -> Option<u64> {
    if raw.first().is_some_and(|c| c.is_ascii_whitespace()) {
        return None;
    }
    let (negative, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() {
        // strtoul consumed nothing: Redis only checks that the end pointer is at NUL.
        return if raw.is_empty() { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

fn scan(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(mut cursor) = parse_cursor(ctx.arg(1)) else {
        ctx.reply.error("invalid cursor");
        return;
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < ctx.argc() {
        let remaining = ctx.argc() - i;
        let opt = ctx.arg(i).to_ascii_lowercase();
        if opt == b"count" && remaining >= 2 {
            let Some(n) = arg_i64(ctx, i + 1) else { return };
            if n < 1 {
                ctx.reply.error(ERR_SYNTAX);
                return;
            }
            count = n;
        } else if opt == b"match" && remaining >= 2 {
            let p = ctx.arg(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else if opt == b"type" && remaining >= 2 {
            type_name = Some(ctx.arg(i + 1));
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        i += 2;
    }
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut iterations_left = count.saturating_mul(10);
    let dict = &srv.dbs[ctx.db].keys;
    loop {
        cursor = dict.scan(cursor, |k, _| found.push(k.to_vec()));
        if cursor == 0 || iterations_left == 0 || found.len() as i64 >= count {
            break;
        }
        iterations_left -= 1;
    }
    let mut kept = Vec::with_capacity(found.len());
    for key in found {
        if pattern.is_some_and(|p| !glob_match(p, &key, false)) {
            continue;
        }
        if let Some(want) = type_name {
            // Redis 7.0 reads the type with a full read lookup: it counts a hit or a
            // miss and expires the key (an expired key then reads as "none").
            let actual = srv
                .lookup_read_no_touch(ctx.db, &key)
                .map_or("none", |o| o.value.type_name());
            if !want.eq_ignore_ascii_case(actual.as_bytes()) {
                continue;
            }
        }
        if srv.expire_if_needed(ctx.db, &key) {
            continue;
        }
        kept.push(key);
    }
    ctx.reply.array(2);
    ctx.reply.bulk(cursor.to_string().as_bytes());
    ctx.reply.array(kept.len());
    for k in kept {
        ctx.reply.bulk(&k);
    }
}

fn randomkey(srv: &mut Server, ctx: &mut Ctx<'_>) {
    // On a replica expired keys stay until the master deletes them: with every
    // key volatile they may all be expired, so after 100 draws one is returned
    // anyway (dbRandomKey).
    let mut tries = 100;
    loop {
        let db = &srv.dbs[ctx.db];
        let all_volatile = db.len() == db.expires_len();
        let Some((key, _)) = db.keys.random_entry(&mut srv.rng) else {
            ctx.reply.null();
            return;
        };
        let key = key.to_vec();
        if srv.is_replica() && all_volatile && srv.dbs[ctx.db].get_expire(&key).is_some() {
            tries -= 1;
            if tries == 0 {
                ctx.reply.bulk(&key);
                return;
            }
        }
        if srv.expire_if_needed(ctx.db, &key) {
            continue; // that one had expired: draw again
        }
        ctx.reply.bulk(&key);
        return;
    }
}

fn rename_generic(srv: &mut Server, ctx: &mut Ctx<'_>, nx: bool) {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if srv.lookup_write(ctx.db, src).is_none() {
        ctx.reply.error(ERR_NO_SUCH_KEY);
        return;
    }
    if src == dst {
        if nx {
            ctx.reply.int(0);
        } else {
            ctx.reply.ok();
        }
        return;
    }
    if srv.lookup_write(ctx.db, dst).is_some() {
        if nx {
            ctx.reply.int(0);
            return;
        }
        srv.delete_key(ctx.db, dst);
    }
    // Redis adds the destination before deleting the source; the key moves as one
    // object either way, so only the order of the events below is observable.
    let (obj, expire) = srv.dbs[ctx.db].take(src).expect("looked up above");
    srv.db_add_with_lru(ctx.db, dst, obj.value, obj.lru);
    if let Some(when) = expire {
        srv.set_expire(ctx.db, dst, when);
    }
    srv.signal_modified_key(ctx.db, src);
    srv.signal_modified_key(ctx.db, dst);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "rename_from", src, ctx.db);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "rename_to", dst, ctx.db);
    srv.mark_dirty(1);
    if nx {
        ctx.reply.int(1);
    } else {
        ctx.reply.ok();
    }
}

fn rename(srv: &mut Server, ctx: &mut Ctx<'_>) {
    rename_generic(srv, ctx, false);
}

fn renamenx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    rename_generic(srv, ctx, true);
}

fn move_(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    let Some(dst) = db_index(srv, ctx, 2) else {
        return;
    };
    if dst == ctx.db {
        ctx.reply.error(ERR_SAME_OBJECT);
        return;
    }
    if srv.lookup_write(ctx.db, key).is_none() {
        ctx.reply.int(0);
        return;
    }
    if srv.lookup_write(dst, key).is_some() {
        ctx.reply.int(0);
        return;
    }
    let (obj, expire) = srv.dbs[ctx.db].take(key).expect("looked up above");
    srv.db_add_with_lru(dst, key, obj.value, obj.lru);
    if let Some(when) = expire {
        srv.set_expire(dst, key, when);
    }
    srv.signal_modified_key(ctx.db, key);
    srv.signal_modified_key(dst, key);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "move_from", key, ctx.db);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "move_to", key, dst);
    srv.mark_dirty(1);
    ctx.reply.int(1);
}

fn copy(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut dst_db = ctx.db;
    let mut replace = false;
    let mut j = 3;
    while j < ctx.argc() {
        let opt = ctx.arg(j).to_ascii_lowercase();
        if opt == b"replace" {
            replace = true;
        } else if opt == b"db" && j + 1 < ctx.argc() {
            let Some(d) = db_index(srv, ctx, j + 1) else {
                return;
            };
            dst_db = d;
            j += 1;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if dst_db == ctx.db && src == dst {
        ctx.reply.error(ERR_SAME_OBJECT);
        return;
    }
    let Some(value) = srv.lookup_read(ctx.db, src).map(|o| o.value.clone()) else {
        ctx.reply.int(0);
        return;
    };
    let expire = srv.dbs[ctx.db].get_expire(src);
    if srv.lookup_write(dst_db, dst).is_some() {
        if !replace {
            ctx.reply.int(0);
            return;
        }
        srv.delete_key(dst_db, dst);
    }
    srv.db_add(dst_db, dst, value);
    if let Some(when) = expire {
        srv.set_expire(dst_db, dst, when);
    }
    srv.signal_modified_key(dst_db, dst);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "copy_to", dst, dst_db);
    srv.mark_dirty(1);
    ctx.reply.int(1);
}

fn touch(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut touched = 0;
    for i in 1..ctx.argc() {
        if srv.lookup_read(ctx.db, ctx.arg(i)).is_some() {
            touched += 1;
        }
    }
    ctx.reply.int(touched);
}

/// OBJECT's lookup: no LRU touch; a missing key replies null.
fn object_lookup(srv: &mut Server, ctx: &mut Ctx<'_>) -> Option<(&'static str, i64, u32)> {
    match srv.lookup_read_no_notify(ctx.db, ctx.arg(2)) {
        Some(o) => Some((o.value.encoding_name(), o.value.refcount(), o.lru)),
        None => {
            ctx.reply.null();
            None
        }
    }
}

fn object_encoding(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Some((encoding, _, _)) = object_lookup(srv, ctx) {
        ctx.reply.bulk_str(encoding);
    }
}

fn object_refcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Some((_, refcount, _)) = object_lookup(srv, ctx) {
        ctx.reply.int(refcount);
    }
}

fn object_idletime(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Some((_, _, lru)) = object_lookup(srv, ctx) {
        let idle = srv.idle_secs(lru);
        ctx.reply.int(idle as i64);
    }
}

fn object_freq(srv: &mut Server, ctx: &mut Ctx<'_>) {
    // Access frequency is only tracked under an LFU maxmemory-policy, which cinnabar
    // does not offer yet: Redis gives this error under every other policy.
    if object_lookup(srv, ctx).is_some() {
        ctx.reply.error("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
}

fn object_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.help(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

fn dbsize(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let n = srv.dbs[ctx.db].len();
    ctx.reply.int(n as i64);
}

/// FLUSHDB/FLUSHALL's optional ASYNC|SYNC. Freeing is immediate either way: the core
/// has no background thread, and a flushed database is unreachable at once in both.
fn flush_mode_ok(ctx: &mut Ctx<'_>) -> bool {
    match ctx.argc() {
        1 => true,
        2 if ctx.arg(1).eq_ignore_ascii_case(b"sync")
            || ctx.arg(1).eq_ignore_ascii_case(b"async") =>
        {
            true
        }
        _ => {
            ctx.reply.error(ERR_SYNTAX);
            false
        }
    }
}

fn flushdb(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !flush_mode_ok(ctx) {
        return;
    }
    srv.signal_flushed_db(Some(ctx.db));
    let removed = srv.dbs[ctx.db].clear();
    srv.mark_dirty(removed as u64);
    // Propagated even when the database was already empty.
    ctx.force_propagation(TARGET_ALL);
    ctx.reply.ok();
}

fn flushall(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !flush_mode_ok(ctx) {
        return;
    }
    srv.signal_flushed_db(None);
    let mut removed = 0;
    for db in &mut srv.dbs {
        removed += db.clear();
    }
    srv.mark_dirty(removed as u64);
    srv.after_flushall();
    // Redis counts the FLUSHALL itself as a change, so it is propagated.
    srv.mark_dirty(1);
    // Propagated even when every database was already empty.
    ctx.force_propagation(TARGET_ALL);
    ctx.reply.ok();
}

fn swapdb(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(a) = arg_i32(ctx, 1, Some("invalid first DB index")) else {
        return;
    };
    let Some(b) = arg_i32(ctx, 2, Some("invalid second DB index")) else {
        return;
    };
    let n = srv.dbs.len() as i64;
    if a < 0 || a as i64 >= n || b < 0 || b as i64 >= n {
        ctx.reply.error(ERR_DB_INDEX);
        return;
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        // Watchers stay on their database number: a key present on either side
        // before the swap changes under them.
        srv.touch_all_watched_keys_in_db(a, Some(b));
        srv.touch_all_watched_keys_in_db(b, Some(a));
        srv.dbs.swap(a, b);
        srv.dbs[a].id = a;
        srv.dbs[b].id = b;
        srv.signal_swapped_dbs(a, b);
    }
    srv.mark_dirty(1);
    ctx.reply.ok();
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    #[test]
    fn del_exists_type_touch() {
        let mut t = TestServer::new();
        t.cmd(&["MSET", "a", "1", "b", "2"]);
        assert_eq!(t.cmd(&["EXISTS", "a", "a", "nope"]), int(2));
        assert_eq!(t.cmd(&["TYPE", "a"]), Frame::Simple("string".into()));
        assert_eq!(t.cmd(&["TYPE", "nope"]), Frame::Simple("none".into()));
        assert_eq!(t.cmd(&["TOUCH", "a", "b", "c"]), int(2));
        assert_eq!(t.cmd(&["DEL", "a", "a", "nope"]), int(1));
        assert_eq!(t.cmd(&["UNLINK", "b"]), int(1));
        assert_eq!(t.cmd(&["DBSIZE"]), int(0));
    }

    #[test]
    fn expire_family() {
        let mut t = TestServer::new();
        let now = t.server.wall_ms();
        t.cmd(&["SET", "k", "v"]);
        assert_eq!(t.cmd(&["TTL", "k"]), int(-1));
        assert_eq!(t.cmd(&["TTL", "nope"]), int(-2));
        assert_eq!(t.cmd(&["EXPIRE", "k", "100", "XX"]), int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "100", "NX"]), int(1));
        assert_eq!(t.cmd(&["EXPIRE", "k", "200", "NX"]), int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "50", "GT"]), int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "150", "GT"]), int(1));
        assert_eq!(t.cmd(&["EXPIRE", "k", "170", "LT"]), int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "120", "LT"]), int(1));
        assert_eq!(t.cmd(&["TTL", "k"]), int(120));
        assert_eq!(t.cmd(&["PTTL", "k"]), int(120_000));
        assert_eq!(t.cmd(&["PEXPIRE", "k", "1500"]), int(1));
        assert_eq!(t.cmd(&["TTL", "k"]), int(2)); // rounds half up, as Redis
        assert_eq!(t.cmd(&["PEXPIRETIME", "k"]), int(now + 1500));
        assert_eq!(t.cmd(&["EXPIRETIME", "k"]), int((now + 1500 + 500) / 1000));
        assert_eq!(
            t.cmd(&["EXPIREAT", "k", &(now / 1000 + 1000).to_string()]),
            int(1)
        );
        assert_eq!(
            t.cmd(&["PEXPIREAT", "k", &(now + 9000).to_string()]),
            int(1)
        );
        assert_eq!(t.cmd(&["PERSIST", "k"]), int(1));
        assert_eq!(t.cmd(&["PERSIST", "k"]), int(0));
        assert_eq!(t.cmd(&["EXPIRETIME", "k"]), int(-1));
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "10", "GT"]),
            int(0),
            "GT needs an existing TTL"
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "10", "LT"]),
            int(1),
            "LT treats no TTL as infinite"
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "10", "FOO"]),
            Frame::err("ERR Unsupported option FOO")
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "10", "NX", "XX"]),
            Frame::err("ERR NX and XX, GT or LT options at the same time are not compatible")
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "10", "GT", "LT"]),
            Frame::err("ERR GT and LT options at the same time are not compatible")
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "9223372036854775807"]),
            Frame::err("ERR invalid expire time in 'expire' command")
        );
        assert_eq!(
            t.cmd(&["PEXPIRE", "k", "9223372036854775807"]),
            Frame::err("ERR invalid expire time in 'pexpire' command")
        );
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.cmd(&["EXPIRE", "nope", "10"]), int(0));
        // A deadline in the past deletes the key at once.
        assert_eq!(t.cmd(&["EXPIRE", "k", "-1"]), int(1));
        assert_eq!(t.cmd(&["EXISTS", "k"]), int(0));
    }

    #[test]
    fn a_past_deadline_deletes_on_a_master_and_is_kept_on_a_replica() {
        // checkAlreadyExpired: a master deletes the key (and propagates DEL)...
        let mut t = TestServer::new();
        let past = (t.server.wall_ms() - 1000).to_string();
        t.cmd(&["SET", "k", "v"]);
        assert_eq!(t.cmd(&["PEXPIREAT", "k", &past]), int(1));
        assert_eq!(t.cmd(&["DBSIZE"]), int(0));

        // ... a replica (writable here, so that its own client may try) keeps it
        // with the past deadline for its master's DEL, as with GETEX PXAT and
        // RESTORE ABSTTL.
        let mut t = TestServer::with_config(crate::Config {
            replica_read_only: false,
            ..Default::default()
        });
        assert_eq!(t.cmd(&["REPLICAOF", "master.test", "6379"]), Frame::ok());
        let past_ms = t.server.wall_ms() - 1000;
        let past = past_ms.to_string();
        t.cmd(&["SET", "a", "v"]);
        t.cmd(&["SET", "b", "v"]);
        t.cmd(&["SET", "c", "v"]);
        let payload = match t.cmd(&["DUMP", "c"]) {
            Frame::Bulk(b) => b,
            other => panic!("DUMP: {other:?}"),
        };
        assert_eq!(t.cmd(&["PEXPIREAT", "a", &past]), int(1));
        assert_eq!(t.cmd(&["GETEX", "b", "PXAT", &past]), Frame::bulk("v"));
        let conn = t.default_conn();
        let restored = t.cmd_bytes_on(
            conn,
            &[
                b"RESTORE",
                b"d",
                past.as_bytes(),
                payload.as_slice(),
                b"ABSTTL",
            ],
        );
        assert_eq!(restored, Frame::ok());
        assert_eq!(t.cmd(&["DBSIZE"]), int(4));
        for key in ["a", "b", "d"] {
            assert_eq!(t.server.dbs[0].get_expire(key.as_bytes()), Some(past_ms));
            assert_eq!(t.cmd(&["EXISTS", key]), int(0), "hidden from reads");
        }
    }

    #[test]
    fn keys_and_glob() {
        let mut t = TestServer::new();
        t.cmd(&["MSET", "one", "1", "two", "2", "three", "3", "", "empty"]);
        let mut all = match t.cmd(&["KEYS", "*"]) {
            Frame::Array(v) => v.into_iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        all.sort();
        assert_eq!(all, vec!["", "one", "three", "two"]);
        assert_eq!(t.cmd(&["KEYS", "t??"]), Frame::array_of_bulks(&["two"]));
        t.cmd(&["PEXPIRE", "one", "10"]);
        t.now.wall.0 += 1_000_000;
        assert_eq!(t.cmd(&["KEYS", "o*"]), Frame::Array(vec![]));
    }

    #[test]
    fn scan_options_and_errors() {
        let mut t = TestServer::new();
        for i in 0..100 {
            t.cmd(&["SET", &format!("key:{i}"), "v"]);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = "0".to_string();
        loop {
            let Frame::Array(parts) = t.cmd(&["SCAN", &cursor, "MATCH", "key:1*", "COUNT", "7"])
            else {
                panic!()
            };
            cursor = parts[0].as_str();
            let Frame::Array(keys) = &parts[1] else {
                panic!()
            };
            for k in keys {
                seen.insert(k.as_str());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 11);
        assert_eq!(t.cmd(&["SCAN", "x"]), Frame::err("ERR invalid cursor"));
        assert_eq!(
            t.cmd(&["SCAN", "0", "COUNT", "0"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SCAN", "0", "COUNT"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SCAN", "0", "FOO", "1"]),
            Frame::err("ERR syntax error")
        );
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]) else {
            panic!()
        };
        assert_eq!(parts[1], Frame::Array(vec![]));
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "STRING", "COUNT", "1000"]) else {
            panic!()
        };
        assert_eq!(parts, vec![Frame::bulk("0"), parts[1].clone()]);
        assert!(matches!(&parts[1], Frame::Array(v) if v.len() == 100));
    }

    #[test]
    fn scan_returns_stable_keys_across_resizes() {
        let mut t = TestServer::new();
        for i in 0..500 {
            t.cmd(&["SET", &format!("stable{i}"), "v"]);
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor = "0".to_string();
        let mut round = 0;
        loop {
            let Frame::Array(parts) = t.cmd(&["SCAN", &cursor, "COUNT", "20"]) else {
                panic!()
            };
            cursor = parts[0].as_str();
            let Frame::Array(keys) = &parts[1] else {
                panic!()
            };
            for k in keys {
                seen.insert(k.as_str());
            }
            // Grow the table a lot, then shrink it, while the scan is running.
            for i in 0..200 {
                if round % 2 == 0 {
                    t.cmd(&["SET", &format!("churn{round}:{i}"), "v"]);
                } else {
                    t.cmd(&["DEL", &format!("churn{}:{i}", round - 1)]);
                }
            }
            t.advance_ms(100); // cron: shrink and rehash
            round += 1;
            if cursor == "0" {
                break;
            }
        }
        for i in 0..500 {
            assert!(seen.contains(&format!("stable{i}")), "missed stable{i}");
        }
    }

    #[test]
    fn randomkey_rename_copy_move() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["RANDOMKEY"]), Frame::Null);
        t.cmd(&["SET", "a", "1"]);
        assert_eq!(t.cmd(&["RANDOMKEY"]), Frame::bulk("a"));
        assert_eq!(
            t.cmd(&["RENAME", "nope", "x"]),
            Frame::err("ERR no such key")
        );
        assert_eq!(t.cmd(&["RENAME", "a", "a"]), Frame::ok());
        assert_eq!(t.cmd(&["RENAMENX", "a", "a"]), int(0));
        t.cmd(&["EXPIRE", "a", "100"]);
        assert_eq!(t.cmd(&["RENAME", "a", "b"]), Frame::ok());
        assert_eq!(t.cmd(&["TTL", "b"]), int(100));
        t.cmd(&["SET", "c", "3"]);
        assert_eq!(t.cmd(&["RENAMENX", "b", "c"]), int(0));
        assert_eq!(t.cmd(&["RENAMENX", "b", "d"]), int(1));
        assert_eq!(t.cmd(&["COPY", "d", "e"]), int(1));
        assert_eq!(t.cmd(&["TTL", "e"]), int(100));
        assert_eq!(t.cmd(&["COPY", "d", "e"]), int(0));
        assert_eq!(t.cmd(&["COPY", "c", "e", "REPLACE"]), int(1));
        assert_eq!(t.cmd(&["GET", "e"]), Frame::bulk("3"));
        assert_eq!(
            t.cmd(&["COPY", "c", "c"]),
            Frame::err("ERR source and destination objects are the same")
        );
        assert_eq!(t.cmd(&["COPY", "c", "c", "DB", "1"]), int(1));
        assert_eq!(
            t.cmd(&["COPY", "c", "c", "DB", "99"]),
            Frame::err("ERR DB index is out of range")
        );
        assert_eq!(
            t.cmd(&["COPY", "c", "c", "FOO"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["COPY", "nope", "x"]), int(0));
        assert_eq!(
            t.cmd(&["MOVE", "c", "0"]),
            Frame::err("ERR source and destination objects are the same")
        );
        assert_eq!(t.cmd(&["MOVE", "c", "1"]), int(0), "db 1 already has c");
        assert_eq!(t.cmd(&["MOVE", "d", "1"]), int(1));
        assert_eq!(t.cmd(&["MOVE", "d", "1"]), int(0));
        assert_eq!(
            t.cmd(&["MOVE", "c", "16"]),
            Frame::err("ERR DB index is out of range")
        );
        assert_eq!(
            t.cmd(&["MOVE", "c", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["MOVE", "c", "4294967296"]),
            Frame::err("ERR value is out of range, value must between -2147483648 and 2147483647")
        );
        assert_eq!(t.server.dbs[1].len(), 2);
        assert!(t.server.dbs[1].get_expire(b"d").is_some());
    }

    #[test]
    fn object_subcommands() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "i", "123"]);
        t.cmd(&["SET", "e", "hello"]);
        t.cmd(&["SET", "r", &"x".repeat(45)]);
        t.cmd(&["SET", "big", "123456"]);
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "i"]), Frame::bulk("int"));
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "e"]), Frame::bulk("embstr"));
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "r"]), Frame::bulk("raw"));
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "nope"]), Frame::Null);
        assert_eq!(t.cmd(&["OBJECT", "REFCOUNT", "i"]), int(2147483647));
        assert_eq!(t.cmd(&["OBJECT", "REFCOUNT", "big"]), int(1));
        t.advance_ms(5000);
        assert_eq!(t.cmd(&["OBJECT", "IDLETIME", "e"]), int(5));
        t.cmd(&["GET", "e"]);
        assert_eq!(t.cmd(&["OBJECT", "IDLETIME", "e"]), int(0));
        assert!(
            matches!(t.cmd(&["OBJECT", "FREQ", "e"]), Frame::Error(e) if e.starts_with("ERR An LFU maxmemory policy is not selected"))
        );
        assert!(matches!(t.cmd(&["OBJECT", "HELP"]), Frame::Array(v) if v.len() == 15));
        assert_eq!(
            t.cmd(&["OBJECT", "NOPE", "x"]),
            Frame::err("ERR unknown subcommand 'NOPE'. Try OBJECT HELP.")
        );
        assert_eq!(
            t.cmd(&["OBJECT", "ENCODING"]),
            Frame::err("ERR wrong number of arguments for 'object|encoding' command")
        );
    }

    #[test]
    fn flush_and_swap() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.cmd_on(c, &["SET", "a", "1"]);
        t.cmd_on(c, &["COPY", "a", "a", "DB", "3"]);
        assert_eq!(t.cmd_on(c, &["SWAPDB", "0", "3"]), Frame::ok());
        assert_eq!(t.server.dbs[3].len(), 1);
        assert_eq!(t.server.dbs[3].id, 3);
        assert_eq!(
            t.cmd_on(c, &["SWAPDB", "x", "3"]),
            Frame::err("ERR invalid first DB index")
        );
        assert_eq!(
            t.cmd_on(c, &["SWAPDB", "0", "x"]),
            Frame::err("ERR invalid second DB index")
        );
        assert_eq!(
            t.cmd_on(c, &["SWAPDB", "0", "16"]),
            Frame::err("ERR DB index is out of range")
        );
        assert_eq!(
            t.cmd_on(c, &["FLUSHDB", "FOO"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd_on(c, &["FLUSHDB", "ASYNC"]), Frame::ok());
        assert_eq!(t.server.dbs[0].len(), 0);
        assert_eq!(t.server.dbs[3].len(), 1);
        assert_eq!(t.cmd_on(c, &["FLUSHALL", "SYNC"]), Frame::ok());
        assert_eq!(t.server.dbs[3].len(), 0);
    }
}
