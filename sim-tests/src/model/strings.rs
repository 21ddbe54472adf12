//! The model of the string commands and the generic per-key commands (DEL, EXISTS,
//! TYPE, the expiry family, RENAME, COPY, OBJECT ENCODING), Redis 7.0's t_string.c,
//! expire.c and db.c: type-aware (WRONGTYPE on a collection), with the string
//! encodings Redis gives each write.

use super::value::{Str, Value};
use super::{done, fail, int_arg, limitation, Actual, Entry, Eval, Stop, View};
use crate::numbers::{self, FloatParse, LongDouble};
use crate::resp;

/// Redis's default proto-max-bulk-len, the limit of a string's length.
const STRING_LEN_MAX: u64 = 512 * 1024 * 1024;

fn invalid_expire(name: &str) -> Vec<u8> {
    resp::err(&format!("invalid expire time in '{name}' command"))
}

const NX: u32 = 1;
const XX: u32 = 2;
const GET: u32 = 4;
const KEEPTTL: u32 = 8;
const PERSIST: u32 = 16;
const EX: u32 = 32;
const PX: u32 = 64;
const EXAT: u32 = 128;
const PXAT: u32 = 256;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// SET and GETEX options, with Redis's rules on which may be combined.
fn parse_string_options(args: &[Vec<u8>], set: bool) -> Result<(u32, Option<&[u8]>), Stop> {
    let mut flags = 0;
    let mut expire = None;
    let mut j = 0;
    while j < args.len() {
        let opt = args[j].to_ascii_uppercase();
        let has_next = j + 1 < args.len();
        let expire_flag = match opt.as_slice() {
            b"EX" => Some(EX),
            b"PX" => Some(PX),
            b"EXAT" => Some(EXAT),
            b"PXAT" => Some(PXAT),
            _ => None,
        };
        match (opt.as_slice(), expire_flag) {
            (b"NX", _) if set && flags & XX == 0 => flags |= NX,
            (b"XX", _) if set && flags & NX == 0 => flags |= XX,
            (b"GET", _) if set => flags |= GET,
            (b"KEEPTTL", _) if set && flags & (PERSIST | ANY_EXPIRE) == 0 => flags |= KEEPTTL,
            (b"PERSIST", _) if !set && flags & (KEEPTTL | ANY_EXPIRE) == 0 => flags |= PERSIST,
            (_, Some(f))
                if has_next && flags & (KEEPTTL | PERSIST) == 0 && flags & ANY_EXPIRE & !f == 0 =>
            {
                flags |= f;
                expire = Some(args[j + 1].as_slice());
                j += 1;
            }
            _ => return fail(resp::err("syntax error")),
        }
        j += 1;
    }
    Ok((flags, expire))
}

/// Redis's getExpireMillisecondsOrReply: the absolute deadline.
fn expire_deadline(name: &str, raw: &[u8], flags: u32, wall_ms: i64) -> Result<i64, Stop> {
    let mut v = int_arg(raw)?;
    let seconds = flags & (EX | EXAT) != 0;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return fail(invalid_expire(name));
    }
    if seconds {
        v *= 1000;
    }
    if flags & (EX | PX) != 0 {
        v = v.wrapping_add(wall_ms);
    }
    if v <= 0 {
        return fail(invalid_expire(name));
    }
    Ok(v)
}

fn string(bytes: Str, deadline_ms: Option<i64>) -> Entry {
    Entry {
        value: Value::Str(bytes),
        deadline_ms,
    }
}

/// The bytes of a string entry.
fn bytes_mut(e: &mut Entry) -> &mut Str {
    match &mut e.value {
        Value::Str(s) => s,
        _ => unreachable!("type checked before"),
    }
}

/// The string commands this module models.
const STRING_COMMANDS: &[&str] = &[
    "get",
    "set",
    "setnx",
    "setex",
    "psetex",
    "getex",
    "getdel",
    "getset",
    "mget",
    "mset",
    "msetnx",
    "append",
    "strlen",
    "getrange",
    "substr",
    "setrange",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
];

