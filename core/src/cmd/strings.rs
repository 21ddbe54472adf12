//! String commands (Redis's t_string.c): SET and its variants, GET and its variants,
//! ranges, counters (including INCRBYFLOAT in x87 extended precision) and LCS.

use super::{arg_i64, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::longdouble::LongDouble;
use crate::object::{StrValue, Value, WRONGTYPE};
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_STRING};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("getex", getex),
    ("getdel", getdel),
    ("getset", getset),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("append", append),
    ("strlen", strlen),
    ("getrange", getrange),
    ("substr", getrange),
    ("setrange", setrange),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("lcs", lcs),
];

const FLAG_NX: u32 = 1 << 0;
const FLAG_XX: u32 = 1 << 1;
const FLAG_EX: u32 = 1 << 2;
const FLAG_PX: u32 = 1 << 3;
const FLAG_KEEPTTL: u32 = 1 << 4;
const FLAG_GET: u32 = 1 << 5;
const FLAG_EXAT: u32 = 1 << 6;
const FLAG_PXAT: u32 = 1 << 7;
const FLAG_PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = FLAG_EX | FLAG_PX | FLAG_EXAT | FLAG_PXAT;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Get,
    Set,
}

/// Options of SET / GETEX, as Redis's parseExtendedStringArgumentsOrReply.
struct Extended<'a> {
    flags: u32,
    /// The expire argument and whether it is in milliseconds.
    expire: Option<(&'a [u8], bool)>,
}

fn parse_extended<'a>(ctx: &mut Ctx<'a>, variant: Variant) -> Option<Extended<'a>> {
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = if variant == Variant::Get { 2 } else { 3 };
    let set = variant == Variant::Set;
    while j < ctx.argc() {
        let opt = ctx.arg(j).to_ascii_uppercase();
        let next = ctx.args.try_get(j + 1);
        let no_expire_yet = flags & ANY_EXPIRE == 0;
        match opt.as_slice() {
            b"NX" if set && flags & FLAG_XX == 0 => flags |= FLAG_NX,
            b"XX" if set && flags & FLAG_NX == 0 => flags |= FLAG_XX,
            b"GET" if set => flags |= FLAG_GET,
            b"KEEPTTL" if set && flags & FLAG_PERSIST == 0 && no_expire_yet => {
                flags |= FLAG_KEEPTTL
            }
            b"PERSIST" if !set && no_expire_yet && flags & FLAG_KEEPTTL == 0 => {
                flags |= FLAG_PERSIST
            }
            b"EX" | b"PX" | b"EXAT" | b"PXAT"
                if flags & (FLAG_KEEPTTL | FLAG_PERSIST) == 0 && next.is_some() && {
                    let this = match opt.as_slice() {
                        b"EX" => FLAG_EX,
                        b"PX" => FLAG_PX,
                        b"EXAT" => FLAG_EXAT,
                        _ => FLAG_PXAT,
                    };
                    flags & ANY_EXPIRE & !this == 0
                } =>
            {
                let (flag, ms) = match opt.as_slice() {
                    b"EX" => (FLAG_EX, false),
                    b"PX" => (FLAG_PX, true),
                    b"EXAT" => (FLAG_EXAT, false),
                    _ => (FLAG_PXAT, true),
                };
                flags |= flag;
                expire = next.map(|n| (n, ms));
                j += 1;
            }
            _ => {
                ctx.reply.error(ERR_SYNTAX);
                return None;
            }
        }
        j += 1;
    }
    Some(Extended { flags, expire })
}

/// Redis's getExpireMillisecondsOrReply: the absolute deadline in ms, or an error reply.
fn expire_deadline(
    srv: &Server,
    ctx: &mut Ctx<'_>,
    raw: &[u8],
    in_ms: bool,
    relative: bool,
) -> Option<i64> {
    let Some(mut v) = crate::util::parse_i64(raw) else {
        ctx.reply.error(ERR_NOT_INTEGER);
        return None;
    };
    let invalid = |ctx: &mut Ctx<'_>| {
        ctx.reply.error(&format!(
            "invalid expire time in '{}' command",
            ctx.spec.fullname
        ))
    };
    if v <= 0 || (!in_ms && v > i64::MAX / 1000) {
        invalid(ctx);
        return None;
    }
    if !in_ms {
        v *= 1000;
    }
    if relative {
        v = v.wrapping_add(srv.wall_ms());
    }
    if v <= 0 {
        invalid(ctx);
        return None;
    }
    Some(v)
}

