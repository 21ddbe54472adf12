//! SORT and SORT_RO requests, and the writes of the weight keys their patterns read.
//!
//! The weight keys are `w_<member>` strings and `h_<member>` hashes (fields `f`, a
//! number, and `g`, a word), for the members the collections hold; only some members
//! have them, so that missing weights happen. Only the weight keys of [`EXPIRING`]
//! members ever carry a TTL: a SORT reads one weight key per element, and the model
//! tries every combination of their possible states, so few of them may be uncertain
//! at once.
//!
//! One combination is left out on purpose: ALPHA with a BY pattern and STORE only
//! GETs that same pattern. Redis's sort is not stable, so elements of equal weight
//! are stored in an open order; GETting the weight makes them store the same bytes
//! whatever that order (the model would otherwise keep every order as a possible
//! state of the destination).

use super::{bytes, command_name, Arg, Family, Template, WorkloadShape, MEMBERS};
use crate::gen::Gen;

/// Members whose weight keys may carry a TTL.
const EXPIRING: &[&str] = &["a", "1"];
/// Members the weight keys are written for: the collections' members, integers
/// included (the sets' members too).
fn weight_member(g: &mut Gen) -> &'static str {
    let pool: &[&'static str] = if g.chance(0.25) {
        EXPIRING
    } else if g.chance(0.3) {
        &["1", "2", "3", "4", "5", "10", "-1", "300", "70000"]
    } else {
        MEMBERS
    };
    g.pick::<&str>(pool)
}

/// Weights: numbers strtod takes whole (blanks first, hexadecimal, infinities, `-0`,
/// the empty string, which is 0), and some it refuses (words, NaN, trailing blanks,
/// overflow and underflow). Redis 7.0 never clears errno before its strtod, so after
/// an ERANGE its later numeric SORTs fail too until something resets errno;
/// `examples/against_redis.rs` resets it (the model, like cinnabar, has no errno).
const WEIGHTS: &[&str] = &[
    "1", "2", "3", "-1", "10", "2.5", "0", "-0", "100", "-2.75", "inf", "-inf", "1e2", " 5",
    "0x10", "", "007", "3",
];
const BAD_WEIGHTS: &[&str] = &["abc", "nan", "5 ", "1.5x", "1e400", "-1e400", "1e-400"];
/// Words for ALPHA (field `g`).
const WORDS: &[&str] = &["apple", "b", "B", "banana", "10", "9", "", "zz", "apple"];

/// BY patterns: weights from strings and hash fields, constants (no `*`), a string
/// read as a hash and a hash read as a string (always missing), `->` with no field.
const BY_PATTERNS: &[&str] = &[
    "w_*", "w_*", "h_*->f", "h_*->f", "h_*->g", "nosort", "", "w_*->f", "h_*", "h_*->",
];
/// GET patterns: the element, weights, a key that never exists, a constant (always
/// null).
const GET_PATTERNS: &[&str] = &[
    "#", "#", "w_*", "h_*->f", "h_*->g", "nokey_*", "const", "h_*->",
];
const LIMIT_STARTS: &[&str] = &[
    "0",
    "0",
    "1",
    "2",
    "-1",
    "5",
    "9223372036854775807",
    "-9223372036854775808",
];
const LIMIT_COUNTS: &[&str] = &[
    "-1",
    "1",
    "2",
    "3",
    "0",
    "-5",
    "9223372036854775807",
    "-9223372036854775808",
];

fn weight_value(g: &mut Gen) -> Arg {
    if g.chance(0.06) {
        bytes(*g.pick(BAD_WEIGHTS))
    } else {
        bytes(*g.pick(WEIGHTS))
    }
}

/// A write of a weight key: `SET w_m`, `HSET h_m`, or removing one.
pub(super) fn weight_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let m = weight_member(g);
    let ttl = EXPIRING.contains(&m) && shape.ttl_probability > 0.0 && g.chance(0.5);
    let mut r = Vec::new();
    match g.below(20) {
        0..=8 => {
            r.push(command_name(g, "SET"));
            r.push(bytes(&format!("w_{m}")));
            r.push(weight_value(g));
            if ttl {
                r.push(bytes("PX"));
                r.push(bytes(&g.range(1, 2000).to_string()));
            }
        }
        9..=15 => {
            r.push(command_name(g, "HSET"));
            r.push(bytes(&format!("h_{m}")));
            if g.chance(0.8) {
                r.push(bytes("f"));
                r.push(weight_value(g));
            }
            if g.chance(0.5) || r.len() == 2 {
                r.push(bytes("g"));
                r.push(bytes(*g.pick(WORDS)));
            }
        }
        16 | 17 => {
            r.push(command_name(g, "DEL"));
            r.push(bytes(&format!("{}{m}", g.pick(&["w_", "h_"]))));
        }
        18 => {
            r.push(command_name(g, "HDEL"));
            r.push(bytes(&format!("h_{m}")));
            r.push(bytes(*g.pick(&["f", "g"])));
        }
        _ => {
            let m = *g.pick(EXPIRING);
            r.push(command_name(g, "PEXPIRE"));
            r.push(bytes(&format!("{}{m}", g.pick(&["w_", "h_"]))));
            r.push(bytes(&g.range(1, 2000).to_string()));
        }
    }
    r
}

