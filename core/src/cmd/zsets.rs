//! Sorted-set commands (Redis's t_zset.c): ZADD and ZINCRBY with every flag, removal
//! by member and by rank, score or lex range, the ZRANGE family and ZRANGESTORE,
//! counts, ranks (with Redis 7.2's WITHSCORE), pops, ZRANDMEMBER with Redis's four
//! sampling strategies, the set algebra (ZUNION, ZINTER, ZDIFF, their STORE forms and
//! ZINTERCARD) and ZSCAN. The blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) live in
//! `cmd/blocking.rs` and pop through `generic_zpop` here.

use super::{arg_i64, elemscan, ERR_NOT_FLOAT, ERR_NOT_INTEGER, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::listpack::LpEntry;
use crate::object::{Value, WRONGTYPE};
use crate::resp::ReplyBuf;
use crate::rng::CoreRng;
use crate::server::notify::{NOTIFY_GENERIC, NOTIFY_ZSET};
use crate::server::Server;
use crate::types::set::{Set, SetIter};
use crate::types::zset::{AddFlags, LexRange, ScoreRange, ZIter, Zset, ZsetLimits};
use crate::util::{eq_ic, fmt_g17, parse_f64, parse_i64, FastMap, FastSet};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrevrange", zrevrange),
    ("zrangebyscore", zrangebyscore),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("zmpop", zmpop),
    ("zrandmember", zrandmember),
    ("zunion", zunion),
    ("zunionstore", zunionstore),
    ("zinter", zinter),
    ("zinterstore", zinterstore),
    ("zintercard", zintercard),
    ("zdiff", zdiff),
    ("zdiffstore", zdiffstore),
    ("zscan", zscan),
];

const ERR_NAN: &str = "resulting score is not a number (NaN)";
const ERR_NOT_FLOAT_RANGE: &str = "min or max is not a float";
const ERR_NOT_LEX_RANGE: &str = "min or max not valid string range item";
/// Stop a ZRANDMEMBER reply with repetitions at this size and close the client, where
/// Redis (with no client-output-buffer-limit for normal clients) would grow until the
/// process runs out of memory: `ZRANDMEMBER z -9223372036854775807` must not do that.
const RANDOM_REPLY_LIMIT_BYTES: usize = if cfg!(test) { 1 << 20 } else { 1 << 30 };
/// Picks drawn per pass over a listpack for random replies with repetitions
/// (Redis's ZRANDMEMBER_RANDOM_SAMPLE_LIMIT).
const RANDOM_SAMPLE_LIMIT: usize = 1000;
/// How much bigger than the request a set must be for random picks with rejection of
/// duplicates (case 4) rather than removing picks from a full copy (case 3).
const SUB_STRATEGY_MUL: u64 = 3;

fn limits(srv: &Server) -> ZsetLimits {
    ZsetLimits {
        max_listpack_entries: usize::try_from(srv.config.zset_max_listpack_entries)
            .unwrap_or(usize::MAX),
        max_listpack_value: usize::try_from(srv.config.zset_max_listpack_value)
            .unwrap_or(usize::MAX),
    }
}

/// The sorted set at `key` for reading; Err after replying WRONGTYPE.
fn read<'s>(srv: &'s mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<&'s Zset>, ()> {
    match srv.lookup_read(ctx.db, key) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            Value::Zset(z) => Ok(Some(z)),
            _ => {
                ctx.reply.error(WRONGTYPE);
                Err(())
            }
        },
    }
}

/// lookupKeyWrite plus the type check: Ok(true) when a sorted set is there.
pub(crate) fn check_write(srv: &mut Server, ctx: &mut Ctx<'_>, key: &[u8]) -> Result<bool, ()> {
    match srv
        .lookup_write(ctx.db, key)
        .map(|o| matches!(o.value, Value::Zset(_)))
    {
        None => Ok(false),
        Some(true) => Ok(true),
        Some(false) => {
            ctx.reply.error(WRONGTYPE);
            Err(())
        }
    }
}

/// The sorted set at `key` (already checked to be one) next to the RNG, borrowed
/// apart so a write can draw skiplist levels.
fn zset_mut<'s>(srv: &'s mut Server, db: usize, key: &[u8]) -> (&'s mut Zset, &'s mut CoreRng) {
    let Server { dbs, rng, .. } = srv;
    match dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Zset(z)) => (z, rng),
        _ => unreachable!("checked to be a sorted set"),
    }
}

fn zset_ref<'s>(srv: &'s mut Server, db: usize, key: &[u8]) -> (&'s Zset, &'s mut CoreRng) {
    let (z, rng) = zset_mut(srv, db, key);
    (z, rng)
}

fn bulk_entry(reply: &mut ReplyBuf, e: LpEntry<'_>) {
    match e {
        LpEntry::Str(s) => reply.bulk(s),
        LpEntry::Int(n) => reply.bulk_i64(n),
    }
}

/// One (member, score) of a reply: a nested pair in RESP3 when scores are shown.
fn emit_pair(reply: &mut ReplyBuf, m: LpEntry<'_>, s: f64, withscores: bool) {
    if withscores && reply.is_resp3() {
        reply.array(2);
    }
    bulk_entry(reply, m);
    if withscores {
        reply.double(s);
    }
}

/// The array header for `n` pairs: flat in RESP2, nested pairs in RESP3.
fn pairs_header(reply: &mut ReplyBuf, n: usize, withscores: bool) {
    reply.array(if withscores && !reply.is_resp3() {
        2 * n
    } else {
        n
    });
}

// ----- ZADD / ZINCRBY ----------------------------------------------------------------

fn zadd(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zadd_generic(srv, ctx, false);
}

fn zincrby(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zadd_generic(srv, ctx, true);
}

/// zaddGenericCommand: ZADD's options, then score/member pairs; ZINCRBY is ZADD INCR
/// with the same parser (so `ZINCRBY z nx m` is a syntax error, as in Redis).
fn zadd_generic(srv: &mut Server, ctx: &mut Ctx<'_>, incr_command: bool) {
    let mut flags = AddFlags {
        incr: incr_command,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut first = 2;
    while first < ctx.argc() {
        let opt = ctx.arg(first);
        if eq_ic(opt, "nx") {
            flags.nx = true;
        } else if eq_ic(opt, "xx") {
            flags.xx = true;
        } else if eq_ic(opt, "ch") {
            ch = true;
        } else if eq_ic(opt, "incr") {
            flags.incr = true;
        } else if eq_ic(opt, "gt") {
            flags.gt = true;
        } else if eq_ic(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        first += 1;
    }
    let elements = ctx.argc() - first;
    if elements == 0 || elements % 2 == 1 {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let pairs = elements / 2;
    if flags.nx && flags.xx {
        ctx.reply
            .error("XX and NX options at the same time are not compatible");
        return;
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        ctx.reply
            .error("GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if flags.incr && pairs > 1 {
        ctx.reply
            .error("INCR option supports a single increment-element pair");
        return;
    }
    // Every score is parsed before anything changes: the command is all or nothing.
    let mut scores = Vec::with_capacity(pairs);
    for j in 0..pairs {
        match parse_f64(ctx.arg(first + 2 * j)) {
            Some(s) => scores.push(s),
            None => {
                ctx.reply.error(ERR_NOT_FLOAT);
                return;
            }
        }
    }
    let key = ctx.arg(1);
    let lim = limits(srv);
    let Ok(exists) = check_write(srv, ctx, key) else {
        return;
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last_score = 0.0;
    if exists || !flags.xx {
        if !exists {
            let seed = srv.rng.next_u64();
            let z = Zset::for_first_member(ctx.arg(first + 1).len(), lim, seed);
            srv.db_add(ctx.db, key, Value::Zset(z));
        }
        let (z, rng) = zset_mut(srv, ctx.db, key);
        let mut nan = false;
        for (j, &score) in scores.iter().enumerate() {
            let member = ctx.arg(first + 2 * j + 1);
            match z.add(score, member, flags, lim, rng) {
                Ok(r) => {
                    added += r.added as u64;
                    updated += r.updated as u64;
                    processed += r.processed as u64;
                    last_score = r.score;
                }
                Err(_) => {
                    nan = true;
                    break;
                }
            }
        }
        debug_assert!(!z.is_empty(), "a sorted set is never left empty");
        if nan {
            // Redis jumps to its cleanup: no dirty count, but the pairs added before
            // the NaN are still announced.
            ctx.reply.error(ERR_NAN);
            zadd_announce(srv, ctx, key, added + updated, flags.incr);
            return;
        }
        srv.mark_dirty(added + updated);
    }
    if flags.incr {
        if processed > 0 {
            ctx.reply.double(last_score);
        } else {
            ctx.reply.null();
        }
    } else {
        ctx.reply
            .int((if ch { added + updated } else { added }) as i64);
    }
    zadd_announce(srv, ctx, key, added + updated, flags.incr);
}

/// ZADD's and ZINCRBY's event, sent only when a member was added or changed.
fn zadd_announce(srv: &mut Server, ctx: &Ctx<'_>, key: &[u8], changed: u64, incr: bool) {
    if changed > 0 {
        srv.signal_modified_key(ctx.db, key);
        let event = if incr { "zincr" } else { "zadd" };
        srv.notify_keyspace_event(NOTIFY_ZSET, event, key, ctx.db);
    }
}

// ----- removal -----------------------------------------------------------------------

fn zrem(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let key = ctx.arg(1);
    match check_write(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            ctx.reply.int(0);
            return;
        }
        Ok(true) => {}
    }
    let (z, _) = zset_mut(srv, ctx.db, key);
    let mut deleted = 0u64;
    let mut emptied = false;
    for i in 2..ctx.argc() {
        if z.remove(ctx.arg(i)) {
            deleted += 1;
        }
        if z.is_empty() {
            emptied = true;
            break;
        }
    }
    if emptied {
        srv.delete_key(ctx.db, key);
    }
    if deleted > 0 {
        srv.notify_keyspace_event(NOTIFY_ZSET, "zrem", key, ctx.db);
        if emptied {
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
        }
        srv.signal_modified_key(ctx.db, key);
        srv.mark_dirty(deleted);
    }
    ctx.reply.int(deleted as i64);
}

enum RemoveRange {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zremrangebyrank(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(start) = arg_i64(ctx, 2) else {
        return;
    };
    let Some(end) = arg_i64(ctx, 3) else {
        return;
    };
    zremrange_generic(srv, ctx, RemoveRange::Rank(start, end));
}

fn zremrangebyscore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match ScoreRange::parse(ctx.arg(2), ctx.arg(3)) {
        Some(r) => zremrange_generic(srv, ctx, RemoveRange::Score(r)),
        None => ctx.reply.error(ERR_NOT_FLOAT_RANGE),
    }
}

fn zremrangebylex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    match LexRange::parse(ctx.arg(2), ctx.arg(3)) {
        Some(r) => zremrange_generic(srv, ctx, RemoveRange::Lex(r)),
        None => ctx.reply.error(ERR_NOT_LEX_RANGE),
    }
}

/// Clamp Redis-style rank indexes (negative from the end) to `0..len`; None when the
/// range is empty.
fn clamp_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
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

fn zremrange_generic(srv: &mut Server, ctx: &mut Ctx<'_>, range: RemoveRange) {
    let key = ctx.arg(1);
    match check_write(srv, ctx, key) {
        Err(()) => return,
        Ok(false) => {
            ctx.reply.int(0);
            return;
        }
        Ok(true) => {}
    }
    let (z, _) = zset_mut(srv, ctx.db, key);
    let deleted = match &range {
        RemoveRange::Rank(start, end) => match clamp_ranks(*start, *end, z.len()) {
            Some((s, e)) => z.remove_rank_range(s, e),
            None => {
                ctx.reply.int(0);
                return;
            }
        },
        RemoveRange::Score(r) => z.remove_score_range(r),
        RemoveRange::Lex(r) => z.remove_lex_range(r),
    };
    let emptied = z.is_empty();
    if emptied {
        srv.delete_key(ctx.db, key);
    }
    if deleted > 0 {
        let event = match range {
            RemoveRange::Rank(..) => "zremrangebyrank",
            RemoveRange::Score(_) => "zremrangebyscore",
            RemoveRange::Lex(_) => "zremrangebylex",
        };
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_ZSET, event, key, ctx.db);
        if emptied {
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
        }
    }
    srv.mark_dirty(deleted as u64);
    ctx.reply.int(deleted as i64);
}

// ----- reads -------------------------------------------------------------------------

fn zcard(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(z) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply.int(z.map_or(0, |z| z.len() as i64));
    }
}

fn zscore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if let Ok(z) = read(srv, ctx, ctx.arg(1)) {
        match z.and_then(|z| z.score(ctx.arg(2))) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    }
}

