//! The checks behind the fuzz targets in `fuzz/`, callable on stable Rust: each takes
//! the fuzzer's bytes and panics when an invariant breaks. The fuzz targets are thin
//! wrappers around these functions, and `core/tests/fuzz_regressions.rs` replays the
//! seed corpora and every kept crash through them, so a fix stays fixed without the
//! fuzzer.
//!
//! Structured inputs (a keyspace to save, a command sequence) are decoded from the
//! bytes by [`Bytes`], a small cursor in the spirit of `arbitrary::Unstructured`,
//! so the core needs no fuzzing dependency and a stored input means the same thing
//! to the fuzzer and to the replay test.

use crate::aof;
use crate::config::Protected;
use crate::io::ConnId;
use crate::rdb::{decode_dump_payload, LoadLimits, Loader};
use crate::resp::parse::{Parse, ParseLimits, RequestParser, INLINE_MAX_BYTES};
use crate::resp::splitargs::split_args;
use crate::rng::CoreRng;
use crate::testing::{decode, encode_command, Frame, MemDisk, TestServer};
use crate::util::parse_i64;
use crate::Config;

/// Longest input the checks look at. Below the inline and count-line limits, so
/// where the request parser gives up never depends on how the bytes were split.
pub const INPUT_MAX_BYTES: usize = INLINE_MAX_BYTES / 2;

/// A cursor over fuzzer bytes; reads past the end yield zeros.
#[derive(Debug)]
pub struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// Up to `n` raw bytes (fewer at the end of the input).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (start + n).min(self.data.len());
        self.pos = end;
        &self.data[start..end]
    }
}

/// The request parser's limits for a check: the default `proto-max-bulk-len`, and
/// the unauthenticated limits when `auth` is set.
fn parse_limits(auth: bool) -> ParseLimits {
    ParseLimits {
        proto_max_bulk_len: Config::default().proto_max_bulk_len,
        auth_required: auth,
    }
}

/// What a byte stream holds: its complete requests (an empty argument list for a
/// request Redis skips) and how it ends.
#[derive(Debug, PartialEq, Eq)]
struct Requests {
    requests: Vec<Vec<Vec<u8>>>,
    /// The protocol error that ends the stream, if any.
    error: Option<String>,
    /// Bytes after the last complete request (an unfinished one).
    pending: usize,
}

/// The reference parser: reads the whole stream at once, straight from Redis's
/// rules (processMultibulkBuffer / processInlineBuffer), with no resumption state.
fn reference_requests(data: &[u8], limits: ParseLimits) -> Requests {
    let mut out = Requests {
        requests: Vec::new(),
        error: None,
        pending: 0,
    };
    let mut at = 0;
    let fail = |out: &mut Requests, msg: &str| out.error = Some(format!("Protocol error: {msg}"));
    while at < data.len() {
        let rest = &data[at..];
        if rest[0] != b'*' {
            let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
                break;
            };
            let line = if nl > 0 && rest[nl - 1] == b'\r' {
                &rest[..nl - 1]
            } else {
                &rest[..nl]
            };
            match split_args(line) {
                Some(args) => out.requests.push(args),
                None => {
                    fail(&mut out, "unbalanced quotes in request");
                    return out;
                }
            }
            at += nl + 1;
            continue;
        }
        let Some(cr) = rest.iter().position(|&c| c == b'\r') else {
            break;
        };
        if cr + 2 > rest.len() {
            break;
        }
        let count = match parse_i64(&rest[1..cr]) {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => {
                fail(&mut out, "invalid multibulk length");
                return out;
            }
        };
        if count > 10 && limits.auth_required {
            fail(&mut out, "unauthenticated multibulk length");
            return out;
        }
        let mut p = cr + 2;
        let mut args = Vec::new();
        let mut complete = true;
        for _ in 0..count.max(0) {
            let arg = &rest[p..];
            let Some(cr) = arg.iter().position(|&c| c == b'\r') else {
                complete = false;
                break;
            };
            if cr + 2 > arg.len() {
                complete = false;
                break;
            }
            if arg[0] != b'$' {
                let msg = format!("expected '$', got '{}'", arg[0] as char);
                fail(&mut out, &msg);
                return out;
            }
            let len = match parse_i64(&arg[1..cr]) {
                Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n as usize,
                _ => {
                    fail(&mut out, "invalid bulk length");
                    return out;
                }
            };
            if len > 16384 && limits.auth_required {
                fail(&mut out, "unauthenticated bulk length");
                return out;
            }
            if arg.len() - (cr + 2) < len + 2 {
                complete = false;
                break;
            }
            args.push(arg[cr + 2..cr + 2 + len].to_vec());
            p += cr + 2 + len + 2;
        }
        if !complete {
            break;
        }
        out.requests.push(args);
        at += p;
    }
    out.pending = data.len() - at;
    out
}

