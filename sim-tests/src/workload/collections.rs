//! Requests for the collection families: every hash, list, set and sorted set command
//! of the model with its options, counts of every sign, ranges that miss, and the
//! error paths (bad numbers, bad options, wrong argument counts), mostly on the keys
//! leaning to the family.

use super::{bytes, command_name, either, num, Arg, Family, Template, WorkloadShape};
use super::{FLOAT_INCREMENTS, INCREMENTS, MEMBERS, MEMBER_PATTERNS, VALUES};
use crate::gen::Gen;

/// Counts for the random and pop commands: every sign, zero, more than any set holds.
const COUNTS: &[&str] = &["1", "2", "3", "5", "0", "-1", "-3", "-8", "20", "x"];
/// Indexes and range ends for LRANGE, LTRIM, LINDEX, ZRANGE and friends.
fn index(g: &mut Gen) -> Arg {
    if g.chance(0.03) {
        return bytes(*g.pick(&["x", "1.5", ""]));
    }
    num(g.range_i64(-6, 6))
}

/// Scores ZADD accepts (and a few it refuses): integers, quarters, `-0`, infinities,
/// the exponent form; `%.17g` prints all of them exactly as they were meant.
const SCORES: &[&str] = &[
    "0", "0", "1", "2", "3", "-1", "1.5", "-2.5", "0.25", "10", "100", "1e2", "-0", "+inf", "-inf",
];
const BAD_SCORES: &[&str] = &["abc", "nan", "", " 1", "1x"];
/// ZRANGEBYSCORE bounds.
const SCORE_BOUNDS: &[&str] = &[
    "-inf", "+inf", "0", "1", "(1", "2.5", "(0", "-1", "10", "(10", "inf", "(-inf",
];
/// ZRANGEBYLEX bounds.
const LEX_BOUNDS: &[&str] = &["-", "+", "[a", "(a", "[c", "(e", "[1", "[", "(", "[hello"];
const BAD_LEX_BOUNDS: &[&str] = &["a", "", "-x", "+x"];
/// WEIGHTS values.
const WEIGHTS: &[&str] = &["1", "2", "0", "-1", "0.5", "3", "inf"];

fn member(g: &mut Gen) -> Arg {
    bytes(*g.pick(MEMBERS))
}

fn count(g: &mut Gen) -> Arg {
    bytes(*g.pick(COUNTS))
}

