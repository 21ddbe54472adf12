//! List commands (Redis's t_list.c): pushes and pops at both ends (with counts, and
//! LMPOP across keys), LMOVE and RPOPLPUSH, index access (LINDEX, LSET, LRANGE,
//! LTRIM), LINSERT, LREM and LPOS, plus the DEBUG subcommands that inspect list
//! encodings (LISTPACK, QUICKLIST, QUICKLIST-PACKED-THRESHOLD). Replies and argument
//! checks are Redis 7.0's, in its order; encodings and their conversions are
//! Redis 7.2's (`types/list.rs`). The blocking family (BLPOP, BRPOP, BLMOVE,
//! BLMPOP, BRPOPLPUSH) lives in `cmd/blocking.rs` and pops through the `pub(crate)`
//! functions here, so a served blocked client has exactly a non-blocking pop's effects.

use super::{arg_i64, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::io::LogLevel;
use crate::listpack::LpEntry;
use crate::object::{Value, WRONGTYPE};
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_LIST};
use crate::server::Server;
use crate::types::list::{List, ListConfig};
use crate::types::quicklist::{Elem, PACKED_THRESHOLD_DEFAULT, PACKED_THRESHOLD_MAX};
use crate::util::{eq_ic, parse_i64};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
];

const ERR_NO_SUCH_KEY: &str = "no such key";
const ERR_INDEX_RANGE: &str = "index out of range";
const ERR_MUST_BE_POSITIVE: &str = "value is out of range, must be positive";

/// The thresholds a list write reads, at the moment of the write.
pub fn list_config(srv: &Server) -> ListConfig {
    ListConfig {
        max_listpack_size: srv.config.list_max_listpack_size,
        compress_depth: srv.config.list_compress_depth,
        packed_threshold: srv.list_packed_threshold,
    }
}

/// The list at `key` for reading (lookupKeyRead); Err after replying WRONGTYPE.
fn read<'s>(srv: &'s mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<&'s List>, ()> {
    match srv.lookup_read(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            Value::List(l) => Ok(Some(l)),
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// The list at `key` for writing (lookupKeyWrite); Err after replying WRONGTYPE.
fn write<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<&'s mut List>, ()> {
    match srv.lookup_write(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &mut obj.value {
            Value::List(l) => Ok(Some(l)),
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// Does `key` hold a non-empty list (lookupKeyWrite)? Err after replying WRONGTYPE.
pub(crate) fn check_write(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, ()> {
    write(srv, ctx, key).map(|l| l.is_some_and(|l| !l.is_empty()))
}

/// The list at `key`, already checked to be one.
fn list_mut<'s>(srv: &'s mut Server, db: usize, key: &[u8]) -> &'s mut List {
    match srv.dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::List(l)) => l,
        _ => unreachable!("the key was just checked to hold a list"),
    }
}

/// listElementsRemoved (and LTRIM's and LMOVE's tails, which do the same): the
/// list event (`lpop`, `rpop`, `ltrim`), then an emptied list's key goes with a
/// `del` event while a shrunk one may become a listpack again; watchers are
/// signalled either way.
fn elements_removed(srv: &mut Server, db: usize, key: &[u8], count: usize, event: &str) {
    let cfg = list_config(srv);
    srv.notify_keyspace_event(NOTIFY_LIST, event, key, db);
    let list = list_mut(srv, db, key);
    if list.is_empty() {
        srv.delete_key(db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, db);
    } else {
        list.after_shrink(&cfg);
    }
    srv.signal_modified_key(db, key);
    srv.mark_dirty(count as u64);
}

fn pop_event(head: bool) -> &'static str {
    if head {
        "lpop"
    } else {
        "rpop"
    }
}

fn push_event(head: bool) -> &'static str {
    if head {
        "lpush"
    } else {
        "rpush"
    }
}

fn reply_entry(ctx: &mut Ctx<'_>, e: LpEntry<'_>) {
    match e {
        LpEntry::Int(n) => ctx.reply.bulk_i64(n),
        LpEntry::Str(s) => ctx.reply.bulk(s),
    }
}

fn reply_elem(ctx: &mut Ctx<'_>, e: &Elem) {
    match e {
        Elem::Int(n) => ctx.reply.bulk_i64(*n),
        Elem::Str(s) => ctx.reply.bulk(s),
    }
}

/// getLongFromObjectOrReply with a custom message for every failure, then a range
/// check (getRangeLongFromObjectOrReply with `msg`).
pub(crate) fn arg_in_range(ctx: &mut Ctx<'_>, i: usize, min: i64, msg: &str) -> Option<i64> {
    match parse_i64(ctx.arg(i)) {
        Some(n) if n >= min => Some(n),
        _ => {
            ctx.reply.error(msg);
            None
        }
    }
}

/// LEFT / RIGHT (getListPositionFromObjectOrReply): true for LEFT, the head.
pub(crate) fn arg_position(ctx: &mut Ctx<'_>, i: usize) -> Option<bool> {
    let arg = ctx.arg(i);
    if eq_ic(arg, "right") {
        Some(false)
    } else if eq_ic(arg, "left") {
        Some(true)
    } else {
        ctx.reply.error(ERR_SYNTAX);
        None
    }
}

fn lpush(srv: &mut Server, ctx: &mut Ctx<'_>) {
    push_generic(srv, ctx, true, false);
}

fn rpush(srv: &mut Server, ctx: &mut Ctx<'_>) {
    push_generic(srv, ctx, false, false);
}

fn lpushx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    push_generic(srv, ctx, true, true);
}

fn rpushx(srv: &mut Server, ctx: &mut Ctx<'_>) {
    push_generic(srv, ctx, false, true);
}

/// pushGenericCommand; `only_existing` for the X variants.
fn push_generic(srv: &mut Server, ctx: &mut Ctx<'_>, head: bool, only_existing: bool) {
    let key = ctx.arg(1);
    let db = ctx.db;
    let cfg = list_config(srv);
    let Ok(existing) = write(srv, ctx, key).map(|l| l.is_some()) else {
        return;
    };
    if !existing {
        if only_existing {
            ctx.reply.int(0);
            return;
        }
        srv.db_add(db, key, Value::List(List::new()));
    }
    let list = list_mut(srv, db, key);
    let add_bytes = (2..ctx.argc()).map(|i| ctx.arg(i).len()).sum();
    list.prepare_growth(add_bytes, ctx.argc() - 2, &cfg);
    for i in 2..ctx.argc() {
        list.push(ctx.arg(i), head, &cfg);
    }
    let len = list.len();
    srv.mark_dirty((ctx.argc() - 2) as u64);
    ctx.reply.int(len as i64);
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(NOTIFY_LIST, push_event(head), key, db);
}

fn linsert(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let after = if eq_ic(ctx.arg(2), "after") {
        true
    } else if eq_ic(ctx.arg(2), "before") {
        false
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return;
    };
    let (key, pivot, value) = (ctx.arg(1), ctx.arg(3), ctx.arg(4));
    let cfg = list_config(srv);
    let list = match write(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.int(0);
            return;
        }
        Ok(Some(l)) => l,
    };
    // As in Redis, the conversion check runs before the pivot is known to exist.
    list.prepare_growth(value.len(), 1, &cfg);
    if !list.insert_at_pivot(pivot, value, after, &cfg) {
        ctx.reply.int(-1);
        return;
    }
    let len = list.len();
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_LIST, "linsert", key, ctx.db);
    srv.mark_dirty(1);
    ctx.reply.int(len as i64);
}

fn llen(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(l) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply.int(l.map_or(0, |l| l.len() as i64));
    }
}

/// A possibly negative index into a list of `len`, or None when out of range.
fn normalize_index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

fn lindex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let list = match read(srv, ctx, ctx.arg(1)) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.null();
            return;
        }
        Ok(Some(l)) => l,
    };
    let Some(index) = arg_i64(ctx, 2) else {
        return;
    };
    match normalize_index(index, list.len()) {
        Some(i) => list.walk(i, false, |e| {
            reply_entry(ctx, e);
            false
        }),
        None => ctx.reply.null(),
    }
}

fn lset(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (key, value) = (ctx.arg(1), ctx.arg(3));
    let cfg = list_config(srv);
    let list = match write(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.error(ERR_NO_SUCH_KEY);
            return;
        }
        Ok(Some(l)) => l,
    };
    let Some(index) = arg_i64(ctx, 2) else {
        return;
    };
    list.prepare_growth(value.len(), 1, &cfg);
    match normalize_index(index, list.len()) {
        Some(i) => {
            list.replace(i, value, &cfg);
            // A big value may have been replaced by a small one.
            list.after_shrink(&cfg);
            ctx.reply.ok();
            srv.signal_modified_key(ctx.db, key);
            srv.notify_keyspace_event(NOTIFY_LIST, "lset", key, ctx.db);
            srv.mark_dirty(1);
        }
        None => ctx.reply.error(ERR_INDEX_RANGE),
    }
}