/// One SORT or SORT_RO.
pub(super) fn sort_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    if g.chance(0.04) {
        return error_request(g, shape);
    }
    let readonly = g.chance(0.2);
    let mut r = vec![command_name(g, if readonly { "SORT_RO" } else { "SORT" })];
    let key = match g.below(20) {
        0..=6 => shape.key(g, Family::Lists),
        7..=11 => shape.key(g, Family::Sets),
        12..=16 => shape.key(g, Family::Zsets),
        17 | 18 => shape.any_key(g),
        _ => bytes("sort:missing"),
    };
    r.push(key.clone());
    let mut options: Vec<Vec<Arg>> = Vec::new();
    let mut by: Vec<&str> = Vec::new();
    if g.chance(0.45) {
        by.push(*g.pick(BY_PATTERNS));
        if g.chance(0.05) {
            by.push(*g.pick(BY_PATTERNS));
        }
    }
    // Repeated BYs stay together and in order: the last one is the one that counts.
    if !by.is_empty() {
        options.push(by.iter().flat_map(|p| [bytes("BY"), bytes(*p)]).collect());
    }
    if g.chance(0.25) {
        options.push(vec![
            bytes("LIMIT"),
            bytes(*g.pick(LIMIT_STARTS)),
            bytes(*g.pick(LIMIT_COUNTS)),
        ]);
    }
    if g.chance(0.3) {
        options.push(vec![bytes(*g.pick(&["DESC", "desc", "ASC"]))]);
    }
    let alpha = g.chance(0.45);
    if alpha {
        options.push(vec![bytes(*g.pick(&["ALPHA", "alpha"]))]);
    }
    let store = !readonly && g.chance(0.3);
    let sorted_by_pattern = !by.is_empty() && by.iter().all(|p| p.contains('*'));
    let mut gets: Vec<&str> = Vec::new();
    if store && alpha && sorted_by_pattern {
        // See the module comment: only the weight itself, whatever the order of ties.
        let last = by.last().expect("a BY");
        for _ in 0..g.range(1, 2) {
            gets.push(last);
        }
    } else if g.chance(0.35) {
        for _ in 0..g.range(1, 3) {
            gets.push(*g.pick(GET_PATTERNS));
        }
    }
    for p in gets {
        options.push(vec![bytes("GET"), bytes(p)]);
    }
    if store {
        let dst = if g.chance(0.1) { key } else { shape.any_key(g) };
        options.push(vec![bytes("STORE"), dst]);
    }
    for i in (1..options.len()).rev() {
        options.swap(i, g.index(i + 1));
    }
    r.extend(options.into_iter().flatten());
    r
}

/// Bad options, option arguments missing, STORE in SORT_RO, a bad LIMIT.
fn error_request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let key = shape.key(g, Family::Lists);
    let mut r = Vec::new();
    match g.below(6) {
        0 => {
            r.push(command_name(g, "SORT"));
            r.push(key);
            r.push(bytes("LIMIT"));
            r.push(bytes("0"));
        }
        1 => {
            r.push(command_name(g, "SORT"));
            r.push(key);
            r.push(bytes(*g.pick(&["BOGUS", "BY", "GET", "STORE"])));
        }
        2 => {
            r.push(command_name(g, "SORT_RO"));
            r.push(key);
            r.push(bytes("STORE"));
            r.push(shape.any_key(g));
        }
        3 => {
            r.push(command_name(g, "SORT"));
            r.push(key);
            r.push(bytes("LIMIT"));
            r.push(bytes(*g.pick(&["x", "1.5", "0"])));
            r.push(bytes(*g.pick(&["1", "", "99999999999999999999"])));
        }
        4 => {
            let name = *g.pick(&["SORT", "SORT_RO"]);
            r.push(command_name(g, name));
        }
        _ => {
            r.push(command_name(g, "SORT"));
            r.push(key);
            r.push(bytes("ALPHA"));
            r.push(bytes("LIMIT"));
            r.push(bytes("1"));
            r.push(bytes("x"));
            r.push(bytes("BOGUS"));
        }
    }
    r
}
