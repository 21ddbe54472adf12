//! The model of the sorted set commands (Redis 7.0's t_zset.c, with Redis 7.2's
//! ZRANK/ZREVRANK WITHSCORE): members ordered by score then bytes, listpack or
//! skiplist encodings, scores printed as `%.17g`.
//!
//! Two things Redis leaves open are chosen over ([`View::choose`]): the order
//! `qsort` gives inputs of equal size in ZUNION/ZINTER (it decides the order scores
//! are aggregated in, which shows with infinities and `-0`), and where a skiplist's
//! lexicographic search stops when the members are not in lexicographic order
//! (scores differ), which depends on the skiplist's random levels.

use super::elemscan::{self, Walk};
use super::hashes::check_random;
use super::value::{cmp_entry, Score, Value, ZaddFlags, Zadded, Zset, ZsetEnc};
use super::{done, err_syntax, fail, is, long_arg, positive_arg, range_arg, Actual, Eval};
use super::{Expect, Stop, View};
use crate::numbers::{self, DoubleParse};
use crate::resp::{self, Proto, Reply};
use std::cmp::Ordering;

/// The commands this module models.
pub(super) const COMMANDS: &[&str] = &[
    "zadd",
    "zincrby",
    "zrem",
    "zcard",
    "zscore",
    "zmscore",
    "zrank",
    "zrevrank",
    "zcount",
    "zlexcount",
    "zrange",
    "zrangestore",
    "zrevrange",
    "zrangebyscore",
    "zrevrangebyscore",
    "zrangebylex",
    "zrevrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zremrangebylex",
    "zpopmin",
    "zpopmax",
    "zmpop",
    "zrandmember",
    "zunion",
    "zinter",
    "zintercard",
    "zdiff",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zscan",
];

pub(super) fn apply(name: &str, req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    match name {
        "zadd" => zadd(req, v, ZaddFlags::default()),
        "zincrby" => zadd(
            req,
            v,
            ZaddFlags {
                incr: true,
                ..ZaddFlags::default()
            },
        ),
        "zrem" => zrem(req, v),
        "zcard" => done(resp::int(
            v.zset(&req[1])?.map_or(0, |z| z.val.len() as i64),
        )),
        "zscore" => {
            let p = v.p;
            done(match v.zset(&req[1])?.and_then(|z| z.val.score(&req[2])) {
                Some(s) => p.double(s),
                None => p.nil(),
            })
        }
        "zmscore" => {
            let p = v.p;
            let z = v.zset(&req[1])?;
            let mut out = resp::array_header(req.len() - 2);
            for m in &req[2..] {
                out.extend(match z.as_ref().and_then(|z| z.val.score(m)) {
                    Some(s) => p.double(s),
                    None => p.nil(),
                });
            }
            done(out)
        }
        "zrank" | "zrevrank" => zrank(name == "zrevrank", req, v),
        "zcount" => zcount(req, v),
        "zlexcount" => zlexcount(req, v),
        "zrange" => zrange(req, v, 1, None, Kind::Auto, Dir::Auto),
        "zrangestore" => zrange(req, v, 2, Some(&req[1]), Kind::Auto, Dir::Auto),
        "zrevrange" => zrange(req, v, 1, None, Kind::Rank, Dir::Reverse),
        "zrangebyscore" => zrange(req, v, 1, None, Kind::Score, Dir::Forward),
        "zrevrangebyscore" => zrange(req, v, 1, None, Kind::Score, Dir::Reverse),
        "zrangebylex" => zrange(req, v, 1, None, Kind::Lex, Dir::Forward),
        "zrevrangebylex" => zrange(req, v, 1, None, Kind::Lex, Dir::Reverse),
        "zremrangebyrank" => zremrange(req, v, Kind::Rank),
        "zremrangebyscore" => zremrange(req, v, Kind::Score),
        "zremrangebylex" => zremrange(req, v, Kind::Lex),
        "zpopmin" | "zpopmax" => zpop(name == "zpopmax", req, v),
        "zmpop" => zmpop(req, v),
        "zrandmember" => zrandmember(req, v, actual),
        "zunion" => set_op(req, v, 1, None, Op::Union, false),
        "zinter" => set_op(req, v, 1, None, Op::Inter, false),
        "zintercard" => set_op(req, v, 1, None, Op::Inter, true),
        "zdiff" => set_op(req, v, 1, None, Op::Diff, false),
        "zunionstore" => set_op(req, v, 2, Some(&req[1]), Op::Union, false),
        "zinterstore" => set_op(req, v, 2, Some(&req[1]), Op::Inter, false),
        "zdiffstore" => set_op(req, v, 2, Some(&req[1]), Op::Diff, false),
        "zscan" => elemscan::scan(req, v, actual, "zset", |value| {
            let Value::Zset(z) = value else {
                unreachable!("type checked")
            };
            let listpack = z.enc == ZsetEnc::Listpack;
            Walk {
                compact: listpack,
                ordered: true,
                items: z
                    .items
                    .iter()
                    .map(|(s, m)| {
                        let text = if listpack {
                            numbers::format_d2string(s.0)
                        } else {
                            numbers::format_g17(s.0)
                        };
                        (m.clone(), Some(text.into_bytes()))
                    })
                    .collect(),
            }
        }),
        _ => unreachable!("{name} is not in COMMANDS"),
    }
}

