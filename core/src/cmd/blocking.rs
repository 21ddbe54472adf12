//! The blocking list and sorted-set commands (Redis 7.0's blockingPopGenericCommand,
//! blmoveGenericCommand and blockingGenericZpopCommand): BLPOP, BRPOP, BLMPOP,
//! BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BZMPOP, and CLIENT UNBLOCK.
//!
//! Each command pops at once, through the same functions as its non-blocking form,
//! when one of its keys has something; otherwise it parks the client
//! (`server/blocked.rs`), which serves it later with those same functions. Where
//! blocking is not allowed (inside EXEC) it answers as a timeout would, at once.
//! Arguments are checked in Redis's order: BLMOVE's positions before its timeout,
//! BLMPOP's and BZMPOP's numkeys, direction and COUNT before theirs.

use super::{lists, zsets, ERR_NOT_INTEGER};
use crate::command::{Ctx, Handler};
use crate::io::MonoNs;
use crate::longdouble::LongDouble;
use crate::server::{BlockOp, Server};
use crate::util::{eq_ic, parse_i64};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmpop", blmpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("bzmpop", bzmpop),
    ("client|unblock", client_unblock),
];

/// May this command block its client? Not inside EXEC (Redis's CLIENT_DENY_BLOCKING),
/// where a blocking command that finds nothing answers like a timeout at once.
fn blocking_denied(ctx: &Ctx<'_>) -> bool {
    ctx.deny_blocking
}

/// getTimeoutFromObjectOrReply in seconds: argument `i` read as a `long double`,
/// `ceill` of its milliseconds. Ok(None) is 0, waiting forever; Err after the error.
fn parse_timeout(srv: &Server, ctx: &mut Ctx<'_>, i: usize) -> Result<Option<MonoNs>, ()> {
    let Some(seconds) = LongDouble::parse(ctx.arg(i)) else {
        ctx.reply.error("timeout is not a float or out of range");
        return Err(());
    };
    // Out of range, x87's conversion gives LLONG_MIN: a "negative" timeout.
    let ms = seconds.times(1000).ceil_to_i64().unwrap_or(i64::MIN);
    if ms < 0 {
        ctx.reply.error("timeout is negative");
        return Err(());
    }
    // A deadline on the monotonic clock: wall-clock steps cannot move it.
    Ok((ms > 0).then(|| srv.now.mono.add_ms(ms as u64)))
}

fn blpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    blocking_pop(srv, ctx, true);
}

fn brpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    blocking_pop(srv, ctx, false);
}

/// B[LR]POP key [key ...] timeout
fn blocking_pop(srv: &mut Server, ctx: &mut Ctx<'_>, head: bool) {
    let Ok(deadline) = parse_timeout(srv, ctx, ctx.argc() - 1) else {
        return;
    };
    let keys: Vec<&[u8]> = (1..ctx.argc() - 1).map(|i| ctx.arg(i)).collect();
    pop_or_block(srv, ctx, &keys, BlockOp::Pop { head }, deadline);
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(args) = lists::parse_mpop(ctx, 2) else {
        return;
    };
    let Ok(deadline) = parse_timeout(srv, ctx, 1) else {
        return;
    };
    let keys: Vec<&[u8]> = args.keys.map(|i| ctx.arg(i)).collect();
    let op = BlockOp::Mpop {
        head: args.head,
        count: args.count,
    };
    pop_or_block(srv, ctx, &keys, op, deadline);
}

/// The first key holding a list serves the pop now; a key of another type is an
/// error; with every key missing the client blocks on all of them.
fn pop_or_block(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    op: BlockOp,
    deadline: Option<MonoNs>,
) {
    for &key in keys {
        match lists::check_write(srv, ctx, key) {
            Err(()) => return,
            Ok(false) => continue,
            Ok(true) => {}
        }
        match op {
            BlockOp::Pop { head } => lists::pop_with_key(srv, ctx, key, head),
            BlockOp::Mpop { head, count } => lists::mpop_with_key(srv, ctx, key, head, count),
            _ => unreachable!("list pops only"),
        }
        return;
    }
    if blocking_denied(ctx) {
        ctx.reply.null_array();
        return;
    }
    srv.block_for_keys(ctx, keys, op, deadline);
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some(from_head) = lists::arg_position(ctx, 3) else {
        return;
    };
    let Some(to_head) = lists::arg_position(ctx, 4) else {
        return;
    };
    let Ok(deadline) = parse_timeout(srv, ctx, 5) else {
        return;
    };
    move_or_block(srv, ctx, from_head, to_head, deadline);
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Ok(deadline) = parse_timeout(srv, ctx, 3) else {
        return;
    };
    move_or_block(srv, ctx, false, true, deadline);
}

/// blmoveGenericCommand: LMOVE when the source has elements, else block on it.
fn move_or_block(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    from_head: bool,
    to_head: bool,
    deadline: Option<MonoNs>,
) {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    match lists::check_write(srv, ctx, src) {
        Err(()) => {}
        Ok(true) => lists::lmove_keys(srv, ctx, src, dst, from_head, to_head),
        // Unlike the pops, a denied BLMOVE answers a null bulk, not a null array.
        Ok(false) if blocking_denied(ctx) => ctx.reply.null(),
        Ok(false) => {
            let op = BlockOp::Move {
                dst: dst.to_vec(),
                from_head,
                to_head,
            };
            srv.block_for_keys(ctx, &[src], op, deadline);
        }
    }
}

fn bzpopmin(srv: &mut Server, ctx: &mut Ctx<'_>) {
    blocking_zpop(srv, ctx, false);
}

fn bzpopmax(srv: &mut Server, ctx: &mut Ctx<'_>) {
    blocking_zpop(srv, ctx, true);
}

/// BZPOP(MIN|MAX) key [key ...] timeout
fn blocking_zpop(srv: &mut Server, ctx: &mut Ctx<'_>, max: bool) {
    let Ok(deadline) = parse_timeout(srv, ctx, ctx.argc() - 1) else {
        return;
    };
    let keys: Vec<&[u8]> = (1..ctx.argc() - 1).map(|i| ctx.arg(i)).collect();
    zpop_or_block(srv, ctx, &keys, BlockOp::Zpop { max }, deadline);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let Some((keys, max, count)) = zsets::parse_mpop(ctx, 2) else {
        return;
    };
    let Ok(deadline) = parse_timeout(srv, ctx, 1) else {
        return;
    };
    let keys: Vec<&[u8]> = keys.map(|i| ctx.arg(i)).collect();
    zpop_or_block(srv, ctx, &keys, BlockOp::Zmpop { max, count }, deadline);
}

