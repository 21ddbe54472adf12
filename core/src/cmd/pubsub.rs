//! Pub/Sub commands (Redis's pubsub.c): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
//! PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and the PUBSUB
//! introspection family. The registry and delivery live in `server/pubsub.rs`.
//!
//! Subscription confirmations are pushes: they go to the client's push stream (see
//! `Server::push_to_client`), so CLIENT REPLY OFF does not silence them, as Redis's
//! CLIENT_PUSHING flag does not.

use crate::command::{Ctx, Handler};
use crate::resp::ReplyBuf;
use crate::server::propagate::TARGET_REPL;
use crate::server::pubsub::SubKind;
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("psubscribe", psubscribe),
    ("punsubscribe", punsubscribe),
    ("ssubscribe", ssubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub|channels", pubsub_channels),
    ("pubsub|numsub", pubsub_numsub),
    ("pubsub|numpat", pubsub_numpat),
    ("pubsub|shardchannels", pubsub_shardchannels),
    ("pubsub|shardnumsub", pubsub_shardnumsub),
    ("pubsub|help", pubsub_help),
];

/// Write a (un)subscribe confirmation: `[word, name or null, count]`.
fn confirmation(out: &mut ReplyBuf, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_generic(srv: &mut Server, ctx: &mut Ctx<'_>, kind: SubKind) {
    for j in 1..ctx.argc() {
        let name = ctx.arg(j);
        srv.pubsub_subscribe(ctx.conn, kind, name);
        let count = srv.confirmation_count(ctx.conn, kind);
        srv.push_to_client(ctx.conn, |out| {
            confirmation(out, kind.subscribe_word(), Some(name), count)
        });
    }
    debug_assert!(srv.client_subscription_total(ctx.conn) > 0);
}

fn unsubscribe_generic(srv: &mut Server, ctx: &mut Ctx<'_>, kind: SubKind) {
    let word = kind.unsubscribe_word();
    if ctx.argc() == 1 {
        let names = srv
            .client(ctx.conn)
            .and_then(|c| c.subs.as_ref())
            .map(|s| s.names_in_order(kind))
            .unwrap_or_default();
        if names.is_empty() {
            // Nothing to leave: Redis still confirms, with a null name.
            let count = srv.confirmation_count(ctx.conn, kind);
            srv.push_to_client(ctx.conn, |out| confirmation(out, word, None, count));
        }
        for name in names {
            let was = srv.pubsub_unsubscribe(ctx.conn, kind, &name);
            debug_assert!(was);
            let count = srv.confirmation_count(ctx.conn, kind);
            srv.push_to_client(ctx.conn, |out| confirmation(out, word, Some(&name), count));
        }
    } else {
        for j in 1..ctx.argc() {
            let name = ctx.arg(j);
            srv.pubsub_unsubscribe(ctx.conn, kind, name);
            let count = srv.confirmation_count(ctx.conn, kind);
            srv.push_to_client(ctx.conn, |out| confirmation(out, word, Some(name), count));
        }
    }
}

/// A client that must get one reply per command (CLIENT_DENY_BLOCKING: commands run by
/// EXEC, later scripts) cannot enter subscribed mode. MULTI/EXEC is exempt for
/// SUBSCRIBE and PSUBSCRIBE, for backward compatibility, but not for SSUBSCRIBE.
fn refuse_deny_blocking(srv: &Server, ctx: &mut Ctx<'_>, name: &str, multi_exempt: bool) -> bool {
    let in_multi = srv
        .clients
        .get(&ctx.conn)
        .is_some_and(|c| c.multi.is_some());
    if ctx.deny_blocking && !(multi_exempt && in_multi) {
        ctx.reply
            .error(&format!("{name} isn't allowed for a DENY BLOCKING client"));
        return true;
    }
    false
}

fn subscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !refuse_deny_blocking(srv, ctx, "SUBSCRIBE", true) {
        subscribe_generic(srv, ctx, SubKind::Channel);
    }
}

fn psubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !refuse_deny_blocking(srv, ctx, "PSUBSCRIBE", true) {
        subscribe_generic(srv, ctx, SubKind::Pattern);
    }
}