fn zmscore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Ok(z) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    ctx.reply.array(ctx.argc() - 2);
    for i in 2..ctx.argc() {
        match z.and_then(|z| z.score(ctx.arg(i))) {
            Some(s) => ctx.reply.double(s),
            None => ctx.reply.null(),
        }
    }
}

fn zcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(range) = ScoreRange::parse(ctx.arg(2), ctx.arg(3)) else {
        ctx.reply.error(ERR_NOT_FLOAT_RANGE);
        return;
    };
    if let Ok(z) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply
            .int(z.map_or(0, |z| z.count_in_score(&range)) as i64);
    }
}

fn zlexcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(range) = LexRange::parse(ctx.arg(2), ctx.arg(3)) else {
        ctx.reply.error(ERR_NOT_LEX_RANGE);
        return;
    };
    if let Ok(z) = read(srv, ctx, ctx.arg(1)) {
        ctx.reply
            .int(z.map_or(0, |z| z.count_in_lex(&range)) as i64);
    }
}

fn zrank(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrank_generic(srv, ctx, false);
}

fn zrevrank(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrank_generic(srv, ctx, true);
}

/// ZRANK/ZREVRANK with Redis 7.2's optional WITHSCORE: a [rank, score] pair, and a
/// null array when there is none.
fn zrank_generic(srv: &mut Server, ctx: &mut Ctx<'_>, reverse: bool) {
    if ctx.argc() > 4 {
        ctx.reply.error(&format!(
            "wrong number of arguments for '{}' command",
            ctx.spec.fullname
        ));
        return;
    }
    let withscore = ctx.argc() == 4;
    if withscore && !eq_ic(ctx.arg(3), "withscore") {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let Ok(z) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    match z.and_then(|z| z.rank(ctx.arg(2), reverse)) {
        Some((rank, score)) => {
            if withscore {
                ctx.reply.array(2);
            }
            ctx.reply.int(rank as i64);
            if withscore {
                ctx.reply.double(score);
            }
        }
        None if withscore => ctx.reply.null_array(),
        None => ctx.reply.null(),
    }
}

// ----- the ZRANGE family -------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

fn zrange(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Auto, Direction::Auto);
}

fn zrangestore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, true, RangeType::Auto, Direction::Auto);
}

fn zrevrange(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Rank, Direction::Reverse);
}

fn zrangebyscore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Score, Direction::Forward);
}

fn zrevrangebyscore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Score, Direction::Reverse);
}

fn zrangebylex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Lex, Direction::Forward);
}

fn zrevrangebylex(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zrange_generic(srv, ctx, false, RangeType::Lex, Direction::Reverse);
}