/// getDoubleFromObjectOrReply with an optional custom message.
fn double_arg(raw: &[u8], msg: &str) -> Result<f64, Stop> {
    match numbers::parse_double_strict(raw) {
        Ok(d) => Ok(d),
        Err(DoubleParse::Invalid) => fail(resp::err(msg)),
        Err(DoubleParse::Unsupported(what)) => super::limitation(format!("the double {what}")),
    }
}

fn zadd(req: &[Vec<u8>], v: &mut View, mut f: ZaddFlags) -> Eval {
    let key = req[1].as_slice();
    let p = v.p;
    let mut ch = false;
    let mut scoreidx = 2;
    while scoreidx < req.len() {
        let o = &req[scoreidx];
        if is(o, "nx") {
            f.nx = true;
        } else if is(o, "xx") {
            f.xx = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            f.incr = true;
        } else if is(o, "gt") {
            f.gt = true;
        } else if is(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        scoreidx += 1;
    }
    let elements = req.len() - scoreidx;
    if elements % 2 == 1 || elements == 0 {
        return fail(err_syntax());
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        return fail(resp::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        return fail(resp::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 1 {
        return fail(resp::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(double_arg(
            &req[scoreidx + 2 * j],
            "value is not a valid float",
        )?);
    }
    let reply = |processed: bool, score: f64, added: i64, updated: i64| {
        if f.incr {
            if processed {
                p.double(score)
            } else {
                p.nil()
            }
        } else {
            resp::int(if ch { added + updated } else { added })
        }
    };
    if v.zset(key)?.is_none() {
        if f.xx {
            return done(reply(false, 0.0, 0, 0));
        }
        let first = &req[scoreidx + 1];
        let enc = if v.lim.zset_max_listpack_entries == 0
            || v.lim.zset_max_listpack_value < first.len()
        {
            ZsetEnc::Skiplist
        } else {
            ZsetEnc::Listpack
        };
        v.set_value(key, Value::Zset(Zset::empty(enc)));
    }
    let z = v.zset(key)?.expect("created");
    let (mut added, mut updated, mut processed, mut last) = (0, 0, false, 0.0);
    for (j, &score) in scores.iter().enumerate() {
        let m = &req[scoreidx + 1 + 2 * j];
        match z.val.add(score, m, f, z.lim, z.ev) {
            Zadded::Nan => return fail(resp::err("resulting score is not a number (NaN)")),
            Zadded::Added(s) => {
                added += 1;
                processed = true;
                last = s;
            }
            Zadded::Updated(s) => {
                updated += 1;
                processed = true;
                last = s;
            }
            Zadded::Same(s) => {
                processed = true;
                last = s;
            }
            Zadded::Nop => {}
        }
    }
    done(reply(processed, last, added, updated))
}

fn zrem(req: &[Vec<u8>], v: &mut View) -> Eval {
    let key = req[1].as_slice();
    let Some(z) = v.zset(key)? else {
        return done(resp::int(0));
    };
    let mut deleted = 0;
    for m in &req[2..] {
        if z.val.remove(m) {
            deleted += 1;
        }
        if z.val.is_empty() {
            break;
        }
    }
    v.delete_if_empty(key);
    done(resp::int(deleted))
}

fn zrank(reverse: bool, req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    if req.len() > 4 {
        let name = if reverse { "zrevrank" } else { "zrank" };
        return fail(resp::err(&format!(
            "wrong number of arguments for '{name}' command"
        )));
    }
    let withscore = match req.get(3) {
        None => false,
        Some(o) if is(o, "withscore") => true,
        Some(_) => return fail(err_syntax()),
    };
    let missing = if withscore { p.null_array() } else { p.nil() };
    let Some(z) = v.zset(&req[1])? else {
        return done(missing);
    };
    let Some(rank) = z.val.rank(&req[2]) else {
        return done(missing);
    };
    let rank = if reverse {
        z.val.len() - 1 - rank
    } else {
        rank
    };
    if !withscore {
        return done(resp::int(rank as i64));
    }
    let mut out = resp::array_header(2);
    out.extend(resp::int(rank as i64));
    out.extend(p.double(z.val.score(&req[2]).expect("ranked")));
    done(out)
}

/// A score interval (zslParseRange).
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, Stop> {
        let bound = |raw: &[u8]| -> Result<(f64, bool), Stop> {
            let (ex, text) = match raw.first() {
                Some(b'(') => (true, &raw[1..]),
                _ => (false, raw),
            };
            match numbers::parse_range_double(text) {
                Ok(d) if !d.is_nan() => Ok((d, ex)),
                Ok(_) | Err(DoubleParse::Invalid) => fail(resp::err("min or max is not a float")),
                Err(DoubleParse::Unsupported(what)) => {
                    super::limitation(format!("the range bound {what}"))
                }
            }
        };
        let (min, minex) = bound(min)?;
        let (max, maxex) = bound(max)?;
        Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        })
    }

    fn gte_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    fn lte_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    /// zslIsInRange's first test: a range that is empty whatever the set.
    fn empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic interval (zslParseLexRangeItem).
#[derive(Clone, PartialEq)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

#[derive(Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexBound {
    fn parse(raw: &[u8]) -> Option<LexBound> {
        match raw.first()? {
            b'+' if raw.len() == 1 => Some(LexBound::PosInf),
            b'-' if raw.len() == 1 => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(raw[1..].to_vec())),
            b'[' => Some(LexBound::Incl(raw[1..].to_vec())),
            _ => None,
        }
    }

    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// sdscmplex between two bounds (the range's min and max).
fn cmp_bounds(a: &LexBound, b: &LexBound) -> Ordering {
    use LexBound::*;
    match (a, b) {
        (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
        (NegInf, _) | (_, PosInf) => Ordering::Less,
        (PosInf, _) | (_, NegInf) => Ordering::Greater,
        (Incl(x) | Excl(x), Incl(y) | Excl(y)) => x.cmp(y),
    }
}

/// sdscmplex of a member against a bound.
fn cmp_member(m: &[u8], b: &LexBound) -> Ordering {
    match b {
        LexBound::NegInf => Ordering::Greater,
        LexBound::PosInf => Ordering::Less,
        LexBound::Incl(x) | LexBound::Excl(x) => m.cmp(x),
    }
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, Stop> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => fail(resp::err("min or max not valid string range item")),
        }
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.min);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        let c = cmp_member(m, &self.max);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// zslIsInLexRange / zzlIsInLexRange.
    fn may_hit(&self, items: &[(Score, Vec<u8>)]) -> bool {
        let c = cmp_bounds(&self.min, &self.max);
        if c == Ordering::Greater
            || (c == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
        {
            return false;
        }
        match (items.first(), items.last()) {
            (Some(first), Some(last)) => self.gte_min(&last.1) && self.lte_max(&first.1),
            _ => false,
        }
    }
}

/// Where a search for the first member `>= min` may stop: a listpack scans from the
/// head; a skiplist's levels may skip over members when the members are not in
/// lexicographic order, so any position right after a member `< min` will do.
/// `checked` is the IsInRange test the read paths make first.
fn lex_first(z: &Zset, r: &LexRange, checked: bool) -> Vec<Option<usize>> {
    let e = &z.items;
    if checked && !r.may_hit(e) {
        return vec![None];
    }
    let at = |i: usize| -> Option<usize> { (i < e.len() && r.lte_max(&e[i].1)).then_some(i) };
    if z.enc == ZsetEnc::Listpack {
        return vec![e.iter().position(|(_, m)| r.gte_min(m)).and_then(at)];
    }
    let mut out: Vec<Option<usize>> = (0..=e.len())
        .filter(|&i| (i == e.len() || r.gte_min(&e[i].1)) && (i == 0 || !r.gte_min(&e[i - 1].1)))
        .filter(|&i| i < e.len() || !checked)
        .map(at)
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(None);
    }
    out
}

/// The mirror of [`lex_first`]: where a search for the last member `<= max` stops.
fn lex_last(z: &Zset, r: &LexRange) -> Vec<Option<usize>> {
    let e = &z.items;
    if !r.may_hit(e) {
        return vec![None];
    }
    let at = |j: usize| -> Option<usize> { r.gte_min(&e[j].1).then_some(j) };
    if z.enc == ZsetEnc::Listpack {
        return vec![e.iter().rposition(|(_, m)| r.lte_max(m)).and_then(at)];
    }
    let mut out: Vec<Option<usize>> = (0..e.len())
        .filter(|&j| r.lte_max(&e[j].1) && (j + 1 == e.len() || !r.lte_max(&e[j + 1].1)))
        .map(at)
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push(None);
    }
    out
}