/// addListRangeReply: elements `start..=end` (negative from the tail), reversed
/// when `reverse`.
fn reply_range(ctx: &mut Ctx<'_>, list: &List, start: i64, end: i64, reverse: bool) {
    let len = list.len() as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        ctx.reply.array(0);
        return;
    }
    if end >= len {
        end = len - 1;
    }
    let mut left = (end - start + 1) as usize;
    ctx.reply.array(left);
    let from = if reverse { end } else { start };
    list.walk(from as usize, reverse, |e| {
        reply_entry(ctx, e);
        left -= 1;
        left > 0
    });
    debug_assert_eq!(left, 0);
}

fn lrange(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(start) = arg_i64(ctx, 2) else {
        return;
    };
    let Some(end) = arg_i64(ctx, 3) else {
        return;
    };
    match read(srv, ctx, ctx.arg(1)) {
        Err(()) => {}
        Ok(None) => ctx.reply.array(0),
        Ok(Some(l)) => reply_range(ctx, l, start, end, false),
    }
}

fn ltrim(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(start) = arg_i64(ctx, 2) else {
        return;
    };
    let Some(end) = arg_i64(ctx, 3) else {
        return;
    };
    let key = ctx.arg(1);
    let list = match write(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.ok();
            return;
        }
        Ok(Some(l)) => l,
    };
    let len = list.len() as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    let (ltrim, rtrim) = if start > end || start >= len {
        (len, 0)
    } else {
        if end >= len {
            end = len - 1;
        }
        (start, len - end - 1)
    };
    list.delete_range(0, ltrim as usize);
    list.delete_range(-rtrim, rtrim as usize);
    elements_removed(srv, ctx.db, key, (ltrim + rtrim) as usize, "ltrim");
    ctx.reply.ok();
}

fn lpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    pop_generic(srv, ctx, true);
}

fn rpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    pop_generic(srv, ctx, false);
}

/// Pop `count` elements from one end, replying with them in popping order
/// (listPopRangeAndReplyWithKey's range part). Returns how many went.
fn pop_range(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8], head: bool, count: u64) -> usize {
    let list = list_mut(srv, ctx.db, key);
    let len = list.len() as i64;
    let n = count.min(len as u64) as i64;
    if head {
        reply_range(ctx, list, 0, n - 1, false);
        list.delete_range(0, n as usize);
    } else {
        reply_range(ctx, list, -n, -1, true);
        list.delete_range(-n, n as usize);
    }
    elements_removed(srv, ctx.db, key, n as usize, pop_event(head));
    n as usize
}

/// popGenericCommand.
fn pop_generic(srv: &mut Server, ctx: &mut Ctx<'_>, head: bool) {
    if ctx.argc() > 3 {
        ctx.reply.error(&format!(
            "wrong number of arguments for '{}' command",
            ctx.spec.fullname
        ));
        return;
    }
    let with_count = ctx.argc() == 3;
    let mut count = 0u64;
    if with_count {
        let Some(n) = arg_in_range(ctx, 2, 0, ERR_MUST_BE_POSITIVE) else {
            return;
        };
        count = n as u64;
    }
    let key = ctx.arg(1);
    let list = match write(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            if with_count {
                ctx.reply.null_array();
            } else {
                ctx.reply.null();
            }
            return;
        }
        Ok(Some(l)) => l,
    };
    if with_count && count == 0 {
        ctx.reply.array(0);
        return;
    }
    if !with_count {
        let elem = list
            .pop(head)
            .expect("lists in the keyspace are never empty");
        reply_elem(ctx, &elem);
        elements_removed(srv, ctx.db, key, 1, pop_event(head));
        return;
    }
    pop_range(srv, ctx, key, head, count);
}

/// What LMPOP and BLMPOP read after their fixed arguments.
pub(crate) struct MpopArgs {
    /// Argument indexes of the keys.
    pub keys: std::ops::Range<usize>,
    pub head: bool,
    pub count: u64,
}

/// lmpopGenericCommand's parsing: `numkeys` at `numkeys_idx`, then the keys,
/// LEFT|RIGHT and an optional COUNT, with Redis's errors in its order.
pub(crate) fn parse_mpop(ctx: &mut Ctx<'_>, numkeys_idx: usize) -> Option<MpopArgs> {
    let numkeys = arg_in_range(ctx, numkeys_idx, 1, "numkeys should be greater than 0")?;
    let where_idx = (numkeys as u64).saturating_add(numkeys_idx as u64 + 1);
    if where_idx >= ctx.argc() as u64 {
        ctx.reply.error(ERR_SYNTAX);
        return None;
    }
    let where_idx = where_idx as usize;
    let head = arg_position(ctx, where_idx)?;
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < ctx.argc() {
        let more = ctx.argc() - 1 - j;
        if count.is_none() && eq_ic(ctx.arg(j), "count") && more > 0 {
            j += 1;
            count = Some(arg_in_range(ctx, j, 1, "count should be greater than 0")?);
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(MpopArgs {
        keys: numkeys_idx + 1..where_idx,
        head,
        count: count.unwrap_or(1) as u64,
    })
}

/// Pop up to `count` elements of the non-empty list at `key`, replying
/// [key, [elements]] (listPopRangeAndReplyWithKey).
pub(crate) fn mpop_with_key(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
    head: bool,
    count: u64,
) {
    ctx.reply.array(2);
    ctx.reply.bulk(key);
    let popped = pop_range(srv, ctx, key, head, count);
    // Propagated as [LR]POP key count, with the count actually popped, whether
    // LMPOP or BLMPOP and whether at once or served later.
    ctx.rewrite_argv_with(|_| {
        vec![
            pop_command(head).to_vec(),
            key.to_vec(),
            popped.to_string().into_bytes(),
        ]
    });
}

/// The plain pop a pop from one end propagates as.
fn pop_command(head: bool) -> &'static [u8] {
    if head {
        b"LPOP"
    } else {
        b"RPOP"
    }
}

/// Pop one element of the non-empty list at `key`, replying [key, element]
/// (BLPOP and BRPOP, served at once or later).
pub(crate) fn pop_with_key(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8], head: bool) {
    let elem = list_mut(srv, ctx.db, key)
        .pop(head)
        .expect("lists in the keyspace are never empty");
    ctx.reply.array(2);
    ctx.reply.bulk(key);
    reply_elem(ctx, &elem);
    elements_removed(srv, ctx.db, key, 1, pop_event(head));
    // B[LR]POP propagates as the plain pop of the key it popped from.
    ctx.rewrite_argv_with(|_| vec![pop_command(head).to_vec(), key.to_vec()]);
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(args) = parse_mpop(ctx, 1) else {
        return;
    };
    for k in args.keys {
        let key = ctx.arg(k);
        match check_write(srv, ctx, key) {
            Err(()) => return,
            Ok(false) => continue,
            Ok(true) => {}
        }
        mpop_with_key(srv, ctx, key, args.head, args.count);
        return;
    }
    ctx.reply.null_array();
}

fn lmove(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(from_head) = arg_position(ctx, 3) else {
        return;
    };
    let Some(to_head) = arg_position(ctx, 4) else {
        return;
    };
    lmove_generic(srv, ctx, from_head, to_head);
}

fn rpoplpush(srv: &mut Server, ctx: &mut Ctx<'_>) {
    lmove_generic(srv, ctx, false, true);
}

/// lmoveGenericCommand: pop from the source, push to the destination (created if
/// missing; the same list when both keys are one), reply with the element.
fn lmove_generic(srv: &mut Server, ctx: &mut Ctx<'_>, from_head: bool, to_head: bool) {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    lmove_keys(srv, ctx, src, dst, from_head, to_head);
}

