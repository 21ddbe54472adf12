//! Keyspace notifications (Redis's notify.c): the `notify-keyspace-events` classes,
//! their parsing and canonical spelling, and `Server::notify_keyspace_event`, which
//! publishes `__keyspace@<db>__:<key>` → event and `__keyevent@<db>__:<event>` → key
//! through the ordinary Pub/Sub path.
//!
//! Command code calls it exactly where Redis calls notifyKeyspaceEvent, with the same
//! class and event name, and only when the key really changed.

use super::Server;

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const NOTIFY_KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const NOTIFY_KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME, …).
pub const NOTIFY_GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const NOTIFY_STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const NOTIFY_LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const NOTIFY_SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const NOTIFY_HASH: u32 = 1 << 6;
/// `z`: sorted-set commands.
pub const NOTIFY_ZSET: u32 = 1 << 7;
/// `x`: a key expired (lazily or by the active cycle).
pub const NOTIFY_EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted by maxmemory.
pub const NOTIFY_EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const NOTIFY_STREAM: u32 = 1 << 10;
/// `m`: a read found no key. Not part of `A`.
pub const NOTIFY_KEY_MISS: u32 = 1 << 11;
/// Modules only: a key loaded from an RDB file. No letter.
pub const NOTIFY_LOADED: u32 = 1 << 12;
/// `d`: module key types.
pub const NOTIFY_MODULE: u32 = 1 << 13;
/// `n`: a key was created. Not part of `A`.
pub const NOTIFY_NEW: u32 = 1 << 14;
/// `A`: every class but `m` and `n` (and the letterless `loaded`).
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// The error of CONFIG SET / the config file for an unknown class letter.
pub const ERR_INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parse a class string (keyspaceEventsStringToFlags); `None` if any character is
/// not a class letter.
pub fn parse_classes(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in classes {
        flags |= match c {
            b'A' => NOTIFY_ALL,
            b'g' => NOTIFY_GENERIC,
            b'$' => NOTIFY_STRING,
            b'l' => NOTIFY_LIST,
            b's' => NOTIFY_SET,
            b'h' => NOTIFY_HASH,
            b'z' => NOTIFY_ZSET,
            b'x' => NOTIFY_EXPIRED,
            b'e' => NOTIFY_EVICTED,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b't' => NOTIFY_STREAM,
            b'm' => NOTIFY_KEY_MISS,
            b'd' => NOTIFY_MODULE,
            b'n' => NOTIFY_NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical spelling CONFIG GET shows (keyspaceEventsFlagsToString): `A` when
/// every class of `A` is on, else the class letters in a fixed order; then `K`, `E`,
/// `m`. As in Redis 7.0, `n` is only spelled out when `A` is not, so `An` reads `A`.
pub fn format_classes(flags: u32) -> String {
    let mut s = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        s.push('A');
    } else {
        for (bit, letter) in [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(letter);
            }
        }
    }
    for (bit, letter) in [
        (NOTIFY_KEYSPACE, 'K'),
        (NOTIFY_KEYEVENT, 'E'),
        (NOTIFY_KEY_MISS, 'm'),
    ] {
        if flags & bit != 0 {
            s.push(letter);
        }
    }
    s
}

impl Server {
    /// Publish a keyspace event of `class` (notifyKeyspaceEvent) if that class is
    /// enabled: `event` on the key's keyspace channel, the key on the event's keyevent
    /// channel, as `K` and `E` ask.
    pub fn notify_keyspace_event(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        debug_assert!(class.count_ones() == 1, "one class per event");
        debug_assert!(!event.is_empty());
        let enabled = self.config.notify_keyspace_events;
        if enabled & class == 0 {
            return;
        }
        let db_digits = db.to_string();
        if enabled & NOTIFY_KEYSPACE != 0 {
            let mut channel = Vec::with_capacity(16 + db_digits.len() + key.len());
            channel.extend_from_slice(b"__keyspace@");
            channel.extend_from_slice(db_digits.as_bytes());
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(key);
            self.publish(&channel, event.as_bytes());
        }
        if enabled & NOTIFY_KEYEVENT != 0 {
            let mut channel = Vec::with_capacity(16 + db_digits.len() + event.len());
            channel.extend_from_slice(b"__keyevent@");
            channel.extend_from_slice(db_digits.as_bytes());
            channel.extend_from_slice(b"__:");
            channel.extend_from_slice(event.as_bytes());
            self.publish(&channel, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::ConnId;
    use crate::testing::{decode, Frame, TestServer};

    /// A server with notifications of `classes` on, a writer and a subscriber to every
    /// key event of every database.
    fn setup(classes: &str) -> (TestServer, ConnId, ConnId) {
        let config = crate::Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        };
        let mut t = TestServer::with_config(config);
        let writer = t.connect();
        let sub = t.connect();
        let set = ["CONFIG", "SET", "notify-keyspace-events", classes];
        assert_eq!(t.cmd_on(writer, &set), Frame::ok());
        t.cmd_on(sub, &["PSUBSCRIBE", "__key*__:*"]);
        (t, writer, sub)
    }

    /// The (channel, message) pairs the subscriber received since the last call.
    fn received(t: &mut TestServer, sub: ConnId) -> Vec<(String, String)> {
        let out = t.take_output(sub);
        let mut pos = 0;
        let mut got = Vec::new();
        while let Some((frame, used)) = decode(&out[pos..]) {
            pos += used;
            let Frame::Array(items) = frame else {
                panic!("not a message: {frame:?}")
            };
            assert_eq!(items[0], Frame::bulk("pmessage"));
            got.push((items[2].as_str(), items[3].as_str()));
        }
        assert_eq!(pos, out.len());
        got
    }

    /// Key events only, as "event key" strings, in order.
    fn events(t: &mut TestServer, sub: ConnId) -> Vec<String> {
        received(t, sub)
            .into_iter()
            .filter_map(|(channel, key)| {
                let event = channel.strip_prefix("__keyevent@")?;
                let (_, event) = event.split_once("__:")?;
                Some(format!("{event} {key}"))
            })
            .collect()
    }

    /// Run `setup` quietly, then `cmd`, and return the events `cmd` caused.
    /// Commands run before, the command observed, and the events it must cause.
    type Row<'a> = (&'a [&'a [&'a str]], &'a [&'a str], &'a [&'a str]);

    fn check(rows: &[Row<'_>]) {
        for (before, cmd, want) in rows {
            let (mut t, writer, sub) = setup("KEAnm");
            for c in before.iter() {
                t.cmd_on(writer, c);
            }
            events(&mut t, sub);
            t.cmd_on(writer, cmd);
            assert_eq!(
                events(&mut t, sub),
                *want,
                "events of {cmd:?} after {before:?}"
            );
        }
    }

    #[test]
    fn parse_and_format_round_trip_like_redis() {
        assert_eq!(parse_classes(b""), Some(0));
        assert_eq!(format_classes(0), "");
        assert_eq!(
            parse_classes(b"KEA"),
            Some(NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL)
        );
        assert_eq!(format_classes(parse_classes(b"AKE").unwrap()), "AKE");
        assert_eq!(format_classes(parse_classes(b"EKA").unwrap()), "AKE");
        // Every letter of A spelled out collapses to A.
        assert_eq!(format_classes(parse_classes(b"g$lshzxetd").unwrap()), "A");
        assert_eq!(format_classes(parse_classes(b"Elg").unwrap()), "glE");
        assert_eq!(format_classes(parse_classes(b"nmxK").unwrap()), "xnKm");
        // Redis 7.0 drops n once A is on.
        assert_eq!(format_classes(parse_classes(b"AnK").unwrap()), "AK");
        assert_eq!(format_classes(parse_classes(b"ggg").unwrap()), "g");
        assert_eq!(parse_classes(b"Kw"), None);
        assert_eq!(parse_classes(b"a"), None);
        assert_eq!(parse_classes(b" "), None);
    }

    #[test]
    fn config_get_set_uses_redis_rules() {
        let mut t = TestServer::new();
        let get = |t: &mut TestServer| t.cmd(&["CONFIG", "GET", "notify-keyspace-events"]);
        assert_eq!(
            get(&mut t),
            Frame::array_of_bulks(&["notify-keyspace-events", ""])
        );
        for (set, shown) in [
            ("KEA", "AKE"),
            ("Kx", "xK"),
            ("An", "A"),
            ("", ""),
            ("$lshzE", "$lshzE"),
        ] {
            assert_eq!(
                t.cmd(&["CONFIG", "SET", "notify-keyspace-events", set]),
                Frame::ok()
            );
            assert_eq!(
                get(&mut t),
                Frame::array_of_bulks(&["notify-keyspace-events", shown])
            );
        }
        assert_eq!(
            t.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEw"]),
            Frame::err("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        );
        assert_eq!(
            get(&mut t),
            Frame::array_of_bulks(&["notify-keyspace-events", "$lshzE"])
        );
    }

    #[test]
    fn channels_name_the_database_and_follow_k_and_e() {
        let (mut t, writer, sub) = setup("KEg$");
        t.cmd_on(writer, &["SELECT", "9"]);
        t.cmd_on(writer, &["SET", "k", "v"]);
        assert_eq!(
            received(&mut t, sub),
            [
                ("__keyspace@9__:k".to_string(), "set".to_string()),
                ("__keyevent@9__:set".to_string(), "k".to_string()),
            ]
        );
        // Only K: no keyevent channel; only E: no keyspace channel.
        t.cmd_on(writer, &["CONFIG", "SET", "notify-keyspace-events", "K$"]);
        t.cmd_on(writer, &["SET", "k", "v"]);
        assert_eq!(
            received(&mut t, sub),
            [("__keyspace@9__:k".into(), "set".into())]
        );
        t.cmd_on(writer, &["CONFIG", "SET", "notify-keyspace-events", "E$"]);
        t.cmd_on(writer, &["SET", "k", "v"]);
        assert_eq!(
            received(&mut t, sub),
            [("__keyevent@9__:set".into(), "k".into())]
        );
        // A class that is off publishes nothing; K or E alone with no class neither.
        t.cmd_on(writer, &["DEL", "k"]);
        t.cmd_on(writer, &["CONFIG", "SET", "notify-keyspace-events", "KE"]);
        t.cmd_on(writer, &["SET", "k", "v"]);
        assert!(received(&mut t, sub).is_empty());
        // Binary keys travel as they are.
        t.cmd_on(writer, &["CONFIG", "SET", "notify-keyspace-events", "KA"]);
        t.cmd_bytes_on(writer, &[b"SET", b"a\x00\r\nb", b"v"]);
        assert_eq!(
            received(&mut t, sub),
            [("__keyspace@9__:a\u{0}\r\nb".into(), "set".into())]
        );
    }

    #[test]
    fn new_and_keymiss_are_outside_a() {
        let (mut t, writer, sub) = setup("EA");
        t.cmd_on(writer, &["GET", "missing"]);
        t.cmd_on(writer, &["SET", "k", "v"]);
        assert_eq!(events(&mut t, sub), ["set k"]);
        t.cmd_on(writer, &["CONFIG", "SET", "notify-keyspace-events", "Enm"]);
        t.cmd_on(writer, &["GET", "missing"]);
        t.cmd_on(writer, &["SET", "k2", "v"]);
        // OBJECT and DEBUG look keys up without a keymiss event; TYPE and TTL do not.
        t.cmd_on(writer, &["OBJECT", "ENCODING", "missing"]);
        t.cmd_on(writer, &["TYPE", "missing"]);
        t.cmd_on(writer, &["TTL", "missing"]);
        t.cmd_on(writer, &["EXISTS", "missing"]);
        // Writes look up without keymiss.
        t.cmd_on(writer, &["DEL", "missing"]);
        t.cmd_on(writer, &["LPUSHX", "missing", "x"]);
        assert_eq!(
            events(&mut t, sub),
            [
                "keymiss missing",
                "new k2",
                "keymiss missing",
                "keymiss missing",
                "keymiss missing"
            ]
        );
    }

    #[test]
    fn string_events() {
        check(&[
            (&[], &["SET", "k", "v"], &["new k", "set k"]),
            (&[&["SET", "k", "1"]], &["SET", "k", "v"], &["set k"]),
            (
                &[],
                &["SET", "k", "v", "EX", "10"],
                &["new k", "set k", "expire k"],
            ),
            (&[&["SET", "k", "1"]], &["SET", "k", "v", "NX"], &[]),
            (&[], &["SET", "k", "v", "XX"], &[]),
            (
                &[],
                &["SET", "k", "v", "GET"],
                &["keymiss k", "new k", "set k"],
            ),
            (&[], &["SETNX", "k", "v"], &["new k", "set k"]),
            (
                &[],
                &["SETEX", "k", "10", "v"],
                &["new k", "set k", "expire k"],
            ),
            (
                &[],
                &["PSETEX", "k", "10", "v"],
                &["new k", "set k", "expire k"],
            ),
            (
                &[&["SET", "k", "1"]],
                &["GETEX", "k", "EX", "10"],
                &["expire k"],
            ),
            (
                &[&["SET", "k", "1"]],
                &["GETEX", "k", "PXAT", "1"],
                &["del k"],
            ),
            (
                &[&["SET", "k", "1", "EX", "9"]],
                &["GETEX", "k", "PERSIST"],
                &["persist k"],
            ),
            (&[&["SET", "k", "1"]], &["GETEX", "k", "PERSIST"], &[]),
            (&[&["SET", "k", "1"]], &["GETEX", "k"], &[]),
            (&[], &["GETEX", "k"], &["keymiss k"]),
            (&[&["SET", "k", "1"]], &["GETDEL", "k"], &["del k"]),
            (&[], &["GETDEL", "k"], &["keymiss k"]),
            (&[&["SET", "k", "1"]], &["GETSET", "k", "2"], &["set k"]),
            (&[], &["GETSET", "k", "2"], &["keymiss k", "new k", "set k"]),
            (
                &[&["SET", "b", "1"]],
                &["MSET", "a", "1", "b", "2"],
                &["new a", "set a", "set b"],
            ),
            (&[&["SET", "b", "1"]], &["MSETNX", "a", "1", "b", "2"], &[]),
            (
                &[],
                &["MSETNX", "a", "1", "b", "2"],
                &["new a", "set a", "new b", "set b"],
            ),
            (&[], &["APPEND", "k", "x"], &["new k", "append k"]),
            (&[&["SET", "k", "1"]], &["APPEND", "k", "x"], &["append k"]),
            (&[], &["SETRANGE", "k", "2", "x"], &["new k", "setrange k"]),
            (&[], &["SETRANGE", "k", "2", ""], &[]),
            (&[&["SET", "k", "1"]], &["SETRANGE", "k", "0", ""], &[]),
            (&[], &["INCR", "k"], &["new k", "incrby k"]),
            (&[&["SET", "k", "1"]], &["DECR", "k"], &["incrby k"]),
            (&[&["SET", "k", "1"]], &["INCRBY", "k", "5"], &["incrby k"]),
            (&[&["SET", "k", "1"]], &["DECRBY", "k", "5"], &["incrby k"]),
            (&[&["SET", "k", "x"]], &["INCR", "k"], &[]),
            (
                &[],
                &["INCRBYFLOAT", "k", "1.5"],
                &["new k", "incrbyfloat k"],
            ),
            (&[&["SET", "k", "1"]], &["GET", "k"], &[]),
            (&[], &["STRLEN", "k"], &["keymiss k"]),
            (&[], &["MGET", "a", "b"], &["keymiss a", "keymiss b"]),
        ]);
    }

    #[test]
    fn generic_events() {
        check(&[
            (&[&["SET", "a", "1"]], &["DEL", "a", "b"], &["del a"]),
            (&[&["SET", "a", "1"]], &["UNLINK", "a"], &["del a"]),
            (&[&["SET", "a", "1"]], &["EXPIRE", "a", "10"], &["expire a"]),
            (
                &[&["SET", "a", "1"]],
                &["PEXPIRE", "a", "10"],
                &["expire a"],
            ),
            (&[&["SET", "a", "1"]], &["EXPIREAT", "a", "1"], &["del a"]),
            (
                &[&["SET", "a", "1"]],
                &["PEXPIREAT", "a", "99999999999999"],
                &["expire a"],
            ),
            (&[&["SET", "a", "1"]], &["EXPIRE", "a", "10", "XX"], &[]),
            (&[], &["EXPIRE", "a", "10"], &[]),
            (
                &[&["SET", "a", "1", "EX", "9"]],
                &["PERSIST", "a"],
                &["persist a"],
            ),
            (&[&["SET", "a", "1"]], &["PERSIST", "a"], &[]),
            (
                &[&["SET", "a", "1"]],
                &["RENAME", "a", "b"],
                &["new b", "rename_from a", "rename_to b"],
            ),
            (
                &[&["SET", "a", "1"], &["SET", "b", "2"]],
                &["RENAMENX", "a", "b"],
                &[],
            ),
            (
                &[&["SET", "a", "1"], &["SET", "b", "2"]],
                &["RENAME", "a", "b"],
                &["new b", "rename_from a", "rename_to b"],
            ),
            (&[&["SET", "a", "1"]], &["RENAME", "a", "a"], &[]),
            (
                &[&["SET", "a", "1"]],
                &["COPY", "a", "b"],
                &["new b", "copy_to b"],
            ),
            (
                &[&["SET", "a", "1"], &["SET", "b", "1"]],
                &["COPY", "a", "b"],
                &[],
            ),
            (
                &[&["SET", "a", "1"], &["SET", "b", "1"]],
                &["COPY", "a", "b", "REPLACE"],
                &["new b", "copy_to b"],
            ),
            (&[], &["COPY", "a", "b"], &["keymiss a"]),
            (
                &[&["SET", "a", "1"]],
                &["MOVE", "a", "3"],
                &["new a", "move_from a", "move_to a"],
            ),
            (&[&["SET", "a", "1"]], &["FLUSHDB"], &[]),
            (&[&["SET", "a", "1"]], &["FLUSHALL"], &[]),
            (&[&["SET", "a", "1"]], &["SWAPDB", "0", "1"], &[]),
            (&[&["SET", "a", "1"]], &["TOUCH", "a", "b"], &["keymiss b"]),
        ]);
        // MOVE names both databases.
        let (mut t, writer, sub) = setup("KEg");
        t.cmd_on(writer, &["SET", "a", "1"]);
        t.cmd_on(writer, &["MOVE", "a", "3"]);
        assert_eq!(
            received(&mut t, sub),
            [
                ("__keyspace@0__:a".into(), "move_from".into()),
                ("__keyevent@0__:move_from".into(), "a".into()),
                ("__keyspace@3__:a".into(), "move_to".into()),
                ("__keyevent@3__:move_to".into(), "a".into()),
            ]
        );
    }

    #[test]
    fn expiry_events_lazy_and_active() {
        let (mut t, writer, sub) = setup("KEA");
        t.cmd_on(writer, &["SET", "lazy", "1", "PX", "10"]);
        t.cmd_on(writer, &["SET", "active", "1", "PX", "10"]);
        t.cmd_on(writer, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        events(&mut t, sub);
        t.jump_wall_ms(100);
        assert_eq!(t.cmd_on(writer, &["GET", "lazy"]), Frame::Null);
        assert_eq!(events(&mut t, sub), ["expired lazy"]);
        // A write to an expired key expires it first, then creates it anew.
        t.cmd_on(writer, &["SET", "w", "1", "PX", "10"]);
        events(&mut t, sub);
        t.jump_wall_ms(100);
        t.cmd_on(writer, &["LPUSH", "w", "x"]);
        assert_eq!(events(&mut t, sub), ["expired w", "lpush w"]);
        t.cmd_on(writer, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        for _ in 0..20 {
            t.advance_ms(100);
        }
        assert_eq!(events(&mut t, sub), ["expired active"]);
        assert_eq!(t.server.stats.expired_keys, 3);
    }

    #[test]
    fn hash_events() {
        check(&[
            (&[], &["HSET", "h", "f", "v"], &["new h", "hset h"]),
            (
                &[&["HSET", "h", "f", "v"]],
                &["HSET", "h", "f", "v"],
                &["hset h"],
            ),
            (
                &[],
                &["HMSET", "h", "f", "v", "g", "w"],
                &["new h", "hset h"],
            ),
            (&[&["HSET", "h", "f", "v"]], &["HSETNX", "h", "f", "v"], &[]),
            (
                &[&["HSET", "h", "f", "v"]],
                &["HSETNX", "h", "g", "v"],
                &["hset h"],
            ),
            (&[&["HSET", "h", "f", "v"]], &["HDEL", "h", "x"], &[]),
            (
                &[&["HSET", "h", "f", "v", "g", "w"]],
                &["HDEL", "h", "f"],
                &["hdel h"],
            ),
            (
                &[&["HSET", "h", "f", "v"]],
                &["HDEL", "h", "f", "g"],
                &["hdel h", "del h"],
            ),
            (&[], &["HINCRBY", "h", "f", "2"], &["new h", "hincrby h"]),
            (
                &[&["HSET", "h", "f", "x"]],
                &["HINCRBY", "h", "f", "2"],
                &[],
            ),
            (
                &[],
                &["HINCRBYFLOAT", "h", "f", "2.5"],
                &["new h", "hincrbyfloat h"],
            ),
            (&[], &["HGET", "h", "f"], &["keymiss h"]),
            (&[], &["HGETALL", "h"], &["keymiss h"]),
        ]);
    }

    #[test]
    fn list_events() {
        let abc: &[&[&str]] = &[&["RPUSH", "l", "a", "b", "c"]];
        check(&[
            (&[], &["LPUSH", "l", "a", "b"], &["new l", "lpush l"]),
            (&[], &["RPUSH", "l", "a"], &["new l", "rpush l"]),
            (&[], &["LPUSHX", "l", "a"], &[]),
            (abc, &["RPUSHX", "l", "d"], &["rpush l"]),
            (abc, &["LINSERT", "l", "BEFORE", "b", "x"], &["linsert l"]),
            (abc, &["LINSERT", "l", "BEFORE", "z", "x"], &[]),
            (abc, &["LSET", "l", "0", "x"], &["lset l"]),
            (abc, &["LSET", "l", "9", "x"], &[]),
            (abc, &["LREM", "l", "0", "z"], &[]),
            (abc, &["LREM", "l", "0", "b"], &["lrem l"]),
            (
                &[&["RPUSH", "l", "a", "a"]],
                &["LREM", "l", "0", "a"],
                &["lrem l", "del l"],
            ),
            (abc, &["LTRIM", "l", "0", "-1"], &["ltrim l"]),
            (abc, &["LTRIM", "l", "5", "9"], &["ltrim l", "del l"]),
            (&[], &["LTRIM", "l", "0", "1"], &[]),
            (abc, &["LPOP", "l"], &["lpop l"]),
            (abc, &["RPOP", "l", "5"], &["rpop l", "del l"]),
            (abc, &["LPOP", "l", "0"], &[]),
            (&[], &["LPOP", "l"], &[]),
            (
                abc,
                &["LMPOP", "2", "x", "l", "RIGHT", "COUNT", "2"],
                &["rpop l"],
            ),
            (
                abc,
                &["LMOVE", "l", "m", "LEFT", "RIGHT"],
                &["new m", "rpush m", "lpop l"],
            ),
            (
                &[&["RPUSH", "l", "a"]],
                &["RPOPLPUSH", "l", "m"],
                &["new m", "lpush m", "rpop l", "del l"],
            ),
            (abc, &["RPOPLPUSH", "l", "l"], &["lpush l", "rpop l"]),
            (&[], &["LRANGE", "l", "0", "-1"], &["keymiss l"]),
        ]);
    }

    #[test]
    fn set_events() {
        let ab: &[&[&str]] = &[&["SADD", "s", "a", "b"]];
        check(&[
            (&[], &["SADD", "s", "a"], &["new s", "sadd s"]),
            (ab, &["SADD", "s", "a"], &[]),
            (ab, &["SREM", "s", "z"], &[]),
            (ab, &["SREM", "s", "a"], &["srem s"]),
            (ab, &["SREM", "s", "a", "b", "c"], &["srem s", "del s"]),
            (ab, &["SPOP", "s"], &["spop s"]),
            (&[&["SADD", "s", "a"]], &["SPOP", "s"], &["spop s", "del s"]),
            (ab, &["SPOP", "s", "1"], &["spop s"]),
            (ab, &["SPOP", "s", "5"], &["spop s", "del s"]),
            (ab, &["SPOP", "s", "0"], &[]),
            (
                ab,
                &["SMOVE", "s", "t", "a"],
                &["srem s", "new t", "sadd t"],
            ),
            (
                &[&["SADD", "s", "a"], &["SADD", "t", "a"]],
                &["SMOVE", "s", "t", "a"],
                &["srem s", "del s"],
            ),
            (ab, &["SMOVE", "s", "t", "z"], &[]),
            (ab, &["SMOVE", "s", "s", "a"], &[]),
            (ab, &["SINTERSTORE", "d", "s"], &["new d", "sinterstore d"]),
            (
                &[&["SET", "d", "1"]],
                &["SINTERSTORE", "d", "s", "x"],
                &["keymiss s", "keymiss x", "del d"],
            ),
            (&[], &["SINTERSTORE", "d", "s"], &["keymiss s"]),
            (
                &[&["SADD", "s", "a"], &["SADD", "t", "b"], &["SET", "d", "1"]],
                &["SINTERSTORE", "d", "s", "t"],
                &["del d"],
            ),
            (
                ab,
                &["SUNIONSTORE", "d", "s", "x"],
                &["keymiss x", "new d", "sunionstore d"],
            ),
            (ab, &["SDIFFSTORE", "d", "s", "s"], &[]),
            (
                &[&["SADD", "s", "a"], &["SADD", "d", "a"]],
                &["SDIFFSTORE", "d", "s", "s"],
                &["del d"],
            ),
            (ab, &["SDIFFSTORE", "d", "s"], &["new d", "sdiffstore d"]),
        ]);
    }

    #[test]
    fn zset_events() {
        let ab: &[&[&str]] = &[&["ZADD", "z", "1", "a", "2", "b"]];
        check(&[
            (&[], &["ZADD", "z", "1", "a"], &["new z", "zadd z"]),
            (ab, &["ZADD", "z", "1", "a"], &[]),
            (ab, &["ZADD", "z", "5", "a"], &["zadd z"]),
            (&[], &["ZADD", "z", "XX", "1", "a"], &[]),
            (ab, &["ZADD", "z", "NX", "5", "a"], &[]),
            (ab, &["ZADD", "z", "INCR", "5", "a"], &["zincr z"]),
            (ab, &["ZINCRBY", "z", "5", "a"], &["zincr z"]),
            (
                &[&["ZADD", "z", "+inf", "a"]],
                &["ZINCRBY", "z", "-inf", "a"],
                &[],
            ),
            (ab, &["ZREM", "z", "x"], &[]),
            (ab, &["ZREM", "z", "a"], &["zrem z"]),
            (ab, &["ZREM", "z", "a", "b"], &["zrem z", "del z"]),
            (
                ab,
                &["ZREMRANGEBYRANK", "z", "0", "0"],
                &["zremrangebyrank z"],
            ),
            (ab, &["ZREMRANGEBYRANK", "z", "5", "9"], &[]),
            (
                ab,
                &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"],
                &["zremrangebyscore z", "del z"],
            ),
            (
                ab,
                &["ZREMRANGEBYLEX", "z", "[a", "[a"],
                &["zremrangebylex z"],
            ),
            (ab, &["ZPOPMIN", "z"], &["zpopmin z"]),
            (ab, &["ZPOPMAX", "z", "5"], &["zpopmax z", "del z"]),
            (ab, &["ZPOPMAX", "z", "0"], &[]),
            (ab, &["ZMPOP", "2", "x", "z", "MIN"], &["zpopmin z"]),
            (
                ab,
                &["ZUNIONSTORE", "d", "2", "z", "x"],
                &["keymiss x", "new d", "zunionstore d"],
            ),
            (
                ab,
                &["ZINTERSTORE", "d", "1", "z"],
                &["new d", "zinterstore d"],
            ),
            (
                &[&["SET", "d", "1"]],
                &["ZINTERSTORE", "d", "2", "z", "x"],
                &["keymiss z", "keymiss x", "del d"],
            ),
            (
                ab,
                &["ZDIFFSTORE", "d", "1", "z"],
                &["new d", "zdiffstore d"],
            ),
            (
                ab,
                &["ZRANGESTORE", "d", "z", "0", "0"],
                &["new d", "zrangestore d"],
            ),
            (
                &[&["SET", "d", "1"]],
                &["ZRANGESTORE", "d", "z", "0", "0"],
                &["keymiss z", "del d"],
            ),
            (&[], &["ZRANGESTORE", "d", "z", "0", "0"], &["keymiss z"]),
        ]);
    }

    #[test]
    fn sort_events() {
        let l: &[&[&str]] = &[&["RPUSH", "l", "3", "1", "2"]];
        check(&[
            (l, &["SORT", "l", "STORE", "d"], &["new d", "sortstore d"]),
            (
                l,
                &["SORT", "l", "BY", "w_*", "GET", "o_*", "STORE", "d"],
                &[
                    "keymiss w_3",
                    "keymiss w_1",
                    "keymiss w_2",
                    // Equal (missing) weights order by the elements themselves.
                    "keymiss o_1",
                    "keymiss o_2",
                    "keymiss o_3",
                    "new d",
                    "sortstore d",
                ],
            ),
            (
                &[&["SET", "d", "1"]],
                &["SORT", "l", "STORE", "d"],
                &["keymiss l", "del d"],
            ),
            (&[], &["SORT", "l", "STORE", "d"], &["keymiss l"]),
        ]);
    }

    #[test]
    fn events_of_a_transaction_leave_in_command_order_and_reach_resp3_as_pushes() {
        let (mut t, writer, sub) = setup("EA");
        t.cmd_on(writer, &["MULTI"]);
        t.cmd_on(writer, &["SET", "a", "1"]);
        t.cmd_on(writer, &["LPUSH", "l", "x"]);
        t.cmd_on(writer, &["DEL", "a"]);
        // Nothing is published while commands are only queued.
        assert!(events(&mut t, sub).is_empty());
        t.cmd_on(writer, &["EXEC"]);
        assert_eq!(events(&mut t, sub), ["set a", "lpush l", "del a"]);
        let resp3 = t.connect();
        t.cmd_on(resp3, &["HELLO", "3"]);
        t.send_raw(
            resp3,
            &crate::testing::encode_command(&[b"SUBSCRIBE", b"__keyevent@0__:del"]),
        );
        t.take_output(resp3);
        t.cmd_on(writer, &["DEL", "l"]);
        assert_eq!(
            t.take_output(resp3),
            b">3\r\n$7\r\nmessage\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nl\r\n"
        );
    }
}
