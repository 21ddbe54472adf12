//! Pub/Sub through the real binary: the `redis` crate's pub/sub API in RESP2 and
//! RESP3, raw sockets for exact bytes, and a subscriber that stops reading being cut
//! off by client-output-buffer-limit instead of queueing output without bound.

mod support;

use std::io::Read;
use std::time::{Duration, Instant};
use support::{RawConn, ServerProcess};

/// Give up waiting for the server after this long (a liveness bound, not a timing
/// expectation: every wait below ends as soon as its condition holds).
const PATIENCE: Duration = Duration::from_secs(30);

fn cmd_bytes(raw: &mut RawConn, args: &[&[u8]]) -> Vec<u8> {
    raw.send_cmd(args);
    raw.read_reply()
}

fn numsub(raw: &mut RawConn, channel: &str) -> Vec<u8> {
    raw.cmd(&["PUBSUB", "NUMSUB", channel])
}

fn numsub_reply(channel: &str, n: usize) -> Vec<u8> {
    format!("*2\r\n${}\r\n{channel}\r\n:{n}\r\n", channel.len()).into_bytes()
}

#[test]
fn redis_crate_pubsub_in_resp2() {
    let server = ServerProcess::cinnabar(&[]);
    let mut sub_con = server.client();
    let mut publisher = server.client();
    {
        let mut sub = sub_con.as_pubsub();
        sub.set_read_timeout(Some(PATIENCE)).unwrap();
        sub.subscribe("news").unwrap();
        sub.psubscribe("n*").unwrap();
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg("news")
            .arg("hello")
            .query(&mut publisher)
            .unwrap();
        assert_eq!(receivers, 2);
        let m = sub.get_message().unwrap();
        assert_eq!(m.get_channel_name(), "news");
        assert_eq!(m.get_payload::<String>().unwrap(), "hello");
        assert!(!m.from_pattern());
        let m = sub.get_message().unwrap();
        assert!(m.from_pattern());
        assert_eq!(m.get_pattern::<String>().unwrap(), "n*");
        assert_eq!(m.get_payload::<String>().unwrap(), "hello");
        // Binary payloads arrive intact.
        let payload: Vec<u8> = (0..=255u8).collect();
        let _: i64 = redis::cmd("PUBLISH")
            .arg("nope")
            .arg(&payload)
            .query(&mut publisher)
            .unwrap();
        let m = sub.get_message().unwrap();
        assert_eq!(m.get_channel_name(), "nope");
        assert_eq!(m.get_payload_bytes(), &payload[..]);
        let pong: Vec<String> = sub.ping().unwrap();
        assert_eq!(pong, ["pong", ""]);
        // Leaving pub/sub mode (the crate unsubscribes from everything on drop).
    }
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut sub_con).unwrap();
    assert_eq!(v, None, "the connection is a normal one again");
    let n: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("x")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn redis_crate_pubsub_in_resp3() {
    let server = ServerProcess::cinnabar(&[]);
    let mut sub = redis::Client::open(format!("{}?protocol=resp3", server.url()))
        .unwrap()
        .get_connection()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    sub.set_push_sender(tx);
    sub.subscribe_resp3("chan").unwrap();
    sub.psubscribe_resp3("ch*").unwrap();
    let mut publisher = server.client();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("chan")
        .arg("m1")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 2);
    // A RESP3 subscriber may run any command; pushes are routed while it reads.
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut sub).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut sub).unwrap();
    assert_eq!(v, "v");
    let kinds: Vec<redis::PushKind> = rx.try_iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        [
            redis::PushKind::Subscribe,
            redis::PushKind::PSubscribe,
            redis::PushKind::Message,
            redis::PushKind::PMessage,
        ]
    );
}

