//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG and
//! PFSELFTEST. The values are plain strings in the byte format of `crate::hll`; these
//! handlers add Redis's lookups, validity checks, cache updates and replies.

use crate::command::{Ctx, Handler};
use crate::hll::{self, ERR_CORRUPT, ERR_NOT_HLL, REGISTERS};
use crate::object::{StrValue, Value, WRONGTYPE};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", pfselftest),
];

fn sparse_max_bytes(srv: &Server) -> u64 {
    u64::try_from(srv.config.hll_sparse_max_bytes).unwrap_or(0)
}

/// isHLLObjectOrReply: a string (not int-encoded) with a well-formed header. Err
/// after WRONGTYPE or the not-an-HLL reply.
fn check_hll(ctx: &mut Ctx<'_>, value: &Value) -> Result<(), ()> {
    let ok = match value {
        Value::Str(StrValue::Int(_)) => false,
        Value::Str(StrValue::Embstr(b)) => hll::is_valid(b),
        Value::Str(StrValue::Raw(v)) => hll::is_valid(v),
        _ => {
            ctx.reply.error(WRONGTYPE);
            return Err(());
        }
    };
    if ok {
        Ok(())
    } else {
        ctx.reply.error(ERR_NOT_HLL);
        Err(())
    }
}

/// The bytes of a value that passed [`check_hll`].
fn hll_bytes(value: &Value) -> &[u8] {
    match value {
        Value::Str(StrValue::Embstr(b)) => b,
        Value::Str(StrValue::Raw(v)) => v,
        _ => unreachable!("checked by check_hll"),
    }
}

/// The HLL at `key` for writing, as a raw buffer (dbUnshareStringValue), created
/// empty (sparse) when missing; the flag tells whether it was created. Err after an
/// error reply.
fn hll_for_write<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<(&'s mut Vec<u8>, bool), ()> {
    let db = ctx.db;
    let created = match srv.lookup_write(db, key) {
        None => true,
        Some(obj) => {
            check_hll(ctx, &obj.value)?;
            false
        }
    };
    if created {
        let lru = srv.lru_clock();
        srv.dbs[db].add(key, Value::Str(StrValue::raw(hll::new_sparse())), lru);
    }
    match srv.dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Str(s)) => Ok((s.make_raw(), created)),
        _ => unreachable!("the key was just checked or created as a string"),
    }
}

fn pfadd(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let max_bytes = sparse_max_bytes(srv);
    let key = ctx.arg(1);
    let Ok((s, created)) = hll_for_write(srv, ctx, key) else {
        return;
    };
    let mut updated = created as u64;
    let mut writer = hll::Writer::new(s, max_bytes);
    for j in 2..ctx.argc() {
        match writer.add(ctx.arg(j)) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
        }
    }
    if updated > 0 {
        hll::invalidate_cache(s);
        srv.mark_dirty(updated);
    }
    ctx.reply.int((updated > 0) as i64);
}