/// The string at `key` for reading: Ok(None) when missing, Err after a WRONGTYPE reply.
fn read_string(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    match srv.lookup_read(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            Value::Str(s) => Ok(Some(s.as_bytes().into_owned())),
            #[allow(unreachable_patterns)]
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// Redis's getGenericCommand: reply the value (or null). Err on WRONGTYPE.
fn get_generic(srv: &mut Server, ctx: &mut Ctx<'_>) -> Result<(), ()> {
    let key = ctx.arg(1);
    match srv.lookup_read(ctx.db, key) {
        None => ctx.reply.null(),
        Some(obj) => match &obj.value {
            Value::Str(s) => ctx.reply.bulk(&s.as_bytes()),
            #[allow(unreachable_patterns)]
            _ => {
                ctx.reply.error(WRONGTYPE);
                return Err(());
            }
        },
    }
    Ok(())
}

fn get(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let _ = get_generic(srv, ctx);
}

/// Redis's setGenericCommand.
#[allow(clippy::too_many_arguments)]
fn set_generic(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    flags: u32,
    key: &[u8],
    value: &[u8],
    expire: Option<(&[u8], bool)>,
    ok_reply: Option<i64>,
    abort_reply: Option<i64>,
) {
    let mut deadline = None;
    if let Some((raw, in_ms)) = expire {
        let relative = flags & (FLAG_EX | FLAG_PX) != 0;
        match expire_deadline(srv, ctx, raw, in_ms, relative) {
            Some(d) => deadline = Some(d),
            None => return,
        }
    }
    if flags & FLAG_GET != 0 && get_generic(srv, ctx).is_err() {
        return;
    }
    let found = srv.lookup_write(ctx.db, key).is_some();
    if (flags & FLAG_NX != 0 && found) || (flags & FLAG_XX != 0 && !found) {
        if flags & FLAG_GET == 0 {
            match abort_reply {
                Some(n) => ctx.reply.int(n),
                None => ctx.reply.null(),
            }
        }
        return;
    }
    srv.set_key(
        ctx.db,
        key,
        Value::Str(StrValue::from_bytes(value)),
        flags & FLAG_KEEPTTL != 0,
    );
    srv.mark_dirty(1);
    srv.notify_keyspace_event(NOTIFY_STRING, "set", key, ctx.db);
    if let Some(when) = deadline {
        srv.set_expire(ctx.db, key, when);
        // Any expire (SET EX, SETEX, PSETEX, …) propagates as an absolute PXAT.
        ctx.rewrite_argv_with(|_| {
            vec![
                b"SET".to_vec(),
                key.to_vec(),
                value.to_vec(),
                b"PXAT".to_vec(),
                when.to_string().into_bytes(),
            ]
        });
        srv.notify_keyspace_event(NOTIFY_GENERIC, "expire", key, ctx.db);
    }
    if flags & FLAG_GET == 0 {
        match ok_reply {
            Some(n) => ctx.reply.int(n),
            None => ctx.reply.ok(),
        }
    }
    if flags & FLAG_GET != 0 && deadline.is_none() {
        // Propagated without its GET arguments (however many), which replicas and
        // the AOF have no use for.
        ctx.rewrite_argv_with(|c| {
            let mut argv = Vec::with_capacity(c.argc());
            for (j, a) in c.args.iter().enumerate() {
                if j >= 3 && a.eq_ignore_ascii_case(b"get") {
                    continue;
                }
                argv.push(a.to_vec());
            }
            argv
        });
    }
}

fn set(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(ext) = parse_extended(ctx, Variant::Set) else {
        return;
    };
    let (key, value) = (ctx.arg(1), ctx.arg(2));
    set_generic(srv, ctx, ext.flags, key, value, ext.expire, None, None);
}

fn setnx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, value) = (ctx.arg(1), ctx.arg(2));
    set_generic(srv, ctx, FLAG_NX, key, value, None, Some(1), Some(0));
}

fn setex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, secs, value) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    set_generic(
        srv,
        ctx,
        FLAG_EX,
        key,
        value,
        Some((secs, false)),
        None,
        None,
    );
}

fn psetex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, ms, value) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    set_generic(srv, ctx, FLAG_PX, key, value, Some((ms, true)), None, None);
}

