//! Keyspace commands (Redis's db.c and expire.c): DEL, EXISTS, TTL and friends.

use crate::command::{Ctx, Handler};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[("del", del)];

fn del(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let mut deleted = 0;
    for i in 1..ctx.argc() {
        let key = ctx.args.get(i);
        srv.expire_if_needed(ctx.db, key);
        if srv.delete_key(ctx.db, key) {
            deleted += 1;
        }
    }
    srv.mark_dirty(deleted as u64);
    ctx.reply.int(deleted);
}