pub(super) fn hash_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| shape.key(g, Family::Hashes);
    let value = |g: &mut Gen| {
        if g.chance(0.5) {
            bytes(*g.pick(VALUES))
        } else {
            member(g)
        }
    };
    let weights = [
        10, // 0 HSET / HMSET
        3,  // 1 HSETNX
        6,  // 2 HGET
        3,  // 3 HMGET
        4,  // 4 HGETALL / HKEYS / HVALS
        2,  // 5 HLEN
        2,  // 6 HEXISTS
        5,  // 7 HDEL
        2,  // 8 HSTRLEN
        3,  // 9 HINCRBY
        3,  // 10 HINCRBYFLOAT
        4,  // 11 HRANDFIELD
        2,  // 12 HSCAN
        1,  // 13 error paths
    ];
    let mut r = Vec::new();
    match g.weighted(&weights) {
        0 => {
            r.push(either(g, 0.8, "HSET", "HMSET"));
            r.push(key(g));
            for _ in 0..g.range(1, 3) {
                r.push(member(g));
                r.push(value(g));
            }
            if g.chance(0.04) {
                r.push(member(g)); // a field without a value
            }
        }
        1 => {
            r.push(command_name(g, "HSETNX"));
            r.push(key(g));
            r.push(member(g));
            r.push(value(g));
        }
        2 => {
            r.push(command_name(g, "HGET"));
            r.push(key(g));
            r.push(member(g));
        }
        3 => {
            r.push(command_name(g, "HMGET"));
            r.push(key(g));
            for _ in 0..g.range(1, 4) {
                r.push(member(g));
            }
        }
        4 => {
            let name = *g.pick(&["HGETALL", "HGETALL", "HKEYS", "HVALS"]);
            r.push(command_name(g, name));
            r.push(key(g));
        }
        5 => {
            r.push(command_name(g, "HLEN"));
            r.push(key(g));
        }
        6 => {
            r.push(command_name(g, "HEXISTS"));
            r.push(key(g));
            r.push(member(g));
        }
        7 => {
            r.push(command_name(g, "HDEL"));
            r.push(key(g));
            for _ in 0..g.range(1, 4) {
                r.push(member(g));
            }
        }
        8 => {
            r.push(command_name(g, "HSTRLEN"));
            r.push(key(g));
            r.push(member(g));
        }
        9 => {
            r.push(command_name(g, "HINCRBY"));
            r.push(key(g));
            r.push(member(g));
            r.push(bytes(*g.pick(INCREMENTS)));
        }
        10 => {
            r.push(command_name(g, "HINCRBYFLOAT"));
            r.push(key(g));
            r.push(member(g));
            r.push(bytes(*g.pick(FLOAT_INCREMENTS)));
        }
        11 => {
            r.push(command_name(g, "HRANDFIELD"));
            r.push(key(g));
            if g.chance(0.8) {
                r.push(count(g));
                if g.chance(0.5) {
                    r.push(bytes(*g.pick(&["WITHVALUES", "withvalues", "WITHSCORES"])));
                }
            }
        }
        12 => {
            let k = key(g);
            element_scan(g, &mut r, "HSCAN", k)
        }
        _ => match g.below(3) {
            0 => {
                r.push(command_name(g, "HSET"));
                r.push(key(g));
                r.push(member(g));
            }
            1 => {
                r.push(command_name(g, "HRANDFIELD"));
                r.push(key(g));
                r.push(bytes("-9223372036854775808"));
            }
            _ => {
                r.push(command_name(g, "HGET"));
                r.push(key(g));
            }
        },
    }
    r
}

/// One HSCAN/SSCAN/ZSCAN call, sometimes with a bad cursor or bad options.
fn element_scan(g: &mut Gen, r: &mut Template, name: &str, key: Arg) {
    r.push(command_name(g, name));
    r.push(key);
    r.push(bytes(*g.pick(&["0", "0", "0", "0", "0", "abc", "-1", "7"])));
    if g.chance(0.3) {
        r.push(bytes("MATCH"));
        r.push(bytes(*g.pick(MEMBER_PATTERNS)));
    }
    if g.chance(0.3) {
        r.push(bytes("COUNT"));
        r.push(bytes(*g.pick(&["1", "10", "100", "0", "x"])));
    }
    if g.chance(0.03) {
        r.push(bytes(*g.pick(&["TYPE", "NOVALUES", "COUNT"])));
    }
}