fn getex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(ext) = parse_extended(ctx, Variant::Get) else {
        return;
    };
    let key = ctx.arg(1);
    let value = match read_string(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.null();
            return;
        }
        Ok(Some(v)) => v,
    };
    let mut deadline = None;
    if let Some((raw, in_ms)) = ext.expire {
        let relative = ext.flags & (FLAG_EX | FLAG_PX) != 0;
        match expire_deadline(srv, ctx, raw, in_ms, relative) {
            Some(d) => deadline = Some(d),
            None => return,
        }
    }
    ctx.reply.bulk(&value);
    let absolute = ext.flags & (FLAG_EXAT | FLAG_PXAT) != 0;
    match deadline {
        Some(when) if absolute && srv.already_expired(when) => {
            let deleted = srv.delete_key(ctx.db, key);
            debug_assert!(deleted);
            let del = del_or_unlink(srv.config.lazyfree_lazy_expire);
            ctx.rewrite_argv_with(|_| vec![del.to_vec(), key.to_vec()]);
            srv.signal_modified_key(ctx.db, key);
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
            srv.mark_dirty(1);
        }
        Some(when) => {
            srv.set_expire(ctx.db, key, when);
            ctx.rewrite_argv_with(|_| {
                vec![
                    b"PEXPIREAT".to_vec(),
                    key.to_vec(),
                    when.to_string().into_bytes(),
                ]
            });
            srv.signal_modified_key(ctx.db, key);
            srv.notify_keyspace_event(NOTIFY_GENERIC, "expire", key, ctx.db);
            srv.mark_dirty(1);
        }
        None if ext.flags & FLAG_PERSIST != 0 && srv.dbs[ctx.db].remove_expire(key) => {
            srv.signal_modified_key(ctx.db, key);
            ctx.rewrite_argv_with(|_| vec![b"PERSIST".to_vec(), key.to_vec()]);
            srv.notify_keyspace_event(NOTIFY_GENERIC, "persist", key, ctx.db);
            srv.mark_dirty(1)
        }
        None => {}
    }
}

fn getdel(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if get_generic(srv, ctx).is_err() {
        return;
    }
    let key = ctx.arg(1);
    if srv.delete_key(ctx.db, key) {
        let del = del_or_unlink(srv.config.lazyfree_lazy_user_del);
        ctx.rewrite_argv_with(|_| vec![del.to_vec(), key.to_vec()]);
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
        srv.mark_dirty(1);
    }
}

/// How a deletion propagates: UNLINK when the matching lazyfree option frees lazily.
pub(crate) fn del_or_unlink(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

fn getset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if get_generic(srv, ctx).is_err() {
        return;
    }
    let (key, value) = (ctx.arg(1), ctx.arg(2));
    srv.set_key(ctx.db, key, Value::Str(StrValue::from_bytes(value)), false);
    srv.notify_keyspace_event(NOTIFY_STRING, "set", key, ctx.db);
    srv.mark_dirty(1);
    ctx.rewrite_arg(0, b"SET");
}

fn mget(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.array(ctx.argc() - 1);
    for i in 1..ctx.argc() {
        let key = ctx.arg(i);
        match srv.lookup_read(ctx.db, key).map(|o| &o.value) {
            Some(Value::Str(s)) => ctx.reply.bulk(&s.as_bytes()),
            #[allow(unreachable_patterns)]
            _ => ctx.reply.null(),
        }
    }
}

fn mset_generic(srv: &mut Server, ctx: &mut Ctx<'_>, nx: bool) {
    if ctx.argc().is_multiple_of(2) {
        ctx.reply.error(&format!(
            "wrong number of arguments for '{}' command",
            ctx.spec.fullname
        ));
        return;
    }
    if nx {
        for j in (1..ctx.argc()).step_by(2) {
            if srv.lookup_write(ctx.db, ctx.arg(j)).is_some() {
                ctx.reply.int(0);
                return;
            }
        }
    }
    for j in (1..ctx.argc()).step_by(2) {
        let (key, value) = (ctx.arg(j), ctx.arg(j + 1));
        srv.set_key(ctx.db, key, Value::Str(StrValue::from_bytes(value)), false);
        srv.notify_keyspace_event(NOTIFY_STRING, "set", key, ctx.db);
    }
    srv.mark_dirty(((ctx.argc() - 1) / 2) as u64);
    if nx {
        ctx.reply.int(1);
    } else {
        ctx.reply.ok();
    }
}

fn mset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    mset_generic(srv, ctx, false);
}

fn msetnx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    mset_generic(srv, ctx, true);
}