/// How a check splits a stream across reads.
#[derive(Debug, Clone, Copy)]
enum Split<'a> {
    /// One byte per read.
    Bytes,
    /// Reads of 1..=64 bytes, as these seed bytes choose (cycling).
    Seeded(&'a [u8]),
    /// Everything in one read.
    Whole,
}

/// The real parser fed `data` in the reads `split` picks, consuming each request
/// as a client does (the query buffer keeps only unconsumed bytes).
fn streamed_requests(data: &[u8], limits: ParseLimits, split: Split<'_>) -> Requests {
    let mut out = Requests {
        requests: Vec::new(),
        error: None,
        pending: 0,
    };
    let mut parser = RequestParser::new();
    let mut query: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut reads = 0usize;
    while fed < data.len() {
        let chunk = match split {
            Split::Bytes => 1,
            Split::Seeded(seeds) if !seeds.is_empty() => {
                1 + seeds[reads % seeds.len()] as usize % 64
            }
            Split::Seeded(_) | Split::Whole => data.len(),
        };
        reads += 1;
        let end = (fed + chunk).min(data.len());
        query.extend_from_slice(&data[fed..end]);
        fed = end;
        loop {
            match parser.parse(&query, limits) {
                Parse::Ready { consumed, inline } => {
                    assert!(consumed <= query.len(), "consumed past the buffer");
                    out.requests.push(parser.args(&query, inline).to_vecs());
                    query.drain(..consumed);
                    parser.reset();
                }
                Parse::Empty { consumed } => {
                    assert!(consumed <= query.len(), "consumed past the buffer");
                    out.requests.push(Vec::new());
                    query.drain(..consumed);
                    parser.reset();
                }
                Parse::Incomplete => break,
                Parse::Error(msg) => {
                    out.error = Some(msg);
                    return out;
                }
            }
        }
        // Nothing the parser holds may outgrow what the peer sent (its span table
        // starts at most 1024 entries long, whatever a request declares).
        let held = parser.heap_bytes();
        assert!(
            held <= 1024 * 16 + 16 * data.len(),
            "parser holds {held} bytes for {} input bytes",
            data.len()
        );
    }
    out.pending = query.len();
    out
}

/// `resp` target: the streaming parser, split at the points the input's first
/// bytes choose (and byte by byte, and in one read), finds exactly the requests
/// and the error the reference parser finds in the whole stream, never panics and
/// holds no more memory than the input justifies. Layout: `[auth flag][8 split
/// seeds][stream…]`.
pub fn check_resp(input: &[u8]) {
    let mut b = Bytes::new(&input[..input.len().min(INPUT_MAX_BYTES)]);
    let auth = b.byte() & 1 == 1;
    let seeds = b.take(8);
    let data = b.take(INPUT_MAX_BYTES);
    let limits = parse_limits(auth);
    let reference = reference_requests(data, limits);
    for split in [Split::Bytes, Split::Seeded(seeds), Split::Whole] {
        let streamed = streamed_requests(data, limits, split);
        if reference.error.is_some() {
            // After an error the connection closes: what is left over is moot.
            assert_eq!(
                streamed.error, reference.error,
                "different protocol error ({split:?})"
            );
            assert_eq!(streamed.requests, reference.requests, "{split:?}");
        } else {
            assert_eq!(
                streamed, reference,
                "{split:?} reading disagrees with the reference"
            );
        }
    }
}

/// Send one request on `conn` and return its first reply, if a whole one came.
fn request(t: &mut TestServer, conn: ConnId, args: &[&[u8]]) -> Option<Frame> {
    t.send_raw(conn, &encode_command(args));
    let out = t.take_output(conn);
    decode(&out).map(|(frame, _)| frame)
}

/// Small encoding thresholds, so short inputs cross every conversion.
pub fn small_encodings_config() -> Config {
    Config {
        hash_max_listpack_entries: 4,
        hash_max_listpack_value: 16,
        list_max_listpack_size: 4,
        set_max_intset_entries: 4,
        set_max_listpack_entries: 4,
        set_max_listpack_value: 16,
        zset_max_listpack_entries: 4,
        zset_max_listpack_value: 16,
        enable_debug_command: Protected::Yes,
        ..Config::default()
    }
}