pub(super) fn list_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| shape.key(g, Family::Lists);
    let element = |g: &mut Gen| {
        if g.chance(0.7) {
            member(g)
        } else {
            bytes(*g.pick(VALUES))
        }
    };
    let weights = [
        12, // 0 LPUSH / RPUSH
        2,  // 1 LPUSHX / RPUSHX
        7,  // 2 LPOP / RPOP
        2,  // 3 LLEN
        5,  // 4 LRANGE
        3,  // 5 LINDEX
        3,  // 6 LSET
        4,  // 7 LINSERT
        3,  // 8 LREM
        3,  // 9 LTRIM
        3,  // 10 LPOS
        3,  // 11 LMOVE
        2,  // 12 RPOPLPUSH
        2,  // 13 LMPOP
        1,  // 14 error paths
    ];
    let mut r = Vec::new();
    match g.weighted(&weights) {
        0 | 1 => {
            let name = if g.chance(0.5) { "LPUSH" } else { "RPUSH" };
            let name = if g.chance(0.15) {
                format!("{name}X")
            } else {
                name.to_string()
            };
            r.push(command_name(g, &name));
            r.push(key(g));
            for _ in 0..g.range(1, 4) {
                r.push(element(g));
            }
        }
        2 => {
            r.push(either(g, 0.5, "LPOP", "RPOP"));
            r.push(key(g));
            if g.chance(0.4) {
                r.push(count(g));
            }
        }
        3 => {
            r.push(command_name(g, "LLEN"));
            r.push(key(g));
        }
        4 => {
            r.push(command_name(g, "LRANGE"));
            r.push(key(g));
            r.push(index(g));
            r.push(index(g));
        }
        5 => {
            r.push(command_name(g, "LINDEX"));
            r.push(key(g));
            r.push(index(g));
        }
        6 => {
            r.push(command_name(g, "LSET"));
            r.push(key(g));
            r.push(index(g));
            r.push(element(g));
        }
        7 => {
            r.push(command_name(g, "LINSERT"));
            r.push(key(g));
            r.push(bytes(
                *g.pick(&["BEFORE", "AFTER", "before", "after", "middle"]),
            ));
            r.push(member(g));
            r.push(element(g));
        }
        8 => {
            r.push(command_name(g, "LREM"));
            r.push(key(g));
            r.push(bytes(*g.pick(&["0", "1", "2", "-1", "-2", "x"])));
            r.push(member(g));
        }
        9 => {
            r.push(command_name(g, "LTRIM"));
            r.push(key(g));
            r.push(index(g));
            r.push(index(g));
        }
        10 => {
            r.push(command_name(g, "LPOS"));
            r.push(key(g));
            r.push(member(g));
            let mut options: Vec<Vec<Arg>> = Vec::new();
            if g.chance(0.4) {
                options.push(vec![
                    bytes("RANK"),
                    bytes(*g.pick(&["1", "2", "-1", "-2", "0", "x"])),
                ]);
            }
            if g.chance(0.4) {
                options.push(vec![bytes("COUNT"), bytes(*g.pick(&["0", "1", "2", "-1"]))]);
            }
            if g.chance(0.3) {
                options.push(vec![
                    bytes("MAXLEN"),
                    bytes(*g.pick(&["0", "1", "3", "-1"])),
                ]);
            }
            if g.chance(0.03) {
                options.push(vec![bytes(*g.pick(&["RANK", "BOGUS"]))]);
            }
            for i in (1..options.len()).rev() {
                options.swap(i, g.index(i + 1));
            }
            r.extend(options.into_iter().flatten());
        }
        11 => {
            r.push(command_name(g, "LMOVE"));
            r.push(key(g));
            r.push(key(g));
            r.push(bytes(*g.pick(&["LEFT", "RIGHT", "left", "UP"])));
            r.push(bytes(*g.pick(&["LEFT", "RIGHT", "right"])));
        }
        12 => {
            r.push(command_name(g, "RPOPLPUSH"));
            r.push(key(g));
            r.push(key(g));
        }
        13 => {
            r.push(command_name(g, "LMPOP"));
            let n = g.range(1, 3);
            r.push(if g.chance(0.05) {
                bytes(*g.pick(&["0", "-1", "x", "9"]))
            } else {
                num(n as i64)
            });
            for _ in 0..n {
                r.push(key(g));
            }
            r.push(bytes(*g.pick(&["LEFT", "RIGHT", "left", "middle"])));
            if g.chance(0.5) {
                r.push(bytes("COUNT"));
                r.push(bytes(*g.pick(&["1", "2", "5", "0", "x"])));
            }
        }
        _ => match g.below(3) {
            0 => {
                r.push(command_name(g, "LPOP"));
                r.push(key(g));
                r.push(bytes("1"));
                r.push(bytes("2"));
            }
            1 => {
                r.push(command_name(g, "LPUSH"));
                r.push(key(g));
            }
            _ => {
                r.push(command_name(g, "LINSERT"));
                r.push(key(g));
                r.push(bytes("BEFORE"));
                r.push(member(g));
            }
        },
    }
    r
}

