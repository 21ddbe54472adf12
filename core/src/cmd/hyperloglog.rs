//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG and
//! PFSELFTEST. The values are plain strings in the byte format of `crate::hll`; these
//! handlers add Redis's lookups, validity checks, cache updates and replies.

use crate::command::{Ctx, Handler};
use crate::hll::{self, ERR_CORRUPT, ERR_NOT_HLL, REGISTERS};
use crate::object::{StrValue, Value, WRONGTYPE};
use crate::server::notify::NOTIFY_STRING;
use crate::server::Server;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", pfselftest),
];

fn sparse_max_bytes(srv: &Server) -> u64 {
    u64::try_from(srv.config.hll_sparse_max_bytes).unwrap_or(0)
}

/// isHLLObjectOrReply: a string (not int-encoded) with a well-formed header. Err
/// after WRONGTYPE or the not-an-HLL reply.
fn check_hll(ctx: &mut Ctx<'_>, value: &Value) -> Result<(), ()> {
    let ok = match value {
        Value::Str(StrValue::Int(_)) => false,
        Value::Str(StrValue::Embstr(b)) => hll::is_valid(b),
        Value::Str(StrValue::Raw(v)) => hll::is_valid(v),
        _ => {
            ctx.reply.error(WRONGTYPE);
            return Err(());
        }
    };
    if ok {
        Ok(())
    } else {
        ctx.reply.error(ERR_NOT_HLL);
        Err(())
    }
}

/// The bytes of a value that passed [`check_hll`].
fn hll_bytes(value: &Value) -> &[u8] {
    match value {
        Value::Str(StrValue::Embstr(b)) => b,
        Value::Str(StrValue::Raw(v)) => v,
        _ => unreachable!("checked by check_hll"),
    }
}

/// The HLL at `key` for writing, as a raw buffer (dbUnshareStringValue), created
/// empty (sparse) when missing; the flag tells whether it was created. Err after an
/// error reply.
fn hll_for_write<'s>(
    srv: &'s mut Server,
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<(&'s mut Vec<u8>, bool), ()> {
    let db = ctx.db;
    let created = match srv.lookup_write(db, key) {
        None => true,
        Some(obj) => {
            check_hll(ctx, &obj.value)?;
            false
        }
    };
    if created {
        srv.db_add(db, key, Value::Str(StrValue::raw(hll::new_sparse())));
    }
    match srv.dbs[db].peek_mut(key).map(|o| &mut o.value) {
        Some(Value::Str(s)) => Ok((s.make_raw(), created)),
        _ => unreachable!("the key was just checked or created as a string"),
    }
}

fn pfadd(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let max_bytes = sparse_max_bytes(srv);
    let key = ctx.arg(1);
    let Ok((s, created)) = hll_for_write(srv, ctx, key) else {
        return;
    };
    let mut updated = created as u64;
    let mut writer = hll::Writer::new(s, max_bytes);
    for j in 2..ctx.argc() {
        match writer.add(ctx.arg(j)) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(hll::Corrupt) => {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
        }
    }
    if updated > 0 {
        hll::invalidate_cache(s);
        srv.signal_modified_key(ctx.db, key);
        srv.notify_keyspace_event(NOTIFY_STRING, "pfadd", key, ctx.db);
        srv.mark_dirty(updated);
    }
    ctx.reply.int((updated > 0) as i64);
}

