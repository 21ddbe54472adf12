//! Transactions: WATCH on a few keys, a pause in which the other clients may write
//! them, then MULTI, queued requests of every family and EXEC (or DISCARD), with the
//! error paths: a command refused while queuing (EXECABORT), MULTI and WATCH inside
//! MULTI, EXEC and DISCARD without MULTI, UNWATCH.

use super::{bytes, command_name, request, Arg, Step, Template, WorkloadShape};
use crate::gen::Gen;
use std::time::Duration;

/// Commands Redis refuses before queuing them (unknown, wrong argument counts).
const REFUSED: &[&[&str]] = &[
    &["GET"],
    &["NOPE", "x"],
    &["OBJECT", "ENCODING"],
    &["LPUSH", "k"],
];

/// A request for the inside of a transaction: any family but HELLO (which changes
/// the protocol of the replies EXEC is still collecting).
fn queued(g: &mut Gen, shape: &WorkloadShape) -> Template {
    if shape.families.blocking && g.chance(0.08) {
        // Inside EXEC a blocking pop does not block.
        return super::blocking::request(g, shape);
    }
    if shape.families.swapdb && g.chance(0.04) {
        return super::swapdb_request(g);
    }
    loop {
        let r = request(g, shape);
        if !matches!(&r[0], Arg::Bytes(n) if n.eq_ignore_ascii_case(b"hello")) {
            return r;
        }
    }
}

/// The steps of one transaction, and how many requests they send.
pub(super) fn transaction(g: &mut Gen, shape: &WorkloadShape) -> (Vec<Step>, usize) {
    let mut steps = Vec::new();
    let mut sent = 0;
    let batch = |requests: Vec<Template>| Step::Batch {
        requests,
        split_permille: None,
    };
    if g.chance(0.05) {
        let name = if g.chance(0.5) { "EXEC" } else { "DISCARD" };
        steps.push(batch(vec![vec![command_name(g, name)]]));
        sent += 1;
    }
    if g.chance(0.7) {
        let mut watch = vec![command_name(g, "WATCH")];
        for _ in 0..g.range(1, 3) {
            watch.push(shape.any_key(g));
        }
        let mut requests = vec![watch];
        if g.chance(0.3) {
            // A client usually reads what it watches before deciding what to write.
            requests.push(vec![command_name(g, "TYPE"), shape.any_key(g)]);
        }
        sent += requests.len();
        steps.push(batch(requests));
        if g.chance(0.8) {
            steps.push(Step::Sleep(Duration::from_millis(g.range(1, 40))));
        }
        if g.chance(0.08) {
            steps.push(batch(vec![vec![command_name(g, "UNWATCH")]]));
            sent += 1;
        }
    }
    let mut requests = vec![vec![command_name(g, "MULTI")]];
    for _ in 0..g.range(1, 4) {
        requests.push(queued(g, shape));
        match g.below(40) {
            0..=2 => requests.push(g.pick(REFUSED).iter().map(bytes).collect()),
            3 => requests.push(vec![command_name(g, "MULTI")]),
            4 => requests.push(vec![command_name(g, "WATCH"), shape.any_key(g)]),
            5 => requests.push(vec![command_name(g, "UNWATCH")]),
            _ => {}
        }
    }
    // `EXEC x` aborts the transaction, so it only ends one: a blocking pop queued
    // before it must not run (and block) with requests after it.
    requests.push(match g.below(20) {
        0 | 1 => vec![command_name(g, "DISCARD")],
        2 => vec![command_name(g, "EXEC"), bytes("x")],
        _ => vec![command_name(g, "EXEC")],
    });
    sent += requests.len();
    let split_permille = g.chance(0.1).then(|| g.range(1, 999) as u32);
    steps.push(Step::Batch {
        requests,
        split_permille,
    });
    (steps, sent)
}