/// `rdb_load` target, unstructured half: the bytes as an RDB file (read item by
/// item, checksum not required so the fuzzer gets past it, then loaded by a server
/// at startup) and as a DUMP payload for RESTORE. Either succeeds or fails with an
/// error; nothing panics.
pub fn check_rdb_bytes(input: &[u8]) {
    let config = small_encodings_config();
    let limits = LoadLimits::from_config(&config, 1 << 30);
    let mut rng = CoreRng::from_seed(7);
    if let Ok(mut loader) = Loader::new(input, limits, false) {
        while let Ok(Some(_)) = loader.next_item(&mut rng) {}
    }
    let mut blobs = 0;
    let _ = decode_dump_payload(input, &limits, &mut rng, false, &mut blobs);
    // Through the server: startup load and RESTORE (whose checksum must hold).
    let mut disk = MemDisk::default();
    disk.files.insert("dump.rdb".into(), input.to_vec());
    let mut t = TestServer::with_disk(
        Config {
            rdbchecksum: false,
            ..small_encodings_config()
        },
        disk,
        false,
    );
    if t.exited.is_none() {
        let conn = t.connect();
        let reply = request(
            &mut t,
            conn,
            &[b"RESTORE", b"fuzzed", b"0", input, b"REPLACE"],
        );
        assert!(reply.is_some(), "RESTORE gave no reply");
    }
}

/// Keys the structured checks write.
const KEYS: [&[u8]; 4] = [b"k0", b"k1", b"k2", b"k3"];
const MEMBERS: [&[u8]; 8] = [b"a", b"b", b"c", b"d", b"e", b"10", b"-3", b"20"];

/// One argument drawn from the input: a key, a number, a member, a keyword, a raw
/// string or a long one.
fn argument(b: &mut Bytes<'_>) -> Vec<u8> {
    const KEYWORDS: [&str; 48] = [
        "NX",
        "XX",
        "GT",
        "LT",
        "CH",
        "INCR",
        "WITHSCORES",
        "LIMIT",
        "BYSCORE",
        "BYLEX",
        "REV",
        "EX",
        "PX",
        "KEEPTTL",
        "GET",
        "LEFT",
        "RIGHT",
        "BEFORE",
        "AFTER",
        "COUNT",
        "MATCH",
        "TYPE",
        "REPLACE",
        "ABSTTL",
        "IDLETIME",
        "FREQ",
        "STORE",
        "BY",
        "ASC",
        "DESC",
        "ALPHA",
        "WEIGHTS",
        "AGGREGATE",
        "SUM",
        "MIN",
        "MAX",
        "RANK",
        "MAXLEN",
        "WITHVALUES",
        "(1",
        "[a",
        "-",
        "+",
        "-inf",
        "+inf",
        "nan",
        "1.5",
        "0",
    ];
    const NUMBERS: [&str; 6] = [
        "9223372036854775807",
        "-9223372036854775808",
        "4294967296",
        "100000",
        "1e300",
        "-0.5",
    ];
    let tag = b.byte();
    let pick = (tag >> 3) as usize;
    match tag & 7 {
        0 => KEYS[pick % KEYS.len()].to_vec(),
        1 => (pick as i64 - 8).to_string().into_bytes(),
        2 => MEMBERS[pick % MEMBERS.len()].to_vec(),
        3 => KEYWORDS[b.byte() as usize % KEYWORDS.len()]
            .as_bytes()
            .to_vec(),
        4 => NUMBERS[pick % NUMBERS.len()].as_bytes().to_vec(),
        5 => {
            let n = b.byte() as usize % 24;
            b.take(n).to_vec()
        }
        6 => vec![b'x'; 14 + pick],
        _ => KEYS[pick % KEYS.len()].to_vec(),
    }
}