/// Redis's checkStringLength: a string may not outgrow proto-max-bulk-len.
fn check_string_length(srv: &Server, ctx: &mut Ctx<'_>, total: u128) -> bool {
    if total > srv.config.proto_max_bulk_len as u128 {
        ctx.reply
            .error("string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    true
}

/// The string object at `key` for writing. Err after a WRONGTYPE reply.
fn write_string<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'s mut StrValue>, ()> {
    match srv.lookup_write(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &mut obj.value {
            Value::Str(s) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

fn append(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, suffix) = (ctx.arg(1), ctx.arg(2));
    let current_len = match write_string(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => None,
        Ok(Some(s)) => Some(s.len()),
    };
    let total = match current_len {
        None => {
            let v = StrValue::from_bytes(suffix);
            let len = v.len();
            srv.db_add(ctx.db, key, Value::Str(v));
            len
        }
        Some(len) => {
            if !check_string_length(srv, ctx, len as u128 + suffix.len() as u128) {
                return;
            }
            let s = write_string(srv, ctx, key)
                .ok()
                .flatten()
                .expect("checked above");
            let raw = s.make_raw();
            raw.extend_from_slice(suffix);
            raw.len()
        }
    };
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_STRING, "append", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(total as i64);
}

fn strlen(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match srv.lookup_read(ctx.db, ctx.arg(1)).map(|o| &o.value) {
        None => ctx.reply.int(0),
        Some(Value::Str(s)) => ctx.reply.int(s.len() as i64),
        #[allow(unreachable_patterns)]
        Some(_) => ctx.reply.error(WRONGTYPE),
    }
}

fn getrange(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(mut start) = arg_i64(ctx, 2) else {
        return;
    };
    let Some(mut end) = arg_i64(ctx, 3) else {
        return;
    };
    let value = match read_string(srv, ctx, ctx.arg(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.bulk(b"");
            return;
        }
        Ok(Some(v)) => v,
    };
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.reply.bulk(b"");
        return;
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.reply.bulk(b"");
    } else {
        ctx.reply.bulk(&value[start as usize..=end as usize]);
    }
}

fn setrange(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(offset) = arg_i64(ctx, 2) else {
        return;
    };
    let (key, value) = (ctx.arg(1), ctx.arg(3));
    if offset < 0 {
        ctx.reply.error("offset is out of range");
        return;
    }
    let offset = offset as usize;
    let existing_len = match write_string(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => None,
        Ok(Some(s)) => Some(s.len()),
    };
    match existing_len {
        None => {
            if value.is_empty() {
                ctx.reply.int(0);
                return;
            }
            if !check_string_length(srv, ctx, offset as u128 + value.len() as u128) {
                return;
            }
            srv.db_add(ctx.db, key, Value::Str(StrValue::raw(Vec::new())));
        }
        Some(len) => {
            if value.is_empty() {
                ctx.reply.int(len as i64);
                return;
            }
            if !check_string_length(srv, ctx, offset as u128 + value.len() as u128) {
                return;
            }
        }
    }
    let s = write_string(srv, ctx, key).ok().flatten().expect("present");
    let raw = s.make_raw();
    if raw.len() < offset + value.len() {
        raw.resize(offset + value.len(), 0);
    }
    raw[offset..offset + value.len()].copy_from_slice(value);
    let total = raw.len();
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_STRING, "setrange", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(total as i64);
}

/// Redis's incrDecrCommand.
fn incr_decr(srv: &mut Server, ctx: &mut Ctx<'_>, delta: i64) {
    let key = ctx.arg(1);
    let current = match write_string(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => None,
        Ok(Some(s)) => match s.as_i64() {
            Some(v) => Some(v),
            None => {
                ctx.reply.error(ERR_NOT_INTEGER);
                return;
            }
        },
    };
    let old = current.unwrap_or(0);
    let Some(new) = old.checked_add(delta) else {
        ctx.reply.error(super::ERR_OVERFLOW);
        return;
    };
    match write_string(srv, ctx, key).ok().flatten() {
        // Overwriting keeps the TTL, as Redis's dbOverwrite does.
        Some(s) => *s = StrValue::Int(new),
        None => srv.db_add(ctx.db, key, Value::Str(StrValue::Int(new))),
    }
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_STRING, "incrby", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(new);
}

fn incr(srv: &mut Server, ctx: &mut Ctx<'_>) {
    incr_decr(srv, ctx, 1);
}

fn decr(srv: &mut Server, ctx: &mut Ctx<'_>) {
    incr_decr(srv, ctx, -1);
}

fn incrby(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(n) = arg_i64(ctx, 2) else { return };
    incr_decr(srv, ctx, n);
}

fn decrby(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(n) = arg_i64(ctx, 2) else { return };
    if n == i64::MIN {
        ctx.reply.error("decrement would overflow");
        return;
    }
    incr_decr(srv, ctx, -n);
}

/// Parse a value as Redis's getLongDoubleFromObject does.
fn long_double_of(s: &StrValue) -> Option<LongDouble> {
    match s {
        StrValue::Int(n) => Some(LongDouble::from_i64(*n)),
        other => LongDouble::parse(&other.as_bytes()),
    }
}

fn incrbyfloat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    let current = match write_string(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => Some(LongDouble::ZERO),
        Ok(Some(s)) => long_double_of(s),
    };
    let (Some(value), Some(incr)) = (current, LongDouble::parse(ctx.arg(2))) else {
        ctx.reply.error(super::ERR_NOT_FLOAT);
        return;
    };
    let sum = value.plus(incr);
    if value.plus_is_nan(incr) || !sum.is_finite() {
        ctx.reply.error("increment would produce NaN or Infinity");
        return;
    }
    let text = sum.to_human_string();
    let new = StrValue::plain(text.as_bytes());
    match write_string(srv, ctx, key).ok().flatten() {
        Some(s) => *s = new,
        None => srv.db_add(ctx.db, key, Value::Str(new)),
    }
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.bulk(text.as_bytes());
    // Propagated as SET of the result, so float formatting can never make a replica
    // or a reloaded AOF differ; KEEPTTL because INCRBYFLOAT keeps the TTL.
    ctx.rewrite_argv_with(|_| {
        vec![
            b"SET".to_vec(),
            key.to_vec(),
            text.as_bytes().to_vec(),
            b"KEEPTTL".to_vec(),
        ]
    });
}

fn lcs(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (ka, kb) = (ctx.arg(1), ctx.arg(2));
    let mut fetch = |key: &[u8]| -> Option<Vec<u8>> {
        match srv.lookup_read(ctx.db, key).map(|o| &o.value) {
            None => Some(Vec::new()),
            Some(Value::Str(s)) => Some(s.as_bytes().into_owned()),
            #[allow(unreachable_patterns)]
            Some(_) => None,
        }
    };
    let (a, b) = match (fetch(ka), fetch(kb)) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            ctx.reply
                .error("The specified keys must contain string values");
            return;
        }
    };
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < ctx.argc() {
        let opt = ctx.arg(j).to_ascii_uppercase();
        let more = j + 1 < ctx.argc();
        match opt.as_slice() {
            b"IDX" => get_idx = true,
            b"LEN" => get_len = true,
            b"WITHMATCHLEN" => with_match_len = true,
            b"MINMATCHLEN" if more => {
                let Some(n) = arg_i64(ctx, j + 1) else { return };
                min_match_len = n.max(0);
                j += 1;
            }
            _ => {
                ctx.reply.error(ERR_SYNTAX);
                return;
            }
        }
        j += 1;
    }
    if get_len && get_idx {
        ctx.reply
            .error("If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        ctx.reply.error("String too long for LCS");
        return;
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    if cells * 4 > srv.config.proto_max_bulk_len as u128 {
        ctx.reply
            .error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    let width = blen + 1;
    let mut table = vec![0u32; cells as usize];
    for i in 1..=alen {
        for jj in 1..=blen {
            table[i * width + jj] = if a[i - 1] == b[jj - 1] {
                table[(i - 1) * width + jj - 1] + 1
            } else {
                table[(i - 1) * width + jj].max(table[i * width + jj - 1])
            };
        }
    }
    let total = table[alen * width + blen];
    if get_len {
        ctx.reply.int(total as i64);
        return;
    }
    // Walk back from the end, collecting the LCS and its matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<(usize, usize, usize, usize)> = Vec::new();
    let unset = alen;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (unset, 0usize, 0usize, 0usize);
    let (mut i, mut jj) = (alen, blen);
    while i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == unset {
                a_start = i - 1;
                a_end = i - 1;
                b_start = jj - 1;
                b_end = jj - 1;
            } else if a_start == i && b_start == jj {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if table[(i - 1) * width + jj] > table[i * width + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if a_start != unset {
                emit = true;
            }
        }
        if emit {
            let match_len = a_end - a_start + 1;
            if min_match_len == 0 || match_len as i64 >= min_match_len {
                ranges.push((a_start, a_end, b_start, b_end));
            }
            a_start = unset;
        }
    }
    if !get_idx {
        ctx.reply.bulk(&result);
        return;
    }
    ctx.reply.map(2);
    ctx.reply.bulk(b"matches");
    ctx.reply.array(ranges.len());
    for (a0, a1, b0, b1) in ranges {
        ctx.reply.array(2 + with_match_len as usize);
        ctx.reply.array(2);
        ctx.reply.int(a0 as i64);
        ctx.reply.int(a1 as i64);
        ctx.reply.array(2);
        ctx.reply.int(b0 as i64);
        ctx.reply.int(b1 as i64);
        if with_match_len {
            ctx.reply.int((a1 - a0 + 1) as i64);
        }
    }
    ctx.reply.bulk(b"len");
    ctx.reply.int(total as i64);
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn enc(t: &TestServer, key: &str) -> &'static str {
        t.server.dbs[0]
            .peek(key.as_bytes())
            .unwrap()
            .value
            .encoding_name()
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    #[test]
    fn set_options_and_errors() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["SET", "k", "v", "NX"]), Frame::ok());
        assert_eq!(t.cmd(&["SET", "k", "w", "NX"]), Frame::Null);
        assert_eq!(t.cmd(&["SET", "k", "w", "XX"]), Frame::ok());
        assert_eq!(t.cmd(&["SET", "nope", "w", "XX"]), Frame::Null);
        assert_eq!(t.cmd(&["SET", "k", "x", "GET"]), Frame::bulk("w"));
        assert_eq!(t.cmd(&["SET", "k", "y", "NX", "GET"]), Frame::bulk("x"));
        assert_eq!(t.cmd(&["GET", "k"]), Frame::bulk("x"));
        assert_eq!(t.cmd(&["SET", "new", "y", "NX", "GET"]), Frame::Null);
        assert_eq!(t.cmd(&["GET", "new"]), Frame::bulk("y"));
        assert_eq!(
            t.cmd(&["SET", "k", "v", "NX", "XX"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "10", "PX", "5"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "KEEPTTL", "EX", "1"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "PERSIST"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "0"]),
            Frame::err("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "-1"]),
            Frame::err("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "9223372036854775807"]),
            Frame::err("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "PX", "9223372036854775807"]),
            Frame::err("ERR invalid expire time in 'set' command")
        );
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        // Repeating the same option is allowed, as in Redis.
        assert_eq!(
            t.cmd(&["SET", "k", "v", "EX", "10", "EX", "20"]),
            Frame::ok()
        );
    }

    #[test]
    fn set_expiry_variants() {
        let mut t = TestServer::new();
        let now = t.server.wall_ms();
        assert_eq!(t.cmd(&["SET", "a", "v", "EX", "10"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"a"), Some(now + 10_000));
        assert_eq!(t.cmd(&["SET", "a", "v", "PX", "1500"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"a"), Some(now + 1500));
        assert_eq!(
            t.cmd(&["SET", "a", "v", "EXAT", &(now / 1000 + 100).to_string()]),
            Frame::ok()
        );
        assert_eq!(
            t.server.dbs[0].get_expire(b"a"),
            Some((now / 1000 + 100) * 1000)
        );
        assert_eq!(
            t.cmd(&["SET", "a", "v", "PXAT", &(now + 77).to_string()]),
            Frame::ok()
        );
        assert_eq!(t.server.dbs[0].get_expire(b"a"), Some(now + 77));
        assert_eq!(t.cmd(&["SET", "a", "w", "KEEPTTL"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"a"), Some(now + 77));
        assert_eq!(t.cmd(&["SET", "a", "w"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"a"), None);
        assert_eq!(t.cmd(&["SETEX", "b", "5", "v"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"b"), Some(now + 5000));
        assert_eq!(t.cmd(&["PSETEX", "b", "5", "v"]), Frame::ok());
        assert_eq!(t.server.dbs[0].get_expire(b"b"), Some(now + 5));
        assert_eq!(
            t.cmd(&["SETEX", "b", "0", "v"]),
            Frame::err("ERR invalid expire time in 'setex' command")
        );
        assert_eq!(
            t.cmd(&["PSETEX", "b", "-5", "v"]),
            Frame::err("ERR invalid expire time in 'psetex' command")
        );
        t.advance_ms(10);
        assert_eq!(t.cmd(&["GET", "b"]), Frame::Null);
    }

    #[test]
    fn setnx_getset_getdel_mset() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["SETNX", "k", "1"]), int(1));
        assert_eq!(t.cmd(&["SETNX", "k", "2"]), int(0));
        assert_eq!(t.cmd(&["GETSET", "k", "3"]), Frame::bulk("1"));
        assert_eq!(t.cmd(&["GETSET", "n", "3"]), Frame::Null);
        assert_eq!(t.cmd(&["GETDEL", "k"]), Frame::bulk("3"));
        assert_eq!(t.cmd(&["GETDEL", "k"]), Frame::Null);
        assert_eq!(t.cmd(&["MSET", "a", "1", "b", "2"]), Frame::ok());
        assert_eq!(
            t.cmd(&["MSET", "a", "1", "b"]),
            Frame::err("ERR wrong number of arguments for 'mset' command")
        );
        assert_eq!(
            t.cmd(&["MGET", "a", "nope", "b"]),
            Frame::Array(vec![Frame::bulk("1"), Frame::Null, Frame::bulk("2")])
        );
        assert_eq!(t.cmd(&["MSETNX", "a", "9", "c", "3"]), int(0));
        assert_eq!(t.cmd(&["GET", "c"]), Frame::Null);
        assert_eq!(t.cmd(&["MSETNX", "c", "3", "d", "4"]), int(1));
        assert_eq!(
            t.cmd(&["MSETNX", "c"]),
            Frame::err("ERR wrong number of arguments for 'msetnx' command")
        );
    }

    #[test]
    fn getex_options() {
        let mut t = TestServer::new();
        let now = t.server.wall_ms();
        t.cmd(&["SET", "k", "v"]);
        assert_eq!(t.cmd(&["GETEX", "k", "EX", "100"]), Frame::bulk("v"));
        assert_eq!(t.server.dbs[0].get_expire(b"k"), Some(now + 100_000));
        assert_eq!(t.cmd(&["GETEX", "k", "PERSIST"]), Frame::bulk("v"));
        assert_eq!(t.server.dbs[0].get_expire(b"k"), None);
        assert_eq!(
            t.cmd(&["GETEX", "k", "PX", "0"]),
            Frame::err("ERR invalid expire time in 'getex' command")
        );
        assert_eq!(
            t.cmd(&["GETEX", "k", "KEEPTTL"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["GETEX", "k", "PERSIST", "EX", "1"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["GETEX", "nope", "EX", "1"]), Frame::Null);
        // An absolute deadline in the past deletes the key after replying its value.
        assert_eq!(
            t.cmd(&["GETEX", "k", "PXAT", &(now - 1).to_string()]),
            Frame::bulk("v")
        );
        assert_eq!(t.cmd(&["GET", "k"]), Frame::Null);
        assert_eq!(t.server.stats.expired_keys, 0);
    }

    #[test]
    fn append_strlen_ranges() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["APPEND", "k", "123"]), int(3));
        assert_eq!(enc(&t, "k"), "int");
        assert_eq!(t.cmd(&["APPEND", "k", "abc"]), int(6));
        assert_eq!(enc(&t, "k"), "raw");
        assert_eq!(t.cmd(&["STRLEN", "k"]), int(6));
        assert_eq!(t.cmd(&["STRLEN", "nope"]), int(0));
        assert_eq!(t.cmd(&["GETRANGE", "k", "0", "2"]), Frame::bulk("123"));
        assert_eq!(t.cmd(&["GETRANGE", "k", "-3", "-1"]), Frame::bulk("abc"));
        assert_eq!(t.cmd(&["GETRANGE", "k", "-1", "-3"]), Frame::bulk(""));
        assert_eq!(t.cmd(&["GETRANGE", "k", "4", "100"]), Frame::bulk("bc"));
        assert_eq!(t.cmd(&["GETRANGE", "k", "10", "100"]), Frame::bulk(""));
        assert_eq!(t.cmd(&["SUBSTR", "k", "0", "0"]), Frame::bulk("1"));
        assert_eq!(t.cmd(&["GETRANGE", "nope", "0", "1"]), Frame::bulk(""));
        assert_eq!(
            t.cmd(&["GETRANGE", "k", "x", "1"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.cmd(&["SET", "n", "12345"]), Frame::ok());
        assert_eq!(t.cmd(&["GETRANGE", "n", "1", "2"]), Frame::bulk("23"));
        assert_eq!(t.cmd(&["SETRANGE", "s", "5", "hi"]), int(7));
        assert_eq!(t.cmd(&["GET", "s"]), Frame::Bulk(b"\0\0\0\0\0hi".to_vec()));
        assert_eq!(enc(&t, "s"), "raw");
        assert_eq!(t.cmd(&["SETRANGE", "s", "0", "HELLO"]), int(7));
        assert_eq!(t.cmd(&["GET", "s"]), Frame::bulk("HELLOhi"));
        assert_eq!(t.cmd(&["SETRANGE", "s", "1", ""]), int(7));
        assert_eq!(t.cmd(&["SETRANGE", "empty", "1", ""]), int(0));
        assert_eq!(
            t.cmd(&["SETRANGE", "s", "-1", "x"]),
            Frame::err("ERR offset is out of range")
        );
        assert_eq!(
            t.cmd(&["SETRANGE", "s", "536870911", "xx"]),
            Frame::err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        );
        t.cmd(&["SET", "n", "7"]);
        assert_eq!(t.cmd(&["SETRANGE", "n", "1", "0"]), int(2));
        assert_eq!(t.cmd(&["GET", "n"]), Frame::bulk("70"));
        assert_eq!(enc(&t, "n"), "raw");
    }

    #[test]
    fn counters() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["INCR", "c"]), int(1));
        assert_eq!(t.cmd(&["INCRBY", "c", "10"]), int(11));
        assert_eq!(t.cmd(&["DECR", "c"]), int(10));
        assert_eq!(t.cmd(&["DECRBY", "c", "20"]), int(-10));
        assert_eq!(enc(&t, "c"), "int");
        t.cmd(&["SET", "big", "9223372036854775807"]);
        assert_eq!(
            t.cmd(&["INCR", "big"]),
            Frame::err("ERR increment or decrement would overflow")
        );
        assert_eq!(
            t.cmd(&["DECRBY", "c", "-9223372036854775808"]),
            Frame::err("ERR decrement would overflow")
        );
        t.cmd(&["SET", "s", "abc"]);
        assert_eq!(
            t.cmd(&["INCR", "s"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        t.cmd(&["SET", "z", "007"]);
        assert_eq!(
            t.cmd(&["INCR", "z"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["INCRBY", "c", "1.5"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        // INCR keeps the TTL.
        t.cmd(&["SET", "t", "1", "EX", "100"]);
        t.cmd(&["INCR", "t"]);
        assert!(t.server.dbs[0].get_expire(b"t").is_some());
    }

    #[test]
    fn incrbyfloat_matches_redis() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "f", "10.50"]);
        assert_eq!(t.cmd(&["INCRBYFLOAT", "f", "0.1"]), Frame::bulk("10.6"));
        assert_eq!(t.cmd(&["INCRBYFLOAT", "f", "-5"]), Frame::bulk("5.6"));
        assert_eq!(enc(&t, "f"), "embstr");
        t.cmd(&["SET", "g", "5.0e3"]);
        assert_eq!(t.cmd(&["INCRBYFLOAT", "g", "2.0e2"]), Frame::bulk("5200"));
        assert_eq!(enc(&t, "g"), "embstr");
        assert_eq!(t.cmd(&["INCRBYFLOAT", "new", "3"]), Frame::bulk("3"));
        t.cmd(&["SET", "i", "5"]);
        assert_eq!(t.cmd(&["INCRBYFLOAT", "i", "0.5"]), Frame::bulk("5.5"));
        assert_eq!(
            t.cmd(&["INCRBYFLOAT", "i", "x"]),
            Frame::err("ERR value is not a valid float")
        );
        assert_eq!(
            t.cmd(&["INCRBYFLOAT", "i", "nan"]),
            Frame::err("ERR value is not a valid float")
        );
        assert_eq!(
            t.cmd(&["INCRBYFLOAT", "i", "inf"]),
            Frame::err("ERR increment would produce NaN or Infinity")
        );
        t.cmd(&["SET", "s", "abc"]);
        assert_eq!(
            t.cmd(&["INCRBYFLOAT", "s", "1"]),
            Frame::err("ERR value is not a valid float")
        );
    }

    #[test]
    fn lcs_forms() {
        let mut t = TestServer::new();
        t.cmd(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
        assert_eq!(t.cmd(&["LCS", "key1", "key2"]), Frame::bulk("mytext"));
        assert_eq!(t.cmd(&["LCS", "key1", "key2", "LEN"]), int(6));
        let idx = t.cmd(&[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "4",
            "WITHMATCHLEN",
        ]);
        assert_eq!(
            idx,
            Frame::Array(vec![
                Frame::bulk("matches"),
                Frame::Array(vec![Frame::Array(vec![
                    Frame::Array(vec![int(4), int(7)]),
                    Frame::Array(vec![int(5), int(8)]),
                    int(4)
                ])]),
                Frame::bulk("len"),
                int(6),
            ])
        );
        let all = t.cmd(&["LCS", "key1", "key2", "IDX"]);
        assert_eq!(
            all,
            Frame::Array(vec![
                Frame::bulk("matches"),
                Frame::Array(vec![
                    Frame::Array(vec![
                        Frame::Array(vec![int(4), int(7)]),
                        Frame::Array(vec![int(5), int(8)])
                    ]),
                    Frame::Array(vec![
                        Frame::Array(vec![int(2), int(3)]),
                        Frame::Array(vec![int(0), int(1)])
                    ]),
                ]),
                Frame::bulk("len"),
                int(6),
            ])
        );
        assert_eq!(
            t.cmd(&["LCS", "key1", "key2", "LEN", "IDX"]),
            Frame::err("ERR If you want both the length and indexes, please just use IDX.")
        );
        assert_eq!(
            t.cmd(&["LCS", "key1", "key2", "FOO"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["LCS", "nope", "key2"]), Frame::bulk(""));
    }
}