/// Members for sets: more integers, so intsets happen.
fn set_member(g: &mut Gen) -> Arg {
    if g.chance(0.45) {
        bytes(*g.pick(&["1", "2", "3", "4", "5", "10", "-1", "300", "70000"]))
    } else {
        member(g)
    }
}

/// 1 to 3 keys of a family, for the multi-key commands.
fn keys(g: &mut Gen, shape: &WorkloadShape, family: Family, r: &mut Template) -> u64 {
    let n = g.range(1, 3);
    for _ in 0..n {
        r.push(shape.key(g, family));
    }
    n
}

pub(super) fn set_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| shape.key(g, Family::Sets);
    let weights = [
        12, // 0 SADD
        5,  // 1 SREM
        5,  // 2 SMEMBERS
        3,  // 3 SISMEMBER / SMISMEMBER
        2,  // 4 SCARD
        4,  // 5 SPOP
        4,  // 6 SRANDMEMBER
        3,  // 7 SMOVE
        4,  // 8 SINTER / SUNION / SDIFF
        4,  // 9 the STORE forms
        2,  // 10 SINTERCARD
        2,  // 11 SSCAN
        1,  // 12 error paths
    ];
    let mut r = Vec::new();
    match g.weighted(&weights) {
        0 => {
            r.push(command_name(g, "SADD"));
            r.push(key(g));
            for _ in 0..g.range(1, 5) {
                r.push(set_member(g));
            }
        }
        1 => {
            r.push(command_name(g, "SREM"));
            r.push(key(g));
            for _ in 0..g.range(1, 3) {
                r.push(set_member(g));
            }
        }
        2 => {
            r.push(command_name(g, "SMEMBERS"));
            r.push(key(g));
        }
        3 => {
            if g.chance(0.5) {
                r.push(command_name(g, "SISMEMBER"));
                r.push(key(g));
                r.push(set_member(g));
            } else {
                r.push(command_name(g, "SMISMEMBER"));
                r.push(key(g));
                for _ in 0..g.range(1, 3) {
                    r.push(set_member(g));
                }
            }
        }
        4 => {
            r.push(command_name(g, "SCARD"));
            r.push(key(g));
        }
        5 => {
            r.push(command_name(g, "SPOP"));
            r.push(key(g));
            if g.chance(0.6) {
                r.push(bytes(*g.pick(&[
                    "1", "2", "3", "5", "6", "8", "10", "0", "20", "-1", "x",
                ])));
            }
        }
        6 => {
            r.push(command_name(g, "SRANDMEMBER"));
            r.push(key(g));
            if g.chance(0.7) {
                r.push(count(g));
            }
        }
        7 => {
            r.push(command_name(g, "SMOVE"));
            r.push(key(g));
            r.push(key(g));
            r.push(set_member(g));
        }
        8 => {
            let name = *g.pick(&["SINTER", "SUNION", "SDIFF"]);
            r.push(command_name(g, name));
            keys(g, shape, Family::Sets, &mut r);
        }
        9 => {
            let name = *g.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
            r.push(command_name(g, name));
            r.push(shape.any_key(g));
            keys(g, shape, Family::Sets, &mut r);
        }
        10 => {
            r.push(command_name(g, "SINTERCARD"));
            let mut rest = Vec::new();
            let n = keys(g, shape, Family::Sets, &mut rest);
            r.push(if g.chance(0.05) {
                bytes(*g.pick(&["0", "x", "9"]))
            } else {
                num(n as i64)
            });
            r.extend(rest);
            if g.chance(0.4) {
                r.push(bytes("LIMIT"));
                r.push(bytes(*g.pick(&["0", "1", "2", "-1"])));
            }
        }
        11 => {
            let k = key(g);
            element_scan(g, &mut r, "SSCAN", k)
        }
        _ => match g.below(3) {
            0 => {
                r.push(command_name(g, "SPOP"));
                r.push(key(g));
                r.push(bytes("1"));
                r.push(bytes("2"));
            }
            1 => {
                r.push(command_name(g, "SADD"));
                r.push(key(g));
            }
            _ => {
                r.push(command_name(g, "SRANDMEMBER"));
                r.push(key(g));
                r.push(bytes("-9223372036854775808"));
            }
        },
    }
    r
}

