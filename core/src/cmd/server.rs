//! Server commands: INFO, CONFIG, COMMAND, TIME, SLOWLOG, DEBUG, SHUTDOWN, DBSIZE.

use crate::command::{Ctx, Handler};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[("dbsize", dbsize)];

fn dbsize(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let n = srv.dbs[ctx.db].len();
    ctx.reply.int(n as i64);
}