enum Range {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The members a range selects, in reply order (Redis's genericZrangeby*Command).
fn select<'z>(
    z: &'z Zset,
    range: &Range,
    reverse: bool,
    offset: i64,
    limit: i64,
) -> Vec<(LpEntry<'z>, f64)> {
    match range {
        Range::Rank(start, end) => match clamp_ranks(*start, *end, z.len()) {
            Some((s, e)) => z.iter_from_rank(s, reverse).take(e - s + 1).collect(),
            None => Vec::new(),
        },
        Range::Score(r) => {
            let it = z.iter_from_score(r, reverse);
            limited(it, offset, limit, |_, s| {
                if reverse {
                    r.gte_min(s)
                } else {
                    r.lte_max(s)
                }
            })
        }
        Range::Lex(r) => {
            let it = z.iter_from_lex(r, reverse);
            limited(it, offset, limit, |m, _| {
                let m = m.as_bytes();
                if reverse {
                    r.gte_min(&m)
                } else {
                    r.lte_max(&m)
                }
            })
        }
    }
}

/// LIMIT as Redis applies it: skip `offset` members without checking the range (a
/// negative offset skips everything), then take up to `limit` (negative: no limit)
/// while `in_range` holds.
fn limited<'z>(
    it: ZIter<'z>,
    offset: i64,
    limit: i64,
    in_range: impl Fn(LpEntry<'_>, f64) -> bool,
) -> Vec<(LpEntry<'z>, f64)> {
    if offset < 0 {
        return Vec::new();
    }
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    it.skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(take)
        .take_while(|(m, s)| in_range(*m, *s))
        .collect()
}

/// zrangeGenericCommand: options, conflicts, range parsing, then a reply or (for
/// ZRANGESTORE) a new sorted set at the destination.
fn zrange_generic(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    store: bool,
    mut rangetype: RangeType,
    mut direction: Direction,
) {
    let src_idx = if store { 2 } else { 1 };
    let (mut min_idx, mut max_idx) = (src_idx + 1, src_idx + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = src_idx + 3;
    while j < ctx.argc() {
        let left = ctx.argc() - j - 1;
        let opt = ctx.arg(j);
        if !store && eq_ic(opt, "withscores") {
            withscores = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            let Some(o) = arg_i64(ctx, j + 1) else {
                return;
            };
            let Some(l) = arg_i64(ctx, j + 2) else {
                return;
            };
            offset = o;
            limit = l;
            j += 2;
        } else if direction == Direction::Auto && eq_ic(opt, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && eq_ic(opt, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && eq_ic(opt, "byscore") {
            rangetype = RangeType::Score;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    if direction == Direction::Auto {
        direction = Direction::Forward;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    // Redis tests the value: `LIMIT 0 -1` on a rank range passes.
    if limit != -1 && rangetype == RangeType::Rank {
        ctx.reply.error(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        );
        return;
    }
    if withscores && rangetype == RangeType::Lex {
        ctx.reply
            .error("syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let reverse = direction == Direction::Reverse;
    if reverse && rangetype != RangeType::Rank {
        // Reversed score and lex ranges are written max first.
        std::mem::swap(&mut min_idx, &mut max_idx);
    }
    let range = match rangetype {
        RangeType::Rank | RangeType::Auto => {
            let Some(s) = arg_i64(ctx, min_idx) else {
                return;
            };
            let Some(e) = arg_i64(ctx, max_idx) else {
                return;
            };
            Range::Rank(s, e)
        }
        RangeType::Score => match ScoreRange::parse(ctx.arg(min_idx), ctx.arg(max_idx)) {
            Some(r) => Range::Score(r),
            None => {
                ctx.reply.error(ERR_NOT_FLOAT_RANGE);
                return;
            }
        },
        RangeType::Lex => match LexRange::parse(ctx.arg(min_idx), ctx.arg(max_idx)) {
            Some(r) => Range::Lex(r),
            None => {
                ctx.reply.error(ERR_NOT_LEX_RANGE);
                return;
            }
        },
    };
    let src = ctx.arg(src_idx);
    let Ok(z) = read(srv, ctx, src) else {
        return;
    };
    if !store {
        let Some(z) = z else {
            ctx.reply.array(0);
            return;
        };
        let items = select(z, &range, reverse, offset, limit);
        pairs_header(ctx.reply, items.len(), withscores);
        for (m, s) in items {
            emit_pair(ctx.reply, m, s, withscores);
        }
        return;
    }
    // ZRANGESTORE: Redis sizes the destination from the rank range's length (unknown,
    // so a listpack, for score and lex ranges) and adds members one by one.
    let (items, known_len): (Vec<(Vec<u8>, f64)>, Option<usize>) = match z {
        None => (Vec::new(), None),
        Some(z) => {
            let sel = select(z, &range, reverse, offset, limit);
            let known = matches!(range, Range::Rank(..)).then_some(sel.len());
            (
                sel.into_iter().map(|(m, s)| (m.to_vec(), s)).collect(),
                known,
            )
        }
    };
    let dst = ctx.arg(1);
    if items.is_empty() {
        ctx.reply.int(0);
        store_nothing(srv, ctx.db, dst);
        return;
    }
    let lim = limits(srv);
    let mut z = match known_len {
        Some(n) if n > lim.max_listpack_entries => Zset::new_skiplist(srv.rng.next_u64()),
        _ => Zset::new_listpack(),
    };
    for (m, s) in &items {
        let r = z.add(*s, m, AddFlags::default(), lim, &mut srv.rng);
        debug_assert!(r.is_ok_and(|r| r.added), "range members are distinct");
    }
    srv.set_key(ctx.db, dst, Value::Zset(z), false);
    ctx.reply.int(items.len() as i64);
    srv.notify_keyspace_event(NOTIFY_ZSET, "zrangestore", dst, ctx.db);
    srv.mark_dirty(1);
}

/// A STORE whose result is empty deletes its destination, if there was one.
fn store_nothing(srv: &mut Server, db: usize, dst: &[u8]) {
    if srv.delete_key(db, dst) {
        srv.signal_modified_key(db, dst);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", dst, db);
        srv.mark_dirty(1);
    }
}

// ----- pops --------------------------------------------------------------------------

fn zpopmin(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zpop_min_max(srv, ctx, false);
}

fn zpopmax(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zpop_min_max(srv, ctx, true);
}

/// A count argument read as getPositiveLongFromObjectOrReply reads it.
fn positive_count(ctx: &mut Ctx<'_>, i: usize, msg: &str) -> Option<i64> {
    let n = parse_i64(ctx.arg(i)).filter(|n| *n >= 0);
    if n.is_none() {
        ctx.reply.error(msg);
    }
    n
}

fn zpop_min_max(srv: &mut Server, ctx: &mut Ctx<'_>, max: bool) {
    if ctx.argc() > 3 {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let count = if ctx.argc() == 3 {
        match positive_count(ctx, 2, "value is out of range, must be positive") {
            Some(n) => Some(n),
            None => return,
        }
    } else {
        None
    };
    // RESP3 nests the pairs only when a count was given.
    let nested = ctx.reply.is_resp3() && count.is_some();
    let keys = [ctx.arg(1)];
    generic_zpop(srv, ctx, &keys, max, count.unwrap_or(-1), nested, false);
}

/// genericZpopCommand: pop up to `count` (-1: one, unnested) members from the first
/// existing key. With `emit_key` the reply names the key: nested (ZMPOP, BZMPOP) as
/// [key, [[member, score]...]], a null array when every key is missing; flat
/// (BZPOPMIN, BZPOPMAX) as [key, member, score].
pub(crate) fn generic_zpop(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    max: bool,
    count: i64,
    nested: bool,
    emit_key: bool,
) {
    let mut found = None;
    for &key in keys {
        match check_write(srv, ctx, key) {
            Err(()) => return,
            Ok(true) => {
                found = Some(key);
                break;
            }
            Ok(false) => {}
        }
    }
    let Some(key) = found else {
        if emit_key {
            ctx.reply.null_array();
        } else {
            ctx.reply.array(0);
        }
        return;
    };
    if count == 0 {
        ctx.reply.array(0);
        return;
    }
    let count = if count == -1 { 1 } else { count as u64 };
    let (z, _) = zset_mut(srv, ctx.db, key);
    let n = count.min(z.len() as u64) as usize;
    if emit_key && nested {
        ctx.reply.array(2);
        ctx.reply.bulk(key);
        ctx.reply.array(n);
    } else if emit_key {
        ctx.reply.array(2 * n + 1);
        ctx.reply.bulk(key);
    } else if nested {
        ctx.reply.array(n);
    } else {
        ctx.reply.array(2 * n);
    }
    for _ in 0..n {
        let (m, s) = z.pop(max).expect("counted members are there");
        if nested {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(&m);
        ctx.reply.double(s);
    }
    debug_assert!(n > 0, "a present sorted set yields at least one member");
    let emptied = z.is_empty();
    // Redis announces the pop with the first member taken, before replying with it;
    // only the order against the reply differs, which no subscriber can see.
    let event = if max { "zpopmax" } else { "zpopmin" };
    srv.notify_keyspace_event(NOTIFY_ZSET, event, key, ctx.db);
    srv.signal_modified_key(ctx.db, key);
    if emptied {
        srv.delete_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
    }
    srv.mark_dirty(n as u64);
    // ZMPOP and the blocking pops propagate as ZPOPMIN/ZPOPMAX of the key popped,
    // with the count actually popped when the command had one.
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    match ctx.spec.fullname {
        "zmpop" | "bzmpop" => {
            ctx.rewrite_argv_with(|_| vec![name.to_vec(), key.to_vec(), n.to_string().into_bytes()])
        }
        "bzpopmin" | "bzpopmax" => ctx.rewrite_argv_with(|_| vec![name.to_vec(), key.to_vec()]),
        _ => {}
    }
}

/// zmpopGenericCommand's parsing: `numkeys` at `numkeys_idx`, then the keys, MIN|MAX
/// and an optional COUNT. Returns the key indexes, whether MAX, and the count.
pub(crate) fn parse_mpop(
    ctx: &mut Ctx<'_>,
    numkeys_idx: usize,
) -> Option<(std::ops::Range<usize>, bool, i64)> {
    const ERR_NUMKEYS: &str = "numkeys should be greater than 0";
    let Some(numkeys) = parse_i64(ctx.arg(numkeys_idx)).filter(|n| *n >= 1) else {
        ctx.reply.error(ERR_NUMKEYS);
        return None;
    };
    let where_idx =
        (numkeys_idx + 1).saturating_add(usize::try_from(numkeys).unwrap_or(usize::MAX));
    if where_idx >= ctx.argc() {
        ctx.reply.error(ERR_SYNTAX);
        return None;
    }
    let max = if eq_ic(ctx.arg(where_idx), "min") {
        false
    } else if eq_ic(ctx.arg(where_idx), "max") {
        true
    } else {
        ctx.reply.error(ERR_SYNTAX);
        return None;
    };
    let mut count = -1i64;
    let mut j = where_idx + 1;
    while j < ctx.argc() {
        let more = ctx.argc() - 1 - j;
        if count == -1 && eq_ic(ctx.arg(j), "count") && more > 0 {
            j += 1;
            match parse_i64(ctx.arg(j)).filter(|n| *n >= 1) {
                Some(n) => count = n,
                None => {
                    ctx.reply.error("count should be greater than 0");
                    return None;
                }
            }
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return None;
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    Some((numkeys_idx + 1..where_idx, max, count))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count].
fn zmpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some((keys, max, count)) = parse_mpop(ctx, 1) else {
        return;
    };
    let keys: Vec<&[u8]> = keys.map(|i| ctx.arg(i)).collect();
    generic_zpop(srv, ctx, &keys, max, count, true, true);
}

// ----- ZRANDMEMBER -------------------------------------------------------------------

fn zrandmember(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() >= 3 {
        let Some(n) = parse_i64(ctx.arg(2)).filter(|n| *n >= -i64::MAX) else {
            ctx.reply.error(if parse_i64(ctx.arg(2)).is_some() {
                "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
            } else {
                ERR_NOT_INTEGER
            });
            return;
        };
        let withscores = ctx.argc() == 4;
        if ctx.argc() > 4 || (withscores && !eq_ic(ctx.arg(3), "withscores")) {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
            ctx.reply.error("value is out of range");
            return;
        }
        zrandmember_with_count(srv, ctx, n, withscores);
        return;
    }
    let key = ctx.arg(1);
    let Ok(z) = read(srv, ctx, key) else {
        return;
    };
    if z.is_none() {
        ctx.reply.null();
        return;
    }
    let (z, rng) = zset_ref(srv, ctx.db, key);
    let i = rng.index(z.len());
    let (m, _) = z.at_rank(i).expect("index below the length");
    bulk_entry(ctx.reply, m);
}

/// lpRandomPairs: `count` independent uniform picks from a listpack, read in one pass
/// over the sorted pick positions and replied in the order they were drawn.
fn listpack_random_picks<'z>(
    z: &'z Zset,
    count: usize,
    rng: &mut CoreRng,
) -> Vec<(LpEntry<'z>, f64)> {
    let n = z.len();
    let mut picks: Vec<(usize, usize)> = (0..count).map(|order| (rng.index(n), order)).collect();
    picks.sort_unstable();
    let mut out = vec![(LpEntry::Int(0), 0.0); count];
    let mut it = z.iter(false).enumerate().peekable();
    for (index, order) in picks {
        while it.peek().is_some_and(|(i, _)| *i < index) {
            it.next();
        }
        let (_, pair) = *it.peek().expect("pick below the length");
        out[order] = pair;
    }
    out
}

fn zrandmember_with_count(srv: &mut Server, ctx: &mut Ctx<'_>, n: i64, withscores: bool) {
    let key = ctx.arg(1);
    let Ok(z) = read(srv, ctx, key) else {
        return;
    };
    if z.is_none() {
        ctx.reply.array(0);
        return;
    }
    let (z, rng) = zset_ref(srv, ctx.db, key);
    let (count, unique) = (n.unsigned_abs(), n >= 0);
    if count == 0 {
        ctx.reply.array(0);
        return;
    }
    let size = z.len() as u64;
    // Case 1: repetitions allowed (or a single pick): independent uniform draws.
    if !unique || count == 1 {
        pairs_header(ctx.reply, count as usize, withscores);
        let mut left = count;
        let mut cut_short = false;
        while left > 0 && !cut_short {
            let batch = left.min(RANDOM_SAMPLE_LIMIT as u64) as usize;
            left -= batch as u64;
            let picks: Vec<(LpEntry<'_>, f64)> = match z {
                Zset::Listpack(_) => listpack_random_picks(z, batch, rng),
                Zset::Skiplist(_) => (0..batch)
                    .map(|_| {
                        z.at_rank(rng.index(z.len()))
                            .expect("rank below the length")
                    })
                    .collect(),
            };
            for (m, s) in picks {
                emit_pair(ctx.reply, m, s, withscores);
            }
            cut_short = ctx.reply.len() > RANDOM_REPLY_LIMIT_BYTES;
        }
        if cut_short {
            srv.close_client_asap(ctx.conn);
        }
        return;
    }
    pairs_header(ctx.reply, count.min(size) as usize, withscores);
    // Case 2: asking for at least everything returns everything (Redis walks sorted
    // sets from the highest score down).
    if count >= size {
        for (m, s) in z.iter(true) {
            emit_pair(ctx.reply, m, s, withscores);
        }
        return;
    }
    // Case 3: most of the set: copy it and remove random members down to `count`.
    if count * SUB_STRATEGY_MUL > size {
        let mut all: Vec<(LpEntry<'_>, f64)> = z.iter(true).collect();
        while all.len() as u64 > count {
            let i = rng.index(all.len());
            all.swap_remove(i);
        }
        for (m, s) in all {
            emit_pair(ctx.reply, m, s, withscores);
        }
        return;
    }
    // Case 4: a small part of a big set.
    match z {
        Zset::Listpack(_) => {
            // lpRandomPairsUnique: one pass, each pair kept with probability
            // needed / remaining, so the picks are distinct and in listpack order.
            let mut needed = count;
            let mut remaining = size;
            for (m, s) in z.iter(false) {
                if rng.below(remaining) < needed {
                    emit_pair(ctx.reply, m, s, withscores);
                    needed -= 1;
                    if needed == 0 {
                        break;
                    }
                }
                remaining -= 1;
            }
        }
        Zset::Skiplist(_) => {
            let mut picked: FastSet<usize> = FastSet::default();
            while (picked.len() as u64) < count {
                let rank = rng.index(z.len());
                if picked.insert(rank) {
                    let (m, s) = z.at_rank(rank).expect("rank below the length");
                    emit_pair(ctx.reply, m, s, withscores);
                }
            }
        }
    }
}

// ----- ZUNION / ZINTER / ZDIFF -------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// zunionInterAggregate; a sum of +inf and -inf counts as 0.
fn aggregate(target: &mut f64, value: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += value;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if value < *target {
                *target = value;
            }
        }
        Aggregate::Max => {
            if value > *target {
                *target = value;
            }
        }
    }
}

/// One input of the set algebra: a sorted set, a plain set (every member with score
/// 1, as Redis's zuiNext reads sets), or a missing key (an empty set).
#[derive(Clone, Copy)]
enum Input<'a> {
    Missing,
    Zset(&'a Zset),
    Set(&'a Set),
}

/// The members of an input with their scores.
enum InputIter<'a> {
    Zset(ZIter<'a>),
    Set(SetIter<'a>),
}

impl<'a> Iterator for InputIter<'a> {
    type Item = (LpEntry<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            InputIter::Zset(it) => it.next(),
            InputIter::Set(it) => it.next().map(|m| (m, 1.0)),
        }
    }
}

impl<'a> Input<'a> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Zset(z) => z.len(),
            Input::Set(s) => s.len(),
        }
    }

    /// Members with their scores (sorted sets from the highest score down, as Redis's
    /// zuiNext walks them).
    fn iter(&self) -> InputIter<'a> {
        match self {
            Input::Missing => InputIter::Zset(ZIter::Empty),
            Input::Zset(z) => InputIter::Zset(z.iter(true)),
            Input::Set(s) => InputIter::Set(s.iter()),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Zset(z) => z.score(member),
            Input::Set(s) => s.contains(LpEntry::Str(member)).then_some(1.0),
        }
    }

    fn same_object(&self, other: &Input<'_>) -> bool {
        match (self, other) {
            (Input::Zset(a), Input::Zset(b)) => std::ptr::eq(*a, *b),
            (Input::Set(a), Input::Set(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }
}

/// The value at a key as a set-algebra input, or None for a type Redis refuses.
fn input_of(value: Option<&Value>) -> Option<Input<'_>> {
    match value {
        None => Some(Input::Missing),
        Some(Value::Zset(z)) => Some(Input::Zset(z)),
        Some(Value::Set(s)) => Some(Input::Set(s)),
        Some(_) => None,
    }
}

fn zunion(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, false, SetOp::Union, false);
}

fn zunionstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, true, SetOp::Union, false);
}

fn zinter(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, false, SetOp::Inter, false);
}

fn zinterstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, true, SetOp::Inter, false);
}

fn zintercard(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, false, SetOp::Inter, true);
}

fn zdiff(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, false, SetOp::Diff, false);
}

fn zdiffstore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    zsetop_generic(srv, ctx, true, SetOp::Diff, false);
}

