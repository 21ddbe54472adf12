//! What each client does: a program of pipelined request batches, full keyspace scans
//! and pauses, drawn from the seed. Requests cover the string and keyspace commands
//! the model knows, their options and their error paths, on a small keyspace so that
//! clients collide on the same keys.
//!
//! Absolute expiry times (EXPIREAT, SET PXAT, ...) cannot be drawn in advance: they
//! are [`Arg::WallMsPlus`]/[`Arg::WallSecsPlus`] placeholders, resolved by the client
//! from its own reading of the (jumping) wall clock when it sends the request.

use crate::gen::Gen;
use std::time::Duration;

/// One argument of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Bytes(Vec<u8>),
    /// The client's wall clock in milliseconds, plus this many.
    WallMsPlus(i64),
    /// The client's wall clock in whole seconds, plus this many.
    WallSecsPlus(i64),
}

impl Arg {
    pub fn resolve(&self, wall_ms: i64) -> Vec<u8> {
        match self {
            Arg::Bytes(b) => b.clone(),
            Arg::WallMsPlus(d) => (wall_ms + d).to_string().into_bytes(),
            Arg::WallSecsPlus(d) => (wall_ms.div_euclid(1000) + d).to_string().into_bytes(),
        }
    }
}

pub type Template = Vec<Arg>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Requests written together (pipelined), then all their replies read. With
    /// `split_permille`, the bytes go out in two writes, cut at that fraction, so that
    /// requests arrive in pieces.
    Batch {
        requests: Vec<Template>,
        split_permille: Option<u32>,
    },
    /// `SCAN` from cursor 0 until the server returns cursor 0, one call at a time.
    ScanAll {
        count: u32,
        pattern: Option<Vec<u8>>,
    },
    Sleep(Duration),
}

pub type Program = Vec<Step>;

/// Knobs of one run's workload (drawn by the scenario).
#[derive(Debug, Clone)]
pub struct WorkloadShape {
    pub keys: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub requests_per_client: usize,
    pub pipeline_max: usize,
    pub ttl_probability: f64,
    pub long_pause_probability: f64,
    pub long_pause_ms_max: u64,
    pub split_probability: f64,
}

/// Values the workload stores: integers (with the i64 limits for overflow errors),
/// strings that only look numeric, floats that INCRBYFLOAT accepts, and words.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-3",
    "42",
    "100",
    "007",
    "1.5",
    "-2.75",
    "foo",
    "bar",
    "",
    "hello world",
    "9223372036854775807",
    "-9223372036854775808",
    "a value long enough that Redis keeps it raw rather than embedded",
];
/// Suffixes for APPEND and SETRANGE: no digits, so that every string INCRBYFLOAT may
/// read stays a multiple of 1/4 (see `numbers`).
const SUFFIXES: &[&str] = &["z", "", "-", "foo", " ", "ab"];
const INCREMENTS: &[&str] = &[
    "1",
    "-1",
    "5",
    "-7",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "abc",
    "",
];
const FLOAT_INCREMENTS: &[&str] = &["0.25", "-1.5", "2", "10.75", "inf", "-inf", "abc", "3e0"];
const EXPIRE_OPTIONS: &[&[&str]] = &[
    &[],
    &[],
    &[],
    &["NX"],
    &["XX"],
    &["GT"],
    &["LT"],
    &["xx", "gt"],
    &["NX", "XX"],
    &["GT", "LT"],
    &["bogus"],
];

fn bytes<S: AsRef<[u8]> + ?Sized>(s: &S) -> Arg {
    Arg::Bytes(s.as_ref().to_vec())
}

fn num(n: i64) -> Arg {
    Arg::Bytes(n.to_string().into_bytes())
}

/// Generate one client's program.
pub fn program(g: &mut Gen, shape: &WorkloadShape) -> Program {
    let mut steps = Vec::new();
    let mut remaining = shape.requests_per_client;
    while remaining > 0 {
        if g.chance(0.03) {
            steps.push(Step::ScanAll {
                count: *g.pick(&[1, 3, 10, 100]),
                pattern: g.chance(0.5).then(|| g.pick(&shape.patterns).clone()),
            });
            remaining -= 1;
            continue;
        }
        let n = (g.range(1, shape.pipeline_max as u64) as usize).min(remaining);
        let requests = (0..n).map(|_| request(g, shape)).collect();
        let split_permille = g
            .chance(shape.split_probability)
            .then(|| g.range(1, 999) as u32);
        steps.push(Step::Batch {
            requests,
            split_permille,
        });
        remaining -= n;
        if g.chance(shape.long_pause_probability) {
            steps.push(Step::Sleep(Duration::from_millis(
                g.range(100, shape.long_pause_ms_max),
            )));
        } else if g.chance(0.3) {
            steps.push(Step::Sleep(Duration::from_millis(g.range(1, 20))));
        }
    }
    steps
}

