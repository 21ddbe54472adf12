//! DUMP and RESTORE (Redis 7.0's cluster.c dumpCommand / restoreCommand): a key's
//! value as an RDB payload with version and CRC-64 footer, and back. The bytes and
//! the decoding are `rdb/`'s; this file owns the options, the errors and the
//! keyspace side (BUSYKEY, TTLs, idle time, notifications).

use super::{arg_i64, ERR_SYNTAX};
use crate::command::{Ctx, Handler};
use crate::config::SanitizeDump;
use crate::rdb::{self, DumpError, EncodeOpts, LoadLimits};
use crate::server::notify::NOTIFY_GENERIC;
use crate::server::{Server, LRU_CLOCK_MAX};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("dump", dump),
    ("restore", restore),
    // Outside cluster mode RESTORE-ASKING is RESTORE (same handler in Redis).
    ("restore-asking", restore),
];

const ERR_BUSYKEY: &str = "-BUSYKEY Target key name already exists.";
const ERR_PAYLOAD: &str = "DUMP payload version or checksum are wrong";
const ERR_BAD_FORMAT: &str = "Bad data format";

fn dump(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let opts = EncodeOpts {
        compress: srv.config.rdbcompression,
    };
    match srv.lookup_read(ctx.db, ctx.arg(1)) {
        None => ctx.reply.null(),
        Some(obj) => {
            let payload = rdb::dump_payload(&obj.value, opts);
            ctx.reply.bulk(&payload);
        }
    }
}