fn pfcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let db = ctx.db;
    if ctx.argc() > 2 {
        // The cardinality of the union, merged on the fly into one byte per register.
        let mut max = Box::new([0u8; REGISTERS]);
        for j in 1..ctx.argc() {
            let Some(obj) = srv.lookup_read(db, ctx.arg(j)) else {
                continue;
            };
            if check_hll(ctx, &obj.value).is_err() {
                return;
            }
            if hll::merge(&mut max, hll_bytes(&obj.value)).is_err() {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
        }
        ctx.reply.int(hll::count_registers(&max) as i64);
        return;
    }
    let key = ctx.arg(1);
    let Some(obj) = srv.lookup_read(db, key) else {
        ctx.reply.int(0);
        return;
    };
    if check_hll(ctx, &obj.value).is_err() {
        return;
    }
    let Value::Str(value) = &mut obj.value else {
        unreachable!("checked by check_hll")
    };
    let s = value.make_raw();
    let card = match hll::cached_card(s) {
        Some(card) => card,
        None => {
            let (card, invalid) = hll::count(s);
            if invalid {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
            // Storing the estimate changes the string, so it is a write to
            // propagate even though PFCOUNT is a read command.
            hll::set_cached_card(s, card);
            srv.mark_dirty(1);
            card
        }
    };
    ctx.reply.int(card as i64);
}

fn pfmerge(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let db = ctx.db;
    let max_bytes = sparse_max_bytes(srv);
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    // The destination is argument 1 and is merged too.
    for j in 1..ctx.argc() {
        let Some(obj) = srv.lookup_read(db, ctx.arg(j)) else {
            continue;
        };
        if check_hll(ctx, &obj.value).is_err() {
            return;
        }
        let s = hll_bytes(&obj.value);
        if hll::encoding(s) == hll::DENSE {
            use_dense = true;
        }
        if hll::merge(&mut max, s).is_err() {
            ctx.reply.error(ERR_CORRUPT);
            return;
        }
    }
    let dest = ctx.arg(1);
    let Ok((s, _)) = hll_for_write(srv, ctx, dest) else {
        return;
    };
    let mut writer = hll::Writer::new(s, max_bytes);
    if use_dense && writer.to_dense().is_err() {
        ctx.reply.error(ERR_CORRUPT);
        return;
    }
    for (index, &count) in max.iter().enumerate() {
        if count == 0 {
            continue;
        }
        // The destination was validated by the merge above, so it cannot be
        // corrupt here; Redis ignores the result the same way.
        let _ = writer.raise(index, count);
    }
    hll::invalidate_cache(s);
    srv.mark_dirty(1);
    ctx.reply.ok();
}

fn pfdebug(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let sub = ctx.arg(1);
    let key = ctx.arg(2);
    let db = ctx.db;
    // The key is checked (and unshared) before the subcommand is even looked at.
    match srv.lookup_write(db, key) {
        None => {
            ctx.reply.error("The specified key does not exist");
            return;
        }
        Some(obj) => {
            if check_hll(ctx, &obj.value).is_err() {
                return;
            }
        }
    }
    let Ok((s, _)) = hll_for_write(srv, ctx, key) else {
        return;
    };
    let name = match sub.iter().position(|&b| b == 0) {
        Some(nul) => &sub[..nul],
        None => sub,
    };
    // A conversion to dense changes the string: a write to propagate.
    let mut converted = false;
    if name.eq_ignore_ascii_case(b"getreg") || name.eq_ignore_ascii_case(b"todense") {
        if hll::encoding(s) == hll::SPARSE {
            if hll::sparse_to_dense(s).is_err() {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
            converted = true;
        }
        if name.eq_ignore_ascii_case(b"getreg") {
            ctx.reply.array(REGISTERS);
            let regs = &s[hll::HDR_SIZE..];
            for i in 0..REGISTERS {
                ctx.reply.int(hll::dense_get(regs, i) as i64);
            }
        } else {
            ctx.reply.int(converted as i64);
        }
    } else if name.eq_ignore_ascii_case(b"decode") {
        if hll::encoding(s) != hll::SPARSE {
            ctx.reply.error("HLL encoding is not sparse");
            return;
        }
        ctx.reply.bulk(hll::decode(s).as_bytes());
    } else if name.eq_ignore_ascii_case(b"encoding") {
        let name = if hll::encoding(s) == hll::DENSE {
            "dense"
        } else {
            "sparse"
        };
        ctx.reply.simple(name);
    } else {
        ctx.reply.error(&format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(name)
        ));
    }
    if converted {
        srv.mark_dirty(1);
    }
}

fn pfselftest(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let max_bytes = sparse_max_bytes(srv);
    match hll::selftest(&mut srv.rng, max_bytes) {
        Ok(()) => ctx.reply.ok(),
        Err(msg) => ctx.reply.error(&msg),
    }
}