/// Data commands the `commands` target draws from: every type, the keyspace, and
/// transactions. Commands that change the server's configuration, pause clients,
/// block forever or reach the network are left out: they would stop the checks
/// rather than test the data.
const COMMANDS: [&str; 96] = [
    "SET",
    "GET",
    "GETSET",
    "GETDEL",
    "GETEX",
    "SETNX",
    "SETEX",
    "MSET",
    "MSETNX",
    "APPEND",
    "SETRANGE",
    "GETRANGE",
    "INCR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "STRLEN",
    "SETBIT",
    "BITOP",
    "BITCOUNT",
    "BITFIELD",
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "LPOP",
    "RPOP",
    "LINSERT",
    "LSET",
    "LREM",
    "LTRIM",
    "LRANGE",
    "LINDEX",
    "LMOVE",
    "LPOS",
    "LMPOP",
    "SADD",
    "SREM",
    "SPOP",
    "SMOVE",
    "SINTERSTORE",
    "SUNIONSTORE",
    "SDIFFSTORE",
    "SMEMBERS",
    "SRANDMEMBER",
    "SISMEMBER",
    "SINTERCARD",
    "HSET",
    "HSETNX",
    "HDEL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HGETALL",
    "HRANDFIELD",
    "HSCAN",
    "ZADD",
    "ZINCRBY",
    "ZREM",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYLEX",
    "ZRANGE",
    "ZRANGESTORE",
    "ZUNIONSTORE",
    "ZINTERSTORE",
    "ZDIFFSTORE",
    "ZPOPMIN",
    "ZPOPMAX",
    "ZMPOP",
    "ZRANDMEMBER",
    "ZSCORE",
    "ZRANK",
    "ZCOUNT",
    "ZLEXCOUNT",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "RENAME",
    "RENAMENX",
    "COPY",
    "MOVE",
    "SELECT",
    "SWAPDB",
    "EXPIRE",
    "PEXPIRE",
    "PERSIST",
    "TTL",
    "SORT",
    "DUMP",
    "RESTORE",
    "PFADD",
    "PFMERGE",
    "MULTI",
    "EXEC",
    "DISCARD",
    "WATCH",
];

/// Encodings must agree with sizes under [`small_encodings_config`]: compact
/// encodings only within their limits, an intset only of integers, no empty
/// collection kept.
fn check_encodings(t: &mut TestServer, control: ConnId) {
    for key in KEYS {
        let enc = t.cmd_bytes_on(control, &[b"OBJECT", b"ENCODING", key]);
        let Frame::Bulk(enc) = enc else {
            assert_eq!(enc, Frame::Null, "OBJECT ENCODING of a missing key");
            continue;
        };
        let ty = t.cmd_bytes_on(control, &[b"TYPE", key]).as_str();
        let size_cmd: &[u8] = match ty.as_str() {
            "string" => b"STRLEN",
            "list" => b"LLEN",
            "set" => b"SCARD",
            "hash" => b"HLEN",
            "zset" => b"ZCARD",
            other => panic!("unexpected type {other}"),
        };
        let Frame::Int(size) = t.cmd_bytes_on(control, &[size_cmd, key]) else {
            panic!("no size for {ty}");
        };
        let enc = String::from_utf8_lossy(&enc).into_owned();
        if ty != "string" {
            assert!(size > 0, "an empty {ty} was kept");
        }
        match (ty.as_str(), enc.as_str()) {
            ("string", "int") => {
                let v = t.cmd_bytes_on(control, &[b"GET", key]);
                assert!(
                    parse_i64(v.as_str().as_bytes()).is_some(),
                    "int encoding of {v:?}"
                );
            }
            ("string", "embstr") => assert!(size <= 44, "embstr of {size} bytes"),
            ("string", "raw") => {}
            ("list", "listpack") | ("hash", "listpack") | ("zset", "listpack") => {
                assert!(size <= 4, "{ty} of {size} elements kept as a listpack")
            }
            ("set", "listpack") => assert!(size <= 4, "set of {size} kept as a listpack"),
            ("set", "intset") => {
                assert!(size <= 4, "set of {size} kept as an intset");
                let Frame::Array(members) = t.cmd_bytes_on(control, &[b"SMEMBERS", key]) else {
                    panic!("SMEMBERS");
                };
                for m in members {
                    let m = m.as_str();
                    assert!(parse_i64(m.as_bytes()).is_some(), "intset holds {m:?}");
                }
            }
            ("list", "quicklist") | ("hash", "hashtable") | ("set", "hashtable") => {}
            ("zset", "skiplist") => {}
            (ty, enc) => panic!("{ty} with encoding {enc}"),
        }
    }
}