/// One of several candidate positions, as the view chooses.
fn pick(v: &mut View, candidates: Vec<Option<usize>>) -> Option<usize> {
    if candidates.len() == 1 {
        candidates[0]
    } else {
        let i = v.choose(candidates.len());
        candidates[i]
    }
}

/// From `start`, skip `offset` members (all of them if negative), then take members
/// while `in_range` holds, at most `limit` of them (all if negative); backwards with
/// `reverse`. The byscore/bylex walks of Redis.
fn walk_from(
    len: usize,
    start: Option<usize>,
    reverse: bool,
    offset: i64,
    limit: i64,
    in_range: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let Some(start) = start else {
        return Vec::new();
    };
    if offset < 0 {
        return Vec::new();
    }
    let step = |i: usize, n: usize| -> Option<usize> {
        if reverse {
            i.checked_sub(n)
        } else {
            Some(i + n).filter(|&j| j < len)
        }
    };
    let mut out = Vec::new();
    let mut at = step(start, offset as usize);
    while let Some(i) = at {
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        if !in_range(i) {
            break;
        }
        out.push(i);
        at = step(i, 1);
    }
    out
}

fn zcount(req: &[Vec<u8>], v: &mut View) -> Eval {
    let r = ScoreRange::parse(&req[2], &req[3])?;
    let Some(z) = v.zset(&req[1])? else {
        return done(resp::int(0));
    };
    let n = if r.empty() {
        0
    } else {
        z.val
            .items
            .iter()
            .filter(|(s, _)| r.gte_min(s.0) && r.lte_max(s.0))
            .count()
    };
    done(resp::int(n as i64))
}