/// The generic per-key commands this module models.
const KEY_COMMANDS: &[&str] = &[
    "del",
    "unlink",
    "exists",
    "touch",
    "type",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "persist",
    "rename",
    "renamenx",
    "copy",
    "object",
];

pub(super) fn models(name: &str) -> bool {
    STRING_COMMANDS.contains(&name) || KEY_COMMANDS.contains(&name)
}

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, _actual: &Actual) -> Eval {
    if STRING_COMMANDS.contains(&name) {
        string_command(name, req, v)
    } else {
        key_command(name, req, v)
    }
}

fn string_command(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let w = v.wall_ms;
    let p = v.p;
    let key = req[1].as_slice();
    let bulk_or_nil = |x: Option<Vec<u8>>| x.map_or_else(|| p.nil(), |x| resp::bulk(&x));
    match name {
        "get" => done(bulk_or_nil(v.get_str(key)?)),
        "set" | "setnx" | "setex" | "psetex" => {
            let (flags, expire, value) = match name {
                "set" => {
                    let (f, e) = parse_string_options(&req[3..], true)?;
                    (f, e, &req[2])
                }
                "setnx" => (NX, None, &req[2]),
                "setex" => (EX, Some(req[2].as_slice()), &req[3]),
                _ => (PX, Some(req[2].as_slice()), &req[3]),
            };
            let deadline = match expire {
                Some(raw) => Some(expire_deadline(name, raw, flags, w)?),
                None => None,
            };
            let mut reply = Vec::new();
            if flags & GET != 0 {
                reply = bulk_or_nil(v.get_str(key)?);
            }
            let old = v.lookup(key).map(|e| e.deadline_ms);
            let found = old.is_some();
            if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
                if flags & GET == 0 {
                    reply = if name == "setnx" {
                        resp::int(0)
                    } else {
                        p.nil()
                    };
                }
                return done(reply);
            }
            let kept = if flags & KEEPTTL != 0 {
                old.flatten()
            } else {
                None
            };
            v.put(key, string(Str::encoded(value.clone()), deadline.or(kept)));
            if flags & GET == 0 {
                reply = if name == "setnx" {
                    resp::int(1)
                } else {
                    resp::ok()
                };
            }
            done(reply)
        }
        "getex" => {
            let (flags, expire) = parse_string_options(&req[2..], false)?;
            let Some(value) = v.get_str(key)? else {
                return done(p.nil());
            };
            let deadline = match expire {
                Some(raw) => Some(expire_deadline(name, raw, flags, w)?),
                None => None,
            };
            let entry = v.lookup(key).expect("looked up above");
            match deadline {
                Some(d) if flags & (EXAT | PXAT) != 0 && d <= w => {
                    v.delete(key);
                }
                Some(d) => entry.deadline_ms = Some(d),
                None if flags & PERSIST != 0 => entry.deadline_ms = None,
                None => {}
            }
            done(resp::bulk(&value))
        }
        "getdel" => {
            let value = v.get_str(key)?;
            v.delete(key);
            done(bulk_or_nil(value))
        }
        "getset" => {
            let reply = bulk_or_nil(v.get_str(key)?);
            v.put(key, string(Str::encoded(req[2].clone()), None));
            done(reply)
        }
        "mget" => {
            let mut reply = resp::array_header(req.len() - 1);
            for k in &req[1..] {
                let x = match v.lookup(k).map(|e| &e.value) {
                    Some(Value::Str(s)) => Some(s.bytes.clone()),
                    _ => None,
                };
                reply.extend(bulk_or_nil(x));
            }
            done(reply)
        }
        "mset" | "msetnx" => {
            if req.len().is_multiple_of(2) {
                return fail(resp::err(&format!(
                    "wrong number of arguments for '{name}' command"
                )));
            }
            if name == "msetnx" {
                for k in req[1..].iter().step_by(2) {
                    if v.exists(k) {
                        return done(resp::int(0));
                    }
                }
            }
            for pair in req[1..].chunks(2) {
                v.put(&pair[0], string(Str::encoded(pair[1].clone()), None));
            }
            done(if name == "msetnx" {
                resp::int(1)
            } else {
                resp::ok()
            })
        }
        "append" => {
            let suffix = &req[2];
            let len = match v.get_str(key)? {
                Some(mut old) => {
                    old.extend_from_slice(suffix);
                    let n = old.len();
                    let e = v.lookup(key).expect("present");
                    *bytes_mut(e) = Str::raw(old);
                    n
                }
                None => {
                    v.put(key, string(Str::encoded(suffix.clone()), None));
                    suffix.len()
                }
            };
            done(resp::int(len as i64))
        }
        "strlen" => done(resp::int(v.get_str(key)?.map_or(0, |x| x.len() as i64))),
        "getrange" | "substr" => {
            let mut start = int_arg(&req[2])?;
            let mut end = int_arg(&req[3])?;
            let Some(s) = v.get_str(key)? else {
                return done(resp::bulk(b""));
            };
            let len = s.len() as i64;
            if start < 0 && end < 0 && start > end {
                return done(resp::bulk(b""));
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
                done(resp::bulk(b""))
            } else {
                done(resp::bulk(&s[start as usize..=end as usize]))
            }
        }
        "setrange" => {
            let offset = int_arg(&req[2])?;
            if offset < 0 {
                return fail(resp::err("offset is out of range"));
            }
            let value = &req[3];
            let too_long = offset as u64 + value.len() as u64 > STRING_LEN_MAX;
            let limit = || resp::err("string exceeds maximum allowed size (proto-max-bulk-len)");
            let mut s = match v.get_str(key)? {
                None => {
                    if value.is_empty() {
                        return done(resp::int(0));
                    }
                    if too_long {
                        return fail(limit());
                    }
                    Vec::new()
                }
                Some(old) => {
                    if value.is_empty() {
                        return done(resp::int(old.len() as i64));
                    }
                    if too_long {
                        return fail(limit());
                    }
                    old
                }
            };
            let offset = offset as usize;
            if s.len() < offset + value.len() {
                s.resize(offset + value.len(), 0);
            }
            s[offset..offset + value.len()].copy_from_slice(value);
            let n = s.len();
            match v.lookup(key) {
                Some(e) => *bytes_mut(e) = Str::raw(s),
                None => v.put(key, string(Str::raw(s), None)),
            }
            done(resp::int(n as i64))
        }
        "incr" | "decr" | "incrby" | "decrby" => {
            let by = match name {
                "incr" => 1,
                "decr" => -1,
                "incrby" => int_arg(&req[2])?,
                _ => {
                    let n = int_arg(&req[2])?;
                    if n == i64::MIN {
                        return fail(resp::err("decrement would overflow"));
                    }
                    -n
                }
            };
            let old = match v.get_str(key)? {
                Some(s) => int_arg(&s)?,
                None => 0,
            };
            let deadline = v.lookup(key).and_then(|e| e.deadline_ms);
            let Some(new) = old.checked_add(by) else {
                return fail(resp::err("increment or decrement would overflow"));
            };
            v.put(key, string(Str::int(new), deadline));
            done(resp::int(new))
        }
        "incrbyfloat" => {
            let float = |raw: &[u8]| match numbers::parse_long_double(raw) {
                Ok(x) => Ok(x),
                Err(FloatParse::Invalid) => fail(resp::err("value is not a valid float")),
                Err(FloatParse::Unsupported(what)) => limitation(format!("INCRBYFLOAT on {what}")),
            };
            let old = match v.get_str(key)? {
                Some(s) => float(&s)?,
                None => LongDouble::Quarters(0),
            };
            let deadline = v.lookup(key).and_then(|e| e.deadline_ms);
            let by = float(&req[2])?;
            let Some(sum) = numbers::add_long_double(old, by) else {
                return fail(resp::err("increment would produce NaN or Infinity"));
            };
            let text = numbers::format_quarters(sum).into_bytes();
            v.put(key, string(Str::created(text.clone()), deadline));
            done(resp::bulk(&text))
        }
        _ => unreachable!("dispatched by apply"),
    }
}