/// lmoveGenericCommand on explicit keys (BLMOVE serves its blocked clients with it).
pub(crate) fn lmove_keys(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    src: &[u8],
    dst: &[u8],
    from_head: bool,
    to_head: bool,
) {
    let db = ctx.db;
    let cfg = list_config(srv);
    match write(srv, ctx, src) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.null();
            return;
        }
        Ok(Some(l)) if l.is_empty() => {
            ctx.reply.null();
            return;
        }
        Ok(Some(_)) => {}
    }
    let Ok(dst_exists) = write(srv, ctx, dst).map(|l| l.is_some()) else {
        return;
    };
    let elem = list_mut(srv, db, src)
        .pop(from_head)
        .expect("the source list is not empty");
    // lmoveHandlePush: the destination first, then the source's pop.
    if !dst_exists {
        srv.db_add(db, dst, Value::List(List::new()));
    }
    srv.signal_modified_key(db, dst);
    let target = list_mut(srv, db, dst);
    // An integer popped from a quicklist is an integer object in Redis, whose
    // bytes the conversion check does not count.
    let add_bytes = match &elem {
        Elem::Str(s) => s.len(),
        Elem::Int(_) => 0,
    };
    target.prepare_growth(add_bytes, 1, &cfg);
    target.push(&elem.to_bytes(), to_head, &cfg);
    srv.notify_keyspace_event(NOTIFY_LIST, push_event(to_head), dst, db);
    reply_elem(ctx, &elem);
    elements_removed(srv, db, src, 1, pop_event(from_head));
    // The blocking forms run at once propagate as their plain commands, with the
    // request's own arguments (a served client's are rewritten when it is served).
    match ctx.spec.fullname {
        "blmove" => ctx.rewrite_argv_with(|c| {
            let mut argv = c.request_argv();
            argv.truncate(5);
            argv[0] = b"LMOVE".to_vec();
            argv
        }),
        "brpoplpush" => ctx.rewrite_argv_with(|c| {
            vec![b"RPOPLPUSH".to_vec(), c.arg(1).to_vec(), c.arg(2).to_vec()]
        }),
        _ => {}
    }
}

fn lrem(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(count) = arg_i64(ctx, 2) else {
        return;
    };
    let (key, value) = (ctx.arg(1), ctx.arg(3));
    let cfg = list_config(srv);
    let list = match write(srv, ctx, key) {
        Err(()) => return,
        Ok(None) => {
            ctx.reply.int(0);
            return;
        }
        Ok(Some(l)) => l,
    };
    // LREM key LONG_MIN removes every match: its negation stays negative in C, so
    // the "removed enough" test never fires; a limit beyond any length does the same.
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = list.remove_matching(value, limit, count < 0);
    let emptied = list.is_empty();
    if !emptied && removed > 0 {
        list.after_shrink(&cfg);
    }
    if removed > 0 {
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_LIST, "lrem", key, ctx.db);
    }
    if emptied {
        srv.delete_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
    }
    srv.mark_dirty(removed as u64);
    ctx.reply.int(removed as i64);
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < ctx.argc() {
        let opt = ctx.arg(j);
        let more = ctx.argc() - 1 - j > 0;
        if eq_ic(opt, "rank") && more {
            j += 1;
            let Some(r) = arg_i64(ctx, j) else {
                return;
            };
            if r == 0 {
                ctx.reply.error(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                );
                return;
            }
            rank = r;
        } else if eq_ic(opt, "count") && more {
            j += 1;
            count = Some(match arg_in_range(ctx, j, 0, "COUNT can't be negative") {
                Some(n) => n,
                None => return,
            });
        } else if eq_ic(opt, "maxlen") && more {
            j += 1;
            maxlen = match arg_in_range(ctx, j, 0, "MAXLEN can't be negative") {
                Some(n) => n,
                None => return,
            };
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    // A negative rank searches from the tail. Redis negates a long: LONG_MIN stays
    // negative, so every match then counts as reaching the rank.
    let reverse = rank < 0;
    if reverse {
        rank = rank.wrapping_neg();
    }
    let list = match read(srv, ctx, ctx.arg(1)) {
        Err(()) => return,
        Ok(None) => {
            if count.is_some() {
                ctx.reply.array(0);
            } else {
                ctx.reply.null();
            }
            return;
        }
        Ok(Some(l)) => l,
    };
    let element = ctx.arg(2);
    let len = list.len();
    let start = if reverse { len.saturating_sub(1) } else { 0 };
    let mut index: i64 = 0;
    let mut matches: i64 = 0;
    let mut found: Option<i64> = None;
    let mut positions = Vec::new();
    list.walk(start, reverse, |e| {
        if maxlen != 0 && index >= maxlen {
            return false;
        }
        if e.eq_bytes(element) {
            matches += 1;
            let at = if reverse {
                len as i64 - index - 1
            } else {
                index
            };
            if matches >= rank {
                match count {
                    Some(c) => {
                        positions.push(at);
                        if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c {
                            return false;
                        }
                    }
                    None => {
                        found = Some(at);
                        return false;
                    }
                }
            }
        }
        index += 1;
        true
    });
    if count.is_some() {
        ctx.reply.array(positions.len());
        for p in positions {
            ctx.reply.int(p);
        }
    } else {
        match found {
            Some(p) => ctx.reply.int(p),
            None => ctx.reply.null(),
        }
    }
}

/// memtoull: digits and an optional b/k/kb/m/mb/g/gb unit; no sign, no spaces.
/// Overflow wraps as Redis's unsigned multiplication does.
fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = if unit.is_empty() || eq_ic(unit, "b") {
        1
    } else if eq_ic(unit, "k") {
        1000
    } else if eq_ic(unit, "kb") {
        1024
    } else if eq_ic(unit, "m") {
        1000 * 1000
    } else if eq_ic(unit, "mb") {
        1024 * 1024
    } else if eq_ic(unit, "g") {
        1000 * 1000 * 1000
    } else if eq_ic(unit, "gb") {
        1024 * 1024 * 1024
    } else {
        return None;
    };
    if digits >= 128 {
        return None;
    }
    // strtoull: no digits reads as 0; too many saturates at ULLONG_MAX.
    let value = s[..digits].iter().try_fold(0u64, |acc, &c| {
        acc.checked_mul(10)?.checked_add((c - b'0') as u64)
    });
    Some(value.unwrap_or(u64::MAX).wrapping_mul(mul))
}

/// DEBUG QUICKLIST-PACKED-THRESHOLD <size>
pub fn debug_packed_threshold(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match memtoull(ctx.arg(2)) {
        Some(n) if n <= PACKED_THRESHOLD_MAX => {
            srv.list_packed_threshold = if n == 0 {
                PACKED_THRESHOLD_DEFAULT
            } else {
                n as usize
            };
            ctx.reply.ok();
        }
        _ => ctx
            .reply
            .error("argument must be a memory value bigger than 1 and smaller than 4gb"),
    }
}

/// DEBUG LISTPACK <key>: the listpack's entries go to the log (Redis prints them
/// on stdout).
pub fn debug_listpack(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(obj) = srv.lookup_read_no_notify(ctx.db, ctx.arg(2)) else {
        ctx.reply.error(ERR_NO_SUCH_KEY);
        return;
    };
    let Some(lp) = obj.value.as_listpack() else {
        ctx.reply.error("Not a listpack encoded object.");
        return;
    };
    let text = lp.repr();
    srv.log(LogLevel::Warning, text);
    ctx.reply.simple("Listpack structure printed on stdout");
}

/// DEBUG QUICKLIST <key> [<0|1>]: the quicklist's nodes (and with 1 their
/// entries) go to the log.
pub fn debug_quicklist(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let full = ctx.argc() == 4 && super::server::atoi(ctx.arg(3)) != 0;
    let Some(obj) = srv.lookup_read_no_notify(ctx.db, ctx.arg(2)) else {
        ctx.reply.error(ERR_NO_SUCH_KEY);
        return;
    };
    let Value::List(List::Quicklist(ql)) = &obj.value else {
        ctx.reply.error("Not a quicklist encoded object.");
        return;
    };
    let text = ql.repr(full);
    srv.log(LogLevel::Warning, text);
    ctx.reply.simple("Quicklist structure printed on stdout");
}