/// Spell a command name as Redis users do: mostly upper case, sometimes not.
fn command_name(g: &mut Gen, name: &str) -> Arg {
    match g.below(10) {
        0 => bytes(&name.to_ascii_lowercase()),
        1 => Arg::Bytes(
            name.bytes()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        ),
        _ => bytes(name),
    }
}

/// One of two commands, `a` with probability `p`.
fn either(g: &mut Gen, p: f64, a: &str, b: &str) -> Arg {
    let name = if g.chance(p) { a } else { b };
    command_name(g, name)
}

/// A random expire argument for SET/GETEX-style options: `(option, value)`.
fn ttl_option(g: &mut Gen) -> [Arg; 2] {
    let invalid = g.chance(0.05);
    match g.below(4) {
        0 => [
            bytes("EX"),
            if invalid {
                bytes(g.pick(&["0", "-5", "abc"]))
            } else {
                num(g.range_i64(1, 5))
            },
        ],
        1 => [
            bytes("PX"),
            if invalid {
                bytes(g.pick(&["0", "-1", "1.5"]))
            } else {
                num(g.range_i64(1, 3000))
            },
        ],
        2 => [bytes("EXAT"), Arg::WallSecsPlus(g.range_i64(-1, 5))],
        _ => [bytes("PXAT"), Arg::WallMsPlus(g.range_i64(-50, 3000))],
    }
}

fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = |g: &mut Gen| Arg::Bytes(g.pick(&shape.keys).clone());
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
                r.push(key(g));
            }
        }
        16 => {
            r.push(either(g, 0.7, "EXISTS", "TOUCH"));
            for _ in 0..g.range(1, 3) {
                r.push(key(g));
            }
        }
        17 => {
            r.push(command_name(g, "TYPE"));
            r.push(key(g));
        }
        18 => {
            let (name, when) = match g.below(4) {
                0 => ("EXPIRE", num(g.range_i64(-1, 5))),
                1 => ("PEXPIRE", num(g.range_i64(-100, 3000))),
                2 => ("EXPIREAT", Arg::WallSecsPlus(g.range_i64(-2, 5))),
                _ => ("PEXPIREAT", Arg::WallMsPlus(g.range_i64(-500, 3000))),
            };
            r.push(command_name(g, name));
            r.push(key(g));
            r.push(if g.chance(0.03) { bytes("soon") } else { when });
            r.extend(g.pick(EXPIRE_OPTIONS).iter().map(bytes));
        }
        19 => {
            let name = *g.pick(&["TTL", "PTTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);
            r.push(command_name(g, name));
            r.push(key(g));
        }
        20 => {
            r.push(command_name(g, "PERSIST"));
            r.push(key(g));
        }
        21 => {
            r.push(either(g, 0.6, "RENAME", "RENAMENX"));
            r.push(key(g));
            r.push(key(g));
        }
        22 => {
            r.push(command_name(g, "COPY"));
            r.push(key(g));
            r.push(key(g));
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
                r.push(key(g));
                r.push(bytes("x"));
            }
            2 => {
                r.push(command_name(g, "EXPIRE"));
                r.push(key(g));
            }
            3 => {
                r.push(command_name(g, "FLUSHDB"));
                if g.chance(0.5) {
                    r.push(bytes(g.pick(&["ASYNC", "sync", "bogus"])));
                }
            }
            _ => {
                r.push(command_name(g, "COPY"));
                let k = key(g);
                r.push(k.clone());
                r.push(k);
            }
        },
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> WorkloadShape {
        WorkloadShape {
            keys: vec![b"k:1".to_vec(), b"k:2".to_vec()],
            patterns: vec![b"*".to_vec()],
            requests_per_client: 200,
            pipeline_max: 4,
            ttl_probability: 0.5,
            long_pause_probability: 0.05,
            long_pause_ms_max: 500,
            split_probability: 0.1,
        }
    }

    #[test]
    fn programs_are_a_function_of_the_seed() {
        let a = program(&mut Gen::new(3), &shape());
        let b = program(&mut Gen::new(3), &shape());
        assert_eq!(a, b);
        assert_ne!(a, program(&mut Gen::new(4), &shape()));
    }

    #[test]
    fn programs_have_the_requested_size() {
        let p = program(&mut Gen::new(9), &shape());
        let requests: usize = p
            .iter()
            .map(|s| match s {
                Step::Batch { requests, .. } => {
                    assert!((1..=4).contains(&requests.len()));
                    requests.len()
                }
                Step::ScanAll { .. } => 1,
                Step::Sleep(_) => 0,
            })
            .sum();
        assert_eq!(requests, 200);
    }

    #[test]
    fn placeholders_follow_the_wall_clock() {
        assert_eq!(Arg::WallMsPlus(-5).resolve(1_000), b"995");
        assert_eq!(Arg::WallSecsPlus(2).resolve(1_999), b"3");
        assert_eq!(Arg::WallSecsPlus(0).resolve(-1), b"-1");
    }
}