fn score(g: &mut Gen) -> Arg {
    if g.chance(0.03) {
        bytes(*g.pick(BAD_SCORES))
    } else {
        bytes(*g.pick(SCORES))
    }
}

fn score_bound(g: &mut Gen) -> Arg {
    if g.chance(0.03) {
        bytes(*g.pick(&["abc", "(x", "nan"]))
    } else {
        bytes(*g.pick(SCORE_BOUNDS))
    }
}

fn lex_bound(g: &mut Gen) -> Arg {
    if g.chance(0.03) {
        bytes(*g.pick(BAD_LEX_BOUNDS))
    } else {
        bytes(*g.pick(LEX_BOUNDS))
    }
}

fn limit_option(g: &mut Gen, r: &mut Template) {
    r.push(bytes("LIMIT"));
    r.push(bytes(*g.pick(&["0", "1", "2", "-1", "5"])));
    r.push(bytes(*g.pick(&["-1", "1", "2", "0", "10"])));
}

pub(super) fn zset_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| shape.key(g, Family::Zsets);
    let weights = [
        14, // 0 ZADD
        3,  // 1 ZINCRBY
        4,  // 2 ZREM
        2,  // 3 ZCARD
        3,  // 4 ZSCORE / ZMSCORE
        3,  // 5 ZRANK / ZREVRANK
        3,  // 6 ZCOUNT / ZLEXCOUNT
        8,  // 7 ZRANGE (every form)
        3,  // 8 ZRANGESTORE
        5,  // 9 ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGEBYLEX / ZREVRANGEBYLEX / ZREVRANGE
        3,  // 10 ZREMRANGEBY*
        4,  // 11 ZPOPMIN / ZPOPMAX
        2,  // 12 ZMPOP
        3,  // 13 ZRANDMEMBER
        4,  // 14 ZUNION / ZINTER / ZDIFF (and STORE)
        1,  // 15 ZINTERCARD
        2,  // 16 ZSCAN
        1,  // 17 error paths
    ];
    let mut r = Vec::new();
    match g.weighted(&weights) {
        0 => {
            r.push(command_name(g, "ZADD"));
            r.push(key(g));
            let mut options: Vec<&str> = Vec::new();
            if g.chance(0.15) {
                options.push(*g.pick(&["NX", "XX"]));
            }
            if g.chance(0.15) {
                options.push(*g.pick(&["GT", "LT"]));
            }
            if g.chance(0.15) {
                options.push("CH");
            }
            let incr = g.chance(0.1);
            if incr {
                options.push("INCR");
            }
            for i in (1..options.len()).rev() {
                options.swap(i, g.index(i + 1));
            }
            r.extend(options.iter().map(|o| bytes(*o)));
            // Equal scores make the lexicographic commands meaningful.
            let same = g.chance(0.4);
            let pairs = if incr && g.chance(0.9) {
                1
            } else {
                g.range(1, 3)
            };
            for _ in 0..pairs {
                r.push(if same { bytes("0") } else { score(g) });
                r.push(member(g));
            }
            if g.chance(0.03) {
                r.push(member(g));
            }
        }
        1 => {
            r.push(command_name(g, "ZINCRBY"));
            r.push(key(g));
            r.push(score(g));
            r.push(member(g));
        }
        2 => {
            r.push(command_name(g, "ZREM"));
            r.push(key(g));
            for _ in 0..g.range(1, 3) {
                r.push(member(g));
            }
        }
        3 => {
            r.push(command_name(g, "ZCARD"));
            r.push(key(g));
        }
        4 => {
            if g.chance(0.5) {
                r.push(command_name(g, "ZSCORE"));
                r.push(key(g));
                r.push(member(g));
            } else {
                r.push(command_name(g, "ZMSCORE"));
                r.push(key(g));
                for _ in 0..g.range(1, 3) {
                    r.push(member(g));
                }
            }
        }
        5 => {
            r.push(either(g, 0.5, "ZRANK", "ZREVRANK"));
            r.push(key(g));
            r.push(member(g));
            if g.chance(0.4) {
                r.push(bytes(*g.pick(&["WITHSCORE", "withscore", "WITHSCORES"])));
            }
        }
        6 => {
            if !shape.families.zset_lex || g.chance(0.5) {
                r.push(command_name(g, "ZCOUNT"));
                r.push(key(g));
                r.push(score_bound(g));
                r.push(score_bound(g));
            } else {
                r.push(command_name(g, "ZLEXCOUNT"));
                r.push(key(g));
                r.push(lex_bound(g));
                r.push(lex_bound(g));
            }
        }
        7 | 8 => {
            let store = g.chance(0.25);
            if store {
                r.push(command_name(g, "ZRANGESTORE"));
                r.push(shape.any_key(g));
            } else {
                r.push(command_name(g, "ZRANGE"));
            }
            r.push(key(g));
            let by = g.below(if shape.families.zset_lex { 3 } else { 2 });
            match by {
                0 => {
                    r.push(index(g));
                    r.push(index(g));
                }
                1 => {
                    r.push(score_bound(g));
                    r.push(score_bound(g));
                    r.push(bytes(*g.pick(&["BYSCORE", "byscore"])));
                }
                _ => {
                    r.push(lex_bound(g));
                    r.push(lex_bound(g));
                    r.push(bytes("BYLEX"));
                }
            }
            if g.chance(0.3) {
                r.push(bytes("REV"));
            }
            if g.chance(if by == 0 { 0.05 } else { 0.3 }) {
                limit_option(g, &mut r);
            }
            if !store && g.chance(if by == 2 { 0.05 } else { 0.4 }) {
                r.push(bytes("WITHSCORES"));
            }
        }
        9 => {
            let names: &[&str] = if shape.families.zset_lex {
                &[
                    "ZRANGEBYSCORE",
                    "ZREVRANGEBYSCORE",
                    "ZRANGEBYLEX",
                    "ZREVRANGEBYLEX",
                    "ZREVRANGE",
                ]
            } else {
                &["ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZREVRANGE"]
            };
            let name = *g.pick(names);
            r.push(command_name(g, name));
            r.push(key(g));
            if name.ends_with("SCORE") {
                r.push(score_bound(g));
                r.push(score_bound(g));
            } else if name.ends_with("LEX") {
                r.push(lex_bound(g));
                r.push(lex_bound(g));
            } else {
                r.push(index(g));
                r.push(index(g));
            }
            if name != "ZREVRANGE" && g.chance(0.3) {
                limit_option(g, &mut r);
            }
            if !name.ends_with("LEX") && g.chance(0.4) {
                r.push(bytes("WITHSCORES"));
            }
        }
        10 => {
            let names: &[&str] = if shape.families.zset_lex {
                &["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX"]
            } else {
                &["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE"]
            };
            let name = *g.pick(names);
            r.push(command_name(g, name));
            r.push(key(g));
            match name {
                "ZREMRANGEBYRANK" => {
                    r.push(index(g));
                    r.push(index(g));
                }
                "ZREMRANGEBYSCORE" => {
                    r.push(score_bound(g));
                    r.push(score_bound(g));
                }
                _ => {
                    r.push(lex_bound(g));
                    r.push(lex_bound(g));
                }
            }
        }
        11 => {
            r.push(either(g, 0.5, "ZPOPMIN", "ZPOPMAX"));
            r.push(key(g));
            if g.chance(0.5) {
                r.push(bytes(*g.pick(&["1", "2", "3", "0", "10", "-1", "x"])));
            }
        }
        12 => {
            r.push(command_name(g, "ZMPOP"));
            let n = g.range(1, 3);
            r.push(if g.chance(0.05) {
                bytes(*g.pick(&["0", "-1", "x", "9"]))
            } else {
                num(n as i64)
            });
            for _ in 0..n {
                r.push(key(g));
            }
            r.push(bytes(*g.pick(&["MIN", "MAX", "max", "MID"])));
            if g.chance(0.5) {
                r.push(bytes("COUNT"));
                r.push(bytes(*g.pick(&["1", "2", "5", "0", "x"])));
            }
        }
        13 => {
            r.push(command_name(g, "ZRANDMEMBER"));
            r.push(key(g));
            if g.chance(0.8) {
                r.push(count(g));
                if g.chance(0.5) {
                    r.push(bytes(*g.pick(&["WITHSCORES", "withscores", "WITHVALUES"])));
                }
            }
        }
        14 => {
            let op = *g.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
            let store = g.chance(0.4);
            if store {
                r.push(command_name(g, &format!("{op}STORE")));
                r.push(shape.any_key(g));
            } else {
                r.push(command_name(g, op));
            }
            let mut rest = Vec::new();
            // Sets are valid inputs too.
            let n = g.range(1, 3);
            for _ in 0..n {
                rest.push(if g.chance(0.15) {
                    shape.key(g, Family::Sets)
                } else {
                    key(g)
                });
            }
            r.push(if g.chance(0.04) {
                bytes(*g.pick(&["0", "-1", "x", "9"]))
            } else {
                num(n as i64)
            });
            r.extend(rest);
            if op != "ZDIFF" || g.chance(0.05) {
                if g.chance(0.4) {
                    r.push(bytes("WEIGHTS"));
                    for _ in 0..n {
                        r.push(bytes(*g.pick(WEIGHTS)));
                    }
                }
                if g.chance(0.4) {
                    r.push(bytes("AGGREGATE"));
                    r.push(bytes(*g.pick(&["SUM", "MIN", "MAX", "min", "AVG"])));
                }
            }
            if !store && g.chance(0.4) {
                r.push(bytes("WITHSCORES"));
            }
        }
        15 => {
            r.push(command_name(g, "ZINTERCARD"));
            let mut rest = Vec::new();
            let n = keys(g, shape, Family::Zsets, &mut rest);
            r.push(num(n as i64));
            r.extend(rest);
            if g.chance(0.4) {
                r.push(bytes("LIMIT"));
                r.push(bytes(*g.pick(&["0", "1", "2", "-1"])));
            }
        }
        16 => {
            let k = key(g);
            element_scan(g, &mut r, "ZSCAN", k)
        }
        _ => match g.below(4) {
            0 => {
                r.push(command_name(g, "ZADD"));
                r.push(key(g));
                r.push(bytes(*g.pick(&["NX", "XX", "GT"])));
                r.push(bytes(*g.pick(&["XX", "LT", "NX"])));
                r.push(score(g));
                r.push(member(g));
            }
            1 => {
                r.push(command_name(g, "ZADD"));
                r.push(key(g));
                r.push(bytes("INCR"));
                r.push(score(g));
                r.push(member(g));
                r.push(score(g));
                r.push(member(g));
            }
            2 => {
                r.push(command_name(g, "ZRANK"));
                r.push(key(g));
                r.push(member(g));
                r.push(bytes("WITHSCORE"));
                r.push(bytes("x"));
            }
            _ => {
                r.push(command_name(g, "ZPOPMIN"));
                r.push(key(g));
                r.push(bytes("1"));
                r.push(bytes("2"));
            }
        },
    }
    r
}