#[cfg(test)]
mod tests {
    use crate::object::Value;
    use crate::testing::{Frame, TestServer};
    use crate::types::list::List;

    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn debug_server() -> TestServer {
        TestServer::with_config(crate::Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        })
    }

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    fn all(t: &mut TestServer, key: &str) -> Vec<String> {
        match t.cmd(&["LRANGE", key, "0", "-1"]) {
            Frame::Array(v) => v.iter().map(|f| f.as_str()).collect(),
            other => panic!("{other:?}"),
        }
    }

    fn raw(t: &mut TestServer, cmd: &[&str]) -> Vec<u8> {
        let conn = t.default_conn();
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        t.send_raw(conn, &crate::testing::encode_command(&args));
        t.take_output(conn)
    }

    fn config(t: &mut TestServer, name: &str, value: &str) {
        assert_eq!(t.cmd(&["CONFIG", "SET", name, value]), Frame::ok());
    }

    /// (plain, compressed, entries, uncompressed bytes) of each quicklist node.
    fn shapes(t: &TestServer, key: &str) -> Vec<(bool, bool, usize, usize)> {
        match t.server.dbs[0].peek(key.as_bytes()).map(|o| &o.value) {
            Some(Value::List(List::Quicklist(ql))) => ql.node_shapes(),
            other => panic!("{key} is not a quicklist: {other:?}"),
        }
    }

    #[test]
    fn push_pop_and_length() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["RPUSH", "l", "a", "b", "c"]), Frame::Int(3));
        assert_eq!(t.cmd(&["LPUSH", "l", "x", "y"]), Frame::Int(5));
        assert_eq!(all(&mut t, "l"), ["y", "x", "a", "b", "c"]);
        assert_eq!(t.cmd(&["LPUSHX", "nope", "a"]), Frame::Int(0));
        assert_eq!(t.cmd(&["RPUSHX", "nope", "a", "b"]), Frame::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "nope"]), Frame::Int(0));
        assert_eq!(t.cmd(&["RPUSHX", "l", "z", "1"]), Frame::Int(7));
        assert_eq!(t.cmd(&["LPUSHX", "l", "-9"]), Frame::Int(8));
        assert_eq!(t.cmd(&["LLEN", "l"]), Frame::Int(8));
        assert_eq!(t.cmd(&["LLEN", "nope"]), Frame::Int(0));
        assert_eq!(t.cmd(&["LPOP", "l"]), Frame::bulk("-9"));
        assert_eq!(t.cmd(&["RPOP", "l"]), Frame::bulk("1"));
        assert_eq!(
            t.cmd(&["LPOP", "l", "2"]),
            Frame::array_of_bulks(&["y", "x"])
        );
        assert_eq!(
            t.cmd(&["RPOP", "l", "2"]),
            Frame::array_of_bulks(&["z", "c"])
        );
        assert_eq!(t.cmd(&["LPOP", "l", "0"]), Frame::Array(vec![]));
        assert_eq!(
            t.cmd(&["RPOP", "l", "100"]),
            Frame::array_of_bulks(&["b", "a"])
        );
        assert_eq!(t.cmd(&["EXISTS", "l"]), Frame::Int(0), "emptied lists go");
        assert_eq!(t.cmd(&["LPOP", "l"]), Frame::Null);
        assert_eq!(
            t.cmd(&["LPOP", "l", "1", "2"]),
            Frame::err("ERR wrong number of arguments for 'lpop' command")
        );
        assert_eq!(
            t.cmd(&["RPOP", "l", "-1"]),
            Frame::err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.cmd(&["RPOP", "l", "x"]),
            Frame::err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.cmd(&["LPUSH", "l"]),
            Frame::err("ERR wrong number of arguments for 'lpush' command")
        );
    }

    #[test]
    fn null_shapes_in_both_protocols() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "l", "a"]);
        for resp3 in [false, true] {
            if resp3 {
                t.cmd(&["HELLO", "3"]);
            }
            let (null, null_array) = if resp3 {
                (&b"_\r\n"[..], &b"_\r\n"[..])
            } else {
                (&b"$-1\r\n"[..], &b"*-1\r\n"[..])
            };
            assert_eq!(raw(&mut t, &["LPOP", "nope"]), null);
            assert_eq!(raw(&mut t, &["RPOP", "nope", "2"]), null_array);
            assert_eq!(raw(&mut t, &["RPOP", "nope", "0"]), null_array);
            assert_eq!(raw(&mut t, &["LPOP", "l", "0"]), b"*0\r\n");
            assert_eq!(raw(&mut t, &["LINDEX", "nope", "0"]), null);
            assert_eq!(raw(&mut t, &["LINDEX", "l", "5"]), null);
            assert_eq!(raw(&mut t, &["LPOS", "l", "zz"]), null);
            assert_eq!(raw(&mut t, &["LPOS", "nope", "zz"]), null);
            assert_eq!(
                raw(&mut t, &["LPOS", "nope", "zz", "COUNT", "0"]),
                b"*0\r\n"
            );
            assert_eq!(raw(&mut t, &["LMOVE", "nope", "l", "LEFT", "LEFT"]), null);
            assert_eq!(raw(&mut t, &["RPOPLPUSH", "nope", "l"]), null);
            assert_eq!(raw(&mut t, &["LMPOP", "1", "nope", "LEFT"]), null_array);
            assert_eq!(raw(&mut t, &["LRANGE", "nope", "0", "-1"]), b"*0\r\n");
        }
    }

    #[test]
    fn wrong_type_everywhere() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "v"]);
        t.cmd(&["RPUSH", "l", "a"]);
        for cmd in [
            vec!["LPUSH", "s", "a"],
            vec!["RPUSHX", "s", "a"],
            vec!["LPOP", "s"],
            vec!["RPOP", "s", "2"],
            vec!["LLEN", "s"],
            vec!["LRANGE", "s", "0", "1"],
            vec!["LINDEX", "s", "0"],
            vec!["LINDEX", "s", "notanumber"],
            vec!["LSET", "s", "0", "x"],
            vec!["LINSERT", "s", "BEFORE", "a", "b"],
            vec!["LREM", "s", "0", "a"],
            vec!["LTRIM", "s", "0", "1"],
            vec!["LPOS", "s", "a"],
            vec!["LMOVE", "s", "l", "LEFT", "RIGHT"],
            vec!["LMOVE", "l", "s", "LEFT", "RIGHT"],
            vec!["RPOPLPUSH", "l", "s"],
            vec!["LMPOP", "2", "nope", "s", "LEFT"],
        ] {
            assert_eq!(t.cmd(&cmd), Frame::err(WRONGTYPE), "{cmd:?}");
        }
        assert_eq!(all(&mut t, "l"), ["a"], "nothing moved on WRONGTYPE");
        assert_eq!(t.cmd(&["TYPE", "l"]), Frame::Simple("list".into()));
        // Arguments are checked before the key where Redis does so.
        assert_eq!(
            t.cmd(&["LRANGE", "s", "x", "1"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["LINSERT", "s", "MIDDLE", "a", "b"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(t.cmd(&["LPOS", "s", "a", "RANK", "0"]), Frame::err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
    }

    #[test]
    fn index_access() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "l", "a", "b", "c", "12"]);
        assert_eq!(t.cmd(&["LINDEX", "l", "0"]), Frame::bulk("a"));
        assert_eq!(t.cmd(&["LINDEX", "l", "-1"]), Frame::bulk("12"));
        assert_eq!(t.cmd(&["LINDEX", "l", "-4"]), Frame::bulk("a"));
        assert_eq!(t.cmd(&["LINDEX", "l", "-5"]), Frame::Null);
        assert_eq!(t.cmd(&["LINDEX", "l", "4"]), Frame::Null);
        assert_eq!(
            t.cmd(&["LINDEX", "l", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(t.cmd(&["LINDEX", "nope", "x"]), Frame::Null, "key first");
        assert_eq!(t.cmd(&["LSET", "l", "1", "B"]), Frame::ok());
        assert_eq!(t.cmd(&["LSET", "l", "-1", "13"]), Frame::ok());
        assert_eq!(
            t.cmd(&["LSET", "l", "4", "x"]),
            Frame::err("ERR index out of range")
        );
        assert_eq!(
            t.cmd(&["LSET", "l", "-9223372036854775808", "x"]),
            Frame::err("ERR index out of range")
        );
        assert_eq!(
            t.cmd(&["LSET", "nope", "0", "x"]),
            Frame::err("ERR no such key")
        );
        assert_eq!(
            t.cmd(&["LSET", "l", "y", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(all(&mut t, "l"), ["a", "B", "c", "13"]);
        for (start, end, want) in [
            ("0", "1", vec!["a", "B"]),
            ("-2", "-1", vec!["c", "13"]),
            ("-100", "1", vec!["a", "B"]),
            ("2", "100", vec!["c", "13"]),
            ("3", "2", vec![]),
            ("4", "10", vec![]),
            ("0", "-5", vec![]),
            (
                "-9223372036854775808",
                "9223372036854775807",
                vec!["a", "B", "c", "13"],
            ),
        ] {
            assert_eq!(
                t.cmd(&["LRANGE", "l", start, end]),
                Frame::array_of_bulks(&want),
                "{start} {end}"
            );
        }
    }

    #[test]
    fn ltrim_cases() {
        let mut t = TestServer::new();
        let fill = |t: &mut TestServer| {
            t.cmd(&["DEL", "l"]);
            t.cmd(&["RPUSH", "l", "1", "2", "3", "4", "5"]);
        };
        for (start, end, want) in [
            ("1", "-2", vec!["2", "3", "4"]),
            ("0", "0", vec!["1"]),
            ("-2", "100", vec!["4", "5"]),
            ("-100", "1", vec!["1", "2"]),
        ] {
            fill(&mut t);
            assert_eq!(t.cmd(&["LTRIM", "l", start, end]), Frame::ok());
            assert_eq!(all(&mut t, "l"), want, "{start} {end}");
        }
        for (start, end) in [("3", "1"), ("5", "10"), ("0", "-6")] {
            fill(&mut t);
            assert_eq!(t.cmd(&["LTRIM", "l", start, end]), Frame::ok());
            assert_eq!(t.cmd(&["EXISTS", "l"]), Frame::Int(0), "{start} {end}");
        }
        assert_eq!(t.cmd(&["LTRIM", "nope", "0", "1"]), Frame::ok());
        assert_eq!(
            t.cmd(&["LTRIM", "l", "a", "1"]),
            Frame::err("ERR value is not an integer or out of range")
        );
    }

    #[test]
    fn linsert_and_lrem() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "l", "a", "b", "a", "c", "a"]);
        assert_eq!(t.cmd(&["LINSERT", "l", "before", "b", "x"]), Frame::Int(6));
        assert_eq!(t.cmd(&["LINSERT", "l", "AFTER", "a", "y"]), Frame::Int(7));
        assert_eq!(t.cmd(&["LINSERT", "l", "AFTER", "zz", "y"]), Frame::Int(-1));
        assert_eq!(
            t.cmd(&["LINSERT", "nope", "AFTER", "a", "y"]),
            Frame::Int(0)
        );
        assert_eq!(
            t.cmd(&["LINSERT", "l", "around", "a", "y"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(all(&mut t, "l"), ["a", "y", "x", "b", "a", "c", "a"]);
        assert_eq!(t.cmd(&["LREM", "l", "-1", "a"]), Frame::Int(1));
        assert_eq!(all(&mut t, "l"), ["a", "y", "x", "b", "a", "c"]);
        assert_eq!(t.cmd(&["LREM", "l", "1", "a"]), Frame::Int(1));
        assert_eq!(all(&mut t, "l"), ["y", "x", "b", "a", "c"]);
        assert_eq!(t.cmd(&["LREM", "l", "0", "zz"]), Frame::Int(0));
        assert_eq!(t.cmd(&["LREM", "nope", "0", "a"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["LREM", "l", "x", "a"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        t.cmd(&["RPUSH", "m", "1", "2", "1", "1", "01"]);
        assert_eq!(
            t.cmd(&["LREM", "m", "-9223372036854775808", "1"]),
            Frame::Int(3)
        );
        assert_eq!(all(&mut t, "m"), ["2", "01"]);
        assert_eq!(t.cmd(&["LREM", "m", "0", "01"]), Frame::Int(1));
        assert_eq!(t.cmd(&["LREM", "m", "5", "2"]), Frame::Int(1));
        assert_eq!(t.cmd(&["EXISTS", "m"]), Frame::Int(0));
    }

    #[test]
    fn lpos_options() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"]);
        let ints = |v: &[i64]| Frame::Array(v.iter().map(|&n| Frame::Int(n)).collect());
        assert_eq!(t.cmd(&["LPOS", "l", "a"]), Frame::Int(0));
        assert_eq!(t.cmd(&["LPOS", "l", "c"]), Frame::Int(2));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "RANK", "2"]), Frame::Int(3));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "RANK", "-1"]), Frame::Int(6));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "RANK", "-3"]), Frame::Int(0));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "RANK", "4"]), Frame::Null);
        assert_eq!(t.cmd(&["LPOS", "l", "a", "COUNT", "0"]), ints(&[0, 3, 6]));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "COUNT", "2"]), ints(&[0, 3]));
        assert_eq!(
            t.cmd(&["LPOS", "l", "a", "COUNT", "2", "RANK", "-1"]),
            ints(&[6, 3])
        );
        assert_eq!(t.cmd(&["LPOS", "l", "zz", "COUNT", "2"]), ints(&[]));
        assert_eq!(t.cmd(&["LPOS", "l", "a", "MAXLEN", "3"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4"]),
            ints(&[0, 3])
        );
        assert_eq!(t.cmd(&["LPOS", "l", "c", "MAXLEN", "2"]), Frame::Null);
        assert_eq!(
            t.cmd(&["LPOS", "l", "a", "RANK", "-1", "MAXLEN", "1"]),
            Frame::Int(6)
        );
        assert_eq!(
            t.cmd(&["LPOS", "l", "a", "COUNT", "1", "COUNT", "0"]),
            ints(&[0, 3, 6])
        );
        // RANK LONG_MIN: negating it leaves it negative in Redis, so every match
        // counts and COUNT never stops the scan.
        assert_eq!(
            t.cmd(&["LPOS", "l", "a", "RANK", "-9223372036854775808"]),
            Frame::Int(6)
        );
        assert_eq!(
            t.cmd(&[
                "LPOS",
                "l",
                "a",
                "RANK",
                "-9223372036854775808",
                "COUNT",
                "1"
            ]),
            ints(&[6, 3, 0])
        );
        for (args, err) in [
            (vec!["RANK", "0"], "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
            (vec!["RANK", "x"], "ERR value is not an integer or out of range"),
            (vec!["COUNT", "-1"], "ERR COUNT can't be negative"),
            (vec!["COUNT", "x"], "ERR COUNT can't be negative"),
            (vec!["MAXLEN", "-1"], "ERR MAXLEN can't be negative"),
            (vec!["MAXLEN", "x"], "ERR MAXLEN can't be negative"),
            (vec!["RANK"], "ERR syntax error"),
            (vec!["FOO", "1"], "ERR syntax error"),
        ] {
            let mut cmd = vec!["LPOS", "l", "a"];
            cmd.extend(args.iter());
            assert_eq!(t.cmd(&cmd), Frame::err(err), "{args:?}");
        }
    }

    #[test]
    fn lmove_and_rpoplpush() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "src", "1", "2", "3"]);
        for (from, to, want_src, want_dst) in [
            ("LEFT", "LEFT", vec!["2", "3"], vec!["1"]),
            ("RIGHT", "LEFT", vec!["2"], vec!["3", "1"]),
            ("LEFT", "RIGHT", vec![], vec!["3", "1", "2"]),
        ] {
            let moved = t.cmd(&["LMOVE", "src", "dst", from, to]);
            assert!(matches!(moved, Frame::Bulk(_)));
            assert_eq!(all(&mut t, "src"), want_src);
            assert_eq!(all(&mut t, "dst"), want_dst);
        }
        assert_eq!(t.cmd(&["EXISTS", "src"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["LMOVE", "dst", "dst", "RIGHT", "LEFT"]),
            Frame::bulk("2")
        );
        assert_eq!(all(&mut t, "dst"), ["2", "3", "1"], "rotation in place");
        assert_eq!(t.cmd(&["RPOPLPUSH", "dst", "dst"]), Frame::bulk("1"));
        assert_eq!(all(&mut t, "dst"), ["1", "2", "3"]);
        t.cmd(&["RPUSH", "one", "x"]);
        assert_eq!(t.cmd(&["RPOPLPUSH", "one", "one"]), Frame::bulk("x"));
        assert_eq!(
            all(&mut t, "one"),
            ["x"],
            "a one-element rotation keeps the key"
        );
        assert_eq!(t.cmd(&["RPOPLPUSH", "one", "other"]), Frame::bulk("x"));
        assert_eq!(t.cmd(&["EXISTS", "one"]), Frame::Int(0));
        assert_eq!(
            t.cmd(&["LMOVE", "dst", "x", "UP", "LEFT"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["LMOVE", "dst", "x", "LEFT", "DOWN"]),
            Frame::err("ERR syntax error")
        );
    }

    #[test]
    fn lmpop_parsing_and_popping() {
        let mut t = TestServer::new();
        t.cmd(&["RPUSH", "b", "1", "2", "3", "4"]);
        assert_eq!(
            t.cmd(&["LMPOP", "2", "a", "b", "LEFT"]),
            Frame::Array(vec![Frame::bulk("b"), Frame::array_of_bulks(&["1"])])
        );
        assert_eq!(
            t.cmd(&["LMPOP", "2", "a", "b", "right", "COUNT", "2"]),
            Frame::Array(vec![Frame::bulk("b"), Frame::array_of_bulks(&["4", "3"])])
        );
        assert_eq!(
            t.cmd(&["LMPOP", "1", "b", "LEFT", "count", "10"]),
            Frame::Array(vec![Frame::bulk("b"), Frame::array_of_bulks(&["2"])])
        );
        assert_eq!(t.cmd(&["EXISTS", "b"]), Frame::Int(0));
        assert_eq!(t.cmd(&["LMPOP", "2", "a", "b", "LEFT"]), Frame::Null);
        for (cmd, err) in [
            (
                vec!["LMPOP", "0", "a", "LEFT"],
                "ERR numkeys should be greater than 0",
            ),
            (
                vec!["LMPOP", "x", "a", "LEFT"],
                "ERR numkeys should be greater than 0",
            ),
            (vec!["LMPOP", "2", "a", "LEFT"], "ERR syntax error"),
            (
                vec!["LMPOP", "9223372036854775807", "a", "LEFT"],
                "ERR syntax error",
            ),
            (vec!["LMPOP", "1", "a", "UP"], "ERR syntax error"),
            (vec!["LMPOP", "1", "a", "LEFT", "COUNT"], "ERR syntax error"),
            (
                vec!["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
                "ERR count should be greater than 0",
            ),
            (
                vec!["LMPOP", "1", "a", "LEFT", "COUNT", "x"],
                "ERR count should be greater than 0",
            ),
            (
                vec!["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
                "ERR syntax error",
            ),
            (
                vec!["LMPOP", "1", "a", "LEFT", "FOO", "1"],
                "ERR syntax error",
            ),
            (
                vec!["LMPOP", "1", "a"],
                "ERR wrong number of arguments for 'lmpop' command",
            ),
        ] {
            assert_eq!(t.cmd(&cmd), Frame::err(err), "{cmd:?}");
        }
        t.cmd(&["HELLO", "3"]);
        t.cmd(&["RPUSH", "c", "x"]);
        assert_eq!(
            t.cmd(&["LMPOP", "1", "c", "LEFT"]),
            Frame::Array(vec![Frame::bulk("c"), Frame::array_of_bulks(&["x"])])
        );
    }

    #[test]
    fn converts_at_count_limits_both_ways() {
        let mut t = TestServer::new();
        config(&mut t, "list-max-listpack-size", "4");
        t.cmd(&["RPUSH", "l", "a", "b", "c", "d"]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        t.cmd(&["RPUSH", "l", "e"]);
        assert_eq!(enc(&mut t, "l"), "quicklist");
        assert_eq!(shapes(&t, "l").len(), 2);
        t.cmd(&["LPOP", "l"]);
        assert_eq!(enc(&mut t, "l"), "quicklist", "still two nodes");
        t.cmd(&["RPOP", "l"]);
        assert_eq!(enc(&mut t, "l"), "quicklist", "one node, but 3 > half of 4");
        t.cmd(&["RPOP", "l"]);
        assert_eq!(enc(&mut t, "l"), "listpack", "2 is half of 4");
        assert_eq!(all(&mut t, "l"), ["b", "c"]);
        // One push of more than the limit converts before pushing.
        t.cmd(&["RPUSH", "big", "1", "2", "3", "4", "5"]);
        assert_eq!(enc(&mut t, "big"), "quicklist");
        // Shrinking by LREM, LTRIM and LSET also converts back.
        t.cmd(&["LREM", "big", "0", "5"]);
        assert_eq!(enc(&mut t, "big"), "quicklist");
        t.cmd(&["LTRIM", "big", "0", "1"]);
        assert_eq!(enc(&mut t, "big"), "listpack");
        // LINSERT converts even when the pivot is missing, as Redis's does.
        t.cmd(&["RPUSH", "ins", "a", "b", "c", "d"]);
        assert_eq!(
            t.cmd(&["LINSERT", "ins", "AFTER", "zz", "e"]),
            Frame::Int(-1)
        );
        assert_eq!(enc(&mut t, "ins"), "quicklist");
        // The limit is read at each write: a larger one lets listpacks grow.
        config(&mut t, "list-max-ziplist-size", "100");
        t.cmd(&["RPUSH", "l", "1", "2", "3", "4", "5", "6"]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        // Count limits still cap a listpack at 8 KiB.
        t.cmd(&["RPUSH", "wide", &"x".repeat(5000), &"y".repeat(4000)]);
        assert_eq!(enc(&mut t, "wide"), "quicklist");
        config(&mut t, "list-max-listpack-size", "0");
        t.cmd(&["RPUSH", "zero", "a"]);
        assert_eq!(
            enc(&mut t, "zero"),
            "listpack",
            "fill 0 still allows one entry"
        );
        t.cmd(&["RPUSH", "zero", "b"]);
        assert_eq!(enc(&mut t, "zero"), "quicklist");
        assert_eq!(shapes(&t, "zero").len(), 2);
    }

    #[test]
    fn converts_at_size_limits_both_ways() {
        let mut t = TestServer::new();
        // -1: 4 KiB. 65 entries of 62 bytes, one of 55, plus 7 of header: 4092.
        config(&mut t, "list-max-listpack-size", "-1");
        let sixty = "a".repeat(60);
        let mut args = vec!["RPUSH", "l"];
        args.extend(std::iter::repeat_n(sixty.as_str(), 65));
        t.cmd(&args);
        t.cmd(&["RPUSH", "l", &"b".repeat(53)]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        t.cmd(&["RPUSH", "l", "cccc"]);
        assert_eq!(enc(&mut t, "l"), "listpack", "4092 + 4 bytes is the limit");
        t.cmd(&["RPUSH", "l", "d"]);
        assert_eq!(enc(&mut t, "l"), "quicklist");
        // Back below 2 KiB in one node: a listpack again.
        t.cmd(&["LTRIM", "l", "0", "33"]);
        assert_eq!(enc(&mut t, "l"), "quicklist", "34 * 62 + 7 > 2048");
        t.cmd(&["RPOP", "l"]);
        assert_eq!(enc(&mut t, "l"), "quicklist", "33 * 62 + 7 > 2048");
        t.cmd(&["RPOP", "l"]);
        assert_eq!(enc(&mut t, "l"), "listpack", "32 * 62 + 7 <= 2048");
        // LSET: a big value converts first; a small one back shrinks.
        t.cmd(&["LSET", "l", "0", &"z".repeat(5000)]);
        assert_eq!(enc(&mut t, "l"), "quicklist");
        t.cmd(&["LSET", "l", "0", "small"]);
        assert_eq!(enc(&mut t, "l"), "listpack");
        // Out of range LSET still converted, as Redis's check runs first.
        assert_eq!(
            t.cmd(&["LSET", "l", "100", &"z".repeat(5000)]),
            Frame::err("ERR index out of range")
        );
        assert_eq!(enc(&mut t, "l"), "quicklist");
        // Every level: -1..-5 are 4, 8, 16, 32, 64 KiB; below -5 counts as -5.
        for (fill, limit) in [
            ("-2", 8192),
            ("-3", 16384),
            ("-4", 32768),
            ("-5", 65536),
            ("-100", 65536),
        ] {
            config(&mut t, "list-max-listpack-size", fill);
            t.cmd(&["DEL", "s"]);
            t.cmd(&["RPUSH", "s", &"q".repeat(limit - 7 - 6)]);
            assert_eq!(enc(&mut t, "s"), "listpack", "{fill}");
            t.cmd(&["RPUSH", "s", "x"]);
            assert_eq!(enc(&mut t, "s"), "quicklist", "{fill}");
        }
    }

    #[test]
    fn lmove_counts_integer_bytes_like_redis() {
        // An integer popped from a quicklist is an integer object in Redis and adds
        // no bytes to the destination's conversion check; popped from a listpack it
        // is a string. Checked against redis-server 7.2.
        let mut t = TestServer::new();
        config(&mut t, "list-max-listpack-size", "-1");
        let sixty = "a".repeat(60);
        let fifty3 = "b".repeat(53);
        for key in ["dst1", "dst2"] {
            let mut args = vec!["RPUSH", key];
            args.extend(std::iter::repeat_n(sixty.as_str(), 65));
            args.push(&fifty3);
            t.cmd(&args);
            assert_eq!(enc(&mut t, key), "listpack");
        }
        t.cmd(&["RPUSH", "src", &"z".repeat(5000), "12345"]);
        assert_eq!(enc(&mut t, "src"), "quicklist");
        t.cmd(&["RPUSH", "src2", "12345"]);
        assert_eq!(
            t.cmd(&["LMOVE", "src", "dst1", "RIGHT", "RIGHT"]),
            Frame::bulk("12345")
        );
        assert_eq!(enc(&mut t, "dst1"), "listpack");
        assert_eq!(
            t.cmd(&["LMOVE", "src2", "dst2", "RIGHT", "RIGHT"]),
            Frame::bulk("12345")
        );
        assert_eq!(enc(&mut t, "dst2"), "quicklist");
    }

    #[test]
    fn node_layouts_match_redis() {
        // Node shapes redis-server 7.2.4 printed (DEBUG QUICKLIST) for the same
        // commands: (plain, compressed, entries, bytes).
        let mut t = debug_server();
        let run = |t: &mut TestServer, cmds: &[Vec<String>]| {
            t.cmd(&["FLUSHALL"]);
            t.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]);
            for c in cmds {
                let refs: Vec<&str> = c.iter().map(|s| s.as_str()).collect();
                assert!(!matches!(t.cmd(&refs), Frame::Error(_)), "{refs:?}");
            }
        };
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let el = |i: usize| format!("element-{i:02}");
        let mut push = v(&["RPUSH", "l"]);
        push.extend((0..20).map(el));
        run(
            &mut t,
            &[
                v(&["CONFIG", "SET", "list-max-listpack-size", "4"]),
                v(&["CONFIG", "SET", "list-compress-depth", "1"]),
                push,
                v(&["LINSERT", "l", "AFTER", "element-09", "x"]),
                v(&["LINSERT", "l", "BEFORE", "element-00", "y"]),
                v(&["LINSERT", "l", "BEFORE", "element-13", "z"]),
                v(&["LSET", "l", "7", &"w".repeat(100)]),
                v(&["LREM", "l", "0", "element-05"]),
                v(&["LINSERT", "l", "AFTER", "element-19", "tail"]),
            ],
        );
        assert_eq!(
            shapes(&t, "l"),
            [
                (false, false, 1, 10),
                (false, true, 4, 55),
                (false, true, 3, 134),
                (false, false, 2, 31),
                (false, false, 3, 34),
                (false, false, 2, 22),
                (false, false, 3, 43),
                (false, true, 4, 55),
                (false, false, 1, 13)
            ]
        );
        let n = |i: usize| format!("{i:03}").repeat(100);
        let mut push = v(&["RPUSH", "l"]);
        push.extend((0..40).map(n));
        run(
            &mut t,
            &[
                v(&["CONFIG", "SET", "list-max-listpack-size", "-1"]),
                v(&["CONFIG", "SET", "list-compress-depth", "0"]),
                push,
                v(&["LINSERT", "l", "AFTER", &n(20), &"m".repeat(300)]),
                v(&["LINSERT", "l", "BEFORE", &n(5), &"n".repeat(300)]),
                v(&["LTRIM", "l", "2", "-3"]),
            ],
        );
        assert_eq!(
            shapes(&t, "l"),
            [
                (false, false, 4, 1223),
                (false, false, 8, 2439),
                (false, false, 8, 2439),
                (false, false, 6, 1831),
                (false, false, 12, 3655)
            ]
        );
        run(
            &mut t,
            &[
                v(&["CONFIG", "SET", "list-max-listpack-size", "3"]),
                v(&["CONFIG", "SET", "list-compress-depth", "1"]),
                v(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]),
                v(&["RPUSH", "l", "a", "b", "c", "d", "e", "f", "g", "h", "i"]),
                v(&["RPUSH", "l", &"P".repeat(150)]),
                v(&["LPUSH", "l", &"Q".repeat(120)]),
                v(&["LSET", "l", "4", &"R".repeat(200)]),
                v(&["LSET", "l", "10", "small"]),
                v(&["LINSERT", "l", "AFTER", "g", &"S".repeat(101)]),
                v(&["LINSERT", "l", "BEFORE", "a", &"T".repeat(100)]),
                v(&["LSET", "l", "0", "tiny"]),
            ],
        );
        assert_eq!(
            shapes(&t, "l"),
            [
                (false, false, 1, 13),
                (true, true, 1, 100),
                (false, false, 3, 16),
                (true, true, 1, 200),
                (false, false, 2, 13),
                (false, false, 1, 10),
                (true, true, 1, 101),
                (false, false, 2, 13),
                (false, false, 1, 14)
            ]
        );
        assert_eq!(
            all(&mut t, "l"),
            [
                "tiny",
                &"T".repeat(100),
                "a",
                "b",
                "c",
                &"R".repeat(200),
                "e",
                "f",
                "g",
                &"S".repeat(101),
                "h",
                "i",
                "small"
            ]
        );
        let c = |i: usize| format!("compressible-element-{i:02}-{}", "abc".repeat(10));
        let mut push = v(&["RPUSH", "l"]);
        push.extend((0..30).map(c));
        run(
            &mut t,
            &[
                v(&["CONFIG", "SET", "list-max-listpack-size", "3"]),
                v(&["CONFIG", "SET", "list-compress-depth", "2"]),
                push,
                v(&["LPOP", "l", "4"]),
                v(&["RPOP", "l"]),
                v(&["LINSERT", "l", "AFTER", &c(15), "new"]),
            ],
        );
        assert_eq!(
            shapes(&t, "l"),
            [
                (false, false, 2, 119),
                (false, false, 3, 175),
                (false, true, 3, 175),
                (false, true, 3, 175),
                (false, true, 1, 63),
                (false, true, 3, 124),
                (false, true, 3, 175),
                (false, true, 3, 175),
                (false, false, 3, 175),
                (false, false, 2, 119)
            ]
        );
        // Reads through compressed nodes see every element.
        let got = all(&mut t, "l");
        assert_eq!(got.len(), 26);
        assert_eq!(got[0], c(4));
        assert_eq!(got[12], "new");
        assert_eq!(t.cmd(&["LINDEX", "l", "11"]), Frame::bulk(&c(15)));
        assert_eq!(t.cmd(&["LPOS", "l", "new"]), Frame::Int(12));
    }

    #[test]
    fn plain_nodes_and_packed_threshold() {
        let mut t = debug_server();
        for (arg, ok) in [
            ("0", true),
            ("", true),
            ("1", true),
            ("1k", true),
            ("1KB", true),
            ("4293918720", true),
            ("4293918721", false),
            ("4gb", false),
            ("-1", false),
            ("+1", false),
            ("1.5", false),
            (" 1", false),
            ("1x", false),
            ("18446744073709551615", false),
        ] {
            let want = if ok {
                Frame::ok()
            } else {
                Frame::err("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
            };
            assert_eq!(
                t.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", arg]),
                want,
                "{arg:?}"
            );
        }
        assert_eq!(
            t.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "10"]),
            Frame::ok()
        );
        t.cmd(&["RPUSH", "l", "short", "0123456789", "x"]);
        // The 10-byte element converted the list and took a node of its own.
        assert_eq!(
            enc(&mut t, "l"),
            "listpack",
            "10 bytes < 8 KiB: no conversion"
        );
        t.cmd(&["RPUSH", "q", &"y".repeat(9000), "0123456789", "z"]);
        assert_eq!(enc(&mut t, "q"), "quicklist");
        assert_eq!(
            shapes(&t, "q"),
            [
                (true, false, 1, 9000),
                (true, false, 1, 10),
                (false, false, 1, 10)
            ]
        );
        assert_eq!(t.cmd(&["LINDEX", "q", "1"]), Frame::bulk("0123456789"));
        assert_eq!(t.cmd(&["LPOS", "q", "0123456789"]), Frame::Int(1));
        t.cmd(&["LSET", "q", "1", "tiny"]);
        assert_eq!(
            shapes(&t, "q"),
            [(true, false, 1, 9000), (false, false, 2, 16)],
            "a small value replacing a plain element joins the next node"
        );
        t.cmd(&["LSET", "q", "1", "abcdefghijk"]);
        assert_eq!(
            shapes(&t, "q"),
            [
                (true, false, 1, 9000),
                (true, false, 1, 11),
                (false, false, 1, 10)
            ]
        );
        assert_eq!(t.cmd(&["LREM", "q", "0", "abcdefghijk"]), Frame::Int(1));
        assert_eq!(
            t.cmd(&["RPOP", "q", "5"]).clone(),
            Frame::array_of_bulks(&["z", &"y".repeat(9000)])
        );
        assert_eq!(
            t.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]),
            Frame::ok()
        );
        assert_eq!(t.server.list_packed_threshold, 1 << 30);
    }

    #[test]
    fn debug_encoding_dumps() {
        let mut t = debug_server();
        t.cmd(&["RPUSH", "small", "a", "12"]);
        t.cmd(&["HSET", "h", "f", "v"]);
        t.cmd(&["SET", "s", "v"]);
        config(&mut t, "list-max-listpack-size", "1");
        t.cmd(&["RPUSH", "big", "a", "b"]);
        assert_eq!(
            t.cmd(&["DEBUG", "LISTPACK", "small"]),
            Frame::Simple("Listpack structure printed on stdout".into())
        );
        let dump = t.logs.last().unwrap().clone();
        assert!(
            dump.starts_with("{total bytes 12} {num entries 2}\n"),
            "{dump}"
        );
        assert!(dump.contains("\tbytes: 81|61|02|\n\t[str]a\n"), "{dump}");
        assert!(dump.ends_with("{end}\n\n"));
        assert_eq!(
            t.cmd(&["DEBUG", "LISTPACK", "h"]),
            Frame::Simple("Listpack structure printed on stdout".into())
        );
        for key in ["big", "s"] {
            assert_eq!(
                t.cmd(&["DEBUG", "LISTPACK", key]),
                Frame::err("ERR Not a listpack encoded object.")
            );
        }
        assert_eq!(
            t.cmd(&["DEBUG", "LISTPACK", "nope"]),
            Frame::err("ERR no such key")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "QUICKLIST", "big", "1"]),
            Frame::Simple("Quicklist structure printed on stdout".into())
        );
        let dump = t.logs.last().unwrap().clone();
        assert!(dump.starts_with("{count : 2}\n{len : 2}\n{fill : 1}\n{compress : 0}\n"));
        assert!(dump.contains("{container : PACKED, encoding: RAW, size: 10, count: 1, recompress: 0, attempted_compress: 0}\n{ listpack:\n{total bytes 10}"));
        assert_eq!(
            t.cmd(&["DEBUG", "QUICKLIST", "small"]),
            Frame::err("ERR Not a quicklist encoded object.")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "QUICKLIST", "nope", "0"]),
            Frame::err("ERR no such key")
        );
        assert!(matches!(
            t.cmd(&["DEBUG", "QUICKLIST", "big", "1", "2"]),
            Frame::Error(e) if e.starts_with("ERR unknown subcommand or wrong number of arguments for 'QUICKLIST'")
        ));
    }

    #[test]
    fn digest_matches_redis() {
        // DEBUG DIGEST-VALUE that redis-server 7.0.15 gives for the same lists.
        let mut t = debug_server();
        t.cmd(&["RPUSH", "dl", "a", "1", "bb", "-7", "hello world"]);
        t.cmd(&["RPUSH", "dl2", "x"]);
        t.cmd(&["PEXPIREAT", "dl2", "99999999999999"]);
        let want = |h: &str| Frame::Array(vec![Frame::Simple(h.into())]);
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST-VALUE", "dl"]),
            want("67e2d136bcdb5148bf3db9fb0bd982753e42c516")
        );
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST-VALUE", "dl2"]),
            want("513a82800d1204ddf6715dfcad32e7acbbbf92d4")
        );
        // The digest depends on the elements only, not the encoding.
        config(&mut t, "list-max-listpack-size", "1");
        t.cmd(&["RPUSH", "dl3", "a", "1", "bb", "-7", "hello world"]);
        assert_eq!(enc(&mut t, "dl3"), "quicklist");
        assert_eq!(
            t.cmd(&["DEBUG", "DIGEST-VALUE", "dl3"]),
            want("67e2d136bcdb5148bf3db9fb0bd982753e42c516")
        );
    }

    #[test]
    fn generic_commands_cover_lists() {
        let mut t = TestServer::new();
        config(&mut t, "list-max-listpack-size", "2");
        config(&mut t, "list-compress-depth", "1");
        t.cmd(&["RPUSH", "small", "a", "b"]);
        let items: Vec<String> = (0..50)
            .map(|i| format!("item-{i}-{}", "pad".repeat(20)))
            .collect();
        let mut args = vec!["RPUSH", "big"];
        args.extend(items.iter().map(|s| s.as_str()));
        t.cmd(&args);
        assert_eq!(enc(&mut t, "big"), "quicklist");
        assert!(
            shapes(&t, "big").iter().any(|s| s.1),
            "interior nodes compressed"
        );
        for (src, dst) in [("small", "small2"), ("big", "big2")] {
            assert_eq!(t.cmd(&["COPY", src, dst]), Frame::Int(1));
            assert_eq!(enc(&mut t, dst), enc(&mut t, src));
            assert_eq!(all(&mut t, dst), all(&mut t, src));
        }
        t.cmd(&["RPUSH", "big", "more"]);
        assert_eq!(
            t.cmd(&["LLEN", "big2"]),
            Frame::Int(50),
            "copies are independent"
        );
        assert_eq!(t.cmd(&["RENAME", "big2", "big3"]), Frame::ok());
        assert_eq!(t.cmd(&["LINDEX", "big3", "25"]), Frame::bulk(&items[25]));
        assert_eq!(t.cmd(&["MOVE", "big3", "1"]), Frame::Int(1));
        t.cmd(&["SELECT", "1"]);
        assert_eq!(t.cmd(&["TYPE", "big3"]), Frame::Simple("list".into()));
        assert_eq!(t.cmd(&["LLEN", "big3"]), Frame::Int(50));
        t.cmd(&["SELECT", "0"]);
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "list", "COUNT", "100"]) else {
            panic!()
        };
        let Frame::Array(mut keys) = parts[1].clone() else {
            panic!()
        };
        keys.sort_by_key(|k| k.as_str());
        assert_eq!(
            keys,
            vec![
                Frame::bulk("big"),
                Frame::bulk("small"),
                Frame::bulk("small2")
            ]
        );
        assert_eq!(
            t.cmd(&["OBJECT", "ENCODING", "small"]),
            Frame::bulk("listpack")
        );
    }

    #[test]
    fn a_million_elements_near_both_ends() {
        let mut t = TestServer::new();
        config(&mut t, "list-compress-depth", "1");
        let e = |n: usize| format!("e{n}");
        for b in 0..100 {
            let mut args = vec!["RPUSH".to_string(), "big".to_string()];
            args.extend((0..10_000).map(|i| e(b * 10_000 + i)));
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            assert_eq!(t.cmd(&refs), Frame::Int((b as i64 + 1) * 10_000));
        }
        assert_eq!(t.cmd(&["LLEN", "big"]), Frame::Int(1_000_000));
        assert_eq!(enc(&mut t, "big"), "quicklist");
        let interior_raw = |t: &TestServer| {
            let nodes = shapes(t, "big");
            assert!(!nodes[0].1 && !nodes[nodes.len() - 1].1, "ends stay raw");
            nodes[1..nodes.len() - 1].iter().filter(|n| !n.1).count()
        };
        assert!(shapes(&t, "big").len() > 1000);
        assert_eq!(interior_raw(&t), 0, "every interior node compressed");
        assert_eq!(t.cmd(&["LINDEX", "big", "0"]), Frame::bulk("e0"));
        assert_eq!(t.cmd(&["LINDEX", "big", "-1"]), Frame::bulk("e999999"));
        assert_eq!(t.cmd(&["LINDEX", "big", "3"]), Frame::bulk("e3"));
        assert_eq!(t.cmd(&["LINDEX", "big", "-4"]), Frame::bulk("e999996"));
        assert_eq!(t.cmd(&["LINDEX", "big", "500000"]), Frame::bulk("e500000"));
        assert_eq!(
            t.cmd(&["LRANGE", "big", "0", "2"]),
            Frame::array_of_bulks(&["e0", "e1", "e2"])
        );
        assert_eq!(
            t.cmd(&["LRANGE", "big", "-3", "-1"]),
            Frame::array_of_bulks(&["e999997", "e999998", "e999999"])
        );
        let Frame::Array(mid) = t.cmd(&["LRANGE", "big", "400000", "401999"]) else {
            panic!()
        };
        assert_eq!(mid.len(), 2000);
        assert_eq!(mid[1999], Frame::bulk("e401999"));
        assert_eq!(t.cmd(&["LSET", "big", "1", "one"]), Frame::ok());
        assert_eq!(t.cmd(&["LSET", "big", "-2", "minus-two"]), Frame::ok());
        assert_eq!(t.cmd(&["LSET", "big", "700000", "mid"]), Frame::ok());
        assert_eq!(t.cmd(&["LINDEX", "big", "1"]), Frame::bulk("one"));
        assert_eq!(t.cmd(&["LINDEX", "big", "-2"]), Frame::bulk("minus-two"));
        assert_eq!(t.cmd(&["LINDEX", "big", "700000"]), Frame::bulk("mid"));
        assert_eq!(
            t.cmd(&["LINSERT", "big", "AFTER", "one", "x"]),
            Frame::Int(1_000_001)
        );
        assert_eq!(
            t.cmd(&["LPOS", "big", "minus-two", "RANK", "-1"]),
            Frame::Int(999_999)
        );
        assert_eq!(
            t.cmd(&["LPOP", "big", "3"]),
            Frame::array_of_bulks(&["e0", "one", "x"])
        );
        assert_eq!(t.cmd(&["RPOP", "big"]), Frame::bulk("e999999"));
        assert_eq!(t.cmd(&["LTRIM", "big", "10", "-11"]), Frame::ok());
        assert_eq!(t.cmd(&["LLEN", "big"]), Frame::Int(999_977));
        assert_eq!(t.cmd(&["LINDEX", "big", "0"]), Frame::bulk("e12"));
        assert_eq!(t.cmd(&["LINDEX", "big", "-1"]), Frame::bulk("e999988"));
        assert_eq!(t.cmd(&["LREM", "big", "-1", "e999988"]), Frame::Int(1));
        assert_eq!(t.cmd(&["RPOPLPUSH", "big", "big"]), Frame::bulk("e999987"));
        assert_eq!(t.cmd(&["LINDEX", "big", "0"]), Frame::bulk("e999987"));
        assert_eq!(interior_raw(&t), 0, "still compressed after the edits");
        let nodes = shapes(&t, "big");
        assert_eq!(nodes.iter().map(|n| n.2).sum::<usize>(), 999_976);
        // A large LREM walks every node once.
        assert_eq!(t.cmd(&["LREM", "big", "0", "e500000"]), Frame::Int(1));
        assert_eq!(t.cmd(&["LLEN", "big"]), Frame::Int(999_975));
    }
}
