//! Connection commands: PING, ECHO (and, in this family, QUIT, RESET, HELLO, SELECT,
//! AUTH and CLIENT).

use crate::command::{Ctx, Handler};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[("ping", ping), ("echo", echo)];

fn ping(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() > 2 {
        ctx.reply
            .error("wrong number of arguments for 'ping' command");
        return;
    }
    match ctx.args.try_get(1) {
        Some(msg) => ctx.reply.bulk(msg),
        None => ctx.reply.simple("PONG"),
    }
}

fn echo(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    let msg = ctx.arg(1);
    ctx.reply.bulk(msg);
}