fn ssubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    if !refuse_deny_blocking(srv, ctx, "SSUBSCRIBE", false) {
        subscribe_generic(srv, ctx, SubKind::Shard);
    }
}

fn unsubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    unsubscribe_generic(srv, ctx, SubKind::Channel);
}

fn punsubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    unsubscribe_generic(srv, ctx, SubKind::Pattern);
}

fn sunsubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    unsubscribe_generic(srv, ctx, SubKind::Shard);
}

fn publish(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let receivers = srv.publish(ctx.arg(1), ctx.arg(2));
    // Replicas deliver it to their own subscribers; the AOF never sees it.
    ctx.force_propagation(TARGET_REPL);
    ctx.reply.int(receivers as i64);
}

fn spublish(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let receivers = srv.publish_shard(ctx.arg(1), ctx.arg(2));
    ctx.force_propagation(TARGET_REPL);
    ctx.reply.int(receivers as i64);
}

/// Redis's addReplySubcommandSyntaxError, for a subcommand given too many arguments.
fn subcommand_syntax_error(ctx: &mut Ctx<'_>) {
    ctx.reply.error(&format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&ctx.arg(1)[..ctx.arg(1).len().min(128)])
    ));
}

fn channel_list(srv: &mut Server, ctx: &mut Ctx<'_>, kind: SubKind) {
    if ctx.argc() > 3 {
        subcommand_syntax_error(ctx);
        return;
    }
    let pattern = ctx.args.try_get(2);
    let names = srv.pubsub.names_matching(kind, pattern);
    ctx.reply.array(names.len());
    for name in names {
        ctx.reply.bulk(name);
    }
}

fn numsub(srv: &mut Server, ctx: &mut Ctx<'_>, kind: SubKind) {
    // A flat array in RESP3 too, as Redis replies.
    ctx.reply.array(2 * (ctx.argc() - 2));
    for j in 2..ctx.argc() {
        let name = ctx.arg(j);
        ctx.reply.bulk(name);
        ctx.reply.int(srv.pubsub.subscribers(kind, name) as i64);
    }
}

fn pubsub_channels(srv: &mut Server, ctx: &mut Ctx<'_>) {
    channel_list(srv, ctx, SubKind::Channel);
}

fn pubsub_shardchannels(srv: &mut Server, ctx: &mut Ctx<'_>) {
    channel_list(srv, ctx, SubKind::Shard);
}

fn pubsub_numsub(srv: &mut Server, ctx: &mut Ctx<'_>) {
    numsub(srv, ctx, SubKind::Channel);
}

fn pubsub_shardnumsub(srv: &mut Server, ctx: &mut Ctx<'_>) {
    numsub(srv, ctx, SubKind::Shard);
}

fn pubsub_numpat(srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.int(srv.pubsub.active(SubKind::Pattern) as i64);
}