/// blockingGenericZpopCommand: the first sorted set serves now, else block.
fn zpop_or_block(
    srv: &mut Server,
    ctx: &mut Ctx<'_>,
    keys: &[&[u8]],
    op: BlockOp,
    deadline: Option<MonoNs>,
) {
    for &key in keys {
        match zsets::check_write(srv, ctx, key) {
            Err(()) => return,
            Ok(false) => continue,
            Ok(true) => {}
        }
        match op {
            BlockOp::Zpop { max } => zsets::generic_zpop(srv, ctx, &[key], max, -1, false, true),
            BlockOp::Zmpop { max, count } => {
                zsets::generic_zpop(srv, ctx, &[key], max, count, true, true)
            }
            _ => unreachable!("sorted-set pops only"),
        }
        return;
    }
    if blocking_denied(ctx) {
        ctx.reply.null_array();
        return;
    }
    srv.block_for_keys(ctx, keys, op, deadline);
}

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
fn client_unblock(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if ctx.argc() > 4 {
        ctx.reply.error(&format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
            String::from_utf8_lossy(&ctx.arg(1)[..ctx.arg(1).len().min(128)]),
            String::from_utf8_lossy(ctx.arg(0)).to_uppercase()
        ));
        return;
    }
    let mut with_error = false;
    if ctx.argc() == 4 {
        if eq_ic(ctx.arg(3), "timeout") {
            with_error = false;
        } else if eq_ic(ctx.arg(3), "error") {
            with_error = true;
        } else {
            ctx.reply
                .error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    let Some(id) = parse_i64(ctx.arg(2)) else {
        ctx.reply.error(ERR_NOT_INTEGER);
        return;
    };
    let target = srv
        .clients
        .values()
        .find(|c| c.id as i64 == id && !c.close_asap)
        .map(|c| c.conn);
    let unblocked = target.is_some_and(|conn| srv.unblock_on_request(conn, with_error));
    ctx.reply.int(unblocked as i64);
}

#[cfg(test)]
mod tests {
    use crate::io::ConnId;
    use crate::testing::{decode, encode_command, Frame, TestServer};

    fn bulk(s: &str) -> Frame {
        Frame::bulk(s)
    }

    fn arr(items: Vec<Frame>) -> Frame {
        Frame::Array(items)
    }

    fn bulks(items: &[&str]) -> Frame {
        Frame::array_of_bulks(items)
    }

    /// Send a command that may block: no reply is read.
    fn send(t: &mut TestServer, conn: ConnId, args: &[&str]) {
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        t.send_raw(conn, &encode_command(&raw));
    }

    /// Every complete reply received on `conn` since the last look.
    fn replies(t: &mut TestServer, conn: ConnId) -> Vec<Frame> {
        let out = t.take_output(conn);
        let mut frames = Vec::new();
        let mut pos = 0;
        while pos < out.len() {
            let (f, used) = decode(&out[pos..]).expect("complete replies");
            frames.push(f);
            pos += used;
        }
        frames
    }

    /// Send a command and require that it blocks (no reply at all).
    fn block(t: &mut TestServer, conn: ConnId, args: &[&str]) {
        send(t, conn, args);
        assert_eq!(replies(t, conn), vec![], "{args:?} should block");
        assert!(t.server.blocking.is_blocked(conn));
    }

    /// The one reply a blocked client has received by now.
    fn served(t: &mut TestServer, conn: ConnId) -> Frame {
        let mut r = replies(t, conn);
        assert_eq!(r.len(), 1, "one reply expected, got {r:?}");
        assert!(!t.server.blocking.is_blocked(conn));
        r.remove(0)
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    fn assert_nothing_waits(t: &TestServer) {
        assert_eq!(t.server.blocking.blocked_clients(), 0);
        assert_eq!(t.server.blocking.clients_in_timeout_table(), 0);
        for db in 0..t.server.dbs.len() {
            assert_eq!(t.server.blocking.waited_keys(db), 0);
        }
    }

    fn info_field(t: &mut TestServer, conn: ConnId, field: &str) -> String {
        let info = t.cmd_on(conn, &["INFO", "clients"]).as_str();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {info}"))
            .to_string()
    }

    #[test]
    fn nonempty_lists_pop_at_once_like_the_plain_pops() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.cmd_on(c, &["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(
            t.cmd_on(c, &["BLPOP", "nope", "l", "0"]),
            bulks(&["l", "a"])
        );
        assert_eq!(
            t.cmd_on(c, &["BRPOP", "l", "nope", "0"]),
            bulks(&["l", "c"])
        );
        assert_eq!(t.cmd_on(c, &["BLPOP", "l", "0.5"]), bulks(&["l", "b"]));
        assert_eq!(t.cmd_on(c, &["EXISTS", "l"]), int(0));
        // Keys are looked at in order: a list before a wrong type serves.
        t.cmd_on(c, &["SET", "s", "x"]);
        t.cmd_on(c, &["RPUSH", "l", "1", "2", "3"]);
        assert_eq!(t.cmd_on(c, &["BLPOP", "l", "s", "0"]), bulks(&["l", "1"]));
        let wrongtype =
            Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(t.cmd_on(c, &["BLPOP", "nope", "s", "l", "0"]), wrongtype);
        assert_eq!(t.cmd_on(c, &["BRPOP", "s", "0"]), wrongtype);
        // BLMPOP pops a range, [key, [elements]].
        assert_eq!(
            t.cmd_on(c, &["BLMPOP", "0", "2", "nope", "l", "RIGHT", "COUNT", "5"]),
            arr(vec![bulk("l"), bulks(&["3", "2"])])
        );
        t.cmd_on(c, &["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(
            t.cmd_on(c, &["BLMPOP", "0", "1", "l", "LEFT"]),
            arr(vec![bulk("l"), bulks(&["a"])])
        );
        assert_eq!(t.cmd_on(c, &["BLMPOP", "0", "1", "s", "LEFT"]), wrongtype);
        // BLMOVE and BRPOPLPUSH are LMOVE and RPOPLPUSH.
        assert_eq!(
            t.cmd_on(c, &["BLMOVE", "l", "d", "LEFT", "RIGHT", "0"]),
            bulk("b")
        );
        assert_eq!(t.cmd_on(c, &["BRPOPLPUSH", "l", "d", "0"]), bulk("c"));
        assert_eq!(t.cmd_on(c, &["LRANGE", "d", "0", "-1"]), bulks(&["c", "b"]));
        assert_eq!(
            t.cmd_on(c, &["BLMOVE", "d", "s", "LEFT", "LEFT", "0"]),
            wrongtype
        );
        assert_eq!(t.cmd_on(c, &["BRPOPLPUSH", "s", "d", "0"]), wrongtype);
        assert_nothing_waits(&t);
    }

    #[test]
    fn nonempty_sorted_sets_pop_at_once() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.cmd_on(c, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
        let min = t.cmd_on(c, &["BZPOPMIN", "nope", "z", "0"]);
        assert_eq!(min, bulks(&["z", "a", "1"]));
        assert_eq!(
            t.cmd_on(c, &["BZPOPMAX", "z", "0"]),
            bulks(&["z", "d", "4"])
        );
        assert_eq!(
            t.cmd_on(c, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "1"]),
            arr(vec![bulk("z"), arr(vec![bulks(&["b", "2"])])])
        );
        t.cmd_on(c, &["HELLO", "3"]);
        assert_eq!(
            t.cmd_on(c, &["BZPOPMAX", "z", "0"]),
            arr(vec![bulk("z"), bulk("c"), Frame::Double("3".into())])
        );
        t.cmd_on(c, &["SET", "s", "x"]);
        let wrongtype =
            Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value");
        assert_eq!(t.cmd_on(c, &["BZPOPMIN", "nope", "s", "0"]), wrongtype);
        assert_eq!(t.cmd_on(c, &["BZMPOP", "0", "1", "s", "MAX"]), wrongtype);
        assert_nothing_waits(&t);
    }

    #[test]
    fn argument_errors_in_redis_order() {
        let mut t = TestServer::new();
        let c = t.connect();
        let not_float = Frame::err("ERR timeout is not a float or out of range");
        let negative = Frame::err("ERR timeout is negative");
        for bad in ["abc", "", " 1", "1 ", "nan", "1e99999", "0,5"] {
            assert_eq!(t.cmd_on(c, &["BLPOP", "k", bad]), not_float, "{bad:?}");
        }
        for neg in ["-1", "-0.002", "-0.0011", "inf", "-inf", "1e300", "1e16"] {
            assert_eq!(t.cmd_on(c, &["BRPOP", "k", neg]), negative, "{neg:?}");
        }
        // Redis takes ceill of the milliseconds: -0.001 s, a hair above -1 ms in
        // long double, is 0 and waits forever, like -0.
        for forever in ["-0.001", "-0", "-0.0000001", "0x0"] {
            let w = t.connect();
            block(&mut t, w, &["BLPOP", "k", forever]);
            assert_eq!(t.server.blocking.next_deadline(), None);
            t.disconnect(w);
        }
        assert_eq!(t.cmd_on(c, &["BZPOPMIN", "k", "x"]), not_float);
        assert_eq!(t.cmd_on(c, &["BZPOPMAX", "k", "-5"]), negative);
        assert_eq!(t.cmd_on(c, &["BRPOPLPUSH", "a", "b", "x"]), not_float);
        let syntax = Frame::err("ERR syntax error");
        // BLMOVE checks its directions before its timeout.
        assert_eq!(
            t.cmd_on(c, &["BLMOVE", "a", "b", "UP", "LEFT", "x"]),
            syntax
        );
        assert_eq!(
            t.cmd_on(c, &["BLMOVE", "a", "b", "LEFT", "UP", "x"]),
            syntax
        );
        assert_eq!(
            t.cmd_on(c, &["BLMOVE", "a", "b", "LEFT", "LEFT", "x"]),
            not_float
        );
        // BLMPOP and BZMPOP parse everything else before the timeout.
        let numkeys = Frame::err("ERR numkeys should be greater than 0");
        let count = Frame::err("ERR count should be greater than 0");
        assert_eq!(t.cmd_on(c, &["BLMPOP", "x", "0", "k", "LEFT"]), numkeys);
        assert_eq!(t.cmd_on(c, &["BLMPOP", "x", "1", "k", "UP"]), syntax);
        assert_eq!(t.cmd_on(c, &["BLMPOP", "x", "2", "k", "LEFT"]), syntax);
        assert_eq!(
            t.cmd_on(c, &["BLMPOP", "x", "1", "k", "LEFT", "COUNT", "0"]),
            count
        );
        assert_eq!(
            t.cmd_on(
                c,
                &["BLMPOP", "x", "1", "k", "LEFT", "COUNT", "1", "COUNT", "1"]
            ),
            syntax
        );
        assert_eq!(t.cmd_on(c, &["BLMPOP", "x", "1", "k", "LEFT"]), not_float);
        assert_eq!(t.cmd_on(c, &["BLMPOP", "-1", "1", "k", "LEFT"]), negative);
        assert_eq!(t.cmd_on(c, &["BZMPOP", "x", "-1", "k", "MIN"]), numkeys);
        assert_eq!(t.cmd_on(c, &["BZMPOP", "x", "1", "k", "LEFT"]), syntax);
        assert_eq!(
            t.cmd_on(c, &["BZMPOP", "x", "1", "k", "MIN", "COUNT", "-2"]),
            count
        );
        assert_eq!(t.cmd_on(c, &["BZMPOP", "x", "1", "k", "MAX"]), not_float);
        assert_eq!(
            t.cmd_on(c, &["BLPOP", "k"]),
            Frame::err("ERR wrong number of arguments for 'blpop' command")
        );
        assert_nothing_waits(&t);
    }

    #[test]
    fn a_push_serves_the_first_blocked_client_first() {
        let mut t = TestServer::new();
        let pusher = t.connect();
        let waiters: Vec<ConnId> = (0..3).map(|_| t.connect()).collect();
        for &w in &waiters {
            block(&mut t, w, &["BLPOP", "k", "0"]);
        }
        assert_eq!(t.server.blocking.waiting_for(0, b"k"), waiters);
        assert_eq!(t.cmd_on(pusher, &["RPUSH", "k", "a"]), int(1));
        assert_eq!(served(&mut t, waiters[0]), bulks(&["k", "a"]));
        assert_eq!(t.cmd_on(pusher, &["EXISTS", "k"]), int(0));
        assert_eq!(replies(&mut t, waiters[1]), vec![]);
        assert_eq!(t.server.blocking.waiting_for(0, b"k"), waiters[1..]);
        // More elements than waiters: each gets one, in order; the rest stays.
        assert_eq!(t.cmd_on(pusher, &["RPUSH", "k", "b", "c", "d"]), int(3));
        assert_eq!(served(&mut t, waiters[1]), bulks(&["k", "b"]));
        assert_eq!(served(&mut t, waiters[2]), bulks(&["k", "c"]));
        assert_eq!(t.cmd_on(pusher, &["LRANGE", "k", "0", "-1"]), bulks(&["d"]));
        assert_nothing_waits(&t);
    }

    #[test]
    fn served_pops_take_from_their_end() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (l, r, m) = (t.connect(), t.connect(), t.connect());
        block(&mut t, l, &["BLPOP", "k", "0"]);
        block(&mut t, r, &["BRPOP", "k", "0"]);
        block(&mut t, m, &["BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "2"]);
        t.cmd_on(p, &["RPUSH", "k", "1", "2", "3", "4", "5", "6"]);
        assert_eq!(served(&mut t, l), bulks(&["k", "1"]));
        assert_eq!(served(&mut t, r), bulks(&["k", "6"]));
        assert_eq!(served(&mut t, m), arr(vec![bulk("k"), bulks(&["5", "4"])]));
        assert_eq!(t.cmd_on(p, &["LRANGE", "k", "0", "-1"]), bulks(&["2", "3"]));
        // A BLMPOP COUNT larger than the list empties it and stops the round.
        let (m2, l2) = (t.connect(), t.connect());
        t.cmd_on(p, &["DEL", "k"]);
        block(
            &mut t,
            m2,
            &["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "10"],
        );
        block(&mut t, l2, &["BLPOP", "k", "0"]);
        t.cmd_on(p, &["RPUSH", "k", "x", "y"]);
        assert_eq!(served(&mut t, m2), arr(vec![bulk("k"), bulks(&["x", "y"])]));
        assert_eq!(replies(&mut t, l2), vec![]);
        assert!(t.server.blocking.is_blocked(l2));
    }

    #[test]
    fn a_client_on_several_keys_is_served_by_the_first_ready_and_leaves_the_others() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        block(&mut t, c, &["BLPOP", "a", "b", "a", "c", "5"]);
        assert_eq!(t.server.blocking.waited_keys(0), 3);
        assert_eq!(t.server.blocking.waiting_for(0, b"a"), vec![c]);
        assert_eq!(t.cmd_on(p, &["RPUSH", "b", "x"]), int(1));
        assert_eq!(served(&mut t, c), bulks(&["b", "x"]));
        assert_nothing_waits(&t);
        assert_eq!(t.cmd_on(p, &["RPUSH", "a", "y"]), int(1));
        assert_eq!(t.cmd_on(p, &["LLEN", "a"]), int(1));
    }

    #[test]
    fn blocked_clients_wait_in_their_own_database() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(c, &["SELECT", "3"]);
        block(&mut t, c, &["BLPOP", "k", "0"]);
        t.cmd_on(p, &["RPUSH", "k", "db0"]);
        assert_eq!(replies(&mut t, c), vec![]);
        t.cmd_on(p, &["SELECT", "3"]);
        t.cmd_on(p, &["RPUSH", "k", "db3"]);
        assert_eq!(served(&mut t, c), bulks(&["k", "db3"]));
        t.cmd_on(p, &["SELECT", "0"]);
        assert_eq!(t.cmd_on(p, &["LRANGE", "k", "0", "-1"]), bulks(&["db0"]));
        // Pushing to another database with MOVE serves there.
        block(&mut t, c, &["BLPOP", "k", "0"]);
        assert_eq!(t.cmd_on(p, &["MOVE", "k", "3"]), int(1));
        assert_eq!(served(&mut t, c), bulks(&["k", "db0"]));
        assert_nothing_waits(&t);
    }

    #[test]
    fn blmove_serves_and_its_push_serves_the_next_in_the_chain() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (m1, m2, last) = (t.connect(), t.connect(), t.connect());
        block(&mut t, m1, &["BLMOVE", "a", "b", "RIGHT", "LEFT", "0"]);
        block(&mut t, m2, &["BRPOPLPUSH", "b", "c", "0"]);
        block(&mut t, last, &["BLPOP", "c", "0"]);
        assert_eq!(t.cmd_on(p, &["LPUSH", "a", "v"]), int(1));
        assert_eq!(served(&mut t, m1), bulk("v"));
        assert_eq!(served(&mut t, m2), bulk("v"));
        assert_eq!(served(&mut t, last), bulks(&["c", "v"]));
        for k in ["a", "b", "c"] {
            assert_eq!(t.cmd_on(p, &["EXISTS", k]), int(0));
        }
        assert_nothing_waits(&t);
        // A move into its own source list keeps it, so the next waiter is served too.
        let (s1, s2) = (t.connect(), t.connect());
        block(&mut t, s1, &["BLMOVE", "r", "r", "LEFT", "RIGHT", "0"]);
        block(&mut t, s2, &["BLPOP", "r", "0"]);
        t.cmd_on(p, &["RPUSH", "r", "1", "2"]);
        assert_eq!(served(&mut t, s1), bulk("1"));
        assert_eq!(served(&mut t, s2), bulks(&["r", "2"]));
        assert_eq!(t.cmd_on(p, &["LRANGE", "r", "0", "-1"]), bulks(&["1"]));
    }

    #[test]
    fn blmove_to_a_wrong_type_destination_fails_when_served_and_keeps_the_element() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (m, l) = (t.connect(), t.connect());
        block(&mut t, m, &["BLMOVE", "src", "str", "LEFT", "LEFT", "0"]);
        block(&mut t, l, &["BLPOP", "src", "0"]);
        t.cmd_on(p, &["SET", "str", "x"]);
        t.cmd_on(p, &["RPUSH", "src", "e"]);
        assert_eq!(
            served(&mut t, m),
            Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
        assert_eq!(served(&mut t, l), bulks(&["src", "e"]));
        let stats = t.cmd_on(p, &["INFO", "commandstats"]).as_str();
        assert!(
            stats.contains(
                "cmdstat_blmove:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"
            ),
            "{stats}"
        );
        let errors = t.cmd_on(p, &["INFO", "errorstats"]).as_str();
        assert!(errors.contains("errorstat_WRONGTYPE:count=1"), "{errors}");
    }

    #[test]
    fn clients_waiting_for_the_other_type_are_skipped_and_stay_blocked() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (l, z, z2) = (t.connect(), t.connect(), t.connect());
        block(&mut t, l, &["BLPOP", "k", "0"]);
        block(&mut t, z, &["BZPOPMIN", "k", "0"]);
        block(&mut t, z2, &["BZMPOP", "0", "1", "k", "MAX", "COUNT", "5"]);
        assert_eq!(
            t.cmd_on(p, &["ZADD", "k", "1", "a", "2", "b", "3", "c"]),
            int(3)
        );
        assert_eq!(served(&mut t, z), bulks(&["k", "a", "1"]));
        assert_eq!(
            served(&mut t, z2),
            arr(vec![
                bulk("k"),
                arr(vec![bulks(&["c", "3"]), bulks(&["b", "2"])])
            ])
        );
        assert_eq!(replies(&mut t, l), vec![]);
        assert!(t.server.blocking.is_blocked(l));
        // A string never serves anyone.
        t.cmd_on(p, &["SET", "k", "v"]);
        assert!(t.server.blocking.is_blocked(l));
        t.cmd_on(p, &["DEL", "k"]);
        t.cmd_on(p, &["RPUSH", "k", "x"]);
        assert_eq!(served(&mut t, l), bulks(&["k", "x"]));
        assert_nothing_waits(&t);
    }

    #[test]
    fn every_way_of_creating_a_key_serves() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        let cases: &[(&[&str], &[&str], Frame)] = &[
            (
                &["RPUSH", "src", "r"],
                &["RENAME", "src", "k"],
                bulks(&["k", "r"]),
            ),
            (
                &["RPUSH", "src", "c"],
                &["COPY", "src", "k"],
                bulks(&["k", "c"]),
            ),
            (
                &["RPUSH", "src", "3", "1", "2"],
                &["SORT", "src", "STORE", "k"],
                bulks(&["k", "1"]),
            ),
            (
                &["RPUSH", "src", "m"],
                &["LMOVE", "src", "k", "LEFT", "LEFT"],
                bulks(&["k", "m"]),
            ),
            (&["SET", "x", "y"], &["LPUSH", "k", "p"], bulks(&["k", "p"])),
        ];
        for (setup, create, want) in cases {
            t.cmd_on(p, &["FLUSHALL"]);
            t.cmd_on(p, setup);
            block(&mut t, c, &["BLPOP", "k", "0"]);
            t.cmd_on(p, create);
            assert_eq!(served(&mut t, c), *want, "{create:?}");
        }
        let zcases: &[(&[&str], &[&str])] = &[
            (
                &["ZADD", "src", "1", "u"],
                &["ZUNIONSTORE", "k", "1", "src"],
            ),
            (
                &["ZADD", "src", "1", "u"],
                &["ZRANGESTORE", "k", "src", "0", "-1"],
            ),
            (&["ZADD", "src", "1", "u"], &["RENAME", "src", "k"]),
            (&["SET", "x", "y"], &["ZADD", "k", "1", "u"]),
        ];
        for (setup, create) in zcases {
            t.cmd_on(p, &["FLUSHALL"]);
            t.cmd_on(p, setup);
            block(&mut t, c, &["BZPOPMIN", "k", "0"]);
            t.cmd_on(p, create);
            assert_eq!(served(&mut t, c), bulks(&["k", "u", "1"]), "{create:?}");
        }
        assert_nothing_waits(&t);
    }

    #[test]
    fn swapdb_serves_keys_that_appear_in_a_waited_database() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (c0, c1) = (t.connect(), t.connect());
        t.cmd_on(c1, &["SELECT", "1"]);
        block(&mut t, c0, &["BLPOP", "k", "0"]);
        block(&mut t, c1, &["BZPOPMAX", "z", "0"]);
        t.cmd_on(p, &["SELECT", "1"]);
        t.cmd_on(p, &["RPUSH", "k", "from1"]);
        t.cmd_on(p, &["SELECT", "0"]);
        t.cmd_on(p, &["ZADD", "z", "7", "from0"]);
        assert_eq!(replies(&mut t, c0), vec![]);
        assert_eq!(t.cmd_on(p, &["SWAPDB", "0", "1"]), Frame::ok());
        assert_eq!(served(&mut t, c0), bulks(&["k", "from1"]));
        assert_eq!(served(&mut t, c1), bulks(&["z", "from0", "7"]));
        assert_nothing_waits(&t);
    }

    #[test]
    fn serving_happens_after_each_command_of_a_pipeline() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        block(&mut t, c, &["BLPOP", "k", "0"]);
        let mut batch = encode_command(&[b"RPUSH", b"k", b"a"]);
        batch.extend(encode_command(&[b"LLEN", b"k"]));
        t.send_raw(p, &batch);
        assert_eq!(replies(&mut t, p), vec![int(1), int(0)]);
        assert_eq!(served(&mut t, c), bulks(&["k", "a"]));
    }

    #[test]
    fn a_blocked_clients_pipeline_waits_and_then_runs() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        let mut batch = encode_command(&[b"BLPOP", b"k", b"0"]);
        batch.extend(encode_command(&[b"RPUSH", b"k", b"mine"]));
        batch.extend(encode_command(&[b"BLPOP", b"k", b"0"]));
        batch.extend(encode_command(&[b"PING"]));
        t.send_raw(c, &batch);
        assert_eq!(replies(&mut t, c), vec![]);
        // More input while blocked is buffered, not run.
        t.send_raw(c, &encode_command(&[b"ECHO", b"later"]));
        assert_eq!(replies(&mut t, c), vec![]);
        assert_eq!(t.cmd_on(p, &["LLEN", "k"]), int(0));
        t.cmd_on(p, &["RPUSH", "k", "first"]);
        assert_eq!(
            replies(&mut t, c),
            vec![
                bulks(&["k", "first"]),
                int(1),
                bulks(&["k", "mine"]),
                Frame::Simple("PONG".into()),
                bulk("later"),
            ]
        );
        assert_nothing_waits(&t);
    }

    #[test]
    fn timeouts_fire_on_the_monotonic_clock_with_millisecond_precision() {
        let mut t = TestServer::new();
        let c = t.connect();
        let start = t.now.mono;
        block(&mut t, c, &["BLPOP", "k", "1"]);
        assert_eq!(t.server.poll_timeout(), Some(start.add_ms(100)));
        assert_eq!(t.server.blocking.next_deadline(), Some(start.add_ms(1000)));
        t.advance_ms(999);
        assert_eq!(replies(&mut t, c), vec![]);
        assert_eq!(t.server.poll_timeout(), Some(start.add_ms(1000)));
        t.advance_ms(1);
        assert_eq!(served(&mut t, c), Frame::Null);
        assert_eq!(t.take_output(c), b"");
        // Fractions of a second round up to the millisecond.
        let start = t.now.mono;
        block(&mut t, c, &["BRPOP", "k", "0.0101"]);
        assert_eq!(t.server.blocking.next_deadline(), Some(start.add_ms(11)));
        t.advance_ms(10);
        assert!(t.server.blocking.is_blocked(c));
        t.advance_ms(1);
        assert_eq!(served(&mut t, c), Frame::Null);
        assert_nothing_waits(&t);
    }

    #[test]
    fn every_command_times_out_with_the_null_array_in_both_protocols() {
        let mut t = TestServer::new();
        let c = t.connect();
        let commands: &[&[&str]] = &[
            &["BLPOP", "k", "0.01"],
            &["BRPOP", "k", "0.01"],
            &["BLMPOP", "0.01", "1", "k", "LEFT"],
            &["BLMOVE", "k", "d", "LEFT", "LEFT", "0.01"],
            &["BRPOPLPUSH", "k", "d", "0.01"],
            &["BZPOPMIN", "k", "0.01"],
            &["BZPOPMAX", "k", "0.01"],
            &["BZMPOP", "0.01", "1", "k", "MIN"],
        ];
        for resp3 in [false, true] {
            if resp3 {
                t.cmd_on(c, &["HELLO", "3"]);
            }
            for cmd in commands {
                block(&mut t, c, cmd);
                t.advance_ms(10);
                let out = t.take_output(c);
                let want: &[u8] = if resp3 { b"_\r\n" } else { b"*-1\r\n" };
                assert_eq!(out, want, "{cmd:?}");
            }
        }
        assert_nothing_waits(&t);
    }

    #[test]
    fn wall_clock_jumps_neither_fire_nor_delay_timeouts() {
        let mut t = TestServer::new();
        let (a, b, p) = (t.connect(), t.connect(), t.connect());
        block(&mut t, a, &["BLPOP", "k", "2"]);
        block(&mut t, b, &["BZPOPMIN", "z", "0"]);
        t.jump_wall_ms(3_600_000);
        assert_eq!(t.cmd_on(p, &["PING"]), Frame::Simple("PONG".into()));
        t.advance_ms(1000);
        assert!(t.server.blocking.is_blocked(a));
        t.jump_wall_ms(-7_200_000);
        t.advance_ms(999);
        assert!(t.server.blocking.is_blocked(a));
        t.advance_ms(1);
        assert_eq!(served(&mut t, a), Frame::Null);
        // Timeout 0 waits forever, through any jump.
        t.jump_wall_ms(-24 * 3_600_000);
        t.advance_ms(3_600_000);
        t.jump_wall_ms(48 * 3_600_000);
        t.advance_ms(100);
        assert!(t.server.blocking.is_blocked(b));
        t.cmd_on(p, &["ZADD", "z", "1", "m"]);
        assert_eq!(served(&mut t, b), bulks(&["z", "m", "1"]));
    }

    #[test]
    fn deadlines_fire_in_order_and_a_passed_deadline_wins_over_a_late_push() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (slow, fast, never) = (t.connect(), t.connect(), t.connect());
        block(&mut t, slow, &["BLPOP", "k", "0.3"]);
        block(&mut t, fast, &["BLPOP", "k", "0.1"]);
        block(&mut t, never, &["BLPOP", "k", "0"]);
        assert_eq!(t.server.blocking.clients_in_timeout_table(), 2);
        t.advance_ms(100);
        assert_eq!(served(&mut t, fast), Frame::Null);
        assert!(t.server.blocking.is_blocked(slow));
        // The clock passes the next deadline without the timer running; the push
        // that arrives then finds that client already timed out.
        t.now.mono = t.now.mono.add_ms(250);
        t.cmd_on(p, &["RPUSH", "k", "v"]);
        assert_eq!(served(&mut t, slow), Frame::Null);
        assert_eq!(served(&mut t, never), bulks(&["k", "v"]));
        assert_nothing_waits(&t);
    }

    #[test]
    fn disconnected_and_killed_clients_leave_nothing_behind() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (gone, killed, stays) = (t.connect(), t.connect(), t.connect());
        block(&mut t, gone, &["BLPOP", "k", "x", "5"]);
        block(&mut t, killed, &["BZPOPMIN", "k", "10"]);
        block(&mut t, stays, &["BLPOP", "x", "0"]);
        t.disconnect(gone);
        send(&mut t, killed, &["CLIENT", "ID"]);
        assert_eq!(
            replies(&mut t, killed),
            vec![],
            "a blocked client runs nothing"
        );
        let killed_id = t.server.client(killed).unwrap().id.to_string();
        assert_eq!(t.cmd_on(p, &["CLIENT", "KILL", "ID", &killed_id]), int(1));
        assert!(t.closed.contains(&killed));
        assert_eq!(t.server.blocking.waiting_for(0, b"k"), vec![]);
        assert_eq!(t.server.blocking.waiting_for(0, b"x"), vec![stays]);
        assert_eq!(t.server.blocking.clients_in_timeout_table(), 0);
        t.cmd_on(p, &["RPUSH", "k", "kept"]);
        t.cmd_on(p, &["ZADD", "z", "1", "kept"]);
        assert_eq!(t.cmd_on(p, &["LLEN", "k"]), int(1));
        t.disconnect(stays);
        assert_nothing_waits(&t);
        // Time passing finds no stale deadline.
        t.advance_ms(20_000);
        assert_eq!(t.cmd_on(p, &["LLEN", "k"]), int(1));
    }

    #[test]
    fn client_unblock_ends_the_wait_with_a_timeout_or_an_error() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        let id = t.server.client(c).unwrap().id.to_string();
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", &id]), int(0));
        block(&mut t, c, &["BLPOP", "k", "0"]);
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", &id, "timeout"]), int(1));
        assert_eq!(served(&mut t, c), Frame::Null);
        block(&mut t, c, &["BLMOVE", "k", "d", "LEFT", "LEFT", "7"]);
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", &id, "ERROR"]), int(1));
        assert_eq!(
            served(&mut t, c),
            Frame::err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
        );
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", &id, "ERROR"]), int(0));
        assert_nothing_waits(&t);
        // Redis counts both as failed calls of the blocked command.
        let stats = t.cmd_on(p, &["INFO", "commandstats"]).as_str();
        assert!(
            stats.contains(
                "cmdstat_blpop:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"
            ),
            "{stats}"
        );
        assert!(
            stats.contains(
                "cmdstat_blmove:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"
            ),
            "{stats}"
        );
        let errors = t.cmd_on(p, &["INFO", "errorstats"]).as_str();
        assert!(errors.contains("errorstat_UNBLOCKED:count=1"), "{errors}");
        // Argument errors, the reason checked before the id.
        assert_eq!(
            t.cmd_on(p, &["CLIENT", "UNBLOCK", "x", "bad"]),
            Frame::err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        );
        assert_eq!(
            t.cmd_on(p, &["CLIENT", "UNBLOCK", "x"]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            t.cmd_on(p, &["CLIENT", "UNBLOCK", "1", "timeout", "x"]),
            Frame::err("ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.")
        );
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", "-1", "error"]), int(0));
    }

    #[test]
    fn client_unblock_timeout_in_resp3_is_the_null() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(c, &["HELLO", "3"]);
        let id = t.server.client(c).unwrap().id.to_string();
        block(&mut t, c, &["BZMPOP", "0", "1", "z", "MIN"]);
        assert_eq!(t.cmd_on(p, &["CLIENT", "UNBLOCK", &id]), int(1));
        assert_eq!(t.take_output(c), b"_\r\n");
    }

    #[test]
    fn client_list_and_info_show_blocked_clients() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (a, b) = (t.connect(), t.connect());
        assert_eq!(info_field(&mut t, p, "blocked_clients"), "0");
        block(&mut t, a, &["BLPOP", "k", "0"]);
        block(&mut t, b, &["BZPOPMIN", "z", "3"]);
        assert_eq!(info_field(&mut t, p, "blocked_clients"), "2");
        assert_eq!(info_field(&mut t, p, "clients_in_timeout_table"), "1");
        let list = t.cmd_on(p, &["CLIENT", "LIST"]).as_str();
        let line_of = |conn: ConnId, list: &str, t: &TestServer| {
            let id = format!("id={} ", t.server.client(conn).unwrap().id);
            list.lines()
                .find(|l| l.starts_with(&id))
                .unwrap()
                .to_string()
        };
        let la = line_of(a, &list, &t);
        assert!(la.contains(" flags=b "), "{la}");
        assert!(la.contains(" argv-mem=7 "), "{la}");
        assert!(la.contains(" cmd=blpop "), "{la}");
        assert!(line_of(p, &list, &t).contains(" flags=N "));
        // Served but not yet resumed: CLIENT_UNBLOCKED shows as `u` to a command
        // later in the same pipeline.
        let mut batch = encode_command(&[b"RPUSH", b"k", b"v"]);
        batch.extend(encode_command(&[b"CLIENT", b"LIST"]));
        t.send_raw(p, &batch);
        let r = replies(&mut t, p);
        let la = line_of(a, &r[1].as_str(), &t);
        assert!(la.contains(" flags=u "), "{la}");
        assert!(la.contains(" argv-mem=0 "), "{la}");
        assert_eq!(served(&mut t, a), bulks(&["k", "v"]));
        let list = t.cmd_on(p, &["CLIENT", "LIST"]).as_str();
        assert!(line_of(a, &list, &t).contains(" flags=N "));
        t.advance_ms(3000);
        assert_eq!(served(&mut t, b), Frame::Null);
        assert_eq!(info_field(&mut t, p, "blocked_clients"), "0");
        assert_eq!(info_field(&mut t, p, "clients_in_timeout_table"), "0");
    }

    #[test]
    fn the_idle_timeout_spares_blocked_clients() {
        let config = crate::Config {
            timeout_secs: 1,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        let (blocked, idle) = (t.connect(), t.connect());
        block(&mut t, blocked, &["BLPOP", "k", "0"]);
        for _ in 0..30 {
            t.advance_ms(100);
        }
        assert!(t.closed.contains(&idle));
        assert!(!t.closed.contains(&blocked));
        assert!(t.server.blocking.is_blocked(blocked));
    }

    #[test]
    fn client_reply_modes_apply_to_the_late_reply() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        send(&mut t, c, &["CLIENT", "REPLY", "SKIP"]);
        block(&mut t, c, &["BLPOP", "k", "0"]);
        t.cmd_on(p, &["RPUSH", "k", "a"]);
        assert_eq!(t.take_output(c), b"");
        assert_eq!(t.cmd_on(c, &["PING"]), Frame::Simple("PONG".into()));
        send(&mut t, c, &["CLIENT", "REPLY", "OFF"]);
        block(&mut t, c, &["BLPOP", "k", "0.5"]);
        t.advance_ms(500);
        assert!(!t.server.blocking.is_blocked(c));
        assert_eq!(t.take_output(c), b"");
        assert_eq!(t.cmd_on(c, &["CLIENT", "REPLY", "ON"]), Frame::ok());
    }

    #[test]
    fn served_commands_are_counted_and_slowlogged_with_their_arguments() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(p, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        t.cmd_on(p, &["SLOWLOG", "RESET"]);
        block(&mut t, c, &["BLPOP", "k", "0"]);
        // Blocking counts the call; SLOWLOG waits for the end.
        let stats = t.cmd_on(p, &["INFO", "commandstats"]).as_str();
        assert!(stats.contains("cmdstat_blpop:calls=1,"), "{stats}");
        t.cmd_on(p, &["RPUSH", "k", "v"]);
        served(&mut t, c);
        let Frame::Array(entries) = t.cmd_on(p, &["SLOWLOG", "GET"]) else {
            panic!("slowlog entries");
        };
        let argvs: Vec<Frame> = entries
            .iter()
            .map(|e| match e {
                Frame::Array(f) => f[3].clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(argvs[0], bulks(&["BLPOP", "k", "0"]));
        assert!(!argvs[1..].contains(&bulks(&["BLPOP", "k", "0"])));
        let stats = t.cmd_on(p, &["INFO", "commandstats"]).as_str();
        assert!(
            stats.contains(
                "cmdstat_blpop:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0"
            ),
            "{stats}"
        );
    }

    #[test]
    fn served_clients_leave_their_keys_like_the_plain_pops() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        block(&mut t, c, &["BZPOPMAX", "z", "0"]);
        t.cmd_on(p, &["ZADD", "z", "1", "only"]);
        assert_eq!(served(&mut t, c), bulks(&["z", "only", "1"]));
        assert_eq!(t.cmd_on(p, &["EXISTS", "z"]), int(0));
        block(&mut t, c, &["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "2"]);
        t.cmd_on(p, &["RPUSH", "l", "1", "2", "3"]);
        assert_eq!(served(&mut t, c), arr(vec![bulk("l"), bulks(&["1", "2"])]));
        assert_eq!(t.cmd_on(p, &["LRANGE", "l", "0", "-1"]), bulks(&["3"]));
        let dirty_before = t.server.dirty;
        block(&mut t, c, &["BLPOP", "m", "0"]);
        t.cmd_on(p, &["RPUSH", "m", "x"]);
        served(&mut t, c);
        assert_eq!(t.server.dirty, dirty_before + 2, "the push and the pop");
    }

    #[test]
    fn resp3_served_replies() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(c, &["HELLO", "3"]);
        block(&mut t, c, &["BZPOPMIN", "z", "0"]);
        t.cmd_on(p, &["ZADD", "z", "1.5", "a", "2", "b"]);
        assert_eq!(
            served(&mut t, c),
            arr(vec![bulk("z"), bulk("a"), Frame::Double("1.5".into())])
        );
        t.cmd_on(p, &["DEL", "z"]);
        block(&mut t, c, &["BZMPOP", "0", "1", "z", "MAX"]);
        send(&mut t, c, &["PING"]);
        t.cmd_on(p, &["ZADD", "z", "4", "d"]);
        let r = replies(&mut t, c);
        assert_eq!(
            r[0],
            arr(vec![
                bulk("z"),
                arr(vec![arr(vec![bulk("d"), Frame::Double("4".into())])])
            ])
        );
        assert_eq!(r[1], Frame::Simple("PONG".into()));
    }

    #[test]
    fn a_thousand_waiters_on_one_key_are_served_in_order() {
        let mut t = TestServer::new();
        let p = t.connect();
        let waiters: Vec<ConnId> = (0..1000).map(|_| t.connect()).collect();
        for (i, &w) in waiters.iter().enumerate() {
            let keys = format!("other{i}");
            block(&mut t, w, &["BRPOP", &keys, "k", "0"]);
        }
        assert_eq!(t.server.blocking.waited_keys(0), 1001);
        let elems: Vec<String> = (0..1500).map(|i| i.to_string()).collect();
        let mut push = vec!["LPUSH", "k"];
        push.extend(elems.iter().map(|s| s.as_str()));
        t.cmd_on(p, &push);
        for (i, &w) in waiters.iter().enumerate() {
            assert_eq!(served(&mut t, w), bulks(&["k", &i.to_string()]));
        }
        assert_eq!(t.cmd_on(p, &["LLEN", "k"]), int(500));
        assert_nothing_waits(&t);
    }

    #[test]
    fn inside_exec_blocking_commands_answer_at_once() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.cmd_on(c, &["RPUSH", "l", "a", "b"]);
        t.cmd_on(c, &["ZADD", "z", "1", "m"]);
        t.cmd_on(c, &["MULTI"]);
        let queued = [
            &["BLPOP", "nope", "0"][..],
            &["BRPOP", "nope", "l", "0"],
            &["BLMPOP", "0", "1", "nope", "LEFT"],
            &["BLMOVE", "nope", "d", "LEFT", "LEFT", "0"],
            &["BRPOPLPUSH", "nope", "d", "0"],
            &["BLMOVE", "l", "d", "LEFT", "LEFT", "0"],
            &["BZPOPMIN", "nope", "0"],
            &["BZMPOP", "0", "1", "nope", "MAX"],
            &["BZPOPMAX", "z", "0"],
            &["BLPOP", "nope", "x"],
        ];
        for q in queued {
            assert_eq!(t.cmd_on(c, q), Frame::Simple("QUEUED".into()));
        }
        assert_eq!(
            t.cmd_on(c, &["EXEC"]),
            arr(vec![
                Frame::Null,
                bulks(&["l", "b"]),
                Frame::Null,
                Frame::Null,
                Frame::Null,
                bulk("a"),
                Frame::Null,
                Frame::Null,
                bulks(&["z", "m", "1"]),
                Frame::err("ERR timeout is not a float or out of range"),
            ])
        );
        // Denied blocking answers the shapes of Redis: a null array for the pops, a
        // null bulk for BLMOVE and BRPOPLPUSH.
        t.cmd_on(c, &["MULTI"]);
        t.cmd_on(c, &["BLPOP", "nope", "0"]);
        t.cmd_on(c, &["BLMOVE", "nope", "d", "LEFT", "LEFT", "0"]);
        t.send_raw(c, &encode_command(&[b"EXEC"]));
        assert_eq!(t.take_output(c), b"*2\r\n*-1\r\n$-1\r\n");
        assert_nothing_waits(&t);
    }

    #[test]
    fn a_transaction_serves_after_exec_with_what_is_left() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (a, b) = (t.connect(), t.connect());
        block(&mut t, a, &["BLPOP", "k", "0"]);
        block(&mut t, b, &["BLPOP", "gone", "0"]);
        t.cmd_on(p, &["MULTI"]);
        t.cmd_on(p, &["RPUSH", "k", "1", "2"]);
        t.cmd_on(p, &["LPOP", "k"]);
        t.cmd_on(p, &["RPUSH", "gone", "x"]);
        t.cmd_on(p, &["DEL", "gone"]);
        assert_eq!(replies(&mut t, a), vec![]);
        assert_eq!(
            t.cmd_on(p, &["EXEC"]),
            arr(vec![int(2), bulk("1"), int(1), int(1)])
        );
        // Served after the whole EXEC: the element still there, not the first one.
        assert_eq!(served(&mut t, a), bulks(&["k", "2"]));
        // A key created and deleted inside the transaction serves nobody.
        assert_eq!(replies(&mut t, b), vec![]);
        assert!(t.server.blocking.is_blocked(b));
    }

    /// Keyspace events a subscriber received, as "event key".
    fn key_events(t: &mut TestServer, sub: ConnId) -> Vec<String> {
        replies(t, sub)
            .into_iter()
            .filter_map(|f| match f {
                Frame::Array(items) if items[0] == bulk("pmessage") => {
                    let channel = items[2].as_str();
                    let event = channel.strip_prefix("__keyevent@0__:")?.to_string();
                    Some(format!("{event} {}", items[3].as_str()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn serving_emits_the_events_of_the_plain_pops() {
        let mut t = TestServer::new();
        let p = t.connect();
        let sub = t.connect();
        t.cmd_on(p, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        t.cmd_on(sub, &["PSUBSCRIBE", "__keyevent@0__:*"]);
        let (l, m, z) = (t.connect(), t.connect(), t.connect());
        block(&mut t, l, &["BRPOP", "k", "0"]);
        t.cmd_on(p, &["RPUSH", "k", "v"]);
        served(&mut t, l);
        assert_eq!(key_events(&mut t, sub), ["rpush k", "rpop k", "del k"]);
        block(&mut t, m, &["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"]);
        t.cmd_on(p, &["LPUSH", "s", "a", "b"]);
        assert_eq!(served(&mut t, m), bulk("b"));
        assert_eq!(key_events(&mut t, sub), ["lpush s", "rpush d", "lpop s"]);
        block(&mut t, z, &["BZMPOP", "0", "1", "zz", "MAX", "COUNT", "9"]);
        t.cmd_on(p, &["ZADD", "zz", "1", "x"]);
        served(&mut t, z);
        assert_eq!(key_events(&mut t, sub), ["zadd zz", "zpopmax zz", "del zz"]);
        t.cmd_on(p, &["CONFIG", "SET", "notify-keyspace-events", "KEAn"]);
        block(&mut t, m, &["BLMOVE", "s2", "d2", "LEFT", "RIGHT", "0"]);
        t.cmd_on(p, &["LPUSH", "s2", "a"]);
        served(&mut t, m);
        assert_eq!(
            key_events(&mut t, sub),
            ["new s2", "lpush s2", "new d2", "rpush d2", "lpop s2", "del s2"]
        );
    }

    #[test]
    fn a_served_blmove_breaks_a_watch_on_its_destination() {
        let mut t = TestServer::new();
        let p = t.connect();
        let (w, c) = (t.connect(), t.connect());
        // Only the served client touches `d`: the push went to `s`.
        t.cmd_on(w, &["WATCH", "d"]);
        block(&mut t, c, &["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"]);
        t.cmd_on(w, &["MULTI"]);
        t.cmd_on(w, &["LLEN", "d"]);
        t.cmd_on(p, &["LPUSH", "s", "v"]);
        assert_eq!(served(&mut t, c), bulk("v"));
        assert_eq!(t.cmd_on(w, &["EXEC"]), Frame::Null);
        // Without a serve, the same transaction goes through.
        t.cmd_on(w, &["WATCH", "d"]);
        block(&mut t, c, &["BLMOVE", "s", "d", "LEFT", "RIGHT", "0"]);
        t.cmd_on(w, &["MULTI"]);
        t.cmd_on(w, &["LLEN", "d"]);
        t.cmd_on(p, &["LPUSH", "elsewhere", "v"]);
        assert_eq!(t.cmd_on(w, &["EXEC"]), arr(vec![int(1)]));
    }

    #[test]
    fn a_blocked_resp3_subscriber_still_receives_its_messages() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(c, &["HELLO", "3"]);
        t.cmd_on(c, &["SUBSCRIBE", "ch"]);
        block(&mut t, c, &["BLPOP", "k", "0"]);
        assert_eq!(t.cmd_on(p, &["PUBLISH", "ch", "m"]), int(1));
        assert_eq!(
            t.take_output(c),
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n"
        );
        assert!(t.server.blocking.is_blocked(c));
        t.cmd_on(p, &["RPUSH", "k", "v"]);
        assert_eq!(served(&mut t, c), bulks(&["k", "v"]));
    }

    #[test]
    fn a_deadline_passed_when_a_write_completes_still_replies() {
        let mut t = TestServer::new();
        let (c, other) = (t.connect(), t.connect());
        t.stall(other);
        assert_eq!(t.cmd_on(other, &["PING"]), Frame::Simple("PONG".into()));
        block(&mut t, c, &["BLPOP", "k", "0.1"]);
        // Time passes without the timer; the next input is a completed write.
        t.now.mono = t.now.mono.add_ms(150);
        t.unstall(other);
        assert_eq!(t.take_output(c), b"*-1\r\n");
        assert_nothing_waits(&t);
    }

    #[test]
    fn a_served_reply_over_the_output_limit_closes_the_client() {
        let mut t = TestServer::new();
        let p = t.connect();
        let c = t.connect();
        t.cmd_on(
            p,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 1mb 0 0",
            ],
        );
        t.stall(c);
        block(
            &mut t,
            c,
            &["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "100000"],
        );
        let big = "x".repeat(100);
        let mut push = vec!["RPUSH", "k"];
        push.extend(std::iter::repeat_n(big.as_str(), 20_000));
        t.cmd_on(p, &push);
        assert!(t.closed.contains(&c));
        assert_eq!(t.cmd_on(p, &["EXISTS", "k"]), int(0));
        assert_nothing_waits(&t);
    }
}
