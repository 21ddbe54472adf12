//! The string and keyspace requests: every string command with its options and error
//! paths on the string keys, and the generic commands (DEL, EXISTS, TYPE, the expiry
//! family, RENAME, COPY, KEYS, DBSIZE, RANDOMKEY, FLUSHDB, FLUSHALL) on any key, so
//! that they meet every type.

use super::{bytes, command_name, either, num, ttl_option, Arg, Family, Template, WorkloadShape};
use super::{EXPIRE_OPTIONS, FLOAT_INCREMENTS, INCREMENTS, SUFFIXES, VALUES};
use crate::gen::Gen;

pub(super) fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| shape.key(g, Family::Strings);
    let any = |g: &mut Gen| shape.any_key(g);
    let value = |g: &mut Gen| bytes(g.pick(VALUES));
    // Weights: reads and plain writes dominate, the rest keeps every path in play.
    let weights = [
        12, // 0 GET
        12, // 1 SET with options
        2,  // 2 SETNX
        2,  // 3 SETEX / PSETEX
        3,  // 4 GETEX
        2,  // 5 GETDEL
        2,  // 6 GETSET
        3,  // 7 MGET
        3,  // 8 MSET / MSETNX
        3,  // 9 APPEND
        2,  // 10 STRLEN
        2,  // 11 GETRANGE
        2,  // 12 SETRANGE
        6,  // 13 INCR family
        3,  // 14 INCRBYFLOAT
        4,  // 15 DEL / UNLINK
        4,  // 16 EXISTS / TOUCH
        1,  // 17 TYPE
        7,  // 18 EXPIRE family
        5,  // 19 TTL family
        2,  // 20 PERSIST
        2,  // 21 RENAME / RENAMENX
        2,  // 22 COPY
        2,  // 23 KEYS
        2,  // 24 DBSIZE
        1,  // 25 RANDOMKEY
        1,  // 26 error paths
    ];
    let mut r = Vec::new();
    match g.weighted(&weights) {
        0 => {
            r.push(command_name(g, "GET"));
            r.push(key(g));
        }
        1 => {
            r.push(command_name(g, "SET"));
            r.push(key(g));
            r.push(value(g));
            let mut options: Vec<Vec<Arg>> = Vec::new();
            if g.chance(0.2) {
                options.push(vec![bytes(if g.chance(0.5) { "NX" } else { "XX" })]);
            }
            if g.chance(0.15) {
                options.push(vec![bytes("GET")]);
            }
            if g.chance(shape.ttl_probability) {
                options.push(ttl_option(g).to_vec());
            } else if g.chance(0.1) {
                options.push(vec![bytes("KEEPTTL")]);
            }
            if g.chance(0.03) {
                // Conflicting or dangling options: Redis's syntax error.
                options.push(match g.below(3) {
                    0 => vec![bytes("NX"), bytes("XX")],
                    1 => vec![bytes("EX")],
                    _ => vec![bytes("KEEPTTL"), bytes("PX"), num(10)],
                });
            }
            // Option order does not matter to Redis, except where it decides errors.
            for i in (1..options.len()).rev() {
                options.swap(i, g.index(i + 1));
            }
            r.extend(options.into_iter().flatten());
        }
        2 => {
            r.push(command_name(g, "SETNX"));
            r.push(key(g));
            r.push(value(g));
        }
        3 => {
            if g.chance(0.5) {
                r.push(command_name(g, "SETEX"));
                r.push(key(g));
                r.push(if g.chance(0.05) {
                    num(0)
                } else {
                    num(g.range_i64(1, 5))
                });
            } else {
                r.push(command_name(g, "PSETEX"));
                r.push(key(g));
                r.push(if g.chance(0.05) {
                    bytes("x")
                } else {
                    num(g.range_i64(1, 3000))
                });
            }
            r.push(value(g));
        }
        4 => {
            r.push(command_name(g, "GETEX"));
            r.push(key(g));
            match g.below(4) {
                0 => {}
                1 => r.push(bytes("PERSIST")),
                2 => r.extend(ttl_option(g)),
                _ if g.chance(0.3) => {
                    r.push(bytes("PERSIST"));
                    r.extend(ttl_option(g));
                }
                _ => r.extend(ttl_option(g)),
            }
        }
        5 => {
            r.push(command_name(g, "GETDEL"));
            r.push(key(g));
        }
        6 => {
            r.push(command_name(g, "GETSET"));
            r.push(key(g));
            r.push(value(g));
        }
        7 => {
            r.push(command_name(g, "MGET"));
            for _ in 0..g.range(1, 4) {
                r.push(key(g));
            }
        }
        8 => {
            r.push(either(g, 0.7, "MSET", "MSETNX"));
            for _ in 0..g.range(1, 3) {
                r.push(key(g));
                r.push(value(g));
            }
            if g.chance(0.05) {
                r.push(key(g)); // an odd argument count
            }
        }
        9 => {
            r.push(command_name(g, "APPEND"));
            r.push(key(g));
            r.push(bytes(g.pick(SUFFIXES)));
        }
        10 => {
            r.push(command_name(g, "STRLEN"));
            r.push(key(g));
        }
        11 => {
            r.push(either(g, 0.8, "GETRANGE", "SUBSTR"));
            r.push(key(g));
            r.push(num(g.range_i64(-8, 8)));
            r.push(if g.chance(0.05) {
                bytes("x")
            } else {
                num(g.range_i64(-8, 20))
            });
        }
        12 => {
            r.push(command_name(g, "SETRANGE"));
            r.push(key(g));
            r.push(match g.below(20) {
                0 => num(-1),
                1 => num(536_870_912),
                _ => num(g.range_i64(0, 12)),
            });
            r.push(bytes(g.pick(SUFFIXES)));
        }
        13 => match g.below(4) {
            0 => {
                r.push(command_name(g, "INCR"));
                r.push(key(g));
            }
            1 => {
                r.push(command_name(g, "DECR"));
                r.push(key(g));
            }
            2 => {
                r.push(command_name(g, "INCRBY"));
                r.push(key(g));
                r.push(bytes(g.pick(INCREMENTS)));
            }
            _ => {
                r.push(command_name(g, "DECRBY"));
                r.push(key(g));
                r.push(bytes(g.pick(INCREMENTS)));
            }
        },
        14 => {
            r.push(command_name(g, "INCRBYFLOAT"));
            r.push(key(g));
            r.push(bytes(g.pick(FLOAT_INCREMENTS)));
        }
        15 => {
            r.push(either(g, 0.7, "DEL", "UNLINK"));
            for _ in 0..g.range(1, 3) {
                r.push(any(g));
            }
        }
        16 => {
            r.push(either(g, 0.7, "EXISTS", "TOUCH"));
            for _ in 0..g.range(1, 3) {
                r.push(any(g));
            }
        }
        17 => {
            r.push(command_name(g, "TYPE"));
            r.push(any(g));
        }
        18 => {
            let (name, when) = match g.below(4) {
                0 => ("EXPIRE", num(g.range_i64(-1, 5))),
                1 => ("PEXPIRE", num(g.range_i64(-100, 3000))),
                2 => ("EXPIREAT", Arg::WallSecsPlus(g.range_i64(-2, 5))),
                _ => ("PEXPIREAT", Arg::WallMsPlus(g.range_i64(-500, 3000))),
            };
            r.push(command_name(g, name));
            r.push(any(g));
            r.push(if g.chance(0.03) { bytes("soon") } else { when });
            r.extend(g.pick(EXPIRE_OPTIONS).iter().map(bytes));
        }
        19 => {
            let name = *g.pick(&["TTL", "PTTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);
            r.push(command_name(g, name));
            r.push(any(g));
        }
        20 => {
            r.push(command_name(g, "PERSIST"));
            r.push(any(g));
        }
        21 => {
            r.push(either(g, 0.6, "RENAME", "RENAMENX"));
            r.push(any(g));
            r.push(any(g));
        }
        22 => {
            r.push(command_name(g, "COPY"));
            r.push(any(g));
            r.push(any(g));
            if g.chance(0.4) {
                r.push(bytes("REPLACE"));
            }
        }
        23 => {
            r.push(command_name(g, "KEYS"));
            r.push(Arg::Bytes(g.pick(&shape.patterns).clone()));
        }
        24 => r.push(command_name(g, "DBSIZE")),
        25 => r.push(command_name(g, "RANDOMKEY")),
        _ => match g.below(5) {
            0 => r.push(command_name(g, "GET")),
            1 => {
                r.push(bytes("NOSUCHCOMMAND"));
                r.push(any(g));
                r.push(bytes("x"));
            }
            2 => {
                r.push(command_name(g, "EXPIRE"));
                r.push(any(g));
            }
            3 => {
                // One draw, as command_name's: FLUSHALL three times in ten, so
                // that the seeds' streams stay as they were before it came in.
                r.push(match g.below(10) {
                    0 => bytes("flushdb"),
                    1 => bytes("FlUsHdB"),
                    2 => bytes("flushall"),
                    3 | 4 => bytes("FLUSHALL"),
                    _ => bytes("FLUSHDB"),
                });
                if g.chance(0.5) {
                    r.push(bytes(g.pick(&["ASYNC", "sync", "bogus"])));
                }
            }
            _ => {
                r.push(command_name(g, "COPY"));
                let k = any(g);
                r.push(k.clone());
                r.push(k);
            }
        },
    }
    r
}
