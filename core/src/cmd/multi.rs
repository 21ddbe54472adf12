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

#[cfg(test)]
mod tests {
    use crate::io::ConnId;
    use crate::testing::{Frame, TestServer};

    fn queued() -> Frame {
        Frame::Simple("QUEUED".into())
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    fn debug_server() -> TestServer {
        TestServer::with_config(crate::Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        })
    }

    fn client_line(t: &mut TestServer, conn: ConnId) -> String {
        t.cmd_on(conn, &["CLIENT", "INFO"]).as_str()
    }

    fn field<'a>(line: &'a str, name: &str) -> &'a str {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    }

    #[test]
    fn exec_replies_with_every_command_reply() {
        let mut t = TestServer::new();
        let c = t.connect();
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["SET", "k", "1"]), queued());
        assert_eq!(t.cmd_on(c, &["INCR", "k"]), queued());
        assert_eq!(t.cmd_on(c, &["GET", "nope"]), queued());
        assert_eq!(t.cmd_on(c, &["LPUSH", "k", "x"]), queued());
        assert_eq!(t.cmd_on(c, &["GET", "k"]), queued());
        // A runtime error does not stop the commands after it.
        assert_eq!(
            t.cmd_on(c, &["EXEC"]),
            Frame::Array(vec![
                Frame::ok(),
                int(2),
                Frame::Null,
                Frame::err("WRONGTYPE Operation against a key holding the wrong kind of value"),
                Frame::bulk("2"),
            ])
        );
        // Nothing was run before EXEC, and the transaction is over after it.
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::err("ERR EXEC without MULTI"));
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![]));
    }

    #[test]
    fn raw_bytes_in_both_protocols() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.send_raw(c, b"MULTI\r\nSET k v\r\nGET k\r\nHGETALL nope\r\nEXEC\r\n");
        assert_eq!(
            t.take_output(c),
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n$1\r\nv\r\n*0\r\n"
        );
        t.cmd_on(c, &["HELLO", "3"]);
        t.send_raw(c, b"MULTI\r\nGET nope\r\nHGETALL nope\r\nEXEC\r\n");
        assert_eq!(
            t.take_output(c),
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n_\r\n%0\r\n"
        );
        // A failed WATCH is a null array: `*-1` in RESP2, `_` in RESP3.
        t.send_raw(c, b"WATCH k\r\nSET k w\r\nMULTI\r\nPING\r\nEXEC\r\n");
        assert_eq!(t.take_output(c), b"+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n_\r\n");
        t.cmd_on(c, &["HELLO", "2"]);
        t.send_raw(c, b"WATCH k\r\nSET k w\r\nMULTI\r\nPING\r\nEXEC\r\n");
        assert_eq!(t.take_output(c), b"+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n");
    }

    #[test]
    fn misuse_errors() {
        let mut t = TestServer::new();
        let c = t.connect();
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::err("ERR EXEC without MULTI"));
        assert_eq!(
            t.cmd_on(c, &["DISCARD"]),
            Frame::err("ERR DISCARD without MULTI")
        );
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(
            t.cmd_on(c, &["MULTI"]),
            Frame::err("ERR MULTI calls can not be nested")
        );
        assert_eq!(
            t.cmd_on(c, &["WATCH", "k"]),
            Frame::err("ERR WATCH inside MULTI is not allowed")
        );
        // Errors of MULTI and WATCH themselves do not doom the transaction.
        assert_eq!(t.cmd_on(c, &["SET", "k", "1"]), queued());
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![Frame::ok()]));
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["SET", "k", "2"]), queued());
        assert_eq!(t.cmd_on(c, &["DISCARD"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["GET", "k"]), Frame::bulk("1"));
        // UNWATCH is queued like any command.
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["UNWATCH"]), queued());
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![Frame::ok()]));
    }

    #[test]
    fn refused_commands_abort_exec() {
        let mut t = TestServer::new();
        let c = t.connect();
        let abort = Frame::err("EXECABORT Transaction discarded because of previous errors.");
        for bad in [
            &["NOSUCH", "x"][..],
            &["GET"],
            &["CONFIG", "NOSUCH"],
            &["SHUTDOWN"],
        ] {
            assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
            assert_eq!(t.cmd_on(c, &["SET", "k", "v"]), queued());
            let refused = t.cmd_on(c, bad);
            assert!(matches!(refused, Frame::Error(_)), "{bad:?}: {refused:?}");
            // Queuing goes on after the refusal, but nothing will run.
            assert_eq!(t.cmd_on(c, &["INCR", "n"]), queued());
            assert_eq!(t.cmd_on(c, &["EXEC"]), abort, "{bad:?}");
            assert_eq!(t.cmd_on(c, &["EXISTS", "k", "n"]), int(0));
        }
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(
            t.cmd_on(c, &["SHUTDOWN"]),
            Frame::err("ERR Command not allowed inside a transaction")
        );
        assert_eq!(t.cmd_on(c, &["DISCARD"]), Frame::ok());
        // A refused EXEC aborts with its own reason.
        assert_eq!(t.cmd_on(c, &["MULTI"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["SET", "k", "v"]), queued());
        assert_eq!(
            t.cmd_on(c, &["EXEC", "now"]),
            Frame::err("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
        );
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::err("ERR EXEC without MULTI"));
        assert_eq!(t.cmd_on(c, &["EXISTS", "k"]), int(0));
    }

    #[test]
    fn commandstats_and_errorstats_as_redis_counts_them() {
        let mut t = TestServer::new();
        let c = t.connect();
        t.cmd_on(c, &["SET", "s", "x"]);
        t.cmd_on(c, &["MULTI"]);
        t.cmd_on(c, &["INCR", "s"]);
        t.cmd_on(c, &["GET", "s"]);
        t.cmd_on(c, &["EXEC"]);
        let st = &t.server.stats;
        assert_eq!(st.commands["incr"].calls, 1);
        assert_eq!(st.commands["incr"].failed_calls, 1);
        assert_eq!(st.commands["get"].calls, 1);
        // The error belongs to INCR, not to EXEC.
        assert_eq!(st.commands["exec"].calls, 1);
        assert_eq!(st.commands["exec"].failed_calls, 0);
        assert_eq!(st.errors["ERR"], 1);
        t.cmd_on(c, &["MULTI"]);
        t.cmd_on(c, &["GET"]);
        t.cmd_on(c, &["NOSUCH"]);
        t.cmd_on(c, &["EXEC"]);
        let st = &t.server.stats;
        assert_eq!(st.commands["get"].rejected_calls, 1);
        assert_eq!(
            st.commands["get"].calls, 1,
            "a refused command is not called"
        );
        assert_eq!(st.commands["exec"].calls, 2);
        assert_eq!(st.commands["exec"].failed_calls, 1);
        assert_eq!(st.errors["ERR"], 3);
        assert_eq!(st.errors["EXECABORT"], 1);
        t.cmd_on(c, &["MULTI"]);
        t.cmd_on(c, &["EXEC", "x"]);
        assert_eq!(t.server.stats.commands["exec"].rejected_calls, 1);
        assert_eq!(t.server.stats.errors["EXECABORT"], 2);
        assert_eq!(t.server.stats.errors["ERR"], 3);
        // MULTI, the three queued commands and EXEC each count as processed once.
        assert_eq!(t.server.stats.commands["multi"].calls, 3);
    }

    #[test]
    fn queued_select_moves_the_client_and_exec_runs_after_other_clients() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["INCR", "n"]);
        t.cmd_on(a, &["SELECT", "5"]);
        t.cmd_on(a, &["INCR", "n"]);
        // Another client interleaves before EXEC; nothing queued has run yet.
        assert_eq!(t.cmd_on(b, &["INCR", "n"]), int(1));
        assert_eq!(
            t.cmd_on(a, &["EXEC"]),
            Frame::Array(vec![int(2), Frame::ok(), int(1)])
        );
        assert_eq!(t.cmd_on(a, &["GET", "n"]), Frame::bulk("1"));
        assert_eq!(field(&client_line(&mut t, a), "db"), "5");
        // A whole pipelined transaction runs without anything in between.
        let mut both = crate::testing::encode_command(&[b"MULTI"]);
        for _ in 0..3 {
            both.extend(crate::testing::encode_command(&[b"INCR", b"m"]));
        }
        both.extend(crate::testing::encode_command(&[b"EXEC"]));
        t.send_raw(b, &both);
        assert_eq!(
            t.take_output(b),
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n:2\r\n:3\r\n"
        );
    }

    #[test]
    fn client_list_shows_multi_and_dirty_cas() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        let line = client_line(&mut t, a);
        assert_eq!(field(&line, "flags"), "N");
        assert_eq!(field(&line, "multi"), "-1");
        assert_eq!(field(&line, "multi-mem"), "0");
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SET", "k", "1"]);
        t.cmd_on(a, &["MULTI"]);
        // A doomed transaction keeps no commands.
        t.cmd_on(a, &["SET", "x", "y"]);
        let line = t.cmd_on(b, &["CLIENT", "LIST", "ID", "1"]).as_str();
        assert_eq!(field(&line, "flags"), "xd");
        assert_eq!(field(&line, "multi"), "0");
        t.cmd_on(a, &["DISCARD"]);
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["SET", "x", "yy"]);
        t.cmd_on(a, &["PING"]);
        let line = t.cmd_on(b, &["CLIENT", "LIST", "ID", "1"]).as_str();
        assert_eq!(field(&line, "flags"), "x");
        assert_eq!(field(&line, "multi"), "2");
        // Argument bytes plus a pointer per argument, as Redis's argv_len_sums.
        assert_eq!(field(&line, "multi-mem"), (6 + 3 * 8 + 4 + 8).to_string());
        // Inside EXEC the client is still in MULTI; afterwards cmd= shows exec.
        t.cmd_on(a, &["CLIENT", "INFO"]);
        let Frame::Array(replies) = t.cmd_on(a, &["EXEC"]) else {
            panic!("EXEC replies with an array")
        };
        let inner = replies[2].as_str();
        assert_eq!(field(&inner, "flags"), "x");
        assert_eq!(field(&inner, "multi"), "3");
        assert_eq!(field(&inner, "cmd"), "exec");
        // The arguments in use are EXEC's own, as Redis's argv_len_sum.
        assert_eq!(field(&inner, "argv-mem"), "4");
        let line = client_line(&mut t, a);
        assert_eq!(field(&line, "flags"), "N");
        assert_eq!(field(&line, "multi"), "-1");
    }

    #[test]
    fn reset_and_disconnect_end_the_transaction() {
        let mut t = TestServer::new();
        let a = t.connect();
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["SET", "k", "v"]);
        assert_eq!(t.cmd_on(a, &["RESET"]), Frame::Simple("RESET".into()));
        assert!(t.server.watched_keys[0].is_empty());
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::err("ERR EXEC without MULTI"));
        assert_eq!(t.cmd_on(a, &["EXISTS", "k"]), int(0));
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(a, &["MULTI"]);
        t.disconnect(a);
        assert!(t.server.watched_keys[0].is_empty());
        // QUIT inside MULTI runs at once.
        let b = t.connect();
        t.cmd_on(b, &["MULTI"]);
        assert_eq!(t.cmd_on(b, &["QUIT"]), Frame::ok());
        assert!(t.closed.contains(&b));
    }

    /// Records whether it may block in the client's name.
    fn report_deny_blocking(srv: &mut crate::Server, ctx: &mut crate::command::Ctx<'_>) {
        let seen: &[u8] = if ctx.deny_blocking {
            b"denied"
        } else {
            b"allowed"
        };
        srv.client_mut(ctx.conn).expect("running client").name = Some(seen.to_vec());
        ctx.reply.ok();
    }

    #[test]
    fn exec_denies_blocking_to_its_commands() {
        let mut t = TestServer::new();
        let c = t.connect();
        let crate::command::Lookup::Found(ping) = t.server.commands.lookup(b"ping", None) else {
            panic!("PING exists")
        };
        let probe = crate::command::table::Entry {
            handler: Some(report_deny_blocking),
            ..ping
        };
        let (data, spans) = (b"PING", [(0, 4)]);
        let args = crate::resp::Args::new(data, &spans);
        let mut reply = crate::resp::ReplyBuf::new(false);
        t.server.call(c, probe, args, &mut reply, false);
        assert_eq!(t.server.clients[&c].name.as_deref(), Some(&b"allowed"[..]));
        // The same handler queued in a transaction sees the flag set by EXEC.
        t.cmd_on(c, &["MULTI"]);
        let multi = t
            .server
            .clients
            .get_mut(&c)
            .unwrap()
            .multi
            .as_mut()
            .unwrap();
        multi.commands.push(crate::client::Queued::new(probe, args));
        multi.count += 1;
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![Frame::ok()]));
        assert_eq!(t.server.clients[&c].name.as_deref(), Some(&b"denied"[..]));
    }

    /// WATCH `key` on one client, let another run `setup` before and `cmd` after the
    /// WATCH, then EXEC: did `cmd` invalidate the watch?
    fn invalidates(setup: &[&[&str]], key: &str, cmd: &[&str]) -> bool {
        let mut t = debug_server();
        let watcher = t.connect();
        let other = t.connect();
        for c in setup {
            t.cmd_on(other, c);
        }
        t.cmd_on(watcher, &["WATCH", key]);
        t.cmd_on(other, cmd);
        t.cmd_on(watcher, &["MULTI"]);
        t.cmd_on(watcher, &["PING"]);
        match t.cmd_on(watcher, &["EXEC"]) {
            Frame::Null => true,
            Frame::Array(r) if r == vec![Frame::Simple("PONG".into())] => false,
            other => panic!("EXEC after {cmd:?}: {other:?}"),
        }
    }

    /// Commands run before the WATCH, the command run after it, and whether it must
    /// invalidate the watch.
    type Row<'a> = (&'a [&'a [&'a str]], &'a [&'a str], bool);

    #[test]
    fn every_write_invalidates_watchers_and_no_op_writes_do_not() {
        let s: &[&[&str]] = &[&["SET", "k", "1"]];
        let ttl: &[&[&str]] = &[&["SET", "k", "1", "EX", "100"]];
        let h: &[&[&str]] = &[&["HSET", "k", "f", "1"]];
        let l: &[&[&str]] = &[&["RPUSH", "k", "a", "b", "c"]];
        let st: &[&[&str]] = &[&["SADD", "k", "a", "b"]];
        let z: &[&[&str]] = &[&["ZADD", "k", "1", "a", "2", "b"]];
        let other: &[&[&str]] = &[
            &["SET", "o", "1"],
            &["RPUSH", "ol", "x"],
            &["SADD", "os", "x"],
        ];
        let none: &[&[&str]] = &[];
        #[rustfmt::skip]
        let rows: &[Row<'_>] = &[
            // strings
            (none, &["SET", "k", "v"], true),
            (s, &["SET", "k", "1"], true),
            (s, &["SET", "k", "v", "NX"], false),
            (none, &["SET", "k", "v", "XX"], false),
            (none, &["SETNX", "k", "v"], true),
            (s, &["SETNX", "k", "v"], false),
            (none, &["SETEX", "k", "10", "v"], true),
            (none, &["PSETEX", "k", "10", "v"], true),
            (s, &["GETEX", "k", "EX", "10"], true),
            (ttl, &["GETEX", "k", "PERSIST"], true),
            (s, &["GETEX", "k", "PERSIST"], false),
            (s, &["GETEX", "k"], false),
            (s, &["GETDEL", "k"], true),
            (none, &["GETDEL", "k"], false),
            (s, &["GETSET", "k", "2"], true),
            (none, &["MSET", "a", "1", "k", "2"], true),
            (s, &["MSETNX", "a", "1", "k", "2"], false),
            (none, &["MSETNX", "a", "1", "k", "2"], true),
            (s, &["APPEND", "k", "x"], true),
            (s, &["SETRANGE", "k", "0", "x"], true),
            (s, &["SETRANGE", "k", "0", ""], false),
            (s, &["INCR", "k"], true),
            (s, &["DECR", "k"], true),
            (s, &["INCRBY", "k", "2"], true),
            (s, &["DECRBY", "k", "2"], true),
            (s, &["INCRBYFLOAT", "k", "2.5"], true),
            (&[&["SET", "k", "x"]], &["INCR", "k"], false),
            (s, &["GET", "k"], false),
            (s, &["STRLEN", "k"], false),
            (none, &["SET", "other", "v"], false),
            // keyspace
            (s, &["DEL", "k"], true),
            (none, &["DEL", "k"], false),
            (s, &["UNLINK", "k"], true),
            (s, &["EXPIRE", "k", "100"], true),
            (s, &["PEXPIRE", "k", "100000"], true),
            (s, &["EXPIREAT", "k", "1"], true),
            (s, &["PEXPIREAT", "k", "99999999999999"], true),
            (s, &["EXPIRE", "k", "100", "XX"], false),
            (none, &["EXPIRE", "k", "100"], false),
            (ttl, &["PERSIST", "k"], true),
            (s, &["PERSIST", "k"], false),
            (s, &["RENAME", "k", "x"], true),
            (other, &["RENAME", "o", "k"], true),
            (&[&["SET", "k", "1"], &["SET", "o", "1"]], &["RENAMENX", "o", "k"], false),
            (other, &["RENAMENX", "o", "k"], true),
            (other, &["COPY", "o", "k"], true),
            (s, &["COPY", "k", "x"], false),
            (&[&["SET", "k", "1"], &["SET", "o", "1"]], &["COPY", "o", "k"], false),
            (&[&["SET", "k", "1"], &["SET", "o", "1"]], &["COPY", "o", "k", "REPLACE"], true),
            (s, &["MOVE", "k", "1"], true),
            (s, &["TOUCH", "k"], false),
            (s, &["TYPE", "k"], false),
            (s, &["OBJECT", "ENCODING", "k"], false),
            (s, &["FLUSHDB"], true),
            (none, &["FLUSHDB"], false),
            (other, &["FLUSHALL"], false),
            (s, &["FLUSHALL"], true),
            (s, &["SWAPDB", "0", "1"], true),
            (other, &["SWAPDB", "0", "1"], false),
            (s, &["SWAPDB", "0", "0"], false),
            (s, &["DEBUG", "POPULATE", "1", "k"], false),
            (none, &["DEBUG", "POPULATE", "1", "k"], false),
            // hashes
            (none, &["HSET", "k", "f", "v"], true),
            (h, &["HSET", "k", "f", "1"], true),
            (h, &["HMSET", "k", "g", "1"], true),
            (h, &["HSETNX", "k", "f", "2"], false),
            (h, &["HSETNX", "k", "g", "2"], true),
            (h, &["HDEL", "k", "g"], false),
            (h, &["HDEL", "k", "f"], true),
            (h, &["HINCRBY", "k", "f", "1"], true),
            (h, &["HINCRBYFLOAT", "k", "f", "1.5"], true),
            (h, &["HGETALL", "k"], false),
            // lists
            (none, &["LPUSH", "k", "a"], true),
            (l, &["RPUSH", "k", "a"], true),
            (none, &["LPUSHX", "k", "a"], false),
            (l, &["RPUSHX", "k", "a"], true),
            (l, &["LINSERT", "k", "AFTER", "a", "x"], true),
            (l, &["LINSERT", "k", "AFTER", "z", "x"], false),
            (l, &["LSET", "k", "0", "x"], true),
            (l, &["LREM", "k", "0", "z"], false),
            (l, &["LREM", "k", "1", "a"], true),
            (l, &["LTRIM", "k", "0", "-1"], true),
            (none, &["LTRIM", "k", "0", "-1"], false),
            (l, &["LPOP", "k"], true),
            (l, &["RPOP", "k", "2"], true),
            (l, &["LPOP", "k", "0"], false),
            (l, &["LMPOP", "1", "k", "LEFT"], true),
            (l, &["LMOVE", "k", "x", "LEFT", "RIGHT"], true),
            (other, &["LMOVE", "ol", "k", "LEFT", "RIGHT"], true),
            (other, &["RPOPLPUSH", "ol", "k"], true),
            (l, &["LRANGE", "k", "0", "-1"], false),
            // sets
            (none, &["SADD", "k", "a"], true),
            (st, &["SADD", "k", "a"], false),
            (st, &["SREM", "k", "z"], false),
            (st, &["SREM", "k", "a"], true),
            (st, &["SPOP", "k"], true),
            (st, &["SPOP", "k", "1"], true),
            (st, &["SPOP", "k", "0"], false),
            (st, &["SMOVE", "k", "x", "a"], true),
            (other, &["SMOVE", "os", "k", "x"], true),
            (&[&["SADD", "k", "x"], &["SADD", "os", "x"]], &["SMOVE", "os", "k", "x"], false),
            (other, &["SINTERSTORE", "k", "os"], true),
            (other, &["SUNIONSTORE", "k", "os"], true),
            (other, &["SDIFFSTORE", "k", "os"], true),
            (none, &["SINTERSTORE", "k", "os"], false),
            (st, &["SINTERSTORE", "k", "nope"], true),
            (st, &["SMEMBERS", "k"], false),
            // sorted sets
            (none, &["ZADD", "k", "1", "a"], true),
            (z, &["ZADD", "k", "1", "a"], false),
            (z, &["ZADD", "k", "3", "a"], true),
            (z, &["ZINCRBY", "k", "1", "a"], true),
            (z, &["ZREM", "k", "x"], false),
            (z, &["ZREM", "k", "a"], true),
            (z, &["ZREMRANGEBYRANK", "k", "0", "0"], true),
            (z, &["ZREMRANGEBYSCORE", "k", "5", "9"], false),
            (z, &["ZREMRANGEBYLEX", "k", "-", "+"], true),
            (z, &["ZPOPMIN", "k"], true),
            (z, &["ZPOPMAX", "k", "1"], true),
            (z, &["ZMPOP", "1", "k", "MAX"], true),
            (z, &["ZUNIONSTORE", "k", "1", "k"], true),
            (z, &["ZINTERSTORE", "k", "1", "nope"], true),
            (z, &["ZDIFFSTORE", "k", "1", "k"], true),
            (z, &["ZRANGESTORE", "k", "k", "0", "0"], true),
            (none, &["ZRANGESTORE", "k", "nope", "0", "0"], false),
            (z, &["ZRANGE", "k", "0", "-1"], false),
            // sort
            (other, &["SORT", "ol", "ALPHA", "STORE", "k"], true),
            (s, &["SORT", "nope", "STORE", "k"], true),
            (none, &["SORT", "nope", "STORE", "k"], false),
            (l, &["SORT", "k", "ALPHA"], false),
        ];
        let mut failures = Vec::new();
        for (setup, cmd, want) in rows {
            if invalidates(setup, "k", cmd) != *want {
                failures.push(format!(
                    "{cmd:?} after {setup:?}: expected invalidation {want}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn watch_and_expiry() {
        let mut t = debug_server();
        let c = t.connect();
        t.cmd_on(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        // A key that expires between WATCH and EXEC fails the EXEC, even though
        // nothing deleted it yet (isWatchedKeyExpired).
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.cmd_on(c, &["WATCH", "k"]);
        t.jump_wall_ms(100);
        assert_eq!(t.server.dbs[0].len(), 1);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Null);
        // Lazily expired between WATCH and EXEC: the expiry is the modification.
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.cmd_on(c, &["WATCH", "k"]);
        t.jump_wall_ms(100);
        assert_eq!(t.cmd_on(c, &["GET", "k"]), Frame::Null);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Null);
        // Already expired when watched: deleting it changes nothing logically.
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.jump_wall_ms(100);
        t.cmd_on(c, &["WATCH", "k"]);
        assert_eq!(t.cmd_on(c, &["EXISTS", "k"]), int(0));
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![]));
        // ... and FLUSHDB of it neither, but creating it again does.
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.jump_wall_ms(100);
        t.cmd_on(c, &["WATCH", "k"]);
        t.cmd_on(c, &["FLUSHDB"]);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Array(vec![]));
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.jump_wall_ms(100);
        t.cmd_on(c, &["WATCH", "k"]);
        t.cmd_on(c, &["SET", "k", "2"]);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Null);
        // The active cycle's expiry invalidates as well.
        t.cmd_on(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        t.cmd_on(c, &["SET", "k", "1", "PX", "50"]);
        t.cmd_on(c, &["WATCH", "k"]);
        for _ in 0..20 {
            t.advance_ms(100);
        }
        assert_eq!(t.server.dbs[0].len(), 0);
        assert!(t.server.clients[&c].dirty_cas);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Null);
    }

    #[test]
    fn swapdb_invalidates_keys_on_either_side() {
        let mut t = debug_server();
        let a = t.connect();
        let b = t.connect();
        // The key only exists in the other database: the swap brings it in.
        t.cmd_on(b, &["SELECT", "1"]);
        t.cmd_on(b, &["SET", "k", "1"]);
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SWAPDB", "0", "1"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Null);
        // A watcher in the database the key leaves fails too.
        t.cmd_on(a, &["SELECT", "1"]);
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SWAPDB", "0", "1"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Null);
        // A missing key replaced by an expired one: still missing, EXEC runs.
        t.cmd_on(a, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        t.cmd_on(a, &["FLUSHALL"]);
        t.cmd_on(b, &["SET", "k", "1", "PX", "10"]);
        t.jump_wall_ms(50);
        t.cmd_on(a, &["SELECT", "0"]);
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SWAPDB", "0", "1"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
        // Watches in other databases are untouched by FLUSHDB.
        t.cmd_on(a, &["SET", "k", "1"]);
        t.cmd_on(b, &["SET", "k", "1"]);
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["FLUSHDB"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
    }

    #[test]
    fn watch_details() {
        let mut t = TestServer::new();
        let a = t.connect();
        let b = t.connect();
        // Own writes count; UNWATCH forgets both the keys and the dirt.
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(a, &["SET", "k", "1"]);
        t.cmd_on(a, &["UNWATCH"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
        // EXEC and DISCARD unwatch.
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["EXEC"]);
        t.cmd_on(b, &["SET", "k", "2"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["DISCARD"]);
        t.cmd_on(b, &["SET", "k", "3"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
        // A key is watched per database.
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SELECT", "2"]);
        t.cmd_on(b, &["SET", "k", "x"]);
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Array(vec![]));
        // Several watchers of one key all fail; a client watching many keys fails on
        // any of them; a touch during MULTI fails the EXEC too.
        let c = t.connect();
        t.cmd_on(a, &["WATCH", "x", "k", "y"]);
        t.cmd_on(c, &["WATCH", "k"]);
        t.cmd_on(a, &["MULTI"]);
        t.cmd_on(a, &["PING"]);
        t.cmd_on(b, &["SELECT", "0"]);
        t.cmd_on(b, &["DEL", "k"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Null);
        t.cmd_on(c, &["MULTI"]);
        assert_eq!(t.cmd_on(c, &["EXEC"]), Frame::Null);
        // WATCH while already dirty is a no-op that still answers OK.
        t.cmd_on(a, &["WATCH", "k"]);
        t.cmd_on(b, &["SET", "k", "1"]);
        assert_eq!(t.cmd_on(a, &["WATCH", "other"]), Frame::ok());
        assert!(t.server.clients[&a].watched.is_empty());
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Null);
        // Watching thousands of keys and touching the last works.
        let keys: Vec<String> = (0..5000).map(|i| format!("key:{i}")).collect();
        let mut watch = vec!["WATCH"];
        watch.extend(keys.iter().map(|k| k.as_str()));
        t.cmd_on(a, &watch);
        assert_eq!(t.server.watched_keys[0].len(), 5000);
        t.cmd_on(b, &["SET", "key:4999", "v"]);
        assert!(t.server.watched_keys[0].is_empty());
        t.cmd_on(a, &["MULTI"]);
        assert_eq!(t.cmd_on(a, &["EXEC"]), Frame::Null);
    }

    #[test]
    fn optimistic_increments_from_interleaved_clients_never_lose_an_update() {
        let mut t = TestServer::new();
        let clients: Vec<ConnId> = (0..4).map(|_| t.connect()).collect();
        let mut committed = 0;
        let mut aborted = 0;
        // Every client reads, then all queue, then all EXEC: in each round exactly
        // the first EXEC wins, the others see their watch broken and retry.
        while committed < 12 {
            let mut plans = Vec::new();
            for &c in &clients {
                t.cmd_on(c, &["WATCH", "counter"]);
                let seen = match t.cmd_on(c, &["GET", "counter"]) {
                    Frame::Null => 0,
                    f => f.as_str().parse::<i64>().unwrap(),
                };
                plans.push((c, seen + 1));
            }
            for &(c, next) in &plans {
                t.cmd_on(c, &["MULTI"]);
                t.cmd_on(c, &["SET", "counter", &next.to_string()]);
            }
            for &(c, _) in &plans {
                match t.cmd_on(c, &["EXEC"]) {
                    Frame::Null => aborted += 1,
                    Frame::Array(r) => {
                        assert_eq!(r, vec![Frame::ok()]);
                        committed += 1;
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(committed, 12);
        assert_eq!(aborted, 3 * 12);
        assert_eq!(t.cmd(&["GET", "counter"]), Frame::bulk("12"));
    }

    #[test]
    fn a_transaction_of_a_hundred_thousand_commands() {
        let mut t = TestServer::new();
        let c = t.connect();
        const N: usize = 100_000;
        let mut req = crate::testing::encode_command(&[b"MULTI"]);
        for _ in 0..N {
            req.extend(crate::testing::encode_command(&[b"INCR", b"n"]));
        }
        t.send_raw(c, &req);
        let out = t.take_output(c);
        assert_eq!(out.len(), 5 + N * 9, "+OK then one +QUEUED per command");
        assert_eq!(t.server.clients[&c].multi.as_ref().unwrap().count, N);
        t.send_raw(c, &crate::testing::encode_command(&[b"EXEC"]));
        let out = t.take_output(c);
        let (frame, used) = crate::testing::decode(&out).expect("one whole reply");
        assert_eq!(used, out.len());
        let Frame::Array(replies) = frame else {
            panic!("EXEC replies with an array")
        };
        assert_eq!(replies.len(), N);
        assert_eq!(replies[0], int(1));
        assert_eq!(replies[N - 1], int(N as i64));
        assert_eq!(t.server.stats.commands["incr"].calls, N as u64);
    }
}
