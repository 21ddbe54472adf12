//! Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH and UNWATCH.
//!
//! Queuing happens in dispatch (processCommand queues whatever passed its checks and
//! is not one of the commands that act at once); a refusal there dooms the transaction
//! (`dirty_exec`). A modified watched key dooms it too (`dirty_cas`, see
//! `server/multi.rs`). EXEC runs the queue through dispatch's `call()`, so every
//! command is counted, slow-logged and replied exactly as if run alone, and nothing of
//! another client can interleave: the core is single-threaded.

use crate::command::{Ctx, Handler};
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch),
];

const ERR_EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.";

fn in_multi(srv: &Server, ctx: &Ctx<'_>) -> bool {
    srv.client(ctx.conn).is_some_and(|c| c.multi.is_some())
}

fn multi(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if in_multi(srv, ctx) {
        ctx.reply.error("MULTI calls can not be nested");
        return;
    }
    if let Some(c) = srv.client_mut(ctx.conn) {
        c.multi = Some(Default::default());
    }
    ctx.reply.ok();
}

fn discard(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !in_multi(srv, ctx) {
        ctx.reply.error("DISCARD without MULTI");
        return;
    }
    srv.discard_transaction(ctx.conn);
    ctx.reply.ok();
}

fn exec(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let conn = ctx.conn;
    if !in_multi(srv, ctx) {
        ctx.reply.error("EXEC without MULTI");
        return;
    }
    // A watched key that expired since WATCH counts as modified.
    if srv.is_watched_key_expired(conn) {
        if let Some(c) = srv.client_mut(conn) {
            c.dirty_cas = true;
        }
    }
    let (dirty_cas, dirty_exec) = srv
        .client(conn)
        .map_or((false, false), |c| (c.dirty_cas, c.dirty_exec));
    if dirty_exec || dirty_cas {
        // A refused command outranks a touched watch: the client must learn that its
        // transaction was malformed.
        if dirty_exec {
            ctx.reply.error(ERR_EXECABORT);
        } else {
            ctx.reply.null_array();
        }
        srv.discard_transaction(conn);
        return;
    }
    // Nothing watched matters any more: stop tracking before running the commands.
    srv.unwatch_all_keys(conn);
    let queued = srv
        .client_mut(conn)
        .and_then(|c| c.multi.as_mut())
        .map(|m| std::mem::take(&mut m.commands))
        .unwrap_or_default();
    ctx.reply.array(queued.len());
    for q in &queued {
        // The client stays inside MULTI while its commands run (CLIENT LIST shows
        // `x` and the count), and may not block.
        srv.call(conn, q.entry, q.args(), ctx.reply, true);
    }
    srv.discard_transaction(conn);
    // A queued SELECT moved the client: dispatch stores this context's database.
    if let Some(c) = srv.client(conn) {
        ctx.db = c.db;
    }
}

fn watch(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if in_multi(srv, ctx) {
        ctx.reply.error("WATCH inside MULTI is not allowed");
        return;
    }
    // A client already doomed gains nothing from watching more.
    if srv.client(ctx.conn).is_some_and(|c| c.dirty_cas) {
        ctx.reply.ok();
        return;
    }
    for i in 1..ctx.argc() {
        srv.watch_key(ctx.conn, ctx.db, ctx.arg(i));
    }
    ctx.reply.ok();
}

fn unwatch(srv: &mut Server, ctx: &mut Ctx<'_>) {
    srv.unwatch_all_keys(ctx.conn);
    if let Some(c) = srv.client_mut(ctx.conn) {
        c.dirty_cas = false;
    }
    ctx.reply.ok();
}