/// zunionInterDiffGenericCommand.
fn zsetop_generic(srv: &mut Server, ctx: &mut Ctx<'_>, store: bool, op: SetOp, card_only: bool) {
    let numkeys_idx = if store { 2 } else { 1 };
    let Some(setnum) = arg_i64(ctx, numkeys_idx) else {
        return;
    };
    if setnum < 1 {
        ctx.reply.error(&format!(
            "at least 1 input key is needed for '{}' command",
            ctx.spec.fullname
        ));
        return;
    }
    if setnum > (ctx.argc() - (numkeys_idx + 1)) as i64 {
        ctx.reply.error(ERR_SYNTAX);
        return;
    }
    let setnum = setnum as usize;
    let first_key = numkeys_idx + 1;
    // Look every key up in order (expiring, counting hits and misses) and stop at the
    // first one of a type Redis refuses, before any option is parsed.
    for i in 0..setnum {
        let key = ctx.arg(first_key + i);
        let ok = input_of(srv.lookup_read(ctx.db, key).map(|o| &o.value)).is_some();
        if !ok {
            ctx.reply.error(WRONGTYPE);
            return;
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first_key + setnum;
    while j < ctx.argc() {
        let remaining = ctx.argc() - j;
        let opt = ctx.arg(j);
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(opt, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_f64(ctx.arg(j)) {
                    Some(v) => *w = v,
                    None => {
                        ctx.reply.error("weight value is not a float");
                        return;
                    }
                }
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(opt, "aggregate") {
            let a = ctx.arg(j + 1);
            how = if eq_ic(a, "sum") {
                Aggregate::Sum
            } else if eq_ic(a, "min") {
                Aggregate::Min
            } else if eq_ic(a, "max") {
                Aggregate::Max
            } else {
                ctx.reply.error(ERR_SYNTAX);
                return;
            };
            j += 2;
        } else if !store && !card_only && eq_ic(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(opt, "limit") {
            match positive_count(ctx, j + 1, "LIMIT can't be negative") {
                Some(n) => limit = usize::try_from(n).unwrap_or(usize::MAX),
                None => return,
            }
            j += 2;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
    }
    let db = &srv.dbs[ctx.db];
    let mut inputs: Vec<(Input<'_>, f64)> = (0..setnum)
        .map(|i| {
            let value = db.peek(ctx.arg(first_key + i)).map(|o| &o.value);
            (input_of(value).expect("types checked above"), weights[i])
        })
        .collect();
    if op != SetOp::Diff {
        // Smallest first, stably (the order of a floating-point sum matters).
        inputs.sort_by_key(|(input, _)| input.len());
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            let (first, w0) = inputs[0];
            if first.len() > 0 {
                for (m, s) in first.iter() {
                    let member = m.as_bytes();
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut everywhere = true;
                    for (other, w) in &inputs[1..] {
                        let value = if other.same_object(&first) {
                            Some(s)
                        } else {
                            other.score(&member)
                        };
                        match value {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => {
                                everywhere = false;
                                break;
                            }
                        }
                    }
                    if !everywhere {
                        continue;
                    }
                    if card_only {
                        cardinality += 1;
                        if limit != 0 && cardinality >= limit {
                            break;
                        }
                    } else {
                        result.push((member.into_owned(), score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: FastMap<Vec<u8>, f64> = FastMap::default();
            let largest = inputs.last().map_or(0, |(i, _)| i.len());
            acc.reserve(largest);
            for (input, w) in &inputs {
                for (m, s) in input.iter() {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let member = m.as_bytes();
                    match acc.get_mut(member.as_ref()) {
                        Some(existing) => aggregate(existing, score, how),
                        None => {
                            acc.insert(member.into_owned(), score);
                        }
                    }
                }
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let first = inputs[0].0;
            // A later input that is the first one again removes everything.
            let same = inputs[1..].iter().any(|(i, _)| i.same_object(&first));
            if first.len() > 0 && !same {
                for (m, s) in first.iter() {
                    let member = m.as_bytes();
                    if inputs[1..].iter().all(|(i, _)| i.score(&member).is_none()) {
                        result.push((member.into_owned(), s));
                    }
                }
            }
        }
    }
    if card_only {
        ctx.reply.int(cardinality as i64);
        return;
    }
    // Redis builds the result as a skiplist: sorted by score, then member bytes.
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .expect("aggregated scores are never NaN")
            .then_with(|| a.0.cmp(&b.0))
    });
    if !store {
        pairs_header(ctx.reply, result.len(), withscores);
        for (m, s) in &result {
            emit_pair(ctx.reply, LpEntry::Str(m), *s, withscores);
        }
        return;
    }
    let dst = ctx.arg(1);
    if result.is_empty() {
        ctx.reply.int(0);
        store_nothing(srv, ctx.db, dst);
        return;
    }
    let lim = limits(srv);
    let z = Zset::from_sorted(&result, lim, &mut srv.rng);
    let n = z.len();
    srv.set_key(ctx.db, dst, Value::Zset(z), false);
    ctx.reply.int(n as i64);
    let event = match op {
        SetOp::Union => "zunionstore",
        SetOp::Inter => "zinterstore",
        SetOp::Diff => "zdiffstore",
    };
    srv.notify_keyspace_event(NOTIFY_ZSET, event, dst, ctx.db);
    srv.mark_dirty(1);
}

// ----- ZSCAN -------------------------------------------------------------------------

fn zscan(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(mut cursor) = super::keys::parse_cursor(ctx.arg(2)) else {
        ctx.reply.error("invalid cursor");
        return;
    };
    let Ok(z) = read(srv, ctx, ctx.arg(1)) else {
        return;
    };
    let Some(z) = z else {
        elemscan::reply_empty(ctx);
        return;
    };
    let Some(opts) = elemscan::parse_options(ctx) else {
        return;
    };
    let mut items = Vec::new();
    match z {
        Zset::Listpack(lp) => {
            // Everything at once, each score as the listpack stores it.
            for e in lp.iter() {
                items.push(e.to_vec());
            }
            cursor = 0;
        }
        Zset::Skiplist(sl) => {
            let target = opts.count.saturating_mul(2);
            let mut iterations_left = target.saturating_mul(10);
            loop {
                cursor = sl.scan(cursor, |m, s| {
                    items.push(m.to_vec());
                    items.push(fmt_g17(s).into_bytes());
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
    use crate::object::Value;
    use crate::testing::{encode_command, Frame, TestServer};
    use crate::types::zset::Zset;

    fn bulks(items: &[&str]) -> Frame {
        Frame::array_of_bulks(items)
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    fn err(s: &str) -> Frame {
        Frame::err(s)
    }

    fn enc(t: &mut TestServer, key: &str) -> String {
        t.cmd(&["OBJECT", "ENCODING", key]).as_str()
    }

    /// The raw reply bytes, for shapes `Frame` folds together (`$-1` and `*-1`).
    fn raw(t: &mut TestServer, args: &[&str]) -> String {
        let conn = t.default_conn();
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        t.send_raw(conn, &encode_command(&args));
        String::from_utf8(t.take_output(conn)).unwrap()
    }

    fn members(f: Frame) -> Vec<String> {
        match f {
            Frame::Array(items) => items.iter().map(|i| i.as_str()).collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    /// Run the skiplist's structural checks on `key` if it is skiplist-encoded.
    fn check_structure(t: &TestServer, key: &str) {
        if let Some(Value::Zset(Zset::Skiplist(sl))) =
            t.server.dbs[0].peek(key.as_bytes()).map(|o| &o.value)
        {
            sl.check();
        }
    }

    #[test]
    fn zadd_flags_and_replies() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["ZADD", "z", "1", "a", "2", "b"]), int(2));
        assert_eq!(t.cmd(&["ZADD", "z", "10", "a", "3", "c"]), int(1));
        assert_eq!(
            t.cmd(&["ZADD", "z", "CH", "11", "a", "3", "c", "4", "d"]),
            int(2)
        );
        assert_eq!(t.cmd(&["ZADD", "z", "NX", "99", "a", "5", "e"]), int(1));
        assert_eq!(t.cmd(&["ZSCORE", "z", "a"]), Frame::bulk("11"));
        assert_eq!(
            t.cmd(&["ZADD", "z", "XX", "CH", "12", "a", "5", "f"]),
            int(1)
        );
        assert_eq!(t.cmd(&["ZSCORE", "z", "f"]), Frame::Null);
        assert_eq!(
            t.cmd(&["ZADD", "z", "GT", "CH", "1", "a", "20", "b"]),
            int(1)
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "LT", "CH", "1", "a", "30", "b"]),
            int(1)
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "GT", "7", "new"]),
            int(1),
            "GT still adds"
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "XX", "GT", "1", "new", "8", "new2"]),
            int(0)
        );
        assert_eq!(t.cmd(&["ZSCORE", "z", "new"]), Frame::bulk("7"));
        // INCR replies the new score, or null when a flag skips the member.
        assert_eq!(
            t.cmd(&["ZADD", "z", "INCR", "1.5", "a"]),
            Frame::bulk("2.5")
        );
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "NX", "1", "a"]), Frame::Null);
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "XX", "1", "zz"]), Frame::Null);
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "GT", "-1", "a"]), Frame::Null);
        assert_eq!(
            t.cmd(&["ZADD", "z", "INCR", "LT", "-1", "a"]),
            Frame::bulk("1.5")
        );
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "0", "a"]), Frame::bulk("1.5"));
        assert_eq!(
            t.cmd(&["ZADD", "z", "incr", "ch", "1", "a"]),
            Frame::bulk("2.5")
        );
        assert_eq!(t.cmd(&["ZADD", "z", "1.1", "p"]), int(1));
        assert_eq!(
            t.cmd(&["ZSCORE", "z", "p"]),
            Frame::bulk("1.1000000000000001")
        );
        // Missing key with XX: nothing created.
        assert_eq!(t.cmd(&["ZADD", "nokey", "XX", "1", "a"]), int(0));
        assert_eq!(
            t.cmd(&["ZADD", "nokey", "XX", "INCR", "1", "a"]),
            Frame::Null
        );
        assert_eq!(t.cmd(&["EXISTS", "nokey"]), int(0));
        for (args, msg) in [
            (
                vec!["ZADD", "z", "1"],
                "ERR wrong number of arguments for 'zadd' command",
            ),
            (vec!["ZADD", "z", "NX", "1"], "ERR syntax error"),
            (vec!["ZADD", "z", "NX", "CH"], "ERR syntax error"),
            (vec!["ZADD", "z", "1", "a", "2"], "ERR syntax error"),
            (
                vec!["ZADD", "z", "NX", "XX", "1", "a"],
                "ERR XX and NX options at the same time are not compatible",
            ),
            (
                vec!["ZADD", "z", "NX", "GT", "1", "a"],
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                vec!["ZADD", "z", "LT", "NX", "1", "a"],
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                vec!["ZADD", "z", "GT", "LT", "1", "a"],
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                vec!["ZADD", "z", "INCR", "1", "a", "2", "b"],
                "ERR INCR option supports a single increment-element pair",
            ),
            (
                vec!["ZADD", "z", "x", "a"],
                "ERR value is not a valid float",
            ),
            (
                vec!["ZADD", "z", "nan", "a"],
                "ERR value is not a valid float",
            ),
            (
                vec!["ZADD", "z", "1e400", "a"],
                "ERR value is not a valid float",
            ),
            (
                vec!["ZADD", "z", " 1", "a"],
                "ERR value is not a valid float",
            ),
            (vec!["ZADD", "z", "", "a"], "ERR value is not a valid float"),
            (
                vec!["ZADD", "z", "1", "a", "x", "b"],
                "ERR value is not a valid float",
            ),
        ] {
            assert_eq!(t.cmd(&args), err(msg), "{args:?}");
        }
        // A bad score anywhere leaves the set untouched.
        assert_eq!(t.cmd(&["ZSCORE", "z", "b"]), Frame::bulk("20"));
        assert_eq!(t.cmd(&["ZADD", "z", "0x10", "hex", "-inf", "ninf"]), int(2));
        assert_eq!(t.cmd(&["ZSCORE", "z", "hex"]), Frame::bulk("16"));
        assert_eq!(t.cmd(&["ZSCORE", "z", "ninf"]), Frame::bulk("-inf"));
        assert_eq!(t.cmd(&["ZADD", "inf", "inf", "a"]), int(1));
        assert_eq!(
            t.cmd(&["ZADD", "inf", "INCR", "-inf", "a"]),
            err("ERR resulting score is not a number (NaN)")
        );
        assert_eq!(
            t.cmd(&["ZINCRBY", "inf", "-inf", "a"]),
            err("ERR resulting score is not a number (NaN)")
        );
        assert_eq!(t.cmd(&["ZSCORE", "inf", "a"]), Frame::bulk("inf"));
    }

    #[test]
    fn plain_sets_are_inputs_with_score_one() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "4"]);
        t.cmd(&["SADD", "ints", "1", "2", "3"]);
        t.cmd(&["SADD", "small", "a", "b", "1"]);
        t.cmd(&["SADD", "big", "a", "c", "d", "e", "f", "3"]);
        assert_eq!(enc(&mut t, "ints"), "intset");
        assert_eq!(enc(&mut t, "small"), "listpack");
        assert_eq!(enc(&mut t, "big"), "hashtable");
        t.cmd(&["ZADD", "z", "5", "a", "7", "3"]);
        assert_eq!(
            t.cmd(&["ZUNION", "4", "ints", "small", "big", "z", "WITHSCORES"]),
            bulks(&[
                "2", "1", "b", "1", "c", "1", "d", "1", "e", "1", "f", "1", "1", "2", "a", "7",
                "3", "9"
            ])
        );
        assert_eq!(
            t.cmd(&[
                "ZINTER",
                "3",
                "ints",
                "big",
                "z",
                "WITHSCORES",
                "WEIGHTS",
                "1",
                "2",
                "3"
            ]),
            bulks(&["3", "24"])
        );
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "small", "big"]), int(1));
        assert_eq!(
            t.cmd(&["ZDIFF", "2", "big", "z", "WITHSCORES"]),
            bulks(&["c", "1", "d", "1", "e", "1", "f", "1"])
        );
        assert_eq!(t.cmd(&["ZINTERSTORE", "out", "2", "small", "ints"]), int(1));
        assert_eq!(t.cmd(&["TYPE", "out"]), Frame::Simple("zset".into()));
        assert_eq!(t.cmd(&["ZSCORE", "out", "1"]), Frame::bulk("2"));
    }

    #[test]
    fn lex_ranges_check_the_ends_first_in_both_encodings() {
        for entries in ["128", "0"] {
            let mut t = TestServer::new();
            t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            t.cmd(&["ZADD", "z", "1", "c", "2", "a"]);
            // The last member ("a") is below `[b`: nothing, although "c" alone is in.
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[b", "+"]), bulks(&[]));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "[b", "+"]), int(0));
            assert_eq!(t.cmd(&["ZREVRANGEBYLEX", "z", "+", "[b"]), bulks(&[]));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "-", "+"]), int(2));
        }
    }

    #[test]
    fn zincrby() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["ZINCRBY", "z", "2", "a"]), Frame::bulk("2"));
        assert_eq!(
            t.cmd(&["ZINCRBY", "z", "0.1", "a"]),
            Frame::bulk("2.1000000000000001")
        );
        assert_eq!(t.cmd(&["ZINCRBY", "z", "-5", "b"]), Frame::bulk("-5"));
        assert_eq!(
            t.cmd(&["ZINCRBY", "z", "x", "a"]),
            err("ERR value is not a valid float")
        );
        // ZINCRBY shares ZADD's option parser, so an option word is a syntax error.
        assert_eq!(t.cmd(&["ZINCRBY", "z", "nx", "a"]), err("ERR syntax error"));
        assert_eq!(
            t.cmd(&["ZINCRBY", "z", "1"]),
            err("ERR wrong number of arguments for 'zincrby' command")
        );
        t.cmd(&["HELLO", "3"]);
        assert_eq!(
            t.cmd(&["ZINCRBY", "z", "1", "a"]),
            Frame::Double("3.1000000000000001".into())
        );
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "NX", "1", "a"]), Frame::Null);
    }

    #[test]
    fn zrem_and_key_lifetime() {
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(t.cmd(&["ZREM", "z", "a", "nope", "a"]), int(1));
        assert_eq!(t.cmd(&["ZREM", "nokey", "a"]), int(0));
        assert_eq!(t.cmd(&["ZREM", "z", "b", "c", "x"]), int(2));
        assert_eq!(t.cmd(&["EXISTS", "z"]), int(0));
        assert_eq!(t.cmd(&["ZCARD", "z"]), int(0));
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "2"]);
        t.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(enc(&mut t, "z"), "skiplist");
        assert_eq!(t.cmd(&["ZREM", "z", "a"]), int(1));
        assert_eq!(enc(&mut t, "z"), "skiplist", "removal never converts back");
        assert_eq!(t.cmd(&["ZREM", "z", "b", "c"]), int(2));
        assert_eq!(t.cmd(&["EXISTS", "z"]), int(0));
    }

    #[test]
    fn reads_scores_ranks_counts() {
        for entries in ["128", "1"] {
            let mut t = TestServer::new();
            t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            t.cmd(&[
                "ZADD", "z", "1", "a", "2", "b", "2", "c", "3.5", "d", "-inf", "m", "+inf", "p",
            ]);
            assert_eq!(t.cmd(&["ZCARD", "z"]), int(6));
            assert_eq!(t.cmd(&["ZCARD", "nokey"]), int(0));
            assert_eq!(t.cmd(&["ZSCORE", "z", "d"]), Frame::bulk("3.5"));
            assert_eq!(t.cmd(&["ZSCORE", "z", "m"]), Frame::bulk("-inf"));
            assert_eq!(t.cmd(&["ZSCORE", "nokey", "d"]), Frame::Null);
            assert_eq!(
                t.cmd(&["ZMSCORE", "z", "a", "nope", "p"]),
                Frame::Array(vec![Frame::bulk("1"), Frame::Null, Frame::bulk("inf")])
            );
            assert_eq!(
                t.cmd(&["ZMSCORE", "nokey", "a"]),
                Frame::Array(vec![Frame::Null])
            );
            assert_eq!(t.cmd(&["ZRANK", "z", "m"]), int(0));
            assert_eq!(t.cmd(&["ZRANK", "z", "c"]), int(3));
            assert_eq!(t.cmd(&["ZREVRANK", "z", "c"]), int(2));
            assert_eq!(t.cmd(&["ZRANK", "z", "nope"]), Frame::Null);
            assert_eq!(t.cmd(&["ZRANK", "nokey", "a"]), Frame::Null);
            assert_eq!(t.cmd(&["ZCOUNT", "z", "2", "3.5"]), int(3));
            assert_eq!(t.cmd(&["ZCOUNT", "z", "(2", "3.5"]), int(1));
            assert_eq!(t.cmd(&["ZCOUNT", "z", "-inf", "+inf"]), int(6));
            assert_eq!(t.cmd(&["ZCOUNT", "z", "(-inf", "(+inf"]), int(4));
            assert_eq!(t.cmd(&["ZCOUNT", "z", "3", "2"]), int(0));
            assert_eq!(t.cmd(&["ZCOUNT", "z", "(2", "2"]), int(0));
            assert_eq!(
                t.cmd(&["ZCOUNT", "z", "", "1"]),
                int(1),
                "strtod reads '' as 0"
            );
            assert_eq!(
                t.cmd(&["ZCOUNT", "z", "(", "1"]),
                int(1),
                "and '(' as exclusive 0"
            );
            assert_eq!(
                t.cmd(&["ZCOUNT", "z", "x", "1"]),
                err("ERR min or max is not a float")
            );
            assert_eq!(
                t.cmd(&["ZCOUNT", "z", "nan", "1"]),
                err("ERR min or max is not a float")
            );
            assert_eq!(t.cmd(&["ZCOUNT", "nokey", "1", "2"]), int(0));
            check_structure(&t, "z");
        }
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"]);
        assert_eq!(t.cmd(&["ZLEXCOUNT", "lex", "-", "+"]), int(4));
        assert_eq!(t.cmd(&["ZLEXCOUNT", "lex", "[b", "(d"]), int(2));
        assert_eq!(t.cmd(&["ZLEXCOUNT", "lex", "+", "-"]), int(0));
        assert_eq!(
            t.cmd(&["ZLEXCOUNT", "lex", "b", "+"]),
            err("ERR min or max not valid string range item")
        );
        assert_eq!(t.cmd(&["ZLEXCOUNT", "nokey", "-", "+"]), int(0));
    }

    /// ZRANK/ZREVRANK WITHSCORE as Redis 7.2 documents them: [rank, score] (the score
    /// a double in RESP3), a null array when the key or member is missing.
    #[test]
    fn zrank_withscore_as_redis_7_2() {
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "z", "1", "a", "2.5", "b", "3", "c"]);
        assert_eq!(
            raw(&mut t, &["ZRANK", "z", "b", "WITHSCORE"]),
            "*2\r\n:1\r\n$3\r\n2.5\r\n"
        );
        assert_eq!(
            raw(&mut t, &["ZREVRANK", "z", "b", "withscore"]),
            "*2\r\n:1\r\n$3\r\n2.5\r\n"
        );
        assert_eq!(
            raw(&mut t, &["ZREVRANK", "z", "c", "WITHSCORE"]),
            "*2\r\n:0\r\n$1\r\n3\r\n"
        );
        assert_eq!(raw(&mut t, &["ZRANK", "z", "nope", "WITHSCORE"]), "*-1\r\n");
        assert_eq!(
            raw(&mut t, &["ZRANK", "nokey", "a", "WITHSCORE"]),
            "*-1\r\n"
        );
        assert_eq!(raw(&mut t, &["ZRANK", "nokey", "a"]), "$-1\r\n");
        assert_eq!(
            t.cmd(&["ZRANK", "z", "a", "WITHSCORES"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["ZRANK", "z", "a", "WITHSCORE", "x"]),
            err("ERR wrong number of arguments for 'zrank' command")
        );
        assert_eq!(
            t.cmd(&["ZREVRANK", "z"]),
            err("ERR wrong number of arguments for 'zrevrank' command")
        );
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(
            t.cmd(&["ZRANK", "s", "a", "WITHSCORE"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        t.cmd(&["HELLO", "3"]);
        assert_eq!(
            raw(&mut t, &["ZRANK", "z", "b", "WITHSCORE"]),
            "*2\r\n:1\r\n,2.5\r\n"
        );
        assert_eq!(raw(&mut t, &["ZRANK", "z", "nope", "WITHSCORE"]), "_\r\n");
        assert_eq!(raw(&mut t, &["ZRANK", "z", "a"]), ":0\r\n");
        // The command table carries 7.2's arity and argument.
        let Frame::Array(info) = t.cmd(&["COMMAND", "INFO", "zrank"]) else {
            panic!()
        };
        let Frame::Array(entry) = &info[0] else {
            panic!()
        };
        assert_eq!(entry[1], int(-3));
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        t.cmd(&["ZADD", "big", "1", "a", "1.5", "b"]);
        assert_eq!(enc(&mut t, "big"), "skiplist");
        assert_eq!(
            raw(&mut t, &["ZREVRANK", "big", "a", "WITHSCORE"]),
            "*2\r\n:1\r\n,1\r\n"
        );
    }

    #[test]
    fn zrange_by_rank_score_and_lex() {
        for entries in ["128", "2"] {
            let mut t = TestServer::new();
            t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            t.cmd(&[
                "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
            ]);
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "-1"]),
                bulks(&["a", "b", "c", "d", "e"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "1", "2", "WITHSCORES"]),
                bulks(&["b", "2", "c", "3"])
            );
            assert_eq!(t.cmd(&["ZRANGE", "z", "-2", "100"]), bulks(&["d", "e"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "-100", "0"]), bulks(&["a"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "3", "1"]), bulks(&[]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "5", "9"]), bulks(&[]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1", "REV"]), bulks(&["e", "d"]));
            assert_eq!(
                t.cmd(&["ZREVRANGE", "z", "1", "-2"]),
                bulks(&["d", "c", "b"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"]),
                bulks(&["a", "b"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]),
                err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "x", "1"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "REV", "REV"]),
                err("ERR syntax error")
            );
            assert_eq!(
                t.cmd(&["ZREVRANGE", "z", "0", "1", "REV"]),
                err("ERR syntax error")
            );
            assert_eq!(t.cmd(&["ZRANGE", "nokey", "0", "-1"]), bulks(&[]));
            // Scores.
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "(1", "3"]),
                bulks(&["b", "c"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "(1", "3", "BYSCORE"]),
                bulks(&["b", "c"])
            );
            assert_eq!(
                t.cmd(&["ZREVRANGEBYSCORE", "z", "3", "(1"]),
                bulks(&["c", "b"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "3", "(1", "BYSCORE", "REV"]),
                bulks(&["c", "b"])
            );
            assert_eq!(
                t.cmd(&[
                    "ZRANGEBYSCORE",
                    "z",
                    "-inf",
                    "+inf",
                    "LIMIT",
                    "1",
                    "2",
                    "WITHSCORES"
                ]),
                bulks(&["b", "2", "c", "3"])
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"]),
                bulks(&["d", "e"])
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "3"]),
                bulks(&[])
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "0"]),
                bulks(&[])
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "9", "1"]),
                bulks(&[])
            );
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "2", "(2"]), bulks(&[]));
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "x", "2"]),
                err("ERR min or max is not a float")
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "REV"]),
                err("ERR syntax error")
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "x", "1"]),
                err("ERR value is not an integer or out of range")
            );
            // Lex (all scores equal).
            t.cmd(&["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"]);
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "l", "[b", "(d"]), bulks(&["b", "c"]));
            assert_eq!(
                t.cmd(&["ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"]),
                bulks(&["b", "c"])
            );
            assert_eq!(
                t.cmd(&["ZREVRANGEBYLEX", "l", "+", "(b"]),
                bulks(&["d", "c"])
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "l", "(d", "-", "BYLEX", "REV"]),
                bulks(&["c", "b", "a"])
            );
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "l", "[c", "[b"]), bulks(&[]));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "l", "-", "-"]), bulks(&[]));
            assert_eq!(
                t.cmd(&["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"]),
                err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
            );
            assert_eq!(
                t.cmd(&["ZRANGEBYLEX", "l", "b", "+"]),
                err("ERR min or max not valid string range item")
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "l", "0", "1", "BYLEX", "BYSCORE"]),
                err("ERR syntax error")
            );
            // RESP3 nests scored pairs with doubles.
            t.cmd(&["HELLO", "3"]);
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "WITHSCORES"]),
                Frame::Array(vec![
                    Frame::Array(vec![Frame::bulk("a"), Frame::Double("1".into())]),
                    Frame::Array(vec![Frame::bulk("b"), Frame::Double("2".into())]),
                ])
            );
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1"]), bulks(&["a", "b"]));
            check_structure(&t, "z");
        }
    }

    #[test]
    fn zrangestore_builds_like_redis() {
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "src", "1", "a", "2", "b", "3", "c", "4", "d"]);
        assert_eq!(
            t.cmd(&["ZRANGESTORE", "dst", "src", "1", "2", "REV"]),
            int(2)
        );
        assert_eq!(
            t.cmd(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
            bulks(&["b", "2", "c", "3"])
        );
        assert_eq!(
            t.cmd(&[
                "ZRANGESTORE",
                "dst",
                "src",
                "(1",
                "+inf",
                "BYSCORE",
                "LIMIT",
                "1",
                "5"
            ]),
            int(2)
        );
        assert_eq!(t.cmd(&["ZRANGE", "dst", "0", "-1"]), bulks(&["c", "d"]));
        assert_eq!(
            t.cmd(&["ZRANGESTORE", "dst", "src", "[b", "[c", "BYLEX"]),
            int(2)
        );
        t.cmd(&["EXPIRE", "dst", "100"]);
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "0", "0"]), int(1));
        assert_eq!(
            t.cmd(&["TTL", "dst"]),
            int(-1),
            "the destination is replaced"
        );
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "9", "10"]), int(0));
        assert_eq!(t.cmd(&["EXISTS", "dst"]), int(0));
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "nokey", "0", "-1"]), int(0));
        assert_eq!(
            t.cmd(&["ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"]),
            err("ERR syntax error")
        );
        // Encodings: a rank range longer than the limit starts as a skiplist; score and
        // lex ranges start as a listpack and convert as they grow.
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "2"]);
        t.cmd(&["ZRANGESTORE", "r1", "src", "0", "1"]);
        assert_eq!(enc(&mut t, "r1"), "listpack");
        t.cmd(&["ZRANGESTORE", "r2", "src", "0", "2"]);
        assert_eq!(enc(&mut t, "r2"), "skiplist");
        t.cmd(&["ZRANGESTORE", "r3", "src", "-inf", "2", "BYSCORE"]);
        assert_eq!(enc(&mut t, "r3"), "listpack");
        t.cmd(&["ZRANGESTORE", "r4", "src", "-inf", "3", "BYSCORE"]);
        assert_eq!(enc(&mut t, "r4"), "skiplist");
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(
            t.cmd(&["ZRANGESTORE", "dst", "s", "0", "-1"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        assert_eq!(
            t.cmd(&["ZRANGESTORE", "s", "src", "0", "0"]),
            int(1),
            "any type is overwritten"
        );
        assert_eq!(t.cmd(&["TYPE", "s"]), Frame::Simple("zset".into()));
    }

    #[test]
    fn remove_ranges() {
        for entries in ["128", "3"] {
            let mut t = TestServer::new();
            t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", entries]);
            let fill = |t: &mut TestServer| {
                t.cmd(&["DEL", "z"]);
                t.cmd(&[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
                ]);
            };
            fill(&mut t);
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "1", "2"]), int(2));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "-1", "-1"]), int(1));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "5", "9"]), int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "2", "1"]), int(0));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "-1"]), bulks(&["a", "d", "e"]));
            assert_eq!(
                t.cmd(&["ZREMRANGEBYRANK", "z", "x", "1"]),
                err("ERR value is not an integer or out of range")
            );
            fill(&mut t);
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "(2", "4"]), int(2));
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "10", "20"]), int(0));
            assert_eq!(
                t.cmd(&["ZREMRANGEBYSCORE", "z", "x", "1"]),
                err("ERR min or max is not a float")
            );
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "-1"]),
                bulks(&["a", "b", "e", "f"])
            );
            check_structure(&t, "z");
            fill(&mut t);
            t.cmd(&["ZADD", "z", "0", "aa", "0", "ab"]);
            assert_eq!(t.cmd(&["ZREMRANGEBYLEX", "z", "[aa", "(ab"]), int(1));
            assert_eq!(
                t.cmd(&["ZREMRANGEBYLEX", "z", "aa", "+"]),
                err("ERR min or max not valid string range item")
            );
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), int(7));
            assert_eq!(t.cmd(&["EXISTS", "z"]), int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "nokey", "0", "-1"]), int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYLEX", "nokey", "-", "+"]), int(0));
        }
    }

    #[test]
    fn pops_in_both_protocols() {
        let mut t = TestServer::new();
        t.cmd(&[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ]);
        assert_eq!(t.cmd(&["ZPOPMIN", "z"]), bulks(&["a", "1"]));
        assert_eq!(t.cmd(&["ZPOPMAX", "z", "2"]), bulks(&["e", "5", "d", "4"]));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "0"]), bulks(&[]));
        assert_eq!(
            t.cmd(&["ZPOPMIN", "z", "-1"]),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(
            t.cmd(&["ZPOPMIN", "z", "x"]),
            err("ERR value is out of range, must be positive")
        );
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "1", "2"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZPOPMIN", "nokey"]), bulks(&[]));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "10"]), bulks(&["b", "2", "c", "3"]));
        assert_eq!(t.cmd(&["EXISTS", "z"]), int(0));
        t.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        assert_eq!(
            t.cmd(&["ZMPOP", "2", "nokey", "z", "MAX", "COUNT", "2"]),
            Frame::Array(vec![
                Frame::bulk("z"),
                Frame::Array(vec![bulks(&["c", "3"]), bulks(&["b", "2"])]),
            ])
        );
        assert_eq!(raw(&mut t, &["ZMPOP", "1", "nokey", "MIN"]), "*-1\r\n");
        for (args, msg) in [
            (
                vec!["ZMPOP", "0", "z", "MIN"],
                "ERR numkeys should be greater than 0",
            ),
            (
                vec!["ZMPOP", "x", "z", "MIN"],
                "ERR numkeys should be greater than 0",
            ),
            (vec!["ZMPOP", "2", "z", "MIN"], "ERR syntax error"),
            (vec!["ZMPOP", "1", "z", "MID"], "ERR syntax error"),
            (
                vec!["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
                "ERR count should be greater than 0",
            ),
            (
                vec!["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
                "ERR syntax error",
            ),
            (vec!["ZMPOP", "1", "z", "MIN", "COUNT"], "ERR syntax error"),
            (
                vec!["ZMPOP", "9223372036854775807", "z", "MIN"],
                "ERR syntax error",
            ),
        ] {
            assert_eq!(t.cmd(&args), err(msg), "{args:?}");
        }
        t.cmd(&["HELLO", "3"]);
        t.cmd(&["ZADD", "z", "2", "b", "3", "c"]);
        // Without a count RESP3 keeps the flat pair; with one it nests.
        assert_eq!(
            t.cmd(&["ZPOPMIN", "z"]),
            Frame::Array(vec![Frame::bulk("a"), Frame::Double("1".into())])
        );
        assert_eq!(
            t.cmd(&["ZPOPMAX", "z", "1"]),
            Frame::Array(vec![Frame::Array(vec![
                Frame::bulk("c"),
                Frame::Double("3".into())
            ])])
        );
        assert_eq!(raw(&mut t, &["ZMPOP", "1", "nokey", "MIN"]), "_\r\n");
        assert_eq!(
            t.cmd(&["ZMPOP", "1", "z", "MIN"]),
            Frame::Array(vec![
                Frame::bulk("z"),
                Frame::Array(vec![Frame::Array(vec![
                    Frame::bulk("b"),
                    Frame::Double("2".into())
                ])]),
            ])
        );
        assert_eq!(t.cmd(&["EXISTS", "z"]), int(0));
    }

    #[test]
    fn zrandmember_strategies() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["ZRANDMEMBER", "nokey"]), Frame::Null);
        assert_eq!(t.cmd(&["ZRANDMEMBER", "nokey", "3"]), bulks(&[]));
        for n in [5usize, 300] {
            let key = format!("z{n}");
            let mut args = vec!["ZADD".to_string(), key.clone()];
            for i in 0..n {
                args.push(i.to_string());
                args.push(format!("m{i}"));
            }
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            t.cmd(&refs);
            assert_eq!(
                enc(&mut t, &key),
                if n == 5 { "listpack" } else { "skiplist" }
            );
            for count in [1i64, 2, 4, 5, 150, 299, 300, 1000] {
                let got = members(t.cmd(&["ZRANDMEMBER", &key, &count.to_string()]));
                let expect = (count as usize).min(n);
                assert_eq!(got.len(), expect, "count {count} of {n}");
                let distinct: std::collections::BTreeSet<&String> = got.iter().collect();
                assert_eq!(distinct.len(), expect, "distinct picks for {count} of {n}");
                assert!(got.iter().all(|m| m.starts_with('m')));
            }
            // Everything comes back from the highest score down, as Redis walks it.
            let all = members(t.cmd(&["ZRANDMEMBER", &key, &n.to_string()]));
            assert_eq!(all[0], format!("m{}", n - 1));
            let draws = 40 * n;
            let got = members(t.cmd(&["ZRANDMEMBER", &key, &format!("-{draws}"), "WITHSCORES"]));
            assert_eq!(got.len(), 2 * draws);
            for pair in got.chunks(2) {
                assert_eq!(
                    pair[0],
                    format!("m{}", pair[1]),
                    "score goes with its member"
                );
            }
            // Repeated picks reach every member (missing one has odds below e^-40).
            let seen: std::collections::BTreeSet<String> = got.into_iter().step_by(2).collect();
            assert_eq!(seen.len(), n);
            let one = t.cmd(&["ZRANDMEMBER", &key]).as_str();
            assert!(one.starts_with('m'));
        }
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z5", "0"]), bulks(&[]));
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z5", "1", "WITHSCORE"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z5", "1", "WITHSCORES", "x"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z5", "x"]),
            err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z5", "-9223372036854775808"]),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z5", "-4611686018427387904", "WITHSCORES"]),
            err("ERR value is out of range")
        );
        t.cmd(&["HELLO", "3"]);
        let Frame::Array(got) = t.cmd(&["ZRANDMEMBER", "z5", "-3", "WITHSCORES"]) else {
            panic!()
        };
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(
            |p| matches!(p, Frame::Array(v) if v.len() == 2 && matches!(v[1], Frame::Double(_)))
        ));
        let Frame::Array(got) = t.cmd(&["ZRANDMEMBER", "z300", "10", "WITHSCORES"]) else {
            panic!()
        };
        assert_eq!(got.len(), 10);
    }

    #[test]
    fn endless_random_replies_close_the_client() {
        let mut t = TestServer::new();
        let conn = t.connect();
        t.cmd_on(conn, &["ZADD", "z", "1", "a", "2", "b"]);
        let args: Vec<&[u8]> = vec![b"ZRANDMEMBER", b"z", b"-9223372036854775807"];
        t.send_raw(conn, &encode_command(&args));
        assert!(
            t.closed.contains(&conn),
            "the client is closed, not served forever"
        );
        // Other clients carry on.
        let other = t.connect();
        assert_eq!(t.cmd_on(other, &["ZCARD", "z"]), int(2));
    }

    #[test]
    fn set_algebra() {
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
        t.cmd(&["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
        assert_eq!(
            t.cmd(&["ZUNION", "2", "a", "b", "WITHSCORES"]),
            bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
        );
        assert_eq!(
            t.cmd(&[
                "ZUNION",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "0.5",
                "AGGREGATE",
                "MAX",
                "WITHSCORES"
            ]),
            bulks(&["x", "2", "y", "5", "z", "10", "w", "15"])
        );
        assert_eq!(
            t.cmd(&["ZINTER", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"]),
            bulks(&["y", "2", "z", "3"])
        );
        assert_eq!(t.cmd(&["ZINTER", "2", "a", "nokey"]), bulks(&[]));
        assert_eq!(
            t.cmd(&["ZDIFF", "2", "a", "b", "WITHSCORES"]),
            bulks(&["x", "1"])
        );
        assert_eq!(t.cmd(&["ZDIFF", "2", "a", "a"]), bulks(&[]));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b"]), int(2));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), int(1));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "0"]), int(2));
        assert_eq!(
            t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"]),
            err("ERR LIMIT can't be negative")
        );
        assert_eq!(
            t.cmd(&["ZINTERCARD", "2", "a", "b", "WITHSCORES"]),
            err("ERR syntax error")
        );
        // inf + -inf sums to 0; a weight of 0 times inf counts as 0.
        t.cmd(&["ZADD", "i1", "inf", "p", "-inf", "q"]);
        t.cmd(&["ZADD", "i2", "-inf", "p", "inf", "q"]);
        assert_eq!(
            t.cmd(&["ZINTER", "2", "i1", "i2", "WITHSCORES"]),
            bulks(&["p", "0", "q", "0"])
        );
        assert_eq!(
            t.cmd(&["ZUNION", "2", "i1", "i2", "WEIGHTS", "0", "1", "WITHSCORES"]),
            bulks(&["p", "-inf", "q", "inf"])
        );
        for (args, msg) in [
            (
                vec!["ZUNION", "0", "a"],
                "ERR at least 1 input key is needed for 'zunion' command",
            ),
            (
                vec!["ZINTERCARD", "0", "a"],
                "ERR at least 1 input key is needed for 'zintercard' command",
            ),
            (
                vec!["ZUNIONSTORE", "d", "0", "a"],
                "ERR at least 1 input key is needed for 'zunionstore' command",
            ),
            (
                vec!["ZUNION", "x", "a"],
                "ERR value is not an integer or out of range",
            ),
            (vec!["ZUNION", "3", "a", "b"], "ERR syntax error"),
            (
                vec!["ZUNION", "2", "a", "b", "WEIGHTS", "1"],
                "ERR syntax error",
            ),
            (
                vec!["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"],
                "ERR weight value is not a float",
            ),
            (
                vec!["ZUNION", "2", "a", "b", "AGGREGATE", "AVG"],
                "ERR syntax error",
            ),
            (
                vec!["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"],
                "ERR syntax error",
            ),
            (
                vec!["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"],
                "ERR syntax error",
            ),
        ] {
            assert_eq!(t.cmd(&args), err(msg), "{args:?}");
        }
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(
            t.cmd(&["ZUNION", "2", "a", "s", "BADOPTION"]),
            err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "types are checked before options"
        );
        // STORE forms, their encodings and replacing the destination.
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d", "2", "a", "b"]), int(4));
        assert_eq!(enc(&mut t, "d"), "listpack");
        assert_eq!(
            t.cmd(&["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
            int(2)
        );
        assert_eq!(
            t.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
            bulks(&["y", "22", "z", "43"])
        );
        assert_eq!(t.cmd(&["ZDIFFSTORE", "d", "2", "b", "a"]), int(1));
        assert_eq!(t.cmd(&["ZINTERSTORE", "d", "2", "a", "nokey"]), int(0));
        assert_eq!(t.cmd(&["EXISTS", "d"]), int(0));
        assert_eq!(t.cmd(&["ZUNIONSTORE", "s", "1", "a"]), int(3));
        assert_eq!(t.cmd(&["TYPE", "s"]), Frame::Simple("zset".into()));
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d", "2", "a", "b"]), int(4));
        assert_eq!(enc(&mut t, "d"), "skiplist");
        assert_eq!(t.cmd(&["ZINTERSTORE", "d", "2", "a", "b"]), int(2));
        assert_eq!(enc(&mut t, "d"), "listpack");
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "1"]);
        t.cmd(&["ZADD", "long", "1", "xx"]);
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d", "1", "long"]), int(1));
        assert_eq!(
            enc(&mut t, "d"),
            "skiplist",
            "a member over the value limit"
        );
        t.cmd(&["HELLO", "3"]);
        assert_eq!(
            t.cmd(&["ZINTER", "2", "a", "b", "WITHSCORES"]),
            Frame::Array(vec![
                Frame::Array(vec![Frame::bulk("y"), Frame::Double("12".into())]),
                Frame::Array(vec![Frame::bulk("z"), Frame::Double("23".into())]),
            ])
        );
    }

    #[test]
    fn zscan_both_encodings() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["ZSCAN", "nokey", "0"]),
            Frame::Array(vec![Frame::bulk("0"), bulks(&[])])
        );
        t.cmd(&["ZADD", "small", "1", "a1", "1.5", "b1", "2", "a2"]);
        assert_eq!(
            t.cmd(&["ZSCAN", "small", "0", "MATCH", "a*"]),
            Frame::Array(vec![Frame::bulk("0"), bulks(&["a1", "1", "a2", "2"])])
        );
        assert_eq!(
            t.cmd(&["ZSCAN", "small", "0"]),
            Frame::Array(vec![
                Frame::bulk("0"),
                bulks(&["a1", "1", "b1", "1.5", "a2", "2"])
            ])
        );
        assert_eq!(t.cmd(&["ZSCAN", "small", "x"]), err("ERR invalid cursor"));
        assert_eq!(
            t.cmd(&["ZSCAN", "small", "0", "COUNT", "0"]),
            err("ERR syntax error")
        );
        assert_eq!(
            t.cmd(&["ZSCAN", "small", "0", "TYPE", "zset"]),
            err("ERR syntax error")
        );
        let mut args = vec!["ZADD".to_string(), "big".into()];
        for i in 0..1000 {
            args.push(format!("{i}.5"));
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        t.cmd(&refs);
        let mut seen = std::collections::BTreeMap::new();
        let mut cursor = "0".to_string();
        loop {
            let Frame::Array(parts) = t.cmd(&["ZSCAN", "big", &cursor, "COUNT", "20"]) else {
                panic!()
            };
            cursor = parts[0].as_str();
            for pair in members(parts[1].clone()).chunks(2) {
                seen.insert(pair[0].clone(), pair[1].clone());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        assert_eq!(seen["m7"], "7.5");
    }

    #[test]
    fn encodings_convert_at_limits() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "4"]);
        t.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        assert_eq!(enc(&mut t, "z"), "listpack");
        t.cmd(&["ZADD", "z", "5", "e"]);
        assert_eq!(enc(&mut t, "z"), "skiplist");
        t.cmd(&["ZREM", "z", "a", "b", "c", "d"]);
        assert_eq!(
            enc(&mut t, "z"),
            "skiplist",
            "never converts back on removal"
        );
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "zset-max-ziplist-entries"]),
            bulks(&["zset-max-ziplist-entries", "4"])
        );
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "3"]);
        t.cmd(&["ZADD", "short", "1", "abc"]);
        assert_eq!(enc(&mut t, "short"), "listpack");
        t.cmd(&["ZADD", "short", "1", "abcd"]);
        assert_eq!(enc(&mut t, "short"), "skiplist");
        t.cmd(&["ZADD", "long", "1", "abcd"]);
        assert_eq!(
            enc(&mut t, "long"),
            "skiplist",
            "created big for a long first member"
        );
        // Only the first member decides the encoding a new key starts with.
        t.cmd(&["ZADD", "mixed", "1", "ab", "2", "abcdef"]);
        assert_eq!(enc(&mut t, "mixed"), "skiplist");
        assert_eq!(
            t.cmd(&["ZRANGE", "mixed", "0", "-1"]),
            bulks(&["ab", "abcdef"])
        );
        // Back to listpack through the STORE commands.
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "64"]);
        t.cmd(&["ZUNIONSTORE", "back", "1", "mixed"]);
        assert_eq!(enc(&mut t, "back"), "listpack");
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        t.cmd(&["ZADD", "zero", "1", "a"]);
        assert_eq!(enc(&mut t, "zero"), "skiplist");
        t.cmd(&["ZRANGESTORE", "zero2", "zero", "-inf", "+inf", "BYSCORE"]);
        assert_eq!(enc(&mut t, "zero2"), "skiplist");
        check_structure(&t, "z");
        check_structure(&t, "mixed");
    }

    #[test]
    fn digest_matches_redis_in_both_encodings() {
        // Digests redis-server 7.0.15 gives for `ZADD z 1 a 2 b 3 c 1.1 d` (in either
        // encoding) and for a member scored -0 in a listpack (stored as 0) and in a
        // skiplist (kept as -0).
        let mut t = TestServer::with_config(crate::Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..crate::Config::default()
        });
        t.cmd(&["ZADD", "lp", "1", "a", "2", "b", "3", "c", "1.1", "d"]);
        t.cmd(&["ZADD", "neg", "-0", "x"]);
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        t.cmd(&["ZADD", "sl", "1", "a", "2", "b", "3", "c", "1.1", "d"]);
        t.cmd(&["ZADD", "neg2", "-0", "x"]);
        let want = "166ee5e14de8788cd5bd64787fb776bb80e56df2";
        for (key, want) in [
            ("lp", want),
            ("sl", want),
            ("neg", "ec8ec096ebd0c25179377a4eef1d145046fb3852"),
            ("neg2", "c9a636823fbb80821b7f86d3f756e81a7e1e7db0"),
        ] {
            assert_eq!(
                t.cmd(&["DEBUG", "DIGEST-VALUE", key]),
                Frame::Array(vec![Frame::Simple(want.into())]),
                "{key}"
            );
        }
        assert_eq!(t.cmd(&["ZSCORE", "neg", "x"]), Frame::bulk("0"));
        assert_eq!(t.cmd(&["ZSCORE", "neg2", "x"]), Frame::bulk("-0"));
    }

    #[test]
    fn generic_commands_cover_zsets() {
        let mut t = TestServer::new();
        t.cmd(&["ZADD", "z", "1", "a"]);
        t.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
        t.cmd(&["ZADD", "big", "1", "a", "2", "b"]);
        assert_eq!(t.cmd(&["TYPE", "z"]), Frame::Simple("zset".into()));
        assert_eq!(t.cmd(&["COPY", "z", "z2"]), int(1));
        assert_eq!(t.cmd(&["COPY", "big", "big2"]), int(1));
        assert_eq!(enc(&mut t, "big2"), "skiplist");
        t.cmd(&["ZADD", "big", "3", "c"]);
        t.cmd(&["ZADD", "z", "2", "b"]);
        assert_eq!(t.cmd(&["ZCARD", "big2"]), int(2), "copies are independent");
        assert_eq!(t.cmd(&["ZCARD", "z2"]), int(1));
        assert_eq!(t.cmd(&["RENAME", "big2", "big3"]), Frame::ok());
        assert_eq!(t.cmd(&["ZRANGE", "big3", "0", "-1"]), bulks(&["a", "b"]));
        assert_eq!(t.cmd(&["MOVE", "big3", "1"]), int(1));
        t.cmd(&["SELECT", "1"]);
        assert_eq!(t.cmd(&["ZSCORE", "big3", "b"]), Frame::bulk("2"));
        t.cmd(&["SELECT", "0"]);
        t.cmd(&["SET", "str", "v"]);
        let Frame::Array(parts) = t.cmd(&["SCAN", "0", "TYPE", "zset"]) else {
            panic!()
        };
        let mut keys = members(parts[1].clone());
        keys.sort();
        assert_eq!(keys, vec!["big", "z", "z2"]);
        let wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value");
        for args in [
            vec!["ZADD", "str", "1", "a"],
            vec!["ZINCRBY", "str", "1", "a"],
            vec!["ZREM", "str", "a"],
            vec!["ZCARD", "str"],
            vec!["ZSCORE", "str", "a"],
            vec!["ZMSCORE", "str", "a"],
            vec!["ZRANK", "str", "a"],
            vec!["ZRANGE", "str", "0", "1"],
            vec!["ZRANGEBYLEX", "str", "-", "+"],
            vec!["ZCOUNT", "str", "0", "1"],
            vec!["ZREMRANGEBYRANK", "str", "0", "1"],
            vec!["ZPOPMIN", "str"],
            vec!["ZMPOP", "2", "nokey", "str", "MIN"],
            vec!["ZRANDMEMBER", "str"],
            vec!["ZRANDMEMBER", "str", "2"],
            vec!["ZINTER", "2", "z", "str"],
            vec!["ZINTERCARD", "1", "str"],
            vec!["ZSCAN", "str", "0"],
            vec!["HGET", "z", "a"],
        ] {
            assert_eq!(t.cmd(&args), wrong, "{args:?}");
        }
    }

    #[test]
    fn a_million_members() {
        let mut t = TestServer::new();
        let n = 1_000_000usize;
        // Scores descending by member number, so rank = n - 1 - i; added in chunks.
        for chunk in 0..10 {
            let mut args: Vec<String> = vec!["ZADD".into(), "big".into()];
            for i in chunk * (n / 10)..(chunk + 1) * (n / 10) {
                args.push((n - 1 - i).to_string());
                args.push(format!("m{i}"));
            }
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            assert_eq!(t.cmd(&refs), int((n / 10) as i64));
        }
        assert_eq!(t.cmd(&["ZCARD", "big"]), int(n as i64));
        assert_eq!(enc(&mut t, "big"), "skiplist");
        assert_eq!(
            t.cmd(&["ZRANGE", "big", "0", "2", "WITHSCORES"]),
            bulks(&["m999999", "0", "m999998", "1", "m999997", "2"])
        );
        assert_eq!(t.cmd(&["ZRANGE", "big", "-2", "-1"]), bulks(&["m1", "m0"]));
        assert_eq!(
            t.cmd(&["ZRANGE", "big", "499999", "500000"]),
            bulks(&["m500000", "m499999"])
        );
        assert_eq!(t.cmd(&["ZREVRANGE", "big", "0", "1"]), bulks(&["m0", "m1"]));
        assert_eq!(t.cmd(&["ZRANK", "big", "m0"]), int(999_999));
        assert_eq!(t.cmd(&["ZRANK", "big", "m999999"]), int(0));
        assert_eq!(t.cmd(&["ZREVRANK", "big", "m123456"]), int(123_456));
        assert_eq!(t.cmd(&["ZCOUNT", "big", "(10", "999990"]), int(999_980));
        assert_eq!(
            t.cmd(&["ZRANGEBYSCORE", "big", "(999997", "+inf"]),
            bulks(&["m1", "m0"])
        );
        // Remove ranks near both ends and in the middle, checking the survivors.
        assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "big", "0", "9"]), int(10));
        assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "big", "-10", "-1"]), int(10));
        assert_eq!(
            t.cmd(&["ZREMRANGEBYRANK", "big", "100000", "599999"]),
            int(500_000)
        );
        assert_eq!(t.cmd(&["ZCARD", "big"]), int(499_980));
        assert_eq!(
            t.cmd(&["ZRANGE", "big", "0", "0", "WITHSCORES"]),
            bulks(&["m999989", "10"])
        );
        assert_eq!(
            t.cmd(&["ZRANGE", "big", "-1", "-1", "WITHSCORES"]),
            bulks(&["m10", "999989"])
        );
        assert_eq!(
            t.cmd(&["ZRANGE", "big", "99999", "100000"]),
            bulks(&["m899990", "m399989"])
        );
        assert_eq!(t.cmd(&["ZRANK", "big", "m399989"]), int(100_000));
        assert_eq!(t.cmd(&["ZSCORE", "big", "m500000"]), Frame::Null);
        assert_eq!(t.cmd(&["ZPOPMIN", "big"]), bulks(&["m999989", "10"]));
        assert_eq!(t.cmd(&["ZPOPMAX", "big"]), bulks(&["m10", "999989"]));
        check_structure(&t, "big");
        assert_eq!(
            t.cmd(&["ZREMRANGEBYSCORE", "big", "-inf", "+inf"]),
            int(499_978)
        );
        assert_eq!(t.cmd(&["EXISTS", "big"]), int(0));
    }
}