fn zlexcount(req: &[Vec<u8>], v: &mut View) -> Eval {
    let r = LexRange::parse(&req[2], &req[3])?;
    let Some(z) = v.zset(&req[1])? else {
        return done(resp::int(0));
    };
    let z = z.val.clone();
    let Some(first) = pick(v, lex_first(&z, &r, true)) else {
        return done(resp::int(0));
    };
    let n = if z.enc == ZsetEnc::Listpack {
        walk_from(z.len(), Some(first), false, 0, -1, |i| {
            r.lte_max(&z.items[i].1)
        })
        .len() as i64
    } else {
        match pick(v, lex_last(&z, &r)) {
            Some(last) => last as i64 - first as i64 + 1,
            None => (z.len() - first) as i64,
        }
    };
    done(resp::int(n))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// A list's indexes `start..=end` after Redis's normalisation, if any.
fn rank_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
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

/// A member list with scores, as ZRANGE and friends reply.
fn range_reply(p: Proto, items: &[(f64, Vec<u8>)], withscores: bool) -> Vec<u8> {
    let mut out = resp::array_header(if withscores && p == Proto::Resp2 {
        2 * items.len()
    } else {
        items.len()
    });
    for (s, m) in items {
        if withscores && p == Proto::Resp3 {
            out.extend(resp::array_header(2));
        }
        out.extend(resp::bulk(m));
        if withscores {
            out.extend(p.double(*s));
        }
    }
    out
}

/// zrangeGenericCommand: ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBY{SCORE,LEX}.
fn zrange(
    req: &[Vec<u8>],
    v: &mut View,
    argc_start: usize,
    dst: Option<&Vec<u8>>,
    mut kind: Kind,
    mut dir: Dir,
) -> Eval {
    let p = v.p;
    let store = dst.is_some();
    let key = req[argc_start].as_slice();
    let (mut minidx, mut maxidx) = (argc_start + 1, argc_start + 2);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut j = argc_start + 3;
    while j < req.len() {
        let left = req.len() - j - 1;
        let o = &req[j];
        if !store && is(o, "withscores") {
            withscores = true;
        } else if is(o, "limit") && left >= 2 {
            offset = long_arg(&req[j + 1], None)?;
            limit = long_arg(&req[j + 2], None)?;
            j += 2;
        } else if dir == Dir::Auto && is(o, "rev") {
            dir = Dir::Reverse;
        } else if kind == Kind::Auto && is(o, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(o, "byscore") {
            kind = Kind::Score;
        } else {
            return fail(err_syntax());
        }
        j += 1;
    }
    if dir == Dir::Auto {
        dir = Dir::Forward;
    }
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return fail(resp::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return fail(resp::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let reverse = dir == Dir::Reverse;
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match kind {
        Kind::Rank => Parsed::Rank(long_arg(&req[minidx], None)?, long_arg(&req[maxidx], None)?),
        Kind::Score => Parsed::Score(ScoreRange::parse(&req[minidx], &req[maxidx])?),
        _ => Parsed::Lex(LexRange::parse(&req[minidx], &req[maxidx])?),
    };
    v.expect_type(key, "zset")?;
    let Some(z) = v.zset(key)? else {
        return match dst {
            Some(dst) => {
                v.store_empty(dst);
                done(resp::int(0))
            }
            None => done(resp::array_header(0)),
        };
    };
    let z = z.val.clone();
    let len = z.len();
    // The positions in the result, in reply order, and the size Redis announced
    // for a ZRANGESTORE destination (-1 when not known up front).
    let (positions, announced): (Vec<usize>, i64) = match parsed {
        Parsed::Rank(start, end) => match rank_range(len, start, end) {
            None => (Vec::new(), 0),
            Some((s, e)) => {
                let pos: Vec<usize> = if reverse {
                    (s..=e).map(|i| len - 1 - i).collect()
                } else {
                    (s..=e).collect()
                };
                let n = pos.len() as i64;
                (pos, n)
            }
        },
        Parsed::Score(r) => {
            let pos = if offset > 0 && offset as usize >= len || r.empty() {
                Vec::new()
            } else if reverse {
                let last = z.items.iter().rposition(|(s, _)| r.lte_max(s.0));
                let last = last.filter(|&j| r.gte_min(z.items[j].0 .0));
                walk_from(len, last, true, offset, limit, |i| {
                    r.gte_min(z.items[i].0 .0)
                })
            } else {
                let first = z.items.iter().position(|(s, _)| r.gte_min(s.0));
                let first = first.filter(|&i| r.lte_max(z.items[i].0 .0));
                walk_from(len, first, false, offset, limit, |i| {
                    r.lte_max(z.items[i].0 .0)
                })
            };
            (pos, -1)
        }
        Parsed::Lex(r) => {
            let pos = if reverse {
                let last = pick(v, lex_last(&z, &r));
                walk_from(len, last, true, offset, limit, |i| r.gte_min(&z.items[i].1))
            } else {
                let first = pick(v, lex_first(&z, &r, true));
                walk_from(len, first, false, offset, limit, |i| {
                    r.lte_max(&z.items[i].1)
                })
            };
            (pos, -1)
        }
    };
    let items: Vec<(f64, Vec<u8>)> = positions
        .iter()
        .map(|&i| (z.items[i].0 .0, z.items[i].1.clone()))
        .collect();
    let Some(dst) = dst else {
        return done(range_reply(p, &items, withscores));
    };
    if items.is_empty() {
        v.store_empty(dst);
        return done(resp::int(0));
    }
    let lim = v.lim;
    let mut result = Zset::empty(if announced > lim.zset_max_listpack_entries as i64 {
        ZsetEnc::Skiplist
    } else {
        ZsetEnc::Listpack
    });
    let mut ev = std::mem::take(&mut v.ev);
    for (s, m) in &items {
        result.add(*s, m, ZaddFlags::default(), &lim, &mut ev);
    }
    v.ev = ev;
    let n = result.len();
    v.store(dst, Value::Zset(result));
    done(resp::int(n as i64))
}

fn zremrange(req: &[Vec<u8>], v: &mut View, kind: Kind) -> Eval {
    let key = req[1].as_slice();
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match kind {
        Kind::Rank => Parsed::Rank(long_arg(&req[2], None)?, long_arg(&req[3], None)?),
        Kind::Score => Parsed::Score(ScoreRange::parse(&req[2], &req[3])?),
        _ => Parsed::Lex(LexRange::parse(&req[2], &req[3])?),
    };
    let Some(z) = v.zset(key)? else {
        return done(resp::int(0));
    };
    let z = z.val.clone();
    let doomed: Vec<usize> = match parsed {
        Parsed::Rank(start, end) => match rank_range(z.len(), start, end) {
            Some((s, e)) => (s..=e).collect(),
            None => return done(resp::int(0)),
        },
        Parsed::Score(r) => (0..z.len())
            .filter(|&i| r.gte_min(z.items[i].0 .0) && r.lte_max(z.items[i].0 .0))
            .collect(),
        Parsed::Lex(r) => {
            // A listpack checks the range first; a skiplist's delete does not.
            let first = pick(v, lex_first(&z, &r, z.enc == ZsetEnc::Listpack));
            walk_from(z.len(), first, false, 0, -1, |i| r.lte_max(&z.items[i].1))
        }
    };
    let deleted = doomed.len();
    let z = v.zset(key)?.expect("looked up above");
    let mut i = 0;
    z.val.items.retain(|_| {
        let keep = !doomed.contains(&i);
        i += 1;
        keep
    });
    v.delete_if_empty(key);
    done(resp::int(deleted as i64))
}

/// genericZpopCommand's removal of `count` members from one end of the zset at `key`.
fn pop_members(v: &mut View, key: &[u8], max: bool, count: usize) -> Vec<(f64, Vec<u8>)> {
    let z = v.zset(key).ok().flatten().expect("a zset");
    let n = count.min(z.val.len());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (s, m) = if max {
            z.val.items.pop().expect("within the length")
        } else {
            z.val.items.remove(0)
        };
        out.push((s.0, m));
    }
    v.delete_if_empty(key);
    out
}

fn zpop(max: bool, req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    if req.len() > 3 {
        return fail(err_syntax());
    }
    let count = match req.get(2) {
        Some(raw) => Some(positive_arg(raw, None)? as usize),
        None => None,
    };
    if v.zset(&req[1])?.is_none() || count == Some(0) {
        return done(resp::array_header(0));
    }
    let popped = pop_members(v, &req[1], max, count.unwrap_or(1));
    let nested = p == Proto::Resp3 && count.is_some();
    let mut out = resp::array_header(if nested {
        popped.len()
    } else {
        2 * popped.len()
    });
    for (s, m) in &popped {
        if nested {
            out.extend(resp::array_header(2));
        }
        out.extend(resp::bulk(m));
        out.extend(p.double(*s));
    }
    done(out)
}

fn zmpop(req: &[Vec<u8>], v: &mut View) -> Eval {
    let p = v.p;
    let numkeys = range_arg(
        &req[1],
        1,
        i64::MAX,
        Some("numkeys should be greater than 0"),
    )? as usize;
    let where_idx = 2usize.saturating_add(numkeys);
    if where_idx >= req.len() {
        return fail(err_syntax());
    }
    let max = if is(&req[where_idx], "min") {
        false
    } else if is(&req[where_idx], "max") {
        true
    } else {
        return fail(err_syntax());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < req.len() {
        if count.is_none() && is(&req[j], "count") && j + 1 < req.len() {
            count = Some(range_arg(
                &req[j + 1],
                1,
                i64::MAX,
                Some("count should be greater than 0"),
            )? as usize);
            j += 2;
        } else {
            return fail(err_syntax());
        }
    }
    for key in &req[2..where_idx] {
        if v.zset(key)?.is_none() {
            continue;
        }
        let popped = pop_members(v, key, max, count.unwrap_or(1));
        let mut out = resp::array_header(2);
        out.extend(resp::bulk(key));
        out.extend(resp::array_header(popped.len()));
        for (s, m) in &popped {
            out.extend(resp::array_header(2));
            out.extend(resp::bulk(m));
            out.extend(p.double(*s));
        }
        return done(out);
    }
    done(p.null_array())
}

fn zrandmember(req: &[Vec<u8>], v: &mut View, actual: &Actual) -> Eval {
    let p = v.p;
    let key = req[1].as_slice();
    if req.len() == 2 {
        let Some(z) = v.zset(key)? else {
            return done(p.nil());
        };
        return Ok(Expect::Checked(match actual.reply {
            Reply::Bulk(m) if z.val.score(m).is_some() => Ok(()),
            _ => Err("a random member".into()),
        }));
    }
    let l = range_arg(&req[2], -i64::MAX, i64::MAX, None)?;
    let withscores = match req.len() {
        3 => false,
        4 if is(&req[3], "withscores") => true,
        _ => return fail(err_syntax()),
    };
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
        return fail(resp::err("value is out of range"));
    }
    let Some(z) = v.zset(key)? else {
        return done(resp::array_header(0));
    };
    if l == 0 {
        return done(resp::array_header(0));
    }
    let pairs: Vec<(Vec<u8>, f64)> = z.val.items.iter().map(|(s, m)| (m.clone(), s.0)).collect();
    Ok(Expect::Checked(check_random(
        actual.reply,
        &pairs,
        l,
        withscores,
        p,
        |s| {
            let text = numbers::format_g17(*s).into_bytes();
            match p {
                Proto::Resp2 => Reply::Bulk(text),
                Proto::Resp3 => Reply::Double(text),
            }
        },
    )))
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// zunionInterAggregate.
fn aggregate(target: f64, val: f64, how: Aggregate) -> f64 {
    match how {
        Aggregate::Sum => {
            let s = target + val;
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Aggregate::Min => {
            if val < target {
                val
            } else {
                target
            }
        }
        Aggregate::Max => {
            if val > target {
                val
            } else {
                target
            }
        }
    }
}

/// An input of ZUNION and friends: a sorted set, or a set with every score 1.
#[derive(Clone)]
struct Input {
    key: Vec<u8>,
    items: Vec<(f64, Vec<u8>)>,
    weight: f64,
}

impl Input {
    fn score(&self, m: &[u8]) -> Option<f64> {
        self.items.iter().find(|(_, x)| x == m).map(|(s, _)| *s)
    }
}

/// zunionInterDiffGenericCommand.
fn set_op(
    req: &[Vec<u8>],
    v: &mut View,
    numkeys_idx: usize,
    dst: Option<&Vec<u8>>,
    op: Op,
    cardinality_only: bool,
) -> Eval {
    let p = v.p;
    let name = String::from_utf8_lossy(&req[0]).to_ascii_lowercase();
    let setnum = long_arg(&req[numkeys_idx], None)?;
    if setnum < 1 {
        return fail(resp::err(&format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    let setnum = setnum as usize;
    if setnum > req.len() - (numkeys_idx + 1) {
        return fail(err_syntax());
    }
    let first_key = numkeys_idx + 1;
    let mut inputs: Vec<Option<Input>> = Vec::with_capacity(setnum);
    for k in &req[first_key..first_key + setnum] {
        let items = match v.lookup(k).map(|e| &e.value) {
            None => None,
            Some(Value::Zset(z)) => Some(z.items.iter().map(|(s, m)| (s.0, m.clone())).collect()),
            Some(Value::Set(s)) => Some(s.members.iter().map(|m| (1.0, m.clone())).collect()),
            Some(other) => {
                let t = other.type_name();
                v.event(format!("wrongtype: zset command on {t}"));
                return fail(resp::wrongtype());
            }
        };
        inputs.push(items.map(|items| Input {
            key: k.clone(),
            items,
            weight: 1.0,
        }));
    }
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first_key + setnum;
    let mut weights = vec![1.0; setnum];
    while j < req.len() {
        let remaining = req.len() - j;
        if op != Op::Diff && !cardinality_only && remaining > setnum && is(&req[j], "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = double_arg(&req[j], "weight value is not a float")?;
                j += 1;
            }
        } else if op != Op::Diff && !cardinality_only && remaining >= 2 && is(&req[j], "aggregate")
        {
            how = if is(&req[j + 1], "sum") {
                Aggregate::Sum
            } else if is(&req[j + 1], "min") {
                Aggregate::Min
            } else if is(&req[j + 1], "max") {
                Aggregate::Max
            } else {
                return fail(err_syntax());
            };
            j += 2;
        } else if dst.is_none() && !cardinality_only && is(&req[j], "withscores") {
            withscores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && is(&req[j], "limit") {
            limit = positive_arg(&req[j + 1], Some("LIMIT can't be negative"))? as usize;
            j += 2;
        } else {
            return fail(err_syntax());
        }
    }
    // Weights belong to the keys as given, before any sorting.
    let inputs: Vec<Input> = inputs
        .into_iter()
        .zip(&weights)
        .map(|(i, &w)| match i {
            Some(mut i) => {
                i.weight = w;
                i
            }
            None => Input {
                key: Vec::new(),
                items: Vec::new(),
                weight: w,
            },
        })
        .collect();
    // qsort by size: the order among equal sizes is open, so the view chooses it.
    let inputs = if op == Op::Diff {
        inputs
    } else {
        let mut left = inputs;
        let mut sorted = Vec::with_capacity(left.len());
        while !left.is_empty() {
            let min = left.iter().map(|i| i.items.len()).min().expect("not empty");
            // Inputs with the same members, scores and weight are interchangeable:
            // only a choice among different ones can change the result.
            let mut ties: Vec<usize> = Vec::new();
            for i in (0..left.len()).filter(|&i| left[i].items.len() == min) {
                let same = |j: &usize| {
                    left[*j].weight.to_bits() == left[i].weight.to_bits()
                        && left[*j].items.len() == left[i].items.len()
                        && left[*j]
                            .items
                            .iter()
                            .zip(&left[i].items)
                            .all(|(a, b)| a.0.to_bits() == b.0.to_bits() && a.1 == b.1)
                };
                if !ties.iter().any(same) {
                    ties.push(i);
                }
            }
            let c = if ties.len() > 1 {
                v.choose(ties.len())
            } else {
                0
            };
            sorted.push(left.remove(ties[c]));
        }
        sorted
    };
    let mut result: Vec<(f64, Vec<u8>)> = Vec::new();
    match op {
        Op::Inter => {
            let src0 = &inputs[0];
            for (s0, m) in &src0.items {
                let mut score = src0.weight * s0;
                if score.is_nan() {
                    score = 0.0;
                }
                let mut everywhere = true;
                for other in &inputs[1..] {
                    let value = if !other.key.is_empty() && other.key == src0.key {
                        s0 * other.weight
                    } else if let Some(s) = other.score(m) {
                        s * other.weight
                    } else {
                        everywhere = false;
                        break;
                    };
                    score = aggregate(score, value, how);
                }
                if everywhere {
                    result.push((score, m.clone()));
                    if cardinality_only && limit > 0 && result.len() >= limit {
                        break;
                    }
                }
            }
        }
        Op::Union => {
            for input in &inputs {
                for (s, m) in &input.items {
                    let mut score = input.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match result.iter_mut().find(|(_, x)| x == m) {
                        Some(existing) => existing.0 = aggregate(existing.0, score, how),
                        None => result.push((score, m.clone())),
                    }
                }
            }
        }
        Op::Diff => {
            let src0 = &inputs[0];
            let same = inputs[1..]
                .iter()
                .any(|i| !i.key.is_empty() && i.key == src0.key);
            if !src0.items.is_empty() && !same {
                for (s, m) in &src0.items {
                    if !inputs[1..].iter().any(|i| i.score(m).is_some()) {
                        result.push((*s, m.clone()));
                    }
                }
            }
        }
    }
    if cardinality_only {
        return done(resp::int(result.len() as i64));
    }
    result.sort_by(|a, b| cmp_entry((a.0, &a.1), (b.0, &b.1)));
    let Some(dst) = dst else {
        return done(range_reply(p, &result, withscores));
    };
    if result.is_empty() {
        v.store_empty(dst);
        return done(resp::int(0));
    }
    let maxelelen = result.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let mut z = Zset::empty(ZsetEnc::Skiplist);
    z.items = result.into_iter().map(|(s, m)| (Score(s), m)).collect();
    let lim = v.lim;
    let mut ev = std::mem::take(&mut v.ev);
    z.maybe_to_listpack(maxelelen, &lim, &mut ev);
    v.ev = ev;
    let n = z.len();
    v.store(dst, Value::Zset(z));
    done(resp::int(n as i64))
}
