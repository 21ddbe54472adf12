//! Command handlers, one module per family as Redis's `t_*.c` files, and the shared
//! argument helpers that produce Redis's standard errors.

pub mod aof;
pub mod bitops;
pub mod blocking;
pub mod command;
pub mod connection;
pub mod dump;
pub mod elemscan;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod zsets;

use crate::command::{Ctx, Handler};
use crate::util::{parse_f64, parse_i64};

/// Every implemented command, by full name. The command table attaches these to
/// Redis's specs; a name here without a Redis 7.0 spec fails at startup.
pub fn all_handlers() -> Vec<(&'static str, Handler)> {
    let mut all = Vec::new();
    all.extend_from_slice(aof::HANDLERS);
    all.extend_from_slice(blocking::HANDLERS);
    all.extend_from_slice(bitops::HANDLERS);
    all.extend_from_slice(command::HANDLERS);
    all.extend_from_slice(connection::HANDLERS);
    all.extend_from_slice(dump::HANDLERS);
    all.extend_from_slice(hashes::HANDLERS);
    all.extend_from_slice(hyperloglog::HANDLERS);
    all.extend_from_slice(keys::HANDLERS);
    all.extend_from_slice(lists::HANDLERS);
    all.extend_from_slice(multi::HANDLERS);
    all.extend_from_slice(persist::HANDLERS);
    all.extend_from_slice(pubsub::HANDLERS);
    all.extend_from_slice(replication::HANDLERS);
    all.extend_from_slice(server::HANDLERS);
    all.extend_from_slice(sets::HANDLERS);
    all.extend_from_slice(sort::HANDLERS);
    all.extend_from_slice(strings::HANDLERS);
    all.extend_from_slice(zsets::HANDLERS);
    all
}

pub const ERR_NOT_INTEGER: &str = "value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "value is not a valid float";
pub const ERR_SYNTAX: &str = "syntax error";
pub const ERR_OVERFLOW: &str = "increment or decrement would overflow";
pub const ERR_DB_INDEX: &str = "DB index is out of range";

/// Parse argument `i` as an i64, replying Redis's error if it is not one.
pub fn arg_i64(ctx: &mut Ctx<'_>, i: usize) -> Option<i64> {
    let v = parse_i64(ctx.arg(i));
    if v.is_none() {
        ctx.reply.error(ERR_NOT_INTEGER);
    }
    v
}

/// Parse argument `i` as an f64, replying Redis's error if it is not one.
pub fn arg_f64(ctx: &mut Ctx<'_>, i: usize) -> Option<f64> {
    let v = parse_f64(ctx.arg(i));
    if v.is_none() {
        ctx.reply.error(ERR_NOT_FLOAT);
    }
    v
}
