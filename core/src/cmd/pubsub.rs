//! Pub/Sub commands (Redis's pubsub.c): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
//! PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and the PUBSUB
//! introspection family. The registry and delivery live in `server/pubsub.rs`.
//!
//! Subscription confirmations are pushes: they go to the client's push stream (see
//! `Server::push_to_client`), so CLIENT REPLY OFF does not silence them, as Redis's
//! CLIENT_PUSHING flag does not.

use crate::command::{Ctx, Handler};
use crate::resp::ReplyBuf;
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

fn subscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    subscribe_generic(srv, ctx, SubKind::Channel);
}

fn psubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    subscribe_generic(srv, ctx, SubKind::Pattern);
}

fn ssubscribe(srv: &mut Server, ctx: &mut Ctx<'_>) {
    subscribe_generic(srv, ctx, SubKind::Shard);
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
    ctx.reply.int(receivers as i64);
}

fn spublish(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let receivers = srv.publish_shard(ctx.arg(1), ctx.arg(2));
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
}