fn pfcount(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let db = ctx.db;
    if ctx.argc() > 2 {
        // The cardinality of the union, merged on the fly into one byte per register.
        let mut max = Box::new([0u8; REGISTERS]);
        for j in 1..ctx.argc() {
            let Some(obj) = srv.lookup_read(db, ctx.arg(j)) else {
                continue;
            };
            if check_hll(ctx, &obj.value).is_err() {
                return;
            }
            if hll::merge(&mut max, hll_bytes(&obj.value)).is_err() {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
        }
        ctx.reply.int(hll::count_registers(&max) as i64);
        return;
    }
    let key = ctx.arg(1);
    let Some(obj) = srv.lookup_read(db, key) else {
        ctx.reply.int(0);
        return;
    };
    if check_hll(ctx, &obj.value).is_err() {
        return;
    }
    if let Value::Str(v @ StrValue::Raw(_)) = &obj.value {
        if let Some(card) = hll::cached_card(&v.as_bytes()) {
            // Nothing to change: a pure read (a background save keeps no copy).
            ctx.reply.int(card as i64);
            return;
        }
    }
    // dbUnshareStringValue, and maybe the cache: a change of the value.
    let Some(Value::Str(value)) = srv.dbs[db].peek_mut(key).map(|o| &mut o.value) else {
        unreachable!("checked by check_hll")
    };
    let s = value.make_raw();
    let card = match hll::cached_card(s) {
        Some(card) => card,
        None => {
            let (card, invalid) = hll::count(s);
            if invalid {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
            // Storing the estimate changes the string, so it is a write to
            // propagate even though PFCOUNT is a read command.
            hll::set_cached_card(s, card);
            srv.signal_modified_key(db, key);
            srv.mark_dirty(1);
            card
        }
    };
    ctx.reply.int(card as i64);
}

fn pfmerge(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let db = ctx.db;
    let max_bytes = sparse_max_bytes(srv);
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    // The destination is argument 1 and is merged too.
    for j in 1..ctx.argc() {
        let Some(obj) = srv.lookup_read(db, ctx.arg(j)) else {
            continue;
        };
        if check_hll(ctx, &obj.value).is_err() {
            return;
        }
        let s = hll_bytes(&obj.value);
        if hll::encoding(s) == hll::DENSE {
            use_dense = true;
        }
        if hll::merge(&mut max, s).is_err() {
            ctx.reply.error(ERR_CORRUPT);
            return;
        }
    }
    let dest = ctx.arg(1);
    let Ok((s, _)) = hll_for_write(srv, ctx, dest) else {
        return;
    };
    let mut writer = hll::Writer::new(s, max_bytes);
    if use_dense && writer.to_dense().is_err() {
        ctx.reply.error(ERR_CORRUPT);
        return;
    }
    for (index, &count) in max.iter().enumerate() {
        if count == 0 {
            continue;
        }
        // The destination was validated by the merge above, so it cannot be
        // corrupt here; Redis ignores the result the same way.
        let _ = writer.raise(index, count);
    }
    hll::invalidate_cache(s);
    srv.signal_modified_key(db, dest);
    // A merge is announced as `pfadd`, a mass add of elements.
    srv.notify_keyspace_event(NOTIFY_STRING, "pfadd", dest, db);
    srv.mark_dirty(1);
    ctx.reply.ok();
}

fn pfdebug(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let sub = ctx.arg(1);
    let key = ctx.arg(2);
    let db = ctx.db;
    // The key is checked (and unshared) before the subcommand is even looked at.
    match srv.lookup_write(db, key) {
        None => {
            ctx.reply.error("The specified key does not exist");
            return;
        }
        Some(obj) => {
            if check_hll(ctx, &obj.value).is_err() {
                return;
            }
        }
    }
    let Ok((s, _)) = hll_for_write(srv, ctx, key) else {
        return;
    };
    let name = match sub.iter().position(|&b| b == 0) {
        Some(nul) => &sub[..nul],
        None => sub,
    };
    // A conversion to dense changes the string: a write to propagate.
    let mut converted = false;
    if name.eq_ignore_ascii_case(b"getreg") || name.eq_ignore_ascii_case(b"todense") {
        if hll::encoding(s) == hll::SPARSE {
            if hll::sparse_to_dense(s).is_err() {
                ctx.reply.error(ERR_CORRUPT);
                return;
            }
            converted = true;
        }
        if name.eq_ignore_ascii_case(b"getreg") {
            ctx.reply.array(REGISTERS);
            let regs = &s[hll::HDR_SIZE..];
            for i in 0..REGISTERS {
                ctx.reply.int(hll::dense_get(regs, i) as i64);
            }
        } else {
            ctx.reply.int(converted as i64);
        }
    } else if name.eq_ignore_ascii_case(b"decode") {
        if hll::encoding(s) != hll::SPARSE {
            ctx.reply.error("HLL encoding is not sparse");
            return;
        }
        ctx.reply.bulk(hll::decode(s).as_bytes());
    } else if name.eq_ignore_ascii_case(b"encoding") {
        let name = if hll::encoding(s) == hll::DENSE {
            "dense"
        } else {
            "sparse"
        };
        ctx.reply.simple(name);
    } else {
        ctx.reply.error(&format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(name)
        ));
    }
    if converted {
        srv.mark_dirty(1);
    }
}

fn pfselftest(srv: &mut Server, ctx: &mut Ctx<'_>) {
    let max_bytes = sparse_max_bytes(srv);
    match hll::selftest(&mut srv.rng, max_bytes) {
        Ok(()) => ctx.reply.ok(),
        Err(msg) => ctx.reply.error(&msg),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{Frame, TestServer};

    fn debug_server() -> TestServer {
        TestServer::with_config(crate::Config {
            enable_debug_command: crate::config::Protected::Yes,
            ..Default::default()
        })
    }

    fn b(t: &mut TestServer, args: &[&[u8]]) -> Frame {
        let conn = t.default_conn();
        t.cmd_bytes_on(conn, args)
    }

    fn get(t: &mut TestServer, key: &str) -> Vec<u8> {
        match t.cmd(&["GET", key]) {
            Frame::Bulk(v) => v,
            other => panic!("GET {key}: {other:?}"),
        }
    }

    fn digest(t: &mut TestServer, key: &str) -> String {
        match t.cmd(&["DEBUG", "DIGEST-VALUE", key]) {
            Frame::Array(items) if items.len() == 1 => items[0].as_str(),
            other => panic!("DIGEST-VALUE {key}: {other:?}"),
        }
    }

    fn int(n: i64) -> Frame {
        Frame::Int(n)
    }

    /// PFADD e0..e{n-1} in batches of 500.
    fn add_range(t: &mut TestServer, key: &str, n: usize) {
        let mut i = 0;
        while i < n {
            let end = (i + 500).min(n);
            let mut args = vec!["PFADD".to_string(), key.to_string()];
            args.extend((i..end).map(|j| format!("e{j}")));
            let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            assert!(matches!(t.cmd(&args), Frame::Int(0 | 1)));
            i = end;
        }
    }

    const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    /// An empty sparse HLL whose cache is stale, as a forged value.
    const EMPTY_STALE: &[u8] = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff";

    /// Key events ("event key") a subscriber to every keyevent channel received
    /// while `writes` ran, with every notification class on.
    fn events_of(writes: &[&[&str]]) -> Vec<String> {
        let mut t = TestServer::new();
        let (writer, sub) = (t.connect(), t.connect());
        t.cmd_on(
            writer,
            &["CONFIG", "SET", "notify-keyspace-events", "KEAnm"],
        );
        t.cmd_on(sub, &["PSUBSCRIBE", "__keyevent@*__:*"]);
        for w in writes {
            t.cmd_on(writer, w);
        }
        let out = t.take_output(sub);
        let mut pos = 0;
        let mut got = Vec::new();
        while let Some((frame, used)) = crate::testing::decode(&out[pos..]) {
            pos += used;
            let Frame::Array(items) = frame else {
                panic!("not a message: {frame:?}")
            };
            let channel = items[2].as_str();
            let event = channel
                .split_once("__:")
                .expect("keyevent channel")
                .1
                .to_string();
            got.push(format!("{event} {}", items[3].as_str()));
        }
        got
    }

    #[test]
    fn pfadd_writes_redis_bytes_and_pfcount_caches() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["PFADD", "h", "a", "b", "c"]), int(1));
        // The bytes redis-server 7.0.15 stores for the same PFADD.
        assert_eq!(
            get(&mut t, "h"),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ"
        );
        assert_eq!(t.cmd(&["PFADD", "h", "a", "b"]), int(0));
        let dirty = t.server.dirty;
        assert_eq!(t.cmd(&["PFCOUNT", "h"]), int(3));
        // The estimate is cached in the header and the stale bit cleared: a write.
        assert_eq!(
            get(&mut t, "h"),
            b"HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ"
        );
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["PFCOUNT", "h"]), int(3));
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "h"]), Frame::bulk("raw"));
        // PFADD without elements creates the key (a change) but never touches one.
        assert_eq!(t.cmd(&["PFADD", "new"]), int(1));
        assert_eq!(
            get(&mut t, "new"),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
        );
        assert_eq!(t.cmd(&["PFADD", "new"]), int(0));
        assert_eq!(t.cmd(&["PFCOUNT", "new"]), int(0));
        assert_eq!(t.cmd(&["PFCOUNT", "nokey"]), int(0));
        // A cached value is trusted as is, whatever the registers say.
        b(
            &mut t,
            &[
                b"SET",
                b"forged",
                b"HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f\xff",
            ],
        );
        assert_eq!(t.cmd(&["PFCOUNT", "forged"]), int(42));
    }

    #[test]
    fn bytes_and_estimates_match_redis_through_the_dense_switch() {
        let mut t = debug_server();
        // (elements, PFCOUNT, DEBUG DIGEST-VALUE after it, STRLEN, encoding), all
        // read from redis-server 7.0.15 fed the same PFADDs.
        let vectors = [
            (
                1,
                1,
                "0de709eb202651ad56260f245a65594fc6922515",
                21,
                "sparse",
            ),
            (
                10,
                10,
                "6c435b2de09cf26e1444614cb82c664742914164",
                48,
                "sparse",
            ),
            (
                100,
                100,
                "a952ef4953eb3a85ae5826252d367e4d4c6630d6",
                285,
                "sparse",
            ),
            (
                300,
                302,
                "5dc9a302224ffdc2f966d3b52e6367aa9daa79f5",
                713,
                "sparse",
            ),
            (
                1000,
                1008,
                "61024d4474bc43c6793aad06cd45f8b8aac6a256",
                1906,
                "sparse",
            ),
            (
                3000,
                2979,
                "86ee19e63ba4693e97857f59c81ca76ed9a73530",
                12304,
                "dense",
            ),
            (
                10000,
                9973,
                "bae5b2498157bda31f971918fcf63dad5e928ec7",
                12304,
                "dense",
            ),
        ];
        for (n, card, hex, len, encoding) in vectors {
            t.cmd(&["DEL", "s"]);
            add_range(&mut t, "s", n);
            assert_eq!(t.cmd(&["PFCOUNT", "s"]), int(card), "{n}");
            assert_eq!(digest(&mut t, "s"), hex, "{n}");
            assert_eq!(t.cmd(&["STRLEN", "s"]), int(len), "{n}");
            assert_eq!(
                t.cmd(&["PFDEBUG", "ENCODING", "s"]),
                Frame::Simple(encoding.into())
            );
        }
        // Merging a sparse HLL into a dense one, as redis-server does.
        t.cmd(&["PFADD", "a", "x1", "x2", "x3", "x4", "x5"]);
        t.cmd(&["PFMERGE", "d", "s", "a"]);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "d"]),
            Frame::Simple("dense".into())
        );
        assert_eq!(
            digest(&mut t, "d"),
            "00cdeae1a5a42fa32b363853fe128d2838fc3118"
        );
        assert_eq!(t.cmd(&["PFCOUNT", "d"]), int(9977));
    }

    #[test]
    fn a_million_elements_estimate_exactly_as_redis() {
        let mut t = debug_server();
        for batch in 0..1000 {
            let mut args = vec!["PFADD".to_string(), "m".to_string()];
            args.extend((batch * 1000..(batch + 1) * 1000).map(|j| format!("e{j}")));
            let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            t.cmd(&args);
        }
        // 0.83% off, the same estimate and the same bytes as redis-server.
        assert_eq!(t.cmd(&["PFCOUNT", "m"]), int(991_657));
        assert_eq!(
            digest(&mut t, "m"),
            "839656f35d59d353fb598521816fc65691835326"
        );
        // Re-adding the first and last elements changes nothing.
        assert_eq!(t.cmd(&["PFADD", "m", "e0", "e999999"]), int(0));
        add_range(&mut t, "small", 10_000);
        assert_eq!(t.cmd(&["PFCOUNT", "m", "small"]), int(991_657));
        assert_eq!(t.cmd(&["PFCOUNT", "small", "m", "nokey"]), int(991_657));
    }

    #[test]
    fn pfcount_of_several_keys_and_pfmerge() {
        let mut t = debug_server();
        t.cmd(&["PFADD", "a", "x1", "x2", "x3", "x4", "x5"]);
        t.cmd(&["PFADD", "b", "x4", "x5", "x6", "x7"]);
        assert_eq!(
            get(&mut t, "a"),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80ND\x84O\x9f\x8cNW\x8cGm\x88K\xed\x88@a"
        );
        assert_eq!(
            get(&mut t, "b"),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80Cr\x94B\xa3\x84W\xcc\x8cNW\x8cS\xbf"
        );
        let dirty = t.server.dirty;
        assert_eq!(t.cmd(&["PFCOUNT", "a", "b"]), int(7));
        assert_eq!(t.cmd(&["PFCOUNT", "a", "b", "nokey"]), int(7));
        assert_eq!(t.cmd(&["PFCOUNT", "nokey", "nokey2"]), int(0));
        // Several keys are merged on the fly: nothing is cached or written.
        assert_eq!(t.server.dirty, dirty);
        assert_eq!(
            &get(&mut t, "a")[8..16],
            b"\x00\x00\x00\x00\x00\x00\x00\x80"
        );
        assert_eq!(t.cmd(&["PFMERGE", "c", "a", "b"]), Frame::ok());
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(
            digest(&mut t, "c"),
            "2f07490fda754887c5c1561ca581851f8cedf167"
        );
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), int(7));
        assert_eq!(
            digest(&mut t, "c"),
            "2cc53b6a34f3de0e454d53126f7b1207e7d7c800"
        );
        assert_eq!(
            get(&mut t, "c"),
            b"HYLL\x01\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00Cr\x94B\xa3\x84H+\x84O\x9f\x8cNW\x8cGm\x88K\xed\x88@a"
        );
        // The destination takes part in the union; missing sources are empty.
        assert_eq!(t.cmd(&["PFMERGE", "c", "nokey"]), Frame::ok());
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), int(7));
        assert_eq!(t.cmd(&["PFMERGE", "only"]), Frame::ok());
        assert_eq!(
            get(&mut t, "only"),
            b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"
        );
        // A dense source makes the destination dense.
        t.cmd(&["PFADD", "d", "y"]);
        t.cmd(&["PFDEBUG", "TODENSE", "d"]);
        assert_eq!(t.cmd(&["PFMERGE", "c", "d"]), Frame::ok());
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "c"]),
            Frame::Simple("dense".into())
        );
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), int(8));
        assert_eq!(t.cmd(&["PFCOUNT", "a", "b", "d"]), int(8));
    }

    #[test]
    fn foreign_strings_and_other_types_are_refused() {
        let mut t = debug_server();
        t.cmd(&["SET", "s", "foo"]);
        t.cmd(&["SET", "n", "12345678901234567890123"]);
        t.cmd(&["SET", "i", "5"]);
        b(&mut t, &[b"SET", b"short", b"HYLL\x01"]);
        b(
            &mut t,
            &[
                b"SET",
                b"magic",
                b"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
            ],
        );
        b(
            &mut t,
            &[
                b"SET",
                b"enc",
                b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
            ],
        );
        // Dense must be exactly 12304 bytes.
        b(
            &mut t,
            &[
                b"SET",
                b"dense",
                b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff",
            ],
        );
        t.cmd(&["RPUSH", "l", "x"]);
        for key in ["s", "n", "i", "short", "magic", "enc", "dense"] {
            assert_eq!(t.cmd(&["PFADD", key, "a"]), Frame::err(NOT_HLL), "{key}");
            assert_eq!(t.cmd(&["PFCOUNT", key]), Frame::err(NOT_HLL), "{key}");
            assert_eq!(
                t.cmd(&["PFCOUNT", key, "nokey"]),
                Frame::err(NOT_HLL),
                "{key}"
            );
            assert_eq!(
                t.cmd(&["PFMERGE", "dest", key]),
                Frame::err(NOT_HLL),
                "{key}"
            );
            assert_eq!(
                t.cmd(&["PFMERGE", key, "nokey"]),
                Frame::err(NOT_HLL),
                "{key}"
            );
            assert_eq!(
                t.cmd(&["PFDEBUG", "ENCODING", key]),
                Frame::err(NOT_HLL),
                "{key}"
            );
        }
        assert_eq!(t.cmd(&["EXISTS", "dest"]), int(0));
        assert_eq!(get(&mut t, "s"), b"foo");
        for args in [
            vec!["PFADD", "l", "a"],
            vec!["PFCOUNT", "l"],
            vec!["PFCOUNT", "nokey", "l"],
            vec!["PFMERGE", "l", "nokey"],
            vec!["PFMERGE", "dest", "l"],
            vec!["PFDEBUG", "GETREG", "l"],
        ] {
            assert_eq!(t.cmd(&args), Frame::err(WRONGTYPE), "{args:?}");
        }
        // A short valid HLL set by a client is embstr until an HLL command writes it.
        b(&mut t, &[b"SET", b"e", EMPTY_STALE]);
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "e"]), Frame::bulk("embstr"));
        assert_eq!(t.cmd(&["PFCOUNT", "e", "nokey"]), int(0));
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "e"]), Frame::bulk("embstr"));
        assert_eq!(t.cmd(&["PFCOUNT", "e"]), int(0));
        assert_eq!(t.cmd(&["OBJECT", "ENCODING", "e"]), Frame::bulk("raw"));
    }

    #[test]
    fn corrupt_sparse_values_are_invalidobj_without_side_effects() {
        let mut t = debug_server();
        let header = &EMPTY_STALE[..16];
        let forged: Vec<(&str, Vec<u8>)> = vec![
            ("short", b"\x7f\xfe".to_vec()),
            ("long", b"\x7f\xff\x00".to_vec()),
            // Runs that reach the end exactly, then a VAL past it (refused since
            // the CVE-2025-32023 fix).
            ("valpast", b"\x7f\xff\x80".to_vec()),
            ("header", Vec::new()),
            ("vals", vec![0xff; 40]),
        ];
        for (name, tail) in &forged {
            let mut v = header.to_vec();
            v.extend_from_slice(tail);
            b(&mut t, &[b"SET", name.as_bytes(), &v]);
        }
        for (name, tail) in &forged {
            let before = get(&mut t, name);
            assert_eq!(t.cmd(&["PFCOUNT", name]), Frame::err(CORRUPT), "{name}");
            assert_eq!(
                t.cmd(&["PFCOUNT", name, "nokey"]),
                Frame::err(CORRUPT),
                "{name}"
            );
            assert_eq!(
                t.cmd(&["PFMERGE", "dest", name]),
                Frame::err(CORRUPT),
                "{name}"
            );
            assert_eq!(
                t.cmd(&["PFDEBUG", "TODENSE", name]),
                Frame::err(CORRUPT),
                "{name}"
            );
            assert_eq!(
                t.cmd(&["PFDEBUG", "GETREG", name]),
                Frame::err(CORRUPT),
                "{name}"
            );
            assert_eq!(get(&mut t, name), before, "{name}");
            // PFADD finds the corruption only when an element needs a register
            // the opcodes do not reach, or on the conversion to dense.
            let added = t.cmd(&["PFADD", name, "a", "b", "c", "d", "e", "f", "g", "h"]);
            assert!(
                matches!(added, Frame::Int(_)) || added == Frame::err(CORRUPT),
                "{name} {tail:?}: {added:?}"
            );
            assert!(get(&mut t, name).len() <= crate::hll::DENSE_SIZE);
        }
        assert_eq!(t.cmd(&["EXISTS", "dest"]), int(0));
        assert_eq!(
            t.cmd(&["PFDEBUG", "DECODE", "vals"])
                .as_str()
                .matches("v:32,4")
                .count(),
            40
        );
    }

    #[test]
    fn pfdebug_subcommands() {
        let mut t = debug_server();
        t.cmd(&["PFADD", "h", "a", "b", "c"]);
        assert_eq!(
            t.cmd(&["PFDEBUG", "DECODE", "h"]),
            Frame::bulk("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "encoding", "h"]),
            Frame::Simple("sparse".into())
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "FOO", "h"]),
            Frame::err("ERR Unknown PFDEBUG subcommand 'FOO'")
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "FOO", "nokey"]),
            Frame::err("ERR The specified key does not exist")
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "GETREG"]),
            Frame::err("ERR wrong number of arguments for 'pfdebug' command")
        );
        let dirty = t.server.dirty;
        assert_eq!(t.cmd(&["PFDEBUG", "TODENSE", "h"]), int(1));
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["PFDEBUG", "TODENSE", "h"]), int(0));
        assert_eq!(t.server.dirty, dirty + 1);
        assert_eq!(t.cmd(&["STRLEN", "h"]), int(12304));
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "h"]),
            Frame::Simple("dense".into())
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "DECODE", "h"]),
            Frame::err("ERR HLL encoding is not sparse")
        );
        // The dense copy keeps the header, stale cache included.
        assert_eq!(
            &get(&mut t, "h")[..16],
            b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"
        );
        assert_eq!(t.cmd(&["PFCOUNT", "h"]), int(3));
        // GETREG converts too, and lists every register.
        t.cmd(&["PFADD", "g", "hello"]);
        let Frame::Array(regs) = t.cmd(&["PFDEBUG", "GETREG", "g"]) else {
            panic!("GETREG is an array")
        };
        assert_eq!(regs.len(), 16384);
        assert_eq!(regs[9216], int(1));
        assert_eq!(regs.iter().filter(|r| **r != int(0)).count(), 1);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "g"]),
            Frame::Simple("dense".into())
        );
        b(&mut t, &[b"SET", b"hdr", &EMPTY_STALE[..16]]);
        assert_eq!(t.cmd(&["PFDEBUG", "DECODE", "hdr"]), Frame::bulk(""));
    }

    #[test]
    fn sparse_max_bytes_decides_the_switch_to_dense() {
        let mut t = TestServer::new();
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "hll-sparse-max-bytes"]),
            Frame::array_of_bulks(&["hll-sparse-max-bytes", "3000"])
        );
        t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "60"]);
        add_range(&mut t, "h", 10);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "h"]),
            Frame::Simple("sparse".into())
        );
        assert!(get(&mut t, "h").len() <= 60);
        add_range(&mut t, "h", 30);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "h"]),
            Frame::Simple("dense".into())
        );
        // Zero: the first split already outgrows the limit.
        t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "0"]);
        t.cmd(&["PFADD", "z", "a"]);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "z"]),
            Frame::Simple("dense".into())
        );
        t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "1kb"]);
        assert_eq!(
            t.cmd(&["CONFIG", "GET", "hll-sparse-max-bytes"]),
            Frame::array_of_bulks(&["hll-sparse-max-bytes", "1024"])
        );
        assert!(matches!(
            t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "-1"]),
            Frame::Error(_)
        ));
        // The limit grows sparse HLLs further too; dense ones stay dense.
        t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "100000"]);
        add_range(&mut t, "big", 5000);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "big"]),
            Frame::Simple("sparse".into())
        );
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "h"]),
            Frame::Simple("dense".into())
        );
        // Sparse and dense agree on the estimate.
        t.cmd(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
        add_range(&mut t, "ref", 5000);
        assert_eq!(
            t.cmd(&["PFDEBUG", "ENCODING", "ref"]),
            Frame::Simple("dense".into())
        );
        assert_eq!(t.cmd(&["PFCOUNT", "big"]), t.cmd(&["PFCOUNT", "ref"]));
    }

    #[test]
    fn pfselftest_passes() {
        let mut t = TestServer::new();
        assert_eq!(t.cmd(&["PFSELFTEST"]), Frame::ok());
    }

    #[test]
    fn writes_publish_redis_events() {
        assert_eq!(
            events_of(&[
                &["PFADD", "h", "a"],
                &["PFADD", "h", "a"],
                &["PFADD", "e"],
                &["PFCOUNT", "h"],
                &["PFCOUNT", "h", "miss"],
                &["PFMERGE", "m", "h"],
                &["PFMERGE", "m"],
                &["PFDEBUG", "TODENSE", "h"],
            ]),
            [
                "new h",
                "pfadd h",
                "new e",
                "pfadd e",
                "keymiss miss",
                "keymiss m",
                "new m",
                "pfadd m",
                "pfadd m"
            ]
        );
    }

    #[test]
    fn writes_invalidate_watchers() {
        let mut t = TestServer::new();
        let (watcher, writer) = (t.connect(), t.connect());
        t.cmd_on(writer, &["PFADD", "k", "a"]);
        for (write, invalidates) in [
            (vec!["PFADD", "k", "a"], false),
            (vec!["PFCOUNT", "k"], true),
            (vec!["PFCOUNT", "k"], false),
            (vec!["PFCOUNT", "k", "nokey"], false),
            (vec!["PFADD", "k", "b"], true),
            (vec!["PFMERGE", "k"], true),
            (vec!["PFDEBUG", "TODENSE", "k"], false),
        ] {
            t.cmd_on(watcher, &["WATCH", "k"]);
            t.cmd_on(writer, &write);
            t.cmd_on(watcher, &["MULTI"]);
            t.cmd_on(watcher, &["PING"]);
            let exec = t.cmd_on(watcher, &["EXEC"]);
            assert_eq!(exec == Frame::Null, invalidates, "{write:?}: {exec:?}");
        }
    }
}