fn restore(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < ctx.argc() {
        let more = ctx.argc() - j - 1;
        let opt = ctx.arg(j).to_ascii_lowercase();
        if opt == b"replace" {
            replace = true;
        } else if opt == b"absttl" {
            absttl = true;
        } else if opt == b"idletime" && more >= 1 && freq.is_none() {
            let Some(v) = arg_i64(ctx, j + 1) else {
                return;
            };
            if v < 0 {
                ctx.reply.error("Invalid IDLETIME value, must be >= 0");
                return;
            }
            idle = Some(v);
            j += 1;
        } else if opt == b"freq" && more >= 1 && idle.is_none() {
            let Some(v) = arg_i64(ctx, j + 1) else {
                return;
            };
            if !(0..=255).contains(&v) {
                ctx.reply
                    .error("Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            freq = Some(v);
            j += 1;
        } else {
            ctx.reply.error(ERR_SYNTAX);
            return;
        }
        j += 1;
    }
    let key = ctx.arg(1);
    if !replace && srv.lookup_write(ctx.db, key).is_some() {
        ctx.reply.error(ERR_BUSYKEY);
        return;
    }
    let Some(mut ttl) = arg_i64(ctx, 2) else {
        return;
    };
    if ttl < 0 {
        ctx.reply.error("Invalid TTL value, must be >= 0");
        return;
    }
    let limits = LoadLimits::from_config(&srv.config, srv.list_packed_threshold);
    let mut blobs = 0;
    let decoded = rdb::decode_dump_payload(ctx.arg(3), &limits, &mut srv.rng, true, &mut blobs);
    // Payloads are always validated in full; `sanitize-dump-payload` decides, as in
    // Redis, whether that counts as sanitization (`clients`: every RESTORE here,
    // since no client is a master or an ACL user allowed to skip it).
    if srv.config.sanitize_dump_payload != SanitizeDump::No {
        srv.stats.dump_payload_sanitizations += blobs;
    }
    let value = match decoded {
        Ok(v) => v,
        Err(DumpError::VersionOrChecksum) => {
            ctx.reply.error(ERR_PAYLOAD);
            return;
        }
        Err(DumpError::BadFormat(_)) => {
            ctx.reply.error(ERR_BAD_FORMAT);
            return;
        }
    };
    let deleted = replace && srv.delete_key(ctx.db, key);
    // Redis adds the relative TTL to mstime() without an overflow check.
    if ttl != 0 && !absttl {
        ttl = ttl.wrapping_add(srv.wall_ms());
    }
    if ttl != 0 && srv.already_expired(ttl) {
        if deleted {
            // Replicas and the AOF see the deletion, not a RESTORE they would refuse.
            ctx.rewrite_argv_with(|_| vec![b"DEL".to_vec(), key.to_vec()]);
            srv.signal_modified_key(ctx.db, key);
            srv.notify_keyspace_event(NOTIFY_GENERIC, "del", key, ctx.db);
            srv.mark_dirty(1);
        }
        ctx.reply.ok();
        return;
    }
    srv.db_add(ctx.db, key, value);
    if ttl != 0 {
        srv.set_expire(ctx.db, key, ttl);
        if !absttl {
            // The relative TTL propagates as the absolute deadline it became.
            ctx.rewrite_arg(2, ttl.to_string().as_bytes());
            let end = ctx.prop.argv.as_ref().map_or(0, |a| a.len());
            ctx.rewrite_arg(end, b"ABSTTL");
        }
    }
    // objectSetLRUOrLFU: with no LFU policy (cinnabar has none yet) FREQ is
    // accepted and ignored, IDLETIME backdates the access clock.
    if let Some(idle) = idle {
        let clock = srv.lru_clock() as i64;
        let idle = idle.wrapping_mul(1000) / 1000;
        let lru = clock
            .wrapping_sub(idle)
            .rem_euclid(LRU_CLOCK_MAX as i64 + 1) as u32;
        if let Some(obj) = srv.dbs[ctx.db].peek_mut(key) {
            obj.lru = lru;
        }
    }
    srv.signal_modified_key(ctx.db, key);
    srv.notify_keyspace_event(NOTIFY_GENERIC, "restore", key, ctx.db);
    ctx.reply.ok();
    srv.mark_dirty(1);
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn payload(t: &mut TestServer, key: &str) -> Vec<u8> {
        match t.cmd(&["DUMP", key]) {
            Frame::Bulk(b) => b,
            other => panic!("DUMP {key}: {other:?}"),
        }
    }

    fn restore(t: &mut TestServer, args: &[&[u8]]) -> Frame {
        let mut all: Vec<&[u8]> = vec![b"RESTORE"];
        all.extend_from_slice(args);
        let conn = t.default_conn();
        t.cmd_bytes_on(conn, &all)
    }

    #[test]
    fn dump_and_restore_every_type() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "value"]);
        t.cmd(&["RPUSH", "l", "a", "b"]);
        t.cmd(&["SADD", "set", "1", "x"]);
        t.cmd(&["HSET", "h", "f", "v"]);
        t.cmd(&["ZADD", "z", "1", "m"]);
        assert_eq!(t.cmd(&["DUMP", "missing"]), Frame::Null);
        for key in ["s", "l", "set", "h", "z"] {
            let p = payload(&mut t, key);
            let before = t.cmd(&["DEBUG", "DIGEST-VALUE", key]);
            let copy = format!("{key}-copy");
            assert_eq!(restore(&mut t, &[copy.as_bytes(), b"0", &p]), Frame::ok());
            assert_eq!(t.cmd(&["DEBUG", "DIGEST-VALUE", &copy]), before);
            assert_eq!(t.cmd(&["TTL", &copy]), Frame::Int(-1));
            assert_eq!(payload(&mut t, &copy), p);
        }
    }

    #[test]
    fn restore_errors_match_redis() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "value"]);
        let p = payload(&mut t, "s");
        assert_eq!(
            restore(&mut t, &[b"s", b"0", &p]),
            Frame::err("BUSYKEY Target key name already exists.")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"-1", &p]),
            Frame::err("ERR Invalid TTL value, must be >= 0")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"x", &p]),
            Frame::err("ERR value is not an integer or out of range")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &p, b"bogus"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &p, b"IDLETIME", b"-1"]),
            Frame::err("ERR Invalid IDLETIME value, must be >= 0")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &p, b"FREQ", b"256"]),
            Frame::err("ERR Invalid FREQ value, must be >= 0 and <= 255")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &p, b"FREQ", b"1", b"IDLETIME", b"1"]),
            Frame::err("ERR syntax error")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &p, b"IDLETIME"]),
            Frame::err("ERR syntax error")
        );
        let mut bad = p.clone();
        bad[1] ^= 1;
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &bad]),
            Frame::err("ERR DUMP payload version or checksum are wrong")
        );
        assert_eq!(
            restore(&mut t, &[b"n", b"0", b"short"]),
            Frame::err("ERR DUMP payload version or checksum are wrong")
        );
        // A well-formed footer over a body that does not decode.
        let mut body = b"\x04\x05\x01f".to_vec();
        body.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64::checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &body]),
            Frame::err("ERR Bad data format")
        );
        // 7.2's set listpack (type 20) is not an object type for a version-10
        // payload: Redis 7.0 refuses it too.
        let mut body = b"\x14\x0d\x0d\x00\x00\x00\x01\x00\x81a\x02\xff".to_vec();
        body.extend_from_slice(&10u16.to_le_bytes());
        let crc = crate::rdb::crc64::checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(
            restore(&mut t, &[b"n", b"0", &body]),
            Frame::err("ERR Bad data format")
        );
        assert_eq!(t.cmd(&["EXISTS", "n"]), Frame::Int(0));
    }

    #[test]
    fn restore_ttls_replace_and_idle_time() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "value"]);
        let p = payload(&mut t, "s");
        assert_eq!(restore(&mut t, &[b"a", b"5000", &p]), Frame::ok());
        assert_eq!(t.cmd(&["PTTL", "a"]), Frame::Int(5000));
        let abs = (crate::testing::TEST_EPOCH_US / 1000 + 9000).to_string();
        assert_eq!(
            restore(&mut t, &[b"b", abs.as_bytes(), &p, b"ABSTTL"]),
            Frame::ok()
        );
        assert_eq!(t.cmd(&["PTTL", "b"]), Frame::Int(9000));
        // An absolute TTL in the past: OK, but no key; with REPLACE the old key goes.
        assert_eq!(restore(&mut t, &[b"c", b"1", &p, b"ABSTTL"]), Frame::ok());
        assert_eq!(t.cmd(&["EXISTS", "c"]), Frame::Int(0));
        assert_eq!(
            restore(&mut t, &[b"s", b"1", &p, b"ABSTTL", b"REPLACE"]),
            Frame::ok()
        );
        assert_eq!(t.cmd(&["EXISTS", "s"]), Frame::Int(0));
        // REPLACE over a key of another type.
        t.cmd(&["RPUSH", "l", "x"]);
        assert_eq!(restore(&mut t, &[b"l", b"0", &p, b"replace"]), Frame::ok());
        assert_eq!(t.cmd(&["GET", "l"]), Frame::bulk("value"));
        assert_eq!(
            restore(&mut t, &[b"i", b"0", &p, b"IDLETIME", b"1000", b"FREQ"]),
            Frame::err("ERR syntax error")
        );
        // Past the first 1000 s of the LRU clock, so the idle time does not wrap
        // (where Redis's estimate, and ours, is a second short).
        t.advance_ms(2_000_000);
        assert_eq!(
            restore(&mut t, &[b"i", b"0", &p, b"IDLETIME", b"1000"]),
            Frame::ok()
        );
        assert_eq!(t.cmd(&["OBJECT", "IDLETIME", "i"]), Frame::Int(1000));
        assert_eq!(
            restore(&mut t, &[b"f", b"0", &p, b"FREQ", b"5"]),
            Frame::ok()
        );
    }

    fn sanitizations(t: &mut TestServer) -> String {
        let info = match t.cmd(&["INFO", "stats"]) {
            Frame::Bulk(b) => String::from_utf8(b).unwrap(),
            other => panic!("{other:?}"),
        };
        info.lines()
            .find(|l| l.starts_with("dump_payload_sanitizations:"))
            .unwrap()
            .to_string()
    }

    #[test]
    fn sanitize_dump_payload_counts_like_redis() {
        // redis-server 7.0: one count per listpack/intset blob, under yes and clients.
        let mut t = TestServer::new();
        t.cmd(&["HSET", "h", "f", "v"]);
        t.cmd(&["RPUSH", "l", "a", "b"]);
        t.cmd(&["SADD", "s", "1", "2"]);
        t.cmd(&["ZADD", "z", "1", "a"]);
        let ps: Vec<Vec<u8>> = ["h", "l", "s", "z"].map(|k| payload(&mut t, k)).into();
        for (mode, want) in [("no", 0), ("yes", 4), ("clients", 4)] {
            t.cmd(&["CONFIG", "SET", "sanitize-dump-payload", mode]);
            t.cmd(&["CONFIG", "RESETSTAT"]);
            for p in &ps {
                assert_eq!(
                    restore(&mut t, &[b"copy", b"0", p, b"REPLACE"]),
                    Frame::ok()
                );
            }
            assert_eq!(
                sanitizations(&mut t),
                format!("dump_payload_sanitizations:{want}"),
                "{mode}"
            );
        }
    }

    #[test]
    fn restore_notifies_and_signals() {
        let mut t = TestServer::new();
        t.cmd(&["SET", "s", "value"]);
        let p = payload(&mut t, "s");
        t.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEg"]);
        let sub = t.connect();
        t.cmd_on(sub, &["PSUBSCRIBE", "__key*__:*"]);
        t.take_output(sub);
        let watcher = t.connect();
        t.cmd_on(watcher, &["WATCH", "r"]);
        assert_eq!(restore(&mut t, &[b"r", b"0", &p]), Frame::ok());
        let out = String::from_utf8_lossy(&t.take_output(sub)).into_owned();
        assert!(out.contains("__keyevent@0__:restore"), "{out}");
        assert!(out.contains("__keyspace@0__:r"), "{out}");
        t.cmd_on(watcher, &["MULTI"]);
        t.cmd_on(watcher, &["PING"]);
        assert_eq!(t.cmd_on(watcher, &["EXEC"]), Frame::Null);
    }
}
