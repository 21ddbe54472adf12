//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP on the list keys and
//! BZPOPMIN, BZPOPMAX, BZMPOP on the sorted-set keys, with timeouts from 62.5 ms to
//! 1.5 s (binary fractions of a second, so that Redis's `timeout * 1000` is exact),
//! now and then 0 (block until a write serves it: the final client pushes to the
//! keys of whoever is still waiting so, see `runner`), and the error paths. A blocking pop is always the last request of its batch:
//! Redis does not read a blocked client's further requests until it is unblocked.
//! A bad timeout never comes with another bad argument (Redis parses some of them
//! first, see `model::blocking`).

use super::{bytes, command_name, Arg, Family, Template, WorkloadShape};
use crate::gen::Gen;

const TIMEOUTS: &[&str] = &["0.0625", "0.125", "0.25", "0.5", "0.5", "1", "1.5"];
const BAD_TIMEOUTS: &[&str] = &["abc", "-1", "-0.5"];

/// Probability of a timeout of 0 (forever).
const FOREVER_PROBABILITY: f64 = 0.08;

fn timeout(g: &mut Gen, good: bool) -> Arg {
    if g.chance(FOREVER_PROBABILITY) {
        bytes(*g.pick(&["0", "0.0"]))
    } else if good || !g.chance(0.04) {
        bytes(*g.pick(TIMEOUTS))
    } else {
        bytes(*g.pick(BAD_TIMEOUTS))
    }
}

fn side(g: &mut Gen) -> Arg {
    bytes(*g.pick(&["LEFT", "RIGHT", "left"]))
}

/// One blocking pop.
pub(super) fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let list_key = |g: &mut Gen| shape.key(g, Family::Lists);
    let zset_key = |g: &mut Gen| shape.key(g, Family::Zsets);
    let lists = !shape.families.zsets || (shape.families.lists && g.chance(0.6));
    let bad_arg = g.chance(0.04);
    let mut r = Vec::new();
    if lists {
        match g.below(5) {
            0 | 1 => {
                let name = if g.chance(0.5) { "BLPOP" } else { "BRPOP" };
                r.push(command_name(g, name));
                for _ in 0..g.range(1, 3) {
                    r.push(list_key(g));
                }
                r.push(timeout(g, false));
            }
            2 => {
                r.push(command_name(g, "BLMOVE"));
                r.extend([list_key(g), list_key(g)]);
                if bad_arg {
                    r.extend([bytes("UP"), side(g), timeout(g, true)]);
                } else {
                    r.extend([side(g), side(g), timeout(g, false)]);
                }
            }
            3 => {
                r.push(command_name(g, "BRPOPLPUSH"));
                r.extend([list_key(g), list_key(g), timeout(g, false)]);
            }
            _ => {
                r.push(command_name(g, "BLMPOP"));
                mpop_args(g, &mut r, bad_arg, list_key, &["LEFT", "RIGHT"]);
            }
        }
    } else {
        match g.below(3) {
            0 | 1 => {
                let name = if g.chance(0.5) {
                    "BZPOPMIN"
                } else {
                    "BZPOPMAX"
                };
                r.push(command_name(g, name));
                for _ in 0..g.range(1, 3) {
                    r.push(zset_key(g));
                }
                r.push(timeout(g, false));
            }
            _ => {
                r.push(command_name(g, "BZMPOP"));
                mpop_args(g, &mut r, bad_arg, zset_key, &["MIN", "MAX"]);
            }
        }
    }
    r
}

/// `timeout numkeys key... where [COUNT n]`, at most one of them bad.
fn mpop_args(
    g: &mut Gen,
    r: &mut Template,
    bad_arg: bool,
    key: impl Fn(&mut Gen) -> Arg,
    wheres: &[&str],
) {
    r.push(timeout(g, bad_arg));
    let n = g.range(1, 3);
    let bad = bad_arg.then(|| g.below(3));
    r.push(match bad {
        Some(0) => bytes(*g.pick(&["0", "-1", "x"])),
        _ => bytes(&n.to_string()),
    });
    for _ in 0..n {
        r.push(key(g));
    }
    r.push(match bad {
        Some(1) => bytes("SIDEWAYS"),
        _ => bytes(*g.pick(wheres)),
    });
    if bad == Some(2) {
        r.extend([bytes("COUNT"), bytes(*g.pick(&["0", "-2", "x"]))]);
    } else if g.chance(0.4) {
        r.extend([bytes("COUNT"), bytes(*g.pick(&["1", "2", "3", "10"]))]);
    }
}