#[test]
fn raw_subscribers_get_every_message_in_order_with_exact_bytes() {
    let server = ServerProcess::cinnabar(&[]);
    let mut sub = server.raw();
    let mut sub3 = server.raw();
    let mut publisher = server.raw();
    sub.send_cmd(&[b"SUBSCRIBE", b"a", b"b"]);
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    assert_eq!(
        sub.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
    );
    assert_eq!(sub3.cmd(&["HELLO", "3"])[0], b'%');
    assert_eq!(
        sub3.cmd(&["PSUBSCRIBE", "*"]),
        b">3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n"
    );
    let mut batch = Vec::new();
    for i in 0..1000 {
        let channel: &[u8] = if i % 2 == 0 { b"a" } else { b"b" };
        batch.extend(cinnabar_core::testing::encode_command(&[
            b"PUBLISH",
            channel,
            format!("m{i}").as_bytes(),
        ]));
    }
    publisher.send(&batch);
    for _ in 0..1000 {
        assert_eq!(publisher.read_reply(), b":2\r\n");
    }
    for i in 0..1000 {
        let channel = if i % 2 == 0 { "a" } else { "b" };
        let msg = format!("m{i}");
        assert_eq!(
            sub.read_reply(),
            format!(
                "*3\r\n$7\r\nmessage\r\n$1\r\n{channel}\r\n${}\r\n{msg}\r\n",
                msg.len()
            )
            .into_bytes()
        );
        assert_eq!(
            sub3.read_reply(),
            format!(
                ">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\n{channel}\r\n${}\r\n{msg}\r\n",
                msg.len()
            )
            .into_bytes()
        );
    }
    // A subscriber that disconnects is forgotten.
    drop(sub);
    let deadline = Instant::now() + PATIENCE;
    while numsub(&mut publisher, "a") != numsub_reply("a", 0) {
        assert!(
            Instant::now() < deadline,
            "subscription outlived its client"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A subscriber whose peer never reads: the server must close it once its unsent
/// output passes the pubsub hard limit, rather than holding it all. Ten times the
/// limit is published; kernel socket buffers take some of it, the rest counts.
#[test]
fn a_subscriber_that_stops_reading_is_disconnected() {
    let server = ServerProcess::cinnabar(&[]);
    let mut admin = server.raw();
    assert_eq!(
        admin.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 4mb 0 0"
        ]),
        b"+OK\r\n"
    );
    let mut slow = server.raw();
    slow.send_cmd(&[b"SUBSCRIBE", b"firehose"]);
    assert_eq!(
        slow.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n"
    );
    let mut fast = server.client();
    let mut fast_sub = fast.as_pubsub();
    fast_sub.subscribe("firehose").unwrap();
    fast_sub.set_read_timeout(Some(PATIENCE)).unwrap();

    let message = vec![b'x'; 64 * 1024];
    let mut publisher = server.raw();
    let mut published = 0;
    let mut cut_off = false;
    // Up to 40 MiB, ten times the hard limit; stop as soon as the slow one is gone.
    while published < 640 {
        let reply = cmd_bytes(&mut publisher, &[b"PUBLISH", b"firehose", &message]);
        published += 1;
        // The fast subscriber keeps up, so it is never the one cut off.
        let m = fast_sub.get_message().unwrap();
        assert_eq!(m.get_payload_bytes().len(), message.len());
        if reply == b":1\r\n" {
            cut_off = true;
            break;
        }
        assert_eq!(reply, b":2\r\n");
    }
    assert!(
        cut_off,
        "the slow subscriber was still subscribed after 40 MiB"
    );
    assert_eq!(numsub(&mut admin, "firehose"), numsub_reply("firehose", 1));
    let list = String::from_utf8(admin.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"])).unwrap();
    assert_eq!(list.matches("sub=1 ").count(), 1, "{list}");

    // The slow peer finds its connection closed once it drains what had reached it,
    // and that is less than everything published.
    slow.stream
        .set_read_timeout(Some(PATIENCE))
        .expect("timeout");
    let mut received = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match slow.stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => received += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the slow subscriber's socket: {e}"),
        }
    }
    assert!(
        received < published * message.len(),
        "got {received} of {} bytes",
        published * message.len()
    );
    // The server is fine and the fast subscriber still gets messages.
    assert_eq!(
        cmd_bytes(&mut publisher, &[b"PUBLISH", b"firehose", b"after"]),
        b":1\r\n"
    );
    assert_eq!(
        fast_sub.get_message().unwrap().get_payload_bytes(),
        b"after"
    );
}