fn key_command(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let w = v.wall_ms;
    let key = req[1].as_slice();
    match name {
        "del" | "unlink" => {
            let mut n = 0;
            for k in &req[1..] {
                if v.exists(k) {
                    v.delete(k);
                    n += 1;
                }
            }
            done(resp::int(n))
        }
        "exists" | "touch" => {
            let n = req[1..].iter().filter(|k| v.exists(k)).count();
            done(resp::int(n as i64))
        }
        "type" => done(resp::simple(v.type_of(key).unwrap_or("none"))),
        "object" => {
            // OBJECT ENCODING key (the only subcommand modelled; checked by exec).
            let p = v.p;
            done(match v.lookup(&req[2]) {
                Some(e) => resp::bulk(e.value.encoding_name().as_bytes()),
                None => p.nil(),
            })
        }
        "expire" | "pexpire" | "expireat" | "pexpireat" => expire_command(name, req, v),
        "ttl" | "pttl" | "expiretime" | "pexpiretime" => {
            let Some(e) = v.lookup(key) else {
                return done(resp::int(-2));
            };
            let Some(d) = e.deadline_ms else {
                return done(resp::int(-1));
            };
            let absolute = name.contains("time");
            let ms = if absolute { d } else { d - w }.max(0);
            done(resp::int(if name.starts_with('p') {
                ms
            } else {
                (ms + 500) / 1000
            }))
        }
        "persist" => done(resp::int(match v.lookup(key) {
            Some(e) if e.deadline_ms.is_some() => {
                e.deadline_ms = None;
                1
            }
            _ => 0,
        })),
        "rename" | "renamenx" => {
            let nx = name == "renamenx";
            let dst = req[2].as_slice();
            let Some(entry) = v.lookup(key).cloned() else {
                return fail(resp::err("no such key"));
            };
            if key == dst {
                return done(if nx { resp::int(0) } else { resp::ok() });
            }
            if let Some(t) = v.type_of(dst) {
                if nx {
                    return done(resp::int(0));
                }
                if t != entry.value.type_name() {
                    v.event(format!("rename: {} over {t}", entry.value.type_name()));
                }
                v.delete(dst);
            }
            v.put(dst, entry);
            v.replaced(dst);
            v.delete(key);
            done(if nx { resp::int(1) } else { resp::ok() })
        }
        "copy" => {
            let dst = req[2].as_slice();
            let mut replace = false;
            for opt in &req[3..] {
                if opt.eq_ignore_ascii_case(b"replace") {
                    replace = true;
                } else {
                    // The workload never names another database.
                    return fail(resp::err("syntax error"));
                }
            }
            if key == dst {
                return fail(resp::err("source and destination objects are the same"));
            }
            let Some(entry) = v.lookup(key).cloned() else {
                return done(resp::int(0));
            };
            if let Some(t) = v.type_of(dst) {
                if !replace {
                    return done(resp::int(0));
                }
                if t != entry.value.type_name() {
                    v.event(format!("copy: {} over {t}", entry.value.type_name()));
                }
                v.delete(dst);
            }
            v.put(dst, entry);
            v.replaced(dst);
            done(resp::int(1))
        }
        _ => unreachable!("dispatched by apply"),
    }
}

/// Redis's expireGenericCommand.
fn expire_command(name: &str, req: &[Vec<u8>], v: &mut View) -> Eval {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &req[3..] {
        match opt.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                return fail(resp::err(&format!(
                    "Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    if nx && (xx || gt || lt) {
        return fail(resp::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return fail(resp::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = int_arg(&req[2])?;
    if name == "expire" || name == "expireat" {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return fail(invalid_expire(name));
        }
        when *= 1000;
    }
    let base = if name.ends_with("at") { 0 } else { v.wall_ms };
    if when > i64::MAX - base {
        return fail(invalid_expire(name));
    }
    when += base;
    let key = req[1].as_slice();
    let wall_ms = v.wall_ms;
    let Some(entry) = v.lookup(key) else {
        return done(resp::int(0));
    };
    let current = entry.deadline_ms;
    if (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| when <= c))
        || (lt && current.is_some_and(|c| when >= c))
    {
        return done(resp::int(0));
    }
    if when <= wall_ms {
        v.delete(key);
    } else {
        entry.deadline_ms = Some(when);
    }
    done(resp::int(1))
}