/// The digest of the whole dataset, and that a save/load round trip (DEBUG RELOAD)
/// leaves it unchanged.
fn check_reload(t: &mut TestServer, control: ConnId) {
    let before = t.cmd_bytes_on(control, &[b"DEBUG", b"DIGEST"]);
    assert_eq!(t.cmd_bytes_on(control, &[b"DEBUG", b"RELOAD"]), Frame::ok());
    let after = t.cmd_bytes_on(control, &[b"DEBUG", b"DIGEST"]);
    assert_eq!(before, after, "DEBUG RELOAD changed the dataset");
}

/// `commands` target: a command sequence on two client connections (the input's
/// bytes pick each command, its connection and its arguments); after every
/// command, on a third connection: encodings agree with sizes and DEBUG RELOAD
/// keeps DEBUG DIGEST. Nothing may panic.
pub fn check_commands(input: &[u8]) {
    let mut b = Bytes::new(&input[..input.len().min(INPUT_MAX_BYTES)]);
    let mut t = TestServer::with_config(small_encodings_config());
    let clients = [t.connect(), t.connect()];
    let control = t.connect();
    let mut n = 0;
    while !b.is_empty() && n < 64 {
        n += 1;
        let op = b.byte();
        let conn = clients[(op >> 7) as usize];
        let name = COMMANDS[(op & 0x7f) as usize % COMMANDS.len()];
        let argc = b.byte() as usize % 7;
        let mut args = vec![name.as_bytes().to_vec()];
        for _ in 0..argc {
            args.push(argument(&mut b));
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        t.send_raw(conn, &encode_command(&refs));
        let out = t.take_output(conn);
        let mut at = 0;
        while let Some((_, used)) = decode(&out[at..]) {
            at += used;
        }
        assert_eq!(at, out.len(), "a reply to {args:?} is malformed");
        check_encodings(&mut t, control);
        check_reload(&mut t, control);
    }
}

/// `rdb_load` target, structured half: build a keyspace from the input (every type
/// in both encodings, TTLs, several databases), SAVE it, start a server on the
/// file, SAVE again: the two files must be identical and the digests equal.
pub fn check_rdb_roundtrip(input: &[u8]) {
    let mut b = Bytes::new(&input[..input.len().min(INPUT_MAX_BYTES)]);
    let mut t = TestServer::with_config(small_encodings_config());
    let conn = t.connect();
    const WRITES: [&str; 12] = [
        "SET", "RPUSH", "SADD", "HSET", "ZADD", "PEXPIRE", "SELECT", "SETBIT", "INCRBY", "PFADD",
        "LPUSH", "APPEND",
    ];
    let mut n = 0;
    while !b.is_empty() && n < 64 {
        n += 1;
        let op = b.byte();
        let name = WRITES[(op & 15) as usize % WRITES.len()];
        let key = KEYS[(op >> 4) as usize % KEYS.len()];
        let mut args = vec![name.as_bytes().to_vec()];
        match name {
            "SELECT" => args.push(((op >> 4) % 3).to_string().into_bytes()),
            "PEXPIRE" => {
                args.push(key.to_vec());
                args.push((1_000_000 + b.byte() as i64).to_string().into_bytes());
            }
            "ZADD" => {
                args.push(key.to_vec());
                for _ in 0..1 + b.byte() % 4 {
                    args.push(argument(&mut b));
                    args.push(argument(&mut b));
                }
            }
            "SETBIT" => {
                args.push(key.to_vec());
                args.push((b.byte() as u32 * 7).to_string().into_bytes());
                args.push(b"1".to_vec());
            }
            _ => {
                args.push(key.to_vec());
                for _ in 0..1 + b.byte() % 4 {
                    args.push(argument(&mut b));
                }
            }
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        t.cmd_bytes_on(conn, &refs);
    }
    let digest = t.cmd_bytes_on(conn, &[b"DEBUG", b"DIGEST"]);
    assert_eq!(t.cmd_bytes_on(conn, &[b"SAVE"]), Frame::ok());
    let first = t
        .disk
        .files
        .get("dump.rdb")
        .cloned()
        .expect("SAVE wrote dump.rdb");
    let mut disk = MemDisk::default();
    disk.files.insert("dump.rdb".into(), first.clone());
    let mut u = TestServer::with_disk(small_encodings_config(), disk, false);
    assert_eq!(u.exited, None, "the saved file did not load: {:?}", u.logs);
    let conn = u.connect();
    assert_eq!(u.cmd_bytes_on(conn, &[b"DEBUG", b"DIGEST"]), digest);
    assert_eq!(u.cmd_bytes_on(conn, &[b"SAVE"]), Frame::ok());
    let second = u
        .disk
        .files
        .get("dump.rdb")
        .expect("SAVE wrote dump.rdb")
        .clone();
    // Hash tables come back in another order (as in Redis), so the files are
    // compared key by key: same keys and TTLs, the same encoding or a compact one
    // (see below), the same DUMP payload where the encoding is kept and fixes the
    // order, the same value digest everywhere.
    let conn_t = t.connect();
    let mut changed = false;
    for db in [b"0", b"1", b"2"] {
        t.cmd_bytes_on(conn_t, &[b"SELECT", db]);
        u.cmd_bytes_on(conn, &[b"SELECT", db]);
        let keys = |s: &mut TestServer, c| match s.cmd_bytes_on(c, &[b"KEYS", b"*"]) {
            Frame::Array(mut k) => {
                k.sort_by_key(|f| f.as_str());
                k
            }
            other => panic!("KEYS: {other:?}"),
        };
        let names = keys(&mut t, conn_t);
        assert_eq!(
            names,
            keys(&mut u, conn),
            "different keys after the round trip"
        );
        for name in names {
            let key = name.as_str().into_bytes();
            let enc = t.cmd_bytes_on(conn_t, &[b"OBJECT", b"ENCODING", &key]);
            let reloaded = u.cmd_bytes_on(conn, &[b"OBJECT", b"ENCODING", &key]);
            // Loading picks the encoding from the contents, as Redis does: a value
            // that outgrew its compact encoding once (a long argument since
            // overwritten, elements since removed) loads compact again, and a short
            // string built in place (APPEND, SETBIT, PFADD) loads as embstr. Loading
            // never makes a value bigger.
            let (was, now) = (enc.as_str(), reloaded.as_str());
            if was != now {
                let compact = |e: &str| matches!(e, "listpack" | "intset" | "embstr" | "int");
                assert!(
                    !compact(&was) && compact(&now),
                    "{name:?} was {was}, loads as {now}"
                );
                changed = true;
            }
            let mut asks: Vec<&[&[u8]]> = vec![&[b"PTTL"], &[b"DEBUG", b"DIGEST-VALUE"]];
            if was == now && !matches!(was.as_str(), "hashtable" | "skiplist") {
                asks.push(&[b"DUMP"]);
            }
            for ask in asks {
                let mut args = ask.to_vec();
                args.push(&key);
                let before = t.cmd_bytes_on(conn_t, &args);
                assert_eq!(before, u.cmd_bytes_on(conn, &args), "{ask:?} of {name:?}");
            }
        }
    }
    if !changed {
        assert_eq!(
            first.len(),
            second.len(),
            "the round trip changed the file's size"
        );
    }
    assert_eq!(first[..9], second[..9], "the round trip changed the header");
}

/// `aof_load` target: the bytes as an AOF incr file (parsed, then loaded by a
/// server starting in AOF mode behind a valid manifest) and as a manifest (parsed,
/// then met by a server at startup). Loading succeeds or the server refuses to
/// start; nothing panics.
pub fn check_aof(input: &[u8]) {
    let parsed = aof::load::parse(input, 0);
    assert!(
        parsed.end.is_some(),
        "the AOF parser did not say how the file ended"
    );
    let _ = aof::manifest::Manifest::parse(input);
    const MANIFEST: &str = "appendonlydir/appendonly.aof.manifest";
    let config = Config {
        appendonly: true,
        ..small_encodings_config()
    };
    let mut disk = MemDisk::default();
    disk.dirs.insert("appendonlydir".into());
    disk.files.insert(
        MANIFEST.into(),
        b"file appendonly.aof.1.incr.aof seq 1 type i\n".to_vec(),
    );
    disk.files.insert(
        "appendonlydir/appendonly.aof.1.incr.aof".into(),
        input.to_vec(),
    );
    let mut t = TestServer::with_disk(config.clone(), disk, false);
    if t.exited.is_none() {
        let conn = t.connect();
        t.cmd_bytes_on(conn, &[b"DEBUG", b"DIGEST"]);
    }
    let mut disk = MemDisk::default();
    disk.dirs.insert("appendonlydir".into());
    disk.files.insert(MANIFEST.into(), input.to_vec());
    for name in ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"] {
        disk.files.insert(
            format!("appendonlydir/{name}"),
            b"*1\r\n$4\r\nPING\r\n".to_vec(),
        );
    }
    let _ = TestServer::with_disk(config, disk, false);
}