fn pubsub_help(_srv: &mut Server, ctx: &mut Ctx<'_>) {
    ctx.reply.help(
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

#[cfg(test)]
mod tests {
    use crate::io::ConnId;
    use crate::testing::{decode, encode_command, Frame, TestServer};

    /// Send one command and decode every frame it produced.
    fn run(t: &mut TestServer, conn: ConnId, args: &[&str]) -> Vec<Frame> {
        let raw: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        t.send_raw(conn, &encode_command(&raw));
        frames(t, conn)
    }

    /// Every complete frame waiting on `conn`.
    fn frames(t: &mut TestServer, conn: ConnId) -> Vec<Frame> {
        let out = t.take_output(conn);
        let mut pos = 0;
        let mut all = Vec::new();
        while pos < out.len() {
            let (f, used) = decode(&out[pos..]).expect("complete frames");
            all.push(f);
            pos += used;
        }
        all
    }

    fn b(s: &str) -> Frame {
        Frame::bulk(s)
    }

    fn arr(items: Vec<Frame>) -> Frame {
        Frame::Array(items)
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers_in_resp2() {
        let mut t = TestServer::new();
        let sub = t.connect();
        let psub = t.connect();
        let publisher = t.connect();
        assert_eq!(
            run(&mut t, sub, &["SUBSCRIBE", "news"]),
            vec![arr(vec![b("subscribe"), b("news"), Frame::Int(1)])]
        );
        assert_eq!(
            run(&mut t, psub, &["PSUBSCRIBE", "n*"]),
            vec![arr(vec![b("psubscribe"), b("n*"), Frame::Int(1)])]
        );
        assert_eq!(
            run(&mut t, publisher, &["PUBLISH", "news", "hello"]),
            vec![Frame::Int(2)]
        );
        assert_eq!(
            frames(&mut t, sub),
            vec![arr(vec![b("message"), b("news"), b("hello")])]
        );
        assert_eq!(
            frames(&mut t, psub),
            vec![arr(vec![b("pmessage"), b("n*"), b("news"), b("hello")])]
        );
        assert_eq!(t.server.publish(b"other", b"x"), 0);
        assert_eq!(t.server.publish(b"nope", b"x"), 1);
        t.drain();
        assert_eq!(
            t.take_output(psub),
            b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnope\r\n$1\r\nx\r\n"
        );
        assert!(t.take_output(sub).is_empty());
    }

    #[test]
    fn publish_uses_push_frames_for_resp3_subscribers() {
        let mut t = TestServer::new();
        let sub = t.connect();
        run(&mut t, sub, &["HELLO", "3"]);
        assert_eq!(
            t.cmd_on(sub, &["SUBSCRIBE", "c"]),
            Frame::Push(vec![b("subscribe"), b("c"), Frame::Int(1)])
        );
        run(&mut t, sub, &["PSUBSCRIBE", "*"]);
        assert_eq!(t.server.publish(b"c", b"m"), 2);
        t.drain();
        assert_eq!(
            t.take_output(sub),
            b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n>4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nc\r\n$1\r\nm\r\n"
        );
    }

    #[test]
    fn a_message_published_to_oneself_precedes_the_publish_reply() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["HELLO", "3"]);
        run(&mut t, c, &["SUBSCRIBE", "ch"]);
        // Pipelined with a PING before and after: the push sits right before `:1`.
        let mut req = encode_command(&[b"PING"]);
        req.extend(encode_command(&[b"PUBLISH", b"ch", b"hi"]));
        req.extend(encode_command(&[b"PING"]));
        t.send_raw(c, &req);
        assert_eq!(
            t.take_output(c),
            b"+PONG\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1\r\n+PONG\r\n"
        );
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    fn confirm(word: &str, name: Option<&str>, n: i64) -> Frame {
        arr(vec![b(word), name.map_or(Frame::Null, b), int(n)])
    }

    fn push(word: &str, name: Option<&str>, n: i64) -> Frame {
        Frame::Push(vec![b(word), name.map_or(Frame::Null, b), int(n)])
    }

    /// A field of `conn`'s CLIENT LIST line, asked from a connection of its own (a
    /// RESP2 subscriber could not ask).
    fn client_field(t: &mut TestServer, conn: ConnId, name: &str) -> String {
        let observer = t.connect();
        let id = conn.0.to_string();
        let line = t.cmd_on(observer, &["CLIENT", "LIST", "ID", &id]).as_str();
        t.disconnect(observer);
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in {line}"))
            .trim_end()
            .to_string()
    }

    fn info_stat(t: &mut TestServer, name: &str) -> String {
        let observer = t.connect();
        let text = t.cmd_on(observer, &["INFO", "stats"]).as_str();
        t.disconnect(observer);
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in INFO"))
            .to_string()
    }

    #[test]
    fn subscribe_counts_channels_once_each() {
        let mut t = TestServer::new();
        let c = t.connect();
        assert_eq!(
            run(&mut t, c, &["SUBSCRIBE", "a", "b", "a"]),
            vec![
                confirm("subscribe", Some("a"), 1),
                confirm("subscribe", Some("b"), 2),
                confirm("subscribe", Some("a"), 2),
            ]
        );
        // Patterns count together with channels; shard channels on their own.
        assert_eq!(
            run(&mut t, c, &["PSUBSCRIBE", "x*", "x*"]),
            vec![
                confirm("psubscribe", Some("x*"), 3),
                confirm("psubscribe", Some("x*"), 3),
            ]
        );
        assert_eq!(
            run(&mut t, c, &["SSUBSCRIBE", "s"]),
            vec![confirm("ssubscribe", Some("s"), 1)]
        );
        assert_eq!(client_field(&mut t, c, "flags"), "P");
        let other = t.connect();
        assert_eq!(t.cmd_on(other, &["PUBSUB", "NUMPAT"]), int(1));
        assert_eq!(
            t.cmd_on(other, &["PUBSUB", "NUMSUB", "a", "b", "nope", "s"]),
            arr(vec![
                b("a"),
                int(1),
                b("b"),
                int(1),
                b("nope"),
                int(0),
                b("s"),
                int(0)
            ])
        );
        assert_eq!(
            t.cmd_on(other, &["PUBSUB", "SHARDNUMSUB", "s", "a"]),
            arr(vec![b("s"), int(1), b("a"), int(0)])
        );
        assert_eq!(t.cmd_on(other, &["PUBSUB", "NUMSUB"]), arr(vec![]));
        assert_eq!(t.cmd_on(other, &["PUBSUB", "SHARDNUMSUB"]), arr(vec![]));
    }

    #[test]
    fn unsubscribe_forms_and_counts() {
        let mut t = TestServer::new();
        let c = t.connect();
        // Nothing to leave: one confirmation with a null name.
        assert_eq!(
            run(&mut t, c, &["UNSUBSCRIBE"]),
            vec![confirm("unsubscribe", None, 0)]
        );
        assert_eq!(
            run(&mut t, c, &["PUNSUBSCRIBE"]),
            vec![confirm("punsubscribe", None, 0)]
        );
        assert_eq!(
            run(&mut t, c, &["SUNSUBSCRIBE"]),
            vec![confirm("sunsubscribe", None, 0)]
        );
        assert_eq!(t.take_output(c), b"");
        t.send_raw(c, &encode_command(&[b"UNSUBSCRIBE"]));
        assert_eq!(
            t.take_output(c),
            b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        run(&mut t, c, &["SUBSCRIBE", "a", "b", "c"]);
        run(&mut t, c, &["PSUBSCRIBE", "p1", "p2"]);
        run(&mut t, c, &["SSUBSCRIBE", "s1", "s2"]);
        // Named: each name confirmed, subscribed or not.
        assert_eq!(
            run(&mut t, c, &["UNSUBSCRIBE", "b", "zz"]),
            vec![
                confirm("unsubscribe", Some("b"), 4),
                confirm("unsubscribe", Some("zz"), 4),
            ]
        );
        // All: in the order they were subscribed.
        assert_eq!(
            run(&mut t, c, &["UNSUBSCRIBE"]),
            vec![
                confirm("unsubscribe", Some("a"), 3),
                confirm("unsubscribe", Some("c"), 2),
            ]
        );
        assert_eq!(
            run(&mut t, c, &["PUNSUBSCRIBE", "p2"]),
            vec![confirm("punsubscribe", Some("p2"), 1)]
        );
        assert_eq!(
            run(&mut t, c, &["PUNSUBSCRIBE"]),
            vec![confirm("punsubscribe", Some("p1"), 0)]
        );
        // Still subscribed to shard channels: still in Pub/Sub mode.
        assert_eq!(
            run(&mut t, c, &["GET", "k"]),
            vec![Frame::err("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")]
        );
        assert_eq!(
            run(&mut t, c, &["SUNSUBSCRIBE", "s2", "s2"]),
            vec![
                confirm("sunsubscribe", Some("s2"), 1),
                confirm("sunsubscribe", Some("s2"), 1),
            ]
        );
        assert_eq!(
            run(&mut t, c, &["SUNSUBSCRIBE"]),
            vec![confirm("sunsubscribe", Some("s1"), 0)]
        );
        // Out of Pub/Sub mode once nothing is left.
        assert_eq!(run(&mut t, c, &["GET", "k"]), vec![Frame::Null]);
        assert_eq!(client_field(&mut t, c, "flags"), "N");
        assert_eq!(t.cmd_on(c, &["PUBSUB", "CHANNELS"]), arr(vec![]));
    }

    #[test]
    fn resp3_confirmations_are_pushes_and_commands_stay_allowed() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["HELLO", "3"]);
        assert_eq!(
            run(&mut t, c, &["UNSUBSCRIBE"]),
            vec![push("unsubscribe", None, 0)]
        );
        t.send_raw(c, &encode_command(&[b"PUNSUBSCRIBE"]));
        assert_eq!(
            t.take_output(c),
            b">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n"
        );
        assert_eq!(
            run(&mut t, c, &["SUBSCRIBE", "a"]),
            vec![push("subscribe", Some("a"), 1)]
        );
        assert_eq!(
            run(&mut t, c, &["SSUBSCRIBE", "a"]),
            vec![push("ssubscribe", Some("a"), 1)]
        );
        // RESP3 subscribers may run anything, and PING keeps its usual shape.
        assert_eq!(t.cmd_on(c, &["SET", "k", "v"]), Frame::ok());
        assert_eq!(t.cmd_on(c, &["PING"]), Frame::Simple("PONG".into()));
        assert_eq!(t.cmd_on(c, &["PING", "x"]), b("x"));
        assert_eq!(
            t.cmd_on(c, &["PUBSUB", "NUMSUB", "a"]),
            arr(vec![b("a"), int(1)])
        );
        assert_eq!(t.cmd_on(c, &["PUBSUB", "SHARDCHANNELS"]), arr(vec![b("a")]));
        assert_eq!(
            run(&mut t, c, &["SUNSUBSCRIBE", "a"]),
            vec![push("sunsubscribe", Some("a"), 0)]
        );
        // Back to RESP2 while subscribed: the restrictions apply again.
        run(&mut t, c, &["HELLO", "2"]);
        assert_eq!(
            t.cmd_on(c, &["HELLO", "3"]),
            Frame::err("ERR Can't execute 'hello': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
    }

    #[test]
    fn resp2_subscribers_get_pong_arrays_and_may_quit_or_reset() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["SUBSCRIBE", "a"]);
        assert_eq!(t.cmd_on(c, &["PING"]), arr(vec![b("pong"), b("")]));
        assert_eq!(
            t.cmd_on(c, &["PING", "hey"]),
            arr(vec![b("pong"), b("hey")])
        );
        assert_eq!(
            t.cmd_on(c, &["PING", "a", "b"]),
            Frame::err("ERR wrong number of arguments for 'ping' command")
        );
        for cmd in [
            &["PUBLISH", "a", "m"][..],
            &["CLIENT", "REPLY", "OFF"],
            &["PUBSUB", "NUMPAT"],
            &["SPUBLISH", "a", "b"],
        ] {
            let name = match cmd[0] {
                "CLIENT" => "client|reply".to_string(),
                "PUBSUB" => "pubsub|numpat".to_string(),
                other => other.to_ascii_lowercase(),
            };
            assert_eq!(
                t.cmd_on(c, cmd),
                Frame::err(&format!("ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
            );
        }
        // Unknown commands and arity errors come first, as in processCommand.
        assert_eq!(
            t.cmd_on(c, &["GET"]),
            Frame::err("ERR wrong number of arguments for 'get' command")
        );
        assert_eq!(t.cmd_on(c, &["RESET"]), Frame::Simple("RESET".into()));
        assert_eq!(
            t.cmd_on(c, &["PUBSUB", "NUMSUB", "a"]),
            arr(vec![b("a"), int(0)])
        );
        assert_eq!(t.cmd_on(c, &["PING"]), Frame::Simple("PONG".into()));
        let q = t.connect();
        run(&mut t, q, &["PSUBSCRIBE", "*"]);
        assert_eq!(t.cmd_on(q, &["QUIT"]), Frame::ok());
        assert_eq!(t.closed, vec![q]);
        assert_eq!(t.cmd(&["PUBSUB", "NUMPAT"]), int(0));
    }

    #[test]
    fn closing_a_client_leaves_no_subscription_behind() {
        let mut t = TestServer::new();
        let watcher = t.connect();
        let c = t.connect();
        run(&mut t, c, &["SUBSCRIBE", "a", "b"]);
        run(&mut t, c, &["PSUBSCRIBE", "*"]);
        run(&mut t, c, &["SSUBSCRIBE", "s"]);
        let d = t.connect();
        run(&mut t, d, &["SUBSCRIBE", "a"]);
        assert_eq!(info_stat(&mut t, "pubsub_channels"), "2");
        assert_eq!(info_stat(&mut t, "pubsub_patterns"), "1");
        assert_eq!(info_stat(&mut t, "pubsubshard_channels"), "1");
        t.disconnect(c);
        assert_eq!(t.cmd_on(watcher, &["PUBLISH", "a", "m"]), int(1));
        assert_eq!(t.cmd_on(watcher, &["PUBLISH", "b", "m"]), int(0));
        assert_eq!(t.cmd_on(watcher, &["SPUBLISH", "s", "m"]), int(0));
        assert_eq!(
            t.cmd_on(watcher, &["PUBSUB", "CHANNELS"]),
            arr(vec![b("a")])
        );
        assert_eq!(info_stat(&mut t, "pubsub_patterns"), "0");
        assert_eq!(info_stat(&mut t, "pubsubshard_channels"), "0");
        // Killed clients too.
        assert_eq!(
            t.cmd_on(watcher, &["CLIENT", "KILL", "TYPE", "pubsub"]),
            int(1)
        );
        assert_eq!(
            t.cmd_on(watcher, &["PUBSUB", "NUMSUB", "a"]),
            arr(vec![b("a"), int(0)])
        );
        assert_eq!(info_stat(&mut t, "pubsub_channels"), "0");
    }

    #[test]
    fn shard_channels_are_a_namespace_of_their_own() {
        let mut t = TestServer::new();
        let shard = t.connect();
        let plain = t.connect();
        let pattern = t.connect();
        run(&mut t, shard, &["SSUBSCRIBE", "ch"]);
        run(&mut t, plain, &["SUBSCRIBE", "ch"]);
        run(&mut t, pattern, &["PSUBSCRIBE", "*"]);
        let p = t.connect();
        assert_eq!(t.cmd_on(p, &["SPUBLISH", "ch", "m1"]), int(1));
        assert_eq!(
            frames(&mut t, shard),
            vec![arr(vec![b("smessage"), b("ch"), b("m1")])]
        );
        assert!(frames(&mut t, plain).is_empty());
        assert!(
            frames(&mut t, pattern).is_empty(),
            "patterns ignore shard channels"
        );
        assert_eq!(t.cmd_on(p, &["PUBLISH", "ch", "m2"]), int(2));
        assert!(frames(&mut t, shard).is_empty());
        assert_eq!(t.cmd_on(p, &["PUBSUB", "CHANNELS"]), arr(vec![b("ch")]));
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "SHARDCHANNELS", "c?"]),
            arr(vec![b("ch")])
        );
        assert_eq!(t.cmd_on(p, &["PUBSUB", "SHARDCHANNELS", "x*"]), arr(vec![]));
    }

    #[test]
    fn patterns_glob_and_count_once_per_matching_subscription() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(
            &mut t,
            c,
            &["PSUBSCRIBE", "news.*", "news.[ab]?", "*", "\\*"],
        );
        run(&mut t, c, &["SUBSCRIBE", "news.az"]);
        let p = t.connect();
        // The channel, then every matching pattern: one delivery each.
        assert_eq!(t.cmd_on(p, &["PUBLISH", "news.az", "m"]), int(4));
        let got = frames(&mut t, c);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], arr(vec![b("message"), b("news.az"), b("m")]));
        let mut pats: Vec<String> = got[1..]
            .iter()
            .map(|f| match f {
                Frame::Array(items) => {
                    assert_eq!(items[0], b("pmessage"));
                    assert_eq!(items[2..], [b("news.az"), b("m")]);
                    items[1].as_str()
                }
                other => panic!("not a pmessage: {other:?}"),
            })
            .collect();
        pats.sort();
        assert_eq!(pats, ["*", "news.*", "news.[ab]?"]);
        assert_eq!(t.cmd_on(p, &["PUBLISH", "*", "star"]), int(2));
        // A star needs at least one character, as Redis's stringmatchlen.
        assert_eq!(t.cmd_on(p, &["PUBLISH", "", "empty"]), int(0));
        assert_eq!(t.cmd_on(p, &["PUBSUB", "NUMPAT"]), int(4));
        // Case matters, as in Redis.
        assert_eq!(t.cmd_on(p, &["PUBLISH", "NEWS.a", "m"]), int(1));
    }

    #[test]
    fn pubsub_channels_filters_and_introspection_errors() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["SUBSCRIBE", "alpha", "beta", "alps"]);
        let p = t.connect();
        let Frame::Array(all) = t.cmd_on(p, &["PUBSUB", "CHANNELS"]) else {
            panic!("an array")
        };
        let mut names: Vec<String> = all.iter().map(Frame::as_str).collect();
        names.sort();
        assert_eq!(names, ["alpha", "alps", "beta"]);
        let Frame::Array(al) = t.cmd_on(p, &["PUBSUB", "CHANNELS", "al*"]) else {
            panic!("an array")
        };
        assert_eq!(al.len(), 2);
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "CHANNELS", "b?ta"]),
            arr(vec![b("beta")])
        );
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "CHANNELS", "a", "b"]),
            Frame::err("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
        );
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "shardchannels", "a", "b"]),
            Frame::err("ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.")
        );
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "NUMPAT", "x"]),
            Frame::err("ERR wrong number of arguments for 'pubsub|numpat' command")
        );
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "FOO"]),
            Frame::err("ERR unknown subcommand 'FOO'. Try PUBSUB HELP.")
        );
        assert_eq!(
            t.cmd_on(p, &["PUBSUB"]),
            Frame::err("ERR wrong number of arguments for 'pubsub' command")
        );
        let Frame::Array(help) = t.cmd_on(p, &["PUBSUB", "HELP"]) else {
            panic!("an array")
        };
        assert_eq!(help.len(), 14);
        assert_eq!(
            help[0],
            Frame::Simple("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into())
        );
        for cmd in ["SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"] {
            assert_eq!(
                t.cmd_on(p, &[cmd]),
                Frame::err(&format!(
                    "ERR wrong number of arguments for '{}' command",
                    cmd.to_ascii_lowercase()
                ))
            );
        }
        assert_eq!(
            t.cmd_on(p, &["PUBLISH", "a"]),
            Frame::err("ERR wrong number of arguments for 'publish' command")
        );
        assert_eq!(
            t.cmd_on(p, &["SPUBLISH", "a", "b", "c"]),
            Frame::err("ERR wrong number of arguments for 'spublish' command")
        );
        // RESP3 shapes: NUMSUB stays a flat array.
        run(&mut t, p, &["HELLO", "3"]);
        t.send_raw(p, &encode_command(&[b"PUBSUB", b"NUMSUB", b"beta"]));
        assert_eq!(t.take_output(p), b"*2\r\n$4\r\nbeta\r\n:1\r\n");
    }

    #[test]
    fn pushes_ignore_client_reply_off_but_replies_do_not() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["CLIENT", "REPLY", "OFF"]);
        assert_eq!(
            run(&mut t, c, &["SUBSCRIBE", "x", "y"]),
            vec![
                confirm("subscribe", Some("x"), 1),
                confirm("subscribe", Some("y"), 2)
            ]
        );
        assert!(run(&mut t, c, &["PING"]).is_empty());
        let p = t.connect();
        t.cmd_on(p, &["PUBLISH", "x", "m"]);
        assert_eq!(
            frames(&mut t, c),
            vec![arr(vec![b("message"), b("x"), b("m")])]
        );
        // A RESP3 client publishing to itself with replies off gets the push only.
        let r = t.connect();
        run(&mut t, r, &["HELLO", "3"]);
        run(&mut t, r, &["SUBSCRIBE", "me"]);
        run(&mut t, r, &["CLIENT", "REPLY", "OFF"]);
        t.send_raw(r, &encode_command(&[b"PUBLISH", b"me", b"hi"]));
        assert_eq!(
            t.take_output(r),
            b">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$2\r\nhi\r\n"
        );
    }

    #[test]
    fn client_list_shows_subscription_counts_and_type() {
        let mut t = TestServer::new();
        let c = t.connect();
        run(&mut t, c, &["HELLO", "3"]);
        run(&mut t, c, &["SUBSCRIBE", "a", "b"]);
        run(&mut t, c, &["PSUBSCRIBE", "p*"]);
        run(&mut t, c, &["SSUBSCRIBE", "s1", "s2", "s3"]);
        assert_eq!(client_field(&mut t, c, "sub"), "2");
        assert_eq!(client_field(&mut t, c, "psub"), "1");
        assert_eq!(client_field(&mut t, c, "ssub"), "3");
        assert_eq!(client_field(&mut t, c, "flags"), "P");
        let n = t.connect();
        let pubsub_list = t.cmd_on(n, &["CLIENT", "LIST", "TYPE", "pubsub"]).as_str();
        assert_eq!(pubsub_list.lines().count(), 1);
        assert!(pubsub_list.contains(" sub=2 psub=1 ssub=3 "));
        let normal = t.cmd_on(n, &["CLIENT", "LIST", "TYPE", "normal"]).as_str();
        assert_eq!(normal.lines().count(), 1);
        assert!(normal.contains(" sub=0 psub=0 ssub=0 "));
        assert_eq!(t.cmd_on(n, &["CLIENT", "KILL", "TYPE", "normal"]), int(0));
    }

    #[test]
    fn subscribers_never_time_out() {
        let mut t = TestServer::new();
        t.cmd(&["CONFIG", "SET", "timeout", "1"]);
        let sub = t.connect();
        let idle = t.connect();
        run(&mut t, sub, &["SUBSCRIBE", "a"]);
        t.advance_ms(3000);
        assert_eq!(t.closed, vec![ConnId(1), idle]);
        assert!(t.server.client(sub).is_some());
    }

    #[test]
    fn a_million_channels_on_one_client() {
        let mut t = TestServer::new();
        let c = t.connect();
        const N: usize = 1_000_000;
        let names: Vec<String> = (0..N).map(|i| format!("ch:{i}")).collect();
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend(names.iter().map(|n| n.as_bytes()));
        t.send_raw(c, &encode_command(&args));
        // Its confirmations grew while it was still a normal client: past the pubsub
        // class's 32 MiB hard limit, and not closed for it, as in Redis (whose cron
        // would close it if it had not read them by then: see output_limits).
        let out = t.take_output(c);
        assert!(out.len() > 32 << 20);
        assert!(!t.closed.contains(&c));
        let (first, _) = decode(&out).unwrap();
        assert_eq!(first, confirm("subscribe", Some("ch:0"), 1));
        assert!(out.ends_with(b"$9\r\nsubscribe\r\n$9\r\nch:999999\r\n:1000000\r\n"));
        let p = t.connect();
        assert_eq!(t.cmd_on(p, &["PUBLISH", "ch:0", "x"]), int(1));
        assert_eq!(t.cmd_on(p, &["PUBLISH", "ch:999999", "x"]), int(1));
        assert_eq!(t.cmd_on(p, &["PUBLISH", "ch:1000000", "x"]), int(0));
        assert_eq!(
            t.cmd_on(p, &["PUBSUB", "NUMSUB", "ch:500000"]),
            arr(vec![b("ch:500000"), int(1)])
        );
        assert_eq!(info_stat(&mut t, "pubsub_channels"), N.to_string());
        t.take_output(c);
        // A million confirmations are past the pubsub class's 32 MiB, and UNSUBSCRIBE
        // writes them as a subscriber: Redis would close the client for it.
        t.cmd_on(
            p,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "pubsub 0 0 0",
            ],
        );
        // Leaving them all, in subscription order: the last confirmation says 0.
        t.send_raw(c, &encode_command(&[b"UNSUBSCRIBE"]));
        let out = t.take_output(c);
        let (first, _) = decode(&out).unwrap();
        assert_eq!(first, confirm("unsubscribe", Some("ch:0"), N as i64 - 1));
        assert!(out.ends_with(b"$11\r\nunsubscribe\r\n$9\r\nch:999999\r\n:0\r\n"));
        assert!(!t.closed.contains(&c));
        assert_eq!(info_stat(&mut t, "pubsub_channels"), "0");
        assert_eq!(t.cmd_on(c, &["PING"]), Frame::Simple("PONG".into()));
    }
}
